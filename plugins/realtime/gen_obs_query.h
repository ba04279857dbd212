/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the answer of POST /api/v2/analytics/queues/
 * observations/query read into the items gen_obs makes of a notification,
 * so that a baseline after a (re)connect and the stream apply the same
 * way (which reader serves which format: gen_obs.h).
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

#include "gen_obs.h"

/* One organisation presence id of systemToOrganizationMappings and the
 * system presence it maps to; a non-zero return stops the read with it. */
typedef int (*gen_obs_query_mapping_t)(void *ud, const char *id,
                                       const char *system);

/* One result group: its queue id (NULL when absent, not a string or longer
 * than an id), media type (NULL for the user group; "" when not a string
 * or too long for a media type) and the items of its data[] (at most
 * GEN_OBS_MAX_ITEMS; unknown metrics and entries without a metric name or
 * a stats object are left out; a negative count is taken as absent).
 * since_ms is the earliest observationDate of an item's observations; a
 * longest-waiting (interacting) item without one takes the waiting
 * (interacting) conversations' earliest, which says when the oldest
 * began. */
typedef void (*gen_obs_query_each_t)(void *ud, const char *queue_id,
                                     const char *media_type,
                                     const gen_obs_item_t *items, size_t n);

/* Reads an answer {systemToOrganizationMappings: {system: [id, …]},
 * results: [{group: {queueId, mediaType}, data: [{metric, qualifier,
 * stats: {count, calculatedMetricValue}, observations: […]}]}]}: every
 * mapping first (mapping may be NULL), wherever it stands in the text,
 * then each group in order; nothing is called back for a text that is not
 * JSON. An empty text reads as {}. Returns the number
 * of groups, -EINVAL when the text is not JSON (err says why and where,
 * one line), -ENOMEM, or what mapping returned. */
int gen_obs_query_read(const char *text, size_t len,
                       gen_obs_query_mapping_t mapping,
                       gen_obs_query_each_t each, void *ud, char *err,
                       size_t err_size);

#endif /* GEN_OBS_QUERY_H */
