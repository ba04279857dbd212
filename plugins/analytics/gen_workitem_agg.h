/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: workitems (task management) per queue and interval of
 * genesys_analytics (WorkitemAggregates true): the task management
 * aggregates query grouped by queueId, filtered by the listed queues
 * (POST /api/v2/analytics/taskmanagement/aggregates/query, permission
 * analytics:taskManagementAggregate:view; tests/sim/README.md, "Workitem
 * aggregates"). A row of ga_history.
 *
 * Per queue and bucket: the workitems created, offered, over their
 * service level, expired in ACD and timed out (nWorkitemsCreated, Offered,
 * OverSla, AcdExpired, Timedout), the time handling them
 * (tWorkitemsHandled) and the service level (oWorkitemsServiceLevel).
 * Workitems are no conversation media type: the queue aggregates never
 * see them. When Genesys has a bucket's workitems is not in the record:
 * the plugin's SettleDelay and RevisitAt, as the queue aggregates.
 */
#ifndef GEN_WORKITEM_AGG_H
#define GEN_WORKITEM_AGG_H 1

#include "gen_aggregates.h"
#include "gen_queue_agg.h"

#define GEN_WORKITEM_AGG_PATH                                                  \
  "/api/v2/analytics/taskmanagement/aggregates/query"

typedef struct {
  bool on; /* WorkitemAggregates (default off) */
} gen_workitem_agg_config_t;

extern const gen_config_table_t gen_workitem_agg_keys;

/* The query per batch of queues (scopes: queue ids) in buckets of
 * Granularity. row (the org, host, plugin and queues, borrowed from the
 * plugin; the tag and group are set here) is borrowed. */
gen_agg_query_t gen_workitem_agg_query(gen_queue_row_t *row);

#endif /* GEN_WORKITEM_AGG_H */
