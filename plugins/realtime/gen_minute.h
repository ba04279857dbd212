/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a sliding minute of requests, the budget of
 * genesys_realtime's read-driven families (EstimatedWaitTimeRequests,
 * AgentStatesRequests, CampaignsRequests, AdherenceRequests), and how
 * their requests' failures are told: never more than n requests in any
 * 60 s, not n a
 * minute on average (a bucket of tokens lets twice that through a minute
 * that begins full). The times of the last n requests, a ring whose oldest
 * is at head.
 */
#ifndef GEN_MINUTE_H
#define GEN_MINUTE_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/utils_time.h"

#include "gen_client.h"
#include "gen_log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  cdtime_t *sent; /* 0: a slot never used */
  size_t n, head;
} gen_minute_t;

/* n requests a minute (at least 1). 0 or -ENOMEM. */
int gen_minute_init(gen_minute_t *m, size_t n);
void gen_minute_free(gen_minute_t *m);
/* Requests the minute allows at now (the monotonic clock). */
size_t gen_minute_left(const gen_minute_t *m, cdtime_t now);
/* n requests made at now. */
void gen_minute_spend(gen_minute_t *m, uint64_t n, cdtime_t now);
/* Whether a step of cost requests may go at now: the minute has room for
 * it, or (a step beyond a whole minute) the minute is empty. */
bool gen_minute_room(const gen_minute_t *m, size_t cost, cdtime_t now);

/* A request of family that ended with status (err: why): a refusal of its
 * permission is said once (gen_client_family) and returns true; another
 * failure is counted in *failures and logged through rl as "<family>:
 * <what>: <err>"; false. */
bool gen_minute_outcome(gen_client_t *client, const char *family, int status,
                        const char *err, const char *what, uint64_t *failures,
                        gen_ratelimit_t *rl);

#endif /* GEN_MINUTE_H */
