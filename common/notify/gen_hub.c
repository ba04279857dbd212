/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the bookkeeping of a notification hub, without I/O.
 */
#include "gen_hub.h"

#include "gen_buf.h"
#include "gen_hash.h"
#include "gen_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A topic's record, in one array with the others (60,000 topics: the
 * users' and the queues'), named by its index wherever it is held. */
typedef struct {
  const char *name;   /* in the hub's names (see frames); NULL: free */
  uint64_t consumers; /* bit c: consumer c wants it */
  uint32_t pos;       /* index in its channel's list; free: the next free */
  int16_t channel;    /* -1: pending */
  bool marked;        /* in the set gen_hub_want is making */
} entry_t;

typedef struct {
  uint32_t *entries; /* per_channel slots */
  size_t count;
  uint64_t generation;
} channel_t;

typedef struct {
  bool used;
  uint32_t *entries; /* the consumer's set, in the order given */
  size_t n;
} consumer_t;

/* What is around a topic's id, "v2.users." and ".activity": 60,000 topics
 * have a handful, kept once. A record's name is its frame's number
 * (1 byte, FRAME_WHOLE: none) and then the id (or the whole topic). */
typedef struct {
  const char *prefix, *suffix;
  size_t prefix_len;
} frame_t;

#define FRAME_WHOLE 0xff
#define MAX_FRAMES 254 /* numbered 1 … 254 */

struct gen_hub_s {
  size_t max_channels, per_channel;
  channel_t *channels;
  consumer_t consumers[GEN_HUB_MAX_CONSUMERS];
  entry_t *entries;
  size_t n_entries, cap_entries; /* records made (free ones included) */
  uint32_t free_entry;           /* GEN_INDEX_NONE: none */
  /* Topics compare without case; nothing walks the table in its order. */
  gen_index_t topics;
  /* The names, packed; a removed name stays until the pool is copied
   * again (compact_names). */
  gen_pool_t names;
  size_t names_bytes, live_bytes;
  frame_t frames[MAX_FRAMES];
  size_t n_frames;
  gen_pool_t frame_text; /* the frames' prefixes and suffixes */
};

/* A record's name in its parts: prefix, id, suffix. */
typedef struct {
  const char *prefix, *id, *suffix;
  size_t prefix_len, id_len;
} parts_t;

static parts_t parts(const gen_hub_t *h, const char *stored) {
  unsigned code = (unsigned char)stored[0];
  const char *id = stored + 1;
  if (code == FRAME_WHOLE)
    return (parts_t){"", id, "", 0, strlen(id)};
  const frame_t *f = &h->frames[code - 1];
  return (parts_t){f->prefix, id, f->suffix, f->prefix_len, strlen(id)};
}

/* Writes the name and its NUL at out; returns the end of the name. */
static char *name_write(const gen_hub_t *h, const char *stored, char *out) {
  parts_t p = parts(h, stored);
  memcpy(out, p.prefix, p.prefix_len);
  memcpy(out + p.prefix_len, p.id, p.id_len);
  return stpcpy(out + p.prefix_len + p.id_len, p.suffix);
}

/* The frame of topic, added when new, and where its id starts and ends;
 * FRAME_WHOLE when it has no id segment (the one before the last dot, after
 * another dot) or when the frames are all taken. */
static unsigned frame_of(gen_hub_t *h, const char *topic, size_t *start,
                         size_t *end) {
  const char *last = strrchr(topic, '.');
  if (last == NULL)
    return FRAME_WHOLE;
  *end = (size_t)(last - topic);
  *start = *end;
  while (*start > 0 && topic[*start - 1] != '.')
    (*start)--;
  if (*start == 0)
    return FRAME_WHOLE;
  for (size_t k = 0; k < h->n_frames; k++) {
    const frame_t *f = &h->frames[k];
    if (f->prefix_len == *start && memcmp(f->prefix, topic, *start) == 0 &&
        strcmp(f->suffix, topic + *end) == 0)
      return (unsigned)k + 1;
  }
  if (h->n_frames == MAX_FRAMES)
    return FRAME_WHOLE;
  char *prefix = gen_pool_alloc(&h->frame_text, *start + 1);
  const char *suffix = gen_pool_strdup(&h->frame_text, topic + *end);
  if (prefix == NULL || suffix == NULL)
    return FRAME_WHOLE;
  memcpy(prefix, topic, *start);
  prefix[*start] = '\0';
  h->frames[h->n_frames] =
      (frame_t){.prefix = prefix, .suffix = suffix, .prefix_len = *start};
  return (unsigned)++h->n_frames;
}

/* topic as a record names it, in the pool; NULL when out of memory. */
static const char *name_store(gen_hub_t *h, const char *topic) {
  size_t start = 0, end = 0;
  unsigned code = frame_of(h, topic, &start, &end);
  if (code == FRAME_WHOLE) {
    start = 0;
    end = strlen(topic);
  }
  char *stored = gen_pool_alloc(&h->names, end - start + 2);
  if (stored == NULL)
    return NULL;
  stored[0] = (char)code;
  memcpy(stored + 1, topic + start, end - start);
  stored[end - start + 1] = '\0';
  return stored;
}

/* The hash of the whole name, as gen_hash_fnv1a64_caseless(topic). */
static uint64_t name_hash(const void *owner, uint32_t item) {
  const gen_hub_t *h = owner;
  parts_t p = parts(h, h->entries[item].name);
  uint64_t hash =
      gen_hash_fnv1a64_caseless_str(GEN_HASH_FNV1A64_INIT, p.prefix);
  hash = gen_hash_fnv1a64_caseless_str(hash, p.id);
  return gen_hash_fnv1a64_caseless_str(hash, p.suffix);
}

static bool name_equal(const void *owner, uint32_t item, const void *key) {
  const gen_hub_t *h = owner;
  parts_t p = parts(h, h->entries[item].name);
  const char *k = key;
  return strncasecmp(k, p.prefix, p.prefix_len) == 0 &&
         strncasecmp(k + p.prefix_len, p.id, p.id_len) == 0 &&
         strcasecmp(k + p.prefix_len + p.id_len, p.suffix) == 0;
}

static const gen_index_ops_t topic_ops = {name_hash, name_equal};

gen_hub_t *gen_hub_new(size_t max_channels, size_t per_channel) {
  /* Channel numbers are 16-bit in the records, positions 32-bit. */
  if (max_channels == 0 || max_channels > INT16_MAX || per_channel == 0 ||
      per_channel > UINT32_MAX)
    return NULL;
  gen_hub_t *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return NULL;
  h->max_channels = max_channels;
  h->per_channel = per_channel;
  h->free_entry = GEN_INDEX_NONE;
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
  free(h->entries);
  gen_index_free(&h->topics);
  gen_pool_free(&h->names);
  gen_pool_free(&h->frame_text);
  for (size_t i = 0; h->channels != NULL && i < h->max_channels; i++)
    free(h->channels[i].entries);
  for (int c = 0; c < GEN_HUB_MAX_CONSUMERS; c++)
    free(h->consumers[c].entries);
  free(h->channels);
  free(h);
}

/* The record of topic, made when new (not wanted, pending); -1 when out of
 * memory. It may move the records: hold indexes, not pointers, across. */
static int64_t find_or_add(gen_hub_t *h, const char *topic) {
  uint64_t hash = gen_hash_fnv1a64_caseless(topic);
  int64_t found = gen_index_find(&h->topics, &topic_ops, h, topic, hash);
  if (found >= 0)
    return found;
  uint32_t i = h->free_entry;
  if (i == GEN_INDEX_NONE) {
    if (h->n_entries >= GEN_INDEX_NONE ||
        gen_grow((void **)&h->entries, &h->cap_entries, h->n_entries + 1,
                 sizeof(*h->entries), 64) != 0)
      return -1;
    i = (uint32_t)h->n_entries;
  }
  const char *name = name_store(h, topic);
  if (name == NULL)
    return -1;
  entry_t *e = &h->entries[i];
  uint32_t next_free = i == h->free_entry ? e->pos : GEN_INDEX_NONE;
  *e = (entry_t){.name = name, .channel = -1};
  size_t bytes = strlen(name) + 1;
  h->names_bytes += bytes;
  if (gen_index_add(&h->topics, &topic_ops, h, i, hash) != 0) {
    e->name = NULL; /* its copy stays in the pool until compact_names */
    e->pos = next_free;
    return -1;
  }
  h->live_bytes += bytes;
  if (i == h->free_entry)
    h->free_entry = next_free;
  else
    h->n_entries++;
  return i;
}

static void unplace(gen_hub_t *h, entry_t *e) {
  if (e->channel < 0)
    return;
  channel_t *ch = &h->channels[e->channel];
  uint32_t last = ch->entries[--ch->count];
  ch->entries[e->pos] = last;
  h->entries[last].pos = e->pos;
  ch->generation++;
  e->channel = -1;
}

static void remove_entry(gen_hub_t *h, uint32_t i) {
  entry_t *e = &h->entries[i];
  unplace(h, e);
  gen_index_del(&h->topics, &topic_ops, h, i, name_hash(h, i));
  h->live_bytes -= strlen(e->name) + 1;
  *e = (entry_t){.pos = h->free_entry};
  h->free_entry = i;
}

/* Copies the names of the records into a new pool when the removed ones
 * take more than the live ones (topics come and go as agents and queues
 * do); out of memory, the old pool stays. */
static void compact_names(gen_hub_t *h) {
  if (h->names_bytes <= 2 * h->live_bytes + 65536)
    return;
  gen_pool_t fresh = {0};
  const char **copies =
      calloc(h->n_entries ? h->n_entries : 1, sizeof(*copies));
  bool ok = copies != NULL;
  for (size_t i = 0; ok && i < h->n_entries; i++)
    if (h->entries[i].name != NULL)
      ok = (copies[i] = gen_pool_strdup(&fresh, h->entries[i].name)) != NULL;
  if (ok) {
    for (size_t i = 0; i < h->n_entries; i++)
      if (h->entries[i].name != NULL)
        h->entries[i].name = copies[i];
    gen_pool_free(&h->names);
    h->names = fresh;
    h->names_bytes = h->live_bytes;
  } else {
    gen_pool_free(&fresh);
  }
  free(copies);
}

/* The lowest channel with room, opening the lowest closed one when the
 * open ones are full. */
static bool place(gen_hub_t *h, uint32_t i) {
  ssize_t closed = -1;
  for (size_t k = 0; k < h->max_channels; k++) {
    channel_t *ch = &h->channels[k];
    if (ch->count == 0) {
      if (closed < 0)
        closed = (ssize_t)k;
      continue;
    }
    if (ch->count < h->per_channel) {
      closed = (ssize_t)k;
      break;
    }
  }
  if (closed < 0)
    return false;
  channel_t *ch = &h->channels[closed];
  if (ch->entries == NULL &&
      (ch->entries = calloc(h->per_channel, sizeof(*ch->entries))) == NULL)
    return false;
  entry_t *e = &h->entries[i];
  e->channel = (int16_t)closed;
  e->pos = (uint32_t)ch->count;
  ch->entries[ch->count++] = i;
  ch->generation++;
  return true;
}

/* Pending topics, consumer by consumer in the order they were given. */
static void place_pending(gen_hub_t *h) {
  for (int c = 0; c < GEN_HUB_MAX_CONSUMERS; c++)
    for (size_t k = 0; k < h->consumers[c].n; k++) {
      uint32_t i = h->consumers[c].entries[k];
      if (h->entries[i].channel < 0 && !place(h, i))
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

/* Drops the consumer from its records that are not marked. */
static void drop_unmarked(gen_hub_t *h, consumer_t *con, uint64_t bit) {
  for (size_t k = 0; k < con->n; k++) {
    entry_t *e = &h->entries[con->entries[k]];
    if (e->marked)
      continue;
    e->consumers &= ~bit;
    if (e->consumers == 0)
      remove_entry(h, con->entries[k]);
  }
}

ssize_t gen_hub_want(gen_hub_t *h, int c, char *const *topics, size_t n) {
  if (!valid(h, c))
    return -EINVAL;
  consumer_t *con = &h->consumers[c];
  uint64_t bit = UINT64_C(1) << c;
  uint32_t *set = calloc(n ? n : 1, sizeof(*set));
  if (set == NULL)
    return -ENOMEM;
  size_t count = 0;
  for (size_t k = 0; k < n; k++) {
    int64_t i = find_or_add(h, topics[k]);
    if (i < 0) {
      /* Undo: records made here and wanted by nobody go again. */
      for (size_t j = 0; j < count; j++) {
        h->entries[set[j]].marked = false;
        if (h->entries[set[j]].consumers == 0)
          remove_entry(h, set[j]);
      }
      free(set);
      return -ENOMEM;
    }
    if (h->entries[i].marked)
      continue; /* repeated */
    h->entries[i].marked = true;
    set[count++] = (uint32_t)i;
  }
  /* The new set is marked: what the consumer had and lost goes. */
  drop_unmarked(h, con, bit);
  for (size_t k = 0; k < count; k++) {
    h->entries[set[k]].consumers |= bit;
    h->entries[set[k]].marked = false;
  }
  free(con->entries);
  con->entries = set;
  con->n = count;
  place_pending(h);
  compact_names(h);
  return (ssize_t)gen_hub_pending(h, c);
}

void gen_hub_leave(gen_hub_t *h, int c) {
  if (!valid(h, c))
    return;
  consumer_t *con = &h->consumers[c];
  drop_unmarked(h, con, UINT64_C(1) << c);
  free(con->entries);
  *con = (consumer_t){0};
  place_pending(h);
  compact_names(h);
}

uint64_t gen_hub_route(const gen_hub_t *h, const char *topic) {
  int64_t i = gen_index_find(&h->topics, &topic_ops, h, topic,
                             gen_hash_fnv1a64_caseless(topic));
  return i >= 0 && h->entries[i].channel >= 0 ? h->entries[i].consumers : 0;
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

/* Copies the names of channel i's records that pass (bit 0: all) into
 * one allocation: the array, then the strings. */
static char **copy_names(const gen_hub_t *h, size_t i, uint64_t bit,
                         size_t *n) {
  *n = 0;
  if (i >= h->max_channels || h->channels[i].count == 0)
    return NULL;
  const channel_t *ch = &h->channels[i];
  size_t k = 0, bytes = 0;
  for (size_t j = 0; j < ch->count; j++) {
    const entry_t *e = &h->entries[ch->entries[j]];
    if (bit == 0 || (e->consumers & bit) != 0) {
      parts_t p = parts(h, e->name);
      k++;
      bytes += p.prefix_len + p.id_len + strlen(p.suffix) + 1;
    }
  }
  if (k == 0)
    return NULL;
  char **out = malloc(k * sizeof(*out) + bytes);
  if (out == NULL)
    return NULL;
  char *text = (char *)(out + k);
  k = 0;
  for (size_t j = 0; j < ch->count; j++) {
    const entry_t *e = &h->entries[ch->entries[j]];
    if (bit == 0 || (e->consumers & bit) != 0) {
      out[k++] = text;
      text = name_write(h, e->name, text) + 1;
    }
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
    mask |= h->entries[h->channels[i].entries[j]].consumers;
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
    return gen_index_count(&h->topics) -
           gen_hub_topics(h); /* distinct topics waiting */
  size_t pending = 0;
  for (size_t i = 0; valid(h, c) && i < h->consumers[c].n; i++)
    pending += h->entries[h->consumers[c].entries[i]].channel < 0;
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
