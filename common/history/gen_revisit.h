/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the revisit schedule of closed-interval collection
 * (RevisitAt): each bucket is asked for again once at each of a few ages
 * (24 h, 72 h, …), so that Genesys' nightly reprocessing of data 48 hours
 * old and older is taken at a few requests a bucket, not by asking for
 * every bucket of a 72-hour window again with each new one.
 *
 * Progress at one age (a stage) is a watermark per scope: every bucket
 * starting before it had its revisit at that age, or needs none (it was
 * first fetched when already older than the age). Buckets are done in time
 * order, so one number per scope and stage is the whole schedule, and the
 * state file keeps it across restarts (gen_interval).
 */
#ifndef GEN_REVISIT_H
#define GEN_REVISIT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_REVISIT_MAX 8                        /* ages in a schedule */
#define GEN_REVISIT_MAX_AGE_MS (31LL * 86400000) /* 31 days */
/* A watermark not known yet (a state file without it). */
#define GEN_REVISIT_UNSET INT64_MIN

typedef struct {
  int64_t age_ms[GEN_REVISIT_MAX]; /* ascending, distinct, > 0 */
  size_t n;
} gen_revisit_t;

/* Adds the ages written in text to r (kept ascending): ages separated by
 * blanks or commas, each a whole number with a unit s, m, h or d ("90m",
 * "24h", "3d"), or without one in seconds. Returns 0, or -EINVAL with why
 * naming the age and the reason (not an age, zero, over 31 days, given
 * twice, more than GEN_REVISIT_MAX); r is then unchanged. */
int gen_revisit_parse(gen_revisit_t *r, const char *text, char *why,
                      size_t why_size);

/* An age as RevisitAt takes it, in the largest unit that divides it
 * ("100h", "90m", "45s"; hours, not days, as the ages are usually given). */
void gen_revisit_age_format(int64_t age_ms, char *out, size_t size);

/* Adds one age to r (as gen_revisit_parse; label names it in why). */
int gen_revisit_add(gen_revisit_t *r, int64_t age_ms, const char *label,
                    char *why, size_t why_size);

/* The buckets of one scope due at age age_ms at now_ms, buckets of g ms:
 * from the watermark w (not before origin) up to the first bucket that has
 * not been that old for a whole bucket yet or not fetched yet (done_until).
 * Returns true with [*start, *end) when there is at least one. */
bool gen_revisit_due(int64_t age_ms, int64_t w, int64_t origin,
                     int64_t done_until, int64_t now_ms, int64_t g,
                     int64_t *start, int64_t *end);

/* The watermark after the buckets [from, to) of a scope were first fetched
 * at now_ms: those already older than age_ms need no revisit at it, when
 * no bucket before them still waits for one (w ≥ from, or w at the due
 * limit); otherwise w unchanged (those buckets are asked for once more at
 * that age, which changes nothing). */
int64_t gen_revisit_after_fetch(int64_t age_ms, int64_t w, int64_t from,
                                int64_t to, int64_t now_ms, int64_t g);

/* The watermark of a stage the state file did not have (a scope from an
 * older file, an age added to the schedule): the buckets already past the
 * age are left alone, the younger ones get their revisit. */
int64_t gen_revisit_start(int64_t age_ms, int64_t origin, int64_t now_ms,
                          int64_t g);

#endif /* GEN_REVISIT_H */
