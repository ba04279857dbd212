/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the conversation counters of a queue and media type,
 * from the moments gen_conv finds (offered, answered, abandoned, transferred,
 * state transitions) and the answered waits (gen_waits), and their state
 * file, so that the totals (DERIVE counters) go on across restarts.
 *
 * State file: {"version":1,"bounds":[5,10,…],"queues":{"<queue id>":
 * {"voice":{"m":[moments…],"b":[wait buckets…],"w":wait sum ms}}},
 * "final":true (written at a clean shutdown), with a tail "listed":[every
 * queue id] and "repair":{…} (the tail's: gen_conv_repair.h)}; members
 * other than these are ignored. A file
 * with any value we did not write is refused whole (the counters restart
 * at zero); the wait buckets are restored only under the same WaitBuckets.
 * No locking: the caller holds its own (gen_conv_store_save takes it).
 */
#ifndef GEN_CONV_COUNTS_H
#define GEN_CONV_COUNTS_H 1

#include "gen_buf.h"
#include "gen_conv.h"
#include "gen_dispatch.h"
#include "gen_names.h"
#include "gen_waits.h"

#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  bool seen;
  int64_t moments[GEN_CONV_MOMENT_COUNT];
  gen_waits_t waits; /* answered waits */
} gen_conv_counts_t;

/* Counts a moment (wait_ms >= 0: an answered wait to record); returns the
 * first wait bucket that changed (bounds->n + 1: none). */
size_t gen_conv_counts_record(gen_conv_counts_t *c, gen_conv_moment_t moment,
                              int64_t wait_ms, const gen_waits_bounds_t *bounds,
                              uint64_t *seed);

/* Puts one moment's counters (moment >= 0, with the wait buckets from
 * first_bucket on when it is an answer) or every counter (moment < 0);
 * media is the type instance (or its prefix). */
void gen_conv_counts_put(const gen_conv_counts_t *c, const char *media,
                         int moment, size_t first_bucket,
                         const gen_waits_bounds_t *bounds, gen_put_t put,
                         void *ud);

/* Puts the interval's answered waits (count, sum, and when there were any
 * the p50/p90/p95/p99 by nearest rank), then starts a fresh interval. */
void gen_conv_counts_put_interval(gen_conv_counts_t *c, const char *media,
                                  gen_put_t put, void *ud);

/* A queue's counters by media type, each allocated at its first moment
 * (or restored): a queue sees few of the eight media types, and the
 * counters of all eight were a twelfth of the live heap at 5,000 queues
 * (issue 36). A NULL entry counts nothing. */
typedef struct {
  gen_conv_counts_t *media[GEN_MEDIA_COUNT];
} gen_conv_queue_t;

/* Releases a queue's counters; all its entries are NULL after. */
void gen_conv_queue_free(gen_conv_queue_t *q);

/* An org's state file: what it restores, queue by queue, and whether the
 * counters changed since it was last written. */
typedef struct {
  json_object *restored; /* queue id -> media -> counters, not yet applied */
  bool same_bounds;      /* the buckets in it are ours to restore */
  gen_waits_bounds_t bounds;
  char path[PATH_MAX]; /* "": none loaded, nothing to save */
  bool dirty;          /* set by the caller when it counts */
  bool final; /* the last save of a clean shutdown: nothing sent after it */
  /* More members of the document, printed under the same lock (", ..."
   * first): the gap repair's (gen_conv_repair_tail). NULL: none. */
  int (*tail)(void *ud, gen_buf_t *out);
  void *tail_ud;
  /* counters of the file refused alone at load (a queue's media type) */
  size_t refused;
} gen_conv_store_t;

/* Loads path under bounds; a missing file is a fresh start. What is
 * refused or changed is logged as org's: a file not JSON or of another
 * version whole, a queue's media type with a count not in [0, 2^53] alone
 * (counted in refused; its counters restart at zero, the others go on). */
void gen_conv_store_load(gen_conv_store_t *st, const char *path,
                         const gen_waits_bounds_t *bounds,
                         const gen_org_t *org);

/* True when the file held counters of queue_id not yet restored. */
bool gen_conv_store_pending(const gen_conv_store_t *st, const char *queue_id);

/* Restores queue_id's counters into q (once), allocating the media types
 * saved; q held none. 0, or -ENOMEM (nothing restored, still pending). */
int gen_conv_store_restore(gen_conv_store_t *st, const char *queue_id,
                           gen_conv_queue_t *q);

/* The state file's text, appended to out: the counters each(ud, i,
 * &queue_id) gives for i in [0, n) (NULL: none for that queue), and what
 * was restored for queues not counted since (under the same bounds: others
 * would be read wrongly). 0, -ENOMEM or -E2BIG (out's limit). */
int gen_conv_store_print(const gen_conv_store_t *st, size_t n,
                         const gen_conv_queue_t *(*each)(void *ud, size_t i,
                                                         const char **id),
                         void *ud, gen_buf_t *out);

/* The counters of queue_id (q) for media, allocated at first use, the
 * queue's saved ones restored at its first; NULL when out of memory. */
gen_conv_counts_t *gen_conv_store_counts(gen_conv_store_t *st,
                                         gen_conv_queue_t *q,
                                         const char *queue_id, int media);

/* When dirty, writes the snapshot (taken under lock, written outside it);
 * a failed write is logged through org (rate-limited by rl) and leaves the
 * store dirty, so that the next call tries again. 0 or a negative errno. */
int gen_conv_store_save(gen_conv_store_t *st, pthread_mutex_t *lock, size_t n,
                        const gen_conv_queue_t *(*each)(void *ud, size_t i,
                                                        const char **id),
                        void *ud, const gen_org_t *org, gen_ratelimit_t *rl);

void gen_conv_store_free(gen_conv_store_t *st);

#endif /* GEN_CONV_COUNTS_H */
