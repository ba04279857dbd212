/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: tests of the WebSocket client (common/net/gen_ws.c).
 *
 * Most tests drive the client through an in-memory transport: the test is
 * the server, writes the handshake reply and frames by hand (unmasked, as a
 * server must), and unmasks what the client wrote to check it. One test
 * runs the real libcurl transport against a server thread on loopback.
 */
#include "gen_ws.c"

#include "collectd/core/testing.h"
#include "curl_policy.h"
#include "plugin_mock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef STATIC_ARRAY_SIZE
#define STATIC_ARRAY_SIZE(a) (sizeof(a) / sizeof(*(a)))
#endif

#define FIN 0x80
#define OP_CONT 0x0
#define OP_TEXT 0x1
#define OP_BINARY 0x2
#define OP_CLOSE 0x8
#define OP_PING 0x9
#define OP_PONG 0xa

/* RFC 6455 section 1.3: the sample nonce and its accept value. */
#define SAMPLE_NONCE "the sample nonce"
#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define TEST_URL                                                               \
  "wss://streaming.example.com/channels/streaming-0-abc?tok=secretquery"
#define PING "{\"message\":\"ping\"}"

static gen_org_t test_org = {.plugin = "genesys_test"};

/* ---- in-memory transport ------------------------------------------------ */

typedef struct {
  uint8_t *in; /* what the server sends */
  size_t in_len;
  size_t in_off;
  size_t rchunk; /* at most this many bytes per recv; 0 = no limit */
  bool eof;      /* recv returns 0 once in is used up (else would-block) */
  bool stutter;  /* every other recv and send would block first */
  bool flip_r;
  bool flip_w;
  bool wfull;       /* the peer reads nothing: send would block */
  size_t wchunk;    /* at most this many bytes per send; 0 = no limit */
  bool auto_accept; /* answer the handshake from the key the client sent */
  bool answered;
  uint8_t *out; /* what the client sent */
  size_t out_len;
} mem_io_t;

static void buf_append(uint8_t **buf, size_t *len, const void *data, size_t n) {
  uint8_t *grown = realloc(*buf, *len + n + 1);
  if (grown == NULL) {
    fprintf(stderr, "out of memory\n");
    abort();
  }
  if (n > 0)
    memcpy(grown + *len, data, n);
  *buf = grown;
  *len += n;
}

static void mem_push(mem_io_t *m, const void *data, size_t n) {
  buf_append(&m->in, &m->in_len, data, n);
}

static void mem_push_str(mem_io_t *m, const char *s) {
  mem_push(m, s, strlen(s));
}

static void mem_free(mem_io_t *m) {
  free(m->in);
  free(m->out);
  memset(m, 0, sizeof(*m));
}

/* base64(SHA-1(key GUID)), computed here independently of gen_ws.c. */
static void test_accept(const char *key, char out[29]) {
  char text[128];
  snprintf(text, sizeof(text), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL);
  EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

/* Extracts the Sec-WebSocket-Key value from a request. */
static bool request_key(const uint8_t *req, size_t len, char key[64]) {
  char *text = strndup((const char *)req, len);
  const char *p = text ? strstr(text, "Sec-WebSocket-Key: ") : NULL;
  bool ok = false;
  if (p != NULL) {
    p += strlen("Sec-WebSocket-Key: ");
    size_t n = strcspn(p, "\r\n");
    if (n < 64) {
      memcpy(key, p, n);
      key[n] = '\0';
      ok = true;
    }
  }
  free(text);
  return ok;
}

/* Offset just past the client's request header, 0 if not all there. */
static size_t request_end(const uint8_t *buf, size_t len) {
  for (size_t i = 3; i < len; i++)
    if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
      return i + 1;
  return 0;
}

static ssize_t mem_recv(void *io, uint8_t *buf, size_t len) {
  mem_io_t *m = io;
  if (m->auto_accept && !m->answered) {
    char key[64], accept[29];
    if (request_end(m->out, m->out_len) == 0 ||
        !request_key(m->out, m->out_len, key))
      return GEN_WS_ERR_AGAIN;
    test_accept(key, accept);
    char reply[256];
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
             accept);
    /* Put the reply in front of whatever the test queued. */
    uint8_t *rest = m->in;
    size_t rest_len = m->in_len;
    m->in = NULL;
    m->in_len = 0;
    mem_push_str(m, reply);
    mem_push(m, rest, rest_len);
    free(rest);
    m->answered = true;
  }
  if (m->stutter && (m->flip_r = !m->flip_r))
    return GEN_WS_ERR_AGAIN;
  size_t avail = m->in_len - m->in_off;
  if (avail == 0)
    return m->eof ? 0 : GEN_WS_ERR_AGAIN;
  size_t n = len < avail ? len : avail;
  if (m->rchunk > 0 && n > m->rchunk)
    n = m->rchunk;
  memcpy(buf, m->in + m->in_off, n);
  m->in_off += n;
  return (ssize_t)n;
}

static ssize_t mem_send(void *io, const uint8_t *buf, size_t len) {
  mem_io_t *m = io;
  if (m->wfull)
    return GEN_WS_ERR_AGAIN;
  if (m->stutter && (m->flip_w = !m->flip_w))
    return GEN_WS_ERR_AGAIN;
  size_t n = len;
  if (m->wchunk > 0 && n > m->wchunk)
    n = m->wchunk;
  buf_append(&m->out, &m->out_len, buf, n);
  return (ssize_t)n;
}

/* Never sleeps: "not ready" is reported as an immediate timeout. */
static int mem_wait(void *io, int events, int timeout_ms) {
  mem_io_t *m = io;
  (void)timeout_ms;
  int ready = 0;
  if ((events & GEN_WS_WAIT_READ) &&
      (m->in_off < m->in_len || m->eof || (m->auto_accept && !m->answered)))
    ready |= GEN_WS_WAIT_READ;
  if ((events & GEN_WS_WAIT_WRITE) && !m->wfull)
    ready |= GEN_WS_WAIT_WRITE;
  return ready;
}

static const gen_ws_io_t mem_ops = {
    .recv = mem_recv, .send = mem_send, .wait = mem_wait};

/* ---- frames ------------------------------------------------------------- */

/* Appends one frame as a server writes it (mask == NULL: unmasked). */
static void push_frame_ex(mem_io_t *m, uint8_t b0, const uint8_t *mask,
                          const void *payload, uint64_t len) {
  uint8_t hdr[14];
  size_t h = 0;
  uint8_t mbit = mask != NULL ? 0x80 : 0;
  hdr[h++] = b0;
  if (len < 126) {
    hdr[h++] = mbit | (uint8_t)len;
  } else if (len < 65536) {
    hdr[h++] = mbit | 126;
    hdr[h++] = (uint8_t)(len >> 8);
    hdr[h++] = (uint8_t)len;
  } else {
    hdr[h++] = mbit | 127;
    for (int i = 7; i >= 0; i--)
      hdr[h++] = (uint8_t)(len >> (8 * i));
  }
  if (mask != NULL) {
    memcpy(hdr + h, mask, 4);
    h += 4;
  }
  mem_push(m, hdr, h);
  if (payload == NULL)
    return;
  if (mask == NULL) {
    mem_push(m, payload, (size_t)len);
    return;
  }
  uint8_t *masked = malloc((size_t)len + 1);
  for (size_t i = 0; i < len; i++)
    masked[i] = ((const uint8_t *)payload)[i] ^ mask[i % 4];
  mem_push(m, masked, (size_t)len);
  free(masked);
}

static void push_frame(mem_io_t *m, uint8_t b0, const void *payload,
                       size_t len) {
  push_frame_ex(m, b0, NULL, payload, len);
}

static void push_text(mem_io_t *m, const char *text) {
  push_frame(m, FIN | OP_TEXT, text, strlen(text));
}

/* What a server still sends after the frame a test refuses: more than
 * wslay reads at once, so that only reading on drains it. */
static void push_tail(mem_io_t *m) {
  static char tail[65536];
  memset(tail, 'z', sizeof(tail));
  push_frame(m, FIN | OP_TEXT, tail, sizeof(tail));
}

static void push_close(mem_io_t *m, uint16_t code, const char *reason) {
  uint8_t p[125];
  size_t n = 0;
  if (code != 0) {
    p[n++] = (uint8_t)(code >> 8);
    p[n++] = (uint8_t)code;
    size_t r = reason ? strlen(reason) : 0;
    if (r > 0)
      memcpy(p + n, reason, r);
    n += r;
  }
  push_frame(m, FIN | OP_CLOSE, p, n);
}

static void push_handshake(mem_io_t *m) {
  mem_push_str(m, "HTTP/1.1 101 Switching Protocols\r\n"
                  "Upgrade: websocket\r\n"
                  "Connection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
                  "\r\n");
}

/* A frame the client wrote, unmasked. */
typedef struct {
  bool fin;
  uint8_t rsv;
  uint8_t opcode;
  bool masked;
  uint64_t len;
  uint8_t *payload; /* NUL-terminated copy; free() it */
} cframe_t;

/* Parses the client frame at *off in buf; false when incomplete. */
static bool parse_frame(const uint8_t *buf, size_t buf_len, size_t *off,
                        cframe_t *f) {
  const uint8_t *p = buf + *off;
  size_t avail = buf_len - *off;
  memset(f, 0, sizeof(*f));
  if (avail < 2)
    return false;
  f->fin = p[0] >> 7;
  f->rsv = (p[0] >> 4) & 7;
  f->opcode = p[0] & 0x0f;
  f->masked = p[1] >> 7;
  uint64_t len = p[1] & 0x7f;
  size_t h = 2;
  if (len == 126) {
    if (avail < 4)
      return false;
    len = ((uint64_t)p[2] << 8) | p[3];
    h = 4;
  } else if (len == 127) {
    if (avail < 10)
      return false;
    len = 0;
    for (int i = 0; i < 8; i++)
      len = (len << 8) | p[2 + i];
    h = 10;
  }
  uint8_t key[4] = {0, 0, 0, 0};
  if (f->masked) {
    if (avail < h + 4)
      return false;
    memcpy(key, p + h, 4);
    h += 4;
  }
  if (avail - h < len)
    return false;
  f->payload = malloc((size_t)len + 1);
  for (size_t i = 0; i < len; i++)
    f->payload[i] = p[h + i] ^ key[i % 4];
  f->payload[len] = '\0';
  f->len = len;
  *off += h + (size_t)len;
  return true;
}

/* The n-th frame (0-based) the client wrote after its request. */
static bool client_frame(const mem_io_t *m, int n, cframe_t *f) {
  size_t off = request_end(m->out, m->out_len);
  if (off == 0)
    return false;
  for (int i = 0;; i++) {
    if (!parse_frame(m->out, m->out_len, &off, f))
      return false;
    if (i == n)
      return true;
    free(f->payload);
  }
}

static uint16_t close_payload_code(const cframe_t *f) {
  if (f->len < 2)
    return 0;
  return (uint16_t)((f->payload[0] << 8) | f->payload[1]);
}

/* ---- message recorder ---------------------------------------------------- */

#define REC_MAX 16
typedef struct {
  char *msg[REC_MAX];
  size_t len[REC_MAX];
  size_t n;
  gen_ws_t *ws;       /* for callbacks that call back into the socket */
  const char *reply;  /* sent from the callback when not NULL */
  int reentry_status; /* what a forbidden call from the callback returned */
} rec_t;

static void rec_msg(void *ud, const char *data, size_t len) {
  rec_t *r = ud;
  if (data == NULL) { /* never allowed: record as a visible failure */
    r->reentry_status = 1;
    return;
  }
  if (r->n < REC_MAX) {
    r->msg[r->n] = malloc(len + 1);
    memcpy(r->msg[r->n], data, len);
    r->msg[r->n][len] = '\0';
    r->len[r->n] = len;
    r->n++;
  }
  if (r->ws != NULL && r->reply != NULL)
    gen_ws_send_text(r->ws, r->reply, strlen(r->reply));
  if (r->ws != NULL && r->reply == NULL) {
    int a = gen_ws_close(r->ws, 1000, NULL);
    int b = gen_ws_poll(r->ws, 0);
    r->reentry_status = (a == GEN_WS_ERR_INVALID && b == GEN_WS_ERR_INVALID)
                            ? GEN_WS_ERR_INVALID
                            : -1;
  }
}

static void rec_free(rec_t *r) {
  for (size_t i = 0; i < r->n; i++)
    free(r->msg[i]);
  memset(r, 0, sizeof(*r));
}

/* The fixed key of RFC 6455 for the handshake; real randomness for masks. */
static int test_random(uint8_t *buf, size_t len) {
  if (len == 16) {
    memcpy(buf, SAMPLE_NONCE, 16);
    return 0;
  }
  return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static gen_ws_t *new_ws(rec_t *r, size_t max_message) {
  return gen_ws_create(&test_org, &(gen_ws_callbacks_t){.on_message = rec_msg},
                       r, max_message);
}

/* Creates a socket and runs the handshake over m (reply queued first). */
static gen_ws_t *open_ws(mem_io_t *m, rec_t *r, size_t max_message) {
  gen_ws_t *ws = new_ws(r, max_message);
  if (ws == NULL)
    return NULL;
  if (gen_ws_connect_io(ws, &mem_ops, m, TEST_URL) != 0) {
    gen_ws_free(ws);
    return NULL;
  }
  return ws;
}

/* A memory transport with the handshake reply queued. */
static void mem_with_handshake(mem_io_t *m) {
  memset(m, 0, sizeof(*m));
  push_handshake(m);
}

/* ---- handshake ---------------------------------------------------------- */

DEF_TEST(handshake_success) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(0, gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
  OK(gen_ws_is_open(ws));

  char *req = strndup((char *)m.out, m.out_len);
  OK(strncmp(req, "GET /channels/streaming-0-abc?tok=secretquery HTTP/1.1\r\n",
             56) == 0);
  OK(strstr(req, "\r\nHost: streaming.example.com\r\n") != NULL);
  OK(strstr(req, "\r\nUpgrade: websocket\r\n") != NULL);
  OK(strstr(req, "\r\nConnection: Upgrade\r\n") != NULL);
  OK(strstr(req, "\r\nSec-WebSocket-Key: " SAMPLE_KEY "\r\n") != NULL);
  OK(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
  OK(strstr(req, "\r\nUser-Agent: ") != NULL);
  EXPECT_EQ_INT(m.out_len, request_end(m.out, m.out_len));
  free(req);

  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(0, r.n);
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_random_key) {
  mem_io_t m = {.auto_accept = true};
  rec_t r = {0};
  ws_random = ws_random_impl;
  gen_ws_t *ws = new_ws(&r, 0);
  int status = gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL);
  ws_random = test_random;
  EXPECT_EQ_INT(0, status);
  char key[64];
  OK(request_key(m.out, m.out_len, key));
  EXPECT_EQ_INT(24, strlen(key));
  OK(strcmp(key, SAMPLE_KEY) != 0);
  unsigned char raw[24];
  EXPECT_EQ_INT(18, EVP_DecodeBlock(raw, (const unsigned char *)key, 24));
  OK(key[22] == '=' && key[23] == '='); /* 18 - 2 padding = 16 bytes */
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_host_port) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(
      0, gen_ws_connect_io(ws, &mem_ops, &m, "wss://h.example.com:8443/x"));
  char *req = strndup((char *)m.out, m.out_len);
  OK(strncmp(req, "GET /x HTTP/1.1\r\n", 17) == 0);
  OK(strstr(req, "\r\nHost: h.example.com:8443\r\n") != NULL);
  free(req);
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_bad_accept) {
  mem_io_t m = {0};
  mem_push_str(&m, "HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  rec_t r = {0};
  mock_log_reset();
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(GEN_WS_ERR_HANDSHAKE,
                gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
  OK(!gen_ws_is_open(ws));
  OK(mock_log_contains("genesys_test plugin: websocket "
                       "wss://streaming.example.com/channels/streaming-0-abc: "
                       "handshake failed: Sec-WebSocket-Accept"));
  OK(!mock_log_contains("secretquery"));
  /* The connection is over: later calls say so. */
  EXPECT_EQ_INT(GEN_WS_ERR_HANDSHAKE, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(GEN_WS_ERR_HANDSHAKE, gen_ws_send_text(ws, "x", 1));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_accept_twice) {
  mem_io_t m = {0};
  mem_push_str(&m, "HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
                   "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n");
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(GEN_WS_ERR_HANDSHAKE,
                gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_not_101) {
  static const char *replies[] = {
      "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
      /* 2xx is no upgrade either */
      "HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
      "HTTP/1.1 1010 Weird\r\n\r\n",
      "SSH-2.0-OpenSSH_9.2\r\n\r\n",
      "\r\n\r\n",
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(replies); i++) {
    mem_io_t m = {0};
    mem_push_str(&m, replies[i]);
    rec_t r = {0};
    mock_log_reset();
    gen_ws_t *ws = new_ws(&r, 0);
    EXPECT_EQ_INT(GEN_WS_ERR_HANDSHAKE,
                  gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
    OK(!gen_ws_is_open(ws));
    if (i == 0)
      OK(mock_log_contains("handshake refused: HTTP status 403 Forbidden"));
    gen_ws_free(ws);
    mem_free(&m);
  }
  return 0;
}

DEF_TEST(handshake_header_overflow) {
  mem_io_t m = {0};
  mem_push_str(&m, "HTTP/1.1 101 Switching Protocols\r\n");
  char line[100];
  memset(line, 'a', sizeof(line));
  memcpy(line, "X-Pad: ", 7);
  memcpy(line + sizeof(line) - 2, "\r\n", 2);
  while (m.in_len <= GEN_WS_HEADER_MAX + 1000)
    mem_push(&m, line, sizeof(line));
  push_handshake(&m); /* a valid header after the limit changes nothing */
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(GEN_WS_ERR_HEADER_TOO_LARGE,
                gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
  OK(m.in_off <= GEN_WS_HEADER_MAX); /* read no further than the bound */
  OK(!gen_ws_is_open(ws));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_header_checks) {
  static const struct {
    const char *reply;
    int want;
  } cases[] = {
      /* case-insensitive names and values, token lists, LF-only lines */
      {"HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\n"
       "CONNECTION: keep-alive, Upgrade\r\n"
       "sec-websocket-accept:   " SAMPLE_ACCEPT "  \r\n\r\n",
       0},
      {"HTTP/1.1 101 OK\nUpgrade: websocket\nConnection: Upgrade\n"
       "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\n\n",
       0},
      {"HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
       GEN_WS_ERR_HANDSHAKE},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
       "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
       GEN_WS_ERR_HANDSHAKE},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       GEN_WS_ERR_HANDSHAKE},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
       "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
       GEN_WS_ERR_HANDSHAKE},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
       "Sec-WebSocket-Protocol: chat\r\n\r\n",
       GEN_WS_ERR_HANDSHAKE},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
       "no colon here\r\n\r\n",
       GEN_WS_ERR_HANDSHAKE},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       " folded: line\r\n"
       "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n",
       GEN_WS_ERR_HANDSHAKE},
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(cases); i++) {
    mem_io_t m = {0};
    mem_push_str(&m, cases[i].reply);
    rec_t r = {0};
    gen_ws_t *ws = new_ws(&r, 0);
    printf("# case %zu\n", i);
    EXPECT_EQ_INT(cases[i].want, gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
    gen_ws_free(ws);
    mem_free(&m);
  }
  return 0;
}

DEF_TEST(handshake_nul_in_header) {
  mem_io_t m = {0};
  static const char reply[] = "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
                              "X: a\0b\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n";
  mem_push(&m, reply, sizeof(reply) - 1);
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(GEN_WS_ERR_HANDSHAKE,
                gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_timeout) {
  mem_io_t m = {0}; /* the server never answers */
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(GEN_WS_ERR_TIMEOUT,
                gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
  OK(!gen_ws_is_open(ws));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_eof) {
  mem_io_t m = {.eof = true};
  mem_push_str(&m, "HTTP/1.1 101 Switching Protocols\r\nUpgr");
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(GEN_WS_ERR_EOF, gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
  EXPECT_EQ_INT(GEN_WS_CLOSE_ABNORMAL, gen_ws_close_code(ws));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(handshake_send_blocked) {
  mem_io_t m = {.wfull = true};
  push_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(GEN_WS_ERR_TIMEOUT,
                gen_ws_connect_io(ws, &mem_ops, &m, TEST_URL));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

/* Frames right behind the 101 reply, read in the same recv. */
DEF_TEST(handshake_frames_in_same_read) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_text(&m, "first");
  push_text(&m, "second");
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, r.n); /* nothing is dispatched from connect */
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(2, r.n);
  EXPECT_EQ_STR("first", r.msg[0]);
  EXPECT_EQ_STR("second", r.msg[1]);
  EXPECT_EQ_UINT64(2, gen_ws_messages_received(ws));
  EXPECT_EQ_UINT64(7 + 8, gen_ws_bytes_received(ws));
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

/* ---- frames ------------------------------------------------------------- */

DEF_TEST(frames_one_byte_reads) {
  mem_io_t m;
  mem_with_handshake(&m);
  m.rchunk = 1;
  m.stutter = true; /* and a would-block before every byte */
  push_text(&m, "{\"topicName\":\"channel.metadata\"}");
  push_frame(&m, FIN | OP_PING, "hb", 2);
  push_text(&m, "two");
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  for (int i = 0; i < 1000 && r.n < 2; i++)
    EXPECT_EQ_INT(0, gen_ws_poll(ws, 10));
  EXPECT_EQ_INT(2, r.n);
  EXPECT_EQ_STR("{\"topicName\":\"channel.metadata\"}", r.msg[0]);
  EXPECT_EQ_STR("two", r.msg[1]);
  for (int i = 0; i < 10; i++) /* flush the pong through the stutter */
    EXPECT_EQ_INT(0, gen_ws_poll(ws, 10));
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(OP_PONG, f.opcode);
  EXPECT_EQ_STR("hb", (char *)f.payload);
  free(f.payload);
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

DEF_TEST(fragmented_text) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_frame(&m, OP_TEXT, "Hel", 3);
  push_frame(&m, OP_CONT, "lo, ", 4);
  push_frame(&m, OP_CONT, "", 0);
  push_frame(&m, FIN | OP_CONT, "world", 5);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_STR("Hello, world", r.msg[0]);
  EXPECT_EQ_INT(12, r.len[0]);
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

DEF_TEST(ping_between_fragments) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_frame(&m, OP_TEXT, "{\"a\":", 5);
  push_frame(&m, FIN | OP_PING, "p1", 2);
  push_frame(&m, FIN | OP_CONT, "1}", 2);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_STR("{\"a\":1}", r.msg[0]);
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  OK(f.fin);
  OK(f.masked);
  EXPECT_EQ_INT(OP_PONG, f.opcode);
  EXPECT_EQ_INT(2, f.len);
  EXPECT_EQ_STR("p1", (char *)f.payload);
  free(f.payload);
  OK(!client_frame(&m, 1, &f));
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

/* Server frames are unmasked (accepted); every client frame is masked. */
DEF_TEST(masking) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_text(&m, "unmasked");
  push_frame(&m, FIN | OP_PING, NULL, 0);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_INT(0, gen_ws_send_text(ws, "abcdefgh", 8));
  size_t start = request_end(m.out, m.out_len);
  /* pong, then text: the mask bit is the top bit of the second byte */
  OK(m.out_len > start + 2);
  EXPECT_EQ_INT(0x80, m.out[start + 1] & 0x80);
  cframe_t f;
  OK(client_frame(&m, 1, &f));
  OK(f.masked);
  EXPECT_EQ_INT(0, f.rsv);
  EXPECT_EQ_STR("abcdefgh", (char *)f.payload);
  free(f.payload);
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

/* A masked frame from the server breaks RFC 6455 5.1: close with 1002. */
DEF_TEST(masked_server_frame_rejected) {
  mem_io_t m;
  mem_with_handshake(&m);
  static const uint8_t key[4] = {1, 2, 3, 4};
  push_frame_ex(&m, FIN | OP_TEXT, key, "masked", 6);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_PROTO, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(0, r.n);
  OK(!gen_ws_is_open(ws));
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(OP_CLOSE, f.opcode);
  EXPECT_EQ_INT(GEN_WS_CLOSE_PROTOCOL_ERROR, close_payload_code(&f));
  free(f.payload);
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(protocol_errors) {
  static const uint8_t bad_len16[] = {FIN | OP_TEXT, 126, 0,   5,  'h',
                                      'e',           'l', 'l', 'o'};
  static const uint8_t reserved_bit[] = {FIN | 0x40 | OP_TEXT, 1, 'x'};
  static const uint8_t reserved_op[] = {FIN | 0x3, 1, 'x'};
  static const uint8_t lone_cont[] = {FIN | OP_CONT, 1, 'x'};
  static const uint8_t text_in_text[] = {OP_TEXT,       1, 'a',
                                         FIN | OP_TEXT, 1, 'b'};
  static const uint8_t fragmented_ping[] = {OP_PING, 0};
  static const uint8_t bad_utf8[] = {FIN | OP_TEXT, 2, 0xc3, 0x28};
  static const uint8_t bad_close_code[] = {FIN | OP_CLOSE, 2, 0x03, 0xed};
  static const struct {
    const uint8_t *frame;
    size_t len;
  } cases[] = {
      {bad_len16, sizeof(bad_len16)},
      {reserved_bit, sizeof(reserved_bit)},
      {reserved_op, sizeof(reserved_op)},
      {lone_cont, sizeof(lone_cont)},
      {text_in_text, sizeof(text_in_text)},
      {fragmented_ping, sizeof(fragmented_ping)},
      {bad_utf8, sizeof(bad_utf8)},
      {bad_close_code, sizeof(bad_close_code)}, /* 1005 must not be sent */
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(cases); i++) {
    mem_io_t m;
    mem_with_handshake(&m);
    mem_push(&m, cases[i].frame, cases[i].len);
    push_text(&m, "after");
    push_tail(&m);
    rec_t r = {0};
    gen_ws_t *ws = open_ws(&m, &r, 0);
    CHECK_NOT_NULL(ws);
    printf("# case %zu\n", i);
    EXPECT_EQ_INT(GEN_WS_ERR_PROTO, gen_ws_poll(ws, 0));
    EXPECT_EQ_INT(0, r.n);
    OK(!gen_ws_is_open(ws));
    cframe_t f;
    OK(client_frame(&m, 0, &f)); /* a close frame went out */
    EXPECT_EQ_INT(OP_CLOSE, f.opcode);
    OK(f.masked);
    free(f.payload);
    /* then what the server still sent was read and dropped: a socket
     * closed with unread bytes is reset, and the server may never read
     * our close frame */
    OK(m.in_off == m.in_len);
    gen_ws_free(ws);
    mem_free(&m);
  }
  /* invalid UTF-8 is 1007 */
  mem_io_t m;
  mem_with_handshake(&m);
  mem_push(&m, bad_utf8, sizeof(bad_utf8));
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_PROTO, gen_ws_poll(ws, 0));
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(1007, close_payload_code(&f));
  free(f.payload);
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(control_frame_too_long) {
  mem_io_t m;
  mem_with_handshake(&m);
  char ping[126];
  memset(ping, 'p', sizeof(ping));
  push_frame(&m, FIN | OP_PING, ping, sizeof(ping));
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_PROTO, gen_ws_poll(ws, 0));
  OK(!gen_ws_is_open(ws));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(oversized_message) {
  mem_io_t m;
  mem_with_handshake(&m);
  char big[65];
  memset(big, 'x', sizeof(big));
  push_frame(&m, FIN | OP_TEXT, big, 64); /* exactly the cap: fine */
  push_frame(&m, FIN | OP_TEXT, big, 65); /* one over */
  push_text(&m, "never");
  push_tail(&m);
  rec_t r = {0};
  mock_log_reset();
  gen_ws_t *ws = open_ws(&m, &r, 64);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_TOO_BIG, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_INT(64, r.len[0]);
  OK(!gen_ws_is_open(ws));
  EXPECT_EQ_INT(GEN_WS_CLOSE_ABNORMAL, gen_ws_close_code(ws));
  OK(mock_log_contains("exceeded 64 bytes"));
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(OP_CLOSE, f.opcode);
  OK(f.masked);
  EXPECT_EQ_INT(GEN_WS_CLOSE_MESSAGE_TOO_BIG, close_payload_code(&f));
  free(f.payload);
  OK(m.in_off == m.in_len); /* the rest read and dropped before closing */
  EXPECT_EQ_INT(GEN_WS_ERR_TOO_BIG, gen_ws_poll(ws, 0)); /* sticky */
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

/* The cap applies to the whole message, not to each fragment. */
DEF_TEST(oversized_fragmented_message) {
  mem_io_t m;
  mem_with_handshake(&m);
  char part[40];
  memset(part, 'y', sizeof(part));
  push_frame(&m, OP_TEXT, part, sizeof(part));
  push_frame(&m, FIN | OP_CONT, part, sizeof(part));
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 64);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_TOO_BIG, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(0, r.n);
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

/* A huge announced length fails on the first payload bytes, before wslay
 * allocates anything for the message. */
DEF_TEST(oversized_announced_length) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_frame_ex(&m, FIN | OP_TEXT, NULL, NULL, (uint64_t)1 << 40);
  mem_push_str(&m, "abc");
  push_tail(&m);
  m.eof = true; /* the server ends the connection: the drain stops there */
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_TOO_BIG, gen_ws_poll(ws, 0));
  OK(m.in_off == m.in_len);
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(zero_length_message) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_frame(&m, FIN | OP_TEXT, "", 0);
  push_frame(&m, OP_TEXT, "", 0); /* empty fragments make an empty message */
  push_frame(&m, FIN | OP_CONT, "", 0);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(0, r.reentry_status); /* data was never NULL */
  EXPECT_EQ_INT(2, r.n);
  EXPECT_EQ_INT(0, r.len[0]);
  EXPECT_EQ_INT(0, r.len[1]);
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

static bool check_pattern(const char *msg, size_t len, size_t want) {
  if (len != want)
    return false;
  for (size_t i = 0; i < len; i++)
    if (msg[i] != 'a' + (char)(i % 26))
      return false;
  return true;
}

DEF_TEST(extended_lengths) {
  /* 125: 7-bit; 126 and 65535: 16-bit bounds; 65536: smallest 64-bit */
  static const size_t sizes[] = {125, 126, 65535, 65536, 100000};
  mem_io_t m;
  mem_with_handshake(&m);
  m.rchunk = 1000;
  char *payload = malloc(100000);
  for (size_t i = 0; i < 100000; i++)
    payload[i] = 'a' + (char)(i % 26);
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(sizes); i++)
    push_frame(&m, FIN | OP_TEXT, payload, sizes[i]);
  free(payload);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(STATIC_ARRAY_SIZE(sizes), r.n);
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(sizes); i++)
    OK(check_pattern(r.msg[i], r.len[i], sizes[i]));
  /* and the client encodes them the same way */
  char *text = malloc(65536);
  memset(text, 'z', 65536);
  EXPECT_EQ_INT(0, gen_ws_send_text(ws, text, 126));
  EXPECT_EQ_INT(0, gen_ws_send_text(ws, text, 65536));
  free(text);
  size_t start = request_end(m.out, m.out_len);
  EXPECT_EQ_INT(0x80 | 126, m.out[start + 1]);
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(126, f.len);
  free(f.payload);
  OK(client_frame(&m, 1, &f));
  EXPECT_EQ_INT(65536, f.len);
  OK(f.payload[0] == 'z' && f.payload[65535] == 'z');
  free(f.payload);
  size_t second = start + 2 + 2 + 4 + 126;
  EXPECT_EQ_INT(0x80 | 127, m.out[second + 1]);
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

/* Frames of every size, a fragmented message with a ping inside it and
 * multi-byte UTF-8, cut at 7,000-byte reads: wslay loses no byte and no
 * message, and answers the ping. */
DEF_TEST(frames_straddle_reads) {
  static const size_t sizes[] = {65532, 65533, 3, 65532};
  mem_io_t m;
  mem_with_handshake(&m);
  m.rchunk = 7000; /* frames straddle reads */
  char *payload = malloc(65533);
  for (size_t i = 0; i < 65533; i++)
    payload[i] = 'a' + (char)(i % 26);
  push_text(&m, "one");
  push_frame(&m, OP_TEXT, "frag", 4); /* a message begins... */
  push_frame(&m, FIN | OP_PING, "p", 1);
  push_frame(&m, FIN | OP_CONT, "ment", 4); /* ...until its last fragment */
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(sizes); i++)
    push_frame(&m, FIN | OP_TEXT, payload, sizes[i]);
  push_text(&m, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e"); /* 2-4 bytes */
  free(payload);
  size_t reply_len = request_end(m.in, m.in_len);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  for (int i = 0; i < 100 && r.n < 7; i++)
    EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(7, r.n);
  EXPECT_EQ_STR("one", r.msg[0]);
  EXPECT_EQ_STR("fragment", r.msg[1]);
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(sizes); i++) {
    EXPECT_EQ_INT(sizes[i], r.len[2 + i]);
    OK(check_pattern(r.msg[2 + i], r.len[2 + i], sizes[i]));
  }
  EXPECT_EQ_STR("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e", r.msg[6]);
  EXPECT_EQ_UINT64(7, gen_ws_messages_received(ws));
  EXPECT_EQ_UINT64(m.in_len - reply_len, gen_ws_bytes_received(ws));
  cframe_t f; /* the ping inside the fragmented message was answered */
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(OP_PONG, f.opcode);
  free(f.payload);
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

/* UTF-8 that only a strict check refuses closes with 1007: an overlong
 * '/', a surrogate, past U+10FFFF, and a truncated sequence. */
DEF_TEST(strict_utf8_closes_1007) {
  static const char *bad[] = {"a\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                              "ab\xe2\x82"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad); i++) {
    mem_io_t m;
    mem_with_handshake(&m);
    push_text(&m, "ok");
    push_text(&m, bad[i]);
    push_text(&m, "after");
    push_tail(&m);
    rec_t r = {0};
    gen_ws_t *ws = open_ws(&m, &r, 0);
    CHECK_NOT_NULL(ws);
    printf("# case %zu\n", i);
    EXPECT_EQ_INT(GEN_WS_ERR_PROTO, gen_ws_poll(ws, 0));
    EXPECT_EQ_INT(1, r.n);
    cframe_t f;
    OK(client_frame(&m, 0, &f));
    EXPECT_EQ_INT(1007, close_payload_code(&f));
    free(f.payload);
    OK(m.in_off == m.in_len);
    gen_ws_free(ws);
    rec_free(&r);
    mem_free(&m);
  }
  return 0;
}

DEF_TEST(binary_message_dropped) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_frame(&m, FIN | OP_BINARY, "\x01\x02", 2);
  push_text(&m, "text");
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  OK(gen_ws_is_open(ws));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_STR("text", r.msg[0]);
  EXPECT_EQ_UINT64(1, gen_ws_messages_dropped(ws));
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

/* ---- closing ------------------------------------------------------------ */

DEF_TEST(server_close) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_text(&m, "last");
  push_close(&m, 1001, "going away");
  push_text(&m, "after close"); /* must not be read */
  rec_t r = {0};
  mock_log_reset();
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_CLOSED, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_STR("last", r.msg[0]);
  EXPECT_EQ_INT(1001, gen_ws_close_code(ws));
  EXPECT_EQ_STR("going away", gen_ws_close_reason(ws));
  OK(!gen_ws_is_open(ws));
  OK(mock_log_contains("closed by the server: 1001 (going away)"));
  /* the close frame is echoed, masked, with the same code */
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(OP_CLOSE, f.opcode);
  OK(f.masked);
  EXPECT_EQ_INT(1001, close_payload_code(&f));
  free(f.payload);
  OK(!client_frame(&m, 1, &f));
  EXPECT_EQ_INT(GEN_WS_ERR_CLOSED, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(GEN_WS_ERR_CLOSED, gen_ws_send_text(ws, PING, strlen(PING)));
  EXPECT_EQ_INT(0, gen_ws_close(ws, 1000, NULL)); /* nothing left to do */
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

DEF_TEST(server_close_without_code) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_close(&m, 0, NULL);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_CLOSED, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(GEN_WS_CLOSE_NO_STATUS, gen_ws_close_code(ws));
  EXPECT_EQ_STR("", gen_ws_close_reason(ws));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

/* A hostile close reason is stored printable only. */
DEF_TEST(server_close_reason_sanitised) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_close(&m, 4000, "bad\r\nline\x01");
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_CLOSED, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(4000, gen_ws_close_code(ws));
  EXPECT_EQ_STR("bad??line?", gen_ws_close_reason(ws));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(abrupt_eof) {
  mem_io_t m;
  mem_with_handshake(&m);
  m.eof = true;
  push_text(&m, "whole");
  mem_push(&m, "\x81\x05he", 4); /* a frame cut short */
  rec_t r = {0};
  mock_log_reset();
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_EOF, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_INT(GEN_WS_CLOSE_ABNORMAL, gen_ws_close_code(ws));
  OK(!gen_ws_is_open(ws));
  OK(mock_log_contains("without a close frame"));
  OK(!client_frame(&m, 0, &(cframe_t){0})); /* nothing sent to a dead peer */
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

DEF_TEST(client_close) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  push_text(&m, "in flight"); /* arrives while closing: dropped */
  push_close(&m, 1000, "");
  EXPECT_EQ_INT(0, gen_ws_close(ws, 1000, "bye"));
  OK(!gen_ws_is_open(ws));
  EXPECT_EQ_INT(1000, gen_ws_close_code(ws));
  EXPECT_EQ_INT(0, r.n);
  EXPECT_EQ_UINT64(1, gen_ws_messages_dropped(ws));
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(OP_CLOSE, f.opcode);
  OK(f.fin);
  OK(f.masked);
  EXPECT_EQ_INT(5, f.len);
  EXPECT_EQ_INT(1000, close_payload_code(&f));
  OK(memcmp(f.payload + 2, "bye", 3) == 0);
  free(f.payload);
  OK(!client_frame(&m, 1, &f)); /* the peer's close is not echoed back */
  EXPECT_EQ_INT(GEN_WS_ERR_NOT_OPEN, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(GEN_WS_ERR_NOT_OPEN, gen_ws_send_text(ws, "x", 1));
  EXPECT_EQ_INT(0, gen_ws_close(ws, 1000, NULL));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(client_close_no_answer) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_TIMEOUT, gen_ws_close(ws, 1001, NULL));
  OK(!gen_ws_is_open(ws));
  EXPECT_EQ_INT(GEN_WS_CLOSE_ABNORMAL, gen_ws_close_code(ws));
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(1001, close_payload_code(&f));
  EXPECT_EQ_INT(2, f.len);
  free(f.payload);
  gen_ws_free(ws);
  mem_free(&m);

  /* the peer drops TCP instead of answering */
  mem_with_handshake(&m);
  ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  m.eof = true;
  EXPECT_EQ_INT(GEN_WS_ERR_EOF, gen_ws_close(ws, 1000, "x"));
  OK(!gen_ws_is_open(ws));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(client_close_arguments) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, gen_ws_close(ws, 1005, NULL));
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, gen_ws_close(ws, 1006, NULL));
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, gen_ws_close(ws, 999, NULL));
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, gen_ws_close(ws, 5000, NULL));
  OK(gen_ws_is_open(ws));
  /* a long reason is cut to 123 bytes: the payload stays at 125 */
  char reason[300];
  memset(reason, 'r', sizeof(reason) - 1);
  reason[sizeof(reason) - 1] = '\0';
  push_close(&m, 4001, NULL);
  EXPECT_EQ_INT(0, gen_ws_close(ws, 4001, reason));
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(125, f.len);
  free(f.payload);
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

/* Freeing an open socket says 1001 (going away) without waiting. */
DEF_TEST(free_while_open) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  gen_ws_free(ws);
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_INT(OP_CLOSE, f.opcode);
  EXPECT_EQ_INT(GEN_WS_CLOSE_GOING_AWAY, close_payload_code(&f));
  free(f.payload);
  mem_free(&m);
  gen_ws_free(NULL);
  return 0;
}

/* ---- sending ------------------------------------------------------------ */

DEF_TEST(json_ping) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  size_t start = m.out_len;
  EXPECT_EQ_INT(0, gen_ws_send_text(ws, PING, strlen(PING)));
  /* FIN + text, mask bit + 18, 4 mask bytes, 18 masked bytes */
  EXPECT_EQ_INT(start + 2 + 4 + 18, m.out_len);
  EXPECT_EQ_INT(0x81, m.out[start]);
  EXPECT_EQ_INT(0x80 | 18, m.out[start + 1]);
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  OK(f.fin);
  OK(f.masked);
  EXPECT_EQ_INT(OP_TEXT, f.opcode);
  EXPECT_EQ_STR(PING, (char *)f.payload);
  free(f.payload);
  /* the answer comes back as an ordinary message */
  push_text(&m, "{\"topicName\":\"channel.metadata\","
                "\"eventBody\":{\"message\":\"pong\"}}");
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

DEF_TEST(send_partial_writes) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  m.wchunk = 1;
  m.stutter = true;
  EXPECT_EQ_INT(0, gen_ws_send_text(ws, PING, strlen(PING)));
  EXPECT_EQ_INT(0, gen_ws_send_text(ws, "second", 6));
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 100)); /* waits for writability */
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_STR(PING, (char *)f.payload);
  free(f.payload);
  OK(client_frame(&m, 1, &f));
  EXPECT_EQ_STR("second", (char *)f.payload);
  free(f.payload);
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(send_queue_bounded) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  m.wfull = true;
  char chunk[1024];
  memset(chunk, 'q', sizeof(chunk));
  int sent = 0, status;
  while ((status = gen_ws_send_text(ws, chunk, sizeof(chunk))) == 0)
    sent++;
  EXPECT_EQ_INT(GEN_WS_ERR_QUEUE_FULL, status);
  EXPECT_EQ_INT(GEN_WS_SEND_QUEUE_MAX / sizeof(chunk), sent);
  OK(gen_ws_is_open(ws));
  m.wfull = false;
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 100));
  cframe_t f;
  OK(client_frame(&m, sent - 1, &f));
  EXPECT_EQ_INT(sizeof(chunk), f.len);
  free(f.payload);
  EXPECT_EQ_INT(0, gen_ws_send_text(ws, chunk, sizeof(chunk)));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

/* on_message may send (queued, flushed by the poll), not close or poll. */
DEF_TEST(callback_reentry) {
  mem_io_t m;
  mem_with_handshake(&m);
  push_text(&m, "question");
  rec_t r = {.reply = "answer"};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  r.ws = ws;
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  cframe_t f;
  OK(client_frame(&m, 0, &f));
  EXPECT_EQ_STR("answer", (char *)f.payload);
  free(f.payload);

  r.reply = NULL; /* now the callback tries gen_ws_close and gen_ws_poll */
  push_text(&m, "again");
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, r.reentry_status);
  OK(gen_ws_is_open(ws));
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

/* One poll reads at most WS_PUMP_BUDGET bytes; the next goes on. */
DEF_TEST(poll_budget) {
  mem_io_t m;
  mem_with_handshake(&m);
  size_t size = WS_PUMP_BUDGET * 6 / 10;
  char *payload = malloc(size);
  memset(payload, 'b', size);
  for (int i = 0; i < 3; i++)
    push_frame(&m, FIN | OP_TEXT, payload, size);
  free(payload);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(3, r.n);
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m);
  return 0;
}

DEF_TEST(poll_idle) {
  mem_io_t m;
  mem_with_handshake(&m);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 50));
  OK(gen_ws_is_open(ws));
  EXPECT_EQ_UINT64(0, gen_ws_bytes_received(ws));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

/* The same gen_ws_t connects again; totals add up across connections. */
DEF_TEST(reconnect) {
  mem_io_t m1, m2;
  mem_with_handshake(&m1);
  push_text(&m1, "one");
  push_close(&m1, 1001, NULL);
  rec_t r = {0};
  gen_ws_t *ws = open_ws(&m1, &r, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_INT(GEN_WS_ERR_CLOSED, gen_ws_poll(ws, 0));
  mem_with_handshake(&m2);
  push_text(&m2, "two");
  EXPECT_EQ_INT(0, gen_ws_connect_io(ws, &mem_ops, &m2, TEST_URL));
  EXPECT_EQ_INT(0, gen_ws_close_code(ws));
  EXPECT_EQ_INT(0, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(2, r.n);
  EXPECT_EQ_UINT64(2, gen_ws_messages_received(ws));
  EXPECT_EQ_STR("two", r.msg[1]);
  /* and connecting while open drops the old connection first */
  mem_io_t m3;
  mem_with_handshake(&m3);
  EXPECT_EQ_INT(0, gen_ws_connect_io(ws, &mem_ops, &m3, TEST_URL));
  OK(gen_ws_is_open(ws));
  gen_ws_free(ws);
  rec_free(&r);
  mem_free(&m1);
  mem_free(&m2);
  mem_free(&m3);
  return 0;
}

/* ---- URLs --------------------------------------------------------------- */

DEF_TEST(url_parse) {
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  ws_url_t u;
  EXPECT_EQ_INT(0, ws_url_parse(ws, TEST_URL, &u));
  OK(u.tls);
  EXPECT_EQ_INT(443, u.port);
  EXPECT_EQ_STR("streaming.example.com", u.host);
  EXPECT_EQ_STR("streaming.example.com", u.hostport);
  EXPECT_EQ_STR("/channels/streaming-0-abc?tok=secretquery", u.target);
  EXPECT_EQ_STR("wss://streaming.example.com/channels/streaming-0-abc",
                u.where);
  ws_url_free(&u);

  EXPECT_EQ_INT(0, ws_url_parse(ws, "WSS://[::1]:8443", &u));
  EXPECT_EQ_INT(8443, u.port);
  EXPECT_EQ_STR("[::1]:8443", u.hostport);
  EXPECT_EQ_STR("/", u.target);
  ws_url_free(&u);

  EXPECT_EQ_INT(0, ws_url_parse(ws, "wss://h.example.com:443/p#frag", &u));
  EXPECT_EQ_STR("h.example.com", u.hostport);
  EXPECT_EQ_STR("/p", u.target);
  ws_url_free(&u);

  EXPECT_EQ_INT(0, ws_url_parse(ws, "ws://127.0.0.1:9000/loop", &u));
  OK(!u.tls);
  EXPECT_EQ_INT(9000, u.port);
  ws_url_free(&u);

  static const char *refused[] = {
      "ws://streaming.example.com/channels/x", /* plain, not loopback */
      "https://streaming.example.com/",
      "streaming.example.com/channels/x",
      "wss://user:pw@streaming.example.com/",
      "wss://",
      "wss://:443/x",
      "wss://a b/",
      "",
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(refused); i++) {
    printf("# %s\n", refused[i]);
    EXPECT_EQ_INT(GEN_WS_ERR_URL, ws_url_parse(ws, refused[i], &u));
    OK(u.host == NULL && u.target == NULL);
  }
  gen_ws_free(ws);
  return 0;
}

DEF_TEST(connect_refuses_urls) {
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  mem_io_t m;
  mem_with_handshake(&m);
  EXPECT_EQ_INT(GEN_WS_ERR_URL,
                gen_ws_connect(ws, "ws://streaming.example.com/channels/x"));
  EXPECT_EQ_INT(GEN_WS_ERR_URL,
                gen_ws_connect_io(ws, &mem_ops, &m, "http://127.0.0.1/"));
  EXPECT_EQ_INT(0, m.out_len); /* nothing was sent */
  EXPECT_EQ_INT(GEN_WS_ERR_URL, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, gen_ws_connect(ws, NULL));
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, gen_ws_connect_io(ws, NULL, &m, TEST_URL));
  gen_ws_free(ws);
  mem_free(&m);
  return 0;
}

DEF_TEST(not_connected) {
  rec_t r = {0};
  gen_ws_t *ws = new_ws(&r, 0);
  CHECK_NOT_NULL(ws);
  OK(!gen_ws_is_open(ws));
  EXPECT_EQ_INT(0, gen_ws_close_code(ws));
  EXPECT_EQ_INT(GEN_WS_ERR_NOT_OPEN, gen_ws_poll(ws, 0));
  EXPECT_EQ_INT(GEN_WS_ERR_NOT_OPEN, gen_ws_send_text(ws, "x", 1));
  EXPECT_EQ_INT(0, gen_ws_close(ws, 1000, NULL));
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, gen_ws_poll(NULL, 0));
  EXPECT_EQ_INT(GEN_WS_ERR_INVALID, gen_ws_send_text(ws, NULL, 1));
  OK(!gen_ws_is_open(NULL));
  EXPECT_EQ_INT(0, gen_ws_close_code(NULL));
  EXPECT_EQ_STR("", gen_ws_close_reason(NULL));
  EXPECT_EQ_UINT64(0, gen_ws_bytes_received(NULL));
  gen_ws_free(ws);
  /* without an org: defaults and the generic plugin name */
  ws = gen_ws_create(NULL, NULL, NULL, 0);
  CHECK_NOT_NULL(ws);
  EXPECT_EQ_STR("genesys", ws->plugin);
  EXPECT_EQ_INT(GEN_WS_DEFAULT_MAX_MESSAGE, ws->max_message);
  gen_ws_free(ws);
  return 0;
}

/* ---- the libcurl transport against a loopback server --------------------- */

typedef struct {
  int lfd;
  bool ok;
  const char *step; /* where the server stopped, for the test output */
} srv_t;

static bool srv_recv(int fd, uint8_t **buf, size_t *len) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, 5000) != 1)
    return false;
  uint8_t tmp[4096];
  ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
  if (n <= 0)
    return false;
  buf_append(buf, len, tmp, (size_t)n);
  return true;
}

static bool srv_send(int fd, const void *data, size_t len) {
  return send(fd, data, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static bool srv_send_frame(int fd, uint8_t b0, const void *payload,
                           size_t len) {
  mem_io_t tmp = {0};
  push_frame(&tmp, b0, payload, len);
  bool ok = srv_send(fd, tmp.in, tmp.in_len);
  mem_free(&tmp);
  return ok;
}

/* Waits for the client's next frame; false on timeout or EOF. */
static bool srv_frame(int fd, uint8_t **buf, size_t *len, size_t *off,
                      cframe_t *f) {
  while (!parse_frame(*buf, *len, off, f))
    if (!srv_recv(fd, buf, len))
      return false;
  return true;
}

static void *srv_main(void *arg) {
  srv_t *s = arg;
  uint8_t *buf = NULL;
  size_t len = 0;
  cframe_t f = {0};
  s->step = "accept";
  struct pollfd p = {.fd = s->lfd, .events = POLLIN};
  if (poll(&p, 1, 5000) != 1)
    return NULL;
  int fd = accept(s->lfd, NULL, NULL);
  if (fd < 0)
    return NULL;

  s->step = "request";
  while (request_end(buf, len) == 0)
    if (!srv_recv(fd, &buf, &len))
      goto out;
  char key[64], accept_value[29], reply[256];
  if (!request_key(buf, len, key) ||
      memcmp(buf, "GET /channels/loop?x=1 HTTP/1.1\r\n", 33) != 0)
    goto out;
  test_accept(key, accept_value);
  snprintf(reply, sizeof(reply),
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
           accept_value);
  s->step = "reply";
  if (!srv_send(fd, reply, strlen(reply)) ||
      !srv_send_frame(fd, FIN | OP_TEXT, "hello", 5))
    goto out;

  s->step = "ping";
  size_t off = request_end(buf, len);
  if (!srv_frame(fd, &buf, &len, &off, &f) || f.opcode != OP_TEXT ||
      !f.masked || strcmp((char *)f.payload, PING) != 0)
    goto out;
  free(f.payload);
  f.payload = NULL;
  static const char pong[] =
      "{\"topicName\":\"channel.metadata\",\"eventBody\":{\"message\":"
      "\"pong\"}}";
  s->step = "close";
  if (!srv_send_frame(fd, FIN | OP_TEXT, pong, strlen(pong)) ||
      !srv_send_frame(fd, FIN | OP_CLOSE,
                      "\x03\xe8"
                      "done",
                      6))
    goto out;
  s->step = "close echo";
  if (!srv_frame(fd, &buf, &len, &off, &f) || f.opcode != OP_CLOSE ||
      close_payload_code(&f) != 1000)
    goto out;
  s->ok = true;
  s->step = "done";
out:
  free(f.payload);
  free(buf);
  close(fd);
  return NULL;
}

DEF_TEST(curl_loopback) {
  srv_t s = {.lfd = socket(AF_INET, SOCK_STREAM, 0)};
  OK(s.lfd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sa);
  CHECK_ZERO(bind(s.lfd, (struct sockaddr *)&sa, sizeof(sa)));
  CHECK_ZERO(listen(s.lfd, 1));
  CHECK_ZERO(getsockname(s.lfd, (struct sockaddr *)&sa, &sl));
  char url[128];
  snprintf(url, sizeof(url), "ws://127.0.0.1:%u/channels/loop?x=1",
           (unsigned)ntohs(sa.sin_port));
  pthread_t t;
  CHECK_ZERO(pthread_create(&t, NULL, srv_main, &s));

  gen_org_t org = {.plugin = "genesys_test",
                   .connect_timeout = TIME_T_TO_CDTIME_T(5),
                   .timeout = TIME_T_TO_CDTIME_T(5)};
  rec_t r = {0};
  gen_ws_t *ws =
      gen_ws_create(&org, &(gen_ws_callbacks_t){.on_message = rec_msg}, &r, 0);
  int status = gen_ws_connect(ws, url);
  EXPECT_EQ_INT(0, status);
  for (int i = 0; i < 50 && r.n < 1; i++)
    EXPECT_EQ_INT(0, gen_ws_poll(ws, 100));
  EXPECT_EQ_INT(1, r.n);
  EXPECT_EQ_STR("hello", r.msg[0]);
  EXPECT_EQ_INT(0, gen_ws_send_text(ws, PING, strlen(PING)));
  status = 0;
  for (int i = 0; i < 50 && status == 0; i++)
    status = gen_ws_poll(ws, 100);
  EXPECT_EQ_INT(GEN_WS_ERR_CLOSED, status);
  EXPECT_EQ_INT(2, r.n);
  EXPECT_EQ_INT(1000, gen_ws_close_code(ws));
  EXPECT_EQ_STR("done", gen_ws_close_reason(ws));
  pthread_join(t, NULL);
  printf("# server stopped at: %s\n", s.step);
  OK(s.ok);
  close(s.lfd);
  gen_ws_free(ws);
  rec_free(&r);
  return 0;
}

DEF_TEST(curl_connect_refused) {
  /* a port that was just free: nothing listens there */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sa);
  CHECK_ZERO(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
  CHECK_ZERO(getsockname(fd, (struct sockaddr *)&sa, &sl));
  close(fd);
  char url[128];
  snprintf(url, sizeof(url), "ws://127.0.0.1:%u/x",
           (unsigned)ntohs(sa.sin_port));
  rec_t r = {0};
  mock_log_reset();
  gen_ws_t *ws = new_ws(&r, 0);
  EXPECT_EQ_INT(GEN_WS_ERR_CONNECT, gen_ws_connect(ws, url));
  OK(!gen_ws_is_open(ws));
  OK(mock_log_contains("genesys_test plugin: websocket ws://127.0.0.1:"));
  OK(mock_log_contains("connect failed"));
  gen_ws_free(ws);
  return 0;
}

/* The WebSocket's handle gets the whole TLS and proxy policy, as the REST
 * one does (test_http), before it connects (here to nothing). */
DEF_TEST(curl_policy) {
  gen_org_t org = {.plugin = "genesys_test",
                   .proxy = "http://127.0.0.1:1",
                   .ca_file = "/etc/ssl/certs/ca-certificates.crt",
                   .connect_timeout = TIME_T_TO_CDTIME_T(5),
                   .timeout = TIME_T_TO_CDTIME_T(5)};
  rec_t r = {0};
  gen_ws_t *ws =
      gen_ws_create(&org, &(gen_ws_callbacks_t){.on_message = rec_msg}, &r, 0);
  policy_watch();
  OK(gen_ws_connect(ws, "wss://127.0.0.1:1/channels/x") != 0);
  EXPECT_EQ_INT(0, policy_expect_all(org.proxy, org.ca_file));
  gen_ws_free(ws);
  rec_free(&r);
  return 0;
}

int main(void) {
  mock_log_echo = true;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ws_random = test_random;

  RUN_TEST(handshake_success);
  RUN_TEST(handshake_random_key);
  RUN_TEST(handshake_host_port);
  RUN_TEST(handshake_bad_accept);
  RUN_TEST(handshake_accept_twice);
  RUN_TEST(handshake_not_101);
  RUN_TEST(handshake_header_overflow);
  RUN_TEST(handshake_header_checks);
  RUN_TEST(handshake_nul_in_header);
  RUN_TEST(handshake_timeout);
  RUN_TEST(handshake_eof);
  RUN_TEST(handshake_send_blocked);
  RUN_TEST(handshake_frames_in_same_read);
  RUN_TEST(frames_one_byte_reads);
  RUN_TEST(fragmented_text);
  RUN_TEST(ping_between_fragments);
  RUN_TEST(frames_straddle_reads);
  RUN_TEST(strict_utf8_closes_1007);
  RUN_TEST(masking);
  RUN_TEST(masked_server_frame_rejected);
  RUN_TEST(protocol_errors);
  RUN_TEST(control_frame_too_long);
  RUN_TEST(oversized_message);
  RUN_TEST(oversized_fragmented_message);
  RUN_TEST(oversized_announced_length);
  RUN_TEST(zero_length_message);
  RUN_TEST(extended_lengths);
  RUN_TEST(binary_message_dropped);
  RUN_TEST(server_close);
  RUN_TEST(server_close_without_code);
  RUN_TEST(server_close_reason_sanitised);
  RUN_TEST(abrupt_eof);
  RUN_TEST(client_close);
  RUN_TEST(client_close_no_answer);
  RUN_TEST(client_close_arguments);
  RUN_TEST(free_while_open);
  RUN_TEST(json_ping);
  RUN_TEST(send_partial_writes);
  RUN_TEST(curl_policy);
  RUN_TEST(send_queue_bounded);
  RUN_TEST(callback_reentry);
  RUN_TEST(poll_budget);
  RUN_TEST(poll_idle);
  RUN_TEST(reconnect);
  RUN_TEST(url_parse);
  RUN_TEST(connect_refuses_urls);
  RUN_TEST(not_connected);
  RUN_TEST(curl_loopback);
  RUN_TEST(curl_connect_refused);

  mock_log_reset();
  curl_global_cleanup();
  END_TEST;
}
