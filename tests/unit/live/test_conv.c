/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: tests of the conversation tracker (common/live/gen_conv.c):
 * each moment counted once through replays, first sight mid-flight,
 * out-of-order and malformed snapshots, expiry and the cap; its <Org> keys
 * and self-metrics.
 */
#include "gen_conv.h"
#include "gen_obs.h"
#include "plugin_mock.h"

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
} seen_t;
static seen_t seen[64];
static int n_seen;

static void record(void *ud, const char *queue_id, int media,
                   gen_conv_moment_t moment, int64_t wait_ms) {
  (void)ud;
  if (n_seen < 64)
    seen[n_seen++] =
        (seen_t){.media = media, .moment = moment, .wait_ms = wait_ms};
  snprintf(seen[n_seen - 1].queue, sizeof(seen[0].queue), "%s", queue_id);
}

static int count(const char *queue, gen_conv_moment_t moment) {
  int n = 0;
  for (int i = 0; i < n_seen; i++)
    n += seen[i].moment == moment && strcmp(seen[i].queue, queue) == 0;
  return n;
}

static int64_t now_ms = 1000000;

/* An eventBody read as genesys_realtime reads it (gen_obs + gen_conv_read). */
static int read_body(const char *text, gen_conv_snapshot_t *snap, char *err,
                     size_t err_size) {
  static gen_obs_parser_t *parser;
  if (parser == NULL)
    parser = gen_obs_parser_new(0);
  return gen_obs_parse_conv_body(parser, text, strlen(text), snap, err,
                                 err_size);
}

/* Closes the document and applies it; returns the moments it emitted. */
static int apply(gen_conv_tracker_t *t) {
  cat(doc, sizeof(doc), "]}");
  char err[GEN_OBS_ERR_SIZE];
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

static int bad(const char *text) {
  char err[GEN_OBS_ERR_SIZE];
  gen_conv_snapshot_t snap;
  int status = read_body(text, &snap, err, sizeof(err));
  if (status != 0)
    printf("# refused: %s\n", err);
  return status;
}

DEF_TEST(malformed_snapshots) {
  OK(bad("[]") < 0);
  OK(bad("{\"participants\":[]}") < 0);
  OK(bad("{\"id\":7,\"participants\":[]}") < 0);
  OK(bad("{\"id\":\"c\",\"participants\":{}}") < 0);
  OK(bad("{\"id\":\"c\",\"participants\":[3]}") < 0);
  OK(bad("{\"id\":\"c\",\"participants\":[{\"purpose\":\"acd\"}]}") < 0);
  OK(bad("{\"id\":\"c\",\"participants\":[{\"id\":\"p\",\"queueId\":\""
         "0123456789012345678901234567890123456789012345678901234567890123"
         "\"}]}") < 0);
  /* Odd but harmless values are read as absent. */
  EXPECT_EQ_INT(0, bad("{\"id\":\"c\",\"participants\":[{\"id\":\"p\","
                       "\"purpose\":\"acd\",\"queueId\":\"q\","
                       "\"connectedTime\":\"yesterday\",\"calls\":[7,{}]}]}"));
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

DEF_TEST(config_keys_and_self_metrics) {
  gen_org_t *org = mock_org("genesys_realtime");
  gen_conv_config_t c;
  gen_conv_config_init(&c);
  EXPECT_EQ_INT(100000, c.max_conversations);
  oconfig_item_t *ci = mock_ci_num("MaxConversations", 500);
  EXPECT_EQ_INT(0, gen_conv_config_key(org, ci, &c));
  EXPECT_EQ_INT(500, c.max_conversations);
  mock_ci_free(ci);
  ci = mock_ci_num("MaxConversations", 5); /* below 100 */
  OK(gen_conv_config_key(org, ci, &c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_num("ConversationLinger", 60);
  EXPECT_EQ_INT(0, gen_conv_config_key(org, ci, &c));
  OK(c.linger == TIME_T_TO_CDTIME_T(60));
  mock_ci_free(ci);
  ci = mock_ci_num("ConversationTimeout", 30); /* below 60 s */
  OK(gen_conv_config_key(org, ci, &c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_num("Interval", 30);
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE, gen_conv_config_key(org, ci, &c));
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
  RUN_TEST(lifecycle_counts_each_moment_once);
  RUN_TEST(abandon_and_unanswered_alert);
  RUN_TEST(transfer_to_another_queue);
  RUN_TEST(first_seen_counts_only_the_reported_change);
  RUN_TEST(out_of_order_and_missed_events);
  RUN_TEST(malformed_snapshots);
  RUN_TEST(expiry_and_stale_replays);
  RUN_TEST(cap_evicts_finished_first);
  RUN_TEST(config_keys_and_self_metrics);
  END_TEST;
}
