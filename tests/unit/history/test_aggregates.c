/* SPDX-License-Identifier: MIT */
/* Unit tests: the aggregates module's metric catalogue (configuration,
 * request metrics, reading a bucket, what is dispatched) and its group key.
 * The request loop is tested through the plugins (test_analytics,
 * test_flowmetrics). */
#include "gen_action_agg.h"
#include "gen_aggregates.h"
#include "gen_flow_agg.h"
#include "gen_json.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>
#include <string.h>

enum { G_A = 0, G_B = 1 };

static const gen_agg_metric_t metrics[] = {
    {.name = "offered", .api = "nOffered", .kind = GEN_AGG_COUNT},
    {.name = "answered", .api = "tAnswered", .kind = GEN_AGG_COUNT},
    {.name = "answer", .api = "tAnswered", .kind = GEN_AGG_DURATION},
    {.name = "service_level", .api = "oServiceLevel", .kind = GEN_AGG_RATIO},
    {.name = "runs",
     .api = "nRun",
     .kind = GEN_AGG_COUNT,
     .group = G_B,
     .bucket_type = "run_interval",
     .total_type = "total_runs_all"},
};
#define N_METRICS STATIC_ARRAY_SIZE(metrics)
static const gen_agg_catalogue_t zeroed = {
    .metrics = metrics, .n = N_METRICS, .zero_absent = true};
static const gen_agg_catalogue_t as_is = {
    .metrics = metrics, .n = N_METRICS, .zero_absent = false};

static double value_of(const gen_interval_value_t *v, size_t n,
                       const char *name) {
  double x = -1;
  return gen_agg_value_find(v, n, name, &x) ? x : -1;
}

/* The metrics[] text of one bucket, read as gen_aggregates reads answers. */
static size_t read_text(const gen_agg_catalogue_t *cat, const bool *on,
                        unsigned group, const char *text,
                        const gen_interval_value_t **v, size_t *n,
                        gen_agg_values_t *vals) {
  char doc_text[4096];
  snprintf(doc_text, sizeof(doc_text),
           "{\"results\":[{\"group\":{},\"data\":[{\"interval\":\"x\","
           "\"metrics\":%s}]}]}",
           text);
  gen_agg_answer_t *a = gen_agg_answer_new();
  char err[128];
  const gen_agg_result_t *r;
  EXPECT_EQ_INT(
      0, gen_agg_answer_read(a, doc_text, strlen(doc_text), err, sizeof(err)));
  EXPECT_EQ_INT(1, (int)gen_agg_answer_results(a, &r));
  size_t skipped = gen_agg_read(cat, on, group, &r->b[0].metrics, vals, v, n);
  gen_agg_answer_free(a);
  return skipped;
}

DEF_TEST(find_by_our_name_or_an_unambiguous_api_name) {
  EXPECT_EQ_INT(0, gen_agg_metric_find(&zeroed, "offered"));
  EXPECT_EQ_INT(0, gen_agg_metric_find(&zeroed, "NOFFERED"));
  EXPECT_EQ_INT(2, gen_agg_metric_find(&zeroed, "Answer"));
  EXPECT_EQ_INT(3, gen_agg_metric_find(&zeroed, "oServiceLevel"));
  /* tAnswered is two of ours: the name must say which. */
  EXPECT_EQ_INT(-1, gen_agg_metric_find(&zeroed, "tAnswered"));
  EXPECT_EQ_INT(-1, gen_agg_metric_find(&zeroed, "nMystery"));
  EXPECT_EQ_INT(-1, gen_agg_metric_find(&zeroed, NULL));
  return 0;
}

DEF_TEST(metric_key_turns_metrics_on_and_names_the_valid_ones) {
  gen_org_t *org = mock_org("genesys_test");
  bool on[N_METRICS] = {false};
  const char *good[] = {"answer", "nRun"};
  oconfig_item_t *ci = mock_ci_strs("Metric", 2, good);
  EXPECT_EQ_INT(0, gen_agg_config_metrics(org, ci, &zeroed, on));
  mock_ci_free(ci);
  OK(!on[0] && !on[1] && on[2] && !on[3] && on[4]);

  mock_log_reset();
  const char *bad[] = {"offered", "bogus"};
  ci = mock_ci_strs("Metric", 2, bad);
  EXPECT_EQ_INT(-EINVAL, gen_agg_config_metrics(org, ci, &zeroed, on));
  mock_ci_free(ci);
  OK(mock_log_contains("Metric \"bogus\": unknown metric; valid: offered, "
                       "answered, "
                       "answer, service_level, runs"));
  OK(on[0]); /* the good names before it still count */

  mock_log_reset();
  ci = mock_ci_str("Metric", "tAnswered");
  EXPECT_EQ_INT(-EINVAL, gen_agg_config_metrics(org, ci, &zeroed, on));
  mock_ci_free(ci);
  OK(mock_log_contains("more than one of ours"));
  gen_org_free(org);
  return 0;
}

/* Sets: a set's members, "all" every metric, only with sets declared. */
DEF_TEST(sets_turn_their_members_on) {
  static const char *const sets[] = {"first", "second"};
  static const gen_agg_metric_t m2[] = {
      {.name = "a", .api = "nA", .kind = GEN_AGG_COUNT, .sets = 1u},
      {.name = "b", .api = "tB", .kind = GEN_AGG_DURATION, .sets = 2u},
      {.name = "c", .api = "nC", .kind = GEN_AGG_COUNT, .sets = 3u},
      {.name = "d", .api = "nD", .kind = GEN_AGG_COUNT},
  };
  gen_agg_catalogue_t cat = {.metrics = m2, .n = 4, .sets = sets, .n_sets = 2};
  bool on[4] = {false};
  OK(gen_agg_set_on(&cat, "SECOND", on));
  OK(!on[0] && on[1] && on[2] && !on[3]);
  OK(!gen_agg_set_on(&cat, "third", on));
  OK(gen_agg_set_on(&cat, "All", on));
  OK(on[0] && on[1] && on[2] && on[3]);
  bool none[N_METRICS] = {false};
  OK(!gen_agg_set_on(&zeroed, "all", none)); /* no sets: names only */
  OK(!none[0]);

  /* "-name" turns a measure or set off again, in the order written; alone
   * it takes from the first set (the default) */
  gen_org_t *org = mock_org("genesys_test");
  bool some[4] = {false};
  const char *minus[] = {"all", "-second", "c"};
  oconfig_item_t *ci = mock_ci_strs("Metric", 3, minus);
  CHECK_ZERO(gen_agg_config_metrics(org, ci, &cat, some));
  mock_ci_free(ci);
  OK(some[0] && !some[1] && some[2] && some[3]);
  bool from_default[4] = {false};
  ci = mock_ci_str("Metric", "-c");
  CHECK_ZERO(gen_agg_config_metrics(org, ci, &cat, from_default));
  mock_ci_free(ci);
  OK(from_default[0] && !from_default[1] && !from_default[2] &&
     !from_default[3]);
  /* nothing left on is refused, naming the key */
  bool empty[4] = {false};
  mock_log_reset();
  const char *off[] = {"first", "-first"};
  ci = mock_ci_strs("Metric", 2, off);
  EXPECT_EQ_INT(-EINVAL, gen_agg_config_metrics(org, ci, &cat, empty));
  mock_ci_free(ci);
  OK(mock_log_contains("turns every measure off"));
  mock_log_reset();
  ci = mock_ci_str("Metric", "-bogus");
  EXPECT_EQ_INT(-EINVAL, gen_agg_config_metrics(org, ci, &cat, empty));
  mock_ci_free(ci);
  OK(mock_log_contains("unknown metric or set"));
  gen_org_free(org);
  return 0;
}

DEF_TEST(request_metrics_once_each) {
  bool on[N_METRICS] = {false, true, true, false, false};
  json_object *m = gen_agg_metrics_json(&zeroed, on, -1);
  EXPECT_EQ_STR("[ \"tAnswered\" ]", json_object_to_json_string(m));
  json_object_put(m);
  m = gen_agg_metrics_json(&zeroed, NULL, -1);
  EXPECT_EQ_STR("[ \"nOffered\", \"tAnswered\", \"oServiceLevel\", \"nRun\" ]",
                json_object_to_json_string(m));
  json_object_put(m);
  return 0;
}

DEF_TEST(a_bucket_read_into_engine_values) {
  gen_agg_values_t *vals = gen_agg_values_new(&zeroed);
  CHECK_NOT_NULL(vals);
  const gen_interval_value_t *v;
  size_t n;
  size_t skipped = read_text(
      &zeroed, NULL, G_A,
      "[{\"metric\":\"nOffered\",\"stats\":{\"count\":7}},"
      "{\"metric\":\"tAnswered\",\"stats\":{\"count\":4,\"sum\":400000,"
      "\"max\":200000,\"min\":50000}},"
      "{\"metric\":\"oServiceLevel\",\"stats\":{\"ratio\":0.75,"
      "\"numerator\":3,\"denominator\":4}}]",
      &v, &n, vals);
  EXPECT_EQ_INT(0, skipped);
  EXPECT_EQ_DOUBLE(7, value_of(v, n, "offered"));
  EXPECT_EQ_DOUBLE(4, value_of(v, n, "answered")); /* one entry, two of ours */
  EXPECT_EQ_DOUBLE(4, value_of(v, n, "answer_count"));
  EXPECT_EQ_DOUBLE(400000, value_of(v, n, "answer_sum_ms"));
  EXPECT_EQ_DOUBLE(200000, value_of(v, n, "answer_max_ms"));
  EXPECT_EQ_DOUBLE(50000, value_of(v, n, "answer_min_ms"));
  EXPECT_EQ_DOUBLE(3, value_of(v, n, "service_level_numerator"));
  EXPECT_EQ_DOUBLE(4, value_of(v, n, "service_level_denominator"));
  EXPECT_EQ_INT(8, n);
  for (size_t i = 0; i < n; i++)
    OK(v[i].counter == (strstr(v[i].name, "_max_ms") == NULL &&
                        strstr(v[i].name, "_min_ms") == NULL));
  gen_agg_values_free(vals);
  return 0;
}

DEF_TEST(unusable_entries_are_skipped_and_absent_counts_are_zero) {
  gen_agg_values_t *vals = gen_agg_values_new(&zeroed);
  const gen_interval_value_t *v;
  size_t n;
  /* A negative count, a duration without its sum, a metric of the other
   * group, one not asked for, one without stats and a number: six
   * skipped. */
  size_t skipped =
      read_text(&zeroed, NULL, G_A,
                "[{\"metric\":\"nOffered\",\"stats\":{\"count\":-1}},"
                "{\"metric\":\"tAnswered\",\"stats\":{\"count\":2}},"
                "{\"metric\":\"nRun\",\"stats\":{\"count\":1}},"
                "{\"metric\":\"nMystery\",\"stats\":{\"count\":1}},"
                "{\"metric\":\"oServiceLevel\"}, 7]",
                &v, &n, vals);
  EXPECT_EQ_INT(6, skipped);
  /* tAnswered's count is usable as "answered"; the duration is not. */
  EXPECT_EQ_DOUBLE(2, value_of(v, n, "answered"));
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "answer_count"));
  /* Present but malformed is not zero; absent is (counts and ratios). */
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "offered"));
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "service_level_numerator"));
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "runs"));

  skipped = read_text(&zeroed, NULL, G_A, "[]", &v, &n, vals);
  EXPECT_EQ_INT(0, skipped);
  EXPECT_EQ_DOUBLE(0, value_of(v, n, "offered"));
  EXPECT_EQ_DOUBLE(0, value_of(v, n, "service_level_denominator"));
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "answer_count")); /* no duration */
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "runs"));         /* other group */
  skipped = read_text(&as_is, NULL, G_A, "[]", &v, &n, vals);
  EXPECT_EQ_INT(0, n);

  /* Metrics off are neither read nor zeroed. */
  bool on[N_METRICS] = {false, false, false, false, true};
  skipped = read_text(&zeroed, on, G_A,
                      "[{\"metric\":\"nOffered\",\"stats\":{\"count\":1}}]", &v,
                      &n, vals);
  EXPECT_EQ_INT(1, skipped);
  EXPECT_EQ_INT(0, n);
  skipped = read_text(&zeroed, on, G_B,
                      "[{\"metric\":\"nRun\",\"stats\":{\"count\":3}}]", &v, &n,
                      vals);
  EXPECT_EQ_INT(0, skipped);
  EXPECT_EQ_DOUBLE(3, value_of(v, n, "runs"));
  gen_agg_values_free(vals);
  return 0;
}

/* A stat past 2^53 (a count of 1e16) is refused where the answer is read,
 * as the state file's reader refuses it: the entry is skipped (counted by
 * the caller as malformed), not dispatched and never saved; 2^53 itself is
 * a number like another. */
DEF_TEST(a_stat_past_2_53_is_refused_where_it_is_read) {
  gen_agg_values_t *vals = gen_agg_values_new(&zeroed);
  const gen_interval_value_t *v;
  size_t n;
  size_t skipped =
      read_text(&zeroed, NULL, G_A,
                "[{\"metric\":\"nOffered\",\"stats\":{\"count\":1e16}},"
                "{\"metric\":\"tAnswered\",\"stats\":{\"count\":2,"
                "\"sum\":9007199254740994}},"
                "{\"metric\":\"oServiceLevel\",\"stats\":{\"ratio\":0.5,"
                "\"numerator\":9007199254740992,"
                "\"denominator\":9007199254740992}}]",
                &v, &n, vals);
  EXPECT_EQ_INT(2, skipped);
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "offered"));
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "answer_sum_ms"));
  EXPECT_EQ_DOUBLE(9007199254740992.0,
                   value_of(v, n, "service_level_numerator"));
  gen_agg_values_free(vals);
  return 0;
}

static mock_value_t *found(const char *type, const char *type_instance) {
  return mock_find("q1", type, type_instance);
}

DEF_TEST(each_bucket_and_counter_dispatched_as_the_catalogue_says) {
  gen_agg_values_t *vals = gen_agg_values_new(&zeroed);
  const gen_interval_value_t *v;
  size_t n;
  read_text(&zeroed, NULL, G_A,
            "[{\"metric\":\"tAnswered\",\"stats\":{\"count\":4,\"sum\":"
            "400000,\"max\":200000}},{\"metric\":\"oServiceLevel\",\"stats\":"
            "{\"numerator\":3,\"denominator\":4}}]",
            &v, &n, vals);
  gen_agg_series_t s = {"acme", "genesys_test", "q1", "voice", 300000};
  mock_values_reset();
  gen_agg_put_bucket(&zeroed, NULL, G_A, &s, v, n, 1000000);
  mock_value_t *x = found("offered", "voice");
  CHECK_NOT_NULL(x);
  EXPECT_EQ_DOUBLE(0, x->value.gauge);
  EXPECT_EQ_UINT64(MS_TO_CDTIME_T(1000000), x->time);
  EXPECT_EQ_UINT64(MS_TO_CDTIME_T(300000), x->interval);
  EXPECT_EQ_DOUBLE(4, found("answered", "voice")->value.gauge);
  EXPECT_EQ_DOUBLE(4, found("duration_count", "answer-voice")->value.gauge);
  EXPECT_EQ_DOUBLE(100, found("duration_avg", "answer-voice")->value.gauge);
  EXPECT_EQ_DOUBLE(200, found("duration_max", "answer-voice")->value.gauge);
  OK(found("duration_min", "answer-voice") == NULL); /* not answered */
  EXPECT_EQ_DOUBLE(0.75, found("service_level", "voice")->value.gauge);
  EXPECT_EQ_DOUBLE(3, found("service_level_numerator", "voice")->value.gauge);
  EXPECT_EQ_INT(8, mock_values_num);

  mock_values_reset();
  gen_agg_put_totals(&zeroed, NULL, G_A, &s, v, n, 2000000);
  EXPECT_EQ_INT(4, found("total_answered", "voice")->value.derive);
  EXPECT_EQ_INT(0, found("total_offered", "voice")->value.derive);
  EXPECT_EQ_INT(4, found("total_duration_count", "answer-voice")->value.derive);
  EXPECT_EQ_INT(400000,
                found("total_duration_ms", "answer-voice")->value.derive);
  EXPECT_EQ_INT(
      4, found("total_service_level_denominator", "voice")->value.derive);
  EXPECT_EQ_INT(6, mock_values_num);

  /* Types of the table, and a group without labels: type_instance is the
   * measure alone, or empty. */
  read_text(&zeroed, NULL, G_B,
            "[{\"metric\":\"nRun\",\"stats\":{\"count\":2}}]", &v, &n, vals);
  s.suffix = "";
  mock_values_reset();
  gen_agg_put_bucket(&zeroed, NULL, G_B, &s, v, n, 1000000);
  gen_agg_put_totals(&zeroed, NULL, G_B, &s, v, n, 1000000);
  EXPECT_EQ_DOUBLE(2, found("run_interval", "")->value.gauge);
  EXPECT_EQ_INT(2, found("total_runs_all", "")->value.derive);
  EXPECT_EQ_INT(2, mock_values_num);
  gen_agg_values_free(vals);
  return 0;
}

/* A score (oSentimentScore: -100..+100) is read with its sign: count,
 * average, max and min per bucket, and only its count as a counter (a sum
 * that may go down is none); an entry without a sum is not usable. */
DEF_TEST(a_score_may_be_negative_and_only_its_count_is_a_counter) {
  static const gen_agg_metric_t m4[] = {
      {.name = "sentiment", .api = "oSentimentScore", .kind = GEN_AGG_SCORE},
  };
  gen_agg_catalogue_t cat = {.metrics = m4, .n = 1, .zero_absent = true};
  gen_agg_values_t *vals = gen_agg_values_new(&cat);
  const gen_interval_value_t *v;
  size_t n;
  EXPECT_EQ_INT(0, (int)read_text(&cat, NULL, 0,
                                  "[{\"metric\":\"oSentimentScore\",\"stats\":"
                                  "{\"count\":4,\"sum\":-150,\"max\":20,"
                                  "\"min\":-90}}]",
                                  &v, &n, vals));
  gen_agg_series_t s = {"acme", "genesys_test", "q1", "voice", 300000};
  mock_values_reset();
  gen_agg_put_bucket(&cat, NULL, 0, &s, v, n, 1000000);
  EXPECT_EQ_DOUBLE(4, found("score_count", "sentiment-voice")->value.gauge);
  EXPECT_EQ_DOUBLE(-37.5, found("score_avg", "sentiment-voice")->value.gauge);
  EXPECT_EQ_DOUBLE(20, found("score_max", "sentiment-voice")->value.gauge);
  EXPECT_EQ_DOUBLE(-90, found("score_min", "sentiment-voice")->value.gauge);
  EXPECT_EQ_INT(4, mock_values_num);
  mock_values_reset();
  gen_agg_put_totals(&cat, NULL, 0, &s, v, n, 2000000);
  EXPECT_EQ_INT(4, found("total_score_count", "sentiment-voice")->value.derive);
  EXPECT_EQ_INT(1, mock_values_num);
  /* no sum: skipped (counted), not a zero score */
  EXPECT_EQ_INT(1, (int)read_text(&cat, NULL, 0,
                                  "[{\"metric\":\"oSentimentScore\",\"stats\":"
                                  "{\"count\":4}}]",
                                  &v, &n, vals));
  mock_values_reset();
  gen_agg_put_bucket(&cat, NULL, 0, &s, v, n, 1000000);
  OK(found("score_avg", "sentiment-voice") == NULL);
  gen_agg_values_free(vals);
  return 0;
}

/* A target (stats.target: oServiceTarget, oServiceLevel's) is a gauge of
 * the bucket, never a counter, absent when the answer has none (not 0); a
 * request asks only for its group's metrics, so a count of no queue is
 * neither asked for nor zero-filled per queue. */
DEF_TEST(targets_are_gauges_and_groups_ask_only_their_own) {
  static const gen_agg_metric_t m3[] = {
      {.name = "service_target",
       .api = "oServiceTarget",
       .kind = GEN_AGG_TARGET},
      {.name = "service_level", .api = "oServiceLevel", .kind = GEN_AGG_RATIO},
      {.name = "service_level_target",
       .api = "oServiceLevel",
       .kind = GEN_AGG_TARGET},
      {.name = "conversations",
       .api = "nConversations",
       .kind = GEN_AGG_COUNT,
       .group = G_B},
  };
  gen_agg_catalogue_t cat = {.metrics = m3, .n = 4, .zero_absent = true};
  gen_agg_values_t *vals = gen_agg_values_new(&cat);
  const gen_interval_value_t *v;
  size_t n;
  EXPECT_EQ_INT(0, (int)read_text(&cat, NULL, G_A,
                                  "[{\"metric\":\"oServiceTarget\",\"stats\":"
                                  "{\"target\":0.8}},{\"metric\":"
                                  "\"oServiceLevel\",\"stats\":{\"ratio\":0.5,"
                                  "\"numerator\":1,\"denominator\":2,"
                                  "\"target\":0.9}}]",
                                  &v, &n, vals));
  EXPECT_EQ_DOUBLE(0.8, value_of(v, n, "service_target"));
  EXPECT_EQ_DOUBLE(0.9, value_of(v, n, "service_level_target"));
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "conversations")); /* not this group */
  gen_agg_series_t s = {"acme", "genesys_test", "q1", "voice", 300000};
  mock_values_reset();
  gen_agg_put_bucket(&cat, NULL, G_A, &s, v, n, 1000000);
  EXPECT_EQ_DOUBLE(0.8, found("service_target", "voice")->value.gauge);
  EXPECT_EQ_DOUBLE(0.9, found("service_level_target", "voice")->value.gauge);
  EXPECT_EQ_DOUBLE(0.5, found("service_level", "voice")->value.gauge);
  mock_values_reset();
  gen_agg_put_totals(&cat, NULL, G_A, &s, v, n, 1000000);
  OK(found("total_service_target", "voice") == NULL);
  OK(found("total_service_level_target", "voice") == NULL);
  EXPECT_EQ_INT(2, mock_values_num); /* the ratio's two counters */

  /* A bucket without either target: none, not 0. */
  read_text(&cat, NULL, G_A,
            "[{\"metric\":\"oServiceLevel\",\"stats\":{\"numerator\":1,"
            "\"denominator\":2}}]",
            &v, &n, vals);
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "service_target"));
  EXPECT_EQ_DOUBLE(-1, value_of(v, n, "service_level_target"));
  /* The org's group: its count, zero-filled there. */
  read_text(&cat, NULL, G_B, "[]", &v, &n, vals);
  EXPECT_EQ_DOUBLE(0, value_of(v, n, "conversations"));

  json_object *m = gen_agg_metrics_json(&cat, NULL, G_A);
  EXPECT_EQ_STR("[ \"oServiceTarget\", \"oServiceLevel\" ]",
                json_object_to_json_string(m));
  json_object_put(m);
  m = gen_agg_metrics_json(&cat, NULL, G_B);
  EXPECT_EQ_STR("[ \"nConversations\" ]", json_object_to_json_string(m));
  json_object_put(m);
  bool on[4] = {true, false, false, false};
  OK(gen_agg_group_on(&cat, on, G_A));
  OK(!gen_agg_group_on(&cat, on, G_B));
  gen_agg_values_free(vals);
  return 0;
}

/* The labels of a key {tag, entity[, sub]}: tag B is group G_B; the
 * entity's name from the buffer, the sub id as the suffix. */
static void test_label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  int *calls = ud;
  (*calls)++;
  out->group = strcmp(key->str[0], "B") == 0 ? G_B : G_A;
  snprintf(out->instance_buf, sizeof(out->instance_buf), "name-of-%s",
           key->str[1] ? key->str[1] : "?");
  out->plugin_instance = out->instance_buf;
  if (key->str[1] && key->str[2])
    out->suffix = key->str[2];
}

/* The engine's sink dispatches a bucket at its end and the counters at
 * their time, through the catalogue, under the plugin's labels. */
DEF_TEST(the_sink_dispatches_under_the_plugins_labels) {
  int calls = 0;
  bool on[N_METRICS] = {[0] = true, [4] = true}; /* offered, runs */
  gen_agg_output_t out = {.cat = &as_is,
                          .on = on,
                          .host = "acme",
                          .plugin = "genesys_test",
                          .granularity_ms = 300000,
                          .label = test_label,
                          .ud = &calls};
  gen_interval_sink_t sink = gen_agg_sink(&out);
  OK(sink.ud == &out);
  gen_interval_value_t a[] = {{.name = "offered", .value = 7},
                              {.name = "answered", .value = 5}};
  mock_values_reset();
  const gen_key_t ka = {{"A", "q-1", "voice"}, 0}, kb = {{"B", "f-1"}, 0};
  sink.bucket(sink.ud, &ka, 600000, 900000, GEN_INTERVAL_NEW, a, 2);
  EXPECT_EQ_INT(1, calls);
  EXPECT_EQ_INT(1, mock_values_num); /* answered is off */
  mock_value_t *x = mock_find("name-of-q-1", "offered", "voice");
  CHECK_NOT_NULL(x);
  EXPECT_EQ_DOUBLE(7, x->value.gauge);
  EXPECT_EQ_UINT64(MS_TO_CDTIME_T(900000), x->time);
  EXPECT_EQ_UINT64(MS_TO_CDTIME_T(300000), x->interval);
  EXPECT_EQ_STR("acme", x->host);
  /* Group B's metrics only, for a key of group B; no sub: no suffix. */
  gen_interval_value_t b[] = {{.name = "runs", .value = 3, .counter = true},
                              {.name = "offered", .value = 9}};
  mock_values_reset();
  sink.totals(sink.ud, &kb, 1200000, b, 2);
  EXPECT_EQ_INT(2, calls);
  EXPECT_EQ_INT(1, mock_values_num);
  x = mock_find("name-of-f-1", "total_runs_all", "");
  CHECK_NOT_NULL(x);
  EXPECT_EQ_INT(3, x->value.derive);
  EXPECT_EQ_UINT64(MS_TO_CDTIME_T(1200000), x->time);
  return 0;
}

/* One value: "<measure>-<suffix>", or the one that is there. */
DEF_TEST(one_value_names_measure_and_suffix) {
  gen_agg_series_t s = {"acme", "genesys_test", "agents", "ON_QUEUE", 60000};
  mock_values_reset();
  gen_agg_put_value(&s, "agent_time", "routing", false, 42, 120000);
  s.suffix = "";
  gen_agg_put_value(&s, "flow_x", "exit", true, 2, 120000);
  s.suffix = "IDLE";
  gen_agg_put_value(&s, "flow_y", NULL, true, 3, 120000);
  EXPECT_EQ_DOUBLE(
      42, mock_find("agents", "agent_time", "routing-ON_QUEUE")->value.gauge);
  EXPECT_EQ_INT(2, mock_find("agents", "flow_x", "exit")->value.derive);
  EXPECT_EQ_INT(3, mock_find("agents", "flow_y", "IDLE")->value.derive);
  EXPECT_EQ_INT(3, mock_values_num);
  return 0;
}

/* A group as "name=value,..." (a dim without a string value: "name=-"). */
static const char *group_text(const gen_agg_group_t *g) {
  static char buf[256];
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < g->n; i++)
    off +=
        (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s=%s", i ? "," : "",
                         g->d[i].name, g->d[i].value ? g->d[i].value : "-");
  return buf;
}

/* Reads text into a and folds its groups on flowId and m, o dropped. */
static int read_folded(gen_agg_answer_t *a, const char *text) {
  static const char *const dims[] = {"flowId", "m"}, *const drop[] = {"o"};
  char err[128];
  EXPECT_EQ_INT(0,
                gen_agg_answer_read(a, text, strlen(text), err, sizeof(err)));
  EXPECT_EQ_INT(0, gen_agg_fold_groups(a, dims, 2, drop, 1));
  return 0;
}

DEF_TEST(groups_agreeing_on_dimensions_fold_into_one) {
  const char *text =
      "{\"results\":["
      "{\"group\":{\"flowId\":\"f\",\"m\":\"a\",\"o\":\"1\"},"
      "\"data\":[{\"interval\":\"I1\",\"metrics\":[{\"metric\":\"n\","
      "\"stats\":{\"count\":2,\"sum\":10,\"max\":7,\"min\":3}}]}]},"
      "{\"group\":{\"flowId\":\"f\"},\"data\":[]},"
      "{\"group\":{\"flowId\":\"f\",\"m\":\"a\",\"o\":\"2\"},"
      "\"data\":[{\"interval\":\"I1\",\"metrics\":[{\"metric\":\"n\","
      "\"stats\":{\"count\":1,\"sum\":9,\"max\":9,\"min\":9}},"
      "{\"metric\":\"t\",\"stats\":{\"count\":5}}]},"
      "{\"interval\":\"I2\",\"metrics\":[]}]},"
      "{\"group\":{\"flowId\":\"f\",\"m\":\"b\",\"o\":\"2\"},"
      "\"data\":[]},"
      "{\"group\":{\"o\":\"3\",\"m\":\"a\",\"flowId\":\"f\"},"
      "\"data\":[{\"interval\":\"I2\",\"metrics\":[{\"metric\":\"n\","
      "\"stats\":{\"count\":4}}]},{\"interval\":\"I2\",\"metrics\":["
      "{\"metric\":\"n\",\"stats\":{\"count\":1,\"max\":2}}]}]}]}";
  gen_agg_answer_t *a = gen_agg_answer_new();
  const gen_agg_result_t *r;
  CHECK_ZERO(read_folded(a, text));
  EXPECT_EQ_INT(3, (int)gen_agg_answer_results(a, &r));
  EXPECT_EQ_STR("flowId=f,m=a", group_text(&r[0].group));
  EXPECT_EQ_INT(2, (int)r[0].n);
  EXPECT_EQ_STR("I1", r[0].b[0].interval);
  EXPECT_EQ_STR("I2", r[0].b[1].interval);
  EXPECT_EQ_INT(2, (int)r[0].b[0].metrics.n);
  const gen_agg_entry_t *e = r[0].b[0].metrics.e;
  EXPECT_EQ_STR("n", e[0].metric);
  EXPECT_EQ_DOUBLE(3, e[0].stat[GEN_AGG_STAT_COUNT]);
  EXPECT_EQ_DOUBLE(19, e[0].stat[GEN_AGG_STAT_SUM]);
  EXPECT_EQ_DOUBLE(9, e[0].stat[GEN_AGG_STAT_MAX]);
  EXPECT_EQ_DOUBLE(3, e[0].stat[GEN_AGG_STAT_MIN]);
  EXPECT_EQ_STR("t", e[1].metric);
  EXPECT_EQ_DOUBLE(5, e[1].stat[GEN_AGG_STAT_COUNT]);
  /* I2 came empty, then twice with n: joined, then added up (the max of
   * one side only is not an extreme of both). */
  EXPECT_EQ_INT(1, (int)r[0].b[1].metrics.n);
  e = r[0].b[1].metrics.e;
  EXPECT_EQ_STR("n", e[0].metric);
  EXPECT_EQ_DOUBLE(5, e[0].stat[GEN_AGG_STAT_COUNT]);
  EXPECT_EQ_INT(1u << GEN_AGG_STAT_COUNT, e[0].have);
  /* Without every dimension: left as it is; another milestone: its own. */
  EXPECT_EQ_STR("flowId=f", group_text(&r[1].group));
  EXPECT_EQ_STR("flowId=f,m=b", group_text(&r[2].group));
  /* No results: nothing to do. */
  CHECK_ZERO(read_folded(a, "{}"));
  EXPECT_EQ_INT(0, (int)gen_agg_answer_results(a, &r));
  gen_agg_answer_free(a);
  return 0;
}

/* Groups folded into one add their counts and sums up to 2^53 and no
 * further: past it the engine would refuse the bucket's values (a sum of
 * two 5e15 milestones' counts is 1.0000000000000008e16). */
DEF_TEST(folded_sums_stop_at_2_53) {
  const char *text =
      "{\"results\":["
      "{\"group\":{\"flowId\":\"f\",\"m\":\"a\",\"o\":\"1\"},"
      "\"data\":[{\"interval\":\"I1\",\"metrics\":[{\"metric\":\"n\","
      "\"stats\":{\"count\":5000000000000000,\"sum\":9000000000000000}}]}]},"
      "{\"group\":{\"flowId\":\"f\",\"m\":\"a\",\"o\":\"2\"},"
      "\"data\":[{\"interval\":\"I1\",\"metrics\":[{\"metric\":\"n\","
      "\"stats\":{\"count\":5000000000000000,\"sum\":9000000000000000}}]}]}"
      "]}";
  gen_agg_answer_t *a = gen_agg_answer_new();
  const gen_agg_result_t *r;
  CHECK_ZERO(read_folded(a, text));
  EXPECT_EQ_INT(1, (int)gen_agg_answer_results(a, &r));
  const gen_agg_entry_t *e = r[0].b[0].metrics.e;
  OK(e[0].stat[GEN_AGG_STAT_COUNT] == (double)GEN_JSON_EXACT_MAX);
  OK(e[0].stat[GEN_AGG_STAT_SUM] == (double)GEN_JSON_EXACT_MAX);
  gen_agg_answer_free(a);
  return 0;
}

/* Reads text as gen_aggregates does. */
static int answer_read(const char *text, gen_agg_answer_t *a) {
  char err[128] = "";
  if (text == NULL)
    return 0;
  return gen_agg_answer_read(a, text, strlen(text), err, sizeof(err));
}

DEF_TEST(an_answer_is_read_as_json_c_reads_it) {
  gen_agg_answer_t *a = gen_agg_answer_new();
  const gen_agg_result_t *r;
  /* The last of a repeated member counts, as in json-c. */
  const char *repeated =
      "{\"results\":[{\"group\":{\"queueId\":\"q1\",\"queueId\":\"q2\","
      "\"mediaType\":5},\"data\":[{\"interval\":\"i1\",\"metrics\":[]}],"
      "\"data\":[{\"interval\":\"i2\",\"interval\":\"i3\",\"metrics\":["
      "{\"metric\":\"nA\",\"stats\":{\"count\":1,\"count\":\"x\",\"sum\":2}},"
      "{\"metric\":\"nB\",\"stats\":{\"sum\":1},\"stats\":{\"max\":-0.5}}],"
      "\"metrics\":[{\"metric\":\"nC\",\"metric\":7,\"stats\":{\"count\":"
      "12345678901234567890,\"min\":1e999}}]}]},{\"group\":{\"x\":\"y\"},"
      "\"group\":{\"queueId\":\"q3\"}}]}";
  EXPECT_EQ_INT(0, answer_read(repeated, a));
  EXPECT_EQ_INT(2, (int)gen_agg_answer_results(a, &r));
  EXPECT_EQ_STR("q2", gen_agg_group_get(&r[0].group, "queueId"));
  EXPECT_EQ_INT(1, (gen_agg_group_get(&r[0].group, "mediaType") == NULL));
  EXPECT_EQ_INT(1, (int)r[0].n);
  EXPECT_EQ_STR("i3", r[0].b[0].interval);
  EXPECT_EQ_INT(1, (int)r[0].b[0].metrics.n);
  const gen_agg_entry_t *e = &r[0].b[0].metrics.e[0];
  EXPECT_EQ_INT(1, (e->metric == NULL));
  EXPECT_EQ_INT(1, e->stats);
  /* Past int64 (past 2^53: the state file could not keep it) and a
   * non-finite number are not there. */
  EXPECT_EQ_INT(0, e->have);
  EXPECT_EQ_STR("q3", gen_agg_group_get(&r[1].group, "queueId"));
  EXPECT_EQ_INT(1, (gen_agg_group_get(&r[1].group, "x") == NULL));
  EXPECT_EQ_INT(0, (int)r[1].n);

  /* Items that are not objects are there, empty; members we do not read
   * (and their containers) are passed over. */
  const char *odd =
      "{\"x\":{\"results\":5},\"results\":[7,[{\"group\":{}}],{\"group\":["
      "1],\"data\":{}},{\"group\":{\"queueId\":{\"a\":[1]},\"k\":\"v\"},"
      "\"data\":[5,{\"interval\":[\"i\"],\"metrics\":[1,{\"metric\":\"n\","
      "\"stats\":[1]},{\"metric\":\"n\\u00e9\",\"stats\":{\"sum\":1.5e3,"
      "\"numerator\":true,\"other\":{\"count\":1}}}]}]}]}";
  EXPECT_EQ_INT(0, answer_read(odd, a));
  EXPECT_EQ_INT(4, (int)gen_agg_answer_results(a, &r));
  EXPECT_EQ_INT(0, (int)r[0].group.n);
  EXPECT_EQ_INT(0, (int)r[0].n);
  EXPECT_EQ_INT(0, (int)r[2].group.n);
  EXPECT_EQ_INT(1, (gen_agg_group_get(&r[3].group, "queueId") == NULL));
  EXPECT_EQ_STR("v", gen_agg_group_get(&r[3].group, "k"));
  EXPECT_EQ_INT(2, (int)r[3].n);
  EXPECT_EQ_INT(1, (r[3].b[0].interval == NULL));
  EXPECT_EQ_INT(0, (int)r[3].b[0].metrics.n);
  EXPECT_EQ_INT(1, (r[3].b[1].interval == NULL));
  EXPECT_EQ_INT(3, (int)r[3].b[1].metrics.n);
  e = r[3].b[1].metrics.e;
  EXPECT_EQ_INT(1, (e[0].metric == NULL));
  EXPECT_EQ_INT(0, e[0].stats);
  EXPECT_EQ_STR("n", e[1].metric);
  EXPECT_EQ_INT(0, e[1].stats);
  EXPECT_EQ_STR("n\xc3\xa9", e[2].metric);
  EXPECT_EQ_INT(1u << GEN_AGG_STAT_SUM, e[2].have);
  EXPECT_EQ_DOUBLE(1500, e[2].stat[GEN_AGG_STAT_SUM]);

  /* Not ours: refused whole, as json-c's reading refuses it. */
  EXPECT_EQ_INT(-EINVAL, answer_read("[]", a));
  EXPECT_EQ_INT(-EINVAL, answer_read("{\"results\":{}}", a));
  EXPECT_EQ_INT(-EINVAL, answer_read("{\"results\":null}", a));
  EXPECT_EQ_INT(-EINVAL, answer_read("{\"results\":[],\"results\":5}", a));
  EXPECT_EQ_INT(0, answer_read("{\"results\":5,\"results\":[]}", a));
  EXPECT_EQ_INT(0, answer_read("{}", a));
  EXPECT_EQ_INT(0, (int)gen_agg_answer_results(a, &r));
  /* Not JSON, and nesting past GEN_JSON_MAX_DEPTH: refused, not read. */
  EXPECT_EQ_INT(-EINVAL, answer_read("{\"results\":[", a));
  EXPECT_EQ_INT(-EINVAL, answer_read("{} x", a));
  char deep[2 * GEN_JSON_MAX_DEPTH + 40];
  size_t at = (size_t)snprintf(deep, sizeof(deep), "{\"results\":");
  for (int i = 0; i < GEN_JSON_MAX_DEPTH; i++)
    deep[at++] = '[';
  for (int i = 0; i < GEN_JSON_MAX_DEPTH; i++)
    deep[at++] = ']';
  deep[at++] = '}';
  deep[at] = '\0';
  EXPECT_EQ_INT(-EINVAL, answer_read(deep, a));
  answer_read(NULL, a);
  gen_agg_answer_free(a);
  return 0;
}

/* Reads text; its error (or "") into err. */
static int read_err(gen_agg_answer_t *a, const char *text, size_t len,
                    char *err, size_t size) {
  err[0] = '\0';
  return gen_agg_answer_read(a, text, len, err, size);
}

DEF_TEST(an_answer_is_refused_as_gen_json_parse_refuses_it) {
  gen_agg_answer_t *a = gen_agg_answer_new();
  const gen_agg_result_t *r;
  char err[256];
  const char *ok = "{\"results\":[{\"group\":{\"queueId\":\"q1\"}}]}";
  static const struct {
    const char *text, *err;
  } bad[] = {
      {"{\"results\":[{\"group\":{\"queueId\":\"q1\"}}]",
       "malformed JSON: message is truncated at byte 39"},
      {"{\"results\":[{\"group\":{\"queueId\":\"q1",
       "malformed JSON: message is truncated at byte 35"},
      {"{\"results\":[]} {}",
       "malformed JSON: trailing data after the message at byte 14"},
      {"{\"results\":[]}]", "malformed JSON: trailing data after the message "
                            "at byte 14"},
      {"{\"results\":[1,]}", "malformed JSON: invalid character at byte 14"},
      {"{'results':[]}",
       "malformed JSON: an object key that is not a string at byte 1"},
      {"{\"results\":[01]}", "malformed JSON: expected ',' or ']' in an array "
                             "at byte 13"},
      {"{\"results\":[NaN]}", "malformed JSON: invalid character at byte 12"},
      {"{\"results\":[]}/**/",
       "malformed JSON: trailing data after the message at byte 14"},
      {"{\"results\":[{\"group\":{\"q\":\"a\\x\"}}]}",
       "malformed JSON: invalid escape in a string at byte 29"},
      {"{\"results\":[{\"group\":{\"q\":\"\xc3\x28\"}}]}",
       "malformed JSON: invalid UTF-8 at byte 27"},
      {"{\"results\":[{\"group\":{\"q\":\"\xed\xa0\x80\"}}]}",
       "malformed JSON: invalid UTF-8 at byte 27"},
      {"", "malformed JSON: message is truncated at byte 0"},
      {"[]", "the answer is not an aggregates response"},
      {"\"results\"", "the answer is not an aggregates response"},
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad); i++) {
    /* An answer read before is gone with a refused one. */
    EXPECT_EQ_INT(0, read_err(a, ok, strlen(ok), err, sizeof(err)));
    EXPECT_EQ_INT(-EINVAL, read_err(a, bad[i].text, strlen(bad[i].text), err,
                                    sizeof(err)));
    EXPECT_EQ_STR(bad[i].err, err);
    EXPECT_EQ_INT(0, (int)gen_agg_answer_results(a, &r));
  }
  /* Exactly len bytes: what follows is not read. */
  EXPECT_EQ_INT(0, read_err(a, "{\"results\":[]}x", 14, err, sizeof(err)));

  /* Nesting: GEN_JSON_MAX_DEPTH containers are read, one more is refused. */
  char deep[2 * GEN_JSON_MAX_DEPTH + 40];
  for (int extra = 0; extra < 2; extra++) {
    size_t at = (size_t)snprintf(deep, sizeof(deep), "{\"results\":");
    for (int i = 0; i < GEN_JSON_MAX_DEPTH - 1 + extra; i++)
      deep[at++] = '[';
    for (int i = 0; i < GEN_JSON_MAX_DEPTH - 1 + extra; i++)
      deep[at++] = ']';
    deep[at++] = '}';
    EXPECT_EQ_INT(extra ? -EINVAL : 0, read_err(a, deep, at, err, sizeof(err)));
  }
  EXPECT_EQ_STR("malformed JSON: nesting too deep at byte 42", err);

  /* gen_json_parse's census: more containers than GEN_JSON_MAX_CONTAINERS,
   * refused before anything is read. */
  size_t n = GEN_JSON_MAX_CONTAINERS + 1, len = 0;
  char *many = malloc(3 * n + 32);
  CHECK_NOT_NULL(many);
  len += (size_t)sprintf(many, "{\"results\":[");
  for (size_t i = 0; i < n; i++)
    len += (size_t)sprintf(many + len, "%s[]", i ? "," : "");
  len += (size_t)sprintf(many + len, "]}");
  EXPECT_EQ_INT(-EINVAL, read_err(a, many, len, err, sizeof(err)));
  EXPECT_EQ_STR("malformed JSON: document has more than 250000 objects and "
                "arrays",
                err);
  free(many);
  gen_agg_answer_free(a);
  return 0;
}

DEF_TEST(names_decoded_and_numbers_kept_in_groups) {
  gen_agg_answer_t *a = gen_agg_answer_new();
  const gen_agg_result_t *r;
  char err[256];
  /* \u escapes in names and values (a pair, a lone half: U+FFFD); a
   * number as a dim value: no value, its text kept; a stat of 40 digits. */
  const char *text =
      "{\"results\":[{\"group\":{\"\\u0071ueueId\":\"q\\ud83d\\ude00\","
      "\"responseStatus\":404,\"x\":\"\\ud800\",\"neg\":-1.5e2},"
      "\"data\":[{\"interval\":\"i\\/1\",\"metrics\":[{\"metric\":"
      "\"\\u006eOffered\",\"stats\":{\"count\":"
      "1.000000000000000000000000000000000000001,\"max\":7}}]}]}]}";
  EXPECT_EQ_INT(0, read_err(a, text, strlen(text), err, sizeof(err)));
  EXPECT_EQ_INT(1, (int)gen_agg_answer_results(a, &r));
  EXPECT_EQ_STR("q\xf0\x9f\x98\x80", gen_agg_group_get(&r->group, "queueId"));
  EXPECT_EQ_INT(1, (gen_agg_group_get(&r->group, "responseStatus") == NULL));
  EXPECT_EQ_STR("404", r->group.d[1].number);
  EXPECT_EQ_STR("\xef\xbf\xbd", gen_agg_group_get(&r->group, "x"));
  EXPECT_EQ_STR("-1.5e2", r->group.d[3].number);
  EXPECT_EQ_INT(1, (r->group.d[0].number == NULL));
  EXPECT_EQ_STR("i/1", r->b[0].interval);
  const gen_agg_entry_t *e = &r->b[0].metrics.e[0];
  EXPECT_EQ_STR("nOffered", e->metric);
  EXPECT_EQ_INT((1u << GEN_AGG_STAT_COUNT) | (1u << GEN_AGG_STAT_MAX), e->have);
  EXPECT_EQ_DOUBLE(1, e->stat[GEN_AGG_STAT_COUNT]);
  EXPECT_EQ_DOUBLE(7, e->stat[GEN_AGG_STAT_MAX]);

  /* Strings written after the read (a rewrite's) may outgrow the arena's
   * chunk: the ones read stay where they are. */
  const char *queue = gen_agg_group_get(&r->group, "queueId");
  char big[3000];
  memset(big, 'b', sizeof(big));
  for (int i = 0; i < 8; i++)
    OK(gen_agg_answer_strdup(a, big, sizeof(big)) != NULL);
  const char *last = gen_agg_answer_strdup(a, "tail", 4);
  EXPECT_EQ_STR("tail", last);
  EXPECT_EQ_STR("q\xf0\x9f\x98\x80", queue);
  /* The next answer reuses the arena, whole. */
  EXPECT_EQ_INT(0, read_err(a, text, strlen(text), err, sizeof(err)));
  EXPECT_EQ_INT(1, (int)gen_agg_answer_results(a, &r));
  EXPECT_EQ_STR("nOffered", r->b[0].metrics.e[0].metric);
  gen_agg_answer_free(a);
  return 0;
}

/* What the flow and data action families ask for: the flow listing of
 * the FlowType keys, and the actions a request names. */
DEF_TEST(flow_listing_and_actions_per_request) {
  char path[256];
  gen_flow_agg_list_path(NULL, 0, path, sizeof(path));
  EXPECT_EQ_STR("/api/v2/flows", path);
  char *types[] = {"inboundcall", "bot"};
  gen_flow_agg_list_path(types, 2, path, sizeof(path));
  EXPECT_EQ_STR("/api/v2/flows?type=inboundcall&type=bot", path);
  gen_action_agg_t aa = {.every = true};
  EXPECT_EQ_INT(0, (int)gen_action_agg_per_query(&aa)); /* no filter */
  aa.every = false;
  EXPECT_EQ_INT(GEN_ACTION_AGG_MAX_PER_QUERY,
                (int)gen_action_agg_per_query(&aa));
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(find_by_our_name_or_an_unambiguous_api_name);
  RUN_TEST(metric_key_turns_metrics_on_and_names_the_valid_ones);
  RUN_TEST(sets_turn_their_members_on);
  RUN_TEST(a_score_may_be_negative_and_only_its_count_is_a_counter);
  RUN_TEST(request_metrics_once_each);
  RUN_TEST(a_bucket_read_into_engine_values);
  RUN_TEST(unusable_entries_are_skipped_and_absent_counts_are_zero);
  RUN_TEST(a_stat_past_2_53_is_refused_where_it_is_read);
  RUN_TEST(each_bucket_and_counter_dispatched_as_the_catalogue_says);
  RUN_TEST(targets_are_gauges_and_groups_ask_only_their_own);
  RUN_TEST(the_sink_dispatches_under_the_plugins_labels);
  RUN_TEST(one_value_names_measure_and_suffix);
  RUN_TEST(groups_agreeing_on_dimensions_fold_into_one);
  RUN_TEST(folded_sums_stop_at_2_53);
  RUN_TEST(an_answer_is_read_as_json_c_reads_it);
  RUN_TEST(an_answer_is_refused_as_gen_json_parse_refuses_it);
  RUN_TEST(names_decoded_and_numbers_kept_in_groups);
  RUN_TEST(flow_listing_and_actions_per_request);
  END_TEST;
}
