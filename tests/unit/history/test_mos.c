/* SPDX-License-Identifier: MIT */
/* Unit tests: call quality (gen_mos): the details query body, answer pages
 * read into per queue, media and bucket MOS stats (missing, out of range
 * and malformed MOS, duplicates across pages, transfers), sessions of an
 * unknown or internal media type, the R-factor, what the sink dispatches,
 * the configuration keys and the 31-day limit. */
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

/* A conversation ending at T0 + end_s seconds. */
static void conv(char *buf, size_t size, const char *id, int end_s,
                 const char *mos, const char *segments) {
  char end[GEN_TIME_STRLEN];
  gen_time_format(T0 + end_s * 1000LL, end, sizeof(end));
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

static const char *instance(void *ud, const char *queue_id, char *buf,
                            size_t size) {
  (void)ud;
  snprintf(buf, size, "%s", queue_id);
  return buf;
}

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
  int status = gen_mos_acc_put(a, gi);
  gen_mos_acc_free(a);
  if (status != 0)
    return status;
  mock_values_reset();
  gen_mos_output_t out = {c, "h", "genesys_analytics", G, instance, NULL};
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
  gen_mos_config_t c;
  gen_mos_config_init(&c);
  gen_interval_range_t range = {T0, T0 + G, 0};
  json_object *b = gen_mos_query_body(&c, queues, 2, &range, 3);
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
  /* 01:00 UTC: the range's own interval, not widened back a day */
  range = (gen_interval_range_t){T0 - 9 * 3600000LL, T0 - 9 * 3600000LL + G, 0};
  b = gen_mos_query_body(&c, queues, 1, &range, 1);
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
  EXPECT_EQ_INT(0, gen_mos_config_key(org, ci, &c));
  EXPECT_EQ_INT(2, c.bounds.n);
  mock_ci_free(ci);
  ci = mock_ci_nums("MosBounds", 2, (double[]){4.0, 5.5});
  EXPECT_EQ_INT(-EINVAL, mock_logged(gen_mos_config_key(org, ci, &c),
                                     "MosBounds 4: bounds must be positive "
                                     "numbers (MOS) up to 5"));
  mock_ci_free(ci);
  ci = mock_ci_nums("MosBounds", 2, (double[]){4.0, 3.0});
  EXPECT_EQ_INT(-EINVAL, gen_mos_config_key(org, ci, &c));
  EXPECT_EQ_INT(2, c.bounds.n); /* unchanged */
  mock_ci_free(ci);
  ci = mock_ci_num("MosThreshold", 5.1);
  EXPECT_EQ_INT(-EINVAL, mock_logged(gen_mos_config_key(org, ci, &c),
                                     "MosThreshold 5.1: takes one number on "
                                     "the MOS scale, 1 to 5"));
  mock_ci_free(ci);
  ci = mock_ci_num("MosThreshold", 3.6);
  EXPECT_EQ_INT(0, gen_mos_config_key(org, ci, &c));
  EXPECT_EQ_DOUBLE(3.6, c.threshold);
  mock_ci_free(ci);
  ci = mock_ci_num("CallQualityMaxLength", 30); /* under a minute */
  EXPECT_EQ_INT(-ERANGE, gen_mos_config_key(org, ci, &c));
  mock_ci_free(ci);
  ci = mock_ci_num("CallQualityMaxLength", 1800);
  EXPECT_EQ_INT(0, gen_mos_config_key(org, ci, &c));
  EXPECT_EQ_INT(1800000, c.max_length_ms);
  mock_ci_free(ci);
  ci = mock_ci_str("Granularity", "PT5M");
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE, gen_mos_config_key(org, ci, &c));
  mock_ci_free(ci);
  EXPECT_EQ_INT(5, c.rf_bounds.n);
  ci = mock_ci_nums("RFactorBounds", 2, (double[]){70, 101});
  EXPECT_EQ_INT(-EINVAL, gen_mos_config_key(org, ci, &c));
  mock_ci_free(ci);
  ci = mock_ci_nums("RFactorBounds", 2, (double[]){70, 93.2});
  EXPECT_EQ_INT(0, gen_mos_config_key(org, ci, &c));
  EXPECT_EQ_INT(2, c.rf_bounds.n);
  mock_ci_free(ci);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(600), c.revisit);
  ci = mock_ci_num("CallQualityRevisitWindow", 300);
  EXPECT_EQ_INT(0, gen_mos_config_key(org, ci, &c));
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

int main(void) {
  mock_log_echo = false;
  RUN_TEST(pages_into_buckets_then_dispatched);
  RUN_TEST(sessions_and_rfactor);
  RUN_TEST(untrusted_pages_fail_the_range);
  RUN_TEST(query_body);
  RUN_TEST(day_before);
  RUN_TEST(configuration_keys);
  END_TEST;
}
