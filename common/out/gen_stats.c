/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: self-metrics of the shared core.
 */
#include "gen_stats.h"

#include <stdio.h>

void gen_stats_init(gen_stats_t *stats) {
  *stats = (gen_stats_t){0}; /* every counter 0, no hub's share */
}

/* A counter with the hub's share added. */
#define SUM(stats, field)                                                      \
  (atomic_load(&(stats)->field) +                                              \
   ((stats)->also != NULL ? atomic_load(&(stats)->also->field) : 0))

void gen_stats_count_request(gen_stats_t *stats, long http_status) {
  size_t slot = (http_status >= 100 && http_status < 600)
                    ? (size_t)http_status
                    : GEN_STATS_TRANSPORT_ERROR;
  atomic_fetch_add(&stats->requests[slot], 1);
  if (http_status == 429)
    atomic_fetch_add(&stats->rate_limited, 1);
}

void gen_stats_dispatch(gen_stats_t *stats, const char *host,
                        const char *plugin) {
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(stats->requests); i++) {
    uint64_t n = SUM(stats, requests[i]);
    if (n == 0)
      continue;
    char status[24] = "transport_error";
    if (i != GEN_STATS_TRANSPORT_ERROR)
      snprintf(status, sizeof(status), "%zu", i);
    gen_dispatch_self(host, plugin, "api_requests", status, true, (double)n);
  }
  const gen_self_row_t rows[] = {
      {"api_retries", NULL, true, (double)SUM(stats, retries)},
      {"api_rate_limited", NULL, true, (double)SUM(stats, rate_limited)},
      {"token_refreshes", NULL, true, (double)SUM(stats, token_refreshes)},
      {"token_failures", NULL, true, (double)SUM(stats, token_failures)},
      {"api_bytes", "received", true, (double)SUM(stats, bytes_received)},
      {"api_bytes", "sent", true, (double)SUM(stats, bytes_sent)},
      {"malformed_documents", NULL, true, (double)SUM(stats, malformed)},
      {"api_answers_too_large", NULL, true, (double)SUM(stats, too_large)},
  };
  gen_dispatch_self_rows(host, plugin, rows, STATIC_ARRAY_SIZE(rows));
  int64_t allowed = atomic_load(&stats->ratelimit_allowed);
  if (allowed > 0) {
    int64_t used = atomic_load(&stats->ratelimit_count);
    double headroom = (double)(allowed - used) / (double)allowed;
    gen_dispatch_self(host, plugin, "api_ratelimit_headroom", NULL, false,
                      headroom < 0 ? 0 : headroom);
  }
}
