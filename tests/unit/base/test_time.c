/* SPDX-License-Identifier: MIT */
/* Unit tests: ISO-8601 times, intervals, durations and buckets. */
#include "gen_time.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

DEF_TEST(time_parse_and_format) {
  int64_t ms;
  CHECK_ZERO(gen_time_parse("2026-05-14T10:00:00.000Z", &ms));
  EXPECT_EQ_UINT64(1778752800000ULL, (uint64_t)ms);
  CHECK_ZERO(gen_time_parse("2026-05-14T10:00:00Z", &ms));
  EXPECT_EQ_UINT64(1778752800000ULL, (uint64_t)ms);
  CHECK_ZERO(gen_time_parse("2026-05-14T12:00:00.5+02:00", &ms));
  EXPECT_EQ_UINT64(1778752800500ULL, (uint64_t)ms);
  CHECK_ZERO(gen_time_parse("2026-05-14T10:00", &ms));
  EXPECT_EQ_UINT64(1778752800000ULL, (uint64_t)ms);
  CHECK_ZERO(gen_time_parse("1970-01-01T00:00:00.001Z", &ms));
  EXPECT_EQ_INT(1, ms);
  CHECK_ZERO(gen_time_parse("2024-02-29T23:59:59.999Z", &ms));
  char buf[GEN_TIME_STRLEN];
  gen_time_format(ms, buf, sizeof(buf));
  EXPECT_EQ_STR("2024-02-29T23:59:59.999Z", buf);
  gen_time_format(1778752800000LL, buf, sizeof(buf));
  EXPECT_EQ_STR("2026-05-14T10:00:00.000Z", buf);
  return 0;
}

DEF_TEST(time_parse_rejects_garbage) {
  int64_t ms;
  const char *bad[] = {"",
                       "2026-05-14",
                       "2026-13-01T00:00:00Z",
                       "2026-02-30T00:00:00Z",
                       "2025-02-29T00:00:00Z",
                       "2026-05-14T24:00:00Z",
                       "2026-05-14T10:00:00Zjunk",
                       "2026-05-14T10:00:00.Z",
                       "20260514T100000Z",
                       "2026-05-14T10:00:00+2500"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad); i++) {
    printf("# %s\n", bad[i]);
    OK(gen_time_parse(bad[i], &ms) == -EINVAL);
  }
  OK(gen_time_parse(NULL, &ms) == -EINVAL);
  return 0;
}

DEF_TEST(interval_round_trip) {
  int64_t a, b;
  CHECK_ZERO(
      gen_interval_parse("2026-05-14T00:00:00Z/2026-05-14T12:00:00Z", &a, &b));
  EXPECT_EQ_INT(12 * 3600, (b - a) / 1000);
  char buf[GEN_INTERVAL_STRLEN];
  gen_interval_format(a, b, buf, sizeof(buf));
  EXPECT_EQ_STR("2026-05-14T00:00:00.000Z/2026-05-14T12:00:00.000Z", buf);
  OK(gen_interval_parse("2026-05-14T12:00:00Z/2026-05-14T00:00:00Z", &a, &b) ==
     -EINVAL);
  OK(gen_interval_parse("2026-05-14T12:00:00Z", &a, &b) == -EINVAL);
  return 0;
}

DEF_TEST(durations) {
  int64_t ms;
  CHECK_ZERO(gen_duration_parse("PT5M", &ms));
  EXPECT_EQ_INT(300000, ms);
  CHECK_ZERO(gen_duration_parse("PT1H", &ms));
  EXPECT_EQ_INT(3600000, ms);
  CHECK_ZERO(gen_duration_parse("P1D", &ms));
  EXPECT_EQ_INT(86400000, ms);
  CHECK_ZERO(gen_duration_parse("P1DT12H", &ms));
  EXPECT_EQ_INT(129600000, ms);
  CHECK_ZERO(gen_duration_parse("PT30S", &ms));
  EXPECT_EQ_INT(30000, ms);
  OK(gen_duration_parse("P1M", &ms) == -EINVAL); /* months vary */
  OK(gen_duration_parse("PT", &ms) == -EINVAL);
  OK(gen_duration_parse("5M", &ms) == -EINVAL);
  OK(gen_duration_parse("PT0M", &ms) == -EINVAL);
  OK(gen_duration_parse("PT5X", &ms) == -EINVAL);
  char buf[32];
  gen_duration_format(300000, buf, sizeof(buf));
  EXPECT_EQ_STR("PT5M", buf);
  gen_duration_format(3600000, buf, sizeof(buf));
  EXPECT_EQ_STR("PT1H", buf);
  gen_duration_format(86400000, buf, sizeof(buf));
  EXPECT_EQ_STR("P1D", buf);
  gen_duration_format(90000, buf, sizeof(buf));
  EXPECT_EQ_STR("PT90S", buf);
  return 0;
}

DEF_TEST(bucket_floor) {
  EXPECT_EQ_INT(0, gen_bucket_floor(299999, 300000));
  EXPECT_EQ_INT(300000, gen_bucket_floor(300000, 300000));
  EXPECT_EQ_INT(-300000, gen_bucket_floor(-1, 300000));
  int64_t t;
  CHECK_ZERO(gen_time_parse("2026-05-14T10:07:31Z", &t));
  char buf[GEN_TIME_STRLEN];
  gen_time_format(gen_bucket_floor(t, 900000), buf, sizeof(buf));
  EXPECT_EQ_STR("2026-05-14T10:00:00.000Z", buf);
  return 0;
}

/* A server's clock from its Date headers (whole seconds). */
DEF_TEST(clock_offset) {
  gen_clock_offset_t o = {0};
  EXPECT_EQ_INT(0, (int)gen_clock_offset(&o)); /* nothing noted */
  /* The same clock: the server's second holds our instant, whatever the
   * fraction: 0, however many answers. */
  for (int64_t t = 1000000; t < 1010000; t += 1370)
    gen_clock_offset_note(&o, t - t % 1000, t - 20, t + 20);
  EXPECT_EQ_INT(0, (int)gen_clock_offset(&o));
  /* Ours 5 s ahead (server = ours - 5000): one answer bounds it within a
   * second and its round trip ... */
  o = (gen_clock_offset_t){0};
  int64_t server = 2000300, ours = server + 5000;
  gen_clock_offset_note(&o, server - server % 1000, ours - 10, ours + 10);
  int64_t first = gen_clock_offset(&o);
  OK(first >= -5310 && first <= -4290);
  /* ... answers in other fractions of a second narrow it. */
  for (int k = 1; k < 20; k++) {
    server += 1000 + 97;
    ours = server + 5000;
    gen_clock_offset_note(&o, server - server % 1000, ours - 10, ours + 10);
  }
  int64_t narrowed = gen_clock_offset(&o);
  OK(o.lo <= -5000 && o.hi >= -5000); /* the truth within */
  OK(o.hi - o.lo < 100);              /* from 1020 */
  OK(narrowed >= -5050 && narrowed <= -4950);
  /* Our clock steps back 5 s (now right): the next answer starts again. */
  server += 1000;
  gen_clock_offset_note(&o, server - server % 1000, server - 10, server + 10);
  EXPECT_EQ_INT(0, (int)gen_clock_offset(&o));
  /* An answer had "before" it was asked (a step in between): ignored. */
  gen_clock_offset_note(&o, 5000000, 9000, 7000);
  EXPECT_EQ_INT(0, (int)gen_clock_offset(&o));
  return 0;
}

int main(void) {
  RUN_TEST(time_parse_and_format);
  RUN_TEST(time_parse_rejects_garbage);
  RUN_TEST(interval_round_trip);
  RUN_TEST(durations);
  RUN_TEST(bucket_floor);
  RUN_TEST(clock_offset);
  END_TEST;
}
