/* SPDX-License-Identifier: MIT */
/* Unit tests: the bot aggregates' answer (gen_bot_agg_normalize): the
 * MaxBots bots with the most sessions keep their series, the rest are
 * summed into "other", every count kept. */
#include "agg_text.h"
#include "gen_bot_agg.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <string.h>

#define IV "2026-01-01T00:00:00.000Z/2026-01-01T00:05:00.000Z"
/* One bot's group, one bucket: sessions, exits (tBotExit count, sum ms). */
#define BOT(id, sessions, exits, sum)                                          \
  "{\"group\":{\"botId\":\"" id "\"},\"data\":[{\"interval\":\"" IV            \
  "\",\"metrics\":[{\"metric\":\"nBotSessions\",\"stats\":{"                   \
  "\"count\":" sessions                                                        \
  "}},{\"metric\":\"tBotExit\",\"stats\":{\"count\":" exits ",\"sum\":" sum    \
  "}}]}]}"

/* The count of metric in the one bucket of bot id's group, -1: absent. */
static double count_of(gen_agg_answer_t *a, const char *id, const char *metric,
                       int stat) {
  const gen_agg_result_t *r;
  size_t n = gen_agg_answer_results(a, &r);
  for (size_t i = 0; i < n; i++) {
    const char *bot = gen_agg_group_get(&r[i].group, "botId");
    if (bot == NULL || strcmp(bot, id) != 0 || r[i].n != 1)
      continue;
    for (size_t e = 0; e < r[i].b[0].metrics.n; e++)
      if (strcmp(r[i].b[0].metrics.e[e].metric, metric) == 0)
        return r[i].b[0].metrics.e[e].stat[stat];
  }
  return -1;
}

DEF_TEST(past_max_bots_summed_into_other) {
  gen_agg_answer_t *a =
      agg_text("{\"results\":[" BOT("b-small", "2", "1", "1000") "," BOT(
          "b-big", "40", "10",
          "5000") "," BOT("b-mid", "9", "3", "3000") "," BOT("b-tie", "2", "2",
                                                             "500") "]}");
  CHECK_NOT_NULL(a);
  CHECK_ZERO(gen_bot_agg_normalize(a, 2));
  const gen_agg_result_t *r;
  EXPECT_EQ_INT(3, (int)gen_agg_answer_results(a, &r));
  EXPECT_EQ_DOUBLE(40,
                   count_of(a, "b-big", "nBotSessions", GEN_AGG_STAT_COUNT));
  EXPECT_EQ_DOUBLE(9, count_of(a, "b-mid", "nBotSessions", GEN_AGG_STAT_COUNT));
  /* b-small and b-tie: their sessions, exits and times summed */
  EXPECT_EQ_DOUBLE(
      4, count_of(a, GEN_BOT_AGG_OTHER, "nBotSessions", GEN_AGG_STAT_COUNT));
  EXPECT_EQ_DOUBLE(
      3, count_of(a, GEN_BOT_AGG_OTHER, "tBotExit", GEN_AGG_STAT_COUNT));
  EXPECT_EQ_DOUBLE(
      1500, count_of(a, GEN_BOT_AGG_OTHER, "tBotExit", GEN_AGG_STAT_SUM));
  EXPECT_EQ_DOUBLE(-1,
                   count_of(a, "b-small", "nBotSessions", GEN_AGG_STAT_COUNT));
  gen_agg_answer_free(a);
  return 0;
}

/* Within MaxBots, and on a tie at the bound the smaller botId stays. */
DEF_TEST(within_max_bots_and_ties) {
  const char *text = "{\"results\":[" BOT("b-2", "5", "1", "10") "," BOT(
      "b-1", "5", "1", "10") "," BOT("b-0", "7", "0", "0") "]}";
  gen_agg_answer_t *a = agg_text(text);
  CHECK_NOT_NULL(a);
  CHECK_ZERO(gen_bot_agg_normalize(a, 3));
  const gen_agg_result_t *r;
  EXPECT_EQ_INT(3, (int)gen_agg_answer_results(a, &r));
  EXPECT_EQ_DOUBLE(
      -1, count_of(a, GEN_BOT_AGG_OTHER, "nBotSessions", GEN_AGG_STAT_COUNT));
  CHECK_ZERO(gen_bot_agg_normalize(a, 2));
  EXPECT_EQ_DOUBLE(5, count_of(a, "b-1", "nBotSessions", GEN_AGG_STAT_COUNT));
  EXPECT_EQ_DOUBLE(
      5, count_of(a, GEN_BOT_AGG_OTHER, "nBotSessions", GEN_AGG_STAT_COUNT));
  EXPECT_EQ_DOUBLE(-1, count_of(a, "b-2", "nBotSessions", GEN_AGG_STAT_COUNT));
  gen_agg_answer_free(a);
  return 0;
}

/* The questions self-served are the metric's sum, not its count (of
 * sessions); without a sum the count stands. */
DEF_TEST(questions_are_the_sum) {
  gen_agg_answer_t *a = agg_text(
      "{\"results\":[{\"group\":{\"botId\":\"b-1\"},\"data\":[{"
      "\"interval\":\"" IV "\",\"metrics\":["
      "{\"metric\":\"oBotSessionQuerySelfServed\",\"stats\":{\"count\":2,"
      "\"sum\":5}},{\"metric\":\"oBotSessionQuery\",\"stats\":{"
      "\"count\":3}}]}]}]}");
  CHECK_NOT_NULL(a);
  CHECK_ZERO(gen_bot_agg_normalize(a, 50));
  EXPECT_EQ_DOUBLE(
      5, count_of(a, "b-1", "oBotSessionQuerySelfServed", GEN_AGG_STAT_COUNT));
  EXPECT_EQ_DOUBLE(3,
                   count_of(a, "b-1", "oBotSessionQuery", GEN_AGG_STAT_COUNT));
  gen_agg_answer_free(a);
  return 0;
}

int main(void) {
  RUN_TEST(questions_are_the_sum);
  RUN_TEST(past_max_bots_summed_into_other);
  RUN_TEST(within_max_bots_and_ties);
  END_TEST;
}
