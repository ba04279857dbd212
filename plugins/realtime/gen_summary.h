/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: live gauges summarised per window, exactly.
 *
 * A scrape or a poll sees a gauge only at its sampling instants and misses
 * every peak between two of them. The streaming plugins see every change,
 * so per closed window (aligned to the epoch, like the analytics buckets)
 * this module gives each series' minimum, maximum and time-weighted mean
 * computed from every change, including the value carried in from the
 * window before. State is O(1) per series: its current value, and only
 * while it changed in the open window (or its closed window is not out
 * yet) a record of its running min, max and integral; nothing is kept per
 * change.
 *
 *   gen_summary_t *s = gen_summary_new(window, types, n_types);
 *   gen_summary_close(s, now, put, ud);   // before each change, and often
 *   gen_summary_observe(s, "Support", "waiting", "voice", 3, now);
 *   gen_summary_lost(s, "Support");       // its source went away
 *   gen_summary_resumed(s, "Support");    // and is re-baselined
 *   gen_summary_free(s);
 *
 * A window is summarised only when the series was known for all of it: not
 * the window a series first appears in (its value before is unknown), and
 * not a window that overlapped a loss of its source (from
 * gen_summary_lost() to gen_summary_resumed(): changes were missed). Those
 * are counted, not guessed. Not locked: the owner serialises every call.
 */
#ifndef GEN_SUMMARY_H
#define GEN_SUMMARY_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/utils_time.h"
#include "gen_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  GEN_SUMMARY_LEVEL, /* holds its value until the next change */
  GEN_SUMMARY_AGE,   /* an age in seconds: from a change at t with value v
                        > 0 it is v + (x - t) at x; 0 stays 0 */
} gen_summary_kind_t;

typedef struct gen_summary_s gen_summary_t;

/* The gauges summarised (types not listed are passed over). */
typedef struct {
  const char *type;
  gen_summary_kind_t kind;
} gen_summary_type_t;

/* The keys Summaries (boolean) and SummaryInterval (seconds, 1 to 86400;
 * 0: the plugin's interval); GEN_CONFIG_NOT_MINE for any other. */
typedef struct {
  bool on;
  cdtime_t window;
} gen_summary_config_t;
extern const gen_config_table_t gen_summary_keys;

typedef struct {
  uint64_t complete; /* series-windows summarised (dispatched) */
  uint64_t gap;      /* withheld: the window overlapped a lost source */
  uint64_t partial;  /* withheld: the series began inside the window */
  uint64_t skipped;  /* skipped: jumped over by a forward clock step */
  size_t series;     /* series tracked now */
} gen_summary_stats_t;

/* One summary of a closed window: type is "<type>_min", "_max" or "_mean",
 * at the window's end. */
typedef void (*gen_summary_put_t)(void *ud, const char *plugin_instance,
                                  const char *type, const char *type_instance,
                                  double value, cdtime_t end);

/* window: its length (> 0; windows are aligned to the epoch); types[n]
 * (n at most 255): what is summarised (borrowed). NULL when out of memory
 * or past those bounds. */
gen_summary_t *gen_summary_new(cdtime_t window, const gen_summary_type_t *types,
                               size_t n);
void gen_summary_free(gen_summary_t *s);

cdtime_t gen_summary_window(const gen_summary_t *s);

/* Closes every window that ended by now (at most 64 per call; the rest at
 * the next), handing each summarised series' min, max and mean to put.
 * Call it before observing a change at now, so that the change falls in
 * the open window. Returns the windows closed. With a spread, the last
 * window closed leaves in shares: see gen_summary_spread(). More than 64
 * windows due at once is a forward clock step (or a stall as long): the
 * open window is closed, the windows after it up to now are skipped
 * (counted in skipped, series-windows; a WARNING line, at most one a
 * minute), and the window now falls in is withheld as partial. */
size_t gen_summary_close(gen_summary_t *s, cdtime_t now, gen_summary_put_t put,
                         void *ud);

/* A closed window's summaries leave over `spread` after its end (0, the
 * default: all at its close), a share of the queues at each
 * gen_summary_close() as that time runs, every one before the next
 * window's; a series observed, lost or forgotten first puts its own out.
 * With per_second > 0 the spread is no longer than the series at that
 * rate need: few series leave at once.
 * The same names, values and times, through the sink of the last
 * gen_summary_close(): 5,000 queues' 450,000 value lists at once held
 * collectd's write queue, and the arena of the thread that closed (issue
 * 36). Summaries still due when the summary is freed are not put. */
void gen_summary_spread(gen_summary_t *s, cdtime_t spread, double per_second);

/* The summary a plugin's keys ask for (NULL without Summaries, or out of
 * memory): windows of SummaryInterval, or of interval when it is 0; each
 * closed window spread over the first half of the next, 10,000 series
 * (30,000 value lists) a second at most: 5,000 queues' 150,000 over 15 s,
 * a small org's at once. */
gen_summary_t *gen_summary_from_config(const gen_summary_config_t *c,
                                       cdtime_t interval,
                                       const gen_summary_type_t *types,
                                       size_t n);

/* gen_summary_close() that dispatches each summary as a gauge of host and
 * plugin, with the window as its interval. */
size_t gen_summary_close_dispatch(gen_summary_t *s, cdtime_t now,
                                  const char *host, const char *plugin);

/* The series' value from t on (a change, or the same value again). A time
 * before the series' last change counts as that change's time; one after
 * the open window (gen_summary_close() was not called) as its last
 * instant. 0 (also for a type not summarised), -ENAMETOOLONG (a name of
 * DATA_MAX_NAME_LEN bytes or more), -E2BIG (a type instance past 65,536
 * distinct ones) or -ENOMEM: the series is not tracked (an existing one no
 * longer), no summary of it. */
int gen_summary_observe(gen_summary_t *s, const char *plugin_instance,
                        const char *type, const char *type_instance,
                        double value, cdtime_t t);

/* The source of the series of plugin_instance (NULL: all) is lost: the
 * open window and every window until gen_summary_resumed() are withheld.
 * gen_summary_resumed() after the values were read again: the window it
 * falls in is still withheld, the next carries the re-read values. */
void gen_summary_lost(gen_summary_t *s, const char *plugin_instance);
void gen_summary_resumed(gen_summary_t *s, const char *plugin_instance);

/* Stops tracking the series of plugin_instance (no longer selected). */
void gen_summary_forget(gen_summary_t *s, const char *plugin_instance);

void gen_summary_stats(const gen_summary_t *s, gen_summary_stats_t *out);

/* Whose lines the summary writes (strings borrowed); none set: lines
 * without the prefix (tests). */
void gen_summary_log_as(gen_summary_t *s, gen_log_org_t who);

/* Self-metrics (plugin_instance "self"): summary_windows complete|gap|
 * partial|skipped (series-windows) and summary_series. */
void gen_summary_dispatch_stats(const gen_summary_t *s, const char *host,
                                const char *plugin);

#endif /* GEN_SUMMARY_H */
