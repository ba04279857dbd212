/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the observations API's metric names, and its query's
 * answer as items, read with gen_jscan (see gen_obs_query.h).
 */
#include "gen_obs_query.h"

#include "gen_jscan.h"
#include "gen_json.h"
#include "gen_time.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  size_t len;
} metric_names[GEN_OBS_M_COUNT] = {
#define M(id, s) [id] = {s, sizeof(s) - 1}
    M(GEN_OBS_M_UNKNOWN, ""),
    M(GEN_OBS_M_WAITING, "oWaiting"),
    M(GEN_OBS_M_INTERACTING, "oInteracting"),
    M(GEN_OBS_M_ALERTING, "oAlerting"),
    M(GEN_OBS_M_LONGEST_WAITING, "oLongestWaiting"),
    M(GEN_OBS_M_LONGEST_INTERACTING, "oLongestInteracting"),
    M(GEN_OBS_M_ACTIVE_USERS, "oActiveUsers"),
    M(GEN_OBS_M_MEMBER_USERS, "oMemberUsers"),
    M(GEN_OBS_M_ON_QUEUE_USERS, "oOnQueueUsers"),
    M(GEN_OBS_M_OFF_QUEUE_USERS, "oOffQueueUsers"),
    M(GEN_OBS_M_USER_ROUTING_STATUSES, "oUserRoutingStatuses"),
    M(GEN_OBS_M_USER_PRESENCES, "oUserPresences"),
    M(GEN_OBS_M_FLOW, "oFlow"),
#undef M
};

const char *gen_obs_metric_name(gen_obs_metric_t m) {
  if ((int)m <= GEN_OBS_M_UNKNOWN || (int)m >= GEN_OBS_M_COUNT)
    return NULL;
  return metric_names[m].name;
}

gen_obs_metric_t gen_obs_metric_from_name(const unsigned char *s, size_t n) {
  for (int m = 1; m < GEN_OBS_M_COUNT; m++)
    if (metric_names[m].len == n && memcmp(metric_names[m].name, s, n) == 0)
      return (gen_obs_metric_t)m;
  return GEN_OBS_M_UNKNOWN;
}

typedef enum { PASS_CHECK, PASS_MAPPINGS, PASS_RESULTS } pass_t;

/* What the next value is where it stands; a container read is named by
 * the want of the value that opened it. */
typedef enum {
  W_SKIP,
  W_DOC,
  W_MAPPINGS, /* systemToOrganizationMappings */
  W_IDS,      /* one system presence's ids */
  W_ID,
  W_RESULTS, /* results[] */
  W_RESULT,  /* results[i] */
  W_GROUP,   /* results[i].group */
  W_GROUP_ID,
  W_MEDIA,
  W_DATA, /* results[i].data[] */
  W_ITEM, /* data[j] */
  W_METRIC,
  W_QUALIFIER,
  W_STATS, /* data[j].stats */
  W_COUNT,
  W_VALUE,
  W_OBSERVATIONS, /* data[j].observations[] */
  W_OBSERVATION,  /* observations[k] */
  W_DATE,
} want_t;

/* The containers read: an object (O) or an array (A) where the want
 * opens one. */
enum { O = 1, A = 2 };
static const unsigned char opens[W_DATE] = {
    [W_DOC] = O,    [W_MAPPINGS] = O,     [W_IDS] = A,        [W_RESULTS] = A,
    [W_RESULT] = O, [W_GROUP] = O,        [W_DATA] = A,       [W_ITEM] = O,
    [W_STATS] = O,  [W_OBSERVATIONS] = A, [W_OBSERVATION] = O};
/* The deepest nesting read: the document, results, a result, data, an
 * item, observations, one of them. */
#define DEPTH_MAX 7

typedef struct {
  pass_t pass;
  gen_obs_query_mapping_t mapping;
  const char *dim; /* the group's id member */
  gen_obs_query_each_t each;
  void *ud;
  int status; /* what stopped the scan */
  want_t ctx[DEPTH_MAX];
  size_t depth;
  want_t want; /* of the value after the last key */
  size_t groups;

  char system[64]; /* the mapping's key; "" when too long */
  /* The result read. */
  bool has_id, has_media;
  char id[128]; /* the group's dim */
  char media[32];
  gen_obs_item_t items[GEN_OBS_MAX_ITEMS];
  size_t n;
  /* The item read. */
  gen_obs_item_t it;
  bool known, stats;
  int64_t date; /* of the observation read */
} reader_t;

static bool is(const unsigned char *s, size_t n, const char *word) {
  return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* s as a C string in dst, if it fits and holds no NUL. */
static bool copy(char *dst, size_t size, const unsigned char *s, size_t n) {
  if (n >= size || memchr(s, '\0', n) != NULL)
    return false;
  memcpy(dst, s, n);
  dst[n] = '\0';
  return true;
}

/* A number's text as a C string (copy), if it is not absurdly long. */
#define NUMBER_TEXT 512

/* A count as json-c takes it: integer text beyond int64 is none (json-c
 * saturates it), a fraction only when integral. */
static bool count_of(const char *s, size_t n, int64_t *out) {
  char buf[NUMBER_TEXT];
  if (!copy(buf, sizeof(buf), (const unsigned char *)s, n))
    return false;
  if (strpbrk(buf, ".eE") == NULL) {
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE || v == INT64_MAX || v == INT64_MIN)
      return false;
    *out = v;
    return true;
  }
  double d = strtod(buf, NULL);
  if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e18)
    return false;
  *out = (int64_t)d;
  return true;
}

static bool number_of(const char *s, size_t n, double *out) {
  char buf[NUMBER_TEXT];
  if (!copy(buf, sizeof(buf), (const unsigned char *)s, n))
    return false;
  *out = strtod(buf, NULL);
  return isfinite(*out);
}

static want_t value_want(const reader_t *r) {
  if (r->depth == 0)
    return W_DOC;
  switch (r->ctx[r->depth - 1]) {
  case W_IDS:
    return W_ID;
  case W_RESULTS:
    return W_RESULT;
  case W_DATA:
    return W_ITEM;
  case W_OBSERVATIONS:
    return W_OBSERVATION;
  default:
    return r->want;
  }
}

/* The waiting (interacting) conversations' own observationDates, when the
 * answer has them, say when the oldest began: preferred over the longest
 * value. */
static void longest_since_counts(gen_obs_item_t *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    gen_obs_metric_t count_of_m =
        items[i].metric == GEN_OBS_M_LONGEST_WAITING ? GEN_OBS_M_WAITING
        : items[i].metric == GEN_OBS_M_LONGEST_INTERACTING
            ? GEN_OBS_M_INTERACTING
            : GEN_OBS_M_UNKNOWN;
    for (size_t j = 0; count_of_m != GEN_OBS_M_UNKNOWN && j < n; j++)
      if (items[j].metric == count_of_m && items[j].since_ms > 0 &&
          items[i].since_ms == 0)
        items[i].since_ms = items[j].since_ms;
  }
}

static int on_container(reader_t *r, bool map) {
  want_t w = value_want(r);
  /* Not of the kind read there: absent (reset at its key). */
  if (w >= W_DATE || opens[w] != (map ? O : A) || r->depth == DEPTH_MAX)
    return GEN_JSCAN_SKIP;
  if (w == W_RESULT) {
    r->has_id = r->has_media = false;
    r->n = 0;
  } else if (w == W_ITEM) {
    memset(&r->it, 0, sizeof(r->it));
    r->known = r->stats = false;
  } else if (w == W_STATS) {
    r->stats = true;
  } else if (w == W_OBSERVATION) {
    r->date = 0;
  }
  r->ctx[r->depth++] = w;
  return 1;
}

static int on_start_map(void *ctx) { return on_container(ctx, true); }
static int on_start_array(void *ctx) { return on_container(ctx, false); }

static int on_end(void *ctx) {
  reader_t *r = ctx;
  switch (r->ctx[--r->depth]) {
  case W_OBSERVATION:
    if (r->date > 0 && (r->it.since_ms == 0 || r->date < r->it.since_ms))
      r->it.since_ms = r->date;
    break;
  case W_ITEM:
    if (r->known && r->stats && r->n < GEN_OBS_MAX_ITEMS)
      r->items[r->n++] = r->it;
    break;
  case W_RESULT:
    longest_since_counts(r->items, r->n);
    r->each(r->ud, r->has_id ? r->id : NULL, r->has_media ? r->media : NULL,
            r->items, r->n);
    r->groups++;
    break;
  default:
    break;
  }
  return 1;
}

/* A string, number, true, false or null: s is a string's text, number a
 * number's (else both NULL). */
static int on_scalar(void *ctx, const unsigned char *s, size_t n,
                     const char *number) {
  reader_t *r = ctx;
  char id[128], date[64];
  switch (value_want(r)) {
  case W_ID:
    if (s != NULL && r->system[0] != '\0' && copy(id, sizeof(id), s, n))
      r->status = r->mapping(r->ud, id, r->system);
    break;
  case W_GROUP_ID:
    r->has_id = s != NULL && copy(r->id, sizeof(r->id), s, n);
    break;
  case W_MEDIA:
    if (s == NULL || !copy(r->media, sizeof(r->media), s, n))
      r->media[0] = '\0';
    break;
  case W_METRIC:
    r->it.metric =
        s != NULL ? gen_obs_metric_from_name(s, n) : GEN_OBS_M_UNKNOWN;
    r->known = r->it.metric != GEN_OBS_M_UNKNOWN;
    break;
  case W_QUALIFIER:
    if (s != NULL) { /* cut to the field, at a NUL too */
      const unsigned char *nul = memchr(s, '\0', n);
      size_t k = nul != NULL ? (size_t)(nul - s) : n;
      if (k >= sizeof(r->it.qualifier))
        k = sizeof(r->it.qualifier) - 1;
      memcpy(r->it.qualifier, s, k);
      r->it.qualifier[k] = '\0';
    }
    break;
  case W_COUNT: /* absent: 0, as gen_obs leaves it */
    r->it.has_count =
        number != NULL && count_of(number, n, &r->it.count) && r->it.count >= 0;
    if (!r->it.has_count)
      r->it.count = 0;
    break;
  case W_VALUE:
    r->it.has_value =
        number != NULL && number_of(number, n, &r->it.calculated_value);
    if (!r->it.has_value)
      r->it.calculated_value = 0;
    break;
  case W_DATE:
    if (s != NULL && copy(date, sizeof(date), s, n) &&
        gen_time_parse(date, &r->date) == 0 && r->date > 0)
      break;
    r->date = 0;
    break;
  default:
    break;
  }
  return r->status == 0;
}

/* Where a member repeats the last counts: what it sets is reset at its
 * key. */
static int on_key(void *ctx, const unsigned char *s, size_t n) {
  reader_t *r = ctx;
  r->want = W_SKIP;
  switch (r->ctx[r->depth - 1]) {
  case W_DOC:
    if (r->pass == PASS_MAPPINGS && is(s, n, "systemToOrganizationMappings"))
      r->want = W_MAPPINGS;
    else if (r->pass == PASS_RESULTS && is(s, n, "results"))
      r->want = W_RESULTS;
    break;
  case W_MAPPINGS:
    if (!copy(r->system, sizeof(r->system), s, n))
      r->system[0] = '\0';
    r->want = W_IDS;
    break;
  case W_RESULT:
    if (is(s, n, "group")) {
      r->has_id = r->has_media = false;
      r->want = W_GROUP;
    } else if (is(s, n, "data")) {
      r->n = 0;
      r->want = W_DATA;
    }
    break;
  case W_GROUP:
    if (is(s, n, r->dim)) {
      r->has_id = false;
      r->want = W_GROUP_ID;
    } else if (is(s, n, "mediaType")) {
      r->has_media = true;
      r->media[0] = '\0';
      r->want = W_MEDIA;
    }
    break;
  case W_ITEM:
    if (is(s, n, "metric")) {
      r->known = false;
      r->it.metric = GEN_OBS_M_UNKNOWN;
      r->want = W_METRIC;
    } else if (is(s, n, "qualifier")) {
      r->it.qualifier[0] = '\0';
      r->want = W_QUALIFIER;
    } else if (is(s, n, "stats")) {
      r->stats = r->it.has_count = r->it.has_value = false;
      r->it.count = 0;
      r->it.calculated_value = 0;
      r->want = W_STATS;
    } else if (is(s, n, "observations")) {
      r->it.since_ms = 0;
      r->want = W_OBSERVATIONS;
    }
    break;
  case W_STATS:
    if (is(s, n, "count")) {
      r->it.has_count = false;
      r->it.count = 0;
      r->want = W_COUNT;
    } else if (is(s, n, "calculatedMetricValue")) {
      r->it.has_value = false;
      r->it.calculated_value = 0;
      r->want = W_VALUE;
    }
    break;
  case W_OBSERVATION:
    if (is(s, n, "observationDate")) {
      r->date = 0;
      r->want = W_DATE;
    }
    break;
  default: /* no key in an array */
    break;
  }
  return r->want == W_SKIP ? GEN_JSCAN_SKIP : 1;
}

static const gen_jscan_callbacks_t callbacks = {
    .on_scalar = on_scalar,
    .on_start_map = on_start_map,
    .on_key = on_key,
    .on_end_map = on_end,
    .on_start_array = on_start_array,
    .on_end_array = on_end,
};

int gen_obs_query_read(const char *text, size_t len, const char *dim,
                       gen_obs_query_mapping_t mapping,
                       gen_obs_query_each_t each, void *ud, char *err,
                       size_t err_size) {
  char why[128];
  if (text == NULL || len == 0)
    return 0; /* an empty answer is {} */
  if (gen_json_bounds(text, len, why, sizeof(why)) != 0) {
    snprintf(err, err_size, "%s", why);
    return -EINVAL;
  }
  unsigned char *buf = malloc(len);
  reader_t *r = calloc(1, sizeof(*r));
  if (buf == NULL || r == NULL) {
    free(buf);
    free(r);
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  int status = 0;
  /* The whole text checked before anything is called back (a malformed
   * answer sets nothing, as a refused document did), then the mappings: a
   * group's presence ids are read through them. Each pass skips what the
   * others read, at a millisecond for 100 queues. */
  for (pass_t pass = PASS_CHECK; pass <= PASS_RESULTS && status == 0; pass++) {
    if (pass == PASS_MAPPINGS && mapping == NULL)
      continue;
    *r = (reader_t){
        .pass = pass, .mapping = mapping, .dim = dim, .each = each, .ud = ud};
    gen_jscan_t js = {.text = (const unsigned char *)text,
                      .len = len,
                      .max_depth = GEN_JSON_MAX_DEPTH,
                      .buf = buf,
                      .utf8_checked = pass != PASS_CHECK};
    gen_jscan_status_t st = gen_jscan_run(&js, &callbacks, r);
    if (st == GEN_JSCAN_STOPPED) {
      status = r->status;
    } else if (st != GEN_JSCAN_OK) {
      snprintf(err, err_size, "%s at byte %zu",
               st == GEN_JSCAN_DEPTH ? "nesting too deep" : js.reason, js.off);
      status = -EINVAL;
    }
  }
  size_t groups = r->groups;
  free(r);
  free(buf);
  return status != 0 ? status : (int)groups;
}
