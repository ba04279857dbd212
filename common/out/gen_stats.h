/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: self-metrics of the shared core, per plugin instance.
 *
 * Counters are atomics so that the streaming thread and the read callback
 * can both update them. gen_stats_dispatch() sends them as DERIVE values
 * (and the rate-limit headroom as a gauge) under plugin_instance "self".
 */
#ifndef GEN_STATS_H
#define GEN_STATS_H 1

#include "gen_dispatch.h"

#include <stdatomic.h>
#include <stdint.h>

/* Slot for requests that got no HTTP status (connect, TLS, timeout). */
#define GEN_STATS_TRANSPORT_ERROR 0

typedef struct gen_stats_s {
  /* Requests by HTTP status 100-599; slot 0 = transport errors. */
  atomic_uint_fast64_t requests[600];
  atomic_uint_fast64_t retries;
  atomic_uint_fast64_t rate_limited; /* 429 answers */
  atomic_uint_fast64_t token_refreshes;
  atomic_uint_fast64_t token_failures;
  atomic_uint_fast64_t bytes_received;
  atomic_uint_fast64_t bytes_sent;
  atomic_uint_fast64_t malformed; /* documents we could not use */
  atomic_uint_fast64_t too_large; /* answers refused beyond their bound */
  /* Last inin-ratelimit-* headers seen; allowed 0 = none seen yet. */
  atomic_int_fast64_t ratelimit_count;
  atomic_int_fast64_t ratelimit_allowed;
  /* Counts added to these when dispatched: the requests of the
   * notification hub this client's instance streams through (set while it
   * is a consumer; NULL otherwise). */
  const struct gen_stats_s *also;
} gen_stats_t;

void gen_stats_init(gen_stats_t *stats);
void gen_stats_count_request(gen_stats_t *stats, long http_status);

/* Dispatches every self-metric with the given host and plugin name. */
void gen_stats_dispatch(gen_stats_t *stats, const char *host,
                        const char *plugin);

#endif /* GEN_STATS_H */
