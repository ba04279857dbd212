/* SPDX-License-Identifier: MIT */
/* Unit tests: the metric attribute keys (defaults, bounds, the three
 * groups), their checks and the format, the ledger made from them, and its
 * self-metrics. */
#include "gen_attr_config.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

/* Whose lines the module under test writes. */
static const gen_log_org_t test_who = {"test", "acme"};

/* AttributeGroups with three numbers. */
static oconfig_item_t *groups(int n, double a, double b, double c) {
  oconfig_item_t *ci = mock_ci_num("AttributeGroups", a);
  oconfig_value_t *v = realloc(ci->values, 3 * sizeof(*v));
  if (v == NULL)
    return ci;
  v[1] = (oconfig_value_t){.value.number = b, .type = OCONFIG_TYPE_NUMBER};
  v[2] = (oconfig_value_t){.value.number = c, .type = OCONFIG_TYPE_NUMBER};
  ci->values = v;
  ci->values_num = n;
  return ci;
}

static int key(gen_org_t *org, gen_attr_config_t *c, oconfig_item_t *ci) {
  int status = gen_config_table_key(org, ci, &gen_attr_keys, c);
  mock_ci_free(ci);
  return status;
}

DEF_TEST(keys_and_defaults) {
  gen_org_t *org = mock_org("genesys_test");
  gen_attr_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_attr_keys, &c);
  OK(c.pattern == NULL && c.overflow_name == NULL && c.groups[0] == 0);
  EXPECT_EQ_INT(1000, c.max_series);
  EXPECT_EQ_INT(200000, c.max_conversations);
  EXPECT_EQ_INT(256, c.max_names);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(12 * 3600), c.open_ttl);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(3600), c.finished_ttl);
  CHECK_ZERO(key(org, &c, mock_ci_str("AttributePattern", "^(.+)@(.+)$")));
  EXPECT_EQ_STR("^(.+)@(.+)$", c.pattern);
  CHECK_ZERO(key(org, &c, groups(3, 2, 1, 0)));
  OK(c.groups[0] == 2 && c.groups[1] == 1 && c.groups[2] == 0);
  mock_log_reset();
  EXPECT_EQ_INT(-EINVAL, key(org, &c, groups(1, 2, 1, 0)));
  OK(mock_log_contains("takes three numbers"));
  EXPECT_EQ_INT(-EINVAL, key(org, &c, groups(3, 0, 1, 2))); /* flow 0 */
  OK(mock_log_contains("group numbers are 1 to 9"));
  EXPECT_EQ_INT(-EINVAL, key(org, &c, groups(3, 1, 2, 10)));
  CHECK_ZERO(key(org, &c, mock_ci_num("MaxMetricNames", 5)));
  EXPECT_EQ_INT(5, c.max_series);
  CHECK_ZERO(key(org, &c, mock_ci_str("OverflowName", "other")));
  EXPECT_EQ_STR("other", c.overflow_name);
  EXPECT_EQ_INT(-ERANGE, key(org, &c, mock_ci_num("MaxConversations", 50)));
  CHECK_ZERO(key(org, &c, mock_ci_num("maxconversations", 500)));
  EXPECT_EQ_INT(500, c.max_conversations);
  mock_log_reset();
  EXPECT_EQ_INT(-ERANGE,
                key(org, &c, mock_ci_num("MaxAttributesPerConversation", 0)));
  OK(mock_log_contains("MaxAttributesPerConversation"));
  CHECK_ZERO(key(org, &c, mock_ci_num("MaxAttributesPerConversation", 2)));
  EXPECT_EQ_INT(2, c.max_names);
  CHECK_ZERO(key(org, &c, mock_ci_num("ConversationTimeout", 60)));
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(60), c.open_ttl);
  EXPECT_EQ_INT(-ERANGE, key(org, &c, mock_ci_num("ConversationTimeout", 59)));
  CHECK_ZERO(key(org, &c, mock_ci_num("FinishedConversationTimeout", 1)));
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(1), c.finished_ttl);
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE,
                key(org, &c, mock_ci_str("AttributeNames", "x")));
  gen_attr_config_release(&c);
  OK(c.pattern == NULL && c.overflow_name == NULL);
  EXPECT_EQ_INT(1000, c.max_series); /* the defaults again */
  gen_org_free(org);
  return 0;
}

/* The check's status; 1 when the log lacks the line log. */
static int check(gen_attr_config_t *c, const char *log) {
  mock_log_reset();
  return mock_logged(gen_attr_config_check(c, &test_who), log);
}

DEF_TEST(checks_and_format) {
  gen_attr_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_attr_keys, &c);
  char flow[GEN_ATTR_NAME_MAX], metric[GEN_ATTR_NAME_MAX];
  /* The default format and overflow name. */
  CHECK_ZERO(check(&c, NULL));
  EXPECT_EQ_STR("overflow", c.overflow_name);
  OK(gen_attr_format_match(c.format, "SalesMetric_Menu(2026-05-14T10:00:00Z)",
                           flow, metric));
  EXPECT_EQ_STR("Sales", flow);
  EXPECT_EQ_STR("Menu", metric);
  gen_attr_config_release(&c);

  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_attr_keys, &c);
  c.groups[0] = 1, c.groups[1] = 2;
  EXPECT_EQ_INT(-EINVAL, check(&c, "test plugin: Org \"acme\": "
                                   "AttributeGroups needs AttributePattern"));
  OK(c.format == NULL);
  /* A pattern alone takes groups 1, 2 and 3. */
  c.groups[0] = c.groups[1] = 0;
  c.pattern = strdup("^(.+)@([a-z]+)(#)?$");
  CHECK_ZERO(check(&c, NULL));
  OK(c.groups[0] == 1 && c.groups[1] == 2 && c.groups[2] == 3);
  gen_attr_format_free(c.format);
  /* Groups of the configuration: the metric first, no time. */
  c.groups[0] = 2, c.groups[1] = 1, c.groups[2] = 0;
  free(c.pattern);
  c.pattern = strdup("^([a-z]+)@(.+)$");
  CHECK_ZERO(check(&c, NULL));
  OK(gen_attr_format_match(c.format, "menu@Sales", flow, metric));
  EXPECT_EQ_STR("Sales", flow);
  EXPECT_EQ_STR("menu", metric);
  gen_attr_format_free(c.format);
  c.format = NULL;
  free(c.pattern);
  c.pattern = strdup("^((.+)@");
  EXPECT_EQ_INT(-EINVAL, check(&c, "AttributePattern \"^((.+)@\":"));
  gen_attr_config_release(&c);
  return 0;
}

/* The configuration reaches the ledger: names per conversation, series and
 * their overflow; its self-metrics. */
DEF_TEST(ledger_and_self_metrics) {
  gen_attr_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_attr_keys, &c);
  c.max_names = 2;
  c.max_series = 1;
  c.overflow_name = strdup("other");
  CHECK_ZERO(check(&c, NULL));
  gen_attr_ledger_t *l = gen_attr_config_ledger(&c, NULL, &test_who);
  CHECK_NOT_NULL(l);
  const char *names[] = {"SalesMetric_Menu(2026-05-14T10:00:00Z)",
                         "SalesMetric_Lang(2026-05-14T10:00:01Z)",
                         "SalesMetric_Menu(2026-05-14T10:00:02Z)"};
  EXPECT_EQ_INT(
      2, gen_attr_observe(l, "c-1", names, 3, false, cdtime(), NULL, NULL));
  gen_attr_stats_t *a = gen_attr_stats(l);
  EXPECT_EQ_UINT64(1, atomic_load(&a->refused));
  EXPECT_EQ_UINT64(1, atomic_load(&a->over_limit)); /* Lang: series full */
  EXPECT_EQ_INT(2, gen_attr_series(l)); /* Sales/Menu and other/other */
  mock_values_reset();
  gen_attr_dispatch_stats(l, "acme", "genesys_test");
  EXPECT_EQ_INT(11, mock_values_num);
  EXPECT_EQ_INT(2, mock_find("self", "attributes_counted", "")->value.derive);
  EXPECT_EQ_INT(0,
                mock_find("self", "state_refused", "attributes")->value.derive);
  EXPECT_EQ_INT(0,
                mock_find("self", "attribute_names_invalid", "")->value.derive);
  EXPECT_EQ_INT(1,
                mock_find("self", "attribute_names_refused", "")->value.derive);
  EXPECT_EQ_INT(
      0, mock_find("self", "conversations_forgotten", "evicted")->value.derive);
  EXPECT_EQ_DOUBLE(1, mock_find("self", "conversations", "")->value.gauge);
  EXPECT_EQ_DOUBLE(2, mock_find("self", "attribute_series", "")->value.gauge);
  gen_attr_ledger_free(l);
  gen_attr_config_release(&c);
  return 0;
}

DEF_TEST(names_of_attributes) {
  const char *names[GEN_ATTR_EVENT_NAMES];
  size_t n = 0;
  json_object *doc = json_tokener_parse("{\"a\":\"1\",\"b\":{},\"c\":2}");
  gen_attr_names_of(doc, names, &n);
  EXPECT_EQ_INT(3, n);
  EXPECT_EQ_STR("a", names[0]);
  EXPECT_EQ_STR("c", names[2]);
  json_object *array = json_tokener_parse("[\"a\"]");
  gen_attr_names_of(array, names, &n); /* not an object: no names */
  gen_attr_names_of(NULL, names, &n);
  EXPECT_EQ_INT(3, n);
  /* Appended up to GEN_ATTR_EVENT_NAMES in all. */
  json_object *many = json_object_new_object();
  char key[16];
  for (int i = 0; i < GEN_ATTR_EVENT_NAMES; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    json_object_object_add(many, key, json_object_new_int(i));
  }
  gen_attr_names_of(many, names, &n);
  EXPECT_EQ_INT(GEN_ATTR_EVENT_NAMES, n);
  EXPECT_EQ_STR("k0", names[3]);
  json_object_put(many);
  json_object_put(array);
  json_object_put(doc);
  return 0;
}

#define M1 "\"SalesMetric_Menu(2026-05-14T10:00:00Z)\":\"3\""
#define M2 "\"SalesMetric_Lang(2026-05-14T10:00:04Z)\":\"1\""

static uint64_t menu_total;

static void counted(void *ud, const char *flow, const char *metric,
                    uint64_t total) {
  (void)ud, (void)flow;
  if (strcmp(metric, "Menu") == 0)
    menu_total = total;
}

static bool conversation(gen_attr_ledger_t *l, const char *text, cdtime_t now) {
  json_object *body = json_tokener_parse(text);
  bool taken = gen_attr_observe_conversation(l, body, now, counted, NULL);
  json_object_put(body);
  return taken;
}

/* Every participant's attributes count; the conversation is over once the
 * customer has an endTime (then forgotten after FinishedConversationTimeout
 * instead of ConversationTimeout). */
DEF_TEST(conversation_events) {
  gen_attr_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_attr_keys, &c);
  CHECK_ZERO(check(&c, NULL));
  gen_attr_ledger_t *l = gen_attr_config_ledger(&c, NULL, &test_who);
  CHECK_NOT_NULL(l);
  const cdtime_t t0 = TIME_T_TO_CDTIME_T(1778752800);
  OK(!conversation(l, "{\"participants\":[]}", t0));
  OK(!conversation(l, "{\"id\":\"c-1\"}", t0));
  OK(conversation(l,
                  "{\"id\":\"c-1\",\"participants\":[{\"purpose\":"
                  "\"customer\",\"attributes\":{" M1 "}},{\"purpose\":"
                  "\"agent\",\"endTime\":\"2026-05-14T10:09:00Z\","
                  "\"attributes\":{" M2 "}}]}",
                  t0));
  EXPECT_EQ_UINT64(1, menu_total);
  EXPECT_EQ_INT(2, gen_attr_series(l));
  OK(conversation(l,
                  "{\"id\":\"c-2\",\"participants\":[{\"purpose\":"
                  "\"customer\",\"endTime\":\"2026-05-14T10:09:00Z\","
                  "\"attributes\":{" M1 "}}]}",
                  t0));
  EXPECT_EQ_UINT64(2, menu_total);
  /* An agent's endTime ends nothing: only c-2 is over. */
  gen_attr_expire(l, t0 + c.finished_ttl + 1);
  EXPECT_EQ_INT(1, gen_attr_conversations(l));
  gen_attr_ledger_free(l);
  gen_attr_config_release(&c);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(keys_and_defaults);
  RUN_TEST(checks_and_format);
  RUN_TEST(ledger_and_self_metrics);
  RUN_TEST(names_of_attributes);
  RUN_TEST(conversation_events);
  END_TEST;
}
