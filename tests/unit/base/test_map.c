/* SPDX-License-Identifier: MIT */
/* Unit tests: the kit's hash maps (growth, collisions, delete and
 * re-insert, iteration) over strings, caseless strings and typed keys, the
 * 64-bit-keyed map, the index of an owner's items, and the composite
 * key. */
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
  const void *key = NULL;
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
  const void *key;
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

DEF_TEST(caseless_keys) {
  gen_map_t m = {.kind = GEN_MAP_CASELESS};
  int a = 1, b = 2;
  CHECK_ZERO(gen_map_put(&m, "v2.routing.queues.Q1.conversations", &a));
  OK(gen_map_get(&m, "V2.ROUTING.QUEUES.q1.CONVERSATIONS") == &a);
  OK(gen_map_get(&m, "v2.routing.queues.q2.conversations") == NULL);
  CHECK_ZERO(gen_map_put(&m, "v2.routing.QUEUES.q1.conversations", &b));
  EXPECT_EQ_INT(1, (int)gen_map_count(&m));
  CHECK_ZERO(gen_map_del(&m, "V2.routing.queues.Q1.conversations", NULL));
  EXPECT_EQ_INT(0, (int)gen_map_count(&m));
  gen_map_free(&m);
  EXPECT_EQ_INT(GEN_MAP_CASELESS, m.kind); /* the kind outlives the table */
  /* A map of strings tells the cases apart. */
  gen_map_t exact = {0};
  CHECK_ZERO(gen_map_put(&exact, "Q1", &a));
  OK(gen_map_get(&exact, "q1") == NULL);
  gen_map_free(&exact);
  return 0;
}

DEF_TEST(composite_key) {
  /* Field by field: parts that would join into the same text differ, a
   * NULL part is not "", and the number counts. */
  gen_key_t ab_c = {{"ab", "c"}, 0}, a_bc = {{"a", "bc"}, 0};
  gen_key_t ab_c2 = {{"ab", "c"}, 0}, ab_c_1 = {{"ab", "c"}, 1};
  gen_key_t ab_c_empty = {{"ab", "c", ""}, 0};
  char ab[] = "ab", c[] = "c";
  gen_key_t copy = {{ab, c}, 0};
  OK(gen_key_equal(&ab_c, &ab_c2));
  OK(gen_key_equal(&ab_c, &copy));
  OK(gen_key_hash(&ab_c) == gen_key_hash(&copy));
  OK(!gen_key_equal(&ab_c, &a_bc));
  OK(gen_key_hash(&ab_c) != gen_key_hash(&a_bc));
  OK(!gen_key_equal(&ab_c, &ab_c_1));
  OK(gen_key_hash(&ab_c) != gen_key_hash(&ab_c_1));
  OK(!gen_key_equal(&ab_c, &ab_c_empty));
  OK(gen_key_hash(&ab_c) != gen_key_hash(&ab_c_empty));
  return 0;
}

DEF_TEST(typed_keys) {
  make_keys();
  static gen_key_t k[N_KEYS];
  static const char *const media[] = {"voice", "chat", "email"};
  gen_map_t m = {.kind = GEN_MAP_KEY};
  for (int i = 0; i < N_KEYS; i++) {
    k[i] = (gen_key_t){{keys[i / 3], media[i % 3]}, i % 7};
    CHECK_ZERO(gen_map_put(&m, &k[i], &k[i]));
  }
  EXPECT_EQ_INT(N_KEYS, (int)gen_map_count(&m));
  for (int i = 0; i < N_KEYS; i++) {
    char id[32], medium[8];
    snprintf(id, sizeof(id), "%s", keys[i / 3]);
    snprintf(medium, sizeof(medium), "%s", media[i % 3]);
    gen_key_t probe = {{id, medium}, i % 7};
    OK(gen_map_get(&m, &probe) == &k[i]);
    probe.num++;
    OK(gen_map_get(&m, &probe) == NULL);
  }
  for (int i = 0; i < N_KEYS; i += 2)
    CHECK_ZERO(gen_map_del(&m, &k[i], NULL));
  for (int i = 0; i < N_KEYS; i++)
    OK(gen_map_get(&m, &k[i]) == (i % 2 ? &k[i] : NULL));
  gen_map_free(&m);
  return 0;
}

/* gen_index over keys[]: item i's key is keys[i]; a hash that lands every
 * key on a handful of homes (bad_hash) makes long runs, so that deletes
 * shift entries across the table's end. */
static bool bad_hash;
static uint64_t index_key_hash(const char *key) {
  return bad_hash ? gen_hash_fnv1a64(key) % 7 : gen_hash_fnv1a64(key);
}
static uint64_t index_hash(const void *owner, uint32_t item) {
  return index_key_hash(((const char(*)[32])owner)[item]);
}
static bool index_equal(const void *owner, uint32_t item, const void *key) {
  return strcmp(((const char(*)[32])owner)[item], key) == 0;
}
static const gen_index_ops_t index_ops = {index_hash, index_equal};

static int check_index(const gen_index_t *x, const int *present, int n) {
  size_t found = 0;
  for (int i = 0; i < n; i++) {
    int64_t item =
        gen_index_find(x, &index_ops, keys, keys[i], index_key_hash(keys[i]));
    if (item != (present[i] ? i : -1))
      return -1;
    found += item >= 0;
  }
  return found == gen_index_count(x) ? 0 : -1;
}

static int index_churn(int n) {
  gen_index_t x = {0};
  static int present[N_KEYS];
  memset(present, 0, sizeof(present));
  OK(gen_index_find(&x, &index_ops, keys, keys[0], index_key_hash(keys[0])) ==
     -1);
  EXPECT_EQ_INT(
      -ENOENT, gen_index_del(&x, &index_ops, keys, 0, index_key_hash(keys[0])));
  for (int i = 0; i < n; i += 2) {
    CHECK_ZERO(gen_index_add(&x, &index_ops, keys, (uint32_t)i,
                             index_key_hash(keys[i])));
    present[i] = 1;
  }
  CHECK_ZERO(check_index(&x, present, n));
  OK(x.n_slots >= 2 * x.count); /* grew past its first table */
  /* An absent item is not removed, even where its key's run is. */
  EXPECT_EQ_INT(
      -ENOENT, gen_index_del(&x, &index_ops, keys, 1, index_key_hash(keys[1])));
  unsigned r = 12345;
  for (int round = 0; round < 4 * n; round++) {
    r = r * 1103515245u + 12345u;
    int i = (int)((r >> 8) % (unsigned)n);
    if (present[i])
      CHECK_ZERO(gen_index_del(&x, &index_ops, keys, (uint32_t)i,
                               index_key_hash(keys[i])));
    else
      CHECK_ZERO(gen_index_add(&x, &index_ops, keys, (uint32_t)i,
                               index_key_hash(keys[i])));
    present[i] = !present[i];
  }
  CHECK_ZERO(check_index(&x, present, n));
  EXPECT_EQ_INT(-EINVAL,
                gen_index_add(&x, &index_ops, keys, GEN_INDEX_NONE, 0));
  /* Reserved room: the adds up to it do not move the table. */
  gen_index_free(&x);
  CHECK_ZERO(gen_index_reserve(&x, &index_ops, keys, (size_t)n));
  uint32_t *table = x.slots;
  for (int i = 0; i < n; i++)
    CHECK_ZERO(gen_index_add(&x, &index_ops, keys, (uint32_t)i,
                             index_key_hash(keys[i])));
  OK(x.slots == table);
  EXPECT_EQ_INT(n, (int)gen_index_count(&x));
  gen_index_free(&x);
  EXPECT_EQ_INT(0, (int)gen_index_count(&x));
  return 0;
}

/* The one text form of a key: strings joined by tabs, a number not 0 after
 * 0x1f; read back as written; a string that would not come back (a tab,
 * 0x1f) or a text that does not fit is refused, not cut. */
DEF_TEST(key_text_round_trip) {
  char text[64];
  gen_key_t back;
  gen_key_t plain = {{"Q1", "voice"}, 0};
  CHECK_ZERO(gen_key_text(&plain, text, sizeof(text)));
  EXPECT_EQ_STR("Q1\tvoice", text);
  OK(gen_key_parse(text, &back));
  OK(gen_key_equal(&plain, &back));
  gen_key_t num = {{"f-1", ""}, -12};
  CHECK_ZERO(gen_key_text(&num, text, sizeof(text)));
  EXPECT_EQ_STR("f-1\t\x1f-12", text);
  OK(gen_key_parse(text, &back));
  OK(gen_key_equal(&num, &back)); /* "" kept apart from NULL */
  gen_key_t tab = {{"a\tb"}, 0}, us = {{"a", "b\x1f"}, 0};
  OK(gen_key_text(&tab, text, sizeof(text)) == -EINVAL);
  OK(gen_key_text(&us, text, sizeof(text)) == -EINVAL);
  OK(gen_key_text(&plain, text, 8) == -ENAMETOOLONG); /* "Q1\tvoice": 9 */
  OK(gen_key_text(&num, text, 8) == -ENAMETOOLONG);   /* 8 and the NUL */
  /* Numbers only as written: a 0, a sign, a leading 0, a space, a second
   * separator, nothing. */
  const char *bad[] = {"a\x1f"
                       "0",
                       "a\x1f+5",
                       "a\x1f"
                       "05",
                       "a\x1f 5",
                       "a\x1f"
                       "5\x1f"
                       "b",
                       "a\x1f"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char copy[16];
    snprintf(copy, sizeof(copy), "%s", bad[i]);
    OK(!gen_key_parse(copy, &back));
  }
  /* Past GEN_KEY_STRS strings, the last keeps its tabs. */
  char many[] = "a\tb\tc\td\te";
  OK(gen_key_parse(many, &back));
  EXPECT_EQ_STR("d\te", back.str[GEN_KEY_STRS - 1]);
  return 0;
}

static int values_freed;
static void free_counted(void *v) {
  values_freed++;
  free(v);
}

/* Every value freed once, the map left empty of its kind. */
DEF_TEST(free_values) {
  gen_map_t m = {.kind = GEN_MAP_STR};
  const char *names[] = {"a", "b", "c"};
  for (size_t i = 0; i < 3; i++)
    CHECK_ZERO(gen_map_put(&m, names[i], malloc(8)));
  values_freed = 0;
  gen_map_free_values(&m, free_counted);
  EXPECT_EQ_INT(3, values_freed);
  EXPECT_EQ_INT(0, (int)gen_map_count(&m));
  EXPECT_EQ_INT(GEN_MAP_STR, m.kind);
  return 0;
}

DEF_TEST(index) {
  bad_hash = false;
  CHECK_ZERO(index_churn(N_KEYS));
  bad_hash = true;
  CHECK_ZERO(index_churn(200));
  return 0;
}

/* Owners' keys as they give them, FNV-1a hashes of names (clustered low
 * bits): the index mixes them, so probes stay short. */
static uint64_t hash_item(const void *owner, uint32_t item) {
  return ((const uint64_t *)owner)[item];
}
static bool hash_equal(const void *owner, uint32_t item, const void *key) {
  return ((const uint64_t *)owner)[item] == *(const uint64_t *)key;
}
static const gen_index_ops_t hash_ops = {hash_item, hash_equal};

DEF_TEST(index_probes_stay_short) {
  static uint64_t hashes[65536];
  for (int held = 1024; held <= 65536; held *= 8) {
    gen_index_t x = {0};
    for (int i = 0; i < held; i++) {
      char name[64];
      snprintf(name, sizeof(name), "Ivr_M%d_2026-11-25T11:%02d:%02d", i, i % 60,
               i % 59);
      hashes[i] = gen_hash_fnv1a64(name);
      CHECK_ZERO(gen_index_add(&x, &hash_ops, hashes, (uint32_t)i, hashes[i]));
    }
    size_t mask = x.n_slots - 1, probes = 0;
    for (size_t i = 0; i < x.n_slots; i++)
      if (x.slots[i] != GEN_INDEX_NONE)
        probes +=
            ((i - (size_t)(gen_hash_mix64(hashes[x.slots[i]]) & mask)) & mask) +
            1;
    printf("# %zu keys: %.2f probes a look-up\n", gen_index_count(&x),
           (double)probes / (double)gen_index_count(&x));
    OK(probes <= 3 * gen_index_count(&x)); /* a list: count / 2 each */
    for (int i = 0; i < held; i += 97)
      EXPECT_EQ_INT(
          i, (int)gen_index_find(&x, &hash_ops, hashes, &hashes[i], hashes[i]));
    gen_index_free(&x);
  }
  return 0;
}

/* A key's copy owns its strings (NULL kept apart from ""), with or without
 * an owner's text after them. */
DEF_TEST(key_copies_own_their_strings_and_text) {
  char a[] = "queue", b[] = "voice";
  gen_key_t k = {{a, b, NULL, ""}, 7};
  gen_key_t *c = gen_key_copy(&k), *t = gen_key_copy_with(&k, "q\x1fvoice");
  OK(c != NULL && t != NULL);
  a[0] = b[0] = 'X'; /* the copies do not point into the original */
  gen_key_t want = {{"queue", "voice", NULL, ""}, 7};
  OK(gen_key_equal(c, &want));
  OK(gen_key_equal(t, &want));
  OK(c->str[2] == NULL);
  EXPECT_EQ_STR("", c->str[3]);
  EXPECT_EQ_STR("q\x1fvoice", gen_key_copy_text(t));
  free(c);
  free(t);
  return 0;
}

int main(void) {
  RUN_TEST(key_copies_own_their_strings_and_text);
  RUN_TEST(empty_map);
  RUN_TEST(put_get_replace);
  RUN_TEST(many_keys_grow);
  RUN_TEST(iteration_covers_every_key_once);
  RUN_TEST(delete_then_reinsert);
  RUN_TEST(delete_across_the_table_end);
  RUN_TEST(caseless_keys);
  RUN_TEST(composite_key);
  RUN_TEST(typed_keys);
  RUN_TEST(key_text_round_trip);
  RUN_TEST(free_values);
  RUN_TEST(index);
  RUN_TEST(index_probes_stay_short);
  END_TEST;
}
