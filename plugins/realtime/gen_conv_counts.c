/* SPDX-License-Identifier: MIT */
/* collectd-genesys: conversation counters and their state file (see
 * gen_conv_counts.h). */
#include "gen_conv_counts.h"

#include "gen_buf.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_CONV_STATE_VERSION 1

/* Type instances of the state transitions, by moment (NULL: a counter of
 * its own, not a transition). */
static const char *const transition_names[GEN_CONV_MOMENT_COUNT] = {
    [GEN_CONV_ALERTED] = "queue_to_alerting",
    [GEN_CONV_ANSWERED] = "alerting_to_connected",
    [GEN_CONV_UNANSWERED] = "alerting_to_queue",
    [GEN_CONV_ABANDONED] = "queue_to_ended",
    [GEN_CONV_ENDED] = "connected_to_ended",
};
/* Types of the moments that are counters of their own. */
static const char *const moment_types[GEN_CONV_MOMENT_COUNT] = {
    [GEN_CONV_OFFERED] = "conv_offered",
    [GEN_CONV_ANSWERED] = "conv_answered",
    [GEN_CONV_ABANDONED] = "conv_abandoned",
    [GEN_CONV_TRANSFERRED] = "conv_transferred",
};

size_t gen_conv_counts_record(gen_conv_counts_t *c, gen_conv_moment_t moment,
                              int64_t wait_ms, const gen_waits_bounds_t *bounds,
                              uint64_t *seed) {
  c->seen = true;
  gen_count_add(&c->moments[moment], 1); /* stops at 2^53 */
  if (moment == GEN_CONV_ANSWERED && wait_ms >= 0)
    return gen_waits_record(&c->waits, bounds, wait_ms, seed);
  return bounds->n + 1;
}

void gen_conv_counts_put(const gen_conv_counts_t *c, const char *media,
                         int moment, size_t first_bucket,
                         const gen_waits_bounds_t *bounds, gen_put_t put,
                         void *ud) {
  char ti[64];
  for (int k = 0; k < GEN_CONV_MOMENT_COUNT; k++) {
    if (moment >= 0 && k != moment)
      continue;
    if (moment_types[k] != NULL)
      put(ud, moment_types[k], media, (double)c->moments[k], true);
    if (transition_names[k] != NULL) {
      snprintf(ti, sizeof(ti), "%s-%s", media, transition_names[k]);
      put(ud, "conv_transitions", ti, (double)c->moments[k], true);
    }
  }
  if (moment >= 0 && moment != GEN_CONV_ANSWERED)
    return;
  for (size_t b = moment >= 0 ? first_bucket : 0; b <= bounds->n; b++) {
    gen_waits_bucket_label(bounds, b, media, ti, sizeof(ti));
    put(ud, "conv_wait_bucket", ti, (double)c->waits.bucket[b], true);
  }
  put(ud, "conv_wait_sum_ms", media, (double)c->waits.sum_ms, true);
}

void gen_conv_counts_put_interval(gen_conv_counts_t *c, const char *media,
                                  gen_put_t put, void *ud) {
  static const char *const names[] = {"p50", "p90", "p95", "p99"};
  static const double p[] = {0.50, 0.90, 0.95, 0.99};
  const size_t n = sizeof(p) / sizeof(p[0]);
  double at[sizeof(p) / sizeof(p[0])];
  put(ud, "conv_wait_count", media, (double)c->waits.interval_count, false);
  put(ud, "conv_wait_sum", media, c->waits.interval_sum, false);
  if (gen_waits_quantiles(&c->waits, p, n, at))
    for (size_t i = 0; i < n; i++) {
      char ti[64];
      snprintf(ti, sizeof(ti), "%s-%s", media, names[i]);
      put(ud, "conv_wait_quantile", ti, at[i], false);
    }
  gen_waits_next_interval(&c->waits);
}

void gen_conv_queue_free(gen_conv_queue_t *q) {
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++) {
    if (q->media[m] != NULL)
      gen_waits_release(&q->media[m]->waits);
    free(q->media[m]);
    q->media[m] = NULL;
  }
}

/* ---- the state file ------------------------------------------------------ */

/* Reads n counts (each in [0, 2^53]) from a; false when a is not exactly
 * that. */
static bool read_counts(json_object *a, int64_t *out, size_t n) {
  if (!json_object_is_type(a, json_type_array) ||
      json_object_array_length(a) != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!gen_json_count_of(json_object_array_get_idx(a, i), &out[i]))
      return false;
  return true;
}

/* One media type's saved counters into c; false: not as we write them (c
 * then partly written). */
static bool media_saved(const gen_waits_bounds_t *bounds, json_object *o,
                        gen_conv_counts_t *c, bool with_buckets) {
  int64_t w;
  if (!read_counts(json_object_object_get(o, "m"), c->moments,
                   GEN_CONV_MOMENT_COUNT) ||
      !gen_json_count_of(json_object_object_get(o, "w"), &w) ||
      (with_buckets && !read_counts(json_object_object_get(o, "b"),
                                    c->waits.bucket, bounds->n + 1)))
    return false;
  c->waits.sum_ms = w;
  c->seen = true;
  return true;
}

/* One queue's saved counters into per_media (checked at load: every media
 * type left in it is as we write it). */
static void apply_saved(const gen_waits_bounds_t *bounds, json_object *saved,
                        gen_conv_counts_t *per_media, bool with_buckets) {
  json_object_object_foreach(saved, media, o) {
    int m = gen_media_from_name(media);
    if (m >= 0) /* else a media type we no longer know */
      media_saved(bounds, o, &per_media[m], with_buckets);
  }
}

/* Takes out of queues what is not as we write it (a count beyond 2^53,
 * below zero, text): a queue's media type alone, or a queue that is not an
 * object; each logged with its queue and media type. The rest is restored,
 * and carried over by the next save. How many were taken out. */
static size_t refuse_bad(const gen_waits_bounds_t *bounds, json_object *queues,
                         bool with_buckets, const char *path,
                         const gen_org_t *org) {
  size_t refused = 0;
  json_object *gone = json_object_new_array();
  json_object_object_foreach(queues, id, saved) {
    if (!json_object_is_type(saved, json_type_object)) {
      if (refused < GEN_STATE_REFUSED_LOGGED)
        gen_org_log(org, NULL, LOG_WARNING,
                    "state file %s: queue %.60s: not an object, refused; its "
                    "conversation counters restart at zero",
                    path, id);
      json_object_array_add(gone, json_object_new_string(id));
      refused++;
      continue;
    }
    json_object *bad = json_object_new_array();
    json_object_object_foreach(saved, media, o) {
      gen_conv_counts_t scratch = {0};
      if (gen_media_from_name(media) < 0 ||
          media_saved(bounds, o, &scratch, with_buckets))
        continue;
      if (refused < GEN_STATE_REFUSED_LOGGED)
        gen_org_log(org, NULL, LOG_WARNING,
                    "state file %s: queue %.60s, %.20s: a count in it is out "
                    "of range or not one (%.80s), refused; those counters "
                    "restart at zero, the others go on",
                    path, id, media, json_object_to_json_string(o));
      json_object_array_add(bad, json_object_new_string(media));
      refused++;
    }
    for (size_t i = 0; i < json_object_array_length(bad); i++)
      json_object_object_del(
          saved, json_object_get_string(json_object_array_get_idx(bad, i)));
    json_object_put(bad);
  }
  for (size_t i = 0; i < json_object_array_length(gone); i++)
    json_object_object_del(
        queues, json_object_get_string(json_object_array_get_idx(gone, i)));
  json_object_put(gone);
  if (refused > 1)
    gen_org_log(org, NULL, LOG_WARNING,
                "state file %s: %zu queues' counters refused in all", path,
                refused);
  return refused;
}

void gen_conv_store_load(gen_conv_store_t *st, const char *path,
                         const gen_waits_bounds_t *bounds,
                         const gen_org_t *org) {
  memset(st, 0, sizeof(*st));
  st->bounds = *bounds;
  sstrncpy(st->path, path, sizeof(st->path));
  json_object *doc = NULL;
  int status = gen_state_load_json(path, &doc);
  if (status == -ENOENT)
    return;
  const char *why = status != 0 ? gen_strerror(status) : NULL;
  int64_t version = 0;
  json_object *b = json_object_object_get(doc, "bounds");
  size_t nb =
      json_object_is_type(b, json_type_array) ? json_object_array_length(b) : 0;
  bool same_bounds = nb == bounds->n;
  for (size_t i = 0; same_bounds && i < nb; i++)
    same_bounds = json_object_get_double(json_object_array_get_idx(b, i)) ==
                  bounds->bound[i];
  json_object *queues = json_object_object_get(doc, "queues");
  if (why == NULL && (!gen_json_get_int64(doc, "version", &version) ||
                      version != GEN_CONV_STATE_VERSION ||
                      !json_object_is_type(queues, json_type_object)))
    why = "not a state file of this version";
  if (why == NULL)
    st->refused = refuse_bad(bounds, queues, same_bounds, path, org);
  if (why != NULL) {
    gen_org_log(org, NULL, LOG_ERR,
                "state file %s refused (%s): the conversation counters "
                "restart at zero",
                path, why);
    json_object_put(doc);
    return;
  }
  if (!same_bounds)
    gen_org_log(org, NULL, LOG_INFO,
                "WaitBuckets changed: the wait buckets restart at zero, the "
                "other conversation counters continue");
  st->same_bounds = same_bounds;
  st->restored = doc;
}

bool gen_conv_store_pending(const gen_conv_store_t *st, const char *queue_id) {
  json_object *queues = json_object_object_get(st->restored, "queues");
  return queues != NULL && json_object_object_get(queues, queue_id) != NULL;
}

int gen_conv_store_restore(gen_conv_store_t *st, const char *queue_id,
                           gen_conv_queue_t *q) {
  json_object *queues = json_object_object_get(st->restored, "queues");
  json_object *saved = json_object_object_get(queues, queue_id);
  if (saved == NULL)
    return 0;
  gen_conv_counts_t scratch[GEN_MEDIA_COUNT];
  memset(scratch, 0, sizeof(scratch));
  apply_saved(&st->bounds, saved, scratch, st->same_bounds);
  gen_conv_queue_t got = {0};
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++) {
    if (!scratch[m].seen)
      continue;
    if ((got.media[m] = malloc(sizeof(*got.media[m]))) == NULL) {
      gen_conv_queue_free(&got);
      return -ENOMEM;
    }
    *got.media[m] = scratch[m];
  }
  gen_conv_queue_free(q);
  *q = got;
  json_object_object_del(queues, queue_id);
  return 0;
}

static int print_counts(gen_buf_t *out, const int64_t *v, size_t n) {
  int err = gen_buf_add(out, "[", 1);
  for (size_t i = 0; err == 0 && i < n; i++)
    if ((i > 0 && (err = gen_buf_add(out, ",", 1)) != 0) ||
        (err = gen_buf_add_int64(out, v[i])) != 0)
      break;
  return err != 0 ? err : gen_buf_add(out, "]", 1);
}

/* The text json-c would write of the document, written as it goes: a tree
 * of 5,000 queues' counters was 9 MiB of small allocations every save,
 * left as holes in whichever thread's heap the read ran on (issue 36). */
int gen_conv_store_print(const gen_conv_store_t *st, size_t n,
                         const gen_conv_queue_t *(*each)(void *ud, size_t i,
                                                         const char **id),
                         void *ud, gen_buf_t *out) {
  const gen_waits_bounds_t *b = &st->bounds;
  int err = gen_buf_printf(out, "{\"version\":%d,\"bounds\":[",
                           GEN_CONV_STATE_VERSION);
  for (size_t i = 0; err == 0 && i < b->n; i++) {
    char num[40];
    int len = snprintf(num, sizeof(num), "%.17g", b->bound[i]);
    /* still a double when read back, as json-c writes one */
    bool integral = strspn(num, "-0123456789") == (size_t)len;
    err = gen_buf_printf(out, "%s%s%s", i > 0 ? "," : "", num,
                         integral ? ".0" : "");
  }
  if (err == 0)
    err = gen_buf_add_str(out, "],\"queues\":{");
  bool first = true;
  for (size_t i = 0; err == 0 && i < n; i++) {
    const char *id = NULL;
    const gen_conv_queue_t *q = each(ud, i, &id);
    bool opened = false;
    for (size_t m = 0; err == 0 && q != NULL && m < GEN_MEDIA_COUNT; m++) {
      const gen_conv_counts_t *c = q->media[m];
      if (c == NULL || !c->seen)
        continue;
      if (!opened) {
        if ((!first && (err = gen_buf_add(out, ",", 1)) != 0) ||
            (err = gen_buf_add_json_string(out, id)) != 0 ||
            (err = gen_buf_add(out, ":{", 2)) != 0)
          break;
        first = false;
        opened = true;
      } else if ((err = gen_buf_add(out, ",", 1)) != 0)
        break;
      if ((err = gen_buf_add_json_string(out, gen_media_names[m])) != 0 ||
          (err = gen_buf_add_str(out, ":{\"m\":")) != 0 ||
          (err = print_counts(out, c->moments, GEN_CONV_MOMENT_COUNT)) != 0 ||
          (err = gen_buf_add_str(out, ",\"b\":")) != 0 ||
          (err = print_counts(out, c->waits.bucket, b->n + 1)) != 0 ||
          (err = gen_buf_printf(out, ",\"w\":%" PRId64 "}", c->waits.sum_ms)) !=
              0)
        break;
    }
    if (err == 0 && opened)
      err = gen_buf_add(out, "}", 1);
  }
  json_object *left = json_object_object_get(st->restored, "queues");
  if (err == 0 && left != NULL && st->same_bounds) {
    /* Queues not counted since: carried over as they were read. */
    gen_map_t printed = {.kind = GEN_MAP_STR};
    for (size_t i = 0; err == 0 && i < n; i++) {
      const char *id = NULL;
      const gen_conv_queue_t *q = each(ud, i, &id);
      bool seen = false;
      for (size_t m = 0; q != NULL && m < GEN_MEDIA_COUNT; m++)
        seen = seen || (q->media[m] != NULL && q->media[m]->seen);
      if (seen && gen_map_put(&printed, id, NULL) != 0)
        err = -ENOMEM;
    }
    json_object_object_foreach(left, id, saved) {
      if (err != 0)
        break;
      if (gen_map_find(&printed, id, NULL))
        continue;
      const char *text =
          json_object_to_json_string_ext(saved, JSON_C_TO_STRING_PLAIN);
      if (text == NULL || (!first && (err = gen_buf_add(out, ",", 1)) != 0) ||
          (err = gen_buf_add_json_string(out, id)) != 0 ||
          (err = gen_buf_add(out, ":", 1)) != 0 ||
          (err = gen_buf_add_str(out, text)) != 0) {
        err = err != 0 ? err : -ENOMEM;
        break;
      }
      first = false;
    }
    gen_map_free(&printed);
  }
  if (err == 0)
    err = gen_buf_add_str(out, st->final ? "},\"final\":true" : "}");
  /* Every queue listed, counted or not yet: a restart's gap is each one's
   * (the tail's reader, gen_conv_repair_resume). */
  if (err == 0 && st->tail != NULL)
    err = gen_buf_add_str(out, ",\"listed\":[");
  for (size_t i = 0; err == 0 && st->tail != NULL && i < n; i++) {
    const char *id = NULL;
    each(ud, i, &id);
    if ((i > 0 && (err = gen_buf_add(out, ",", 1)) != 0) ||
        (err = gen_buf_add_json_string(out, id)) != 0)
      break;
  }
  if (err == 0 && st->tail != NULL)
    err = gen_buf_add(out, "]", 1);
  if (err == 0 && st->tail != NULL)
    err = st->tail(st->tail_ud, out);
  return err != 0 ? err : gen_buf_add(out, "}", 1);
}

gen_conv_counts_t *gen_conv_store_counts(gen_conv_store_t *st,
                                         gen_conv_queue_t *q,
                                         const char *queue_id, int media) {
  if (media < 0 || media >= (int)GEN_MEDIA_COUNT)
    return NULL;
  bool none = true;
  for (size_t m = 0; none && m < GEN_MEDIA_COUNT; m++)
    none = q->media[m] == NULL;
  if (none && gen_conv_store_restore(st, queue_id, q) != 0)
    return NULL;
  if (q->media[media] == NULL)
    q->media[media] = calloc(1, sizeof(*q->media[media]));
  return q->media[media];
}

int gen_conv_store_save(gen_conv_store_t *st, pthread_mutex_t *lock, size_t n,
                        const gen_conv_queue_t *(*each)(void *ud, size_t i,
                                                        const char **id),
                        void *ud, const gen_org_t *org, gen_ratelimit_t *rl) {
  pthread_mutex_lock(lock);
  if (!st->dirty || st->path[0] == '\0') {
    pthread_mutex_unlock(lock);
    return 0;
  }
  gen_buf_t text = GEN_BUF_INIT(GEN_STATE_MAX_SIZE);
  int status = gen_conv_store_print(st, n, each, ud, &text);
  st->dirty = false;
  pthread_mutex_unlock(lock);
  if (status == 0)
    status = gen_state_write(st->path, text.data, text.len);
  gen_buf_free(&text);
  if (status != 0) {
    pthread_mutex_lock(lock);
    st->dirty = true; /* the next call tries again */
    pthread_mutex_unlock(lock);
    gen_org_log(org, rl, LOG_ERR, "cannot write %s: %s", st->path,
                gen_strerror(status));
  }
  return status;
}

void gen_conv_store_free(gen_conv_store_t *st) {
  json_object_put(st->restored);
  st->restored = NULL;
}
