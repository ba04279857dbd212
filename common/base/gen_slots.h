/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: slots, an array of fixed-size items reused through a
 * free list, for an owner that finds its items by number (gen_conv's and
 * gen_attr's conversations, with a gen_index).
 *
 * A slot is taken from the free list (the slots put back, the last put
 * first), else it is the next never-used one below the high-water mark,
 * else the array grows (doubling from GEN_SLOTS_MIN, up to the max). The
 * slots past the high-water mark are never written, so the pages of a
 * grown array's tail stay untouched until they are used. The free list is
 * threaded through an int32_t field of the owner's item (its link, unused
 * while the slot is free), so it costs no memory of its own.
 *
 * The owner keeps the array in its own typed pointer and passes its
 * address; the helper keeps the counts. Item numbers are int32_t, below
 * INT32_MAX. Not locked: the owner serialises calls.
 */
#ifndef GEN_SLOTS_H
#define GEN_SLOTS_H 1

#include <stddef.h>
#include <stdint.h>

#define GEN_SLOTS_MIN 256 /* items of the first allocation */

/* Called before a never-used slot is taken, with the number of slots used
 * then (the high-water mark, counting that one): the owner makes room for
 * that many items in what it adds a taken slot to (its gen_index), so that
 * adding cannot fail. 0, or a negative errno that the take returns. */
typedef int (*gen_slots_room_cb)(void *owner, size_t n);

typedef struct {
  size_t size;       /* bytes an item */
  size_t link;       /* offset of the item's int32_t free-list link */
  size_t cap;        /* items allocated */
  size_t high;       /* items ever taken; those from high on never written */
  size_t max;        /* most items */
  int32_t free_head; /* -1: none */
} gen_slots_t;

/* Slots of items of size bytes, whose int32_t link is at offset link, at
 * most max of them (0 or more than INT32_MAX: INT32_MAX). Nothing is
 * allocated before the first take. */
void gen_slots_init(gen_slots_t *s, size_t size, size_t link, size_t max);

/* Frees *items and leaves empty slots of the same shape. */
void gen_slots_free(gen_slots_t *s, void **items);

/* A free slot of *items (which may move when the array grows), its bytes
 * as they were left (a fresh slot's undefined): the owner sets them. Its
 * number, or -E2BIG (max slots in use), -ENOMEM or room's error, with
 * nothing taken. room may be NULL. */
int32_t gen_slots_take(gen_slots_t *s, void **items, gen_slots_room_cb room,
                       void *owner);

/* Puts slot i of items back (taken next, before the ones put earlier); its
 * link field is overwritten. 0, or -EINVAL when i was never taken. */
int gen_slots_put(gen_slots_t *s, void *items, int32_t i);

#endif /* GEN_SLOTS_H */
