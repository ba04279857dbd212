/* SPDX-License-Identifier: MIT */
/* Unit tests: per-window summaries of live gauges (gen_summary.h): min, max
 * and time-weighted mean from every change, the value carried across
 * windows, ages that grow between changes, windows withheld for a lost
 * source or a series that began inside them, and flat memory. */
#include "gen_summary.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W TIME_T_TO_CDTIME_T(60)

static const gen_summary_type_t types[] = {
    {"waiting", GEN_SUMMARY_LEVEL},
    {"longest_waiting", GEN_SUMMARY_AGE},
};
#define NEW() gen_summary_new(W, types, STATIC_ARRAY_SIZE(types))
#define AT(sec) TIME_T_TO_CDTIME_T(sec)

typedef struct {
  char pi[64], type[64], ti[64];
  double value;
  cdtime_t end;
} got_t;

typedef struct {
  got_t got[256];
  size_t n;
} sink_t;

static void got_set(got_t *g, const char *pi, const char *type, const char *ti,
                    double value, cdtime_t end) {
  snprintf(g->pi, sizeof(g->pi), "%s", pi);
  snprintf(g->type, sizeof(g->type), "%s", type);
  snprintf(g->ti, sizeof(g->ti), "%s", ti);
  g->value = value;
  g->end = end;
}

static void collect(void *ud, const char *pi, const char *type, const char *ti,
                    double value, cdtime_t end) {
  sink_t *s = ud;
  if (s->n == STATIC_ARRAY_SIZE(s->got))
    return;
  got_set(&s->got[s->n++], pi, type, ti, value, end);
}

/* The value of one summary, NAN when it was not handed out. */
static double find(const sink_t *s, const char *pi, const char *type,
                   const char *ti, cdtime_t end) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->got[i].pi, pi) == 0 && strcmp(s->got[i].type, type) == 0 &&
        strcmp(s->got[i].ti, ti) == 0 && s->got[i].end == end)
      return s->got[i].value;
  return NAN;
}

/* A change at t, after closing the windows that ended by t. */
static int change(gen_summary_t *s, sink_t *sink, const char *type, double v,
                  cdtime_t t) {
  gen_summary_close(s, t, collect, sink);
  return gen_summary_observe(s, "Q", type, "voice", v, t);
}

DEF_TEST(level_min_max_mean_and_carry) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  /* Window [60, 120) is the first whole one: the series began at 30. */
  OK(change(s, &sink, "waiting", 2, AT(30)) == 0);
  OK(change(s, &sink, "waiting", 5, AT(70)) == 0);  /* 2 for 10 s */
  OK(change(s, &sink, "waiting", 0, AT(71)) == 0);  /* 5 for 1 s */
  OK(change(s, &sink, "waiting", 1, AT(100)) == 0); /* 0 for 29 s */
  EXPECT_EQ_UINT64(1, gen_summary_close(s, AT(120), collect, &sink));
  /* The window of the first change was partial: nothing for it. */
  OK(isnan(find(&sink, "Q", "waiting_max", "voice", AT(60))));
  EXPECT_EQ_DOUBLE(0, find(&sink, "Q", "waiting_min", "voice", AT(120)));
  EXPECT_EQ_DOUBLE(5, find(&sink, "Q", "waiting_max", "voice", AT(120)));
  /* (2×10 + 5×1 + 0×29 + 1×20) / 60 */
  EXPECT_EQ_DOUBLE(45.0 / 60,
                   find(&sink, "Q", "waiting_mean", "voice", AT(120)));
  /* No change in [120, 180): the carried value is min, max and mean. */
  gen_summary_close(s, AT(181), collect, &sink);
  EXPECT_EQ_DOUBLE(1, find(&sink, "Q", "waiting_min", "voice", AT(180)));
  EXPECT_EQ_DOUBLE(1, find(&sink, "Q", "waiting_max", "voice", AT(180)));
  EXPECT_EQ_DOUBLE(1, find(&sink, "Q", "waiting_mean", "voice", AT(180)));
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(2, st.complete);
  EXPECT_EQ_UINT64(1, st.partial);
  EXPECT_EQ_UINT64(0, st.gap);
  gen_summary_free(s);
  return 0;
}

DEF_TEST(a_peak_between_samples_is_kept) {
  /* A poll at 60, 70, … 120 would see 0 every time. */
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  OK(change(s, &sink, "waiting", 0, AT(0)) == 0);
  OK(change(s, &sink, "waiting", 9, AT(61) + MS_TO_CDTIME_T(100)) == 0);
  OK(change(s, &sink, "waiting", 0, AT(61) + MS_TO_CDTIME_T(600)) == 0);
  gen_summary_close(s, AT(120), collect, &sink);
  EXPECT_EQ_DOUBLE(9, find(&sink, "Q", "waiting_max", "voice", AT(120)));
  EXPECT_EQ_DOUBLE(9 * 0.5 / 60,
                   find(&sink, "Q", "waiting_mean", "voice", AT(120)));
  gen_summary_free(s);
  return 0;
}

DEF_TEST(age_grows_between_changes) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  OK(change(s, &sink, "longest_waiting", 0, AT(0)) == 0);
  /* At 70 the oldest has waited 4 s; at 90 it is answered and the next
   * oldest has waited 3 s; at 100 nobody waits. */
  OK(change(s, &sink, "longest_waiting", 4, AT(70)) == 0);
  OK(change(s, &sink, "longest_waiting", 3, AT(90)) == 0);
  OK(change(s, &sink, "longest_waiting", 0, AT(100)) == 0);
  gen_summary_close(s, AT(120), collect, &sink);
  EXPECT_EQ_DOUBLE(0, find(&sink, "Q", "longest_waiting_min", "voice", AT(60)));
  /* The series was known from the start of [0, 60): whole from there. */
  EXPECT_EQ_DOUBLE(24,
                   find(&sink, "Q", "longest_waiting_max", "voice", AT(120)));
  /* 4→24 over 20 s (280) + 3→13 over 10 s (80) */
  EXPECT_EQ_DOUBLE(360.0 / 60,
                   find(&sink, "Q", "longest_waiting_mean", "voice", AT(120)));
  EXPECT_EQ_DOUBLE(0,
                   find(&sink, "Q", "longest_waiting_min", "voice", AT(120)));
  /* Carried across a boundary while growing: [120, 180) from 10 to 70. */
  OK(change(s, &sink, "longest_waiting", 10, AT(120)) == 0);
  gen_summary_close(s, AT(180), collect, &sink);
  EXPECT_EQ_DOUBLE(10,
                   find(&sink, "Q", "longest_waiting_min", "voice", AT(180)));
  EXPECT_EQ_DOUBLE(70,
                   find(&sink, "Q", "longest_waiting_max", "voice", AT(180)));
  EXPECT_EQ_DOUBLE(40,
                   find(&sink, "Q", "longest_waiting_mean", "voice", AT(180)));
  gen_summary_close(s, AT(240), collect, &sink);
  EXPECT_EQ_DOUBLE(70,
                   find(&sink, "Q", "longest_waiting_min", "voice", AT(240)));
  EXPECT_EQ_DOUBLE(130,
                   find(&sink, "Q", "longest_waiting_max", "voice", AT(240)));
  gen_summary_free(s);
  return 0;
}

DEF_TEST(lost_source_withholds_its_windows_only) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  gen_summary_close(s, AT(0), collect, &sink);
  OK(gen_summary_observe(s, "A", "waiting", "voice", 1, AT(0)) == 0);
  OK(gen_summary_observe(s, "B", "waiting", "voice", 2, AT(0)) == 0);
  gen_summary_close(s, AT(61), collect, &sink); /* [0, 60) whole for both */
  EXPECT_EQ_DOUBLE(1, find(&sink, "A", "waiting_max", "voice", AT(60)));
  /* A's socket drops at 100 and is re-baselined at 200 (to 7). */
  gen_summary_lost(s, "A");
  gen_summary_close(s, AT(200), collect, &sink);
  OK(gen_summary_observe(s, "A", "waiting", "voice", 7, AT(200)) == 0);
  gen_summary_resumed(s, "A");
  gen_summary_close(s, AT(300), collect, &sink);
  for (int end = 120; end <= 240; end += 60) {
    OK(isnan(find(&sink, "A", "waiting_max", "voice", AT(end))));
    EXPECT_EQ_DOUBLE(2, find(&sink, "B", "waiting_max", "voice", AT(end)));
  }
  /* The window after the resume starts from the re-baselined value. */
  EXPECT_EQ_DOUBLE(7, find(&sink, "A", "waiting_min", "voice", AT(300)));
  EXPECT_EQ_DOUBLE(7, find(&sink, "A", "waiting_mean", "voice", AT(300)));
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(3, st.gap);      /* A: [60,120), [120,180), [180,240) */
  EXPECT_EQ_UINT64(7, st.complete); /* A: 2 of 5, B: 5 */
  gen_summary_free(s);
  return 0;
}

DEF_TEST(only_the_types_listed) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  gen_summary_close(s, AT(0), collect, &sink);
  OK(gen_summary_observe(s, "Q", "conv_offered", "voice", 3, AT(0)) == 0);
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(0, st.series);
  gen_summary_free(s);
  return 0;
}

DEF_TEST(dispatched_at_the_window_end_with_its_interval) {
  gen_summary_t *s = NEW();
  mock_values_reset();
  gen_summary_close_dispatch(s, AT(0), "acme", "genesys_realtime");
  OK(gen_summary_observe(s, "Q", "waiting", "chat", 4, AT(0)) == 0);
  gen_summary_close_dispatch(s, AT(61), "acme", "genesys_realtime");
  mock_value_t *v = mock_find("Q", "waiting_max", "chat");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_STR("acme", v->host);
  EXPECT_EQ_STR("genesys_realtime", v->plugin);
  EXPECT_EQ_DOUBLE(4, v->value.gauge);
  EXPECT_EQ_UINT64(AT(60), v->sent_time);
  EXPECT_EQ_UINT64(W, v->sent_interval);
  CHECK_NOT_NULL(mock_find("Q", "waiting_min", "chat"));
  CHECK_NOT_NULL(mock_find("Q", "waiting_mean", "chat"));
  gen_summary_free(s);
  return 0;
}

DEF_TEST(configuration_keys) {
  gen_org_t *org = gen_org_create("genesys_realtime", "acme");
  gen_summary_config_t c = {0};
  oconfig_item_t *on = mock_ci_bool("Summaries", true);
  oconfig_item_t *w = mock_ci_num("SummaryInterval", 30);
  oconfig_item_t *zero = mock_ci_num("SummaryInterval", 0);
  oconfig_item_t *other = mock_ci_bool("AgentActivity", true);
  EXPECT_EQ_INT(0, gen_config_table_key(org, on, &gen_summary_keys, &c));
  EXPECT_EQ_INT(0, gen_config_table_key(org, w, &gen_summary_keys, &c));
  OK(c.on);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(30), c.window);
  mock_log_reset();
  OK(gen_config_table_key(org, zero, &gen_summary_keys, &c) < 0);
  OK(mock_log_contains("SummaryInterval"));
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE,
                gen_config_table_key(org, other, &gen_summary_keys, &c));
  mock_ci_free(on);
  mock_ci_free(w);
  mock_ci_free(zero);
  mock_ci_free(other);
  gen_org_free(org);
  return 0;
}

DEF_TEST(misuse_never_dispatches_a_non_number) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  gen_summary_close(s, AT(0), collect, &sink);
  /* A change after the open window without closing it first. */
  OK(gen_summary_observe(s, "Q", "waiting", "voice", 2, AT(0)) == 0);
  OK(gen_summary_observe(s, "Q", "waiting", "voice", 5, AT(90)) == 0);
  /* A name collectd would not take is refused. */
  char too_long[DATA_MAX_NAME_LEN + 1];
  memset(too_long, 'q', sizeof(too_long) - 1);
  too_long[sizeof(too_long) - 1] = '\0';
  EXPECT_EQ_INT(-ENAMETOOLONG,
                gen_summary_observe(s, too_long, "waiting", "voice", 1, AT(1)));
  gen_summary_close(s, AT(200), collect, &sink);
  for (size_t i = 0; i < sink.n; i++)
    OK(isfinite(sink.got[i].value));
  EXPECT_EQ_DOUBLE(5, find(&sink, "Q", "waiting_max", "voice", AT(60)));
  EXPECT_EQ_DOUBLE(5, find(&sink, "Q", "waiting_min", "voice", AT(120)));
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(1, st.series);
  gen_summary_free(s);
  return 0;
}

DEF_TEST(flat_memory_and_forget) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  for (int i = 0; i < 100000; i++) {
    cdtime_t t = AT(0) + MS_TO_CDTIME_T(i * 7);
    gen_summary_close(s, t, collect, &sink);
    gen_summary_observe(s, i % 2 ? "A" : "B", "waiting", "voice", i % 13, t);
  }
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(2, st.series); /* 100,000 changes, two series */
  gen_summary_forget(s, "A");
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(1, st.series);
  sink.n = 0;
  gen_summary_close(s, AT(10000), collect, &sink);
  OK(isnan(find(&sink, "A", "waiting_max", "voice", AT(720))));
  OK(sink.n > 0);
  gen_summary_free(s);
  return 0;
}

/* The names are kept apart, not joined: any byte collectd takes may be in
 * them, and forgetting a queue forgets its series only. */
DEF_TEST(names_kept_apart) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  gen_summary_close(s, AT(0), collect, &sink);
  OK(gen_summary_observe(s, "Q", "waiting", "voice", 1, AT(0)) == 0);
  OK(gen_summary_observe(s, "Q\x1fx", "waiting", "voice", 2, AT(0)) == 0);
  OK(gen_summary_observe(s, "Q", "waiting", "x\x1fvoice", 3, AT(0)) == 0);
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(3, st.series);
  gen_summary_forget(s, "Q");
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(1, st.series);
  gen_summary_close(s, AT(120), collect, &sink);
  EXPECT_EQ_DOUBLE(2, find(&sink, "Q\x1fx", "waiting_max", "voice", AT(120)));
  OK(isnan(find(&sink, "Q", "waiting_max", "voice", AT(120))));
  gen_summary_free(s);
  return 0;
}

/* Forgetting a queue moves another into its place: that queue's series
 * are still found (a change updates it, no second series), and every
 * other queue's windows are still handed out. */
DEF_TEST(forget_keeps_the_other_queues) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  gen_summary_close(s, AT(0), collect, &sink);
  OK(gen_summary_observe(s, "A", "waiting", "voice", 1, AT(0)) == 0);
  OK(gen_summary_observe(s, "B", "waiting", "voice", 2, AT(0)) == 0);
  OK(gen_summary_observe(s, "C", "waiting", "voice", 3, AT(0)) == 0);
  OK(gen_summary_observe(s, "C", "longest_waiting", "voice", 0, AT(0)) == 0);
  gen_summary_forget(s, "A");
  OK(gen_summary_observe(s, "C", "waiting", "voice", 9, AT(30)) == 0);
  OK(gen_summary_observe(s, "C", "waiting", "chat", 4, AT(30)) == 0);
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(4, st.series);
  gen_summary_close(s, AT(60), collect, &sink);
  EXPECT_EQ_DOUBLE(3, find(&sink, "C", "waiting_min", "voice", AT(60)));
  EXPECT_EQ_DOUBLE(9, find(&sink, "C", "waiting_max", "voice", AT(60)));
  EXPECT_EQ_DOUBLE(0, find(&sink, "C", "longest_waiting_max", "voice", AT(60)));
  EXPECT_EQ_DOUBLE(2, find(&sink, "B", "waiting_max", "voice", AT(60)));
  OK(isnan(find(&sink, "A", "waiting_max", "voice", AT(60))));
  gen_summary_close(s, AT(120), collect, &sink); /* chat began at 30 */
  EXPECT_EQ_DOUBLE(4, find(&sink, "C", "waiting_max", "chat", AT(120)));
  gen_summary_forget(s, "nobody"); /* not tracked: nothing changes */
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(4, st.series);
  gen_summary_free(s);
  return 0;
}

/* A big sink for whole runs, and its order for comparing two of them. */
typedef struct {
  got_t *got;
  size_t n, cap;
} run_t;

static void collect_run(void *ud, const char *pi, const char *type,
                        const char *ti, double value, cdtime_t end) {
  run_t *r = ud;
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 1024;
    got_t *got = realloc(r->got, cap * sizeof(*got));
    if (got == NULL)
      return;
    r->got = got;
    r->cap = cap;
  }
  got_set(&r->got[r->n++], pi, type, ti, value, end);
}

static int got_cmp(const void *a, const void *b) {
  const got_t *x = a, *y = b;
  int c = strcmp(x->pi, y->pi);
  if (c == 0)
    c = strcmp(x->type, y->type);
  if (c == 0)
    c = strcmp(x->ti, y->ti);
  if (c == 0)
    c = (x->end > y->end) - (x->end < y->end);
  return c;
}

/* Spread over half a window, a closed window's summaries leave a share at
 * a time, and every one of them is the same as closed at once: the same
 * names, values and times, through changes, a lost source, a forgotten
 * queue (one the cursor had passed and the one that takes its place). */
DEF_TEST(spread_puts_the_same_summaries_in_shares) {
  gen_summary_t *plain = NEW(), *spread = NEW();
  gen_summary_spread(spread, W / 2, 0);
  run_t a = {0}, b = {0};
  gen_summary_t *both[2] = {plain, spread};
  run_t *runs[2] = {&a, &b};
  bool shared = false;
  size_t share = 0;
  for (int sec = 0; sec <= 1000; sec += 5) {
    for (int k = 0; k < 2; k++) {
      gen_summary_t *s = both[k];
      gen_summary_close(s, AT(sec), collect_run, runs[k]);
      if (sec == 200)
        gen_summary_lost(s, "Q3");
      if (sec == 260)
        gen_summary_resumed(s, "Q3");
      if (sec == 305)
        gen_summary_forget(s, "Q0"); /* the cursor is at 1 of 8 */
      if (sec == 310)
        gen_summary_forget(s, "Q5"); /* ahead of it (2 of 7) */
      if (sec == 430)
        gen_summary_lost(s, NULL);
      if (sec == 435)
        gen_summary_resumed(s, NULL);
      /* Quiet while the forgotten queue's last takes its place (a change
       * would put it out), and the last windows carry the values on. */
      if ((sec > 300 && sec < 330) || sec > 900)
        continue;
      for (int q = 0; q < 8; q++) {
        char pi[8];
        snprintf(pi, sizeof(pi), "Q%d", q);
        if ((sec / 5 + q) % 3 == 0)
          OK(gen_summary_observe(s, pi, "waiting", "voice", (sec * 7 + q) % 11,
                                 AT(sec)) == 0);
        if ((sec / 5 + q) % 4 == 1)
          OK(gen_summary_observe(s, pi, "longest_waiting", "voice",
                                 (sec + q) % 5, AT(sec)) == 0);
      }
    }
    if (sec == 310) /* 10 s into a 30 s spread: a share, not all */
      share = b.n;
    if (sec == 325) /* and more of it as the spread runs */
      shared = share > 0 && b.n > share && b.n < a.n;
    if (sec % 60 >= 30) /* the spread has run: all of it */
      EXPECT_EQ_UINT64(a.n, b.n);
  }
  OK(shared);
  OK(a.n > 300);
  EXPECT_EQ_UINT64(a.n, b.n);
  qsort(a.got, a.n, sizeof(*a.got), got_cmp);
  qsort(b.got, b.n, sizeof(*b.got), got_cmp);
  for (size_t i = 0; i < a.n && i < b.n; i++) {
    OK(got_cmp(&a.got[i], &b.got[i]) == 0);
    EXPECT_EQ_DOUBLE(a.got[i].value, b.got[i].value);
  }
  gen_summary_stats_t sa, sb;
  gen_summary_stats(plain, &sa);
  gen_summary_stats(spread, &sb);
  EXPECT_EQ_UINT64(sa.complete, sb.complete);
  EXPECT_EQ_UINT64(sa.gap, sb.gap);
  EXPECT_EQ_UINT64(sa.partial, sb.partial);
  OK(sa.gap > 0 && sa.partial > 0);
  free(a.got);
  free(b.got);
  gen_summary_free(plain);
  gen_summary_free(spread);
  return 0;
}

/* With a rate, the spread is only as long as the series need at it: 8
 * series at 2 a second leave over 4 s of the 30 s spread; at 1,000 a second
 * all at the first close after the window's end. */
DEF_TEST(spread_is_no_longer_than_the_rate_needs) {
  double rates[] = {2, 1000};
  for (int k = 0; k < 2; k++) {
    gen_summary_t *s = NEW();
    gen_summary_spread(s, W / 2, rates[k]);
    run_t r = {0};
    size_t base = 0, at[8] = {0}; /* window 60..120's out after 121..128 s */
    for (int t = 0; t <= 128; t++) {
      gen_summary_close(s, AT(t), collect_run, &r);
      if (t == 120) /* closed now; the window before is all out */
        base = r.n;
      if (t > 120)
        at[t - 121] = r.n - base;
      if (t < 120) /* quiet after: no change puts a series out early */
        for (int q = 0; q < 8; q++) {
          char pi[8];
          snprintf(pi, sizeof(pi), "Q%d", q);
          OK(gen_summary_observe(s, pi, "waiting", "voice", (t + q) % 7,
                                 AT(t)) == 0);
        }
    }
    EXPECT_EQ_UINT64(24, at[7]); /* 8 series, min, max and mean */
    if (k == 0) {                /* over 4 s: a share after 1 s, all after 4 */
      OK(at[0] > 0 && at[0] < 24);
      EXPECT_EQ_UINT64(24, at[3]);
    } else {
      EXPECT_EQ_UINT64(24, at[0]);
    }
    gen_summary_free(s);
    free(r.got);
  }
  return 0;
}

/* A queue's series past the first step of its array, most of them quiet:
 * a quiet window is its carried value (an age grown over it), a change
 * after a quiet window counts from the window's start. */
DEF_TEST(quiet_and_changed_series_side_by_side) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  char ti[16];
  for (int i = 0; i < 20; i++) {
    snprintf(ti, sizeof(ti), "m%d", i);
    OK(gen_summary_observe(s, "Q", "waiting", ti, i, AT(10)) == 0);
  }
  OK(gen_summary_observe(s, "Q", "longest_waiting", "m0", 5, AT(10)) == 0);
  gen_summary_close(s, AT(60), collect, &sink);
  OK(gen_summary_observe(s, "Q", "waiting", "m7", 1, AT(90)) == 0);
  gen_summary_close(s, AT(120), collect, &sink);
  /* [60, 120): m7 was 7 for 30 s, then 1; the rest held. */
  EXPECT_EQ_DOUBLE(1, find(&sink, "Q", "waiting_min", "m7", AT(120)));
  EXPECT_EQ_DOUBLE(7, find(&sink, "Q", "waiting_max", "m7", AT(120)));
  EXPECT_EQ_DOUBLE(4, find(&sink, "Q", "waiting_mean", "m7", AT(120)));
  EXPECT_EQ_DOUBLE(19, find(&sink, "Q", "waiting_mean", "m19", AT(120)));
  /* The age: 55 s at 60, 115 s at 120. */
  EXPECT_EQ_DOUBLE(55, find(&sink, "Q", "longest_waiting_min", "m0", AT(120)));
  EXPECT_EQ_DOUBLE(115, find(&sink, "Q", "longest_waiting_max", "m0", AT(120)));
  EXPECT_EQ_DOUBLE(85, find(&sink, "Q", "longest_waiting_mean", "m0", AT(120)));
  /* Quiet through [120, 180), then changed at 200: from 175 s to 0. */
  gen_summary_close(s, AT(180), collect, &sink);
  EXPECT_EQ_DOUBLE(175, find(&sink, "Q", "longest_waiting_max", "m0", AT(180)));
  OK(gen_summary_observe(s, "Q", "longest_waiting", "m0", 0, AT(200)) == 0);
  gen_summary_close(s, AT(240), collect, &sink);
  EXPECT_EQ_DOUBLE(0, find(&sink, "Q", "longest_waiting_min", "m0", AT(240)));
  EXPECT_EQ_DOUBLE(195, find(&sink, "Q", "longest_waiting_max", "m0", AT(240)));
  /* (175 + 195) / 2 × 20 s over 60 s */
  EXPECT_EQ_DOUBLE(3700.0 / 60,
                   find(&sink, "Q", "longest_waiting_mean", "m0", AT(240)));
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(21, st.series);
  EXPECT_EQ_UINT64(21, st.partial);
  EXPECT_EQ_UINT64(3 * 21, st.complete);
  gen_summary_free(s);
  return 0;
}

/* Types are indexed by a byte and type instances by 16 bits. */
DEF_TEST(bounds_of_types_and_type_instances) {
  static gen_summary_type_t many[256];
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(many); i++)
    many[i] = (gen_summary_type_t){"waiting", GEN_SUMMARY_LEVEL};
  OK(gen_summary_new(W, many, 256) == NULL);
  gen_summary_t *s = gen_summary_new(W, many, 255);
  OK(s != NULL);
  gen_summary_free(s);
  s = NEW();
  char ti[16];
  for (int i = 0; i < 65536; i++) {
    snprintf(ti, sizeof(ti), "t%d", i);
    if (gen_summary_observe(s, i % 2 ? "A" : "B", "waiting", ti, 1, AT(10)))
      break;
  }
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(65536, st.series);
  EXPECT_EQ_INT(-E2BIG,
                gen_summary_observe(s, "A", "waiting", "one more", 1, AT(10)));
  /* Names known still make new series. */
  EXPECT_EQ_INT(0, gen_summary_observe(s, "C", "waiting", "t5", 1, AT(10)));
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(65537, st.series);
  gen_summary_free(s);
  return 0;
}

static void count_put(void *ud, const char *pi, const char *type,
                      const char *ti, double value, cdtime_t end) {
  (*(size_t *)ud)++;
}

/* From the keys: none without Summaries; windows of SummaryInterval or of
 * the plugin's interval; a closed window spread at 10,000 series a second:
 * 20,000 series (60,000 summaries) leave over 2 s, not at once, nor over
 * the half window a spread without a rate takes. */
DEF_TEST(made_from_the_configuration) {
  gen_summary_config_t c = {.on = false};
  OK(gen_summary_from_config(&c, W, types, STATIC_ARRAY_SIZE(types)) == NULL);
  c = (gen_summary_config_t){.on = true, .window = AT(30)};
  gen_summary_t *s =
      gen_summary_from_config(&c, W, types, STATIC_ARRAY_SIZE(types));
  EXPECT_EQ_UINT64(AT(30), gen_summary_window(s));
  gen_summary_free(s);
  c.window = 0;
  s = gen_summary_from_config(&c, W, types, STATIC_ARRAY_SIZE(types));
  EXPECT_EQ_UINT64(W, gen_summary_window(s));
  size_t n = 0;
  gen_summary_close(s, AT(1), count_put, &n);
  char pi[16], ti[16];
  for (int q = 0; q < 200; q++)
    for (int i = 0; i < 100; i++) {
      snprintf(pi, sizeof(pi), "Q%d", q);
      snprintf(ti, sizeof(ti), "m%d", i);
      OK(gen_summary_observe(s, pi, "waiting", ti, i, AT(1)) == 0);
    }
  gen_summary_close(s, AT(60), count_put, &n); /* began inside: withheld */
  EXPECT_EQ_UINT64(0, n);
  gen_summary_close(s, AT(120), count_put, &n);
  gen_summary_close(s, AT(121), count_put, &n);
  OK(n > 0 && n < 60000);
  gen_summary_close(s, AT(123), count_put, &n);
  EXPECT_EQ_UINT64(60000, n);
  gen_summary_free(s);
  return 0;
}

/* A forward clock step (a day here) closes the open window once and skips
 * the windows it jumped over, counted and said in a line: it closed every
 * one of them (1,439 windows of carried values here, 86,400 of 1 s
 * windows a day), hundreds of thousands of values that starved the live
 * ones. The window the step lands in is withheld (partial: its start was
 * not seen); the next is whole, an age carried over the step. */
DEF_TEST(a_clock_step_closes_one_window_and_skips_the_rest) {
  gen_summary_t *s = NEW();
  sink_t sink = {0};
  gen_summary_close(s, AT(0), collect, &sink);
  OK(gen_summary_observe(s, "Q", "waiting", "voice", 2, AT(0)) == 0);
  OK(gen_summary_observe(s, "Q", "longest_waiting", "voice", 5, AT(0)) == 0);
  CHECK_ZERO(change(s, &sink, "waiting", 4, AT(30)));
  mock_log_reset();
  int64_t day = 86400;
  EXPECT_EQ_UINT64(1, gen_summary_close(s, AT(day + 30), collect, &sink));
  EXPECT_EQ_INT(6, (int)sink.n); /* [0, 60): three of each series */
  EXPECT_EQ_DOUBLE(3, find(&sink, "Q", "waiting_mean", "voice", AT(60)));
  OK(mock_log_contains("1439 windows skipped"));
  /* Later calls close nothing more until the window after the step. */
  EXPECT_EQ_UINT64(0, gen_summary_close(s, AT(day + 59), collect, &sink));
  EXPECT_EQ_INT(6, (int)sink.n);
  CHECK_ZERO(change(s, &sink, "waiting", 7, AT(day + 40)));
  gen_summary_close(s, AT(day + 121), collect, &sink);
  OK(isnan(find(&sink, "Q", "waiting_max", "voice", AT(day + 60))));
  EXPECT_EQ_DOUBLE(7, find(&sink, "Q", "waiting_min", "voice", AT(day + 120)));
  EXPECT_EQ_DOUBLE(5 + day + 60, find(&sink, "Q", "longest_waiting_min",
                                      "voice", AT(day + 120)));
  EXPECT_EQ_INT(12, (int)sink.n);
  gen_summary_stats_t st;
  gen_summary_stats(s, &st);
  EXPECT_EQ_UINT64(2 * 1439, st.skipped);
  EXPECT_EQ_UINT64(2, st.partial);
  gen_summary_free(s);
  return 0;
}

int main(void) {
  RUN_TEST(level_min_max_mean_and_carry);
  RUN_TEST(a_peak_between_samples_is_kept);
  RUN_TEST(age_grows_between_changes);
  RUN_TEST(lost_source_withholds_its_windows_only);
  RUN_TEST(only_the_types_listed);
  RUN_TEST(dispatched_at_the_window_end_with_its_interval);
  RUN_TEST(configuration_keys);
  RUN_TEST(misuse_never_dispatches_a_non_number);
  RUN_TEST(flat_memory_and_forget);
  RUN_TEST(names_kept_apart);
  RUN_TEST(forget_keeps_the_other_queues);
  RUN_TEST(spread_puts_the_same_summaries_in_shares);
  RUN_TEST(spread_is_no_longer_than_the_rate_needs);
  RUN_TEST(made_from_the_configuration);
  RUN_TEST(quiet_and_changed_series_side_by_side);
  RUN_TEST(bounds_of_types_and_type_instances);
  RUN_TEST(a_clock_step_closes_one_window_and_skips_the_rest);
  END_TEST;
}
