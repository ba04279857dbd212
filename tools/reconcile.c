/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check --reconcile: the last buckets of every history
 * family asked of Genesys afresh (the replay's path, replay.c) and set
 * beside what the running collectd holds (its unixsock plugin's LISTVAL
 * and GETVAL), both ways. See collectd-genesys-check(1), RECONCILE.
 *
 * collectd's value cache keeps each series' newest value, so a series is
 * compared at the time collectd holds it: a bucket of the window collectd
 * has not read yet (newer than the newest it holds of that plugin and type)
 * is pending, not a difference.
 */
#include "check.h"

#include "gen_buf.h"
#include "gen_map.h"
#include "gen_replay.h"
#include "gen_time.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* GETVAL prints %e: six digits after the point. */
#define TOLERANCE 1e-6

typedef struct {
  char *id; /* "host/plugin-instance/type-instance" */
  int64_t t_ms;
  size_t n;
  double v[RECONCILE_VALUES_MAX];
} kept_t;

/* What collectd holds of a series: LISTVAL's time. */
typedef struct {
  char *id;
  int64_t t_ms;
  bool seen; /* compared, or named as a difference */
} held_t;

static struct {
  kept_t *kept;
  size_t n_kept, cap_kept;
  held_t *held;
  size_t n_held, cap_held;
  bool oom;
  size_t compared, differ, pending;
} rc;

int reconcile_keep(const value_list_t *vl) {
  char id[GEN_REPLAY_ID_MAX];
  gen_replay_identifier(vl, id, sizeof(id));
  char *copy = gen_grow((void **)&rc.kept, &rc.cap_kept, rc.n_kept + 1,
                        sizeof(*rc.kept), 1024) == 0
                   ? strdup(id)
                   : NULL;
  if (copy == NULL) {
    rc.oom = true;
    return -ENOMEM;
  }
  kept_t *k = &rc.kept[rc.n_kept++];
  *k = (kept_t){.id = copy,
                .t_ms = gen_cdtime_to_ms(vl->time),
                .n = vl->values_len < RECONCILE_VALUES_MAX
                         ? vl->values_len
                         : RECONCILE_VALUES_MAX};
  for (size_t i = 0; i < k->n; i++)
    k->v[i] = vl->values[i].gauge;
  return 0;
}

static void on_listval(void *ud, double t, const char *id) {
  char *copy = gen_grow((void **)&rc.held, &rc.cap_held, rc.n_held + 1,
                        sizeof(*rc.held), 1024) == 0
                   ? strdup(id)
                   : NULL;
  if (copy == NULL) {
    rc.oom = true;
    return;
  }
  rc.held[rc.n_held++] = (held_t){.id = copy, .t_ms = llround(t * 1000.0)};
}

typedef struct {
  void (*each)(void *ud, double t, const char *id);
  void *ud;
} listval_t;

/* "1795568400.000 host/plugin-instance/type-instance" */
static void listval_line(void *ud, char *line) {
  const listval_t *l = ud;
  char *end;
  double t = strtod(line, &end);
  if (end != line && *end == ' ')
    l->each(l->ud, t, end + 1);
}

int reconcile_listval(gen_replay_sock_t *s,
                      void (*each)(void *ud, double t, const char *id),
                      void *ud, char *err, size_t err_size) {
  listval_t l = {each, ud};
  return gen_replay_sock_ask(s, "LISTVAL\n", listval_line, &l, err, err_size);
}

/* "value=1.200000e+01" (strtod reads "nan" too) */
static void getval_line(void *ud, char *line) {
  reconcile_got_t *g = ud;
  char *eq = strchr(line, '=');
  if (eq != NULL && g->n < RECONCILE_VALUES_MAX)
    g->v[g->n++] = strtod(eq + 1, NULL);
}

int reconcile_getval(gen_replay_sock_t *s, const char *id, reconcile_got_t *g,
                     char *err, size_t err_size) {
  char line[GEN_REPLAY_ID_MAX + 16];
  *g = (reconcile_got_t){0};
  snprintf(line, sizeof(line), "GETVAL \"%s\"\n", id);
  return gen_replay_sock_ask(s, line, getval_line, g, err, err_size);
}

static bool same(double a, double b) {
  if (isnan(a) || isnan(b))
    return isnan(a) && isnan(b);
  return fabs(a - b) <= TOLERANCE * fmax(fabs(a), fabs(b)) + 1e-9;
}

/* The prefix "host/plugin" of id and its type ("…/type-instance"). */
static size_t plugin_len(const char *id) {
  const char *slash = strchr(id, '/');
  const char *p = slash ? slash + 1 : id;
  return (size_t)(p - id) + strcspn(p, "-/");
}
static size_t type_span(const char *id, size_t *at) {
  const char *last = strrchr(id, '/');
  *at = last ? (size_t)(last - id) + 1 : 0;
  return strcspn(id + *at, "-");
}

/* "host/plugin/type": what one horizon is kept under. */
static void family_key(const char *id, char *out, size_t size) {
  size_t at, n = type_span(id, &at);
  snprintf(out, size, "%.*s/%.*s", (int)plugin_len(id), id, (int)n, id + at);
}

void reconcile_compared(size_t n) { rc.compared += n; }

/* One difference, named as an operator reads it: the org (host), the
 * queue (flow, …), the media type and the metric. */
void reconcile_say(const char *id, const int64_t *t_ms, const char *collectd,
                   const char *genesys) {
  rc.differ++;
  char host[DATA_MAX_NAME_LEN], pi[2 * DATA_MAX_NAME_LEN],
      ti[2 * DATA_MAX_NAME_LEN];
  size_t at, n = type_span(id, &at);
  snprintf(host, sizeof(host), "%.*s", (int)strcspn(id, "/"), id);
  const char *p = id + strcspn(id, "/") + 1;
  size_t plen = strcspn(p, "-/");
  snprintf(pi, sizeof(pi), "%.*s",
           p[plen] == '-' ? (int)strcspn(p + plen + 1, "/") : 0,
           p[plen] == '-' ? p + plen + 1 : "");
  snprintf(ti, sizeof(ti), "%s", id[at + n] == '-' ? id + at + n + 1 : "");
  const char *what = strncmp(p, "genesys_flowmetrics", plen) == 0 ? "flow"
                     : strncmp(p, "genesys_platform", plen) == 0  ? "instance"
                                                                  : "queue";
  /* "handle-voice": the measure before the media type */
  char *dash = strrchr(ti, '-');
  const char *media = dash ? dash + 1 : ti;
  char metric[3 * DATA_MAX_NAME_LEN];
  if (gen_media_from_name(media) >= 0)
    snprintf(metric, sizeof(metric), "%.*s%s%.*s", (int)n, id + at,
             dash ? " " : "", dash ? (int)(dash - ti) : 0, ti);
  else {
    snprintf(metric, sizeof(metric), "%.*s%s%s", (int)n, id + at,
             ti[0] ? " " : "", ti);
    media = "-";
  }
  char when[64] = "now", end[40];
  if (t_ms != NULL) {
    gen_time_format(*t_ms, end, sizeof(end));
    snprintf(when, sizeof(when), "bucket ending %s", end);
  }
  fprintf(report_to,
          "%s: %s %s, media %s, metric %s: collectd %s, Genesys %s (%s)\n",
          host, what, pi[0] ? pi : "-", media, metric, collectd, genesys, when);
}

static void print_values(char *buf, size_t size, const double *v, size_t n) {
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && at < size; i++)
    at += (size_t)snprintf(buf + at, size - at, "%s%.7g", i ? "," : "", v[i]);
}

static int by_id_time(const void *a, const void *b) {
  const kept_t *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c ? c : (x->t_ms > y->t_ms) - (x->t_ms < y->t_ms);
}

/* A plugin and type of one host the replay made values of, and the newest
 * bucket collectd holds of it. */
typedef struct {
  int64_t upto;
  char key[]; /* "host/plugin/type" */
} family_t;

/* Adds key to m as a family_t unless it is there (a time key's upto
 * unused): its value, or NULL when out of memory. */
static family_t *intern(gen_map_t *m, const char *key) {
  void *v;
  if (gen_map_find(m, key, &v))
    return v;
  size_t len = strlen(key) + 1;
  family_t *f = malloc(sizeof(*f) + len);
  if (f == NULL)
    return NULL;
  memcpy(f->key, key, len);
  f->upto = INT64_MIN;
  if (gen_map_put(m, f->key, f) != 0) {
    free(f);
    return NULL;
  }
  return f;
}

/* "host/plugin@t": a bucket time the replay made values of a plugin at. */
static void time_key(const char *id, int64_t t_ms, char *out, size_t size) {
  snprintf(out, size, "%.*s@%" PRId64, (int)plugin_len(id), id, t_ms);
}

/* What collectd holds of id: 0, or the failure (printed). */
static int getval(gen_replay_sock_t *s, const char *id, reconcile_got_t *g) {
  char err[512] = "";
  int status = reconcile_getval(s, id, g, err, sizeof(err));
  if (status < 0)
    fprintf(report_to, "reconcile: %s: %s\n", id, err);
  return status < 0 ? status : 0;
}

/* Each series of the window at the time collectd holds it. */
static int compare_kept(gen_replay_sock_t *s, gen_map_t *held,
                        gen_map_t *families) {
  for (size_t i = 0; i < rc.n_kept;) {
    size_t j = i;
    while (j < rc.n_kept && strcmp(rc.kept[j].id, rc.kept[i].id) == 0)
      j++;
    char fk[6 * DATA_MAX_NAME_LEN];
    family_key(rc.kept[i].id, fk, sizeof(fk));
    const family_t *f = gen_map_get(families, fk);
    held_t *h = gen_map_get(held, rc.kept[i].id);
    const kept_t *newest = NULL, *at_held = NULL;
    for (size_t k = i; k < j; k++) {
      if (f == NULL || f->upto == INT64_MIN)
        continue; /* said once for the family */
      if (rc.kept[k].t_ms == f->upto)
        newest = &rc.kept[k];
      else if (rc.kept[k].t_ms > f->upto)
        rc.pending++;
      if (h != NULL && rc.kept[k].t_ms == h->t_ms)
        at_held = &rc.kept[k];
    }
    char want[128], have[128];
    if (newest != NULL && (h == NULL || h->t_ms != newest->t_ms)) {
      /* the newest bucket collectd holds of the family, without it */
      print_values(want, sizeof(want), newest->v, newest->n);
      reconcile_say(newest->id, &newest->t_ms, "no value", want);
      if (h != NULL)
        h->seen = true;
    } else if (at_held != NULL) {
      h->seen = true;
      reconcile_got_t g;
      int status = getval(s, h->id, &g);
      if (status < 0)
        return status;
      rc.compared++;
      bool equal = g.n == at_held->n;
      for (size_t k = 0; equal && k < g.n; k++)
        equal = same(g.v[k], at_held->v[k]);
      print_values(want, sizeof(want), at_held->v, at_held->n);
      print_values(have, sizeof(have), g.v, g.n);
      if (!equal)
        reconcile_say(h->id, &h->t_ms, have, want);
    }
    i = j;
  }
  return 0;
}

int reconcile_compare(gen_replay_sock_t *s) {
  char err[512] = "";
  int status = reconcile_listval(s, on_listval, NULL, err, sizeof(err));
  if (status < 0) {
    fprintf(report_to, "reconcile: LISTVAL: %s\n", err);
    return EXIT_FAILED;
  }
  status = 0;
  qsort(rc.kept, rc.n_kept, sizeof(*rc.kept), by_id_time);
  gen_map_t held = {.kind = GEN_MAP_STR}, families = {.kind = GEN_MAP_STR},
            times = {.kind = GEN_MAP_STR};
  bool oom = rc.oom;
  char key[6 * DATA_MAX_NAME_LEN + 32];
  for (size_t i = 0; !oom && i < rc.n_kept; i++) {
    family_key(rc.kept[i].id, key, sizeof(key));
    oom = intern(&families, key) == NULL;
    time_key(rc.kept[i].id, rc.kept[i].t_ms, key, sizeof(key));
    oom = oom || intern(&times, key) == NULL;
  }
  /* the newest bucket collectd holds of each family the replay made */
  for (size_t i = 0; !oom && i < rc.n_held; i++) {
    oom = gen_map_put(&held, rc.held[i].id, &rc.held[i]) != 0;
    family_key(rc.held[i].id, key, sizeof(key));
    family_t *f = gen_map_get(&families, key);
    if (f != NULL && f->upto < rc.held[i].t_ms)
      f->upto = rc.held[i].t_ms;
  }
  /* a family collectd holds nothing of: lost, or never dispatched */
  size_t pos = 0;
  const void *k;
  void *v;
  while (!oom && gen_map_next(&families, &pos, &k, &v)) {
    if (((family_t *)v)->upto != INT64_MIN)
      continue;
    rc.differ++;
    fprintf(report_to,
            "%s: collectd holds no value of it, Genesys answers values\n",
            (const char *)k);
  }
  if (!oom)
    status = compare_kept(s, &held, &families);
  /* The other way: a series of such a family that collectd holds at a
   * bucket the replay made values at, and that Genesys does not answer. */
  for (size_t i = 0; !oom && status == 0 && i < rc.n_held; i++) {
    held_t *h = &rc.held[i];
    family_key(h->id, key, sizeof(key));
    if (h->seen || gen_map_get(&families, key) == NULL)
      continue;
    time_key(h->id, h->t_ms, key, sizeof(key));
    reconcile_got_t g;
    char have[128];
    if (gen_map_get(&times, key) == NULL)
      continue;
    if ((status = getval(s, h->id, &g)) != 0)
      break;
    print_values(have, sizeof(have), g.v, g.n);
    reconcile_say(h->id, &h->t_ms, have, "none");
  }
  if (oom)
    fprintf(report_to, "reconcile: out of memory\n");
  fprintf(report_to,
          "reconcile: %zu values compared, %zu differ, %zu not read by "
          "collectd yet\n",
          rc.compared, rc.differ, rc.pending);
  gen_map_free(&held);
  gen_map_free_values(&families, free);
  gen_map_free_values(&times, free);
  for (size_t i = 0; i < rc.n_kept; i++)
    free(rc.kept[i].id);
  for (size_t i = 0; i < rc.n_held; i++)
    free(rc.held[i].id);
  free(rc.kept);
  free(rc.held);
  return oom || status != 0 || rc.differ > 0 ? EXIT_FAILED : 0;
}
