/* SPDX-License-Identifier: MIT */
/* Unit tests: the rate-limit aggregates (gen_ratelimit_agg): one request
 * for every limit grouped by limitName, a group's key and series name, a
 * limit name no reader knows read like any other, a group without a name
 * passed over. */
#include "gen_ratelimit_agg.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <string.h>

static const char *json_str(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                               : NULL;
}

DEF_TEST(one_request_for_every_limit) {
  gen_rl_agg_t ra = {.plugin = "genesys_platform", .granularity_ms = 300000};
  gen_interval_range_t r = {.start_ms = 1767225600000LL,
                            .end_ms = 1767225600000LL + 600000};
  json_object *body = gen_rl_agg_body(&ra, &r);
  OK(body != NULL);
  EXPECT_EQ_STR("2026-01-01T00:00:00.000Z/2026-01-01T00:10:00.000Z",
                json_str(body, "interval"));
  EXPECT_EQ_STR("PT5M", json_str(body, "granularity"));
  json_object *gb, *m, *f;
  OK(json_object_object_get_ex(body, "groupBy", &gb));
  EXPECT_EQ_INT(1, (int)json_object_array_length(gb));
  EXPECT_EQ_STR("limitName",
                json_object_get_string(json_object_array_get_idx(gb, 0)));
  OK(json_object_object_get_ex(body, "metrics", &m));
  EXPECT_EQ_INT(1, (int)json_object_array_length(m));
  EXPECT_EQ_STR("oRateLimitRecorded",
                json_object_get_string(json_object_array_get_idx(m, 0)));
  OK(!json_object_object_get_ex(body, "filter", &f)); /* every limit */
  json_object_put(body);
  return 0;
}

DEF_TEST(a_limit_is_a_series_of_its_name) {
  gen_client_t *client = gen_client_create(mock_org("genesys_platform"));
  gen_rl_agg_t ra = {
      .client = client, .plugin = "genesys_platform", .granularity_ms = 300000};
  gen_agg_query_t q = gen_rl_agg_query(&ra);
  EXPECT_EQ_STR(GEN_RL_AGG_PATH, q.path);
  EXPECT_EQ_STR("rate-limit aggregates", q.family);
  const char *names[] = {"client.credentials.token.rate.per.minute",
                         "a.limit.Genesys.adds.later"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(names); i++) {
    gen_agg_dim_t d = {.name = "limitName", .value = names[i]};
    gen_agg_group_t g = {.d = &d, .n = 1, .object = true};
    const char *scope = NULL;
    gen_key_t key;
    OK(q.reader.group(q.reader.ud, &g, &scope, &key));
    EXPECT_EQ_STR(GEN_RL_AGG_SCOPE, scope);
    gen_agg_label_t label = {.plugin_instance = "", .suffix = ""};
    q.out.label(q.out.ud, &key, &label);
    char want[128];
    snprintf(want, sizeof(want), "ratelimit-%s", names[i]);
    EXPECT_EQ_STR(want, label.plugin_instance);
  }
  /* no limitName, or an empty one: not a limit's */
  gen_agg_dim_t other = {.name = "namespace", .value = "platform.api"};
  gen_agg_dim_t empty = {.name = "limitName", .value = ""};
  const char *scope;
  gen_key_t key;
  OK(!q.reader.group(q.reader.ud, &(gen_agg_group_t){&other, 1, true}, &scope,
                     &key));
  OK(!q.reader.group(q.reader.ud, &(gen_agg_group_t){&empty, 1, true}, &scope,
                     &key));
  gen_client_free(client);
  return 0;
}

int main(void) {
  RUN_TEST(one_request_for_every_limit);
  RUN_TEST(a_limit_is_a_series_of_its_name);
  END_TEST;
}
