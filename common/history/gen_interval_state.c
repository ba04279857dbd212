/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: gen_interval's state file: printed and loaded
 * (versions 1 and 2, the clock-step marks).
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
    int idx = gi_name_index(gi, name, true);
    if (idx < 0)
      return idx;
    double *slot = gi_num_slot(nums, n, (uint16_t)idx);
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
 * "buckets":[{"start":…,"hash":…,"counters":{…}},…]), which gi_key_load
 * still reads. */
static int key_write(gen_buf_t *buf, const gen_interval_t *gi,
                     const gi_key_t *k) {
  int status = gen_buf_add_str(buf, "{\"key\":");
  /* Joined at each save, not kept: a megabyte at 5,000 queues. */
  if (status == 0)
    status = gi_key_json(k->key, buf);
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
    int idx = gi_name_index(gi, json_object_get_string(name), true);
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
    if (!gi_varint_get(&p, end, &step) || (k->n_records > 0 && step == 0) ||
        step > UINT32_MAX - bucket || end - p < 8)
      return -EINVAL;
    bucket += step;
    uint64_t hash = 0;
    for (int i = 0; i < 8; i++)
      hash |= (uint64_t)*p++ << (8 * i);
    if (!gi_varint_get(&p, end, &n) || n > (uint64_t)(end - p))
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
    if (!gi_rec_counters(k, k->n_records - 1, row))
      return -ERANGE;
  }
  return 0;
}

/* What one scope's member holds after its name (":..."); 1 passes the
 * scope over, before its name is written. */
typedef int (*scope_value_fn)(const gen_interval_t *gi, const gi_scope_t *s,
                              gen_buf_t *buf);

/* head ("\"scopes\":{" and the like), then "<scope>":<value> for each
 * started scope that value takes, then "}": the one walk of the scopes for
 * every object of the header. */
static int scopes_print(const gen_interval_t *gi, gen_buf_t *buf,
                        const char *head, scope_value_fn value) {
  int status = gen_buf_add_str(buf, head);
  bool first = true;
  for (size_t i = 0; status == 0 && i < gi->n_scopes; i++) {
    const gi_scope_t *s = &gi->scopes[i];
    if (s->origin == 0 || value(gi, s, NULL) == 1)
      continue;
    status = first ? 0 : gen_buf_add(buf, ",", 1);
    first = false;
    if (status == 0)
      status = gen_buf_add_json_string(buf, s->id);
    if (status == 0)
      status = value(gi, s, buf);
  }
  return status == 0 ? gen_buf_add(buf, "}", 1) : status;
}

/* ":[origin,done_until]": a scope's progress. */
static int progress_value(const gen_interval_t *gi, const gi_scope_t *s,
                          gen_buf_t *buf) {
  (void)gi;
  return buf == NULL ? 0
                     : gen_buf_printf(buf, ":[%" PRId64 ",%" PRId64 "]",
                                      s->origin, s->done_until);
}

/* ,"revisits":{"<scope>":{"<age ms>":<watermark>,…},…}: the schedule's
 * progress, apart from "scopes" so that a file stays readable both ways
 * between versions with and without it. */
static int revisits_value(const gen_interval_t *gi, const gi_scope_t *s,
                          gen_buf_t *buf) {
  if (buf == NULL)
    return 0;
  int status = gen_buf_add(buf, ":{", 2);
  bool any = false;
  for (size_t a = 0; status == 0 && a < gi->stages.n; a++) {
    if (s->revisit_w[a] == GEN_REVISIT_UNSET)
      continue;
    status = gen_buf_printf(buf, "%s\"%" PRId64 "\":%" PRId64, any ? "," : "",
                            gi->stages.age_ms[a], s->revisit_w[a]);
    any = true;
  }
  return status == 0 ? gen_buf_add(buf, "}", 1) : status;
}

/* ,"marks":{"<scope>":<progress>,…}: the scopes' marks (see "clock
 * steps"), apart from "scopes" as "revisits" is; a scope without one
 * passed over. */
static int marks_value(const gen_interval_t *gi, const gi_scope_t *s,
                       gen_buf_t *buf) {
  (void)gi;
  if (s->mark == 0)
    return 1;
  return buf == NULL ? 0 : gen_buf_printf(buf, ":%" PRId64, s->mark);
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

/* Reads "revisits" (see revisits_value) for the ages still in the
 * schedule; the others start afresh at their first plan, and so does an
 * age whose watermark is refused. */
static int revisits_load(gen_interval_t *gi, json_object *revisits) {
  json_object_object_foreach(revisits, id, ages) {
    ssize_t s = gi_scope_get(gi, id, false);
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
                     gi->j_id, gi_records_live(gi), gi->clock);
  if (status == 0 && gi->mark_at != 0)
    status = gen_buf_printf(buf, ",\"mark\":[%" PRId64 ",%" PRId64 "]",
                            gi->mark_at, gi->mark_since);
  if (status == 0)
    status = scopes_print(gi, buf, ",\"scopes\":{", progress_value);
  if (status == 0 && gi->stages.n > 0)
    status = scopes_print(gi, buf, ",\"revisits\":{", revisits_value);
  if (status == 0 && gi->mark_at != 0)
    status = scopes_print(gi, buf, ",\"marks\":{", marks_value);
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
int gi_state_save(gen_interval_t *gi, const char *path) {
  gen_state_stream_t s;
  int status = gen_state_stream_open(&s, path);
  if (status == 0)
    status = state_print(gi, &s.buf, &s);
  return gen_state_stream_close(&s, status == 0);
}

int gi_next_path(const gen_interval_t *gi, char *path, size_t size) {
  return snprintf(path, size, "%s.next", gi->state_path) >= (int)size
             ? -ENAMETOOLONG
             : 0;
}

/* The key of the state file's (and the journal's) text, in scope. */
ssize_t gi_key_load(gen_interval_t *gi, const char *key, size_t scope) {
  char *text = strdup(key);
  if (text == NULL)
    return -ENOMEM;
  gen_key_t typed;
  ssize_t k =
      gen_key_parse(text, &typed) ? gi_key_get(gi, &typed, scope) : -EINVAL;
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
  ssize_t s = gi_scope_get(gi, scope_id, true);
  if (s < 0)
    return (int)s;
  ssize_t k = gi_key_load(gi, key, (size_t)s);
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
      status = gi_record_put(gi, kk, start, hash, counters, n_counters);
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

/* Reads "marks" (see marks_value) for the started scopes; a mark not ours
 * is refused alone (the scope is put back as without one). */
static void marks_load(gen_interval_t *gi, json_object *marks) {
  json_object_object_foreach(marks, id, v) {
    ssize_t s = gi_scope_get(gi, id, false);
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
      ssize_t s = gi_scope_get(gi, id, true);
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

/* A "<state_path>.next" at start was taken by a run that ended before the
 * read after it: its buckets' values may have been lost in collectd's write
 * queue, so it is not restored (the state file's older state asks for them
 * again). Removed, not left beside the state file until the next save. */
static void next_discard(const gen_interval_t *gi) {
  char next[PATH_MAX];
  if (gi_next_path(gi, next, sizeof(next)) != 0)
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

void gi_state_load(gen_interval_t *gi) {
  if (gi->state_path == NULL)
    return;
  next_discard(gi);
  gi_load_t l = {.gi = gi};
  int status =
      gen_state_load_each(gi->state_path, GI_STATE_MAX_SIZE, state_entry, &l);
  if (status == -ENOENT) {
    gi_journal_remove(gi);
    gi_journal_load(gi);
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
    gi_state_forget(gi);
    gi->durable = 0;
    gi->j_read = false;
    gi->j_records = -1;
    gi->clock = gi->mark_at = gi->mark_since = 0;
    gi->n_marked = 0;
    gi_journal_remove(gi);
  }
  gi_journal_load(gi);
}
