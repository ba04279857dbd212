/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the distribution of answered waits of one queue and
 * media type. Cumulative buckets ("le" a bound, as Prometheus histograms)
 * and the sum are counters that only grow (and survive restarts in the
 * plugin's state file); the count, sum and percentiles are per interval,
 * from a bounded uniform sample (reservoir sampling), so memory stays
 * bounded however many conversations an interval has.
 */
#ifndef GEN_WAITS_H
#define GEN_WAITS_H 1

#include "gen_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_WAITS_MAX_BOUNDS 16
/* Answered waits kept per interval for its percentiles; past this a
 * uniform sample of them is kept. */
#define GEN_WAITS_SAMPLES 4096

/* Upper bounds in seconds, increasing. */
typedef struct {
  double bound[GEN_WAITS_MAX_BOUNDS];
  size_t n;
} gen_waits_bounds_t;

/* "WaitBuckets 5 10 20 …": 1 to 16 positive bounds, each greater than the
 * one before. 0, or -EINVAL (logged, naming the key and why). */
int gen_waits_config_bounds(const gen_org_t *org, const oconfig_item_t *ci,
                            gen_waits_bounds_t *b);
/* The same for any increasing bounds in unit, each at most max (INFINITY:
 * no maximum): MosBounds takes the MOS scale's. */
int gen_config_bounds(const gen_org_t *org, const oconfig_item_t *ci,
                      const char *unit, double max, gen_waits_bounds_t *b);

typedef struct {
  int64_t bucket[GEN_WAITS_MAX_BOUNDS + 1]; /* le bound i; the last +Inf */
  int64_t sum_ms;                           /* every wait recorded */
  uint64_t interval_count;                  /* waits this interval */
  double interval_sum;                      /* seconds, this interval */
  double *samples;                          /* at most GEN_WAITS_SAMPLES */
  size_t n_samples, cap_samples;
} gen_waits_t;

/* Records one wait (ms >= 0); returns the first bucket it counts in (it
 * counts in every bucket from there to +Inf). seed: the caller's random
 * state for the sample. */
size_t gen_waits_record(gen_waits_t *w, const gen_waits_bounds_t *b,
                        int64_t wait_ms, uint64_t *seed);

/* The interval's percentiles p[i] (0 < p <= 1) by nearest rank, in
 * seconds, into out[i]; false when the interval has no wait. */
bool gen_waits_quantiles(gen_waits_t *w, const double *p, size_t n,
                         double *out);

/* Starts a new interval (the counters stay). */
void gen_waits_next_interval(gen_waits_t *w);

/* Frees the sample. */
void gen_waits_release(gen_waits_t *w);

/* The type_instance of bucket i: "<prefix>-le5", "<prefix>-le0.5",
 * "<prefix>-le_inf". */
void gen_waits_bucket_label(const gen_waits_bounds_t *b, size_t i,
                            const char *prefix, char *out, size_t size);

#endif /* GEN_WAITS_H */
