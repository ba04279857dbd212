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

static void derive(const char *host, const char *plugin, const char *type,
                   const char *type_instance, uint64_t value) {
  gen_ident_t id = {.host = host,
                    .plugin = plugin,
                    .plugin_instance = "self",
                    .type = type,
                    .type_instance = type_instance};
  gen_dispatch_derive(&id, (int64_t)value, 0, 0);
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
    derive(host, plugin, "api_requests", status, n);
  }
  derive(host, plugin, "api_retries", NULL, SUM(stats, retries));
  derive(host, plugin, "api_rate_limited", NULL, SUM(stats, rate_limited));
  derive(host, plugin, "token_refreshes", NULL, SUM(stats, token_refreshes));
  derive(host, plugin, "token_failures", NULL, SUM(stats, token_failures));
  derive(host, plugin, "api_bytes", "received", SUM(stats, bytes_received));
  derive(host, plugin, "api_bytes", "sent", SUM(stats, bytes_sent));
  derive(host, plugin, "malformed_documents", NULL, SUM(stats, malformed));
  derive(host, plugin, "api_answers_too_large", NULL, SUM(stats, too_large));
  int64_t allowed = atomic_load(&stats->ratelimit_allowed);
  if (allowed > 0) {
    int64_t used = atomic_load(&stats->ratelimit_count);
    double headroom = (double)(allowed - used) / (double)allowed;
    gen_dispatch_self(host, plugin, "api_ratelimit_headroom", NULL, false,
                      headroom < 0 ? 0 : headroom);
  }
}
