/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: speech and text analytics per queue of
 * genesys_analytics (see gen_speech_agg.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_config.h"
#include "gen_speech_agg.h"

#define QUEUE "queueId"
#define MEDIA "mediaType"

enum { GROUP_SPEECH };

#define DURATION(n, a)                                                         \
  { .name = n, .api = a, .kind = GEN_AGG_DURATION, .group = GROUP_SPEECH }
/* The metric catalogue (gen_aggregates). Left out: oCustomerSentiment
 * (which stats it fills is not in the record), nTopicCommunications and
 * the topics (per topicId: a series per queue and topic), tOtherAudio and
 * tTotalSpeechAndSilence. */
static const gen_agg_metric_t metrics[] = {
    {.name = "speech_analyzed",
     .api = "nSpeechTextAnalyzedConversations",
     .kind = GEN_AGG_COUNT,
     .group = GROUP_SPEECH,
     .bucket_type = "speech_analyzed_conversations",
     .total_type = "total_speech_analyzed_conversations"},
    {.name = "sentiment",
     .api = "oSentimentScore",
     .kind = GEN_AGG_SCORE,
     .group = GROUP_SPEECH},
    DURATION("agent_speech", "tAgentSpeech"),
    DURATION("customer_speech", "tCustomerSpeech"),
    DURATION("silence", "tSilence"),
    DURATION("overtalk", "tOverTalkSpeech"),
};
/* A queue and media with a group in a bucket and no analysed conversation
 * has 0; a bucket without its group has nothing. */
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = true};

/* A request per batch of queues, grouped by queue and media. */
static const char *const group_by[] = {QUEUE, MEDIA};

static const gen_queue_row_def_t def = {.path = GEN_SPEECH_AGG_PATH,
                                        .what = "transcripts aggregates query",
                                        .family = "speech and text analytics",
                                        .tag = "S",
                                        .group = GROUP_SPEECH,
                                        .cat = &catalogue,
                                        .group_by = group_by,
                                        .n_group_by =
                                            STATIC_ARRAY_SIZE(group_by)};

gen_agg_query_t gen_speech_agg_query(gen_queue_row_t *row) {
  return gen_queue_row_query(row, &def);
}

gen_interval_t *gen_speech_agg_engine(const gen_org_t *org,
                                      const gen_interval_config_t *ic,
                                      const char *stem,
                                      const gen_log_org_t *who) {
  gen_interval_config_t own = *ic; /* borrows its state directory */
  own.settle = TIME_T_TO_CDTIME_T(GEN_SPEECH_SETTLE_S);
  /* A window would ask every recent bucket again with each new one; the
   * schedule costs a request per batch, bucket and age. */
  own.revisit = 0;
  own.revisit_at = GEN_SPEECH_REVISIT;
  if (own.horizon < MS_TO_CDTIME_T(GEN_SPEECH_HORIZON_MS))
    own.horizon = MS_TO_CDTIME_T(GEN_SPEECH_HORIZON_MS);
  /* Nothing is there for 30 minutes: a first run from now would show
   * nothing for as long, one from an hour back shows the settled half. */
  if (own.initial < MS_TO_CDTIME_T(GEN_SPEECH_HOUR_MS))
    own.initial = MS_TO_CDTIME_T(GEN_SPEECH_HOUR_MS);
  return gen_interval_config_engine(&own, stem, org->name, "-speech", who);
}

static const gen_config_def_t speech_agg_defs[] = {
    GEN_KEY_BOOL("SpeechAnalytics", gen_speech_agg_config_t, on, false,
                 "conversations analysed, sentiment and speech times per "
                 "queue and media type, revised for 73 hours"),
};

const gen_config_table_t gen_speech_agg_keys =
    GEN_CONFIG_TABLE(speech_agg_defs);
