/* SPDX-License-Identifier: MIT */
/* collectd-genesys: the gap repair of the conversation counters (see
 * gen_conv_repair.h). */
#include "gen_conv_repair.h"
#include "gen_feature.h"

#include "gen_agg_answer.h"
#include "gen_aggregates.h"
#include "gen_dispatch.h"
#include "gen_family.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_notify.h"
#include "gen_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MINUTE_MS INT64_C(60000)
#define SKEW_MS INT64_C(5000) /* the host's clock against Genesys' */
/* Farther apart than this, the clocks cannot place a gap: not repaired. */
#define MAX_OFFSET_MS INT64_C(60000)
#define MAX_WINDOWS 64 /* per queue */
#define MAX_QUERIES 50 /* per run: a read stays short */
#define KINDS 3

/* The moments repaired, and the metric that counts each. */
static const gen_conv_moment_t kind_moments[KINDS] = {
    GEN_CONV_OFFERED, GEN_CONV_ANSWERED, GEN_CONV_ABANDONED};
static const char *const kind_metrics[KINDS] = {"nOffered", "tAnswered",
                                                "tAbandon"};
static const char *const kind_names[KINDS] = {"offered", "answered",
                                              "abandoned"};

static int kind_of(gen_conv_moment_t m) {
  for (int k = 0; k < KINDS; k++)
    if (kind_moments[k] == m)
      return k;
  return -1;
}

typedef int64_t counts_t[GEN_MEDIA_COUNT][KINDS];

typedef struct {
  int64_t start_ms, end_ms; /* [start, end); end 0: the gap is open */
  bool repaired;            /* asked once: its moments are the aggregates' */
  bool rechecked;           /* asked the second time (or no second ask) */
  bool hold;     /* the counters are held back until it is repaired (resume) */
  counts_t live; /* moments in it counted live while it waited */
  counts_t counted; /* after the first ask: what the counters hold of it */
} window_t;

/* Moments counted live in one minute: one an event at most, far below
 * 2^32 in a minute of one queue (32 bits halve each queue's ring). */
typedef struct {
  int64_t minute;
  uint32_t n[GEN_MEDIA_COUNT][KINDS];
} slot_t;

typedef struct {
  char id[GEN_CONV_ID_SIZE]; /* the map's key */
  window_t *win;             /* by start */
  size_t n_win;
  slot_t slot[]; /* the last minutes, ring_n of them by minute % ring_n */
} queue_t;

typedef struct {
  int64_t start_ms, end_ms;
  bool second; /* the window's second ask */
  size_t n;
  char ids[GEN_REPAIR_QUERY_MAX][GEN_CONV_ID_SIZE];
  const char *id_ptr[GEN_REPAIR_QUERY_MAX];
  counts_t agg[GEN_REPAIR_QUERY_MAX];
} batch_t;

struct gen_conv_repair_s {
  int64_t delay_ms, recheck_ms, lead_ms, keep_ms;
  int64_t start_ms; /* when the counters began, by the host's clock */
  /* Genesys' clock minus ours, from the newest moments' times: the edges
   * of a gap are placed on its clock. */
  int64_t offset_ms, offset_at;
  bool have_offset;
  /* The first whole minute counted, on Genesys' clock: placed by the first
   * minute's offset, then fixed (a later step of our clock moves the
   * offset, not when the counters began). origin_until 0: not placed. */
  int64_t origin_ms, origin_until;
  uint64_t unplaced, unplaced_said; /* gaps the clocks could not place */
  size_t ring_n;
  gen_map_t queues;        /* id -> queue_t */
  gen_agg_counts_t counts; /* queries, failures, the complaints' limiter */
  int64_t repaired[KINDS];
  size_t held;   /* windows with hold set */
  batch_t batch; /* the request under way (one at a time: the read's) */
  const gen_unknown_sink_t *unknown; /* media types we do not know */
  gen_unknown_sink_t unknown_sink;   /* (its row's: unknown points here) */
};

static int64_t floor_minute(int64_t t) { return t - t % MINUTE_MS; }
static int64_t ceil_minute(int64_t t) {
  return floor_minute(t + MINUTE_MS - 1);
}

/* GapRepair turns repair on: the config says off. */
static int repair_on(const gen_org_t *org, const oconfig_item_t *ci,
                     const gen_config_def_t *def, void *field) {
  bool *off = field;
  bool on = !*off;
  int status = gen_config_bool(org, ci, &on);
  *off = !on;
  return status;
}

#define RC gen_conv_repair_config_t
static const gen_config_def_t repair_defs[] = {
    GEN_KEY_PARSE("GapRepair", GEN_CFG_BOOL, RC, off, repair_on, "true", NULL,
                  "the counters made whole after a channel's gap"),
    GEN_KEY_SECONDS("GapRepairDelay", RC, delay, 0, 3600, 120,
                    "how long after a gap's window its aggregates are asked"),
    GEN_KEY_SECONDS("GapRepairRecheck", RC, recheck, 0, 86400, 900,
                    "when a gap's window is asked again (0: once)"),
};
#undef RC

const gen_config_table_t gen_conv_repair_keys = GEN_CONFIG_TABLE(repair_defs);

gen_conv_repair_t *gen_conv_repair_new(const gen_conv_repair_config_t *c,
                                       cdtime_t heartbeat_timeout,
                                       cdtime_t keep, int64_t start_ms) {
  if (c->off)
    return NULL;
  gen_conv_repair_t *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->delay_ms = gen_cdtime_to_ms(c->delay);
  r->recheck_ms = gen_cdtime_to_ms(c->recheck);
  r->lead_ms = gen_cdtime_to_ms(heartbeat_timeout) + SKEW_MS;
  r->keep_ms = gen_cdtime_to_ms(keep);
  r->start_ms = start_ms;
  /* From the minute a window can start in to the current one. */
  r->ring_n = (size_t)(r->lead_ms / MINUTE_MS) + 2;
  r->counts.complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  return r;
}

static void queue_free(void *p) {
  queue_t *q = p;
  if (q != NULL)
    free(q->win);
  free(q);
}

/* Every queue's windows and minutes forgotten. */
static void forget_all(gen_conv_repair_t *r) {
  gen_map_free_values(&r->queues, queue_free);
  r->held = 0;
}

void gen_conv_repair_free(gen_conv_repair_t *r) {
  if (r == NULL)
    return;
  forget_all(r);
  free(r);
}

static queue_t *queue_get(gen_conv_repair_t *r, const char *id) {
  queue_t *q = gen_map_get(&r->queues, id);
  if (q != NULL || strlen(id) >= GEN_CONV_ID_SIZE)
    return q;
  q = calloc(1, sizeof(*q) + r->ring_n * sizeof(slot_t));
  if (q == NULL)
    return NULL;
  snprintf(q->id, sizeof(q->id), "%s", id);
  for (size_t i = 0; i < r->ring_n; i++)
    q->slot[i].minute = -1;
  if (gen_map_put(&r->queues, q->id, q) != 0) {
    free(q);
    return NULL;
  }
  return q;
}

/* A new estimate of Genesys' clock minus ours; its first minute places
 * the origin. */
static void set_offset(gen_conv_repair_t *r, int64_t offset_ms,
                       int64_t now_ms) {
  if (r->origin_until == 0)
    r->origin_until = now_ms + MINUTE_MS;
  r->offset_ms = offset_ms;
  r->offset_at = now_ms;
  r->have_offset = true;
  if (now_ms <= r->origin_until)
    r->origin_ms = ceil_minute(r->start_ms + offset_ms);
}

/* No window starts before it: the aggregates cannot tell the moments
 * before the counters began from those after. */
static int64_t origin(const gen_conv_repair_t *r) {
  return r->origin_until != 0 ? r->origin_ms
                              : ceil_minute(r->start_ms + r->offset_ms);
}

static bool in_window(const window_t *w, int64_t t) {
  return t >= w->start_ms && (w->end_ms == 0 || t < w->end_ms);
}

bool gen_conv_repair_live(gen_conv_repair_t *r, const char *queue_id, int media,
                          gen_conv_moment_t moment, int64_t at_ms,
                          int64_t now_ms) {
  int k = kind_of(moment);
  if (r == NULL)
    return true;
  /* The freshest moment of the last minute is the nearest to "now" on
   * Genesys' clock (later-reported moments are older). */
  if (at_ms > 0 && (!r->have_offset || at_ms - now_ms > r->offset_ms ||
                    now_ms - r->offset_at > MINUTE_MS))
    set_offset(r, at_ms - now_ms, now_ms);
  if (k < 0 || media < 0 || media >= (int)GEN_MEDIA_COUNT)
    return true;
  int64_t t = at_ms > 0 ? at_ms : now_ms + r->offset_ms;
  queue_t *q = queue_get(r, queue_id);
  if (q == NULL)
    return true; /* out of memory: counted, maybe twice after a gap */
  for (size_t i = 0; i < q->n_win; i++)
    if (q->win[i].repaired && in_window(&q->win[i], t))
      return false;
  for (size_t i = 0; i < q->n_win; i++)
    if (in_window(&q->win[i], t))
      gen_count_add(&q->win[i].live[media][k], 1);
  int64_t minute = t / MINUTE_MS;
  slot_t *s = &q->slot[(size_t)minute % r->ring_n];
  if (minute > s->minute) {
    memset(s, 0, sizeof(*s));
    s->minute = minute;
  }
  if (minute == s->minute)
    s->n[media][k]++;
  return true;
}

/* Adds the moments remembered per minute from from_ms on to w. */
static void add_ring(const gen_conv_repair_t *r, const queue_t *q, window_t *w,
                     int64_t from_ms) {
  for (size_t i = 0; i < r->ring_n; i++) {
    const slot_t *s = &q->slot[i];
    if (s->minute < 0 || s->minute * MINUTE_MS < from_ms)
      continue;
    for (size_t m = 0; m < GEN_MEDIA_COUNT; m++)
      for (int k = 0; k < KINDS; k++)
        gen_count_add(&w->live[m][k], s->n[m][k]);
  }
}

/* Forgets the windows asked for the last time longer than keep ago, and
 * the oldest repaired one when the queue has no room for another. */
static void forget_old(const gen_conv_repair_t *r, queue_t *q, int64_t now_ms) {
  size_t j = 0;
  for (size_t i = 0; i < q->n_win; i++)
    if (!q->win[i].rechecked || now_ms - q->win[i].end_ms <= r->keep_ms)
      q->win[j++] = q->win[i];
  q->n_win = j;
  for (size_t i = 0; q->n_win == MAX_WINDOWS && i < q->n_win; i++)
    if (q->win[i].repaired) {
      memmove(&q->win[i], &q->win[i + 1], (q->n_win - i - 1) * sizeof(*q->win));
      q->n_win--;
    }
}

static void open_window(gen_conv_repair_t *r, queue_t *q, int64_t now_ms) {
  forget_old(r, q, now_ms);
  int64_t start = floor_minute(now_ms - r->lead_ms);
  if (start < origin(r))
    start = origin(r); /* the counters count from there */
  window_t *last = q->n_win > 0 ? &q->win[q->n_win - 1] : NULL;
  if (last != NULL && !last->repaired) {
    if (last->end_ms == 0)
      return; /* still open */
    if (start <= last->end_ms) {
      /* Merged: the moments since its end are its too now. */
      add_ring(r, q, last, last->end_ms);
      last->end_ms = 0;
      return;
    }
  }
  /* Moments of a repaired window are the aggregates': not asked again. */
  for (size_t i = 0; i < q->n_win; i++)
    if (q->win[i].end_ms > start)
      start = q->win[i].end_ms;
  if (q->n_win == MAX_WINDOWS)
    return; /* no room (every one waiting): this gap is not repaired */
  window_t *w = realloc(q->win, (q->n_win + 1) * sizeof(*w));
  if (w == NULL)
    return;
  q->win = w;
  w = &q->win[q->n_win++];
  memset(w, 0, sizeof(*w));
  w->start_ms = start;
  add_ring(r, q, w, start);
}

typedef struct {
  gen_conv_repair_t *r;
  int64_t now_ms;
  bool lost;
} edge_t;

static int each_queue(void *ud, const char *const *ids, size_t n) {
  edge_t *e = ud;
  if (e->lost && e->r->have_offset &&
      (e->r->offset_ms > MAX_OFFSET_MS || e->r->offset_ms < -MAX_OFFSET_MS)) {
    e->r->unplaced++;
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (e->lost) {
      queue_t *q = queue_get(e->r, ids[i]);
      if (q != NULL)
        open_window(e->r, q, e->now_ms);
      continue;
    }
    queue_t *q = gen_map_get(&e->r->queues, ids[i]);
    window_t *last = q != NULL && q->n_win > 0 ? &q->win[q->n_win - 1] : NULL;
    if (last == NULL || last->end_ms != 0)
      continue;
    last->end_ms = ceil_minute(e->now_ms + SKEW_MS);
    if (last->end_ms <= last->start_ms) { /* before the counters began */
      e->r->held -= last->hold;           /* nothing to wait for */
      q->n_win--;
    }
  }
  return 0;
}

static void edge(gen_conv_repair_t *r, char *const *topics, size_t n,
                 int64_t now_ms, bool lost) {
  if (r == NULL)
    return;
  /* On Genesys' clock: the moments' times are. */
  edge_t e = {r, now_ms + r->offset_ms, lost};
  gen_notify_topic_ids(topics, n, GEN_LIVE_CONV_PREFIX, GEN_LIVE_CONV_SUFFIX,
                       GEN_REPAIR_QUERY_MAX, each_queue, &e, NULL);
}

void gen_conv_repair_lost(gen_conv_repair_t *r, char *const *topics, size_t n,
                          int64_t now_ms) {
  edge(r, topics, n, now_ms, true);
}

void gen_conv_repair_connected(gen_conv_repair_t *r, char *const *topics,
                               size_t n, int64_t now_ms) {
  edge(r, topics, n, now_ms, false);
}

/* ---- across a restart or a take-over ------------------------------------ */

/* Farther back than this, a snapshot is not resumed (a window this long
 * would count a week's moments in one step; below the API's 31 days). */
#define MAX_RESUME_MS (INT64_C(7) * 24 * 3600 * 1000)

int gen_conv_repair_print_at(const gen_conv_repair_t *r, int64_t now_ms,
                             gen_buf_t *out) {
  int64_t at = now_ms + r->offset_ms;
  int64_t from = floor_minute(at - r->lead_ms) / MINUTE_MS;
  /* The offset too: a restart knows it before its first moment. */
  int err =
      gen_buf_printf(out, ",\"repair\":{\"at\":%" PRId64 ",\"origin\":%" PRId64,
                     at, origin(r));
  if (err == 0 && r->have_offset)
    err = gen_buf_printf(out, ",\"offset\":%" PRId64, r->offset_ms);
  if (err == 0)
    err = gen_buf_add_str(out, ",\"recent\":{");
  bool first = true;
  size_t pos = 0;
  const void *key;
  void *value;
  while (err == 0 && gen_map_next(&r->queues, &pos, &key, &value)) {
    const queue_t *q = value;
    bool opened = false;
    for (size_t i = 0; err == 0 && i < r->ring_n; i++) {
      const slot_t *s = &q->slot[i];
      for (size_t m = 0; err == 0 && s->minute >= from && m < GEN_MEDIA_COUNT;
           m++)
        for (int k = 0; err == 0 && k < KINDS; k++) {
          if (s->n[m][k] == 0)
            continue;
          if (!opened &&
              ((err = gen_buf_printf(out, "%s", first ? "" : ",")) != 0 ||
               (err = gen_buf_add_json_string(out, q->id)) != 0 ||
               (err = gen_buf_add(out, ":[", 2)) != 0))
            break;
          err = gen_buf_printf(out, "%s[%" PRId64 ",\"%s\",\"%s\",%" PRIu32 "]",
                               opened ? "," : "", s->minute, gen_media_names[m],
                               kind_names[k], s->n[m][k]);
          opened = true;
          first = false;
        }
    }
    if (err == 0 && opened)
      err = gen_buf_add(out, "]", 1);
  }
  return err != 0 ? err : gen_buf_add(out, "}}", 2);
}

int gen_conv_repair_tail(void *ud, gen_buf_t *out) {
  return gen_conv_repair_print_at(ud, gen_cdtime_to_ms(cdtime()), out);
}

/* The moments of the snapshot's last minutes (recent[queue id]) from
 * from_ms on, into w; false: one is not of the form we write. */
static bool add_recent(json_object *list, window_t *w, int64_t from_ms) {
  size_t n = json_object_is_type(list, json_type_array)
                 ? json_object_array_length(list)
                 : 0;
  if (list != NULL && !json_object_is_type(list, json_type_array))
    return false;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(list, i);
    int64_t minute, count;
    if (!json_object_is_type(e, json_type_array) ||
        json_object_array_length(e) != 4 ||
        !gen_json_int64_of(json_object_array_get_idx(e, 0), &minute) ||
        !gen_json_int64_of(json_object_array_get_idx(e, 3), &count) ||
        count < 0 || count > UINT32_MAX)
      return false;
    int m = gen_media_from_name(
        json_object_get_string(json_object_array_get_idx(e, 1)));
    const char *kind = json_object_get_string(json_object_array_get_idx(e, 2));
    int k = 0;
    while (k < KINDS && (kind == NULL || strcmp(kind, kind_names[k]) != 0))
      k++;
    if (k == KINDS)
      return false;
    if (m >= 0 && minute * MINUTE_MS >= from_ms)
      gen_count_add(&w->live[m][k], count);
  }
  return true;
}

int gen_conv_repair_resume(gen_conv_repair_t *r, json_object *doc,
                           int64_t now_ms, const gen_org_t *org) {
  json_object *rep = json_object_object_get(doc, "repair");
  json_object *queues = json_object_object_get(doc, "queues");
  json_object *recent = json_object_object_get(rep, "recent");
  /* Absent from the files of before: no bound, no offset (as then). */
  json_object *origin_of = json_object_object_get(rep, "origin");
  json_object *offset_of = json_object_object_get(rep, "offset");
  int64_t at = 0, origin_ms = INT64_MIN, offset = 0;
  if (r == NULL || rep == NULL ||
      !json_object_is_type(queues, json_type_object))
    return 0; /* none, or a file from before the resume: as then */
  const char *why = NULL;
  if (!gen_json_get_int64(rep, "at", &at) ||
      (recent != NULL && !json_object_is_type(recent, json_type_object)) ||
      (origin_of != NULL && !gen_json_int64_of(origin_of, &origin_ms)) ||
      (offset_of != NULL && !gen_json_int64_of(offset_of, &offset)) ||
      offset > MAX_RESUME_MS || offset < -MAX_RESUME_MS ||
      (origin_of != NULL &&
       (origin_ms < 0 || origin_ms > now_ms + MAX_OFFSET_MS + MINUTE_MS)))
    why = "its \"repair\" is not of the form the plugin writes";
  else if (at > now_ms + MAX_OFFSET_MS)
    why = "it was written later than now (the clock went back)";
  else if (now_ms - at > MAX_RESUME_MS)
    why = "it is more than 7 days old";
  bool hold = !json_object_get_boolean(json_object_object_get(doc, "final"));
  int64_t start = floor_minute(at - r->lead_ms);
  if (start < origin_ms)
    start = ceil_minute(origin_ms); /* the old process counted from there */
  size_t resumed = 0;
  /* The queues listed then (those with no count yet too), and those
   * counted: a queue's moments since are missed either way. */
  json_object *listed = json_object_object_get(doc, "listed");
  size_t n_listed = json_object_is_type(listed, json_type_array)
                        ? json_object_array_length(listed)
                        : 0;
  json_object *ids = json_object_new_object();
  for (size_t i = 0; ids != NULL && i < n_listed; i++) {
    const char *id =
        json_object_get_string(json_object_array_get_idx(listed, i));
    if (id != NULL)
      json_object_object_add(ids, id, NULL);
  }
  json_object_object_foreach(queues, counted, unused) {
    (void)unused;
    if (ids != NULL)
      json_object_object_add(ids, counted, NULL);
  }
  json_object_object_foreach(ids, id, none) {
    (void)none;
    queue_t *q = why == NULL ? queue_get(r, id) : NULL;
    window_t *w = q != NULL && q->n_win == 0 ? calloc(1, sizeof(*w)) : NULL;
    if (w == NULL)
      continue;
    w->start_ms = start;
    w->hold = hold;
    if (!add_recent(json_object_object_get(recent, id), w, start)) {
      why = "its \"repair\" is not of the form the plugin writes";
      free(w);
      break;
    }
    q->win = w;
    q->n_win = 1;
    r->held += hold;
    resumed++;
  }
  json_object_put(ids);
  if (why != NULL) { /* no window of this snapshot kept */
    forget_all(r);
    gen_org_log(org, NULL, LOG_WARNING,
                "state file: the gap since it was written is not repaired: %s",
                why);
    return 0;
  }
  if (offset_of != NULL)
    set_offset(r, offset, now_ms);
  if (resumed > 0)
    gen_org_log(org, NULL, LOG_INFO,
                "gap repair: the conversation counters of %zu queues resume "
                "from %.0f s ago; the moments since are asked once the "
                "channels are back%s",
                resumed, (double)(now_ms - at) / 1000.0,
                hold ? " (the counters are held until then: the file is not a "
                       "clean shutdown's)"
                     : "");
  return (int)resumed;
}

bool gen_conv_repair_held(const void *ud, const char *queue_id) {
  const gen_conv_repair_t *r = ud;
  if (r == NULL || r->held == 0)
    return false;
  const queue_t *q = gen_map_get(&r->queues, queue_id);
  for (size_t i = 0; q != NULL && i < q->n_win; i++)
    if (q->win[i].hold)
      return true;
  return false;
}

void gen_conv_repair_unknown_to(gen_conv_repair_t *r,
                                const gen_unknown_sink_t *sink) {
  if (r != NULL)
    r->unknown = sink;
}

void gen_conv_repair_attach(gen_conv_repair_t *r, gen_conv_store_t *st,
                            gen_live_t *live, const gen_org_t *org) {
  if (r == NULL)
    return;
  gen_conv_repair_resume(r, st->restored, gen_cdtime_to_ms(cdtime()), org);
  st->tail = gen_conv_repair_tail;
  st->tail_ud = r;
  live->conv_held = gen_conv_repair_held;
  live->held_ud = r;
}

/* ---- the repair --------------------------------------------------------- */

/* The window of q to ask for at now_ms: once GapRepairDelay after its
 * end, again GapRepairRecheck later (what Genesys indexed late), both on
 * Genesys' clock, as its end (a host ahead asked too early). */
static window_t *due_window(const gen_conv_repair_t *r, queue_t *q,
                            int64_t now_ms) {
  for (size_t i = 0; i < q->n_win; i++) {
    window_t *w = &q->win[i];
    if (w->end_ms == 0 || w->rechecked)
      continue;
    int64_t due = w->end_ms + r->delay_ms + (w->repaired ? r->recheck_ms : 0);
    if (due <= now_ms + r->offset_ms)
      return w;
  }
  return NULL;
}

/* The queues of the first window due and of every other due with the same
 * bounds (a channel's queues share them), up to a request's worth. */
static void collect(gen_conv_repair_t *r, batch_t *b, int64_t now_ms) {
  b->n = 0;
  size_t pos = 0;
  const void *key;
  void *value;
  while (b->n < GEN_REPAIR_QUERY_MAX &&
         gen_map_next(&r->queues, &pos, &key, &value)) {
    queue_t *q = value;
    const window_t *w = due_window(r, q, now_ms);
    if (w == NULL)
      continue;
    if (b->n == 0) {
      b->start_ms = w->start_ms;
      b->end_ms = w->end_ms;
      b->second = w->repaired;
    } else if (w->start_ms != b->start_ms || w->end_ms != b->end_ms ||
               w->repaired != b->second) {
      continue;
    }
    snprintf(b->ids[b->n], sizeof(b->ids[0]), "%s", q->id);
    b->id_ptr[b->n] = b->ids[b->n];
    b->n++;
  }
}

static json_object *query_body(const batch_t *b) {
  gen_interval_range_t range = {b->start_ms, b->end_ms, 0};
  static const char *const group_by[] = {"queueId", "mediaType"};
  /* no granularity: the default, one bucket for the whole interval */
  json_object *body = gen_agg_query_new(&range, 0, group_by, 2);
  json_object *metrics = json_object_new_array();
  for (int k = 0; k < KINDS; k++)
    json_object_array_add(metrics, json_object_new_string(kind_metrics[k]));
  json_object_object_add(body, "metrics", metrics);
  json_object_object_add(body, "filter",
                         gen_json_or_filter("queueId", b->id_ptr, b->n));
  return body;
}

static ssize_t batch_index(const batch_t *b, const char *id) {
  for (size_t i = 0; id != NULL && i < b->n; i++)
    if (strcmp(b->ids[i], id) == 0)
      return (ssize_t)i;
  return -1;
}

/* The counts of the answer into b->agg (every bucket of a group added up:
 * the request asks one). 0, or -EBADMSG with the reason in err. */
static int read_answer(batch_t *b, const gen_unknown_sink_t *unknown,
                       const char *text, size_t len, char *err,
                       size_t err_size) {
  memset(b->agg, 0, sizeof(b->agg));
  gen_agg_answer_t *a = gen_agg_answer_new();
  if (a == NULL)
    return -ENOMEM;
  int status =
      gen_agg_answer_read(a, text ? text : "{}", text ? len : 2, err, err_size);
  const gen_agg_result_t *results = NULL;
  size_t n = status == 0 ? gen_agg_answer_results(a, &results) : 0;
  for (size_t i = 0; i < n; i++) {
    ssize_t qi =
        batch_index(b, gen_agg_group_get(&results[i].group, "queueId"));
    const char *media = gen_agg_group_get(&results[i].group, "mediaType");
    int m = media != NULL ? gen_media_from_name(media) : -1;
    if (qi >= 0 && m < 0) /* a media type this version lacks: counted */
      gen_unknown_note(unknown, "mediaType", media);
    if (qi < 0 || m < 0)
      continue; /* not asked for, or that media type */
    for (size_t j = 0; j < results[i].n; j++) {
      const gen_agg_metrics_t *ms = &results[i].b[j].metrics;
      for (size_t e = 0; e < ms->n; e++)
        for (int k = 0; ms->e[e].metric != NULL && k < KINDS; k++)
          if (strcmp(ms->e[e].metric, kind_metrics[k]) == 0 &&
              (ms->e[e].have & (1u << GEN_AGG_STAT_COUNT)) &&
              ms->e[e].stat[GEN_AGG_STAT_COUNT] >= 0)
            gen_count_add(&b->agg[qi][m][k],
                          (int64_t)ms->e[e].stat[GEN_AGG_STAT_COUNT]);
    }
  }
  gen_agg_answer_free(a);
  return status == 0 ? 0 : -EBADMSG;
}

/* What the aggregates count beyond what the counters hold of the window
 * goes to the counters: at the first ask the live moments, at the second
 * what the first made it (a later count never lowers them). The windows
 * are repaired, or rechecked (drop: a refused first ask drops them, a
 * refused second one leaves them as the first made them). Under the
 * lock. */
static void apply(gen_conv_repair_t *r, const batch_t *b,
                  const gen_entity_set_t *queues, gen_live_t *live, bool drop) {
  for (size_t i = 0; i < b->n; i++) {
    queue_t *q = gen_map_get(&r->queues, b->ids[i]);
    for (size_t j = 0; q != NULL && j < q->n_win; j++) {
      window_t *w = &q->win[j];
      if (w->rechecked || w->repaired != b->second ||
          w->start_ms != b->start_ms || w->end_ms != b->end_ms)
        continue;
      ssize_t index = gen_entity_find(queues, b->ids[i]);
      if (w->hold && !b->second) { /* whole again: all of them go out */
        w->hold = false;
        r->held--;
        if (index >= 0)
          gen_live_conv_all(live, (size_t)index);
      }
      if (drop && !b->second) {
        memmove(w, w + 1, (q->n_win - j - 1) * sizeof(*w));
        q->n_win--;
        break;
      }
      if (!b->second)
        memcpy(w->counted, w->live, sizeof(w->counted));
      w->rechecked = b->second || r->recheck_ms == 0;
      w->repaired = true;
      for (size_t m = 0; !drop && index >= 0 && m < GEN_MEDIA_COUNT; m++)
        for (int k = 0; k < KINDS; k++) {
          int64_t add = b->agg[i][m][k] - w->counted[m][k];
          if (add <= 0)
            continue;
          gen_live_add(live, (size_t)index, b->ids[i], (int)m, kind_moments[k],
                       add);
          gen_count_add(&w->counted[m][k], add);
          gen_count_add(&r->repaired[k], add);
        }
      break;
    }
  }
}

json_object *gen_conv_repair_next(gen_conv_repair_t *r, int64_t now_ms) {
  if (r == NULL)
    return NULL;
  collect(r, &r->batch, now_ms);
  return r->batch.n > 0 ? query_body(&r->batch) : NULL;
}

int gen_conv_repair_take(gen_conv_repair_t *r, const char *text, size_t len,
                         bool drop, const gen_entity_set_t *queues,
                         gen_live_t *live, char *err, size_t err_size) {
  int status = 0;
  if (r == NULL)
    return 0;
  if (!drop && (status = read_answer(&r->batch, r->unknown, text, len, err,
                                     err_size)) != 0)
    return status;
  apply(r, &r->batch, queues, live, drop);
  return 0;
}

int gen_conv_repair_run(gen_conv_repair_t *r, gen_client_t *client,
                        pthread_mutex_t *lock, const gen_entity_set_t *queues,
                        gen_live_t *live, int64_t now_ms) {
  if (r == NULL)
    return 0;
  pthread_mutex_lock(lock);
  bool say = r->unplaced > 0 && r->unplaced_said == 0;
  r->unplaced_said = r->unplaced;
  int64_t offset = r->offset_ms;
  pthread_mutex_unlock(lock);
  if (say) /* once: it stays so while the clocks disagree */
    gen_org_log(client->org, NULL, LOG_WARNING,
                "gap repair: the events' times are %.0f s off the host's "
                "clock: gaps are not repaired while they are over %.0f s "
                "apart",
                (double)offset / 1000.0, (double)MAX_OFFSET_MS / 1000.0);
  int status = 0;
  /* A history-shaped request outside an engine: the loop's post and
   * classification, at most MAX_QUERIES a read. */
  gen_family_run_t run = {.client = client,
                          .counts = &r->counts,
                          .budget = MAX_QUERIES,
                          .answer = GEN_FAMILY_DETAILS_ANSWER};
  size_t spent = 0;
  while (status == 0) {
    pthread_mutex_lock(lock);
    json_object *body = gen_conv_repair_next(r, now_ms);
    pthread_mutex_unlock(lock);
    if (body == NULL)
      break;
    gen_http_response_t resp;
    char err[512] = "";
    status = gen_family_post(&run, GEN_REPAIR_PATH, body, &spent, &resp, NULL,
                             err, sizeof(err));
    if (status == GEN_FAMILY_OUT_OF_BUDGET)
      return 0;
    if (status == 0) {
      pthread_mutex_lock(lock);
      status = gen_conv_repair_take(r, resp.body, resp.body_len, false, queues,
                                    live, err, sizeof(err));
      pthread_mutex_unlock(lock);
    }
    gen_http_response_recycle(client->http, &resp);
    if (gen_family_outcome(&run, "gap repair", "live counters", status, err)) {
      pthread_mutex_lock(lock); /* refused: the windows are dropped */
      gen_conv_repair_take(r, NULL, 0, true, queues, live, err, sizeof(err));
      pthread_mutex_unlock(lock);
    } else if (status != 0) {
      gen_org_log(client->org, &r->counts.complain, LOG_ERR,
                  "gap repair: conversations aggregates query failed (asked "
                  "again at the next read): %s",
                  err);
    }
  }
  return status;
}

void gen_conv_repair_dispatch_stats(const gen_conv_repair_t *r,
                                    const char *host, const char *plugin) {
  if (r == NULL)
    return;
  gen_dispatch_self(host, plugin, "analytics_queries", NULL, true,
                    (double)r->counts.queries);
  gen_dispatch_self(host, plugin, "analytics_query_failures", NULL, true,
                    (double)r->counts.failures);
  for (int k = 0; k < KINDS; k++)
    gen_dispatch_self(host, plugin, "conv_repaired", kind_names[k], true,
                      (double)r->repaired[k]);
  gen_dispatch_self(host, plugin, "conv_held", NULL, false, (double)r->held);
}

/* ---- its row (gen_feature.h) ----------------------------------------------
 */

static bool cr_on(const gen_feature_ctx_t *c) {
  return c->config->conversation_events;
}

static void *cr_new(const gen_feature_ctx_t *c) {
  gen_conv_repair_t *r = gen_conv_repair_new(
      &c->config->repair, c->config->notify.heartbeat_timeout,
      c->config->conv.timeout, gen_cdtime_to_ms(cdtime()));
  if (r == NULL)
    return NULL;
  r->unknown_sink = (gen_unknown_sink_t){&c->client->stats, c->who,
                                         "conversation_aggregates"};
  r->unknown = &r->unknown_sink;
  /* the gap since the file was written */
  gen_conv_repair_attach(r, c->store, c->live, c->client->org);
  return r;
}

static bool cr_run(void *f, const gen_feature_ctx_t *c) {
  gen_conv_repair_run(f, c->client, c->lock, c->queues, c->live, c->wall_ms);
  return false;
}

static void cr_free(void *f) { gen_conv_repair_free(f); }

static bool cr_live(void *f, const char *queue_id, int media,
                    gen_conv_moment_t moment, int64_t at_ms, int64_t now_ms) {
  return gen_conv_repair_live(f, queue_id, media, moment, at_ms, now_ms);
}

static void cr_gap(void *f, char *const *topics, size_t n, bool lost,
                   int64_t now_ms) {
  (lost ? gen_conv_repair_lost : gen_conv_repair_connected)(f, topics, n,
                                                            now_ms);
}

static void cr_stats(void *f, const char *host, const char *plugin) {
  gen_conv_repair_dispatch_stats(f, host, plugin);
}

const gen_feature_t gen_conv_repair_feature = {.name = "conv_repair",
                                               .on = cr_on,
                                               .create = cr_new,
                                               .free = cr_free,
                                               .run = cr_run,
                                               .live = cr_live,
                                               .gap = cr_gap,
                                               .locked_stats = cr_stats};
