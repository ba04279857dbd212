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

gen_key_t gen_flow_counter_key(const char *flow_id, gen_flow_kind_t kind,
                               const char *sub_id) {
  return (gen_key_t){{flow_id, sub_id ? sub_id : ""}, kind};
}

bool gen_flow_counter_key_read(const char *text, gen_key_t *key, char *buf,
                               size_t size) {
  if (strlen(text) >= size)
    return false;
  strcpy(buf, text);
  if (gen_key_parse(buf, key))
    return key->str[1] != NULL && key->str[2] == NULL && key->num >= 0 &&
           key->num < GEN_FLOW_KIND_COUNT && key->str[0][0] != '\0' &&
           gen_utf8_text_str(key->str[0]) && gen_utf8_text_str(key->str[1]);
  /* The form before gen_key_text: "<flow>\x1f<kind>\x1f<sub>". */
  strcpy(buf, text);
  char *a = strchr(buf, '\x1f');
  char *b = a ? strchr(a + 1, '\x1f') : NULL;
  if (b == NULL || b == a + 1 || b - a > 3) /* one or two digits */
    return false;
  *a = *b = '\0';
  int kind = 0;
  for (const char *d = a + 1; *d != '\0'; d++) {
    if (*d < '0' || *d > '9')
      return false;
    kind = 10 * kind + (*d - '0');
  }
  if (kind >= GEN_FLOW_KIND_COUNT || !gen_utf8_text_str(buf) ||
      !gen_utf8_text_str(b + 1))
    return false;
  *key = gen_flow_counter_key(buf, (gen_flow_kind_t)kind, b + 1);
  return true;
}

const char *gen_flow_record_flow(json_object *body) {
  if (gen_json_get_string(body, "metric") == NULL)
    return NULL;
  return gen_json_get_string(body, "flowId");
}

/* The record metrics that count nothing here (durations, a failure
 * nFlowOutcome counted, a milestone total): known, passed over. */
static const char *const passed_over[] = {"nFlowOutcomeFailed", "tFlow",
                                          "tFlowOutcome", "oFlowMilestone"};

void gen_flow_record_count(json_object *body,
                           void (*count)(void *ud, const char *flow_id,
                                         gen_flow_kind_t kind,
                                         const char *sub_id),
                           void *ud, const gen_unknown_sink_t *unknown) {
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
      if (strcasecmp(value, "SUCCESS") == 0)
        count(ud, flow_id, GEN_FLOW_OUTCOME_SUCCESS, id);
      else if (strcasecmp(value, "FAILURE") == 0)
        count(ud, flow_id, GEN_FLOW_OUTCOME_FAILURE, id);
      else /* neither (UNKNOWN, a word Genesys adds): that outcome alone */
        gen_unknown_note(unknown, "flowOutcomeValue", value);
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
  } else {
    bool known = false;
    for (size_t i = 0; !known && i < sizeof(passed_over) / sizeof(*passed_over);
         i++)
      known = strcmp(metric, passed_over[i]) == 0;
    if (!known)
      gen_unknown_note(unknown, "metric", metric);
  }
}
