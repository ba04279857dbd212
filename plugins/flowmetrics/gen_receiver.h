/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: an HTTP(S) receiver for pushed events (EventBridge API
 * destinations and the like), on libmicrohttpd.
 *
 * One polling thread does the I/O and one worker thread hands bodies to the
 * plugin, so collectd's read threads never wait for it. The polling thread
 * never blocks on a client (epoll, non-blocking sockets), so slow clients
 * cost slots, not time; against those that hold slots: slots well beyond
 * the queue, a fair share per address once half of them are taken (at most
 * max_per_ip, and those with a request at most its part of the other half
 * among the addresses holding one), connections waiting for a head at most
 * half the slots (a newcomer closes one from the prefix, then the address,
 * holding the most: gen_rx_slots.h), a head deadline (3 s to complete TLS
 * and send the first request's head), and a whole-request deadline (a client
 * must have sent its complete request within request_timeout of connecting, or
 * of its previous request's end, however steadily it trickles bytes) enforced
 * by a reaper thread. Every request is judged in this order: 405 not POST; 401
 * the shared-secret header missing or wrong (compared in constant time, as
 * SHA-256 digests, so neither content nor length leaks); 413 a body (declared
 * or received) past MaxBody; 429 the work queue is full (the sender retries
 * later); otherwise the body goes to the worker and the connection waits,
 *   suspended, for the handler's answer (2xx only once the plugin has
 *   recorded the event, 400 when it refuses it).
 */
#ifndef GEN_RECEIVER_H
#define GEN_RECEIVER_H 1

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct gen_log_org gen_log_org_t; /* gen_log.h */

/* Defaults, documented in genesys_flowmetrics(5). */
#define GEN_RX_REQUEST_TIMEOUT 10.0
#define GEN_RX_MAX_PER_IP 32

typedef struct {
  const char *address;   /* NULL or "" = every address */
  const char *port;      /* "0" = any free port (tests) */
  const char *cert_file; /* PEM; with key_file: HTTPS */
  const char *key_file;
  const char *secret;        /* required, compared in constant time */
  const char *secret_header; /* e.g. "X-Genesys-Secret" */
  size_t max_body;           /* bytes */
  size_t queue_size;         /* bodies waiting for the worker */
  unsigned max_per_ip;       /* per address once half the slots are taken;
                                0 = no limit */
  unsigned max_connections;  /* slots; 0 = queue_size + 512 (at most half
                                the open-file limit either way) */
  double request_timeout;    /* seconds; 0 = GEN_RX_REQUEST_TIMEOUT */
  const gen_log_org_t *who;  /* whose lines (borrowed) */
} gen_receiver_options_t;

/* A body that passed the checks, on the worker thread. Returns the HTTP
 * status to answer: 2xx once recorded, 400 when refused, 507 or 503 (both
 * with Retry-After: 30) when it cannot be kept now. */
typedef unsigned (*gen_receiver_handler_t)(void *ud, const char *body,
                                           size_t len);

typedef struct {
  atomic_uint_fast64_t connections; /* accepted */
  atomic_uint_fast64_t requests;
  atomic_uint_fast64_t accepted;      /* answered 2xx */
  atomic_uint_fast64_t bad_method;    /* 405 */
  atomic_uint_fast64_t unauthorized;  /* 401 */
  atomic_uint_fast64_t too_large;     /* 413 */
  atomic_uint_fast64_t queue_full;    /* 429 */
  atomic_uint_fast64_t bad_request;   /* 400 (from the handler) */
  atomic_uint_fast64_t unavailable;   /* 503 while stopping */
  atomic_uint_fast64_t not_stored;    /* 507 or 503 from the handler */
  atomic_uint_fast64_t timed_out;     /* closed at the request deadline */
  atomic_uint_fast64_t address_limit; /* refused: its address's share */
  atomic_uint_fast64_t idle_evicted;  /* closed, no head yet, for a new one */
} gen_receiver_stats_t;

typedef struct gen_receiver_s gen_receiver_t;

/* False in a build without libmicrohttpd (configure --without-libmicrohttpd,
 * or the library missing): gen_receiver_none.c then stands in, and
 * gen_receiver_start always fails. */
bool gen_receiver_available(void);

/* Starts listening. Returns NULL with the reason in err. */
gen_receiver_t *gen_receiver_start(const gen_receiver_options_t *options,
                                   gen_receiver_handler_t handler, void *ud,
                                   char *err, size_t err_size);
/* Answers what is queued with 503, stops both threads, closes the socket. */
void gen_receiver_stop(gen_receiver_t *rx);

gen_receiver_stats_t *gen_receiver_stats(gen_receiver_t *rx);
/* The port actually bound. */
unsigned gen_receiver_port(const gen_receiver_t *rx);
/* Bodies waiting for the worker now. */
size_t gen_receiver_queued(gen_receiver_t *rx);
/* Connections open now (a suspended one waiting for the worker included). */
unsigned gen_receiver_connections(gen_receiver_t *rx);

#endif /* GEN_RECEIVER_H */
