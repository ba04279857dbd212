/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: entity cache (id ↔ name) for queues, flows, users, …
 *
 * A set is filled from a paged listing (GET /api/v2/routing/queues, …) and
 * looked up by id in O(1). Filters select entities by id, name pattern
 * (fnmatch, case-insensitive), division and the org's Shard.
 */
#ifndef GEN_ENTITY_H
#define GEN_ENTITY_H 1

#include "gen_buf.h"
#include "gen_config.h"
#include "gen_http.h"
#include "gen_map.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
  const char *id;          /* the three in the set's strings */
  const char *name;        /* id itself when the entity has no other name */
  const char *division_id; /* NULL when the listing has none */
} gen_entity_t;

/* Sized for 50,000 users: the look-up table holds 32-bit indexes into
 * items, the strings are packed in a pool, a division id is kept once
 * however many entities name it, and a listing leaves items at its exact
 * size. */
typedef struct {
  gen_entity_t *items;
  size_t count;
  size_t capacity;
  gen_index_t by_id;   /* ids -> indexes in items */
  gen_pool_t strings;  /* the items' ids and names, freed with the set */
  gen_map_t divisions; /* the distinct division ids in strings (a few) */
} gen_entity_set_t;

typedef struct {
  char **ids; /* Ids to take; NULL = any */
  size_t n_ids;
  char **names; /* name patterns (fnmatch, case-insensitive) */
  size_t n_names;
  char **divisions; /* division ids */
  size_t n_divisions;
} gen_entity_filter_t;

/* Adds one entity (copied). Returns its index, or a negative errno. A
 * duplicate id keeps the first. */
ssize_t gen_entity_add(gen_entity_set_t *set, const char *id, const char *name,
                       const char *division_id);
/* Index of id, or -1. */
ssize_t gen_entity_find(const gen_entity_set_t *set, const char *id);
void gen_entity_set_free(gen_entity_set_t *set);
/* Gives back the room items has past count, once a set is complete (a
 * listing, a replacement); later adds grow it again. */
void gen_entity_set_trim(gen_entity_set_t *set);
/* The same ids in the same order. */
bool gen_entity_set_same(const gen_entity_set_t *a, const gen_entity_set_t *b);
/* A listing replaces the last one only when it succeeded: dst becomes
 * fresh (trimmed) when ok (its old entities freed), else fresh is freed.
 * fresh is empty after either. */
void gen_entity_set_replace(gen_entity_set_t *dst, gen_entity_set_t *fresh,
                            bool ok);
/* The topic "<prefix><id><suffix>" of every entity of set, written to
 * out[] (room for set->count); returns how many (one that cannot be
 * allocated is left out). */
size_t gen_entity_topics(const gen_entity_set_t *set, const char *prefix,
                         const char *suffix, char **out);
/* Writes the topic "<prefix><id><suffix>" to out[*n] and counts it (one
 * that cannot be allocated is left out). */
void gen_entity_topic_add(char **out, size_t *n, const char *prefix,
                          const char *id, const char *suffix);
/* What names entity id in values (plugin_instance, type_instance): the id
 * when the org says so (InstanceFrom), else its name in set, else fallback
 * when not NULL or empty, else the id. */
/* The name entity e has in values: its id or its name (InstanceFrom). */
const char *gen_entity_instance(const gen_org_t *org, const gen_entity_t *e);
const char *gen_entity_label(const gen_org_t *org, const gen_entity_set_t *set,
                             const char *id, const char *fallback);

/* Names that are not one series name each: two entities of a listing
 * whose names, as series names (gen_sanitize_name, cut to collectd's
 * length), are the same ("Sales EN" and "Sales/EN"), or an entity named as
 * the plugins' own series ("self", "org", "agents", "status"). Every
 * entity of the listing is noted, selected or not, so that agents with
 * different shares or selections name an entity alike. */
typedef struct {
  gen_map_t counts; /* series name -> how many entities have it */
} gen_entity_names_t;

/* Notes the name of an entity of the listing (NULL: its id, as
 * gen_entity_add names it). 0 or -ENOMEM. */
int gen_entity_names_note(gen_entity_names_t *names, const char *id,
                          const char *name);
/* Renames each entity of set whose name is not one series name to
 * "<name>-<id>" (distinct, and the same on every agent). Returns how many,
 * or -ENOMEM (names renamed so far stay). */
ssize_t gen_entity_names_apply(const gen_entity_names_t *names,
                               gen_entity_set_t *set);
void gen_entity_names_free(gen_entity_names_t *names);

/* Reads a whole paged listing into set (which is emptied first, and
 * trimmed at the end), keeping the entities that pass filter and the org's
 * shard (filter may be NULL), with names made one series name each
 * (gen_entity_names_t). Returns 0 or a negative gen_http code with the
 * reason in err. */
int gen_entity_list(gen_http_t *http, const gen_org_t *org, const char *path,
                    const gen_entity_filter_t *filter, gen_entity_set_t *set,
                    char *err, size_t err_size);

/* gen_entity_list() of a route whose paging is "not supported" (the
 * workforce management units): path asked as it is, no paging parameters;
 * further pages only when the answer says there are more (nextUri,
 * pageCount). */
int gen_entity_list_unpaged(gen_http_t *http, const gen_org_t *org,
                            const char *path, const gen_entity_filter_t *filter,
                            gen_entity_set_t *set, char *err, size_t err_size);

/* gen_entity_list() of every entity (the org's shard), keeping ids alone:
 * each name is its id and no division is kept. For a set read only for
 * its ids (the users whose time in status is summed: 50,000 names were
 * 1.7 MiB). */
int gen_entity_list_ids(gen_http_t *http, const gen_org_t *org,
                        const char *path, gen_entity_set_t *set, char *err,
                        size_t err_size);

/* Calls fn with the ids of set, in order, in batches of at most per (0:
 * all in one), until fn returns false. 0, or -ENOMEM. */
typedef bool (*gen_entity_batch_fn)(void *ud, const char *const *ids, size_t n);
int gen_entity_batches(const gen_entity_set_t *set, size_t per,
                       gen_entity_batch_fn fn, void *ud);

/* True when filter (NULL: none) selects every entity of org: no ids, names
 * or divisions, and no sharding. */
bool gen_entity_selects_all(const gen_entity_filter_t *filter,
                            const gen_org_t *org);

bool gen_entity_selected(const gen_entity_filter_t *filter,
                         const gen_org_t *org, const char *id, const char *name,
                         const char *division_id);
void gen_entity_filter_free(gen_entity_filter_t *filter);

#endif /* GEN_ENTITY_H */
