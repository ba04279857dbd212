/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the one place values leave the suite for collectd.
 *
 * Identity (README, "Identity of values"): host = the Genesys org,
 * plugin_instance = the entity
 * (queue, flow, …), type/type_instance = the measure and its qualifier.
 * A collectd 6 port (metric_family_t) replaces this file only.
 */
#ifndef GEN_DISPATCH_H
#define GEN_DISPATCH_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"

#include "gen_log.h"
#include "gen_names.h"
#include <stdbool.h>

#include <stdint.h>

typedef struct {
  const char *host;            /* NULL or "" = collectd's hostname */
  const char *plugin;          /* "genesys_realtime", … */
  const char *plugin_instance; /* sanitised here */
  const char *type;            /* a type of types/genesys.db */
  const char *type_instance;   /* sanitised here; NULL = none */
} gen_ident_t;

/* How a module hands its values to the plugin that names and dispatches
 * them: type, type instance, value, and derive for a counter (else a
 * gauge). */
typedef void (*gen_put_t)(void *ud, const char *type, const char *type_instance,
                          double value, bool derive);

/* Every value leaves with an explicit time and interval. collectd 5.12
 * fills a missing interval from the dispatching thread's plugin context and
 * logs an ERROR ("plugin_get_interval: Unable to determine Interval from
 * context") for every value dispatched from a thread without one: the
 * receiver's (libmicrohttpd, its worker), libcurl's, any pthread_create'd
 * thread. So here:
 *  - time 0 is now (cdtime());
 *  - interval 0 is the interval of the thread's plugin context when it has
 *    one (the read callback, plugin_thread_create'd threads), else the one
 *    this plugin was last seen with (gen_dispatch_learn_interval, and every
 *    dispatch from a thread with a context records it, so a plugin cannot
 *    forget: its configuration and each read teach it), else collectd's
 *    default of 10 s.
 * Code that knows the interval of what it measures should still pass it.
 * Returns 0 or a negative errno. */
int gen_dispatch_gauge(const gen_ident_t *id, double value, cdtime_t time,
                       cdtime_t interval);
int gen_dispatch_derive(const gen_ident_t *id, int64_t value, cdtime_t time,
                        cdtime_t interval);

/* A DERIVE (value rounded) or a GAUGE. */
int gen_dispatch_number(const gen_ident_t *id, bool derive, double value,
                        cdtime_t time, cdtime_t interval);

/* Records the interval of the calling thread's plugin context as the one
 * of plugin (for its values dispatched later from threads without a
 * context). Called where the context is the plugin's: its configuration
 * callback. */
void gen_dispatch_learn_interval(const char *plugin);

/* The interval a value of plugin dispatched now with interval 0 gets (see
 * above). */
cdtime_t gen_dispatch_interval(const char *plugin);

/* One self-metric of a plugin (plugin_instance "self"), DERIVE or GAUGE,
 * at the current time. */
int gen_dispatch_self(const char *host, const char *plugin, const char *type,
                      const char *type_instance, bool derive, double value);

/* A hash of a series' identity (NULL names count as ""): FNV-1a over the
 * names, mixed. Never 0. */
uint64_t gen_series_hash(const char *host, const char *plugin,
                         const char *plugin_instance, const char *type,
                         const char *type_instance);

/* Ordered dispatch, for history (a backfill dispatches each series many
 * times in one read). collectd 5.12 hands queued values to its write
 * threads (WriteThreads, 5 by default), and two values of one series in
 * the queue at once can be written in either order: collectd's cache logs
 * "uc_update: Value too old", writers that keep the last value keep the
 * older one, and two threads appending to one csv file tear its lines.
 * Between gen_dispatch_order_begin() and _end() (per thread, nestable), a
 * value waits until the previous value of its series has been handed to
 * every write plugin, so a series has at most one value in the queue.
 * Dispatch in time order across series (all series' first bucket, then
 * all series' second…) and the waits are rare and short.
 *
 * gen_dispatch_order_init() registers the write callback that sees values
 * leave; gen_plugin_init() calls it, from the init callback, so that it
 * runs after the write plugins (which register theirs with their
 * configuration, which may come after ours). Until it succeeds, and for an hour
 * after a value never reached it (a filter chain or WriteQueueLimitHigh
 * dropped it: a warning says so), values are not held. Returns 0 or a
 * negative errno. */
int gen_dispatch_order_init(void);
void gen_dispatch_order_begin(void);
void gen_dispatch_order_end(void);
/* Waits until every value this thread dispatched in ordered sections has
 * been handed to every write plugin: what a state file may then record as
 * done is no longer only in collectd's queue, where a SIGKILL loses it.
 * Waits as long as the queue moves; -ETIMEDOUT when it stood still for 2 s
 * (the values are still waited for at the next call), else 0 (also when
 * ordering is not registered or paused: nothing is counted then, and when
 * it gave up: the values never reach this plugin's write callback, see
 * gen_dispatch.c). */
int gen_dispatch_order_drain(void);
/* How long the write path may stand still before a wait ends (2 s) and
 * before ordering gives up (30 s); tests shorten them. */
void gen_dispatch_order_patience(int64_t still_ms, int64_t give_up_ms);
/* Values that had to wait, since start (for tests and benchmarks). */
uint64_t gen_dispatch_order_waits(void);

/* Ordered dispatch for threads that must not wait (genesys_realtime's
 * event threads, through gen_latest): gen_dispatch_number(), with the
 * value counted as an ordered one is, unless a value of its series (or of
 * one sharing its slot) counted in earlier is still in collectd's queue:
 * then nothing is dispatched and it returns -EBUSY, for the caller to try
 * again later. force: dispatched (and counted) even then. In an ordered
 * section (a thread that may wait) it waits as an ordered dispatch does:
 * a read that skipped a series whose slot another series' value of the
 * same read took would skip it at every read. Where ordering
 * is not registered or paused, a plain gen_dispatch_number(). As for a
 * wait (see above): a write path that stood still for 2 s frees the slot,
 * and a value known never to leave gives up. */
int gen_dispatch_try_number(const gen_ident_t *id, bool derive, double value,
                            cdtime_t time, cdtime_t interval, bool force);

/* Paced dispatch, for counters that events move: a burst of events moves
 * one series many times within milliseconds, and two of its values queued
 * back to back can reach the write threads in either order (see above; the
 * older one written last makes uc_update log "Value too old"). A series is
 * dispatched at most once per gap; an increment within it leaves with the
 * owner's next periodic re-dispatch.
 *
 * True (and now noted in *sent_at) when a series last dispatched at
 * *sent_at (0: never) may be dispatched again at now. */
bool gen_dispatch_due(cdtime_t *sent_at, cdtime_t now, cdtime_t gap);

/* The last dispatch of each series named by a key, for counters whose
 * owner keeps no time of its own (locked: any thread may ask). */
typedef struct gen_pace_s gen_pace_t;
gen_pace_t *gen_pace_new(void); /* NULL when out of memory */
void gen_pace_free(gen_pace_t *p);
/* gen_dispatch_due() for the series key; true when out of memory (the
 * value leaves unpaced rather than late). */
bool gen_pace_due(gen_pace_t *p, const char *key, cdtime_t now, cdtime_t gap);

#endif /* GEN_DISPATCH_H */
