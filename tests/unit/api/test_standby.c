/* SPDX-License-Identifier: MIT */
/* Unit tests: the standby's lease on a clock that counts suspend, and
 * what it says when etcd is out of reach past its fence. etcd is a stand-in
 * on a loopback port answering its JSON gateway's few requests; the lease
 * clock is the test's (gen_lease_clock), so that a suspend is a jump. */
#include "gen_dispatch.h"
#include "gen_standby.h"
#include "gen_time.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PLUGIN "genesys_realtime"

/* ---- an etcd stand-in ---------------------------------------------------- */

typedef struct {
  int lfd, port;
  int ttl;          /* the TTL a grant and a keep-alive answer */
  atomic_bool down; /* every request answered 503, as etcd out of reach */
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

int main(void) {
  RUN_TEST(suspend_closes_the_fence);
  RUN_TEST(etcd_out_of_reach_is_said);
  END_TEST;
}
