/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of agent states by division, team and management unit
 * (gen_agent_groups): the counts answer in every form the record allows
 * (UNKNOWN routing statuses, words this version does not know) and
 * malformed ones, the request bodies, and reads against a fake API (teams
 * and units by their predicates; a route refusing the teamId predicate,
 * teams then by members: a team of 150 members in two requests, each member
 * once; Every; a sweep spread over reads within the budget; a 403 that
 * stops the family).
 */
#include "collectd/core/daemon/collectd.h"

#include "fake_client.h"
#include "gen_agent_groups.h"
#include "gen_http.c" /* its transport seam: a fake API */
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#define S(s) TIME_T_TO_CDTIME_T(s)

static int read_text(const char *text, gen_ag_counts_t *c, size_t *malformed) {
  char err[128];
  memset(c, 0, sizeof(*c));
  return gen_ag_read(NULL, text, text ? strlen(text) : 0, c, malformed, err,
                     sizeof(err));
}

DEF_TEST(answer_forms) {
  gen_ag_counts_t c;
  size_t bad;
  /* The SDK's form: routing statuses as enums, presences with the org's
   * presence id; two org presences of one system presence are summed. */
  EXPECT_EQ_INT(
      0,
      read_text("{\"routingStatusCounts\":[{\"routingStatus\":\"IDLE\","
                "\"count\":3},{\"routingStatus\":\"NOT_RESPONDING\","
                "\"count\":1}],\"presenceCounts\":[{\"systemPresence\":"
                "\"ON_QUEUE\",\"organizationPresenceId\":\"p1\",\"count\":"
                "4},{\"systemPresence\":\"BREAK\",\"organizationPresenceId\":"
                "\"p2\",\"count\":2},{\"systemPresence\":\"BREAK\","
                "\"organizationPresenceId\":\"p3\",\"count\":5}]}",
                &c, &bad));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(3, (int)c.routing[GEN_ROUTING_IDLE]);
  EXPECT_EQ_INT(1, (int)c.routing[GEN_ROUTING_NOT_RESPONDING]);
  EXPECT_EQ_INT(0, (int)c.routing[GEN_ROUTING_INTERACTING]);
  EXPECT_EQ_INT(4, (int)c.presence[GEN_PRESENCE_ON_QUEUE]);
  EXPECT_EQ_INT(7, (int)c.presence[GEN_PRESENCE_BREAK]);
  /* Other spellings; an unknown system presence is "other". */
  EXPECT_EQ_INT(0, read_text("{\"routingStatusCounts\":[{\"routingStatus\":"
                             "\"Interacting\",\"count\":2}],\"presenceCounts\":"
                             "[{\"systemPresence\":\"On Queue\",\"count\":1},"
                             "{\"systemPresence\":\"Gardening\",\"count\":6}]}",
                             &c, &bad));
  EXPECT_EQ_INT(2, (int)c.routing[GEN_ROUTING_INTERACTING]);
  EXPECT_EQ_INT(1, (int)c.presence[GEN_PRESENCE_ON_QUEUE]);
  EXPECT_EQ_INT(6, (int)c.presence[GEN_PRESENCE_OTHER]);
  /* The enums' UNKNOWN (AgentStateRoutingStatusCount,
   * AgentStatePresenceCount, python SDK 231.0.0 on): routing "unknown",
   * presence "other". */
  EXPECT_EQ_INT(0, read_text("{\"routingStatusCounts\":[{\"routingStatus\":"
                             "\"UNKNOWN\",\"count\":4},{\"routingStatus\":"
                             "\"IDLE\",\"count\":1}],\"presenceCounts\":["
                             "{\"systemPresence\":\"UNKNOWN\",\"count\":3}]}",
                             &c, &bad));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(4, (int)c.routing[GEN_AG_ROUTING_UNKNOWN]);
  EXPECT_EQ_INT(1, (int)c.routing[GEN_ROUTING_IDLE]);
  EXPECT_EQ_INT(3, (int)c.presence[GEN_PRESENCE_OTHER]);
  /* A group with nobody: lists empty or left out, all 0. */
  EXPECT_EQ_INT(0, read_text("{}", &c, &bad));
  EXPECT_EQ_INT(0, read_text("{\"routingStatusCounts\":[],\"segmentCounts\":"
                             "[{\"segmentType\":\"x\",\"count\":9}]}",
                             &c, &bad));
  EXPECT_EQ_INT(0, (int)bad);
  for (int r = 0; r < GEN_ROUTING_COUNT; r++)
    EXPECT_EQ_INT(0, (int)c.routing[r]);
  return 0;
}

DEF_TEST(malformed_answers) {
  gen_ag_counts_t c;
  size_t bad;
  EXPECT_EQ_INT(-EBADMSG, read_text(NULL, &c, &bad));
  EXPECT_EQ_INT(-EBADMSG, read_text("", &c, &bad));
  EXPECT_EQ_INT(-EBADMSG, read_text("[1]", &c, &bad));
  EXPECT_EQ_INT(-EBADMSG, read_text("{\"routingStatusCounts\":", &c, &bad));
  /* Entries without a count of 0 or more: skipped and counted, the rest
   * read; a status we do not know is "unknown", not malformed. */
  EXPECT_EQ_INT(
      0, read_text("{\"routingStatusCounts\":[{\"routingStatus\":\"DANCING\","
                   "\"count\":1},{\"routingStatus\":\"IDLE\",\"count\":-1},"
                   "{\"routingStatus\":\"IDLE\",\"count\":\"2\"},"
                   "{\"routingStatus\":\"IDLE\",\"count\":1e300},"
                   "{\"routingStatus\":\"IDLE\",\"count\":9007199254740993},7,"
                   "{\"routingStatus\":\"OFF_QUEUE\",\"count\":4}],"
                   "\"presenceCounts\":[{\"systemPresence\":\"AWAY\"},"
                   "{\"systemPresence\":\"AWAY\",\"count\":2}]}",
                   &c, &bad));
  EXPECT_EQ_INT(6, (int)bad);
  EXPECT_EQ_INT(1, (int)c.routing[GEN_AG_ROUTING_UNKNOWN]);
  EXPECT_EQ_INT(0, (int)c.routing[GEN_ROUTING_IDLE]);
  EXPECT_EQ_INT(4, (int)c.routing[GEN_ROUTING_OFF_QUEUE]);
  EXPECT_EQ_INT(2, (int)c.presence[GEN_PRESENCE_AWAY]);
  /* A routing entry without a status (optional in the record): unknown. */
  EXPECT_EQ_INT(
      0, read_text("{\"routingStatusCounts\":[{\"count\":2}]}", &c, &bad));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(2, (int)c.routing[GEN_AG_ROUTING_UNKNOWN]);
  return 0;
}

/* A word Genesys may add in each enum field the reader reads
 * (routingStatus, systemPresence; segmentType is in a list not read):
 * counted in unknown_values, its entry under "unknown" or "other", the rest
 * of the answer read whole. */
#define NEW_WORDS                                                              \
  "{\"segmentCounts\":[{\"segmentType\":\"teleport\",\"count\":1}],"           \
  "\"routingStatusCounts\":[{\"routingStatus\":\"DAYDREAMING\",\"count\":"     \
  "2},{\"routingStatus\":\"UNKNOWN\",\"count\":1},{\"routingStatus\":"         \
  "\"IDLE\",\"count\":3}],\"presenceCounts\":[{\"systemPresence\":"            \
  "\"HIBERNATING\",\"organizationPresenceId\":\"p9\",\"count\":5},"            \
  "{\"systemPresence\":\"ON_QUEUE\",\"organizationPresenceId\":\"p1\","        \
  "\"count\":1}]}"

DEF_TEST(unknown_words) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  gen_ag_counts_t c = {0};
  size_t bad;
  char err[128];
  mock_log_reset();
  EXPECT_EQ_INT(0, gen_ag_read(&client, NEW_WORDS, strlen(NEW_WORDS), &c, &bad,
                               err, sizeof(err)));
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(3, (int)c.routing[GEN_AG_ROUTING_UNKNOWN]);
  EXPECT_EQ_INT(3, (int)c.routing[GEN_ROUTING_IDLE]);
  EXPECT_EQ_INT(5, (int)c.presence[GEN_PRESENCE_OTHER]);
  EXPECT_EQ_INT(1, (int)c.presence[GEN_PRESENCE_ON_QUEUE]);
  EXPECT_EQ_INT(1, (int)gen_stats_unknown_count(&client.stats, "agent_groups",
                                                "routingStatus"));
  EXPECT_EQ_INT(1, (int)gen_stats_unknown_count(&client.stats, "agent_groups",
                                                "systemPresence"));
  OK(mock_log_contains("DAYDREAMING"));
  OK(mock_log_contains("HIBERNATING"));
  /* UNKNOWN is the enum's own: not a new word */
  OK(!mock_log_contains("\"UNKNOWN\""));
  fake_client_free(&client);
  return 0;
}

DEF_TEST(request_bodies) {
  const char *d[] = {"d-1"};
  char *b = gen_ag_body("divisionId", d, 1);
  EXPECT_EQ_STR("{\"userFilter\":{\"type\":\"and\",\"predicates\":[{"
                "\"dimension\":\"divisionId\",\"value\":\"d-1\"}]}}",
                b);
  free(b);
  b = gen_ag_body("teamId", d, 1);
  EXPECT_EQ_STR("{\"userFilter\":{\"type\":\"and\",\"predicates\":[{"
                "\"dimension\":\"teamId\",\"value\":\"d-1\"}]}}",
                b);
  free(b);
  const char *ids[] = {"u1", "u\"2"};
  b = gen_ag_body("userId", ids, 2);
  EXPECT_EQ_STR("{\"userFilter\":{\"type\":\"or\",\"predicates\":[{"
                "\"dimension\":\"userId\",\"value\":\"u1\"},{\"dimension\":"
                "\"userId\",\"value\":\"u\\\"2\"}]}}",
                b);
  free(b);
  return 0;
}

/* ---- reads against a fake API -------------------------------------------- */

static int n_counts, n_lists, max_predicates;
static bool refuse_counts, refuse_teams, fail_members;
/* an API before the teamId and managementUnitId predicates: 400 */
static bool refuse_team_pred, refuse_unit_pred;

static int count_of(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
    n++;
  return n;
}

#define DENIED(perm)                                                           \
  "{\"message\":\"Unable to perform the requested action. You are missing "    \
  "the following permission(s): " perm "\",\"code\":\"missing.permissions\","  \
  "\"status\":403}"

/* Two divisions; one team, t1, of 150 members u0..u149; one management
 * unit, m1. A division's request answers d1: 2 IDLE, 1 OFF_QUEUE; d2:
 * nobody. A team batch of n members answers n IDLE and n ON_QUEUE, and
 * t1's teamId predicate 150 of each; m1's answer has a new word in each
 * enum field (NEW_WORDS). */
static int fake_api(gen_http_t *http, const char *method, const char *url,
                    const char *body, struct curl_slist *headers,
                    gen_http_response_t *resp) {
  (void)http, (void)headers;
  if (strcmp(method, "GET") == 0) {
    n_lists++;
    if (strstr(url, "/api/v2/teams") != NULL && refuse_teams) {
      fake_answer(resp, 403, DENIED("groups:team:view"));
    } else if (strstr(url, "/authorization/divisions") != NULL) {
      fake_answer(resp, 200,
                  "{\"entities\":[{\"id\":\"d1\",\"name\":\"Home\"},"
                  "{\"id\":\"d2\",\"name\":\"Sales\"}]}");
    } else if (strstr(url, "/workforcemanagement/managementunits") != NULL) {
      fake_answer(resp, 200,
                  "{\"entities\":[{\"id\":\"m1\",\"name\":\"North\"}]}");
    } else if (strstr(url, "/teams/t1/members") != NULL && fail_members) {
      fake_answer(resp, 500, "{\"code\":\"internal.server.error\"}");
    } else if (strstr(url, "/teams/t1/members") != NULL) {
      char text[16384] = "{\"entities\":[";
      for (int k = 0; k < 150; k++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text),
                 "%s{\"id\":\"u%d\",\"name\":\"U %d\"}", k ? "," : "", k, k);
      snprintf(text + strlen(text), sizeof(text) - strlen(text), "]}");
      fake_answer(resp, 200, text);
    } else if (strstr(url, "/api/v2/teams") != NULL) {
      fake_answer(resp, 200,
                  "{\"entities\":[{\"id\":\"t1\",\"name\":"
                  "\"Night shift\"}]}");
    } else {
      fake_answer(resp, 404, "{\"code\":\"not.found\",\"status\":404}");
    }
    return 0;
  }
  OK(strstr(url, "/api/v2/analytics/agents/status/counts?groupBy="
                 "routingStatus&groupBy=presence") != NULL);
  n_counts++;
  if (refuse_counts) {
    fake_answer(resp, 403, DENIED("analytics:agentState:view"));
    return 0;
  }
  int users = count_of(body, "\"userId\"");
  if (users > max_predicates)
    max_predicates = users;
  if ((refuse_team_pred && strstr(body, "\"teamId\"") != NULL) ||
      (refuse_unit_pred && strstr(body, "\"managementUnitId\"") != NULL)) {
    fake_answer(resp, 400,
                "{\"message\":\"Invalid predicate\",\"code\":"
                "\"bad.request\",\"status\":400}");
    return 0;
  }
  char text[512];
  if (strstr(body, "\"teamId\",\"value\":\"t1\"") != NULL)
    users = 150;
  if (strstr(body, "\"managementUnitId\",\"value\":\"m1\"") != NULL)
    snprintf(text, sizeof(text), "%s", NEW_WORDS);
  else if (strstr(body, "\"d1\"") != NULL)
    snprintf(text, sizeof(text),
             "{\"routingStatusCounts\":[{\"routingStatus\":\"IDLE\",\"count\":"
             "2},{\"routingStatus\":\"OFF_QUEUE\",\"count\":1}]}");
  else if (users > 0)
    snprintf(text, sizeof(text),
             "{\"routingStatusCounts\":[{\"routingStatus\":\"IDLE\",\"count\":"
             "%d}],\"presenceCounts\":[{\"systemPresence\":\"ON_QUEUE\","
             "\"organizationPresenceId\":\"p\",\"count\":%d}]}",
             users, users);
  else
    snprintf(text, sizeof(text), "{}");
  fake_answer(resp, 200, text);
  return 0;
}

static gen_agent_groups_t *groups_budget(bool division, bool team,
                                         long per_minute) {
  gen_agent_groups_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_agent_groups_keys, &c);
  c.by_division = division;
  c.by_team = team;
  c.per_minute = per_minute;
  return gen_agent_groups_new(&c);
}

#define PER_GROUP (GEN_AG_ROUTING_COUNT + GEN_PRESENCE_COUNT)

static gen_agent_groups_t *groups_on(bool division, bool team) {
  return groups_budget(division, team, 60);
}

DEF_TEST(a_read_against_the_api) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  n_counts = n_lists = max_predicates = 0;
  refuse_counts = refuse_teams = refuse_unit_pred = false;
  refuse_team_pred = true; /* an API before teamId: the member path */
  OK(groups_on(false, false) == NULL); /* off: nothing made */
  gen_agent_groups_t *g = groups_on(true, true);
  cdtime_t now = S(1000);

  /* Two divisions one request each; the team's teamId predicate refused
   * (400, said once), then its 150 members in two (at most 100 predicates
   * a request). */
  mock_log_reset();
  EXPECT_EQ_INT(5, (int)gen_agent_groups_run(g, &client, now));
  EXPECT_EQ_INT(5, n_counts);
  EXPECT_EQ_INT(100, max_predicates);
  OK(mock_log_contains("refused the teamId predicate"));
  EXPECT_EQ_INT(3, n_lists); /* divisions, teams, t1's members */
  mock_puts_t puts = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &puts);
  /* every routing status and presence of each of the three groups */
  EXPECT_EQ_INT(3 * PER_GROUP, puts.n);
  EXPECT_EQ_INT(
      2, (int)mock_puts_value(&puts, "Home/division_agents_routing/idle"));
  EXPECT_EQ_INT(
      1, (int)mock_puts_value(&puts, "Home/division_agents_routing/off_queue"));
  EXPECT_EQ_INT(
      0, (int)mock_puts_value(&puts, "Sales/division_agents_routing/idle"));
  EXPECT_EQ_INT(
      150, (int)mock_puts_value(&puts, "Night shift/team_agents_routing/idle"));
  EXPECT_EQ_INT(150, (int)mock_puts_value(
                         &puts, "Night shift/team_agents_presence/on_queue"));
  EXPECT_EQ_INT(0, (int)mock_puts_value(
                       &puts, "Night shift/team_agents_presence/offline"));

  /* Within Every nothing is asked; past it every group again, the
   * listings only past ListEvery. */
  EXPECT_EQ_INT(0, (int)gen_agent_groups_run(g, &client, now + S(30)));
  EXPECT_EQ_INT(4, (int)gen_agent_groups_run(g, &client, now + S(60)));
  EXPECT_EQ_INT(3, n_lists);
  EXPECT_EQ_INT(4, (int)gen_agent_groups_run(g, &client, now + S(600)));
  EXPECT_EQ_INT(6, n_lists);
  mock_values_reset();
  gen_agent_groups_dispatch_stats(g, "acme", "genesys_realtime");
  EXPECT_EQ_INT(
      13, (int)mock_find("self", "agent_group_requests", NULL)->value.derive);
  EXPECT_EQ_INT(
      0, (int)mock_find("self", "agent_group_failures", NULL)->value.derive);

  /* A 403 for the counts: said once, the family stops, nothing put. */
  refuse_counts = true;
  mock_log_reset();
  EXPECT_EQ_INT(1, (int)gen_agent_groups_run(g, &client, now + S(700)));
  OK(mock_log_contains("analytics:agentState:view"));
  EXPECT_EQ_INT(0, (int)gen_agent_groups_run(g, &client, now + S(800)));
  EXPECT_EQ_INT(14, n_counts);
  mock_puts_t none = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &none);
  EXPECT_EQ_INT(0, none.n);
  gen_agent_groups_free(g);

  /* Teams refused (groups:team:view): said once, the divisions go on. */
  refuse_counts = false;
  refuse_teams = true;
  mock_log_reset();
  g = groups_on(true, true);
  EXPECT_EQ_INT(2, (int)gen_agent_groups_run(g, &client, now));
  OK(mock_log_contains("groups:team:view"));
  mock_puts_t divs = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &divs);
  EXPECT_EQ_INT(2 * PER_GROUP, divs.n);
  gen_agent_groups_free(g);

  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

DEF_TEST(a_sweep_within_the_budget) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  n_counts = n_lists = max_predicates = 0;
  refuse_counts = refuse_teams = refuse_unit_pred = false;
  refuse_team_pred = true;
  /* 6 in any 60 s, the listings and a team's members included: the
   * divisions and teams listed (2), the divisions asked (2), the team's
   * teamId predicate refused (1), its members listed (1); its counts (2
   * requests) wait until the first requests leave the minute, and the
   * sweep goes on then, never over it. */
  gen_agent_groups_t *g = groups_budget(true, true, 6);
  cdtime_t now = S(1000);
  EXPECT_EQ_INT(3, (int)gen_agent_groups_run(g, &client, now));
  EXPECT_EQ_INT(3, n_lists);
  mock_puts_t puts = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &puts);
  EXPECT_EQ_INT(2 * PER_GROUP, puts.n);
  EXPECT_EQ_INT(0, (int)gen_agent_groups_run(g, &client, now + S(10)));
  EXPECT_EQ_INT(0, (int)gen_agent_groups_run(g, &client, now + S(59)));
  EXPECT_EQ_INT(2, (int)gen_agent_groups_run(g, &client, now + S(60)));
  mock_puts_t all = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &all);
  EXPECT_EQ_INT(3 * PER_GROUP, all.n);
  /* The sweep is done; the next began Every after it began, the members
   * not listed again before ListEvery: 4 of the 6. */
  EXPECT_EQ_INT(4, (int)gen_agent_groups_run(g, &client, now + S(61)));
  EXPECT_EQ_INT(9, n_counts);
  EXPECT_EQ_INT(3, n_lists);
  gen_agent_groups_free(g);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

DEF_TEST(a_team_whose_members_cannot_be_listed) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  n_counts = n_lists = max_predicates = 0;
  refuse_counts = refuse_teams = refuse_unit_pred = false;
  refuse_team_pred = true;
  fail_members = true;
  /* On the member path (the teamId predicate refused, 1 request), no
   * members known: not asked, no values (not a team of nobody), the
   * failure counted; the next sweep lists them again. */
  gen_agent_groups_t *g = groups_on(false, true);
  cdtime_t now = S(1000);
  EXPECT_EQ_INT(1, (int)gen_agent_groups_run(g, &client, now));
  EXPECT_EQ_INT(1, n_counts);
  mock_puts_t none = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &none);
  EXPECT_EQ_INT(0, none.n);
  mock_values_reset();
  gen_agent_groups_dispatch_stats(g, "acme", "genesys_realtime");
  EXPECT_EQ_INT(
      1, (int)mock_find("self", "agent_group_failures", NULL)->value.derive);
  fail_members = false;
  EXPECT_EQ_INT(2, (int)gen_agent_groups_run(g, &client, now + S(60)));
  mock_puts_t puts = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &puts);
  EXPECT_EQ_INT(
      150, (int)mock_puts_value(&puts, "Night shift/team_agents_routing/idle"));
  gen_agent_groups_free(g);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

DEF_TEST(predicates_and_units) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  n_counts = n_lists = max_predicates = 0;
  refuse_counts = refuse_teams = fail_members = false;
  refuse_team_pred = refuse_unit_pred = false;
  gen_agent_groups_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_agent_groups_keys, &c);
  c.by_division = c.by_team = c.by_unit = true;
  gen_agent_groups_t *g = gen_agent_groups_new(&c);
  cdtime_t now = S(1000);
  /* One request a group by its predicate: two divisions, the team (no
   * member listing), the unit; the team's path said once. */
  mock_log_reset();
  EXPECT_EQ_INT(4, (int)gen_agent_groups_run(g, &client, now));
  EXPECT_EQ_INT(3, n_lists); /* divisions, teams, units */
  EXPECT_EQ_INT(0, max_predicates);
  OK(mock_log_contains("counted by the teamId predicate"));
  mock_puts_t puts = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &puts);
  EXPECT_EQ_INT(4 * PER_GROUP, puts.n);
  EXPECT_EQ_INT(
      150, (int)mock_puts_value(&puts, "Night shift/team_agents_routing/idle"));
  EXPECT_EQ_INT(0, (int)mock_puts_value(
                       &puts, "Night shift/team_agents_routing/unknown"));
  /* The unit's answer held a new word in each enum field read: the rest of
   * it is dispatched, the new words under unknown and other. */
  EXPECT_EQ_INT(3,
                (int)mock_puts_value(&puts, "North/unit_agents_routing/idle"));
  EXPECT_EQ_INT(
      3, (int)mock_puts_value(&puts, "North/unit_agents_routing/unknown"));
  EXPECT_EQ_INT(
      5, (int)mock_puts_value(&puts, "North/unit_agents_presence/other"));
  EXPECT_EQ_INT(
      1, (int)mock_puts_value(&puts, "North/unit_agents_presence/on_queue"));
  EXPECT_EQ_INT(1, (int)gen_stats_unknown_count(&client.stats, "agent_groups",
                                                "routingStatus"));
  EXPECT_EQ_INT(4, (int)gen_agent_groups_run(g, &client, now + S(60)));
  EXPECT_EQ_INT(3, n_lists);
  gen_agent_groups_free(g);

  /* An API before managementUnitId: the units stop, said once, not a
   * failure; the divisions and teams go on. */
  refuse_unit_pred = true;
  mock_log_reset();
  g = gen_agent_groups_new(&c);
  EXPECT_EQ_INT(4, (int)gen_agent_groups_run(g, &client, now));
  OK(mock_log_contains("refused the managementUnitId predicate"));
  EXPECT_EQ_INT(3, (int)gen_agent_groups_run(g, &client, now + S(60)));
  mock_puts_t some = {0};
  gen_agent_groups_put(g, client.org, mock_put_group, &some);
  EXPECT_EQ_INT(3 * PER_GROUP, some.n);
  mock_values_reset();
  gen_agent_groups_dispatch_stats(g, "acme", "genesys_realtime");
  EXPECT_EQ_INT(
      0, (int)mock_find("self", "agent_group_failures", NULL)->value.derive);
  gen_agent_groups_free(g);
  http_perform = http_perform_curl;
  fake_client_free(&client);
  return 0;
}

DEF_TEST(configuration_keys) {
  gen_org_t *org = mock_org("genesys_test");
  gen_agent_groups_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_agent_groups_keys, &c);
  OK(!c.by_division && !c.by_team && !c.by_unit);
  EXPECT_EQ_INT(60, (int)CDTIME_T_TO_TIME_T(c.every));
  EXPECT_EQ_INT(600, (int)CDTIME_T_TO_TIME_T(c.relist));
  EXPECT_EQ_INT(60, (int)c.per_minute);
  oconfig_item_t *ci = mock_ci_num("AgentStatesEvery", 5);
  EXPECT_EQ_INT(-ERANGE,
                gen_config_table_key(org, ci, &gen_agent_groups_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_num("AgentStatesRequests", 301);
  EXPECT_EQ_INT(-ERANGE,
                gen_config_table_key(org, ci, &gen_agent_groups_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_bool("AgentStatesByTeam", true);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_agent_groups_keys, &c));
  OK(c.by_team);
  mock_ci_free(ci);
  gen_org_free(org);
  return 0;
}

int main(void) {
  RUN_TEST(answer_forms);
  RUN_TEST(malformed_answers);
  RUN_TEST(unknown_words);
  RUN_TEST(request_bodies);
  RUN_TEST(a_read_against_the_api);
  RUN_TEST(a_sweep_within_the_budget);
  RUN_TEST(a_team_whose_members_cannot_be_listed);
  RUN_TEST(predicates_and_units);
  RUN_TEST(configuration_keys);
  END_TEST;
}
