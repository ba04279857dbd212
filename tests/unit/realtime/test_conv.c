/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: tests of conversation tracking
 * (plugins/realtime/gen_conv.c): the reading of an event's eventBody from its
 * json-c document (gen_conv_from_json: purposes, states, times, media arrays,
 * the bounds, what refuses an event); the tracker, each moment counted once
 * through replays, first sight mid-flight, out of order, expiry and the cap,
 * the participants past the entry's and past the bound, entries found after the
 * array grows and reused after eviction; its <Org> keys and self-metrics.
 */
#include "gen_conv.h"
#include "gen_err.h"
#include "gen_json.h"
#include "plugin_mock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectd/core/testing.h"

#define Q1 "11111111-aaaa-4bbb-8ccc-000000000001"
#define Q2 "11111111-aaaa-4bbb-8ccc-000000000002"

/* Times as the simulator writes them; T("mm:ss") is that after 10:00. */
#define T(mmss) "2026-05-14T10:" mmss "Z"

/* ---- building snapshots ------------------------------------------------ */

static char *cat(char *buf, size_t size, const char *fmt, ...) {
  size_t len = strlen(buf);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, size - len, fmt, ap);
  va_end(ap);
  return buf;
}

/* One participant: purpose, id, queue ("" none), session state, times
 * (NULL absent), disconnectType (NULL absent). */
static void part(char *buf, size_t size, const char *purpose, const char *id,
                 const char *queue, const char *state, const char *connected,
                 const char *end, const char *disconnect_type) {
  if (buf[strlen(buf) - 1] == '}')
    cat(buf, size, ",");
  cat(buf, size, "{\"id\":\"%s\",\"purpose\":\"%s\"", id, purpose);
  if (queue[0])
    cat(buf, size, ",\"queueId\":\"%s\"", queue);
  if (connected)
    cat(buf, size, ",\"connectedTime\":\"%s\"", connected);
  if (end)
    cat(buf, size, ",\"endTime\":\"%s\"", end);
  cat(buf, size, ",\"calls\":[{\"id\":\"s-%s\",\"state\":\"%s\"", id, state);
  if (connected)
    cat(buf, size, ",\"connectedTime\":\"%s\"", connected);
  if (end)
    cat(buf, size, ",\"disconnectedTime\":\"%s\"", end);
  if (disconnect_type)
    cat(buf, size, ",\"disconnectType\":\"%s\"", disconnect_type);
  cat(buf, size, "}]}");
}

static char doc[8192];
static void begin(const char *conv_id) {
  snprintf(doc, sizeof(doc), "{\"id\":\"%s\",\"participants\":[{", conv_id);
  doc[strlen(doc) - 1] = '\0';
}
#define P(...) part(doc, sizeof(doc), __VA_ARGS__)

/* ---- recording moments ---------------------------------------------- */

typedef struct {
  char queue[64];
  int media;
  gen_conv_moment_t moment;
  int64_t wait_ms;
  int64_t at_ms;
} seen_t;
static seen_t seen[64];
static int n_seen;

static void record(void *ud, const char *queue_id, int media,
                   gen_conv_moment_t moment, int64_t wait_ms, int64_t at_ms) {
  (void)ud;
  if (n_seen < 64)
    seen[n_seen++] = (seen_t){
        .media = media, .moment = moment, .wait_ms = wait_ms, .at_ms = at_ms};
  snprintf(seen[n_seen - 1].queue, sizeof(seen[0].queue), "%s", queue_id);
}

static int count(const char *queue, gen_conv_moment_t moment) {
  int n = 0;
  for (int i = 0; i < n_seen; i++)
    n += seen[i].moment == moment && strcmp(seen[i].queue, queue) == 0;
  return n;
}

static int64_t now_ms = 1000000;

#define ERR_SIZE 160

/* An eventBody read as genesys_realtime reads it: a json-c document
 * (gen_notify_parse is gen_json_parse), then gen_conv_from_json. */
static int read_body(const char *text, gen_conv_snapshot_t *snap, char *err,
                     size_t err_size) {
  json_object *tree = NULL;
  int status = gen_json_parse(text, strlen(text), GEN_JSON_MAX_DEPTH, &tree,
                              err, err_size);
  if (status == 0)
    status = gen_conv_from_json(tree, snap, err, err_size);
  json_object_put(tree);
  return status;
}

/* A session state this version does not know is named for the caller to
 * count, and makes no moment; the SDKs' other states are no unknown word;
 * the rest of the participants is read. */
DEF_TEST(read_unknown_states) {
  static const struct {
    const char *state, *unknown;
  } cases[] = {{"hovering", "hovering"},
               {"parked", NULL},
               {"TRANSMITTING", NULL},
               {"connected", NULL}};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(cases); i++) {
    char text[512];
    snprintf(text, sizeof(text),
             "{\"id\":\"c1\",\"participants\":["
             "{\"id\":\"a\",\"purpose\":\"agent\",\"queueId\":\"q\","
             "\"calls\":[{\"state\":\"%s\"}]},"
             "{\"id\":\"b\",\"purpose\":\"acd\",\"queueId\":\"q\","
             "\"calls\":[{\"state\":\"connected\"}]}]}",
             cases[i].state);
    json_object *tree = json_tokener_parse(text);
    gen_conv_snapshot_t snap;
    char err[ERR_SIZE];
    CHECK_ZERO(gen_conv_from_json(tree, &snap, err, sizeof(err)));
    EXPECT_EQ_INT(2, (int)snap.n_parts);
    EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, snap.parts[1].state);
    if (cases[i].unknown == NULL)
      OK(snap.unknown_state == NULL);
    else {
      OK(snap.unknown_state != NULL);
      EXPECT_EQ_STR(cases[i].unknown, snap.unknown_state);
      EXPECT_EQ_INT(GEN_CONV_S_NONE, snap.parts[0].state);
    }
    json_object_put(tree);
  }
  return 0;
}

/* Closes the document and applies it; returns the moments it emitted. */
static int apply(gen_conv_tracker_t *t) {
  cat(doc, sizeof(doc), "]}");
  char err[ERR_SIZE];
  gen_conv_snapshot_t snap;
  int status = read_body(doc, &snap, err, sizeof(err));
  if (status != 0) {
    printf("# %s\n%s\n", err, doc);
    return -1;
  }
  return gen_conv_apply(t, &snap, now_ms, record, NULL);
}

static gen_conv_tracker_t *tracker_linger(size_t max, int64_t linger_ms) {
  n_seen = 0;
  return gen_conv_tracker_new(&(gen_conv_options_t){
      .max_conversations = max, .linger_ms = linger_ms, .timeout_ms = 600000});
}
static gen_conv_tracker_t *tracker(size_t max) {
  return tracker_linger(max, 60000);
}

/* The stages of one answered conversation in Q1. */
static void offered(const char *c) {
  begin(c);
  P("customer", "cust", "", "connected", T("00:00"), NULL, NULL);
  P("acd", "acd1", Q1, "connected", T("00:05"), NULL, NULL);
}
static void alerting(const char *c) {
  offered(c);
  P("agent", "ag1", Q1, "alerting", NULL, NULL, NULL);
}
static void answered(const char *c) {
  begin(c);
  P("customer", "cust", "", "connected", T("00:00"), NULL, NULL);
  P("acd", "acd1", Q1, "disconnected", T("00:05"), T("00:17.5"), "transfer");
  P("agent", "ag1", Q1, "connected", T("00:17.5"), NULL, NULL);
}
static void ended(const char *c) {
  begin(c);
  P("customer", "cust", "", "disconnected", T("00:00"), T("03:00"), "peer");
  P("acd", "acd1", Q1, "disconnected", T("00:05"), T("00:17.5"), "transfer");
  P("agent", "ag1", Q1, "disconnected", T("00:17.5"), T("03:00"), "client");
}

/* ---- reading an eventBody (gen_conv_from_json) ------------------------- */

#define QR "0b4a5c1e-8f7d-4c3b-9a21-3e6f5d4c2b1a"

/* An answered call in QR, as tests/sim sends it (trimmed), with keys this
 * reader does not read, some spelled like its own inside other values. */
static const char answered_body[] =
    "{\"id\":\"c1\",\"maxParticipants\":3,\"participants\":["
    "{\"id\":\"p-cust\",\"purpose\":\"customer\",\"name\":\"x\","
    "\"connectedTime\":\"2026-05-14T10:00:00Z\",\"attributes\":{\"id\":\"no\","
    "\"calls\":[{\"state\":\"disconnected\"}]},\"calls\":[{\"id\":\"s\","
    "\"state\":\"connected\",\"direction\":\"inbound\",\"held\":false,"
    "\"connectedTime\":\"2026-05-14T10:00:00Z\"}]},"
    "{\"id\":\"p-ivr\",\"purpose\":\"ivr\",\"endTime\":"
    "\"2026-05-14T10:00:04Z\"},"
    "{\"id\":\"p-acd\",\"purpose\":\"acd\",\"queueId\":\"" QR "\","
    "\"connectedTime\":\"2026-05-14T10:00:05Z\",\"endTime\":"
    "\"2026-05-14T10:00:20Z\",\"calls\":[{\"state\":\"disconnected\","
    "\"disconnectType\":\"transfer\",\"connectedTime\":"
    "\"2026-05-14T10:00:05Z\",\"disconnectedTime\":\"2026-05-14T10:00:20Z\"}]},"
    "{\"id\":\"p-agent\",\"purpose\":\"agent\",\"queueId\":\"" QR "\","
    "\"userId\":\"u1\",\"wrapupRequired\":true,\"alertingTimeoutMs\":8000,"
    "\"wrapup\":{\"code\":\"c\",\"tags\":[\"a\",{\"id\":1}]},\"calls\":[{"
    "\"state\":\"connected\",\"connectedTime\":\"2026-05-14T10:00:20Z\"}]}"
    "],\"recentTransfers\":[],\"divisions\":[{\"id\":\"d\"}]}";

static gen_conv_snapshot_t got;
static char why[ERR_SIZE];

static int64_t ms(const char *iso) {
  int64_t v = 0;
  gen_time_parse(iso, &v);
  return v;
}

static int body(const char *text) {
  why[0] = '\0';
  int st = read_body(text, &got, why, sizeof(why));
  if (st != 0)
    printf("# refused: %s\n", why);
  return st;
}

/* An eventBody with one participant object. */
static int one(const char *participant) {
  char text[4096];
  snprintf(text, sizeof(text), "{\"id\":\"c\",\"participants\":[%s]}",
           participant);
  return body(text);
}

DEF_TEST(read_an_answered_call) {
  EXPECT_EQ_INT(0, body(answered_body));
  EXPECT_EQ_STR("c1", got.id);
  /* ivr dropped; customer, acd, agent in document order */
  EXPECT_EQ_INT(3, (int)got.n_parts);
  OK(!got.parts_truncated);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:20Z"), (uint64_t)got.newest_ms);
  const gen_conv_part_t *c = &got.parts[0], *q = &got.parts[1],
                        *a = &got.parts[2];
  EXPECT_EQ_INT(GEN_CONV_P_CUSTOMER, c->purpose);
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, c->state);
  EXPECT_EQ_STR("", c->queue_id);
  EXPECT_EQ_INT(GEN_CONV_P_ACD, q->purpose);
  EXPECT_EQ_STR(QR, q->queue_id);
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
  /* The participant id's hash is the one gen_hash_id gives. */
  OK(a->id_hash == gen_hash_id("p-agent"));
  return 0;
}

DEF_TEST(read_purposes_states_and_transfers) {
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
      EXPECT_EQ_INT(0, (int)got.n_parts);
    } else {
      EXPECT_EQ_INT(1, (int)got.n_parts);
      EXPECT_EQ_INT(purposes[i].want, got.parts[0].purpose);
      EXPECT_EQ_INT(-1, got.parts[0].media);
      EXPECT_EQ_INT(GEN_CONV_S_NONE, got.parts[0].state);
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
    EXPECT_EQ_INT(GEN_MEDIA_CHAT, got.parts[0].media);
    EXPECT_EQ_INT(states[i].want, got.parts[0].state);
  }
  /* connected wins over alerting, alerting over ended, in any order */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"calls\":["
                       "{\"state\":\"disconnected\"},{\"state\":\"alerting\"},"
                       "{\"state\":\"connected\"}]}"));
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, got.parts[0].state);
  EXPECT_EQ_INT(0,
                one("{\"id\":\"p\",\"purpose\":\"agent\",\"calls\":["
                    "{\"state\":\"disconnected\"},{\"state\":\"alerting\"}]}"));
  EXPECT_EQ_INT(GEN_CONV_S_ALERTING, got.parts[0].state);

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
    EXPECT_EQ_INT(types[i].want, got.parts[0].by_transfer);
  }
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"acd\",\"calls\":["
                       "{\"state\":\"disconnected\",\"disconnectType\":"
                       "\"transfer\"},{\"state\":\"connected\","
                       "\"disconnectType\":\"client\"},{\"state\":"
                       "\"terminated\"}]}"));
  OK(got.parts[0].by_transfer); /* later sessions had no say */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"acd\",\"calls\":["
                       "{\"state\":\"disconnected\",\"disconnectType\":"
                       "\"transfer\"},{\"state\":\"disconnected\","
                       "\"disconnectType\":\"client\"}]}"));
  OK(!got.parts[0].by_transfer); /* the last ended one decides */
  return 0;
}

DEF_TEST(read_times_and_media_arrays) {
  /* Session times fill in what the participant lacks: the first
   * connectedTime, the last disconnectedTime once ended. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"emails\":["
                       "{\"state\":\"disconnected\",\"connectedTime\":"
                       "\"2026-05-14T10:00:09Z\",\"disconnectedTime\":"
                       "\"2026-05-14T10:00:30Z\"},{\"state\":\"disconnected\","
                       "\"connectedTime\":\"2026-05-14T10:00:03Z\","
                       "\"disconnectedTime\":\"2026-05-14T10:00:40Z\"}]}"));
  const gen_conv_part_t *p = &got.parts[0];
  EXPECT_EQ_INT(GEN_MEDIA_EMAIL, p->media);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:03Z"), (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:40Z"), (uint64_t)p->end_ms);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:40Z"), (uint64_t)got.newest_ms);
  /* The participant's own times come first; endTime ends it unless a
   * session is connected. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"connectedTime\":"
                       "\"2026-05-14T10:00:01Z\",\"endTime\":"
                       "\"2026-05-14T10:00:02Z\",\"calls\":[{\"state\":"
                       "\"connected\",\"connectedTime\":"
                       "\"2026-05-14T10:00:05Z\"}]}"));
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:01Z"), (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:02Z"), (uint64_t)p->end_ms);
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, p->state);
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"acd\",\"endTime\":"
                       "\"2026-05-14T10:00:02Z\"}"));
  EXPECT_EQ_INT(GEN_CONV_S_ENDED, p->state);
  EXPECT_EQ_INT(-1, p->media);
  /* The acw times only move newest_ms. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"startAcwTime\":"
                       "\"2026-05-14T10:00:50Z\",\"endAcwTime\":"
                       "\"2026-05-14T10:00:55Z\"}"));
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:55Z"), (uint64_t)got.newest_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)p->end_ms);
  /* So do the times of dropped (ivr) participants. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"ivr\",\"endTime\":"
                       "\"2026-05-14T10:00:59Z\"}"));
  EXPECT_EQ_INT(0, (int)got.n_parts);
  EXPECT_EQ_UINT64(ms("2026-05-14T10:00:59Z"), (uint64_t)got.newest_ms);

  /* The first non-empty array in gen_media_t order, wherever it stands;
   * only its session times count. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"chats\":[{"
                       "\"state\":\"connected\",\"connectedTime\":"
                       "\"2026-05-14T10:00:44Z\"}],\"callbacks\":[{\"state\":"
                       "\"alerting\"}],\"calls\":[]}"));
  EXPECT_EQ_INT(GEN_MEDIA_CALLBACK, p->media);
  EXPECT_EQ_INT(GEN_CONV_S_ALERTING, p->state);
  EXPECT_EQ_UINT64(0, (uint64_t)p->connected_ms);
  EXPECT_EQ_UINT64(0, (uint64_t)got.newest_ms);
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
  EXPECT_EQ_UINT64(0, (uint64_t)got.newest_ms);
  return 0;
}

DEF_TEST(read_participants_bounded) {
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
  EXPECT_EQ_INT(GEN_CONV_MAX_PARTS, (int)got.n_parts);
  OK(got.parts_truncated);
  EXPECT_EQ_STR("q0", got.parts[0].queue_id);
  EXPECT_EQ_STR("q31", got.parts[GEN_CONV_MAX_PARTS - 1].queue_id);
  /* Exactly the cap is not truncated. */
  n = (size_t)snprintf(text, sizeof(text), "{\"id\":\"c\",\"participants\":[");
  for (int i = 0; i < GEN_CONV_MAX_PARTS; i++)
    n += (size_t)snprintf(text + n, sizeof(text) - n,
                          "%s{\"id\":\"p%d\",\"purpose\":\"agent\"}",
                          i ? "," : "", i);
  snprintf(text + n, sizeof(text) - n, "]}");
  EXPECT_EQ_INT(0, body(text));
  EXPECT_EQ_INT(GEN_CONV_MAX_PARTS, (int)got.n_parts);
  OK(!got.parts_truncated);
  return 0;
}

DEF_TEST(read_skips_what_it_does_not_read) {
  /* Keys spelled like ours inside other values change nothing. */
  EXPECT_EQ_INT(
      0, body("{\"x\":{\"id\":\"no\",\"participants\":[{\"id\":\"z\","
              "\"purpose\":\"agent\"}]},\"id\":\"c\",\"y\":[[{\"calls\":[]}],"
              "{\"a\":{\"b\":{\"c\":[1,2,{\"d\":null}]}}}],\"participants\":["
              "{\"id\":\"p\",\"purpose\":\"acd\",\"queueId\":\"q\","
              "\"attributes\":{\"queueId\":\"no\",\"purpose\":\"agent\"},"
              "\"wrapup\":{\"endTime\":\"2026-05-14T10:00:59Z\"},\"calls\":[{"
              "\"state\":\"connected\",\"extra\":{\"state\":\"disconnected\"},"
              "\"segments\":[{\"connectedTime\":\"2026-05-14T10:00:58Z\"}]}]}],"
              "\"z\":true,\"n\":1.5e3}"));
  EXPECT_EQ_STR("c", got.id);
  EXPECT_EQ_INT(1, (int)got.n_parts);
  EXPECT_EQ_INT(GEN_CONV_P_ACD, got.parts[0].purpose);
  EXPECT_EQ_STR("q", got.parts[0].queue_id);
  EXPECT_EQ_INT(GEN_CONV_S_CONNECTED, got.parts[0].state);
  EXPECT_EQ_UINT64(0, (uint64_t)got.newest_ms);
  /* An empty participants array is a conversation with nobody to count. */
  EXPECT_EQ_INT(0, body("{\"participants\":[],\"id\":\"c2\"}"));
  EXPECT_EQ_STR("c2", got.id);
  EXPECT_EQ_INT(0, (int)got.n_parts);
  /* A key twice in one object: json-c keeps the last. */
  EXPECT_EQ_INT(0, body("{\"id\":\"c\",\"id\":\"d\",\"participants\":[]}"));
  EXPECT_EQ_STR("d", got.id);
  return 0;
}

DEF_TEST(read_refusals) {
  /* Optional fields of another type (or null) are absent. */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"queueId\":7,"
                       "\"connectedTime\":5,\"endTime\":null,\"calls\":{},"
                       "\"chats\":[{\"state\":1,\"disconnectType\":[]}]}"));
  const gen_conv_part_t *p = &got.parts[0];
  EXPECT_EQ_STR("", p->queue_id);
  EXPECT_EQ_UINT64(0, (uint64_t)p->connected_ms);
  EXPECT_EQ_INT(GEN_MEDIA_CHAT, p->media); /* calls was not an array */
  EXPECT_EQ_INT(GEN_CONV_S_NONE, p->state);
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":[\"agent\"]}"));
  EXPECT_EQ_INT(0, (int)got.n_parts); /* no purpose: not counted */
  EXPECT_EQ_INT(0, one("{\"id\":\"p\",\"purpose\":\"agent\",\"calls\":[{"
                       "\"state\":\"disconnected\",\"disconnectType\":7}]}"));
  OK(!got.parts[0].by_transfer);

  /* Required ones refuse the event (-EBADMSG: malformed). */
  static const char *const refused[] = {
      "[]",
      "\"c\"",
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
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\\u0000q\"}]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\",\"queueId\":\"q\\u0000"
      "\"}]}",
  };
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    int st = body(refused[i]);
    if (st == 0)
      printf("# accepted: %s\n", refused[i]);
    EXPECT_EQ_INT(-EBADMSG, st);
    OK(gen_err_malformed(st) && why[0] != '\0');
  }
  /* So does text that is not one JSON document (gen_json_parse: -EINVAL,
   * which gen_notify_parse's callers count as malformed too). */
  static const char *const not_json[] = {
      "null", /* JSON, but json-c's document of it is no object at all */
      "",
      "{",
      "{\"id\":\"c\",\"participants\":[]}x",
      "{\"id\":\"c\",\"participants\":[],}",
      "{\"id\":'c',\"participants\":[]}",
      "{\"id\":\"\\q\",\"participants\":[]}",
      "{\"id\":\"c\",\"participants\":[{\"id\":\"p\"]}",
  };
  for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
    EXPECT_EQ_INT(-EINVAL, body(not_json[i]));
    OK(why[0] != '\0');
  }
  /* 63 bytes is fine. */
  EXPECT_EQ_INT(0, body("{\"id\":\"012345678901234567890123456789012345678901"
                        "234567890123456789012\",\"participants\":[]}"));
  EXPECT_EQ_INT(63, (int)strlen(got.id));

  /* Every prefix of a whole body is refused (valgrind checks that nothing
   * past the length is read: each prefix is its own copy). */
  size_t len = sizeof(answered_body) - 1;
  for (size_t n = 1; n < len; n++) {
    char *copy = malloc(n);
    memcpy(copy, answered_body, n);
    json_object *tree = NULL;
    int st =
        gen_json_parse(copy, n, GEN_JSON_MAX_DEPTH, &tree, why, sizeof(why));
    if (st == 0)
      st = gen_conv_from_json(tree, &got, why, sizeof(why));
    json_object_put(tree);
    free(copy);
    if (st == 0) {
      printf("# prefix of %zu bytes accepted\n", n);
      OK(st != 0);
    }
  }
  return 0;
}

/* ---- the tracker ------------------------------------------------------ */

DEF_TEST(lifecycle_counts_each_moment_once) {
  gen_conv_tracker_t *t = tracker(100);
  offered("c1");
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_OFFERED, seen[0].moment);
  EXPECT_EQ_STR(Q1, seen[0].queue);
  EXPECT_EQ_INT(0, seen[0].media); /* calls: voice */
  alerting("c1");
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_ALERTED, seen[1].moment);
  answered("c1");
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_ANSWERED, seen[2].moment);
  EXPECT_EQ_INT(12500, seen[2].wait_ms);
  /* Each moment at its time by the event (the gap repair places it so);
   * an alert has none. */
  EXPECT_EQ_INT(12500, seen[2].at_ms - seen[0].at_ms);
  OK(seen[0].at_ms > 0);
  EXPECT_EQ_INT(0, seen[1].at_ms);
  /* Replays of every stage bring nothing. */
  offered("c1");
  EXPECT_EQ_INT(0, apply(t));
  answered("c1");
  EXPECT_EQ_INT(0, apply(t));
  ended("c1");
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_ENDED, seen[3].moment);
  ended("c1");
  EXPECT_EQ_INT(0, apply(t));
  EXPECT_EQ_INT(0, count(Q1, GEN_CONV_TRANSFERRED));
  EXPECT_EQ_INT(0, count(Q1, GEN_CONV_ABANDONED));
  gen_conv_stats_t st;
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(1, (int)st.tracked);
  EXPECT_EQ_UINT64(3, st.replayed);
  gen_conv_tracker_free(t);
  return 0;
}

DEF_TEST(abandon_and_unanswered_alert) {
  gen_conv_tracker_t *t = tracker(100);
  alerting("c2");
  /* First seen while alerting: that alert only, not the older offer. */
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_ALERTED, seen[0].moment);
  /* Not responding: back to the queue, not a transfer nor an answer. */
  begin("c2");
  P("customer", "cust", "", "connected", T("00:00"), NULL, NULL);
  P("acd", "acd1", Q1, "connected", T("00:05"), NULL, NULL);
  P("agent", "ag1", Q1, "disconnected", NULL, T("00:13"), "noAnswerTransfer");
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_UNANSWERED, seen[1].moment);
  /* The customer hangs up while waiting. */
  begin("c2");
  P("customer", "cust", "", "disconnected", T("00:00"), T("00:40"), "client");
  P("acd", "acd1", Q1, "disconnected", T("00:05"), T("00:40"), "peer");
  P("agent", "ag1", Q1, "disconnected", NULL, T("00:13"), "noAnswerTransfer");
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_ABANDONED, seen[2].moment);
  EXPECT_EQ_INT(0, count(Q1, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(0, count(Q1, GEN_CONV_ANSWERED));
  gen_conv_tracker_free(t);
  return 0;
}

DEF_TEST(transfer_to_another_queue) {
  gen_conv_tracker_t *t = tracker(100);
  offered("c3");
  apply(t);
  answered("c3");
  apply(t);
  /* The agent transfers: on Q1's topic, before the new acd exists. */
  begin("c3");
  P("customer", "cust", "", "connected", T("00:00"), NULL, NULL);
  P("acd", "acd1", Q1, "disconnected", T("00:05"), T("00:17.5"), "transfer");
  P("agent", "ag1", Q1, "disconnected", T("00:17.5"), T("02:00"), "transfer");
  EXPECT_EQ_INT(2, apply(t));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_ENDED));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_TRANSFERRED));
  /* Offered on Q2's topic, then the same snapshot again on Q1's topic
   * (the agent's wrap-up): Q2 offered once, nothing more for Q1. */
  for (int i = 0; i < 2; i++) {
    begin("c3");
    P("customer", "cust", "", "connected", T("00:00"), NULL, NULL);
    P("acd", "acd1", Q1, "disconnected", T("00:05"), T("00:17.5"), "transfer");
    P("agent", "ag1", Q1, "disconnected", T("00:17.5"), T("02:00"), "transfer");
    P("acd", "acd2", Q2, "connected", T("02:00"), NULL, NULL);
    apply(t);
  }
  EXPECT_EQ_INT(1, count(Q2, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_TRANSFERRED));
  gen_conv_tracker_free(t);
  return 0;
}

DEF_TEST(first_seen_counts_only_the_reported_change) {
  gen_conv_tracker_t *t = tracker_linger(100, 86400000);
  /* Answered before we listened, seen first at its end: the end only. */
  ended("old");
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_ENDED, seen[0].moment);
  n_seen = 0;
  /* Seen first at its answer: the answer, not the older offer. */
  answered("mid");
  EXPECT_EQ_INT(1, apply(t));
  EXPECT_EQ_INT(GEN_CONV_ANSWERED, seen[0].moment);
  EXPECT_EQ_INT(12500, seen[0].wait_ms);
  /* Seen first at a transfer to Q2: the transfer and the new offer, which
   * happen at the same instant; not the older answer in Q1. */
  begin("xfer");
  P("customer", "cust", "", "connected", T("00:00"), NULL, NULL);
  P("acd", "acd1", Q1, "disconnected", T("00:05"), T("00:17.5"), "transfer");
  P("agent", "ag1", Q1, "disconnected", T("00:17.5"), T("02:00"), "transfer");
  P("acd", "acd2", Q2, "connected", T("02:00"), NULL, NULL);
  EXPECT_EQ_INT(3, apply(t));
  EXPECT_EQ_INT(1, count(Q2, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_TRANSFERRED));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_ENDED));
  EXPECT_EQ_INT(0, count(Q1, GEN_CONV_OFFERED));
  gen_conv_tracker_free(t);
  return 0;
}

DEF_TEST(out_of_order_and_missed_events) {
  gen_conv_tracker_t *t = tracker(100);
  offered("c4");
  apply(t);
  /* The alert and answer were missed (socket down): both counted late. */
  ended("c4");
  EXPECT_EQ_INT(3, apply(t));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_ALERTED));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_ANSWERED));
  EXPECT_EQ_INT(1, count(Q1, GEN_CONV_ENDED));
  /* The older snapshots arrive afterwards: nothing new. */
  answered("c4");
  EXPECT_EQ_INT(0, apply(t));
  alerting("c4");
  EXPECT_EQ_INT(0, apply(t));
  gen_conv_tracker_free(t);
  return 0;
}

DEF_TEST(expiry_and_stale_replays) {
  gen_conv_tracker_t *t = tracker(100);
  offered("open");
  apply(t);
  offered("fin");
  apply(t);
  ended("fin");
  apply(t);
  gen_conv_stats_t st;
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(2, (int)st.tracked);
  /* After the linger (60 s) the finished one goes, the open one stays. */
  now_ms += 61000;
  gen_conv_expire(t, now_ms);
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(1, (int)st.tracked);
  /* Events move the event clock on (in real life it follows the wall
   * clock); a replay of the forgotten one, older than the clock minus the
   * linger, is stale and ignored, as is any other old snapshot. */
  n_seen = 0;
  begin("late");
  P("customer", "cust", "", "connected", T("50:00"), NULL, NULL);
  P("acd", "acdL", Q1, "connected", T("50:00"), NULL, NULL);
  EXPECT_EQ_INT(1, apply(t));
  ended("fin");
  EXPECT_EQ_INT(0, apply(t));
  answered("stale");
  EXPECT_EQ_INT(0, apply(t));
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_UINT64(2, st.stale);
  EXPECT_EQ_INT(2, (int)st.tracked);
  /* The unfinished one goes after the timeout (600 s). */
  now_ms += 601000;
  gen_conv_expire(t, now_ms);
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(0, (int)st.tracked);
  OK(st.expired >= 3);
  gen_conv_tracker_free(t);
  return 0;
}

DEF_TEST(cap_evicts_finished_first) {
  /* A long linger: the snapshots here reuse the same times. */
  gen_conv_tracker_t *t = tracker_linger(16, 86400000);
  char id[32];
  snprintf(id, sizeof(id), "done");
  offered(id);
  apply(t);
  ended(id);
  apply(t);
  for (int i = 0; i < 15; i++) {
    snprintf(id, sizeof(id), "open-%d", i);
    offered(id);
    apply(t);
  }
  gen_conv_stats_t st;
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(16, (int)st.tracked);
  EXPECT_EQ_UINT64(0, st.evicted);
  offered("one-more");
  EXPECT_EQ_INT(1, apply(t));
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(16, (int)st.tracked);
  EXPECT_EQ_UINT64(1, st.evicted);
  /* The finished one was evicted, the open ones are still known. */
  offered("open-0");
  EXPECT_EQ_INT(0, apply(t));
  /* Past the cap with only open ones: the least recently updated goes. */
  for (int i = 0; i < 100; i++) {
    snprintf(id, sizeof(id), "flood-%d", i);
    offered(id);
    apply(t);
  }
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(16, (int)st.tracked);
  EXPECT_EQ_UINT64(101, st.evicted);
  gen_conv_tracker_free(t);
  return 0;
}

/* One conversation in n queues at once: a customer and, per queue, an acd
 * participant offered at its own second (a conference of queues, or a
 * runaway flow); the first ended_n of them ended, the customer too. */
static void many(const char *c, int n, int ended_n) {
  begin(c);
  P("customer", "cust", "", ended_n ? "disconnected" : "connected", T("00:00"),
    ended_n ? T("00:59") : NULL, NULL);
  for (int i = 0; i < n; i++) {
    char id[16], q[16], at[32];
    snprintf(id, sizeof(id), "acd%d", i);
    snprintf(q, sizeof(q), "q%d", i);
    snprintf(at, sizeof(at), T("00:%02d"), i + 1);
    if (i < ended_n)
      P("acd", id, q, "disconnected", at, T("00:59"), "client");
    else
      P("acd", id, q, "connected", at, NULL, NULL);
  }
}

static size_t bytes_of(gen_conv_tracker_t *t) {
  gen_conv_stats_t st;
  gen_conv_tracker_stats(t, &st);
  return st.bytes;
}

DEF_TEST(participants_past_the_entry_and_past_the_bound) {
  gen_conv_tracker_t *t = tracker_linger(100, 86400000);
  many("big", 1, 0);
  EXPECT_EQ_INT(1, apply(t));
  /* One more queue a snapshot: each offered once, those kept in the
   * entry and those past it alike, the earlier ones not again. */
  many("big", 4, 0);
  EXPECT_EQ_INT(3, apply(t));
  size_t in_entry = bytes_of(t);
  for (int n = 5; n <= 12; n++) {
    char q[16];
    snprintf(q, sizeof(q), "q%d", n - 1);
    many("big", n, 0);
    EXPECT_EQ_INT(1, apply(t));
    EXPECT_EQ_INT(1, count(q, GEN_CONV_OFFERED));
  }
  /* The participants past the entry's are held apart, and counted. */
  size_t spilled = bytes_of(t);
  OK(spilled >= in_entry + 12 * (sizeof(uint64_t) + 1));
  /* Past 12 participants the others are not counted, now or later. */
  many("big", 14, 0);
  EXPECT_EQ_INT(0, apply(t));
  EXPECT_EQ_INT(0, count("q12", GEN_CONV_OFFERED));
  EXPECT_EQ_INT(spilled, bytes_of(t));
  for (int i = 0; i < 12; i++) {
    char q[16];
    snprintf(q, sizeof(q), "q%d", i);
    EXPECT_EQ_INT(1, count(q, GEN_CONV_OFFERED));
  }
  /* Each remembers its own moments: two abandon, then all of them. */
  many("big", 14, 2);
  EXPECT_EQ_INT(2, apply(t));
  EXPECT_EQ_INT(1, count("q0", GEN_CONV_ABANDONED));
  EXPECT_EQ_INT(1, count("q1", GEN_CONV_ABANDONED));
  n_seen = 0;
  many("big", 14, 14);
  EXPECT_EQ_INT(10, apply(t));
  EXPECT_EQ_INT(0, count("q0", GEN_CONV_ABANDONED));
  EXPECT_EQ_INT(1, count("q11", GEN_CONV_ABANDONED));
  EXPECT_EQ_INT(0, count("q12", GEN_CONV_ABANDONED));
  EXPECT_EQ_INT(0, count("q13", GEN_CONV_ABANDONED));
  /* Seen first with 14 participants at once: the same bound. */
  n_seen = 0;
  many("big2", 14, 0);
  cat(doc, sizeof(doc), "]}");
  gen_conv_snapshot_t snap;
  char err[ERR_SIZE];
  EXPECT_EQ_INT(0, read_body(doc, &snap, err, sizeof(err)));
  /* First seen: only the newest moment (q13's offer), which is past the
   * bound; the twelve before are remembered as seen. */
  EXPECT_EQ_INT(0, gen_conv_apply(t, &snap, now_ms, record, NULL));
  /* Forgotten, its participants' memory goes with it. */
  gen_conv_stats_t st;
  now_ms += 86400000 + 1000;
  gen_conv_expire(t, now_ms);
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(0, (int)st.tracked);
  EXPECT_EQ_INT(in_entry, st.bytes);
  now_ms -= 86400000 + 1000;
  gen_conv_tracker_free(t);
  return 0;
}

DEF_TEST(entries_grow_are_found_and_reused) {
  /* Past the first allocation of entries: all still found after the
   * array and the index grew. */
  gen_conv_tracker_t *t = tracker_linger(1000, 86400000);
  char id[32];
  for (int i = 0; i < 700; i++) {
    snprintf(id, sizeof(id), "conv-%d", i);
    offered(id);
    EXPECT_EQ_INT(1, apply(t));
  }
  size_t grown = bytes_of(t);
  for (int i = 0; i < 700; i++) {
    snprintf(id, sizeof(id), "conv-%d", i);
    offered(id);
    EXPECT_EQ_INT(0, apply(t));
  }
  /* Ids not tracked are not taken for tracked ones. */
  for (int i = 0; i < 50; i++) {
    snprintf(id, sizeof(id), "conv-%d-x", i);
    offered(id);
    EXPECT_EQ_INT(1, apply(t));
  }
  gen_conv_stats_t st;
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(750, (int)st.tracked);
  EXPECT_EQ_UINT64(700, st.replayed);
  EXPECT_EQ_INT(grown, st.bytes);
  gen_conv_tracker_free(t);

  /* At the cap, evicted entries are reused: a new conversation in one
   * starts with nothing seen, whatever the one before it held. */
  t = tracker_linger(16, 86400000);
  for (int i = 0; i < 16; i++) {
    snprintf(id, sizeof(id), "wide-%d", i);
    many(id, 6, 0);
    apply(t);
  }
  size_t full = bytes_of(t);
  n_seen = 0;
  for (int i = 0; i < 16; i++) {
    snprintf(id, sizeof(id), "wide-again-%d", i);
    many(id, 6, 0);
    cat(doc, sizeof(doc), "]}");
    gen_conv_snapshot_t snap;
    char err[ERR_SIZE];
    read_body(doc, &snap, err, sizeof(err));
    EXPECT_EQ_INT(1, gen_conv_apply(t, &snap, now_ms, record, NULL));
    /* Then each change counts (it is not first seen any more): q1 is
     * abandoned. */
    snap.newest_ms += 1000;
    snap.parts[2].end_ms = snap.newest_ms;
    snap.parts[2].state = GEN_CONV_S_ENDED;
    EXPECT_EQ_INT(1, gen_conv_apply(t, &snap, now_ms, record, NULL));
  }
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(16, (int)st.tracked);
  EXPECT_EQ_UINT64(16, st.evicted);
  EXPECT_EQ_INT(full, st.bytes); /* the evicted ones' memory went */
  EXPECT_EQ_INT(16, count("q5", GEN_CONV_OFFERED));
  EXPECT_EQ_INT(16, count("q1", GEN_CONV_ABANDONED));
  /* Evicted for a narrow one: it takes an entry and less memory. */
  offered("narrow");
  EXPECT_EQ_INT(1, apply(t));
  OK(bytes_of(t) < full);
  offered("wide-0"); /* long evicted: new again */
  EXPECT_EQ_INT(1, apply(t));
  gen_conv_tracker_free(t);

  /* Entries of finished conversations reused by open ones: these are
   * kept for the timeout, not the linger. */
  t = tracker_linger(16, 60000);
  for (int i = 0; i < 16; i++) {
    snprintf(id, sizeof(id), "done-%d", i);
    ended(id);
    apply(t);
  }
  for (int i = 0; i < 16; i++) {
    snprintf(id, sizeof(id), "open-%d", i);
    begin(id); /* newer than the ended ones: not a stale replay */
    P("customer", "cust", "", "connected", T("50:00"), NULL, NULL);
    P("acd", "acd1", Q1, "connected", T("50:00"), NULL, NULL);
    EXPECT_EQ_INT(1, apply(t));
  }
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_UINT64(16, st.evicted);
  now_ms += 61000;
  gen_conv_expire(t, now_ms);
  gen_conv_tracker_stats(t, &st);
  EXPECT_EQ_INT(16, (int)st.tracked);
  EXPECT_EQ_UINT64(0, st.expired);
  now_ms -= 61000;
  gen_conv_tracker_free(t);
  return 0;
}

DEF_TEST(config_keys_and_self_metrics) {
  gen_org_t *org = mock_org("genesys_realtime");
  gen_conv_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_conv_keys, &c);
  EXPECT_EQ_INT(100000, c.max_conversations);
  oconfig_item_t *ci = mock_ci_num("MaxConversations", 500);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_conv_keys, &c));
  EXPECT_EQ_INT(500, c.max_conversations);
  mock_ci_free(ci);
  ci = mock_ci_num("MaxConversations", 5); /* below 100 */
  OK(gen_config_table_key(org, ci, &gen_conv_keys, &c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_num("ConversationLinger", 60);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_conv_keys, &c));
  OK(c.linger == TIME_T_TO_CDTIME_T(60));
  mock_ci_free(ci);
  ci = mock_ci_num("ConversationTimeout", 30); /* below 60 s */
  OK(gen_config_table_key(org, ci, &gen_conv_keys, &c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_num("Interval", 30);
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE,
                gen_config_table_key(org, ci, &gen_conv_keys, &c));
  mock_ci_free(ci);
  gen_conv_tracker_t *t = gen_conv_tracker_from_config(&c);
  CHECK_NOT_NULL(t);
  gen_conv_tracker_free(t);

  mock_values_reset();
  gen_conv_stats_t st = {.tracked = 7, .evicted = 2, .stale = 3};
  gen_conv_dispatch_stats(&st, "acme", "genesys_realtime");
  EXPECT_EQ_DOUBLE(7, mock_find("self", "conv_tracked", NULL)->value.gauge);
  EXPECT_EQ_INT(2, mock_find("self", "conv_evicted", NULL)->value.derive);
  EXPECT_EQ_INT(3, mock_find("self", "conv_stale", NULL)->value.derive);
  gen_org_free(org);
  return 0;
}

int main(void) {
  RUN_TEST(read_an_answered_call);
  RUN_TEST(read_purposes_states_and_transfers);
  RUN_TEST(read_unknown_states);
  RUN_TEST(read_times_and_media_arrays);
  RUN_TEST(read_participants_bounded);
  RUN_TEST(read_skips_what_it_does_not_read);
  RUN_TEST(read_refusals);
  RUN_TEST(lifecycle_counts_each_moment_once);
  RUN_TEST(abandon_and_unanswered_alert);
  RUN_TEST(transfer_to_another_queue);
  RUN_TEST(first_seen_counts_only_the_reported_change);
  RUN_TEST(out_of_order_and_missed_events);
  RUN_TEST(expiry_and_stale_replays);
  RUN_TEST(cap_evicts_finished_first);
  RUN_TEST(participants_past_the_entry_and_past_the_bound);
  RUN_TEST(entries_grow_are_found_and_reused);
  RUN_TEST(config_keys_and_self_metrics);
  END_TEST;
}
