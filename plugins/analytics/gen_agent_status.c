/* SPDX-License-Identifier: MIT */
/* Agent time in status: the users aggregates query, its sums, their
 * collection and dispatch. */
#include "collectd/core/daemon/collectd.h"

#include "gen_agent_status.h"

#include "gen_http.h"
#include "gen_interval_config.h"
#include "gen_json.h"
#include "gen_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static const char *const kinds[2] = {"routing", "presence"};
static const char *const metrics[2] = {"tAgentRoutingStatus",
                                       "tSystemPresence"};

static size_t sums_at(size_t b, int kind, size_t st) {
  return (b * 2 + (size_t)kind) * GEN_AGENT_STATUS_MAX + st;
}

int gen_agent_sums_init(gen_agent_sums_t *s, const gen_interval_range_t *range,
                        int64_t granularity_ms) {
  memset(s, 0, sizeof(*s));
  s->granularity_ms = granularity_ms;
  s->n_buckets = (size_t)((range->end_ms - range->start_ms) / granularity_ms);
  s->ms = calloc(s->n_buckets * 2 * GEN_AGENT_STATUS_MAX, sizeof(*s->ms));
  s->filled = calloc(s->n_buckets * 2, sizeof(*s->filled));
  return s->ms && s->filled ? 0 : -ENOMEM;
}

void gen_agent_sums_free(gen_agent_sums_t *s) {
  free(s->ms);
  free(s->filled);
  s->ms = NULL;
  s->filled = NULL;
}

/* Index of a status of a kind, added when new; -1 when the table is full. */
static ssize_t status_slot(gen_agent_sums_t *s, int kind, const char *name) {
  for (size_t i = 0; i < s->n_status[kind]; i++)
    if (strcmp(s->status[kind][i], name) == 0)
      return (ssize_t)i;
  if (s->n_status[kind] == GEN_AGENT_STATUS_MAX)
    return -1;
  snprintf(s->status[kind][s->n_status[kind]], GEN_AGENT_STATUS_LEN, "%s",
           name);
  return (ssize_t)s->n_status[kind]++;
}

json_object *gen_agent_status_body(const char *const *user_ids, size_t n,
                                   const gen_interval_range_t *range,
                                   int64_t granularity_ms) {
  static const char *const group_by[] = {"userId"};
  json_object *body = gen_agg_query_new(range, granularity_ms, group_by, 1);
  json_object *list = json_object_new_array();
  for (int k = 0; k < 2; k++)
    json_object_array_add(list, json_object_new_string(metrics[k]));
  json_object_object_add(body, "metrics", list);
  json_object_object_add(body, "filter",
                         gen_json_or_filter("userId", user_ids, n));
  return body;
}

int gen_agent_sums_take(gen_agent_sums_t *s, const char *text, size_t len,
                        const gen_interval_range_t *range, size_t *skipped,
                        char *err, size_t err_size) {
  gen_agg_answer_t *a = gen_agg_thread_answer();
  if (a == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  int status =
      gen_agg_answer_read(a, text ? text : "{}", text ? len : 2, err, err_size);
  if (status != 0)
    return status;
  const gen_agg_result_t *results;
  size_t n_results = gen_agg_answer_results(a, &results);
  int64_t g = s->granularity_ms;
  for (size_t r = 0; r < n_results; r++) {
    for (size_t d = 0; d < results[r].n; d++) {
      const gen_agg_bucket_t *bucket = &results[r].b[d];
      int64_t start;
      if (gen_agg_bucket_start(bucket->interval, range, g, &start, err,
                               err_size) != 0)
        return -EINVAL;
      size_t b = (size_t)((start - range->start_ms) / g);
      for (size_t m = 0; m < bucket->metrics.n; m++) {
        const gen_agg_entry_t *e = &bucket->metrics.e[m];
        int kind = -1;
        for (int k = 0; e->metric != NULL && k < 2; k++)
          if (strcmp(e->metric, metrics[k]) == 0)
            kind = k;
        if (kind < 0)
          continue; /* a metric we did not ask for */
        double ms = e->stat[GEN_AGG_STAT_SUM];
        ssize_t slot = -1;
        if (e->qualifier != NULL && e->qualifier[0] != '\0' &&
            strlen(e->qualifier) < GEN_AGENT_STATUS_LEN &&
            (e->have & (1u << GEN_AGG_STAT_SUM)) && ms >= 0)
          slot = status_slot(s, kind, e->qualifier);
        if (slot < 0) {
          (*skipped)++;
          continue;
        }
        /* Held to 2^53: past it the engine would refuse the bucket (and
         * the range, again and again). */
        gen_total_add(&s->ms[sums_at(b, kind, (size_t)slot)], ms);
        s->filled[b * 2 + (size_t)kind] = true;
      }
    }
  }
  return 0;
}

int gen_agent_sums_put(const gen_agent_sums_t *s, gen_interval_t *engine,
                       const char *scope, const gen_interval_range_t *range) {
  gen_interval_value_t v[GEN_AGENT_STATUS_MAX];
  for (size_t b = 0; b < s->n_buckets; b++)
    for (int kind = 0; kind < 2; kind++) {
      if (!s->filled[b * 2 + (size_t)kind])
        continue;
      size_t n = 0;
      for (size_t st = 0; st < s->n_status[kind]; st++) {
        double ms = s->ms[sums_at(b, kind, st)];
        if (ms > 0)
          v[n++] = (gen_interval_value_t){
              .name = s->status[kind][st], .value = ms, .counter = true};
      }
      gen_key_t key = {{kinds[kind]}, 0};
      int status = gen_interval_put(
          engine, scope, &key, range->start_ms + (int64_t)b * s->granularity_ms,
          v, n);
      if (status != 0)
        return status;
    }
  return 0;
}

static const gen_config_def_t agent_status_defs[] = {
    GEN_KEY_BOOL("AgentStatus", gen_agent_status_config_t, on, false,
                 "agent time in status from the users aggregates query"),
    GEN_KEY_PARSE("AgentStatusGranularity", GEN_CFG_DURATION,
                  gen_agent_status_config_t, granularity_ms,
                  gen_interval_granularity_key, "Granularity",
                  "PT1M..PT1H, dividing an hour",
                  "the buckets of agent status (ISO-8601)"),
};

const gen_config_table_t gen_agent_status_keys =
    GEN_CONFIG_TABLE(agent_status_defs);

int gen_agent_status_list_users(gen_http_t *http, const gen_org_t *org,
                                const gen_entity_set_t *kept,
                                gen_entity_set_t *users, char *err,
                                size_t err_size) {
  gen_entity_set_t inactive = {0};
  int status = gen_entity_list_ids(http, org, GEN_AGENT_STATUS_ACTIVE_PATH,
                                   users, err, err_size);
  if (status == 0)
    status = gen_entity_list_ids(http, org, GEN_AGENT_STATUS_INACTIVE_PATH,
                                 &inactive, err, err_size);
  const gen_entity_set_t *more[] = {&inactive, kept};
  for (size_t k = 0; k < 2; k++)
    for (size_t i = 0; status == 0 && more[k] != NULL && i < more[k]->count;
         i++)
      if (gen_entity_find(users, more[k]->items[i].id) < 0 &&
          gen_entity_add(users, more[k]->items[i].id, NULL, NULL) < 0)
        status = -ENOMEM;
  if (status == -ENOMEM)
    snprintf(err, err_size, "out of memory");
  gen_entity_set_free(&inactive);
  return status;
}

/* ---- dispatch ----------------------------------------------------------- */

void gen_agent_output_init(gen_agent_output_t *out, const gen_org_t *org,
                           const char *host, const char *plugin,
                           int64_t granularity_ms) {
  *out = (gen_agent_output_t){
      .host = host, .plugin = plugin, .granularity_ms = granularity_ms};
  if (org->shard_count > 1)
    snprintf(out->instance, sizeof(out->instance), "agents-%uof%u",
             org->shard_index + 1, org->shard_count);
  else
    snprintf(out->instance, sizeof(out->instance), "agents");
}

static gen_agg_series_t agent_series(const gen_agent_output_t *out) {
  return (gen_agg_series_t){out->host, out->plugin, out->instance, NULL,
                            out->granularity_ms};
}

/* The key is the status kind ("presence", "routing"). */
static void on_bucket(void *ud, const gen_key_t *key, int64_t start_ms,
                      int64_t end_ms, gen_interval_kind_t kind,
                      const gen_interval_value_t *v, size_t n) {
  gen_agg_series_t s = agent_series(ud);
  double seconds = (double)(end_ms - start_ms) / 1000.0;
  for (size_t i = 0; i < n; i++) {
    s.suffix = v[i].name;
    gen_agg_put_value(&s, "agent_time", key->str[0], false, v[i].value / 1000.0,
                      end_ms);
    gen_agg_put_value(&s, "agents_average", key->str[0], false,
                      v[i].value / 1000.0 / seconds, end_ms);
  }
}

static void on_totals(void *ud, const gen_key_t *key, int64_t at_ms,
                      const gen_interval_value_t *v, size_t n) {
  gen_agg_series_t s = agent_series(ud);
  for (size_t i = 0; i < n; i++) {
    s.suffix = v[i].name;
    gen_agg_put_value(&s, "total_agent_time_ms", key->str[0], true, v[i].value,
                      at_ms);
  }
}

gen_interval_sink_t gen_agent_status_sink(gen_agent_output_t *out) {
  return (gen_interval_sink_t){
      .bucket = on_bucket, .totals = on_totals, .ud = out};
}

/* ---- collection --------------------------------------------------------- */

void gen_agent_progress_reset(gen_agent_progress_t *p) {
  gen_agent_sums_free(&p->sums);
  *p = (gen_agent_progress_t){0};
}

/* ---- the family's reader (gen_family_ranges) ---------------------------- */

static int agent_begin(void *state, const gen_family_run_t *run,
                       const char *const *ids, size_t n, size_t batch,
                       const gen_interval_range_t *range) {
  gen_agent_reading_t *a = state;
  gen_agent_progress_t *p = &a->progress;
  gen_agent_progress_reset(p);
  if (gen_agent_sums_init(&p->sums, range, a->granularity_ms) != 0) {
    gen_agent_progress_reset(p);
    return -ENOMEM;
  }
  p->started = true;
  p->range = *range;
  p->users_count = a->users->count;
  return 0;
}

/* The range in progress, unless the users count changed since it began. */
static ssize_t agent_resumes(const void *state) {
  const gen_agent_reading_t *a = state;
  const gen_agent_progress_t *p = &a->progress;
  return p->started && p->users_count == a->users->count ? 0 : -1;
}

/* The batches of users from next_user on, while the budget lasts, summed;
 * the whole range put and committed once the last is. */
static int agent_read(void *state, const gen_family_run_t *run, size_t *spent,
                      char *err, size_t err_size) {
  gen_agent_reading_t *a = state;
  gen_agent_progress_t *p = &a->progress;
  const gen_entity_set_t *users = a->users;
  const char *ids[GEN_AGENT_STATUS_USERS_PER_QUERY];
  size_t skipped = 0;
  int status = 0;
  while (status == 0 && p->next_user < users->count) {
    size_t n = 0;
    for (size_t i = p->next_user;
         i < users->count && n < GEN_AGENT_STATUS_USERS_PER_QUERY; i++)
      ids[n++] = users->items[i].id;
    gen_http_response_t resp;
    status = gen_family_post(
        run, GEN_AGENT_STATUS_PATH,
        gen_agent_status_body(ids, n, &p->range, a->granularity_ms), spent,
        &resp, NULL, err, err_size);
    if (status == GEN_FAMILY_OUT_OF_BUDGET)
      return status;
    if (status == 0)
      status = gen_agent_sums_take(&p->sums, resp.body, resp.body_len,
                                   &p->range, &skipped, err, err_size);
    gen_http_response_recycle(run->client->http, &resp);
    if (status == 0)
      p->next_user += n;
  }
  if (skipped > 0) {
    atomic_fetch_add(&run->client->stats.malformed, 1);
    gen_log_org(run->counts->who, &run->counts->complain, LOG_WARNING,
                "%zu entries of users aggregates answers were not usable "
                "and were skipped",
                skipped);
  }
  if (status == 0)
    status = gen_agent_sums_put(&p->sums, run->engine, a->scope, &p->range);
  if (status == 0)
    gen_family_commit(run, &a->scope, 1, &p->range, a->sink);
  return status;
}

static gen_interval_range_t agent_left(const void *state) {
  return ((const gen_agent_reading_t *)state)->progress.range;
}

static void agent_end(void *state) {
  gen_agent_progress_reset(&((gen_agent_reading_t *)state)->progress);
}

/* Which granularities the users query takes is not in the public record:
 * a 400 says once what Genesys answered, whole. */
static void agent_failed(void *state, const gen_family_run_t *run, int status,
                         const char *err) {
  gen_agent_reading_t *a = state;
  if (status == GEN_HTTP_ERR_STATUS && strncmp(err, "HTTP 400", 8) == 0 &&
      !a->refusal_logged) {
    a->refusal_logged = true;
    gen_log_org(run->counts->who, NULL, LOG_ERR,
                "the users aggregates query refused buckets of %lld s "
                "(AgentStatusGranularity): %s",
                (long long)(a->granularity_ms / 1000), err);
  }
}

int gen_agent_status_collect(gen_agent_reading_t *a,
                             const gen_family_run_t *run,
                             const gen_interval_sink_t *sink,
                             uint64_t users_generation) {
  static const gen_family_reader_t reader = {.family = "agent status",
                                             .still = "queue aggregates",
                                             .query = "users aggregates query",
                                             .begin = agent_begin,
                                             .resumes = agent_resumes,
                                             .read = agent_read,
                                             .left = agent_left,
                                             .end = agent_end,
                                             .failed = agent_failed};
  a->sink = sink;
  return gen_family_ranges(run, &reader, a, run->replay ? NULL : &a->cursor,
                           NULL, 0, users_generation, a->scope);
}
