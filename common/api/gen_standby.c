/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a standby per shard through etcd (see gen_standby.h).
 *
 * etcd is spoken to through its JSON gateway (POST /v3/lease/grant,
 * /v3/lease/keepalive, /v3/lease/revoke, /v3/kv/txn, /v3/kv/range; keys
 * and values in base64, 64-bit numbers as strings), with libcurl, which
 * the plugins already use: no etcd client library is in Debian.
 */
#include "gen_standby.h"
#include "gen_buf.h"
#include "gen_dispatch.h"
#include "gen_hash.h"
#include "gen_json.h"
#include "gen_notice.h"
#include "gen_state.h"
#include "gen_time.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* etcd refuses a request past --max-request-bytes (1.5 MiB by default): a
 * state file goes in pieces of this many bytes, one key and one request
 * each (base64 and JSON included, about 700 KiB). */
#define CHUNK_BYTES (512 * 1024)
#define POLL_MS 1000
/* A file whose copy changes more pieces than this (rewritten, not appended
 * to) goes under a new directory, the old one deleted by one operation. */
#define REPLACED_MAX 8
/* The most operations a transaction holds: etcd's default --max-txn-ops
 * (a transaction past it is refused, HTTP 400). A copy's manifests move in
 * one transaction up to it; the pieces they no longer name are deleted
 * after, DELETE_BATCH at a time. */
#define TXN_OPS_MAX 128
#define DELETE_BATCH 64
/* A read copies pieces for at most this long; a copy that needs more goes
 * on at the next reads, its manifest moved when every piece is in. */
#define COPY_SLICE TIME_T_TO_CDTIME_T(10)
/* The largest file a take-over restores (piece by piece, never held
 * whole). */
#define FILE_MAX ((uint64_t)4 << 30)

typedef struct {
  char *name;    /* a file name, no directory */
  char *path;    /* while copying: where it is */
  uint64_t hash; /* of its length and its pieces' hashes: the copy */
  uint64_t gen;  /* its pieces' directory */
  /* each piece's content hash; NULL: a manifest of the first form, its
   * pieces named by their index under the hash of the whole content */
  uint64_t *pieces;
  size_t n_pieces;
  size_t n_first; /* the pieces of a manifest of the first form */
  size_t len;
  struct timespec mtime; /* as copied: an unchanged file is not read again */
  off_t size;
  /* the file itself: an inode is reused, its birth time is not (0: not
   * known, a file restored or a file system without it: read whole) */
  uint64_t dev, ino;
  struct statx_timestamp born;
} file_t;

struct gen_standby_s {
  char plugin[DATA_MAX_NAME_LEN], org[DATA_MAX_NAME_LEN];
  char host[DATA_MAX_NAME_LEN]; /* the org's Host: its values' fence */
  gen_log_org_t who;
  char **urls;
  size_t n_urls;
  char *ca, *cert, *cert_key; /* etcd's TLS (StandbyCACert, …): NULL, none */
  atomic_size_t url_at;       /* the URL that answered last: asked first */
  int ttl_s;
  size_t piece;                /* CHUNK_BYTES; tests make it small */
  cdtime_t sync_every, synced; /* StandbySyncInterval; the last copy */
  char name[256];
  char key[1024], state_prefix[1024], data_prefix[1024];

  pthread_t thread;
  bool started, stop;
  pthread_mutex_t lock; /* stop, create_rev, lease, holder; cond */
  pthread_cond_t cond;
  int64_t lease, create_rev;
  char holder[256]; /* who holds the key, as last seen */
  atomic_bool holding;
  /* gen_lease_clock(), which counts suspend: this agent's values stop
   * then */
  _Atomic cdtime_t fence;
  atomic_uint_fast64_t takeovers, sync_failed, copied_bytes;
  gen_ratelimit_t complain;
  /* this agent stopped the org's values because etcd was out of reach
   * past its fence, until etcd answers again and a holder is known */
  atomic_bool stopped;
  /* for gen_notice: the org's name, limits and memory of subjects, and no
   * Host: the standby's notices are the agent's, as its self-metrics */
  gen_org_t *notices;

  /* the read thread's: the instance's state files */
  gen_state_watch_t watch;
  bool restoring;
  int fetch_tries; /* take-overs whose state etcd did not give whole */
  int fetch_fails; /* test seam: fetches still to fail */
  char **paths;
  size_t n_paths;
  file_t *sent; /* what etcd holds, as far as this agent knows */
  size_t n_sent;
  /* a copy in progress: per file, the pieces put (by index, 0: not yet)
   * under a directory no manifest names yet, or the last copy's */
  file_t *moving;
  size_t n_moving;
  cdtime_t slice, slice_end; /* COPY_SLICE; this read's copy stops then */
  bool slice_put;            /* this read has put a piece */
  /* pieces no manifest names are left in etcd (their delete failed):
   * swept at the next copy */
  bool sweep_due;
};

/* ---- etcd's JSON gateway ------------------------------------------------ */

/* text in base64, as etcd's gateway takes keys and values. */
static int add_b64(gen_buf_t *b, const char *text) {
  return gen_buf_add_base64(b, text, strlen(text));
}

/* Decoded into a NUL-terminated heap buffer (its length into len unless
 * NULL); NULL when not base64 (or text NULL). */
static char *unb64(const char *text, size_t *len) {
  if (text == NULL)
    return NULL;
  size_t n = strlen(text);
  char *out = malloc(n / 4 * 3 + 1);
  ssize_t got = out != NULL ? gen_base64_decode(text, n, out) : -1;
  if (got < 0) {
    free(out);
    return NULL;
  }
  out[got] = '\0';
  if (len != NULL)
    *len = (size_t)got;
  return out;
}

/* A range request's body: key, or (prefix) every key beginning so; with
 * keys_only, the answer without the values. */
static char *range_body(const char *key, bool prefix, bool keys_only) {
  char end[2048];
  sstrncpy(end, key, sizeof(end));
  if (prefix && end[0] != '\0')
    end[strlen(end) - 1]++; /* "…/x/" → "…/x0": the prefix's range */
  gen_buf_t body = GEN_BUF_INIT(8192);
  gen_buf_add_str(&body, "{\"key\":\"");
  add_b64(&body, key);
  if (prefix) {
    gen_buf_add_str(&body, "\",\"range_end\":\"");
    add_b64(&body, end);
  }
  if (gen_buf_add_str(&body, keys_only ? "\",\"keys_only\":true}" : "\"}") !=
      0) {
    free(body.data);
    return NULL;
  }
  return body.data;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  return gen_buf_add(ud, data, size * n) == 0 ? size * n : 0;
}

/* The length of text's first line (len bytes), at most max, stopped at a
 * byte that is not printable ASCII: what an error answer says, for the
 * log. */
static size_t first_line(const char *text, size_t len, size_t max) {
  size_t n = 0;
  while (text != NULL && n < len && n < max && text[n] >= 0x20 &&
         text[n] < 0x7f)
    n++;
  return n;
}

/* POSTs body to path on the first URL that answers; *answer is its JSON.
 * 0, or a negative errno with why filled. */
static int etcd_post(gen_standby_t *s, const char *path, const char *body,
                     json_object **answer, char *why, size_t why_size) {
  int status = -EIO;
  *answer = NULL;
  snprintf(why, why_size, "no etcd URL");
  size_t first = atomic_load(&s->url_at);
  for (size_t n = 0; n < s->n_urls && *answer == NULL; n++) {
    size_t i = (first + n) % s->n_urls;
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", s->urls[i], path);
    CURL *curl = curl_easy_init();
    if (curl == NULL)
      return -ENOMEM;
    gen_buf_t got = GEN_BUF_INIT(4 * 1024 * 1024);
    /* a request never outlasts the lease's third: the holder must know it
     * still holds before its fence closes */
    long ms = s->ttl_s * 1000L / 3;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
    if (s->ca != NULL)
      curl_easy_setopt(curl, CURLOPT_CAINFO, s->ca);
    if (s->cert != NULL) {
      curl_easy_setopt(curl, CURLOPT_SSLCERT, s->cert);
      curl_easy_setopt(curl, CURLOPT_SSLKEY, s->cert_key);
    }
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(curl);
    char err[128];
    if (rc != CURLE_OK)
      snprintf(why, why_size, "%s: %s", s->urls[i], curl_easy_strerror(rc));
    else if (code != 200) /* etcd says why in the body's first line */
      snprintf(why, why_size, "%s: HTTP %ld%s%.*s", s->urls[i], code,
               got.len > 0 ? ": " : "", (int)first_line(got.data, got.len, 160),
               got.data ? got.data : "");
    else if (gen_json_parse(got.data ? got.data : "", got.len,
                            GEN_JSON_MAX_DEPTH, answer, err,
                            sizeof(err)) != 0) {
      snprintf(why, why_size, "%s: not JSON (%s)", s->urls[i], err);
      status = -EPROTO;
    } else {
      status = 0;
      atomic_store(&s->url_at, i);
    }
    free(got.data);
  }
  return *answer != NULL ? 0 : status;
}

/* A range request of key (with prefix: every key beginning so). */
static int etcd_range(gen_standby_t *s, const char *key, bool prefix,
                      bool keys_only, json_object **answer, char *why,
                      size_t why_size) {
  char *body = range_body(key, prefix, keys_only);
  int status = body != NULL
                   ? etcd_post(s, "/v3/kv/range", body, answer, why, why_size)
                   : -ENOMEM;
  free(body);
  if (body == NULL)
    snprintf(why, why_size, "out of memory");
  return status;
}

/* Appends one operation of a transaction to ops: a put of data (len
 * bytes) at key, or (data NULL) a delete of key or, with prefix, of every
 * key beginning so. */
static int add_op(gen_buf_t *ops, const char *key, const char *data, size_t len,
                  bool prefix) {
  gen_buf_add_str(ops, ops->len > 0 ? "," : "");
  if (data != NULL) {
    gen_buf_add_str(ops, "{\"request_put\":{\"key\":\"");
    add_b64(ops, key);
    gen_buf_add_str(ops, "\",\"value\":\"");
    gen_buf_add_base64(ops, data, len);
    return gen_buf_add_str(ops, "\"}}");
  }
  char *range = range_body(key, prefix, false);
  gen_buf_add_str(ops, "{\"request_delete_range\":");
  gen_buf_add_str(ops, range != NULL ? range : "");
  int status = range != NULL ? gen_buf_add_str(ops, "}") : -ENOMEM;
  free(range);
  return status;
}

/* Whether a transaction's answer says it succeeded. */
static bool txn_succeeded(json_object *answer) {
  json_object *ok = NULL;
  return json_object_object_get_ex(answer, "succeeded", &ok) &&
         json_object_get_boolean(ok);
}

/* Runs the operations ops while the key is still the one this agent
 * created. 0, -EPERM when it is not, or another negative errno (why). */
static int fenced_txn(gen_standby_t *s, const gen_buf_t *ops, char *why,
                      size_t why_size) {
  pthread_mutex_lock(&s->lock);
  int64_t rev = s->create_rev;
  pthread_mutex_unlock(&s->lock);
  gen_buf_t txn = GEN_BUF_INIT(ops->len + 4096);
  gen_buf_add_str(&txn, "{\"compare\":[{\"key\":\"");
  add_b64(&txn, s->key);
  gen_buf_add_str(&txn, "\",\"target\":\"CREATE\",\"create_revision\":\"");
  gen_buf_add_int64(&txn, rev);
  gen_buf_add_str(&txn, "\"}],\"success\":[");
  gen_buf_add(&txn, ops->data ? ops->data : "", ops->len);
  int status = gen_buf_add_str(&txn, "]}");
  json_object *answer = NULL;
  if (status == 0)
    status = etcd_post(s, "/v3/kv/txn", txn.data, &answer, why, why_size);
  free(txn.data);
  if (status == 0 && !txn_succeeded(answer)) {
    snprintf(why, why_size, "the key is no longer this agent's");
    status = -EPERM;
  }
  json_object_put(answer);
  return status;
}

/* Operations for fenced transactions of up to most each. */
typedef struct {
  gen_buf_t ops;
  size_t n, most;
} txn_t;

#define TXN_INIT(most, size) ((txn_t){GEN_BUF_INIT(size), 0, (most)})

/* Runs what t holds, if anything. */
static int txn_run(gen_standby_t *s, txn_t *t, char *why, size_t why_size) {
  int status = t->n > 0 ? fenced_txn(s, &t->ops, why, why_size) : 0;
  t->ops.len = 0, t->n = 0;
  return status;
}

/* Adds one operation to t (as add_op), run once t holds its most. */
static int txn_add(gen_standby_t *s, txn_t *t, const char *key,
                   const char *data, size_t len, bool prefix, char *why,
                   size_t why_size) {
  int status = add_op(&t->ops, key, data, len, prefix);
  if (status == 0 && ++t->n >= t->most)
    status = txn_run(s, t, why, why_size);
  return status;
}

/* A 64-bit number etcd writes as a string ("ID", "TTL", "revision"). */
static int64_t num_of(json_object *obj, const char *key) {
  const char *text = gen_json_get_string(obj, key);
  int64_t v = 0;
  if (text != NULL)
    return strtoll(text, NULL, 10);
  return gen_json_get_int64(obj, key, &v) ? v : 0;
}

/* The lease's TTL granted or kept alive (0: gone), -1 on an error. */
static int64_t lease_call(gen_standby_t *s, const char *path, int64_t *lease,
                          char *why, size_t why_size) {
  char body[128];
  if (*lease == 0)
    snprintf(body, sizeof(body), "{\"TTL\":\"%d\"}", s->ttl_s);
  else
    snprintf(body, sizeof(body), "{\"ID\":\"%lld\"}", (long long)*lease);
  json_object *answer;
  if (etcd_post(s, path, body, &answer, why, why_size) != 0)
    return -1;
  /* keepalive's answer is one message of a stream: {"result": {…}} */
  json_object *result = gen_json_get_object(answer, "result");
  json_object *r = result != NULL ? result : answer;
  if (*lease == 0)
    *lease = num_of(r, "ID");
  int64_t ttl = num_of(r, "TTL");
  json_object_put(answer);
  return ttl;
}

/* The value of the first key of a range answer ({"kvs": [{"value"}]}),
 * decoded: NULL when there is none. */
static char *first_value(json_object *range, size_t *len) {
  json_object *kvs = gen_json_get_array(range, "kvs");
  const char *v =
      kvs != NULL && json_object_array_length(kvs) > 0
          ? gen_json_get_string(json_object_array_get_idx(kvs, 0), "value")
          : NULL;
  return unb64(v, len);
}

/* Creates the key bound to the lease when it is absent. 1 taken (or the
 * key is still the one this agent created, bound to lease: its lease
 * outlived an outage of etcd), 0 held by another (s->holder named), -1 on
 * an error. */
static int try_take(gen_standby_t *s, int64_t lease, char *why,
                    size_t why_size) {
  gen_buf_t body = GEN_BUF_INIT(8192);
  gen_buf_add_str(&body, "{\"compare\":[{\"key\":\"");
  add_b64(&body, s->key);
  gen_buf_add_str(&body, "\",\"target\":\"CREATE\",\"create_revision\":\"0\"}],"
                         "\"success\":[{\"request_put\":{\"key\":\"");
  add_b64(&body, s->key);
  gen_buf_add_str(&body, "\",\"value\":\"");
  add_b64(&body, s->name);
  gen_buf_add_str(&body, "\",\"lease\":\"");
  gen_buf_add_int64(&body, lease);
  gen_buf_add_str(&body, "\"}}],\"failure\":[{\"request_range\":{\"key\":\"");
  add_b64(&body, s->key);
  int status = gen_buf_add_str(&body, "\"}}]}");
  json_object *answer = NULL;
  if (status == 0)
    status = etcd_post(s, "/v3/kv/txn", body.data, &answer, why, why_size);
  free(body.data);
  if (status != 0)
    return -1;
  int taken = txn_succeeded(answer);
  if (taken) {
    pthread_mutex_lock(&s->lock);
    s->create_rev = num_of(gen_json_get_object(answer, "header"), "revision");
    pthread_mutex_unlock(&s->lock);
  } else {
    /* failure: [{"response_range": {"kvs": [{"value": base64}]}}] */
    json_object *responses = gen_json_get_array(answer, "responses");
    json_object *range =
        responses != NULL && json_object_array_length(responses) > 0
            ? gen_json_get_object(json_object_array_get_idx(responses, 0),
                                  "response_range")
            : NULL;
    char *holder = first_value(range, NULL);
    json_object *kvs = gen_json_get_array(range, "kvs");
    json_object *kv = kvs != NULL && json_object_array_length(kvs) > 0
                          ? json_object_array_get_idx(kvs, 0)
                          : NULL;
    pthread_mutex_lock(&s->lock);
    /* a create revision is the key's one creation: the same, and the key
     * is still this agent's, bound to the lease just renewed */
    taken = kv != NULL && s->create_rev != 0 &&
            num_of(kv, "create_revision") == s->create_rev &&
            num_of(kv, "lease") == lease;
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
  char message[1536];
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
  char message[1536];
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
static bool pause_ms(gen_standby_t *s, long ms) {
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

static void *election(void *arg) {
  gen_standby_t *s = arg;
  int64_t lease = 0;
  char why[512];
  bool renewed = true;
  /* the holder renews every third of the TTL, and a second after a renewal
   * that failed: its fence closes a second before the lease can expire */
  while (!pause_ms(s, atomic_load(&s->holding) && renewed ? s->ttl_s * 1000L / 3
                                                          : POLL_MS)) {
    cdtime_t sent = gen_lease_clock();
    bool holding = atomic_load(&s->holding);
    bool fresh = lease == 0;
    int64_t ttl =
        lease_call(s, fresh ? "/v3/lease/grant" : "/v3/lease/keepalive", &lease,
                   why, sizeof(why));
    renewed = ttl > 0;
    if (holding) {
      if (ttl > 0) {
        gen_dispatch_fence(s->host, s->plugin, fence_of(sent, ttl));
        atomic_store(&s->fence, fence_of(sent, ttl));
      } else if (ttl == 0) {
        lease = 0;
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
            why,
            CDTIME_T_TO_DOUBLE(atomic_load(&s->fence) - gen_lease_clock()));
      continue;
    }
    if (ttl <= 0) { /* a waiting lease expired, or etcd is out of reach */
      if (ttl < 0)
        gen_log_org(&s->who, &s->complain, LOG_WARNING, "etcd: %s", why);
      if (ttl == 0 || !atomic_load(&s->stopped))
        lease = 0; /* a stopped holder's is kept until etcd says it is gone */
      continue;
    }
    pthread_mutex_lock(&s->lock);
    s->lease = lease;
    pthread_mutex_unlock(&s->lock);
    int taken = try_take(s, lease, why, sizeof(why));
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
  return NULL;
}

/* The election's names and URLs of org and plugin, no thread. NULL when
 * out of memory. */
static gen_standby_t *standby_new(const gen_org_t *org, const char *plugin) {
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
  /* A test seam (test_standby): pieces this small, so that a small state
   * goes in several. */
  const char *piece = getenv("GEN_STANDBY_PIECE_BYTES");
  s->piece =
      piece != NULL && atol(piece) > 0 ? (size_t)atol(piece) : CHUNK_BYTES;
  /* And a copy's share of a read this short (milliseconds), so that a
   * file of a few MiB goes over several reads. */
  const char *slice = getenv("GEN_STANDBY_SLICE_MS");
  s->slice = slice != NULL && atol(slice) > 0 ? MS_TO_CDTIME_T(atol(slice))
                                              : COPY_SLICE;
  /* Another (test_standby): the first take-overs' state fetches fail, as
   * an etcd that times out under load. */
  const char *fail = getenv("GEN_STANDBY_FETCH_FAILS");
  s->fetch_fails = fail != NULL && atoi(fail) > 0 ? atoi(fail) : 0;
  sstrncpy(s->name, org->standby_name ? org->standby_name : hostname_g,
           sizeof(s->name));
  const char *prefix =
      org->standby_prefix ? org->standby_prefix : "/collectd-genesys";
  snprintf(s->key, sizeof(s->key), "%s/%s/%u-%u/%s/holder", prefix, org->name,
           org->shard_index + 1, org->shard_count, plugin);
  snprintf(s->state_prefix, sizeof(s->state_prefix), "%s/%s/%u-%u/%s/state/",
           prefix, org->name, org->shard_index + 1, org->shard_count, plugin);
  snprintf(s->data_prefix, sizeof(s->data_prefix), "%s/%s/%u-%u/%s/data/",
           prefix, org->name, org->shard_index + 1, org->shard_count, plugin);
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
  s->urls =
      calloc(org->standby_etcd_n ? org->standby_etcd_n : 1, sizeof(*s->urls));
  for (size_t i = 0; s->urls != NULL && i < org->standby_etcd_n; i++) {
    size_t len = strlen(org->standby_etcd[i]);
    while (len > 0 && org->standby_etcd[i][len - 1] == '/')
      len--;
    if ((s->urls[i] = strndup(org->standby_etcd[i], len)) == NULL)
      break;
    s->n_urls++;
  }
  bool tls_ok =
      (org->standby_ca == NULL || (s->ca = strdup(org->standby_ca)) != NULL) &&
      (org->standby_cert == NULL ||
       ((s->cert = strdup(org->standby_cert)) != NULL &&
        (s->cert_key = strdup(org->standby_key)) != NULL));
  if (s->n_urls != org->standby_etcd_n || !tls_ok || s->notices == NULL) {
    gen_standby_stop(s);
    return NULL;
  }
  return s;
}

gen_standby_t *gen_standby_start(const gen_org_t *org, const char *plugin) {
  gen_standby_t *s = standby_new(org, plugin);
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
  gen_standby_t *s = standby_new(org, plugin);
  if (s == NULL) {
    snprintf(out, size, "out of memory");
    return -ENOMEM;
  }
  char why[512] = "";
  json_object *answer = NULL;
  int status = etcd_range(s, s->key, false, false, &answer, why, sizeof(why));
  if (status != 0)
    snprintf(out, size, "etcd: %s", why);
  else {
    char *holder = first_value(answer, NULL);
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

/* ---- the state that moves with the lease -------------------------------- */

static file_t *file_find(file_t *files, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(files[i].name, name) == 0)
      return &files[i];
  return NULL;
}

static void files_free(file_t *files, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(files[i].name);
    free(files[i].path);
    free(files[i].pieces);
  }
  free(files);
}

/* The files of one state path: itself and its siblings (".next",
 * ".records", ".journal"), not gen_state's temporary files: scanned
 * together after the read that wrote them, so that a take-over restores a
 * state file and its records journal of one moment. */
static bool sibling_of(const char *base, const char *name) {
  return strncmp(name, base, strlen(base)) == 0 &&
         strstr(name + strlen(base), ".tmp.") == NULL;
}

static const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

/* The directory of a file's pieces: "<data>/<file>/<gen>/" (in the first
 * form of the manifest, gen is the hash of the whole content). */
static void gen_dir(const gen_standby_t *s, const char *name, uint64_t gen,
                    char *out, size_t size) {
  snprintf(out, size, "%s%s/%016" PRIx64 "/", s->data_prefix, name, gen);
}

/* Piece i of content hash ph: "<dir><i>.<ph>", a name that changes with
 * the content, so that the pieces the manifest names stand until it moves. */
static void piece_key(const gen_standby_t *s, const char *name, uint64_t gen,
                      size_t i, uint64_t ph, char *out, size_t size) {
  gen_dir(s, name, gen, out, size);
  size_t at = strlen(out);
  snprintf(out + at, size - at, "%zu.%016" PRIx64, i, ph);
}

/* A copy's hash: of its length and its pieces' hashes, as written in its
 * manifest. */
static uint64_t pieces_hash(const uint64_t *ph, size_t n, uint64_t len) {
  char hex[32];
  int at = snprintf(hex, sizeof(hex), "%llu", (unsigned long long)len);
  uint64_t h = gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, hex, (size_t)at);
  for (size_t i = 0; i < n; i++) {
    gen_hex64_format(hex, ph[i]);
    h = gen_hash_fnv1a64_bytes(h, hex, GEN_HEX64_LEN);
  }
  return h;
}

static uint64_t new_gen(const char *name) {
  static atomic_uint_fast64_t made;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t seed[4] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec,
                      (uint64_t)getpid(), atomic_fetch_add(&made, 1)};
  return gen_hash_fnv1a64_bytes(
      gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, seed, sizeof(seed)), name,
      strlen(name));
}

/* One file as etcd's manifest names it ("<hash> <pieces> <bytes> <gen>
 * <piece hash>...", or of the first form "<hash> <pieces> <bytes>", the
 * hash of the whole content), checked; its pieces are read as it is
 * restored. */
static int manifest_read(file_t *f, const char *manifest, char *why,
                         size_t why_size) {
  uint64_t hash = 0, gen = 0;
  const char *p = manifest;
  unsigned long long n = 0, len = 0;
  int at = 0;
  bool ours = gen_hex64_parse(p, &hash, &p) &&
              sscanf(p, " %llu %llu%n", &n, &len, &at) == 2 &&
              len <= FILE_MAX && n <= len + 1 && n <= strlen(manifest);
  p += at;
  bool first_form = ours && p[strspn(p, " ")] == '\0';
  uint64_t *ph = ours && !first_form ? calloc(n ? n : 1, sizeof(*ph)) : NULL;
  ours =
      ours && (first_form || (ph != NULL && gen_hex64_parse(p + 1, &gen, &p)));
  for (unsigned long long i = 0; ours && !first_form && i < n; i++)
    ours = *p == ' ' && gen_hex64_parse(p + 1, &ph[i], &p);
  if (!ours ||
      (!first_form && (*p != '\0' || pieces_hash(ph, n, len) != hash))) {
    snprintf(why, why_size, "a manifest not ours: \"%.64s\"", manifest);
    free(ph);
    return -EINVAL;
  }
  /* a copy of the first form is replaced whole at the next (gen: its
   * directory, deleted then) */
  f->hash = hash, f->gen = first_form ? hash : gen, f->pieces = ph;
  f->n_pieces = first_form ? 0 : n;
  f->n_first = first_form ? n : 0;
  f->len = len;
  return 0;
}

/* Piece i of f as etcd holds it, asked again on a failure (a timeout
 * under load) up to GEN_STANDBY_FETCH_TRIES times. */
static char *piece_read(gen_standby_t *s, const file_t *f, size_t i,
                        size_t *got, char *why, size_t why_size) {
  char key[2048];
  if (f->pieces == NULL) {
    gen_dir(s, f->name, f->hash, key, sizeof(key));
    snprintf(key + strlen(key), sizeof(key) - strlen(key), "%zu", i);
  } else
    piece_key(s, f->name, f->gen, i, f->pieces[i], key, sizeof(key));
  for (int try = 1;; try++) {
    json_object *answer = NULL;
    int status = etcd_range(s, key, false, false, &answer, why, why_size);
    char *piece = status == 0 ? first_value(answer, got) : NULL;
    json_object_put(answer);
    if (piece == NULL && status == 0)
      snprintf(why, why_size, "piece %zu missing", i);
    if (piece != NULL || status == 0 || try == GEN_STANDBY_FETCH_TRIES ||
        pause_ms(s, 1000))
      return piece;
  }
}

/* Writes f as etcd holds it to the file at path, piece by piece, each
 * checked against its manifest: the file is replaced only when every piece
 * is in (gen_state_stream). 0 or a negative errno, why said. */
static int restore_file(gen_standby_t *s, const file_t *f, const char *path,
                        char *why, size_t why_size) {
  gen_state_stream_t st;
  int status = gen_state_stream_open(&st, path);
  size_t n = f->pieces != NULL ? f->n_pieces : f->n_first, len = 0;
  uint64_t whole = GEN_HASH_FNV1A64_INIT;
  for (size_t i = 0; status == 0 && i < n; i++) {
    size_t got = 0;
    char *piece = piece_read(s, f, i, &got, why, why_size);
    if (piece == NULL)
      status = -ENOENT;
    else if (f->pieces != NULL &&
             gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, piece, got) !=
                 f->pieces[i]) {
      snprintf(why, why_size, "piece %zu not as its manifest says", i);
      status = -EINVAL;
    } else if ((status = gen_buf_add(&st.buf, piece, got)) == 0)
      status = gen_state_stream_flush(&st);
    whole = piece != NULL ? gen_hash_fnv1a64_bytes(whole, piece, got) : whole;
    len += got;
    free(piece);
  }
  if (status == 0 &&
      (len != f->len || (f->pieces == NULL && whole != f->hash))) {
    snprintf(why, why_size, "its pieces do not add up to its manifest");
    status = -EINVAL;
  }
  int closed = gen_state_stream_close(&st, status == 0);
  if (status == 0 && closed != 0)
    snprintf(why, why_size, "%s", gen_strerror(closed));
  return status != 0 ? status : closed;
}

/* Whether piece, "<i>.<hash>" under f's directory, is one f's manifest
 * names. */
static bool piece_named(const file_t *f, const char *piece) {
  char *end = NULL;
  unsigned long long i = strtoull(piece, &end, 10);
  uint64_t ph = 0;
  const char *rest = NULL;
  return end != piece && *end == '.' && gen_hex64_parse(end + 1, &ph, &rest) &&
         *rest == '\0' && i < f->n_pieces && f->pieces[i] == ph;
}

/* Deletes the pieces that no manifest of s->sent names: the directories
 * of a copy in progress when its holder lost the lease, or of a sweep that
 * failed; the pieces a copy replaced under a directory it kept, when their
 * delete failed. Not while a copy is in progress (s->moving: its pieces
 * are named by no manifest yet). 0 or a negative errno. */
static int sweep_unnamed(gen_standby_t *s) {
  json_object *answer = NULL;
  char why[512] = "", key[2048], last[2048] = "";
  int status =
      etcd_range(s, s->data_prefix, true, true, &answer, why, sizeof(why));
  if (status != 0)
    return status; /* swept later */
  json_object *kvs = gen_json_get_array(answer, "kvs");
  txn_t t = TXN_INIT(DELETE_BATCH, SIZE_MAX);
  size_t swept = 0, pieces = 0, plen = strlen(s->data_prefix);
  const file_t *last_f = NULL; /* the file of the directory last: NULL, none */
  for (size_t i = 0;
       status == 0 && kvs != NULL && i < json_object_array_length(kvs); i++) {
    char *name = unb64(
        gen_json_get_string(json_object_array_get_idx(kvs, i), "key"), NULL);
    char *slash = name != NULL && strncmp(name, s->data_prefix, plen) == 0
                      ? strchr(name + plen, '/')
                      : NULL;
    if (slash != NULL && (slash = strchr(slash + 1, '/')) != NULL) {
      char piece[256];
      sstrncpy(piece, slash + 1, sizeof(piece));
      slash[1] = '\0'; /* "<data><file>/<gen>/" */
      if (strcmp(name, last) != 0) {
        last_f = NULL;
        for (size_t j = 0; last_f == NULL && j < s->n_sent; j++) {
          gen_dir(s, s->sent[j].name, s->sent[j].gen, key, sizeof(key));
          last_f = strcmp(name, key) == 0 ? &s->sent[j] : NULL;
        }
        sstrncpy(last, name, sizeof(last));
        if (last_f == NULL) {
          status = txn_add(s, &t, name, NULL, 0, true, why, sizeof(why));
          swept++;
        }
      }
      /* a manifest of the first form names its directory whole */
      if (last_f != NULL && last_f->pieces != NULL &&
          !piece_named(last_f, piece)) {
        snprintf(key, sizeof(key), "%s%s", name, piece);
        status = txn_add(s, &t, key, NULL, 0, false, why, sizeof(why));
        pieces++;
      }
    }
    free(name);
  }
  if (status == 0)
    status = txn_run(s, &t, why, sizeof(why));
  if (swept > 0)
    gen_log_org(&s->who, NULL, status == 0 ? LOG_INFO : LOG_WARNING,
                "etcd: %zu directories of pieces no manifest names %s", swept,
                status == 0 ? "deleted" : "left (tried again later)");
  if (pieces > 0)
    gen_log_org(&s->who, NULL, status == 0 ? LOG_INFO : LOG_WARNING,
                "etcd: %zu pieces no manifest names %s", pieces,
                status == 0 ? "deleted" : "left (tried again later)");
  free(t.ops.data);
  json_object_put(answer);
  return status;
}

/* What etcd holds of the state, into s->sent (data kept). A file that
 * cannot be read back whole is left out (logged): this agent's own file
 * stands for it. 0, 1 when a file was left out, or a negative errno when
 * etcd could not be read (logged). */
static int fetch_state(gen_standby_t *s) {
  char why[512] = "";
  json_object *answer = NULL;
  int status = s->fetch_fails > 0 ? -ETIMEDOUT : 0;
  if (status != 0)
    s->fetch_fails--, snprintf(why, sizeof(why), "GEN_STANDBY_FETCH_FAILS");
  else
    status =
        etcd_range(s, s->state_prefix, true, false, &answer, why, sizeof(why));
  if (status != 0) {
    gen_log_org(&s->who, NULL, LOG_ERR,
                "etcd: the state of the last holder cannot be read (%s)",
                why[0] ? why : gen_strerror(status));
    return status;
  }
  json_object *kvs = gen_json_get_array(answer, "kvs");
  size_t n = kvs != NULL ? json_object_array_length(kvs) : 0;
  int left_out = 0;
  files_free(s->sent, s->n_sent);
  /* a copy this agent had in progress when it lost the lease: its pieces
   * stay in etcd, under a directory no manifest names */
  files_free(s->moving, s->n_moving);
  s->moving = NULL, s->n_moving = 0;
  s->sent = calloc(n ? n : 1, sizeof(*s->sent));
  s->n_sent = 0;
  for (size_t i = 0; s->sent != NULL && i < n; i++) {
    json_object *kv = json_object_array_get_idx(kvs, i);
    char *name = unb64(gen_json_get_string(kv, "key"), NULL);
    char *manifest = unb64(gen_json_get_string(kv, "value"), NULL);
    size_t plen = strlen(s->state_prefix);
    if (name != NULL && manifest != NULL &&
        strncmp(name, s->state_prefix, plen) == 0) {
      file_t *f = &s->sent[s->n_sent];
      *f = (file_t){.name = strdup(name + plen)};
      if (f->name != NULL && manifest_read(f, manifest, why, sizeof(why)) == 0)
        s->n_sent++;
      else {
        gen_log_org(&s->who, NULL, LOG_ERR,
                    "etcd: state %s of the last holder left out: %s",
                    name + plen, why);
        free(f->name);
        left_out = 1;
      }
    }
    free(name);
    free(manifest);
  }
  json_object_put(answer);
  if (s->sent != NULL && left_out == 0)
    s->sweep_due = sweep_unnamed(s) != 0; /* or at the next copy */
  return s->sent == NULL ? -ENOMEM : left_out;
}

/* The path's files as etcd holds them: written, and the local siblings
 * etcd lacks removed (a stale ".next" must not stand later). */
static void restore_path(gen_standby_t *s, const char *path) {
  char dir[PATH_MAX];
  sstrncpy(dir, path, sizeof(dir));
  char *slash = strrchr(dir, '/');
  if (slash == NULL || s->n_sent == 0)
    return; /* etcd holds nothing: the agent's own files stand */
  *slash = '\0';
  const char *base = base_of(path);
  DIR *d = opendir(dir);
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
    if (sibling_of(base, e->d_name) &&
        file_find(s->sent, s->n_sent, e->d_name) == NULL) {
      char stale[PATH_MAX + 256];
      snprintf(stale, sizeof(stale), "%s/%s", dir, e->d_name);
      unlink(stale);
    }
  }
  if (d != NULL)
    closedir(d);
  for (size_t i = 0; i < s->n_sent; i++) {
    file_t *f = &s->sent[i];
    if (!sibling_of(base, f->name))
      continue;
    char to[PATH_MAX + 256], why[512] = "";
    snprintf(to, sizeof(to), "%s/%s", dir, f->name);
    int status = restore_file(s, f, to, why, sizeof(why));
    if (status == 0)
      gen_log_org(&s->who, NULL, LOG_INFO,
                  "state %s (%zu bytes) from the last holder: restored", to,
                  f->len);
    else
      gen_log_org(&s->who, NULL, LOG_ERR,
                  "state %s from the last holder: not restored (%s); this "
                  "agent's own file stands",
                  to, why[0] ? why : gen_strerror(status));
  }
}

static void on_path(void *ud, const char *path) {
  gen_standby_t *s = ud;
  for (size_t i = 0; i < s->n_paths; i++)
    if (strcmp(s->paths[i], path) == 0)
      return;
  char **paths = realloc(s->paths, (s->n_paths + 1) * sizeof(*paths));
  if (paths != NULL)
    s->paths = paths;
  if (paths == NULL || (paths[s->n_paths] = strdup(path)) == NULL)
    return;
  s->n_paths++;
  if (s->restoring)
    restore_path(s, path);
}

bool gen_standby_watch_begin(gen_standby_t *s, bool restore) {
  if (restore) {
    int status = fetch_state(s);
    /* A take-over starts from the last holder's state, whole: an etcd that
     * did not give it (a timeout under load) is asked again at the next
     * reads, the org uncollected meanwhile (the backfill closes it), and
     * only then does the agent start from what it has. */
    bool again = status != 0 && ++s->fetch_tries < GEN_STANDBY_FETCH_TRIES;
    if (again || status < 0) { /* nothing read, or read again: none stands */
      files_free(s->sent, s->n_sent);
      s->sent = NULL, s->n_sent = 0;
    }
    if (again) {
      gen_log_org(&s->who, NULL, LOG_WARNING,
                  "the last holder's state is asked for again at the next "
                  "read (%d of %d)",
                  s->fetch_tries + 1, GEN_STANDBY_FETCH_TRIES);
      return false;
    }
    if (status != 0)
      gen_log_org(&s->who, NULL, LOG_ERR,
                  "the last holder's state was not given whole %d times; "
                  "what is missing starts from this agent's own files",
                  GEN_STANDBY_FETCH_TRIES);
    s->fetch_tries = 0;
    s->restoring = true;
  }
  s->watch = (gen_state_watch_t){.path = on_path, .ud = s};
  gen_state_watch(&s->watch);
  return true;
}

void gen_standby_watch_end(gen_standby_t *s) {
  gen_state_watch(NULL);
  s->restoring = false;
}

typedef struct {
  file_t *now; /* the files now; a changed one with its path */
  size_t n_now;
} sync_t;

/* Piece i of the open file of size bytes, into buf (s->piece bytes). */
static int read_piece(const gen_standby_t *s, int fd, off_t size, size_t i,
                      char *buf, size_t *n) {
  off_t off = (off_t)i * (off_t)s->piece;
  size_t want = size - off < (off_t)s->piece ? (size_t)(size - off) : s->piece;
  for (size_t got = 0; got < want;) {
    ssize_t r = pread(fd, buf + got, want - got, off + (off_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return r < 0 ? -errno : -EAGAIN; /* cut meanwhile: the next copy */
    got += (size_t)r;
  }
  *n = want;
  return 0;
}

/* Whether a and b are the same file (with born: known to be). */
static bool same_file(const file_t *a, const file_t *b, bool born) {
  return a->ino != 0 && a->dev == b->dev && a->ino == b->ino &&
         (!born || ((a->born.tv_sec != 0 || a->born.tv_nsec != 0) &&
                    a->born.tv_sec == b->born.tv_sec &&
                    a->born.tv_nsec == b->born.tv_nsec));
}

/* f's pieces' hashes. Of an append to the file copied last (the same file,
 * no shorter, its last whole piece unchanged) the whole pieces copied are
 * not read again: a journal costs what was appended. */
static int hash_pieces(const gen_standby_t *s, int fd, const file_t *had,
                       file_t *f, char *buf) {
  size_t n = (size_t)((f->size + (off_t)s->piece - 1) / (off_t)s->piece);
  if ((f->pieces = calloc(n ? n : 1, sizeof(*f->pieces))) == NULL)
    return -ENOMEM;
  f->n_pieces = n;
  size_t from = 0, got = 0;
  if (had != NULL && had->pieces != NULL && same_file(had, f, true) &&
      f->size >= had->size)
    from = (size_t)(had->size / (off_t)s->piece);
  int status = 0;
  if (from > 0 &&
      ((status = read_piece(s, fd, f->size, from - 1, buf, &got)) != 0 ||
       gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, buf, got) !=
           had->pieces[from - 1]))
    from = 0; /* rewritten in place: read whole */
  if (from > 0)
    memcpy(f->pieces, had->pieces, from * sizeof(*f->pieces));
  for (size_t i = from; status == 0 && i < n; i++)
    if ((status = read_piece(s, fd, f->size, i, buf, &got)) == 0)
      f->pieces[i] = gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, buf, got);
  f->hash = pieces_hash(f->pieces, n, (uint64_t)f->size);
  return status;
}

/* One file of y now: unchanged since the last copy by its size, time and
 * inode, or hashed piece by piece (buf: a piece). */
static int scan_file(gen_standby_t *s, const char *file, const char *name,
                     sync_t *y, char *buf) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  struct statx st;
  if (fd < 0 ||
      statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &st) != 0) {
    int status = -errno;
    if (fd >= 0)
      close(fd);
    return status == -ENOENT ? 0 : status; /* renamed: the next copy */
  }
  if (st.stx_size > FILE_MAX) {
    close(fd);
    gen_log_org(&s->who, &s->complain, LOG_ERR,
                "etcd: %s not copied: %lld bytes, past the %llu a take-over "
                "restores",
                file, (long long)st.stx_size, (unsigned long long)FILE_MAX);
    return 0;
  }
  file_t *more = realloc(y->now, (y->n_now + 1) * sizeof(*more));
  if (more == NULL) {
    close(fd);
    return -ENOMEM;
  }
  y->now = more;
  const file_t *had = file_find(s->sent, s->n_sent, name);
  file_t *f = &y->now[y->n_now++];
  *f = (file_t){.name = strdup(name),
                .mtime = {st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec},
                .size = (off_t)st.stx_size,
                .dev = makedev(st.stx_dev_major, st.stx_dev_minor),
                .ino = st.stx_ino,
                .born = (st.stx_mask & STATX_BTIME)
                            ? st.stx_btime
                            : (struct statx_timestamp){0}};
  int status = f->name != NULL ? 0 : -ENOMEM;
  if (had != NULL && had->pieces != NULL && same_file(had, f, false) &&
      had->size == f->size && had->mtime.tv_sec == f->mtime.tv_sec &&
      had->mtime.tv_nsec == f->mtime.tv_nsec) {
    f->pieces = malloc((had->n_pieces ? had->n_pieces : 1) * sizeof(uint64_t));
    if (status == 0 && f->pieces == NULL)
      status = -ENOMEM;
    if (f->pieces != NULL)
      memcpy(f->pieces, had->pieces, had->n_pieces * sizeof(uint64_t));
    f->n_pieces = had->n_pieces, f->hash = had->hash, f->gen = had->gen;
  } else if (status == 0 && (status = hash_pieces(s, fd, had, f, buf)) == 0 &&
             (f->path = strdup(file)) == NULL)
    status = -ENOMEM;
  close(fd);
  return status;
}

/* The files of path now, added to y. */
static int scan_path(gen_standby_t *s, const char *path, sync_t *y, char *buf) {
  char dir[PATH_MAX];
  sstrncpy(dir, path, sizeof(dir));
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    return 0;
  *slash = '\0';
  const char *base = base_of(path);
  DIR *d = opendir(dir);
  int status = d != NULL ? 0 : -errno;
  for (struct dirent *e; status == 0 && (e = readdir(d)) != NULL;) {
    if (!sibling_of(base, e->d_name) ||
        file_find(y->now, y->n_now, e->d_name) != NULL)
      continue;
    char file[PATH_MAX + 256];
    snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
    status = scan_file(s, file, e->d_name, y, buf);
  }
  if (d != NULL)
    closedir(d);
  return status;
}

/* Whether piece i of f is in etcd as had's. */
static bool piece_kept(const file_t *had, const file_t *f, size_t i) {
  return had != NULL && had->pieces != NULL && had->gen == f->gen &&
         i < had->n_pieces && had->pieces[i] == f->pieces[i];
}

/* *m: the copy in progress of f (made, or moved to f's directory and
 * grown to its pieces; the pieces of a directory it leaves deleted). */
static int moving_for(gen_standby_t *s, const file_t *had, const file_t *f,
                      file_t **m, char *why, size_t why_size) {
  *m = file_find(s->moving, s->n_moving, f->name);
  if (*m == NULL) {
    file_t *more = realloc(s->moving, (s->n_moving + 1) * sizeof(*more));
    if (more == NULL)
      return -ENOMEM;
    s->moving = more;
    *m = &s->moving[s->n_moving];
    **m = (file_t){.name = strdup(f->name), .gen = f->gen};
    if ((*m)->name == NULL)
      return -ENOMEM;
    s->n_moving++;
  }
  if ((*m)->gen != f->gen) { /* rewritten, then appended to after all */
    if (had == NULL || had->gen != (*m)->gen) {
      /* the pieces under the directory it leaves: no manifest names them */
      char key[2048];
      gen_dir(s, f->name, (*m)->gen, key, sizeof(key));
      txn_t t = TXN_INIT(1, 8192);
      int status = txn_add(s, &t, key, NULL, 0, true, why, why_size);
      free(t.ops.data);
      if (status != 0)
        return status;
    }
    memset((*m)->pieces, 0, (*m)->n_pieces * sizeof(uint64_t));
    (*m)->gen = f->gen;
  }
  if ((*m)->n_pieces < f->n_pieces) {
    uint64_t *p = realloc((*m)->pieces, f->n_pieces * sizeof(*p));
    if (p == NULL)
      return -ENOMEM;
    memset(p + (*m)->n_pieces, 0, (f->n_pieces - (*m)->n_pieces) * sizeof(*p));
    (*m)->pieces = p, (*m)->n_pieces = f->n_pieces;
  }
  return 0;
}

/* A changed file's pieces that etcd lacks, each in a request of its own
 * (the manifest still names the last copy's pieces, which stand until it
 * moves); the directory kept unless more than REPLACED_MAX of the last
 * copy's pieces change. A piece put by a copy that then failed stays until
 * the directory changes. */
static int put_pieces(gen_standby_t *s, const file_t *had, file_t *f, char *buf,
                      char *why, size_t why_size) {
  size_t replaced = 0;
  for (size_t i = 0; had != NULL && had->pieces != NULL && i < had->n_pieces;
       i++)
    replaced += i >= f->n_pieces || had->pieces[i] != f->pieces[i];
  file_t *m = file_find(s->moving, s->n_moving, f->name);
  f->gen = had != NULL && had->pieces != NULL && replaced <= REPLACED_MAX
               ? had->gen
           : m != NULL ? m->gen
                       : new_gen(f->name);
  int status = moving_for(s, had, f, &m, why, why_size);
  int fd = status == 0 ? open(f->path, O_RDONLY | O_CLOEXEC) : -1;
  if (status == 0 && fd < 0)
    status = -errno;
  for (size_t i = 0; status == 0 && i < f->n_pieces; i++) {
    if (piece_kept(had, f, i) || m->pieces[i] == f->pieces[i])
      continue;
    if (s->slice_put && gen_monotonic() >= s->slice_end) {
      status = -EINPROGRESS; /* the next read goes on */
      break;
    }
    size_t n = 0;
    status = read_piece(s, fd, f->size, i, buf, &n);
    if (status == 0 &&
        gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, buf, n) != f->pieces[i])
      status = -EAGAIN; /* changed since it was hashed: the next copy */
    char key[2048];
    piece_key(s, f->name, f->gen, i, f->pieces[i], key, sizeof(key));
    txn_t t = TXN_INIT(1, 2 * s->piece + 4096);
    if (status == 0)
      status = txn_add(s, &t, key, buf, n, false, why, why_size);
    if (status == 0) {
      atomic_fetch_add(&s->copied_bytes, n);
      m->pieces[i] = f->pieces[i];
      s->slice_put = true;
    }
    free(t.ops.data);
  }
  if (fd >= 0)
    close(fd);
  return status;
}

/* A copy's operations: the manifests it moves, each with the state path
 * its file is of (a group), then the deletes of the pieces they no longer
 * name. */
typedef struct {
  size_t group;
  char *key, *data; /* data NULL: a delete */
  size_t len;
  bool prefix;
} op_t;

typedef struct {
  op_t *moves, *deletes;
  size_t n_moves, n_deletes;
} plan_t;

static int plan_add(op_t **ops, size_t *n, size_t group, const char *key,
                    gen_buf_t *data, bool prefix) {
  op_t *more = realloc(*ops, (*n + 1) * sizeof(*more));
  if (more == NULL)
    return -ENOMEM;
  *ops = more;
  op_t *op = &more[*n];
  *op = (op_t){.group = group, .key = strdup(key), .prefix = prefix};
  if (data != NULL) /* taken */
    op->data = data->data, op->len = data->len, *data = (gen_buf_t){0};
  if (op->key == NULL || (data != NULL && op->data == NULL)) {
    free(op->key);
    free(op->data);
    return -ENOMEM;
  }
  (*n)++;
  return 0;
}

static void plan_free(plan_t *p) {
  for (size_t i = 0; i < p->n_moves; i++)
    free(p->moves[i].key), free(p->moves[i].data);
  for (size_t i = 0; i < p->n_deletes; i++)
    free(p->deletes[i].key);
  free(p->moves);
  free(p->deletes);
}

/* The state path (its index in s->paths) whose file name is; n_paths
 * when none. */
static size_t group_of(const gen_standby_t *s, const char *name) {
  for (size_t j = 0; j < s->n_paths; j++)
    if (sibling_of(base_of(s->paths[j]), name))
      return j;
  return s->n_paths;
}

/* The operations that move f's manifest (f NULL: delete had's, a file
 * that no longer is) and delete the pieces of had (the last copy) it no
 * longer names, added to p. */
static int manifest_ops(gen_standby_t *s, const file_t *had, const file_t *f,
                        plan_t *p) {
  char key[2048];
  gen_buf_t m = GEN_BUF_INIT(SIZE_MAX);
  int status = 0;
  if (f != NULL) {
    gen_buf_add_hex64(&m, f->hash);
    gen_buf_printf(&m, " %zu %lld ", f->n_pieces, (long long)f->size);
    status = gen_buf_add_hex64(&m, f->gen);
  }
  for (size_t i = 0; status == 0 && f != NULL && i < f->n_pieces; i++) {
    gen_buf_add_str(&m, " ");
    status = gen_buf_add_hex64(&m, f->pieces[i]);
  }
  const char *name = f != NULL ? f->name : had->name;
  snprintf(key, sizeof(key), "%s%s", s->state_prefix, name);
  if (status == 0)
    status = plan_add(&p->moves, &p->n_moves, group_of(s, name), key,
                      f != NULL ? &m : NULL, false);
  free(m.data);
  if (had != NULL && (f == NULL || had->gen != f->gen)) {
    gen_dir(s, had->name, had->gen, key, sizeof(key));
    return status == 0
               ? plan_add(&p->deletes, &p->n_deletes, 0, key, NULL, true)
               : status;
  }
  for (size_t i = 0; status == 0 && had != NULL && i < had->n_pieces; i++)
    if (!piece_kept(had, f, i)) {
      piece_key(s, had->name, had->gen, i, had->pieces[i], key, sizeof(key));
      status = plan_add(&p->deletes, &p->n_deletes, 0, key, NULL, false);
    }
  return status;
}

/* Moves p's manifests: in one transaction when they are TXN_OPS_MAX or
 * fewer (every state file of the instance, as any plugin has: a few a
 * history family), so that a take-over sees the last copy whole or this
 * one. Past it (more files changed at once than etcd lets one transaction
 * hold) the files of one state path (a state file and its journal, of one
 * moment) stay in one transaction, the state paths, each of its own
 * family, being apart; a take-over between two of them finds some paths of
 * this copy, the others of the last. A state path with more siblings than
 * a transaction holds (files put beside it, not the plugin's) is split.
 * 0, or a negative errno (why): the manifests moved before stand, named
 * again at the next copy. */
static int plan_move(gen_standby_t *s, const plan_t *p, char *why,
                     size_t why_size) {
  txn_t t = TXN_INIT(TXN_OPS_MAX, 1024 * 1024);
  int status = 0;
  for (size_t g = 0; status == 0 && g <= s->n_paths; g++) {
    size_t in_group = 0;
    for (size_t i = 0; i < p->n_moves; i++)
      in_group += p->moves[i].group == g;
    if (t.n + in_group > TXN_OPS_MAX) /* the group whole in the next */
      status = txn_run(s, &t, why, why_size);
    for (size_t i = 0; status == 0 && i < p->n_moves; i++) {
      const op_t *op = &p->moves[i];
      if (op->group == g)
        status =
            txn_add(s, &t, op->key, op->data, op->len, false, why, why_size);
    }
  }
  if (status == 0)
    status = txn_run(s, &t, why, why_size);
  free(t.ops.data);
  return status;
}

/* After the manifests moved: the pieces they no longer name deleted,
 * DELETE_BATCH a transaction. A failure leaves them to a sweep at the next
 * copy (logged, rate-limited). */
static void plan_delete(gen_standby_t *s, const plan_t *p) {
  char why[512] = "";
  txn_t t = TXN_INIT(DELETE_BATCH, SIZE_MAX);
  int status = 0;
  for (size_t i = 0; status == 0 && i < p->n_deletes; i++)
    status = txn_add(s, &t, p->deletes[i].key, NULL, 0, p->deletes[i].prefix,
                     why, sizeof(why));
  if (status == 0)
    status = txn_run(s, &t, why, sizeof(why));
  free(t.ops.data);
  if (status != 0) {
    s->sweep_due = true;
    gen_log_org(&s->who, &s->complain, LOG_WARNING,
                "etcd: the pieces the copy replaced are not deleted (%s); "
                "swept at the next copy",
                why[0] ? why : gen_strerror(status));
  }
}

/* Whether a state file is here that etcd lacks (a first one: a state is
 * first written as ".next" and renamed a read later, when the interval
 * would hold its copy back; a take-over meanwhile found only the ".next",
 * which it does not restore, and started afresh). */
static bool state_new_here(const gen_standby_t *s) {
  for (size_t i = 0; i < s->n_paths; i++)
    if (access(s->paths[i], F_OK) == 0 &&
        file_find(s->sent, s->n_sent, base_of(s->paths[i])) == NULL)
      return true;
  return false;
}

/* After a copy moved: the pieces its rounds put that no manifest names (a
 * piece put, then changed before the copy was whole; a directory left),
 * deleted a transaction of up to 64 at a time. A failure leaves them. */
static void sweep_moving(gen_standby_t *s, const sync_t *y) {
  char key[2048], why[512];
  txn_t t = TXN_INIT(64, SIZE_MAX);
  int status = 0;
  for (size_t k = 0; status == 0 && k < s->n_moving; k++) {
    const file_t *m = &s->moving[k];
    const file_t *f = file_find(y->now, y->n_now, m->name);
    for (size_t i = 0;
         status == 0 && f != NULL && f->gen == m->gen && i < m->n_pieces; i++)
      if (m->pieces[i] != 0 &&
          (i >= f->n_pieces || m->pieces[i] != f->pieces[i])) {
        piece_key(s, m->name, m->gen, i, m->pieces[i], key, sizeof(key));
        status = txn_add(s, &t, key, NULL, 0, false, why, sizeof(why));
      }
    if (status == 0 && (f == NULL || f->gen != m->gen)) {
      gen_dir(s, m->name, m->gen, key, sizeof(key));
      status = txn_add(s, &t, key, NULL, 0, true, why, sizeof(why));
    }
  }
  if (status == 0)
    txn_run(s, &t, why, sizeof(why));
  free(t.ops.data);
  files_free(s->moving, s->n_moving);
  s->moving = NULL, s->n_moving = 0;
}

int gen_standby_sync(gen_standby_t *s, bool now) {
  /* each copy is a new revision of the files in etcd: not at every read;
   * a copy in progress goes on at the next */
  if (!now && s->synced != 0 && gen_monotonic() - s->synced < s->sync_every &&
      !state_new_here(s))
    return 0;
  s->synced = gen_monotonic();
  if (s->sweep_due && s->n_moving == 0) /* no copy in progress */
    s->sweep_due = sweep_unnamed(s) != 0;
  sync_t y = {0};
  plan_t plan = {0};
  char why[512] = "";
  bool changed = false;
  char *buf = malloc(s->piece);
  int status = buf != NULL ? 0 : -ENOMEM;
  for (size_t i = 0; status == 0 && i < s->n_paths; i++)
    status = scan_path(s, s->paths[i], &y, buf);
  s->slice_end = gen_monotonic() + s->slice, s->slice_put = false;
  for (size_t i = 0; status == 0 && i < y.n_now; i++) {
    file_t *f = &y.now[i];
    const file_t *had = file_find(s->sent, s->n_sent, f->name);
    if (had != NULL && had->hash == f->hash) {
      f->gen = had->gen; /* the same content (a file written again) */
      continue;
    }
    changed = true;
    status = put_pieces(s, had, f, buf, why, sizeof(why));
    if (status == 0)
      status = manifest_ops(s, had, f, &plan);
  }
  /* what etcd holds that no longer is (a ".next" renamed) */
  for (size_t i = 0; status == 0 && i < s->n_sent; i++) {
    const file_t *gone = &s->sent[i];
    if (file_find(y.now, y.n_now, gone->name) != NULL)
      continue;
    changed = true;
    status = manifest_ops(s, gone, NULL, &plan);
  }
  /* the manifests move at once (plan_move), then the pieces they no longer
   * name go */
  if (status == 0 && changed)
    status = plan_move(s, &plan, why, sizeof(why));
  if (status == 0)
    plan_delete(s, &plan);
  plan_free(&plan);
  free(buf);
  if (status == 0) {
    sweep_moving(s, &y);
    files_free(s->sent, s->n_sent);
    for (size_t i = 0; i < y.n_now; i++) { /* kept: hashes only */
      free(y.now[i].path);
      y.now[i].path = NULL;
    }
    s->sent = y.now, s->n_sent = y.n_now;
    return 0;
  }
  files_free(y.now, y.n_now);
  if (status == -EINPROGRESS) {
    s->synced = 0;
    return 0;
  }
  gen_log_org(&s->who, &s->complain, LOG_ERR,
              "etcd: state not copied (%s); a take-over now would start "
              "from the state copied last",
              why[0] ? why : gen_strerror(status));
  atomic_fetch_add(&s->sync_failed, 1);
  return status;
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
  gen_config_string_list_free(s->urls, s->n_urls);
  gen_org_free(s->notices);
  free(s->ca);
  free(s->cert);
  free(s->cert_key);
  gen_config_string_list_free(s->paths, s->n_paths);
  files_free(s->sent, s->n_sent);
  files_free(s->moving, s->n_moving);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->cond);
  free(s);
}
