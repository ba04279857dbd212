/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: tests of the streaming reader of conversation event
 * bodies (common/live/gen_conv_read.c, driven by gen_obs's one pass).
 */
#include "gen_conv_read.h"
#include "gen_obs.h"
#include "gen_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectd/core/testing.h"

#define Q1 "0b4a5c1e-8f7d-4c3b-9a21-3e6f5d4c2b1a"
#define TOPIC "v2.routing.queues." Q1 ".conversations"
#define T(hms) "\"2026-05-14T10:" hms "Z\""

/* An answered call in Q1, as tests/sim sends it (trimmed). */
#define BODY                                                                                                                                         \
  "{\"id\":\"c1\",\"maxParticipants\":3,\"participants\":["                                                                                          \
  "{\"id\":\"p-cust\",\"purpose\":\"customer\",\"name\":\"x\","                                                                                      \
  "\"connectedTime\":" T(                                                                                                                            \
      "00:00") ",\"attributes\":{\"id\":\"no\","                                                                                                     \
               "\"calls\":[{\"state\":\"disconnected\"}]},"                                                                                          \
               "\"calls\":[{\"id\":\"s\",\"state\":\"connected\","                                                                                   \
               "\"direction\":"                                                                                                                      \
               "\"inbound\",\"held\":false,\"connectedTime\":" T(                                                                                    \
                   "00:00") "}]},"                                                                                                                   \
                            "{\"id\":\"p-ivr\",\"purpose\":\"ivr\","                                                                                 \
                            "\"endTime\":" T("00:04") "},"                                                                                           \
                                                      "{\"id\":\"p-acd\","                                                                           \
                                                      "\"purpose\":\"acd\","                                                                         \
                                                      "\"queueId\":\"" Q1                                                                            \
                                                      "\","                                                                                          \
                                                      "\"connectedTime\":" T("00:05") ",\"endTime\":" T(                                             \
                                                          "00:20") ","                                                                               \
                                                                   "\"calls\""                                                                       \
                                                                   ":[{"                                                                             \
                                                                   "\"state\""                                                                       \
                                                                   ":\"discon"                                                                       \
                                                                   "nected\","                                                                       \
                                                                   "\"disconn"                                                                       \
                                                                   "ectType\""                                                                       \
                                                                   ":\"transf"                                                                       \
                                                                   "er\","                                                                           \
                                                                   "\"connect"                                                                       \
                                                                   "edTime\""                                                                        \
                                                                   ":" T("00:"                                                                       \
                                                                         "05") ",\"disconnectedTime\":" T(                                           \
                                                                       "00:"                                                                         \
                                                                       "20") "}]},"                                                                  \
                                                                             "{\"id\":\"p-agent\",\"purpose\":\"agent\",\"queueId\":\"" Q1           \
                                                                             "\","                                                                   \
                                                                             "\"userId\":\"u1\",\"wrapupRequired\":true,\"alertingTimeoutMs\":8000," \
                                                                             "\"wrapup\":{\"code\":\"c\",\"tags\":[\"a\",{\"id\":1}]},"              \
                                                                             "\"calls\":[{\"state\":\"connected\",\"connectedTime\":" T(             \
                                                                                 "00:20") "}]}"                                                      \
                                                                                          "],\"recentTransfers\":[],\"divisions\":[{\"id\":\"d\"}]}"

static gen_obs_parser_t *parser;
static gen_obs_msg_t msg;
static gen_conv_snapshot_t snap;
static char err[GEN_OBS_ERR_SIZE];

static int64_t ms(const char *iso) {
  int64_t v = 0;
  gen_time_parse(iso, &v);
  return v;
}

/* A whole notification through the realtime plugin's call. */
static int message(const char *text) {
  int st = gen_obs_parse_conv(parser, NULL, text, strlen(text), &msg, &snap,
                              err, sizeof(err));
  if (st != 0)
    printf("# refused: %s\n", err);
  return st;
}

static int body(const char *text) {
  int st = gen_obs_parse_conv_body(parser, text, strlen(text), &snap, err,
                                   sizeof(err));
  if (st != 0)
    printf("# refused: %s\n", err);
  return st;
}

/* An eventBody with one participant object. */
static int one(const char *participant) {
  char text[4096];
  snprintf(text, sizeof(text), "{\"id\":\"c\",\"participants\":[%s]}",
           participant);
  return body(text);
}

DEF_TEST(whole_message_in_one_pass) {
  EXPECT_EQ_INT(0, message("{\"topicName\":\"" TOPIC "\",\"eventBody\":" BODY
                           ",\"metadata\":{\"CorrelationId\":\"x\"}}"));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_CONVERSATIONS, msg.topic);
  EXPECT_EQ_STR(TOPIC, msg.topic_name);
  EXPECT_EQ_STR("c1", snap.id);
  /* ivr dropped; customer, acd, agent in document order */
  EXPECT_EQ_INT(3, (int)snap.n_parts);
  OK(!snap.parts_truncated);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:20Z"), (uint64_t)snap.newest_ms);
  const gen_conv_part_t *c = &snap.parts[0], *q = &snap.parts[1],
                        *a = &snap.parts[2];
  EXPECT_EQ_INT(GEN_CONV_P_CUSTOMER, c->purpose);
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, c->state);
  EXPECT_EQ_STR("", c->queue_id);
  EXPECT_EQ_INT(GEN_CONV_P_ACD, q->purpose);
  EXPECT_EQ_STR(Q1, q->queue_id);
  EXPECT_EQ_INT(GEN_MEDIA_VOICE, q->media);
  EXPECT_EQ_INT(GEN_CONV_S_ENDED, q->state);
  OK(q->by_transfer);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:05Z"), (uint64_t)q->connected_ms);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:20Z"), (uint64_t)q->end_ms);
  EXPECT_EQ_INT(GEN_CONV_P_AGENT, a->purpose);
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, a->state);
  OK(!a->by_transfer);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:20Z"), (uint64_t)a->connected_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)a->end_ms);
  OK(c->id_hash != q->id_hash && q->id_hash != a->id_hash);

  /* The same with the body before the topic, and the topic in other case. */
  gen_conv_snapshot_t first = snap;
  EXPECT_EQ_INT(0, message("{\"eventBody\":" BODY ",\"topicName\":"
                           "\"V2.Routing.Queues." Q1 ".CONVERSATIONS\"}"));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_CONVERSATIONS, msg.topic);
  OK(memcmp(&first, &snap, sizeof(snap)) == 0);
  /* The bare body reads the same. */
  EXPECT_EQ_INT(0, body(BODY));
  OK(memcmp(&first, &snap, sizeof(snap)) == 0);

  /* Without a snapshot the topic is OTHER and parsing stops at it. */
  EXPECT_EQ_INT(
      0,
      gen_obs_parse(parser, "{\"topicName\":\"" TOPIC "\",\"eventBody\":[1,2,",
                    strlen("{\"topicName\":\"" TOPIC "\",\"eventBody\":[1,2,"),
                    &msg, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_OTHER, msg.topic);
  OK(msg.stopped_early);
  /* An id with a '.' is not a queue topic; other topics are untouched. */
  EXPECT_EQ_INT(0, message("{\"topicName\":\"v2.routing.queues.a.b."
                           "conversations\",\"eventBody\":{}}"));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_OTHER, msg.topic);
  EXPECT_EQ_INT(0, message("{\"topicName\":\"channel.metadata\","
                           "\"eventBody\":{\"message\":\"pong\"}}"));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_HEARTBEAT, msg.topic);
  EXPECT_EQ_STR("pong", msg.heartbeat_message);
  return 0;
}

DEF_TEST(purposes_states_and_transfers) {
  static const struct {
    const char *purpose;
    int want; /* -1: dropped */
  } purposes[] = {{"customer", GEN_CONV_P_CUSTOMER},
                  {"EXTERNAL", GEN_CONV_P_CUSTOMER},
                  {"acd", GEN_CONV_P_ACD},
                  {"Acd", GEN_CONV_P_ACD},
                  {"agent", GEN_CONV_P_AGENT},
                  {"user", GEN_CONV_P_AGENT},
                  {"ivr", -1},
                  {"workflow", -1},
                  {"acdx", -1}};
  for (size_t i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++) {
    char p[256];
    snprintf(p, sizeof(p), "{\"id\":\"p\",\"purpose\":\"%s\"}",
             purposes[i].purpose);
    EXPECT_EQ_INT(0, one(p));
    if (purposes[i].want < 0) {
      EXPECT_EQ_INT(0, (int)snap.n_parts);
    } else {
      EXPECT_EQ_INT(1, (int)snap.n_parts);
      EXPECT_EQ_INT(purposes[i].want, snap.parts[0].purpose);
      EXPECT_EQ_INT(-1, snap.parts[0].media);
      EXPECT_EQ_INT(GEN_CONV_S_NONE, snap.parts[0].state);
    }
  }
  static const struct {
    const char *state;
    gen_conv_state_t want;
  } states[] = {
      {"alerting", GEN_CONV_S_ALERTING},   {"offering", GEN_CONV_S_ALERTING},
      {"contacting", GEN_CONV_S_ALERTING}, {"DIALING", GEN_CONV_S_ALERTING},
      {"connected", GEN_CONV_S_CONNECTED}, {"disconnected", GEN_CONV_S_ENDED},
      {"terminated", GEN_CONV_S_ENDED},    {"held", GEN_CONV_S_NONE}};
  for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
    char p[256];
    snprintf(p, sizeof(p),
             "{\"id\":\"p\",\"purpose\":\"agent\",\"chats\":[{\"state\":"
             "\"%s\"}]}",
             states[i].state);
    EXPECT_EQ_INT(0, one(p));
    EXPECT_EQ_INT(GEN_MEDIA_CHAT, snap.parts[0].media);
    EXPECT_EQ_INT(states[i].want, snap.parts[0].state);
  }
  /* connected wins over alerting, alerting over ended, in any order */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"calls\":["
                       "{\"state\":\"disconnected\"},{\"state\":\"alerting\"},"
                       "{\"state\":\"connected\"}]}"));
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, snap.parts[0].state);
  EXPECT_EQ_INT(0,
                one("{\"id\":\"p\",\"purpose\":\"agent\",\"calls\":["
                    "{\"state\":\"disconnected\"},{\"state\":\"alerting\"}]}"));
  EXPECT_EQ_INT(GEN_CONV_S_ALERTING, snap.parts[0].state);

  /* disconnectType: "transfer" in any case and place, of the last ended
   * session that has one; the key may come before the state */
  static const struct {
    const char *type;
    bool want;
  } types[] = {{"transfer", true},       {"consultTransfer", true},
               {"TRANSFER.blind", true}, {"endpoint", false},
               {"transfe", false},       {"client", false}};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    char p[256];
    snprintf(p, sizeof(p),
             "{\"id\":\"p\",\"purpose\":\"acd\",\"queueId\":\"q\",\"calls\":"
             "[{\"disconnectType\":\"%s\",\"state\":\"disconnected\"}]}",
             types[i].type);
    EXPECT_EQ_INT(0, one(p));
    EXPECT_EQ_INT(types[i].want, snap.parts[0].by_transfer);
  }
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"acd\",\"calls\":["
                       "{\"state\":\"disconnected\",\"disconnectType\":"
                       "\"transfer\"},{\"state\":\"connected\","
                       "\"disconnectType\":\"client\"},{\"state\":"
                       "\"terminated\"}]}"));
  OK(snap.parts[0].by_transfer); /* later sessions had no say */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"acd\",\"calls\":["
                       "{\"state\":\"disconnected\",\"disconnectType\":"
                       "\"transfer\"},{\"state\":\"disconnected\","
                       "\"disconnectType\":\"client\"}]}"));
  OK(!snap.parts[0].by_transfer); /* the last ended one decides */
  return 0;
}

DEF_TEST(times_and_media_arrays) {
  /* Session times fill in what the participant lacks: the first
   * connectedTime, the last disconnectedTime once ended. */
  EXPECT_EQ_INT(
      0,
      one("{\"id\":\"p\",\"purpose\":\"agent\",\"emails\":["
          "{\"state\":\"disconnected\",\"connectedTime\":" T(
              "00:09") ",\"disconnectedTime\":" T("00:30") "},"
                                                           "{\"state\":"
                                                           "\"disconnected\","
                                                           "\"connectedTime\""
                                                           ":" T(
                                                               "00:03") ",\"dis"
                                                                        "connec"
                                                                        "tedTim"
                                                                        "e\""
                                                                        ":" T("00:"
                                                                              "40") "}]}"));
  const gen_conv_part_t *p = &snap.parts[0];
  EXPECT_EQ_INT(GEN_MEDIA_EMAIL, p->media);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:03Z"), (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:40Z"), (uint64_t)p->end_ms);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:40Z"), (uint64_t)snap.newest_ms);
  /* The participant's own times come first; endTime ends it unless a
   * session is connected. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\","
                       "\"connectedTime\":" T("00:01") ",\"endTime\":" T(
                           "00:02") ",\"calls\":[{\"state\":"
                                    "\"connected\",\"connectedTime\":" T(
                                        "00:05") "}]}"));
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:01Z"), (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:02Z"), (uint64_t)p->end_ms);
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, p->state);
  EXPECT_EQ_INT(
      0, one("{\"id\":\"p\",\"purpose\":\"acd\",\"endTime\":" T("00:02") "}"));
  EXPECT_EQ_INT(GEN_CONV_S_ENDED, p->state);
  EXPECT_EQ_INT(-1, p->media);
  /* The acw times only move newest_ms. */
  EXPECT_EQ_INT(0,
                one("{\"id\":\"p\",\"purpose\":\"agent\",\"startAcwTime\":" T(
                    "00:50") ",\"endAcwTime\":" T("00:55") "}"));
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:55Z"), (uint64_t)snap.newest_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)p->end_ms);
  /* So do the times of dropped (ivr) participants. */
  EXPECT_EQ_INT(
      0, one("{\"id\":\"p\",\"purpose\":\"ivr\",\"endTime\":" T("00:59") "}"));
  EXPECT_EQ_INT(0, (int)snap.n_parts);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:59Z"), (uint64_t)snap.newest_ms);

  /* The first non-empty array in gen_media_t order, wherever it stands;
   * only its session times count. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"chats\":[{"
                       "\"state\":\"connected\",\"connectedTime\":" T(
                           "00:44") "}],\"callbacks\":[{\"state\":"
                                    "\"alerting\"}],\"calls\":[]}"));
  EXPECT_EQ_INT(GEN_MEDIA_CALLBACK, p->media);
  EXPECT_EQ_INT(GEN_CONV_S_ALERTING, p->state);
  EXPECT_EQ_UINT64(0, (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)snap.newest_ms);
  /* An array of non-objects still is one: media set, no state. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"videos\":[{"
                       "\"state\":\"connected\"}],\"messages\":[7,null]}"));
  EXPECT_EQ_INT(GEN_MEDIA_MESSAGE, p->media);
  EXPECT_EQ_INT(GEN_CONV_S_NONE, p->state);
  static const char *const arrays[] = {
      "calls",    "callbacks",        "chats",  "emails",
      "messages", "cobrowsesessions", "videos", "screenshares"};
  for (int m = 0; m < GEN_MEDIA_COUNT; m++) {
    char text[256];
    snprintf(text, sizeof(text),
             "{\"id\":\"p\",\"purpose\":\"agent\",\"%s\":[{}]}", arrays[m]);
    EXPECT_EQ_INT(0, one(text));
    EXPECT_EQ_INT(m, p->media);
  }
  /* Unparsable times are absent. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"connectedTime\":"
                       "\"yesterday\",\"endTime\":\"\",\"calls\":[{"
                       "\"connectedTime\":\"2026-99-99T00:00:00Z\"}]}"));
  EXPECT_EQ_UINT64(0, (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)p->end_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)snap.newest_ms);
  return 0;
}

DEF_TEST(participants_overflow) {
  char text[16384];
  size_t n =
      (size_t)snprintf(text, sizeof(text), "{\"id\":\"c\",\"participants\":[");
  /* 40 counted participants with ivr ones between them */
  for (int i = 0; i < 40; i++)
    n += (size_t)snprintf(text + n, sizeof(text) - n,
                          "%s{\"id\":\"i%d\",\"purpose\":\"ivr\"},"
                          "{\"id\":\"p%d\",\"purpose\":\"acd\",\"queueId\":"
                          "\"q%d\"}",
                          i ? "," : "", i, i, i);
  snprintf(text + n, sizeof(text) - n, "]}");
  EXPECT_EQ_INT(0, body(text));
  EXPECT_EQ_INT(GEN_CONV_MAX_PARTS, (int)snap.n_parts);
  OK(snap.parts_truncated);
  EXPECT_EQ_STR("q0", snap.parts[0].queue_id);
  EXPECT_EQ_STR("q31", snap.parts[GEN_CONV_MAX_PARTS - 1].queue_id);
  /* Exactly the cap is not truncated. */
  n = (size_t)snprintf(text, sizeof(text), "{\"id\":\"c\",\"participants\":[");
  for (int i = 0; i < GEN_CONV_MAX_PARTS; i++)
    n += (size_t)snprintf(text + n, sizeof(text) - n,
                          "%s{\"id\":\"p%d\",\"purpose\":\"agent\"}",
                          i ? "," : "", i);
  snprintf(text + n, sizeof(text) - n, "]}");
  EXPECT_EQ_INT(0, body(text));
  EXPECT_EQ_INT(GEN_CONV_MAX_PARTS, (int)snap.n_parts);
  OK(!snap.parts_truncated);
  return 0;
}

DEF_TEST(unknown_fields_and_nesting_skipped) {
  /* Keys spelled like ours inside skipped values change nothing. */
  EXPECT_EQ_INT(
      0, body("{\"x\":{\"id\":\"no\",\"participants\":[{\"id\":\"z\","
              "\"purpose\":\"agent\"}]},\"id\":\"c\",\"y\":[[{\"calls\":[]}],"
              "{\"a\":{\"b\":{\"c\":[1,2,{\"d\":null}]}}}],\"participants\":["
              "{\"id\":\"p\",\"purpose\":\"acd\",\"queueId\":\"q\","
              "\"attributes\":{\"queueId\":\"no\",\"purpose\":\"agent\"},"
              "\"wrapup\":{\"endTime\":" T(
                  "00:59") "},\"calls\":[{"
                           "\"state\":\"connected\","
                           "\"extra\":{\"state\":"
                           "\"disconnected\"},"
                           "\"segments\":[{"
                           "\"connectedTime\":" T("00:58") "}]}]}],"
                                                           "\"z\":true,"
                                                           "\"n\":1.5e3}"));
  EXPECT_EQ_STR("c", snap.id);
  EXPECT_EQ_INT(1, (int)snap.n_parts);
  EXPECT_EQ_INT(GEN_CONV_P_ACD, snap.parts[0].purpose);
  EXPECT_EQ_STR("q", snap.parts[0].queue_id);
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, snap.parts[0].state);
  EXPECT_EQ_UINT64(0, (uint64_t)snap.newest_ms);
  /* An empty participants array is a conversation with nobody to count. */
  EXPECT_EQ_INT(0, body("{\"participants\":[],\"id\":\"c2\"}"));
  EXPECT_EQ_STR("c2", snap.id);
  EXPECT_EQ_INT(0, (int)snap.n_parts);
  return 0;
}

DEF_TEST(wrong_types) {
  /* Optional fields of another type (or null) are absent. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"queueId\":7,"
                       "\"connectedTime\":5,\"endTime\":null,\"calls\":{},"
                       "\"chats\":[{\"state\":1,\"disconnectType\":[]}]}"));
  const gen_conv_part_t *p = &snap.parts[0];
  EXPECT_EQ_STR("", p->queue_id);
  EXPECT_EQ_UINT64(0, (uint64_t)p->connected_ms);
  EXPECT_EQ_INT(GEN_MEDIA_CHAT, p->media); /* calls was not an array */
  EXPECT_EQ_INT(GEN_CONV_S_NONE, p->state);
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":[\"agent\"]}"));
  EXPECT_EQ_INT(0, (int)snap.n_parts); /* no purpose: not counted */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"calls\":[{"
                       "\"state\":\"disconnected\",\"disconnectType\":7}]}"));
  OK(!snap.parts[0].by_transfer);

  /* Required ones refuse the event. */
  static const char *const refused[] = {
      "[]",
      "7",
      "null",
      "{\"participants\":[]}",
      "{\"id\":7,\"participants\":[]}",
      "{\"id\":null,\"participants\":[]}",
      "{\"id\":\"\",\"participants\":[]}",
      "{\"id\":\"c\"}",
      "{\"id\":\"c\",\"participants\":{}}",
      "{\"id\":\"c\",\"participants\":null}",
      "{\"id\":\"c\",\"participants\":[3]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\"},[]]}",
      "{\"id\":\"c\",\"participants\":[{\"purpose\":\"acd\"}]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":5,\"purpose\":\"acd\"}]}",
      /* ivr or not, a participant needs an id */
      "{\"id\":\"c\",\"participants\":[{\"id\":null,\"purpose\":\"ivr\"}]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\",\"queueId\":\"\"}]}",
      /* 64 bytes: one too many, for the id and for queueId */
      "{\"id\":\"0123456789012345678901234567890123456789012345678901234567"
      "890123\",\"participants\":[]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\",\"queueId\":\""
      "0123456789012345678901234567890123456789012345678901234567890123"
      "\"}]}",
      /* not UTF-8 (an overlong '/', a surrogate), a NUL */
      "{\"id\":\"\xc0\xaf\",\"participants\":[]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"\xed\xa0\x80\"}]}",
      "{\"id\":\"c\\u0000\",\"participants\":[]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\",\"queueId\":\"q\\u0000"
      "\"}]}",
      /* a key this reader reads, twice in one object */
      "{\"id\":\"c\",\"id\":\"d\",\"participants\":[]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\",\"calls\":[],"
      "\"calls\":[]}]}",
  };
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    int st = body(refused[i]);
    if (st == 0)
      printf("# accepted: %s\n", refused[i]);
    OK(st == GEN_OBS_ERR_TYPE || st == GEN_OBS_ERR_VALUE ||
       st == GEN_OBS_ERR_SYNTAX);
    OK(err[0] != '\0');
  }
  /* 63 bytes is fine. */
  EXPECT_EQ_INT(0, body("{\"id\":\"012345678901234567890123456789012345678901"
                        "234567890123456789012\",\"participants\":[]}"));
  EXPECT_EQ_INT(63, (int)strlen(snap.id));

  /* In a notification: no eventBody, or not an object, refuses a
   * conversation event with its topic named. */
  OK(message("{\"topicName\":\"" TOPIC "\"}") == GEN_OBS_ERR_TYPE);
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_CONVERSATIONS, msg.topic);
  OK(message("{\"topicName\":\"" TOPIC "\",\"eventBody\":null}") ==
     GEN_OBS_ERR_TYPE);
  OK(message("{\"topicName\":\"" TOPIC "\",\"eventBody\":[]}") ==
     GEN_OBS_ERR_TYPE);
  OK(message("{\"eventBody\":{\"id\":5},\"topicName\":\"" TOPIC "\"}") ==
     GEN_OBS_ERR_TYPE);
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_CONVERSATIONS, msg.topic);
  /* A conversation-shaped mistake does not concern other topics. */
  EXPECT_EQ_INT(0, message("{\"eventBody\":{\"id\":5,\"participants\":7,"
                           "\"group\":{\"queueId\":\"" Q1 "\"},\"data\":[]},"
                           "\"topicName\":\"v2.analytics.queues." Q1
                           ".observations\"}"));
  EXPECT_EQ_INT(GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, msg.topic);
  EXPECT_EQ_STR(Q1, msg.queue_id);
  return 0;
}

DEF_TEST(malformed_and_truncated_json) {
  static const char *const bad[] = {
      "",
      "{",
      "{\"id\":\"c\",\"participants\":[]}x",
      "{\"id\":\"c\",\"participants\":[]}{}",
      "{\"id\":\"c\",\"participants\":[],}",
      "{\"id\":'c',\"participants\":[]}",
      "{\"id\":\"\\q\",\"participants\":[]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\"]}",
      "{\"id\":\"\xff\",\"participants\":[]}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int st = body(bad[i]);
    OK(st == GEN_OBS_ERR_SYNTAX);
    OK(strstr(err, "invalid JSON") != NULL);
  }
  /* Every prefix of a whole message is refused, none crashes (ASan checks
   * that nothing past the length is read: each prefix is its own copy). */
  const char whole[] = "{\"topicName\":\"" TOPIC "\",\"eventBody\":" BODY "}";
  size_t len = sizeof(whole) - 1;
  for (size_t n = 1; n < len; n++) {
    char *copy = malloc(n);
    memcpy(copy, whole, n);
    int st =
        gen_obs_parse_conv(parser, NULL, copy, n, &msg, &snap, err, sizeof(err));
    free(copy);
    if (st == 0) {
      printf("# prefix of %zu bytes accepted\n", n);
      OK(st != 0);
    }
  }
  EXPECT_EQ_INT(0, message(whole));
  EXPECT_EQ_INT(3, (int)snap.n_parts);
  return 0;
}

DEF_TEST(no_allocation_per_message) {
  const char whole[] = "{\"topicName\":\"" TOPIC "\",\"eventBody\":" BODY "}";
  EXPECT_EQ_INT(0, message(whole));
  gen_obs_stats_t before, after;
  gen_obs_parser_stats(parser, &before);
  for (int i = 0; i < 1000; i++)
    EXPECT_EQ_INT(0, message(whole));
  gen_obs_parser_stats(parser, &after);
  EXPECT_EQ_UINT64(before.heap_allocs, after.heap_allocs);
  EXPECT_EQ_UINT64(before.messages + 1000, after.messages);
  return 0;
}

int main(void) {
  parser = gen_obs_parser_new(0);
  RUN_TEST(whole_message_in_one_pass);
  RUN_TEST(purposes_states_and_transfers);
  RUN_TEST(times_and_media_arrays);
  RUN_TEST(participants_overflow);
  RUN_TEST(unknown_fields_and_nesting_skipped);
  RUN_TEST(wrong_types);
  RUN_TEST(malformed_and_truncated_json);
  RUN_TEST(no_allocation_per_message);
  gen_obs_parser_free(parser);
  END_TEST;
}
