/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a hash map from strings to pointers (linear probing).
 */
#include "gen_map.h"

#include "gen_hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAP_MIN_SLOTS 16

/* Mixed: keys that differ only in their last characters (ids, times) would
 * otherwise share FNV-1a's clustered low bits. */
static uint64_t key_hash(const char *key) {
  return gen_hash_mix64(gen_hash_fnv1a64(key));
}

static size_t home(const gen_map_t *m, uint64_t hash) {
  return (size_t)(hash & (m->n_slots - 1));
}

/* The slot holding key, or the free slot where it would go. */
static size_t probe(const gen_map_t *m, const char *key, uint64_t hash) {
  size_t i = home(m, hash);
  while (m->slots[i].key != NULL &&
         (m->slots[i].hash != hash || strcmp(m->slots[i].key, key) != 0))
    i = (i + 1) & (m->n_slots - 1);
  return i;
}

static int resize(gen_map_t *m, size_t n_slots) {
  gen_map_t fresh = {.slots = calloc(n_slots, sizeof(*m->slots)),
                     .n_slots = n_slots,
                     .count = m->count};
  if (fresh.slots == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < m->n_slots; i++) {
    const gen_map_slot_t *s = &m->slots[i];
    if (s->key == NULL)
      continue;
    size_t j = home(&fresh, s->hash);
    while (fresh.slots[j].key != NULL)
      j = (j + 1) & (n_slots - 1);
    fresh.slots[j] = *s;
  }
  free(m->slots);
  *m = fresh;
  return 0;
}

void gen_map_free(gen_map_t *m) {
  free(m->slots);
  *m = (gen_map_t){0};
}

size_t gen_map_count(const gen_map_t *m) { return m->count; }

bool gen_map_find(const gen_map_t *m, const char *key, void **value) {
  if (m->count == 0)
    return false;
  const gen_map_slot_t *s = &m->slots[probe(m, key, key_hash(key))];
  if (s->key == NULL)
    return false;
  if (value != NULL)
    *value = s->value;
  return true;
}

void *gen_map_get(const gen_map_t *m, const char *key) {
  void *value = NULL;
  gen_map_find(m, key, &value);
  return value;
}

int gen_map_put(gen_map_t *m, const char *key, void *value) {
  uint64_t hash = key_hash(key);
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

int gen_map_del(gen_map_t *m, const char *key, void **value) {
  if (m->count == 0)
    return -ENOENT;
  size_t mask = m->n_slots - 1;
  size_t hole = probe(m, key, key_hash(key));
  if (m->slots[hole].key == NULL)
    return -ENOENT;
  if (value != NULL)
    *value = m->slots[hole].value;
  /* Backward shift: an entry after the hole moves into it unless its home
   * lies cyclically in (hole, i], where the probe would still reach it. */
  for (size_t i = (hole + 1) & mask; m->slots[i].key != NULL;
       i = (i + 1) & mask) {
    size_t h = home(m, m->slots[i].hash);
    bool reachable = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
    if (!reachable) {
      m->slots[hole] = m->slots[i];
      hole = i;
    }
  }
  m->slots[hole] = (gen_map_slot_t){0};
  m->count--;
  return 0;
}

bool gen_map_next(const gen_map_t *m, size_t *pos, const char **key,
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
