/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the streaming reader of conversation event bodies
 * (v2.routing.queues.{id}.conversations), for gen_conv's tracker.
 *
 * gen_obs tokenises the notification once (gen_jscan) and hands the tokens
 * of eventBody to this reader (a value it ignores is passed over unread),
 * which keeps only what the tracker counts in a fixed gen_conv_snapshot_t:
 * no DOM, no allocation, no second parse.
 *
 * What is read, as gen_conv's json-c reader did before it:
 * - id (1-63 bytes) and participants[] are required; each participant is an
 *   object with an id; queueId, when a string, is 1-63 bytes. Ids must be
 *   UTF-8 without NUL. Anything else refuses the whole event (the caller
 *   counts it as malformed and goes on).
 * - purpose, queueId, connectedTime, endTime (and startAcwTime, endAcwTime,
 *   which only move newest_ms) of wrong types or unparsable times count as
 *   absent; so do session fields.
 * - The media arrays (calls, callbacks, … in gen_media_t order): the first
 *   non-empty one in that order, wherever it stands in the object, gives
 *   the participant's media, state (connected over alerting over ended),
 *   first connectedTime, last disconnectedTime and whether its last ended
 *   session ended by a transfer; only its session times move newest_ms.
 * - Participants of other purposes (ivr, workflow) are dropped after their
 *   times are taken; past GEN_CONV_MAX_PARTS counted ones the rest are
 *   dropped and parts_truncated is set.
 * - Unknown keys and nested values at any depth are skipped; a key this
 *   reader reads seen twice in one object refuses the event (json-c kept
 *   the last; an event cannot mean both).
 */
#ifndef GEN_CONV_READ_H
#define GEN_CONV_READ_H 1

#include "gen_names.h"

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
  gen_conv_part_t parts[GEN_CONV_MAX_PARTS];
} gen_conv_snapshot_t;

/* Media types are gen_media_t (gen_names.h); the API's media arrays
 * (calls, callbacks, chats, emails, messages, cobrowsesessions, videos,
 * screenshares) map to them. */

/* The JSON tokens the reader takes (the scanner's callbacks). */
typedef enum {
  GEN_CONV_T_NULL = 0,
  GEN_CONV_T_BOOL,
  GEN_CONV_T_NUMBER,
  GEN_CONV_T_STRING,
  GEN_CONV_T_KEY,
  GEN_CONV_T_START_MAP,
  GEN_CONV_T_START_ARRAY,
  GEN_CONV_T_END,
} gen_conv_token_t;

#define GEN_CONV_READ_REASON_SIZE 96
#define GEN_CONV_READ_DEPTH                                                    \
  5 /* body, participants, participant, media, session */

/* What one media array of the participant being read has shown so far. */
typedef struct {
  bool present; /* a non-empty array */
  bool connected, alerting, ended;
  bool by_transfer;
  int64_t first_connected, last_end, newest;
} gen_conv_media_acc_t;

/* The reader's state: a plain struct the caller embeds (no allocation). */
typedef struct {
  gen_conv_snapshot_t *out;
  int status; /* 0, or 1 body read, or the refusal: GEN_CONV_READ_TYPE,
                 GEN_CONV_READ_VALUE */
  char reason[GEN_CONV_READ_REASON_SIZE];
  unsigned depth; /* open containers of the body, 0 before */
  unsigned skip;  /* levels inside a skipped value */
  unsigned key;   /* slot of the last key in the object */
  unsigned ctx[GEN_CONV_READ_DEPTH + 1];
  uint32_t seen[GEN_CONV_READ_DEPTH + 1];
  size_t n_read; /* participants read (the index for messages) */
  gen_conv_part_t part;
  bool part_has_id;
  int media; /* of the open media array */
  gen_conv_media_acc_t acc[GEN_MEDIA_COUNT];
  /* The open session. */
  gen_conv_state_t s_state;
  bool s_has_type, s_transfer;
  int64_t s_connected, s_disconnected;
} gen_conv_reader_t;

enum { GEN_CONV_READ_TYPE = -1, GEN_CONV_READ_VALUE = -2 };

/* Starts reading one eventBody into *out (reset). */
void gen_conv_read_begin(gen_conv_reader_t *r, gen_conv_snapshot_t *out);
/* One token of the body, its first the body's own; s/n are the text of
 * strings, numbers and keys. Returns 0 while reading, 1 once the body has
 * closed complete, or GEN_CONV_READ_TYPE / _VALUE (reason set) when the
 * event is refused; later tokens are then ignored. */
int gen_conv_read_token(gen_conv_reader_t *r, gen_conv_token_t t,
                        const unsigned char *s, size_t n);
/* Right after a key token: whether the reader ignores that key's whole
 * value (so the tokeniser may pass over it without handing its tokens). */
bool gen_conv_read_ignores_value(const gen_conv_reader_t *r);

#endif /* GEN_CONV_READ_H */
