/* SPDX-License-Identifier: MIT */
/* Unit tests: campaign aggregates (gen_campaign_agg): the request grouped
 * and filtered by outboundCampaignId, an answer's groups of one campaign
 * split by media type folded into one, a campaign not asked for skipped,
 * the counts read (absent ones 0) and the series named by the campaign. */
#include "gen_campaign_agg.h"
#include "gen_json.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <string.h>

#define G 300000LL
#define T0 1795428000000LL
#define B0 "2026-11-23T10:00:00.000Z/2026-11-23T10:05:00.000Z"
#define C1 "0b7e0c52-6a35-4d1f-9d1e-1f0a2d5e8c11"
#define C2 "1c8f1d63-7b46-4e2a-8e2f-2a1b3e6f9d22"

static const gen_interval_range_t range = {T0, T0 + 2 * G, 0};
static gen_org_t org = {.plugin = "genesys_analytics"};

static gen_entity_set_t campaigns(void) {
  gen_entity_set_t set = {0};
  gen_entity_add(&set, C1, "Spring Sale", NULL);
  gen_entity_add(&set, C2, "Renewals", NULL);
  return set;
}

DEF_TEST(request_grouped_and_filtered_by_campaign) {
  gen_entity_set_t set = campaigns();
  gen_campaign_agg_t ca = {
      .granularity_ms = G, .campaigns = &set, .plugin = "genesys_analytics"};
  gen_agg_query_t q = gen_campaign_agg_query(&ca);
  EXPECT_EQ_STR(GEN_CAMPAIGN_AGG_PATH, q.path);
  const char *ids[] = {C1, C2};
  json_object *body = q.body(q.ud, ids, 2, &range);
  const char *text =
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  OK(strstr(text, "\"groupBy\":[\"outboundCampaignId\"]") != NULL);
  OK(strstr(text, "\"granularity\":\"PT5M\"") != NULL);
  OK(strstr(text, "nOutboundAttempted") != NULL);
  OK(strstr(text, "nOutboundConnected") != NULL);
  OK(strstr(text, "nOutboundAbandoned") != NULL);
  json_object *filter = NULL;
  OK(json_object_object_get_ex(body, "filter", &filter));
  json_object *preds = NULL;
  OK(json_object_object_get_ex(filter, "predicates", &preds));
  EXPECT_EQ_INT(2, (int)json_object_array_length(preds));
  OK(strstr(json_object_to_json_string_ext(preds, JSON_C_TO_STRING_PLAIN),
            "\"dimension\":\"outboundCampaignId\"") != NULL);
  json_object_put(body);
  gen_entity_set_free(&set);
  return 0;
}

#define METRIC(m, n) "{\"metric\":\"" m "\",\"stats\":{\"count\":" n "}}"
#define RESULT(group, metrics)                                                 \
  "{\"group\":" group ",\"data\":[{\"interval\":\"" B0                         \
  "\",\"metrics\":[" metrics "]}]}"

DEF_TEST(answer_folded_per_campaign_and_read) {
  gen_entity_set_t set = campaigns();
  gen_campaign_agg_t ca = {.org = &org, .granularity_ms = G, .campaigns = &set};
  gen_agg_query_t q = gen_campaign_agg_query(&ca);
  static const char text[] = "{\"results\":[" RESULT(
      "{\"outboundCampaignId\":\"" C1 "\",\"mediaType\":\"voice\"}",
      METRIC("nOutboundAttempted", "7") "," METRIC(
          "nOutboundConnected",
          "3")) "," RESULT("{\"outboundCampaignId\":\"" C1
                           "\",\"mediaType\":\"message\"}",
                           METRIC("nOutboundAttempted",
                                  "2")) "," RESULT("{\"outboundCampaignId\":"
                                                   "\"ffffffff-0000-0000-0000-"
                                                   "000000000000\"}",
                                                   METRIC("nOutboundAttempted",
                                                          "9")) "]}";
  gen_agg_answer_t *a = gen_agg_answer_new();
  char err[256] = "";
  EXPECT_EQ_INT(0,
                gen_agg_answer_read(a, text, strlen(text), err, sizeof(err)));
  OK(q.prepare == NULL && q.fold != NULL);
  EXPECT_EQ_INT(0, gen_agg_fold_groups(a, q.fold->dims, q.fold->n, q.fold->drop,
                                       q.fold->n_drop));
  const gen_agg_result_t *res;
  size_t n = gen_agg_answer_results(a, &res);
  EXPECT_EQ_INT(2, (int)n); /* C1's two media folded into one */
  const char *scope = NULL;
  gen_key_t key = {0};
  OK(q.reader.group(q.reader.ud, &res[0].group, &scope, &key));
  EXPECT_EQ_STR(C1, scope);
  EXPECT_EQ_STR(C1, key.str[1]);
  /* read as the loop reads it: the query's catalogue, its one group */
  OK(q.reader.key_group == NULL && q.reader.on == NULL);
  const gen_interval_value_t *v = NULL;
  size_t nv = 0;
  gen_agg_values_t *vals = gen_agg_values_new(q.reader.cat);
  EXPECT_EQ_INT(0, (int)gen_agg_read(q.reader.cat, NULL, 0,
                                     &res[0].b[0].metrics, vals, &v, &nv));
  double x = -1;
  OK(gen_agg_value_find(v, nv, "outbound_attempted", &x));
  EXPECT_EQ_DOUBLE(9, x);
  OK(gen_agg_value_find(v, nv, "outbound_connected", &x));
  EXPECT_EQ_DOUBLE(3, x);
  OK(gen_agg_value_find(v, nv, "outbound_abandoned", &x));
  EXPECT_EQ_DOUBLE(0, x); /* absent from a group with values: 0 */
  /* a campaign not asked for is not ours */
  gen_key_t other = {0};
  OK(!q.reader.group(q.reader.ud, &res[1].group, &scope, &other));
  /* its series: the campaign's name, "campaign" */
  gen_agg_output_t out = q.out;
  gen_agg_label_t label = {0};
  out.label(out.ud, &key, &label);
  EXPECT_EQ_STR("Spring Sale", label.plugin_instance);
  EXPECT_EQ_STR(GEN_CAMPAIGN_AGG_SUFFIX, label.suffix);
  gen_agg_answer_free(a);
  gen_agg_values_free(vals);
  gen_entity_set_free(&set);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(request_grouped_and_filtered_by_campaign);
  RUN_TEST(answer_folded_per_campaign_and_read);
  END_TEST;
}
