/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the observations API's metrics and items, and the one
 * reader of its query's answer (POST /api/v2/analytics/queues/
 * observations/query, genesys_realtime's baselines; POST
 * /api/v2/analytics/flows/observations/query, genesys_flowmetrics' active
 * flows). A notification's queue observation is read into the same items
 * by gen_obs (plugins/realtime), so that a baseline after a (re)connect
 * and the stream apply the same way.
 *
 * Read from its text with gen_jscan, no document: json-c's documents of the
 * answers of 100 queues each, read by every channel's baseline at once,
 * were the plugins' peak of memory at 5,000 queues (34 MB of hash tables;
 * bench/README.md, "Footprint"), and the space they left free stayed in
 * the arenas. The text is held to gen_json_parse's bounds (depth
 * GEN_JSON_MAX_DEPTH, gen_json_bounds) and to RFC 8259, strictly.
 *
 * Members are read as json-c read them: where a member repeats, the last
 * one counts; a member of the wrong type is read as absent; members not
 * read are passed over.
 */
#ifndef GEN_OBS_QUERY_H
#define GEN_OBS_QUERY_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most items kept from one group (or one notification). */
#define GEN_OBS_MAX_ITEMS 64

typedef enum {
  GEN_OBS_M_UNKNOWN = 0,
  GEN_OBS_M_WAITING,               /* oWaiting */
  GEN_OBS_M_INTERACTING,           /* oInteracting */
  GEN_OBS_M_ALERTING,              /* oAlerting */
  GEN_OBS_M_LONGEST_WAITING,       /* oLongestWaiting */
  GEN_OBS_M_LONGEST_INTERACTING,   /* oLongestInteracting */
  GEN_OBS_M_ACTIVE_USERS,          /* oActiveUsers */
  GEN_OBS_M_MEMBER_USERS,          /* oMemberUsers */
  GEN_OBS_M_ON_QUEUE_USERS,        /* oOnQueueUsers */
  GEN_OBS_M_OFF_QUEUE_USERS,       /* oOffQueueUsers */
  GEN_OBS_M_USER_ROUTING_STATUSES, /* oUserRoutingStatuses */
  GEN_OBS_M_USER_PRESENCES,        /* oUserPresences */
  GEN_OBS_M_FLOW,                  /* oFlow, of the flows' observations */
  GEN_OBS_M_COUNT                  /* number of values, not a metric */
} gen_obs_metric_t;
/* The queues' observation metrics are those before it. */
#define GEN_OBS_M_QUEUE_END GEN_OBS_M_FLOW

typedef struct {
  gen_obs_metric_t metric;
  char qualifier[64]; /* "" when absent or null */
  bool has_count;
  int64_t count; /* stats.count, >= 0 */
  bool has_value;
  double calculated_value; /* stats.calculatedMetricValue: a duration or an
                             epoch, in milliseconds */
  int64_t since_ms;        /* never set by gen_obs_parse (0): the earliest
                              observationDate of a query answer's item */
} gen_obs_item_t;

/* "oWaiting" etc.; NULL for GEN_OBS_M_UNKNOWN and out-of-range values. */
const char *gen_obs_metric_name(gen_obs_metric_t m);
/* The metric of a name of n bytes (exact case); GEN_OBS_M_UNKNOWN. */
gen_obs_metric_t gen_obs_metric_from_name(const unsigned char *s, size_t n);

/* One organisation presence id of systemToOrganizationMappings and the
 * system presence it maps to; a non-zero return stops the read with it. */
typedef int (*gen_obs_query_mapping_t)(void *ud, const char *id,
                                       const char *system);

/* One result group: its id, the value of the answer's dimension (queueId,
 * flowId; NULL when absent, not a string or longer than an id), media type
 * (NULL for the user group; "" when not a string or too long for a media type)
 * and the items of its data[] (at most GEN_OBS_MAX_ITEMS; unknown metrics and
 * entries without a metric name or a stats object are left out; a negative
 * count is taken as absent). since_ms is the earliest observationDate of an
 * item's observations; a longest-waiting (interacting) item without one takes
 * the waiting (interacting) conversations' earliest, which says when the oldest
 * began. */
typedef void (*gen_obs_query_each_t)(void *ud, const char *id,
                                     const char *media_type,
                                     const gen_obs_item_t *items, size_t n);

/* Reads an answer {systemToOrganizationMappings: {system: [id, …]},
 * results: [{group: {<dim>, mediaType}, data: [{metric, qualifier,
 * stats: {count, calculatedMetricValue}, observations: […]}]}]}: every
 * mapping first (mapping may be NULL), wherever it stands in the text,
 * then each group in order; nothing is called back for a text that is not
 * JSON. An empty text reads as {}. Returns the number
 * of groups, -EINVAL when the text is not JSON (err says why and where,
 * one line), -ENOMEM, or what mapping returned. */
int gen_obs_query_read(const char *text, size_t len, const char *dim,
                       gen_obs_query_mapping_t mapping,
                       gen_obs_query_each_t each, void *ud, char *err,
                       size_t err_size);

#endif /* GEN_OBS_QUERY_H */
