/* SPDX-License-Identifier: MIT */
/* Unit tests of genesys_analytics without network: taking aggregate answers
 * (good, partial, malformed), what is dispatched, and its configuration. */
#include "plugin_mock.h"

#include "../../plugins/genesys_analytics.c"
#include "gen_json.h"

#include "collectd/core/testing.h"
#include "interval_answer.h"
#include "plugin_check.h"

#define G 300000LL
#define T0 1778752800000LL /* 2026-05-14T10:00:00Z */

static char dir[] = "/tmp/gen-analytics-test-XXXXXX";

/* The rows' engines and states of an instance. */
#define ENGINE(inst, row) ((inst)->families.engine[row])
#define QA(inst)                                                               \
  (((ga_queue_state_t *)gen_families_state(&(inst)->families, GA_QUEUES))->qa)
#define AGENTS(inst)                                                           \
  ((ga_agent_state_t *)gen_families_state(&(inst)->families, GA_AGENTS))

static ga_instance_t *make_instance_with(bool agent_status) {
  gen_org_t *org = mock_org(PLUGIN_NAME);
  org->instance_from = GEN_INSTANCE_FROM_ID;
  gen_client_t *client = gen_client_create(org);
  ga_config_t *c = gen_plugin_config_new(&ga_plugin);
  char path[300];
  snprintf(path, sizeof(path), "%s/analytics-acme.json", dir);
  unlink(path); /* every test starts afresh */
  snprintf(path, sizeof(path), "%s/analytics-acme-agents.json", dir);
  unlink(path);
  c->agents.on = agent_status;
  c->interval.granularity_ms = G;
  c->interval.settle = TIME_T_TO_CDTIME_T(60);
  c->interval.state_dir = strdup(dir);
  ga_instance_t *inst = gen_plugin_instance_new(&ga_plugin, client, c);
  gen_entity_add(&inst->lists.queues, "q1", "Sales EN 001", "div-1");
  inst->lists.listed = true;
  inst->listed_at = cdtime();
  return inst;
}

static ga_instance_t *make_instance(void) { return make_instance_with(false); }

static const char *const q1[] = {"q1"};

/* The request bodies and series names of gen_queue_agg, as the plugin has
 * them (n 0: the org query). */
static json_object *query_body(ga_instance_t *inst, const char *const *ids,
                               size_t n, const gen_interval_range_t *range) {
  gen_agg_query_t q = gen_queue_agg_query(&QA(inst), n == 0);
  return q.body(q.ud, ids, n, range);
}

static void label_of(ga_instance_t *inst, const gen_key_t *key,
                     gen_agg_label_t *out) {
  gen_agg_query_t q = gen_queue_agg_query(&QA(inst), false);
  q.out.label(q.out.ud, key, out);
}

/* Plans at 10:06 (the 10:00-10:05 bucket settled), takes doc, commits. */
static int take(ga_instance_t *inst, const char *text) {
  gen_agg_query_t query = gen_queue_agg_query(&QA(inst), false);
  return interval_answer(ENGINE(inst, GA_QUEUES), inst->client,
                         &inst->families.counts, &query, q1[0], T0 + G + 60000,
                         text);
}

#define BUCKET "2026-05-14T10:00:00.000Z/2026-05-14T10:05:00.000Z"

DEF_TEST(good_answer_is_dispatched_at_bucket_end) {
  ga_instance_t *inst = make_instance();
  mock_values_reset();
  CHECK_ZERO(take(
      inst,
      "{\"results\":[{\"group\":{\"queueId\":\"q1\",\"mediaType\":\"voice\"},"
      "\"data\":[{\"interval\":\"" BUCKET "\",\"metrics\":["
      "{\"metric\":\"nOffered\",\"stats\":{\"count\":7}},"
      "{\"metric\":\"tHandle\",\"stats\":{\"count\":4,\"sum\":400000,"
      "\"max\":200000,\"min\":50000}},"
      "{\"metric\":\"oServiceLevel\",\"stats\":{\"ratio\":0.75,\"numerator\":3,"
      "\"denominator\":4,\"target\":0.8}}]}]}]}"));
  mock_value_t *v = mock_find("q1", "offered", "voice");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(7, v->value.gauge);
  EXPECT_EQ_UINT64(MS_TO_CDTIME_T(T0 + G), v->time);
  v = mock_find("q1", "total_offered", "voice");
  OK(v != NULL);
  EXPECT_EQ_INT(7, v->value.derive);
  v = mock_find("q1", "duration_avg", "handle-voice");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(100, v->value.gauge);
  v = mock_find("q1", "duration_max", "handle-voice");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(200, v->value.gauge);
  v = mock_find("q1", "total_duration_ms", "handle-voice");
  OK(v != NULL);
  EXPECT_EQ_INT(400000, v->value.derive);
  v = mock_find("q1", "service_level", "voice");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(0.75, v->value.gauge);
  ga_instance_free(inst);
  return 0;
}

DEF_TEST(missing_counts_are_zero_not_absent) {
  ga_instance_t *inst = make_instance();
  mock_values_reset();
  /* Genesys leaves out what did not happen: no abandon, no service level. */
  CHECK_ZERO(take(
      inst,
      "{\"results\":[{\"group\":{\"queueId\":\"q1\",\"mediaType\":\"voice\"},"
      "\"data\":[{\"interval\":\"" BUCKET "\",\"metrics\":["
      "{\"metric\":\"nOffered\",\"stats\":{\"count\":2}},"
      "{\"metric\":\"tAbandon\",\"stats\":{\"count\":\"bad\"}}]}]}]}"));
  mock_value_t *v = mock_find("q1", "answered", "voice");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(0, v->value.gauge);
  v = mock_find("q1", "total_answered", "voice");
  OK(v != NULL);
  EXPECT_EQ_INT(0, v->value.derive);
  v = mock_find("q1", "total_service_level_denominator", "voice");
  OK(v != NULL);
  EXPECT_EQ_INT(0, v->value.derive);
  OK(mock_find("q1", "service_level", "voice") == NULL); /* 0/0: none */
  /* Present but malformed is skipped, not taken as 0. */
  OK(mock_find("q1", "abandoned", "voice") == NULL);
  OK(mock_find("q1", "total_abandoned", "voice") == NULL);
  /* Durations that did not happen stay absent (no average of nothing). */
  OK(mock_find("q1", "duration_count", "handle-voice") == NULL);
  v = mock_find("q1", "total_offered", "voice");
  OK(v != NULL);
  EXPECT_EQ_INT(2, v->value.derive);
  ga_instance_free(inst);
  return 0;
}

DEF_TEST(malformed_answers_fail_the_range) {
  ga_instance_t *inst = make_instance();
  mock_values_reset();
  OK(take(inst, "[1,2]") == -EINVAL);
  OK(take(inst, "{\"results\":{}}") == -EINVAL);
  /* A bucket outside the range asked for: the answer is not trusted. */
  OK(take(inst, "{\"results\":[{\"group\":{\"queueId\":\"q1\",\"mediaType\":"
                "\"voice\"},\"data\":[{\"interval\":\"2026-05-14T11:00:00Z/"
                "2026-05-14T11:05:00Z\",\"metrics\":[{\"metric\":\"nOffered\","
                "\"stats\":{\"count\":1}}]}]}]}") == -EINVAL);
  OK(take(inst,
          "{\"results\":[{\"group\":{\"queueId\":\"q1\",\"mediaType\":"
          "\"voice\"},\"data\":[{\"interval\":\"garbage\"}]}]}") == -EINVAL);
  EXPECT_EQ_INT(0, mock_values_num);
  /* Still due: the range is asked for again. */
  gen_interval_range_t range;
  EXPECT_EQ_INT(1, gen_interval_plan(ENGINE(inst, GA_QUEUES), q1, 1,
                                     T0 + G + 60000, &range));
  ga_instance_free(inst);
  return 0;
}

DEF_TEST(partial_results_keep_what_is_usable) {
  ga_instance_t *inst = make_instance();
  mock_values_reset();
  uint64_t before = atomic_load(&inst->client->stats.malformed);
  CHECK_ZERO(take(
      inst, "{\"results\":[{\"group\":{\"mediaType\":\"voice\"},\"data\":[]},"
            "{\"group\":{\"queueId\":\"unknown\",\"mediaType\":\"voice\"}},"
            "{\"group\":{\"queueId\":\"q1\",\"mediaType\":\"chat\"},"
            "\"data\":[{\"interval\":\"" BUCKET "\",\"metrics\":["
            "{\"metric\":\"nOffered\",\"stats\":{\"count\":\"many\"}},"
            "{\"metric\":\"tAbandon\",\"stats\":{\"count\":2,\"sum\":9000}},"
            "{\"metric\":\"nMystery\",\"stats\":{\"count\":1}}]}]}]}"));
  OK(mock_find("q1", "offered", "chat") == NULL);
  mock_value_t *v = mock_find("q1", "abandoned", "chat");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(2, v->value.gauge);
  OK(atomic_load(&inst->client->stats.malformed) == before + 1);
  /* An empty answer (no "results") is a quiet interval, not an error. */
  ga_instance_free(inst);
  return 0;
}

/* One users aggregates range as collect_agents() takes it: every answer (one
 * per batch of 100 users) summed, then put and committed; a failed answer
 * aborts the whole range. */
static int take_users(ga_instance_t *inst, int64_t now, const char **docs,
                      size_t n_docs) {
  static const char *const scope[] = {GA_AGENT_SCOPE};
  gen_interval_range_t range;
  if (gen_interval_plan(ENGINE(inst, GA_AGENTS), scope, 1, now, &range) != 1)
    return -1000;
  gen_agent_sums_t sums;
  size_t skipped = 0;
  char err[256] = "";
  int status = gen_agent_sums_init(&sums, &range, G);
  for (size_t i = 0; status == 0 && i < n_docs; i++) {
    status = gen_agent_sums_take(&sums, docs[i], strlen(docs[i]), &range,
                                 &skipped, err, sizeof(err));
  }
  if (status == 0)
    status = gen_agent_sums_put(&sums, ENGINE(inst, GA_AGENTS), GA_AGENT_SCOPE,
                                &range);
  gen_agent_sums_free(&sums);
  if (status != 0) {
    gen_interval_abort(ENGINE(inst, GA_AGENTS));
    return status;
  }
  gen_interval_sink_t sink = gen_agent_status_sink(&AGENTS(inst)->out);
  return gen_interval_commit(ENGINE(inst, GA_AGENTS), scope, 1, &range, now,
                             &sink);
}

#define USER(id, idle, interacting, available)                                 \
  "{\"group\":{\"userId\":\"" id "\"},\"data\":[{\"interval\":\"" BUCKET       \
  "\",\"metrics\":[{\"metric\":\"tAgentRoutingStatus\",\"qualifier\":"         \
  "\"IDLE\",\"stats\":{\"sum\":" idle "}},{\"metric\":\"tAgentRoutingStatus\"" \
  ",\"qualifier\":\"INTERACTING\",\"stats\":{\"sum\":" interacting "}},"       \
  "{\"metric\":\"tSystemPresence\",\"qualifier\":\"AVAILABLE\",\"stats\":"     \
  "{\"sum\":" available "}}]}]}"

DEF_TEST(agent_status_sums_every_batch_per_status) {
  ga_instance_t *inst = make_instance_with(true);
  OK(ENGINE(inst, GA_AGENTS) != NULL);
  mock_values_reset();
  /* Two batches of users: the bucket is the sum over both. */
  const char *batches[] = {
      "{\"results\":[" USER("u1", "100000", "200000", "300000") "," USER(
          "u2", "300000", "0", "300000") "]}",
      "{\"systemToOrganizationMappings\":{},\"results\":[" USER(
          "u3", "60000", "240000", "150000") "]}"};
  int64_t now = T0 + G + 60000;
  CHECK_ZERO(take_users(inst, now, batches, 2));
  mock_value_t *v = mock_find("agents", "agent_time", "routing-IDLE");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(460, v->value.gauge);
  EXPECT_EQ_UINT64(MS_TO_CDTIME_T(T0 + G), v->time);
  v = mock_find("agents", "agents_average", "routing-INTERACTING");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(440.0 / 300.0, v->value.gauge);
  v = mock_find("agents", "total_agent_time_ms", "presence-AVAILABLE");
  OK(v != NULL);
  EXPECT_EQ_INT(750000, v->value.derive);
  /* Per status, never per user. */
  for (size_t i = 0; i < mock_values_num; i++)
    OK(strcmp(mock_values[i].plugin_instance, "agents") == 0);

  /* Revisited with one more minute of IDLE: the counter moves by exactly
   * that; a second batch that fails aborts the range, nothing moves. */
  const char *late[] = {
      "{\"results\":[" USER("u1", "160000", "200000", "300000") "," USER(
          "u2", "300000", "0", "300000") "]}",
      "{\"results\":{}}"};
  size_t before = mock_values_num;
  OK(take_users(inst, now + G, late, 2) == -EINVAL);
  EXPECT_EQ_INT((int)before, (int)mock_values_num);
  const char *revised[] = {
      late[0], "{\"results\":[" USER("u3", "60000", "240000", "150000") "]}"};
  CHECK_ZERO(take_users(inst, now + G, revised, 2));
  v = mock_find("agents", "total_agent_time_ms", "routing-IDLE");
  OK(v != NULL);
  EXPECT_EQ_INT(520000, v->value.derive);
  v = mock_find("agents", "agent_time", "routing-IDLE");
  EXPECT_EQ_DOUBLE(520, v->value.gauge);
  gen_interval_stats_t st;
  gen_interval_get_stats(ENGINE(inst, GA_AGENTS), &st);
  EXPECT_EQ_INT(1, (int)st.revisions);
  ga_instance_free(inst);
  return 0;
}

/* A word Genesys adds in each enum field the family reads: a metric name
 * in an aggregates answer, a session's media type in call quality's
 * details. Each is counted in unknown_values (not as a malformed answer)
 * and logged once; the rest of the answer is dispatched. Agent status takes
 * a routing status or presence by its name: a new one is a series of its
 * own. */
DEF_TEST(unknown_words_take_the_rest) {
  ga_instance_t *inst = make_instance_with(true);
  mock_values_reset();
  mock_log_reset();
  uint64_t malformed = atomic_load(&inst->client->stats.malformed);
  CHECK_ZERO(take(
      inst,
      "{\"results\":[{\"group\":{\"queueId\":\"q1\",\"mediaType\":\"voice\"},"
      "\"data\":[{\"interval\":\"" BUCKET "\",\"metrics\":["
      "{\"metric\":\"nHologramOffered\",\"stats\":{\"count\":3}},"
      "{\"metric\":\"nOffered\",\"stats\":{\"count\":7}},"
      "{\"metric\":\"nHologramOffered\",\"stats\":{\"count\":1}}]}]}]}"));
  mock_value_t *v = mock_find("q1", "offered", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(7, v->value.gauge);
  EXPECT_EQ_INT((int)malformed,
                (int)atomic_load(&inst->client->stats.malformed));
  EXPECT_EQ_INT(1, (int)mock_unknown_lines("metric", "nHologramOffered"));

  /* Call quality: a session of a new media type passed over alone. */
  gen_mos_config_t c;
  gen_mos_config_init(&c);
  static const char *const queues[] = {"q1"};
  gen_interval_range_t range = {.start_ms = T0, .end_ms = T0 + G};
  gen_mos_acc_t *a = gen_mos_acc_new(&c, queues, 1, &range, G);
  CHECK_NOT_NULL(a);
  const gen_log_org_t who = {PLUGIN_NAME, "acme"};
  const gen_unknown_sink_t sink = {&inst->client->stats, &who, "call quality"};
  gen_mos_acc_unknown_to(a, &sink);
  json_object *doc = json_tokener_parse(
      "{\"totalHits\":2,\"conversations\":["
      "{\"conversationId\":\"c1\",\"conversationStart\":"
      "\"2026-05-14T09:59:00.000Z\",\"conversationEnd\":"
      "\"2026-05-14T10:01:00.000Z\",\"mediaStatsMinConversationMos\":4.2,"
      "\"participants\":[{\"purpose\":\"acd\",\"sessions\":["
      "{\"mediaType\":\"hologram\",\"segments\":[{\"queueId\":\"q1\"}]},"
      "{\"mediaType\":\"voice\",\"segments\":[{\"queueId\":\"q1\"}]}]}]},"
      "{\"conversationId\":\"c2\",\"conversationStart\":"
      "\"2026-05-14T09:59:00.000Z\",\"conversationEnd\":"
      "\"2026-05-14T10:02:00.000Z\",\"mediaStatsMinConversationMos\":3.9,"
      "\"participants\":[{\"purpose\":\"acd\",\"sessions\":["
      "{\"mediaType\":\"hologram\",\"segments\":[{\"queueId\":\"q1\"}]},"
      "{\"mediaType\":\"voice\",\"segments\":[{\"queueId\":\"q1\"}]}]}]}]}");
  int64_t hits = 0;
  size_t n = 0, skipped = 0;
  char err[256] = "";
  CHECK_ZERO(gen_mos_acc_page(a, doc, &hits, &n, &skipped, err, sizeof(err)));
  json_object_put(doc);
  EXPECT_EQ_INT(0, (int)skipped); /* both calls count, under voice */
  EXPECT_EQ_INT(2, (int)gen_mos_acc_unknown_sessions(a));
  gen_mos_acc_free(a);
  EXPECT_EQ_INT(1, (int)mock_unknown_lines("mediaType", "hologram"));

  /* Agent status: a new routing status is its own series, beside IDLE. */
  const char *users[] = {
      "{\"results\":[{\"group\":{\"userId\":\"u1\"},\"data\":[{"
      "\"interval\":\"" BUCKET "\",\"metrics\":["
      "{\"metric\":\"tAgentRoutingStatus\",\"qualifier\":\"IDLE\","
      "\"stats\":{\"sum\":60000}},"
      "{\"metric\":\"tAgentRoutingStatus\",\"qualifier\":\"ON_BREAK_NEW\","
      "\"stats\":{\"sum\":30000}}]}]}]}"};
  CHECK_ZERO(take_users(inst, T0 + G + 60000, users, 1));
  v = mock_find("agents", "agent_time", "routing-IDLE");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(60, v->value.gauge);
  v = mock_find("agents", "agent_time", "routing-ON_BREAK_NEW");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(30, v->value.gauge);

  mock_values_reset();
  gen_stats_dispatch(&inst->client->stats, "acme", PLUGIN_NAME);
  EXPECT_EQ_INT(2, (int)mock_unknown_values("queue_aggregates-metric"));
  EXPECT_EQ_INT(2, (int)mock_unknown_values("call_quality-mediaType"));
  ga_instance_free(inst);
  return 0;
}

/* The metrics of no queue: not in a queue batch's request, asked for
 * without a queue filter per media type, dispatched under "org". */
DEF_TEST(org_level_metrics_have_a_request_and_an_instance_of_their_own) {
  ga_instance_t *inst = make_instance();
  ga_config_t *c = &inst->config;
  memset(c->qa.metric_on, 0, sizeof(c->qa.metric_on));
  gen_agg_set_on(&gen_conv_agg_catalogue, "all", c->qa.metric_on);
  gen_interval_range_t range = {0, G, 0};
  json_object *q = query_body(inst, q1, 1, &range);
  const char *text = json_object_to_json_string(q);
  OK(strstr(text, "\"nOffered\"") != NULL);
  OK(strstr(text, "\"oServiceTarget\"") != NULL);
  OK(strstr(text, "\"nConversations\"") == NULL);
  OK(strstr(text, "\"queueId\"") != NULL);
  json_object_put(q);
  q = query_body(inst, NULL, 0, &range);
  text = json_object_to_json_string(q);
  OK(strstr(text, "\"nConversations\"") != NULL);
  OK(strstr(text, "\"nError\"") != NULL);
  OK(strstr(text, "\"nOffered\"") == NULL);
  OK(strstr(text, "queueId") == NULL);
  OK(strstr(text, "filter") == NULL);
  EXPECT_EQ_STR("[ \"mediaType\" ]",
                json_object_to_json_string(gen_json_get_array(q, "groupBy")));
  json_object_put(q);

  gen_key_t k = {{GEN_QUEUE_AGG_ORG_SCOPE, "voice"}, 0};
  gen_agg_label_t label = {0};
  label_of(inst, &k, &label);
  EXPECT_EQ_STR("org", label.plugin_instance);
  EXPECT_EQ_INT(GEN_CONV_AGG_ORG, (int)label.group);
  k = (gen_key_t){{"q1", "voice"}, 0};
  label_of(inst, &k, &label);
  EXPECT_EQ_STR("q1", label.plugin_instance);
  EXPECT_EQ_INT(GEN_CONV_AGG_QUEUE, (int)label.group);
  ga_instance_free(inst);
  return 0;
}

DEF_TEST(agent_status_answers_that_cannot_be_trusted) {
  ga_instance_t *inst = make_instance_with(true);
  mock_values_reset();
  int64_t now = T0 + G + 60000;
  const char *outside[] = {
      "{\"results\":[{\"group\":{\"userId\":\"u1\"},\"data\":[{\"interval\":"
      "\"2026-05-14T11:00:00Z/2026-05-14T11:05:00Z\",\"metrics\":[]}]}]}"};
  OK(take_users(inst, now, outside, 1) == -EINVAL);
  EXPECT_EQ_INT(0, (int)mock_values_num);
  /* Bad entries are skipped, the rest is kept. */
  const char *partial[] = {
      "{\"results\":[{\"group\":{\"userId\":\"u1\"},\"data\":[{\"interval\":"
      "\"" BUCKET "\",\"metrics\":[{\"metric\":\"tAgentRoutingStatus\","
      "\"stats\":{\"sum\":5}},{\"metric\":\"tAgentRoutingStatus\","
      "\"qualifier\":\"IDLE\",\"stats\":{\"sum\":-4}},{\"metric\":"
      "\"tOrganizationPresence\",\"qualifier\":\"x\",\"stats\":{\"sum\":1}},"
      "{\"metric\":\"tSystemPresence\",\"qualifier\":\"BUSY\",\"stats\":"
      "{\"sum\":3000}}]}]}]}"};
  CHECK_ZERO(take_users(inst, now, partial, 1));
  OK(mock_find("agents", "agent_time", "routing-IDLE") == NULL);
  mock_value_t *v = mock_find("agents", "agent_time", "presence-BUSY");
  OK(v != NULL);
  EXPECT_EQ_DOUBLE(3, v->value.gauge);
  ga_instance_free(inst);
  return 0;
}

DEF_TEST(configuration_refuses_with_reasons) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  ga_config_t *c = gen_plugin_config_new(&ga_plugin);
  oconfig_item_t *ci = mock_ci_str("Granularity", "PT7M");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_str("Granularity", "PT1H");
  CHECK_ZERO(ga_config_key(org, ci, c));
  EXPECT_EQ_INT(3600000, c->interval.granularity_ms);
  mock_ci_free(ci);
  ci = mock_ci_str("GroupBy", "userId");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_str("Metric", "offered");
  CHECK_ZERO(ga_config_key(org, ci, c));
  OK(c->qa.metric_on[0] && !c->qa.metric_on[1]);
  mock_ci_free(ci);
  ci = mock_ci_bool("AgentStatus", true);
  CHECK_ZERO(ga_config_key(org, ci, c));
  OK(c->agents.on);
  mock_ci_free(ci);
  ci = mock_ci_str("AgentStatus", "maybe");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_str("AgentStatusGranularity", "PT30M");
  CHECK_ZERO(ga_config_key(org, ci, c));
  EXPECT_EQ_INT(1800000, c->agents.granularity_ms);
  mock_ci_free(ci);
  mock_log_reset();
  ci = mock_ci_str("AgentStatusGranularity", "PT7M");
  OK(ga_config_key(org, ci, c) < 0);
  OK(mock_log_contains("AgentStatusGranularity"));
  mock_ci_free(ci);
  /* RevisitAt: "24h 100h" by default (past the nightly reprocessing), one
   * age, "none", or the key, the value and why. */
  EXPECT_EQ_INT(2, (int)c->interval.revisit_at.n);
  EXPECT_EQ_UINT64(24 * 3600000LL, c->interval.revisit_at.age_ms[0]);
  EXPECT_EQ_UINT64(100 * 3600000LL, c->interval.revisit_at.age_ms[1]);
  ci = mock_ci_str("RevisitAt", "24h");
  CHECK_ZERO(ga_config_key(org, ci, c));
  EXPECT_EQ_INT(1, (int)c->interval.revisit_at.n);
  mock_ci_free(ci);
  ci = mock_ci_str("RevisitAt", "none");
  CHECK_ZERO(ga_config_key(org, ci, c));
  EXPECT_EQ_INT(0, (int)c->interval.revisit_at.n);
  mock_ci_free(ci);
  ci = mock_ci_str("RevisitAt", "72h, 24h");
  CHECK_ZERO(ga_config_key(org, ci, c));
  EXPECT_EQ_INT(2, (int)c->interval.revisit_at.n);
  EXPECT_EQ_UINT64(86400000, c->interval.revisit_at.age_ms[0]);
  mock_ci_free(ci);
  mock_log_reset();
  ci = mock_ci_str("RevisitAt", "24h 3x");
  OK(ga_config_key(org, ci, c) < 0);
  OK(mock_log_contains("RevisitAt \"24h 3x\": \"3x\" is not an age"));
  EXPECT_EQ_INT(2, (int)c->interval.revisit_at.n); /* unchanged */
  mock_ci_free(ci);
  mock_log_reset();
  ci = mock_ci_str("RevisitAt", "40d");
  OK(ga_config_key(org, ci, c) < 0);
  OK(mock_log_contains("RevisitAt \"40d\": age \"40d\" must be more than 0 "
                       "and at most 31 d"));
  mock_ci_free(ci);
  const double ages[] = {259200, 3600};
  ci = mock_ci_nums("RevisitAt", 2, ages); /* seconds */
  CHECK_ZERO(ga_config_key(org, ci, c));
  EXPECT_EQ_UINT64(3600000, c->interval.revisit_at.age_ms[0]);
  EXPECT_EQ_UINT64(259200000, c->interval.revisit_at.age_ms[1]);
  mock_ci_free(ci);
  ci = mock_ci_str("Metric", "bogus");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_str("MediaType", "fax");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  gen_plugin_config_free(&ga_plugin, c);
  gen_org_free(org);
  return 0;
}

/* The catalogue: every name ours once, lower_snake; no API metric more
 * than twice (a count and a duration); default is the first releases'
 * fifteen in their order (their engine value names are in state files). */
DEF_TEST(catalogue_names_and_sets) {
  static const char *const first[] = {
      "offered",     "answered", "abandoned",     "short_abandoned",
      "transferred", "over_sla", "service_level", "handle",
      "talk",        "hold",     "acw",           "wait",
      "answer",      "alert",    "abandon"};
  OK(GEN_CONV_AGG_METRICS <= GEN_AGG_MAX_METRICS);
  EXPECT_EQ_INT(84, (int)GEN_CONV_AGG_METRICS);
  for (size_t m = 0; m < GEN_CONV_AGG_METRICS; m++) {
    const gen_agg_metric_t *mt = &gen_conv_agg_catalogue.metrics[m];
    size_t same_api = 0;
    for (size_t k = 0; k < GEN_CONV_AGG_METRICS; k++) {
      OK(k == m ||
         strcmp(mt->name, gen_conv_agg_catalogue.metrics[k].name) != 0);
      same_api += strcmp(mt->api, gen_conv_agg_catalogue.metrics[k].api) == 0;
    }
    OK(same_api <= 2);
    OK(strspn(mt->name, "abcdefghijklmnopqrstuvwxyz_") == strlen(mt->name));
    OK(strchr("nto", mt->api[0]) != NULL);
    bool dflt = (mt->sets & GEN_CONV_AGG_DEFAULT) != 0;
    bool released = m < STATIC_ARRAY_SIZE(first);
    EXPECT_EQ_INT(released, dflt);
    if (released)
      EXPECT_EQ_STR(first[m], mt->name);
  }
  return 0;
}

DEF_TEST(metric_takes_sets_in_any_case_and_names_them_when_refusing) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  ga_config_t *c = gen_plugin_config_new(&ga_plugin);
  const char *two[] = {"Supervision", "tFirstConnect"};
  oconfig_item_t *ci = mock_ci_strs("Metric", 2, two);
  CHECK_ZERO(ga_config_key(org, ci, c));
  mock_ci_free(ci);
  for (size_t m = 0; m < GEN_CONV_AGG_METRICS; m++)
    EXPECT_EQ_INT((gen_conv_agg_catalogue.metrics[m].sets &
                   GEN_CONV_AGG_SUPERVISION) != 0 ||
                      strcmp(gen_conv_agg_catalogue.metrics[m].name,
                             "first_connect") == 0,
                  c->qa.metric_on[m]);
  ci = mock_ci_str("Metric", "ALL");
  CHECK_ZERO(ga_config_key(org, ci, c));
  mock_ci_free(ci);
  for (size_t m = 0; m < GEN_CONV_AGG_METRICS; m++)
    OK(c->qa.metric_on[m]);
  mock_log_reset();
  ci = mock_ci_str("Metric", "vocie");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  OK(mock_log_contains("Metric \"vocie\": unknown metric or set; valid: "
                       "default, voice, digital, outbound, supervision, all, "
                       "offered, answered"));
  /* the list goes on over more lines, to the last name */
  OK(mock_log_contains("Metric (continued): "));
  OK(mock_log_contains("talk_complete, transmitting, user_response_time, "
                       "voicemail"));
  gen_plugin_config_free(&ga_plugin, c);
  gen_org_free(org);
  return 0;
}

/* Without Metric: the default set, nothing else. */
DEF_TEST(without_metric_the_default_set) {
  ga_instance_t *inst = make_instance();
  for (size_t m = 0; m < GEN_CONV_AGG_METRICS; m++)
    EXPECT_EQ_INT(
        (gen_conv_agg_catalogue.metrics[m].sets & GEN_CONV_AGG_DEFAULT) != 0,
        inst->config.qa.metric_on[m]);
  ga_instance_free(inst);
  return 0;
}

/* MediaType in any case is asked in the API's spelling. */
DEF_TEST(media_filter_in_the_api_spelling) {
  ga_instance_t *inst = make_instance();
  oconfig_item_t *ci =
      mock_ci_strs("MediaType", 2, (const char *[]){"CHAT", "Voice"});
  CHECK_ZERO(ga_config_key(inst->client->org, ci, &inst->config));
  mock_ci_free(ci);
  gen_interval_range_t range = {.start_ms = 0, .end_ms = 3600000};
  json_object *body = query_body(inst, q1, 1, &range);
  const char *text =
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  OK(strstr(text, "{\"type\":\"or\",\"predicates\":[{\"dimension\":"
                  "\"mediaType\",\"value\":\"voice\"},{\"dimension\":"
                  "\"mediaType\",\"value\":\"chat\"}]}") != NULL);
  json_object_put(body);
  ga_instance_free(inst);
  return 0;
}

DEF_TEST(registers_and_configures) {
  return check_plugin(module_register, "genesys_analytics");
}

DEF_TEST(keys_listed_with_their_defaults) {
  return check_plugin_keys(&ga_plugin);
}

int main(void) {
  if (mock_tempdir(dir) == NULL)
    return 1;
  RUN_TEST(good_answer_is_dispatched_at_bucket_end);
  RUN_TEST(missing_counts_are_zero_not_absent);
  RUN_TEST(malformed_answers_fail_the_range);
  RUN_TEST(partial_results_keep_what_is_usable);
  RUN_TEST(agent_status_sums_every_batch_per_status);
  RUN_TEST(unknown_words_take_the_rest);
  RUN_TEST(agent_status_answers_that_cannot_be_trusted);
  RUN_TEST(org_level_metrics_have_a_request_and_an_instance_of_their_own);
  RUN_TEST(configuration_refuses_with_reasons);
  RUN_TEST(catalogue_names_and_sets);
  RUN_TEST(metric_takes_sets_in_any_case_and_names_them_when_refusing);
  RUN_TEST(without_metric_the_default_set);
  RUN_TEST(media_filter_in_the_api_spelling);
  RUN_TEST(registers_and_configures);
  RUN_TEST(keys_listed_with_their_defaults);
  if (mock_rmtree(dir) != 0)
    return 1;
  END_TEST;
}
