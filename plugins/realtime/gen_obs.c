/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the hot-path parser for Notifications API messages.
 *
 * gen_jscan calls back for every token; a small state machine follows the
 * few paths this module reads (eventBody.group.*,
 * eventBody.data[].metrics[].{metric,qualifier,stats.{
 * count,calculatedMetricValue}}) and has the scanner pass over the value of
 * any other key (checked, not called back). Numbers come as text, so only
 * the numbers we read are converted. See gen_obs.h for the contract.
 */
#include "gen_obs.h"
#include "gen_jscan.h"
#include "gen_json.h"
#include "gen_utf8.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decoded strings go to one buffer owned by the parser, at least as long
 * as the message (a decoded string is never longer than its text). It is
 * given back after a message when over GEN_OBS_ARENA_KEEP. */
#define ARENA_INIT ((size_t)16 << 10)

/* ---- state machine ---------------------------------------------------- */

/* What a value is, seen from its parent: one slot per field we read. */
enum {
  S_IGNORE = 0,
  S_ROOT,
  S_BODY,
  S_GROUP,
  S_DATA,
  S_QUEUEID,
  S_MEDIATYPE,
  S_DATA_ELEM,
  S_METRICS,
  S_METRICS_ELEM,
  S_METRIC,
  S_QUALIFIER,
  S_STATS,
  S_COUNT,
  S_CALC,
  S_NUM
};

/* Containers we walk into are named by the slot that opened them: ctx[d]
 * is the container at depth d. The deepest one (stats) is at depth 7. */
#define CTX_MAX 8

enum { V_NULL = 0, V_BOOL, V_NUMBER, V_STRING, V_OBJECT, V_ARRAY };
static const char *const vt_name[] = {"null",   "boolean", "number",
                                      "string", "object",  "array"};

static const struct {
  const char *path;
  unsigned char type;
} slot_info[S_NUM] = {
    [S_IGNORE] = {"", V_NULL},
    [S_ROOT] = {"message", V_OBJECT},
    [S_BODY] = {"eventBody", V_OBJECT},
    [S_GROUP] = {"eventBody.group", V_OBJECT},
    [S_DATA] = {"eventBody.data", V_ARRAY},
    [S_QUEUEID] = {"eventBody.group.queueId", V_STRING},
    [S_MEDIATYPE] = {"eventBody.group.mediaType", V_STRING},
    [S_DATA_ELEM] = {"eventBody.data[]", V_OBJECT},
    [S_METRICS] = {"data[].metrics", V_ARRAY},
    [S_METRICS_ELEM] = {"metrics[]", V_OBJECT},
    [S_METRIC] = {"metrics[].metric", V_STRING},
    [S_QUALIFIER] = {"metrics[].qualifier", V_STRING},
    [S_STATS] = {"metrics[].stats", V_OBJECT},
    [S_COUNT] = {"stats.count", V_NUMBER},
    [S_CALC] = {"stats.calculatedMetricValue", V_NUMBER},
};

#define REASON_SIZE 112

typedef struct {
  int code; /* 0: none */
  size_t off;
  char reason[REASON_SIZE];
} obs_error_t;

struct gen_obs_parser_s {
  size_t max_depth;
  locale_t c_locale;

  unsigned char *arena; /* decoded strings */
  size_t cap;

  gen_obs_stats_t stats;

  /* Per message. */
  gen_jscan_t js;
  gen_obs_msg_t *out;
  size_t depth; /* open containers read (not those passed over) */
  unsigned key; /* slot of the last key read in the current object */
  unsigned char ctx[CTX_MAX];
  uint32_t seen[CTX_MAX]; /* known keys seen per open object, by slot */
  gen_obs_item_t *cur;
  gen_obs_item_t spare; /* scratch item once items[] is full */
  obs_error_t fatal;
};

/* ---- decode buffer ---------------------------------------------------- */

/* The buffer replaced by one of cap bytes; 0, or -ENOMEM with the old one
 * kept. */
static int arena_set(gen_obs_parser_t *p, size_t cap) {
  unsigned char *a = malloc(cap);
  if (a == NULL)
    return -ENOMEM;
  p->stats.heap_allocs++;
  free(p->arena);
  p->arena = a;
  p->cap = cap;
  p->stats.arena_size = cap;
  return 0;
}

/* Makes the buffer at least `need` bytes; 0 or -ENOMEM. */
static int arena_reserve(gen_obs_parser_t *p, size_t need) {
  if (p->cap >= need)
    return 0;
  size_t cap = ARENA_INIT;
  while (cap < need)
    cap <<= 1;
  return arena_set(p, cap);
}

/* ---- errors ------------------------------------------------------------- */

/* Records the error of a message at byte off (the first one: any later
 * one follows from it). */
__attribute__((format(printf, 4, 5))) static void
note(obs_error_t *e, int code, size_t off, const char *fmt, ...) {
  if (e->code != 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  e->code = code;
  e->off = off;
  vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
  va_end(ap);
}

/* An error that ends the parse, just past the token of the callback; 0
 * (stop the scan). */
#define fail(p, code, ...)                                                     \
  (note(&(p)->fatal, code, (p)->js.off, __VA_ARGS__), 0)

static int type_error(gen_obs_parser_t *p, unsigned slot, int vt) {
  int want = slot_info[slot].type;
  return fail(p, GEN_OBS_ERR_TYPE, "%s is %s%s, expected %s %s",
              slot_info[slot].path,
              vt == V_NULL                      ? ""
              : vt == V_OBJECT || vt == V_ARRAY ? "an "
                                                : "a ",
              vt_name[vt], want == V_OBJECT || want == V_ARRAY ? "an" : "a",
              vt_name[want]);
}

/* "<reason> at byte N near '<input around N>'" into err. */
static void format_error(char *err, size_t err_size, const obs_error_t *e,
                         const char *json, size_t len) {
  if (err == NULL || err_size == 0)
    return;
  char near[32];
  size_t n = 0;
  if (json != NULL && len > 0) {
    size_t start = e->off > 12 ? e->off - 12 : 0;
    if (start > len)
      start = len;
    size_t end = start + 24 < len ? start + 24 : len;
    for (size_t i = start; i < end; i++) {
      unsigned char c = (unsigned char)json[i];
      near[n++] =
          (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') ? (char)c : '.';
    }
  }
  near[n] = '\0';
  if (n > 0)
    snprintf(err, err_size, "%s at byte %zu near '%s'", e->reason, e->off,
             near);
  else
    snprintf(err, err_size, "%s at byte %zu", e->reason, e->off);
}

/* ---- field helpers ------------------------------------------------------ */

/* v2.analytics.queues.<id without '.'>.observations, the fixed parts in any
 * ASCII case. */
static gen_obs_topic_t classify(const char *s) {
  static const char pre[] = "v2.analytics.queues.", suf[] = ".observations";
  size_t n = strlen(s), lp = sizeof(pre) - 1, ls = sizeof(suf) - 1;
  return n > lp + ls && gen_ascii_ieq((const unsigned char *)s, pre, lp) &&
                 gen_ascii_ieq((const unsigned char *)s + n - ls, suf, ls) &&
                 memchr(s + lp, '.', n - lp - ls) == NULL
             ? GEN_OBS_TOPIC_QUEUE_OBSERVATIONS
             : GEN_OBS_TOPIC_OTHER;
}

/* An identifier is copied whole or refused. */
static int copy_id(gen_obs_parser_t *p, unsigned slot, char *dst, size_t size,
                   const unsigned char *s, size_t n) {
  if (n >= size)
    return fail(p, GEN_OBS_ERR_VALUE, "%s is %zu bytes long, longer than %zu",
                slot_info[slot].path, n, size - 1);
  if (memchr(s, '\0', n) != NULL)
    return fail(p, GEN_OBS_ERR_VALUE, "%s contains a NUL byte",
                slot_info[slot].path);
  if (!gen_utf8_valid(s, n))
    return fail(p, GEN_OBS_ERR_VALUE, "%s is not valid UTF-8",
                slot_info[slot].path);
  memcpy(dst, s, n);
  dst[n] = '\0';
  return 1;
}

/* For an integer token (no '.', 'e', 'E') returns true and sets *v and
 * *fits (false when outside int64). The scanner has checked the syntax. */
static bool int_token(const char *s, size_t n, int64_t *v, bool *fits) {
  size_t i = 0;
  bool neg = false;
  uint64_t acc = 0;
  *fits = true;
  if (n > 0 && s[0] == '-') {
    neg = true;
    i = 1;
  }
  for (; i < n; i++) {
    unsigned d = (unsigned)((unsigned char)s[i] - '0');
    if (d > 9)
      return false;
    if (acc > (UINT64_MAX - d) / 10)
      *fits = false;
    else
      acc = acc * 10 + d;
  }
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  if (!*fits || acc > limit) {
    *fits = false;
    return true;
  }
  if (neg)
    *v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
  else
    *v = (int64_t)acc;
  return true;
}

/* Converts a number token that is not a fitting integer; 0 or -1 when too
 * long to convert. */
static int double_token(const gen_obs_parser_t *p, const char *s, size_t n,
                        double *d) {
  char buf[GEN_OBS_NUMBER_MAX + 1];
  if (n > GEN_OBS_NUMBER_MAX)
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  *d = strtod_l(buf, NULL, p->c_locale);
  return 0;
}

static int set_count(gen_obs_parser_t *p, const char *s, size_t n) {
  int64_t v;
  bool fits;
  if (int_token(s, n, &v, &fits)) {
    if (!fits)
      return fail(p, GEN_OBS_ERR_VALUE,
                  "stats.count is out of range (%zu digits)", n);
    if (v < 0)
      return fail(p, GEN_OBS_ERR_VALUE, "stats.count is negative (%lld)",
                  (long long)v);
    p->cur->count = v;
    p->cur->has_count = true;
    return 1;
  }
  double d;
  if (double_token(p, s, n, &d) != 0)
    return fail(p, GEN_OBS_ERR_VALUE,
                "stats.count is %zu bytes long, longer than %d", n,
                GEN_OBS_NUMBER_MAX);
  if (!(d >= 0.0 && d <= (double)GEN_JSON_EXACT_MAX && d == floor(d)))
    return fail(p, GEN_OBS_ERR_VALUE,
                "stats.count is not a non-negative integer (%.*s)",
                n > 24 ? 24 : (int)n, s);
  p->cur->count = (int64_t)d;
  p->cur->has_count = true;
  return 1;
}

static int set_calc(gen_obs_parser_t *p, const char *s, size_t n) {
  int64_t v;
  bool fits;
  double d;
  if (int_token(s, n, &v, &fits) && fits) {
    d = (double)v;
  } else {
    if (double_token(p, s, n, &d) != 0)
      return fail(p, GEN_OBS_ERR_VALUE,
                  "stats.calculatedMetricValue is %zu bytes long, "
                  "longer than %d",
                  n, GEN_OBS_NUMBER_MAX);
    if (!isfinite(d))
      return fail(p, GEN_OBS_ERR_VALUE,
                  "stats.calculatedMetricValue is out of range (%.*s)",
                  n > 24 ? 24 : (int)n, s);
  }
  p->cur->calculated_value = d;
  p->cur->has_value = true;
  return 1;
}

static void begin_item(gen_obs_parser_t *p) {
  gen_obs_msg_t *out = p->out;
  gen_obs_item_t *it =
      out->n_items < GEN_OBS_MAX_ITEMS ? &out->items[out->n_items] : &p->spare;
  it->metric = GEN_OBS_M_UNKNOWN;
  it->qualifier[0] = '\0';
  it->has_count = false;
  it->count = 0;
  it->has_value = false;
  it->calculated_value = 0.0;
  it->since_ms = 0;
  p->cur = it;
}

static void end_item(gen_obs_parser_t *p) {
  gen_obs_msg_t *out = p->out;
  if (p->cur->metric == GEN_OBS_M_UNKNOWN)
    out->n_unknown++;
  else if (p->cur == &p->spare)
    out->truncated = true;
  else
    out->n_items++;
  p->cur = NULL;
}

/* ---- scanner callbacks -------------------------------------------------- */

static unsigned slot_of(const gen_obs_parser_t *p) {
  if (p->depth == 0)
    return S_ROOT;
  switch (p->ctx[p->depth]) {
  case S_DATA:
    return S_DATA_ELEM;
  case S_METRICS:
    return S_METRICS_ELEM;
  default:
    return p->key;
  }
}

static int scalar(gen_obs_parser_t *p, int vt, const unsigned char *s,
                  size_t n) {
  unsigned slot = slot_of(p);
  if (slot == S_IGNORE)
    return 1;
  if (vt == V_NULL && slot != S_ROOT)
    return 1; /* null is absent */
  if (vt != slot_info[slot].type)
    return type_error(p, slot, vt);
  gen_obs_msg_t *out = p->out;
  switch (slot) {
  case S_QUEUEID:
    return copy_id(p, slot, out->queue_id, sizeof(out->queue_id), s, n);
  case S_MEDIATYPE:
    return copy_id(p, slot, out->media_type, sizeof(out->media_type), s, n);
  case S_METRIC:
    p->cur->metric = gen_obs_metric_from_name(s, n);
    return 1;
  case S_QUALIFIER:
    return copy_id(p, slot, p->cur->qualifier, sizeof(p->cur->qualifier), s, n);
  case S_COUNT:
    return set_count(p, (const char *)s, n);
  case S_CALC:
    return set_calc(p, (const char *)s, n);
  default:
    return 1;
  }
}

static int cb_null(void *ctx) { return scalar(ctx, V_NULL, NULL, 0); }
static int cb_boolean(void *ctx, int b) { return scalar(ctx, V_BOOL, NULL, 0); }
static int cb_number(void *ctx, const char *s, size_t n) {
  return scalar(ctx, V_NUMBER, (const unsigned char *)s, n);
}
static int cb_string(void *ctx, const unsigned char *s, size_t n) {
  return scalar(ctx, V_STRING, s, n);
}

/* The scanner refuses nesting past max_depth before calling back. A
 * container not read is passed over by the scanner. */
static int open_container(gen_obs_parser_t *p, int vt) {
  unsigned slot = slot_of(p);
  if (slot == S_IGNORE)
    return GEN_JSCAN_SKIP;
  if (vt != slot_info[slot].type)
    return type_error(p, slot, vt) ? GEN_JSCAN_SKIP : 0;
  p->depth++;
  /* Known containers sit at fixed depths 1..7 < CTX_MAX. */
  p->ctx[p->depth] = (unsigned char)slot;
  p->seen[p->depth] = 0;
  p->key = S_IGNORE;
  if (slot == S_METRICS_ELEM)
    begin_item(p);
  return 1;
}

static int cb_start_map(void *ctx) { return open_container(ctx, V_OBJECT); }
static int cb_start_array(void *ctx) { return open_container(ctx, V_ARRAY); }

static int cb_end(void *ctx) {
  gen_obs_parser_t *p = ctx;
  if (p->ctx[p->depth] == S_METRICS_ELEM)
    end_item(p);
  p->depth--;
  return 1;
}

static unsigned match_key(unsigned c, const unsigned char *k, size_t n) {
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
  switch (c) {
  case S_ROOT:
    return IS("eventBody") ? S_BODY : S_IGNORE;
  case S_BODY:
    return IS("group") ? S_GROUP : IS("data") ? S_DATA : S_IGNORE;
  case S_GROUP:
    return IS("queueId") ? S_QUEUEID : IS("mediaType") ? S_MEDIATYPE : S_IGNORE;
  case S_DATA_ELEM:
    return IS("metrics") ? S_METRICS : S_IGNORE;
  case S_METRICS_ELEM:
    return IS("metric")      ? S_METRIC
           : IS("qualifier") ? S_QUALIFIER
           : IS("stats")     ? S_STATS
                             : S_IGNORE;
  case S_STATS:
    return IS("count")                   ? S_COUNT
           : IS("calculatedMetricValue") ? S_CALC
                                         : S_IGNORE;
  default:
    return S_IGNORE;
  }
#undef IS
}

/* The value of a key this module ignores is passed over by the scanner. */
static int cb_map_key(void *ctx, const unsigned char *k, size_t n) {
  gen_obs_parser_t *p = ctx;
  unsigned slot = match_key(p->ctx[p->depth], k, n);
  p->key = slot;
  if (slot == S_IGNORE)
    return GEN_JSCAN_SKIP;
  uint32_t bit = (uint32_t)1 << slot;
  if (p->seen[p->depth] & bit)
    return fail(p, GEN_OBS_ERR_VALUE, "duplicate key %s", slot_info[slot].path);
  p->seen[p->depth] |= bit;
  return 1;
}

static const gen_jscan_callbacks_t callbacks = {
    .on_null = cb_null,
    .on_bool = cb_boolean,
    .on_number = cb_number,
    .on_string = cb_string,
    .on_start_map = cb_start_map,
    .on_key = cb_map_key,
    .on_end_map = cb_end,
    .on_start_array = cb_start_array,
    .on_end_array = cb_end,
};

/* ---- public API ----------------------------------------------------------
 */

gen_obs_parser_t *gen_obs_parser_new(size_t max_depth) {
  if (max_depth == 0)
    max_depth = GEN_OBS_DEFAULT_DEPTH;
  if (max_depth > GEN_OBS_DEPTH_LIMIT) {
    errno = EINVAL;
    return NULL;
  }
  gen_obs_parser_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  p->max_depth = max_depth;
  p->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  p->arena = malloc(ARENA_INIT);
  if (p->c_locale == (locale_t)0 || p->arena == NULL) {
    if (p->c_locale != (locale_t)0)
      freelocale(p->c_locale);
    free(p->arena);
    free(p);
    errno = ENOMEM;
    return NULL;
  }
  p->cap = ARENA_INIT;
  p->stats.arena_size = ARENA_INIT;
  return p;
}

void gen_obs_parser_free(gen_obs_parser_t *p) {
  if (p == NULL)
    return;
  freelocale(p->c_locale);
  free(p->arena);
  free(p);
}

void gen_obs_parser_stats(const gen_obs_parser_t *p, gen_obs_stats_t *st) {
  *st = p->stats;
}

static void clear_msg(gen_obs_msg_t *out) {
  out->queue_id[0] = '\0';
  out->media_type[0] = '\0';
  out->n_items = 0;
  out->n_unknown = 0;
  out->truncated = false;
}

int gen_obs_parse(gen_obs_parser_t *p, const char *topic, const char *json,
                  size_t len, gen_obs_msg_t *out, char *err, size_t err_size) {
  obs_error_t e = {0};
  if (err != NULL && err_size > 0)
    err[0] = '\0';
  if (out != NULL) {
    out->topic = GEN_OBS_TOPIC_OTHER;
    clear_msg(out);
  }
  if (p == NULL || out == NULL || topic == NULL || (json == NULL && len > 0))
    note(&e, GEN_OBS_ERR_ARG, 0, "NULL parser, topic, output or input");
  else if (len > GEN_OBS_MAX_LEN)
    note(&e, GEN_OBS_ERR_TOO_LARGE, 0, "message of %zu bytes is over %zu", len,
         GEN_OBS_MAX_LEN);
  else if (len == 0)
    note(&e, GEN_OBS_ERR_SYNTAX, 0, "invalid JSON: empty message");
  if (e.code == 0) {
    p->stats.messages++;
    out->topic = classify(topic);
    if (out->topic != GEN_OBS_TOPIC_QUEUE_OBSERVATIONS)
      return 0; /* a topic this module does not read: nothing to scan */
    if (arena_reserve(p, len) != 0)
      note(&e, GEN_OBS_ERR_NOMEM, 0,
           "no memory to parse a message of %zu bytes", len);
  }
  if (e.code != 0) { /* nothing read: no input quoted */
    format_error(err, err_size, &e, NULL, 0);
    return e.code;
  }

  p->js = (gen_jscan_t){.text = (const unsigned char *)json,
                        .len = len,
                        .max_depth = p->max_depth,
                        .buf = p->arena};
  p->out = out;
  p->depth = 0;
  p->key = S_IGNORE;
  p->cur = NULL;
  p->fatal.code = 0;
  gen_jscan_status_t st = gen_jscan_run(&p->js, &callbacks, p);
  if (st == GEN_JSCAN_STOPPED)
    e = p->fatal;
  else if (st == GEN_JSCAN_DEPTH)
    note(&e, GEN_OBS_ERR_DEPTH, p->js.off, "nesting deeper than %zu",
         p->max_depth);
  else if (st != GEN_JSCAN_OK)
    note(&e, GEN_OBS_ERR_SYNTAX, p->js.off, "invalid JSON: %s",
         p->js.reason != NULL ? p->js.reason : "syntax error");
  p->out = NULL;
  p->cur = NULL;
  if (len > p->stats.arena_peak)
    p->stats.arena_peak = len;
  if (p->cap > GEN_OBS_ARENA_KEEP)
    arena_set(p, ARENA_INIT); /* on failure the big one is kept */
  if (e.code == 0)
    return 0;
  clear_msg(out);
  format_error(err, err_size, &e, json, len);
  return e.code;
}

/* One parser per thread, freed when the thread ends. */
static pthread_key_t thread_parser_key;
static pthread_once_t thread_parser_once = PTHREAD_ONCE_INIT;

static void thread_parser_free(void *parser) { gen_obs_parser_free(parser); }
static void thread_parser_key_create(void) {
  pthread_key_create(&thread_parser_key, thread_parser_free);
}

gen_obs_parser_t *gen_obs_thread_parser(void) {
  pthread_once(&thread_parser_once, thread_parser_key_create);
  gen_obs_parser_t *parser = pthread_getspecific(thread_parser_key);
  if (parser == NULL) {
    parser = gen_obs_parser_new(GEN_OBS_DEFAULT_DEPTH);
    if (parser != NULL)
      pthread_setspecific(thread_parser_key, parser);
  }
  return parser;
}
