/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the estimated wait time of genesys_realtime
 * (EstimatedWaitTime): GET /api/v2/routing/queues/{id}/mediatypes/{media}/
 * estimatedwaittime, one request a queue and media type: Genesys' estimate
 * for an interaction entering the queue now (no conversation is named; its
 * sibling route takes a conversationId for one already waiting). At 5,000
 * queues a sweep costs more than the API gives a client in minutes, so it is
 * asked only where it means something: the queue and media types that have
 * conversations waiting now (the live state knows), each at most once every
 * EstimatedWaitTimeEvery, the longest-unasked first, within
 * EstimatedWaitTimeRequests a minute (a sliding minute: never more in any
 * 60 s). From the read callback only. A pair with nobody waiting is not
 * asked and its value is not dispatched (absent, not zero).
 *
 * What it keeps of a queue and media type lives in gen_live_media_t (ewt),
 * so that a new listing carries it with the rest of the queue's state.
 */
#ifndef GEN_EWT_H
#define GEN_EWT_H 1

#include "gen_client.h"
#include "gen_config.h"
#include "gen_dispatch.h"
#include "gen_entity.h"
#include "gen_live.h"
#include "gen_minute.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  bool on;         /* EstimatedWaitTime */
  cdtime_t every;  /* EstimatedWaitTimeEvery: the most often a pair is asked */
  long per_minute; /* EstimatedWaitTimeRequests: the budget */
} gen_ewt_config_t;

extern const gen_config_table_t gen_ewt_keys;

/* The family's name in the log and notifications (gen_client_family). */
#define GEN_EWT_FAMILY "estimated wait time"
/* The most EstimatedWaitTimeRequests takes: the API's 300 requests a
 * minute of one OAuth client. */
#define GEN_EWT_MAX_PER_MINUTE 300

/* The path's mediaType of media m (a gen_media_t): "call" for voice,
 * "videoComm" for video; NULL for a media type the API has no estimate of
 * (cobrowse, screenshare). */
const char *gen_ewt_path_media(int m);

/* Reads an EstimatedWaitTimePredictions answer ({"results": [...]}): the
 * estimate of a result without a label, else of a labelled one, and of
 * those the first whose formula is BEST, else the first; a formula word
 * this version does not know is counted in client's unknown_values
 * (ewt-formula; client NULL: not counted) and taken as any other. A result
 * without an integer estimatedWaitTimeSeconds, or a negative one, is
 * skipped and counted in *malformed. 0 and *seconds; -ENODATA when no
 * result is left (none, or every one skipped); -EBADMSG when the text is
 * not such a document (reason in err). */
int gen_ewt_read(gen_client_t *client, const char *text, size_t len,
                 int64_t *seconds, size_t *malformed, char *err,
                 size_t err_size);

/* A pair that may be asked: queue index, media type, when last asked (0:
 * never). */
typedef struct {
  size_t queue;
  int media;
  cdtime_t asked;
} gen_ewt_due_t;

/* Orders due[0..n-1] longest-unasked first (never asked first; ties by
 * queue, then media) and returns how many of them to ask: at most budget.
 * The rest were left unasked for lack of budget. */
size_t gen_ewt_choose(gen_ewt_due_t *due, size_t n, size_t budget);

/* The pairs of the n queues of l due at now: media types put (MediaType)
 * that the API has an estimate of, with conversations waiting, not asked
 * within every. A pair with nobody waiting forgets its estimate. *due is
 * allocated (free it); returns their number, or -ENOMEM. */
ssize_t gen_ewt_collect(gen_live_t *l, size_t n, cdtime_t now, cdtime_t every,
                        gen_ewt_due_t **due);

typedef struct gen_ewt gen_ewt_t;

/* NULL when the family is off (or out of memory: the caller tells). */
gen_ewt_t *gen_ewt_new(const gen_ewt_config_t *c);
void gen_ewt_free(gen_ewt_t *e);

/* Requests the sliding minute allows at now. */
size_t gen_ewt_budget(const gen_ewt_t *e, cdtime_t now);
/* One request made at now (counted in the sliding minute). */
void gen_ewt_spent(gen_ewt_t *e, cdtime_t now);

/* One read: asks the pairs due (gen_ewt_collect, gen_ewt_choose) within the
 * budget through client's handle, the state under lock (only the read
 * thread changes queues: read without it). A 403 for the permission stops
 * the family (said once, gen_client_family); a malformed answer or result
 * is counted and logged (rate-limited). now: the monotonic clock
 * (gen_monotonic), so that a step of the wall clock neither frees the
 * sliding minute nor makes every pair due. Returns the requests made. */
size_t gen_ewt_run(gen_ewt_t *e, gen_client_t *client, pthread_mutex_t *lock,
                   const gen_entity_set_t *queues, gen_live_t *live,
                   cdtime_t now);

/* Puts queue i's estimates ("estimated_wait", type instance the media
 * type) of the media types with conversations waiting now. */
void gen_ewt_put_queue(const gen_live_t *l, size_t i, gen_put_t put, void *ud);

/* Its self-metrics: requests made, pairs left unasked for lack of budget,
 * failed requests. */
void gen_ewt_dispatch_stats(const gen_ewt_t *e, const char *host,
                            const char *plugin);

#endif /* GEN_EWT_H */
