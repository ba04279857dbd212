/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the data action aggregates of genesys_flowmetrics, per
 * closed interval (gen_aggregates' catalogue and request loop).
 *
 * The actions aggregates query has one metric, tTotalExecution (count, and
 * sum, max and min in ms), grouped by actionId, errorType and
 * responseStatus: the groups of one action with an errorType or a status
 * outside 2xx are its failed executions. Before the
 * answer is read the groups of one action are folded into one, with the
 * executions, the errors (the count of its errorType groups) and, when the
 * stats carry them, the execution times (tests/sim/README.md, Data
 * actions).
 */
#ifndef GEN_ACTION_AGG_H
#define GEN_ACTION_AGG_H 1

#include "gen_aggregates.h"
#include "gen_entity.h"

/* actionId predicates per request when a selection is configured (the
 * limit of the other analytics filters; UNCONFIRMED for actions). Without
 * one, one request asks for every action. */
#define GEN_ACTION_AGG_MAX_PER_QUERY 100

#define GEN_ACTION_AGG_PATH "/api/v2/analytics/actions/aggregates/query"
#define GEN_ACTION_LIST_PATH "/api/v2/integrations/actions"

/* The keys of the data action aggregates. */
typedef struct {
  bool on;                    /* DataActions (default off) */
  gen_entity_filter_t filter; /* DataActionId, DataActionName */
} gen_action_agg_config_t;

extern const gen_config_table_t gen_action_agg_keys;
void gen_action_agg_config_release(gen_action_agg_config_t *c);

/* One org's data action aggregates, borrowed from the plugin. actions is
 * read on the read thread only, which is the one that changes it. */
typedef struct {
  gen_client_t *client;
  const char *plugin;
  const gen_entity_set_t *actions;
  bool every; /* actions holds every action listed: no filter asked */
  int64_t granularity_ms;
} gen_action_agg_t;

/* The aggregates endpoint, how its answer is read and where its values go
 * (out). It borrows aa. */
gen_agg_query_t gen_action_agg_query(gen_action_agg_t *aa);

/* True when an answer group is of failed executions: it has an errorType,
 * or a responseStatus (a string or a number) outside 200-299. */
bool gen_action_agg_failed(const gen_agg_group_t *group);

/* Rewrites an answer as the catalogue reads it: a group with actionName
 * only gets the actionId of the action of that name in actions; with
 * foreign (every action was asked for) the groups of actions not in
 * actions are dropped (listed since, or deleted: not malformed; a group
 * that is not an object stays, malformed); every
 * tTotalExecution entry becomes the executions (its count), the errors
 * (its count, in a failed group: gen_action_agg_failed) and the execution
 * time (when its stats carry a sum), and the groups of one action are
 * folded into one. 0, or -ENOMEM. */
int gen_action_agg_normalize(const gen_entity_set_t *actions, bool foreign,
                             gen_agg_answer_t *a);

/* The actions one request asks for: every one (0: no filter, one
 * request) when no selection is configured, else
 * GEN_ACTION_AGG_MAX_PER_QUERY. */
size_t gen_action_agg_per_query(const gen_action_agg_t *aa);

#endif /* GEN_ACTION_AGG_H */
