/* SPDX-License-Identifier: MIT */
/* Unit tests: gen_apiusage over a fake API (no network): the day asked,
 * the query's body, every answer form (date or none, counts absent,
 * Running, Failed, rows of another day, unusable rows, one route twice),
 * per client sums and per route rows, the POST-then-results sequence
 * across reads, a query given up after GEN_AU_MAX_POLLS reads, refresh,
 * and the values dispatched. */
#include "gen_apiusage.c"
#include "gen_auth.c"
#include "gen_http.c"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#define DAY (86400 * (int64_t)1000)
/* 2026-11-25T10:00:00Z: the last complete day is 2026-11-24. */
#define NOW_MS ((int64_t)1795600800 * 1000)
#define Y_MS ((int64_t)1795478400 * 1000)

static json_object *parse(const char *text) {
  json_object *doc = json_tokener_parse(text);
  if (doc == NULL) /* a test's own text: a mistake in the test */
    abort();
  return doc;
}

DEF_TEST(day_and_body) {
  OK(gen_au_day(NOW_MS) == Y_MS);
  OK(gen_au_day(Y_MS + DAY) == Y_MS); /* midnight: the day just closed */
  OK(gen_au_day(Y_MS + DAY - 1) == Y_MS - DAY);
  json_object *b = gen_au_query_body(Y_MS, false);
  EXPECT_EQ_STR("2026-11-24T00:00:00/2026-11-25T00:00:00",
                gen_json_get_string(b, "interval"));
  EXPECT_EQ_STR("Day", gen_json_get_string(b, "granularity"));
  EXPECT_EQ_STR("[ \"OAuthClientId\" ]",
                json_object_to_json_string(gen_json_get_array(b, "groupBy")));
  OK(gen_json_get_array(b, "metrics") == NULL); /* every metric */
  json_object_put(b);
  b = gen_au_query_body(Y_MS, true);
  EXPECT_EQ_STR("[ \"OAuthClientId\", \"TemplateUri\" ]",
                json_object_to_json_string(gen_json_get_array(b, "groupBy")));
  json_object_put(b);
  return 0;
}

static const gen_au_row_t *row(const gen_au_t *au, const char *label,
                               const char *route) {
  for (size_t i = 0; i < au->n; i++)
    if (strcmp(au->rows[i].label, label) == 0 &&
        (route ? au->rows[i].route && strcmp(au->rows[i].route, route) == 0
               : au->rows[i].route == NULL))
      return &au->rows[i];
  return NULL;
}

DEF_TEST(answer_forms) {
  gen_au_t au = {0};
  gen_au_state_t st;
  size_t skipped;
  json_object *d = parse("{\"queryStatus\":\"Running\"}");
  EXPECT_EQ_INT(0,
                gen_au_answer_read(d, Y_MS, false, false, &au, &st, &skipped));
  EXPECT_EQ_INT(GEN_AU_RUNNING, st);
  json_object_put(d);
  d = parse("{\"queryStatus\":\"Failed\"}");
  EXPECT_EQ_INT(0,
                gen_au_answer_read(d, Y_MS, false, false, &au, &st, &skipped));
  EXPECT_EQ_INT(GEN_AU_FAILED, st);
  json_object_put(d);
  d = parse("{\"pageSize\":1}");
  EXPECT_EQ_INT(-EINVAL,
                gen_au_answer_read(d, Y_MS, false, false, &au, &st, &skipped));
  json_object_put(d);
  /* The blueprint's form (no date) and the form with a date; a row of
   * the day before, rows without a client or with a bad count; a client
   * without a name; one client on two rows (two routes) summed. */
  d = parse("{\"results\":["
            "{\"clientId\":\"c1\",\"clientName\":\"CRM sync\",\"templateUri\":"
            "\"api/v2/users/{userId}\",\"status200\":50,\"status300\":0,"
            "\"status400\":12,\"status429\":10,\"status500\":1,\"requests\":63,"
            "\"date\":\"2026-11-24T00:00:00Z\"},"
            "{\"clientId\":\"c1\",\"clientName\":\"CRM sync\",\"templateUri\":"
            "\"api/v2/routing/queues\",\"status200\":7,\"requests\":7},"
            "{\"clientId\":\"c1\",\"clientName\":\"CRM sync\",\"templateUri\":"
            "\"api/v2/routing/queues\",\"requests\":1},"
            "{\"clientId\":\"c1\",\"clientName\":\"CRM sync\",\"requests\":900,"
            "\"date\":\"2026-11-23T00:00:00Z\"},"
            "{\"clientId\":\"c2\",\"clientName\":\"\",\"requests\":3,"
            "\"status200\":3},"
            "{\"clientName\":\"nobody\",\"requests\":5},"
            "{\"clientId\":\"c3\",\"requests\":\"many\"},"
            "{\"clientId\":\"c4\",\"requests\":1,\"date\":\"yesterday\"}"
            "],\"queryStatus\":\"Complete\"}");
  EXPECT_EQ_INT(0,
                gen_au_answer_read(d, Y_MS, true, false, &au, &st, &skipped));
  EXPECT_EQ_INT(GEN_AU_COMPLETE, st);
  EXPECT_EQ_INT(3, (int)skipped);
  OK(au.day_ms == Y_MS);
  const gen_au_row_t *r = row(&au, "CRM sync", NULL);
  OK(r != NULL);
  EXPECT_EQ_INT(71, (int)r->v[0]);
  EXPECT_EQ_INT(57, (int)r->v[1]);
  EXPECT_EQ_INT(12, (int)r->v[3]);
  EXPECT_EQ_INT(10, (int)r->v[4]);
  EXPECT_EQ_INT(1, (int)r->v[5]);
  r = row(&au, "CRM sync", "api/v2/users/{userId}");
  OK(r != NULL);
  EXPECT_EQ_INT(63, (int)r->v[0]);
  EXPECT_EQ_INT(10, (int)r->v[4]);
  r = row(&au, "CRM sync", "api/v2/routing/queues");
  OK(r != NULL);
  EXPECT_EQ_INT(0, (int)r->v[4]);   /* absent: none */
  EXPECT_EQ_INT(8, (int)r->v[0]);   /* its two rows summed */
  OK(row(&au, "c2", NULL) != NULL); /* no name: the id */
  EXPECT_EQ_INT(4, (int)au.n);
  /* Without per_route the same answer gives the client totals only; by
   * id, the ids name them. */
  EXPECT_EQ_INT(0,
                gen_au_answer_read(d, Y_MS, false, true, &au, &st, &skipped));
  EXPECT_EQ_INT(2, (int)au.n);
  OK(row(&au, "c1", NULL) != NULL && row(&au, "c1", NULL)->v[0] == 71);
  json_object_put(d);
  /* Complete with no rows: none. */
  d = parse("{\"results\":[],\"queryStatus\":\"Complete\"}");
  EXPECT_EQ_INT(0,
                gen_au_answer_read(d, Y_MS, false, false, &au, &st, &skipped));
  EXPECT_EQ_INT(0, (int)au.n);
  json_object_put(d);
  gen_au_free(&au);
  return 0;
}

/* ---- the read sequence over a fake API ---------------------------------- */

static int n_posts, n_gets, running_left, post_status;
static bool failed_once;
static char last_body[1024], last_get[256];

static int fake_perform(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  const char *path = strstr(url, "/api/v2/");
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  if (path && strcmp(path, "/api/v2/usage/query") == 0 &&
      strcmp(method, "POST") == 0) {
    n_posts++;
    sstrncpy(last_body, body ? body : "", sizeof(last_body));
    resp->status = post_status ? post_status : 202;
    resp->body = strdup(resp->status == 202
                            ? "{\"executionId\":\"e-1\",\"resultsUri\":"
                              "\"/api/v2/usage/query/e-1/results\"}"
                            : "{\"message\":\"missing permission\",\"code\":"
                              "\"missing.any.permissions\",\"status\":403}");
  } else if (path && strncmp(path, "/api/v2/usage/query/", 20) == 0 &&
             strcmp(method, "GET") == 0) {
    n_gets++;
    sstrncpy(last_get, path, sizeof(last_get));
    resp->status = 200;
    if (failed_once) {
      failed_once = false;
      resp->body = strdup("{\"queryStatus\":\"Failed\"}");
    } else if (running_left > 0) {
      running_left--;
      resp->body = strdup("{\"queryStatus\":\"Running\"}");
    } else
      resp->body = strdup(
          "{\"results\":[{\"clientId\":\"c1\",\"clientName\":\"CRM sync\","
          "\"status200\":5,\"status400\":4,\"status429\":3,\"requests\":9}],"
          "\"queryStatus\":\"Complete\"}");
  } else {
    snprintf(resp->error, sizeof(resp->error), "unexpected %s %s", method, url);
    return GEN_HTTP_ERR_TRANSPORT;
  }
  resp->body_len = strlen(resp->body);
  return 0;
}

static void fake_sleep(double s) { mock_time += DOUBLE_TO_CDTIME_T(s); }

typedef struct {
  gen_client_t client;
  gen_au_config_t config;
  gen_au_t au;
} fixture_t;

static void setup(fixture_t *f) {
  memset(f, 0, sizeof(*f));
  n_posts = n_gets = running_left = post_status = 0;
  failed_once = false;
  mock_time = MS_TO_CDTIME_T(NOW_MS);
  mock_values_reset();
  mock_log_reset();
  f->client.org = mock_org("genesys_platform");
  free(f->client.org->api_base_url);
  f->client.org->api_base_url = strdup("https://api.example.test");
  gen_stats_init(&f->client.stats);
  pthread_mutex_init(&f->client.family_lock, NULL);
  f->client.http = gen_http_create(f->client.org, &f->client.stats, NULL);
  gen_au_config_init(&f->config);
  f->config.enabled = true;
}

static void teardown(fixture_t *f) {
  gen_au_free(&f->au);
  gen_http_free(f->client.http);
  pthread_mutex_destroy(&f->client.family_lock);
  gen_org_free(f->client.org);
}

static double value(const char *instance, const char *type, const char *ti) {
  mock_value_t *v = mock_find(instance, type, ti);
  return v == NULL ? -1 : v->value.gauge;
}

DEF_TEST(reads) {
  fixture_t f;
  setup(&f);
  /* Off: nothing asked, nothing sent. */
  f.config.enabled = false;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(0, n_posts + n_gets);
  EXPECT_EQ_INT(0, (int)mock_values_num);
  f.config.enabled = true;
  /* Running twice: a POST and a GET in the first read, a GET in the next,
   * the values once complete. */
  running_left = 2;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  EXPECT_EQ_INT(1, n_gets);
  EXPECT_EQ_STR("/api/v2/usage/query/e-1/results", last_get);
  json_object *sent = parse(last_body);
  EXPECT_EQ_STR("2026-11-24T00:00:00/2026-11-25T00:00:00",
                gen_json_get_string(sent, "interval"));
  json_object_put(sent);
  OK(value("CRM_sync", "api_usage", "status429") < 0);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  EXPECT_EQ_INT(2, n_gets);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  EXPECT_EQ_INT(3, n_gets);
  EXPECT_EQ_INT(3, (int)value("CRM_sync", "api_usage", "status429"));
  EXPECT_EQ_INT(9, (int)value("CRM_sync", "api_usage", "requests"));
  EXPECT_EQ_INT(1, (int)value("self", "api_usage_clients", NULL));
  /* Not due: values again, no request. */
  mock_values_reset();
  mock_time += TIME_T_TO_CDTIME_T(60);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  EXPECT_EQ_INT(3, n_gets);
  EXPECT_EQ_INT(3, (int)value("CRM_sync", "api_usage", "status429"));
  /* Refresh: asked again, complete at once. */
  mock_time += f.config.refresh;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2, n_posts);
  EXPECT_EQ_INT(4, n_gets);
  /* The next UTC day: the old day's values are not sent; a Failed query
   * is counted and asked anew after 5 minutes (ApiUsageRefresh is 1 h). */
  mock_values_reset();
  mock_time += TIME_T_TO_CDTIME_T(86400);
  failed_once = true;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(3, n_posts);
  OK(value("CRM_sync", "api_usage", "requests") < 0);
  EXPECT_EQ_INT(1, (int)f.au.failures);
  EXPECT_EQ_INT(
      1,
      (int)mock_find("self", "platform_failures", "api_usage")->value.derive);
  OK(!mock_log_contains("malformed"));
  mock_time += TIME_T_TO_CDTIME_T(299);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(3, n_posts);
  mock_time += TIME_T_TO_CDTIME_T(1);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(4, n_posts);
  EXPECT_EQ_INT(9, (int)value("CRM_sync", "api_usage", "requests"));
  teardown(&f);
  return 0;
}

DEF_TEST(given_up_and_refused) {
  fixture_t f;
  setup(&f);
  running_left = 1000;
  f.config.refresh = TIME_T_TO_CDTIME_T(60); /* retried after it, < 5 min */
  for (int i = 0; i < GEN_AU_MAX_POLLS; i++)
    gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  EXPECT_EQ_INT(GEN_AU_MAX_POLLS, n_gets);
  EXPECT_EQ_INT(1, (int)f.au.failures);
  OK(mock_log_contains("still runs"));
  mock_time += TIME_T_TO_CDTIME_T(59);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  mock_time += TIME_T_TO_CDTIME_T(1);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2, n_posts); /* asked anew */
  teardown(&f);
  /* A missing permission: said once, counted, asked again 5 minutes
   * later, not every read. */
  setup(&f);
  post_status = 403;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  mock_time += TIME_T_TO_CDTIME_T(300);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2, n_posts);
  OK(mock_log_contains("API usage: needs the OAuth permission"));
  EXPECT_EQ_INT(0, n_gets);
  EXPECT_EQ_INT(2, (int)f.au.failures);
  /* The second shard asks nothing. */
  teardown(&f);
  setup(&f);
  f.client.org->shard_index = 1;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(0, n_posts + n_gets);
  teardown(&f);
  return 0;
}

int main(void) {
  http_perform = fake_perform;
  http_sleep = fake_sleep;
  RUN_TEST(day_and_body);
  RUN_TEST(answer_forms);
  RUN_TEST(reads);
  RUN_TEST(given_up_and_refused);
  mock_time = 0;
  mock_log_reset();
  END_TEST;
}
