/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the live state of one queue as the observations give it,
 * per media type (conversations waiting, interacting, alerting; the
 * longest waiting and interacting) and for its agents (member, active, on
 * and off queue; by routing status and presence). Messages of the
 * v2.analytics.queues.{id}.observations topic and the observations query's
 * answer (both read into gen_obs items) are merged in: only what a message
 * carries changes. Longest values are kept as the instant the oldest
 * conversation entered its state, so that they keep growing between
 * messages (which come only when a count changes).
 *
 * What changed (or everything) is handed to a callback, one value at a
 * time, by type and type instance. No locking: the caller holds its own.
 */
#ifndef GEN_QUEUE_STATE_H
#define GEN_QUEUE_STATE_H 1

#include "gen_dispatch.h"
#include "gen_obs.h"
#include "gen_presence.h"
#include "gen_stats.h"
#include "gen_summary.h"
#include "gen_time.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Longest waiting/interacting: the instant the oldest conversation entered
 * the state (0: none); the value at time t is t - since. */
typedef struct {
  bool seen;
  int64_t waiting, interacting, alerting;
  cdtime_t waiting_since, interacting_since;
} gen_qs_media_t;

typedef struct {
  bool seen;
  int64_t member, active, on_queue, off_queue;
  int64_t routing[GEN_ROUTING_COUNT];
  int64_t presence[GEN_PRESENCE_COUNT];
} gen_qs_agents_t;

/* Where a merge reports what it could not read. malformed: a value out of
 * range (counted and logged by the caller, who may rate limit); unknown: a
 * routing status or presence this version does not know (family
 * "queue_observations", fields "routingStatus" and "presence"), the entry
 * counted under "other" (a presence) or skipped alone (a routing status:
 * no instance of ours for it). Either may be NULL. */
typedef struct {
  void (*malformed)(void *ud, const char *what);
  const gen_unknown_sink_t *unknown;
  void *ud;
} gen_qs_report_t;

/* Merges a media group's items (of queue, named in reports) at now. The
 * topic also carries interval aggregates, which are not ours: a message
 * with none of ours changes nothing. */
void gen_qs_apply_media(gen_qs_media_t *s, const gen_obs_item_t *items,
                        size_t n, const char *queue, cdtime_t now,
                        const gen_qs_report_t *report);

/* Merges the user group's items; org presence ids qualifying
 * oUserPresences resolve through presences. */
void gen_qs_apply_agents(gen_qs_agents_t *a, const gen_obs_item_t *items,
                         size_t n, gen_presence_map_t *presences,
                         const gen_qs_report_t *report);

/* Puts a media group's values at time t, every one or (old != NULL and
 * seen) those that changed since old; the type instance is media. */
void gen_qs_put_media(const gen_qs_media_t *s, const gen_qs_media_t *old,
                      const char *media, cdtime_t t, gen_put_t put, void *ud);

/* A media group's five gauges, in the order of the data sources of the type
 * GEN_QS_LIST_TYPE (ObservationLists): waiting, interacting, alerting,
 * longest_waiting, longest_interacting, at time t. False when it has none
 * yet or (old != NULL and seen) none changed since old. */
#define GEN_QS_LIST_TYPE "queue_observations"
#define GEN_QS_LIST_LEN 5
bool gen_qs_media_values(const gen_qs_media_t *s, const gen_qs_media_t *old,
                         cdtime_t t, double values[GEN_QS_LIST_LEN]);

/* Puts the agents' values, every one or those that changed since old. */
void gen_qs_put_agents(const gen_qs_agents_t *a, const gen_qs_agents_t *old,
                       gen_put_t put, void *ud);

/* The observations query body for queue_ids[0..n-1] (at most
 * GEN_QS_QUERY_MAX) asking for the observation metrics the state is made
 * of, every one gen_obs knows (gen_obs_metric_name); the caller puts it. */
json_object *gen_qs_query_body(const char *const *queue_ids, size_t n);

/* Most queues one observations query asks for (the API's limit). */
#define GEN_QS_QUERY_MAX 100

/* What a baseline gives its caller, with the caller's lock held. */
typedef struct {
  /* A group of the answer: queue_id's media (a gen_media_t) or, with
   * media -1, its agents. */
  void (*group)(void *ud, const char *queue_id, int media,
                const gen_obs_item_t *items, size_t n);
  /* A media group of queue_id the answer leaves out: nothing in it (the
   * caller clears what it knew of that group); may be NULL. */
  void (*absent)(void *ud, const char *queue_id, int media);
  void *ud;
  /* Where a group's media type this version does not know is counted
   * (field "mediaType"; the group passed over); NULL: nowhere. */
  const gen_unknown_sink_t *unknown;
} gen_qs_baseline_t;

/* The baseline of queue_ids[0..n-1] (≤ GEN_QS_QUERY_MAX): one
 * observations query, its org presence ids (systemToOrganizationMappings)
 * added to presences, then every group and every absent media group given
 * to cb, all under lock. A failure is logged through org (rate-limited by
 * rl). 0 or a negative gen_http code. */
int gen_qs_baseline(gen_http_t *http, const char *const *queue_ids, size_t n,
                    pthread_mutex_t *lock, gen_presence_map_t *presences,
                    const gen_qs_baseline_t *cb, const gen_org_t *org,
                    gen_ratelimit_t *rl);

/* The live gauges summarised per window (Summaries): those of
 * gen_qs_put_media and gen_qs_put_agents, and the org-wide agent counts of
 * gen_roster_put. */
extern const gen_summary_type_t gen_qs_summary_types[];
extern const size_t gen_qs_summary_types_count;

#endif /* GEN_QUEUE_STATE_H */
