/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: values that replace their series' previous value (the
 * current state of a gauge, a counter's running total), dispatched without
 * being written out of order.
 *
 * collectd 5.12 hands dispatched values to its write threads (WriteThreads,
 * 5 by default) in order, but two values of one series queued close
 * together can be written in either order: the older one then lands last
 * in write_http or write_prometheus (collectd's cache logs "uc_update:
 * Value too old" and writes it anyway), and the backend shows a stale value
 * until the next dispatch. So a series dispatched again within `hold` of its
 * last dispatch is held, and only its newest value leaves when the hold
 * ends: at the next put or flush after that (the owner flushes often,
 * genesys_realtime every 250 ms from its channel threads).
 *
 * A time alone does not order: under load a write thread can take its
 * value after the next one was queued (a loaded 2-core machine wrote a
 * longest-wait value seconds old after the newer 0). Where ordered
 * dispatch is registered (gen_dispatch_order_init), a value also stays
 * held while its series' previous value is still in collectd's queue
 * (gen_dispatch_try_number), looked at again every GEN_LATEST_RETRY; it
 * leaves anyway when the write path stood still for 2 s (see
 * gen_dispatch.h).
 *
 *   gen_latest_t *l = gen_latest_new(GEN_LATEST_HOLD);
 *   gen_latest_put(l, &id, false, 3.0, time, interval);   // per change
 *   gen_latest_flush(l, cdtime(), false);  // from the read callback too
 *   gen_latest_free(l);
 *
 * Not locked: its owner serialises every call.
 */
#ifndef GEN_LATEST_H
#define GEN_LATEST_H 1

#include "gen_dispatch.h"

#include <stdbool.h>

/* A series changed again within this is held: a burst leaves once, with
 * its newest value (what keeps two of its values apart in collectd's
 * queue is the look at the queue, where ordering is registered). */
#define GEN_LATEST_HOLD MS_TO_CDTIME_T(100)
/* A value held because its series' previous one is still queued is looked
 * at again after this. */
#define GEN_LATEST_RETRY MS_TO_CDTIME_T(10)

typedef struct gen_latest_s gen_latest_t;

/* hold 0: every value leaves at once (nothing is tracked). */
gen_latest_t *gen_latest_new(cdtime_t hold);
/* Frees it; values still held are dropped (they are re-dispatched state). */
void gen_latest_free(gen_latest_t *l);

/* Dispatches the value now, or holds it (replacing a held value of the same
 * series) when the series left less than hold ago. Values held whose hold
 * has ended leave first. time must not be 0. Returns 0 or a negative errno
 * (out of memory: the value was dispatched at once). */
int gen_latest_put(gen_latest_t *l, const gen_ident_t *id, bool derive,
                   double value, cdtime_t time, cdtime_t interval);

/* A full re-dispatch (every series of the owner, once): the same as
 * gen_latest_put(), but the series are not remembered one by one (the
 * tables stay as small as the changes between two re-dispatches); the
 * caller ends it with gen_latest_bulk_done(l, cdtime()), after which every
 * series counts as dispatched then. */
int gen_latest_put_bulk(gen_latest_t *l, const gen_ident_t *id, bool derive,
                        double value, cdtime_t time, cdtime_t interval);
void gen_latest_bulk_done(gen_latest_t *l, cdtime_t at);

/* Dispatches the held values whose hold ended by now (all of them when all
 * is set). */
void gen_latest_flush(gen_latest_t *l, cdtime_t now, bool all);

/* Values held now, and held since creation (for self-metrics and tests). */
size_t gen_latest_pending(const gen_latest_t *l);
uint64_t gen_latest_held_total(const gen_latest_t *l);
/* Series remembered now (dispatched within the hold, or more recently
 * than the table's last clean-up). */
size_t gen_latest_tracked(const gen_latest_t *l);

#endif /* GEN_LATEST_H */
