/* SPDX-License-Identifier: MIT */
/* Outbound campaigns of genesys_realtime (gen_campaigns.h). */
#include "collectd/core/daemon/collectd.h"

#include "gen_campaigns.h"
#include "gen_feature.h"

#include "gen_buf.h"
#include "gen_dispatch.h"
#include "gen_hub.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_minute.h"
#include "gen_names.h"
#include "gen_notice.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_PATH "/api/v2/outbound/campaigns"
#define PROGRESS_PATH "/api/v2/outbound/campaigns/progress"
#define LIST_PAGE 100 /* the listing's largest page */
/* The answer bounds: a listing page, 100 Campaigns x 3 KB (its contact
 * list, sorts, phone columns, rule sets) = 300 KB, x6; the progress of 100
 * campaigns (the most a request asks) x 300 B = 30 KB, x32; a campaign's
 * statistics (contact rate, idle agents, calls) under 1 KB, x64. */
#define LIST_ANSWER GEN_HTTP_BOUND(GEN_MIB(2), "campaigns page")
#define PROGRESS_ANSWER GEN_HTTP_BOUND(GEN_MIB(1), "campaign progress")
#define STATS_ANSWER GEN_HTTP_BOUND(GEN_KIB(64), "campaign statistics")

const char *const gen_cp_status_names[GEN_CP_STATUS_COUNT] = {
    "on",      "off",        "complete",        "stopping",
    "invalid", "forced_off", "forced_stopping", "unknown"};

int gen_cp_status_from_name(const char *name) {
  return gen_name_index(gen_cp_status_names, GEN_CP_UNKNOWN, name);
}

bool gen_cp_status_dialling(int status) {
  return status == GEN_CP_ON || status == GEN_CP_STOPPING ||
         status == GEN_CP_FORCED_STOPPING || status == GEN_CP_UNKNOWN;
}

/* The status of word, a campaignStatus read: one this version does not
 * know counted (field "campaignStatus") and taken as unknown. */
static int status_of_word(gen_client_t *client, const char *word) {
  int status = gen_cp_status_from_name(word);
  if (status >= 0)
    return status;
  if (client != NULL)
    gen_client_unknown(client, "campaigns", "campaignStatus", word);
  return GEN_CP_UNKNOWN;
}

/* One campaign: what the listing and its topics said, what was read of
 * it. */
typedef struct {
  int status;  /* the last listing's or topic's (-1: none yet) */
  bool chosen; /* selected: its values are put, its topics followed */
  bool have_progress, have_stats;
  bool connected; /* its topics were on a channel that connected */
  cdtime_t status_at, progress_at; /* of the last topic message, 0: none */
  gen_cp_progress_t progress;
  gen_cp_stats_t stats;
} campaign_t;

struct gen_campaigns {
  gen_campaigns_config_t c;
  /* items' status and progress, malformed, updates, renew, resync: the
   * hub's threads and the read. set and items are replaced by the read
   * thread only (it reads them without the lock). */
  pthread_mutex_t lock;
  gen_entity_set_t set; /* the listed campaigns, parallel to items */
  campaign_t *items;
  const gen_org_t *org; /* the client's (the read's, before any topic) */
  gen_client_t *client; /* the same: the topics' unknown words counted */
  bool sweeping;
  cdtime_t swept_at;
  size_t cursor; /* the next campaign whose stats are asked */
  gen_minute_t minute;
  uint64_t requests, failures, malformed, updates;
  bool refused;
  bool renew;  /* the chosen changed: their topics to give again */
  bool resync; /* a channel's gap: the next read sweeps */
  gen_ratelimit_t complain;
  gen_ratelimit_t skipped;      /* entries of the listing skipped */
  gen_ratelimit_t bad_progress; /* entries of the progress skipped */
  gen_ratelimit_t bad_message;  /* topic messages skipped */
};

void gen_campaigns_config_init(gen_campaigns_config_t *c) {
  gen_config_defaults(&gen_campaigns_keys, c);
}

#define STATUS_WORDS                                                           \
  "on, off, complete, stopping, invalid, forced_off, forced_stopping, "        \
  "unknown"

/* CampaignStatuses: one or more of the record's statuses, or unknown (a
 * status this version does not know). collectd reads an unquoted on and
 * off as booleans: true is on, false off. */
static int parse_statuses(const gen_org_t *org, const oconfig_item_t *ci,
                          const gen_config_def_t *def, void *field) {
  unsigned mask = 0;
  for (int i = 0; i < ci->values_num; i++) {
    const oconfig_value_t *v = &ci->values[i];
    int k = v->type == OCONFIG_TYPE_STRING
                ? gen_name_index(gen_cp_status_names, GEN_CP_STATUS_COUNT,
                                 v->value.string)
            : v->type == OCONFIG_TYPE_BOOLEAN
                ? (v->value.boolean ? GEN_CP_ON : GEN_CP_OFF)
                : -1;
    if (k < 0) {
      gen_config_error(org, ci, "takes campaign statuses: " STATUS_WORDS);
      return -EINVAL;
    }
    mask |= 1u << k;
  }
  if (mask == 0) {
    gen_config_error(org, ci, "takes one campaign status at least");
    return -EINVAL;
  }
  *(unsigned *)field = mask;
  return 0;
}

#define CC gen_campaigns_config_t
static const gen_config_def_t cp_defs[] = {
    GEN_KEY_BOOL("Campaigns", CC, on, false,
                 "outbound campaigns: status, progress, dialer statistics"),
    GEN_KEY_INT("CampaignsMax", CC, max, 1, 10000, 100,
                "campaigns with values at most (the first listed)"),
    GEN_KEY_PARSE_TEXT("CampaignStatuses", GEN_CFG_LIST, CC, statuses,
                       parse_statuses, "on stopping forced_stopping unknown",
                       STATUS_WORDS,
                       "the statuses of the campaigns with values"),
    GEN_KEY_SECONDS("CampaignsEvery", CC, every, 10, 3600, 30,
                    "how often campaigns are listed and asked"),
    GEN_KEY_INT("CampaignsRequests", CC, per_minute, 1, GEN_CP_MAX_PER_MINUTE,
                60, "outbound campaign requests a minute at most"),
};
#undef CC
const gen_config_table_t gen_campaigns_keys = GEN_CONFIG_TABLE(cp_defs);

/* The fields of CampaignStats (contactRate's in its object). */
static const struct {
  const char *key;
  bool in_rate; /* a member of contactRate */
  bool whole;   /* an integer count; else a number of 0 or more */
} stat_fields[GEN_CP_STAT_COUNT] = {
    [GEN_CP_IDLE] = {"idleAgents", false, true},
    [GEN_CP_EFFECTIVE_IDLE] = {"effectiveIdleAgents", false, false},
    [GEN_CP_OUTSTANDING] = {"outstandingCalls", false, true},
    [GEN_CP_SCHEDULED] = {"scheduledCalls", false, true},
    [GEN_CP_TZ_RESCHEDULED] = {"timeZoneRescheduledCalls", false, true},
    [GEN_CP_CALLS_PER_AGENT] = {"adjustedCallsPerAgent", false, false},
    [GEN_CP_ATTEMPTS] = {"attempts", true, true},
    [GEN_CP_CONNECTS] = {"connects", true, true},
    [GEN_CP_CONNECT_RATIO] = {"connectRatio", true, false},
};

int gen_cp_read_stats(const char *text, size_t len, gen_cp_stats_t *s,
                      size_t *malformed, char *err, size_t err_size) {
  json_object *doc;
  *malformed = 0;
  memset(s, 0, sizeof(*s));
  if (gen_json_parse_answer(text, len, &doc, err, err_size) != 0)
    return -EBADMSG;
  if (!json_object_is_type(doc, json_type_object)) {
    json_object_put(doc);
    snprintf(err, err_size, "not an object");
    return -EBADMSG;
  }
  json_object *rate = NULL;
  if (json_object_object_get_ex(doc, "contactRate", &rate) &&
      !json_object_is_type(rate, json_type_object)) {
    (*malformed)++; /* its three fields are not read */
    rate = NULL;
  }
  for (int k = 0; k < GEN_CP_STAT_COUNT; k++) {
    json_object *from = stat_fields[k].in_rate ? rate : doc, *v;
    if (from == NULL ||
        !json_object_object_get_ex(from, stat_fields[k].key, &v) ||
        json_object_is_type(v, json_type_null))
      continue; /* optional: left out, no value */
    int64_t n;
    double d;
    bool ok = stat_fields[k].whole ? gen_json_count_of(v, &n)
                                   : gen_json_number(v, &d) && d >= 0;
    if (!ok) {
      (*malformed)++;
      continue;
    }
    s->v[k] = stat_fields[k].whole ? (double)n : d;
    s->have |= 1u << k;
  }
  json_object_put(doc);
  return 0;
}

bool gen_cp_read_progress(json_object *item, const char **id,
                          gen_cp_progress_t *p) {
  static const char *const keys[GEN_CP_PROGRESS_COUNT] = {
      [GEN_CP_CALLED] = "numberOfContactsCalled",
      [GEN_CP_TOTAL] = "totalNumberOfContacts",
      [GEN_CP_PERCENT] = "percentage"};
  memset(p, 0, sizeof(*p));
  *id = gen_json_get_string(gen_json_get_object(item, "campaign"), "id");
  if (!json_object_is_type(item, json_type_object))
    return false;
  for (int k = 0; k < GEN_CP_PROGRESS_COUNT; k++) {
    json_object *v;
    if (!json_object_object_get_ex(item, keys[k], &v) ||
        json_object_is_type(v, json_type_null))
      continue; /* optional in the record: no value */
    if (!gen_json_count_of(v, &p->v[k]))
      return false;
    p->have |= 1u << k;
  }
  return !(p->have & 1u << GEN_CP_PERCENT) || p->v[GEN_CP_PERCENT] <= 100;
}

gen_campaigns_t *gen_campaigns_new(const gen_campaigns_config_t *c) {
  if (!c->on)
    return NULL;
  gen_campaigns_t *g = calloc(1, sizeof(*g));
  if (g == NULL)
    return NULL;
  g->c = *c;
  g->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  g->skipped = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  g->bad_progress = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  g->bad_message = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  if (gen_minute_init(&g->minute, (size_t)c->per_minute) != 0) {
    free(g);
    return NULL;
  }
  pthread_mutex_init(&g->lock, NULL);
  return g;
}

void gen_campaigns_free(gen_campaigns_t *g) {
  if (g == NULL)
    return;
  gen_entity_set_free(&g->set);
  free(g->items);
  gen_minute_free(&g->minute);
  pthread_mutex_destroy(&g->lock);
  free(g);
}

/* A refusal: said once, true. Another failure: counted and logged
 * (rate-limited). */
static bool outcome(gen_campaigns_t *g, gen_client_t *client, int status,
                    const char *err, const char *what) {
  if (!gen_minute_outcome(client, GEN_CP_FAMILY, status, err, what,
                          &g->failures, &g->complain))
    return false;
  g->refused = true;
  return true;
}

/* n malformed parts of an answer: counted here and in the org's count. */
static void count_malformed(gen_campaigns_t *g, gen_client_t *client,
                            size_t n) {
  pthread_mutex_lock(&g->lock);
  g->malformed += n;
  pthread_mutex_unlock(&g->lock);
  for (size_t k = 0; k < n; k++)
    gen_http_count_malformed(client->http);
}

/* ---- the listing --------------------------------------------------------- */

/* A campaign's status as listed: the series and the word (the word of a
 * status this version does not know names it in the notification). */
typedef struct {
  int status;
  char word[40];
} listed_t;

typedef struct {
  gen_campaigns_t *g;
  gen_client_t *client;
  gen_entity_set_t set;
  listed_t *status; /* per entity of set */
  size_t cap;
  size_t skipped;
} list_ctx_t;

static int take_campaign(json_object *e, void *ud) {
  list_ctx_t *l = ud;
  const char *id = gen_json_get_string(e, "id");
  const char *word = gen_json_get_string(e, "campaignStatus");
  if (id == NULL || word == NULL) {
    l->skipped++;
    return 0;
  }
  int status = status_of_word(l->client, word);
  const char *name = gen_json_get_string(e, "name");
  ssize_t k = gen_entity_add(&l->set, id, name != NULL ? name : id, NULL);
  if (k < 0)
    return (int)k;
  int grown = gen_grow((void **)&l->status, &l->cap, (size_t)k + 1,
                       sizeof(*l->status), 64);
  if (grown != 0)
    return grown;
  l->status[k].status = status;
  /* Genesys's text, named in a notification: shown as a name. */
  gen_sanitize_name(word, l->status[k].word, sizeof(l->status[k].word));
  return 0;
}

/* The notification of a status that changed, of the campaign's series
 * (instance) and named as the org names it (the first listing of a
 * campaign says nothing: its status is remembered as said). */
static void status_notice(const gen_org_t *org, const char *instance,
                          const char *name, int was, int now,
                          const char *word) {
  int severity = now == GEN_CP_INVALID ? NOTIF_FAILURE : NOTIF_WARNING;
  if (was < 0) {
    gen_notice_assume(org, instance, "campaign_status", NULL, now);
    return;
  }
  if (was != now)
    gen_notice(org, instance, "campaign_status", NULL, now, severity,
               "outbound campaign \"%s\" is now %s%s%.40s%s (was %s)", name,
               gen_cp_status_names[now], now == GEN_CP_UNKNOWN ? " (\"" : "",
               now == GEN_CP_UNKNOWN ? word : "",
               now == GEN_CP_UNKNOWN ? "\")" : "", gen_cp_status_names[was]);
}

/* Lists the campaigns; keeps what was read of those listed before, and a
 * status a topic said after the listing was asked (the newer). */
static int list(gen_campaigns_t *g, gen_client_t *client) {
  char err[512] = "";
  list_ctx_t l = {.g = g, .client = client};
  cdtime_t asked = cdtime();
  int status =
      gen_http_get_pages(client->http, LIST_PATH, LIST_PAGE, LIST_ANSWER,
                         take_campaign, &l, err, sizeof(err));
  campaign_t *items =
      status == 0 ? calloc(l.set.count ? l.set.count : 1, sizeof(*items))
                  : NULL;
  if (status == 0 && items == NULL)
    status = -ENOMEM, snprintf(err, sizeof(err), "out of memory");
  if (outcome(g, client, status, err, "listing") || status != 0) {
    gen_entity_set_free(&l.set);
    free(l.status);
    return status;
  }
  if (l.skipped > 0) {
    count_malformed(g, client, l.skipped);
    gen_org_log(client->org, &g->skipped, LOG_WARNING,
                "%s: %zu campaign(s) of the listing without an id or a "
                "campaignStatus skipped",
                GEN_CP_FAMILY, l.skipped);
  }
  size_t chosen = 0, kept = 0, was_chosen = 0;
  pthread_mutex_lock(&g->lock);
  for (size_t k = 0; k < g->set.count; k++)
    was_chosen += g->items[k].chosen;
  for (size_t k = 0; k < l.set.count; k++) {
    campaign_t *c = &items[k];
    ssize_t old = gen_entity_find(&g->set, l.set.items[k].id);
    if (old >= 0)
      *c = g->items[old];
    else
      c->status = -1;
    bool topic = c->status_at > asked; /* the newer */
    int now = topic ? c->status : l.status[k].status;
    status_notice(
        client->org, gen_entity_instance(client->org, &l.set.items[k]),
        l.set.items[k].name, c->status, now, topic ? "" : l.status[k].word);
    c->status = now;
    bool before = old >= 0 && c->chosen;
    c->chosen =
        (g->c.statuses & (1u << c->status)) != 0 && chosen < (size_t)g->c.max;
    chosen += c->chosen;
    kept += before && c->chosen;
    if (c->chosen && !before)
      g->renew = true; /* a campaign to follow */
    if (!c->chosen)
      c->have_progress = c->have_stats = c->connected = false;
  }
  if (kept != was_chosen)
    g->renew = true; /* one followed no longer */
  gen_entity_set_free(&g->set);
  free(g->items);
  free(l.status);
  g->set = l.set;
  g->items = items;
  pthread_mutex_unlock(&g->lock);
  return 0;
}

/* ---- progress and statistics --------------------------------------------- */

/* The progress of ids[0..n-1] in one request. */
static int ask_progress(gen_campaigns_t *g, gen_client_t *client,
                        const char *const *ids, size_t n) {
  char err[512] = "";
  json_object *body = json_object_new_array(), *doc = NULL;
  int status = -ENOMEM;
  cdtime_t asked = cdtime();
  g->requests++;
  for (size_t k = 0; body != NULL && k < n; k++)
    json_object_array_add(body, json_object_new_string(ids[k]));
  if (body == NULL)
    snprintf(err, sizeof(err), "out of memory");
  else
    status = gen_http_post_json(client->http, PROGRESS_PATH, body,
                                PROGRESS_ANSWER, &doc, err, sizeof(err));
  json_object_put(body);
  if (status == 0 && !json_object_is_type(doc, json_type_array)) {
    count_malformed(g, client, 1);
    status = -EBADMSG, snprintf(err, sizeof(err), "not a list");
  }
  size_t bad = 0;
  pthread_mutex_lock(&g->lock);
  for (size_t k = 0; status == 0 && k < json_object_array_length(doc); k++) {
    const char *id;
    gen_cp_progress_t p;
    json_object *item = json_object_array_get_idx(doc, k);
    if (!gen_cp_read_progress(item, &id, &p) || id == NULL) {
      bad++;
      continue;
    }
    ssize_t i = gen_entity_find(&g->set, id);
    if (i < 0 || g->items[i].progress_at > asked)
      continue; /* not listed now, or a topic said newer */
    g->items[i].progress = p;
    g->items[i].have_progress = true;
  }
  pthread_mutex_unlock(&g->lock);
  json_object_put(doc);
  if (bad > 0) {
    count_malformed(g, client, bad);
    gen_org_log(client->org, &g->bad_progress, LOG_WARNING,
                "%s: %zu progress entries without a campaign id, or with a "
                "count not an integer of 0 or more, skipped",
                GEN_CP_FAMILY, bad);
  }
  outcome(g, client, status, err, "progress");
  return status;
}

/* The statistics of campaign i; false once refused. */
static bool ask_stats(gen_campaigns_t *g, gen_client_t *client, size_t i) {
  char err[512] = "", path[192];
  const char *id = g->set.items[i].id;
  campaign_t *c = &g->items[i];
  gen_http_response_t resp;
  gen_cp_stats_t stats;
  size_t bad = 0;
  int status;
  if (!gen_id_plain(id, 100)) {
    snprintf(err, sizeof(err), "campaign id \"%s\" not usable in a path", id);
    outcome(g, client, -EINVAL, err, "statistics");
    pthread_mutex_lock(&g->lock);
    c->have_stats = false;
    pthread_mutex_unlock(&g->lock);
    return true;
  }
  snprintf(path, sizeof(path), "%s/%s/stats", LIST_PATH, id);
  g->requests++;
  status =
      gen_http_request(client->http, "GET", path, NULL,
                       &(gen_http_options_t){.answer = STATS_ANSWER}, &resp);
  if (status != 0)
    snprintf(err, sizeof(err), "%s", resp.error);
  else
    status = gen_cp_read_stats(resp.body, resp.body_len, &stats, &bad, err,
                               sizeof(err));
  gen_http_response_recycle(client->http, &resp);
  count_malformed(g, client, bad + (status == -EBADMSG));
  if (status == 0 && bad > 0)
    gen_org_log(client->org, &g->complain, LOG_WARNING,
                "%s: campaign \"%s\": %zu statistic(s) of the wrong type or "
                "range skipped",
                GEN_CP_FAMILY, g->set.items[i].name, bad);
  pthread_mutex_lock(&g->lock);
  c->stats = stats;
  c->have_stats = status == 0;
  pthread_mutex_unlock(&g->lock);
  char what[300];
  snprintf(what, sizeof(what), "statistics of \"%s\"", g->set.items[i].name);
  return !outcome(g, client, status, err, what);
}

static bool dialling(const campaign_t *c) {
  return c->chosen && gen_cp_status_dialling(c->status);
}

/* The sweep's start: the listing and the bulk progress of the chosen
 * (their pages are charged after; a sweep always lists). */
static bool start_sweep(gen_campaigns_t *g, gen_client_t *client,
                        cdtime_t now) {
  uint64_t before = g->requests;
  uint64_t pages = gen_client_requests(client);
  int status = list(g, client);
  g->requests += gen_client_requests(client) - pages; /* the listing's */
  if (status != 0 || g->refused) {
    gen_minute_spend(&g->minute, g->requests - before, now);
    return false;
  }
  const char *ids[GEN_CP_IDS_PER_REQUEST];
  size_t n = 0;
  for (size_t k = 0; k <= g->set.count && !g->refused; k++) {
    if (k < g->set.count && g->items[k].chosen)
      ids[n++] = g->set.items[k].id;
    if (n > 0 && (n == GEN_CP_IDS_PER_REQUEST || k == g->set.count)) {
      ask_progress(g, client, ids, n);
      n = 0;
    }
  }
  gen_minute_spend(&g->minute, g->requests - before, now);
  return !g->refused;
}

size_t gen_campaigns_run(gen_campaigns_t *g, gen_client_t *client,
                         cdtime_t now) {
  if (g == NULL || g->refused || gen_http_resting(client->http, NULL))
    return 0;
  uint64_t before = g->requests;
  if (g->org == NULL) { /* set once, read by the hub's threads */
    pthread_mutex_lock(&g->lock);
    g->org = client->org;
    g->client = client;
    pthread_mutex_unlock(&g->lock);
  }
  if (!g->sweeping) {
    pthread_mutex_lock(&g->lock);
    bool resync = g->resync;
    pthread_mutex_unlock(&g->lock);
    if (g->swept_at != 0 && now - g->swept_at < g->c.every && !resync)
      return 0;
    /* the listing and the progress need a request a page at least */
    if (!gen_minute_room(&g->minute, 2 + g->set.count / LIST_PAGE, now))
      return 0;
    g->swept_at = now;
    pthread_mutex_lock(&g->lock);
    g->resync = false;
    pthread_mutex_unlock(&g->lock);
    if (!start_sweep(g, client, now))
      return (size_t)(g->requests - before);
    g->sweeping = true, g->cursor = 0;
  }
  while (g->cursor < g->set.count && !gen_http_resting(client->http, NULL)) {
    pthread_mutex_lock(&g->lock);
    bool dial = dialling(&g->items[g->cursor]);
    pthread_mutex_unlock(&g->lock);
    if (!dial) {
      g->cursor++;
      continue;
    }
    if (gen_minute_left(&g->minute, now) == 0)
      break; /* the next read goes on here */
    uint64_t made = g->requests;
    bool go_on = ask_stats(g, client, g->cursor);
    gen_minute_spend(&g->minute, g->requests - made, now);
    if (!go_on)
      return (size_t)(g->requests - before);
    g->cursor++;
  }
  if (g->cursor >= g->set.count)
    g->sweeping = false;
  return (size_t)(g->requests - before);
}

/* ---- topics ----------------------------------------------------------------
 */

char **gen_campaigns_topics(gen_campaigns_t *g, char **topics, size_t *n) {
  if (g == NULL || topics == NULL || g->refused)
    return topics;
  char **grown = realloc(topics, (*n + 2 * g->set.count + 1) * sizeof(*grown));
  if (grown == NULL) {
    gen_hub_topics_free(topics, *n);
    return NULL;
  }
  pthread_mutex_lock(&g->lock);
  for (size_t i = 0; i < g->set.count; i++) {
    if (!g->items[i].chosen)
      continue;
    const char *id = g->set.items[i].id;
    gen_entity_topic_add(grown, n, GEN_CP_TOPIC_PREFIX, id, "");
    gen_entity_topic_add(grown, n, GEN_CP_TOPIC_PREFIX, id,
                         GEN_CP_PROGRESS_SUFFIX);
  }
  pthread_mutex_unlock(&g->lock);
  return grown;
}

bool gen_campaigns_renewed(gen_campaigns_t *g) {
  if (g == NULL)
    return false;
  pthread_mutex_lock(&g->lock);
  bool renew = g->renew && !g->refused;
  g->renew = false;
  pthread_mutex_unlock(&g->lock);
  return renew;
}

/* The campaign id of topic ("<prefix>{id}" or "<prefix>{id}.progress")
 * into id; false when topic is neither. */
static bool topic_id(const char *topic, char *id, size_t size, bool *progress) {
  size_t pre = strlen(GEN_CP_TOPIC_PREFIX);
  if (strncasecmp(topic, GEN_CP_TOPIC_PREFIX, pre) != 0)
    return false;
  const char *start = topic + pre, *dot = strchr(start, '.');
  size_t len = dot != NULL ? (size_t)(dot - start) : strlen(start);
  *progress = dot != NULL;
  if (len == 0 || len >= size ||
      (dot != NULL && strcasecmp(dot, GEN_CP_PROGRESS_SUFFIX) != 0))
    return false;
  memcpy(id, start, len);
  id[len] = '\0';
  return true;
}

bool gen_campaigns_topic(const gen_campaigns_t *g, const char *topic) {
  char id[128];
  bool progress;
  return g != NULL && topic_id(topic, id, sizeof(id), &progress);
}

/* What one message says: a status (-1: none), or a progress. */
typedef struct {
  int status;
  const char *word; /* the campaignStatus (of the message's document) */
  bool progress;
  gen_cp_progress_t p;
} cp_message_t;

/* Reads the eventBody of a message of campaign id's topic into *m. 0, or
 * -EBADMSG with the reason in err. */
static int read_message(json_object *body, const char *id, bool progress,
                        cp_message_t *m, char *err, size_t err_size) {
  json_object *v;
  m->status = -1, m->word = NULL, m->progress = progress;
  if (!json_object_is_type(body, json_type_object)) {
    snprintf(err, err_size, "no eventBody object");
    return -EBADMSG;
  }
  if (progress) {
    const char *of;
    if (!gen_cp_read_progress(body, &of, &m->p)) {
      snprintf(err, err_size, "progress with a count not of 0 or more");
      return -EBADMSG;
    }
    if (of != NULL && strcasecmp(of, id) != 0) {
      snprintf(err, err_size, "progress of another campaign (\"%.60s\")", of);
      return -EBADMSG;
    }
    return 0;
  }
  if (!json_object_object_get_ex(body, "campaignStatus", &v) ||
      json_object_is_type(v, json_type_null))
    return 0; /* a change of the configuration only */
  if (!json_object_is_type(v, json_type_string)) {
    snprintf(err, err_size, "campaignStatus %.40s not a text",
             json_object_get_string(v));
    return -EBADMSG;
  }
  m->word = json_object_get_string(v); /* its status: under the lock */
  return 0;
}

gen_notify_verdict_t gen_campaigns_message(gen_campaigns_t *g,
                                           const char *topic, const char *json,
                                           size_t len) {
  char id[128], err[160] = "";
  bool progress;
  cp_message_t m;
  json_object *doc = NULL;
  if (g == NULL || !topic_id(topic, id, sizeof(id), &progress))
    return GEN_NOTIFY_OK; /* not ours */
  int status = gen_notify_parse(json, len, &doc, err, sizeof(err));
  if (status == 0)
    status = read_message(gen_json_get_object(doc, "eventBody"), id, progress,
                          &m, err, sizeof(err));
  char word[64] = "";
  if (status == 0 && m.word != NULL) {
    pthread_mutex_lock(&g->lock);
    gen_client_t *client = g->client;
    pthread_mutex_unlock(&g->lock);
    m.status = status_of_word(client, m.word);
    gen_sanitize_name(m.word, word, sizeof(word));
  }
  json_object_put(doc);
  pthread_mutex_lock(&g->lock);
  const gen_org_t *org = g->org;
  if (status != 0) {
    g->malformed++;
    pthread_mutex_unlock(&g->lock);
    if (org != NULL)
      gen_org_log(org, &g->bad_message, LOG_WARNING,
                  "%s: malformed message of %s skipped: %s", GEN_CP_FAMILY,
                  topic, err);
    return GEN_NOTIFY_MALFORMED;
  }
  ssize_t i = gen_entity_find(&g->set, id);
  campaign_t *c = i >= 0 ? &g->items[i] : NULL;
  if (c != NULL && c->chosen && g->org != NULL) {
    g->updates++;
    if (m.progress) {
      /* the counts it carries; one it leaves out stays as it was */
      if (!c->have_progress)
        c->progress.have = 0;
      for (int k = 0; k < GEN_CP_PROGRESS_COUNT; k++)
        if (m.p.have & (1u << k))
          c->progress.v[k] = m.p.v[k];
      c->progress.have |= m.p.have;
      c->have_progress = true;
      c->progress_at = cdtime();
    } else if (m.status >= 0) {
      /* said once: the listing that confirms it finds it said */
      status_notice(g->org, gen_entity_instance(g->org, &g->set.items[i]),
                    g->set.items[i].name, c->status, m.status, word);
      if (c->status != m.status)
        c->have_stats = false; /* the dialer's, until the next sweep */
      c->status = m.status, c->status_at = cdtime();
    }
  }
  pthread_mutex_unlock(&g->lock);
  return GEN_NOTIFY_OK;
}

void gen_campaigns_connected(gen_campaigns_t *g, char *const *topics,
                             size_t n) {
  if (g == NULL)
    return;
  pthread_mutex_lock(&g->lock);
  for (size_t k = 0; k < n; k++) {
    char id[128];
    bool progress;
    if (!topic_id(topics[k], id, sizeof(id), &progress) || progress)
      continue; /* each campaign once: its status topic */
    ssize_t i = gen_entity_find(&g->set, id);
    if (i < 0 || !g->items[i].chosen)
      continue;
    if (g->items[i].connected)
      g->resync = true; /* again: what the gap missed is read */
    g->items[i].connected = true;
  }
  pthread_mutex_unlock(&g->lock);
}

/* The series of a statistic: type and type instance. */
static const struct {
  const char *type, *instance;
} stat_series[GEN_CP_STAT_COUNT] = {
    [GEN_CP_IDLE] = {"campaign_agents", "idle"},
    [GEN_CP_EFFECTIVE_IDLE] = {"campaign_agents", "effective_idle"},
    [GEN_CP_OUTSTANDING] = {"campaign_calls", "outstanding"},
    [GEN_CP_SCHEDULED] = {"campaign_calls", "scheduled"},
    [GEN_CP_TZ_RESCHEDULED] = {"campaign_calls", "timezone_rescheduled"},
    [GEN_CP_CALLS_PER_AGENT] = {"campaign_calls_per_agent", "adjusted"},
    [GEN_CP_ATTEMPTS] = {"campaign_attempts", "attempts"},
    [GEN_CP_CONNECTS] = {"campaign_attempts", "connects"},
    [GEN_CP_CONNECT_RATIO] = {"campaign_connect_ratio", "connects"},
};

/* The series of a progress count. */
static const struct {
  const char *type, *instance;
} progress_series[GEN_CP_PROGRESS_COUNT] = {
    [GEN_CP_CALLED] = {"campaign_contacts", "called"},
    [GEN_CP_TOTAL] = {"campaign_contacts", "total"},
    [GEN_CP_PERCENT] = {"campaign_percent", "processed"},
};

void gen_campaigns_put(gen_campaigns_t *g, const gen_org_t *org,
                       gen_cp_put_t put, void *ud) {
  if (g == NULL || g->refused)
    return;
  pthread_mutex_lock(&g->lock);
  for (size_t i = 0; i < g->set.count; i++) {
    const campaign_t *c = &g->items[i];
    if (!c->chosen)
      continue;
    const char *name = gen_entity_instance(org, &g->set.items[i]);
    for (int k = 0; k < GEN_CP_STATUS_COUNT; k++)
      put(ud, name, "campaign_status", gen_cp_status_names[k],
          c->status == k ? 1 : 0);
    for (int k = 0; c->have_progress && k < GEN_CP_PROGRESS_COUNT; k++)
      if (c->progress.have & (1u << k))
        put(ud, name, progress_series[k].type, progress_series[k].instance,
            (double)c->progress.v[k]);
    if (!c->have_stats || !dialling(c))
      continue;
    for (int k = 0; k < GEN_CP_STAT_COUNT; k++)
      if (c->stats.have & (1u << k))
        put(ud, name, stat_series[k].type, stat_series[k].instance,
            c->stats.v[k]);
  }
  pthread_mutex_unlock(&g->lock);
}

void gen_campaigns_dispatch_stats(gen_campaigns_t *g, const char *host,
                                  const char *plugin) {
  if (g == NULL)
    return;
  pthread_mutex_lock(&g->lock);
  uint64_t malformed = g->malformed, updates = g->updates;
  pthread_mutex_unlock(&g->lock);
  gen_self_row_t self[] = {
      {"campaign_requests", NULL, true, (double)g->requests},
      {"campaign_failures", NULL, true, (double)g->failures},
      {"campaign_malformed", NULL, true, (double)malformed},
      {"campaign_updates", NULL, true, (double)updates},
  };
  gen_dispatch_self_rows(host, plugin, self, STATIC_ARRAY_SIZE(self));
}

/* ---- its row (gen_feature.h) ----------------------------------------------
 */

static bool cp_on(const gen_feature_ctx_t *c) {
  return c->config->campaigns.on;
}

static void *cp_new(const gen_feature_ctx_t *c) {
  return gen_campaigns_new(&c->config->campaigns);
}

static void cp_free(void *f) { gen_campaigns_free(f); }

static bool cp_run(void *f, const gen_feature_ctx_t *ctx) {
  gen_campaigns_run(f, ctx->client, ctx->mono);
  return gen_campaigns_renewed(f); /* chosen anew: their topics */
}

static void cp_put(void *f, const gen_feature_ctx_t *ctx, gen_feature_put_t put,
                   void *ud) {
  gen_campaigns_put(f, ctx->client->org, put, ud);
}

static void cp_stats(void *f, const char *host, const char *plugin) {
  gen_campaigns_dispatch_stats(f, host, plugin);
}

static gen_notify_verdict_t cp_message(void *f, const char *topic,
                                       const char *json, size_t len, char *err,
                                       size_t err_size) {
  (void)err_size;
  err[0] = '\0'; /* logs its own */
  return gen_campaigns_message(f, topic, json, len);
}

static bool cp_topic(const void *f, const char *topic) {
  return gen_campaigns_topic(f, topic);
}

static void cp_connected(void *f, char *const *topics, size_t n) {
  gen_campaigns_connected(f, topics, n); /* a gap: re-read */
}

static char **cp_topics(void *f, char **topics, size_t *n) {
  return gen_campaigns_topics(f, topics, n);
}

const gen_feature_t gen_campaigns_feature = {.name = "campaigns",
                                             .on = cp_on,
                                             .create = cp_new,
                                             .free = cp_free,
                                             .run = cp_run,
                                             .put = cp_put,
                                             .stats = cp_stats,
                                             .topics = cp_topics,
                                             .message = cp_message,
                                             .topic = cp_topic,
                                             .connected = cp_connected};
