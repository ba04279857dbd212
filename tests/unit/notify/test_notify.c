/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_notify's channel threads over a fake API and a scripted
 * socket (the seams of gen_http and gen_notify): a channel made, subscribed
 * and baselined; messages handed to the consumers of their topic; the
 * system topics (heartbeat, socket_closing, no_longer_subscribed,
 * subscription_changed, any other v2.system topic, token_revoked); a
 * dropped socket; a silent one pinged, then given up; a
 * refused handshake on an old channel answered with a new channel. The
 * hub's bookkeeping without sockets is test_hub's. */
#include "gen_http.c"
#include "gen_notify.c"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <time.h>

/* ---- the fake API -------------------------------------------------------- */

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static int tokens_issued, channels_made, subscriptions;
static char last_subscription[1024];
/* Called (once) while the next subscription is made, outside fake_lock. */
static void (*during_subscription)(void);

static int fake_perform(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->status = 200;
  char text[512];
  pthread_mutex_lock(&fake_lock);
  if (strstr(url, "/oauth/token") != NULL) {
    snprintf(text, sizeof(text),
             "{\"access_token\":\"token-%d\",\"token_type\":\"bearer\","
             "\"expires_in\":86400}",
             ++tokens_issued);
  } else if (strcmp(method, "POST") == 0 &&
             strstr(url, "/api/v2/notifications/channels") != NULL) {
    int id = ++channels_made;
    snprintf(text, sizeof(text),
             "{\"id\":\"ch-%d\",\"connectUri\":\"wss://streaming.example."
             "test/channels/ch-%d\",\"expires\":\"2099-01-01T00:00:00Z\"}",
             id, id);
  } else if (strcmp(method, "PUT") == 0 && strstr(url, "/subscriptions")) {
    subscriptions++;
    snprintf(last_subscription, sizeof(last_subscription), "%s %s", url,
             body ? body : "");
    snprintf(text, sizeof(text), "{\"entities\":[]}");
  } else {
    resp->status = 404;
    snprintf(text, sizeof(text), "{\"message\":\"no\",\"status\":404}");
  }
  void (*during)(void) = NULL;
  if (strcmp(method, "PUT") == 0 && during_subscription != NULL) {
    during = during_subscription;
    during_subscription = NULL;
  }
  pthread_mutex_unlock(&fake_lock);
  if (during != NULL)
    during();
  resp->body = strdup(text);
  resp->body_len = strlen(resp->body);
  return 0;
}

/* ---- the scripted socket ------------------------------------------------- */

#define EOF_MARK "<eof>"
static char *script[32]; /* messages the socket reads next, in order */
static size_t script_head, script_tail;
static int connects, pings;
static int refuse_next_connect; /* GEN_WS_ERR_* for the next connect, or 0 */
static gen_notify_t *consumer;  /* whose hub's channel the socket is */

static void say(const char *message) {
  pthread_mutex_lock(&fake_lock);
  script[script_tail++ % 32] = strdup(message);
  pthread_mutex_unlock(&fake_lock);
}

static int fake_connect(gen_ws_t *ws, const char *url) {
  pthread_mutex_lock(&fake_lock);
  int status = refuse_next_connect;
  refuse_next_connect = 0;
  if (status == 0)
    connects++;
  pthread_mutex_unlock(&fake_lock);
  return status;
}

/* The channel whose socket ws is. */
static channel_t *channel_of(gen_ws_t *ws) {
  hub_t *hub = consumer->hub;
  for (size_t i = 0; i < GEN_NOTIFY_MAX_CHANNELS; i++)
    if (hub->slots[i] != NULL && hub->slots[i]->ws == ws)
      return hub->slots[i];
  return NULL;
}

static int fake_poll(gen_ws_t *ws, int timeout_ms) {
  pthread_mutex_lock(&fake_lock);
  char *message = script_head < script_tail ? script[script_head++ % 32] : NULL;
  pthread_mutex_unlock(&fake_lock);
  if (message == NULL) {
    nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
    return 0;
  }
  int status = 0;
  if (strcmp(message, EOF_MARK) == 0)
    status = GEN_WS_ERR_EOF;
  else
    on_ws_message(channel_of(ws), message, strlen(message));
  free(message);
  return status;
}

static int fake_send_text(gen_ws_t *ws, const char *msg, size_t len) {
  pthread_mutex_lock(&fake_lock);
  if (strncmp(msg, "{\"message\":\"ping\"}", len) == 0)
    pings++;
  pthread_mutex_unlock(&fake_lock);
  return 0;
}

/* ---- the consumer -------------------------------------------------------- */

typedef struct {
  atomic_int messages, baselines;
  atomic_int topics_at_baseline, topics_baselined;
  atomic_int losses, topics_lost, lost_out_of_order;
} seen_t;

static gen_notify_verdict_t on_message(void *ud, const char *topic,
                                       const char *json, size_t len) {
  seen_t *seen = ud;
  atomic_fetch_add(&seen->messages, 1);
  return GEN_NOTIFY_OK;
}

/* Baselines of TOPIC_B still to fail (its family's listing refused). */
static atomic_int fail_b;

static int on_connected(void *ud, gen_http_t *http, char *const *topics,
                        size_t n, uint8_t *failed) {
  seen_t *seen = ud;
  for (size_t i = 0; i < n; i++)
    if (strcmp(topics[i], "v2.routing.queues.q1.conversations") == 0 &&
        atomic_load(&fail_b) > 0) {
      atomic_fetch_sub(&fail_b, 1);
      failed[i] = 1;
    }
  atomic_store(&seen->topics_at_baseline, (int)n);
  atomic_fetch_add(&seen->topics_baselined, (int)n);
  atomic_fetch_add(&seen->baselines, 1);
  return 0;
}

/* Each loss comes after the baseline it ends and before the next. */
static void on_lost(void *ud, char *const *topics, size_t n) {
  seen_t *seen = ud;
  if (atomic_fetch_add(&seen->losses, 1) + 1 != atomic_load(&seen->baselines))
    atomic_fetch_add(&seen->lost_out_of_order, 1);
  atomic_store(&seen->topics_lost, (int)n);
}

static int locked(const int *v) {
  pthread_mutex_lock(&fake_lock);
  int x = *v;
  pthread_mutex_unlock(&fake_lock);
  return x;
}

/* Waits up to 10 s for cond; its value. */
#define WAIT_FOR(cond)                                                         \
  ({                                                                           \
    bool ok_ = false;                                                          \
    for (int i_ = 0; i_ < 2000 && !(ok_ = (cond)); i_++)                       \
      nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);                 \
    ok_;                                                                       \
  })

#define TOPIC_A "v2.analytics.queues.q1.observations"
#define TOPIC_B "v2.routing.queues.q1.conversations"
#define MSG(topic) "{\"topicName\":\"" topic "\",\"eventBody\":{\"id\":\"x\"}}"

static gen_client_t *client;
static seen_t seen;

static gen_notify_t *start(const gen_notify_options_t *options) {
  gen_org_t *o = gen_org_create("genesys_realtime", "acme");
  o->api_base_url = strdup("https://api.example.test");
  o->login_base_url = strdup("https://login.example.test");
  o->client_id = strdup("client-n");
  o->client_secret = strdup("not-a-real-secret-0123");
  client = gen_client_create(o);
  memset(&seen, 0, sizeof(seen));
  pthread_mutex_lock(&fake_lock);
  tokens_issued = channels_made = subscriptions = connects = pings = 0;
  script_head = script_tail = 0;
  refuse_next_connect = 0;
  pthread_mutex_unlock(&fake_lock);
  gen_notify_t *n =
      gen_notify_create(client,
                        &(gen_notify_callbacks_t){.on_message = on_message,
                                                  .on_connected = on_connected,
                                                  .on_lost = on_lost},
                        &seen, options);
  consumer = n;
  char *topics[] = {TOPIC_A, TOPIC_B};
  if (n == NULL || gen_notify_set_topics(n, topics, 2) != 0 ||
      gen_notify_start(n) != 0)
    return NULL;
  return n;
}

static void stop(gen_notify_t *n) {
  gen_notify_free(n);
  gen_client_free(client);
  while (script_head < script_tail)
    free(script[script_head++ % 32]);
}

/* The channel's notifications (collectd-genesys(5), NOTIFICATIONS). */
static int channel_notifs(int severity) {
  return (int)mock_notifs_count(severity, "self", "notification_channel", "0");
}

DEF_TEST(channel_made_subscribed_baselined_and_fed) {
  mock_notifs_reset();
  gen_notify_t *n = start(NULL);
  CHECK_NOT_NULL(n);
  gen_notify_stats_t *st = &n->hub->stats; /* the client's channels */
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 1));
  /* counted after the callback returns */
  OK(WAIT_FOR(atomic_load(&gen_notify_stats(n)->baselines) == 1));
  EXPECT_EQ_INT(1, locked(&channels_made));
  EXPECT_EQ_INT(1, locked(&connects));
  EXPECT_EQ_INT(1, locked(&subscriptions));
  pthread_mutex_lock(&fake_lock);
  OK(strstr(last_subscription, "/channels/ch-1/subscriptions") != NULL);
  OK(strstr(last_subscription, TOPIC_A) && strstr(last_subscription, TOPIC_B));
  pthread_mutex_unlock(&fake_lock);
  EXPECT_EQ_INT(2, atomic_load(&seen.topics_at_baseline));
  EXPECT_EQ_INT(1, (int)atomic_load(&st->sockets_open));

  /* A message of each topic reaches the consumer; a topic it does not
   * hold and a heartbeat do not; the heartbeat is counted. */
  say(MSG(TOPIC_A));
  say(MSG("v2.analytics.queues.other.observations"));
  say("{\"topicName\":\"channel.metadata\",\"eventBody\":{\"message\":"
      "\"WebSocket Heartbeat\"}}");
  say(MSG(TOPIC_B));
  OK(WAIT_FOR(atomic_load(&st->messages) == 4));
  EXPECT_EQ_INT(2, atomic_load(&seen.messages));
  EXPECT_EQ_INT(2, (int)atomic_load(&gen_notify_stats(n)->messages));
  EXPECT_EQ_INT(1, (int)atomic_load(&st->heartbeats));

  /* socket_closing: the same channel again at once, baselined again. */
  say("{\"topicName\":\"v2.system.socket_closing\",\"eventBody\":{}}");
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 2));
  EXPECT_EQ_INT(2, locked(&connects));
  EXPECT_EQ_INT(1, locked(&channels_made));
  EXPECT_EQ_INT(1, (int)atomic_load(&st->reconnects));
  EXPECT_EQ_INT(1, locked(&subscriptions));    /* the channel keeps them */
  EXPECT_EQ_INT(1, atomic_load(&seen.losses)); /* its topics missed some */
  EXPECT_EQ_INT(2, atomic_load(&seen.topics_lost));

  /* no_longer_subscribed: the whole set again, and a baseline. */
  say("{\"topicName\":\"v2.system.no_longer_subscribed.ch-1\","
      "\"eventBody\":{}}");
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 3));
  EXPECT_EQ_INT(1, (int)atomic_load(&st->resubscribes));
  EXPECT_EQ_INT(2, locked(&subscriptions));
  EXPECT_EQ_INT(2, locked(&connects));         /* no reconnect for it */
  EXPECT_EQ_INT(2, atomic_load(&seen.losses)); /* but events were missed */

  /* Any other v2.system topic is the hub's, never a consumer's: an
   * unknown systemTopicType is ignored; subscription_changed subscribes
   * the whole set again, as no_longer_subscribed. */
  say("{\"topicName\":\"v2.system.u-1.c-1\",\"eventBody\":{"
      "\"systemTopicType\":\"new_kind\"}}");
  say("{\"topicName\":\"v2.system.u-1.c-1\",\"eventBody\":{"
      "\"systemTopicType\":\"subscription_changed\"}}");
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 4));
  EXPECT_EQ_INT(2, (int)atomic_load(&st->resubscribes));
  EXPECT_EQ_INT(3, locked(&subscriptions));
  EXPECT_EQ_INT(2, atomic_load(&seen.messages));
  EXPECT_EQ_INT(3, atomic_load(&seen.losses));

  /* token_revoked: a new token and a new channel, at once. */
  say("{\"topicName\":\"v2.system.token_revoked.ch-1\",\"eventBody\":{}}");
  OK(WAIT_FOR(locked(&channels_made) == 2 &&
              atomic_load(&seen.baselines) == 5));
  EXPECT_EQ_INT(1, (int)atomic_load(&st->revocations));
  EXPECT_EQ_INT(2, locked(&tokens_issued));
  pthread_mutex_lock(&fake_lock);
  OK(strstr(last_subscription, "/channels/ch-2/subscriptions") != NULL);
  pthread_mutex_unlock(&fake_lock);
  /* The service's planned closes and resubscriptions are no lost channel. */
  EXPECT_EQ_INT(0, (int)mock_notifs_num);

  /* A socket dropped without a close frame: reconnected after the first
   * backoff step (1 s ± 20 %) on the same channel. */
  say(EOF_MARK);
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 6));
  EXPECT_EQ_INT(2, locked(&channels_made));
  EXPECT_EQ_INT(5, atomic_load(&seen.losses));
  /* Lost, then resumed: one notification each. */
  OK(WAIT_FOR(channel_notifs(NOTIF_OKAY) == 1));
  EXPECT_EQ_INT(1, channel_notifs(NOTIF_FAILURE));
  OK(strstr(mock_notifs[0].message, "notification channel 0 lost") != NULL);
  OK(strstr(mock_notifs[1].message, "notification channel 0 resumed") != NULL);
  stop(n);
  EXPECT_EQ_INT(2, (int)mock_notifs_num); /* nothing at shutdown */
  mock_notifs_reset();
  /* Shutting down loses nothing anyone should be told of. */
  EXPECT_EQ_INT(5, atomic_load(&seen.losses));
  EXPECT_EQ_INT(0, atomic_load(&seen.lost_out_of_order));
  return 0;
}

/* A silent channel is pinged after ping_after and given up after
 * dead_after: a new socket, baselined. */
DEF_TEST(silent_channel_pinged_then_reconnected) {
  gen_notify_options_t o = {.ping_after = MS_TO_CDTIME_T(100),
                            .dead_after = MS_TO_CDTIME_T(400)};
  gen_notify_t *n = start(&o);
  CHECK_NOT_NULL(n);
  OK(WAIT_FOR(locked(&pings) >= 1));
  OK(WAIT_FOR(atomic_load(&n->hub->stats.reconnects) >= 1));
  OK(WAIT_FOR(atomic_load(&seen.baselines) >= 2));
  stop(n);
  return 0;
}

/* Silence is measured on the monotonic clock: the wall clock stepping a day
 * ahead (NTP, a VM resumed) is no day of silence, so the channel is
 * neither pinged nor reconnected ("silent for 86403 s" reconnected every
 * channel). */
DEF_TEST(wall_clock_step_is_no_silence) {
  gen_notify_options_t o = {.ping_after = TIME_T_TO_CDTIME_T(20),
                            .dead_after = TIME_T_TO_CDTIME_T(60)};
  gen_notify_t *n = start(&o);
  CHECK_NOT_NULL(n);
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 1));
  mock_log_reset();
  mock_time = cdtime() + TIME_T_TO_CDTIME_T(86403);
  /* The channel loop polls every few ms: many turns with the new time. */
  nanosleep(&(struct timespec){.tv_nsec = 400000000}, NULL);
  mock_time = 0;
  EXPECT_EQ_INT(0, (int)atomic_load(&n->hub->stats.reconnects));
  EXPECT_EQ_INT(0, locked(&pings));
  OK(!mock_log_contains("silent for"));
  EXPECT_EQ_INT(1, locked(&connects));
  stop(n);
  return 0;
}

/* A handshake refused on a channel made before: the channel is gone, a new
 * one is made at once (no backoff step on the old one). */
DEF_TEST(refused_handshake_makes_a_new_channel) {
  gen_notify_t *n = start(NULL);
  CHECK_NOT_NULL(n);
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 1));
  pthread_mutex_lock(&fake_lock);
  refuse_next_connect = GEN_WS_ERR_HANDSHAKE;
  pthread_mutex_unlock(&fake_lock);
  say("{\"topicName\":\"v2.system.socket_closing\",\"eventBody\":{}}");
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 2));
  EXPECT_EQ_INT(2, locked(&channels_made));
  EXPECT_EQ_INT(2, locked(&connects));
  stop(n);
  return 0;
}

/* One family's baseline failing (TOPIC_B's) keeps the channel: no
 * reconnect, TOPIC_A's messages flow, and TOPIC_B alone is asked again
 * after 5 s (said once, counted), then taken. */
DEF_TEST(a_failed_baseline_stays_with_its_topics) {
  mock_log_reset();
  atomic_store(&fail_b, 1);
  gen_notify_t *n = start(NULL);
  CHECK_NOT_NULL(n);
  gen_notify_stats_t *own = gen_notify_stats(n);
  /* the failure is counted and said after the callback that counts
   * seen.baselines returns: waited for too */
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 1));
  OK(WAIT_FOR(atomic_load(&own->baseline_failures) == 1));
  OK(WAIT_FOR(mock_log_contains("the baseline of 1 topics failed")));
  say(MSG(TOPIC_A));
  OK(WAIT_FOR(atomic_load(&seen.messages) == 1));
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 2));
  EXPECT_EQ_INT(1, atomic_load(&seen.topics_at_baseline)); /* TOPIC_B */
  EXPECT_EQ_INT(1, (int)atomic_load(&own->baseline_retries));
  EXPECT_EQ_INT(1, locked(&connects));
  EXPECT_EQ_INT(0, atomic_load(&seen.losses));
  OK(WAIT_FOR(mock_log_contains("the baselines that failed are taken")));
  stop(n);
  return 0;
}

/* The topic set grows while the channel's first subscription is under way
 * (a member listing that ends then, as at a start with AgentActivity): the
 * baseline of that subscription reads only the topics it subscribed, the
 * topic gained after it its own baseline: each topic read once (it read the
 * gained topic twice, as the users listing of 200 agents twice in the e2e
 * paging test under load). */
#define TOPIC_C "v2.users.u1.activity"
static void grow_topics(void) {
  char *topics[] = {TOPIC_A, TOPIC_B, TOPIC_C};
  gen_notify_set_topics(consumer, topics, 3);
}

DEF_TEST(topics_gained_during_a_subscription_baselined_once) {
  pthread_mutex_lock(&fake_lock);
  during_subscription = grow_topics;
  pthread_mutex_unlock(&fake_lock);
  gen_notify_t *n = start(NULL);
  CHECK_NOT_NULL(n);
  OK(WAIT_FOR(atomic_load(&seen.baselines) == 2));
  OK(WAIT_FOR(locked(&subscriptions) == 2));
  nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL); /* no third */
  EXPECT_EQ_INT(2, atomic_load(&seen.baselines));
  EXPECT_EQ_INT(1, atomic_load(&seen.topics_at_baseline)); /* TOPIC_C */
  EXPECT_EQ_INT(3, atomic_load(&seen.topics_baselined));
  pthread_mutex_lock(&fake_lock);
  OK(strstr(last_subscription, TOPIC_C) != NULL);
  pthread_mutex_unlock(&fake_lock);
  EXPECT_EQ_INT(1, locked(&connects));
  stop(n);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  http_perform = fake_perform;
  notify_socket.connect = fake_connect;
  notify_socket.poll = fake_poll;
  notify_socket.send_text = fake_send_text;
  RUN_TEST(channel_made_subscribed_baselined_and_fed);
  RUN_TEST(silent_channel_pinged_then_reconnected);
  RUN_TEST(wall_clock_step_is_no_silence);
  RUN_TEST(refused_handshake_makes_a_new_channel);
  RUN_TEST(a_failed_baseline_stays_with_its_topics);
  RUN_TEST(topics_gained_during_a_subscription_baselined_once);
  END_TEST;
}
