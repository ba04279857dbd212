/* SPDX-License-Identifier: MIT */
/* Unit tests: name sanitising, ids in paths, value identity and
 * self-metrics. */
#include "gen_dispatch.h"
#include "gen_stats.h"
#include "gen_time.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static const char *clean(const char *in, size_t size) {
  static char out[DATA_MAX_NAME_LEN];
  gen_sanitize_name(in, out, size);
  return out;
}

DEF_TEST(sanitize) {
  EXPECT_EQ_STR("Sales_EN", clean("Sales EN", 128));
  EXPECT_EQ_STR("Sales_EN", clean("Sales / EN", 128));
  EXPECT_EQ_STR("a.b-c_d", clean("a.b-c_d", 128));
  EXPECT_EQ_STR("unknown", clean("", 128));
  EXPECT_EQ_STR("unknown", clean(NULL, 128));
  EXPECT_EQ_STR("_x", clean("\"x\"", 128));
  EXPECT_EQ_STR("Ventes_Fran\xc3\xa7"
                "ais",
                clean("Ventes Fran\xc3\xa7"
                      "ais",
                      128));
  /* Cut inside the two-byte "ç": the lead byte goes too. */
  EXPECT_EQ_STR("Fran", clean("Fran\xc3\xa7"
                              "ais",
                              6));
  EXPECT_EQ_STR("abc", clean("abc\n\t", 128));
  /* A byte of no UTF-8 character (raw 0xff, a lone continuation, a cut or
   * overlong sequence, a surrogate) and the C1 controls (U+0085 …) become
   * '_': a label of invalid UTF-8 takes a Prometheus target down. */
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xffMenu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\x80\xbfMenu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xc3Menu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xc0\xafMenu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xed\xa0\x80Menu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xc2\x85Menu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xc2\x9f\xc2\x80Menu", 128));
  EXPECT_EQ_STR("_", clean("\xff\xfe", 128));
  /* U+00A0 and later are text: kept whole. */
  EXPECT_EQ_STR("a\xc2\xa0"
                "b\xe2\x82\xac",
                clean("a\xc2\xa0"
                      "b\xe2\x82\xac",
                      128));
  /* Cut before a four-byte character that does not fit. */
  EXPECT_EQ_STR("ab", clean("ab\xf0\x9f\x98\x80", 6));
  return 0;
}

DEF_TEST(ids_in_paths) {
  OK(gen_id_plain("5b9c0d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e", 64));
  OK(gen_id_plain("a_b-C9", 7));
  OK(!gen_id_plain("a_b-C9", 6)); /* no room for its NUL */
  OK(!gen_id_plain("", 64));
  OK(!gen_id_plain(NULL, 64));
  static const char *const bad[] = {"a/b",   "a?b=1", "a b",     "..",
                                    "a%2Fb", "q\n",   "\xc3\xa9"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad); i++)
    OK(!gen_id_plain(bad[i], 64));
  return 0;
}

DEF_TEST(dispatch_identity) {
  mock_values_reset();
  gen_ident_t id = {.host = "acme org",
                    .plugin = "genesys_realtime",
                    .plugin_instance = "Sales EN",
                    .type = "waiting",
                    .type_instance = "voice"};
  CHECK_ZERO(gen_dispatch_gauge(&id, 3, TIME_T_TO_CDTIME_T(1000), 0));
  mock_value_t *v = mock_find("Sales_EN", "waiting", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_STR("acme_org", v->host);
  EXPECT_EQ_STR("genesys_realtime", v->plugin);
  EXPECT_EQ_DOUBLE(3, v->value.gauge);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(1000), v->time);
  /* No host: collectd's hostname; no type instance: empty. */
  gen_ident_t bare = {.plugin = "genesys_analytics", .type = "api_up"};
  CHECK_ZERO(gen_dispatch_derive(&bare, 7, 0, 0));
  v = mock_find("", "api_up", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_STR("example.com", v->host);
  EXPECT_EQ_INT(7, v->value.derive);
  return 0;
}

DEF_TEST(self_metrics) {
  mock_values_reset();
  gen_stats_t stats;
  gen_stats_init(&stats);
  gen_stats_count_request(&stats, 200);
  gen_stats_count_request(&stats, 200);
  gen_stats_count_request(&stats, 429);
  gen_stats_count_request(&stats, 0);
  atomic_store(&stats.ratelimit_allowed, 300);
  atomic_store(&stats.ratelimit_count, 75);
  gen_stats_dispatch(&stats, "acme", "genesys_analytics");
  mock_value_t *v = mock_find("self", "api_requests", "200");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(2, v->value.derive);
  v = mock_find("self", "api_requests", "transport_error");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(1, v->value.derive);
  v = mock_find("self", "api_rate_limited", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(1, v->value.derive);
  v = mock_find("self", "api_ratelimit_headroom", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(0.75, v->value.gauge);
  OK(mock_find("self", "api_requests", "404") == NULL);
  return 0;
}

/* A word a reader does not know: counted per family and field, logged once
 * per new word, the table of fields and of words bounded. */
DEF_TEST(unknown_values) {
  mock_values_reset();
  mock_log_reset();
  gen_stats_t stats;
  gen_stats_init(&stats);
  const gen_log_org_t who = {"genesys_realtime", "acme"};
  OK(gen_stats_unknown(&stats, &who, "campaigns", "campaignStatus", "x_new"));
  OK(mock_log_contains("campaigns: campaignStatus \"x_new\" is not a value"));
  OK(mock_log_contains("Org \"acme\""));
  size_t lines = mock_log_num;
  OK(!gen_stats_unknown(&stats, &who, "campaigns", "campaignStatus", "x_new"));
  EXPECT_EQ_INT((int)lines, (int)mock_log_num); /* said once */
  /* The same word in another field is news. */
  OK(gen_stats_unknown(&stats, &who, "agent_groups", "routingStatus", "x_new"));
  EXPECT_EQ_INT(
      2, (int)gen_stats_unknown_count(&stats, "campaigns", "campaignStatus"));
  EXPECT_EQ_INT(0, (int)gen_stats_unknown_count(&stats, "campaigns", "x"));
  /* Genesys's text is shown without its line breaks. */
  OK(gen_stats_unknown(&stats, &who, "campaigns", "campaignStatus",
                       "a\nforged line"));
  OK(mock_log_contains("\"a_forged_line\" is not a value"));
  gen_stats_dispatch(&stats, "acme", "genesys_realtime");
  mock_value_t *v =
      mock_find("self", "unknown_values", "campaigns-campaignStatus");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(3, v->value.derive);
  v = mock_find("self", "unknown_values", "agent_groups-routingStatus");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(1, v->value.derive);
  OK(mock_find("self", "unknown_values", "other") == NULL);
  /* Past the tables: fields counted under "other"; words past the bound
   * only counted, said once. */
  for (int i = 0; i < GEN_UNKNOWN_FIELDS + GEN_UNKNOWN_WORDS + 5; i++) {
    char field[16], word[16];
    snprintf(field, sizeof(field), "f%d", i);
    snprintf(word, sizeof(word), "w%d", i);
    gen_stats_unknown(&stats, &who, "many", field, word);
  }
  OK(mock_log_contains("further new ones are only counted"));
  lines = mock_log_num;
  OK(!gen_stats_unknown(&stats, &who, "many", "f0", "another"));
  EXPECT_EQ_INT((int)lines, (int)mock_log_num);
  mock_values_reset();
  gen_stats_dispatch(&stats, "acme", "genesys_realtime");
  v = mock_find("self", "unknown_values", "other");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(GEN_UNKNOWN_WORDS + 5 + 2, v->value.derive);
  return 0;
}

/* A thread without a plugin context, as libmicrohttpd's threads and the
 * receiver's worker are: dispatches one value of plugin with neither time
 * nor interval. */
static void *contextless(void *plugin) {
  plugin_set_ctx((plugin_ctx_t){0});
  gen_ident_t id = {.plugin = plugin,
                    .plugin_instance = plugin,
                    .type = "flow_metric_attribute",
                    .type_instance = "m"};
  gen_dispatch_derive(&id, 1, 0, 0);
  return NULL;
}

static mock_value_t *from_thread(const char *plugin) {
  pthread_t t;
  if (pthread_create(&t, NULL, contextless, (void *)plugin) != 0)
    return NULL;
  pthread_join(t, NULL);
  return mock_find(plugin, "flow_metric_attribute", "m");
}

DEF_TEST(interval_without_context) {
  mock_values_reset();
  mock_log_reset();
  cdtime_t s30 = TIME_T_TO_CDTIME_T(30), s20 = TIME_T_TO_CDTIME_T(20);
  /* The mock is collectd: a value without an interval from such a thread
   * makes plugin_get_interval() complain. */
  plugin_set_ctx((plugin_ctx_t){0});
  value_t raw = {.derive = 1};
  value_list_t vl = {.values = &raw, .values_len = 1};
  sstrncpy(vl.plugin, "raw", sizeof(vl.plugin));
  sstrncpy(vl.type, "flow_metric_attribute", sizeof(vl.type));
  plugin_dispatch_values(&vl);
  OK(mock_log_contains("plugin_get_interval"));
  mock_log_reset();

  /* The configuration callback runs in the plugin's context (here its
   * LoadPlugin Interval 30): what its threads dispatch later gets 30 s. */
  plugin_set_ctx((plugin_ctx_t){.interval = s30});
  gen_dispatch_learn_interval("genesys_a");
  mock_value_t *v = from_thread("genesys_a");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_UINT64(s30, v->sent_interval);
  OK(v->sent_time != 0);
  EXPECT_EQ_UINT64(s30, v->interval);

  /* Learnt from any dispatch in a context too (every read's self-metrics),
   * and the latest wins. */
  plugin_set_ctx((plugin_ctx_t){.interval = s20});
  CHECK_ZERO(gen_dispatch_self(NULL, "genesys_a", "flows", NULL, false, 1));
  EXPECT_EQ_UINT64(s20, mock_find("self", "flows", "")->sent_interval);
  v = from_thread("genesys_a");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_UINT64(s20, v->sent_interval);

  /* A plugin never seen in a context: collectd's default 10 s. */
  v = from_thread("genesys_b");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(10), v->sent_interval);
  OK(v->sent_time != 0);

  /* Explicit time and interval are kept. */
  gen_ident_t id = {.plugin = "genesys_a", .type = "api_up"};
  CHECK_ZERO(gen_dispatch_gauge(&id, 1, TIME_T_TO_CDTIME_T(1000),
                                TIME_T_TO_CDTIME_T(60)));
  v = mock_find("", "api_up", "");
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(1000), v->sent_time);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(60), v->sent_interval);

  OK(!mock_log_contains("plugin_get_interval"));
  plugin_set_ctx((plugin_ctx_t){.interval = TIME_T_TO_CDTIME_T(10)});
  return 0;
}

/* gen_dispatch_next_time: strictly increasing, also when the clock stands
 * or goes back. */
DEF_TEST(next_time) {
  cdtime_t last = 0;
  mock_time = TIME_T_TO_CDTIME_T(100);
  EXPECT_EQ_UINT64(mock_time, gen_dispatch_next_time(&last));
  EXPECT_EQ_UINT64(mock_time + 1, gen_dispatch_next_time(&last));
  mock_time -= TIME_T_TO_CDTIME_T(5); /* set back */
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(100) + 2, gen_dispatch_next_time(&last));
  mock_time = TIME_T_TO_CDTIME_T(200);
  EXPECT_EQ_UINT64(mock_time, gen_dispatch_next_time(&last));
  EXPECT_EQ_UINT64(mock_time, last);
  mock_time = 0;
  return 0;
}

static int put_series(const char *host, const char *queue, cdtime_t interval) {
  gen_ident_t id = {.host = host,
                    .plugin = "genesys_realtime",
                    .plugin_instance = queue,
                    .type = "waiting",
                    .type_instance = "voice"};
  return gen_dispatch_gauge(&id, 1, 0, interval);
}

static size_t log_lines_with(const char *needle) {
  size_t n = 0;
  for (size_t i = 0; i < mock_log_num; i++)
    n += strstr(mock_log_lines[i], needle) != NULL;
  return n;
}

DEF_TEST(series_budget) {
  mock_values_reset();
  mock_log_reset();
  cdtime_t ten = TIME_T_TO_CDTIME_T(10);
  mock_time = TIME_T_TO_CDTIME_T(1000);
  CHECK_ZERO(gen_dispatch_budget("acme", "genesys_realtime", 3));
  CHECK_ZERO(put_series("acme", "q1", ten));
  CHECK_ZERO(put_series("acme", "q2", ten));
  CHECK_ZERO(put_series("acme", "q3", ten));
  /* a fourth series is refused, not dispatched; the three go on */
  EXPECT_EQ_INT(-ENOSPC, put_series("acme", "q4", ten));
  OK(mock_find("q4", "waiting", "voice") == NULL);
  CHECK_ZERO(put_series("acme", "q1", ten));
  EXPECT_EQ_INT(-ENOSPC, put_series("acme", "q5", ten));
  /* said once, naming the first refused */
  EXPECT_EQ_INT(1, (int)log_lines_with("MaxSeries 3 reached"));
  OK(mock_log_contains("q4/waiting-voice"));
  /* self-metrics and other orgs are not counted */
  CHECK_ZERO(
      gen_dispatch_self("acme", "genesys_realtime", "api_up", NULL, false, 1));
  CHECK_ZERO(put_series("other", "q9", ten));
  gen_dispatch_budget_stats("acme", "genesys_realtime");
  mock_value_t *v = mock_find("self", "series", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(3, v->value.gauge);
  v = mock_find("self", "series_refused", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(2, v->value.derive);
  /* q2 and q3 are forgotten two intervals after their last value: room */
  mock_time = TIME_T_TO_CDTIME_T(1015);
  CHECK_ZERO(put_series("acme", "q1", ten));
  mock_time = TIME_T_TO_CDTIME_T(1025);
  CHECK_ZERO(put_series("acme", "q4", ten));
  CHECK_ZERO(put_series("acme", "q5", ten));
  EXPECT_EQ_INT(-ENOSPC, put_series("acme", "q6", ten));
  /* the budget's last reference dropped: no limit */
  gen_dispatch_budget_drop("acme", "genesys_realtime");
  CHECK_ZERO(put_series("acme", "q6", ten));
  CHECK_ZERO(put_series("acme", "q7", ten));
  mock_time = 0;
  return 0;
}

/* A standby's fence: the org's values go until its time, then are refused
 * and counted, self-metrics too; other orgs and plugins are not fenced. */
DEF_TEST(fence) {
  mock_values_reset();
  cdtime_t ten = TIME_T_TO_CDTIME_T(10);
  CHECK_ZERO(gen_dispatch_fence("fenced", "genesys_realtime",
                                gen_monotonic() + TIME_T_TO_CDTIME_T(3600)));
  CHECK_ZERO(put_series("fenced", "q1", ten));
  OK(mock_find("q1", "waiting", "voice") != NULL);
  CHECK_ZERO(gen_dispatch_fence("fenced", "genesys_realtime", 0));
  mock_values_reset();
  EXPECT_EQ_INT(-EPERM, put_series("fenced", "q1", ten));
  EXPECT_EQ_INT(-EPERM, gen_dispatch_self("fenced", "genesys_realtime",
                                          "api_up", NULL, false, 1));
  OK(mock_find("q1", "waiting", "voice") == NULL);
  EXPECT_EQ_INT(2, (int)gen_dispatch_fenced("fenced", "genesys_realtime"));
  CHECK_ZERO(put_series("unfenced", "q1", ten));
  /* open again (a take-over) */
  CHECK_ZERO(gen_dispatch_fence("fenced", "genesys_realtime", UINT64_MAX));
  CHECK_ZERO(put_series("fenced", "q2", ten));
  EXPECT_EQ_INT(2, (int)gen_dispatch_fenced("fenced", "genesys_realtime"));
  return 0;
}

static cdtime_t fake_now;
static cdtime_t fake_clock(void) { return fake_now; }

/* The fence is read on the lease clock, which counts suspend: a holder
 * resumed from a suspend past its fence finds it closed (on
 * CLOCK_MONOTONIC, stopped while suspended, it stayed open for up to the
 * TTL while the other agent already held the key). */
DEF_TEST(fence_counts_suspend) {
  OK(gen_lease_clock == gen_boottime);
  mock_values_reset();
  cdtime_t ten = TIME_T_TO_CDTIME_T(10);
  fake_now = gen_monotonic();
  gen_lease_clock = fake_clock;
  /* renewed now with a TTL of 10 s: its fence 9 s on */
  CHECK_ZERO(gen_dispatch_fence("suspended", "genesys_realtime",
                                fake_now + TIME_T_TO_CDTIME_T(9)));
  CHECK_ZERO(put_series("suspended", "q1", ten));
  fake_now += TIME_T_TO_CDTIME_T(8);
  CHECK_ZERO(put_series("suspended", "q2", ten));
  /* suspended an hour: the lease expired in etcd meanwhile */
  fake_now += TIME_T_TO_CDTIME_T(3600);
  EXPECT_EQ_INT(-EPERM, put_series("suspended", "q3", ten));
  OK(gen_dispatch_fence_closed("suspended", "genesys_realtime"));
  EXPECT_EQ_INT(1, (int)gen_dispatch_fenced("suspended", "genesys_realtime"));
  gen_lease_clock = gen_boottime;
  return 0;
}

int main(void) {
  RUN_TEST(sanitize);
  RUN_TEST(ids_in_paths);
  RUN_TEST(dispatch_identity);
  RUN_TEST(self_metrics);
  RUN_TEST(unknown_values);
  RUN_TEST(interval_without_context);
  RUN_TEST(next_time);
  RUN_TEST(series_budget);
  RUN_TEST(fence);
  RUN_TEST(fence_counts_suspend);
  END_TEST;
}
