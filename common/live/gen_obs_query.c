/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the observations query's answer as gen_obs items (see
 * gen_obs_query.h).
 */
#include "gen_obs_query.h"

#include "gen_json.h"
#include "gen_time.h"

#include <stdio.h>
#include <string.h>

static gen_obs_metric_t metric_from_name(const char *name) {
  for (int m = GEN_OBS_M_UNKNOWN + 1; m < GEN_OBS_M_COUNT; m++)
    if (strcmp(gen_obs_metric_name((gen_obs_metric_t)m), name) == 0)
      return (gen_obs_metric_t)m;
  return GEN_OBS_M_UNKNOWN;
}

/* The earliest observationDate of an item's observations (detail metrics),
 * epoch ms, or 0. */
static int64_t earliest_observation(json_object *d) {
  json_object *obs = gen_json_get_array(d, "observations");
  size_t len = obs ? json_object_array_length(obs) : 0;
  int64_t earliest = 0;
  for (size_t i = 0; i < len; i++) {
    const char *date = gen_json_get_string(json_object_array_get_idx(obs, i),
                                           "observationDate");
    int64_t ms;
    if (date != NULL && gen_time_parse(date, &ms) == 0 && ms > 0 &&
        (earliest == 0 || ms < earliest))
      earliest = ms;
  }
  return earliest;
}

size_t gen_obs_query_items(json_object *data, gen_obs_item_t *items,
                           size_t max) {
  size_t n = 0;
  size_t len = data ? json_object_array_length(data) : 0;
  for (size_t i = 0; i < len && n < max; i++) {
    json_object *d = json_object_array_get_idx(data, i);
    const char *metric = gen_json_get_string(d, "metric");
    json_object *stats = gen_json_get_object(d, "stats");
    if (metric == NULL || stats == NULL)
      continue;
    gen_obs_item_t *it = &items[n];
    memset(it, 0, sizeof(*it));
    it->metric = metric_from_name(metric);
    if (it->metric == GEN_OBS_M_UNKNOWN)
      continue;
    const char *qualifier = gen_json_get_string(d, "qualifier");
    if (qualifier)
      snprintf(it->qualifier, sizeof(it->qualifier), "%s", qualifier);
    it->has_count = gen_json_get_int64(stats, "count", &it->count);
    if (it->has_count && it->count < 0)
      it->has_count = false;
    it->has_value = gen_json_get_double(stats, "calculatedMetricValue",
                                        &it->calculated_value);
    it->since_ms = earliest_observation(d);
    n++;
  }
  /* The waiting conversations' own observationDates, when the answer has
   * them, say when the oldest began: preferred over the longest value. */
  for (size_t i = 0; i < n; i++) {
    gen_obs_metric_t count_of =
        items[i].metric == GEN_OBS_M_LONGEST_WAITING ? GEN_OBS_M_WAITING
        : items[i].metric == GEN_OBS_M_LONGEST_INTERACTING
            ? GEN_OBS_M_INTERACTING
            : GEN_OBS_M_UNKNOWN;
    for (size_t j = 0; count_of != GEN_OBS_M_UNKNOWN && j < n; j++)
      if (items[j].metric == count_of && items[j].since_ms > 0 &&
          items[i].since_ms == 0)
        items[i].since_ms = items[j].since_ms;
  }
  return n;
}

size_t gen_obs_query_groups(json_object *answer, gen_obs_query_each_t each,
                            void *ud) {
  json_object *results = NULL;
  if (!json_object_object_get_ex(answer, "results", &results) ||
      !json_object_is_type(results, json_type_array))
    return 0;
  size_t len = json_object_array_length(results);
  gen_obs_item_t items[GEN_OBS_MAX_ITEMS];
  for (size_t r = 0; r < len; r++) {
    json_object *result = json_object_array_get_idx(results, r);
    json_object *group = NULL, *data = NULL, *v = NULL;
    json_object_object_get_ex(result, "group", &group);
    json_object_object_get_ex(result, "data", &data);
    const char *queue_id = NULL, *media_type = NULL;
    if (json_object_object_get_ex(group, "queueId", &v) &&
        json_object_is_type(v, json_type_string))
      queue_id = json_object_get_string(v);
    if (json_object_object_get_ex(group, "mediaType", &v) &&
        json_object_is_type(v, json_type_string))
      media_type = json_object_get_string(v);
    size_t n = json_object_is_type(data, json_type_array)
                   ? gen_obs_query_items(data, items, GEN_OBS_MAX_ITEMS)
                   : 0;
    each(ud, queue_id, media_type, items, n);
  }
  return len;
}
