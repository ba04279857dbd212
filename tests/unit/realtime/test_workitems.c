/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the live workitem backlog (gen_workitems): the request
 * body, the answer reader in the record's form (categories, the Due
 * qualifier, the oldest as an age or an instant, the cursor), words this
 * version does not know counted and the rest read, malformed values and
 * answers, and reads against a fake API: two pages by the cursor, the
 * budget, a queue no longer listed, a 403 that stops the family.
 */
#include "collectd/core/daemon/collectd.h"

#include "fake_client.h"
#include "gen_http.c" /* its transport seam: a fake API */
#include "gen_workitems.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#define Q1 "11111111-1111-1111-1111-111111111111"
#define Q2 "22222222-2222-2222-2222-222222222222"

static int read_text(gen_client_t *client, const char *text, gen_wi_values_t *v,
                     size_t *bad, char *after) {
  char err[128];
  memset(v, 0, sizeof(*v));
  return gen_wi_read(client, text, strlen(text), Q1, 24, 5000000000000LL, v,
                     bad, after, 128, err, sizeof(err));
}

#define DATUM(m, n) "{\"metric\":\"" m "\",\"stats\":{\"count\":" #n "}}"

DEF_TEST(request_body) {
  char *b = gen_wi_request(Q1, 24);
  OK(b != NULL);
  OK(strstr(b, "{\"dimension\":\"queueId\",\"value\":\"" Q1 "\"}") != NULL);
  OK(strstr(b, "\"groupBy\":[\"queueId\",\"statusCategory\"]") != NULL);
  OK(strstr(b, "{\"name\":\"oWorkitemsDue\",\"qualifier\":\"Hours24\"}") !=
     NULL);
  OK(strstr(b, "oWorkitemOldestUnassigned") != NULL);
  free(b);
  b = gen_wi_request("a\"b", 48); /* escaped; 48 is taken as 72 */
  OK(strstr(b, "\"a\\\"b\"") != NULL);
  OK(strstr(b, "Hours72") != NULL);
  free(b);
  return 0;
}

DEF_TEST(answer_form) {
  gen_wi_values_t v;
  size_t bad;
  char after[128];
  EXPECT_EQ_INT(
      0,
      read_text(
          NULL,
          "{\"results\":[{\"group\":{\"queueId\":\"" Q1
          "\",\"statusCategory\":\"Open\"},\"data\":[" DATUM(
              "oWorkitemsUnassigned",
              7) "," DATUM("oWorkitemsAssigned",
                           3) ",{\"metric\":\"oWorkitemsDue\",\"qualifier\":"
                              "\"Hours24\","
                              "\"stats\":{\"count\":2}},{\"metric\":"
                              "\"oWorkitemsDue\","
                              "\"qualifier\":\"Hours72\",\"stats\":{\"count\":"
                              "9}},"
                              "{\"metric\":\"oWorkitemOldestUnassigned\","
                              "\"stats\":{"
                              "\"max\":90000}}]},{\"group\":{\"queueId\":\"" Q1
                              "\",\"statusCategory\":\"inprogress\"},\"data\":"
                              "[" DATUM("oWorkitemsOverDue", 4) "," DATUM(
                                  "oWorkitemsConnected",
                                  5) ",{\"metric\":"
                                     "\"oWorkitemOldestUnassigned\",\"stats\":{"
                                     "\"max\":4999999940000}}]}],\"cursors\":{"
                                     "\"after\":\"c/2=\"}"
                                     "}",
          &v, &bad, after));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(7, (int)v.v[GEN_WI_OPEN][GEN_WI_UNASSIGNED]);
  EXPECT_EQ_INT(3, (int)v.v[GEN_WI_OPEN][GEN_WI_ASSIGNED]);
  EXPECT_EQ_INT(2, (int)v.v[GEN_WI_OPEN][GEN_WI_DUE]); /* Hours24 only */
  EXPECT_EQ_INT(90000, (int)v.v[GEN_WI_OPEN][GEN_WI_OLDEST]);
  EXPECT_EQ_INT(4, (int)v.v[GEN_WI_IN_PROGRESS][GEN_WI_OVERDUE]);
  /* an instant: its age at now_ms */
  EXPECT_EQ_INT(60000, (int)v.v[GEN_WI_IN_PROGRESS][GEN_WI_OLDEST]);
  OK(!(v.have[GEN_WI_IN_PROGRESS] & (1u << GEN_WI_UNASSIGNED)));
  EXPECT_EQ_INT(0, (int)v.have[GEN_WI_WAITING]);
  EXPECT_EQ_STR("c/2=", after);
  /* An empty backlog: no results at all, no cursor. */
  EXPECT_EQ_INT(0, read_text(NULL, "{}", &v, &bad, after));
  EXPECT_EQ_STR("", after);
  EXPECT_EQ_INT(0, read_text(NULL, "{\"results\":[]}", &v, &bad, after));
  return 0;
}

DEF_TEST(unknown_words_counted_rest_read) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  gen_wi_values_t v;
  size_t bad;
  char after[128];
  EXPECT_EQ_INT(
      0, read_text(&client,
                   "{\"results\":[{\"group\":{\"queueId\":\"" Q1
                   "\",\"statusCategory\":\"Snoozed\"},\"data\":[" DATUM(
                       "oWorkitemsUnassigned",
                       1) "]},{\"group\":{\"queueId\":"
                          "\"" Q1
                          "\",\"statusCategory\":\"Waiting\"},\"data\":[" DATUM(
                              "oWorkitemsSnoozed",
                              8) "," DATUM("oWorkitemsUnassigned",
                                           6) ",{\"metric\":\"oWorkitemsDue\","
                                              "\"qualifier\":\"Hours1\","
                                              "\"stats\":{\"count\":1}}]}]}",
                   &v, &bad, after));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(6, (int)v.v[GEN_WI_WAITING][GEN_WI_UNASSIGNED]);
  OK(!(v.have[GEN_WI_WAITING] & (1u << GEN_WI_DUE)));
  EXPECT_EQ_INT(1, (int)gen_stats_unknown_count(&client.stats, "workitems",
                                                "status_category"));
  EXPECT_EQ_INT(
      1, (int)gen_stats_unknown_count(&client.stats, "workitems", "metric"));
  EXPECT_EQ_INT(
      1, (int)gen_stats_unknown_count(&client.stats, "workitems", "qualifier"));
  fake_client_free(&client);
  return 0;
}

DEF_TEST(malformed) {
  gen_wi_values_t v;
  size_t bad;
  char after[128];
  /* 2^53 read, beyond it refused; negative, text, no stats, another
   * queue, no category: each skipped and counted, the rest read. */
  EXPECT_EQ_INT(
      0,
      read_text(
          NULL,
          "{\"results\":[{\"group\":{\"queueId\":\"" Q1
          "\",\"statusCategory\":\"Open\"},\"data\":[" DATUM(
              "oWorkitemsUnassigned",
              9007199254740992) "," DATUM("oWorkitemsAssigned",
                                          9007199254740993) "," DATUM("oWorkite"
                                                                      "msOverDu"
                                                                      "e",
                                                                      -1) ",{"
                                                                          "\"me"
                                                                          "tric"
                                                                          "\":"
                                                                          "\"oW"
                                                                          "orki"
                                                                          "tems"
                                                                          "Due"
                                                                          "\","
                                                                          "\"qu"
                                                                          "alif"
                                                                          "ier"
                                                                          "\":"
                                                                          "\"Ho"
                                                                          "urs2"
                                                                          "4\","
                                                                          "\"st"
                                                                          "ats"
                                                                          "\":{"
                                                                          "\"co"
                                                                          "unt"
                                                                          "\":"
                                                                          "\"3"
                                                                          "\"}}"
                                                                          ",{"
                                                                          "\"me"
                                                                          "tric"
                                                                          "\":"
                                                                          "\"oW"
                                                                          "orki"
                                                                          "tems"
                                                                          "Assi"
                                                                          "gned"
                                                                          "\"},"
                                                                          "{\"s"
                                                                          "tats"
                                                                          "\":{"
                                                                          "\"co"
                                                                          "unt"
                                                                          "\":"
                                                                          "1}}]"
                                                                          "},"
                                                                          "{\"g"
                                                                          "roup"
                                                                          "\":{"
                                                                          "\"qu"
                                                                          "eueI"
                                                                          "d\":"
                                                                          "\"" Q2
                                                                          "\","
                                                                          "\"st"
                                                                          "atus"
                                                                          "Cate"
                                                                          "gory"
                                                                          "\":"
                                                                          "\"Op"
                                                                          "en\""
                                                                          "},"
                                                                          "\"da"
                                                                          "ta\""
                                                                          ":[]}"
                                                                          ",{"
                                                                          "\"gr"
                                                                          "oup"
                                                                          "\":{"
                                                                          "\"qu"
                                                                          "eueI"
                                                                          "d\":"
                                                                          "\"" Q1
                                                                          "\"},"
                                                                          "\"da"
                                                                          "ta\""
                                                                          ":[]}"
                                                                          ",{"
                                                                          "\"da"
                                                                          "ta\""
                                                                          ":[]}"
                                                                          "]}",
          &v, &bad, after));
  EXPECT_EQ_INT(8, (int)bad);
  OK(v.v[GEN_WI_OPEN][GEN_WI_UNASSIGNED] == 9007199254740992LL);
  EXPECT_EQ_INT(1u << GEN_WI_UNASSIGNED, v.have[GEN_WI_OPEN]);
  EXPECT_EQ_INT(-EBADMSG, read_text(NULL, "[1]", &v, &bad, after));
  EXPECT_EQ_INT(-EBADMSG, read_text(NULL, "{\"results\":{}}", &v, &bad, after));
  EXPECT_EQ_INT(-EBADMSG, read_text(NULL, "not json", &v, &bad, after));
  return 0;
}

/* ---- reads against a fake API ------------------------------------------ */

static int n_calls;
static bool refuse;
static char urls[8][512];

static int fake_api(gen_http_t *http, const char *method, const char *url,
                    const char *body, struct curl_slist *headers,
                    gen_http_response_t *resp) {
  (void)http, (void)headers;
  OK(strcmp(method, "POST") == 0);
  sstrncpy(urls[n_calls % 8], url, sizeof(urls[0]));
  n_calls++;
  bool q2 = strstr(body, Q2) != NULL;
  if (refuse)
    fake_answer(resp, 403,
                "{\"message\":\"Unable to perform the requested action. You "
                "are missing the following permission(s): "
                "analytics:taskManagementObservation:view\",\"code\":"
                "\"missing.permissions\",\"status\":403}");
  else if (!q2 && strstr(url, "after=") == NULL) /* Q1, page 1 */
    fake_answer(resp, 200,
                "{\"results\":[{\"group\":{\"queueId\":\"" Q1
                "\",\"statusCategory\":\"Open\"},\"data\":[" DATUM(
                    "oWorkitemsUnassigned", 5) "]}],\"cursors\":{\"after\":"
                                               "\"p 2\"}}");
  else if (!q2) /* Q1, page 2: more of Open, and Closed */
    fake_answer(resp, 200,
                "{\"results\":[{\"group\":{\"queueId\":\"" Q1
                "\",\"statusCategory\":\"Open\"},\"data\":[" DATUM(
                    "oWorkitemsUnassigned",
                    2) "]},{\"group\":{\"queueId\":\"" Q1
                       "\",\"statusCategory\":\"Closed\"},\"data\":[" DATUM(
                           "oWorkitemsAssigned", 1) "]}]}");
  else
    fake_answer(resp, 200, "{\"results\":[]}");
  return 0;
}

static gen_entity_set_t two_queues(void) {
  gen_entity_set_t set = {0};
  gen_entity_add(&set, Q1, "Q one", NULL);
  gen_entity_add(&set, Q2, "Q two", NULL);
  return set;
}

DEF_TEST(reads_against_the_api) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  n_calls = 0;
  refuse = false;
  mock_log_reset();
  gen_entity_set_t set = two_queues();
  gen_workitems_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_workitems_keys, &c);
  c.on = true;
  c.per_minute = 2;
  gen_workitems_t *w = gen_workitems_new(&c);
  cdtime_t now = TIME_T_TO_CDTIME_T(1000);

  /* Q1's two pages fill the budget; Q2 is left for the next read. */
  EXPECT_EQ_INT(2, (int)gen_workitems_run(w, &client, &set, now));
  OK(strstr(urls[0], "/api/v2/analytics/taskmanagement/metrics/query?"
                     "pageSize=200") != NULL);
  OK(strstr(urls[1], "pageSize=200&after=p%202") != NULL);
  mock_puts_t puts = {0};
  gen_workitems_put_queue(w, Q1, mock_put, &puts);
  EXPECT_EQ_INT(7, (int)mock_puts_value(&puts, "workitems/unassigned-open"));
  EXPECT_EQ_INT(1, (int)mock_puts_value(&puts, "workitems/assigned-closed"));
  /* the backlog's categories as 0; closed as answered; no unknown */
  EXPECT_EQ_INT(0, (int)mock_puts_value(&puts, "workitems_due/waiting"));
  EXPECT_EQ_INT(0, (int)mock_puts_value(&puts, "workitems/unassigned-closed"));
  EXPECT_EQ_INT(16, puts.n);
  puts = (mock_puts_t){0};
  gen_workitems_put_queue(w, Q2, mock_put, &puts);
  EXPECT_EQ_INT(0, puts.n); /* not asked yet: nothing */
  mock_values_reset();
  gen_workitems_dispatch_stats(w, "acme", "genesys_realtime");
  EXPECT_EQ_INT(
      1, (int)mock_find("self", "workitems_unasked", NULL)->value.derive);

  /* A minute later: Q2 (never asked) first, then Q1's first page only. */
  EXPECT_EQ_INT(2, (int)gen_workitems_run(w, &client, &set,
                                          now + TIME_T_TO_CDTIME_T(60)));
  puts = (mock_puts_t){0};
  gen_workitems_put_queue(w, Q2, mock_put, &puts);
  EXPECT_EQ_INT(12, puts.n); /* an empty backlog: its three categories */
  puts = (mock_puts_t){0};
  gen_workitems_put_queue(w, Q1, mock_put, &puts);
  EXPECT_EQ_INT(0, puts.n); /* its pages cut by the budget: left out */
  mock_values_reset();
  gen_workitems_dispatch_stats(w, "acme", "genesys_realtime");
  EXPECT_EQ_INT(
      2, (int)mock_find("self", "workitems_unasked", NULL)->value.derive);
  EXPECT_EQ_INT(
      0, (int)mock_find("self", "workitems_failures", NULL)->value.derive);

  /* Q2 no longer listed: forgotten. */
  gen_entity_set_free(&set);
  set = (gen_entity_set_t){0};
  gen_entity_add(&set, Q1, "Q one", NULL);
  EXPECT_EQ_INT(2, (int)gen_workitems_run(w, &client, &set,
                                          now + TIME_T_TO_CDTIME_T(120)));
  puts = (mock_puts_t){0};
  gen_workitems_put_queue(w, Q1, mock_put, &puts);
  EXPECT_EQ_INT(16, puts.n);
  puts = (mock_puts_t){0};
  gen_workitems_put_queue(w, Q2, mock_put, &puts);
  EXPECT_EQ_INT(0, puts.n);

  /* A 403: one line naming the permission, the family stops. */
  refuse = true;
  int calls = n_calls;
  EXPECT_EQ_INT(1, (int)gen_workitems_run(w, &client, &set,
                                          now + TIME_T_TO_CDTIME_T(240)));
  EXPECT_EQ_INT(1, (int)mock_log_count("analytics:taskManagementObservation"));
  EXPECT_EQ_INT(0, (int)gen_workitems_run(w, &client, &set,
                                          now + TIME_T_TO_CDTIME_T(600)));
  EXPECT_EQ_INT(calls + 1, n_calls);
  puts = (mock_puts_t){0};
  gen_workitems_put_queue(w, Q1, mock_put, &puts);
  EXPECT_EQ_INT(0, puts.n);

  gen_workitems_free(w);
  http_perform = http_perform_curl;
  gen_entity_set_free(&set);
  fake_client_free(&client);
  return 0;
}

DEF_TEST(configuration_keys) {
  gen_workitems_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_workitems_keys, &c);
  OK(!c.on);
  OK(gen_workitems_new(&c) == NULL); /* off by default */
  gen_org_t *org = gen_org_create("genesys_realtime", "acme");
  oconfig_item_t *ci = mock_ci_num("WorkitemsDueHours", 73);
  EXPECT_EQ_INT(-ERANGE,
                gen_config_table_key(org, ci, &gen_workitems_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_num("WorkitemsRequests", 301);
  EXPECT_EQ_INT(-ERANGE,
                gen_config_table_key(org, ci, &gen_workitems_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_bool("Workitems", true);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_workitems_keys, &c));
  OK(c.on);
  mock_ci_free(ci);
  gen_org_free(org);
  return 0;
}

int main(void) {
  RUN_TEST(request_body);
  RUN_TEST(answer_form);
  RUN_TEST(unknown_words_counted_rest_read);
  RUN_TEST(malformed);
  RUN_TEST(reads_against_the_api);
  RUN_TEST(configuration_keys);
  END_TEST;
}
