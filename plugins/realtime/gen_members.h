/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the member set of a set of queues (AgentActivity).
 *
 * One POST /api/v2/analytics/routing/activity/query per 100 queues
 * (metrics oMemberUsers, oUserRoutingStatuses and oUserPresences with
 * details, grouped by queueId) names the members of every queue with their
 * routing status and presence: start-up costs grow with the number of
 * queues / 100, not with the number of queues. That route is an analytics
 * route, outside the org-wide limits announced for the queue and
 * queue-member routes.
 *
 * A queue whose group is missing, says "truncated", or whose entityIds do
 * not add up to its oMemberUsers count is listed again, alone, through
 * GET /api/v2/routing/queues/{id}/members?expand=routingStatus&expand=
 * presence (100 per page): a truncated answer never drops a member. Those
 * fallback listings stop at the budget's end or at the first refused 429,
 * so a rate-limited org gets a partial answer quickly instead of a stall.
 * Evidence and costs: tests/sim/README.md ("Queue members"), bench/README.md.
 */
#ifndef GEN_MEMBERS_H
#define GEN_MEMBERS_H 1

#include "gen_http.h"

#include <stdbool.h>
#include <stddef.h>

/* Queue ids per activity query: the queueId predicates one analytics
 * observation query takes (the simulator's --max-obs-queues). */
#define GEN_MEMBERS_QUEUES_PER_QUERY 100

/* gen_members_list() returns this when some queues were not listed. */
#define GEN_MEMBERS_PARTIAL 1

/* One member, once. routing is the routing status ("IDLE", …) and
 * presence the system presence name or the org presence id, both as the API
 * wrote them, NULL when unknown. The strings live until the call returns. */
typedef void (*gen_members_each_t)(void *ud, const char *user_id,
                                   const char *routing, const char *presence);

typedef struct {
  cdtime_t budget;  /* time for fallback listings; 0 = unbounded */
  bool no_activity; /* list every queue through .../members */
} gen_members_options_t;

typedef struct {
  size_t queues;            /* distinct queue ids asked for */
  size_t activity_queries;  /* activity queries (100 queues each) */
  size_t activity_pages;    /* POSTs to it: its pages */
  size_t fallback_queues;   /* queues listed through .../members */
  size_t fallback_requests; /* pages read there */
  size_t truncated;         /* groups that could not be trusted */
  size_t skipped;           /* queues left unlisted (budget, 429, errors) */
  size_t members;           /* users handed to each() */
  size_t malformed;         /* answers or elements that made no sense */
} gen_members_stats_t;

/* Lists the members of queue_ids[0..n-1] and calls each() once per user.
 * Returns 0 when every queue was listed, GEN_MEMBERS_PARTIAL when some were
 * not (their members are missing; err says why; the caller keeps what it
 * knew of them), or a negative errno (nothing was handed over). options
 * and stats may be NULL. */
int gen_members_list(gen_http_t *http, const char *const *queue_ids, size_t n,
                     const gen_members_options_t *options,
                     gen_members_each_t each, void *ud,
                     gen_members_stats_t *stats, char *err, size_t err_size);

#endif /* GEN_MEMBERS_H */
