/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a standby per shard through etcd.
 *
 * Two agents configured for the same org, shard and plugin (each with its
 * own OAuth client) both run this; one holds the key
 * "<StandbyPrefix>/<org>/<i>-<n>/<plugin>/holder" in etcd (a key created
 * only when absent, bound to a lease of StandbyTTL seconds kept alive by a
 * thread of its own), the other waits and creates it once the lease has
 * expired or been revoked.
 *
 * Fencing: the holder's values of the org go through gen_dispatch only
 * until one second before its lease can expire (the time it sent the last
 * keep-alive etcd answered, plus the TTL granted, on gen_lease_clock, which
 * counts suspend); after that they are refused, so the old holder has
 * stopped before the new one can hold the key.
 *
 * What moves with the lease: the state files the instance uses (every path
 * gen_state_path() makes while the instance is built or read, and its
 * siblings: ".next", ".records", ".journal"), copied to "…/state/<file name>"
 * after each read that changed one, with transactions that hold only while
 * the key is still ours (at most 128 operations each, etcd's default
 * --max-txn-ops: the manifests in one, the replaced pieces deleted after); a
 * new holder writes them into its own state directory before the instance is
 * built.
 */
#ifndef GEN_STANDBY_H
#define GEN_STANDBY_H 1

#include "gen_config.h"

#include <stdbool.h>

typedef struct gen_standby_s gen_standby_t;

/* The election of org (its Standby* keys given) for plugin, its thread
 * started. NULL when out of memory or the thread cannot start (logged). */
gen_standby_t *gen_standby_start(const gen_org_t *org, const char *plugin);

/* collectd-genesys-check: asks etcd who holds org's shard for plugin;
 * out says it ("b holds /collectd-genesys/acme/1-1/genesys_realtime/holder")
 * or why etcd did not answer. 0 or a negative errno. */
int gen_standby_probe(const gen_org_t *org, const char *plugin, char *out,
                      size_t size);

/* Whether this agent holds the org now (and its fence is open). */
bool gen_standby_holding(gen_standby_t *s);

/* Around building the instance and its first read after a take-over: the
 * org's state in etcd is fetched, and each state path the instance makes
 * gets its files from it, written a piece at a time (a piece etcd does not
 * give is asked again, GEN_STANDBY_FETCH_TRIES times a second apart, then
 * that file is not restored, logged). Also around every later read (the
 * paths it makes are remembered for gen_standby_sync). False (restore
 * only): etcd did not give the manifests whole; no instance now, asked
 * again at the next read, at most GEN_STANDBY_FETCH_TRIES times in a row,
 * then the files given and the agent's own stand (logged). */
#define GEN_STANDBY_FETCH_TRIES 5
bool gen_standby_watch_begin(gen_standby_t *s, bool restore);
void gen_standby_watch_end(gen_standby_t *s);

/* Copies the pieces of the instance's state files that changed to etcd,
 * while the key is ours: at most every StandbySyncInterval, or now (at
 * shutdown); at most 10 s of a read, a longer copy going on at the next
 * reads (0 then too). 0, or a negative errno (logged, rate-limited). */
int gen_standby_sync(gen_standby_t *s, bool now);

/* The instance was freed after the lease was lost (or at shutdown). */
void gen_standby_released(gen_standby_t *s);

/* Self-metrics under collectd's own host name (the agent, not the org):
 * standby_holding 1 or 0, standby_takeovers, standby_fenced,
 * standby_sync_failed, standby_copied_bytes, standby_stopped 1 or 0 (the
 * org's values stopped because etcd was out of reach past the fence, said
 * too by a notification of that type, FAILURE then OKAY); the notices the
 * org's limits held back, sent when they allow. */
void gen_standby_dispatch_self(gen_standby_t *s);

/* Stops the thread and revokes the lease (the other agent takes over at
 * once). */
void gen_standby_stop(gen_standby_t *s);

#endif /* GEN_STANDBY_H */
