/* SPDX-License-Identifier: MIT */
/* Unit tests: name sanitising, value identity and self-metrics. */
#include "gen_dispatch.h"
#include "gen_stats.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

static const char *clean(const char *in, size_t size) {
  static char out[DATA_MAX_NAME_LEN];
  gen_sanitize_name(in, out, size);
  return out;
}

DEF_TEST(sanitize) {
  EXPECT_EQ_STR("Sales_EN", clean("Sales EN", 128));
  EXPECT_EQ_STR("Sales_EN", clean("Sales / EN", 128));
  EXPECT_EQ_STR("a.b-c_d", clean("a.b-c_d", 128));
  EXPECT_EQ_STR("unknown", clean("", 128));
  EXPECT_EQ_STR("unknown", clean(NULL, 128));
  EXPECT_EQ_STR("_x", clean("\"x\"", 128));
  EXPECT_EQ_STR("Ventes_Fran\xc3\xa7"
                "ais",
                clean("Ventes Fran\xc3\xa7"
                      "ais",
                      128));
  /* Cut inside the two-byte "ç": the lead byte goes too. */
  EXPECT_EQ_STR("Fran", clean("Fran\xc3\xa7"
                              "ais",
                              6));
  EXPECT_EQ_STR("abc", clean("abc\n\t", 128));
  /* A byte of no UTF-8 character (raw 0xff, a lone continuation, a cut or
   * overlong sequence, a surrogate) and the C1 controls (U+0085 …) become
   * '_': a label of invalid UTF-8 takes a Prometheus target down. */
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xffMenu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\x80\xbfMenu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xc3Menu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xc0\xafMenu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xed\xa0\x80Menu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xc2\x85Menu", 128));
  EXPECT_EQ_STR("Ivr_Menu", clean("Ivr\xc2\x9f\xc2\x80Menu", 128));
  EXPECT_EQ_STR("_", clean("\xff\xfe", 128));
  /* U+00A0 and later are text: kept whole. */
  EXPECT_EQ_STR("a\xc2\xa0"
                "b\xe2\x82\xac",
                clean("a\xc2\xa0"
                      "b\xe2\x82\xac",
                      128));
  /* Cut before a four-byte character that does not fit. */
  EXPECT_EQ_STR("ab", clean("ab\xf0\x9f\x98\x80", 6));
  return 0;
}

DEF_TEST(dispatch_identity) {
  mock_values_reset();
  gen_ident_t id = {.host = "acme org",
                    .plugin = "genesys_realtime",
                    .plugin_instance = "Sales EN",
                    .type = "waiting",
                    .type_instance = "voice"};
  CHECK_ZERO(gen_dispatch_gauge(&id, 3, TIME_T_TO_CDTIME_T(1000), 0));
  mock_value_t *v = mock_find("Sales_EN", "waiting", "voice");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_STR("acme_org", v->host);
  EXPECT_EQ_STR("genesys_realtime", v->plugin);
  EXPECT_EQ_DOUBLE(3, v->value.gauge);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(1000), v->time);
  /* No host: collectd's hostname; no type instance: empty. */
  gen_ident_t bare = {.plugin = "genesys_analytics", .type = "api_up"};
  CHECK_ZERO(gen_dispatch_derive(&bare, 7, 0, 0));
  v = mock_find("", "api_up", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_STR("example.com", v->host);
  EXPECT_EQ_INT(7, v->value.derive);
  return 0;
}

DEF_TEST(self_metrics) {
  mock_values_reset();
  gen_stats_t stats;
  gen_stats_init(&stats);
  gen_stats_count_request(&stats, 200);
  gen_stats_count_request(&stats, 200);
  gen_stats_count_request(&stats, 429);
  gen_stats_count_request(&stats, 0);
  atomic_store(&stats.ratelimit_allowed, 300);
  atomic_store(&stats.ratelimit_count, 75);
  gen_stats_dispatch(&stats, "acme", "genesys_analytics");
  mock_value_t *v = mock_find("self", "api_requests", "200");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(2, v->value.derive);
  v = mock_find("self", "api_requests", "transport_error");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(1, v->value.derive);
  v = mock_find("self", "api_rate_limited", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(1, v->value.derive);
  v = mock_find("self", "api_ratelimit_headroom", "");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_DOUBLE(0.75, v->value.gauge);
  OK(mock_find("self", "api_requests", "404") == NULL);
  return 0;
}

/* A thread without a plugin context, as libmicrohttpd's threads and the
 * receiver's worker are: dispatches one value of plugin with neither time
 * nor interval. */
static void *contextless(void *plugin) {
  plugin_set_ctx((plugin_ctx_t){0});
  gen_ident_t id = {.plugin = plugin,
                    .plugin_instance = plugin,
                    .type = "flow_metric_attribute",
                    .type_instance = "m"};
  gen_dispatch_derive(&id, 1, 0, 0);
  return NULL;
}

static mock_value_t *from_thread(const char *plugin) {
  pthread_t t;
  if (pthread_create(&t, NULL, contextless, (void *)plugin) != 0)
    return NULL;
  pthread_join(t, NULL);
  return mock_find(plugin, "flow_metric_attribute", "m");
}

DEF_TEST(interval_without_context) {
  mock_values_reset();
  mock_log_reset();
  cdtime_t s30 = TIME_T_TO_CDTIME_T(30), s20 = TIME_T_TO_CDTIME_T(20);
  /* The mock is collectd: a value without an interval from such a thread
   * makes plugin_get_interval() complain. */
  plugin_set_ctx((plugin_ctx_t){0});
  value_t raw = {.derive = 1};
  value_list_t vl = {.values = &raw, .values_len = 1};
  sstrncpy(vl.plugin, "raw", sizeof(vl.plugin));
  sstrncpy(vl.type, "flow_metric_attribute", sizeof(vl.type));
  plugin_dispatch_values(&vl);
  OK(mock_log_contains("plugin_get_interval"));
  mock_log_reset();

  /* The configuration callback runs in the plugin's context (here its
   * LoadPlugin Interval 30): what its threads dispatch later gets 30 s. */
  plugin_set_ctx((plugin_ctx_t){.interval = s30});
  gen_dispatch_learn_interval("genesys_a");
  mock_value_t *v = from_thread("genesys_a");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_UINT64(s30, v->sent_interval);
  OK(v->sent_time != 0);
  EXPECT_EQ_UINT64(s30, v->interval);

  /* Learnt from any dispatch in a context too (every read's self-metrics),
   * and the latest wins. */
  plugin_set_ctx((plugin_ctx_t){.interval = s20});
  CHECK_ZERO(gen_dispatch_self(NULL, "genesys_a", "flows", NULL, false, 1));
  EXPECT_EQ_UINT64(s20, mock_find("self", "flows", "")->sent_interval);
  v = from_thread("genesys_a");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_UINT64(s20, v->sent_interval);

  /* A plugin never seen in a context: collectd's default 10 s. */
  v = from_thread("genesys_b");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(10), v->sent_interval);
  OK(v->sent_time != 0);

  /* Explicit time and interval are kept. */
  gen_ident_t id = {.plugin = "genesys_a", .type = "api_up"};
  CHECK_ZERO(gen_dispatch_gauge(&id, 1, TIME_T_TO_CDTIME_T(1000),
                                TIME_T_TO_CDTIME_T(60)));
  v = mock_find("", "api_up", "");
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(1000), v->sent_time);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(60), v->sent_interval);

  OK(!mock_log_contains("plugin_get_interval"));
  plugin_set_ctx((plugin_ctx_t){.interval = TIME_T_TO_CDTIME_T(10)});
  return 0;
}

typedef struct {
  gen_ident_t id;
  cdtime_t time;
  int status;
} order_job_t;

static void *dispatch_ordered(void *arg) {
  order_job_t *job = arg;
  gen_dispatch_order_begin();
  job->status = gen_dispatch_gauge(&job->id, 2, job->time, 0);
  gen_dispatch_order_end();
  return NULL;
}

/* In an ordered section a series' second value waits until the first has
 * been through the write callbacks; other series and values outside a
 * section do not wait. */
DEF_TEST(ordered_dispatch) {
  mock_values_reset();
  CHECK_ZERO(gen_dispatch_order_init());
  CHECK_ZERO(gen_dispatch_order_init()); /* once is enough, twice is fine */
  gen_ident_t a = {.plugin = "genesys_analytics",
                   .plugin_instance = "q1",
                   .type = "offered",
                   .type_instance = "voice"};
  gen_ident_t b = a;
  b.plugin_instance = "q2";
  uint64_t waits = gen_dispatch_order_waits();
  mock_writes_held = true;
  gen_dispatch_order_begin();
  CHECK_ZERO(gen_dispatch_gauge(&a, 1, TIME_T_TO_CDTIME_T(60), 0));
  CHECK_ZERO(gen_dispatch_gauge(&b, 1, TIME_T_TO_CDTIME_T(60), 0));
  gen_dispatch_order_end();
  /* Outside a section: not held back. */
  CHECK_ZERO(gen_dispatch_gauge(&a, 5, TIME_T_TO_CDTIME_T(30), 0));
  EXPECT_EQ_INT(3, (int)mock_values_num);

  order_job_t job = {.id = a, .time = TIME_T_TO_CDTIME_T(120)};
  pthread_t t;
  CHECK_ZERO(pthread_create(&t, NULL, dispatch_ordered, &job));
  struct timespec pause = {.tv_nsec = 100 * 1000 * 1000};
  nanosleep(&pause, NULL);
  /* Still waiting for q1's first value to leave the queue. */
  EXPECT_EQ_INT(3, (int)mock_values_num);
  mock_writes_held = false;
  mock_writes_release();
  CHECK_ZERO(pthread_join(t, NULL));
  CHECK_ZERO(job.status);
  EXPECT_EQ_INT(4, (int)mock_values_num);
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(120), mock_values[3].time);
  EXPECT_EQ_UINT64(waits + 1, gen_dispatch_order_waits());
  return 0;
}

typedef struct {
  gen_ident_t id;
  atomic_bool dispatched, drained;
  int status;
} drain_job_t;

static void *dispatch_and_drain(void *arg) {
  drain_job_t *job = arg;
  gen_dispatch_order_begin();
  gen_dispatch_gauge(&job->id, 7, TIME_T_TO_CDTIME_T(180), 0);
  gen_dispatch_order_end();
  atomic_store(&job->dispatched, true);
  job->status = gen_dispatch_order_drain();
  atomic_store(&job->drained, true);
  return NULL;
}

/* A drain returns once the thread's ordered values went through the write
 * callbacks; while the queue stands still it gives up after 2 s, and the
 * values are waited for again at the next drain. */
DEF_TEST(order_drain) {
  mock_values_reset();
  CHECK_ZERO(gen_dispatch_order_init());
  CHECK_ZERO(gen_dispatch_order_drain()); /* nothing dispatched: at once */
  drain_job_t job = {.id = {.plugin = "genesys_analytics",
                            .plugin_instance = "q3",
                            .type = "offered",
                            .type_instance = "voice"}};
  mock_writes_held = true;
  pthread_t t;
  CHECK_ZERO(pthread_create(&t, NULL, dispatch_and_drain, &job));
  while (!atomic_load(&job.dispatched))
    sched_yield();
  struct timespec pause = {.tv_nsec = 200 * 1000 * 1000};
  nanosleep(&pause, NULL);
  OK(!atomic_load(&job.drained)); /* the value is still in the queue */
  mock_writes_held = false;
  mock_writes_release();
  CHECK_ZERO(pthread_join(t, NULL));
  EXPECT_EQ_INT(0, job.status);

  /* A queue that stands still. */
  gen_ident_t c = job.id;
  c.plugin_instance = "q4";
  mock_writes_held = true;
  gen_dispatch_order_begin();
  CHECK_ZERO(gen_dispatch_gauge(&c, 1, TIME_T_TO_CDTIME_T(60), 0));
  gen_dispatch_order_end();
  EXPECT_EQ_INT(-ETIMEDOUT, gen_dispatch_order_drain());
  mock_writes_held = false;
  mock_writes_release();
  CHECK_ZERO(gen_dispatch_order_drain());
  CHECK_ZERO(gen_dispatch_order_drain());
  return 0;
}

/* A write path that stands still (a writer blocked) is waited for 2 s,
 * then values are queued without waiting until it moves again: the read
 * goes on, and a drain still says the values have not left. */
DEF_TEST(order_still_path) {
  mock_values_reset();
  CHECK_ZERO(gen_dispatch_order_init());
  gen_ident_t a = {.plugin = "genesys_analytics",
                   .plugin_instance = "q5",
                   .type = "offered",
                   .type_instance = "voice"};
  gen_ident_t b = a;
  b.plugin_instance = "q6";
  mock_writes_held = true;
  gen_dispatch_order_begin();
  CHECK_ZERO(gen_dispatch_gauge(&a, 1, TIME_T_TO_CDTIME_T(60), 0));
  CHECK_ZERO(gen_dispatch_gauge(&b, 1, TIME_T_TO_CDTIME_T(60), 0));
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_ZERO(gen_dispatch_gauge(&a, 2, TIME_T_TO_CDTIME_T(120), 0)); /* 2 s */
  clock_gettime(CLOCK_MONOTONIC, &t1);
  OK(t1.tv_sec - t0.tv_sec >= 1);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_ZERO(
      gen_dispatch_gauge(&b, 2, TIME_T_TO_CDTIME_T(120), 0)); /* at once */
  clock_gettime(CLOCK_MONOTONIC, &t1);
  OK(t1.tv_sec - t0.tv_sec < 1);
  gen_dispatch_order_end();
  EXPECT_EQ_INT(4, (int)mock_values_num);
  OK(mock_log_contains("write queue has not moved"));
  EXPECT_EQ_INT(-ETIMEDOUT, gen_dispatch_order_drain());
  mock_writes_held = false;
  mock_writes_release();
  CHECK_ZERO(gen_dispatch_order_drain());
  return 0;
}

/* Values that never reach the write callbacks (a PostCacheChain writing
 * to chosen plugins only): the path looks still, a drain says so, and once
 * it stood still long enough (30 s; shortened here) ordering gives up, so
 * that state files are written again. Pauses ordering for an hour of the
 * mock clock, which the test then moves past. */
DEF_TEST(order_never_seen) {
  mock_values_reset();
  CHECK_ZERO(gen_dispatch_order_init());
  gen_dispatch_order_patience(200, 800);
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1800000000);
  mock_time = t0;
  gen_ident_t a = {.plugin = "genesys_analytics",
                   .plugin_instance = "routed",
                   .type = "offered",
                   .type_instance = "voice"};
  mock_writes_dropped = true;
  gen_dispatch_order_begin();
  CHECK_ZERO(gen_dispatch_gauge(&a, 1, TIME_T_TO_CDTIME_T(60), 0));
  gen_dispatch_order_end();
  EXPECT_EQ_INT(-ETIMEDOUT, gen_dispatch_order_drain());
  struct timespec pause = {.tv_nsec = 900 * 1000 * 1000};
  nanosleep(&pause, NULL);
  CHECK_ZERO(gen_dispatch_order_drain()); /* given up */
  OK(mock_log_contains("values never reached the write plugins"));
  mock_writes_dropped = false;
  gen_dispatch_order_patience(2000, 30000);
  mock_time = t0 + TIME_T_TO_CDTIME_T(7200); /* the pause is over */
  return 0;
}

/* A value that never reaches the write callbacks while far more values
 * queued after it do (10,000: locks are unfair) was dropped: the next
 * value of its series does not wait for it, and ordering stops (warning).
 * Last: the pause lasts for the rest of the program. */
DEF_TEST(order_dropped_value) {
  mock_values_reset();
  CHECK_ZERO(gen_dispatch_order_init());
  gen_ident_t x = {.plugin = "genesys_analytics",
                   .plugin_instance = "dropped",
                   .type = "offered",
                   .type_instance = "voice"};
  gen_dispatch_order_begin();
  mock_writes_dropped = true;
  CHECK_ZERO(gen_dispatch_gauge(&x, 1, TIME_T_TO_CDTIME_T(60), 0));
  mock_writes_dropped = false;
  char name[32];
  for (int i = 0; i < 10100; i++) { /* these pass */
    snprintf(name, sizeof(name), "q%d", i);
    gen_ident_t other = x;
    other.plugin_instance = name;
    CHECK_ZERO(gen_dispatch_gauge(&other, 1, TIME_T_TO_CDTIME_T(60), 0));
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_ZERO(gen_dispatch_gauge(&x, 2, TIME_T_TO_CDTIME_T(120), 0));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  gen_dispatch_order_end();
  OK(t1.tv_sec - t0.tv_sec < 1); /* not waited for */
  OK(mock_log_contains("never reached the write plugins"));
  CHECK_ZERO(gen_dispatch_order_drain()); /* nothing counted any more */
  return 0;
}

/* Many write threads (collectd's, played by the mock) leave while two read
 * threads enter, wait and drain. stress_write, a write plugin registered
 * before the ordering callback, checks that each series' values come one
 * at a time, in time order. Its memory is plain on purpose: only ordering
 * (a value is dispatched once its series' previous one left) orders these
 * accesses between the write threads, so under TSan a missing
 * happens-before is a race reported. */
#define STRESS_READERS 2
#define STRESS_OWN 48    /* series of one reader */
#define STRESS_SHARED 16 /* series both readers dispatch */
#define STRESS_ROUNDS 60
static struct {
  cdtime_t last;
  unsigned seen;
} stress_own[STRESS_READERS][STRESS_OWN], stress_shared[STRESS_SHARED];
static atomic_uint stress_disorder, racing_written;
static atomic_uint stress_written[STRESS_READERS];

static int stress_write(const data_set_t *ds, const value_list_t *vl,
                        user_data_t *ud) {
  (void)ds;
  (void)ud;
  unsigned r = (unsigned)vl->values[0].gauge, s;
  if (sscanf(vl->plugin_instance, "stress%*u-%u", &s) == 1 &&
      r < STRESS_READERS && s < STRESS_OWN) {
    if (vl->time <= stress_own[r][s].last)
      atomic_fetch_add(&stress_disorder, 1);
    stress_own[r][s].last = vl->time;
    stress_own[r][s].seen++;
  } else if (sscanf(vl->plugin_instance, "shared-%u", &s) == 1 &&
             r < STRESS_READERS && s < STRESS_SHARED) {
    stress_shared[s].seen++;
  } else {
    if (strncmp(vl->plugin_instance, "racing-", strlen("racing-")) == 0)
      atomic_fetch_add(&racing_written, 1);
    return 0;
  }
  atomic_fetch_add(&stress_written[r], 1);
  return 0;
}

typedef struct {
  unsigned reader;
  int drain_failures; /* drains that did not return 0 */
  int unwritten;      /* drains returned before the values were written */
} stress_job_t;

static void *stress_read(void *arg) {
  stress_job_t *job = arg;
  char name[32];
  unsigned dispatched = 0;
  gen_dispatch_order_begin();
  for (int round = 1; round <= STRESS_ROUNDS; round++) {
    for (unsigned s = 0; s < STRESS_OWN + STRESS_SHARED; s++) {
      if (s < STRESS_OWN)
        snprintf(name, sizeof(name), "stress%u-%u", job->reader, s);
      else
        snprintf(name, sizeof(name), "shared-%u", s - STRESS_OWN);
      gen_ident_t id = {.plugin = "genesys_analytics",
                        .plugin_instance = name,
                        .type = "offered",
                        .type_instance = "voice"};
      if (gen_dispatch_gauge(&id, job->reader, TIME_T_TO_CDTIME_T(60 * round),
                             0) == 0)
        dispatched++;
    }
    if (round % 10 == 0) {
      if (gen_dispatch_order_drain() != 0)
        job->drain_failures++;
      else if (atomic_load(&stress_written[job->reader]) != dispatched)
        job->unwritten++;
    }
  }
  gen_dispatch_order_end();
  return NULL;
}

DEF_TEST(order_write_threads) {
  mock_values_reset();
  mock_log_reset();
  mock_writes_held = false; /* a failed test before may leave it */
  mock_writes_release();
  CHECK_ZERO(gen_dispatch_order_init());
  /* A slow sanitized run must not look like a still path. */
  gen_dispatch_order_patience(60000, 600000);
  CHECK_ZERO(mock_write_threads_start(5));
  stress_job_t jobs[STRESS_READERS];
  pthread_t t[STRESS_READERS];
  for (unsigned r = 0; r < STRESS_READERS; r++) {
    jobs[r] = (stress_job_t){.reader = r};
    CHECK_ZERO(pthread_create(&t[r], NULL, stress_read, &jobs[r]));
  }
  for (unsigned r = 0; r < STRESS_READERS; r++)
    CHECK_ZERO(pthread_join(t[r], NULL));
  mock_write_threads_stop();
  gen_dispatch_order_patience(2000, 30000);
  EXPECT_EQ_INT(0, (int)atomic_load(&stress_disorder));
  for (unsigned r = 0; r < STRESS_READERS; r++) {
    EXPECT_EQ_INT(0, jobs[r].drain_failures);
    EXPECT_EQ_INT(0, jobs[r].unwritten);
    EXPECT_EQ_INT(STRESS_ROUNDS * (STRESS_OWN + STRESS_SHARED),
                  (int)atomic_load(&stress_written[r]));
    for (unsigned s = 0; s < STRESS_OWN; s++)
      EXPECT_EQ_INT(STRESS_ROUNDS, (int)stress_own[r][s].seen);
  }
  for (unsigned s = 0; s < STRESS_SHARED; s++)
    EXPECT_EQ_INT(STRESS_ROUNDS * STRESS_READERS, (int)stress_shared[s].seen);
  OK(!mock_log_contains("write queue has not moved"));
  return 0;
}

/* Dispatches n ordered values of series racing-0.. racing-999, round after
 * round from *i on (a series' values wait for each other). */
static int racing_dispatch(int *i, int n) {
  char name[32];
  for (int end = *i + n; *i < end; (*i)++) {
    snprintf(name, sizeof(name), "racing-%d", *i % 1000);
    gen_ident_t id = {.plugin = "genesys_analytics",
                      .plugin_instance = name,
                      .type = "offered",
                      .type_instance = "voice"};
    int status =
        gen_dispatch_gauge(&id, 9, TIME_T_TO_CDTIME_T(60 * (1 + *i / 1000)), 0);
    if (status != 0)
      return status;
  }
  return 0;
}

/* With write threads: a dropped value is still found once far more values
 * counted in after it have left, and the give-up races values leaving (in
 * the queue at the time: their slots were emptied, they are not counted
 * twice nor below 0). After the pause, counting starts clean: values wait
 * for their series only, and a drain returns 0 at once (a count left over
 * would hold it until the path looks still). */
DEF_TEST(order_give_up_racing_writes) {
  mock_values_reset();
  mock_log_reset();
  mock_writes_held = false; /* a failed test before may leave it */
  mock_writes_release();
  CHECK_ZERO(gen_dispatch_order_init());
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1700000000);
  mock_time = t0;
  CHECK_ZERO(mock_write_threads_start(5));
  gen_ident_t x = {.plugin = "genesys_analytics",
                   .plugin_instance = "lost",
                   .type = "offered",
                   .type_instance = "voice"};
  gen_dispatch_order_begin();
  mock_writes_dropped = true;
  CHECK_ZERO(gen_dispatch_gauge(&x, 1, TIME_T_TO_CDTIME_T(60), 0));
  mock_writes_dropped = false;
  int i = 0;
  CHECK_ZERO(racing_dispatch(&i, 10100));
  while (atomic_load(&racing_written) < 10100)
    sched_yield();
  CHECK_ZERO(racing_dispatch(&i, 3000)); /* in the queue, leaving */
  OK(!mock_log_contains("never reached the write plugins"));
  CHECK_ZERO(gen_dispatch_gauge(&x, 2, TIME_T_TO_CDTIME_T(120), 0));
  OK(mock_log_contains("never reached the write plugins"));
  gen_dispatch_order_end();
  CHECK_ZERO(gen_dispatch_order_drain()); /* nothing counted any more */
  while (atomic_load(&racing_written) < 13100)
    sched_yield();

  mock_time = t0 + TIME_T_TO_CDTIME_T(7200); /* the pause is over */
  gen_dispatch_order_begin();
  CHECK_ZERO(racing_dispatch(&i, 3000));
  gen_dispatch_order_end();
  CHECK_ZERO(gen_dispatch_order_drain());
  EXPECT_EQ_INT(16100, (int)atomic_load(&racing_written));
  mock_write_threads_stop();
  OK(!mock_log_contains("write queue has not moved"));
  return 0;
}

/* At most one dispatch of a series per gap; the first one at once; a clock
 * that went back does not hold it. */
DEF_TEST(paced_dispatch) {
  const cdtime_t gap = MS_TO_CDTIME_T(100), t0 = TIME_T_TO_CDTIME_T(1000);
  cdtime_t sent = 0;
  OK(gen_dispatch_due(&sent, t0, gap));
  EXPECT_EQ_UINT64(t0, sent);
  OK(!gen_dispatch_due(&sent, t0 + gap - 1, gap));
  EXPECT_EQ_UINT64(t0, sent); /* not noted: the gap runs from t0 */
  OK(gen_dispatch_due(&sent, t0 + gap, gap));
  OK(gen_dispatch_due(&sent, t0, gap)); /* back in time */
  EXPECT_EQ_UINT64(t0, sent);
  OK(gen_dispatch_due(&sent, t0, 0)); /* no gap: always */

  /* Per key, as the time of each series. */
  gen_pace_t *p = gen_pace_new();
  CHECK_NOT_NULL(p);
  OK(gen_pace_due(p, "flow\x1fMenu", t0, gap));
  OK(!gen_pace_due(p, "flow\x1fMenu", t0 + gap / 2, gap));
  OK(gen_pace_due(p, "flow\x1fLang", t0 + gap / 2, gap));
  OK(!gen_pace_due(p, "flow\x1fLang", t0 + gap, gap));
  OK(gen_pace_due(p, "flow\x1fMenu", t0 + gap, gap));
  char key[32];
  int due = 0, held = 0;
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof(key), "series-%d", i);
    due += gen_pace_due(p, key, t0, gap);
  }
  EXPECT_EQ_INT(1000, due);
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof(key), "series-%d", i);
    held += !gen_pace_due(p, key, t0 + 1, gap);
  }
  EXPECT_EQ_INT(1000, held);
  gen_pace_free(p);
  gen_pace_free(NULL);
  return 0;
}

/* A value dispatched outside an ordered section is counted too (without
 * waiting): leaving, it empties its slot, which a counted value it shares
 * may still need. So a try after it waits for it. */
DEF_TEST(plain_values_counted) {
  mock_values_reset();
  CHECK_ZERO(gen_dispatch_order_init());
  gen_ident_t p = {.plugin = "genesys_platform",
                   .plugin_instance = "edge-1",
                   .type = "gauge",
                   .type_instance = "plain"};
  mock_writes_held = true;
  CHECK_ZERO(gen_dispatch_gauge(&p, 1, TIME_T_TO_CDTIME_T(60), 0));
  EXPECT_EQ_INT(-EBUSY, gen_dispatch_try_number(
                            &p, false, 2, TIME_T_TO_CDTIME_T(61), 0, false));
  mock_writes_held = false;
  mock_writes_release();
  CHECK_ZERO(
      gen_dispatch_try_number(&p, false, 2, TIME_T_TO_CDTIME_T(61), 0, false));
  EXPECT_EQ_INT(2, mock_values_num);
  return 0;
}

static void *release_later(void *arg) {
  (void)arg;
  struct timespec nap = {.tv_nsec = 100 * 1000 * 1000};
  nanosleep(&nap, NULL);
  mock_writes_held = false;
  mock_writes_release();
  return NULL;
}

/* In an ordered section (a read, which may wait) gen_dispatch_try_number
 * waits for the queued value as an ordered dispatch does, where -EBUSY
 * would skip a series sharing a slot with another at every read. */
DEF_TEST(try_in_a_section_waits) {
  mock_values_reset();
  CHECK_ZERO(gen_dispatch_order_init());
  gen_ident_t p = {.plugin = "genesys_flowmetrics",
                   .plugin_instance = "SalesIvr",
                   .type = "flow_executions",
                   .type_instance = "waited"};
  mock_writes_held = true;
  CHECK_ZERO(
      gen_dispatch_try_number(&p, true, 1, TIME_T_TO_CDTIME_T(60), 0, false));
  uint64_t waits = gen_dispatch_order_waits();
  pthread_t t;
  CHECK_ZERO(pthread_create(&t, NULL, release_later, NULL));
  gen_dispatch_order_begin();
  int status =
      gen_dispatch_try_number(&p, true, 2, TIME_T_TO_CDTIME_T(61), 0, false);
  gen_dispatch_order_end();
  pthread_join(t, NULL);
  CHECK_ZERO(status);
  EXPECT_EQ_UINT64(waits + 1, gen_dispatch_order_waits());
  EXPECT_EQ_INT(2, mock_values_num);
  CHECK_ZERO(gen_dispatch_order_drain());
  return 0;
}

/* gen_dispatch_try_number never waits: while a value of the series is
 * still queued it dispatches nothing (-EBUSY) unless forced, and once
 * those were written it dispatches. Values that never reach the write
 * callbacks: once the path stood still (2 s; 200 ms here) a value leaves
 * anyway, with a warning, and once it stood still for the give-up time
 * (30 s; 800 ms here) ordering gives up as a wait does. Pauses ordering
 * for an hour of the mock clock, which the test then moves past. */
DEF_TEST(try_without_waiting) {
  mock_values_reset();
  mock_log_reset();
  CHECK_ZERO(gen_dispatch_order_init());
  gen_dispatch_order_patience(200, 800);
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1900000000);
  mock_time = t0;
  gen_ident_t a = {.plugin = "genesys_realtime",
                   .plugin_instance = "tried",
                   .type = "waiting",
                   .type_instance = "voice"};
  mock_writes_held = true;
  CHECK_ZERO(gen_dispatch_try_number(&a, false, 1, t0 + 1, 0, false));
  EXPECT_EQ_INT(-EBUSY,
                gen_dispatch_try_number(&a, false, 2, t0 + 2, 0, false));
  EXPECT_EQ_INT(1, mock_values_num);
  CHECK_ZERO(gen_dispatch_try_number(&a, false, 3, t0 + 3, 0, true));
  EXPECT_EQ_INT(2, mock_values_num);
  mock_writes_held = false;
  mock_writes_release();
  CHECK_ZERO(gen_dispatch_try_number(&a, false, 4, t0 + 4, 0, false));
  EXPECT_EQ_INT(3, mock_values_num);
  EXPECT_EQ_DOUBLE(4, mock_values[2].value.gauge);

  mock_writes_dropped = true;
  CHECK_ZERO(gen_dispatch_try_number(&a, false, 5, t0 + 5, 0, false));
  EXPECT_EQ_INT(-EBUSY,
                gen_dispatch_try_number(&a, false, 6, t0 + 6, 0, false));
  struct timespec nap = {.tv_nsec = 300 * 1000 * 1000};
  nanosleep(&nap, NULL);
  CHECK_ZERO(gen_dispatch_try_number(&a, false, 6, t0 + 6, 0, false));
  EXPECT_EQ_INT(5, mock_values_num);
  OK(mock_log_contains("write queue has not moved for 2 s"));
  OK(!mock_log_contains("never reached the write plugins"));
  nap.tv_nsec = 600 * 1000 * 1000;
  nanosleep(&nap, NULL);
  CHECK_ZERO(gen_dispatch_try_number(&a, false, 7, t0 + 7, 0, false));
  EXPECT_EQ_INT(6, mock_values_num);
  OK(mock_log_contains("never reached the write plugins"));
  mock_writes_dropped = false;
  gen_dispatch_order_patience(2000, 30000);
  mock_time = t0 + TIME_T_TO_CDTIME_T(7200); /* the pause is over */
  return 0;
}

int main(void) {
  /* Before the ordering callback (registered by the first test using it),
   * as a write plugin is. */
  plugin_register_write("stress", stress_write, NULL);
  RUN_TEST(sanitize);
  RUN_TEST(dispatch_identity);
  RUN_TEST(self_metrics);
  RUN_TEST(interval_without_context);
  RUN_TEST(ordered_dispatch);
  RUN_TEST(order_drain);
  RUN_TEST(order_still_path);
  RUN_TEST(order_write_threads);
  RUN_TEST(order_give_up_racing_writes);
  RUN_TEST(paced_dispatch);
  mock_values_reset();
  RUN_TEST(order_never_seen);
  RUN_TEST(plain_values_counted);
  RUN_TEST(try_in_a_section_waits);
  RUN_TEST(try_without_waiting);
  RUN_TEST(order_dropped_value); /* last: it pauses ordering */
  mock_time = 0;
  END_TEST;
}
