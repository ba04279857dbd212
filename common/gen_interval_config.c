/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the configuration keys of closed-interval collection
 * and the engine made from them (see gen_interval_config.h).
 */
#include "gen_interval_config.h"

#include "gen_dispatch.h"
#include "gen_json.h"
#include "gen_state.h"
#include "gen_time.h"

#include <limits.h>
#include <strings.h>

void gen_interval_config_init(gen_interval_config_t *c) {
  memset(c, 0, sizeof(*c));
  c->granularity_ms = 15 * 60000;
  c->settle = TIME_T_TO_CDTIME_T(120);
  c->revisit = TIME_T_TO_CDTIME_T(3600);
  c->horizon = TIME_T_TO_CDTIME_T(24 * 3600);
  c->max_buckets = 96;
}

void gen_interval_config_release(gen_interval_config_t *c) {
  free(c->state_dir);
  c->state_dir = NULL;
}

static int granularity_key(gen_org_t *org, const oconfig_item_t *ci,
                           gen_interval_config_t *c) {
  char *text = NULL;
  int64_t ms = 0;
  int status = gen_config_string(org, ci, &text);
  if (status != 0)
    return status;
  if (gen_duration_parse(text, &ms) != 0 || ms < 60000 || ms > 3600000 ||
      3600000 % ms != 0) {
    gen_config_error(org, ci,
                     "want an ISO-8601 duration from PT1M to PT1H that "
                     "divides an hour (PT1M, PT5M, PT15M, PT30M, PT1H, …)");
    status = -EINVAL;
  } else {
    c->granularity_ms = ms;
  }
  free(text);
  return status;
}

int gen_interval_config_key(gen_org_t *org, const oconfig_item_t *ci,
                            gen_interval_config_t *c) {
  if (strcasecmp(ci->key, "Granularity") == 0)
    return granularity_key(org, ci, c);
  if (strcasecmp(ci->key, "SettleDelay") == 0)
    return gen_config_seconds(org, ci, 0, 3600, &c->settle);
  if (strcasecmp(ci->key, "RevisitWindow") == 0)
    return gen_config_seconds(org, ci, 0, 7 * 86400, &c->revisit);
  if (strcasecmp(ci->key, "BackfillHorizon") == 0)
    return gen_config_seconds(org, ci, 60, 31 * 86400, &c->horizon);
  if (strcasecmp(ci->key, "InitialBackfill") == 0)
    return gen_config_seconds(org, ci, 0, 31 * 86400, &c->initial);
  if (strcasecmp(ci->key, "StateDirectory") == 0)
    return gen_config_string(org, ci, &c->state_dir);
  if (strcasecmp(ci->key, "MaxBucketsPerQuery") == 0)
    return gen_config_int(org, ci, 1, 10000, &c->max_buckets);
  return GEN_CONFIG_NOT_MINE;
}

gen_interval_t *gen_interval_config_engine(const gen_interval_config_t *c,
                                           const char *stem, const char *org,
                                           const char *suffix,
                                           const char *log_prefix) {
  char dir[PATH_MAX], path[PATH_MAX], safe[DATA_MAX_NAME_LEN];
  if (c->state_dir != NULL)
    sstrncpy(dir, c->state_dir, sizeof(dir));
  else
    gen_state_default_dir(dir, sizeof(dir));
  gen_sanitize_name(org, safe, sizeof(safe));
  if (snprintf(path, sizeof(path), "%s/%s-%s%s.json", dir, stem, safe,
               suffix) >= (int)sizeof(path)) {
    GEN_ERROR("%s: StateDirectory is too long", log_prefix);
    return NULL;
  }
  int status = gen_state_mkdir(dir);
  if (status != 0) {
    GEN_ERROR("%s: StateDirectory %s: %s", log_prefix, dir,
              gen_strerror(status));
    return NULL;
  }
  /* Called from an init callback: the ordered dispatch of the buckets
   * (gen_interval_apply) sees values leave after every write plugin. */
  if ((status = gen_dispatch_order_init()) != 0)
    GEN_WARNING("%s: values of one series may be written out of order "
                "during a backfill: %s",
                log_prefix, gen_strerror(status));
  gen_interval_options_t options = {
      .granularity_ms = c->granularity_ms,
      .settle_ms = (int64_t)CDTIME_T_TO_MS(c->settle),
      .revisit_ms = (int64_t)CDTIME_T_TO_MS(c->revisit),
      .horizon_ms = (int64_t)CDTIME_T_TO_MS(c->horizon),
      .initial_ms = (int64_t)CDTIME_T_TO_MS(c->initial),
      .max_buckets = (size_t)c->max_buckets,
      .state_path = path,
      .log_prefix = log_prefix,
  };
  if (options.horizon_ms < c->granularity_ms)
    options.horizon_ms = c->granularity_ms;
  gen_interval_t *engine = gen_interval_create(&options);
  if (engine == NULL)
    GEN_ERROR("%s: cannot set up the interval engine (state file %s)",
              log_prefix, path);
  return engine;
}

int gen_interval_answer_bucket(json_object *bucket,
                               const gen_interval_range_t *range,
                               int64_t granularity_ms, int64_t *start_ms,
                               char *err, size_t err_size) {
  const char *interval = gen_json_get_string(bucket, "interval");
  int64_t end;
  if (interval == NULL || gen_interval_parse(interval, start_ms, &end) != 0 ||
      *start_ms < range->start_ms || end > range->end_ms ||
      *start_ms % granularity_ms != 0) {
    snprintf(err, err_size, "a bucket of the answer is not in %s: %s",
             "the range asked for", interval ? interval : "(none)");
    return -EINVAL;
  }
  return 0;
}

void gen_interval_dispatch_self(const char *host, const char *plugin,
                                const gen_interval_stats_t *st,
                                uint64_t queries, uint64_t failures) {
  int64_t now = gen_cdtime_to_ms(cdtime());
  struct {
    const char *type;
    bool derive, present;
    double value;
  } self[] = {
      {"analytics_queries", true, true, (double)queries},
      {"analytics_query_failures", true, true, (double)failures},
      {"buckets_dispatched", true, true, (double)st->buckets_dispatched},
      {"buckets_backfilled", true, true, (double)st->buckets_backfilled},
      {"bucket_revisions", true, true, (double)st->revisions},
      {"gap_buckets", true, true, (double)st->gap_buckets},
      {"lag", false, st->done_until_ms > 0,
       (double)(now - st->done_until_ms) / 1000.0},
      {"last_success_age", false, st->last_commit_ms > 0,
       (double)(now - st->last_commit_ms) / 1000.0},
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(self); i++) {
    if (self[i].present)
      gen_dispatch_self(host, plugin, self[i].type, NULL, self[i].derive,
                        self[i].value);
  }
}

int gen_interval_collect(const gen_interval_job_t *job,
                         const char *const *scopes, size_t n, int max_ranges) {
  gen_interval_t *engine = job->engine;
  gen_client_t *client = job->client;
  gen_interval_counts_t *counts = job->counts;
  const gen_interval_query_t *query = job->query;
  for (int round = 0; round < max_ranges; round++) {
    int64_t now = gen_cdtime_to_ms(cdtime());
    gen_interval_range_t range;
    int status = gen_interval_plan(engine, scopes, n, now, &range);
    if (status <= 0)
      return status;
    json_object *body = query->body(query->ud, scopes, n, &range);
    json_object *doc = NULL;
    char err[512] = "";
    counts->queries++;
    status = gen_http_post_json(client->http, query->path, body, &doc, err,
                                sizeof(err));
    json_object_put(body);
    if (status == 0)
      status = gen_interval_apply(job, scopes, n, &range, now, doc, err,
                                  sizeof(err));
    else
      gen_interval_abort(engine);
    json_object_put(doc);
    if (status != 0) {
      if (status == -EINVAL || status == GEN_HTTP_ERR_JSON)
        atomic_fetch_add(&client->stats.malformed, 1);
      counts->failures++;
      if (query->family != NULL &&
          gen_client_family(client, query->family, status, err, query->still))
        return status;
      char text[GEN_INTERVAL_STRLEN];
      gen_interval_format(range.start_ms, range.end_ms, text, sizeof(text));
      gen_log_limited(&counts->complain, LOG_ERR,
                      "%s: %s for %s failed (asked for again next cycle): %s",
                      counts->log_prefix, query->what, text, err);
      return status;
    }
    if (query->family != NULL)
      gen_client_family(client, query->family, 0, NULL, NULL);
  }
  return 0;
}

bool gen_interval_value_find(const gen_interval_value_t *v, size_t n,
                             const char *name, double *out) {
  for (size_t i = 0; name != NULL && i < n; i++)
    if (strcmp(v[i].name, name) == 0) {
      *out = v[i].value;
      return true;
    }
  return false;
}

json_object *gen_interval_query_new(const gen_interval_range_t *range,
                                    int64_t granularity_ms,
                                    const char *const *group_by, size_t n) {
  json_object *body = json_object_new_object();
  char text[GEN_INTERVAL_STRLEN];
  gen_interval_format(range->start_ms, range->end_ms, text, sizeof(text));
  json_object_object_add(body, "interval", json_object_new_string(text));
  gen_duration_format(granularity_ms, text, sizeof(text));
  json_object_object_add(body, "granularity", json_object_new_string(text));
  json_object_object_add(body, "timeZone", json_object_new_string("UTC"));
  json_object *dimensions = json_object_new_array();
  for (size_t i = 0; i < n; i++)
    json_object_array_add(dimensions, json_object_new_string(group_by[i]));
  json_object_object_add(body, "groupBy", dimensions);
  return body;
}

static int take_results(gen_interval_t *engine, json_object *doc,
                        const gen_interval_range_t *range,
                        int64_t granularity_ms,
                        const gen_interval_reader_t *reader, size_t *skipped,
                        char *err, size_t err_size) {
  json_object *results = NULL;
  *skipped = 0;
  if (!json_object_is_type(doc, json_type_object) ||
      (json_object_object_get_ex(doc, "results", &results) &&
       !json_object_is_type(results, json_type_array))) {
    snprintf(err, err_size, "the answer is not an aggregates response");
    return -EINVAL;
  }
  /* No "results": nothing happened in these entities in the range. */
  size_t len = results ? json_object_array_length(results) : 0;
  for (size_t r = 0; r < len; r++) {
    json_object *result = json_object_array_get_idx(results, r);
    char key[600];
    const char *scope = NULL;
    if (!reader->group(reader->ud, gen_json_get_object(result, "group"), &scope,
                       key, sizeof(key))) {
      (*skipped)++;
      continue;
    }
    json_object *data = gen_json_get_array(result, "data");
    size_t n_data = data ? json_object_array_length(data) : 0;
    for (size_t d = 0; d < n_data; d++) {
      json_object *bucket = json_object_array_get_idx(data, d);
      int64_t start;
      if (gen_interval_answer_bucket(bucket, range, granularity_ms, &start, err,
                                     err_size) != 0)
        return -EINVAL;
      const gen_interval_value_t *v = NULL;
      size_t n = 0;
      *skipped += reader->values(reader->ud, key,
                                 gen_json_get_array(bucket, "metrics"), &v, &n);
      int status = gen_interval_put(engine, scope, key, start, v, n);
      if (status != 0) {
        snprintf(err, err_size, "cannot record a bucket: %s",
                 gen_strerror(status));
        return status;
      }
    }
  }
  return 0;
}

int gen_interval_take(gen_interval_t *engine, gen_client_t *client,
                      gen_interval_counts_t *counts, json_object *doc,
                      const gen_interval_range_t *range, int64_t granularity_ms,
                      const gen_interval_reader_t *reader, char *err,
                      size_t err_size) {
  size_t skipped = 0;
  int status = take_results(engine, doc, range, granularity_ms, reader,
                            &skipped, err, err_size);
  if (skipped > 0) {
    atomic_fetch_add(&client->stats.malformed, 1);
    gen_log_limited(&counts->complain, LOG_WARNING,
                    "%s: %zu groups or metrics of an answer to the %s were not "
                    "usable and were skipped",
                    counts->log_prefix, skipped, reader->what);
  }
  return status;
}

gen_interval_query_t gen_interval_query_make(const char *path, const char *what,
                                             int64_t granularity_ms,
                                             gen_interval_body_fn body,
                                             gen_interval_group_fn group,
                                             gen_interval_values_fn values,
                                             void *ud) {
  return (gen_interval_query_t){
      .path = path,
      .what = what,
      .granularity_ms = granularity_ms,
      .body = body,
      .reader = {.group = group, .values = values, .what = what, .ud = ud},
      .ud = ud};
}

int gen_interval_apply(const gen_interval_job_t *job, const char *const *scopes,
                       size_t n, const gen_interval_range_t *range, int64_t now,
                       json_object *doc, char *err, size_t err_size) {
  const gen_interval_query_t *query = job->query;
  int status = query->prepare != NULL
                   ? query->prepare(query->ud, doc, err, err_size)
                   : 0;
  if (status == 0)
    status =
        gen_interval_take(job->engine, job->client, job->counts, doc, range,
                          query->granularity_ms, &query->reader, err, err_size);
  if (status != 0) {
    gen_interval_abort(job->engine);
    return status;
  }
  gen_dispatch_order_begin();
  gen_interval_commit(job->engine, scopes, n, range, now, job->sink);
  gen_dispatch_order_end();
  return 0;
}

void gen_interval_dispatch(const char *host, const char *plugin,
                           const char *plugin_instance, const char *type,
                           const char *type_instance, bool derive, double value,
                           int64_t at_ms, int64_t granularity_ms) {
  gen_ident_t id = {.host = host,
                    .plugin = plugin,
                    .plugin_instance = plugin_instance,
                    .type = type,
                    .type_instance = type_instance};
  gen_dispatch_number(&id, derive, value, gen_ms_to_cdtime(at_ms),
                      MS_TO_CDTIME_T(granularity_ms));
}
