/* SPDX-License-Identifier: MIT */
/* Unit tests: conversation counters (moments, transitions, wait buckets,
 * interval percentiles) and their state file (round trip, refusal of a
 * count we never wrote, buckets dropped under other WaitBuckets; saved
 * only when changed). */
#include "gen_conv_counts.h"
#include "gen_json.h"
#include "gen_state.h"
#include "plugin_mock.h"
#include "waits_bounds.h"

#include "collectd/core/testing.h"

#include <unistd.h>

DEF_TEST(moments_and_what_they_put) {
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  gen_conv_queue_t q = {0};
  gen_conv_counts_t *c = q.media[0] = calloc(1, sizeof(*c));
  uint64_t seed = 1;
  EXPECT_EQ_INT(b.n + 1,
                gen_conv_counts_record(&c[0], GEN_CONV_OFFERED, -1, &b, &seed));
  OK(c[0].seen);
  /* An answer after 12.5 s: buckets from le20 (index 2) on change. */
  EXPECT_EQ_INT(
      2, gen_conv_counts_record(&c[0], GEN_CONV_ANSWERED, 12500, &b, &seed));
  mock_puts_t p = {0};
  gen_conv_counts_put(&c[0], "voice", GEN_CONV_ANSWERED, 2, &b, mock_put, &p);
  /* conv_answered, its transition, buckets 2..7, the sum. */
  EXPECT_EQ_INT(2 + 6 + 1, p.n);
  EXPECT_EQ_DOUBLE(1, mock_puts_value(&p, "conv_answered/voice"));
  EXPECT_EQ_DOUBLE(
      1, mock_puts_value(&p, "conv_transitions/voice-alerting_to_connected"));
  EXPECT_EQ_DOUBLE(1, mock_puts_value(&p, "conv_wait_bucket/voice-le20"));
  EXPECT_EQ_DOUBLE(-1, mock_puts_value(&p, "conv_wait_bucket/voice-le10"));
  EXPECT_EQ_DOUBLE(12500, mock_puts_value(&p, "conv_wait_sum_ms/voice"));
  OK(p.derive[0]);
  /* Everything: every moment's counter and transition, every bucket. */
  p.n = 0;
  gen_conv_counts_put(&c[0], "voice", -1, 0, &b, mock_put, &p);
  EXPECT_EQ_DOUBLE(1, mock_puts_value(&p, "conv_offered/voice"));
  EXPECT_EQ_DOUBLE(0, mock_puts_value(&p, "conv_abandoned/voice"));
  EXPECT_EQ_DOUBLE(0, mock_puts_value(&p, "conv_wait_bucket/voice-le10"));
  EXPECT_EQ_INT(4 + 5 + (int)b.n + 1 + 1, p.n);
  gen_conv_queue_free(&q);
  EXPECT_EQ_PTR(NULL, q.media[0]);
  return 0;
}

DEF_TEST(wait_percentiles_nearest_rank) {
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  gen_conv_counts_t c = {0};
  uint64_t seed = 3;
  for (int i = 100; i >= 1; i--)
    gen_conv_counts_record(&c, GEN_CONV_ANSWERED, i * 1000, &b, &seed);
  EXPECT_EQ_INT(100, (int)c.waits.bucket[b.n]);
  EXPECT_EQ_INT(5, (int)c.waits.bucket[0]);  /* ≤ 5 s */
  EXPECT_EQ_INT(60, (int)c.waits.bucket[4]); /* ≤ 60 s */
  mock_puts_t p = {0};
  gen_conv_counts_put_interval(&c, "voice", mock_put, &p);
  EXPECT_EQ_DOUBLE(50, mock_puts_value(&p, "conv_wait_quantile/voice-p50"));
  EXPECT_EQ_DOUBLE(90, mock_puts_value(&p, "conv_wait_quantile/voice-p90"));
  EXPECT_EQ_DOUBLE(95, mock_puts_value(&p, "conv_wait_quantile/voice-p95"));
  EXPECT_EQ_DOUBLE(99, mock_puts_value(&p, "conv_wait_quantile/voice-p99"));
  EXPECT_EQ_DOUBLE(100, mock_puts_value(&p, "conv_wait_count/voice"));
  EXPECT_EQ_DOUBLE(5050, mock_puts_value(&p, "conv_wait_sum/voice"));
  OK(!p.derive[0]);
  /* A fresh interval: no percentiles of nothing. */
  p.n = 0;
  gen_conv_counts_put_interval(&c, "voice", mock_put, &p);
  EXPECT_EQ_INT(2, p.n);
  EXPECT_EQ_DOUBLE(0, mock_puts_value(&p, "conv_wait_count/voice"));
  gen_waits_release(&c.waits);
  return 0;
}

/* The counters stop at 2^53 rather than pass it, where the state file
 * would refuse them at the next start: the moments, the wait buckets and
 * the wait sum (a wait of an absurd timestamp is 1.7e12 ms). */
DEF_TEST(counts_stop_at_2_53) {
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  uint64_t seed = 5;
  gen_conv_counts_t c = {0};
  const int64_t max = GEN_JSON_EXACT_MAX;
  c.moments[GEN_CONV_ANSWERED] = max - 1;
  c.waits.bucket[b.n] = max;
  c.waits.sum_ms = max - 5;
  gen_conv_counts_record(&c, GEN_CONV_ANSWERED, 7000, &b, &seed);
  gen_conv_counts_record(&c, GEN_CONV_ANSWERED, 7000, &b, &seed);
  EXPECT_EQ_UINT64(max, c.moments[GEN_CONV_ANSWERED]);
  EXPECT_EQ_UINT64(max, c.waits.bucket[b.n]);
  EXPECT_EQ_UINT64(max, c.waits.sum_ms);
  EXPECT_EQ_UINT64(2, c.waits.bucket[1]);
  gen_waits_release(&c.waits);
  return 0;
}

static char dir[] = "/tmp/gen-cc-XXXXXX";
static char path[sizeof(dir) + 16];

static gen_conv_queue_t queues[2];
static const char *queue_ids[2] = {"q-1", "q-2"};
static const gen_conv_queue_t *each(void *ud, size_t i, const char **id) {
  (void)ud;
  *id = queue_ids[i];
  return i == 1 ? NULL : &queues[i];
}

static void write_text(const char *text) {
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

DEF_TEST(state_round_trip_and_refusals) {
  gen_org_t *org = mock_org("genesys_realtime");
  CHECK_NOT_NULL(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/cc.json", dir);
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  uint64_t seed = 5;
  queues[0].media[1] = calloc(1, sizeof(gen_conv_counts_t));
  /* allocated, never counted: not saved */
  queues[0].media[3] = calloc(1, sizeof(gen_conv_counts_t));
  gen_conv_counts_record(queues[0].media[1], GEN_CONV_OFFERED, -1, &b, &seed);
  gen_conv_counts_record(queues[0].media[1], GEN_CONV_ANSWERED, 7000, &b,
                         &seed);
  /* queues[1]: never counted */

  gen_conv_store_t st;
  gen_conv_store_load(&st, path, &b, org); /* no file: a fresh start */
  OK(st.restored == NULL);
  gen_buf_t text = GEN_BUF_INIT(SIZE_MAX);
  EXPECT_EQ_INT(0, gen_conv_store_print(&st, 2, each, NULL, &text));
  EXPECT_EQ_INT(0, gen_state_write(path, text.data, text.len));
  gen_buf_free(&text);
  gen_conv_store_free(&st);

  gen_conv_store_load(&st, path, &b, org);
  OK(st.same_bounds);
  OK(gen_conv_store_pending(&st, "q-1"));
  OK(!gen_conv_store_pending(&st, "q-2"));
  gen_conv_queue_t back = {0};
  EXPECT_EQ_INT(0, gen_conv_store_restore(&st, "q-1", &back));
  OK(!gen_conv_store_pending(&st, "q-1")); /* once */
  /* only the media types saved come back */
  CHECK_NOT_NULL(back.media[1]);
  OK(back.media[1]->seen);
  for (size_t m = 0; m < GEN_MEDIA_COUNT; m++)
    if (m != 1)
      EXPECT_EQ_PTR(NULL, back.media[m]);
  EXPECT_EQ_INT(1, back.media[1]->moments[GEN_CONV_OFFERED]);
  EXPECT_EQ_INT(1, back.media[1]->moments[GEN_CONV_ANSWERED]);
  EXPECT_EQ_INT(1, back.media[1]->waits.bucket[1]); /* le10 */
  EXPECT_EQ_INT(7000, back.media[1]->waits.sum_ms);
  gen_conv_queue_free(&back);
  gen_conv_store_free(&st);

  /* A queue not counted since is carried over by the next save. */
  gen_conv_store_load(&st, path, &b, org);
  gen_conv_queue_free(&queues[0]);
  EXPECT_EQ_INT(0, gen_conv_store_print(&st, 2, each, NULL, &text));
  json_object *doc = json_tokener_parse(gen_buf_str(&text));
  /* the text json-c writes of the same document */
  EXPECT_EQ_STR(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN),
                gen_buf_str(&text));
  gen_buf_free(&text);
  OK(json_object_object_get(json_object_object_get(doc, "queues"), "q-1") !=
     NULL);
  /* the bounds as doubles, as json-c wrote them before */
  json_object *bounds = json_object_object_get(doc, "bounds");
  EXPECT_EQ_INT((int)b.n, (int)json_object_array_length(bounds));
  OK(json_object_is_type(json_object_array_get_idx(bounds, 0),
                         json_type_double));
  EXPECT_EQ_DOUBLE(
      b.bound[0], json_object_get_double(json_object_array_get_idx(bounds, 0)));
  json_object_put(doc);
  gen_conv_store_free(&st);

  /* Other WaitBuckets: the counts come back, the buckets do not, and
   * what is left over is not carried under the new bounds. */
  gen_waits_bounds_t other = {.bound = {1}, .n = 1};
  mock_log_reset();
  gen_conv_store_load(&st, path, &other, org);
  OK(mock_log_contains("WaitBuckets changed"));
  OK(!st.same_bounds);
  EXPECT_EQ_INT(0, gen_conv_store_restore(&st, "q-1", &back));
  CHECK_NOT_NULL(back.media[1]);
  EXPECT_EQ_INT(1, back.media[1]->moments[GEN_CONV_OFFERED]);
  EXPECT_EQ_INT(0, back.media[1]->waits.bucket[1]);
  gen_conv_queue_free(&back);
  gen_conv_store_free(&st);

  /* A count we never wrote (1e300, beyond 2^53, below zero): that queue's
   * media type alone is refused, logged with why and counted; the others
   * are restored, and carried over by the next save without it (before,
   * the file was refused whole and every counter restarted). */
  write_text("{\"version\":1,\"bounds\":[5,10,20,30,60,120,300],\"queues\":"
             "{\"q-1\":{\"chat\":{\"m\":[1e300,0,0,0,0,0,0],"
             "\"b\":[0,0,0,0,0,0,0,0],\"w\":0},\"voice\":{\"m\":[3,2,0,0,0,"
             "0,0],\"b\":[0,0,0,0,0,0,0,0],\"w\":9007199254740993}},"
             "\"q-2\":{\"voice\":{\"m\":[4,0,0,0,0,0,0],"
             "\"b\":[0,0,0,0,0,0,0,0],\"w\":12}},\"q-3\":7}}");
  mock_log_reset();
  gen_conv_store_load(&st, path, &b, org);
  OK(mock_log_contains("queue q-1, chat: a count in it is out of range"));
  OK(mock_log_contains("queue q-1, voice: a count in it is out of range"));
  OK(mock_log_contains("queue q-3: not an object"));
  OK(!mock_log_contains("the conversation counters restart at zero"));
  EXPECT_EQ_INT(3, (int)st.refused);
  OK(gen_conv_store_pending(&st, "q-2"));
  EXPECT_EQ_INT(0, gen_conv_store_restore(&st, "q-2", &back));
  CHECK_NOT_NULL(back.media[0]);
  EXPECT_EQ_INT(4, back.media[0]->moments[GEN_CONV_OFFERED]);
  EXPECT_EQ_INT(12, back.media[0]->waits.sum_ms);
  gen_conv_queue_free(&back);
  EXPECT_EQ_INT(0, gen_conv_store_print(&st, 0, each, NULL, &text));
  OK(strstr(gen_buf_str(&text), "1e300") == NULL);
  OK(strstr(gen_buf_str(&text), "\"q-3\"") == NULL);
  gen_buf_free(&text);
  gen_conv_store_free(&st);
  write_text("{\"version\":2,\"queues\":{}}");
  mock_log_reset();
  gen_conv_store_load(&st, path, &b, org);
  OK(mock_log_contains("not a state file of this version"));
  OK(st.restored == NULL);
  write_text("{\"version\":1,\"bounds\":[5,10,20,30,60,120,300],\"queues\":"
             "{\"q-1\":{\"voice\":{\"m\":[1,0,0,0,0,0,0],"
             "\"b\":[0,0,0,0,0,0,0,0],\"w\":-4}}}}");
  mock_log_reset();
  gen_conv_store_load(&st, path, &b, org);
  OK(mock_log_contains("queue q-1, voice: a count in it is out of range"));
  EXPECT_EQ_INT(1, (int)st.refused);
  gen_conv_store_free(&st);
  unlink(path);
  rmdir(dir);
  gen_org_free(org);
  return 0;
}

/* Counters allocated and restored at first use; saved only when dirty; a
 * failed write logged, left dirty and tried again. */
DEF_TEST(store_counts_and_save) {
  gen_org_t *org = mock_org("genesys_realtime");
  snprintf(dir, sizeof(dir), "/tmp/gen-cc-XXXXXX"); /* used before */
  CHECK_NOT_NULL(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/cc.json", dir);
  gen_waits_bounds_t b;
  waits_bounds_default(&b);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  gen_ratelimit_t rl = GEN_RATELIMIT_INIT(60);
  uint64_t seed = 1;
  gen_conv_store_t st;
  gen_conv_store_load(&st, path, &b, org);
  gen_conv_queue_free(&queues[0]);
  gen_conv_counts_t *c = gen_conv_store_counts(&st, &queues[0], "q-1", 0);
  CHECK_NOT_NULL(c);
  OK(c == gen_conv_store_counts(&st, &queues[0], "q-1", 0)); /* once */
  /* only the media types used */
  EXPECT_EQ_PTR(NULL, queues[0].media[1]);
  OK(gen_conv_store_counts(&st, &queues[0], "q-1", -1) == NULL);
  OK(gen_conv_store_counts(&st, &queues[0], "q-1", GEN_MEDIA_COUNT) == NULL);
  gen_conv_counts_record(c, GEN_CONV_OFFERED, -1, &b, &seed);
  CHECK_ZERO(gen_conv_store_save(&st, &lock, 2, each, NULL, org, &rl));
  OK(access(path, F_OK) != 0); /* not dirty: nothing written */
  st.dirty = true;
  CHECK_ZERO(gen_conv_store_save(&st, &lock, 2, each, NULL, org, &rl));
  OK(access(path, F_OK) == 0 && !st.dirty);
  gen_conv_store_free(&st);
  gen_conv_queue_free(&queues[0]);

  /* Read back at the queue's first use, whichever media type it is. */
  gen_conv_store_load(&st, path, &b, org);
  c = gen_conv_store_counts(&st, &queues[0], "q-1", 2);
  CHECK_NOT_NULL(c);
  OK(!c->seen);
  CHECK_NOT_NULL(queues[0].media[0]);
  EXPECT_EQ_INT(1, queues[0].media[0]->moments[GEN_CONV_OFFERED]);
  /* A write that fails. */
  unlink(path);
  rmdir(dir);
  st.dirty = true;
  mock_log_reset();
  OK(gen_conv_store_save(&st, &lock, 2, each, NULL, org, &rl) < 0);
  OK(st.dirty);
  OK(mock_log_contains("cannot write"));
  EXPECT_EQ_INT(0, pthread_mutex_trylock(&lock));
  pthread_mutex_unlock(&lock);
  gen_conv_store_free(&st);
  gen_conv_queue_free(&queues[0]);
  gen_org_free(org);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  RUN_TEST(moments_and_what_they_put);
  RUN_TEST(wait_percentiles_nearest_rank);
  RUN_TEST(counts_stop_at_2_53);
  RUN_TEST(state_round_trip_and_refusals);
  RUN_TEST(store_counts_and_save);
  END_TEST;
}
