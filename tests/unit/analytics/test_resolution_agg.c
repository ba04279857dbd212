/* SPDX-License-Identifier: MIT */
/* Unit tests: resolution aggregates (gen_resolution_agg): the request of
 * days on the wrap-up date grouped by queue and media and filtered by
 * queue, an answer's nNextContactAvoided read per queue and media (from
 * stats.count), a queue not asked for skipped, an unknown metric passed
 * over, the series named by the queue and the media type, and the
 * revisit schedule reaching past the 7 + 8 days the record gives. */
#include "gen_json.h"
#include "gen_resolution_agg.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <stdlib.h>
#include <string.h>

#define D GEN_RESOLUTION_DAY_MS
#define T0 1795392000000LL /* 2026-11-23T00:00:00Z */
#define B0 "2026-11-23T00:00:00.000Z/2026-11-24T00:00:00.000Z"
#define Q1 "0b7e0c52-6a35-4d1f-9d1e-1f0a2d5e8c11"
#define Q2 "1c8f1d63-7b46-4e2a-8e2f-2a1b3e6f9d22"

static const gen_interval_range_t range = {T0, T0 + 2 * D, 0};
static gen_org_t org = {.plugin = "genesys_analytics"};

static gen_entity_set_t queues(void) {
  gen_entity_set_t set = {0};
  gen_entity_add(&set, Q1, "Support", NULL);
  gen_entity_add(&set, Q2, "Sales", NULL);
  return set;
}

DEF_TEST(request_days_on_wrapup_grouped_by_queue_and_media) {
  gen_entity_set_t set = queues();
  gen_queue_row_t ra = {.qm = {.queues = &set, .plugin = "genesys_analytics"}};
  gen_agg_query_t q = gen_resolution_agg_query(&ra);
  EXPECT_EQ_STR(GEN_RESOLUTION_AGG_PATH, q.path);
  const char *ids[] = {Q1, Q2};
  json_object *body = q.body(q.ud, ids, 2, &range);
  const char *text =
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  OK(strstr(text, "\"groupBy\":[\"queueId\",\"mediaType\"]") != NULL);
  OK(strstr(text, "\"granularity\":\"P1D\"") != NULL ||
     strstr(text, "\"granularity\":\"PT24H\"") != NULL);
  OK(strstr(text, "\"alternateTimeDimension\":\"wrapUpDate\"") != NULL);
  OK(strstr(text, "\"metrics\":[\"nNextContactAvoided\"]") != NULL);
  OK(strstr(text, "\"interval\":\"2026-11-23T00:00:00") != NULL);
  json_object *filter = NULL, *preds = NULL;
  OK(json_object_object_get_ex(body, "filter", &filter));
  OK(json_object_object_get_ex(filter, "predicates", &preds));
  EXPECT_EQ_INT(2, (int)json_object_array_length(preds));
  OK(strstr(json_object_to_json_string_ext(preds, JSON_C_TO_STRING_PLAIN),
            "\"dimension\":\"queueId\"") != NULL);
  json_object_put(body);
  gen_entity_set_free(&set);
  return 0;
}

#define METRIC(m, n) "{\"metric\":\"" m "\",\"stats\":{\"count\":" n "}}"
#define RESULT(group, metrics)                                                 \
  "{\"group\":" group ",\"data\":[{\"interval\":\"" B0                         \
  "\",\"metrics\":[" metrics "]}]}"
#define GROUP(q, m) "{\"queueId\":\"" q "\",\"mediaType\":\"" m "\"}"

DEF_TEST(answer_read_per_queue_and_media) {
  gen_entity_set_t set = queues();
  gen_queue_row_t ra = {.qm = {.org = &org, .queues = &set}};
  gen_agg_query_t q = gen_resolution_agg_query(&ra);
  static const char text[] = "{\"results\":[" RESULT(
      GROUP(Q1, "voice"),
      METRIC("nNextContactAvoided", "7") "," METRIC(
          "nNextContactMade",
          "2")) "," RESULT(GROUP(Q1, "message"),
                           METRIC("nNextContactAvoided",
                                  "3")) "," RESULT(GROUP("ffffffff-0000-0000-"
                                                         "0000-000000000000",
                                                         "voice"),
                                                   METRIC("nNextContactAvoided",
                                                          "9")) "]}";
  gen_agg_answer_t *a = gen_agg_answer_new();
  char err[256] = "";
  EXPECT_EQ_INT(0,
                gen_agg_answer_read(a, text, strlen(text), err, sizeof(err)));
  OK(q.prepare == NULL && q.fold == NULL);
  const gen_agg_result_t *res;
  size_t n = gen_agg_answer_results(a, &res);
  EXPECT_EQ_INT(3, (int)n); /* one key per queue and media: no fold */
  const char *scope = NULL;
  gen_key_t voice = {0}, message = {0}, other = {0};
  OK(q.reader.group(q.reader.ud, &res[0].group, &scope, &voice));
  EXPECT_EQ_STR(Q1, scope);
  EXPECT_EQ_STR(Q1, voice.str[1]);
  EXPECT_EQ_STR("voice", voice.str[2]);
  OK(q.reader.group(q.reader.ud, &res[1].group, &scope, &message));
  EXPECT_EQ_STR("message", message.str[2]);
  OK(!gen_key_equal(&voice, &message));
  /* a queue not asked for is not ours */
  OK(!q.reader.group(q.reader.ud, &res[2].group, &scope, &other));
  /* the count, from stats.count; the unknown word skipped, not a failure */
  const gen_interval_value_t *v = NULL;
  size_t nv = 0;
  gen_agg_values_t *vals = gen_agg_values_new(q.reader.cat);
  size_t skipped =
      gen_agg_read(q.reader.cat, NULL, 0, &res[0].b[0].metrics, vals, &v, &nv);
  EXPECT_EQ_INT(1, (int)skipped);
  double x = -1;
  OK(gen_agg_value_find(v, nv, "next_contact_avoided", &x));
  EXPECT_EQ_DOUBLE(7, x);
  /* its series: the queue's name, the media type */
  gen_agg_label_t label = {0};
  q.out.label(q.out.ud, &message, &label);
  EXPECT_EQ_STR("Support", label.plugin_instance);
  EXPECT_EQ_STR("message", label.suffix);
  gen_agg_answer_free(a);
  gen_agg_values_free(vals);
  gen_entity_set_free(&set);
  return 0;
}

/* The last revisit is past the 7 days of lookup and 8 of processing the
 * record gives; none before the 7 days (nothing is counted yet). */
DEF_TEST(revisits_reach_past_settling) {
  gen_revisit_t r = GEN_RESOLUTION_REVISIT;
  OK(r.n >= 1 && r.n <= GEN_REVISIT_MAX);
  OK(r.age_ms[0] >= 7 * D);
  OK(r.age_ms[r.n - 1] > 15 * D);
  OK(r.age_ms[r.n - 1] <= GEN_REVISIT_MAX_AGE_MS);
  for (size_t i = 1; i < r.n; i++)
    OK(r.age_ms[i] > r.age_ms[i - 1]);
  return 0;
}

static void no_bucket(void *ud, const gen_key_t *key, int64_t start_ms,
                      int64_t end_ms, gen_interval_kind_t kind,
                      const gen_interval_value_t *values, size_t n) {
  (void)key, (void)start_ms, (void)end_ms, (void)values, (void)n;
  *(int *)ud += kind == GEN_INTERVAL_REVISION;
}

/* The row's engine, run hour by hour for 20 days: one day is asked when it
 * closes, then again at each age of the schedule, the last 16 days after
 * its end, and never after; a value that grew is dispatched again. */
DEF_TEST(engine_asks_a_day_again_until_it_settles) {
  char dir[] = "/tmp/test_resolution_agg.XXXXXX";
  OK(mkdtemp(dir) != NULL);
  gen_interval_config_t ic;
  gen_interval_config_init_revisiting(&ic);
  ic.state_dir = dir;
  gen_org_t acme = {.name = "acme", .plugin = "genesys_analytics"};
  gen_interval_t *gi = gen_resolution_agg_engine(&acme, &ic, "test", NULL);
  OK(gi != NULL);
  const char *scope[] = {"Q"};
  int64_t day_end = T0 + D, last_ask = 0;
  int asks = 0, revisions = 0;
  gen_interval_sink_t sink = {.bucket = no_bucket, .ud = &revisions};
  for (int64_t now = day_end + 3600000; now < day_end + 20 * D;
       now += 3600000) {
    gen_interval_range_t r;
    while (gen_interval_plan(gi, scope, 1, now, &r) == 1) {
      if (r.start_ms <= T0 && T0 < r.end_ms) {
        asks++;
        last_ask = now;
        /* the day's count so far: one more each day past its 7th */
        double so_far = now - day_end < 7 * D ? 0 : (now - day_end) / D;
        gen_key_t key = {{"R", "Q", "voice"}, 0};
        gen_interval_value_t v = {"next_contact_avoided", so_far, true};
        if (so_far > 0)
          EXPECT_EQ_INT(0, gen_interval_put(gi, "Q", &key, T0, &v, 1));
      }
      EXPECT_EQ_INT(0, gen_interval_commit(gi, scope, 1, &r, now, &sink));
    }
  }
  gen_revisit_t sched = GEN_RESOLUTION_REVISIT;
  EXPECT_EQ_INT(1 + (int)sched.n, asks); /* closed, then each age */
  OK(last_ask >= day_end + GEN_RESOLUTION_HORIZON_MS);
  OK(last_ask <= day_end + GEN_RESOLUTION_HORIZON_MS + 2 * 3600000);
  OK(revisions >= 1);
  gen_interval_free(gi);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  OK(system(cmd) == 0);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(request_days_on_wrapup_grouped_by_queue_and_media);
  RUN_TEST(answer_read_per_queue_and_media);
  RUN_TEST(revisits_reach_past_settling);
  RUN_TEST(engine_asks_a_day_again_until_it_settles);
  END_TEST;
}
