/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the configuration keys of closed-interval collection,
 * shared by every plugin that uses the gen_interval engine (Granularity,
 * SettleDelay, RevisitWindow, BackfillHorizon, InitialBackfill,
 * StateDirectory, MaxBucketsPerQuery), and the engine made from them with
 * its state file.
 */
#ifndef GEN_INTERVAL_CONFIG_H
#define GEN_INTERVAL_CONFIG_H 1

#include "gen_client.h"
#include "gen_config.h"
#include "gen_interval.h"

#include <json-c/json.h>

typedef struct {
  int64_t granularity_ms;
  cdtime_t settle, revisit, horizon, initial;
  char *state_dir; /* NULL = collectd's BaseDir (gen_state_default_dir) */
  long max_buckets;
} gen_interval_config_t;

/* Defaults: PT15M, settle 120 s, revisit 1 h, horizon 24 h, no initial
 * backfill, 96 buckets per query. */
void gen_interval_config_init(gen_interval_config_t *c);
void gen_interval_config_release(gen_interval_config_t *c);

/* Parses one of the keys above: 0, a negative errno (logged, naming the
 * key), or GEN_CONFIG_NOT_MINE for any other key. */
int gen_interval_config_key(gen_org_t *org, const oconfig_item_t *ci,
                            gen_interval_config_t *c);

/* Creates the engine whose state lives in
 * <StateDirectory>/<stem>-<sanitised org><suffix>.json (the directory is
 * created). Logs with log_prefix and returns NULL on failure. */
gen_interval_t *gen_interval_config_engine(const gen_interval_config_t *c,
                                           const char *stem, const char *org,
                                           const char *suffix,
                                           const char *log_prefix);

/* The start of one bucket of an aggregates answer ({"interval": "start/end",
 * …}), checked to be a whole bucket of the range asked for. Returns 0, or
 * -EINVAL with the reason in err (the answer cannot be trusted). */
int gen_interval_answer_bucket(json_object *bucket,
                               const gen_interval_range_t *range,
                               int64_t granularity_ms, int64_t *start_ms,
                               char *err, size_t err_size);

/* The self-metrics of interval collection (plugin_instance "self"):
 * analytics_queries, analytics_query_failures, buckets_dispatched,
 * buckets_backfilled, bucket_revisions, gap_buckets, lag, last_success_age. */
void gen_interval_dispatch_self(const char *host, const char *plugin,
                                const gen_interval_stats_t *st,
                                uint64_t queries, uint64_t failures);

/* One value of a bucket (or a total) at its time, with the granularity as
 * its interval. */
void gen_interval_dispatch(const char *host, const char *plugin,
                           const char *plugin_instance, const char *type,
                           const char *type_instance, bool derive, double value,
                           int64_t at_ms, int64_t granularity_ms);

/* The value named name among v[n] (a bucket's or a total's); false when
 * absent (or name is NULL). */
bool gen_interval_value_find(const gen_interval_value_t *v, size_t n,
                             const char *name, double *out);

/* The start of an aggregates request for range: interval, granularity,
 * timeZone UTC and groupBy (n dimensions). The caller adds metrics and
 * filter. A new reference. */
json_object *gen_interval_query_new(const gen_interval_range_t *range,
                                    int64_t granularity_ms,
                                    const char *const *group_by, size_t n);

typedef struct {
  uint64_t queries, failures;
  gen_ratelimit_t complain;
  const char *log_prefix; /* "<plugin> plugin: Org \"x\"" */
} gen_interval_counts_t;

/* The engine scope (inside group, or the caller's) and key of a result
 * group of an aggregates answer; false to skip the group (not one of ours). */
typedef bool (*gen_interval_group_fn)(void *ud, json_object *group,
                                      const char **scope, char *key,
                                      size_t key_size);
/* One bucket's metrics[] of the group keyed key as engine values (valid
 * until the next call); returns how many entries were not usable. */
typedef size_t (*gen_interval_values_fn)(void *ud, const char *key,
                                         json_object *metrics,
                                         const gen_interval_value_t **v,
                                         size_t *n);
/* The request for scopes over range (a new reference). */
typedef json_object *(*gen_interval_body_fn)(void *ud,
                                             const char *const *scopes,
                                             size_t n,
                                             const gen_interval_range_t *range);

/* How a plugin reads the groups and metrics of an aggregates answer. */
typedef struct {
  gen_interval_group_fn group;
  gen_interval_values_fn values;
  const char *what; /* "flow aggregates answer", for the log */
  void *ud;
} gen_interval_reader_t;

/* Puts every (group, bucket) of an answer ({"results": [{group, data:
 * [{interval, metrics}]}]}) into the engine. A document that cannot be
 * trusted as a whole (not that shape, a bucket outside the range) returns
 * -EINVAL with the reason in err: the range is asked for again, nothing of
 * it dispatched. Unusable groups and metrics are skipped, logged
 * (rate-limited) and counted as malformed answers of client. */
int gen_interval_take(gen_interval_t *engine, gen_client_t *client,
                      gen_interval_counts_t *counts, json_object *doc,
                      const gen_interval_range_t *range, int64_t granularity_ms,
                      const gen_interval_reader_t *reader, char *err,
                      size_t err_size);

/* Rewrites an answer in place before it is read, e.g. to fold groups the
 * plugin counts as one key (the engine keeps one value per key and
 * bucket). Returns 0, or a negative errno with the reason in err: the range
 * is asked for again, nothing of it dispatched. */
typedef int (*gen_interval_prepare_fn)(void *ud, json_object *doc, char *err,
                                       size_t err_size);

/* One aggregates endpoint, as the collection loop uses it. */
typedef struct {
  const char *path; /* POST path */
  const char *what; /* "aggregates query", for the log */
  int64_t granularity_ms;
  gen_interval_body_fn body;
  gen_interval_reader_t reader;    /* its answer */
  gen_interval_prepare_fn prepare; /* NULL: the answer is read as it comes */
  void *ud;
  /* For a refused permission (gen_client_family): the family this query
   * feeds and what still runs without it; NULL: not reported so. */
  const char *family, *still;
} gen_interval_query_t;

/* Everything one plugin's collection of one endpoint needs. */
typedef struct {
  gen_interval_t *engine;
  gen_client_t *client;
  gen_interval_counts_t *counts;
  const gen_interval_query_t *query;
  const gen_interval_sink_t *sink;
} gen_interval_job_t;

/* A query (reader.what is what; no prepare). */
gen_interval_query_t gen_interval_query_make(const char *path, const char *what,
                                             int64_t granularity_ms,
                                             gen_interval_body_fn body,
                                             gen_interval_group_fn group,
                                             gen_interval_values_fn values,
                                             void *ud);

/* Takes doc, the answer to the job's query for scopes over range (planned
 * at now): commits it through the sink (0), or aborts it (a negative errno, the
 * reason in err). */
int gen_interval_apply(const gen_interval_job_t *job, const char *const *scopes,
                       size_t n, const gen_interval_range_t *range, int64_t now,
                       json_object *doc, char *err, size_t err_size);

/* Asks for and takes every range due for one batch of scopes, at most
 * max_ranges of them (a long backfill continues next read), one request
 * each: plan, POST, take, then commit or abort. Returns 0, or the failure
 * of a request (logged, counted; the cycle stops: no hammering). */
int gen_interval_collect(const gen_interval_job_t *job,
                         const char *const *scopes, size_t n, int max_ranges);

#endif /* GEN_INTERVAL_CONFIG_H */
