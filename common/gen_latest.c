/*
 * collectd-genesys: values dispatched without being written out of order.
 *
 * "Dispatched less than hold ago" is answered by two hash sets of series
 * (64-bit FNV-1a of the identity) with their last dispatch time: the
 * current window and the one before, swapped every hold, so that nothing
 * needs pruning and a series is found for at least hold after it left. Held
 * values are few (a collision needs two changes of one series within
 * hold), so they are a plain array.
 */
#include "gen_latest.h"

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

typedef struct {
  uint64_t hash;
  /* unsanitised names (gen_dispatch sanitises): room for long ones */
  char host[256], plugin[DATA_MAX_NAME_LEN], plugin_instance[256],
      type[DATA_MAX_NAME_LEN], type_instance[256];
  bool derive;
  double value;
  cdtime_t time, interval, release;
} held_t;

struct gen_latest_s {
  cdtime_t hold;
  set_t cur, prev;
  cdtime_t window_start;
  held_t *held;
  size_t n_held, cap_held;
  uint64_t held_total;
};

static uint64_t fnv(uint64_t h, const char *s) {
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
    h = (h ^ *p) * 0x100000001b3ULL;
  return (h ^ 0xff) * 0x100000001b3ULL; /* a separator no name holds */
}

static uint64_t series_hash(const gen_ident_t *id) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv(h, id->host);
  h = fnv(h, id->plugin);
  h = fnv(h, id->plugin_instance);
  h = fnv(h, id->type);
  h = fnv(h, id->type_instance);
  return h ? h : 1;
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
  free(l->held);
  free(l);
}

/* The last dispatch of a series within the two windows, or 0. */
static cdtime_t last_left(gen_latest_t *l, uint64_t hash, cdtime_t now) {
  if (now - l->window_start >= l->hold || now < l->window_start) {
    /* a new window: the current one becomes the previous */
    set_t old = l->prev;
    l->prev = l->cur;
    l->cur = old;
    if (l->cur.slots != NULL)
      memset(l->cur.slots, 0, l->cur.cap * sizeof(*l->cur.slots));
    l->cur.count = 0;
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
  size_t kept = 0;
  for (size_t i = 0; i < l->n_held; i++) {
    held_t *h = &l->held[i];
    if (!all && h->release > now) {
      l->held[kept++] = *h;
      continue;
    }
    gen_ident_t id = {.host = h->host,
                      .plugin = h->plugin,
                      .plugin_instance = h->plugin_instance,
                      .type = h->type,
                      .type_instance = h->type_instance};
    send_now(l, &id, h->hash, h->derive, h->value, h->time, h->interval, now);
  }
  l->n_held = kept;
}

int gen_latest_put(gen_latest_t *l, const gen_ident_t *id, bool derive,
                   double value, cdtime_t time, cdtime_t interval) {
  cdtime_t now = cdtime();
  if (l->n_held > 0)
    gen_latest_flush(l, now, false);
  uint64_t hash = series_hash(id);
  for (size_t i = 0; i < l->n_held; i++)
    if (l->held[i].hash == hash) { /* the newer value replaces the held one */
      l->held[i].value = value;
      l->held[i].time = time;
      l->held[i].interval = interval;
      l->held_total++;
      return 0;
    }
  cdtime_t last = last_left(l, hash, now);
  if (last == 0 || now - last >= l->hold || now < last)
    return send_now(l, id, hash, derive, value, time, interval, now);
  if (l->n_held == l->cap_held) {
    size_t cap = l->cap_held ? l->cap_held * 2 : 16;
    held_t *held = realloc(l->held, cap * sizeof(*held));
    if (held == NULL) {
      send_now(l, id, hash, derive, value, time, interval, now);
      return -ENOMEM;
    }
    l->held = held;
    l->cap_held = cap;
  }
  held_t *h = &l->held[l->n_held++];
  h->hash = hash;
  sstrncpy(h->host, id->host ? id->host : "", sizeof(h->host));
  sstrncpy(h->plugin, id->plugin, sizeof(h->plugin));
  sstrncpy(h->plugin_instance, id->plugin_instance ? id->plugin_instance : "",
           sizeof(h->plugin_instance));
  sstrncpy(h->type, id->type, sizeof(h->type));
  sstrncpy(h->type_instance, id->type_instance ? id->type_instance : "",
           sizeof(h->type_instance));
  h->derive = derive;
  h->value = value;
  h->time = time;
  h->interval = interval;
  h->release = last + l->hold;
  l->held_total++;
  return 0;
}

size_t gen_latest_pending(const gen_latest_t *l) { return l->n_held; }
uint64_t gen_latest_held_total(const gen_latest_t *l) { return l->held_total; }
