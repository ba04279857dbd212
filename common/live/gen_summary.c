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
/* A series' three names joined: collectd's are each under 128 bytes. */
#define SUMMARY_KEY_MAX (3 * DATA_MAX_NAME_LEN)

/* The identity is kept once, as the key (the three names joined by a unit
 * separator, which collectd's names do not hold), and split only when a
 * window is dispatched: 150,000 series is a realistic org. */
#define SEP '\x1f'

typedef struct {
  double value;      /* at `at` (an age grows from it) */
  double min, max;   /* over the stretches done in the open window */
  double integral;   /* value × seconds over the open window */
  cdtime_t at;       /* of the last change, or the window's start */
  uint8_t kind;      /* gen_summary_kind_t */
  bool partial;      /* began inside the open window */
  bool down, gapped; /* source lost now; lost at some point in the window */
  char key[];        /* "<pi>\x1f<type>\x1f<ti>" */
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
static void put_window(const series_t *r, double seconds, cdtime_t end,
                       gen_summary_put_t put, void *ud) {
  char names[SUMMARY_KEY_MAX], type[SUMMARY_KEY_MAX + 8];
  memcpy(names, r->key, strlen(r->key) + 1);
  char *type_name = strchr(names, SEP);
  *type_name++ = '\0';
  char *type_instance = strchr(type_name, SEP);
  *type_instance++ = '\0';
  static const char *const stat[3] = {"min", "max", "mean"};
  double v[3] = {r->min, r->max, r->integral / seconds};
  for (int k = 0; k < 3; k++) {
    snprintf(type, sizeof(type), "%s_%s", type_name, stat[k]);
    put(ud, names, type, type_instance, v[k], end);
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
        put_window(r, seconds, s->end, put, ud);
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

static series_t *series_new(gen_summary_t *s, const char *key, size_t len) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    series_t **grown = realloc(s->series, cap * sizeof(*grown));
    if (grown == NULL)
      return NULL;
    s->series = grown;
    s->cap = cap;
  }
  series_t *r = calloc(1, sizeof(*r) + len + 1);
  if (r == NULL)
    return NULL;
  memcpy(r->key, key, len + 1);
  if (gen_map_put(&s->index, r->key, r) != 0) {
    free(r);
    return NULL;
  }
  s->series[s->n++] = r;
  return r;
}

/* "<a>\x1f<b>\x1f<c>" into out; its length, or 0 when it does not fit. */
static size_t join3(char *out, const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
  if (la + lb + lc + 3 > SUMMARY_KEY_MAX || memchr(a, SEP, la) != NULL ||
      memchr(b, SEP, lb) != NULL || memchr(c, SEP, lc) != NULL)
    return 0;
  memcpy(out, a, la);
  out[la] = SEP;
  memcpy(out + la + 1, b, lb);
  out[la + 1 + lb] = SEP;
  memcpy(out + la + lb + 2, c, lc + 1);
  return la + lb + lc + 2;
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
  char key[SUMMARY_KEY_MAX];
  size_t len = join3(key, plugin_instance ? plugin_instance : "", type,
                     type_instance ? type_instance : "");
  if (len == 0)
    return -ENAMETOOLONG;
  if (s->end == 0)
    s->end = (t / s->window + 1) * s->window;
  if (t < s->end - s->window)
    t = s->end - s->window; /* a window already closed is not reopened */
  else if (t >= s->end)
    t = s->end - 1; /* not closed first: the open window's last instant */
  series_t *r = gen_map_get(&s->index, key);
  if (r == NULL) {
    if ((r = series_new(s, key, len)) == NULL)
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
static bool of_instance(const series_t *r, const char *pi, size_t len) {
  return strncmp(r->key, pi, len) == 0 && r->key[len] == SEP;
}

static void set_down(gen_summary_t *s, const char *plugin_instance, bool down) {
  size_t len = plugin_instance ? strlen(plugin_instance) : 0;
  for (size_t i = 0; i < s->n; i++) {
    series_t *r = s->series[i];
    if (plugin_instance != NULL && !of_instance(r, plugin_instance, len))
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
  size_t kept = 0, len = strlen(plugin_instance);
  for (size_t i = 0; i < s->n; i++) {
    series_t *r = s->series[i];
    if (of_instance(r, plugin_instance, len)) {
      gen_map_del(&s->index, r->key, NULL);
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
