/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a history family as a row, and the one driver that runs
 * the rows of a plugin's table, in the plugin's read and in a replay alike.
 *
 * A family (queue aggregates, agent status, call quality, flow aggregates,
 * data actions, operational events, API usage) says what it is in a
 * gen_family_t: its
 * name, its engine (bucket length, state-file suffix, buckets a request),
 * how far back Genesys keeps it, its request pace, and three functions:
 * whether the configuration turns it on, its state across reads (made from
 * the plugin's configuration and listings), and one collection of the
 * ranges due for a run. A plugin exports a gen_history_t: its
 * configuration (the same parser the plugin uses), its listings and its
 * rows. The driver makes the engines (a state file each for the plugin, an
 * engine without one planning exactly a window for a replay), runs each row
 * on, saves, and sums the self-metrics; the replay (collectd-genesys-check
 * --replay) iterates the same table and has no code of any family. A
 * family's requests go through the one request loop below
 * (gen_family_ranges, and gen_family_agg for an aggregates query).
 */
#ifndef GEN_FAMILY_H
#define GEN_FAMILY_H 1

#include "gen_aggregates.h"
#include "gen_interval_config.h"
#include "gen_plugin.h"

#define GEN_FAMILIES_MAX 8

/* One collection of one family: where it puts buckets, and how far it may
 * go. */
typedef struct gen_family_run_s {
  gen_interval_t *engine;
  gen_client_t *client;
  gen_agg_counts_t *counts;
  /* The time ranges are planned at; 0: the clock (a replay plans at the
   * end of its window). */
  int64_t at_ms;
  /* A replay: each bucket's gauges and no counter (gen_replay_gauges), no
   * progress across reads, no budget, every range due read whole, the
   * window [from_ms, at_ms). */
  bool replay;
  int64_t from_ms;
  int max_ranges; /* ranges a batch and read */
  size_t budget;  /* requests this run (family's pace); 0: no limit */
  /* The bound of gen_family_post's answers for a run outside the driver
   * (which sets its row's around the whole collection); {0}: as set. */
  gen_http_bound_t answer;
} gen_family_run_t;

/* A conversation details query's page (call quality, the live counters'
 * gap repair): 100 conversations (PagingSpec's largest page) x 100 KB (a
 * long conversation of many participants, sessions and segments; the
 * record's examples are 5-20 KB) = 10 MB, x3. */
#define GEN_FAMILY_DETAILS_ANSWER                                              \
  GEN_HTTP_BOUND(GEN_MIB(32), "conversation details")

/* What a family's state is made from: the plugin's configuration and
 * listings (borrowed for the state's life), client and names. */
typedef struct {
  const void *config;
  void *lists;
  gen_client_t *client;
  const char *plugin; /* "genesys_analytics" */
  const gen_log_org_t *who;
} gen_family_env_t;

typedef struct {
  const char *name;   /* "call quality": the log and the replay's report */
  const char *suffix; /* its engine's state file: "<stem>-<org><suffix>" */
  /* The requests a minute of Interval a read may make (gen_agg_budget);
   * 0: none, max_ranges ranges a batch only. */
  unsigned per_minute;
  /* How far back Genesys answers (a replay starts no earlier); 0: no
   * limit the plugin knows of. */
  int64_t keep_ms;
  /* The most bytes one answer of its requests may have (its listings'
   * pages have the listing helper's own), named for the error: set around
   * every collection, its arithmetic beside the row (gen_http_bound_t). */
  gen_http_bound_t answer;
  /* Whether the configuration turns it on: on(config), or without one the
   * bool at on_at of the plugin's config (gen_family_on). */
  bool (*on)(const void *config);
  size_t on_at;
  /* The org's values, no entity's (every bot, every rate limit): a sharded
   * org's first shard alone asks (Shard "1/n"), as for the status page,
   * or every agent would send the same series. */
  bool org_wide;
  /* Its bucket length (0: the plugin's Granularity). */
  int64_t (*granularity_ms)(const void *config);
  /* Its engine for a running plugin; NULL: the plugin's interval
   * configuration with its granularity and suffix. */
  gen_interval_t *(*engine)(const gen_family_env_t *env,
                            const gen_interval_config_t *interval);
  /* Its buckets a request in a replay; 0: MaxBucketsPerQuery. */
  long replay_buckets;
  /* No engine of the driver's in a read (run.engine NULL): the family
   * keeps its own state (API usage: the last complete day, asked again
   * every ApiUsageRefresh); a replay still has one, planning its window. */
  bool own_state;
  /* Its state across reads (progress, answer buffers, outputs); NULL on
   * failure (out of memory). state_free(NULL) does nothing. */
  void *(*state_new)(const gen_family_env_t *env);
  void (*state_free)(void *state);
  /* Every range due of run: 0, or the failure (logged, counted). */
  int (*collect)(void *state, const gen_family_run_t *run);
} gen_family_t;

/* Row f's bucket length under config: its own, or the plugin's
 * Granularity. */
int64_t gen_family_granularity(const gen_family_t *f, const void *config,
                               const gen_interval_config_t *ic);

/* The sink a run hands its engine: the family's own, or in a replay each
 * bucket's gauges only (gen_replay_gauges). */
gen_interval_sink_t gen_family_sink(const gen_family_run_t *run,
                                    gen_interval_sink_t sink);

/* ---- the one request loop ------------------------------------------------
 */

/* What a family's read of its range in progress ends in, besides 0 (read
 * and committed whole) and a failure. */
#define GEN_FAMILY_OUT_OF_BUDGET 1

/* How a family reads a range: the loop (gen_family_ranges) plans it per
 * batch of entities, and the family asks for it with as many requests as it
 * takes (one aggregates query; a users query per 100 users; a details
 * query per page and part), each counted, puts what it completes into the
 * engine and commits it. A range may span several reads (its state is the
 * family's): the loop resumes it first. */
typedef struct {
  const char *family; /* "call quality": gen_client_family, the self-log */
  const char *still;  /* what still runs without its permission */
  const char *query;  /* "conversation details query": the failure line */
  /* Begins reading range for ids[n], the batch-th batch: 0 or -ENOMEM. */
  int (*begin)(void *state, const gen_family_run_t *run, const char *const *ids,
               size_t n, size_t batch, const gen_interval_range_t *range);
  /* The batch of the range in progress, or -1 for none. */
  ssize_t (*resumes)(const void *state);
  /* Reads the range in progress with requests while *spent is under
   * run->budget (0: no limit), each counted in run->counts->queries and
   * *spent, and commits what it completes (gen_family_commit). 0 when it
   * was read and committed whole, GEN_FAMILY_OUT_OF_BUDGET, or the failure
   * with err set (-EINVAL: an answer that cannot be trusted). */
  int (*read)(void *state, const gen_family_run_t *run, size_t *spent,
              char *err, size_t err_size);
  /* What is left of the range in progress (the failure line's range). */
  gen_interval_range_t (*left)(const void *state);
  /* Ends the range in progress: read, or dropped. */
  void (*end)(void *state);
  /* Before a failure is logged (NULL: nothing more to say). */
  void (*failed)(void *state, const gen_family_run_t *run, int status,
                 const char *err);
} gen_family_reader_t;

/* Where a family read over several reads goes on: the batch to begin with
 * and the generation of the entity set it counts batches of. */
typedef struct {
  size_t batch;
  uint64_t generation;
} gen_family_cursor_t;

/* The one request loop: for each batch of per ids of set (0 or more than
 * the set: all in one; NULL: the one scope), from the cursor's batch on and
 * round, at most run->max_ranges ranges, the range in progress first: plan
 * it at run->at_ms (0: the clock), begin it, read it (the budget shared by
 * the batches). A failure ends the run (no hammering): counted, classified
 * (-EINVAL and unreadable JSON as malformed), told to the family's
 * permission notice, logged rate-limited with the range and what happens
 * next: "resumed where it stopped next cycle" (a warning) when the request
 * will be retried (the handle rests: a 429, a 5xx, no answer) and the range
 * stays, else "asked for again next cycle" with the next read beginning at
 * the next batch, or "the replay stops". A changed generation, or a cursor
 * past the batches, starts over. cursor NULL: no read goes on from this one
 * (a replay). 0, or the failure. */
int gen_family_ranges(const gen_family_run_t *run,
                      const gen_family_reader_t *reader, void *state,
                      gen_family_cursor_t *cursor, const gen_entity_set_t *set,
                      size_t per, uint64_t generation, const char *scope);

/* One request of a family's read: body (taken) POSTed to path, counted in
 * run->counts->queries and *spent; GEN_FAMILY_OUT_OF_BUDGET, nothing sent,
 * once *spent has reached run->budget (0: no limit). The answer goes to
 * *doc when doc is not NULL (gen_http_post_json), else to resp
 * (gen_http_response_recycle it). 0, or the failure with err set. */
int gen_family_post(const gen_family_run_t *run, const char *path,
                    json_object *body, size_t *spent, gen_http_response_t *resp,
                    json_object **doc, char *err, size_t err_size);

/* A request's outcome, the loop's classification: a failure counted in
 * run->counts->failures, an answer that cannot be trusted (-EINVAL, or
 * gen_err_malformed) counted as a malformed answer of the client and told
 * as -EBADMSG, and every outcome told to family's permission notice
 * (gen_client_family; family NULL: none). true when the request was
 * refused for a permission (gen_client_family said so and logged it). */
bool gen_family_outcome(const gen_family_run_t *run, const char *family,
                        const char *still, int status, const char *err);

/* Commits range of scopes ids[n] through sink, planned at run->at_ms (0:
 * the clock). */
void gen_family_commit(const gen_family_run_t *run, const char *const *ids,
                       size_t n, const gen_interval_range_t *range,
                       const gen_interval_sink_t *sink);

/* Takes text (len bytes; NULL: an empty answer), the answer to query for
 * scopes over range (gen_agg_take), and commits it through the sink of
 * query->out (gen_family_sink) at the run's time, or aborts it: a negative
 * errno, the reason in err. Unusable groups and metrics are logged
 * (rate-limited) and counted as malformed answers. */
int gen_family_apply(const gen_family_run_t *run, const gen_agg_query_t *query,
                     const char *const *scopes, size_t n,
                     const gen_interval_range_t *range, const char *text,
                     size_t len, char *err, size_t err_size);

/* One aggregates-shaped collection of a run: query's ranges due into the
 * run's engine through the sink of query->out (gen_family_sink), for every
 * batch of per ids of set (0: all in one), or with set NULL for the one
 * scope. 0, or the first failure (gen_family_ranges: logged, counted). */
int gen_family_agg(const gen_family_run_t *run, const gen_agg_query_t *query,
                   const gen_entity_set_t *set, size_t per, const char *scope);

/* A plugin's history: its configuration (the plugin's own parser), its
 * listings and its rows. */
typedef struct {
  const char *plugin; /* "genesys_analytics" */
  const char *stem;   /* state files: "analytics" */
  gen_org_key_cb org_key;
  size_t config_size;
  void (*config_init)(void *config);
  void (*config_release)(void *config);
  /* After the last key (NULL: nothing to do). */
  void (*config_done)(void *config);
  /* Where its interval configuration is inside config. */
  size_t interval_at;
  /* The listings' struct: lists_size bytes, zeroed; refreshed by list()
   * (0, or the failure, logged), freed by lists_free(). None (0, NULL,
   * NULL) for a plugin whose families list what they need themselves. */
  size_t lists_size;
  int (*list)(const void *config, gen_client_t *client, void *lists,
              gen_ratelimit_t *complain);
  void (*lists_free)(void *lists);
  const gen_family_t *rows;
  size_t n_rows;
} gen_history_t;

/* Whether row f runs for org under config: turned on, and a row of the
 * org's values (org_wide) only on the first shard; h's interval
 * configuration in config. */
bool gen_family_on(const gen_family_t *f, const void *config,
                   const gen_org_t *org);
const gen_interval_config_t *gen_history_interval(const gen_history_t *h,
                                                  const void *config);

/* The families of one running instance: an engine and a state per row on
 * (NULL for a row off). */
typedef struct {
  const gen_history_t *h;
  gen_interval_t *engine[GEN_FAMILIES_MAX];
  void *state[GEN_FAMILIES_MAX];
  gen_agg_counts_t counts; /* queries, failures: the self-metrics' */
} gen_families_t;

/* Makes the engine and state of every row on. 0, or -1 (logged by the
 * engine's maker, or out of memory); gen_families_free() then. */
int gen_families_open(gen_families_t *fs, const gen_history_t *h,
                      const gen_family_env_t *env);
/* One read: each row on collects the ranges due (at its budget of a read
 * of interval), then its engine's state is written once. */
void gen_families_read(gen_families_t *fs, gen_client_t *client,
                       cdtime_t interval, int max_ranges);
/* The statistics of every engine, summed into st. */
void gen_families_stats(const gen_families_t *fs, gen_interval_stats_t *st);
/* The state of row i (NULL when off). */
void *gen_families_state(const gen_families_t *fs, size_t i);
void gen_families_free(gen_families_t *fs);

/* A replay of row f over [*from_ms, *to_ms) (collectd-genesys-check
 * --replay): the window made whole settled buckets of the family's length
 * (and no older than keep_ms), an engine without a state file planning
 * exactly it, a fresh state, every range read whole. 0, the family's
 * failure, or -EINVAL with the reason in err when no bucket is left. The
 * window is written back; counts counts its requests. *estimate (when not
 * NULL) gets the requests the window costs a batch of entities at least,
 * one a range of the family's buckets a request; beyond max_requests (0:
 * no limit) nothing is asked and -E2BIG says so in err: a window of years
 * is hundreds of thousands of requests, not a refill. */
int gen_family_replay(const gen_family_t *f, const gen_family_env_t *env,
                      const gen_interval_config_t *ic, int64_t *from_ms,
                      int64_t *to_ms, long max_requests, int64_t *estimate,
                      gen_agg_counts_t *counts, char *err, size_t err_size);

#endif /* GEN_FAMILY_H */
