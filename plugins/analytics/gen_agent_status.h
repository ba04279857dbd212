/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: agent time in status (genesys_analytics' AgentStatus).
 *
 * The users aggregates query (POST /api/v2/analytics/users/aggregates/query,
 * at most 100 userId predicates a request) asks for tAgentRoutingStatus and
 * tSystemPresence per user and bucket. Every answer of one range is summed
 * per kind ("routing", "presence"), status and bucket over all the users,
 * and only once every request of the range succeeded is the range put into
 * the engine: a partial sum would be dispatched as if complete. One series
 * per status, never per user, so cardinality is the number of statuses.
 */
#ifndef GEN_AGENT_STATUS_H
#define GEN_AGENT_STATUS_H 1

#include "gen_aggregates.h"
#include "gen_entity.h"
#include "gen_family.h"
#include "gen_interval.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_AGENT_STATUS_PATH "/api/v2/analytics/users/aggregates/query"
#define GEN_AGENT_STATUS_USERS_PER_QUERY 100
/* Users aggregates requests a minute of Interval: a third of the token's 300
 * a minute, the rest left to the other queries. 50,000 users = 500 requests
 * a range = 5 reads of 60 s, inside a 15-minute bucket. */
#define GEN_AGENT_STATUS_REQUESTS_PER_MINUTE 100
/* The users whose time is summed: the active and the deactivated ones
 * (whose past time is in the buckets asked for), two listings; not
 * state=any, which also lists every user the org ever deleted: each range
 * would cost ceil(all users ever / 100) requests. */
#define GEN_AGENT_STATUS_ACTIVE_PATH "/api/v2/users?state=active"
#define GEN_AGENT_STATUS_INACTIVE_PATH "/api/v2/users?state=inactive"

/* The users of both listings (this shard's share with Shard i/n) into
 * users, the active first, then those of kept (NULL: none) they left out:
 * 0, or the first failure with err set. */
int gen_agent_status_list_users(gen_http_t *http, const gen_org_t *org,
                                const gen_entity_set_t *kept,
                                gen_entity_set_t *users, char *err,
                                size_t err_size);
/* Distinct statuses kept per kind; Genesys has 5 routing statuses and 10
 * system presences, so more means a malformed answer. */
#define GEN_AGENT_STATUS_MAX 24
#define GEN_AGENT_STATUS_LEN 40

/* The sums of one range: per kind, status and bucket. Engine keys are the
 * kinds; value names are the statuses. */
typedef struct {
  char status[2][GEN_AGENT_STATUS_MAX][GEN_AGENT_STATUS_LEN];
  size_t n_status[2];
  size_t n_buckets;
  int64_t granularity_ms;
  double *ms;   /* [bucket][kind][status] */
  bool *filled; /* [bucket][kind]: some status had time */
} gen_agent_sums_t;

/* Empty sums for range, in buckets of granularity_ms. 0 or -ENOMEM; free
 * with gen_agent_sums_free() either way. */
int gen_agent_sums_init(gen_agent_sums_t *s, const gen_interval_range_t *range,
                        int64_t granularity_ms);
void gen_agent_sums_free(gen_agent_sums_t *s);

/* The request for user_ids[0..n-1] over range, grouped by userId. */
json_object *gen_agent_status_body(const char *const *user_ids, size_t n,
                                   const gen_interval_range_t *range,
                                   int64_t granularity_ms);

/* Adds one answer (text, len bytes), read as every aggregates answer is
 * (gen_agg_answer: each entry's metric, qualifier and stats), to the sums.
 * Not JSON, a wrong shape or a bucket outside the range fails the range
 * (-EINVAL, the reason in err); unusable entries (no status, no sum, a
 * status too long or one too many) are skipped and counted in *skipped. */
int gen_agent_sums_take(gen_agent_sums_t *s, const char *text, size_t len,
                        const gen_interval_range_t *range, size_t *skipped,
                        char *err, size_t err_size);

/* Hands the summed range to engine under scope: one put per kind and
 * bucket that had time, each status with time a counter. 0 or the
 * engine's code. */
int gen_agent_sums_put(const gen_agent_sums_t *s, gen_interval_t *engine,
                       const char *scope, const gen_interval_range_t *range);

/* AgentStatus and AgentStatusGranularity (0: Granularity). */
typedef struct {
  bool on;
  int64_t granularity_ms;
} gen_agent_status_config_t;

extern const gen_config_table_t gen_agent_status_keys;

/* Where the values go: host, plugin, the bucket length and the
 * plugin_instance ("agents", or "agents-<i>of<n>" with Shard i/n: each
 * shard sums its own share of the users). */
typedef struct {
  const char *host, *plugin;
  int64_t granularity_ms;
  char instance[DATA_MAX_NAME_LEN];
} gen_agent_output_t;

void gen_agent_output_init(gen_agent_output_t *out, const gen_org_t *org,
                           const char *host, const char *plugin,
                           int64_t granularity_ms);

/* The engine's sink for out (borrowed while the sink is used): per bucket
 * agent_time (seconds) and agents_average (agents on average), type
 * instance "<kind>-<status>"; the totals total_agent_time_ms, DERIVE. */
gen_interval_sink_t gen_agent_status_sink(gen_agent_output_t *out);

/* A range read over several calls: its sums so far and the first user of
 * the next batch. Dropped (started afresh) when the users list (its
 * generation or count) is no longer the one it began with, or when a
 * request failed for good (gen_family_ranges). */
typedef struct {
  bool started;
  gen_interval_range_t range;
  size_t users_count;
  size_t next_user;
  gen_agent_sums_t sums;
} gen_agent_progress_t;

/* Drops the partial sums; p is unstarted after it. */
void gen_agent_progress_reset(gen_agent_progress_t *p);

/* One org's agent status across reads: whom it sums, its bucket length and
 * engine scope, its range in progress and where the next read goes on. */
typedef struct {
  const gen_entity_set_t *users;
  int64_t granularity_ms;
  const char *scope;
  bool refusal_logged; /* a 400 of the users query, said once */
  gen_agent_progress_t progress;
  gen_family_cursor_t cursor;
  const gen_interval_sink_t *sink; /* during a collection */
} gen_agent_reading_t;

/* The ranges due of run (gen_family_ranges: its budget, planned at its
 * time, resumed where a retried request stopped), ceil(users / 100)
 * requests a range, put into the engine and committed through sink only
 * once every request of the range succeeded; users_generation changes
 * whenever the users list does (a range begun over the old one starts
 * over). 0, or the failure (logged, counted). */
int gen_agent_status_collect(gen_agent_reading_t *a,
                             const gen_family_run_t *run,
                             const gen_interval_sink_t *sink,
                             uint64_t users_generation);

#endif /* GEN_AGENT_STATUS_H */
