/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the data action aggregates of genesys_flowmetrics (see
 * gen_action_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_action_agg.h"
#include "gen_config.h"
#include "gen_json.h"

#include <strings.h>

#include <errno.h>
#include <stdlib.h>

#define API_METRIC "tTotalExecution"
/* What normalize() makes of each API_METRIC entry: not API metrics, never
 * asked for. */
#define EXECUTIONS API_METRIC ".count"
#define ERRORS API_METRIC ".errors"

enum { GROUP_ACTION };

/* The metric catalogue (gen_aggregates): our name (the engine value names
 * in the state files), the metric in the normalized answer, its kind, and
 * the types of counts per bucket and as counters. */
static const gen_agg_metric_t metrics[] = {
    {.name = "action_executions",
     .api = EXECUTIONS,
     .kind = GEN_AGG_COUNT,
     .group = GROUP_ACTION,
     .bucket_type = "action_executions",
     .total_type = "total_action_executions"},
    {.name = "action_errors",
     .api = ERRORS,
     .kind = GEN_AGG_COUNT,
     .group = GROUP_ACTION,
     .bucket_type = "action_errors",
     .total_type = "total_action_errors"},
    {.name = "action_execution",
     .api = API_METRIC,
     .kind = GEN_AGG_DURATION,
     .group = GROUP_ACTION},
};
/* An action with executions in a bucket and no errors has 0 errors. */
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = true};

gen_agg_values_t *gen_action_agg_values_new(void) {
  return gen_agg_values_new(&catalogue);
}

/* One request over range: every bucket of the granularity, grouped by
 * action, error type and response status (a failure may carry only a
 * non-2xx status); for ids[n] unless every action is asked for. */
static json_object *query_body(void *ud, const char *const *ids, size_t n,
                               const gen_interval_range_t *range) {
  static const char *const group_by[] = {"actionId", "errorType",
                                         "responseStatus"};
  const gen_action_agg_t *aa = ud;
  json_object *body = gen_agg_query_new(range, aa->granularity_ms, group_by,
                                        STATIC_ARRAY_SIZE(group_by));
  json_object *asked = json_object_new_array();
  json_object_array_add(asked, json_object_new_string(API_METRIC));
  json_object_object_add(body, "metrics", asked);
  if (!aa->every)
    json_object_object_add(body, "filter",
                           gen_json_or_filter("actionId", ids, n));
  return body;
}

/* The id of the one action named name, or NULL. */
static const char *id_of_name(const gen_entity_set_t *actions,
                              const char *name) {
  const char *id = NULL;
  for (size_t i = 0; name != NULL && actions != NULL && i < actions->count; i++)
    if (actions->items[i].name != NULL &&
        strcmp(actions->items[i].name, name) == 0) {
      if (id != NULL)
        return NULL; /* two of that name: neither */
      id = actions->items[i].id;
    }
  return id;
}

/* An entry {"metric": name, "stats": {"count": count}}. */
static json_object *count_entry(const char *name, double count) {
  json_object *e = json_object_new_object(), *stats = json_object_new_object();
  json_object_object_add(stats, "count", json_object_new_double(count));
  json_object_object_add(e, "metric", json_object_new_string(name));
  json_object_object_add(e, "stats", stats);
  return e;
}

/* One bucket's metrics[] as the catalogue reads it (a new reference). */
static json_object *bucket_metrics(json_object *in, bool error) {
  json_object *out = json_object_new_array();
  size_t n = json_object_is_type(in, json_type_array)
                 ? json_object_array_length(in)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(in, i);
    const char *metric = gen_json_get_string(e, "metric");
    json_object *stats = gen_json_get_object(e, "stats");
    double count, sum;
    if (metric == NULL || strcmp(metric, API_METRIC) != 0 ||
        !gen_json_get_double(stats, "count", &count)) {
      json_object_array_add(out, json_object_get(e)); /* read as it is */
      continue;
    }
    json_object_array_add(out, count_entry(EXECUTIONS, count));
    if (error)
      json_object_array_add(out, count_entry(ERRORS, count));
    if (gen_json_get_double(stats, "sum", &sum)) /* times: when given */
      json_object_array_add(out, json_object_get(e));
  }
  return out;
}

bool gen_action_agg_failed(json_object *group) {
  const char *error = gen_json_get_string(group, "errorType");
  if (error != NULL && error[0] != '\0')
    return true;
  /* A dimension value is a string ("200"); a number is taken too. An
   * unreadable status says nothing either way. */
  json_object *v;
  if (!json_object_object_get_ex(group, "responseStatus", &v) || v == NULL)
    return false;
  int64_t status;
  if (json_object_is_type(v, json_type_int)) {
    status = json_object_get_int64(v);
  } else if (json_object_is_type(v, json_type_string)) {
    const char *text = json_object_get_string(v);
    char *end;
    errno = 0;
    status = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0)
      return false;
  } else {
    return false;
  }
  return status < 200 || status > 299;
}

int gen_action_agg_normalize(const gen_entity_set_t *actions, bool foreign,
                             json_object *doc) {
  static const char *const dims[] = {"actionId"};
  static const char *const drop[] = {"errorType",       "actionName",
                                     "actionCategory",  "integrationId",
                                     "integrationName", "responseStatus"};
  json_object *results = gen_json_get_array(doc, "results");
  size_t len = results ? json_object_array_length(results) : 0;
  json_object *kept = json_object_new_array();
  if (kept == NULL)
    return -ENOMEM;
  for (size_t r = 0; r < len; r++) {
    json_object *result = json_object_array_get_idx(results, r);
    json_object *group = gen_json_get_object(result, "group");
    if (group == NULL) {
      json_object_array_add(kept, json_object_get(result));
      continue;
    }
    const char *id = gen_json_get_string(group, "actionId");
    const char *named =
        id ? NULL
           : id_of_name(actions, gen_json_get_string(group, "actionName"));
    if (named != NULL)
      json_object_object_add(group, "actionId", json_object_new_string(named));
    id = gen_json_get_string(group, "actionId");
    if (foreign && (id == NULL || gen_entity_find(actions, id) < 0))
      continue; /* asked for every action: one not listed is no error */
    json_object_array_add(kept, json_object_get(result));
    bool failed = gen_action_agg_failed(group);
    json_object *data = gen_json_get_array(result, "data");
    size_t nb = data ? json_object_array_length(data) : 0;
    for (size_t b = 0; b < nb; b++) {
      json_object *bucket = json_object_array_get_idx(data, b);
      json_object *m =
          bucket_metrics(gen_json_get_array(bucket, "metrics"), failed);
      if (m == NULL) {
        json_object_put(kept);
        return -ENOMEM;
      }
      json_object_object_add(bucket, "metrics", m);
    }
  }
  if (results != NULL)
    json_object_object_add(doc, "results", kept);
  else
    json_object_put(kept);
  return gen_agg_fold_groups(doc, dims, STATIC_ARRAY_SIZE(dims), drop,
                             STATIC_ARRAY_SIZE(drop));
}

static int prepare(void *ud, json_object *doc, char *err, size_t err_size) {
  const gen_action_agg_t *aa = ud;
  int status = gen_action_agg_normalize(aa->actions, aa->every, doc);
  if (status != 0)
    snprintf(err, err_size, "cannot fold action groups: %s",
             gen_strerror(status));
  return status;
}

/* Engine key of a result group: "A", actionId; false when the action is
 * not one of ours. */
static bool answer_group(void *ud, const gen_agg_group_t *group,
                         const char **action_id, gen_key_t *key) {
  const gen_action_agg_t *aa = ud;
  *action_id = gen_agg_group_get(group, "actionId");
  if (*action_id == NULL || gen_entity_find(aa->actions, *action_id) < 0)
    return false;
  *key = (gen_key_t){{"A", *action_id}, 0};
  return true;
}

static size_t answer_values(void *ud, const gen_key_t *key,
                            const gen_agg_metrics_t *m,
                            const gen_interval_value_t **v, size_t *n) {
  (void)key;
  return gen_agg_read(&catalogue, NULL, GROUP_ACTION, m,
                      ((gen_action_agg_t *)ud)->answer, v, n);
}

/* The series of an engine key: the action's name in plugin_instance. */
static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  const gen_action_agg_t *aa = ud;
  out->group = GROUP_ACTION;
  out->plugin_instance = gen_entity_label(aa->client->org, aa->actions,
                                          key->str[1] ? key->str[1] : "", NULL);
}

gen_agg_output_t gen_action_agg_output(gen_action_agg_t *aa) {
  return (gen_agg_output_t){.cat = &catalogue,
                            .host = gen_client_host(aa->client),
                            .plugin = aa->plugin,
                            .granularity_ms = aa->granularity_ms,
                            .label = label,
                            .ud = aa};
}

gen_agg_query_t gen_action_agg_query(gen_action_agg_t *aa) {
  gen_agg_query_t q = gen_agg_query_make(
      GEN_ACTION_AGG_PATH, "actions aggregates query", aa->granularity_ms,
      query_body, answer_group, answer_values, aa);
  q.prepare = prepare;
  q.family = "data action aggregates";
  q.still = "the flow values";
  return q;
}

int gen_action_agg_config_key(const gen_org_t *org, const oconfig_item_t *ci,
                              gen_action_agg_config_t *c) {
  if (strcasecmp(ci->key, "DataActions") == 0)
    return gen_config_bool(org, ci, &c->on);
  return gen_config_filter_key(org, ci, "DataAction", false, &c->filter);
}

void gen_action_agg_config_release(gen_action_agg_config_t *c) {
  gen_entity_filter_free(&c->filter);
}

size_t gen_action_agg_per_query(const gen_action_agg_t *aa, size_t per) {
  if (aa->every)
    return 0;
  return per == 0 || per > GEN_ACTION_AGG_MAX_PER_QUERY
             ? GEN_ACTION_AGG_MAX_PER_QUERY
             : per;
}

void gen_action_agg_collect(gen_action_agg_t *aa, gen_interval_t *engine,
                            gen_agg_counts_t *counts, size_t per, int ranges) {
  if (engine == NULL)
    return;
  gen_agg_query_t query = gen_action_agg_query(aa);
  gen_agg_output_t output = gen_action_agg_output(aa);
  gen_interval_sink_t sink = gen_agg_sink(&output);
  gen_agg_job_t job = {engine, aa->client, counts, &query, &sink, 0};
  /* A failed query leaves the rest to the next call. */
  gen_agg_collect_set(&job, aa->actions, gen_action_agg_per_query(aa, per),
                      ranges);
}
