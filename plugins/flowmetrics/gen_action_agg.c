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
static gen_agg_entry_t count_entry(const char *name, double count) {
  gen_agg_entry_t e = {
      .metric = name, .stats = true, .have = 1u << GEN_AGG_STAT_COUNT};
  e.stat[GEN_AGG_STAT_COUNT] = count;
  return e;
}

/* One bucket's entries as the catalogue reads them, written into a. */
static int bucket_metrics(gen_agg_answer_t *a, const gen_agg_metrics_t *in,
                          bool error) {
  int status = 0;
  for (size_t i = 0; status == 0 && i < in->n; i++) {
    const gen_agg_entry_t *e = &in->e[i];
    if (e->metric == NULL || strcmp(e->metric, API_METRIC) != 0 ||
        !(e->have & (1u << GEN_AGG_STAT_COUNT))) {
      status = gen_agg_answer_add_entry(a, e); /* read as it is */
      continue;
    }
    gen_agg_entry_t runs = count_entry(EXECUTIONS, e->stat[GEN_AGG_STAT_COUNT]),
                    errors = count_entry(ERRORS, e->stat[GEN_AGG_STAT_COUNT]);
    status = gen_agg_answer_add_entry(a, &runs);
    if (status == 0 && error)
      status = gen_agg_answer_add_entry(a, &errors);
    if (status == 0 && (e->have & (1u << GEN_AGG_STAT_SUM))) /* times */
      status = gen_agg_answer_add_entry(a, e);
  }
  return status;
}

/* The last dim named name of g, or NULL. */
static const gen_agg_dim_t *dim_of(const gen_agg_group_t *g, const char *name) {
  for (size_t i = g->n; i > 0; i--)
    if (strcmp(g->d[i - 1].name, name) == 0)
      return &g->d[i - 1];
  return NULL;
}

bool gen_action_agg_failed(const gen_agg_group_t *group) {
  const char *error = gen_agg_group_get(group, "errorType");
  if (error != NULL && error[0] != '\0')
    return true;
  /* A dimension value is a string ("200"); a whole number is taken too. An
   * unreadable status says nothing either way. */
  const gen_agg_dim_t *d = dim_of(group, "responseStatus");
  const char *text = d == NULL ? NULL : d->value ? d->value : d->number;
  if (text == NULL || (d->value == NULL && strpbrk(text, ".eE") != NULL))
    return false;
  char *end;
  errno = 0;
  int64_t status = strtoll(text, &end, 10);
  /* A number past int64 reads as its bound (as json-c saturates it). */
  if (end == text || *end != '\0' || (errno != 0 && d->value != NULL))
    return false;
  return status < 200 || status > 299;
}

/* A group member actionId: value (not written as a designated initializer
 * beginning with the name: man/make_catalogue.py reads those as the
 * catalogue's metrics). */
static gen_agg_dim_t action_id(const char *value) {
  gen_agg_dim_t d = {.value = value};
  d.name = "actionId";
  return d;
}

/* One result of the answer read, its actionId set to named (when not NULL),
 * its metrics rewritten (bucket_metrics). */
static int rewrite(gen_agg_answer_t *a, const gen_agg_result_t *res,
                   const char *named) {
  const gen_agg_group_t *g = &res->group;
  int status = gen_agg_answer_add_result(a, g->object);
  const gen_agg_dim_t *last_id = dim_of(g, "actionId");
  for (size_t d = 0; status == 0 && d < g->n; d++) {
    gen_agg_dim_t dim = g->d[d];
    if (named != NULL && &g->d[d] == last_id)
      dim = action_id(named);
    status = gen_agg_answer_add_dim(a, &dim);
  }
  if (status == 0 && named != NULL && last_id == NULL) {
    gen_agg_dim_t id = action_id(named);
    status = gen_agg_answer_add_dim(a, &id);
  }
  bool failed = gen_action_agg_failed(g);
  for (size_t b = 0; status == 0 && b < res->n; b++) {
    status = gen_agg_answer_add_bucket(a, res->b[b].interval);
    if (status == 0)
      status = bucket_metrics(a, &res->b[b].metrics, failed);
  }
  return status;
}

int gen_action_agg_normalize(const gen_entity_set_t *actions, bool foreign,
                             gen_agg_answer_t *a) {
  static const char *const dims[] = {"actionId"};
  static const char *const drop[] = {"errorType",       "actionName",
                                     "actionCategory",  "integrationId",
                                     "integrationName", "responseStatus"};
  const gen_agg_result_t *res;
  size_t len = gen_agg_answer_results(a, &res);
  int status = 0;
  gen_agg_answer_begin(a);
  for (size_t r = 0; status == 0 && r < len; r++) {
    const gen_agg_group_t *g = &res[r].group;
    const char *id = gen_agg_group_get(g, "actionId");
    const char *named =
        id ? NULL : id_of_name(actions, gen_agg_group_get(g, "actionName"));
    if (named != NULL)
      id = named;
    /* Asked for every action: one not listed is no error (a group that is
     * not an object is kept, to be counted malformed). */
    if (g->object && foreign &&
        (id == NULL || gen_entity_find(actions, id) < 0))
      continue;
    status = rewrite(a, &res[r], named);
  }
  if (status != 0)
    return status; /* a unchanged: never ended */
  gen_agg_answer_end(a);
  return gen_agg_fold_groups(a, dims, STATIC_ARRAY_SIZE(dims), drop,
                             STATIC_ARRAY_SIZE(drop));
}

static int prepare(void *ud, gen_agg_answer_t *a, char *err, size_t err_size) {
  const gen_action_agg_t *aa = ud;
  int status = gen_action_agg_normalize(aa->actions, aa->every, a);
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

/* The series of an engine key: the action's name in plugin_instance. */
static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  const gen_action_agg_t *aa = ud;
  out->group = GROUP_ACTION;
  out->plugin_instance = gen_entity_label(aa->client->org, aa->actions,
                                          key->str[1] ? key->str[1] : "", NULL);
}

gen_agg_query_t gen_action_agg_query(gen_action_agg_t *aa) {
  gen_agg_query_t q = gen_agg_query_make(
      GEN_ACTION_AGG_PATH, "actions aggregates query", &catalogue,
      aa->granularity_ms, query_body, answer_group, aa);
  q.out.host = gen_client_host(aa->client);
  q.out.plugin = aa->plugin;
  q.out.label = label;
  q.prepare = prepare;
  q.family = "data action aggregates";
  q.still = "the flow values";
  return q;
}

static const gen_config_def_t action_agg_defs[] = {
    GEN_KEY_BOOL("DataActions", gen_action_agg_config_t, on, false,
                 "data action executions, errors and times per interval"),
    GEN_KEY_FILTER("DataAction", "data actions", gen_action_agg_config_t,
                   filter),
};

const gen_config_table_t gen_action_agg_keys =
    GEN_CONFIG_TABLE(action_agg_defs);

void gen_action_agg_config_release(gen_action_agg_config_t *c) {
  gen_entity_filter_free(&c->filter);
}

size_t gen_action_agg_per_query(const gen_action_agg_t *aa) {
  return aa->every ? 0 : GEN_ACTION_AGG_MAX_PER_QUERY;
}
