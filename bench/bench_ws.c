/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: benchmark of the WebSocket receive path (gen_ws).
 *
 * Generates N text frames first, notification messages in the shape the
 * Notifications API sends (topicName, version, eventBody; 950 bytes on
 * average, 800 to 1,100), unmasked as a server's, behind a handshake reply.
 * An in-memory transport hands them over at most -c bytes a recv (default
 * 16,384: a TLS record). Then it times, in CPU time on one core
 * (CLOCK_PROCESS_CPUTIME_ID), gen_ws_poll() until every message has reached
 * on_message, which only sums the bytes. The transport's own cost (a recv
 * from a socket, TLS) is not included; the recv calls per message are
 * shown instead. Not a timed test: run it by hand.
 *
 *   bench_ws [-n messages] [-r repeats] [-c bytes per recv]
 *                                  (defaults 200000, 3, 16384; best shown)
 */
#include "gen_ws.c"

#include "bench_util.h"

#include <inttypes.h>
#include <unistd.h>

#define HANDSHAKE                                                              \
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"                 \
  "Connection: Upgrade\r\n"                                                    \
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

/* The key of RFC 6455's example, so the reply above matches. */
static int fixed_random(uint8_t *buf, size_t len) {
  if (len == 16) {
    memcpy(buf, "the sample nonce", 16);
    return 0;
  }
  memset(buf, 0x5a, len);
  return 0;
}

typedef struct {
  const uint8_t *in;
  size_t len, off, chunk;
  uint64_t recvs;
} mem_t;

static ssize_t mem_recv(void *io, uint8_t *buf, size_t len) {
  mem_t *m = io;
  m->recvs++;
  size_t n = m->len - m->off;
  if (n == 0)
    return GEN_WS_ERR_AGAIN;
  if (n > len)
    n = len;
  if (n > m->chunk)
    n = m->chunk;
  memcpy(buf, m->in + m->off, n);
  m->off += n;
  return (ssize_t)n;
}

static ssize_t mem_send(void *io, const uint8_t *buf, size_t len) {
  (void)io;
  (void)buf;
  return (ssize_t)len;
}

static int mem_wait(void *io, int events, int timeout_ms) {
  (void)io;
  (void)timeout_ms;
  return events;
}

static const gen_ws_io_t mem_ops = {
    .recv = mem_recv, .send = mem_send, .wait = mem_wait};

typedef struct {
  uint64_t n, bytes, sum;
} got_t;

static void on_message(void *ud, const char *data, size_t len) {
  got_t *g = ud;
  g->n++;
  g->bytes += len;
  g->sum += (unsigned char)data[len / 2];
}

/* One message of the Notifications API's shape, 800 to 1,100 bytes. */
static void message(sbuf_t *b) {
  char q[37], c[37], p[37];
  uuid(q);
  uuid(c);
  uuid(p);
  size_t start = b->len;
  size_t want = 825 + rnd_below(301);
  sbuf_put(b,
           "{\"topicName\":\"v2.routing.queues.%s.conversations\","
           "\"version\":\"2\",\"eventBody\":{\"id\":\"%s\",\"participants\":"
           "[{\"id\":\"%s\",\"purpose\":\"customer\",\"queueId\":\"%s\","
           "\"connectedTime\":\"2026-11-25T12:00:00.000Z\",\"attributes\":{",
           q, c, p, q);
  for (int i = 0; b->len - start + 40 < want; i++)
    sbuf_put(b, "%s\"k%d\":\"v%08" PRIx32 "\"", i ? "," : "", i, rnd());
  sbuf_put(b, "}}]}}");
}

int main(int argc, char **argv) {
  size_t n = 200000, chunk = 16384;
  int repeats = 3, opt;
  while ((opt = getopt(argc, argv, "n:r:c:")) != -1) {
    if (opt == 'n')
      n = strtoul(optarg, NULL, 10);
    else if (opt == 'r')
      repeats = atoi(optarg);
    else if (opt == 'c')
      chunk = strtoul(optarg, NULL, 10);
    else {
      fprintf(stderr, "usage: %s [-n messages] [-r repeats] [-c bytes]\n",
              argv[0]);
      return 2;
    }
  }
  if (n == 0 || repeats < 1 || chunk == 0)
    return 2;
  ws_random = fixed_random;

  sbuf_t frames = {0}, text = {0};
  sbuf_put(&frames, "%s", HANDSHAKE);
  uint64_t payload = 0;
  for (size_t i = 0; i < n; i++) {
    text.len = 0;
    message(&text);
    /* FIN + text, the 16-bit length (every message is over 125 bytes) */
    sbuf_put(&frames, "%c%c%c%c", 0x81, 126, (int)(text.len >> 8),
             (int)(text.len & 0xff));
    sbuf_put(&frames, "%.*s", (int)text.len, text.buf);
    payload += text.len;
  }

  double best = 0;
  uint64_t recvs = 0;
  for (int r = 0; r < repeats; r++) {
    got_t got = {0};
    mem_t m = {
        .in = (const uint8_t *)frames.buf, .len = frames.len, .chunk = chunk};
    gen_ws_t *ws = gen_ws_create(
        NULL, &(gen_ws_callbacks_t){.on_message = on_message}, &got, 1 << 20);
    if (ws == NULL ||
        gen_ws_connect_io(ws, &mem_ops, &m, "ws://127.0.0.1/") != 0) {
      fprintf(stderr, "connect failed\n");
      return 1;
    }
    uint64_t recvs_before = m.recvs;
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    while (got.n < n)
      if (gen_ws_poll(ws, 0) != 0) {
        fprintf(stderr, "poll failed after %" PRIu64 " messages\n", got.n);
        return 1;
      }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double s =
        (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (got.bytes != payload) {
      fprintf(stderr, "bytes delivered differ\n");
      return 1;
    }
    printf("run %d: %.3f s CPU, %.0f ns/msg (checksum %" PRIu64 ")\n", r + 1, s,
           s * 1e9 / (double)n, got.sum);
    if (r == 0 || s < best)
      best = s;
    recvs = m.recvs - recvs_before;
    gen_ws_free(ws);
  }
  printf("%zu messages, %.0f bytes on average, %zu bytes a recv at most: "
         "best %.0f ns/msg (%.0f msg/s on one core), %.3f recv calls/msg\n",
         n, (double)payload / (double)n, chunk, best * 1e9 / (double)n,
         (double)n / best, (double)recvs / (double)n);
  free(frames.buf);
  free(text.buf);
  return 0;
}
