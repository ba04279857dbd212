/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: live gauges summarised per window (see gen_summary.h).
 */
#include "gen_summary.h"
#include "gen_feature.h"
#include "gen_queue_state.h"

#include "gen_buf.h"
#include "gen_dispatch.h"
#include "gen_log.h"
#include "gen_map.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Windows closed per call: a stalled owner catches up over a few calls
 * rather than in one long one. */
#define SUMMARY_CLOSE_MAX 64
/* More windows due at one call than this: the clock stepped forward (or
 * the owner stalled as long; nothing was observed in them either way). */
#define SUMMARY_STEP_WINDOWS SUMMARY_CLOSE_MAX

/* A series. Most series do not change in a given window: their min, max
 * and integral follow from the value at the window's start alone, so only
 * those that changed since hold a record of them (16 bytes a series, not
 * 56: at 5,000 queues Summaries track 190,000 series, issue 36). Without
 * a record the series is as start_window() left it at the start of its
 * window (the closed window when it is due, else the open one): its value
 * is the value at that start, or the window is not summarised (partial or
 * gapped) and its value does not grow with time (a level, or an age of 0):
 * then neither the stretches nor the time of the change count. */
typedef struct {
  double value;  /* at its record's `at`, or at its window's start */
  uint32_t rec;  /* index in recs, NO_REC: none */
  uint16_t name; /* type instance: index in names */
  uint8_t type;  /* index in types */
  uint8_t flags; /* F_* */
} series_t;

#define NO_REC UINT32_MAX
#define F_PARTIAL 1u /* began inside the open window */
#define F_DOWN 2u    /* source lost now */
#define F_GAPPED 4u  /* source lost at some point in the window */
#define F_DUE 8u     /* the closed window's summaries are not out yet */

/* The window of a series that changed in it. */
typedef struct {
  double min, max; /* over the stretches done in the window */
  double integral; /* value × seconds over the window */
  cdtime_t at;     /* of the last change, or the window's start; the next
                      free record's index while free */
} rec_t;

/* The series of one plugin_instance (a queue), found by a short scan of
 * its few dozen: one allocation and one hash slot each made them a third
 * of the plugin's heap (issue 36). */
typedef struct {
  char *instance; /* the index's key */
  series_t *series;
  uint32_t n, cap;
} group_t;

/* Series a group's array grows by: a queue's few dozen series with little
 * slack, in a few reallocs. */
#define GROUP_STEP 8

typedef struct {
  const char *host, *plugin;
  cdtime_t window;
} target_t;

struct gen_summary_s {
  cdtime_t window;
  const gen_summary_type_t *types;
  size_t n_types;
  cdtime_t end;    /* of the open window; 0 before the first call */
  gen_map_t index; /* plugin_instance -> index in groups */
  group_t *groups;
  size_t n_groups, cap_groups;
  /* Type instances, each kept once (text -> index in names): a small set
   * (media types, statuses, presences) that every queue repeats. */
  gen_map_t name_index;
  char **names;
  size_t n_names, cap_names;
  rec_t *recs; /* the records, free ones chained from free_rec */
  size_t n_recs, cap_recs;
  uint32_t free_rec;
  size_t n_series;
  gen_summary_stats_t stats;
  /* The closed window whose summaries are due (they leave over `spread`
   * after its end), groups [0, cursor) of it out, n_due series left, all
   * through the sink of the last gen_summary_close(). */
  cdtime_t spread, due_end;
  cdtime_t due_spread; /* this window's: spread, or less for few series */
  double per_second;   /* series a second the spread need not be below */
  size_t cursor, n_due;
  gen_summary_put_t put;
  void *ud;
  target_t target;      /* gen_summary_close_dispatch()'s sink */
  gen_log_org_t who;    /* whose lines (gen_summary_log_as) */
  gen_ratelimit_t said; /* the line about a step */
};

static const gen_config_def_t summary_defs[] = {
    GEN_KEY_BOOL("Summaries", gen_summary_config_t, on, false,
                 "minimum, maximum and mean of every live gauge per window"),
    {"SummaryInterval", GEN_CFG_SECONDS, offsetof(gen_summary_config_t, window),
     .min = 1, .max = 86400, .shown = "the plugin's interval",
     .doc = "the length of the windows"},
};

const gen_config_table_t gen_summary_keys = GEN_CONFIG_TABLE(summary_defs);

gen_summary_t *gen_summary_new(cdtime_t window, const gen_summary_type_t *types,
                               size_t n) {
  if (window == 0 || n > UINT8_MAX)
    return NULL;
  gen_summary_t *s = calloc(1, sizeof(*s));
  if (s != NULL) {
    s->window = window;
    s->index.kind = GEN_MAP_STR;
    s->name_index.kind = GEN_MAP_STR;
    s->types = types;
    s->n_types = n;
    s->free_rec = NO_REC;
    s->said = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  }
  return s;
}

void gen_summary_free(gen_summary_t *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n_groups; i++) {
    free(s->groups[i].instance);
    free(s->groups[i].series);
  }
  free(s->groups);
  gen_map_free(&s->index);
  for (size_t i = 0; i < s->n_names; i++)
    free(s->names[i]);
  free(s->names);
  gen_map_free(&s->name_index);
  free(s->recs);
  free(s);
}

cdtime_t gen_summary_window(const gen_summary_t *s) { return s->window; }

static void series_drop(gen_summary_t *s, group_t *g, series_t *r);

static gen_summary_kind_t kind_of(const gen_summary_t *s, const series_t *r) {
  return s->types[r->type].kind;
}

/* The start of the series' window: the closed one while it is due. */
static cdtime_t window_start(const gen_summary_t *s, const series_t *r) {
  return (r->flags & F_DUE) ? s->due_end - s->window : s->end - s->window;
}

/* A record as start_window() leaves it, from start. */
static rec_t fresh_rec(cdtime_t start) {
  return (rec_t){.min = INFINITY, .max = -INFINITY, .integral = 0, .at = start};
}

static uint32_t rec_new(gen_summary_t *s, cdtime_t start) {
  uint32_t i = s->free_rec;
  if (i != NO_REC) {
    s->free_rec = (uint32_t)s->recs[i].at;
  } else {
    if (s->n_recs >= NO_REC ||
        gen_grow((void **)&s->recs, &s->cap_recs, s->n_recs + 1,
                 sizeof(*s->recs), 256) != 0)
      return NO_REC;
    i = (uint32_t)s->n_recs++;
  }
  s->recs[i] = fresh_rec(start);
  return i;
}

static void rec_free(gen_summary_t *s, series_t *r) {
  if (r->rec == NO_REC)
    return;
  s->recs[r->rec].at = s->free_rec;
  s->free_rec = r->rec;
  r->rec = NO_REC;
}

/* Whether a value grows with time. */
static bool grows(gen_summary_kind_t kind, double value) {
  return kind == GEN_SUMMARY_AGE && value > 0;
}

/* The series' value at x (x ≥ its last change, at). */
static double value_at(gen_summary_kind_t kind, double value, cdtime_t at,
                       cdtime_t x) {
  return grows(kind, value) ? value + CDTIME_T_TO_DOUBLE(x - at) : value;
}

/* Carries the series from its last change to x: the stretch [at, x) is
 * done, so its lowest and highest values count (an age only grows within
 * one), and so does its integral. A value held for no time counts for
 * nothing: a change at the instant a window starts replaces the carried
 * value. */
static void advance(const gen_summary_t *s, series_t *r, rec_t *c, cdtime_t x) {
  if (x <= c->at)
    return;
  double a = r->value, b = value_at(kind_of(s, r), r->value, c->at, x);
  c->integral += (a + b) / 2 * CDTIME_T_TO_DOUBLE(x - c->at);
  if (a < c->min)
    c->min = a;
  if (b > c->max)
    c->max = b;
  r->value = b;
  c->at = x;
}

/* A new window from the end of the last one: the series needs no record
 * until it changes. */
static void start_window(gen_summary_t *s, series_t *r) {
  rec_free(s, r);
  r->flags &= (uint8_t) ~(F_PARTIAL | F_GAPPED);
  if (r->flags & F_DOWN)
    r->flags |= F_GAPPED;
}

/* Hands out the window's min, max and mean under the series' names. */
static void put_window(const gen_summary_t *s, const group_t *g,
                       const series_t *r, const rec_t *c, double seconds,
                       cdtime_t end, gen_summary_put_t put, void *ud) {
  char type[DATA_MAX_NAME_LEN + 8];
  static const char *const stat[3] = {"min", "max", "mean"};
  double v[3] = {c->min, c->max, c->integral / seconds};
  for (int k = 0; k < 3; k++) {
    snprintf(type, sizeof(type), "%s_%s", s->types[r->type].type, stat[k]);
    put(ud, g->instance, type, s->names[r->name], v[k], end);
  }
}

/* Hands out the series' closed window, if not out yet, and starts the
 * next at its end. Anything that would change the series calls it first.
 * A series without a record did not change in that window: it is carried
 * over the whole window now. */
static void put_due(gen_summary_t *s, const group_t *g, series_t *r) {
  if (!(r->flags & F_DUE))
    return;
  rec_t quiet, *c = &quiet;
  if (r->rec != NO_REC)
    c = &s->recs[r->rec];
  else {
    quiet = fresh_rec(s->due_end - s->window);
    advance(s, r, &quiet, s->due_end);
  }
  r->flags &= (uint8_t)~F_DUE;
  s->n_due--;
  if (r->flags & F_GAPPED)
    s->stats.gap++;
  else if (r->flags & F_PARTIAL)
    s->stats.partial++;
  else {
    s->stats.complete++;
    put_window(s, g, r, c, CDTIME_T_TO_DOUBLE(s->window), s->due_end, s->put,
               s->ud);
  }
  start_window(s, r);
}

static void put_due_group(gen_summary_t *s, const group_t *g) {
  for (size_t j = 0; j < g->n && s->n_due > 0; j++)
    put_due(s, g, &g->series[j]);
}

/* The share of the due groups that the time since the window's end has
 * run (all of them without a spread, or once it has run). */
static void put_share(gen_summary_t *s, cdtime_t now, bool all) {
  if (s->n_due == 0)
    return;
  size_t target = s->n_groups;
  cdtime_t ran = now > s->due_end ? now - s->due_end : 0;
  if (!all && ran < s->due_spread)
    target =
        (size_t)((double)s->n_groups * (double)ran / (double)s->due_spread);
  for (; s->cursor < target; s->cursor++)
    put_due_group(s, &s->groups[s->cursor]);
}

void gen_summary_spread(gen_summary_t *s, cdtime_t spread, double per_second) {
  s->spread = spread;
  s->per_second = per_second;
}

gen_summary_t *gen_summary_from_config(const gen_summary_config_t *c,
                                       cdtime_t interval,
                                       const gen_summary_type_t *types,
                                       size_t n) {
  if (!c->on)
    return NULL;
  gen_summary_t *s =
      gen_summary_new(c->window ? c->window : interval, types, n);
  if (s != NULL)
    gen_summary_spread(s, s->window / 2, 10000);
  return s;
}

void gen_summary_log_as(gen_summary_t *s, gen_log_org_t who) { s->who = who; }

/* After a step: the windows from the open one to the one now falls in were
 * not observed. Closing each, every series carried over it, was 86,400
 * windows for a day's step of 1 s windows (304,889 values in 20 s, the
 * live values starved): they are skipped and counted; the window now falls
 * in is withheld (partial: its start was not seen), an age carried over the
 * step. The window closed before leaves first. */
static void skip_windows(gen_summary_t *s, cdtime_t now) {
  cdtime_t from = s->end - s->window, to = now / s->window * s->window;
  if (to <= from)
    return;
  put_share(s, now, true);
  uint64_t windows = (to - from) / s->window;
  for (size_t i = 0; i < s->n_groups; i++) {
    group_t *g = &s->groups[i];
    for (size_t j = 0; j < g->n; j++) {
      series_t *r = &g->series[j];
      rec_free(s, r);
      r->value = value_at(kind_of(s, r), r->value, from, to);
      r->flags |= F_PARTIAL;
      /* an age carries on from the window's start: its record says so */
      if (grows(kind_of(s, r), r->value) &&
          (r->rec = rec_new(s, to)) == NO_REC) {
        series_drop(s, g, r); /* the last series took its place */
        j--;                  /* wraps at 0: the loop's j++ undoes it */
      }
    }
  }
  s->end = to + s->window;
  s->stats.skipped += windows * s->n_series;
  gen_log_org(s->who.plugin ? &s->who : NULL, &s->said, LOG_WARNING,
              "Summaries: the clock jumped %.0f s past the window closed (a "
              "forward step, or the plugin stalled): that window closed "
              "once, %" PRIu64 " windows skipped (summary_windows-skipped)",
              CDTIME_T_TO_DOUBLE(now - from), windows);
}

size_t gen_summary_close(gen_summary_t *s, cdtime_t now, gen_summary_put_t put,
                         void *ud) {
  s->put = put;
  s->ud = ud;
  if (s->end == 0)
    s->end = (now / s->window + 1) * s->window;
  size_t closed = 0;
  bool step = now >= s->end + SUMMARY_STEP_WINDOWS * s->window;
  while (now >= s->end && closed < (step ? 1 : SUMMARY_CLOSE_MAX)) {
    put_share(s, now, true); /* the window before leaves first */
    for (size_t i = 0; i < s->n_groups; i++) {
      const group_t *g = &s->groups[i];
      for (size_t j = 0; j < g->n; j++) {
        series_t *r = &g->series[j];
        if (r->rec != NO_REC)
          advance(s, r, &s->recs[r->rec], s->end);
        r->flags |= F_DUE;
      }
    }
    s->n_due = s->n_series;
    s->cursor = 0;
    s->due_end = s->end;
    cdtime_t need =
        s->per_second > 0
            ? DOUBLE_TO_CDTIME_T((double)s->n_series / s->per_second)
            : s->spread;
    s->due_spread = need < s->spread ? need : s->spread;
    s->end += s->window;
    closed++;
  }
  if (step)
    skip_windows(s, now);
  put_share(s, now, false);
  return closed;
}

static void dispatch_summary(void *ud, const char *plugin_instance,
                             const char *type, const char *type_instance,
                             double value, cdtime_t end) {
  const target_t *t = ud;
  gen_ident_t id = {.host = t->host,
                    .plugin = t->plugin,
                    .plugin_instance = plugin_instance,
                    .type = type,
                    .type_instance = type_instance};
  gen_dispatch_gauge(&id, value, end, t->window);
}

size_t gen_summary_close_dispatch(gen_summary_t *s, cdtime_t now,
                                  const char *host, const char *plugin) {
  /* Kept: the due summaries leave through it later. */
  s->target = (target_t){host, plugin, s->window};
  return gen_summary_close(s, now, dispatch_summary, &s->target);
}

static group_t *group_of(const gen_summary_t *s, const char *instance) {
  void *index;
  if (!gen_map_find(&s->index, instance, &index))
    return NULL;
  return &s->groups[gen_map_to_index(index)];
}

static group_t *group_new(gen_summary_t *s, const char *instance) {
  if (gen_grow((void **)&s->groups, &s->cap_groups, s->n_groups + 1,
               sizeof(*s->groups), 64) != 0)
    return NULL;
  group_t *g = &s->groups[s->n_groups];
  *g = (group_t){.instance = strdup(instance)};
  if (g->instance == NULL ||
      gen_map_put(&s->index, g->instance, gen_map_index(s->n_groups)) != 0) {
    free(g->instance);
    return NULL;
  }
  s->n_groups++;
  return g;
}

/* The index of a type instance in names, -1 when it is not there. */
static long name_find(const gen_summary_t *s, const char *text) {
  void *index;
  if (!gen_map_find(&s->name_index, text, &index))
    return -1;
  return (long)gen_map_to_index(index);
}

/* The same, kept when new; -ENOMEM, or -E2BIG past UINT16_MAX + 1. */
static long name_add(gen_summary_t *s, const char *text) {
  long i = name_find(s, text);
  if (i >= 0)
    return i;
  if (s->n_names > UINT16_MAX)
    return -E2BIG;
  if (gen_grow((void **)&s->names, &s->cap_names, s->n_names + 1,
               sizeof(*s->names), 16) != 0)
    return -ENOMEM;
  char *copy = strdup(text);
  if (copy == NULL ||
      gen_map_put(&s->name_index, copy, gen_map_index(s->n_names)) != 0) {
    free(copy);
    return -ENOMEM;
  }
  s->names[s->n_names] = copy;
  return (long)s->n_names++;
}

static series_t *series_find(const group_t *g, size_t type, long name) {
  for (size_t i = 0; i < g->n; i++)
    if (g->series[i].type == type && g->series[i].name == name)
      return &g->series[i];
  return NULL;
}

/* Whether the same value again at some t leaves a series without a
 * record as it is: a value that does not grow is carried either way, and
 * the integral of a whole number v over the stretches before and after t
 * adds up to the one over both, exactly, while v × window (in cdtime
 * units) is below 2^53. genesys_realtime observes every value it puts
 * again: records only for the changes. */
static bool same_again(const gen_summary_t *s, const series_t *r,
                       double value) {
  return value == r->value && !grows(kind_of(s, r), value) &&
         value == floor(value) &&
         fabs(value) * (double)s->window < 9007199254740992.0;
}

/* A new series, begun at t inside the open window, of value: it needs a
 * record only when its window is partial and the value grows from t.
 * NULL with *err set. */
static series_t *series_new(gen_summary_t *s, const char *instance, size_t type,
                            const char *type_instance, double value, cdtime_t t,
                            int *err) {
  *err = -ENOMEM;
  group_t *g = group_of(s, instance);
  if (g == NULL && (g = group_new(s, instance)) == NULL)
    return NULL;
  /* An empty group stays on failure: it is the queue's. */
  long name = name_add(s, type_instance);
  if (name < 0) {
    *err = (int)name;
    return NULL;
  }
  if (g->n == g->cap) {
    series_t *grown =
        realloc(g->series, (g->cap + GROUP_STEP) * sizeof(*g->series));
    if (grown == NULL)
      return NULL;
    g->series = grown;
    g->cap += GROUP_STEP;
  }
  bool partial = t > s->end - s->window;
  uint32_t rec = NO_REC;
  if (partial && grows(s->types[type].kind, value) &&
      (rec = rec_new(s, t)) == NO_REC)
    return NULL;
  series_t *r = &g->series[g->n++];
  *r = (series_t){.value = value,
                  .rec = rec,
                  .name = (uint16_t)name,
                  .type = (uint8_t)type,
                  .flags = partial ? F_PARTIAL : 0};
  s->n_series++;
  return r;
}

/* Stops tracking a series that could not keep its change: with no record
 * to hold it, its windows would be wrong. */
static void series_drop(gen_summary_t *s, group_t *g, series_t *r) {
  rec_free(s, r);
  *r = g->series[--g->n];
  s->n_series--;
}

int gen_summary_observe(gen_summary_t *s, const char *plugin_instance,
                        const char *type, const char *type_instance,
                        double value, cdtime_t t) {
  size_t k = 0;
  while (k < s->n_types && strcmp(s->types[k].type, type) != 0)
    k++;
  if (k == s->n_types)
    return 0; /* not a gauge summarised */
  const char *pi = plugin_instance ? plugin_instance : "";
  const char *ti = type_instance ? type_instance : "";
  /* collectd's names are each under DATA_MAX_NAME_LEN bytes. */
  if (strlen(pi) >= DATA_MAX_NAME_LEN || strlen(ti) >= DATA_MAX_NAME_LEN)
    return -ENAMETOOLONG;
  if (s->end == 0)
    s->end = (t / s->window + 1) * s->window;
  if (t < s->end - s->window)
    t = s->end - s->window; /* a window already closed is not reopened */
  else if (t >= s->end)
    t = s->end - 1; /* not closed first: the open window's last instant */
  group_t *g = group_of(s, pi);
  long name = g != NULL ? name_find(s, ti) : -1;
  series_t *r = name >= 0 ? series_find(g, k, name) : NULL;
  if (r == NULL) {
    int err;
    return series_new(s, pi, k, ti, value, t, &err) != NULL ? 0 : err;
  }
  put_due(s, g, r); /* the change falls in the open window */
  if (r->rec == NO_REC && same_again(s, r, value))
    return 0;
  if ((r->flags & (F_PARTIAL | F_GAPPED)) && !grows(s->types[k].kind, value)) {
    rec_free(s, r); /* nothing of this window counts, nor when it changed */
    r->value = value;
    return 0;
  }
  if (r->rec == NO_REC && (r->rec = rec_new(s, window_start(s, r))) == NO_REC) {
    series_drop(s, g, r);
    return -ENOMEM;
  }
  advance(s, r, &s->recs[r->rec], t);
  r->value = value;
  return 0;
}

static void set_down_group(gen_summary_t *s, group_t *g, bool down) {
  put_due_group(s, g); /* the closed window was whole or not already */
  for (size_t i = 0; i < g->n; i++) {
    if (down)
      g->series[i].flags |= F_DOWN | F_GAPPED;
    else
      g->series[i].flags &= (uint8_t)~F_DOWN;
  }
}

static void set_down(gen_summary_t *s, const char *plugin_instance, bool down) {
  if (plugin_instance == NULL) {
    for (size_t i = 0; i < s->n_groups; i++)
      set_down_group(s, &s->groups[i], down);
    return;
  }
  group_t *g = group_of(s, plugin_instance);
  if (g != NULL)
    set_down_group(s, g, down);
}

void gen_summary_lost(gen_summary_t *s, const char *plugin_instance) {
  set_down(s, plugin_instance, true);
}

void gen_summary_resumed(gen_summary_t *s, const char *plugin_instance) {
  set_down(s, plugin_instance, false);
}

void gen_summary_forget(gen_summary_t *s, const char *plugin_instance) {
  void *index;
  if (!gen_map_find(&s->index, plugin_instance, &index))
    return;
  size_t i = gen_map_to_index(index);
  group_t *g = &s->groups[i];
  /* Its closed window was whole: it leaves now, and so does the last
   * group's, which moves to where the cursor has passed. */
  put_due_group(s, g);
  if (i < s->cursor)
    put_due_group(s, &s->groups[s->n_groups - 1]);
  gen_map_del(&s->index, g->instance, NULL);
  s->n_series -= g->n;
  for (size_t j = 0; j < g->n; j++)
    rec_free(s, &g->series[j]);
  free(g->instance);
  free(g->series);
  /* The last group takes the hole; its index entry follows it. */
  if (i != --s->n_groups) {
    *g = s->groups[s->n_groups];
    gen_map_put(&s->index, g->instance, gen_map_index(i));
  }
}

void gen_summary_stats(const gen_summary_t *s, gen_summary_stats_t *out) {
  *out = s->stats;
  out->series = s->n_series;
}

void gen_summary_dispatch_stats(const gen_summary_t *s, const char *host,
                                const char *plugin) {
  gen_self_row_t self[] = {
      {"summary_windows", "complete", true, (double)s->stats.complete},
      {"summary_windows", "gap", true, (double)s->stats.gap},
      {"summary_windows", "partial", true, (double)s->stats.partial},
      {"summary_windows", "skipped", true, (double)s->stats.skipped},
      {"summary_series", NULL, false, (double)s->n_series},
  };
  gen_dispatch_self_rows(host, plugin, self, STATIC_ARRAY_SIZE(self));
}

/* ---- its row (gen_feature.h) ----------------------------------------------
 * The summary wants the read's interval: made at the first dispatch time
 * after the first read began (before any value is observed). */

static bool sum_on(const gen_feature_ctx_t *c) { return c->config->summary.on; }

static void *sum_new(const gen_feature_ctx_t *c) {
  (void)c;
  return calloc(1, sizeof(gen_summary_t *));
}

static void sum_free(void *f) {
  if (f != NULL)
    gen_summary_free(*(gen_summary_t **)f);
  free(f);
}

static bool sum_at(void *f, const gen_feature_ctx_t *c, cdtime_t now) {
  gen_summary_t **s = f;
  if (*s == NULL && c->interval > 0) {
    *s = gen_summary_from_config(&c->config->summary, c->interval,
                                 gen_qs_summary_types,
                                 gen_qs_summary_types_count);
    if (*s != NULL)
      gen_summary_log_as(*s, (gen_log_org_t){c->plugin, c->client->org->name});
  }
  return *s != NULL && gen_summary_close_dispatch(
                           *s, now, gen_client_host(c->client), c->plugin) > 0;
}

static void sum_observe(void *f, const char *instance, const char *type,
                        const char *type_instance, double value, cdtime_t t) {
  gen_summary_t *s = *(gen_summary_t **)f;
  if (s != NULL)
    gen_summary_observe(s, instance, type, type_instance, value, t);
}

static void sum_forget(void *f, const char *instance) {
  gen_summary_t *s = *(gen_summary_t **)f;
  if (s != NULL)
    gen_summary_forget(s, instance);
}

static int sum_mark(void *f, const gen_feature_ctx_t *c, char *const *topics,
                    size_t n, const uint8_t *failed, bool lost) {
  gen_summary_t *s = *(gen_summary_t **)f;
  return s == NULL ? 0
                   : gen_live_mark_summaries(s, c->queues, c->client->org,
                                             topics, n, failed, lost);
}

static void sum_stats(void *f, const char *host, const char *plugin) {
  gen_summary_t *s = *(gen_summary_t **)f;
  if (s != NULL)
    gen_summary_dispatch_stats(s, host, plugin);
}

const gen_feature_t gen_summary_feature = {.name = "summary",
                                           .on = sum_on,
                                           .create = sum_new,
                                           .free = sum_free,
                                           .at = sum_at,
                                           .observe = sum_observe,
                                           .forget = sum_forget,
                                           .mark = sum_mark,
                                           .locked_stats = sum_stats};
