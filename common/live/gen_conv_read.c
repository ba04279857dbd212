/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the streaming reader of conversation event bodies (see
 * gen_conv_read.h). A token at a time: the container it is in (ctx) and
 * the key before it (key) say which field it is; everything else is
 * skipped by counting nesting.
 */
#include "gen_conv_read.h"

#include "gen_hash.h"
#include "gen_time.h"
#include "gen_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Containers, by what opened them. */
enum { C_NONE = 0, C_BODY, C_PARTS, C_PART, C_MEDIA, C_SESSION };

/* Fields: what a value is, seen from its container. */
enum {
  S_IGNORE = 0,
  S_BODY,
  S_ID,
  S_PARTS,
  S_PART,
  S_P_ID,
  S_P_PURPOSE,
  S_P_QUEUE,
  S_P_CONNECTED,
  S_P_END,
  S_P_ACW_START,
  S_P_ACW_END,
  S_SESSION,
  S_S_STATE,
  S_S_CONNECTED,
  S_S_DISCONNECTED,
  S_S_TYPE,
  S_P_MEDIA, /* + gen_media_t: one slot per media array */
  S_NUM = S_P_MEDIA + GEN_MEDIA_COUNT
};
_Static_assert(S_NUM <= 32, "seen[] holds one bit per slot");

/* Fields that must be there with their type; the others count as absent
 * when of another type. */
#define REQUIRED(slot)                                                         \
  ((slot) == S_BODY || (slot) == S_ID || (slot) == S_PARTS ||                  \
   (slot) == S_PART || (slot) == S_P_ID)

static const char *const slot_path[S_NUM] = {
    [S_BODY] = "eventBody",
    [S_ID] = "eventBody.id",
    [S_PARTS] = "eventBody.participants",
    [S_PART] = "participants[]",
    [S_P_ID] = "participants[].id",
    [S_P_PURPOSE] = "participants[].purpose",
    [S_P_QUEUE] = "participants[].queueId",
    [S_P_CONNECTED] = "participants[].connectedTime",
    [S_P_END] = "participants[].endTime",
    [S_P_ACW_START] = "participants[].startAcwTime",
    [S_P_ACW_END] = "participants[].endAcwTime",
    [S_SESSION] = "sessions[]",
    [S_S_STATE] = "sessions[].state",
    [S_S_CONNECTED] = "sessions[].connectedTime",
    [S_S_DISCONNECTED] = "sessions[].disconnectedTime",
    [S_S_TYPE] = "sessions[].disconnectType",
};

static const char *path_of(unsigned slot) {
  if (slot >= S_P_MEDIA)
    return "participants[] media array";
  return slot_path[slot];
}

/* The token type each field takes. */
static gen_conv_token_t type_of(unsigned slot) {
  switch (slot) {
  case S_BODY:
  case S_PART:
  case S_SESSION:
    return GEN_CONV_T_START_MAP;
  case S_PARTS:
    return GEN_CONV_T_START_ARRAY;
  default:
    return slot >= S_P_MEDIA ? GEN_CONV_T_START_ARRAY : GEN_CONV_T_STRING;
  }
}

__attribute__((format(printf, 3, 4))) static int
refuse(gen_conv_reader_t *r, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
  va_end(ap);
  r->status = status;
  return status;
}

void gen_conv_read_begin(gen_conv_reader_t *r, gen_conv_snapshot_t *out) {
  r->out = out;
  r->status = 0;
  r->reason[0] = '\0';
  r->depth = 0;
  r->skip = 0;
  r->key = S_IGNORE;
  r->n_read = 0;
  out->id[0] = '\0';
  out->n_parts = 0;
  out->parts_truncated = false;
  out->newest_ms = 0;
}

/* ---- field values ------------------------------------------------------ */

#define IEQ(s, n, lit)                                                         \
  ((n) == sizeof(lit) - 1 && gen_ascii_ieq(s, lit, sizeof(lit) - 1))

/* "transfer" anywhere, in any case (consultTransfer, TRANSFER, …). */
static bool has_transfer(const unsigned char *s, size_t n) {
  static const char word[] = "transfer";
  const size_t l = sizeof(word) - 1;
  for (size_t i = 0; i + l <= n; i++)
    if (gen_ascii_ieq(s + i, word, l))
      return true;
  return false;
}

static gen_conv_purpose_t purpose_of(const unsigned char *s, size_t n) {
  if (IEQ(s, n, "customer") || IEQ(s, n, "external"))
    return GEN_CONV_P_CUSTOMER;
  if (IEQ(s, n, "acd"))
    return GEN_CONV_P_ACD;
  if (IEQ(s, n, "agent") || IEQ(s, n, "user"))
    return GEN_CONV_P_AGENT;
  return GEN_CONV_P_OTHER;
}

static gen_conv_state_t session_state(const unsigned char *s, size_t n) {
  if (IEQ(s, n, "connected"))
    return GEN_CONV_S_CONNECTED;
  if (IEQ(s, n, "disconnected") || IEQ(s, n, "terminated"))
    return GEN_CONV_S_ENDED;
  if (IEQ(s, n, "alerting") || IEQ(s, n, "offering") ||
      IEQ(s, n, "contacting") || IEQ(s, n, "dialing"))
    return GEN_CONV_S_ALERTING;
  return GEN_CONV_S_NONE;
}

/* An ISO-8601 time in epoch ms; 0 when it is not one. */
static int64_t time_of(const unsigned char *s, size_t n) {
  char buf[64];
  int64_t ms = 0;
  if (n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
    return 0;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return gen_time_parse(buf, &ms) == 0 ? ms : 0;
}

static void newest(int64_t *cur, int64_t ms) {
  if (ms > *cur)
    *cur = ms;
}

/* Ids become names and keys: whole, UTF-8, no NUL. */
static bool id_ok(const unsigned char *s, size_t n) {
  return memchr(s, '\0', n) == NULL && gen_utf8_valid(s, n);
}

static int copy_id(gen_conv_reader_t *r, char *dst, const unsigned char *s,
                   size_t n, const char *what) {
  if (n == 0 || n >= GEN_CONV_ID_SIZE)
    return refuse(r, GEN_CONV_READ_VALUE, "%s is %zu bytes long (1-%d)", what,
                  n, GEN_CONV_ID_SIZE - 1);
  if (!id_ok(s, n))
    return refuse(r, GEN_CONV_READ_VALUE, "%s is not UTF-8 without NUL", what);
  memcpy(dst, s, n);
  dst[n] = '\0';
  return 0;
}

static int string_field(gen_conv_reader_t *r, unsigned slot,
                        const unsigned char *s, size_t n) {
  gen_conv_part_t *p = &r->part;
  switch (slot) {
  case S_ID:
    return copy_id(r, r->out->id, s, n, "conversation id");
  case S_P_ID:
    if (!id_ok(s, n))
      return refuse(r, GEN_CONV_READ_VALUE,
                    "participant %zu: id is not UTF-8 without NUL", r->n_read);
    p->id_hash = gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, s, n);
    r->part_has_id = true;
    return 0;
  case S_P_PURPOSE:
    p->purpose = purpose_of(s, n);
    return 0;
  case S_P_QUEUE:
    if (copy_id(r, p->queue_id, s, n, "queueId") != 0)
      return refuse(r, GEN_CONV_READ_VALUE, "participant %zu: bad queueId",
                    r->n_read);
    return 0;
  case S_P_CONNECTED:
    newest(&r->out->newest_ms, p->connected_ms = time_of(s, n));
    return 0;
  case S_P_END:
    newest(&r->out->newest_ms, p->end_ms = time_of(s, n));
    return 0;
  case S_P_ACW_START:
  case S_P_ACW_END:
    newest(&r->out->newest_ms, time_of(s, n));
    return 0;
  case S_S_STATE:
    r->s_state = session_state(s, n);
    return 0;
  case S_S_CONNECTED:
    r->s_connected = time_of(s, n);
    return 0;
  case S_S_DISCONNECTED:
    r->s_disconnected = time_of(s, n);
    return 0;
  case S_S_TYPE:
    r->s_has_type = true;
    r->s_transfer = has_transfer(s, n);
    return 0;
  default:
    return 0;
  }
}

/* ---- containers ---------------------------------------------------------- */

static void begin_part(gen_conv_reader_t *r) {
  memset(&r->part, 0, sizeof(r->part));
  r->part.media = -1;
  r->part_has_id = false;
  memset(r->acc, 0, sizeof(r->acc));
}

static void end_session(gen_conv_reader_t *r) {
  gen_conv_media_acc_t *a = &r->acc[r->media];
  a->connected = a->connected || r->s_state == GEN_CONV_S_CONNECTED;
  a->alerting = a->alerting || r->s_state == GEN_CONV_S_ALERTING;
  a->ended = a->ended || r->s_state == GEN_CONV_S_ENDED;
  int64_t c = r->s_connected, d = r->s_disconnected;
  newest(&a->newest, c);
  newest(&a->newest, d);
  if (c != 0 && (a->first_connected == 0 || c < a->first_connected))
    a->first_connected = c;
  if (d > a->last_end)
    a->last_end = d;
  if (r->s_state == GEN_CONV_S_ENDED && r->s_has_type)
    a->by_transfer = r->s_transfer;
}

/* The participant's one media type: the first non-empty array in
 * gen_media_t order, whatever order the object lists them in. */
static void take_media(gen_conv_reader_t *r) {
  gen_conv_part_t *p = &r->part;
  for (int m = 0; m < GEN_MEDIA_COUNT; m++) {
    const gen_conv_media_acc_t *a = &r->acc[m];
    if (!a->present)
      continue;
    p->media = m;
    p->state = a->connected  ? GEN_CONV_S_CONNECTED
               : a->alerting ? GEN_CONV_S_ALERTING
               : a->ended    ? GEN_CONV_S_ENDED
                             : GEN_CONV_S_NONE;
    p->by_transfer = a->by_transfer;
    if (p->connected_ms == 0)
      p->connected_ms = a->first_connected;
    if (p->end_ms == 0 && p->state == GEN_CONV_S_ENDED)
      p->end_ms = a->last_end;
    newest(&r->out->newest_ms, a->newest);
    return;
  }
}

static int end_part(gen_conv_reader_t *r) {
  gen_conv_snapshot_t *out = r->out;
  gen_conv_part_t *p = &r->part;
  size_t i = r->n_read++;
  if (!r->part_has_id)
    return refuse(r, GEN_CONV_READ_TYPE, "participant %zu has no id", i);
  take_media(r);
  if (p->end_ms != 0 && p->state != GEN_CONV_S_CONNECTED)
    p->state = GEN_CONV_S_ENDED;
  if (p->purpose == GEN_CONV_P_OTHER)
    return 0; /* ivr, workflow, …: nothing to count */
  if (out->n_parts == GEN_CONV_MAX_PARTS) {
    out->parts_truncated = true;
    return 0;
  }
  out->parts[out->n_parts++] = *p;
  return 0;
}

static int close_container(gen_conv_reader_t *r) {
  unsigned c = r->ctx[r->depth];
  uint32_t seen = r->seen[r->depth];
  r->depth--;
  r->key = S_IGNORE;
  switch (c) {
  case C_SESSION:
    end_session(r);
    return 0;
  case C_PART:
    return end_part(r);
  case C_BODY:
    if (!(seen & (1u << S_ID)))
      return refuse(r, GEN_CONV_READ_TYPE,
                    "conversation id missing or not a string");
    if (!(seen & (1u << S_PARTS)))
      return refuse(r, GEN_CONV_READ_TYPE,
                    "participants missing or not an array");
    r->status = 1;
    return 1;
  default:
    return 0;
  }
}

static unsigned slot_of(const gen_conv_reader_t *r) {
  if (r->depth == 0)
    return S_BODY;
  switch (r->ctx[r->depth]) {
  case C_PARTS:
    return S_PART;
  case C_MEDIA:
    return S_SESSION;
  default:
    return r->key;
  }
}

static unsigned match_key(unsigned c, const unsigned char *k, size_t n) {
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
  switch (c) {
  case C_BODY:
    return IS("id") ? S_ID : IS("participants") ? S_PARTS : S_IGNORE;
  case C_PART:
    /* By length first: participants carry many keys this reader skips. */
    switch (n) {
    case 2:
      return IS("id") ? S_P_ID : S_IGNORE;
    case 5:
      return IS("calls")   ? S_P_MEDIA + GEN_MEDIA_VOICE
             : IS("chats") ? S_P_MEDIA + GEN_MEDIA_CHAT
                           : S_IGNORE;
    case 6:
      return IS("emails")   ? S_P_MEDIA + GEN_MEDIA_EMAIL
             : IS("videos") ? S_P_MEDIA + GEN_MEDIA_VIDEO
                            : S_IGNORE;
    case 7:
      return IS("purpose")   ? S_P_PURPOSE
             : IS("queueId") ? S_P_QUEUE
             : IS("endTime") ? S_P_END
                             : S_IGNORE;
    case 8:
      return IS("messages") ? S_P_MEDIA + GEN_MEDIA_MESSAGE : S_IGNORE;
    case 9:
      return IS("callbacks") ? S_P_MEDIA + GEN_MEDIA_CALLBACK : S_IGNORE;
    case 10:
      return IS("endAcwTime") ? S_P_ACW_END : S_IGNORE;
    case 12:
      return IS("startAcwTime")   ? S_P_ACW_START
             : IS("screenshares") ? S_P_MEDIA + GEN_MEDIA_SCREENSHARE
                                  : S_IGNORE;
    case 13:
      return IS("connectedTime") ? S_P_CONNECTED : S_IGNORE;
    case 16:
      return IS("cobrowsesessions") ? S_P_MEDIA + GEN_MEDIA_COBROWSE : S_IGNORE;
    default:
      return S_IGNORE;
    }
  case C_SESSION:
    return IS("state")              ? S_S_STATE
           : IS("connectedTime")    ? S_S_CONNECTED
           : IS("disconnectedTime") ? S_S_DISCONNECTED
           : IS("disconnectType")   ? S_S_TYPE
                                    : S_IGNORE;
  default:
    return S_IGNORE;
  }
#undef IS
}

static const char *token_name(gen_conv_token_t t) {
  switch (t) {
  case GEN_CONV_T_NULL:
    return "null";
  case GEN_CONV_T_BOOL:
    return "a boolean";
  case GEN_CONV_T_NUMBER:
    return "a number";
  case GEN_CONV_T_STRING:
    return "a string";
  case GEN_CONV_T_START_MAP:
    return "an object";
  default:
    return "an array";
  }
}

/* A value (scalar or container start) in field slot. */
static int value(gen_conv_reader_t *r, gen_conv_token_t t,
                 const unsigned char *s, size_t n) {
  bool opens = t == GEN_CONV_T_START_MAP || t == GEN_CONV_T_START_ARRAY;
  unsigned slot = slot_of(r);
  if (slot == S_SESSION) /* any element makes the array non-empty */
    r->acc[r->media].present = true;
  if (slot == S_IGNORE || t != type_of(slot)) {
    if (slot != S_IGNORE && REQUIRED(slot)) {
      if (slot == S_PART)
        return refuse(r, GEN_CONV_READ_TYPE, "participant %zu is not an object",
                      r->n_read);
      return refuse(r, GEN_CONV_READ_TYPE, "%s is %s", path_of(slot),
                    token_name(t));
    }
    if (opens)
      r->skip = 1;
    return 0;
  }
  if (!opens)
    return string_field(r, slot, s, n);
  if (r->depth == GEN_CONV_READ_DEPTH) { /* unreachable: slots end deeper */
    r->skip = 1;
    return 0;
  }
  unsigned c = C_NONE;
  switch (slot) {
  case S_BODY:
    c = C_BODY;
    break;
  case S_PARTS:
    c = C_PARTS;
    break;
  case S_PART:
    c = C_PART;
    begin_part(r);
    break;
  case S_SESSION:
    c = C_SESSION;
    r->s_state = GEN_CONV_S_NONE;
    r->s_has_type = r->s_transfer = false;
    r->s_connected = r->s_disconnected = 0;
    break;
  default: /* a media array */
    c = C_MEDIA;
    r->media = (int)(slot - S_P_MEDIA);
    break;
  }
  r->depth++;
  r->ctx[r->depth] = c;
  r->seen[r->depth] = 0;
  r->key = S_IGNORE;
  return 0;
}

int gen_conv_read_token(gen_conv_reader_t *r, gen_conv_token_t t,
                        const unsigned char *s, size_t n) {
  if (r->status != 0)
    return r->status;
  if (r->skip > 0) {
    if (t == GEN_CONV_T_START_MAP || t == GEN_CONV_T_START_ARRAY)
      r->skip++;
    else if (t == GEN_CONV_T_END)
      r->skip--;
    return 0;
  }
  if (t == GEN_CONV_T_END)
    return r->depth > 0 ? close_container(r) : 0;
  if (t != GEN_CONV_T_KEY)
    return value(r, t, s, n);
  unsigned slot = match_key(r->ctx[r->depth], s, n);
  r->key = slot;
  if (slot == S_IGNORE)
    return 0;
  uint32_t bit = 1u << slot;
  if (r->seen[r->depth] & bit)
    return refuse(r, GEN_CONV_READ_VALUE, "duplicate key %s", path_of(slot));
  r->seen[r->depth] |= bit;
  return 0;
}

bool gen_conv_read_ignores_value(const gen_conv_reader_t *r) {
  return r->status != 0 || r->skip > 0 || r->key == S_IGNORE;
}
