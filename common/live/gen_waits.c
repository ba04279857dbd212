/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the distribution of answered waits (see gen_waits.h).
 */
#include "gen_waits.h"

#include "gen_buf.h"
#include "gen_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int gen_waits_config_bounds(const gen_org_t *org, const oconfig_item_t *ci,
                            gen_waits_bounds_t *b) {
  return gen_config_bounds(org, ci, "seconds", INFINITY, b);
}

int gen_config_bounds(const gen_org_t *org, const oconfig_item_t *ci,
                      const char *unit, double max, gen_waits_bounds_t *b) {
  char why[160];
  if (ci->values_num < 1 || ci->values_num > GEN_WAITS_MAX_BOUNDS) {
    snprintf(why, sizeof(why), "takes 1 to %d bounds in %s",
             GEN_WAITS_MAX_BOUNDS, unit);
    gen_config_error(org, ci, why);
    return -EINVAL;
  }
  gen_waits_bounds_t given = {.n = (size_t)ci->values_num};
  for (size_t i = 0; i < given.n; i++) {
    double bound = ci->values[i].value.number;
    if (ci->values[i].type != OCONFIG_TYPE_NUMBER || !(bound > 0) ||
        !isfinite(bound) || bound > max ||
        (i > 0 && !(bound > given.bound[i - 1]))) {
      if (isfinite(max))
        snprintf(why, sizeof(why),
                 "bounds must be positive numbers (%s) up to %g, each "
                 "greater than the one before",
                 unit, max);
      else
        snprintf(why, sizeof(why),
                 "bounds must be positive numbers of %s, each greater than "
                 "the one before",
                 unit);
      gen_config_error(org, ci, why);
      return -EINVAL;
    }
    given.bound[i] = bound;
  }
  *b = given;
  return 0;
}

static uint64_t next_random(uint64_t *state) {
  /* xorshift64*: only for choosing which waits a full interval keeps. */
  uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 2685821657736338717ULL;
}

size_t gen_waits_record(gen_waits_t *w, const gen_waits_bounds_t *b,
                        int64_t wait_ms, uint64_t *seed) {
  double seconds = (double)wait_ms / 1000.0;
  size_t first = b->n;
  for (size_t i = b->n; i-- > 0;)
    if (seconds <= b->bound[i])
      first = i;
  /* Counters that leave and are saved: they stop at 2^53. */
  for (size_t i = first; i <= b->n; i++)
    gen_count_add(&w->bucket[i], 1);
  gen_count_add(&w->sum_ms, wait_ms);
  w->interval_count++;
  w->interval_sum += seconds;
  /* Grown by doubling: most queues answer a few per interval. */
  if (w->n_samples == w->cap_samples && w->cap_samples < GEN_WAITS_SAMPLES &&
      gen_grow_max((void **)&w->samples, &w->cap_samples, w->n_samples + 1,
                   sizeof(*w->samples), 8, GEN_WAITS_SAMPLES) != 0)
    return first; /* counted; the percentiles miss it */
  if (w->n_samples < w->cap_samples) {
    w->samples[w->n_samples++] = seconds;
  } else { /* reservoir sampling keeps a uniform sample */
    uint64_t r = next_random(seed) % w->interval_count;
    if (r < w->n_samples)
      w->samples[r] = seconds;
  }
  return first;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

bool gen_waits_quantiles(gen_waits_t *w, const double *p, size_t n,
                         double *out) {
  if (w->n_samples == 0)
    return false;
  qsort(w->samples, w->n_samples, sizeof(*w->samples), compare_double);
  for (size_t i = 0; i < n; i++) {
    size_t rank = (size_t)ceil(p[i] * (double)w->n_samples);
    if (rank > w->n_samples)
      rank = w->n_samples;
    out[i] = w->samples[rank ? rank - 1 : 0];
  }
  return true;
}

void gen_waits_next_interval(gen_waits_t *w) {
  w->interval_count = 0;
  w->interval_sum = 0;
  w->n_samples = 0;
}

void gen_waits_release(gen_waits_t *w) {
  free(w->samples);
  w->samples = NULL;
  w->n_samples = w->cap_samples = 0;
}

void gen_waits_bucket_label(const gen_waits_bounds_t *b, size_t i,
                            const char *prefix, char *out, size_t size) {
  if (i < b->n)
    snprintf(out, size, "%s-le%g", prefix, b->bound[i]);
  else
    snprintf(out, size, "%s-le_inf", prefix);
}
