/* Unit tests of genesys_realtime without network: applying observation
 * messages and baseline answers, what is dispatched, the growing longest
 * wait, and the entity cache and channel partition it stands on. */
#include "plugin_mock.h"

#include "../../plugins/genesys_realtime.c"

#include "collectd/core/testing.h"

static gr_instance_t *make_instance(size_t n_queues) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  org->host = strdup("acme");
  org->api_base_url = strdup("https://api.example.test");
  org->login_base_url = strdup("https://login.example.test");
  org->client_id = strdup("id");
  org->client_secret = strdup("secret-for-tests");
  gen_client_t *client = gen_client_create(org);
  gr_instance_t *inst = gr_instance_new(client, gr_config_new());
  inst->state = calloc(n_queues, sizeof(*inst->state));
  for (size_t i = 0; i < n_queues; i++) {
    char id[64], name[64];
    snprintf(id, sizeof(id), "q-%03zu", i);
    snprintf(name, sizeof(name), "Sales EN %03zu", i);
    gen_entity_add(&inst->queues, id, name, "div-1");
  }
  inst->listed_at = cdtime();
  return inst;
}

static gen_notify_verdict_t feed(gr_instance_t *inst, const char *json) {
  return gr_on_message(inst, json, strlen(json));
}

#define MEDIA_EVENT(queue, media, waiting, longest)                            \
  "{\"topicName\":\"v2.analytics.queues." queue ".observations\","             \
  "\"eventBody\":{\"group\":{\"queueId\":\"" queue "\",\"mediaType\":\"" media \
  "\"},\"data\":[{\"interval\":\"x\",\"metrics\":["                            \
  "{\"metric\":\"oWaiting\",\"stats\":{\"count\":" #waiting "}},"              \
  "{\"metric\":\"oInteracting\",\"stats\":{\"count\":2}},"                     \
  "{\"metric\":\"oAlerting\",\"stats\":{\"count\":1}},"                        \
  "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":" #waiting             \
  ",\"calculatedMetricValue\":" #longest "}}]}]}}"

DEF_TEST(media_event_dispatches_changes_at_once) {
  gr_instance_t *inst = make_instance(3);
  mock_values_reset();
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                feed(inst, MEDIA_EVENT("q-001", "voice", 3, 42000)));
  mock_value_t *v = mock_find("Sales_EN_001", "waiting", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(3, v->value.gauge);
  EXPECT_EQ_STR("acme", v->host);
  EXPECT_EQ_STR("genesys_realtime", v->plugin);
  v = mock_find("Sales_EN_001", "longest_waiting", "voice");
  CHECK_NOT_NULL(v);
  OK(v->value.gauge >= 42.0 && v->value.gauge < 42.5);
  EXPECT_EQ_INT(5, mock_values_num);

  /* The same message again changes nothing: nothing is dispatched but the
   * longest wait (its observed value is unchanged too, so not even that). */
  mock_values_reset();
  feed(inst, MEDIA_EVENT("q-001", "voice", 3, 42000));
  EXPECT_EQ_INT(0, mock_values_num);
  /* One more waiting: two values change (waiting, longest). */
  feed(inst, MEDIA_EVENT("q-001", "voice", 4, 43000));
  EXPECT_EQ_INT(2, mock_values_num);
  /* Unknown queues and media types are skipped without error. */
  mock_values_reset();
  EXPECT_EQ_INT(GEN_NOTIFY_OK, feed(inst, MEDIA_EVENT("q-999", "voice", 1, 1)));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                feed(inst, MEDIA_EVENT("q-001", "hologram", 1, 1)));
  EXPECT_EQ_INT(0, mock_values_num);
  gr_instance_free(inst);
  return 0;
}

DEF_TEST(user_group_replaces_statuses) {
  gr_instance_t *inst = make_instance(1);
  const char *full =
      "{\"topicName\":\"v2.analytics.queues.q-000.observations\","
      "\"eventBody\":{\"group\":{\"queueId\":\"q-000\"},\"data\":[{"
      "\"metrics\":[{\"metric\":\"oMemberUsers\",\"stats\":{\"count\":9}},"
      "{\"metric\":\"oActiveUsers\",\"stats\":{\"count\":7}},"
      "{\"metric\":\"oOnQueueUsers\",\"stats\":{\"count\":5}},"
      "{\"metric\":\"oOffQueueUsers\",\"stats\":{\"count\":2}},"
      "{\"metric\":\"oUserRoutingStatuses\",\"qualifier\":\"IDLE\","
      "\"stats\":{\"count\":3}},"
      "{\"metric\":\"oUserRoutingStatuses\",\"qualifier\":\"INTERACTING\","
      "\"stats\":{\"count\":2}},"
      "{\"metric\":\"oUserPresences\",\"qualifier\":\"ON_QUEUE\","
      "\"stats\":{\"count\":5}},"
      "{\"metric\":\"oUserPresences\",\"qualifier\":\"3c9a-org-presence\","
      "\"stats\":{\"count\":1}}]}]}}";
  feed(inst, full);
  EXPECT_EQ_DOUBLE(9,
                   mock_find("Sales_EN_000", "agents", "member")->value.gauge);
  EXPECT_EQ_DOUBLE(
      3, mock_find("Sales_EN_000", "agents_routing", "idle")->value.gauge);
  EXPECT_EQ_DOUBLE(
      5, mock_find("Sales_EN_000", "agents_presence", "on_queue")->value.gauge);
  /* A presence that is no system presence is counted as "other". */
  EXPECT_EQ_DOUBLE(
      1, mock_find("Sales_EN_000", "agents_presence", "other")->value.gauge);
  /* The next snapshot has nobody IDLE: the API leaves IDLE out, so it is 0. */
  const char *later =
      "{\"topicName\":\"v2.analytics.queues.q-000.observations\","
      "\"eventBody\":{\"group\":{\"queueId\":\"q-000\"},\"data\":[{"
      "\"metrics\":[{\"metric\":\"oMemberUsers\",\"stats\":{\"count\":9}},"
      "{\"metric\":\"oUserRoutingStatuses\",\"qualifier\":\"INTERACTING\","
      "\"stats\":{\"count\":5}}]}]}}";
  mock_values_reset();
  feed(inst, later);
  EXPECT_EQ_DOUBLE(
      0, mock_find("Sales_EN_000", "agents_routing", "idle")->value.gauge);
  EXPECT_EQ_DOUBLE(
      5,
      mock_find("Sales_EN_000", "agents_routing", "interacting")->value.gauge);
  OK(mock_find("Sales_EN_000", "agents", "member") == NULL); /* unchanged */
  gr_instance_free(inst);
  return 0;
}

DEF_TEST(control_and_bad_messages) {
  gr_instance_t *inst = make_instance(1);
  mock_log_reset();
  EXPECT_EQ_INT(GEN_NOTIFY_HEARTBEAT,
                feed(inst, "{\"topicName\":\"channel.metadata\","
                           "\"eventBody\":{\"message\":\"WebSocket "
                           "Heartbeat\"}}"));
  EXPECT_EQ_INT(GEN_NOTIFY_RECONNECT,
                feed(inst, "{\"topicName\":\"v2.system.socket_closing\","
                           "\"eventBody\":{}}"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                feed(inst, "{\"topicName\":\"v2.users.u1.activity\","
                           "\"eventBody\":{}}"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED, feed(inst, "{\"topicName\":"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                feed(inst, "{\"topicName\":\"v2.analytics.queues.q-000."
                           "observations\",\"eventBody\":{\"group\":{"
                           "\"queueId\":\"q-000\",\"mediaType\":\"voice\"},"
                           "\"data\":[{\"metrics\":[{\"metric\":"
                           "\"oWaiting\",\"stats\":{\"count\":-3}}]}]}}"));
  OK(mock_log_contains("genesys_realtime plugin: Org \"acme\": malformed "
                       "notification skipped"));
  /* Rate-limited: two malformed messages, one log line. */
  size_t lines = 0;
  for (size_t i = 0; i < mock_log_num; i++)
    lines += strstr(mock_log_lines[i], "malformed") != NULL;
  EXPECT_EQ_INT(1, lines);
  gr_instance_free(inst);
  return 0;
}

DEF_TEST(longest_wait_grows_between_events) {
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1000);
  EXPECT_EQ_DOUBLE(12.0, grown(10.0, 1, t0, t0 + TIME_T_TO_CDTIME_T(2)));
  EXPECT_EQ_DOUBLE(0.0, grown(10.0, 0, t0, t0 + TIME_T_TO_CDTIME_T(2)));
  /* Answered the moment it was observed: 0, then growing. */
  EXPECT_EQ_DOUBLE(3.0, grown(0.0, 2, t0, t0 + TIME_T_TO_CDTIME_T(3)));
  /* A negative duration from the API is taken as 0. */
  EXPECT_EQ_DOUBLE(1.0, grown(-5.0, 1, t0, t0 + TIME_T_TO_CDTIME_T(1)));
  return 0;
}

DEF_TEST(instance_from_id_and_media_filter) {
  gr_instance_t *inst = make_instance(2);
  inst->client->org->instance_from = GEN_INSTANCE_FROM_ID;
  inst->config.media_filter = calloc(2, sizeof(char *));
  inst->config.media_filter[0] = strdup("chat");
  inst->config.n_media_filter = 1;
  mock_values_reset();
  feed(inst, MEDIA_EVENT("q-001", "voice", 3, 1000));
  EXPECT_EQ_INT(0, mock_values_num); /* voice is not wanted */
  feed(inst, MEDIA_EVENT("q-001", "chat", 3, 1000));
  CHECK_NOT_NULL(mock_find("q-001", "waiting", "chat"));
  gr_instance_free(inst);
  return 0;
}

DEF_TEST(entity_cache) {
  gen_entity_set_t set = {0};
  char id[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof(id), "queue-%d", i);
    OK1(gen_entity_add(&set, id, "n", NULL) == i, "added in order");
  }
  EXPECT_EQ_INT(5000, set.count);
  OK(gen_entity_add(&set, "queue-17", "dup", NULL) == 17);
  EXPECT_EQ_INT(5000, set.count);
  OK(gen_entity_find(&set, "queue-4999") == 4999);
  OK(gen_entity_find(&set, "queue-5000") == -1);
  gen_entity_set_free(&set);

  gen_org_t *org = gen_org_create("test", "acme");
  char *names[] = {"Sales*"}, *ids[] = {"q-7"}, *divisions[] = {"div-1"};
  gen_entity_filter_t filter = {
      .names = names, .n_names = 1, .ids = ids, .n_ids = 1};
  OK(gen_entity_selected(&filter, org, "q-1", "sales EN", NULL));
  OK(gen_entity_selected(&filter, org, "q-7", "Support", NULL));
  OK(!gen_entity_selected(&filter, org, "q-8", "Support", NULL));
  filter.divisions = divisions;
  filter.n_divisions = 1;
  OK(!gen_entity_selected(&filter, org, "q-1", "Sales EN", "div-2"));
  OK(gen_entity_selected(&filter, org, "q-1", "Sales EN", "div-1"));
  OK(gen_entity_selected(NULL, org, "q-1", "x", NULL));
  gen_org_free(org);
  return 0;
}

DEF_TEST(channel_partition) {
  EXPECT_EQ_INT(0, gen_notify_channels_needed(0, 1000));
  EXPECT_EQ_INT(1, gen_notify_channels_needed(1000, 1000));
  EXPECT_EQ_INT(2, gen_notify_channels_needed(1001, 1000));
  EXPECT_EQ_INT(13, gen_notify_channels_needed(12140, 1000));
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(media_event_dispatches_changes_at_once);
  RUN_TEST(user_group_replaces_statuses);
  RUN_TEST(control_and_bad_messages);
  RUN_TEST(longest_wait_grows_between_events);
  RUN_TEST(instance_from_id_and_media_filter);
  RUN_TEST(entity_cache);
  RUN_TEST(channel_partition);
  mock_values_reset();
  mock_log_reset();
  END_TEST;
}
