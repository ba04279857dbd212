/* SPDX-License-Identifier: MIT */
/* Unit tests: agent time in status (gen_agent_status): the users aggregates
 * request, answers summed per kind, status and bucket over every batch,
 * unusable entries skipped and counted, a wrong shape or a bucket outside
 * the range failing the range, the sums put into an engine; a range read
 * over several calls (a request budget, a failed request resumed at its
 * batch, restarted when the users or the planned range change). */
#include "fake_client.h"
#include "gen_agent_status.h"
#include "gen_http.c" /* its transport seam: a fake API */
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
  return gen_agent_sums_take(s, text, strlen(text), &range, skipped, err, size);
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

/* A fresh sums of range, text taken into it. */
static int fresh_take(gen_agent_sums_t *s, const char *text, size_t *skipped) {
  char err[256] = "";
  CHECK_ZERO(gen_agent_sums_init(s, &range, G));
  CHECK_ZERO(take(s, text, skipped, err, sizeof(err)));
  return 0;
}

/* Sums over users stop at 2^53: two users of 5e15 ms in a status made
 * 1e16, which the engine refuses (the range failed at every read). */
DEF_TEST(sums_stop_at_2_53) {
  gen_agent_sums_t s;
  size_t skipped = 0;
  CHECK_ZERO(fresh_take(
      &s,
      "{\"results\":[" USER(
          "u1", B0,
          ENTRY("tAgentRoutingStatus", "IDLE",
                "5000000000000000")) "," USER("u2", B0,
                                              ENTRY("tAgentRoutingStatus",
                                                    "IDLE",
                                                    "5000000000000000")) "]}",
      &skipped));
  OK(sum_of(&s, 0, 0, "IDLE") == (double)GEN_JSON_EXACT_MAX);
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
  OK(strstr(err, "not an aggregates response") != NULL);
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

/* ---- collection over several calls --------------------------------------
 */

#define N_USERS 250
#define MAX_CALLS 32

/* The fake API: answers[i] for the i-th request (0: 200), the first user of
 * each request noted. A 200 gives every batch k (its first user / 100) the
 * routing IDLE time 1000 x (k + 1) in B0, so that a range of 250 users sums
 * 6000 and a batch summed twice or skipped shows. */
static long answers[MAX_CALLS];
static int asked[MAX_CALLS];
static int n_asked;

static int fake_users_query(gen_http_t *http, const char *method,
                            const char *url, const char *body,
                            struct curl_slist *headers,
                            gen_http_response_t *resp) {
  (void)http, (void)headers;
  OK(strcmp(method, "POST") == 0 && strstr(url, GEN_AGENT_STATUS_PATH) != NULL);
  const char *first = body ? strstr(body, "\"agent-") : NULL;
  int user = first ? atoi(first + 7) : -1;
  long status = n_asked < MAX_CALLS ? answers[n_asked] : 0;
  if (n_asked < MAX_CALLS)
    asked[n_asked] = user;
  n_asked++;
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->status = status ? status : 200;
  char text[512];
  if (status == 0)
    snprintf(text, sizeof(text),
             "{\"results\":[" USER("agent", B0,
                                   "{\"metric\":\"tAgentRoutingStatus\","
                                   "\"qualifier\":\"IDLE\",\"stats\":{"
                                   "\"sum\":%d}}") "]}",
             1000 * (user / GEN_AGENT_STATUS_USERS_PER_QUERY + 1));
  else if (status == 299) /* a 2xx whose bucket is outside the range */
    snprintf(
        text, sizeof(text),
        "{\"results\":[" USER("agent", B0,
                              ENTRY("tAgentRoutingStatus", "IDLE",
                                    "1")) "," USER("agent",
                                                   "2026-11-23T11:00:00.000Z/"
                                                   "2026-11-23T11:05:00.000Z",
                                                   ENTRY("tAgentRoutingStatus",
                                                         "IDLE", "1")) "]}");
  else
    snprintf(text, sizeof(text),
             "{\"message\":\"Rate limit exceeded\",\"code\":\"too.many."
             "requests\",\"status\":%ld}",
             status);
  resp->body = strdup(text);
  resp->body_len = strlen(resp->body);
  return 0;
}

typedef struct {
  gen_client_t client;
  gen_interval_t *engine;
  gen_entity_set_t users;
  gen_agg_counts_t counts;
  gen_log_org_t who;
  gen_interval_sink_t sink;
  gen_agent_reading_t reading;
  gen_family_run_t run;
  uint64_t users_generation;
} rig_t;

/* One read of the rig (gen_family_ranges: at most 8 ranges). */
static int collect(rig_t *r) {
  return gen_agent_status_collect(&r->reading, &r->run, &r->sink,
                                  r->users_generation);
}

/* 250 users, an engine whose first range is B0 and B1, the fake API; the
 * clock where that range is due. */
static int rig_init(rig_t *r, size_t budget) {
  static const char *const scope[] = {"agents"};
  memset(r, 0, sizeof(*r));
  memset(answers, 0, sizeof(answers));
  n_asked = 0;
  seen_idle = seen_available = 0;
  seen_buckets = 0;
  /* a 429 is final at once, and the handle rests as the plugin's does */
  fake_client_init(&r->client, "genesys_analytics", 1);
  gen_http_defer_retries(r->client.http, true);
  gen_interval_options_t o = {.granularity_ms = G,
                              .settle_ms = 30000,
                              .revisit_ms = 0,
                              .horizon_ms = 8 * G,
                              .initial_ms = 2 * G,
                              .max_buckets = 4};
  r->engine = gen_interval_create(&o);
  for (int i = 0; i < N_USERS; i++) {
    char id[32];
    snprintf(id, sizeof(id), "agent-%03d", i);
    gen_entity_add(&r->users, id, NULL, NULL);
  }
  r->who = (gen_log_org_t){"genesys_analytics", "acme"};
  r->counts =
      (gen_agg_counts_t){.complain = GEN_RATELIMIT_INIT(60), .who = &r->who};
  r->sink = (gen_interval_sink_t){.bucket = on_bucket};
  r->reading = (gen_agent_reading_t){
      .users = &r->users, .granularity_ms = G, .scope = "agents"};
  r->run = (gen_family_run_t){.engine = r->engine,
                              .client = &r->client,
                              .counts = &r->counts,
                              .max_ranges = 8,
                              .budget = budget};
  http_perform = fake_users_query;
  mock_time = MS_TO_CDTIME_T(T0 + 2 * G + 30000);
  /* The engine plans B0 and B1 first. */
  gen_interval_range_t planned;
  OK(gen_interval_plan(r->engine, scope, 1, T0 + 2 * G + 30000, &planned) ==
         1 &&
     planned.start_ms == T0 && planned.end_ms == T0 + 2 * G);
  mock_log_reset();
  return 0;
}

static void rig_free(rig_t *r) {
  gen_agent_progress_reset(&r->reading.progress);
  http_perform = http_perform_curl;
  mock_time = 0;
  gen_entity_set_free(&r->users);
  gen_interval_free(r->engine);
  fake_client_free(&r->client);
}

/* The rest of the range in one call: total requests in all, dispatched as
 * the sum of the three batches' answers, each summed once. */
static int completes(rig_t *r, int total) {
  r->run.budget = 0;
  r->client.http->rest_until = 0; /* a Retry-After is over */
  CHECK_ZERO(collect(r));
  EXPECT_EQ_INT(total, n_asked);
  EXPECT_EQ_DOUBLE(6000, seen_idle);
  OK(!r->reading.progress.started);
  return 0;
}

/* The family's pace: GEN_AGENT_STATUS_REQUESTS_PER_MINUTE a minute. */
#define AGENT_BUDGET(interval)                                                 \
  gen_agg_budget(interval, GEN_AGENT_STATUS_REQUESTS_PER_MINUTE)

DEF_TEST(budget_in_requests_per_read) {
  EXPECT_EQ_INT(100, (int)AGENT_BUDGET(TIME_T_TO_CDTIME_T(60)));
  EXPECT_EQ_INT(17, (int)AGENT_BUDGET(TIME_T_TO_CDTIME_T(10)));
  EXPECT_EQ_INT(1, (int)AGENT_BUDGET(MS_TO_CDTIME_T(100)));
  EXPECT_EQ_INT(1, (int)AGENT_BUDGET(0));
  EXPECT_EQ_INT(500, (int)AGENT_BUDGET(TIME_T_TO_CDTIME_T(300)));
  return 0;
}

/* One request a read: 250 users are 3 reads, nothing put before the
 * third, then the sum of all three answers. */
DEF_TEST(a_range_over_several_reads) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 1));
  CHECK_ZERO(collect(&r));
  EXPECT_EQ_INT(1, n_asked);
  EXPECT_EQ_INT(100, (int)r.reading.progress.next_user);
  CHECK_ZERO(collect(&r));
  EXPECT_EQ_INT(2, n_asked);
  EXPECT_EQ_INT(0, seen_buckets);
  CHECK_ZERO(collect(&r));
  EXPECT_EQ_INT(3, n_asked);
  EXPECT_EQ_INT(0, asked[0]);
  EXPECT_EQ_INT(100, asked[1]);
  EXPECT_EQ_INT(200, asked[2]);
  EXPECT_EQ_INT(1, seen_buckets);
  EXPECT_EQ_DOUBLE(6000, seen_idle);
  OK(!r.reading.progress.started);
  /* Up to date: no request, no failure. */
  CHECK_ZERO(collect(&r));
  EXPECT_EQ_INT(3, n_asked);
  EXPECT_EQ_INT(3, (int)r.counts.queries);
  EXPECT_EQ_INT(0, (int)r.counts.failures);
  rig_free(&r);
  return 0;
}

/* A 429 on the second request: the first batch's sums are kept, the next
 * read (once the handle no longer rests) asks for the second batch, not
 * the first. */
DEF_TEST(a_429_mid_range_resumes_at_its_batch) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 0));
  answers[1] = 429;
  OK(collect(&r) < 0);
  EXPECT_EQ_INT(2, n_asked);
  EXPECT_EQ_INT(100, (int)r.reading.progress.next_user);
  EXPECT_EQ_INT(1, (int)r.counts.failures);
  OK(mock_log_contains("resumed where it stopped next cycle"));
  OK(mock_log_contains("HTTP 429"));
  EXPECT_EQ_INT(0, seen_buckets);
  /* Resting: nothing is sent, the sums stay. */
  OK(gen_http_resting(r.client.http, NULL));
  OK(collect(&r) < 0);
  EXPECT_EQ_INT(2, n_asked);
  EXPECT_EQ_INT(100, (int)r.reading.progress.next_user);
  CHECK_ZERO(completes(&r, 4));
  EXPECT_EQ_INT(100, asked[2]);
  EXPECT_EQ_INT(200, asked[3]);
  EXPECT_EQ_INT(2, (int)r.counts.failures); /* the request not sent too */
  rig_free(&r);
  return 0;
}

/* A 404 (no rest: not retried) of the second request drops the range:
 * the next read asks for it from its first batch. */
DEF_TEST(a_failure_for_good_starts_the_range_over) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 0));
  answers[1] = 404;
  OK(collect(&r) < 0);
  OK(!gen_http_resting(r.client.http, NULL));
  OK(mock_log_contains("asked for again next cycle"));
  OK(!mock_log_contains("resumed where it stopped"));
  OK(!r.reading.progress.started);
  CHECK_ZERO(completes(&r, 5));
  EXPECT_EQ_INT(0, asked[2]);
  rig_free(&r);
  return 0;
}

/* An answer that could not be summed whole drops the range: the next read
 * begins it again at the first batch. */
DEF_TEST(a_wrong_answer_mid_range_starts_it_over) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 0));
  answers[1] = 299;
  OK(collect(&r) == -EINVAL);
  OK(!r.reading.progress.started);
  OK(mock_log_contains("asked for again next cycle"));
  CHECK_ZERO(completes(&r, 5));
  EXPECT_EQ_INT(0, asked[2]);
  rig_free(&r);
  return 0;
}

/* The users list changed since the range began (a new generation, or
 * another count): the range starts over at the first batch. */
DEF_TEST(a_users_change_starts_the_range_over) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 1));
  CHECK_ZERO(collect(&r));
  r.users_generation++;
  CHECK_ZERO(collect(&r));
  EXPECT_EQ_INT(0, asked[1]);
  EXPECT_EQ_INT(100, (int)r.reading.progress.next_user);
  gen_entity_add(&r.users, "agent-250", NULL, NULL);
  CHECK_ZERO(collect(&r));
  EXPECT_EQ_INT(0, asked[2]);
  /* 251 users: the last batch (200 to 250) is one request. */
  CHECK_ZERO(completes(&r, 5));
  EXPECT_EQ_INT(100, asked[3]);
  EXPECT_EQ_INT(200, asked[4]);
  rig_free(&r);
  return 0;
}

/* A bucket settled while a range is read: the range begun is read to its
 * end (its sums kept), then the next range follows. */
DEF_TEST(a_range_begun_is_read_to_its_end) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 1));
  CHECK_ZERO(collect(&r));
  OK(r.reading.progress.started &&
     r.reading.progress.range.end_ms == T0 + 2 * G);
  mock_time = MS_TO_CDTIME_T(T0 + 3 * G + 30000);
  CHECK_ZERO(collect(&r));
  EXPECT_EQ_INT(100, asked[1]);
  OK(r.reading.progress.range.end_ms == T0 + 2 * G);
  EXPECT_EQ_INT(200, (int)r.reading.progress.next_user);
  CHECK_ZERO(collect(&r));
  EXPECT_EQ_INT(200, asked[2]);
  EXPECT_EQ_INT(1, seen_buckets);
  /* then, the budget spent, the range of the bucket that settled
   * meanwhile begins: its first batch next read */
  OK(r.reading.progress.started &&
     r.reading.progress.range.start_ms == T0 + 2 * G &&
     r.reading.progress.range.end_ms == T0 + 3 * G);
  EXPECT_EQ_INT(0, (int)r.reading.progress.next_user);
  rig_free(&r);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(request_body);
  RUN_TEST(sums_every_answer_per_status_and_bucket);
  RUN_TEST(sums_stop_at_2_53);
  RUN_TEST(unusable_entries_are_skipped_and_counted);
  RUN_TEST(a_wrong_answer_fails_the_range);
  RUN_TEST(sums_put_into_the_engine);
  RUN_TEST(budget_in_requests_per_read);
  RUN_TEST(a_range_over_several_reads);
  RUN_TEST(a_429_mid_range_resumes_at_its_batch);
  RUN_TEST(a_failure_for_good_starts_the_range_over);
  RUN_TEST(a_wrong_answer_mid_range_starts_it_over);
  RUN_TEST(a_users_change_starts_the_range_over);
  RUN_TEST(a_range_begun_is_read_to_its_end);
  END_TEST;
}
