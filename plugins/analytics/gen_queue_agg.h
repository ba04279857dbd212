/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the queue aggregates of genesys_analytics, for the
 * plugin and for collectd-genesys-check --replay alike: their keys
 * (MediaType, Metric, GroupBy), the conversation aggregates query per batch
 * of queues and for the metrics attributed to no queue, how an answer
 * group becomes an engine key, and the series names of a key. One module,
 * so that a replayed value lands on the series the plugin dispatches.
 */
#ifndef GEN_QUEUE_AGG_H
#define GEN_QUEUE_AGG_H 1

#include "gen_aggregates.h"
#include "gen_conv_agg.h"
#include "gen_entity.h"

#define GEN_QUEUE_AGG_PATH "/api/v2/analytics/conversations/aggregates/query"
/* The scope, key and plugin_instance of the metrics Genesys attributes to
 * no queue (GEN_CONV_AGG_ORG): not a queue id (those are UUIDs). */
#define GEN_QUEUE_AGG_ORG_SCOPE "org"
/* queueId predicates per request: the documented user/observation limit,
 * used here too (aggregate predicate limits are UNCONFIRMED). */
#define GEN_QUEUE_AGG_MAX_QUEUES 100

typedef struct {
  unsigned media_mask; /* MediaType (0 = all) */
  bool metric_on[GEN_CONV_AGG_METRICS];
  bool metrics_given;
  bool by_direction, by_wrapup;
  long queues_per_query; /* QueuesPerQuery */
} gen_queue_agg_config_t;

extern const gen_config_table_t gen_queue_agg_keys;
/* After the last key: the "default" set when no Metric key was given. */
void gen_queue_agg_config_done(gen_queue_agg_config_t *c);

/* One org's queue aggregates: its configuration, queues and wrap-up code
 * names (borrowed; the caller lists them). */
typedef struct {
  const gen_queue_agg_config_t *config;
  const gen_org_t *org;
  const char *host; /* NULL: collectd's hostname */
  const char *plugin;
  int64_t granularity_ms;
  const gen_entity_set_t *queues, *wrapups;
} gen_queue_agg_t;

/* The query per batch of queues (scopes: queue ids), or, org true, of the
 * metrics attributed to no queue (one scope, GEN_QUEUE_AGG_ORG_SCOPE), and
 * where its values go (out: the plugin's series names). */
gen_agg_query_t gen_queue_agg_query(gen_queue_agg_t *qa, bool org);
/* Whether the metrics on ask the per-queue (org false) or the org query. */
bool gen_queue_agg_on(const gen_queue_agg_config_t *c, bool org);

/* A row per queue and media type of another aggregates query (the
 * resolutions, speech and text analytics), or per queue alone when it has
 * no mediaType (the workitems): its groups grouped by queueId (and
 * mediaType), its series named as the queue aggregates name a queue. */
typedef struct {
  const gen_org_t *org;
  const char *host; /* NULL: collectd's hostname */
  const char *plugin;
  const gen_entity_set_t *queues;
  const char *tag; /* the first string of its engine keys (state files) */
  unsigned group;  /* its catalogue's result group */
} gen_queue_media_t;

/* Such a row's request: every metric of cat, grouped by group_by, for a
 * batch of queues; the route, what a log line calls the request and the
 * family, the engine keys' tag and the catalogue's result group. */
typedef struct {
  const char *path, *what, *family, *tag;
  unsigned group;
  const gen_agg_catalogue_t *cat;
  const char *const *group_by;
  size_t n_group_by;
} gen_queue_row_def_t;

/* Such a row's query maker's input: its series, and its buckets' length
 * (unused by a family whose buckets are fixed, as the resolutions' day). */
typedef struct {
  gen_queue_media_t qm;
  int64_t granularity_ms;
  const gen_queue_row_def_t *def; /* set by gen_queue_row_query() */
} gen_queue_row_t;

/* The query of row's family def in buckets of row->granularity_ms; row
 * (the org, host, plugin and queues, borrowed from the plugin; def's tag
 * and group are set here) and def are borrowed. */
gen_agg_query_t gen_queue_row_query(gen_queue_row_t *row,
                                    const gen_queue_row_def_t *def);

/* Sets q's reader and output to qm's (borrowed): a result group's engine
 * key is (tag, queueId, mediaType), none when the queue is not one of
 * queues or has no queueId; (tag, queueId) when the group has no
 * mediaType; a key's series is the queue's plugin_instance, the media
 * type (if any) in type_instance. */
void gen_queue_media_use(gen_agg_query_t *q, const gen_queue_media_t *qm);

#endif /* GEN_QUEUE_AGG_H */
