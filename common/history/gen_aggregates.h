/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the analytics aggregates queries, one module for every
 * plugin that asks them (conversation, users and flow aggregates).
 *
 * - The request loop: per batch of entities, plan the range due with the
 *   closed-interval engine (gen_interval), POST one query for it, read the
 *   answer into the engine, then commit (dispatch) or abort it.
 * - A declarative metric catalogue: a table of gen_agg_metric_t (our name,
 *   API metric, kind, the result group it is answered in, and the collectd
 *   types of counts) drives the request's metrics[], how a bucket's
 *   metrics[] becomes engine values, and what each bucket and each counter
 *   dispatches. A plugin writes a table, not code, for a new metric.
 * - A result group's engine key is typed (gen_key_t): its dimension values,
 *   handed as they are to the engine, the sink and the plugin's labels.
 */
#ifndef GEN_AGGREGATES_H
#define GEN_AGGREGATES_H 1

#include "gen_agg_answer.h"
#include "gen_client.h"
#include "gen_entity.h"
#include "gen_interval.h"

#include <json-c/json.h>

/* ---- the metric catalogue ------------------------------------------------
 */

typedef enum {
  GEN_AGG_COUNT,    /* stats.count: a gauge per bucket and a counter */
  GEN_AGG_DURATION, /* stats.count, sum, max, min in ms: count, average,
                       max, min per bucket (seconds), and counters of the
                       count and the sum (ms) */
  GEN_AGG_RATIO,    /* stats.numerator, denominator: both per bucket and
                       as counters, and their ratio per bucket */
  GEN_AGG_TARGET,   /* stats.target: a goal, a gauge per bucket, no counter
                       (summing goals means nothing), never zero-filled */
  GEN_AGG_SCORE,    /* stats.count, sum, max, min of a score that may be
                       negative (sentiment, -100..+100): count, average,
                       max, min per bucket, and a counter of the count only
                       (a sum that goes down is no counter) */
} gen_agg_kind_t;

/* One metric. Engine value names derive from name: "<name>" (count),
 * "<name>_count|_sum_ms|_max_ms|_min_ms" (duration),
 * "<name>_numerator|_denominator" (ratio), "<name>" (target); they are in the
 * state files, so a name never changes once released. */
typedef struct {
  const char *name; /* ours: configuration, engine values, types/measures */
  const char *api;  /* the API metric */
  gen_agg_kind_t kind;
  unsigned group; /* the result group it is answered in (the plugin's) */
  /* Counts: the collectd types per bucket and as a counter; NULL: name and
   * "total_<name>". Durations dispatch duration_{count,avg,max,min} and
   * total_duration_{count,ms} with name as the measure in type_instance;
   * ratios <name>, <name>_numerator|_denominator and total_<name>_…. */
  const char *bucket_type, *total_type;
  unsigned sets; /* bit i: a member of the catalogue's sets[i] */
} gen_agg_metric_t;

#define GEN_AGG_MAX_METRICS 128 /* per catalogue */

typedef struct {
  const gen_agg_metric_t *metrics;
  size_t n; /* at most GEN_AGG_MAX_METRICS */
  /* Counts and ratios of the group the answer leaves out (the API omits
   * what did not happen) are recorded as 0, so a bucket's gauge says 0
   * rather than keeping an older bucket's value. */
  bool zero_absent;
  /* Names of sets of metrics the "Metric" key also takes (a metric's sets
   * says which it is in), and then "all" too; NULL: names only. */
  const char *const *sets;
  size_t n_sets;
} gen_agg_catalogue_t;

/* The metric named name (ours, or the API's when only one metric has that
 * API name; case-insensitive), or -1. */
ssize_t gen_agg_metric_find(const gen_agg_catalogue_t *cat, const char *name);

/* Turns on in on[cat->n] the members of the set named name ("all": every
 * metric; case-insensitive); false when the catalogue has no such set. */
bool gen_agg_set_on(const gen_agg_catalogue_t *cat, const char *name, bool *on);

/* The "Metric" key: each value turns its metric, or the members of its set,
 * on in on[cat->n]. Unknown names are refused naming the key, the value and
 * the valid sets and names (over several lines when long). */
int gen_agg_config_metrics(const gen_org_t *org, const oconfig_item_t *ci,
                           const gen_agg_catalogue_t *cat, bool *on);

/* metrics[] of a request: the API names of the metrics on (on NULL: all)
 * of result group group only (asking for another group's metrics would
 * only bring entries the reader skips; group < 0: every group), each once.
 * A new reference. */
json_object *gen_agg_metrics_json(const gen_agg_catalogue_t *cat,
                                  const bool *on, long group);
/* Whether a metric on (NULL: all) is of group. */
bool gen_agg_group_on(const gen_agg_catalogue_t *cat, const bool *on,
                      unsigned group);

/* One bucket's values, as the engine takes them (names point into the
 * buffer: valid until the next read into it). */
typedef struct gen_agg_values_s gen_agg_values_t;
gen_agg_values_t *gen_agg_values_new(const gen_agg_catalogue_t *cat);
void gen_agg_values_free(gen_agg_values_t *vals);

/* Reads one bucket's metrics[] of a result of group into vals: the metrics
 * on (NULL: all) of that group. An entry of another group, not asked for,
 * or with stats of the wrong type or sign is skipped; returns how many
 * were. *v and *n are the values. */
size_t gen_agg_read(const gen_agg_catalogue_t *cat, const bool *on,
                    unsigned group, const gen_agg_metrics_t *metrics,
                    gen_agg_values_t *vals, const gen_interval_value_t **v,
                    size_t *n);

/* Where a key's values go: plugin_instance, and the group's labels that end
 * type_instance ("" for none; a duration's is "<measure>-<suffix>"). */
typedef struct {
  const char *host, *plugin, *plugin_instance, *suffix;
  int64_t granularity_ms;
} gen_agg_series_t;

/* Dispatches what the catalogue says of one bucket of a key of group (the
 * gauges, at end_ms) or of its counters (at at_ms), from the engine's
 * values v[n]. */
void gen_agg_put_bucket(const gen_agg_catalogue_t *cat, const bool *on,
                        unsigned group, const gen_agg_series_t *s,
                        const gen_interval_value_t *v, size_t n,
                        int64_t end_ms);
void gen_agg_put_totals(const gen_agg_catalogue_t *cat, const bool *on,
                        unsigned group, const gen_agg_series_t *s,
                        const gen_interval_value_t *v, size_t n, int64_t at_ms);
/* One value of a series at at_ms: type_instance "<measure>-<suffix>", or
 * whichever of the two is not NULL or empty. */
void gen_agg_put_value(const gen_agg_series_t *s, const char *type,
                       const char *measure, bool derive, double value,
                       int64_t at_ms);

/* ---- folding groups ------------------------------------------------------
 */

/* Folds the results of answer a whose groups agree on every one of dims[n]
 * (n <= GEN_KEY_STRS) into the first of them: buckets of the same interval
 * add up (count and sum; max and min stay the extremes), other buckets and
 * metrics are joined, and members drop[n_drop] of the group are removed
 * (the folded group is no longer theirs). Results without every dimension
 * are left as they are. For groups the engine must see as one key (it
 * keeps one value per key and bucket: the last would win). 0, or -ENOMEM
 * (a then unchanged). */
int gen_agg_fold_groups(gen_agg_answer_t *a, const char *const *dims, size_t n,
                        const char *const *drop, size_t n_drop);

/* ---- the engine's sink ---------------------------------------------------
 */

/* How a plugin names the series of an engine key: plugin_instance, the
 * suffix of type_instance and the key's result group. The strings may point
 * into the key, into the plugin's own names, or into the buffers here; they
 * start as "", the group as 0. */
typedef struct {
  const char *plugin_instance, *suffix;
  unsigned group;
  char instance_buf[DATA_MAX_NAME_LEN], suffix_buf[DATA_MAX_NAME_LEN];
} gen_agg_label_t;

typedef void (*gen_agg_label_fn)(void *ud, const gen_key_t *key,
                                 gen_agg_label_t *out);

/* A series named by an id the answer gave, not a listed entity's name:
 * plugin_instance "<prefix><id>" made safe for every backend
 * (gen_sanitize_name), in out's buffer; group its result group. The bots
 * ("bot-") and the rate limits ("ratelimit-"). */
void gen_agg_label_id(gen_agg_label_t *out, const char *prefix, const char *id,
                      unsigned group);

/* Where one plugin's aggregates go: its catalogue (the metrics on; NULL:
 * all), host, plugin and granularity, and how it names a key's series. */
typedef struct {
  const gen_agg_catalogue_t *cat;
  const bool *on;
  const char *host, *plugin;
  int64_t granularity_ms;
  gen_agg_label_fn label;
  void *ud;
} gen_agg_output_t;

/* The engine's sink for out: every bucket (its gauges at its end) and
 * every key's counters dispatched as the catalogue says, under the key's
 * labels. out is borrowed for as long as the sink is used. */
gen_interval_sink_t gen_agg_sink(gen_agg_output_t *out);

/* ---- the request loop ----------------------------------------------------
 */

/* The start of one bucket of an aggregates answer from its interval
 * ("start/end"; NULL: none), checked to be a whole bucket of the range asked
 * for. Returns 0, or -EINVAL with the reason in err (the answer cannot be
 * trusted). */
int gen_agg_bucket_start(const char *interval,
                         const gen_interval_range_t *range,
                         int64_t granularity_ms, int64_t *start_ms, char *err,
                         size_t err_size);

/* The self-metrics of interval collection (plugin_instance "self"):
 * analytics_queries, analytics_query_failures, buckets_dispatched,
 * buckets_backfilled, bucket_revisions, gap_buckets, progress_refused, lag,
 * last_success_age. */
void gen_agg_dispatch_self(const char *host, const char *plugin,
                           const gen_interval_stats_t *st, uint64_t queries,
                           uint64_t failures);
/* bucket_revisions, and where the changes land: bucket_revisions-window
 * (found within the revisit window) and bucket_revisions-<age> (at that age
 * of the revisit schedule), each revision once (gen_agg_dispatch_self sends
 * them; a plugin without the rest sends these alone). */
void gen_agg_dispatch_revisions(const char *host, const char *plugin,
                                const gen_interval_stats_t *st);

/* The value named name among v[n] (a bucket's or a total's); false when
 * absent (or name is NULL). */
bool gen_agg_value_find(const gen_interval_value_t *v, size_t n,
                        const char *name, double *out);

/* The start of an aggregates request for range: interval, granularity
 * (none for granularity_ms 0: the API's default, one bucket for the whole
 * interval), timeZone UTC and groupBy (n dimensions). The caller adds
 * metrics and filter. A new reference. */
json_object *gen_agg_query_new(const gen_interval_range_t *range,
                               int64_t granularity_ms,
                               const char *const *group_by, size_t n);

/* A whole request of the families that ask every metric of cat for the
 * entities ids[n] of dimension dim (an "or" filter of them): the start
 * above, then metrics and filter. A new reference. */
json_object *gen_agg_query_of(const gen_agg_catalogue_t *cat,
                              const gen_interval_range_t *range,
                              int64_t granularity_ms,
                              const char *const *group_by, size_t n_group_by,
                              const char *dim, const char *const *ids,
                              size_t n);

typedef struct {
  uint64_t queries, failures;
  gen_ratelimit_t complain;
  const gen_log_org_t *who; /* whose lines (borrowed) */
} gen_agg_counts_t;

/* The requests a read of interval may make for a family paced at
 * per_minute requests a minute: ceil(per_minute x interval / 60 s), at
 * least 1. A family read over several reads (agent status, call quality)
 * keeps the token's 300 a minute for the others. */
size_t gen_agg_budget(cdtime_t interval, unsigned per_minute);

/* The engine scope (inside group, or the caller's) and key (strings inside
 * group or the caller's; starts zeroed) of a result group of an aggregates
 * answer; false to skip the group (not one of ours). A key the engine cannot
 * keep (gen_interval_key_ok: a dimension absent or empty) skips it too. */
typedef bool (*gen_agg_group_fn)(void *ud, const gen_agg_group_t *group,
                                 const char **scope, gen_key_t *key);
/* The request for scopes over range (a new reference). */
typedef json_object *(*gen_agg_body_fn)(void *ud, const char *const *scopes,
                                        size_t n,
                                        const gen_interval_range_t *range);

/* How a plugin reads the groups and metrics of an aggregates answer: a
 * group's key, then each bucket's metrics[] as the catalogue says
 * (gen_agg_read: the metrics on, NULL all, of the key's result group). */
typedef struct {
  gen_agg_group_fn group;
  const gen_agg_catalogue_t *cat;
  const bool *on;
  /* The result group of a key; NULL: 0, the catalogue's one. */
  unsigned (*key_group)(const gen_key_t *key);
  const char *what; /* "flow aggregates answer", for the log */
  void *ud;
} gen_agg_reader_t;

/* Rewrites an answer once it is read, before the engine takes it (the
 * data actions: a group named by its action's name given its id, an entry
 * made the metrics the catalogue reads). Returns 0, or a negative errno
 * with the reason in err: the range is asked for again, nothing of it
 * dispatched. */
typedef int (*gen_agg_prepare_fn)(void *ud, gen_agg_answer_t *a, char *err,
                                  size_t err_size);

/* Reads an answer of another format than aggregates' (text, len bytes)
 * into a (gen_agg_answer_clear, begin..end). 0, or a negative errno with
 * the reason in err (-EINVAL: not JSON, or not that format). */
typedef int (*gen_agg_parse_fn)(void *ud, const char *text, size_t len,
                                gen_agg_answer_t *a, char *err,
                                size_t err_size);

/* The groups of an answer folded into one key once read, those the plugin
 * counts as one (the engine keeps one value per key and bucket):
 * gen_agg_fold_groups over dims[n], members drop[n_drop] removed. */
typedef struct {
  const char *const *dims;
  size_t n;
  const char *const *drop;
  size_t n_drop;
} gen_agg_fold_t;

/* One aggregates endpoint, as the collection loop uses it. */
typedef struct {
  const char *path; /* POST path */
  const char *what; /* "aggregates query", for the log */
  int64_t granularity_ms;
  gen_agg_body_fn body;
  gen_agg_reader_t reader;    /* its answer */
  gen_agg_parse_fn parse;     /* NULL: gen_agg_answer_read */
  gen_agg_prepare_fn prepare; /* NULL: the answer is taken as read */
  const gen_agg_fold_t *fold; /* then this fold; NULL: none */
  gen_agg_output_t out;       /* where its values go (gen_agg_sink) */
  void *ud;
  /* For a refused permission (gen_client_family): the family this query
   * feeds and what still runs without it; NULL: not reported so. */
  const char *family, *still;
} gen_agg_query_t;

/* The answer buffer of the calling thread (the read callbacks of two orgs
 * run in parallel): its arrays and arena reused from one answer to the
 * next, freed when the thread ends; NULL when out of memory. */
gen_agg_answer_t *gen_agg_thread_answer(void);

/* A query of catalogue cat, every metric on (reader.what is what; no
 * prepare; out has cat, granularity_ms and ud, the caller adds the rest). */
gen_agg_query_t gen_agg_query_make(const char *path, const char *what,
                                   const gen_agg_catalogue_t *cat,
                                   int64_t granularity_ms, gen_agg_body_fn body,
                                   gen_agg_group_fn group, void *ud);

/* Takes text (len bytes; NULL: an empty answer), the answer to query over
 * range, into engine: every usable (group, bucket); unusable groups and
 * metrics are skipped and counted in *skipped, a metric the catalogue does
 * not name at all passed over and counted in unknown (gen_stats_unknown).
 * 0, or a negative errno with the reason in err (-EINVAL for an answer that
 * cannot be trusted as a whole: not JSON, not an aggregates answer, a
 * bucket outside the range); the caller commits or aborts
 * (gen_family_apply). */
int gen_agg_take(gen_interval_t *engine, const gen_agg_query_t *query,
                 const gen_interval_range_t *range, const char *text,
                 size_t len, const gen_unknown_sink_t *unknown, size_t *skipped,
                 char *err, size_t err_size);

#endif /* GEN_AGGREGATES_H */
