/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: first-contact resolution of genesys_analytics (see
 * gen_resolution_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_config.h"
#include "gen_json.h"
#include "gen_resolution_agg.h"

#define QUEUE "queueId"
#define MEDIA "mediaType"

enum { GROUP_RESOLUTION };

/* The one metric of the record (any other word an answer brings is
 * counted unknown by gen_agg_take). */
static const gen_agg_metric_t metrics[] = {
    {.name = "next_contact_avoided",
     .api = "nNextContactAvoided",
     .kind = GEN_AGG_COUNT,
     .group = GROUP_RESOLUTION},
};
/* A queue and media with a group in a day and no count has 0; a day
 * without its group has nothing. */
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = true};

/* One request over range: a bucket a day on the wrap-up date, grouped by
 * queue and media, for the queues ids[n]. */
static json_object *query_body(void *ud, const char *const *ids, size_t n,
                               const gen_interval_range_t *range) {
  (void)ud;
  static const char *const group_by[] = {QUEUE, MEDIA};
  json_object *body =
      gen_agg_query_of(&catalogue, range, GEN_RESOLUTION_DAY_MS, group_by,
                       STATIC_ARRAY_SIZE(group_by), QUEUE, ids, n);
  /* The day a conversation was last wrapped up, not the day its
   * avoidance was processed: the value belongs to the contacts of that
   * day (and grows as they settle). */
  json_object_object_add(body, "alternateTimeDimension",
                         json_object_new_string("wrapUpDate"));
  return body;
}

gen_agg_query_t gen_resolution_agg_query(gen_queue_row_t *row) {
  row->qm.tag = "R";
  row->qm.group = GROUP_RESOLUTION;
  gen_agg_query_t q = gen_agg_query_make(
      GEN_RESOLUTION_AGG_PATH, "resolution aggregates query", &catalogue,
      GEN_RESOLUTION_DAY_MS, query_body, NULL, row);
  gen_queue_media_use(&q, &row->qm);
  q.family = "resolution aggregates";
  q.still = "the queue values";
  return q;
}

gen_interval_t *gen_resolution_agg_engine(const gen_org_t *org,
                                          const gen_interval_config_t *ic,
                                          const char *stem,
                                          const gen_log_org_t *who) {
  gen_interval_config_t own = *ic; /* borrows its state directory */
  own.granularity_ms = GEN_RESOLUTION_DAY_MS;
  own.settle = TIME_T_TO_CDTIME_T(3600);
  /* A window would ask for every recent day again with each new one; the
   * schedule costs a request per batch, day and age. */
  own.revisit = 0;
  own.revisit_at = GEN_RESOLUTION_REVISIT;
  own.horizon = MS_TO_CDTIME_T(GEN_RESOLUTION_HORIZON_MS);
  own.initial = MS_TO_CDTIME_T(GEN_RESOLUTION_HORIZON_MS);
  return gen_interval_config_engine(&own, stem, org->name, "-resolutions", who);
}

static const gen_config_def_t resolution_agg_defs[] = {
    GEN_KEY_BOOL("ResolutionAggregates", gen_resolution_agg_config_t, on, false,
                 "next contacts avoided per queue and media type and day, "
                 "revised for 16 days"),
};

const gen_config_table_t gen_resolution_agg_keys =
    GEN_CONFIG_TABLE(resolution_agg_defs);
