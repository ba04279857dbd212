/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a hash map from NUL-terminated strings to pointers.
 *
 * Open addressing with linear probing over a power-of-two table that
 * doubles when half full; a delete shifts the entries after it back, so no
 * tombstones slow later look-ups. The map holds the key pointers, not
 * copies: a key must live as long as its entry (it is usually a field of
 * the value). A zeroed gen_map_t is an empty map.
 */
#ifndef GEN_MAP_H
#define GEN_MAP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *key; /* NULL: a free slot */
  void *value;
  uint64_t hash; /* of the key, kept so that growing hashes nothing */
} gen_map_slot_t;

typedef struct {
  gen_map_slot_t *slots;
  size_t n_slots; /* 0 or a power of two */
  size_t count;
} gen_map_t;

/* A map that indexes an array keeps the index as its value. */
static inline void *gen_map_index(size_t i) { return (void *)(uintptr_t)i; }
static inline size_t gen_map_to_index(void *value) {
  return (size_t)(uintptr_t)value;
}

/* Frees the table (not the keys or values) and leaves an empty map. */
void gen_map_free(gen_map_t *m);

size_t gen_map_count(const gen_map_t *m);

/* True when key is in the map; its value goes to *value (when not NULL). */
bool gen_map_find(const gen_map_t *m, const char *key, void **value);
/* The value of key, or NULL when absent (or when NULL is its value). */
void *gen_map_get(const gen_map_t *m, const char *key);

/* Sets key's value: a key already in the map takes the new key pointer and
 * value (and cannot fail). 0 or -ENOMEM (the map as it was). */
int gen_map_put(gen_map_t *m, const char *key, void *value);

/* Removes key; its value goes to *value (when not NULL). 0 or -ENOENT. */
int gen_map_del(gen_map_t *m, const char *key, void **value);

/* Every entry once, in no order: start with *pos = 0; false at the end.
 * The map must not change while it is walked. */
bool gen_map_next(const gen_map_t *m, size_t *pos, const char **key,
                  void **value);

#endif /* GEN_MAP_H */
