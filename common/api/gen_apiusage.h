/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: API usage per OAuth client, for genesys_platform. Which
 * integration eats the org's shared API limits, and which is refused with
 * 429? The usage query (POST /api/v2/usage/query, answered with an
 * executionId; then GET /api/v2/usage/query/{executionId}/results, "Running"
 * until it is "Complete") counts requests and their status classes (2xx,
 * 3xx, 4xx, 429, 5xx) per OAuth client, and per route template on request.
 * Genesys computes them per UTC day and not for the current day (the
 * record: tests/sim/README.md, "API usage"), so the values are those of
 * the last complete UTC day, asked again every ApiUsageRefresh (the day's
 * figures may still be computed after midnight) and dispatched every read.
 */
#ifndef GEN_APIUSAGE_H
#define GEN_APIUSAGE_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_client.h"
#include "gen_config.h"

#include <json-c/json.h>

#define GEN_AU_QUERY_PATH "/api/v2/usage/query"
/* The counts of a row, in the order of gen_au_metric_names: the JSON keys
 * of an ApiUsageRow, which are also the type instances. */
#define GEN_AU_METRICS 6
extern const char *const gen_au_metric_names[GEN_AU_METRICS];
/* Reads a query stays "Running" before it is given up (and asked anew). */
#define GEN_AU_MAX_POLLS 30

typedef struct {
  bool enabled;     /* ApiUsage (default false: it needs a permission) */
  bool per_route;   /* ApiUsageByRoute: also per route template */
  cdtime_t refresh; /* ApiUsageRefresh (default 1 h) */
} gen_au_config_t;

/* The counts of one client, or of one route of a client (route != NULL),
 * for one UTC day. */
typedef struct {
  char *label; /* the client's plugin_instance (InstanceFrom) */
  char *route; /* templateUri, NULL for a client's total */
  int64_t v[GEN_AU_METRICS];
} gen_au_row_t;

typedef struct {
  gen_au_row_t *rows;
  size_t n, cap;
  int64_t day_ms;     /* start of the UTC day of rows; 0: none yet */
  char execution[80]; /* a query still running, "" when none */
  int64_t asked_ms;   /* the day it asks for */
  int polls;          /* its results asked for so far */
  cdtime_t done;      /* when the last query completed */
  cdtime_t retry;     /* after a failure: no query before then */
  uint64_t requests, failures;
  gen_ratelimit_t complain;
} gen_au_t;

void gen_au_config_init(gen_au_config_t *c);
/* The ApiUsage* keys of an <Org> block: 0, a negative code, or
 * GEN_CONFIG_NOT_MINE. */
int gen_au_config_key(const gen_org_t *org, const oconfig_item_t *ci,
                      gen_au_config_t *c);

/* Start (epoch ms) of the last complete UTC day before now_ms. */
int64_t gen_au_day(int64_t now_ms);
/* The ApiUsageOrganizationQuery of that day: granularity Day, grouped by
 * OAuthClientId (and TemplateUri with per_route), every metric. */
json_object *gen_au_query_body(int64_t day_ms, bool per_route);

/* What a results answer says. */
typedef enum { GEN_AU_COMPLETE, GEN_AU_RUNNING, GEN_AU_FAILED } gen_au_state_t;
/* Reads a results answer (ApiUsageQueryResult) of the query for day_ms
 * into au's rows (replaced only when complete): per client (the sum of
 * its rows) and, with per_route, per route template too. A row of
 * another day (its "date"; one without is the day asked) is left out, one
 * without a clientId or with a count not a whole number is counted in
 * *skipped; an absent count is 0. -EINVAL for an answer without
 * "results" nor "queryStatus", -ENOMEM. */
int gen_au_answer_read(json_object *doc, int64_t day_ms, bool per_route,
                       bool by_id, gen_au_t *au, gen_au_state_t *state,
                       size_t *skipped);

/* One read: asks for the last complete day when due (or for the results
 * of a query still running), then dispatches, with plugin's name, the
 * rows of that day (types api_usage and api_route_usage) and the family's
 * self-metrics. A failed query is asked for again after ApiUsageRefresh (5
 * minutes at most). Only the first shard asks (the counts are the org's). */
void gen_au_read(gen_au_t *au, gen_client_t *client, const gen_au_config_t *c,
                 const char *plugin);
void gen_au_free(gen_au_t *au);

#endif /* GEN_APIUSAGE_H */
