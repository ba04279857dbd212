/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the notification hub of an OAuth client.
 *
 * Genesys allows 20 channels per OAuth client and removes the oldest-used
 * one when a 21st is created, so channels are not a plugin's own: every
 * plugin instance (<Org> block) that streams with one client (login host
 * and client id) is a consumer of that client's one hub in the process.
 * A consumer names the topics it wants and its callbacks; a topic wanted by
 * several consumers is subscribed once and each message on it is handed to
 * each of them (gen_notify_parse() gives them one json-c parse). Packing
 * and the budget are gen_hub's: at most GEN_NOTIFY_TOPICS_PER_CHANNEL
 * topics per channel, at most GEN_NOTIFY_MAX_CHANNELS channels per client;
 * topics that do not fit wait (logged, counted) and nothing is evicted by
 * our own hand. The hub is made by its client's first consumer (whose
 * options and credentials its channels use) and ends with its last.
 *
 * One WebSocket and one thread per channel. Each channel thread:
 *
 *   creates its channel (POST /api/v2/notifications/channels), opens the
 *   socket on connectUri, subscribes (PUT …/subscriptions), then calls
 *   each consumer's on_connected() with its topics on that channel so it
 *   can take a baseline with a REST query (nothing is queued while a socket
 *   is down), and hands every message to the consumers of its topic;
 *   handles the system topics itself (heartbeats, socket_closing,
 *   no_longer_subscribed, token_revoked);
 *   sends the JSON ping when the channel has been silent for ping_after and
 *   reconnects when it stays silent for dead_after (heartbeats come every
 *   30 s);
 *   renews the channel by subscribing again before `expires`;
 *   after any failure reconnects with exponential backoff and ±20 % jitter
 *   (1 s × 1.6 up to 120 s, reset after a minute of health), creating a new
 *   channel when the old one is gone.
 */
#ifndef GEN_NOTIFY_H
#define GEN_NOTIFY_H 1

#include "gen_client.h"

#include "gen_json.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_NOTIFY_TOPICS_PER_CHANNEL 1000
#define GEN_NOTIFY_MAX_CHANNELS 20

/* The topic families counted per client (notify_family_messages). */
enum {
  GEN_NOTIFY_FAMILY_QUEUE_OBSERVATIONS,
  GEN_NOTIFY_FAMILY_QUEUE_CONVERSATIONS,
  GEN_NOTIFY_FAMILY_USER_ACTIVITY,
  GEN_NOTIFY_FAMILY_FLOW_METRICS,
  GEN_NOTIFY_FAMILY_OTHER,
  GEN_NOTIFY_FAMILY_SYSTEM,
  GEN_NOTIFY_FAMILIES
};

typedef enum {
  GEN_NOTIFY_OK = 0,      /* a message the plugin used or ignored */
  GEN_NOTIFY_HEARTBEAT,   /* channel.metadata heartbeat or pong */
  GEN_NOTIFY_RECONNECT,   /* v2.system.socket_closing: reconnect now */
  GEN_NOTIFY_MALFORMED,   /* could not be parsed (counted) */
  GEN_NOTIFY_RESUBSCRIBE, /* v2.system.no_longer_subscribed: the service
                             dropped topics; subscribe the set again */
  GEN_NOTIFY_REVOKED,     /* v2.system.token_revoked: the channel's token is
                             dead; new token, new channel */
  GEN_NOTIFY_SYSTEM,      /* any other v2.system.* topic: its body's
                             systemTopicType decides (gen_notify_system_body) */
} gen_notify_verdict_t;

/* The verdict of a Notifications system topic (channel.metadata,
 * v2.system.socket_closing, v2.system.no_longer_subscribed…,
 * v2.system.token_revoked…, and every other v2.system.* topic, such as
 * v2.system.{id}.{id}: GEN_NOTIFY_SYSTEM; ASCII case ignored): true and
 * *verdict set, or false for any other topic. System topics never reach a
 * consumer. */
bool gen_notify_system_topic(const char *topic, gen_notify_verdict_t *verdict);

/* The verdict of a GEN_NOTIFY_SYSTEM message by its
 * eventBody.systemTopicType (SystemMessageSystemMessage):
 * no_longer_subscribed and subscription_changed RESUBSCRIBE, token_revoked
 * REVOKED, anything else (or none) GEN_NOTIFY_SYSTEM, ignored. type gets
 * the systemTopicType ("" without one), cut to size. */
gen_notify_verdict_t gen_notify_system_body(const char *json, size_t len,
                                            char *type, size_t size);

/* True when topic is "<prefix><something><suffix>", with something not
 * empty (ASCII case ignored), as v2.routing.queues.{id}.conversations. */
bool gen_notify_topic_has(const char *topic, const char *prefix,
                          const char *suffix);

/* Calls flush(ud, ids, k) for the {id} of every topic "<prefix>{id}
 * <suffix>" of topics[0..n-1], batch_max (at most 100) at a time; ids longer
 * than 79 bytes are skipped. Without failed (NULL), stops at the first flush
 * that fails; with it, marks the topics of a failed batch in failed[] and
 * goes on. Returns the first failure's status (0 when every one
 * succeeded). */
int gen_notify_topic_ids(char *const *topics, size_t n, const char *prefix,
                         const char *suffix, size_t batch_max,
                         int (*flush)(void *ud, const char *const *ids,
                                      size_t k),
                         void *ud, uint8_t *failed);

/* Room for a topic name: longer ones are no topic of ours. */
#define GEN_NOTIFY_TOPIC_SIZE 512

/* The topicName of a notification (a top-level key, escapes decoded) copied
 * into out: false when there is none, it is empty or longer than size - 1.
 * The one reader of topic names: the hub routes by it and hands it to the
 * consumers (on_message), which do not read it again. */
bool gen_notify_topic(const char *json, size_t len, char *out, size_t size);

/* gen_json_parse() for a consumer's on_message(): the message being
 * delivered is parsed once for all its consumers (*doc is a new reference:
 * json_object_put() it as usual). */
int gen_notify_parse(const char *json, size_t len, json_object **doc, char *err,
                     size_t err_size);

typedef struct gen_notify_s gen_notify_t;

typedef struct {
  /* One message of a topic the consumer wants, on its channel's thread
   * (system topics never come here); topic is its topicName, as read by
   * gen_notify_topic. */
  gen_notify_verdict_t (*on_message)(void *ud, const char *topic,
                                     const char *json, size_t len);
  /* The channel's socket is open and subscribed to topics[0..n-1] (the
   * consumer's on it): take a baseline. http is the consumer's own, for
   * this channel's thread. A family whose baseline fails (its listing
   * refused) marks its topics in failed[0..n-1] (zeroed) after saying why:
   * the channel stays open for the others, and on_connected is called again
   * on this channel's thread for the marked topics only, after 5 s, then
   * twice as long after each failure up to 5 minutes, until they are taken
   * (or the channel reconnects: a full baseline again). Returns 0, or a
   * negative code only for what concerns the channel itself (out of
   * memory): the channel reconnects. */
  int (*on_connected)(void *ud, gen_http_t *http, char *const *topics, size_t n,
                      uint8_t *failed);
  /* Optional: called on each channel thread of the client every 100 ms
   * while its socket is open, messages or not (for work due by the clock,
   * and live changes: they leave at the next tick). */
  void (*on_tick)(void *ud);
  /* Optional: the channel's socket is lost, or the service dropped its
   * subscriptions: messages of topics[0..n-1] (the consumer's on it) are
   * missed until on_connected() baselines them again. On the channel's
   * thread; not at shutdown. */
  void (*on_lost)(void *ud, char *const *topics, size_t n);
} gen_notify_callbacks_t;

typedef struct {
  cdtime_t ping_after;       /* silence before a JSON ping (default 35 s) */
  cdtime_t dead_after;       /* silence before a reconnect (default 75 s) */
  cdtime_t renew_ahead;      /* renew this long before expires (1 h) */
  size_t topics_per_channel; /* ≤ GEN_NOTIFY_TOPICS_PER_CHANNEL */
  size_t max_message;        /* WebSocket message cap (default 1 MiB) */
} gen_notify_options_t;

typedef struct {
  atomic_uint_fast64_t messages;
  atomic_uint_fast64_t heartbeats;
  atomic_uint_fast64_t reconnects; /* sockets opened after the first */
  atomic_uint_fast64_t malformed;
  atomic_uint_fast64_t channels_created;
  atomic_uint_fast64_t baselines;
  atomic_uint_fast64_t baseline_failures; /* on_connected calls with failed */
  atomic_uint_fast64_t baseline_retries;  /* owed topics asked again */
  atomic_uint_fast64_t resubscribes;      /* after no_longer_subscribed */
  atomic_uint_fast64_t revocations;       /* token_revoked messages */
  atomic_int_fast64_t sockets_open;
  atomic_int_fast64_t last_message; /* cdtime_t of the last message, 0 none */
} gen_notify_stats_t;

/* The channel keys of a streaming plugin's <Org> block, HeartbeatTimeout
 * (default 75 s) and TopicsPerChannel (default and most
 * GEN_NOTIFY_TOPICS_PER_CHANNEL). */
typedef struct {
  cdtime_t heartbeat_timeout;
  long topics_per_channel;
} gen_notify_config_t;
extern const gen_config_table_t gen_notify_keys;
/* The options they make: a ping after 47 % of the heartbeat timeout, so
 * that a lost pong still leaves a second ping before the channel is dead. */
gen_notify_options_t gen_notify_config_options(const gen_notify_config_t *c);

/* Joins the hub of client's login host and client id (made if needed from
 * a copy of client's org). NULL when out of memory or when the client
 * already serves GEN_HUB_MAX_CONSUMERS consumers (logged). */
gen_notify_t *gen_notify_create(gen_client_t *client,
                                const gen_notify_callbacks_t *cb, void *ud,
                                const gen_notify_options_t *options);

/* Sets the consumer's topics (copied). Channels whose set changed are
 * resubscribed, new ones made, empty ones closed. Returns 0, or -E2BIG
 * when some topics do not fit in the client's channels (those wait for
 * room; logged naming the client, the counts and the limit). */
int gen_notify_set_topics(gen_notify_t *n, char *const *topics, size_t count);

/* Lets the hub's channel threads run. */
int gen_notify_start(gen_notify_t *n);
/* Leaves the hub: no callback of the consumer runs after this returns;
 * its topics nobody else wants are dropped; the last consumer stops every
 * thread and closes the sockets (the channels expire on their own). */
void gen_notify_free(gen_notify_t *n);

/* Hands a message to the consumers of its topic in n's hub, as a channel
 * thread does (no socket: for tests and benchmarks). System topics and
 * messages without a topic go nowhere. Returns the consumers reached. */
size_t gen_notify_deliver(gen_notify_t *n, const char *json, size_t len);

/* The consumer's own figures: the messages handed to it, its malformed
 * ones and its baselines. The channels' figures (heartbeats, reconnects,
 * sockets open, …) are the client's hub's, shared by its consumers; they
 * leave with gen_notify_dispatch_stats(). */
gen_notify_stats_t *gen_notify_stats(gen_notify_t *n);
/* Dispatches the hub's self-metrics (notify_*, the client's figures, and
 * the consumer's own malformed, baselines, topics own/pending) under
 * plugin_instance "self". */
void gen_notify_dispatch_stats(gen_notify_t *n, const char *host,
                               const char *plugin);
size_t gen_notify_channels(gen_notify_t *n);
size_t gen_notify_topics(gen_notify_t *n);

/* How many channels count topics need, and how many topics channel i gets
 * (the pure partition, for tests). */
size_t gen_notify_channels_needed(size_t count, size_t per_channel);

#endif /* GEN_NOTIFY_H */
