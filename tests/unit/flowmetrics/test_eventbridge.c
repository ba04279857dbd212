/* SPDX-License-Identifier: MIT */
/* Unit tests: EventBridge events through the receiver (the envelope, the
 * owner's check, at-least-once delivery dropped by id, an id remembered
 * only once its event is kept). */
#include "gen_eventbridge.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

/* Whose lines the module under test writes. */
static const gen_log_org_t test_who = {"test", "acme"};

#define DETAIL "v2.detail.events.conversation.{id}.attributes"
#define EVENT(id, detail_type, topic, body)                                    \
  "{\"version\":\"0\",\"id\":\"" id "\",\"detail-type\":\"" detail_type        \
  "\",\"source\":\"aws.partner/genesys.com/cloud/org/x\",\"detail\":{"         \
  "\"topicName\":\"" topic "\",\"version\":\"2\",\"eventBody\":" body "}}"
#define GOOD(id)                                                               \
  EVENT(id, DETAIL, "v2.detail.events.conversation.c-1.attributes",            \
        "{\"conversationId\":\"c-1\"}")

typedef struct {
  int valid_calls, take_calls;
  unsigned answer; /* of take() */
  char topic[128];
  char conversation[32];
} owner_t;

static bool valid(void *ud, const char *topic, json_object *body) {
  owner_t *o = ud;
  o->valid_calls++;
  snprintf(o->topic, sizeof(o->topic), "%s", topic);
  return json_object_object_get(body, "conversationId") != NULL;
}

static unsigned take(void *ud, json_object *body) {
  owner_t *o = ud;
  o->take_calls++;
  snprintf(
      o->conversation, sizeof(o->conversation), "%s",
      json_object_get_string(json_object_object_get(body, "conversationId")));
  return o->answer;
}

static gen_ratelimit_t complain = GEN_RATELIMIT_INIT(0);

static gen_eventbridge_t *make(owner_t *o, size_t recent_ids) {
  *o = (owner_t){.answer = 200};
  gen_eventbridge_options_t options = {.detail_type = DETAIL,
                                       .recent_ids = recent_ids,
                                       .valid = valid,
                                       .take = take,
                                       .ud = o,
                                       .who = &test_who,
                                       .complain = &complain};
  return gen_eventbridge_new(&options);
}

static unsigned post(gen_eventbridge_t *eb, const char *text) {
  return gen_eventbridge_handle(eb, text, strlen(text));
}

DEF_TEST(new_events_taken_once) {
  owner_t o;
  gen_eventbridge_t *eb = make(&o, 16);
  CHECK_NOT_NULL(eb);
  gen_eventbridge_stats_t *st = gen_eventbridge_stats(eb);
  EXPECT_EQ_INT(200, post(eb, GOOD("e-1")));
  EXPECT_EQ_INT(1, o.take_calls);
  EXPECT_EQ_STR("c-1", o.conversation);
  EXPECT_EQ_STR("v2.detail.events.conversation.c-1.attributes", o.topic);
  /* Delivered again: answered, not taken again. */
  EXPECT_EQ_INT(200, post(eb, GOOD("e-1")));
  EXPECT_EQ_INT(1, o.take_calls);
  EXPECT_EQ_INT(200, post(eb, GOOD("e-2")));
  EXPECT_EQ_INT(2, o.take_calls);
  EXPECT_EQ_UINT64(2, atomic_load(&st->events));
  EXPECT_EQ_UINT64(1, atomic_load(&st->duplicates));
  EXPECT_EQ_UINT64(0, atomic_load(&st->malformed));
  gen_eventbridge_free(eb);
  return 0;
}

/* An event the owner could not keep: its status goes back, and its id is
 * not remembered, so that the next delivery is taken. */
DEF_TEST(not_kept_is_taken_again) {
  owner_t o;
  gen_eventbridge_t *eb = make(&o, 16);
  o.answer = 507;
  EXPECT_EQ_INT(507, post(eb, GOOD("e-1")));
  o.answer = 200;
  EXPECT_EQ_INT(200, post(eb, GOOD("e-1")));
  EXPECT_EQ_INT(2, o.take_calls);
  EXPECT_EQ_INT(200, post(eb, GOOD("e-1")));
  EXPECT_EQ_INT(2, o.take_calls);
  EXPECT_EQ_UINT64(2, atomic_load(&gen_eventbridge_stats(eb)->events));
  gen_eventbridge_free(eb);
  return 0;
}

/* Refused with 400, before the id is looked at and without take(): not
 * JSON, no or an empty id, another detail-type, no topic or body, a body
 * the owner refuses. */
DEF_TEST(refused_events) {
  owner_t o;
  gen_eventbridge_t *eb = make(&o, 16);
  EXPECT_EQ_INT(200, post(eb, GOOD("e-1")));
  static const char *const refused[] = {
      "{\"id\":",
      "[1,2]",
      "{\"id\":\"e-2\",\"detail-type\":\"" DETAIL "\"}",
      EVENT("", DETAIL, "t", "{\"conversationId\":\"c-1\"}"),
      EVENT("e-3", "v2.audits.entitytype.{id}", "t",
            "{\"conversationId\":\"c-1\"}"),
      "{\"id\":\"e-4\",\"detail-type\":\"" DETAIL "\",\"detail\":{"
      "\"eventBody\":{\"conversationId\":\"c-1\"}}}",
      EVENT("e-5", DETAIL, "t", "[]"),
      EVENT("e-6", DETAIL, "t", "{\"attributes\":{}}"),
      /* A taken id does not make a bad event good. */
      EVENT("e-1", DETAIL, "t", "{}"),
  };
  mock_log_reset();
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(refused); i++)
    EXPECT_EQ_INT(400, post(eb, refused[i]));
  EXPECT_EQ_INT(1, o.take_calls);
  EXPECT_EQ_INT(3, o.valid_calls); /* e-1, then e-6 and e-1 refused */
  gen_eventbridge_stats_t *st = gen_eventbridge_stats(eb);
  EXPECT_EQ_UINT64(STATIC_ARRAY_SIZE(refused), atomic_load(&st->malformed));
  EXPECT_EQ_UINT64(0, atomic_load(&st->duplicates));
  OK(mock_log_contains(
      "test plugin: Org \"acme\": receiver: malformed JSON refused"));
  OK(mock_log_contains(
      "test plugin: Org \"acme\": receiver: refused an event that is not an "
      "EventBridge " DETAIL " event"));
  gen_eventbridge_free(eb);
  gen_eventbridge_free(NULL);
  return 0;
}

/* The ids remembered are bounded: one far back is taken again. */
DEF_TEST(ids_remembered_are_bounded) {
  owner_t o;
  gen_eventbridge_t *eb = make(&o, 4);
  static const char *const events[] = {GOOD("e-0"), GOOD("e-1"), GOOD("e-2"),
                                       GOOD("e-3"), GOOD("e-4"), GOOD("e-5"),
                                       GOOD("e-6"), GOOD("e-7"), GOOD("e-8")};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(events); i++)
    EXPECT_EQ_INT(200, post(eb, events[i]));
  EXPECT_EQ_INT(9, o.take_calls);
  post(eb, GOOD("e-8")); /* the last ones are remembered */
  post(eb, GOOD("e-5"));
  EXPECT_EQ_INT(9, o.take_calls);
  post(eb, GOOD("e-0")); /* two generations back: forgotten */
  EXPECT_EQ_INT(10, o.take_calls);
  gen_eventbridge_free(eb);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(new_events_taken_once);
  RUN_TEST(not_kept_is_taken_again);
  RUN_TEST(refused_events);
  RUN_TEST(ids_remembered_are_bounded);
  END_TEST;
}
