/* SPDX-License-Identifier: MIT */
/* Unit tests: secret redaction and rate-limited logging. */
#include "gen_log.h"
#include "plugin_mock.h"

#include <pthread.h>

#include "collectd/core/testing.h"

static cdtime_t fake_now;
static cdtime_t fake_clock(void) { return fake_now; }

DEF_TEST(redacts_registered_secret) {
  mock_log_reset();
  CHECK_ZERO(gen_redact_add("s3cr3t-value"));
  GEN_ERROR("test plugin: failed with s3cr3t-value and again s3cr3t-value!");
  OK(!mock_log_contains("s3cr3t-value"));
  OK(mock_log_contains("failed with " GEN_REDACTED " and again " GEN_REDACTED
                       "!"));
  gen_redact_remove("s3cr3t-value");
  GEN_ERROR("test plugin: s3cr3t-value");
  OK(mock_log_contains("test plugin: s3cr3t-value"));
  return 0;
}

DEF_TEST(redaction_cuts_long_lines_safely) {
  char buf[16] = "abcdSECRETxyz";
  CHECK_ZERO(gen_redact_add("SECRET"));
  gen_redact(buf, sizeof(buf));
  /* "abcd<redacted>xyz" is 17 bytes: cut, NUL-terminated, secret gone. */
  OK(strlen(buf) == sizeof(buf) - 1);
  OK(strstr(buf, "SECRET") == NULL);
  EXPECT_EQ_STR("abcd<redacted>x", buf);
  gen_redact_remove("SECRET");
  return 0;
}

DEF_TEST(short_secrets_are_not_registered) {
  mock_log_reset();
  CHECK_ZERO(gen_redact_add("ab"));
  GEN_ERROR("test plugin: about");
  OK(mock_log_contains("test plugin: about"));
  return 0;
}

DEF_TEST(rate_limited_logging) {
  gen_now = fake_clock;
  fake_now = TIME_T_TO_CDTIME_T(1000);
  gen_ratelimit_t rl = GEN_RATELIMIT_INIT(60);
  mock_log_reset();
  for (int i = 0; i < 5; i++)
    gen_log_limited(&rl, LOG_ERR, "test plugin: broken %d", i);
  EXPECT_EQ_INT(1, mock_log_num);
  fake_now += TIME_T_TO_CDTIME_T(61);
  gen_log_limited(&rl, LOG_ERR, "test plugin: broken again");
  EXPECT_EQ_INT(2, mock_log_num);
  OK(mock_log_contains("broken again (4 similar messages suppressed)"));
  return 0;
}

/* A channel thread and the read thread share limiters: 4 threads at once
 * log one line in the interval, and every other call is counted. */
#define HAMMER_THREADS 4
#define HAMMER_CALLS 20000

static void *hammer(void *rl) {
  for (int i = 0; i < HAMMER_CALLS; i++)
    gen_log_limited(rl, LOG_ERR, "test plugin: hammered");
  return NULL;
}

DEF_TEST(rate_limit_shared_by_threads) {
  gen_now = fake_clock;
  fake_now = TIME_T_TO_CDTIME_T(5000);
  gen_ratelimit_t rl = GEN_RATELIMIT_INIT(60);
  mock_log_reset();
  pthread_t t[HAMMER_THREADS];
  for (int i = 0; i < HAMMER_THREADS; i++)
    CHECK_ZERO(pthread_create(&t[i], NULL, hammer, &rl));
  for (int i = 0; i < HAMMER_THREADS; i++)
    pthread_join(t[i], NULL);
  EXPECT_EQ_INT(1, mock_log_num);
  fake_now += TIME_T_TO_CDTIME_T(61);
  gen_log_limited(&rl, LOG_ERR, "test plugin: after");
  EXPECT_EQ_INT(2, mock_log_num);
  char want[96];
  snprintf(want, sizeof(want), "after (%d similar messages suppressed)",
           HAMMER_THREADS * HAMMER_CALLS - 1);
  OK(mock_log_contains(want));
  return 0;
}

DEF_TEST(free_secret_accepts_null) {
  gen_free_secret(NULL);
  gen_free_secret(strdup("to be wiped"));
  return 0;
}

/* Secrets live in pages of their own, left out of core dumps; freeing
 * unmaps them; heap copies are still freed. */
DEF_TEST(secure_memory) {
  char *s = gen_secure_strdup("client-secret-123");
  CHECK_NOT_NULL(s);
  EXPECT_EQ_STR("client-secret-123", s);
  OK(gen_secure_owns(s));
  OK(mock_excluded_from_dumps(s));
  char *heap = strdup("heap-secret-456");
  OK(!gen_secure_owns(heap));
  OK(!mock_excluded_from_dumps(heap));
  gen_free_secret(heap);
  /* Large ones span pages. */
  char *big = gen_secure_alloc(10000);
  CHECK_NOT_NULL(big);
  OK(mock_excluded_from_dumps(big + 9999));
  gen_free_secret(big);
  gen_free_secret(s);
  OK(!gen_secure_owns(s));
  /* The redaction list keeps its copies there too. */
  CHECK_ZERO(gen_redact_add("redact-me-please"));
  gen_redact_remove("redact-me-please");
  return 0;
}

DEF_TEST(org_lines) {
  gen_now = fake_clock;
  fake_now = TIME_T_TO_CDTIME_T(5000);
  const gen_log_org_t who = {"test", "acme"};
  mock_log_reset();
  gen_log_org(&who, NULL, LOG_ERR, "cannot read %s", "it");
  OK(mock_log_contains("test plugin: Org \"acme\": cannot read it"));
  /* A message starting with a space continues the org's name. */
  gen_log_org(&who, NULL, LOG_ERR, " is configured twice");
  OK(mock_log_contains("test plugin: Org \"acme\" is configured twice"));
  /* No org (a test's or fuzzer's module): the message alone. */
  gen_log_org(NULL, NULL, LOG_ERR, "bare line");
  OK(mock_log_contains("bare line"));
  OK(!mock_log_contains("Org \"acme\": bare line"));
  EXPECT_EQ_INT(3, mock_log_num);
  /* With a limiter, repeats are held back and counted. */
  gen_ratelimit_t rl = GEN_RATELIMIT_INIT(60);
  mock_log_reset();
  for (int i = 0; i < 3; i++)
    gen_log_org(&who, &rl, LOG_WARNING, "flapping %d", i);
  EXPECT_EQ_INT(1, mock_log_num);
  fake_now += TIME_T_TO_CDTIME_T(61);
  gen_log_org(&who, &rl, LOG_WARNING, "flapping again");
  OK(mock_log_contains("test plugin: Org \"acme\": flapping again (2 "
                       "similar messages suppressed)"));
  return 0;
}

int main(void) {
  RUN_TEST(redacts_registered_secret);
  RUN_TEST(redaction_cuts_long_lines_safely);
  RUN_TEST(short_secrets_are_not_registered);
  RUN_TEST(rate_limited_logging);
  RUN_TEST(org_lines);
  RUN_TEST(rate_limit_shared_by_threads);
  RUN_TEST(free_secret_accepts_null);
  RUN_TEST(secure_memory);
  mock_log_reset();
  END_TEST;
}
