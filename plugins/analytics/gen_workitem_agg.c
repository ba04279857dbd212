/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: workitems per queue of genesys_analytics (see
 * gen_workitem_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_config.h"
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

/* A request per batch of queues, grouped by queue (workitems have no
 * mediaType). */
static const char *const group_by[] = {QUEUE};

static const gen_queue_row_def_t def = {
    .path = GEN_WORKITEM_AGG_PATH,
    .what = "task management aggregates query",
    .family = "workitem aggregates",
    .tag = "W",
    .group = GROUP_WORKITEM,
    .cat = &catalogue,
    .group_by = group_by,
    .n_group_by = STATIC_ARRAY_SIZE(group_by)};

gen_agg_query_t gen_workitem_agg_query(gen_queue_row_t *row) {
  return gen_queue_row_query(row, &def);
}

static const gen_config_def_t workitem_agg_defs[] = {
    GEN_KEY_BOOL("WorkitemAggregates", gen_workitem_agg_config_t, on, false,
                 "workitems created, offered, over SLA, expired, timed out "
                 "and handled per queue and interval"),
};

const gen_config_table_t gen_workitem_agg_keys =
    GEN_CONFIG_TABLE(workitem_agg_defs);
