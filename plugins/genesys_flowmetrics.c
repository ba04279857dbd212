/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_flowmetrics, Architect flow executions, outcomes,
 * milestones and metric attributes.
 *
 * How do my Architect flows behave? Each <Org> block selects flows (ids,
 * name patterns, flow types, divisions, shard) and streams their
 * v2.analytics.flow.{id}.metrics topics: every record becomes a DERIVE
 * counter per flow (executions, outcomes by success and failure,
 * milestones, disconnects, exits), dispatched at the channel's next tick
 * (every 100 ms: a burst leaves once) and again every read.
 *
 * Metric attributes (seed 004): flows set participant data attributes
 * named "<FlowName>Metric_<MetricName>(<time>)"; each distinct name counts
 * once per conversation into a counter per flow and metric name. They come
 * from the v2.routing.queues.{id}.conversations topics of the selected
 * queues, and from EventBridge events POSTed to the optional receiver.
 * Counting, dedup, expiry and persistence live in gen_attr (its keys and
 * the names read from events in gen_attr_config); the receiver in
 * gen_receiver (its keys in gen_receiver_config), the EventBridge envelope
 * and repeated deliveries in gen_eventbridge.
 *
 * Per closed interval (Granularity), the flow aggregates of every flow,
 * outcome and milestone (gen_flow_agg) go through the closed-interval
 * engine (gen_interval, shared with genesys_analytics): each bucket once at
 * its end, revisits, backfills, interval counters. Active flows (oFlow)
 * come from the flow observations query every read.
 *
 * Counters only go up and survive restarts, a SIGKILL too: every flow
 * counter increment (gen_counters) and every newly counted metric attribute
 * (gen_attr) is journalled before it is marked for dispatch or acknowledged;
 * a state file every StateSaveInterval starts new journals.
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_client.h"
#include "gen_counters.h"
#include "gen_entity.h"
#include "gen_eventbridge.h"
#include "gen_flow_counts.h"
#include "gen_hub.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_notify.h"
#include "gen_plugin.h"
#include "gen_receiver_config.h"
#include "gen_state.h"
#include "gen_utf8.h"
#include "gf_history.h"
#include "gf_state.h"

#include <pthread.h>
#include <strings.h>

#define PLUGIN_NAME GF_PLUGIN_NAME
#define GF_FLOW_TOPIC_PREFIX "v2.analytics.flow."
#define GF_FLOW_TOPIC_SUFFIX ".metrics"
#define GF_QUEUE_TOPIC_PREFIX "v2.routing.queues."
#define GF_QUEUE_TOPIC_SUFFIX ".conversations"
#define GF_EB_DETAIL_TYPE "v2.detail.events.conversation.{id}.attributes"
#define GF_EB_TOPIC_PREFIX "v2.detail.events.conversation."
#define GF_EB_TOPIC_SUFFIX ".attributes"
/* EventBridge ids remembered for duplicate detection, per generation. */
#define GF_RECENT_IDS 65536
/* Ranges asked for per batch and read, so that a long backfill does not
 * hold collectd's read thread; the rest follows in the next reads. */
#define GF_RANGES_PER_READ 8

typedef struct {
  gen_client_t *client;
  gf_config_t config;
  gen_log_org_t who;          /* whose lines: the modules' and ours */
  gen_unknown_sink_t unknown; /* flow metric records' words we do not know */
  gen_notify_t *notify;
  gen_attr_ledger_t *ledger;
  gen_receiver_t *receiver;
  gen_eventbridge_t *events; /* what the receiver takes */
  /* Self-metrics: records and conversation events taken. */
  atomic_uint_fast64_t flow_records, conversation_events;
  gf_state_t state; /* its file: the counters and the ledger */

  pthread_mutex_t lock; /* entity sets, counters */
  gf_lists_t lists;
  gen_counters_t *counters; /* keyed (flow id, sub id; kind) */
  /* The rows of gf_history on: flow aggregates, data actions; their
   * counts take the active flows' queries too. */
  gen_families_t families;
  /* The read interval (0 before the first read), for values dispatched
   * from the receiver's and the channels' threads. */
  atomic_uint_fast64_t interval;
  cdtime_t last_time; /* of the last dispatch: times strictly increase */
  cdtime_t listed_at, saved_at;
  bool started, streaming;
  gen_ratelimit_t complain;
  /* The active flows (their answer buffer is the instance's own: read
   * callbacks of two orgs run in parallel). */
  gen_flow_agg_t agg;
} gf_instance_t;

/* ---- dispatch ------------------------------------------------------------ */

/* One counter at time at (explicit: the channels' threads have no plugin
 * context to take it from). */
static void gf_put_derive(const gf_instance_t *inst, const char *instance,
                          const char *type, const char *type_instance,
                          uint64_t total, cdtime_t at) {
  gen_ident_t id = {.host = gen_client_host(inst->client),
                    .plugin = PLUGIN_NAME,
                    .plugin_instance = instance,
                    .type = type,
                    .type_instance = type_instance};
  /* The read interval once known (0: gen_dispatch finds it). */
  gen_dispatch_number(
      &id, true, (double)total, at,
      (cdtime_t)atomic_load(&((gf_instance_t *)inst)->interval));
}

/* Counts one increment: journalled (one write, which a SIGKILL does not
 * lose) and marked for the next tick. Called with the lock held. */
static void gf_count_flow(void *ud, const char *flow_id, gen_flow_kind_t kind,
                          const char *sub_id) {
  gf_instance_t *inst = ud;
  gen_key_t key = gen_flow_counter_key(flow_id, kind, sub_id);
  gen_counters_increment(inst->counters, &key);
}

typedef struct {
  gf_instance_t *inst;
  cdtime_t time;
} gf_sink_t;

/* Counter i (gen_counters_each), named from the entity listings (ids
 * where they have none). */
static void gf_dispatch_counter(void *ud, size_t i) {
  gf_sink_t *sink = ud;
  gf_instance_t *inst = sink->inst;
  const gen_org_t *org = inst->client->org;
  const gen_key_t *key = gen_counters_key(inst->counters, i);
  const char *flow_id = key->str[0], *sub_id = key->str[1], *sub = NULL;
  gen_flow_kind_t kind = (gen_flow_kind_t)key->num;
  if (kind == GEN_FLOW_OUTCOME_SUCCESS || kind == GEN_FLOW_OUTCOME_FAILURE)
    sub = gen_entity_label(org, &inst->lists.outcomes, sub_id, NULL);
  else if (kind == GEN_FLOW_MILESTONES)
    sub = gen_entity_label(org, &inst->lists.milestones, sub_id, NULL);
  gf_put_derive(inst, gen_entity_label(org, &inst->lists.flows, flow_id, NULL),
                gen_flow_kind_types[kind], sub,
                gen_counters_total(inst->counters, i), sink->time);
}

/* A metric-attribute counter (gen_attr_foreach*). */
static void gf_dispatch_attribute(void *ud, const char *flow,
                                  const char *metric, uint64_t total) {
  gf_sink_t *sink = ud;
  gf_put_derive(sink->inst, flow, "flow_metric_attribute", metric, total,
                sink->time);
}

/* The flow counters and metric attributes, every one (all: the read's
 * re-dispatch, so that series never go stale) or those counted since the
 * last dispatch (the tick's, and at once when a channel is lost), each
 * once, at one time. The ledger's lock is taken inside ours: a tick and a
 * read cannot interleave their values of one series. */
static void gf_dispatch_counters(gf_instance_t *inst, bool all) {
  pthread_mutex_lock(&inst->lock);
  gf_sink_t sink = {inst, gen_dispatch_next_time(&inst->last_time)};
  gen_counters_each(inst->counters, all, gf_dispatch_counter, &sink);
  (all ? gen_attr_foreach
       : gen_attr_foreach_changed)(inst->ledger, gf_dispatch_attribute, &sink);
  pthread_mutex_unlock(&inst->lock);
}

static void gf_on_tick(void *ud) { gf_dispatch_counters(ud, false); }

static void gf_on_lost(void *ud, char *const *topics, size_t n) {
  gf_dispatch_counters(ud, false);
}

/* ---- flow metric records ------------------------------------------------- */

/* One FlowMetricRecord of a selected flow, counted (gen_flow_counts). */
static void gf_apply_flow_record(gf_instance_t *inst, json_object *body) {
  const char *flow_id = gen_flow_record_flow(body);
  if (flow_id == NULL)
    return;
  pthread_mutex_lock(&inst->lock);
  if (gen_entity_find(&inst->lists.flows, flow_id) >= 0) { /* still selected */
    atomic_fetch_add(&inst->flow_records, 1);
    gen_flow_record_count(body, gf_count_flow, inst, &inst->unknown);
  }
  pthread_mutex_unlock(&inst->lock);
}

/* ---- metric attributes --------------------------------------------------- */

/* A v2.routing.queues.{id}.conversations event: its attributes counted. */
static void gf_apply_conversation(gf_instance_t *inst, json_object *body) {
  if (gen_attr_observe_conversation(inst->ledger, body, cdtime(), NULL, NULL))
    atomic_fetch_add(&inst->conversation_events, 1);
}

static gen_notify_verdict_t gf_on_message(void *ud, const char *topic,
                                          const char *json, size_t len) {
  gf_instance_t *inst = ud;
  json_object *doc = NULL;
  char err[128];
  if (gen_notify_parse(json, len, &doc, err, sizeof(err)) != 0) {
    gen_org_log(inst->client->org, &inst->complain, LOG_WARNING,
                "malformed notification skipped: %s", err);
    return GEN_NOTIFY_MALFORMED;
  }
  json_object *body = gen_json_get_object(doc, "eventBody");
  if (body != NULL &&
      gen_notify_topic_has(topic, GF_FLOW_TOPIC_PREFIX, GF_FLOW_TOPIC_SUFFIX))
    gf_apply_flow_record(inst, body);
  else if (body != NULL && gen_notify_topic_has(topic, GF_QUEUE_TOPIC_PREFIX,
                                                GF_QUEUE_TOPIC_SUFFIX))
    gf_apply_conversation(inst, body);
  json_object_put(doc);
  return GEN_NOTIFY_OK;
}

/* Counters need no baseline: what happened while the socket was down is in
 * the interval aggregates, and later conversation events repeat every
 * attribute. */
static int gf_on_connected(void *ud, gen_http_t *http, char *const *topics,
                           size_t n, uint8_t *failed) {
  return 0;
}

/* ---- the receiver -------------------------------------------------------- */

/* An EventBridge event's topic and body (gen_eventbridge): the
 * attributes of a conversation. */
static bool gf_event_valid(void *ud, const char *topic, json_object *body) {
  const char *conversation = gen_json_get_string(body, "conversationId");
  (void)ud;
  return gen_notify_topic_has(topic, GF_EB_TOPIC_PREFIX, GF_EB_TOPIC_SUFFIX) &&
         conversation != NULL && conversation[0] != '\0' &&
         gen_json_get_object(body, "attributes") != NULL;
}

/* 200 once its attributes are counted (journalled); otherwise nothing of
 * it counts and EventBridge sends it again: 507 for a full disk, 503 when
 * the journal cannot be written at all (a read-only or foreign state
 * directory; the journal names it in the log). */
static unsigned gf_event_take(void *ud, json_object *body) {
  gf_instance_t *inst = ud;
  const char *names[GEN_ATTR_EVENT_NAMES];
  size_t n = 0;
  gen_attr_names_of(gen_json_get_object(body, "attributes"), names, &n);
  int status = gen_attr_observe_durable(
      inst->ledger, gen_json_get_string(body, "conversationId"), names, n,
      false, cdtime(), NULL, NULL);
  if (status >= 0)
    return 200;
  return (status == -ENOSPC || status == -EDQUOT || status == -EFBIG) ? 507
                                                                      : 503;
}

/* ---- state --------------------------------------------------------------- */

static void gf_restore_state(gf_instance_t *inst) {
  gf_state_restore(&inst->state);
}

static void gf_save_state(gf_instance_t *inst) {
  int status = gf_state_save(&inst->state);
  if (status != 0)
    gen_org_log(inst->client->org, &inst->complain, LOG_ERR,
                "cannot write state file %s: %s", inst->config.state_file,
                gen_strerror(status));
  inst->saved_at = cdtime();
}

/* ---- entity lists and topics --------------------------------------------- */

/* The topics of the flows' records and the queues' conversations (NULL
 * when out of memory). */
static char **gf_make_topics(const gen_entity_set_t *flows,
                             const gen_entity_set_t *queues, size_t *n) {
  char **topics = calloc(flows->count + queues->count + 1, sizeof(*topics));
  *n = 0;
  if (topics != NULL) {
    *n = gen_entity_topics(flows, GF_FLOW_TOPIC_PREFIX, GF_FLOW_TOPIC_SUFFIX,
                           topics);
    *n += gen_entity_topics(queues, GF_QUEUE_TOPIC_PREFIX,
                            GF_QUEUE_TOPIC_SUFFIX, topics + *n);
  }
  return topics;
}

/* Lists flows, outcomes, milestones (for names), data actions and queues
 * (gf_list); on a change of flows or queues gives the channel manager the
 * new topics. */
static int gf_refresh_entities(gf_instance_t *inst) {
  uint64_t generation = inst->lists.generation;
  int status =
      gf_list(&inst->config, inst->client, &inst->lists, &inst->complain);
  if (status != 0)
    return status;
  inst->listed_at = cdtime();
  bool changed = inst->lists.generation != generation;
  pthread_mutex_lock(&inst->lock);
  size_t n = 0;
  char **topics = gf_make_topics(&inst->lists.flows, &inst->lists.queues, &n);
  pthread_mutex_unlock(&inst->lock);
  if (topics != NULL && (changed || !inst->streaming)) {
    if (n == 0)
      gen_org_log(inst->client->org, NULL, LOG_WARNING,
                  "no flow or queue matches the selection");
    /* What is monitored, at start and after every change of it. */
    gen_org_log(inst->client->org, NULL, LOG_INFO,
                "%zu flows (%zu outcomes, %zu milestones named), %zu "
                "queues for attributes, %zu topics; aggregates %s, active "
                "flows %s, receiver %s%s",
                inst->lists.flows.count, inst->lists.outcomes.count,
                inst->lists.milestones.count, inst->lists.queues.count, n,
                inst->config.agg.aggregates ? "on" : "off",
                inst->config.agg.active_flows ? "on" : "off",
                inst->config.rx.port != NULL ? "on port " : "off",
                inst->config.rx.port != NULL ? inst->config.rx.port : "");
    gen_notify_set_topics(inst->notify, topics, n);
    if (!inst->streaming && gen_notify_start(inst->notify) == 0)
      inst->streaming = true;
  }
  gen_hub_topics_free(topics, n);
  return 0;
}

/* ---- read ---------------------------------------------------------------- */

static void gf_dispatch_self(gf_instance_t *inst) {
  const char *host = gen_client_host(inst->client);
  gen_eventbridge_stats_t *eb = gen_eventbridge_stats(inst->events);
  gen_self_row_t self[] = {
      {"flow_records", NULL, true, (double)atomic_load(&inst->flow_records)},
      {"attribute_events", "conversation", true,
       (double)atomic_load(&inst->conversation_events)},
      {"attribute_events", "eventbridge", true,
       (double)atomic_load(&eb->events)},
      {"duplicates_dropped", NULL, true, (double)atomic_load(&eb->duplicates)},
      {"state_refused", "flow_counters", true,
       (double)gen_counters_refused(inst->counters)},
      {"state_refused", "lines", true, (double)inst->state.refused_lines},
      {"flows", NULL, false, (double)inst->lists.flows.count},
  };
  gen_dispatch_self_rows(host, PLUGIN_NAME, self, STATIC_ARRAY_SIZE(self));
  gen_attr_dispatch_stats(inst->ledger, host, PLUGIN_NAME);
  if (inst->config.agg.aggregates || inst->config.act.on ||
      inst->config.agg.active_flows) {
    gen_interval_stats_t st = {0};
    gen_families_stats(&inst->families, &st);
    gen_agg_dispatch_self(host, PLUGIN_NAME, &st, inst->families.counts.queries,
                          inst->families.counts.failures);
  }
  gen_receiver_dispatch_stats(inst->receiver, host, PLUGIN_NAME);
  gen_notify_dispatch_stats(inst->notify, host, PLUGIN_NAME);
  gen_client_dispatch_health(inst->client, PLUGIN_NAME);
}

static int gf_read(user_data_t *ud) {
  gf_instance_t *inst = ud->data;
  cdtime_t now = cdtime();
  /* Before the receiver and the channels start: their threads have no
   * plugin context to take it from. */
  atomic_store(&inst->interval, plugin_get_interval());
  if (!inst->started) {
    /* Here, not at configuration: collectd may fork after reading it, and
     * threads do not survive a fork. */
    gf_restore_state(inst);
    inst->started = true;
    inst->saved_at = now;
  }
  gen_receiver_config_start(&inst->config.rx, &inst->receiver,
                            gen_eventbridge_handle, inst->events, &inst->who,
                            &inst->complain);
  bool due = inst->listed_at == 0 ||
             (inst->config.refresh_interval > 0 &&
              now - inst->listed_at >= inst->config.refresh_interval);
  int status = due ? gf_refresh_entities(inst) : 0;
  gen_attr_expire(inst->ledger, now);
  gen_families_read(&inst->families, inst->client, plugin_get_interval(),
                    GF_RANGES_PER_READ);
  if (inst->listed_at != 0 && inst->config.agg.active_flows)
    gen_flow_agg_observe(&inst->agg, &inst->families.counts,
                         (size_t)inst->config.agg.flows_per_query);
  gf_dispatch_counters(inst, true);
  if (now - inst->saved_at >= inst->config.state_save_interval)
    gf_save_state(inst);
  gf_dispatch_self(inst);
  /* Only a failed first listing is a failed read (collectd backs off). */
  return (status != 0 && inst->listed_at == 0) ? -1 : 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void gf_instance_free(void *data) {
  gf_instance_t *inst = data;
  if (inst == NULL)
    return;
  gen_receiver_stop(inst->receiver);
  gen_notify_free(inst->notify);
  gen_families_free(&inst->families);
  if (inst->started && inst->ledger != NULL)
    gf_save_state(inst);
  gen_attr_ledger_free(inst->ledger);
  gf_lists_free(&inst->lists);
  gen_counters_free(inst->counters);
  gen_eventbridge_free(inst->events);
  pthread_mutex_destroy(&inst->lock);
  gf_config_release(&inst->config);
  gen_client_free(inst->client);
  free(inst);
}

/* After the scaffolding put client and config in place. */
static int gf_instance_init(void *data) {
  gf_instance_t *inst = data;
  gen_client_t *client = inst->client;
  pthread_mutex_init(&inst->lock, NULL);
  inst->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  inst->agg =
      (gen_flow_agg_t){.client = client,
                       .plugin = PLUGIN_NAME,
                       .flows = &inst->lists.flows,
                       .outcomes = &inst->lists.outcomes,
                       .milestones = &inst->lists.milestones,
                       .granularity_ms = inst->config.interval.granularity_ms,
                       .interval = &inst->interval,
                       .complain = &inst->complain};
  inst->lists.lock = &inst->lock;
  inst->who = (gen_log_org_t){PLUGIN_NAME, client->org->name};
  inst->unknown =
      (gen_unknown_sink_t){&client->stats, &inst->who, "flow_records"};
  gen_eventbridge_options_t events = {.detail_type = GF_EB_DETAIL_TYPE,
                                      .recent_ids = GF_RECENT_IDS,
                                      .valid = gf_event_valid,
                                      .take = gf_event_take,
                                      .ud = inst,
                                      .who = &inst->who,
                                      .complain = &inst->complain};
  if ((inst->events = gen_eventbridge_new(&events)) == NULL)
    return -ENOMEM;
  gf_config_t *c = &inst->config;
  char path[PATH_MAX], journal[PATH_MAX + 16];
  if (c->state_file == NULL) {
    /* <StateDirectory>/genesys_flowmetrics-<org>.json, its directory made:
     * without it nothing counted could be kept. */
    if (gen_state_path_logged(&inst->who, c->interval.state_dir, PLUGIN_NAME,
                              client->org->name, "", path, sizeof(path)) != 0)
      return -EINVAL;
    if ((c->state_file = strdup(path)) == NULL)
      return -ENOMEM;
  } else { /* the deprecated StateFile: its directory made if it can be */
    sstrncpy(path, c->state_file, sizeof(path));
    char *slash = strrchr(path, '/');
    int status = slash != NULL && slash != path
                     ? (*slash = '\0', gen_state_mkdir(path))
                     : 0;
    if (status != 0)
      gen_org_log(client->org, NULL, LOG_WARNING,
                  "cannot create state directory %s: %s", path,
                  gen_strerror(status));
  }
  /* The receiver and the attribute format must work. */
  if (gen_receiver_config_check(&c->rx, &inst->who) != 0 ||
      gen_attr_config_check(&c->attr, &inst->who) != 0)
    return -EINVAL;
  snprintf(journal, sizeof(journal), "%s.journal", c->state_file);
  inst->ledger = gen_attr_config_ledger(&c->attr, journal, &inst->who);
  if (inst->ledger == NULL)
    return -EINVAL;
  gen_counters_options_t counters = {
      .totals_name = "flows",
      .write_key = gen_key_text,
      .read_key = gen_flow_counter_key_read,
      .who = &inst->who,
      .journal_errors = &gen_attr_stats(inst->ledger)->journal_errors,
  };
  snprintf(journal, sizeof(journal), "%s.flows", c->state_file);
  if ((inst->counters = gen_counters_new(&counters, journal)) == NULL)
    return -EINVAL;
  inst->state = (gf_state_t){.path = c->state_file,
                             .counters = inst->counters,
                             .lock = &inst->lock,
                             .ledger = inst->ledger,
                             .who = &inst->who};
  gen_family_env_t env = {.config = c,
                          .lists = &inst->lists,
                          .client = client,
                          .plugin = PLUGIN_NAME,
                          .who = &inst->who};
  if (gen_families_open(&inst->families, &gf_history, &env) != 0)
    return -EINVAL;
  gen_notify_options_t notify_options = gen_notify_config_options(&c->notify);
  inst->notify = gen_notify_create(
      client,
      &(gen_notify_callbacks_t){.on_message = gf_on_message,
                                .on_connected = gf_on_connected,
                                .on_tick = gf_on_tick,
                                .on_lost = gf_on_lost},
      inst, &notify_options);
  return inst->notify == NULL ? -ENOMEM : 0;
}

static const gen_plugin_t gf_plugin = {
    .name = PLUGIN_NAME,
    .org_key = gf_config_key,
    .keys = gf_keys,
    .n_keys = GF_KEYS,
    .config_init = gf_config_init,
    .config_release = gf_config_release,
    GEN_PLUGIN_INSTANCE(gf_instance_t),
    .instance_init = gf_instance_init,
    .instance_free = gf_instance_free,
    .read = gf_read,
};

GEN_PLUGIN_REGISTER(gf_plugin)
