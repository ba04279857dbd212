/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: call quality (MOS) per queue, media type and closed
 * interval, from the conversation details query.
 *
 * POST /api/v2/analytics/conversations/details/query finds the
 * conversations active in an interval; each ended one that carries a
 * mediaStatsMinConversationMos (the lowest MOS of its audio streams) counts
 * in the bucket of its conversationEnd, once for every selected queue it
 * has a segment in, under the media type of that segment's session. Per
 * (queue, media, bucket): cumulative counts at or below each bound
 * (MosBounds; +Inf is the count), the count, the sum (in hundredths, so
 * totals stay exact integers), the minimum and the conversations at or
 * below MosThreshold; the same from the same page for the conversation's
 * lowest R-factor (mediaStatsMinConversationRFactor, RFactorBounds). Never
 * one series per conversation. A session of an unknown media type is passed
 * over (counted), not its conversation; internalmessage sessions (staff to
 * staff, no customer audio) are passed over silently.
 *
 * The closed-interval engine (gen_interval) plans the ranges; a range is
 * read page by page (100 conversations a page, the API's maximum) for a
 * batch of up to 100 queues (one segment filter of queueId predicates),
 * and only a range read whole is put and committed: a partial one would be
 * dispatched as if complete. A range past the results the query pages
 * through (totalHits above GEN_MOS_RESULTS_MAX, or the 400 "Pagination may
 * not exceed 100000 results") is halved, by buckets and then by queues,
 * down to one bucket of one queue, within the same read. Pages are read
 * until an empty one, or a short one that reaches totalHits (an
 * approximate count: duplicates are filtered out of the pages). A revisit
 * reads the range again and its buckets are replaced whole (late indexed
 * conversations arrive so); its window is CallQualityRevisitWindow.
 */
#ifndef GEN_MOS_H
#define GEN_MOS_H 1

#include "gen_aggregates.h"
#include "gen_interval.h"
#include "gen_interval_config.h"
#include "gen_waits.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_MOS_PATH "/api/v2/analytics/conversations/details/query"
#define GEN_MOS_PAGE_SIZE 100 /* PagingSpec: the documented maximum */
/* Results one query pages through ("Pagination may not exceed 100000
 * results", tests/sim/README.md): a range with more is split. */
#define GEN_MOS_RESULTS_MAX 100000
/* The longest interval the details query takes (31 days). */
#define GEN_MOS_INTERVAL_MAX_MS (31 * 86400000LL)
#define GEN_MOS_RFACTOR_MAX 100.0
#define GEN_MOS_MAX_QUEUES 100 /* queueId predicates a request */
#define GEN_MOS_SCALE_MIN 1.0
#define GEN_MOS_SCALE_MAX 5.0

typedef struct {
  bool on;                      /* CallQuality */
  gen_waits_bounds_t bounds;    /* MosBounds */
  double threshold;             /* MosThreshold */
  int64_t max_length_ms;        /* CallQualityMaxLength */
  gen_waits_bounds_t rf_bounds; /* RFactorBounds */
  cdtime_t revisit;             /* CallQualityRevisitWindow */
} gen_mos_config_t;

/* Off; bounds 3.0 3.5 4.0 4.2 4.5, threshold 4.2, max length 4 h, R-factor
 * bounds 50 60 70 80 90, revisit window 10 min. */
void gen_mos_config_init(gen_mos_config_t *c);
/* CallQuality, MosBounds, MosThreshold, CallQualityMaxLength,
 * RFactorBounds, CallQualityRevisitWindow: 0, a negative errno (logged
 * naming key, value and why), or GEN_CONFIG_NOT_MINE. */
int gen_mos_config_key(const gen_org_t *org, const oconfig_item_t *ci,
                       gen_mos_config_t *c);

/* The call quality engine (state "<stem>-<org>-mos.json"): ic with c's
 * revisit window. NULL, logged naming the key, value and why, when one
 * bucket plus CallQualityMaxLength passes the query's 31 days. Ranges are
 * kept within them (split) at read time. */
gen_interval_t *gen_mos_engine(const gen_org_t *org, const gen_mos_config_t *c,
                               const gen_interval_config_t *ic,
                               const char *stem, const gen_log_org_t *who);

/* The start-up line's part for n queues asked per_batch at a time (at most
 * 100): the requests a range costs (one a batch, one more per 100
 * conversations, split past the results the query pages through) and the
 * revisit window. */
void gen_mos_describe(const gen_mos_config_t *c, size_t n_queues,
                      size_t per_batch, char *buf, size_t size);

/* The request for queue_ids[n] over range (its interval), page page_number
 * (from 1). The API searches only conversations that started on a UTC day
 * the interval touches: see gen_mos_day_before(). A new reference. */
/* For a range that starts less than max_length_ms after a UTC midnight (a
 * conversation that began the day before may have ended in it), the
 * interval that finds those: the two milliseconds around that midnight
 * (such a conversation was active then), true; else false. Not the range
 * widened back by max_length_ms: that found every conversation of the
 * widened interval, 4 h of them a bucket by default, and one queue's
 * could pass the results the query pages through. */
bool gen_mos_day_before(const gen_mos_config_t *c,
                        const gen_interval_range_t *range,
                        gen_interval_range_t *sliver);

json_object *gen_mos_query_body(const gen_mos_config_t *c,
                                const char *const *queue_ids, size_t n,
                                const gen_interval_range_t *range,
                                long page_number);

/* The stats of one range for one batch of queues, filled page by page. */
typedef struct gen_mos_acc_s gen_mos_acc_t;

gen_mos_acc_t *gen_mos_acc_new(const gen_mos_config_t *c,
                               const char *const *queue_ids, size_t n,
                               const gen_interval_range_t *range,
                               int64_t granularity_ms);
void gen_mos_acc_free(gen_mos_acc_t *a);
/* Sessions with a selected queue passed over for an unknown media type. */
size_t gen_mos_acc_unknown_sessions(const gen_mos_acc_t *a);

/* Adds one answer page. *total_hits and *n_page are the answer's totalHits
 * and its conversations. Returns 0, or -EINVAL with the reason in err when
 * the page cannot be trusted as a whole (not an object, conversations not
 * an array, no totalHits). Conversations seen on an earlier page, and those
 * not ended, without a MOS or ending outside the range are passed over;
 * those that cannot be read (no id, a bad time, a MOS outside 1..5 or not a
 * number, an R-factor outside 0..100, no selected queue of a known media
 * type) are skipped and counted in *skipped. */
int gen_mos_acc_page(gen_mos_acc_t *a, json_object *doc, int64_t *total_hits,
                     size_t *n_page, size_t *skipped, char *err,
                     size_t err_size);

/* Puts every (queue, media, bucket) with a conversation into engine: scope
 * the queue id, key {queue id, media}. 0 or a negative errno. */
int gen_mos_acc_put(const gen_mos_acc_t *a, gen_interval_t *engine);

/* Where the values go: host, plugin, granularity and the plugin_instance
 * of a queue id (written to buf). */
typedef struct {
  const gen_mos_config_t *config;
  const char *host, *plugin;
  int64_t granularity_ms;
  const char *(*instance)(void *ud, const char *queue_id, char *buf,
                          size_t size);
  void *ud;
} gen_mos_output_t;

/* The instance of gen_mos_output_t for queues named as every plugin names
 * them (gen_entity_label); its ud is a gen_mos_queues_t. */
typedef struct {
  const gen_org_t *org;
  const gen_entity_set_t *queues;
} gen_mos_queues_t;
const char *gen_mos_queue_label(void *ud, const char *queue_id, char *buf,
                                size_t size);

/* The engine's sink for out (borrowed while the sink is used): per bucket
 * mos_conversations, mos_min, mos_avg, mos_at_or_below ("<media>") and
 * mos_bucket ("<media>-le<bound>", "<media>-le_inf"); the totals
 * total_mos_conversations, total_mos_at_or_below, total_mos_sum_hundredths
 * and total_mos_bucket, DERIVE. The same for the R-factor: rfactor_min,
 * rfactor_avg, rfactor_bucket, total_rfactor_bucket and
 * total_rfactor_sum_hundredths. */
gen_interval_sink_t gen_mos_sink(gen_mos_output_t *out);

/* Every range due (at most max_ranges) for one batch of queues: every page
 * of it (split when past the results the query pages through), then put
 * and commit, or abort on any failure (logged, counted in counts; the
 * cycle stops). counts->queries counts the requests made. */
typedef struct {
  gen_interval_t *engine;
  gen_client_t *client;
  gen_agg_counts_t *counts;
  const gen_mos_config_t *config;
  int64_t granularity_ms;
  const gen_interval_sink_t *sink;
  /* The time ranges are planned at; 0: the clock (a replay plans at the
   * end of its window). */
  int64_t at_ms;
} gen_mos_job_t;

int gen_mos_collect(const gen_mos_job_t *job, const char *const *queue_ids,
                    size_t n, int max_ranges);

/* gen_mos_collect for every batch of per queues of set (at most
 * GEN_MOS_MAX_QUEUES), until one fails: 0, that failure, or -ENOMEM. */
int gen_mos_collect_set(const gen_mos_job_t *job, const gen_entity_set_t *set,
                        size_t per, int max_ranges);

#endif /* GEN_MOS_H */
