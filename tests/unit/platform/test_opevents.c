/* SPDX-License-Identifier: MIT */
/* Unit tests: operational events (gen_opevents): the answer rewritten as
 * an aggregates answer in both forms (a definition left out or listed with
 * 0), foreign, repeated and unusable entries, the request body (the
 * interval alone), one bucket a request through the loop and the sink
 * (gauges, counters, the malformed count), and the keys with the 10-day
 * cap naming the key. */
#include "gen_json.h"
#include "gen_opevents.h"
#include "gen_time.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#define G 300000LL
/* 2026-11-23T10:00:00Z */
#define T0 1795428000000LL

static json_object *parse(const char *text) { return json_tokener_parse(text); }

static void defs_of(gen_entity_set_t *defs) {
  gen_entity_add(defs, "d1", "DataActionFailure", NULL);
  gen_entity_add(defs, "d2", "FlowError", NULL);
  gen_entity_add(defs, "d3", "TrunkDown", NULL);
}

/* eventDefinitionId -> count of a normalized answer, as "d1=5 d2=0 ...". */
static void summary(const gen_agg_answer_t *a, char *buf, size_t size) {
  size_t off = 0;
  buf[0] = '\0';
  const gen_agg_result_t *r;
  size_t n = gen_agg_answer_results(a, &r);
  for (size_t i = 0; i < n; i++) {
    const gen_agg_bucket_t *b = &r[i].b[0];
    const gen_agg_entry_t *m = &b->metrics.e[0];
    double count = (m->have & (1u << GEN_AGG_STAT_COUNT))
                       ? m->stat[GEN_AGG_STAT_COUNT]
                       : -1;
    off +=
        (size_t)snprintf(buf + off, size - off, "%s%s=%lld@%s", off ? " " : "",
                         gen_agg_group_get(&r[i].group, "eventDefinitionId"),
                         (long long)count, b->interval);
  }
}

DEF_TEST(normalize_both_forms) {
  gen_entity_set_t defs = {0};
  defs_of(&defs);
  gen_interval_range_t range = {T0, T0 + G, 0};
  /* omit: d2 and d3 absent; a foreign definition, d1 twice, three
   * unusable entries */
  const char *omit =
      "{\"interval\":\"x\",\"eventDefinitionAggregates\":["
      "{\"eventDefinition\":{\"id\":\"d1\",\"selfUri\":\"/d1\"},"
      "\"eventCount\":3},"
      "{\"eventDefinition\":{\"id\":\"other\"},\"eventCount\":9},"
      "{\"eventDefinition\":{\"id\":\"d1\"},\"eventCount\":2},"
      "{\"eventDefinition\":{},\"eventCount\":1},"
      "{\"eventDefinition\":{\"id\":\"d2\"},\"eventCount\":-1},"
      "{\"eventDefinition\":{\"id\":\"d3\"},\"eventCount\":\"7\"}]}";
  const char *zeros =
      "{\"eventDefinitionAggregates\":["
      "{\"eventDefinition\":{\"id\":\"d3\"},\"eventCount\":0},"
      "{\"eventDefinition\":{\"id\":\"d1\"},\"eventCount\":5},"
      "{\"eventDefinition\":{\"id\":\"d2\"},\"eventCount\":0}]}";
  const char *want = "d1=5@2026-11-23T10:00:00.000Z/2026-11-23T10:05:00.000Z "
                     "d2=0@2026-11-23T10:00:00.000Z/2026-11-23T10:05:00.000Z "
                     "d3=0@2026-11-23T10:00:00.000Z/2026-11-23T10:05:00.000Z";
  char got[1024];
  size_t skipped = 99;
  gen_agg_answer_t *a = gen_agg_answer_new();
  json_object *doc = parse(omit);
  EXPECT_EQ_INT(0, gen_opev_normalize(&defs, &range, doc, a, &skipped));
  EXPECT_EQ_INT(3, (int)skipped);
  summary(a, got, sizeof(got));
  EXPECT_EQ_STR(want, got);
  json_object_put(doc);
  doc = parse(zeros);
  EXPECT_EQ_INT(0, gen_opev_normalize(&defs, &range, doc, a, &skipped));
  EXPECT_EQ_INT(0, (int)skipped);
  summary(a, got, sizeof(got));
  EXPECT_EQ_STR(want, got);
  json_object_put(doc);
  /* no eventDefinitionAggregates: no events, every definition 0 */
  doc = parse("{\"interval\":\"x\"}");
  EXPECT_EQ_INT(0, gen_opev_normalize(&defs, &range, doc, a, &skipped));
  summary(a, got, sizeof(got));
  OK(strstr(got, "d1=0@") != NULL && strstr(got, "d3=0@") != NULL);
  json_object_put(doc);
  /* not the answer */
  const char *bad[] = {"[]", "{\"eventDefinitionAggregates\":{}}",
                       "{\"eventDefinitionAggregates\":3}"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad); i++) {
    doc = parse(bad[i]);
    EXPECT_EQ_INT(-EINVAL, gen_opev_normalize(&defs, &range, doc, a, &skipped));
    json_object_put(doc);
    /* Nothing of the answer before is left. */
    const gen_agg_result_t *r;
    EXPECT_EQ_INT(0, (int)gen_agg_answer_results(a, &r));
  }
  gen_agg_answer_free(a);
  gen_entity_set_free(&defs);
  return 0;
}

/* The family's engine and request counts, as the driver keeps them. */
static gen_interval_t *engine;
static gen_agg_counts_t counts;

static int apply(gen_opev_t *ev, const gen_interval_range_t *range, int64_t now,
                 const char *answer) {
  static const char *const scopes[] = {"org"};
  gen_agg_query_t query = gen_opev_query(ev);
  gen_family_run_t run = {
      .engine = engine, .client = ev->client, .counts = &counts, .at_ms = now};
  /* the request: its interval alone */
  json_object *body = query.body(query.ud, scopes, 1, range);
  char iv[GEN_INTERVAL_STRLEN];
  gen_interval_format(range->start_ms, range->end_ms, iv, sizeof(iv));
  EXPECT_EQ_INT(1, (int)json_object_object_length(body));
  EXPECT_EQ_STR(iv, gen_json_get_string(body, "interval"));
  json_object_put(body);
  char err[256] = "";
  return gen_family_apply(&run, &query, scopes, 1, range, answer,
                          strlen(answer), err, sizeof(err));
}

static double value(const char *instance, const char *type) {
  mock_value_t *v = mock_find(instance, type, NULL);
  if (v == NULL)
    return -1;
  return strncmp(type, "total_", 6) == 0 ? (double)v->value.derive
                                         : v->value.gauge;
}

/* The family as the plugin makes it: PT5M buckets, two back at the first
 * read, its state file in dir, three definitions; engine set. */
typedef struct {
  gen_opev_config_t c;
  gen_client_t *client;
  gen_log_org_t who;
  gen_opev_t *ev;
} fixture_t;

/* The engine on the fixture's state file (made again: a restart). */
static gen_interval_t *engine_of(fixture_t *f) {
  gen_interval_config_t ic;
  gen_opev_interval(&f->c, &ic);
  gen_interval_t *e = gen_interval_config_engine(
      &ic, "genesys_platform", f->client->org->name, "-events", &f->who);
  gen_interval_config_release(&ic);
  return e;
}

static int fixture_open(fixture_t *f, char *dir) {
  gen_opev_config_init(&f->c);
  f->c.enabled = true;
  f->c.granularity_ms = G;
  f->c.settle = TIME_T_TO_CDTIME_T(30);
  f->c.initial = MS_TO_CDTIME_T(2 * G);
  f->c.horizon = MS_TO_CDTIME_T(4 * G);
  f->c.state_dir = dir;
  f->client = gen_client_create(mock_org("genesys_platform"));
  f->who = (gen_log_org_t){"genesys_platform", f->client->org->name};
  counts = (gen_agg_counts_t){.who = &f->who};
  f->ev = gen_opev_new(f->client, "genesys_platform", &f->c, &f->who);
  CHECK_NOT_NULL(f->ev);
  engine = engine_of(f);
  CHECK_NOT_NULL(engine);
  defs_of(&f->ev->defs);
  return 0;
}

static void fixture_close(fixture_t *f, char *dir) {
  gen_opev_free(f->ev);
  gen_interval_free(engine);
  gen_client_free(f->client);
  gen_opev_config_release(&f->c);
  mock_rmtree(dir);
}

DEF_TEST(one_bucket_a_request) {
  char dir[] = "/tmp/gen-opev-XXXXXX";
  OK(mock_tempdir(dir) != NULL);
  fixture_t f;
  CHECK_ZERO(fixture_open(&f, dir));
  gen_opev_t *ev = f.ev;
  gen_client_t *client = f.client;
  mock_values_reset();
  static const char *const scopes[] = {"org"};
  int64_t now = T0 + 2 * G + 30000;
  gen_interval_range_t range;
  /* two buckets back, one a request: the oldest first */
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scopes, 1, now, &range));
  OK(range.start_ms == T0 && range.end_ms == T0 + G);
  EXPECT_EQ_INT(
      0, apply(ev, &range, now,
               "{\"eventDefinitionAggregates\":[{\"eventDefinition\":{\"id\":"
               "\"d1\"},\"eventCount\":4}]}"));
  EXPECT_EQ_INT(4, (int)value("DataActionFailure", "operational_events"));
  EXPECT_EQ_INT(0, (int)value("FlowError", "operational_events"));
  EXPECT_EQ_INT(4, (int)value("DataActionFailure", "total_operational_events"));
  mock_value_t *v = mock_find("DataActionFailure", "operational_events", NULL);
  OK(v->sent_time == MS_TO_CDTIME_T(T0 + G));
  uint64_t malformed = atomic_load(&client->stats.malformed);
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scopes, 1, now, &range));
  OK(range.start_ms == T0 + G && range.end_ms == T0 + 2 * G);
  EXPECT_EQ_INT(
      0, apply(ev, &range, now,
               "{\"eventDefinitionAggregates\":[{\"eventDefinition\":{\"id\":"
               "\"d1\"},\"eventCount\":2},{\"eventDefinition\":{\"id\":\"d2\"},"
               "\"eventCount\":0},{\"eventCount\":1}]}"));
  EXPECT_EQ_INT(2, (int)value("DataActionFailure", "operational_events"));
  EXPECT_EQ_INT(6, (int)value("DataActionFailure", "total_operational_events"));
  EXPECT_EQ_INT(0, (int)value("TrunkDown", "total_operational_events"));
  EXPECT_EQ_INT(1, (int)(atomic_load(&client->stats.malformed) - malformed));
  /* up to date: nothing to ask for (no revisits) */
  EXPECT_EQ_INT(0, gen_interval_plan(engine, scopes, 1, now, &range));
  /* an answer that is not one: the bucket is asked for again */
  now += G;
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scopes, 1, now, &range));
  OK(apply(ev, &range, now, "{\"eventDefinitionAggregates\":7}") != 0);
  gen_interval_range_t again;
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scopes, 1, now, &again));
  OK(again.start_ms == range.start_ms);
  fixture_close(&f, dir);
  return 0;
}

/* apply() of an answer that counts n events of d1 alone. */
static int apply_d1(gen_opev_t *ev, const gen_interval_range_t *range,
                    int64_t now, int n) {
  char answer[160];
  snprintf(answer, sizeof(answer),
           "{\"eventDefinitionAggregates\":[{\"eventDefinition\":{\"id\":"
           "\"d1\"},\"eventCount\":%d}]}",
           n);
  return apply(ev, range, now, answer);
}

/* The default schedule (1 h, 24 h): a bucket is asked for again an hour
 * after its end, alone; the events counted since are dispatched as its
 * revision (the same time, the new count) and added to the counter once;
 * the 24 h revisit finds nothing new and dispatches nothing. */
DEF_TEST(late_events_taken_at_the_revisits) {
  char dir[] = "/tmp/gen-opev-XXXXXX";
  OK(mock_tempdir(dir) != NULL);
  fixture_t f;
  CHECK_ZERO(fixture_open(&f, dir));
  f.c.initial = 0;
  f.c.horizon = TIME_T_TO_CDTIME_T(2 * 86400); /* no gap over the day */
  gen_interval_free(engine);
  engine = engine_of(&f);
  static const char *const scopes[] = {"org"};
  gen_interval_range_t range;
  int64_t now = T0 + G + 30000;
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scopes, 1, now, &range));
  OK(range.start_ms == T0 && range.end_ms == T0 + G && range.revisit == 0);
  mock_values_reset();
  EXPECT_EQ_INT(0, apply_d1(f.ev, &range, now, 3));
  EXPECT_EQ_INT(3, (int)value("DataActionFailure", "total_operational_events"));
  /* the next bucket, and no revisit before the hour */
  now = T0 + 2 * G + 30000;
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scopes, 1, now, &range));
  OK(range.start_ms == T0 + G && range.revisit == 0);
  EXPECT_EQ_INT(0, apply(f.ev, &range, now, "{}"));
  EXPECT_EQ_INT(0, gen_interval_plan(engine, scopes, 1, now, &range));
  /* an hour after its end: the first bucket again, alone (the new buckets
   * of the hour done first) */
  now = T0 + G + 3600000;
  int rc;
  while ((rc = gen_interval_plan(engine, scopes, 1, now, &range)) == 1 &&
         range.revisit == 0)
    EXPECT_EQ_INT(0, apply(f.ev, &range, now, "{}"));
  EXPECT_EQ_INT(1, rc);
  OK(range.start_ms == T0 && range.end_ms == T0 + G && range.revisit == 1);
  mock_values_reset();
  EXPECT_EQ_INT(0, apply_d1(f.ev, &range, now, 5));
  mock_value_t *v = mock_find("DataActionFailure", "operational_events", NULL);
  CHECK_NOT_NULL(v);
  OK(v->sent_time == MS_TO_CDTIME_T(T0 + G));
  EXPECT_EQ_INT(5, (int)value("DataActionFailure", "operational_events"));
  EXPECT_EQ_INT(5, (int)value("DataActionFailure", "total_operational_events"));
  /* an unchanged definition is not sent again */
  OK(mock_find("FlowError", "operational_events", NULL) == NULL);
  gen_interval_stats_t st;
  gen_interval_get_stats(engine, &st);
  EXPECT_EQ_INT(1, (int)st.revisions);
  EXPECT_EQ_INT(2, (int)st.n_revision_ages);
  EXPECT_EQ_INT(1, (int)st.revisions_at[0]);
  /* a day after its end: asked for once more, nothing new, nothing sent */
  now = T0 + G + 86400000;
  while ((rc = gen_interval_plan(engine, scopes, 1, now, &range)) == 1 &&
         !(range.revisit == 2 && range.start_ms == T0))
    EXPECT_EQ_INT(0, apply_d1(f.ev, &range, now, range.start_ms == T0 ? 5 : 0));
  EXPECT_EQ_INT(1, rc);
  mock_values_reset();
  EXPECT_EQ_INT(0, apply_d1(f.ev, &range, now, 5));
  OK(mock_find("DataActionFailure", "operational_events", NULL) == NULL);
  gen_interval_get_stats(engine, &st);
  EXPECT_EQ_INT(1, (int)st.revisions);
  EXPECT_EQ_INT(0, (int)st.revisions_at[1]);
  fixture_close(&f, dir);
  return 0;
}

/* One count past 2^53 (1e16 events) is refused where the answer is read,
 * as the state file's reader refuses it: skipped and counted as malformed,
 * never dispatched nor saved; the state file stays usable at the next start
 * (it was refused whole, every counter of the family back to zero). Two
 * entries of one definition that add up past 2^53 the same. */
DEF_TEST(a_count_past_2_53_is_refused_where_it_is_read) {
  char dir[] = "/tmp/gen-opev-XXXXXX";
  OK(mock_tempdir(dir) != NULL);
  fixture_t f;
  CHECK_ZERO(fixture_open(&f, dir));
  gen_opev_t *ev = f.ev;
  gen_client_t *client = f.client;
  mock_values_reset();
  mock_log_reset();
  static const char *const scopes[] = {"org"};
  int64_t now = T0 + 2 * G + 30000;
  gen_interval_range_t range;
  uint64_t malformed = atomic_load(&client->stats.malformed);
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scopes, 1, now, &range));
  EXPECT_EQ_INT(
      0, apply(ev, &range, now,
               "{\"eventDefinitionAggregates\":[{\"eventDefinition\":{\"id\":"
               "\"d1\"},\"eventCount\":10000000000000000},"
               "{\"eventDefinition\":{\"id\":\"d2\"},\"eventCount\":3},"
               "{\"eventDefinition\":{\"id\":\"d3\"},"
               "\"eventCount\":9007199254740992},"
               "{\"eventDefinition\":{\"id\":\"d3\"},\"eventCount\":1}]}"));
  /* one answer counted as malformed, two entries logged */
  EXPECT_EQ_INT(1, (int)(atomic_load(&client->stats.malformed) - malformed));
  OK(mock_log_contains("2 entries of an events aggregates answer"));
  OK(mock_log_contains("beyond 2^53"));
  EXPECT_EQ_INT(0, (int)value("DataActionFailure", "operational_events"));
  EXPECT_EQ_INT(3, (int)value("FlowError", "total_operational_events"));
  OK(value("TrunkDown", "total_operational_events") == 9007199254740992.0);
  gen_interval_free(engine);

  /* The next start: the state file is used, the counters go on. */
  mock_log_reset();
  mock_values_reset();
  engine = engine_of(&f);
  CHECK_NOT_NULL(engine);
  OK(!mock_log_contains("cannot be used"));
  EXPECT_EQ_INT(1, gen_interval_plan(engine, scopes, 1, now, &range));
  EXPECT_EQ_INT(
      0, apply(ev, &range, now,
               "{\"eventDefinitionAggregates\":[{\"eventDefinition\":{\"id\":"
               "\"d2\"},\"eventCount\":2}]}"));
  EXPECT_EQ_INT(5, (int)value("FlowError", "total_operational_events"));
  fixture_close(&f, dir);
  return 0;
}

DEF_TEST(keys) {
  gen_org_t *org = mock_org("genesys_platform");
  gen_opev_config_t c;
  gen_opev_config_init(&c);
  OK(!c.enabled);
  OK(c.granularity_ms == 15 * 60000);
  /* revisits at 1 h and 24 h by default */
  OK(c.revisit_at.n == 2 && c.revisit_at.age_ms[0] == 3600000 &&
     c.revisit_at.age_ms[1] == 86400000);
  struct {
    oconfig_item_t *ci;
    int status;
  } cases[] = {
      {mock_ci_bool("OperationalEvents", true), 0},
      {mock_ci_str("OperationalEventsGranularity", "PT5M"), 0},
      {mock_ci_str("OperationalEventsGranularity", "PT7M"), -EINVAL},
      {mock_ci_num("OperationalEventsSettleDelay", 60), 0},
      {mock_ci_str("OperationalEventsRevisitAt", "2h"), 0},
      {mock_ci_num("OperationalEventsBackfillHorizon", 7200), 0},
      {mock_ci_num("OperationalEventsInitialBackfill", 3600), 0},
      {mock_ci_str("EventDefinitionName", "Data*"), 0},
      {mock_ci_str("Granularity", "PT5M"), GEN_CONFIG_NOT_MINE},
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(cases); i++) {
    EXPECT_EQ_INT(cases[i].status,
                  gen_config_table_key(org, cases[i].ci, &gen_opev_keys, &c));
    mock_ci_free(cases[i].ci);
  }
  OK(c.enabled);
  OK(c.granularity_ms == G);
  OK(c.revisit_at.n == 1 && c.revisit_at.age_ms[0] == 7200000);
  OK(c.horizon == TIME_T_TO_CDTIME_T(7200));
  OK(c.initial == TIME_T_TO_CDTIME_T(3600));
  EXPECT_EQ_INT(1, (int)c.filter.n_names);
  /* beyond the 10 days Genesys keeps: capped, the key named */
  mock_log_reset();
  oconfig_item_t *ci = mock_ci_num("OperationalEventsBackfillHorizon", 1209600);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_opev_keys, &c));
  mock_ci_free(ci);
  OK(c.horizon == TIME_T_TO_CDTIME_T(864000));
  OK(mock_log_contains("OperationalEventsBackfillHorizon 1209600 is beyond"));
  ci = mock_ci_num("OperationalEventsInitialBackfill", 900000);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_opev_keys, &c));
  mock_ci_free(ci);
  OK(c.initial == TIME_T_TO_CDTIME_T(864000));
  OK(mock_log_contains("OperationalEventsInitialBackfill 900000 is beyond"));
  /* exactly 10 days: kept, nothing said */
  mock_log_reset();
  ci = mock_ci_num("OperationalEventsBackfillHorizon", 864000);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_opev_keys, &c));
  mock_ci_free(ci);
  OK(!mock_log_contains("beyond"));
  /* the schedule: "none", or refused naming the key, the old one kept */
  ci = mock_ci_str("OperationalEventsRevisitAt", "0h");
  EXPECT_EQ_INT(-EINVAL, gen_config_table_key(org, ci, &gen_opev_keys, &c));
  mock_ci_free(ci);
  OK(mock_log_contains("OperationalEventsRevisitAt"));
  OK(c.revisit_at.n == 1);
  ci = mock_ci_str("OperationalEventsRevisitAt", "none");
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_opev_keys, &c));
  mock_ci_free(ci);
  OK(c.revisit_at.n == 0);
  gen_interval_config_t ic;
  gen_opev_interval(&c, &ic);
  OK(ic.revisit_at.n == 0 && ic.revisit == 0);
  gen_interval_config_release(&ic);
  gen_opev_config_release(&c);
  gen_org_free(org);
  return 0;
}

int main(void) {
  RUN_TEST(normalize_both_forms);
  RUN_TEST(one_bucket_a_request);
  RUN_TEST(late_events_taken_at_the_revisits);
  RUN_TEST(a_count_past_2_53_is_refused_where_it_is_read);
  RUN_TEST(keys);
  END_TEST;
}
