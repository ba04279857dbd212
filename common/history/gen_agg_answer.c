/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: an aggregates answer read into flat arrays (see
 * gen_agg_answer.h).
 *
 * An answer has two stores of arrays: the one read and the one written
 * (gen_agg_answer_begin..end, the reader's too), swapped at the end, so a
 * rewrite reads the old while it writes the new. While a store is written,
 * buckets and results hold the span of their entries, dims and buckets as
 * indices (the arrays may move as they grow); the pointers are set once it
 * is whole.
 */
#include "gen_agg_answer.h"

#include "gen_buf.h"
#include "gen_jscan.h"
#include "gen_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gen_agg_stat_names[GEN_AGG_STATS] = {
    "count", "sum", "max", "min", "numerator", "denominator", "target"};

/* Items [first, end) of one array, while a store is written. */
typedef struct {
  size_t first, end;
} span_t;

typedef struct {
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
} store_t;

/* The arena: chunks that never move, newest first. */
typedef struct chunk_s {
  struct chunk_s *next;
  size_t size, used;
  char data[];
} chunk_t;

struct gen_agg_answer_s {
  store_t store[2];
  int read; /* store[read] is the answer; the other is written */
  chunk_t *arena;
  unsigned char *decoded; /* the scanner's room for strings */
  size_t decoded_cap;
};

gen_agg_answer_t *gen_agg_answer_new(void) {
  return calloc(1, sizeof(gen_agg_answer_t));
}

static void store_free(store_t *s) {
  free(s->results);
  free(s->result_dims);
  free(s->result_buckets);
  free(s->buckets);
  free(s->bucket_entries);
  free(s->entries);
  free(s->dims);
}

static void arena_free(chunk_t *c) {
  while (c != NULL) {
    chunk_t *next = c->next;
    free(c);
    c = next;
  }
}

void gen_agg_answer_free(gen_agg_answer_t *a) {
  if (a == NULL)
    return;
  store_free(&a->store[0]);
  store_free(&a->store[1]);
  arena_free(a->arena);
  free(a->decoded);
  free(a);
}

static void store_clear(store_t *s) {
  s->n_results = s->n_buckets = s->n_entries = s->n_dims = 0;
}

/* Empties the arena, keeping one chunk of at least want bytes and of all it
 * held (the next answer is likely of the same size). */
static int arena_reset(gen_agg_answer_t *a, size_t want) {
  size_t total = 0;
  for (chunk_t *c = a->arena; c != NULL; c = c->next)
    total += c->size;
  if (total < want)
    total = want;
  if (a->arena != NULL && a->arena->next == NULL && a->arena->size >= total) {
    a->arena->used = 0;
    return 0;
  }
  arena_free(a->arena);
  a->arena = malloc(sizeof(chunk_t) + total);
  if (a->arena == NULL)
    return -ENOMEM;
  *a->arena = (chunk_t){.size = total};
  return 0;
}

static char *arena_take(gen_agg_answer_t *a, size_t n) {
  chunk_t *c = a->arena;
  if (c == NULL || c->size - c->used < n) {
    size_t size = c != NULL && c->size * 2 > n ? c->size * 2 : n + 4096;
    chunk_t *fresh = malloc(sizeof(chunk_t) + size);
    if (fresh == NULL)
      return NULL;
    *fresh = (chunk_t){.next = c, .size = size};
    a->arena = c = fresh;
  }
  char *p = c->data + c->used;
  c->used += n;
  return p;
}

const char *gen_agg_answer_strdup(gen_agg_answer_t *a, const char *s,
                                  size_t n) {
  char *p = arena_take(a, n + 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

void gen_agg_answer_clear(gen_agg_answer_t *a) {
  store_clear(&a->store[0]);
  store_clear(&a->store[1]);
  (void)arena_reset(a, 0); /* a failure leaves no arena: none needed */
}

/* The arrays start at 64 items and double. */
static int grow(void *items, size_t *cap, size_t need, size_t size) {
  return gen_grow((void **)items, cap, need, size, 64);
}

static store_t *written(gen_agg_answer_t *a) { return &a->store[!a->read]; }

int gen_agg_answer_add_result(gen_agg_answer_t *a, bool group_object) {
  store_t *s = written(a);
  size_t need = s->n_results + 1;
  if (grow(&s->results, &s->cap_results, need, sizeof(*s->results)) != 0 ||
      grow(&s->result_dims, &s->cap_result_dims, need, sizeof(span_t)) != 0 ||
      grow(&s->result_buckets, &s->cap_result_buckets, need, sizeof(span_t)) !=
          0)
    return -ENOMEM;
  s->results[s->n_results] =
      (gen_agg_result_t){.group = {.object = group_object}};
  s->result_dims[s->n_results] = (span_t){s->n_dims, s->n_dims};
  s->result_buckets[s->n_results] = (span_t){s->n_buckets, s->n_buckets};
  s->n_results++;
  return 0;
}

/* Buckets and dims belong to the last result, entries to the last bucket:
 * each add moves its owner's end. */
int gen_agg_answer_add_bucket(gen_agg_answer_t *a, const char *interval) {
  store_t *s = written(a);
  size_t need = s->n_buckets + 1;
  if (s->n_results == 0 ||
      grow(&s->buckets, &s->cap_buckets, need, sizeof(*s->buckets)) != 0 ||
      grow(&s->bucket_entries, &s->cap_bucket_entries, need, sizeof(span_t)) !=
          0)
    return -ENOMEM;
  s->buckets[s->n_buckets] = (gen_agg_bucket_t){.interval = interval};
  s->bucket_entries[s->n_buckets] = (span_t){s->n_entries, s->n_entries};
  s->n_buckets++;
  s->result_buckets[s->n_results - 1].end = s->n_buckets;
  return 0;
}

int gen_agg_answer_add_entry(gen_agg_answer_t *a, const gen_agg_entry_t *e) {
  store_t *s = written(a);
  if (s->n_buckets == 0 || grow(&s->entries, &s->cap_entries, s->n_entries + 1,
                                sizeof(*s->entries)) != 0)
    return -ENOMEM;
  s->entries[s->n_entries++] = *e;
  s->bucket_entries[s->n_buckets - 1].end = s->n_entries;
  return 0;
}

int gen_agg_answer_add_dim(gen_agg_answer_t *a, const gen_agg_dim_t *d) {
  store_t *s = written(a);
  if (s->n_results == 0 ||
      grow(&s->dims, &s->cap_dims, s->n_dims + 1, sizeof(*s->dims)) != 0)
    return -ENOMEM;
  s->dims[s->n_dims++] = *d;
  s->result_dims[s->n_results - 1].end = s->n_dims;
  return 0;
}

/* base + first; no arithmetic on an array never allocated (nothing in it). */
static const void *at(const void *base, size_t first, size_t size) {
  return base != NULL ? (const char *)base + first * size : NULL;
}

/* Pointers and counts from the spans, once the store is whole. */
static void finish(store_t *s) {
  for (size_t b = 0; b < s->n_buckets; b++) {
    span_t e = s->bucket_entries[b];
    s->buckets[b].metrics =
        (gen_agg_metrics_t){.e = at(s->entries, e.first, sizeof(*s->entries)),
                            .n = e.end - e.first};
  }
  for (size_t r = 0; r < s->n_results; r++) {
    span_t d = s->result_dims[r], b = s->result_buckets[r];
    s->results[r].group.d = at(s->dims, d.first, sizeof(*s->dims));
    s->results[r].group.n = d.end - d.first;
    s->results[r].b = at(s->buckets, b.first, sizeof(*s->buckets));
    s->results[r].n = b.end - b.first;
  }
}

gen_agg_entry_t *gen_agg_answer_written(gen_agg_answer_t *a, size_t *n) {
  store_t *s = written(a);
  span_t e =
      s->n_buckets > 0 ? s->bucket_entries[s->n_buckets - 1] : (span_t){0, 0};
  *n = e.end - e.first;
  return s->entries != NULL ? s->entries + e.first : NULL;
}

void gen_agg_answer_begin(gen_agg_answer_t *a) { store_clear(written(a)); }

void gen_agg_answer_end(gen_agg_answer_t *a) {
  finish(written(a));
  a->read = !a->read;
}

size_t gen_agg_answer_results(const gen_agg_answer_t *a,
                              const gen_agg_result_t **results) {
  *results = a->store[a->read].results;
  return a->store[a->read].n_results;
}

const char *gen_agg_group_get(const gen_agg_group_t *g, const char *name) {
  for (size_t i = g != NULL ? g->n : 0; i > 0; i--)
    if (strcmp(g->d[i - 1].name, name) == 0)
      return g->d[i - 1].value;
  return NULL;
}

/* ---- the reader ----------------------------------------------------------
 *
 * gen_jscan calls back token by token; ctx[] is what each open container we
 * read is, want what the value after a key is. A value of another kind than
 * the one we read there is absent (absent()); a container in it is passed
 * over (GEN_JSCAN_SKIP at its start), as are members we do not read
 * (GEN_JSCAN_SKIP at their key).
 */

typedef enum {
  PART_ROOT, /* the document */
  PART_RESULTS,
  PART_RESULT,
  PART_GROUP,
  PART_DATA,
  PART_BUCKET,
  PART_METRICS,
  PART_ENTRY,
  PART_STATS
} agg_part_t;

typedef enum {
  WANT_DOC,
  WANT_RESULTS,
  WANT_GROUP,
  WANT_DIM,
  WANT_DATA,
  WANT_INTERVAL,
  WANT_METRICS,
  WANT_METRIC,
  WANT_QUALIFIER,
  WANT_STATS,
  WANT_STAT,
  WANT_ITEM /* an item of the array open: a result, bucket or entry */
} agg_want_t;

#define MAX_CTX 10 /* PART_ROOT..PART_STATS, at most one of each open */

typedef struct {
  gen_agg_answer_t *a;
  store_t *s;
  agg_part_t ctx[MAX_CTX];
  size_t depth; /* of ctx */
  agg_want_t want;
  int stat; /* with WANT_STAT: which */
  bool not_object, results_not_array;
  int status; /* 0 or -ENOMEM */
} agg_reader_t;

static const char *keep(agg_reader_t *r, const void *s, size_t n) {
  const char *p = gen_agg_answer_strdup(r->a, s, n);
  if (p == NULL)
    r->status = -ENOMEM;
  return p;
}

/* What the value now starting is: the key's want, or an item. */
static agg_want_t value_want(const agg_reader_t *r) {
  if (r->depth == 0)
    return WANT_DOC;
  agg_part_t c = r->ctx[r->depth - 1];
  return c == PART_RESULTS || c == PART_DATA || c == PART_METRICS ? WANT_ITEM
                                                                  : r->want;
}

/* Undoes the last result's dims, buckets or the last bucket's entries (the
 * member repeats: the last counts). */
static void drop_dims(agg_reader_t *r) {
  store_t *s = r->s;
  span_t *d = &s->result_dims[s->n_results - 1];
  s->n_dims = d->end = d->first;
}

static void drop_buckets(agg_reader_t *r) {
  store_t *s = r->s;
  span_t *b = &s->result_buckets[s->n_results - 1];
  if (s->n_buckets > b->first)
    s->n_entries = s->bucket_entries[b->first].first;
  s->n_buckets = b->end = b->first;
}

static void drop_entries(agg_reader_t *r) {
  store_t *s = r->s;
  span_t *e = &s->bucket_entries[s->n_buckets - 1];
  s->n_entries = e->end = e->first;
}

static void drop_stats(gen_agg_entry_t *e) {
  e->stats = false;
  e->have = 0;
  memset(e->stat, 0, sizeof(e->stat));
}

/* A value of want that is not of the kind read there. */
static void absent(agg_reader_t *r, agg_want_t want) {
  store_t *s = r->s;
  switch (want) {
  case WANT_DOC:
    r->not_object = true;
    break;
  case WANT_RESULTS:
    r->results_not_array = true;
    store_clear(s);
    break;
  case WANT_GROUP:
    drop_dims(r);
    s->results[s->n_results - 1].group.object = false;
    break;
  case WANT_DATA:
    drop_buckets(r);
    break;
  case WANT_INTERVAL:
    s->buckets[s->n_buckets - 1].interval = NULL;
    break;
  case WANT_METRICS:
    drop_entries(r);
    break;
  case WANT_METRIC:
    s->entries[s->n_entries - 1].metric = NULL;
    break;
  case WANT_QUALIFIER:
    s->entries[s->n_entries - 1].qualifier = NULL;
    break;
  case WANT_STATS:
    drop_stats(&s->entries[s->n_entries - 1]);
    break;
  case WANT_STAT:
    s->entries[s->n_entries - 1].have &= (uint8_t) ~(1u << r->stat);
    break;
  case WANT_DIM: /* added without a value */
  case WANT_ITEM:
    break;
  }
}

/* An item of the array open starts: a result, bucket or entry. */
static void item(agg_reader_t *r) {
  agg_part_t c = r->ctx[r->depth - 1];
  int status = c == PART_RESULTS ? gen_agg_answer_add_result(r->a, false)
               : c == PART_DATA
                   ? gen_agg_answer_add_bucket(r->a, NULL)
                   : gen_agg_answer_add_entry(r->a, &(gen_agg_entry_t){0});
  if (status != 0)
    r->status = status;
}

static int push(agg_reader_t *r, agg_part_t c) {
  r->ctx[r->depth++] = c;
  return r->status == 0;
}

static int on_container(agg_reader_t *r, bool map) {
  agg_want_t w = value_want(r);
  if (w == WANT_ITEM) {
    item(r);
    agg_part_t c = r->ctx[r->depth - 1];
    if (map && r->status == 0)
      return push(r, c == PART_RESULTS ? PART_RESULT
                     : c == PART_DATA  ? PART_BUCKET
                                       : PART_ENTRY);
  } else if (map && (w == WANT_DOC || w == WANT_GROUP || w == WANT_STATS)) {
    if (w == WANT_GROUP) {
      drop_dims(r);
      r->s->results[r->s->n_results - 1].group.object = true;
    } else if (w == WANT_STATS) {
      gen_agg_entry_t *e = &r->s->entries[r->s->n_entries - 1];
      drop_stats(e);
      e->stats = true;
    }
    return push(r, w == WANT_DOC     ? PART_ROOT
                   : w == WANT_GROUP ? PART_GROUP
                                     : PART_STATS);
  } else if (!map &&
             (w == WANT_RESULTS || w == WANT_DATA || w == WANT_METRICS)) {
    if (w == WANT_RESULTS) {
      store_clear(r->s);
      r->results_not_array = false;
    } else if (w == WANT_DATA) {
      drop_buckets(r);
    } else {
      drop_entries(r);
    }
    return push(r, w == WANT_RESULTS ? PART_RESULTS
                   : w == WANT_DATA  ? PART_DATA
                                     : PART_METRICS);
  } else {
    absent(r, w);
  }
  return r->status == 0 ? GEN_JSCAN_SKIP : 0;
}

static int on_start_map(void *ctx) { return on_container(ctx, true); }
static int on_start_array(void *ctx) { return on_container(ctx, false); }

static int on_end(void *ctx) {
  agg_reader_t *r = ctx;
  r->depth--;
  return 1;
}

/* A string, number, true, false or null: s is a string's text, number a
 * number's (else NULL). */
static int on_scalar(void *ctx, const unsigned char *s, size_t n,
                     const char *number) {
  agg_reader_t *r = ctx;
  agg_want_t w = value_want(r);
  store_t *st = r->s;
  if (w == WANT_ITEM) {
    item(r);
  } else if (w == WANT_DIM && (s != NULL || number != NULL)) {
    gen_agg_dim_t *d = &st->dims[st->n_dims - 1];
    if (s != NULL)
      d->value = keep(r, s, n);
    else
      d->number = keep(r, number, n);
  } else if (w == WANT_INTERVAL && s != NULL) {
    st->buckets[st->n_buckets - 1].interval = keep(r, s, n);
  } else if (w == WANT_METRIC && s != NULL) {
    st->entries[st->n_entries - 1].metric = keep(r, s, n);
  } else if (w == WANT_QUALIFIER && s != NULL) {
    st->entries[st->n_entries - 1].qualifier = keep(r, s, n);
  } else if (w == WANT_STAT && number != NULL) {
    gen_agg_entry_t *e = &st->entries[st->n_entries - 1];
    double v;
    char small[32];
    if (n < sizeof(small)) {
      memcpy(small, number, n);
      small[n] = '\0';
      v = strtod(small, NULL);
    } else {
      const char *copy = keep(r, number, n); /* rare: a long number */
      v = copy != NULL ? strtod(copy, NULL) : NAN;
    }
    /* Beyond 2^53 the state file could not keep it: absent, as the state
     * file's reader would refuse it (the entry is skipped, counted). */
    if (isfinite(v) && fabs(v) <= GEN_JSON_EXACT_MAX) {
      e->stat[r->stat] = v;
      e->have |= (uint8_t)(1u << r->stat);
    } else {
      absent(r, w);
    }
  } else {
    absent(r, w);
  }
  return r->status == 0;
}

static bool is(const unsigned char *s, size_t n, const char *word) {
  return strlen(word) == n && memcmp(s, word, n) == 0;
}

static int on_key(void *ctx, const unsigned char *s, size_t n) {
  agg_reader_t *r = ctx;
  switch (r->ctx[r->depth - 1]) {
  case PART_ROOT:
    r->want = WANT_RESULTS;
    return is(s, n, "results") ? 1 : GEN_JSCAN_SKIP;
  case PART_RESULT:
    r->want = is(s, n, "group") ? WANT_GROUP : WANT_DATA;
    return r->want == WANT_GROUP || is(s, n, "data") ? 1 : GEN_JSCAN_SKIP;
  case PART_GROUP: {
    const char *name = keep(r, s, n);
    if (name != NULL &&
        gen_agg_answer_add_dim(r->a, &(gen_agg_dim_t){.name = name}) != 0)
      r->status = -ENOMEM;
    r->want = WANT_DIM;
    return r->status == 0;
  }
  case PART_BUCKET:
    r->want = is(s, n, "interval") ? WANT_INTERVAL : WANT_METRICS;
    return r->want == WANT_INTERVAL || is(s, n, "metrics") ? 1 : GEN_JSCAN_SKIP;
  case PART_ENTRY:
    r->want = is(s, n, "metric")      ? WANT_METRIC
              : is(s, n, "qualifier") ? WANT_QUALIFIER
                                      : WANT_STATS;
    return r->want != WANT_STATS || is(s, n, "stats") ? 1 : GEN_JSCAN_SKIP;
  case PART_STATS:
    r->want = WANT_STAT;
    for (r->stat = 0; r->stat < GEN_AGG_STATS; r->stat++)
      if (is(s, n, gen_agg_stat_names[r->stat]))
        return 1;
    return GEN_JSCAN_SKIP;
  default: /* no key in an array */
    return GEN_JSCAN_SKIP;
  }
}

static const gen_jscan_callbacks_t callbacks = {
    .on_scalar = on_scalar,
    .on_start_map = on_start_map,
    .on_key = on_key,
    .on_end_map = on_end,
    .on_start_array = on_start_array,
    .on_end_array = on_end,
};

int gen_agg_answer_read(gen_agg_answer_t *a, const char *text, size_t len,
                        char *err, size_t err_size) {
  char why[128];
  if (gen_json_bounds(text, len, why, sizeof(why)) != 0) {
    snprintf(err, err_size, "malformed JSON: %s", why);
    return -EINVAL;
  }
  /* What a held goes with the arena: a failed read leaves a empty. */
  store_clear(&a->store[a->read]);
  /* The strings (a NUL each) fit in the text's length: one chunk. */
  if (arena_reset(a, len + 1) != 0 ||
      gen_grow((void **)&a->decoded, &a->decoded_cap, len + 1, 1, 4096) != 0)
    return -ENOMEM;
  gen_agg_answer_begin(a);
  agg_reader_t r = {.a = a, .s = written(a)};
  gen_jscan_t js = {.text = (const unsigned char *)text,
                    .len = len,
                    .max_depth = GEN_JSON_MAX_DEPTH,
                    .buf = a->decoded};
  gen_jscan_status_t st = gen_jscan_run(&js, &callbacks, &r);
  if (st == GEN_JSCAN_STOPPED) {
    store_clear(r.s);
    return r.status != 0 ? r.status : -ENOMEM;
  }
  if (st != GEN_JSCAN_OK) {
    store_clear(r.s);
    snprintf(err, err_size, "malformed JSON: %s at byte %zu",
             st == GEN_JSCAN_DEPTH ? "nesting too deep" : js.reason, js.off);
    return -EINVAL;
  }
  if (r.not_object || r.results_not_array) {
    store_clear(r.s);
    snprintf(err, err_size, "the answer is not an aggregates response");
    return -EINVAL;
  }
  gen_agg_answer_end(a);
  return 0;
}
