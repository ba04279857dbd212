/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: fuzz target for the WebSocket receive path (gen_ws: the
 * handshake reply, then every frame through wslay), through the in-memory
 * transport seam gen_ws_connect_io() that tests/unit/net/test_ws.c uses: the
 * fuzzed bytes are what the server sends.
 *
 * Input: byte 0 selects the mode (bit 0 set: a valid handshake reply for
 * the fixed key goes first, so the rest are frames; else the bytes are the
 * handshake reply too) and, in bits 1-4, the most bytes one recv returns
 * (1..16, 0 = no limit), so that frames arrive cut at every place. After
 * the input the stream ends (recv returns 0).
 *
 * Checked (a failure aborts):
 * - gen_ws_connect_io and gen_ws_poll return 0 or one of their documented
 *   codes, and once a poll fails the socket is closed and stays so;
 * - every message delivered is valid UTF-8, at most max_message bytes, and
 *   messages_received counts exactly the deliveries;
 * - a close code, when one is known, is in 1000-4999, the close reason is
 *   printable ASCII of at most GEN_WS_CLOSE_REASON_MAX bytes;
 * - everything the client sent after its request are masked frames;
 * - a known handshake and text frame on a fresh socket afterwards gives
 *   exactly the known message.
 */
#define GEN_FUZZ_NAME "ws"
#include "fuzz_replay.h"

#include "gen_ws.c"

#include "gen_utf8.h"
#include "plugin_mock.h"

#define SAMPLE_NONCE "the sample nonce"
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define HANDSHAKE                                                              \
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"                 \
  "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n"
#define URL "wss://streaming.example.com/channels/streaming-0-abc"
#define MAX_MESSAGE 1024

static gen_org_t fuzz_org = {.plugin = "genesys_fuzz"};

typedef struct {
  const uint8_t *in;
  size_t in_len, in_off;
  size_t rchunk;
  size_t out_len;
  size_t request_end; /* bytes of the client's request, 0 until seen */
  uint8_t tail[4];    /* last bytes sent, to find the request's end */
} fio_t;

static ssize_t fio_recv(void *io, uint8_t *buf, size_t len) {
  fio_t *m = io;
  size_t avail = m->in_len - m->in_off;
  if (avail == 0)
    return 0;
  size_t n = len < avail ? len : avail;
  if (m->rchunk > 0 && n > m->rchunk)
    n = m->rchunk;
  memcpy(buf, m->in + m->in_off, n);
  m->in_off += n;
  return (ssize_t)n;
}

/* Takes everything; notes where the request ends and that every byte
 * after it is part of a masked frame (checked in check_frames). */
static uint8_t *sent;
static size_t sent_cap;

static ssize_t fio_send(void *io, const uint8_t *buf, size_t len) {
  fio_t *m = io;
  if (m->out_len + len > sent_cap) {
    size_t cap = sent_cap ? sent_cap : 4096;
    while (cap < m->out_len + len)
      cap *= 2;
    uint8_t *grown = realloc(sent, cap);
    FUZZ_CHECK(grown != NULL, "realloc");
    sent = grown;
    sent_cap = cap;
  }
  memcpy(sent + m->out_len, buf, len);
  m->out_len += len;
  return (ssize_t)len;
}

static int fio_wait(void *io, int events, int timeout_ms) {
  (void)io;
  (void)timeout_ms;
  /* Input is always ready (data or the end of the stream). */
  return events & (GEN_WS_WAIT_READ | GEN_WS_WAIT_WRITE);
}

static const gen_ws_io_t fio_ops = {
    .recv = fio_recv, .send = fio_send, .wait = fio_wait};

/* The handshake key of RFC 6455's example; fixed masks otherwise. */
static int fixed_random(uint8_t *buf, size_t len) {
  if (len == 16) {
    memcpy(buf, SAMPLE_NONCE, 16);
    return 0;
  }
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)(0x5a + i);
  return 0;
}

typedef struct {
  size_t n;
  char last[64];
} got_t;

static void on_message(void *ud, const char *data, size_t len) {
  got_t *g = ud;
  FUZZ_CHECK(data != NULL || len == 0, "message data");
  FUZZ_CHECK(len <= MAX_MESSAGE, "message within max_message");
  FUZZ_CHECK(gen_utf8_valid((const unsigned char *)data, len), "UTF-8");
  size_t k = len < sizeof(g->last) - 1 ? len : sizeof(g->last) - 1;
  memcpy(g->last, data, k);
  g->last[k] = '\0';
  g->n++;
}

static bool connect_status_ok(int s) {
  return s == 0 || s == GEN_WS_ERR_IO || s == GEN_WS_ERR_EOF ||
         s == GEN_WS_ERR_TIMEOUT || s == GEN_WS_ERR_HANDSHAKE ||
         s == GEN_WS_ERR_HEADER_TOO_LARGE || s == GEN_WS_ERR_NOMEM;
}

static bool poll_status_ok(int s) {
  return s == 0 || s == GEN_WS_ERR_CLOSED || s == GEN_WS_ERR_EOF ||
         s == GEN_WS_ERR_IO || s == GEN_WS_ERR_PROTO ||
         s == GEN_WS_ERR_TOO_BIG || s == GEN_WS_ERR_NOMEM;
}

/* Every byte the client sent after its request is a masked frame. */
static void check_frames(size_t len) {
  size_t off = 0;
  for (size_t i = 3; i < len; i++)
    if (memcmp(sent + i - 3, "\r\n\r\n", 4) == 0) {
      off = i + 1;
      break;
    }
  if (off == 0)
    return;
  while (off < len) {
    FUZZ_CHECK(len - off >= 2, "frame header");
    const uint8_t *p = sent + off;
    FUZZ_CHECK((p[1] & 0x80) != 0, "client frames are masked");
    uint64_t n = p[1] & 0x7f;
    size_t h = 2;
    if (n == 126) {
      FUZZ_CHECK(len - off >= 4, "frame length");
      n = ((uint64_t)p[2] << 8) | p[3];
      h = 4;
    } else if (n == 127) {
      FUZZ_CHECK(len - off >= 10, "frame length");
      n = 0;
      for (int i = 0; i < 8; i++)
        n = (n << 8) | p[2 + i];
      h = 10;
    }
    h += 4;
    FUZZ_CHECK(len - off >= h && len - off - h >= n, "whole frame");
    off += h + (size_t)n;
  }
}

static void check_close(const gen_ws_t *ws) {
  uint16_t code = gen_ws_close_code(ws);
  FUZZ_CHECK(code == 0 || (code >= 1000 && code <= 4999), "close code");
  const char *reason = gen_ws_close_reason(ws);
  FUZZ_CHECK(reason != NULL && strlen(reason) <= GEN_WS_CLOSE_REASON_MAX,
             "close reason length");
  for (const char *c = reason; *c; c++)
    FUZZ_CHECK(*c >= 0x20 && *c < 0x7f, "close reason printable");
}

/* Runs one connection over in[len]; returns the messages delivered. */
static got_t run(const uint8_t *in, size_t len, size_t rchunk) {
  got_t got = {0};
  fio_t m = {.in = in, .in_len = len, .rchunk = rchunk};
  gen_ws_t *ws =
      gen_ws_create(&fuzz_org, &(gen_ws_callbacks_t){.on_message = on_message},
                    &got, MAX_MESSAGE);
  FUZZ_CHECK(ws != NULL, "create");
  int status = gen_ws_connect_io(ws, &fio_ops, &m, URL);
  FUZZ_CHECK(connect_status_ok(status), "connect status");
  FUZZ_CHECK((status == 0) == gen_ws_is_open(ws), "open iff connected");
  if (status != 0) {
    FUZZ_CHECK(gen_ws_close_code(ws) == GEN_WS_CLOSE_ABNORMAL,
               "failed handshake is 1006");
  } else {
    /* Each poll reads something or ends the connection: the input is
     * finite and then ends, so this stops. */
    for (int i = 0; i < 100000 && status == 0; i++) {
      status = gen_ws_poll(ws, 0);
      FUZZ_CHECK(poll_status_ok(status), "poll status");
      if (i % 16 == 15 && status == 0)
        (void)gen_ws_send_text(ws, "{\"message\":\"ping\"}", 18);
    }
    FUZZ_CHECK(status != 0, "the end of the stream ends the connection");
    FUZZ_CHECK(!gen_ws_is_open(ws), "closed after a failed poll");
    FUZZ_CHECK(gen_ws_poll(ws, 0) == status, "the same code after the end");
  }
  check_close(ws);
  FUZZ_CHECK(gen_ws_messages_received(ws) == got.n, "messages counted");
  gen_ws_free(ws);
  check_frames(m.out_len);
  return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  mock_log_echo = false;
  ws_random = fixed_random;
  size_t rchunk = (data[0] >> 1) & 15;
  uint8_t *in;
  size_t len;
  if (data[0] & 1) {
    len = strlen(HANDSHAKE) + size - 1;
    in = malloc(len ? len : 1);
    FUZZ_CHECK(in != NULL, "malloc");
    memcpy(in, HANDSHAKE, strlen(HANDSHAKE));
    memcpy(in + strlen(HANDSHAKE), data + 1, size - 1);
  } else {
    /* An exact-size copy: a read past it is an ASan error. */
    len = size - 1;
    in = malloc(len ? len : 1);
    FUZZ_CHECK(in != NULL, "malloc");
    memcpy(in, data + 1, len);
  }
  run(in, len, rchunk);
  free(in);

  /* Nothing carries over: a known frame on a fresh socket. */
  static const uint8_t known[] = HANDSHAKE "\x81\x05hello\x88\x02\x03\xe8";
  got_t got = run(known, sizeof(known) - 1, 0);
  FUZZ_CHECK(got.n == 1 && strcmp(got.last, "hello") == 0, "known message");
  mock_log_reset();
  return 0;
}

static void fuzz_cleanup(void) {
  free(sent);
  sent = NULL;
  sent_cap = 0;
  mock_log_reset();
}
