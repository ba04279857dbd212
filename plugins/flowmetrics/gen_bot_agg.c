/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the bot aggregates of genesys_flowmetrics (see
 * gen_bot_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_bot_agg.h"
#include "gen_config.h"
#include "gen_json.h"

#include <errno.h>
#include <stdlib.h>

enum { GROUP_BOT };

#define COUNT(n, a, bucket, total)                                             \
  {                                                                            \
    .name = n, .api = a, .kind = GEN_AGG_COUNT, .group = GROUP_BOT,            \
    .bucket_type = bucket, .total_type = total                                 \
  }
#define DURATION(n, a)                                                         \
  { .name = n, .api = a, .kind = GEN_AGG_DURATION, .group = GROUP_BOT }
/* The metric catalogue (gen_aggregates): our name (the engine value names
 * in the state files), API metric, kind, and the types of counts. The t
 * metrics' count is the sessions that ended so; their times ride along. */
static const gen_agg_metric_t metrics[] = {
    COUNT("bot_sessions", "nBotSessions", "bot_sessions", "total_bot_sessions"),
    DURATION("bot_session", "tBotSession"),
    DURATION("bot_exit", "tBotExit"),
    DURATION("bot_disconnect", "tBotDisconnect"),
    DURATION("bot_recognition_failure", "tBotRecognitionFailure"),
    COUNT("bot_queries", "oBotSessionQuery", "bot_queries",
          "total_bot_queries"),
    COUNT("bot_queries_self_served", "oBotSessionQuerySelfServed",
          "bot_queries_self_served", "total_bot_queries_self_served"),
};
/* A bot with sessions in a bucket and no question self-served has 0. */
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = true};

/* One request over range for every bot (no predicate: the query has no
 * queue and we list no bots), grouped by bot. */
static json_object *query_body(void *ud, const char *const *ids, size_t n,
                               const gen_interval_range_t *range) {
  static const char *const group_by[] = {"botId"};
  const gen_bot_agg_t *ba = ud;
  (void)ids;
  (void)n;
  json_object *body = gen_agg_query_new(range, ba->granularity_ms, group_by,
                                        STATIC_ARRAY_SIZE(group_by));
  json_object_object_add(body, "metrics",
                         gen_agg_metrics_json(&catalogue, NULL, -1));
  return body;
}

typedef struct {
  const char *id;
  double sessions;
} bot_total_t;

static int by_id(const void *a, const void *b) {
  return strcmp(((const bot_total_t *)a)->id, ((const bot_total_t *)b)->id);
}

/* Most sessions first, then the smaller botId: the same answer keeps the
 * same bots. */
static int by_sessions(const void *a, const void *b) {
  const bot_total_t *x = a, *y = b;
  if (x->sessions != y->sessions)
    return x->sessions > y->sessions ? -1 : 1;
  return strcmp(x->id, y->id);
}

/* The nBotSessions of one result, over its buckets. */
static double result_sessions(const gen_agg_result_t *r) {
  double sum = 0;
  for (size_t b = 0; b < r->n; b++)
    for (size_t i = 0; i < r->b[b].metrics.n; i++) {
      const gen_agg_entry_t *e = &r->b[b].metrics.e[i];
      if (e->metric != NULL && strcmp(e->metric, "nBotSessions") == 0 &&
          (e->have & (1u << GEN_AGG_STAT_COUNT)))
        sum += e->stat[GEN_AGG_STAT_COUNT];
    }
  return sum;
}

/* The bots of res[len] that keep their own series, sorted by id in *kept
 * (*n_kept of them; NULL when every bot does). 0 or -ENOMEM. */
static int top_bots(const gen_agg_result_t *res, size_t len, size_t max,
                    bot_total_t **kept, size_t *n_kept) {
  *kept = NULL;
  *n_kept = 0;
  bot_total_t *t = calloc(len ? len : 1, sizeof(*t));
  if (t == NULL)
    return -ENOMEM;
  size_t n = 0;
  for (size_t r = 0; r < len; r++) {
    const char *id = gen_agg_group_get(&res[r].group, "botId");
    if (id != NULL)
      t[n++] = (bot_total_t){id, result_sessions(&res[r])};
  }
  qsort(t, n, sizeof(*t), by_id);
  size_t u = 0; /* one per bot */
  for (size_t i = 0; i < n; i++) {
    if (u > 0 && strcmp(t[u - 1].id, t[i].id) == 0)
      t[u - 1].sessions += t[i].sessions;
    else
      t[u++] = t[i];
  }
  if (u <= max) {
    free(t);
    return 0;
  }
  qsort(t, u, sizeof(*t), by_sessions);
  qsort(t, max, sizeof(*t), by_id);
  *kept = t;
  *n_kept = max;
  return 0;
}

/* The questions of an oBotSessionQuery[SelfServed] entry are its sum (the
 * count is of sessions: tests/sim/README.md, Bots); an entry without a sum
 * keeps its count. Any other entry as it is. */
static gen_agg_entry_t questions(const gen_agg_entry_t *in) {
  gen_agg_entry_t e = *in;
  if (e.metric != NULL && strncmp(e.metric, "oBotSessionQuery", 16) == 0 &&
      (e.have & (1u << GEN_AGG_STAT_SUM))) {
    e.stat[GEN_AGG_STAT_COUNT] = e.stat[GEN_AGG_STAT_SUM];
    e.have |= 1u << GEN_AGG_STAT_COUNT;
  }
  return e;
}

int gen_bot_agg_normalize(gen_agg_answer_t *a, size_t max_bots) {
  static const char *const dims[] = {"botId"};
  const gen_agg_result_t *res;
  size_t len = gen_agg_answer_results(a, &res);
  bot_total_t *kept;
  size_t n_kept;
  int status = top_bots(res, len, max_bots, &kept, &n_kept);
  if (status != 0)
    return status;
  gen_agg_answer_begin(a);
  for (size_t r = 0; status == 0 && r < len; r++) {
    const gen_agg_group_t *g = &res[r].group;
    const char *id = gen_agg_group_get(g, "botId");
    bot_total_t probe = {id, 0};
    bool other = id != NULL && kept != NULL &&
                 bsearch(&probe, kept, n_kept, sizeof(*kept), by_id) == NULL;
    status = gen_agg_answer_add_result(a, g->object);
    for (size_t d = 0; status == 0 && d < g->n; d++) {
      gen_agg_dim_t dim = g->d[d];
      if (other && strcmp(dim.name, "botId") == 0)
        dim = (gen_agg_dim_t){.name = dim.name, .value = GEN_BOT_AGG_OTHER};
      status = gen_agg_answer_add_dim(a, &dim);
    }
    for (size_t b = 0; status == 0 && b < res[r].n; b++) {
      const gen_agg_metrics_t *m = &res[r].b[b].metrics;
      status = gen_agg_answer_add_bucket(a, res[r].b[b].interval);
      for (size_t i = 0; status == 0 && i < m->n; i++) {
        gen_agg_entry_t e = questions(&m->e[i]);
        status = gen_agg_answer_add_entry(a, &e);
      }
    }
  }
  free(kept);
  if (status != 0)
    return status; /* a unchanged: never ended */
  gen_agg_answer_end(a);
  if (n_kept == 0)
    return 0; /* every bot its own: nothing to fold */
  return gen_agg_fold_groups(a, dims, STATIC_ARRAY_SIZE(dims), NULL, 0);
}

static int prepare(void *ud, gen_agg_answer_t *a, char *err, size_t err_size) {
  const gen_bot_agg_t *ba = ud;
  int status = gen_bot_agg_normalize(a, ba->max_bots);
  if (status != 0)
    snprintf(err, err_size, "cannot fold bot groups: %s", gen_strerror(status));
  return status;
}

/* Engine key of a result group: "B", botId; every bot in the one scope. */
static bool answer_group(void *ud, const gen_agg_group_t *group,
                         const char **scope, gen_key_t *key) {
  (void)ud;
  const char *bot_id = gen_agg_group_get(group, "botId");
  if (bot_id == NULL)
    return false;
  *scope = GEN_BOT_AGG_SCOPE;
  *key = (gen_key_t){{"B", bot_id}, 0};
  return true;
}

/* The series of an engine key: "bot-<botId>" in plugin_instance (bots are
 * not listed: their ids name them, apart from the flows'). */
static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  (void)ud;
  gen_agg_label_id(out, "bot-", key->str[1], GROUP_BOT);
}

gen_agg_query_t gen_bot_agg_query(gen_bot_agg_t *ba) {
  gen_agg_query_t q =
      gen_agg_query_make(GEN_BOT_AGG_PATH, "bots aggregates query", &catalogue,
                         ba->granularity_ms, query_body, answer_group, ba);
  q.out.host = gen_client_host(ba->client);
  q.out.plugin = ba->plugin;
  q.out.label = label;
  q.prepare = prepare;
  q.family = "bot aggregates";
  q.still = "the flow values";
  return q;
}

static const gen_config_def_t bot_agg_defs[] = {
    GEN_KEY_BOOL("BotAggregates", gen_bot_agg_config_t, on, false,
                 "bot sessions, exits, disconnects and self-service per "
                 "interval"),
    GEN_KEY_INT("MaxBots", gen_bot_agg_config_t, max_bots, 1, 10000, 50,
                "bots with their own series; the rest summed into other"),
};

const gen_config_table_t gen_bot_agg_keys = GEN_CONFIG_TABLE(bot_agg_defs);
