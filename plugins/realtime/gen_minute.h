/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a sliding minute of requests, the budget of
 * genesys_realtime's read-driven families (EstimatedWaitTimeRequests,
 * AgentStatesRequests): never more than n requests in any 60 s, not n a
 * minute on average (a bucket of tokens lets twice that through a minute
 * that begins full). The times of the last n requests, a ring whose oldest
 * is at head.
 */
#ifndef GEN_MINUTE_H
#define GEN_MINUTE_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/utils_time.h"

#include <stddef.h>

typedef struct {
  cdtime_t *sent; /* 0: a slot never used */
  size_t n, head;
} gen_minute_t;

/* n requests a minute (at least 1). 0 or -ENOMEM. */
int gen_minute_init(gen_minute_t *m, size_t n);
void gen_minute_free(gen_minute_t *m);
/* Requests the minute allows at now (the monotonic clock). */
size_t gen_minute_left(const gen_minute_t *m, cdtime_t now);
/* One request made at now. */
void gen_minute_spend(gen_minute_t *m, cdtime_t now);

#endif /* GEN_MINUTE_H */
