/* Unit tests of gen_hub, the notification hub's bookkeeping: packing into
 * channels, one topic shared by several consumers, release, pending topics
 * placed when room is freed, the channel budget, renewal. */
#include "plugin_mock.h"

#include "gen_hub.h"

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
  gen_hub_topics_free(t, n);
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
  gen_hub_topics_free(t, n);
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

int main(void) {
  mock_log_echo = false;
  RUN_TEST(packing);
  RUN_TEST(sharing);
  RUN_TEST(budget_and_pending);
  RUN_TEST(consumer_slots);
  RUN_TEST(renewal);
  END_TEST;
}
