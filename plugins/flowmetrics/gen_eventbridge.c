/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: EventBridge events through the receiver (see
 * gen_eventbridge.h).
 */
#include "gen_eventbridge.h"

#include "gen_json.h"
#include "gen_recent.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct gen_eventbridge_s {
  gen_eventbridge_options_t o;
  gen_eventbridge_stats_t stats;
  pthread_mutex_t lock; /* recent */
  gen_recent_t recent;  /* ids taken */
};

gen_eventbridge_t *gen_eventbridge_new(const gen_eventbridge_options_t *o) {
  gen_eventbridge_t *eb = calloc(1, sizeof(*eb));
  if (eb == NULL)
    return NULL;
  eb->o = *o;
  pthread_mutex_init(&eb->lock, NULL);
  gen_recent_init(&eb->recent, o->recent_ids);
  return eb;
}

void gen_eventbridge_free(gen_eventbridge_t *eb) {
  if (eb == NULL)
    return;
  gen_recent_free(&eb->recent);
  pthread_mutex_destroy(&eb->lock);
  free(eb);
}

gen_eventbridge_stats_t *gen_eventbridge_stats(gen_eventbridge_t *eb) {
  return &eb->stats;
}

/* The event's body when doc is an event of the form the owner takes, with
 * its id in *id; NULL otherwise. */
static json_object *event_body(const gen_eventbridge_t *eb, json_object *doc,
                               const char **id) {
  const gen_eventbridge_options_t *o = &eb->o;
  const char *detail_type = gen_json_get_string(doc, "detail-type");
  json_object *detail = gen_json_get_object(doc, "detail");
  const char *topic = gen_json_get_string(detail, "topicName");
  json_object *body = gen_json_get_object(detail, "eventBody");
  *id = gen_json_get_string(doc, "id");
  if (*id == NULL || (*id)[0] == '\0' || detail_type == NULL ||
      strcmp(detail_type, o->detail_type) != 0 || topic == NULL ||
      body == NULL || !o->valid(o->ud, topic, body))
    return NULL;
  return body;
}

unsigned gen_eventbridge_handle(void *ud, const char *text, size_t len) {
  gen_eventbridge_t *eb = ud;
  const gen_eventbridge_options_t *o = &eb->o;
  json_object *doc = NULL;
  char err[128];
  const char *id = NULL;
  bool parsed = gen_json_parse_net(text, len, &doc, err, sizeof(err)) == 0;
  json_object *body = parsed ? event_body(eb, doc, &id) : NULL;
  if (body == NULL) {
    atomic_fetch_add(&eb->stats.malformed, 1);
    if (!parsed)
      gen_log_org(o->who, o->complain, LOG_WARNING,
                  "receiver: malformed JSON refused: %s", err);
    else
      gen_log_org(o->who, o->complain, LOG_WARNING,
                  "receiver: refused an event that is not an "
                  "EventBridge %s event",
                  o->detail_type);
    json_object_put(doc);
    return 400;
  }
  pthread_mutex_lock(&eb->lock);
  bool duplicate = gen_recent_has(&eb->recent, id);
  pthread_mutex_unlock(&eb->lock);
  unsigned status = 200;
  if (duplicate) {
    /* The owner would not count it again anyway: this saves the work and
     * says so. */
    atomic_fetch_add(&eb->stats.duplicates, 1);
  } else {
    atomic_fetch_add(&eb->stats.events, 1);
    status = o->take(o->ud, body);
    if (status >= 200 && status < 300) {
      pthread_mutex_lock(&eb->lock);
      gen_recent_seen(&eb->recent, id); /* remembered once kept */
      pthread_mutex_unlock(&eb->lock);
    }
  }
  json_object_put(doc);
  return status;
}
