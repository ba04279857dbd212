/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a standby per shard through etcd (see gen_standby.h):
 * the election (a lease, the key taken when absent, the fence), through
 * etcd's JSON gateway (gen_etcd); the state copy is gen_standby_copy.c.
 */
#include "gen_dispatch.h"
#include "gen_json.h"
#include "gen_notice.h"
#include "gen_standby_private.h"
#include "gen_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 1000
/* A read copies pieces for at most this long; a copy that needs more goes
 * on at the next reads, its manifest moved when every piece is in. */
#define COPY_SLICE TIME_T_TO_CDTIME_T(10)

/* ---- the key ------------------------------------------------------------ */

/* The lease's TTL granted or kept alive (0: gone), -1 on an error. */
static int64_t lease_call(gen_standby_t *s, const char *path, int64_t *lease,
                          char *why, size_t why_size) {
  char body[128];
  if (*lease == 0)
    snprintf(body, sizeof(body), "{\"TTL\":\"%d\"}", s->ttl_s);
  else
    snprintf(body, sizeof(body), "{\"ID\":\"%lld\"}", (long long)*lease);
  json_object *answer;
  if (gen_etcd_post(s->etcd, path, body, &answer, why, why_size) != 0)
    return -1;
  /* keepalive's answer is one message of a stream: {"result": {…}} */
  json_object *result = gen_json_get_object(answer, "result");
  json_object *r = result != NULL ? result : answer;
  if (*lease == 0)
    *lease = gen_etcd_num(r, "ID");
  int64_t ttl = gen_etcd_num(r, "TTL");
  json_object_put(answer);
  return ttl;
}

/* Creates the key bound to the lease when it is absent. 1 taken (or the
 * key is still the one this agent created, bound to lease: its lease
 * outlived an outage of etcd), 0 held by another (s->holder named), -1 on
 * an error. */
static int try_take(gen_standby_t *s, int64_t lease, char *why,
                    size_t why_size) {
  gen_buf_t body = GEN_BUF_INIT(8192);
  gen_buf_add_str(&body, "{\"compare\":[{\"key\":\"");
  gen_etcd_add_b64(&body, s->key);
  gen_buf_add_str(&body, "\",\"target\":\"CREATE\",\"create_revision\":\"0\"}],"
                         "\"success\":[{\"request_put\":{\"key\":\"");
  gen_etcd_add_b64(&body, s->key);
  gen_buf_add_str(&body, "\",\"value\":\"");
  gen_etcd_add_b64(&body, s->name);
  gen_buf_add_str(&body, "\",\"lease\":\"");
  gen_buf_add_int64(&body, lease);
  gen_buf_add_str(&body, "\"}}],\"failure\":[{\"request_range\":{\"key\":\"");
  gen_etcd_add_b64(&body, s->key);
  int status = gen_buf_add_str(&body, "\"}}]}");
  json_object *answer = NULL;
  if (status == 0)
    status =
        gen_etcd_post(s->etcd, "/v3/kv/txn", body.data, &answer, why, why_size);
  free(body.data);
  if (status != 0)
    return -1;
  int taken = gen_etcd_succeeded(answer);
  if (taken) {
    pthread_mutex_lock(&s->lock);
    s->create_rev =
        gen_etcd_num(gen_json_get_object(answer, "header"), "revision");
    pthread_mutex_unlock(&s->lock);
  } else {
    /* failure: [{"response_range": {"kvs": [{"value": base64}]}}] */
    json_object *responses = gen_json_get_array(answer, "responses");
    json_object *range =
        responses != NULL && json_object_array_length(responses) > 0
            ? gen_json_get_object(json_object_array_get_idx(responses, 0),
                                  "response_range")
            : NULL;
    char *holder = gen_etcd_first_value(range, NULL);
    json_object *kvs = gen_json_get_array(range, "kvs");
    json_object *kv = kvs != NULL && json_object_array_length(kvs) > 0
                          ? json_object_array_get_idx(kvs, 0)
                          : NULL;
    pthread_mutex_lock(&s->lock);
    /* a create revision is the key's one creation: the same, and the key
     * is still this agent's, bound to the lease just renewed */
    taken = kv != NULL && s->create_rev != 0 &&
            gen_etcd_num(kv, "create_revision") == s->create_rev &&
            gen_etcd_num(kv, "lease") == lease;
    pthread_mutex_unlock(&s->lock);
    if (taken) {
      gen_log_org(&s->who, NULL, LOG_NOTICE,
                  "the key is still this agent's: its lease outlived etcd's "
                  "outage");
      free(holder);
      json_object_put(answer);
      return 1;
    }
    pthread_mutex_lock(&s->lock);
    bool changed = strcmp(s->holder, holder ? holder : "?") != 0;
    snprintf(s->holder, sizeof(s->holder), "%s", holder ? holder : "?");
    pthread_mutex_unlock(&s->lock);
    if (changed)
      gen_log_org(&s->who, NULL, LOG_INFO,
                  "standing by: agent \"%s\" holds shard %s",
                  holder ? holder : "?", s->key);
    free(holder);
  }
  json_object_put(answer);
  return taken;
}

/* ---- the election ------------------------------------------------------- */

/* message logged at level, and a notification of severity. */
static void notify(gen_standby_t *s, int level, int severity,
                   const char *message) {
  gen_log_org(&s->who, NULL, level, "%s", message);
  notification_t n = {.severity = severity, .time = cdtime()};
  gen_sanitize_name(s->host[0] ? s->host : hostname_g, n.host, sizeof(n.host));
  sstrncpy(n.plugin, s->plugin, sizeof(n.plugin));
  sstrncpy(n.plugin_instance, "standby", sizeof(n.plugin_instance));
  sstrncpy(n.type, "standby_holding", sizeof(n.type));
  sstrncpy(n.message, message, sizeof(n.message));
  plugin_dispatch_notification(&n);
}

static void lose(gen_standby_t *s, const char *why) {
  gen_dispatch_fence(s->host, s->plugin, 0);
  atomic_store(&s->fence, 0);
  atomic_store(&s->holding, false);
  char message[2048];
  snprintf(message, sizeof(message),
           "agent \"%s\" no longer holds shard %s: %s; its values stopped",
           s->name, s->key, why);
  notify(s, LOG_WARNING, NOTIF_WARNING, message);
}

/* This agent held the shard and stopped the org's values because etcd was
 * out of reach past its fence (stop), or etcd answers again and holder
 * (this agent, or another) holds the shard: said once per change
 * (gen_notice, FAILURE then OKAY) and in the self-metric standby_stopped.
 * An etcd cluster out of reach stops every agent's collection. */
static void etcd_stopped(gen_standby_t *s, bool stop, const char *text) {
  if (atomic_exchange(&s->stopped, stop) == stop)
    return;
  gen_log_org(&s->who, NULL, stop ? LOG_ERR : LOG_NOTICE, "%s", text);
  gen_notice(s->notices, "standby", "standby_stopped", s->org, stop,
             NOTIF_FAILURE, "%s", text);
}

static void hold(gen_standby_t *s, cdtime_t fence) {
  gen_dispatch_fence(s->host, s->plugin, fence);
  atomic_store(&s->fence, fence);
  atomic_store(&s->holding, true);
  atomic_fetch_add(&s->takeovers, 1);
  char message[2048];
  pthread_mutex_lock(&s->lock);
  snprintf(message, sizeof(message), "agent \"%s\" holds shard %s (before: %s)",
           s->name, s->key, s->holder[0] ? s->holder : "nobody seen");
  snprintf(s->holder, sizeof(s->holder), "%s", s->name);
  pthread_mutex_unlock(&s->lock);
  notify(s, LOG_NOTICE, NOTIF_OKAY, message);
}

/* Sleeps ms unless stopped; true when stopped. On CLOCK_MONOTONIC (the
 * condition's clock): a step of the wall clock back must not hold the
 * renewals back past the fence. */
bool gen_standby_pause(gen_standby_t *s, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L)
    until.tv_sec++, until.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&s->lock);
  while (!s->stop &&
         pthread_cond_timedwait(&s->cond, &s->lock, &until) != ETIMEDOUT)
    ;
  bool stop = s->stop;
  pthread_mutex_unlock(&s->lock);
  return stop;
}

/* The fence: one second before the lease can expire, counted from the
 * moment the request that granted or renewed it was sent (etcd starts the
 * TTL later, when it receives it), on gen_lease_clock: a clock that stops
 * while the host is suspended (CLOCK_MONOTONIC) would leave a holder
 * resumed from a suspend believing it holds for up to its TTL while the
 * other agent already does. */
static cdtime_t fence_of(cdtime_t sent, int64_t ttl) {
  return sent + TIME_T_TO_CDTIME_T(ttl) - TIME_T_TO_CDTIME_T(1);
}

void gen_standby_elect(gen_standby_t *s, gen_standby_elect_t *st) {
  char why[512];
  cdtime_t sent = gen_lease_clock();
  bool holding = atomic_load(&s->holding);
  int64_t ttl =
      lease_call(s, st->lease == 0 ? "/v3/lease/grant" : "/v3/lease/keepalive",
                 &st->lease, why, sizeof(why));
  st->renewed = ttl > 0;
  if (holding) {
    if (ttl > 0) {
      gen_dispatch_fence(s->host, s->plugin, fence_of(sent, ttl));
      atomic_store(&s->fence, fence_of(sent, ttl));
    } else if (ttl == 0) {
      st->lease = 0;
      lose(s, "its lease expired");
    } else if (gen_lease_clock() >= atomic_load(&s->fence)) {
      /* the lease kept: an etcd that answers again may still have it (a
       * restarted one keeps it a TTL more), and the key with it */
      lose(s, why);
      char text[1024];
      snprintf(text, sizeof(text),
               "agent \"%s\" stopped collecting the org: etcd out of "
               "reach past its lease (%s); only an agent that reaches etcd "
               "collects it",
               s->name, why);
      etcd_stopped(s, true, text);
    } else
      gen_log_org(
          &s->who, &s->complain, LOG_WARNING,
          "etcd: lease not renewed (%s); values stop in %.1f s unless it is",
          why, CDTIME_T_TO_DOUBLE(atomic_load(&s->fence) - gen_lease_clock()));
    return;
  }
  if (ttl <= 0) { /* a waiting lease expired, or etcd is out of reach */
    if (ttl < 0)
      gen_log_org(&s->who, &s->complain, LOG_WARNING, "etcd: %s", why);
    if (ttl == 0 || !atomic_load(&s->stopped))
      st->lease = 0; /* a stopped holder's is kept until etcd says it is gone */
    return;
  }
  pthread_mutex_lock(&s->lock);
  s->lease = st->lease;
  pthread_mutex_unlock(&s->lock);
  int taken = try_take(s, st->lease, why, sizeof(why));
  if (taken < 0)
    gen_log_org(&s->who, &s->complain, LOG_WARNING, "etcd: %s", why);
  else if (taken == 1)
    hold(s, fence_of(sent, ttl));
  char holder[256];
  pthread_mutex_lock(&s->lock);
  sstrncpy(holder, s->holder, sizeof(holder));
  pthread_mutex_unlock(&s->lock);
  /* resumed once a holder is known: not this agent's own key of before
   * the outage (a restarted etcd keeps its lease one TTL more) */
  if (atomic_load(&s->stopped) &&
      (taken == 1 || (taken == 0 && strcmp(holder, s->name) != 0))) {
    char text[1024];
    snprintf(text, sizeof(text),
             "etcd answers again: agent \"%s\" collects the org", holder);
    etcd_stopped(s, false, text);
  }
}

static void *election(void *arg) {
  gen_standby_t *s = arg;
  gen_standby_elect_t st = {.renewed = true};
  /* the holder renews every third of the TTL, and a second after a renewal
   * that failed: its fence closes a second before the lease can expire */
  while (!gen_standby_pause(s, atomic_load(&s->holding) && st.renewed
                                   ? s->ttl_s * 1000L / 3
                                   : POLL_MS))
    gen_standby_elect(s, &st);
  return NULL;
}

gen_standby_t *gen_standby_new(const gen_org_t *org, const char *plugin) {
  gen_standby_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  sstrncpy(s->plugin, plugin, sizeof(s->plugin));
  sstrncpy(s->org, org->name, sizeof(s->org));
  /* as the org's values carry it into gen_dispatch (gen_client_host) */
  sstrncpy(s->host, org->host ? org->host : "", sizeof(s->host));
  s->who = (gen_log_org_t){s->plugin, s->org};
  s->ttl_s = (int)CDTIME_T_TO_TIME_T(org->standby_ttl);
  s->sync_every = org->standby_sync;
  s->piece = org->standby_piece;
  s->slice = COPY_SLICE;
  s->retry_ms = 1000;
  sstrncpy(s->name, org->standby_name ? org->standby_name : hostname_g,
           sizeof(s->name));
  const char *prefix =
      org->standby_prefix ? org->standby_prefix : "/collectd-genesys";
  char root[1000];
  snprintf(root, sizeof(root), "%s/%s/%u-%u/%s/", prefix, org->name,
           org->shard_index + 1, org->shard_count, plugin);
  snprintf(s->key, sizeof(s->key), "%sholder", root);
  snprintf(s->state_prefix, sizeof(s->state_prefix), "%sstate/", root);
  snprintf(s->data_prefix, sizeof(s->data_prefix), "%sdata/", root);
  s->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  s->notices = gen_org_create(s->plugin, org->name);
  if (s->notices != NULL) {
    s->notices->notice_window = org->notice_window;
    s->notices->notices_per_minute = org->notices_per_minute;
  }
  pthread_mutex_init(&s->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&s->cond, &attr);
  pthread_condattr_destroy(&attr);
  /* a request never outlasts the lease's third: the holder must know it
   * still holds before its fence closes */
  long ms = s->ttl_s * 1000L / 3;
  char err[256] = "out of memory";
  for (int i = 0; i < 2 && s->notices != NULL; i++) {
    gen_etcd_t *e =
        gen_etcd_new(org->standby_etcd, org->standby_etcd_n, org->standby_ca,
                     org->standby_cert, org->standby_key, ms, err, sizeof(err));
    *(i == 0 ? &s->etcd : &s->copy_etcd) = e;
  }
  if (s->etcd == NULL || s->copy_etcd == NULL) {
    gen_log_org(&s->who, NULL, LOG_ERR, "etcd's client: %s", err);
    gen_standby_stop(s);
    return NULL;
  }
  return s;
}

gen_standby_t *gen_standby_start(const gen_org_t *org, const char *plugin) {
  gen_standby_t *s = gen_standby_new(org, plugin);
  /* Closed until the key is ours: nothing of the org goes out before. */
  if (s == NULL || gen_dispatch_fence(s->host, s->plugin, 0) != 0 ||
      plugin_thread_create(&s->thread, election, s, "genesys standby") != 0) {
    gen_log_org(&(gen_log_org_t){plugin, org->name}, NULL, LOG_ERR,
                "the standby cannot start");
    gen_standby_stop(s);
    return NULL;
  }
  s->started = true;
  return s;
}

int gen_standby_probe(const gen_org_t *org, const char *plugin, char *out,
                      size_t size) {
  gen_standby_t *s = gen_standby_new(org, plugin);
  if (s == NULL) {
    snprintf(out, size, "out of memory");
    return -ENOMEM;
  }
  char why[512] = "";
  json_object *answer = NULL;
  int status =
      gen_etcd_range(s->etcd, s->key, false, false, &answer, why, sizeof(why));
  if (status != 0)
    snprintf(out, size, "etcd: %s", why);
  else {
    char *holder = gen_etcd_first_value(answer, NULL);
    snprintf(out, size, "%s holds %s (this agent: \"%s\")",
             holder ? holder : "nobody", s->key, s->name);
    free(holder);
  }
  json_object_put(answer);
  gen_standby_stop(s);
  return status;
}

bool gen_standby_holding(gen_standby_t *s) {
  return atomic_load(&s->holding) && gen_lease_clock() < atomic_load(&s->fence);
}

void gen_standby_released(gen_standby_t *s) {
  gen_log_org(&s->who, NULL, LOG_INFO,
              "the org's instance is stopped; standing by");
}

void gen_standby_dispatch_self(gen_standby_t *s) {
  gen_ident_t id = {.plugin = s->plugin,
                    .plugin_instance = "standby",
                    .type_instance = s->org};
  id.type = "standby_holding";
  gen_dispatch_number(&id, false, gen_standby_holding(s) ? 1 : 0, 0, 0);
  id.type = "standby_takeovers";
  gen_dispatch_number(&id, true, (double)atomic_load(&s->takeovers), 0, 0);
  id.type = "standby_fenced";
  gen_dispatch_number(&id, true,
                      (double)gen_dispatch_fenced(s->host, s->plugin), 0, 0);
  id.type = "standby_sync_failed";
  gen_dispatch_number(&id, true, (double)atomic_load(&s->sync_failed), 0, 0);
  id.type = "standby_copied_bytes";
  gen_dispatch_number(&id, true, (double)atomic_load(&s->copied_bytes), 0, 0);
  id.type = "standby_stopped";
  gen_dispatch_number(&id, false, atomic_load(&s->stopped) ? 1 : 0, 0, 0);
  gen_notices_flush(s->notices); /* held back by the org's limits */
}

void gen_standby_stop(gen_standby_t *s) {
  if (s == NULL)
    return;
  if (s->started) {
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
  }
  if (atomic_load(&s->holding)) {
    /* handed over at once rather than after the TTL */
    int64_t lease = s->lease;
    char why[512];
    gen_dispatch_fence(s->host, s->plugin, 0);
    if (lease_call(s, "/v3/lease/revoke", &lease, why, sizeof(why)) < 0)
      gen_log_org(&s->who, NULL, LOG_WARNING,
                  "etcd: the lease is not revoked (%s): the other agent "
                  "takes over once it expires",
                  why);
  }
  gen_etcd_free(s->etcd);
  gen_etcd_free(s->copy_etcd);
  gen_org_free(s->notices);
  gen_standby_copy_free(s);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->cond);
  free(s);
}
