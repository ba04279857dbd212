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
 * are read by gen_conv_from_json from the message's json-c document, the
 * one genesys_flowmetrics reads too: gen_notify_parse):
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
 * goes first, counted in evicted). A conversation is known by the 64-bit
 * hash of its id and takes a 64-byte entry (and its index slots, 4 bytes
 * each): the moments of its first 12 acd and agent participants, 4 in the
 * entry and more in an array of their own; those past 12 are not counted.
 * Not thread-safe.
 */
#ifndef GEN_CONV_H
#define GEN_CONV_H 1

#include "gen_names.h"

#include "gen_config.h"
#include "gen_time.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_CONV_MAX_PARTS 32
#define GEN_CONV_ID_SIZE 64

typedef enum {
  GEN_CONV_OFFERED = 0,
  GEN_CONV_ALERTED,
  GEN_CONV_ANSWERED,
  GEN_CONV_UNANSWERED,
  GEN_CONV_ABANDONED,
  GEN_CONV_ENDED,
  GEN_CONV_TRANSFERRED,
  GEN_CONV_MOMENT_COUNT
} gen_conv_moment_t;

typedef enum {
  GEN_CONV_P_OTHER = 0,
  GEN_CONV_P_CUSTOMER,
  GEN_CONV_P_ACD,
  GEN_CONV_P_AGENT,
} gen_conv_purpose_t;

typedef enum {
  GEN_CONV_S_NONE = 0, /* no media session */
  GEN_CONV_S_ALERTING,
  GEN_CONV_S_CONNECTED,
  GEN_CONV_S_ENDED,
} gen_conv_state_t;

/* One participant, as far as counting needs it. Times are epoch ms, 0 when
 * absent. */
typedef struct {
  uint64_t id_hash;
  gen_conv_purpose_t purpose;
  char queue_id[GEN_CONV_ID_SIZE]; /* "" when none */
  int media;                       /* gen_media_t, -1 */
  gen_conv_state_t state;
  bool by_transfer;     /* ended with a *transfer disconnectType */
  int64_t connected_ms; /* participant or first session connectedTime */
  int64_t end_ms;       /* participant endTime or session disconnectedTime */
} gen_conv_part_t;

typedef struct {
  char id[GEN_CONV_ID_SIZE];
  size_t n_parts;
  bool parts_truncated;
  int64_t newest_ms; /* newest time anywhere in the snapshot, 0 none */
  /* A session state of the body this version does not know (the last one
   * met; borrowed from body), for the caller to count; NULL: none. */
  const char *unknown_state;
  gen_conv_part_t parts[GEN_CONV_MAX_PARTS];
} gen_conv_snapshot_t;

/* Reads a conversation event's eventBody (a json-c document: the shared
 * one of gen_notify_parse) into *out. Returns 0, or GEN_ERR_MALFORMED
 * with the reason in err (the caller counts the event as malformed and
 * goes on):
 * - body must be an object with an id (1-63 bytes) and participants[];
 *   each participant an object with an id; queueId, when a string, is
 *   1-63 bytes. Ids are UTF-8 without NUL (they become names and keys).
 * - purpose, queueId, connectedTime, endTime (and startAcwTime, endAcwTime,
 *   which only move newest_ms) of wrong types or unparsable times count as
 *   absent; so do session fields and sessions that are not objects.
 * - The media arrays (calls, callbacks, chats, emails, messages,
 *   cobrowsesessions, videos, screenshares: gen_media_t order): the first
 *   non-empty one gives the participant's media, state (connected over
 *   alerting over ended), first connectedTime, last disconnectedTime and
 *   whether its last ended session ended by a transfer ("transfer" in its
 *   disconnectType, any case); only its session times move newest_ms.
 * - Participants of other purposes (ivr, workflow) are dropped after their
 *   times are taken; past GEN_CONV_MAX_PARTS counted ones the rest are
 *   dropped and parts_truncated is set. Unknown keys are not looked at; a
 *   key twice in one object is json-c's: the last one. */
int gen_conv_from_json(json_object *body, gen_conv_snapshot_t *out, char *err,
                       size_t err_size);

typedef struct {
  size_t max_conversations;
  int64_t linger_ms;  /* finished conversations kept */
  int64_t timeout_ms; /* unfinished ones idle this long are dropped */
} gen_conv_options_t;

typedef struct gen_conv_tracker_s gen_conv_tracker_t;

/* One new moment; at_ms is when it happened by the event (epoch ms: the
 * acd participant's connectedTime for offered, the agent's for answered,
 * the endTime for the ends), 0 when the event has no time for it (alerts). */
typedef void (*gen_conv_emit_t)(void *ud, const char *queue_id, int media,
                                gen_conv_moment_t moment, int64_t wait_ms,
                                int64_t at_ms);

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

extern const gen_config_table_t gen_conv_keys;
gen_conv_tracker_t *gen_conv_tracker_from_config(const gen_conv_config_t *c);

#endif /* GEN_CONV_H */
