/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the conversation aggregates catalogue (genesys_analytics).
 */
#include "gen_conv_agg.h"

static const char *const sets[] = {"default", "voice", "digital", "outbound",
                                   "supervision"};

/* One metric: its kind, our name, the API's, its sets, its result group. */
#define METRIC(k, n, a, s, g)                                                  \
  { .name = n, .api = a, .kind = GEN_AGG_##k, .group = g, .sets = s }
#define COUNT(n, a, s) METRIC(COUNT, n, a, s, GEN_CONV_AGG_QUEUE)
#define DURATION(n, a, s) METRIC(DURATION, n, a, s, GEN_CONV_AGG_QUEUE)
#define RATIO(n, a, s) METRIC(RATIO, n, a, s, GEN_CONV_AGG_QUEUE)
#define TARGET(n, a, s) METRIC(TARGET, n, a, s, GEN_CONV_AGG_QUEUE)
/* A count Genesys attributes to no queue: asked for without a queue filter,
 * per media type, under the org's own instance. */
#define ORG_COUNT(n, a, s) METRIC(COUNT, n, a, s, GEN_CONV_AGG_ORG)

/* The metric catalogue (gen_aggregates): our name, API metric, kind, sets.
 * One result group (queue and media). Every metric the conversation
 * aggregates query takes (tests/sim/README.md, "The conversation aggregates
 * catalogue", says where the list and the kinds come from): n-metrics are
 * counts, t-metrics durations, oServiceLevel and oCallbackServiceLevel
 * ratios, oServiceTarget and oServiceLevel's target targets (stats.target),
 * the other o-metrics counts (stats.count). The counts of the conversation
 * as a whole (ORG_COUNT) come in groups without a queueId (tests/sim/
 * README.md, "oServiceTarget and the metrics of no queue"): zero-filled per
 * media type under org, never per queue; every other count and ratio can
 * carry a queueId and is zero-filled per queue ("Zero-fill per queue"); a
 * count found unable to carry one would become an ORG_COUNT. Our name is the
 * API's in lower_snake without its prefix letter, but for the first fifteen
 * (released: their engine value names are in state files) and tConnected
 * (connected_time: nConnected is connected). */
static const gen_agg_metric_t metrics[] = {
    /* the first releases' fifteen, in their order */
    COUNT("offered", "nOffered", GEN_CONV_AGG_DEFAULT),
    COUNT("answered", "tAnswered", GEN_CONV_AGG_DEFAULT),
    COUNT("abandoned", "tAbandon", GEN_CONV_AGG_DEFAULT),
    COUNT("short_abandoned", "tShortAbandon", GEN_CONV_AGG_DEFAULT),
    COUNT("transferred", "nTransferred", GEN_CONV_AGG_DEFAULT),
    COUNT("over_sla", "nOverSla", GEN_CONV_AGG_DEFAULT),
    RATIO("service_level", "oServiceLevel", GEN_CONV_AGG_DEFAULT),
    DURATION("handle", "tHandle", GEN_CONV_AGG_DEFAULT),
    DURATION("talk", "tTalk", GEN_CONV_AGG_DEFAULT),
    DURATION("hold", "tHeld", GEN_CONV_AGG_DEFAULT),
    DURATION("acw", "tAcw", GEN_CONV_AGG_DEFAULT),
    DURATION("wait", "tWait", GEN_CONV_AGG_DEFAULT),
    DURATION("answer", "tAnswered", GEN_CONV_AGG_DEFAULT),
    DURATION("alert", "tAlert", GEN_CONV_AGG_DEFAULT),
    DURATION("abandon", "tAbandon", GEN_CONV_AGG_DEFAULT),
    /* counts */
    COUNT("blind_transferred", "nBlindTransferred", GEN_CONV_AGG_VOICE),
    ORG_COUNT("bot_interactions", "nBotInteractions", GEN_CONV_AGG_DIGITAL),
    COUNT("callback_attempts", "nCallbackAttempts", GEN_CONV_AGG_VOICE),
    COUNT("callback_over_sla", "nCallbackOverSla", GEN_CONV_AGG_VOICE),
    COUNT("callback_scheduled", "nCallbackScheduled", GEN_CONV_AGG_VOICE),
    COUNT("cfc_offered", "nCfcOffered", GEN_CONV_AGG_VOICE),
    COUNT("cobrowse_sessions", "nCobrowseSessions", GEN_CONV_AGG_DIGITAL),
    COUNT("connected", "nConnected", GEN_CONV_AGG_VOICE),
    COUNT("consult", "nConsult", GEN_CONV_AGG_VOICE),
    COUNT("consult_transferred", "nConsultTransferred", GEN_CONV_AGG_VOICE),
    ORG_COUNT("conversations", "nConversations", 0),
    ORG_COUNT("error", "nError", 0),
    COUNT("outbound", "nOutbound", GEN_CONV_AGG_OUTBOUND),
    COUNT("outbound_abandoned", "nOutboundAbandoned", GEN_CONV_AGG_OUTBOUND),
    COUNT("outbound_attempted", "nOutboundAttempted", GEN_CONV_AGG_OUTBOUND),
    COUNT("outbound_connected", "nOutboundConnected", GEN_CONV_AGG_OUTBOUND),
    ORG_COUNT("state_transition_error", "nStateTransitionError", 0),
    COUNT("takeover", "nTakeover", GEN_CONV_AGG_DIGITAL),
    /* observations: counts of stats.count, but for the service levels and
     * targets */
    COUNT("audio_message_count", "oAudioMessageCount", GEN_CONV_AGG_DIGITAL),
    RATIO("callback_service_level", "oCallbackServiceLevel",
          GEN_CONV_AGG_VOICE),
    COUNT("external_audio_message_count", "oExternalAudioMessageCount",
          GEN_CONV_AGG_DIGITAL),
    COUNT("external_media_count", "oExternalMediaCount", GEN_CONV_AGG_DIGITAL),
    COUNT("media_count", "oMediaCount", GEN_CONV_AGG_DIGITAL),
    COUNT("message_count", "oMessageCount", GEN_CONV_AGG_DIGITAL),
    COUNT("message_segment_count", "oMessageSegmentCount",
          GEN_CONV_AGG_DIGITAL),
    COUNT("message_turn", "oMessageTurn", GEN_CONV_AGG_DIGITAL),
    TARGET("service_target", "oServiceTarget", 0),
    TARGET("service_level_target", "oServiceLevel", 0),
    COUNT("skill_expression_applications", "oSkillExpressionApplications", 0),
    /* durations */
    DURATION("acd", "tAcd", GEN_CONV_AGG_VOICE),
    DURATION("active_callback", "tActiveCallback", GEN_CONV_AGG_VOICE),
    DURATION("active_callback_complete", "tActiveCallbackComplete",
             GEN_CONV_AGG_VOICE),
    DURATION("agent_response_time", "tAgentResponseTime", GEN_CONV_AGG_DIGITAL),
    DURATION("agent_video_connected", "tAgentVideoConnected",
             GEN_CONV_AGG_DIGITAL),
    DURATION("average_agent_response_time", "tAverageAgentResponseTime",
             GEN_CONV_AGG_DIGITAL),
    DURATION("average_customer_response_time", "tAverageCustomerResponseTime",
             GEN_CONV_AGG_DIGITAL),
    DURATION("barging", "tBarging", GEN_CONV_AGG_SUPERVISION),
    DURATION("callback_abandon", "tCallbackAbandon", GEN_CONV_AGG_VOICE),
    DURATION("callback_connect", "tCallbackConnect", GEN_CONV_AGG_VOICE),
    DURATION("callback_not_reached", "tCallbackNotReached", GEN_CONV_AGG_VOICE),
    DURATION("callback_virtual_wait", "tCallbackVirtualWait",
             GEN_CONV_AGG_VOICE),
    DURATION("cfc_abandon", "tCfcAbandon", GEN_CONV_AGG_VOICE),
    DURATION("cfc_acd", "tCfcAcd", GEN_CONV_AGG_VOICE),
    DURATION("cfc_answered", "tCfcAnswered", GEN_CONV_AGG_VOICE),
    DURATION("cfc_flow_out", "tCfcFlowOut", GEN_CONV_AGG_VOICE),
    DURATION("coaching", "tCoaching", GEN_CONV_AGG_SUPERVISION),
    DURATION("coaching_complete", "tCoachingComplete",
             GEN_CONV_AGG_SUPERVISION),
    DURATION("connected_time", "tConnected", GEN_CONV_AGG_VOICE),
    DURATION("contacting", "tContacting", GEN_CONV_AGG_OUTBOUND),
    DURATION("dialing", "tDialing", GEN_CONV_AGG_OUTBOUND),
    DURATION("first_connect", "tFirstConnect", GEN_CONV_AGG_VOICE),
    DURATION("first_dial", "tFirstDial", GEN_CONV_AGG_OUTBOUND),
    DURATION("first_engagement", "tFirstEngagement", GEN_CONV_AGG_DIGITAL),
    DURATION("first_response", "tFirstResponse", GEN_CONV_AGG_DIGITAL),
    DURATION("flow_out", "tFlowOut", GEN_CONV_AGG_VOICE),
    DURATION("held_complete", "tHeldComplete", GEN_CONV_AGG_VOICE),
    DURATION("ivr", "tIvr", GEN_CONV_AGG_VOICE),
    DURATION("monitoring", "tMonitoring", GEN_CONV_AGG_SUPERVISION),
    DURATION("monitoring_complete", "tMonitoringComplete",
             GEN_CONV_AGG_SUPERVISION),
    DURATION("not_responding", "tNotResponding", GEN_CONV_AGG_VOICE),
    DURATION("park", "tPark", GEN_CONV_AGG_VOICE),
    DURATION("park_complete", "tParkComplete", GEN_CONV_AGG_VOICE),
    DURATION("screen_monitoring", "tScreenMonitoring",
             GEN_CONV_AGG_SUPERVISION),
    DURATION("short_abandon", "tShortAbandon", GEN_CONV_AGG_VOICE),
    DURATION("snippet_record", "tSnippetRecord", GEN_CONV_AGG_SUPERVISION),
    DURATION("talk_complete", "tTalkComplete", GEN_CONV_AGG_VOICE),
    DURATION("transmitting", "tTransmitting", GEN_CONV_AGG_DIGITAL),
    DURATION("user_response_time", "tUserResponseTime", GEN_CONV_AGG_DIGITAL),
    DURATION("voicemail", "tVoicemail", GEN_CONV_AGG_VOICE),
};
_Static_assert(STATIC_ARRAY_SIZE(metrics) == GEN_CONV_AGG_METRICS,
               "GEN_CONV_AGG_METRICS is the catalogue's size");
_Static_assert(GEN_CONV_AGG_METRICS <= GEN_AGG_MAX_METRICS,
               "the catalogue outgrows GEN_AGG_MAX_METRICS");

/* The API leaves out what did not happen: counts are 0 then. */
const gen_agg_catalogue_t gen_conv_agg_catalogue = {
    .metrics = metrics,
    .n = GEN_CONV_AGG_METRICS,
    .zero_absent = true,
    .sets = sets,
    .n_sets = STATIC_ARRAY_SIZE(sets)};
