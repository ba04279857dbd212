/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the flow aggregates of genesys_flowmetrics (see
 * gen_flow_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_config.h"
#include "gen_flow_agg.h"
#include "gen_json.h"

#include <strings.h>

#define GEN_FLOW_OBS_PATH "/api/v2/analytics/flows/observations/query"

/* The group an aggregates result belongs to: the flow alone, or the flow
 * and one outcome, or the flow and one milestone (with the outcome it is
 * associated with, or none). */
typedef enum { GROUP_FLOW, GROUP_OUTCOME, GROUP_MILESTONE } group_t;

/* The metric catalogue (gen_aggregates): our name (the engine value names
 * in the state files), API metric, kind, its group, and the types of
 * counts per bucket and as counters. */
#define COUNT(n, a, g, bucket, total)                                          \
  {                                                                            \
    .name = n, .api = a, .kind = GEN_AGG_COUNT, .group = g,                    \
    .bucket_type = bucket, .total_type = total                                 \
  }
#define DURATION(n, a, g)                                                      \
  { .name = n, .api = a, .kind = GEN_AGG_DURATION, .group = g }
static const gen_agg_metric_t metrics[] = {
    COUNT("executions", "nFlow", GROUP_FLOW, "flow_interval_executions",
          "total_flow_executions"),
    DURATION("flow", "tFlow", GROUP_FLOW),
    DURATION("disconnect", "tFlowDisconnect", GROUP_FLOW),
    DURATION("exit", "tFlowExit", GROUP_FLOW),
    COUNT("outcomes", "nFlowOutcome", GROUP_OUTCOME, "flow_interval_outcomes",
          "total_flow_outcomes"),
    COUNT("outcome_failures", "nFlowOutcomeFailed", GROUP_OUTCOME,
          "flow_interval_outcome_failures", "total_flow_outcome_failures"),
    DURATION("outcome", "tFlowOutcome", GROUP_OUTCOME),
    COUNT("milestones", "nFlowMilestone", GROUP_MILESTONE,
          "flow_interval_milestones", "total_flow_milestones"),
};
/* Only what happened: a group's absent metric stays absent. */
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = false};

void gen_flow_agg_config_release(gen_flow_agg_config_t *c) {
  gen_config_string_list_free(c->flow_types, c->n_flow_types);
  c->flow_types = NULL;
  c->n_flow_types = 0;
}

#define FC gen_flow_agg_config_t
static const gen_config_def_t flow_agg_defs[] = {
    GEN_KEY_STRINGS("FlowType", FC, flow_types, n_flow_types,
                    "only flows of these types (every type by default)"),
    GEN_KEY_BOOL("Aggregates", FC, aggregates, true,
                 "the flow aggregates per closed interval"),
    GEN_KEY_BOOL("ActiveFlows", FC, active_flows, true,
                 "oFlow from the flow observations query every read"),
    GEN_KEY_INT("FlowsPerQuery", FC, flows_per_query, 1,
                GEN_FLOW_AGG_MAX_PER_QUERY, GEN_FLOW_AGG_MAX_PER_QUERY,
                "flowId predicates a request"),
};
#undef FC

const gen_config_table_t gen_flow_agg_keys = GEN_CONFIG_TABLE(flow_agg_defs);

void gen_flow_agg_list_path(char *const *types, size_t n, char *buf,
                            size_t size) {
  size_t off = (size_t)snprintf(buf, size, "/api/v2/flows");
  for (size_t i = 0; i < n && off < size; i++)
    off += (size_t)snprintf(buf + off, size - off, "%ctype=%s",
                            i == 0 ? '?' : '&', types[i]);
}

/* One request for flow_ids over range: every bucket of the granularity,
 * grouped by flow, outcome and milestone. */
static json_object *query_body(void *ud, const char *const *flow_ids, size_t n,
                               const gen_interval_range_t *range) {
  static const char *const group_by[] = {"flowId", "flowOutcomeId",
                                         "flowMilestoneId"};
  const gen_flow_agg_t *fa = ud;
  return gen_agg_query_of(&catalogue, range, fa->granularity_ms, group_by,
                          STATIC_ARRAY_SIZE(group_by), "flowId", flow_ids, n);
}

/* Engine key of a result group: tag (F, O, M), flowId[, outcome or milestone
 * id]; false when the group is not one of ours. A group with a milestone is
 * the milestone's, whatever outcome rides with it: Genesys groups a
 * milestone's counts by the outcome it is associated with too
 * (tests/sim/README.md, Evidence), and an outcome's records carry no
 * milestone. */
static bool answer_group(void *ud, const gen_agg_group_t *group,
                         const char **flow_id, gen_key_t *key) {
  static const char *const tags[] = {"F", "O", "M"};
  const gen_flow_agg_t *fa = ud;
  const char *outcome = gen_agg_group_get(group, "flowOutcomeId");
  const char *milestone = gen_agg_group_get(group, "flowMilestoneId");
  *flow_id = gen_agg_group_get(group, "flowId");
  if (*flow_id == NULL || gen_entity_find(fa->flows, *flow_id) < 0)
    return false;
  group_t kind = milestone ? GROUP_MILESTONE
                 : outcome ? GROUP_OUTCOME
                           : GROUP_FLOW;
  *key = (gen_key_t){{tags[kind], *flow_id,
                      kind == GROUP_FLOW ? NULL
                      : milestone        ? milestone
                                         : outcome},
                     0};
  return true;
}

/* The group of an engine key, from its tag. */
static unsigned key_group(const gen_key_t *key) {
  return key->str[0][0] == 'O'   ? GROUP_OUTCOME
         : key->str[0][0] == 'M' ? GROUP_MILESTONE
                                 : GROUP_FLOW;
}

/* The groups of one flow and milestone folded into one before the engine
 * reads the answer: a milestone associated with several outcomes comes in
 * one group per outcome (the engine keeps one value per key and bucket, so
 * the last group would win). The folded group keeps no outcome. */
static const char *const fold_dims[] = {"flowId", "flowMilestoneId"},
                         *const fold_drop[] = {"flowOutcomeId", "flowOutcome"};
static const gen_agg_fold_t fold = {fold_dims, STATIC_ARRAY_SIZE(fold_dims),
                                    fold_drop, STATIC_ARRAY_SIZE(fold_drop)};

/* The series of an engine key: the flow's plugin_instance, the outcome or
 * milestone name in type_instance. */
static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  const gen_flow_agg_t *fa = ud;
  const gen_org_t *org = fa->client->org;
  out->group = key_group(key);
  out->plugin_instance =
      gen_entity_label(org, fa->flows, key->str[1] ? key->str[1] : "", NULL);
  if (key->str[1] && key->str[2])
    out->suffix = gen_entity_label(
        org, out->group == GROUP_OUTCOME ? fa->outcomes : fa->milestones,
        key->str[2], NULL);
}

gen_agg_query_t gen_flow_agg_query(gen_flow_agg_t *fa) {
  gen_agg_query_t q =
      gen_agg_query_make(GEN_FLOW_AGG_PATH, "flow aggregates query", &catalogue,
                         fa->granularity_ms, query_body, answer_group, fa);
  q.reader.key_group = key_group;
  q.out.host = gen_client_host(fa->client);
  q.out.plugin = fa->plugin;
  q.out.label = label;
  q.fold = &fold;
  q.family = "flow aggregates";
  q.still = "flow records and metric attributes";
  return q;
}

/* Active flows (oFlow) of a selected flow, per media type. */
static void active(void *ud, const char *flow_id, const char *media,
                   double count) {
  const gen_flow_agg_t *fa = ud;
  if (flow_id == NULL || gen_entity_find(fa->flows, flow_id) < 0)
    return;
  gen_ident_t id = {.host = gen_client_host(fa->client),
                    .plugin = fa->plugin,
                    .plugin_instance = gen_entity_label(
                        fa->client->org, fa->flows, flow_id, NULL),
                    .type = "flow_active",
                    .type_instance = media ? media : ""};
  gen_dispatch_gauge(&id, count, cdtime(),
                     fa->interval ? (cdtime_t)atomic_load(fa->interval) : 0);
}

/* ---- observations --------------------------------------------------- */

static void observed_group(void *ud, const char *id, const char *media,
                           const gen_obs_item_t *items, size_t n) {
  const gen_flow_observation_t *q = ud;
  for (size_t i = 0; i < n; i++)
    if (items[i].metric == q->metric && items[i].has_count)
      q->observed(q->ud, id, media, (double)items[i].count);
}

int gen_flow_observed(const gen_flow_observation_t *q, const char *text,
                      size_t len, char *err, size_t err_size) {
  int read = gen_obs_query_read(text, len, q->dim, NULL, observed_group,
                                (void *)q, err, err_size);
  return read < 0 ? read : 0;
}

int gen_flow_observe(gen_client_t *client, gen_agg_counts_t *counts,
                     const gen_flow_observation_t *q, const char *const *ids,
                     size_t n) {
  json_object *body = json_object_new_object();
  json_object *asked = json_object_new_array();
  json_object_array_add(asked,
                        json_object_new_string(gen_obs_metric_name(q->metric)));
  json_object_object_add(body, "metrics", asked);
  json_object_object_add(body, "filter", gen_json_or_filter(q->dim, ids, n));
  gen_http_response_t resp;
  char err[512] = "";
  counts->queries++;
  int status = gen_http_post_text(
      client->http, q->path,
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
      GEN_HTTP_NO_BOUND, &resp, err, sizeof(err));
  json_object_put(body);
  if (status == 0) {
    char why[256];
    status = gen_flow_observed(q, resp.body, resp.body_len, why, sizeof(why));
    if (status == -EINVAL) {
      gen_http_count_malformed(client->http);
      snprintf(err, sizeof(err), "malformed JSON in HTTP %ld answer: %s",
               resp.status, why);
      status = GEN_HTTP_ERR_JSON;
    } else if (status != 0) {
      snprintf(err, sizeof(err), "%s", why);
    }
  }
  gen_http_response_recycle(client->http, &resp);
  if (status != 0) {
    counts->failures++;
    gen_log_org(counts->who, q->complain, LOG_ERR, "%s failed: %s", q->what,
                err);
  }
  return status;
}

gen_flow_observation_t gen_flow_agg_active(gen_flow_agg_t *fa) {
  return (gen_flow_observation_t){.path = GEN_FLOW_OBS_PATH,
                                  .what = "flow observations query",
                                  .metric = GEN_OBS_M_FLOW,
                                  .dim = "flowId",
                                  .observed = active,
                                  .ud = fa,
                                  .complain = fa->complain};
}

typedef struct {
  gen_flow_agg_t *fa;
  gen_agg_counts_t *counts;
  gen_flow_observation_t obs;
} batches_t;

static bool batch(void *ud, const char *const *ids, size_t n) {
  batches_t *b = ud;
  gen_flow_observe(b->fa->client, b->counts, &b->obs, ids, n);
  return true;
}

size_t gen_flow_agg_per_query(size_t per) {
  return per == 0 || per > GEN_FLOW_AGG_MAX_PER_QUERY
             ? GEN_FLOW_AGG_MAX_PER_QUERY
             : per;
}

void gen_flow_agg_observe(gen_flow_agg_t *fa, gen_agg_counts_t *counts,
                          size_t per) {
  batches_t b = {.fa = fa, .counts = counts, .obs = gen_flow_agg_active(fa)};
  gen_entity_batches(fa->flows, gen_flow_agg_per_query(per), batch, &b);
}
