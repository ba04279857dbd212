/* SPDX-License-Identifier: MIT */
/* Unit tests: gen_apiusage over a fake API (no network): the day asked,
 * the query's and the job's bodies, every answer form of the legacy query
 * (date or none, counts absent, Running, Failed, rows of another day,
 * unusable rows, one route twice) and of the jobs pages (Queued, Running,
 * Succeeded, Failed, Cancelled; nextUri with after=, nextUri alone, a
 * cursor field, the last page; Genesys's own clients; oauthClient without
 * a name or as an id; unusable rows; a next page that is itself), per
 * client sums and per route rows, the POST-then-pages sequence across
 * reads, the legacy query where the jobs route answers 404 (said once, the
 * jobs route asked again the next day), a query given up after
 * GEN_AU_MAX_POLLS reads, refresh, and the values dispatched. */
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
  const gen_au_rows_t *s = &au->done;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->rows[i].label, label) == 0 &&
        (route ? s->rows[i].route && strcmp(s->rows[i].route, route) == 0
               : s->rows[i].route == NULL))
      return &s->rows[i];
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
  EXPECT_EQ_INT(4, (int)au.done.n);
  /* Without per_route the same answer gives the client totals only; by
   * id, the ids name them. */
  EXPECT_EQ_INT(0,
                gen_au_answer_read(d, Y_MS, false, true, &au, &st, &skipped));
  EXPECT_EQ_INT(2, (int)au.done.n);
  OK(row(&au, "c1", NULL) != NULL && row(&au, "c1", NULL)->v[0] == 71);
  json_object_put(d);
  /* Complete with no rows: none. */
  d = parse("{\"results\":[],\"queryStatus\":\"Complete\"}");
  EXPECT_EQ_INT(0,
                gen_au_answer_read(d, Y_MS, false, false, &au, &st, &skipped));
  EXPECT_EQ_INT(0, (int)au.done.n);
  json_object_put(d);
  gen_au_free(&au);
  return 0;
}

#define PAGE "/api/v2/usage/aggregates/query/jobs/j-1?pageSize=1000"

/* One jobs page into au: its status and next target. */
static int job_page(gen_au_t *au, const char *text, bool per_route, bool by_id,
                    const char *target, gen_au_state_t *st, char *next,
                    size_t *skipped) {
  json_object *d = parse(text);
  int status = gen_au_job_page_read(d, Y_MS, per_route, by_id, PAGE, target, au,
                                    st, next, 1024, skipped);
  json_object_put(d);
  return status;
}

DEF_TEST(job_pages) {
  gen_au_t au = {0};
  gen_au_state_t st;
  size_t skipped;
  char next[1024];
  json_object *b = gen_au_job_body(Y_MS);
  /* The interval and Day alone: no groupBy, no metrics (every one); its
   * end inclusive, so the day's last second. */
  EXPECT_EQ_STR("2026-11-24T00:00:00/2026-11-24T23:59:59",
                gen_json_get_string(b, "interval"));
  EXPECT_EQ_STR("Day", gen_json_get_string(b, "granularity"));
  EXPECT_EQ_INT(2, json_object_object_length(b));
  json_object_put(b);
  /* The states. */
  const char *running[] = {"Queued", "Running", "Pending"};
  for (size_t i = 0; i < 3; i++) {
    char text[80];
    snprintf(text, sizeof(text), "{\"queryStatus\":\"%s\"}", running[i]);
    EXPECT_EQ_INT(0,
                  job_page(&au, text, false, false, PAGE, &st, next, &skipped));
    EXPECT_EQ_INT(GEN_AU_RUNNING, st);
  }
  EXPECT_EQ_INT(0, job_page(&au, "{\"queryStatus\":\"Cancelled\"}", false,
                            false, PAGE, &st, next, &skipped));
  EXPECT_EQ_INT(GEN_AU_FAILED, st);
  EXPECT_EQ_INT(0,
                job_page(&au, "{\"queryStatus\":\"Failed\",\"errorBody\":{}}",
                         false, false, PAGE, &st, next, &skipped));
  EXPECT_EQ_INT(GEN_AU_FAILED, st);
  EXPECT_EQ_INT(-EINVAL, job_page(&au, "{\"pageSize\":3}", false, false, PAGE,
                                  &st, next, &skipped));
  /* Page 1: nextUri with after= (our pageSize kept, the cursor as it is);
   * a client of the org, one of Genesys's own without a name, one as an
   * id alone; a row of another day; unusable rows. Nothing is the day's
   * until the last page. */
  EXPECT_EQ_INT(
      0,
      job_page(
          &au,
          "{\"queryStatus\":\"Succeeded\",\"entities\":["
          "{\"date\":\"2026-11-24\",\"oauthClient\":{\"id\":\"c1\","
          "\"name\":\"CRM sync\",\"selfUri\":\"/api/v2/oauth/clients/c1\"},"
          "\"templateUri\":\"/api/v2/users/{userId}\",\"httpMethod\":\"GET\","
          "\"requestCount\":63,\"status200\":50,\"status400\":12,"
          "\"status429\":10,\"status500\":1},"
          "{\"date\":\"2026-11-24\",\"oauthClient\":{\"id\":\"gc-web\","
          "\"selfUri\":\"/api/v2/oauth/clients/gc-web\"},"
          "\"templateUri\":\"/api/v2/users/{userId}\",\"requestCount\":900,"
          "\"status200\":900},"
          "{\"date\":\"2026-11-23\",\"oauthClient\":{\"id\":\"c1\"},"
          "\"requestCount\":5},"
          "{\"oauthClient\":{\"name\":\"nobody\"},\"requestCount\":5},"
          "{\"date\":\"2026-11-24\",\"oauthClient\":{\"id\":\"c3\"},"
          "\"requestCount\":-2},"
          "{\"date\":\"someday\",\"oauthClient\":{\"id\":\"c3\"}}],"
          "\"nextUri\":\"/api/v2/usage/aggregates/query/jobs/j-1?pageSize=7&"
          "after=YWJj%3D\"}",
          true, false, PAGE, &st, next, &skipped));
  EXPECT_EQ_INT(GEN_AU_COMPLETE, st);
  EXPECT_EQ_STR(PAGE "&after=YWJj%3D", next);
  EXPECT_EQ_INT(3, (int)skipped);
  EXPECT_EQ_INT(0, (int)au.done.n);
  OK(au.day_ms == 0);
  /* Page 2: a cursor field (escaped into the query), the same client again
   * on another route, a client as an id alone. */
  char target[1024];
  sstrncpy(target, next, sizeof(target));
  EXPECT_EQ_INT(
      0,
      job_page(
          &au,
          "{\"queryStatus\":\"Succeeded\",\"entities\":["
          "{\"date\":\"2026-11-24\",\"oauthClient\":{\"id\":\"c1\","
          "\"name\":\"CRM sync\"},\"templateUri\":\"/api/v2/routing/queues\","
          "\"requestCount\":8,\"status200\":8},"
          "{\"oauthClient\":\"c9\",\"requestCount\":2,\"status200\":2}],"
          "\"cursor\":\"a+b/c=\"}",
          true, false, target, &st, next, &skipped));
  EXPECT_EQ_STR(PAGE "&after=a%2Bb%2Fc%3D", next);
  EXPECT_EQ_INT(0, (int)skipped);
  /* Page 3: nextUri without after=, followed as it is. */
  sstrncpy(target, next, sizeof(target));
  EXPECT_EQ_INT(0, job_page(&au,
                            "{\"queryStatus\":\"Succeeded\",\"entities\":[],"
                            "\"nextUri\":\"/api/v2/usage/aggregates/query/jobs/"
                            "j-1/page/4\"}",
                            true, false, target, &st, next, &skipped));
  EXPECT_EQ_STR("/api/v2/usage/aggregates/query/jobs/j-1/page/4", next);
  /* The last page: no link. The day's rows are every page's. */
  sstrncpy(target, next, sizeof(target));
  EXPECT_EQ_INT(0, job_page(&au,
                            "{\"queryStatus\":\"Succeeded\",\"entities\":["
                            "{\"date\":\"2026-11-24\",\"oauthClient\":{\"id\":"
                            "\"c1\",\"name\":\"CRM sync\"},\"templateUri\":"
                            "\"/api/v2/routing/queues\",\"requestCount\":1}]}",
                            true, false, target, &st, next, &skipped));
  EXPECT_EQ_STR("", next);
  OK(au.day_ms == Y_MS);
  EXPECT_EQ_INT(0, (int)au.paging.n);
  const gen_au_row_t *r = row(&au, "CRM sync", NULL);
  OK(r != NULL);
  EXPECT_EQ_INT(72, (int)r->v[0]);
  EXPECT_EQ_INT(58, (int)r->v[1]);
  EXPECT_EQ_INT(10, (int)r->v[4]);
  r = row(&au, "CRM sync", "/api/v2/routing/queues");
  OK(r != NULL);
  EXPECT_EQ_INT(9, (int)r->v[0]); /* two pages summed */
  r = row(&au, "gc-web", NULL);   /* Genesys's own, without a name */
  OK(r != NULL);
  EXPECT_EQ_INT(900, (int)r->v[0]);
  OK(row(&au, "gc-web", "/api/v2/users/{userId}") != NULL);
  OK(row(&au, "c9", NULL) != NULL && row(&au, "c9", NULL)->v[1] == 2);
  EXPECT_EQ_INT(6, (int)au.done.n);
  /* A next page that is the page itself: refused, nothing committed. */
  EXPECT_EQ_INT(-EBADMSG,
                job_page(&au,
                         "{\"queryStatus\":\"Succeeded\","
                         "\"entities\":[],\"cursor\":\"x\"}",
                         false, true, PAGE "&after=x", &st, next, &skipped));
  EXPECT_EQ_INT(6, (int)au.done.n);
  /* By id, clients alone; a Complete answer without entities is none. */
  EXPECT_EQ_INT(0, job_page(&au,
                            "{\"entities\":[{\"oauthClient\":{\"id\":\"c1\","
                            "\"name\":\"CRM sync\"},\"requestCount\":4}]}",
                            false, true, PAGE, &st, next, &skipped));
  EXPECT_EQ_INT(GEN_AU_COMPLETE, st);
  EXPECT_EQ_INT(1, (int)au.done.n);
  OK(row(&au, "c1", NULL) != NULL);
  EXPECT_EQ_INT(0, job_page(&au, "{\"queryStatus\":\"Complete\"}", false, true,
                            PAGE, &st, next, &skipped));
  EXPECT_EQ_INT(0, (int)au.done.n);
  gen_au_free(&au);
  return 0;
}

/* ---- the read sequence over a fake API ---------------------------------- */

/* Either POST's answer to post_status 403. */
#define FORBIDDEN                                                              \
  "{\"message\":\"missing permission\",\"code\":"                              \
  "\"missing.any.permissions\",\"status\":403}"

static int n_posts, n_gets, running_left, post_status;
static int n_job_posts, n_job_gets, job_pages;
static bool failed_once, jobs_absent;
static char last_body[1024], last_get[256];
static const char *job_answer; /* when set, the jobs GET answers this */

/* The jobs route: j-1, "Queued" then "Running" running_left times, then
 * job_pages pages of one row each (client c1 on page 1, Genesys's gc-web
 * on the others), linked by nextUri with after=<page>. */
static void fake_jobs(const char *method, const char *path,
                      gen_http_response_t *resp) {
  if (jobs_absent) {
    resp->status = 404;
    resp->body = strdup("{\"message\":\"Resource not found\",\"code\":"
                        "\"not.found\",\"status\":404}");
  } else if (strcmp(method, "POST") == 0) {
    n_job_posts++;
    resp->status = post_status ? post_status : 200;
    resp->body = strdup(resp->status == 200
                            ? "{\"id\":\"j-1\",\"resultsUri\":\"/api/v2/usage/"
                              "aggregates/query/jobs/j-1\"}"
                            : FORBIDDEN);
  } else {
    n_job_gets++;
    sstrncpy(last_get, path, sizeof(last_get));
    resp->status = 200;
    const char *after = strstr(path, "after=");
    int page = after ? atoi(after + 6) : 1;
    char text[1024], day[GEN_TIME_STRLEN];
    /* the rows of the day asked: yesterday by the mock clock */
    gen_time_format(gen_au_day((int64_t)CDTIME_T_TO_MS(mock_time)), day,
                    sizeof(day));
    if (job_answer != NULL) {
      resp->body = strdup(job_answer);
      return;
    }
    if (running_left > 0) {
      running_left--;
      snprintf(text, sizeof(text), "{\"queryStatus\":\"%s\"}",
               n_job_gets == 1 ? "Queued" : "Running");
    } else
      snprintf(text, sizeof(text),
               "{\"queryStatus\":\"Succeeded\",\"entities\":[{\"date\":"
               "\"%.10s\",\"oauthClient\":{\"id\":\"%s\",\"name\":"
               "\"%s\"},\"requestCount\":%d,\"status429\":1}]%s%d%s}",
               day, page == 1 ? "c1" : "gc-web",
               page == 1 ? "CRM sync" : "Genesys Cloud web app", page,
               page < job_pages ? ",\"nextUri\":\"/api/v2/usage/aggregates/"
                                  "query/jobs/j-1?pageSize=1000&after="
                                : ",\"x\":",
               page + 1, page < job_pages ? "\"" : "");
    resp->body = strdup(text);
  }
}

static int fake_perform(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  const char *path = strstr(url, "/api/v2/");
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  if (path && strncmp(path, GEN_AU_JOBS_PATH, strlen(GEN_AU_JOBS_PATH)) == 0)
    fake_jobs(method, path, resp);
  else if (path && strcmp(path, "/api/v2/usage/query") == 0 &&
           strcmp(method, "POST") == 0) {
    n_posts++;
    sstrncpy(last_body, body ? body : "", sizeof(last_body));
    resp->status = post_status ? post_status : 202;
    resp->body =
        strdup(resp->status == 202 ? "{\"executionId\":\"e-1\",\"resultsUri\":"
                                     "\"/api/v2/usage/query/e-1/results\"}"
                                   : FORBIDDEN);
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
  n_job_posts = n_job_gets = 0;
  job_pages = 1;
  failed_once = false;
  job_answer = NULL;
  jobs_absent = true; /* the legacy tests; the jobs tests say false */
  mock_time = MS_TO_CDTIME_T(NOW_MS);
  mock_values_reset();
  mock_log_reset();
  f->client.org = mock_org("genesys_platform");
  free(f->client.org->api_base_url);
  f->client.org->api_base_url = strdup("https://api.example.test");
  gen_stats_init(&f->client.stats);
  pthread_mutex_init(&f->client.family_lock, NULL);
  f->client.http = gen_http_create(f->client.org, &f->client.stats, NULL);
  memset(&f->config, 0, sizeof(f->config));
  gen_config_defaults(&gen_au_keys, &f->config);
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

/* A failure while the clock was a day ahead sets its retry a day ahead:
 * once the clock is corrected the query is asked again at once (a retry
 * further off than any wait was set by a clock ahead), not a day later. */
DEF_TEST(a_retry_set_while_the_clock_was_ahead_is_not_waited_for) {
  fixture_t f;
  setup(&f);
  post_status = 403;
  mock_time += TIME_T_TO_CDTIME_T(86400);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  mock_time -= TIME_T_TO_CDTIME_T(86400);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2, n_posts);
  /* and then the wait holds as before */
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2, n_posts);
  teardown(&f);
  return 0;
}

DEF_TEST(job_reads) {
  fixture_t f;
  setup(&f);
  jobs_absent = false;
  f.config.per_route = true;
  /* Queued, then Running: a POST and a GET in the first read, a GET in the
   * next, then 120 pages: GEN_AU_PAGES_PER_READ a read, nothing sent
   * before the last page is read, then the whole day. */
  running_left = 2;
  job_pages = 120;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_job_posts);
  EXPECT_EQ_INT(1, n_job_gets);
  EXPECT_EQ_STR(PAGE, last_get);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2, n_job_gets);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2 + GEN_AU_PAGES_PER_READ, n_job_gets);
  EXPECT_EQ_STR(PAGE "&after=50", last_get);
  OK(value("CRM_sync", "api_usage", "requests") < 0);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2 + 2 * GEN_AU_PAGES_PER_READ, n_job_gets);
  OK(value("CRM_sync", "api_usage", "requests") < 0);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2 + 120, n_job_gets);
  EXPECT_EQ_STR(PAGE "&after=120", last_get);
  EXPECT_EQ_INT(1, (int)value("CRM_sync", "api_usage", "requests"));
  /* Genesys's own client: pages 2 to 120, summed. */
  EXPECT_EQ_INT(7259,
                (int)value("Genesys_Cloud_web_app", "api_usage", "requests"));
  EXPECT_EQ_INT(119,
                (int)value("Genesys_Cloud_web_app", "api_usage", "status429"));
  EXPECT_EQ_INT(2, (int)value("self", "api_usage_clients", NULL));
  EXPECT_EQ_INT(0, n_posts + n_gets); /* the legacy route never */
  EXPECT_EQ_INT(1 + 122, (int)f.au.requests);
  OK(!mock_log_contains("legacy"));
  /* Refresh: asked again, a page at once. */
  job_pages = 1;
  mock_time += f.config.refresh;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2, n_job_posts);
  EXPECT_EQ_INT(123, n_job_gets);
  teardown(&f);
  /* The jobs route refused (404): the legacy query that day, said once;
   * the next day the jobs route first again. */
  setup(&f);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_posts);
  EXPECT_EQ_INT(1, n_gets);
  EXPECT_EQ_INT(9, (int)value("CRM_sync", "api_usage", "requests"));
  OK(mock_log_contains("the usage jobs route"));
  mock_time += f.config.refresh;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(2, n_posts);
  EXPECT_EQ_INT(5, (int)f.au.requests); /* a jobs POST, 4 legacy */
  mock_log_reset();
  mock_time += TIME_T_TO_CDTIME_T(86400);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(3, n_posts);
  EXPECT_EQ_INT(8, (int)f.au.requests);           /* the jobs POST again, 404 */
  OK(!mock_log_contains("the usage jobs route")); /* said once */
  jobs_absent = false;
  mock_values_reset();
  mock_time += TIME_T_TO_CDTIME_T(86400);
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(3, n_posts);
  EXPECT_EQ_INT(1, n_job_posts);
  EXPECT_EQ_INT(1, (int)value("CRM_sync", "api_usage", "requests"));
  teardown(&f);
  return 0;
}

/* Hostile rows: counts that overflow a sum, and more clients than anyone
 * can chart. */
/* A queryStatus this version does not know: counted in unknown_values and
 * logged once, asked for again as a "Running" one; the day is taken when
 * it completes. */
DEF_TEST(unknown_status_asked_again) {
  fixture_t f;
  setup(&f);
  jobs_absent = false;
  job_answer = "{\"queryStatus\":\"Paused\"}";
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, n_job_posts);
  EXPECT_EQ_INT(2, n_job_gets);
  EXPECT_EQ_INT(0, (int)f.au.failures);
  EXPECT_EQ_INT(2, (int)gen_stats_unknown_count(&f.client.stats, "api_usage",
                                                "queryStatus"));
  EXPECT_EQ_INT(1, (int)mock_unknown_lines("queryStatus", "Paused"));
  job_answer = NULL;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(1, (int)value("CRM_sync", "api_usage", "requests"));
  EXPECT_EQ_INT(2, (int)gen_stats_unknown_count(&f.client.stats, "api_usage",
                                                "queryStatus"));
  teardown(&f);
  return 0;
}

DEF_TEST(hostile_rows) {
  fixture_t f;
  char day[GEN_TIME_STRLEN], text[1024];
  setup(&f);
  jobs_absent = false;
  gen_time_format(Y_MS, day, sizeof(day));
  /* Two rows of 9e18 for one client: their int64 sum wrapped to -4.467e17.
   * A count beyond 2^53 (no double holds it exactly, nor does any day of
   * requests come near) is refused where it enters: the rows skipped and
   * counted, the client's other row kept. */
  snprintf(text, sizeof(text),
           "{\"queryStatus\":\"Succeeded\",\"entities\":["
           "{\"date\":\"%.10s\",\"oauthClient\":{\"id\":\"c1\"},"
           "\"requestCount\":9000000000000000000},"
           "{\"date\":\"%.10s\",\"oauthClient\":{\"id\":\"c1\"},"
           "\"requestCount\":9000000000000000000},"
           "{\"date\":\"%.10s\",\"oauthClient\":{\"id\":\"c1\"},"
           "\"requestCount\":7}]}",
           day, day, day);
  job_answer = text;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(7, (int)value("c1", "api_usage", "requests"));
  EXPECT_EQ_INT(1, (int)atomic_load(&f.client.stats.malformed));
  OK(mock_log_contains("2 rows of an API usage answer were not usable"));
  teardown(&f);
  /* Rows each within 2^53 whose sum is not: the sum stops at 2^53, said in
   * the log and in a self-metric. */
  setup(&f);
  jobs_absent = false;
  snprintf(text, sizeof(text),
           "{\"queryStatus\":\"Succeeded\",\"entities\":["
           "{\"date\":\"%.10s\",\"oauthClient\":{\"id\":\"c1\"},"
           "\"requestCount\":6000000000000000,\"status200\":5},"
           "{\"date\":\"%.10s\",\"oauthClient\":{\"id\":\"c1\"},"
           "\"requestCount\":6000000000000000,\"status200\":5}]}",
           day, day);
  job_answer = text;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  EXPECT_EQ_INT(9007199254740992LL,
                (long long)value("c1", "api_usage", "requests"));
  EXPECT_EQ_INT(10, (int)value("c1", "api_usage", "status200"));
  EXPECT_EQ_INT(1, (int)value("self", "api_usage_held_back", "saturated"));
  OK(mock_log_contains("saturated at 2^53"));
  teardown(&f);
  /* 2,000 clients (c0 with 1 request ... c1999 with 2,000): the
   * ApiUsageMaxClients (100) with the most requests kept, the other 1,900
   * summed into one client "other", said once and counted. */
  setup(&f);
  jobs_absent = false;
  size_t cap = 2000 * 128 + 128, n = 0;
  char *big = malloc(cap);
  OK(big != NULL);
  n += (size_t)snprintf(big + n, cap - n,
                        "{\"queryStatus\":\"Succeeded\",\"entities\":[");
  for (int i = 0; i < 2000; i++)
    n += (size_t)snprintf(big + n, cap - n,
                          "%s{\"date\":\"%.10s\",\"oauthClient\":{\"id\":"
                          "\"c%d\"},\"requestCount\":%d}",
                          i ? "," : "", day, i, i + 1);
  snprintf(big + n, cap - n, "]}");
  job_answer = big;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  size_t series = 0;
  for (size_t i = 0; i < mock_values_num; i++)
    series += strcmp(mock_values[i].type, "api_usage") == 0;
  EXPECT_EQ_INT(101 * GEN_AU_METRICS, (int)series);
  EXPECT_EQ_INT(2000, (int)value("c1999", "api_usage", "requests"));
  EXPECT_EQ_INT(1901, (int)value("c1900", "api_usage", "requests"));
  OK(value("c1899", "api_usage", "requests") < 0);
  EXPECT_EQ_INT(1900 * 1901 / 2, (int)value("other", "api_usage", "requests"));
  EXPECT_EQ_INT(2000, (int)value("self", "api_usage_clients", NULL));
  EXPECT_EQ_INT(1900, (int)value("self", "api_usage_held_back", "clients"));
  OK(mock_log_contains("1900 of 2000 OAuth clients"));
  /* Said once: the next refresh says nothing more. */
  mock_log_reset();
  mock_time += f.config.refresh;
  gen_au_read(&f.au, &f.client, &f.config, "genesys_platform");
  OK(!mock_log_contains("OAuth clients"));
  EXPECT_EQ_INT(1900, (int)value("self", "api_usage_held_back", "clients"));
  teardown(&f);
  free(big);
  return 0;
}

int main(void) {
  http_perform = fake_perform;
  http_sleep = fake_sleep;
  RUN_TEST(day_and_body);
  RUN_TEST(answer_forms);
  RUN_TEST(reads);
  RUN_TEST(given_up_and_refused);
  RUN_TEST(a_retry_set_while_the_clock_was_ahead_is_not_waited_for);
  RUN_TEST(job_pages);
  RUN_TEST(job_reads);
  RUN_TEST(unknown_status_asked_again);
  RUN_TEST(hostile_rows);
  mock_time = 0;
  mock_log_reset();
  END_TEST;
}
