/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: conversation tracking for
 * v2.routing.queues.{id}.conversations.
 *
 * Every event carries the whole conversation (all participants) whenever
 * anything changes, so the same moment shows up in many events, in replays
 * and on the topics of every queue the conversation visited. The tracker
 * keeps, per conversation id, which moments of which participant it has
 * already reported, and reports each moment once (the snapshots it takes
 * are read by gen_conv_read, in gen_obs's pass over the notification):
 *
 *   GEN_CONV_OFFERED      an acd participant of a queue appears
 *   GEN_CONV_ALERTED      an agent participant appears (queue → alerting)
 *   GEN_CONV_ANSWERED     an agent participant connects (alerting →
 *                         connected); wait_ms = its connectedTime minus the
 *                         connectedTime of the acd participant of the same
 *                         queue before it, -1 when unknown
 *   GEN_CONV_UNANSWERED   an agent participant ends without having connected
 *                         (alerting → queue: not responding, declined)
 *   GEN_CONV_ABANDONED    an acd participant ends other than by a transfer
 *                         (queue → ended: the customer left the queue)
 *   GEN_CONV_ENDED        a connected agent participant ends (connected →
 *                         ended, transfers included)
 *   GEN_CONV_TRANSFERRED  a connected agent participant ends by a transfer
 *
 * A conversation first seen (at start, after a reconnect, or out of order)
 * shows moments that happened before we listened. Of those only the ones of
 * the change that this event reports are counted: the moments stamped with
 * the newest time in the snapshot, or, when an agent is alerting, only that
 * alert (alerts carry no time). The others are remembered as seen.
 * A snapshot whose newest time is older than the newest event time seen so
 * far minus the linger is a stale replay and is ignored.
 *
 * Finished conversations (the customer has ended) are kept for the linger
 * time so replays are recognised, unfinished ones until idle for the
 * timeout; at most max_conversations are kept (the least recently updated
 * goes first, counted in evicted). Not thread-safe.
 */
#ifndef GEN_CONV_H
#define GEN_CONV_H 1

#include "gen_conv_read.h"
#include "gen_names.h"

#include "gen_config.h"
#include "gen_time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  size_t max_conversations;
  int64_t linger_ms;  /* finished conversations kept */
  int64_t timeout_ms; /* unfinished ones idle this long are dropped */
} gen_conv_options_t;

typedef struct gen_conv_tracker_s gen_conv_tracker_t;

typedef void (*gen_conv_emit_t)(void *ud, const char *queue_id, int media,
                                gen_conv_moment_t moment, int64_t wait_ms);

gen_conv_tracker_t *gen_conv_tracker_new(const gen_conv_options_t *options);
void gen_conv_tracker_free(gen_conv_tracker_t *t);

/* Applies one snapshot at wall time now_ms, calling emit for each new
 * moment. Returns the number of moments emitted. */
int gen_conv_apply(gen_conv_tracker_t *t, const gen_conv_snapshot_t *snap,
                   int64_t now_ms, gen_conv_emit_t emit, void *ud);

/* Drops expired conversations (also done by gen_conv_apply). */
void gen_conv_expire(gen_conv_tracker_t *t, int64_t now_ms);

typedef struct {
  size_t tracked;
  size_t bytes;      /* memory the tracker holds */
  uint64_t evicted;  /* dropped by the cap before they expired */
  uint64_t expired;  /* dropped after linger or timeout */
  uint64_t stale;    /* snapshots ignored as stale replays */
  uint64_t replayed; /* snapshots that brought nothing new */
} gen_conv_stats_t;
void gen_conv_tracker_stats(const gen_conv_tracker_t *t, gen_conv_stats_t *st);

/* The tracker's self-metrics (plugin instance "self"): conv_tracked
 * (gauge), conv_evicted and conv_stale (counters). */
void gen_conv_dispatch_stats(const gen_conv_stats_t *st, const char *host,
                             const char *plugin);

/* The tracker's keys of an <Org> block: MaxConversations (100-10000000,
 * default 100000), ConversationLinger (10 s-1 d, 900 s), ConversationTimeout
 * (60 s-7 d, 4 h). */
typedef struct {
  long max_conversations;
  cdtime_t linger, timeout;
} gen_conv_config_t;

void gen_conv_config_init(gen_conv_config_t *c);
/* 0, a negative status (named in the log), or GEN_CONFIG_NOT_MINE. */
int gen_conv_config_key(const gen_org_t *org, const oconfig_item_t *ci,
                        gen_conv_config_t *c);
gen_conv_tracker_t *gen_conv_tracker_from_config(const gen_conv_config_t *c);

#endif /* GEN_CONV_H */
