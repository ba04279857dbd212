/* SPDX-License-Identifier: MIT */
/* The flow counters of genesys_flowmetrics: keys and records. */
#include "gen_flow_counts.h"

#include "gen_json.h"
#include "gen_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const gen_flow_kind_types[GEN_FLOW_KIND_COUNT] = {
    "flow_executions",      "flow_disconnects",     "flow_exits",
    "flow_outcome_success", "flow_outcome_failure", "flow_milestones"};

void gen_flow_counter_key(char *key, size_t size, const char *flow_id,
                          gen_flow_kind_t kind, const char *sub_id) {
  snprintf(key, size, "%s\x1f%d\x1f%s", flow_id, (int)kind,
           sub_id ? sub_id : "");
}

bool gen_flow_counter_key_split(const char *key, char *flow_id,
                                size_t flow_size, gen_flow_kind_t *kind,
                                const char **sub_id) {
  const char *a = strchr(key, '\x1f');
  const char *b = a ? strchr(a + 1, '\x1f') : NULL;
  if (b == NULL || (size_t)(a - key) >= flow_size)
    return false;
  int k = atoi(a + 1);
  if (k < 0 || k >= GEN_FLOW_KIND_COUNT)
    return false;
  snprintf(flow_id, flow_size, "%.*s", (int)(a - key), key);
  *kind = (gen_flow_kind_t)k;
  *sub_id = b + 1;
  return true;
}

bool gen_flow_counter_key_read(const char *text, char *key, size_t size) {
  char flow_id[256];
  gen_flow_kind_t kind;
  const char *sub;
  if (!gen_flow_counter_key_split(text, flow_id, sizeof(flow_id), &kind,
                                  &sub) ||
      !gen_utf8_text_str(flow_id) || !gen_utf8_text_str(sub))
    return false;
  gen_flow_counter_key(key, size, flow_id, kind, sub);
  return true;
}

const char *gen_flow_record_flow(json_object *body) {
  if (gen_json_get_string(body, "metric") == NULL)
    return NULL;
  return gen_json_get_string(body, "flowId");
}

void gen_flow_record_count(json_object *body,
                           void (*count)(void *ud, const char *flow_id,
                                         gen_flow_kind_t kind,
                                         const char *sub_id),
                           void *ud) {
  const char *metric = gen_json_get_string(body, "metric");
  const char *flow_id = gen_json_get_string(body, "flowId");
  if (metric == NULL || flow_id == NULL)
    return;
  if (strcmp(metric, "nFlow") == 0) {
    count(ud, flow_id, GEN_FLOW_EXECUTIONS, NULL);
  } else if (strcmp(metric, "tFlowDisconnect") == 0) {
    count(ud, flow_id, GEN_FLOW_DISCONNECTS, NULL);
  } else if (strcmp(metric, "tFlowExit") == 0) {
    count(ud, flow_id, GEN_FLOW_EXITS, NULL);
  } else if (strcmp(metric, "nFlowOutcome") == 0) {
    json_object *outcomes = gen_json_get_array(body, "outcomes");
    size_t n = outcomes ? json_object_array_length(outcomes) : 0;
    for (size_t i = 0; i < n; i++) {
      json_object *o = json_object_array_get_idx(outcomes, i);
      const char *id = gen_json_get_string(o, "flowOutcomeId");
      const char *value = gen_json_get_string(o, "flowOutcomeValue");
      if (id == NULL || value == NULL)
        continue;
      count(ud, flow_id,
            strcasecmp(value, "SUCCESS") == 0 ? GEN_FLOW_OUTCOME_SUCCESS
                                              : GEN_FLOW_OUTCOME_FAILURE,
            id);
    }
  } else if (strcmp(metric, "nFlowMilestone") == 0) {
    json_object *ids = gen_json_get_array(body, "flowMilestoneIds");
    size_t n = ids ? json_object_array_length(ids) : 0;
    for (size_t i = 0; i < n; i++) {
      const char *id =
          json_object_get_string(json_object_array_get_idx(ids, i));
      if (id != NULL && id[0] != '\0')
        count(ud, flow_id, GEN_FLOW_MILESTONES, id);
    }
  }
}
