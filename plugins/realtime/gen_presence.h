/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: presences and routing statuses as Genesys spells them.
 *
 * The API names one presence several ways: analytics uses enums
 * ("ON_QUEUE"), REST presence definitions and GET /users?expand=presence
 * display forms ("On Queue"), and queue observations qualify oUserPresences
 * with organisation presence *ids* (UUIDs), which the query answer's
 * systemToOrganizationMappings and GET /api/v2/presencedefinitions map to
 * system presences; the newer presence listing spells enums "OnQueue".
 * Names are compared in one normal form (ASCII case folded; ' ', '_' and
 * '-' skipped); ids go through a map.
 *
 *   gen_presence_map_t map = {0};
 *   gen_presence_map_add(&map, id, "ON_QUEUE");  // query answers' mappings
 *   gen_presence_map_add_definition(&map, definition);    // REST listing
 *   bool first_unknown;
 *   int k = gen_presence_resolve(&map, qualifier, &first_unknown);
 *   // k in [0, GEN_PRESENCE_COUNT); GEN_PRESENCE_OTHER when unknown
 *   gen_presence_map_free(&map);
 *
 * A map is not locked: its owner serialises use.
 */
#ifndef GEN_PRESENCE_H
#define GEN_PRESENCE_H 1

#include "gen_entity.h"
#include "gen_http.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* System presences, then "other" for org presences that map to none. */
typedef enum {
  GEN_PRESENCE_AVAILABLE = 0,
  GEN_PRESENCE_AWAY,
  GEN_PRESENCE_BUSY,
  GEN_PRESENCE_BREAK,
  GEN_PRESENCE_MEAL,
  GEN_PRESENCE_MEETING,
  GEN_PRESENCE_TRAINING,
  GEN_PRESENCE_ON_QUEUE,
  GEN_PRESENCE_IDLE,
  GEN_PRESENCE_OFFLINE,
  GEN_PRESENCE_OTHER,
  GEN_PRESENCE_COUNT
} gen_presence_t;

typedef enum {
  GEN_ROUTING_IDLE = 0,
  GEN_ROUTING_INTERACTING,
  GEN_ROUTING_COMMUNICATING,
  GEN_ROUTING_NOT_RESPONDING,
  GEN_ROUTING_OFF_QUEUE,
  GEN_ROUTING_COUNT
} gen_routing_t;

/* Unknown org presence ids remembered (each logged once); past this they
 * are still "other", but no longer remembered. */
#define GEN_PRESENCE_MAX_UNKNOWN 256

/* The system presence or routing status a name spells ("On Queue",
 * "ON_QUEUE", "OnQueue", "on-queue"), or -1. */
int gen_presence_from_name(const char *name);
int gen_routing_from_name(const char *name);

/* Type instances: "available" … "offline", "other"; "idle" … "off_queue". */
const char *gen_presence_instance(int presence);
const char *gen_routing_instance(int routing);

typedef struct {
  gen_entity_set_t ids; /* org presence id → index into system */
  int8_t *system;       /* gen_presence_t per id; GEN_PRESENCE_OTHER when
                           the id is unknown (and was reported) */
  size_t capacity;
  size_t n_unknown;
} gen_presence_map_t;

/* Maps id to the system presence name (any spelling); an unknown name maps
 * the id to "other". A later call for the same id replaces the first.
 * Returns 0 or -ENOMEM. */
int gen_presence_map_add(gen_presence_map_t *map, const char *id,
                         const char *system_presence);
/* One presence definition of a REST listing: {id, systemPresence, …}.
 * Returns 1 when taken, 0 when it has no id or system presence. */
int gen_presence_map_add_definition(gen_presence_map_t *map,
                                    json_object *definition);
/* Lists the org's presence definitions into fresh (empty): the legacy
 * listing /api/v2/presencedefinitions first, then the newer
 * /api/v2/presence/definitions. 0, or the last failure's status with err
 * set (fresh then holds nothing useful). */
int gen_presence_map_list(gen_http_t *http, gen_presence_map_t *fresh,
                          char *err, size_t err_size);
/* gen_presence_map_list, what it listed merged into map under lock. A
 * failure keeps what is known (query answers map ids too) and is logged
 * through org (rate-limited by rl). 0 or a negative status. */
int gen_presence_map_refresh(gen_presence_map_t *map, pthread_mutex_t *lock,
                             gen_http_t *http, const gen_org_t *org,
                             gen_ratelimit_t *rl);
/* Number of ids known (not counting unknown ones remembered). */
size_t gen_presence_map_size(const gen_presence_map_t *map);
void gen_presence_map_free(gen_presence_map_t *map);

/* The system presence of a qualifier or presence field: a system presence
 * name in any spelling, else an org presence id of the map (map may be
 * NULL), else GEN_PRESENCE_OTHER. *first_unknown (may be NULL) is set when
 * this is the first time an unknown text is seen, so that the caller logs
 * it once. NULL or "" is GEN_PRESENCE_OTHER without a report. */
int gen_presence_resolve(gen_presence_map_t *map, const char *text,
                         bool *first_unknown);

/* The system presence of a presenceDefinition {id, systemPresence}: the
 * name when it is one, else the id (or text) through map; -1 when there is
 * neither. *unknown (NULL when known) is the text that maps to no system
 * presence, for the caller to count (gen_stats_unknown logs it once). */
int gen_presence_of_definition(gen_presence_map_t *map, json_object *definition,
                               const char **unknown);

#endif /* GEN_PRESENCE_H */
