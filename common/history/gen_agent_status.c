/* SPDX-License-Identifier: MIT */
/* Agent time in status: the users aggregates query and its sums. */
#include "gen_agent_status.h"

#include "gen_aggregates.h"
#include "gen_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static const char *const kinds[2] = {"routing", "presence"};
static const char *const metrics[2] = {"tAgentRoutingStatus",
                                       "tSystemPresence"};

static size_t sums_at(size_t b, int kind, size_t st) {
  return (b * 2 + (size_t)kind) * GEN_AGENT_STATUS_MAX + st;
}

int gen_agent_sums_init(gen_agent_sums_t *s, const gen_interval_range_t *range,
                        int64_t granularity_ms) {
  memset(s, 0, sizeof(*s));
  s->granularity_ms = granularity_ms;
  s->n_buckets = (size_t)((range->end_ms - range->start_ms) / granularity_ms);
  s->ms = calloc(s->n_buckets * 2 * GEN_AGENT_STATUS_MAX, sizeof(*s->ms));
  s->filled = calloc(s->n_buckets * 2, sizeof(*s->filled));
  return s->ms && s->filled ? 0 : -ENOMEM;
}

void gen_agent_sums_free(gen_agent_sums_t *s) {
  free(s->ms);
  free(s->filled);
  s->ms = NULL;
  s->filled = NULL;
}

/* Index of a status of a kind, added when new; -1 when the table is full. */
static ssize_t status_slot(gen_agent_sums_t *s, int kind, const char *name) {
  for (size_t i = 0; i < s->n_status[kind]; i++)
    if (strcmp(s->status[kind][i], name) == 0)
      return (ssize_t)i;
  if (s->n_status[kind] == GEN_AGENT_STATUS_MAX)
    return -1;
  snprintf(s->status[kind][s->n_status[kind]], GEN_AGENT_STATUS_LEN, "%s",
           name);
  return (ssize_t)s->n_status[kind]++;
}

json_object *gen_agent_status_body(const char *const *user_ids, size_t n,
                                   const gen_interval_range_t *range,
                                   int64_t granularity_ms) {
  static const char *const group_by[] = {"userId"};
  json_object *body = gen_agg_query_new(range, granularity_ms, group_by, 1);
  json_object *list = json_object_new_array();
  for (int k = 0; k < 2; k++)
    json_object_array_add(list, json_object_new_string(metrics[k]));
  json_object_object_add(body, "metrics", list);
  json_object_object_add(body, "filter",
                         gen_json_or_filter("userId", user_ids, n));
  return body;
}

int gen_agent_sums_take(gen_agent_sums_t *s, json_object *doc,
                        const gen_interval_range_t *range, size_t *skipped,
                        char *err, size_t err_size) {
  json_object *results = NULL;
  if (!json_object_is_type(doc, json_type_object) ||
      (json_object_object_get_ex(doc, "results", &results) &&
       !json_object_is_type(results, json_type_array))) {
    snprintf(err, err_size, "the answer is not a users aggregates response");
    return -EINVAL;
  }
  int64_t g = s->granularity_ms;
  size_t len = results ? json_object_array_length(results) : 0;
  for (size_t r = 0; r < len; r++) {
    json_object *data =
        gen_json_get_array(json_object_array_get_idx(results, r), "data");
    size_t n_data = data ? json_object_array_length(data) : 0;
    for (size_t d = 0; d < n_data; d++) {
      json_object *bucket = json_object_array_get_idx(data, d);
      int64_t start;
      if (gen_agg_bucket_start(gen_json_get_string(bucket, "interval"), range,
                               g, &start, err, err_size) != 0)
        return -EINVAL;
      size_t b = (size_t)((start - range->start_ms) / g);
      json_object *entries = gen_json_get_array(bucket, "metrics");
      size_t n_entries = entries ? json_object_array_length(entries) : 0;
      for (size_t m = 0; m < n_entries; m++) {
        json_object *entry = json_object_array_get_idx(entries, m);
        const char *metric = gen_json_get_string(entry, "metric");
        const char *status = gen_json_get_string(entry, "qualifier");
        double ms = 0;
        int kind = -1;
        for (int k = 0; metric != NULL && k < 2; k++)
          if (strcmp(metric, metrics[k]) == 0)
            kind = k;
        if (kind < 0)
          continue; /* a metric we did not ask for */
        ssize_t slot = -1;
        if (status != NULL && status[0] != '\0' &&
            strlen(status) < GEN_AGENT_STATUS_LEN &&
            gen_json_get_double(gen_json_get_object(entry, "stats"), "sum",
                                &ms) &&
            ms >= 0)
          slot = status_slot(s, kind, status);
        if (slot < 0) {
          (*skipped)++;
          continue;
        }
        s->ms[sums_at(b, kind, (size_t)slot)] += ms;
        s->filled[b * 2 + (size_t)kind] = true;
      }
    }
  }
  return 0;
}

int gen_agent_sums_put(const gen_agent_sums_t *s, gen_interval_t *engine,
                       const char *scope, const gen_interval_range_t *range) {
  gen_interval_value_t v[GEN_AGENT_STATUS_MAX];
  for (size_t b = 0; b < s->n_buckets; b++)
    for (int kind = 0; kind < 2; kind++) {
      if (!s->filled[b * 2 + (size_t)kind])
        continue;
      size_t n = 0;
      for (size_t st = 0; st < s->n_status[kind]; st++) {
        double ms = s->ms[sums_at(b, kind, st)];
        if (ms > 0)
          v[n++] = (gen_interval_value_t){
              .name = s->status[kind][st], .value = ms, .counter = true};
      }
      gen_key_t key = {{kinds[kind]}, 0};
      int status = gen_interval_put(
          engine, scope, &key, range->start_ms + (int64_t)b * s->granularity_ms,
          v, n);
      if (status != 0)
        return status;
    }
  return 0;
}
