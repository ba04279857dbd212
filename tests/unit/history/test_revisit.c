/* SPDX-License-Identifier: MIT */
/* Unit tests: the revisit schedule (RevisitAt): its ages, and the engine
 * asking for each done bucket once more at each age, dispatching a change
 * once, moving counters by the difference, across a restart. */
#include "gen_interval.h"
#include "gen_revisit.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>
#include <stdio.h>

static const gen_log_org_t test_who = {"test", "acme"};

#define MINUTE 60000LL
#define HOUR (60 * MINUTE)
#define G (5 * MINUTE)
#define T0 1778752800000LL /* 2026-05-14T10:00:00Z */
#define BASE (T0 - 24 * HOUR)
#define SLOTS 2048

static char dir[] = "/tmp/gen-revisit-test-XXXXXX";
static char state[256];

/* The API's truth per bucket (handle ms; offered is always 1), and what
 * the engine did with each bucket. */
static double truth[SLOTS];
static int asked[SLOTS][3]; /* per bucket: asked at age 0 (new), 1 h, 3 h */
static int revisions[SLOTS], news[SLOTS];
static double dispatched[SLOTS], total_handle;
static size_t stage_requests;

static size_t slot(int64_t start) { return (size_t)((start - BASE) / G); }

static void on_bucket(void *ud, const gen_key_t *key, int64_t start,
                      int64_t end, gen_interval_kind_t kind,
                      const gen_interval_value_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].name, "handle_ms") == 0)
      dispatched[slot(start)] = v[i].value;
  if (kind == GEN_INTERVAL_REVISION)
    revisions[slot(start)]++;
  else
    news[slot(start)]++;
}

static void on_totals(void *ud, const gen_key_t *key, int64_t at,
                      const gen_interval_value_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].name, "handle_ms") == 0)
      total_handle = v[i].value;
}

static const gen_interval_sink_t sink = {.bucket = on_bucket,
                                         .totals = on_totals};
static const char *const q1[] = {"Q1"};

static void reset(void) {
  for (size_t i = 0; i < SLOTS; i++)
    truth[i] = 100 + (double)i;
  memset(asked, 0, sizeof(asked));
  memset(revisions, 0, sizeof(revisions));
  memset(news, 0, sizeof(news));
  memset(dispatched, 0, sizeof(dispatched));
  total_handle = 0;
  stage_requests = 0;
}

/* Window 10 min (two buckets), schedule 1 h and 3 h, plus 5 min, which the
 * window covers (left out). */
static gen_interval_t *make_with(const char *path, int64_t initial,
                                 const char *ages) {
  gen_interval_options_t o = {.granularity_ms = G,
                              .settle_ms = MINUTE,
                              .revisit_ms = 2 * G,
                              .horizon_ms = 6 * HOUR,
                              .initial_ms = initial,
                              .max_buckets = 100,
                              .state_path = path,
                              .who = &test_who};
  char why[128];
  if (ages != NULL &&
      gen_revisit_parse(&o.revisit_at, ages, why, sizeof(why)) != 0)
    return NULL;
  return gen_interval_create(&o);
}

static gen_interval_t *make(const char *path, int64_t initial) {
  return make_with(path, initial, "3h 5m,1h");
}

/* One read at now: every range due, answered from truth. */
static int cycle(gen_interval_t *gi, int64_t now) {
  for (int round = 0; round < 20; round++) {
    gen_interval_range_t r;
    int status = gen_interval_plan(gi, q1, 1, now, &r);
    if (status <= 0)
      return status;
    if (r.revisit > 0)
      stage_requests++;
    for (int64_t b = r.start_ms; b < r.end_ms; b += G) {
      if (r.revisit > 0) {
        /* the bucket's age at its revisit: exactly the stage's */
        if (b + G + (r.revisit == 1 ? HOUR : 3 * HOUR) > now)
          return -EINVAL;
        asked[slot(b)][r.revisit]++;
      } else if (news[slot(b)] == 0) {
        asked[slot(b)][0]++;
      }
      gen_interval_value_t v[] = {{"offered", 1, true},
                                  {"handle_ms", truth[slot(b)], true}};
      gen_key_t key = {{"Q1", "voice"}, 0};
      if (gen_interval_put(gi, "Q1", &key, b, v, 2) != 0)
        return -EINVAL;
    }
    if (gen_interval_commit(gi, q1, 1, &r, now, &sink) != 0)
      return -EIO;
  }
  return -ELOOP;
}

DEF_TEST(ages_are_read_and_refused_with_the_reason) {
  gen_revisit_t r = {.n = 0};
  char why[160];
  CHECK_ZERO(gen_revisit_parse(&r, "72h 24h", why, sizeof(why)));
  EXPECT_EQ_INT(2, (int)r.n);
  EXPECT_EQ_UINT64(24 * HOUR, r.age_ms[0]);
  EXPECT_EQ_UINT64(72 * HOUR, r.age_ms[1]);
  r = (gen_revisit_t){.n = 0};
  CHECK_ZERO(gen_revisit_parse(&r, "3d,90m\t45s 7200 PT30M", why, sizeof(why)));
  EXPECT_EQ_INT(5, (int)r.n);
  EXPECT_EQ_UINT64(45000, r.age_ms[0]);
  EXPECT_EQ_UINT64(30 * MINUTE, r.age_ms[1]);
  EXPECT_EQ_UINT64(90 * MINUTE, r.age_ms[2]);
  EXPECT_EQ_UINT64(2 * HOUR, r.age_ms[3]);
  EXPECT_EQ_UINT64(72 * HOUR, r.age_ms[4]);

  static const struct {
    const char *text, *why;
  } bad[] = {
      {"", "no age given"},
      {" , ", "no age given"},
      {"5x", "\"5x\" is not an age"},
      {"h", "\"h\" is not an age"},
      {"24hh", "\"24hh\" is not an age"},
      {"-1h", "\"-1h\" is not an age"},
      {"0h", "age \"0h\" must be more than 0"},
      {"32d", "age \"32d\" must be more than 0 and at most 31 d"},
      {"24h 1d", "age \"1d\" is given twice"},
      {"1h 2h 3h 4h 5h 6h 7h 8h 9h", "more than 8 ages (at \"9h\")"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    gen_revisit_t b = {.n = 0};
    why[0] = '\0';
    EXPECT_EQ_INT(-EINVAL,
                  gen_revisit_parse(&b, bad[i].text, why, sizeof(why)));
    OK1(strstr(why, bad[i].why) != NULL, bad[i].text);
    EXPECT_EQ_INT(0, (int)b.n); /* unchanged */
  }
  return 0;
}

DEF_TEST(due_buckets_and_watermarks) {
  int64_t s, e;
  /* At T0 + 1 h + 5 min the bucket [T0, T0 + 5 min) is 1 h old. */
  OK(gen_revisit_due(HOUR, T0, T0, T0 + 4 * HOUR, T0 + HOUR + G, G, &s, &e));
  EXPECT_EQ_UINT64(T0, s);
  EXPECT_EQ_UINT64(T0 + G, e);
  OK(!gen_revisit_due(HOUR, T0, T0, T0 + 4 * HOUR, T0 + HOUR + G - 1, G, &s,
                      &e));
  /* not fetched yet: not due */
  OK(!gen_revisit_due(HOUR, T0, T0, T0, T0 + 9 * HOUR, G, &s, &e));
  /* First fetched at 2 h old: no revisit at 1 h; younger ones wait. */
  EXPECT_EQ_UINT64(T0 + HOUR,
                   gen_revisit_after_fetch(HOUR, T0, T0, T0 + 2 * HOUR,
                                           T0 + 2 * HOUR + MINUTE, G));
  /* An older bucket still waiting: the mark stays. */
  EXPECT_EQ_UINT64(T0 - G,
                   gen_revisit_after_fetch(HOUR, T0 - G, T0, T0 + 2 * HOUR,
                                           T0 + 2 * HOUR + MINUTE, G));
  EXPECT_EQ_UINT64(T0 + HOUR, gen_revisit_start(HOUR, T0, T0 + 2 * HOUR, G));
  EXPECT_EQ_UINT64(T0, gen_revisit_start(HOUR, T0, T0 + HOUR - 1, G));
  return 0;
}

/* Drives reads every 5 min from T0 + 1 min to until. */
static int run(gen_interval_t *gi, int64_t from, int64_t until, int64_t late_at,
               int64_t late_bucket) {
  for (int64_t now = from; now <= until; now += G) {
    if (late_bucket != 0 && now >= late_at && now < late_at + G)
      truth[slot(late_bucket)] += 7777; /* late data, once */
    int status = cycle(gi, now);
    if (status != 0)
      return status;
  }
  return 0;
}

static double truth_sum(int64_t from, int64_t to) {
  double sum = 0;
  for (int64_t b = from; b < to; b += G)
    sum += truth[slot(b)];
  return sum;
}

DEF_TEST(each_bucket_is_asked_for_again_once_at_each_age) {
  reset();
  gen_interval_t *gi = make(NULL, 0);
  OK(gi != NULL);
  /* The bucket 10:30-10:35 gains data at 12:00, after its 1 h revisit
   * (11:35) and its window: only the 3 h one (13:35) can take it. */
  int64_t b = T0 + 30 * MINUTE;
  CHECK_ZERO(run(gi, T0 + MINUTE, T0 + 5 * HOUR + MINUTE, T0 + 2 * HOUR, b));
  /* Every bucket from T0 - 5 min on: new once; at 1 h and 3 h once each
   * when it got that old. */
  int64_t last = T0 + 5 * HOUR; /* settled at 15:01 */
  size_t both = 0;
  for (int64_t x = T0 - G; x < last; x += G) {
    EXPECT_EQ_INT(1, news[slot(x)]);
    EXPECT_EQ_INT(1, asked[slot(x)][0]);
    bool one_h = x + G + HOUR <= T0 + 5 * HOUR + MINUTE;
    bool three_h = x + G + 3 * HOUR <= T0 + 5 * HOUR + MINUTE;
    EXPECT_EQ_INT((one_h ? 1 : 0), asked[slot(x)][1]);
    EXPECT_EQ_INT((three_h ? 1 : 0), asked[slot(x)][2]);
    both += three_h;
    EXPECT_EQ_DOUBLE(truth[slot(x)], dispatched[slot(x)]);
    EXPECT_EQ_INT((x == b ? 1 : 0), revisions[slot(x)]);
  }
  EXPECT_EQ_INT(2 * 12 + 1, (int)both); /* 10:55 … 12:55 + T0 - 5 min */
  /* The counter moved by the late data once: it equals the truth. */
  EXPECT_EQ_DOUBLE(truth_sum(T0 - G, last), total_handle);
  /* One request per bucket and age: each stage range is one bucket. */
  size_t want = 0;
  for (int64_t x = T0 - G; x < last; x += G)
    want += (size_t)(asked[slot(x)][1] + asked[slot(x)][2]);
  EXPECT_EQ_UINT64(want, stage_requests);
  gen_interval_stats_t st;
  gen_interval_get_stats(gi, &st);
  EXPECT_EQ_UINT64(1, st.revisions);
  /* The self-metric of where it landed: found at 3 h, once; none at 1 h. */
  EXPECT_EQ_UINT64(2, st.n_revision_ages);
  EXPECT_EQ_UINT64(HOUR, st.revision_age_ms[0]);
  EXPECT_EQ_UINT64(0, st.revisions_at[0]);
  EXPECT_EQ_UINT64(3 * HOUR, st.revision_age_ms[1]);
  EXPECT_EQ_UINT64(1, st.revisions_at[1]);
  gen_interval_stats_t sum = {0};
  gen_interval_stats_add(gi, &sum);
  gen_interval_stats_add(gi, &sum); /* two engines of one schedule */
  EXPECT_EQ_UINT64(2, sum.n_revision_ages);
  EXPECT_EQ_UINT64(2, sum.revisions_at[1]);
  char age[16];
  gen_revisit_age_format(100 * HOUR, age, sizeof(age));
  EXPECT_EQ_STR("100h", age);
  gen_revisit_age_format(90 * MINUTE, age, sizeof(age));
  EXPECT_EQ_STR("90m", age);
  gen_interval_free(gi);
  return 0;
}

DEF_TEST(a_restart_keeps_the_due_revisits) {
  reset();
  snprintf(state, sizeof(state), "%s/analytics.json", dir);
  remove(state);
  gen_interval_t *gi = make(state, 0);
  OK(gi != NULL);
  int64_t b = T0 + 30 * MINUTE;
  /* Up to 13:01, late data at 12:00; down from 13:01 to 14:01, across the
   * bucket's 3 h revisit (13:35). */
  CHECK_ZERO(run(gi, T0 + MINUTE, T0 + 3 * HOUR + MINUTE, T0 + 2 * HOUR, b));
  EXPECT_EQ_INT(0, revisions[slot(b)]);
  EXPECT_EQ_INT(0, asked[slot(b)][2]);
  gen_interval_free(gi);
  gi = make(state, 0);
  OK(gi != NULL);
  CHECK_ZERO(run(gi, T0 + 4 * HOUR + MINUTE, T0 + 5 * HOUR + MINUTE, 0, 0));
  EXPECT_EQ_INT(1, asked[slot(b)][2]);
  EXPECT_EQ_INT(1, revisions[slot(b)]);
  EXPECT_EQ_DOUBLE(truth[slot(b)], dispatched[slot(b)]);
  int64_t last = T0 + 5 * HOUR;
  for (int64_t x = T0 - G; x < last; x += G) {
    EXPECT_EQ_INT(1, news[slot(x)]);
    /* the revisits due while it was down came after the restart, late but
     * once; the buckets that closed meanwhile were fetched younger than
     * 1 h and get theirs too */
    EXPECT_EQ_INT((x + G + HOUR <= T0 + 5 * HOUR + MINUTE ? 1 : 0),
                  asked[slot(x)][1]);
    EXPECT_EQ_INT((x + G + 3 * HOUR <= T0 + 5 * HOUR + MINUTE ? 1 : 0),
                  asked[slot(x)][2]);
  }
  EXPECT_EQ_DOUBLE(truth_sum(T0 - G, last), total_handle);
  gen_interval_free(gi);
  return 0;
}

DEF_TEST(buckets_first_fetched_past_an_age_skip_it) {
  reset();
  /* A first start with 2 h of initial backfill: the buckets already 1 h
   * old are not asked for again at 1 h; the younger ones are. */
  gen_interval_t *gi = make(NULL, 2 * HOUR);
  OK(gi != NULL);
  CHECK_ZERO(run(gi, T0 + MINUTE, T0 + 2 * HOUR + MINUTE, 0, 0));
  for (int64_t x = T0 - 2 * HOUR; x < T0 + 2 * HOUR - G; x += G) {
    EXPECT_EQ_INT(1, news[slot(x)]);
    bool old_at_first = x + G + HOUR <= T0 + MINUTE;
    bool due = x + G + HOUR <= T0 + 2 * HOUR + MINUTE;
    EXPECT_EQ_INT((!old_at_first && due ? 1 : 0), asked[slot(x)][1]);
    /* all younger than 3 h at the start: each gets its 3 h revisit */
    EXPECT_EQ_INT((x + G + 3 * HOUR <= T0 + 2 * HOUR + MINUTE ? 1 : 0),
                  asked[slot(x)][2]);
  }
  gen_interval_free(gi);
  return 0;
}

DEF_TEST(a_state_without_the_schedule_counts_nothing_twice) {
  /* Two hours without RevisitAt (the records of the window only), then
   * with it: no bucket whose record is gone is revisited (it would be
   * added to the counters again); the ones still kept are. */
  reset();
  snprintf(state, sizeof(state), "%s/older.json", dir);
  remove(state);
  gen_interval_t *gi = make_with(state, 0, NULL);
  OK(gi != NULL);
  CHECK_ZERO(run(gi, T0 + MINUTE, T0 + 2 * HOUR + MINUTE, 0, 0));
  gen_interval_free(gi);
  gi = make(state, 0);
  OK(gi != NULL);
  CHECK_ZERO(run(gi, T0 + 2 * HOUR + 6 * MINUTE, T0 + 5 * HOUR + MINUTE, 0, 0));
  size_t revisited = 0;
  for (int64_t x = T0 - G; x < T0 + 5 * HOUR; x += G) {
    EXPECT_EQ_INT(1, news[slot(x)]);
    EXPECT_EQ_INT(0, revisions[slot(x)]);
    /* the window's last buckets at the upgrade (from 11:45) on */
    if (x >= T0 + HOUR + 45 * MINUTE && x + G + HOUR <= T0 + 5 * HOUR)
      EXPECT_EQ_INT(1, asked[slot(x)][1]);
    if (x < T0 + HOUR + 45 * MINUTE)
      EXPECT_EQ_INT(0, asked[slot(x)][1] + asked[slot(x)][2]);
    revisited += (size_t)asked[slot(x)][1];
  }
  OK(revisited > 20);
  EXPECT_EQ_DOUBLE(truth_sum(T0 - G, T0 + 5 * HOUR), total_handle);
  gen_interval_free(gi);
  return 0;
}

/* Totals of handle_ms per scope ("Q1", "Q2") for the batch test below. */
static double scope_total[2];

static void on_scope_totals(void *ud, const gen_key_t *key, int64_t at,
                            const gen_interval_value_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].name, "handle_ms") == 0)
      scope_total[strcmp(key->str[0], "Q2") == 0] = v[i].value;
}

static const gen_interval_sink_t scope_sink = {.bucket = on_bucket,
                                               .totals = on_scope_totals};

/* One read at now of the batch scopes[n]: every range due, answered from
 * truth for each scope; with fail_revisits, a scheduled revisit's request
 * fails (not committed) and the read ends there. */
static int batch_cycle(gen_interval_t *gi, const char *const *scopes, size_t n,
                       int64_t now, bool fail_revisits) {
  for (int round = 0; round < 20; round++) {
    gen_interval_range_t r;
    int status = gen_interval_plan(gi, scopes, n, now, &r);
    if (status <= 0)
      return status;
    if (r.revisit > 0 && fail_revisits)
      return 0;

    for (size_t i = 0; i < n; i++)
      for (int64_t b = r.start_ms; b < r.end_ms; b += G) {
        gen_interval_value_t v[] = {{"offered", 1, true},
                                    {"handle_ms", truth[slot(b)], true}};
        gen_key_t key = {{scopes[i], "voice"}, 0};
        if (gen_interval_put(gi, scopes[i], &key, b, v, 2) != 0)
          return -EINVAL;
      }
    if (gen_interval_commit(gi, scopes, n, &r, now, &scope_sink) != 0)
      return -EIO;
  }
  return -ELOOP;
}

DEF_TEST(a_batch_revisits_each_scope_from_its_own_watermark) {
  /* Q2's scheduled revisits fail for 4 h while Q1's are done; then the
   * two are one batch (queues regrouped), whose revisit range starts at
   * Q2's watermark, hours before Q1's. Q1's buckets before its own were
   * revisited already and their records pruned: asked again, they must
   * not be counted again (their whole values would be, with no record). */
  reset();
  scope_total[0] = scope_total[1] = 0;
  /* (records are pruned as of the state file: none without one) */
  snprintf(state, sizeof(state), "%s/batch.json", dir);
  remove(state);
  gen_interval_t *gi = make(state, 0);
  OK(gi != NULL);
  static const char *const q1_only[] = {"Q1"}, *const q2_only[] = {"Q2"},
                           *const both[] = {"Q1", "Q2"};
  int64_t now = T0 + MINUTE;
  for (; now <= T0 + 4 * HOUR + MINUTE; now += G) {
    CHECK_ZERO(batch_cycle(gi, q1_only, 1, now, false));
    CHECK_ZERO(batch_cycle(gi, q2_only, 1, now, true));
  }
  for (; now <= T0 + 6 * HOUR + MINUTE; now += G)
    CHECK_ZERO(batch_cycle(gi, both, 2, now, false));
  /* every bucket from T0 - 5 min to the last settled, each counted once */
  double want = truth_sum(T0 - G, T0 + 6 * HOUR);
  EXPECT_EQ_DOUBLE(want, scope_total[0]);
  EXPECT_EQ_DOUBLE(want, scope_total[1]);
  gen_interval_free(gi);
  return 0;
}

int main(void) {
  if (mock_tempdir(dir) == NULL)
    return 1;
  RUN_TEST(ages_are_read_and_refused_with_the_reason);
  RUN_TEST(due_buckets_and_watermarks);
  RUN_TEST(each_bucket_is_asked_for_again_once_at_each_age);
  RUN_TEST(a_restart_keeps_the_due_revisits);
  RUN_TEST(buckets_first_fetched_past_an_age_skip_it);
  RUN_TEST(a_state_without_the_schedule_counts_nothing_twice);
  RUN_TEST(a_batch_revisits_each_scope_from_its_own_watermark);
  if (mock_rmtree(dir) != 0)
    return 1;
  END_TEST;
}
