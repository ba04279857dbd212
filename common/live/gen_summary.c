/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: live gauges summarised per window (see gen_summary.h).
 */
#include "gen_summary.h"

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
  double value;      /* at `at` (an age grows from it) */
  double min, max;   /* over the stretches done in the open window */
  double integral;   /* value × seconds over the open window */
  cdtime_t at;       /* of the last change, or the window's start */
  uint8_t kind;      /* gen_summary_kind_t */
  bool partial;      /* began inside the open window */
  bool down, gapped; /* source lost now; lost at some point in the window */
  /* The identity, the index's key: plugin_instance (str[0]) and
   * type_instance (str[1]) in text, the type's index in types (num). */
  gen_key_t key;
  char text[];
} series_t;

struct gen_summary_s {
  cdtime_t window;
  const gen_summary_type_t *types;
  size_t n_types;
  cdtime_t end; /* of the open window; 0 before the first call */
  gen_map_t index;
  series_t **series;
  size_t n, cap;
  gen_summary_stats_t stats;
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
  if (window == 0)
    return NULL;
  gen_summary_t *s = calloc(1, sizeof(*s));
  if (s != NULL) {
    s->window = window;
    s->index.kind = GEN_MAP_KEY;
    s->types = types;
    s->n_types = n;
  }
  return s;
}

void gen_summary_free(gen_summary_t *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n; i++)
    free(s->series[i]);
  free(s->series);
  gen_map_free(&s->index);
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
static void put_window(const gen_summary_t *s, const series_t *r,
                       double seconds, cdtime_t end, gen_summary_put_t put,
                       void *ud) {
  char type[DATA_MAX_NAME_LEN + 8];
  static const char *const stat[3] = {"min", "max", "mean"};
  double v[3] = {r->min, r->max, r->integral / seconds};
  for (int k = 0; k < 3; k++) {
    snprintf(type, sizeof(type), "%s_%s", s->types[r->key.num].type, stat[k]);
    put(ud, r->key.str[0], type, r->key.str[1], v[k], end);
  }
}

size_t gen_summary_close(gen_summary_t *s, cdtime_t now, gen_summary_put_t put,
                         void *ud) {
  if (s->end == 0)
    s->end = (now / s->window + 1) * s->window;
  size_t closed = 0;
  while (now >= s->end && closed < SUMMARY_CLOSE_MAX) {
    double seconds = CDTIME_T_TO_DOUBLE(s->window);
    for (size_t i = 0; i < s->n; i++) {
      series_t *r = s->series[i];
      advance(r, s->end);
      if (r->gapped)
        s->stats.gap++;
      else if (r->partial)
        s->stats.partial++;
      else {
        s->stats.complete++;
        put_window(s, r, seconds, s->end, put, ud);
      }
      start_window(r, s->end);
    }
    s->end += s->window;
    closed++;
  }
  return closed;
}

typedef struct {
  const char *host, *plugin;
  cdtime_t window;
} target_t;

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
  target_t t = {host, plugin, s->window};
  return gen_summary_close(s, now, dispatch_summary, &t);
}

static series_t *series_new(gen_summary_t *s, const gen_key_t *key) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    series_t **grown = realloc(s->series, cap * sizeof(*grown));
    if (grown == NULL)
      return NULL;
    s->series = grown;
    s->cap = cap;
  }
  size_t lp = strlen(key->str[0]) + 1, lt = strlen(key->str[1]) + 1;
  series_t *r = calloc(1, sizeof(*r) + lp + lt);
  if (r == NULL)
    return NULL;
  memcpy(r->text, key->str[0], lp);
  memcpy(r->text + lp, key->str[1], lt);
  r->key = (gen_key_t){{r->text, r->text + lp}, key->num};
  if (gen_map_put(&s->index, &r->key, r) != 0) {
    free(r);
    return NULL;
  }
  s->series[s->n++] = r;
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
  gen_key_t key = {{plugin_instance ? plugin_instance : "",
                    type_instance ? type_instance : ""},
                   (int64_t)k};
  /* collectd's names are each under DATA_MAX_NAME_LEN bytes. */
  if (strlen(key.str[0]) >= DATA_MAX_NAME_LEN ||
      strlen(key.str[1]) >= DATA_MAX_NAME_LEN)
    return -ENAMETOOLONG;
  if (s->end == 0)
    s->end = (t / s->window + 1) * s->window;
  if (t < s->end - s->window)
    t = s->end - s->window; /* a window already closed is not reopened */
  else if (t >= s->end)
    t = s->end - 1; /* not closed first: the open window's last instant */
  series_t *r = gen_map_get(&s->index, &key);
  if (r == NULL) {
    if ((r = series_new(s, &key)) == NULL)
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

/* True when the series' plugin_instance is pi. */
static bool of_instance(const series_t *r, const char *pi) {
  return strcmp(r->key.str[0], pi) == 0;
}

static void set_down(gen_summary_t *s, const char *plugin_instance, bool down) {
  for (size_t i = 0; i < s->n; i++) {
    series_t *r = s->series[i];
    if (plugin_instance != NULL && !of_instance(r, plugin_instance))
      continue;
    r->down = down;
    if (down)
      r->gapped = true;
  }
}

void gen_summary_lost(gen_summary_t *s, const char *plugin_instance) {
  set_down(s, plugin_instance, true);
}

void gen_summary_resumed(gen_summary_t *s, const char *plugin_instance) {
  set_down(s, plugin_instance, false);
}

void gen_summary_forget(gen_summary_t *s, const char *plugin_instance) {
  size_t kept = 0;
  for (size_t i = 0; i < s->n; i++) {
    series_t *r = s->series[i];
    if (of_instance(r, plugin_instance)) {
      gen_map_del(&s->index, &r->key, NULL);
      free(r);
    } else
      s->series[kept++] = r;
  }
  s->n = kept;
}

void gen_summary_stats(const gen_summary_t *s, gen_summary_stats_t *out) {
  *out = s->stats;
  out->series = s->n;
}

void gen_summary_dispatch_stats(const gen_summary_t *s, const char *host,
                                const char *plugin) {
  gen_dispatch_self(host, plugin, "summary_windows", "complete", true,
                    (double)s->stats.complete);
  gen_dispatch_self(host, plugin, "summary_windows", "gap", true,
                    (double)s->stats.gap);
  gen_dispatch_self(host, plugin, "summary_windows", "partial", true,
                    (double)s->stats.partial);
  gen_dispatch_self(host, plugin, "summary_series", NULL, false, (double)s->n);
}
