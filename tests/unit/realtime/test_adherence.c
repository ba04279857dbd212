/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of real-time adherence (gen_adherence): an agent's update in
 * the topic's form and the REST model's, a unit's answer in both listing
 * forms, what is refused, and the values of a unit from its answer and its
 * topic's messages (an exception opened, closed, an agent removed), and
 * the notifications of an exception opened and closed (none for the agents
 * already out at the first read; none when AdherenceNotifications is off).
 */
#include "collectd/core/daemon/collectd.h"

#include "fake_client.h"
#include "gen_adherence.h"
#include "gen_http.c" /* its transport seam: a fake API */
#include "gen_hub.h"
#include "gen_notice.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <string.h>

static int parse(const char *text, gen_adh_update_t *u) {
  char err[128];
  json_object *o = json_tokener_parse(text);
  int status = gen_adh_parse_update(o, u, NULL, err, sizeof(err));
  json_object_put(o);
  return status;
}

DEF_TEST(update_forms) {
  gen_adh_update_t u;
  /* The topic's eventBody (WfmUserScheduleAdherenceUpdatedMuTopic...) */
  EXPECT_EQ_INT(
      0, parse("{\"user\":{\"id\":\"u1\"},\"managementUnitId\":\"mu1\","
               "\"adherenceState\":\"OutOfAdherence\",\"impact\":\"Negative\","
               "\"adherenceChangeTime\":\"2026-11-27T10:00:00.000Z\","
               "\"routingStatus\":\"IDLE\",\"activeQueues\":[{\"id\":\"q\"}]}",
               &u));
  EXPECT_EQ_STR("u1", u.user);
  EXPECT_EQ_STR("mu1", u.unit);
  EXPECT_EQ_INT(GEN_ADH_OUT, u.state);
  EXPECT_EQ_INT(GEN_ADH_NEGATIVE, u.impact);
  EXPECT_EQ_INT(1, (1795773600000LL == u.since_ms));
  EXPECT_EQ_INT(0, u.removed);
  /* The REST model (UserScheduleAdherence): timeOfAdherenceChange and
   * managementUnit.id; no impact is Unknown. */
  EXPECT_EQ_INT(0, parse("{\"user\":{\"id\":\"u2\"},\"managementUnit\":{\"id\":"
                         "\"mu2\"},\"adherenceState\":\"InAdherence\","
                         "\"timeOfAdherenceChange\":\"2026-11-27T10:00:01Z\"}",
                         &u));
  EXPECT_EQ_STR("mu2", u.unit);
  EXPECT_EQ_INT(GEN_ADH_IN, u.state);
  EXPECT_EQ_INT(GEN_ADH_IMPACT_UNKNOWN, u.impact);
  EXPECT_EQ_INT(1, (1795773601000LL == u.since_ms));
  /* Every state of the enum; one this version does not know is "other". */
  const char *states[] = {"InAdherence", "OutOfAdherence", "Unscheduled",
                          "Unknown",     "Ignored",        "Explained"};
  for (int s = 0; s < 6; s++) {
    char text[160];
    snprintf(text, sizeof(text),
             "{\"user\":{\"id\":\"u\"},\"adherenceState\":\"%s\"}", states[s]);
    EXPECT_EQ_INT(0, parse(text, &u));
    EXPECT_EQ_INT(s, u.state);
    EXPECT_EQ_STR(states[s], gen_adh_state_name(u.state));
  }
  EXPECT_EQ_INT(0, parse("{\"user\":{\"id\":\"u\"},\"adherenceState\":"
                         "\"OutdatedSdkVersion\",\"impact\":\"Odd\"}",
                         &u));
  EXPECT_EQ_INT(GEN_ADH_OTHER, u.state);
  EXPECT_EQ_INT(GEN_ADH_IMPACT_UNKNOWN, u.impact);
  EXPECT_EQ_INT(1, (-1 == u.since_ms)); /* no change time */
  /* removed from the unit */
  EXPECT_EQ_INT(0, parse("{\"user\":{\"id\":\"u\"},\"adherenceState\":"
                         "\"Unknown\",\"removedFromManagementUnit\":true}",
                         &u));
  EXPECT_EQ_INT(1, u.removed);
  /* refused: no user id, no state, a state not a string, not an object */
  EXPECT_EQ_INT(-EBADMSG, parse("{\"adherenceState\":\"InAdherence\"}", &u));
  EXPECT_EQ_INT(-EBADMSG, parse("{\"user\":{\"id\":\"u\"}}", &u));
  EXPECT_EQ_INT(-EBADMSG,
                parse("{\"user\":{\"id\":\"u\"},\"adherenceState\":3}", &u));
  EXPECT_EQ_INT(-EBADMSG, parse("[1]", &u));
  return 0;
}

static char listed_url[256];

static int listing(const char *text, size_t *n, size_t *bad) {
  gen_adh_update_t *v = NULL;
  char err[128];
  int status =
      gen_adh_read_listing(text, strlen(text), NULL, &v, n, bad, listed_url,
                           sizeof(listed_url), err, sizeof(err));
  free(v);
  return status;
}

DEF_TEST(listing_forms) {
  size_t n, bad;
  const char *one = "{\"user\":{\"id\":\"a\"},\"adherenceState\":\"Ignored\"}";
  char text[512];
  /* UserScheduleAdherenceListing, then a bare list (GET .../adherence) */
  snprintf(text, sizeof(text), "{\"entities\":[%s,%s,{\"user\":{}}]}", one,
           one);
  EXPECT_EQ_INT(0, listing(text, &n, &bad));
  EXPECT_EQ_INT(2, (int)n);
  EXPECT_EQ_INT(1, (int)bad);
  snprintf(text, sizeof(text), "[%s]", one);
  EXPECT_EQ_INT(0, listing(text, &n, &bad));
  EXPECT_EQ_INT(1, (int)n);
  EXPECT_EQ_INT(0, listing("{\"entities\":[]}", &n, &bad));
  EXPECT_EQ_INT(0, (int)n);
  /* a downloadUrl only (the entities absent, or empty): the URL to fetch;
   * with entities, they are the answer */
  EXPECT_EQ_INT(GEN_ADH_DOWNLOAD,
                listing("{\"downloadUrl\":\"https://x/y\"}", &n, &bad));
  EXPECT_EQ_STR("https://x/y", listed_url);
  EXPECT_EQ_INT(
      GEN_ADH_DOWNLOAD,
      listing("{\"entities\":[],\"downloadUrl\":\"/a/b\"}", &n, &bad));
  EXPECT_EQ_STR("/a/b", listed_url);
  snprintf(text, sizeof(text), "{\"entities\":[%s],\"downloadUrl\":\"/a\"}",
           one);
  EXPECT_EQ_INT(0, listing(text, &n, &bad));
  EXPECT_EQ_INT(1, (int)n);
  EXPECT_EQ_STR("", listed_url);
  /* a downloaded document that is a downloadUrl again (url NULL) */
  gen_adh_update_t *v = NULL;
  char err[128];
  const char *again = "{\"downloadUrl\":\"https://x/y\"}";
  EXPECT_EQ_INT(-EBADMSG,
                gen_adh_read_listing(again, strlen(again), NULL, &v, &n, &bad,
                                     NULL, 0, err, sizeof(err)));
  EXPECT_EQ_STR("a downloadUrl again", err);
  /* no list, not JSON */
  EXPECT_EQ_INT(-EBADMSG, listing("{\"downloadUrl\":\"\"}", &n, &bad));
  EXPECT_EQ_INT(-EBADMSG, listing("{}", &n, &bad));
  EXPECT_EQ_INT(-EBADMSG, listing("{\"entities\":", &n, &bad));
  return 0;
}

/* ---- reads against a fake API -------------------------------------------- */

#define S(s) TIME_T_TO_CDTIME_T(s)
#define T0 "2026-11-27T10:00:00.000Z" /* 1795773600000 */
#define DENIED                                                                 \
  "{\"message\":\"You are missing the following permission(s): "               \
  "wfm:realtimeAdherence:view\",\"code\":\"missing.permissions\","             \
  "\"status\":403}"

static int n_lists, n_units;
static bool refuse;
static bool dated;        /* the units' answers carry a Date header ... */
static int64_t date_skew; /* ... this far from our clock (ms) */

/* Five units mu0..mu4; each answers a1 out of adherence (Negative) since
 * T0 and a2 in adherence. */
static int fake_api(gen_http_t *http, const char *method, const char *url,
                    const char *body, struct curl_slist *headers,
                    gen_http_response_t *resp) {
  (void)http, (void)headers, (void)body;
  if (strstr(url, "/adherence") != NULL) {
    n_units++;
    fake_answer(resp, refuse ? 403 : 200,
                refuse ? DENIED
                       : "{\"entities\":[{\"user\":{\"id\":\"a1\"},"
                         "\"adherenceState\":\"OutOfAdherence\",\"impact\":"
                         "\"Negative\",\"timeOfAdherenceChange\":\"" T0 "\"},"
                         "{\"user\":{\"id\":\"a2\"},\"adherenceState\":"
                         "\"InAdherence\",\"impact\":\"Positive\"}]}");
    if (dated) {
      int64_t server = gen_cdtime_to_ms(cdtime()) + date_skew;
      resp->date_ms = server - server % 1000;
    }
    return 0;
  }
  n_lists++;
  char text[512] = "{\"entities\":[";
  for (int k = 0; k < 5; k++)
    snprintf(text + strlen(text), sizeof(text) - strlen(text),
             "%s{\"id\":\"mu%d\",\"name\":\"Unit %d\"}", k ? "," : "", k, k);
  snprintf(text + strlen(text), sizeof(text) - strlen(text), "]}");
  fake_answer(resp, 200, text);
  return 0;
}

static gen_adherence_t *adherence_budget(long per_minute) {
  gen_adherence_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_adherence_keys, &c);
  c.on = true;
  c.per_minute = per_minute;
  return gen_adherence_new(&c);
}

static gen_notify_verdict_t message(gen_adherence_t *a, const char *unit,
                                    const char *body) {
  char topic[128], json[1024], err[128];
  snprintf(topic, sizeof(topic), GEN_ADH_TOPIC_PREFIX "%s" GEN_ADH_TOPIC_SUFFIX,
           unit);
  snprintf(json, sizeof(json), "{\"topicName\":\"%s\",\"eventBody\":%s}", topic,
           body);
  return gen_adherence_message(a, topic, json, strlen(json), err, sizeof(err));
}

/* client against the fake API, nothing asked yet. */
static void fake_start(gen_client_t *client) {
  fake_client_init(client, "genesys_realtime", 0);
  http_perform = fake_api;
  n_lists = n_units = 0;
  refuse = dated = false;
}

DEF_TEST(reads_within_the_budget_and_topics) {
  gen_client_t client;
  fake_start(&client);
  /* 3 in any 60 s: the listing and two units; the other three wait. */
  gen_adherence_t *a = adherence_budget(3);
  cdtime_t now = S(1000);
  EXPECT_EQ_INT(1, gen_adherence_run(a, &client, now)); /* units changed */
  EXPECT_EQ_INT(1, n_lists);
  EXPECT_EQ_INT(2, n_units);
  int64_t t0 = 1795773600000LL, at = t0 + 90000; /* 90 s after T0 */
  mock_puts_t puts = {0};
  gen_adherence_put(a, client.org, at, mock_put_group, &puts);
  EXPECT_EQ_INT(2 * 13, puts.n);
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&puts, "Unit 0/adherence_agents/out_of_adherence"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&puts, "Unit 0/adherence_agents/in_adherence"));
  EXPECT_EQ_DOUBLE(0,
                   mock_puts_value(&puts, "Unit 0/adherence_agents/explained"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&puts, "Unit 0/adherence_out_agents/negative"));
  EXPECT_EQ_DOUBLE(
      0, mock_puts_value(&puts, "Unit 0/adherence_out_agents/positive"));
  EXPECT_EQ_DOUBLE(
      90, mock_puts_value(&puts, "Unit 0/adherence_out_duration/longest"));
  EXPECT_EQ_DOUBLE(-1,
                   mock_puts_value(&puts, "Unit 2/adherence_agents/unknown"));
  EXPECT_EQ_INT(0, gen_adherence_run(a, &client, now + S(59)));
  EXPECT_EQ_INT(2, n_units);
  EXPECT_EQ_INT(0, gen_adherence_run(a, &client, now + S(60)));
  EXPECT_EQ_INT(5, n_units); /* the three left, not the two read */
  EXPECT_EQ_INT(1, n_lists);
  /* A unit's topic: a2 falls out of adherence 30 s after T0 (Positive),
   * a3 joins in an exception; then a1's exception closes. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a2\"},\"managementUnitId\":"
                        "\"mu0\",\"adherenceState\":\"OutOfAdherence\","
                        "\"impact\":\"Positive\",\"adherenceChangeTime\":"
                        "\"2026-11-27T10:00:30.000Z\"}"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a3\"},\"adherenceState\":"
                        "\"OutOfAdherence\",\"adherenceChangeTime\":\"" T0
                        "\"}"));
  mock_puts_t two = {0};
  gen_adherence_put(a, client.org, at, mock_put_group, &two);
  EXPECT_EQ_INT(5 * 13, two.n);
  EXPECT_EQ_DOUBLE(
      3, mock_puts_value(&two, "Unit 0/adherence_agents/out_of_adherence"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&two, "Unit 0/adherence_out_agents/positive"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&two, "Unit 0/adherence_out_agents/unknown"));
  EXPECT_EQ_DOUBLE(
      90, mock_puts_value(&two, "Unit 0/adherence_out_duration/longest"));
  EXPECT_EQ_DOUBLE(90 + 60 + 90,
                   mock_puts_value(&two, "Unit 0/adherence_out_duration/sum"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a1\"},\"adherenceState\":"
                        "\"InAdherence\"}"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a3\"},\"adherenceState\":"
                        "\"Unknown\",\"removedFromManagementUnit\":true}"));
  /* malformed: counted, nothing changes; a unit not followed: ignored */
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED,
                message(a, "mu0", "{\"adherenceState\":\"InAdherence\"}"));
  EXPECT_EQ_INT(GEN_NOTIFY_MALFORMED, message(a, "mu0", "[]"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu9",
                        "{\"user\":{\"id\":\"a9\"},\"adherenceState\":"
                        "\"OutOfAdherence\"}"));
  mock_puts_t three = {0};
  gen_adherence_put(a, client.org, at, mock_put_group, &three);
  EXPECT_EQ_INT(5 * 13, three.n);
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&three, "Unit 0/adherence_agents/out_of_adherence"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&three, "Unit 0/adherence_agents/in_adherence"));
  EXPECT_EQ_DOUBLE(0,
                   mock_puts_value(&three, "Unit 0/adherence_agents/unknown"));
  EXPECT_EQ_DOUBLE(
      60, mock_puts_value(&three, "Unit 0/adherence_out_duration/longest"));
  /* Topics: one a unit, after those given. */
  size_t n = 1;
  char **topics = calloc(1, sizeof(*topics));
  topics[0] = strdup("v2.analytics.queues.q1.observations");
  topics = gen_adherence_topics(a, topics, &n);
  EXPECT_EQ_INT(6, (int)n);
  EXPECT_EQ_STR("v2.workforcemanagement.managementunits.mu4.adherence",
                topics[5]);
  EXPECT_EQ_INT(1, gen_adherence_topic(topics[5]));
  EXPECT_EQ_INT(0, gen_adherence_topic(topics[0]));
  gen_hub_topics_free(topics, n);
  /* A 403: the family stops, said once; nothing more asked or put. */
  refuse = true;
  EXPECT_EQ_INT(0, gen_adherence_run(a, &client, now + S(700)));
  int asked = n_units;
  EXPECT_EQ_INT(0, gen_adherence_run(a, &client, now + S(1400)));
  EXPECT_EQ_INT(asked, n_units);
  mock_puts_t none = {0};
  gen_adherence_put(a, client.org, at, mock_put_group, &none);
  EXPECT_EQ_INT(0, none.n);
  gen_adherence_free(a);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

/* The longest exception of Unit 0 (a1, out since T0) at T0 + 90 s on our
 * clock, its unit read with a Date header date_skew from our clock. */
static double longest_dated(int64_t skew) {
  gen_client_t client;
  fake_start(&client);
  dated = true, date_skew = skew;
  gen_adherence_t *a = adherence_budget(60);
  gen_adherence_run(a, &client, S(1000));
  mock_puts_t puts = {0};
  gen_adherence_put(a, client.org, 1795773600000LL + 90000, mock_put_group,
                    &puts);
  gen_adherence_free(a);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return mock_puts_value(&puts, "Unit 0/adherence_out_duration/longest");
}

/* The change times are Genesys' clock: so are the durations. Answers
 * dated by the same clock change nothing; Genesys' clock 5 s behind ours
 * (a host clock 5 s ahead) takes those 5 s off, within the half second
 * one answer's Date header (whole seconds) leaves. */
DEF_TEST(durations_on_genesys_clock) {
  EXPECT_EQ_DOUBLE(90, longest_dated(0));
  double d = longest_dated(-5000); /* 85, within half a second */
  OK(d >= 85 - 0.6 && d <= 85 + 0.6);
  d = longest_dated(7000);
  OK(d >= 97 - 0.6 && d <= 97 + 0.6);
  return 0;
}

/* How many notifications of severity unit "Unit 0" gave of user. */
static size_t said(int severity, const char *user) {
  return mock_notifs_count(severity, "Unit_0", GEN_ADH_NOTICE_TYPE, user);
}

static const char *said_text(size_t k) {
  return k < mock_notifs_num ? mock_notifs[k].message : "";
}

DEF_TEST(an_exception_opened_and_closed_is_notified) {
  gen_client_t client;
  fake_start(&client);
  mock_notifs_reset();
  gen_adherence_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_adherence_keys, &c);
  OK(!c.notify); /* off by default (the manual says why) */
  c.on = c.notify = true;
  c.per_minute = 300;
  gen_adherence_t *a = gen_adherence_new(&c);
  cdtime_t now = S(1000);
  /* The first read: a1 is out in every unit, and nothing is said. */
  EXPECT_EQ_INT(1, gen_adherence_run(a, &client, now));
  EXPECT_EQ_INT(5, n_units);
  EXPECT_EQ_INT(0, (int)mock_notifs_num);
  /* a2 falls out: one WARNING naming the unit, agent, state, impact and
   * since when; the same state again says nothing. */
  const char *a2_out =
      "{\"user\":{\"id\":\"a2\"},\"adherenceState\":\"OutOfAdherence\","
      "\"impact\":\"Negative\",\"adherenceChangeTime\":\"" T0 "\"}";
  EXPECT_EQ_INT(GEN_NOTIFY_OK, message(a, "mu0", a2_out));
  EXPECT_EQ_INT(GEN_NOTIFY_OK, message(a, "mu0", a2_out));
  EXPECT_EQ_INT(1, (int)mock_notifs_num);
  EXPECT_EQ_INT(1, (int)said(NOTIF_WARNING, "a2"));
  EXPECT_EQ_STR("Org \"acme\": management unit \"Unit 0\": agent a2 out of "
                "adherence: OutOfAdherence, impact Negative, since "
                "2026-11-27T10:00:00.000Z",
                said_text(0));
  /* a1, out since before the start, comes back: OKAY (its exception was
   * taken as said); a2 explained: OKAY too. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a1\"},\"adherenceState\":"
                        "\"InAdherence\",\"impact\":\"Positive\"}"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a2\"},\"adherenceState\":"
                        "\"Explained\"}"));
  EXPECT_EQ_INT(3, (int)mock_notifs_num);
  EXPECT_EQ_INT(1, (int)said(NOTIF_OKAY, "a1"));
  EXPECT_EQ_INT(1, (int)said(NOTIF_OKAY, "a2"));
  OK(strstr(said_text(1), "agent a1 no longer out of adherence: InAdherence, "
                          "impact Positive, since an unknown time") != NULL);
  /* a3 joins out, then is removed from the unit: WARNING, then OKAY. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu1",
                        "{\"user\":{\"id\":\"a3\"},\"adherenceState\":"
                        "\"OutOfAdherence\"}"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu1",
                        "{\"user\":{\"id\":\"a3\"},\"adherenceState\":"
                        "\"Unknown\",\"removedFromManagementUnit\":true}"));
  EXPECT_EQ_INT(5, (int)mock_notifs_num);
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_WARNING, "Unit_1", NULL, "a3"));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_OKAY, "Unit_1", NULL, "a3"));
  OK(strstr(said_text(4), "agent a3 left the unit (was OutOfAdherence") !=
     NULL);
  /* The next whole read of mu0 answers a1 out again (a change the topic
   * did not carry) and a2 in: WARNING for a1; a2 was said OKAY already. */
  EXPECT_EQ_INT(0, gen_adherence_run(a, &client, now + S(600)));
  EXPECT_EQ_INT(10, n_units);
  EXPECT_EQ_INT(6, (int)mock_notifs_num);
  EXPECT_EQ_INT(1, (int)said(NOTIF_WARNING, "a1"));
  gen_adherence_free(a);

  /* Off: the same changes say nothing. */
  mock_notifs_reset();
  c.notify = false;
  a = gen_adherence_new(&c);
  gen_client_t other;
  fake_client_init(&other, "genesys_realtime", 0);
  EXPECT_EQ_INT(1, gen_adherence_run(a, &other, now));
  EXPECT_EQ_INT(GEN_NOTIFY_OK, message(a, "mu0", a2_out));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a1\"},\"adherenceState\":"
                        "\"InAdherence\"}"));
  EXPECT_EQ_INT(0, (int)mock_notifs_num);
  gen_adherence_free(a);
  fake_client_free(&other);

  /* A flood: 70 agents out at once are 60 notifications (the org's
   * NotificationsPerMinute), the 10 beyond held back and counted. */
  c.notify = true;
  a = gen_adherence_new(&c);
  fake_client_init(&other, "genesys_realtime", 0);
  EXPECT_EQ_INT(1, gen_adherence_run(a, &other, now));
  for (int k = 0; k < 70; k++) {
    char body[160];
    snprintf(body, sizeof(body),
             "{\"user\":{\"id\":\"f%d\"},\"adherenceState\":"
             "\"OutOfAdherence\"}",
             k);
    EXPECT_EQ_INT(GEN_NOTIFY_OK, message(a, "mu3", body));
  }
  EXPECT_EQ_INT(60, (int)mock_notifs_num);
  EXPECT_EQ_INT(10, (int)gen_notices_held(other.org));
  gen_adherence_free(a);
  fake_client_free(&other);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

/* ---- words Genesys may add -------------------------------------------- */

static const char *unknown_answer;

static int unknown_api(gen_http_t *http, const char *method, const char *url,
                       const char *body, struct curl_slist *headers,
                       gen_http_response_t *resp) {
  (void)http, (void)method, (void)body, (void)headers;
  fake_answer(resp, 200,
              strstr(url, "/adherence") != NULL
                  ? unknown_answer
                  : "{\"entities\":[{\"id\":\"mu0\",\"name\":\"Unit 0\"}]}");
  return 0;
}

/* Each enum field the reader reads (adherenceState, impact) with a word
 * this version does not know, in the route's answer and in a topic's
 * message: each counted in unknown_values under its field, the agent
 * counted under "other" / "unknown", and every other agent and value of
 * the answer there. */
DEF_TEST(unknown_words_are_counted_and_the_rest_dispatched) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = unknown_api;
  unknown_answer =
      "{\"entities\":["
      "{\"user\":{\"id\":\"a1\"},\"adherenceState\":\"OutOfAdherence\","
      "\"impact\":\"Negative\",\"timeOfAdherenceChange\":\"" T0 "\"},"
      "{\"user\":{\"id\":\"a2\"},\"adherenceState\":\"OnTheMoon\","
      "\"impact\":\"Neutral\"},"
      "{\"user\":{\"id\":\"a3\"},\"adherenceState\":\"OutOfAdherence\","
      "\"impact\":\"Catastrophic\",\"timeOfAdherenceChange\":\"" T0 "\"},"
      "{\"user\":{\"id\":\"a4\"},\"adherenceState\":\"InAdherence\","
      "\"impact\":\"Positive\"}]}";
  gen_adherence_t *a = adherence_budget(60);
  EXPECT_EQ_INT(1, gen_adherence_run(a, &client, S(1000)));
  EXPECT_EQ_INT(1, (int)gen_stats_unknown_count(&client.stats, "adherence",
                                                "adherenceState"));
  EXPECT_EQ_INT(
      1, (int)gen_stats_unknown_count(&client.stats, "adherence", "impact"));
  OK(mock_log_contains("adherenceState \"OnTheMoon\" is not a value"));
  OK(mock_log_contains("impact \"Catastrophic\" is not a value"));
  int64_t at = 1795773600000LL + 60000;
  mock_puts_t puts = {0};
  gen_adherence_put(a, client.org, at, mock_put_group, &puts);
  EXPECT_EQ_INT(13, puts.n);
  EXPECT_EQ_DOUBLE(1, mock_puts_value(&puts, "Unit 0/adherence_agents/other"));
  EXPECT_EQ_DOUBLE(
      2, mock_puts_value(&puts, "Unit 0/adherence_agents/out_of_adherence"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&puts, "Unit 0/adherence_agents/in_adherence"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&puts, "Unit 0/adherence_out_agents/negative"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&puts, "Unit 0/adherence_out_agents/unknown"));
  EXPECT_EQ_DOUBLE(120,
                   mock_puts_value(&puts, "Unit 0/adherence_out_duration/sum"));
  EXPECT_EQ_INT(0, (int)atomic_load(&client.stats.malformed));
  /* The topic: a4 in a new state with a new impact, a2 with an impact not
   * a known word either; both applied, each word counted. */
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a4\"},\"adherenceState\":"
                        "\"Teleported\",\"impact\":\"Cosmic\"}"));
  EXPECT_EQ_INT(GEN_NOTIFY_OK,
                message(a, "mu0",
                        "{\"user\":{\"id\":\"a2\"},\"adherenceState\":"
                        "\"OutOfAdherence\",\"impact\":\"Sideways\","
                        "\"adherenceChangeTime\":\"" T0 "\"}"));
  EXPECT_EQ_INT(2, (int)gen_stats_unknown_count(&client.stats, "adherence",
                                                "adherenceState"));
  EXPECT_EQ_INT(
      3, (int)gen_stats_unknown_count(&client.stats, "adherence", "impact"));
  mock_puts_t two = {0};
  gen_adherence_put(a, client.org, at, mock_put_group, &two);
  EXPECT_EQ_DOUBLE(1, mock_puts_value(&two, "Unit 0/adherence_agents/other"));
  EXPECT_EQ_DOUBLE(
      0, mock_puts_value(&two, "Unit 0/adherence_agents/in_adherence"));
  EXPECT_EQ_DOUBLE(
      3, mock_puts_value(&two, "Unit 0/adherence_agents/out_of_adherence"));
  EXPECT_EQ_DOUBLE(
      2, mock_puts_value(&two, "Unit 0/adherence_out_agents/unknown"));
  EXPECT_EQ_DOUBLE(180,
                   mock_puts_value(&two, "Unit 0/adherence_out_duration/sum"));
  gen_adherence_free(a);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

/* ---- an answer that is only a downloadUrl -------------------------------- */

#define ONE_AGENT                                                              \
  "{\"entities\":[{\"user\":{\"id\":\"d1\"},\"adherenceState\":"               \
  "\"OutOfAdherence\",\"impact\":\"Positive\",\"timeOfAdherenceChange\":"      \
  "\"" T0 "\"}]}"

static const char *dl_url; /* the downloadUrl the unit answers */
static long dl_no_token;   /* what the download answers without a token */
static int dl_asked, dl_with_token, unit_with_token;

static bool has_token(const struct curl_slist *h) {
  for (; h != NULL; h = h->next)
    if (strncasecmp(h->data, "Authorization: Bearer ", 22) == 0)
      return true;
  return false;
}

static int dl_api(gen_http_t *http, const char *method, const char *url,
                  const char *body, struct curl_slist *headers,
                  gen_http_response_t *resp) {
  (void)http, (void)method, (void)body;
  if (strstr(url, "/managementunits/mu0/adherence") != NULL) {
    unit_with_token += has_token(headers);
    char text[512];
    snprintf(text, sizeof(text), "{\"downloadUrl\":\"%s\"}", dl_url);
    fake_answer(resp, 200, text);
  } else if (strstr(url, "download") != NULL) {
    dl_asked++;
    bool token = has_token(headers);
    dl_with_token += token;
    fake_answer(resp, token ? 200 : dl_no_token,
                token || dl_no_token == 200 ? ONE_AGENT
                                            : "<Error>AccessDenied</Error>");
  } else {
    fake_answer(resp, 200, "{\"entities\":[{\"id\":\"mu0\",\"name\":\"U\"}]}");
  }
  return 0;
}

static int dl_token(void *ud, char *buf, size_t size, uint64_t *generation) {
  (void)ud;
  snprintf(buf, size, "t0k3n");
  *generation = 1;
  return 0;
}

/* One read of the unit whose answer is only dl_url, the download answering
 * no_token without the token: the agents the unit then has (-1: no values).
 */
static double read_download(const char *url, long no_token) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 2); /* 2 retries */
  ((gen_org_t *)client.org)->login_base_url =
      strdup("https://login.example.test");
  gen_http_free(client.http);
  client.http = gen_http_create(client.org, &client.stats,
                                &(gen_http_tokens_t){.token = dl_token});
  http_perform = dl_api;
  dl_url = url, dl_no_token = no_token;
  dl_asked = dl_with_token = unit_with_token = 0;
  gen_adherence_t *a = adherence_budget(60);
  gen_adherence_run(a, &client, S(1000));
  mock_puts_t puts = {0};
  gen_adherence_put(a, client.org, 1795773600000LL + 30000, mock_put_group,
                    &puts);
  double out = mock_puts_value(&puts, "U/adherence_agents/out_of_adherence");
  if (out == 1)
    EXPECT_EQ_DOUBLE(
        30, mock_puts_value(&puts, "U/adherence_out_duration/longest"));
  gen_adherence_free(a);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return out;
}

DEF_TEST(a_download_url_answer_is_fetched) {
  /* A pre-signed URL on a storage host: fetched without the token. */
  EXPECT_EQ_DOUBLE(1, read_download("https://s3.example.test/download/mu0?"
                                    "X-Amz-Signature=ab",
                                    200));
  EXPECT_EQ_INT(1, dl_asked);
  EXPECT_EQ_INT(0, dl_with_token);
  EXPECT_EQ_INT(1, unit_with_token); /* the route itself with it */
  /* The storage host wants more than the URL: the token is never sent
   * there; the unit has no values, a failure is counted and logged, and
   * the family goes on (not a refusal). */
  mock_log_reset();
  EXPECT_EQ_DOUBLE(-1,
                   read_download("https://s3.example.test/download/mu0", 403));
  EXPECT_EQ_INT(1, dl_asked);
  EXPECT_EQ_INT(0, dl_with_token);
  OK(mock_log_contains("downloadUrl answered HTTP 403 without the token, and "
                       "is not on the API's origin"));
  OK(!mock_log_contains("needs the OAuth permission"));
  /* On the API's own origin: asked without the token, then with it. */
  EXPECT_EQ_DOUBLE(
      1, read_download("https://api.example.test/api/v2/download/mu0", 401));
  EXPECT_EQ_INT(2, dl_asked);
  EXPECT_EQ_INT(1, dl_with_token);
  /* A path is the API's: asked with the token. */
  EXPECT_EQ_DOUBLE(1, read_download("/api/v2/download/mu0", 401));
  EXPECT_EQ_INT(1, dl_asked);
  EXPECT_EQ_INT(1, dl_with_token);
  /* The storage host fails (503): asked once, not retried (its failure
   * never makes the org's requests rest). */
  EXPECT_EQ_DOUBLE(-1,
                   read_download("https://s3.example.test/download/mu0", 503));
  EXPECT_EQ_INT(1, dl_asked);
  /* Not an allowed URL (plain http to a remote host): refused, not
   * asked. */
  EXPECT_EQ_DOUBLE(-1, read_download("http://s3.example.test/download/x", 200));
  EXPECT_EQ_INT(0, dl_asked);
  return 0;
}

int main(void) {
  RUN_TEST(update_forms);
  RUN_TEST(listing_forms);
  RUN_TEST(reads_within_the_budget_and_topics);
  RUN_TEST(an_exception_opened_and_closed_is_notified);
  RUN_TEST(unknown_words_are_counted_and_the_rest_dispatched);
  RUN_TEST(a_download_url_answer_is_fetched);
  RUN_TEST(durations_on_genesys_clock);
  END_TEST;
}
