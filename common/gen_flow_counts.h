/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the flow counters of genesys_flowmetrics, read without
 * I/O from FlowMetricRecords (v2.analytics.flow.{id}.metrics).
 *
 * nFlow counts an execution, nFlowOutcome one outcome by its value,
 * nFlowMilestone its milestones, tFlowDisconnect and tFlowExit how the
 * execution left. nFlowOutcomeFailed repeats a failure nFlowOutcome already
 * counted; durations are the interval aggregates' business. A counter is
 * keyed "<flowId>\x1f<kind>\x1f<subId>" in gen_counters (and so in the
 * state file and the journal).
 */
#ifndef GEN_FLOW_COUNTS_H
#define GEN_FLOW_COUNTS_H 1

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Kinds of flow counter; gen_flow_kind_types[] names their types. */
typedef enum {
  GEN_FLOW_EXECUTIONS,
  GEN_FLOW_DISCONNECTS,
  GEN_FLOW_EXITS,
  GEN_FLOW_OUTCOME_SUCCESS, /* sub id: the outcome */
  GEN_FLOW_OUTCOME_FAILURE, /* sub id: the outcome */
  GEN_FLOW_MILESTONES,      /* sub id: the milestone */
  GEN_FLOW_KIND_COUNT
} gen_flow_kind_t;
extern const char *const gen_flow_kind_types[GEN_FLOW_KIND_COUNT];

/* The key of a counter (sub_id NULL: none). */
void gen_flow_counter_key(char *key, size_t size, const char *flow_id,
                          gen_flow_kind_t kind, const char *sub_id);
/* Splits a key; false when it is not one (or its flow id does not fit). */
bool gen_flow_counter_key_split(const char *key, char *flow_id,
                                size_t flow_size, gen_flow_kind_t *kind,
                                const char **sub_id);
/* A key read back from the state file or the journal, as counted
 * (gen_counters_key_fn): its ids must be text (no broken UTF-8 or control
 * characters come back). */
bool gen_flow_counter_key_read(const char *text, char *key, size_t size);

/* The flow id of a record that names a metric, NULL otherwise. */
const char *gen_flow_record_flow(json_object *body);
/* Each increment the record makes, handed to count. */
void gen_flow_record_count(json_object *body,
                           void (*count)(void *ud, const char *flow_id,
                                         gen_flow_kind_t kind,
                                         const char *sub_id),
                           void *ud);

#endif /* GEN_FLOW_COUNTS_H */
