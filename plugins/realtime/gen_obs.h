/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the hot-path parser for Notifications API messages.
 *
 * One WebSocket text message in, given the topic the hub read from it
 * (gen_notify_topic, the one reader of topic names), read in one pass of
 * gen_jscan (a strict JSON scanner calling back per token) into a
 * fixed-size, caller-owned gen_obs_msg_t: for
 * v2.analytics.queues.{id}.observations the group and every known metric.
 *
 * Which reader serves what: a notification's queue observation, this
 * module (gen_jscan, strict: a bad field fails the message); the answer of
 * the observations query, gen_obs_query in common/api (gen_jscan, read as
 * json-c reads it; the flows' answers too); both into gen_obs_item_t, the
 * metric named by gen_obs_metric_from_name. Every other notification, json-c on
 * the message's one document (gen_notify_parse).
 *
 *   gen_obs_parser_t *p = gen_obs_thread_parser();  // one per socket thread
 *   gen_obs_msg_t msg;                              // ~7 KiB, reused
 *   char err[GEN_OBS_ERR_SIZE];
 *   if (gen_obs_parse(p, topic, text, len, &msg, err, sizeof(err)) < 0)
 *     log err;
 *   else if (msg.topic == GEN_OBS_TOPIC_OTHER) another reader's;
 *   else use msg;
 *
 * Contract:
 * - Input: one JSON text of len bytes, not necessarily NUL-terminated;
 *   nothing at or past json[len] is read. Callers bound len (the WebSocket
 *   message limit); over GEN_OBS_MAX_LEN it is refused.
 * - Returns 0 or a negative gen_obs_status_t. *out is reset on every call
 *   (items past n_items are stale). On failure n_items is 0 and err is one
 *   line, "<reason> at byte N near '<at most 24 input bytes>'", never the
 *   message.
 * - The topic decides (fixed parts ignore ASCII case):
 *   v2.analytics.queues.<id without '.'>.observations is
 *   QUEUE_OBSERVATIONS, any other OTHER, whose text is not read (0
 *   returned). A topicName member in the text is passed over.
 * - Keys may come in any order. Only the fields read are checked; anything
 *   else (keys, unknown metrics, nested junk at any depth, other stats) is
 *   skipped. A bad field fails the whole message:
 *     GEN_OBS_ERR_TYPE   wrong JSON type ("count":"3", "group":[], root not
 *                        an object). null counts as absent.
 *     GEN_OBS_ERR_VALUE  count not an integer >= 0 (integral number text
 *                        such as 3.0 accepted up to 2^53); value not
 *                        finite; queueId, mediaType or qualifier too long
 *                        for its field (never cut: a cut id would file
 *                        values under a wrong name); a kept string with
 *                        \u0000 (these strings become collectd names;
 *                        half a surrogate pair reads as U+FFFD); a number
 *                        over GEN_OBS_NUMBER_MAX bytes; a known key twice in
 *                        one object.
 *   GEN_OBS_ERR_DEPTH (over max_depth, skipped values included) and
 *   GEN_OBS_ERR_SYNTAX (truncated, trailing data, invalid escapes, text
 *   that is not strict UTF-8 anywhere, empty). White space is RFC 8259's:
 *   space, tab, LF, CR.
 * - Items: every metrics[] entry of every data[] entry whose "metric" is
 *   known, in document order, duplicates kept (apply in order: the last
 *   wins). Unknown or nameless ones are dropped and counted in n_unknown;
 *   past GEN_OBS_MAX_ITEMS the rest are dropped and truncated is set.
 * - Memory: strings with escapes are decoded into one buffer of the parser,
 *   grown before parsing to the message's length and given back after when
 *   over GEN_OBS_ARENA_KEEP: messages up to 256 KiB cost no malloc once one
 *   of their size has been seen. Not thread-safe.
 */
#ifndef GEN_OBS_H
#define GEN_OBS_H 1

#include "gen_err.h"
#include "gen_obs_query.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting limit used when gen_obs_parser_new() is given 0. */
#define GEN_OBS_DEFAULT_DEPTH 32
/* Highest nesting limit a parser accepts. */
#define GEN_OBS_DEPTH_LIMIT 120
/* Longest message accepted at all (callers should bound far lower). */
#define GEN_OBS_MAX_LEN ((size_t)64 << 20)
/* Longest number text accepted in a field this module reads. */
#define GEN_OBS_NUMBER_MAX 64
/* A good size for the err buffer. */
#define GEN_OBS_ERR_SIZE 192
/* Decode buffer kept between messages; a bigger one is given back after
 * use. */
#define GEN_OBS_ARENA_KEEP ((size_t)256 << 10)

/* Status codes: gen_obs_status_t of gen_err.h. */

typedef enum {
  GEN_OBS_TOPIC_OTHER = 0,
  GEN_OBS_TOPIC_QUEUE_OBSERVATIONS, /* v2.analytics.queues.{id}.observations */
} gen_obs_topic_t;

typedef struct {
  gen_obs_topic_t topic;
  /* QUEUE_OBSERVATIONS only ("" / 0 for other topics): */
  char queue_id[64];   /* eventBody.group.queueId, "" if absent */
  char media_type[32]; /* eventBody.group.mediaType, "" = user-metrics group */
  size_t n_items;
  size_t n_unknown; /* metric objects dropped: unknown or missing name */
  bool truncated;   /* more than GEN_OBS_MAX_ITEMS items: the rest dropped */
  gen_obs_item_t items[GEN_OBS_MAX_ITEMS];
} gen_obs_msg_t;

typedef struct gen_obs_parser_s gen_obs_parser_t;

/* A parser refusing nesting deeper than max_depth (0: the default; over
 * GEN_OBS_DEPTH_LIMIT: NULL with errno EINVAL). NULL with errno ENOMEM. */
gen_obs_parser_t *gen_obs_parser_new(size_t max_depth);
/* The calling thread's own parser (GEN_OBS_DEFAULT_DEPTH), made at its first
 * use and freed when the thread ends; NULL when out of memory. For
 * callbacks that run on several threads (one per notification channel). */
gen_obs_parser_t *gen_obs_thread_parser(void);
void gen_obs_parser_free(gen_obs_parser_t *p);

/* Parses one message of the topic the hub read; see the contract above.
 * err may be NULL. */
int gen_obs_parse(gen_obs_parser_t *p, const char *topic, const char *json,
                  size_t len, gen_obs_msg_t *out, char *err, size_t err_size);

/* Counters of one parser, for self-metrics, tests and benchmarks. */
typedef struct {
  uint64_t messages;    /* gen_obs_parse() calls past the argument checks */
  uint64_t heap_allocs; /* malloc calls made after creation */
  size_t arena_size;    /* decode buffer bytes now */
  size_t arena_peak;    /* the longest message (what the buffer needed) */
} gen_obs_stats_t;
void gen_obs_parser_stats(const gen_obs_parser_t *p, gen_obs_stats_t *st);

#endif /* GEN_OBS_H */
