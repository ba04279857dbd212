/* SPDX-License-Identifier: MIT */
/* Unit tests: recently seen ids (remembered, the last capacity ids always,
 * memory bounded, out of memory taken as new). */
#include "gen_recent.h"

#include <stdio.h>

#include "collectd/core/testing.h"

#define CAP 64

static const char *id_of(int i) {
  static char buf[4][48];
  static int next;
  char *s = buf[next++ % 4];
  /* EventBridge ids are UUIDs: they differ in the middle and at the end. */
  snprintf(s, sizeof(buf[0]), "4a1c%04x-7d3e-11ee-b962-0242ac12%04x", i, i);
  return s;
}

DEF_TEST(seen_ids_are_remembered) {
  gen_recent_t r;
  gen_recent_init(&r, CAP);
  OK(!gen_recent_has(&r, "e-1"));
  EXPECT_EQ_INT(0, (int)gen_recent_bytes(&r)); /* nothing before an id */
  OK(!gen_recent_seen(&r, "e-1"));
  OK(gen_recent_has(&r, "e-1"));
  OK(gen_recent_seen(&r, "e-1"));
  OK(!gen_recent_has(&r, "e-2"));
  OK(!gen_recent_has(&r, ""));
  OK(!gen_recent_seen(&r, "e-2"));
  OK(gen_recent_seen(&r, "e-2"));
  /* has() remembers nothing. */
  OK(!gen_recent_has(&r, "e-3"));
  OK(!gen_recent_has(&r, "e-3"));
  gen_recent_free(&r);
  OK(!gen_recent_has(&r, "e-1"));
  return 0;
}

/* After any number of ids, the last CAP are remembered; ids far older are
 * forgotten, and memory stops at two tables. */
DEF_TEST(last_ids_always_remembered_memory_bounded) {
  gen_recent_t r;
  gen_recent_init(&r, CAP);
  size_t most = 0, taken_as_seen = 0, forgotten = 0;
  for (int i = 0; i < 20 * CAP; i++) {
    taken_as_seen += gen_recent_seen(&r, id_of(i));
    for (int back = 0; back < CAP && back <= i; back++)
      forgotten += !gen_recent_has(&r, id_of(i - back));
    if (gen_recent_bytes(&r) > most)
      most = gen_recent_bytes(&r);
  }
  EXPECT_EQ_UINT64(0, taken_as_seen);
  EXPECT_EQ_UINT64(0, forgotten);
  EXPECT_EQ_UINT64(2 * 2 * CAP * sizeof(uint64_t), most);
  /* At most two generations back: the first ids are gone. */
  size_t remembered = 0;
  for (int i = 0; i < CAP; i++)
    remembered += gen_recent_has(&r, id_of(i));
  EXPECT_EQ_UINT64(0, remembered);
  /* A repeat is found in the previous generation too. */
  size_t in_current = r.count;
  OK(gen_recent_seen(&r, id_of(20 * CAP - in_current - 1)));
  EXPECT_EQ_UINT64(in_current, r.count);
  gen_recent_free(&r);
  return 0;
}

/* The capacity is rounded up to a power of two (the table mask). */
DEF_TEST(capacity_rounded_up) {
  gen_recent_t r;
  gen_recent_init(&r, 100);
  EXPECT_EQ_UINT64(128, r.capacity);
  for (int i = 0; i < 128; i++)
    gen_recent_seen(&r, id_of(i));
  EXPECT_EQ_UINT64(256 * sizeof(uint64_t), gen_recent_bytes(&r));
  gen_recent_seen(&r, id_of(128));
  EXPECT_EQ_UINT64(2 * 256 * sizeof(uint64_t), gen_recent_bytes(&r));
  gen_recent_free(&r);
  gen_recent_init(&r, 0);
  OK(!gen_recent_seen(&r, "a"));
  OK(gen_recent_seen(&r, "a"));
  OK(!gen_recent_seen(&r, "b"));
  OK(!gen_recent_has(&r, "c"));
  gen_recent_free(&r);
  return 0;
}

/* Out of memory (a table beyond what malloc gives, below 2^63 bytes for
 * valgrind): every id is new, and nothing is remembered. */
DEF_TEST(out_of_memory_is_not_seen) {
  gen_recent_t r;
  gen_recent_init(&r, (size_t)1 << 58);
  OK(!gen_recent_seen(&r, "e-1"));
  OK(!gen_recent_seen(&r, "e-1"));
  OK(!gen_recent_has(&r, "e-1"));
  EXPECT_EQ_INT(0, (int)gen_recent_bytes(&r));
  gen_recent_free(&r);
  return 0;
}

int main(void) {
  RUN_TEST(seen_ids_are_remembered);
  RUN_TEST(last_ids_always_remembered_memory_bounded);
  RUN_TEST(capacity_rounded_up);
  RUN_TEST(out_of_memory_is_not_seen);
  END_TEST;
}
