/* SPDX-License-Identifier: MIT */
/* Real-time adherence of genesys_realtime (gen_adherence.h). */
#include "collectd/core/daemon/collectd.h"

#include "gen_adherence.h"
#include "gen_feature.h"

#include "gen_buf.h"
#include "gen_dispatch.h"
#include "gen_hub.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_minute.h"
#include "gen_names.h"
#include "gen_notice.h"
#include "gen_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UNITS_PATH "/api/v2/workforcemanagement/managementunits"
/* The units the client may use for real-time adherence ("If specified, the
 * list of management units for which the user is authorized to use the
 * requested feature will be returned"); no paging parameters: "Deprecated,
 * paging is not supported" (tests/sim/README.md, "Real-time adherence"). */
#define UNITS_LISTING UNITS_PATH "?feature=RealTimeAdherence"
/* The family's name in unknown_values ("adherence-<field>"). */
#define UNKNOWN_FAMILY "adherence"
/* A unit's adherence: one UserScheduleAdherence a user, 1 KB (user,
 * team, activities, presence, routing status, active queues), for 5,000
 * users (a large unit; no limit documented) = 5 MB, x3; read as one
 * json-c document (gen_json_parse_answer), every AdherenceEvery only. */
#define ADHERENCE_ANSWER GEN_HTTP_BOUND(GEN_MIB(16), "adherence")

typedef struct {
  char user[80];
  int8_t state, impact;
  int64_t since_ms; /* -1: the answer gave none */
} agent_t;

typedef struct {
  agent_t *agents;
  size_t n, cap;
  bool have;        /* read whole at least once */
  cdtime_t read_at; /* the last whole read (0: never) */
} unit_t;

struct gen_adherence {
  gen_adherence_config_t c;
  pthread_mutex_t lock; /* units' agents: the hub's threads and the read */
  gen_entity_set_t set; /* the units followed (read thread writes) */
  unit_t *units;        /* per set item */
  cdtime_t listed_at;   /* 0: never */
  gen_minute_t minute;  /* the budget: AdherenceRequests in any 60 s */
  /* Genesys' clock against ours, from the units' answers (read thread):
   * the change times are Genesys', so are the durations. */
  gen_clock_offset_t clock;
  const gen_org_t *org; /* the notifications' (the first run's client) */
  gen_client_t *client; /* the first run's: unknown words of the topics */
  uint64_t requests, failures, updates, malformed;
  bool refused, none_said; /* none_said: "no unit listed" logged */
  gen_ratelimit_t complain;
};

static const char *const state_names[GEN_ADH_STATES] = {
    "InAdherence", "OutOfAdherence", "Unscheduled", "Unknown",
    "Ignored",     "Explained",      "other"};
static const char *const impact_names[GEN_ADH_IMPACTS] = {
    "Positive", "Negative", "Neutral", "Unknown"};
/* The type instances: the API's names in lower case, words cut by '_'. */
static const char *const state_instances[GEN_ADH_STATES] = {
    "in_adherence", "out_of_adherence", "unscheduled", "unknown",
    "ignored",      "explained",        "other"};
static const char *const impact_instances[GEN_ADH_IMPACTS] = {
    "positive", "negative", "neutral", "unknown"};

const char *gen_adh_state_name(int state) {
  return state >= 0 && state < GEN_ADH_STATES ? state_names[state] : "other";
}

#define HC gen_adherence_config_t
static const gen_config_def_t adh_defs[] = {
    GEN_KEY_BOOL("Adherence", HC, on, false,
                 "agents of each management unit by adherence state"),
    GEN_KEY_SECONDS("AdherenceEvery", HC, every, 30, 86400, 600,
                    "how often each unit's agents are read whole"),
    GEN_KEY_SECONDS("AdherenceListEvery", HC, relist, 60, 86400, 3600,
                    "how often the management units are listed"),
    GEN_KEY_INT("AdherenceMaxUnits", HC, max_units, 1, 5000, 1000,
                "management units followed at most (the first listed)"),
    GEN_KEY_INT("AdherenceRequests", HC, per_minute, 1, 300, 60,
                "adherence requests a minute at most"),
    GEN_KEY_BOOL("AdherenceNotifications", HC, notify, false,
                 "a notification when an agent falls out of adherence and "
                 "when back"),
};
#undef HC
const gen_config_table_t gen_adherence_keys = GEN_CONFIG_TABLE(adh_defs);

int gen_adh_parse_update(json_object *o, gen_adh_update_t *u,
                         gen_client_t *client, char *err, size_t err_size) {
  memset(u, 0, sizeof(*u));
  u->since_ms = -1;
  if (!json_object_is_type(o, json_type_object)) {
    snprintf(err, err_size, "not an object");
    return -EBADMSG;
  }
  const char *user = gen_json_get_string(gen_json_get_object(o, "user"), "id");
  if (user == NULL || user[0] == '\0' || strlen(user) >= sizeof(u->user)) {
    snprintf(err, err_size, "no usable user.id");
    return -EBADMSG;
  }
  const char *state = gen_json_get_string(o, "adherenceState");
  if (state == NULL) {
    snprintf(err, err_size, "no adherenceState string");
    return -EBADMSG;
  }
  snprintf(u->user, sizeof(u->user), "%s", user);
  /* A word Genesys adds is counted (unknown_values) and taken as "other" /
   * "unknown": never a reason to drop the entry. */
  int s = gen_name_index(state_names, GEN_ADH_OTHER, state);
  if (s < 0 && client != NULL)
    gen_client_unknown(client, UNKNOWN_FAMILY, "adherenceState", state);
  u->state = s >= 0 ? s : GEN_ADH_OTHER;
  const char *impact = gen_json_get_string(o, "impact");
  int i = gen_name_index(impact_names, GEN_ADH_IMPACTS, impact);
  if (i < 0 && impact != NULL && client != NULL)
    gen_client_unknown(client, UNKNOWN_FAMILY, "impact", impact);
  u->impact = i >= 0 ? i : GEN_ADH_IMPACT_UNKNOWN;
  /* the topic's name, then the REST model's */
  const char *since = gen_json_get_string(o, "adherenceChangeTime");
  if (since == NULL)
    since = gen_json_get_string(o, "timeOfAdherenceChange");
  int64_t ms;
  if (since != NULL && gen_time_parse(since, &ms) == 0)
    u->since_ms = ms;
  const char *unit = gen_json_get_string(o, "managementUnitId");
  if (unit == NULL)
    unit = gen_json_get_string(gen_json_get_object(o, "managementUnit"), "id");
  if (unit != NULL && strlen(unit) < sizeof(u->unit))
    snprintf(u->unit, sizeof(u->unit), "%s", unit);
  json_object *removed;
  u->removed =
      json_object_object_get_ex(o, "removedFromManagementUnit", &removed) &&
      json_object_get_boolean(removed);
  return 0;
}

int gen_adh_read_listing(const char *text, size_t len, gen_client_t *client,
                         gen_adh_update_t **out, size_t *n, size_t *malformed,
                         char *url, size_t url_size, char *err,
                         size_t err_size) {
  json_object *doc;
  *out = NULL, *n = 0, *malformed = 0;
  if (url != NULL && url_size > 0)
    url[0] = '\0';
  if (gen_json_parse_answer(text, len, &doc, err, err_size) != 0)
    return -EBADMSG;
  json_object *list = json_object_is_type(doc, json_type_array)
                          ? doc
                          : gen_json_get_array(doc, "entities");
  /* downloadUrl: "if the response is too large to send directly"; the
   * entities then absent, or empty (either is taken). */
  const char *download = json_object_is_type(doc, json_type_object)
                             ? gen_json_get_string(doc, "downloadUrl")
                             : NULL;
  if ((list == NULL || json_object_array_length(list) == 0) &&
      download != NULL && download[0] != '\0') {
    int status = GEN_ADH_DOWNLOAD;
    if (url == NULL)
      status = -EBADMSG, snprintf(err, err_size, "a downloadUrl again");
    else if (strlen(download) >= url_size)
      status = -EBADMSG, snprintf(err, err_size, "a downloadUrl too long");
    else
      snprintf(url, url_size, "%s", download);
    json_object_put(doc);
    return status;
  }
  if (list == NULL) {
    snprintf(err, err_size, "no entities list");
    json_object_put(doc);
    return -EBADMSG;
  }
  size_t count = json_object_array_length(list);
  gen_adh_update_t *v = count ? calloc(count, sizeof(*v)) : NULL;
  if (count && v == NULL) {
    json_object_put(doc);
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  char why[128];
  for (size_t k = 0; k < count; k++) {
    if (gen_adh_parse_update(json_object_array_get_idx(list, k), &v[*n], client,
                             why, sizeof(why)) == 0)
      (*n)++;
    else
      (*malformed)++;
  }
  json_object_put(doc);
  *out = v;
  return 0;
}

gen_adherence_t *gen_adherence_new(const gen_adherence_config_t *c) {
  if (!c->on)
    return NULL;
  gen_adherence_t *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return NULL;
  a->c = *c;
  a->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  if (gen_minute_init(&a->minute,
                      c->per_minute > 0 ? (size_t)c->per_minute : 1) != 0) {
    free(a);
    return NULL;
  }
  pthread_mutex_init(&a->lock, NULL);
  return a;
}

static void units_free(unit_t *units, size_t n) {
  for (size_t i = 0; units != NULL && i < n; i++)
    free(units[i].agents);
  free(units);
}

void gen_adherence_free(gen_adherence_t *a) {
  if (a == NULL)
    return;
  units_free(a->units, a->set.count);
  gen_entity_set_free(&a->set);
  gen_minute_free(&a->minute);
  pthread_mutex_destroy(&a->lock);
  free(a);
}

/* A refusal: said once, the family stops (true). Another failure: counted
 * and logged, rate-limited. */
static bool outcome(gen_adherence_t *a, gen_client_t *client, int status,
                    const char *err, const char *what) {
  if (!gen_minute_outcome(client, GEN_ADH_FAMILY, status, err, what,
                          &a->failures, &a->complain))
    return false;
  return a->refused = true;
}

/* The agent of unit u that is user (added when add; NULL without one). */
static agent_t *agent_of(unit_t *u, const char *user, bool add) {
  for (size_t k = 0; k < u->n; k++)
    if (strcmp(u->agents[k].user, user) == 0)
      return &u->agents[k];
  if (!add)
    return NULL;
  if (gen_grow((void **)&u->agents, &u->cap, u->n + 1, sizeof(*u->agents),
               16) != 0)
    return NULL;
  agent_t *g = &u->agents[u->n++];
  snprintf(g->user, sizeof(g->user), "%s", user);
  return g;
}

static void apply(unit_t *u, const gen_adh_update_t *up) {
  if (up->removed) {
    agent_t *g = agent_of(u, up->user, false);
    if (g != NULL)
      *g = u->agents[--u->n];
    return;
  }
  agent_t *g = agent_of(u, up->user, true);
  if (g == NULL)
    return;
  g->state = (int8_t)up->state, g->impact = (int8_t)up->impact;
  g->since_ms = up->since_ms;
}

/* The notification of agent g of unit i (under the lock, so that two
 * threads seeing one agent change notify in the order they applied):
 * WARNING when out of adherence, OKAY when no longer (any other state, or
 * gone: left). gen_notice says only a change of what it said last; quiet
 * takes the state as said (an agent already out at the unit's first read
 * is not news). */
static void notice(gen_adherence_t *a, size_t i, const agent_t *g, bool left,
                   bool quiet) {
  if (!a->c.notify || a->org == NULL)
    return;
  const gen_entity_t *unit = &a->set.items[i];
  const char *instance = gen_entity_instance(a->org, unit);
  int out = !left && g->state == GEN_ADH_OUT;
  if (quiet) {
    gen_notice_assume(a->org, instance, GEN_ADH_NOTICE_TYPE, g->user, out);
    return;
  }
  char since[40] = "an unknown time";
  if (g->since_ms >= 0)
    gen_time_format(g->since_ms, since, sizeof(since));
  if (left)
    gen_notice(a->org, instance, GEN_ADH_NOTICE_TYPE, g->user, 0, NOTIF_WARNING,
               "management unit \"%s\": agent %s left the unit (was %s, "
               "impact %s, since %s)",
               unit->name, g->user, state_names[g->state],
               impact_names[g->impact], since);
  else
    gen_notice(a->org, instance, GEN_ADH_NOTICE_TYPE, g->user, out,
               NOTIF_WARNING,
               "management unit \"%s\": agent %s %s: %s, impact %s, since %s",
               unit->name, g->user,
               out ? "out of adherence" : "no longer out of adherence",
               state_names[g->state], impact_names[g->impact], since);
}

/* A topic's update of unit i, notified. */
static void apply_notice(gen_adherence_t *a, size_t i,
                         const gen_adh_update_t *up) {
  unit_t *u = &a->units[i];
  if (up->removed) {
    agent_t *g = agent_of(u, up->user, false);
    if (g != NULL)
      notice(a, i, g, true, false);
    apply(u, up);
    return;
  }
  apply(u, up);
  agent_t *g = agent_of(u, up->user, false);
  if (g != NULL)
    notice(a, i, g, false, false);
}

/* Lists the units again; the agents of those kept over stay. True when the
 * set changed. */
static bool list_units(gen_adherence_t *a, gen_client_t *client) {
  char err[512] = "";
  gen_entity_set_t fresh = {0};
  a->requests++;
  int status = gen_entity_list_unpaged(client->http, client->org, UNITS_LISTING,
                                       NULL, &fresh, err, sizeof(err));
  if (outcome(a, client, status, err, UNITS_LISTING) || status != 0) {
    gen_entity_set_free(&fresh);
    return false;
  }
  /* The feature's listing leaves out the units the client may not use:
   * none at all is most likely the permission, said once. */
  if (fresh.count == 0 && !a->none_said)
    gen_org_log(client->org, NULL, LOG_WARNING,
                "%s: no management unit listed for real-time adherence (none "
                "in the org, or none the client's role may use: it needs "
                "wfm:realtimeAdherence:view)",
                GEN_ADH_FAMILY);
  a->none_said = fresh.count == 0;
  if ((long)fresh.count > a->c.max_units) {
    gen_org_log(client->org, &a->complain, LOG_WARNING,
                "%s: %zu management units, the first %ld followed "
                "(AdherenceMaxUnits)",
                GEN_ADH_FAMILY, fresh.count, a->c.max_units);
    fresh.count = (size_t)a->c.max_units;
  }
  if (gen_entity_set_same(&a->set, &fresh) && a->units != NULL) {
    gen_entity_set_free(&fresh);
    return false;
  }
  unit_t *units = calloc(fresh.count ? fresh.count : 1, sizeof(*units));
  if (units == NULL) {
    gen_entity_set_free(&fresh);
    return false;
  }
  pthread_mutex_lock(&a->lock);
  for (size_t i = 0; i < fresh.count; i++) /* carry the units kept over */
    for (size_t j = 0; j < a->set.count; j++)
      if (strcmp(fresh.items[i].id, a->set.items[j].id) == 0) {
        units[i] = a->units[j];
        a->units[j] = (unit_t){0};
        break;
      }
  units_free(a->units, a->set.count);
  gen_entity_set_free(&a->set);
  a->set = fresh, a->units = units;
  pthread_mutex_unlock(&a->lock);
  return true;
}

/* GET of a listing's downloadUrl into resp (recycle it after), 0 or the
 * failure with the reason in err. The URL is normally a pre-signed storage
 * URL on another host: asked without the token first; on 401 or 403 once
 * more with it, which gen_http sends only to the API's or login origin (an
 * absolute URL elsewhere is refused there), so that the token never leaves
 * for a host that is not Genesys'. A path ("/api/v2/...") is the API's.
 * Bounded as the unit's answer; no redirect followed (gen_http's policy);
 * another host asked once, so that its failure never makes the org's
 * requests rest (the unit is asked again at its next read). */
static int download(gen_adherence_t *a, gen_client_t *client, const char *url,
                    gen_http_response_t *resp, char *err, size_t err_size) {
  bool path = url[0] == '/';
  gen_http_options_t o = {
      .answer = ADHERENCE_ANSWER, .public_url = !path, .no_retry = !path};
  a->requests++;
  int status = gen_http_request(client->http, "GET", url, NULL, &o, resp);
  if (status != 0 && !path && (resp->status == 401 || resp->status == 403)) {
    long first = resp->status;
    gen_http_response_recycle(client->http, resp);
    o.public_url = o.no_retry = false;
    a->requests++;
    status = gen_http_request(client->http, "GET", url, NULL, &o, resp);
    if (status == GEN_HTTP_ERR_ARGUMENT) {
      snprintf(err, err_size,
               "downloadUrl answered HTTP %ld without the token, and is not "
               "on the API's origin: the token is not sent there",
               first);
      return status;
    }
  }
  if (status != 0)
    snprintf(err, err_size, "downloadUrl: %.480s", resp->error);
  return status;
}

/* Reads unit i whole: its agents replaced by the answer's (a topic message
 * applied while the answer was on its way is overwritten by the answer's
 * older state until the agent's next change or the next whole read). An
 * answer that is only a downloadUrl is fetched and read as the same
 * listing. */
static void read_unit(gen_adherence_t *a, gen_client_t *client, size_t i,
                      cdtime_t now) {
  char err[512] = "", path[256], url[4096]; /* gen_http's longest URL */
  const char *id = a->set.items[i].id;
  a->units[i].read_at = now; /* a failure waits AdherenceEvery too */
  if (!gen_id_plain(id, 79)) {
    outcome(a, client, -EINVAL, "a management unit id not usable in a path",
            id);
    return;
  }
  snprintf(path, sizeof(path), UNITS_PATH "/%s/adherence", id);
  gen_http_response_t resp;
  a->requests++;
  int64_t sent = gen_cdtime_to_ms(cdtime());
  int status = gen_http_request(
      client->http, "GET", path, NULL,
      &(gen_http_options_t){.answer = ADHERENCE_ANSWER}, &resp);
  if (resp.date_ms >= 0)
    gen_clock_offset_note(&a->clock, resp.date_ms, sent,
                          gen_cdtime_to_ms(cdtime()));
  gen_adh_update_t *v = NULL;
  size_t n = 0, malformed = 0;
  if (status != 0)
    snprintf(err, sizeof(err), "%s", resp.error);
  else
    status =
        gen_adh_read_listing(resp.body, resp.body_len, client, &v, &n,
                             &malformed, url, sizeof(url), err, sizeof(err));
  gen_http_response_recycle(client->http, &resp);
  bool fetched = status == GEN_ADH_DOWNLOAD;
  if (fetched) {
    /* Its failure is the download's, never a refusal of the family (an
     * expired pre-signed URL answers 403 too). */
    status = download(a, client, url, &resp, err, sizeof(err));
    if (status == 0)
      status = gen_adh_read_listing(resp.body, resp.body_len, client, &v, &n,
                                    &malformed, NULL, 0, err, sizeof(err));
    gen_http_response_recycle(client->http, &resp);
    if (status != 0) {
      a->failures++;
      gen_org_log(client->org, &a->complain, LOG_WARNING, "%s: %s: %s",
                  GEN_ADH_FAMILY, path, err);
    }
  }
  for (size_t b = 0; b < malformed; b++)
    gen_http_count_malformed(client->http);
  if (((!fetched || status == 0) && outcome(a, client, status, err, path)) ||
      status != 0) {
    free(v);
    return;
  }
  pthread_mutex_lock(&a->lock);
  unit_t *u = &a->units[i], was = *u;
  u->agents = NULL, u->n = u->cap = 0;
  for (size_t k = 0; k < n; k++)
    apply(u, &v[k]);
  /* Each agent's state is news but at the unit's first read, where only
   * an agent a message told of before is (the rest are taken as said);
   * one out that the answer no longer lists left. */
  for (size_t k = 0; a->c.notify && k < u->n; k++)
    notice(a, i, &u->agents[k], false,
           !was.have && agent_of(&was, u->agents[k].user, false) == NULL);
  for (size_t k = 0; a->c.notify && k < was.n; k++)
    if (was.agents[k].state == GEN_ADH_OUT &&
        agent_of(u, was.agents[k].user, false) == NULL)
      notice(a, i, &was.agents[k], true, false);
  free(was.agents);
  u->have = true;
  pthread_mutex_unlock(&a->lock);
  free(v);
}

bool gen_adherence_run(gen_adherence_t *a, gen_client_t *client, cdtime_t now) {
  if (a == NULL || a->refused || gen_http_resting(client->http, NULL))
    return false;
  if (a->org == NULL) { /* the hub's threads read it under the lock */
    pthread_mutex_lock(&a->lock);
    a->org = client->org;
    a->client = client;
    pthread_mutex_unlock(&a->lock);
  }
  bool changed = false;
  if ((a->listed_at == 0 || now - a->listed_at >= a->c.relist) &&
      gen_minute_left(&a->minute, now) > 0) {
    a->listed_at = now;
    gen_minute_spend(&a->minute, 1, now);
    changed = list_units(a, client);
  }
  /* The longest unread first (never read: read_at 0), one a token. */
  while (!a->refused && gen_minute_left(&a->minute, now) > 0 &&
         !gen_http_resting(client->http, NULL)) {
    size_t due = a->set.count;
    for (size_t i = 0; i < a->set.count; i++)
      if ((a->units[i].read_at == 0 ||
           now - a->units[i].read_at >= a->c.every) &&
          (due == a->set.count || a->units[i].read_at < a->units[due].read_at))
        due = i;
    if (due == a->set.count)
      break;
    gen_minute_spend(&a->minute, 1, now);
    read_unit(a, client, due, now);
  }
  return changed;
}

char **gen_adherence_topics(gen_adherence_t *a, char **topics, size_t *n) {
  if (a == NULL || topics == NULL || a->refused)
    return topics;
  char **grown = realloc(topics, (*n + a->set.count + 1) * sizeof(*grown));
  if (grown == NULL) {
    gen_hub_topics_free(topics, *n);
    return NULL;
  }
  for (size_t i = 0; i < a->set.count; i++)
    gen_entity_topic_add(grown, n, GEN_ADH_TOPIC_PREFIX, a->set.items[i].id,
                         GEN_ADH_TOPIC_SUFFIX);
  return grown;
}

bool gen_adherence_topic(const char *topic) {
  return gen_notify_topic_has(topic, GEN_ADH_TOPIC_PREFIX,
                              GEN_ADH_TOPIC_SUFFIX);
}

static gen_notify_verdict_t refuse(gen_adherence_t *a, char *err,
                                   size_t err_size, const char *why) {
  if (why != err)
    snprintf(err, err_size, "%s", why);
  pthread_mutex_lock(&a->lock);
  a->malformed++;
  pthread_mutex_unlock(&a->lock);
  return GEN_NOTIFY_MALFORMED;
}

gen_notify_verdict_t gen_adherence_message(gen_adherence_t *a,
                                           const char *topic, const char *json,
                                           size_t len, char *err,
                                           size_t err_size) {
  json_object *doc = NULL;
  gen_adh_update_t up;
  if (gen_notify_parse(json, len, &doc, err, err_size) != 0)
    return refuse(a, err, err_size, err);
  pthread_mutex_lock(&a->lock);
  gen_client_t *client = a->client;
  pthread_mutex_unlock(&a->lock);
  int status = gen_adh_parse_update(gen_json_get_object(doc, "eventBody"), &up,
                                    client, err, err_size);
  json_object_put(doc);
  if (status != 0)
    return refuse(a, err, err_size, err);
  /* The unit is the topic's: {id} between prefix and suffix. */
  size_t pre = strlen(GEN_ADH_TOPIC_PREFIX), suf = strlen(GEN_ADH_TOPIC_SUFFIX);
  size_t id_len = strlen(topic) - pre - suf;
  pthread_mutex_lock(&a->lock);
  a->updates++;
  for (size_t i = 0; i < a->set.count; i++) {
    const char *id = a->set.items[i].id;
    if (strlen(id) == id_len && strncasecmp(topic + pre, id, id_len) == 0) {
      apply_notice(a, i, &up);
      break;
    }
  }
  pthread_mutex_unlock(&a->lock);
  return GEN_NOTIFY_OK;
}

void gen_adherence_put(gen_adherence_t *a, const gen_org_t *org, int64_t now_ms,
                       gen_adh_put_t put, void *ud) {
  if (a == NULL || a->refused)
    return;
  /* now on Genesys' clock: a host clock off by seconds would put its
   * error into every duration */
  now_ms += gen_clock_offset(&a->clock);
  pthread_mutex_lock(&a->lock);
  for (size_t i = 0; i < a->set.count; i++) {
    const unit_t *u = &a->units[i];
    if (!u->have)
      continue;
    double states[GEN_ADH_STATES] = {0}, impacts[GEN_ADH_IMPACTS] = {0};
    double longest = 0, sum = 0;
    for (size_t k = 0; k < u->n; k++) {
      const agent_t *g = &u->agents[k];
      states[g->state]++;
      if (g->state != GEN_ADH_OUT)
        continue;
      impacts[g->impact]++;
      /* a change time ahead of our clock counts 0 */
      double s = g->since_ms >= 0 && now_ms > g->since_ms
                     ? (double)(now_ms - g->since_ms) / 1000.0
                     : 0.0;
      sum += s;
      if (s > longest)
        longest = s;
    }
    const char *name = gen_entity_instance(org, &a->set.items[i]);
    for (int s = 0; s < GEN_ADH_STATES; s++)
      put(ud, name, "adherence_agents", state_instances[s], states[s]);
    for (int m = 0; m < GEN_ADH_IMPACTS; m++)
      put(ud, name, "adherence_out_agents", impact_instances[m], impacts[m]);
    put(ud, name, "adherence_out_duration", "longest", longest);
    put(ud, name, "adherence_out_duration", "sum", sum);
  }
  pthread_mutex_unlock(&a->lock);
}

void gen_adherence_dispatch_stats(gen_adherence_t *a, const char *host,
                                  const char *plugin) {
  if (a == NULL)
    return;
  pthread_mutex_lock(&a->lock);
  uint64_t updates = a->updates, malformed = a->malformed;
  pthread_mutex_unlock(&a->lock);
  gen_self_row_t self[] = {
      {"adherence_requests", NULL, true, (double)a->requests},
      {"adherence_failures", NULL, true, (double)a->failures},
      {"adherence_updates", NULL, true, (double)updates},
      {"adherence_malformed", NULL, true, (double)malformed},
  };
  gen_dispatch_self_rows(host, plugin, self, STATIC_ARRAY_SIZE(self));
}

/* ---- its row (gen_feature.h) ----------------------------------------------
 */

static bool adh_on(const gen_feature_ctx_t *c) {
  return c->config->adherence.on;
}

static void *adh_new(const gen_feature_ctx_t *c) {
  return gen_adherence_new(&c->config->adherence);
}

static void adh_free(void *f) { gen_adherence_free(f); }

static bool adh_run(void *f, const gen_feature_ctx_t *ctx) {
  return gen_adherence_run(f, ctx->client, ctx->mono);
}

static void adh_put(void *f, const gen_feature_ctx_t *ctx,
                    gen_feature_put_t put, void *ud) {
  gen_adherence_put(f, ctx->client->org, ctx->wall_ms, put, ud);
}

static void adh_stats(void *f, const char *host, const char *plugin) {
  gen_adherence_dispatch_stats(f, host, plugin);
}

static gen_notify_verdict_t adh_message(void *f, const char *topic,
                                        const char *json, size_t len, char *err,
                                        size_t err_size) {
  return gen_adherence_message(f, topic, json, len, err, err_size) ==
                 GEN_NOTIFY_OK
             ? GEN_NOTIFY_OK
             : GEN_NOTIFY_MALFORMED;
}

static bool adh_topic(const void *f, const char *topic) {
  (void)f;
  return gen_adherence_topic(topic);
}

static char **adh_topics(void *f, char **topics, size_t *n) {
  return gen_adherence_topics(f, topics, n);
}

const gen_feature_t gen_adherence_feature = {.name = "adherence",
                                             .event = "adherence event",
                                             .on = adh_on,
                                             .create = adh_new,
                                             .free = adh_free,
                                             .run = adh_run,
                                             .put = adh_put,
                                             .stats = adh_stats,
                                             .topics = adh_topics,
                                             .message = adh_message,
                                             .topic = adh_topic};
