/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: conversation tracking (see gen_conv.h).
 */
#include "gen_conv.h"

#include "gen_config.h"
#include "gen_dispatch.h"
#include "gen_json.h"
#include "gen_map.h"
#include "gen_slots.h"
#include "gen_time.h"
#include "gen_utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- reading a snapshot ---------------------------------------------- */

/* The API's per-media session arrays, in gen_media_t order. */
static const char *const media_arrays[GEN_MEDIA_COUNT] = {
    "calls",    "callbacks",        "chats",  "emails",
    "messages", "cobrowsesessions", "videos", "screenshares"};

static void newest(int64_t *cur, int64_t ms) {
  if (ms > *cur)
    *cur = ms;
}

/* An ISO-8601 time member in epoch ms; 0 when absent or not one. */
static int64_t time_of(json_object *obj, const char *key) {
  const char *text = gen_json_get_string(obj, key);
  int64_t ms = 0;
  if (text == NULL || gen_time_parse(text, &ms) != 0)
    return 0;
  return ms;
}

/* Words of the API (any case) and what they say; a word not in a table
 * says 0 (GEN_CONV_P_OTHER, GEN_CONV_S_NONE). */
typedef struct {
  const char *word;
  int value;
} word_t;

static const word_t purposes[] = {
    {"customer", GEN_CONV_P_CUSTOMER}, {"external", GEN_CONV_P_CUSTOMER},
    {"acd", GEN_CONV_P_ACD},           {"agent", GEN_CONV_P_AGENT},
    {"user", GEN_CONV_P_AGENT},        {NULL, 0}};
static const word_t session_states[] = {
    {"connected", GEN_CONV_S_CONNECTED}, {"disconnected", GEN_CONV_S_ENDED},
    {"terminated", GEN_CONV_S_ENDED},    {"alerting", GEN_CONV_S_ALERTING},
    {"offering", GEN_CONV_S_ALERTING},   {"contacting", GEN_CONV_S_ALERTING},
    {"dialing", GEN_CONV_S_ALERTING},    {NULL, 0}};
/* Session states known that say none of those (the SDKs' call states, a
 * callback's scheduled, a message's parked): not unknown words. */
static const word_t other_states[] = {
    {"none", 0},      {"uploading", 0}, {"converting", 0}, {"transmitting", 0},
    {"scheduled", 0}, {"parked", 0},    {NULL, 0}};

/* Whether s is a word of table t (any case). */
static bool word_known(const word_t *t, const char *s) {
  for (; t->word != NULL; t++)
    if (strcasecmp(s, t->word) == 0)
      return true;
  return false;
}

static int word_of(const word_t *t, const char *s) {
  for (; s != NULL && t->word != NULL; t++)
    if (strcasecmp(s, t->word) == 0)
      return t->value;
  return 0;
}

/* The participant's sessions of its one media type: the first non-empty
 * array in gen_media_t order. */
static void read_sessions(json_object *p, gen_conv_part_t *out,
                          int64_t *newest_ms, const char **unknown_state) {
  for (int m = 0; m < GEN_MEDIA_COUNT; m++) {
    json_object *arr = gen_json_get_array(p, media_arrays[m]);
    size_t len = arr ? json_object_array_length(arr) : 0;
    if (len == 0)
      continue;
    out->media = m;
    bool connected = false, alerting = false, ended = false;
    int64_t first_connected = 0, last_end = 0;
    for (size_t i = 0; i < len; i++) {
      json_object *s = json_object_array_get_idx(arr, i);
      if (!json_object_is_type(s, json_type_object))
        continue;
      const char *state = gen_json_get_string(s, "state");
      gen_conv_state_t st = (gen_conv_state_t)word_of(session_states, state);
      if (state != NULL && state[0] != '\0' && st == GEN_CONV_S_NONE &&
          !word_known(other_states, state))
        *unknown_state = state; /* a state Genesys added: no moment */
      connected = connected || st == GEN_CONV_S_CONNECTED;
      alerting = alerting || st == GEN_CONV_S_ALERTING;
      ended = ended || st == GEN_CONV_S_ENDED;
      int64_t c = time_of(s, "connectedTime");
      int64_t d = time_of(s, "disconnectedTime");
      newest(newest_ms, c);
      newest(newest_ms, d);
      if (c != 0 && (first_connected == 0 || c < first_connected))
        first_connected = c;
      if (d > last_end)
        last_end = d;
      const char *type = gen_json_get_string(s, "disconnectType");
      if (st == GEN_CONV_S_ENDED && type != NULL)
        out->by_transfer = strcasestr(type, "transfer") != NULL;
    }
    out->state = connected  ? GEN_CONV_S_CONNECTED
                 : alerting ? GEN_CONV_S_ALERTING
                 : ended    ? GEN_CONV_S_ENDED
                            : GEN_CONV_S_NONE;
    if (out->connected_ms == 0)
      out->connected_ms = first_connected;
    if (out->end_ms == 0 && out->state == GEN_CONV_S_ENDED)
      out->end_ms = last_end;
    return;
  }
}

/* An id member: NULL when absent or not a string; *bad when it is one that
 * cannot be a name or key (empty, too long, not UTF-8, a NUL inside). */
static const char *id_of(json_object *obj, const char *key, size_t max,
                         bool *bad) {
  json_object *v = NULL;
  *bad = false;
  if (!json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  const char *s = json_object_get_string(v);
  size_t len = (size_t)json_object_get_string_len(v);
  *bad = len == 0 || len > max || memchr(s, '\0', len) != NULL ||
         !gen_utf8_valid((const unsigned char *)s, len);
  return s;
}

__attribute__((format(printf, 3, 4))) static int
refuse(char *err, size_t err_size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
  return -EBADMSG;
}

#define ID_MAX (GEN_CONV_ID_SIZE - 1)

int gen_conv_from_json(json_object *body, gen_conv_snapshot_t *out, char *err,
                       size_t err_size) {
  out->n_parts = 0;
  out->parts_truncated = false;
  out->newest_ms = 0;
  out->unknown_state = NULL;
  out->id[0] = '\0';
  if (!json_object_is_type(body, json_type_object))
    return refuse(err, err_size, "eventBody is not an object");
  bool bad;
  const char *id = id_of(body, "id", ID_MAX, &bad);
  if (id == NULL || bad)
    return refuse(err, err_size,
                  "conversation id missing, not a string or not 1-%d bytes of "
                  "UTF-8 without NUL",
                  ID_MAX);
  json_object *parts = gen_json_get_array(body, "participants");
  if (parts == NULL)
    return refuse(err, err_size, "participants missing or not an array");
  size_t len = json_object_array_length(parts);
  for (size_t i = 0; i < len; i++) {
    json_object *p = json_object_array_get_idx(parts, i);
    if (!json_object_is_type(p, json_type_object))
      return refuse(err, err_size, "participant %zu is not an object", i);
    gen_conv_part_t part = {.media = -1};
    const char *pid = id_of(p, "id", SIZE_MAX, &bad);
    if (pid == NULL)
      return refuse(err, err_size, "participant %zu has no id", i);
    if (bad)
      return refuse(err, err_size,
                    "participant %zu: id is not UTF-8 without NUL", i);
    part.id_hash = gen_hash_id(pid);
    part.purpose = (gen_conv_purpose_t)word_of(
        purposes, gen_json_get_string(p, "purpose"));
    const char *queue = id_of(p, "queueId", ID_MAX, &bad);
    if (bad)
      return refuse(err, err_size, "participant %zu: bad queueId", i);
    if (queue != NULL)
      strcpy(part.queue_id, queue);
    part.connected_ms = time_of(p, "connectedTime");
    part.end_ms = time_of(p, "endTime");
    newest(&out->newest_ms, part.connected_ms);
    newest(&out->newest_ms, part.end_ms);
    newest(&out->newest_ms, time_of(p, "startAcwTime"));
    newest(&out->newest_ms, time_of(p, "endAcwTime"));
    read_sessions(p, &part, &out->newest_ms, &out->unknown_state);
    if (part.end_ms != 0 && part.state != GEN_CONV_S_CONNECTED)
      part.state = GEN_CONV_S_ENDED;
    if (part.purpose == GEN_CONV_P_OTHER)
      continue; /* ivr, workflow, …: nothing to count */
    if (out->n_parts == GEN_CONV_MAX_PARTS) {
      out->parts_truncated = true;
      continue;
    }
    out->parts[out->n_parts++] = part;
  }
  strcpy(out->id, id);
  return 0;
}

/* ---- the tracker ----------------------------------------------------- */

/* Participants remembered per conversation (acd and agent ones; customers
 * only mark the end). More than this are not counted. */
#define TRACK_PARTS 12
/* Of those, the ones kept in the entry: a conversation usually has 3-4
 * (an acd and an agent or two per queue it visited). */
#define INLINE_PARTS 4

enum {
  F_SEEN = 0x1,     /* offered / alerted */
  F_ANSWERED = 0x2, /* agent connected */
  F_ENDED = 0x4,    /* abandoned, unanswered or ended */
};

/* The participants of a conversation that has more than INLINE_PARTS, all
 * of them (up to TRACK_PARTS) in one allocation. */
typedef struct {
  uint64_t parts[TRACK_PARTS];
  uint8_t flags[TRACK_PARTS];
} spill_t;

/* A conversation, known by gen_hash_id of its id: a new id whose hash a
 * tracked one has would be taken for it (a chance of tracked / 2^64). */
typedef struct {
  uint64_t key;
  int64_t last_ms;
  int32_t prev, next; /* in its age list; the free list uses next */
  uint8_t finished;
  uint8_t n;                   /* participants, up to TRACK_PARTS */
  uint8_t flags[INLINE_PARTS]; /* n <= INLINE_PARTS */
  union {
    uint64_t parts[INLINE_PARTS]; /* n <= INLINE_PARTS */
    spill_t *spill;               /* n > INLINE_PARTS */
  } p;
} entry_t;

_Static_assert(sizeof(entry_t) <= 64, "a conversation is one cache line");
_Static_assert(TRACK_PARTS <= UINT8_MAX, "entry_t.n is a byte");

struct gen_conv_tracker_s {
  gen_conv_options_t opt;
  entry_t *entries;
  gen_slots_t slots; /* of entries */
  size_t used;
  size_t n_spilled;         /* entries with a spill_t */
  gen_index_t index;        /* key -> entry; room for every slot used */
  int32_t head[2], tail[2]; /* age lists: 0 unfinished, 1 finished */
  int64_t clock_ms;         /* newest event time seen */
  gen_conv_stats_t st;
};

static uint64_t entry_hash(const void *owner, uint32_t item) {
  const gen_conv_tracker_t *t = owner;
  return t->entries[item].key;
}

static bool entry_equal(const void *owner, uint32_t item, const void *key) {
  const gen_conv_tracker_t *t = owner;
  return t->entries[item].key == *(const uint64_t *)key;
}

static const gen_index_ops_t entry_ops = {entry_hash, entry_equal};

/* Room in the index for every slot used, asked before a new one is taken:
 * adding a taken entry to the index then cannot fail. */
static int entry_room(void *owner, size_t n) {
  gen_conv_tracker_t *t = owner;
  return gen_index_reserve(&t->index, &entry_ops, t, n);
}

gen_conv_tracker_t *gen_conv_tracker_new(const gen_conv_options_t *options) {
  gen_conv_tracker_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->opt = *options;
  if (t->opt.max_conversations < 16)
    t->opt.max_conversations = 16;
  gen_slots_init(&t->slots, sizeof(entry_t), offsetof(entry_t, next),
                 t->opt.max_conversations);
  t->head[0] = t->head[1] = t->tail[0] = t->tail[1] = -1;
  return t;
}

static void parts_free(gen_conv_tracker_t *t, entry_t *e) {
  if (e->n > INLINE_PARTS) {
    free(e->p.spill);
    t->n_spilled--;
  }
  e->n = 0;
}

void gen_conv_tracker_free(gen_conv_tracker_t *t) {
  if (t == NULL)
    return;
  for (int l = 0; l < 2; l++)
    for (int32_t i = t->head[l]; i >= 0; i = t->entries[i].next)
      parts_free(t, &t->entries[i]);
  gen_slots_free(&t->slots, (void **)&t->entries);
  gen_index_free(&t->index);
  free(t);
}

static void list_unlink(gen_conv_tracker_t *t, int32_t i) {
  entry_t *e = &t->entries[i];
  int l = e->finished;
  if (e->prev >= 0)
    t->entries[e->prev].next = e->next;
  else
    t->head[l] = e->next;
  if (e->next >= 0)
    t->entries[e->next].prev = e->prev;
  else
    t->tail[l] = e->prev;
}

static void list_append(gen_conv_tracker_t *t, int32_t i) {
  entry_t *e = &t->entries[i];
  int l = e->finished;
  e->next = -1;
  e->prev = t->tail[l];
  if (t->tail[l] >= 0)
    t->entries[t->tail[l]].next = i;
  else
    t->head[l] = i;
  t->tail[l] = i;
}

static int32_t find(const gen_conv_tracker_t *t, uint64_t key) {
  return (int32_t)gen_index_find(&t->index, &entry_ops, t, &key, key);
}

static void remove_entry(gen_conv_tracker_t *t, int32_t i) {
  entry_t *e = &t->entries[i];
  gen_index_del(&t->index, &entry_ops, t, (uint32_t)i, e->key);
  list_unlink(t, i);
  parts_free(t, e);
  gen_slots_put(&t->slots, t->entries, i);
  t->used--;
}

/* A free entry: a slot (the array grows, doubling up to the cap, with room
 * in the index kept), or else the oldest finished conversation's, else the
 * oldest unfinished one's. */
static int32_t insert(gen_conv_tracker_t *t, uint64_t key, int64_t now_ms) {
  int32_t i = gen_slots_take(&t->slots, (void **)&t->entries, entry_room, t);
  if (i == -E2BIG) {
    int32_t victim = t->head[1] >= 0 ? t->head[1] : t->head[0];
    if (victim < 0)
      return -1;
    remove_entry(t, victim);
    t->st.evicted++;
    i = gen_slots_take(&t->slots, (void **)&t->entries, entry_room, t);
  }
  if (i < 0)
    return -1;
  entry_t *e = &t->entries[i];
  memset(e, 0, sizeof(*e));
  e->key = key;
  e->last_ms = now_ms;
  gen_index_add(&t->index, &entry_ops, t, (uint32_t)i, key); /* room kept */
  list_append(t, i);
  t->used++;
  return i;
}

void gen_conv_expire(gen_conv_tracker_t *t, int64_t now_ms) {
  const int64_t keep[2] = {t->opt.timeout_ms, t->opt.linger_ms};
  for (int l = 0; l < 2; l++)
    while (t->head[l] >= 0 &&
           now_ms - t->entries[t->head[l]].last_ms > keep[l]) {
      remove_entry(t, t->head[l]);
      t->st.expired++;
    }
}

/* The flags of participant pid, in a new slot when it is not there yet;
 * NULL past TRACK_PARTS, or when the spill cannot be allocated: that
 * participant is not counted. */
static uint8_t *flags_of(gen_conv_tracker_t *t, entry_t *e, uint64_t pid) {
  bool spilled = e->n > INLINE_PARTS;
  uint64_t *parts = spilled ? e->p.spill->parts : e->p.parts;
  uint8_t *flags = spilled ? e->p.spill->flags : e->flags;
  for (int i = 0; i < e->n; i++)
    if (parts[i] == pid)
      return &flags[i];
  if (e->n == TRACK_PARTS)
    return NULL;
  if (e->n == INLINE_PARTS) {
    spill_t *s = malloc(sizeof(*s));
    if (s == NULL)
      return NULL;
    memcpy(s->parts, e->p.parts, sizeof(e->p.parts));
    memcpy(s->flags, e->flags, sizeof(e->flags));
    e->p.spill = s;
    t->n_spilled++;
    parts = s->parts;
    flags = s->flags;
  }
  parts[e->n] = pid;
  flags[e->n] = 0;
  return &flags[e->n++];
}

typedef struct {
  const gen_conv_snapshot_t *snap;
  bool first;      /* conversation first seen with this snapshot */
  bool alert_only; /* first seen while an agent alerts: count that alert */
  gen_conv_emit_t emit;
  void *ud;
  int emitted;
} apply_ctx_t;

/* Emits a moment unless the conversation is first seen and the moment is
 * older than the change this snapshot reports. */
static void moment(apply_ctx_t *c, const gen_conv_part_t *p,
                   gen_conv_moment_t m, int64_t ts, int64_t wait_ms) {
  if (c->first) {
    bool current = c->alert_only ? (m == GEN_CONV_ALERTED)
                                 : (ts != 0 && ts == c->snap->newest_ms);
    if (!current)
      return;
  }
  c->emit(c->ud, p->queue_id, p->media, m, wait_ms, ts);
  c->emitted++;
}

/* The wait of an agent participant: from the connectedTime of the last acd
 * participant of the same queue before it. */
static int64_t wait_of(const gen_conv_snapshot_t *s, size_t agent) {
  const gen_conv_part_t *a = &s->parts[agent];
  for (size_t i = agent; i-- > 0;) {
    const gen_conv_part_t *q = &s->parts[i];
    if (q->purpose == GEN_CONV_P_ACD && strcmp(q->queue_id, a->queue_id) == 0) {
      if (q->connected_ms == 0 || a->connected_ms < q->connected_ms)
        return -1;
      return a->connected_ms - q->connected_ms;
    }
  }
  return -1;
}

int gen_conv_apply(gen_conv_tracker_t *t, const gen_conv_snapshot_t *snap,
                   int64_t now_ms, gen_conv_emit_t emit, void *ud) {
  gen_conv_expire(t, now_ms);
  uint64_t key = gen_hash_id(snap->id);
  int32_t i = find(t, key);
  apply_ctx_t c = {.snap = snap, .first = i < 0, .emit = emit, .ud = ud};
  if (c.first) {
    if (snap->newest_ms != 0 && t->clock_ms != 0 &&
        snap->newest_ms < t->clock_ms - t->opt.linger_ms) {
      t->st.stale++;
      return 0;
    }
    if ((i = insert(t, key, now_ms)) < 0)
      return 0;
    for (size_t k = 0; k < snap->n_parts; k++)
      if (snap->parts[k].purpose == GEN_CONV_P_AGENT &&
          snap->parts[k].state == GEN_CONV_S_ALERTING)
        c.alert_only = true;
  }
  if (snap->newest_ms > t->clock_ms)
    t->clock_ms = snap->newest_ms;
  entry_t *e = &t->entries[i];
  bool finished = false;
  for (size_t k = 0; k < snap->n_parts; k++) {
    const gen_conv_part_t *p = &snap->parts[k];
    if (p->purpose == GEN_CONV_P_CUSTOMER) {
      finished = finished || p->state == GEN_CONV_S_ENDED;
      continue;
    }
    uint8_t *f = flags_of(t, e, p->id_hash);
    if (f == NULL)
      continue;
    if (p->purpose == GEN_CONV_P_ACD) {
      if (!(*f & F_SEEN)) {
        *f |= F_SEEN;
        moment(&c, p, GEN_CONV_OFFERED, p->connected_ms, -1);
      }
      if (p->state == GEN_CONV_S_ENDED && !(*f & F_ENDED)) {
        *f |= F_ENDED;
        if (!p->by_transfer)
          moment(&c, p, GEN_CONV_ABANDONED, p->end_ms, -1);
      }
      continue;
    }
    if (!(*f & F_SEEN)) {
      *f |= F_SEEN;
      moment(&c, p, GEN_CONV_ALERTED, 0, -1);
    }
    if ((p->connected_ms != 0 || p->state == GEN_CONV_S_CONNECTED) &&
        !(*f & F_ANSWERED)) {
      *f |= F_ANSWERED;
      moment(&c, p, GEN_CONV_ANSWERED, p->connected_ms, wait_of(snap, k));
    }
    if (p->state == GEN_CONV_S_ENDED && !(*f & F_ENDED)) {
      *f |= F_ENDED;
      if (!(*f & F_ANSWERED)) {
        moment(&c, p, GEN_CONV_UNANSWERED, p->end_ms, -1);
      } else {
        moment(&c, p, GEN_CONV_ENDED, p->end_ms, -1);
        if (p->by_transfer)
          moment(&c, p, GEN_CONV_TRANSFERRED, p->end_ms, -1);
      }
    }
  }
  /* Move to the tail of its (possibly new) age list. */
  list_unlink(t, i);
  e->last_ms = now_ms;
  e->finished = e->finished || finished;
  list_append(t, i);
  if (c.emitted == 0)
    t->st.replayed++;
  return c.emitted;
}

void gen_conv_tracker_stats(const gen_conv_tracker_t *t, gen_conv_stats_t *st) {
  *st = t->st;
  st->tracked = t->used;
  st->bytes = sizeof(*t) + t->slots.cap * sizeof(entry_t) +
              t->index.n_slots * sizeof(*t->index.slots) +
              t->n_spilled * sizeof(spill_t);
}

void gen_conv_dispatch_stats(const gen_conv_stats_t *st, const char *host,
                             const char *plugin) {
  gen_dispatch_self(host, plugin, "conv_tracked", NULL, false,
                    (double)st->tracked);
  gen_dispatch_self(host, plugin, "conv_evicted", NULL, true,
                    (double)st->evicted);
  gen_dispatch_self(host, plugin, "conv_stale", NULL, true, (double)st->stale);
}

static const gen_config_def_t conv_defs[] = {
    GEN_KEY_INT("MaxConversations", gen_conv_config_t, max_conversations, 100,
                10000000, 100000, "the most conversations tracked at once"),
    GEN_KEY_SECONDS("ConversationLinger", gen_conv_config_t, linger, 10, 86400,
                    900, "how long a finished conversation is remembered"),
    GEN_KEY_SECONDS("ConversationTimeout", gen_conv_config_t, timeout, 60,
                    7 * 86400, 14400,
                    "an unfinished conversation without events is forgotten"),
};

const gen_config_table_t gen_conv_keys = GEN_CONFIG_TABLE(conv_defs);

gen_conv_tracker_t *gen_conv_tracker_from_config(const gen_conv_config_t *c) {
  gen_conv_options_t options = {.max_conversations =
                                    (size_t)c->max_conversations,
                                .linger_ms = gen_cdtime_to_ms(c->linger),
                                .timeout_ms = gen_cdtime_to_ms(c->timeout)};
  return gen_conv_tracker_new(&options);
}
