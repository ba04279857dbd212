/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: values dispatched without being written out of order.
 *
 * One open-addressing table keyed by the series' 64-bit FNV-1a hash holds
 * each series' last dispatch time and, when a value of it is held, where:
 * one lookup per value (three tables before: a tenth of the daemon's CPU
 * in a replay). Series not dispatched within hold are dropped whenever the
 * table would grow, so it stays as large as the series that changed within
 * hold. Held values (a change within hold of the series' last dispatch:
 * few in practice, all of them in a replay faster than hold; or while its
 * last value is still in collectd's queue) are released in time order
 * from a heap: every operation is O(log n).
 */
#include "gen_latest.h"
#include "gen_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint64_t hash; /* 0 = empty slot */
  cdtime_t at;   /* the series' last dispatch; 0 = none remembered */
  size_t held;   /* index + 1 of its held value; 0 = none */
} entry_t;

typedef struct {
  entry_t *slots;
  size_t cap, count; /* cap a power of 2 */
} table_t;

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
  table_t seen;
  held_t *held; /* slots; free ones are chained through free_next */
  size_t *free_next, free_head, cap_held;
  size_t n_held;
  due_t *heap; /* min-heap by release, n_held long */
  uint64_t held_total;
  cdtime_t bulk_at; /* of the last full re-dispatch (gen_latest_bulk_done) */
};

static uint64_t series_hash(const gen_ident_t *id) {
  return gen_series_hash(id->host, id->plugin, id->plugin_instance, id->type,
                         id->type_instance);
}

/* The slot of hash: its entry, or the empty slot where it would go. */
static entry_t *table_slot(const table_t *t, uint64_t hash) {
  if (t->cap == 0)
    return NULL;
  for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
    if (t->slots[i].hash == hash || t->slots[i].hash == 0)
      return &t->slots[i];
}

/* Makes room for one more entry: drops the series neither held nor
 * dispatched within hold, and doubles the table only if that is not
 * enough. Entry pointers are invalid afterwards. */
static int table_make_room(gen_latest_t *l, cdtime_t now) {
  table_t *t = &l->seen;
  if ((t->count + 1) * 2 <= t->cap)
    return 0;
  size_t kept = 0;
  for (size_t i = 0; i < t->cap; i++) {
    const entry_t *e = &t->slots[i];
    if (e->hash != 0 &&
        (e->held != 0 || (now >= e->at && now - e->at < l->hold)))
      kept++;
  }
  size_t cap = t->cap ? t->cap : 1024;
  while ((kept + 1) * 4 > cap) /* room for as many again before the next */
    cap *= 2;
  entry_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL)
    return -ENOMEM;
  table_t fresh = {.slots = slots, .cap = cap, .count = kept};
  for (size_t i = 0; i < t->cap; i++) {
    const entry_t *e = &t->slots[i];
    if (e->hash != 0 &&
        (e->held != 0 || (now >= e->at && now - e->at < l->hold)))
      *table_slot(&fresh, e->hash) = *e;
  }
  free(t->slots);
  *t = fresh;
  return 0;
}

/* hash's entry, added if it has none; NULL when out of memory. */
static entry_t *table_add(gen_latest_t *l, uint64_t hash, cdtime_t now) {
  entry_t *e = table_slot(&l->seen, hash);
  if (e != NULL && e->hash == hash)
    return e;
  if (table_make_room(l, now) != 0)
    return NULL;
  e = table_slot(&l->seen, hash);
  if (e->hash == 0) {
    *e = (entry_t){.hash = hash};
    l->seen.count++;
  }
  return e;
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
  free(l->seen.slots);
  for (size_t i = 0; i < l->cap_held; i++)
    free(l->held[i].names);
  free(l->held);
  free(l->free_next);
  free(l->heap);
  free(l);
}

/* Dispatches now and remembers when (entry NULL: out of memory, merely
 * not held next time); -EBUSY, and nothing sent, while the series'
 * previous value is still in collectd's queue (unless force). */
static int send_now(entry_t *e, const gen_ident_t *id, bool derive,
                    double value, cdtime_t time, cdtime_t interval,
                    cdtime_t now, bool force) {
  int status =
      gen_dispatch_try_number(id, derive, value, time, interval, force);
  if (e != NULL && status != -EBUSY)
    e->at = now;
  return status;
}

void gen_latest_flush(gen_latest_t *l, cdtime_t now, bool all) {
  while (l->n_held > 0 && (all || l->heap[0].release <= now)) {
    due_t d = heap_pop(l);
    held_t *h = &l->held[d.index];
    entry_t *e = table_slot(&l->seen, h->hash); /* kept while held */
    if (e != NULL && e->hash != h->hash)
      e = NULL;
    gen_ident_t id = {.host = h->names,
                      .plugin = h->names + h->at[0],
                      .plugin_instance = h->names + h->at[1],
                      .type = h->names + h->at[2],
                      .type_instance = h->names + h->at[3]};
    if (send_now(e, &id, h->derive, h->value, h->time, h->interval, now, all) ==
        -EBUSY) {
      d.release = now + GEN_LATEST_RETRY; /* still queued: held on */
      l->n_held++;
      heap_push(l, d);
      continue;
    }
    if (e != NULL)
      e->held = 0;
    l->free_next[d.index] = l->free_head;
    l->free_head = d.index + 1;
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
  entry_t *e = table_slot(&l->seen, hash);
  if (e != NULL && e->hash != hash)
    e = NULL;
  if (e != NULL && e->held != 0) {
    /* the newer value replaces the held one */
    held_t *h = &l->held[e->held - 1];
    h->value = value;
    h->time = time;
    h->interval = interval;
    l->held_total++;
    return 0;
  }
  cdtime_t last = e != NULL ? e->at : 0;
  if (!bulk && l->bulk_at > last)
    last = l->bulk_at;
  cdtime_t release = last + l->hold;
  if (last == 0 || now - last >= l->hold || now < last) {
    int status;
    if (bulk) /* remembered all at once by gen_latest_bulk_done() */
      status =
          gen_dispatch_try_number(id, derive, value, time, interval, false);
    else
      status = send_now(e != NULL ? e : (e = table_add(l, hash, now)), id,
                        derive, value, time, interval, now, false);
    if (status != -EBUSY)
      return status;
    release = now + GEN_LATEST_RETRY; /* its previous value still queued */
  }
  if (e == NULL && (e = table_add(l, hash, now)) == NULL) {
    send_now(NULL, id, derive, value, time, interval, now, true);
    return -ENOMEM;
  }
  ssize_t index = held_slot(l);
  if (index < 0 || held_names_set(&l->held[index], id) != 0) {
    if (index >= 0) {
      l->free_next[index] = l->free_head;
      l->free_head = (size_t)index + 1;
    }
    send_now(e, id, derive, value, time, interval, now, true);
    return -ENOMEM;
  }
  held_t *h = &l->held[index];
  h->hash = hash;
  h->derive = derive;
  h->value = value;
  h->time = time;
  h->interval = interval;
  e->held = (size_t)index + 1;
  l->n_held++;
  heap_push(l, (due_t){.release = release, .index = (size_t)index});
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
size_t gen_latest_tracked(const gen_latest_t *l) { return l->seen.count; }
