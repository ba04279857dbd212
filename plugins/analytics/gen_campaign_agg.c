/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the outbound campaign aggregates of genesys_analytics
 * (see gen_campaign_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_campaign_agg.h"
#include "gen_config.h"

#define DIM "outboundCampaignId"

enum { GROUP_CAMPAIGN };

/* The metric catalogue (gen_aggregates): the queue aggregates' names of
 * the same API metrics (their engine value names and types). */
#define COUNT(n, a)                                                            \
  { .name = n, .api = a, .kind = GEN_AGG_COUNT, .group = GROUP_CAMPAIGN }
static const gen_agg_metric_t metrics[] = {
    COUNT("outbound_attempted", "nOutboundAttempted"),
    COUNT("outbound_connected", "nOutboundConnected"),
    COUNT("outbound_abandoned", "nOutboundAbandoned"),
};
#undef COUNT
/* A campaign with attempts in a bucket and none abandoned has 0 abandoned
 * (the queue aggregates' rule); a bucket without its group has nothing. */
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = true};

/* One request over range: every bucket of the granularity for ids[n],
 * grouped by campaign. */
static json_object *query_body(void *ud, const char *const *ids, size_t n,
                               const gen_interval_range_t *range) {
  static const char *const group_by[] = {DIM};
  const gen_campaign_agg_t *ca = ud;
  return gen_agg_query_of(&catalogue, range, ca->granularity_ms, group_by,
                          STATIC_ARRAY_SIZE(group_by), DIM, ids, n);
}

/* Groups of one campaign split by another dimension (the media type, which
 * an answer may add) are one key: folded, the engine keeps one value a key
 * and bucket. */
static const char *const fold_dims[] = {DIM};
static const char *const fold_drop[] = {"mediaType"};
static const gen_agg_fold_t fold = {fold_dims, STATIC_ARRAY_SIZE(fold_dims),
                                    fold_drop, STATIC_ARRAY_SIZE(fold_drop)};

/* Engine key of a result group: "C", the campaign; false when it is not
 * one asked for. */
static bool answer_group(void *ud, const gen_agg_group_t *group,
                         const char **campaign, gen_key_t *key) {
  const gen_campaign_agg_t *ca = ud;
  *campaign = gen_agg_group_get(group, DIM);
  if (*campaign == NULL || gen_entity_find(ca->campaigns, *campaign) < 0)
    return false;
  *key = (gen_key_t){{"C", *campaign}, 0};
  return gen_interval_key_ok(key);
}

/* The series of an engine key: the campaign in plugin_instance (as
 * genesys_realtime names it), "campaign" in type_instance. */
static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  const gen_campaign_agg_t *ca = ud;
  out->group = GROUP_CAMPAIGN;
  out->plugin_instance = gen_entity_label(ca->org, ca->campaigns,
                                          key->str[1] ? key->str[1] : "", NULL);
  out->suffix = GEN_CAMPAIGN_AGG_SUFFIX;
}

gen_agg_query_t gen_campaign_agg_query(gen_campaign_agg_t *ca) {
  gen_agg_query_t q = gen_agg_query_make(
      GEN_CAMPAIGN_AGG_PATH, "campaign aggregates query", &catalogue,
      ca->granularity_ms, query_body, answer_group, ca);
  q.out.host = ca->host;
  q.out.plugin = ca->plugin;
  q.out.label = label;
  q.fold = &fold;
  q.family = "campaign aggregates";
  q.still = "the queue values";
  return q;
}

static const gen_config_def_t campaign_agg_defs[] = {
    GEN_KEY_BOOL("CampaignAggregates", gen_campaign_agg_config_t, on, false,
                 "outbound attempts, connects and abandons per campaign and "
                 "interval"),
};

const gen_config_table_t gen_campaign_agg_keys =
    GEN_CONFIG_TABLE(campaign_agg_defs);
