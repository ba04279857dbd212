/* SPDX-License-Identifier: MIT */
/* Unit tests: a queue's live state from observation items (counts by
 * status, totals that win, both forms of the longest values, agents'
 * families replaced whole) and what is put when it changes; the baseline
 * query over a fake API. */
#include "fake_client.h"
#include "gen_http.c" /* its transport seam: a fake API */
#include "gen_queue_state.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

static gen_obs_item_t item(gen_obs_metric_t m, const char *qualifier,
                           int64_t count) {
  gen_obs_item_t it = {.metric = m, .has_count = true, .count = count};
  snprintf(it.qualifier, sizeof(it.qualifier), "%s", qualifier);
  return it;
}

static gen_obs_item_t longest(gen_obs_metric_t m, double value) {
  return (gen_obs_item_t){.metric = m,
                          .has_count = true,
                          .count = 1,
                          .has_value = true,
                          .calculated_value = value};
}

/* What a merge reported, and what was put. */
static int n_malformed;
static void on_malformed(void *ud, const char *what) {
  (void)ud;
  (void)what;
  n_malformed++;
}
static gen_stats_t stats; /* where unknown words are counted */
static const gen_unknown_sink_t unknown = {&stats, NULL, "queue_observations"};
static const gen_qs_report_t report = {.malformed = on_malformed,
                                       .unknown = &unknown};

DEF_TEST(counts_add_up_and_a_total_wins) {
  gen_qs_media_t s = {0};
  cdtime_t now = TIME_T_TO_CDTIME_T(1700000000);
  gen_obs_item_t by_status[] = {item(GEN_OBS_M_WAITING, "a", 2),
                                item(GEN_OBS_M_WAITING, "b", 3)};
  gen_qs_apply_media(&s, by_status, 2, "q", now, &report);
  OK(s.seen);
  EXPECT_EQ_INT(5, s.waiting);
  EXPECT_EQ_INT(0, s.interacting); /* not carried: unchanged */
  gen_obs_item_t both[] = {item(GEN_OBS_M_WAITING, "a", 2),
                           item(GEN_OBS_M_WAITING, "", 4),
                           item(GEN_OBS_M_WAITING, "b", 3)};
  gen_qs_apply_media(&s, both, 3, "q", now, &report);
  EXPECT_EQ_INT(4, s.waiting); /* the unqualified total, never 9 or 13 */
  /* A message with none of our metrics changes nothing. */
  gen_qs_media_t fresh = {0};
  gen_obs_item_t other[] = {item(GEN_OBS_M_MEMBER_USERS, "", 7)};
  gen_qs_apply_media(&fresh, other, 1, "q", now, &report);
  OK(!fresh.seen);
  return 0;
}

DEF_TEST(longest_as_duration_or_epoch) {
  cdtime_t now = TIME_T_TO_CDTIME_T(1700000000);
  gen_qs_media_t s = {0};
  gen_obs_item_t duration[] = {longest(GEN_OBS_M_LONGEST_WAITING, 30000)};
  gen_qs_apply_media(&s, duration, 1, "q", now, &report);
  EXPECT_EQ_INT(gen_cdtime_to_ms(now) - 30000,
                gen_cdtime_to_ms(s.waiting_since));
  /* The epoch form (live orgs): the instant itself. */
  gen_obs_item_t epoch[] = {
      longest(GEN_OBS_M_LONGEST_WAITING, 1700000000000.0 - 45000)};
  gen_qs_apply_media(&s, epoch, 1, "q", now, &report);
  EXPECT_EQ_INT(1700000000000 - 45000, gen_cdtime_to_ms(s.waiting_since));
  /* Two qualified entries: the oldest of them. */
  gen_obs_item_t two[] = {longest(GEN_OBS_M_LONGEST_INTERACTING, 10000),
                          longest(GEN_OBS_M_LONGEST_INTERACTING, 90000)};
  gen_qs_apply_media(&s, two, 2, "q", now, &report);
  EXPECT_EQ_INT(gen_cdtime_to_ms(now) - 90000,
                gen_cdtime_to_ms(s.interacting_since));
  /* From the future beyond the skew: reported, read as now. */
  n_malformed = 0;
  gen_obs_item_t future[] = {
      longest(GEN_OBS_M_LONGEST_WAITING, 1700000000000.0 + 60000)};
  gen_qs_apply_media(&s, future, 1, "q", now, &report);
  EXPECT_EQ_INT(1, n_malformed);
  OK(s.waiting_since == now);
  /* Nobody waits any more: the longest wait goes with them. */
  gen_obs_item_t none[] = {item(GEN_OBS_M_WAITING, "", 0)};
  gen_qs_apply_media(&s, none, 1, "q", now, &report);
  OK(s.waiting_since == 0);
  OK(s.interacting_since != 0);
  return 0;
}

DEF_TEST(agents_families_replaced_whole) {
  gen_presence_map_t map = {0};
  gen_qs_agents_t a = {0};
  gen_obs_item_t first[] = {
      item(GEN_OBS_M_MEMBER_USERS, "", 5),
      item(GEN_OBS_M_USER_ROUTING_STATUSES, "IDLE", 2),
      item(GEN_OBS_M_USER_ROUTING_STATUSES, "INTERACTING", 1),
      item(GEN_OBS_M_USER_PRESENCES, "ON_QUEUE", 3),
      item(GEN_OBS_M_ON_QUEUE_USERS, "IDLE", 2),
      item(GEN_OBS_M_ON_QUEUE_USERS, "INTERACTING", 1)};
  n_malformed = 0;
  gen_stats_init(&stats);
  gen_qs_apply_agents(&a, first, 6, &map, &report);
  EXPECT_EQ_INT(3, a.on_queue);
  OK(a.seen);
  EXPECT_EQ_INT(5, a.member);
  EXPECT_EQ_INT(2, a.routing[gen_routing_from_name("IDLE")]);
  EXPECT_EQ_INT(1, a.routing[gen_routing_from_name("INTERACTING")]);
  EXPECT_EQ_INT(3, a.presence[gen_presence_from_name("ON_QUEUE")]);
  /* A snapshot without routing entries: nobody in any status now. */
  gen_obs_item_t snapshot[] = {item(GEN_OBS_M_ACTIVE_USERS, "", 0)};
  gen_qs_apply_agents(&a, snapshot, 1, &map, &report);
  EXPECT_EQ_INT(0, a.routing[gen_routing_from_name("IDLE")]);
  EXPECT_EQ_INT(0, a.presence[gen_presence_from_name("ON_QUEUE")]);
  EXPECT_EQ_INT(5, a.member); /* not carried */
  /* The qualified oOnQueueUsers leaves out the statuses at 0: none is 0. */
  EXPECT_EQ_INT(0, a.on_queue);
  /* A message that is not a snapshot leaves what it does not carry. */
  a.on_queue = 4;
  gen_obs_item_t routing_only[] = {
      item(GEN_OBS_M_USER_ROUTING_STATUSES, "IDLE", 4)};
  gen_qs_apply_agents(&a, routing_only, 1, &map, &report);
  EXPECT_EQ_INT(4, a.on_queue);
  /* Unknown names: a routing status is counted unknown and skipped alone;
   * a presence counts as other and as unknown, each time. */
  gen_obs_item_t odd[] = {item(GEN_OBS_M_USER_ROUTING_STATUSES, "DANCING", 1),
                          item(GEN_OBS_M_USER_ROUTING_STATUSES, "IDLE", 6),
                          item(GEN_OBS_M_USER_PRESENCES, "org-pres-9", 2),
                          item(GEN_OBS_M_USER_PRESENCES, "org-pres-9", 1)};
  gen_qs_apply_agents(&a, odd, 4, &map, &report);
  EXPECT_EQ_INT(0, n_malformed); /* not malformed: new */
  EXPECT_EQ_INT(1, (int)gen_stats_unknown_count(&stats, "queue_observations",
                                                "routingStatus"));
  EXPECT_EQ_INT(2, (int)gen_stats_unknown_count(&stats, "queue_observations",
                                                "presence"));
  EXPECT_EQ_INT(6, a.routing[GEN_ROUTING_IDLE]);
  EXPECT_EQ_INT(3, a.presence[GEN_PRESENCE_OTHER]);
  gen_presence_map_free(&map);
  return 0;
}

DEF_TEST(put_what_changed_or_everything) {
  cdtime_t t = TIME_T_TO_CDTIME_T(1000);
  gen_qs_media_t old = {.seen = true, .waiting = 1, .interacting = 2};
  gen_qs_media_t s = old;
  s.waiting = 3;
  s.waiting_since = t - TIME_T_TO_CDTIME_T(20);
  mock_puts_t p = {0};
  gen_qs_put_media(&s, &old, "voice", t, mock_put, &p);
  EXPECT_EQ_INT(2, p.n);
  EXPECT_EQ_STR("waiting/voice", p.key[0]);
  EXPECT_EQ_DOUBLE(3, p.value[0]);
  EXPECT_EQ_STR("longest_waiting/voice", p.key[1]);
  EXPECT_EQ_DOUBLE(20, p.value[1]);
  p.n = 0;
  gen_qs_put_media(&s, NULL, "voice", t, mock_put, &p);
  EXPECT_EQ_INT(5, p.n);
  p.n = 0;
  gen_qs_media_t unseen = {0};
  gen_qs_put_media(&unseen, NULL, "voice", t, mock_put, &p);
  EXPECT_EQ_INT(0, p.n);
  gen_qs_agents_t a = {.seen = true, .member = 4}, b = a;
  b.on_queue = 2;
  p.n = 0;
  gen_qs_put_agents(&b, &a, mock_put, &p);
  EXPECT_EQ_INT(1, p.n);
  EXPECT_EQ_STR("agents/on_queue", p.key[0]);
  p.n = 0;
  gen_qs_put_agents(&b, NULL, mock_put, &p);
  EXPECT_EQ_INT(4 + GEN_ROUTING_COUNT + GEN_PRESENCE_COUNT, p.n);
  return 0;
}

DEF_TEST(query_body) {
  const char *ids[] = {"q-1", "q-2"};
  json_object *body = gen_qs_query_body(ids, 2);
  EXPECT_EQ_STR(
      "{\"filter\":{\"type\":\"or\",\"predicates\":[{\"dimension\":"
      "\"queueId\",\"value\":\"q-1\"},{\"dimension\":\"queueId\",\"value\":"
      "\"q-2\"}]},\"metrics\":[\"oWaiting\",\"oInteracting\",\"oAlerting\","
      "\"oLongestWaiting\",\"oLongestInteracting\",\"oActiveUsers\","
      "\"oMemberUsers\",\"oOnQueueUsers\",\"oOffQueueUsers\","
      "\"oUserRoutingStatuses\",\"oUserPresences\"]}",
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
  json_object_put(body);
  return 0;
}

/* ---- the baseline over a fake API ---------------------------------------- */

static long fake_status;
static char *fake_body; /* the request's body */

static int fake_perform(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  OK(strcmp(method, "POST") == 0);
  OK(strstr(url, "/api/v2/analytics/queues/observations/query") != NULL);
  free(fake_body);
  fake_body = body ? strdup(body) : NULL;
  fake_answer(
      resp, fake_status,
      fake_status != 200
          ? "{\"message\":\"refused\",\"code\":\"x\",\"status\":403}"
          : "{\"systemToOrganizationMappings\":{\"AVAILABLE\":[\"org-av\"]},"
            "\"results\":[{\"group\":{\"queueId\":\"q-1\",\"mediaType\":"
            "\"voice\"},\"data\":[{\"metric\":\"oWaiting\",\"stats\":{"
            "\"count\":3}}]},{\"group\":{\"queueId\":\"q-1\"},\"data\":[{"
            "\"metric\":\"oOnQueueUsers\",\"stats\":{\"count\":2}}]},"
            "{\"group\":{\"queueId\":\"q-1\",\"mediaType\":\"hologram\"},"
            "\"data\":[]}]}");
  return 0;
}

typedef struct {
  char calls[32][48];
  size_t n;
} calls_t;

static void on_group(void *ud, const char *queue_id, int media,
                     const gen_obs_item_t *items, size_t n) {
  calls_t *c = ud;
  snprintf(c->calls[c->n++ % 32], 48, "group %s %d %zu", queue_id, media, n);
}

static void on_absent(void *ud, const char *queue_id, int media) {
  calls_t *c = ud;
  snprintf(c->calls[c->n++ % 32], 48, "absent %s %d", queue_id, media);
}

static bool called(const calls_t *c, const char *what) {
  for (size_t i = 0; i < c->n && i < 32; i++)
    if (strcmp(c->calls[i], what) == 0)
      return true;
  return false;
}

/* One query for the batch; every group of the answer, then every media
 * group it left out, under the caller's lock; the answer's presence ids
 * mapped; a media type this version does not know skipped; a refusal
 * logged and returned. */
DEF_TEST(baseline_over_the_api) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  gen_http_t *http = client.http;
  const gen_org_t *org = client.org;
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  gen_presence_map_t presences = {0};
  gen_ratelimit_t rl = GEN_RATELIMIT_INIT(60);
  calls_t c = {0};
  gen_qs_baseline_t cb = {on_group, on_absent, &c, &unknown};
  gen_stats_init(&stats);
  const char *ids[] = {"q-1", "q-2"};
  http_perform = fake_perform;

  fake_status = 200;
  CHECK_ZERO(gen_qs_baseline(http, ids, 2, &lock, &presences, &cb, org, &rl));
  OK(strstr(fake_body, "\"q-1\"") != NULL && strstr(fake_body, "\"q-2\""));
  char want[48];
  snprintf(want, sizeof(want), "group q-1 %d 1", GEN_MEDIA_VOICE);
  OK(called(&c, want));
  OK(called(&c, "group q-1 -1 1")); /* the agents */
  /* q-1: every media but voice is absent; q-2: every one. */
  EXPECT_EQ_INT(2 + (GEN_MEDIA_COUNT - 1) + GEN_MEDIA_COUNT, c.n);
  snprintf(want, sizeof(want), "absent q-1 %d", GEN_MEDIA_VOICE);
  OK(!called(&c, want));
  snprintf(want, sizeof(want), "absent q-2 %d", GEN_MEDIA_VOICE);
  OK(called(&c, want));
  EXPECT_EQ_INT(GEN_PRESENCE_AVAILABLE,
                gen_presence_resolve(&presences, "org-av", NULL));
  /* the hologram group: counted as a word this version does not know */
  EXPECT_EQ_INT(1, (int)gen_stats_unknown_count(&stats, "queue_observations",
                                                "mediaType"));
  EXPECT_EQ_INT(0, pthread_mutex_trylock(&lock)); /* left unlocked */
  pthread_mutex_unlock(&lock);

  c.n = 0;
  fake_status = 403;
  OK(gen_qs_baseline(http, ids, 2, &lock, &presences, &cb, org, &rl) < 0);
  EXPECT_EQ_INT(0, c.n);
  OK(mock_log_contains("queue observations query failed"));
  OK(gen_qs_baseline(http, ids, GEN_QS_QUERY_MAX + 1, &lock, &presences, &cb,
                     org, &rl) == -EINVAL);

  free(fake_body);
  fake_body = NULL;
  gen_presence_map_free(&presences);
  fake_client_free(&client);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(counts_add_up_and_a_total_wins);
  RUN_TEST(longest_as_duration_or_epoch);
  RUN_TEST(agents_families_replaced_whole);
  RUN_TEST(put_what_changed_or_everything);
  RUN_TEST(query_body);
  RUN_TEST(baseline_over_the_api);
  END_TEST;
}
