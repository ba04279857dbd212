/* SPDX-License-Identifier: MIT */
/* collectd-genesys: the live state of a queue from its observations (see
 * gen_queue_state.h). */
#include "gen_queue_state.h"

#include "gen_json.h"
#include "gen_obs_query.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A longest value older than this is reported (and still kept: an email
 * can wait that long, a misread timestamp comes out far older). */
#define GEN_QS_LONGEST_SANE_MS (86400 * 1000)
/* Clock skew tolerated before a longest value from the future is reported. */
#define GEN_QS_SKEW_MS 5000

static void report(const gen_qs_report_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void report(const gen_qs_report_t *r, const char *fmt, ...) {
  if (r == NULL || r->malformed == NULL)
    return;
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  r->malformed(r->ud, what);
}

/* The instant the oldest conversation of a longest item entered its state,
 * or 0 when the item says there is none. calculatedMetricValue comes in two
 * forms: a duration in ms, or (as live orgs answer) the epoch ms of that
 * instant; a value above 1e12 ms (2001) is read as the latter. An
 * observationDate of the answer, when there is one, is preferred. */
static cdtime_t longest_since(const gen_obs_item_t *it, const char *queue,
                              cdtime_t now, const gen_qs_report_t *r) {
  if (it->since_ms > 0)
    return gen_ms_to_cdtime(it->since_ms);
  if (!it->has_value || (it->has_count && it->count == 0))
    return 0;
  double v = it->calculated_value;
  int64_t now_ms = gen_cdtime_to_ms(now);
  int64_t since_ms = v > 1e12 ? (int64_t)v : now_ms - (int64_t)v;
  const char *metric = gen_obs_metric_name(it->metric);
  if (since_ms > now_ms + GEN_QS_SKEW_MS) {
    report(r, "queue %s: %s %.0f is %.1f s in the future; read as 0", queue,
           metric, v, (double)(since_ms - now_ms) / 1000.0);
    return now;
  }
  if (since_ms > now_ms) /* clock skew: the oldest entered "now" */
    return now;
  if (now_ms - since_ms > GEN_QS_LONGEST_SANE_MS)
    report(r, "queue %s: %s %.0f makes %.0f s, over a day", queue, metric, v,
           (double)(now_ms - since_ms) / 1000.0);
  return gen_ms_to_cdtime(since_ms);
}

/* Scalar metrics of one message: entries qualified by a status add up to
 * the total; an unqualified entry is the total itself and wins (so a
 * message carrying both never counts twice). */
typedef struct {
  bool carried[GEN_OBS_M_COUNT];
  bool has_total[GEN_OBS_M_COUNT];
  int64_t total[GEN_OBS_M_COUNT];
  int64_t sum[GEN_OBS_M_COUNT];
} counts_t;

static void count_item(counts_t *c, const gen_obs_item_t *it) {
  if (!it->has_count)
    return;
  c->carried[it->metric] = true;
  if (it->qualifier[0] == '\0') {
    c->has_total[it->metric] = true;
    c->total[it->metric] = it->count;
  } else {
    c->sum[it->metric] += it->count;
  }
}

/* Sets *field when the message carried the metric; true when it did. */
static bool take_count(const counts_t *c, gen_obs_metric_t m, int64_t *field) {
  if (!c->carried[m])
    return false;
  *field = c->has_total[m] ? c->total[m] : c->sum[m];
  return true;
}

/* The earlier of two moments, 0 meaning none (several longest entries,
 * qualified, make the oldest of them). */
static cdtime_t oldest(cdtime_t a, cdtime_t b) {
  return a == 0 || (b != 0 && b < a) ? b : a;
}

void gen_qs_apply_media(gen_qs_media_t *s, const gen_obs_item_t *items,
                        size_t n, const char *queue, cdtime_t now,
                        const gen_qs_report_t *r) {
  counts_t c;
  memset(&c, 0, sizeof(c));
  bool lw = false, li = false;
  cdtime_t waiting_since = 0, interacting_since = 0;
  for (size_t i = 0; i < n; i++) {
    const gen_obs_item_t *it = &items[i];
    switch (it->metric) {
    case GEN_OBS_M_WAITING:
    case GEN_OBS_M_INTERACTING:
    case GEN_OBS_M_ALERTING:
      count_item(&c, it);
      break;
    case GEN_OBS_M_LONGEST_WAITING:
      waiting_since = oldest(waiting_since, longest_since(it, queue, now, r));
      lw = true;
      break;
    case GEN_OBS_M_LONGEST_INTERACTING:
      interacting_since =
          oldest(interacting_since, longest_since(it, queue, now, r));
      li = true;
      break;
    default:
      break;
    }
  }
  bool any = lw || li;
  any |= take_count(&c, GEN_OBS_M_WAITING, &s->waiting);
  any |= take_count(&c, GEN_OBS_M_INTERACTING, &s->interacting);
  any |= take_count(&c, GEN_OBS_M_ALERTING, &s->alerting);
  if (lw)
    s->waiting_since = waiting_since;
  else if (c.carried[GEN_OBS_M_WAITING] && s->waiting == 0)
    s->waiting_since = 0; /* nobody waits any more */
  if (li)
    s->interacting_since = interacting_since;
  else if (c.carried[GEN_OBS_M_INTERACTING] && s->interacting == 0)
    s->interacting_since = 0;
  s->seen = s->seen || any;
}

/* The API leaves out statuses and presences with no agents, so a message
 * that carries the group's snapshot (oMemberUsers or oActiveUsers, always
 * present, 0 included) or any entry of a family replaces that family
 * whole. */
void gen_qs_apply_agents(gen_qs_agents_t *a, const gen_obs_item_t *items,
                         size_t n, gen_presence_map_t *presences,
                         const gen_qs_report_t *r) {
  counts_t c;
  memset(&c, 0, sizeof(c));
  int64_t routing[GEN_ROUTING_COUNT] = {0}, presence[GEN_PRESENCE_COUNT] = {0};
  bool has_routing = false, has_presence = false;
  for (size_t i = 0; i < n; i++) {
    const gen_obs_item_t *it = &items[i];
    int k;
    switch (it->metric) {
    case GEN_OBS_M_MEMBER_USERS:
    case GEN_OBS_M_ACTIVE_USERS:
    case GEN_OBS_M_ON_QUEUE_USERS:
    case GEN_OBS_M_OFF_QUEUE_USERS:
      count_item(&c, it);
      break;
    case GEN_OBS_M_USER_ROUTING_STATUSES:
      has_routing = true;
      k = gen_routing_from_name(it->qualifier);
      if (k >= 0)
        routing[k] += it->count;
      else /* a status Genesys added: that entry alone left out */
        gen_unknown_note(r ? r->unknown : NULL, "routingStatus", it->qualifier);
      break;
    case GEN_OBS_M_USER_PRESENCES:
      has_presence = true;
      k = gen_presence_resolve(presences, it->qualifier, NULL);
      presence[k] += it->count;
      if (k == GEN_PRESENCE_OTHER)
        gen_unknown_note(r ? r->unknown : NULL, "presence", it->qualifier);
      break;
    default:
      break;
    }
  }
  bool snapshot =
      c.carried[GEN_OBS_M_MEMBER_USERS] || c.carried[GEN_OBS_M_ACTIVE_USERS];
  bool any = has_routing || has_presence;
  any |= take_count(&c, GEN_OBS_M_MEMBER_USERS, &a->member);
  any |= take_count(&c, GEN_OBS_M_ACTIVE_USERS, &a->active);
  /* The qualified oOnQueueUsers (one entry per routing status) leaves out
   * the statuses at 0, so a snapshot without any entry is none on queue. */
  if (take_count(&c, GEN_OBS_M_ON_QUEUE_USERS, &a->on_queue))
    any = true;
  else if (snapshot)
    a->on_queue = 0;
  any |= take_count(&c, GEN_OBS_M_OFF_QUEUE_USERS, &a->off_queue);
  if (has_routing || snapshot)
    memcpy(a->routing, routing, sizeof(routing));
  if (has_presence || snapshot)
    memcpy(a->presence, presence, sizeof(presence));
  a->seen = a->seen || any;
}

/* A longest value at time t. */
static double longest_at(cdtime_t since, cdtime_t t) {
  if (since == 0 || t <= since)
    return 0;
  return CDTIME_T_TO_DOUBLE(t - since);
}

void gen_qs_put_media(const gen_qs_media_t *s, const gen_qs_media_t *old,
                      const char *media, cdtime_t t, gen_put_t put, void *ud) {
  bool all = old == NULL || !old->seen;
  if (!s->seen)
    return;
  if (all || old->waiting != s->waiting)
    put(ud, "waiting", media, (double)s->waiting, false);
  if (all || old->interacting != s->interacting)
    put(ud, "interacting", media, (double)s->interacting, false);
  if (all || old->alerting != s->alerting)
    put(ud, "alerting", media, (double)s->alerting, false);
  if (all || old->waiting_since != s->waiting_since)
    put(ud, "longest_waiting", media, longest_at(s->waiting_since, t), false);
  if (all || old->interacting_since != s->interacting_since)
    put(ud, "longest_interacting", media, longest_at(s->interacting_since, t),
        false);
}

bool gen_qs_media_values(const gen_qs_media_t *s, const gen_qs_media_t *old,
                         cdtime_t t, double values[GEN_QS_LIST_LEN]) {
  if (!s->seen)
    return false;
  if (old != NULL && old->seen && old->waiting == s->waiting &&
      old->interacting == s->interacting && old->alerting == s->alerting &&
      old->waiting_since == s->waiting_since &&
      old->interacting_since == s->interacting_since)
    return false;
  values[0] = (double)s->waiting;
  values[1] = (double)s->interacting;
  values[2] = (double)s->alerting;
  values[3] = longest_at(s->waiting_since, t);
  values[4] = longest_at(s->interacting_since, t);
  return true;
}

void gen_qs_put_agents(const gen_qs_agents_t *a, const gen_qs_agents_t *old,
                       gen_put_t put, void *ud) {
  bool all = old == NULL || !old->seen;
  if (!a->seen)
    return;
  if (all || old->member != a->member)
    put(ud, "agents", "member", (double)a->member, false);
  if (all || old->active != a->active)
    put(ud, "agents", "active", (double)a->active, false);
  if (all || old->on_queue != a->on_queue)
    put(ud, "agents", "on_queue", (double)a->on_queue, false);
  if (all || old->off_queue != a->off_queue)
    put(ud, "agents", "off_queue", (double)a->off_queue, false);
  for (int k = 0; k < GEN_ROUTING_COUNT; k++)
    if (all || old->routing[k] != a->routing[k])
      put(ud, "agents_routing", gen_routing_instance(k), (double)a->routing[k],
          false);
  for (int k = 0; k < GEN_PRESENCE_COUNT; k++)
    if (all || old->presence[k] != a->presence[k])
      put(ud, "agents_presence", gen_presence_instance(k),
          (double)a->presence[k], false);
}

json_object *gen_qs_query_body(const char *const *queue_ids, size_t n) {
  json_object *body = json_object_new_object();
  json_object_object_add(body, "filter",
                         gen_json_or_filter("queueId", queue_ids, n));
  json_object *metrics = json_object_new_array();
  for (int m = GEN_OBS_M_UNKNOWN + 1; m < GEN_OBS_M_QUEUE_END; m++)
    json_object_array_add(metrics, json_object_new_string(gen_obs_metric_name(
                                       (gen_obs_metric_t)m)));
  json_object_object_add(body, "metrics", metrics);
  return body;
}

/* One answer being read: which media groups of which queue it answered. */
typedef struct {
  const gen_qs_baseline_t *cb;
  const char *const *queue_ids;
  size_t n;
  gen_presence_map_t *presences;
  bool mapping_failed;
  bool answered[GEN_QS_QUERY_MAX][GEN_MEDIA_COUNT];
} answer_t;

static void answer_group(void *ud, const char *queue_id, const char *media_type,
                         const gen_obs_item_t *items, size_t n) {
  answer_t *a = ud;
  int media = media_type ? gen_media_from_name(media_type) : -1;
  if (queue_id != NULL && media_type != NULL && media < 0)
    gen_unknown_note(a->cb->unknown, "mediaType", media_type);
  if (queue_id == NULL || (media_type != NULL && media < 0))
    return; /* a media type this version does not know: that group alone */
  a->cb->group(a->cb->ud, queue_id, media, items, n);
  for (size_t i = 0; media >= 0 && i < a->n; i++)
    if (strcmp(a->queue_ids[i], queue_id) == 0)
      a->answered[i][media] = true;
}

static int answer_mapping(void *ud, const char *id, const char *system) {
  answer_t *a = ud;
  if (gen_presence_map_add(a->presences, id, system) != 0)
    a->mapping_failed = true;
  return 0; /* the groups still count, their presences as other */
}

int gen_qs_baseline(gen_http_t *http, const char *const *queue_ids, size_t n,
                    pthread_mutex_t *lock, gen_presence_map_t *presences,
                    const gen_qs_baseline_t *cb, const gen_org_t *org,
                    gen_ratelimit_t *rl) {
  if (n > GEN_QS_QUERY_MAX)
    return -EINVAL;
  json_object *body = gen_qs_query_body(queue_ids, n);
  gen_http_response_t resp;
  char err[512];
  /* 100 queues (GEN_QS_QUERY_MAX) x 6 media x 20 metric and qualifier
   * pairs x 120 B = 1.4 MB, the waiting and interacting conversations'
   * observations beside (100 each, 200 B): 8 MiB. */
  int status = gen_http_post_text(
      http, "/api/v2/analytics/queues/observations/query",
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
      GEN_HTTP_BOUND(GEN_MIB(8), "queue observations"), &resp, err,
      sizeof(err));
  json_object_put(body);
  if (status != 0) {
    gen_http_response_recycle(http, &resp);
    gen_org_log(org, rl, LOG_ERR, "queue observations query failed: %s", err);
    return status;
  }
  answer_t a = {
      .cb = cb, .queue_ids = queue_ids, .n = n, .presences = presences};
  pthread_mutex_lock(lock);
  /* Org presence ids of oUserPresences, as this answer maps them, then
   * the groups. */
  int read =
      gen_obs_query_read(resp.body, resp.body_len, "queueId", answer_mapping,
                         answer_group, &a, err, sizeof(err));
  if (read >= 0 && cb->absent != NULL)
    for (size_t i = 0; i < n; i++)
      for (int m = 0; m < (int)GEN_MEDIA_COUNT; m++)
        if (!a.answered[i][m])
          cb->absent(cb->ud, queue_ids[i], m);
  pthread_mutex_unlock(lock);
  long http_status = resp.status;
  gen_http_response_recycle(http, &resp);
  if (a.mapping_failed)
    gen_org_log(org, NULL, LOG_WARNING, "out of memory for presence ids");
  if (read == -EINVAL) {
    gen_http_count_malformed(http);
    gen_org_log(org, rl, LOG_ERR,
                "queue observations query failed: malformed JSON in HTTP %ld "
                "answer: %s",
                http_status, err);
    return GEN_HTTP_ERR_JSON;
  }
  if (read < 0)
    gen_org_log(org, rl, LOG_ERR, "queue observations query failed: %s", err);
  return read < 0 ? read : 0;
}

const gen_summary_type_t gen_qs_summary_types[] = {
    {"waiting", GEN_SUMMARY_LEVEL},
    {"interacting", GEN_SUMMARY_LEVEL},
    {"alerting", GEN_SUMMARY_LEVEL},
    {"longest_waiting", GEN_SUMMARY_AGE},
    {"longest_interacting", GEN_SUMMARY_AGE},
    {"agents", GEN_SUMMARY_LEVEL},
    {"agents_routing", GEN_SUMMARY_LEVEL},
    {"agents_presence", GEN_SUMMARY_LEVEL},
    {"org_agents", GEN_SUMMARY_LEVEL},
    {"org_agents_routing", GEN_SUMMARY_LEVEL},
    {"org_agents_presence", GEN_SUMMARY_LEVEL},
};
const size_t gen_qs_summary_types_count =
    sizeof(gen_qs_summary_types) / sizeof(gen_qs_summary_types[0]);
