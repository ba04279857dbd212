/* SPDX-License-Identifier: MIT */
/* Unit tests: agent time in status (gen_agent_status): the users aggregates
 * request, answers summed per kind, status and bucket over every batch,
 * unusable entries skipped and counted, a wrong shape or a bucket outside
 * the range failing the range, the sums put into an engine. */
#include "gen_agent_status.h"
#include "gen_json.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#define G 300000LL
/* 2026-11-23T10:00:00Z and the bucket after it, as the API writes them. */
#define T0 1795428000000LL
#define B0 "2026-11-23T10:00:00.000Z/2026-11-23T10:05:00.000Z"
#define B1 "2026-11-23T10:05:00.000Z/2026-11-23T10:10:00.000Z"

static const gen_interval_range_t range = {T0, T0 + 2 * G, 0};

#define ENTRY(metric, status, sum)                                             \
  "{\"metric\":\"" metric "\",\"qualifier\":\"" status                         \
  "\",\"stats\":{\"sum\":" sum "}}"
#define USER(id, bucket, entries)                                              \
  "{\"group\":{\"userId\":\"" id "\"},\"data\":[{\"interval\":\"" bucket       \
  "\",\"metrics\":[" entries "]}]}"

static int take(gen_agent_sums_t *s, const char *text, size_t *skipped,
                char *err, size_t size) {
  json_object *doc = json_tokener_parse(text);
  int status = gen_agent_sums_take(s, doc, &range, skipped, err, size);
  json_object_put(doc);
  return status;
}

static double sum_of(const gen_agent_sums_t *s, size_t b, int kind,
                     const char *status) {
  for (size_t i = 0; i < s->n_status[kind]; i++)
    if (strcmp(s->status[kind][i], status) == 0)
      return s->ms[(b * 2 + (size_t)kind) * GEN_AGENT_STATUS_MAX + i];
  return -1;
}

DEF_TEST(request_body) {
  const char *ids[] = {"u1", "u2"};
  json_object *body = gen_agent_status_body(ids, 2, &range, G);
  EXPECT_EQ_STR("PT5M", gen_json_get_string(body, "granularity"));
  json_object *group_by = gen_json_get_array(body, "groupBy");
  CHECK_NOT_NULL(group_by);
  EXPECT_EQ_INT(1, (int)json_object_array_length(group_by));
  EXPECT_EQ_STR("userId",
                json_object_get_string(json_object_array_get_idx(group_by, 0)));
  json_object *metrics = gen_json_get_array(body, "metrics");
  CHECK_NOT_NULL(metrics);
  EXPECT_EQ_INT(2, (int)json_object_array_length(metrics));
  EXPECT_EQ_STR("tAgentRoutingStatus",
                json_object_get_string(json_object_array_get_idx(metrics, 0)));
  EXPECT_EQ_STR("tSystemPresence",
                json_object_get_string(json_object_array_get_idx(metrics, 1)));
  const char *filter = json_object_to_json_string_ext(
      gen_json_get_object(body, "filter"), JSON_C_TO_STRING_PLAIN);
  OK(strstr(filter, "\"u1\"") != NULL && strstr(filter, "\"u2\"") != NULL);
  json_object_put(body);
  return 0;
}

DEF_TEST(sums_every_answer_per_status_and_bucket) {
  gen_agent_sums_t s;
  CHECK_ZERO(gen_agent_sums_init(&s, &range, G));
  EXPECT_EQ_INT(2, (int)s.n_buckets);
  size_t skipped = 0;
  char err[256] = "";
  CHECK_ZERO(take(&s,
                  "{\"results\":[" USER(
                      "u1", B0,
                      ENTRY("tAgentRoutingStatus", "IDLE", "1000") "," ENTRY(
                          "tSystemPresence", "AVAILABLE",
                          "3000")) "," USER("u2", B1,
                                            ENTRY("tAgentRoutingStatus", "IDLE",
                                                  "500")) "]}",
                  &skipped, err, sizeof(err)));
  /* A second batch of users adds to the same buckets. */
  CHECK_ZERO(
      take(&s,
           "{\"results\":[" USER(
               "u3", B0, ENTRY("tAgentRoutingStatus", "IDLE", "250")) "]}",
           &skipped, err, sizeof(err)));
  EXPECT_EQ_DOUBLE(1250, sum_of(&s, 0, 0, "IDLE"));
  EXPECT_EQ_DOUBLE(500, sum_of(&s, 1, 0, "IDLE"));
  EXPECT_EQ_DOUBLE(3000, sum_of(&s, 0, 1, "AVAILABLE"));
  OK(!s.filled[1 * 2 + 1]); /* no presence in the second bucket */
  EXPECT_EQ_INT(0, (int)skipped);
  /* No results at all: a quiet range, not an error. */
  CHECK_ZERO(take(&s, "{}", &skipped, err, sizeof(err)));
  gen_agent_sums_free(&s);
  return 0;
}

DEF_TEST(unusable_entries_are_skipped_and_counted) {
  gen_agent_sums_t s;
  CHECK_ZERO(gen_agent_sums_init(&s, &range, G));
  size_t skipped = 0;
  char err[256] = "";
  CHECK_ZERO(take(
      &s,
      "{\"results\":[" USER(
          "u1", B0,
          "{\"metric\":\"tAgentRoutingStatus\",\"stats\":{\"sum\":5}}," ENTRY(
              "tAgentRoutingStatus", "IDLE",
              "-5") "," ENTRY("tSystemPresence", "AWAY",
                              "\"x\"") "," ENTRY("nOther", "IDLE", "7")) "]}",
      &skipped, err, sizeof(err)));
  /* No status, a negative sum, a sum not a number; a metric we did not ask
   * for is passed over, not counted. */
  EXPECT_EQ_INT(3, (int)skipped);
  EXPECT_EQ_INT(0, (int)(s.n_status[0] + s.n_status[1]));
  /* More statuses than the table keeps: the rest are skipped. */
  char text[8192] =
      "{\"results\":[{\"data\":[{\"interval\":\"" B0 "\",\"metrics\":[";
  for (int i = 0; i < GEN_AGENT_STATUS_MAX + 2; i++)
    snprintf(text + strlen(text), sizeof(text) - strlen(text),
             "%s{\"metric\":\"tSystemPresence\",\"qualifier\":\"S%d\","
             "\"stats\":{\"sum\":1}}",
             i ? "," : "", i);
  sstrncpy(text + strlen(text), "]}]}]}", sizeof(text) - strlen(text));
  skipped = 0;
  CHECK_ZERO(take(&s, text, &skipped, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_AGENT_STATUS_MAX, (int)s.n_status[1]);
  EXPECT_EQ_INT(2, (int)skipped);
  gen_agent_sums_free(&s);
  return 0;
}

DEF_TEST(a_wrong_answer_fails_the_range) {
  gen_agent_sums_t s;
  CHECK_ZERO(gen_agent_sums_init(&s, &range, G));
  size_t skipped = 0;
  char err[256] = "";
  EXPECT_EQ_INT(-EINVAL,
                take(&s, "{\"results\":{}}", &skipped, err, sizeof(err)));
  OK(strstr(err, "not a users aggregates response") != NULL);
  err[0] = '\0';
  EXPECT_EQ_INT(-EINVAL, take(&s,
                              "{\"results\":[" USER("u1",
                                                    "2026-11-23T11:00:00.000Z/"
                                                    "2026-11-23T11:05:00.000Z",
                                                    ENTRY("tAgentRoutingStatus",
                                                          "IDLE", "1")) "]}",
                              &skipped, err, sizeof(err)));
  OK(err[0] != '\0');
  gen_agent_sums_free(&s);
  return 0;
}

static double seen_idle, seen_available;
static int seen_buckets;

static void on_bucket(void *ud, const gen_key_t *key, int64_t start_ms,
                      int64_t end_ms, gen_interval_kind_t kind,
                      const gen_interval_value_t *v, size_t n) {
  seen_buckets++;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(key->str[0], "routing") == 0 && strcmp(v[i].name, "IDLE") == 0)
      seen_idle += v[i].value;
    if (strcmp(key->str[0], "presence") == 0 &&
        strcmp(v[i].name, "AVAILABLE") == 0)
      seen_available += v[i].value;
  }
}

DEF_TEST(sums_put_into_the_engine) {
  static const char *const scope[] = {"agents"};
  gen_interval_options_t o = {.granularity_ms = G,
                              .settle_ms = 30000,
                              .revisit_ms = 0,
                              .horizon_ms = 4 * G,
                              .initial_ms = 2 * G,
                              .max_buckets = 4};
  gen_interval_t *engine = gen_interval_create(&o);
  CHECK_NOT_NULL(engine);
  gen_interval_range_t planned;
  int64_t now = T0 + 2 * G + 30000;
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scope, 1, now, &planned));
  OK(planned.start_ms == range.start_ms && planned.end_ms == range.end_ms);
  gen_agent_sums_t s;
  CHECK_ZERO(gen_agent_sums_init(&s, &planned, G));
  size_t skipped = 0;
  char err[256] = "";
  CHECK_ZERO(take(&s,
                  "{\"results\":[" USER(
                      "u1", B0,
                      ENTRY("tAgentRoutingStatus", "IDLE", "1000") "," ENTRY(
                          "tSystemPresence", "AVAILABLE",
                          "3000")) "," USER("u2", B1,
                                            ENTRY("tAgentRoutingStatus", "IDLE",
                                                  "500")) "]}",
                  &skipped, err, sizeof(err)));
  CHECK_ZERO(gen_agent_sums_put(&s, engine, "agents", &planned));
  gen_agent_sums_free(&s);
  gen_interval_sink_t sink = {.bucket = on_bucket};
  CHECK_ZERO(gen_interval_commit(engine, scope, 1, &planned, now, &sink));
  /* routing in both buckets, presence in the first only. */
  EXPECT_EQ_INT(3, seen_buckets);
  EXPECT_EQ_DOUBLE(1500, seen_idle);
  EXPECT_EQ_DOUBLE(3000, seen_available);
  gen_interval_free(engine);
  return 0;
}

int main(void) {
  RUN_TEST(request_body);
  RUN_TEST(sums_every_answer_per_status_and_bucket);
  RUN_TEST(unusable_entries_are_skipped_and_counted);
  RUN_TEST(a_wrong_answer_fails_the_range);
  RUN_TEST(sums_put_into_the_engine);
  END_TEST;
}
