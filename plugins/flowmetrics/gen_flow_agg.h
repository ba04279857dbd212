/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the flow aggregates of genesys_flowmetrics, per closed
 * interval (gen_aggregates' catalogue and request loop).
 *
 * The flow aggregates query gives nFlow, tFlow, tFlowDisconnect, tFlowExit
 * per flow, nFlowOutcome, nFlowOutcomeFailed, tFlowOutcome per outcome and
 * nFlowMilestone per milestone. The groups of one milestone (one per
 * outcome it is associated with) are folded into one before they are read.
 * The flow observations query gives the active flows (oFlow) per media
 * type, as gauges at once.
 */
#ifndef GEN_FLOW_AGG_H
#define GEN_FLOW_AGG_H 1

#include "gen_aggregates.h"
#include "gen_entity.h"
#include "gen_obs_query.h"

#include <stdatomic.h>

/* flowId predicates per request, as the documented observation limit. */
#define GEN_FLOW_AGG_MAX_PER_QUERY 100

#define GEN_FLOW_AGG_PATH "/api/v2/analytics/flows/aggregates/query"

/* The listings that name outcomes and milestones. */
#define GEN_FLOW_OUTCOMES_PATH "/api/v2/flows/outcomes"
#define GEN_FLOW_MILESTONES_PATH "/api/v2/flows/milestones"

/* The keys of the flow aggregates. */
typedef struct {
  bool aggregates;      /* Aggregates: per interval (default on) */
  bool active_flows;    /* ActiveFlows: oFlow every read (default on) */
  long flows_per_query; /* FlowsPerQuery (default 100) */
  char **flow_types;    /* FlowType: listed with ?type= (NULL = every type) */
  size_t n_flow_types;
} gen_flow_agg_config_t;

void gen_flow_agg_config_release(gen_flow_agg_config_t *c);
extern const gen_config_table_t gen_flow_agg_keys;

/* The flow listing, GET /api/v2/flows with ?type= for each of types[n]
 * (FlowType), written to buf. */
void gen_flow_agg_list_path(char *const *types, size_t n, char *buf,
                            size_t size);

/* One org's flow aggregates: what they read, borrowed from the plugin. The
 * entity sets are read on the read thread only, which is the one that
 * changes them. */
typedef struct {
  gen_client_t *client;
  const char *plugin;
  const gen_entity_set_t *flows, *outcomes, *milestones;
  int64_t granularity_ms;
  /* The read interval, for the active-flow gauges (0: gen_dispatch finds
   * it). */
  atomic_uint_fast64_t *interval;
  gen_ratelimit_t *complain;
} gen_flow_agg_t;

/* ---- observations (POST /api/v2/analytics/flows/observations/query) ---- */

/* An observations query of one metric now (no interval), for entities
 * selected by one dimension, e.g. the active flows (oFlow) by flowId. */
typedef struct {
  const char *path;        /* POST path */
  const char *what;        /* "flow observations query", for the log */
  gen_obs_metric_t metric; /* GEN_OBS_M_FLOW */
  const char *dim;         /* "flowId": the filter's and the groups' member */
  /* The metric's stats.count in the result group of id (NULL when the
   * group has none) and media type (NULL when it has none). */
  void (*observed)(void *ud, const char *id, const char *media, double count);
  void *ud;
  gen_ratelimit_t *complain; /* for failures */
} gen_flow_observation_t;

/* Reads an answer's text of len bytes with the observations API's one
 * reader (gen_obs_query_read: its rules on forms, an answer without
 * results[] has no group): observed() for every item of the metric with a
 * count. 0, or -EINVAL (not JSON) or -ENOMEM with the reason in err. */
int gen_flow_observed(const gen_flow_observation_t *q, const char *text,
                      size_t len, char *err, size_t err_size);

/* Asks q for ids[n] (counted in counts) and reads the answer. Returns 0, or
 * the failure (logged with q->what and counted). */
int gen_flow_observe(gen_client_t *client, gen_agg_counts_t *counts,
                     const gen_flow_observation_t *q, const char *const *ids,
                     size_t n);

/* The aggregates endpoint, how its answer is read and where its values go
 * (out); the observations query of active flows. Each borrows fa. */
gen_agg_query_t gen_flow_agg_query(gen_flow_agg_t *fa);
gen_flow_observation_t gen_flow_agg_active(gen_flow_agg_t *fa);

/* Flows a request: per, or GEN_FLOW_AGG_MAX_PER_QUERY for 0 or more. */
size_t gen_flow_agg_per_query(size_t per);

/* The active flows (oFlow) of every batch of per selected flows, each
 * batch one observations query (a failed one logged and counted). */
void gen_flow_agg_observe(gen_flow_agg_t *fa, gen_agg_counts_t *counts,
                          size_t per);

#endif /* GEN_FLOW_AGG_H */
