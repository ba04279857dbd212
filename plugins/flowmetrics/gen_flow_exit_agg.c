/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the flow exits of genesys_flowmetrics (see
 * gen_flow_exit_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_config.h"
#include "gen_flow_agg.h"
#include "gen_flow_exit_agg.h"
#include "gen_names.h"

#include <errno.h>
#include <strings.h>

/* The result groups: a flow and an exit reason, a flow and selfServed. */
enum { GROUP_REASON, GROUP_SELF };

#define COUNT(n, g, bucket, total)                                             \
  {                                                                            \
    .name = n, .api = "tFlow", .kind = GEN_AGG_COUNT, .group = g,              \
    .bucket_type = bucket, .total_type = total                                 \
  }
/* The metric catalogue (gen_aggregates): tFlow's count, the executions
 * that ended, in each group. */
static const gen_agg_metric_t metrics[] = {
    COUNT("ends", GROUP_REASON, "flow_interval_ends", "total_flow_ends"),
    COUNT("ends_self_served", GROUP_SELF, "flow_interval_ends_self_served",
          "total_flow_ends_self_served"),
};
/* Only what happened: a reason absent from a bucket has no value there. */
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = false};

/* One request for flow_ids over range, grouped by flow, exit reason and
 * selfServed: the groupBy takes several levels (tests/sim/README.md, Flow
 * exits), so one request serves both counts. */
static json_object *query_body(void *ud, const char *const *flow_ids, size_t n,
                               const gen_interval_range_t *range) {
  static const char *const group_by[] = {"flowId", "exitReason", "selfServed"};
  const gen_flow_exit_t *fx = ud;
  return gen_agg_query_of(&catalogue, range, fx->granularity_ms, group_by,
                          STATIC_ARRAY_SIZE(group_by), "flowId", flow_ids, n);
}

/* The series name of a group's value of dim: safe for every backend,
 * "true"/"false" lowercased for selfServed, GEN_FLOW_EXIT_UNKNOWN when
 * there is none; NULL when out of memory. */
static const char *series_value(gen_agg_answer_t *a, const gen_agg_group_t *g,
                                const char *dim) {
  const char *v = gen_agg_group_get(g, dim);
  if (v == NULL || v[0] == '\0')
    return GEN_FLOW_EXIT_UNKNOWN;
  if (strcasecmp(v, "true") == 0)
    return "true";
  if (strcasecmp(v, "false") == 0)
    return "false";
  char safe[DATA_MAX_NAME_LEN];
  gen_sanitize_name(v, safe, sizeof(safe));
  return strcmp(safe, v) == 0 ? v
                              : gen_agg_answer_strdup(a, safe, strlen(safe));
}

/* Every result of res[len] with a flowId, as {flowId, dim}; without one,
 * the first pass keeps it as it was. */
static int write_pass(gen_agg_answer_t *a, const gen_agg_result_t *res,
                      size_t len, const char *dim, bool first) {
  int status = 0;
  for (size_t r = 0; status == 0 && r < len; r++) {
    const gen_agg_group_t *g = &res[r].group;
    const char *flow = gen_agg_group_get(g, "flowId");
    if (flow == NULL && !first)
      continue;
    status = gen_agg_answer_add_result(a, g->object);
    if (flow == NULL) {
      for (size_t d = 0; status == 0 && d < g->n; d++)
        status = gen_agg_answer_add_dim(a, &g->d[d]);
    } else {
      const char *v = series_value(a, g, dim);
      if (status == 0)
        status = v != NULL
                     ? gen_agg_answer_add_dim(
                           a, &(gen_agg_dim_t){.name = "flowId", .value = flow})
                     : -ENOMEM;
      if (status == 0)
        status = gen_agg_answer_add_dim(
            a, &(gen_agg_dim_t){.name = dim, .value = v});
    }
    for (size_t b = 0; status == 0 && b < res[r].n; b++) {
      const gen_agg_metrics_t *m = &res[r].b[b].metrics;
      status = gen_agg_answer_add_bucket(a, res[r].b[b].interval);
      for (size_t i = 0; status == 0 && i < m->n; i++)
        status = gen_agg_answer_add_entry(a, &m->e[i]);
    }
  }
  return status;
}

int gen_flow_exit_normalize(gen_agg_answer_t *a) {
  static const char *const by_reason[] = {"flowId", "exitReason"},
                           *const by_self[] = {"flowId", "selfServed"};
  const gen_agg_result_t *res;
  size_t len = gen_agg_answer_results(a, &res);
  gen_agg_answer_begin(a);
  int status = write_pass(a, res, len, "exitReason", true);
  if (status == 0)
    status = write_pass(a, res, len, "selfServed", false);
  if (status != 0)
    return status; /* a unchanged: never ended */
  gen_agg_answer_end(a);
  status = gen_agg_fold_groups(a, by_reason, 2, NULL, 0);
  return status != 0 ? status : gen_agg_fold_groups(a, by_self, 2, NULL, 0);
}

static int prepare(void *ud, gen_agg_answer_t *a, char *err, size_t err_size) {
  (void)ud;
  int status = gen_flow_exit_normalize(a);
  if (status != 0)
    snprintf(err, err_size, "cannot fold flow exit groups: %s",
             gen_strerror(status));
  return status;
}

/* Engine key of a result group: "R", flowId, exit reason or "S", flowId,
 * selfServed, in the flow's scope; false for a flow not listed. */
static bool answer_group(void *ud, const gen_agg_group_t *group,
                         const char **flow_id, gen_key_t *key) {
  const gen_flow_exit_t *fx = ud;
  const char *reason = gen_agg_group_get(group, "exitReason");
  const char *self = gen_agg_group_get(group, "selfServed");
  *flow_id = gen_agg_group_get(group, "flowId");
  if (*flow_id == NULL || gen_entity_find(fx->flows, *flow_id) < 0 ||
      (reason == NULL) == (self == NULL))
    return false;
  *key = (gen_key_t){{reason ? "R" : "S", *flow_id, reason ? reason : self}, 0};
  return true;
}

static unsigned key_group(const gen_key_t *key) {
  return key->str[0][0] == 'S' ? GROUP_SELF : GROUP_REASON;
}

/* The series of an engine key: the flow's plugin_instance, the exit
 * reason or selfServed in type_instance. */
static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  const gen_flow_exit_t *fx = ud;
  out->group = key_group(key);
  out->plugin_instance = gen_entity_label(fx->client->org, fx->flows,
                                          key->str[1] ? key->str[1] : "", NULL);
  out->suffix = key->str[2] ? key->str[2] : "";
}

gen_agg_query_t gen_flow_exit_query(gen_flow_exit_t *fx) {
  gen_agg_query_t q =
      gen_agg_query_make(GEN_FLOW_AGG_PATH, "flow exits query", &catalogue,
                         fx->granularity_ms, query_body, answer_group, fx);
  q.reader.key_group = key_group;
  q.out.host = gen_client_host(fx->client);
  q.out.plugin = fx->plugin;
  q.out.label = label;
  q.prepare = prepare;
  q.family = "flow exits";
  q.still = "the flow values";
  return q;
}

static const gen_config_def_t flow_exit_defs[] = {
    GEN_KEY_BOOL("FlowExits", gen_flow_exit_config_t, on, false,
                 "ended executions per exit reason and self-served, per "
                 "flow and interval"),
};

const gen_config_table_t gen_flow_exit_keys = GEN_CONFIG_TABLE(flow_exit_defs);
