/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: an aggregates answer read into flat arrays (see
 * gen_agg_answer.h).
 *
 * While an answer is read, buckets and results hold the span of their
 * entries, dims and buckets as indices (the arrays may move as they grow);
 * the pointers are set once it is whole.
 */
#include "gen_agg_answer.h"

#include "gen_buf.h"
#include "gen_json.h"

#include <errno.h>
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
};

gen_agg_answer_t *gen_agg_answer_new(void) {
  return calloc(1, sizeof(gen_agg_answer_t));
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
  free(a);
}

static void clear(gen_agg_answer_t *a) {
  a->n_results = a->n_buckets = a->n_entries = a->n_dims = 0;
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

static int not_ours(char *err, size_t err_size) {
  snprintf(err, err_size, "the answer is not an aggregates response");
  return -EINVAL;
}

static int entry_from_json(gen_agg_answer_t *a, json_object *entry) {
  if (add_entry(a) != 0)
    return -ENOMEM;
  gen_agg_entry_t *e = &a->entries[a->n_entries - 1];
  json_object *stats = gen_json_get_object(entry, "stats");
  e->metric = gen_json_get_string(entry, "metric");
  e->stats = stats != NULL;
  if (stats == NULL)
    return 0;
  /* Each member once (an entry has one to four stats), not a look-up per
   * stat name: the look-ups were most of this reading (bench/README.md,
   * bench_analytics.py). */
  json_object_object_foreach(stats, name, v) {
    for (int s = 0; s < GEN_AGG_STATS; s++)
      if (strcmp(name, gen_agg_stat_names[s]) == 0) {
        if (gen_json_number(v, &e->stat[s]))
          e->have |= (uint8_t)(1u << s);
        break;
      }
  }
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
