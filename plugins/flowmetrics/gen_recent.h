/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: recently seen ids, for dropping what an at-least-once
 * sender (EventBridge) delivers again.
 *
 * Two generations of 64-bit hashes: when the current one is full it becomes
 * the previous one, and the previous one is dropped. Memory stays bounded
 * (two tables of twice the capacity, half full at most, so probes stay
 * short) and the last `capacity` ids at least are always remembered. Two
 * ids whose hashes agree (about 1 in 2^63 a pair) count as one.
 *
 * Not locked: the owner serialises calls.
 */
#ifndef GEN_RECENT_H
#define GEN_RECENT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t *slots[2]; /* current, previous; open addressing, 0 = empty */
  size_t count;       /* ids in the current generation */
  size_t capacity;    /* ids per generation, a power of two */
} gen_recent_t;

/* capacity: the ids a generation holds (rounded up to a power of two). No
 * memory is taken before the first id. */
void gen_recent_init(gen_recent_t *r, size_t capacity);
void gen_recent_free(gen_recent_t *r);

/* True when id is remembered. */
bool gen_recent_has(const gen_recent_t *r, const char *id);

/* True when id was remembered already; remembers it otherwise. Out of
 * memory, a new id is not remembered (false: it is taken as new, which an
 * at-least-once receiver handles anyway). */
bool gen_recent_seen(gen_recent_t *r, const char *id);

/* The bytes held, at most 4 * capacity * 8. */
size_t gen_recent_bytes(const gen_recent_t *r);

#endif /* GEN_RECENT_H */
