/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: presences and routing statuses as Genesys spells them.
 */
#include "gen_presence.h"
#include "gen_buf.h"

#include "gen_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const presence_names[GEN_PRESENCE_COUNT] = {
    "available", "away",     "busy", "break",   "meal", "meeting",
    "training",  "on_queue", "idle", "offline", "other"};
static const char *const routing_names[GEN_ROUTING_COUNT] = {
    "idle", "interacting", "communicating", "not_responding", "off_queue"};

/* ' ', '_' and '-' separate words in some spellings and not in others
 * ("On Queue", "ON_QUEUE", "OnQueue"): they are skipped, and ASCII case is
 * folded. No two names of a table are equal that way. */
static bool separator(unsigned char c) {
  return c == ' ' || c == '_' || c == '-';
}

static unsigned char fold(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* True when a and b are the same name in that form. */
static bool name_equal(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return false;
  const unsigned char *x = (const unsigned char *)a;
  const unsigned char *y = (const unsigned char *)b;
  for (;;) {
    while (separator(*x))
      x++;
    while (separator(*y))
      y++;
    if (*x == '\0' || *y == '\0')
      return *x == *y;
    if (fold(*x) != fold(*y))
      return false;
    x++;
    y++;
  }
}

static int index_of(const char *const *names, size_t n, const char *name) {
  if (name == NULL || name[0] == '\0')
    return -1;
  for (size_t i = 0; i < n; i++)
    if (name_equal(name, names[i]))
      return (int)i;
  return -1;
}

int gen_presence_from_name(const char *name) {
  /* "other" is ours, not a system presence. */
  return index_of(presence_names, GEN_PRESENCE_OTHER, name);
}

int gen_routing_from_name(const char *name) {
  return index_of(routing_names, GEN_ROUTING_COUNT, name);
}

const char *gen_presence_instance(int presence) {
  return presence >= 0 && presence < GEN_PRESENCE_COUNT
             ? presence_names[presence]
             : "other";
}

const char *gen_routing_instance(int routing) {
  return routing >= 0 && routing < GEN_ROUTING_COUNT ? routing_names[routing]
                                                     : "unknown";
}

/* An id remembered as unknown (reported once) until a mapping names it. */
#define UNKNOWN_ID GEN_PRESENCE_COUNT

static int map_put(gen_presence_map_t *map, const char *id, int presence) {
  ssize_t index = gen_entity_find(&map->ids, id);
  if (index >= 0 && map->system[index] == UNKNOWN_ID && presence != UNKNOWN_ID)
    map->n_unknown--;
  if (index < 0) {
    index = gen_entity_add(&map->ids, id, id, NULL);
    if (index < 0)
      return (int)index;
  }
  if (gen_grow((void **)&map->system, &map->capacity, (size_t)index + 1,
               sizeof(*map->system), 32) != 0)
    return -ENOMEM;
  map->system[index] = (int8_t)presence;
  return 0;
}

int gen_presence_map_add(gen_presence_map_t *map, const char *id,
                         const char *system_presence) {
  if (id == NULL || id[0] == '\0')
    return 0;
  int k = gen_presence_from_name(system_presence);
  return map_put(map, id, k >= 0 ? k : GEN_PRESENCE_OTHER);
}

int gen_presence_map_add_definition(gen_presence_map_t *map,
                                    json_object *definition) {
  const char *id = gen_json_get_string(definition, "id");
  const char *system = gen_json_get_string(definition, "systemPresence");
  if (id == NULL || system == NULL)
    return 0;
  int status = gen_presence_map_add(map, id, system);
  return status == 0 ? 1 : status;
}

/* Takes every known id of src into dst (unknown ones are not copied).
 * Returns 0 or -ENOMEM. */
static int map_merge(gen_presence_map_t *dst, const gen_presence_map_t *src) {
  for (size_t i = 0; i < src->ids.count; i++) {
    if (src->system[i] == UNKNOWN_ID)
      continue;
    int status = map_put(dst, src->ids.items[i].id, src->system[i]);
    if (status != 0)
      return status;
  }
  return 0;
}

size_t gen_presence_map_size(const gen_presence_map_t *map) {
  return map->ids.count - map->n_unknown;
}

void gen_presence_map_free(gen_presence_map_t *map) {
  gen_entity_set_free(&map->ids);
  free(map->system);
  *map = (gen_presence_map_t){0};
}

int gen_presence_resolve(gen_presence_map_t *map, const char *text,
                         bool *first_unknown) {
  bool scratch; /* first_unknown may be NULL */
  if (first_unknown == NULL)
    first_unknown = &scratch;
  *first_unknown = false;
  if (text == NULL || text[0] == '\0')
    return GEN_PRESENCE_OTHER;
  int k = gen_presence_from_name(text);
  if (k >= 0)
    return k;
  if (map == NULL) {
    *first_unknown = true;
    return GEN_PRESENCE_OTHER;
  }
  ssize_t index = gen_entity_find(&map->ids, text);
  if (index >= 0)
    return map->system[index] == UNKNOWN_ID ? GEN_PRESENCE_OTHER
                                            : map->system[index];
  /* Remembered as "other", so that it is reported once; bounded, so that a
   * stream of made-up ids cannot grow the map. */
  if (map->n_unknown < GEN_PRESENCE_MAX_UNKNOWN &&
      map_put(map, text, UNKNOWN_ID) == 0) {
    map->n_unknown++;
    *first_unknown = true;
  }
  return GEN_PRESENCE_OTHER;
}

static int each_definition(json_object *definition, void *ud) {
  return gen_presence_map_add_definition(ud, definition) < 0 ? -ENOMEM : 0;
}

int gen_presence_map_list(gen_http_t *http, gen_presence_map_t *fresh,
                          char *err, size_t err_size) {
  static const char *const paths[] = {"/api/v2/presencedefinitions",
                                      "/api/v2/presence/definitions"};
  int status = -1;
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    gen_presence_map_free(fresh);
    /* 100 definitions a page x 2 KB (languageLabels in some 30 languages)
     * = 200 KB, x5 */
    status = gen_http_get_pages(
        http, paths[i], 100,
        GEN_HTTP_BOUND(GEN_MIB(1), "presence definitions page"),
        each_definition, fresh, err, err_size);
    if (status == 0)
      break;
  }
  return status;
}

int gen_presence_of_definition(gen_presence_map_t *map, json_object *definition,
                               const char **unknown) {
  *unknown = NULL;
  const char *system = gen_json_get_string(definition, "systemPresence");
  int k = gen_presence_from_name(system);
  if (k >= 0)
    return k;
  const char *id = gen_json_get_string(definition, "id");
  const char *text = id != NULL ? id : system;
  if (text == NULL)
    return -1;
  k = gen_presence_resolve(map, text, NULL);
  if (k == GEN_PRESENCE_OTHER) /* the word we do not know, when named */
    *unknown = system != NULL ? system : text;
  return k;
}

int gen_presence_map_refresh(gen_presence_map_t *map, pthread_mutex_t *lock,
                             gen_http_t *http, const gen_org_t *org,
                             gen_ratelimit_t *rl) {
  char err[512] = "";
  gen_presence_map_t fresh = {0};
  int status = gen_presence_map_list(http, &fresh, err, sizeof(err));
  if (status == 0) {
    pthread_mutex_lock(lock);
    status = map_merge(map, &fresh);
    pthread_mutex_unlock(lock);
  } else
    gen_org_log(org, rl, LOG_WARNING,
                "cannot list presence definitions (org presence ids on the "
                "topic count as \"other\" until a query answer maps them): %s",
                err);
  gen_presence_map_free(&fresh);
  return status;
}
