/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_replay: the times and the window a replay takes, the
 * engine that plans exactly the window's buckets and keeps no state, the
 * sink that dispatches the bucket gauges and no counter, PUTVAL lines, and
 * the unixsock conversation (against a socket of the test's own). */
#include "gen_agent_status.h"
#include "gen_replay.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define G 300000LL
#define T0 1778752800000LL /* 2026-05-14T10:00:00Z */

DEF_TEST(times_iso_or_epoch) {
  int64_t ms = 0;
  CHECK_ZERO(gen_replay_time("2026-05-14T10:00:00Z", &ms));
  OK(ms == T0);
  CHECK_ZERO(gen_replay_time("2026-05-14T10:00:00", &ms)); /* UTC */
  OK(ms == T0);
  CHECK_ZERO(gen_replay_time("1778752800", &ms));
  OK(ms == T0);
  EXPECT_EQ_INT(-EINVAL, gen_replay_time("", &ms));
  EXPECT_EQ_INT(-EINVAL, gen_replay_time("17787528x", &ms));
  EXPECT_EQ_INT(-EINVAL, gen_replay_time("1778752800000000", &ms));
  EXPECT_EQ_INT(-EINVAL, gen_replay_time("yesterday", &ms));
  return 0;
}

DEF_TEST(window_is_whole_settled_buckets) {
  int64_t from = T0 + 1000, to = T0 + 2 * G + 1;
  CHECK_ZERO(gen_replay_window(G, T0 + 10 * G, &from, &to));
  OK(from == T0);
  OK(to == T0 + 3 * G);
  /* Not beyond what has settled. */
  from = T0;
  to = T0 + 10 * G;
  CHECK_ZERO(gen_replay_window(G, T0 + 4 * G, &from, &to));
  OK(to == T0 + 4 * G);
  from = T0 + 5 * G;
  to = T0 + 6 * G;
  EXPECT_EQ_INT(-EINVAL, gen_replay_window(G, T0 + 4 * G, &from, &to));
  return 0;
}

static const gen_agg_metric_t metrics[] = {
    {.name = "offered", .api = "nOffered", .kind = GEN_AGG_COUNT},
};
static const gen_agg_catalogue_t cat = {.metrics = metrics, .n = 1};

static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  (void)ud;
  out->plugin_instance = key->str[0];
  out->suffix = key->str[1];
}

/* Ranges of at most 4 buckets from FROM to TO, then nothing; each bucket's
 * gauge dispatched at its end, no total, and no state file anywhere. */
DEF_TEST(engine_plans_the_window_and_sink_puts_gauges_only) {
  static const char *const scope[] = {"q1"};
  gen_log_org_t who = {"genesys_analytics", "acme"};
  int64_t from = T0, to = T0 + 10 * G;
  gen_interval_t *gi = gen_replay_engine(G, from, to, 4, &who);
  OK(gi != NULL);
  gen_agg_output_t out = {.cat = &cat,
                          .host = "acme",
                          .plugin = "genesys_analytics",
                          .granularity_ms = G,
                          .label = label};
  gen_interval_sink_t sink = gen_replay_gauges(gen_agg_sink(&out));
  mock_values_reset();
  int64_t expect[][2] = {
      {T0, T0 + 4 * G}, {T0 + 4 * G, T0 + 8 * G}, {T0 + 8 * G, T0 + 10 * G}};
  for (size_t r = 0; r < 3; r++) {
    gen_interval_range_t range;
    OK(gen_interval_plan(gi, scope, 1, to, &range));
    OK(range.start_ms == expect[r][0]);
    OK(range.end_ms == expect[r][1]);
    for (int64_t b = range.start_ms; b < range.end_ms; b += G) {
      gen_interval_value_t v = {"offered", (double)((b - T0) / G + 1), true};
      gen_key_t key = {{"q1", "voice"}, 0};
      CHECK_ZERO(gen_interval_put(gi, "q1", &key, b, &v, 1));
    }
    CHECK_ZERO(gen_interval_commit(gi, scope, 1, &range, to, &sink));
  }
  gen_interval_range_t range;
  EXPECT_EQ_INT(0, gen_interval_plan(gi, scope, 1, to, &range));
  EXPECT_EQ_INT(10, (int)mock_values_num);
  for (size_t i = 0; i < mock_values_num; i++) {
    EXPECT_EQ_STR("offered", mock_values[i].type);
    OK(mock_values[i].time == MS_TO_CDTIME_T(T0 + (int64_t)(i + 1) * G));
    EXPECT_EQ_INT((int)i + 1, (int)mock_values[i].value.gauge);
  }
  OK(mock_find(NULL, "total_offered", NULL) == NULL);
  gen_interval_free(gi);
  OK(gen_replay_engine(G, to, from, 4, &who) == NULL);
  return 0;
}

/* A family's own sink (agent status, of shard 2 of 4): its bucket gauges
 * as the plugin names them, its totals never. */
DEF_TEST(a_family_sink_replays_gauges_only) {
  static const char *const scope[] = {"agents"};
  gen_log_org_t who = {"genesys_analytics", "acme"};
  gen_org_t org = {.name = "acme", .shard_index = 1, .shard_count = 4};
  gen_agent_output_t out;
  gen_agent_output_init(&out, &org, "acme", "genesys_analytics", G);
  EXPECT_EQ_STR("agents-2of4", out.instance);
  gen_interval_t *gi = gen_replay_engine(G, T0, T0 + 2 * G, 4, &who);
  OK(gi != NULL);
  gen_interval_sink_t sink = gen_replay_gauges(gen_agent_status_sink(&out));
  mock_values_reset();
  gen_interval_range_t range;
  OK(gen_interval_plan(gi, scope, 1, T0 + 2 * G, &range) == 1);
  gen_key_t key = {{"routing"}, 0};
  for (int64_t b = range.start_ms; b < range.end_ms; b += G) {
    gen_interval_value_t v = {"IDLE", 150000, true};
    CHECK_ZERO(gen_interval_put(gi, "agents", &key, b, &v, 1));
  }
  CHECK_ZERO(gen_interval_commit(gi, scope, 1, &range, T0 + 2 * G, &sink));
  EXPECT_EQ_INT(4, (int)mock_values_num);
  mock_value_t *v = mock_find("agents-2of4", "agent_time", "routing-IDLE");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(150, v->value.gauge);
  OK(v->time == MS_TO_CDTIME_T(T0 + 2 * G));
  v = mock_find("agents-2of4", "agents_average", "routing-IDLE");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(0.5, v->value.gauge);
  OK(mock_find(NULL, "total_agent_time_ms", NULL) == NULL);
  gen_interval_free(gi);
  return 0;
}

DEF_TEST(putval_lines) {
  value_t v[2] = {{.gauge = 12}, {.gauge = NAN}};
  value_list_t vl = {.values = v,
                     .values_len = 1,
                     .time = MS_TO_CDTIME_T(T0),
                     .interval = MS_TO_CDTIME_T(G)};
  sstrncpy(vl.host, "acme", sizeof(vl.host));
  sstrncpy(vl.plugin, "genesys_analytics", sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, "Sales \"EN\"", sizeof(vl.plugin_instance));
  sstrncpy(vl.type, "offered", sizeof(vl.type));
  sstrncpy(vl.type_instance, "voice", sizeof(vl.type_instance));
  char line[512];
  int n = gen_replay_putval(&vl, line, sizeof(line));
  EXPECT_EQ_STR("PUTVAL \"acme/genesys_analytics-Sales \\\"EN\\\"/offered-voice"
                "\" interval=300.000 1778752800.000:12\n",
                line);
  EXPECT_EQ_INT((int)strlen(line), n);
  vl.plugin_instance[0] = '\0';
  vl.type_instance[0] = '\0';
  vl.values_len = 2;
  gen_replay_putval(&vl, line, sizeof(line));
  EXPECT_EQ_STR("PUTVAL \"acme/genesys_analytics/offered\" interval=300.000 "
                "1778752800.000:12:U\n",
                line);
  EXPECT_EQ_INT(-ENOSPC, gen_replay_putval(&vl, line, 20));
  return 0;
}

/* A collectd stand-in: takes the first line, refuses the second. */
static void *answer_two(void *arg) {
  int fd = accept(*(int *)arg, NULL, NULL);
  FILE *in = fdopen(dup(fd), "r");
  char buf[512];
  const char *answers[] = {"0 Success: 1 value has been dispatched.\n",
                           "-1 Parsing the values string failed.\n"};
  for (int i = 0; i < 2 && fgets(buf, sizeof(buf), in) != NULL; i++)
    if (write(fd, answers[i], strlen(answers[i])) < 0)
      break;
  fclose(in);
  close(fd);
  return NULL;
}

DEF_TEST(unixsock_answers) {
  char path[] = "/tmp/gen-replay-sock-XXXXXX";
  int tmp = mkstemp(path);
  close(tmp);
  unlink(path);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  sstrncpy(sa.sun_path, path, sizeof(sa.sun_path));
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK_ZERO(bind(ls, (struct sockaddr *)&sa, sizeof(sa)));
  CHECK_ZERO(listen(ls, 1));
  pthread_t t;
  CHECK_ZERO(pthread_create(&t, NULL, answer_two, &ls));
  char err[256] = "";
  gen_replay_sock_t *s = gen_replay_sock_open(path, err, sizeof(err));
  OK(s != NULL);
  CHECK_ZERO(
      gen_replay_sock_put(s, "PUTVAL \"a/b/gauge\" 1:1\n", err, sizeof(err)));
  EXPECT_EQ_INT(-EPROTO, gen_replay_sock_put(s, "PUTVAL \"a/b/gauge\" x\n", err,
                                             sizeof(err)));
  OK(strstr(err, "Parsing the values string failed") != NULL);
  /* The stand-in has hung up. */
  OK(gen_replay_sock_put(s, "PUTVAL \"a/b/gauge\" 2:1\n", err, sizeof(err)) <
     0);
  gen_replay_sock_close(s);
  pthread_join(t, NULL);
  close(ls);
  unlink(path);
  OK(gen_replay_sock_open(path, err, sizeof(err)) == NULL);
  OK(strstr(err, path) != NULL);
  return 0;
}

int main(void) {
  RUN_TEST(times_iso_or_epoch);
  RUN_TEST(window_is_whole_settled_buckets);
  RUN_TEST(engine_plans_the_window_and_sink_puts_gauges_only);
  RUN_TEST(a_family_sink_replays_gauges_only);
  RUN_TEST(putval_lines);
  RUN_TEST(unixsock_answers);
  END_TEST;
}
