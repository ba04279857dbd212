/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: API usage per OAuth client, for genesys_platform. Which
 * integration eats the org's shared API limits, and which is refused with
 * 429? Genesys counts requests and their status classes (2xx, 3xx, 4xx,
 * 429, 5xx) per OAuth client and route template, per UTC day and not for
 * the current day (the record: tests/sim/README.md, "API usage").
 *
 * The current service (POST /api/v2/usage/aggregates/query/jobs, then GET
 * .../jobs/{jobId}: "Queued", "Running", then "Succeeded" with its rows
 * paged by nextUri and after=) counts every client, Genesys's own too
 * (its apps' purecloud / purecloud-builtin clients, which share the org's
 * limits). The legacy usage query (POST /api/v2/usage/query, then GET
 * /api/v2/usage/query/{executionId}/results) leaves those out, has no
 * pagination and is to be deprecated: it is read only where the jobs
 * route answers 404, said once in the log. The values are those of the
 * last complete UTC day, asked again every ApiUsageRefresh (the day's
 * figures may still be computed after midnight) and dispatched every read.
 */
#ifndef GEN_APIUSAGE_H
#define GEN_APIUSAGE_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_client.h"
#include "gen_config.h"
#include "gen_map.h"

#include <json-c/json.h>

#define GEN_AU_QUERY_PATH "/api/v2/usage/query"
#define GEN_AU_JOBS_PATH "/api/v2/usage/aggregates/query/jobs"
/* Rows a page of the jobs results: the record's maximum. */
#define GEN_AU_PAGE_SIZE 1000
/* Pages of the jobs results read in one read; the rest in the next. */
#define GEN_AU_PAGES_PER_READ 50
/* The counts of a row, in the order of gen_au_metric_names: the JSON keys
 * of an ApiUsageRow, which are also the type instances. */
#define GEN_AU_METRICS 6
extern const char *const gen_au_metric_names[GEN_AU_METRICS];
/* Reads a query stays "Running" before it is given up (and asked anew). */
#define GEN_AU_MAX_POLLS 30

/* The client the clients beyond ApiUsageMaxClients are summed into. */
#define GEN_AU_OTHER "other"

typedef struct {
  bool enabled;     /* ApiUsage (default false: it needs a permission) */
  bool per_route;   /* ApiUsageByRoute: also per route template */
  cdtime_t refresh; /* ApiUsageRefresh (default 1 h) */
  long max_clients; /* ApiUsageMaxClients (default 100) */
} gen_au_config_t;

/* The counts of one client, or of one route of a client (route != NULL),
 * for one UTC day. */
typedef struct {
  gen_key_t *key;    /* owns the strings: (label, route) */
  const char *label; /* the client's plugin_instance (InstanceFrom) */
  const char *route; /* templateUri, NULL for a client's total */
  int64_t v[GEN_AU_METRICS];
} gen_au_row_t;

/* Rows summed by (label, route). */
typedef struct {
  gen_au_row_t *rows;
  size_t n, cap;
  gen_map_t index;  /* key -> index in rows; the keys are the rows' own */
  size_t saturated; /* sums stopped at GEN_JSON_EXACT_MAX */
} gen_au_rows_t;

typedef struct {
  gen_au_rows_t done;   /* the rows of day_ms */
  gen_au_rows_t paging; /* a jobs answer's rows read so far */
  int64_t day_ms;       /* start of the UTC day of done; 0: none yet */
  char execution[80];   /* a query or job still running, "" when none */
  char next[1024];      /* a job's next page to GET; "" before its first */
  bool legacy_query;    /* execution is the legacy query's */
  int64_t legacy_ms;    /* the day the jobs route answered 404 for */
  bool said_legacy;     /* ... which the log has said */
  int64_t asked_ms;     /* the day it asks for */
  int polls;            /* its results asked for while not ready */
  cdtime_t done_at;     /* when the last query completed */
  cdtime_t retry;       /* after a failure: no query before then */
  uint64_t requests, failures;
  size_t clients; /* clients in done's answer, before the cap */
  size_t folded;  /* ... of them summed into GEN_AU_OTHER */
  bool said_cap;  /* the log has said that the cap summed clients */
  gen_ratelimit_t complain;
  /* The last answer's queryStatus when this version does not know it
   * (borrowed from that answer; read as "not yet"), NULL otherwise. */
  const char *unknown_status;
} gen_au_t;

extern const gen_config_table_t gen_au_keys;

/* Start (epoch ms) of the last complete UTC day before now_ms. */
int64_t gen_au_day(int64_t now_ms);
/* The ApiUsageOrganizationQuery of that day: granularity Day, grouped by
 * OAuthClientId (and TemplateUri with per_route), every metric. */
json_object *gen_au_query_body(int64_t day_ms, bool per_route);
/* The OrganizationPublicApiUsageQueryRequest of that day: its interval
 * and granularity Day; no groupBy (its vocabulary is not in the record:
 * the rows, one per client, route, method, … are summed here). */
json_object *gen_au_job_body(int64_t day_ms);

/* What a results answer says. */
typedef enum { GEN_AU_COMPLETE, GEN_AU_RUNNING, GEN_AU_FAILED } gen_au_state_t;
/* Reads a results answer (ApiUsageQueryResult) of the query for day_ms
 * into au's rows (replaced only when complete): per client (the sum of
 * its rows) and, with per_route, per route template too. A row of
 * another day (its "date"; one without is the day asked) is left out, one
 * without a clientId or with a count not a whole number in [0, 2^53] is
 * counted in *skipped; an absent count is 0; a sum beyond 2^53 stops there
 * (counted in the rows' saturated). -EINVAL for an answer without
 * "results" nor "queryStatus", -ENOMEM. */
int gen_au_answer_read(json_object *doc, int64_t day_ms, bool per_route,
                       bool by_id, gen_au_t *au, gen_au_state_t *state,
                       size_t *skipped);

/* Reads one page of a jobs answer (OrganizationPublicApiUsageResults-
 * Response) of the job for day_ms, whose GET was target, into au->paging:
 * per client (oauthClient: its name, its id without one or with by_id)
 * and with per_route per route template too. "Queued", "Running" (any
 * state but these four): GEN_AU_RUNNING; "Failed", "Cancelled":
 * GEN_AU_FAILED; "Succeeded" (or "Complete", or rows without a status):
 * GEN_AU_COMPLETE, with the next page's target in next (from nextUri's
 * after=, else nextUri itself, else a "cursor" or "cursors.after" field
 * on page_path), or "" at the last page, when au->paging becomes the
 * rows of day_ms. Rows of another day are left out; rows without a client
 * id or with a count not a whole number in [0, 2^53] are counted in
 * *skipped; a sum beyond 2^53 stops there (au's rows' saturated). -EINVAL
 * for an answer of neither status nor entities, -EBADMSG for a next page
 * that is the same page or does not fit, -ENOMEM. */
int gen_au_job_page_read(json_object *doc, int64_t day_ms, bool per_route,
                         bool by_id, const char *page_path, const char *target,
                         gen_au_t *au, gen_au_state_t *state, char *next,
                         size_t next_size, size_t *skipped);

/* Keeps the max clients of au's day with the most requests (ties by
 * label) and sums the others, their routes too, into GEN_AU_OTHER: a
 * series per client and count, and an answer may name thousands. Counted
 * in au->folded, said once in the log. 0 or -ENOMEM (the rows kept
 * whole). */
int gen_au_cap_clients(gen_au_t *au, int max, const gen_org_t *org);

/* One read: asks for the last complete day when due (or for the results
 * of a query or job still running, up to GEN_AU_PAGES_PER_READ pages),
 * then dispatches, with plugin's name, the rows of that day (types
 * api_usage and api_route_usage, at most ApiUsageMaxClients clients and
 * GEN_AU_OTHER) and the family's self-metrics. The jobs
 * route first; its 404 turns to the legacy query for that day (said once).
 * A failed query is asked for again after ApiUsageRefresh (5 minutes at
 * most). Only the first shard asks (the counts are the org's). */
void gen_au_read(gen_au_t *au, gen_client_t *client, const gen_au_config_t *c,
                 const char *plugin);
/* The length of the usage's day. */
#define GEN_AU_DAY_MS 86400000LL
/* A replay of one UTC day (collectd-genesys-check --replay): the job of
 * day_ms asked for, its status asked until it is done (a second apart),
 * every page read, then its rows dispatched at the day's end with the day
 * as their interval. 0, or -EIO after the failure was logged. Only the
 * first shard asks. */
int gen_au_replay_day(gen_au_t *au, gen_client_t *client,
                      const gen_au_config_t *c, int64_t day_ms,
                      const char *plugin);
void gen_au_free(gen_au_t *au);

#endif /* GEN_APIUSAGE_H */
