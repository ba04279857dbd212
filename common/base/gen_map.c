/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the kit's hash maps (linear probing) and the composite
 * key (see gen_map.h).
 */
#include "gen_map.h"

#include "gen_hash.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GEN_MAP_MIN_SLOTS 16

/* ---- the composite key -------------------------------------------------- */

/* Each string with its NUL (so that parts cannot slide into each other), a
 * NULL one as one byte no text holds. */
uint64_t gen_key_hash(const gen_key_t *k) {
  uint64_t h = GEN_HASH_FNV1A64_INIT;
  for (int i = 0; i < GEN_KEY_STRS; i++)
    h = k->str[i] == NULL
            ? gen_hash_fnv1a64_byte(h, 0xff)
            : gen_hash_fnv1a64_bytes(h, k->str[i], strlen(k->str[i]) + 1);
  return gen_hash_fnv1a64_bytes(h, &k->num, sizeof(k->num));
}

bool gen_key_equal(const gen_key_t *a, const gen_key_t *b) {
  if (a->num != b->num)
    return false;
  for (int i = 0; i < GEN_KEY_STRS; i++) {
    const char *x = a->str[i], *y = b->str[i];
    if (x != y && (x == NULL || y == NULL || strcmp(x, y) != 0))
      return false;
  }
  return true;
}

gen_key_t *gen_key_copy_with(const gen_key_t *k, const char *text) {
  size_t size = sizeof(*k) + (text != NULL ? strlen(text) + 1 : 0);
  for (int i = 0; i < GEN_KEY_STRS; i++)
    size += k->str[i] ? strlen(k->str[i]) + 1 : 0;
  gen_key_t *c = malloc(size);
  if (c == NULL)
    return NULL;
  *c = (gen_key_t){.num = k->num};
  char *p = (char *)(c + 1);
  for (int i = 0; i < GEN_KEY_STRS; i++)
    if (k->str[i] != NULL) {
      c->str[i] = p;
      p = stpcpy(p, k->str[i]) + 1;
    }
  if (text != NULL)
    strcpy(p, text);
  return c;
}

gen_key_t *gen_key_copy(const gen_key_t *k) {
  return gen_key_copy_with(k, NULL);
}

int gen_key_text(const gen_key_t *k, char *out, size_t size) {
  if (size == 0)
    return -ENAMETOOLONG;
  out[0] = '\0';
  size_t len = 0;
  for (int i = 0; i < GEN_KEY_STRS && k->str[i] != NULL; i++) {
    if (strpbrk(k->str[i], "\t\x1f") != NULL)
      return -EINVAL;
    int n =
        snprintf(out + len, size - len, "%s%s", i > 0 ? "\t" : "", k->str[i]);
    if (n < 0 || (size_t)n >= size - len)
      return -ENAMETOOLONG;
    len += (size_t)n;
  }
  if (k->num != 0) {
    int n = snprintf(out + len, size - len, "\x1f%" PRId64, k->num);
    if (n < 0 || (size_t)n >= size - len)
      return -ENAMETOOLONG;
  }
  return 0;
}

bool gen_key_parse(char *text, gen_key_t *k) {
  *k = (gen_key_t){0};
  char *us = strchr(text, '\x1f');
  if (us != NULL) {
    char *end, again[24];
    errno = 0;
    k->num = strtoll(us + 1, &end, 10);
    /* as written: no sign but '-', no leading 0, no space, not 0 */
    snprintf(again, sizeof(again), "%" PRId64, k->num);
    if (errno != 0 || *end != '\0' || k->num == 0 || strcmp(again, us + 1))
      return false;
    *us = '\0';
  }
  char *p = text;
  for (int i = 0; i < GEN_KEY_STRS; i++) {
    k->str[i] = p;
    char *tab = strchr(p, '\t');
    if (tab == NULL || i + 1 == GEN_KEY_STRS)
      break;
    *tab = '\0';
    p = tab + 1;
  }
  return true;
}

const char *gen_key_copy_text(const gen_key_t *copy) {
  const char *p = (const char *)(copy + 1);
  for (int i = 0; i < GEN_KEY_STRS; i++)
    if (copy->str[i] != NULL)
      p += strlen(p) + 1;
  return p;
}

/* ---- gen_map ------------------------------------------------------------ */

/* Mixed: keys that differ only in their last characters (ids, times) would
 * otherwise share FNV-1a's clustered low bits. */
static uint64_t key_hash(const gen_map_t *m, const void *key) {
  switch (m->kind) {
  case GEN_MAP_CASELESS:
    return gen_hash_mix64(gen_hash_fnv1a64_caseless(key));
  case GEN_MAP_KEY:
    return gen_hash_mix64(gen_key_hash(key));
  case GEN_MAP_STR:
    break;
  }
  return gen_hash_mix64(gen_hash_fnv1a64(key));
}

static bool key_equal(const gen_map_t *m, const void *a, const void *b) {
  switch (m->kind) {
  case GEN_MAP_CASELESS:
    return strcasecmp(a, b) == 0;
  case GEN_MAP_KEY:
    return gen_key_equal(a, b);
  case GEN_MAP_STR:
    break;
  }
  return strcmp(a, b) == 0;
}

static size_t home(size_t n_slots, uint64_t hash) {
  return (size_t)(hash & (n_slots - 1));
}

/* The slot holding key, or the free slot where it would go. */
static size_t probe(const gen_map_t *m, const void *key, uint64_t hash) {
  size_t i = home(m->n_slots, hash);
  while (m->slots[i].key != NULL &&
         (m->slots[i].hash != hash || !key_equal(m, m->slots[i].key, key)))
    i = (i + 1) & (m->n_slots - 1);
  return i;
}

static int resize(gen_map_t *m, size_t n_slots) {
  gen_map_slot_t *slots = calloc(n_slots, sizeof(*slots));
  if (slots == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < m->n_slots; i++) {
    const gen_map_slot_t *s = &m->slots[i];
    if (s->key == NULL)
      continue;
    size_t j = home(n_slots, s->hash);
    while (slots[j].key != NULL)
      j = (j + 1) & (n_slots - 1);
    slots[j] = *s;
  }
  free(m->slots);
  m->slots = slots;
  m->n_slots = n_slots;
  return 0;
}

void gen_map_free(gen_map_t *m) {
  free(m->slots);
  *m = (gen_map_t){.kind = m->kind};
}

void gen_map_free_values(gen_map_t *m, void (*free_value)(void *)) {
  size_t pos = 0;
  void *value;
  while (gen_map_next(m, &pos, NULL, &value))
    free_value(value);
  gen_map_free(m);
}

size_t gen_map_count(const gen_map_t *m) { return m->count; }

bool gen_map_find(const gen_map_t *m, const void *key, void **value) {
  if (m->count == 0)
    return false;
  const gen_map_slot_t *s = &m->slots[probe(m, key, key_hash(m, key))];
  if (s->key == NULL)
    return false;
  if (value != NULL)
    *value = s->value;
  return true;
}

void *gen_map_get(const gen_map_t *m, const void *key) {
  void *value = NULL;
  gen_map_find(m, key, &value);
  return value;
}

int gen_map_put(gen_map_t *m, const void *key, void *value) {
  uint64_t hash = key_hash(m, key);
  size_t i = m->n_slots ? probe(m, key, hash) : 0;
  if (m->n_slots == 0 || m->slots[i].key == NULL) {
    /* A new key. Half full at most: probes stay short without tombstones
     * to skip. */
    if ((m->count + 1) * 2 > m->n_slots) {
      if (m->n_slots > SIZE_MAX / 2 / sizeof(*m->slots))
        return -ENOMEM;
      int err = resize(m, m->n_slots ? 2 * m->n_slots : GEN_MAP_MIN_SLOTS);
      if (err != 0)
        return err;
      i = probe(m, key, hash);
    }
    m->count++;
  }
  m->slots[i] = (gen_map_slot_t){.key = key, .value = value, .hash = hash};
  return 0;
}

/* Backward shift after a delete: the entry at i, whose home is h, moves
 * into the hole unless h lies cyclically in (hole, i], where a probe would
 * still reach it. */
static bool must_move(size_t hole, size_t i, size_t h) {
  return hole <= i ? !(hole < h && h <= i) : !(hole < h || h <= i);
}

int gen_map_del(gen_map_t *m, const void *key, void **value) {
  if (m->count == 0)
    return -ENOENT;
  size_t hole = probe(m, key, key_hash(m, key));
  if (m->slots[hole].key == NULL)
    return -ENOENT;
  if (value != NULL)
    *value = m->slots[hole].value;
  size_t mask = m->n_slots - 1;
  for (size_t i = (hole + 1) & mask; m->slots[i].key != NULL;
       i = (i + 1) & mask)
    if (must_move(hole, i, home(m->n_slots, m->slots[i].hash))) {
      m->slots[hole] = m->slots[i];
      hole = i;
    }
  m->slots[hole] = (gen_map_slot_t){0};
  m->count--;
  return 0;
}

bool gen_map_next(const gen_map_t *m, size_t *pos, const void **key,
                  void **value) {
  for (; *pos < m->n_slots; (*pos)++) {
    const gen_map_slot_t *s = &m->slots[*pos];
    if (s->key != NULL) {
      (*pos)++;
      if (key != NULL)
        *key = s->key;
      if (value != NULL)
        *value = s->value;
      return true;
    }
  }
  return false;
}

/* ---- gen_index ---------------------------------------------------------- */

/* Mixed: the owners' hashes are often FNV-1a hashes, clustered in their
 * low bits. */
static size_t home64(size_t n_slots, uint64_t key) {
  return (size_t)(gen_hash_mix64(key) & (n_slots - 1));
}

static int resize_index(gen_index_t *x, const gen_index_ops_t *ops,
                        const void *owner, size_t n_slots) {
  uint32_t *slots = malloc(n_slots * sizeof(*slots));
  if (slots == NULL)
    return -ENOMEM;
  memset(slots, 0xff, n_slots * sizeof(*slots)); /* GEN_INDEX_NONE */
  for (size_t i = 0; i < x->n_slots; i++) {
    uint32_t item = x->slots[i];
    if (item == GEN_INDEX_NONE)
      continue;
    size_t j = home64(n_slots, ops->hash(owner, item));
    while (slots[j] != GEN_INDEX_NONE)
      j = (j + 1) & (n_slots - 1);
    slots[j] = item;
  }
  free(x->slots);
  x->slots = slots;
  x->n_slots = n_slots;
  return 0;
}

void gen_index_free(gen_index_t *x) {
  free(x->slots);
  *x = (gen_index_t){0};
}

size_t gen_index_count(const gen_index_t *x) { return x->count; }

int64_t gen_index_find(const gen_index_t *x, const gen_index_ops_t *ops,
                       const void *owner, const void *key, uint64_t hash) {
  if (x->count == 0)
    return -1;
  size_t mask = x->n_slots - 1;
  for (size_t i = home64(x->n_slots, hash); x->slots[i] != GEN_INDEX_NONE;
       i = (i + 1) & mask)
    if (ops->equal(owner, x->slots[i], key))
      return x->slots[i];
  return -1;
}

int gen_index_reserve(gen_index_t *x, const gen_index_ops_t *ops,
                      const void *owner, size_t n) {
  if (n > SIZE_MAX / 4 / sizeof(*x->slots))
    return -ENOMEM;
  /* Half full at most, as gen_map. */
  size_t n_slots = x->n_slots ? x->n_slots : GEN_MAP_MIN_SLOTS;
  while (n * 2 > n_slots)
    n_slots *= 2;
  return n_slots == x->n_slots ? 0 : resize_index(x, ops, owner, n_slots);
}

int gen_index_add(gen_index_t *x, const gen_index_ops_t *ops, const void *owner,
                  uint32_t item, uint64_t hash) {
  if (item == GEN_INDEX_NONE)
    return -EINVAL;
  int err = gen_index_reserve(x, ops, owner, x->count + 1);
  if (err != 0)
    return err;
  size_t i = home64(x->n_slots, hash);
  while (x->slots[i] != GEN_INDEX_NONE)
    i = (i + 1) & (x->n_slots - 1);
  x->slots[i] = item;
  x->count++;
  return 0;
}

int gen_index_del(gen_index_t *x, const gen_index_ops_t *ops, const void *owner,
                  uint32_t item, uint64_t hash) {
  if (x->count == 0)
    return -ENOENT;
  size_t mask = x->n_slots - 1;
  size_t hole = home64(x->n_slots, hash);
  while (x->slots[hole] != item) {
    if (x->slots[hole] == GEN_INDEX_NONE)
      return -ENOENT;
    hole = (hole + 1) & mask;
  }
  for (size_t i = (hole + 1) & mask; x->slots[i] != GEN_INDEX_NONE;
       i = (i + 1) & mask)
    if (must_move(hole, i, home64(x->n_slots, ops->hash(owner, x->slots[i])))) {
      x->slots[hole] = x->slots[i];
      hole = i;
    }
  x->slots[hole] = GEN_INDEX_NONE;
  x->count--;
  return 0;
}
