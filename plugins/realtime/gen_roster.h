/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the agents of the selected queues, each counted once by
 * routing status and by system presence, org-wide. A listing of the queue
 * members fills a fresh roster that then replaces the old one (states known
 * from events carry over: they are newer than any listing); activity events
 * and user documents move one agent's states, and the counts with them.
 * No locking: the caller holds its own.
 */
#ifndef GEN_ROSTER_H
#define GEN_ROSTER_H 1

#include "gen_dispatch.h"
#include "gen_entity.h"
#include "gen_members.h"
#include "gen_presence.h"
#include "gen_stats.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  int8_t routing, presence; /* gen_routing_t, gen_presence_t; -1 unknown */
} gen_roster_user_t;

typedef struct {
  gen_entity_set_t users;   /* the members, each once */
  gen_roster_user_t *state; /* parallel to users.items */
  size_t capacity;
  int64_t routing[GEN_ROUTING_COUNT];   /* agents per routing status */
  int64_t presence[GEN_PRESENCE_COUNT]; /* agents per system presence */
  bool seen; /* some agent's state came from an event or document */
  /* The counts as last put (gen_roster_put_sent), and whether an event or
   * document changed them since: the owner's to set. */
  int64_t sent_routing[GEN_ROUTING_COUNT], sent_presence[GEN_PRESENCE_COUNT];
  bool changed;
  /* Where a routing status or presence this version does not know is
   * counted (family "agent_activity"; NULL: nowhere): the agent's routing
   * status is then left unknown, its presence "other". Set by the owner. */
  const gen_unknown_sink_t *unknown;
} gen_roster_t;

/* Adds a member (a fresh roster being listed) with its routing status (an
 * API name, NULL unknown) and presence (-1 unknown); a member added again
 * keeps its first states. 0, or -ENOMEM: the roster is then only good for
 * gen_roster_free(). */
int gen_roster_add(gen_roster_t *r, const char *id, const char *routing,
                   int presence);

/* Replaces r's members with fresh's, keeping the states r knew of members
 * in both, and recounts; fresh is emptied. *changed: members came or went. */
void gen_roster_replace(gen_roster_t *r, gen_roster_t *fresh, bool *changed);

/* Sets a member's routing status (an API name; NULL leaves it) and
 * presence (-1 leaves it); false when id is not a member. */
bool gen_roster_set(gen_roster_t *r, const char *id, const char *routing,
                    int presence);

/* Applies a user document as the activity event and GET /api/v2/users?
 * expand=… give it: {id, routingStatus{status}, presence{presenceDefinition
 * {id, systemPresence}}}. False when it named no member or no state. */
bool gen_roster_apply_user(gen_roster_t *r, gen_presence_map_t *map,
                           json_object *user);

/* Puts the org-wide counts: every one (old_routing NULL: org_agents total,
 * then by routing status and presence) or those that changed since the
 * counts in old_routing and old_presence. */
void gen_roster_put(const gen_roster_t *r, const int64_t *old_routing,
                    const int64_t *old_presence, gen_put_t put, void *ud);
/* Puts every count (all) or those that differ from the counts last put,
 * and remembers them as put; changed is cleared. */
void gen_roster_put_sent(gen_roster_t *r, bool all, gen_put_t put, void *ud);

/* Resolves a member's presence text (a name in any spelling or an org
 * presence id) to a gen_presence_t; the caller holds its lock and logs an
 * unknown text once. */
typedef int (*gen_roster_resolve_t)(void *ud, const char *presence);

/* Lists the members of the queues of set, each agent once (see
 * gen_members.h: one activity query per 100 queues, per-queue listings
 * only where that answer is incomplete, those within budget, so that a
 * rate-limited org gets the rest at a later refresh), and puts them in r
 * under lock (gen_roster_replace; *changed: members came or went). On a
 * partial listing the agents known before are kept, with their states. A
 * failure keeps r and is logged through org (rate-limited by rl). Only the
 * caller's thread may change r's members: they are read without the lock.
 * 0 or a negative status. */
int gen_roster_refresh(gen_roster_t *r, pthread_mutex_t *lock, gen_http_t *http,
                       const gen_org_t *org, gen_ratelimit_t *rl,
                       const gen_entity_set_t *set, cdtime_t budget,
                       gen_roster_resolve_t resolve, void *ud, bool *changed);

/* The agents' baseline of user_ids[0..n-1] (at most
 * GEN_ROSTER_USERS_PER_QUERY: the request line stays under 4 KiB): GET
 * /api/v2/users?expand=routingStatus&expand=presence&id=…, each user
 * document handed to apply under lock, one at a time (events flow between
 * them). A failure is logged through org (rate-limited by rl). 0 or a
 * negative status. */
#define GEN_ROSTER_USERS_PER_QUERY 80
int gen_roster_baseline(gen_http_t *http, const char *const *user_ids, size_t n,
                        pthread_mutex_t *lock,
                        void (*apply)(void *ud, json_object *user), void *ud,
                        const gen_org_t *org, gen_ratelimit_t *rl);

void gen_roster_free(gen_roster_t *r);

#endif /* GEN_ROSTER_H */
