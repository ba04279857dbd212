/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the flow counters of genesys_flowmetrics, read without
 * I/O from FlowMetricRecords (v2.analytics.flow.{id}.metrics).
 *
 * nFlow counts an execution, nFlowOutcome one outcome by its value,
 * nFlowMilestone its milestones, tFlowDisconnect and tFlowExit how the
 * execution left. nFlowOutcomeFailed repeats a failure nFlowOutcome already
 * counted; durations are the interval aggregates' business. A counter is
 * keyed (flow id, sub id; kind) in gen_counters, its text in the state file
 * and the journal "<flowId>\x1f<kind>\x1f<subId>" as ever.
 */
#ifndef GEN_FLOW_COUNTS_H
#define GEN_FLOW_COUNTS_H 1

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "gen_map.h"
#include "gen_stats.h"

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

/* The key of a counter (sub_id NULL: none): the flow (str[0]), the
 * outcome or milestone ("" for none, str[1]) and the kind (num). Its
 * strings are borrowed. */
gen_key_t gen_flow_counter_key(const char *flow_id, gen_flow_kind_t kind,
                               const char *sub_id);
/* A key read back from the state file or the journal
 * (gen_counters_read_fn), written by gen_key_text (the one key form) or,
 * in files of versions before it, "<flow>\x1f<kind>\x1f<sub>": its ids
 * must be text (no broken UTF-8 or control characters come back), its
 * kind one of ours in the digits we write. */
bool gen_flow_counter_key_read(const char *text, gen_key_t *key, char *buf,
                               size_t size);

/* The flow id of a record that names a metric, NULL otherwise. */
const char *gen_flow_record_flow(json_object *body);
/* Each increment the record makes, handed to count. A metric or an
 * outcome's flowOutcomeValue (SUCCESS, FAILURE) this version does not know
 * is counted through unknown (fields "metric", "flowOutcomeValue"; NULL:
 * nowhere) and counts nothing; the record's other outcomes still count. */
void gen_flow_record_count(json_object *body,
                           void (*count)(void *ud, const char *flow_id,
                                         gen_flow_kind_t kind,
                                         const char *sub_id),
                           void *ud, const gen_unknown_sink_t *unknown);

#endif /* GEN_FLOW_COUNTS_H */
