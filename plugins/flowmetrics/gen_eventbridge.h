/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: Genesys Cloud events that Amazon EventBridge pushes to
 * the receiver (an API destination), taken as a gen_receiver handler.
 *
 * One POST is one event: {version, id, detail-type, source, …, detail:
 * {topicName, version, eventBody}}. Its envelope must carry an id and the
 * detail-type the owner expects, and pass the owner's check of its topic
 * and body; anything else is refused with 400 (EventBridge does not send a
 * 4xx again). EventBridge delivers at least once: an id
 * already taken (gen_recent) is answered 200 without the owner seeing it
 * again, and an id is remembered only once the owner has kept its event.
 */
#ifndef GEN_EVENTBRIDGE_H
#define GEN_EVENTBRIDGE_H 1

#include "gen_log.h"

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
  const char *detail_type; /* "v2.detail.events.conversation.{id}.attributes" */
  size_t recent_ids;       /* ids remembered (gen_recent's capacity) */
  /* The owner's check of detail.topicName and detail.eventBody (neither
   * NULL): false refuses the event. */
  bool (*valid)(void *ud, const char *topic, json_object *body);
  /* Records a new event: the HTTP status to answer, 2xx once kept (the id
   * is then remembered); anything else makes EventBridge send it again. */
  unsigned (*take)(void *ud, json_object *body);
  void *ud;
  const gen_log_org_t *who;  /* whose lines (borrowed) */
  gen_ratelimit_t *complain; /* the owner's, for refused events */
} gen_eventbridge_options_t;

typedef struct {
  atomic_uint_fast64_t events;     /* new events handed to take() */
  atomic_uint_fast64_t duplicates; /* ids taken before: dropped */
  atomic_uint_fast64_t malformed;  /* refused with 400 */
} gen_eventbridge_stats_t;

typedef struct gen_eventbridge_s gen_eventbridge_t;

/* options (strings too) are borrowed for the intake's life. NULL when out
 * of memory. */
gen_eventbridge_t *gen_eventbridge_new(const gen_eventbridge_options_t *o);
void gen_eventbridge_free(gen_eventbridge_t *eb);

/* One POSTed body (gen_receiver_handler_t, eb the user data): the HTTP
 * status to answer. Any thread. */
unsigned gen_eventbridge_handle(void *eb, const char *text, size_t len);

gen_eventbridge_stats_t *gen_eventbridge_stats(gen_eventbridge_t *eb);

#endif /* GEN_EVENTBRIDGE_H */
