/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the agents of the selected queues, counted once each
 * (see gen_roster.h).
 */
#include "gen_roster.h"

#include "gen_buf.h"
#include "gen_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gen_roster_add(gen_roster_t *r, const char *id, const char *routing,
                   int presence) {
  size_t before = r->users.count;
  ssize_t index = gen_entity_add(&r->users, id, id, NULL);
  if (index < 0)
    return (int)index;
  if ((size_t)index < before)
    return 0; /* listed twice: the first states stand */
  if (gen_grow((void **)&r->state, &r->capacity, (size_t)index + 1,
               sizeof(*r->state), 256) != 0)
    return -ENOMEM; /* the listing is given up (see gen_roster.h) */
  r->state[index] = (gen_roster_user_t){
      .routing = (int8_t)gen_routing_from_name(routing),
      .presence =
          (int8_t)(presence >= 0 && presence < GEN_PRESENCE_COUNT ? presence
                                                                  : -1)};
  return 0;
}

void gen_roster_replace(gen_roster_t *r, gen_roster_t *fresh, bool *changed) {
  *changed = fresh->users.count != r->users.count;
  memset(r->routing, 0, sizeof(r->routing));
  memset(r->presence, 0, sizeof(r->presence));
  for (size_t i = 0; i < fresh->users.count; i++) {
    gen_roster_user_t *u = &fresh->state[i];
    ssize_t old = gen_entity_find(&r->users, fresh->users.items[i].id);
    if (old < 0)
      *changed = true;
    else if (r->state[old].routing >= 0 || r->state[old].presence >= 0)
      *u = r->state[old]; /* events are newer */
    if (u->routing >= 0)
      r->routing[u->routing]++;
    if (u->presence >= 0)
      r->presence[u->presence]++;
  }
  gen_entity_set_free(&r->users);
  free(r->state);
  r->users = fresh->users;
  r->state = fresh->state;
  r->capacity = fresh->capacity;
  memset(&fresh->users, 0, sizeof(fresh->users));
  fresh->state = NULL;
  fresh->capacity = 0;
}

bool gen_roster_set(gen_roster_t *r, const char *id, const char *routing,
                    int presence) {
  ssize_t index = gen_entity_find(&r->users, id);
  if (index < 0)
    return false; /* not a member of the selected queues */
  gen_roster_user_t *u = &r->state[index];
  if (routing != NULL) {
    int k = gen_routing_from_name(routing);
    if (u->routing >= 0)
      r->routing[u->routing]--;
    u->routing = (int8_t)k;
    if (k >= 0)
      r->routing[k]++;
  }
  if (presence >= 0 && presence < GEN_PRESENCE_COUNT) {
    if (u->presence >= 0)
      r->presence[u->presence]--;
    u->presence = (int8_t)presence;
    r->presence[presence]++;
  }
  r->seen = true;
  return true;
}

int gen_roster_presence_of(gen_presence_map_t *map, json_object *definition,
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
  bool first_unknown;
  k = gen_presence_resolve(map, text, &first_unknown);
  if (first_unknown)
    *unknown = text;
  return k;
}

bool gen_roster_apply_user(gen_roster_t *r, gen_presence_map_t *map,
                           json_object *user, const char **unknown) {
  const char *id = gen_json_get_string(user, "id");
  const char *routing =
      gen_json_get_string(gen_json_get_object(user, "routingStatus"), "status");
  int presence = gen_roster_presence_of(
      map,
      gen_json_get_object(gen_json_get_object(user, "presence"),
                          "presenceDefinition"),
      unknown);
  return id != NULL && (routing != NULL || presence >= 0) &&
         gen_roster_set(r, id, routing, presence);
}

void gen_roster_free(gen_roster_t *r) {
  gen_entity_set_free(&r->users);
  free(r->state);
  memset(r, 0, sizeof(*r));
}
