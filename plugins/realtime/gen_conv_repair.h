/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the conversation counters of genesys_realtime made whole
 * across the gaps of its channels (ConversationEvents, GapRepair).
 *
 * Genesys queues nothing for a notification socket that is down: a
 * conversation that starts and ends inside the gap is never seen, and one
 * first seen after it counts only its newest change (gen_conv.h). So each
 * queue whose conversation topic was on a lost channel gets a window,
 * opened at the loss and closed at the next baseline, in whole minutes:
 *
 *   [floor_min(lost - HeartbeatTimeout - 5 s), ceil_min(baselined + 5 s))
 *
 * (a silent socket was deaf for up to HeartbeatTimeout before it was found
 * dead; 5 s for the jitter of the clocks), on Genesys' clock: ours plus the
 * difference the freshest moment of the last minute shows (more than 60 s
 * apart, a gap cannot be placed and is not repaired). Once the window ended
 * GapRepairDelay ago, one conversations aggregates query per 100 queues of
 * the same window asks nOffered, tAnswered and tAbandon grouped by queueId
 * and mediaType, in the API's default granularity (one bucket for the
 * window). Genesys gives no figure for how late it indexes a moment, so
 * the window is asked again GapRepairRecheck later, and what that count
 * has beyond the first is added: a moment indexed between the asks is
 * counted then (its live event, if late too, was not counted: the window
 * was repaired).
 *
 * Each moment counted once. The aggregates count a metric in the interval
 * its event happened in (nOffered at the offer, tAnswered at the answer,
 * tAbandon at the abandon), whoever saw it; a live moment has its event
 * time too (gen_conv_emit_t at_ms). A moment belongs to every window its
 * time falls in:
 * - counted live while the window waits (before the gap or after it, or on
 *   another queue's topic): remembered in the window, and the repair adds
 *   only what the aggregates count beyond those (never less than 0);
 * - seen live after the window was repaired (a conversation whose next
 *   event came late): not counted again, the aggregates had it.
 * Moments before a window opens are kept per minute, for as far back as a
 * window can start. Windows that overlap one repaired start at its end;
 * windows that overlap one waiting merge with it. A window is remembered
 * until its second ask and for keep after its end (ConversationTimeout: the
 * longest an event of a known conversation can come after its moment), at
 * most 64 per queue.
 *
 * Not thread-safe: the caller's lock around every call but run, which
 * takes it around its own state and lets it go around each request.
 */
#ifndef GEN_CONV_REPAIR_H
#define GEN_CONV_REPAIR_H 1

#include "gen_buf.h"
#include "gen_client.h"
#include "gen_config.h"
#include "gen_conv.h"
#include "gen_entity.h"
#include "gen_live.h"

#include <json-c/json.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define GEN_REPAIR_QUERY_MAX 100 /* queueId predicates a request */
#define GEN_REPAIR_PATH "/api/v2/analytics/conversations/aggregates/query"

/* GapRepair (default true), GapRepairDelay (0-3600 s, default 120) and
 * GapRepairRecheck (0-86400 s, default 900; 0: no second ask). */
typedef struct {
  bool off;
  cdtime_t delay;
  cdtime_t recheck;
} gen_conv_repair_config_t;

extern const gen_config_table_t gen_conv_repair_keys;

typedef struct gen_conv_repair_s gen_conv_repair_t;

/* NULL when GapRepair is off or out of memory (no repair: every call
 * below takes NULL). heartbeat_timeout: how long a dead socket may go
 * unnoticed; keep: how long a repaired window is remembered; start_ms:
 * when the counters began (no window starts before the next whole minute:
 * the aggregates cannot tell the moments before from those after), placed
 * on Genesys' clock by the first minute's offset and kept then. */
gen_conv_repair_t *gen_conv_repair_new(const gen_conv_repair_config_t *c,
                                       cdtime_t heartbeat_timeout,
                                       cdtime_t keep, int64_t start_ms);
void gen_conv_repair_free(gen_conv_repair_t *r);

/* A moment the tracker found, of queue_id, at at_ms (0: now_ms): false when
 * a repair has counted it already (it must not be counted again), true
 * when it is to be counted (and is remembered for the windows). */
bool gen_conv_repair_live(gen_conv_repair_t *r, const char *queue_id, int media,
                          gen_conv_moment_t moment, int64_t at_ms,
                          int64_t now_ms);

/* The conversation topics among topics[0..n-1] lost at now_ms (a window
 * opens for each queue), or subscribed and baselined (its window closes). */
void gen_conv_repair_lost(gen_conv_repair_t *r, char *const *topics, size_t n,
                          int64_t now_ms);
void gen_conv_repair_connected(gen_conv_repair_t *r, char *const *topics,
                               size_t n, int64_t now_ms);

/* Asks the aggregates of the windows due at now_ms (with client's http and
 * tokens: from the read callback) and adds what the live counters lack to
 * queues' counters in live, under lock. A failed request leaves its
 * windows for the next call (a refused permission drops them, said once).
 * 0 or the first failure's negative code. */
int gen_conv_repair_run(gen_conv_repair_t *r, gen_client_t *client,
                        pthread_mutex_t *lock, const gen_entity_set_t *queues,
                        gen_live_t *live, int64_t now_ms);

/* The steps of run, for tests: the body of the next request due at now_ms
 * (a new reference; NULL: none), up to 100 queues of one window; then its
 * answer's text (len bytes; NULL: empty) taken (drop: the request was
 * refused, its windows are dropped): 0, or -EBADMSG with the reason in err
 * (the windows wait). */
json_object *gen_conv_repair_next(gen_conv_repair_t *r, int64_t now_ms);
int gen_conv_repair_take(gen_conv_repair_t *r, const char *text, size_t len,
                         bool drop, const gen_entity_set_t *queues,
                         gen_live_t *live, char *err, size_t err_size);

/* Across a restart or a take-over (the standby copies the state file).
 * The state file's "repair" member (gen_conv_store's tail):
 *   {"at": ms on Genesys' clock when written, "origin": the first whole
 *    minute counted (ms, its clock), "offset": its clock minus ours (ms;
 *    absent: not measured yet), "recent": {"<queue id>":
 *    [[minute, "voice", "offered", n], …]}}
 * the moments counted live in the minutes a window can reach back to.
 * At the start, each queue of the file ("listed" and "queues") gets a
 * window from floor_min(at - HeartbeatTimeout - 5 s), not before origin
 * (the old process counted nothing before it), holding those
 * moments, closed when its topic is baselined and asked as a gap's: the moments
 * after the snapshot, which the old process may have counted (and sent) but did
 * not save, are the aggregates'. Unless the file is a clean shutdown's
 * ("final"), a queue's counters are held back until its window's first ask
 * (they could be below what was sent: a counter never steps back). The
 * offset places the window's end and ask until the events show it again.
 * A file without origin or offset (older versions) resumes without them. */
int gen_conv_repair_print_at(const gen_conv_repair_t *r, int64_t now_ms,
                             gen_buf_t *out);
int gen_conv_repair_tail(void *r, gen_buf_t *out); /* at cdtime() */
/* The windows of doc (the restored state file; NULL: none): the number of
 * queues resumed. A snapshot of the future (past 60 s), more than 7 days
 * old, or of another form resumes nothing, said as a warning. */
int gen_conv_repair_resume(gen_conv_repair_t *r, json_object *doc,
                           int64_t now_ms, const gen_org_t *org);
/* Whether queue_id's counters are held (gen_live_t's conv_held). */
bool gen_conv_repair_held(const void *r, const char *queue_id);
/* At the start (r NULL: nothing): resumes st's restored file, prints the
 * repair's part into st's saves and holds live's counters while held. */
void gen_conv_repair_attach(gen_conv_repair_t *r, gen_conv_store_t *st,
                            gen_live_t *live, const gen_org_t *org);

/* Where a media type of an answer this version does not know is counted
 * (field "mediaType"; sink kept; r NULL: nothing). */
void gen_conv_repair_unknown_to(gen_conv_repair_t *r,
                                const gen_unknown_sink_t *sink);

/* Its self-metrics (plugin instance "self"): analytics_queries,
 * analytics_query_failures, conv_repaired-{offered,answered,abandoned}
 * (counters). Under the caller's lock. */
void gen_conv_repair_dispatch_stats(const gen_conv_repair_t *r,
                                    const char *host, const char *plugin);

#endif /* GEN_CONV_REPAIR_H */
