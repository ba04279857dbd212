/* SPDX-License-Identifier: MIT */
/* Unit tests: FNV-1a 64 stays bit-identical (shards and state files depend
 * on it) and the finaliser spreads it. */
#include "gen_config.h"
#include "gen_hash.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "collectd/core/testing.h"

DEF_TEST(fnv1a64_known_values) {
  /* The published FNV-1a 64 vectors. */
  EXPECT_EQ_UINT64(0xcbf29ce484222325ULL, gen_hash_fnv1a64(""));
  EXPECT_EQ_UINT64(0xaf63dc4c8601ec8cULL, gen_hash_fnv1a64("a"));
  EXPECT_EQ_UINT64(0x85944171f73967e8ULL, gen_hash_fnv1a64("foobar"));
  /* Continuing a hash is hashing the concatenation. */
  EXPECT_EQ_UINT64(gen_hash_fnv1a64("foobar"),
                   gen_hash_fnv1a64_str(gen_hash_fnv1a64("foo"), "bar"));
  EXPECT_EQ_UINT64(gen_hash_fnv1a64("foobar"),
                   gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, "foobar", 6));
  /* Bytes include what a string would stop at. */
  OK(gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, "a", 2) !=
     gen_hash_fnv1a64("a"));
  /* High bytes are unsigned, whatever char is. */
  EXPECT_EQ_UINT64(gen_hash_fnv1a64_byte(GEN_HASH_FNV1A64_INIT, 0xe9),
                   gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, "\xe9", 1));
  EXPECT_EQ_UINT64(
      gen_hash_fnv1a64("\xc3\xa9"),
      gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, "\xc3\xa9", 2));
  return 0;
}

DEF_TEST(shard_hash_is_pinned) {
  /* Agents of different versions share entities by this hash: a change
   * here moves entities between agents. */
  const char *id = "c3a2f1e0-5b4d-4e8a-9f7c-1d2e3f4a5b6c";
  EXPECT_EQ_UINT64(0xc0d41b0d3dc32e60ULL, gen_hash_id(id));
  EXPECT_EQ_UINT64(gen_hash_fnv1a64(id), gen_hash_id(id));
  gen_org_t org = {.shard_count = 3};
  org.shard_index = (unsigned)(0xc0d41b0d3dc32e60ULL % 3);
  OK(gen_org_owns(&org, id));
  org.shard_index = (org.shard_index + 1) % 3;
  OK(!gen_org_owns(&org, id));
  return 0;
}

DEF_TEST(mix64_known_values) {
  /* MurmurHash3's fmix64. */
  EXPECT_EQ_UINT64(0, gen_hash_mix64(0));
  EXPECT_EQ_UINT64(0xb456bcfc34c2cb2cULL, gen_hash_mix64(1));
  EXPECT_EQ_UINT64(0x2c22194922d1672bULL,
                   gen_hash_mix64(gen_hash_fnv1a64("foobar")));
  return 0;
}

DEF_TEST(mix64_spreads_low_bits) {
  /* Names differing only in their last character: after mixing, their
   * low 8 bits take many values. */
  char name[] = "queue/2026-05-14T10:00:0?";
  int seen[256] = {0}, distinct = 0;
  for (int c = 0; c < 64; c++) {
    name[sizeof(name) - 2] = (char)('0' + c);
    unsigned low = (unsigned)(gen_hash_mix64(gen_hash_fnv1a64(name)) & 0xff);
    distinct += seen[low]++ == 0;
  }
  OK(distinct > 32);
  return 0;
}

/* Unsigned order over the whole range: a difference would not fit int. */
DEF_TEST(cmp_orders_unsigned) {
  uint64_t h[] = {UINT64_MAX, 0, UINT64_C(1) << 63, 1, UINT64_C(1) << 63};
  qsort(h, 5, sizeof(*h), gen_hash_cmp);
  OK(h[0] == 0 && h[1] == 1 && h[2] == UINT64_C(1) << 63 &&
     h[3] == UINT64_C(1) << 63 && h[4] == UINT64_MAX);
  uint64_t key = UINT64_C(1) << 63;
  EXPECT_EQ_INT(0, gen_hash_cmp(&key, &h[2]));
  OK(gen_hash_cmp(&h[0], &h[4]) < 0 && gen_hash_cmp(&h[4], &h[0]) > 0);
  return 0;
}

int main(void) {
  RUN_TEST(fnv1a64_known_values);
  RUN_TEST(shard_hash_is_pinned);
  RUN_TEST(mix64_known_values);
  RUN_TEST(mix64_spreads_low_bits);
  RUN_TEST(cmp_orders_unsigned);
  END_TEST;
}
