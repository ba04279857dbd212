/* SPDX-License-Identifier: MIT */
/* Unit tests: the growable byte buffer (growth, limit, NUL, steal) and the
 * array growth under it. */
#include "gen_buf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectd/core/testing.h"

DEF_TEST(empty_buffer_reads_empty) {
  gen_buf_t b = GEN_BUF_INIT(100);
  EXPECT_EQ_STR("", gen_buf_str(&b));
  EXPECT_EQ_INT(0, (int)b.len);
  OK(gen_buf_steal(&b) == NULL);
  CHECK_ZERO(gen_buf_add(&b, "", 0));
  EXPECT_EQ_STR("", gen_buf_str(&b));
  OK(b.data != NULL);
  gen_buf_free(&b);
  OK(b.data == NULL);
  gen_buf_free(&b); /* twice is harmless */
  return 0;
}

DEF_TEST(grows_and_stays_terminated) {
  gen_buf_t b;
  gen_buf_init(&b, 1 << 20);
  char chunk[100];
  memset(chunk, 'x', sizeof(chunk));
  size_t reallocs = 0, last_cap = 0;
  for (int i = 0; i < 1000; i++) {
    chunk[0] = (char)('a' + i % 26);
    CHECK_ZERO(gen_buf_add(&b, chunk, sizeof(chunk)));
    EXPECT_EQ_INT((i + 1) * 100, (int)b.len);
    OK(b.data[b.len] == '\0');
    OK(b.cap > b.len);
    if (b.cap != last_cap)
      reallocs++, last_cap = b.cap;
  }
  /* Doubling: 100,000 bytes in a handful of allocations. */
  OK(reallocs < 16);
  EXPECT_EQ_INT(100000, (int)strlen(gen_buf_str(&b)));
  for (int i = 0; i < 1000; i++)
    OK(b.data[i * 100] == (char)('a' + i % 26));
  gen_buf_free(&b);
  return 0;
}

DEF_TEST(limit_counts_bytes_not_the_nul) {
  gen_buf_t b = GEN_BUF_INIT(10);
  CHECK_ZERO(gen_buf_add_str(&b, "12345"));
  EXPECT_EQ_INT(-E2BIG, gen_buf_add_str(&b, "678901"));
  /* The refused append left the buffer as it was. */
  EXPECT_EQ_STR("12345", gen_buf_str(&b));
  CHECK_ZERO(gen_buf_add_str(&b, "67890"));
  EXPECT_EQ_STR("1234567890", gen_buf_str(&b));
  OK(b.cap <= 11); /* never allocates past the limit and its NUL */
  EXPECT_EQ_INT(-E2BIG, gen_buf_add(&b, "x", 1));
  CHECK_ZERO(gen_buf_add(&b, "", 0));
  EXPECT_EQ_INT(-E2BIG, gen_buf_printf(&b, "%d", 1));
  /* A length that would wrap size_t is refused too. */
  EXPECT_EQ_INT(-E2BIG, gen_buf_add(&b, "x", SIZE_MAX));
  EXPECT_EQ_STR("1234567890", gen_buf_str(&b));
  gen_buf_free(&b);

  gen_buf_t zero = GEN_BUF_INIT(0);
  EXPECT_EQ_INT(-E2BIG, gen_buf_add(&zero, "x", 1));
  CHECK_ZERO(gen_buf_add(&zero, "", 0));
  EXPECT_EQ_STR("", gen_buf_str(&zero));
  gen_buf_free(&zero);

  /* A large limit allocates only what is used. */
  gen_buf_t big = GEN_BUF_INIT(SIZE_MAX);
  CHECK_ZERO(gen_buf_add_str(&big, "abc"));
  OK(big.cap < 4096);
  EXPECT_EQ_INT(-E2BIG, gen_buf_add(&big, "x", SIZE_MAX));
  gen_buf_free(&big);
  return 0;
}

DEF_TEST(printf_appends) {
  gen_buf_t b = GEN_BUF_INIT(1000);
  CHECK_ZERO(gen_buf_printf(&b, "%s=%d", "a", 1));
  CHECK_ZERO(gen_buf_printf(&b, ",%s=%05.1f", "b", 2.5));
  EXPECT_EQ_STR("a=1,b=002.5", gen_buf_str(&b));
  /* Longer than anything allocated so far. */
  CHECK_ZERO(gen_buf_printf(&b, "%600s", "end"));
  EXPECT_EQ_INT(11 + 600, (int)b.len);
  OK(strcmp(b.data + b.len - 3, "end") == 0);
  /* Exactly up to the limit, then one past it. */
  CHECK_ZERO(gen_buf_printf(&b, "%*s", 1000 - 611, ""));
  EXPECT_EQ_INT(1000, (int)b.len);
  EXPECT_EQ_INT(-E2BIG, gen_buf_printf(&b, "y"));
  EXPECT_EQ_INT(1000, (int)strlen(gen_buf_str(&b)));
  gen_buf_free(&b);
  return 0;
}

DEF_TEST(reset_keeps_memory_steal_hands_it_over) {
  gen_buf_t b = GEN_BUF_INIT(64);
  CHECK_ZERO(gen_buf_add_str(&b, "first"));
  char *data = b.data;
  size_t cap = b.cap;
  gen_buf_reset(&b);
  EXPECT_EQ_STR("", gen_buf_str(&b));
  EXPECT_EQ_INT(0, (int)b.len);
  OK(b.data == data && b.cap == cap);
  CHECK_ZERO(gen_buf_add_str(&b, "second"));
  char *text = gen_buf_steal(&b);
  EXPECT_EQ_STR("second", text);
  free(text);
  /* Empty again, limit kept. */
  OK(b.data == NULL && b.len == 0 && b.cap == 0);
  EXPECT_EQ_INT(64, (int)b.max);
  CHECK_ZERO(gen_buf_add_str(&b, "third"));
  EXPECT_EQ_STR("third", gen_buf_str(&b));
  gen_buf_free(&b);
  return 0;
}

DEF_TEST(grow_arrays) {
  int *items = NULL;
  size_t cap = 0;
  CHECK_ZERO(gen_grow((void **)&items, &cap, 1, sizeof(*items), 16));
  EXPECT_EQ_INT(16, (int)cap);
  int *before = items;
  CHECK_ZERO(gen_grow((void **)&items, &cap, 16, sizeof(*items), 16));
  OK(items == before && cap == 16); /* enough already: untouched */
  CHECK_ZERO(gen_grow((void **)&items, &cap, 17, sizeof(*items), 16));
  EXPECT_EQ_INT(32, (int)cap);
  CHECK_ZERO(gen_grow((void **)&items, &cap, 1000, sizeof(*items), 16));
  EXPECT_EQ_INT(1024, (int)cap);
  for (int i = 0; i < 1000; i++)
    items[i] = i;
  /* A size that overflows is refused, the array as it was. */
  before = items;
  EXPECT_EQ_INT(-E2BIG, gen_grow((void **)&items, &cap, SIZE_MAX / 2,
                                 sizeof(*items), 16));
  OK(items == before && cap == 1024);
  /* More than malloc can give (and below 2^63 bytes, which valgrind calls
   * a fishy size). */
  EXPECT_EQ_INT(-ENOMEM, gen_grow((void **)&items, &cap, SIZE_MAX / 64,
                                  sizeof(*items), 16));
  OK(items == before && cap == 1024 && items[999] == 999);
  free(items);
  return 0;
}

DEF_TEST(grow_arrays_up_to_a_ceiling) {
  double *items = NULL;
  size_t cap = 0;
  /* The first size is the ceiling when it is smaller. */
  CHECK_ZERO(gen_grow_max((void **)&items, &cap, 1, sizeof(*items), 256, 100));
  EXPECT_EQ_INT(100, (int)cap);
  free(items);
  items = NULL;
  cap = 0;
  CHECK_ZERO(gen_grow_max((void **)&items, &cap, 1, sizeof(*items), 8, 100));
  EXPECT_EQ_INT(8, (int)cap);
  CHECK_ZERO(gen_grow_max((void **)&items, &cap, 9, sizeof(*items), 8, 100));
  EXPECT_EQ_INT(16, (int)cap);
  CHECK_ZERO(gen_grow_max((void **)&items, &cap, 65, sizeof(*items), 8, 100));
  EXPECT_EQ_INT(100, (int)cap); /* 128 would pass the ceiling */
  items[99] = 1;
  EXPECT_EQ_INT(
      -E2BIG, gen_grow_max((void **)&items, &cap, 101, sizeof(*items), 8, 100));
  OK(cap == 100 && items[99] == 1);
  free(items);
  return 0;
}

/* JSON strings as json-c writes them (short escapes, \u00XX for the other
 * control characters, other bytes as they are); a string past the limit
 * leaves the buffer as it was. Whole numbers at both ends of int64. */
DEF_TEST(json_strings_and_integers) {
  gen_buf_t b = GEN_BUF_INIT(SIZE_MAX);
  CHECK_ZERO(gen_buf_add_json_string(&b, "Q\"4\\\xc3\xa9\t\n\r\b\f\x01/"));
  EXPECT_EQ_STR("\"Q\\\"4\\\\\xc3\xa9\\t\\n\\r\\b\\f\\u0001/\"",
                gen_buf_str(&b));
  gen_buf_reset(&b);
  CHECK_ZERO(gen_buf_add_json_string(&b, ""));
  EXPECT_EQ_STR("\"\"", gen_buf_str(&b));
  gen_buf_reset(&b);
  CHECK_ZERO(gen_buf_add_int64(&b, 0));
  CHECK_ZERO(gen_buf_add(&b, ",", 1));
  CHECK_ZERO(gen_buf_add_int64(&b, -42));
  CHECK_ZERO(gen_buf_add(&b, ",", 1));
  CHECK_ZERO(gen_buf_add_int64(&b, INT64_MAX));
  CHECK_ZERO(gen_buf_add(&b, ",", 1));
  CHECK_ZERO(gen_buf_add_int64(&b, INT64_MIN));
  EXPECT_EQ_STR("0,-42,9223372036854775807,-9223372036854775808",
                gen_buf_str(&b));
  gen_buf_free(&b);

  gen_buf_t small = GEN_BUF_INIT(8);
  CHECK_ZERO(gen_buf_add_str(&small, "ab"));
  EXPECT_EQ_INT(-E2BIG, gen_buf_add_json_string(&small, "c\td\te"));
  EXPECT_EQ_STR("ab", gen_buf_str(&small));
  EXPECT_EQ_INT(2, (int)small.len);
  gen_buf_free(&small);
  return 0;
}

/* Every copy stays whole and where it was while the pool fills block
 * after block, a string longer than a block included. */
DEF_TEST(pool_keeps_every_copy) {
  gen_pool_t pool = {0};
  const char *copies[3000];
  char text[64];
  for (int i = 0; i < 3000; i++) {
    snprintf(text, sizeof(text), "user-%d-0123456789abcdef0123456789", i);
    copies[i] = gen_pool_strdup(&pool, text);
    OK(copies[i] != NULL && copies[i] != text);
  }
  char *long_text = malloc(20000);
  OK(long_text != NULL);
  memset(long_text, 'x', 19999);
  long_text[19999] = '\0';
  const char *long_copy = gen_pool_strdup(&pool, long_text);
  const char *empty = gen_pool_strdup(&pool, "");
  const char *after = gen_pool_strdup(&pool, "after");
  char *room = gen_pool_alloc(&pool, 5); /* the caller's to write */
  OK(room != NULL);
  memcpy(room, "abcd", 5);
  for (int i = 0; i < 3000; i++) {
    snprintf(text, sizeof(text), "user-%d-0123456789abcdef0123456789", i);
    EXPECT_EQ_STR(text, copies[i]);
  }
  OK(long_copy != NULL && strcmp(long_copy, long_text) == 0);
  EXPECT_EQ_STR("", empty);
  EXPECT_EQ_STR("after", after);
  EXPECT_EQ_STR("abcd", room);
  free(long_text);
  gen_pool_free(&pool);
  OK(pool.head == NULL);
  gen_pool_free(&pool); /* freed twice: nothing */
  return 0;
}

/* base64 as RFC 4648's test vectors, back again, and what is refused:
 * unpadded text, a character outside the alphabet, padding inside. */
DEF_TEST(base64_both_ways) {
  static const char *plain[] = {"",     "f",     "fo",    "foo",
                                "foob", "fooba", "foobar"};
  static const char *coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (size_t i = 0; i < 7; i++) {
    gen_buf_t b = GEN_BUF_INIT(1024);
    CHECK_ZERO(gen_buf_add_base64(&b, plain[i], strlen(plain[i])));
    EXPECT_EQ_STR(coded[i], gen_buf_str(&b));
    free(b.data);
    char out[16];
    EXPECT_EQ_INT((int)strlen(plain[i]),
                  (int)gen_base64_decode(coded[i], strlen(coded[i]), out));
    OK(memcmp(out, plain[i], strlen(plain[i])) == 0);
  }
  char out[16];
  EXPECT_EQ_INT(-1, (int)gen_base64_decode("Zm9", 3, out));
  EXPECT_EQ_INT(-1, (int)gen_base64_decode("Zm9*", 4, out));
  EXPECT_EQ_INT(-1, (int)gen_base64_decode("Zg==Zg==", 8, out));
  return 0;
}

int main(void) {
  RUN_TEST(empty_buffer_reads_empty);
  RUN_TEST(base64_both_ways);
  RUN_TEST(grows_and_stays_terminated);
  RUN_TEST(limit_counts_bytes_not_the_nul);
  RUN_TEST(printf_appends);
  RUN_TEST(reset_keeps_memory_steal_hands_it_over);
  RUN_TEST(grow_arrays);
  RUN_TEST(grow_arrays_up_to_a_ceiling);
  RUN_TEST(json_strings_and_integers);
  RUN_TEST(pool_keeps_every_copy);
  END_TEST;
}
