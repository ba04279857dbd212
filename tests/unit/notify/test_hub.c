/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_hub, the notification hub's bookkeeping: packing into
 * channels, one topic shared by several consumers, release, pending topics
 * placed when room is freed, the channel budget, renewal. */
#include "plugin_mock.h"

#include "gen_hub.h"
#include "gen_notify.h"

#include "collectd/core/testing.h"

#include <stdio.h>

/* topics "<prefix>.<i>" for i in [from, to) */
static char **names(const char *prefix, size_t from, size_t to) {
  char **t = calloc(to - from, sizeof(*t));
  for (size_t i = from; i < to; i++) {
    char buf[64];
    snprintf(buf, sizeof(buf), "%s.%zu", prefix, i);
    t[i - from] = strdup(buf);
  }
  return t;
}

static ssize_t want(gen_hub_t *h, int c, const char *prefix, size_t from,
                    size_t to) {
  char **t = names(prefix, from, to);
  ssize_t pending = gen_hub_want(h, c, t, to - from);
  gen_hub_topics_free(t, to - from);
  return pending;
}

DEF_TEST(packing) {
  gen_hub_t *h = gen_hub_new(3, 4);
  int a = gen_hub_join(h);
  EXPECT_EQ_INT(0, a);
  EXPECT_EQ_INT(0, (int)want(h, a, "q", 0, 10));
  EXPECT_EQ_INT(3, (int)gen_hub_channels(h));
  EXPECT_EQ_INT(10, (int)gen_hub_topics(h));
  EXPECT_EQ_INT(4, (int)gen_hub_channel_size(h, 0, NULL));
  EXPECT_EQ_INT(4, (int)gen_hub_channel_size(h, 1, NULL));
  EXPECT_EQ_INT(2, (int)gen_hub_channel_size(h, 2, NULL));
  /* In the order given: q.0…q.3 on channel 0. */
  size_t n;
  char **t = gen_hub_channel_topics(h, 0, &n);
  EXPECT_EQ_INT(4, (int)n);
  EXPECT_EQ_STR("q.0", t[0]);
  EXPECT_EQ_STR("q.3", t[3]);
  free(t); /* one allocation */
  /* The same set again changes no channel. */
  uint64_t g0, g1;
  gen_hub_channel_size(h, 0, &g0);
  EXPECT_EQ_INT(0, (int)want(h, a, "q", 0, 10));
  gen_hub_channel_size(h, 0, &g1);
  OK(g0 == g1);
  /* Repeats and case count once. */
  char *rep[] = {"Q.0", "q.0", "q.1"};
  EXPECT_EQ_INT(0, (int)gen_hub_want(h, a, rep, 3));
  EXPECT_EQ_INT(2, (int)gen_hub_topics(h));
  EXPECT_EQ_INT(1, (int)gen_hub_channels(h));
  EXPECT_EQ_INT(2, (int)gen_hub_consumer_count(h, a));
  gen_hub_free(h);
  return 0;
}

DEF_TEST(sharing) {
  gen_hub_t *h = gen_hub_new(20, 1000);
  int rt = gen_hub_join(h), fm = gen_hub_join(h);
  OK(rt >= 0 && fm >= 0 && rt != fm);
  char *mine[] = {"v2.analytics.queues.q1.observations",
                  "v2.routing.queues.q1.conversations"};
  char *theirs[] = {"v2.routing.queues.q1.conversations",
                    "v2.analytics.flow.f1.metrics"};
  EXPECT_EQ_INT(0, (int)gen_hub_want(h, rt, mine, 2));
  EXPECT_EQ_INT(0, (int)gen_hub_want(h, fm, theirs, 2));
  /* Three distinct topics, one channel. */
  EXPECT_EQ_INT(3, (int)gen_hub_topics(h));
  EXPECT_EQ_INT(1, (int)gen_hub_channels(h));
  uint64_t both = (UINT64_C(1) << rt) | (UINT64_C(1) << fm);
  OK(gen_hub_route(h, "v2.routing.queues.q1.conversations") == both);
  OK(gen_hub_route(h, "V2.Routing.Queues.Q1.Conversations") == both);
  OK(gen_hub_route(h, mine[0]) == UINT64_C(1) << rt);
  OK(gen_hub_route(h, theirs[1]) == UINT64_C(1) << fm);
  OK(gen_hub_route(h, "v2.analytics.queues.q2.observations") == 0);
  OK(gen_hub_channel_consumers(h, 0) == both);
  /* Each consumer's own share of the channel, for its baseline. */
  size_t n;
  char **t = gen_hub_consumer_topics(h, fm, 0, &n);
  EXPECT_EQ_INT(2, (int)n);
  free(t);
  /* Release: the shared topic stays for the other one. */
  gen_hub_leave(h, fm);
  EXPECT_EQ_INT(2, (int)gen_hub_topics(h));
  OK(gen_hub_route(h, "v2.routing.queues.q1.conversations") == UINT64_C(1)
                                                                   << rt);
  OK(gen_hub_route(h, theirs[1]) == 0);
  /* The last one out closes the channels. */
  gen_hub_leave(h, rt);
  EXPECT_EQ_INT(0, (int)gen_hub_channels(h));
  EXPECT_EQ_INT(0, (int)gen_hub_topics(h));
  /* A freed slot is given again. */
  EXPECT_EQ_INT(0, gen_hub_join(h));
  gen_hub_free(h);
  return 0;
}

DEF_TEST(budget_and_pending) {
  /* 2 channels of 3 topics: 6 fit. */
  gen_hub_t *h = gen_hub_new(2, 3);
  int a = gen_hub_join(h), b = gen_hub_join(h);
  EXPECT_EQ_INT(0, (int)want(h, a, "a", 0, 4));
  /* b asks for 4 more: 2 fit, 2 wait; nothing of a's moves. */
  uint64_t g0;
  gen_hub_channel_size(h, 0, &g0);
  EXPECT_EQ_INT(2, (int)want(h, b, "b", 0, 4));
  uint64_t g0_after;
  gen_hub_channel_size(h, 0, &g0_after);
  OK(g0 == g0_after);
  EXPECT_EQ_INT(6, (int)gen_hub_topics(h));
  EXPECT_EQ_INT(2, (int)gen_hub_channels(h));
  EXPECT_EQ_INT(2, (int)gen_hub_pending(h, b));
  EXPECT_EQ_INT(0, (int)gen_hub_pending(h, a));
  EXPECT_EQ_INT(2, (int)gen_hub_pending(h, -1));
  OK(gen_hub_route(h, "b.0") == UINT64_C(1) << b);
  OK(gen_hub_route(h, "b.3") == 0); /* pending: not carried */
  /* a shrinks to one topic: b's pending ones take the room. */
  EXPECT_EQ_INT(0, (int)want(h, a, "a", 0, 1));
  EXPECT_EQ_INT(0, (int)gen_hub_pending(h, b));
  EXPECT_EQ_INT(5, (int)gen_hub_topics(h));
  OK(gen_hub_route(h, "b.3") == UINT64_C(1) << b);
  /* A whole budget for one, then another leaves nothing evicted. */
  EXPECT_EQ_INT(0, (int)want(h, a, "a", 0, 2));
  EXPECT_EQ_INT(0, (int)gen_hub_pending(h, -1));
  EXPECT_EQ_INT(6, (int)gen_hub_topics(h));
  /* Channel 0 holds a.0, b.2, b.3 and channel 1 b.0, b.1, a.1: when b
   * leaves, a keeps one topic on each (carried topics are not moved). */
  gen_hub_leave(h, b);
  EXPECT_EQ_INT(2, (int)gen_hub_topics(h));
  EXPECT_EQ_INT(2, (int)gen_hub_channels(h));
  OK(gen_hub_route(h, "a.1") == UINT64_C(1) << a);
  gen_hub_free(h);
  return 0;
}

/* An org's scale: 20 channels of 1,000 topics, agents coming and going
 * (each round drops the oldest 1,000 users' topics and adds 1,000 new
 * ones): records and their names are reused, and every topic is found,
 * routed and listed as it was given. */
DEF_TEST(many_topics_churn) {
  gen_hub_t *h = gen_hub_new(20, 1000);
  int a = gen_hub_join(h), b = gen_hub_join(h);
  const char *u = "v2.users.00000000-0000-0000-0000-0000";
  EXPECT_EQ_INT(0, (int)want(h, a, u, 0, 15000));
  EXPECT_EQ_INT(0, (int)want(h, b, "v2.routing.queues.q", 0, 3000));
  for (size_t round = 1; round <= 40; round++)
    EXPECT_EQ_INT(0, (int)want(h, a, u, round * 1000, round * 1000 + 15000));
  EXPECT_EQ_INT(18000, (int)gen_hub_topics(h));
  EXPECT_EQ_INT(0, (int)gen_hub_pending(h, -1));
  EXPECT_EQ_INT(18, (int)gen_hub_channels(h));
  char topic[128];
  for (size_t i = 0; i < 55000; i++) {
    snprintf(topic, sizeof(topic), "%s.%zu", u, i);
    uint64_t want_route = i >= 40000 ? UINT64_C(1) << a : 0;
    if (gen_hub_route(h, topic) != want_route)
      return -1;
  }
  OK(gen_hub_route(h, "v2.routing.queues.q.2999") == UINT64_C(1) << b);
  size_t listed = 0;
  for (size_t c = 0; c < gen_hub_max_channels(h); c++) {
    size_t n;
    char **t = gen_hub_channel_topics(h, c, &n);
    for (size_t i = 0; i < n; i++)
      if (gen_hub_route(h, t[i]) == 0)
        return -1;
    listed += n;
    free(t);
  }
  EXPECT_EQ_INT(18000, (int)listed);
  gen_hub_leave(h, a);
  EXPECT_EQ_INT(3000, (int)gen_hub_topics(h));
  snprintf(topic, sizeof(topic), "%s.%d", u, 45000);
  OK(gen_hub_route(h, topic) == 0);
  gen_hub_free(h);
  /* Channels are numbered in 16 bits. */
  OK(gen_hub_new(32768, 10) == NULL);
  OK(gen_hub_new(1, 0) == NULL);
  return 0;
}

/* Names are kept as given whatever their form: with an id between dots
 * (the frame around it kept once), with no such id, and past the frames
 * the hub keeps (more than 254 forms); found without case. */
DEF_TEST(names_as_given) {
  gen_hub_t *h = gen_hub_new(1, 1000);
  int a = gen_hub_join(h);
  char *given[] = {"plain",
                   "one.dot",
                   ".lead",
                   "trail.",
                   "a..b",
                   "V2.Users.U1.Activity",
                   "v2.users.u2.activity",
                   "v2.users.u3.activity",
                   "x.y.z.",
                   "v2.users..activity"};
  size_t n_given = sizeof(given) / sizeof(given[0]);
  char **topics = calloc(n_given + 300, sizeof(*topics));
  for (size_t i = 0; i < n_given; i++)
    topics[i] = strdup(given[i]);
  for (size_t i = 0; i < 300; i++) {
    char t[64];
    snprintf(t, sizeof(t), "form%zu.id%zu.end", i, i);
    topics[n_given + i] = strdup(t);
  }
  size_t n = n_given + 300;
  EXPECT_EQ_INT(0, (int)gen_hub_want(h, a, topics, n));
  EXPECT_EQ_INT((int)n, (int)gen_hub_topics(h));
  size_t listed;
  char **t = gen_hub_channel_topics(h, 0, &listed);
  EXPECT_EQ_INT((int)n, (int)listed);
  for (size_t i = 0; i < n; i++) {
    EXPECT_EQ_STR(topics[i], t[i]);
    OK(gen_hub_route(h, topics[i]) == UINT64_C(1) << a);
  }
  free(t);
  OK(gen_hub_route(h, "v2.users.U1.activity") == UINT64_C(1) << a);
  OK(gen_hub_route(h, "V2.USERS.U2.ACTIVITY") == UINT64_C(1) << a);
  OK(gen_hub_route(h, "v2.users.u1.activit") == 0);
  OK(gen_hub_route(h, "v2.users.u1.activityx") == 0);
  OK(gen_hub_route(h, "v2.users.u.activity") == 0);
  OK(gen_hub_route(h, "v2.users") == 0);
  OK(gen_hub_route(h, "") == 0);
  OK(gen_hub_route(h, "FORM299.ID299.END") == UINT64_C(1) << a);
  /* Dropped ones are gone, the others stay. */
  EXPECT_EQ_INT(0, (int)gen_hub_want(h, a, topics + 5, 3));
  OK(gen_hub_route(h, "plain") == 0);
  OK(gen_hub_route(h, "form0.id0.end") == 0);
  OK(gen_hub_route(h, "v2.users.u3.activity") == UINT64_C(1) << a);
  gen_hub_topics_free(topics, n);
  gen_hub_free(h);
  return 0;
}

DEF_TEST(consumer_slots) {
  gen_hub_t *h = gen_hub_new(1, 1);
  for (int c = 0; c < GEN_HUB_MAX_CONSUMERS; c++)
    EXPECT_EQ_INT(c, gen_hub_join(h));
  EXPECT_EQ_INT(-1, gen_hub_join(h));
  EXPECT_EQ_INT(-EINVAL, (int)gen_hub_want(h, GEN_HUB_MAX_CONSUMERS, NULL, 0));
  gen_hub_leave(h, 5);
  EXPECT_EQ_INT(5, gen_hub_join(h));
  gen_hub_free(h);
  return 0;
}

DEF_TEST(renewal) {
  const uint64_t hour = 3600, day = 86400;
  /* A day-long channel is renewed an hour before it expires. */
  OK(!gen_hub_renew_due(1000, 1000 + day, day, hour));
  OK(!gen_hub_renew_due(1000 + day - hour - 1, 1000 + day, day, hour));
  OK(gen_hub_renew_due(1000 + day - hour, 1000 + day, day, hour));
  /* A 10-minute channel at half its life. */
  OK(!gen_hub_renew_due(1000, 1600, 600, hour));
  OK(gen_hub_renew_due(1300, 1600, 600, hour));
  /* No expiry known: never. */
  OK(!gen_hub_renew_due(1000, 0, 0, hour));
  return 0;
}

/* ---- gen_notify over gen_hub: the hub of a client, routing, one parse */

static gen_client_t *client(const char *plugin, const char *org,
                            const char *client_id) {
  gen_org_t *o = gen_org_create(plugin, org);
  o->api_base_url = strdup("https://api.example.test");
  o->login_base_url = strdup("https://login.example.test");
  o->client_id = strdup(client_id);
  o->client_secret = strdup("not-a-real-secret-0123");
  return gen_client_create(o);
}

typedef struct {
  int messages;
  json_object *doc; /* the tree the last message parsed to (held) */
} seen_t;

static gen_notify_verdict_t on_message(void *ud, const char *topic,
                                       const char *json, size_t len) {
  seen_t *seen = ud;
  char err[128];
  json_object *doc = NULL;
  seen->messages++;
  if (gen_notify_parse(json, len, &doc, err, sizeof(err)) != 0)
    return GEN_NOTIFY_MALFORMED;
  /* The topic handed over is the message's. */
  EXPECT_EQ_STR(gen_json_get_string(doc, "topicName"), topic);
  /* Kept alive, so that two parses could not share an address. */
  json_object_put(seen->doc);
  seen->doc = doc;
  return GEN_NOTIFY_OK;
}

static int on_connected(void *ud, gen_http_t *http, char *const *topics,
                        size_t n, uint8_t *failed) {
  return 0;
}

#define CONV(q) "v2.routing.queues." q ".conversations"
#define MSG(topic) "{\"topicName\":\"" topic "\",\"eventBody\":{\"id\":\"c\"}}"

DEF_TEST(one_hub_per_client) {
  gen_client_t *rt_client = client("genesys_realtime", "acme", "client-a");
  gen_client_t *fm_client = client("genesys_flowmetrics", "acme", "client-a");
  gen_client_t *other = client("genesys_realtime", "beta", "client-b");
  seen_t rt = {0}, fm = {0}, ot = {0};
  gen_notify_callbacks_t cb = {.on_message = on_message,
                               .on_connected = on_connected};
  gen_notify_t *a = gen_notify_create(rt_client, &cb, &rt, NULL);
  gen_notify_t *b = gen_notify_create(fm_client, &cb, &fm, NULL);
  gen_notify_t *c = gen_notify_create(other, &cb, &ot, NULL);
  CHECK_NOT_NULL(a);
  CHECK_NOT_NULL(b);
  CHECK_NOT_NULL(c);
  char *rt_topics[] = {"v2.analytics.queues.q1.observations", CONV("q1")};
  char *fm_topics[] = {CONV("q1"), "v2.analytics.flow.f1.metrics"};
  EXPECT_EQ_INT(0, gen_notify_set_topics(a, rt_topics, 2));
  EXPECT_EQ_INT(0, gen_notify_set_topics(b, fm_topics, 2));
  EXPECT_EQ_INT(0, gen_notify_set_topics(c, rt_topics, 2));
  /* Client a's hub: three distinct topics, one channel; client b's own. */
  EXPECT_EQ_INT(3, (int)gen_notify_topics(a));
  EXPECT_EQ_INT(3, (int)gen_notify_topics(b));
  EXPECT_EQ_INT(1, (int)gen_notify_channels(a));
  EXPECT_EQ_INT(2, (int)gen_notify_topics(c));
  /* One token cache for the client's consumers. */
  OK(rt_client->auth == fm_client->auth);
  OK(rt_client->auth != other->auth);
  /* A shared topic: both, one parse. */
  const char shared[] = MSG(CONV("q1"));
  EXPECT_EQ_INT(2, (int)gen_notify_deliver(a, shared, sizeof(shared) - 1));
  EXPECT_EQ_INT(1, rt.messages);
  EXPECT_EQ_INT(1, fm.messages);
  OK(rt.doc != NULL && rt.doc == fm.doc);
  EXPECT_EQ_INT(0, ot.messages);
  /* A topic of one consumer only; system topics are the hub's. */
  const char flow[] = MSG("v2.analytics.flow.f1.metrics");
  EXPECT_EQ_INT(1, (int)gen_notify_deliver(a, flow, sizeof(flow) - 1));
  EXPECT_EQ_INT(2, fm.messages);
  EXPECT_EQ_INT(1, rt.messages);
  const char beat[] = MSG("channel.metadata");
  EXPECT_EQ_INT(0, (int)gen_notify_deliver(a, beat, sizeof(beat) - 1));
  /* Leaving: the shared topic stays for the other, the other's goes. */
  gen_notify_free(b);
  OK(fm_client->auth != rt_client->auth); /* its own token cache again */
  EXPECT_EQ_INT(2, (int)gen_notify_topics(a));
  EXPECT_EQ_INT(1, (int)gen_notify_deliver(a, shared, sizeof(shared) - 1));
  EXPECT_EQ_INT(0, (int)gen_notify_deliver(a, flow, sizeof(flow) - 1));
  EXPECT_EQ_INT(2, fm.messages);
  gen_notify_free(a);
  gen_notify_free(c);
  json_object_put(rt.doc);
  json_object_put(fm.doc);
  gen_client_free(rt_client);
  gen_client_free(fm_client);
  gen_client_free(other);
  return 0;
}

DEF_TEST(topic_scan) {
  char t[64];
  const char *plain = "{\"topicName\":\"v2.a.b\",\"eventBody\":{}}";
  OK(gen_notify_topic(plain, strlen(plain), t, sizeof(t)));
  EXPECT_EQ_STR("v2.a.b", t);
  /* After the body, past a nested topicName and strings with braces. */
  const char *late =
      "{ \"eventBody\" : {\"topicName\":\"inner\",\"s\":\"}{\\\"\","
      "\"a\":[1,{\"b\":null}],\"n\":-1.5e3}, \"version\":\"2\", "
      "\"topicName\" : \"outer\"}";
  OK(gen_notify_topic(late, strlen(late), t, sizeof(t)));
  EXPECT_EQ_STR("outer", t);
  const char *none = "{\"eventBody\":{\"topicName\":\"inner\"}}";
  OK(!gen_notify_topic(none, strlen(none), t, sizeof(t)));
  /* Escapes decoded (gen_jscan decodes them). */
  const char *escaped = "{\"topicName\":\"v2.\\u0061\"}";
  OK(gen_notify_topic(escaped, strlen(escaped), t, sizeof(t)));
  EXPECT_EQ_STR("v2.a", t);
  const char *empty = "{\"topicName\":\"\"}";
  OK(!gen_notify_topic(empty, strlen(empty), t, sizeof(t)));
  const char *cut = "{\"eventBody\":{\"x\":\"";
  OK(!gen_notify_topic(cut, strlen(cut), t, sizeof(t)));
  OK(!gen_notify_topic("[]", 2, t, sizeof(t)));
  /* A topicName not a string is none (gen_obs read these before, as
   * GEN_OBS_ERR_TYPE; the hub skips such a message), nor one with \u0000,
   * nor the in-band replies of the socket, which have none. */
  const char *not_names[] = {
      "{\"topicName\":1}",
      "{\"topicName\":[\"v2.a\"]}",
      "{\"topicName\":null}",
      "[{\"topicName\":\"v2.a\"}]",
      "{\"topicName\":\"v2.a\\u0000\"}",
      "{\"result\":\"404\",\"message\":\"channel not found\"}"};
  for (size_t i = 0; i < sizeof(not_names) / sizeof(not_names[0]); i++)
    OK(!gen_notify_topic(not_names[i], strlen(not_names[i]), t, sizeof(t)));
  /* The text after the topic is not read: the topic's reader judges it. */
  const char *rest = "{\"topicName\":\"v2.users.u1.activity\",\"eventBody\":{";
  OK(gen_notify_topic(rest, strlen(rest), t, sizeof(t)));
  EXPECT_EQ_STR("v2.users.u1.activity", t);
  char small[4];
  OK(!gen_notify_topic(plain, strlen(plain), small, sizeof(small)));
  return 0;
}

/* What topic_ids hands over: batches of ids, in order. */
typedef struct {
  char seen[512];
  int batches, fail_at;
} ids_t;
static int collect(void *ud, const char *const *ids, size_t k) {
  ids_t *c = ud;
  c->batches++;
  size_t off = strlen(c->seen);
  for (size_t i = 0; i < k; i++)
    off += (size_t)snprintf(c->seen + off, sizeof(c->seen) - off, "%s%s",
                            i ? "," : "", ids[i]);
  snprintf(c->seen + off, sizeof(c->seen) - off, ";");
  return c->batches == c->fail_at ? -5 : 0;
}

DEF_TEST(topic_ids) {
  OK(gen_notify_topic_has("v2.users.u1.activity", "v2.users.", ".activity"));
  OK(gen_notify_topic_has("V2.Users.u1.ACTIVITY", "v2.users.", ".activity"));
  OK(!gen_notify_topic_has("v2.users..activity", "v2.users.", ".activity"));
  OK(!gen_notify_topic_has("v2.users.u1.presence", "v2.users.", ".activity"));
  char long_id[128];
  snprintf(long_id, sizeof(long_id), "v2.users.%080d.activity", 7);
  char *topics[] = {"v2.users.a.activity", "v2.analytics.queues.q.observations",
                    "v2.users.b.activity", long_id, "v2.users.c.activity"};
  ids_t c = {0};
  EXPECT_EQ_INT(0, gen_notify_topic_ids(topics, 5, "v2.users.", ".activity", 2,
                                        collect, &c, NULL));
  EXPECT_EQ_STR("a,b;c;", c.seen); /* the 80-byte id is skipped */
  EXPECT_EQ_INT(2, c.batches);
  ids_t none = {0};
  EXPECT_EQ_INT(0, gen_notify_topic_ids(topics, 5, "v2.x.", ".y", 2, collect,
                                        &none, NULL));
  EXPECT_EQ_INT(0, none.batches);
  ids_t failing = {.fail_at = 1};
  EXPECT_EQ_INT(-5, gen_notify_topic_ids(topics, 5, "v2.users.", ".activity", 2,
                                         collect, &failing, NULL));
  EXPECT_EQ_STR("a,b;", failing.seen); /* stopped there */
  /* With failed[]: every batch asked, the failed one's topics marked. */
  ids_t marking = {.fail_at = 1};
  uint8_t failed[5] = {0};
  EXPECT_EQ_INT(-5, gen_notify_topic_ids(topics, 5, "v2.users.", ".activity", 2,
                                         collect, &marking, failed));
  EXPECT_EQ_STR("a,b;c;", marking.seen);
  OK(failed[0] && !failed[1] && failed[2] && !failed[3] && !failed[4]);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(packing);
  RUN_TEST(sharing);
  RUN_TEST(budget_and_pending);
  RUN_TEST(many_topics_churn);
  RUN_TEST(names_as_given);
  RUN_TEST(consumer_slots);
  RUN_TEST(renewal);
  RUN_TEST(one_hub_per_client);
  RUN_TEST(topic_scan);
  RUN_TEST(topic_ids);
  END_TEST;
}
