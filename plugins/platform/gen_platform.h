/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the telephony and platform health documents of
 * genesys_platform, read (no I/O here): edges and trunks of the telephony
 * listings, their metrics (GET …/edges/metrics?edgeIds=,
 * …/edges/trunks/metrics?trunkIds=), and the components of a Statuspage
 * document (the Genesys Cloud status page). Every reader takes each form
 * the public record allows (tests/sim/README.md, "Telephony and platform
 * health") and skips, and counts, what it cannot use.
 */
#ifndef GEN_PLATFORM_H
#define GEN_PLATFORM_H 1

#include "gen_stats.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ids a metrics request may name: "Maximum of 100 edge ids allowed" (SDK
 * documentation); trunks UNCONFIRMED, taken as the edges'. */
#define GEN_PF_MAX_IDS 100
/* Page size of the edge and trunk listings (the maximum UNCONFIRMED). */
#define GEN_PF_PAGE_SIZE 100
#define GEN_PF_STATUS_URL                                                      \
  "https://status.mypurecloud.com/api/v2/components.json"

/* An edge of GET /api/v2/telephony/providers/edges; strings borrowed from
 * the entity. online: onlineStatus ONLINE 1, OFFLINE 0; active: statusCode
 * ACTIVE 1, any other code 0; -1 when absent (or an unknown onlineStatus).
 * deployment: edgeDeploymentType (HARDWARE, LDM, CDM, …), NULL when
 * absent. unknown_online, unknown_code: the onlineStatus or statusCode when
 * it is a word this version does not know (the SDK's Edge model: ONLINE,
 * OFFLINE; NEW … ACTIVE, INACTIVE, RMA, UNPAIRING, UNPAIRED,
 * INITIALIZING), for the caller to count; NULL otherwise. An unknown code
 * is still not ACTIVE: active 0. */
typedef struct {
  const char *id, *name, *deployment;
  int online, active;
  const char *unknown_online, *unknown_code;
} gen_pf_edge_t;
/* 0, or -EINVAL for an entity without an id, or with one that cannot go
 * into a query string as it is (anything but letters, digits, '-', '_',
 * '.'; longer than 64 bytes): the metrics requests name the ids. */
int gen_pf_edge_read(json_object *entity, gen_pf_edge_t *out);

/* A trunk of GET /api/v2/telephony/providers/edges/trunks: connected
 * (connectedStatus.connected), in_service (inService), enabled (enabled,
 * its edge in service): 1, 0, or -1 when absent; type: trunkType (EXTERNAL,
 * PHONE, EDGE), NULL when absent. */
typedef struct {
  const char *id, *name, *type;
  int connected, in_service, enabled;
} gen_pf_trunk_t;
int gen_pf_trunk_read(json_object *entity, gen_pf_trunk_t *out); /* same */

/* Where the readers below put a value: the entity's id, a type of
 * types/genesys.db and its type instance (NULL: none). */
typedef void (*gen_pf_put_t)(void *ud, const char *id, const char *type,
                             const char *type_instance, double value);

/* How old an entry's eventTime may be to be current: older than
 * max_age_ms before now_ms, it is left out and counted in stale (an
 * offline edge answers its last metrics, hours old). An entry without
 * eventTime is current; one with an unreadable eventTime is skipped. */
typedef struct {
  int64_t now_ms, max_age_ms;
  size_t stale;
} gen_pf_age_t;

/* The metrics documents in each form allowed: an array of EdgeMetrics (or
 * TrunkMetrics), an object holding them in "entities", or one of them
 * alone. Edges: edge_cpu_active (the "total" processor's activeTimePct,
 * else 100 - idleTimePct), edge_memory_used and edge_memory_available per
 * memory type, edge_disk_used and edge_disk_available per partition,
 * edge_uptime (seconds). Trunks: trunk_calls inbound and outbound. Only
 * current entries (age; NULL: every one). Returns 0 with *skipped the
 * entries (or parts) not usable, or -EINVAL when doc has none of the
 * forms. */
int gen_pf_edge_metrics_read(json_object *doc, gen_pf_age_t *age,
                             gen_pf_put_t put, void *ud, size_t *skipped);
int gen_pf_trunk_metrics_read(json_object *doc, gen_pf_age_t *age,
                              gen_pf_put_t put, void *ud, size_t *skipped);

/* A Statuspage component status as a level: operational 0,
 * under_maintenance 1, degraded_performance 2, partial_outage 3,
 * major_outage 4; -1 for anything else. */
int gen_pf_status_level(const char *status);

/* Each component (not a group) of a Statuspage document (components.json
 * or summary.json: a "components" array), with the name of its group (""
 * without one: by its group_id, else by the group whose "components" list
 * holds its id) and its level; a component whose status is not one of the
 * five is counted in *unknown (and its word through sink, field "status",
 * when sink is not NULL) and not given, one without a name or status in
 * *skipped. 0, or -EINVAL without a "components" array. */
typedef void (*gen_pf_component_t)(void *ud, const char *group,
                                   const char *name, int level);
int gen_pf_status_read(json_object *doc, gen_pf_component_t fn, void *ud,
                       const gen_unknown_sink_t *sink, size_t *unknown,
                       size_t *skipped);

/* The status page group of the org's region, an fnmatch pattern (such as
 * "EMEA (Frankfurt)"), from the region's domain or the API base URL
 * ("https://api.mypurecloud.de"); NULL for a region whose group we do not
 * know. */
const char *gen_pf_region_group(const char *domain_or_url);

/* The type instance of a component: "<group>-<name>", or name alone. */
void gen_pf_component_label(const char *group, const char *name, char *out,
                            size_t size);

#endif /* GEN_PLATFORM_H */
