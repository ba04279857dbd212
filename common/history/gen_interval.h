/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: closed-interval collection that loses nothing and
 * counts nothing twice, independent of what is measured.
 *
 * The engine decides which buckets of fixed length (the granularity) to ask
 * an aggregate API for, and what to dispatch from the answers:
 *
 *  - a bucket is asked for once it has closed and a settle delay has passed;
 *  - every bucket missed (collectd stopped, API down, failed requests) is
 *    asked for again, oldest first, back to a backfill horizon; a gap beyond
 *    the horizon is logged and counted, never skipped silently;
 *  - buckets already done are asked for again while they are within the
 *    revisit window, and once more at each age of the revisit schedule
 *    beyond it (gen_revisit: 24 h, 72 h, …); a bucket whose values changed
 *    is dispatched again (kind REVISION, same timestamps);
 *  - values flagged as counters are also kept as totals that only go up and
 *    survive restarts: a new bucket adds its values, a revised bucket adds
 *    the difference to what was counted before;
 *  - a state file (atomic writes, gen_state) records per scope what is done
 *    (and how far each age of the schedule got) and per key the totals; the
 *    recent buckets' records (hash and counters, for the revisits) are in a
 *    journal beside it, "<state_path>.records", appended as they change
 *    (see gen_interval.c, "records journal").
 *
 * Vocabulary. A scope is what a plugin queries as a unit and tracks progress
 * for (a queue id, a flow id). A key is one series family inside a scope,
 * a typed key of strings (gen_key_t, e.g. {queue id, "voice", "inbound"});
 * a key belongs to one scope. Values are named numbers. Keys, scopes and
 * names are opaque to the engine; the state file alone writes a key as its
 * strings joined by tabs.
 *
 * A cycle, for each batch of scopes that one request can cover:
 *     gen_interval_plan()   -> 1 and the range to ask for (0: up to date)
 *     ... the request; for every (key, bucket) in the answer:
 *     gen_interval_put()
 *     gen_interval_commit() on success (dispatch, mark done, save state),
 *     gen_interval_abort()  on failure (the range is asked for again later).
 *
 * One engine per plugin instance; not thread-safe (use it from the read
 * callback's thread).
 */
#ifndef GEN_INTERVAL_H
#define GEN_INTERVAL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gen_map.h"
#include "gen_revisit.h"

typedef struct gen_log_org gen_log_org_t; /* gen_log.h */

typedef struct gen_interval_s gen_interval_t;

typedef struct {
  int64_t granularity_ms; /* bucket length (≥ 1 s) */
  int64_t settle_ms;      /* a bucket is asked for once now ≥ end + settle */
  int64_t revisit_ms; /* done buckets ending within this of the newest settled
                         end are asked for again */
  int64_t horizon_ms; /* oldest bucket fetched starts at settled end - this */
  int64_t initial_ms; /* a scope seen for the first time starts this far back
                         (0: with the newest settled bucket only) */
  size_t max_buckets; /* buckets per planned range (≥ 1) */
  /* Ages at which a done bucket is asked for once more (RevisitAt); those
   * not longer than revisit_ms are left out: the window covers them. */
  gen_revisit_t revisit_at;
  /* false: a key's totals are not dispatched once it has had no bucket
   * with values within horizon_ms (its series ends, its totals are kept
   * and go on with its next bucket); true: they are, every range. */
  bool keep_idle;
  const char *state_path;   /* NULL: no persistence */
  const gen_log_org_t *who; /* whose lines (borrowed) */
  /* false: every commit writes the state file (tests). true: commits only
   * mark it dirty and gen_interval_save(), once per read cycle of many
   * batches, writes the state as of the previous save (the file holds every
   * scope: one write per batch would make a cycle quadratic in the scopes).
   * A read's buckets are recorded as done one read late: by then their
   * values have left collectd's write queue, where a SIGKILL loses them. A
   * crash only makes the next run fetch and dispatch the buckets of the
   * last read again, at their own timestamps, with the same totals
   * recomputed from the older state: nothing lost or counted twice. */
  bool defer_save;
} gen_interval_options_t;

typedef struct {
  const char *name; /* "offered", "handle_ms", … */
  double value;
  bool counter; /* also kept as an ever-growing total */
} gen_interval_value_t;

typedef enum {
  GEN_INTERVAL_NEW = 0,  /* the newest settled bucket, first time */
  GEN_INTERVAL_BACKFILL, /* an older bucket, first time */
  GEN_INTERVAL_REVISION, /* a bucket dispatched before, changed since */
} gen_interval_kind_t;

typedef struct {
  /* One key's values of one bucket [start, end). For a revision, values
   * are the complete new values (not differences). */
  void (*bucket)(void *ud, const gen_key_t *key, int64_t start_ms,
                 int64_t end_ms, gen_interval_kind_t kind,
                 const gen_interval_value_t *values, size_t n);
  /* One key's counter totals as of at_ms (the end of a new bucket). Called
   * for every key with data in a new bucket, and for every key of the
   * committed scopes at the newest bucket of the range; times per key only
   * go up. */
  void (*totals)(void *ud, const gen_key_t *key, int64_t at_ms,
                 const gen_interval_value_t *totals, size_t n);
  void *ud;
} gen_interval_sink_t;

/* How far a scope's progress may run ahead of the clock before it is
 * refused: 5 minutes, more than an NTP step, less than a bucket of the
 * shortest usual granularity. A commit never takes a bucket that is not
 * settled, so progress ahead of the clock was made by a clock that was ahead
 * (a VM with a bad RTC, a resume) or read from a state file not made here;
 * kept, it would hold every request back, silently, until the clock caught
 * up with it (see gen_interval_plan). */
#define GEN_INTERVAL_AHEAD_MS (5 * 60000)

typedef struct {
  int64_t start_ms, end_ms; /* whole buckets, end exclusive */
  /* 0: new buckets with the revisit window; i > 0: the revisit of done
   * buckets at the i-th age of the schedule (revisit_at, the ages the
   * window does not cover, shortest first) */
  unsigned revisit;
} gen_interval_range_t;

typedef struct {
  uint64_t buckets_dispatched; /* (key, bucket) pairs, new and backfilled */
  uint64_t buckets_backfilled; /* of which older than the newest settled */
  uint64_t revisions;          /* (key, bucket) pairs dispatched again */
  /* Of those, found at each age of the schedule beyond RevisitWindow
   * (revision_age_ms, ascending; the rest were found within the window):
   * where a real org's changes land, each counted once, when found. */
  uint64_t revisions_at[GEN_REVISIT_MAX];
  int64_t revision_age_ms[GEN_REVISIT_MAX];
  size_t n_revision_ages;
  uint64_t gap_buckets; /* buckets lost beyond the horizon */
  /* progress refused: ahead of the clock, or absurd in the state file */
  uint64_t progress_refused;
  uint64_t commits;
  int64_t done_until_ms;  /* oldest end done over all scopes; 0 = none */
  int64_t last_commit_ms; /* now_ms of the last commit; 0 = none */
  size_t scopes, keys;
} gen_interval_stats_t;

/* Creates an engine and loads its state file (a missing file is a fresh
 * start; an unreadable one, or one for another granularity, is logged and
 * its progress dropped). One entry of progress that no engine of ours
 * wrote (not whole numbers, before 2020, off the grid, its origin after
 * its end; a revisit watermark the same) is refused alone, logged and
 * counted in progress_refused: that scope resumes at the newest settled
 * bucket (a watermark's age starts afresh), the rest of the file is kept. A
 * "<state_path>.next" from the last run (see gen_interval_save) is not loaded
 * but removed, logged. The records journal "<state_path>.records" is
 * replayed up to the state file's epoch and cut there (a crash's later
 * lines, a torn last line); one without its state file is removed; a state
 * file of an older version with its records inside has them written to a
 * new journal. An absent journal is logged as lost only when the state
 * file's epoch had records ("record_count"). NULL on bad options or out of
 * memory. */
gen_interval_t *gen_interval_create(const gen_interval_options_t *options);
void gen_interval_free(gen_interval_t *gi);

/* Plans the next request for a batch of scopes at time now_ms. Returns 1
 * with *range set when a request is due, 0 when every scope of the batch is
 * up to date, or a negative errno. New buckets with the revisit window come
 * first, then the scheduled revisits due (the oldest age first). Gaps beyond
 * the horizon are logged and counted here, and skipped (with the scheduled
 * revisits of buckets before them). A scope's progress beyond now_ms +
 * GEN_INTERVAL_AHEAD_MS is refused (logged, rate-limited; counted in
 * progress_refused): a scope is put back to its progress at the clock's
 * last step forward (more than GEN_INTERVAL_AHEAD_MS between two plans,
 * the state file keeps the clock; the records after it are kept for a
 * horizon of the clock) and asks again for every bucket from there, those
 * whose time passed while the clock was ahead too (see gen_interval.c,
 * "clock steps"). Without such a mark, a scope whose first bucket is ahead
 * too starts afresh (InitialBackfill), any other is put back to the newest
 * settled bucket, and no further (the records of older buckets went while
 * it was ahead: asking for them again would count them twice). A bucket
 * counted while the clock was ahead is corrected by the difference when it
 * is asked for on time. */
int gen_interval_plan(gen_interval_t *gi, const char *const *scopes, size_t n,
                      int64_t now_ms, gen_interval_range_t *range);

/* Whether the engine can keep key: one to GEN_KEY_STRS strings, each
 * non-empty, none after a NULL, num 0, and a text form (gen_key_text: no
 * tab, no 0x1f, at most GEN_KEY_TEXT_MAX bytes). */
bool gen_interval_key_ok(const gen_key_t *key);

/* Records one key's values for the bucket starting at start_ms, from the
 * answer to the planned range. A later put for the same key and bucket
 * replaces the earlier one. Returns 0 or a negative errno (-EINVAL for a
 * bucket not aligned to the granularity, an unknown scope or a key the
 * engine cannot keep; -ERANGE for a value beyond 2^53, which the state file
 * cannot keep: a reader of answers refuses such a number itself). */
int gen_interval_put(gen_interval_t *gi, const char *scope,
                     const gen_key_t *key, int64_t start_ms,
                     const gen_interval_value_t *values, size_t n);

/* The answer to range for these scopes is complete: dispatches new and
 * changed buckets in time order per key, adds to the totals, marks the
 * range done and writes the state file. Returns 0, or a negative errno when
 * the state could not be saved (what was dispatched stays dispatched). With
 * defer_save the file is written by gen_interval_save() instead. */
int gen_interval_commit(gen_interval_t *gi, const char *const *scopes, size_t n,
                        const gen_interval_range_t *range, int64_t now_ms,
                        const gen_interval_sink_t *sink);

/* Sets defer_save (see gen_interval_options_t) after creation. */
void gen_interval_set_defer_save(gen_interval_t *gi, bool defer);

/* With defer_save, at the end of every read cycle: makes the state taken
 * at the previous call (if any) the state file, once the records journal's
 * lines are on disk (fdatasync), then compacts the journal if its dead
 * entries outnumber its live ones, then takes the current state if a commit
 * happened since, into "<state_path>.next" (a file, not memory: megabytes
 * at 5,000 queues). Returns 0, or a negative errno (logged; the next call
 * tries again). */
int gen_interval_save(gen_interval_t *gi);

/* Forgets what was put since the last commit (the request failed). */
void gen_interval_abort(gen_interval_t *gi);

void gen_interval_get_stats(const gen_interval_t *gi,
                            gen_interval_stats_t *stats);
/* Adds gi's stats (NULL: none) to sum, for one set of self-metrics over
 * several engines: counts add up (revisions_at by age: an age of gi's that
 * sum lacks is added, while there is room), the oldest progress and last
 * commit stand for all (the worst lag and age). */
void gen_interval_stats_add(const gen_interval_t *gi,
                            gen_interval_stats_t *sum);

#endif /* GEN_INTERVAL_H */
