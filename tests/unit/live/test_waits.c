/* SPDX-License-Identifier: MIT */
/* Unit tests: the distribution of answered waits (buckets, sum, interval
 * percentiles from a bounded sample, labels, the WaitBuckets key). */
#include "gen_waits.h"
#include "plugin_mock.h"
#include "waits_bounds.h"

#include "collectd/core/testing.h"

DEF_TEST(cumulative_buckets_and_sum) {
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  EXPECT_EQ_INT(7, b.n);
  gen_waits_t w = {0};
  uint64_t seed = 1;
  EXPECT_EQ_INT(0, gen_waits_record(&w, &b, 5000, &seed)); /* le 5: ≤ */
  EXPECT_EQ_INT(1, gen_waits_record(&w, &b, 5001, &seed));
  EXPECT_EQ_INT(7, gen_waits_record(&w, &b, 301000, &seed)); /* +Inf */
  EXPECT_EQ_INT(0, gen_waits_record(&w, &b, 0, &seed));
  EXPECT_EQ_INT(2, w.bucket[0]);
  EXPECT_EQ_INT(3, w.bucket[1]);
  EXPECT_EQ_INT(3, w.bucket[6]);
  EXPECT_EQ_INT(4, w.bucket[7]);
  EXPECT_EQ_INT(311001, w.sum_ms);
  EXPECT_EQ_INT(4, w.interval_count);
  EXPECT_EQ_DOUBLE(311.001, w.interval_sum);
  gen_waits_next_interval(&w);
  EXPECT_EQ_INT(0, w.interval_count);
  EXPECT_EQ_INT(4, w.bucket[7]); /* counters stay */
  double q;
  OK(!gen_waits_quantiles(&w, (double[]){0.5}, 1, &q));
  gen_waits_release(&w);
  return 0;
}

DEF_TEST(percentiles_by_nearest_rank) {
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  gen_waits_t w = {0};
  uint64_t seed = 7;
  for (int i = 10; i >= 1; i--)
    gen_waits_record(&w, &b, i * 1000, &seed);
  double p[] = {0.1, 0.5, 0.55, 0.9, 1.0}, at[5];
  OK(gen_waits_quantiles(&w, p, 5, at));
  EXPECT_EQ_DOUBLE(1, at[0]);
  EXPECT_EQ_DOUBLE(5, at[1]);
  EXPECT_EQ_DOUBLE(6, at[2]); /* rank ceil(5.5) = 6 */
  EXPECT_EQ_DOUBLE(9, at[3]);
  EXPECT_EQ_DOUBLE(10, at[4]);
  gen_waits_release(&w);
  return 0;
}

DEF_TEST(the_sample_stays_bounded_and_uniform) {
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  gen_waits_t w = {0};
  uint64_t seed = 42;
  /* 100,000 waits of 0..99 s evenly: the sample holds at most
   * GEN_WAITS_SAMPLES of them, and its median is near 50 s. */
  for (int i = 0; i < 100000; i++)
    gen_waits_record(&w, &b, (int64_t)(i % 100) * 1000, &seed);
  EXPECT_EQ_INT(100000, w.interval_count);
  EXPECT_EQ_INT(GEN_WAITS_SAMPLES, w.n_samples);
  EXPECT_EQ_INT(GEN_WAITS_SAMPLES, w.cap_samples);
  double median;
  OK(gen_waits_quantiles(&w, (double[]){0.5}, 1, &median));
  OK(median >= 45 && median <= 55);
  /* Samples replaced, not appended: every one is a wait recorded. */
  for (size_t i = 0; i < w.n_samples; i++)
    OK(w.samples[i] >= 0 && w.samples[i] <= 99);
  gen_waits_release(&w);
  OK(w.samples == NULL);
  return 0;
}

DEF_TEST(bucket_labels) {
  gen_waits_bounds_t b = {{0.5, 5}, 2};
  char label[32];
  gen_waits_bucket_label(&b, 0, "voice", label, sizeof(label));
  EXPECT_EQ_STR("voice-le0.5", label);
  gen_waits_bucket_label(&b, 1, "voice", label, sizeof(label));
  EXPECT_EQ_STR("voice-le5", label);
  gen_waits_bucket_label(&b, 2, "chat", label, sizeof(label));
  EXPECT_EQ_STR("chat-le_inf", label);
  return 0;
}

DEF_TEST(wait_buckets_key_refuses_with_reasons) {
  gen_org_t *org = mock_org("genesys_test");
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  oconfig_item_t *ci = mock_ci_nums("WaitBuckets", 3, (double[]){0.5, 15, 45});
  EXPECT_EQ_INT(0, gen_waits_config_bounds(org, ci, &b));
  EXPECT_EQ_INT(3, b.n);
  EXPECT_EQ_DOUBLE(45, b.bound[2]);
  mock_ci_free(ci);
  /* Refused: the bounds before stay whole. */
  ci = mock_ci_nums("WaitBuckets", 3, (double[]){5, 5, 10});
  mock_log_reset();
  EXPECT_EQ_INT(-EINVAL, gen_waits_config_bounds(org, ci, &b));
  OK(mock_log_contains("each greater than the one before"));
  EXPECT_EQ_INT(3, b.n);
  EXPECT_EQ_DOUBLE(0.5, b.bound[0]);
  mock_ci_free(ci);
  ci = mock_ci_nums("WaitBuckets", 1, (double[]){-1});
  EXPECT_EQ_INT(-EINVAL, gen_waits_config_bounds(org, ci, &b));
  mock_ci_free(ci);
  double many[17];
  for (int i = 0; i < 17; i++)
    many[i] = i + 1;
  ci = mock_ci_nums("WaitBuckets", 17, many);
  mock_log_reset();
  EXPECT_EQ_INT(-EINVAL, gen_waits_config_bounds(org, ci, &b));
  OK(mock_log_contains("takes 1 to 16 bounds"));
  mock_ci_free(ci);
  ci = mock_ci_str("WaitBuckets", "5");
  EXPECT_EQ_INT(-EINVAL, gen_waits_config_bounds(org, ci, &b));
  mock_ci_free(ci);
  gen_org_free(org);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(cumulative_buckets_and_sum);
  RUN_TEST(percentiles_by_nearest_rank);
  RUN_TEST(the_sample_stays_bounded_and_uniform);
  RUN_TEST(bucket_labels);
  RUN_TEST(wait_buckets_key_refuses_with_reasons);
  END_TEST;
}
