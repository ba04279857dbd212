/* SPDX-License-Identifier: MIT */
/* The live queue table of genesys_realtime: state, marks, re-dispatch. */
#include "collectd/core/daemon/collectd.h"

#include "gen_live.h"

#include "gen_dispatch.h"
#include "gen_feature.h"
#include "gen_json.h"
#include "gen_names.h"
#include "gen_notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool gen_live_wanted(const gen_live_t *l, size_t m) {
  return l->media_mask == 0 || (l->media_mask >> m) & 1u;
}

gen_qs_media_t *gen_live_media(gen_live_t *l, size_t i, size_t m) {
  gen_live_media_t **slot = &l->state[i].media[m];
  if (*slot == NULL)
    *slot = calloc(1, sizeof(**slot));
  return *slot != NULL ? &(*slot)->now : NULL;
}

const gen_qs_media_t *gen_live_media_find(const gen_live_t *l, size_t i,
                                          size_t m) {
  const gen_live_media_t *lm = l->state[i].media[m];
  return lm != NULL ? &lm->now : NULL;
}

/* Frees what queue q owns; its pointers are NULL after. */
static void queue_release(gen_live_queue_t *q) {
  gen_conv_queue_free(&q->conv);
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++) {
    free(q->media[m]);
    q->media[m] = NULL;
  }
}

/* The list holds a queue once however often it is put and changed again
 * between two changed dispatches (DispatchEvery: re-dispatch ticks put it
 * in between), so it never outgrows the queue count it is sized for. */
void gen_live_mark(gen_live_t *l, size_t i) {
  l->state[i].changed = true;
  if (!l->state[i].listed) {
    l->state[i].listed = true;
    l->changed[l->n_changed++] = i;
  }
}

/* The counters of queue i (id queue_id) for media, allocated at first use
 * (the queue's saved ones restored at its first); NULL when out of
 * memory. */
static gen_conv_counts_t *conv_of(gen_live_t *l, size_t i, const char *queue_id,
                                  int media) {
  return gen_conv_store_counts(l->store, &l->state[i].conv, queue_id, media);
}

void gen_live_moment(gen_live_t *l, size_t i, const char *queue_id, int media,
                     gen_conv_moment_t moment, int64_t wait_ms,
                     uint64_t *seed) {
  gen_conv_counts_t *conv = conv_of(l, i, queue_id, media);
  if (conv == NULL)
    return;
  size_t first_bucket =
      gen_conv_counts_record(conv, moment, wait_ms, l->bounds, seed);
  l->store->dirty = true;
  gen_live_queue_t *q = &l->state[i];
  unsigned bit = 1u << moment;
  if (moment == GEN_CONV_ANSWERED && ((q->conv_changed[media] & bit) == 0 ||
                                      first_bucket < q->conv_bucket[media]))
    q->conv_bucket[media] = (uint8_t)first_bucket;
  q->conv_changed[media] |= (uint8_t)bit;
  gen_live_mark(l, i);
}

void gen_live_add(gen_live_t *l, size_t i, const char *queue_id, int media,
                  gen_conv_moment_t moment, int64_t n) {
  if (n <= 0)
    return;
  gen_conv_counts_t *conv = conv_of(l, i, queue_id, media);
  if (conv == NULL)
    return;
  conv->seen = true;
  gen_count_add(&conv->moments[moment], n); /* stops at 2^53 */
  l->store->dirty = true;
  gen_live_queue_t *q = &l->state[i];
  unsigned bit = 1u << moment;
  if ((q->conv_changed[media] & bit) == 0) /* no wait bucket changed */
    q->conv_bucket[media] = (uint8_t)(l->bounds->n + 1);
  q->conv_changed[media] |= (uint8_t)bit;
  gen_live_mark(l, i);
}

void gen_live_conv_all(gen_live_t *l, size_t i) {
  gen_live_queue_t *q = &l->state[i];
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++) {
    q->conv_changed[m] = (uint8_t)((1u << GEN_CONV_MOMENT_COUNT) - 1);
    q->conv_bucket[m] = 0;
  }
  gen_live_mark(l, i);
}

void gen_live_put(void *sink, const char *type, const char *type_instance,
                  double value, bool derive) {
  const gen_live_sink_t *s = sink;
  if (s->observe != NULL && !derive)
    s->observe(s->ud, s->instance, type, type_instance, value, s->time);
  if (s->interval == 0)
    return;
  gen_ident_t id = {.host = s->host,
                    .plugin = s->plugin,
                    .plugin_instance = s->instance,
                    .type = type,
                    .type_instance = type_instance};
  gen_dispatch_number(&id, derive, value, s->time, s->interval);
}

void gen_feature_put_under(void *ud, const char *type,
                           const char *type_instance, double value,
                           bool derive) {
  (void)derive; /* what the rows put this way are gauges */
  const gen_feature_sink_t *s = ud;
  s->put(s->ud, s->instance, type, type_instance, value);
}

void gen_live_put_list(void *sink, const char *media, const double *values) {
  static const char *const names[GEN_QS_LIST_LEN] = {
      "waiting", "interacting", "alerting", "longest_waiting",
      "longest_interacting"};
  const gen_live_sink_t *s = sink;
  for (size_t k = 0; s->observe != NULL && k < GEN_QS_LIST_LEN; k++)
    s->observe(s->ud, s->instance, names[k], media, values[k], s->time);
  if (s->interval == 0)
    return; /* observed only, as gen_live_put */
  gen_ident_t id = {.host = s->host,
                    .plugin = s->plugin,
                    .plugin_instance = s->instance,
                    .type = GEN_QS_LIST_TYPE,
                    .type_instance = media};
  gen_dispatch_gauges(&id, values, GEN_QS_LIST_LEN, s->time, s->interval);
}

void gen_live_put_queue(gen_live_t *l, size_t i, const char *queue_id, bool all,
                        cdtime_t t, gen_put_t put, void *ud) {
  gen_live_queue_t *q = &l->state[i];
  if (all && gen_conv_store_pending(l->store, queue_id))
    gen_conv_store_restore(l->store, queue_id, &q->conv); /* totals from
                                                            before the
                                                            restart, now */
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++) {
    gen_live_media_t *lm = q->media[m];
    if (lm == NULL)
      continue;
    double values[GEN_QS_LIST_LEN];
    if (!lm->now.seen || !gen_live_wanted(l, m))
      ;
    else if (l->put_list == NULL)
      gen_qs_put_media(&lm->now, all ? NULL : &lm->sent, gen_media_names[m], t,
                       put, ud);
    else if (gen_qs_media_values(&lm->now, all ? NULL : &lm->sent, t, values))
      l->put_list(ud, gen_media_names[m], values);
    lm->sent = lm->now;
  }
  if (q->agents.seen)
    gen_qs_put_agents(&q->agents, all ? NULL : &q->sent_agents, put, ud);
  q->sent_agents = q->agents;
  /* Counters that may be short of what was sent before a restart (the
   * gap repair's resume) wait for the repair: no step back. */
  bool held = l->conv_held != NULL && l->conv_held(l->held_ud, queue_id);
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++) {
    unsigned moments = all ? 0 : q->conv_changed[m];
    q->conv_changed[m] = 0;
    const gen_conv_counts_t *c = q->conv.media[m];
    if (c == NULL || !c->seen || !gen_live_wanted(l, m) || held)
      continue;
    if (all)
      gen_conv_counts_put(c, gen_media_names[m], -1, 0, l->bounds, put, ud);
    for (int k = 0; moments != 0; k++, moments >>= 1)
      if (moments & 1u)
        gen_conv_counts_put(c, gen_media_names[m], k, q->conv_bucket[m],
                            l->bounds, put, ud);
  }
  q->changed = false; /* its entry in the changed list is passed over */
}

void gen_live_put_intervals(gen_live_t *l, size_t i, gen_put_t put, void *ud) {
  gen_live_queue_t *q = &l->state[i];
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++)
    if (q->conv.media[m] != NULL && q->conv.media[m]->seen &&
        gen_live_wanted(l, m))
      gen_conv_counts_put_interval(q->conv.media[m], gen_media_names[m], put,
                                   ud);
}

void gen_live_each_changed(gen_live_t *l, void (*each)(void *ud, size_t i),
                           void *ud) {
  for (size_t j = 0; j < l->n_changed; j++) {
    gen_live_queue_t *q = &l->state[l->changed[j]];
    q->listed = false;
    if (q->changed)
      each(ud, l->changed[j]);
  }
  l->n_changed = 0;
}

void gen_live_each_due(gen_live_t *l, size_t n, cdtime_t t, cdtime_t interval,
                       bool all, void (*each)(void *ud, size_t i), void *ud) {
  size_t target = n;
  if (!all) {
    if (l->cycle_start == 0 || interval == 0)
      return; /* no read yet */
    cdtime_t ran = t > l->cycle_start ? t - l->cycle_start : 0;
    if (ran < interval)
      target = (size_t)((double)n * (double)ran / (double)interval);
  }
  for (size_t i = l->cursor; i < target; i++)
    each(ud, i);
  if (target > l->cursor)
    l->cursor = target;
}

void gen_live_cycle(gen_live_t *l, cdtime_t now) {
  l->cursor = 0;
  l->cycle_start = now;
}

int gen_live_replace(gen_live_t *l, const gen_entity_set_t *old,
                     const gen_entity_set_t *fresh,
                     void (*gone)(void *ud, size_t i), void *ud) {
  size_t n = fresh->count ? fresh->count : 1;
  gen_live_queue_t *state = calloc(n, sizeof(*state));
  size_t *marks = calloc(n, sizeof(*marks));
  if (state == NULL || marks == NULL) {
    free(state);
    free(marks);
    return -ENOMEM;
  }
  for (size_t i = 0; i < fresh->count; i++) {
    ssize_t was = gen_entity_find(old, fresh->items[i].id);
    if (was >= 0) {
      state[i] = l->state[was];
      memset(&l->state[was], 0, sizeof(l->state[was])); /* moved */
    }
  }
  for (size_t i = 0; i < old->count; i++) {
    ssize_t kept = gen_entity_find(fresh, old->items[i].id);
    if (gone != NULL &&
        (kept < 0 || strcmp(fresh->items[kept].name, old->items[i].name) != 0))
      gone(ud, i);
    queue_release(&l->state[i]); /* dropped from the selection */
  }
  bool changed = !gen_entity_set_same(fresh, old);
  for (size_t i = 0; !changed && i < fresh->count; i++)
    changed = strcmp(fresh->items[i].name, old->items[i].name) != 0;
  free(l->state);
  free(l->changed);
  l->state = state;
  l->changed = marks; /* the queues kept over keep their marks */
  l->n_changed = 0;
  for (size_t i = 0; i < fresh->count; i++) {
    state[i].listed = state[i].changed;
    if (state[i].changed)
      marks[l->n_changed++] = i;
  }
  if (changed) /* indexes moved: this cycle's rest is all of them */
    l->cursor = 0;
  return changed ? 1 : 0;
}

typedef struct {
  const gen_live_t *l;
  const gen_entity_set_t *queues;
} save_t;

static const gen_conv_queue_t *counts_of(void *ud, size_t i, const char **id) {
  const save_t *s = ud;
  *id = s->queues->items[i].id;
  return &s->l->state[i].conv;
}

int gen_live_save(gen_live_t *l, const gen_entity_set_t *queues,
                  pthread_mutex_t *lock, const gen_org_t *org,
                  gen_ratelimit_t *rl) {
  save_t s = {l, queues};
  return gen_conv_store_save(l->store, lock, queues->count, counts_of, &s, org,
                             rl);
}

typedef struct {
  gen_summary_t *s;
  const gen_entity_set_t *queues;
  const gen_org_t *org;
  void (*mark)(gen_summary_t *s, const char *plugin_instance);
} mark_t;

static int mark_queues(void *ud, const char *const *ids, size_t n) {
  const mark_t *m = ud;
  for (size_t i = 0; i < n; i++) {
    ssize_t index = gen_entity_find(m->queues, ids[i]);
    if (index >= 0)
      m->mark(m->s, gen_entity_instance(m->org, &m->queues->items[index]));
  }
  return 0;
}

static bool user_topic(const char *topic) {
  return gen_notify_topic_has(topic, GEN_LIVE_USER_PREFIX,
                              GEN_LIVE_USER_SUFFIX);
}

int gen_live_mark_summaries(gen_summary_t *s, const gen_entity_set_t *queues,
                            const gen_org_t *org, char *const *topics, size_t n,
                            const uint8_t *failed, bool lost) {
  mark_t m = {s, queues, org, lost ? gen_summary_lost : gen_summary_resumed};
  char **taken = calloc(n ? n : 1, sizeof(*taken));
  if (taken == NULL)
    return -ENOMEM;
  bool users_failed = false;
  for (size_t i = 0; failed != NULL && i < n; i++)
    users_failed |= failed[i] && user_topic(topics[i]);
  size_t k = 0;
  bool users = false;
  for (size_t i = 0; i < n; i++)
    if (failed == NULL || !failed[i]) {
      taken[k++] = topics[i];
      users |= user_topic(topics[i]);
    }
  gen_notify_topic_ids(taken, k, GEN_LIVE_OBS_PREFIX, GEN_LIVE_OBS_SUFFIX,
                       GEN_QS_QUERY_MAX, mark_queues, &m, NULL);
  if (users && !users_failed)
    m.mark(s, "org");
  free(taken);
  return 0;
}

void gen_live_free(gen_live_t *l, size_t n) {
  for (size_t i = 0; l->state != NULL && i < n; i++)
    queue_release(&l->state[i]);
  free(l->state);
  free(l->changed);
  l->state = NULL;
  l->changed = NULL;
  l->n_changed = 0;
}

char **gen_live_topics(const gen_entity_set_t *queues, bool conversations,
                       const gen_entity_set_t *users, size_t *n) {
  size_t n_users = users != NULL ? users->count : 0;
  size_t max = queues->count * (conversations ? 2 : 1) + n_users;
  char **topics = calloc(max ? max : 1, sizeof(*topics));
  *n = 0;
  for (size_t i = 0; topics != NULL && i < queues->count; i++) {
    const char *id = queues->items[i].id;
    gen_entity_topic_add(topics, n, GEN_LIVE_OBS_PREFIX, id,
                         GEN_LIVE_OBS_SUFFIX);
    if (conversations)
      gen_entity_topic_add(topics, n, GEN_LIVE_CONV_PREFIX, id,
                           GEN_LIVE_CONV_SUFFIX);
  }
  for (size_t i = 0; topics != NULL && i < n_users; i++)
    gen_entity_topic_add(topics, n, GEN_LIVE_USER_PREFIX, users->items[i].id,
                         GEN_LIVE_USER_SUFFIX);
  return topics;
}

void gen_live_topics_log(const gen_org_t *org, size_t n, size_t queues,
                         bool conversations, ssize_t users, long per_channel) {
  size_t capacity = GEN_NOTIFY_MAX_CHANNELS * (size_t)per_channel;
  if (n > capacity)
    gen_org_log(
        org, NULL, LOG_ERR,
        "%zu topics (%zu queues%s, %zd agents) exceed %d channels of %ld "
        "topics: the last %zu (management units first, then agent activity, "
        "then the last queues) are not streamed; select fewer queues or turn "
        "AgentActivity or Adherence off",
        n, queues, conversations ? " with conversations" : "",
        users < 0 ? 0 : users, GEN_NOTIFY_MAX_CHANNELS, per_channel,
        n - capacity);
  if (queues == 0)
    gen_org_log(org, NULL, LOG_WARNING, "no queue matches the selection");
  size_t streamed = n < capacity ? n : capacity;
  size_t channels = gen_notify_channels_needed(streamed, (size_t)per_channel);
  char agents[64] = "off";
  if (users >= 0)
    snprintf(agents, sizeof(agents), "on %zd agents", users);
  gen_org_log(org, NULL, LOG_INFO,
              "%zu queues on %zu channel%s (%zu topics), conversation events "
              "%s, agent activity %s",
              queues, channels, channels == 1 ? "" : "s", streamed,
              conversations ? "on" : "off", agents);
}
