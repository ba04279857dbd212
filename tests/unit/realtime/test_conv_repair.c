/* SPDX-License-Identifier: MIT */
/* Unit tests: the gap repair of the conversation counters (gen_conv_repair):
 * a window per queue of a lost channel, in whole minutes, from the loss
 * minus the heartbeat timeout to the baseline; the request once it has
 * settled (interval, metrics, groups, 100 queues of one window); each moment
 * counted once (the live ones in a window subtracted from the aggregates,
 * the live ones after the repair dropped, never below 0); windows trimmed
 * at a repaired one and merged with a waiting one; none before the
 * counters began (kept on Genesys' clock when ours steps); the edges on
 * Genesys' clock, none when it is a minute off ours; a malformed answer or a
 * refused request; the second ask, GapRepairRecheck later, adding what was
 * indexed since; the keys. */
#include "gen_conv_repair.h"
#include "gen_json.h"
#include "gen_live.h"
#include "gen_names.h"
#include "plugin_mock.h"
#include "waits_bounds.h"

#include "collectd/core/testing.h"

/* 2026-11-23T10:00:00Z, a whole minute */
#define T0 1795428000000LL
#define S 1000LL

static gen_waits_bounds_t bounds;
static gen_conv_store_t store;

static char *topics[] = {"v2.analytics.queues.q0.observations",
                         "v2.routing.queues.q0.conversations",
                         "v2.analytics.queues.q1.observations",
                         "v2.routing.queues.q1.conversations"};

static gen_conv_repair_t *repair(int64_t start_ms) {
  gen_conv_repair_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_conv_repair_keys, &c);
  /* HeartbeatTimeout 10 s: windows start 15 s before the loss. */
  return gen_conv_repair_new(&c, TIME_T_TO_CDTIME_T(10),
                             TIME_T_TO_CDTIME_T(14400), start_ms);
}

static void live_of(gen_live_t *l, gen_entity_set_t *set) {
  static const char *const ids[] = {"q0", "q1"};
  for (size_t i = 0; i < 2; i++)
    gen_entity_add(set, ids[i], ids[i], NULL);
  waits_bounds_default(&bounds);
  *l = (gen_live_t){.bounds = &bounds, .store = &store};
  gen_entity_set_t none = {0};
  gen_live_replace(l, &none, set, NULL, NULL);
}

static int64_t count(const gen_live_t *l, size_t q, int media,
                     gen_conv_moment_t m) {
  const gen_conv_counts_t *c = l->state[q].conv.media[media];
  return c == NULL ? 0 : c->moments[m];
}

static bool live(gen_conv_repair_t *r, const char *q, int media,
                 gen_conv_moment_t m, int64_t at_ms) {
  return gen_conv_repair_live(r, q, media, m, at_ms, at_ms);
}

static int take(gen_conv_repair_t *r, const char *text, gen_live_t *l,
                gen_entity_set_t *set) {
  char err[256] = "";
  int status = gen_conv_repair_take(r, text, strlen(text), false, set, l, err,
                                    sizeof(err));
  if (status != 0)
    printf("# %s\n", err);
  return status;
}

static const char *body_text(json_object *body) {
  return json_object_to_json_string_ext(
      body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Whether the next request due at now asks for interval ("start/end"). */
static bool asks(gen_conv_repair_t *r, int64_t now, const char *interval) {
  json_object *body = gen_conv_repair_next(r, now);
  char want[128];
  snprintf(want, sizeof(want), "\"interval\":\"%s\"", interval);
  bool yes = body != NULL && strstr(body_text(body), want) != NULL;
  if (!yes && body != NULL)
    printf("# asked %s\n", body_text(body));
  json_object_put(body);
  return yes;
}

/* One group's answer over interval with one metric's count. */
static int answer(gen_conv_repair_t *r, gen_live_t *l, gen_entity_set_t *set,
                  const char *interval, const char *metrics) {
  char text[1024];
  snprintf(text, sizeof(text),
           "{\"results\":[{\"group\":{\"queueId\":\"q0\",\"mediaType\":"
           "\"voice\"},\"data\":[{\"interval\":\"%s\",\"metrics\":[%s]}]}]}",
           interval, metrics);
  return take(r, text, l, set);
}

#define ANSWER                                                                 \
  "{\"results\":[{\"group\":{\"queueId\":\"q0\",\"mediaType\":\"voice\"},"     \
  "\"data\":[{\"interval\":\"2026-11-23T10:00:00.000Z/"                        \
  "2026-11-23T10:02:00.000Z\",\"metrics\":["                                   \
  "{\"metric\":\"nOffered\",\"stats\":{\"count\":3}},"                         \
  "{\"metric\":\"tAnswered\",\"stats\":{\"max\":9000,\"min\":1000,"            \
  "\"count\":2,\"sum\":10000}},"                                               \
  "{\"metric\":\"tAbandon\",\"stats\":{\"max\":9000,\"min\":9000,"             \
  "\"count\":2,\"sum\":18000}}]}]},"                                           \
  "{\"group\":{\"queueId\":\"q1\",\"mediaType\":\"chat\"},"                    \
  "\"data\":[{\"interval\":\"2026-11-23T10:00:00.000Z/"                        \
  "2026-11-23T10:02:00.000Z\",\"metrics\":["                                   \
  "{\"metric\":\"nOffered\",\"stats\":{\"count\":1}}]}]},"                     \
  "{\"group\":{\"queueId\":\"q-other\",\"mediaType\":\"voice\"},"              \
  "\"data\":[{\"interval\":\"2026-11-23T10:00:00.000Z/"                        \
  "2026-11-23T10:02:00.000Z\",\"metrics\":["                                   \
  "{\"metric\":\"nOffered\",\"stats\":{\"count\":7}}]}]}]}"

DEF_TEST(a_gap_repaired_once) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  live_of(&l, &set);
  gen_conv_repair_t *r = repair(T0 - 600 * S);
  const int V = GEN_MEDIA_VOICE, C = GEN_MEDIA_CHAT;
  /* Before the gap: counted live, remembered by minute. */
  OK(live(r, "q0", V, GEN_CONV_OFFERED, T0 + 10 * S));
  OK(live(r, "q0", V, GEN_CONV_ANSWERED, T0 + 20 * S));
  OK(live(r, "q0", V, GEN_CONV_ALERTED, T0 + 20 * S)); /* not repaired */
  /* Lost at :50, back at :80: the window is [10:00, 10:02). */
  gen_conv_repair_lost(r, topics, 4, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 4, T0 + 80 * S);
  /* After it, in the window: counted live, and remembered in it. */
  OK(live(r, "q0", V, GEN_CONV_ABANDONED, T0 + 90 * S));
  /* A known conversation's answer in the gap, seen at its next event. */
  OK(live(r, "q0", V, GEN_CONV_ANSWERED, T0 + 60 * S));
  /* Not due before its end plus the delay (120 s). */
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 239 * S));
  json_object *body = gen_conv_repair_next(r, T0 + 240 * S);
  OK(body != NULL);
  const char *text = body_text(body);
  printf("# %s\n", text);
  OK(strstr(text, "\"interval\":\"2026-11-23T10:00:00.000Z/"
                  "2026-11-23T10:02:00.000Z\"") != NULL);
  /* the API's default granularity: one bucket for the whole window */
  OK(strstr(text, "granularity") == NULL);
  OK(strstr(text, "\"groupBy\":[\"queueId\",\"mediaType\"]") != NULL);
  OK(strstr(text, "\"metrics\":[\"nOffered\",\"tAnswered\",\"tAbandon\"]") !=
     NULL);
  OK(strstr(text, "{\"dimension\":\"queueId\",\"value\":\"q0\"}") != NULL);
  OK(strstr(text, "{\"dimension\":\"queueId\",\"value\":\"q1\"}") != NULL);
  json_object_put(body);
  EXPECT_EQ_INT(0, take(r, ANSWER, &l, &set));
  /* The aggregates beyond the live moments: offered 3 - 1, answered 2 - 2,
   * abandoned 2 - 1; q1's chat offer; a queue not asked for is skipped. */
  EXPECT_EQ_INT(2, count(&l, 0, V, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(0, count(&l, 0, V, GEN_CONV_ANSWERED));
  EXPECT_EQ_INT(1, count(&l, 0, V, GEN_CONV_ABANDONED));
  EXPECT_EQ_INT(1, count(&l, 1, C, GEN_CONV_OFFERED));
  OK(l.state[0].changed && l.state[1].changed);
  EXPECT_EQ_INT(0, (int)l.state[0].conv_changed[C]);
  OK(l.state[0].conv_changed[V] & (1u << GEN_CONV_OFFERED));
  /* Done: nothing more due. */
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 300 * S));
  /* A moment of the repaired window seen late: the aggregates had it. */
  OK(!live(r, "q0", V, GEN_CONV_ANSWERED, T0 + 70 * S));
  OK(!live(r, "q1", C, GEN_CONV_OFFERED, T0 + 119 * S));
  OK(live(r, "q0", V, GEN_CONV_OFFERED, T0 + 120 * S));
  /* A moment with no time is placed at now. */
  OK(gen_conv_repair_live(r, "q0", V, GEN_CONV_ANSWERED, 0, T0 + 130 * S));
  OK(!gen_conv_repair_live(r, "q0", V, GEN_CONV_ANSWERED, 0, T0 + 100 * S));

  /* A gap soon after: its window starts at the repaired one's end, and the
   * live moments since count against it (two at :120 and :130). */
  gen_conv_repair_lost(r, topics, 2, T0 + 125 * S);
  gen_conv_repair_connected(r, topics, 2, T0 + 130 * S);
  body = gen_conv_repair_next(r, T0 + 300 * S);
  text = body_text(body);
  OK(strstr(text, "\"interval\":\"2026-11-23T10:02:00.000Z/"
                  "2026-11-23T10:03:00.000Z\"") != NULL);
  OK(strstr(text, "\"q1\"") == NULL); /* only q0's channel was lost */
  json_object_put(body);
  /* Fewer in the aggregates than counted live: nothing taken back. */
  EXPECT_EQ_INT(0,
                answer(r, &l, &set,
                       "2026-11-23T10:02:00.000Z/2026-11-23T10:03:00.000Z",
                       "{\"metric\":\"nOffered\",\"stats\":{\"count\":0}},"
                       "{\"metric\":\"tAnswered\",\"stats\":{\"count\":4}}"));
  EXPECT_EQ_INT(2, count(&l, 0, V, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(3, count(&l, 0, V, GEN_CONV_ANSWERED)); /* 4 - 1 */
  gen_conv_repair_free(r);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

/* A live table of q0 and q1 and its repair, the channels lost at :50 and
 * back at :80 (the window [10:00, 10:02)), its request taken at asked_ms. */
static gen_conv_repair_t *gap_asked(gen_live_t *l, gen_entity_set_t *set,
                                    int64_t asked_ms) {
  live_of(l, set);
  gen_conv_repair_t *r = repair(T0 - 600 * S);
  gen_conv_repair_lost(r, topics, 4, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 4, T0 + 80 * S);
  json_object_put(gen_conv_repair_next(r, asked_ms));
  return r;
}

/* The aggregates of a window summed over its buckets stop at 2^53, and so
 * does the counter they repair: two buckets of 5e15 offers made the
 * counter 1.0000000000000008e16, which the state file would refuse at the
 * next start. */
DEF_TEST(repaired_counts_stop_at_2_53) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  gen_conv_repair_t *r = gap_asked(&l, &set, T0 + 240 * S);
  const char *text =
      "{\"results\":[{\"group\":{\"queueId\":\"q0\",\"mediaType\":"
      "\"voice\"},\"data\":[{\"interval\":\"2026-11-23T10:00:00.000Z/"
      "2026-11-23T10:01:00.000Z\",\"metrics\":[{\"metric\":\"nOffered\","
      "\"stats\":{\"count\":5000000000000000}}]},{\"interval\":"
      "\"2026-11-23T10:01:00.000Z/2026-11-23T10:02:00.000Z\",\"metrics\":[{"
      "\"metric\":\"nOffered\",\"stats\":{\"count\":5000000000000000}}]}"
      "]}]}";
  EXPECT_EQ_INT(0, take(r, text, &l, &set));
  EXPECT_EQ_UINT64(GEN_JSON_EXACT_MAX,
                   count(&l, 0, GEN_MEDIA_VOICE, GEN_CONV_OFFERED));
  gen_conv_repair_free(r);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

DEF_TEST(gaps_merge_while_waiting) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  live_of(&l, &set);
  gen_conv_repair_t *r = repair(T0 - 600 * S);
  const int V = GEN_MEDIA_VOICE;
  gen_conv_repair_lost(r, topics, 4, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 4, T0 + 55 * S); /* ends 10:01 */
  OK(live(r, "q0", V, GEN_CONV_OFFERED, T0 + 62 * S));  /* after its end */
  /* Lost again before it was repaired: one window, to the next baseline,
   * with the moments counted live since its first end. */
  gen_conv_repair_lost(r, topics, 4, T0 + 70 * S);
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 3600 * S)); /* open */
  gen_conv_repair_connected(r, topics, 4, T0 + 130 * S);
  OK(asks(r, T0 + 3600 * S,
          "2026-11-23T10:00:00.000Z/2026-11-23T10:03:00.000Z"));
  EXPECT_EQ_INT(0, answer(r, &l, &set,
                          "2026-11-23T10:00:00.000Z/2026-11-23T10:03:00.000Z",
                          "{\"metric\":\"nOffered\",\"stats\":{\"count\":5}}"));
  EXPECT_EQ_INT(4, count(&l, 0, V, GEN_CONV_OFFERED));
  gen_conv_repair_free(r);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

DEF_TEST(no_window_before_the_counters_began) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  live_of(&l, &set);
  /* Began at :30: the first whole minute counted is 10:01. */
  gen_conv_repair_t *r = repair(T0 + 30 * S);
  gen_conv_repair_lost(r, topics, 4, T0 + 40 * S);
  gen_conv_repair_connected(r, topics, 4, T0 + 50 * S);
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 3600 * S));
  /* Lost at 10:01:05: the window starts at 10:01, not 10:00:50. */
  gen_conv_repair_lost(r, topics, 2, T0 + 65 * S);
  gen_conv_repair_connected(r, topics, 2, T0 + 70 * S);
  OK(asks(r, T0 + 3600 * S,
          "2026-11-23T10:01:00.000Z/2026-11-23T10:02:00.000Z"));
  gen_conv_repair_free(r);
  /* Placed on Genesys' clock by the offset of the first minute, and kept:
   * our clock stepped 50 s ahead later (an NTP step, a resumed VM) moves
   * the offset, not when the counters began. Began at 10:00:30 on both. */
  r = repair(T0 + 30 * S);
  OK(gen_conv_repair_live(r, "q0", GEN_MEDIA_VOICE, GEN_CONV_OFFERED,
                          T0 + 31 * S, T0 + 31 * S));
  /* Our clock 50 s ahead now: a moment of its 10:00:45 at our 10:01:35. */
  OK(gen_conv_repair_live(r, "q0", GEN_MEDIA_VOICE, GEN_CONV_OFFERED,
                          T0 + 45 * S, T0 + 95 * S));
  /* Lost at its 10:00:55, back at its 10:01:00: the window is [10:01,
   * 10:02), not [10:00, 10:02) (its 10:00:00 to 10:00:30 was never
   * counted, and the aggregates would add it). */
  gen_conv_repair_lost(r, topics, 2, T0 + 105 * S);
  gen_conv_repair_connected(r, topics, 2, T0 + 110 * S);
  OK(asks(r, T0 + 3600 * S,
          "2026-11-23T10:01:00.000Z/2026-11-23T10:02:00.000Z"));
  gen_conv_repair_free(r);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

DEF_TEST(gaps_on_genesys_clock) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  live_of(&l, &set);
  gen_conv_repair_t *r = repair(T0 - 600 * S);
  /* Its clock 20 s ahead of ours, by the freshest moment of the minute (an
   * older one reported late does not move it). */
  OK(gen_conv_repair_live(r, "q0", GEN_MEDIA_VOICE, GEN_CONV_OFFERED,
                          T0 + 20 * S, T0));
  OK(gen_conv_repair_live(r, "q0", GEN_MEDIA_VOICE, GEN_CONV_ANSWERED,
                          T0 - 30 * S, T0 + 5 * S));
  /* Lost at :50 and back at 1:40 ours, :70 and 2:00 its. */
  gen_conv_repair_lost(r, topics, 2, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 2, T0 + 100 * S);
  OK(asks(r, T0 + 3600 * S,
          "2026-11-23T10:00:00.000Z/2026-11-23T10:03:00.000Z"));
  gen_conv_repair_free(r);
  /* Over a minute apart (a simulator at another speed, a clock not set):
   * the gap cannot be placed, and is not repaired. */
  r = repair(T0 - 600 * S);
  OK(gen_conv_repair_live(r, "q0", GEN_MEDIA_VOICE, GEN_CONV_OFFERED,
                          T0 + 200 * S, T0));
  gen_conv_repair_lost(r, topics, 2, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 2, T0 + 100 * S);
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 3600 * S));
  gen_conv_repair_free(r);
  /* Its clock 20 s behind ours: the window (10:00 to 10:02 its) is asked
   * GapRepairDelay (120 s) after its end on its clock, 10:04:20 ours, not
   * at 10:04:00 ours (its 10:03:40, before the delay it needs). */
  r = repair(T0 - 600 * S);
  OK(gen_conv_repair_live(r, "q0", GEN_MEDIA_VOICE, GEN_CONV_OFFERED,
                          T0 - 20 * S, T0));
  gen_conv_repair_lost(r, topics, 2, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 2, T0 + 100 * S);
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 250 * S));
  OK(asks(r, T0 + 260 * S,
          "2026-11-23T10:00:00.000Z/2026-11-23T10:02:00.000Z"));
  gen_conv_repair_free(r);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

DEF_TEST(malformed_or_refused) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  gen_conv_repair_t *r = gap_asked(&l, &set, T0 + 3600 * S);
  /* Unreadable: the windows wait for the next try. */
  EXPECT_EQ_INT(-EBADMSG, take(r, "{\"results\":5}", &l, &set));
  json_object *body = gen_conv_repair_next(r, T0 + 3600 * S);
  OK(body != NULL);
  json_object_put(body);
  /* Refused: dropped (the counters stay short), nothing asked again. */
  char err[64];
  EXPECT_EQ_INT(
      0, gen_conv_repair_take(r, NULL, 0, true, &set, &l, err, sizeof(err)));
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 3600 * S));
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++)
    EXPECT_EQ_PTR(NULL, l.state[0].conv.media[m]);
  /* Moments of the dropped window are counted live. */
  OK(live(r, "q0", GEN_MEDIA_VOICE, GEN_CONV_OFFERED, T0 + 60 * S));
  gen_conv_repair_free(r);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

/* What Genesys indexed after the first ask: the window is asked again
 * GapRepairRecheck (900 s) later, and what that count has beyond what the
 * counters hold of the window is added; a late live moment between the
 * asks is not counted (the second ask counts it), nor after. */
DEF_TEST(asked_again_for_what_was_indexed_late) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  live_of(&l, &set);
  gen_conv_repair_t *r = repair(T0 - 600 * S);
  const int V = GEN_MEDIA_VOICE;
  const char *iv = "2026-11-23T10:00:00.000Z/2026-11-23T10:02:00.000Z";
  OK(live(r, "q0", V, GEN_CONV_OFFERED, T0 + 10 * S));
  gen_conv_repair_lost(r, topics, 2, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 2, T0 + 80 * S);
  OK(asks(r, T0 + 240 * S, iv));
  /* 2 offers (1 live), 1 answer, nothing abandoned indexed yet */
  EXPECT_EQ_INT(0,
                answer(r, &l, &set, iv,
                       "{\"metric\":\"nOffered\",\"stats\":{\"count\":2}},"
                       "{\"metric\":\"tAnswered\",\"stats\":{\"count\":1}}"));
  EXPECT_EQ_INT(1, count(&l, 0, V, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(1, count(&l, 0, V, GEN_CONV_ANSWERED));
  /* The abandon's event comes late too: not counted live. */
  OK(!live(r, "q0", V, GEN_CONV_ABANDONED, T0 + 100 * S));
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 1139 * S));
  OK(asks(r, T0 + 1140 * S, iv));
  /* Now 3 offers, 1 answer, 1 abandon: one offer and the abandon added;
   * the answer once. */
  EXPECT_EQ_INT(0, answer(r, &l, &set, iv,
                          "{\"metric\":\"nOffered\",\"stats\":{\"count\":3}},"
                          "{\"metric\":\"tAnswered\",\"stats\":{\"count\":1}},"
                          "{\"metric\":\"tAbandon\",\"stats\":{\"count\":1}}"));
  EXPECT_EQ_INT(2, count(&l, 0, V, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(1, count(&l, 0, V, GEN_CONV_ANSWERED));
  EXPECT_EQ_INT(1, count(&l, 0, V, GEN_CONV_ABANDONED));
  /* Asked twice: done, and still not counted again live. */
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 9000 * S));
  OK(!live(r, "q0", V, GEN_CONV_OFFERED, T0 + 30 * S));
  gen_conv_repair_free(r);

  /* GapRepairRecheck 0: asked once. */
  gen_conv_repair_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_conv_repair_keys, &c);
  c.recheck = 0;
  r = gen_conv_repair_new(&c, TIME_T_TO_CDTIME_T(10), TIME_T_TO_CDTIME_T(14400),
                          T0 - 600 * S);
  gen_conv_repair_lost(r, topics, 2, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 2, T0 + 80 * S);
  OK(asks(r, T0 + 240 * S, iv));
  EXPECT_EQ_INT(0, answer(r, &l, &set, iv,
                          "{\"metric\":\"nOffered\",\"stats\":{\"count\":1}}"));
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 9000 * S));
  gen_conv_repair_free(r);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

static void put_count(void *ud, const char *type, const char *type_instance,
                      double value, bool derive) {
  if (strncmp(type, "conv_", 5) == 0 && derive)
    (*(int *)ud)++;
}

typedef struct {
  gen_live_t *l;
  bool all;
  int puts;
} tick_t;

static void put_one(void *ud, size_t i) {
  tick_t *t = ud;
  gen_live_put_queue(t->l, i, i == 0 ? "q0" : "q1", t->all, 0, put_count,
                     &t->puts);
}

/* The counters a tick puts of the queues marked changed (all: every one
 * of theirs, as the rolling re-dispatch does). */
static int tick(gen_live_t *l, bool all) {
  tick_t t = {l, all, 0};
  gen_live_each_changed(l, put_one, &t);
  return t.puts;
}

/* The state file's document: the counters' queues and the repair's tail
 * printed at now (final: a clean shutdown's). */
static json_object *snapshot(const gen_conv_repair_t *r, int64_t now,
                             bool final) {
  gen_buf_t text = GEN_BUF_INIT(1 << 20);
  gen_buf_add_str(&text, "{\"version\":1,\"queues\":{\"q0\":{},\"q1\":{}}");
  if (final)
    gen_buf_add_str(&text, ",\"final\":true");
  if (gen_conv_repair_print_at(r, now, &text) != 0)
    return NULL;
  gen_buf_add(&text, "}", 2);
  printf("# %s\n", text.data);
  json_object *doc = json_tokener_parse(text.data);
  gen_buf_free(&text);
  return doc;
}

DEF_TEST(resumed_after_a_restart) {
  gen_org_t *org = mock_org("genesys_test");
  gen_entity_set_t set = {0};
  gen_live_t l;
  live_of(&l, &set);
  const int V = GEN_MEDIA_VOICE;
  gen_conv_repair_t *old = repair(T0 - 600 * S);
  /* Counted and saved by the process before: two offers and an answer in
   * the snapshot's window, one offer before it. */
  OK(live(old, "q0", V, GEN_CONV_OFFERED, T0 - 120 * S));
  OK(live(old, "q0", V, GEN_CONV_OFFERED, T0 + 10 * S));
  OK(live(old, "q0", V, GEN_CONV_OFFERED, T0 + 50 * S));
  OK(live(old, "q0", V, GEN_CONV_ANSWERED, T0 + 55 * S));
  /* Written at :60 (HeartbeatTimeout 10 s: its window starts at 10:00). */
  json_object *doc = snapshot(old, T0 + 60 * S, false);
  OK(doc != NULL);
  gen_conv_repair_free(old);

  /* Started again at 10:03:20: both queues resume, held back. */
  gen_conv_repair_t *r = repair(T0 + 200 * S);
  EXPECT_EQ_INT(2, gen_conv_repair_resume(r, doc, T0 + 200 * S, org));
  OK(gen_conv_repair_held(r, "q0") && gen_conv_repair_held(r, "q1"));
  OK(!gen_conv_repair_held(r, "q-other"));
  l.conv_held = gen_conv_repair_held;
  l.held_ud = r;
  gen_live_moment(&l, 0, "q0", V, GEN_CONV_ALERTED, -1, &(uint64_t){1});
  EXPECT_EQ_INT(0, tick(&l, true)); /* held: maybe below what was sent */
  /* Counted after the start, in the window; the channels back at :215. */
  OK(live(r, "q0", V, GEN_CONV_OFFERED, T0 + 210 * S));
  gen_conv_repair_connected(r, topics, 4, T0 + 215 * S);
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 359 * S));
  OK(asks(r, T0 + 360 * S,
          "2026-11-23T10:00:00.000Z/2026-11-23T10:04:00.000Z"));
  /* 6 offers in it: 2 saved, 1 counted since, 3 nobody saw (the old
   * process's after its snapshot, and the restart's); the answer saved. */
  EXPECT_EQ_INT(0,
                answer(r, &l, &set,
                       "2026-11-23T10:00:00.000Z/2026-11-23T10:04:00.000Z",
                       "{\"metric\":\"nOffered\",\"stats\":{\"count\":6}},"
                       "{\"metric\":\"tAnswered\",\"stats\":{\"count\":1}}"));
  EXPECT_EQ_INT(3, count(&l, 0, V, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(0, count(&l, 0, V, GEN_CONV_ANSWERED));
  /* Released: every counter goes out with the next tick. */
  OK(!gen_conv_repair_held(r, "q0") && !gen_conv_repair_held(r, "q1"));
  EXPECT_EQ_INT((1 << GEN_CONV_MOMENT_COUNT) - 1,
                (int)l.state[0].conv_changed[V]);
  OK(tick(&l, false) >= 2);
  gen_conv_repair_free(r);
  json_object_put(doc);

  /* A clean shutdown's file: the window, no hold. */
  old = repair(T0 - 600 * S);
  doc = snapshot(old, T0 + 60 * S, true);
  r = repair(T0 + 200 * S);
  EXPECT_EQ_INT(2, gen_conv_repair_resume(r, doc, T0 + 200 * S, org));
  OK(!gen_conv_repair_held(r, "q0"));
  gen_conv_repair_connected(r, topics, 4, T0 + 215 * S);
  OK(asks(r, T0 + 360 * S,
          "2026-11-23T10:00:00.000Z/2026-11-23T10:04:00.000Z"));
  gen_conv_repair_free(r);
  /* Written later than now (the clock went back), or 8 days before: not
   * resumed, nothing held. */
  r = repair(T0);
  EXPECT_EQ_INT(0, gen_conv_repair_resume(r, doc, T0 - 120 * S, org));
  OK(!gen_conv_repair_held(r, "q0"));
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 3600 * S));
  EXPECT_EQ_INT(0, gen_conv_repair_resume(r, doc, T0 + 8 * 86400 * S, org));
  gen_conv_repair_free(r);
  json_object_put(doc);
  /* Queues listed with no count yet resume too: their moments since the
   * file are missed as well. */
  doc = json_tokener_parse("{\"queues\":{\"q0\":{}},\"listed\":[\"q0\","
                           "\"q1\",\"q2\"],\"repair\":{\"at\":"
                           "1795428000000,\"recent\":{}}}");
  r = repair(T0);
  EXPECT_EQ_INT(3, gen_conv_repair_resume(r, doc, T0 + 60 * S, org));
  OK(gen_conv_repair_held(r, "q2"));
  /* A file of before "origin" and "offset": read as then. */
  gen_conv_repair_connected(r, topics, 4, T0 + 75 * S);
  OK(asks(r, T0 + 3600 * S,
          "2026-11-23T09:59:00.000Z/2026-11-23T10:02:00.000Z"));
  gen_conv_repair_free(r);
  json_object_put(doc);
  /* The old process began at 10:00:30 and wrote at :50: the window starts
   * at its first whole minute, 10:01, not at 10:00 (its 10:00 to 10:00:30
   * was never counted, and the aggregates would add it). */
  gen_conv_repair_free(old);
  old = repair(T0 + 30 * S);
  OK(live(old, "q0", V, GEN_CONV_OFFERED, T0 + 40 * S));
  doc = snapshot(old, T0 + 50 * S, true);
  r = repair(T0 + 200 * S);
  EXPECT_EQ_INT(2, gen_conv_repair_resume(r, doc, T0 + 200 * S, org));
  gen_conv_repair_connected(r, topics, 4, T0 + 215 * S);
  OK(asks(r, T0 + 3600 * S,
          "2026-11-23T10:01:00.000Z/2026-11-23T10:04:00.000Z"));
  gen_conv_repair_free(r);
  json_object_put(doc);
  /* Killed then, back within its first minute: nothing to ask, and the
   * counters are no longer held. */
  doc = snapshot(old, T0 + 50 * S, false);
  gen_conv_repair_free(old);
  r = repair(T0 + 52 * S);
  EXPECT_EQ_INT(2, gen_conv_repair_resume(r, doc, T0 + 52 * S, org));
  gen_conv_repair_connected(r, topics, 4, T0 + 54 * S);
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 3600 * S));
  gen_conv_repair_dispatch_stats(r, "h", "p");
  EXPECT_EQ_DOUBLE(0, mock_find("self", "conv_held", NULL)->value.gauge);
  gen_conv_repair_free(r);
  json_object_put(doc);
  /* Its clock 30 s ahead of ours: the file keeps the offset, so before
   * the restarted process sees a moment, back at our 10:03:45 (its
   * 10:04:15), the window ends at 10:05, not 10:04 (its 10:04 to 10:04:15
   * unrepaired), and is due 120 s after on its clock (our 10:06:30). */
  old = repair(T0 - 600 * S);
  OK(gen_conv_repair_live(old, "q0", V, GEN_CONV_OFFERED, T0 + 50 * S,
                          T0 + 20 * S));
  doc = snapshot(old, T0 + 30 * S, true);
  r = repair(T0 + 200 * S);
  EXPECT_EQ_INT(2, gen_conv_repair_resume(r, doc, T0 + 200 * S, org));
  gen_conv_repair_connected(r, topics, 4, T0 + 225 * S);
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0 + 389 * S));
  OK(asks(r, T0 + 390 * S,
          "2026-11-23T10:00:00.000Z/2026-11-23T10:05:00.000Z"));
  gen_conv_repair_free(r);
  json_object_put(doc);
  /* Not of the form written: nothing resumed. A file from before the
   * resume (no "repair"): as before. */
  static const char *const bad[] = {
      "{\"queues\":{\"q0\":{}},\"repair\":{\"at\":\"x\"}}",
      "{\"queues\":{\"q0\":{}},\"repair\":{\"at\":1795428000000,\"recent\":"
      "{\"q0\":[[29923800,\"voice\",\"offered\",-1]]}}}",
      "{\"queues\":{\"q0\":{}},\"repair\":{\"at\":1795428000000,\"recent\":"
      "{\"q0\":[[29923800,\"voice\",\"parked\",1]]}}}",
      "{\"queues\":{\"q0\":{}},\"repair\":{\"at\":1795428000000,\"recent\":[]}"
      "}",
      "{\"queues\":{\"q0\":{}},\"repair\":{\"at\":1795428000000,\"origin\":"
      "\"x\"}}",
      "{\"queues\":{\"q0\":{}},\"repair\":{\"at\":1795428000000,\"offset\":"
      "true}}",
      "{\"queues\":{\"q0\":{}},\"repair\":{\"at\":1795428000000,\"offset\":"
      "-9000000000000000000}}",
      "{\"queues\":{\"q0\":{}},\"repair\":{\"at\":1795428000000,\"origin\":"
      "9000000000000000000}}",
      "{\"queues\":{\"q0\":{}}}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    doc = json_tokener_parse(bad[i]);
    r = repair(T0);
    EXPECT_EQ_INT(0, gen_conv_repair_resume(r, doc, T0 + 60 * S, org));
    OK(!gen_conv_repair_held(r, "q0"));
    gen_conv_repair_free(r);
    json_object_put(doc);
  }
  gen_conv_repair_free(old);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  gen_org_free(org);
  return 0;
}

DEF_TEST(configuration_keys) {
  gen_org_t *org = mock_org("genesys_test");
  gen_conv_repair_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_conv_repair_keys, &c);
  OK(!c.off);
  EXPECT_EQ_INT(120, (int)CDTIME_T_TO_TIME_T(c.delay));
  oconfig_item_t *ci = mock_ci_num("GapRepairDelay", 3601);
  EXPECT_EQ_INT(-ERANGE,
                gen_config_table_key(org, ci, &gen_conv_repair_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_num("GapRepairDelay", 30);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_conv_repair_keys, &c));
  EXPECT_EQ_INT(30, (int)CDTIME_T_TO_TIME_T(c.delay));
  mock_ci_free(ci);
  EXPECT_EQ_INT(900, (int)CDTIME_T_TO_TIME_T(c.recheck));
  ci = mock_ci_num("GapRepairRecheck", 86401);
  EXPECT_EQ_INT(-ERANGE,
                gen_config_table_key(org, ci, &gen_conv_repair_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_num("GapRepairRecheck", 0);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_conv_repair_keys, &c));
  EXPECT_EQ_INT(0, (int)CDTIME_T_TO_TIME_T(c.recheck));
  mock_ci_free(ci);
  ci = mock_ci_bool("GapRepair", false);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_conv_repair_keys, &c));
  OK(c.off);
  mock_ci_free(ci);
  ci = mock_ci_str("HeartbeatTimeout", "10");
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE,
                gen_config_table_key(org, ci, &gen_conv_repair_keys, &c));
  mock_ci_free(ci);
  /* Off: no repair, and every call takes that. */
  gen_conv_repair_t *r = gen_conv_repair_new(&c, 0, 0, T0);
  EXPECT_EQ_PTR(NULL, r);
  OK(gen_conv_repair_live(r, "q0", 0, GEN_CONV_OFFERED, T0, T0));
  gen_conv_repair_lost(r, topics, 4, T0);
  EXPECT_EQ_PTR(NULL, gen_conv_repair_next(r, T0));
  EXPECT_EQ_INT(0, gen_conv_repair_run(r, NULL, NULL, NULL, NULL, T0));
  gen_org_free(org);
  return 0;
}

/* A group of a media type this version does not know: counted as unknown,
 * passed over alone; the other groups repair their counters. */
DEF_TEST(unknown_media_type_passed_over) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  live_of(&l, &set);
  gen_conv_repair_t *r = repair(T0 - 600 * S);
  gen_stats_t stats;
  gen_stats_init(&stats);
  const gen_unknown_sink_t sink = {&stats, NULL, "conversation_aggregates"};
  gen_conv_repair_unknown_to(r, &sink);
  gen_conv_repair_lost(r, topics, 4, T0 + 50 * S);
  gen_conv_repair_connected(r, topics, 4, T0 + 80 * S);
  json_object_put(gen_conv_repair_next(r, T0 + 240 * S));
  EXPECT_EQ_INT(
      0,
      take(r,
           "{\"results\":[{\"group\":{\"queueId\":\"q0\",\"mediaType\":"
           "\"hologram\"},\"data\":[{\"interval\":\"2026-11-23T10:00:00.000Z/"
           "2026-11-23T10:02:00.000Z\",\"metrics\":[{\"metric\":\"nOffered\","
           "\"stats\":{\"count\":5}}]}]},"
           "{\"group\":{\"queueId\":\"q0\",\"mediaType\":\"voice\"},"
           "\"data\":[{\"interval\":\"2026-11-23T10:00:00.000Z/"
           "2026-11-23T10:02:00.000Z\",\"metrics\":[{\"metric\":\"nOffered\","
           "\"stats\":{\"count\":3}}]}]}]}",
           &l, &set));
  EXPECT_EQ_INT(3, count(&l, 0, GEN_MEDIA_VOICE, GEN_CONV_OFFERED));
  EXPECT_EQ_INT(1, (int)gen_stats_unknown_count(
                       &stats, "conversation_aggregates", "mediaType"));
  gen_conv_repair_free(r);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

int main(void) {
  RUN_TEST(a_gap_repaired_once);
  RUN_TEST(repaired_counts_stop_at_2_53);
  RUN_TEST(unknown_media_type_passed_over);
  RUN_TEST(gaps_merge_while_waiting);
  RUN_TEST(no_window_before_the_counters_began);
  RUN_TEST(gaps_on_genesys_clock);
  RUN_TEST(malformed_or_refused);
  RUN_TEST(asked_again_for_what_was_indexed_late);
  RUN_TEST(resumed_after_a_restart);
  RUN_TEST(configuration_keys);
  END_TEST;
}
