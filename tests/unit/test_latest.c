/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_latest: a series dispatched again within the hold is
 * held, only its newest value leaves when the hold ends, other series are
 * never held, a series is remembered for at least the hold, and the table
 * keeps only the series that changed within the hold; with ordering
 * registered, a value is also held while its series' previous one is in
 * collectd's queue, and write threads see each series in time order. */
#include "plugin_mock.h"

#include "gen_latest.h"

#include "collectd/core/testing.h"

static gen_ident_t ident(const char *type_instance) {
  return (gen_ident_t){.host = "acme",
                       .plugin = "genesys_realtime",
                       .plugin_instance = "q1",
                       .type = "waiting",
                       .type_instance = type_instance};
}

static size_t sent(const char *type_instance) {
  size_t n = 0;
  for (size_t i = 0; i < mock_values_num; i++)
    n += strcmp(mock_values[i].type_instance, type_instance) == 0;
  return n;
}

DEF_TEST(hold_and_release) {
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1700000000);
  gen_latest_t *l = gen_latest_new(GEN_LATEST_HOLD);
  gen_ident_t voice = ident("voice"), chat = ident("chat");
  mock_values_reset();
  mock_time = t0;
  EXPECT_EQ_INT(0, gen_latest_put(l, &voice, false, 1, t0, t0));
  EXPECT_EQ_INT(1, sent("voice"));
  mock_time = t0 + MS_TO_CDTIME_T(50);
  gen_latest_put(l, &voice, false, 2, mock_time, t0);
  mock_time = t0 + MS_TO_CDTIME_T(60);
  gen_latest_put(l, &voice, false, 3, mock_time, t0);
  gen_latest_put(l, &chat, false, 7, mock_time, t0); /* another series */
  EXPECT_EQ_INT(1, sent("voice"));
  EXPECT_EQ_INT(1, sent("chat"));
  EXPECT_EQ_INT(1, gen_latest_pending(l));
  EXPECT_EQ_INT(2, gen_latest_held_total(l));
  gen_latest_flush(l, t0 + MS_TO_CDTIME_T(99), false); /* not yet */
  EXPECT_EQ_INT(1, sent("voice"));
  mock_time = t0 + MS_TO_CDTIME_T(100);
  gen_latest_flush(l, mock_time, false);
  EXPECT_EQ_INT(2, sent("voice"));
  mock_value_t *v = mock_find("q1", "waiting", "voice");
  EXPECT_EQ_DOUBLE(3, v->value.gauge);
  EXPECT_EQ_INT(t0 + MS_TO_CDTIME_T(60), v->time); /* its own time */
  /* Released at +100 ms: held again until +200 ms... */
  mock_time = t0 + MS_TO_CDTIME_T(150);
  gen_latest_put(l, &voice, false, 4, mock_time, t0);
  EXPECT_EQ_INT(2, sent("voice"));
  /* ... and released by the next put of any series after that. */
  mock_time = t0 + MS_TO_CDTIME_T(200);
  gen_latest_put(l, &chat, false, 8, mock_time, t0);
  EXPECT_EQ_INT(3, sent("voice"));
  /* Long after: at once. */
  mock_time = t0 + TIME_T_TO_CDTIME_T(5);
  gen_latest_put(l, &voice, false, 5, mock_time, t0);
  EXPECT_EQ_INT(4, sent("voice"));
  /* flush(all) sends what is held, at once. */
  mock_time += MS_TO_CDTIME_T(1);
  gen_latest_put(l, &voice, false, 6, mock_time, t0);
  gen_latest_flush(l, mock_time, true);
  EXPECT_EQ_INT(5, sent("voice"));
  gen_latest_free(l);
  mock_time = 0;
  return 0;
}

/* Many series in one burst (a periodic re-dispatch): none is held, and
 * each is still known, across the table's growth, for the hold. */
DEF_TEST(burst_of_series) {
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1700000100);
  gen_latest_t *l = gen_latest_new(GEN_LATEST_HOLD);
  mock_values_reset();
  mock_time = t0;
  char name[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof(name), "m%d", i);
    gen_ident_t id = ident(name);
    gen_latest_put(l, &id, true, i, t0, t0);
  }
  EXPECT_EQ_INT(5000, mock_values_num);
  EXPECT_EQ_INT(0, gen_latest_pending(l));
  /* 90 ms later: still remembered. */
  mock_time = t0 + MS_TO_CDTIME_T(90);
  gen_ident_t id = ident("m42");
  gen_latest_put(l, &id, true, 43, mock_time, t0);
  EXPECT_EQ_INT(1, gen_latest_pending(l));
  mock_time = t0 + MS_TO_CDTIME_T(300);
  gen_ident_t other = ident("m43");
  gen_latest_put(l, &other, true, 44, mock_time, t0); /* released m42 */
  EXPECT_EQ_INT(0, gen_latest_pending(l));
  EXPECT_EQ_INT(5002, mock_values_num);
  gen_latest_free(l);
  mock_time = 0;
  return 0;
}

/* Series come and go (queues renamed, flows retired): the table drops the
 * ones not dispatched within the hold when it would grow, so it stays as
 * large as one burst, and a value held across that still leaves. */
DEF_TEST(table_keeps_recent_series_only) {
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1700000300);
  gen_latest_t *l = gen_latest_new(GEN_LATEST_HOLD);
  mock_values_reset();
  gen_ident_t kept = ident("kept");
  char name[32];
  for (int round = 0; round < 40; round++) {
    mock_time = t0 + TIME_T_TO_CDTIME_T(round);
    if (round == 39) { /* held across the last round's growth */
      gen_latest_put(l, &kept, false, 1, mock_time, t0);
      mock_time += MS_TO_CDTIME_T(1);
      gen_latest_put(l, &kept, false, 2, mock_time, t0);
      EXPECT_EQ_INT(1, gen_latest_pending(l));
    }
    for (int i = 0; i < 3000; i++) {
      snprintf(name, sizeof(name), "r%d-s%d", round, i);
      gen_ident_t id = ident(name);
      gen_latest_put(l, &id, false, i, mock_time, t0);
    }
    /* this round's series and, until the next clean-up, earlier ones:
     * the table is at most 4 slots a recent series and half full, so 8
     * series a recent one, never the 120,000 seen in all */
    OK(gen_latest_tracked(l) >= 3000);
    OK(gen_latest_tracked(l) <= 8 * (3000 + 1));
  }
  EXPECT_EQ_INT(1, gen_latest_pending(l));
  mock_time += MS_TO_CDTIME_T(100);
  gen_latest_flush(l, mock_time, false);
  EXPECT_EQ_INT(0, gen_latest_pending(l));
  mock_value_t *v = mock_find("q1", "waiting", "kept");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(2, v->value.gauge);
  EXPECT_EQ_INT(2, sent("kept"));
  gen_latest_free(l);
  mock_time = 0;
  return 0;
}

/* A held value leaves with its whole identity (each name kept in the
 * slot's own allocation; a missing host or type instance stays empty), many
 * series can be held at once, and freeing with values still held leaks
 * nothing (ASan and valgrind runs). */
DEF_TEST(held_series_keep_their_names) {
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1700000200);
  gen_latest_t *l = gen_latest_new(GEN_LATEST_HOLD);
  mock_values_reset();
  mock_time = t0;
  char name[32];
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 1000; i++) {
      snprintf(name, sizeof(name), "queue-%d", i);
      gen_ident_t id = {.plugin = "genesys_realtime",
                        .plugin_instance = name,
                        .type = "waiting"};
      mock_time = t0 + MS_TO_CDTIME_T(round * 10);
      gen_latest_put(l, &id, false, round * 1000 + i, mock_time, t0);
    }
  EXPECT_EQ_INT(1000, gen_latest_pending(l));
  mock_time = t0 + MS_TO_CDTIME_T(100);
  gen_latest_flush(l, mock_time, false);
  EXPECT_EQ_INT(0, gen_latest_pending(l));
  EXPECT_EQ_INT(2000, mock_values_num);
  mock_value_t *v = mock_find("queue-999", "waiting", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(1999, v->value.gauge);
  EXPECT_EQ_STR("genesys_realtime", mock_values[1999].plugin);
  EXPECT_EQ_STR("", mock_values[1999].type_instance);

  /* Held again, then freed while held. */
  gen_ident_t id = ident("voice");
  gen_latest_put(l, &id, false, 1, mock_time, t0);
  gen_latest_put(l, &id, false, 2, mock_time + MS_TO_CDTIME_T(1), t0);
  EXPECT_EQ_INT(1, gen_latest_pending(l));
  gen_latest_free(l);
  mock_time = 0;
  return 0;
}

/* From here on ordering is registered (gen_dispatch_order_init), as
 * genesys_realtime registers it: a series' value also stays held while
 * its previous value is still in collectd's queue (mock_writes_held), how
 * long ago that left the plugin notwithstanding, and leaves once that one
 * was written; other series are not held; once the write path stood
 * still it leaves anyway. */
DEF_TEST(held_while_previous_queued) {
  CHECK_ZERO(gen_dispatch_order_init());
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1700000400);
  gen_latest_t *l = gen_latest_new(GEN_LATEST_HOLD);
  gen_ident_t v = ident("ordered"), other = ident("other");
  mock_values_reset();
  mock_time = t0;
  mock_writes_held = true;
  CHECK_ZERO(gen_latest_put(l, &v, false, 1, t0, t0));
  EXPECT_EQ_INT(1, sent("ordered"));
  mock_time = t0 + TIME_T_TO_CDTIME_T(1); /* the time hold long over */
  CHECK_ZERO(gen_latest_put(l, &v, false, 2, mock_time, t0));
  EXPECT_EQ_INT(1, sent("ordered"));
  EXPECT_EQ_INT(1, gen_latest_pending(l));
  mock_time += MS_TO_CDTIME_T(500);
  gen_latest_flush(l, mock_time, false); /* 1 is still queued */
  EXPECT_EQ_INT(1, sent("ordered"));
  CHECK_ZERO(gen_latest_put(l, &other, false, 7, mock_time, t0));
  EXPECT_EQ_INT(1, sent("other"));
  mock_writes_held = false;
  mock_writes_release(); /* 1 and 7 written */
  mock_time += GEN_LATEST_RETRY;
  gen_latest_flush(l, mock_time, false);
  EXPECT_EQ_INT(2, sent("ordered"));
  EXPECT_EQ_INT(0, gen_latest_pending(l));
  EXPECT_EQ_DOUBLE(2, mock_find("q1", "waiting", "ordered")->value.gauge);

  /* Queued and never written (a write plugin blocked): held while the
   * write path moves, sent anyway once it stood still (2 s; 200 ms here,
   * on the real clock). */
  gen_dispatch_order_patience(200, 30000);
  mock_writes_held = true;
  mock_time += TIME_T_TO_CDTIME_T(1);
  CHECK_ZERO(gen_latest_put(l, &v, false, 3, mock_time, t0));
  mock_time += TIME_T_TO_CDTIME_T(1);
  CHECK_ZERO(gen_latest_put(l, &v, false, 4, mock_time, t0));
  EXPECT_EQ_INT(3, sent("ordered"));
  mock_time += GEN_LATEST_RETRY;
  gen_latest_flush(l, mock_time, false);
  EXPECT_EQ_INT(3, sent("ordered"));
  struct timespec still = {.tv_nsec = 250 * 1000 * 1000};
  nanosleep(&still, NULL);
  mock_time += GEN_LATEST_RETRY;
  gen_latest_flush(l, mock_time, false);
  EXPECT_EQ_INT(4, sent("ordered"));
  EXPECT_EQ_DOUBLE(4, mock_find("q1", "waiting", "ordered")->value.gauge);
  OK(mock_log_contains("write queue has not moved for 2 s"));
  gen_dispatch_order_patience(2000, 30000);
  mock_writes_held = false;
  mock_writes_release();
  gen_latest_free(l);
  mock_time = 0;
  return 0;
}

/* collectd's write threads (the mock's five) take values one after the
 * other but may write them in either order. Each series here changes
 * every 150 ms of the mock clock, past the time hold, and an earlier value
 * may still be in the queue: every write callback sees each series' values
 * in time order, and the last written is the newest. written_in_order, a
 * write plugin registered before the ordering callback, checks it; its
 * memory is plain on purpose, so that under TSan a missing happens-before
 * between the write threads is a race reported. */
#define ORDER_SERIES 8
#define ORDER_ROUNDS 400
static struct {
  cdtime_t last;
  double value;
} order_seen[ORDER_SERIES];
static atomic_uint order_disorder;

static int written_in_order(const data_set_t *ds, const value_list_t *vl,
                            user_data_t *ud) {
  (void)ds;
  (void)ud;
  unsigned s;
  if (sscanf(vl->type_instance, "w%u", &s) != 1 || s >= ORDER_SERIES)
    return 0;
  /* a slow writer now and then: the next one overtakes it */
  if ((vl->time / 7) % 3 == 0) {
    struct timespec nap = {.tv_nsec = 200 * 1000};
    nanosleep(&nap, NULL);
  }
  if (vl->time <= order_seen[s].last)
    atomic_fetch_add(&order_disorder, 1);
  order_seen[s].last = vl->time;
  order_seen[s].value = vl->values[0].gauge;
  return 0;
}

DEF_TEST(written_in_time_order_by_write_threads) {
  mock_values_reset();
  mock_writes_held = false;
  mock_writes_release();
  CHECK_ZERO(mock_write_threads_start(5));
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1700000500);
  gen_latest_t *l = gen_latest_new(GEN_LATEST_HOLD);
  char name[16];
  for (int round = 1; round <= ORDER_ROUNDS; round++) {
    mock_time = t0 + (cdtime_t)round * MS_TO_CDTIME_T(150);
    for (unsigned s = 0; s < ORDER_SERIES; s++) {
      snprintf(name, sizeof(name), "w%u", s);
      gen_ident_t id = ident(name);
      gen_latest_put(l, &id, false, round, mock_time + s, t0);
    }
  }
  /* What is still held leaves as its previous value is written. */
  for (int i = 0; i < 10000 && gen_latest_pending(l) > 0; i++) {
    struct timespec nap = {.tv_nsec = 1000 * 1000};
    nanosleep(&nap, NULL);
    mock_time += GEN_LATEST_RETRY;
    gen_latest_flush(l, mock_time, false);
  }
  EXPECT_EQ_INT(0, gen_latest_pending(l));
  mock_write_threads_stop();
  EXPECT_EQ_INT(0, atomic_load(&order_disorder));
  for (unsigned s = 0; s < ORDER_SERIES; s++)
    EXPECT_EQ_DOUBLE(ORDER_ROUNDS, order_seen[s].value);
  OK(gen_latest_held_total(l) > 0); /* some had to wait */
  gen_latest_free(l);
  mock_time = 0;
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(hold_and_release);
  RUN_TEST(burst_of_series);
  RUN_TEST(table_keeps_recent_series_only);
  RUN_TEST(held_series_keep_their_names);
  /* ordering registered from here on, after a write plugin of the test */
  plugin_register_write("in_order", written_in_order, NULL);
  RUN_TEST(held_while_previous_queued);
  RUN_TEST(written_in_time_order_by_write_threads);
  mock_values_reset();
  END_TEST;
}
