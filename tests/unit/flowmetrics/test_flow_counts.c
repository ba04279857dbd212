/* SPDX-License-Identifier: MIT */
/* Unit tests: the flow counters (gen_flow_counts): keys made, written and
 * read back (refused when they are not ours or not text), and what each
 * FlowMetricRecord counts. */
#include "gen_counters.h"
#include "gen_flow_counts.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <string.h>

DEF_TEST(keys_round_trip) {
  char text[GEN_COUNTERS_KEY_SIZE], buf[GEN_COUNTERS_KEY_SIZE];
  gen_key_t key = gen_flow_counter_key("f-1", GEN_FLOW_MILESTONES, "m-2");
  OK(gen_key_text(&key, text, sizeof(text)) == 0); /* the one key form */
  EXPECT_EQ_STR("f-1\tm-2\x1f"
                "5",
                text);
  gen_key_t back;
  OK(gen_flow_counter_key_read(text, &back, buf, sizeof(buf)));
  EXPECT_EQ_STR("f-1", back.str[0]);
  EXPECT_EQ_STR("m-2", back.str[1]);
  EXPECT_EQ_INT(GEN_FLOW_MILESTONES, (int)back.num);
  key = gen_flow_counter_key("f-1", GEN_FLOW_EXECUTIONS, NULL);
  EXPECT_EQ_STR("", key.str[1]);
  EXPECT_EQ_STR("flow_executions", gen_flow_kind_types[key.num]);
  OK(gen_key_text(&key, text, sizeof(text)) == 0);
  EXPECT_EQ_STR("f-1\t", text);
  OK(gen_flow_counter_key_read(text, &back, buf, sizeof(buf)));
  EXPECT_EQ_STR("", back.str[1]);
  EXPECT_EQ_INT(GEN_FLOW_EXECUTIONS, (int)back.num);
  /* Not ours: no sub id, one too many, an unknown kind, no flow. */
  const char *bad[] = {"f-1", "f-1\ta\tb",
                       "f-1\t\x1f"
                       "9",
                       "\tm-1\x1f"
                       "5"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad); i++)
    OK(!gen_flow_counter_key_read(bad[i], &back, buf, sizeof(buf)));
  return 0;
}

/* The form before gen_key_text, "<flow>\x1f<kind>\x1f<sub>", still read. */
DEF_TEST(keys_read_back_must_be_ours_and_text) {
  char buf[GEN_COUNTERS_KEY_SIZE];
  gen_key_t key;
  OK(gen_flow_counter_key_read("f-1\x1f"
                               "3\x1f"
                               "o-1",
                               &key, buf, sizeof(buf)));
  EXPECT_EQ_STR("f-1", key.str[0]);
  EXPECT_EQ_INT(GEN_FLOW_OUTCOME_SUCCESS, (int)key.num);
  /* Broken UTF-8, a control character, no separators, an unknown kind,
   * a kind that is no number, three digits. */
  OK(!gen_flow_counter_key_read("f-\xff\x1f"
                                "0\x1f",
                                &key, buf, sizeof(buf)));
  OK(!gen_flow_counter_key_read("f-1\x1f"
                                "0\x1f"
                                "a\x01",
                                &key, buf, sizeof(buf)));
  OK(!gen_flow_counter_key_read("plain", &key, buf, sizeof(buf)));
  OK(!gen_flow_counter_key_read("f-1\x1f"
                                "9\x1f",
                                &key, buf, sizeof(buf)));
  OK(!gen_flow_counter_key_read("f-1\x1f"
                                "x\x1f",
                                &key, buf, sizeof(buf)));
  OK(!gen_flow_counter_key_read("f-1\x1f"
                                "003\x1f",
                                &key, buf, sizeof(buf)));
  return 0;
}

static char counted[16][128];
static int n_counted;

static void count(void *ud, const char *flow_id, gen_flow_kind_t kind,
                  const char *sub_id) {
  snprintf(counted[n_counted++], sizeof(counted[0]), "%s %s %s", flow_id,
           gen_flow_kind_types[kind], sub_id ? sub_id : "-");
}

static int record(const char *text) {
  json_object *body = json_tokener_parse(text);
  n_counted = 0;
  gen_flow_record_count(body, count, NULL, NULL);
  json_object_put(body);
  return n_counted;
}

DEF_TEST(records_count_what_they_say) {
  EXPECT_EQ_INT(1, record("{\"metric\":\"nFlow\",\"flowId\":\"f\"}"));
  EXPECT_EQ_STR("f flow_executions -", counted[0]);
  EXPECT_EQ_INT(1, record("{\"metric\":\"tFlowDisconnect\",\"flowId\":\"f\"}"));
  EXPECT_EQ_STR("f flow_disconnects -", counted[0]);
  EXPECT_EQ_INT(1, record("{\"metric\":\"tFlowExit\",\"flowId\":\"f\"}"));
  EXPECT_EQ_STR("f flow_exits -", counted[0]);
  /* Each outcome by its value; one without an id or value passed over. */
  EXPECT_EQ_INT(2, record("{\"metric\":\"nFlowOutcome\",\"flowId\":\"f\","
                          "\"outcomes\":[{\"flowOutcomeId\":\"o1\","
                          "\"flowOutcomeValue\":\"success\"},"
                          "{\"flowOutcomeId\":\"o2\","
                          "\"flowOutcomeValue\":\"FAILURE\"},"
                          "{\"flowOutcomeId\":\"o3\"}]}"));
  EXPECT_EQ_STR("f flow_outcome_success o1", counted[0]);
  EXPECT_EQ_STR("f flow_outcome_failure o2", counted[1]);
  EXPECT_EQ_INT(2, record("{\"metric\":\"nFlowMilestone\",\"flowId\":\"f\","
                          "\"flowMilestoneIds\":[\"m1\",\"\",\"m2\"]}"));
  EXPECT_EQ_STR("f flow_milestones m2", counted[1]);
  /* A failure nFlowOutcome already counted, durations, no flow. */
  EXPECT_EQ_INT(0, record("{\"metric\":\"nFlowOutcomeFailed\",\"flowId\":"
                          "\"f\"}"));
  EXPECT_EQ_INT(0, record("{\"metric\":\"nFlow\"}"));
  json_object *body = json_tokener_parse("{\"flowId\":\"f\"}");
  OK(gen_flow_record_flow(body) == NULL); /* no metric */
  json_object_put(body);
  body = json_tokener_parse("{\"metric\":\"nFlow\",\"flowId\":\"f\"}");
  EXPECT_EQ_STR("f", gen_flow_record_flow(body));
  json_object_put(body);
  return 0;
}

int main(void) {
  RUN_TEST(keys_round_trip);
  RUN_TEST(keys_read_back_must_be_ours_and_text);
  RUN_TEST(records_count_what_they_say);
  END_TEST;
}
