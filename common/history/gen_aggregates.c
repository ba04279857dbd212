/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the analytics aggregates queries: the metric catalogue,
 * the group key and the request loop (see gen_aggregates.h).
 */
#include "gen_aggregates.h"

#include "gen_dispatch.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_names.h"
#include "gen_time.h"

#include <assert.h>
#include <pthread.h>
#include <strings.h>

/* ---- the metric catalogue ------------------------------------------------
 */

ssize_t gen_agg_metric_find(const gen_agg_catalogue_t *cat, const char *name) {
  for (size_t m = 0; name != NULL && m < cat->n; m++)
    if (strcasecmp(name, cat->metrics[m].name) == 0)
      return (ssize_t)m;
  ssize_t found = -1;
  for (size_t m = 0; name != NULL && m < cat->n; m++)
    if (strcasecmp(name, cat->metrics[m].api) == 0) {
      if (found >= 0)
        return -1; /* one API metric, several of ours: say which */
      found = (ssize_t)m;
    }
  return found;
}

bool gen_agg_set_on(const gen_agg_catalogue_t *cat, const char *name,
                    bool *on) {
  unsigned bit = 0;
  bool all = cat->n_sets > 0 && strcasecmp(name, "all") == 0;
  for (size_t i = 0; i < cat->n_sets && i < 8 * sizeof(bit); i++)
    if (strcasecmp(name, cat->sets[i]) == 0)
      bit = 1u << i;
  if (!all && bit == 0)
    return false;
  for (size_t m = 0; m < cat->n; m++)
    if (all || (cat->metrics[m].sets & bit))
      on[m] = true;
  return true;
}

/* The k-th of what a value of the Metric key may be: the sets, "all",
 * then our metric names. */
static const char *valid_name(const gen_agg_catalogue_t *cat, size_t k) {
  if (cat->n_sets == 0)
    return cat->metrics[k].name;
  if (k < cat->n_sets)
    return cat->sets[k];
  return k == cat->n_sets ? "all" : cat->metrics[k - cat->n_sets - 1].name;
}

/* One line of the refusal of value i of ci: the first names the key and
 * the value, the others continue it. */
static void refuse_line(const gen_org_t *org, const oconfig_item_t *ci,
                        size_t i, bool first, const char *text) {
  if (first) {
    /* The offending value, shown (and made safe) as for any key. */
    oconfig_item_t one = *ci;
    one.values = &ci->values[i];
    one.values_num = 1;
    gen_config_error(org, &one, text);
  } else
    gen_org_log(org, NULL, LOG_ERR, "%s (continued): %s", ci->key, text);
}

/* Refuses value i of ci naming every valid one, in lines under a log
 * line's length. */
static void refuse_metric(const gen_org_t *org, const oconfig_item_t *ci,
                          size_t i, const gen_agg_catalogue_t *cat) {
  bool api = false;
  for (size_t k = 0; k < cat->n && !api; k++)
    api = strcasecmp(ci->values[i].value.string, cat->metrics[k].api) == 0;
  char line[640];
  size_t used = (size_t)snprintf(
      line, sizeof(line), "%s; valid: ",
      api               ? "this API metric is more than one of ours, name one"
      : cat->n_sets > 0 ? "unknown metric or set"
                        : "unknown metric");
  bool first = true;
  size_t n_valid = cat->n + (cat->n_sets > 0 ? cat->n_sets + 1 : 0);
  for (size_t k = 0; k < n_valid; k++) {
    const char *name = valid_name(cat, k);
    const char *sep = k + 1 < n_valid ? ", " : "";
    if (used + strlen(name) + strlen(sep) >= sizeof(line)) {
      refuse_line(org, ci, i, first, line);
      first = false;
      used = 0;
    }
    used +=
        (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", name, sep);
  }
  refuse_line(org, ci, i, first, line);
}

int gen_agg_config_metrics(const gen_org_t *org, const oconfig_item_t *ci,
                           const gen_agg_catalogue_t *cat, bool *on) {
  char **names = NULL;
  size_t n = 0;
  int status = gen_config_string_list(org, ci, &names, &n);
  bool *named = calloc(cat->n ? cat->n : 1, sizeof(*named));
  if (status == 0 && named == NULL)
    status = -ENOMEM;
  for (size_t i = 0; status == 0 && i < n; i++) {
    /* "-name": that measure or set off again, from the default when
     * nothing is on yet */
    bool off = names[i][0] == '-';
    const char *name = names[i] + off;
    bool any = false;
    for (size_t m = 0; m < cat->n && !any; m++)
      any = on[m];
    if (off && !any && cat->n_sets > 0)
      gen_agg_set_on(cat, cat->sets[0], on);
    memset(named, 0, cat->n * sizeof(*named));
    ssize_t m = -1;
    if (!gen_agg_set_on(cat, name, named) &&
        (m = gen_agg_metric_find(cat, name)) < 0) {
      refuse_metric(org, ci, i, cat);
      status = -EINVAL;
      break;
    }
    if (m >= 0)
      named[m] = true;
    for (size_t k = 0; k < cat->n; k++)
      if (named[k])
        on[k] = !off;
  }
  bool any = false;
  for (size_t m = 0; m < cat->n && !any; m++)
    any = on[m];
  if (status == 0 && !any) {
    gen_config_error(org, ci, "turns every measure off");
    status = -EINVAL;
  }
  free(named);
  gen_config_string_list_free(names, n);
  return status;
}

/* Whether metric m is on and of group (group < 0: any). */
static bool asked(const gen_agg_catalogue_t *cat, const bool *on, long group,
                  size_t m) {
  return (on == NULL || on[m]) &&
         (group < 0 || cat->metrics[m].group == (unsigned)group);
}

json_object *gen_agg_metrics_json(const gen_agg_catalogue_t *cat,
                                  const bool *on, long group) {
  json_object *metrics = json_object_new_array();
  for (size_t m = 0; m < cat->n; m++) {
    bool repeated = false;
    for (size_t k = 0; k < m && !repeated; k++)
      repeated = asked(cat, on, group, k) &&
                 strcmp(cat->metrics[k].api, cat->metrics[m].api) == 0;
    if (asked(cat, on, group, m) && !repeated)
      json_object_array_add(metrics,
                            json_object_new_string(cat->metrics[m].api));
  }
  return metrics;
}

bool gen_agg_group_on(const gen_agg_catalogue_t *cat, const bool *on,
                      unsigned group) {
  for (size_t m = 0; m < cat->n; m++)
    if (asked(cat, on, (long)group, m))
      return true;
  return false;
}

#define NAME_SIZE 64

/* a, b and c joined into out (cut to size, as snprintf cuts): the names of
 * every value of a cycle are built here, where snprintf's format parsing
 * was a sixth of the read thread. */
static void join3(char *out, size_t size, const char *a, const char *b,
                  const char *c) {
  size_t used = 0;
  const char *parts[] = {a, b, c};
  for (size_t i = 0; i < 3 && used + 1 < size; i++) {
    size_t len = strlen(parts[i]);
    if (len > size - 1 - used)
      len = size - 1 - used;
    memcpy(out + used, parts[i], len);
    used += len;
  }
  out[used] = '\0';
}

struct gen_agg_values_s {
  gen_interval_value_t *v;
  char (*names)[NAME_SIZE];
  size_t n, size;
};

gen_agg_values_t *gen_agg_values_new(const gen_agg_catalogue_t *cat) {
  gen_agg_values_t *vals = calloc(1, sizeof(*vals));
  if (vals == NULL)
    return NULL;
  vals->size = 4 * cat->n; /* a duration has four values */
  vals->v = calloc(vals->size ? vals->size : 1, sizeof(*vals->v));
  vals->names = calloc(vals->size ? vals->size : 1, sizeof(*vals->names));
  if (vals->v == NULL || vals->names == NULL) {
    gen_agg_values_free(vals);
    return NULL;
  }
  return vals;
}

void gen_agg_values_free(gen_agg_values_t *vals) {
  if (vals == NULL)
    return;
  free(vals->v);
  free(vals->names);
  free(vals);
}

static void add_value(gen_agg_values_t *vals, const char *name,
                      const char *suffix, double value, bool counter) {
  if (vals->n == vals->size)
    return;
  join3(vals->names[vals->n], NAME_SIZE, name, suffix, "");
  vals->v[vals->n] = (gen_interval_value_t){
      .name = vals->names[vals->n], .value = value, .counter = counter};
  vals->n++;
}

static bool stat_of(const gen_agg_entry_t *e, int s, double *out) {
  if (!(e->have & (1u << s)))
    return false;
  *out = e->stat[s];
  return true;
}

/* One catalogue metric's entry of a bucket into vals; false when its stats
 * are not usable. */
static bool read_entry(const gen_agg_metric_t *mt, const gen_agg_entry_t *e,
                       gen_agg_values_t *vals) {
  double count = 0, sum = 0, x = 0, den = 0;
  switch (mt->kind) {
  case GEN_AGG_COUNT:
    if (!stat_of(e, GEN_AGG_STAT_COUNT, &count) || count < 0)
      return false;
    add_value(vals, mt->name, "", count, true);
    return true;
  case GEN_AGG_DURATION:
    if (!stat_of(e, GEN_AGG_STAT_COUNT, &count) || count < 0 ||
        !stat_of(e, GEN_AGG_STAT_SUM, &sum) || sum < 0)
      return false;
    add_value(vals, mt->name, "_count", count, true);
    add_value(vals, mt->name, "_sum_ms", sum, true);
    if (stat_of(e, GEN_AGG_STAT_MAX, &x))
      add_value(vals, mt->name, "_max_ms", x, false);
    if (stat_of(e, GEN_AGG_STAT_MIN, &x))
      add_value(vals, mt->name, "_min_ms", x, false);
    return true;
  case GEN_AGG_SCORE:
    if (!stat_of(e, GEN_AGG_STAT_COUNT, &count) || count < 0 ||
        !stat_of(e, GEN_AGG_STAT_SUM, &sum))
      return false;
    add_value(vals, mt->name, "_count", count, true);
    add_value(vals, mt->name, "_sum", sum, false); /* may be negative */
    if (stat_of(e, GEN_AGG_STAT_MAX, &x))
      add_value(vals, mt->name, "_max", x, false);
    if (stat_of(e, GEN_AGG_STAT_MIN, &x))
      add_value(vals, mt->name, "_min", x, false);
    return true;
  case GEN_AGG_RATIO:
    if (!stat_of(e, GEN_AGG_STAT_NUMERATOR, &x) || x < 0 ||
        !stat_of(e, GEN_AGG_STAT_DENOMINATOR, &den) || den < 0)
      return false;
    add_value(vals, mt->name, "_numerator", x, true);
    add_value(vals, mt->name, "_denominator", den, true);
    return true;
  case GEN_AGG_TARGET:
    /* oServiceLevel without a target (none set) is still a ratio: the
     * entry is usable, the target absent. */
    if (stat_of(e, GEN_AGG_STAT_TARGET, &x) && x >= 0)
      add_value(vals, mt->name, "", x, false);
    return true;
  }
  return false;
}

size_t gen_agg_read(const gen_agg_catalogue_t *cat, const bool *on,
                    unsigned group, const gen_agg_metrics_t *metrics,
                    gen_agg_values_t *vals, const gen_interval_value_t **v,
                    size_t *n) {
  size_t skipped = 0;
  size_t len = metrics != NULL ? metrics->n : 0;
  bool answered[GEN_AGG_MAX_METRICS] = {false};
  vals->n = 0;
  assert(cat->n <= GEN_AGG_MAX_METRICS);
  for (size_t i = 0; i < len; i++) {
    const gen_agg_entry_t *entry = &metrics->e[i];
    const char *api = entry->metric;
    bool known = false, usable = entry->stats;
    for (size_t m = 0; api != NULL && m < cat->n; m++) {
      const gen_agg_metric_t *mt = &cat->metrics[m];
      /* Only the group's own: a metric in another group's result would be
       * counted twice. Present but malformed is skipped, not zero. */
      if (!asked(cat, on, (long)group, m) || strcmp(api, mt->api) != 0)
        continue;
      known = true;
      answered[m] = true;
      usable = usable && read_entry(mt, entry, vals);
    }
    if (!known || !usable)
      skipped++;
  }
  for (size_t m = 0; cat->zero_absent && m < cat->n; m++) {
    const gen_agg_metric_t *mt = &cat->metrics[m];
    if (!asked(cat, on, (long)group, m) || answered[m])
      continue;
    if (mt->kind == GEN_AGG_COUNT)
      add_value(vals, mt->name, "", 0, true);
    else if (mt->kind == GEN_AGG_RATIO) {
      add_value(vals, mt->name, "_numerator", 0, true);
      add_value(vals, mt->name, "_denominator", 0, true);
    }
  }
  *v = vals->v;
  *n = vals->n;
  return skipped;
}

void gen_agg_put_value(const gen_agg_series_t *s, const char *type,
                       const char *measure, bool derive, double value,
                       int64_t at_ms) {
  char type_instance[DATA_MAX_NAME_LEN];
  const char *suffix = s->suffix ? s->suffix : "";
  if (measure != NULL && suffix[0] != '\0')
    join3(type_instance, sizeof(type_instance), measure, "-", suffix);
  else
    sstrncpy(type_instance, measure ? measure : suffix, sizeof(type_instance));
  gen_ident_t id = {.host = s->host,
                    .plugin = s->plugin,
                    .plugin_instance = s->plugin_instance,
                    .type = type,
                    .type_instance = type_instance};
  gen_dispatch_number(&id, derive, value, gen_ms_to_cdtime(at_ms),
                      MS_TO_CDTIME_T(s->granularity_ms));
}

/* The value named name followed by suffix, compared in place. */
static bool find(const gen_interval_value_t *v, size_t n, const char *name,
                 const char *suffix, double *out) {
  size_t len = strlen(name);
  for (size_t i = 0; i < n; i++)
    if (strncmp(v[i].name, name, len) == 0 &&
        strcmp(v[i].name + len, suffix) == 0) {
      *out = v[i].value;
      return true;
    }
  return false;
}

void gen_agg_put_bucket(const gen_agg_catalogue_t *cat, const bool *on,
                        unsigned group, const gen_agg_series_t *s,
                        const gen_interval_value_t *v, size_t n,
                        int64_t end_ms) {
  for (size_t m = 0; m < cat->n; m++) {
    const gen_agg_metric_t *mt = &cat->metrics[m];
    double count, sum, x, den;
    char type[NAME_SIZE];
    if (!asked(cat, on, (long)group, m))
      continue;
    switch (mt->kind) {
    case GEN_AGG_COUNT:
      if (find(v, n, mt->name, "", &count))
        gen_agg_put_value(s, mt->bucket_type ? mt->bucket_type : mt->name, NULL,
                          false, count, end_ms);
      break;
    case GEN_AGG_DURATION:
      if (!find(v, n, mt->name, "_count", &count))
        break;
      gen_agg_put_value(s, "duration_count", mt->name, false, count, end_ms);
      if (count > 0 && find(v, n, mt->name, "_sum_ms", &sum))
        gen_agg_put_value(s, "duration_avg", mt->name, false,
                          sum / count / 1000.0, end_ms);
      if (find(v, n, mt->name, "_max_ms", &x))
        gen_agg_put_value(s, "duration_max", mt->name, false, x / 1000.0,
                          end_ms);
      if (find(v, n, mt->name, "_min_ms", &x))
        gen_agg_put_value(s, "duration_min", mt->name, false, x / 1000.0,
                          end_ms);
      break;
    case GEN_AGG_SCORE:
      if (!find(v, n, mt->name, "_count", &count))
        break;
      gen_agg_put_value(s, "score_count", mt->name, false, count, end_ms);
      if (count > 0 && find(v, n, mt->name, "_sum", &sum))
        gen_agg_put_value(s, "score_avg", mt->name, false, sum / count, end_ms);
      if (find(v, n, mt->name, "_max", &x))
        gen_agg_put_value(s, "score_max", mt->name, false, x, end_ms);
      if (find(v, n, mt->name, "_min", &x))
        gen_agg_put_value(s, "score_min", mt->name, false, x, end_ms);
      break;
    case GEN_AGG_RATIO:
      if (!find(v, n, mt->name, "_numerator", &x) ||
          !find(v, n, mt->name, "_denominator", &den))
        break;
      join3(type, sizeof(type), mt->name, "_numerator", "");
      gen_agg_put_value(s, type, NULL, false, x, end_ms);
      join3(type, sizeof(type), mt->name, "_denominator", "");
      gen_agg_put_value(s, type, NULL, false, den, end_ms);
      if (den > 0)
        gen_agg_put_value(s, mt->name, NULL, false, x / den, end_ms);
      break;
    case GEN_AGG_TARGET:
      if (find(v, n, mt->name, "", &x))
        gen_agg_put_value(s, mt->name, NULL, false, x, end_ms);
      break;
    }
  }
}

void gen_agg_put_totals(const gen_agg_catalogue_t *cat, const bool *on,
                        unsigned group, const gen_agg_series_t *s,
                        const gen_interval_value_t *v, size_t n,
                        int64_t at_ms) {
  static const char *const ratio_parts[] = {"_numerator", "_denominator"};
  for (size_t m = 0; m < cat->n; m++) {
    const gen_agg_metric_t *mt = &cat->metrics[m];
    char type[NAME_SIZE];
    double x;
    if (!asked(cat, on, (long)group, m))
      continue;
    switch (mt->kind) {
    case GEN_AGG_COUNT:
      if (mt->total_type != NULL)
        sstrncpy(type, mt->total_type, sizeof(type));
      else
        join3(type, sizeof(type), "total_", mt->name, "");
      if (find(v, n, mt->name, "", &x))
        gen_agg_put_value(s, type, NULL, true, x, at_ms);
      break;
    case GEN_AGG_DURATION:
      if (find(v, n, mt->name, "_count", &x))
        gen_agg_put_value(s, "total_duration_count", mt->name, true, x, at_ms);
      if (find(v, n, mt->name, "_sum_ms", &x))
        gen_agg_put_value(s, "total_duration_ms", mt->name, true, x, at_ms);
      break;
    case GEN_AGG_SCORE: /* the sum may go down: no counter of it */
      if (find(v, n, mt->name, "_count", &x))
        gen_agg_put_value(s, "total_score_count", mt->name, true, x, at_ms);
      break;
    case GEN_AGG_RATIO:
      for (size_t p = 0; p < STATIC_ARRAY_SIZE(ratio_parts); p++)
        if (find(v, n, mt->name, ratio_parts[p], &x)) {
          join3(type, sizeof(type), "total_", mt->name, ratio_parts[p]);
          gen_agg_put_value(s, type, NULL, true, x, at_ms);
        }
      break;
    case GEN_AGG_TARGET: /* a goal: no counter */
      break;
    }
  }
}

/* ---- the engine's sink ---------------------------------------------------
 */

static void sink_put(gen_agg_output_t *o, const gen_key_t *key, int64_t at_ms,
                     bool totals, const gen_interval_value_t *v, size_t n) {
  gen_agg_label_t label = {.plugin_instance = "", .suffix = ""};
  o->label(o->ud, key, &label);
  gen_agg_series_t s = {o->host, o->plugin, label.plugin_instance, label.suffix,
                        o->granularity_ms};
  if (totals)
    gen_agg_put_totals(o->cat, o->on, label.group, &s, v, n, at_ms);
  else
    gen_agg_put_bucket(o->cat, o->on, label.group, &s, v, n, at_ms);
}

static void sink_bucket(void *ud, const gen_key_t *key, int64_t start_ms,
                        int64_t end_ms, gen_interval_kind_t kind,
                        const gen_interval_value_t *v, size_t n) {
  sink_put(ud, key, end_ms, false, v, n);
}

static void sink_totals(void *ud, const gen_key_t *key, int64_t at_ms,
                        const gen_interval_value_t *v, size_t n) {
  sink_put(ud, key, at_ms, true, v, n);
}

gen_interval_sink_t gen_agg_sink(gen_agg_output_t *out) {
  return (gen_interval_sink_t){
      .bucket = sink_bucket, .totals = sink_totals, .ud = out};
}

/* ---- folding groups ------------------------------------------------------
 */

/* Adds the stats of one metric into those of the same metric: counts and
 * sums add up (stopping at 2^53), max and min stay the extremes (each where
 * both have it). */
static void stats_fold(gen_agg_entry_t *into, const gen_agg_entry_t *from) {
  uint8_t both = into->have & from->have;
  double *x = into->stat;
  const double *y = from->stat;
  /* Held to 2^53 (gen_total_add), which the engine keeps. */
  if (both & (1u << GEN_AGG_STAT_COUNT))
    gen_total_add(&x[GEN_AGG_STAT_COUNT], y[GEN_AGG_STAT_COUNT]);
  if (both & (1u << GEN_AGG_STAT_SUM))
    gen_total_add(&x[GEN_AGG_STAT_SUM], y[GEN_AGG_STAT_SUM]);
  if ((both & (1u << GEN_AGG_STAT_MAX)) &&
      y[GEN_AGG_STAT_MAX] > x[GEN_AGG_STAT_MAX])
    x[GEN_AGG_STAT_MAX] = y[GEN_AGG_STAT_MAX];
  if ((both & (1u << GEN_AGG_STAT_MIN)) &&
      y[GEN_AGG_STAT_MIN] < x[GEN_AGG_STAT_MIN])
    x[GEN_AGG_STAT_MIN] = y[GEN_AGG_STAT_MIN];
}

static bool same(const char *a, const char *b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* A bucket of a folded result: its source, and the bucket it folds into
 * (itself: one of the folded result's). */
typedef struct {
  const gen_agg_bucket_t *b;
  size_t into;
} fold_bucket_t;

/* A result of the answer being folded: its group key; next chains the
 * results folded into a first one (SIZE_MAX ends), last is where its chain
 * ends; keyed: a first of its key, folded: folded into another. */
typedef struct {
  gen_key_t key;
  size_t next, last;
  bool keyed, folded;
} fold_row_t;

/* Writes result r, with the buckets of the results folded into it (the
 * chain of row[r].next), into the answer being written: a bucket of an
 * interval already there folds into the first of it (entries of the same
 * metric: stats_fold, others joined), else it is joined. */
static int fold_write(gen_agg_answer_t *a, const gen_agg_result_t *res,
                      size_t r, const fold_row_t *row, const char *const *drop,
                      size_t n_drop, fold_bucket_t **fb, size_t *cap) {
  const gen_agg_group_t *g = &res[r].group;
  if (gen_agg_answer_add_result(a, g->object) != 0)
    return -ENOMEM;
  for (size_t d = 0; d < g->n; d++) {
    bool dropped = false;
    for (size_t k = 0; row[r].keyed && k < n_drop; k++)
      dropped = dropped || strcmp(g->d[d].name, drop[k]) == 0;
    if (!dropped && gen_agg_answer_add_dim(a, &g->d[d]) != 0)
      return -ENOMEM;
  }
  size_t n = 0;
  for (size_t m = r; m != SIZE_MAX; m = row[m].next)
    for (size_t j = 0; j < res[m].n; j++) {
      if (gen_grow((void **)fb, cap, n + 1, sizeof(**fb), 16) != 0)
        return -ENOMEM;
      size_t into = n;
      for (size_t h = 0; m != r && h < n && into == n; h++)
        if ((*fb)[h].into == h &&
            same((*fb)[h].b->interval, res[m].b[j].interval))
          into = h;
      (*fb)[n++] = (fold_bucket_t){&res[m].b[j], into};
    }
  for (size_t h = 0; h < n; h++) {
    if ((*fb)[h].into != h)
      continue;
    if (gen_agg_answer_add_bucket(a, (*fb)[h].b->interval) != 0)
      return -ENOMEM;
    for (size_t k = h; k < n; k++) {
      if ((*fb)[k].into != h)
        continue;
      const gen_agg_metrics_t *ms = &(*fb)[k].b->metrics;
      for (size_t e = 0; e < ms->n; e++) {
        size_t w = 0;
        gen_agg_entry_t *written = gen_agg_answer_written(a, &w), *twin = NULL;
        for (size_t t = 0; k != h && t < w && twin == NULL; t++)
          if (same(written[t].metric, ms->e[e].metric))
            twin = &written[t];
        if (twin != NULL)
          stats_fold(twin, &ms->e[e]);
        else if (gen_agg_answer_add_entry(a, &ms->e[e]) != 0)
          return -ENOMEM;
      }
    }
  }
  return 0;
}

int gen_agg_fold_groups(gen_agg_answer_t *a, const char *const *dims, size_t n,
                        const char *const *drop, size_t n_drop) {
  const gen_agg_result_t *res;
  size_t len = gen_agg_answer_results(a, &res);
  /* Group key -> the first result of it (its index + 1). The keys' strings
   * are the groups' own. */
  gen_map_t seen = {.kind = GEN_MAP_KEY};
  fold_row_t *row = calloc(len ? len : 1, sizeof(*row));
  fold_bucket_t *fb = NULL;
  size_t cap = 0;
  int status = row == NULL ? -ENOMEM : 0;
  for (size_t r = 0; status == 0 && r < len; r++) {
    gen_key_t *k = &row[r].key;
    row[r].next = SIZE_MAX;
    row[r].last = r;
    bool every = n <= GEN_KEY_STRS; /* a group without one is not one */
    for (size_t d = 0; every && d < n; d++)
      every = (k->str[d] = gen_agg_group_get(&res[r].group, dims[d])) != NULL;
    if (!every || !gen_interval_key_ok(k))
      continue; /* not one: left as it is */
    size_t first = (size_t)(uintptr_t)gen_map_get(&seen, k);
    if (first != 0) {
      row[row[first - 1].last].next = r;
      row[first - 1].last = r;
      row[r].folded = true;
      continue;
    }
    row[r].keyed = true;
    if (gen_map_put(&seen, k, (void *)(uintptr_t)(r + 1)) != 0)
      status = -ENOMEM;
  }
  if (status == 0) {
    gen_agg_answer_begin(a);
    for (size_t r = 0; status == 0 && r < len; r++)
      if (!row[r].folded)
        status = fold_write(a, res, r, row, drop, n_drop, &fb, &cap);
    if (status == 0)
      gen_agg_answer_end(a);
  }
  gen_map_free(&seen);
  free(row);
  free(fb);
  return status;
}

/* ---- the request loop ----------------------------------------------------
 */

int gen_agg_bucket_start(const char *interval,
                         const gen_interval_range_t *range,
                         int64_t granularity_ms, int64_t *start_ms, char *err,
                         size_t err_size) {
  int64_t end;
  if (interval == NULL || gen_interval_parse(interval, start_ms, &end) != 0 ||
      *start_ms < range->start_ms || end > range->end_ms ||
      *start_ms % granularity_ms != 0) {
    snprintf(err, err_size, "a bucket of the answer is not in %s: %s",
             "the range asked for", interval ? interval : "(none)");
    return -EINVAL;
  }
  return 0;
}

void gen_agg_dispatch_self(const char *host, const char *plugin,
                           const gen_interval_stats_t *st, uint64_t queries,
                           uint64_t failures) {
  int64_t now = gen_cdtime_to_ms(cdtime());
  gen_self_row_t self[] = {
      {"analytics_queries", NULL, true, (double)queries},
      {"analytics_query_failures", NULL, true, (double)failures},
      {"buckets_dispatched", NULL, true, (double)st->buckets_dispatched},
      {"buckets_backfilled", NULL, true, (double)st->buckets_backfilled},
      {"gap_buckets", NULL, true, (double)st->gap_buckets},
      {"progress_refused", NULL, true, (double)st->progress_refused},
  };
  gen_dispatch_self_rows(host, plugin, self, STATIC_ARRAY_SIZE(self));
  /* the ages only once there is a moment to be old from */
  if (st->done_until_ms > 0)
    gen_dispatch_self(host, plugin, "lag", NULL, false,
                      (double)(now - st->done_until_ms) / 1000.0);
  if (st->last_commit_ms > 0)
    gen_dispatch_self(host, plugin, "last_success_age", NULL, false,
                      (double)(now - st->last_commit_ms) / 1000.0);
  gen_agg_dispatch_revisions(host, plugin, st);
}

void gen_agg_dispatch_revisions(const char *host, const char *plugin,
                                const gen_interval_stats_t *st) {
  gen_dispatch_self(host, plugin, "bucket_revisions", NULL, true,
                    (double)st->revisions);
  uint64_t at_ages = 0;
  for (size_t a = 0; a < st->n_revision_ages; a++) {
    char age[32];
    gen_revisit_age_format(st->revision_age_ms[a], age, sizeof(age));
    gen_dispatch_self(host, plugin, "bucket_revisions", age, true,
                      (double)st->revisions_at[a]);
    at_ages += st->revisions_at[a];
  }
  gen_dispatch_self(host, plugin, "bucket_revisions", "window", true,
                    (double)(st->revisions - at_ages));
}

size_t gen_agg_budget(cdtime_t interval, unsigned per_minute) {
  uint64_t ms = CDTIME_T_TO_MS(interval);
  uint64_t n = ((uint64_t)per_minute * ms + 59999) / 60000;
  return n < 1 ? 1 : (size_t)n;
}

bool gen_agg_value_find(const gen_interval_value_t *v, size_t n,
                        const char *name, double *out) {
  return name != NULL && find(v, n, name, "", out);
}

json_object *gen_agg_query_new(const gen_interval_range_t *range,
                               int64_t granularity_ms,
                               const char *const *group_by, size_t n) {
  json_object *body = json_object_new_object();
  char text[GEN_INTERVAL_STRLEN];
  gen_interval_format(range->start_ms, range->end_ms, text, sizeof(text));
  json_object_object_add(body, "interval", json_object_new_string(text));
  if (granularity_ms > 0) {
    gen_duration_format(granularity_ms, text, sizeof(text));
    json_object_object_add(body, "granularity", json_object_new_string(text));
  }
  json_object_object_add(body, "timeZone", json_object_new_string("UTC"));
  json_object *dimensions = json_object_new_array();
  for (size_t i = 0; i < n; i++)
    json_object_array_add(dimensions, json_object_new_string(group_by[i]));
  json_object_object_add(body, "groupBy", dimensions);
  return body;
}

json_object *gen_agg_query_of(const gen_agg_catalogue_t *cat,
                              const gen_interval_range_t *range,
                              int64_t granularity_ms,
                              const char *const *group_by, size_t n_group_by,
                              const char *dim, const char *const *ids,
                              size_t n) {
  json_object *body =
      gen_agg_query_new(range, granularity_ms, group_by, n_group_by);
  json_object_object_add(body, "metrics", gen_agg_metrics_json(cat, NULL, -1));
  json_object_object_add(body, "filter", gen_json_or_filter(dim, ids, n));
  return body;
}

/* The entries of metrics whose metric the catalogue does not name at all
 * (one Genesys added to its answers): each counted through unknown, their
 * number returned (gen_agg_read skips them; they are not malformed). */
static size_t unknown_metrics(const gen_agg_catalogue_t *cat,
                              const gen_agg_metrics_t *metrics,
                              const gen_unknown_sink_t *unknown) {
  size_t n = 0;
  for (size_t i = 0; metrics != NULL && i < metrics->n; i++) {
    const char *api = metrics->e[i].metric;
    bool named = api == NULL; /* no name at all: malformed */
    for (size_t m = 0; !named && m < cat->n; m++)
      named = strcmp(api, cat->metrics[m].api) == 0;
    if (!named) {
      gen_unknown_note(unknown, "metric", api);
      n++;
    }
  }
  return n;
}

static int take_results(gen_interval_t *engine, const gen_agg_answer_t *answer,
                        const gen_interval_range_t *range,
                        int64_t granularity_ms, const gen_agg_reader_t *reader,
                        const gen_unknown_sink_t *unknown, size_t *skipped,
                        char *err, size_t err_size) {
  const gen_agg_result_t *results;
  size_t len = gen_agg_answer_results(answer, &results);
  gen_agg_values_t *vals = gen_agg_values_new(reader->cat);
  int status = vals != NULL ? 0 : -ENOMEM;
  *skipped = 0;
  for (size_t r = 0; status == 0 && r < len; r++) {
    const gen_agg_result_t *result = &results[r];
    gen_key_t key = {0};
    const char *scope = NULL;
    if (!reader->group(reader->ud, &result->group, &scope, &key) ||
        !gen_interval_key_ok(&key)) {
      (*skipped)++;
      continue;
    }
    unsigned group = reader->key_group ? reader->key_group(&key) : 0;
    for (size_t d = 0; status == 0 && d < result->n; d++) {
      const gen_agg_bucket_t *bucket = &result->b[d];
      int64_t start;
      const gen_interval_value_t *v = NULL;
      size_t n = 0;
      if (gen_agg_bucket_start(bucket->interval, range, granularity_ms, &start,
                               err, err_size) != 0) {
        status = -EINVAL;
        break;
      }
      *skipped += gen_agg_read(reader->cat, reader->on, group, &bucket->metrics,
                               vals, &v, &n) -
                  unknown_metrics(reader->cat, &bucket->metrics, unknown);
      if ((status = gen_interval_put(engine, scope, &key, start, v, n)) != 0)
        snprintf(err, err_size, "cannot record a bucket: %s",
                 gen_strerror(status));
    }
  }
  gen_agg_values_free(vals);
  return status;
}

gen_agg_query_t gen_agg_query_make(const char *path, const char *what,
                                   const gen_agg_catalogue_t *cat,
                                   int64_t granularity_ms, gen_agg_body_fn body,
                                   gen_agg_group_fn group, void *ud) {
  return (gen_agg_query_t){
      .path = path,
      .what = what,
      .granularity_ms = granularity_ms,
      .body = body,
      .reader = {.group = group, .cat = cat, .what = what, .ud = ud},
      .out = {.cat = cat, .granularity_ms = granularity_ms, .ud = ud},
      .ud = ud};
}

/* The answer of this read thread: its arrays and arena are reused from one
 * answer to the next, freed when the thread ends. */
static pthread_key_t answer_key;
static pthread_once_t answer_once = PTHREAD_ONCE_INIT;

static void answer_free(void *a) { gen_agg_answer_free(a); }
static void answer_key_make(void) {
  (void)pthread_key_create(&answer_key, answer_free);
}

gen_agg_answer_t *gen_agg_thread_answer(void) {
  pthread_once(&answer_once, answer_key_make);
  gen_agg_answer_t *a = pthread_getspecific(answer_key);
  if (a == NULL && (a = gen_agg_answer_new()) != NULL &&
      pthread_setspecific(answer_key, a) != 0) {
    gen_agg_answer_free(a);
    a = NULL;
  }
  return a;
}

/* text read into a (the query's parse, or gen_agg_answer_read), then
 * rewritten by the query's prepare and fold. */
static int read_answer(const gen_agg_query_t *query, const char *text,
                       size_t len, gen_agg_answer_t *a, char *err,
                       size_t err_size) {
  int status = query->parse != NULL
                   ? query->parse(query->ud, text, len, a, err, err_size)
                   : gen_agg_answer_read(a, text, len, err, err_size);
  if (status == 0 && query->prepare != NULL)
    status = query->prepare(query->ud, a, err, err_size);
  const gen_agg_fold_t *f = query->fold;
  if (status == 0 && f != NULL)
    status = gen_agg_fold_groups(a, f->dims, f->n, f->drop, f->n_drop);
  return status;
}

int gen_agg_take(gen_interval_t *engine, const gen_agg_query_t *query,
                 const gen_interval_range_t *range, const char *text,
                 size_t len, const gen_unknown_sink_t *unknown, size_t *skipped,
                 char *err, size_t err_size) {
  gen_agg_answer_t *a = gen_agg_thread_answer();
  int status = a == NULL ? -ENOMEM
                         : read_answer(query, text ? text : "{}",
                                       text ? len : 2, a, err, err_size);
  if (status == 0)
    status = take_results(engine, a, range, query->granularity_ms,
                          &query->reader, unknown, skipped, err, err_size);
  if (status == -ENOMEM)
    snprintf(err, err_size, "out of memory");
  return status;
}

void gen_agg_label_id(gen_agg_label_t *out, const char *prefix, const char *id,
                      unsigned group) {
  char raw[DATA_MAX_NAME_LEN];
  snprintf(raw, sizeof(raw), "%s%s", prefix, id != NULL ? id : "");
  gen_sanitize_name(raw, out->instance_buf, sizeof(out->instance_buf));
  out->plugin_instance = out->instance_buf;
  out->group = group;
}
