/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: speech and text analytics per queue of
 * genesys_analytics (SpeechAnalytics true): the transcripts aggregates
 * query grouped by queueId and mediaType, filtered by the listed queues
 * (POST /api/v2/analytics/transcripts/aggregates/query, permission
 * analytics:speechAndTextAnalyticsAggregates:view; tests/sim/README.md,
 * "Speech and text analytics"). A row of ga_history.
 *
 * Per queue, media type and bucket: the conversations analysed
 * (nSpeechTextAnalyzedConversations), the sentiment score (oSentimentScore:
 * its count, average, max and min on -100..+100, a score that may be
 * negative, GEN_AGG_SCORE), and the agent, customer, silence and overtalk
 * times (tAgentSpeech, tCustomerSpeech, tSilence, tOverTalkSpeech).
 *
 * Genesys says when the data is there: voice and chat 30 minutes after the
 * interaction ends, message and email 72 hours after its last message. So
 * a bucket is asked 30 minutes after it ends, and again at the ages of
 * GEN_SPEECH_REVISIT (the last past 72 hours), a revision dispatched each
 * time it changed. An org without the licence is refused as a permission:
 * one line, the family stops asking until a read sees it granted.
 */
#ifndef GEN_SPEECH_AGG_H
#define GEN_SPEECH_AGG_H 1

#include "gen_aggregates.h"
#include "gen_entity.h"
#include "gen_interval_config.h"
#include "gen_queue_agg.h"

#define GEN_SPEECH_AGG_PATH "/api/v2/analytics/transcripts/aggregates/query"
#define GEN_SPEECH_HOUR_MS 3600000LL
/* Voice and chat are analysed 30 minutes after the interaction ends. */
#define GEN_SPEECH_SETTLE_S 1800
/* The revisit ages after a bucket ends: 1 h and 4 h (voice and chat that
 * ended late in it), a day, and 73 h (message and email, 72 h after their
 * last message, and an hour's margin). */
#define GEN_SPEECH_HORIZON_MS (73 * GEN_SPEECH_HOUR_MS)
#define GEN_SPEECH_REVISIT                                                     \
  ((gen_revisit_t){.age_ms = {GEN_SPEECH_HOUR_MS, 4 * GEN_SPEECH_HOUR_MS,      \
                              24 * GEN_SPEECH_HOUR_MS, GEN_SPEECH_HORIZON_MS}, \
                   .n = 4})
/* Its pace: a batch's new bucket and its four revisits, 5 requests; at
 * 5,000 queues (50 batches) 250 a bucket, spread over reads. */
#define GEN_SPEECH_REQUESTS_PER_MINUTE 60

typedef struct {
  bool on; /* SpeechAnalytics (default off) */
} gen_speech_agg_config_t;

extern const gen_config_table_t gen_speech_agg_keys;

/* The query per batch of queues (scopes: queue ids) in buckets of
 * Granularity. row (the org, host, plugin and queues, borrowed from the
 * plugin; the tag and group are set here) is borrowed. */
gen_agg_query_t gen_speech_agg_query(gen_queue_row_t *row);

/* The row's engine from the plugin's interval configuration (its
 * granularity, state directory, MaxBucketsPerQuery, backfill): settled
 * GEN_SPEECH_SETTLE_S after a bucket's end, no revisit window,
 * GEN_SPEECH_REVISIT, backfilled at least GEN_SPEECH_HORIZON_MS after a
 * stop, a first run from at least an hour back; state file
 * "<stem>-<org>-speech". NULL on failure (logged). */
gen_interval_t *gen_speech_agg_engine(const gen_org_t *org,
                                      const gen_interval_config_t *ic,
                                      const char *stem,
                                      const gen_log_org_t *who);

#endif /* GEN_SPEECH_AGG_H */
