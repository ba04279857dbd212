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
 * read in pieces, each page by page (100 conversations a page, the API's
 * maximum) for a batch of up to 100 queues (one segment filter of queueId
 * predicates). A bucket is put and committed once every piece that covers
 * it was read whole: a partial one would be dispatched as if complete, and
 * a bucket read whole is dispatched without waiting for the rest of the
 * range. A piece past the results the query pages through (totalHits above
 * GEN_MOS_RESULTS_MAX, or the 400 "Pagination may not exceed 100000
 * results") is halved, by buckets and then by queues, down to one bucket of
 * one queue; a piece of several buckets whose first page announces more
 * than GEN_MOS_PIECE_PAGES pages is halved by buckets. The query finds
 * every conversation active in its interval, also those that ended after
 * it (each is another piece's), so pages are asked sorted by
 * conversationEnd and read until one reaches the piece's end: a
 * conversation is read about once, not once for every bucket it spans.
 * Where the API refuses that order (a 400) or answers out of it, the org's
 * pieces are asked by conversationStart from then on, and read whole.
 * Pages are read until an empty one, or a short one that reaches totalHits
 * (an approximate count: duplicates are filtered out of the pages). A read
 * makes at most a budget of requests (GEN_MOS_REQUESTS_PER_MINUTE a minute of
 * Interval); a range goes on over as many reads as it takes, and a request that
 * failed and will be retried (429, 5xx, no answer) is asked again at its
 * piece and page by the next read, never the range from its start. A
 * revisit reads the range again and its buckets are replaced whole (late
 * indexed conversations arrive so); its window is CallQualityRevisitWindow.
 */
#ifndef GEN_MOS_H
#define GEN_MOS_H 1

#include "gen_aggregates.h"
#include "gen_family.h"
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
/* Details requests a minute of Interval: a third of the token's 300 a
 * minute (agent status takes another). A 5,000-queue org (about 4,000
 * conversations a minute) needs about 40 pages a minute in steady state. */
#define GEN_MOS_REQUESTS_PER_MINUTE 100
/* A piece of several buckets whose first page announces more pages than
 * this is halved by buckets, so that its buckets leave as they are read. */
#define GEN_MOS_PIECE_PAGES 20
/* Pieces a range in progress holds at once (each halving adds one). */
#define GEN_MOS_PIECES_MAX 64
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
extern const gen_config_table_t gen_mos_keys;

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

/* The request for queue_ids[n] over range (its interval), page page_number
 * (from 1), sorted by conversationEnd (by_end) or conversationStart. The
 * API searches only conversations that started on a UTC day the interval
 * touches: see gen_mos_day_before(). A new reference. */
json_object *gen_mos_query_body(const char *const *queue_ids, size_t n,
                                const gen_interval_range_t *range,
                                long page_number, bool by_end);

/* Whether the ended conversations of the answer doc come in the order of
 * their conversationEnd, none before *last_end_ms (-1: none read yet);
 * *last_end_ms becomes the last end read. Conversations without a
 * readable end are passed over. */
bool gen_mos_page_by_end(json_object *doc, int64_t *last_end_ms);

/* The stats of one range for one batch of queues, filled page by page. */
typedef struct gen_mos_acc_s gen_mos_acc_t;

gen_mos_acc_t *gen_mos_acc_new(const gen_mos_config_t *c,
                               const char *const *queue_ids, size_t n,
                               const gen_interval_range_t *range,
                               int64_t granularity_ms);
void gen_mos_acc_free(gen_mos_acc_t *a);
/* Sessions with a selected queue passed over for an unknown media type. */
size_t gen_mos_acc_unknown_sessions(const gen_mos_acc_t *a);
/* Where a's media types this version does not know are counted (field
 * "mediaType"; sink kept, NULL: nowhere). */
void gen_mos_acc_unknown_to(gen_mos_acc_t *a, const gen_unknown_sink_t *sink);

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

/* Puts every (queue, media, bucket) with a conversation among the buckets
 * starting in [from_ms, to_ms) into engine: scope the queue id, key {queue
 * id, media}. 0 or a negative errno. */
int gen_mos_acc_put(const gen_mos_acc_t *a, gen_interval_t *engine,
                    int64_t from_ms, int64_t to_ms);

/* Where the values go: host, plugin, granularity, and the queues of org
 * that name a queue id's plugin_instance as every plugin names them
 * (gen_entity_label). */
typedef struct {
  const gen_mos_config_t *config;
  const char *host, *plugin;
  int64_t granularity_ms;
  const gen_org_t *org;
  const gen_entity_set_t *queues;
} gen_mos_output_t;

/* The engine's sink for out (borrowed while the sink is used): per bucket
 * mos_conversations, mos_min, mos_avg, mos_at_or_below ("<media>") and
 * mos_bucket ("<media>-le<bound>", "<media>-le_inf"); the totals
 * total_mos_conversations, total_mos_at_or_below, total_mos_sum_hundredths
 * and total_mos_bucket, DERIVE. The same for the R-factor: rfactor_min,
 * rfactor_avg, rfactor_bucket, total_rfactor_bucket and
 * total_rfactor_sum_hundredths. */
gen_interval_sink_t gen_mos_sink(gen_mos_output_t *out);

/* One piece of a range in progress: what one paged query asks for. */
typedef struct {
  gen_interval_range_t ask; /* the interval asked */
  int64_t cover_ms;         /* its first bucket: those before are not its */
  int64_t until_ms;         /* conversations ending from here are not its */
  int64_t last_end_ms;      /* the last conversationEnd read, -1: none */
  size_t first, n;          /* its queues: the batch's first to first + n */
  long page;                /* the next page asked, from 1 */
  bool day_before;          /* gen_mos_day_before()'s sliver follows */
} gen_mos_piece_t;

/* The instance's call quality in progress, over as many reads as it takes:
 * the batch a read begins with, and the range being read for one batch of
 * queues (its queue ids owned, its conversations so far, the pieces left,
 * a stack whose top is read next, and how far it was committed). Dropped
 * (begun afresh) when the queue set changes or a request failed for good. */
typedef struct {
  bool started;
  size_t batch; /* the batch of the range in progress */
  char **ids;
  size_t n_ids;
  gen_interval_range_t range; /* as planned */
  int64_t done_ms;            /* committed up to here */
  gen_mos_acc_t *acc;
  gen_mos_piece_t piece[GEN_MOS_PIECES_MAX];
  size_t n_pieces;
  gen_unknown_sink_t unknown; /* where acc counts unknown media types */
} gen_mos_progress_t;

/* Drops the range in progress. */
void gen_mos_progress_reset(gen_mos_progress_t *p);

/* One org's call quality across reads: its configuration and bucket
 * length, its range in progress and where the next read goes on, and
 * whether the API sorts by conversationEnd (by_start once it refused to or
 * answered out of that order). */
typedef struct {
  const gen_mos_config_t *config;
  int64_t granularity_ms;
  bool by_start;
  gen_mos_progress_t progress;
  gen_family_cursor_t cursor;
  const gen_interval_sink_t *sink; /* during a collection */
} gen_mos_reading_t;

/* The ranges due of run per batch of per queues of set (at most
 * GEN_MOS_MAX_QUEUES), through the one request loop (gen_family_ranges):
 * from the batch of the cursor on and round, within the run's budget, a
 * batch whose budget ran out resumed first by the next read at its piece
 * and page, a retried request resumed where it stopped, a batch failing
 * for good passed by the next read (what was committed stays); each bucket
 * put and committed through sink once every piece covering it was read.
 * queues_generation changes whenever the queue set does. 0, the failure,
 * or -ENOMEM. */
int gen_mos_collect(gen_mos_reading_t *m, const gen_family_run_t *run,
                    const gen_interval_sink_t *sink,
                    const gen_entity_set_t *set, size_t per,
                    uint64_t queues_generation);

#endif /* GEN_MOS_H */
