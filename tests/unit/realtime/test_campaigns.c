/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of outbound campaigns (gen_campaigns): CampaignStats and
 * CampaignProgress in the forms the record allows and malformed ones, and
 * reads against a fake API (the listing's statuses chosen, the bulk
 * progress of 150 campaigns in two requests, the stats of the dialling
 * ones only, a status change notified once and the first listing not at
 * all, a sweep within the budget, a 403 that stops the family), and the
 * campaign topics (progress and status at once, notified once when the
 * listing confirms, malformed bodies counted, a channel's gap re-read).
 */
#include "collectd/core/daemon/collectd.h"

#include "fake_client.h"
#include "gen_campaigns.h"
#include "gen_http.c" /* its transport seam: a fake API */
#include "gen_hub.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#define S(s) TIME_T_TO_CDTIME_T(s)

static int stats_of(const char *text, gen_cp_stats_t *s, size_t *bad) {
  char err[128];
  return gen_cp_read_stats(text, text ? strlen(text) : 0, s, bad, err,
                           sizeof(err));
}

DEF_TEST(stats_forms) {
  gen_cp_stats_t s;
  size_t bad;
  /* The SDK's CampaignStats: every field. */
  EXPECT_EQ_INT(
      0, stats_of("{\"contactRate\":{\"attempts\":120,\"connects\":48,"
                  "\"connectRatio\":0.4},\"idleAgents\":3,"
                  "\"effectiveIdleAgents\":2.5,\"adjustedCallsPerAgent\":1.75,"
                  "\"outstandingCalls\":7,\"scheduledCalls\":2,"
                  "\"timeZoneRescheduledCalls\":1,\"filteredOutContactsCount\":"
                  "9}",
                  &s, &bad));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT((1 << GEN_CP_STAT_COUNT) - 1, (int)s.have);
  EXPECT_EQ_DOUBLE(3, s.v[GEN_CP_IDLE]);
  EXPECT_EQ_DOUBLE(2.5, s.v[GEN_CP_EFFECTIVE_IDLE]);
  EXPECT_EQ_DOUBLE(1.75, s.v[GEN_CP_CALLS_PER_AGENT]);
  EXPECT_EQ_DOUBLE(7, s.v[GEN_CP_OUTSTANDING]);
  EXPECT_EQ_DOUBLE(120, s.v[GEN_CP_ATTEMPTS]);
  EXPECT_EQ_DOUBLE(0.4, s.v[GEN_CP_CONNECT_RATIO]);
  /* All optional: an older answer without timeZoneRescheduledCalls, nulls
   * and no contactRate leave those out, not 0; whole doubles count. */
  EXPECT_EQ_INT(
      0, stats_of("{\"idleAgents\":2.0,\"outstandingCalls\":null}", &s, &bad));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(1 << GEN_CP_IDLE, (int)s.have);
  EXPECT_EQ_INT(0, stats_of("{}", &s, &bad));
  EXPECT_EQ_INT(0, (int)s.have);
  /* connectRatio: "Ratio of connects to attempts", a double with no bound
   * in the record (ConnectRate): above 1 read as answered. */
  EXPECT_EQ_INT(0,
                stats_of("{\"contactRate\":{\"connectRatio\":1.5}}", &s, &bad));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(1 << GEN_CP_CONNECT_RATIO, (int)s.have);
  EXPECT_EQ_DOUBLE(1.5, s.v[GEN_CP_CONNECT_RATIO]);
  return 0;
}

DEF_TEST(stats_malformed) {
  gen_cp_stats_t s;
  size_t bad;
  EXPECT_EQ_INT(-EBADMSG, stats_of(NULL, &s, &bad));
  EXPECT_EQ_INT(-EBADMSG, stats_of("[]", &s, &bad));
  EXPECT_EQ_INT(-EBADMSG, stats_of("{\"idleAgents\":", &s, &bad));
  /* Fields of the wrong type or range: skipped and counted, the rest read. */
  EXPECT_EQ_INT(0, stats_of("{\"idleAgents\":\"3\",\"outstandingCalls\":-1,"
                            "\"scheduledCalls\":1.5,\"effectiveIdleAgents\":"
                            "-0.5,\"contactRate\":{\"connectRatio\":-0.1,"
                            "\"attempts\":10},\"adjustedCallsPerAgent\":2}",
                            &s, &bad));
  EXPECT_EQ_INT(5, (int)bad);
  EXPECT_EQ_INT(1 << GEN_CP_ATTEMPTS | 1 << GEN_CP_CALLS_PER_AGENT,
                (int)s.have);
  EXPECT_EQ_INT(0, stats_of("{\"contactRate\":7}", &s, &bad));
  EXPECT_EQ_INT(1, (int)bad);
  return 0;
}

DEF_TEST(progress_forms) {
  const char *id;
  gen_cp_progress_t p;
  json_object *o = json_tokener_parse(
      "{\"campaign\":{\"id\":\"c1\"},\"numberOfContactsCalled\":250,"
      "\"totalNumberOfContacts\":1000,\"percentage\":25}");
  OK(gen_cp_read_progress(o, &id, &p));
  EXPECT_EQ_STR("c1", id);
  EXPECT_EQ_INT(7, (int)p.have);
  EXPECT_EQ_INT(250, (int)p.v[GEN_CP_CALLED]);
  EXPECT_EQ_INT(1000, (int)p.v[GEN_CP_TOTAL]);
  EXPECT_EQ_INT(25, (int)p.v[GEN_CP_PERCENT]);
  json_object_put(o);
  /* The progress topic's numbers are floats: whole ones read. */
  o = json_tokener_parse("{\"campaign\":{\"id\":\"c2\"},"
                         "\"numberOfContactsCalled\":3.0,"
                         "\"totalNumberOfContacts\":4.0,\"percentage\":75}");
  OK(gen_cp_read_progress(o, &id, &p));
  EXPECT_EQ_INT(3, (int)p.v[GEN_CP_CALLED]);
  json_object_put(o);
  /* Every count optional in the record (CampaignProgress): one left out or
   * null is not set, the others read. */
  o = json_tokener_parse("{\"campaign\":{\"id\":\"c3\"},"
                         "\"totalNumberOfContacts\":4,\"percentage\":null}");
  OK(gen_cp_read_progress(o, &id, &p));
  EXPECT_EQ_INT(1 << GEN_CP_TOTAL, (int)p.have);
  EXPECT_EQ_INT(4, (int)p.v[GEN_CP_TOTAL]);
  json_object_put(o);
  const char *bad[] = {
      "{\"campaign\":{\"id\":\"c\"},\"numberOfContactsCalled\":-1,"
      "\"totalNumberOfContacts\":4,\"percentage\":1}",
      "{\"campaign\":{\"id\":\"c\"},\"numberOfContactsCalled\":1,"
      "\"totalNumberOfContacts\":4,\"percentage\":101}",
      "{\"campaign\":{\"id\":\"c\"},\"numberOfContactsCalled\":\"1\","
      "\"totalNumberOfContacts\":4,\"percentage\":1}",
      "7"};
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    o = json_tokener_parse(bad[k]);
    OK(!gen_cp_read_progress(o, &id, &p));
    json_object_put(o);
  }
  EXPECT_EQ_INT(GEN_CP_STOPPING, gen_cp_status_from_name("Stopping"));
  EXPECT_EQ_INT(GEN_CP_FORCED_STOPPING,
                gen_cp_status_from_name("FORCED_STOPPING"));
  EXPECT_EQ_INT(GEN_CP_FORCED_OFF, gen_cp_status_from_name("forced_off"));
  EXPECT_EQ_INT(-1, gen_cp_status_from_name("PAUSED"));
  EXPECT_EQ_INT(-1, gen_cp_status_from_name("unknown")); /* ours, not theirs */
  return 0;
}

/* ---- reads against a fake API -------------------------------------------- */

#define N_CAMPAIGNS 152
static int n_list, n_progress, n_stats, max_ids;
static bool refuse, garbled_stats, garbled_progress;
static bool sparse_progress; /* c5 without its total, c6 its percentage */
static bool wide_ratio;      /* stats with a connectRatio of 1.25 */
static char status_of[N_CAMPAIGNS][16];

#define DENIED                                                                 \
  "{\"message\":\"Unable to perform the requested action. You are missing "    \
  "the following permission(s): outbound:campaign:view\",\"code\":"            \
  "\"missing.permissions\",\"status\":403}"

static int count_of(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
    n++;
  return n;
}

/* Campaigns c0..c151, "Campaign k", in the status of status_of[k], one
 * page of 100 and one of 52; c151 has no campaignStatus (malformed). The
 * progress of ck: k called of 1000; its stats: k idle agents. */
static int fake_api(gen_http_t *http, const char *method, const char *url,
                    const char *body, struct curl_slist *headers,
                    gen_http_response_t *resp) {
  (void)http, (void)headers;
  static char text[65536];
  if (refuse) {
    fake_answer(resp, 403, DENIED);
    return 0;
  }
  if (strcmp(method, "POST") == 0) {
    OK(strstr(url, "/api/v2/outbound/campaigns/progress") != NULL);
    n_progress++;
    int ids = count_of(body, "\"c");
    if (ids > max_ids)
      max_ids = ids;
    snprintf(text, sizeof(text), "[");
    for (const char *p = body; (p = strstr(p, "\"c")) != NULL; p++) {
      int k = atoi(p + 2);
      char percent[32] = "";
      if (!sparse_progress || k != 6)
        snprintf(percent, sizeof(percent), ",\"percentage\":%d", k / 10);
      snprintf(text + strlen(text), sizeof(text) - strlen(text),
               "%s{\"campaign\":{\"id\":\"c%d\"},\"numberOfContactsCalled\":"
               "%d%s%s}",
               text[1] ? "," : "", k, k,
               sparse_progress && k == 5 ? ""
                                         : ",\"totalNumberOfContacts\":1000",
               percent);
    }
    if (garbled_progress) /* no campaign id; a count of the wrong type; one
                             of a campaign not asked */
      snprintf(text + strlen(text), sizeof(text) - strlen(text),
               ",{\"numberOfContactsCalled\":1,\"totalNumberOfContacts\":2,"
               "\"percentage\":50},{\"campaign\":{\"id\":\"c1\"},"
               "\"numberOfContactsCalled\":\"x\",\"totalNumberOfContacts\":"
               "2,\"percentage\":50},{\"campaign\":{\"id\":\"zz\"},"
               "\"numberOfContactsCalled\":1,\"totalNumberOfContacts\":2,"
               "\"percentage\":50}");
    snprintf(text + strlen(text), sizeof(text) - strlen(text), "]");
    fake_answer(resp, 200, text);
    return 0;
  }
  const char *stats = strstr(url, "/stats");
  if (stats != NULL) {
    n_stats++;
    int k = atoi(strstr(url, "/campaigns/c") + strlen("/campaigns/c"));
    if (garbled_stats)
      snprintf(text, sizeof(text), "{\"idleAgents\":");
    else if (wide_ratio)
      snprintf(text, sizeof(text),
               "{\"idleAgents\":%d,\"contactRate\":{\"attempts\":4,"
               "\"connects\":5,\"connectRatio\":1.25}}",
               k);
    else
      snprintf(text, sizeof(text), "{\"idleAgents\":%d}", k);
    fake_answer(resp, 200, text);
    return 0;
  }
  OK(strstr(url, "/api/v2/outbound/campaigns?") != NULL);
  n_list++;
  int page = strstr(url, "pageNumber=2") != NULL ? 2 : 1;
  int from = page == 1 ? 0 : 100, to = page == 1 ? 100 : N_CAMPAIGNS;
  snprintf(text, sizeof(text), "{\"entities\":[");
  for (int k = from; k < to; k++)
    snprintf(text + strlen(text), sizeof(text) - strlen(text),
             "%s{\"id\":\"c%d\",\"name\":\"Campaign %d\"%s%s%s}",
             k > from ? "," : "", k, k,
             k == N_CAMPAIGNS - 1 ? "" : ",\"campaignStatus\":\"",
             k == N_CAMPAIGNS - 1 ? "" : status_of[k],
             k == N_CAMPAIGNS - 1 ? "" : "\"");
  snprintf(text + strlen(text), sizeof(text) - strlen(text),
           "],\"pageSize\":100,\"pageNumber\":%d,\"pageCount\":2}", page);
  fake_answer(resp, 200, text);
  return 0;
}

/* What a read got, every value (mock_puts keeps 64): "instance/type/
 * type instance" ("" for none). */
#define PUTS_MAX 2048
typedef struct {
  char key[PUTS_MAX][96];
  double value[PUTS_MAX];
  int n;
} puts_t;
static puts_t got;

static void put_value(void *ud, const char *instance, const char *type,
                      const char *type_instance, double value) {
  puts_t *p = ud;
  if (p->n < PUTS_MAX) {
    snprintf(p->key[p->n], sizeof(p->key[0]), "%s/%s/%s", instance, type,
             type_instance ? type_instance : "");
    p->value[p->n] = value;
  }
  p->n++;
}

/* The value put under key, -1 when none. */
static double put_of(const char *key) {
  for (int i = 0; i < got.n && i < PUTS_MAX; i++)
    if (strcmp(got.key[i], key) == 0)
      return got.value[i];
  return -1;
}

static void put_all(gen_campaigns_t *g, const gen_client_t *client) {
  memset(&got, 0, sizeof(got));
  gen_campaigns_put(g, client->org, put_value, &got);
}

static gen_campaigns_t *campaigns_with(long max, unsigned statuses,
                                       long per_minute) {
  gen_campaigns_config_t c;
  gen_campaigns_config_init(&c);
  c.on = true;
  c.max = max;
  c.statuses = statuses;
  c.per_minute = per_minute;
  c.every = S(60);
  return gen_campaigns_new(&c);
}

static void reset_api(void) {
  n_list = n_progress = n_stats = max_ids = 0;
  refuse = garbled_stats = garbled_progress = sparse_progress = wide_ratio =
      false;
  /* c0..c149 ON, c150 OFF */
  for (int k = 0; k < N_CAMPAIGNS; k++)
    snprintf(status_of[k], sizeof(status_of[k]), "%s", k == 150 ? "OFF" : "ON");
}

DEF_TEST(a_read_against_the_api) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  reset_api();
  gen_campaigns_config_t off;
  gen_campaigns_config_init(&off);
  OK(gen_campaigns_new(&off) == NULL); /* off: nothing made */
  unsigned on_off = 1u << GEN_CP_ON | 1u << GEN_CP_OFF;
  gen_campaigns_t *g = campaigns_with(1000, on_off, 300);
  cdtime_t now = S(1000);
  mock_log_reset();
  mock_notifs_reset();

  /* Two listing pages, the progress of 151 chosen in two requests (100
   * ids at most), the stats of the 150 dialling ones: 154 requests. The
   * campaign without a status is skipped and counted. */
  EXPECT_EQ_INT(154, (int)gen_campaigns_run(g, &client, now));
  EXPECT_EQ_INT(2, n_list);
  EXPECT_EQ_INT(2, n_progress);
  EXPECT_EQ_INT(100, max_ids);
  EXPECT_EQ_INT(150, n_stats);
  OK(mock_log_contains("without an id or a campaignStatus"));
  EXPECT_EQ_INT(0, (int)mock_notifs_num); /* the first listing says nothing */
  put_all(g, &client);
  /* 151 chosen: 8 statuses and 3 progress values each; the dialling ones
   * their one statistic (idleAgents) */
  EXPECT_EQ_INT(151 * 11 + 150, got.n);
  EXPECT_EQ_INT(1, (int)put_of("Campaign 7/campaign_status/on"));
  EXPECT_EQ_INT(0, (int)put_of("Campaign 7/campaign_status/off"));
  EXPECT_EQ_INT(7, (int)put_of("Campaign 7/campaign_contacts/called"));
  EXPECT_EQ_INT(1000, (int)put_of("Campaign 7/campaign_contacts/total"));
  EXPECT_EQ_INT(12, (int)put_of("Campaign 120/campaign_percent/processed"));
  EXPECT_EQ_INT(42, (int)put_of("Campaign 42/campaign_agents/idle"));
  EXPECT_EQ_INT(1, (int)put_of("Campaign 150/campaign_status/off"));
  EXPECT_EQ_INT(-1, (int)put_of("Campaign 150/campaign_agents/idle"));

  /* Within Every nothing; past it a change of status is notified once:
   * c7 stops (a warning), c150 starts (okay). */
  EXPECT_EQ_INT(0, (int)gen_campaigns_run(g, &client, now + S(10)));
  snprintf(status_of[7], sizeof(status_of[7]), "OFF");
  snprintf(status_of[150], sizeof(status_of[150]), "on");
  EXPECT_EQ_INT(154, (int)gen_campaigns_run(g, &client, now + S(60)));
  EXPECT_EQ_INT(2, (int)mock_notifs_num);
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_WARNING, "Campaign_7",
                                          "campaign_status", ""));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_OKAY, "Campaign_150",
                                          "campaign_status", ""));
  OK(strstr(mock_notifs[0].message, "is now off (was on)") != NULL ||
     strstr(mock_notifs[1].message, "is now off (was on)") != NULL);
  EXPECT_EQ_INT(154, (int)gen_campaigns_run(g, &client, now + S(120)));
  EXPECT_EQ_INT(2, (int)mock_notifs_num); /* the same again: nothing */

  /* A stats answer that is not JSON: counted and logged, that campaign
   * without statistics, the rest goes on. */
  garbled_stats = true;
  mock_log_reset();
  EXPECT_EQ_INT(154, (int)gen_campaigns_run(g, &client, now + S(180)));
  OK(mock_log_contains("statistics of"));
  put_all(g, &client);
  EXPECT_EQ_INT(-1, (int)put_of("Campaign 42/campaign_agents/idle"));
  EXPECT_EQ_INT(42, (int)put_of("Campaign 42/campaign_contacts/called"));
  mock_values_reset();
  gen_campaigns_dispatch_stats(g, "acme", "genesys_realtime");
  EXPECT_EQ_INT(
      154 * 4, (int)mock_find("self", "campaign_requests", NULL)->value.derive);
  EXPECT_EQ_INT(
      150, (int)mock_find("self", "campaign_failures", NULL)->value.derive);
  /* the status-less campaign four times, 150 garbled answers */
  EXPECT_EQ_INT(
      154, (int)mock_find("self", "campaign_malformed", NULL)->value.derive);

  /* Progress entries without a campaign id or with a count of the wrong
   * type: skipped and counted (two a request, two requests), logged; one
   * of a campaign not listed passed over; the rest read. */
  garbled_stats = false;
  garbled_progress = true;
  mock_log_reset();
  EXPECT_EQ_INT(154, (int)gen_campaigns_run(g, &client, now + S(240)));
  OK(mock_log_contains("progress entries without a campaign id"));
  mock_values_reset();
  gen_campaigns_dispatch_stats(g, "acme", "genesys_realtime");
  EXPECT_EQ_INT(
      154 + 1 + 4,
      (int)mock_find("self", "campaign_malformed", NULL)->value.derive);
  put_all(g, &client);
  EXPECT_EQ_INT(42, (int)put_of("Campaign 42/campaign_contacts/called"));

  /* A 403: said once, the family stops, nothing put. */
  refuse = true;
  mock_log_reset();
  EXPECT_EQ_INT(1, (int)gen_campaigns_run(g, &client, now + S(300)));
  OK(mock_log_contains("outbound:campaign:view"));
  EXPECT_EQ_INT(0, (int)gen_campaigns_run(g, &client, now + S(360)));
  put_all(g, &client);
  EXPECT_EQ_INT(0, got.n);
  gen_campaigns_free(g);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

DEF_TEST(choice_and_budget) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  reset_api();
  /* CampaignsMax 10 of the ON ones only: one progress request of 10 ids,
   * 10 stats... */
  gen_campaigns_t *g = campaigns_with(10, 1u << GEN_CP_ON, 300);
  EXPECT_EQ_INT(13, (int)gen_campaigns_run(g, &client, S(1000)));
  EXPECT_EQ_INT(10, max_ids);
  put_all(g, &client);
  EXPECT_EQ_INT(10 * 12, got.n);
  EXPECT_EQ_INT(-1, (int)put_of("Campaign 10/campaign_status/on"));
  gen_campaigns_free(g);

  /* ...a budget of 20 a minute: the listing (2) and progress (2), then 16
   * stats; the sweep goes on where it stopped once the minute allows, and
   * never more than 20 in any 60 s. */
  reset_api();
  g = campaigns_with(1000, 1u << GEN_CP_ON, 20);
  EXPECT_EQ_INT(20, (int)gen_campaigns_run(g, &client, S(1000)));
  EXPECT_EQ_INT(16, n_stats);
  EXPECT_EQ_INT(0, (int)gen_campaigns_run(g, &client, S(1030)));
  EXPECT_EQ_INT(20, (int)gen_campaigns_run(g, &client, S(1060)));
  EXPECT_EQ_INT(36, n_stats);
  EXPECT_EQ_INT(2, n_list); /* one sweep so far */
  gen_campaigns_free(g);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

/* A message of topic with eventBody body (raw JSON text). */
static gen_notify_verdict_t message(gen_campaigns_t *g, const char *topic,
                                    const char *body) {
  char json[1024];
  snprintf(json, sizeof(json),
           "{\"topicName\":\"%s\",\"version\":\"2\",\"eventBody\":%s}", topic,
           body);
  return gen_campaigns_message(g, topic, json, strlen(json));
}

DEF_TEST(topics) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  reset_api();
  mock_notifs_reset();
  /* CampaignsMax 3 of the ON ones: c0, c1, c2 followed, two topics each */
  gen_campaigns_t *g = campaigns_with(3, 1u << GEN_CP_ON, 300);
  OK(!gen_campaigns_renewed(g));
  gen_campaigns_run(g, &client, S(1000));
  OK(gen_campaigns_renewed(g));
  OK(!gen_campaigns_renewed(g)); /* said once */
  size_t n = 0;
  char **topics = gen_campaigns_topics(g, calloc(1, sizeof(char *)), &n);
  EXPECT_EQ_INT(6, (int)n);
  EXPECT_EQ_STR("v2.outbound.campaigns.c0", topics[0]);
  EXPECT_EQ_STR("v2.outbound.campaigns.c0.progress", topics[1]);
  EXPECT_EQ_STR("v2.outbound.campaigns.c2.progress", topics[5]);
  OK(gen_campaigns_topic(g, topics[0]) && gen_campaigns_topic(g, topics[1]));
  OK(!gen_campaigns_topic(g, "v2.outbound.campaigns.c0.stats"));
  OK(!gen_campaigns_topic(NULL, topics[0]));

  /* Progress: the SDK topic model's float counts; in place at once. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(g, "v2.outbound.campaigns.c1.progress",
                        "{\"campaign\":{\"id\":\"c1\"},"
                        "\"numberOfContactsCalled\":250.0,"
                        "\"totalNumberOfContacts\":1000.0,\"percentage\":25}"));
  put_all(g, &client);
  EXPECT_EQ_INT(250, (int)put_of("Campaign 1/campaign_contacts/called"));
  EXPECT_EQ_INT(25, (int)put_of("Campaign 1/campaign_percent/processed"));
  EXPECT_EQ_INT(1, (int)put_of("Campaign 1/campaign_agents/idle"));

  /* ...or the route's form: integers. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(g, "v2.outbound.campaigns.c0.progress",
                        "{\"numberOfContactsCalled\":10,"
                        "\"totalNumberOfContacts\":1000,\"percentage\":1}"));
  put_all(g, &client);
  EXPECT_EQ_INT(10, (int)put_of("Campaign 0/campaign_contacts/called"));

  /* Status: lower case (the topic model's enum), a warning once; the
   * dialer's statistics go with it. A config change without a status
   * changes nothing. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(g, "v2.outbound.campaigns.c2",
                        "{\"id\":\"c2\",\"campaignStatus\":\"off\"}"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK, message(g, "v2.outbound.campaigns.c2",
                                       "{\"id\":\"c2\",\"name\":\"x\"}"));
  put_all(g, &client);
  EXPECT_EQ_INT(1, (int)put_of("Campaign 2/campaign_status/off"));
  EXPECT_EQ_INT(0, (int)put_of("Campaign 2/campaign_status/on"));
  EXPECT_EQ_INT(-1, (int)put_of("Campaign 2/campaign_agents/idle"));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_WARNING, "Campaign_2",
                                          "campaign_status", NULL));
  /* Upper case (the route's form) reads the same. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(g, "v2.outbound.campaigns.c2",
                        "{\"id\":\"c2\",\"campaignStatus\":\"OFF\"}"));
  EXPECT_EQ_INT(1, (int)mock_notifs_num);
  /* The next listing says OFF too: no second notification. */
  snprintf(status_of[2], sizeof(status_of[2]), "OFF");
  gen_campaigns_run(g, &client, S(1060));
  EXPECT_EQ_INT(1, (int)mock_notifs_num);
  OK(gen_campaigns_renewed(g)); /* c2 off: c3 followed instead */

  /* Malformed: counted, logged, nothing changed. A campaign not followed
   * is passed over. */
  mock_log_reset();
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED, message(g, "v2.outbound.campaigns.c1",
                                              "{\"campaignStatus\":7}"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                message(g, "v2.outbound.campaigns.c1.progress",
                        "{\"numberOfContactsCalled\":\"x\","
                        "\"totalNumberOfContacts\":2,\"percentage\":50}"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                message(g, "v2.outbound.campaigns.c1.progress",
                        "{\"campaign\":{\"id\":\"c0\"},"
                        "\"numberOfContactsCalled\":1,"
                        "\"totalNumberOfContacts\":2,\"percentage\":50}"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                message(g, "v2.outbound.campaigns.c1", "[1]"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK, message(g, "v2.outbound.campaigns.c140",
                                       "{\"campaignStatus\":\"off\"}"));
  OK(mock_log_contains("malformed message of v2.outbound.campaigns.c1"));
  gen_campaigns_dispatch_stats(g, "acme", "genesys_realtime");
  /* c151 of the two listings, the four messages */
  EXPECT_EQ_INT(
      2 + 4, (int)mock_find("self", "campaign_malformed", NULL)->value.derive);
  /* the five read of followed campaigns (c140's is not) */
  EXPECT_EQ_INT(5,
                (int)mock_find("self", "campaign_updates", NULL)->value.derive);
  put_all(g, &client);
  EXPECT_EQ_INT(1, (int)put_of("Campaign 1/campaign_status/on"));
  EXPECT_EQ_INT(1, (int)put_of("Campaign 1/campaign_contacts/called"));

  /* A channel's first connection is no gap; connecting again is: the
   * next read sweeps before CampaignsEvery. */
  int lists = n_list;
  gen_campaigns_connected(g, topics, n);
  EXPECT_EQ_INT(0, (int)gen_campaigns_run(g, &client, S(1070)));
  gen_campaigns_connected(g, topics, n);
  OK(gen_campaigns_run(g, &client, S(1071)) > 0);
  EXPECT_EQ_INT(lists + 2, n_list);
  gen_hub_topics_free(topics, n);
  gen_campaigns_free(g);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

/* The forms the record allows that an older reader refused, and words
 * Genesys may add: forced_off and forced_stopping (the SDKs' Campaign
 * since 2019), a campaignStatus this version does not know (on the listing
 * and on the topic: counted, the campaign's values dispatched, its status
 * unknown), a progress entry without one of its optional counts, a
 * connectRatio above 1. campaignStatus is the one enum field the reader
 * reads. */
DEF_TEST(words_genesys_may_add) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  reset_api();
  gen_campaigns_config_t def;
  gen_campaigns_config_init(&def);
  OK(def.statuses & (1u << GEN_CP_FORCED_STOPPING)); /* dialling: chosen */
  OK(def.statuses & (1u << GEN_CP_UNKNOWN));
  OK(!(def.statuses & (1u << GEN_CP_FORCED_OFF)));
  snprintf(status_of[0], sizeof(status_of[0]), "forced_off");
  snprintf(status_of[1], sizeof(status_of[1]), "FORCED_STOPPING");
  snprintf(status_of[2], sizeof(status_of[2]), "PAUSED");
  snprintf(status_of[3], sizeof(status_of[3]), "suspended");
  sparse_progress = wide_ratio = true;
  mock_log_reset();
  mock_notifs_reset();
  gen_campaigns_t *g =
      campaigns_with(1000, (1u << GEN_CP_STATUS_COUNT) - 1, 300);
  /* Two pages, two progress requests, the stats of c1..c149: the
   * forced_stopping one and the two of unknown status dial (or may). */
  EXPECT_EQ_INT(2 + 2 + 149, (int)gen_campaigns_run(g, &client, S(1000)));
  EXPECT_EQ_INT(149, n_stats);
  EXPECT_EQ_INT(2, (int)gen_stats_unknown_count(&client.stats, "campaigns",
                                                "campaignStatus"));
  OK(mock_log_contains("campaignStatus \"PAUSED\" is not a value"));
  OK(mock_log_contains("campaignStatus \"suspended\" is not a value"));
  put_all(g, &client);
  EXPECT_EQ_INT(151 * 11 - 2 + 149 * 4, got.n); /* 2 counts left out */
  EXPECT_EQ_INT(1, (int)put_of("Campaign 0/campaign_status/forced_off"));
  EXPECT_EQ_INT(0, (int)put_of("Campaign 0/campaign_status/off"));
  EXPECT_EQ_INT(1000, (int)put_of("Campaign 0/campaign_contacts/total"));
  EXPECT_EQ_INT(-1, (int)put_of("Campaign 0/campaign_agents/idle"));
  EXPECT_EQ_INT(1, (int)put_of("Campaign 1/campaign_status/forced_stopping"));
  EXPECT_EQ_INT(1, (int)put_of("Campaign 1/campaign_agents/idle"));
  EXPECT_EQ_INT(1, (int)put_of("Campaign 2/campaign_status/unknown"));
  EXPECT_EQ_INT(0, (int)put_of("Campaign 2/campaign_status/on"));
  EXPECT_EQ_INT(2, (int)put_of("Campaign 2/campaign_contacts/called"));
  EXPECT_EQ_INT(2, (int)put_of("Campaign 2/campaign_agents/idle"));
  EXPECT_EQ_INT(1, (int)put_of("Campaign 3/campaign_status/unknown"));
  /* a progress entry without its total, one without its percentage */
  EXPECT_EQ_INT(5, (int)put_of("Campaign 5/campaign_contacts/called"));
  EXPECT_EQ_INT(-1, (int)put_of("Campaign 5/campaign_contacts/total"));
  EXPECT_EQ_INT(0, (int)put_of("Campaign 5/campaign_percent/processed"));
  EXPECT_EQ_INT(1000, (int)put_of("Campaign 6/campaign_contacts/total"));
  EXPECT_EQ_INT(-1, (int)put_of("Campaign 6/campaign_percent/processed"));
  EXPECT_EQ_DOUBLE(1.25, put_of("Campaign 4/campaign_connect_ratio/connects"));
  mock_values_reset();
  gen_campaigns_dispatch_stats(g, "acme", "genesys_realtime");
  /* c151 (no campaignStatus at all) alone */
  EXPECT_EQ_INT(
      1, (int)mock_find("self", "campaign_malformed", NULL)->value.derive);

  /* Changes to and from them are notified; an unknown status by its word. */
  snprintf(status_of[4], sizeof(status_of[4]), "draining");
  snprintf(status_of[1], sizeof(status_of[1]), "forced_off");
  snprintf(status_of[2], sizeof(status_of[2]), "ON");
  gen_campaigns_run(g, &client, S(1060));
  EXPECT_EQ_INT(3, (int)mock_notifs_num);
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_WARNING, "Campaign_4",
                                          "campaign_status", NULL));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_WARNING, "Campaign_1",
                                          "campaign_status", NULL));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_OKAY, "Campaign_2",
                                          "campaign_status", NULL));
  bool said = false;
  for (size_t k = 0; k < mock_notifs_num; k++)
    said |= strstr(mock_notifs[k].message,
                   "is now unknown (\"draining\") (was on)") != NULL;
  OK(said);

  /* On the topic: an unknown word is taken too (the dialer's statistics
   * kept for the next sweep), counted; not malformed. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(g, "v2.outbound.campaigns.c7",
                        "{\"id\":\"c7\",\"campaignStatus\":\"held\"}"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK, message(g, "v2.outbound.campaigns.c8",
                                       "{\"id\":\"c8\",\"campaignStatus\":"
                                       "\"forced_stopping\"}"));
  /* each word met counted: 2 a listing, and "held" */
  EXPECT_EQ_INT(2 + 2 + 1, (int)gen_stats_unknown_count(
                               &client.stats, "campaigns", "campaignStatus"));
  /* a progress message without its total keeps the total read */
  EXPECT_EQ_INT(GEN_NOTIFY_OK, message(g, "v2.outbound.campaigns.c7.progress",
                                       "{\"numberOfContactsCalled\":70.0}"));
  put_all(g, &client);
  EXPECT_EQ_INT(1, (int)put_of("Campaign 7/campaign_status/unknown"));
  EXPECT_EQ_INT(70, (int)put_of("Campaign 7/campaign_contacts/called"));
  EXPECT_EQ_INT(1000, (int)put_of("Campaign 7/campaign_contacts/total"));
  EXPECT_EQ_INT(1, (int)put_of("Campaign 8/campaign_status/forced_stopping"));
  mock_values_reset();
  gen_campaigns_dispatch_stats(g, "acme", "genesys_realtime");
  EXPECT_EQ_INT(
      2, (int)mock_find("self", "campaign_malformed", NULL)->value.derive);
  gen_campaigns_free(g);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

int main(void) {
  RUN_TEST(stats_forms);
  RUN_TEST(stats_malformed);
  RUN_TEST(progress_forms);
  RUN_TEST(a_read_against_the_api);
  RUN_TEST(choice_and_budget);
  RUN_TEST(topics);
  RUN_TEST(words_genesys_may_add);
  END_TEST;
}
