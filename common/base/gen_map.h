/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the hash maps of the kit, and the one composite key.
 *
 * - gen_map: from keys to pointers. Its keys are NUL-terminated strings (a
 *   zeroed map's), strings that compare without ASCII case, or typed keys
 *   (gen_key_t): the kind is set once, before the first put. The map holds
 *   the key pointers, not copies: a key must live as long as its entry (it
 *   is usually a field of the value).
 * - gen_index: the items of an owner's array found by their key, a table
 *   of 32-bit item indexes (4 bytes a slot where gen_map takes 24: the
 *   50,000 users of an org); the key and its hash are the owner's.
 *
 * All are open addressing with linear probing over a power-of-two table
 * that doubles when half full; a delete shifts the entries after it back,
 * so no tombstones slow later look-ups. A zeroed map is an empty map.
 */
#ifndef GEN_MAP_H
#define GEN_MAP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the composite key --------------------------------------------------
 */

#define GEN_KEY_STRS 4

/* A key of several parts, hashed and compared field by field (nothing is
 * joined into one string): the strings in order (ids, names; NULL past the
 * last, and NULL differs from "") and a number (a kind, a metric index).
 * The strings are borrowed. */
typedef struct {
  const char *str[GEN_KEY_STRS];
  int64_t num;
} gen_key_t;

uint64_t gen_key_hash(const gen_key_t *k);
bool gen_key_equal(const gen_key_t *a, const gen_key_t *b);
/* A copy of k that owns its strings, in one allocation (free() frees it;
 * it does not move, so a map can keep it). NULL when out of memory. */
gen_key_t *gen_key_copy(const gen_key_t *k);
/* The same with text kept after the strings (an owner's name for the key,
 * as gen_counters' state-file text), read back with gen_key_copy_text. */
gen_key_t *gen_key_copy_with(const gen_key_t *k, const char *text);
const char *gen_key_copy_text(const gen_key_t *copy);

/* The one text form of a key, in every state file and journal: its
 * strings joined by tabs (up to the first NULL), then, when its number is
 * not 0, 0x1f and the number in decimal. 0; -EINVAL when a string holds a
 * tab or 0x1f (it could not be read back); -ENAMETOOLONG when it does not
 * fit size bytes (GEN_KEY_TEXT_MAX for any key we make). */
#define GEN_KEY_TEXT_MAX 512
int gen_key_text(const gen_key_t *k, char *out, size_t size);
/* A text of that form split in place into k (its strings point into text;
 * only the last may hold a tab, in a text not written by us). false: not
 * of that form (a 0x1f not followed by a number alone, as written). */
bool gen_key_parse(char *text, gen_key_t *k);

/* ---- gen_map ------------------------------------------------------------
 */

typedef enum {
  GEN_MAP_STR,      /* const char *, compared with strcmp */
  GEN_MAP_CASELESS, /* const char *, compared without ASCII case */
  GEN_MAP_KEY,      /* const gen_key_t * */
} gen_map_kind_t;

typedef struct {
  const void *key; /* NULL: a free slot */
  void *value;
  uint64_t hash; /* of the key, kept so that growing hashes nothing */
} gen_map_slot_t;

typedef struct {
  gen_map_slot_t *slots;
  size_t n_slots; /* 0 or a power of two */
  size_t count;
  gen_map_kind_t kind; /* kept by gen_map_free */
} gen_map_t;

/* A map that indexes an array keeps the index as its value. */
static inline void *gen_map_index(size_t i) { return (void *)(uintptr_t)i; }
static inline size_t gen_map_to_index(void *value) {
  return (size_t)(uintptr_t)value;
}

/* Frees the table (not the keys or values) and leaves an empty map of the
 * same kind. */
void gen_map_free(gen_map_t *m);
/* The same after free_value() of every value (the values owned by the
 * map, their keys within them or borrowed). */
void gen_map_free_values(gen_map_t *m, void (*free_value)(void *));

size_t gen_map_count(const gen_map_t *m);

/* True when key is in the map; its value goes to *value (when not NULL). */
bool gen_map_find(const gen_map_t *m, const void *key, void **value);
/* The value of key, or NULL when absent (or when NULL is its value). */
void *gen_map_get(const gen_map_t *m, const void *key);

/* Sets key's value: a key already in the map takes the new key pointer and
 * value (and cannot fail). 0 or -ENOMEM (the map as it was). */
int gen_map_put(gen_map_t *m, const void *key, void *value);

/* Removes key; its value goes to *value (when not NULL). 0 or -ENOENT. */
int gen_map_del(gen_map_t *m, const void *key, void **value);

/* Every entry once, in no order: start with *pos = 0; false at the end.
 * The map must not change while it is walked. */
bool gen_map_next(const gen_map_t *m, size_t *pos, const void **key,
                  void **value);

/* ---- gen_index ----------------------------------------------------------
 */

/* How the owner (an array of items, each with its key) hashes and compares:
 * hash gives the hash of item's key, as the caller gives it for a key
 * (raw, e.g. FNV-1a: the index mixes it); equal compares item's key with
 * key. The index keeps no hash: hash is called again for each item when
 * the table grows and for the items a delete shifts. */
typedef struct {
  uint64_t (*hash)(const void *owner, uint32_t item);
  bool (*equal)(const void *owner, uint32_t item, const void *key);
} gen_index_ops_t;

#define GEN_INDEX_NONE UINT32_MAX /* a free slot; never an item */

typedef struct {
  uint32_t *slots; /* item indexes; GEN_INDEX_NONE: free */
  size_t n_slots;  /* 0 or a power of two */
  size_t count;
} gen_index_t;

void gen_index_free(gen_index_t *x);
size_t gen_index_count(const gen_index_t *x);
/* The item whose key is key (of hash hash), or -1. */
int64_t gen_index_find(const gen_index_t *x, const gen_index_ops_t *ops,
                       const void *owner, const void *key, uint64_t hash);
/* Adds item, whose key (of hash hash) the index must not hold yet. 0,
 * -EINVAL (GEN_INDEX_NONE) or -ENOMEM (the index as it was). */
int gen_index_add(gen_index_t *x, const gen_index_ops_t *ops, const void *owner,
                  uint32_t item, uint64_t hash);
/* Removes item (its key of hash hash), before the owner changes or
 * reuses it. 0 or -ENOENT. */
int gen_index_del(gen_index_t *x, const gen_index_ops_t *ops, const void *owner,
                  uint32_t item, uint64_t hash);
/* Room for n items: adds up to n then allocate nothing. 0 or -ENOMEM. */
int gen_index_reserve(gen_index_t *x, const gen_index_ops_t *ops,
                      const void *owner, size_t n);

#endif /* GEN_MAP_H */
