/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: one error space for every module.
 *
 * Every function that can fail returns 0 on success or a negative code:
 * either a negative errno (-1 to -4095, as the kernel's) or one of the codes
 * below, whose bands lie beyond errno's range so that the two never meet:
 *
 *   -11xxx  the WebSocket client (gen_ws), banded like wslay's: -111xx the
 *           operation did not finish in time, -112xx the transport failed,
 *           -113xx the handshake was refused, -114xx the connection ended,
 *           -115xx the caller's mistake, -116xx out of memory
 *   -12xxx  the Platform API client (gen_http)
 *   -13xxx  the notification parser (gen_obs)
 *
 * gen_strerror() names any of them; gen_err_malformed() says whether a code
 * means input that cannot be read (counted as malformed, never retried as
 * it is).
 */
#ifndef GEN_ERR_H
#define GEN_ERR_H 1

#include <stdbool.h>

#define GEN_ERR_WS (-11000)
#define GEN_ERR_HTTP (-12000)
#define GEN_ERR_OBS (-13000)

enum gen_ws_error {
  /* The transport cannot move bytes now (transport callbacks only). */
  GEN_WS_ERR_AGAIN = GEN_ERR_WS - 100,
  /* Connect, handshake or close handshake did not finish in time. */
  GEN_WS_ERR_TIMEOUT = GEN_ERR_WS - 101,
  /* TCP, proxy or TLS setup failed (curl's reason is logged). */
  GEN_WS_ERR_CONNECT = GEN_ERR_WS - 200,
  /* A send or receive on the established transport failed. */
  GEN_WS_ERR_IO = GEN_ERR_WS - 201,
  /* The peer closed TCP without a close frame (close code 1006). */
  GEN_WS_ERR_EOF = GEN_ERR_WS - 202,
  /* The reply was not a valid 101 Switching Protocols for our key. */
  GEN_WS_ERR_HANDSHAKE = GEN_ERR_WS - 300,
  /* The reply's header was larger than GEN_WS_HEADER_MAX. */
  GEN_WS_ERR_HEADER_TOO_LARGE = GEN_ERR_WS - 301,
  /* The peer sent a close frame; see gen_ws_close_code(). */
  GEN_WS_ERR_CLOSED = GEN_ERR_WS - 400,
  /* The peer broke RFC 6455 (masked frame, bad opcode, invalid UTF-8...);
   * the socket was closed with 1002 or 1007. */
  GEN_WS_ERR_PROTO = GEN_ERR_WS - 401,
  /* A message was larger than max_message; closed with 1009. */
  GEN_WS_ERR_TOO_BIG = GEN_ERR_WS - 402,
  /* Bad argument, or a call from inside on_message that is not allowed. */
  GEN_WS_ERR_INVALID = GEN_ERR_WS - 500,
  /* The URL is not ws:// or wss://, or ws:// to a host not on loopback. */
  GEN_WS_ERR_URL = GEN_ERR_WS - 501,
  /* No open connection (never connected, or closed by gen_ws_close()). */
  GEN_WS_ERR_NOT_OPEN = GEN_ERR_WS - 502,
  /* More than GEN_WS_SEND_QUEUE_MAX bytes wait to be sent; try later. */
  GEN_WS_ERR_QUEUE_FULL = GEN_ERR_WS - 503,
  GEN_WS_ERR_NOMEM = GEN_ERR_WS - 600,
};

enum gen_http_error {
  GEN_HTTP_ERR_TRANSPORT = GEN_ERR_HTTP - 100, /* no HTTP answer: DNS, TCP,
                                                  TLS, timeout */
  GEN_HTTP_ERR_STATUS = GEN_ERR_HTTP - 200,    /* an answer other than 2xx */
  GEN_HTTP_ERR_TOO_LARGE = GEN_ERR_HTTP - 300, /* body over MaxResponseSize */
  GEN_HTTP_ERR_AUTH = GEN_ERR_HTTP - 400,      /* no token could be had */
  GEN_HTTP_ERR_JSON = GEN_ERR_HTTP - 500,      /* 2xx whose body is not the
                                                  JSON wanted */
  GEN_HTTP_ERR_ARGUMENT = GEN_ERR_HTTP - 600,  /* bad URL, out of memory */
};

typedef enum {
  GEN_OBS_OK = 0,
  /* Not one well-formed JSON text: truncated, trailing data, bad token,
   * invalid UTF-8, empty. */
  GEN_OBS_ERR_SYNTAX = GEN_ERR_OBS - 1,
  /* Nested deeper than the parser's max_depth. */
  GEN_OBS_ERR_DEPTH = GEN_ERR_OBS - 2,
  /* A field this module reads has the wrong JSON type. */
  GEN_OBS_ERR_TYPE = GEN_ERR_OBS - 3,
  /* A field this module reads has an unusable value (see the contract). */
  GEN_OBS_ERR_VALUE = GEN_ERR_OBS - 4,
  /* len is over GEN_OBS_MAX_LEN. */
  GEN_OBS_ERR_TOO_LARGE = GEN_ERR_OBS - 5,
  /* The arena could not grow for this message. */
  GEN_OBS_ERR_NOMEM = GEN_ERR_OBS - 6,
  /* A NULL parser, output or input pointer. */
  GEN_OBS_ERR_ARG = GEN_ERR_OBS - 7,
} gen_obs_status_t;

/* A short English name of any code: 0, a negative (or positive) errno, or
 * one of the codes above ("unknown error" for a code in a band that names
 * none). Thread-safe. */
const char *gen_strerror(int err);

/* True for a code that means input that cannot be read as it is: a body
 * that is not the JSON wanted, a notification that does not parse, a
 * WebSocket peer that broke the protocol, -EBADMSG. */
bool gen_err_malformed(int err);

#endif /* GEN_ERR_H */
