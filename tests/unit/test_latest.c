/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_latest: a series dispatched again within the hold is
 * held, only its newest value leaves when the hold ends, other series are
 * never held, a series is remembered for at least the hold, and the table
 * keeps only the series that changed within the hold. */
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

int main(void) {
  mock_log_echo = false;
  RUN_TEST(hold_and_release);
  RUN_TEST(burst_of_series);
  RUN_TEST(table_keeps_recent_series_only);
  RUN_TEST(held_series_keep_their_names);
  mock_values_reset();
  END_TEST;
}
