/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: closed-interval collection with settle delay, revisit,
 * backfill and persistent counters (see gen_interval.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_buf.h"
#include "gen_hash.h"
#include "gen_interval.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_state.h"
#include "gen_time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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

static int64_t floor_to(int64_t t, int64_t g) {
  int64_t r = t % g;
  return r < 0 ? t - r - g : t - r;
}

/* Arrays start at 16 items and double. */
static int grow(void **items, size_t *cap, size_t need, size_t size) {
  return gen_grow(items, cap, need, size, 16);
}

/* The index key maps to, or -1. */
static ssize_t map_find(const gen_map_t *m, const void *key) {
  void *index;
  return gen_map_find(m, key, &index) ? (ssize_t)gen_map_to_index(index) : -1;
}

static int map_add(gen_map_t *m, const void *key, size_t index) {
  return gen_map_put(m, key, gen_map_index(index));
}

static int name_index(gen_interval_t *gi, const char *name, bool counter) {
  ssize_t i = map_find(&gi->name_map, name);
  if (i >= 0) {
    gi->names[i].counter = gi->names[i].counter || counter;
    return (int)i;
  }
  if (gi->n_names == GI_MAX_NAMES)
    return -ENOSPC;
  char *copy = strdup(name);
  gen_buf_t json = GEN_BUF_INIT(SIZE_MAX);
  if (copy == NULL || gen_buf_add_json_string(&json, name) != 0 ||
      gen_buf_add(&json, ":", 1) != 0 ||
      map_add(&gi->name_map, copy, gi->n_names) != 0) {
    free(copy);
    gen_buf_free(&json);
    return -ENOMEM;
  }
  size_t json_len = json.len;
  gi->names[gi->n_names] = (gi_name_t){.name = copy,
                                       .json = gen_buf_steal(&json),
                                       .json_len = json_len,
                                       .counter = counter};
  return (int)gi->n_names++;
}

static ssize_t scope_get(gen_interval_t *gi, const char *id, bool create) {
  ssize_t i = map_find(&gi->scope_map, id);
  if (i >= 0 || !create)
    return i;
  if (grow((void **)&gi->scopes, &gi->cap_scopes, gi->n_scopes + 1,
           sizeof(*gi->scopes)) != 0)
    return -ENOMEM;
  char *copy = strdup(id);
  if (copy == NULL)
    return -ENOMEM;
  if (map_add(&gi->scope_map, copy, gi->n_scopes) != 0) {
    free(copy);
    return -ENOMEM;
  }
  gi->scopes[gi->n_scopes] = (gi_scope_t){.id = copy};
  for (size_t a = 0; a < GEN_REVISIT_MAX; a++)
    gi->scopes[gi->n_scopes].revisit_w[a] = GEN_REVISIT_UNSET;
  return (ssize_t)gi->n_scopes++;
}

bool gen_interval_key_ok(const gen_key_t *key) {
  char text[GEN_KEY_TEXT_MAX];
  if (key->num != 0 || key->str[0] == NULL ||
      gen_key_text(key, text, sizeof(text)) != 0)
    return false;
  for (int i = 0; i < GEN_KEY_STRS; i++) {
    const char *p = key->str[i];
    if (p == NULL ? i + 1 < GEN_KEY_STRS && key->str[i + 1] != NULL
                  : p[0] == '\0')
      return false;
  }
  return true;
}

/* The state file's form of key (gen_key_text) as a JSON string. */
static int key_json(const gen_key_t *key, gen_buf_t *out) {
  char text[GEN_KEY_TEXT_MAX];
  int status = gen_key_text(key, text, sizeof(text));
  return status == 0 ? gen_buf_add_json_string(out, text) : status;
}

static ssize_t key_get(gen_interval_t *gi, const gen_key_t *key, size_t scope) {
  ssize_t i = map_find(&gi->key_map, key);
  if (i >= 0)
    return i;
  gi_scope_t *s = &gi->scopes[scope];
  if (grow((void **)&gi->keys, &gi->cap_keys, gi->n_keys + 1,
           sizeof(*gi->keys)) != 0 ||
      grow((void **)&s->keys, &s->cap_keys, s->n_keys + 1, sizeof(*s->keys)) !=
          0)
    return -ENOMEM;
  gen_key_t *copy = gen_key_copy(key);
  if (copy == NULL || map_add(&gi->key_map, copy, gi->n_keys) != 0) {
    free(copy);
    return -ENOMEM;
  }
  gi->keys[gi->n_keys] = (gi_key_t){.key = copy, .scope = scope};
  s->keys[s->n_keys++] = gi->n_keys;
  return (ssize_t)gi->n_keys++;
}

static double *num_slot(gi_num_t **nums, size_t *n, uint16_t name) {
  for (size_t i = 0; i < *n; i++)
    if ((*nums)[i].name == name)
      return &(*nums)[i].value;
  gi_num_t *p = realloc(*nums, (*n + 1) * sizeof(**nums));
  if (p == NULL)
    return NULL;
  *nums = p;
  p[*n] = (gi_num_t){.name = name, .value = 0};
  return &p[(*n)++].value;
}

/* A counter in a record: a whole number (counts, sums of milliseconds: all
 * but a ratio's parts) as a varint of twice its zigzag, anything else as 1
 * and its 8 bytes. At most 10 bytes. */
static size_t varint_put(uint8_t *out, uint64_t u) {
  size_t n = 0;
  for (; u >= 0x80; u >>= 7)
    out[n++] = (uint8_t)(u | 0x80);
  out[n++] = (uint8_t)u;
  return n;
}

static bool varint_get(const uint8_t **p, const uint8_t *end, uint64_t *u) {
  *u = 0;
  for (int shift = 0; *p < end && shift < 64; shift += 7) {
    uint8_t b = *(*p)++;
    *u |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

static size_t rec_value_put(uint8_t *out, double v) {
  if (v == floor(v) && fabs(v) <= (double)GEN_JSON_EXACT_MAX) {
    int64_t i = (int64_t)v;
    uint64_t zz = ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
    return varint_put(out, zz << 1);
  }
  out[0] = 1;
  memcpy(out + 1, &v, sizeof(v));
  return 1 + sizeof(v);
}

/* false: not a value rec_value_put wrote (a state file not ours). */
static bool rec_value_get(const uint8_t **p, const uint8_t *end, double *v) {
  uint64_t u;
  if (!varint_get(p, end, &u))
    return false;
  if (u == 1) {
    if ((size_t)(end - *p) < sizeof(*v))
      return false;
    memcpy(v, *p, sizeof(*v));
    *p += sizeof(*v);
    return isfinite(*v) && fabs(*v) <= (double)GEN_JSON_EXACT_MAX;
  }
  if (u & 1)
    return false;
  uint64_t zz = u >> 1;
  int64_t i = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
  *v = (double)i;
  return fabs(*v) <= (double)GEN_JSON_EXACT_MAX;
}

static size_t rec_len(const gi_key_t *k, size_t i) {
  return (i + 1 < k->n_records ? k->records[i + 1].off : k->data_len) -
         k->records[i].off;
}

/* Record i's counters into out, one a column of k (zero when not kept). */
static bool rec_counters(const gi_key_t *k, size_t i, double *out) {
  const uint8_t *p = k->data + k->records[i].off, *end = p + rec_len(k, i);
  for (size_t c = 0; c < k->n_cols; c++)
    out[c] = 0;
  for (size_t c = 0; p < end; c++)
    if (c == k->n_cols || !rec_value_get(&p, end, &out[c]))
      return false;
  return true;
}

/* The record of the bucket starting at start, or -1. */
static ssize_t record_find(const gen_interval_t *gi, const gi_key_t *k,
                           int64_t start) {
  uint32_t b = (uint32_t)(start / gi->o.granularity_ms);
  size_t lo = 0, hi = k->n_records;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (k->records[mid].bucket < b)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < k->n_records && k->records[lo].bucket == b ? (ssize_t)lo : -1;
}

static ssize_t col_find(const gi_key_t *k, uint16_t name) {
  for (size_t c = 0; c < k->n_cols; c++)
    if (k->cols[c] == name)
      return (ssize_t)c;
  return -1;
}

/* Stores the record of the bucket at start (replacing one there): hash
 * and the counters among values (gauges are left out: a change of one is
 * seen by the hash, and nothing is counted of it). */
static int record_put(gen_interval_t *gi, gi_key_t *k, int64_t start,
                      uint64_t hash, const gi_num_t *values, size_t n) {
  double row[GI_MAX_NAMES];
  size_t width = 0;
  for (size_t c = 0; c < k->n_cols; c++)
    row[c] = 0;
  for (size_t i = 0; i < n; i++) {
    if (!gi->names[values[i].name].counter)
      continue;
    ssize_t c = col_find(k, values[i].name);
    if (c < 0) {
      uint16_t *cols = realloc(k->cols, (k->n_cols + 1) * sizeof(*cols));
      if (cols == NULL)
        return -ENOMEM;
      k->cols = cols;
      c = (ssize_t)k->n_cols++;
    }
    k->cols[c] = values[i].name;
    row[c] = values[i].value;
    if (values[i].value != 0 && (size_t)c + 1 > width)
      width = (size_t)c + 1; /* trailing zeros are left out */
  }
  uint8_t enc[GI_MAX_NAMES * 10];
  size_t len = 0;
  for (size_t c = 0; c < width; c++)
    len += rec_value_put(enc + len, row[c]);

  ssize_t at = record_find(gi, k, start);
  size_t i = at >= 0 ? (size_t)at : 0, old_len = 0;
  if (at >= 0) {
    old_len = rec_len(k, i);
  } else {
    uint32_t b = (uint32_t)(start / gi->o.granularity_ms);
    /* the newest, usually (a new bucket, a journal read back) */
    i = k->n_records;
    while (i > 0 && k->records[i - 1].bucket > b)
      i--;
    gi_record_t *r = realloc(k->records, (k->n_records + 1) * sizeof(*r));
    if (r == NULL)
      return -ENOMEM;
    k->records = r;
    memmove(&r[i + 1], &r[i], (k->n_records - i) * sizeof(*r));
    r[i] = (gi_record_t){.bucket = b,
                         .off = i + 1 <= k->n_records ? r[i + 1].off
                                                      : (uint32_t)k->data_len};
    k->n_records++;
  }
  if (len != old_len) {
    size_t off = k->records[i].off, new_len = k->data_len - old_len + len;
    if (len > old_len) {
      uint8_t *d = realloc(k->data, new_len);
      if (d == NULL)
        return -ENOMEM; /* an empty record, left as it is, counts 0 */
      k->data = d;
    }
    memmove(k->data + off + len, k->data + off + old_len,
            k->data_len - off - old_len);
    k->data_len = new_len;
    for (size_t j = i + 1; j < k->n_records; j++)
      k->records[j].off = (uint32_t)(k->records[j].off + len - old_len);
  }
  if (len > 0)
    memcpy(k->data + k->records[i].off, enc, len);
  k->records[i].hash = hash;
  return 0;
}

static void records_prune(gen_interval_t *gi, gi_key_t *k, int64_t before) {
  size_t drop = 0;
  while (drop < k->n_records &&
         (int64_t)k->records[drop].bucket * gi->o.granularity_ms < before)
    drop++;
  if (drop == 0)
    return;
  size_t off = drop < k->n_records ? k->records[drop].off : k->data_len;
  k->n_records -= drop;
  k->data_len -= off;
  if (k->n_records > 0) /* memmove of NULL is undefined, even for 0 bytes */
    memmove(k->records, k->records + drop, k->n_records * sizeof(*k->records));
  if (k->data_len > 0)
    memmove(k->data, k->data + off, k->data_len);
  for (size_t j = 0; j < k->n_records; j++)
    k->records[j].off -= (uint32_t)off;
  if (k->n_records == 0) { /* its names start afresh with its next record */
    free(k->records);
    free(k->data);
    free(k->cols);
    k->records = NULL;
    k->data = NULL;
    k->cols = NULL;
    k->n_cols = 0;
  }
}

/* ---- state file --------------------------------------------------------- */

/* {"name":value,...}. Counts and milliseconds are whole numbers: written as
 * integers, which is exact and far cheaper than printing a double. */
static int nums_write(gen_buf_t *buf, const gen_interval_t *gi,
                      const gi_num_t *nums, size_t n) {
  int status = gen_buf_add(buf, "{", 1);
  for (size_t i = 0; status == 0 && i < n; i++) {
    double v = nums[i].value;
    bool whole = v == floor(v) && fabs(v) < (double)GEN_JSON_EXACT_MAX;
    const gi_name_t *name = &gi->names[nums[i].name];
    if (i > 0)
      status = gen_buf_add(buf, ",", 1);
    if (status == 0)
      status = gen_buf_add(buf, name->json, name->json_len);
    if (status == 0)
      status = whole ? gen_buf_add_int64(buf, (int64_t)v)
                     : gen_buf_printf(buf, "%.17g", v);
  }
  return status == 0 ? gen_buf_add(buf, "}", 1) : status;
}

static void entry_refused(gen_interval_t *gi, const char *scope,
                          const char *entry, json_object *value,
                          const char *why, const char *then);

/* Counts and sums of milliseconds, written as integers: anything beyond
 * 2^53 (1e300, saturated integer text: the sums stop there) was not
 * written by us, nor a total below zero (a counter restored as -5 would be
 * dispatched; a bucket's value may be, as the API gave it). NULL, or why
 * not. */
static const char *num_absurd(json_object *value, bool total) {
  if (!json_object_is_type(value, json_type_double) &&
      !json_object_is_type(value, json_type_int))
    return "not a number";
  if (!(fabs(json_object_get_double(value)) <= (double)GEN_JSON_EXACT_MAX) ||
      (json_object_is_type(value, json_type_int) &&
       (json_object_get_int64(value) == INT64_MAX ||
        json_object_get_int64(value) == INT64_MIN)))
    return "beyond 2^53";
  if (total && json_object_get_double(value) < 0)
    return "below zero";
  return NULL;
}

/* A key's totals (key: its text) or a bucket's counters (key NULL). An
 * absurd total is refused alone, logged and counted (progress_refused):
 * that counter restarts at zero, the key's others and the file's other
 * keys go on; an absurd counter of a bucket refuses the file (-ERANGE). */
static int nums_load(gen_interval_t *gi, json_object *o, gi_num_t **nums,
                     size_t *n, const char *key) {
  if (o == NULL || !json_object_is_type(o, json_type_object))
    return 0;
  json_object_object_foreach(o, name, value) {
    const char *why = num_absurd(value, key != NULL);
    if (why != NULL && key == NULL)
      return -ERANGE;
    if (why != NULL) {
      char entry[128];
      snprintf(entry, sizeof(entry), "total \"%.80s\"", name);
      entry_refused(gi, key, entry, value, why,
                    "that counter restarts at zero");
      continue;
    }
    int idx = name_index(gi, name, true);
    if (idx < 0)
      return idx;
    double *slot = num_slot(nums, n, (uint16_t)idx);
    if (slot == NULL)
      return -ENOMEM;
    *slot = json_object_get_double(value);
  }
  return 0;
}

/* {"key":"…","scope":…,"totals":{…}}, a line of the state file. The
 * records of its buckets are in the journal (see "records journal");
 * versions before it wrote them in the key's entry,
 * ,"cols":[names],"records":"base64" (and before that
 * "buckets":[{"start":…,"hash":…,"counters":{…}},…]), which key_load
 * still reads. */
static int key_write(gen_buf_t *buf, const gen_interval_t *gi,
                     const gi_key_t *k) {
  int status = gen_buf_add_str(buf, "{\"key\":");
  /* Joined at each save, not kept: a megabyte at 5,000 queues. */
  if (status == 0)
    status = key_json(k->key, buf);
  if (status == 0)
    status = gen_buf_add_str(buf, ",\"scope\":");
  if (status == 0)
    status = gen_buf_add_json_string(buf, gi->scopes[k->scope].id);
  if (status == 0)
    status = gen_buf_add_str(buf, ",\"totals\":");
  if (status == 0)
    status = nums_write(buf, gi, k->totals, k->n_totals);
  return status == 0 ? gen_buf_add(buf, "}\n", 2) : status;
}

/* Reads a key's records as versions before the journal wrote them in the
 * state file: per record the varint of its bucket less the one before (the
 * first: less 0), its hash's 8 bytes (least significant first), the varint
 * of its counters' length and those, as kept, the whole in base64. -EINVAL
 * for anything else (the file is not ours). */
static int records_load(gen_interval_t *gi, gi_key_t *k, json_object *cols,
                        const char *text) {
  size_t n_cols = json_object_array_length(cols), len = strlen(text);
  if (n_cols > GI_MAX_NAMES)
    return -EINVAL;
  k->cols = calloc(n_cols ? n_cols : 1, sizeof(*k->cols));
  k->data = malloc(len / 4 * 3 + 1);
  if (k->cols == NULL || k->data == NULL)
    return -ENOMEM;
  for (size_t c = 0; c < n_cols; c++) {
    json_object *name = json_object_array_get_idx(cols, c);
    if (!json_object_is_type(name, json_type_string))
      return -EINVAL;
    int idx = name_index(gi, json_object_get_string(name), true);
    if (idx < 0)
      return idx;
    k->cols[k->n_cols++] = (uint16_t)idx;
  }
  uint8_t *bytes = k->data; /* decoded in place, then moved down */
  ssize_t n_bytes = gen_base64_decode(text, len, bytes);
  if (n_bytes < 0)
    return -EINVAL;
  const uint8_t *p = bytes, *end = bytes + n_bytes;
  uint64_t bucket = 0;
  while (p < end) {
    uint64_t step, n;
    if (!varint_get(&p, end, &step) || (k->n_records > 0 && step == 0) ||
        step > UINT32_MAX - bucket || end - p < 8)
      return -EINVAL;
    bucket += step;
    uint64_t hash = 0;
    for (int i = 0; i < 8; i++)
      hash |= (uint64_t)*p++ << (8 * i);
    if (!varint_get(&p, end, &n) || n > (uint64_t)(end - p))
      return -EINVAL;
    gi_record_t *r = realloc(k->records, (k->n_records + 1) * sizeof(*r));
    if (r == NULL)
      return -ENOMEM;
    k->records = r;
    r[k->n_records++] = (gi_record_t){
        .hash = hash, .bucket = (uint32_t)bucket, .off = (uint32_t)k->data_len};
    if (n > 0)
      memmove(k->data + k->data_len, p, n);
    k->data_len += n;
    p += n;
    double row[GI_MAX_NAMES];
    if (!rec_counters(k, k->n_records - 1, row))
      return -ERANGE;
  }
  return 0;
}

/* A started scope's name as a member of an object: "id" (after a comma
 * but for the first). */
static int scope_name_print(gen_buf_t *buf, const gi_scope_t *s, bool *first) {
  int status = *first ? 0 : gen_buf_add(buf, ",", 1);
  *first = false;
  return status == 0 ? gen_buf_add_json_string(buf, s->id) : status;
}

/* ,"revisits":{"<scope>":{"<age ms>":<watermark>,…},…}: the schedule's
 * progress, apart from "scopes" so that a file stays readable both ways
 * between versions with and without it. */
static int revisits_print(const gen_interval_t *gi, gen_buf_t *buf) {
  int status = gen_buf_add_str(buf, ",\"revisits\":{");
  bool first = true;
  for (size_t i = 0; status == 0 && i < gi->n_scopes; i++) {
    const gi_scope_t *s = &gi->scopes[i];
    if (s->origin == 0)
      continue;
    status = scope_name_print(buf, s, &first);
    if (status == 0)
      status = gen_buf_add(buf, ":{", 2);
    bool any = false;
    for (size_t a = 0; status == 0 && a < gi->stages.n; a++) {
      if (s->revisit_w[a] == GEN_REVISIT_UNSET)
        continue;
      status = gen_buf_printf(buf, "%s\"%" PRId64 "\":%" PRId64, any ? "," : "",
                              gi->stages.age_ms[a], s->revisit_w[a]);
      any = true;
    }
    if (status == 0)
      status = gen_buf_add(buf, "}", 1);
  }
  return status == 0 ? gen_buf_add(buf, "}", 1) : status;
}

/* ,"marks":{"<scope>":<progress>,…}: the scopes' marks (see "clock
 * steps"), apart from "scopes" as "revisits" is. */
static int marks_print(const gen_interval_t *gi, gen_buf_t *buf) {
  int status = gen_buf_add_str(buf, ",\"marks\":{");
  bool first = true;
  for (size_t i = 0; status == 0 && i < gi->n_scopes; i++) {
    const gi_scope_t *s = &gi->scopes[i];
    if (s->origin == 0 || s->mark == 0)
      continue;
    status = scope_name_print(buf, s, &first);
    if (status == 0)
      status = gen_buf_printf(buf, ":%" PRId64, s->mark);
  }
  return status == 0 ? gen_buf_add(buf, "}", 1) : status;
}

/* Why progress at mark (ms) cannot be an engine's of this granularity, or
 * NULL: the one rule for every entry of progress in the state file. */
static const char *mark_absurd(const gen_interval_t *gi, int64_t mark,
                               char *why, size_t size) {
  if (mark < GI_OLDEST_MS)
    return "before 2020, older than any collectd-genesys";
  if (mark % gi->o.granularity_ms != 0) {
    snprintf(why, size, "not on the %" PRId64 " s grid",
             gi->o.granularity_ms / 1000);
    return why;
  }
  return NULL;
}

/* An entry of the state file refused: logged naming it and why, counted;
 * the rest of the file is kept. */
static void entry_refused(gen_interval_t *gi, const char *scope,
                          const char *entry, json_object *value,
                          const char *why, const char *then) {
  gi->stats.progress_refused++;
  gen_log_org(
      gi->o.who, &gi->refused, LOG_WARNING,
      "state file %s: %s: %s %s refused (%s); %s", gi->state_path, scope, entry,
      value ? json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN)
            : "",
      why, then);
}

/* Reads "revisits" (see revisits_print) for the ages still in the
 * schedule; the others start afresh at their first plan, and so does an
 * age whose watermark is refused. */
static int revisits_load(gen_interval_t *gi, json_object *revisits) {
  json_object_object_foreach(revisits, id, ages) {
    ssize_t s = scope_get(gi, id, false);
    if (s < 0 || gi->scopes[s].origin == 0)
      continue; /* a scope "scopes" lacks: nothing to revisit */
    if (!json_object_is_type(ages, json_type_object)) {
      entry_refused(gi, id, "revisits", ages, "not an object",
                    "its revisits start afresh");
      continue;
    }
    json_object_object_foreach(ages, age, w) {
      int64_t age_ms, mark;
      char *end, buf[64];
      const char *why = NULL;
      age_ms = strtoll(age, &end, 10);
      if (*end != '\0' || !gen_json_int64_of(w, &mark))
        why = "not an age and a whole number";
      else
        why = mark_absurd(gi, mark, buf, sizeof(buf));
      if (why != NULL) {
        char entry[96];
        snprintf(entry, sizeof(entry), "revisit watermark of age \"%.32s\"",
                 age);
        entry_refused(gi, id, entry, w, why, "that age starts afresh");
        continue;
      }
      for (size_t a = 0; a < gi->stages.n; a++)
        if (gi->stages.age_ms[a] == age_ms)
          gi->scopes[s].revisit_w[a] = mark;
    }
  }
  return 0;
}

static uint64_t records_live(const gen_interval_t *gi);

/* The state file: a header line, then a line a key (read back a line at a
 * time by gen_state_load_each). Printed, not built: no json-c object per
 * member, whose allocations made the save a fifth of a cycle at 5,000
 * queues and every later malloc dearer. stream (NULL: none) is flushed
 * after each key: the keys' text is megabytes at 5,000 queues, never held
 * whole. */
static int state_print(gen_interval_t *gi, gen_buf_t *buf,
                       gen_state_stream_t *stream) {
  buf->len = 0;
  int status =
      gen_buf_printf(buf,
                     "{\"version\":%d,\"granularity_ms\":%" PRId64
                     ",\"journal\":%" PRIu64 ",\"journal_id\":\"%016" PRIx64
                     "\",\"record_count\":%" PRIu64 ",\"clock\":%" PRId64,
                     GI_STATE_VERSION, gi->o.granularity_ms, gi->epoch,
                     gi->j_id, records_live(gi), gi->clock);
  if (status == 0 && gi->mark_at != 0)
    status = gen_buf_printf(buf, ",\"mark\":[%" PRId64 ",%" PRId64 "]",
                            gi->mark_at, gi->mark_since);
  if (status == 0)
    status = gen_buf_add_str(buf, ",\"scopes\":{");
  bool first = true;
  for (size_t i = 0; status == 0 && i < gi->n_scopes; i++) {
    const gi_scope_t *s = &gi->scopes[i];
    if (s->origin == 0)
      continue;
    status = scope_name_print(buf, s, &first);
    if (status == 0)
      status = gen_buf_printf(buf, ":[%" PRId64 ",%" PRId64 "]", s->origin,
                              s->done_until);
  }
  if (status == 0)
    status = gen_buf_add(buf, "}", 1);
  if (status == 0 && gi->stages.n > 0)
    status = revisits_print(gi, buf);
  if (status == 0 && gi->mark_at != 0)
    status = marks_print(gi, buf);
  if (status == 0)
    status = gen_buf_add(buf, "}\n", 2);
  for (size_t i = 0; status == 0 && i < gi->n_keys; i++) {
    status = key_write(buf, gi, &gi->keys[i]);
    if (status == 0 && stream != NULL)
      status = gen_state_stream_flush(stream);
  }
  return status;
}

/* Writes the state to path (atomically, as it is printed). */
static int state_save(gen_interval_t *gi, const char *path) {
  gen_state_stream_t s;
  int status = gen_state_stream_open(&s, path);
  if (status == 0)
    status = state_print(gi, &s.buf, &s);
  return gen_state_stream_close(&s, status == 0);
}

static int next_path(const gen_interval_t *gi, char *path, size_t size) {
  return snprintf(path, size, "%s.next", gi->state_path) >= (int)size
             ? -ENAMETOOLONG
             : 0;
}

/* The key of the state file's (and the journal's) text, in scope. */
static ssize_t key_load(gen_interval_t *gi, const char *key, size_t scope) {
  char *text = strdup(key);
  if (text == NULL)
    return -ENOMEM;
  gen_key_t typed;
  ssize_t k =
      gen_key_parse(text, &typed) ? key_get(gi, &typed, scope) : -EINVAL;
  free(text);
  return k;
}

/* A key's entry: its scope, its totals and, as versions before the
 * journal wrote them, its records. */
static int key_entry_load(gen_interval_t *gi, const char *key, json_object *o,
                          bool same_granularity) {
  const char *scope_id = gen_json_get_string(o, "scope");
  if (scope_id == NULL)
    return -EINVAL;
  ssize_t s = scope_get(gi, scope_id, true);
  if (s < 0)
    return (int)s;
  ssize_t k = key_load(gi, key, (size_t)s);
  if (k < 0)
    return (int)k;
  gi_key_t *kk = &gi->keys[k];
  int status = nums_load(gi, gen_json_get_object(o, "totals"), &kk->totals,
                         &kk->n_totals, key);
  if (status != 0)
    return status;
  json_object *cols = gen_json_get_array(o, "cols");
  const char *records = gen_json_get_string(o, "records");
  if (same_granularity && cols != NULL && records != NULL) {
    return records_load(gi, kk, cols, records);
  }
  /* The form before the compact record: migrated. */
  json_object *buckets = gen_json_get_array(o, "buckets");
  size_t n =
      (same_granularity && buckets) ? json_object_array_length(buckets) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *b = json_object_array_get_idx(buckets, i);
    int64_t start;
    uint64_t hash; /* 16 hex digits as written, else not our file */
    if (!gen_json_get_int64(b, "start", &start) ||
        !gen_hex64_parse(gen_json_get_string(b, "hash"), &hash, NULL))
      return -EINVAL;
    char why[64];
    if (mark_absurd(gi, start, why, sizeof(why)) != NULL ||
        start / gi->o.granularity_ms > UINT32_MAX)
      continue; /* no put can ask for it: nothing to keep */
    gi_num_t *counters = NULL;
    size_t n_counters = 0;
    status = nums_load(gi, gen_json_get_object(b, "counters"), &counters,
                       &n_counters, NULL);
    if (status == 0)
      status = record_put(gi, kk, start, hash, counters, n_counters);
    free(counters);
    if (status != 0)
      return status;
  }
  return 0;
}

/* The header's "clock" and "mark" (see "clock steps"); anything not two
 * times since 2020 is left out (a step is then not marked). */
static void marks_load_clock(gen_interval_t *gi, json_object *doc) {
  int64_t clock, at, since;
  json_object *mark = gen_json_get_array(doc, "mark");
  if (gen_json_get_int64(doc, "clock", &clock) && clock >= GI_OLDEST_MS)
    gi->clock = clock;
  if (mark != NULL && json_object_array_length(mark) == 2 &&
      gen_json_int64_of(json_object_array_get_idx(mark, 0), &at) &&
      gen_json_int64_of(json_object_array_get_idx(mark, 1), &since) &&
      at >= GI_OLDEST_MS && since > at) {
    gi->mark_at = at;
    gi->mark_since = since;
  }
}

/* Reads "marks" (see marks_print) for the started scopes; a mark not ours
 * is refused alone (the scope is put back as without one). */
static void marks_load(gen_interval_t *gi, json_object *marks) {
  json_object_object_foreach(marks, id, v) {
    ssize_t s = scope_get(gi, id, false);
    int64_t mark;
    char buf[64];
    const char *why = NULL;
    if (s < 0 || gi->scopes[s].origin == 0)
      continue;
    if (!gen_json_int64_of(v, &mark))
      why = "not a whole number";
    else
      why = mark_absurd(gi, mark, buf, sizeof(buf));
    if (why != NULL) {
      entry_refused(gi, id, "mark", v, why, "it is dropped");
      continue;
    }
    gi->scopes[s].mark = mark;
    gi->n_marked++;
  }
  if (gi->n_marked == 0)
    gi->mark_at = gi->mark_since = 0;
}

/* A state file being read: its header (in version 1 the whole file), then
 * its keys' lines. */
typedef struct {
  gen_interval_t *gi;
  int64_t version; /* 0 before the header */
  bool same_granularity;
} gi_load_t;

static int header_load(gi_load_t *l, json_object *doc) {
  gen_interval_t *gi = l->gi;
  int64_t granularity = 0;
  if (!gen_json_get_int64(doc, "version", &l->version) ||
      (l->version != 1 && l->version != GI_STATE_VERSION))
    return -EINVAL;
  bool same_granularity = l->same_granularity =
      gen_json_get_int64(doc, "granularity_ms", &granularity) &&
      granularity == gi->o.granularity_ms;
  int64_t epoch;
  if (gen_json_get_int64(doc, "journal", &epoch)) {
    if (epoch < 0 || !gen_hex64_parse(gen_json_get_string(doc, "journal_id"),
                                      &gi->j_id, NULL))
      return -ERANGE;
    gi->durable = (uint64_t)epoch;
    gi->j_read = same_granularity;
  }
  int64_t count;
  if (gen_json_get_int64(doc, "record_count", &count) && count >= 0)
    gi->j_records = count;
  marks_load_clock(gi, doc);
  json_object *scopes = gen_json_get_object(doc, "scopes");
  if (same_granularity && scopes != NULL) {
    json_object_object_foreach(scopes, id, a) {
      ssize_t s = scope_get(gi, id, true);
      if (s < 0)
        return (int)s;
      int64_t origin, done;
      char buf[64];
      const char *why = NULL;
      if (!json_object_is_type(a, json_type_array) ||
          json_object_array_length(a) != 2 ||
          !gen_json_int64_of(json_object_array_get_idx(a, 0), &origin) ||
          !gen_json_int64_of(json_object_array_get_idx(a, 1), &done))
        why = "not two whole numbers";
      else if ((why = mark_absurd(gi, origin, buf, sizeof(buf))) == NULL &&
               (why = mark_absurd(gi, done, buf, sizeof(buf))) == NULL &&
               origin > done)
        why = "the origin after the progress";
      if (why != NULL) {
        /* What it counted is unknown: a backfill could count it twice. */
        entry_refused(gi, id, "progress", a, why,
                      "it resumes at the newest settled bucket");
        gi->scopes[s].refused = true;
        continue;
      }
      gi->scopes[s].origin = origin;
      gi->scopes[s].done_until = done;
    }
  } else if (!same_granularity) {
    gen_log_org(gi->o.who, NULL, LOG_WARNING,
                "state file %s was written for another granularity; "
                "counters are kept, progress starts afresh",
                gi->state_path);
  }
  json_object *revisits = gen_json_get_object(doc, "revisits");
  if (same_granularity && revisits != NULL) {
    int status = revisits_load(gi, revisits);
    if (status != 0)
      return status;
  }
  json_object *marks = gen_json_get_object(doc, "marks");
  if (same_granularity && gi->mark_at != 0 && marks != NULL)
    marks_load(gi, marks);
  json_object *keys = gen_json_get_object(doc, "keys");
  if (l->version != 1 || keys == NULL)
    return 0;
  json_object_object_foreach(keys, key, o) {
    int status = key_entry_load(gi, key, o, same_granularity);
    if (status != 0)
      return status;
  }
  return 0;
}

static int state_entry(void *ud, json_object *doc) {
  gi_load_t *l = ud;
  if (l->version == 0)
    return header_load(l, doc);
  const char *key = gen_json_get_string(doc, "key");
  if (l->version != GI_STATE_VERSION || key == NULL)
    return -EINVAL;
  return key_entry_load(l->gi, key, doc, l->same_granularity);
}

static void state_forget(gen_interval_t *gi);

/* ---- records journal ---------------------------------------------------- */

/* The records (hash and counters of each recent bucket, kept for its
 * revisits: 1.6 M at RevisitAt "24h 100h" and 5,000 queues x 4 media) are
 * not in the state file, which is rewritten whole every read, but in the
 * journal "<state_path>.records", appended as they change and rewritten
 * whole (compacted) only when its dead entries outnumber its live ones (or
 * a quarter of them are dead past GI_JOURNAL_MAX). Lines of text, each
 * whole only with its '\n':
 *
 *   genesys-records 1 <granularity ms> <id: the state file names it>
 *   E <epoch>      the entries after it are of that epoch
 *   N <id> "name"  a counter's name
 *   K <id> ["scope","the key's text (gen_key_text)"]
 *   R <id> <base64>
 *
 * An R line is a record of key id: the varint of its bucket (start /
 * granularity), its hash's 8 bytes (least significant first), per counter
 * not 0 the varint of its name's id and its value (rec_value_put); a later
 * R of the same key and bucket replaces it. A record goes when the state's
 * progress no longer needs it (scope_keep): derived again at load, so a
 * prune costs no line.
 *
 * Why a SIGKILL at any point loses nothing and counts nothing twice: the
 * changes between two snapshots of the state are an epoch; the state file
 * names the epoch it holds ("journal"), and the journal marks each epoch's
 * first entry (epochs only go up along the file). A load replays the
 * entries up to the state file's epoch, the later ones win, and cuts the
 * journal before the first entry of a later epoch (and before a torn or
 * unreadable last line): the records are then exactly those of the state
 * file, whose totals they match. A bucket whose record was cut is asked for
 * again as the state file says (new, or a revisit not yet done) and counted
 * against the record the state had, as the first time. The journal's lines
 * are written at each commit (a SIGKILL keeps what write() took) and
 * fdatasync'ed before the state file that names their epoch replaces the
 * last (power loss), once a read: the state never holds an epoch whose
 * records are not on disk. A compaction writes the records as of the state
 * file, not as of memory: the records this epoch changed are written as
 * they were before it (undo), then the epoch's own lines as they are in the
 * file; records are pruned only as of the state file (keep_d). */

#define GI_JOURNAL_MAGIC "genesys-records 1"
/* A journal past this is compacted once a quarter of its entries are dead
 * (not a half): its disk bound. Not at every save: live records alone may
 * pass it (20,000 keys). */
#define GI_JOURNAL_MAX (1024LL * 1024 * 1024)
/* Fewer entries than this are not worth a rewrite. */
#define GI_JOURNAL_MIN 4096
#define GI_JOURNAL_LINE_MAX 65536

/* The oldest record the revisit window of progress done needs. */
static int64_t window_keep(const gen_interval_t *gi, int64_t done) {
  int64_t g = gi->o.granularity_ms;
  return floor_to(done - gi->o.revisit_ms, g) - g;
}

/* Where the records of s may go: none that a revisit may still ask for,
 * within the window or before a scheduled one, nor any that a clock put
 * back may ask for again (its mark's window and after, see "clock
 * steps"). */
static int64_t scope_keep(const gen_interval_t *gi, const gi_scope_t *s) {
  int64_t keep = window_keep(gi, s->done_until);
  if (s->mark != 0 && window_keep(gi, s->mark) < keep)
    keep = window_keep(gi, s->mark);
  for (size_t a = 0; a < gi->stages.n; a++)
    if (s->revisit_w[a] < keep)
      keep = s->revisit_w[a];
  return keep;
}

/* Record i of k as named counters (those not 0): *n of them in out. */
static bool rec_nums(const gi_key_t *k, size_t i, gi_num_t *out, size_t *n) {
  double row[GI_MAX_NAMES];
  *n = 0;
  if (!rec_counters(k, i, row))
    return false;
  for (size_t c = 0; c < k->n_cols; c++)
    if (row[c] != 0)
      out[(*n)++] = (gi_num_t){.name = k->cols[c], .value = row[c]};
  return true;
}

static int jline_name(gen_interval_t *gi, gen_buf_t *b, uint16_t name) {
  gi_name_t *nm = &gi->names[name];
  int status = gen_buf_printf(b, "N %u ", (unsigned)name);
  if (status == 0)
    status = gen_buf_add(b, nm->json, nm->json_len - 1); /* less ':' */
  if (status == 0)
    status = gen_buf_add(b, "\n", 1);
  if (status == 0)
    nm->jdef = true;
  return status;
}

static int jline_key(gen_interval_t *gi, gen_buf_t *b, size_t key) {
  gi_key_t *k = &gi->keys[key];
  int status = gen_buf_printf(b, "K %zu [", key);
  if (status == 0)
    status = gen_buf_add_json_string(b, gi->scopes[k->scope].id);
  if (status == 0)
    status = gen_buf_add(b, ",", 1);
  if (status == 0)
    status = key_json(k->key, b);
  if (status == 0)
    status = gen_buf_add(b, "]\n", 2);
  if (status == 0)
    k->jdef = true;
  return status;
}

/* An "R" line: the record of key's bucket, its counters among nums (the
 * names it needs defined before it when they are not yet). */
static int jline_record(gen_interval_t *gi, gen_buf_t *b, size_t key,
                        uint32_t bucket, uint64_t hash, const gi_num_t *nums,
                        size_t n) {
  uint8_t enc[16 + GI_MAX_NAMES * 14];
  size_t len = varint_put(enc, bucket);
  int status = 0;
  for (int i = 0; i < 8; i++)
    enc[len++] = (uint8_t)(hash >> (8 * i));
  for (size_t i = 0; status == 0 && i < n; i++) {
    if (!gi->names[nums[i].name].counter || nums[i].value == 0)
      continue;
    if (!gi->names[nums[i].name].jdef)
      status = jline_name(gi, b, nums[i].name);
    len += varint_put(enc + len, nums[i].name);
    len += rec_value_put(enc + len, nums[i].value);
  }
  if (status == 0 && !gi->keys[key].jdef)
    status = jline_key(gi, b, key);
  if (status == 0)
    status = gen_buf_printf(b, "R %zu ", key);
  if (status == 0)
    status = gen_buf_add_base64(b, enc, len);
  return status == 0 ? gen_buf_add(b, "\n", 1) : status;
}

static void undo_free(gi_key_t *k) {
  for (size_t u = 0; u < k->n_undo; u++)
    free(k->undo[u].nums);
  free(k->undo);
  free(k->fresh);
  k->undo = NULL;
  k->fresh = NULL;
  k->n_undo = k->cap_undo = k->n_fresh = k->cap_fresh = 0;
}

static void undo_clear(gen_interval_t *gi) {
  for (size_t i = 0; i < gi->n_keys; i++)
    undo_free(&gi->keys[i]);
}

static const gi_undo_t *undo_find(const gi_key_t *k, uint32_t bucket) {
  for (size_t u = 0; u < k->n_undo; u++)
    if (k->undo[u].bucket == bucket)
      return &k->undo[u];
  return NULL;
}

/* Where bucket is, or would go, in k's fresh buckets. */
static size_t fresh_at(const gi_key_t *k, uint32_t bucket) {
  size_t lo = 0, hi = k->n_fresh;
  if (hi > 0 && k->fresh[hi - 1] < bucket)
    return hi; /* the usual case: the newest */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (k->fresh[mid] < bucket)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool fresh_has(const gi_key_t *k, uint32_t bucket) {
  size_t at = fresh_at(k, bucket);
  return at < k->n_fresh && k->fresh[at] == bucket;
}

/* Keeps the record of k's bucket as it was before this epoch's first
 * change of it: none (fresh), or its hash and counters (undo, a few a key
 * an epoch: a list). */
static int undo_note(gen_interval_t *gi, gi_key_t *k, int64_t start) {
  uint32_t bucket = (uint32_t)(start / gi->o.granularity_ms);
  if (gi->jf.fd < 0 || fresh_has(k, bucket) || undo_find(k, bucket) != NULL)
    return 0;
  ssize_t at = record_find(gi, k, start);
  if (at < 0) {
    size_t i = fresh_at(k, bucket);
    if (grow((void **)&k->fresh, &k->cap_fresh, k->n_fresh + 1,
             sizeof(*k->fresh)) != 0)
      return -ENOMEM;
    memmove(&k->fresh[i + 1], &k->fresh[i],
            (k->n_fresh - i) * sizeof(*k->fresh));
    k->fresh[i] = bucket;
    k->n_fresh++;
    return 0;
  }
  gi_num_t nums[GI_MAX_NAMES];
  size_t n;
  if (!rec_nums(k, (size_t)at, nums, &n))
    return -EINVAL;
  if (grow((void **)&k->undo, &k->cap_undo, k->n_undo + 1, sizeof(*k->undo)) !=
      0)
    return -ENOMEM;
  gi_undo_t *u = &k->undo[k->n_undo];
  *u = (gi_undo_t){.bucket = bucket, .hash = k->records[at].hash, .n = n};
  u->nums = malloc((n ? n : 1) * sizeof(*nums));
  if (u->nums == NULL)
    return -ENOMEM;
  memcpy(u->nums, nums, n * sizeof(*nums));
  k->n_undo++;
  return 0;
}

/* The first line (the granularity, and the id the state file names: a
 * journal of another state file is not read) and the state file's epoch. */
static int journal_header(const gen_interval_t *gi, gen_buf_t *b) {
  return gen_buf_printf(
      b, GI_JOURNAL_MAGIC " %" PRId64 " %016" PRIx64 "\nE %" PRIu64 "\n",
      gi->o.granularity_ms, gi->j_id, gi->durable);
}

static int journal_open(gen_interval_t *gi, bool trunc) {
  gen_state_append_close(&gi->jf); /* a compaction's: the file replaced */
  int status = gen_state_append_open(&gi->jf, gi->rec_path, trunc);
  if (status != 0)
    gen_log_org(gi->o.who, &gi->j_complain, LOG_ERR, "cannot open %s: %s",
                gi->rec_path, gen_strerror(status));
  return status;
}

/* The journal of an engine that had no record at load (a first start: no
 * file made until there is something to keep): whatever was there is of no
 * state file of ours. */
static int journal_start(gen_interval_t *gi) {
  int status = journal_open(gi, true);
  gi->j_entries = 0;
  return status == 0 ? journal_header(gi, &gi->jbuf) : status;
}

/* A commit's change of a record: kept, its old form noted, its line
 * queued for the journal (written at the end of the commit). */
static int record_change(gen_interval_t *gi, size_t key, int64_t start,
                         uint64_t hash, const gi_num_t *values, size_t n) {
  gi_key_t *k = &gi->keys[key];
  if (gi->jf.fd < 0 && gi->j_lazy && journal_start(gi) == 0)
    gi->j_lazy = false;
  int status = undo_note(gi, k, start);
  if (status == 0)
    status = record_put(gi, k, start, hash, values, n);
  if (status != 0 || gi->jf.fd < 0)
    return status;
  if (!gi->epoch_marked) {
    gi->tail_off = gi->jf.len + (int64_t)gi->jbuf.len;
    gi->j_tail = 0;
    status = gen_buf_printf(&gi->jbuf, "E %" PRIu64 "\n", gi->epoch);
    gi->epoch_marked = status == 0;
  }
  if (status == 0)
    status =
        jline_record(gi, &gi->jbuf, key,
                     (uint32_t)(start / gi->o.granularity_ms), hash, values, n);
  gi->j_entries++;
  gi->j_tail++;
  return status;
}

/* Writes the lines queued. On a failure the file is cut back to its last
 * whole line and the lines stay queued (the next flush tries again). */
static int journal_flush(gen_interval_t *gi) {
  if (gi->jf.fd < 0 || gi->jbuf.len == 0)
    return 0;
  int status = gen_state_append(&gi->jf, gi->jbuf.data, gi->jbuf.len);
  if (status != 0) {
    gen_log_org(gi->o.who, &gi->j_complain, LOG_ERR,
                "cannot write %s: %s; the state file waits for it",
                gi->rec_path, gen_strerror(status));
    return status;
  }
  if (gi->jbuf.len > GEN_STATE_CHUNK) { /* a backfill's: not kept */
    gen_buf_free(&gi->jbuf);
    gen_buf_init(&gi->jbuf, SIZE_MAX);
  }
  gen_buf_reset(&gi->jbuf);
  return 0;
}

/* Before a state file names the epoch: its records on disk. */
static int journal_sync(gen_interval_t *gi) {
  int status = journal_flush(gi);
  if (status == 0 && (status = gen_state_append_sync(&gi->jf)) != 0)
    gen_log_org(gi->o.who, &gi->j_complain, LOG_ERR, "cannot sync %s: %s",
                gi->rec_path, gen_strerror(status));
  return status;
}

static void stream_flush_counted(gen_state_stream_t *st, int64_t *written) {
  size_t before = st->buf.len;
  gen_state_stream_flush(st);
  *written += (int64_t)(before - st->buf.len);
}

/* Rewrites the journal whole (atomically): the records as of the state
 * file (epoch durable), then this epoch's lines as the file has them.
 * Only while the state file is the last snapshot (durable + 1 == epoch):
 * the undo holds this epoch's changes only. */
static int journal_compact(gen_interval_t *gi) {
  if (gi->durable + 1 != gi->epoch)
    return -EAGAIN;
  int status = journal_flush(gi);
  if (status != 0)
    return status;
  gen_state_stream_t st;
  int64_t written = 0;
  status = gen_state_stream_open(&st, gi->rec_path);
  gen_buf_t *b = &st.buf;
  if (status == 0)
    status = journal_header(gi, b);
  for (size_t i = 0; status == 0 && i < gi->n_names; i++)
    status = jline_name(gi, b, (uint16_t)i);
  for (size_t i = 0; status == 0 && i < gi->n_keys; i++) {
    status = jline_key(gi, b, i);
    stream_flush_counted(&st, &written);
  }
  uint64_t entries = 0;
  for (size_t i = 0; status == 0 && i < gi->n_keys; i++) {
    const gi_key_t *k = &gi->keys[i];
    for (size_t r = 0; status == 0 && r < k->n_records; r++) {
      if (fresh_has(k, k->records[r].bucket))
        continue; /* new this epoch: the state file lacks it */
      const gi_undo_t *u = undo_find(k, k->records[r].bucket);
      gi_num_t nums[GI_MAX_NAMES];
      size_t n;
      if (u == NULL && !rec_nums(k, r, nums, &n))
        status = -EINVAL;
      if (status == 0)
        status = jline_record(gi, b, i, k->records[r].bucket,
                              u ? u->hash : k->records[r].hash,
                              u ? u->nums : nums, u ? u->n : n);
      entries++;
    }
    stream_flush_counted(&st, &written);
  }
  int64_t tail = written + (int64_t)b->len;
  /* this epoch's lines, copied: their keys and names are defined above */
  for (int64_t off = gi->tail_off;
       status == 0 && gi->epoch_marked && off < gi->jf.len;) {
    char chunk[GEN_STATE_CHUNK];
    size_t want = (size_t)(gi->jf.len - off) < sizeof(chunk)
                      ? (size_t)(gi->jf.len - off)
                      : sizeof(chunk);
    ssize_t got = pread(gi->jf.fd, chunk, want, off);
    if (got <= 0)
      status = got < 0 ? -errno : -EIO;
    else
      status = gen_buf_add(b, chunk, (size_t)got);
    off += got > 0 ? got : 0;
    stream_flush_counted(&st, &written);
  }
  written += (int64_t)b->len;
  int closed = gen_state_stream_close(&st, status == 0);
  status = status != 0 ? status : closed;
  if (status != 0) {
    /* the old file stands: names and keys it had stay defined in it */
    gen_log_org(gi->o.who, &gi->j_complain, LOG_ERR, "cannot compact %s: %s",
                gi->rec_path, gen_strerror(status));
    return status;
  }
  gi->tail_off = tail;
  gi->j_entries = entries + (gi->epoch_marked ? gi->j_tail : 0);
  return journal_open(gi, false);
}

/* The engine's live records. */
static uint64_t records_live(const gen_interval_t *gi) {
  uint64_t n = 0;
  for (size_t i = 0; i < gi->n_keys; i++)
    n += gi->keys[i].n_records;
  return n;
}

/* After a state file: compacts the journal when its dead entries outnumber
 * its live ones, or past its bound. */
static void journal_maybe_compact(gen_interval_t *gi) {
  if (gi->jf.fd < 0 || gi->durable + 1 != gi->epoch)
    return;
  uint64_t live = records_live(gi);
  if ((gi->j_entries >= GI_JOURNAL_MIN && gi->j_entries > 2 * live) ||
      (gi->jf.len > GI_JOURNAL_MAX && gi->j_entries > live + live / 3))
    journal_compact(gi);
}

/* The state's epoch is now a state file (gen_interval_save, or a commit
 * without defer_save): records before keep may go. */
static void epoch_durable(gen_interval_t *gi, uint64_t epoch, bool held) {
  gi->durable = epoch;
  for (size_t i = 0; i < gi->n_scopes; i++)
    gi->scopes[i].keep_d = held ? gi->scopes[i].keep_h : gi->scopes[i].keep_now;
}

/* A snapshot of the state was taken: the changes after it are the next
 * epoch's. */
static void epoch_next(gen_interval_t *gi) {
  gi->held = gi->epoch++;
  gi->epoch_marked = false;
  gi->j_tail = 0;
  undo_clear(gi);
  for (size_t i = 0; i < gi->n_scopes; i++)
    gi->scopes[i].keep_h = gi->scopes[i].keep_now;
}

/* One line of the journal read back: 0, or -EINVAL (not ours). ids maps
 * the file's key ids to ours (+1), names its name ids. */
typedef struct {
  size_t *keys, n_keys;
  uint16_t *names; /* +1 */
  size_t n_names;
} gi_jids_t;

static int jids_set(void **items, size_t *n, size_t id, size_t size) {
  if (id > 16u * 1024 * 1024)
    return -EINVAL;
  if (id >= *n) {
    void *p = realloc(*items, (id + 1) * size);
    if (p == NULL)
      return -ENOMEM;
    memset((char *)p + *n * size, 0, (id + 1 - *n) * size);
    *items = p;
    *n = id + 1;
  }
  return 0;
}

static int journal_line(gen_interval_t *gi, gi_jids_t *ids, char *line,
                        size_t len, uint64_t *epoch) {
  char *end;
  if (len < 3 || line[1] != ' ')
    return -EINVAL;
  errno = 0;
  unsigned long long id = strtoull(line + 2, &end, 10);
  if (errno != 0 || end == line + 2)
    return -EINVAL;
  if (line[0] == 'E') {
    *epoch = id;
    return *end == '\0' ? 0 : -EINVAL;
  }
  if (*end != ' ')
    return -EINVAL;
  char *rest = end + 1;
  size_t rest_len = len - (size_t)(rest - line);
  json_object *doc = NULL;
  char why[128];
  int status = 0;
  if (line[0] == 'N' || line[0] == 'K') {
    status = gen_json_parse(rest, rest_len, 2, &doc, why, sizeof(why));
    if (status != 0)
      return -EINVAL;
  }
  if (line[0] == 'N') {
    status = json_object_is_type(doc, json_type_string)
                 ? jids_set((void **)&ids->names, &ids->n_names, id, 2)
                 : -EINVAL;
    int idx = status == 0 ? name_index(gi, json_object_get_string(doc), true)
                          : status;
    if (idx >= 0)
      ids->names[id] = (uint16_t)(idx + 1);
    status = idx < 0 ? idx : 0;
  } else if (line[0] == 'K') {
    json_object *scope = json_object_array_get_idx(doc, 0),
                *key = json_object_array_get_idx(doc, 1);
    if (!json_object_is_type(doc, json_type_array) ||
        json_object_array_length(doc) != 2 ||
        !json_object_is_type(scope, json_type_string) ||
        !json_object_is_type(key, json_type_string))
      status = -EINVAL;
    if (status == 0)
      status = jids_set((void **)&ids->keys, &ids->n_keys, id, sizeof(size_t));
    ssize_t s = status == 0 ? scope_get(gi, json_object_get_string(scope), true)
                            : status;
    ssize_t k =
        s >= 0 ? key_load(gi, json_object_get_string(key), (size_t)s) : s;
    if (k >= 0 && gi->keys[k].scope != (size_t)s)
      k = -EINVAL;
    if (k >= 0)
      ids->keys[id] = (size_t)k + 1;
    status = k < 0 ? (int)k : 0;
  } else if (line[0] == 'R') {
    uint8_t bytes[16 + GI_MAX_NAMES * 14];
    if (id >= ids->n_keys || ids->keys[id] == 0 ||
        rest_len > sizeof(bytes) / 3 * 4)
      return -EINVAL;
    ssize_t n = gen_base64_decode(rest, rest_len, bytes);
    const uint8_t *p = bytes, *e = bytes + (n > 0 ? n : 0);
    uint64_t bucket, hash = 0, name;
    gi_num_t nums[GI_MAX_NAMES];
    size_t n_nums = 0;
    if (n < 0 || !varint_get(&p, e, &bucket) || bucket > UINT32_MAX ||
        e - p < 8)
      return -EINVAL;
    for (int i = 0; i < 8; i++)
      hash |= (uint64_t)*p++ << (8 * i);
    while (p < e) {
      if (n_nums == GI_MAX_NAMES || !varint_get(&p, e, &name) ||
          name >= ids->n_names || ids->names[name] == 0 ||
          !rec_value_get(&p, e, &nums[n_nums].value))
        return -EINVAL;
      nums[n_nums++].name = (uint16_t)(ids->names[name] - 1);
    }
    status =
        record_put(gi, &gi->keys[ids->keys[id] - 1],
                   (int64_t)bucket * gi->o.granularity_ms, hash, nums, n_nums);
    gi->j_entries++;
  } else {
    status = -EINVAL;
  }
  json_object_put(doc);
  return status;
}

/* A replay of the journal: the state file's epoch reached, or why not. */
typedef struct {
  gen_interval_t *gi;
  gi_jids_t ids;
  uint64_t epoch;
  bool header; /* the first line is the one this state file names */
  const char *why;
} gi_replay_t;

static int replay_line(void *ud, char *line, size_t len) {
  gi_replay_t *r = ud;
  if (!r->header) {
    char header[64];
    snprintf(header, sizeof(header),
             GI_JOURNAL_MAGIC " %" PRId64 " %016" PRIx64,
             r->gi->o.granularity_ms, r->gi->j_id);
    r->header = strcmp(line, header) == 0;
    return r->header ? 0 : -EINVAL;
  }
  uint64_t at = r->epoch;
  int status = len >= GI_JOURNAL_LINE_MAX
                   ? -EINVAL
                   : journal_line(r->gi, &r->ids, line, len, &at);
  if (status != 0)
    r->why = status == -ENOMEM ? "out of memory" : "a line not ours";
  else if (at < r->epoch)
    r->why = "an epoch going back";
  else if (at > r->gi->durable)
    return 1; /* after the state file: a SIGKILL's, asked for again */
  r->epoch = at;
  return r->why != NULL ? -EINVAL : 0;
}

/* Replays the journal up to the state file's epoch (see above) and cuts
 * what is after it. false: it cannot be used (absent, another granularity,
 * a header not ours): it is written afresh from the records the state file
 * had. */
static bool journal_replay(gen_interval_t *gi) {
  FILE *f = fopen(gi->rec_path, "r");
  if (f == NULL) {
    /* Absent where its state file had no record (a short first run, a
     * family without values yet): nothing was lost. */
    if (errno != ENOENT || (gi->durable > 0 && gi->j_records != 0))
      gen_log_org(gi->o.who, NULL, LOG_WARNING,
                  "cannot read %s: %s; buckets revisited before it is "
                  "written again count whole",
                  gi->rec_path, gen_strerror(-errno));
    return false;
  }
  gi_replay_t r = {.gi = gi};
  int64_t good = 0;
  bool torn;
  gen_state_lines(f, replay_line, &r, &good, &torn);
  free(r.ids.keys);
  free(r.ids.names);
  fclose(f);
  if (!r.header) {
    gen_log_org(gi->o.who, NULL, LOG_WARNING,
                "%s is not the journal of %s (another copy, or granularity); "
                "buckets revisited before it is written again count whole",
                gi->rec_path, gi->state_path);
    return false;
  }
  if (r.why != NULL || torn)
    gen_log_org(gi->o.who, NULL, LOG_WARNING,
                "%s: %s at byte %" PRId64 ": ignored from there", gi->rec_path,
                r.why != NULL ? r.why : "a torn last line", good);
  if (truncate(gi->rec_path, good) != 0)
    gen_log_org(gi->o.who, NULL, LOG_ERR, "cannot cut %s: %s", gi->rec_path,
                gen_strerror(-errno));
  return true;
}

/* At load, after the state file: the records from the journal (or those
 * the state file had, written to a new journal), pruned as the state's
 * progress says, and the journal open for the next epoch. */
static void journal_load(gen_interval_t *gi) {
  bool replayed = gi->j_read && journal_replay(gi);
  for (size_t i = 0; i < gi->n_scopes; i++) {
    gi_scope_t *s = &gi->scopes[i];
    s->keep_d = s->origin != 0 ? scope_keep(gi, s) : INT64_MIN;
    s->keep_h = s->keep_now = s->keep_d;
    for (size_t j = 0; j < s->n_keys; j++)
      records_prune(gi, &gi->keys[s->keys[j]], s->keep_d);
  }
  gi->epoch = gi->durable + 1;
  if (replayed) {
    journal_open(gi, false);
    return;
  }
  if (records_live(gi) == 0) {
    gi->j_lazy = gi->rec_path != NULL;
    return;
  }
  /* the state file's own records, as of its epoch */
  gi->j_entries = 0;
  journal_compact(gi);
}

/* A journal without its state file is of no use: removed. */
static void journal_remove(const gen_interval_t *gi) {
  if (gi->rec_path != NULL && unlink(gi->rec_path) == 0)
    gen_log_org(gi->o.who, NULL, LOG_INFO,
                "%s removed: no state file of its records", gi->rec_path);
}

/* A "<state_path>.next" at start was taken by a run that ended before the
 * read after it: its buckets' values may have been lost in collectd's write
 * queue, so it is not restored (the state file's older state asks for them
 * again). Removed, not left beside the state file until the next save. */
static void next_discard(const gen_interval_t *gi) {
  char next[PATH_MAX];
  if (next_path(gi, next, sizeof(next)) != 0)
    return; /* no save can write it either (logged then) */
  if (unlink(next) == 0)
    gen_log_org(gi->o.who, NULL, LOG_INFO,
                "state file %s: left by the last run, removed; its last "
                "read's buckets are asked for again",
                next);
  else if (errno != ENOENT)
    gen_log_org(gi->o.who, NULL, LOG_WARNING, "cannot remove %s: %s", next,
                gen_strerror(-errno));
}

static void state_load(gen_interval_t *gi) {
  if (gi->state_path == NULL)
    return;
  next_discard(gi);
  gi_load_t l = {.gi = gi};
  int status =
      gen_state_load_each(gi->state_path, GI_STATE_MAX_SIZE, state_entry, &l);
  if (status == -ENOENT) {
    journal_remove(gi);
    journal_load(gi);
    return;
  }
  if (status == 0 && l.version == 0)
    status = -EINVAL; /* no header */
  if (status != 0) {
    gen_log_org(gi->o.who, NULL, LOG_ERR,
                "state file %s cannot be used (%s); starting afresh, "
                "counters restart at zero",
                gi->state_path,
                status == -ERANGE ? "a number in it is out of range or not one"
                                  : gen_strerror(status));
    state_forget(gi);
    gi->durable = 0;
    gi->j_read = false;
    gi->j_records = -1;
    gi->clock = gi->mark_at = gi->mark_since = 0;
    gi->n_marked = 0;
    journal_remove(gi);
  }
  journal_load(gi);
}

/* ---- life cycle --------------------------------------------------------- */

gen_interval_t *gen_interval_create(const gen_interval_options_t *options) {
  const gen_interval_options_t *o = options;
  if (o == NULL || o->granularity_ms < 1000 || o->settle_ms < 0 ||
      o->revisit_ms < 0 || o->horizon_ms < o->granularity_ms ||
      o->initial_ms < 0 || o->max_buckets < 1 ||
      o->revisit_at.n > GEN_REVISIT_MAX)
    return NULL;
  gen_interval_t *gi = calloc(1, sizeof(*gi));
  if (gi == NULL)
    return NULL;
  gi->o = *o;
  gi->refused = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  gi->jf.fd = -1;
  gi->j_records = -1;
  gi->j_complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  gen_buf_init(&gi->jbuf, SIZE_MAX);
  /* A new journal's id (a state file's replaces it): any one unlikely to
   * be another's. */
  if (getrandom(&gi->j_id, sizeof(gi->j_id), 0) != sizeof(gi->j_id))
    gi->j_id = gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, &gi, sizeof(gi)) ^
               (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  /* An age the window covers adds nothing: every cycle asks for it. */
  for (size_t a = 0; a < o->revisit_at.n; a++)
    if (o->revisit_at.age_ms[a] > o->revisit_ms)
      gi->stages.age_ms[gi->stages.n++] = o->revisit_at.age_ms[a];
  gi->state_path = o->state_path ? strdup(o->state_path) : NULL;
  if ((o->state_path && gi->state_path == NULL)) {
    gen_interval_free(gi);
    return NULL;
  }
  gi->o.state_path = gi->state_path;
  gi->key_map.kind = GEN_MAP_KEY;
  if (gi->state_path != NULL &&
      asprintf(&gi->rec_path, "%s.records", gi->state_path) < 0) {
    gi->rec_path = NULL;
    gen_interval_free(gi);
    return NULL;
  }
  state_load(gi);
  return gi;
}

static void pending_clear(gen_interval_t *gi) {
  for (size_t i = 0; i < gi->n_pending; i++)
    free(gi->pending[i].values);
  gi->n_pending = 0;
}

static void state_forget(gen_interval_t *gi) {
  pending_clear(gi);
  for (size_t i = 0; i < gi->n_keys; i++) {
    gi_key_t *k = &gi->keys[i];
    undo_free(k);
    free(k->records);
    free(k->cols);
    free(k->data);
    free(k->totals);
    free(k->key);
  }
  for (size_t i = 0; i < gi->n_scopes; i++) {
    free(gi->scopes[i].id);
    free(gi->scopes[i].keys);
  }
  free(gi->keys);
  free(gi->scopes);
  gen_map_free(&gi->key_map);
  gen_map_free(&gi->scope_map);
  gi->keys = NULL;
  gi->scopes = NULL;
  gi->n_keys = gi->cap_keys = gi->n_scopes = gi->cap_scopes = 0;
}

void gen_interval_free(gen_interval_t *gi) {
  if (gi == NULL)
    return;
  journal_flush(gi);
  gen_state_append_close(&gi->jf);
  gen_buf_free(&gi->jbuf);
  free(gi->rec_path);
  state_forget(gi);
  free(gi->pending);
  for (size_t i = 0; i < gi->n_names; i++) {
    free(gi->names[i].name);
    free(gi->names[i].json);
  }
  gen_map_free(&gi->name_map);
  free(gi->state_path);
  free(gi);
}

/* ---- planning ----------------------------------------------------------- */

/* End of the newest bucket that is settled at now_ms. */
static int64_t newest_settled(const gen_interval_t *gi, int64_t now_ms) {
  return floor_to(now_ms - gi->o.settle_ms, gi->o.granularity_ms);
}

static int64_t horizon_start(const gen_interval_t *gi, int64_t settled_end) {
  int64_t g = gi->o.granularity_ms;
  return settled_end - floor_to(gi->o.horizon_ms, g);
}

/* First bucket of the revisit zone of scope s for a given settled end. */
static int64_t revisit_floor(const gen_interval_t *gi, const gi_scope_t *s,
                             int64_t settled_end) {
  int64_t g = gi->o.granularity_ms;
  int64_t floor = floor_to(settled_end - gi->o.revisit_ms, g);
  if (floor > s->done_until)
    floor = s->done_until;
  return floor < s->origin ? s->origin : floor;
}

/* The scheduled revisit due for the batch, the oldest age first: 1 with
 * *range, or 0. */
static int plan_revisit(gen_interval_t *gi, const char *const *scopes, size_t n,
                        int64_t now_ms, gen_interval_range_t *range) {
  int64_t g = gi->o.granularity_ms;
  for (size_t a = gi->stages.n; a-- > 0;) {
    int64_t start = INT64_MAX, end = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
      const gi_scope_t *s = &gi->scopes[map_find(&gi->scope_map, scopes[i])];
      int64_t from, to;
      if (gen_revisit_due(gi->stages.age_ms[a], s->revisit_w[a], s->origin,
                          s->done_until, now_ms, g, &from, &to)) {
        start = from < start ? from : start;
        end = to > end ? to : end;
      }
    }
    if (start < end) {
      int64_t cap = start + (int64_t)gi->o.max_buckets * g;
      *range = (gen_interval_range_t){
          .start_ms = start, .end_ms = end < cap ? end : cap, .revisit = a + 1};
      return 1;
    }
  }
  return 0;
}

/* ---- clock steps -------------------------------------------------------- */

/* A clock that was ahead leaves progress ahead of it, refused when the
 * clock is put back (ahead_refuse). The buckets whose time passed while it
 * was ahead were asked for then, before they happened (nothing, or part of
 * their values), and must be asked for again; the only sign of where that
 * began is the step forward itself, which looks like any gap (collectd
 * stopped, a resume): the clock more than GEN_INTERVAL_AHEAD_MS past the
 * last plan's. At such a step every started scope keeps its progress as its
 * mark, and the records from the mark's revisit window on are kept (the
 * buckets counted while the clock was ahead are corrected by the
 * difference, not counted twice). A clock put back at or after the mark's
 * time resumes each scope at its mark. The mark stays while its scopes have
 * not used it and the clock has run less than BackfillHorizon since the
 * step (a clock put back later would find it beyond the horizon); a later
 * step replaces it only from a clock put back (a clock ahead may be stepped
 * again: the older mark is the one before it). In the state file: "clock",
 * "mark" and "marks" (per scope). */

static void marks_drop(gen_interval_t *gi) {
  for (size_t i = 0; i < gi->n_scopes; i++)
    gi->scopes[i].mark = 0;
  gi->mark_at = gi->mark_since = 0;
  gi->n_marked = 0;
}

/* Whether t is before the marked step's end: a clock put back. */
static bool before_step(const gen_interval_t *gi, int64_t t) {
  return gi->mark_at != 0 && t + GEN_INTERVAL_AHEAD_MS < gi->mark_since;
}

/* At each plan: the clock's step forward since the last one marked. */
static void clock_note(gen_interval_t *gi, int64_t now_ms) {
  int64_t h = gi->o.horizon_ms;
  /* A mark used by every scope, or beyond the horizon of either clock (a
   * scope gone since keeps its own), goes. */
  if (gi->mark_at != 0 &&
      (gi->n_marked == 0 || now_ms >= gi->mark_since + h ||
       (before_step(gi, now_ms) && now_ms >= gi->mark_at + h)))
    marks_drop(gi);
  bool step = gi->clock != 0 && now_ms > gi->clock + GEN_INTERVAL_AHEAD_MS;
  /* A step from a clock put back begins anew (one from a clock still
   * ahead keeps the older mark). */
  if (step && before_step(gi, gi->clock))
    marks_drop(gi);
  if (step && gi->mark_at == 0) {
    for (size_t i = 0; i < gi->n_scopes; i++) {
      gi_scope_t *s = &gi->scopes[i];
      /* (progress ahead of the clock before the step is no mark) */
      if (s->origin != 0 &&
          s->done_until <= gi->clock + GEN_INTERVAL_AHEAD_MS) {
        s->mark = s->done_until;
        gi->n_marked++;
      }
    }
    if (gi->n_marked > 0) {
      gi->mark_at = gi->clock;
      gi->mark_since = now_ms;
    }
  }
  gi->clock = now_ms;
}

/* The mark of s, taken (0: none, or made on a clock ahead of now_ms). */
static int64_t mark_take(gen_interval_t *gi, gi_scope_t *s, int64_t now_ms) {
  int64_t mark = s->mark;
  if (mark == 0)
    return 0;
  s->mark = 0;
  gi->n_marked--;
  return gi->mark_at <= now_ms + GEN_INTERVAL_AHEAD_MS ? mark : 0;
}

/* Refuses the progress of s beyond the clock (see gen_interval_plan). */
static void ahead_refuse(gen_interval_t *gi, gi_scope_t *s, int64_t now_ms,
                         int64_t settled) {
  if (s->origin == 0 || s->done_until <= now_ms + GEN_INTERVAL_AHEAD_MS)
    return;
  char done[GEN_TIME_STRLEN], now[GEN_TIME_STRLEN], back[GEN_TIME_STRLEN];
  gen_time_format(s->done_until, done, sizeof(done));
  gen_time_format(now_ms, now, sizeof(now));
  gi->stats.progress_refused++;
  /* The records held: the window of the progress ahead and the schedule's
   * (those before went while it was ahead), and the mark's window. */
  int64_t keep = window_keep(gi, s->done_until);
  for (size_t a = 0; a < gi->stages.n; a++)
    if (s->revisit_w[a] != GEN_REVISIT_UNSET && s->revisit_w[a] < keep)
      keep = s->revisit_w[a];
  int64_t mark = mark_take(gi, s, now_ms);
  if (mark == 0 && s->origin > settled) {
    gen_log_org(gi->o.who, &gi->refused, LOG_WARNING,
                "%s: progress up to %s is ahead of the clock (%s): refused, "
                "the scope starts afresh (InitialBackfill)",
                s->id, done, now);
    s->origin = 0; /* planned as a new scope below; keys and totals kept */
    return;
  }
  /* Without a mark only buckets whose records are still held can be asked
   * for again; with one, those from it on are. */
  int64_t to = mark != 0 && mark < settled ? mark : settled;
  int64_t held =
      mark != 0 && window_keep(gi, mark) < keep ? window_keep(gi, mark) : keep;
  int64_t origin = s->origin < to ? s->origin : to;
  if (origin < held)
    origin = held < to ? held : to;
  s->origin = origin;
  s->done_until = to;
  for (size_t a = 0; a < gi->stages.n; a++)
    if (s->revisit_w[a] != GEN_REVISIT_UNSET)
      s->revisit_w[a] = s->revisit_w[a] < s->origin ? s->origin
                        : s->revisit_w[a] > to      ? to
                                                    : s->revisit_w[a];
  gen_time_format(to, back, sizeof(back));
  if (mark != 0)
    gen_log_org(gi->o.who, &gi->refused, LOG_WARNING,
                "%s: progress up to %s is ahead of the clock (%s): refused, "
                "put back to %s, where it was before the clock stepped "
                "ahead; the buckets after it are asked for again",
                s->id, done, now, back);
  else
    gen_log_org(gi->o.who, &gi->refused, LOG_WARNING,
                "%s: progress up to %s is ahead of the clock (%s): refused, "
                "put back to %s; the buckets after it are asked for as they "
                "settle, those that passed while the clock was ahead are "
                "not asked for again (its step was not seen)",
                s->id, done, now, back);
}

int gen_interval_plan(gen_interval_t *gi, const char *const *scopes, size_t n,
                      int64_t now_ms, gen_interval_range_t *range) {
  int64_t g = gi->o.granularity_ms;
  int64_t settled = newest_settled(gi, now_ms);
  int64_t oldest = horizon_start(gi, settled);
  bool due = false;
  int64_t start = INT64_MAX;
  clock_note(gi, now_ms);
  for (size_t i = 0; i < n; i++) {
    ssize_t si = scope_get(gi, scopes[i], true);
    if (si < 0)
      return (int)si;
    gi_scope_t *s = &gi->scopes[si];
    ahead_refuse(gi, s, now_ms, settled);
    if (s->origin == 0) {
      int64_t back = s->refused ? g : floor_to(gi->o.initial_ms + g - 1, g);
      s->refused = false;
      s->origin = settled - (back < g ? g : back);
      if (s->origin < oldest)
        s->origin = oldest;
      s->done_until = s->origin;
      for (size_t a = 0; a < gi->stages.n; a++)
        s->revisit_w[a] = s->origin;
    }
    /* A state without the schedule's progress (an older version, a new
     * age) kept the records of the window's buckets only: a revisit of an
     * older one would find no record and count it twice. */
    int64_t kept = floor_to(s->done_until - gi->o.revisit_ms, g) - g;
    for (size_t a = 0; a < gi->stages.n; a++)
      if (s->revisit_w[a] == GEN_REVISIT_UNSET) {
        int64_t w =
            gen_revisit_start(gi->stages.age_ms[a], s->origin, now_ms, g);
        s->revisit_w[a] = w > kept ? w : kept;
      }
    if (s->done_until < oldest) {
      uint64_t lost = (uint64_t)((oldest - s->done_until) / g);
      char from[GEN_TIME_STRLEN], to[GEN_TIME_STRLEN];
      gen_time_format(s->done_until, from, sizeof(from));
      gen_time_format(oldest, to, sizeof(to));
      gen_log_org(gi->o.who, NULL, LOG_WARNING,
                  "%s: %" PRIu64 " buckets from %s to %s are beyond the "
                  "backfill horizon and are lost",
                  s->id, lost, from, to);
      gi->stats.gap_buckets += lost;
      s->done_until = oldest;
      /* The scheduled revisits before the gap go with it: a watermark
       * below it would ask for the lost buckets as revisions. */
      for (size_t a = 0; a < gi->stages.n; a++)
        if (s->revisit_w[a] < oldest)
          s->revisit_w[a] = oldest;
      if (s->origin < oldest)
        s->origin = oldest;
    }
    if (s->done_until < settled)
      due = true;
    int64_t s_start = revisit_floor(gi, s, settled);
    /* A window longer than a request leaves room for one new bucket: else
     * the range would end before done_until and be asked for forever. */
    int64_t room = s->done_until - ((int64_t)gi->o.max_buckets - 1) * g;
    if (s_start < room)
      s_start = room;
    if (s_start < oldest)
      s_start = oldest;
    if (s_start < start)
      start = s_start;
  }
  /* New buckets first, then the scheduled revisits: a revisit that keeps
   * failing must not hold the new buckets back. */
  if (!due)
    return plan_revisit(gi, scopes, n, now_ms, range);
  int64_t end = start + (int64_t)gi->o.max_buckets * g;
  range->start_ms = start;
  range->end_ms = end < settled ? end : settled;
  range->revisit = 0;
  return 1;
}

/* ---- answers ------------------------------------------------------------ */

static int cmp_name(const void *a, const void *b, void *names) {
  const gi_name_t *n = names;
  return strcmp(n[((const gi_num_t *)a)->name].name,
                n[((const gi_num_t *)b)->name].name);
}

static uint64_t values_hash(const gen_interval_t *gi, gi_num_t *v, size_t n) {
  qsort_r(v, n, sizeof(*v), cmp_name, (void *)gi->names);
  /* FNV-1a 64: the state file keeps it, it must not change. */
  uint64_t h = GEN_HASH_FNV1A64_INIT;
  for (size_t i = 0; i < n; i++) {
    const char *name = gi->names[v[i].name].name;
    double value = v[i].value == 0 ? 0 : v[i].value; /* -0 is 0 */
    h = gen_hash_fnv1a64_bytes(h, name, strlen(name) + 1);
    h = gen_hash_fnv1a64_bytes(h, &value, sizeof(value));
  }
  return h;
}

int gen_interval_put(gen_interval_t *gi, const char *scope,
                     const gen_key_t *key, int64_t start_ms,
                     const gen_interval_value_t *values, size_t n) {
  /* (a record keeps start / granularity in 32 bits: to 2106) */
  if (start_ms % gi->o.granularity_ms != 0 || start_ms < 0 ||
      start_ms / gi->o.granularity_ms > UINT32_MAX || !gen_interval_key_ok(key))
    return -EINVAL;
  ssize_t s = scope_get(gi, scope, false);
  if (s < 0)
    return -EINVAL;
  ssize_t k = key_get(gi, key, (size_t)s);
  if (k < 0)
    return (int)k;
  if (gi->keys[k].scope != (size_t)s)
    return -EINVAL;
  if (grow((void **)&gi->pending, &gi->cap_pending, gi->n_pending + 1,
           sizeof(*gi->pending)) != 0)
    return -ENOMEM;
  gi_pending_t *p = &gi->pending[gi->n_pending];
  *p =
      (gi_pending_t){.key = (size_t)k, .start = start_ms, .seq = gi->n_pending};
  p->values = calloc(n ? n : 1, sizeof(*p->values));
  if (p->values == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(values[i].value)) {
      free(p->values);
      return -EINVAL;
    }
    /* Nor what the state file cannot keep: its reader refuses it. */
    if (fabs(values[i].value) > GEN_JSON_EXACT_MAX) {
      free(p->values);
      return -ERANGE;
    }
    int idx = name_index(gi, values[i].name, values[i].counter);
    if (idx < 0) {
      free(p->values);
      return idx;
    }
    /* values holds n: no realloc per value; a repeated name keeps the last
     * value. */
    size_t at = 0;
    while (at < p->n && p->values[at].name != (uint16_t)idx)
      at++;
    p->values[at] = (gi_num_t){.name = (uint16_t)idx, .value = values[i].value};
    if (at == p->n)
      p->n++;
  }
  p->hash = values_hash(gi, p->values, p->n);
  gi->n_pending++;
  return 0;
}

void gen_interval_abort(gen_interval_t *gi) { pending_clear(gi); }

/* Time first: every key's first bucket, then every key's second…, so that
 * history leaves oldest first across series, as a backend that keeps the
 * newest point of a series wants it. A key's buckets come in time order,
 * each bucket's puts together (the last one wins). */
static int cmp_pending(const void *a, const void *b) {
  const gi_pending_t *x = a, *y = b;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

typedef struct {
  gen_interval_value_t *v;
  size_t cap;
} gi_scratch_t;

static const gen_interval_value_t *to_values(gen_interval_t *gi,
                                             gi_scratch_t *sc,
                                             const gi_num_t *nums, size_t n) {
  if (grow((void **)&sc->v, &sc->cap, n ? n : 1, sizeof(*sc->v)) != 0)
    return NULL;
  for (size_t i = 0; i < n; i++)
    sc->v[i] =
        (gen_interval_value_t){.name = gi->names[nums[i].name].name,
                               .value = nums[i].value,
                               .counter = gi->names[nums[i].name].counter};
  return sc->v;
}

/* A revision's values: p's, and 0 for each counter the old record (-1:
 * none) had and the answer no longer has: Genesys leaves out a metric
 * whose count the reprocessing took to zero, and the bucket's series must
 * go to 0 with it, not keep the old value. */
static const gen_interval_value_t *
revision_values(gen_interval_t *gi, gi_scratch_t *sc, const gi_key_t *k,
                const gi_pending_t *p, ssize_t old, size_t *n) {
  double before[GI_MAX_NAMES];
  bool gone[GI_MAX_NAMES] = {false};
  size_t n_gone = 0;
  if (old >= 0 && rec_counters(k, (size_t)old, before))
    for (size_t c = 0; c < k->n_cols; c++) {
      bool present = before[c] == 0;
      for (size_t i = 0; i < p->n && !present; i++)
        present = p->values[i].name == k->cols[c];
      gone[c] = !present;
      n_gone += gone[c];
    }
  if (grow((void **)&sc->v, &sc->cap, p->n + n_gone + 1, sizeof(*sc->v)) != 0 ||
      to_values(gi, sc, p->values, p->n) == NULL)
    return NULL;
  *n = p->n;
  for (size_t c = 0; c < k->n_cols; c++)
    if (gone[c])
      sc->v[(*n)++] = (gen_interval_value_t){
          .name = gi->names[k->cols[c]].name, .value = 0, .counter = true};
  return sc->v;
}

static void emit_totals(gen_interval_t *gi, gi_scratch_t *sc,
                        const gen_interval_sink_t *sink, const gi_key_t *k,
                        int64_t at) {
  if (k->n_totals == 0 || sink->totals == NULL)
    return;
  const gen_interval_value_t *v = to_values(gi, sc, k->totals, k->n_totals);
  if (v != NULL)
    sink->totals(sink->ud, k->key, at, v, k->n_totals);
}

/* A total stopped at 2^53 (gen_total_add): beyond, the state file could
 * not keep it and would cost every counter at the next start. */
static void total_stopped(gen_interval_t *gi, const gi_key_t *k,
                          uint16_t name) {
  char key[GEN_KEY_TEXT_MAX + 1];
  if (gen_key_text(k->key, key, sizeof(key)) != 0)
    snprintf(key, sizeof(key), "?");
  gen_log_org(gi->o.who, &gi->refused, LOG_WARNING,
              "%s: total %s stopped at 2^53 (%lld): no count goes past it", key,
              gi->names[name].name, GEN_JSON_EXACT_MAX);
}

/* Adds to the totals the counters of p minus those of record old (-1:
 * none). */
static int totals_add(gen_interval_t *gi, gi_key_t *k, const gi_pending_t *p,
                      ssize_t old) {
  double before[GI_MAX_NAMES];
  bool seen[GI_MAX_NAMES] = {false};
  if (old >= 0 && !rec_counters(k, (size_t)old, before))
    return -EINVAL; /* cannot be: rec_value_put wrote it, the loader checked */
  for (size_t i = 0; i < p->n; i++) {
    uint16_t name = p->values[i].name;
    if (!gi->names[name].counter)
      continue;
    ssize_t c = old >= 0 ? col_find(k, name) : -1;
    if (c >= 0)
      seen[c] = true;
    double *slot = num_slot(&k->totals, &k->n_totals, name);
    if (slot == NULL)
      return -ENOMEM;
    if (!gen_total_add(slot, p->values[i].value - (c >= 0 ? before[c] : 0)))
      total_stopped(gi, k, name);
  }
  /* A counter that the old record had and the answer no longer has went
   * back to zero. */
  for (size_t c = 0; old >= 0 && c < k->n_cols; c++) {
    if (seen[c] || before[c] == 0)
      continue;
    double *slot = num_slot(&k->totals, &k->n_totals, k->cols[c]);
    if (slot == NULL)
      return -ENOMEM;
    if (!gen_total_add(slot, -before[c]))
      total_stopped(gi, k, k->cols[c]);
  }
  return 0;
}

/* The schedule's watermarks of s after range was committed (before its
 * done_until moves): a scheduled revisit moves its own age's to the end of
 * what it covered; new buckets move each age's past those already older
 * than it (gen_revisit_after_fetch). */
static void schedule_advance(gen_interval_t *gi, gi_scope_t *s,
                             const gen_interval_range_t *range,
                             int64_t now_ms) {
  int64_t g = gi->o.granularity_ms;
  if (range->revisit > 0) {
    size_t a = range->revisit - 1;
    int64_t to = range->end_ms < s->done_until ? range->end_ms : s->done_until;
    if (a < gi->stages.n && s->revisit_w[a] >= range->start_ms &&
        to > s->revisit_w[a])
      s->revisit_w[a] = to;
    return;
  }
  if (range->end_ms <= s->done_until)
    return;
  for (size_t a = 0; a < gi->stages.n; a++)
    s->revisit_w[a] =
        gen_revisit_after_fetch(gi->stages.age_ms[a], s->revisit_w[a],
                                s->done_until, range->end_ms, now_ms, g);
}

int gen_interval_commit(gen_interval_t *gi, const char *const *scopes, size_t n,
                        const gen_interval_range_t *range, int64_t now_ms,
                        const gen_interval_sink_t *sink) {
  int64_t g = gi->o.granularity_ms;
  int64_t settled = newest_settled(gi, now_ms);
  int status = 0;
  gi_scratch_t sc = {0};

  /* Everything below walks the batch's scopes and their keys only, never
   * every key of the engine: a cycle of many batches stays linear. */
  size_t *batch = calloc(n ? n : 1, sizeof(*batch));
  if (batch == NULL) {
    pending_clear(gi);
    return -ENOMEM;
  }
  size_t n_batch = 0;
  for (size_t i = 0; i < n; i++) {
    ssize_t s = scope_get(gi, scopes[i], false);
    if (s >= 0 && gi->scopes[s].origin != 0 && !gi->scopes[s].in_batch) {
      gi->scopes[s].in_batch = true;
      batch[n_batch++] = (size_t)s;
    }
  }
  if (gi->n_pending > 0) /* qsort(NULL, 0) is undefined */
    qsort(gi->pending, gi->n_pending, sizeof(*gi->pending), cmp_pending);

  for (size_t i = 0; i < gi->n_pending; i++) {
    const gi_pending_t *p = &gi->pending[i];
    if (i + 1 < gi->n_pending && gi->pending[i + 1].key == p->key &&
        gi->pending[i + 1].start == p->start)
      continue; /* a later put of the same bucket wins */
    gi_key_t *k = &gi->keys[p->key];
    gi_scope_t *s = &gi->scopes[k->scope];
    if (!s->in_batch || p->start < range->start_ms || p->start >= range->end_ms)
      continue;
    int64_t end = p->start + g;
    const gen_interval_value_t *v;
    if (range->revisit > 0 &&
        (p->start < s->origin || p->start >= s->done_until))
      continue; /* a scheduled revisit takes done buckets only */
    if (p->start >= s->done_until) {
      gen_interval_kind_t kind =
          end >= settled ? GEN_INTERVAL_NEW : GEN_INTERVAL_BACKFILL;
      if ((v = to_values(gi, &sc, p->values, p->n)) != NULL)
        sink->bucket(sink->ud, k->key, p->start, end, kind, v, p->n);
      /* A record here is of a bucket counted while the clock was ahead
       * (ahead_refuse): the totals move by the difference. */
      if (totals_add(gi, k, p, record_find(gi, k, p->start)) != 0 ||
          record_change(gi, p->key, p->start, p->hash, p->values, p->n) != 0)
        status = -ENOMEM;
      if (end > k->last_end)
        k->last_end = end;
      gi->stats.buckets_dispatched++;
      if (kind == GEN_INTERVAL_BACKFILL)
        gi->stats.buckets_backfilled++;
      /* The range's newest bucket gets every key's totals below. */
      if (end < range->end_ms)
        emit_totals(gi, &sc, sink, k, end);
      continue;
    }
    if (range->revisit == 0 && p->start < revisit_floor(gi, s, settled))
      continue; /* outside the revisit window: done for good */
    ssize_t old = record_find(gi, k, p->start);
    if (old >= 0 && k->records[old].hash == p->hash)
      continue;
    size_t nv;
    if ((v = revision_values(gi, &sc, k, p, old, &nv)) != NULL)
      sink->bucket(sink->ud, k->key, p->start, end, GEN_INTERVAL_REVISION, v,
                   nv);
    if (totals_add(gi, k, p, old) != 0 ||
        record_change(gi, p->key, p->start, p->hash, p->values, p->n) != 0)
      status = -ENOMEM;
    gi->stats.revisions++;
    if (range->revisit > 0 && range->revisit <= gi->stages.n)
      gi->stats.revisions_at[range->revisit - 1]++;
    /* Keys with a revision but no new bucket get their totals at their
     * scope's done_until below. */
    k->revised = true;
  }

  for (size_t b = 0; b < n_batch; b++) {
    gi_scope_t *s = &gi->scopes[batch[b]];
    for (size_t j = 0; j < s->n_keys; j++) {
      gi_key_t *k = &gi->keys[s->keys[j]];
      if (k->last_end == 0)
        k->last_end = range->end_ms;
      /* an entity's media type (or dimension) with nothing within the
       * horizon makes no series: absent, not a flat counter */
      bool idle =
          !gi->o.keep_idle && k->last_end + gi->o.horizon_ms < range->end_ms;
      if (range->end_ms > s->done_until && !idle)
        emit_totals(gi, &sc, sink, k, range->end_ms);
      else if (k->revised)
        emit_totals(gi, &sc, sink, k, s->done_until);
      k->revised = false;
    }
  }
  free(sc.v);

  for (size_t b = 0; b < n_batch; b++) {
    gi_scope_t *s = &gi->scopes[batch[b]];
    s->in_batch = false;
    schedule_advance(gi, s, range, now_ms);
    if (range->end_ms > s->done_until)
      s->done_until = range->end_ms;
    /* A bucket's record (its hash and counters) is kept while a revisit
     * may still come, as of the state file too: a restart from it may ask
     * for more than now (see "records journal"). */
    s->keep_now = scope_keep(gi, s);
    int64_t keep = s->keep_now < s->keep_d ? s->keep_now : s->keep_d;
    for (size_t j = 0; j < s->n_keys; j++)
      records_prune(gi, &gi->keys[s->keys[j]], keep);
  }
  free(batch);
  pending_clear(gi);
  gi->stats.commits++;
  gi->stats.last_commit_ms = now_ms;
  gi->dirty = true;
  int flushed = journal_flush(gi);
  if (gi->o.defer_save || gi->state_path == NULL)
    return status != 0 ? status : flushed;
  /* the journal's lines on disk before the state naming their epoch */
  int saved = journal_sync(gi);
  if (saved == 0)
    saved = state_save(gi, gi->state_path);
  if (saved != 0) {
    gen_log_org(gi->o.who, NULL, LOG_ERR, "cannot write state file %s: %s",
                gi->state_path, gen_strerror(saved));
  } else {
    gi->dirty = false;
    epoch_next(gi);
    epoch_durable(gi, gi->held, false);
    journal_maybe_compact(gi);
  }
  return status != 0 ? status : saved;
}

void gen_interval_set_defer_save(gen_interval_t *gi, bool defer) {
  gi->o.defer_save = defer;
}

int gen_interval_save(gen_interval_t *gi) {
  if (gi->state_path == NULL || (!gi->dirty && !gi->snapshot_held))
    return 0;
  /* The previous save's state: its values had a whole read to leave
   * collectd's write queue, where a SIGKILL loses what is still queued. */
  char next[PATH_MAX];
  int saved = next_path(gi, next, sizeof(next));
  if (saved != 0) {
    gen_log_org(gi->o.who, NULL, LOG_ERR, "state file %s.next: %s",
                gi->state_path, gen_strerror(saved));
    return saved;
  }
  if (gi->snapshot_held) {
    /* the journal's lines on disk before the state naming their epoch */
    saved = journal_sync(gi);
    if (saved == 0)
      saved = gen_state_rename(next, gi->state_path);
    if (saved != 0)
      gen_log_org(gi->o.who, NULL, LOG_ERR, "cannot write state file %s: %s",
                  gi->state_path, gen_strerror(saved));
    else
      epoch_durable(gi, gi->held, true);
    gi->snapshot_held = false; /* a newer one supersedes it anyway */
  }
  journal_maybe_compact(gi);
  if (gi->dirty) {
    int printed = state_save(gi, next);
    if (printed == 0) {
      gi->snapshot_held = true;
      gi->dirty = false;
      epoch_next(gi);
    } else {
      gen_log_org(gi->o.who, NULL, LOG_ERR, "cannot write state file %s: %s",
                  next, gen_strerror(printed));
      if (saved == 0)
        saved = printed; /* still dirty: the next save tries again */
    }
  }
  return saved;
}

void gen_interval_get_stats(const gen_interval_t *gi,
                            gen_interval_stats_t *stats) {
  *stats = gi->stats;
  stats->done_until_ms = 0;
  for (size_t i = 0; i < gi->n_scopes; i++) {
    int64_t d = gi->scopes[i].done_until;
    if (gi->scopes[i].origin != 0 &&
        (stats->done_until_ms == 0 || d < stats->done_until_ms))
      stats->done_until_ms = d;
  }
  stats->scopes = gi->n_scopes;
  stats->keys = gi->n_keys;
  stats->n_revision_ages = gi->stages.n;
  for (size_t a = 0; a < gi->stages.n; a++)
    stats->revision_age_ms[a] = gi->stages.age_ms[a];
}

void gen_interval_stats_add(const gen_interval_t *gi,
                            gen_interval_stats_t *sum) {
  gen_interval_stats_t e;
  if (gi == NULL)
    return;
  gen_interval_get_stats(gi, &e);
  sum->buckets_dispatched += e.buckets_dispatched;
  sum->buckets_backfilled += e.buckets_backfilled;
  sum->revisions += e.revisions;
  for (size_t a = 0; a < e.n_revision_ages; a++) {
    size_t at = 0;
    while (at < sum->n_revision_ages &&
           sum->revision_age_ms[at] < e.revision_age_ms[a])
      at++;
    if (at == sum->n_revision_ages ||
        sum->revision_age_ms[at] != e.revision_age_ms[a]) {
      if (sum->n_revision_ages == GEN_REVISIT_MAX)
        continue; /* cannot be: every engine of a plugin has one schedule */
      memmove(&sum->revision_age_ms[at + 1], &sum->revision_age_ms[at],
              (sum->n_revision_ages - at) * sizeof(sum->revision_age_ms[0]));
      memmove(&sum->revisions_at[at + 1], &sum->revisions_at[at],
              (sum->n_revision_ages - at) * sizeof(sum->revisions_at[0]));
      sum->revision_age_ms[at] = e.revision_age_ms[a];
      sum->revisions_at[at] = 0;
      sum->n_revision_ages++;
    }
    sum->revisions_at[at] += e.revisions_at[a];
  }
  sum->gap_buckets += e.gap_buckets;
  sum->progress_refused += e.progress_refused;
  sum->commits += e.commits;
  sum->scopes += e.scopes;
  sum->keys += e.keys;
  if (e.done_until_ms > 0 &&
      (sum->done_until_ms == 0 || e.done_until_ms < sum->done_until_ms))
    sum->done_until_ms = e.done_until_ms;
  if (e.last_commit_ms > 0 &&
      (sum->last_commit_ms == 0 || e.last_commit_ms < sum->last_commit_ms))
    sum->last_commit_ms = e.last_commit_ms;
}
