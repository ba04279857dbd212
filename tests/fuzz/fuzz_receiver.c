/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: fuzz target for the receiver's request handling
 * (gen_receiver on libmicrohttpd). There is no pure function to call: the
 * checks live in MHD's callbacks. So one receiver is started on a loopback
 * port (once per process) and each input is sent, as raw bytes, as a whole
 * HTTP connection: written, then read until the answer is complete; the
 * write side is shut when no answer comes within 1 ms (an incomplete
 * request) or once the answer is in, and the rest is read until the
 * receiver closes (see exchange()).
 *
 * Checked (a failure aborts):
 * - what the receiver answers starts with an HTTP/1.x status line with a
 *   code of 100-599 (a connection the receiver keeps open 30 ms after the
 *   end of input is hung up on);
 * - the handler only sees bodies of requests that carried the secret, of
 *   at most MaxBody bytes, terminated right after their length;
 * - a 2xx is only answered when the handler accepted a body;
 * - after every input the receiver still takes a known, valid request:
 *   200, and the handler saw exactly its body;
 * - then the receiver is idle (every connection made accepted, none open,
 *   nothing queued) within its request deadline and a margin: nothing of
 *   an input outlives it, so that a late body is always checked against
 *   its own input (under contention a pipelined body once came after the
 *   next input started, and once after its input was freed).
 */
#define GEN_FUZZ_NAME "receiver"
#include "fuzz_replay.h"
#include "gen_receiver.h"
#include "plugin_mock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SECRET "fz-secret"
#define MAX_BODY 1024
#define KNOWN_BODY "{\"known\":1}"
/* How long an answer may take before the request is taken as incomplete
 * and the write side shut (ms). Shorter cuts the wait of an incomplete
 * request; shutting before a complete request is answered costs more (MHD
 * keeps a resumed connection that saw the end of input until it times
 * out). 1 ms: ~1,200 exec/s here, against 650 at 2 ms and 170 at 0. */
#define FIRST_WAIT_MS 1

static gen_receiver_t *rx;
static unsigned port;
/* The input being sent, read by the worker thread (under the lock: the
 * sockets between them order nothing a race detector sees). */
static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static const uint8_t *current;
static size_t current_len;
static atomic_int accepted;      /* bodies the handler accepted */
static atomic_int known_handled; /* the known body, seen by the handler */
static atomic_uint_fast64_t connections_made;

static bool contains(const uint8_t *h, size_t hn, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= hn; i++)
    if (memcmp(h + i, needle, n) == 0)
      return true;
  return false;
}

static unsigned handler(void *ud, const char *body, size_t len) {
  (void)ud;
  FUZZ_CHECK(body != NULL && len <= MAX_BODY, "body within MaxBody");
  FUZZ_CHECK(body[len] == '\0', "body terminated after its length");
  /* Only the sender that knows the secret gets here. */
  pthread_mutex_lock(&current_lock);
  FUZZ_CHECK(
      current == NULL || contains(current, current_len, SECRET) ||
          (len == strlen(KNOWN_BODY) && memcmp(body, KNOWN_BODY, len) == 0),
      "secret checked");
  pthread_mutex_unlock(&current_lock);
  if (len == strlen(KNOWN_BODY) && memcmp(body, KNOWN_BODY, len) == 0)
    atomic_fetch_add(&known_handled, 1);
  if (len > 0 && body[0] == '{') {
    atomic_fetch_add(&accepted, 1);
    return 200;
  }
  return 400;
}

static void start(void) {
  gen_receiver_options_t o = {.address = "127.0.0.1",
                              .port = "0",
                              .secret = SECRET,
                              .secret_header = "X-Genesys-Secret",
                              .max_body = MAX_BODY,
                              .queue_size = 4,
                              .request_timeout = 1.0,
                              .who = NULL};
  char err[256] = "";
  rx = gen_receiver_start(&o, handler, NULL, err, sizeof(err));
  if (rx == NULL)
    fprintf(stderr, "fuzz_receiver: cannot start: %s\n", err);
  FUZZ_CHECK(rx != NULL, "receiver starts");
  port = gen_receiver_port(rx);
}

/* Bytes of a complete answer at the start of buf: the head, then
 * Content-Length bytes of body; interim 1xx answers are stepped over and
 * *code is the final status. 0 while incomplete, or when the answer has no
 * Content-Length (it then ends when the receiver closes or is quiet). */
static size_t answer_length(const char *buf, size_t got, int *code) {
  size_t at = 0;
  for (;;) {
    const char *end = memmem(buf + at, got - at, "\r\n\r\n", 4);
    if (end == NULL || got - at < 12)
      return 0;
    size_t head = (size_t)(end - (buf + at)) + 4;
    int c = 0;
    for (int i = 9; i < 12; i++)
      c = c * 10 +
          (buf[at + i] >= '0' && buf[at + i] <= '9' ? buf[at + i] - '0' : 0);
    if (c >= 100 && c < 200) { /* 100 Continue: the final answer follows */
      at += head;
      continue;
    }
    *code = c;
    const char *cl = NULL;
    for (const char *p = buf + at; p + 16 <= end; p++)
      if (strncasecmp(p, "\r\nContent-Length:", 17) == 0) {
        cl = p + 17;
        break;
      }
    if (cl == NULL)
      return 0;
    size_t body = strtoul(cl, NULL, 10);
    return got >= at + head + body ? at + head + body : 0;
  }
}

/* Sends data as one connection and reads the answer: the status code of
 * the first answer, 0 when the receiver closed without one, -1 when
 * nothing came within wait_ms. With may_shut, once the answer is complete
 * the write side is shut and the rest read until the receiver closes (so
 * pipelined requests are handled before the next input); without, reading
 * stops at the answer's end. When nothing comes at once, the
 * request is likely incomplete and the receiver would wait for its rest
 * until its deadline: with may_shut, the write side is shut then, so that
 * it sees the end
 * of input and closes. Senders do not half-close, and a connection resumed
 * after the worker (every body is handled there) that has seen the end of
 * input is closed by MHD without its answer: a body handled later than
 * that first wait may go unanswered (0), and the handler's checks still
 * apply to it. */
static int exchange(const uint8_t *data, size_t len, int wait_ms,
                    bool may_shut) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd;
  /* Several fuzzer processes side by side make thousands of loopback
   * connections a second: the local ports in TIME_WAIT can run out for a
   * moment (EADDRNOTAVAIL), which is the machine's limit, not the
   * receiver's; a refused connection is a failure. */
  for (int tries = 0;; tries++) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_CHECK(fd >= 0, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
      break;
    int e = errno;
    close(fd);
    if ((e != EADDRNOTAVAIL && e != EAGAIN && e != EINTR) || tries >= 5000)
      fprintf(stderr, "fuzz_receiver: connect: %s\n", strerror(e));
    FUZZ_CHECK((e == EADDRNOTAVAIL || e == EAGAIN || e == EINTR) &&
                   tries < 5000,
               "connect");
    nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
  }
  atomic_fetch_add(&connections_made, 1);
  /* The receiver may close early (a refusal): later writes may fail. */
  for (size_t off = 0; off < len;) {
    ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  char answer[4096];
  size_t got = 0;
  int code = 0;
  bool shut = false;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int wait = got > 0                   ? 5
               : shut || !may_shut       ? wait_ms
               : wait_ms < FIRST_WAIT_MS ? wait_ms
                                         : FIRST_WAIT_MS;
    int r = poll(&p, 1, wait);
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0 && got == 0 && !shut && wait < wait_ms) {
      shutdown(fd, SHUT_WR);
      shut = true;
      continue;
    }
    if (r == 0 && got == 0) {
      close(fd);
      return -1;
    }
    if (r == 0)
      break; /* quiet after an answer without a length */
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    size_t k =
        (size_t)n < sizeof(answer) - got ? (size_t)n : sizeof(answer) - got;
    memcpy(answer + got, buf, k);
    got += k;
    if (answer_length(answer, got, &code) == 0 && got < sizeof(answer))
      continue;
    if (!may_shut)
      break;
    /* Answered: the end of input, then whatever else the connection held
     * (pipelined requests) is done with before the receiver closes. */
    if (!shut)
      shutdown(fd, SHUT_WR);
    shut = true;
    for (;;) {
      p = (struct pollfd){.fd = fd, .events = POLLIN};
      r = poll(&p, 1, wait_ms);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0 || recv(fd, buf, sizeof(buf), 0) <= 0)
        break;
    }
    break;
  }
  close(fd);
  if (got == 0)
    return 0;
  FUZZ_CHECK(got >= 13 && (memcmp(answer, "HTTP/1.1 ", 9) == 0 ||
                           memcmp(answer, "HTTP/1.0 ", 9) == 0),
             "status line");
  code = 0;
  for (int i = 9; i < 12; i++) {
    FUZZ_CHECK(answer[i] >= '0' && answer[i] <= '9', "status digits");
    code = code * 10 + (answer[i] - '0');
  }
  FUZZ_CHECK(code >= 100 && code <= 599, "status range");
  return code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mock_log_echo = false;
  if (rx == NULL)
    start();
  /* An exact-size copy. */
  uint8_t *copy = malloc(size ? size : 1);
  FUZZ_CHECK(copy != NULL, "malloc");
  memcpy(copy, data, size);
  pthread_mutex_lock(&current_lock);
  current = copy;
  current_len = size;
  pthread_mutex_unlock(&current_lock);
  int before = atomic_load(&accepted);
  int code = exchange(copy, size, 30, true);
  FUZZ_CHECK(code < 200 || code >= 300 || atomic_load(&accepted) > before,
             "2xx only for an accepted body");

  /* Still alive, and nothing carried over. */
  static const char known[] = "POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "X-Genesys-Secret: " SECRET "\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: 11\r\n"
                              "Connection: close\r\n\r\n" KNOWN_BODY;
  int known_before = atomic_load(&known_handled);
  /* The input stays current until the known request is answered: a body
   * of it handled late is still checked against it. */
  int known_code =
      exchange((const uint8_t *)known, sizeof(known) - 1, 5000, false);
  if (known_code != 200)
    fprintf(stderr, "fuzz_receiver: known request answered %d\n", known_code);
  FUZZ_CHECK(known_code == 200, "known request accepted");
  FUZZ_CHECK(atomic_load(&known_handled) > known_before, "known body handled");
  /* Every connection made accepted, none open, nothing queued; the
   * deadline (1 s) closes any connection left, the margin of 10 s is for a
   * loaded machine or valgrind. */
  bool idle = false;
  for (int i = 0; !idle && i < 100000; i++) {
    idle = atomic_load(&gen_receiver_stats(rx)->connections) ==
               atomic_load(&connections_made) &&
           gen_receiver_connections(rx) == 0 && gen_receiver_queued(rx) == 0;
    if (!idle)
      nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
  }
  FUZZ_CHECK(idle, "receiver idle after its deadline");
  pthread_mutex_lock(&current_lock);
  current = NULL;
  pthread_mutex_unlock(&current_lock);
  free(copy);
  mock_log_reset();
  return 0;
}

static void fuzz_cleanup(void) {
  if (rx != NULL)
    gen_receiver_stop(rx);
  rx = NULL;
  mock_log_reset();
}
