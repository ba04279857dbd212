/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: tests of the queue-observation parser
 * (plugins/realtime/gen_obs.c).
 */
#include "gen_buf.h"
#include "gen_json.h"
#include "gen_notify.h"
#include "gen_obs.h"
#include "gen_obs_query.h"
#include "gen_time.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "collectd/core/testing.h"
#include "mutate.h"

#define Q1 "0b4a5c1e-8f7d-4c3b-9a21-3e6f5d4c2b1a"
#define TOPIC_Q1 "v2.analytics.queues." Q1 ".observations"

/* The shape of the issue, as tests/sim sends it. */
static const char sample[] =
    "{\"topicName\":\"" TOPIC_Q1 "\",\"version\":\"2\","
    "\"eventBody\":{\"group\":{\"queueId\":\"" Q1 "\",\"mediaType\":\"voice\"},"
    "\"data\":[{\"interval\":\"2026-05-14T10:00:00.000Z/"
    "2026-05-14T10:30:00.000Z\",\"metrics\":["
    "{\"metric\":\"oWaiting\",\"stats\":{\"count\":3}},"
    "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":3,"
    "\"calculatedMetricValue\":51234}},"
    "{\"metric\":\"oUserRoutingStatuses\",\"qualifier\":\"IDLE\","
    "\"stats\":{\"count\":4}}]}]},"
    "\"metadata\":{\"CorrelationId\":\"6c1e1f2a-0d7b-4c55-b1a3-1f9e0c2d3b4a\"}"
    "}";

static gen_obs_parser_t *parser;
static gen_obs_msg_t msg;
static char err[GEN_OBS_ERR_SIZE];

/* gen_obs_parse given the topic the hub reads from the text
 * (gen_notify_topic), as the plugin is handed it; a text without one is
 * read as an observation of Q1 all the same. */
static int obs_parse(gen_obs_parser_t *p, const char *text, size_t len,
                     gen_obs_msg_t *out, char *e, size_t e_size) {
  char topic[GEN_NOTIFY_TOPIC_SIZE];
  if (text == NULL || !gen_notify_topic(text, len, topic, sizeof(topic)))
    snprintf(topic, sizeof(topic), "%s", TOPIC_Q1);
  return gen_obs_parse(p, topic, text, len, out, e, e_size);
}

/* Parses a NUL-terminated test text (the terminator is not passed). */
static int parse(const char *text) {
  int status = obs_parse(parser, text, strlen(text), &msg, err, sizeof(err));
  if (status != 0)
    printf("# %d: %s\n", status, err);
  return status;
}

/* Copies text so that its last byte sits just before a PROT_NONE page: any
 * read past len faults, whether or not ASan or valgrind is watching. */
typedef struct {
  char *map;
  size_t map_len;
  char *text;
} guarded_t;

static int guard(guarded_t *g, const char *text, size_t len) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t pages = (len + page - 1) / page + 1;
  g->map_len = pages * page;
  g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g->map == MAP_FAILED)
    return -1;
  if (mprotect(g->map + (pages - 1) * page, page, PROT_NONE) != 0)
    return -1;
  g->text = g->map + (pages - 1) * page - len;
  memcpy(g->text, text, len);
  return 0;
}

static void unguard(guarded_t *g) { munmap(g->map, g->map_len); }

static const char *metric(size_t i) {
  const char *name = gen_obs_metric_name(msg.items[i].metric);
  return name != NULL ? name : "?";
}

DEF_TEST(sample) {
  CHECK_ZERO(parse(sample));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  EXPECT_EQ_STR(Q1, msg.queue_id);
  EXPECT_EQ_STR("voice", msg.media_type);
  EXPECT_EQ_INT(3, msg.n_items);
  EXPECT_EQ_INT(0, msg.n_unknown);
  OK(!msg.truncated);
  EXPECT_EQ_STR("oWaiting", metric(0));
  EXPECT_EQ_STR("", msg.items[0].qualifier);
  OK(msg.items[0].has_count && msg.items[0].count == 3);
  OK(!msg.items[0].has_value);
  EXPECT_EQ_STR("oLongestWaiting", metric(1));
  OK(msg.items[1].has_count && msg.items[1].count == 3);
  OK(msg.items[1].has_value);
  EXPECT_EQ_DOUBLE(51234.0, msg.items[1].calculated_value);
  EXPECT_EQ_STR("oUserRoutingStatuses", metric(2));
  EXPECT_EQ_STR("IDLE", msg.items[2].qualifier);
  OK(msg.items[2].has_count && msg.items[2].count == 4);
  OK(err[0] == '\0');
  return 0;
}

DEF_TEST(keys_in_any_order) {
  /* topicName last, metadata first, stats before metric, qualifier last,
   * calculatedMetricValue before count, mediaType before queueId. */
  const char *text =
      "{\"metadata\":{\"CorrelationId\":\"x\"},\"version\":\"2\","
      "\"eventBody\":{\"data\":[{\"metrics\":["
      "{\"stats\":{\"count\":3},\"metric\":\"oWaiting\"},"
      "{\"stats\":{\"calculatedMetricValue\":51234,\"count\":3},"
      "\"metric\":\"oLongestWaiting\"},"
      "{\"stats\":{\"count\":4},\"metric\":\"oUserRoutingStatuses\","
      "\"qualifier\":\"IDLE\"}],\"interval\":\"a/b\"}],"
      "\"group\":{\"mediaType\":\"voice\",\"queueId\":\"" Q1 "\"}},"
      "\"topicName\":\"" TOPIC_Q1 "\"}";
  CHECK_ZERO(parse(text));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  EXPECT_EQ_STR(Q1, msg.queue_id);
  EXPECT_EQ_STR("voice", msg.media_type);
  EXPECT_EQ_INT(3, msg.n_items);
  EXPECT_EQ_STR("oWaiting", metric(0));
  OK(msg.items[0].count == 3 && !msg.items[0].has_value);
  EXPECT_EQ_STR("oLongestWaiting", metric(1));
  OK(msg.items[1].count == 3 && msg.items[1].calculated_value == 51234.0);
  EXPECT_EQ_STR("oUserRoutingStatuses", metric(2));
  EXPECT_EQ_STR("IDLE", msg.items[2].qualifier);
  OK(msg.items[2].count == 4);
  return 0;
}

DEF_TEST(user_group_and_media_group) {
  CHECK_ZERO(parse(
      "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{\"queueId\":"
      "\"" Q1 "\"},\"data\":[{\"metrics\":["
      "{\"metric\":\"oActiveUsers\",\"stats\":{\"count\":12}},"
      "{\"metric\":\"oMemberUsers\",\"stats\":{\"count\":20}},"
      "{\"metric\":\"oOnQueueUsers\",\"stats\":{\"count\":10}},"
      "{\"metric\":\"oOffQueueUsers\",\"stats\":{\"count\":10}}]}]}}"));
  EXPECT_EQ_STR(Q1, msg.queue_id);
  EXPECT_EQ_STR("", msg.media_type); /* the user-metrics group */
  EXPECT_EQ_INT(4, msg.n_items);
  EXPECT_EQ_STR("oActiveUsers", metric(0));
  EXPECT_EQ_STR("oMemberUsers", metric(1));
  EXPECT_EQ_STR("oOnQueueUsers", metric(2));
  EXPECT_EQ_STR("oOffQueueUsers", metric(3));
  OK(msg.items[0].count == 12 && msg.items[1].count == 20);
  OK(msg.items[2].count == 10 && msg.items[3].count == 10);

  CHECK_ZERO(parse(
      "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{\"queueId\":"
      "\"" Q1 "\",\"mediaType\":\"callback\"},\"data\":[{\"metrics\":["
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":0}},"
      "{\"metric\":\"oInteracting\",\"stats\":{\"count\":7}},"
      "{\"metric\":\"oAlerting\",\"stats\":{\"count\":1}},"
      "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":0}},"
      "{\"metric\":\"oLongestInteracting\",\"stats\":{\"count\":7,"
      "\"calculatedMetricValue\":412345}}]}]}}"));
  EXPECT_EQ_STR("callback", msg.media_type);
  EXPECT_EQ_INT(5, msg.n_items);
  EXPECT_EQ_STR("oAlerting", metric(2));
  EXPECT_EQ_STR("oLongestInteracting", metric(4));
  OK(msg.items[4].has_value && msg.items[4].calculated_value == 412345.0);
  /* A group given as null is absent. */
  CHECK_ZERO(parse("{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":"
                   "null,\"data\":null}}"));
  EXPECT_EQ_STR("", msg.queue_id);
  EXPECT_EQ_INT(0, msg.n_items);
  return 0;
}

DEF_TEST(qualifiers) {
  CHECK_ZERO(parse(
      "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{\"queueId\":"
      "\"" Q1 "\"},\"data\":[{\"metrics\":["
      "{\"metric\":\"oUserRoutingStatuses\",\"qualifier\":\"OFF_QUEUE\","
      "\"stats\":{\"count\":2}},"
      "{\"metric\":\"oUserRoutingStatuses\",\"qualifier\":\"NOT_RESPONDING\","
      "\"stats\":{\"count\":1}},"
      "{\"metric\":\"oUserPresences\",\"qualifier\":\"ON_QUEUE\","
      "\"stats\":{\"count\":9}},"
      "{\"metric\":\"oUserPresences\","
      "\"qualifier\":\"e08eaf1b-ee47-4fa9-a231-1200e284798f\","
      "\"stats\":{\"count\":5}},"
      "{\"metric\":\"oUserPresences\",\"qualifier\":null,"
      "\"stats\":{\"count\":1}}]}]}}"));
  EXPECT_EQ_INT(5, msg.n_items);
  EXPECT_EQ_STR("OFF_QUEUE", msg.items[0].qualifier);
  EXPECT_EQ_STR("NOT_RESPONDING", msg.items[1].qualifier);
  EXPECT_EQ_STR("oUserPresences", metric(2));
  EXPECT_EQ_STR("ON_QUEUE", msg.items[2].qualifier);
  EXPECT_EQ_STR("e08eaf1b-ee47-4fa9-a231-1200e284798f", msg.items[3].qualifier);
  EXPECT_EQ_STR("", msg.items[4].qualifier); /* null is absent */
  OK(msg.items[3].count == 5 && msg.items[4].count == 1);
  /* Several data entries: all items, in order, duplicates kept. */
  CHECK_ZERO(parse(
      "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":["
      "{\"metrics\":[{\"metric\":\"oUserPresences\",\"qualifier\":\"BUSY\","
      "\"stats\":{\"count\":1}}]},"
      "{\"metrics\":[]},{},"
      "{\"metrics\":[{\"metric\":\"oUserPresences\",\"qualifier\":\"BUSY\","
      "\"stats\":{\"count\":2}}]}]}}"));
  EXPECT_EQ_INT(2, msg.n_items);
  OK(msg.items[0].count == 1 && msg.items[1].count == 2);
  EXPECT_EQ_STR("BUSY", msg.items[1].qualifier);
  return 0;
}

DEF_TEST(longest_waiting_value) {
  CHECK_ZERO(parse(
      "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":["
      "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":0}},"
      "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":2,"
      "\"calculatedMetricValue\":1234.5}},"
      "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":1,"
      "\"calculatedMetricValue\":9.5e3}},"
      "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":1,"
      "\"calculatedMetricValue\":-250}},"
      "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":1,"
      "\"calculatedMetricValue\":null}},"
      "{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":1,"
      "\"calculatedMetricValue\":12345678901234567890123}},"
      "{\"metric\":\"oLongestWaiting\"},"
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":3.0}},"
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":1e2}},"
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":-0}},"
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":9223372036854775807}}"
      "]}]}}"));
  EXPECT_EQ_INT(11, msg.n_items);
  OK(msg.items[0].has_count && !msg.items[0].has_value);
  OK(msg.items[1].has_value);
  EXPECT_EQ_DOUBLE(1234.5, msg.items[1].calculated_value);
  EXPECT_EQ_DOUBLE(9500.0, msg.items[2].calculated_value);
  EXPECT_EQ_DOUBLE(-250.0, msg.items[3].calculated_value);
  OK(!msg.items[4].has_value);
  EXPECT_EQ_DOUBLE(12345678901234567890123.0, msg.items[5].calculated_value);
  OK(!msg.items[6].has_count && !msg.items[6].has_value);
  OK(msg.items[7].has_count && msg.items[7].count == 3);
  OK(msg.items[8].count == 100);
  OK(msg.items[9].has_count && msg.items[9].count == 0);
  OK(msg.items[10].count == INT64_MAX);
  return 0;
}

/* The topic the hub read decides: observations of a queue are read, any
 * other topic's text is not (the hub's own, heartbeats and socket_closing,
 * never reach gen_obs: test_hub, test_notify). */
DEF_TEST(topics) {
  const char *text = "{\"topicName\":\"v2.users.u1.activity\",\"eventBody\":{"
                     "\"group\":{\"queueId\":\"q1\"},\"data\":[{\"metrics\":[{"
                     "\"metric\":\"oWaiting\",\"stats\":{\"count\":2}}]}]}}";
  /* topicName in the text is passed over. */
  CHECK_ZERO(gen_obs_parse(parser, TOPIC_Q1, text, strlen(text), &msg, err,
                           sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  EXPECT_EQ_STR("q1", msg.queue_id);
  EXPECT_EQ_INT(1, (int)msg.n_items);
  /* A topicName of the wrong type is not read, so not an error. */
  const char *odd = "{\"topicName\":5,\"eventBody\":{\"data\":[]}}";
  CHECK_ZERO(gen_obs_parse(parser, TOPIC_Q1, odd, strlen(odd), &msg, err,
                           sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  /* Fixed parts ignore ASCII case; the id is kept as sent. */
  CHECK_ZERO(gen_obs_parse(parser, "V2.Analytics.Queues.AbC.OBSERVATIONS", text,
                           strlen(text), &msg, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  /* Other topics, and those not quite the observation topic: nothing read,
   * not even a truncated text, nothing kept. */
  const char *others[] = {
      "v2.users.u1.activity",
      "v2.routing.queues.q1.conversations",
      "channel.metadata",
      "v2.system.socket_closing",
      "",
      "v2.analytics.queues..observations",
      "v2.analytics.queues.a.b.observations",
      "v2.analytics.queues.q1.activity",
      "v2.analytics.queues.q1.observationsx",
  };
  for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
    CHECK_ZERO(gen_obs_parse(parser, others[i], text, strlen(text), &msg, err,
                             sizeof(err)));
    EXPECT_EQ_INT(GEN_OBS_TOPIC_OTHER, msg.topic);
    EXPECT_EQ_INT(0, (int)msg.n_items);
    EXPECT_EQ_STR("", msg.queue_id);
    CHECK_ZERO(
        gen_obs_parse(parser, others[i], "{\"x\":", 5, &msg, err, sizeof(err)));
    EXPECT_EQ_STR("", err);
  }
  /* The same text read as an observation fails where it is truncated. */
  OK(gen_obs_parse(parser, TOPIC_Q1, "{\"x\":", 5, &msg, err, sizeof(err)) ==
     GEN_OBS_ERR_SYNTAX);
  /* No topic at all is the caller's mistake. */
  OK(gen_obs_parse(parser, NULL, text, strlen(text), &msg, err, sizeof(err)) ==
     GEN_OBS_ERR_ARG);
  return 0;
}

DEF_TEST(unknown_content_skipped) {
  const char *text =
      "{\"junk\":{\"topicName\":\"channel.metadata\",\"eventBody\":{\"data\":"
      "[{\"metrics\":[{\"metric\":\"oWaiting\",\"stats\":{\"count\":99}}]}]}},"
      "\"topicName\":\"" TOPIC_Q1 "\",\"version\":2,\"list\":[[[{}]],true,"
      "null,1.5e3,\"s\"],"
      "\"eventBody\":{\"extra\":[{\"metrics\":[{\"metric\":\"oWaiting\"}]}],"
      "\"group\":{\"queueId\":\"q\",\"division\":{\"id\":\"d\"},"
      "\"mediaType\":\"chat\",\"x\":[1,[2,[3]]]},"
      "\"data\":[{\"interval\":\"i\",\"more\":{\"a\":{\"b\":{\"c\":[]}}},"
      "\"metrics\":[{\"metric\":\"oFlowish\",\"stats\":{\"count\":5}},"
      "{\"metric\":\"oWaiting\",\"observations\":[{\"conversationId\":\"c\","
      "\"requestedRoutings\":[\"Standard\"],\"stats\":{\"count\":77}}],"
      "\"truncated\":false,\"stats\":{\"count\":2,\"sum\":10,\"max\":{\"n\":"
      "[1]},\"numerator\":null}},"
      "{\"stats\":{\"count\":1}},"
      "{\"metric\":\"owaiting\",\"stats\":{\"count\":1}}]}]},"
      "\"metadata\":{\"CorrelationId\":\"x\",\"nested\":[{\"eventBody\":1}]}}";
  CHECK_ZERO(parse(text));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  EXPECT_EQ_STR("q", msg.queue_id);
  EXPECT_EQ_STR("chat", msg.media_type);
  EXPECT_EQ_INT(1, msg.n_items);
  EXPECT_EQ_STR("oWaiting", metric(0));
  OK(msg.items[0].count == 2);
  /* oFlowish, the nameless one and the wrongly cased one. */
  EXPECT_EQ_INT(3, msg.n_unknown);
  return 0;
}

DEF_TEST(too_many_items) {
  char *text = malloc(16384);
  OK(text != NULL);
  size_t n = (size_t)snprintf(text, 16384,
                              "{\"topicName\":\"" TOPIC_Q1
                              "\",\"eventBody\":{\"data\":[{\"metrics\":[");
  for (int i = 0; i < GEN_OBS_MAX_ITEMS + 6; i++) {
    /* Unknown metrics in between do not use up slots. */
    if (i % 10 == 0)
      n += (size_t)snprintf(text + n, 16384 - n,
                            "%s{\"metric\":\"oNew\",\"stats\":{\"count\":1}}",
                            i ? "," : "");
    n += (size_t)snprintf(text + n, 16384 - n,
                          ",{\"metric\":\"oUserPresences\",\"qualifier\":"
                          "\"P%d\",\"stats\":{\"count\":%d}}",
                          i, i);
  }
  snprintf(text + n, 16384 - n, "]}]}}");
  int status = parse(text);
  free(text);
  CHECK_ZERO(status);
  EXPECT_EQ_INT(GEN_OBS_MAX_ITEMS, msg.n_items);
  OK(msg.truncated);
  EXPECT_EQ_INT(7, msg.n_unknown);
  EXPECT_EQ_STR("P63", msg.items[63].qualifier);
  OK(msg.items[63].count == 63);
  /* Exactly the maximum is not truncated. */
  text = malloc(16384);
  OK(text != NULL);
  n = (size_t)snprintf(
      text, 16384, "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[");
  for (int i = 0; i < GEN_OBS_MAX_ITEMS; i++)
    n += (size_t)snprintf(text + n, 16384 - n,
                          "%s{\"metrics\":[{\"metric\":\"oWaiting\","
                          "\"stats\":{\"count\":%d}}]}",
                          i ? "," : "", i);
  snprintf(text + n, 16384 - n, "]}}");
  status = parse(text);
  free(text);
  CHECK_ZERO(status);
  EXPECT_EQ_INT(GEN_OBS_MAX_ITEMS, msg.n_items);
  OK(!msg.truncated);
  return 0;
}

DEF_TEST(escapes) {
  CHECK_ZERO(parse(
      "{\"topic\\u004eame\":\"v2.analytics.queues.q\\u00e9\\/1.observations\","
      "\"eventBody\":{\"group\":{\"queueId\":\"q\\u00e9\\/1\",\"mediaType\":"
      "\"vo\\\"ice\\\\\"},\"data\":[{\"metrics\":[{\"metric\":\"o\\u0057"
      "aiting\",\"qualifier\":\"caf\\u00e9 \\ud83d\\ude00\\t\\n\",\"stats\":{"
      "\"count\":1}}]}]}}"));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  EXPECT_EQ_STR("q\xc3\xa9/1", msg.queue_id);
  EXPECT_EQ_STR("vo\"ice\\", msg.media_type);
  EXPECT_EQ_INT(1, msg.n_items);
  EXPECT_EQ_STR("oWaiting", metric(0));
  EXPECT_EQ_STR("caf\xc3\xa9 \xf0\x9f\x98\x80\t\n", msg.items[0].qualifier);
  /* Half a surrogate pair becomes U+FFFD (as in json-c), and what follows
   * is still decoded. */
  CHECK_ZERO(parse("{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":"
                   "[{\"metrics\":[{\"metric\":\"oWaiting\",\"qualifier\":"
                   "\"a\\uD80f\\\\ n\\udc00\"}]}]}}"));
  EXPECT_EQ_STR("a\xef\xbf\xbd\\ n\xef\xbf\xbd", msg.items[0].qualifier);
  /* White space is RFC 8259's: \v and \f are not (yajl took them). */
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX,
                parse("\v{\"topicName\":\"" TOPIC_Q1 "\"}"));
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX,
                parse("{\f\"topicName\":\"" TOPIC_Q1 "\"}"));
  /* Raw UTF-8 passes through. */
  CHECK_ZERO(parse("{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":"
                   "[{\"metrics\":[{\"metric\":\"oWaiting\",\"qualifier\":"
                   "\"h\xc3\xa9llo\"}]}]}}"));
  EXPECT_EQ_STR("h\xc3\xa9llo", msg.items[0].qualifier);
  return 0;
}

DEF_TEST(long_strings) {
  char id[200], text[1024];
  /* A 63-byte queue id fits; 64 bytes is refused (ids are not cut). */
  memset(id, 'a', 63);
  id[63] = '\0';
  snprintf(text, sizeof(text),
           "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{"
           "\"queueId\":\"%s\"}}}",
           id);
  CHECK_ZERO(parse(text));
  EXPECT_EQ_STR(id, msg.queue_id);
  memset(id, 'a', 64);
  id[64] = '\0';
  snprintf(text, sizeof(text),
           "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{"
           "\"queueId\":\"%s\"}}}",
           id);
  EXPECT_EQ_INT(GEN_OBS_ERR_VALUE, parse(text));
  OK(strstr(err, "eventBody.group.queueId is 64 bytes long") != NULL);
  EXPECT_EQ_STR("", msg.queue_id);
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  /* Same for a qualifier and a media type. */
  snprintf(text, sizeof(text),
           "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{"
           "\"metrics\":[{\"metric\":\"oWaiting\",\"qualifier\":\"%s\"}]}]}}",
           id);
  EXPECT_EQ_INT(GEN_OBS_ERR_VALUE, parse(text));
  snprintf(text, sizeof(text),
           "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{"
           "\"mediaType\":\"%.32s\"}}}",
           id);
  EXPECT_EQ_INT(GEN_OBS_ERR_VALUE, parse(text));
  /* A long topic is classified whole. */
  memset(id, 'b', 150);
  id[150] = '\0';
  snprintf(text, sizeof(text), "v2.analytics.queues.%s.observations", id);
  const char *one = "{\"eventBody\":{\"data\":[{\"metrics\":[{\"metric\":"
                    "\"oWaiting\",\"stats\":{\"count\":1}}]}]}}";
  CHECK_ZERO(
      gen_obs_parse(parser, text, one, strlen(one), &msg, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  EXPECT_EQ_INT(1, msg.n_items);
  return 0;
}

DEF_TEST(every_prefix_is_an_error) {
  size_t len = strlen(sample);
  guarded_t g;
  for (size_t n = 0; n < len; n++) {
    CHECK_ZERO(guard(&g, sample, n));
    int status = obs_parse(parser, g.text, n, &msg, err, sizeof(err));
    unguard(&g);
    if (status >= 0 || err[0] == '\0' || msg.n_items != 0) {
      printf("not ok - prefix of %zu bytes: status %d, err \"%s\"\n", n, status,
             err);
      return -1;
    }
  }
  /* The whole text, with no terminator after it. */
  CHECK_ZERO(guard(&g, sample, len));
  int status = obs_parse(parser, g.text, len, &msg, err, sizeof(err));
  unguard(&g);
  CHECK_ZERO(status);
  EXPECT_EQ_INT(3, msg.n_items);
  /* Cut inside a number, a literal and a string at the very end. */
  const char *tails[] = {"{\"topicName\":\"" TOPIC_Q1 "\",\"x\":12",
                         "{\"topicName\":\"" TOPIC_Q1 "\",\"x\":tru",
                         "{\"topicName\":\"" TOPIC_Q1 "\",\"x\":\"ab\\u00",
                         "{\"topicName\":\"" TOPIC_Q1 "\",\"x\":\"\xc3",
                         "12",
                         "-",
                         "\"abc"};
  for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
    CHECK_ZERO(guard(&g, tails[i], strlen(tails[i])));
    status =
        obs_parse(parser, g.text, strlen(tails[i]), &msg, err, sizeof(err));
    unguard(&g);
    printf("# %s -> %d %s\n", tails[i], status, err);
    OK(status < 0);
  }
  return 0;
}

DEF_TEST(wrong_types) {
  struct {
    const char *text;
    int want;
  } cases[] = {
      /* {"count":"3"} in an observation message: the whole message fails. */
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":"
       "[{\"metric\":\"oWaiting\",\"stats\":{\"count\":\"3\"}}]}]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"eventBody\":{\"data\":[{\"metrics\":[{\"metric\":\"oWaiting\","
       "\"stats\":{\"count\":true}}]}]},\"topicName\":\"" TOPIC_Q1 "\"}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":"
       "[{\"metric\":\"oWaiting\",\"stats\":{\"count\":{\"v\":3}}}]}]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":"
       "[{\"metric\":\"oWaiting\",\"stats\":{\"calculatedMetricValue\":[1]}}]}"
       "]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":[]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":{}}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[3]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":"
       "\"x\"}]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":"
       "[[]]}]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":"
       "[{\"metric\":5}]}]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":"
       "[{\"metric\":\"oWaiting\",\"qualifier\":1}]}]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"data\":[{\"metrics\":"
       "[{\"metric\":\"oWaiting\",\"stats\":7}]}]}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{\"queueId\":"
       "7}}}",
       GEN_OBS_ERR_TYPE},
      {"{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":\"text\"}",
       GEN_OBS_ERR_TYPE},
      {"[{\"topicName\":\"" TOPIC_Q1 "\"}]", GEN_OBS_ERR_TYPE},
      {"\"" TOPIC_Q1 "\"", GEN_OBS_ERR_TYPE},
      {"null", GEN_OBS_ERR_TYPE},
      {"42", GEN_OBS_ERR_TYPE},
      /* Fields not read are not checked, nor another topic's text. */
      {"{\"topicName\":\"channel.metadata\",\"eventBody\":{\"message\":\"pong\""
       ",\"data\":{\"x\":1},\"group\":7}}",
       0},
      {"{\"eventBody\":{\"message\":[],\"data\":[{\"metrics\":[{\"metric\":"
       "\"oWaiting\",\"stats\":{\"count\":1}}]}]},\"topicName\":\"" TOPIC_Q1
       "\"}",
       0},
      {"{\"eventBody\":{\"data\":[{\"metrics\":[{\"metric\":\"oWaiting\","
       "\"stats\":{\"count\":\"3\"}}]}]},\"topicName\":\"v2.users.u.activity\""
       "}",
       0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int status = parse(cases[i].text);
    printf("# case %zu: %d %s\n", i, status, err);
    EXPECT_EQ_INT(cases[i].want, status);
    if (status != 0) {
      OK(err[0] != '\0' && msg.n_items == 0);
    }
  }
  /* The reason names the field and both types. */
  parse(cases[0].text);
  OK(strstr(err, "stats.count is a string, expected a number") != NULL);
  return 0;
}

DEF_TEST(bad_values) {
  const char *cases[] = {
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":-1}}",
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":2.5}}",
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":-1.0}}",
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":1e300}}",
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":9223372036854775808}}",
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":"
      "100000000000000000000000000000000000000000000000000000000000000000000"
      "00000000000000}}",
      "{\"metric\":\"oWaiting\",\"stats\":{\"calculatedMetricValue\":1e400}}",
      "{\"metric\":\"oWaiting\",\"stats\":{\"calculatedMetricValue\":"
      "1.00000000000000000000000000000000000000000000000000000000000000000001"
      "}}",
      "{\"metric\":\"oWaiting\",\"qualifier\":\"a\\u0000b\"}",
      "{\"metric\":\"oWaiting\",\"stats\":{\"count\":1,\"count\":2}}",
      "{\"metric\":\"oWaiting\",\"metric\":\"oAlerting\"}",
  };
  char text[512];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(text, sizeof(text),
             "{\"topicName\":\"" TOPIC_Q1
             "\",\"eventBody\":{\"data\":[{\"metrics\":[%s]}]}}",
             cases[i]);
    EXPECT_EQ_INT(GEN_OBS_ERR_VALUE, parse(text));
  }
  const char *whole[] = {
      "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{\"queueId\":"
      "\"a\"},\"group\":{\"queueId\":\"b\"}}}",
      "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{\"queueId\":"
      "\"a\",\"queueId\":\"b\"}}}",
      "{\"eventBody\":{},\"eventBody\":{},\"topicName\":\"" TOPIC_Q1 "\"}",
  };
  for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
    EXPECT_EQ_INT(GEN_OBS_ERR_VALUE, parse(whole[i]));
  /* Overlong UTF-8 in a kept string: the whole text must be UTF-8. */
  const char *bad_utf8[] = {
      "{\"topicName\":\"v2.analytics.queues.\xe0\x80\xaf.observations\"}",
      "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":{\"queueId\":"
      "\"q\xc0\xaf"
      "1\"}}}",
  };
  for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
    EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX, parse(bad_utf8[i]));
    OK(strstr(err, "invalid UTF-8") != NULL);
  }
  /* Duplicates of keys we do not read are nobody's business. */
  CHECK_ZERO(parse("{\"topicName\":\"" TOPIC_Q1 "\",\"version\":\"2\","
                   "\"version\":\"3\",\"eventBody\":{\"x\":1,\"x\":2}}"));
  return 0;
}

DEF_TEST(depth) {
  char text[20100];
  /* 10,000 nested arrays inside an ignored key: refused at depth 33. */
  size_t n = (size_t)snprintf(text, sizeof(text),
                              "{\"topicName\":\"" TOPIC_Q1 "\",\"x\":");
  for (int i = 0; i < 10000; i++)
    text[n++] = '[';
  text[n] = '\0';
  EXPECT_EQ_INT(GEN_OBS_ERR_DEPTH, parse(text));
  OK(strstr(err, "nesting deeper than 32") != NULL);
  /* Also for a text without a topicName (read as Q1's here). */
  n = (size_t)snprintf(text, sizeof(text), "{\"eventBody\":");
  for (int i = 0; i < 40; i++)
    n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"a\":");
  snprintf(text + n, sizeof(text) - n, "1");
  EXPECT_EQ_INT(GEN_OBS_ERR_DEPTH, parse(text));
  /* Exactly 32 levels are fine. */
  n = (size_t)snprintf(text, sizeof(text), "{\"x\":");
  for (int i = 0; i < 31; i++)
    text[n++] = '[';
  for (int i = 0; i < 31; i++)
    text[n++] = ']';
  snprintf(text + n, sizeof(text) - n, ",\"topicName\":\"" TOPIC_Q1 "\"}");
  CHECK_ZERO(parse(text));
  /* The sample needs 7 levels (root, eventBody, data, [], metrics, [],
   * stats). */
  gen_obs_parser_t *p7 = gen_obs_parser_new(7);
  gen_obs_parser_t *p6 = gen_obs_parser_new(6);
  OK(p7 != NULL && p6 != NULL);
  CHECK_ZERO(obs_parse(p7, sample, strlen(sample), &msg, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_ERR_DEPTH,
                obs_parse(p6, sample, strlen(sample), &msg, err, sizeof(err)));
  gen_obs_parser_free(p7);
  gen_obs_parser_free(p6);
  return 0;
}

DEF_TEST(empty_garbage_and_bad_bytes) {
  struct {
    const char *text;
    size_t len;
  } cases[] = {
      {"", 0},
      {"   \n\t ", 6},
      {"{}x", 3},
      {"{}{}", 4},
      {"{} {}", 5},
      {"{\"topicName\":\"" TOPIC_Q1 "\"} []", 0},
      {"{\"topicName\":\"" TOPIC_Q1 "\"}\0{}", sizeof(TOPIC_Q1) + 18},
      {"{\"a\":1,}", 0},
      {"{\"a\" 1}", 0},
      {"{'topicName':'x'}", 0},
      {"{\"a\":1 /* c */}", 0},
      {"{\"a\":\"\xff\"}", 0},     /* invalid UTF-8, even where ignored */
      {"{\"a\":\"\xc3\x28\"}", 0}, /* bad continuation byte */
      /* strict UTF-8 anywhere: overlong, surrogate, past U+10FFFF */
      {"{\"a\":\"\xc0\xaf\"}", 0},
      {"{\"a\":\"\xed\xa0\x80\"}", 0},
      {"{\"a\":\"\xf4\x90\x80\x80\"}", 0},
      {"{\"a\":1}\v", 0},           /* \v and \f are not white space */
      {"{\"a\":\"tab\there\"}", 0}, /* raw control character */
      {"{\"a\":\"\\x41\"}", 0},     /* bad escape */
      {"{\"a\":\"\\u12G4\"}", 0},   /* bad \u escape */
      {"{\"a\":01}", 0},            /* leading zero */
      {"{\"a\":1.}", 0},
      {"{\"a\":+1}", 0},
      {"{\"a\":NaN}", 0},
      {"{\"a\":\"x\"", 0},
      {"\xef\xbb\xbf{}", 0}, /* byte-order mark */
      {"{\"topicName\":\"" TOPIC_Q1 "\"}}", 0},
      /* yajl 2.1 alone takes these (an unfinished trailing string). */
      {"{\"topicName\":\"" TOPIC_Q1 "\"}\"", 0},
      {"{\"topicName\":\"" TOPIC_Q1 "\"} \"}", 0},
      {"{}\"abc", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
    if (i == 0)
      len = 0;
    int status = obs_parse(parser, cases[i].text, len, &msg, err, sizeof(err));
    printf("# case %zu: %d %s\n", i, status, err);
    EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX, status);
  }
  /* NULL text with length 0 is the empty message. */
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX,
                obs_parse(parser, NULL, 0, &msg, err, sizeof(err)));
  OK(strstr(err, "empty") != NULL);
  /* White space around the document is fine. */
  CHECK_ZERO(parse(" \r\n\t{\"topicName\":\"" TOPIC_Q1 "\"} \n"));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  return 0;
}

DEF_TEST(error_text) {
  char text[2048];
  /* A long message with a marker far from the error: err holds the reason,
   * the offset, and at most 24 bytes of input. */
  size_t n = (size_t)snprintf(text, sizeof(text),
                              "{\"topicName\":\"" TOPIC_Q1
                              "\",\"secretish\":\"FARAWAY\",\"pad\":\"");
  memset(text + n, 'p', 400);
  n += 400;
  snprintf(text + n, sizeof(text) - n, "\",\"x\":[1,2,,3]}");
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX, parse(text));
  OK(strstr(err, "FARAWAY") == NULL);
  OK(strncmp(err, "invalid JSON: ", 14) == 0);
  OK(strstr(err, " at byte ") != NULL);
  const char *near = strstr(err, "near '");
  OK(near != NULL);
  OK(strlen(near) <= strlen("near ''") + 24);
  OK(strlen(err) < GEN_OBS_ERR_SIZE - 1);
  /* Truncation says so. */
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX, parse("{\"topicName\":\"" TOPIC_Q1 "\""));
  OK(strstr(err, "truncated") != NULL);
  /* Non-printable bytes are not copied into the log line. */
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX, parse("{\"a\":\"\x01\x02\x1b[31m\"}"));
  OK(strchr(err, '\x1b') == NULL && strchr(err, '\x01') == NULL);
  /* A small err buffer is filled safely, and err may be NULL. */
  char small[8];
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX,
                obs_parse(parser, "{", 1, &msg, small, sizeof(small)));
  EXPECT_EQ_INT(7, strlen(small));
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX, obs_parse(parser, "{", 1, &msg, NULL, 0));
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX, obs_parse(parser, "{", 1, &msg, small, 0));
  return 0;
}

DEF_TEST(api) {
  errno = 0;
  OK(gen_obs_parser_new(GEN_OBS_DEPTH_LIMIT + 1) == NULL && errno == EINVAL);
  gen_obs_parser_t *p = gen_obs_parser_new(GEN_OBS_DEPTH_LIMIT);
  OK(p != NULL);
  gen_obs_parser_free(p);
  gen_obs_parser_free(NULL);
  EXPECT_EQ_INT(GEN_OBS_ERR_ARG,
                obs_parse(NULL, "{}", 2, &msg, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_ERR_ARG,
                obs_parse(parser, "{}", 2, NULL, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_ERR_ARG,
                obs_parse(parser, NULL, 2, &msg, err, sizeof(err)));
  /* refused before a byte is read: no topic read from the text either */
  EXPECT_EQ_INT(GEN_OBS_ERR_TOO_LARGE,
                gen_obs_parse(parser, TOPIC_Q1, "{}", GEN_OBS_MAX_LEN + 1, &msg,
                              err, sizeof(err)));
  /* Names. */
  EXPECT_EQ_STR("oWaiting", gen_obs_metric_name(GEN_OBS_M_WAITING));
  EXPECT_EQ_STR("oUserPresences",
                gen_obs_metric_name(GEN_OBS_M_USER_PRESENCES));
  OK(gen_obs_metric_name(GEN_OBS_M_UNKNOWN) == NULL);
  OK(gen_obs_metric_name(GEN_OBS_M_COUNT) == NULL);
  OK(gen_obs_metric_name((gen_obs_metric_t)-1) == NULL);
  for (int m = 1; m < GEN_OBS_M_COUNT; m++)
    OK(gen_obs_metric_name((gen_obs_metric_t)m) != NULL);
  EXPECT_EQ_STR("invalid JSON", gen_strerror(GEN_OBS_ERR_SYNTAX));
  EXPECT_EQ_STR("unknown error", gen_strerror(GEN_ERR_OBS - 99));
  return 0;
}

DEF_TEST(big_messages_use_the_arena) {
  /* 300 KB of escaped text in an ignored key, and the same text cut off
   * inside the string: the decode buffer grows to the message, and is
   * given back after. */
  size_t big = 300000;
  char *text = malloc(big + 256);
  OK(text != NULL);
  size_t n = (size_t)snprintf(text, big + 256,
                              "{\"topicName\":\"" TOPIC_Q1 "\","
                              "\"blob\":\"");
  for (size_t i = 0; i < big / 6; i++) {
    memcpy(text + n, "\\u00e9", 6);
    n += 6;
  }
  size_t cut = n;
  n += (size_t)snprintf(text + n, 256, "\",\"eventBody\":{}}");
  gen_obs_parser_t *p = gen_obs_parser_new(0);
  OK(p != NULL);
  int s1 = obs_parse(p, text, n, &msg, err, sizeof(err));
  int s2 = obs_parse(p, text, cut, &msg, err, sizeof(err));
  gen_obs_stats_t st;
  gen_obs_parser_stats(p, &st);
  gen_obs_parser_free(p);
  free(text);
  CHECK_ZERO(s1);
  EXPECT_EQ_INT(GEN_OBS_ERR_SYNTAX, s2);
  printf("# arena: size %zu, peak %zu, heap allocs %" PRIu64 "\n",
         st.arena_size, st.arena_peak, st.heap_allocs);
  OK(st.arena_peak > big);                 /* the buffer was grown for it */
  OK(st.arena_size <= GEN_OBS_ARENA_KEEP); /* and it was given back */
  return 0;
}

/* Parsing many messages with one parser: exact results every time (nothing
 * carries over) and, after the first, no heap allocation at all. */
DEF_TEST(reuse_without_bleed_or_allocation) {
  char big_text[8192];
  size_t n = (size_t)snprintf(big_text, sizeof(big_text),
                              "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{"
                              "\"group\":{\"queueId\":\"qq\",\"mediaType\":"
                              "\"email\"},\"data\":[{\"metrics\":[");
  for (int i = 0; i < GEN_OBS_MAX_ITEMS + 1; i++)
    n += (size_t)snprintf(big_text + n, sizeof(big_text) - n,
                          "%s{\"metric\":\"oUserPresences\",\"qualifier\":"
                          "\"Q%d\",\"stats\":{\"count\":%d,"
                          "\"calculatedMetricValue\":%d}}",
                          i ? "," : "", i, i, i);
  snprintf(big_text + n, sizeof(big_text) - n, "]}]}}");
  const char *hb = "{\"topicName\":\"channel.metadata\",\"eventBody\":{"
                   "\"message\":\"pong\"}}";
  const char *other = "{\"topicName\":\"v2.users.u.activity\"}";
  const char *bad = "{\"topicName\":\"" TOPIC_Q1 "\",\"eventBody\":{\"group\":"
                    "{\"queueId\":\"zz\"},\"data\":[{\"metrics\":[{\"metric\":"
                    "\"oWaiting\",\"stats\":{\"count\":-5}}]}]}}";
  const char *minimal = "{\"topicName\":\"" TOPIC_Q1 "\"}";
  gen_obs_parser_t *p = gen_obs_parser_new(0);
  OK(p != NULL);
  gen_obs_stats_t before, after;
  for (int i = 0; i < 1000; i++) {
    if (i == 10)
      gen_obs_parser_stats(p, &before);
    int status;
    switch (i % 6) {
    case 0:
      status = obs_parse(p, big_text, strlen(big_text), &msg, err, sizeof(err));
      if (status != 0 || msg.n_items != GEN_OBS_MAX_ITEMS || !msg.truncated ||
          strcmp(msg.queue_id, "qq") != 0 ||
          strcmp(msg.media_type, "email") != 0 || msg.items[5].count != 5 ||
          msg.items[5].calculated_value != 5.0 ||
          strcmp(msg.items[63].qualifier, "Q63") != 0) {
        printf("not ok - big message %d: %d %s\n", i, status, err);
        return -1;
      }
      break;
    case 1:
      status = obs_parse(p, hb, strlen(hb), &msg, err, sizeof(err));
      if (status != 0 || msg.topic != GEN_OBS_TOPIC_OTHER || msg.n_items != 0 ||
          msg.truncated || msg.queue_id[0] || msg.media_type[0]) {
        printf("not ok - channel.metadata %d\n", i);
        return -1;
      }
      break;
    case 2:
      status = obs_parse(p, sample, strlen(sample), &msg, err, sizeof(err));
      if (status != 0 || msg.n_items != 3 || msg.truncated ||
          msg.items[0].has_value || !msg.items[1].has_value ||
          msg.items[0].qualifier[0] != '\0' ||
          strcmp(msg.media_type, "voice") != 0) {
        printf("not ok - sample %d\n", i);
        return -1;
      }
      break;
    case 3:
      status = obs_parse(p, bad, strlen(bad), &msg, err, sizeof(err));
      if (status != GEN_OBS_ERR_VALUE || msg.n_items != 0 ||
          msg.queue_id[0] != '\0') {
        printf("not ok - bad %d\n", i);
        return -1;
      }
      break;
    case 4:
      status = obs_parse(p, other, strlen(other), &msg, err, sizeof(err));
      if (status != 0 || msg.topic != GEN_OBS_TOPIC_OTHER || msg.n_items != 0 ||
          err[0]) {
        printf("not ok - other %d\n", i);
        return -1;
      }
      break;
    default:
      status = obs_parse(p, minimal, strlen(minimal), &msg, err, sizeof(err));
      if (status != 0 || msg.topic != GEN_OBS_TOPIC_QUEUE_OBSERVATIONS ||
          msg.n_items != 0 || msg.n_unknown != 0 || msg.truncated ||
          msg.queue_id[0] || msg.media_type[0]) {
        printf("not ok - minimal %d\n", i);
        return -1;
      }
      break;
    }
  }
  gen_obs_parser_stats(p, &after);
  gen_obs_parser_free(p);
  printf("# %" PRIu64 " messages, decode buffer %zu bytes (peak %zu)\n",
         after.messages, after.arena_size, after.arena_peak);
  EXPECT_EQ_UINT64(1000, after.messages);
  /* No growth of the buffer: its first 16 KiB hold the 7 KB message. */
  EXPECT_EQ_UINT64(before.heap_allocs, after.heap_allocs);
  OK(after.heap_allocs <= 1);
  return 0;
}

/* The groups of a query answer, as each sees them, and its mappings. */
typedef struct {
  char seen[512];
  char mapped[256];
  gen_obs_item_t items[GEN_OBS_MAX_ITEMS];
  size_t n;      /* of the last group */
  size_t groups; /* called back */
  int refuse;    /* what mapping returns */
} groups_t;
static void each_group(void *ud, const char *queue_id, const char *media_type,
                       const gen_obs_item_t *items, size_t n) {
  groups_t *g = ud;
  size_t off = strlen(g->seen);
  snprintf(g->seen + off, sizeof(g->seen) - off, "%s/%s/%zu;",
           queue_id ? queue_id : "-", media_type ? media_type : "-", n);
  memcpy(g->items, items, n * sizeof(*items));
  g->n = n;
  g->groups++;
}
static int each_mapping(void *ud, const char *id, const char *system) {
  groups_t *g = ud;
  size_t off = strlen(g->mapped);
  /* Before any group: the groups' presence ids are read through them. */
  snprintf(g->mapped + off, sizeof(g->mapped) - off, "%s=%s%s;", id, system,
           g->seen[0] ? " (after a group)" : "");
  return g->refuse;
}
static int read_answer(const char *text, groups_t *g) {
  char why[128] = "";
  int n = gen_obs_query_read(text, text ? strlen(text) : 0, "queueId",
                             each_mapping, each_group, g, why, sizeof(why));
  if (n < 0)
    snprintf(g->seen, sizeof(g->seen), "error %d: %s", n, why);
  return n;
}

DEF_TEST(observations_query_answer_as_items) {
  /* The REST form of the same observations: one result group's data[]. */
  groups_t g = {0};
  EXPECT_EQ_INT(
      1,
      read_answer(
          "{\"results\":[{\"data\":["
          "{\"metric\":\"oWaiting\",\"stats\":{\"count\":2},"
          "\"observations\":[{\"observationDate\":\"2026-05-14T10:00:05Z\"},"
          "{\"observationDate\":\"2026-05-14T10:00:01.500Z\"},"
          "{\"observationDate\":7},{}]},"
          "{\"metric\":\"oLongestWaiting\",\"stats\":{\"calculatedMetricValue\""
          ":12}},"
          "{\"metric\":\"oMemberUsers\",\"qualifier\":\"IDLE\",\"stats\":{"
          "\"count\":-3}},"
          "{\"metric\":\"oMystery\",\"stats\":{\"count\":1}},"
          "{\"metric\":\"oInteracting\"},"
          "{\"metric\":\"oAlerting\",\"stats\":[]},"
          "{\"metric\":7,\"stats\":{\"count\":1}},"
          "{\"stats\":{\"count\":1}},"
          "\"x\",[{\"metric\":\"oWaiting\",\"stats\":{}}],"
          "{\"metric\":\"oActiveUsers\",\"stats\":{\"count\":3.0}},"
          "{\"metric\":\"oActiveUsers\",\"stats\":{\"count\":3.5}},"
          "{\"metric\":\"oActiveUsers\",\"stats\":{\"count\":1e30}},"
          "{\"metric\":\"oActiveUsers\",\"stats\":{\"count\":"
          "99999999999999999999}},"
          "{\"metric\":\"oActiveUsers\",\"stats\":{\"count\":\"3\"}},"
          "{\"metric\":\"oLongestInteracting\",\"stats\":{\"count\":1,"
          "\"calculatedMetricValue\":\"12\"}}"
          "]}]}",
          &g));
  EXPECT_EQ_STR("-/-/9;", g.seen);
  EXPECT_EQ_INT(GEN_OBS_M_WAITING, g.items[0].metric);
  OK(g.items[0].has_count && g.items[0].count == 2);
  EXPECT_EQ_INT(1778752801500LL, g.items[0].since_ms); /* the earliest */
  EXPECT_EQ_INT(GEN_OBS_M_LONGEST_WAITING, g.items[1].metric);
  OK(g.items[1].has_value && g.items[1].calculated_value == 12);
  OK(!g.items[1].has_count);
  EXPECT_EQ_INT(1778752801500LL, g.items[1].since_ms); /* the waiting's */
  EXPECT_EQ_STR("IDLE", g.items[2].qualifier);
  OK(!g.items[2].has_count); /* negative: absent */
  /* oAlerting with stats an array, a metric 7, no metric: left out. */
  EXPECT_EQ_INT(GEN_OBS_M_ACTIVE_USERS, g.items[3].metric);
  OK(g.items[3].has_count && g.items[3].count == 3); /* 3.0 */
  OK(!g.items[4].has_count);                         /* 3.5 */
  OK(!g.items[5].has_count);                         /* 1e30 */
  OK(!g.items[6].has_count); /* past int64, as json-c saturates it */
  OK(!g.items[7].has_count); /* a string */
  EXPECT_EQ_INT(GEN_OBS_M_LONGEST_INTERACTING, g.items[8].metric);
  OK(g.items[8].has_count && !g.items[8].has_value);
  EXPECT_EQ_INT(0, g.items[8].since_ms);
  return 0;
}

DEF_TEST(observations_query_answer_by_group) {
  groups_t g = {0};
  EXPECT_EQ_INT(
      5, read_answer(
             "{\"results\":[{\"group\":{\"queueId\":\"q1\",\"mediaType\":"
             "\"voice\"},\"data\":[{\"metric\":\"oWaiting\",\"stats\":{"
             "\"count\":3}}]},{\"data\":[{"
             "\"metric\":\"oMemberUsers\",\"stats\":{\"count\":5}},{\"metric\":"
             "\"oActiveUsers\",\"stats\":{\"count\":4}}],"
             "\"group\":{\"queueId\":\"q1\"}},{\"group\":{"
             "\"queueId\":7},\"data\":\"x\"},{},\"x\",[],"
             "{\"group\":{\"queueId\":\"q2\",\"mediaType\":5}}]}",
             &g));
  /* Group after data; a queue id not a string; a result that is not an
   * object is no group; a media type not a string is no user group. */
  EXPECT_EQ_STR("q1/voice/1;q1/-/2;-/-/0;-/-/0;q2//0;", g.seen);
  groups_t empty = {0};
  EXPECT_EQ_INT(0, read_answer("{\"results\":{}}", &empty));
  EXPECT_EQ_INT(0, read_answer("[{\"results\":[{}]}]", &empty));
  EXPECT_EQ_INT(0, read_answer("", &empty)); /* an empty answer is {} */
  EXPECT_EQ_INT(0, read_answer(NULL, &empty));
  EXPECT_EQ_STR("", empty.seen);
  return 0;
}

DEF_TEST(observations_query_answer_repeats_and_limits) {
  /* Where a member repeats the last counts, wrong-typed or not. */
  groups_t g = {0};
  EXPECT_EQ_INT(
      2, read_answer(
             "{\"results\":[{\"group\":{\"queueId\":\"q1\",\"mediaType\":"
             "\"voice\",\"queueId\":\"q9\"},\"group\":{\"queueId\":\"q2\"},"
             "\"data\":[{\"metric\":\"oWaiting\",\"stats\":{\"count\":1}}],"
             "\"data\":[{\"metric\":\"oAlerting\",\"metric\":\"oWaiting\","
             "\"stats\":{\"count\":1},\"stats\":{\"calculatedMetricValue\":2},"
             "\"observations\":[{\"observationDate\":\"2026-05-14T10:00:01Z\"}"
             "],\"observations\":null}]},"
             "{\"group\":{\"queueId\":\"q3\",\"queueId\":[]}}]}",
             &g));
  EXPECT_EQ_STR("q2/-/1;-/-/0;", g.seen);
  memset(&g, 0, sizeof(g));
  EXPECT_EQ_INT(1, read_answer("{\"results\":[{\"data\":[{\"metric\":"
                               "\"oWaiting\",\"metric\":\"oAlerting\","
                               "\"stats\":{\"count\":1}}]}]}",
                               &g));
  EXPECT_EQ_INT(GEN_OBS_M_ALERTING, g.items[0].metric);
  OK(g.items[0].has_count && g.items[0].count == 1);

  /* An id too long for one is no queue; a media type too long for one is
   * an unknown one; a qualifier is cut to its field. */
  char text[4096];
  char long_id[200];
  memset(long_id, 'a', sizeof(long_id) - 1);
  long_id[sizeof(long_id) - 1] = '\0';
  snprintf(text, sizeof(text),
           "{\"results\":[{\"group\":{\"queueId\":\"%s\"}},{\"group\":{"
           "\"queueId\":\"q1\",\"mediaType\":\"%.40s\"},\"data\":[{\"metric\":"
           "\"oWaiting\",\"qualifier\":\"%s\",\"stats\":{}}]}]}",
           long_id, long_id, long_id);
  memset(&g, 0, sizeof(g));
  EXPECT_EQ_INT(2, read_answer(text, &g));
  EXPECT_EQ_STR("-/-/0;q1//1;", g.seen);
  EXPECT_EQ_INT(63, strlen(g.items[0].qualifier));

  /* At most GEN_OBS_MAX_ITEMS items a group. */
  size_t off =
      (size_t)snprintf(text, sizeof(text), "{\"results\":[{\"data\":[");
  for (int i = 0; i < GEN_OBS_MAX_ITEMS + 3; i++)
    off += (size_t)snprintf(text + off, sizeof(text) - off,
                            "%s{\"metric\":\"oWaiting\",\"stats\":{}}",
                            i ? "," : "");
  snprintf(text + off, sizeof(text) - off, "]}]}");
  memset(&g, 0, sizeof(g));
  EXPECT_EQ_INT(1, read_answer(text, &g));
  EXPECT_EQ_INT(GEN_OBS_MAX_ITEMS, g.n);
  return 0;
}

DEF_TEST(observations_query_answer_mappings_and_errors) {
  /* The mappings come first, wherever they stand. */
  groups_t g = {0};
  EXPECT_EQ_INT(
      1,
      read_answer("{\"results\":[{\"group\":{\"queueId\":\"q1\"}}],"
                  "\"systemToOrganizationMappings\":{\"ON_QUEUE\":[\"p-onq\"],"
                  "\"MEAL\":[\"p-meal\",7,\"p-lunch\"],\"BUSY\":\"p-x\","
                  "\"AWAY\":{\"id\":\"p-y\"}}}",
                  &g));
  EXPECT_EQ_STR("p-onq=ON_QUEUE;p-meal=MEAL;p-lunch=MEAL;", g.mapped);
  EXPECT_EQ_STR("q1/-/0;", g.seen);
  /* A mapping's error stops the read with it, before any group. */
  groups_t refused = {.refuse = -ENOMEM};
  EXPECT_EQ_INT(
      -ENOMEM,
      gen_obs_query_read(
          "{\"systemToOrganizationMappings\":{\"MEAL\":[\"p\"]},"
          "\"results\":[{}]}",
          strlen("{\"systemToOrganizationMappings\":{\"MEAL\":[\"p\"]},"
                 "\"results\":[{}]}"),
          "queueId", each_mapping, each_group, &refused, NULL, 0));
  EXPECT_EQ_STR("", refused.seen);
  /* Not JSON, strictly: an error saying where, and no group at all. */
  const char *bad[] = {
      "{\"results\":[{}]",                                  /* truncated */
      "{\"results\":[{},]}",                                /* trailing comma */
      "{\"results\":[{}]} x",                               /* trailing data */
      "{\"results\":[{\"group\":{\"queueId\":\"\xff\"}}]}", /* not UTF-8 */
      "{\"systemToOrganizationMappings\":{\"MEAL\":[\"p\"]},\"results\":[{"
      "\"group\":{\"queueId\":\"q1\"}}]} x", /* wrong only at its end */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    memset(&g, 0, sizeof(g));
    EXPECT_EQ_INT(-EINVAL, read_answer(bad[i], &g));
    OK(strstr(g.seen, " at byte ") != NULL);
    EXPECT_EQ_STR("", g.mapped); /* nothing called back */
    EXPECT_EQ_INT(0, g.groups);
  }
  /* Deeper than gen_json_parse reads. */
  char deep[256] = "";
  for (int i = 0; i <= GEN_JSON_MAX_DEPTH; i++)
    strcat(deep, "[");
  for (int i = 0; i <= GEN_JSON_MAX_DEPTH; i++)
    strcat(deep, "]");
  memset(&g, 0, sizeof(g));
  EXPECT_EQ_INT(-EINVAL, read_answer(deep, &g));
  return 0;
}

/* The oracle: the answer read as a json-c document, the way the baseline
 * read it before gen_obs_query_read (results that are not objects left
 * out, a mediaType not a string read as ""), printed into out. */
static void olog_items(gen_buf_t *o, const gen_obs_item_t *items, size_t n) {
  for (size_t i = 0; i < n; i++)
    gen_buf_printf(o, "(%d,%s,%d,%" PRId64 ",%d,%.17g,%" PRId64 ")",
                   items[i].metric, items[i].qualifier, items[i].has_count,
                   items[i].count, items[i].has_value,
                   items[i].calculated_value, items[i].since_ms);
}
static void oracle(json_object *doc, gen_buf_t *o) {
  json_object *maps = gen_json_get_object(doc, "systemToOrganizationMappings");
  if (maps != NULL) {
    json_object_object_foreach(maps, system, ids) {
      size_t n = json_object_is_type(ids, json_type_array)
                     ? json_object_array_length(ids)
                     : 0;
      for (size_t i = 0; i < n; i++) {
        json_object *id = json_object_array_get_idx(ids, i);
        if (json_object_is_type(id, json_type_string))
          gen_buf_printf(o, "%s=%s;", json_object_get_string(id), system);
      }
    }
  }
  json_object *results = gen_json_get_array(doc, "results");
  size_t len = results ? json_object_array_length(results) : 0;
  for (size_t r = 0; r < len; r++) {
    json_object *result = json_object_array_get_idx(results, r);
    if (!json_object_is_type(result, json_type_object))
      continue;
    json_object *group = gen_json_get_object(result, "group"), *v = NULL;
    const char *q = gen_json_get_string(group, "queueId");
    const char *media = NULL;
    if (json_object_is_type(group, json_type_object) &&
        json_object_object_get_ex(group, "mediaType", &v))
      media = json_object_is_type(v, json_type_string)
                  ? json_object_get_string(v)
                  : "";
    gen_obs_item_t items[GEN_OBS_MAX_ITEMS];
    size_t n = 0;
    json_object *data = gen_json_get_array(result, "data");
    size_t dl = data ? json_object_array_length(data) : 0;
    for (size_t i = 0; i < dl && n < GEN_OBS_MAX_ITEMS; i++) {
      json_object *d = json_object_array_get_idx(data, i);
      const char *metric = gen_json_get_string(d, "metric");
      json_object *stats = gen_json_get_object(d, "stats");
      if (metric == NULL || stats == NULL)
        continue;
      gen_obs_item_t *it = &items[n];
      memset(it, 0, sizeof(*it));
      for (int m = GEN_OBS_M_UNKNOWN + 1; m < GEN_OBS_M_COUNT; m++)
        if (strcmp(gen_obs_metric_name((gen_obs_metric_t)m), metric) == 0)
          it->metric = (gen_obs_metric_t)m;
      if (it->metric == GEN_OBS_M_UNKNOWN)
        continue;
      const char *qual = gen_json_get_string(d, "qualifier");
      if (qual)
        snprintf(it->qualifier, sizeof(it->qualifier), "%s", qual);
      it->has_count =
          gen_json_get_int64(stats, "count", &it->count) && it->count >= 0;
      if (!it->has_count)
        it->count = 0;
      it->has_value = gen_json_get_double(stats, "calculatedMetricValue",
                                          &it->calculated_value);
      if (!it->has_value)
        it->calculated_value = 0;
      json_object *obs = gen_json_get_array(d, "observations");
      size_t ol = obs ? json_object_array_length(obs) : 0;
      for (size_t k = 0; k < ol; k++) {
        const char *date = gen_json_get_string(
            json_object_array_get_idx(obs, k), "observationDate");
        int64_t ms;
        if (date != NULL && gen_time_parse(date, &ms) == 0 && ms > 0 &&
            (it->since_ms == 0 || ms < it->since_ms))
          it->since_ms = ms;
      }
      n++;
    }
    for (size_t i = 0; i < n; i++) { /* the longest from the counts' dates */
      gen_obs_metric_t c = items[i].metric == GEN_OBS_M_LONGEST_WAITING
                               ? GEN_OBS_M_WAITING
                           : items[i].metric == GEN_OBS_M_LONGEST_INTERACTING
                               ? GEN_OBS_M_INTERACTING
                               : GEN_OBS_M_UNKNOWN;
      for (size_t j = 0; c != GEN_OBS_M_UNKNOWN && j < n; j++)
        if (items[j].metric == c && items[j].since_ms > 0 &&
            items[i].since_ms == 0)
          items[i].since_ms = items[j].since_ms;
    }
    gen_buf_printf(o, "[%s/%s/%zu:", q ? q : "-", media ? media : "-", n);
    olog_items(o, items, n);
    gen_buf_printf(o, "]");
  }
}
static int ours_mapping(void *ud, const char *id, const char *system) {
  gen_buf_printf(ud, "%s=%s;", id, system);
  return 0;
}
static void ours_group(void *ud, const char *queue_id, const char *media_type,
                       const gen_obs_item_t *items, size_t n) {
  gen_buf_printf(ud, "[%s/%s/%zu:", queue_id ? queue_id : "-",
                 media_type ? media_type : "-", n);
  olog_items(ud, items, n);
  gen_buf_printf(ud, "]");
}

/* Whether text has a number outside strings that RFC 8259's grammar does
 * not allow: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool non_rfc_number(const char *t, size_t n) {
  bool in_string = false;
  for (size_t i = 0; i < n; i++) {
    if (in_string) {
      if (t[i] == '\\')
        i++;
      else if (t[i] == '"')
        in_string = false;
      continue;
    }
    if (t[i] == '"') {
      in_string = true;
      continue;
    }
    if (t[i] != '-' && (t[i] < '0' || t[i] > '9'))
      continue;
    size_t e = i;
    while (e < n && strchr("0123456789+-.eE", t[e]) != NULL)
      e++;
    size_t k = i;
    k += t[k] == '-';
    if (k < e && t[k] == '0')
      k++;
    else if (k < e && t[k] >= '1' && t[k] <= '9')
      while (k < e && t[k] >= '0' && t[k] <= '9')
        k++;
    else
      return true;
    if (k < e && t[k] == '.') {
      size_t d = ++k;
      while (k < e && t[k] >= '0' && t[k] <= '9')
        k++;
      if (k == d)
        return true;
    }
    if (k < e && (t[k] == 'e' || t[k] == 'E')) {
      k++;
      if (k < e && (t[k] == '+' || t[k] == '-'))
        k++;
      size_t d = k;
      while (k < e && t[k] >= '0' && t[k] <= '9')
        k++;
      if (k == d)
        return true;
    }
    if (k != e)
      return true;
    i = e - 1;
  }
  return false;
}

/* Mutated answers (ASCII, so that json-c and gen_jscan judge alike): where
 * json-c reads a text strictly, gen_obs_query_read reads the same groups,
 * items and mappings from it; where json-c refuses it, so does it. */
DEF_TEST(observations_query_answer_read_as_json_c_reads_it) {
  static const char base[] =
      "{\"systemToOrganizationMappings\":{\"ON_QUEUE\":[\"p1\"],\"MEAL\":"
      "[\"p2\",\"p3\"]},\"results\":[{\"group\":{\"queueId\":\"q1\","
      "\"mediaType\":\"voice\"},\"data\":[{\"metric\":\"oWaiting\",\"stats\":"
      "{\"count\":2},\"observations\":[{\"observationDate\":"
      "\"2026-05-14T10:00:05Z\"}]},{\"metric\":\"oLongestWaiting\",\"stats\":"
      "{\"count\":2,\"calculatedMetricValue\":1.5e3}},{\"metric\":"
      "\"oInteracting\",\"stats\":{\"count\":10}}]},{\"group\":{\"queueId\":"
      "\"q1\"},\"data\":[{\"metric\":\"oUserPresences\",\"qualifier\":\"p1\","
      "\"stats\":{\"count\":4}},{\"metric\":\"oMemberUsers\",\"stats\":"
      "{\"count\":-1}},{\"metric\":\"oOnQueueUsers\",\"qualifier\":\"IDLE\","
      "\"stats\":{\"count\":3.0}}]}]}";
  static const char alphabet[] = "{}[]\":,\\ 0123456789-+.eEtrufalsnxq1";
  unsigned seed = 4242;
  size_t both = 0, refused = 0, stricter = 0;
  for (int round = 0; round < 20000; round++) {
    char text[sizeof(base) + 8];
    size_t n = sizeof(base) - 1;
    memcpy(text, base, n);
    n = mutate_text(text, n, sizeof(text), alphabet, &seed);
    /* The old path: gen_json_parse (strict json-c, bounds, no trailing). */
    json_object *doc = NULL;
    char jerr[128];
    bool jc = gen_json_parse(text, n, GEN_JSON_MAX_DEPTH, &doc, jerr,
                             sizeof(jerr)) == 0;
    gen_buf_t want = GEN_BUF_INIT(SIZE_MAX), got = GEN_BUF_INIT(SIZE_MAX);
    char why[128];
    int st = gen_obs_query_read(text, n, "queueId", ours_mapping, ours_group,
                                &got, why, sizeof(why));
    if (jc)
      oracle(doc, &want);
    json_object_put(doc);
    /* json-c takes numbers RFC 8259 does not ("1.e3", "03"): those
     * gen_jscan refuses, strictly. */
    bool stricter_number = jc && st == -EINVAL && non_rfc_number(text, n);
    bool alike =
        jc == (st >= 0) && strcmp(gen_buf_str(&want), gen_buf_str(&got)) == 0;
    if (!stricter_number && !alike)
      printf("not ok - round %d: json-c %s, ours %d (%s)\n# text %.*s\n"
             "# json-c %s\n# ours   %s\n",
             round, jc ? "reads it" : "refuses it", st, st < 0 ? why : "",
             (int)n, text, gen_buf_str(&want), gen_buf_str(&got));
    gen_buf_free(&want);
    gen_buf_free(&got);
    if (stricter_number) {
      stricter++;
      continue;
    }
    if (!alike)
      return -1;
    both += jc;
    refused += !jc;
  }
  printf("# %zu read alike, %zu refused by both, %zu numbers json-c takes "
         "and RFC 8259 does not\n",
         both, refused, stricter);
  OK(both > 1000 && refused > 1000);
  return 0;
}

/* Each thread its own parser, the same one at every call, usable. */
static void *other_thread(void *arg) {
  gen_obs_parser_t **out = arg;
  *out = gen_obs_thread_parser();
  return NULL; /* the parser goes with the thread (ASan and valgrind see) */
}

DEF_TEST(a_parser_per_thread) {
  gen_obs_parser_t *mine = gen_obs_thread_parser();
  CHECK_NOT_NULL(mine);
  OK(gen_obs_thread_parser() == mine);
  gen_obs_parser_t *theirs = NULL;
  pthread_t t;
  OK(pthread_create(&t, NULL, other_thread, &theirs) == 0);
  pthread_join(t, NULL);
  OK(theirs != NULL && theirs != mine);
  EXPECT_EQ_INT(
      0, obs_parse(mine, sample, strlen(sample), &msg, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  return 0;
}

int main(void) {
  parser = gen_obs_parser_new(0);
  if (parser == NULL)
    return 1;
  RUN_TEST(sample);
  RUN_TEST(keys_in_any_order);
  RUN_TEST(user_group_and_media_group);
  RUN_TEST(qualifiers);
  RUN_TEST(longest_waiting_value);
  RUN_TEST(topics);
  RUN_TEST(unknown_content_skipped);
  RUN_TEST(too_many_items);
  RUN_TEST(escapes);
  RUN_TEST(long_strings);
  RUN_TEST(every_prefix_is_an_error);
  RUN_TEST(wrong_types);
  RUN_TEST(bad_values);
  RUN_TEST(depth);
  RUN_TEST(empty_garbage_and_bad_bytes);
  RUN_TEST(error_text);
  RUN_TEST(api);
  RUN_TEST(big_messages_use_the_arena);
  RUN_TEST(reuse_without_bleed_or_allocation);
  gen_obs_parser_free(parser);
  RUN_TEST(observations_query_answer_as_items);
  RUN_TEST(observations_query_answer_by_group);
  RUN_TEST(observations_query_answer_repeats_and_limits);
  RUN_TEST(observations_query_answer_mappings_and_errors);
  RUN_TEST(observations_query_answer_read_as_json_c_reads_it);
  RUN_TEST(a_parser_per_thread);
  END_TEST;
}
