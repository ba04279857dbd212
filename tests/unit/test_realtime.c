/* SPDX-License-Identifier: MIT */
/* Unit tests of genesys_realtime without network: applying observation
 * messages and baseline answers, what is dispatched, the growing longest
 * wait, and the entity cache and channel partition it stands on. */
#include "plugin_mock.h"

#include "../../plugins/genesys_realtime.c"

#include "collectd/core/testing.h"
#include "plugin_check.h"
#include "waits_bounds.h"

/* An instance with n_queues queues listed; events turns on
 * ConversationEvents and AgentActivity. */
static char state_dir[] = "/tmp/gen-rt-XXXXXX";
static char state_file[sizeof(state_dir) + 32];

/* keep_state: the conversation counters of the instance before carry on
 * (otherwise every instance starts without a state file). */
static cdtime_t repeat_every; /* RepeatEvery of the next instance */

static gr_instance_t *make_instance_kept(size_t n_queues, bool events,
                                         bool keep_state) {
  if (!keep_state)
    unlink(state_file);
  gr_config_t *config = gen_plugin_config_new(&gr_plugin);
  config->state_dir = strdup(state_dir);
  config->repeat_every = repeat_every;
  config->conversation_events = events;
  config->agent_activity = events;
  gen_client_t *client = gen_client_create(mock_org(PLUGIN_NAME));
  gr_instance_t *inst = gen_plugin_instance_new(&gr_plugin, client, config);
  inst->live.state = calloc(n_queues, sizeof(*inst->live.state));
  inst->live.changed = calloc(n_queues, sizeof(*inst->live.changed));
  for (size_t i = 0; i < n_queues; i++) {
    char id[64], name[64];
    snprintf(id, sizeof(id), "q-%03zu", i);
    snprintf(name, sizeof(name), "Sales EN %03zu", i);
    gen_entity_add(&inst->queues, id, name, "div-1");
  }
  inst->listed_at = cdtime();
  /* The first read comes before any channel thread starts (it starts
   * them), as in collectd: it takes the interval our threads dispatch with. */
  mock_values_reset();
  gr_read(&(user_data_t){.data = inst});
  return inst;
}

static gr_instance_t *make_instance_with(size_t n_queues, bool events) {
  return make_instance_kept(n_queues, events, false);
}

/* Longest values are kept as a moment and read as a difference of cdtime
 * values: equal to well under a microsecond. */
#define EXPECT_NEAR(want, got) OK(fabs((double)(got) - (double)(want)) < 1e-6)

static gr_instance_t *make_instance(size_t n_queues) {
  return make_instance_with(n_queues, false);
}

/* A message alone: what it changed waits for the tick. */
static gen_notify_verdict_t message(gr_instance_t *inst, const char *json) {
  /* As the hub delivers it: with the topic it read, never a system topic. */
  char topic[GEN_NOTIFY_TOPIC_SIZE];
  gen_notify_verdict_t verdict;
  OK(gen_notify_topic(json, strlen(json), topic, sizeof(topic)));
  OK(!gen_notify_system_topic(topic, &verdict));
  return gr_on_message(inst, topic, json, strlen(json));
}

/* A message, then the channel's tick that follows it. */
static gen_notify_verdict_t feed(gr_instance_t *inst, const char *json) {
  gen_notify_verdict_t verdict = message(inst, json);
  gr_on_tick(inst);
  return verdict;
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

/* The mock clock at 2023-11-14T22:13:20Z: epoch-form longest values below
 * are this minus some seconds. */
#define NOW_S 1700000000
#define NOW_MS "1700000000000"

DEF_TEST(media_event_dispatches_changes_at_once) {
  mock_time = TIME_T_TO_CDTIME_T(NOW_S);
  gr_instance_t *inst = make_instance(3);
  mock_values_reset();
  /* epoch form: the oldest began 42 s ago */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                feed(inst, MEDIA_EVENT("q-001", "voice", 3, 1699999958000)));
  mock_value_t *v = mock_find("Sales_EN_001", "waiting", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(3, v->value.gauge);
  EXPECT_EQ_STR("acme", v->host);
  EXPECT_EQ_STR("genesys_realtime", v->plugin);
  /* an explicit interval, never 0 (collectd cannot find one on our threads) */
  OK(v->interval > 0);
  v = mock_find("Sales_EN_001", "longest_waiting", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_NEAR(42.0, v->value.gauge);
  EXPECT_EQ_INT(5, mock_values_num);

  /* The same message again changes nothing, so nothing is dispatched. */
  mock_values_reset();
  feed(inst, MEDIA_EVENT("q-001", "voice", 3, 1699999958000));
  EXPECT_EQ_INT(0, mock_values_num);
  /* One more waiting, the oldest unchanged: only waiting. */
  feed(inst, MEDIA_EVENT("q-001", "voice", 4, 1699999958000));
  EXPECT_EQ_INT(1, mock_values_num);
  /* The oldest answered: the next one began 30 s ago. */
  feed(inst, MEDIA_EVENT("q-001", "voice", 3, 1699999970000));
  EXPECT_EQ_INT(3, mock_values_num);
  EXPECT_NEAR(
      30.0, mock_find("Sales_EN_001", "longest_waiting", "voice")->value.gauge);
  /* Unknown queues and media types are skipped without error. */
  mock_values_reset();
  EXPECT_EQ_INT(GEN_NOTIFY_OK, feed(inst, MEDIA_EVENT("q-999", "voice", 1, 1)));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                feed(inst, MEDIA_EVENT("q-001", "hologram", 1, 1)));
  EXPECT_EQ_INT(0, mock_values_num);
  mock_time = 0;
  gr_instance_free(inst);
  return 0;
}

static size_t values_of(const char *queue, const char *type) {
  size_t n = 0;
  for (size_t i = 0; i < mock_values_num; i++)
    n += strcmp(mock_values[i].plugin_instance, queue) == 0 &&
         strcmp(mock_values[i].type, type) == 0;
  return n;
}

/* Changes leave at the channel's tick, each series once at the tick's
 * time: a burst of changes to one series is one value, its newest; a
 * series not changed sends nothing until the periodic re-dispatch; times
 * never go backwards, also when the clock does; a lost channel (its socket
 * closed) sends what changed at once. */
DEF_TEST(changes_leave_at_the_tick) {
  mock_time = TIME_T_TO_CDTIME_T(NOW_S);
  gr_instance_t *inst = make_instance(2);
  feed(inst, MEDIA_EVENT("q-000", "voice", 1, 1699999990000));
  feed(inst, MEDIA_EVENT("q-001", "voice", 1, 1699999990000));
  mock_values_reset();
  mock_time += MS_TO_CDTIME_T(10);
  message(inst, MEDIA_EVENT("q-000", "voice", 2, 1699999990000));
  message(inst, MEDIA_EVENT("q-000", "voice", 3, 1699999990000));
  message(inst, MEDIA_EVENT("q-000", "voice", 4, 1699999990000));
  EXPECT_EQ_INT(0, mock_values_num); /* nothing before the tick */
  gr_on_tick(inst);
  EXPECT_EQ_INT(1, mock_values_num);
  mock_value_t *v = mock_find("Sales_EN_000", "waiting", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(4, v->value.gauge);
  cdtime_t first = v->sent_time;
  OK(first >= mock_time);
  gr_on_tick(inst); /* nothing changed since */
  EXPECT_EQ_INT(1, mock_values_num);

  /* The clock set back: the next value is still later. */
  mock_time -= TIME_T_TO_CDTIME_T(1);
  message(inst, MEDIA_EVENT("q-000", "voice", 5, 1699999990000));
  gr_on_tick(inst);
  EXPECT_EQ_INT(2, mock_values_num);
  v = mock_find("Sales_EN_000", "waiting", "voice");
  EXPECT_EQ_DOUBLE(5, v->value.gauge);
  OK(v->sent_time > first);

  /* The channel lost: what changed leaves without a tick. */
  message(inst, MEDIA_EVENT("q-000", "voice", 6, 1699999990000));
  gr_on_lost(inst, NULL, 0);
  EXPECT_EQ_INT(3, mock_values_num);
  EXPECT_EQ_DOUBLE(6,
                   mock_find("Sales_EN_000", "waiting", "voice")->value.gauge);
  EXPECT_EQ_INT(0, values_of("Sales_EN_001", "waiting"));

  /* The periodic re-dispatch sends every series, each once. */
  mock_time += TIME_T_TO_CDTIME_T(2);
  gr_read(&(user_data_t){.data = inst});
  EXPECT_EQ_INT(1, values_of("Sales_EN_001", "waiting"));
  EXPECT_EQ_INT(4, values_of("Sales_EN_000", "waiting"));
  mock_time = 0;
  gr_instance_free(inst);
  return 0;
}

/* RepeatEvery 30 with Interval 10: a read re-dispatches the unchanged
 * series only once the cycle has run (at the read nearest its end), each
 * carrying 30 s as its interval so that collectd's cache keeps it; a change
 * still leaves at the tick, with the same interval. */
DEF_TEST(repeat_every_spaces_the_redispatch) {
  mock_time = TIME_T_TO_CDTIME_T(NOW_S);
  repeat_every = TIME_T_TO_CDTIME_T(30);
  gr_instance_t *inst = make_instance(2);
  repeat_every = 0;
  feed(inst, MEDIA_EVENT("q-001", "voice", 1, 1699999990000));
  mock_values_reset();
  for (int k = 1; k <= 2; k++) { /* 10 and 20 s: not yet */
    mock_time += TIME_T_TO_CDTIME_T(10);
    gr_read(&(user_data_t){.data = inst});
  }
  EXPECT_EQ_INT(0, values_of("Sales_EN_001", "waiting"));
  mock_time += TIME_T_TO_CDTIME_T(9); /* 29 s: the read nearest 30 */
  gr_read(&(user_data_t){.data = inst});
  EXPECT_EQ_INT(1, values_of("Sales_EN_001", "waiting"));
  mock_value_t *v = mock_find("Sales_EN_001", "waiting", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(TIME_T_TO_CDTIME_T(30), v->sent_interval);
  message(inst, MEDIA_EVENT("q-000", "voice", 3, 1699999990000));
  gr_on_tick(inst);
  v = mock_find("Sales_EN_000", "waiting", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(3, v->value.gauge);
  EXPECT_EQ_INT(TIME_T_TO_CDTIME_T(30), v->sent_interval);
  mock_time = 0;
  gr_instance_free(inst);
  return 0;
}

/* Every dispatch of a series has a later time than the one before, even
 * when the clock does not move between them (collectd drops the second of
 * two values with one time as "too old"). */
DEF_TEST(times_strictly_increase) {
  mock_time = TIME_T_TO_CDTIME_T(NOW_S);
  gr_instance_t *inst = make_instance(1);
  mock_values_reset();
  feed(inst, MEDIA_EVENT("q-000", "voice", 1, 1699999990000));
  cdtime_t first = mock_find("Sales_EN_000", "waiting", "voice")->time;
  feed(inst, MEDIA_EVENT("q-000", "voice", 2, 1699999990000));
  cdtime_t second = mock_find("Sales_EN_000", "waiting", "voice")->time;
  OK(second > first);
  gr_read(&(user_data_t){.data = inst}); /* the periodic re-dispatch */
  cdtime_t third = mock_find("Sales_EN_000", "waiting", "voice")->time;
  OK(third > second);
  mock_time = 0;
  gr_instance_free(inst);
  return 0;
}

/* The periodic re-dispatch rolls over the interval: each channel tick
 * re-dispatches the queues the cycle has reached, the read the rest, and
 * each queue leaves once per cycle. */
static size_t waiting_of(const char *queue) {
  size_t n = 0;
  for (size_t i = 0; i < mock_values_num; i++)
    n += strcmp(mock_values[i].plugin_instance, queue) == 0 &&
         strcmp(mock_values[i].type, "waiting") == 0;
  return n;
}

DEF_TEST(redispatch_rolls_over_the_interval) {
  mock_time = TIME_T_TO_CDTIME_T(NOW_S);
  gr_instance_t *inst = make_instance(8);
  char queue[8][32];
  for (size_t i = 0; i < 8; i++) {
    char msg[1024];
    snprintf(queue[i], sizeof(queue[i]), "Sales_EN_%03zu", i);
    snprintf(msg, sizeof(msg),
             "{\"topicName\":\"v2.analytics.queues.q-%03zu.observations\","
             "\"eventBody\":{\"group\":{\"queueId\":\"q-%03zu\","
             "\"mediaType\":\"voice\"},\"data\":[{\"metrics\":[{"
             "\"metric\":\"oWaiting\",\"stats\":{\"count\":%zu}}]}]}}",
             i, i, i + 1);
    feed(inst, msg);
  }
  gr_read(&(user_data_t){.data = inst}); /* a cycle begins */
  cdtime_t interval = inst->interval;
  OK(interval > 0);
  mock_values_reset();
  mock_time += interval / 2;
  gr_on_tick(inst);
  gr_on_tick(inst); /* the same moment: nothing more */
  for (size_t i = 0; i < 8; i++)
    EXPECT_EQ_INT(i < 4 ? 1 : 0, waiting_of(queue[i]));
  mock_time += interval / 4;
  gr_on_tick(inst);
  for (size_t i = 0; i < 8; i++)
    EXPECT_EQ_INT(i < 6 ? 1 : 0, waiting_of(queue[i]));
  EXPECT_EQ_DOUBLE(5, mock_find(queue[4], "waiting", "voice")->value.gauge);
  gr_read(&(user_data_t){.data = inst}); /* the rest, and a new cycle */
  for (size_t i = 0; i < 8; i++)
    EXPECT_EQ_INT(1, waiting_of(queue[i]));
  mock_values_reset();
  mock_time += 2 * interval; /* ticks late: the whole cycle, once */
  gr_on_tick(inst);
  gr_on_tick(inst);
  for (size_t i = 0; i < 8; i++)
    EXPECT_EQ_INT(1, waiting_of(queue[i]));
  mock_values_reset();
  gr_read(&(user_data_t){.data = inst}); /* nothing left of that cycle */
  for (size_t i = 0; i < 8; i++)
    EXPECT_EQ_INT(0, waiting_of(queue[i]));
  mock_time = 0;
  gr_instance_free(inst);
  return 0;
}

#define LONGEST_EVENT(queue, metric, count, value)                             \
  "{\"topicName\":\"v2.analytics.queues." queue ".observations\","             \
  "\"eventBody\":{\"group\":{\"queueId\":\"" queue "\",\"mediaType\":"         \
  "\"voice\"},\"data\":[{\"metrics\":[{\"metric\":\"" metric "\",\"stats\":{"  \
  "\"count\":" #count ",\"calculatedMetricValue\":" value "}}]}]}}"

DEF_TEST(longest_in_every_form) {
  mock_time = TIME_T_TO_CDTIME_T(NOW_S);
  gr_instance_t *inst = make_instance(1);
  /* A duration in ms (the form of older readings) ... */
  feed(inst, LONGEST_EVENT("q-000", "oLongestWaiting", 1, "42000"));
  EXPECT_NEAR(
      42.0, mock_find("Sales_EN_000", "longest_waiting", "voice")->value.gauge);
  /* ... or the epoch ms of the moment the oldest began (live orgs). */
  feed(inst, LONGEST_EVENT("q-000", "oLongestInteracting", 2, "1699999880000"));
  EXPECT_NEAR(
      120.0,
      mock_find("Sales_EN_000", "longest_interacting", "voice")->value.gauge);
  /* Both grow with the clock between events. */
  mock_time = TIME_T_TO_CDTIME_T(NOW_S + 10);
  mock_values_reset();
  gr_read(&(user_data_t){.data = inst});
  EXPECT_NEAR(
      52.0, mock_find("Sales_EN_000", "longest_waiting", "voice")->value.gauge);
  EXPECT_NEAR(
      130.0,
      mock_find("Sales_EN_000", "longest_interacting", "voice")->value.gauge);
  /* Nothing waiting: 0, and it does not grow. */
  feed(inst, LONGEST_EVENT("q-000", "oLongestWaiting", 0, "0"));
  mock_time = TIME_T_TO_CDTIME_T(NOW_S + 20);
  gr_read(&(user_data_t){.data = inst});
  EXPECT_NEAR(
      0.0, mock_find("Sales_EN_000", "longest_waiting", "voice")->value.gauge);

  /* A moment in the future (beyond clock skew) is never a negative wait: 0,
   * a warning and a malformed_documents count. */
  uint64_t malformed = atomic_load(&inst->client->stats.malformed);
  mock_log_reset();
  feed(inst, LONGEST_EVENT("q-000", "oLongestWaiting", 1, "1700000080000"));
  EXPECT_NEAR(
      0.0, mock_find("Sales_EN_000", "longest_waiting", "voice")->value.gauge);
  EXPECT_EQ_INT(malformed + 1, atomic_load(&inst->client->stats.malformed));
  OK(mock_log_contains("in the future"));
  /* A few seconds of skew are taken as "just now", silently. */
  feed(inst, LONGEST_EVENT("q-000", "oLongestWaiting", 1, "1700000021000"));
  EXPECT_EQ_INT(malformed + 1, atomic_load(&inst->client->stats.malformed));
  /* Over a day: dispatched (an email can wait that long) but reported. */
  feed(inst, LONGEST_EVENT("q-000", "oLongestWaiting", 1, "90000000"));
  EXPECT_NEAR(
      90000.0,
      mock_find("Sales_EN_000", "longest_waiting", "voice")->value.gauge);
  EXPECT_EQ_INT(malformed + 2, atomic_load(&inst->client->stats.malformed));
  mock_time = 0;
  gr_instance_free(inst);
  return 0;
}

/* The topic also carries interval aggregates: a message with none of the
 * observation metrics leaves the gauges alone, and one with some changes
 * only those. */
DEF_TEST(observation_messages_merge) {
  mock_time = TIME_T_TO_CDTIME_T(NOW_S);
  gr_instance_t *inst = make_instance(1);
  feed(inst, MEDIA_EVENT("q-000", "voice", 3, 1699999958000));
  mock_values_reset();
  const char *aggregates =
      "{\"topicName\":\"v2.analytics.queues.q-000.observations\","
      "\"eventBody\":{\"group\":{\"queueId\":\"q-000\",\"mediaType\":"
      "\"voice\"},\"data\":[{\"interval\":\"2023-11-14T22:00:00.000Z/"
      "2023-11-14T22:30:00.000Z\",\"metrics\":["
      "{\"metric\":\"nOffered\",\"stats\":{\"count\":17}},"
      "{\"metric\":\"tAnswered\",\"stats\":{\"count\":9,\"sum\":81000,"
      "\"max\":20000,\"min\":1000}}]}]}}";
  EXPECT_EQ_INT(GEN_NOTIFY_OK, feed(inst, aggregates));
  EXPECT_EQ_INT(0, mock_values_num);
  gr_read(&(user_data_t){.data = inst});
  EXPECT_EQ_DOUBLE(3,
                   mock_find("Sales_EN_000", "waiting", "voice")->value.gauge);
  EXPECT_EQ_DOUBLE(
      2, mock_find("Sales_EN_000", "interacting", "voice")->value.gauge);
  EXPECT_NEAR(
      42, mock_find("Sales_EN_000", "longest_waiting", "voice")->value.gauge);
  /* Only oAlerting: only alerting changes. */
  mock_values_reset();
  feed(inst, "{\"topicName\":\"v2.analytics.queues.q-000.observations\","
             "\"eventBody\":{\"group\":{\"queueId\":\"q-000\",\"mediaType\":"
             "\"voice\"},\"data\":[{\"metrics\":[{\"metric\":\"oAlerting\","
             "\"stats\":{\"count\":0}}]}]}}");
  EXPECT_EQ_INT(1, mock_values_num);
  EXPECT_EQ_DOUBLE(0,
                   mock_find("Sales_EN_000", "alerting", "voice")->value.gauge);
  /* oWaiting 0 without a longest entry: nobody waits, longest is 0. */
  feed(inst, "{\"topicName\":\"v2.analytics.queues.q-000.observations\","
             "\"eventBody\":{\"group\":{\"queueId\":\"q-000\",\"mediaType\":"
             "\"voice\"},\"data\":[{\"metrics\":[{\"metric\":\"oWaiting\","
             "\"stats\":{\"count\":0}}]}]}}");
  EXPECT_NEAR(
      0, mock_find("Sales_EN_000", "longest_waiting", "voice")->value.gauge);
  mock_time = 0;
  gr_instance_free(inst);
  return 0;
}

#define USER_GROUP(metrics)                                                    \
  "{\"topicName\":\"v2.analytics.queues.q-000.observations\","                 \
  "\"eventBody\":{\"group\":{\"queueId\":\"q-000\"},\"data\":[{"               \
  "\"metrics\":[" metrics "]}]}}"
#define ONQ(qualifier, n)                                                      \
  "{\"metric\":\"oOnQueueUsers\",\"qualifier\":\"" qualifier "\","             \
  "\"stats\":{\"count\":" #n "}}"

/* oOnQueueUsers comes one entry per routing status: the sum; an unqualified
 * total, when there is one, is the value, never added to the entries. */
DEF_TEST(on_queue_per_routing_status) {
  gr_instance_t *inst = make_instance(1);
  feed(inst, USER_GROUP(ONQ("IDLE", 6) "," ONQ("INTERACTING", 2)));
  EXPECT_EQ_DOUBLE(
      8, mock_find("Sales_EN_000", "agents", "on_queue")->value.gauge);
  feed(inst, USER_GROUP(ONQ("IDLE", 6) "," ONQ(
                 "INTERACTING", 2) ","
                                   "{\"metric\":\"oOnQueueUsers\","
                                   "\"stats\":{\"count\":8}}"));
  EXPECT_EQ_DOUBLE(
      8, mock_find("Sales_EN_000", "agents", "on_queue")->value.gauge);
  feed(inst, USER_GROUP("{\"metric\":\"oOnQueueUsers\",\"stats\":{\"count\":"
                        "5}}," ONQ("IDLE", 4)));
  EXPECT_EQ_DOUBLE(
      5, mock_find("Sales_EN_000", "agents", "on_queue")->value.gauge);
  gr_instance_free(inst);
  return 0;
}

#define PRESENCE(qualifier, n)                                                 \
  "{\"metric\":\"oUserPresences\",\"qualifier\":\"" qualifier "\","            \
  "\"stats\":{\"count\":" #n "}}"
#define MEMBERS(n) "{\"metric\":\"oMemberUsers\",\"stats\":{\"count\":" #n "}}"

/* oUserPresences qualifiers are org presence ids: mapped through the query
 * answer's systemToOrganizationMappings and the presence definitions;
 * system names in any spelling still count; an unknown id is "other",
 * logged once. */
DEF_TEST(presence_ids_and_spellings) {
  gr_instance_t *inst = make_instance(1);
  /* As gen_qs_baseline takes the answer's mappings (test_obs reads them). */
  EXPECT_EQ_INT(0, gen_presence_map_add(&inst->presences, "p-onq", "ON_QUEUE"));
  EXPECT_EQ_INT(0, gen_presence_map_add(&inst->presences, "p-meal", "MEAL"));
  EXPECT_EQ_INT(0, gen_presence_map_add(&inst->presences, "p-lunch", "MEAL"));
  json_object *definition =
      json_tokener_parse("{\"id\":\"p-avail\",\"systemPresence\":\"Available\","
                         "\"languageLabels\":{\"en_US\":\"Available\"}}");
  EXPECT_EQ_INT(1,
                gen_presence_map_add_definition(&inst->presences, definition));
  json_object_put(definition);
  mock_log_reset();
  feed(
      inst,
      USER_GROUP(
          MEMBERS(12) "," PRESENCE("p-onq", 5) "," PRESENCE("p-meal", 1) "," PRESENCE(
              "p-lunch",
              2) "," PRESENCE("p-avail",
                              1) "," PRESENCE("On Queue",
                                              1) "," PRESENCE("p-what",
                                                              1) "," PRESENCE("p-"
                                                                              "wha"
                                                                              "t",
                                                                              1)));
  EXPECT_EQ_DOUBLE(
      6, mock_find("Sales_EN_000", "agents_presence", "on_queue")->value.gauge);
  EXPECT_EQ_DOUBLE(
      3, mock_find("Sales_EN_000", "agents_presence", "meal")->value.gauge);
  EXPECT_EQ_DOUBLE(
      1,
      mock_find("Sales_EN_000", "agents_presence", "available")->value.gauge);
  EXPECT_EQ_DOUBLE(
      2, mock_find("Sales_EN_000", "agents_presence", "other")->value.gauge);
  EXPECT_EQ_INT(1, mock_unknown_lines("presence", "p-what"));
  /* The names, as REST, analytics and the guides spell them. */
  EXPECT_EQ_INT(GEN_PRESENCE_ON_QUEUE, gen_presence_from_name("On Queue"));
  EXPECT_EQ_INT(GEN_PRESENCE_ON_QUEUE, gen_presence_from_name("ON_QUEUE"));
  EXPECT_EQ_INT(GEN_PRESENCE_ON_QUEUE, gen_presence_from_name("on-queue"));
  EXPECT_EQ_INT(GEN_PRESENCE_ON_QUEUE, gen_presence_from_name("OnQueue"));
  EXPECT_EQ_INT(GEN_ROUTING_OFF_QUEUE, gen_routing_from_name("OffQueue"));
  EXPECT_EQ_INT(-1, gen_presence_from_name("On"));
  EXPECT_EQ_INT(-1, gen_presence_from_name(""));
  EXPECT_EQ_INT(GEN_PRESENCE_AVAILABLE, gen_presence_from_name("AVAILABLE"));
  EXPECT_EQ_INT(-1, gen_presence_from_name("On Queue Now"));
  EXPECT_EQ_INT(-1, gen_presence_from_name("other"));
  EXPECT_EQ_INT(GEN_ROUTING_NOT_RESPONDING,
                gen_routing_from_name("Not Responding"));
  /* An id reported unknown and later defined maps from then on. */
  EXPECT_EQ_INT(1, gen_presence_map_size(&inst->presences) == 4);
  gen_presence_map_add(&inst->presences, "p-what", "Busy");
  EXPECT_EQ_INT(GEN_PRESENCE_BUSY,
                gen_presence_resolve(&inst->presences, "p-what", NULL));
  EXPECT_EQ_INT(5, gen_presence_map_size(&inst->presences));
  gr_instance_free(inst);
  return 0;
}

/* The system topics: the hub's (test_notify), never the plugin's; how they
 * are told apart. */
DEF_TEST(system_topics) {
  gr_instance_t *inst = make_instance(1);
  gen_notify_verdict_t verdict;
  OK(gen_notify_system_topic("v2.system.token_revokedX", &verdict));
  EXPECT_EQ_INT(GEN_NOTIFY_SYSTEM, verdict);
  OK(gen_notify_system_topic("V2.System.socket_closing.x", &verdict));
  EXPECT_EQ_INT(GEN_NOTIFY_SYSTEM, verdict);
  OK(!gen_notify_system_topic("v2.systemx.a", &verdict));
  OK(!gen_notify_system_topic("v2.users.u-1.activity", &verdict));
  static const struct {
    const char *json, *type;
    gen_notify_verdict_t verdict;
  } bodies[] = {
      {"{\"eventBody\":{\"systemTopicType\":\"subscription_changed\"}}",
       "subscription_changed", GEN_NOTIFY_RESUBSCRIBE},
      {"{\"eventBody\":{\"systemTopicType\":\"NO_LONGER_SUBSCRIBED\"}}",
       "NO_LONGER_SUBSCRIBED", GEN_NOTIFY_RESUBSCRIBE},
      {"{\"eventBody\":{\"systemTopicType\":\"token_revoked\"}}",
       "token_revoked", GEN_NOTIFY_REVOKED},
      {"{\"eventBody\":{\"systemTopicType\":\"maintenance\"}}", "maintenance",
       GEN_NOTIFY_SYSTEM},
      {"{\"eventBody\":{}}", "", GEN_NOTIFY_SYSTEM},
      {"not json", "", GEN_NOTIFY_SYSTEM},
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    char type[64];
    EXPECT_EQ_INT(bodies[i].verdict,
                  gen_notify_system_body(bodies[i].json, strlen(bodies[i].json),
                                         type, sizeof(type)));
    EXPECT_EQ_STR(bodies[i].type, type);
  }
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
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                feed(inst, "{\"topicName\":\"v2.users.u1.activity\","
                           "\"eventBody\":{}}"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                feed(inst, "{\"topicName\":\"v2.analytics.queues.q-000."
                           "observations\",\"eventBody\":{"));
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

DEF_TEST(instance_from_id_and_media_filter) {
  gr_instance_t *inst = make_instance(2);
  inst->client->org->instance_from = GEN_INSTANCE_FROM_ID;
  inst->config.media_mask = 1u << GEN_MEDIA_CHAT;
  inst->live.media_mask = inst->config.media_mask; /* as the init takes it */
  mock_values_reset();
  feed(inst, MEDIA_EVENT("q-001", "voice", 3, 1000));
  EXPECT_EQ_INT(0, mock_values_num); /* voice is not wanted */
  feed(inst, MEDIA_EVENT("q-001", "chat", 3, 1000));
  CHECK_NOT_NULL(mock_find("q-001", "waiting", "chat"));
  gr_instance_free(inst);
  return 0;
}

/* ---- conversation events and agent activity ---------------------------- */

static gr_instance_t *make_event_instance(size_t n_queues) {
  return make_instance_with(n_queues, true);
}

#define CONV_TOPIC "{\"topicName\":\"v2.routing.queues.q-001.conversations\","
#define CUSTOMER                                                               \
  "{\"id\":\"cust\",\"purpose\":\"customer\",\"calls\":[{\"state\":"           \
  "\"connected\",\"connectedTime\":\"2026-05-14T10:00:00Z\"}]}"
#define ACD_WAITING                                                            \
  "{\"id\":\"acd1\",\"purpose\":\"acd\",\"queueId\":\"q-001\","                \
  "\"connectedTime\":\"2026-05-14T10:00:05Z\",\"calls\":[{\"state\":"          \
  "\"connected\",\"connectedTime\":\"2026-05-14T10:00:05Z\"}]}"
#define ACD_ANSWERED                                                           \
  "{\"id\":\"acd1\",\"purpose\":\"acd\",\"queueId\":\"q-001\","                \
  "\"connectedTime\":\"2026-05-14T10:00:05Z\","                                \
  "\"endTime\":\"2026-05-14T10:00:17.500Z\",\"calls\":[{\"state\":"            \
  "\"disconnected\",\"disconnectType\":\"transfer\"}]}"
#define AGENT_CONNECTED                                                        \
  "{\"id\":\"ag1\",\"purpose\":\"agent\",\"queueId\":\"q-001\","               \
  "\"userId\":\"u1\",\"connectedTime\":\"2026-05-14T10:00:17.500Z\","          \
  "\"calls\":[{\"state\":\"connected\"}]}"
#define CONV_EVENT(parts)                                                      \
  CONV_TOPIC "\"version\":\"2\",\"eventBody\":{\"id\":\"c1\","                 \
             "\"participants\":[" parts "]}}"

static int64_t derive_of(const char *type, const char *type_instance) {
  mock_value_t *v = mock_find("Sales_EN_001", type, type_instance);
  return v ? v->value.derive : -1;
}

DEF_TEST(conversation_events_count_once_and_feed_waits) {
  gr_instance_t *inst = make_event_instance(3);
  mock_values_reset();
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                feed(inst, CONV_EVENT(CUSTOMER "," ACD_WAITING)));
  EXPECT_EQ_INT(1, derive_of("conv_offered", "voice"));
  /* A replay dispatches nothing. */
  mock_values_reset();
  feed(inst, CONV_EVENT(CUSTOMER "," ACD_WAITING));
  EXPECT_EQ_INT(0, mock_values_num);
  /* The answer (the alert was missed): answered, both transitions, the
   * wait of 12.5 s in every bucket from le20 up, and the wait sum. */
  feed(inst, CONV_EVENT(CUSTOMER "," ACD_ANSWERED "," AGENT_CONNECTED));
  EXPECT_EQ_INT(1, derive_of("conv_answered", "voice"));
  EXPECT_EQ_INT(1, derive_of("conv_transitions", "voice-queue_to_alerting"));
  EXPECT_EQ_INT(1,
                derive_of("conv_transitions", "voice-alerting_to_connected"));
  EXPECT_EQ_INT(1, derive_of("conv_wait_bucket", "voice-le20"));
  EXPECT_EQ_INT(1, derive_of("conv_wait_bucket", "voice-le_inf"));
  EXPECT_EQ_INT(-1, derive_of("conv_wait_bucket", "voice-le10"));
  EXPECT_EQ_INT(12500, derive_of("conv_wait_sum_ms", "voice"));
  EXPECT_EQ_INT(-1, derive_of("conv_abandoned", "voice"));
  /* The read: every counter again, and the interval's waits. */
  mock_values_reset();
  gr_read(&(user_data_t){.data = inst});
  EXPECT_EQ_INT(0, derive_of("conv_wait_bucket", "voice-le10"));
  EXPECT_EQ_INT(0, derive_of("conv_abandoned", "voice"));
  mock_value_t *v =
      mock_find("Sales_EN_001", "conv_wait_quantile", "voice-p99");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(12.5, v->value.gauge);
  v = mock_find("Sales_EN_001", "conv_wait_count", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(1, v->value.gauge);
  /* The next interval had no answer: count 0, no percentiles. */
  mock_values_reset();
  gr_read(&(user_data_t){.data = inst});
  v = mock_find("Sales_EN_001", "conv_wait_count", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(0, v->value.gauge);
  EXPECT_EQ_PTR(NULL,
                mock_find("Sales_EN_001", "conv_wait_quantile", "voice-p50"));
  EXPECT_EQ_INT(1, derive_of("conv_answered", "voice"));
  /* A queue outside the selection is not counted; bad events are malformed
   * and change nothing. */
  mock_values_reset();
  feed(inst, "{\"topicName\":\"v2.routing.queues.q-999.conversations\","
             "\"eventBody\":{\"id\":\"c9\",\"participants\":[{\"id\":\"a9\","
             "\"purpose\":\"acd\",\"queueId\":\"q-999\",\"calls\":[{\"state\":"
             "\"connected\"}]}]}}");
  EXPECT_EQ_INT(0, mock_values_num);
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                feed(inst, CONV_TOPIC "\"eventBody\":{\"participants\":[]}}"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                feed(inst, CONV_TOPIC "\"eventBody\":7}"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED, feed(inst, CONV_TOPIC "\"eventBody\":{"));
  EXPECT_EQ_INT(0, mock_values_num);
  gr_instance_free(inst);
  return 0;
}

#define CONV_EVENT_OF(id, parts)                                               \
  CONV_TOPIC "\"version\":\"2\",\"eventBody\":{\"id\":\"" id "\","             \
             "\"participants\":[" parts "]}}"

/* Moments counted between two ticks leave at the tick, each counter once:
 * two offers are one value, 2; the other counters send nothing. */
DEF_TEST(conversation_moments_leave_at_the_tick) {
  gr_instance_t *inst = make_event_instance(3);
  mock_values_reset();
  message(inst, CONV_EVENT_OF("c1", CUSTOMER "," ACD_WAITING));
  message(inst, CONV_EVENT_OF("c2", CUSTOMER "," ACD_WAITING));
  EXPECT_EQ_INT(0, mock_values_num);
  gr_on_tick(inst);
  EXPECT_EQ_INT(2, derive_of("conv_offered", "voice"));
  EXPECT_EQ_INT(1, values_of("Sales_EN_001", "conv_offered"));
  EXPECT_EQ_INT(-1, derive_of("conv_answered", "voice"));
  size_t sent = mock_values_num;
  gr_on_tick(inst);
  EXPECT_EQ_INT(sent, mock_values_num);
  gr_instance_free(inst);
  return 0;
}

/* The conversation counters continue across a restart (no reset for
 * increase()), saved by each read and at shutdown; a state file with a
 * count we never wrote is refused and they restart at zero. */
DEF_TEST(conversation_counters_survive_restart) {
  gr_instance_t *inst = make_event_instance(3);
  feed(inst, CONV_EVENT(CUSTOMER "," ACD_WAITING));
  gr_read(&(user_data_t){.data = inst}); /* saved here */
  feed(inst, CONV_EVENT(CUSTOMER "," ACD_ANSWERED "," AGENT_CONNECTED));
  gr_instance_free(inst); /* and here: the answer */

  inst = make_instance_kept(3, true, true);
  /* The first read dispatched the totals from before. */
  EXPECT_EQ_INT(1, derive_of("conv_offered", "voice"));
  EXPECT_EQ_INT(1, derive_of("conv_answered", "voice"));
  EXPECT_EQ_INT(1, derive_of("conv_wait_bucket", "voice-le20"));
  EXPECT_EQ_INT(12500, derive_of("conv_wait_sum_ms", "voice"));
  /* A new conversation counts on from there. */
  mock_values_reset();
  feed(inst, "{\"topicName\":\"v2.routing.queues.q-001.conversations\","
             "\"eventBody\":{\"id\":\"c-2\",\"participants\":["
             "{\"id\":\"cust2\",\"purpose\":\"customer\",\"calls\":[{"
             "\"state\":\"connected\",\"connectedTime\":"
             "\"2026-05-14T10:01:00Z\"}]},{\"id\":\"acd2\",\"purpose\":"
             "\"acd\",\"queueId\":\"q-001\",\"connectedTime\":"
             "\"2026-05-14T10:01:05Z\",\"calls\":[{\"state\":\"connected\","
             "\"connectedTime\":\"2026-05-14T10:01:05Z\"}]}]}}");
  EXPECT_EQ_INT(2, derive_of("conv_offered", "voice"));
  gr_instance_free(inst);

  /* Other WaitBuckets: the buckets restart, the counts go on. */
  FILE *f = fopen(state_file, "r");
  CHECK_NOT_NULL(f);
  char text[4096];
  size_t len = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[len] = '\0';
  OK(strstr(text, "\"q-001\"") != NULL);
  gr_config_t *config = gen_plugin_config_new(&gr_plugin);
  config->state_dir = strdup(state_dir);
  config->conversation_events = true;
  config->wait_bounds.bound[0] = 1;
  config->wait_bounds.n = 1;
  mock_log_reset();
  inst = gen_plugin_instance_new(
      &gr_plugin, gen_client_create(mock_org(PLUGIN_NAME)), config);
  OK(mock_log_contains("WaitBuckets changed"));
  CHECK_NOT_NULL(inst->store.restored);
  OK(!inst->store.same_bounds);
  gr_instance_free(inst);

  /* 1e300 where a count was: that queue and media type's counters refused,
   * with the reason (the only ones in the file). */
  char *at = strstr(text, "\"m\":[");
  CHECK_NOT_NULL(at);
  at += strlen("\"m\":[");
  char bad[4200];
  snprintf(bad, sizeof(bad), "%.*s1e300%s", (int)(at - text), text,
           at + strspn(at, "0123456789"));
  f = fopen(state_file, "w");
  CHECK_NOT_NULL(f);
  fputs(bad, f);
  fclose(f);
  mock_log_reset();
  inst = make_instance_kept(3, true, true);
  OK(mock_log_contains("a count in it is out of range or not one"));
  OK(mock_log_contains("those counters restart at zero, the others go on"));
  EXPECT_EQ_INT(-1, derive_of("conv_offered", "voice"));
  gr_instance_free(inst);
  return 0;
}

#define ACTIVITY(user, status, presence)                                       \
  "{\"topicName\":\"v2.users." user                                            \
  ".activity\",\"eventBody\":{\"id\":\"" user                                  \
  "\",\"routingStatus\":{\"status\":\"" status "\"},\"presence\":{"            \
  "\"presenceDefinition\":{\"systemPresence\":\"" presence "\"}}}}"

DEF_TEST(agent_activity_counts_each_agent_once) {
  gr_instance_t *inst = make_event_instance(1);
  for (int i = 0; i < 3; i++) {
    char id[8];
    snprintf(id, sizeof(id), "u%d", i);
    CHECK_ZERO(gen_roster_add(&inst->agents, id, NULL, -1));
  }
  mock_values_reset();
  feed(inst, ACTIVITY("u0", "IDLE", "ON_QUEUE"));
  feed(inst, ACTIVITY("u1", "IDLE", "ON_QUEUE"));
  feed(inst, ACTIVITY("u1", "IDLE", "ON_QUEUE")); /* the same again */
  feed(inst, ACTIVITY("u2", "OFF_QUEUE", "Lunch-Custom"));
  feed(inst, ACTIVITY("u9", "IDLE", "ON_QUEUE")); /* not a member */
  mock_value_t *v = mock_find("org", "org_agents_routing", "idle");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(2, v->value.gauge);
  EXPECT_EQ_DOUBLE(
      1, mock_find("org", "org_agents_presence", "other")->value.gauge);
  feed(inst, ACTIVITY("u0", "INTERACTING", "ON_QUEUE"));
  EXPECT_EQ_DOUBLE(1,
                   mock_find("org", "org_agents_routing", "idle")->value.gauge);
  EXPECT_EQ_DOUBLE(
      1, mock_find("org", "org_agents_routing", "interacting")->value.gauge);
  EXPECT_EQ_DOUBLE(
      2, mock_find("org", "org_agents_presence", "on_queue")->value.gauge);
  mock_values_reset();
  gr_read(&(user_data_t){.data = inst});
  EXPECT_EQ_DOUBLE(3, mock_find("org", "org_agents", "total")->value.gauge);
  EXPECT_EQ_DOUBLE(
      1, mock_find("org", "org_agents_routing", "off_queue")->value.gauge);
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                feed(inst, "{\"topicName\":\"v2.users.u0.activity\","
                           "\"eventBody\":{\"routingStatus\":{}}}"));
  gr_instance_free(inst);
  return 0;
}

/* A gauge dispatched, -1 when none was. */
static double gauge_of(const char *instance, const char *type,
                       const char *type_instance) {
  mock_value_t *v = mock_find(instance, type, type_instance);
  return v ? v->value.gauge : -1;
}

/* A word Genesys adds in each enum field the family reads: the routing
 * status and presence qualifiers and the media type of queue observations,
 * an agent's routing status and presence in activity events and member
 * listings. Each is counted in unknown_values and logged once; its entry
 * alone is passed over (a presence: "other"), the rest dispatched. */
DEF_TEST(unknown_words_take_the_rest) {
  gr_instance_t *inst = make_event_instance(2);
  for (int i = 0; i < 2; i++) {
    char id[8];
    snprintf(id, sizeof(id), "u%d", i);
    CHECK_ZERO(gen_roster_add(&inst->agents, id, NULL, -1));
  }
  mock_values_reset();
  mock_log_reset();
  for (int round = 0; round < 2; round++) {
    feed(inst, USER_GROUP(MEMBERS(
                   6) ","
                      "{\"metric\":\"oUserRoutingStatuses\","
                      "\"qualifier\":\"IDLE\",\"stats\":{\"count\":3}},"
                      "{\"metric\":\"oUserRoutingStatuses\","
                      "\"qualifier\":\"ON_BREAK_NEW\","
                      "\"stats\":{\"count\":2}}," PRESENCE(
                          "AVAILABLE", 1) "," PRESENCE("p-brand-new", 4)));
    feed(inst, MEDIA_EVENT("q-000", "hologram", 7, 1000));
    feed(inst, MEDIA_EVENT("q-000", "voice", 5, 1000));
    feed(inst, ACTIVITY("u0", "SLEEPING", "Lunch-Custom"));
    feed(inst, ACTIVITY("u1", "IDLE", "ON_QUEUE"));
    /* An agent's session in a state Genesys added: the offer still counts. */
    feed(inst, CONV_EVENT(CUSTOMER "," ACD_WAITING ","
                                   "{\"id\":\"ag1\",\"purpose\":\"agent\","
                                   "\"queueId\":\"q-001\",\"calls\":[{"
                                   "\"state\":\"hovering\"}]}"));
  }
  EXPECT_EQ_INT(1, derive_of("conv_offered", "voice"));
  /* The rest of each answer is here. */
  EXPECT_EQ_DOUBLE(6, gauge_of("Sales_EN_000", "agents", "member"));
  EXPECT_EQ_DOUBLE(3, gauge_of("Sales_EN_000", "agents_routing", "idle"));
  EXPECT_EQ_DOUBLE(1, gauge_of("Sales_EN_000", "agents_presence", "available"));
  EXPECT_EQ_DOUBLE(4, gauge_of("Sales_EN_000", "agents_presence", "other"));
  EXPECT_EQ_DOUBLE(5, gauge_of("Sales_EN_000", "waiting", "voice"));
  OK(mock_find("Sales_EN_000", "waiting", "hologram") == NULL);
  EXPECT_EQ_DOUBLE(1, gauge_of("org", "org_agents_routing", "idle"));
  EXPECT_EQ_DOUBLE(1, gauge_of("org", "org_agents_presence", "on_queue"));
  EXPECT_EQ_DOUBLE(1, gauge_of("org", "org_agents_presence", "other"));
  /* A member listing's words too. */
  gen_roster_t fresh = {.unknown = inst->agents.unknown};
  CHECK_ZERO(gen_roster_add(&fresh, "u7", "LISTED_NEW", -1));
  CHECK_ZERO(
      gen_roster_add(&fresh, "u8", "IDLE", resolve_presence(inst, "Away")));
  EXPECT_EQ_INT(GEN_PRESENCE_OTHER, resolve_presence(inst, "p-listed-new"));
  gen_roster_free(&fresh);
  /* Each word logged once, though met twice. */
  EXPECT_EQ_INT(1, mock_unknown_lines("routingStatus", "ON_BREAK_NEW"));
  EXPECT_EQ_INT(1, mock_unknown_lines("presence", "p-brand-new"));
  EXPECT_EQ_INT(1, mock_unknown_lines("mediaType", "hologram"));
  EXPECT_EQ_INT(1, mock_unknown_lines("routingStatus", "SLEEPING"));
  EXPECT_EQ_INT(1, mock_unknown_lines("presence", "Lunch-Custom"));
  EXPECT_EQ_INT(1, mock_unknown_lines("routingStatus", "LISTED_NEW"));
  EXPECT_EQ_INT(1, mock_unknown_lines("presence", "p-listed-new"));
  EXPECT_EQ_INT(1, mock_unknown_lines("state", "hovering"));
  /* Counted each time, as the self-metric. */
  mock_values_reset();
  gr_read(&(user_data_t){.data = inst});
  EXPECT_EQ_INT(2,
                (int)mock_unknown_values("queue_observations-routingStatus"));
  EXPECT_EQ_INT(2, (int)mock_unknown_values("queue_observations-presence"));
  EXPECT_EQ_INT(2, (int)mock_unknown_values("queue_observations-mediaType"));
  EXPECT_EQ_INT(3, (int)mock_unknown_values("agent_activity-routingStatus"));
  EXPECT_EQ_INT(3, (int)mock_unknown_values("agent_activity-presence"));
  EXPECT_EQ_INT(2, (int)mock_unknown_values("conversation_events-state"));
  gr_instance_free(inst);
  return 0;
}

DEF_TEST(wait_buckets_option) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  gr_config_t *c = gen_plugin_config_new(&gr_plugin);
  oconfig_item_t *good = mock_ci("WaitBuckets", 0);
  good->values = calloc(3, sizeof(oconfig_value_t));
  good->values_num = 3;
  double bounds[] = {0.5, 15, 45};
  for (int i = 0; i < 3; i++)
    good->values[i] = (oconfig_value_t){.type = OCONFIG_TYPE_NUMBER,
                                        .value.number = bounds[i]};
  EXPECT_EQ_INT(0, gr_config_key(org, good, c));
  EXPECT_EQ_INT(3, (int)c->wait_bounds.n);
  EXPECT_EQ_DOUBLE(0.5, c->wait_bounds.bound[0]);
  good->values[2].value.number = 10; /* not increasing */
  OK(gr_config_key(org, good, c) < 0);
  mock_ci_free(good);
  gen_plugin_config_free(&gr_plugin, c);
  gen_org_free(org);
  return 0;
}

/* The channel keys, parsed in gen_notify for both streaming plugins. */
DEF_TEST(channel_options) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  gr_config_t *c = gen_plugin_config_new(&gr_plugin);
  gen_notify_options_t o = gen_notify_config_options(&c->notify);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(75), o.dead_after);
  EXPECT_EQ_INT(GEN_NOTIFY_TOPICS_PER_CHANNEL, (int)o.topics_per_channel);
  oconfig_item_t *ci = mock_ci_num("HeartbeatTimeout", 40);
  EXPECT_EQ_INT(0, gr_config_key(org, ci, c));
  mock_ci_free(ci);
  ci = mock_ci_num("TopicsPerChannel", 250);
  EXPECT_EQ_INT(0, gr_config_key(org, ci, c));
  mock_ci_free(ci);
  ci = mock_ci_num("TopicsPerChannel", GEN_NOTIFY_TOPICS_PER_CHANNEL + 1);
  OK(gr_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  o = gen_notify_config_options(&c->notify);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(40), o.dead_after);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(40) * 47 / 100, o.ping_after);
  EXPECT_EQ_INT(250, (int)o.topics_per_channel);
  gen_plugin_config_free(&gr_plugin, c);
  gen_org_free(org);
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

DEF_TEST(registers_and_configures) {
  return check_plugin(module_register, "genesys_realtime");
}

DEF_TEST(keys_listed_with_their_defaults) {
  return check_plugin_keys(&gr_plugin);
}

/* The default texts read by their keys' readers: WaitBuckets' bounds (the
 * other tests' data), CampaignStatuses' statuses. */
DEF_TEST(default_texts_read_as_values) {
  gr_config_t *c = gen_plugin_config_new(&gr_plugin);
  CHECK_NOT_NULL(c);
  gen_waits_bounds_t want;
  waits_bounds_default(&want);
  EXPECT_EQ_INT((int)want.n, (int)c->wait_bounds.n);
  for (size_t i = 0; i < want.n; i++)
    EXPECT_EQ_DOUBLE(want.bound[i], c->wait_bounds.bound[i]);
  EXPECT_EQ_INT(1u << GEN_CP_ON | 1u << GEN_CP_STOPPING |
                    1u << GEN_CP_FORCED_STOPPING | 1u << GEN_CP_UNKNOWN,
                c->campaigns.statuses);
  gen_plugin_config_free(&gr_plugin, c);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  if (mock_tempdir(state_dir) == NULL)
    return 1;
  snprintf(state_file, sizeof(state_file), "%s/realtime-acme.json", state_dir);
  RUN_TEST(media_event_dispatches_changes_at_once);
  RUN_TEST(user_group_replaces_statuses);
  RUN_TEST(control_and_bad_messages);
  RUN_TEST(times_strictly_increase);
  RUN_TEST(repeat_every_spaces_the_redispatch);
  RUN_TEST(changes_leave_at_the_tick);
  RUN_TEST(redispatch_rolls_over_the_interval);
  RUN_TEST(longest_in_every_form);
  RUN_TEST(observation_messages_merge);
  RUN_TEST(on_queue_per_routing_status);
  RUN_TEST(presence_ids_and_spellings);
  RUN_TEST(system_topics);
  RUN_TEST(instance_from_id_and_media_filter);
  RUN_TEST(conversation_events_count_once_and_feed_waits);
  RUN_TEST(conversation_moments_leave_at_the_tick);
  RUN_TEST(conversation_counters_survive_restart);
  RUN_TEST(agent_activity_counts_each_agent_once);
  RUN_TEST(unknown_words_take_the_rest);
  RUN_TEST(wait_buckets_option);
  RUN_TEST(channel_options);
  RUN_TEST(entity_cache);
  RUN_TEST(channel_partition);
  RUN_TEST(registers_and_configures);
  RUN_TEST(keys_listed_with_their_defaults);
  RUN_TEST(default_texts_read_as_values);
  mock_values_reset();
  mock_log_reset();
  mock_rmtree(state_dir);
  END_TEST;
}
