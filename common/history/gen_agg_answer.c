/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: an aggregates answer read into flat arrays (see
 * gen_agg_answer.h).
 *
 * While an answer is read, buckets and results hold the span of their
 * entries, dims and buckets as indices (the arrays may move as they grow);
 * the pointers are set once it is whole. Strings scanned from text are copied
 * into one arena of len + 1 bytes, which never moves: a string decoded and
 * terminated never takes more bytes than its quoted text.
 */
#include "gen_agg_answer.h"

#include "gen_buf.h"
#include "gen_jscan.h"
#include "gen_json.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gen_agg_stat_names[GEN_AGG_STATS] = {
    "count", "sum", "max", "min", "numerator", "denominator", "target"};

/* Items [first, end) of one array, while an answer is read. */
typedef struct {
  size_t first, end;
} span_t;

struct gen_agg_answer_s {
  gen_agg_result_t *results;
  span_t *result_dims, *result_buckets;
  size_t n_results, cap_results, cap_result_dims, cap_result_buckets;
  gen_agg_bucket_t *buckets;
  span_t *bucket_entries;
  size_t n_buckets, cap_buckets, cap_bucket_entries;
  gen_agg_entry_t *entries;
  size_t n_entries, cap_entries;
  gen_agg_dim_t *dims;
  size_t n_dims, cap_dims;
  char *arena; /* strings of a scan */
  size_t arena_used, arena_cap;
  unsigned char *decode; /* gen_jscan's room for decoded strings */
  size_t decode_cap;
  locale_t c_locale; /* numbers as JSON writes them, whatever LC_NUMERIC */
};

gen_agg_answer_t *gen_agg_answer_new(void) {
  gen_agg_answer_t *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return NULL;
  a->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (a->c_locale == (locale_t)0) {
    free(a);
    return NULL;
  }
  return a;
}

void gen_agg_answer_free(gen_agg_answer_t *a) {
  if (a == NULL)
    return;
  free(a->results);
  free(a->result_dims);
  free(a->result_buckets);
  free(a->buckets);
  free(a->bucket_entries);
  free(a->entries);
  free(a->dims);
  free(a->arena);
  free(a->decode);
  freelocale(a->c_locale);
  free(a);
}

static void clear(gen_agg_answer_t *a) {
  a->n_results = a->n_buckets = a->n_entries = a->n_dims = 0;
  a->arena_used = 0;
}

/* The arrays start at 64 items and double. */
static int grow(void *items, size_t *cap, size_t need, size_t size) {
  return gen_grow((void **)items, cap, need, size, 64);
}

static int add_result(gen_agg_answer_t *a) {
  size_t need = a->n_results + 1;
  if (grow(&a->results, &a->cap_results, need, sizeof(*a->results)) != 0 ||
      grow(&a->result_dims, &a->cap_result_dims, need, sizeof(span_t)) != 0 ||
      grow(&a->result_buckets, &a->cap_result_buckets, need, sizeof(span_t)) !=
          0)
    return -ENOMEM;
  a->results[a->n_results] = (gen_agg_result_t){0};
  a->result_dims[a->n_results] = (span_t){a->n_dims, a->n_dims};
  a->result_buckets[a->n_results] = (span_t){a->n_buckets, a->n_buckets};
  a->n_results++;
  return 0;
}

/* Buckets and dims belong to the last result, entries to the last bucket:
 * each add moves its owner's end. */
static int add_bucket(gen_agg_answer_t *a) {
  size_t need = a->n_buckets + 1;
  if (grow(&a->buckets, &a->cap_buckets, need, sizeof(*a->buckets)) != 0 ||
      grow(&a->bucket_entries, &a->cap_bucket_entries, need, sizeof(span_t)) !=
          0)
    return -ENOMEM;
  a->buckets[a->n_buckets] = (gen_agg_bucket_t){0};
  a->bucket_entries[a->n_buckets] = (span_t){a->n_entries, a->n_entries};
  a->n_buckets++;
  a->result_buckets[a->n_results - 1].end = a->n_buckets;
  return 0;
}

static int add_entry(gen_agg_answer_t *a) {
  if (grow(&a->entries, &a->cap_entries, a->n_entries + 1,
           sizeof(*a->entries)) != 0)
    return -ENOMEM;
  a->entries[a->n_entries++] = (gen_agg_entry_t){0};
  a->bucket_entries[a->n_buckets - 1].end = a->n_entries;
  return 0;
}

static int add_dim(gen_agg_answer_t *a, const char *name) {
  if (grow(&a->dims, &a->cap_dims, a->n_dims + 1, sizeof(*a->dims)) != 0)
    return -ENOMEM;
  a->dims[a->n_dims++] = (gen_agg_dim_t){.name = name};
  a->result_dims[a->n_results - 1].end = a->n_dims;
  return 0;
}

/* A member repeated: the last one counts, so the owner's items start again
 * (those of the first one stay in the array, owned by nobody). */
static void restart(span_t *span, size_t n) { *span = (span_t){n, n}; }

/* base + first; no arithmetic on an array never allocated (nothing in it). */
static const void *at(const void *base, size_t first, size_t size) {
  return base != NULL ? (const char *)base + first * size : NULL;
}

/* Pointers and counts from the spans, once the answer is whole. */
static void finish(gen_agg_answer_t *a) {
  for (size_t b = 0; b < a->n_buckets; b++) {
    span_t e = a->bucket_entries[b];
    a->buckets[b].metrics =
        (gen_agg_metrics_t){.e = at(a->entries, e.first, sizeof(*a->entries)),
                            .n = e.end - e.first};
  }
  for (size_t r = 0; r < a->n_results; r++) {
    span_t d = a->result_dims[r], b = a->result_buckets[r];
    a->results[r].group = (gen_agg_group_t){
        .d = at(a->dims, d.first, sizeof(*a->dims)), .n = d.end - d.first};
    a->results[r].b = at(a->buckets, b.first, sizeof(*a->buckets));
    a->results[r].n = b.end - b.first;
  }
}

size_t gen_agg_answer_results(const gen_agg_answer_t *a,
                              const gen_agg_result_t **results) {
  *results = a->results;
  return a->n_results;
}

const char *gen_agg_group_get(const gen_agg_group_t *g, const char *name) {
  for (size_t i = g != NULL ? g->n : 0; i > 0; i--)
    if (strcmp(g->d[i - 1].name, name) == 0)
      return g->d[i - 1].value;
  return NULL;
}

static int stat_index(const char *name, size_t len) {
  for (int s = 0; s < GEN_AGG_STATS; s++)
    if (strlen(gen_agg_stat_names[s]) == len &&
        memcmp(gen_agg_stat_names[s], name, len) == 0)
      return s;
  return -1;
}

/* ---- from the text -------------------------------------------------------
 */

/* What the open container is to the reader. */
typedef enum {
  R_TOP,
  R_RESULTS,
  R_RESULT,
  R_GROUP,
  R_DATA,
  R_BUCKET,
  R_METRICS,
  R_ENTRY,
  R_STATS,
  R_IGNORE,
} role_t;

/* What the next value is, after a key. */
typedef enum {
  K_NONE,
  K_RESULTS,
  K_GROUP,
  K_DATA,
  K_INTERVAL,
  K_METRICS,
  K_METRIC,
  K_STATS,
  K_DIM,
  K_STAT, /* + the stat's index */
} key_t_;

typedef enum { V_STRING, V_NUMBER, V_OTHER, V_MAP, V_ARRAY } value_t_;

typedef struct {
  gen_agg_answer_t *a;
  role_t stack[GEN_JSON_MAX_DEPTH + 1];
  size_t depth;
  int key; /* key_t_, or K_STAT + index */
  bool top_seen, results_bad;
  int status;
  const char *str; /* the string value, in the arena */
  double num;      /* the number value (NAN when not finite) */
} scan_t;

static role_t top(const scan_t *sc) {
  return sc->depth > 0 ? sc->stack[sc->depth - 1] : R_IGNORE;
}

static const char *arena_copy(gen_agg_answer_t *a, const unsigned char *s,
                              size_t n) {
  char *out = a->arena + a->arena_used;
  memcpy(out, s, n);
  out[n] = '\0';
  a->arena_used += n + 1;
  return out;
}

/* A number as json-c reads it: an integer as int64 (or uint64 past it),
 * anything else with strtod in the C locale (a plugin of the daemon may set
 * one whose decimal point is a comma), as gen_obs reads numbers. */
static double number_of(locale_t c_locale, const char *s, size_t n) {
  char local[64];
  char *text = n < sizeof(local) ? local : malloc(n + 1);
  if (text == NULL)
    return NAN;
  memcpy(text, s, n);
  text[n] = '\0';
  double v;
  if (strpbrk(text, ".eE") == NULL) {
    errno = 0;
    long long ll = strtoll(text, NULL, 10);
    if (errno == 0)
      v = (double)ll;
    else if (text[0] != '-') {
      errno = 0;
      unsigned long long ull = strtoull(text, NULL, 10);
      v = errno == 0 ? (double)ull : (double)UINT64_MAX;
    } else
      v = (double)INT64_MIN;
  } else {
    v = strtod_l(text, NULL, c_locale);
  }
  if (text != local)
    free(text);
  return isfinite(v) ? v : NAN;
}

/* A value arrived: as a member (sc->key) or an item of the open array. The
 * role of a container value, or R_IGNORE. */
static role_t value(scan_t *sc, value_t_ kind) {
  gen_agg_answer_t *a = sc->a;
  role_t r = top(sc);
  int key = sc->key;
  sc->key = K_NONE;
  bool map = kind == V_MAP, array = kind == V_ARRAY;
  if (sc->depth == 0) { /* the document */
    sc->top_seen = map;
    return map ? R_TOP : R_IGNORE;
  }
  switch (r) {
  case R_RESULTS:
    if ((sc->status = add_result(a)) != 0)
      return R_IGNORE;
    return map ? R_RESULT : R_IGNORE;
  case R_DATA:
    if ((sc->status = add_bucket(a)) != 0)
      return R_IGNORE;
    return map ? R_BUCKET : R_IGNORE;
  case R_METRICS:
    if ((sc->status = add_entry(a)) != 0)
      return R_IGNORE;
    return map ? R_ENTRY : R_IGNORE;
  default:
    break;
  }
  switch (key) {
  case K_RESULTS:
    sc->results_bad = !array;
    if (array)
      clear(a); /* a repeated "results": the last one counts */
    return array ? R_RESULTS : R_IGNORE;
  case K_GROUP:
    restart(&a->result_dims[a->n_results - 1], a->n_dims);
    return map ? R_GROUP : R_IGNORE;
  case K_DATA:
    restart(&a->result_buckets[a->n_results - 1], a->n_buckets);
    return array ? R_DATA : R_IGNORE;
  case K_INTERVAL:
    a->buckets[a->n_buckets - 1].interval = kind == V_STRING ? sc->str : NULL;
    return R_IGNORE;
  case K_METRICS:
    restart(&a->bucket_entries[a->n_buckets - 1], a->n_entries);
    return array ? R_METRICS : R_IGNORE;
  case K_METRIC:
    a->entries[a->n_entries - 1].metric = kind == V_STRING ? sc->str : NULL;
    return R_IGNORE;
  case K_STATS: {
    gen_agg_entry_t *e = &a->entries[a->n_entries - 1];
    e->stats = map;
    e->have = 0;
    return map ? R_STATS : R_IGNORE;
  }
  case K_DIM:
    a->dims[a->n_dims - 1].value = kind == V_STRING ? sc->str : NULL;
    return R_IGNORE;
  default:
    if (key >= K_STAT) {
      gen_agg_entry_t *e = &a->entries[a->n_entries - 1];
      int s = key - K_STAT;
      uint8_t bit = (uint8_t)(1u << s);
      if (kind == V_NUMBER && !isnan(sc->num)) {
        e->stat[s] = sc->num;
        e->have |= bit;
      } else {
        e->have &= (uint8_t)~bit;
      }
    }
    return R_IGNORE;
  }
}

static int push(scan_t *sc, role_t r) {
  /* gen_jscan refuses nesting past the stack before calling back. */
  sc->stack[sc->depth++] = r;
  return sc->status == 0;
}

static int on_start_map(void *ctx) {
  scan_t *sc = ctx;
  return push(sc, top(sc) == R_IGNORE && sc->depth > 0 ? R_IGNORE
                                                       : value(sc, V_MAP));
}

static int on_start_array(void *ctx) {
  scan_t *sc = ctx;
  return push(sc, top(sc) == R_IGNORE && sc->depth > 0 ? R_IGNORE
                                                       : value(sc, V_ARRAY));
}

static int on_end(void *ctx) {
  scan_t *sc = ctx;
  sc->depth--;
  return 1;
}

static int scalar(scan_t *sc, value_t_ kind) {
  if (!(top(sc) == R_IGNORE && sc->depth > 0))
    value(sc, kind);
  return sc->status == 0;
}

static int on_null(void *ctx) { return scalar(ctx, V_OTHER); }
static int on_bool(void *ctx, int v) {
  (void)v;
  return scalar(ctx, V_OTHER);
}

static int on_number(void *ctx, const char *s, size_t n) {
  scan_t *sc = ctx;
  if (sc->key >= K_STAT)
    sc->num = number_of(sc->a->c_locale, s, n);
  return scalar(sc, V_NUMBER);
}

static bool wants_string(int key) {
  return key == K_INTERVAL || key == K_METRIC || key == K_DIM;
}

static int on_string(void *ctx, const unsigned char *s, size_t n) {
  scan_t *sc = ctx;
  if (wants_string(sc->key) && top(sc) != R_IGNORE)
    sc->str = arena_copy(sc->a, s, n);
  return scalar(sc, V_STRING);
}

static bool is(const unsigned char *s, size_t n, const char *name) {
  return strlen(name) == n && memcmp(s, name, n) == 0;
}

static int on_key(void *ctx, const unsigned char *s, size_t n) {
  scan_t *sc = ctx;
  /* json-c keeps a key up to its first NUL (\u0000). */
  const unsigned char *nul = memchr(s, '\0', n);
  if (nul != NULL)
    n = (size_t)(nul - s);
  sc->key = K_NONE;
  switch (top(sc)) {
  case R_TOP:
    sc->key = is(s, n, "results") ? K_RESULTS : K_NONE;
    break;
  case R_RESULT:
    sc->key = is(s, n, "group") ? K_GROUP : is(s, n, "data") ? K_DATA : K_NONE;
    break;
  case R_GROUP:
    if ((sc->status = add_dim(sc->a, arena_copy(sc->a, s, n))) != 0)
      return 0;
    sc->key = K_DIM;
    break;
  case R_BUCKET:
    sc->key = is(s, n, "interval")  ? K_INTERVAL
              : is(s, n, "metrics") ? K_METRICS
                                    : K_NONE;
    break;
  case R_ENTRY:
    sc->key = is(s, n, "metric")  ? K_METRIC
              : is(s, n, "stats") ? K_STATS
                                  : K_NONE;
    break;
  case R_STATS: {
    int stat = stat_index((const char *)s, n);
    sc->key = stat >= 0 ? K_STAT + stat : K_NONE;
    break;
  }
  default:
    break;
  }
  return sc->key == K_NONE ? GEN_JSCAN_SKIP : 1;
}

static const gen_jscan_callbacks_t callbacks = {
    .on_null = on_null,
    .on_bool = on_bool,
    .on_number = on_number,
    .on_string = on_string,
    .on_start_map = on_start_map,
    .on_key = on_key,
    .on_end_map = on_end,
    .on_start_array = on_start_array,
    .on_end_array = on_end,
};

static int not_ours(char *err, size_t err_size) {
  snprintf(err, err_size, "the answer is not an aggregates response");
  return -EINVAL;
}

int gen_agg_answer_scan(gen_agg_answer_t *a, const char *text, size_t len,
                        char *err, size_t err_size) {
  clear(a);
  if (gen_grow_max((void **)&a->arena, &a->arena_cap, len + 1, 1, 4096,
                   SIZE_MAX) != 0 ||
      gen_grow_max((void **)&a->decode, &a->decode_cap, len + 1, 1, 4096,
                   SIZE_MAX) != 0)
    return -ENOMEM;
  scan_t sc = {.a = a};
  gen_jscan_t js = {.text = (const unsigned char *)text,
                    .len = len,
                    .max_depth = GEN_JSON_MAX_DEPTH,
                    .buf = a->decode};
  gen_jscan_status_t st = gen_jscan_run(&js, &callbacks, &sc);
  if (st == GEN_JSCAN_STOPPED && sc.status != 0) {
    clear(a);
    return sc.status;
  }
  if (st != GEN_JSCAN_OK) {
    clear(a);
    snprintf(err, err_size, "malformed JSON: %s at byte %zu",
             js.reason ? js.reason : "not one value", js.off);
    return -EINVAL;
  }
  if (!sc.top_seen || sc.results_bad) {
    clear(a);
    return not_ours(err, err_size);
  }
  finish(a);
  return 0;
}

/* ---- from a json-c document ----------------------------------------------
 */

static int entry_from_json(gen_agg_answer_t *a, json_object *entry) {
  if (add_entry(a) != 0)
    return -ENOMEM;
  gen_agg_entry_t *e = &a->entries[a->n_entries - 1];
  json_object *stats = gen_json_get_object(entry, "stats");
  e->metric = gen_json_get_string(entry, "metric");
  e->stats = stats != NULL;
  for (int s = 0; stats != NULL && s < GEN_AGG_STATS; s++)
    if (gen_json_get_double(stats, gen_agg_stat_names[s], &e->stat[s]))
      e->have |= (uint8_t)(1u << s);
  return 0;
}

static int bucket_from_json(gen_agg_answer_t *a, json_object *bucket) {
  if (add_bucket(a) != 0)
    return -ENOMEM;
  a->buckets[a->n_buckets - 1].interval =
      gen_json_get_string(bucket, "interval");
  json_object *metrics = gen_json_get_array(bucket, "metrics");
  size_t n = metrics ? json_object_array_length(metrics) : 0;
  for (size_t i = 0; i < n; i++)
    if (entry_from_json(a, json_object_array_get_idx(metrics, i)) != 0)
      return -ENOMEM;
  return 0;
}

static int result_from_json(gen_agg_answer_t *a, json_object *result) {
  if (add_result(a) != 0)
    return -ENOMEM;
  json_object *group = gen_json_get_object(result, "group");
  if (group != NULL) {
    json_object_object_foreach(group, name, v) {
      if (add_dim(a, name) != 0)
        return -ENOMEM;
      if (json_object_is_type(v, json_type_string))
        a->dims[a->n_dims - 1].value = json_object_get_string(v);
    }
  }
  json_object *data = gen_json_get_array(result, "data");
  size_t n = data ? json_object_array_length(data) : 0;
  for (size_t i = 0; i < n; i++)
    if (bucket_from_json(a, json_object_array_get_idx(data, i)) != 0)
      return -ENOMEM;
  return 0;
}

int gen_agg_answer_from_json(gen_agg_answer_t *a, json_object *doc, char *err,
                             size_t err_size) {
  clear(a);
  json_object *results = NULL;
  if (!json_object_is_type(doc, json_type_object) ||
      (json_object_object_get_ex(doc, "results", &results) &&
       !json_object_is_type(results, json_type_array)))
    return not_ours(err, err_size);
  /* No "results": nothing happened in these entities in the range. */
  size_t n = results ? json_object_array_length(results) : 0;
  for (size_t i = 0; i < n; i++)
    if (result_from_json(a, json_object_array_get_idx(results, i)) != 0) {
      clear(a);
      return -ENOMEM;
    }
  finish(a);
  return 0;
}
