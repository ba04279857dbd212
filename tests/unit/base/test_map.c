/* SPDX-License-Identifier: MIT */
/* Unit tests: the string hash map (growth, collisions, delete and
 * re-insert, iteration). */
#include "gen_map.h"

#include "gen_hash.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectd/core/testing.h"

#define N_KEYS 5000

/* The map holds key pointers: the keys live here. */
static char keys[N_KEYS][32];

static void make_keys(void) {
  /* Ids that differ only in their last characters, as entity ids and
   * times do. */
  for (int i = 0; i < N_KEYS; i++)
    snprintf(keys[i], sizeof(keys[i]), "queue-0000-%08d", i);
}

DEF_TEST(empty_map) {
  gen_map_t m = {0};
  EXPECT_EQ_INT(0, (int)gen_map_count(&m));
  OK(!gen_map_find(&m, "a", NULL));
  OK(gen_map_get(&m, "a") == NULL);
  EXPECT_EQ_INT(-ENOENT, gen_map_del(&m, "a", NULL));
  size_t pos = 0;
  OK(!gen_map_next(&m, &pos, NULL, NULL));
  gen_map_free(&m);
  return 0;
}

DEF_TEST(put_get_replace) {
  gen_map_t m = {0};
  int one = 1, two = 2;
  CHECK_ZERO(gen_map_put(&m, "one", &one));
  CHECK_ZERO(gen_map_put(&m, "two", &two));
  EXPECT_EQ_INT(2, (int)gen_map_count(&m));
  OK(gen_map_get(&m, "one") == &one);
  OK(gen_map_get(&m, "two") == &two);
  OK(gen_map_get(&m, "three") == NULL);
  OK(gen_map_get(&m, "") == NULL);
  /* A key equal to one held (another pointer) finds it and replaces. */
  char copy[] = "one";
  OK(gen_map_get(&m, copy) == &one);
  CHECK_ZERO(gen_map_put(&m, copy, &two));
  EXPECT_EQ_INT(2, (int)gen_map_count(&m));
  OK(gen_map_get(&m, "one") == &two);
  const char *key = NULL;
  size_t pos = 0;
  int seen_copy = 0;
  while (gen_map_next(&m, &pos, &key, NULL))
    seen_copy += key == copy;
  EXPECT_EQ_INT(1, seen_copy); /* the map now holds the new pointer */
  /* At half full a new key grows the table, a known one does not. */
  static char fill[6][8];
  for (int i = 0; i < 6; i++) {
    snprintf(fill[i], sizeof(fill[i]), "fill%d", i);
    CHECK_ZERO(gen_map_put(&m, fill[i], &one));
  }
  EXPECT_EQ_INT(8, (int)gen_map_count(&m));
  EXPECT_EQ_INT(16, (int)m.n_slots);
  CHECK_ZERO(gen_map_put(&m, "fill0", &two));
  EXPECT_EQ_INT(16, (int)m.n_slots);
  OK(gen_map_get(&m, "fill0") == &two);
  CHECK_ZERO(gen_map_del(&m, "fill0", NULL));
  for (int i = 1; i < 6; i++)
    CHECK_ZERO(gen_map_del(&m, fill[i], NULL));
  EXPECT_EQ_INT(2, (int)gen_map_count(&m));
  /* NULL is a value like any other: find tells it from absence. */
  CHECK_ZERO(gen_map_put(&m, "", NULL));
  void *v = &one;
  OK(gen_map_find(&m, "", &v));
  OK(v == NULL);
  EXPECT_EQ_INT(3, (int)gen_map_count(&m));
  gen_map_free(&m);
  EXPECT_EQ_INT(0, (int)gen_map_count(&m));
  OK(m.slots == NULL);
  return 0;
}

DEF_TEST(many_keys_grow) {
  make_keys();
  gen_map_t m = {0};
  for (int i = 0; i < N_KEYS; i++) {
    CHECK_ZERO(gen_map_put(&m, keys[i], &keys[i]));
    /* Half full at most, a power of two. */
    OK(m.count * 2 <= m.n_slots);
    OK((m.n_slots & (m.n_slots - 1)) == 0);
  }
  EXPECT_EQ_INT(N_KEYS, (int)gen_map_count(&m));
  for (int i = 0; i < N_KEYS; i++) {
    char probe[32];
    snprintf(probe, sizeof(probe), "queue-0000-%08d", i);
    OK(gen_map_get(&m, probe) == &keys[i]);
  }
  OK(gen_map_get(&m, "queue-0000-99999999") == NULL);
  gen_map_free(&m);
  return 0;
}

DEF_TEST(iteration_covers_every_key_once) {
  make_keys();
  gen_map_t m = {0};
  for (int i = 0; i < N_KEYS; i++)
    CHECK_ZERO(gen_map_put(&m, keys[i], (void *)&keys[i]));
  static int seen[N_KEYS];
  memset(seen, 0, sizeof(seen));
  size_t pos = 0, n = 0;
  const char *key;
  void *value;
  while (gen_map_next(&m, &pos, &key, &value)) {
    int i = (int)((char(*)[32])value - keys);
    OK(i >= 0 && i < N_KEYS);
    OK(key == keys[i]);
    seen[i]++;
    n++;
  }
  EXPECT_EQ_INT(N_KEYS, (int)n);
  for (int i = 0; i < N_KEYS; i++)
    if (seen[i] != 1)
      EXPECT_EQ_INT(1, seen[i]);
  gen_map_free(&m);
  return 0;
}

/* Every key the map should hold is found, and nothing else. */
static int check_contents(const gen_map_t *m, const int *present) {
  size_t n = 0;
  for (int i = 0; i < N_KEYS; i++) {
    void *v = NULL;
    bool found = gen_map_find(m, keys[i], &v);
    if (found != (present[i] != 0))
      return -1;
    if (found && v != &keys[i])
      return -1;
    n += found;
  }
  return n == gen_map_count(m) ? 0 : -1;
}

DEF_TEST(delete_then_reinsert) {
  make_keys();
  gen_map_t m = {0};
  static int present[N_KEYS];
  memset(present, 0, sizeof(present));
  for (int i = 0; i < N_KEYS; i++) {
    CHECK_ZERO(gen_map_put(&m, keys[i], &keys[i]));
    present[i] = 1;
  }
  /* Every third key out: the entries after each hole shift back and must
   * stay reachable. */
  for (int i = 0; i < N_KEYS; i += 3) {
    void *v = NULL;
    CHECK_ZERO(gen_map_del(&m, keys[i], &v));
    OK(v == &keys[i]);
    present[i] = 0;
  }
  EXPECT_EQ_INT(-ENOENT, gen_map_del(&m, keys[0], NULL));
  CHECK_ZERO(check_contents(&m, present));
  /* In again, and then a pseudo-random churn. */
  for (int i = 0; i < N_KEYS; i += 3) {
    CHECK_ZERO(gen_map_put(&m, keys[i], &keys[i]));
    present[i] = 1;
  }
  CHECK_ZERO(check_contents(&m, present));
  unsigned r = 12345;
  for (int round = 0; round < 20000; round++) {
    r = r * 1103515245u + 12345u;
    int i = (int)((r >> 8) % N_KEYS);
    if (present[i]) {
      CHECK_ZERO(gen_map_del(&m, keys[i], NULL));
      present[i] = 0;
    } else {
      CHECK_ZERO(gen_map_put(&m, keys[i], &keys[i]));
      present[i] = 1;
    }
  }
  CHECK_ZERO(check_contents(&m, present));
  /* Everything out: the table is empty, not just its count. */
  for (int i = 0; i < N_KEYS; i++)
    if (present[i])
      CHECK_ZERO(gen_map_del(&m, keys[i], NULL));
  EXPECT_EQ_INT(0, (int)gen_map_count(&m));
  size_t pos = 0;
  OK(!gen_map_next(&m, &pos, NULL, NULL));
  gen_map_free(&m);
  return 0;
}

DEF_TEST(delete_across_the_table_end) {
  /* Keys whose home is the last slots of a 16-slot table, and the first:
   * their probes wrap, and a delete must shift entries back across the
   * table's end. The map's slot is its mixed FNV-1a, as gen_map.c takes it. */
  static char wrap[8][32];
  int n = 0, at_end = 0, at_start = 0;
  for (int i = 0; n < 8; i++) {
    char key[32];
    snprintf(key, sizeof(key), "k%d", i);
    size_t home = (size_t)(gen_hash_mix64(gen_hash_fnv1a64(key)) & 15);
    if ((home == 15 && at_end < 5) || (home == 0 && at_start < 3)) {
      at_end += home == 15;
      at_start += home == 0;
      memcpy(wrap[n++], key, sizeof(key));
    }
  }
  for (int victim = 0; victim < 8; victim++) {
    gen_map_t m = {0};
    for (int i = 0; i < 8; i++)
      CHECK_ZERO(gen_map_put(&m, wrap[i], wrap[i]));
    EXPECT_EQ_INT(16, (int)m.n_slots);
    CHECK_ZERO(gen_map_del(&m, wrap[victim], NULL));
    for (int i = 0; i < 8; i++)
      OK(gen_map_get(&m, wrap[i]) == (i == victim ? NULL : wrap[i]));
    /* and back in */
    CHECK_ZERO(gen_map_put(&m, wrap[victim], wrap[victim]));
    for (int i = 0; i < 8; i++)
      OK(gen_map_get(&m, wrap[i]) == wrap[i]);
    EXPECT_EQ_INT(8, (int)gen_map_count(&m));
    gen_map_free(&m);
  }
  return 0;
}

int main(void) {
  RUN_TEST(empty_map);
  RUN_TEST(put_get_replace);
  RUN_TEST(many_keys_grow);
  RUN_TEST(iteration_covers_every_key_once);
  RUN_TEST(delete_then_reinsert);
  RUN_TEST(delete_across_the_table_end);
  END_TEST;
}
