/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the agents of the selected queues, counted once each
 * (see gen_roster.h).
 */
#include "gen_roster.h"

#include "gen_buf.h"
#include "gen_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The routing status an API name spells, -1 for none; one this version
 * does not know is counted. */
static int routing_of(const gen_roster_t *r, const char *routing) {
  int k = gen_routing_from_name(routing);
  if (k < 0)
    gen_unknown_note(r->unknown, "routingStatus", routing);
  return k;
}

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
      .routing = (int8_t)routing_of(r, routing),
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
  gen_entity_set_trim(&fresh->users);
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
    int k = routing_of(r, routing);
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

bool gen_roster_apply_user(gen_roster_t *r, gen_presence_map_t *map,
                           json_object *user) {
  const char *id = gen_json_get_string(user, "id");
  const char *routing =
      gen_json_get_string(gen_json_get_object(user, "routingStatus"), "status");
  const char *unknown;
  int presence = gen_presence_of_definition(
      map,
      gen_json_get_object(gen_json_get_object(user, "presence"),
                          "presenceDefinition"),
      &unknown);
  if (unknown != NULL)
    gen_unknown_note(r->unknown, "presence", unknown);
  return id != NULL && (routing != NULL || presence >= 0) &&
         gen_roster_set(r, id, routing, presence);
}

void gen_roster_free(gen_roster_t *r) {
  gen_entity_set_free(&r->users);
  free(r->state);
  memset(r, 0, sizeof(*r));
}

void gen_roster_put(const gen_roster_t *r, const int64_t *old_routing,
                    const int64_t *old_presence, gen_put_t put, void *ud) {
  if (old_routing == NULL)
    put(ud, "org_agents", "total", (double)r->users.count, false);
  for (int k = 0; k < GEN_ROUTING_COUNT; k++)
    if (old_routing == NULL || old_routing[k] != r->routing[k])
      put(ud, "org_agents_routing", gen_routing_instance(k),
          (double)r->routing[k], false);
  for (int k = 0; k < GEN_PRESENCE_COUNT; k++)
    if (old_presence == NULL || old_presence[k] != r->presence[k])
      put(ud, "org_agents_presence", gen_presence_instance(k),
          (double)r->presence[k], false);
}

void gen_roster_put_sent(gen_roster_t *r, bool all, gen_put_t put, void *ud) {
  gen_roster_put(r, all ? NULL : r->sent_routing, all ? NULL : r->sent_presence,
                 put, ud);
  memcpy(r->sent_routing, r->routing, sizeof(r->sent_routing));
  memcpy(r->sent_presence, r->presence, sizeof(r->sent_presence));
  r->changed = false;
}

typedef struct {
  gen_roster_t *fresh;
  gen_roster_resolve_t resolve;
  void *ud;
  int status; /* the first allocation failure */
} listing_t;

static void each_member(void *ud, const char *id, const char *routing,
                        const char *presence) {
  listing_t *l = ud;
  if (l->status == 0)
    l->status =
        gen_roster_add(l->fresh, id, routing,
                       presence != NULL ? l->resolve(l->ud, presence) : -1);
}

typedef struct {
  pthread_mutex_t *lock;
  void (*apply)(void *ud, json_object *user);
  void *ud;
} baseline_t;

static int baseline_user(json_object *user, void *ud) {
  baseline_t *b = ud;
  pthread_mutex_lock(b->lock);
  b->apply(b->ud, user);
  pthread_mutex_unlock(b->lock);
  return 0;
}

int gen_roster_baseline(gen_http_t *http, const char *const *user_ids, size_t n,
                        pthread_mutex_t *lock,
                        void (*apply)(void *ud, json_object *user), void *ud,
                        const gen_org_t *org, gen_ratelimit_t *rl) {
  baseline_t b = {lock, apply, ud};
  char err[512], path[4096];
  size_t off = (size_t)snprintf(
      path, sizeof(path), "/api/v2/users?expand=routingStatus&expand=presence");
  for (size_t i = 0; i < n && off < sizeof(path); i++)
    off +=
        (size_t)snprintf(path + off, sizeof(path) - off, "&id=%s", user_ids[i]);
  int status = -ENAMETOOLONG;
  if (off >= sizeof(path))
    snprintf(err, sizeof(err), "%zu user ids make too long a request", n);
  else /* 80 users x 3 KB (routingStatus and presence expanded) = 240 KB, x8 */
    status = gen_http_get_pages(http, path, GEN_ROSTER_USERS_PER_QUERY,
                                GEN_HTTP_BOUND(GEN_MIB(2), "users page"),
                                baseline_user, &b, err, sizeof(err));
  if (status != 0)
    gen_org_log(org, rl, LOG_ERR, "the agents' baseline failed: %s", err);
  return status;
}

int gen_roster_refresh(gen_roster_t *r, pthread_mutex_t *lock, gen_http_t *http,
                       const gen_org_t *org, gen_ratelimit_t *rl,
                       const gen_entity_set_t *set, cdtime_t budget,
                       gen_roster_resolve_t resolve, void *ud, bool *changed) {
  gen_roster_t fresh = {.unknown = r->unknown};
  gen_members_stats_t stats;
  char err[512];
  const char **ids = calloc(set->count ? set->count : 1, sizeof(*ids));
  if (ids == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < set->count; i++)
    ids[i] = set->items[i].id;
  listing_t l = {.fresh = &fresh, .resolve = resolve, .ud = ud};
  gen_members_options_t options = {.budget = budget};
  int status = gen_members_list(http, ids, set->count, &options, each_member,
                                &l, &stats, err, sizeof(err));
  free(ids);
  /* On a partial listing the agents known before stay, with unknown
   * states, rather than drop. */
  if (status == GEN_MEMBERS_PARTIAL)
    for (size_t i = 0; l.status == 0 && i < r->users.count; i++)
      if (gen_entity_find(&fresh.users, r->users.items[i].id) < 0)
        each_member(&l, r->users.items[i].id, NULL, NULL);
  if (status >= 0 && l.status != 0) {
    snprintf(err, sizeof(err), "out of memory");
    status = l.status;
  }
  if (status < 0)
    gen_org_log(org, rl, LOG_ERR, "cannot list the members of the queues: %s",
                err);
  else if (status == GEN_MEMBERS_PARTIAL)
    gen_org_log(org, rl, LOG_WARNING,
                "the members of %zu of %zu queues were not listed (%s); the "
                "agents known before are kept",
                stats.skipped, stats.queues, err);
  if (status >= 0) {
    pthread_mutex_lock(lock);
    gen_roster_replace(r, &fresh, changed);
    pthread_mutex_unlock(lock);
  }
  gen_roster_free(&fresh);
  return status < 0 ? status : 0;
}
