/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the answer of POST /api/v2/analytics/queues/
 * observations/query read into the items gen_obs makes of a notification,
 * so that a baseline after a (re)connect and the stream apply the same
 * way. Kept apart from gen_obs, which parses notifications with gen_jscan
 * and nothing else; this reads a json-c document.
 */
#ifndef GEN_OBS_QUERY_H
#define GEN_OBS_QUERY_H 1

#include "gen_obs.h"

#include <json-c/json.h>

/* The items of one result group's data[] (at most max; unknown metrics and
 * entries without stats are left out). A negative count is taken as absent.
 * since_ms is the earliest observationDate of an item's observations; a
 * longest-waiting (interacting) item without one takes the waiting
 * (interacting) conversations' earliest, which says when the oldest began.
 * Returns the number of items. */
size_t gen_obs_query_items(json_object *data, gen_obs_item_t *items,
                           size_t max);

/* Calls each for every result group of an answer {results: [{group:
 * {queueId, mediaType}, data: [...]}]}: its queue id (NULL when absent),
 * media type (NULL for the user group) and items. Returns the number of
 * groups. */
typedef void (*gen_obs_query_each_t)(void *ud, const char *queue_id,
                                     const char *media_type,
                                     const gen_obs_item_t *items, size_t n);
size_t gen_obs_query_groups(json_object *answer, gen_obs_query_each_t each,
                            void *ud);

#endif /* GEN_OBS_QUERY_H */
