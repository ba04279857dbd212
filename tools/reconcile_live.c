/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check --reconcile, live values: for a genesys_realtime
 * <Org>, its queues listed as the plugin lists them, the observations
 * query asked as the plugin's baseline asks it and put as the plugin puts
 * it (gen_queue_state), before and after collectd's values are read. Live
 * values move between the reads, so a value agrees when collectd's lies
 * between Genesys' two answers (an age: when the instant the oldest
 * conversation entered its state does, within a second); one that does
 * not is asked about again ROUND_PAUSE_S later, and is a difference only
 * when it disagrees in every one of ROUNDS rounds. See
 * collectd-genesys-check(1), RECONCILE.
 */
#include "check.h"

#include "gen_buf.h"
#include "gen_entity.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_queue_state.h"
#include "gr_config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 3
/* Between rounds: a notification on its way (the live plugins apply them
 * within a second; Genesys sends them within seconds) has arrived. */
#define ROUND_PAUSE_S 2
#define AGE_SLACK_S 1.0 /* observationDate is in ms; the clocks' reads */
#define ID_MAX GEN_REPLAY_ID_MAX

/* One series: Genesys' answer before and after collectd's value was read,
 * and collectd's value with its time. An age is kept as the instant its
 * oldest conversation began (seconds; 0: none). */
typedef struct {
  char *id; /* the map's key */
  bool age, before_seen, after_seen, held, differs;
  double before, after, collectd, collectd_t;
} series_t;

typedef struct {
  gen_map_t by_id; /* id -> index + 1 */
  series_t *s;
  size_t n, cap;
  bool after; /* the round's second answer */
  bool oom;
} table_t;

/* What one answer of the queues makes: per queue its media and agents. */
typedef struct {
  const gen_entity_set_t *queues;
  gen_qs_media_t (*media)[GEN_MEDIA_COUNT];
  gen_qs_agents_t *agents;
  gen_presence_map_t *presences;
  cdtime_t now;
} answer_t;

static void on_group(void *ud, const char *queue_id, int media,
                     const gen_obs_item_t *items, size_t n) {
  answer_t *a = ud;
  ssize_t i = gen_entity_find(a->queues, queue_id);
  if (i < 0)
    return;
  gen_qs_report_t quiet = {0}; /* the plugin logs what it cannot read */
  if (media >= 0)
    gen_qs_apply_media(&a->media[i][media], items, n, queue_id, a->now, &quiet);
  else
    gen_qs_apply_agents(&a->agents[i], items, n, a->presences, &quiet);
}

static series_t *series(table_t *t, const char *id) {
  void *v;
  if (gen_map_find(&t->by_id, id, &v))
    return &t->s[(size_t)(uintptr_t)v - 1];
  if (gen_grow((void **)&t->s, &t->cap, t->n + 1, sizeof(*t->s), 1024) != 0) {
    t->oom = true;
    return NULL;
  }
  series_t *s = &t->s[t->n];
  *s = (series_t){.id = strdup(id)};
  if (s->id == NULL ||
      gen_map_put(&t->by_id, s->id, (void *)(uintptr_t)(t->n + 1)) != 0) {
    free(s->id);
    t->oom = true;
    return NULL;
  }
  t->n++;
  return s;
}

typedef struct {
  table_t *t;
  const char *host, *queue;
  cdtime_t now;
} put_t;

static void on_put(void *ud, const char *type, const char *type_instance,
                   double value, bool derive) {
  put_t *p = ud;
  if (derive)
    return;
  /* named as gen_dispatch names it: a queue's name "Sales EN" is
   * "Sales_EN" in collectd */
  char id[ID_MAX], queue[DATA_MAX_NAME_LEN], ti[DATA_MAX_NAME_LEN] = "";
  gen_sanitize_name(p->queue, queue, sizeof(queue));
  if (type_instance[0])
    gen_sanitize_name(type_instance, ti, sizeof(ti));
  snprintf(id, sizeof(id), "%s/genesys_realtime-%s/%s%s%s", p->host, queue,
           type, ti[0] ? "-" : "", ti);
  series_t *s = series(p->t, id);
  if (s == NULL)
    return;
  s->age = strncmp(type, "longest_", 8) == 0;
  /* an age as the instant it began, so that two reads compare */
  double v = s->age && value > 0 ? CDTIME_T_TO_DOUBLE(p->now) - value : value;
  if (p->t->after) {
    s->after = v, s->after_seen = true;
  } else {
    s->before = v, s->before_seen = true;
  }
}

/* One answer of Genesys for every queue, put into t. 0 or the failure. */
static int ask(gen_client_t *client, const gr_config_t *c,
               const gen_entity_set_t *queues, gen_presence_map_t *presences,
               const char *host, table_t *t) {
  size_t n = queues->count;
  answer_t a = {.queues = queues,
                .media = calloc(n ? n : 1, sizeof(*a.media)),
                .agents = calloc(n ? n : 1, sizeof(*a.agents)),
                .presences = presences,
                .now = cdtime()};
  int status = a.media && a.agents ? 0 : -ENOMEM;
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  gen_ratelimit_t rl = GEN_RATELIMIT_INIT(0);
  /* No absent: a media group the answer leaves out has nothing in it; the
   * plugin clears what it knew of it (zeros), and knows nothing of one it
   * never had. Either agrees with no group here (agrees()). */
  gen_qs_baseline_t cb = {.group = on_group, .ud = &a};
  const char *ids[GEN_QS_QUERY_MAX];
  for (size_t i = 0; status == 0 && i < n; i += GEN_QS_QUERY_MAX) {
    size_t k = 0;
    for (; k < GEN_QS_QUERY_MAX && i + k < n; k++)
      ids[k] = queues->items[i + k].id;
    status = gen_qs_baseline(client->http, ids, k, &lock, presences, &cb,
                             client->org, &rl);
  }
  for (size_t i = 0; status == 0 && i < n; i++) {
    put_t p = {.t = t,
               .host = host,
               .queue = gen_entity_instance(client->org, &queues->items[i]),
               .now = a.now};
    for (size_t m = 0; m < GEN_MEDIA_COUNT; m++)
      if (c->media_mask == 0 || (c->media_mask >> m) & 1u)
        gen_qs_put_media(&a.media[i][m], NULL, gen_media_names[m], a.now,
                         on_put, &p);
    gen_qs_put_agents(&a.agents[i], NULL, on_put, &p);
  }
  free(a.media);
  free(a.agents);
  return status;
}

typedef struct {
  table_t *t;
  const char *prefix;
} held_t;

static void on_listval(void *ud, double when, const char *id) {
  const held_t *h = ud;
  if (strncmp(id, h->prefix, strlen(h->prefix)) != 0)
    return;
  /* a gauge the plugin puts from the observations, not a counter */
  const char *type = strrchr(id, '/');
  static const char *const types[] = {
      "/waiting-",        "/interacting-",     "/alerting-",
      "/agents-",         "/longest_waiting-", "/longest_interacting-",
      "/agents_routing-", "/agents_presence-"};
  bool ours = false;
  for (size_t i = 0; !ours && type && i < sizeof(types) / sizeof(*types); i++)
    ours = strncmp(type, types[i], strlen(types[i])) == 0;
  series_t *s = ours ? series(h->t, id) : NULL;
  if (s != NULL) {
    s->held = true;
    s->collectd_t = when;
  }
}

/* collectd's values of the series t holds (and of those of its queues
 * collectd holds that t lacks). 0 or the failure. */
static int read_collectd(gen_replay_sock_t *sock, const char *host,
                         table_t *t) {
  char prefix[ID_MAX], err[512] = "";
  snprintf(prefix, sizeof(prefix), "%s/genesys_realtime-", host);
  for (size_t i = 0; i < t->n; i++)
    t->s[i].held = false;
  int status = reconcile_listval(sock, on_listval, &(held_t){t, prefix}, err,
                                 sizeof(err));
  for (size_t i = 0; status >= 0 && i < t->n; i++) {
    series_t *s = &t->s[i];
    reconcile_got_t g = {0};
    if (s->held)
      status = reconcile_getval(sock, s->id, &g, err, sizeof(err));
    double v = g.n > 0 ? g.v[0] : 0;
    s->held = s->held && g.n > 0;
    s->collectd = s->age && v > 0 ? s->collectd_t - v : v;
  }
  if (status < 0)
    fprintf(report_to, "reconcile: collectd: %s\n", err);
  return status < 0 ? status : 0;
}

/* Whether collectd's value lies between Genesys' answers of the round
 * (both ways: a series one side has and the other lacks disagrees). An age
 * of 0 (no conversation) has no instant: it agrees with an answer of 0. */
static bool agrees(const series_t *s) {
  double v[2];
  size_t n = 0;
  if (s->before_seen)
    v[n++] = s->before;
  if (s->after_seen)
    v[n++] = s->after;
  if (!s->held || n == 0) /* no group: nothing in it, or none known */
    return !s->held || (n == 0 && s->collectd == 0);
  double slack = s->age ? AGE_SLACK_S : 1e-9, lo = INFINITY, hi = -INFINITY;
  bool zero = false;
  for (size_t i = 0; i < n; i++) {
    if (s->age && v[i] == 0) {
      zero = true;
      continue;
    }
    lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
  }
  if (s->age && s->collectd == 0)
    return zero;
  return s->collectd >= lo - slack && s->collectd <= hi + slack;
}

static void value_text(const series_t *s, double v, double at, char *buf,
                       size_t size) {
  /* an age again as seconds, at the time it was read */
  snprintf(buf, size, "%.7g", s->age && v > 0 ? at - v : v);
}

int reconcile_live(oconfig_item_t *o, const char *default_host,
                   gen_replay_sock_t *sock) {
  const gen_history_t *h = org_parser("genesys_realtime");
  void *config = NULL;
  gen_org_t *org = org_parse(h, o, &config);
  const gr_config_t *c = config;
  char name[ORG_NAME_MAX];
  gen_client_t *client =
      org != NULL ? org_client("genesys_realtime", org, name) : NULL;
  if (client == NULL) {
    org_config_free(h, config);
    return org != NULL ? 0 : -EINVAL;
  }
  /* the org's Host as gen_dispatch names it; collectd's own name as is */
  const char *given = gen_client_host(client);
  char host[DATA_MAX_NAME_LEN];
  if (given != NULL && given[0])
    gen_sanitize_name(given, host, sizeof(host));
  else
    sstrncpy(host, default_host, sizeof(host));
  gen_entity_set_t queues = {0};
  gen_presence_map_t presences = {0};
  table_t t = {.by_id = {.kind = GEN_MAP_STR}};
  char err[512] = "";
  last_log[0] = '\0';
  int status =
      gen_entity_list(client->http, client->org, "/api/v2/routing/queues",
                      &c->filter, &queues, err, sizeof(err));
  report(name, "queue list", status, err);
  if (status == 0 &&
      gen_presence_map_list(client->http, &presences, err, sizeof(err)) != 0)
    last_log[0] = '\0'; /* the answers map presence ids too */
  size_t left = 0;
  for (int round = 0; status == 0 && round < ROUNDS; round++) {
    for (size_t i = 0; i < t.n; i++)
      t.s[i].before_seen = t.s[i].after_seen = false;
    t.after = false;
    if ((status = ask(client, c, &queues, &presences, host, &t)) != 0 ||
        (status = read_collectd(sock, host, &t)) != 0)
      break;
    t.after = true;
    if ((status = ask(client, c, &queues, &presences, host, &t)) != 0)
      break;
    left = 0;
    for (size_t i = 0; i < t.n; i++) {
      series_t *s = &t.s[i];
      if (round == 0 || s->differs) /* agreed once: agrees */
        s->differs = !agrees(s);
      left += s->differs;
    }
    if (left == 0)
      break;
    if (round + 1 < ROUNDS)
      sleep(ROUND_PAUSE_S);
  }
  if (status != 0 || t.oom) {
    report(name, "live values: reconcile", status ? status : -ENOMEM,
           last_log[0] ? last_log : err);
  } else {
    char what[64];
    snprintf(what, sizeof(what), "live values: reconcile (%zu queues)",
             queues.count);
    report(name, what, 0, NULL);
    double now = CDTIME_T_TO_DOUBLE(cdtime());
    size_t compared = 0;
    for (size_t i = 0; i < t.n; i++) {
      const series_t *s = &t.s[i];
      compared += s->held;
      if (!s->differs)
        continue;
      char have[64] = "no value", want[96] = "none", a[32], b[32];
      if (s->held)
        value_text(s, s->collectd, s->collectd_t, have, sizeof(have));
      value_text(s, s->before, now, a, sizeof(a));
      value_text(s, s->after, now, b, sizeof(b));
      if (s->before_seen && s->after_seen)
        snprintf(want, sizeof(want), "%s..%s", a, b);
      else if (s->before_seen || s->after_seen)
        snprintf(want, sizeof(want), "%s", s->before_seen ? a : b);
      reconcile_say(s->id, NULL, have, want);
    }
    reconcile_compared(compared);
  }
  gen_map_free(&t.by_id);
  for (size_t i = 0; i < t.n; i++)
    free(t.s[i].id);
  free(t.s);
  gen_presence_map_free(&presences);
  gen_entity_set_free(&queues);
  gen_client_free(client);
  org_config_free(h, config);
  return 0;
}
