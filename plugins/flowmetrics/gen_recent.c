/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: recently seen ids in two bounded generations.
 */
#include "gen_recent.h"

#include "gen_hash.h"

#include <stdlib.h>

/* Slots per table: twice the capacity, so a table is half full at most. */
static size_t table_slots(const gen_recent_t *r) { return 2 * r->capacity; }

/* Never 0, the empty mark. */
static uint64_t id_hash(const char *id) {
  return gen_hash_mix64(gen_hash_fnv1a64(id)) | 1;
}

/* The slot holding h, or the empty one where it would go. */
static uint64_t *slot_of(const gen_recent_t *r, uint64_t *slots, uint64_t h) {
  size_t mask = table_slots(r) - 1;
  for (size_t s = h & mask;; s = (s + 1) & mask)
    if (slots[s] == 0 || slots[s] == h)
      return &slots[s];
}

void gen_recent_init(gen_recent_t *r, size_t capacity) {
  size_t n = 1;
  while (n < capacity && n <= SIZE_MAX / 4)
    n *= 2;
  *r = (gen_recent_t){.capacity = n};
}

void gen_recent_free(gen_recent_t *r) {
  free(r->slots[0]);
  free(r->slots[1]);
  r->slots[0] = r->slots[1] = NULL;
  r->count = 0;
}

static bool has_hash(const gen_recent_t *r, uint64_t h) {
  for (int g = 0; g < 2; g++)
    if (r->slots[g] != NULL && *slot_of(r, r->slots[g], h) == h)
      return true;
  return false;
}

bool gen_recent_has(const gen_recent_t *r, const char *id) {
  return has_hash(r, id_hash(id));
}

bool gen_recent_seen(gen_recent_t *r, const char *id) {
  uint64_t h = id_hash(id);
  if (has_hash(r, h))
    return true;
  if (r->slots[0] == NULL || r->count >= r->capacity) {
    uint64_t *fresh = calloc(table_slots(r), sizeof(*fresh));
    if (fresh == NULL)
      return false;
    free(r->slots[1]);
    r->slots[1] = r->slots[0];
    r->slots[0] = fresh;
    r->count = 0;
  }
  *slot_of(r, r->slots[0], h) = h;
  r->count++;
  return false;
}

size_t gen_recent_bytes(const gen_recent_t *r) {
  size_t tables = (r->slots[0] != NULL) + (r->slots[1] != NULL);
  return tables * table_slots(r) * sizeof(uint64_t);
}
