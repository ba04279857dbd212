/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: workitems per queue of genesys_analytics (see
 * gen_workitem_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_config.h"
#include "gen_json.h"
#include "gen_workitem_agg.h"

#define QUEUE "queueId"

enum { GROUP_WORKITEM };

/* Their own types (a total_ counter each): a workitem is offered to a
 * queue as a call is, and a panel summing offered must not add the two. */
#define COUNT(n, a)                                                            \
  { .name = n, .api = a, .kind = GEN_AGG_COUNT, .group = GROUP_WORKITEM }
/* The metric catalogue (gen_aggregates), from the record's
 * TaskManagementAggregationView metrics; the rest of its 32 (transfers,
 * status changes, focus and alert times) are left out. */
static const gen_agg_metric_t metrics[] = {
    COUNT("workitems_created", "nWorkitemsCreated"),
    COUNT("workitems_offered", "nWorkitemsOffered"),
    COUNT("workitems_over_sla", "nWorkitemsOverSla"),
    COUNT("workitems_acd_expired", "nWorkitemsAcdExpired"),
    COUNT("workitems_timedout", "nWorkitemsTimedout"),
    {.name = "workitem_handled",
     .api = "tWorkitemsHandled",
     .kind = GEN_AGG_DURATION,
     .group = GROUP_WORKITEM},
    {.name = "workitem_service_level",
     .api = "oWorkitemsServiceLevel",
     .kind = GEN_AGG_RATIO,
     .group = GROUP_WORKITEM},
};
/* A queue with a group in a bucket and no count has 0; a bucket without
 * its group has nothing. */
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = true};

/* One request over range for the queues ids[n], grouped by queue. */
static json_object *query_body(void *ud, const char *const *ids, size_t n,
                               const gen_interval_range_t *range) {
  static const char *const group_by[] = {QUEUE};
  const gen_workitem_agg_t *wa = ud;
  json_object *body = gen_agg_query_new(range, wa->granularity_ms, group_by,
                                        STATIC_ARRAY_SIZE(group_by));
  json_object_object_add(body, "metrics",
                         gen_agg_metrics_json(&catalogue, NULL, -1));
  json_object_object_add(body, "filter", gen_json_or_filter(QUEUE, ids, n));
  return body;
}

gen_agg_query_t gen_workitem_agg_query(gen_workitem_agg_t *wa) {
  wa->qm.tag = "W";
  wa->qm.group = GROUP_WORKITEM;
  gen_agg_query_t q = gen_agg_query_make(
      GEN_WORKITEM_AGG_PATH, "task management aggregates query", &catalogue,
      wa->granularity_ms, query_body, NULL, wa);
  gen_queue_media_use(&q, &wa->qm);
  q.family = "workitem aggregates";
  q.still = "the queue values";
  return q;
}

static const gen_config_def_t workitem_agg_defs[] = {
    GEN_KEY_BOOL("WorkitemAggregates", gen_workitem_agg_config_t, on, false,
                 "workitems created, offered, over SLA, expired, timed out "
                 "and handled per queue and interval"),
};

const gen_config_table_t gen_workitem_agg_keys =
    GEN_CONFIG_TABLE(workitem_agg_defs);
