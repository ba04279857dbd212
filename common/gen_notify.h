/*
 * collectd-genesys: Notifications API channel manager.
 *
 * Keeps a set of topics streaming: as many channels as the topics need (at
 * most GEN_NOTIFY_TOPICS_PER_CHANNEL topics each, at most
 * GEN_NOTIFY_MAX_CHANNELS), one WebSocket and one thread per channel. Each
 * channel thread:
 *
 *   creates its channel (POST /api/v2/notifications/channels), opens the
 *   socket on connectUri, subscribes (PUT …/subscriptions), then calls
 *   on_connected() so the plugin can take a baseline with a REST query
 *   (nothing is queued while a socket is down), and hands every message to
 *   on_message();
 *   sends the JSON ping when the channel has been silent for ping_after and
 *   reconnects when it stays silent for dead_after (heartbeats come every
 *   30 s); reconnects at once when on_message() says so
 *   (v2.system.socket_closing);
 *   renews the channel by subscribing again before `expires`;
 *   after any failure reconnects with exponential backoff and ±20 % jitter
 *   (1 s × 1.6 up to 120 s, reset after a minute of health), creating a new
 *   channel when the old one is gone.
 *
 * Topics are packed into channels in the order given, so a caller that lists
 * the topics of one queue together keeps them on one channel.
 */
#ifndef GEN_NOTIFY_H
#define GEN_NOTIFY_H 1

#include "gen_client.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define GEN_NOTIFY_TOPICS_PER_CHANNEL 1000
#define GEN_NOTIFY_MAX_CHANNELS 20

typedef enum {
  GEN_NOTIFY_OK = 0,      /* a message the plugin used or ignored */
  GEN_NOTIFY_HEARTBEAT,   /* channel.metadata heartbeat or pong */
  GEN_NOTIFY_RECONNECT,   /* v2.system.socket_closing: reconnect now */
  GEN_NOTIFY_MALFORMED,   /* could not be parsed (counted) */
  GEN_NOTIFY_RESUBSCRIBE, /* v2.system.no_longer_subscribed: the service
                             dropped topics; subscribe the set again */
  GEN_NOTIFY_REVOKED,     /* v2.system.token_revoked: the channel's token is
                             dead; new token, new channel */
} gen_notify_verdict_t;

/* The verdict of a Notifications system topic (channel.metadata,
 * v2.system.socket_closing, v2.system.no_longer_subscribed…,
 * v2.system.token_revoked…; ASCII case ignored): true and *verdict set, or
 * false for any other topic. */
bool gen_notify_system_topic(const char *topic, gen_notify_verdict_t *verdict);

typedef struct gen_notify_s gen_notify_t;

typedef struct {
  /* One message of a channel, on that channel's thread. */
  gen_notify_verdict_t (*on_message)(void *ud, const char *json, size_t len);
  /* The channel's socket is open and subscribed to topics[0..n-1]: take a
   * baseline. http belongs to the calling thread. Returns 0, or a negative
   * code to reconnect (the baseline could not be taken). */
  int (*on_connected)(void *ud, gen_http_t *http, char *const *topics,
                      size_t n);
  /* Optional: called on each channel thread at least every 250 ms while
   * its socket is open, messages or not (for work due by the clock). */
  void (*on_tick)(void *ud);
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
  atomic_uint_fast64_t resubscribes; /* after no_longer_subscribed */
  atomic_uint_fast64_t revocations;  /* token_revoked messages */
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
void gen_notify_config_init(gen_notify_config_t *c);
/* 0, GEN_CONFIG_NOT_MINE, or a negative errno after logging. */
int gen_notify_config_key(const gen_org_t *org, const oconfig_item_t *ci,
                          gen_notify_config_t *c);
/* The options they make: a ping after 47 % of the heartbeat timeout, so
 * that a lost pong still leaves a second ping before the channel is dead. */
gen_notify_options_t gen_notify_config_options(const gen_notify_config_t *c);

/* client is borrowed (its org and auth are shared; each channel thread has
 * its own HTTP handle). */
gen_notify_t *gen_notify_create(gen_client_t *client,
                                const gen_notify_callbacks_t *cb, void *ud,
                                const gen_notify_options_t *options);

/* Sets the topics to stream (copied). Channels whose share changed are
 * resubscribed; new shares get new channels, unneeded channels are closed.
 * Returns 0, or -E2BIG when more topics than GEN_NOTIFY_MAX_CHANNELS can
 * carry (the first ones are streamed, the error is logged). */
int gen_notify_set_topics(gen_notify_t *n, char *const *topics, size_t count);

/* Starts the channel threads for the current topics. */
int gen_notify_start(gen_notify_t *n);
/* Stops every thread, closes sockets (the channels expire on their own). */
void gen_notify_free(gen_notify_t *n);

gen_notify_stats_t *gen_notify_stats(gen_notify_t *n);
/* Dispatches the channel self-metrics (notify_*) under plugin_instance
 * "self". */
void gen_notify_dispatch_stats(gen_notify_t *n, const char *host,
                               const char *plugin);
size_t gen_notify_channels(gen_notify_t *n);
size_t gen_notify_topics(gen_notify_t *n);

/* How many channels count topics need, and how many topics channel i gets
 * (the pure partition, for tests). */
size_t gen_notify_channels_needed(size_t count, size_t per_channel);

#endif /* GEN_NOTIFY_H */
