/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: agent states by division, team and management unit of
 * genesys_realtime (AgentStatesByDivision, AgentStatesByTeam,
 * AgentStatesByManagementUnit): the agents of each group by routing status
 * and system presence, from POST /api/v2/analytics/agents/status/counts
 * (groupBy routingStatus and presence), one request a group by its
 * predicate (divisionId, teamId, managementUnitId). A route that answers
 * 400 to the teamId predicate (an API before it) has teams counted from
 * their members instead: one request a team of up to 100 members (userId
 * predicates, "or"; a larger team is the sum of its batches), the members
 * listed (GET /api/v2/teams/{id}/members); one that refuses the
 * managementUnitId predicate has no unit counted. Per queue and org-wide
 * the notifications already count agents; a group has no topic, so it is
 * asked from the read, every AgentStatesEvery, whatever the number of
 * queues, within AgentStatesRequests a minute (a sweep of many groups goes
 * on over the next reads). The divisions, the teams (GET /api/v2/teams),
 * the units (GET /api/v2/workforcemanagement/managementunits) and on the
 * member path each team's members are listed again every
 * AgentStatesListEvery. Only the read thread uses it: no lock.
 */
#ifndef GEN_AGENT_GROUPS_H
#define GEN_AGENT_GROUPS_H 1

#include "gen_client.h"
#include "gen_config.h"
#include "gen_entity.h"
#include "gen_presence.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  bool by_division; /* AgentStatesByDivision */
  bool by_team;     /* AgentStatesByTeam */
  bool by_unit;     /* AgentStatesByManagementUnit */
  cdtime_t every;   /* AgentStatesEvery: how often each group is asked */
  cdtime_t relist;  /* AgentStatesListEvery: groups and members listed */
  long per_minute;  /* AgentStatesRequests: the budget */
} gen_agent_groups_config_t;

extern const gen_config_table_t gen_agent_groups_keys;

/* The families' names in the log and notifications (gen_client_family). */
#define GEN_AG_FAMILY "agent states by group"
#define GEN_AG_TEAMS_FAMILY "agent states by team"
#define GEN_AG_UNITS_FAMILY "agent states by management unit"
/* The most AgentStatesRequests takes: the API's 300 requests a minute of
 * one OAuth client. */
#define GEN_AG_MAX_PER_MINUTE 300
/* userId predicates a request (UNCONFIRMED: 100, as the users queries). */
#define GEN_AG_USERS_PER_REQUEST 100

/* A group's agents by routing status and system presence (gen_presence.h
 * indexes; and routing status "unknown": the enum's UNKNOWN, or a word
 * this version does not know). */
#define GEN_AG_ROUTING_UNKNOWN GEN_ROUTING_COUNT
#define GEN_AG_ROUTING_COUNT (GEN_ROUTING_COUNT + 1)
typedef struct {
  int64_t routing[GEN_AG_ROUTING_COUNT];
  int64_t presence[GEN_PRESENCE_COUNT];
} gen_ag_counts_t;

/* Adds an AnalyticsAgentStateCountsResponse's routingStatusCounts and
 * presenceCounts to *c (a missing list adds nothing: nobody in it). A
 * routing status UNKNOWN counts as "unknown", and so do none (the field is
 * optional) and a word this version does not know; a presence that is no
 * system presence we know (UNKNOWN, none, an org presence of none, a new
 * word) as "other"; a new word is counted in client's unknown_values (field
 * routingStatus or systemPresence; client NULL: not counted). An entry
 * without an integer count of 0 or more is skipped and counted in
 * *malformed. The other lists (segmentCounts, ...) are not
 * read. 0, or -EBADMSG when the text is not such a document (reason in
 * err). */
int gen_ag_read(gen_client_t *client, const char *text, size_t len,
                gen_ag_counts_t *c, size_t *malformed, char *err,
                size_t err_size);

/* The request body: the n predicates of dimension on values, "and" for one,
 * "or" for more. Allocated (free it); NULL without memory. */
char *gen_ag_body(const char *dimension, const char *const *values, size_t n);

typedef struct gen_agent_groups gen_agent_groups_t;

/* NULL when all are off (or out of memory: the caller tells). */
gen_agent_groups_t *gen_agent_groups_new(const gen_agent_groups_config_t *c);
void gen_agent_groups_free(gen_agent_groups_t *g);

/* One read at now (the monotonic clock): the listings when due, then the
 * sweep of every group when due, as far as the budget goes. A 403 stops the
 * family it concerns (said once, gen_client_family); a failed or malformed
 * answer leaves the group without values until one succeeds (logged,
 * rate-limited). The first answer to a teamId or managementUnitId predicate
 * decides its path (said once). Returns the requests made. */
size_t gen_agent_groups_run(gen_agent_groups_t *g, gen_client_t *client,
                            cdtime_t now);

/* Puts every group's counts (type "division_agents_routing",
 * "division_agents_presence", "team_agents_routing", "team_agents_presence",
 * "unit_agents_routing", "unit_agents_presence"; plugin instance the
 * group's name as the org names entities; every routing status, "unknown"
 * included, and presence, 0 included) of the groups whose last answer was
 * read whole. */
typedef void (*gen_ag_put_t)(void *ud, const char *instance, const char *type,
                             const char *type_instance, double value);
void gen_agent_groups_put(const gen_agent_groups_t *g, const gen_org_t *org,
                          gen_ag_put_t put, void *ud);

/* Its self-metrics: requests made, failed requests. */
void gen_agent_groups_dispatch_stats(const gen_agent_groups_t *g,
                                     const char *host, const char *plugin);

#endif /* GEN_AGENT_GROUPS_H */
