/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the one place values leave the suite for collectd.
 *
 * Identity (collectd-genesys(5), IDENTITY OF VALUES): host = the Genesys org,
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

/* n GAUGEs in one value list (the data sources of id->type, in order),
 * 1 <= n <= GEN_DISPATCH_GAUGES_MAX; -EINVAL else. */
#define GEN_DISPATCH_GAUGES_MAX 16
int gen_dispatch_gauges(const gen_ident_t *id, const double *values, size_t n,
                        cdtime_t time, cdtime_t interval);

/* A DERIVE (value rounded) or a GAUGE. */
int gen_dispatch_number(const gen_ident_t *id, bool derive, double value,
                        cdtime_t time, cdtime_t interval);

/* Records the interval of the calling thread's plugin context as the one
 * of plugin (for its values dispatched later from threads without a
 * context). Called where the context is the plugin's: its configuration
 * callback. */
void gen_dispatch_learn_interval(const char *plugin);

/* One self-metric of a plugin (plugin_instance "self"), DERIVE or GAUGE,
 * at the current time. */
int gen_dispatch_self(const char *host, const char *plugin, const char *type,
                      const char *type_instance, bool derive, double value);
/* A plugin's self-metrics as rows of a table, each by gen_dispatch_self. */
typedef struct {
  const char *type, *type_instance;
  bool derive;
  double value;
} gen_self_row_t;
void gen_dispatch_self_rows(const char *host, const char *plugin,
                            const gen_self_row_t *rows, size_t n);

/* A series budget (MaxSeries) of host (NULL: collectd's hostname) and
 * plugin: past max series (a series is forgotten two intervals after its
 * last value, as collectd's cache forgets it), a value of a new series is
 * refused (-ENOSPC), counted and said once in the log; self-metrics never
 * are. max 0: none. Each call takes a reference that
 * gen_dispatch_budget_drop() gives back (the clients of one org and
 * plugin share it). 0 or -ENOMEM. */
int gen_dispatch_budget(const char *host, const char *plugin, size_t max);
void gen_dispatch_budget_drop(const char *host, const char *plugin);
/* The budget's self-metrics, series (held now) and series_refused, when
 * host and plugin have one. */
void gen_dispatch_budget_stats(const char *host, const char *plugin);

/* A fence of host and plugin (gen_standby): from the time until on (of
 * gen_lease_clock(), a clock that counts suspend), their values are refused
 * (-EPERM) and counted, self-metrics too, so that an agent that may have lost
 * its lease sends nothing more of the org. 0 closes it now, UINT64_MAX opens
 * it. 0 or -ENOMEM (more than 16 host and plugin pairs fenced). */
int gen_dispatch_fence(const char *host, const char *plugin, cdtime_t until);
/* Whether host and plugin's fence is closed now (notifications). */
bool gen_dispatch_fence_closed(const char *host, const char *plugin);
/* The values refused by host and plugin's fence so far. */
uint64_t gen_dispatch_fenced(const char *host, const char *plugin);

/* A time for the next value of an owner whose series must see strictly
 * increasing times (collectd's cache calls a value not after the last one
 * of its series "too old"): now, or just after *last when the clock has
 * not moved on (or went back); *last is updated. The owner serialises
 * calls. */
cdtime_t gen_dispatch_next_time(cdtime_t *last);

#endif /* GEN_DISPATCH_H */
