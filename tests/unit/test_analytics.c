/* Unit tests of genesys_analytics without network: taking aggregate answers
 * (good, partial, malformed), what is dispatched, and its configuration. */
#include "plugin_mock.h"

#include "../../plugins/genesys_analytics.c"

#include "collectd/core/testing.h"

#define G 300000LL
#define T0 1778752800000LL /* 2026-05-14T10:00:00Z */

static char dir[] = "/tmp/gen-analytics-test-XXXXXX";

static ga_instance_t *make_instance(void) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  org->host = strdup("acme");
  org->api_base_url = strdup("https://api.example.test");
  org->login_base_url = strdup("https://login.example.test");
  org->client_id = strdup("id");
  org->client_secret = strdup("secret-for-tests");
  org->instance_from = GEN_INSTANCE_FROM_ID;
  gen_client_t *client = gen_client_create(org);
  ga_config_t *c = ga_config_new();
  char path[300];
  snprintf(path, sizeof(path), "%s/analytics-acme.json", dir);
  unlink(path); /* every test starts afresh */
  c->granularity_ms = G;
  c->settle = TIME_T_TO_CDTIME_T(60);
  c->state_dir = strdup(dir);
  ga_instance_t *inst = ga_instance_new(client, c);
  gen_entity_add(&inst->queues, "q1", "Sales EN 001", "div-1");
  inst->listed_at = cdtime();
  return inst;
}

static const char *const q1[] = {"q1"};

/* Plans at 10:06 (the 10:00-10:05 bucket settled), takes doc, commits. */
static int take(ga_instance_t *inst, const char *text) {
  gen_interval_range_t range;
  int64_t now = T0 + G + 60000;
  if (gen_interval_plan(inst->engine, q1, 1, now, &range) != 1)
    return -1000;
  char err[256] = "";
  json_object *doc = json_tokener_parse(text);
  int status = doc ? take_answer(inst, doc, &range, err, sizeof(err)) : -EINVAL;
  json_object_put(doc);
  if (status != 0) {
    gen_interval_abort(inst->engine);
    return status;
  }
  gen_interval_sink_t sink = {
      .bucket = on_bucket, .totals = on_totals, .ud = inst};
  return gen_interval_commit(inst->engine, q1, 1, &range, now, &sink);
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
  EXPECT_EQ_INT(1,
                gen_interval_plan(inst->engine, q1, 1, T0 + G + 60000, &range));
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

DEF_TEST(configuration_refuses_with_reasons) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  ga_config_t *c = ga_config_new();
  oconfig_item_t *ci = mock_ci_str("Granularity", "PT7M");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_str("Granularity", "PT1H");
  CHECK_ZERO(ga_config_key(org, ci, c));
  EXPECT_EQ_INT(3600000, c->granularity_ms);
  mock_ci_free(ci);
  ci = mock_ci_str("GroupBy", "userId");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  ci = mock_ci_str("Metric", "offered");
  CHECK_ZERO(ga_config_key(org, ci, c));
  OK(c->metric_on[0] && !c->metric_on[1]);
  mock_ci_free(ci);
  ci = mock_ci_str("Metric", "bogus");
  OK(ga_config_key(org, ci, c) < 0);
  mock_ci_free(ci);
  ga_config_free(c);
  gen_org_free(org);
  return 0;
}

int main(void) {
  if (mkdtemp(dir) == NULL)
    return 1;
  RUN_TEST(good_answer_is_dispatched_at_bucket_end);
  RUN_TEST(malformed_answers_fail_the_range);
  RUN_TEST(partial_results_keep_what_is_usable);
  RUN_TEST(configuration_refuses_with_reasons);
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    return 1;
  END_TEST;
}
