/*
 * collectd-genesys: genesys_realtime, live queue and agent state from the
 * Notifications API WebSocket.
 *
 * What is happening in my queues right now? Each <Org> block selects queues
 * (ids, name patterns, divisions, shard), subscribes to their
 * v2.analytics.queues.{id}.observations topics on as many channels as that
 * takes, and keeps per queue and media type the conversations waiting,
 * interacting and alerting and the longest wait, and per queue the agents by
 * routing status and presence. A change on the socket is dispatched at once
 * (only the values it changed); every value is dispatched again each
 * interval so series never go stale. After every (re)connect the channel's
 * queues are re-read with the observations query, 100 queues a request.
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_client.h"
#include "gen_entity.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_notify.h"
#include "gen_obs.h"

#include <pthread.h>
#include <strings.h>

#define PLUGIN_NAME "genesys_realtime"
#define GR_QUEUES_PER_QUERY 100
#define GR_TOPIC_PREFIX "v2.analytics.queues."
#define GR_TOPIC_SUFFIX ".observations"

/* Media types of queue observations, as the API names them. */
static const char *const gr_media[] = {"voice", "callback",   "chat",
                                       "email", "message",    "cobrowse",
                                       "video", "screenshare"};
#define GR_MEDIA_COUNT STATIC_ARRAY_SIZE(gr_media)

/* Routing statuses as the API names them, and as type instances. */
static const char *const gr_routing[] = {"IDLE", "INTERACTING", "COMMUNICATING",
                                         "NOT_RESPONDING", "OFF_QUEUE"};
static const char *const gr_routing_names[] = {
    "idle", "interacting", "communicating", "not_responding", "off_queue"};
#define GR_ROUTING_COUNT STATIC_ARRAY_SIZE(gr_routing)

/* System presences; an org presence id that maps to none is "other". */
static const char *const gr_presence[] = {
    "AVAILABLE", "AWAY",     "BUSY", "BREAK",   "MEAL", "MEETING",
    "TRAINING",  "ON_QUEUE", "IDLE", "OFFLINE", "other"};
static const char *const gr_presence_names[] = {
    "available", "away",     "busy", "break",   "meal", "meeting",
    "training",  "on_queue", "idle", "offline", "other"};
#define GR_PRESENCE_COUNT STATIC_ARRAY_SIZE(gr_presence)

typedef struct {
  bool seen;
  int64_t waiting, interacting, alerting;
  double longest_waiting, longest_interacting; /* seconds, when observed */
  cdtime_t observed_at;
} gr_media_t;

typedef struct {
  bool seen;
  int64_t member, active, on_queue, off_queue;
  int64_t routing[GR_ROUTING_COUNT];
  int64_t presence[GR_PRESENCE_COUNT];
} gr_agents_t;

typedef struct {
  gr_media_t media[GR_MEDIA_COUNT];
  gr_agents_t agents;
} gr_queue_t;

typedef struct {
  gen_entity_filter_t filter;
  char **media_filter; /* MediaType: dispatch only these (NULL = all) */
  size_t n_media_filter;
  cdtime_t refresh_interval;
  cdtime_t heartbeat_timeout;
  long topics_per_channel;
} gr_config_t;

typedef struct {
  gen_client_t *client;
  gr_config_t config;
  gen_notify_t *notify;

  pthread_mutex_t lock; /* queues, states, parser use per thread below */
  gen_entity_set_t queues;
  gr_queue_t *state; /* parallel to queues.items */
  cdtime_t listed_at;
  bool streaming;
  gen_ratelimit_t complain;
} gr_instance_t;

/* ---- configuration ----------------------------------------------------------
 */

static void *gr_config_new(void) {
  gr_config_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->refresh_interval = TIME_T_TO_CDTIME_T(600);
  c->heartbeat_timeout = TIME_T_TO_CDTIME_T(75);
  c->topics_per_channel = GEN_NOTIFY_TOPICS_PER_CHANNEL;
  return c;
}

static void gr_config_free(void *config) {
  gr_config_t *c = config;
  if (c == NULL)
    return;
  gen_entity_filter_free(&c->filter);
  for (size_t i = 0; i < c->n_media_filter; i++)
    free(c->media_filter[i]);
  free(c->media_filter);
  free(c);
}

static int gr_config_key(gen_org_t *org, const oconfig_item_t *ci,
                         void *config) {
  gr_config_t *c = config;
  if (strcasecmp(ci->key, "QueueId") == 0)
    return gen_config_string_list(org, ci, &c->filter.ids, &c->filter.n_ids);
  if (strcasecmp(ci->key, "QueueName") == 0)
    return gen_config_string_list(org, ci, &c->filter.names,
                                  &c->filter.n_names);
  if (strcasecmp(ci->key, "DivisionId") == 0)
    return gen_config_string_list(org, ci, &c->filter.divisions,
                                  &c->filter.n_divisions);
  if (strcasecmp(ci->key, "MediaType") == 0) {
    size_t before = c->n_media_filter;
    int status =
        gen_config_string_list(org, ci, &c->media_filter, &c->n_media_filter);
    for (size_t i = before; status == 0 && i < c->n_media_filter; i++) {
      bool known = false;
      for (size_t m = 0; m < GR_MEDIA_COUNT; m++)
        known = known || strcasecmp(c->media_filter[i], gr_media[m]) == 0;
      if (!known) {
        gen_config_error(org, ci,
                         "unknown media type; use voice, callback, chat, "
                         "email, message, cobrowse, video or screenshare");
        status = -EINVAL;
      }
    }
    return status;
  }
  if (strcasecmp(ci->key, "QueueRefreshInterval") == 0)
    return gen_config_seconds(org, ci, 0, 86400, &c->refresh_interval);
  if (strcasecmp(ci->key, "HeartbeatTimeout") == 0)
    return gen_config_seconds(org, ci, 2, 600, &c->heartbeat_timeout);
  if (strcasecmp(ci->key, "TopicsPerChannel") == 0)
    return gen_config_int(org, ci, 1, GEN_NOTIFY_TOPICS_PER_CHANNEL,
                          &c->topics_per_channel);
  return GEN_CONFIG_NOT_MINE;
}

/* ---- state
 * ---------------------------------------------------------------------- */

static int media_index(const char *media) {
  for (size_t m = 0; m < GR_MEDIA_COUNT; m++)
    if (strcasecmp(media, gr_media[m]) == 0)
      return (int)m;
  return -1;
}

static int name_index(const char *const *names, size_t n, const char *value) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(value, names[i]) == 0)
      return (int)i;
  return -1;
}

static bool media_wanted(const gr_instance_t *inst, size_t m) {
  if (inst->config.n_media_filter == 0)
    return true;
  for (size_t i = 0; i < inst->config.n_media_filter; i++)
    if (strcasecmp(inst->config.media_filter[i], gr_media[m]) == 0)
      return true;
  return false;
}

/* Applies one group of observation items: a media group replaces that
 * media's conversation counts, the user group replaces the agent counts
 * (statuses with no agents are left out by the API, so they become 0). */
static void apply_items(gr_queue_t *q, int media, const gen_obs_item_t *items,
                        size_t n) {
  if (media >= 0) {
    gr_media_t *s = &q->media[media];
    gr_media_t fresh = {.seen = true, .observed_at = cdtime()};
    for (size_t i = 0; i < n; i++) {
      const gen_obs_item_t *it = &items[i];
      double seconds = it->has_value ? it->calculated_value / 1000.0 : 0;
      switch (it->metric) {
      case GEN_OBS_M_WAITING:
        fresh.waiting = it->count;
        break;
      case GEN_OBS_M_INTERACTING:
        fresh.interacting = it->count;
        break;
      case GEN_OBS_M_ALERTING:
        fresh.alerting = it->count;
        break;
      case GEN_OBS_M_LONGEST_WAITING:
        fresh.longest_waiting = seconds;
        break;
      case GEN_OBS_M_LONGEST_INTERACTING:
        fresh.longest_interacting = seconds;
        break;
      default:
        break;
      }
    }
    *s = fresh;
    return;
  }
  gr_agents_t fresh = {.seen = true};
  for (size_t i = 0; i < n; i++) {
    const gen_obs_item_t *it = &items[i];
    int k;
    switch (it->metric) {
    case GEN_OBS_M_MEMBER_USERS:
      fresh.member = it->count;
      break;
    case GEN_OBS_M_ACTIVE_USERS:
      fresh.active = it->count;
      break;
    case GEN_OBS_M_ON_QUEUE_USERS:
      fresh.on_queue = it->count;
      break;
    case GEN_OBS_M_OFF_QUEUE_USERS:
      fresh.off_queue = it->count;
      break;
    case GEN_OBS_M_USER_ROUTING_STATUSES:
      k = name_index(gr_routing, GR_ROUTING_COUNT, it->qualifier);
      if (k >= 0)
        fresh.routing[k] += it->count;
      break;
    case GEN_OBS_M_USER_PRESENCES:
      k = name_index(gr_presence, GR_PRESENCE_COUNT, it->qualifier);
      fresh.presence[k >= 0 ? k : (int)GR_PRESENCE_COUNT - 1] += it->count;
      break;
    default:
      break;
    }
  }
  q->agents = fresh;
}

/* ---- dispatch
 * ----------------------------------------------------------------------- */

typedef struct {
  const gr_instance_t *inst;
  const char *queue;
  cdtime_t time;
} gr_sink_t;

static void put(const gr_sink_t *sink, const char *type,
                const char *type_instance, double value) {
  gen_ident_t id = {.host = gen_client_host(sink->inst->client),
                    .plugin = PLUGIN_NAME,
                    .plugin_instance = sink->queue,
                    .type = type,
                    .type_instance = type_instance};
  gen_dispatch_gauge(&id, value, sink->time, 0);
}

/* The longest wait keeps growing between events (they come only when a
 * count changes): while someone waits, it is the observed value plus the
 * time since it was observed. */
static double grown(double observed, int64_t count, cdtime_t observed_at,
                    cdtime_t now) {
  if (count <= 0)
    return 0;
  if (observed < 0)
    observed = 0;
  if (now <= observed_at)
    return observed;
  return observed + CDTIME_T_TO_DOUBLE(now - observed_at);
}

/* Dispatches one media group, every value or (old != NULL) those that
 * changed. */
static void dispatch_media(const gr_sink_t *sink, const char *media,
                           const gr_media_t *s, const gr_media_t *old) {
  bool all = old == NULL || !old->seen;
  if (all || old->waiting != s->waiting)
    put(sink, "waiting", media, (double)s->waiting);
  if (all || old->interacting != s->interacting)
    put(sink, "interacting", media, (double)s->interacting);
  if (all || old->alerting != s->alerting)
    put(sink, "alerting", media, (double)s->alerting);
  if (all || old->longest_waiting != s->longest_waiting)
    put(sink, "longest_waiting", media,
        grown(s->longest_waiting, s->waiting, s->observed_at, sink->time));
  if (all || old->longest_interacting != s->longest_interacting)
    put(sink, "longest_interacting", media,
        grown(s->longest_interacting, s->interacting, s->observed_at,
              sink->time));
}

static void dispatch_agents(const gr_sink_t *sink, const gr_agents_t *a,
                            const gr_agents_t *old) {
  bool all = old == NULL || !old->seen;
  if (all || old->member != a->member)
    put(sink, "agents", "member", (double)a->member);
  if (all || old->active != a->active)
    put(sink, "agents", "active", (double)a->active);
  if (all || old->on_queue != a->on_queue)
    put(sink, "agents", "on_queue", (double)a->on_queue);
  if (all || old->off_queue != a->off_queue)
    put(sink, "agents", "off_queue", (double)a->off_queue);
  for (size_t k = 0; k < GR_ROUTING_COUNT; k++)
    if (all || old->routing[k] != a->routing[k])
      put(sink, "agents_routing", gr_routing_names[k], (double)a->routing[k]);
  for (size_t k = 0; k < GR_PRESENCE_COUNT; k++)
    if (all || old->presence[k] != a->presence[k])
      put(sink, "agents_presence", gr_presence_names[k],
          (double)a->presence[k]);
}

static const char *queue_instance(const gr_instance_t *inst, size_t index) {
  const gen_entity_t *e = &inst->queues.items[index];
  return inst->client->org->instance_from == GEN_INSTANCE_FROM_ID ? e->id
                                                                  : e->name;
}

/* Applies a group and dispatches what changed. Called with the lock held,
 * so that values of one series leave in time order. */
static void apply_and_dispatch(gr_instance_t *inst, size_t index, int media,
                               const gen_obs_item_t *items, size_t n) {
  gr_queue_t *q = &inst->state[index];
  gr_sink_t sink = {
      .inst = inst, .queue = queue_instance(inst, index), .time = cdtime()};
  if (media >= 0) {
    gr_media_t old = q->media[media];
    apply_items(q, media, items, n);
    if (media_wanted(inst, (size_t)media))
      dispatch_media(&sink, gr_media[media], &q->media[media], &old);
  } else {
    gr_agents_t old = q->agents;
    apply_items(q, -1, items, n);
    dispatch_agents(&sink, &q->agents, &old);
  }
}

/* ---- streaming
 * ------------------------------------------------------------------------ */

/* One parser per channel thread (a parser is not shared), freed when the
 * thread ends. */
static pthread_key_t parser_key;
static pthread_once_t parser_key_once = PTHREAD_ONCE_INIT;

static void parser_destroy(void *parser) { gen_obs_parser_free(parser); }
static void parser_key_create(void) {
  pthread_key_create(&parser_key, parser_destroy);
}

static gen_obs_parser_t *thread_parser(void) {
  pthread_once(&parser_key_once, parser_key_create);
  gen_obs_parser_t *parser = pthread_getspecific(parser_key);
  if (parser == NULL) {
    parser = gen_obs_parser_new(GEN_JSON_MAX_DEPTH);
    if (parser != NULL)
      pthread_setspecific(parser_key, parser);
  }
  return parser;
}

static gen_notify_verdict_t gr_on_message(void *ud, const char *json,
                                          size_t len) {
  gr_instance_t *inst = ud;
  gen_obs_parser_t *parser = thread_parser();
  gen_obs_msg_t msg;
  char err[128];
  if (parser == NULL ||
      gen_obs_parse(parser, json, len, &msg, err, sizeof(err)) != 0) {
    gen_log_limited(&inst->complain, LOG_WARNING,
                    "%s plugin: Org \"%s\": malformed notification skipped: "
                    "%s",
                    PLUGIN_NAME, inst->client->org->name,
                    parser ? err : "out of memory");
    return GEN_NOTIFY_MALFORMED;
  }
  switch (msg.topic) {
  case GEN_OBS_TOPIC_HEARTBEAT:
    return GEN_NOTIFY_HEARTBEAT;
  case GEN_OBS_TOPIC_SOCKET_CLOSING:
    return GEN_NOTIFY_RECONNECT;
  case GEN_OBS_TOPIC_QUEUE_OBSERVATIONS:
    break;
  default:
    return GEN_NOTIFY_OK;
  }
  int media = -1;
  if (msg.media_type[0] != '\0' && (media = media_index(msg.media_type)) < 0)
    return GEN_NOTIFY_OK; /* a media type this version does not know */
  pthread_mutex_lock(&inst->lock);
  ssize_t index = gen_entity_find(&inst->queues, msg.queue_id);
  if (index >= 0)
    apply_and_dispatch(inst, (size_t)index, media, msg.items, msg.n_items);
  pthread_mutex_unlock(&inst->lock);
  return GEN_NOTIFY_OK;
}

static const char *const gr_obs_metrics[] = {"oWaiting",
                                             "oInteracting",
                                             "oAlerting",
                                             "oLongestWaiting",
                                             "oLongestInteracting",
                                             "oActiveUsers",
                                             "oMemberUsers",
                                             "oOnQueueUsers",
                                             "oOffQueueUsers",
                                             "oUserRoutingStatuses",
                                             "oUserPresences"};

static gen_obs_metric_t metric_from_name(const char *name) {
  for (int m = GEN_OBS_M_UNKNOWN + 1; m < GEN_OBS_M_COUNT; m++)
    if (strcmp(gen_obs_metric_name((gen_obs_metric_t)m), name) == 0)
      return (gen_obs_metric_t)m;
  return GEN_OBS_M_UNKNOWN;
}

/* Converts one result group of the observations query to parser items. */
static size_t query_items(json_object *data, gen_obs_item_t *items,
                          size_t max) {
  size_t n = 0;
  size_t len = data ? json_object_array_length(data) : 0;
  for (size_t i = 0; i < len && n < max; i++) {
    json_object *d = json_object_array_get_idx(data, i);
    const char *metric = gen_json_get_string(d, "metric");
    json_object *stats = gen_json_get_object(d, "stats");
    if (metric == NULL || stats == NULL)
      continue;
    gen_obs_item_t *it = &items[n];
    memset(it, 0, sizeof(*it));
    it->metric = metric_from_name(metric);
    if (it->metric == GEN_OBS_M_UNKNOWN)
      continue;
    const char *qualifier = gen_json_get_string(d, "qualifier");
    if (qualifier)
      sstrncpy(it->qualifier, qualifier, sizeof(it->qualifier));
    it->has_count = gen_json_get_int64(stats, "count", &it->count);
    it->has_value = gen_json_get_double(stats, "calculatedMetricValue",
                                        &it->calculated_value);
    n++;
  }
  return n;
}

/* Baseline of queue_ids[0..n-1] (≤ 100): one observations query. */
static int baseline_batch(gr_instance_t *inst, gen_http_t *http,
                          const char *const *queue_ids, size_t n) {
  json_object *body = json_object_new_object();
  json_object *filter = json_object_new_object();
  json_object *predicates = json_object_new_array();
  json_object_object_add(filter, "type", json_object_new_string("or"));
  for (size_t i = 0; i < n; i++) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "dimension", json_object_new_string("queueId"));
    json_object_object_add(p, "value", json_object_new_string(queue_ids[i]));
    json_object_array_add(predicates, p);
  }
  json_object_object_add(filter, "predicates", predicates);
  json_object_object_add(body, "filter", filter);
  json_object *metrics = json_object_new_array();
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(gr_obs_metrics); i++)
    json_object_array_add(metrics, json_object_new_string(gr_obs_metrics[i]));
  json_object_object_add(body, "metrics", metrics);
  json_object *doc = NULL;
  char err[512];
  int status =
      gen_http_post_json(http, "/api/v2/analytics/queues/observations/query",
                         body, &doc, err, sizeof(err));
  json_object_put(body);
  if (status != 0) {
    gen_log_limited(&inst->complain, LOG_ERR,
                    "%s plugin: Org \"%s\": queue observations query failed: "
                    "%s",
                    PLUGIN_NAME, inst->client->org->name, err);
    return status;
  }
  json_object *results = gen_json_get_array(doc, "results");
  size_t len = results ? json_object_array_length(results) : 0;
  gen_obs_item_t items[GEN_OBS_MAX_ITEMS];
  bool answered[GR_QUEUES_PER_QUERY][GR_MEDIA_COUNT] = {{false}};
  pthread_mutex_lock(&inst->lock);
  for (size_t r = 0; r < len; r++) {
    json_object *result = json_object_array_get_idx(results, r);
    json_object *group = gen_json_get_object(result, "group");
    const char *queue_id = gen_json_get_string(group, "queueId");
    const char *media_type = gen_json_get_string(group, "mediaType");
    ssize_t index = gen_entity_find(&inst->queues, queue_id);
    int media = media_type ? media_index(media_type) : -1;
    if (index < 0 || (media_type != NULL && media < 0))
      continue;
    size_t n_items = query_items(gen_json_get_array(result, "data"), items,
                                 GEN_OBS_MAX_ITEMS);
    apply_and_dispatch(inst, (size_t)index, media, items, n_items);
    for (size_t i = 0; media >= 0 && i < n; i++)
      if (strcmp(queue_ids[i], queue_id) == 0)
        answered[i][media] = true;
  }
  /* A media group we knew that the answer leaves out has nothing in it. */
  for (size_t i = 0; i < n; i++) {
    ssize_t index = gen_entity_find(&inst->queues, queue_ids[i]);
    for (size_t m = 0; index >= 0 && m < GR_MEDIA_COUNT; m++)
      if (inst->state[index].media[m].seen && !answered[i][m])
        apply_and_dispatch(inst, (size_t)index, (int)m, NULL, 0);
  }
  pthread_mutex_unlock(&inst->lock);
  json_object_put(doc);
  return 0;
}

/* A channel (re)connected: re-read its queues, 100 per query. */
static int gr_on_connected(void *ud, gen_http_t *http, char *const *topics,
                           size_t n) {
  gr_instance_t *inst = ud;
  const char *batch[GR_QUEUES_PER_QUERY];
  char ids[GR_QUEUES_PER_QUERY][80];
  size_t in_batch = 0;
  size_t prefix = strlen(GR_TOPIC_PREFIX), suffix = strlen(GR_TOPIC_SUFFIX);
  for (size_t i = 0; i <= n; i++) {
    if (i < n) {
      size_t len = strlen(topics[i]);
      if (len <= prefix + suffix || len - prefix - suffix >= sizeof(ids[0]) ||
          strncmp(topics[i], GR_TOPIC_PREFIX, prefix) != 0 ||
          strcmp(topics[i] + len - suffix, GR_TOPIC_SUFFIX) != 0)
        continue;
      snprintf(ids[in_batch], sizeof(ids[0]), "%.*s",
               (int)(len - prefix - suffix), topics[i] + prefix);
      batch[in_batch] = ids[in_batch];
      in_batch++;
    }
    if (in_batch == GR_QUEUES_PER_QUERY || (i == n && in_batch > 0)) {
      int status = baseline_batch(inst, http, batch, in_batch);
      if (status != 0)
        return status;
      in_batch = 0;
    }
  }
  return 0;
}

/* ---- queue list
 * ----------------------------------------------------------------------------
 */

/* Lists the selected queues; on a change, carries the state of the queues
 * kept over and gives the channel manager the new topics. */
static int refresh_queues(gr_instance_t *inst) {
  gen_entity_set_t fresh = {0};
  char err[512];
  int status = gen_entity_list(inst->client->http, inst->client->org,
                               "/api/v2/routing/queues", &inst->config.filter,
                               &fresh, err, sizeof(err));
  if (status != 0) {
    gen_log_limited(&inst->complain, LOG_ERR,
                    "%s plugin: Org \"%s\": cannot list queues: %s",
                    PLUGIN_NAME, inst->client->org->name, err);
    gen_entity_set_free(&fresh);
    return status;
  }
  gr_queue_t *state = calloc(fresh.count ? fresh.count : 1, sizeof(*state));
  char **topics = calloc(fresh.count ? fresh.count : 1, sizeof(*topics));
  if (state == NULL || topics == NULL) {
    free(state);
    free(topics);
    gen_entity_set_free(&fresh);
    return -ENOMEM;
  }
  for (size_t i = 0; i < fresh.count; i++) {
    if (asprintf(&topics[i], GR_TOPIC_PREFIX "%s" GR_TOPIC_SUFFIX,
                 fresh.items[i].id) < 0)
      topics[i] = NULL;
  }
  pthread_mutex_lock(&inst->lock);
  for (size_t i = 0; i < fresh.count; i++) {
    ssize_t old = gen_entity_find(&inst->queues, fresh.items[i].id);
    if (old >= 0)
      state[i] = inst->state[old];
  }
  bool changed = fresh.count != inst->queues.count;
  for (size_t i = 0; !changed && i < fresh.count; i++)
    changed = strcmp(fresh.items[i].id, inst->queues.items[i].id) != 0 ||
              strcmp(fresh.items[i].name, inst->queues.items[i].name) != 0;
  gen_entity_set_free(&inst->queues);
  free(inst->state);
  inst->queues = fresh;
  inst->state = state;
  inst->listed_at = cdtime();
  pthread_mutex_unlock(&inst->lock);

  size_t n_topics = 0;
  for (size_t i = 0; i < fresh.count; i++)
    if (topics[i] != NULL)
      topics[n_topics++] = topics[i];
  if (changed || !inst->streaming) {
    if (fresh.count == 0)
      GEN_WARNING("%s plugin: Org \"%s\": no queue matches the selection",
                  PLUGIN_NAME, inst->client->org->name);
    gen_notify_set_topics(inst->notify, topics, n_topics);
    if (!inst->streaming && gen_notify_start(inst->notify) == 0)
      inst->streaming = true;
  }
  for (size_t i = 0; i < n_topics; i++)
    free(topics[i]);
  free(topics);
  return 0;
}

/* ---- read: re-dispatch everything, self-metrics
 * ----------------------------------------------- */

static void dispatch_self(gr_instance_t *inst) {
  const char *host = gen_client_host(inst->client);
  gen_ident_t queues = {.host = host,
                        .plugin = PLUGIN_NAME,
                        .plugin_instance = "self",
                        .type = "queues"};
  gen_dispatch_gauge(&queues, (double)inst->queues.count, 0, 0);
  gen_notify_dispatch_stats(inst->notify, host, PLUGIN_NAME);
  gen_client_dispatch_health(inst->client, PLUGIN_NAME);
}

static int gr_read(user_data_t *ud) {
  gr_instance_t *inst = ud->data;
  cdtime_t now = cdtime();
  bool due = inst->listed_at == 0 ||
             (inst->config.refresh_interval > 0 &&
              now - inst->listed_at >= inst->config.refresh_interval);
  int status = due ? refresh_queues(inst) : 0;

  pthread_mutex_lock(&inst->lock);
  for (size_t i = 0; i < inst->queues.count; i++) {
    gr_queue_t *q = &inst->state[i];
    gr_sink_t sink = {
        .inst = inst, .queue = queue_instance(inst, i), .time = cdtime()};
    for (size_t m = 0; m < GR_MEDIA_COUNT; m++)
      if (q->media[m].seen && media_wanted(inst, m))
        dispatch_media(&sink, gr_media[m], &q->media[m], NULL);
    if (q->agents.seen)
      dispatch_agents(&sink, &q->agents, NULL);
  }
  pthread_mutex_unlock(&inst->lock);
  dispatch_self(inst);
  /* Only a failed first listing is a failed read (collectd backs off). */
  return (status != 0 && inst->queues.count == 0) ? -1 : 0;
}

/* ---- lifecycle
 * -----------------------------------------------------------------------------------
 */

static void gr_instance_free(void *data) {
  gr_instance_t *inst = data;
  if (inst == NULL)
    return;
  gen_notify_free(inst->notify);
  gen_entity_set_free(&inst->queues);
  free(inst->state);
  pthread_mutex_destroy(&inst->lock);
  gen_entity_filter_free(&inst->config.filter);
  for (size_t i = 0; i < inst->config.n_media_filter; i++)
    free(inst->config.media_filter[i]);
  free(inst->config.media_filter);
  gen_client_free(inst->client);
  free(inst);
}

static void *gr_instance_new(gen_client_t *client, void *config) {
  gr_instance_t *inst = calloc(1, sizeof(*inst));
  if (inst == NULL) {
    gen_client_free(client);
    gr_config_free(config);
    return NULL;
  }
  inst->client = client;
  inst->config = *(gr_config_t *)config;
  free(config);
  pthread_mutex_init(&inst->lock, NULL);
  inst->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  gen_notify_options_t options = {
      .dead_after = inst->config.heartbeat_timeout,
      .ping_after = inst->config.heartbeat_timeout * 47 / 100,
      .topics_per_channel = (size_t)inst->config.topics_per_channel,
  };
  inst->notify = gen_notify_create(
      client,
      &(gen_notify_callbacks_t){.on_message = gr_on_message,
                                .on_connected = gr_on_connected},
      inst, &options);
  if (inst->notify == NULL) {
    gr_instance_free(inst);
    return NULL;
  }
  return inst;
}

static const gen_plugin_t gr_plugin = {
    .name = PLUGIN_NAME,
    .org_key = gr_config_key,
    .config_new = gr_config_new,
    .config_free = gr_config_free,
    .instance_new = gr_instance_new,
    .instance_free = gr_instance_free,
    .read = gr_read,
};

static int gr_config(oconfig_item_t *ci) {
  return gen_plugin_config(&gr_plugin, ci);
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, gr_config);
  plugin_register_init(PLUGIN_NAME, gen_plugin_init);
}
