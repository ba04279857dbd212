/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: entity cache (id ↔ name).
 */
#include "gen_entity.h"
#include "gen_buf.h"
#include "gen_hash.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_names.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 500 per page: the most the listings take (the simulator caps there too),
 * so 5,000 queues are listed in 10 requests instead of 50. A server that
 * caps lower is still walked whole: the walk follows the answer's nextUri
 * (or pageCount), both computed with the page size the server used, to
 * its last page (gen_http_page_all). */
#define GEN_ENTITY_PAGE_SIZE 500
/* A page of every listing (queues, users, flows, data actions, management
 * units, teams, divisions): 500 entities x 4 KB (a Queue with its media
 * settings, bullseye rings and routing rules, the largest the record
 * shows; a user without expand is 1 KB, a team 200 B) = 2 MB, x4; read
 * into a json-c document, a page costs about 20 times its text. */
#define GEN_ENTITY_ANSWER GEN_HTTP_BOUND(GEN_MIB(8), "listing page")

void gen_entity_set_free(gen_entity_set_t *set) {
  free(set->items);
  gen_index_free(&set->by_id);
  gen_pool_free(&set->strings);
  gen_map_free(&set->divisions);
  memset(set, 0, sizeof(*set));
}

void gen_entity_set_trim(gen_entity_set_t *set) {
  if (set->capacity == set->count)
    return;
  if (set->count == 0) {
    free(set->items);
    set->items = NULL;
    set->capacity = 0;
    return;
  }
  /* A failed shrink keeps the larger array, which is as good. */
  gen_entity_t *items = realloc(set->items, set->count * sizeof(*items));
  if (items != NULL) {
    set->items = items;
    set->capacity = set->count;
  }
}

static uint64_t id_hash(const void *owner, uint32_t item) {
  return gen_hash_fnv1a64(((const gen_entity_set_t *)owner)->items[item].id);
}

static bool id_equal(const void *owner, uint32_t item, const void *key) {
  return strcmp(((const gen_entity_set_t *)owner)->items[item].id, key) == 0;
}

static const gen_index_ops_t by_id_ops = {id_hash, id_equal};

ssize_t gen_entity_find(const gen_entity_set_t *set, const char *id) {
  if (id == NULL)
    return -1;
  return (ssize_t)gen_index_find(&set->by_id, &by_id_ops, set, id,
                                 gen_hash_fnv1a64(id));
}

/* A division id kept once: the users of an org share a few divisions. Past
 * that few, each is copied (a table as large as the set would cost more
 * than the copies). */
#define GEN_ENTITY_DIVISIONS 64

static const char *division_copy(gen_entity_set_t *set, const char *id) {
  const char *copy = gen_map_get(&set->divisions, id);
  if (copy != NULL)
    return copy;
  copy = gen_pool_strdup(&set->strings, id);
  if (copy != NULL && gen_map_count(&set->divisions) < GEN_ENTITY_DIVISIONS)
    gen_map_put(&set->divisions, copy, (void *)copy); /* else copied again */
  return copy;
}

ssize_t gen_entity_add(gen_entity_set_t *set, const char *id, const char *name,
                       const char *division_id) {
  uint64_t hash = gen_hash_fnv1a64(id);
  int64_t existing = gen_index_find(&set->by_id, &by_id_ops, set, id, hash);
  if (existing >= 0)
    return (ssize_t)existing;
  if (set->count >= GEN_INDEX_NONE ||
      gen_grow((void **)&set->items, &set->capacity, set->count + 1,
               sizeof(*set->items), 64) != 0)
    return -ENOMEM;
  gen_entity_t *e = &set->items[set->count];
  /* A user's name is its id: one copy (50,000 members). */
  e->id = gen_pool_strdup(&set->strings, id);
  e->name = name == NULL || strcmp(name, id) == 0
                ? e->id
                : gen_pool_strdup(&set->strings, name);
  e->division_id = division_id ? division_copy(set, division_id) : NULL;
  /* What a failure took stays in the pool until the set is freed. */
  if (e->id == NULL || e->name == NULL || (division_id && !e->division_id) ||
      gen_index_add(&set->by_id, &by_id_ops, set, (uint32_t)set->count, hash) !=
          0)
    return -ENOMEM;
  return (ssize_t)set->count++;
}

static bool in_list(char *const *list, size_t n, const char *value) {
  for (size_t i = 0; value != NULL && i < n; i++)
    if (strcmp(list[i], value) == 0)
      return true;
  return false;
}

int gen_entity_batches(const gen_entity_set_t *set, size_t per,
                       gen_entity_batch_fn fn, void *ud) {
  if (set->count == 0)
    return 0;
  if (per == 0 || per > set->count)
    per = set->count;
  const char **ids = calloc(per, sizeof(*ids));
  if (ids == NULL)
    return -ENOMEM;
  bool more = true;
  for (size_t first = 0; more && first < set->count; first += per) {
    size_t n = 0;
    for (size_t i = first; i < set->count && n < per; i++)
      ids[n++] = set->items[i].id;
    more = fn(ud, ids, n);
  }
  free(ids);
  return 0;
}

bool gen_entity_selects_all(const gen_entity_filter_t *filter,
                            const gen_org_t *org) {
  return (org == NULL || org->shard_count <= 1) &&
         (filter == NULL || (filter->n_ids == 0 && filter->n_names == 0 &&
                             filter->n_divisions == 0));
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

void gen_entity_filter_free(gen_entity_filter_t *filter) {
  gen_config_string_list_free(filter->ids, filter->n_ids);
  gen_config_string_list_free(filter->names, filter->n_names);
  gen_config_string_list_free(filter->divisions, filter->n_divisions);
  memset(filter, 0, sizeof(*filter));
}

/* collectd's DATA_MAX_NAME_LEN: where series names are cut. */
#define SERIES_NAME_SIZE 128

typedef struct {
  size_t count;
  char name[];
} name_count_t;

int gen_entity_names_note(gen_entity_names_t *names, const char *id,
                          const char *name) {
  char key[SERIES_NAME_SIZE];
  gen_sanitize_name(name != NULL ? name : id, key, sizeof(key));
  name_count_t *c = gen_map_get(&names->counts, key);
  if (c != NULL) {
    c->count++;
    return 0;
  }
  size_t n = strlen(key) + 1;
  c = malloc(sizeof(*c) + n);
  if (c == NULL)
    return -ENOMEM;
  c->count = 1;
  memcpy(c->name, key, n);
  if (gen_map_put(&names->counts, c->name, c) != 0) {
    free(c);
    return -ENOMEM;
  }
  return 0;
}

ssize_t gen_entity_names_apply(const gen_entity_names_t *names,
                               gen_entity_set_t *set) {
  /* the plugins' own series' names */
  static char *const reserved[] = {"self", "org", "agents", "status"};
  ssize_t renamed = 0;
  for (size_t i = 0; i < set->count; i++) {
    gen_entity_t *e = &set->items[i];
    char key[SERIES_NAME_SIZE];
    gen_sanitize_name(e->name, key, sizeof(key)); /* NULL: "" */
    const name_count_t *c = gen_map_get(&names->counts, key);
    if (!in_list(reserved, STATIC_ARRAY_SIZE(reserved), key) &&
        (c == NULL || c->count < 2))
      continue;
    /* The id must survive collectd's cut (sanitising never lengthens):
     * the name gives way, cut on a UTF-8 character boundary. */
    const char *base = e->name != NULL ? e->name : "";
    size_t id_len = strlen(e->id);
    size_t room =
        id_len < SERIES_NAME_SIZE - 2 ? SERIES_NAME_SIZE - 2 - id_len : 0;
    size_t n = strlen(base);
    if (n > room) {
      n = room;
      while (n > 0 && ((unsigned char)base[n] & 0xC0) == 0x80)
        n--;
    }
    char *name = gen_pool_alloc(&set->strings, n + 1 + id_len + 1);
    if (name == NULL)
      return -ENOMEM;
    snprintf(name, n + 1 + id_len + 1, "%.*s-%s", (int)n, base, e->id);
    e->name = name;
    renamed++;
  }
  return renamed;
}

void gen_entity_names_free(gen_entity_names_t *names) {
  gen_map_free_values(&names->counts, free);
}

typedef struct {
  const gen_org_t *org;
  const gen_entity_filter_t *filter;
  gen_entity_set_t *set;
  gen_entity_names_t names;
  size_t skipped;
  bool ids_only;
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
  if (!ctx->ids_only && gen_entity_names_note(&ctx->names, id, name) != 0)
    return -ENOMEM;
  if (!gen_entity_selected(ctx->filter, ctx->org, id, name, division))
    return 0;
  if (ctx->ids_only)
    name = division = NULL;
  return gen_entity_add(ctx->set, id, name, division) < 0 ? -ENOMEM : 0;
}

static int list_entities(gen_http_t *http, const gen_org_t *org,
                         const char *path, const gen_entity_filter_t *filter,
                         gen_entity_set_t *set, bool ids_only, int page_size,
                         char *err, size_t err_size) {
  gen_entity_set_free(set);
  list_ctx_t ctx = {
      .org = org, .filter = filter, .set = set, .ids_only = ids_only};
  int status = gen_http_get_pages(http, path, page_size, GEN_ENTITY_ANSWER,
                                  take_entity, &ctx, err, err_size);
  ssize_t renamed = 0;
  if (status == 0 && (renamed = gen_entity_names_apply(&ctx.names, set)) < 0)
    status = -ENOMEM;
  gen_entity_set_trim(set);
  gen_entity_names_free(&ctx.names);
  if (status == -ENOMEM)
    snprintf(err, err_size, "out of memory");
  if (status == 0 && ctx.skipped > 0)
    gen_org_log(org, NULL, LOG_WARNING,
                "%zu entities of %s had no id and were skipped", ctx.skipped,
                path);
  /* Every refresh renames them again: said once an hour. */
  static gen_ratelimit_t renamed_rl = GEN_RATELIMIT_INIT(3600);
  if (renamed > 0)
    gen_org_log(org, &renamed_rl, LOG_INFO,
                "%zd entities of %s share a series "
                "name with another or with the plugin's own series; they are "
                "named \"<name>-<id>\"",
                renamed, path);
  return status;
}

int gen_entity_list(gen_http_t *http, const gen_org_t *org, const char *path,
                    const gen_entity_filter_t *filter, gen_entity_set_t *set,
                    char *err, size_t err_size) {
  return list_entities(http, org, path, filter, set, false,
                       GEN_ENTITY_PAGE_SIZE, err, err_size);
}

int gen_entity_list_unpaged(gen_http_t *http, const gen_org_t *org,
                            const char *path, const gen_entity_filter_t *filter,
                            gen_entity_set_t *set, char *err, size_t err_size) {
  return list_entities(http, org, path, filter, set, false, 0, err, err_size);
}

int gen_entity_list_ids(gen_http_t *http, const gen_org_t *org,
                        const char *path, gen_entity_set_t *set, char *err,
                        size_t err_size) {
  return list_entities(http, org, path, NULL, set, true, GEN_ENTITY_PAGE_SIZE,
                       err, err_size);
}

bool gen_entity_set_same(const gen_entity_set_t *a, const gen_entity_set_t *b) {
  if (a->count != b->count)
    return false;
  for (size_t i = 0; i < a->count; i++)
    if (strcmp(a->items[i].id, b->items[i].id) != 0)
      return false;
  return true;
}

void gen_entity_set_replace(gen_entity_set_t *dst, gen_entity_set_t *fresh,
                            bool ok) {
  if (ok) {
    gen_entity_set_free(dst);
    gen_entity_set_trim(fresh);
    *dst = *fresh;
  } else {
    gen_entity_set_free(fresh);
  }
  memset(fresh, 0, sizeof(*fresh));
}

size_t gen_entity_topics(const gen_entity_set_t *set, const char *prefix,
                         const char *suffix, char **out) {
  size_t n = 0;
  for (size_t i = 0; i < set->count; i++)
    gen_entity_topic_add(out, &n, prefix, set->items[i].id, suffix);
  return n;
}

void gen_entity_topic_add(char **out, size_t *n, const char *prefix,
                          const char *id, const char *suffix) {
  if (asprintf(&out[*n], "%s%s%s", prefix, id, suffix) >= 0)
    (*n)++;
}

const char *gen_entity_instance(const gen_org_t *org, const gen_entity_t *e) {
  return org->instance_from == GEN_INSTANCE_FROM_ID ? e->id : e->name;
}

const char *gen_entity_label(const gen_org_t *org, const gen_entity_set_t *set,
                             const char *id, const char *fallback) {
  if (org->instance_from == GEN_INSTANCE_FROM_ID)
    return id;
  ssize_t i = gen_entity_find(set, id);
  if (i >= 0)
    return gen_entity_instance(org, &set->items[i]);
  return (fallback != NULL && fallback[0] != '\0') ? fallback : id;
}
