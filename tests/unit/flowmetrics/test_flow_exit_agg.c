/* SPDX-License-Identifier: MIT */
/* Unit tests: the flow exits (gen_flow_exit_agg): the request grouped by
 * flow, exit reason and selfServed asking tFlow; an answer's groups read
 * twice, per exit reason and per selfServed, the counts folded; a reason
 * we do not know kept as its own series (made safe), an absent or empty
 * one and a selfServed that is no string (a boolean) "unknown"; the keys
 * and series of each group. */
#include "agg_text.h"
#include "gen_flow_exit_agg.h"
#include "gen_json.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <string.h>

#define T0 1795392000000LL /* 2026-11-23T00:00:00Z */
#define IV "2026-11-23T00:00:00.000Z/2026-11-23T00:05:00.000Z"
#define F1 "0b7e0c52-6a35-4d1f-9d1e-1f0a2d5e8c11"
#define F2 "1c8f1d63-7b46-4e2a-8e2f-2a1b3e6f9d22"

static gen_org_t org = {.plugin = "genesys_flowmetrics"};
static gen_client_t client = {.org = &org};

/* One group (its members' JSON), one bucket, tFlow's count n. */
#define RESULT(group, n)                                                       \
  "{\"group\":{" group "},\"data\":[{\"interval\":\"" IV                       \
  "\",\"metrics\":[{\"metric\":\"tFlow\",\"stats\":{\"count\":" n              \
  ",\"sum\":1000}}]}]}"
#define G(f, r, s)                                                             \
  "\"flowId\":\"" f "\",\"exitReason\":\"" r "\",\"selfServed\":\"" s "\""

/* tFlow's count in the group of flow and dim = value, -1: no such group;
 * *groups: how many groups have dim. */
static double count_of(gen_agg_answer_t *a, const char *flow, const char *dim,
                       const char *value, int *groups) {
  const gen_agg_result_t *r;
  size_t n = gen_agg_answer_results(a, &r);
  double found = -1;
  *groups = 0;
  for (size_t i = 0; i < n; i++) {
    const char *f = gen_agg_group_get(&r[i].group, "flowId");
    const char *v = gen_agg_group_get(&r[i].group, dim);
    if (v == NULL)
      continue;
    ++*groups;
    if (f != NULL && strcmp(f, flow) == 0 && strcmp(v, value) == 0 &&
        r[i].n == 1 && r[i].b[0].metrics.n == 1)
      found = r[i].b[0].metrics.e[0].stat[GEN_AGG_STAT_COUNT];
  }
  return found;
}

DEF_TEST(request_grouped_by_flow_exit_reason_and_self_served) {
  gen_entity_set_t flows = {0};
  gen_entity_add(&flows, F1, "Main IVR", NULL);
  gen_flow_exit_t fx = {
      .client = &client, .flows = &flows, .granularity_ms = 300000};
  gen_agg_query_t q = gen_flow_exit_query(&fx);
  EXPECT_EQ_STR("/api/v2/analytics/flows/aggregates/query", q.path);
  const char *ids[] = {F1, F2};
  gen_interval_range_t range = {T0, T0 + 3600000, 0};
  json_object *body = q.body(q.ud, ids, 2, &range);
  const char *text =
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  printf("# %s\n", text);
  OK(strstr(text, "\"groupBy\":[\"flowId\",\"exitReason\",\"selfServed\"]") !=
     NULL);
  OK(strstr(text, "\"metrics\":[\"tFlow\"]") != NULL);
  OK(strstr(text, "\"granularity\":\"PT5M\"") != NULL);
  OK(strstr(text, "\"dimension\":\"flowId\"") != NULL);
  OK(strstr(text, F2) != NULL);
  json_object_put(body);
  gen_entity_set_free(&flows);
  return 0;
}

DEF_TEST(each_group_counted_per_reason_and_per_self_served) {
  gen_agg_answer_t *a = agg_text(
      "{\"results\":[" RESULT(G(F1, "TRANSFER", "false"), "5") "," RESULT(
          G(F1, "DISCONNECT", "true"),
          "2") "," RESULT(G(F1, "FLOW_DISCONNECT", "true"),
                          "1") "," RESULT(G(F2, "TRANSFER", "false"),
                                          "4") "]}");
  CHECK_NOT_NULL(a);
  CHECK_ZERO(gen_flow_exit_normalize(a));
  int groups;
  EXPECT_EQ_DOUBLE(5, count_of(a, F1, "exitReason", "TRANSFER", &groups));
  EXPECT_EQ_INT(4, groups);
  EXPECT_EQ_DOUBLE(2, count_of(a, F1, "exitReason", "DISCONNECT", &groups));
  EXPECT_EQ_DOUBLE(1,
                   count_of(a, F1, "exitReason", "FLOW_DISCONNECT", &groups));
  EXPECT_EQ_DOUBLE(4, count_of(a, F2, "exitReason", "TRANSFER", &groups));
  /* F1's true: 2 + 1 folded; a group has one of the two, never both */
  EXPECT_EQ_DOUBLE(3, count_of(a, F1, "selfServed", "true", &groups));
  EXPECT_EQ_INT(3, groups);
  EXPECT_EQ_DOUBLE(5, count_of(a, F1, "selfServed", "false", &groups));
  EXPECT_EQ_DOUBLE(4, count_of(a, F2, "selfServed", "false", &groups));
  const gen_agg_result_t *r;
  size_t n = gen_agg_answer_results(a, &r);
  EXPECT_EQ_INT(7, (int)n);
  for (size_t i = 0; i < n; i++)
    EXPECT_EQ_INT(2, (int)r[i].group.n);
  gen_agg_answer_free(a);
  return 0;
}

DEF_TEST(unknown_absent_and_odd_values) {
  gen_agg_answer_t *a = agg_text(
      "{\"results\":[" RESULT(G(F1, "SOME_NEW_REASON", "TRUE"), "3") "," RESULT(
          G(F1, "NEW REASON/x", "yes"),
          "1") "," RESULT("\"flowId\":"
                          "\"" F1 "\","
                          "\"selfServed\":"
                          "true",
                          "2") "," RESULT(G(F1, "", ""),
                                          "4") "," RESULT("\"exitReason\":"
                                                          "\"TRANSFER\"",
                                                          "6") "]}");
  CHECK_NOT_NULL(a);
  CHECK_ZERO(gen_flow_exit_normalize(a));
  int groups;
  /* a reason Genesys adds later: its own series */
  EXPECT_EQ_DOUBLE(3,
                   count_of(a, F1, "exitReason", "SOME_NEW_REASON", &groups));
  EXPECT_EQ_DOUBLE(1, count_of(a, F1, "exitReason", "NEW_REASON_x", &groups));
  /* absent (the boolean's group) and empty: unknown, folded */
  EXPECT_EQ_DOUBLE(
      6, count_of(a, F1, "exitReason", GEN_FLOW_EXIT_UNKNOWN, &groups));
  EXPECT_EQ_DOUBLE(3, count_of(a, F1, "selfServed", "true", &groups));
  EXPECT_EQ_DOUBLE(1, count_of(a, F1, "selfServed", "yes", &groups));
  /* a JSON boolean is no string (the record's group is dict(str, str)) */
  EXPECT_EQ_DOUBLE(
      6, count_of(a, F1, "selfServed", GEN_FLOW_EXIT_UNKNOWN, &groups));
  /* without a flowId: kept once, as it was */
  const gen_agg_result_t *r;
  size_t n = gen_agg_answer_results(a, &r);
  int without = 0;
  for (size_t i = 0; i < n; i++)
    if (gen_agg_group_get(&r[i].group, "flowId") == NULL) {
      without++;
      EXPECT_EQ_STR("TRANSFER", gen_agg_group_get(&r[i].group, "exitReason"));
    }
  EXPECT_EQ_INT(1, without);
  gen_agg_answer_free(a);
  return 0;
}

DEF_TEST(keys_and_series) {
  gen_entity_set_t flows = {0};
  gen_entity_add(&flows, F1, "Main IVR", NULL);
  gen_flow_exit_t fx = {.client = &client, .flows = &flows};
  gen_agg_query_t q = gen_flow_exit_query(&fx);
  gen_agg_answer_t *a = agg_text("{\"results\":[" RESULT(
      G(F1, "FLOW_ERROR_EXIT", "false"),
      "2") "," RESULT(G(F2, "TRANSFER", "false"), "1") "]}");
  CHECK_NOT_NULL(a);
  CHECK_ZERO(gen_flow_exit_normalize(a));
  const gen_agg_result_t *r;
  size_t n = gen_agg_answer_results(a, &r);
  int ours = 0;
  for (size_t i = 0; i < n; i++) {
    const char *scope;
    gen_key_t key = {0};
    if (!q.reader.group(q.ud, &r[i].group, &scope, &key))
      continue; /* F2 is not listed */
    ours++;
    EXPECT_EQ_STR(F1, scope);
    gen_agg_label_t label = {0};
    q.out.label(q.ud, &key, &label);
    EXPECT_EQ_STR("Main IVR", label.plugin_instance); /* as the flows */
    bool reason = gen_agg_group_get(&r[i].group, "exitReason") != NULL;
    EXPECT_EQ_STR(reason ? "R" : "S", key.str[0]);
    EXPECT_EQ_STR(reason ? "FLOW_ERROR_EXIT" : "false", label.suffix);
    EXPECT_EQ_INT(reason ? 0 : 1, (int)q.reader.key_group(&key));
  }
  EXPECT_EQ_INT(2, ours);
  gen_agg_answer_free(a);
  gen_entity_set_free(&flows);
  return 0;
}

int main(void) {
  RUN_TEST(request_grouped_by_flow_exit_reason_and_self_served);
  RUN_TEST(each_group_counted_per_reason_and_per_self_served);
  RUN_TEST(unknown_absent_and_odd_values);
  RUN_TEST(keys_and_series);
  END_TEST;
}
