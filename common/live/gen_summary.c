/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: live gauges summarised per window (see gen_summary.h).
 */
#include "gen_summary.h"

#include "gen_buf.h"
#include "gen_dispatch.h"
#include "gen_map.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Windows closed per call: a stalled owner catches up over a few calls
 * rather than in one long one. */
#define SUMMARY_CLOSE_MAX 64

typedef struct {
  double value;              /* at `at` (an age grows from it) */
  double min, max;           /* over the stretches done in the open window */
  double integral;           /* value × seconds over the open window */
  cdtime_t at;               /* of the last change, or the window's start */
  const char *type_instance; /* interned in the summary's names */
  uint16_t type;             /* index in types */
  uint8_t kind;              /* gen_summary_kind_t */
  bool partial;              /* began inside the open window */
  bool down, gapped; /* source lost now; lost at some point in the window */
  bool due;          /* the closed window's summaries are not out yet */
} series_t;

/* The series of one plugin_instance (a queue), found by a short scan of
 * its few dozen: at 5,000 queues Summaries track 150,000 series, and one
 * allocation and one hash slot each made them a third of the plugin's
 * heap (issue 36). */
typedef struct {
  char *instance; /* the index's key */
  series_t *series;
  size_t n, cap;
} group_t;

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
  /* Type instances, each kept once: a small set (media types, statuses,
   * presences) that every queue repeats. */
  gen_map_t names;
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
  target_t target; /* gen_summary_close_dispatch()'s sink */
};

int gen_summary_config_key(const gen_org_t *org, const oconfig_item_t *ci,
                           gen_summary_config_t *c) {
  if (strcasecmp(ci->key, "Summaries") == 0)
    return gen_config_bool(org, ci, &c->on);
  if (strcasecmp(ci->key, "SummaryInterval") == 0)
    return gen_config_seconds(org, ci, 1, 86400, &c->window);
  return GEN_CONFIG_NOT_MINE;
}

gen_summary_t *gen_summary_new(cdtime_t window, const gen_summary_type_t *types,
                               size_t n) {
  if (window == 0 || n > UINT16_MAX)
    return NULL;
  gen_summary_t *s = calloc(1, sizeof(*s));
  if (s != NULL) {
    s->window = window;
    s->index.kind = GEN_MAP_STR;
    s->names.kind = GEN_MAP_STR;
    s->types = types;
    s->n_types = n;
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
  size_t pos = 0;
  void *name;
  while (gen_map_next(&s->names, &pos, NULL, &name))
    free(name);
  gen_map_free(&s->names);
  free(s);
}

cdtime_t gen_summary_window(const gen_summary_t *s) { return s->window; }

/* The series' value at x (x ≥ its last change). */
static double value_at(const series_t *r, cdtime_t x) {
  if (r->kind == GEN_SUMMARY_AGE && r->value > 0)
    return r->value + CDTIME_T_TO_DOUBLE(x - r->at);
  return r->value;
}

/* Carries the series from its last change to x: the stretch [at, x) is
 * done, so its lowest and highest values count (an age only grows within
 * one), and so does its integral. A value held for no time counts for
 * nothing: a change at the instant a window starts replaces the carried
 * value. */
static void advance(series_t *r, cdtime_t x) {
  if (x <= r->at)
    return;
  double a = r->value, b = value_at(r, x);
  r->integral += (a + b) / 2 * CDTIME_T_TO_DOUBLE(x - r->at);
  if (a < r->min)
    r->min = a;
  if (b > r->max)
    r->max = b;
  r->value = b;
  r->at = x;
}

static void start_window(series_t *r, cdtime_t start) {
  r->min = INFINITY;
  r->max = -INFINITY;
  r->integral = 0;
  r->at = start;
  r->partial = false;
  r->gapped = r->down;
}

/* Hands out the window's min, max and mean under the series' names. */
static void put_window(const gen_summary_t *s, const group_t *g,
                       const series_t *r, double seconds, cdtime_t end,
                       gen_summary_put_t put, void *ud) {
  char type[DATA_MAX_NAME_LEN + 8];
  static const char *const stat[3] = {"min", "max", "mean"};
  double v[3] = {r->min, r->max, r->integral / seconds};
  for (int k = 0; k < 3; k++) {
    snprintf(type, sizeof(type), "%s_%s", s->types[r->type].type, stat[k]);
    put(ud, g->instance, type, r->type_instance, v[k], end);
  }
}

/* Hands out the series' closed window, if not out yet, and starts the
 * next at its end. Anything that would change the series calls it first. */
static void put_due(gen_summary_t *s, const group_t *g, series_t *r) {
  if (!r->due)
    return;
  r->due = false;
  s->n_due--;
  if (r->gapped)
    s->stats.gap++;
  else if (r->partial)
    s->stats.partial++;
  else {
    s->stats.complete++;
    put_window(s, g, r, CDTIME_T_TO_DOUBLE(s->window), s->due_end, s->put,
               s->ud);
  }
  start_window(r, s->due_end);
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

size_t gen_summary_close(gen_summary_t *s, cdtime_t now, gen_summary_put_t put,
                         void *ud) {
  s->put = put;
  s->ud = ud;
  if (s->end == 0)
    s->end = (now / s->window + 1) * s->window;
  size_t closed = 0;
  while (now >= s->end && closed < SUMMARY_CLOSE_MAX) {
    put_share(s, now, true); /* the window before leaves first */
    for (size_t i = 0; i < s->n_groups; i++) {
      const group_t *g = &s->groups[i];
      for (size_t j = 0; j < g->n; j++) {
        advance(&g->series[j], s->end);
        g->series[j].due = true;
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

static const char *name_of(gen_summary_t *s, const char *text) {
  const char *name = gen_map_get(&s->names, text);
  if (name != NULL)
    return name;
  char *copy = strdup(text);
  if (copy == NULL || gen_map_put(&s->names, copy, copy) != 0) {
    free(copy);
    return NULL;
  }
  return copy;
}

static series_t *series_find(const group_t *g, size_t type,
                             const char *type_instance) {
  for (size_t i = 0; i < g->n; i++)
    if (g->series[i].type == type &&
        strcmp(g->series[i].type_instance, type_instance) == 0)
      return &g->series[i];
  return NULL;
}

static series_t *series_new(gen_summary_t *s, const char *instance, size_t type,
                            const char *type_instance) {
  group_t *g = group_of(s, instance);
  if (g == NULL && (g = group_new(s, instance)) == NULL)
    return NULL;
  const char *name = name_of(s, type_instance);
  if (name == NULL || gen_grow((void **)&g->series, &g->cap, g->n + 1,
                               sizeof(*g->series), 8) != 0)
    return NULL; /* an empty group stays: it is the queue's */
  series_t *r = &g->series[g->n++];
  *r = (series_t){.type_instance = name, .type = (uint16_t)type};
  s->n_series++;
  return r;
}

int gen_summary_observe(gen_summary_t *s, const char *plugin_instance,
                        const char *type, const char *type_instance,
                        double value, cdtime_t t) {
  size_t k = 0;
  while (k < s->n_types && strcmp(s->types[k].type, type) != 0)
    k++;
  if (k == s->n_types)
    return 0; /* not a gauge summarised */
  gen_summary_kind_t kind = s->types[k].kind;
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
  const group_t *g = group_of(s, pi);
  series_t *r = g != NULL ? series_find(g, k, ti) : NULL;
  if (r != NULL)
    put_due(s, g, r); /* the change falls in the open window */
  if (r == NULL) {
    if ((r = series_new(s, pi, k, ti)) == NULL)
      return -ENOMEM;
    start_window(r, t);
    r->kind = kind;
    r->value = value;
    r->partial = t > s->end - s->window;
    return 0;
  }
  advance(r, t);
  r->kind = kind;
  r->value = value;
  return 0;
}

static void set_down_group(gen_summary_t *s, group_t *g, bool down) {
  put_due_group(s, g); /* the closed window was whole or not already */
  for (size_t i = 0; i < g->n; i++) {
    g->series[i].down = down;
    if (down)
      g->series[i].gapped = true;
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
  gen_dispatch_self(host, plugin, "summary_windows", "complete", true,
                    (double)s->stats.complete);
  gen_dispatch_self(host, plugin, "summary_windows", "gap", true,
                    (double)s->stats.gap);
  gen_dispatch_self(host, plugin, "summary_windows", "partial", true,
                    (double)s->stats.partial);
  gen_dispatch_self(host, plugin, "summary_series", NULL, false,
                    (double)s->n_series);
}
