/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: closed-interval collection with settle delay, revisit,
 * backfill and persistent counters (see gen_interval.h): the bucket engine.
 */

#include "collectd/core/daemon/collectd.h"

#include "gen_buf.h"
#include "gen_hash.h"
#include "gen_interval_private.h"
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

int64_t gi_floor_to(int64_t t, int64_t g) {
  int64_t r = t % g;
  return r < 0 ? t - r - g : t - r;
}

/* Arrays start at 16 items and double. */
int gi_grow(void **items, size_t *cap, size_t need, size_t size) {
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

int gi_name_index(gen_interval_t *gi, const char *name, bool counter) {
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

ssize_t gi_scope_get(gen_interval_t *gi, const char *id, bool create) {
  ssize_t i = map_find(&gi->scope_map, id);
  if (i >= 0 || !create)
    return i;
  if (gi_grow((void **)&gi->scopes, &gi->cap_scopes, gi->n_scopes + 1,
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
int gi_key_json(const gen_key_t *key, gen_buf_t *out) {
  char text[GEN_KEY_TEXT_MAX];
  int status = gen_key_text(key, text, sizeof(text));
  return status == 0 ? gen_buf_add_json_string(out, text) : status;
}

ssize_t gi_key_get(gen_interval_t *gi, const gen_key_t *key, size_t scope) {
  ssize_t i = map_find(&gi->key_map, key);
  if (i >= 0)
    return i;
  gi_scope_t *s = &gi->scopes[scope];
  if (gi_grow((void **)&gi->keys, &gi->cap_keys, gi->n_keys + 1,
              sizeof(*gi->keys)) != 0 ||
      gi_grow((void **)&s->keys, &s->cap_keys, s->n_keys + 1,
              sizeof(*s->keys)) != 0)
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

double *gi_num_slot(gi_num_t **nums, size_t *n, uint16_t name) {
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
size_t gi_varint_put(uint8_t *out, uint64_t u) {
  size_t n = 0;
  for (; u >= 0x80; u >>= 7)
    out[n++] = (uint8_t)(u | 0x80);
  out[n++] = (uint8_t)u;
  return n;
}

bool gi_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *u) {
  *u = 0;
  for (int shift = 0; *p < end && shift < 64; shift += 7) {
    uint8_t b = *(*p)++;
    *u |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return true;
  }
  return false;
}

size_t gi_rec_value_put(uint8_t *out, double v) {
  if (v == floor(v) && fabs(v) <= (double)GEN_JSON_EXACT_MAX) {
    int64_t i = (int64_t)v;
    uint64_t zz = ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
    return gi_varint_put(out, zz << 1);
  }
  out[0] = 1;
  memcpy(out + 1, &v, sizeof(v));
  return 1 + sizeof(v);
}

/* false: not a value gi_rec_value_put wrote (a state file not ours). */
bool gi_rec_value_get(const uint8_t **p, const uint8_t *end, double *v) {
  uint64_t u;
  if (!gi_varint_get(p, end, &u))
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
bool gi_rec_counters(const gi_key_t *k, size_t i, double *out) {
  const uint8_t *p = k->data + k->records[i].off, *end = p + rec_len(k, i);
  for (size_t c = 0; c < k->n_cols; c++)
    out[c] = 0;
  for (size_t c = 0; p < end; c++)
    if (c == k->n_cols || !gi_rec_value_get(&p, end, &out[c]))
      return false;
  return true;
}

/* The record of the bucket starting at start, or -1. */
ssize_t gi_record_find(const gen_interval_t *gi, const gi_key_t *k,
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
int gi_record_put(gen_interval_t *gi, gi_key_t *k, int64_t start, uint64_t hash,
                  const gi_num_t *values, size_t n) {
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
    len += gi_rec_value_put(enc + len, row[c]);

  ssize_t at = gi_record_find(gi, k, start);
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

void gi_records_prune(gen_interval_t *gi, gi_key_t *k, int64_t before) {
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
  gi_state_load(gi);
  return gi;
}

static void pending_clear(gen_interval_t *gi) {
  for (size_t i = 0; i < gi->n_pending; i++)
    free(gi->pending[i].values);
  gi->n_pending = 0;
}

void gi_state_forget(gen_interval_t *gi) {
  pending_clear(gi);
  for (size_t i = 0; i < gi->n_keys; i++) {
    gi_key_t *k = &gi->keys[i];
    gi_undo_free(k);
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
  gi_journal_flush(gi);
  gen_state_append_close(&gi->jf);
  gen_buf_free(&gi->jbuf);
  free(gi->rec_path);
  gi_state_forget(gi);
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
  return gi_floor_to(now_ms - gi->o.settle_ms, gi->o.granularity_ms);
}

static int64_t horizon_start(const gen_interval_t *gi, int64_t settled_end) {
  int64_t g = gi->o.granularity_ms;
  return settled_end - gi_floor_to(gi->o.horizon_ms, g);
}

/* First bucket of the revisit zone of scope s for a given settled end. */
static int64_t revisit_floor(const gen_interval_t *gi, const gi_scope_t *s,
                             int64_t settled_end) {
  int64_t g = gi->o.granularity_ms;
  int64_t floor = gi_floor_to(settled_end - gi->o.revisit_ms, g);
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
  int64_t keep = gi_window_keep(gi, s->done_until);
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
  int64_t held = mark != 0 && gi_window_keep(gi, mark) < keep
                     ? gi_window_keep(gi, mark)
                     : keep;
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
    ssize_t si = gi_scope_get(gi, scopes[i], true);
    if (si < 0)
      return (int)si;
    gi_scope_t *s = &gi->scopes[si];
    ahead_refuse(gi, s, now_ms, settled);
    if (s->origin == 0) {
      int64_t back = s->refused ? g : gi_floor_to(gi->o.initial_ms + g - 1, g);
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
    int64_t kept = gi_floor_to(s->done_until - gi->o.revisit_ms, g) - g;
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
  ssize_t s = gi_scope_get(gi, scope, false);
  if (s < 0)
    return -EINVAL;
  ssize_t k = gi_key_get(gi, key, (size_t)s);
  if (k < 0)
    return (int)k;
  if (gi->keys[k].scope != (size_t)s)
    return -EINVAL;
  if (gi_grow((void **)&gi->pending, &gi->cap_pending, gi->n_pending + 1,
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
    int idx = gi_name_index(gi, values[i].name, values[i].counter);
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
  if (gi_grow((void **)&sc->v, &sc->cap, n ? n : 1, sizeof(*sc->v)) != 0)
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
  if (old >= 0 && gi_rec_counters(k, (size_t)old, before))
    for (size_t c = 0; c < k->n_cols; c++) {
      bool present = before[c] == 0;
      for (size_t i = 0; i < p->n && !present; i++)
        present = p->values[i].name == k->cols[c];
      gone[c] = !present;
      n_gone += gone[c];
    }
  if (gi_grow((void **)&sc->v, &sc->cap, p->n + n_gone + 1, sizeof(*sc->v)) !=
          0 ||
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
  if (old >= 0 && !gi_rec_counters(k, (size_t)old, before))
    return -EINVAL; /* cannot be: gi_rec_value_put wrote it, the loader checked
                     */
  for (size_t i = 0; i < p->n; i++) {
    uint16_t name = p->values[i].name;
    if (!gi->names[name].counter)
      continue;
    ssize_t c = old >= 0 ? col_find(k, name) : -1;
    if (c >= 0)
      seen[c] = true;
    double *slot = gi_num_slot(&k->totals, &k->n_totals, name);
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
    double *slot = gi_num_slot(&k->totals, &k->n_totals, k->cols[c]);
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
    ssize_t s = gi_scope_get(gi, scopes[i], false);
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
    /* and its scope's due ones: a batch's range starts at the batch's
     * lowest watermark, and the buckets of a scope before its own had this
     * revisit already; their records may be gone, and with none a bucket
     * is counted whole again */
    if (range->revisit > 0 && range->revisit <= gi->stages.n &&
        p->start < s->revisit_w[range->revisit - 1])
      continue;
    if (p->start >= s->done_until) {
      gen_interval_kind_t kind =
          end >= settled ? GEN_INTERVAL_NEW : GEN_INTERVAL_BACKFILL;
      if ((v = to_values(gi, &sc, p->values, p->n)) != NULL)
        sink->bucket(sink->ud, k->key, p->start, end, kind, v, p->n);
      /* A record here is of a bucket counted while the clock was ahead
       * (ahead_refuse): the totals move by the difference. */
      if (totals_add(gi, k, p, gi_record_find(gi, k, p->start)) != 0 ||
          gi_record_change(gi, p->key, p->start, p->hash, p->values, p->n) != 0)
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
    ssize_t old = gi_record_find(gi, k, p->start);
    if (old >= 0 && k->records[old].hash == p->hash)
      continue;
    size_t nv;
    if ((v = revision_values(gi, &sc, k, p, old, &nv)) != NULL)
      sink->bucket(sink->ud, k->key, p->start, end, GEN_INTERVAL_REVISION, v,
                   nv);
    if (totals_add(gi, k, p, old) != 0 ||
        gi_record_change(gi, p->key, p->start, p->hash, p->values, p->n) != 0)
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
    s->keep_now = gi_scope_keep(gi, s);
    int64_t keep = s->keep_now < s->keep_d ? s->keep_now : s->keep_d;
    for (size_t j = 0; j < s->n_keys; j++)
      gi_records_prune(gi, &gi->keys[s->keys[j]], keep);
  }
  free(batch);
  pending_clear(gi);
  gi->stats.commits++;
  gi->stats.last_commit_ms = now_ms;
  gi->dirty = true;
  int flushed = gi_journal_flush(gi);
  if (gi->o.defer_save || gi->state_path == NULL)
    return status != 0 ? status : flushed;
  /* the journal's lines on disk before the state naming their epoch */
  int saved = gi_journal_sync(gi);
  if (saved == 0)
    saved = gi_state_save(gi, gi->state_path);
  if (saved != 0) {
    gen_log_org(gi->o.who, NULL, LOG_ERR, "cannot write state file %s: %s",
                gi->state_path, gen_strerror(saved));
  } else {
    gi->dirty = false;
    gi_epoch_next(gi);
    gi_epoch_durable(gi, gi->held, false);
    gi_journal_maybe_compact(gi);
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
  int saved = gi_next_path(gi, next, sizeof(next));
  if (saved != 0) {
    gen_log_org(gi->o.who, NULL, LOG_ERR, "state file %s.next: %s",
                gi->state_path, gen_strerror(saved));
    return saved;
  }
  if (gi->snapshot_held) {
    /* the journal's lines on disk before the state naming their epoch */
    saved = gi_journal_sync(gi);
    if (saved == 0)
      saved = gen_state_rename(next, gi->state_path);
    if (saved != 0)
      gen_log_org(gi->o.who, NULL, LOG_ERR, "cannot write state file %s: %s",
                  gi->state_path, gen_strerror(saved));
    else
      gi_epoch_durable(gi, gi->held, true);
    gi->snapshot_held = false; /* a newer one supersedes it anyway */
  }
  gi_journal_maybe_compact(gi);
  if (gi->dirty) {
    int printed = gi_state_save(gi, next);
    if (printed == 0) {
      gi->snapshot_held = true;
      gi->dirty = false;
      gi_epoch_next(gi);
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
