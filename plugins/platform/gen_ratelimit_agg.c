/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the rate limits an org comes near (see
 * gen_ratelimit_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_ratelimit_agg.h"

enum { GROUP_LIMIT };

/* The metric catalogue (gen_aggregates): the times a limit was recorded
 * (reached 90%) in a bucket, and their counter. */
static const gen_agg_metric_t metrics[] = {
    {.name = "rate_limit_recorded",
     .api = "oRateLimitRecorded",
     .kind = GEN_AGG_COUNT,
     .group = GROUP_LIMIT,
     .bucket_type = "rate_limit_recorded",
     .total_type = "total_rate_limit_recorded"},
};
static const gen_agg_catalogue_t catalogue = {.metrics = metrics,
                                              .n = STATIC_ARRAY_SIZE(metrics)};

json_object *gen_rl_agg_body(gen_rl_agg_t *ra,
                             const gen_interval_range_t *range) {
  static const char *const group_by[] = {"limitName"};
  json_object *body = gen_agg_query_new(range, ra->granularity_ms, group_by,
                                        STATIC_ARRAY_SIZE(group_by));
  json_object_object_add(body, "metrics",
                         gen_agg_metrics_json(&catalogue, NULL, -1));
  return body;
}

/* One request over range for every limit (no predicate: limits are not
 * listed). */
static json_object *query_body(void *ud, const char *const *ids, size_t n,
                               const gen_interval_range_t *range) {
  (void)ids;
  (void)n;
  return gen_rl_agg_body(ud, range);
}

/* Engine key of a result group: "L", limitName; every limit in the one
 * scope. */
static bool answer_group(void *ud, const gen_agg_group_t *group,
                         const char **scope, gen_key_t *key) {
  (void)ud;
  const char *name = gen_agg_group_get(group, "limitName");
  if (name == NULL || name[0] == '\0')
    return false;
  *scope = GEN_RL_AGG_SCOPE;
  *key = (gen_key_t){{"L", name}, 0};
  return true;
}

/* The series of an engine key: "ratelimit-<limitName>" in plugin_instance
 * (apart from the edges and trunks there). */
static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  (void)ud;
  gen_agg_label_id(out, GEN_RL_AGG_PREFIX, key->str[1], GROUP_LIMIT);
}

gen_agg_query_t gen_rl_agg_query(gen_rl_agg_t *ra) {
  gen_agg_query_t q = gen_agg_query_make(
      GEN_RL_AGG_PATH, "rate-limit aggregates query", &catalogue,
      ra->granularity_ms, query_body, answer_group, ra);
  q.out.host = gen_client_host(ra->client);
  q.out.plugin = ra->plugin;
  q.out.label = label;
  q.family = "rate-limit aggregates";
  q.still = "the other platform values";
  return q;
}
