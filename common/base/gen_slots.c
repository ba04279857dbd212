/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: slots, an array of fixed-size items reused through a
 * free list, its never-used tail left untouched.
 */
#include "gen_slots.h"

#include "gen_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void gen_slots_init(gen_slots_t *s, size_t size, size_t link, size_t max) {
  *s = (gen_slots_t){
      .size = size,
      .link = link,
      .max = max == 0 || max > (size_t)INT32_MAX ? (size_t)INT32_MAX : max,
      .free_head = -1};
}

void gen_slots_free(gen_slots_t *s, void **items) {
  free(*items);
  *items = NULL;
  gen_slots_init(s, s->size, s->link, s->max);
}

/* The link of item i (memcpy: the owner's field may be at any offset). */
static int32_t link_of(const gen_slots_t *s, const void *items, int32_t i) {
  int32_t next;
  memcpy(&next, (const char *)items + (size_t)i * s->size + s->link,
         sizeof(next));
  return next;
}

int32_t gen_slots_take(gen_slots_t *s, void **items, gen_slots_room_cb room,
                       void *owner) {
  if (s->free_head >= 0) {
    int32_t i = s->free_head;
    s->free_head = link_of(s, *items, i);
    return i;
  }
  /* Only the array grows here; the tail it gains is not written, so its
   * pages stay untouched until taken one by one. */
  if (s->high == s->cap) {
    int err = gen_grow_max(items, &s->cap, s->high + 1, s->size, GEN_SLOTS_MIN,
                           s->max);
    if (err != 0)
      return err;
  }
  if (room != NULL) {
    int err = room(owner, s->high + 1);
    if (err != 0)
      return err;
  }
  return (int32_t)s->high++;
}

int gen_slots_put(gen_slots_t *s, void *items, int32_t i) {
  if (i < 0 || (size_t)i >= s->high)
    return -EINVAL;
  memcpy((char *)items + (size_t)i * s->size + s->link, &s->free_head,
         sizeof(s->free_head));
  s->free_head = i;
  return 0;
}
