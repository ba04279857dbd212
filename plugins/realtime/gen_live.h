/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the live queue table of genesys_realtime.
 *
 * Per selected queue (parallel to the plugin's entity set, by index): its
 * live state (conversations by media type, agents, conversation counters)
 * and what was last dispatched of it. A change marks its queue; the tick
 * puts the marked queues, each series once, only what differs from the
 * last dispatch. Every value is put again once an interval, rolling: the
 * ticks put the queues in order as much of the list as the cycle has run,
 * and the read what is left. A new listing carries the state of the queues
 * kept over. No locking: the caller holds its own around every call.
 */
#ifndef GEN_LIVE_H
#define GEN_LIVE_H 1

#include "gen_config.h"
#include "gen_conv_counts.h"
#include "gen_entity.h"
#include "gen_queue_state.h"
#include "gen_summary.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the estimated wait time (gen_ewt) keeps of a queue's media type:
 * when it was last asked (0: never) and its last estimate (have: one that
 * holds for the conversations waiting now). */
typedef struct {
  cdtime_t asked;
  int64_t seconds;
  bool have;
} gen_live_ewt_t;

/* A media type's state of a queue, its values as last dispatched, and its
 * estimated wait time. */
typedef struct {
  gen_qs_media_t now, sent;
  gen_live_ewt_t ewt;
} gen_live_media_t;

typedef struct {
  /* By media type, allocated at its first group (NULL: never seen, no
   * value): a queue has a few of the eight, and eight for each of 5,000
   * queues were a tenth of the live heap (issue 36). */
  gen_live_media_t *media[GEN_MEDIA_COUNT];
  gen_qs_agents_t agents;
  /* Conversation-event counters by media type, each allocated at its
   * first moment. */
  gen_conv_queue_t conv;
  /* What the tick sends: the agents as last dispatched, the moments
   * counted since (a bit each) with the first wait bucket an answer
   * changed, whether it has changed since it was last put, and whether
   * it is in the changed list (listed: a put by the re-dispatch clears
   * changed but leaves the entry, so a new change must not add another). */
  gen_qs_agents_t sent_agents;
  uint8_t conv_changed[GEN_MEDIA_COUNT];
  uint8_t conv_bucket[GEN_MEDIA_COUNT]; /* up to GEN_WAITS_MAX_BOUNDS + 1 */
  bool changed;
  bool listed;
} gen_live_queue_t;
_Static_assert(GEN_CONV_MOMENT_COUNT <= 8, "conv_changed: a bit per moment");
_Static_assert(GEN_WAITS_MAX_BOUNDS + 1 <= UINT8_MAX, "conv_bucket: a byte");

typedef struct {
  gen_live_queue_t *state; /* parallel to the queue set */
  size_t *changed;         /* indexes of the queues marked changed */
  size_t n_changed;
  /* The rolling re-dispatch: the queues before cursor were put again in
   * the cycle that began at cycle_start. */
  size_t cursor;
  cdtime_t cycle_start;
  unsigned media_mask;              /* MediaType: put only these (0: all) */
  const gen_waits_bounds_t *bounds; /* WaitBuckets */
  gen_conv_store_t *store;          /* the counters' totals across restarts */
  /* True while queue_id's counters are held back (gen_conv_repair_held);
   * NULL: never. */
  bool (*conv_held)(const void *ud, const char *queue_id);
  const void *held_ud;
  /* ObservationLists: a media group's gauges as one value list (the put's
   * ud, the media type, GEN_QS_LIST_LEN values); NULL: a value each. */
  void (*put_list)(void *ud, const char *media, const double *values);
} gen_live_t;

/* Where gen_live_put sends a value (its ud): to observe (when not NULL,
 * a gauge), then dispatched under host, plugin and instance at time with
 * interval (0: observed only). */
typedef struct {
  const char *host, *plugin, *instance;
  cdtime_t time, interval;
  void (*observe)(void *ud, const char *instance, const char *type,
                  const char *type_instance, double value, cdtime_t t);
  void *ud;
} gen_live_sink_t;
/* A gen_put_t, and ObservationLists' put_list (a media group's gauges in
 * one value list: one pass through collectd's queue, cache and writers
 * instead of five; observe still sees each); sink: a gen_live_sink_t. */
void gen_live_put(void *sink, const char *type, const char *type_instance,
                  double value, bool derive);
void gen_live_put_list(void *sink, const char *media, const double *values);

/* Queue i's state of media type m (< GEN_MEDIA_COUNT), allocated at
 * first use (NULL when out of memory). */
gen_qs_media_t *gen_live_media(gen_live_t *l, size_t i, size_t m);
/* The same, NULL when the queue never had a group of m. */
const gen_qs_media_t *gen_live_media_find(const gen_live_t *l, size_t i,
                                          size_t m);
/* Whether media type m is put (MediaType). */
bool gen_live_wanted(const gen_live_t *l, size_t m);
/* Marks queue i changed: its values leave with the next tick. */
void gen_live_mark(gen_live_t *l, size_t i);
/* One moment of a conversation of queue i counted, marked changed. */
void gen_live_moment(gen_live_t *l, size_t i, const char *queue_id, int media,
                     gen_conv_moment_t moment, int64_t wait_ms, uint64_t *seed);

/* Every counter of queue i goes out with the next tick (held back until
 * now). */
void gen_live_conv_all(gen_live_t *l, size_t i);

/* n more moments of queue i that no event brought (the gap repair's),
 * counted without waits, marked changed. */
void gen_live_add(gen_live_t *l, size_t i, const char *queue_id, int media,
                  gen_conv_moment_t moment, int64_t n);

/* Puts the values of queue i at t: every one (all: the periodic
 * re-dispatch) or those changed since the last dispatch, each series at
 * most once; clears its mark. */
void gen_live_put_queue(gen_live_t *l, size_t i, const char *queue_id, bool all,
                        cdtime_t t, gen_put_t put, void *ud);
/* Puts queue i's interval of answered waits (then a fresh interval). */
void gen_live_put_intervals(gen_live_t *l, size_t i, gen_put_t put, void *ud);

/* each(ud, i) for the queues marked changed; the marks are cleared. */
void gen_live_each_changed(gen_live_t *l, void (*each)(void *ud, size_t i),
                           void *ud);
/* each(ud, i) for the queues of n whose periodic re-dispatch is due at t:
 * as much of the list as the cycle (interval, from cycle_start) has run,
 * or (all) the rest of it. */
void gen_live_each_due(gen_live_t *l, size_t n, cdtime_t t, cdtime_t interval,
                       bool all, void (*each)(void *ud, size_t i), void *ud);
/* The cycle of the re-dispatch starts again at now. */
void gen_live_cycle(gen_live_t *l, cdtime_t now);

/* The table for fresh (it replaces the one for old): the state and marks
 * of the queues kept over carried, gone(ud, i) for each queue i of old
 * dropped or renamed, the counters of the dropped freed. 1 when the
 * selection changed (then the cycle's rest is all of it), 0 when not,
 * -ENOMEM (nothing changed). */
int gen_live_replace(gen_live_t *l, const gen_entity_set_t *old,
                     const gen_entity_set_t *fresh,
                     void (*gone)(void *ud, size_t i), void *ud);

/* Writes the counters' totals of queues (only the read thread changes the
 * set: read without lock) and what was restored for queues not counted
 * since, when they changed (gen_conv_store_save). */
int gen_live_save(gen_live_t *l, const gen_entity_set_t *queues,
                  pthread_mutex_t *lock, const gen_org_t *org,
                  gen_ratelimit_t *rl);

/* The summaries of the queues (by their instance names) and of the org's
 * agents ("org") among topics[0..n-1]: lost (messages are being missed)
 * or resumed (baselined again). failed (NULL: none): the topics whose
 * baseline failed, left out of a resume (they stay lost until gen_notify
 * takes them), and the org's agents with them while any of theirs is.
 * 0 or -ENOMEM. */
int gen_live_mark_summaries(gen_summary_t *s, const gen_entity_set_t *queues,
                            const gen_org_t *org, char *const *topics, size_t n,
                            const uint8_t *failed, bool lost);

/* Frees the table of n queues. */
void gen_live_free(gen_live_t *l, size_t n);

/* The topics genesys_realtime streams. */
#define GEN_LIVE_OBS_PREFIX "v2.analytics.queues."
#define GEN_LIVE_OBS_SUFFIX ".observations"
#define GEN_LIVE_CONV_PREFIX "v2.routing.queues."
#define GEN_LIVE_CONV_SUFFIX ".conversations"
#define GEN_LIVE_USER_PREFIX "v2.users."
#define GEN_LIVE_USER_SUFFIX ".activity"

/* The topics of the selected queues and agents: per queue its observation
 * topic, then its conversation topic (conversations; one channel carries
 * both), then one activity topic per agent (users NULL: none). Freed with
 * gen_hub_topics_free(); NULL when out of memory. */
char **gen_live_topics(const gen_entity_set_t *queues, bool conversations,
                       const gen_entity_set_t *users, size_t *n);

/* Says in org's log what n topics of queues (and users agents, users < 0:
 * AgentActivity off) stream on channels of per_channel topics, and what
 * does not fit: at start and after every change of the selection. */
void gen_live_topics_log(const gen_org_t *org, size_t n, size_t queues,
                         bool conversations, ssize_t users, long per_channel);

#endif /* GEN_LIVE_H */
