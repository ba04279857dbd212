/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: entity cache (id ↔ name).
 */
#include "gen_entity.h"
#include "gen_json.h"
#include "gen_log.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

/* 500 per page: the most the listings take (the simulator caps there too),
 * so 5,000 queues are listed in 10 requests instead of 50. A server that
 * caps lower is still walked whole: the walk follows the answer's nextUri
 * (or pageCount), both computed with the page size the server used. At most
 * 500 pages: 250,000 entities (50,000 where pages are capped at 100). */
#define GEN_ENTITY_MAX_PAGES 500
#define GEN_ENTITY_PAGE_SIZE 500

static void free_entity(gen_entity_t *e) {
  free(e->id);
  free(e->name);
  free(e->division_id);
}

void gen_entity_set_free(gen_entity_set_t *set) {
  for (size_t i = 0; i < set->count; i++)
    free_entity(&set->items[i]);
  free(set->items);
  free(set->slots);
  memset(set, 0, sizeof(*set));
}

static size_t slot_of(const gen_entity_set_t *set, const char *id) {
  return (size_t)(gen_hash_id(id) & (set->n_slots - 1));
}

ssize_t gen_entity_find(const gen_entity_set_t *set, const char *id) {
  if (set->n_slots == 0 || id == NULL)
    return -1;
  for (size_t s = slot_of(set, id);; s = (s + 1) & (set->n_slots - 1)) {
    size_t v = set->slots[s];
    if (v == 0)
      return -1;
    if (strcmp(set->items[v - 1].id, id) == 0)
      return (ssize_t)(v - 1);
  }
}

static int rehash(gen_entity_set_t *set, size_t n_slots) {
  size_t *slots = calloc(n_slots, sizeof(*slots));
  if (slots == NULL)
    return -ENOMEM;
  free(set->slots);
  set->slots = slots;
  set->n_slots = n_slots;
  for (size_t i = 0; i < set->count; i++) {
    size_t s = slot_of(set, set->items[i].id);
    while (slots[s] != 0)
      s = (s + 1) & (n_slots - 1);
    slots[s] = i + 1;
  }
  return 0;
}

ssize_t gen_entity_add(gen_entity_set_t *set, const char *id, const char *name,
                       const char *division_id) {
  ssize_t existing = gen_entity_find(set, id);
  if (existing >= 0)
    return existing;
  if (set->count == set->capacity) {
    size_t capacity = set->capacity ? 2 * set->capacity : 64;
    gen_entity_t *items = realloc(set->items, capacity * sizeof(*items));
    if (items == NULL)
      return -ENOMEM;
    set->items = items;
    set->capacity = capacity;
  }
  gen_entity_t *e = &set->items[set->count];
  e->id = strdup(id);
  e->name = strdup(name ? name : id);
  e->division_id = division_id ? strdup(division_id) : NULL;
  if (e->id == NULL || e->name == NULL || (division_id && !e->division_id)) {
    free_entity(e);
    return -ENOMEM;
  }
  set->count++;
  /* Keep the table at most half full. */
  if (2 * set->count > set->n_slots) {
    if (rehash(set, set->n_slots ? 2 * set->n_slots : 128) != 0) {
      set->count--;
      free_entity(e);
      return -ENOMEM;
    }
  } else {
    size_t s = slot_of(set, id);
    while (set->slots[s] != 0)
      s = (s + 1) & (set->n_slots - 1);
    set->slots[s] = set->count;
  }
  return (ssize_t)(set->count - 1);
}

static bool in_list(char *const *list, size_t n, const char *value) {
  for (size_t i = 0; value != NULL && i < n; i++)
    if (strcmp(list[i], value) == 0)
      return true;
  return false;
}

bool gen_entity_selected(const gen_entity_filter_t *filter,
                         const gen_org_t *org, const char *id, const char *name,
                         const char *division_id) {
  if (!gen_org_owns(org, id))
    return false;
  if (filter == NULL)
    return true;
  /* Ids and name patterns add up (either selects); divisions narrow. */
  bool by_id_or_name = filter->n_ids == 0 && filter->n_names == 0;
  if (!by_id_or_name && in_list(filter->ids, filter->n_ids, id))
    by_id_or_name = true;
  for (size_t i = 0; !by_id_or_name && i < filter->n_names; i++)
    by_id_or_name =
        name != NULL && fnmatch(filter->names[i], name, FNM_CASEFOLD) == 0;
  if (!by_id_or_name)
    return false;
  return filter->n_divisions == 0 ||
         in_list(filter->divisions, filter->n_divisions, division_id);
}

static void free_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(list[i]);
  free(list);
}

void gen_entity_filter_free(gen_entity_filter_t *filter) {
  free_list(filter->ids, filter->n_ids);
  free_list(filter->names, filter->n_names);
  free_list(filter->divisions, filter->n_divisions);
  memset(filter, 0, sizeof(*filter));
}

typedef struct {
  const gen_org_t *org;
  const gen_entity_filter_t *filter;
  gen_entity_set_t *set;
  size_t skipped;
} list_ctx_t;

static int take_entity(json_object *entity, void *ud) {
  list_ctx_t *ctx = ud;
  const char *id = gen_json_get_string(entity, "id");
  const char *name = gen_json_get_string(entity, "name");
  const char *division =
      gen_json_get_string(gen_json_get_object(entity, "division"), "id");
  if (id == NULL || id[0] == '\0') {
    ctx->skipped++;
    return 0;
  }
  if (!gen_entity_selected(ctx->filter, ctx->org, id, name, division))
    return 0;
  return gen_entity_add(ctx->set, id, name, division) < 0 ? -ENOMEM : 0;
}

int gen_entity_list(gen_http_t *http, const gen_org_t *org, const char *path,
                    const gen_entity_filter_t *filter, gen_entity_set_t *set,
                    char *err, size_t err_size) {
  gen_entity_set_free(set);
  list_ctx_t ctx = {.org = org, .filter = filter, .set = set};
  int status =
      gen_http_get_pages(http, path, GEN_ENTITY_PAGE_SIZE, GEN_ENTITY_MAX_PAGES,
                         take_entity, &ctx, err, err_size);
  if (status == -ENOMEM)
    snprintf(err, err_size, "out of memory");
  if (status == 0 && ctx.skipped > 0)
    GEN_WARNING("%s plugin: Org \"%s\": %zu entities of %s had no id and "
                "were skipped",
                org->plugin, org->name, ctx.skipped, path);
  return status;
}

bool gen_entity_set_same(const gen_entity_set_t *a, const gen_entity_set_t *b) {
  if (a->count != b->count)
    return false;
  for (size_t i = 0; i < a->count; i++)
    if (strcmp(a->items[i].id, b->items[i].id) != 0)
      return false;
  return true;
}
