/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: WebSocket client (RFC 6455) for the Notifications API.
 *
 * libcurl (CURLOPT_CONNECT_ONLY) sets up TCP, the proxy tunnel and TLS with
 * the same CA, proxy and client-certificate options as the HTTP client; this
 * module writes the HTTP/1.1 Upgrade request itself, checks the reply
 * (status 101, Upgrade, Connection, Sec-WebSocket-Accept), and hands the
 * frame stream to wslay, which parses every frame, checks text is UTF-8,
 * masks what we send, answers pings and runs the close handshake. Only text
 * messages reach the caller.
 *
 * Usage, from the one thread that owns the socket:
 *
 *   gen_ws_t *ws = gen_ws_create(org, &(gen_ws_callbacks_t){
 *                                    .on_message = handle}, ud, 1 << 20);
 *   if (gen_ws_connect(ws, channel->connect_uri) == 0) {
 *     while ((status = gen_ws_poll(ws, 1000)) == 0) {
 *       if (heartbeat_due)
 *         gen_ws_send_text(ws, "{\"message\":\"ping\"}", 18);
 *     }
 *     ... status says why the connection is over; reconnect with backoff ...
 *   }
 *   gen_ws_close(ws, GEN_WS_CLOSE_NORMAL, "bye");
 *   gen_ws_free(ws);
 *
 * Contract:
 *
 * - Every function that returns int returns 0 on success or one of the
 *   negative gen_ws_error values of gen_err.h; gen_strerror() names it.
 * - Once gen_ws_connect(), gen_ws_poll() or gen_ws_send_text() has returned
 *   a code other than 0, GEN_WS_ERR_INVALID or GEN_WS_ERR_QUEUE_FULL, the
 *   connection is over: the socket is released, gen_ws_close_code() tells
 *   the close code, and later calls return the same code until the next
 *   gen_ws_connect(). The same gen_ws_t may be connected again.
 * - The module logs each failure once, where it knows the context, as
 *   "<plugin> plugin: websocket wss://host/path: ..." (never the query
 *   string), rate-limited per socket. Callers need not log the code again.
 * - One gen_ws_t belongs to one thread; there is no global state, so a
 *   process may hold any number of sockets. curl_global_init() must have
 *   run before gen_ws_connect() (the plugin's init callback does it).
 * - Bounds: the handshake reply is at most GEN_WS_HEADER_MAX bytes, a
 *   message at most max_message bytes (over it the socket is closed with
 *   1009), connect and handshake take at most org->connect_timeout and
 *   org->timeout, and a close handshake waits at most GEN_WS_CLOSE_WAIT_MS.
 *   A close of ours (1009, a protocol error) then reads and drops what the
 *   server still sends until it ends the connection, within the same wait:
 *   a socket closed with unread bytes is reset, and the server could lose
 *   our close frame with it.
 */
#ifndef GEN_WS_H
#define GEN_WS_H 1

#include "gen_config.h"
#include "gen_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Close codes of RFC 6455 section 7.4.1 that callers use. */
#define GEN_WS_CLOSE_NORMAL 1000
#define GEN_WS_CLOSE_GOING_AWAY 1001
#define GEN_WS_CLOSE_PROTOCOL_ERROR 1002
#define GEN_WS_CLOSE_NO_STATUS 1005
#define GEN_WS_CLOSE_ABNORMAL 1006
#define GEN_WS_CLOSE_MESSAGE_TOO_BIG 1009

/* Longest handshake reply header accepted, in bytes. */
#define GEN_WS_HEADER_MAX 16384
/* Message cap used when gen_ws_create() is given 0. */
#define GEN_WS_DEFAULT_MAX_MESSAGE (1024 * 1024)
/* Outgoing bytes that may wait in the queue before sends are refused. */
#define GEN_WS_SEND_QUEUE_MAX (256 * 1024)
/* Longest wait for the peer's close frame (also capped by the Timeout). */
#define GEN_WS_CLOSE_WAIT_MS 2000
/* Longest close reason kept or sent (RFC 6455: 123 bytes). */
#define GEN_WS_CLOSE_REASON_MAX 123

typedef struct gen_ws_s gen_ws_t;

/*
 * The byte transport under the WebSocket, so that tests can drive the
 * handshake and frames from memory. gen_ws_connect() uses its own libcurl
 * transport; gen_ws_connect_io() takes any other.
 *
 * recv: reads at most len bytes into buf. Returns the count (> 0), 0 when
 *   the peer closed the stream, GEN_WS_ERR_AGAIN when nothing can be read
 *   now, or another negative value (GEN_WS_ERR_IO) on error.
 * send: writes at most len bytes. Returns the count (> 0), GEN_WS_ERR_AGAIN
 *   when nothing can be written now, or another negative value on error.
 * wait: blocks until the transport is ready for one of events (a mask of
 *   GEN_WS_WAIT_READ and GEN_WS_WAIT_WRITE), at most timeout_ms (< 0: no
 *   limit). Returns the mask of ready events (> 0), 0 when timeout_ms
 *   passed (only then), or a negative value on error. Ready is a hint: recv
 *   and send may still return GEN_WS_ERR_AGAIN (TLS records, for one).
 *   Write-only waits exist so that flushing a close frame does not spin on
 *   input that will not be read.
 */
#define GEN_WS_WAIT_READ 1
#define GEN_WS_WAIT_WRITE 2

typedef struct {
  ssize_t (*recv)(void *io, uint8_t *buf, size_t len);
  ssize_t (*send)(void *io, const uint8_t *buf, size_t len);
  int (*wait)(void *io, int events, int timeout_ms);
} gen_ws_io_t;

typedef struct {
  /* Called for every complete text message, from inside gen_ws_poll()
   * only (never from connect or close). data is the whole
   * message, len bytes of UTF-8, NOT NUL-terminated, valid only during the
   * call. It may call gen_ws_send_text() (queued, sent after the callback);
   * it must not call gen_ws_connect(), gen_ws_close() or gen_ws_free(). */
  void (*on_message)(void *ud, const char *data, size_t len);
} gen_ws_callbacks_t;

/*
 * Creates an unconnected socket. org (proxy, CA, client certificate,
 * timeouts, plugin name for log lines) is borrowed and must outlive the
 * socket; NULL means defaults and the plugin name "genesys". cb is copied;
 * ud is passed to it. max_message caps a received message (0: default).
 * Returns NULL when out of memory (logged).
 */
gen_ws_t *gen_ws_create(const gen_org_t *org, const gen_ws_callbacks_t *cb,
                        void *ud, size_t max_message);

/*
 * Connects to a ws:// or wss:// URL (ws:// only to a loopback host) and
 * runs the opening handshake, blocking for at most org->connect_timeout
 * plus timeout. An open connection on ws is dropped first.
 * On success returns 0. On error returns one of: GEN_WS_ERR_URL,
 * GEN_WS_ERR_CONNECT, GEN_WS_ERR_IO, GEN_WS_ERR_EOF, GEN_WS_ERR_TIMEOUT,
 * GEN_WS_ERR_HANDSHAKE, GEN_WS_ERR_HEADER_TOO_LARGE, GEN_WS_ERR_INVALID,
 * GEN_WS_ERR_NOMEM.
 */
int gen_ws_connect(gen_ws_t *ws, const char *url);

/*
 * As gen_ws_connect(), over a transport the caller already connected.
 * io and io_ctx are borrowed until the connection is over or ws is freed.
 */
int gen_ws_connect_io(gen_ws_t *ws, const gen_ws_io_t *io, void *io_ctx,
                      const char *url);

/*
 * Reads whatever has arrived, calls on_message for each complete text
 * message, answers pings and flushes queued frames. If nothing has arrived
 * it waits up to timeout_ms (0: do not wait; < 0: no limit) for input.
 * Returns 0 while the connection is open (whether or not anything came).
 * Otherwise the connection is over and it returns one of:
 * GEN_WS_ERR_CLOSED (peer's close frame; gen_ws_close_code() has its code),
 * GEN_WS_ERR_EOF (dropped without a close frame: code 1006),
 * GEN_WS_ERR_IO, GEN_WS_ERR_PROTO, GEN_WS_ERR_TOO_BIG, GEN_WS_ERR_NOMEM,
 * or GEN_WS_ERR_NOT_OPEN when there was no connection.
 */
int gen_ws_poll(gen_ws_t *ws, int timeout_ms);

/*
 * Queues a text message (msg must be UTF-8; len bytes, no NUL needed) and
 * sends what the transport takes now; gen_ws_poll() sends the rest. Used
 * for the Notifications API's JSON ping {"message":"ping"}.
 * Returns 0, or GEN_WS_ERR_QUEUE_FULL (connection still open),
 * GEN_WS_ERR_INVALID, GEN_WS_ERR_NOT_OPEN, GEN_WS_ERR_IO, GEN_WS_ERR_NOMEM.
 */
int gen_ws_send_text(gen_ws_t *ws, const char *msg, size_t len);

/*
 * Sends a close frame (code 0: none; otherwise 1000-4999 minus the codes
 * RFC 6455 reserves; reason cut to GEN_WS_CLOSE_REASON_MAX bytes, may be
 * NULL), waits up to GEN_WS_CLOSE_WAIT_MS for the peer's close frame, and
 * releases the socket. Text arriving meanwhile is discarded.
 * Returns 0 when the peer answered (or there was no open connection),
 * GEN_WS_ERR_TIMEOUT when it did not answer in time, GEN_WS_ERR_EOF,
 * GEN_WS_ERR_IO or GEN_WS_ERR_PROTO when it went away otherwise,
 * GEN_WS_ERR_NOMEM, and GEN_WS_ERR_INVALID for a bad code or a call from
 * on_message (the connection then stays as it was). In every other case it is
 * over.
 */
int gen_ws_close(gen_ws_t *ws, uint16_t code, const char *reason);

/* Sends a 1001 close frame if open (without waiting) and frees ws. NULL is
 * fine. */
void gen_ws_free(gen_ws_t *ws);

/* True between a successful connect and the end of the connection. */
bool gen_ws_is_open(const gen_ws_t *ws);
/* The close code the peer sent (1005 when its close frame had none), or
 * 1006 when the last connection ended without one (failed handshakes
 * included); 0 while connected and before any connection has ended. */
uint16_t gen_ws_close_code(const gen_ws_t *ws);
/* The reason of the peer's close frame, printable ASCII ("" if none). */
const char *gen_ws_close_reason(const gen_ws_t *ws);
/* Totals over every connection of ws: frame-stream bytes received, text
 * messages delivered to on_message, and messages dropped (binary ones, and
 * text arriving while closing). */
uint64_t gen_ws_bytes_received(const gen_ws_t *ws);
uint64_t gen_ws_messages_received(const gen_ws_t *ws);
uint64_t gen_ws_messages_dropped(const gen_ws_t *ws);

#endif /* GEN_WS_H */
