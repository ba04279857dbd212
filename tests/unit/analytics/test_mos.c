/* SPDX-License-Identifier: MIT */
/* Unit tests: call quality (gen_mos): the details query body, answer pages
 * read into per queue, media and bucket MOS stats (missing, out of range
 * and malformed MOS, duplicates across pages, transfers), sessions of an
 * unknown or internal media type, the R-factor, what the sink dispatches,
 * the configuration keys and the 31-day limit; the collection against a
 * fake API: a range over several reads within a budget, a 429 resumed at
 * its page, a bucket committed once read whole, halving past the results
 * the query pages through, a batch failing for good passed by the next. */
#include "fake_client.h"
#include "gen_buf.h"
#include "gen_http.c" /* its transport seam: a fake API */
#include "gen_json.h"
#include "gen_mos.h"
#include "gen_time.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <math.h>

/* Whose lines the module under test writes. */
static const gen_log_org_t test_who = {"test", "acme"};

#define G 300000LL
/* 2026-11-23T10:00:00Z */
#define T0 1795428000000LL

static const char *const queues[] = {"q-one", "q-two"};

static json_object *parse(const char *text) { return json_tokener_parse(text); }

/* The fake API's first bucket: T0, but for the test of the day before. */
static int64_t t0 = T0;

/* A conversation ending at t0 + end_s seconds. */
static void conv(char *buf, size_t size, const char *id, int end_s,
                 const char *mos, const char *segments) {
  char end[GEN_TIME_STRLEN];
  gen_time_format(t0 + end_s * 1000LL, end, sizeof(end));
  snprintf(buf, size,
           "{\"conversationId\":\"%s\",\"conversationStart\":"
           "\"2026-11-23T09:00:00.000Z\",\"conversationEnd\":\"%s\"%s%s,"
           "\"participants\":[%s]}",
           id, end, mos ? ",\"mediaStatsMinConversationMos\":" : "",
           mos ? mos : "", segments);
}

#define VOICE_Q1                                                               \
  "{\"purpose\":\"acd\",\"sessions\":[{\"mediaType\":\"voice\","               \
  "\"segments\":[{\"queueId\":\"q-one\"}]}]}"
#define VOICE_Q2                                                               \
  "{\"purpose\":\"acd\",\"sessions\":[{\"mediaType\":\"voice\","               \
  "\"segments\":[{\"queueId\":\"q-two\"}]}]}"
#define VOICE_OTHER                                                            \
  "{\"purpose\":\"acd\",\"sessions\":[{\"mediaType\":\"voice\","               \
  "\"segments\":[{\"queueId\":\"q-elsewhere\"}]}]}"

static gen_interval_t *engine(gen_interval_range_t *range) {
  gen_interval_options_t o = {.granularity_ms = G,
                              .settle_ms = 30000,
                              .revisit_ms = G,
                              .horizon_ms = 4 * G,
                              .initial_ms = 2 * G,
                              .max_buckets = 4,
                              .who = &test_who};
  gen_interval_t *gi = gen_interval_create(&o);
  if (gi != NULL &&
      gen_interval_plan(gi, queues, 2, T0 + 2 * G + 30000, range) != 1) {
    gen_interval_free(gi);
    return NULL;
  }
  return gi;
}

static int read_page(gen_mos_acc_t *a, const char *text, int64_t *hits,
                     size_t *n, size_t *skipped) {
  json_object *doc = parse(text);
  char err[256] = "";
  int status = gen_mos_acc_page(a, doc, hits, n, skipped, err, sizeof(err));
  json_object_put(doc);
  return status;
}

/* No queue named: each is its id. */
static gen_org_t no_names = {.instance_from = GEN_INSTANCE_FROM_ID};
static const gen_entity_set_t no_queues;

static double got(const char *inst, const char *type, const char *ti) {
  mock_value_t *v = mock_find(inst, type, ti);
  if (v == NULL)
    return NAN;
  return strncmp(type, "total_", 6) == 0 ? (double)v->value.derive
                                         : v->value.gauge;
}

/* Puts a into gi (a freed) and commits range into the mock's values. */
static int put_and_commit(const gen_mos_config_t *c, gen_mos_acc_t *a,
                          gen_interval_t *gi,
                          const gen_interval_range_t *range) {
  int status = gen_mos_acc_put(a, gi, INT64_MIN, INT64_MAX);
  gen_mos_acc_free(a);
  if (status != 0)
    return status;
  mock_values_reset();
  gen_mos_output_t out = {c, "h",       "genesys_analytics",
                          G, &no_names, &no_queues};
  gen_interval_sink_t sink = gen_mos_sink(&out);
  return gen_interval_commit(gi, queues, 2, range, T0 + 2 * G + 30000, &sink);
}

DEF_TEST(pages_into_buckets_then_dispatched) {
  gen_mos_config_t c;
  gen_mos_config_init(&c);
  gen_interval_range_t range;
  gen_interval_t *gi = engine(&range);
  CHECK_NOT_NULL(gi);
  EXPECT_EQ_INT(T0, range.start_ms);
  EXPECT_EQ_INT(T0 + 2 * G, range.end_ms);
  gen_mos_acc_t *a = gen_mos_acc_new(&c, queues, 2, &range, G);
  CHECK_NOT_NULL(a);
  char c1[512], c2[512], c3[512], c4[512], c5[512], c6[512], c7[512], c8[512],
      c9[512], page[6000];
  conv(c1, sizeof(c1), "c1", 10, "4.1", VOICE_Q1);
  /* transferred: counts for both queues */
  conv(c2, sizeof(c2), "c2", 400, "3.2", VOICE_Q1 "," VOICE_Q2);
  conv(c3, sizeof(c3), "c3", 20, NULL, VOICE_Q1);     /* no MOS: passed */
  conv(c4, sizeof(c4), "c4", 30, "7.5", VOICE_Q1);    /* out of 1..5 */
  conv(c5, sizeof(c5), "c5", 40, "\"4\"", VOICE_Q1);  /* not a number */
  conv(c6, sizeof(c6), "", 50, "4.0", VOICE_Q1);      /* no id */
  conv(c7, sizeof(c7), "c7", 700, "4.4", VOICE_Q1);   /* after the range */
  conv(c8, sizeof(c8), "c8", 60, "4.4", VOICE_OTHER); /* no queue of ours */
  conv(c9, sizeof(c9), "c9", 299, "4.2", VOICE_Q1);   /* ≤ threshold */
  snprintf(page, sizeof(page),
           "{\"totalHits\":11,\"conversations\":[%s,%s,%s,%s,%s,%s,%s,%s,"
           "%s,{\"conversationId\":\"c10\",\"conversationStart\":\"x\"}]}",
           c1, c2, c3, c4, c5, c6, c7, c8, c9);
  int64_t hits = 0;
  size_t n = 0, skipped = 0;
  EXPECT_EQ_INT(0, read_page(a, page, &hits, &n, &skipped));
  EXPECT_EQ_INT(11, hits);
  EXPECT_EQ_INT(10, n);
  EXPECT_EQ_INT(4, skipped); /* c4, c5, the id-less one, c8 */
  /* page 2 repeats c1 (the paging shifted): counted once */
  snprintf(page, sizeof(page), "{\"totalHits\":11,\"conversations\":[%s]}", c1);
  EXPECT_EQ_INT(0, read_page(a, page, &hits, &n, &skipped));
  EXPECT_EQ_INT(4, skipped);
  /* an empty page may leave conversations out */
  EXPECT_EQ_INT(0, read_page(a, "{\"totalHits\":0}", &hits, &n, &skipped));
  EXPECT_EQ_INT(0, n);
  EXPECT_EQ_INT(0, put_and_commit(&c, a, gi, &range));
  /* q-one, bucket 1 (ends T0+2G, the last dispatched): c2 only */
  EXPECT_EQ_DOUBLE(1, got("q-one", "mos_conversations", "voice"));
  EXPECT_EQ_DOUBLE(3.2, got("q-one", "mos_min", "voice"));
  EXPECT_EQ_DOUBLE(3.2, got("q-one", "mos_avg", "voice"));
  EXPECT_EQ_DOUBLE(1, got("q-one", "mos_bucket", "voice-le3.5"));
  EXPECT_EQ_DOUBLE(0, got("q-one", "mos_bucket", "voice-le3"));
  EXPECT_EQ_DOUBLE(1, got("q-one", "mos_bucket", "voice-le_inf"));
  EXPECT_EQ_DOUBLE(1, got("q-one", "mos_at_or_below", "voice"));
  EXPECT_EQ_DOUBLE(1, got("q-two", "mos_conversations", "voice"));
  /* totals over both buckets: c1 4.1, c9 4.2, c2 3.2 */
  EXPECT_EQ_DOUBLE(3, got("q-one", "total_mos_conversations", "voice"));
  EXPECT_EQ_DOUBLE(1150, got("q-one", "total_mos_sum_hundredths", "voice"));
  EXPECT_EQ_DOUBLE(3, got("q-one", "total_mos_at_or_below", "voice"));
  EXPECT_EQ_DOUBLE(1, got("q-one", "total_mos_bucket", "voice-le4"));
  EXPECT_EQ_DOUBLE(3, got("q-one", "total_mos_bucket", "voice-le4.2"));
  EXPECT_EQ_DOUBLE(3, got("q-one", "total_mos_bucket", "voice-le_inf"));
  EXPECT_EQ_DOUBLE(1, got("q-two", "total_mos_conversations", "voice"));
  /* bucket 0 of q-one: c1 and c9, dispatched at its end */
  int found = 0;
  for (size_t i = 0; i < mock_values_num; i++) {
    mock_value_t *v = &mock_values[i];
    if (strcmp(v->plugin_instance, "q-one") == 0 &&
        strcmp(v->type, "mos_avg") == 0 &&
        v->sent_time == gen_ms_to_cdtime(T0 + G)) {
      EXPECT_EQ_DOUBLE(4.15, v->value.gauge);
      found++;
    }
  }
  EXPECT_EQ_INT(1, found);
  OK(mock_find(NULL, "mos_conversations", "message") == NULL);
  gen_interval_free(gi);
  return 0;
}

#define RF(mos, rf) mos ",\"mediaStatsMinConversationRFactor\":" rf

DEF_TEST(sessions_and_rfactor) {
  gen_mos_config_t c;
  gen_mos_config_init(&c);
  gen_interval_range_t range;
  gen_interval_t *gi = engine(&range);
  CHECK_NOT_NULL(gi);
  gen_mos_acc_t *a = gen_mos_acc_new(&c, queues, 2, &range, G);
  CHECK_NOT_NULL(a);
  char c1[1024], c2[512], c3[512], c4[512], page[4000];
  /* a call that also has an internalmessage session (staff chat) and a
   * session of a media type unknown here: the call still counts, under
   * voice only, for q-one; the unknown session is passed over, counted */
  conv(c1, sizeof(c1), "c1", 10, RF("4.1", "85.5"),
       VOICE_Q1 ",{\"purpose\":\"agent\",\"sessions\":[{\"mediaType\":"
                "\"internalmessage\",\"segments\":[{\"queueId\":\"q-one\"}]},"
                "{\"mediaType\":\"hologram\",\"segments\":[{\"queueId\":"
                "\"q-two\"}]}]}");
  conv(c2, sizeof(c2), "c2", 20, RF("3.0", "60"), VOICE_Q1);
  conv(c3, sizeof(c3), "c3", 30, RF("4.4", "150"), VOICE_Q1); /* bad R */
  conv(c4, sizeof(c4), "c4", 40, "4.3", VOICE_Q1);            /* no R */
  snprintf(page, sizeof(page),
           "{\"totalHits\":4,\"conversations\":[%s,%s,%s,%s]}", c1, c2, c3, c4);
  int64_t hits = 0;
  size_t n = 0, skipped = 0;
  EXPECT_EQ_INT(0, read_page(a, page, &hits, &n, &skipped));
  EXPECT_EQ_INT(1, skipped); /* c3 */
  EXPECT_EQ_INT(1, gen_mos_acc_unknown_sessions(a));
  EXPECT_EQ_INT(0, put_and_commit(&c, a, gi, &range));
  OK(mock_find(NULL, "mos_conversations", "internalmessage") == NULL);
  OK(mock_find("q-two", "mos_conversations", NULL) == NULL);
  EXPECT_EQ_DOUBLE(3, got("q-one", "total_mos_conversations", "voice"));
  /* c1 and c2 carry an R-factor, c4 none */
  EXPECT_EQ_DOUBLE(2, got("q-one", "total_rfactor_bucket", "voice-le_inf"));
  EXPECT_EQ_DOUBLE(1, got("q-one", "total_rfactor_bucket", "voice-le60"));
  EXPECT_EQ_DOUBLE(1, got("q-one", "total_rfactor_bucket", "voice-le80"));
  EXPECT_EQ_DOUBLE(2, got("q-one", "total_rfactor_bucket", "voice-le90"));
  EXPECT_EQ_DOUBLE(14550,
                   got("q-one", "total_rfactor_sum_hundredths", "voice"));
  int found = 0;
  for (size_t i = 0; i < mock_values_num; i++) {
    mock_value_t *v = &mock_values[i];
    if (strcmp(v->plugin_instance, "q-one") != 0 ||
        v->sent_time != gen_ms_to_cdtime(T0 + G))
      continue;
    /* the bucket's length as the value's interval (collectd's Timeout) */
    EXPECT_EQ_UINT64(MS_TO_CDTIME_T(G), v->sent_interval);
    if (strcmp(v->type, "rfactor_min") == 0) {
      EXPECT_EQ_DOUBLE(60, v->value.gauge);
      found++;
    }
    if (strcmp(v->type, "rfactor_avg") == 0) {
      EXPECT_EQ_DOUBLE(72.75, v->value.gauge);
      found++;
    }
  }
  EXPECT_EQ_INT(2, found);
  gen_interval_free(gi);
  return 0;
}

DEF_TEST(untrusted_pages_fail_the_range) {
  gen_mos_config_t c;
  gen_mos_config_init(&c);
  gen_interval_range_t range = {T0, T0 + G, 0};
  gen_mos_acc_t *a = gen_mos_acc_new(&c, queues, 2, &range, G);
  CHECK_NOT_NULL(a);
  int64_t hits;
  size_t n, skipped = 0;
  EXPECT_EQ_INT(-EINVAL, read_page(a, "[]", &hits, &n, &skipped));
  EXPECT_EQ_INT(-EINVAL,
                read_page(a, "{\"conversations\":[]}", &hits, &n, &skipped));
  EXPECT_EQ_INT(-EINVAL, read_page(a, "{\"totalHits\":1,\"conversations\":{}}",
                                   &hits, &n, &skipped));
  EXPECT_EQ_INT(-EINVAL,
                read_page(a, "{\"totalHits\":-1}", &hits, &n, &skipped));
  /* entries that are not objects are skipped, not trusted */
  EXPECT_EQ_INT(0, read_page(a, "{\"totalHits\":2,\"conversations\":[1,null]}",
                             &hits, &n, &skipped));
  EXPECT_EQ_INT(2, skipped);
  gen_mos_acc_free(a);
  return 0;
}

DEF_TEST(query_body) {
  gen_interval_range_t range = {T0, T0 + G, 0};
  json_object *b = gen_mos_query_body(queues, 2, &range, 3, false);
  EXPECT_EQ_STR("2026-11-23T10:00:00.000Z/2026-11-23T10:05:00.000Z",
                gen_json_get_string(b, "interval"));
  json_object *paging = gen_json_get_object(b, "paging");
  int64_t v;
  OK(gen_json_get_int64(paging, "pageSize", &v) && v == 100);
  OK(gen_json_get_int64(paging, "pageNumber", &v) && v == 3);
  json_object *sf = gen_json_get_array(b, "segmentFilters");
  CHECK_NOT_NULL(sf);
  json_object *preds =
      gen_json_get_array(json_object_array_get_idx(sf, 0), "predicates");
  EXPECT_EQ_INT(2, json_object_array_length(preds));
  EXPECT_EQ_STR("q-two", gen_json_get_string(
                             json_object_array_get_idx(preds, 1), "value"));
  EXPECT_EQ_STR("conversationStart", gen_json_get_string(b, "orderBy"));
  json_object_put(b);
  b = gen_mos_query_body(queues, 2, &range, 3, true);
  EXPECT_EQ_STR("conversationEnd", gen_json_get_string(b, "orderBy"));
  EXPECT_EQ_STR("asc", gen_json_get_string(b, "order"));
  json_object_put(b);
  /* 01:00 UTC: the range's own interval, not widened back a day */
  range = (gen_interval_range_t){T0 - 9 * 3600000LL, T0 - 9 * 3600000LL + G, 0};
  b = gen_mos_query_body(queues, 1, &range, 1, true);
  EXPECT_EQ_STR("2026-11-23T01:00:00.000Z/2026-11-23T01:05:00.000Z",
                gen_json_get_string(b, "interval"));
  json_object_put(b);
  return 0;
}

DEF_TEST(day_before) {
  gen_mos_config_t c;
  gen_mos_config_init(&c); /* CallQualityMaxLength 4 h */
  gen_interval_range_t sliver = {0, 0, 0};
  char text[GEN_INTERVAL_STRLEN];
  /* 01:00 UTC: a 4 h conversation may have begun the day before; those
   * that did were active at midnight */
  gen_interval_range_t range = {T0 - 9 * 3600000LL, T0 - 9 * 3600000LL + G, 2};
  OK(gen_mos_day_before(&c, &range, &sliver));
  gen_interval_format(sliver.start_ms, sliver.end_ms, text, sizeof(text));
  EXPECT_EQ_STR("2026-11-22T23:59:59.999Z/2026-11-23T00:00:00.001Z", text);
  EXPECT_EQ_INT(2, sliver.revisit);
  /* at midnight itself too; at 04:00 and 10:00 (T0) not */
  range.start_ms = T0 - 10 * 3600000LL;
  OK(gen_mos_day_before(&c, &range, &sliver));
  range.start_ms = T0 - 6 * 3600000LL;
  OK(!gen_mos_day_before(&c, &range, &sliver));
  range.start_ms = T0;
  OK(!gen_mos_day_before(&c, &range, &sliver));
  /* a shorter CallQualityMaxLength: 00:20 needs it at 30 min, not 00:35 */
  c.max_length_ms = 1800000;
  range.start_ms = T0 - 10 * 3600000LL + 20 * 60000;
  OK(gen_mos_day_before(&c, &range, &sliver));
  range.start_ms = T0 - 10 * 3600000LL + 35 * 60000;
  OK(!gen_mos_day_before(&c, &range, &sliver));
  return 0;
}

DEF_TEST(configuration_keys) {
  gen_org_t *org = mock_org("genesys_test");
  gen_mos_config_t c;
  gen_mos_config_init(&c);
  EXPECT_EQ_INT(5, c.bounds.n);
  EXPECT_EQ_DOUBLE(4.2, c.threshold);
  oconfig_item_t *ci = mock_ci_nums("MosBounds", 2, (double[]){3.1, 4.4});
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_mos_keys, &c));
  EXPECT_EQ_INT(2, c.bounds.n);
  mock_ci_free(ci);
  ci = mock_ci_nums("MosBounds", 2, (double[]){4.0, 5.5});
  EXPECT_EQ_INT(-EINVAL,
                mock_logged(gen_config_table_key(org, ci, &gen_mos_keys, &c),
                            "MosBounds 4: bounds must be positive "
                            "numbers (MOS) up to 5"));
  mock_ci_free(ci);
  ci = mock_ci_nums("MosBounds", 2, (double[]){4.0, 3.0});
  EXPECT_EQ_INT(-EINVAL, gen_config_table_key(org, ci, &gen_mos_keys, &c));
  EXPECT_EQ_INT(2, c.bounds.n); /* unchanged */
  mock_ci_free(ci);
  ci = mock_ci_num("MosThreshold", 5.1);
  EXPECT_EQ_INT(-EINVAL,
                mock_logged(gen_config_table_key(org, ci, &gen_mos_keys, &c),
                            "MosThreshold 5.1: takes one number on "
                            "the MOS scale, 1 to 5"));
  mock_ci_free(ci);
  ci = mock_ci_num("MosThreshold", 3.6);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_mos_keys, &c));
  EXPECT_EQ_DOUBLE(3.6, c.threshold);
  mock_ci_free(ci);
  ci = mock_ci_num("CallQualityMaxLength", 30); /* under a minute */
  EXPECT_EQ_INT(-ERANGE, gen_config_table_key(org, ci, &gen_mos_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_num("CallQualityMaxLength", 1800);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_mos_keys, &c));
  EXPECT_EQ_INT(1800000, c.max_length_ms);
  mock_ci_free(ci);
  ci = mock_ci_str("Granularity", "PT5M");
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE,
                gen_config_table_key(org, ci, &gen_mos_keys, &c));
  mock_ci_free(ci);
  EXPECT_EQ_INT(5, c.rf_bounds.n);
  ci = mock_ci_nums("RFactorBounds", 2, (double[]){70, 101});
  EXPECT_EQ_INT(-EINVAL, gen_config_table_key(org, ci, &gen_mos_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_nums("RFactorBounds", 2, (double[]){70, 93.2});
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_mos_keys, &c));
  EXPECT_EQ_INT(2, c.rf_bounds.n);
  mock_ci_free(ci);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(600), c.revisit);
  ci = mock_ci_num("CallQualityRevisitWindow", 300);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_mos_keys, &c));
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(300), c.revisit);
  mock_ci_free(ci);
  /* one bucket of 30 days plus a 2-day call: past the query's 31 days */
  gen_interval_config_t ic;
  gen_interval_config_init(&ic);
  ic.granularity_ms = 30 * 86400000LL;
  c.max_length_ms = 2 * 86400000LL;
  OK(gen_mos_engine(org, &c, &ic, "test", &test_who) == NULL);
  OK(mock_log_contains("CallQualityMaxLength 172800: one bucket of 2592000 s "
                       "plus this passes the 31 days"));
  gen_interval_config_release(&ic);
  /* the start-up line: a request per batch of queues at least */
  char line[256];
  gen_mos_describe(&c, 250, 100, line, sizeof(line));
  EXPECT_EQ_STR("on (requests a range: 3, one a batch of up to 100 queues, and "
                "one more per 100 conversations, split past 100000; revisits "
                "over 300 s)",
                line);
  gen_mos_describe(&c, 250, 50, line, sizeof(line));
  OK(strncmp(line, "on (requests a range: 5, one a batch of up to 50 ", 49) ==
     0);
  gen_org_free(org);
  return 0;
}

/* ---- the collection against a fake API ---------------------------------- */

#define N_CONV 250
#define MAX_CALLS 64

/* The fake details API: N_CONV voice conversations over B0 and B1 (T0 to
 * T0 + 2G), c-000 to c-249, conversation i in q-one (i even) or q-two,
 * ending at T0 + 1 s + i x 2.4 s (125 in each bucket), MOS 4.00. It answers
 * those of the queues asked whose end is in the interval asked, 100 a
 * page; answers[i] is the status of the i-th request (0: 200). Past
 * `limit` results a first page announces 100001 (past what the query pages
 * through); a piece of several buckets announces `bonus` more than it
 * holds. With `later`, as the real query: also those active in the
 * interval that end after it (each began 600 to 660 s before its end).
 * Sorted by conversationEnd when asked for it, else by conversationStart;
 * order_form 1 refuses conversationEnd (a 400), 2 sorts by
 * conversationStart whatever is asked. With day_rule, as the real query
 * too: only those that began on a day the interval touches (UTC); longer
 * makes every conversation begin that much earlier. */
static long answers[MAX_CALLS];
typedef struct {
  int64_t from, to;
  long page;
  int queues;
} asked_t;
static asked_t asked[MAX_CALLS];
static int n_asked, limit, bonus, later, order_form, day_rule;
static int64_t longer;
static int64_t refuse_past_ms; /* 0: any interval; else longer ones: 400 */

static int64_t conv_end(int i) { return t0 + 1000 + i * 2400LL; }
static int64_t conv_start(int i) {
  return conv_end(i) - 600000 - (i % 7) * 10000LL - longer;
}
static bool began_on_a_day_touched(int i, int64_t from, int64_t to) {
  int64_t day = gen_bucket_floor(conv_start(i), 86400000LL);
  return day >= gen_bucket_floor(from, 86400000LL) &&
         day <= gen_bucket_floor(to - 1, 86400000LL);
}
static int by_start(const void *x, const void *y) {
  int64_t a = conv_start(*(const int *)x), b = conv_start(*(const int *)y);
  return (a > b) - (a < b);
}

static int fake_details(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  (void)http, (void)headers;
  OK(strcmp(method, "POST") == 0 && strstr(url, GEN_MOS_PATH) != NULL);
  json_object *doc = json_tokener_parse(body);
  const char *iv = gen_json_get_string(doc, "interval");
  char from_text[GEN_TIME_STRLEN] = "";
  const char *slash = iv ? strchr(iv, '/') : NULL;
  if (slash != NULL && (size_t)(slash - iv) < sizeof(from_text))
    memcpy(from_text, iv, (size_t)(slash - iv));
  int64_t from = 0, to = 0, page = 0;
  OK(slash != NULL && gen_time_parse(from_text, &from) == 0 &&
     gen_time_parse(slash + 1, &to) == 0);
  json_object *paging = NULL;
  OK(json_object_object_get_ex(doc, "paging", &paging) &&
     gen_json_get_int64(paging, "pageNumber", &page));
  bool q1 = strstr(body, "\"q-one\"") != NULL,
       q2 = strstr(body, "\"q-two\"") != NULL;
  const char *order_by = gen_json_get_string(doc, "orderBy");
  bool by_end = order_by != NULL && strcmp(order_by, "conversationEnd") == 0;
  json_object_put(doc);
  long status = n_asked < MAX_CALLS ? answers[n_asked] : 0;
  if (n_asked < MAX_CALLS)
    asked[n_asked] = (asked_t){from, to, (long)page, (int)q1 + (int)q2};
  n_asked++;
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->status = status ? status : 200;
  gen_buf_t text = GEN_BUF_INIT(1 << 20);
  if (status == 0 && order_form == 1 && by_end) {
    resp->status = 400;
    gen_buf_printf(&text, "{\"message\":\"orderBy must be one of "
                          "conversationStart, segmentStart, segmentEnd\","
                          "\"code\":\"bad.request\",\"status\":400}");
  } else if (status == 0 && refuse_past_ms > 0 && to - from > refuse_past_ms) {
    resp->status = 400;
    gen_buf_printf(&text, "{\"message\":\"You must specify a search interval "
                          "that does not exceed 31 days.\",\"code\":\"bad."
                          "request\",\"status\":400}");
  } else if (status != 0) {
    resp->retry_after = 1;
    gen_buf_printf(&text,
                   "{\"message\":\"refused\",\"code\":\"refused\","
                   "\"status\":%ld}",
                   status);
  } else {
    int match[N_CONV], n = 0;
    for (int i = 0; i < N_CONV; i++)
      if ((i % 2 == 0 ? q1 : q2) && conv_end(i) >= from &&
          (later ? conv_start(i) < to : conv_end(i) < to) &&
          (!day_rule || began_on_a_day_touched(i, from, to)))
        match[n++] = i;
    if (!by_end || order_form == 2)
      qsort(match, (size_t)n, sizeof(match[0]), by_start);
    int hits = n + (to - from > G ? bonus : 0);
    if (limit > 0 && n > limit && page == 1)
      hits = GEN_MOS_RESULTS_MAX + 1;
    gen_buf_printf(&text, "{\"totalHits\":%d,\"conversations\":[", hits);
    for (int k = ((int)page - 1) * 100; k >= 0 && k < n && k < page * 100;
         k++) {
      char id[16], c[600];
      snprintf(id, sizeof(id), "c-%03d", match[k]);
      conv(c, sizeof(c), id, (int)((conv_end(match[k]) - t0) / 1000), "4.00",
           match[k] % 2 == 0 ? VOICE_Q1 : VOICE_Q2);
      gen_buf_printf(&text, "%s%s", k % 100 ? "," : "", c);
    }
    gen_buf_printf(&text, "]}");
  }
  resp->body = gen_buf_steal(&text);
  resp->body_len = strlen(resp->body);
  return 0;
}

typedef struct {
  gen_client_t client;
  gen_interval_t *engine;
  gen_entity_set_t queues;
  gen_agg_counts_t counts;
  gen_mos_config_t config;
  gen_mos_output_t out;
  gen_interval_sink_t sink;
  gen_mos_reading_t reading;
  gen_family_run_t run;
  uint64_t queues_generation;
} rig_t;

/* q-one and q-two, an engine whose first range is B0 and B1, the fake API
 * answering through a handle that rests on a 429 or a 5xx, as a read
 * callback's does; the clock where that range is due. */
static int rig_init(rig_t *r, size_t budget) {
  memset(r, 0, sizeof(*r));
  memset(answers, 0, sizeof(answers));
  n_asked = limit = bonus = later = order_form = day_rule = 0;
  refuse_past_ms = longer = 0;
  fake_client_init(&r->client, "genesys_analytics", 1);
  gen_http_defer_retries(r->client.http, true);
  gen_interval_options_t o = {.granularity_ms = G,
                              .settle_ms = 30000,
                              .revisit_ms = 0,
                              .horizon_ms = 8 * G,
                              .initial_ms = 2 * G,
                              .max_buckets = 4,
                              .who = &test_who};
  r->engine = gen_interval_create(&o);
  CHECK_NOT_NULL(r->engine);
  for (size_t i = 0; i < 2; i++)
    gen_entity_add(&r->queues, queues[i], NULL, NULL);
  gen_mos_config_init(&r->config);
  r->counts =
      (gen_agg_counts_t){.complain = GEN_RATELIMIT_INIT(60), .who = &test_who};
  r->out = (gen_mos_output_t){&r->config, "h",       "genesys_analytics",
                              G,          &no_names, &r->queues};
  r->sink = gen_mos_sink(&r->out);
  r->reading = (gen_mos_reading_t){.config = &r->config, .granularity_ms = G};
  r->run = (gen_family_run_t){.engine = r->engine,
                              .client = &r->client,
                              .counts = &r->counts,
                              .max_ranges = 8,
                              .budget = budget};
  http_perform = fake_details;
  mock_time = MS_TO_CDTIME_T(t0 + 2 * G + 30000);
  mock_values_reset();
  mock_log_reset();
  return 0;
}

static void rig_free(rig_t *r) {
  gen_mos_progress_reset(&r->reading.progress);
  http_perform = http_perform_curl;
  mock_time = 0;
  t0 = T0;
  gen_entity_set_free(&r->queues);
  gen_interval_free(r->engine);
  fake_client_free(&r->client);
}

/* A read's collection, per queues a batch. */
static int collect(rig_t *r, size_t per) {
  return gen_mos_collect(&r->reading, &r->run, &r->sink, &r->queues, per,
                         r->queues_generation);
}

/* Conversations dispatched in the bucket ending at end_ms, both queues. */
static double in_bucket(int64_t end_ms) {
  double n = 0;
  for (size_t i = 0; i < mock_values_num; i++) {
    mock_value_t *v = &mock_values[i];
    if (strcmp(v->type, "mos_conversations") == 0 &&
        v->sent_time == gen_ms_to_cdtime(end_ms))
      n += v->value.gauge;
  }
  return n;
}

/* Every conversation counted once: the totals of both queues. */
static int counted_once(void) {
  EXPECT_EQ_DOUBLE(N_CONV / 2,
                   got("q-one", "total_mos_conversations", "voice"));
  EXPECT_EQ_DOUBLE(N_CONV / 2,
                   got("q-two", "total_mos_conversations", "voice"));
  EXPECT_EQ_DOUBLE(125, in_bucket(t0 + G));
  EXPECT_EQ_DOUBLE(125, in_bucket(t0 + 2 * G));
  return 0;
}

/* One request a read: the range's 3 pages are 3 reads, nothing dispatched
 * before the third, each page asked once. */
DEF_TEST(a_range_over_several_reads) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 1));
  for (int read = 1; read <= 3; read++) {
    EXPECT_EQ_INT(0, mock_values_num);
    CHECK_ZERO(collect(&r, 100));
    EXPECT_EQ_INT(read, n_asked);
    EXPECT_EQ_INT(read, asked[read - 1].page);
  }
  OK(!r.reading.progress.started);
  CHECK_ZERO(counted_once());
  /* Up to date: no request. */
  CHECK_ZERO(collect(&r, 100));
  EXPECT_EQ_INT(3, n_asked);
  EXPECT_EQ_INT(3, (int)r.counts.queries);
  EXPECT_EQ_INT(0, (int)r.counts.failures);
  rig_free(&r);
  return 0;
}

/* A 429 on the second page: the next read (once the handle no longer
 * rests) asks for the second page, not the range from its start. */
DEF_TEST(a_429_mid_range_resumes_at_its_page) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 0));
  answers[1] = 429;
  OK(collect(&r, 100) < 0);
  EXPECT_EQ_INT(2, n_asked);
  OK(r.reading.progress.started);
  EXPECT_EQ_INT(1, (int)r.counts.failures);
  OK(mock_log_contains("resumed where it stopped next cycle"));
  OK(mock_log_contains("HTTP 429"));
  EXPECT_EQ_INT(0, mock_values_num);
  /* Resting: nothing is sent, the range stays. */
  OK(gen_http_resting(r.client.http, NULL));
  OK(collect(&r, 100) < 0);
  EXPECT_EQ_INT(2, n_asked);
  OK(r.reading.progress.started);
  r.client.http->rest_until = 0; /* the Retry-After is over */
  CHECK_ZERO(collect(&r, 100));
  EXPECT_EQ_INT(4, n_asked);
  EXPECT_EQ_INT(2, asked[2].page);
  EXPECT_EQ_INT(3, asked[3].page);
  CHECK_ZERO(counted_once());
  OK(!r.reading.progress.started);
  rig_free(&r);
  return 0;
}

/* A range whose first page announces more than GEN_MOS_PIECE_PAGES pages is
 * halved by buckets: B0 is read whole and dispatched within the first read
 * (3 requests: the range's first page, B0's two), before B1 is asked. */
DEF_TEST(a_bucket_leaves_once_read_whole) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 3));
  bonus = GEN_MOS_PIECE_PAGES * GEN_MOS_PAGE_SIZE;
  CHECK_ZERO(collect(&r, 100));
  EXPECT_EQ_INT(3, n_asked);
  EXPECT_EQ_INT(T0 + 2 * G, asked[0].to);
  EXPECT_EQ_INT(T0 + G, asked[1].to);
  EXPECT_EQ_INT(2, asked[2].page);
  EXPECT_EQ_DOUBLE(125, in_bucket(T0 + G));
  EXPECT_EQ_DOUBLE(0, in_bucket(T0 + 2 * G));
  OK(r.reading.progress.started);
  EXPECT_EQ_INT(T0 + G, r.reading.progress.done_ms);
  /* The second read: B1's two pages; the first page's conversations of B1
   * were taken then and are not counted again. */
  CHECK_ZERO(collect(&r, 100));
  EXPECT_EQ_INT(5, n_asked);
  EXPECT_EQ_INT(T0 + G, asked[3].from);
  CHECK_ZERO(counted_once());
  OK(!r.reading.progress.started);
  rig_free(&r);
  return 0;
}

/* The query as the API answers it: a bucket's answer also holds every
 * conversation active in it that ended later (here all of B1's in B0's).
 * Asked by conversationEnd, B0 stops at the page that reaches its end:
 * the range's first page (halved, as above), B0's two pages, B1's two: 5.
 * Where the API refuses that order (1) or ignores it (2), the first page
 * says so, the org asks by conversationStart from then on and reads each
 * piece whole: B0's three pages, so 7 in all, the first one asked again
 * by conversationStart. Every form counts each conversation once. */
DEF_TEST(pages_by_end_read_a_conversation_once) {
  for (int form = 0; form <= 2; form++) {
    rig_t r;
    CHECK_ZERO(rig_init(&r, 0));
    later = 1;
    order_form = form;
    bonus = GEN_MOS_PIECE_PAGES * GEN_MOS_PAGE_SIZE;
    CHECK_ZERO(collect(&r, 100));
    EXPECT_EQ_INT(form == 0 ? 5 : 7, n_asked);
    EXPECT_EQ_INT(form != 0, r.reading.by_start);
    OK(form == 0 ||
       mock_log_contains("asked by conversationStart from now on"));
    OK(form != 1 ||
       mock_log_contains("refused conversationEnd as its orderBy"));
    OK(form != 2 || mock_log_contains("out of its order"));
    /* B0: two pages by end, three by start */
    int b0 = 0;
    for (int i = 0; i < n_asked && i < MAX_CALLS; i++)
      b0 += asked[i].to == T0 + G;
    EXPECT_EQ_INT(form == 0 ? 2 : 3, b0);
    EXPECT_EQ_INT(0, (int)r.counts.failures);
    CHECK_ZERO(counted_once());
    rig_free(&r);
  }
  return 0;
}

/* A range 5 minutes past midnight whose conversations all began the day
 * before (20 minutes long): the buckets' own queries find none of them
 * (the start-day rule), the day before's sliver all. The range is halved
 * (B0 keeps the sliver); read by end, the sliver stops only at the range's
 * end, not B0's, since B1 reads no sliver: its three pages (the second
 * already reaches past B0), so 6 requests: the range, B0, the sliver's 3,
 * B1. Refused by end (form 1), the range is asked again by start: 7.
 * Sorted by start whatever is asked (form 2), the sliver's first page is
 * the first out of order (the others hold none): it is asked again by
 * start, 4 sliver requests, 7 in all. Every form counts each conversation
 * once. */
DEF_TEST(the_day_before_sliver_reads_to_the_range_end) {
  for (int form = 0; form <= 2; form++) {
    rig_t r;
    t0 = T0 + 14 * 3600000LL + 300000; /* 2026-11-24T00:05Z */
    CHECK_ZERO(rig_init(&r, 0));
    later = day_rule = 1;
    longer = 600000;
    order_form = form;
    bonus = GEN_MOS_PIECE_PAGES * GEN_MOS_PAGE_SIZE + 1;
    CHECK_ZERO(collect(&r, 100));
    int sliver = 0;
    for (int i = 0; i < n_asked && i < MAX_CALLS; i++)
      sliver += asked[i].to - asked[i].from == 2;
    EXPECT_EQ_INT(form == 2 ? 4 : 3, sliver);
    EXPECT_EQ_INT(form == 0 ? 6 : 7, n_asked);
    EXPECT_EQ_INT(0, (int)r.counts.failures);
    CHECK_ZERO(counted_once());
    rig_free(&r);
    t0 = T0;
  }
  return 0;
}

/* Past the results the query pages through (more than 70 here): the range,
 * then each bucket of both queues, is halved, down to one bucket of one
 * queue; each of those read whole. */
DEF_TEST(past_the_limit_halved_by_buckets_then_queues) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 0));
  limit = 70;
  CHECK_ZERO(collect(&r, 100));
  /* the range, B0 (both), B0 q-one, B0 q-two, B1 (both), its two halves */
  EXPECT_EQ_INT(7, n_asked);
  EXPECT_EQ_INT(2, asked[1].queues);
  EXPECT_EQ_INT(1, asked[2].queues);
  EXPECT_EQ_INT(T0 + G, asked[3].to);
  EXPECT_EQ_INT(T0 + G, asked[4].from);
  CHECK_ZERO(counted_once());
  rig_free(&r);
  return 0;
}

/* An interval refused as too long (a 400 "... does not exceed 31 days",
 * whatever it is): halved by buckets, as past the results. */
DEF_TEST(an_interval_refused_as_too_long_is_halved) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 0));
  refuse_past_ms = G;
  CHECK_ZERO(collect(&r, 100));
  /* the range (refused), B0's two pages, B1's two */
  EXPECT_EQ_INT(5, n_asked);
  EXPECT_EQ_INT(T0 + G, asked[1].to);
  EXPECT_EQ_INT(0, (int)r.counts.failures);
  CHECK_ZERO(counted_once());
  rig_free(&r);
  return 0;
}

/* A batch of one queue per request whose request is refused for good (a
 * 403: no rest): its range is dropped and the next call begins with the
 * next batch, so that it never holds back the others. */
DEF_TEST(a_batch_failing_for_good_holds_back_no_other) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 0));
  answers[0] = 403;
  OK(collect(&r, 1) < 0);
  EXPECT_EQ_INT(1, n_asked);
  OK(!r.reading.progress.started);
  EXPECT_EQ_INT(1, r.reading.cursor.batch);
  OK(!gen_http_resting(r.client.http, NULL));
  /* q-two first (2 pages), then q-one again (2 pages) */
  CHECK_ZERO(collect(&r, 1));
  EXPECT_EQ_INT(5, n_asked);
  OK(mock_log_contains("asked for again next cycle"));
  EXPECT_EQ_DOUBLE(N_CONV / 2,
                   got("q-two", "total_mos_conversations", "voice"));
  EXPECT_EQ_DOUBLE(N_CONV / 2,
                   got("q-one", "total_mos_conversations", "voice"));
  EXPECT_EQ_INT(0, r.reading.cursor.batch);
  rig_free(&r);
  return 0;
}

/* The queue set changed (a new generation) while a range was being read:
 * it starts over at its first page. */
DEF_TEST(a_queue_change_starts_the_range_over) {
  rig_t r;
  CHECK_ZERO(rig_init(&r, 1));
  CHECK_ZERO(collect(&r, 100));
  CHECK_ZERO(collect(&r, 100));
  EXPECT_EQ_INT(2, asked[1].page);
  r.queues_generation++;
  CHECK_ZERO(collect(&r, 100));
  EXPECT_EQ_INT(1, asked[2].page);
  r.run.budget = 0;
  CHECK_ZERO(collect(&r, 100));
  EXPECT_EQ_INT(5, n_asked);
  CHECK_ZERO(counted_once());
  rig_free(&r);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(pages_into_buckets_then_dispatched);
  RUN_TEST(sessions_and_rfactor);
  RUN_TEST(untrusted_pages_fail_the_range);
  RUN_TEST(query_body);
  RUN_TEST(day_before);
  RUN_TEST(configuration_keys);
  RUN_TEST(a_range_over_several_reads);
  RUN_TEST(a_429_mid_range_resumes_at_its_page);
  RUN_TEST(a_bucket_leaves_once_read_whole);
  RUN_TEST(pages_by_end_read_a_conversation_once);
  RUN_TEST(the_day_before_sliver_reads_to_the_range_end);
  RUN_TEST(past_the_limit_halved_by_buckets_then_queues);
  RUN_TEST(an_interval_refused_as_too_long_is_halved);
  RUN_TEST(a_batch_failing_for_good_holds_back_no_other);
  RUN_TEST(a_queue_change_starts_the_range_over);
  END_TEST;
}
