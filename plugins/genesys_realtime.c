/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_realtime, live queue and agent state from the
 * Notifications API WebSocket.
 *
 * What is happening in my queues right now? Each <Org> block selects queues
 * (ids, name patterns, divisions, shard), subscribes to their
 * v2.analytics.queues.{id}.observations topics on as many channels as that
 * takes, and keeps per queue and media type the conversations waiting,
 * interacting and alerting and the longest wait, and per queue the agents by
 * routing status and presence. A change on the socket updates the state and
 * marks its queue changed; the channel's tick (every 100 ms) dispatches the
 * values that differ from what was last dispatched, once each, at the
 * tick's time; every value is dispatched again each interval so series
 * never go stale. After every (re)connect the channel's
 * queues are re-read with the observations query, 100 queues a request.
 *
 * Optional families. ConversationEvents adds v2.routing.queues.{id}.
 * conversations: each moment of a conversation (offered, answered,
 * abandoned, transferred, state transitions) is read from the event's json-c
 * document (gen_notify_parse: one parse, shared with genesys_flowmetrics
 * when it reads the topic too) by gen_conv_from_json, counted once by the
 * conversation tracker (gen_conv) and dispatched at the tick; answered waits
 * feed per-interval count/sum/percentiles and cumulative buckets.
 * AgentActivity adds v2.users.{id}.activity for every member of the
 * selected queues: org-wide agents by routing status and presence, each
 * agent once, re-read with GET /api/v2/users after every (re)connect.
 * The live features are rows of gen_features.c (gen_feature.h): from the
 * read, each within its budget (some follow their topics in between), and
 * under the lock where the state changes (summaries see every gauge change,
 * gap repair vets each moment).
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_buf.h"
#include "gen_client.h"
#include "gen_conv.h"
#include "gen_conv_counts.h"
#include "gen_entity.h"
#include "gen_feature.h"
#include "gen_hub.h"
#include "gen_json.h"
#include "gen_live.h"
#include "gen_log.h"
#include "gen_names.h"
#include "gen_notify.h"
#include "gen_obs.h"
#include "gen_plugin.h"
#include "gen_presence.h"
#include "gen_queue_state.h"
#include "gen_roster.h"
#include "gen_state.h"
#include "gen_time.h"
#include "gen_waits.h"
#include "gr_config.h"

#include <math.h>
#include <pthread.h>
#include <strings.h>

#define PLUGIN_NAME "genesys_realtime"
/* Most time the member listings of a refresh take: a rate-limited org gets
 * its queue topics now and the missing agents at a later refresh. */
#define GR_MEMBERS_BUDGET TIME_T_TO_CDTIME_T(30)

typedef struct {
  gen_client_t *client;
  gr_config_t config;
  gen_notify_t *notify;

  pthread_mutex_t lock; /* queues, states, parser use per thread below */
  gen_entity_set_t queues;
  gen_live_t live; /* their live state, parallel to queues.items */
  cdtime_t listed_at;
  bool streaming;
  gen_ratelimit_t complain;

  gen_conv_tracker_t *conversations; /* ConversationEvents */
  uint64_t sample_seed;
  gen_roster_t agents;          /* AgentActivity: members of the queues */
  gen_feature_ctx_t ctx;        /* what the live features share */
  void *features[GEN_FEATURES]; /* their states (NULL: turned off) */
  bool observing;               /* a feature observes the gauges */

  gen_presence_map_t presences; /* org presence id -> system presence */
  cdtime_t presences_listed_at;
  cdtime_t interval;   /* the read interval, for dispatches from our threads */
  cdtime_t repeat;     /* the queues' re-dispatch cycle and their lists'
                          interval (RepeatEvery, at least the read's) */
  cdtime_t last_time;  /* of the last dispatch: times strictly increase */
  cdtime_t changed_at; /* of the last changes' dispatch (DispatchEvery) */
  bool window_closed;  /* a feature dispatched at gr_now: trim after */

  /* The conversation counters' totals survive restarts (ConversationEvents):
   * saved after each read that changed them and at shutdown, restored per
   * queue when it is first counted or read. */
  gen_conv_store_t store;

  /* Words of the answers this version does not know (gen_stats_unknown),
   * per family: queue observations, agent activity and member listings. */
  gen_log_org_t who;
  gen_unknown_sink_t unknown_obs, unknown_agents, unknown_conv;
} gr_instance_t;

/* ---- state --------------------------------------------------------------- */

#define EACH_FEATURE(inst, hook, i) GEN_EACH_FEATURE((inst)->features, hook, i)

/* A time for the next dispatch, never equal to or before the last one, so
 * that collectd keeps every value of a series (it drops a value whose time
 * is not after the last one's as "too old"); what the features dispatch by
 * then (summary windows that ended) goes first. Called with the lock held. */
static cdtime_t gr_now(gr_instance_t *inst) {
  cdtime_t now = gen_dispatch_next_time(&inst->last_time);
  if (gen_features_at(inst->features, &inst->ctx, now))
    inst->window_closed = true;
  return now;
}

/* What gen_queue_state could not read: counted and logged (rate-limited). */
static void report_malformed(void *ud, const char *what) {
  gr_instance_t *inst = ud;
  atomic_fetch_add(&inst->client->stats.malformed, 1);
  gen_org_log(inst->client->org, &inst->complain, LOG_WARNING, "%s", what);
}

/* ---- dispatch ------------------------------------------------------------ */

/* Where values of instance go at t (gen_live_put): observed only
 * (interval 0: the tick dispatches), or dispatched with an interval
 * (collectd's cache forgets a series not dispatched for Timeout (2) of
 * them): RepeatEvery's for a series re-dispatched once a repeat (a queue's,
 * the roster's), the read's for what a read dispatches each time. */
static gen_live_sink_t sink_of(gr_instance_t *inst, const char *instance,
                               cdtime_t t, cdtime_t interval) {
  return (gen_live_sink_t){.host = gen_client_host(inst->client),
                           .plugin = PLUGIN_NAME,
                           .instance = instance,
                           .time = t,
                           .interval = interval,
                           .observe =
                               inst->observing ? gen_features_observe : NULL,
                           .ud = inst->features};
}

/* A division's, team's, campaign's or management unit's value
 * (a live feature's put, gen_feature.h). */
static void put_group(void *ud, const char *instance, const char *type,
                      const char *type_instance, double value) {
  gen_live_sink_t sink = *(const gen_live_sink_t *)ud;
  sink.instance = instance;
  gen_live_put(&sink, type, type_instance, value, false);
}

static const char *queue_instance(const gr_instance_t *inst, size_t index) {
  return gen_entity_instance(inst->client->org, &inst->queues.items[index]);
}

/* Applies a group (items NULL: a media group the baseline answer leaves
 * out, which has nothing in it), hands its changes to the observers and
 * marks the queue changed. Called with the lock held. */
static void apply_group(gr_instance_t *inst, size_t index, int media,
                        const gen_obs_item_t *items, size_t n) {
  gen_live_queue_t *q = &inst->live.state[index];
  gen_live_sink_t sink =
      sink_of(inst, queue_instance(inst, index), gr_now(inst), 0);
  gen_qs_report_t report = {
      .malformed = report_malformed, .unknown = &inst->unknown_obs, .ud = inst};
  if (media >= 0) {
    gen_qs_media_t *qm = gen_live_media(&inst->live, index, (size_t)media);
    if (qm == NULL)
      return; /* out of memory: the group is not kept */
    gen_qs_media_t old = *qm;
    if (items == NULL)
      *qm = (gen_qs_media_t){.seen = true};
    else
      gen_qs_apply_media(qm, items, n, sink.instance, sink.time, &report);
    if (inst->observing && gen_live_wanted(&inst->live, (size_t)media))
      gen_qs_put_media(qm, &old, gen_media_names[media], sink.time,
                       gen_live_put, &sink);
  } else {
    gen_qs_agents_t old = q->agents;
    gen_qs_apply_agents(&q->agents, items, n, &inst->presences, &report);
    if (inst->observing)
      gen_qs_put_agents(&q->agents, &old, gen_live_put, &sink);
  }
  gen_live_mark(&inst->live, index);
}

/* A group of queue_id, from a message or a baseline (a queue not selected
 * here passed over). Called with the lock held. */
static void queue_group(void *ud, const char *queue_id, int media,
                        const gen_obs_item_t *items, size_t n) {
  gr_instance_t *inst = ud;
  ssize_t index = gen_entity_find(&inst->queues, queue_id);
  if (index >= 0)
    apply_group(inst, (size_t)index, media, items, n);
}

/* ---- conversation events ------------------------------------------------- */

typedef struct {
  gr_instance_t *inst;
  cdtime_t time;
} gr_conv_ctx_t;

/* One new moment from the tracker: counted, its counters marked changed.
 * Called with the lock held. */
static void on_moment(void *ud, const char *queue_id, int media,
                      gen_conv_moment_t moment, int64_t wait_ms,
                      int64_t at_ms) {
  gr_conv_ctx_t *ctx = ud;
  gr_instance_t *inst = ctx->inst;
  ssize_t index = gen_entity_find(&inst->queues, queue_id);
  if (index < 0 || media < 0 || media >= (int)GEN_MEDIA_COUNT ||
      !gen_features_live(inst->features, queue_id, media, moment, at_ms,
                         gen_cdtime_to_ms(ctx->time)))
    return; /* a queue not selected here, no media, or repaired already */
  gen_live_moment(&inst->live, (size_t)index, queue_id, media, moment, wait_ms,
                  &inst->sample_seed);
}

static gen_notify_verdict_t malformed(gr_instance_t *inst, const char *what,
                                      const char *err) {
  gen_org_log(inst->client->org, &inst->complain, LOG_WARNING,
              "malformed %s skipped: %s", what, err);
  return GEN_NOTIFY_MALFORMED;
}

/* A conversation event's body, read from the message's json-c document. */
static gen_notify_verdict_t on_conversation(gr_instance_t *inst,
                                            json_object *body) {
  gen_conv_snapshot_t snap;
  char err[128];
  if (gen_conv_from_json(body, &snap, err, sizeof(err)) != 0)
    return malformed(inst, "conversation event", err);
  /* a session state Genesys added: counted, the rest of the event read */
  gen_unknown_note(&inst->unknown_conv, "state", snap.unknown_state);
  gr_conv_ctx_t ctx = {.inst = inst};
  pthread_mutex_lock(&inst->lock);
  ctx.time = gr_now(inst);
  if (inst->conversations != NULL)
    gen_conv_apply(inst->conversations, &snap, gen_cdtime_to_ms(ctx.time),
                   on_moment, &ctx);
  pthread_mutex_unlock(&inst->lock);
  return GEN_NOTIFY_OK;
}

/* ---- agent activity ------------------------------------------------------ */

/* One user document or activity event applied to the roster, its changes
 * handed to the observers and marked. Called with the lock held. */
static void user_from_json(void *ud, json_object *user) {
  gr_instance_t *inst = ud;
  int64_t old_routing[GEN_ROUTING_COUNT], old_presence[GEN_PRESENCE_COUNT];
  memcpy(old_routing, inst->agents.routing, sizeof(old_routing));
  memcpy(old_presence, inst->agents.presence, sizeof(old_presence));
  if (!gen_roster_apply_user(&inst->agents, &inst->presences, user))
    return;
  inst->agents.changed = true;
  gen_live_sink_t sink = sink_of(inst, "org", gr_now(inst), 0);
  if (inst->observing)
    gen_roster_put(&inst->agents, old_routing, old_presence, gen_live_put,
                   &sink);
}

static gen_notify_verdict_t on_activity(gr_instance_t *inst,
                                        json_object *body) {
  if (!json_object_is_type(body, json_type_object) ||
      gen_json_get_string(body, "id") == NULL)
    return malformed(inst, "activity event", "no user id");
  pthread_mutex_lock(&inst->lock);
  user_from_json(inst, body);
  pthread_mutex_unlock(&inst->lock);
  return GEN_NOTIFY_OK;
}

/* A message the streaming parser does not read, parsed with json-c (the
 * hub's one document, gen_notify_parse): conversation events (what
 * genesys_flowmetrics reads of the same topic comes from that document
 * too) and activity events. */
static gen_notify_verdict_t on_other(gr_instance_t *inst, const char *json,
                                     size_t len, const char *topic) {
  char err[128];
  for (size_t i = 0; i < GEN_FEATURES; i++) {
    const gen_feature_t *row = gen_features[i];
    void *f = inst->features[i];
    if (f == NULL || row->message == NULL || !row->topic(f, topic))
      continue;
    err[0] = '\0';
    gen_notify_verdict_t v =
        row->message(f, topic, json, len, err, sizeof(err));
    return v == GEN_NOTIFY_OK || err[0] == '\0' /* it logged its own */
               ? v
               : malformed(inst, row->event, err);
  }
  /* Only the families turned on (others are not subscribed). */
  bool conversation =
      inst->config.conversation_events &&
      gen_notify_topic_has(topic, GEN_LIVE_CONV_PREFIX, GEN_LIVE_CONV_SUFFIX);
  if (!conversation && (!inst->config.agent_activity ||
                        !gen_notify_topic_has(topic, GEN_LIVE_USER_PREFIX,
                                              GEN_LIVE_USER_SUFFIX)))
    return GEN_NOTIFY_OK;
  const char *what = conversation ? "conversation event" : "notification";
  json_object *doc = NULL;
  if (gen_notify_parse(json, len, &doc, err, sizeof(err)) != 0)
    return malformed(inst, what, err);
  json_object *body = gen_json_get_object(doc, "eventBody");
  gen_notify_verdict_t verdict;
  if (body == NULL)
    verdict = malformed(inst, what, "no eventBody object");
  else if (conversation)
    verdict = on_conversation(inst, body);
  else
    verdict = on_activity(inst, body);
  json_object_put(doc);
  return verdict;
}

/* ---- streaming ----------------------------------------------------------- */

static gen_notify_verdict_t gr_on_message(void *ud, const char *topic,
                                          const char *json, size_t len) {
  gr_instance_t *inst = ud;
  gen_obs_parser_t *parser = gen_obs_thread_parser();
  gen_obs_msg_t msg;
  char err[128];
  if (parser == NULL)
    return malformed(inst, "notification", "out of memory");
  /* The topic as the hub read it; gen_obs does not read it again, and
   * passes over the text of a topic it does not read (OTHER). gen_obs
   * stays the one reader of observations for now although json-c would do
   * at 1,106 msg/s (9-10.6 µs against 1.6-2.1 µs a message:
   * bench/README.md, "One reader a topic"). */
  if (gen_obs_parse(parser, topic, json, len, &msg, err, sizeof(err)) != 0)
    return malformed(inst, "notification", err);
  if (msg.topic != GEN_OBS_TOPIC_QUEUE_OBSERVATIONS)
    return on_other(inst, json, len, topic);
  int media = -1;
  if (msg.media_type[0] != '\0' &&
      (media = gen_media_from_name(msg.media_type)) < 0) {
    /* a media type this version does not know: that group alone */
    gen_unknown_note(&inst->unknown_obs, "mediaType", msg.media_type);
    return GEN_NOTIFY_OK;
  }
  pthread_mutex_lock(&inst->lock);
  queue_group(inst, msg.queue_id, media, msg.items, msg.n_items);
  pthread_mutex_unlock(&inst->lock);
  return GEN_NOTIFY_OK;
}

/* The values of queue i at t: every one (all: the periodic re-dispatch;
 * collectd forgets a series not dispatched for two intervals, and
 * write_prometheus drops it) or those changed since the last dispatch.
 * Either way each series at most once. Called with the lock held. */
static void dispatch_queue(gr_instance_t *inst, size_t i, cdtime_t t,
                           bool all) {
  gen_live_sink_t sink =
      sink_of(inst, queue_instance(inst, i), t, inst->repeat);
  gen_live_put_queue(&inst->live, i, inst->queues.items[i].id, all, t,
                     gen_live_put, &sink);
}

typedef struct {
  gr_instance_t *inst;
  cdtime_t time;
} gr_at_t;

static void changed_one(void *ud, size_t i) {
  dispatch_queue(((gr_at_t *)ud)->inst, i, ((gr_at_t *)ud)->time, false);
}

static void due_one(void *ud, size_t i) {
  dispatch_queue(((gr_at_t *)ud)->inst, i, ((gr_at_t *)ud)->time, true);
}

/* What changed since the last dispatch, each series once, at t: from the
 * tick, the read, and at once when a channel is lost (its socket closed).
 * Called with the lock held. */
static void dispatch_changed(gr_instance_t *inst, cdtime_t t) {
  inst->changed_at = t;
  gen_live_each_changed(&inst->live, changed_one, &(gr_at_t){inst, t});
  gen_live_sink_t org = sink_of(inst, "org", t, inst->repeat);
  if (inst->agents.changed) /* the org-wide agents that changed */
    gen_roster_put_sent(&inst->agents, false, gen_live_put, &org);
}

/* The periodic re-dispatch rolls: the channel ticks re-dispatch the queues
 * in order, as much of the list as the cycle (one interval, from the last
 * read) has run, and the read does what is left (all of it when no channel
 * ticks). All at the read put every series in collectd's write queue at
 * once, and a live change queued behind 12,500 values waited 300 ms for
 * write_http. Called with the lock held; t is the tick's (or read's) time. */
static void redispatch_due(gr_instance_t *inst, cdtime_t t, bool all) {
  gen_live_each_due(&inst->live, inst->queues.count, t, inst->repeat, all,
                    due_one, &(gr_at_t){inst, t});
}

/* Each tick, at one time: the slice of the periodic re-dispatch due, then
 * what changed in the other queues, at most every DispatchEvery: a series
 * that changes N times in the period costs one value list, its last value
 * (the state, not each step; one that changed back costs none); summary
 * windows close on time, messages or not. */
static void gr_on_tick(void *ud) {
  gr_instance_t *inst = ud;
  pthread_mutex_lock(&inst->lock);
  cdtime_t t = gr_now(inst);
  redispatch_due(inst, t, false);
  if (t - inst->changed_at >= inst->config.dispatch_every)
    dispatch_changed(inst, t);
  bool trim = inst->window_closed;
  inst->window_closed = false;
  pthread_mutex_unlock(&inst->lock);
  if (trim)
    gen_heap_trim(); /* the write threads freed the last window's values */
}

/* The queues and org agents of topics[0..n-1] marked: lost (messages are
 * being missed) or resumed (baselined again); the first failure. */
static int mark_features(gr_instance_t *inst, char *const *topics, size_t n,
                         const uint8_t *failed, bool lost) {
  int status = 0;
  bool timed = false;
  pthread_mutex_lock(&inst->lock);
  EACH_FEATURE(inst, mark, i) {
    if (!timed)
      gr_now(inst); /* what ended before is whole */
    timed = true;
    int s = gen_features[i]->mark(inst->features[i], &inst->ctx, topics, n,
                                  failed, lost);
    status = status != 0 ? status : s;
  }
  pthread_mutex_unlock(&inst->lock);
  return status;
}

/* What changed leaves at once: no tick comes until the socket is back. */
static void gr_on_lost(void *ud, char *const *topics, size_t n) {
  gr_instance_t *inst = ud;
  pthread_mutex_lock(&inst->lock);
  dispatch_changed(inst, gr_now(inst));
  gen_features_gap(inst->features, topics, n, true, gen_cdtime_to_ms(cdtime()));
  pthread_mutex_unlock(&inst->lock);
  mark_features(ud, topics, n, NULL, true);
}

/* A channel's baseline: the instance and the channel's HTTP handle. */
typedef struct {
  gr_instance_t *inst;
  gen_http_t *http;
} gr_baseline_t;

/* A media group we knew that the answer leaves out has nothing in it. */
static void baseline_absent(void *ud, const char *queue_id, int media) {
  gr_instance_t *inst = ud;
  ssize_t index = gen_entity_find(&inst->queues, queue_id);
  const gen_qs_media_t *qm =
      index >= 0
          ? gen_live_media_find(&inst->live, (size_t)index, (size_t)media)
          : NULL;
  if (qm != NULL && qm->seen)
    apply_group(inst, (size_t)index, media, NULL, 0);
}

/* Baseline of queue_ids[0..n-1] (≤ 100): one observations query. */
static int baseline_batch(void *ud, const char *const *queue_ids, size_t n) {
  gr_instance_t *inst = ((gr_baseline_t *)ud)->inst;
  gen_qs_baseline_t cb = {queue_group, baseline_absent, inst,
                          &inst->unknown_obs};
  return gen_qs_baseline(((gr_baseline_t *)ud)->http, queue_ids, n, &inst->lock,
                         &inst->presences, &cb, inst->client->org,
                         &inst->complain);
}

/* Baseline of user_ids[0..n-1]: one GET /api/v2/users with their routing
 * status and presence. */
static int baseline_users(void *ud, const char *const *user_ids, size_t n) {
  gr_instance_t *inst = ((gr_baseline_t *)ud)->inst;
  return gen_roster_baseline(((gr_baseline_t *)ud)->http, user_ids, n,
                             &inst->lock, user_from_json, inst,
                             inst->client->org, &inst->complain);
}

/* A channel (re)connected: re-read its queues (100 per query) and its
 * agents (GEN_ROSTER_USERS_PER_QUERY per request). A family whose listing
 * fails marks its topics failed and keeps the channel: the queues, the
 * conversations and the other batches flow, and gen_notify asks the
 * failed ones again with backoff. Conversations need no baseline: the
 * gap's window closes, its moments come from the aggregates at a later
 * read (gen_conv_repair.h). */
static int gr_on_connected(void *ud, gen_http_t *http, char *const *topics,
                           size_t n, uint8_t *failed) {
  gr_baseline_t b = {.inst = ud, .http = http};
  pthread_mutex_lock(&b.inst->lock); /* the gap's end: events flow again */
  gen_features_gap(b.inst->features, topics, n, false,
                   gen_cdtime_to_ms(cdtime()));
  pthread_mutex_unlock(&b.inst->lock);
  EACH_FEATURE(b.inst, connected, i)
  gen_features[i]->connected(b.inst->features[i], topics, n);
  gen_notify_topic_ids(topics, n, GEN_LIVE_OBS_PREFIX, GEN_LIVE_OBS_SUFFIX,
                       GEN_QS_QUERY_MAX, baseline_batch, &b, failed);
  if (b.inst->config.agent_activity)
    gen_notify_topic_ids(topics, n, GEN_LIVE_USER_PREFIX, GEN_LIVE_USER_SUFFIX,
                         GEN_ROSTER_USERS_PER_QUERY, baseline_users, &b,
                         failed);
  /* What was baselined resumes (summaries); the rest stays lost. */
  int status = mark_features(b.inst, topics, n, failed, false);
  gen_heap_trim(); /* the answers' trees, freed on this channel's thread */
  return status;
}

/* ---- queue list ---------------------------------------------------------- */

/* A member's presence text, resolved under the lock ("other", counted
 * as unknown, when it maps to no system presence). */
static int resolve_presence(void *ud, const char *presence) {
  gr_instance_t *inst = ud;
  pthread_mutex_lock(&inst->lock);
  int k = gen_presence_resolve(&inst->presences, presence, NULL);
  pthread_mutex_unlock(&inst->lock);
  if (k == GEN_PRESENCE_OTHER)
    gen_unknown_note(&inst->unknown_agents, "presence", presence);
  return k;
}

/* Gives the channel manager the topics of the selected queues and agents:
 * per queue its observation topic, then its conversation topic (one channel
 * carries both), then one activity topic per member agent. */
static int stream_topics(gr_instance_t *inst) {
  bool conv = inst->config.conversation_events;
  size_t n, n_queues;
  ssize_t n_users = inst->config.agent_activity ? 0 : -1;
  pthread_mutex_lock(&inst->lock);
  char **topics = gen_live_topics(&inst->queues, conv, &inst->agents.users, &n);
  n_queues = inst->queues.count;
  if (n_users == 0)
    n_users = (ssize_t)inst->agents.users.count;
  pthread_mutex_unlock(&inst->lock);
  EACH_FEATURE(inst, topics, i)
  if (topics != NULL)
    topics = gen_features[i]->topics(inst->features[i], topics, &n);
  if (topics == NULL)
    return -ENOMEM;
  gen_notify_set_topics(inst->notify, topics, n);
  if (!inst->streaming && gen_notify_start(inst->notify) == 0)
    inst->streaming = true;
  gen_live_topics_log(inst->client->org, n, n_queues, conv, n_users,
                      inst->config.notify.topics_per_channel);
  gen_hub_topics_free(topics, n);
  return 0;
}

/* A queue dropped from the selection or renamed: the features forget it. */
static void forget_queue(void *ud, size_t i) {
  gr_instance_t *inst = ud;
  EACH_FEATURE(inst, forget, k)
  gen_features[k]->forget(inst->features[k], queue_instance(inst, i));
}

/* Lists the selected queues; on a change, carries the state of the queues
 * kept over and gives the channel manager the new topics. The queue topics
 * go out before the members are listed (AgentActivity), so that a slow or
 * rate-limited member listing holds back the agents only. */
static int refresh_queues(gr_instance_t *inst) {
  gen_entity_set_t fresh = {0};
  char err[512];
  int status = gen_entity_list(inst->client->http, inst->client->org,
                               "/api/v2/routing/queues", &inst->config.filter,
                               &fresh, err, sizeof(err));
  if (status != 0) {
    gen_org_log(inst->client->org, &inst->complain, LOG_ERR,
                "cannot list queues: %s", err);
    gen_entity_set_free(&fresh);
    return status;
  }
  pthread_mutex_lock(&inst->lock);
  int changed =
      gen_live_replace(&inst->live, &inst->queues, &fresh, forget_queue, inst);
  if (changed >= 0) {
    gen_entity_set_free(&inst->queues);
    inst->queues = fresh;
    inst->listed_at = cdtime();
  }
  pthread_mutex_unlock(&inst->lock);
  if (changed < 0) {
    gen_entity_set_free(&fresh);
    return changed;
  }

  if (changed || !inst->streaming)
    stream_topics(inst);
  if (inst->config.agent_activity) {
    /* Only the read thread changes the queue set: read without the lock. */
    bool members_changed = false;
    if (gen_roster_refresh(&inst->agents, &inst->lock, inst->client->http,
                           inst->client->org, &inst->complain, &inst->queues,
                           GR_MEMBERS_BUDGET, resolve_presence, inst,
                           &members_changed) == 0 &&
        members_changed)
      stream_topics(inst);
  }
  return 0;
}

/* ---- read: re-dispatch everything, self-metrics -------------------------- */

static void dispatch_self(gr_instance_t *inst) {
  const char *host = gen_client_host(inst->client);
  gen_dispatch_self(host, PLUGIN_NAME, "queues", NULL, false,
                    (double)inst->queues.count);
  gen_notify_dispatch_stats(inst->notify, host, PLUGIN_NAME);
  gen_client_dispatch_health(inst->client, PLUGIN_NAME);
  gen_conv_stats_t conv = {0};
  pthread_mutex_lock(&inst->lock);
  bool tracking = inst->conversations != NULL; /* ConversationEvents */
  if (tracking)
    gen_conv_tracker_stats(inst->conversations, &conv);
  EACH_FEATURE(inst, locked_stats, i)
  gen_features[i]->locked_stats(inst->features[i], host, PLUGIN_NAME);
  pthread_mutex_unlock(&inst->lock);
  EACH_FEATURE(inst, stats, i) /* outside the lock */
  gen_features[i]->stats(inst->features[i], host, PLUGIN_NAME);
  if (tracking)
    gen_conv_dispatch_stats(&conv, host, PLUGIN_NAME);
  if (inst->store.path[0] != '\0') /* its counters refused at load */
    gen_dispatch_self(host, PLUGIN_NAME, "state_refused",
                      "conversation_counters", true,
                      (double)inst->store.refused);
}

static int gr_read(user_data_t *ud) {
  gr_instance_t *inst = ud->data;
  cdtime_t now = cdtime();
  bool due = inst->listed_at == 0 ||
             (inst->config.refresh_interval > 0 &&
              now - inst->listed_at >= inst->config.refresh_interval);
  if (inst->interval == 0) {
    inst->interval = plugin_get_interval();
    inst->repeat = inst->config.repeat_every > inst->interval
                       ? inst->config.repeat_every
                       : inst->interval;
    inst->ctx.interval = inst->interval; /* before the channels start */
  }
  if (due) /* the ids that qualify oUserPresences and name presences */
    gen_presence_map_refresh(&inst->presences, &inst->lock, inst->client->http,
                             inst->client->org, &inst->complain);
  int status = due ? refresh_queues(inst) : 0;
  bool renewed = false; /* a feature's topics changed: given again */
  EACH_FEATURE(inst, run, i) {
    inst->ctx.mono = gen_monotonic(); /* budgets and sweeps: no clock step */
    inst->ctx.wall_ms = gen_cdtime_to_ms(cdtime());
    if (gen_features[i]->run(inst->features[i], &inst->ctx))
      renewed = true;
  }
  if (renewed)
    stream_topics(inst);
  pthread_mutex_lock(&inst->lock);
  cdtime_t t = gr_now(inst);
  /* The cycle ends at this read (RepeatEvery: at the read nearest its
   * end, reads jitter): what the ticks left of it, all at once. */
  bool cycle =
      inst->repeat <= inst->interval || inst->live.cycle_start == 0 ||
      now + inst->interval / 2 >= inst->live.cycle_start + inst->repeat;
  if (cycle) {
    redispatch_due(inst, t, true);
    gen_live_cycle(&inst->live, cdtime());
  }
  for (size_t i = 0; i < inst->queues.count; i++) {
    gen_live_sink_t sink =
        sink_of(inst, queue_instance(inst, i), t, inst->interval);
    gen_live_put_intervals(&inst->live, i, gen_live_put, &sink);
  }
  gen_live_sink_t org = sink_of(inst, "org", t, inst->repeat);
  if (inst->config.agent_activity && inst->agents.seen && cycle)
    gen_roster_put_sent(&inst->agents, true, gen_live_put, &org);
  /* each its own instance */
  gen_live_sink_t groups = sink_of(inst, NULL, t, inst->interval);
  inst->ctx.wall_ms = gen_cdtime_to_ms(t);
  EACH_FEATURE(inst, put, i)
  gen_features[i]->put(inst->features[i], &inst->ctx, put_group, &groups);
  if (t - inst->changed_at >= inst->config.dispatch_every)
    dispatch_changed(inst, t); /* also when no channel ticks */
  pthread_mutex_unlock(&inst->lock);
  if (inst->config.conversation_events)
    gen_live_save(&inst->live, &inst->queues, &inst->lock, inst->client->org,
                  &inst->complain);
  dispatch_self(inst);
  if (due)
    gen_heap_trim(); /* the listings' pages and trees, freed */
  /* Only a failed first listing is a failed read (collectd backs off). */
  return (status != 0 && inst->queues.count == 0) ? -1 : 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void gr_instance_free(void *data) {
  gr_instance_t *inst = data;
  if (inst == NULL)
    return;
  gen_notify_free(inst->notify);
  inst->store.final = inst->store.dirty = true; /* nothing sent after it */
  gen_live_save(&inst->live, &inst->queues, &inst->lock, inst->client->org,
                &inst->complain); /* the counts since the last read */
  gen_conv_store_free(&inst->store);
  EACH_FEATURE(inst, free, i)
  gen_features[i]->free(inst->features[i]);
  gen_live_free(&inst->live, inst->queues.count);
  gen_entity_set_free(&inst->queues);
  gen_conv_tracker_free(inst->conversations);
  gen_roster_free(&inst->agents);
  gen_presence_map_free(&inst->presences);
  pthread_mutex_destroy(&inst->lock);
  gr_config_release(&inst->config);
  gen_client_free(inst->client);
  free(inst);
}

/* After the scaffolding put client and config in place. */
static int gr_instance_init(void *data) {
  gr_instance_t *inst = data;
  pthread_mutex_init(&inst->lock, NULL);
  inst->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  inst->sample_seed = (uint64_t)cdtime();
  inst->who =
      (gen_log_org_t){inst->client->org->plugin, inst->client->org->name};
  inst->unknown_obs = (gen_unknown_sink_t){&inst->client->stats, &inst->who,
                                           "queue_observations"};
  inst->unknown_agents =
      (gen_unknown_sink_t){&inst->client->stats, &inst->who, "agent_activity"};
  inst->unknown_conv = (gen_unknown_sink_t){&inst->client->stats, &inst->who,
                                            "conversation_events"};
  inst->agents.unknown = &inst->unknown_agents;
  inst->live = (gen_live_t){
      .media_mask = inst->config.media_mask,
      .bounds = &inst->config.wait_bounds,
      .store = &inst->store,
      .put_list = inst->config.observation_lists ? gen_live_put_list : NULL};
  if (inst->config.conversation_events) {
    inst->conversations = gen_conv_tracker_from_config(&inst->config.conv);
    if (inst->conversations == NULL)
      return -ENOMEM;
    const gen_org_t *org = inst->client->org;
    char path[PATH_MAX];
    if (gen_state_path_logged(&(gen_log_org_t){org->plugin, org->name},
                              inst->config.state_dir, "realtime", org->name, "",
                              path, sizeof(path)) != 0)
      return -EINVAL;
    gen_conv_store_load(&inst->store, path, &inst->config.wait_bounds,
                        inst->client->org);
  }
  inst->ctx = (gen_feature_ctx_t){.client = inst->client,
                                  .config = &inst->config,
                                  .plugin = PLUGIN_NAME,
                                  .who = &inst->who,
                                  .lock = &inst->lock,
                                  .queues = &inst->queues,
                                  .live = &inst->live,
                                  .store = &inst->store};
  for (size_t i = 0; i < GEN_FEATURES; i++) {
    if (gen_features[i]->on(&inst->ctx) &&
        (inst->features[i] = gen_features[i]->create(&inst->ctx)) == NULL)
      return -ENOMEM;
    inst->observing |= inst->features[i] && gen_features[i]->observe;
  }
  gen_notify_options_t options =
      gen_notify_config_options(&inst->config.notify);
  inst->notify = gen_notify_create(
      inst->client,
      &(gen_notify_callbacks_t){.on_message = gr_on_message,
                                .on_connected = gr_on_connected,
                                .on_tick = gr_on_tick,
                                .on_lost = gr_on_lost},
      inst, &options);
  return inst->notify == NULL ? -ENOMEM : 0;
}

static const gen_plugin_t gr_plugin = {
    .name = PLUGIN_NAME,
    .org_key = gr_config_key,
    .keys = gr_keys,
    .n_keys = GR_KEYS,
    .config_init = gr_config_init,
    .config_release = gr_config_release,
    GEN_PLUGIN_INSTANCE(gr_instance_t),
    .instance_init = gr_instance_init,
    .instance_free = gr_instance_free,
    .read = gr_read,
};

GEN_PLUGIN_REGISTER(gr_plugin)
