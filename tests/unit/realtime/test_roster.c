/* SPDX-License-Identifier: MIT */
/* Unit tests: the agents of the selected queues counted once each by
 * routing status and presence (listing, replacement, events, documents);
 * the agents' baseline over a fake API. */
#include "fake_client.h"
#include "gen_http.c" /* its transport seam: a fake API */
#include "gen_roster.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

static int64_t routing(const gen_roster_t *r, gen_routing_t k) {
  return r->routing[k];
}

static int64_t presence(const gen_roster_t *r, gen_presence_t k) {
  return r->presence[k];
}

DEF_TEST(listing_then_events_count_each_agent_once) {
  gen_roster_t r = {0}, fresh = {0};
  CHECK_ZERO(gen_roster_add(&fresh, "u1", "IDLE", GEN_PRESENCE_ON_QUEUE));
  CHECK_ZERO(gen_roster_add(&fresh, "u2", NULL, -1));
  CHECK_ZERO(gen_roster_add(&fresh, "u3", "Not Responding", 99)); /* bad */
  CHECK_ZERO(gen_roster_add(&fresh, "u1", "OFF_QUEUE", -1));      /* again */
  bool changed = false;
  gen_roster_replace(&r, &fresh, &changed);
  OK(changed);
  EXPECT_EQ_INT(0, fresh.users.count);
  EXPECT_EQ_INT(3, r.users.count);
  EXPECT_EQ_INT(1, routing(&r, GEN_ROUTING_IDLE));
  EXPECT_EQ_INT(1, routing(&r, GEN_ROUTING_NOT_RESPONDING));
  EXPECT_EQ_INT(0, routing(&r, GEN_ROUTING_OFF_QUEUE)); /* first stands */
  EXPECT_EQ_INT(1, presence(&r, GEN_PRESENCE_ON_QUEUE));
  OK(!r.seen);

  /* An event moves one agent: out of one status, into another. */
  OK(gen_roster_set(&r, "u1", "INTERACTING", GEN_PRESENCE_BUSY));
  EXPECT_EQ_INT(0, routing(&r, GEN_ROUTING_IDLE));
  EXPECT_EQ_INT(1, routing(&r, GEN_ROUTING_INTERACTING));
  EXPECT_EQ_INT(0, presence(&r, GEN_PRESENCE_ON_QUEUE));
  EXPECT_EQ_INT(1, presence(&r, GEN_PRESENCE_BUSY));
  OK(r.seen);
  /* The same again: nothing moves. NULL and -1 leave a state as it was. */
  OK(gen_roster_set(&r, "u1", "INTERACTING", -1));
  OK(gen_roster_set(&r, "u2", NULL, GEN_PRESENCE_AVAILABLE));
  EXPECT_EQ_INT(1, routing(&r, GEN_ROUTING_INTERACTING));
  EXPECT_EQ_INT(1, presence(&r, GEN_PRESENCE_AVAILABLE));
  /* Not a member: nothing. An unknown routing name: out of every count. */
  OK(!gen_roster_set(&r, "stranger", "IDLE", -1));
  OK(gen_roster_set(&r, "u3", "DANCING", -1));
  EXPECT_EQ_INT(0, routing(&r, GEN_ROUTING_NOT_RESPONDING));
  int64_t total = 0;
  for (int k = 0; k < GEN_ROUTING_COUNT; k++)
    total += r.routing[k];
  EXPECT_EQ_INT(1, total);

  /* A new listing: u1's event state is newer and kept; u2 gone, u4 new. */
  CHECK_ZERO(gen_roster_add(&fresh, "u1", "IDLE", GEN_PRESENCE_ON_QUEUE));
  CHECK_ZERO(gen_roster_add(&fresh, "u3", "IDLE", -1));
  CHECK_ZERO(gen_roster_add(&fresh, "u4", "IDLE", -1));
  gen_roster_replace(&r, &fresh, &changed);
  OK(changed);
  EXPECT_EQ_INT(3, r.users.count);
  EXPECT_EQ_INT(1, routing(&r, GEN_ROUTING_INTERACTING)); /* u1 kept */
  EXPECT_EQ_INT(1, presence(&r, GEN_PRESENCE_BUSY));
  EXPECT_EQ_INT(0, presence(&r, GEN_PRESENCE_AVAILABLE)); /* u2 gone */
  /* u3 had no known state (an unknown name): the listing's counts. */
  EXPECT_EQ_INT(2, routing(&r, GEN_ROUTING_IDLE));
  /* The same members again: unchanged. */
  for (size_t i = 0; i < r.users.count; i++)
    CHECK_ZERO(gen_roster_add(&fresh, r.users.items[i].id, NULL, -1));
  gen_roster_replace(&r, &fresh, &changed);
  OK(!changed);
  EXPECT_EQ_INT(2, routing(&r, GEN_ROUTING_IDLE));
  gen_roster_free(&r);
  gen_roster_free(&fresh);
  return 0;
}

DEF_TEST(user_documents_in_every_presence_spelling) {
  gen_roster_t r = {0}, fresh = {0};
  gen_presence_map_t map = {0};
  gen_presence_map_add(&map, "p-lunch", "Meal");
  CHECK_ZERO(gen_roster_add(&fresh, "u1", NULL, -1));
  bool changed;
  gen_roster_replace(&r, &fresh, &changed);
  gen_stats_t stats;
  gen_stats_init(&stats);
  const gen_unknown_sink_t sink = {&stats, NULL, "agent_activity"};
  r.unknown = &sink;
  json_object *doc = json_tokener_parse(
      "{\"id\":\"u1\",\"routingStatus\":{\"status\":\"IDLE\"},"
      "\"presence\":{\"presenceDefinition\":{\"id\":\"p-lunch\"}}}");
  OK(gen_roster_apply_user(&r, &map, doc));
  EXPECT_EQ_INT(
      0, (int)gen_stats_unknown_count(&stats, "agent_activity", "presence"));
  EXPECT_EQ_INT(1, presence(&r, GEN_PRESENCE_MEAL));
  EXPECT_EQ_INT(1, routing(&r, GEN_ROUTING_IDLE));
  json_object_put(doc);
  /* A system presence name wins over an id; then an id nobody knows is
   * "other", counted unknown each time it is met. */
  doc = json_tokener_parse("{\"id\":\"u1\",\"presence\":{\"presenceDefinition\""
                           ":{\"id\":\"p-x\",\"systemPresence\":\"Busy\"}}}");
  OK(gen_roster_apply_user(&r, &map, doc));
  EXPECT_EQ_INT(1, presence(&r, GEN_PRESENCE_BUSY));
  json_object_put(doc);
  doc = json_tokener_parse("{\"id\":\"u1\",\"presence\":{\"presenceDefinition\""
                           ":{\"id\":\"p-new\"}}}");
  OK(gen_roster_apply_user(&r, &map, doc));
  EXPECT_EQ_INT(1, presence(&r, GEN_PRESENCE_OTHER));
  OK(gen_roster_apply_user(&r, &map, doc));
  EXPECT_EQ_INT(
      2, (int)gen_stats_unknown_count(&stats, "agent_activity", "presence"));
  json_object_put(doc);
  /* Neither state, no id, not a member: not applied. */
  static const char *const not_applied[] = {
      "{\"id\":\"u1\"}", "{\"routingStatus\":{\"status\":\"IDLE\"}}",
      "{\"id\":\"u9\",\"routingStatus\":{\"status\":\"IDLE\"}}", "[]"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(not_applied); i++) {
    doc = json_tokener_parse(not_applied[i]);
    OK(!gen_roster_apply_user(&r, &map, doc));
    json_object_put(doc);
  }
  EXPECT_EQ_INT(1, routing(&r, GEN_ROUTING_IDLE));
  gen_roster_free(&r);
  gen_presence_map_free(&map);
  return 0;
}

DEF_TEST(org_counts_put_whole_or_as_changed) {
  gen_roster_t r = {0}, fresh = {0};
  CHECK_ZERO(gen_roster_add(&fresh, "u1", "IDLE", GEN_PRESENCE_ON_QUEUE));
  CHECK_ZERO(gen_roster_add(&fresh, "u2", "IDLE", GEN_PRESENCE_ON_QUEUE));
  bool changed;
  gen_roster_replace(&r, &fresh, &changed);
  mock_puts_t p = {0};
  gen_roster_put(&r, NULL, NULL, mock_put, &p);
  EXPECT_EQ_INT(1 + GEN_ROUTING_COUNT + GEN_PRESENCE_COUNT, p.n);
  EXPECT_EQ_STR("org_agents/total", p.key[0]);
  EXPECT_EQ_DOUBLE(2, p.value[0]);
  int64_t old_routing[GEN_ROUTING_COUNT], old_presence[GEN_PRESENCE_COUNT];
  memcpy(old_routing, r.routing, sizeof(old_routing));
  memcpy(old_presence, r.presence, sizeof(old_presence));
  OK(gen_roster_set(&r, "u2", "INTERACTING", -1));
  p.n = 0;
  gen_roster_put(&r, old_routing, old_presence, mock_put, &p);
  EXPECT_EQ_INT(2, p.n); /* idle 2 -> 1, interacting 0 -> 1 */
  EXPECT_EQ_STR("org_agents_routing/idle", p.key[0]);
  EXPECT_EQ_DOUBLE(1, p.value[0]);
  EXPECT_EQ_STR("org_agents_routing/interacting", p.key[1]);
  EXPECT_EQ_DOUBLE(1, p.value[1]);
  gen_roster_free(&r);
  return 0;
}

/* gen_roster_put_sent remembers what it put: the next call without all
 * puts only what changed since, and clears changed. */
DEF_TEST(org_counts_put_since_last_put) {
  gen_roster_t r = {0}, fresh = {0};
  CHECK_ZERO(gen_roster_add(&fresh, "u1", "IDLE", GEN_PRESENCE_ON_QUEUE));
  bool changed;
  gen_roster_replace(&r, &fresh, &changed);
  mock_puts_t p = {0};
  r.changed = true;
  gen_roster_put_sent(&r, true, mock_put, &p);
  EXPECT_EQ_INT(1 + GEN_ROUTING_COUNT + GEN_PRESENCE_COUNT, p.n);
  OK(!r.changed);
  p.n = 0;
  gen_roster_put_sent(&r, false, mock_put, &p);
  EXPECT_EQ_INT(0, p.n); /* nothing changed since */
  OK(gen_roster_set(&r, "u1", "INTERACTING", -1));
  gen_roster_put_sent(&r, false, mock_put, &p);
  EXPECT_EQ_INT(2, p.n);
  EXPECT_EQ_STR("org_agents_routing/idle", p.key[0]);
  EXPECT_EQ_DOUBLE(0, p.value[0]);
  p.n = 0;
  gen_roster_put_sent(&r, false, mock_put, &p);
  EXPECT_EQ_INT(0, p.n);
  gen_roster_free(&r);
  return 0;
}

/* ---- the agents' baseline over a fake API -------------------------------- */

static long fake_status;
static char *fake_url; /* the request's */

static int fake_perform(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  OK(strcmp(method, "GET") == 0);
  free(fake_url);
  fake_url = strdup(url);
  fake_answer(resp, fake_status,
              fake_status != 200
                  ? "{\"message\":\"refused\",\"code\":\"x\",\"status\":403}"
                  : "{\"entities\":[{\"id\":\"u1\",\"routingStatus\":{"
                    "\"status\":\"IDLE\"}},{\"id\":\"u2\"}],\"pageCount\":1}");
  return 0;
}

typedef struct {
  pthread_mutex_t *lock;
  size_t n;
  bool locked; /* every call with the lock held */
} applied_t;

static void apply(void *ud, json_object *user) {
  applied_t *a = ud;
  if (pthread_mutex_trylock(a->lock) == 0) { /* not held: say so, go on */
    pthread_mutex_unlock(a->lock);
    a->locked = false;
  }
  a->n += gen_json_get_string(user, "id") != NULL;
}

/* One request names every id; each user document of the answer is handed
 * over under the caller's lock, which is free again after; a refusal is
 * logged and returned, nothing handed over. */
DEF_TEST(baseline_over_the_api) {
  gen_client_t c;
  fake_client_init(&c, "genesys_realtime", 0);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  gen_ratelimit_t rl = GEN_RATELIMIT_INIT(60);
  applied_t a = {.lock = &lock, .locked = true};
  const char *ids[] = {"u1", "u2"};
  http_perform = fake_perform;

  fake_status = 200;
  CHECK_ZERO(gen_roster_baseline(c.http, ids, 2, &lock, apply, &a, c.org, &rl));
  OK(strstr(fake_url, "/api/v2/users?") != NULL);
  OK(strstr(fake_url, "&id=u1&id=u2") != NULL);
  EXPECT_EQ_INT(2, a.n);
  OK(a.locked);
  EXPECT_EQ_INT(0, pthread_mutex_trylock(&lock)); /* left unlocked */
  pthread_mutex_unlock(&lock);

  a.n = 0;
  fake_status = 403;
  OK(gen_roster_baseline(c.http, ids, 2, &lock, apply, &a, c.org, &rl) < 0);
  EXPECT_EQ_INT(0, a.n);
  OK(mock_log_contains("the agents' baseline failed"));

  free(fake_url);
  fake_url = NULL;
  fake_client_free(&c);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(listing_then_events_count_each_agent_once);
  RUN_TEST(user_documents_in_every_presence_spelling);
  RUN_TEST(org_counts_put_whole_or_as_changed);
  RUN_TEST(org_counts_put_since_last_put);
  RUN_TEST(baseline_over_the_api);
  END_TEST;
}
