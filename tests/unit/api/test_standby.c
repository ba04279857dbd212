/* SPDX-License-Identifier: MIT */
/* Unit tests: the standby's election (its lease on a clock that counts
 * suspend, its fence, what it says when etcd is out of reach past it) and
 * its state copy's bookkeeping (manifests, a copy over several reads, the
 * deletes and sweeps of pieces no manifest names, etcd's transaction
 * bound). Two stand-ins of etcd: one on a loopback port answering its JSON
 * gateway's few requests over HTTP (the client's own handle), and a fake
 * gateway in memory behind gen_etcd_post (keys, revisions, leases,
 * transactions and their compares, as etcd keeps them) which the steps of
 * the election and the copies are driven against, one at a time, through
 * gen_standby_private.h. The lease clock is the test's (gen_lease_clock),
 * so that a suspend is a jump. */
#include "curl_policy.h"
#include "gen_dispatch.h"
#include "gen_standby_private.h"
#include "gen_time.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PLUGIN "genesys_realtime"

/* ---- an etcd stand-in ---------------------------------------------------- */

typedef struct {
  int lfd, port;
  int ttl;          /* the TTL a grant and a keep-alive answer */
  atomic_bool down; /* every request answered 503, as etcd out of reach */
  atomic_int requests;
  pthread_t thread;
} fake_etcd_t;

/* One request read (its head and its Content-Length of body); its path
 * into path. False when the client went away. */
static bool read_request(int fd, char *path, size_t size) {
  char buf[16384] = "";
  size_t got = 0;
  char *end = NULL;
  while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
    ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
    if (r <= 0)
      return false;
    got += (size_t)r;
    buf[got] = '\0';
  }
  if (sscanf(buf, "POST %255s", path) != 1 || size < 256)
    return false;
  const char *cl = strcasestr(buf, "Content-Length:");
  size_t want = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
  size_t body = got - (size_t)(end + 4 - buf);
  if (strcasestr(buf, "Expect: 100-continue") != NULL &&
      send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL) < 0)
    return false;
  while (body < want) {
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r <= 0)
      return false;
    body += (size_t)r;
  }
  return true;
}

static void *serve(void *arg) {
  fake_etcd_t *e = arg;
  for (;;) {
    int fd = accept(e->lfd, NULL, NULL);
    if (fd < 0)
      return NULL; /* shut down */
    char path[256], body[256], answer[512];
    if (!read_request(fd, path, sizeof(path))) {
      close(fd);
      continue;
    }
    atomic_fetch_add(&e->requests, 1);
    int code = atomic_load(&e->down) ? 503 : 200;
    if (code != 200)
      snprintf(body, sizeof(body), "{\"error\":\"etcdserver: no leader\"}");
    else if (strcmp(path, "/v3/lease/grant") == 0)
      snprintf(body, sizeof(body), "{\"ID\":\"7\",\"TTL\":\"%d\"}", e->ttl);
    else if (strcmp(path, "/v3/lease/keepalive") == 0)
      snprintf(body, sizeof(body), "{\"result\":{\"ID\":\"7\",\"TTL\":\"%d\"}}",
               e->ttl);
    else if (strcmp(path, "/v3/kv/txn") == 0) /* the key taken */
      snprintf(body, sizeof(body),
               "{\"header\":{\"revision\":\"5\"},\"succeeded\":true}");
    else
      snprintf(body, sizeof(body), "{\"header\":{}}");
    int n = snprintf(answer, sizeof(answer),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     code, code == 200 ? "OK" : "Service Unavailable",
                     strlen(body), body);
    if (send(fd, answer, (size_t)n, MSG_NOSIGNAL) < 0)
      fprintf(stderr, "fake etcd: %s\n", strerror(errno));
    close(fd);
  }
}

static int fake_etcd_start(fake_etcd_t *e, int ttl) {
  *e = (fake_etcd_t){.ttl = ttl};
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (e->lfd < 0 || bind(e->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(e->lfd, 16) != 0 ||
      getsockname(e->lfd, (struct sockaddr *)&sa, &len) != 0)
    return -errno;
  e->port = ntohs(sa.sin_port);
  return pthread_create(&e->thread, NULL, serve, e);
}

static void fake_etcd_stop(fake_etcd_t *e) {
  shutdown(e->lfd, SHUT_RDWR); /* accept() returns */
  pthread_join(e->thread, NULL);
  close(e->lfd);
}

/* ---- the lease clock ----------------------------------------------------- */

static _Atomic cdtime_t fake_now;
static cdtime_t fake_clock(void) { return atomic_load(&fake_now); }

/* An org with a standby on e (host "acme", agent "a"), started. */
static gen_standby_t *standby_on(const fake_etcd_t *e, int ttl) {
  gen_org_t *org = gen_org_create(PLUGIN, "acme");
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d", e->port);
  org->host = strdup("acme");
  org->standby_etcd = calloc(1, sizeof(char *));
  org->standby_etcd[0] = strdup(url);
  org->standby_etcd_n = 1;
  org->standby_ttl = TIME_T_TO_CDTIME_T(ttl);
  org->standby_name = strdup("a");
  gen_standby_t *s = gen_standby_start(org, PLUGIN);
  gen_org_free(org); /* as gen_plugin: the standby keeps what it needs */
  return s;
}

/* Waits up to 20 s (real time) for cond; its last value. */
#define WAIT_FOR(cond)                                                         \
  ({                                                                           \
    bool ok_ = false;                                                          \
    for (int i_ = 0; i_ < 200 && !(ok_ = (cond)); i_++)                        \
      usleep(100 * 1000);                                                      \
    ok_;                                                                       \
  })

/* A holder resumed from a suspend longer than its lease: its fence, on
 * the lease clock, is closed the moment it resumes (on CLOCK_MONOTONIC,
 * stopped while suspended, it held for up to its TTL more while the other
 * agent already held the key). The TTL is the longest (60 s): its next
 * keep-alive is 20 s away, so nothing but the clock closes the fence. */
DEF_TEST(suspend_closes_the_fence) {
  fake_etcd_t e;
  CHECK_ZERO(fake_etcd_start(&e, 60));
  atomic_store(&fake_now, gen_boottime());
  gen_lease_clock = fake_clock;
  gen_standby_t *s = standby_on(&e, 60);
  OK(s != NULL);
  OK(WAIT_FOR(gen_standby_holding(s)));
  OK(!gen_dispatch_fence_closed("acme", PLUGIN));
  /* 59 s on, not suspended: still within the lease */
  atomic_fetch_add(&fake_now, TIME_T_TO_CDTIME_T(58));
  OK(gen_standby_holding(s));
  /* suspended an hour */
  atomic_fetch_add(&fake_now, TIME_T_TO_CDTIME_T(3600));
  OK(!gen_standby_holding(s));
  OK(gen_dispatch_fence_closed("acme", PLUGIN));
  gen_standby_stop(s);
  fake_etcd_stop(&e);
  gen_lease_clock = gen_boottime;
  return 0;
}

/* etcd out of reach past the fence: the holder stops and says so (a
 * FAILURE notification standby_stopped under the agent's own host, the
 * self-metric 1); once etcd answers and the key is taken again, an OKAY
 * and 0. */
DEF_TEST(etcd_out_of_reach_is_said) {
  fake_etcd_t e;
  CHECK_ZERO(fake_etcd_start(&e, 3));
  atomic_store(&fake_now, gen_boottime());
  gen_lease_clock = fake_clock;
  mock_notifs_reset();
  mock_values_reset();
  gen_standby_t *s = standby_on(&e, 3);
  OK(s != NULL);
  OK(WAIT_FOR(gen_standby_holding(s)));
  gen_standby_dispatch_self(s);
  mock_value_t *v = mock_find("standby", "standby_stopped", "acme");
  OK(v != NULL && v->value.gauge == 0);
  atomic_store(&e.down, true);
  atomic_fetch_add(&fake_now, TIME_T_TO_CDTIME_T(10)); /* past the fence */
  OK(WAIT_FOR(mock_notifs_count(NOTIF_FAILURE, "standby", "standby_stopped",
                                "acme") == 1));
  OK(!gen_standby_holding(s));
  OK(mock_notifs[mock_notifs_num - 1].time != 0);
  bool agent_host = false;
  for (size_t i = 0; i < mock_notifs_num; i++)
    if (strcmp(mock_notifs[i].type, "standby_stopped") == 0)
      agent_host = strcmp(mock_notifs[i].host, hostname_g) == 0 &&
                   strstr(mock_notifs[i].message, "etcd out of reach") != NULL;
  OK(agent_host);
  mock_values_reset();
  gen_standby_dispatch_self(s);
  v = mock_find("standby", "standby_stopped", "acme");
  OK(v != NULL && v->value.gauge == 1);
  atomic_store(&e.down, false);
  OK(WAIT_FOR(mock_notifs_count(NOTIF_OKAY, "standby", "standby_stopped",
                                "acme") == 1));
  OK(WAIT_FOR(gen_standby_holding(s)));
  mock_values_reset();
  gen_standby_dispatch_self(s);
  v = mock_find("standby", "standby_stopped", "acme");
  OK(v != NULL && v->value.gauge == 0);
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_FAILURE, "standby",
                                          "standby_stopped", "acme"));
  gen_standby_stop(s);
  fake_etcd_stop(&e);
  gen_lease_clock = gen_boottime;
  return 0;
}

/* etcd's client: one handle for all its requests, with the policy every
 * handle gets, and no proxy, not even the environment's: an http_proxy
 * that would answer (the stand-in itself) is not asked, a host that does
 * not resolve fails. */
DEF_TEST(etcd_client_one_handle_no_proxy) {
  fake_etcd_t e;
  CHECK_ZERO(fake_etcd_start(&e, 10));
  char url[64], err[256], why[512];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d", e.port);
  char *urls[] = {url};
  policy_watch();
  gen_etcd_t *c =
      gen_etcd_new(urls, 1, NULL, NULL, NULL, 2000, err, sizeof(err));
  OK(c != NULL);
  size_t applied = policy_n;
  gen_curl_policy_seen = NULL;
  EXPECT_EQ_INT(1, (int)policy_number(CURLOPT_SSL_VERIFYPEER));
  EXPECT_EQ_INT(2, (int)policy_number(CURLOPT_SSL_VERIFYHOST));
  EXPECT_EQ_INT(0, (int)policy_number(CURLOPT_FOLLOWLOCATION));
  OK(policy_text_is(CURLOPT_PROTOCOLS_STR, "http,https"));
  gen_curl_policy_seen = policy_record;
  for (int i = 0; i < 3; i++) {
    json_object *answer = NULL;
    EXPECT_EQ_INT(0, gen_etcd_post(c, "/v3/lease/grant", "{\"TTL\":\"10\"}",
                                   &answer, why, sizeof(why)));
    EXPECT_EQ_INT(7, (int)gen_etcd_num(answer, "ID"));
    json_object_put(answer);
  }
  EXPECT_EQ_INT((int)applied, (int)policy_n); /* no handle made again */
  gen_curl_policy_seen = NULL;
  gen_etcd_free(c);
  EXPECT_EQ_INT(3, atomic_load(&e.requests));
  setenv("http_proxy", url, 1);
  char *far[] = {"http://etcd.invalid:2379"};
  c = gen_etcd_new(far, 1, NULL, NULL, NULL, 2000, err, sizeof(err));
  OK(c != NULL);
  json_object *answer = NULL;
  OK(gen_etcd_post(c, "/v3/lease/grant", "{\"TTL\":\"10\"}", &answer, why,
                   sizeof(why)) < 0);
  OK(answer == NULL);
  EXPECT_EQ_INT(3, atomic_load(&e.requests)); /* the proxy never asked */
  unsetenv("http_proxy");
  gen_etcd_free(c);
  fake_etcd_stop(&e);
  return 0;
}

/* ---- a fake gateway: etcd's keys, leases and transactions in memory ----- */

typedef struct {
  char *key, *val;
  size_t len;
  int64_t create, mod, lease;
} kv_t;

static struct {
  kv_t kv[4096];
  size_t n;
  int64_t rev, leases, lease_alive[64];
  bool down;            /* every request fails, as etcd out of reach */
  int fail_state_reads; /* ranges of a "/state/" prefix that fail */
  int fail_deletes;     /* transactions with a delete that fail */
  size_t txns, max_ops, max_deletes;
} F;

static void fake_reset(void) {
  for (size_t i = 0; i < F.n; i++)
    free(F.kv[i].key), free(F.kv[i].val);
  memset(&F, 0, sizeof(F));
  F.rev = 1;
}

static kv_t *fake_get(const char *key) {
  for (size_t i = 0; i < F.n; i++)
    if (strcmp(F.kv[i].key, key) == 0)
      return &F.kv[i];
  return NULL;
}

static void fake_put(const char *key, const char *val, size_t len,
                     int64_t lease) {
  kv_t *kv = fake_get(key);
  if (kv == NULL) {
    kv = &F.kv[F.n++];
    *kv = (kv_t){.key = strdup(key), .create = F.rev};
  }
  free(kv->val);
  kv->val = malloc(len + 1);
  memcpy(kv->val, val, len);
  kv->val[len] = '\0';
  kv->len = len, kv->mod = F.rev, kv->lease = lease;
}

static void fake_del(size_t i) {
  free(F.kv[i].key), free(F.kv[i].val);
  F.kv[i] = F.kv[--F.n];
}

static void fake_del_key(const char *key) {
  for (size_t k = F.n; k-- > 0;)
    if (strcmp(F.kv[k].key, key) == 0)
      fake_del(k);
}

/* Whether key lies in the request's range (key, range_end: both decoded). */
static bool in_range(const char *key, const char *from, const char *end) {
  return end == NULL ? strcmp(key, from) == 0
                     : strcmp(key, from) >= 0 && strcmp(key, end) < 0;
}

static char *field(json_object *o, const char *name) {
  return gen_etcd_unb64(gen_json_get_string(o, name), NULL);
}

static int by_key(const void *a, const void *b) {
  return strcmp((*(kv_t *const *)a)->key, (*(kv_t *const *)b)->key);
}

/* A range request's answer: {"kvs": [...]} of the keys in range, sorted. */
static json_object *fake_range(json_object *req) {
  char *from = field(req, "key"), *end = field(req, "range_end");
  kv_t *hit[4096];
  size_t n = 0;
  for (size_t i = 0; i < F.n; i++)
    if (in_range(F.kv[i].key, from, end))
      hit[n++] = &F.kv[i];
  qsort(hit, n, sizeof(*hit), by_key);
  json_object *kvs = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *kv = json_object_new_object();
    gen_buf_t b = GEN_BUF_INIT(SIZE_MAX);
    gen_etcd_add_b64(&b, hit[i]->key);
    json_object_object_add(kv, "key",
                           json_object_new_string_len(b.data, (int)b.len));
    b.len = 0;
    gen_buf_add_base64(&b, hit[i]->val, hit[i]->len);
    if (!json_object_object_get_ex(req, "keys_only", NULL))
      json_object_object_add(kv, "value",
                             json_object_new_string_len(b.data, (int)b.len));
    free(b.data);
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)hit[i]->create);
    json_object_object_add(kv, "create_revision", json_object_new_string(num));
    snprintf(num, sizeof(num), "%lld", (long long)hit[i]->lease);
    json_object_object_add(kv, "lease", json_object_new_string(num));
    json_object_array_add(kvs, kv);
  }
  json_object *answer = json_object_new_object();
  json_object_object_add(answer, "kvs", kvs);
  free(from), free(end);
  return answer;
}

/* A transaction: its compares (CREATE revisions) decide which branch runs;
 * past 128 operations refused, as etcd's default --max-txn-ops. */
static int fake_txn(json_object *req, json_object **answer, char *why,
                    size_t why_size) {
  json_object *cmp = gen_json_get_array(req, "compare");
  bool ok = true;
  for (size_t i = 0; cmp != NULL && i < json_object_array_length(cmp); i++) {
    json_object *c = json_object_array_get_idx(cmp, i);
    char *key = field(c, "key");
    kv_t *kv = fake_get(key);
    ok = ok &&
         (kv != NULL ? kv->create : 0) == gen_etcd_num(c, "create_revision");
    free(key);
  }
  json_object *ops = gen_json_get_array(req, ok ? "success" : "failure");
  size_t n = ops != NULL ? json_object_array_length(ops) : 0, deletes = 0;
  for (size_t i = 0; i < n; i++)
    deletes += gen_json_get_object(json_object_array_get_idx(ops, i),
                                   "request_delete_range") != NULL;
  if (n > TXN_OPS_MAX) {
    snprintf(why, why_size, "HTTP 400: etcdserver: too many operations");
    return -EIO;
  }
  if (deletes > 0 && F.fail_deletes > 0) {
    F.fail_deletes--;
    snprintf(why, why_size, "fake: a delete failed");
    return -EIO;
  }
  F.txns++, F.rev++;
  F.max_ops = n > F.max_ops ? n : F.max_ops;
  F.max_deletes = deletes > F.max_deletes ? deletes : F.max_deletes;
  json_object *responses = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *op = json_object_array_get_idx(ops, i), *r;
    if ((r = gen_json_get_object(op, "request_put")) != NULL) {
      char *key = field(r, "key");
      size_t len = 0;
      char *val = gen_etcd_unb64(gen_json_get_string(r, "value"), &len);
      fake_put(key, val, len, gen_etcd_num(r, "lease"));
      free(key), free(val);
    } else if ((r = gen_json_get_object(op, "request_delete_range")) != NULL) {
      char *from = field(r, "key"), *end = field(r, "range_end");
      for (size_t k = F.n; k-- > 0;)
        if (in_range(F.kv[k].key, from, end))
          fake_del(k);
      free(from), free(end);
    } else if ((r = gen_json_get_object(op, "request_range")) != NULL) {
      json_object *one = json_object_new_object();
      json_object_object_add(one, "response_range", fake_range(r));
      json_object_array_add(responses, one);
    }
  }
  *answer = json_object_new_object();
  json_object *header = json_object_new_object();
  char num[32];
  snprintf(num, sizeof(num), "%lld", (long long)F.rev);
  json_object_object_add(header, "revision", json_object_new_string(num));
  json_object_object_add(*answer, "header", header);
  json_object_object_add(*answer, "succeeded", json_object_new_boolean(ok));
  json_object_object_add(*answer, "responses", responses);
  return 0;
}

static int fake_post(gen_etcd_t *e, const char *path, const char *body,
                     json_object **answer, char *why, size_t why_size) {
  *answer = NULL;
  json_object *req = json_tokener_parse(body);
  OK(req != NULL);
  int status = 0;
  char *key = field(req, "key");
  if (F.down) {
    snprintf(why, why_size, "fake: etcd out of reach");
    status = -EIO;
  } else if (strcmp(path, "/v3/kv/txn") == 0)
    status = fake_txn(req, answer, why, why_size);
  else if (strcmp(path, "/v3/kv/range") == 0) {
    if (key != NULL && strstr(key, "/state/") != NULL &&
        F.fail_state_reads > 0) {
      F.fail_state_reads--;
      snprintf(why, why_size, "fake: timed out");
      status = -ETIMEDOUT;
    } else
      *answer = fake_range(req);
  } else {
    char text[128];
    int64_t id = gen_etcd_num(req, "ID");
    if (strcmp(path, "/v3/lease/grant") == 0)
      F.lease_alive[id = ++F.leases] = 1;
    else if (strcmp(path, "/v3/lease/revoke") == 0) {
      F.lease_alive[id] = 0;
      for (size_t k = F.n; k-- > 0;)
        if (F.kv[k].lease == id)
          fake_del(k);
    }
    snprintf(text, sizeof(text),
             "{\"result\":{\"ID\":\"%lld\",\"TTL\":\"%d\"}}", (long long)id,
             F.lease_alive[id] ? 10 : 0);
    *answer = json_tokener_parse(text);
  }
  free(key);
  json_object_put(req);
  return status;
}

/* An org's standby on the fake gateway ("acme", agent name), no thread:
 * its steps are the test's; pieces of 16 bytes. */
static gen_standby_t *fake_standby(const char *name) {
  gen_org_t *org = gen_org_create("genesys_analytics", "acme");
  org->host = strdup("acme");
  org->standby_etcd = calloc(1, sizeof(char *));
  org->standby_etcd[0] = strdup("http://etcd.invalid:2379");
  org->standby_etcd_n = 1;
  org->standby_name = strdup(name);
  org->standby_piece = 16;
  gen_standby_t *s = gen_standby_new(org, "genesys_analytics");
  gen_org_free(org);
  s->retry_ms = 0;
  return s;
}

#define ROOT "/collectd-genesys/acme/1-1/genesys_analytics/"

/* The state paths s copies: one, path. */
static void copies(gen_standby_t *s, const char *path) {
  s->paths = calloc(1, sizeof(char *));
  s->paths[0] = strdup(path);
  s->n_paths = 1;
}

/* text: n times line. */
static char *repeat(char *text, int n, const char *line) {
  text[0] = '\0';
  for (int i = 0; i < n; i++)
    strcat(text, line);
  return text;
}

/* Written as gen_state writes a state file: a new file renamed over the
 * last (a file written in place within the clock's tick would look
 * unchanged by its size and time). */
static void write_file(const char *path, const char *text) {
  char tmp[512];
  snprintf(tmp, sizeof(tmp), "%s.tmp.1", path);
  FILE *f = fopen(tmp, "w");
  fputs(text, f);
  fclose(f);
  rename(tmp, path);
}

/* The keys under data/ that no manifest under state/ names, and the pieces
 * manifests name that etcd lacks: both 0 when the copy's bookkeeping is
 * whole. */
static void unnamed_and_missing(size_t *unnamed, size_t *missing) {
  static char named[4096][512]; /* 2 MiB: not on the stack */
  size_t n = 0;
  *unnamed = *missing = 0;
  for (size_t i = 0; i < F.n; i++) {
    if (strncmp(F.kv[i].key, ROOT "state/", strlen(ROOT "state/")) != 0)
      continue;
    const char *name = F.kv[i].key + strlen(ROOT "state/");
    char *save = NULL, *m = strdup(F.kv[i].val);
    strtok_r(m, " ", &save); /* hash */
    long pieces = atol(strtok_r(NULL, " ", &save));
    strtok_r(NULL, " ", &save); /* bytes */
    const char *gen = strtok_r(NULL, " ", &save);
    for (long p = 0; p < pieces; p++) {
      snprintf(named[n], sizeof(named[n]), ROOT "data/%s/%s/%ld.%s", name, gen,
               p, strtok_r(NULL, " ", &save));
      *missing += fake_get(named[n++]) == NULL;
    }
    free(m);
  }
  for (size_t i = 0; i < F.n; i++) {
    bool is_named = strncmp(F.kv[i].key, ROOT "data/", strlen(ROOT "data/"));
    for (size_t j = 0; !is_named && j < n; j++)
      is_named = strcmp(F.kv[i].key, named[j]) == 0;
    *unnamed += !is_named;
  }
}

static char dir[] = "/tmp/test_standby.XXXXXX";

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw) {
  return remove(path);
}

/* The fake gateway anew, and agent "a" holding the key on it, copying the
 * state path file of dir (into path), written with text unless NULL. */
static gen_standby_t *holder_copying(const char *file, const char *text,
                                     char *path, size_t size) {
  fake_reset();
  gen_etcd_post = fake_post;
  snprintf(path, size, "%s/%s", dir, file);
  if (text != NULL)
    write_file(path, text);
  gen_standby_t *s = fake_standby("a");
  copies(s, path);
  gen_standby_elect_t st = {0};
  gen_standby_elect(s, &st);
  return s;
}

static void done(gen_standby_t *s) {
  gen_standby_stop(s);
  gen_etcd_post = gen_etcd_post_curl;
}

/* Every piece etcd holds is one a manifest names, and every piece a
 * manifest names is there. */
static int bookkeeping_whole(void) {
  size_t unnamed, missing;
  unnamed_and_missing(&unnamed, &missing);
  EXPECT_EQ_INT(0, (int)unnamed);
  EXPECT_EQ_INT(0, (int)missing);
  return 0;
}

/* The election, step by step: the key taken on a new lease, the fence a
 * second before the lease can expire (counted from when the grant was
 * sent), moved by each keep-alive; a keep-alive that fails leaves the
 * fence where it was; past it the holder stops and says so. */
DEF_TEST(election_fence) {
  fake_reset();
  gen_etcd_post = fake_post;
  gen_lease_clock = fake_clock;
  cdtime_t t0 = gen_boottime();
  atomic_store(&fake_now, t0);
  mock_notifs_reset();
  gen_standby_t *s = fake_standby("a");
  gen_standby_elect_t st = {0};
  gen_standby_elect(s, &st);
  OK(gen_standby_holding(s));
  kv_t *key = fake_get(ROOT "holder");
  OK(key != NULL && strcmp(key->val, "a") == 0 && key->lease == st.lease);
  atomic_store(&fake_now, t0 + TIME_T_TO_CDTIME_T(9) - 1);
  OK(gen_standby_holding(s));
  OK(!gen_dispatch_fence_closed("acme", "genesys_analytics"));
  atomic_store(&fake_now, t0 + TIME_T_TO_CDTIME_T(9));
  OK(!gen_standby_holding(s));
  OK(gen_dispatch_fence_closed("acme", "genesys_analytics"));
  /* a keep-alive at 3 s: open again, until 12 s */
  atomic_store(&fake_now, t0 + TIME_T_TO_CDTIME_T(3));
  gen_standby_elect(s, &st);
  atomic_store(&fake_now, t0 + TIME_T_TO_CDTIME_T(12) - 1);
  OK(gen_standby_holding(s));
  /* etcd out of reach: a failed keep-alive at 6 s moves nothing */
  F.down = true;
  atomic_store(&fake_now, t0 + TIME_T_TO_CDTIME_T(6));
  gen_standby_elect(s, &st);
  atomic_store(&fake_now, t0 + TIME_T_TO_CDTIME_T(12));
  OK(!gen_standby_holding(s));
  gen_standby_elect(s, &st); /* past the fence: stopped, said */
  OK(!atomic_load(&s->holding));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_FAILURE, "standby",
                                          "standby_stopped", "acme"));
  gen_standby_stop(s);
  gen_lease_clock = gen_boottime;
  gen_etcd_post = gen_etcd_post_curl;
  return 0;
}

/* A key another agent holds is not taken (the create compare: absent
 * only); the standby names the holder and waits. */
DEF_TEST(election_other_holds) {
  fake_reset();
  gen_etcd_post = fake_post;
  fake_put(ROOT "holder", "b", 1, 9);
  F.lease_alive[9] = 1;
  gen_standby_t *s = fake_standby("a");
  gen_standby_elect_t st = {0};
  gen_standby_elect(s, &st);
  OK(!gen_standby_holding(s));
  EXPECT_EQ_STR("b", s->holder);
  EXPECT_EQ_STR("b", fake_get(ROOT "holder")->val);
  done(s);
  return 0;
}

/* A holder that took the key, copied its state, and whose key another
 * agent then took (its lease expired, a new key created): its next copy
 * is refused by the key's create revision, nothing of it lands, and it
 * is counted. Then a take-over restores the copy, byte for byte. */
DEF_TEST(copy_fenced_and_restored) {
  char path[256], text[400] = "";
  repeat(text, 20, "line ---- ---- \n"); /* 20 pieces of 16 bytes */
  gen_standby_t *s =
      holder_copying("analytics-acme.json", text, path, sizeof(path));
  OK(gen_standby_holding(s));
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  CHECK_ZERO(bookkeeping_whole());
  char *manifest = strdup(fake_get(ROOT "state/analytics-acme.json")->val);
  OK(strstr(manifest, " 20 320 ") != NULL);

  /* b takes the key after a's lease expired */
  fake_del_key(ROOT "holder");
  F.rev++;
  fake_put(ROOT "holder", "b", 1, 0);
  text[0] = 'X';
  write_file(path, text);
  size_t before = F.n;
  OK(gen_standby_sync(s, true) < 0);
  EXPECT_EQ_STR(manifest, fake_get(ROOT "state/analytics-acme.json")->val);
  EXPECT_EQ_INT((int)before, (int)F.n); /* not even its piece */
  EXPECT_EQ_INT(1, (int)atomic_load(&s->sync_failed));
  gen_standby_stop(s);

  /* b's take-over: the copy a made, whole; the pieces no manifest names
   * (of a copy in progress when its holder lost the key; a replaced piece
   * whose delete failed) deleted */
  fake_put(ROOT "data/analytics-acme.json/00000000deadbeef/0.0123456789abcdef",
           "left", 4, 0);
  char gen[17] = "", stray[512];
  OK(sscanf(manifest, "%*s %*s %*s %16s", gen) == 1);
  snprintf(stray, sizeof(stray),
           ROOT "data/analytics-acme.json/%s/99.0123456789abcdef", gen);
  fake_put(stray, "stray", 5, 0);
  char to[256];
  snprintf(to, sizeof(to), "%s/b", dir);
  mkdir(to, 0700);
  snprintf(to, sizeof(to), "%s/b/analytics-acme.json", dir);
  gen_standby_t *b = fake_standby("b");
  fake_del_key(ROOT "holder"); /* b's key of before: its own election's */
  gen_standby_elect_t st = {0};
  gen_standby_elect(b, &st);
  OK(gen_standby_holding(b));
  OK(gen_standby_watch_begin(b, true));
  CHECK_ZERO(bookkeeping_whole());
  OK(fake_get(stray) == NULL);
  b->watch.path(b->watch.ud, to);
  gen_standby_watch_end(b);
  FILE *f = fopen(to, "r");
  char got[400] = "";
  OK(f != NULL && fread(got, 1, sizeof(got) - 1, f) == 320);
  fclose(f);
  text[0] = 'l';
  EXPECT_EQ_STR(text, got);
  gen_standby_stop(b);
  free(manifest);
  gen_etcd_post = gen_etcd_post_curl;
  return 0;
}

/* The copy's bookkeeping: a few pieces changed keep the directory, the
 * replaced ones deleted; a file rewritten goes under a new directory, the
 * old one deleted; a delete that fails leaves pieces that the next copy
 * sweeps. After each, every piece etcd holds is one a manifest names and
 * every piece a manifest names is there. */
DEF_TEST(copy_deletes_and_sweeps) {
  char path[256], text[400] = "";
  repeat(text, 20, "piece --- ----\n\n");
  gen_standby_t *s =
      holder_copying("sweep-acme.json", text, path, sizeof(path));
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  size_t unnamed, missing, data = F.n;
  /* three pieces changed: the same directory, three deleted */
  text[0] = text[16 * 5] = text[16 * 9] = 'P';
  write_file(path, text);
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  EXPECT_EQ_INT((int)data, (int)F.n);
  CHECK_ZERO(bookkeeping_whole());
  /* rewritten whole: a new directory, the old deleted */
  memset(text, 'r', 320);
  for (int i = 0; i < 20; i++)
    text[16 * i] = (char)('a' + i);
  write_file(path, text);
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  EXPECT_EQ_INT((int)data, (int)F.n);
  CHECK_ZERO(bookkeeping_whole());
  /* the deletes fail: the replaced pieces stay, named by nothing */
  text[16] = 'Q';
  write_file(path, text);
  F.fail_deletes = 1;
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  unnamed_and_missing(&unnamed, &missing);
  EXPECT_EQ_INT(1, (int)unnamed);
  EXPECT_EQ_INT(0, (int)missing);
  /* the next copy sweeps them, the file unchanged */
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  CHECK_ZERO(bookkeeping_whole());
  EXPECT_EQ_INT(0, (int)atomic_load(&s->sync_failed));
  done(s);
  return 0;
}

/* A copy that needs more than a read's share goes on at the next reads
 * (a share of 0: one piece a read), its manifest moved only when every
 * piece is in; the file cut short meanwhile, the pieces put past its new
 * end are swept when the manifest moves. */
DEF_TEST(copy_goes_on_over_reads) {
  char path[256], text[200] = "";
  repeat(text, 6, "0123456789abcde\n");
  gen_standby_t *s = holder_copying("slow-acme.json", text, path, sizeof(path));
  s->slice = 0;
  for (int read = 1; read <= 3; read++) {
    EXPECT_EQ_INT(0, gen_standby_sync(s, true));
    OK(fake_get(ROOT "state/slow-acme.json") == NULL);
    EXPECT_EQ_INT(16 * read, (int)atomic_load(&s->copied_bytes));
  }
  text[32] = '\0'; /* cut to two of the three pieces put */
  write_file(path, text);
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  OK(fake_get(ROOT "state/slow-acme.json") != NULL);
  CHECK_ZERO(bookkeeping_whole());
  done(s);
  return 0;
}

/* A piece put by a copy in progress, then changed before the copy was
 * whole: put again, and the piece it replaced, named by no manifest,
 * deleted with it (it was left in etcd until a take-over swept it). */
DEF_TEST(copy_replaces_its_own_piece) {
  char path[256], text[200] = "";
  repeat(text, 3, "0123456789abcde\n");
  gen_standby_t *s =
      holder_copying("replaced-acme.json", text, path, sizeof(path));
  s->slice = 0;
  EXPECT_EQ_INT(0, gen_standby_sync(s, true)); /* piece 0 put */
  text[0] = 'X';
  write_file(path, text);
  for (int read = 0; read < 3; read++)
    EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  OK(fake_get(ROOT "state/replaced-acme.json") != NULL);
  EXPECT_EQ_INT(4 * 16, (int)atomic_load(&s->copied_bytes));
  CHECK_ZERO(bookkeeping_whole());
  done(s);
  return 0;
}

/* 140 new files and then 20 of them with 8 pieces replaced: every
 * manifest moves and every replaced piece goes, no transaction past etcd's
 * 128 operations (the fake refuses it, as etcd does), deletes 64 at most
 * a transaction. */
DEF_TEST(copy_within_txn_bound) {
  char path[256], name[300], text[200];
  gen_standby_t *s = holder_copying("many-acme.json", NULL, path, sizeof(path));
  for (int i = 0; i < 140; i++) {
    snprintf(name, sizeof(name), "%s.%03d", path, i);
    snprintf(text, sizeof(text),
             "%-16d%-16d%-16d%-16d%-16d%-16d%-16d%-16d"
             "%-16d%-16d",
             i, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    write_file(name, text);
  }
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof(name), "%s.%03d", path, i);
    snprintf(text, sizeof(text),
             "%-16d%-16d%-16d%-16d%-16d%-16d%-16d%-16d"
             "%-16d%-16d",
             i, -1, -2, -3, -4, -5, -6, -7, -8, 9);
    write_file(name, text);
  }
  EXPECT_EQ_INT(0, gen_standby_sync(s, true));
  size_t manifests = 0;
  CHECK_ZERO(bookkeeping_whole());
  for (size_t i = 0; i < F.n; i++)
    manifests +=
        strncmp(F.kv[i].key, ROOT "state/", strlen(ROOT "state/")) == 0;
  EXPECT_EQ_INT(140, (int)manifests);
  OK(F.max_ops <= TXN_OPS_MAX);
  OK(F.max_deletes > 0 && F.max_deletes <= DELETE_BATCH);
  done(s);
  return 0;
}

/* A take-over whose fetch of the state fails is asked again at the next
 * reads (no instance meanwhile), and restores then. */
DEF_TEST(fetch_failed_is_asked_again) {
  char path[256];
  gen_standby_t *a =
      holder_copying("again-acme.json", "the state of a\n", path, sizeof(path));
  EXPECT_EQ_INT(0, gen_standby_sync(a, true));
  gen_standby_stop(a);
  unlink(path);
  gen_standby_t *b = fake_standby("b");
  F.fail_state_reads = 2;
  OK(!gen_standby_watch_begin(b, true));
  OK(!gen_standby_watch_begin(b, true));
  OK(gen_standby_watch_begin(b, true));
  b->watch.path(b->watch.ud, path);
  gen_standby_watch_end(b);
  FILE *f = fopen(path, "r");
  char got[64] = "";
  OK(f != NULL && fgets(got, sizeof(got), f) != NULL);
  fclose(f);
  EXPECT_EQ_STR("the state of a\n", got);
  gen_standby_stop(b);
  gen_etcd_post = gen_etcd_post_curl;
  return 0;
}

int main(void) {
  (void)policy_expect_all; /* the proxy and CA are the org's there */
  OK(mkdtemp(dir) != NULL);
  RUN_TEST(election_fence);
  RUN_TEST(election_other_holds);
  RUN_TEST(copy_fenced_and_restored);
  RUN_TEST(copy_deletes_and_sweeps);
  RUN_TEST(copy_goes_on_over_reads);
  RUN_TEST(copy_replaces_its_own_piece);
  RUN_TEST(copy_within_txn_bound);
  RUN_TEST(fetch_failed_is_asked_again);
  RUN_TEST(etcd_client_one_handle_no_proxy);
  RUN_TEST(suspend_closes_the_fence);
  RUN_TEST(etcd_out_of_reach_is_said);
  nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
  END_TEST;
}
