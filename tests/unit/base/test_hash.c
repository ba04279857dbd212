/* SPDX-License-Identifier: MIT */
/* Unit tests: FNV-1a 64 stays bit-identical (shards and state files depend
 * on it), the finaliser spreads it, and a hash's text reads back. */
#include "gen_buf.h"
#include "gen_config.h"
#include "gen_hash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
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

/* gen_buf_add_hex64 prints what "%016" PRIx64 prints, and gen_hex64_parse
 * reads it back, alone in a string or followed by more. */
DEF_TEST(hex64_round_trip) {
  const uint64_t v[] = {0,
                        1,
                        0xf,
                        0x10,
                        0x0123456789abcdefULL,
                        0xfedcba9876543210ULL,
                        UINT64_C(1) << 63,
                        gen_hash_fnv1a64("foobar"),
                        UINT64_MAX};
  for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
    gen_buf_t b = GEN_BUF_INIT(SIZE_MAX);
    CHECK_ZERO(gen_buf_add_str(&b, "h="));
    CHECK_ZERO(gen_buf_add_hex64(&b, v[i]));
    char want[32];
    snprintf(want, sizeof(want), "h=%016" PRIx64, v[i]);
    EXPECT_EQ_STR(want, gen_buf_str(&b));
    uint64_t got = ~v[i];
    OK(gen_hex64_parse(gen_buf_str(&b) + 2, &got, NULL));
    EXPECT_EQ_UINT64(v[i], got);
    /* Followed by more: read up to the 16th digit, end set there. */
    CHECK_ZERO(gen_buf_add_str(&b, " rest"));
    const char *end = NULL;
    got = ~v[i];
    OK(gen_hex64_parse(gen_buf_str(&b) + 2, &got, &end));
    EXPECT_EQ_UINT64(v[i], got);
    EXPECT_EQ_STR(" rest", end);
    gen_buf_free(&b);
  }
  uint64_t got = 0;
  OK(gen_hex64_parse("FEDCBA9876543210", &got, NULL));
  EXPECT_EQ_UINT64(0xfedcba9876543210ULL, got);
  OK(gen_hex64_parse("0123456789AbCdEf", &got, NULL));
  EXPECT_EQ_UINT64(0x0123456789abcdefULL, got);

  gen_buf_t small = GEN_BUF_INIT(20);
  CHECK_ZERO(gen_buf_add_str(&small, "abcde"));
  EXPECT_EQ_INT(-E2BIG, gen_buf_add_hex64(&small, 1));
  EXPECT_EQ_STR("abcde", gen_buf_str(&small));
  gen_buf_free(&small);
  return 0;
}

/* Anything but 16 hex digits is refused, and *out and *end stay as they
 * were. */
DEF_TEST(hex64_parse_rejects) {
  const char *bad[] = {
      "",
      "12",
      "0123456789abcde",   /* 15 */
      "0123456789abcdef0", /* 17 */
      "0x0123456789abcd",  /* 16 characters, "0x" among them */
      "0x0123456789abcdef",
      "0123456789abcdeg",
      "g123456789abcdef",
      " 123456789abcdef",
      "+123456789abcdef",
      "-123456789abcdef",
      "0123456789abcde ",
      "0123456789abcdef ",
      "0123456789abcdef\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    uint64_t got = 42;
    if (gen_hex64_parse(bad[i], &got, NULL))
      printf("# accepted \"%s\"\n", bad[i]);
    OK(!gen_hex64_parse(bad[i], &got, NULL));
    EXPECT_EQ_UINT64(42, got);
  }
  /* A string that ends early: nothing past its NUL is read as a digit. */
  const char early[] = "01234567\0"
                       "89abcdef";
  uint64_t got = 42;
  const char *end = NULL;
  OK(!gen_hex64_parse(early, &got, NULL));
  OK(!gen_hex64_parse(early, &got, &end));
  OK(!gen_hex64_parse(NULL, &got, NULL));
  OK(!gen_hex64_parse(NULL, &got, &end));
  OK(!gen_hex64_parse("0123456789abcdeX tail", &got, &end));
  EXPECT_EQ_UINT64(42, got);
  OK(end == NULL);
  /* With end, what follows is the caller's. */
  OK(gen_hex64_parse("0123456789abcdef0", &got, &end));
  EXPECT_EQ_STR("0", end);
  return 0;
}

int main(void) {
  RUN_TEST(fnv1a64_known_values);
  RUN_TEST(shard_hash_is_pinned);
  RUN_TEST(mix64_known_values);
  RUN_TEST(mix64_spreads_low_bits);
  RUN_TEST(cmp_orders_unsigned);
  RUN_TEST(hex64_round_trip);
  RUN_TEST(hex64_parse_rejects);
  END_TEST;
}
