/* SPDX-License-Identifier: MIT */
/* Unit tests: the live queue table (gen_live): marks put each queue once,
 * only what changed; the rolling re-dispatch takes the list in order as
 * the cycle runs; a new listing carries the state of the queues kept over
 * and names the ones gone; the changed list holds a queue once however
 * often the re-dispatch puts it between marks; the media filter;
 * ObservationLists puts a media group's five gauges as one list, when any of
 * them changed; the sink observes each gauge (not a counter), then
 * dispatches it (a list whole) unless it observes only. */
#include "gen_hub.h"
#include "gen_live.h"
#include "gen_names.h"
#include "plugin_mock.h"
#include "waits_bounds.h"

#include "collectd/core/testing.h"

#include <stdio.h>
#include <string.h>

static gen_waits_bounds_t bounds;
static gen_conv_store_t store;

static int puts_num;
static char last_type[64];

static void put(void *ud, const char *type, const char *type_instance,
                double value, bool derive) {
  puts_num++;
  sstrncpy(last_type, type, sizeof(last_type));
}

static size_t seen[16], n_seen;
static void each(void *ud, size_t i) { seen[n_seen++] = i; }

static void set_of(gen_entity_set_t *set, const char *const *ids, size_t n) {
  for (size_t i = 0; i < n; i++)
    gen_entity_add(set, ids[i], ids[i], NULL);
}

/* A table for set, made as for a first listing (1: a change). */
static int live_of(gen_live_t *l, const gen_entity_set_t *set) {
  *l = (gen_live_t){.bounds = &bounds, .store = &store};
  gen_entity_set_t none = {0};
  return gen_live_replace(l, &none, set, NULL, NULL);
}

DEF_TEST(marks_put_each_queue_once) {
  static const char *const ids[] = {"q0", "q1", "q2"};
  gen_entity_set_t set = {0};
  set_of(&set, ids, 3);
  gen_live_t l;
  EXPECT_EQ_INT(1, live_of(&l, &set));
  /* Allocated at first use, once; none for a media type never seen. */
  OK(gen_live_media_find(&l, 2, GEN_MEDIA_VOICE) == NULL);
  gen_qs_media_t *voice = gen_live_media(&l, 2, GEN_MEDIA_VOICE);
  CHECK_NOT_NULL(voice);
  OK(voice == gen_live_media(&l, 2, GEN_MEDIA_VOICE));
  OK(voice == gen_live_media_find(&l, 2, GEN_MEDIA_VOICE));
  OK(gen_live_media_find(&l, 2, GEN_MEDIA_CHAT) == NULL);
  OK(gen_live_media_find(&l, 1, GEN_MEDIA_VOICE) == NULL);
  *voice = (gen_qs_media_t){.seen = true, .waiting = 4};
  gen_live_mark(&l, 2);
  gen_live_mark(&l, 2);
  EXPECT_EQ_INT(1, (int)l.n_changed);
  n_seen = 0;
  gen_live_each_changed(&l, each, NULL);
  EXPECT_EQ_INT(1, (int)n_seen);
  EXPECT_EQ_INT(2, (int)seen[0]);
  EXPECT_EQ_INT(0, (int)l.n_changed);
  /* Only what differs from the last dispatch, then nothing. */
  puts_num = 0;
  gen_live_put_queue(&l, 2, "q2", false, 1, put, NULL);
  OK(puts_num > 0);
  OK(!l.state[2].changed);
  int all = puts_num;
  puts_num = 0;
  gen_live_put_queue(&l, 2, "q2", false, 2, put, NULL);
  EXPECT_EQ_INT(0, puts_num);
  gen_live_put_queue(&l, 2, "q2", true, 3, put, NULL);
  EXPECT_EQ_INT(all, puts_num);
  /* A media type filtered out puts nothing. */
  l.media_mask = 1u << GEN_MEDIA_CHAT;
  puts_num = 0;
  gen_live_put_queue(&l, 2, "q2", true, 4, put, NULL);
  EXPECT_EQ_INT(0, puts_num);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

/* DispatchEvery: ticks re-dispatch a queue (a put clears its mark) between
 * two changed dispatches, and it changes again after each: the list still
 * holds it once and never outgrows the queue count (it overran its array,
 * sized for the queues, and corrupted the heap). */
DEF_TEST(put_between_marks_keeps_one_entry) {
  static const char *const ids[] = {"q0", "q1"};
  gen_entity_set_t set = {0};
  set_of(&set, ids, 2);
  gen_live_t l;
  EXPECT_EQ_INT(1, live_of(&l, &set));
  for (int k = 0; k < 50; k++) {
    gen_live_mark(&l, 1);
    gen_live_put_queue(&l, 1, "q1", false, (cdtime_t)(k + 1), put, NULL);
    OK(l.n_changed <= set.count);
  }
  EXPECT_EQ_INT(1, (int)l.n_changed);
  gen_live_mark(&l, 0);
  gen_live_mark(&l, 1); /* changed again after its last put */
  EXPECT_EQ_INT(2, (int)l.n_changed);
  n_seen = 0;
  gen_live_each_changed(&l, each, NULL);
  EXPECT_EQ_INT(2, (int)n_seen);
  /* A queue put after its mark is passed over, and marks again after. */
  gen_live_mark(&l, 0);
  gen_live_put_queue(&l, 0, "q0", false, 60, put, NULL);
  n_seen = 0;
  gen_live_each_changed(&l, each, NULL);
  EXPECT_EQ_INT(0, (int)n_seen);
  gen_live_mark(&l, 0);
  EXPECT_EQ_INT(1, (int)l.n_changed);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

static int lists_num;
static double last_list[GEN_QS_LIST_LEN];
static char last_media[32];
static void put_list(void *ud, const char *media, const double *values) {
  lists_num++;
  sstrncpy(last_media, media, sizeof(last_media));
  memcpy(last_list, values, sizeof(last_list));
}

DEF_TEST(lists_put_a_media_group_once) {
  static const char *const ids[] = {"q0"};
  gen_entity_set_t set = {0};
  set_of(&set, ids, 1);
  gen_live_t l;
  EXPECT_EQ_INT(1, live_of(&l, &set));
  l.put_list = put_list;
  gen_qs_media_t *voice = gen_live_media(&l, 0, GEN_MEDIA_VOICE);
  CHECK_NOT_NULL(voice);
  *voice = (gen_qs_media_t){.seen = true, .waiting = 4, .interacting = 2};
  gen_live_mark(&l, 0);
  puts_num = lists_num = 0;
  gen_live_put_queue(&l, 0, "q0", false, TIME_T_TO_CDTIME_T(10), put, NULL);
  /* one list for the media group, no single gauge of it */
  EXPECT_EQ_INT(1, lists_num);
  EXPECT_EQ_INT(0, puts_num);
  EXPECT_EQ_STR("voice", last_media);
  EXPECT_EQ_DOUBLE(4, last_list[0]);
  EXPECT_EQ_DOUBLE(2, last_list[1]);
  EXPECT_EQ_DOUBLE(0, last_list[2]);
  /* Unchanged: nothing; a changed alerting: the whole list again. */
  gen_live_put_queue(&l, 0, "q0", false, TIME_T_TO_CDTIME_T(11), put, NULL);
  EXPECT_EQ_INT(1, lists_num);
  voice->alerting = 1;
  gen_live_put_queue(&l, 0, "q0", false, TIME_T_TO_CDTIME_T(12), put, NULL);
  EXPECT_EQ_INT(2, lists_num);
  EXPECT_EQ_DOUBLE(4, last_list[0]);
  EXPECT_EQ_DOUBLE(1, last_list[2]);
  /* A re-dispatch puts it unchanged. */
  gen_live_put_queue(&l, 0, "q0", true, TIME_T_TO_CDTIME_T(13), put, NULL);
  EXPECT_EQ_INT(3, lists_num);
  EXPECT_EQ_INT(0, puts_num);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

static int observed;
static char observed_key[64];
static void observe(void *ud, const char *instance, const char *type,
                    const char *type_instance, double value, cdtime_t t) {
  observed++;
  snprintf(observed_key, sizeof(observed_key), "%s/%s/%s=%g@%g",
           (const char *)ud, type, type_instance, value, CDTIME_T_TO_DOUBLE(t));
}

DEF_TEST(the_sink_observes_then_dispatches) {
  gen_live_sink_t s = {.host = "h",
                       .plugin = "p",
                       .instance = "q",
                       .time = TIME_T_TO_CDTIME_T(7),
                       .interval = 0,
                       .observe = observe,
                       .ud = "q"};
  mock_values_reset();
  observed = 0;
  /* observed only: nothing dispatched */
  gen_live_put(&s, "waiting", "voice", 3, false);
  EXPECT_EQ_INT(1, observed);
  EXPECT_EQ_STR("q/waiting/voice=3@7", observed_key);
  EXPECT_EQ_INT(0, (int)mock_values_num);
  /* a counter is not observed, and goes out with the sink's interval */
  s.interval = TIME_T_TO_CDTIME_T(30);
  gen_live_put(&s, "conv_offered", "voice", 5, true);
  EXPECT_EQ_INT(1, observed);
  mock_value_t *v = mock_find("q", "conv_offered", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(30), v->sent_interval);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(7), v->sent_time);
  /* a list: each of its gauges observed, one value list dispatched */
  double values[GEN_QS_LIST_LEN] = {1, 2, 3, 4, 5};
  gen_live_put_list(&s, "chat", values);
  EXPECT_EQ_INT(1 + GEN_QS_LIST_LEN, observed);
  EXPECT_EQ_STR("q/longest_interacting/chat=5@7", observed_key);
  v = mock_find("q", GEN_QS_LIST_TYPE, "chat");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(GEN_QS_LIST_LEN, (int)v->values_len);
  EXPECT_EQ_INT(2, (int)mock_values_num);
  /* a list of an observe-only sink: observed, not dispatched */
  s.interval = 0;
  gen_live_put_list(&s, "email", values);
  EXPECT_EQ_INT(1 + 2 * GEN_QS_LIST_LEN, observed);
  EXPECT_EQ_STR("q/longest_interacting/email=5@7", observed_key);
  EXPECT_EQ_INT(2, (int)mock_values_num);
  return 0;
}

DEF_TEST(redispatch_rolls_with_the_cycle) {
  static const char *const ids[] = {"a", "b", "c", "d"};
  gen_entity_set_t set = {0};
  set_of(&set, ids, 4);
  gen_live_t l;
  EXPECT_EQ_INT(1, live_of(&l, &set));
  cdtime_t iv = TIME_T_TO_CDTIME_T(10), t0 = TIME_T_TO_CDTIME_T(1000);
  n_seen = 0;
  gen_live_each_due(&l, 4, t0, iv, false, each, NULL);
  EXPECT_EQ_INT(0, (int)n_seen); /* no read yet: no cycle */
  gen_live_cycle(&l, t0);
  gen_live_each_due(&l, 4, t0 + iv / 2, iv, false, each, NULL);
  EXPECT_EQ_INT(2, (int)n_seen); /* half the cycle: half the list */
  EXPECT_EQ_INT(1, (int)seen[1]);
  gen_live_each_due(&l, 4, t0 + iv / 2, iv, false, each, NULL);
  EXPECT_EQ_INT(2, (int)n_seen); /* nothing twice */
  gen_live_each_due(&l, 4, t0 + iv / 2, iv, true, each, NULL);
  EXPECT_EQ_INT(4, (int)n_seen); /* the read: the rest */
  EXPECT_EQ_INT(3, (int)seen[3]);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

static size_t gone[8], n_gone;
static void on_gone(void *ud, size_t i) { gone[n_gone++] = i; }

DEF_TEST(a_new_listing_carries_the_queues_kept) {
  static const char *const before[] = {"a", "b", "c"};
  static const char *const after[] = {"c", "a"};
  gen_entity_set_t old = {0}, fresh = {0}, same = {0};
  set_of(&old, before, 3);
  set_of(&fresh, after, 2);
  set_of(&same, after, 2);
  gen_live_t l;
  EXPECT_EQ_INT(1, live_of(&l, &old));
  gen_live_media(&l, 2, 0)->waiting = 7; /* c */
  gen_live_media(&l, 1, 0)->waiting = 3; /* b: dropped, freed */
  gen_live_mark(&l, 2);
  l.cursor = 2;
  n_gone = 0;
  EXPECT_EQ_INT(1, gen_live_replace(&l, &old, &fresh, on_gone, NULL));
  EXPECT_EQ_INT(1, (int)n_gone);
  EXPECT_EQ_INT(1, (int)gone[0]); /* b */
  EXPECT_EQ_INT(7, (int)gen_live_media_find(&l, 0, 0)->waiting);
  OK(gen_live_media_find(&l, 1, 0) == NULL); /* a */
  EXPECT_EQ_INT(1, (int)l.n_changed); /* c kept its mark, at its new index */
  EXPECT_EQ_INT(0, (int)l.changed[0]);
  EXPECT_EQ_INT(0, (int)l.cursor);
  /* The same selection again: no change. */
  l.cursor = 1;
  EXPECT_EQ_INT(0, gen_live_replace(&l, &fresh, &same, on_gone, NULL));
  EXPECT_EQ_INT(1, (int)l.cursor);
  gen_live_free(&l, same.count);
  gen_entity_set_free(&old);
  gen_entity_set_free(&fresh);
  gen_entity_set_free(&same);
  return 0;
}

/* The topics streamed: per queue its observations, then its conversations,
 * then each agent's activity. */
DEF_TEST(topics_per_queue_then_agents) {
  static const char *const ids[] = {"q0", "q1"}, *const users[] = {"u0"};
  gen_entity_set_t queues = {0}, agents = {0};
  set_of(&queues, ids, 2);
  set_of(&agents, users, 1);
  size_t n;
  char **t = gen_live_topics(&queues, true, &agents, &n);
  OK(t != NULL);
  EXPECT_EQ_INT(5, (int)n);
  EXPECT_EQ_STR("v2.analytics.queues.q0.observations", t[0]);
  EXPECT_EQ_STR("v2.routing.queues.q0.conversations", t[1]);
  EXPECT_EQ_STR("v2.analytics.queues.q1.observations", t[2]);
  EXPECT_EQ_STR("v2.users.u0.activity", t[4]);
  gen_hub_topics_free(t, n);
  t = gen_live_topics(&queues, false, NULL, &n);
  EXPECT_EQ_INT(2, (int)n);
  EXPECT_EQ_STR("v2.analytics.queues.q1.observations", t[1]);
  gen_hub_topics_free(t, n);
  gen_entity_set_free(&queues);
  gen_entity_set_free(&agents);
  return 0;
}

int main(void) {
  waits_bounds_default(&bounds);
  RUN_TEST(marks_put_each_queue_once);
  RUN_TEST(put_between_marks_keeps_one_entry);
  RUN_TEST(lists_put_a_media_group_once);
  RUN_TEST(the_sink_observes_then_dispatches);
  RUN_TEST(redispatch_rolls_with_the_cycle);
  RUN_TEST(a_new_listing_carries_the_queues_kept);
  RUN_TEST(topics_per_queue_then_agents);
  END_TEST;
}
