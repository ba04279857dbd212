/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the rate limits an org comes near, per limit and
 * closed interval, a row of genesys_platform's history beside the API
 * usage (RateLimitAggregates).
 *
 * Genesys records a rate limit when a client, a user or the org reaches 90%
 * of it ("a best effort estimate", not every limit: those marked
 * Operational Events Enabled on the developer center's limits page): POST
 * /api/v2/analytics/ratelimits/aggregates/query, metric
 * oRateLimitRecorded, grouped by limitName, permission
 * analytics:rateLimitAggregate:view (tests/sim/README.md, Rate-limit
 * aggregates). One request asks for every limit; a limit name the plugin
 * has never seen is a series like any other (Genesys adds limits). The
 * row follows the operational events' bucket length, settle delay,
 * revisits and backfill (the OperationalEvents* keys).
 */
#ifndef GEN_RATELIMIT_AGG_H
#define GEN_RATELIMIT_AGG_H 1

#include "gen_aggregates.h"

#define GEN_RL_AGG_PATH "/api/v2/analytics/ratelimits/aggregates/query"
/* The engine scope of every limit (one request asks for all). */
#define GEN_RL_AGG_SCOPE "ratelimits"
/* plugin_instance of a limit: this prefix and its limitName. */
#define GEN_RL_AGG_PREFIX "ratelimit-"

/* One org's rate-limit aggregates, borrowed from the plugin. */
typedef struct {
  gen_client_t *client;
  const char *plugin;
  int64_t granularity_ms;
} gen_rl_agg_t;

/* The aggregates endpoint, how its answer is read and where its values go.
 * It borrows ra. */
gen_agg_query_t gen_rl_agg_query(gen_rl_agg_t *ra);

/* The request body for range (gen_agg_query_new: every limit, grouped by
 * limitName, oRateLimitRecorded); for the unit tests. */
json_object *gen_rl_agg_body(gen_rl_agg_t *ra,
                             const gen_interval_range_t *range);

#endif /* GEN_RATELIMIT_AGG_H */
