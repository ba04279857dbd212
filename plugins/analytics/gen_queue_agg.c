/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the queue aggregates of genesys_analytics (see
 * gen_queue_agg.h).
 */
#include "gen_queue_agg.h"

#include "gen_interval.h"
#include "gen_json.h"
#include "gen_names.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* ---- configuration ------------------------------------------------------ */

/* field: the config. */
static int config_group_by(const gen_org_t *org, const oconfig_item_t *ci,
                           const gen_config_def_t *def, void *field) {
  gen_queue_agg_config_t *c = field;
  char **names = NULL;
  size_t n = 0;
  int status = gen_config_string_list(org, ci, &names, &n);
  for (size_t i = 0; status == 0 && i < n; i++) {
    if (strcasecmp(names[i], "direction") == 0)
      c->by_direction = true;
    else if (strcasecmp(names[i], "wrapUpCode") == 0)
      c->by_wrapup = true;
    else {
      gen_config_error(org, ci,
                       "only direction and wrapUpCode are bounded dimensions "
                       "(queue and media type are always grouped)");
      status = -EINVAL;
    }
  }
  gen_config_string_list_free(names, n);
  return status;
}

/* field: the config. */
static int config_metric(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_def_t *def, void *field) {
  gen_queue_agg_config_t *c = field;
  c->metrics_given = true;
  return gen_agg_config_metrics(org, ci, &gen_conv_agg_catalogue, c->metric_on);
}

static const gen_config_def_t queue_agg_defs[] = {
    {"MediaType", GEN_CFG_MEDIA, offsetof(gen_queue_agg_config_t, media_mask),
     .shown = "all",
     .doc = "only these media types (a predicate of the query)"},
    {"Metric", GEN_CFG_LIST, 0, .shown = "default",
     .values = "measures or sets of the catalogue",
     .doc = "the measures to collect", .parse = config_metric},
    {"GroupBy", GEN_CFG_LIST, 0, .values = "direction, wrapUpCode",
     .doc = "dimensions beyond queue and media type", .parse = config_group_by},
    GEN_KEY_INT("QueuesPerQuery", gen_queue_agg_config_t, queues_per_query, 1,
                GEN_QUEUE_AGG_MAX_QUEUES, GEN_QUEUE_AGG_MAX_QUEUES,
                "queueId predicates a request"),
};

const gen_config_table_t gen_queue_agg_keys = GEN_CONFIG_TABLE(queue_agg_defs);

void gen_queue_agg_config_done(gen_queue_agg_config_t *c) {
  if (!c->metrics_given)
    gen_agg_set_on(&gen_conv_agg_catalogue, "default", c->metric_on);
}

/* ---- the request -------------------------------------------------------- */

/* The aggregates query for queue_ids over range, or (n 0) of the metrics
 * attributed to no queue, for the whole org per media type. */
static json_object *query_body(void *ud, const char *const *queue_ids, size_t n,
                               const gen_interval_range_t *range) {
  const gen_queue_agg_t *qa = ud;
  const gen_queue_agg_config_t *c = qa->config;
  const char *group_by[4];
  size_t n_group_by = 0;
  if (n > 0)
    group_by[n_group_by++] = "queueId";
  group_by[n_group_by++] = "mediaType";
  if (c->by_direction)
    group_by[n_group_by++] = "direction";
  if (c->by_wrapup)
    group_by[n_group_by++] = "wrapUpCode";
  json_object *body =
      gen_agg_query_new(range, qa->granularity_ms, group_by, n_group_by);
  json_object *metrics =
      gen_agg_metrics_json(&gen_conv_agg_catalogue, c->metric_on,
                           n > 0 ? GEN_CONV_AGG_QUEUE : GEN_CONV_AGG_ORG);
  json_object_object_add(body, "metrics", metrics);
  if (n == 0 && c->media_mask == 0)
    return body;
  json_object *filter = json_object_new_object();
  json_object *clauses = json_object_new_array();
  json_object_object_add(filter, "type", json_object_new_string("and"));
  if (n > 0)
    json_object_array_add(clauses, gen_json_or_filter("queueId", queue_ids, n));
  if (c->media_mask != 0) {
    /* The API's spelling, whatever case the configuration used. */
    const char *media[GEN_MEDIA_COUNT];
    size_t n_media = 0;
    for (int m = 0; m < GEN_MEDIA_COUNT; m++)
      if ((c->media_mask >> m) & 1u)
        media[n_media++] = gen_media_names[m];
    json_object_array_add(clauses,
                          gen_json_or_filter("mediaType", media, n_media));
  }
  json_object_object_add(filter, "clauses", clauses);
  json_object_object_add(body, "filter", filter);
  return body;
}

static json_object *org_body(void *ud, const char *const *scopes, size_t n,
                             const gen_interval_range_t *range) {
  return query_body(ud, NULL, 0, range);
}

/* ---- the answer --------------------------------------------------------- */

/* Engine key of a result group: queueId (GEN_QUEUE_AGG_ORG_SCOPE for the org
 * query), media[, direction][, wrapUpCode]; false when the group lacks a
 * dimension we asked for. */
static bool group_key(const gen_queue_agg_t *qa, const gen_agg_group_t *group,
                      bool org, gen_key_t *key, const char **queue_id) {
  const char *wrapup = gen_agg_group_get(group, "wrapUpCode");
  int n = 2;
  *key = (gen_key_t){
      {org ? GEN_QUEUE_AGG_ORG_SCOPE : gen_agg_group_get(group, "queueId"),
       gen_agg_group_get(group, "mediaType")},
      0};
  *queue_id = key->str[0];
  if (qa->config->by_direction)
    key->str[n++] = gen_agg_group_get(group, "direction");
  if (qa->config->by_wrapup)
    /* Conversations without a wrap-up (abandoned, not yet wrapped) form a
     * group without the key. */
    key->str[n++] = wrapup ? wrapup : "none";
  for (int i = 0; i < n; i++)
    if (key->str[i] == NULL) /* a dimension asked for and absent */
      return false;
  return gen_interval_key_ok(key);
}

/* Feeds one answer to the engine. A document that cannot be trusted as a
 * whole (not the expected shape, a bucket that is not one of ours) fails the
 * range: it is asked for again, nothing of it is dispatched. */
static bool answer_group(void *ud, const gen_agg_group_t *group,
                         const char **scope, gen_key_t *key) {
  const gen_queue_agg_t *qa = ud;
  return group_key(qa, group, false, key, scope) &&
         gen_entity_find(qa->queues, *scope) >= 0;
}

/* A group of the org query: a queueId there would be one we did not ask
 * for (not ours). */
static bool answer_org_group(void *ud, const gen_agg_group_t *group,
                             const char **scope, gen_key_t *key) {
  return gen_agg_group_get(group, "queueId") == NULL &&
         group_key(ud, group, true, key, scope);
}

/* The catalogue's result group of an engine key. */
static unsigned key_group(const gen_key_t *key) {
  return strcmp(key->str[0], GEN_QUEUE_AGG_ORG_SCOPE) == 0 &&
                 key->str[1] != NULL
             ? GEN_CONV_AGG_ORG
             : GEN_CONV_AGG_QUEUE;
}

bool gen_queue_agg_on(const gen_queue_agg_config_t *c, bool org) {
  return gen_agg_group_on(&gen_conv_agg_catalogue, c->metric_on,
                          org ? GEN_CONV_AGG_ORG : GEN_CONV_AGG_QUEUE);
}

/* ---- dispatch ----------------------------------------------------------- */

/* The series of an engine key: the queue's plugin_instance and the
 * type_instance suffix media[-direction][-wrap-up]. */
static void label_of(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  const gen_queue_agg_t *qa = ud;
  out->group = key_group(key);
  sstrncpy(out->instance_buf,
           out->group == GEN_CONV_AGG_ORG
               ? GEN_QUEUE_AGG_ORG_SCOPE
               : gen_entity_label(qa->org, qa->queues, key->str[0], NULL),
           sizeof(out->instance_buf));
  out->plugin_instance = out->instance_buf;
  char *suffix = out->suffix_buf;
  size_t used = 0;
  for (int i = 1; i < GEN_KEY_STRS && key->str[i] != NULL &&
                  used < sizeof(out->suffix_buf);
       i++) {
    ssize_t w = gen_entity_find(qa->wrapups, key->str[i]);
    const char *label = w >= 0 ? qa->wrapups->items[w].name : key->str[i];
    used += (size_t)snprintf(suffix + used, sizeof(out->suffix_buf) - used,
                             "%s%s", used ? "-" : "", label);
  }
  out->suffix = suffix;
}

gen_agg_query_t gen_queue_agg_query(gen_queue_agg_t *qa, bool org) {
  gen_agg_query_t q = gen_agg_query_make(
      GEN_QUEUE_AGG_PATH, org ? "org aggregates query" : "aggregates query",
      &gen_conv_agg_catalogue, qa->granularity_ms, org ? org_body : query_body,
      org ? answer_org_group : answer_group, qa);
  q.reader.on = q.out.on = qa->config->metric_on;
  q.reader.key_group = key_group;
  q.out.host = qa->host;
  q.out.plugin = qa->plugin;
  q.out.label = label_of;
  q.family = org ? "org aggregates" : "queue aggregates";
  return q;
}

static bool queue_media_group(void *ud, const gen_agg_group_t *group,
                              const char **queue, gen_key_t *key) {
  const gen_queue_media_t *qm = ud;
  *queue = gen_agg_group_get(group, "queueId");
  const char *media = gen_agg_group_get(group, "mediaType");
  if (*queue == NULL || gen_entity_find(qm->queues, *queue) < 0)
    return false;
  *key = (gen_key_t){{qm->tag, *queue, media}, 0};
  return gen_interval_key_ok(key);
}

static void queue_media_label(void *ud, const gen_key_t *key,
                              gen_agg_label_t *out) {
  const gen_queue_media_t *qm = ud;
  out->group = qm->group;
  out->plugin_instance = gen_entity_label(qm->org, qm->queues,
                                          key->str[1] ? key->str[1] : "", NULL);
  out->suffix = key->str[2] ? key->str[2] : "";
}

void gen_queue_media_use(gen_agg_query_t *q, const gen_queue_media_t *qm) {
  q->reader.group = queue_media_group;
  q->reader.ud = (void *)qm;
  q->out.label = queue_media_label;
  q->out.ud = (void *)qm;
  q->out.host = qm->host;
  q->out.plugin = qm->plugin;
}

static json_object *row_body(void *ud, const char *const *ids, size_t n,
                             const gen_interval_range_t *range) {
  const gen_queue_row_t *row = ud;
  return gen_agg_query_of(row->def->cat, range, row->granularity_ms,
                          row->def->group_by, row->def->n_group_by, "queueId",
                          ids, n);
}

gen_agg_query_t gen_queue_row_query(gen_queue_row_t *row,
                                    const gen_queue_row_def_t *def) {
  row->def = def;
  row->qm.tag = def->tag;
  row->qm.group = def->group;
  gen_agg_query_t q = gen_agg_query_make(
      def->path, def->what, def->cat, row->granularity_ms, row_body, NULL, row);
  gen_queue_media_use(&q, &row->qm);
  q.family = def->family;
  q.still = "the queue values";
  return q;
}
