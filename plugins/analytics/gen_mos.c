/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: call quality (MOS) from the conversation details query
 * (see gen_mos.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_mos.h"

#include "gen_buf.h"
#include "gen_config.h"
#include "gen_err.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_names.h"
#include "gen_time.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY_MS 86400000LL
/* (queue, media) pairs one conversation counts for: more is malformed. */
#define MOS_MAX_PAIRS 16

/* ---- configuration ------------------------------------------------------ */

void gen_mos_config_init(gen_mos_config_t *c) {
  memset(c, 0, sizeof(*c));
  gen_config_defaults(&gen_mos_keys, c);
}

/* MosBounds or RFactorBounds, told apart by their scale's top. */
static int bounds_key(const gen_org_t *org, const oconfig_item_t *ci,
                      const gen_config_def_t *def, void *field) {
  return gen_config_bounds(org, ci,
                           def->max == GEN_MOS_RFACTOR_MAX ? "R-factor" : "MOS",
                           def->max, field);
}

static int mos_threshold(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_def_t *def, void *field) {
  double v = ci->values_num == 1 ? ci->values[0].value.number : NAN;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER ||
      !(v >= def->min && v <= def->max)) {
    gen_config_error(org, ci, "takes one number on the MOS scale, 1 to 5");
    return -EINVAL;
  }
  *(double *)field = v;
  return 0;
}

static int max_length(const gen_org_t *org, const oconfig_item_t *ci,
                      const gen_config_def_t *def, void *field) {
  cdtime_t t;
  int status = gen_config_seconds(org, ci, def->min, def->max, &t);
  if (status == 0)
    *(int64_t *)field = (int64_t)CDTIME_T_TO_MS(t);
  return status;
}

#define MC gen_mos_config_t
static const gen_config_def_t mos_defs[] = {
    GEN_KEY_BOOL("CallQuality", MC, on, false,
                 "the MOS and R-factor of ended conversations"),
    {"MosBounds", GEN_CFG_LIST, offsetof(MC, bounds), .max = GEN_MOS_SCALE_MAX,
     .shown = "3.0 3.5 4.0 4.2 4.5", .text_default = true,
     .values = "1 to 16 increasing numbers up to 5",
     .doc = "upper bounds of the cumulative MOS buckets", .parse = bounds_key},
    {"MosThreshold", GEN_CFG_NUMBER, offsetof(MC, threshold),
     .min = GEN_MOS_SCALE_MIN, .max = GEN_MOS_SCALE_MAX,
     GEN_DEFAULT(MC, threshold, 4.2),
     .doc = "conversations at or below this MOS are counted",
     .parse = mos_threshold},
    {"RFactorBounds", GEN_CFG_LIST, offsetof(MC, rf_bounds),
     .max = GEN_MOS_RFACTOR_MAX, .shown = "50 60 70 80 90",
     .text_default = true, /* ITU-T G.107's user satisfaction categories */
     .values = "1 to 16 increasing numbers up to 100",
     .doc = "upper bounds of the cumulative R-factor buckets",
     .parse = bounds_key},
    GEN_KEY_SECONDS("CallQualityRevisitWindow", MC, revisit, 0, 7 * 86400, 600,
                    "buckets this recent are read again"),
    {"CallQualityMaxLength", GEN_CFG_SECONDS, offsetof(MC, max_length_ms),
     .min = 60, .max = 7 * 86400, .shown = "14400", .text_default = true,
     .doc = "the longest conversation expected", .parse = max_length},
};
#undef MC

const gen_config_table_t gen_mos_keys = GEN_CONFIG_TABLE(mos_defs);

gen_interval_t *gen_mos_engine(const gen_org_t *org, const gen_mos_config_t *c,
                               const gen_interval_config_t *ic,
                               const char *stem, const gen_log_org_t *who) {
  if (ic->granularity_ms + c->max_length_ms > GEN_MOS_INTERVAL_MAX_MS) {
    gen_org_log(org, NULL, LOG_ERR,
                "CallQualityMaxLength %lld: one bucket of %lld s plus this "
                "passes the 31 days the conversation details query takes",
                (long long)(c->max_length_ms / 1000),
                (long long)(ic->granularity_ms / 1000));
    return NULL;
  }
  gen_interval_config_t own = *ic;
  own.revisit = c->revisit;
  /* Its late data is the details index's delay, minutes: no RevisitAt. */
  own.revisit_at = (gen_revisit_t){.n = 0};
  return gen_interval_config_engine(&own, stem, org->name, "-mos", who);
}

void gen_mos_describe(const gen_mos_config_t *c, size_t n_queues,
                      size_t per_batch, char *buf, size_t size) {
  if (per_batch == 0 || per_batch > GEN_MOS_MAX_QUEUES)
    per_batch = GEN_MOS_MAX_QUEUES;
  size_t batches = (n_queues + per_batch - 1) / per_batch;
  snprintf(buf, size,
           "on (requests a range: %zu, one a batch of up to %zu queues, "
           "and one more per %d conversations, split past %d; revisits "
           "over %lld s)",
           batches, per_batch, GEN_MOS_PAGE_SIZE, GEN_MOS_RESULTS_MAX,
           (long long)CDTIME_T_TO_TIME_T(c->revisit));
}

/* ---- the request -------------------------------------------------------- */

static json_object *predicate(const char *dimension) {
  json_object *p = json_object_new_object();
  json_object_object_add(p, "type", json_object_new_string("dimension"));
  json_object_object_add(p, "dimension", json_object_new_string(dimension));
  json_object_object_add(p, "operator", json_object_new_string("exists"));
  return p;
}

bool gen_mos_day_before(const gen_mos_config_t *c,
                        const gen_interval_range_t *range,
                        gen_interval_range_t *sliver) {
  int64_t midnight = gen_bucket_floor(range->start_ms, DAY_MS);
  if (gen_bucket_floor(range->start_ms - c->max_length_ms, DAY_MS) >= midnight)
    return false;
  *sliver = (gen_interval_range_t){midnight - 1, midnight + 1, range->revisit};
  return true;
}

json_object *gen_mos_query_body(const char *const *queue_ids, size_t n,
                                const gen_interval_range_t *range,
                                long page_number, bool by_end) {
  char text[GEN_INTERVAL_STRLEN];
  gen_interval_format(range->start_ms, range->end_ms, text, sizeof(text));
  json_object *body = json_object_new_object();
  json_object_object_add(body, "interval", json_object_new_string(text));
  json_object_object_add(body, "order", json_object_new_string("asc"));
  json_object_object_add(
      body, "orderBy",
      json_object_new_string(by_end ? "conversationEnd" : "conversationStart"));
  json_object *ended = json_object_new_object();
  json_object *preds = json_object_new_array();
  json_object_object_add(ended, "type", json_object_new_string("and"));
  json_object_array_add(preds, predicate("conversationEnd"));
  json_object_array_add(preds, predicate("mediaStatsMinConversationMos"));
  json_object_object_add(ended, "predicates", preds);
  json_object *cf = json_object_new_array();
  json_object_array_add(cf, ended);
  json_object_object_add(body, "conversationFilters", cf);
  json_object *sf = json_object_new_array();
  json_object_array_add(sf, gen_json_or_filter("queueId", queue_ids, n));
  json_object_object_add(body, "segmentFilters", sf);
  json_object *paging = json_object_new_object();
  json_object_object_add(paging, "pageSize",
                         json_object_new_int(GEN_MOS_PAGE_SIZE));
  json_object_object_add(paging, "pageNumber",
                         json_object_new_int64(page_number));
  json_object_object_add(body, "paging", paging);
  return body;
}

bool gen_mos_page_by_end(json_object *doc, int64_t *last_end_ms) {
  json_object *convs = gen_json_get_array(doc, "conversations");
  size_t n = convs ? json_object_array_length(convs) : 0;
  bool sorted = true;
  for (size_t i = 0; i < n; i++) {
    const char *text = gen_json_get_string(json_object_array_get_idx(convs, i),
                                           "conversationEnd");
    int64_t end;
    if (text == NULL || gen_time_parse(text, &end) != 0)
      continue;
    if (end < *last_end_ms)
      sorted = false;
    *last_end_ms = end;
  }
  return sorted;
}

/* ---- the accumulator ---------------------------------------------------- */

/* One distribution: of the MOS, or of the R-factor of the conversations
 * that carry one. */
typedef struct {
  int64_t le[GEN_WAITS_MAX_BOUNDS]; /* at or below bound i */
  int64_t count, sum_x100;
  double min;
} mos_dist_t;

typedef struct {
  mos_dist_t dist[2];  /* the MOS's, the R-factor's */
  int64_t at_or_below; /* MOS at or below MosThreshold */
} mos_cell_t;

struct gen_mos_acc_s {
  const gen_mos_config_t *config;
  const char *const *queue_ids;
  size_t n_queues;
  gen_map_t queue_index; /* queue id -> index */
  gen_interval_range_t range;
  int64_t granularity_ms;
  size_t n_buckets;
  mos_cell_t **cells; /* [queue][media][bucket], NULL until used */
  gen_map_t seen;     /* conversation ids taken (keys in ids) */
  gen_pool_t ids;
  size_t unknown_sessions;
  const gen_unknown_sink_t *unknown;
};

gen_mos_acc_t *gen_mos_acc_new(const gen_mos_config_t *c,
                               const char *const *queue_ids, size_t n,
                               const gen_interval_range_t *range,
                               int64_t granularity_ms) {
  if (granularity_ms <= 0 || range->end_ms <= range->start_ms)
    return NULL;
  gen_mos_acc_t *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return NULL;
  *a = (gen_mos_acc_t){.config = c,
                       .queue_ids = queue_ids,
                       .n_queues = n,
                       .range = *range,
                       .granularity_ms = granularity_ms};
  a->n_buckets = (size_t)((range->end_ms - range->start_ms) / granularity_ms);
  a->cells = calloc(n * GEN_MEDIA_COUNT * a->n_buckets + 1, sizeof(*a->cells));
  bool ok = a->cells != NULL;
  for (size_t i = 0; ok && i < n; i++)
    ok = gen_map_put(&a->queue_index, queue_ids[i], gen_map_index(i)) == 0;
  if (!ok) {
    gen_mos_acc_free(a);
    return NULL;
  }
  return a;
}

void gen_mos_acc_free(gen_mos_acc_t *a) {
  if (a == NULL)
    return;
  size_t total = a->n_queues * GEN_MEDIA_COUNT * a->n_buckets;
  for (size_t i = 0; a->cells != NULL && i < total; i++)
    free(a->cells[i]);
  free(a->cells);
  gen_map_free(&a->seen);
  gen_pool_free(&a->ids);
  gen_map_free(&a->queue_index);
  free(a);
}

size_t gen_mos_acc_unknown_sessions(const gen_mos_acc_t *a) {
  return a->unknown_sessions;
}

void gen_mos_acc_unknown_to(gen_mos_acc_t *a, const gen_unknown_sink_t *sink) {
  a->unknown = sink;
}

static void dist_add(mos_dist_t *d, const gen_waits_bounds_t *bounds,
                     double x) {
  /* The bucket's values the engine keeps: held to 2^53 (gen_count_add). */
  for (size_t k = 0; k < bounds->n; k++)
    if (x <= bounds->bound[k])
      gen_count_add(&d->le[k], 1);
  if (d->count == 0 || x < d->min)
    d->min = x;
  gen_count_add(&d->count, 1);
  gen_count_add(&d->sum_x100, llround(x * 100.0));
}

/* rf: NAN when the conversation has no R-factor. */
static int record(gen_mos_acc_t *a, size_t q, int media, size_t b, double mos,
                  double rf) {
  size_t i = (q * GEN_MEDIA_COUNT + (size_t)media) * a->n_buckets + b;
  mos_cell_t *cell = a->cells[i];
  if (cell == NULL && (cell = a->cells[i] = calloc(1, sizeof(*cell))) == NULL)
    return -ENOMEM;
  if (!isnan(rf))
    dist_add(&cell->dist[1], &a->config->rf_bounds, rf);
  dist_add(&cell->dist[0], &a->config->bounds, mos);
  if (mos <= a->config->threshold)
    cell->at_or_below++;
  return 0;
}

/* The distinct (selected queue, media) pairs of c's segments; -1 when there
 * are too many. A session of an unknown media type is passed over and
 * counted: its conversation's other sessions still count. */
static int pairs_of(gen_mos_acc_t *a, json_object *c, size_t *q, int *media,
                    size_t max) {
  size_t n = 0;
  json_object *parts = gen_json_get_array(c, "participants");
  size_t np = parts ? json_object_array_length(parts) : 0;
  for (size_t p = 0; p < np; p++) {
    json_object *sessions =
        gen_json_get_array(json_object_array_get_idx(parts, p), "sessions");
    size_t ns = sessions ? json_object_array_length(sessions) : 0;
    for (size_t s = 0; s < ns; s++) {
      json_object *session = json_object_array_get_idx(sessions, s);
      const char *media_name = gen_json_get_string(session, "mediaType");
      /* staff to staff: not the customer's media */
      if (media_name != NULL && strcasecmp(media_name, "internalmessage") == 0)
        continue;
      int m = gen_media_from_name(media_name);
      bool unknown_counted = false;
      json_object *segs = gen_json_get_array(session, "segments");
      size_t ng = segs ? json_object_array_length(segs) : 0;
      for (size_t g = 0; g < ng; g++) {
        const char *qid =
            gen_json_get_string(json_object_array_get_idx(segs, g), "queueId");
        void *idx;
        if (qid == NULL || !gen_map_find(&a->queue_index, qid, &idx))
          continue; /* no queue, or one of another batch */
        if (m < 0) {
          if (!unknown_counted) {
            a->unknown_sessions++;
            gen_unknown_note(a->unknown, "mediaType", media_name);
          }
          unknown_counted = true;
          continue;
        }
        size_t k = 0;
        while (k < n && !(q[k] == gen_map_to_index(idx) && media[k] == m))
          k++;
        if (k < n)
          continue;
        if (n == max)
          return -1;
        q[n] = gen_map_to_index(idx);
        media[n++] = m;
      }
    }
  }
  return (int)n;
}

/* 1 taken, 0 passed over, -1 unreadable, or a negative errno. */
static int take_conversation(gen_mos_acc_t *a, json_object *c) {
  const char *id = gen_json_get_string(c, "conversationId");
  if (id == NULL || id[0] == '\0')
    return -1;
  if (gen_map_find(&a->seen, id, NULL))
    return 0; /* on an earlier page too (the paging shifted) */
  json_object *mos_v = NULL;
  const char *end_text = gen_json_get_string(c, "conversationEnd");
  if (end_text == NULL ||
      !json_object_object_get_ex(c, "mediaStatsMinConversationMos", &mos_v) ||
      mos_v == NULL)
    return 0; /* not ended yet, or no audio measured */
  int64_t end;
  double mos;
  if (gen_time_parse(end_text, &end) != 0 ||
      !gen_json_get_double(c, "mediaStatsMinConversationMos", &mos) ||
      !(mos >= GEN_MOS_SCALE_MIN && mos <= GEN_MOS_SCALE_MAX))
    return -1;
  if (end < a->range.start_ms || end >= a->range.end_ms)
    return 0; /* another range's */
  double rf = NAN;
  if (json_object_object_get_ex(c, "mediaStatsMinConversationRFactor", NULL) &&
      (!gen_json_get_double(c, "mediaStatsMinConversationRFactor", &rf) ||
       !(rf >= 0 && rf <= GEN_MOS_RFACTOR_MAX)))
    return -1;
  size_t q[MOS_MAX_PAIRS];
  int media[MOS_MAX_PAIRS];
  int n = pairs_of(a, c, q, media, MOS_MAX_PAIRS);
  if (n <= 0)
    return -1;
  const char *copy = gen_pool_strdup(&a->ids, id);
  if (copy == NULL || gen_map_put(&a->seen, copy, NULL) != 0)
    return -ENOMEM;
  size_t b = (size_t)((end - a->range.start_ms) / a->granularity_ms);
  for (int k = 0; k < n; k++) {
    int status = record(a, q[k], media[k], b, mos, rf);
    if (status != 0)
      return status;
  }
  return 1;
}

int gen_mos_acc_page(gen_mos_acc_t *a, json_object *doc, int64_t *total_hits,
                     size_t *n_page, size_t *skipped, char *err,
                     size_t err_size) {
  json_object *convs = NULL;
  if (!json_object_is_type(doc, json_type_object) ||
      !gen_json_get_int64(doc, "totalHits", total_hits) || *total_hits < 0 ||
      (json_object_object_get_ex(doc, "conversations", &convs) &&
       !json_object_is_type(convs, json_type_array))) {
    snprintf(err, err_size,
             "the answer is not a conversation details response (totalHits, "
             "conversations[])");
    return -EINVAL;
  }
  *n_page = convs ? json_object_array_length(convs) : 0;
  for (size_t i = 0; i < *n_page; i++) {
    json_object *c = json_object_array_get_idx(convs, i);
    int status =
        json_object_is_type(c, json_type_object) ? take_conversation(a, c) : -1;
    if (status == -1)
      (*skipped)++;
    else if (status < 0) {
      snprintf(err, err_size, "%s", gen_strerror(status));
      return status;
    }
  }
  return 0;
}

int gen_mos_acc_put(const gen_mos_acc_t *a, gen_interval_t *engine,
                    int64_t from_ms, int64_t to_ms) {
  static const char *const names[2][3] = {
      {"count", "sum_x100", "min"}, {"rf_count", "rf_sum_x100", "rf_min"}};
  const gen_waits_bounds_t *bounds[2] = {&a->config->bounds,
                                         &a->config->rf_bounds};
  char le[2][GEN_WAITS_MAX_BOUNDS][32];
  for (int d = 0; d < 2; d++)
    for (size_t k = 0; k < bounds[d]->n; k++)
      snprintf(le[d][k], sizeof(le[d][k]), "%sle%zu", d ? "rf_" : "", k);
  for (size_t q = 0; q < a->n_queues; q++)
    for (int m = 0; m < GEN_MEDIA_COUNT; m++)
      for (size_t b = 0; b < a->n_buckets; b++) {
        int64_t start = a->range.start_ms + (int64_t)b * a->granularity_ms;
        const mos_cell_t *cell =
            a->cells[(q * GEN_MEDIA_COUNT + (size_t)m) * a->n_buckets + b];
        if (cell == NULL || start < from_ms || start >= to_ms)
          continue;
        gen_interval_value_t v[2 * GEN_WAITS_MAX_BOUNDS + 7];
        size_t n = 0;
        /* In the order the state files have them. */
        for (int d = 0; d < 2; d++) {
          const mos_dist_t *x = &cell->dist[d];
          v[n++] = (gen_interval_value_t){names[d][0], (double)x->count, true};
          v[n++] =
              (gen_interval_value_t){names[d][1], (double)x->sum_x100, true};
          if (d == 0)
            v[n++] = (gen_interval_value_t){"at_or_below",
                                            (double)cell->at_or_below, true};
          if (x->count > 0)
            v[n++] = (gen_interval_value_t){names[d][2], x->min, false};
          for (size_t k = 0; k < bounds[d]->n; k++)
            v[n++] = (gen_interval_value_t){le[d][k], (double)x->le[k], true};
        }
        gen_key_t key = {{a->queue_ids[q], gen_media_names[m]}, 0};
        int status =
            gen_interval_put(engine, a->queue_ids[q], &key, start, v, n);
        if (status != 0)
          return status;
      }
  return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

/* The series of key: the queue's plugin_instance, its media type. */
static gen_agg_series_t series_of(const gen_mos_output_t *out,
                                  const gen_key_t *key, const char **media) {
  *media = key->str[1] ? key->str[1] : "unknown";
  return (gen_agg_series_t){
      out->host, out->plugin,
      gen_entity_label(out->org, out->queues, key->str[0], NULL), NULL,
      out->granularity_ms};
}

/* The cumulative buckets of one distribution: values "<prefix>le<i>", its
 * +Inf bucket the value "<prefix>count" (0 when absent). */
static void put_buckets(gen_agg_series_t *s, const gen_waits_bounds_t *bounds,
                        const char *prefix, const char *type, const char *media,
                        const gen_interval_value_t *v, size_t n, bool total,
                        int64_t at_ms) {
  char name[32], label[DATA_MAX_NAME_LEN];
  for (size_t b = 0; b <= bounds->n; b++) {
    double x = 0;
    if (b < bounds->n)
      snprintf(name, sizeof(name), "%sle%zu", prefix, b);
    else
      snprintf(name, sizeof(name), "%scount", prefix);
    if (!gen_agg_value_find(v, n, name, &x) && b < bounds->n)
      continue;
    gen_waits_bucket_label(bounds, b, media, label, sizeof(label));
    gen_agg_put_value(s, type, label, total, x, at_ms);
  }
}

/* A bucket's values at its end (total false), or the totals at at_ms. */
static void put_values(const gen_mos_output_t *out, const gen_key_t *key,
                       const gen_interval_value_t *v, size_t n, bool total,
                       int64_t at_ms) {
  const char *media;
  gen_agg_series_t s = series_of(out, key, &media);
  double count = 0, rf_count = 0, x;
  gen_agg_value_find(v, n, "count", &count);
  gen_agg_value_find(v, n, "rf_count", &rf_count);
  put_buckets(&s, &out->config->bounds, "",
              total ? "total_mos_bucket" : "mos_bucket", media, v, n, total,
              at_ms);
  put_buckets(&s, &out->config->rf_bounds, "rf_",
              total ? "total_rfactor_bucket" : "rfactor_bucket", media, v, n,
              total, at_ms);
  gen_agg_put_value(&s, total ? "total_mos_conversations" : "mos_conversations",
                    media, total, count, at_ms);
  if (gen_agg_value_find(v, n, "at_or_below", &x))
    gen_agg_put_value(&s, total ? "total_mos_at_or_below" : "mos_at_or_below",
                      media, total, x, at_ms);
  if (total) {
    if (gen_agg_value_find(v, n, "sum_x100", &x))
      gen_agg_put_value(&s, "total_mos_sum_hundredths", media, true, x, at_ms);
    if (gen_agg_value_find(v, n, "rf_sum_x100", &x))
      gen_agg_put_value(&s, "total_rfactor_sum_hundredths", media, true, x,
                        at_ms);
    return;
  }
  if (count > 0 && gen_agg_value_find(v, n, "sum_x100", &x))
    gen_agg_put_value(&s, "mos_avg", media, false, x / 100.0 / count, at_ms);
  if (count > 0 && gen_agg_value_find(v, n, "min", &x))
    gen_agg_put_value(&s, "mos_min", media, false, x, at_ms);
  if (rf_count > 0 && gen_agg_value_find(v, n, "rf_sum_x100", &x))
    gen_agg_put_value(&s, "rfactor_avg", media, false, x / 100.0 / rf_count,
                      at_ms);
  if (rf_count > 0 && gen_agg_value_find(v, n, "rf_min", &x))
    gen_agg_put_value(&s, "rfactor_min", media, false, x, at_ms);
}

static void on_bucket(void *ud, const gen_key_t *key, int64_t start_ms,
                      int64_t end_ms, gen_interval_kind_t kind,
                      const gen_interval_value_t *v, size_t n) {
  put_values(ud, key, v, n, false, end_ms);
}

static void on_totals(void *ud, const gen_key_t *key, int64_t at_ms,
                      const gen_interval_value_t *v, size_t n) {
  put_values(ud, key, v, n, true, at_ms);
}

gen_interval_sink_t gen_mos_sink(gen_mos_output_t *out) {
  return (gen_interval_sink_t){
      .bucket = on_bucket, .totals = on_totals, .ud = out};
}

/* ---- collection --------------------------------------------------------- */

/* A refusal of an interval longer than the query takes ("... a search
 * interval ... that does not exceed 31 days"): whatever the number of
 * days, the piece is halved by buckets as a too long one is. */
static bool too_long(int status, const char *err) {
  const char *at =
      status == GEN_HTTP_ERR_STATUS && strncmp(err, "HTTP 400", 8) == 0
          ? strcasestr(err, "does not exceed")
          : NULL;
  return at != NULL && strcasestr(at, "days") != NULL;
}

/* What reading pieces can end in, besides 0, GEN_FAMILY_OUT_OF_BUDGET and
 * a failure: an interval refused as too long, halved by buckets only. */
#define TOO_LONG 2

void gen_mos_progress_reset(gen_mos_progress_t *p) {
  for (size_t i = 0; i < p->n_ids; i++)
    free(p->ids[i]);
  free(p->ids);
  gen_mos_acc_free(p->acc);
  *p = (gen_mos_progress_t){0};
}

/* p begun for range over ids[n], the batch-th batch: one piece, the whole
 * range with the day before. 0 or -ENOMEM (p unstarted). */
static int progress_begin(void *state, const gen_family_run_t *run,
                          const char *const *ids, size_t n, size_t batch,
                          const gen_interval_range_t *range) {
  gen_mos_reading_t *m = state;
  gen_mos_progress_t *p = &m->progress;
  gen_mos_progress_reset(p);
  p->ids = calloc(n ? n : 1, sizeof(*p->ids));
  for (size_t i = 0; p->ids != NULL && i < n; i++, p->n_ids++)
    if ((p->ids[i] = strdup(ids[i])) == NULL)
      break;
  if (p->ids != NULL && p->n_ids == n)
    p->acc = gen_mos_acc_new(m->config, (const char *const *)p->ids, n, range,
                             m->granularity_ms);
  if (p->acc == NULL) {
    gen_mos_progress_reset(p);
    return -ENOMEM;
  }
  p->unknown = (gen_unknown_sink_t){&run->client->stats, run->counts->who,
                                    "call quality"};
  gen_mos_acc_unknown_to(p->acc, &p->unknown);
  p->started = true;
  p->batch = batch;
  p->range = *range;
  p->done_ms = range->start_ms;
  p->piece[0] = (gen_mos_piece_t){.ask = *range,
                                  .cover_ms = range->start_ms,
                                  .until_ms = range->end_ms,
                                  .last_end_ms = -1,
                                  .n = n,
                                  .page = 1,
                                  .day_before = true};
  p->n_pieces = 1;
  return 0;
}

/* The API refused to sort by conversationEnd or answered out of that order:
 * the org's pieces are asked by conversationStart from now on, read whole,
 * this one from its first page again (what was taken is not counted
 * twice). Said once. */
static void order_by_start(gen_mos_reading_t *m, const gen_family_run_t *run,
                           gen_mos_piece_t *piece, const char *why) {
  m->by_start = true;
  piece->page = 1;
  piece->last_end_ms = -1;
  gen_log_org(run->counts->who, NULL, LOG_NOTICE,
              "call quality: the conversation details query %s; its pages are "
              "asked by conversationStart from now on and read whole (a "
              "conversation once for every piece it is active in)",
              why);
}

/* The pages of the top piece from its next page on, while *spent is under
 * the budget, into p->acc: by conversationEnd, until a page reaches the
 * piece's end (what ends later is another piece's), else until the last
 * page. 0 when it was read whole, GEN_FAMILY_OUT_OF_BUDGET,
 * -E2BIG when it is to be halved (past the results the query pages through, or
 * more pages than a piece of several buckets should take), TOO_LONG when
 * its interval is (it has several buckets), or the failure with err set
 * (the piece's page is asked again). */
static int read_piece(gen_mos_reading_t *m, const gen_family_run_t *run,
                      size_t *spent, size_t *skipped, char *err,
                      size_t err_size) {
  gen_mos_progress_t *p = &m->progress;
  gen_mos_piece_t *piece = &p->piece[p->n_pieces - 1];
  const char *const *ids = (const char *const *)p->ids + piece->first;
  int64_t buckets =
      (piece->ask.end_ms - piece->ask.start_ms) / m->granularity_ms;
  /* within 31 days, CallQualityMaxLength to spare */
  if (piece->ask.end_ms - piece->ask.start_ms + m->config->max_length_ms >
          GEN_MOS_INTERVAL_MAX_MS &&
      buckets > 1)
    return TOO_LONG;
  for (;;) {
    json_object *doc = NULL;
    bool by_end = !m->by_start;
    int status = gen_family_post(
        run, GEN_MOS_PATH,
        gen_mos_query_body(ids, piece->n, &piece->ask, piece->page, by_end),
        spent, NULL, &doc, err, err_size);
    if (status == GEN_FAMILY_OUT_OF_BUDGET)
      return status;
    /* A refusal to page past the results the query allows (the 400
     * answer's message, tests/sim/README.md). */
    if (status == GEN_HTTP_ERR_STATUS &&
        strcasestr(err, "Pagination may not exceed") != NULL)
      return -E2BIG;
    if (too_long(status, err) && buckets > 1)
      return TOO_LONG;
    /* The SDKs' orderBy enum has conversationEnd, its text does not. */
    if (by_end && status == GEN_HTTP_ERR_STATUS && !too_long(status, err) &&
        strncmp(err, "HTTP 400", 8) == 0) {
      char why[600];
      snprintf(why, sizeof(why), "refused conversationEnd as its orderBy (%s)",
               err);
      order_by_start(m, run, piece, why);
      continue;
    }
    int64_t hits = 0;
    size_t got = 0;
    /* Refused before reading a page that would be thrown away. */
    if (status == 0 && piece->page == 1 &&
        gen_json_get_int64(doc, "totalHits", &hits) &&
        hits > GEN_MOS_RESULTS_MAX) {
      json_object_put(doc);
      return -E2BIG;
    }
    bool sorted = status == 0 && gen_mos_page_by_end(doc, &piece->last_end_ms);
    if (status == 0)
      status =
          gen_mos_acc_page(p->acc, doc, &hits, &got, skipped, err, err_size);
    json_object_put(doc);
    if (status != 0)
      return status;
    if (by_end && !sorted) {
      order_by_start(
          m, run, piece,
          "answered pages asked by conversationEnd out of its order");
      continue;
    }
    /* This page counts (the halves find its conversations again, taken
     * once); the rest is read in halves that leave sooner. */
    if (piece->page == 1 && buckets > 1 &&
        hits > (int64_t)GEN_MOS_PIECE_PAGES * GEN_MOS_PAGE_SIZE)
      return -E2BIG;
    /* totalHits is approximate (duplicates are filtered out of the pages):
     * a short page ends only when it reaches it, an empty one always. */
    if (got == 0 || (got < GEN_MOS_PAGE_SIZE &&
                     (int64_t)piece->page * GEN_MOS_PAGE_SIZE >= hits))
      return 0;
    if (by_end && piece->last_end_ms >= piece->until_ms)
      return 0;
    piece->page++;
  }
}

/* The top piece replaced by its halves, the earlier on top: by buckets,
 * then by queues. A conversation found by two halves is taken once
 * (p->acc's seen); the day before's sliver goes with the earlier half of
 * the buckets and with both halves of the queues. 0, or -E2BIG with err
 * set for one bucket of one queue (or no room for more pieces). */
static int halve(gen_mos_reading_t *m, char *err, size_t err_size) {
  gen_mos_progress_t *p = &m->progress;
  gen_mos_piece_t top = p->piece[p->n_pieces - 1];
  int64_t g = m->granularity_ms;
  int64_t buckets = (top.ask.end_ms - top.ask.start_ms) / g;
  gen_mos_piece_t lo = top, hi = top;
  lo.page = hi.page = 1;
  lo.last_end_ms = hi.last_end_ms = -1;
  if (buckets > 1) {
    int64_t mid = top.ask.start_ms + buckets / 2 * g;
    lo.ask.end_ms = hi.ask.start_ms = hi.cover_ms = lo.until_ms = mid;
    hi.day_before = false;
  } else if (top.n > 1) {
    lo.n = top.n / 2;
    hi.first = top.first + lo.n;
    hi.n = top.n - lo.n;
  } else {
    snprintf(err, err_size,
             "one bucket of queue %s holds more than the %d conversations "
             "the query pages through: configure a shorter Granularity",
             p->ids[top.first], GEN_MOS_RESULTS_MAX);
    return -E2BIG;
  }
  if (p->n_pieces >= GEN_MOS_PIECES_MAX) {
    snprintf(err, err_size, "a range halved into more than %d pieces",
             GEN_MOS_PIECES_MAX);
    return -E2BIG;
  }
  p->piece[p->n_pieces - 1] = hi;
  p->piece[p->n_pieces++] = lo;
  return 0;
}

/* Puts and commits the buckets no piece left covers, from p->done_ms on:
 * each bucket leaves as soon as it was read whole. 0 or the failure. */
static int commit_read(gen_mos_reading_t *m, const gen_family_run_t *run) {
  gen_mos_progress_t *p = &m->progress;
  int64_t until = p->range.end_ms;
  for (size_t i = 0; i < p->n_pieces; i++)
    if (p->piece[i].cover_ms < until)
      until = p->piece[i].cover_ms;
  if (until <= p->done_ms)
    return 0;
  int status = gen_mos_acc_put(p->acc, run->engine, p->done_ms, until);
  if (status != 0)
    return status;
  gen_interval_range_t read = {p->done_ms, until, p->range.revisit};
  gen_family_commit(run, (const char *const *)p->ids, p->n_ids, &read, m->sink);
  p->done_ms = until;
  return 0;
}

/* The pieces of the range in progress, top first, while the budget lasts,
 * each read whole then committed as far as it completes the range. 0 (the
 * range was read and committed whole), GEN_FAMILY_OUT_OF_BUDGET, or the failure
 * with err set. */
static int read_pieces(gen_mos_reading_t *m, const gen_family_run_t *run,
                       size_t *spent, size_t *skipped, char *err,
                       size_t err_size) {
  gen_mos_progress_t *p = &m->progress;
  while (p->n_pieces > 0) {
    int status = read_piece(m, run, spent, skipped, err, err_size);
    if (status == -E2BIG || status == TOO_LONG)
      status = halve(m, err, err_size);
    else if (status == 0) {
      gen_mos_piece_t *top = &p->piece[p->n_pieces - 1];
      gen_interval_range_t sliver;
      /* Those that began the day before and ended in the piece. */
      if (top->day_before &&
          gen_mos_day_before(m->config, &top->ask, &sliver)) {
        /* it serves every later bucket of the range: no later piece
         * reads a sliver */
        *top = (gen_mos_piece_t){.ask = sliver,
                                 .cover_ms = top->cover_ms,
                                 .until_ms = p->range.end_ms,
                                 .last_end_ms = -1,
                                 .first = top->first,
                                 .n = top->n,
                                 .page = 1};
        continue;
      }
      p->n_pieces--;
      status = commit_read(m, run);
    }
    if (status != 0)
      return status;
  }
  return 0;
}

/* Logs the conversations the pages of this call could not use (sessions of
 * an unknown media type are counted in unknown_values as they are met). */
static void log_passed_over(const gen_family_run_t *run, size_t skipped) {
  gen_client_t *client = run->client;
  if (skipped > 0) {
    atomic_fetch_add(&client->stats.malformed, 1);
    gen_log_org(run->counts->who, &run->counts->complain, LOG_WARNING,
                "%zu conversations of details answers were not "
                "usable (no id, a bad time, MOS or R-factor, no queue "
                "segment of a known media type) "
                "and were skipped",
                skipped);
  }
}

/* ---- the family's reader (gen_family_ranges) ---------------------------- */

static ssize_t mos_resumes(const void *state) {
  const gen_mos_progress_t *p = &((const gen_mos_reading_t *)state)->progress;
  return p->started ? (ssize_t)p->batch : -1;
}

/* The pieces of the range in progress while the budget lasts; what the
 * pages passed over, logged. */
static int mos_read(void *state, const gen_family_run_t *run, size_t *spent,
                    char *err, size_t err_size) {
  gen_mos_reading_t *m = state;
  size_t skipped = 0;
  int status = read_pieces(m, run, spent, &skipped, err, err_size);
  log_passed_over(run, skipped);
  return status;
}

static gen_interval_range_t mos_left(const void *state) {
  const gen_mos_progress_t *p = &((const gen_mos_reading_t *)state)->progress;
  return (gen_interval_range_t){p->done_ms, p->range.end_ms, p->range.revisit};
}

static void mos_end(void *state) {
  gen_mos_progress_reset(&((gen_mos_reading_t *)state)->progress);
}

int gen_mos_collect(gen_mos_reading_t *m, const gen_family_run_t *run,
                    const gen_interval_sink_t *sink,
                    const gen_entity_set_t *set, size_t per,
                    uint64_t queues_generation) {
  static const gen_family_reader_t reader = {.family = "call quality",
                                             .still = "queue aggregates",
                                             .query =
                                                 "conversation details query",
                                             .begin = progress_begin,
                                             .resumes = mos_resumes,
                                             .read = mos_read,
                                             .left = mos_left,
                                             .end = mos_end};
  if (per == 0 || per > GEN_MOS_MAX_QUEUES)
    per = GEN_MOS_MAX_QUEUES;
  m->sink = sink;
  return gen_family_ranges(run, &reader, m, run->replay ? NULL : &m->cursor,
                           set, per, queues_generation, NULL);
}
