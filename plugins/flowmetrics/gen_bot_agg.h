/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the bot aggregates of genesys_flowmetrics, per closed
 * interval (gen_aggregates' catalogue and request loop).
 *
 * The bots aggregates query gives, per botId, nBotSessions,
 * tBotSession, tBotExit (sessions that left the bot for a flow or an
 * agent), tBotDisconnect (ended in the bot), tBotRecognitionFailure and
 * oBotSessionQuery and oBotSessionQuerySelfServed, the questions asked
 * and self-served (their sum; tests/sim/README.md, Bots). It has no
 * queueId: one request asks for every bot. The series are bounded: the
 * MaxBots bots with the most sessions in an answer keep their own, the
 * others are summed into one bot named "other".
 */
#ifndef GEN_BOT_AGG_H
#define GEN_BOT_AGG_H 1

#include "gen_aggregates.h"

#define GEN_BOT_AGG_PATH "/api/v2/analytics/bots/aggregates/query"
/* The engine scope of every bot (one request asks for all). */
#define GEN_BOT_AGG_SCOPE "bots"
/* The botId the bots past MaxBots are summed into. */
#define GEN_BOT_AGG_OTHER "other"

/* The keys of the bot aggregates. */
typedef struct {
  bool on;       /* BotAggregates (default off) */
  long max_bots; /* MaxBots (default 50) */
} gen_bot_agg_config_t;

extern const gen_config_table_t gen_bot_agg_keys;

/* One org's bot aggregates, borrowed from the plugin. */
typedef struct {
  gen_client_t *client;
  const char *plugin;
  size_t max_bots;
  int64_t granularity_ms;
} gen_bot_agg_t;

/* The aggregates endpoint, how its answer is read and where its values go
 * (out). It borrows ba. */
gen_agg_query_t gen_bot_agg_query(gen_bot_agg_t *ba);

/* Rewrites an answer as the catalogue reads it: the max_bots bots with the
 * most nBotSessions in the whole answer (ties: the smaller botId) keep
 * their botId, every other group's botId becomes GEN_BOT_AGG_OTHER, and
 * the groups of one botId are folded into one. A group without a botId
 * is kept as it is (malformed). The oBotSessionQuery[SelfServed] entries'
 * count becomes their sum (the questions). 0, or -ENOMEM. */
int gen_bot_agg_normalize(gen_agg_answer_t *a, size_t max_bots);

#endif /* GEN_BOT_AGG_H */
