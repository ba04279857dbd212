/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the live workitem backlog of genesys_realtime
 * (Workitems): POST /api/v2/analytics/taskmanagement/metrics/query, one
 * request a queue (the record: "a single queueId predicate is always
 * required"), grouped by queueId and statusCategory, paged by the cursor
 * `after` at pageSize 200 (the record's maximum). Each selected queue is
 * asked at most once every WorkitemsEvery, the longest-unasked first,
 * within WorkitemsRequests a minute (a sliding minute, every page one).
 * From the read callback only.
 *
 * Per queue and status category (type instance "<what>-<category>"):
 * workitems unassigned and assigned, workitems_due within
 * WorkitemsDueHours (24 or 72), workitems_overdue, and
 * workitem_oldest_unassigned (seconds) when the answer has it. The three
 * backlog categories (open, in_progress, waiting) are dispatched as 0 when
 * a queue's answer has none of them; closed and unknown only as answered.
 *
 * Shape of a row of the realtime feature table: new(config) / free /
 * run(ctx, now) / put / stats.
 */
#ifndef GEN_WORKITEMS_H
#define GEN_WORKITEMS_H 1

#include "gen_client.h"
#include "gen_config.h"
#include "gen_dispatch.h"
#include "gen_entity.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  bool on;         /* Workitems */
  cdtime_t every;  /* WorkitemsEvery: the most often a queue is asked */
  long per_minute; /* WorkitemsRequests: the budget */
  long due_hours;  /* WorkitemsDueHours: 24 or 72 (the qualifier) */
} gen_workitems_config_t;

extern const gen_config_table_t gen_workitems_keys;

#define GEN_WI_FAMILY "workitems"
#define GEN_WI_MAX_PER_MINUTE 300
/* The record's largest pageSize. */
#define GEN_WI_PAGE_SIZE 200

/* The status categories of TaskManagementObservationGroupResult. */
enum {
  GEN_WI_OPEN,
  GEN_WI_IN_PROGRESS,
  GEN_WI_WAITING,
  GEN_WI_CLOSED,
  GEN_WI_UNKNOWN,
  GEN_WI_CATS
};
/* The metrics asked. */
enum {
  GEN_WI_UNASSIGNED, /* oWorkitemsUnassigned stats.count */
  GEN_WI_ASSIGNED,   /* oWorkitemsAssigned stats.count */
  GEN_WI_DUE,        /* oWorkitemsDue (qualifier) stats.count */
  GEN_WI_OVERDUE,    /* oWorkitemsOverDue stats.count */
  GEN_WI_OLDEST,     /* oWorkitemOldestUnassigned stats.max */
  GEN_WI_METRICS
};

/* One queue's values: v[category][metric], have bit 1 << metric. */
typedef struct {
  int64_t v[GEN_WI_CATS][GEN_WI_METRICS];
  unsigned have[GEN_WI_CATS];
} gen_wi_values_t;

/* The request body for queue_id (a plain id) asking the Due qualifier
 * "Hours<due_hours>". A malloc'd string, NULL without memory. */
char *gen_wi_request(const char *queue_id, long due_hours);

/* Reads one page of a TaskManagementObservationQueryResponse into *v
 * (added: a page adds to the pages before). A metric name, status category
 * or qualifier this version does not know is counted in client's
 * unknown_values (workitems-metric, -status_category, -qualifier; client
 * NULL: not counted) and skipped, the rest read. oWorkitemOldestUnassigned's
 * stats.max (its unit UNCONFIRMED) becomes an age in milliseconds: a value
 * of 10^12 or more is taken as the epoch milliseconds of the oldest (age
 * now_ms - max, never below 0), a smaller one as an age in milliseconds. A
 * result or datum of another queue, without a category, or a count that is not
 * an integer of 0..2^53 (beyond refused, as every reader of ours does) is
 * skipped and counted in *malformed. The next page's cursor (cursors.after)
 * goes to after (""; none). 0, or -EBADMSG when the text is not such a document
 * (reason in err). */
int gen_wi_read(gen_client_t *client, const char *text, size_t len,
                const char *queue_id, long due_hours, int64_t now_ms,
                gen_wi_values_t *v, size_t *malformed, char *after,
                size_t after_size, char *err, size_t err_size);

typedef struct gen_workitems gen_workitems_t;

/* NULL when off (or out of memory: the caller tells). */
gen_workitems_t *gen_workitems_new(const gen_workitems_config_t *c);
void gen_workitems_free(gen_workitems_t *w);

/* One read at now (the monotonic clock): the queues of queues due, the
 * longest-unasked first, within the budget. A queue no longer listed is
 * forgotten. A 403 stops the family (said once, gen_client_family); a
 * failed or malformed answer leaves the queue's values out until one is
 * read (counted, logged rate-limited). Returns the requests made. */
size_t gen_workitems_run(gen_workitems_t *w, gen_client_t *client,
                         const gen_entity_set_t *queues, cdtime_t now);

/* Puts queue_id's values (see above) when its last answer was read. */
void gen_workitems_put_queue(const gen_workitems_t *w, const char *queue_id,
                             gen_put_t put, void *ud);

/* Its self-metrics: requests made, queues left unasked (or their pages
 * cut) for lack of budget, queues whose answer failed. */
void gen_workitems_dispatch_stats(const gen_workitems_t *w, const char *host,
                                  const char *plugin);

#endif /* GEN_WORKITEMS_H */
