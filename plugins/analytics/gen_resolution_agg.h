/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: first-contact resolution of genesys_analytics
 * (ResolutionAggregates true): the resolutions aggregates query grouped by
 * queueId (the last queue that handled the conversation) and mediaType,
 * filtered by the listed queues, nNextContactAvoided per day (tests/sim/
 * README.md, "Resolution aggregates"). A row of ga_history.
 *
 * Its buckets are days on the wrap-up date (alternateTimeDimension
 * wrapUpDate): a conversation counts on the day of its last wrap-up once
 * Genesys has seen no next contact for 7 days and processed it (8 more
 * days at most, the help article says), so a day's value grows for up to
 * 15 days. Its own engine asks each day once it closes, then again at the
 * ages of GEN_RESOLUTION_REVISIT (the last at 16 days), and dispatches a
 * revision each time the value changed: the revisit horizon is 16 days.
 */
#ifndef GEN_RESOLUTION_AGG_H
#define GEN_RESOLUTION_AGG_H 1

#include "gen_aggregates.h"
#include "gen_entity.h"
#include "gen_interval_config.h"
#include "gen_queue_agg.h"

#define GEN_RESOLUTION_AGG_PATH "/api/v2/analytics/resolutions/aggregates/query"
/* queueId predicates per request: the queue aggregates' 100 (the limit of
 * this query is UNCONFIRMED). */
#define GEN_RESOLUTION_AGG_PER_QUERY 100
#define GEN_RESOLUTION_DAY_MS 86400000LL
/* Its pace: every age of a day falls due in the same read (they are whole
 * days), 9 requests a batch; at 5,000 queues 450 would take the token's
 * 300 a minute from the other rows, so they are spread over reads. */
#define GEN_RESOLUTION_REQUESTS_PER_MINUTE 60
/* The revisit ages (days after a day ends): nothing is counted before the
 * 7 days of lookup, the count is final after 8 more of processing (the
 * record), and a day's margin: 7 8 9 10 11 13 15 16 days. */
#define GEN_RESOLUTION_HORIZON_MS (16 * GEN_RESOLUTION_DAY_MS)
#define GEN_RESOLUTION_REVISIT                                                 \
  ((gen_revisit_t){                                                            \
      .age_ms = {7 * GEN_RESOLUTION_DAY_MS, 8 * GEN_RESOLUTION_DAY_MS,         \
                 9 * GEN_RESOLUTION_DAY_MS, 10 * GEN_RESOLUTION_DAY_MS,        \
                 11 * GEN_RESOLUTION_DAY_MS, 13 * GEN_RESOLUTION_DAY_MS,       \
                 15 * GEN_RESOLUTION_DAY_MS, GEN_RESOLUTION_HORIZON_MS},       \
      .n = 8})

typedef struct {
  bool on; /* ResolutionAggregates (default off) */
} gen_resolution_agg_config_t;

extern const gen_config_table_t gen_resolution_agg_keys;

/* The query per batch of queues (scopes: queue ids), one bucket a day
 * whatever row->granularity_ms. row (the org, host, plugin and queues,
 * borrowed from the plugin; the tag and group are set here) is borrowed. */
gen_agg_query_t gen_resolution_agg_query(gen_queue_row_t *row);

/* The row's engine from the plugin's interval configuration (its state
 * directory, MaxBucketsPerQuery): days, asked an hour after midnight UTC,
 * no revisit window, GEN_RESOLUTION_REVISIT, the 16 days before the first
 * read and after a stop backfilled (their values are still moving); state
 * file "<stem>-<org>-resolutions". NULL on failure (logged). */
gen_interval_t *gen_resolution_agg_engine(const gen_org_t *org,
                                          const gen_interval_config_t *ic,
                                          const char *stem,
                                          const gen_log_org_t *who);

#endif /* GEN_RESOLUTION_AGG_H */
