/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: WebSocket client on libcurl (TCP, proxy, TLS) and wslay
 * (framing). The contract is in gen_ws.h.
 *
 * Layers, bottom up: a byte transport (gen_ws_io_t; the libcurl one lives
 * here, tests bring their own), the opening handshake written and checked
 * here, then wslay's event API for every frame: it parses, checks UTF-8,
 * answers pings and closes, and hands each whole message to ws_on_msg_cb.
 * One frame reader: wslay costs 2.8 µs of CPU per 950-byte message against
 * 0.13 µs for the parser of our own it replaced (bench_ws, bench/README.md),
 * 0.3 % of one core at a 5,000-queue org's 1,100 messages a second.
 */
#include "gen_ws.h"
#include "gen_time.h"

#include "gen_log.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The HTTP client's User-Agent (Makefile.am defines GEN_PACKAGE_STRING). */
#ifdef GEN_PACKAGE_STRING
#define WS_USER_AGENT GEN_PACKAGE_STRING
#else
#define WS_USER_AGENT "collectd-genesys"
#endif

/* RFC 6455 section 1.3: the GUID appended to the key for the accept value. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_RAW 16    /* random bytes in Sec-WebSocket-Key */
#define WS_KEY_B64 24    /* their base64 */
#define WS_ACCEPT_B64 28 /* base64 of a SHA-1 digest */
#define WS_SHA1_LEN 20

#define WS_DEFAULT_CONNECT_MS 10000
#define WS_DEFAULT_TIMEOUT_MS 30000
/* Bytes one gen_ws_poll() reads at most, so a busy peer cannot hold the
 * caller forever; the next call goes on where this one stopped. */
#define WS_PUMP_BUDGET (1024 * 1024)
#define WS_WHERE_MAX 256
#define WS_LOG_INTERVAL 60 /* seconds between repeats of one kind of line */

typedef enum { WS_IDLE = 0, WS_OPEN, WS_CLOSING } ws_state_t;

/* The parts of a ws:// or wss:// URL that a connection needs. */
typedef struct {
  bool tls;
  char *host;     /* as curl gives it, IPv6 in brackets */
  unsigned port;  /* explicit, or 443 / 80 */
  char *hostport; /* Host header value: the port only when not the default */
  char *target;   /* request target: path and query */
  char where[WS_WHERE_MAX]; /* scheme://host[:port]/path, for log lines */
} ws_url_t;

/* The libcurl transport: a CONNECT_ONLY easy handle. */
typedef struct {
  CURL *curl;
  curl_socket_t fd;
  CURLcode last; /* last failure of a send or receive */
  char errbuf[CURL_ERROR_SIZE];
} ws_curl_t;

struct gen_ws_s {
  const gen_org_t *org; /* borrowed; NULL = defaults */
  const char *plugin;   /* log prefix */
  gen_ws_callbacks_t cb;
  void *ud;
  size_t max_message;

  ws_state_t state;
  int result; /* why the last connection ended; 0 while open or never */
  const gen_ws_io_t *io;
  void *io_ctx;
  ws_curl_t *curl; /* transport owned by gen_ws_connect(), or NULL */
  wslay_event_context_ptr ctx;
  char where[WS_WHERE_MAX];

  /* The handshake reply; [roff, rlen) are frame bytes read with it, which
   * wslay gets before the transport's. */
  uint8_t *rbuf;
  size_t roff;
  size_t rlen;
  bool in_dispatch; /* in wslay_event_recv: on_message may be running */
  bool io_eof;      /* the transport's recv reported the end of the stream */
  bool io_error;    /* the transport's recv, send or wait failed */
  size_t rx_budget; /* bytes this gen_ws_poll() may still read */

  uint16_t close_code;
  char close_reason[GEN_WS_CLOSE_REASON_MAX + 1];

  uint64_t bytes_received;
  uint64_t messages_received;
  uint64_t messages_dropped;

  gen_ratelimit_t rl_conn;  /* connect and handshake failures */
  gen_ratelimit_t rl_end;   /* connections ending */
  gen_ratelimit_t rl_input; /* messages ignored */
};

/* Randomness seam: tests fix the handshake key. Returns 0 or -1. */
static int ws_random_impl(uint8_t *buf, size_t len) {
  if (len > INT_MAX)
    return -1;
  return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}
static int (*ws_random)(uint8_t *buf, size_t len) = ws_random_impl;

__attribute__((format(printf, 4, 5))) static void
ws_log(gen_ws_t *ws, gen_ratelimit_t *rl, int level, const char *format, ...) {
  char msg[GEN_LOG_LINE_MAX];
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  gen_log_limited(rl, level, "%s plugin: websocket %s: %s", ws->plugin,
                  ws->where, msg);
}

static int ws_end(gen_ws_t *ws, int result);

/* A connection that cannot be made: said (an error, limited with the
 * others of connecting) and result returned, the connection ended first
 * when end. */
__attribute__((format(printf, 4, 5))) static int
ws_fail(gen_ws_t *ws, int result, bool end, const char *format, ...) {
  char msg[GEN_LOG_LINE_MAX];
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  ws_log(ws, &ws->rl_conn, LOG_ERR, "%s", msg);
  return end ? ws_end(ws, result) : result;
}

/* ---- time ------------------------------------------------------------- */

static int64_t ws_now_ms(void) {
  return (int64_t)CDTIME_T_TO_MS(gen_monotonic());
}

/* Milliseconds left until deadline, clamped to [0, INT_MAX]. */
static int ws_remaining(int64_t deadline) {
  int64_t left = deadline - ws_now_ms();
  if (left <= 0)
    return 0;
  return left > INT_MAX ? INT_MAX : (int)left;
}

static int ws_ms(cdtime_t t, int fallback) {
  if (t == 0)
    return fallback;
  uint64_t ms = CDTIME_T_TO_MS(t);
  if (ms == 0)
    return 1;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int ws_timeout_ms(const gen_ws_t *ws) {
  return ws_ms(ws->org ? ws->org->timeout : 0, WS_DEFAULT_TIMEOUT_MS);
}

static int ws_close_wait_ms(const gen_ws_t *ws) {
  int t = ws_timeout_ms(ws);
  return t < GEN_WS_CLOSE_WAIT_MS ? t : GEN_WS_CLOSE_WAIT_MS;
}

/* ---- small helpers ------------------------------------------------------ */

/* Copies at most max bytes of text into dst (size max + 1), replacing what is
 * not printable ASCII, so that peer-supplied text is safe in a log line. */
static void ws_printable(char *dst, size_t max, const uint8_t *src,
                         size_t len) {
  size_t n = len < max ? len : max;
  for (size_t i = 0; i < n; i++)
    dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
  dst[n] = '\0';
}

/* Close codes a frame may carry (RFC 6455 section 7.4, as wslay checks). */
static bool ws_close_code_valid(uint16_t code) {
  if (code >= 1000 && code <= 1011)
    return code != 1004 && code != 1005 && code != 1006;
  return code >= 3000 && code <= 4999;
}

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key GUID)). Returns 0 or -1. */
static int ws_accept_for(const char *key, char out[WS_ACCEPT_B64 + 1]) {
  char text[WS_KEY_B64 + sizeof(WS_GUID)];
  int n = snprintf(text, sizeof(text), "%s%s", key, WS_GUID);
  if (n < 0 || (size_t)n >= sizeof(text))
    return -1;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(text, (size_t)n, md, &md_len, EVP_sha1(), NULL) != 1 ||
      md_len != WS_SHA1_LEN)
    return -1;
  EVP_EncodeBlock((unsigned char *)out, md, WS_SHA1_LEN);
  return 0;
}

/* ---- URL ---------------------------------------------------------------- */

static void ws_url_free(ws_url_t *u) {
  free(u->host);
  free(u->hostport);
  free(u->target);
  memset(u, 0, sizeof(*u));
}

/* True when s holds only bytes that may appear in a request line or header
 * value unquoted: no controls, spaces or DEL (no header injection). */
static bool ws_token_safe(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
    if (*p <= 0x20 || *p == 0x7f)
      return false;
  return true;
}

/* Splits a ws:// or wss:// URL. ws:// is refused unless gen_url_allowed()
 * accepts the http:// twin (loopback only). Logs and returns
 * GEN_WS_ERR_URL or GEN_WS_ERR_NOMEM on failure; never logs the query. */
static int ws_url_parse(gen_ws_t *ws, const char *url, ws_url_t *u) {
  memset(u, 0, sizeof(*u));
  const char *rest;
  if (strncasecmp(url, "wss://", 6) == 0) {
    u->tls = true;
    rest = url + 6;
  } else if (strncasecmp(url, "ws://", 5) == 0) {
    rest = url + 5;
  } else {
    GEN_ERROR("%s plugin: websocket: the URL must start with wss:// "
              "(or ws:// to a loopback host)",
              ws->plugin);
    return GEN_WS_ERR_URL;
  }

  char *mapped = NULL;
  if (asprintf(&mapped, "%s://%s", u->tls ? "https" : "http", rest) < 0)
    return GEN_WS_ERR_NOMEM;

  int status = GEN_WS_ERR_URL;
  const char *why = NULL;
  char *host = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL;
  CURLU *h = curl_url();
  if (h == NULL) {
    free(mapped);
    return GEN_WS_ERR_NOMEM;
  }
  if (curl_url_set(h, CURLUPART_URL, mapped, 0) != CURLUE_OK) {
    why = "malformed";
    goto out;
  }
  if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
    why = "no host";
    goto out;
  }
  if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK) {
    why = "credentials in the URL are not supported";
    goto out;
  }
  (void)curl_url_get(h, CURLUPART_QUERY, &query, 0);

  unsigned dflt = u->tls ? 443 : 80;
  u->port = dflt;
  if (curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK)
    u->port = (unsigned)strtoul(port, NULL, 10);
  char port_part[8] = "";
  if (u->port != dflt)
    snprintf(port_part, sizeof(port_part), ":%u", u->port);

  snprintf(u->where, sizeof(u->where), "%s://%s%s%s", u->tls ? "wss" : "ws",
           host, port_part, path);
  if (!ws_token_safe(host) || !ws_token_safe(path) ||
      (query != NULL && !ws_token_safe(query))) {
    why = "unexpected characters";
    goto out;
  }
  const char *problem = gen_url_problem(mapped, false);
  if (problem != NULL) {
    GEN_ERROR("%s plugin: websocket %s: %s (plain ws:// is allowed only to a "
              "loopback host; use wss://)",
              ws->plugin, u->where, problem);
    goto out;
  }

  status = GEN_WS_ERR_NOMEM;
  u->host = strdup(host);
  if (asprintf(&u->hostport, "%s%s", host, port_part) < 0)
    u->hostport = NULL;
  if (asprintf(&u->target, "%s%s%s", path, query ? "?" : "",
               query ? query : "") < 0)
    u->target = NULL;
  if (u->host != NULL && u->hostport != NULL && u->target != NULL)
    status = 0;

out:
  if (why != NULL)
    GEN_ERROR("%s plugin: websocket: invalid URL: %s", ws->plugin, why);
  if (status != 0)
    ws_url_free(u);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_free(user);
  curl_url_cleanup(h);
  free(mapped);
  return status;
}

/* ---- libcurl transport ---------------------------------------------------
 */

/* What curl said of a receive or a send of n bytes: n (a receive's 0: the
 * peer closed the connection; a send's: nothing went, try again). */
static ssize_t ws_curl_result(ws_curl_t *c, CURLcode rc, size_t n, bool send) {
  if (rc == CURLE_OK)
    return n > 0 || !send ? (ssize_t)n : GEN_WS_ERR_AGAIN;
  if (rc == CURLE_AGAIN)
    return GEN_WS_ERR_AGAIN;
  c->last = rc;
  return GEN_WS_ERR_IO;
}

static ssize_t ws_curl_recv(void *io, uint8_t *buf, size_t len) {
  ws_curl_t *c = io;
  size_t n = 0;
  CURLcode rc =
      curl_easy_recv(c->curl, buf, len > SSIZE_MAX ? SSIZE_MAX : len, &n);
  return ws_curl_result(c, rc, n, false);
}

static ssize_t ws_curl_send(void *io, const uint8_t *buf, size_t len) {
  ws_curl_t *c = io;
  size_t n = 0;
  CURLcode rc =
      curl_easy_send(c->curl, buf, len > SSIZE_MAX ? SSIZE_MAX : len, &n);
  return ws_curl_result(c, rc, n, true);
}

static int ws_curl_wait(void *io, int events, int timeout_ms) {
  ws_curl_t *c = io;
  struct pollfd p = {.fd = c->fd, .events = 0};
  if (events & GEN_WS_WAIT_READ)
    p.events |= POLLIN;
  if (events & GEN_WS_WAIT_WRITE)
    p.events |= POLLOUT;
  int64_t deadline = timeout_ms < 0 ? 0 : ws_now_ms() + timeout_ms;
  for (;;) {
    int rc = poll(&p, 1, timeout_ms < 0 ? -1 : ws_remaining(deadline));
    if (rc > 0) {
      int ready = 0;
      /* Errors and hang-ups are "ready": recv or send will report them. */
      if (p.revents & (POLLIN | POLLERR | POLLHUP))
        ready |= events & GEN_WS_WAIT_READ;
      if (p.revents & (POLLOUT | POLLERR | POLLHUP))
        ready |= events & GEN_WS_WAIT_WRITE;
      if (p.revents & POLLNVAL)
        return GEN_WS_ERR_IO;
      return ready != 0 ? ready : events;
    }
    if (rc == 0)
      return 0;
    if (errno != EINTR) {
      c->last = CURLE_RECV_ERROR;
      return GEN_WS_ERR_IO;
    }
    if (timeout_ms >= 0 && ws_remaining(deadline) == 0)
      return 0;
  }
}

static const gen_ws_io_t ws_curl_io = {
    .recv = ws_curl_recv,
    .send = ws_curl_send,
    .wait = ws_curl_wait,
};

static void ws_curl_free(ws_curl_t *c) {
  if (c == NULL)
    return;
  if (c->curl != NULL)
    curl_easy_cleanup(c->curl);
  free(c);
}

/* Opens TCP (through the proxy, if any) and TLS to u with the org's options.
 * Logs on failure. */
static int ws_curl_open(gen_ws_t *ws, const ws_url_t *u, ws_curl_t **out) {
  /* curl needs only where to connect: the path stays out of its logs. */
  char *curl_url = NULL;
  if (asprintf(&curl_url, "%s://%s:%u/", u->tls ? "https" : "http", u->host,
               u->port) < 0)
    return ws_fail(ws, GEN_WS_ERR_NOMEM, false, "out of memory");
  ws_curl_t *c = calloc(1, sizeof(*c));
  if (c == NULL || (c->curl = curl_easy_init()) == NULL) {
    free(curl_url);
    ws_curl_free(c);
    return ws_fail(ws, GEN_WS_ERR_NOMEM, false, "out of memory");
  }
  c->fd = CURL_SOCKET_BAD;
  const gen_org_t *org = ws->org;
  CURL *h = c->curl;

  char why[CURL_ERROR_SIZE] = "";
  CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, curl_url);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(
        h, CURLOPT_CONNECTTIMEOUT_MS,
        (long)ws_ms(org ? org->connect_timeout : 0, WS_DEFAULT_CONNECT_MS));
  /* ALPN must offer http/1.1 only: the Upgrade request is HTTP/1.1. */
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  /* With a proxy (configured or from the environment), CONNECT through it:
   * the frames are not HTTP a proxy could forward. */
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
  if (rc == CURLE_OK && gen_curl_policy(h, org, why, sizeof(why)) != 0)
    rc = CURLE_BAD_FUNCTION_ARGUMENT;
  free(curl_url);
  if (rc != CURLE_OK) {
    ws_curl_free(c);
    return ws_fail(ws, GEN_WS_ERR_CONNECT, false,
                   "setting up libcurl failed: %s",
                   why[0] != '\0' ? why : curl_easy_strerror(rc));
  }

  rc = curl_easy_perform(h);
  if (rc == CURLE_OK)
    rc = curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &c->fd);
  if (rc == CURLE_OK && c->fd == CURL_SOCKET_BAD)
    rc = CURLE_COULDNT_CONNECT;
  if (rc != CURLE_OK) {
    ws_log(ws, &ws->rl_conn, LOG_ERR, "connect failed: %s",
           c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(rc));
    ws_curl_free(c);
    return rc == CURLE_OPERATION_TIMEDOUT ? GEN_WS_ERR_TIMEOUT
                                          : GEN_WS_ERR_CONNECT;
  }
  *out = c;
  return 0;
}

/* ---- connection lifetime ------------------------------------------------ */

/* Releases the connection: wslay context, transport, handshake buffer. */
static void ws_teardown(gen_ws_t *ws) {
  if (ws->ctx != NULL)
    wslay_event_context_free(ws->ctx);
  ws->ctx = NULL;
  ws_curl_free(ws->curl);
  ws->curl = NULL;
  free(ws->rbuf);
  ws->rbuf = NULL;
  ws->roff = ws->rlen = 0;
  ws->io = NULL;
  ws->io_ctx = NULL;
  ws->state = WS_IDLE;
}

/* Ends the connection with result; records the peer's close code. */
static int ws_end(gen_ws_t *ws, int result) {
  if (ws->ctx != NULL && wslay_event_get_close_received(ws->ctx))
    ws->close_code = wslay_event_get_status_code_received(ws->ctx);
  else
    ws->close_code = GEN_WS_CLOSE_ABNORMAL;
  ws_teardown(ws);
  ws->result = result;
  return result;
}

static int ws_not_open(const gen_ws_t *ws) {
  return ws->result != 0 ? ws->result : GEN_WS_ERR_NOT_OPEN;
}

/* Names the transport's failure for a log line. */
static const char *ws_io_reason(const gen_ws_t *ws) {
  if (ws->curl != NULL && ws->curl->last != CURLE_OK)
    return ws->curl->errbuf[0] != '\0' ? ws->curl->errbuf
                                       : curl_easy_strerror(ws->curl->last);
  return "transport error";
}

/* Waits for events on the transport until deadline: 0 when ready,
 * GEN_WS_ERR_TIMEOUT or GEN_WS_ERR_IO otherwise. */
static int ws_wait_until(gen_ws_t *ws, int events, int64_t deadline) {
  int left = ws_remaining(deadline);
  if (left == 0)
    return GEN_WS_ERR_TIMEOUT;
  int w = ws->io->wait(ws->io_ctx, events, left);
  if (w < 0)
    return GEN_WS_ERR_IO;
  return w == 0 ? GEN_WS_ERR_TIMEOUT : 0;
}

/* ---- opening handshake -------------------------------------------------- */

static int ws_send_all(gen_ws_t *ws, const uint8_t *buf, size_t len,
                       int64_t deadline) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = ws->io->send(ws->io_ctx, buf + off, len - off);
    if (n > 0) {
      off += (size_t)n;
      continue;
    }
    if (n != GEN_WS_ERR_AGAIN && n != 0)
      return GEN_WS_ERR_IO;
    int status = ws_wait_until(ws, GEN_WS_WAIT_WRITE, deadline);
    if (status != 0)
      return status;
  }
  return 0;
}

/* Reads until the end of the reply header (an empty line) is in rbuf.
 * Stores the header's length (terminator included) in *header_len. */
static int ws_read_reply(gen_ws_t *ws, int64_t deadline, size_t *header_len) {
  ws->rbuf = malloc(GEN_WS_HEADER_MAX);
  if (ws->rbuf == NULL)
    return GEN_WS_ERR_NOMEM;
  size_t len = 0;
  for (;;) {
    if (len == GEN_WS_HEADER_MAX)
      return GEN_WS_ERR_HEADER_TOO_LARGE;
    ssize_t n =
        ws->io->recv(ws->io_ctx, ws->rbuf + len, GEN_WS_HEADER_MAX - len);
    if (n > 0) {
      size_t from = len;
      len += (size_t)n;
      ws->rlen = len;
      /* The terminator's last '\n' is among the new bytes: "\n\r\n" or a
       * bare "\n\n" (RFC 9112 section 2.2 lets a recipient accept LF). */
      for (size_t i = from > 0 ? from : 1; i < len; i++) {
        if (ws->rbuf[i] != '\n')
          continue;
        if (ws->rbuf[i - 1] == '\n' ||
            (i >= 2 && ws->rbuf[i - 1] == '\r' && ws->rbuf[i - 2] == '\n')) {
          *header_len = i + 1;
          return 0;
        }
      }
      continue;
    }
    if (n == 0)
      return GEN_WS_ERR_EOF;
    if (n != GEN_WS_ERR_AGAIN)
      return GEN_WS_ERR_IO;
    int status = ws_wait_until(ws, GEN_WS_WAIT_READ, deadline);
    if (status != 0)
      return status;
  }
}

/* Returns the next header line (CR stripped) and advances *p past it, or
 * NULL at the end. */
static char *ws_next_line(char **p) {
  char *line = *p;
  if (line == NULL || *line == '\0')
    return NULL;
  char *nl = strchr(line, '\n');
  if (nl != NULL) {
    *nl = '\0';
    *p = nl + 1;
  } else {
    *p = line + strlen(line);
  }
  size_t n = strlen(line);
  if (n > 0 && line[n - 1] == '\r')
    line[n - 1] = '\0';
  return line;
}

static char *ws_trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  return s;
}

/* True when the comma-separated list holds token (case-insensitive). */
static bool ws_has_token(const char *list, const char *token) {
  size_t tlen = strlen(token);
  const char *p = list;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *end = p;
    while (*end != '\0' && *end != ',')
      end++;
    const char *e = end;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    if ((size_t)(e - p) == tlen && strncasecmp(p, token, tlen) == 0)
      return true;
    p = end;
  }
  return false;
}

/* Checks the reply header (NUL-terminated, modified in place) against the
 * accept value we expect. Logs the reason and returns GEN_WS_ERR_HANDSHAKE
 * on any mismatch. */
static int ws_check_reply(gen_ws_t *ws, char *hdr, const char *accept) {
  char *p = hdr;
  char *line = ws_next_line(&p);
  if (line == NULL || strncmp(line, "HTTP/1.", 7) != 0 ||
      !isdigit((unsigned char)line[7]) || line[8] != ' ' ||
      !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
      !isdigit((unsigned char)line[11]) ||
      (line[12] != ' ' && line[12] != '\0')) {
    char shown[65];
    ws_printable(shown, sizeof(shown) - 1, (const uint8_t *)hdr,
                 line ? strlen(line) : 0);
    return ws_fail(ws, GEN_WS_ERR_HANDSHAKE, false,
                   "handshake failed: not an HTTP/1.x status line: \"%s\"",
                   shown);
  }
  int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status != 101) {
    char reason[65] = "";
    if (line[12] == ' ')
      ws_printable(reason, sizeof(reason) - 1, (const uint8_t *)line + 13,
                   strlen(line + 13));
    return ws_fail(ws, GEN_WS_ERR_HANDSHAKE, false,
                   "handshake refused: HTTP status %d %s (want 101)", status,
                   reason);
  }

  bool upgrade = false, connection = false, extension = false;
  int accepts = 0;
  bool accept_ok = false;
  while ((line = ws_next_line(&p)) != NULL) {
    if (line[0] == '\0')
      break;
    char *colon = strchr(line, ':');
    if (line[0] == ' ' || line[0] == '\t' || colon == NULL || colon == line)
      return ws_fail(ws, GEN_WS_ERR_HANDSHAKE, false,
                     "handshake failed: malformed header line in the reply");
    *colon = '\0';
    const char *name = line;
    char *value = ws_trim(colon + 1);
    if (strcasecmp(name, "Upgrade") == 0)
      upgrade = strcasecmp(value, "websocket") == 0;
    else if (strcasecmp(name, "Connection") == 0)
      connection = connection || ws_has_token(value, "upgrade");
    else if (strcasecmp(name, "Sec-WebSocket-Accept") == 0) {
      accepts++;
      accept_ok = strcmp(value, accept) == 0;
    } else if (strcasecmp(name, "Sec-WebSocket-Extensions") == 0 ||
               strcasecmp(name, "Sec-WebSocket-Protocol") == 0)
      extension = extension || value[0] != '\0';
  }

  const char *why = NULL;
  if (!upgrade)
    why = "no \"Upgrade: websocket\" header";
  else if (!connection)
    why = "no \"Connection: Upgrade\" header";
  else if (accepts == 0)
    why = "no Sec-WebSocket-Accept header";
  else if (accepts > 1 || !accept_ok)
    why = "Sec-WebSocket-Accept does not match our key";
  else if (extension)
    why = "the server chose an extension or subprotocol we did not offer";
  return why != NULL ? ws_fail(ws, GEN_WS_ERR_HANDSHAKE, false,
                               "handshake failed: %s", why)
                     : 0;
}

/* ---- wslay callbacks ---------------------------------------------------- */

/* wslay reads the frame bytes that came with the handshake reply, then the
 * transport's, until it would block or this poll's budget is spent. */
static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                          int flags, void *user_data) {
  gen_ws_t *ws = user_data;
  ssize_t n;
  if (ws->roff < ws->rlen) {
    if (len > ws->rlen - ws->roff)
      len = ws->rlen - ws->roff;
    memcpy(buf, ws->rbuf + ws->roff, len);
    ws->roff += len;
    n = (ssize_t)len;
  } else {
    if (len > ws->rx_budget)
      len = ws->rx_budget;
    n = len > 0 ? ws->io->recv(ws->io_ctx, buf, len) : GEN_WS_ERR_AGAIN;
    if (n == GEN_WS_ERR_AGAIN) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    if (n <= 0) {
      /* wslay queues a close frame and returns WSLAY_ERR_CALLBACK_FAILURE;
       * ws_recv_status() tells why from these. */
      if (n == 0)
        ws->io_eof = true;
      else
        ws->io_error = true;
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    }
    ws->rx_budget -= (size_t)n;
  }
  ws->bytes_received += (uint64_t)n;
  return n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data,
                          size_t len, int flags, void *user_data) {
  gen_ws_t *ws = user_data;
  ssize_t n = ws->io->send(ws->io_ctx, data, len);
  if (n > 0)
    return n;
  if (n == GEN_WS_ERR_AGAIN || n == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  ws->io_error = true;
  wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                         void *user_data) {
  return ws_random(buf, len) == 0 ? 0 : -1;
}

/* A text message for the caller. */
static void ws_deliver(gen_ws_t *ws, const uint8_t *msg, size_t len) {
  if (ws->state != WS_OPEN || ws->cb.on_message == NULL) {
    ws->messages_dropped++;
    return;
  }
  ws->messages_received++;
  ws->cb.on_message(ws->ud, len > 0 ? (const char *)msg : "", len);
}

static void ws_on_msg_cb(wslay_event_context_ptr ctx,
                         const struct wslay_event_on_msg_recv_arg *arg,
                         void *user_data) {
  gen_ws_t *ws = user_data;
  switch (arg->opcode) {
  case WSLAY_TEXT_FRAME:
    ws_deliver(ws, arg->msg, arg->msg_length);
    return;
  case WSLAY_BINARY_FRAME:
    ws->messages_dropped++;
    ws_log(ws, &ws->rl_input, LOG_WARNING,
           "ignoring a binary message of %zu bytes", arg->msg_length);
    return;
  case WSLAY_CONNECTION_CLOSE:
    if (arg->msg_length > 2)
      ws_printable(ws->close_reason, GEN_WS_CLOSE_REASON_MAX, arg->msg + 2,
                   arg->msg_length - 2);
    return;
  default: /* wslay answers pings itself; pongs need nothing */
    return;
  }
}

static const struct wslay_event_callbacks ws_wslay_callbacks = {
    .recv_callback = ws_recv_cb,
    .send_callback = ws_send_cb,
    .genmask_callback = ws_genmask_cb,
    .on_msg_recv_callback = ws_on_msg_cb,
};

/* Runs the handshake over ws->io and sets up wslay. Logs and ends the
 * connection on failure. */
static int ws_start(gen_ws_t *ws, const ws_url_t *u) {
  uint8_t raw[WS_KEY_RAW];
  char key[WS_KEY_B64 + 1];
  char accept[WS_ACCEPT_B64 + 1];
  if (ws_random(raw, sizeof(raw)) != 0)
    return ws_fail(ws, GEN_WS_ERR_HANDSHAKE, true,
                   "no random bytes for the key");
  EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
  if (ws_accept_for(key, accept) != 0)
    return ws_fail(ws, GEN_WS_ERR_HANDSHAKE, true, "SHA-1 is not available");

  char *req = NULL;
  int req_len = asprintf(&req,
                         "GET %s HTTP/1.1\r\n"
                         "Host: %s\r\n"
                         "User-Agent: " WS_USER_AGENT "\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n"
                         "\r\n",
                         u->target, u->hostport, key);
  if (req_len < 0)
    return ws_fail(ws, GEN_WS_ERR_NOMEM, true, "out of memory");
  int64_t deadline = ws_now_ms() + ws_timeout_ms(ws);
  int status = ws_send_all(ws, (const uint8_t *)req, (size_t)req_len, deadline);
  free(req);
  if (status != 0)
    return ws_fail(ws, status, true, "sending the handshake failed: %s",
                   status == GEN_WS_ERR_IO ? ws_io_reason(ws)
                                           : gen_strerror(status));

  size_t header_len = 0;
  status = ws_read_reply(ws, deadline, &header_len);
  if (status == GEN_WS_ERR_HEADER_TOO_LARGE)
    return ws_fail(ws, status, true,
                   "handshake failed: reply header over %d bytes",
                   GEN_WS_HEADER_MAX);
  if (status == GEN_WS_ERR_EOF)
    return ws_fail(ws, status, true,
                   "handshake failed: the server closed the connection");
  if (status != 0)
    return ws_fail(ws, status, true, "handshake failed: reading the reply: %s",
                   status == GEN_WS_ERR_IO ? ws_io_reason(ws)
                                           : gen_strerror(status));
  if (memchr(ws->rbuf, '\0', header_len) != NULL)
    return ws_fail(ws, GEN_WS_ERR_HANDSHAKE, true,
                   "handshake failed: NUL in the reply");
  char *hdr = strndup((const char *)ws->rbuf, header_len); /* no NUL in it */
  if (hdr == NULL)
    return ws_fail(ws, GEN_WS_ERR_NOMEM, true, "out of memory");
  status = ws_check_reply(ws, hdr, accept);
  free(hdr);
  if (status != 0)
    return ws_end(ws, status);

  /* What follows the header is the start of the frame stream. */
  ws->roff = header_len;

  if (wslay_event_context_client_init(&ws->ctx, &ws_wslay_callbacks, ws) != 0) {
    ws->ctx = NULL;
    return ws_fail(ws, GEN_WS_ERR_NOMEM, true, "out of memory");
  }
  wslay_event_config_set_max_recv_msg_length(ws->ctx, ws->max_message);
  ws->state = WS_OPEN;
  return 0;
}

/* ---- frame I/O ---------------------------------------------------------- */

/* Reads and dispatches until the transport would block, the budget is spent
 * or reading stopped (close frame, protocol error). Returns wslay's error;
 * WSLAY_ERR_CALLBACK_FAILURE when the transport ended or failed. */
static int ws_recv_pass(gen_ws_t *ws) {
  ws->rx_budget = WS_PUMP_BUDGET;
  ws->in_dispatch = true;
  int rv = wslay_event_recv(ws->ctx);
  ws->in_dispatch = false;
  return rv;
}

/* Maps a failed wslay_event_recv() to our code. */
static int ws_recv_status(const gen_ws_t *ws, int rv) {
  if (rv == WSLAY_ERR_NOMEM)
    return GEN_WS_ERR_NOMEM;
  if (ws->io_eof)
    return GEN_WS_ERR_EOF;
  if (ws->io_error)
    return GEN_WS_ERR_IO;
  /* wslay's frame parser refused the stream (a control frame over 125
   * bytes, a non-minimal length...): it queued a close frame. */
  return GEN_WS_ERR_PROTO;
}

/* Sends queued frames until done, the transport fails or timeout_ms. */
static int ws_flush_wait(gen_ws_t *ws, int timeout_ms) {
  int64_t deadline = ws_now_ms() + timeout_ms;
  for (;;) {
    int rv = wslay_event_send(ws->ctx);
    if (rv != 0)
      return rv == WSLAY_ERR_NOMEM ? GEN_WS_ERR_NOMEM : GEN_WS_ERR_IO;
    if (!wslay_event_want_write(ws->ctx))
      return 0;
    int status = ws_wait_until(ws, GEN_WS_WAIT_WRITE, deadline);
    if (status != 0)
      return status;
  }
}

/* Sends what the transport takes now; ends the connection if it failed. */
static int ws_flush(gen_ws_t *ws) {
  int rv = wslay_event_send(ws->ctx);
  if (rv == 0)
    return 0;
  if (rv == WSLAY_ERR_NOMEM) {
    ws_log(ws, &ws->rl_end, LOG_ERR, "out of memory");
    return ws_end(ws, GEN_WS_ERR_NOMEM);
  }
  ws_log(ws, &ws->rl_end, LOG_WARNING, "send failed: %s",
         ws->io_error ? ws_io_reason(ws) : "no random bytes for a frame mask");
  return ws_end(ws, GEN_WS_ERR_IO);
}

/* Our close frame, queued when wslay refused the stream: sent, then what
 * the server still sends read and dropped until it ends the connection
 * (its answer to ours) or the close wait is over. A socket closed with
 * unread bytes is reset, and a peer reset before it read our frame never
 * learns why (RFC 6455 7.1.1: the client waits for the server to close). */
static void ws_close_ours(gen_ws_t *ws) {
  int64_t deadline = ws_now_ms() + ws_close_wait_ms(ws);
  if (ws_flush_wait(ws, ws_close_wait_ms(ws)) != 0)
    return;
  ws->roff = ws->rlen;
  uint8_t sink[16384];
  while (ws_remaining(deadline) > 0) {
    ssize_t n = ws->io->recv(ws->io_ctx, sink, sizeof(sink));
    if (n > 0)
      continue;
    if (n != GEN_WS_ERR_AGAIN ||
        ws_wait_until(ws, GEN_WS_WAIT_READ, deadline) != 0)
      return;
  }
}

/* Reading stopped without a transport error: the peer's close frame, or
 * wslay refused a message and queued its own close frame. */
static int ws_read_ended(gen_ws_t *ws) {
  bool by_peer = wslay_event_get_close_received(ws->ctx);
  if (by_peer)
    (void)ws_flush_wait(ws, ws_close_wait_ms(ws));
  else
    ws_close_ours(ws);
  if (by_peer) {
    ws_log(ws, &ws->rl_end, LOG_NOTICE, "closed by the server: %u%s%s%s",
           (unsigned)wslay_event_get_status_code_received(ws->ctx),
           ws->close_reason[0] ? " (" : "", ws->close_reason,
           ws->close_reason[0] ? ")" : "");
    return ws_end(ws, GEN_WS_ERR_CLOSED);
  }
  uint16_t sent = wslay_event_get_status_code_sent(ws->ctx);
  if (sent == GEN_WS_CLOSE_MESSAGE_TOO_BIG) {
    ws_log(ws, &ws->rl_end, LOG_WARNING,
           "a message exceeded %zu bytes; closed with 1009", ws->max_message);
    return ws_end(ws, GEN_WS_ERR_TOO_BIG);
  }
  ws_log(ws, &ws->rl_end, LOG_WARNING,
         "protocol error from the server; closed with %u", (unsigned)sent);
  return ws_end(ws, GEN_WS_ERR_PROTO);
}

/* One round: read and dispatch, then send. 0 while open. */
static int ws_pump(gen_ws_t *ws) {
  int rv = ws_recv_pass(ws);
  if (rv != 0) {
    int status = ws_recv_status(ws, rv);
    if (status == GEN_WS_ERR_PROTO)
      ws_close_ours(ws);
    if (status == GEN_WS_ERR_EOF)
      ws_log(ws, &ws->rl_end, LOG_WARNING,
             "connection dropped without a close frame (1006)");
    else if (status == GEN_WS_ERR_IO)
      ws_log(ws, &ws->rl_end, LOG_WARNING, "receive failed: %s",
             ws_io_reason(ws));
    else if (status == GEN_WS_ERR_PROTO)
      ws_log(ws, &ws->rl_end, LOG_WARNING, "invalid frame from the server");
    else
      ws_log(ws, &ws->rl_end, LOG_ERR, "out of memory");
    return ws_end(ws, status);
  }
  if (!wslay_event_get_read_enabled(ws->ctx))
    return ws_read_ended(ws);
  return ws_flush(ws);
}

/* ---- public API --------------------------------------------------------- */

gen_ws_t *gen_ws_create(const gen_org_t *org, const gen_ws_callbacks_t *cb,
                        void *ud, size_t max_message) {
  const char *plugin =
      (org != NULL && org->plugin != NULL) ? org->plugin : "genesys";
  gen_ws_t *ws = calloc(1, sizeof(*ws));
  if (ws == NULL) {
    GEN_ERROR("%s plugin: websocket: out of memory", plugin);
    return NULL;
  }
  ws->org = org;
  ws->plugin = plugin;
  if (cb != NULL)
    ws->cb = *cb;
  ws->ud = ud;
  ws->max_message = max_message > 0 ? max_message : GEN_WS_DEFAULT_MAX_MESSAGE;
  snprintf(ws->where, sizeof(ws->where), "(not connected)");
  ws->rl_conn.interval = TIME_T_TO_CDTIME_T(WS_LOG_INTERVAL);
  ws->rl_end.interval = TIME_T_TO_CDTIME_T(WS_LOG_INTERVAL);
  ws->rl_input.interval = TIME_T_TO_CDTIME_T(WS_LOG_INTERVAL);
  return ws;
}

/* Both connects: parse the URL, then open libcurl's transport (io NULL) or
 * take the caller's, then the handshake. */
static int ws_connect_over(gen_ws_t *ws, const char *url, const gen_ws_io_t *io,
                           void *io_ctx) {
  ws_url_t u;
  int status = ws_url_parse(ws, url, &u);
  ws_teardown(ws);
  ws->result = status;
  if (status != 0)
    return status;
  /* Per-connection state reset, and where we connect to remembered. */
  ws->io_eof = ws->io_error = false;
  ws->close_code = 0;
  ws->close_reason[0] = '\0';
  snprintf(ws->where, sizeof(ws->where), "%s", u.where);
  if (io == NULL) {
    status = ws_curl_open(ws, &u, &ws->curl);
    if (status != 0) {
      ws_url_free(&u);
      return ws_end(ws, status);
    }
    io = &ws_curl_io;
    io_ctx = ws->curl;
  }
  ws->io = io;
  ws->io_ctx = io_ctx;
  status = ws_start(ws, &u);
  ws_url_free(&u);
  return status;
}

int gen_ws_connect(gen_ws_t *ws, const char *url) {
  if (ws == NULL || url == NULL || ws->in_dispatch)
    return GEN_WS_ERR_INVALID;
  return ws_connect_over(ws, url, NULL, NULL);
}

int gen_ws_connect_io(gen_ws_t *ws, const gen_ws_io_t *io, void *io_ctx,
                      const char *url) {
  if (ws == NULL || io == NULL || io->recv == NULL || io->send == NULL ||
      io->wait == NULL || url == NULL || ws->in_dispatch)
    return GEN_WS_ERR_INVALID;
  return ws_connect_over(ws, url, io, io_ctx);
}

int gen_ws_poll(gen_ws_t *ws, int timeout_ms) {
  if (ws == NULL || ws->in_dispatch)
    return GEN_WS_ERR_INVALID;
  if (ws->state != WS_OPEN)
    return ws_not_open(ws);
  int64_t deadline = timeout_ms < 0 ? 0 : ws_now_ms() + timeout_ms;
  for (;;) {
    uint64_t before = ws->bytes_received;
    int status = ws_pump(ws);
    if (status != 0)
      return status;
    if (ws->bytes_received != before)
      return 0;
    int left = timeout_ms < 0 ? -1 : ws_remaining(deadline);
    if (left == 0)
      return 0;
    int events = GEN_WS_WAIT_READ;
    if (wslay_event_want_write(ws->ctx))
      events |= GEN_WS_WAIT_WRITE;
    int w = ws->io->wait(ws->io_ctx, events, left);
    if (w < 0) {
      ws->io_error = true;
      ws_log(ws, &ws->rl_end, LOG_WARNING, "waiting for the socket failed: %s",
             ws_io_reason(ws));
      return ws_end(ws, GEN_WS_ERR_IO);
    }
    if (w == 0)
      return 0;
  }
}

int gen_ws_send_text(gen_ws_t *ws, const char *msg, size_t len) {
  if (ws == NULL || (msg == NULL && len > 0))
    return GEN_WS_ERR_INVALID;
  if (ws->state != WS_OPEN)
    return ws_not_open(ws);
  if (wslay_event_get_queued_msg_length(ws->ctx) + len > GEN_WS_SEND_QUEUE_MAX)
    return GEN_WS_ERR_QUEUE_FULL;
  struct wslay_event_msg m = {
      .opcode = WSLAY_TEXT_FRAME,
      .msg = (const uint8_t *)(msg != NULL ? msg : ""),
      .msg_length = len,
  };
  int rv = wslay_event_queue_msg(ws->ctx, &m);
  if (rv == WSLAY_ERR_NOMEM) {
    ws_log(ws, &ws->rl_end, LOG_ERR, "out of memory");
    return ws_end(ws, GEN_WS_ERR_NOMEM);
  }
  if (rv != 0) /* a close frame is queued: the connection is ending */
    return GEN_WS_ERR_NOT_OPEN;
  if (ws->in_dispatch) /* gen_ws_poll() flushes after the callback */
    return 0;
  return ws_flush(ws);
}

/* Sends the close frame queued and reads until the peer's close frame
 * came and all is sent (0), or why not, within ws_close_wait_ms(). */
static int ws_close_handshake(gen_ws_t *ws) {
  int64_t deadline = ws_now_ms() + ws_close_wait_ms(ws);
  for (;;) {
    int rv = wslay_event_send(ws->ctx);
    if (rv != 0)
      return rv == WSLAY_ERR_NOMEM ? GEN_WS_ERR_NOMEM : GEN_WS_ERR_IO;
    if (!wslay_event_get_close_received(ws->ctx) &&
        wslay_event_get_read_enabled(ws->ctx) && (rv = ws_recv_pass(ws)) != 0)
      return ws_recv_status(ws, rv);
    bool want_write = wslay_event_want_write(ws->ctx);
    bool got_close = wslay_event_get_close_received(ws->ctx);
    if (got_close && !want_write)
      return 0;
    if (!got_close && !wslay_event_get_read_enabled(ws->ctx))
      return GEN_WS_ERR_PROTO;
    int left = ws_remaining(deadline);
    if (left == 0)
      return GEN_WS_ERR_TIMEOUT;
    int events = (got_close ? 0 : GEN_WS_WAIT_READ) |
                 (want_write ? GEN_WS_WAIT_WRITE : 0);
    int w = ws->io->wait(ws->io_ctx, events, left);
    if (w <= 0)
      return w < 0 ? GEN_WS_ERR_IO : GEN_WS_ERR_TIMEOUT;
  }
}

int gen_ws_close(gen_ws_t *ws, uint16_t code, const char *reason) {
  if (ws == NULL || ws->in_dispatch ||
      (code != 0 && !ws_close_code_valid(code)))
    return GEN_WS_ERR_INVALID;
  if (ws->state != WS_OPEN) {
    ws_teardown(ws);
    return 0;
  }
  size_t reason_len = (code != 0 && reason != NULL)
                          ? strnlen(reason, GEN_WS_CLOSE_REASON_MAX)
                          : 0;
  int rv = wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason,
                                   reason_len);
  if (rv == WSLAY_ERR_NOMEM) {
    ws_end(ws, GEN_WS_ERR_NOT_OPEN);
    return GEN_WS_ERR_NOMEM;
  }
  ws->state = WS_CLOSING;

  int status = ws_close_handshake(ws);
  ws_end(ws, GEN_WS_ERR_NOT_OPEN);
  return status;
}

void gen_ws_free(gen_ws_t *ws) {
  if (ws == NULL)
    return;
  /* Say goodbye without waiting: free runs at shutdown. */
  if (ws->state == WS_OPEN && ws->ctx != NULL &&
      wslay_event_queue_close(ws->ctx, GEN_WS_CLOSE_GOING_AWAY, NULL, 0) == 0)
    (void)wslay_event_send(ws->ctx);
  ws_teardown(ws);
  free(ws);
}

bool gen_ws_is_open(const gen_ws_t *ws) {
  return ws != NULL && ws->state == WS_OPEN;
}

uint16_t gen_ws_close_code(const gen_ws_t *ws) {
  return ws != NULL ? ws->close_code : 0;
}

const char *gen_ws_close_reason(const gen_ws_t *ws) {
  return ws != NULL ? ws->close_reason : "";
}

uint64_t gen_ws_bytes_received(const gen_ws_t *ws) {
  return ws != NULL ? ws->bytes_received : 0;
}

uint64_t gen_ws_messages_received(const gen_ws_t *ws) {
  return ws != NULL ? ws->messages_received : 0;
}

uint64_t gen_ws_messages_dropped(const gen_ws_t *ws) {
  return ws != NULL ? ws->messages_dropped : 0;
}
