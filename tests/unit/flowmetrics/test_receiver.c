/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_receiver on loopback with a real HTTP client (libcurl):
 * each kind of request gets its answer, a full queue answers 429, and a
 * body is acknowledged only after the handler has recorded it. */
#include "plugin_mock.h"

#include "gen_receiver.h"

#include "collectd/core/testing.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Whose lines the module under test writes. */
static const gen_log_org_t test_who = {"test", "acme"};

#define SECRET "s3cret-for-the-receiver"

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool hold; /* the handler waits while true */
  int handled;
  int waiting;
  char last[256];
} handler_state_t;

static handler_state_t hs = {.lock = PTHREAD_MUTEX_INITIALIZER,
                             .cond = PTHREAD_COND_INITIALIZER};

static unsigned handler(void *ud, const char *body, size_t len) {
  pthread_mutex_lock(&hs.lock);
  hs.waiting++;
  pthread_cond_broadcast(&hs.cond);
  while (hs.hold)
    pthread_cond_wait(&hs.cond, &hs.lock);
  hs.waiting--;
  hs.handled++;
  snprintf(hs.last, sizeof(hs.last), "%.*s", (int)len, body);
  pthread_mutex_unlock(&hs.lock);
  if (strncmp(body, "full", 4) == 0)
    return 507; /* as the flowmetrics handler when its journal is full */
  if (strncmp(body, "nodir", 5) == 0)
    return 503; /* … and when its state directory cannot be written */
  return strncmp(body, "bad", 3) == 0 ? 400 : 200;
}

/* per_ip 0 = no limit, slots and deadline 0 = the defaults. */
static gen_receiver_t *start_limited(size_t queue, unsigned per_ip,
                                     unsigned slots, double deadline) {
  gen_receiver_options_t o = {.address = "127.0.0.1",
                              .port = "0",
                              .secret = SECRET,
                              .secret_header = "X-Genesys-Secret",
                              .max_body = 1024,
                              .queue_size = queue,
                              .max_per_ip = per_ip,
                              .max_connections = slots,
                              .request_timeout = deadline,
                              .who = &test_who};
  char err[256] = "";
  gen_receiver_t *rx = gen_receiver_start(&o, handler, NULL, err, sizeof(err));
  if (rx == NULL)
    printf("start failed: %s\n", err);
  return rx;
}

static gen_receiver_t *start(size_t queue) {
  return start_limited(queue, 0, 0, 0);
}

static size_t sink(char *p, size_t s, size_t n, void *ud) { return s * n; }

/* POSTs body with the given secret header value (NULL = none); returns the
 * status, 0 on transport failure. */
static long post_ext(unsigned port, const char *method, const char *secret,
                     const char *body, size_t len, bool chunked,
                     char *retry_after, size_t retry_size);

static long post(unsigned port, const char *method, const char *secret,
                 const char *body, size_t len) {
  return post_ext(port, method, secret, body, len, false, NULL, 0);
}

static size_t header_line(char *p, size_t s, size_t n, void *ud) {
  char **out = ud;
  if (out[0] != NULL && n * s > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
    snprintf(out[0], (size_t)(uintptr_t)out[1], "%.*s", (int)(n * s - 15),
             p + 13);
  return s * n;
}

typedef struct {
  const char *data;
  size_t len, at;
} upload_t;

static size_t upload(char *buf, size_t s, size_t n, void *ud) {
  upload_t *u = ud;
  size_t k = u->len - u->at < s * n ? u->len - u->at : s * n;
  memcpy(buf, u->data + u->at, k);
  u->at += k;
  return k;
}

/* chunked: the body is sent with Transfer-Encoding: chunked (no length
 * declared); retry_after (if not NULL) gets the header's value. */
static long post_ext(unsigned port, const char *method, const char *secret,
                     const char *body, size_t len, bool chunked,
                     char *retry_after, size_t retry_size) {
  CURL *c = curl_easy_init();
  char url[64], header[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/events", port);
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Content-Type: application/json");
  if (secret != NULL) {
    snprintf(header, sizeof(header), "X-Genesys-Secret: %s", secret);
    h = curl_slist_append(h, header);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  upload_t u = {body, len, 0};
  if (body != NULL && chunked) {
    h = curl_slist_append(h, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, upload);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);
  } else if (body != NULL) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
  }
  char *hd[2] = {retry_after, (char *)(uintptr_t)retry_size};
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, hd);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return status;
}

DEF_TEST(answers) {
  mock_log_reset();
  gen_receiver_t *rx = start(8);
  CHECK_NOT_NULL(rx);
  /* libmicrohttpd's logger is its first option: nothing of it can reach
   * stderr (it warns through the logger otherwise). */
  OK(!mock_log_contains("is not the first option"));
  unsigned port = gen_receiver_port(rx);
  OK(port > 0);
  const char *ok = "{\"good\":1}";
  EXPECT_EQ_INT(200, post(port, "POST", SECRET, ok, strlen(ok)));
  EXPECT_EQ_STR(ok, hs.last);
  EXPECT_EQ_INT(401, post(port, "POST", NULL, ok, strlen(ok)));
  EXPECT_EQ_INT(401, post(port, "POST", "wrong", ok, strlen(ok)));
  EXPECT_EQ_INT(401, post(port, "POST", SECRET "x", ok, strlen(ok)));
  EXPECT_EQ_INT(401, post(port, "POST", "", ok, strlen(ok)));
  EXPECT_EQ_INT(405, post(port, "GET", SECRET, NULL, 0));
  EXPECT_EQ_INT(400, post(port, "POST", SECRET, "bad", 3));
  char big[4096];
  memset(big, 'x', sizeof(big));
  EXPECT_EQ_INT(413, post(port, "POST", SECRET, big, sizeof(big)));
  /* Exactly at the limit is fine. */
  EXPECT_EQ_INT(200, post(port, "POST", SECRET, big, 1024));
  /* Chunked bodies: within the limit taken, past it 413 too, answered. */
  EXPECT_EQ_INT(200, post_ext(port, "POST", SECRET, big, 1000, true, NULL, 0));
  static char huge[1024 * 1024];
  memset(huge, 'x', sizeof(huge));
  EXPECT_EQ_INT(413,
                post_ext(port, "POST", SECRET, huge, 70 * 1024, true, NULL, 0));
  EXPECT_EQ_INT(
      413, post_ext(port, "POST", SECRET, huge, sizeof(huge), true, NULL, 0));
  /* The handler could not keep it: 507, to be sent again later. */
  char retry[16] = "";
  EXPECT_EQ_INT(507, post_ext(port, "POST", SECRET, "full", 4, false, retry,
                              sizeof(retry)));
  EXPECT_EQ_STR("30", retry);
  /* Or not now at all (an unwritable state directory): 503, retried too,
   * and counted as not stored, apart from the 503s of a stopping receiver. */
  retry[0] = '\0';
  EXPECT_EQ_INT(503, post_ext(port, "POST", SECRET, "nodir", 5, false, retry,
                              sizeof(retry)));
  EXPECT_EQ_STR("30", retry);
  /* The receiver keeps answering after all that. */
  EXPECT_EQ_INT(200, post(port, "POST", SECRET, ok, strlen(ok)));
  gen_receiver_stats_t *st = gen_receiver_stats(rx);
  EXPECT_EQ_INT(15, atomic_load(&st->requests));
  EXPECT_EQ_INT(4, atomic_load(&st->accepted));
  EXPECT_EQ_INT(2, atomic_load(&st->not_stored));
  EXPECT_EQ_INT(0, atomic_load(&st->unavailable));
  EXPECT_EQ_INT(4, atomic_load(&st->unauthorized));
  EXPECT_EQ_INT(1, atomic_load(&st->bad_method));
  EXPECT_EQ_INT(1, atomic_load(&st->bad_request));
  EXPECT_EQ_INT(3, atomic_load(&st->too_large));
  EXPECT_EQ_INT(7, hs.handled); /* refused before the handler: 8 */
  gen_receiver_stop(rx);
  return 0;
}

typedef struct {
  unsigned port;
  long status;
} poster_t;

static void *post_thread(void *arg) {
  poster_t *p = arg;
  p->status = post(p->port, "POST", SECRET, "{}", 2);
  return NULL;
}

/* With the handler held, the queue (2) fills: one body in the handler, two
 * queued, the next answered 429 at once; released, the others get 200. */
DEF_TEST(full_queue_answers_429) {
  hs.handled = 0;
  hs.hold = true;
  gen_receiver_t *rx = start(2);
  CHECK_NOT_NULL(rx);
  poster_t p[3];
  pthread_t t[3];
  for (int i = 0; i < 3; i++) {
    p[i].port = gen_receiver_port(rx);
    pthread_create(&t[i], NULL, post_thread, &p[i]);
    /* Wait until this one is in the handler or queued. */
    for (int k = 0; k < 1000; k++) {
      pthread_mutex_lock(&hs.lock);
      size_t in = (size_t)hs.waiting + gen_receiver_queued(rx);
      pthread_mutex_unlock(&hs.lock);
      if (in >= (size_t)i + 1)
        break;
      usleep(10000);
    }
  }
  EXPECT_EQ_INT(2, gen_receiver_queued(rx));
  EXPECT_EQ_INT(429, post(gen_receiver_port(rx), "POST", SECRET, "{}", 2));
  pthread_mutex_lock(&hs.lock);
  hs.hold = false;
  pthread_cond_broadcast(&hs.cond);
  pthread_mutex_unlock(&hs.lock);
  for (int i = 0; i < 3; i++) {
    pthread_join(t[i], NULL);
    EXPECT_EQ_INT(200, p[i].status);
  }
  EXPECT_EQ_INT(3, hs.handled);
  EXPECT_EQ_INT(1, atomic_load(&gen_receiver_stats(rx)->queue_full));
  gen_receiver_stop(rx);
  return 0;
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client from 127.0.0.<source> that connects and sends nothing. */
static int idle_connect(unsigned port, int source) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  struct sockaddr_in from = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  from.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)source);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0 &&
      connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
    return fd;
  if (fd >= 0)
    close(fd);
  return -1;
}

/* A client from 127.0.0.<source> that starts a request and stops. */
static int slow_connect(unsigned port, int source) {
  int fd = idle_connect(port, source);
  const char *start = "POST / HTTP/1.1\r\nHost: x\r\n";
  if (fd >= 0 && write(fd, start, strlen(start)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* True when the server has closed fd (EOF or reset), waiting up to ms. */
static bool closed_by_server(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char buf[256];
  if (poll(&p, 1, ms) <= 0)
    return false;
  ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Clients trickling their headers a byte at a time are cut at the
 * whole-request deadline (MHD's idle timer alone would keep them). */
DEF_TEST(slow_clients_cut_at_deadline) {
  gen_receiver_t *rx = start_limited(4, 0, 0, 1.0);
  CHECK_NOT_NULL(rx);
  unsigned port = gen_receiver_port(rx);
  int fd[3];
  double t0 = mono();
  for (int i = 0; i < 3; i++) {
    fd[i] = slow_connect(port, 1);
    OK(fd[i] >= 0);
  }
  double cut[3] = {0, 0, 0};
  int open = 3;
  while (open > 0 && mono() - t0 < 5) {
    for (int i = 0; i < 3; i++) {
      if (cut[i] != 0)
        continue;
      (void)!write(fd[i], "X", 1); /* never ends its header line */
      if (closed_by_server(fd[i], 10)) {
        cut[i] = mono() - t0;
        open--;
      }
    }
    usleep(100 * 1000);
  }
  for (int i = 0; i < 3; i++) {
    printf("# slow client %d cut after %.2f s\n", i, cut[i]);
    OK(cut[i] >= 0.9 && cut[i] <= 2.0);
    close(fd[i]);
  }
  EXPECT_EQ_UINT64(3, atomic_load(&gen_receiver_stats(rx)->timed_out));
  /* The slots are free again. */
  EXPECT_EQ_INT(200, post(port, "POST", SECRET, "{}", 2));
  gen_receiver_stop(rx);
  return 0;
}

/* Below half the slots, one address may take what it needs (a sender's
 * burst); from half on, an address holding its share gets no more while
 * another address still gets in. */
DEF_TEST(address_share_when_slots_are_scarce) {
  gen_receiver_t *rx = start_limited(4, 2, 8, 0);
  CHECK_NOT_NULL(rx);
  unsigned port = gen_receiver_port(rx);
  int fd[8], n = 0;
  for (int i = 0; i < 4; i++) { /* 0..3 open: no pressure yet */
    fd[n] = slow_connect(port, 1);
    OK(fd[n] >= 0 && !closed_by_server(fd[n], 200));
    n++;
  }
  int over = slow_connect(port, 1); /* 4 open: 127.0.0.1 holds 4 >= 2 */
  OK(over < 0 || closed_by_server(over, 500));
  if (over >= 0)
    close(over);
  for (int i = 0; i < 2; i++) { /* another address: its share is free */
    fd[n] = slow_connect(port, 2);
    OK(fd[n] >= 0 && !closed_by_server(fd[n], 200));
    n++;
  }
  over = slow_connect(port, 2);
  OK(over < 0 || closed_by_server(over, 500));
  if (over >= 0)
    close(over);
  EXPECT_EQ_UINT64(2, atomic_load(&gen_receiver_stats(rx)->address_limit));
  for (int i = 0; i < n; i++)
    close(fd[i]);
  gen_receiver_stop(rx);
  return 0;
}

/* A client that connects and sends nothing (or never starts TLS) is cut at
 * the head deadline (3 s), not at the whole-request deadline (10 s), from
 * its accept: 3 s after it connected, the kernel holding a connection
 * without a byte that long (TCP_DEFER_ACCEPT). */
DEF_TEST(silent_clients_cut_at_head_deadline) {
  gen_receiver_t *rx = start_limited(4, 0, 0, 0);
  CHECK_NOT_NULL(rx);
  unsigned port = gen_receiver_port(rx);
  double t0 = mono();
  int fd = idle_connect(port, 1);
  OK(fd >= 0);
  double cut = 0;
  while (cut == 0 && mono() - t0 < 9)
    if (closed_by_server(fd, 100))
      cut = mono() - t0;
  close(fd);
  printf("# silent client cut after %.2f s\n", cut);
  OK(cut >= 5.9 && cut <= 7.0);
  EXPECT_EQ_UINT64(1, atomic_load(&gen_receiver_stats(rx)->timed_out));
  gen_receiver_stop(rx);
  return 0;
}

/* 24 addresses wanting 4 idle connections each (96) against 64 slots, a
 * share of 4 each: the share alone would let 16 addresses fill every slot.
 * Connections without a head hold at most half the slots, closed from the
 * address holding the most for a newcomer (the part of the scarce half is
 * for connections with a request), and a sender on another address gets
 * a slot and its answer. */
DEF_TEST(address_share_holds_past_many_addresses) {
  gen_receiver_t *rx = start_limited(4, 4, 64, 0);
  CHECK_NOT_NULL(rx);
  unsigned port = gen_receiver_port(rx);
  int fd[96], n = 0, held = 0;
  for (int a = 0; a < 24; a++)
    for (int i = 0; i < 4; i++)
      if ((fd[n] = idle_connect(port, 2 + a)) >= 0)
        n++;
  OK(n == 96);
  /* Until the receiver has taken (or closed) them all: every one it closed
   * was refused by its address's share or evicted as idle (at most half
   * the slots without a head), never by the slots running out. */
  const gen_receiver_stats_t *st = gen_receiver_stats(rx);
  uint64_t closed = 0;
  for (int tries = 0; tries < 100; tries++) {
    usleep(50 * 1000);
    held = 0;
    for (int i = 0; i < n; i++)
      held += !closed_by_server(fd[i], 0);
    closed = atomic_load(&st->address_limit) + atomic_load(&st->idle_evicted);
    if (held <= 32 && closed >= (uint64_t)(n - held))
      break;
  }
  printf("# idle connections held: %d of 64 slots\n", held);
  OK(held <= 32);
  OK(closed >= (uint64_t)(n - held));
  OK(atomic_load(&st->idle_evicted) > 0);
  /* A sender on another address (post() is 127.0.0.1) gets a slot: it is
   * answered 200 (refused or cut reads 0), its event handed on and counted
   * accepted. post()'s 10 s is a hang guard, not what is measured. */
  pthread_mutex_lock(&hs.lock);
  int handled = hs.handled;
  pthread_mutex_unlock(&hs.lock);
  uint64_t accepted = atomic_load(&st->accepted);
  long status = post(port, "POST", SECRET, "{\"sender\":2}", 12);
  if (status != 200)
    printf("# the other sender's POST: %ld (0: refused, cut, or no answer "
           "within post()'s 10 s)\n",
           status);
  EXPECT_EQ_INT(200, status);
  EXPECT_EQ_UINT64(accepted + 1, atomic_load(&st->accepted));
  pthread_mutex_lock(&hs.lock);
  OK(hs.handled == handled + 1 && strcmp(hs.last, "{\"sender\":2}") == 0);
  pthread_mutex_unlock(&hs.lock);
  for (int i = 0; i < n; i++)
    close(fd[i]);
  gen_receiver_stop(rx);
  return 0;
}

DEF_TEST(refuses_bad_options) {
  gen_receiver_options_t o = {.port = "0",
                              .secret = "",
                              .secret_header = "X",
                              .max_body = 10,
                              .queue_size = 1};
  char err[256];
  OK(gen_receiver_start(&o, handler, NULL, err, sizeof(err)) == NULL);
  o.secret = SECRET;
  o.cert_file = "/nonexistent/cert.pem";
  o.key_file = "/nonexistent/key.pem";
  OK(gen_receiver_start(&o, handler, NULL, err, sizeof(err)) == NULL);
  OK(strstr(err, "/nonexistent/cert.pem") != NULL);
  return 0;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_ALL);
  RUN_TEST(answers);
  RUN_TEST(full_queue_answers_429);
  RUN_TEST(slow_clients_cut_at_deadline);
  RUN_TEST(address_share_when_slots_are_scarce);
  RUN_TEST(silent_clients_cut_at_head_deadline);
  RUN_TEST(address_share_holds_past_many_addresses);
  RUN_TEST(refuses_bad_options);
  curl_global_cleanup();
  END_TEST;
}
