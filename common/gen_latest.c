/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: values dispatched without being written out of order.
 *
 * "Dispatched less than hold ago" is answered by two hash sets of series
 * (64-bit FNV-1a of the identity) with their last dispatch time: the
 * current window and the one before, swapped every hold, so that nothing
 * needs pruning and a series is found for at least hold after it left. Held
 * values (a change within hold of the series' last dispatch: few in
 * practice, all of them in a replay faster than hold) are found by hash
 * and released in time order from a heap: every operation is O(log n).
 */
#include "gen_latest.h"
#include "gen_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint64_t hash; /* 0 = empty slot */
  cdtime_t at;
} slot_t;

typedef struct {
  slot_t *slots;
  size_t cap, count; /* cap a power of 2 */
} set_t;

/* The five names of a held series, unsanitised (gen_dispatch sanitises),
 * in one allocation of their own size: "host\0plugin\0pi\0type\0ti\0".
 * A slot of fixed-size names was 1 KiB, and a burst at 5,000 queues holds
 * tens of thousands of series at once (the table never shrinks). */
#define HELD_NAMES 5

typedef struct {
  uint64_t hash;
  char *names;                 /* NULL while the slot is free */
  uint32_t at[HELD_NAMES - 1]; /* offsets of plugin … type_instance */
  bool derive;
  double value;
  cdtime_t time, interval;
} held_t;

static int held_names_set(held_t *h, const gen_ident_t *id) {
  const char *part[HELD_NAMES] = {id->host, id->plugin, id->plugin_instance,
                                  id->type, id->type_instance};
  size_t len[HELD_NAMES], total = 0;
  for (size_t i = 0; i < HELD_NAMES; i++) {
    len[i] = part[i] != NULL ? strlen(part[i]) : 0;
    total += len[i] + 1;
  }
  if (total > UINT32_MAX || (h->names = malloc(total)) == NULL)
    return -ENOMEM;
  size_t used = 0;
  for (size_t i = 0; i < HELD_NAMES; i++) {
    if (i > 0)
      h->at[i - 1] = (uint32_t)used;
    if (len[i] > 0)
      memcpy(h->names + used, part[i], len[i]);
    h->names[used + len[i]] = '\0';
    used += len[i] + 1;
  }
  return 0;
}

/* A held value's release: (time, index into held). */
typedef struct {
  cdtime_t release;
  size_t index;
} due_t;

struct gen_latest_s {
  cdtime_t hold;
  set_t cur, prev;
  cdtime_t window_start;
  held_t *held; /* slots; free ones are chained through free_next */
  size_t *free_next, free_head, cap_held;
  size_t n_held;
  set_t held_by_hash; /* hash -> index + 1 (in slot_t.at) */
  due_t *heap;        /* min-heap by release, n_held long */
  uint64_t held_total;
  cdtime_t bulk_at; /* of the last full re-dispatch (gen_latest_bulk_done) */
};

static uint64_t series_hash(const gen_ident_t *id) {
  return gen_series_hash(id->host, id->plugin, id->plugin_instance, id->type,
                         id->type_instance);
}

static slot_t *set_slot(const set_t *s, uint64_t hash) {
  if (s->cap == 0)
    return NULL;
  for (size_t i = hash & (s->cap - 1);; i = (i + 1) & (s->cap - 1))
    if (s->slots[i].hash == hash || s->slots[i].hash == 0)
      return &s->slots[i];
}

static int set_grow(set_t *s) {
  size_t cap = s->cap ? s->cap * 2 : 1024;
  slot_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL)
    return -ENOMEM;
  set_t grown = {.slots = slots, .cap = cap, .count = s->count};
  for (size_t i = 0; i < s->cap; i++)
    if (s->slots[i].hash != 0)
      *set_slot(&grown, s->slots[i].hash) = s->slots[i];
  free(s->slots);
  *s = grown;
  return 0;
}

static int set_put(set_t *s, uint64_t hash, cdtime_t at) {
  if ((s->count + 1) * 2 > s->cap && set_grow(s) != 0)
    return -ENOMEM;
  slot_t *slot = set_slot(s, hash);
  if (slot->hash == 0) {
    slot->hash = hash;
    s->count++;
  }
  slot->at = at;
  return 0;
}

/* Removes hash (linear probing: later entries of its run shift back). */
static void set_del(set_t *s, uint64_t hash) {
  slot_t *slot = set_slot(s, hash);
  if (slot == NULL || slot->hash != hash)
    return;
  size_t mask = s->cap - 1, i = (size_t)(slot - s->slots);
  for (size_t j = (i + 1) & mask; s->slots[j].hash != 0; j = (j + 1) & mask) {
    size_t home = s->slots[j].hash & mask;
    /* j's entry may move to i if its home is not in (i, j] (cyclically) */
    bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!between) {
      s->slots[i] = s->slots[j];
      i = j;
    }
  }
  s->slots[i] = (slot_t){0};
  s->count--;
}

static void heap_swap(due_t *h, size_t a, size_t b) {
  due_t t = h[a];
  h[a] = h[b];
  h[b] = t;
}

static void heap_push(gen_latest_t *l, due_t d) {
  size_t i = l->n_held - 1; /* the caller counted it already */
  l->heap[i] = d;
  while (i > 0 && l->heap[(i - 1) / 2].release > l->heap[i].release) {
    heap_swap(l->heap, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static due_t heap_pop(gen_latest_t *l) {
  due_t top = l->heap[0];
  size_t n = --l->n_held;
  l->heap[0] = l->heap[n];
  for (size_t i = 0;;) {
    size_t a = 2 * i + 1, b = a + 1, m = i;
    if (a < n && l->heap[a].release < l->heap[m].release)
      m = a;
    if (b < n && l->heap[b].release < l->heap[m].release)
      m = b;
    if (m == i)
      break;
    heap_swap(l->heap, i, m);
    i = m;
  }
  return top;
}

gen_latest_t *gen_latest_new(cdtime_t hold) {
  gen_latest_t *l = calloc(1, sizeof(*l));
  if (l != NULL)
    l->hold = hold;
  return l;
}

void gen_latest_free(gen_latest_t *l) {
  if (l == NULL)
    return;
  free(l->cur.slots);
  free(l->prev.slots);
  for (size_t i = 0; i < l->cap_held; i++)
    free(l->held[i].names);
  free(l->held);
  free(l->free_next);
  free(l->held_by_hash.slots);
  free(l->heap);
  free(l);
}

/* Empties a set for a new window; one much bigger than its last window
 * needed (a burst) is given back, so that lookups stay in cache. */
static void set_clear(set_t *s) {
  if (s->cap > 1024 && s->count * 8 < s->cap) {
    free(s->slots);
    *s = (set_t){0};
    return;
  }
  if (s->slots != NULL)
    memset(s->slots, 0, s->cap * sizeof(*s->slots));
  s->count = 0;
}

/* The last dispatch of a series within the two windows, or 0. */
static cdtime_t last_left(gen_latest_t *l, uint64_t hash, cdtime_t now) {
  if (now - l->window_start >= l->hold || now < l->window_start) {
    /* a new window: the current one becomes the previous, unless it is
     * older than hold too */
    bool both = now - l->window_start >= 2 * l->hold || now < l->window_start;
    set_t old = l->prev;
    l->prev = l->cur;
    l->cur = old;
    set_clear(&l->cur);
    if (both)
      set_clear(&l->prev);
    l->window_start = now;
  }
  slot_t *slot = set_slot(&l->cur, hash);
  if (slot != NULL && slot->hash == hash)
    return slot->at;
  slot = set_slot(&l->prev, hash);
  return slot != NULL && slot->hash == hash ? slot->at : 0;
}

static int send_now(gen_latest_t *l, const gen_ident_t *id, uint64_t hash,
                    bool derive, double value, cdtime_t time, cdtime_t interval,
                    cdtime_t now) {
  set_put(&l->cur, hash, now); /* out of memory: merely not held next time */
  return gen_dispatch_number(id, derive, value, time, interval);
}

void gen_latest_flush(gen_latest_t *l, cdtime_t now, bool all) {
  while (l->n_held > 0 && (all || l->heap[0].release <= now)) {
    due_t d = heap_pop(l);
    held_t *h = &l->held[d.index];
    set_del(&l->held_by_hash, h->hash);
    l->free_next[d.index] = l->free_head;
    l->free_head = d.index + 1;
    gen_ident_t id = {.host = h->names,
                      .plugin = h->names + h->at[0],
                      .plugin_instance = h->names + h->at[1],
                      .type = h->names + h->at[2],
                      .type_instance = h->names + h->at[3]};
    send_now(l, &id, h->hash, h->derive, h->value, h->time, h->interval, now);
    free(h->names);
    h->names = NULL;
  }
}

/* A free slot of held (growing the arrays), or -ENOMEM. */
static ssize_t held_slot(gen_latest_t *l) {
  if (l->free_head == 0) {
    /* Three arrays of one capacity: each grows on its own copy of it, which
     * becomes the capacity once all three have grown. */
    size_t need = l->cap_held + 1;
    size_t cap = l->cap_held, next_cap = l->cap_held, heap_cap = l->cap_held;
    if (gen_grow((void **)&l->held, &cap, need, sizeof(*l->held), 16) != 0 ||
        gen_grow((void **)&l->free_next, &next_cap, need, sizeof(*l->free_next),
                 16) != 0 ||
        gen_grow((void **)&l->heap, &heap_cap, need, sizeof(*l->heap), 16) != 0)
      return -ENOMEM;
    for (size_t i = cap; i-- > l->cap_held;) {
      l->held[i].names = NULL;
      l->free_next[i] = l->free_head;
      l->free_head = i + 1;
    }
    l->cap_held = cap;
  }
  size_t index = l->free_head - 1;
  l->free_head = l->free_next[index];
  return (ssize_t)index;
}

static int put(gen_latest_t *l, const gen_ident_t *id, bool derive,
               double value, cdtime_t time, cdtime_t interval, bool bulk) {
  if (l->hold == 0) /* nothing is ever held */
    return gen_dispatch_number(id, derive, value, time, interval);
  cdtime_t now = cdtime();
  if (l->n_held > 0)
    gen_latest_flush(l, now, false);
  uint64_t hash = series_hash(id);
  slot_t *found = l->n_held > 0 ? set_slot(&l->held_by_hash, hash) : NULL;
  if (found != NULL && found->hash == hash) {
    /* the newer value replaces the held one */
    held_t *h = &l->held[found->at - 1];
    h->value = value;
    h->time = time;
    h->interval = interval;
    l->held_total++;
    return 0;
  }
  cdtime_t last = last_left(l, hash, now);
  if (!bulk && l->bulk_at > last)
    last = l->bulk_at;
  if (last == 0 || now - last >= l->hold || now < last) {
    if (bulk) /* remembered all at once by gen_latest_bulk_done() */
      return gen_dispatch_number(id, derive, value, time, interval);
    return send_now(l, id, hash, derive, value, time, interval, now);
  }
  ssize_t index = held_slot(l);
  if (index < 0 || held_names_set(&l->held[index], id) != 0 ||
      set_put(&l->held_by_hash, hash, (cdtime_t)index + 1) != 0) {
    if (index >= 0) {
      free(l->held[index].names);
      l->held[index].names = NULL;
      l->free_next[index] = l->free_head;
      l->free_head = (size_t)index + 1;
    }
    send_now(l, id, hash, derive, value, time, interval, now);
    return -ENOMEM;
  }
  held_t *h = &l->held[index];
  h->hash = hash;
  h->derive = derive;
  h->value = value;
  h->time = time;
  h->interval = interval;
  l->n_held++;
  heap_push(l, (due_t){.release = last + l->hold, .index = (size_t)index});
  l->held_total++;
  return 0;
}

int gen_latest_put(gen_latest_t *l, const gen_ident_t *id, bool derive,
                   double value, cdtime_t time, cdtime_t interval) {
  return put(l, id, derive, value, time, interval, false);
}

int gen_latest_put_bulk(gen_latest_t *l, const gen_ident_t *id, bool derive,
                        double value, cdtime_t time, cdtime_t interval) {
  return put(l, id, derive, value, time, interval, true);
}

void gen_latest_bulk_done(gen_latest_t *l, cdtime_t at) { l->bulk_at = at; }

size_t gen_latest_pending(const gen_latest_t *l) { return l->n_held; }
uint64_t gen_latest_held_total(const gen_latest_t *l) { return l->held_total; }
