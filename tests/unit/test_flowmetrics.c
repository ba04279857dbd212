/* SPDX-License-Identifier: MIT */
/* Unit tests of genesys_flowmetrics without network: flow metric records
 * become counters per flow, outcome and milestone; metric attributes from
 * conversation events and EventBridge events count once per conversation;
 * the receiver's envelope checks and duplicate drops; state across a
 * restart and a kill; flow aggregates per closed bucket. */
#include "plugin_mock.h"

#include "../../plugins/genesys_flowmetrics.c"

#include "collectd/core/testing.h"
#include "interval_answer.h"
#include "plugin_check.h"

static char state_dir[] = "/tmp/gen-fm-XXXXXX";

/* Instances made with the same state name share a state file. option:
 * one more configuration key (NULL: none). */
static gf_instance_t *make_instance_with(const char *state,
                                         oconfig_item_t *option) {
  gen_org_t *org = mock_org(PLUGIN_NAME);
  gen_client_t *client = gen_client_create(org);
  gf_config_t *c = gen_plugin_config_new(&gf_plugin);
  if (option != NULL && gf_config_key(org, option, c) != 0)
    return NULL;
  if (asprintf(&c->state_file, "%s/%s.json", state_dir, state) < 0)
    return NULL;
  c->interval.granularity_ms = 300000;
  c->interval.state_dir = strdup(state_dir);
  c->act.on = true;
  gf_instance_t *inst = gen_plugin_instance_new(&gf_plugin, client, c);
  gen_entity_add(&inst->lists.flows, "f-1", "SalesIvr", "div-1");
  gen_entity_add(&inst->lists.outcomes, "o-1", "Identified", NULL);
  gen_entity_add(&inst->lists.milestones, "m-1", "MenuDone", NULL);
  gf_restore_state(inst);
  inst->started = true;
  inst->listed_at = cdtime();
  inst->lists.listed = true;
  return inst;
}

/* The data actions row's state (DataActions is on in every instance). */
#define ACTIONS(inst)                                                          \
  ((gf_action_state_t *)gen_families_state(&(inst)->families, GF_ACTIONS))

static gf_instance_t *make_instance(const char *state) {
  return make_instance_with(state, NULL);
}

/* A message as the hub delivers it: with the topic it read, never a system
 * topic. */
static gen_notify_verdict_t message(gf_instance_t *inst, const char *json) {
  char topic[GEN_NOTIFY_TOPIC_SIZE];
  gen_notify_verdict_t verdict;
  OK(gen_notify_topic(json, strlen(json), topic, sizeof(topic)));
  OK(!gen_notify_system_topic(topic, &verdict));
  return gf_on_message(inst, topic, json, strlen(json));
}

/* A message, then the channel's tick that follows it (what it counted
 * leaves there). */
static gen_notify_verdict_t feed(gf_instance_t *inst, const char *json) {
  gen_notify_verdict_t verdict = message(inst, json);
  gf_on_tick(inst);
  return verdict;
}

#define RECORD(flow, metric, extra)                                            \
  "{\"topicName\":\"v2.analytics.flow." flow ".metrics\",\"version\":\"2\","   \
  "\"eventBody\":{\"metric\":\"" metric "\",\"value\":1,\"flowId\":\"" flow    \
  "\",\"flowName\":\"SalesIvr\",\"conversationId\":\"c-1\"" extra "}}"

DEF_TEST(flow_records_become_counters) {
  gf_instance_t *inst = make_instance("records");
  mock_values_reset();
  EXPECT_EQ_INT(GEN_NOTIFY_OK, feed(inst, RECORD("f-1", "nFlow", "")));
  mock_value_t *v = mock_find("SalesIvr", "flow_executions", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(1, v->value.derive);
  EXPECT_EQ_STR("acme", v->host);
  feed(inst, RECORD("f-1", "nFlow", ""));
  EXPECT_EQ_INT(2, mock_find("SalesIvr", "flow_executions", "")->value.derive);
  feed(inst, RECORD("f-1", "nFlowOutcome",
                    ",\"outcomes\":[{\"flowOutcome\":\"Identified\","
                    "\"flowOutcomeId\":\"o-1\",\"flowOutcomeValue\":"
                    "\"SUCCESS\"}]"));
  feed(inst, RECORD("f-1", "nFlowOutcome",
                    ",\"outcomes\":[{\"flowOutcomeId\":\"o-1\","
                    "\"flowOutcomeValue\":\"FAILURE\"}]"));
  /* nFlowOutcomeFailed repeats the failure: not counted twice. */
  feed(inst, RECORD("f-1", "nFlowOutcomeFailed",
                    ",\"outcomes\":[{\"flowOutcomeId\":\"o-1\","
                    "\"flowOutcomeValue\":\"FAILURE\"}]"));
  EXPECT_EQ_INT(1, mock_find("SalesIvr", "flow_outcome_success", "Identified")
                       ->value.derive);
  EXPECT_EQ_INT(1, mock_find("SalesIvr", "flow_outcome_failure", "Identified")
                       ->value.derive);
  feed(inst,
       RECORD("f-1", "nFlowMilestone", ",\"flowMilestoneIds\":[\"m-1\"]"));
  EXPECT_EQ_INT(
      1, mock_find("SalesIvr", "flow_milestones", "MenuDone")->value.derive);
  feed(inst, RECORD("f-1", "tFlowDisconnect", ""));
  feed(inst, RECORD("f-1", "tFlowExit", ""));
  feed(inst, RECORD("f-1", "tFlowExit", ""));
  EXPECT_EQ_INT(1, mock_find("SalesIvr", "flow_disconnects", "")->value.derive);
  EXPECT_EQ_INT(2, mock_find("SalesIvr", "flow_exits", "")->value.derive);
  /* A flow not selected, junk (system topics are the hub's). */
  size_t before = mock_values_num;
  EXPECT_EQ_INT(GEN_NOTIFY_OK, feed(inst, RECORD("f-9", "nFlow", "")));
  EXPECT_EQ_INT(before, mock_values_num);
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                feed(inst, "{\"topicName\":\"v2.analytics.flow.f-1.metrics\","
                           "\"eventBody\":{"));
  EXPECT_EQ_INT(9, atomic_load(&inst->flow_records));
  gf_instance_free(inst);
  return 0;
}

#define CONV(id, attrs, end)                                                   \
  "{\"topicName\":\"v2.routing.queues.q-1.conversations\",\"eventBody\":{"     \
  "\"id\":\"" id "\",\"participants\":[{\"purpose\":\"customer\"" end          \
  ",\"attributes\":{" attrs "}},{\"purpose\":\"acd\",\"queueId\":\"q-1\"}]}}"

#define M1 "\"SalesIvrMetric_Menu(2026-05-14T10:00:00Z)\":\"3\""
#define M2 "\"SalesIvrMetric_Menu(2026-05-14T10:00:09Z)\":\"1\""
#define M3 "\"SalesIvrMetric_Lang(2026-05-14T10:00:04Z)\":\"1\""

DEF_TEST(conversation_attributes_count_once) {
  gf_instance_t *inst = make_instance("conversations");
  mock_values_reset();
  feed(inst, CONV("c-1", "\"AccountID\":\"0-1\"," M1, ""));
  mock_value_t *v = mock_find("SalesIvr", "flow_metric_attribute", "Menu");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(1, v->value.derive);
  /* Every later event repeats all attributes. */
  feed(inst, CONV("c-1", "\"AccountID\":\"0-1\"," M1, ""));
  feed(inst, CONV("c-1", M1 "," M2 "," M3, ""));
  feed(inst,
       CONV("c-1", M1 "," M2 "," M3, ",\"endTime\":\"2026-05-14T10:09:00Z\""));
  EXPECT_EQ_INT(
      2, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  EXPECT_EQ_INT(
      1, mock_find("SalesIvr", "flow_metric_attribute", "Lang")->value.derive);
  feed(inst, CONV("c-2", M1, ""));
  EXPECT_EQ_INT(
      3, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  EXPECT_EQ_INT(5, atomic_load(&inst->conversation_events));
  gf_instance_free(inst);
  return 0;
}

/* MaxAttributesPerConversation reaches the ledger: names past it are
 * refused, counted in attribute_names_refused. */
DEF_TEST(attributes_per_conversation_bounded) {
  oconfig_item_t *ci = mock_ci_num("MaxAttributesPerConversation", 2);
  gf_instance_t *inst = make_instance_with("bounded", ci);
  mock_ci_free(ci);
  CHECK_NOT_NULL(inst);
  mock_values_reset();
  feed(inst, CONV("c-1", M1 "," M2 "," M3, ""));
  feed(inst, CONV("c-1", M1 "," M2 "," M3, ""));
  EXPECT_EQ_INT(
      2, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  OK(mock_find("SalesIvr", "flow_metric_attribute", "Lang") == NULL);
  gf_dispatch_self(inst);
  mock_value_t *v = mock_find("self", "attribute_names_refused", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(1, v->value.derive);
  OK(mock_log_contains("genesys_flowmetrics plugin: Org \"acme\": a "
                       "conversation has more than 2 metric attribute names"));
  gf_instance_free(inst);
  return 0;
}

#define EB(id, conv, attrs)                                                    \
  "{\"version\":\"0\",\"id\":\"" id "\",\"detail-type\":"                      \
  "\"v2.detail.events.conversation.{id}.attributes\",\"source\":"              \
  "\"aws.partner/genesys.com/cloud/org/x\",\"detail\":{\"topicName\":"         \
  "\"v2.detail.events.conversation." conv ".attributes\",\"version\":\"2\","   \
  "\"eventBody\":{\"eventTime\":1765551750107,\"conversationId\":\"" conv      \
  "\",\"attributes\":{" attrs "}}}}"

static unsigned eb(gf_instance_t *inst, const char *json) {
  unsigned code = gen_eventbridge_handle(inst->events, json, strlen(json));
  gf_on_tick(inst);
  return code;
}

DEF_TEST(eventbridge_events) {
  gf_instance_t *inst = make_instance("eventbridge");
  mock_values_reset();
  EXPECT_EQ_INT(200, eb(inst, EB("e-1", "c-1", M1)));
  EXPECT_EQ_INT(
      1, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  /* A second delivery of the same event: dropped, still 200. */
  EXPECT_EQ_INT(200, eb(inst, EB("e-1", "c-1", M1)));
  EXPECT_EQ_INT(1,
                atomic_load(&gen_eventbridge_stats(inst->events)->duplicates));
  /* The next update repeats M1 and adds M2. */
  EXPECT_EQ_INT(200, eb(inst, EB("e-2", "c-1", M1 "," M2)));
  EXPECT_EQ_INT(
      2, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  /* The same attribute seen on the conversation topic does not count
   * again: one ledger for both sources. */
  feed(inst, CONV("c-1", M1 "," M2, ""));
  EXPECT_EQ_INT(
      2, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  /* Refused: not JSON, wrong detail-type, no conversation, no id. */
  EXPECT_EQ_INT(400, eb(inst, "{\"id\":"));
  EXPECT_EQ_INT(400, eb(inst, "[1,2]"));
  EXPECT_EQ_INT(400, eb(inst, "{\"version\":\"0\",\"id\":\"e-3\","
                              "\"detail-type\":\"v2.audits.entitytype.{id}\","
                              "\"detail\":{}}"));
  EXPECT_EQ_INT(400, eb(inst, "{\"id\":\"e-4\",\"detail-type\":"
                              "\"v2.detail.events.conversation.{id}."
                              "attributes\",\"detail\":{\"topicName\":"
                              "\"v2.detail.events.conversation.c.attributes\","
                              "\"eventBody\":{\"attributes\":{}}}}"));
  EXPECT_EQ_INT(4,
                atomic_load(&gen_eventbridge_stats(inst->events)->malformed));
  EXPECT_EQ_INT(
      2, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  gf_instance_free(inst);
  return 0;
}

DEF_TEST(counters_survive_restart) {
  gf_instance_t *inst = make_instance("restart");
  feed(inst, RECORD("f-1", "nFlow", ""));
  feed(inst, RECORD("f-1", "nFlow", ""));
  eb(inst, EB("e-1", "c-1", M1));
  gf_save_state(inst);
  eb(inst, EB("e-2", "c-1", M1 "," M3)); /* journalled only */
  /* Freed without the final save, as a kill would leave it. */
  inst->started = false;
  gf_instance_free(inst);

  inst = make_instance("restart");
  mock_values_reset();
  gf_dispatch_counters(inst, true);
  EXPECT_EQ_INT(2, mock_find("SalesIvr", "flow_executions", "")->value.derive);
  EXPECT_EQ_INT(
      1, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  EXPECT_EQ_INT(
      1, mock_find("SalesIvr", "flow_metric_attribute", "Lang")->value.derive);
  /* Redelivered after the restart: nothing counts twice. */
  EXPECT_EQ_INT(200, eb(inst, EB("e-2", "c-1", M1 "," M3)));
  feed(inst, RECORD("f-1", "nFlow", ""));
  EXPECT_EQ_INT(3, mock_find("SalesIvr", "flow_executions", "")->value.derive);
  EXPECT_EQ_INT(
      1, mock_find("SalesIvr", "flow_metric_attribute", "Lang")->value.derive);
  gf_instance_free(inst);
  return 0;
}

/* Two flow executions counted and saved (a third only journalled when
 * journalled), then killed; the state file's path in *path (freed by the
 * caller). */
static void killed_after_two(const char *name, bool journalled, char **path) {
  gf_instance_t *inst = make_instance(name);
  feed(inst, RECORD("f-1", "nFlow", ""));
  feed(inst, RECORD("f-1", "nFlow", ""));
  gf_save_state(inst);
  if (journalled)
    feed(inst, RECORD("f-1", "nFlow", ""));
  inst->started = false;
  *path = strdup(inst->config.state_file);
  gf_instance_free(inst);
}

/* The state file at path with its first `from` replaced by `to`; true when
 * it was there. */
static bool state_edit(const char *path, const char *from, const char *to) {
  char *text = NULL;
  size_t len = 0;
  if (gen_state_read(path, GEN_STATE_MAX_SIZE, &text, &len) != 0)
    return false;
  char *at = strstr(text, from);
  FILE *fh = at != NULL ? fopen(path, "w") : NULL;
  if (fh != NULL) {
    fwrite(text, 1, (size_t)(at - text), fh);
    fputs(to, fh);
    fputs(at + strlen(from), fh);
    fclose(fh);
  }
  free(text);
  return fh != NULL;
}

/* The flow counters' lines of the state file at path, as an object of key
 * texts and totals; NULL when the file is not lines with our header. */
static json_object *state_flows(const char *path) {
  FILE *fh = fopen(path, "r");
  char line[1024];
  json_object *flows = json_object_new_object();
  bool header = false;
  while (fh != NULL && fgets(line, sizeof(line), fh) != NULL) {
    json_object *o = json_tokener_parse(line), *row = NULL;
    int64_t version = 0;
    if (!header)
      header = gen_json_get_int64(o, "version", &version) &&
               version == GF_STATE_VERSION;
    else if (json_object_object_get_ex(o, "flows", &row))
      json_object_object_add(
          flows, json_object_get_string(json_object_array_get_idx(row, 0)),
          json_object_get(json_object_array_get_idx(row, 1)));
    json_object_put(o);
  }
  if (fh != NULL)
    fclose(fh);
  if (!header) {
    json_object_put(flows);
    return NULL;
  }
  return flows;
}

/* A flow count of 1e300 in the state file is refused with a reason, not
 * restored as INT64_MAX: that counter restarts at zero. */
DEF_TEST(absurd_state_count_refused) {
  char *path;
  killed_after_two("absurd", true, &path);
  OK(state_edit(path, "\\t\",2]}", "\\t\",1e300]}"));
  mock_log_reset();
  gf_instance_t *inst = make_instance("absurd");
  OK(mock_log_contains(
      "refused (not a count in [0, 2^53]); that counter restarts at zero"));
  EXPECT_EQ_INT(1, gen_counters_refused(inst->counters));
  mock_values_reset();
  feed(inst, RECORD("f-1", "nFlow", ""));
  /* From zero: the third execution, journalled after the save, and this
   * one (the saved two went with the refused number). */
  EXPECT_EQ_INT(2, mock_find("SalesIvr", "flow_executions", "")->value.derive);
  gf_instance_free(inst);
  free(path);
  return 0;
}

/* A flow counter whose key in the state file is not text (an id with a C1
 * control, or a raw 0xff) is not restored; the others are. */
DEF_TEST(state_keys_not_text_dropped) {
  char *path;
  killed_after_two("keys", false, &path);
  OK(state_edit(path, "{\"flows\"",
                "{\"flows\":[\"f-\\u0085\\u001f0\\u001f\",5]}\n"
                "{\"flows\":[\"f-\xff\\u001f0\\u001f\",5]}\n"
                "{\"flows\""));
  gf_instance_t *inst = make_instance("keys");
  EXPECT_EQ_INT(1, gen_counters_count(inst->counters));
  mock_values_reset();
  gf_dispatch_counters(inst, true);
  EXPECT_EQ_INT(2, mock_find("SalesIvr", "flow_executions", "")->value.derive);
  gf_instance_free(inst);
  free(path);
  return 0;
}

/* A state file as every earlier version wrote it (keys "flowId\x1fkind\x1f
 * subId", one document): its totals come back under their kinds and ids,
 * keys we never wrote are dropped, and the next save writes them in the
 * one key form, as lines. */
DEF_TEST(old_format_state_restored) {
  char *path;
  killed_after_two("oldkeys", false, &path);
  json_object *doc = json_object_new_object();
  json_object *flows = json_object_new_object();
  json_object_object_add(flows,
                         "f-1\x1f"
                         "0\x1f",
                         json_object_new_int64(7));
  json_object_object_add(flows,
                         "f-1\x1f"
                         "3\x1f"
                         "o-1",
                         json_object_new_int64(2));
  json_object_object_add(flows,
                         "f-1\x1f"
                         "5\x1f"
                         "m-1",
                         json_object_new_int64(4));
  json_object_object_add(flows,
                         "f-1\x1f"
                         "9\x1f",
                         json_object_new_int64(1));
  json_object_object_add(flows,
                         "f-1\x1f"
                         "0x\x1f",
                         json_object_new_int64(1));
  json_object_object_add(flows,
                         "f-1\x1f"
                         "0",
                         json_object_new_int64(1));
  json_object_object_add(doc, "flows", flows);
  CHECK_ZERO(json_object_to_file(path, doc));
  json_object_put(doc);

  gf_instance_t *inst = make_instance("oldkeys");
  EXPECT_EQ_INT(3, gen_counters_count(inst->counters));
  mock_values_reset();
  gf_dispatch_counters(inst, true);
  EXPECT_EQ_INT(7, mock_find("SalesIvr", "flow_executions", "")->value.derive);
  EXPECT_EQ_INT(2, mock_find("SalesIvr", "flow_outcome_success", "Identified")
                       ->value.derive);
  EXPECT_EQ_INT(
      4, mock_find("SalesIvr", "flow_milestones", "MenuDone")->value.derive);
  gf_save_state(inst);
  inst->started = false;
  gf_instance_free(inst);
  flows = state_flows(path);
  CHECK_NOT_NULL(flows);
  int64_t total = 0;
  /* in the one key form now (gen_key_text) */
  OK(gen_json_get_int64(flows,
                        "f-1\to-1\x1f"
                        "3",
                        &total));
  EXPECT_EQ_INT(2, total);
  OK(gen_json_get_int64(flows, "f-1\t", &total));
  EXPECT_EQ_INT(7, total);
  EXPECT_EQ_INT(3, json_object_object_length(flows));
  json_object_put(flows);
  free(path);
  return 0;
}

/* The file the version before lines wrote (tests/unit/flowmetrics/
 * state-before-lines.json, checked in as it wrote it: a flow counter, two
 * attribute series, one conversation) restores its counters equal to its
 * totals, and the next save writes lines that restore them equal again. */
static int expect_fixture_totals(gf_instance_t *inst, json_object *old) {
  json_object *flows = json_object_object_get(old, "flows");
  json_object *series = json_object_object_get(
      json_object_object_get(old, "attributes"), "series");
  mock_values_reset();
  gf_dispatch_counters(inst, true);
  EXPECT_EQ_INT(json_object_object_length(flows),
                gen_counters_count(inst->counters));
  int64_t want = -1;
  OK(gen_json_get_int64(flows, "f-1\t", &want));
  EXPECT_EQ_INT(want,
                mock_find("SalesIvr", "flow_executions", "")->value.derive);
  EXPECT_EQ_INT(json_object_array_length(series),
                gen_attr_series(inst->ledger));
  for (size_t i = 0; i < json_object_array_length(series); i++) {
    json_object *s = json_object_array_get_idx(series, i);
    mock_value_t *v =
        mock_find(json_object_get_string(json_object_array_get_idx(s, 0)),
                  "flow_metric_attribute",
                  json_object_get_string(json_object_array_get_idx(s, 1)));
    CHECK_NOT_NULL(v);
    EXPECT_EQ_INT(json_object_get_int64(json_object_array_get_idx(s, 2)),
                  v->value.derive);
  }
  return 0;
}

DEF_TEST(state_before_lines_restored) {
  json_object *old = json_object_from_file(GF_OLD_STATE);
  CHECK_NOT_NULL(old);
  char *text = NULL, path[PATH_MAX];
  size_t len = 0;
  CHECK_ZERO(gen_state_read(GF_OLD_STATE, GEN_STATE_MAX_SIZE, &text, &len));
  snprintf(path, sizeof(path), "%s/fixture.json", state_dir);
  CHECK_ZERO(gen_state_write(path, text, len));
  free(text);

  gf_instance_t *inst = make_instance("fixture");
  CHECK_ZERO(expect_fixture_totals(inst, old));
  EXPECT_EQ_INT(1, gen_attr_conversations(inst->ledger));
  EXPECT_EQ_INT(0, gen_counters_refused(inst->counters));
  EXPECT_EQ_INT(0, inst->state.refused_lines);
  gf_save_state(inst);
  inst->started = false;
  gf_instance_free(inst);
  json_object *flows = state_flows(path); /* lines now */
  CHECK_NOT_NULL(flows);
  json_object_put(flows);

  inst = make_instance("fixture");
  CHECK_ZERO(expect_fixture_totals(inst, old));
  EXPECT_EQ_INT(1, gen_attr_conversations(inst->ledger));
  /* The conversation's names came back: its event again counts none. */
  EXPECT_EQ_INT(200, eb(inst, EB("e-9", "c-1", M1 "," M3)));
  CHECK_ZERO(expect_fixture_totals(inst, old));
  gf_instance_free(inst);
  json_object_put(old);
  return 0;
}

/* Lines we did not write among good ones (not JSON, of no kind we write,
 * a row cut short) are refused alone, logged with their line and counted
 * (state_refused-lines): every good counter comes back (before, the first
 * such line ended the read and the rows after it restarted at zero). */
DEF_TEST(bad_lines_refused_alone) {
  gf_instance_t *inst = make_instance("badlines");
  feed(inst, RECORD("f-1", "nFlow", ""));
  feed(inst, RECORD("f-1", "nFlow", ""));
  feed(inst, RECORD("f-1", "tFlowExit", ""));
  eb(inst, EB("e-1", "c-1", M1 "," M3));
  gf_save_state(inst);
  inst->started = false;
  char *path = strdup(inst->config.state_file);
  gf_instance_free(inst);
  /* Right after the header, before every row. */
  OK(state_edit(path, "}\n{",
                "}\n{\"flows\":[\"f-1\\t\",\n"
                "{\"totals\":[\"f-1\\t\",9]}\n"
                "\"a row\"\n5\n[]\n{\"flows\":5}\n{\"series\":7}\n"
                "{\"conv\":3}\n{"));
  mock_log_reset();
  inst = make_instance("badlines");
  EXPECT_EQ_INT(5, inst->state.refused_lines);
  EXPECT_EQ_INT(1, gen_counters_refused(inst->counters));
  EXPECT_EQ_INT(2, atomic_load(&gen_attr_stats(inst->ledger)->state_refused));
  OK(mock_log_contains("line 2: the line refused (not JSON)"));
  OK(mock_log_contains("line 3:"));
  OK(mock_log_contains("5 lines refused in all"));
  mock_values_reset();
  gf_dispatch_counters(inst, true);
  gf_dispatch_self(inst);
  EXPECT_EQ_INT(2, mock_find("SalesIvr", "flow_executions", "")->value.derive);
  EXPECT_EQ_INT(1, mock_find("SalesIvr", "flow_exits", "")->value.derive);
  EXPECT_EQ_INT(
      1, mock_find("SalesIvr", "flow_metric_attribute", "Menu")->value.derive);
  EXPECT_EQ_INT(
      1, mock_find("SalesIvr", "flow_metric_attribute", "Lang")->value.derive);
  EXPECT_EQ_INT(1, gen_attr_conversations(inst->ledger));
  EXPECT_EQ_INT(5, mock_find("self", "state_refused", "lines")->value.derive);
  gf_instance_free(inst);
  free(path);
  return 0;
}

/* A state file not ours as a whole (a later version's header, or lines
 * without our header) gives nothing: counting starts afresh, logged. */
DEF_TEST(state_not_ours_refused_whole) {
  char *path;
  killed_after_two("later", false, &path);
  OK(state_edit(path, "{\"version\":1,", "{\"version\":2,"));
  mock_log_reset();
  gf_instance_t *inst = make_instance("later");
  OK(mock_log_contains("a version we do not know"));
  EXPECT_EQ_INT(0, gen_counters_count(inst->counters));
  inst->started = false; /* no save over the file */
  gf_instance_free(inst);
  OK(state_edit(path, "{\"version\":2,",
                "{\"flows\":[\"f-1\\t\",5]}\n{\"v\":1,"));
  mock_log_reset();
  inst = make_instance("later");
  OK(mock_log_contains("counting starts afresh"));
  EXPECT_EQ_INT(0, gen_counters_count(inst->counters));
  inst->started = false; /* no save over the file */
  gf_instance_free(inst);
  free(path);
  return 0;
}

/* A kill between two state saves: every increment since the last save is
 * in the journal; restarting twice (killed again before any save) or after
 * a save counts nothing twice. */
DEF_TEST(flow_counters_survive_kill) {
  gf_instance_t *inst = make_instance("kill");
  feed(inst, RECORD("f-1", "nFlow", ""));
  gf_save_state(inst);
  feed(inst, RECORD("f-1", "nFlow", ""));
  feed(inst,
       RECORD("f-1", "nFlowMilestone", ",\"flowMilestoneIds\":[\"m-1\"]"));
  gf_save_state(inst);
  feed(inst, RECORD("f-1", "nFlow", "")); /* journalled only */
  feed(inst, RECORD("f-1", "tFlowExit", ""));
  inst->started = false; /* killed: no final save */
  gf_instance_free(inst);
  for (int round = 0; round < 3; round++) {
    inst = make_instance("kill");
    mock_values_reset();
    gf_dispatch_counters(inst, true);
    EXPECT_EQ_INT(3,
                  mock_find("SalesIvr", "flow_executions", "")->value.derive);
    EXPECT_EQ_INT(1, mock_find("SalesIvr", "flow_exits", "")->value.derive);
    EXPECT_EQ_INT(
        1, mock_find("SalesIvr", "flow_milestones", "MenuDone")->value.derive);
    if (round == 1)
      gf_save_state(inst); /* the replayed journals fold into the state */
    inst->started = false;
    gf_instance_free(inst);
  }
  return 0;
}

#define T0 1778752800000LL /* 2026-05-14T10:00:00Z */
#define G 300000LL

/* 10:08: the 10:00-10:05 bucket has settled (default SettleDelay 120 s). */
#define AT_1008 (T0 + G + 180000)

/* Plans at `at`, feeds the answer to the engine and commits the range. */
static int aggregates(gf_instance_t *inst, int64_t at, const char *text) {
  gen_agg_query_t query = gen_flow_agg_query(&inst->agg);
  return interval_answer(inst->families.engine[GF_FLOWS], inst->client,
                         &inst->families.counts, &query, "f-1", at, text);
}

#define FLOW_BUCKET "2026-05-14T10:00:00.000Z/2026-05-14T10:05:00.000Z"
#define FLOW_ANSWER(executions, failed)                                        \
  "{\"results\":[{\"group\":{\"flowId\":\"f-1\"},\"data\":[{\"interval\":"     \
  "\"" FLOW_BUCKET "\",\"metrics\":[{\"metric\":\"nFlow\",\"stats\":{"         \
  "\"count\":" executions "}},{\"metric\":\"tFlowExit\",\"stats\":{"           \
  "\"count\":2,\"sum\":90000,\"max\":60000,\"min\":30000}},"                   \
  "{\"metric\":\"nFlowMilestone\",\"stats\":{\"count\":9}}]}]},"               \
  "{\"group\":{\"flowId\":\"f-1\",\"flowOutcomeId\":\"o-1\"},\"data\":[{"      \
  "\"interval\":\"" FLOW_BUCKET                                                \
  "\",\"metrics\":[{\"metric\":\"nFlowOutcome\","                              \
  "\"stats\":{\"count\":3}},{\"metric\":\"nFlowOutcomeFailed\",\"stats\":{"    \
  "\"count\":" failed                                                          \
  "}},{\"metric\":\"tFlowOutcome\",\"stats\":{\"count\":3,"                    \
  "\"sum\":30000}}]}]},"                                                       \
  "{\"group\":{\"flowId\":\"f-1\",\"flowMilestoneId\":\"m-1\"},\"data\":[{"    \
  "\"interval\":\"" FLOW_BUCKET "\",\"metrics\":[{\"metric\":"                 \
  "\"nFlowMilestone\",\"stats\":{\"count\":4}}]}]},"                           \
  "{\"group\":{\"flowId\":\"f-9\"},\"data\":[]}]}"

static double gauge(const char *type, const char *type_instance) {
  mock_value_t *v = mock_find("SalesIvr", type, type_instance);
  return v == NULL ? -1 : v->value.gauge;
}

static int64_t counter(const char *type, const char *type_instance) {
  mock_value_t *v = mock_find("SalesIvr", type, type_instance);
  return v == NULL ? -1 : v->value.derive;
}

/* A word Genesys adds in each enum field the family reads: a flow metric
 * record's metric and an outcome's flowOutcomeValue, a metric name in a
 * flow aggregates answer. Each is counted in unknown_values and logged
 * once; it counts nothing, and the rest is counted and dispatched. */
DEF_TEST(unknown_words_take_the_rest) {
  gf_instance_t *inst = make_instance("unknown-words");
  mock_values_reset();
  mock_log_reset();
  for (int round = 0; round < 2; round++) {
    feed(inst, RECORD("f-1", "nFlowRetried", ""));
    feed(inst, RECORD("f-1", "nFlowOutcome",
                      ",\"outcomes\":[{\"flowOutcomeId\":\"o-1\","
                      "\"flowOutcomeValue\":\"PARTIAL\"},"
                      "{\"flowOutcomeId\":\"o-1\",\"flowOutcomeValue\":"
                      "\"SUCCESS\"},{\"flowOutcomeId\":\"o-1\","
                      "\"flowOutcomeValue\":\"UNKNOWN\"},"
                      "{\"flowOutcomeId\":\"o-1\",\"flowOutcomeValue\":"
                      "\"FAILURE\"}]"));
    feed(inst, RECORD("f-1", "nFlow", ""));
  }
  EXPECT_EQ_INT(2, counter("flow_executions", ""));
  EXPECT_EQ_INT(2, counter("flow_outcome_success", "Identified"));
  EXPECT_EQ_INT(2, counter("flow_outcome_failure", "Identified"));
  EXPECT_EQ_INT(1, (int)mock_unknown_lines("metric", "nFlowRetried"));
  EXPECT_EQ_INT(1, (int)mock_unknown_lines("flowOutcomeValue", "PARTIAL"));
  EXPECT_EQ_INT(1, (int)mock_unknown_lines("flowOutcomeValue", "UNKNOWN"));

  uint64_t malformed = atomic_load(&inst->client->stats.malformed);
  CHECK_ZERO(
      aggregates(inst, AT_1008,
                 "{\"results\":[{\"group\":{\"flowId\":\"f-1\"},\"data\":[{"
                 "\"interval\":\"" FLOW_BUCKET "\",\"metrics\":["
                 "{\"metric\":\"nFlowRetried\",\"stats\":{\"count\":4}},"
                 "{\"metric\":\"nFlow\",\"stats\":{\"count\":5}}]}]}]}"));
  EXPECT_EQ_DOUBLE(5, gauge("flow_interval_executions", ""));
  EXPECT_EQ_INT((int)malformed,
                (int)atomic_load(&inst->client->stats.malformed));

  mock_values_reset();
  gen_stats_dispatch(&inst->client->stats, "acme", PLUGIN_NAME);
  EXPECT_EQ_INT(2, (int)mock_unknown_values("flow_records-metric"));
  EXPECT_EQ_INT(4, (int)mock_unknown_values("flow_records-flowOutcomeValue"));
  EXPECT_EQ_INT(1, (int)mock_unknown_values("flow_aggregates-metric"));
  gf_instance_free(inst);
  return 0;
}

DEF_TEST(aggregates_per_bucket_and_counters) {
  gf_instance_t *inst = make_instance("aggregates");
  mock_values_reset();
  CHECK_ZERO(aggregates(inst, AT_1008, FLOW_ANSWER("5", "1")));
  mock_value_t *v = mock_find("SalesIvr", "flow_interval_executions", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(5, v->value.gauge);
  EXPECT_EQ_UINT64(MS_TO_CDTIME_T(T0 + G), v->time);
  EXPECT_EQ_DOUBLE(2, gauge("duration_count", "exit"));
  EXPECT_EQ_DOUBLE(45, gauge("duration_avg", "exit"));
  EXPECT_EQ_DOUBLE(60, gauge("duration_max", "exit"));
  EXPECT_EQ_DOUBLE(3, gauge("flow_interval_outcomes", "Identified"));
  EXPECT_EQ_DOUBLE(1, gauge("flow_interval_outcome_failures", "Identified"));
  EXPECT_EQ_DOUBLE(10, gauge("duration_avg", "outcome-Identified"));
  /* Milestones from the milestone group only; the 9 in the flow group
   * would count them twice. */
  EXPECT_EQ_DOUBLE(4, gauge("flow_interval_milestones", "MenuDone"));
  EXPECT_EQ_INT(4, counter("total_flow_milestones", "MenuDone"));
  EXPECT_EQ_INT(5, counter("total_flow_executions", ""));
  EXPECT_EQ_INT(90000, counter("total_duration_ms", "exit"));
  EXPECT_EQ_INT(1, counter("total_flow_outcome_failures", "Identified"));
  /* Revisited with one more execution and failure: the counters move by
   * the difference. */
  mock_values_reset();
  CHECK_ZERO(aggregates(inst, AT_1008 + G, FLOW_ANSWER("6", "2")));
  EXPECT_EQ_DOUBLE(6, gauge("flow_interval_executions", ""));
  EXPECT_EQ_INT(6, counter("total_flow_executions", ""));
  EXPECT_EQ_INT(2, counter("total_flow_outcome_failures", "Identified"));
  EXPECT_EQ_INT(3, counter("total_flow_outcomes", "Identified"));
  /* An answer with a bucket outside the range is refused whole. */
  mock_values_reset();
  EXPECT_EQ_INT(-EINVAL,
                aggregates(inst, AT_1008 + 2 * G,
                           "{\"results\":[{\"group\":{\"flowId\":\"f-1\"},"
                           "\"data\":[{\"interval\":\"2026-05-14T11:00:00Z/"
                           "2026-05-14T11:05:00Z\",\"metrics\":[]}]}]}"));
  EXPECT_EQ_INT(-EINVAL, aggregates(inst, AT_1008 + 2 * G, "{\"results\":7}"));
  EXPECT_EQ_INT(0, mock_values_num);
  gf_instance_free(inst);
  return 0;
}

/* The flow aggregates grouped by flow, outcome and milestone as Genesys
 * answers them (tests/sim/README.md, Evidence): milestone m-1 in groups
 * that carry the outcome it is associated with, here two outcomes (a
 * milestone may have several), in buckets of their own and one shared. */
#define FLOW_BUCKET_2 "2026-05-14T10:05:00.000Z/2026-05-14T10:10:00.000Z"
#define MILESTONE_GROUP(outcome, buckets)                                      \
  "{\"group\":{\"flowId\":\"f-1\"" outcome                                     \
  ",\"flowMilestoneId\":\"m-1\"},\"data\":[" buckets "]}"
#define MILESTONES(bucket, n)                                                  \
  "{\"interval\":\"" bucket "\",\"metrics\":[{\"metric\":\"nFlowMilestone\","  \
  "\"stats\":{\"count\":" n "}}]}"
#define WITH_OUTCOME(o) ",\"flowOutcomeId\":\"" o "\",\"flowOutcome\":\"x\""
#define OUTCOME_GROUP                                                          \
  "{\"group\":{\"flowId\":\"f-1\",\"flowOutcomeId\":\"o-1\"},\"data\":[{"      \
  "\"interval\":\"" FLOW_BUCKET                                                \
  "\",\"metrics\":[{\"metric\":\"nFlowOutcome\","                              \
  "\"stats\":{\"count\":3}},{\"metric\":\"tFlowOutcome\",\"stats\":{"          \
  "\"count\":3,\"sum\":30000,\"max\":20000,\"min\":1000}}]}]}"
#define EXECUTIONS_GROUP                                                       \
  "{\"group\":{\"flowId\":\"f-1\"},\"data\":[{\"interval\":\"" FLOW_BUCKET     \
  "\",\"metrics\":[{\"metric\":\"nFlow\",\"stats\":{\"count\":5}}]}]}"

/* 10:13: both buckets of 10:00-10:10 have settled. */
#define AT_1013 (T0 + 2 * G + 180000)

static int check_milestone_answer(gf_instance_t *inst, const char *answer) {
  mock_values_reset();
  atomic_store(&inst->client->stats.malformed, 0);
  EXPECT_EQ_INT(0, aggregates(inst, AT_1013, answer));
  /* Per bucket: 4 + 2 in the first (two outcomes), 3 in the second. */
  mock_value_t *v = NULL;
  double first = -1, second = -1;
  for (size_t i = 0; i < mock_values_num; i++) {
    v = &mock_values[i];
    if (strcmp(v->type, "flow_interval_milestones") != 0 ||
        strcmp(v->type_instance, "MenuDone") != 0)
      continue;
    if (v->time == MS_TO_CDTIME_T(T0 + G))
      first = v->value.gauge;
    else if (v->time == MS_TO_CDTIME_T(T0 + 2 * G))
      second = v->value.gauge;
  }
  EXPECT_EQ_DOUBLE(6, first);
  EXPECT_EQ_DOUBLE(3, second);
  EXPECT_EQ_INT(9, counter("total_flow_milestones", "MenuDone"));
  /* Outcomes once, from the outcome group only; executions likewise. */
  EXPECT_EQ_DOUBLE(3, gauge("flow_interval_outcomes", "Identified"));
  EXPECT_EQ_INT(3, counter("total_flow_outcomes", "Identified"));
  EXPECT_EQ_DOUBLE(20, gauge("duration_max", "outcome-Identified"));
  EXPECT_EQ_INT(5, counter("total_flow_executions", ""));
  OK(mock_find("SalesIvr", "flow_interval_outcomes", "Paid") == NULL);
  /* Nothing of the answer was dropped as unusable. */
  EXPECT_EQ_INT(0, atomic_load(&inst->client->stats.malformed));
  return 0;
}

/* An instance whose engine has a state file of its own (suffix), so that
 * no earlier test's progress makes the buckets below done already, and
 * starts 10 minutes back. */
static gf_instance_t *fresh_engine(const char *state, const char *suffix) {
  gf_instance_t *inst = make_instance(state);
  gen_interval_free(inst->families.engine[GF_FLOWS]);
  /* Both buckets below in the first range. */
  inst->config.interval.initial = TIME_T_TO_CDTIME_T(600);
  inst->families.engine[GF_FLOWS] = gen_interval_config_engine(
      &inst->config.interval, "flowmetrics", "acme", suffix, &inst->who);
  return inst;
}

DEF_TEST(aggregates_milestones_with_outcome) {
  gf_instance_t *inst = fresh_engine("milestones-with", "-with");
  CHECK_NOT_NULL(inst->families.engine[GF_FLOWS]);
  gen_entity_add(&inst->lists.outcomes, "o-2", "Paid", NULL);
  static const char answer[] =
      "{\"results\":[" EXECUTIONS_GROUP "," OUTCOME_GROUP "," MILESTONE_GROUP(
          WITH_OUTCOME("o-1"),
          MILESTONES(FLOW_BUCKET, "4") "," MILESTONES(
              FLOW_BUCKET_2, "3")) "," MILESTONE_GROUP(WITH_OUTCOME("o-2"),
                                                       MILESTONES(FLOW_BUCKET,
                                                                  "2")) "]}";
  CHECK_ZERO(check_milestone_answer(inst, answer));
  gf_instance_free(inst);
  return 0;
}

DEF_TEST(aggregates_milestones_alone) {
  gf_instance_t *inst = fresh_engine("milestones-alone", "-alone");
  CHECK_NOT_NULL(inst->families.engine[GF_FLOWS]);
  /* The same counts with no outcome key: the API summed the outcomes. */
  static const char answer[] =
      "{\"results\":[" EXECUTIONS_GROUP "," OUTCOME_GROUP
      "," MILESTONE_GROUP("", MILESTONES(FLOW_BUCKET, "6") "," MILESTONES(
                                  FLOW_BUCKET_2, "3")) "]}";
  CHECK_ZERO(check_milestone_answer(inst, answer));
  gf_instance_free(inst);
  return 0;
}

/* Data actions: one action's groups by errorType folded into one, the
 * errors their count, the times from tTotalExecution's stats; a group that
 * names the action only; stats with a count only. */
#define ACTION_GROUP(group, count, stats)                                      \
  "{\"group\":{" group "},\"data\":[{\"interval\":\"" FLOW_BUCKET              \
  "\",\"metrics\":[{\"metric\":\"tTotalExecution\",\"stats\":{"                \
  "\"count\":" count stats "}}]}]}"
#define TIMES(sum, max, min) ",\"sum\":" sum ",\"max\":" max ",\"min\":" min

static int actions(gf_instance_t *inst, const char *suffix, const char *text) {
  gen_interval_free(inst->families.engine[GF_ACTIONS]);
  inst->families.engine[GF_ACTIONS] = gen_interval_config_engine(
      &inst->config.interval, "flowmetrics", "acme", suffix, &inst->who);
  gen_entity_add(&inst->lists.actions, "a-1", "Lookup CRM", NULL);
  gen_entity_add(&inst->lists.actions, "a-2", "Lookup CRM",
                 NULL); /* same name */
  gen_agg_query_t query = gen_action_agg_query(&ACTIONS(inst)->aa);
  mock_values_reset();
  atomic_store(&inst->client->stats.malformed, 0);
  return interval_answer(inst->families.engine[GF_ACTIONS], inst->client,
                         &inst->families.counts, &query, "a-1", AT_1008, text);
}

static double action_value(const char *type, const char *type_instance) {
  mock_value_t *v = mock_find("Lookup_CRM", type, type_instance);
  if (v == NULL)
    return -1;
  return strncmp(type, "total_", 6) == 0 ? (double)v->value.derive
                                         : v->value.gauge;
}

DEF_TEST(data_actions) {
  gf_instance_t *inst = make_instance("actions");
  ACTIONS(inst)->aa.every = false;
  CHECK_ZERO(actions(
      inst, "-actions1",
      "{\"results\":[" ACTION_GROUP("\"actionId\":\"a-1\"", "5", TIMES("1000", "400", "100")) "," ACTION_GROUP(
          "\"actionId\":\"a-1\",\"errorType\":\"TIMEOUT\"", "2",
          TIMES(
              "9000", "5000",
              "4000")) "," ACTION_GROUP("\"actionId\":\"a-1\",\"errorType\":"
                                        "\"5xx\"",
                                        "1",
                                        TIMES(
                                            "700", "700",
                                            "700")) "," ACTION_GROUP("\"actionI"
                                                                     "d\":\"a-"
                                                                     "9\"",
                                                                     "3",
                                                                     "") "]}"));
  EXPECT_EQ_DOUBLE(8, action_value("action_executions", ""));
  EXPECT_EQ_DOUBLE(3, action_value("action_errors", ""));
  EXPECT_EQ_DOUBLE(8, action_value("duration_count", "action_execution"));
  EXPECT_EQ_DOUBLE(10.7 / 8, action_value("duration_avg", "action_execution"));
  EXPECT_EQ_DOUBLE(5, action_value("duration_max", "action_execution"));
  EXPECT_EQ_DOUBLE(0.1, action_value("duration_min", "action_execution"));
  EXPECT_EQ_DOUBLE(8, action_value("total_action_executions", ""));
  EXPECT_EQ_DOUBLE(3, action_value("total_action_errors", ""));
  EXPECT_EQ_DOUBLE(10700,
                   action_value("total_duration_ms", "action_execution"));
  /* a-9 was not asked for (a selection is configured): not ours. */
  EXPECT_EQ_INT(1, atomic_load(&inst->client->stats.malformed));
  /* No errors: 0, not absent. Counts only: no times, nothing malformed.
   * Every action asked for: one not listed is dropped, not malformed. */
  ACTIONS(inst)->aa.every = true;
  CHECK_ZERO(
      actions(inst, "-actions2",
              "{\"results\":[" ACTION_GROUP(
                  "\"actionId\":\"a-1\"", "4",
                  "") "," ACTION_GROUP("\"actionId\":\"a-7\"", "3", "") "]}"));
  EXPECT_EQ_DOUBLE(4, action_value("action_executions", ""));
  EXPECT_EQ_DOUBLE(0, action_value("action_errors", ""));
  OK(mock_find("Lookup_CRM", "duration_avg", "action_execution") == NULL);
  EXPECT_EQ_INT(0, atomic_load(&inst->client->stats.malformed));
  /* A group that is not an object is malformed, every action asked or not. */
  CHECK_ZERO(actions(inst, "-actions-group",
                     "{\"results\":[{\"group\":5,\"data\":[]}]}"));
  EXPECT_EQ_INT(1, atomic_load(&inst->client->stats.malformed));
  /* A name shared by two actions is no action's; a unique one is. */
  gf_instance_free(inst);
  inst = make_instance("actions");
  CHECK_ZERO(actions(inst, "-actions3",
                     "{\"results\":[" ACTION_GROUP(
                         "\"actionName\":\"Lookup CRM\"", "4", "") "]}"));
  EXPECT_EQ_INT(0, mock_values_num);
  const char *text = "{\"results\":[" ACTION_GROUP(
      "\"actionName\":\"Other\",\"errorType\":\"x\"", "2", "") "]}";
  gen_agg_answer_t *a = gen_agg_answer_new();
  char err[128];
  CHECK_ZERO(gen_agg_answer_read(a, text, strlen(text), err, sizeof(err)));
  gen_entity_add(&inst->lists.actions, "a-3", "Other", NULL);
  CHECK_ZERO(gen_action_agg_normalize(&inst->lists.actions, false, a));
  const gen_agg_result_t *r;
  EXPECT_EQ_INT(1, (int)gen_agg_answer_results(a, &r));
  EXPECT_EQ_STR("a-3", gen_agg_group_get(&r->group, "actionId"));
  gen_agg_answer_free(a);
  gf_instance_free(inst);
  return 0;
}

/* A failure is a group with an errorType or a responseStatus outside 2xx
 * (a string, or a number): a failure that carries only its status counts
 * as an error, not a success. */
#define STATUS_GROUP(status, count)                                            \
  ACTION_GROUP("\"actionId\":\"a-1\",\"responseStatus\":" status, count, "")
DEF_TEST(data_action_failures) {
  gf_instance_t *inst = make_instance("failures");
  ACTIONS(inst)->aa.every = false;
  CHECK_ZERO(actions(
      inst, "-actions4",
      "{\"results\":[" STATUS_GROUP("\"200\"", "5") "," STATUS_GROUP(
          "\"204\"",
          "1") "," STATUS_GROUP("\"404\"",
                                "2") "," STATUS_GROUP("500",
                                                      "1") "," ACTION_GROUP("\""
                                                                            "ac"
                                                                            "ti"
                                                                            "on"
                                                                            "Id"
                                                                            "\""
                                                                            ":"
                                                                            "\""
                                                                            "a-"
                                                                            "1"
                                                                            "\""
                                                                            ","
                                                                            "\""
                                                                            "er"
                                                                            "ro"
                                                                            "rT"
                                                                            "yp"
                                                                            "e"
                                                                            "\""
                                                                            ":"
                                                                            "\""
                                                                            "ti"
                                                                            "me"
                                                                            "ou"
                                                                            "t"
                                                                            "\""
                                                                            ","
                                                                            "\""
                                                                            "re"
                                                                            "sp"
                                                                            "on"
                                                                            "se"
                                                                            "St"
                                                                            "at"
                                                                            "us"
                                                                            "\""
                                                                            ":"
                                                                            "\""
                                                                            "20"
                                                                            "0"
                                                                            "\"",
                                                                            "3",
                                                                            "") "]}"));
  EXPECT_EQ_DOUBLE(12, action_value("action_executions", ""));
  EXPECT_EQ_DOUBLE(6, action_value("action_errors", ""));
  EXPECT_EQ_INT(0, atomic_load(&inst->client->stats.malformed));
  static const struct {
    const char *group;
    bool failed;
  } cases[] = {
      {"{}", false},
      {"{\"responseStatus\":\"299\"}", false},
      {"{\"responseStatus\":\"300\"}", true},
      {"{\"responseStatus\":\"199\"}", true},
      {"{\"responseStatus\":502}", true},
      {"{\"responseStatus\":204}", false},
      /* Not a whole number as json-c read it, nor a string: unreadable. */
      {"{\"responseStatus\":404.0}", false},
      {"{\"responseStatus\":4e2}", false},
      {"{\"responseStatus\":true}", false},
      {"{\"responseStatus\":\"404\",\"responseStatus\":200}", false},
      {"{\"responseStatus\":\"n/a\"}", false},
      {"{\"responseStatus\":\"\"}", false},
      {"{\"errorType\":\"\",\"responseStatus\":\"200\"}", false},
      {"{\"errorType\":\"configuration\"}", true},
  };
  gen_agg_answer_t *a = gen_agg_answer_new();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char text[256], err[128];
    const gen_agg_result_t *r;
    snprintf(text, sizeof(text), "{\"results\":[{\"group\":%s}]}",
             cases[i].group);
    CHECK_ZERO(gen_agg_answer_read(a, text, strlen(text), err, sizeof(err)));
    EXPECT_EQ_INT(1, (int)gen_agg_answer_results(a, &r));
    EXPECT_EQ_INT(cases[i].failed, gen_action_agg_failed(&r->group));
  }
  gen_agg_answer_free(a);
  gf_instance_free(inst);
  return 0;
}

/* Active flows (oFlow) per selected flow and media type, now, with the read
 * interval. */
DEF_TEST(active_flows) {
  gf_instance_t *inst = make_instance("active");
  atomic_store(&inst->interval, TIME_T_TO_CDTIME_T(10));
  gen_flow_observation_t q = gen_flow_agg_active(&inst->agg);
  const char *text =
      "{\"results\":[{\"group\":{\"flowId\":\"f-1\",\"mediaType\":"
      "\"voice\"},\"data\":[{\"metric\":\"oFlow\",\"stats\":{\"count\":"
      "4}}]},{\"group\":{\"flowId\":\"f-9\",\"mediaType\":\"voice\"},"
      "\"data\":[{\"metric\":\"oFlow\",\"stats\":{\"count\":2}}]}]}";
  char err[128];
  mock_values_reset();
  CHECK_ZERO(gen_flow_observed(&q, text, strlen(text), err, sizeof(err)));
  EXPECT_EQ_INT(1, mock_values_num); /* f-9 is not selected */
  EXPECT_EQ_DOUBLE(4, gauge("flow_active", "voice"));
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(10),
                   mock_find("SalesIvr", "flow_active", "voice")->interval);
  gf_instance_free(inst);
  return 0;
}

/* Counted values leave at the channel's tick, once per series however
 * many events came since, at the tick's time (strictly increasing), with
 * the read interval; an untouched series waits for the read's
 * re-dispatch, which sends every one. */
DEF_TEST(counters_leave_at_the_tick) {
  gf_instance_t *inst = make_instance("tick");
  atomic_store(&inst->interval, TIME_T_TO_CDTIME_T(10));
  mock_values_reset();
  mock_time = TIME_T_TO_CDTIME_T(1778752800);
  for (int i = 0; i < 5; i++) /* a burst */
    message(inst, RECORD("f-1", "nFlow", ""));
  gen_eventbridge_handle(inst->events, EB("e-1", "c-1", M1),
                         strlen(EB("e-1", "c-1", M1)));
  EXPECT_EQ_INT(0, mock_values_num); /* nothing before the tick */
  gf_on_tick(inst);
  EXPECT_EQ_INT(2, mock_values_num);
  mock_value_t *v = mock_find("SalesIvr", "flow_executions", "");
  EXPECT_EQ_INT(5, v->value.derive);
  EXPECT_EQ_UINT64(mock_time, v->sent_time);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(10), v->sent_interval);
  v = mock_find("SalesIvr", "flow_metric_attribute", "Menu");
  EXPECT_EQ_INT(1, v->value.derive);
  EXPECT_EQ_UINT64(mock_time, v->sent_time);
  /* Nothing counted since: the next ticks send nothing. */
  gf_on_tick(inst);
  gf_on_lost(inst, NULL, 0);
  EXPECT_EQ_INT(2, mock_values_num);
  /* One series moves: only it leaves, later than before although the
   * clock did not move. */
  feed(inst, RECORD("f-1", "tFlowExit", ""));
  EXPECT_EQ_INT(3, mock_values_num);
  v = mock_find("SalesIvr", "flow_exits", "");
  EXPECT_EQ_INT(1, v->value.derive);
  OK(v->sent_time > mock_time);
  /* Counted, then the channel lost: it leaves at once, no tick needed. */
  message(inst, RECORD("f-1", "nFlow", ""));
  gf_on_lost(inst, NULL, 0);
  EXPECT_EQ_INT(4, mock_values_num);
  EXPECT_EQ_INT(6, counter("flow_executions", ""));
  /* The read sends every series, once each, at one time. */
  cdtime_t last = mock_find("SalesIvr", "flow_executions", "")->sent_time;
  gf_dispatch_counters(inst, true);
  EXPECT_EQ_INT(7, mock_values_num);
  v = mock_find("SalesIvr", "flow_executions", "");
  OK(v->sent_time > last);
  EXPECT_EQ_UINT64(v->sent_time,
                   mock_find("SalesIvr", "flow_exits", "")->sent_time);
  mock_time = 0;
  gf_instance_free(inst);
  return 0;
}

DEF_TEST(config_checks) {
  gf_config_t *c = gen_plugin_config_new(&gf_plugin);
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  oconfig_item_t *ci = mock_ci_num("AttributeGroups", 1);
  EXPECT_EQ_INT(-EINVAL, gf_config_key(org, ci, c));
  mock_ci_free(ci);
  ci = mock_ci_num("ReceiverPort", 70000);
  OK(gf_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  /* A build without libmicrohttpd refuses the receiver by name. */
  ci = mock_ci_num("ReceiverPort", 8443);
  mock_log_reset();
  if (gen_receiver_available()) {
    EXPECT_EQ_INT(0, gf_config_key(org, ci, c));
  } else {
    EXPECT_EQ_INT(-EINVAL, gf_config_key(org, ci, c));
    OK(mock_log_contains("ReceiverPort 8443: this build has no receiver"));
  }
  mock_ci_free(ci);
  EXPECT_EQ_INT(256, c->attr.max_names);
  ci = mock_ci_num("MaxAttributesPerConversation", 0);
  mock_log_reset();
  EXPECT_EQ_INT(-ERANGE, gf_config_key(org, ci, c));
  OK(mock_log_contains("MaxAttributesPerConversation"));
  mock_ci_free(ci);
  /* DataActions: off by default; a value not a boolean named. */
  OK(!c->act.on);
  ci = mock_ci_num("DataActions", 1);
  mock_log_reset();
  OK(gf_config_key(org, ci, c) < 0);
  OK(mock_log_contains("DataActions"));
  mock_ci_free(ci);
  OK(!c->act.on);
  ci = mock_ci_str("DataActionName", "Lookup*");
  CHECK_ZERO(gf_config_key(org, ci, c));
  mock_ci_free(ci);
  OK(!gen_entity_selects_all(&c->act.filter, org));
  ci = mock_ci_str("Bogus", "x");
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE, gf_config_key(org, ci, c));
  mock_ci_free(ci);
  /* The old StateFile works, with a warning pointing to StateDirectory. */
  ci = mock_ci_str("StateFile", "/tmp/x.json");
  mock_log_reset();
  CHECK_ZERO(gf_config_key(org, ci, c));
  OK(mock_log_contains("StateFile is deprecated: use StateDirectory"));
  EXPECT_EQ_STR("/tmp/x.json", c->state_file);
  mock_ci_free(ci);
  gen_org_free(org);
  gen_plugin_config_free(&gf_plugin, c);
  return 0;
}

/* StateDirectory holds the counters' state too (one location per plugin). */
DEF_TEST(state_directory_holds_every_state_file) {
  gen_org_t *org = mock_org(PLUGIN_NAME);
  gf_config_t *c = gen_plugin_config_new(&gf_plugin);
  oconfig_item_t *ci = mock_ci_str("StateDirectory", state_dir);
  CHECK_ZERO(gf_config_key(org, ci, c));
  mock_ci_free(ci);
  gf_instance_t *inst =
      gen_plugin_instance_new(&gf_plugin, gen_client_create(org), c);
  CHECK_NOT_NULL(inst);
  char want[300];
  snprintf(want, sizeof(want), "%s/%s-acme.json", state_dir, PLUGIN_NAME);
  EXPECT_EQ_STR(want, inst->config.state_file);
  gf_instance_free(inst);
  return 0;
}

/* A StateDirectory that cannot be created stops the block (nothing counted
 * could be kept), with or without the aggregates. */
DEF_TEST(state_directory_not_creatable) {
  char file[300], below[320];
  snprintf(file, sizeof(file), "%s/plain-file", state_dir);
  snprintf(below, sizeof(below), "%s/sub", file);
  FILE *f = fopen(file, "w");
  CHECK_NOT_NULL(f);
  fclose(f);
  for (int aggregates = 0; aggregates <= 1; aggregates++) {
    gen_org_t *org = mock_org(PLUGIN_NAME);
    gf_config_t *c = gen_plugin_config_new(&gf_plugin);
    oconfig_item_t *ci = mock_ci_str("StateDirectory", below);
    CHECK_ZERO(gf_config_key(org, ci, c));
    mock_ci_free(ci);
    c->agg.aggregates = aggregates;
    EXPECT_EQ_PTR(
        NULL, gen_plugin_instance_new(&gf_plugin, gen_client_create(org), c));
  }
  return 0;
}

DEF_TEST(registers_and_configures) {
  return check_plugin(module_register, "genesys_flowmetrics");
}

DEF_TEST(keys_listed_with_their_defaults) {
  return check_plugin_keys(&gf_plugin);
}

typedef struct {
  char seen[4][64]; /* "<flowId>/<mediaType>=<count>" */
  int n;
} observed_t;

static void observed(void *ud, const char *id, const char *media,
                     double count) {
  observed_t *o = ud;
  if (o->n < 4)
    snprintf(o->seen[o->n], sizeof(o->seen[0]), "%s/%s=%g", id ? id : "-",
             media ? media : "-", count);
  o->n++;
}

/* Every item of the metric with a count, in every result, read by the
 * observations API's one reader with flowId as the groups' id: a count
 * that is not a whole number >= 0 is none; a group without a flowId says
 * so (NULL); an answer without results[] has no group; text that is not
 * JSON is refused and nothing is called back. */
DEF_TEST(observations_read_per_group) {
  observed_t o = {.n = 0};
  gen_flow_observation_t q = {.metric = GEN_OBS_M_FLOW,
                              .dim = "flowId",
                              .observed = observed,
                              .ud = &o};
  const char *text =
      "{\"results\":[{\"group\":{\"flowId\":\"f-1\",\"mediaType\":"
      "\"voice\"},\"data\":[{\"metric\":\"oFlow\",\"stats\":{\"count\":"
      "3}},{\"metric\":\"oOther\",\"stats\":{\"count\":9}},{\"metric\":"
      "\"oFlow\",\"stats\":{}},{\"metric\":\"oFlow\",\"stats\":{\"count\":"
      "-1}},{\"metric\":\"oFlow\",\"stats\":{\"count\":1.5}}]},{\"group\":"
      "{\"flowId\":\"f-2\",\"mediaType\":\"chat\"},\"data\":[{\"metric\":"
      "\"oFlow\",\"stats\":{\"count\":0}}]},{\"group\":{\"flowId\":\"f-3\"}},"
      "{\"group\":{\"queueId\":\"q-1\"},\"data\":[{\"metric\":\"oFlow\","
      "\"stats\":{\"count\":5}}]}]}";
  char err[128] = "";
  CHECK_ZERO(gen_flow_observed(&q, text, strlen(text), err, sizeof(err)));
  EXPECT_EQ_INT(3, o.n);
  EXPECT_EQ_STR("f-1/voice=3", o.seen[0]);
  EXPECT_EQ_STR("f-2/chat=0", o.seen[1]);
  EXPECT_EQ_STR("-/-=5", o.seen[2]);
  const char *none[] = {"{\"results\":7}", "{}", ""};
  for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
    CHECK_ZERO(
        gen_flow_observed(&q, none[i], strlen(none[i]), err, sizeof(err)));
  const char *bad = "{\"results\":[{\"group\":{\"flowId\":\"f-1\"},\"data\":"
                    "[{\"metric\":\"oFlow\",\"stats\":{\"count\":2}}]}],";
  EXPECT_EQ_INT(-EINVAL,
                gen_flow_observed(&q, bad, strlen(bad), err, sizeof(err)));
  EXPECT_EQ_INT(3, o.n);
  return 0;
}

int main(void) {
  RUN_TEST(observations_read_per_group);
  if (mock_tempdir(state_dir) == NULL)
    return 1;
  RUN_TEST(flow_records_become_counters);
  RUN_TEST(conversation_attributes_count_once);
  RUN_TEST(attributes_per_conversation_bounded);
  RUN_TEST(eventbridge_events);
  RUN_TEST(counters_survive_restart);
  RUN_TEST(flow_counters_survive_kill);
  RUN_TEST(absurd_state_count_refused);
  RUN_TEST(state_keys_not_text_dropped);
  RUN_TEST(old_format_state_restored);
  RUN_TEST(state_before_lines_restored);
  RUN_TEST(bad_lines_refused_alone);
  RUN_TEST(state_not_ours_refused_whole);
  RUN_TEST(unknown_words_take_the_rest);
  RUN_TEST(aggregates_per_bucket_and_counters);
  RUN_TEST(aggregates_milestones_with_outcome);
  RUN_TEST(aggregates_milestones_alone);
  RUN_TEST(data_actions);
  RUN_TEST(data_action_failures);
  RUN_TEST(active_flows);
  RUN_TEST(counters_leave_at_the_tick);
  RUN_TEST(config_checks);
  RUN_TEST(state_directory_holds_every_state_file);
  RUN_TEST(state_directory_not_creatable);
  RUN_TEST(registers_and_configures);
  RUN_TEST(keys_listed_with_their_defaults);
  if (mock_rmtree(state_dir) != 0)
    return 1;
  END_TEST;
}
