/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the flow exits of genesys_flowmetrics, per closed
 * interval (gen_aggregates' catalogue and request loop).
 *
 * The flow aggregates query grouped by flowId, exitReason and selfServed,
 * one request per batch of FlowsPerQuery flows, asks tFlow alone: its
 * count is the executions that ended in the bucket (tests/sim/README.md,
 * Flow exits). Each group of the answer counts twice, once in the group of
 * its flow and exit reason and once in that of its flow and selfServed:
 * the ended executions per exit reason and the self-served ones, whose
 * share is the containment. A value neither names (absent, empty, not a
 * string) is GEN_FLOW_EXIT_UNKNOWN; any other keeps its own series, made
 * safe for every backend.
 */
#ifndef GEN_FLOW_EXIT_AGG_H
#define GEN_FLOW_EXIT_AGG_H 1

#include "gen_aggregates.h"
#include "gen_entity.h"

/* The series of a group without an exit reason or selfServed. */
#define GEN_FLOW_EXIT_UNKNOWN "unknown"

/* The keys of the flow exits. */
typedef struct {
  bool on; /* FlowExits (default off) */
} gen_flow_exit_config_t;

extern const gen_config_table_t gen_flow_exit_keys;

/* One org's flow exits, borrowed from the plugin; the flows as the flow
 * aggregates list them. */
typedef struct {
  gen_client_t *client;
  const char *plugin;
  const gen_entity_set_t *flows;
  int64_t granularity_ms;
} gen_flow_exit_t;

/* The aggregates endpoint, how its answer is read and where its values go
 * (out). It borrows fx. */
gen_agg_query_t gen_flow_exit_query(gen_flow_exit_t *fx);

/* Rewrites an answer as the catalogue reads it: each group with a flowId
 * twice, as {flowId, exitReason} and as {flowId, selfServed} (the value
 * made safe, GEN_FLOW_EXIT_UNKNOWN when there is none; selfServed "true"
 * and "false" in any case lowercased), and the groups of one flow and
 * value folded into one. A group without a flowId is kept as it is. 0, or
 * -ENOMEM (a then unchanged). */
int gen_flow_exit_normalize(gen_agg_answer_t *a);

#endif /* GEN_FLOW_EXIT_AGG_H */
