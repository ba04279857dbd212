/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: gen_interval's records journal, "<state>.records".
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
 * not 0 the varint of its name's id and its value (gi_rec_value_put); a later
 * R of the same key and bucket replaces it. A record goes when the state's
 * progress no longer needs it (gi_scope_keep): derived again at load, so a
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
int64_t gi_window_keep(const gen_interval_t *gi, int64_t done) {
  int64_t g = gi->o.granularity_ms;
  return gi_floor_to(done - gi->o.revisit_ms, g) - g;
}

/* Where the records of s may go: none that a revisit may still ask for,
 * within the window or before a scheduled one, nor any that a clock put
 * back may ask for again (its mark's window and after, see "clock
 * steps"). */
int64_t gi_scope_keep(const gen_interval_t *gi, const gi_scope_t *s) {
  int64_t keep = gi_window_keep(gi, s->done_until);
  if (s->mark != 0 && gi_window_keep(gi, s->mark) < keep)
    keep = gi_window_keep(gi, s->mark);
  for (size_t a = 0; a < gi->stages.n; a++)
    if (s->revisit_w[a] < keep)
      keep = s->revisit_w[a];
  return keep;
}

/* Record i of k as named counters (those not 0): *n of them in out. */
static bool rec_nums(const gi_key_t *k, size_t i, gi_num_t *out, size_t *n) {
  double row[GI_MAX_NAMES];
  *n = 0;
  if (!gi_rec_counters(k, i, row))
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
    status = gi_key_json(k->key, b);
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
  size_t len = gi_varint_put(enc, bucket);
  int status = 0;
  for (int i = 0; i < 8; i++)
    enc[len++] = (uint8_t)(hash >> (8 * i));
  for (size_t i = 0; status == 0 && i < n; i++) {
    if (!gi->names[nums[i].name].counter || nums[i].value == 0)
      continue;
    if (!gi->names[nums[i].name].jdef)
      status = jline_name(gi, b, nums[i].name);
    len += gi_varint_put(enc + len, nums[i].name);
    len += gi_rec_value_put(enc + len, nums[i].value);
  }
  if (status == 0 && !gi->keys[key].jdef)
    status = jline_key(gi, b, key);
  if (status == 0)
    status = gen_buf_printf(b, "R %zu ", key);
  if (status == 0)
    status = gen_buf_add_base64(b, enc, len);
  return status == 0 ? gen_buf_add(b, "\n", 1) : status;
}

void gi_undo_free(gi_key_t *k) {
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
    gi_undo_free(&gi->keys[i]);
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
  ssize_t at = gi_record_find(gi, k, start);
  if (at < 0) {
    size_t i = fresh_at(k, bucket);
    if (gi_grow((void **)&k->fresh, &k->cap_fresh, k->n_fresh + 1,
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
  if (gi_grow((void **)&k->undo, &k->cap_undo, k->n_undo + 1,
              sizeof(*k->undo)) != 0)
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
int gi_record_change(gen_interval_t *gi, size_t key, int64_t start,
                     uint64_t hash, const gi_num_t *values, size_t n) {
  gi_key_t *k = &gi->keys[key];
  if (gi->jf.fd < 0 && gi->j_lazy && journal_start(gi) == 0)
    gi->j_lazy = false;
  int status = undo_note(gi, k, start);
  if (status == 0)
    status = gi_record_put(gi, k, start, hash, values, n);
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
int gi_journal_flush(gen_interval_t *gi) {
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
int gi_journal_sync(gen_interval_t *gi) {
  int status = gi_journal_flush(gi);
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
  int status = gi_journal_flush(gi);
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
uint64_t gi_records_live(const gen_interval_t *gi) {
  uint64_t n = 0;
  for (size_t i = 0; i < gi->n_keys; i++)
    n += gi->keys[i].n_records;
  return n;
}

/* After a state file: compacts the journal when its dead entries outnumber
 * its live ones, or past its bound. */
void gi_journal_maybe_compact(gen_interval_t *gi) {
  if (gi->jf.fd < 0 || gi->durable + 1 != gi->epoch)
    return;
  uint64_t live = gi_records_live(gi);
  if ((gi->j_entries >= GI_JOURNAL_MIN && gi->j_entries > 2 * live) ||
      (gi->jf.len > GI_JOURNAL_MAX && gi->j_entries > live + live / 3))
    journal_compact(gi);
}

/* The state's epoch is now a state file (gen_interval_save, or a commit
 * without defer_save): records before keep may go. */
void gi_epoch_durable(gen_interval_t *gi, uint64_t epoch, bool held) {
  gi->durable = epoch;
  for (size_t i = 0; i < gi->n_scopes; i++)
    gi->scopes[i].keep_d = held ? gi->scopes[i].keep_h : gi->scopes[i].keep_now;
}

/* A snapshot of the state was taken: the changes after it are the next
 * epoch's. */
void gi_epoch_next(gen_interval_t *gi) {
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
    int idx = status == 0 ? gi_name_index(gi, json_object_get_string(doc), true)
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
    ssize_t s = status == 0
                    ? gi_scope_get(gi, json_object_get_string(scope), true)
                    : status;
    ssize_t k =
        s >= 0 ? gi_key_load(gi, json_object_get_string(key), (size_t)s) : s;
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
    if (n < 0 || !gi_varint_get(&p, e, &bucket) || bucket > UINT32_MAX ||
        e - p < 8)
      return -EINVAL;
    for (int i = 0; i < 8; i++)
      hash |= (uint64_t)*p++ << (8 * i);
    while (p < e) {
      if (n_nums == GI_MAX_NAMES || !gi_varint_get(&p, e, &name) ||
          name >= ids->n_names || ids->names[name] == 0 ||
          !gi_rec_value_get(&p, e, &nums[n_nums].value))
        return -EINVAL;
      nums[n_nums++].name = (uint16_t)(ids->names[name] - 1);
    }
    status = gi_record_put(gi, &gi->keys[ids->keys[id] - 1],
                           (int64_t)bucket * gi->o.granularity_ms, hash, nums,
                           n_nums);
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
void gi_journal_load(gen_interval_t *gi) {
  bool replayed = gi->j_read && journal_replay(gi);
  for (size_t i = 0; i < gi->n_scopes; i++) {
    gi_scope_t *s = &gi->scopes[i];
    s->keep_d = s->origin != 0 ? gi_scope_keep(gi, s) : INT64_MIN;
    s->keep_h = s->keep_now = s->keep_d;
    for (size_t j = 0; j < s->n_keys; j++)
      gi_records_prune(gi, &gi->keys[s->keys[j]], s->keep_d);
  }
  gi->epoch = gi->durable + 1;
  if (replayed) {
    journal_open(gi, false);
    return;
  }
  if (gi_records_live(gi) == 0) {
    gi->j_lazy = gi->rec_path != NULL;
    return;
  }
  /* the state file's own records, as of its epoch */
  gi->j_entries = 0;
  journal_compact(gi);
}

/* A journal without its state file is of no use: removed. */
void gi_journal_remove(const gen_interval_t *gi) {
  if (gi->rec_path != NULL && unlink(gi->rec_path) == 0)
    gen_log_org(gi->o.who, NULL, LOG_INFO,
                "%s removed: no state file of its records", gi->rec_path);
}
