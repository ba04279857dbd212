/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: gen_interval's private parts, shared by its three files
 * and no other: the engine (gen_interval.c), its state file
 * (gen_interval_state.c) and its records journal (gen_interval_journal.c).
 * It exists because the persistence reads and writes the engine's struct
 * field by field; it is not installed and nothing else includes it.
 */

#ifndef GEN_INTERVAL_PRIVATE_H
#define GEN_INTERVAL_PRIVATE_H

#include "gen_buf.h"
#include "gen_interval.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_state.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define GI_MAX_NAMES 256
/* 2: a header line, then a line a key; 1: one document, "keys" an
 * object of them (still read). */
#define GI_STATE_VERSION 2
/* The state file of versions before the records journal held the records
 * RevisitAt keeps (400 PT15M buckets a key at 100 h), about 78 bytes a
 * key's bucket with every default metric (bench_revisit): 0.6 GB at 5,000
 * queues and 4 media types, past gen_state's 64 MiB. It is still read (its
 * records go to the journal); a key's records are one base64 string, not
 * objects: the tree json-c makes of it is little more than the text. */
#define GI_STATE_MAX_SIZE (1024LL * 1024 * 1024)
/* 2020-01-01T00:00:00Z: progress older than this was not written by an
 * engine of ours (the plugins date from 2026, InitialBackfill reaches 31
 * days back at most). */
#define GI_OLDEST_MS 1577836800000LL

typedef struct {
  uint16_t name; /* index into gi->names */
  double value;
} gi_num_t;

/* A bucket's record, kept while a revisit may come (RevisitWindow, the
 * last age of RevisitAt: 400 buckets a key at PT15M and 100 h): its hash
 * of every value, to see a change, and its counters, to count only the
 * difference, encoded in its key's data (rec_value_put): 16 bytes and a
 * byte or a few a counter, where a name and a double took 16 bytes a
 * counter and an allocation a record (bench_revisit). */
typedef struct {
  uint64_t hash;
  uint32_t bucket; /* start / granularity */
  uint32_t off;    /* where its counters start in its key's data */
} gi_record_t;

/* A record as it was before the current epoch changed it. */
typedef struct {
  uint32_t bucket;
  uint64_t hash;
  gi_num_t *nums; /* its counters, named */
  size_t n;
} gi_undo_t;

typedef struct {
  char *id;
  int64_t origin;     /* first bucket start taken; 0 = not started */
  int64_t done_until; /* buckets before this are dispatched */
  bool in_batch;
  bool refused; /* its progress in the state file was refused */
  /* per age of the schedule: buckets before it had their revisit then */
  int64_t revisit_w[GEN_REVISIT_MAX];
  /* Its progress when the clock last stepped forward (see "clock steps");
   * 0: none. */
  int64_t mark;
  /* Where its records may be pruned: before keep_d, as of the state file
   * (a restart from it may revisit anything after), keep_h as of the
   * snapshot held, keep_now as of the last commit. */
  int64_t keep_d, keep_h, keep_now;
  size_t *keys; /* its keys, so that a commit touches only its batch */
  size_t n_keys, cap_keys;
} gi_scope_t;

typedef struct {
  gen_key_t *key; /* owned (gen_key_copy): the key map points at it */
  size_t scope;
  /* The records of this epoch's changes as they were before it (see
   * "records journal"): what a compaction writes for the state file's
   * epoch. */
  gi_undo_t *undo;
  size_t n_undo, cap_undo;
  /* The buckets this epoch recorded first (a backfill's hundreds a key):
   * 4 bytes each, ascending (they come in time order). */
  uint32_t *fresh;
  size_t n_fresh, cap_fresh;
  bool jdef; /* defined ("K" line) in the journal as open now */
  gi_num_t *totals;
  size_t n_totals;
  gi_record_t *records; /* sorted by start */
  size_t n_records;
  /* The names of its records' counters, in the order first seen: a
   * record holds a value for each, up to its last not zero. */
  uint16_t *cols;
  size_t n_cols;
  uint8_t *data; /* the records' counters, back to back */
  size_t data_len;
  /* The end of its newest bucket with values; 0: none seen since the
   * start (the first commit counts as one, a horizon's grace). */
  int64_t last_end;
  bool revised; /* during a commit: a revision but no new bucket */
} gi_key_t;

typedef struct {
  size_t key;
  int64_t start;
  size_t seq; /* put order: the last put of a (key, bucket) wins */
  uint64_t hash;
  gi_num_t *values;
  size_t n;
} gi_pending_t;

typedef struct {
  char *name;
  char *json; /* "name": as the state file writes it, escaped once */
  size_t json_len;
  bool counter;
  bool jdef; /* defined ("N" line) in the journal as open now */
} gi_name_t;

struct gen_interval_s {
  gen_interval_options_t o;
  char *state_path;
  gen_revisit_t stages; /* the ages of o.revisit_at beyond the window */

  gi_name_t names[GI_MAX_NAMES];
  size_t n_names;
  gen_map_t name_map; /* -> index; the keys are the items' strings */

  gi_scope_t *scopes;
  size_t n_scopes, cap_scopes;
  gen_map_t scope_map;

  gi_key_t *keys;
  size_t n_keys, cap_keys;
  gen_map_t key_map; /* typed keys (GEN_MAP_KEY) -> index */

  gi_pending_t *pending;
  size_t n_pending, cap_pending;

  gen_ratelimit_t refused; /* lines about progress refused */

  bool dirty; /* committed since the last snapshot */
  /* With defer_save: the state as of the previous save is in the file
   * "<state_path>.next", made the state file at the next one (see
   * gen_interval_save). */
  bool snapshot_held;

  /* The records journal "<state_path>.records" (see "records journal"). */
  char *rec_path;
  gen_state_append_t jf; /* fd -1: none */
  gen_buf_t jbuf;        /* lines not yet written */
  uint64_t epoch;        /* of the changes now: the next snapshot's */
  uint64_t durable;      /* the state file's */
  bool epoch_marked;     /* "E <epoch>" is in the journal (or jbuf) */
  int64_t tail_off;      /* where that line starts */
  uint64_t j_entries;    /* its "R" lines, live and dead */
  uint64_t j_tail;       /* of which after "E <epoch>" */
  uint64_t held;         /* the epoch of the snapshot held */
  uint64_t j_id;         /* the journal's, named by the state file too */
  bool j_read;           /* the state file names its epoch: the journal holds
                            its records (else they were in it, or none) */
  bool j_lazy;           /* no record at load: made with the first */
  /* The records the state file's epoch had ("record_count"), -1: unknown (a
   * file before it): none, and an absent journal lost nothing. */
  int64_t j_records;
  gen_ratelimit_t j_complain;

  /* Clock steps (see "clock steps"): the clock at the last plan (0: none
   * yet), and the last step forward still marked: the clock before it and
   * after it (0: none), and how many scopes hold its mark. */
  int64_t clock, mark_at, mark_since;
  size_t n_marked;

  gen_interval_stats_t stats;
};

/* ---- small helpers ------------------------------------------------------ */

/* The engine (gen_interval.c). */
int64_t gi_floor_to(int64_t t, int64_t g);
int gi_grow(void **items, size_t *cap, size_t need, size_t size);
int gi_name_index(gen_interval_t *gi, const char *name, bool counter);
ssize_t gi_scope_get(gen_interval_t *gi, const char *id, bool create);
int gi_key_json(const gen_key_t *key, gen_buf_t *out);
ssize_t gi_key_get(gen_interval_t *gi, const gen_key_t *key, size_t scope);
double *gi_num_slot(gi_num_t **nums, size_t *n, uint16_t name);
size_t gi_varint_put(uint8_t *out, uint64_t u);
bool gi_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *u);
size_t gi_rec_value_put(uint8_t *out, double v);
bool gi_rec_value_get(const uint8_t **p, const uint8_t *end, double *v);
bool gi_rec_counters(const gi_key_t *k, size_t i, double *out);
ssize_t gi_record_find(const gen_interval_t *gi, const gi_key_t *k,
                       int64_t start);
int gi_record_put(gen_interval_t *gi, gi_key_t *k, int64_t start, uint64_t hash,
                  const gi_num_t *values, size_t n);
void gi_records_prune(gen_interval_t *gi, gi_key_t *k, int64_t before);
void gi_state_forget(gen_interval_t *gi);

/* The state file (gen_interval_state.c). */
int gi_state_save(gen_interval_t *gi, const char *path);
int gi_next_path(const gen_interval_t *gi, char *path, size_t size);
ssize_t gi_key_load(gen_interval_t *gi, const char *key, size_t scope);
void gi_state_load(gen_interval_t *gi);

/* The records journal (gen_interval_journal.c). */
int64_t gi_window_keep(const gen_interval_t *gi, int64_t done);
int64_t gi_scope_keep(const gen_interval_t *gi, const gi_scope_t *s);
void gi_undo_free(gi_key_t *k);
int gi_record_change(gen_interval_t *gi, size_t key, int64_t start,
                     uint64_t hash, const gi_num_t *values, size_t n);
int gi_journal_flush(gen_interval_t *gi);
int gi_journal_sync(gen_interval_t *gi);
uint64_t gi_records_live(const gen_interval_t *gi);
void gi_journal_maybe_compact(gen_interval_t *gi);
void gi_epoch_durable(gen_interval_t *gi, uint64_t epoch, bool held);
void gi_epoch_next(gen_interval_t *gi);
void gi_journal_load(gen_interval_t *gi);
void gi_journal_remove(const gen_interval_t *gi);

#endif
