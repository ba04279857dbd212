/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_family, the driver of a plugin's history table: an
 * engine and a state per row on (none for a row off), a read running each
 * row with its budget and the clock, and the replay of a row: the window
 * clamped to what Genesys keeps, an engine planning exactly it, every range
 * read whole at the window's end, and a sink without counters. */
#include "gen_auth.c" /* the transport seam of gen_http.c, as test_entity */
#include "gen_family.h"
#include "gen_http.c"
#include "gen_time.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define G 300000LL

typedef struct {
  bool on[2];
  gen_interval_config_t interval;
} config_t;

/* What a row's runs were given. */
typedef struct {
  size_t runs;
  gen_family_run_t last;
  int64_t planned_from, planned_to; /* the first range planned */
} seen_t;

static seen_t seen[2];

static bool on0(const void *c) { return ((const config_t *)c)->on[0]; }

static void *new0(const gen_family_env_t *env) {
  (void)env;
  return &seen[0];
}
static void *new1(const gen_family_env_t *env) {
  (void)env;
  return &seen[1];
}
static void free_none(void *state) { (void)state; }

static int collect(void *state, const gen_family_run_t *run) {
  seen_t *s = state;
  static const char *const scope[] = {"s"};
  if (s->runs++ == 0) {
    gen_interval_range_t r;
    int64_t now = run->at_ms ? run->at_ms : gen_cdtime_to_ms(cdtime());
    if (gen_interval_plan(run->engine, scope, 1, now, &r) == 1) {
      s->planned_from = r.start_ms;
      s->planned_to = r.end_ms;
      gen_interval_abort(run->engine);
    }
  }
  s->last = *run;
  return 0;
}

static const gen_family_t rows[2] = {
    {.name = "zero",
     .suffix = "",
     .per_minute = 100,
     .on = on0, /* a function of its own; row one a bool of the config */
     .state_new = new0,
     .state_free = free_none,
     .collect = collect},
    {.name = "one",
     .suffix = "-one",
     .keep_ms = 4 * G,
     .replay_buckets = 1,
     .on_at = offsetof(config_t, on[1]),
     .state_new = new1,
     .state_free = free_none,
     .collect = collect},
};

static const gen_history_t history = {.plugin = "genesys_test",
                                      .stem = "test",
                                      .interval_at =
                                          offsetof(config_t, interval),
                                      .rows = rows,
                                      .n_rows = 2};

DEF_TEST(a_read_runs_each_row_on_with_its_budget) {
  char dir[] = "/tmp/gen-family-XXXXXX";
  OK(mock_tempdir(dir) != NULL);
  config_t c = {.on = {true, false}};
  gen_interval_config_init(&c.interval);
  c.interval.granularity_ms = G;
  c.interval.state_dir = strdup(dir);
  gen_client_t *client = gen_client_create(mock_org("genesys_test"));
  gen_log_org_t who = {"genesys_test", "acme"};
  gen_family_env_t env = {.config = &c, .client = client, .who = &who};
  gen_families_t fs;
  memset(seen, 0, sizeof(seen));
  CHECK_ZERO(gen_families_open(&fs, &history, &env));
  OK(fs.engine[0] != NULL && fs.state[0] == &seen[0]);
  OK(fs.engine[1] == NULL && fs.state[1] == NULL); /* off: nothing */
  gen_families_read(&fs, client, TIME_T_TO_CDTIME_T(30), 8);
  EXPECT_EQ_INT(1, (int)seen[0].runs);
  EXPECT_EQ_INT(0, (int)seen[1].runs);
  EXPECT_EQ_INT(50, (int)seen[0].last.budget); /* 100 a minute, 30 s */
  EXPECT_EQ_INT(8, seen[0].last.max_ranges);
  OK(!seen[0].last.replay && seen[0].last.at_ms == 0);
  OK(seen[0].last.engine == fs.engine[0] && seen[0].last.client == client);
  OK(seen[0].last.counts == &fs.counts);
  OK(gen_families_state(&fs, 0) == &seen[0]);
  gen_families_free(&fs);
  gen_client_free(client);
  gen_interval_config_release(&c.interval);
  mock_rmtree(dir);
  return 0;
}

/* A row of the org's values (every bot, every rate limit) runs on a
 * sharded org's first shard alone: the other agents would send the same
 * series. Rows of entities run on every shard. */
DEF_TEST(an_org_wide_row_runs_on_the_first_shard_only) {
  gen_family_t wide[2] = {rows[0], rows[1]};
  wide[1].org_wide = true;
  gen_history_t h = history;
  h.rows = wide;
  config_t c = {.on = {true, true}};
  gen_org_t *org = mock_org("genesys_test");
  org->shard_count = 3;
  for (unsigned shard = 0; shard < 3; shard++) {
    org->shard_index = shard;
    OK(gen_family_on(&wide[0], &c, org));
    EXPECT_EQ_INT(shard == 0, gen_family_on(&wide[1], &c, org));
  }
  c.on[1] = false; /* off is off on the first shard too */
  org->shard_index = 0;
  OK(!gen_family_on(&wide[1], &c, org));
  c.on[1] = true;

  char dir[] = "/tmp/gen-family-XXXXXX";
  OK(mock_tempdir(dir) != NULL);
  gen_interval_config_init(&c.interval);
  c.interval.granularity_ms = G;
  c.interval.state_dir = strdup(dir);
  org->shard_index = 1;
  gen_client_t *client = gen_client_create(org);
  gen_log_org_t who = {"genesys_test", "acme"};
  gen_family_env_t env = {.config = &c, .client = client, .who = &who};
  gen_families_t fs;
  memset(seen, 0, sizeof(seen));
  CHECK_ZERO(gen_families_open(&fs, &h, &env));
  OK(fs.engine[0] != NULL && fs.state[0] == &seen[0]);
  OK(fs.engine[1] == NULL && fs.state[1] == NULL); /* not this shard's */
  gen_families_read(&fs, client, TIME_T_TO_CDTIME_T(30), 8);
  EXPECT_EQ_INT(1, (int)seen[0].runs);
  EXPECT_EQ_INT(0, (int)seen[1].runs);
  gen_families_free(&fs);
  gen_client_free(client);
  gen_interval_config_release(&c.interval);
  mock_rmtree(dir);
  return 0;
}

DEF_TEST(a_replay_reads_the_window_whole_within_what_is_kept) {
  config_t c = {.on = {true, true}};
  gen_interval_config_init(&c.interval);
  c.interval.granularity_ms = G;
  c.interval.settle = TIME_T_TO_CDTIME_T(30);
  gen_client_t *client = gen_client_create(mock_org("genesys_test"));
  gen_log_org_t who = {"genesys_test", "acme"};
  gen_family_env_t env = {.config = &c, .client = client, .who = &who};
  gen_agg_counts_t counts = {.who = &who};
  /* 10 s into a bucket: the one before it has not settled (30 s) */
  mock_time = MS_TO_CDTIME_T(1778752800000LL + 10000);
  int64_t now = gen_cdtime_to_ms(cdtime()) / G * G;
  char err[256] = "";
  memset(seen, 0, sizeof(seen));
  /* row zero: the window as asked, whole buckets, planned at its end */
  int64_t from = now - 10 * G, to = now - 6 * G;
  CHECK_ZERO(gen_family_replay(&rows[0], &env, &c.interval, &from, &to, 0, NULL,
                               &counts, err, sizeof(err)));
  OK(from == now - 10 * G && to == now - 6 * G);
  OK(seen[0].last.replay && seen[0].last.at_ms == to);
  EXPECT_EQ_INT(INT_MAX, seen[0].last.max_ranges);
  EXPECT_EQ_INT(0, (int)seen[0].last.budget);
  OK(seen[0].planned_from == from && seen[0].planned_to == to);
  /* row one keeps 4 buckets: the window starts no earlier, one bucket a
   * request */
  from = now - 10 * G, to = now - G;
  CHECK_ZERO(gen_family_replay(&rows[1], &env, &c.interval, &from, &to, 0, NULL,
                               &counts, err, sizeof(err)));
  OK(from == now - 3 * G); /* the oldest whole bucket within 4 x G */
  OK(seen[1].planned_from == from && seen[1].planned_to == from + G);
  /* wholly older than kept: refused, nothing run */
  size_t runs = seen[1].runs;
  from = now - 20 * G, to = now - 10 * G;
  EXPECT_EQ_INT(-EINVAL,
                gen_family_replay(&rows[1], &env, &c.interval, &from, &to, 0,
                                  NULL, &counts, err, sizeof(err)));
  OK(strstr(err, "within the time Genesys keeps it") != NULL);
  EXPECT_EQ_INT((int)runs, (int)seen[1].runs);
  /* row one asks a bucket a request: the window's 2 buckets are 2
   * requests, over a limit of 1 refused with the estimate, nothing
   * run; within it run */
  int64_t estimate = 0;
  from = now - 3 * G, to = now - G; /* settled whatever the second */
  EXPECT_EQ_INT(-E2BIG,
                gen_family_replay(&rows[1], &env, &c.interval, &from, &to, 1,
                                  &estimate, &counts, err, sizeof(err)));
  EXPECT_EQ_INT(2, (int)estimate);
  OK(strstr(err, "at least 2 requests a batch") != NULL);
  EXPECT_EQ_INT((int)runs, (int)seen[1].runs);
  from = now - 3 * G, to = now - G;
  CHECK_ZERO(gen_family_replay(&rows[1], &env, &c.interval, &from, &to, 2,
                               &estimate, &counts, err, sizeof(err)));
  EXPECT_EQ_INT((int)runs + 1, (int)seen[1].runs);
  mock_time = 0;
  gen_client_free(client);
  gen_interval_config_release(&c.interval);
  return 0;
}

static void bucket_none(void *ud, const gen_key_t *key, int64_t start_ms,
                        int64_t end_ms, gen_interval_kind_t kind,
                        const gen_interval_value_t *v, size_t n) {
  (void)ud, (void)key, (void)start_ms, (void)end_ms, (void)kind, (void)v,
      (void)n;
}
static void totals_count(void *ud, const gen_key_t *key, int64_t at_ms,
                         const gen_interval_value_t *v, size_t n) {
  (void)ud, (void)key, (void)at_ms, (void)v, (void)n;
}

DEF_TEST(a_replay_sink_has_no_counters) {
  gen_interval_sink_t sink = {.bucket = bucket_none, .totals = totals_count};
  gen_family_run_t run = {.replay = false};
  gen_interval_sink_t same = gen_family_sink(&run, sink);
  OK(same.totals == totals_count && same.bucket == bucket_none);
  run.replay = true;
  gen_interval_sink_t gauges = gen_family_sink(&run, sink);
  OK(gauges.bucket == bucket_none);
  OK(gauges.totals != totals_count);
  return 0;
}

/* ---- answer bounds ------------------------------------------------------ */

/* Every request answered 200 with ANSWER_BYTES of JSON, fed to the handle
 * as curl would (on_body), so that the bound in force applies. */
#define ANSWER_BYTES 1500
static int big_answer(gen_http_t *http, const char *method, const char *url,
                      const char *body, struct curl_slist *headers,
                      gen_http_response_t *resp) {
  (void)method, (void)body, (void)headers;
  static char text[ANSWER_BYTES + 1];
  memset(text, ' ', ANSWER_BYTES);
  text[0] = '{', text[ANSWER_BYTES - 1] = '}';
  const char *token = "{\"access_token\":\"t\",\"expires_in\":86400}";
  const char *answer = strstr(url, "/oauth/token") ? token : text;
  size_t len = strlen(answer);
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->status = 200;
  http->current = resp;
  size_t took = on_body((char *)answer, 1, len, http);
  http->current = NULL;
  return took == len ? 0 : GEN_HTTP_ERR_TOO_LARGE;
}

/* What a bounded row's one request ended in. */
typedef struct {
  int status;
  size_t bytes;
  char err[256];
} asked_t;
static asked_t asked[2];

static void *asked0(const gen_family_env_t *env) {
  (void)env;
  return &asked[0];
}
static void *asked1(const gen_family_env_t *env) {
  (void)env;
  return &asked[1];
}
static bool on_always(const void *c) {
  (void)c;
  return true;
}

static int ask_once(void *state, const gen_family_run_t *run) {
  asked_t *a = state;
  size_t spent = 0;
  gen_http_response_t resp;
  a->status = gen_family_post(run, "/api/v2/x/query", json_object_new_object(),
                              &spent, &resp, NULL, a->err, sizeof(a->err));
  a->bytes = resp.body_len;
  gen_http_response_reset(&resp);
  return a->status;
}

static const gen_family_t bounded_rows[2] = {
    {.name = "small",
     .answer = GEN_HTTP_BOUND(1000, "small family"),
     .own_state = true,
     .on = on_always,
     .state_new = asked0,
     .state_free = free_none,
     .collect = ask_once},
    {.name = "aggregates",
     .answer = GEN_HTTP_BOUND(GEN_MIB(64), "aggregates"),
     .own_state = true,
     .on = on_always,
     .state_new = asked1,
     .state_free = free_none,
     .collect = ask_once},
};
static const gen_history_t bounded = {.plugin = "genesys_test",
                                      .stem = "test",
                                      .interval_at =
                                          offsetof(config_t, interval),
                                      .rows = bounded_rows,
                                      .n_rows = 2};

/* A row's own bound applies to its requests alone: an answer of 1,500
 * bytes is refused for the small family (named, counted in
 * api_answers_too_large), the same answer taken whole by the aggregates
 * family, and a request after the read has MaxResponseSize alone. */
DEF_TEST(a_rows_answers_have_its_own_bound) {
  char dir[] = "/tmp/gen-family-XXXXXX";
  OK(mock_tempdir(dir) != NULL);
  config_t c = {.on = {true, true}};
  gen_interval_config_init(&c.interval);
  c.interval.granularity_ms = G;
  c.interval.state_dir = strdup(dir);
  gen_client_t *client = gen_client_create(mock_org("genesys_test"));
  http_perform = big_answer;
  gen_log_org_t who = {"genesys_test", "acme"};
  gen_family_env_t env = {.config = &c, .client = client, .who = &who};
  gen_families_t fs;
  memset(asked, 0, sizeof(asked));
  CHECK_ZERO(gen_families_open(&fs, &bounded, &env));
  gen_families_read(&fs, client, TIME_T_TO_CDTIME_T(30), 8);
  EXPECT_EQ_INT(GEN_HTTP_ERR_TOO_LARGE, asked[0].status);
  OK(strstr(asked[0].err, "small family answer larger than 1000 bytes") !=
     NULL);
  EXPECT_EQ_INT(0, asked[1].status);
  EXPECT_EQ_INT(ANSWER_BYTES, (int)asked[1].bytes);
  EXPECT_EQ_INT(1, (int)atomic_load(&client->stats.too_large));
  gen_http_response_t resp;
  CHECK_ZERO(gen_http_request(client->http, "GET", "/x", NULL, NULL, &resp));
  EXPECT_EQ_INT(ANSWER_BYTES, (int)resp.body_len);
  gen_http_response_reset(&resp);
  gen_families_free(&fs);
  http_perform = http_perform_curl;
  gen_client_free(client);
  gen_interval_config_release(&c.interval);
  mock_rmtree(dir);
  return 0;
}

/* A run outside the driver (the gap repair's) bounds gen_family_post's
 * answers with its own; without one the handle's applies. */
DEF_TEST(a_runs_own_bound_applies_to_its_posts) {
  gen_client_t *client = gen_client_create(mock_org("genesys_test"));
  http_perform = big_answer;
  gen_agg_counts_t counts = {0};
  gen_family_run_t run = {.client = client,
                          .counts = &counts,
                          .answer = GEN_HTTP_BOUND(1000, "repair")};
  asked_t a = {0};
  EXPECT_EQ_INT(GEN_HTTP_ERR_TOO_LARGE, ask_once(&a, &run));
  OK(strstr(a.err, "repair answer larger than 1000 bytes") != NULL);
  run.answer = (gen_http_bound_t){0};
  CHECK_ZERO(ask_once(&a, &run));
  EXPECT_EQ_INT(ANSWER_BYTES, (int)a.bytes);
  EXPECT_EQ_INT(2, (int)counts.queries);
  http_perform = http_perform_curl;
  gen_client_free(client);
  return 0;
}

int main(void) {
  RUN_TEST(a_read_runs_each_row_on_with_its_budget);
  RUN_TEST(an_org_wide_row_runs_on_the_first_shard_only);
  RUN_TEST(a_replay_reads_the_window_whole_within_what_is_kept);
  RUN_TEST(a_replay_sink_has_no_counters);
  RUN_TEST(a_rows_answers_have_its_own_bound);
  RUN_TEST(a_runs_own_bound_applies_to_its_posts);
  END_TEST;
}
