/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: operational events of genesys_platform, counted per
 * event definition and closed interval (OperationalEvents).
 *
 * Genesys counts the events it detects (a data action failed, a flow took
 * its error path, ...) per event definition: POST
 * /api/v2/usage/events/aggregates/query takes an interval and nothing else
 * and answers one eventCount per definition for the whole of it; GET
 * /api/v2/usage/events/definitions names them; both need
 * usage:events:view. One request is one bucket, so the engine plans one
 * bucket a range and has no revisit window (it would ask for every recent
 * bucket again with each new one); the settle delay covers the events
 * counted soon, and a revisit schedule (OperationalEventsRevisitAt, by
 * default 1 h and 24 h after a bucket's end: one request a bucket and age,
 * org-wide) the later ones, a changed bucket dispatched again with its
 * counts as the analytics revisits do. The answer is rewritten
 * into an aggregates answer, every listed definition given a bucket (0
 * when the answer leaves it out), and goes through gen_aggregates' loop
 * and sink, a row of genesys_platform's history table (replayable within
 * the 10 days Genesys keeps them; the backfill keys are capped there).
 * tests/sim/README.md, Operational events, has the evidence.
 */
#ifndef GEN_OPEVENTS_H
#define GEN_OPEVENTS_H 1

#include "gen_aggregates.h"
#include "gen_entity.h"
#include "gen_family.h"

#define GEN_OPEV_DEFS_PATH "/api/v2/usage/events/definitions"
#define GEN_OPEV_AGG_PATH "/api/v2/usage/events/aggregates/query"
/* How long Genesys keeps operational events. */
#define GEN_OPEV_RETENTION_S (10 * 86400)
/* Requests (buckets) per read at most: a 10-day backfill of PT15M buckets
 * (960) takes 40 reads. */
#define GEN_OPEV_QUERIES_PER_READ 24

typedef struct {
  bool enabled; /* OperationalEvents */
  int64_t granularity_ms;
  cdtime_t settle, horizon, initial;
  gen_revisit_t revisit_at;   /* OperationalEventsRevisitAt */
  gen_entity_filter_t filter; /* EventDefinitionId, EventDefinitionName */
  const char *state_dir;      /* NULL: <BaseDir>/genesys (no key; tests) */
} gen_opev_config_t;

/* Off; PT15M, settle 300 s, revisits at 1 h and 24 h, backfill 24 h, no
 * initial backfill. */
void gen_opev_config_init(gen_opev_config_t *c);
void gen_opev_config_release(gen_opev_config_t *c);
/* One of OperationalEvents, OperationalEventsGranularity,
 * OperationalEventsSettleDelay, OperationalEventsRevisitAt,
 * OperationalEventsBackfillHorizon,
 * OperationalEventsInitialBackfill, EventDefinitionId, EventDefinitionName:
 * 0, a negative errno (logged, naming the key), or GEN_CONFIG_NOT_MINE. A
 * backfill beyond the 10 days Genesys keeps is capped there (logged,
 * naming the key). */
extern const gen_config_table_t gen_opev_keys;

/* Its engine's configuration (the interval engine's keys from the
 * OperationalEvents* ones): one bucket a request, no revisit window, the
 * revisit schedule of OperationalEventsRevisitAt. Release it with
 * gen_interval_config_release. */
void gen_opev_interval(const gen_opev_config_t *c, gen_interval_config_t *ic);

/* One org's operational events: the family's state across reads (its
 * engine and request counts are the driver's, gen_family.h). */
typedef struct {
  gen_client_t *client;
  const char *plugin;
  const gen_opev_config_t *config;
  const gen_log_org_t *who;
  gen_entity_set_t defs; /* the definitions listed last */
  uint64_t listings, listing_failures;
  gen_interval_range_t asked; /* the range of the request in flight */
  gen_ratelimit_t complain;
} gen_opev_t;

/* The state for client, plugin, config and who (borrowed); NULL when out
 * of memory. gen_opev_free(NULL) does nothing. It and gen_opev_collect take
 * the state as the family row's callbacks do (gp_history). */
gen_opev_t *gen_opev_new(gen_client_t *client, const char *plugin,
                         const gen_opev_config_t *config,
                         const gen_log_org_t *who);
void gen_opev_free(void *state);

/* One run (gen_family_run_t): when a bucket is due, lists the definitions
 * and asks for every bucket due, one request each. 0, or the failure. */
int gen_opev_collect(void *state, const gen_family_run_t *run);

/* Self-metrics platform_requests and platform_failures, type instances
 * operational_events (counts, the driver's) and event_definitions. */
void gen_opev_dispatch_self(const gen_opev_t *ev,
                            const gen_agg_counts_t *counts);

/* Writes an EventAggregatesResponse (doc) into a as the aggregates answer
 * the loop takes: {"results": [{group: {eventDefinitionId}, data: [{interval:
 * range, metrics: [{metric: "eventCount", stats: {count}}]}]}]}, one result
 * for each definition of defs (count 0 when the answer leaves it out;
 * entries of one definition added up), none for a definition not in defs
 * (listed since, or filtered out). An entry without an id or a
 * whole non-negative eventCount is left out and counted in *skipped.
 * 0, -EINVAL (not an object, or eventDefinitionAggregates not an array; no
 * eventDefinitionAggregates is no events), or -ENOMEM. */
int gen_opev_normalize(const gen_entity_set_t *defs,
                       const gen_interval_range_t *range, json_object *doc,
                       gen_agg_answer_t *a, size_t *skipped);

/* The query of ev and where its values go (out), borrowing ev. */
gen_agg_query_t gen_opev_query(gen_opev_t *ev);

#endif /* GEN_OPEVENTS_H */
