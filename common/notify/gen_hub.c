/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the bookkeeping of a notification hub, without I/O.
 */
#include "gen_hub.h"

#include "gen_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry_s entry_t;
struct entry_s {
  char *name; /* the key of the table */
  uint64_t consumers;
  int channel; /* -1: pending */
  size_t pos;  /* index in its channel's list */
  uint64_t mark;
};

typedef struct {
  entry_t **entries; /* per_channel slots */
  size_t count;
  uint64_t generation;
} channel_t;

typedef struct {
  bool used;
  entry_t **entries; /* the consumer's set, in the order given */
  size_t n;
} consumer_t;

struct gen_hub_s {
  size_t max_channels, per_channel;
  channel_t *channels;
  consumer_t consumers[GEN_HUB_MAX_CONSUMERS];
  /* Topics compare without case; nothing walks the table in its order. */
  gen_map_t topics;
  uint64_t epoch;
};

gen_hub_t *gen_hub_new(size_t max_channels, size_t per_channel) {
  gen_hub_t *h = calloc(1, sizeof(*h));
  if (h == NULL || max_channels == 0 || per_channel == 0) {
    free(h);
    return NULL;
  }
  h->max_channels = max_channels;
  h->per_channel = per_channel;
  h->topics.kind = GEN_MAP_CASELESS;
  h->channels = calloc(max_channels, sizeof(*h->channels));
  if (h->channels == NULL) {
    gen_hub_free(h);
    return NULL;
  }
  return h;
}

void gen_hub_free(gen_hub_t *h) {
  if (h == NULL)
    return;
  size_t pos = 0;
  void *value;
  while (gen_map_next(&h->topics, &pos, NULL, &value)) {
    entry_t *e = value;
    free(e->name);
    free(e);
  }
  gen_map_free(&h->topics);
  for (size_t i = 0; h->channels != NULL && i < h->max_channels; i++)
    free(h->channels[i].entries);
  for (int c = 0; c < GEN_HUB_MAX_CONSUMERS; c++)
    free(h->consumers[c].entries);
  free(h->channels);
  free(h);
}

static entry_t *find(const gen_hub_t *h, const char *topic) {
  return gen_map_get(&h->topics, topic);
}

static entry_t *find_or_add(gen_hub_t *h, const char *topic) {
  entry_t *e = find(h, topic);
  if (e != NULL)
    return e;
  e = calloc(1, sizeof(*e));
  if (e == NULL || (e->name = strdup(topic)) == NULL) {
    free(e);
    return NULL;
  }
  e->channel = -1;
  if (gen_map_put(&h->topics, e->name, e) != 0) {
    free(e->name);
    free(e);
    return NULL;
  }
  return e;
}

static void unplace(gen_hub_t *h, entry_t *e) {
  if (e->channel < 0)
    return;
  channel_t *ch = &h->channels[e->channel];
  entry_t *last = ch->entries[--ch->count];
  ch->entries[e->pos] = last;
  last->pos = e->pos;
  ch->generation++;
  e->channel = -1;
}

static void remove_entry(gen_hub_t *h, entry_t *e) {
  unplace(h, e);
  gen_map_del(&h->topics, e->name, NULL);
  free(e->name);
  free(e);
}

/* The lowest channel with room, opening the lowest closed one when the
 * open ones are full. */
static bool place(gen_hub_t *h, entry_t *e) {
  ssize_t closed = -1;
  for (size_t i = 0; i < h->max_channels; i++) {
    channel_t *ch = &h->channels[i];
    if (ch->count == 0) {
      if (closed < 0)
        closed = (ssize_t)i;
      continue;
    }
    if (ch->count < h->per_channel) {
      closed = (ssize_t)i;
      break;
    }
  }
  if (closed < 0)
    return false;
  channel_t *ch = &h->channels[closed];
  if (ch->entries == NULL &&
      (ch->entries = calloc(h->per_channel, sizeof(*ch->entries))) == NULL)
    return false;
  e->channel = (int)closed;
  e->pos = ch->count;
  ch->entries[ch->count++] = e;
  ch->generation++;
  return true;
}

/* Pending topics, consumer by consumer in the order they were given. */
static void place_pending(gen_hub_t *h) {
  for (int c = 0; c < GEN_HUB_MAX_CONSUMERS; c++)
    for (size_t i = 0; i < h->consumers[c].n; i++) {
      entry_t *e = h->consumers[c].entries[i];
      if (e->channel < 0 && !place(h, e))
        return;
    }
}

int gen_hub_join(gen_hub_t *h) {
  for (int c = 0; c < GEN_HUB_MAX_CONSUMERS; c++)
    if (!h->consumers[c].used) {
      h->consumers[c] = (consumer_t){.used = true};
      return c;
    }
  return -1;
}

static bool valid(const gen_hub_t *h, int c) {
  return c >= 0 && c < GEN_HUB_MAX_CONSUMERS && h->consumers[c].used;
}

/* Drops the consumer from entries not marked with the current epoch. */
static void drop_unmarked(gen_hub_t *h, consumer_t *con, uint64_t bit) {
  for (size_t i = 0; i < con->n; i++) {
    entry_t *e = con->entries[i];
    if (e->mark == h->epoch)
      continue;
    e->consumers &= ~bit;
    if (e->consumers == 0)
      remove_entry(h, e);
  }
}

ssize_t gen_hub_want(gen_hub_t *h, int c, char *const *topics, size_t n) {
  if (!valid(h, c))
    return -EINVAL;
  consumer_t *con = &h->consumers[c];
  uint64_t bit = UINT64_C(1) << c;
  entry_t **set = calloc(n ? n : 1, sizeof(*set));
  if (set == NULL)
    return -ENOMEM;
  h->epoch++;
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    entry_t *e = find_or_add(h, topics[i]);
    if (e == NULL) {
      /* Undo: entries made here and wanted by nobody go again. */
      for (size_t j = 0; j < count; j++)
        if (set[j]->consumers == 0)
          remove_entry(h, set[j]);
      free(set);
      return -ENOMEM;
    }
    if (e->mark == h->epoch)
      continue; /* repeated */
    e->mark = h->epoch;
    set[count++] = e;
  }
  /* The new set is marked: what the consumer had and lost goes. */
  drop_unmarked(h, con, bit);
  for (size_t i = 0; i < count; i++)
    set[i]->consumers |= bit;
  free(con->entries);
  con->entries = set;
  con->n = count;
  place_pending(h);
  return (ssize_t)gen_hub_pending(h, c);
}

void gen_hub_leave(gen_hub_t *h, int c) {
  if (!valid(h, c))
    return;
  consumer_t *con = &h->consumers[c];
  h->epoch++;
  drop_unmarked(h, con, UINT64_C(1) << c);
  free(con->entries);
  *con = (consumer_t){0};
  place_pending(h);
}

uint64_t gen_hub_route(const gen_hub_t *h, const char *topic) {
  const entry_t *e = find(h, topic);
  return e != NULL && e->channel >= 0 ? e->consumers : 0;
}

size_t gen_hub_max_channels(const gen_hub_t *h) { return h->max_channels; }

size_t gen_hub_channel_size(const gen_hub_t *h, size_t i,
                            uint64_t *generation) {
  if (i >= h->max_channels)
    return 0;
  if (generation != NULL)
    *generation = h->channels[i].generation;
  return h->channels[i].count;
}

void gen_hub_topics_free(char **topics, size_t n) {
  for (size_t i = 0; topics != NULL && i < n; i++)
    free(topics[i]);
  free(topics);
}

/* Copies the names of channel i's entries that pass (bit 0: all). */
static char **copy_names(const gen_hub_t *h, size_t i, uint64_t bit,
                         size_t *n) {
  *n = 0;
  if (i >= h->max_channels || h->channels[i].count == 0)
    return NULL;
  const channel_t *ch = &h->channels[i];
  char **out = calloc(ch->count, sizeof(*out));
  if (out == NULL)
    return NULL;
  size_t k = 0;
  for (size_t j = 0; j < ch->count; j++) {
    if (bit != 0 && (ch->entries[j]->consumers & bit) == 0)
      continue;
    if ((out[k] = strdup(ch->entries[j]->name)) == NULL) {
      gen_hub_topics_free(out, k);
      return NULL;
    }
    k++;
  }
  *n = k;
  return out;
}

char **gen_hub_channel_topics(const gen_hub_t *h, size_t i, size_t *n) {
  return copy_names(h, i, 0, n);
}

char **gen_hub_consumer_topics(const gen_hub_t *h, int c, size_t i, size_t *n) {
  if (!valid(h, c)) {
    *n = 0;
    return NULL;
  }
  return copy_names(h, i, UINT64_C(1) << c, n);
}

uint64_t gen_hub_channel_consumers(const gen_hub_t *h, size_t i) {
  uint64_t mask = 0;
  for (size_t j = 0; i < h->max_channels && j < h->channels[i].count; j++)
    mask |= h->channels[i].entries[j]->consumers;
  return mask;
}

size_t gen_hub_channels(const gen_hub_t *h) {
  size_t open = 0;
  for (size_t i = 0; i < h->max_channels; i++)
    open += h->channels[i].count > 0;
  return open;
}

size_t gen_hub_topics(const gen_hub_t *h) {
  size_t carried = 0;
  for (size_t i = 0; i < h->max_channels; i++)
    carried += h->channels[i].count;
  return carried;
}

size_t gen_hub_pending(const gen_hub_t *h, int c) {
  if (c < 0)
    return gen_map_count(&h->topics) -
           gen_hub_topics(h); /* distinct topics waiting */
  size_t pending = 0;
  for (size_t i = 0; valid(h, c) && i < h->consumers[c].n; i++)
    pending += h->consumers[c].entries[i]->channel < 0;
  return pending;
}

size_t gen_hub_consumer_count(const gen_hub_t *h, int c) {
  return valid(h, c) ? h->consumers[c].n : 0;
}

bool gen_hub_renew_due(uint64_t now, uint64_t expires, uint64_t lifetime,
                       uint64_t ahead) {
  if (expires == 0)
    return false;
  if (ahead > lifetime / 2)
    ahead = lifetime / 2;
  return now + ahead >= expires;
}
