/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the bookkeeping of a notification hub, without I/O.
 *
 * One hub per OAuth client holds every topic that the consumers (plugin
 * instances) using that client want: a topic wanted by several consumers is
 * carried once, on one channel, and each message on it goes to each of
 * them. Channels carry at most per_channel topics and there are at most
 * max_channels of them (Genesys allows 20 channels per client and removes
 * the oldest-used one when a 21st is created: the hub never asks for it).
 *
 * Packing: a new topic goes to the lowest channel with room, or opens the
 * lowest free channel; a topic that finds no room waits (pending) and is
 * placed as soon as room is freed. Nothing carried is moved or dropped for
 * a newcomer. A channel left with no topic is closed by the caller.
 *
 * Not thread-safe: gen_notify holds its lock around every call.
 */
#ifndef GEN_HUB_H
#define GEN_HUB_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GEN_HUB_MAX_CONSUMERS 64

typedef struct gen_hub_s gen_hub_t;

/* NULL when out of memory, or past INT16_MAX channels or UINT32_MAX
 * topics a channel. */
gen_hub_t *gen_hub_new(size_t max_channels, size_t per_channel);
void gen_hub_free(gen_hub_t *h);

/* A consumer slot (0 … GEN_HUB_MAX_CONSUMERS-1), -1 when all are taken. */
int gen_hub_join(gen_hub_t *h);
/* Releases the consumer's topics (those nobody else wants leave their
 * channels; pending topics of others may take their room) and its slot. */
void gen_hub_leave(gen_hub_t *h, int consumer);

/* Makes topics[0..n-1] the consumer's whole set (ASCII case ignored,
 * repeats once). Returns how many of them are pending (no room), or
 * -ENOMEM (the set is then as before). */
ssize_t gen_hub_want(gen_hub_t *h, int consumer, char *const *topics, size_t n);

/* The consumers a message of topic goes to (bit c = consumer c). */
uint64_t gen_hub_route(const gen_hub_t *h, const char *topic);

size_t gen_hub_max_channels(const gen_hub_t *h);
/* Topics on channel i (0: closed), and its generation, which changes with
 * every change of its set. */
size_t gen_hub_channel_size(const gen_hub_t *h, size_t i, uint64_t *generation);
/* A copy of channel i's topics in one allocation, the array then the
 * strings: free() frees it (NULL with *n = 0 when out of memory or
 * empty). */
char **gen_hub_channel_topics(const gen_hub_t *h, size_t i, size_t *n);
/* The consumers with at least one topic on channel i. */
uint64_t gen_hub_channel_consumers(const gen_hub_t *h, size_t i);
/* A copy of the consumer's topics on channel i, as above. */
char **gen_hub_consumer_topics(const gen_hub_t *h, int consumer, size_t i,
                               size_t *n);

size_t gen_hub_channels(const gen_hub_t *h); /* open channels */
size_t gen_hub_topics(const gen_hub_t *h);   /* distinct topics carried */
/* The consumer's topics waiting for room; -1: distinct topics waiting. */
size_t gen_hub_pending(const gen_hub_t *h, int consumer);
size_t gen_hub_consumer_count(const gen_hub_t *h, int consumer); /* wanted */

/* True when a channel that expires at `expires` and lives `lifetime` must
 * be renewed (subscribed again) at now: `ahead` before it expires, or at
 * half its life when that is shorter. */
bool gen_hub_renew_due(uint64_t now, uint64_t expires, uint64_t lifetime,
                       uint64_t ahead);

/* Frees an array of topics each allocated on its own (as
 * gen_entity_topics makes them). */
void gen_hub_topics_free(char **topics, size_t n);

#endif /* GEN_HUB_H */
