/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: ISO-8601 times, intervals and durations, and bucket
 * arithmetic. All times are UTC.
 */
#ifndef GEN_TIME_H
#define GEN_TIME_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/utils_time.h"

#include <stdbool.h>
#include <stdint.h>

/* Longest text gen_time_format() writes, NUL included. */
#define GEN_TIME_STRLEN sizeof("2026-05-14T10:00:00.000Z")
#define GEN_INTERVAL_STRLEN (2 * GEN_TIME_STRLEN)

/* Parses "YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]" into epoch milliseconds.
 * Returns 0 or -EINVAL. A time without a zone is taken as UTC. */
int gen_time_parse(const char *text, int64_t *epoch_ms);
/* Writes "YYYY-MM-DDThh:mm:ss.fffZ". */
void gen_time_format(int64_t epoch_ms, char *buf, size_t size);

/* The offset of a server's clock from ours (server minus ours, ms), from
 * its answers' Date headers: an answer whose Date (whole seconds) is d,
 * asked at our sent and had at our received, says the offset is within
 * [d - received, d + 1000 - sent]. The ranges of the answers noted are
 * intersected (answers in other fractions of a second narrow it); one that
 * does not overlap starts it again (a clock stepped). */
typedef struct {
  int64_t lo, hi;
  bool have;
} gen_clock_offset_t;
void gen_clock_offset_note(gen_clock_offset_t *o, int64_t date_ms,
                           int64_t sent_ms, int64_t received_ms);
/* 0 while 0 is within the range (nothing shows the clocks differ), else
 * the middle of the range. */
int64_t gen_clock_offset(const gen_clock_offset_t *o);

/* Parses "start/end" (two ISO-8601 times). */
int gen_interval_parse(const char *text, int64_t *start_ms, int64_t *end_ms);
void gen_interval_format(int64_t start_ms, int64_t end_ms, char *buf,
                         size_t size);

/* Parses an ISO-8601 duration such as "PT5M", "PT1H", "P1D", "P1DT12H",
 * "PT30S" into milliseconds. Years and months are refused (no fixed
 * length). Returns 0 or -EINVAL. */
int gen_duration_parse(const char *text, int64_t *ms);
/* Writes the shortest ISO-8601 form: "PT5M", "PT1H", "P1D", "PT90S". */
void gen_duration_format(int64_t ms, char *buf, size_t size);

/* Start of the bucket that holds t, for buckets of size ms aligned to the
 * epoch (UTC midnight for whole-day sizes). */
int64_t gen_bucket_floor(int64_t t_ms, int64_t size_ms);

static inline int64_t gen_cdtime_to_ms(cdtime_t t) {
  return (int64_t)CDTIME_T_TO_MS(t);
}
static inline cdtime_t gen_ms_to_cdtime(int64_t ms) {
  return MS_TO_CDTIME_T(ms < 0 ? 0 : ms);
}

/* CLOCK_MONOTONIC as a cdtime_t: for durations (how long a socket has been
 * silent), which a step of the wall clock must not change. */
cdtime_t gen_monotonic(void);

/* CLOCK_BOOTTIME as a cdtime_t: as CLOCK_MONOTONIC, but it also counts
 * the time the host was suspended, as the etcd that keeps a lease does. */
cdtime_t gen_boottime(void);

/* The clock every lease and fence deadline is read on (gen_standby's
 * lease, gen_dispatch's fences): gen_boottime, so that a holder resumed
 * from a suspend longer than its lease finds its fence closed. A test sets
 * a clock of its own (one that jumps as after a suspend), and puts
 * gen_boottime back. */
extern cdtime_t (*gen_lease_clock)(void);

#endif /* GEN_TIME_H */
