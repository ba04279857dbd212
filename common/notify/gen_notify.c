/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: Notifications API channel manager.
 */
#include "gen_notify.h"
#include "gen_hash.h"
#include "gen_hub.h"
#include "gen_jscan.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_notice.h"
#include "gen_time.h"
#include "gen_ws.h"

#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BACKOFF_FIRST 1.0
#define BACKOFF_FACTOR 1.6
#define BACKOFF_MAX 120.0
#define HEALTHY_AFTER TIME_T_TO_CDTIME_T(60)
#define POLL_MS 250
/* Consumers' ticks (on_tick): live changes leave at the next one. */
#define TICK_MS 100
/* A family's failed baseline is asked again after 5 s, then twice as long
 * after each failure, up to 5 minutes. */
#define OWED_FIRST 5.0
#define OWED_MAX 300.0

typedef struct channel_s channel_t;
typedef struct hub_s hub_t;

/* A consumer: one plugin instance's share of its client's hub. */
struct gen_notify_s {
  hub_t *hub;
  int id; /* its slot in the hub's bookkeeping */
  gen_notify_callbacks_t cb;
  void *ud;
  gen_notify_stats_t stats; /* malformed and baselines are its own */
  atomic_size_t pending;    /* its topics waiting for room */
  gen_client_t *client;     /* borrowed: the instance's own */
  /* Its plugin's context (interval, name), taken on its read thread by
   * gen_notify_start(): the channel threads run for every plugin of the
   * client and put it on before each of its callbacks. */
  plugin_ctx_t ctx;
  bool has_ctx;
  /* Its baselines run on the channel threads with its own credentials and
   * counters: one handle per channel, made by that channel's thread. */
  gen_http_t *http[GEN_NOTIFY_MAX_CHANNELS];
};

/* One per OAuth client (login host and client id) in the process. */
struct hub_s {
  hub_t *next;
  char *key;
  gen_client_t *client; /* its own copy of the first consumer's org */
  gen_notify_options_t opt;
  gen_notify_stats_t stats;
  atomic_uint_fast64_t family[GEN_NOTIFY_FAMILIES];
  /* Readers: channel threads delivering messages and taking their topics;
   * writers: consumers joining, changing topics, leaving. After a writer
   * has removed a consumer, no callback of it runs or will run. */
  pthread_rwlock_t lock;
  gen_hub_t *plan;
  channel_t *slots[GEN_NOTIFY_MAX_CHANNELS];
  gen_notify_t *consumers[GEN_HUB_MAX_CONSUMERS];
  size_t refs;
  bool running;
  gen_ratelimit_t complain;
  /* Logged once (other_system_message). */
  atomic_bool said_system, said_subscription_changed;
};

struct channel_s {
  hub_t *owner;
  size_t index;
  pthread_t thread;
  bool started;
  atomic_bool stop;
  /* The channel thread's own state. */
  gen_http_t *http;
  gen_ws_t *ws;
  char *id;
  char *connect_uri;
  cdtime_t expires;
  cdtime_t lifetime;
  uint64_t subscribed_generation; /* 0: nothing subscribed on this channel */
  /* The topics of that subscription, as their caseless FNV-1a hashes,
   * sorted: 8 bytes a topic where 1,000 names of a channel took 50 each,
   * to tell the topics a new subscription gains. */
  uint64_t *subscribed;
  size_t n_subscribed;
  cdtime_t last_rx;    /* wall clock: the self-metric's last message */
  cdtime_t heard_mono; /* gen_monotonic(): silence, whatever the wall clock */
  bool ping_sent;
  bool reconnect_asked;
  bool resubscribe_asked;
  bool revoked;
  uint64_t token_generation; /* of the token the channel was made with */
  bool ever_connected;
  gen_ratelimit_t complain;
  /* Per consumer slot: the topics whose baseline failed on this channel
   * (a family's listing refused), asked again with backoff while the
   * socket stays open; who: the consumer they are owed to. */
  struct {
    gen_notify_t *who;
    char **topics;
    size_t n;
    cdtime_t due;
    int tries;
  } owed[GEN_HUB_MAX_CONSUMERS];
};

/* A channel's socket calls (test seam: test_notify scripts the socket to
 * drive the channel threads without a network). */
static struct {
  int (*connect)(gen_ws_t *ws, const char *url);
  int (*poll)(gen_ws_t *ws, int timeout_ms);
  int (*send_text)(gen_ws_t *ws, const char *msg, size_t len);
} notify_socket = {gen_ws_connect, gen_ws_poll, gen_ws_send_text};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static hub_t *registry;

/* ---- partition ------------------------------------------------------------
 */

size_t gen_notify_channels_needed(size_t count, size_t per_channel) {
  if (per_channel == 0)
    return 0;
  return (count + per_channel - 1) / per_channel;
}

/* ---- helpers ----------------------------------------------------------------
 */

static const gen_org_t *org_of(const channel_t *ch) {
  return ch->owner->client->org;
}

/* Sleeps up to seconds, waking early when the channel is told to stop. */
static void sleep_unless_stopped(channel_t *ch, double seconds) {
  cdtime_t until = cdtime() + DOUBLE_TO_CDTIME_T(seconds);
  while (!atomic_load(&ch->stop) && cdtime() < until) {
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static void drop_channel(channel_t *ch) {
  free(ch->id);
  free(ch->connect_uri);
  ch->id = ch->connect_uri = NULL;
  ch->subscribed_generation = 0;
}

bool gen_notify_topic_has(const char *topic, const char *prefix,
                          const char *suffix) {
  size_t len = strlen(topic), p = strlen(prefix), s = strlen(suffix);
  return len > p + s && strncasecmp(topic, prefix, p) == 0 &&
         strcasecmp(topic + len - s, suffix) == 0;
}

int gen_notify_topic_ids(char *const *topics, size_t n, const char *prefix,
                         const char *suffix, size_t batch_max,
                         int (*flush)(void *ud, const char *const *ids,
                                      size_t k),
                         void *ud, uint8_t *failed) {
  const char *batch[100];
  char ids[100][80];
  size_t at[100]; /* each id's topic */
  size_t in_batch = 0;
  size_t p = strlen(prefix), s = strlen(suffix);
  int first = 0;
  if (batch_max == 0 || batch_max > 100)
    batch_max = 100;
  for (size_t i = 0; i <= n; i++) {
    if (i < n) {
      size_t len = strlen(topics[i]);
      if (!gen_notify_topic_has(topics[i], prefix, suffix) ||
          len - p - s >= sizeof(ids[0]))
        continue;
      snprintf(ids[in_batch], sizeof(ids[0]), "%.*s", (int)(len - p - s),
               topics[i] + p);
      batch[in_batch] = ids[in_batch];
      at[in_batch] = i;
      in_batch++;
    }
    if (in_batch == batch_max || (i == n && in_batch > 0)) {
      int status = flush(ud, batch, in_batch);
      if (status != 0 && failed == NULL)
        return status;
      if (status != 0) {
        for (size_t k = 0; k < in_batch; k++)
          failed[at[k]] = 1;
        if (first == 0)
          first = status;
      }
      in_batch = 0;
    }
  }
  return first;
}

bool gen_notify_system_topic(const char *topic, gen_notify_verdict_t *verdict) {
  static const struct {
    const char *name;
    bool prefix; /* the service may append the channel id */
    gen_notify_verdict_t verdict;
  } system[] = {
      {"channel.metadata", false, GEN_NOTIFY_HEARTBEAT},
      {"v2.system.socket_closing", false, GEN_NOTIFY_RECONNECT},
      {"v2.system.no_longer_subscribed", true, GEN_NOTIFY_RESUBSCRIBE},
      {"v2.system.token_revoked", true, GEN_NOTIFY_REVOKED},
  };
  if (topic == NULL)
    return false;
  for (size_t i = 0; i < sizeof(system) / sizeof(system[0]); i++) {
    size_t len = strlen(system[i].name);
    if (strncasecmp(topic, system[i].name, len) == 0 &&
        (topic[len] == '\0' || (system[i].prefix && topic[len] == '.'))) {
      *verdict = system[i].verdict;
      return true;
    }
  }
  /* The SDK maps v2.system.{id}.{id} to SystemMessageSystemMessage too:
   * every v2.system topic is the service's, none a consumer's. */
  if (strncasecmp(topic, "v2.system.", 10) == 0) {
    *verdict = GEN_NOTIFY_SYSTEM;
    return true;
  }
  return false;
}

gen_notify_verdict_t gen_notify_system_body(const char *json, size_t len,
                                            char *type, size_t size) {
  static const struct {
    const char *type;
    gen_notify_verdict_t verdict;
  } types[] = {
      {"no_longer_subscribed", GEN_NOTIFY_RESUBSCRIBE},
      {"subscription_changed", GEN_NOTIFY_RESUBSCRIBE},
      {"token_revoked", GEN_NOTIFY_REVOKED},
  };
  json_object *doc = NULL;
  char err[128];
  const char *name = NULL;
  if (gen_json_parse_answer(json, len, &doc, err, sizeof(err)) == 0)
    name = gen_json_get_string(gen_json_get_object(doc, "eventBody"),
                               "systemTopicType");
  snprintf(type, size, "%s", name != NULL ? name : "");
  gen_notify_verdict_t verdict = GEN_NOTIFY_SYSTEM;
  for (size_t i = 0; name != NULL && i < sizeof(types) / sizeof(types[0]); i++)
    if (strcasecmp(name, types[i].type) == 0)
      verdict = types[i].verdict;
  json_object_put(doc);
  return verdict;
}

/* The answer bounds of a channel's requests: a new channel ({id,
 * connectUri, expires}) is under 1 KB, x64; the subscriptions' answer
 * lists the channel's topics, 1,000 (GEN_NOTIFY_TOPICS_PER_CHANNEL) x
 * 150 B = 150 KB, x7. */
#define CHANNEL_ANSWER GEN_HTTP_BOUND(GEN_KIB(64), "notification channel")
#define SUBSCRIPTIONS_ANSWER GEN_HTTP_BOUND(GEN_MIB(1), "channel subscriptions")

/* POST /api/v2/notifications/channels. */
static int create_channel(channel_t *ch) {
  json_object *body = json_object_new_object();
  json_object *doc = NULL;
  char err[512];
  int status = gen_http_post_json(ch->http, "/api/v2/notifications/channels",
                                  body, CHANNEL_ANSWER, &doc, err, sizeof(err));
  json_object_put(body);
  if (status != 0) {
    gen_org_log(org_of(ch), &ch->complain, LOG_ERR,
                "cannot create a notification "
                "channel: %s",
                err);
    return status;
  }
  const char *id = gen_json_get_string(doc, "id");
  const char *uri = gen_json_get_string(doc, "connectUri");
  const char *expires = gen_json_get_string(doc, "expires");
  int64_t expires_ms = 0;
  if (id == NULL || uri == NULL ||
      (expires != NULL && gen_time_parse(expires, &expires_ms) != 0)) {
    gen_org_log(org_of(ch), &ch->complain, LOG_ERR,
                "channel answer without id, "
                "connectUri or a valid expires");
    atomic_fetch_add(&ch->owner->client->stats.malformed, 1);
    json_object_put(doc);
    return GEN_HTTP_ERR_JSON;
  }
  /* The token the channel was made with (after any refresh the request
   * needed): token_revoked names it. */
  char token[GEN_TOKEN_MAX];
  if (gen_auth_token(ch->owner->client->auth, token, sizeof(token),
                     &ch->token_generation) != 0)
    ch->token_generation = 0;
  OPENSSL_cleanse(token, sizeof(token));
  drop_channel(ch);
  ch->id = strdup(id);
  ch->connect_uri = strdup(uri);
  cdtime_t now = cdtime();
  /* Channels live 24 h; without expires, assume so. */
  ch->expires = expires != NULL ? gen_ms_to_cdtime(expires_ms)
                                : now + TIME_T_TO_CDTIME_T(86400);
  ch->lifetime = ch->expires > now ? ch->expires - now : 0;
  json_object_put(doc);
  atomic_fetch_add(&ch->owner->stats.channels_created, 1);
  return (ch->id && ch->connect_uri) ? 0 : -ENOMEM;
}

/* PUT …/subscriptions with the channel's topics (replaces the set; renews
 * the channel). Unknown topics are reported, not fatal (ignoreErrors). */
static int subscribe(channel_t *ch, char *const *topics, size_t n) {
  json_object *body = json_object_new_array_ext((int)n);
  for (size_t i = 0; i < n; i++) {
    json_object *t = json_object_new_object();
    json_object_object_add(t, "id", json_object_new_string(topics[i]));
    json_object_array_add(body, t);
  }
  const char *text =
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  char path[256];
  snprintf(path, sizeof(path),
           "/api/v2/notifications/channels/%s/subscriptions?ignoreErrors=true",
           ch->id);
  gen_http_response_t resp;
  int status = gen_http_request(
      ch->http, "PUT", path, text,
      &(gen_http_options_t){.answer = SUBSCRIPTIONS_ANSWER}, &resp);
  json_object_put(body);
  if (status != 0) {
    gen_org_log(org_of(ch), &ch->complain, LOG_ERR,
                "cannot subscribe channel %zu to "
                "%zu topics: %s",
                ch->index, n, resp.error);
    if (resp.status == 404)
      drop_channel(ch); /* gone (expired, evicted): make a new one */
    gen_http_response_reset(&resp);
    return status;
  }
  json_object *doc = NULL;
  char err[128];
  size_t rejected = 0;
  const char *example = NULL;
  if (gen_json_parse_answer(resp.body, resp.body_len, &doc, err, sizeof(err)) ==
      0) {
    json_object *entities = gen_json_get_array(doc, "entities");
    size_t len = entities ? json_object_array_length(entities) : 0;
    for (size_t i = 0; i < len; i++) {
      json_object *e = json_object_array_get_idx(entities, i);
      const char *state = gen_json_get_string(e, "state");
      if (state != NULL && strcasecmp(state, "Rejected") == 0) {
        rejected++;
        if (example == NULL)
          example = gen_json_get_string(e, "id");
      }
    }
  }
  if (rejected > 0)
    gen_org_log(org_of(ch), &ch->complain, LOG_WARNING,
                "%zu of %zu topics were rejected "
                "(for example %s): check the client's permissions",
                rejected, n, example ? example : "?");
  json_object_put(doc);
  gen_http_response_reset(&resp);
  cdtime_t now = cdtime();
  ch->expires = now + (ch->lifetime ? ch->lifetime : TIME_T_TO_CDTIME_T(86400));
  return 0;
}

/* ---- delivery ----------------------------------------------------------- */

/* The message being delivered on this thread, and its json-c tree once a
 * consumer asked for it (gen_notify_parse), so that consumers of one topic
 * share one parse. */
static _Thread_local struct {
  const char *json;
  size_t len;
  json_object *doc;
} current;

int gen_notify_parse(const char *json, size_t len, json_object **doc, char *err,
                     size_t err_size) {
  if (json != current.json || len != current.len || json == NULL)
    return gen_json_parse_net(json, len, doc, err, err_size);
  if (current.doc == NULL) {
    int status = gen_json_parse_net(json, len, &current.doc, err, err_size);
    if (status != 0)
      return status;
  }
  *doc = json_object_get(current.doc);
  return 0;
}

/* The topic families (GEN_NOTIFY_FAMILY_*), one a row: the type instance
 * of their notify_family_messages and the topics they count. */
static const struct {
  const char *name, *prefix, *suffix;
} families[GEN_NOTIFY_FAMILIES] = {
    [GEN_NOTIFY_FAMILY_QUEUE_OBSERVATIONS] = {"queue_observations",
                                              "v2.analytics.queues.",
                                              ".observations"},
    [GEN_NOTIFY_FAMILY_QUEUE_CONVERSATIONS] = {"queue_conversations",
                                               "v2.routing.queues.",
                                               ".conversations"},
    [GEN_NOTIFY_FAMILY_USER_ACTIVITY] = {"user_activity", "v2.users.",
                                         ".activity"},
    [GEN_NOTIFY_FAMILY_FLOW_METRICS] = {"flow_metrics", "v2.analytics.flow.",
                                        ".metrics"},
    [GEN_NOTIFY_FAMILY_OTHER] = {"other", NULL, NULL},
    [GEN_NOTIFY_FAMILY_SYSTEM] = {"system", NULL, NULL},
};

/* The family a topic counts in (GEN_NOTIFY_FAMILY_*). */
static int family_of(const char *topic) {
  for (int f = 0; f < GEN_NOTIFY_FAMILY_OTHER; f++)
    if (gen_notify_topic_has(topic, families[f].prefix, families[f].suffix))
      return f;
  return GEN_NOTIFY_FAMILY_OTHER;
}

static plugin_ctx_t enter(const gen_notify_t *n) {
  return n->has_ctx ? plugin_set_ctx(n->ctx) : plugin_get_ctx();
}

static void leave(const gen_notify_t *n, plugin_ctx_t old) {
  if (n->has_ctx)
    plugin_set_ctx(old);
}

/* The topic reader on gen_jscan: the top-level topicName, the scan stopped
 * there (nothing else is called back: every other value is checked, not
 * read). */
typedef struct {
  int depth;
  bool want, found;
  char *out;
  size_t size;
} topic_reader_t;

static int topic_map(void *ctx) {
  topic_reader_t *r = ctx;
  return r->depth++ == 0 ? 1 : GEN_JSCAN_SKIP;
}

static int topic_array(void *ctx) { return GEN_JSCAN_SKIP; }

static int topic_key(void *ctx, const unsigned char *s, size_t n) {
  topic_reader_t *r = ctx;
  r->want = n == 9 && memcmp(s, "topicName", 9) == 0;
  return r->want ? 1 : GEN_JSCAN_SKIP;
}

static int topic_scalar(void *ctx, const unsigned char *s, size_t n,
                        const char *number) {
  topic_reader_t *r = ctx;
  if (!r->want)
    return 1;
  r->found = s != NULL && number == NULL && n > 0 && n < r->size &&
             memchr(s, '\0', n) == NULL;
  if (r->found) {
    memcpy(r->out, s, n);
    r->out[n] = '\0';
  }
  return 0; /* the topic is read: stop */
}

static int topic_end(void *ctx) {
  ((topic_reader_t *)ctx)->depth--;
  return 1;
}

bool gen_notify_topic(const char *json, size_t len, char *out, size_t size) {
  static const gen_jscan_callbacks_t cb = {.on_start_map = topic_map,
                                           .on_key = topic_key,
                                           .on_end_map = topic_end,
                                           .on_start_array = topic_array,
                                           .on_scalar = topic_scalar};
  /* Room for the decoded strings: on the stack for a message that fits
   * (most do), else for this message alone. */
  unsigned char small[4096];
  unsigned char *buf = len <= sizeof(small) ? small : malloc(len);
  topic_reader_t r = {.out = out, .size = size};
  if (buf == NULL || size == 0)
    return false;
  gen_jscan_t js = {.text = (const unsigned char *)json,
                    .len = len,
                    .max_depth = GEN_JSON_MAX_DEPTH,
                    .buf = buf};
  gen_jscan_run(&js, &cb, &r);
  if (buf != small)
    free(buf);
  return r.found;
}

/* The consumer of mask after prev (NULL: the first one), under the read
 * lock; NULL after the last. */
static gen_notify_t *next_consumer(const hub_t *hub, uint64_t mask,
                                   const gen_notify_t *prev) {
  for (int c = prev != NULL ? prev->id + 1 : 0;
       c < GEN_HUB_MAX_CONSUMERS && (mask >> c) != 0; c++)
    if ((mask & (UINT64_C(1) << c)) != 0 && hub->consumers[c] != NULL)
      return hub->consumers[c];
  return NULL;
}

/* Hands a message of a consumers' topic to each of them, with one parse
 * for all (gen_notify_parse); the number it went to. */
static size_t deliver(hub_t *hub, const char *topic, const char *data,
                      size_t len) {
  size_t delivered = 0;
  atomic_fetch_add(&hub->family[family_of(topic)], 1);
  current.json = data;
  current.len = len;
  pthread_rwlock_rdlock(&hub->lock);
  uint64_t mask = gen_hub_route(hub->plan, topic);
  for (gen_notify_t *n = NULL; (n = next_consumer(hub, mask, n)) != NULL;) {
    atomic_fetch_add(&n->stats.messages, 1);
    plugin_ctx_t old = enter(n);
    if (n->cb.on_message(n->ud, topic, data, len) == GEN_NOTIFY_MALFORMED)
      atomic_fetch_add(&n->stats.malformed, 1);
    leave(n, old);
    delivered++;
  }
  pthread_rwlock_unlock(&hub->lock);
  json_object_put(current.doc);
  current.json = NULL;
  current.doc = NULL;
  return delivered;
}

size_t gen_notify_deliver(gen_notify_t *n, const char *json, size_t len) {
  char topic[GEN_NOTIFY_TOPIC_SIZE];
  gen_notify_verdict_t verdict;
  if (!gen_notify_topic(json, len, topic, sizeof(topic)) ||
      gen_notify_system_topic(topic, &verdict))
    return 0;
  return deliver(n->hub, topic, json, len);
}

/* A v2.system topic other than the three known by name: its
 * systemTopicType decides. Said once per hub: a subscription change (the
 * set is subscribed again) and a type we do not know (ignored). */
static gen_notify_verdict_t other_system_message(channel_t *ch,
                                                 const char *topic,
                                                 const char *data, size_t len) {
  char type[64];
  gen_notify_verdict_t verdict =
      gen_notify_system_body(data, len, type, sizeof(type));
  bool changed = strcasecmp(type, "subscription_changed") == 0;
  atomic_bool *said = changed ? &ch->owner->said_subscription_changed
                      : verdict == GEN_NOTIFY_SYSTEM ? &ch->owner->said_system
                                                     : NULL;
  if (said != NULL && !atomic_exchange(said, true))
    gen_org_log(org_of(ch), NULL, LOG_NOTICE,
                "channel %zu: system message %s "
                "(systemTopicType \"%s\"): %s (said once)",
                ch->index, topic, type,
                changed ? "subscribing the channel's topics again" : "ignored");
  return verdict;
}

/* One message of a channel: system topics are the hub's own, the others
 * go to the consumers of their topic. */
static void on_ws_message(void *ud, const char *data, size_t len) {
  channel_t *ch = ud;
  hub_t *hub = ch->owner;
  ch->last_rx = cdtime();
  ch->heard_mono = gen_monotonic();
  ch->ping_sent = false;
  char topic[GEN_NOTIFY_TOPIC_SIZE];
  gen_notify_verdict_t verdict = GEN_NOTIFY_OK;
  if (!gen_notify_topic(data, len, topic, sizeof(topic))) {
    gen_org_log(org_of(ch), &ch->complain, LOG_WARNING,
                "channel %zu: a message without a topicName skipped",
                ch->index);
    atomic_fetch_add(&hub->stats.malformed, 1);
  } else if (gen_notify_system_topic(topic, &verdict)) {
    atomic_fetch_add(&hub->family[GEN_NOTIFY_FAMILY_SYSTEM], 1);
    if (verdict == GEN_NOTIFY_SYSTEM)
      verdict = other_system_message(ch, topic, data, len);
    switch (verdict) {
    case GEN_NOTIFY_HEARTBEAT:
      atomic_fetch_add(&hub->stats.heartbeats, 1);
      break;
    case GEN_NOTIFY_RECONNECT:
      ch->reconnect_asked = true;
      break;
    case GEN_NOTIFY_RESUBSCRIBE:
      ch->resubscribe_asked = true;
      atomic_fetch_add(&hub->stats.resubscribes, 1);
      break;
    case GEN_NOTIFY_REVOKED:
      ch->revoked = true;
      atomic_fetch_add(&hub->stats.revocations, 1);
      break;
    default:
      break;
    }
  } else {
    deliver(hub, topic, data, len);
  }
  /* Counted once handled: a test that waits for the count sees the values. */
  atomic_fetch_add(&hub->stats.messages, 1);
  atomic_store(&hub->stats.last_message, (int_fast64_t)ch->last_rx);
}

/* ---- subscription -------------------------------------------------------- */

/* Keeps in own only the topics also in list, an unsorted list (small
 * sets: looked through; the gained ones, the owed ones). own is one
 * allocation, as gen_hub_consumer_topics makes it: the rest are only left
 * out. */
static size_t keep_listed(char **own, size_t n, char *const *list,
                          size_t n_list) {
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n_list; j++)
      if (strcasecmp(list[j], own[i]) == 0) {
        own[kept++] = own[i];
        break;
      }
  return kept;
}

/* Whether the channel's last subscription carried the topic of hash h. */
static bool subscribed(const channel_t *ch, uint64_t h) {
  return ch->n_subscribed > 0 && bsearch(&h, ch->subscribed, ch->n_subscribed,
                                         sizeof(h), gen_hash_cmp) != NULL;
}

/* Keeps in own only the topics the channel subscribed last (as
 * keep_listed, by their hashes). */
static size_t keep_subscribed(const channel_t *ch, char **own, size_t n) {
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    if (subscribed(ch, gen_hash_fnv1a64_caseless(own[i])))
      own[kept++] = own[i];
  return kept;
}

/* ---- baselines owed ------------------------------------------------------
 * A consumer's baseline that failed for some of its topics (one family's
 * listing refused) keeps the channel: those topics are owed, and asked
 * again on this channel's thread with backoff, while the others flow. */

static void owed_clear(channel_t *ch, int c) {
  gen_hub_topics_free(ch->owed[c].topics, ch->owed[c].n);
  memset(&ch->owed[c], 0, sizeof(ch->owed[c]));
}

/* After n's on_connected for own[0..mine-1]: those it baselined are no
 * longer owed, those marked in failed are. Says a new run of failures
 * once, and its end. */
static void owed_update(channel_t *ch, gen_notify_t *n, char *const *own,
                        size_t mine, const uint8_t *failed) {
  int c = n->id;
  size_t n_failed = 0;
  for (size_t i = 0; i < mine; i++)
    n_failed += failed[i] != 0;
  if (ch->owed[c].who != n)
    owed_clear(ch, c);
  /* Kept: the owed topics this call did not ask for. */
  char **keep = calloc(ch->owed[c].n + n_failed + 1, sizeof(*keep));
  if (keep == NULL)
    return; /* owed as before; asked again when due */
  size_t k = 0;
  for (size_t i = 0; i < ch->owed[c].n; i++) {
    bool asked = false;
    for (size_t j = 0; !asked && j < mine; j++)
      asked = strcmp(own[j], ch->owed[c].topics[i]) == 0;
    if (asked)
      free(ch->owed[c].topics[i]);
    else
      keep[k++] = ch->owed[c].topics[i];
  }
  for (size_t i = 0; i < mine; i++)
    if (failed[i] && (keep[k] = strdup(own[i])) != NULL)
      k++;
  free(ch->owed[c].topics);
  bool was_owed = ch->owed[c].tries > 0;
  ch->owed[c].who = n;
  ch->owed[c].topics = keep;
  ch->owed[c].n = k;
  if (k == 0) {
    if (was_owed)
      gen_org_log(n->client->org, NULL, LOG_NOTICE,
                  "channel %zu: the baselines that failed are taken "
                  "(after %d tries)",
                  ch->index, ch->owed[c].tries + 1);
    owed_clear(ch, c);
    return;
  }
  double wait = OWED_FIRST * pow(2.0, ch->owed[c].tries);
  if (wait > OWED_MAX)
    wait = OWED_MAX;
  if (n_failed > 0) {
    atomic_fetch_add(&n->stats.baseline_failures, 1);
    if (!was_owed)
      gen_org_log(n->client->org, NULL, LOG_WARNING,
                  "channel %zu: the baseline of %zu topics failed (the line "
                  "above says why); the channel stays open for the others, "
                  "and those are asked again in %.0f s, then less often up to "
                  "every %.0f s (said once until they are taken)",
                  ch->index, k, wait, OWED_MAX);
    ch->owed[c].tries++;
  }
  ch->owed[c].due = cdtime() + DOUBLE_TO_CDTIME_T(wait);
}

/* Calls n's on_connected for own[0..mine-1] on this channel's handle;
 * the topics it marks failed become owed. */
static int baseline_consumer(channel_t *ch, gen_notify_t *n, char **own,
                             size_t mine) {
  gen_http_t **http = &n->http[ch->index];
  gen_http_tokens_t tokens = gen_auth_tokens(n->client->auth);
  if (*http == NULL)
    *http = gen_http_create(n->client->org, &n->client->stats, &tokens);
  uint8_t *failed = calloc(mine ? mine : 1, 1);
  if (*http == NULL || failed == NULL) {
    free(failed);
    return -ENOMEM;
  }
  plugin_ctx_t old = enter(n);
  int status = n->cb.on_connected(n->ud, *http, own, mine, failed);
  leave(n, old);
  gen_http_release(*http); /* the next baseline is a reconnect away */
  if (status == 0) {
    atomic_fetch_add(&n->stats.baselines, 1);
    owed_update(ch, n, own, mine, failed);
  }
  free(failed);
  return status;
}

/* The owed baselines that are due, of every consumer on this channel: only
 * the owed topics the consumer still has here. */
static int retry_owed(channel_t *ch) {
  hub_t *hub = ch->owner;
  int status = 0;
  cdtime_t now = cdtime();
  pthread_rwlock_rdlock(&hub->lock);
  for (int c = 0; status == 0 && c < GEN_HUB_MAX_CONSUMERS; c++) {
    if (ch->owed[c].n == 0 || now < ch->owed[c].due)
      continue;
    gen_notify_t *n = hub->consumers[c];
    if (n == NULL || n != ch->owed[c].who || n->cb.on_connected == NULL) {
      owed_clear(ch, c); /* the consumer left */
      continue;
    }
    size_t mine;
    char **own = gen_hub_consumer_topics(hub->plan, c, ch->index, &mine);
    size_t k = keep_listed(own, mine, ch->owed[c].topics, ch->owed[c].n);
    if (k == 0)
      owed_clear(ch, c); /* no longer on this channel */
    else {
      atomic_fetch_add(&n->stats.baseline_retries, 1);
      status = baseline_consumer(ch, n, own, k);
    }
    free(own);
  }
  pthread_rwlock_unlock(&hub->lock);
  return status;
}

/* Subscribes when the channel's topic set changed, the channel is new or
 * renew is set (a PUT extends the channel's life). Baselines every
 * consumer on the channel, each for all its topics, when baseline is set;
 * else each consumer that gained topics, for those topics only (a topic
 * already carried is current, and reading it again costs requests). */
static int subscribe_and_baseline(channel_t *ch, bool renew, bool baseline) {
  hub_t *hub = ch->owner;
  size_t count;
  uint64_t generation;
  pthread_rwlock_rdlock(&hub->lock);
  size_t size = gen_hub_channel_size(hub->plan, ch->index, &generation);
  char **topics = gen_hub_channel_topics(hub->plan, ch->index, &count);
  pthread_rwlock_unlock(&hub->lock);
  if (topics == NULL && size > 0)
    return -ENOMEM;
  uint64_t gained = 0;
  /* Points into topics. */
  char **gained_topics = calloc(count ? count : 1, sizeof(*gained_topics));
  size_t n_gained = 0;
  int status = gained_topics == NULL ? -ENOMEM : 0;
  if (status == 0 && (renew || ch->subscribed_generation != generation)) {
    status = subscribe(ch, topics, count);
    uint64_t *hashes = NULL;
    if (status == 0 &&
        (hashes = malloc((count ? count : 1) * sizeof(*hashes))) == NULL)
      status = -ENOMEM; /* subscribed again on the next pass */
    if (status == 0) {
      pthread_rwlock_rdlock(&hub->lock);
      for (size_t i = 0; i < count; i++) {
        hashes[i] = gen_hash_fnv1a64_caseless(topics[i]);
        if (!subscribed(ch, hashes[i])) {
          gained |= gen_hub_route(hub->plan, topics[i]);
          gained_topics[n_gained++] = topics[i];
        }
      }
      pthread_rwlock_unlock(&hub->lock);
      qsort(hashes, count, sizeof(*hashes), gen_hash_cmp);
      free(ch->subscribed);
      ch->subscribed = hashes;
      ch->n_subscribed = count;
      ch->subscribed_generation = generation;
    }
  }
  pthread_rwlock_rdlock(&hub->lock); /* (none baselined after a failure) */
  uint64_t mask =
      baseline ? gen_hub_channel_consumers(hub->plan, ch->index) : gained;
  for (gen_notify_t *n = NULL;
       status == 0 && (n = next_consumer(hub, mask, n)) != NULL;) {
    if (n->cb.on_connected == NULL)
      continue;
    size_t mine;
    char **own = gen_hub_consumer_topics(hub->plan, n->id, ch->index, &mine);
    /* Only what this call subscribed: topics the set gained since are the
     * next call's gain, baselined there (not twice). */
    mine = baseline ? keep_subscribed(ch, own, mine)
                    : keep_listed(own, mine, gained_topics, n_gained);
    if (mine == 0) {
      free(own);
      continue;
    }
    status = baseline_consumer(ch, n, own, mine);
    free(own);
  }
  pthread_rwlock_unlock(&hub->lock);
  free(gained_topics);
  free(topics);
  return status;
}

static uint64_t current_generation(channel_t *ch) {
  uint64_t generation;
  pthread_rwlock_rdlock(&ch->owner->lock);
  gen_hub_channel_size(ch->owner->plan, ch->index, &generation);
  pthread_rwlock_unlock(&ch->owner->lock);
  return generation;
}

/* Every consumer's tick, on this channel's thread. */
static void tick(hub_t *hub) {
  pthread_rwlock_rdlock(&hub->lock);
  for (gen_notify_t *n = NULL; (n = next_consumer(hub, UINT64_MAX, n)) != NULL;)
    if (n->cb.on_tick != NULL) {
      plugin_ctx_t old = enter(n);
      n->cb.on_tick(n->ud);
      leave(n, old);
    }
  pthread_rwlock_unlock(&hub->lock);
}

/* Tells every consumer on the channel that its topics there are missing
 * messages from now until their next baseline. */
static void lose(channel_t *ch) {
  hub_t *hub = ch->owner;
  pthread_rwlock_rdlock(&hub->lock);
  uint64_t mask = gen_hub_channel_consumers(hub->plan, ch->index);
  for (gen_notify_t *n = NULL; (n = next_consumer(hub, mask, n)) != NULL;) {
    if (n->cb.on_lost == NULL)
      continue;
    size_t mine;
    char **own = gen_hub_consumer_topics(hub->plan, n->id, ch->index, &mine);
    if (mine > 0) {
      plugin_ctx_t old = enter(n);
      n->cb.on_lost(n->ud, own, mine);
      leave(n, old);
    }
    free(own);
  }
  pthread_rwlock_unlock(&hub->lock);
}

/* The channel lost (status: why) or resumed, told to each consumer on it as
 * a notification of its own org, once per change (gen_notice). */
static void channel_notice(channel_t *ch, bool lost, int status) {
  hub_t *hub = ch->owner;
  char index[24];
  snprintf(index, sizeof(index), "%zu", ch->index);
  pthread_rwlock_rdlock(&hub->lock);
  uint64_t mask = gen_hub_channel_consumers(hub->plan, ch->index);
  for (gen_notify_t *n = NULL; (n = next_consumer(hub, mask, n)) != NULL;)
    gen_notice(n->client->org, "self", "notification_channel", index, lost,
               NOTIF_FAILURE, "notification channel %zu %s%s%s", ch->index,
               lost ? "lost (" : "resumed",
               lost ? (status != 0 ? gen_strerror(status) : "closed") : "",
               lost ? "); reconnecting" : "");
  pthread_rwlock_unlock(&hub->lock);
}

/* One connected session: returns when the socket is over or on stop. */
static int channel_session(channel_t *ch) {
  hub_t *n = ch->owner;
  int status;
  bool fresh = false;
  if (ch->id == NULL || cdtime() >= ch->expires) {
    status = create_channel(ch);
    if (status != 0)
      return status;
    fresh = true;
  }
  status = notify_socket.connect(ch->ws, ch->connect_uri);
  if (status == GEN_WS_ERR_HANDSHAKE && !fresh) {
    /* The upgrade was refused: the channel is gone (expired, evicted, its
     * token revoked). A new one now, not after another backoff step. */
    drop_channel(ch);
    status = create_channel(ch);
    if (status != 0)
      return status;
    status = notify_socket.connect(ch->ws, ch->connect_uri);
  }
  if (status != 0) {
    drop_channel(ch);
    return status;
  }
  if (ch->ever_connected)
    atomic_fetch_add(&n->stats.reconnects, 1);
  ch->ever_connected = true;
  atomic_fetch_add(&n->stats.sockets_open, 1);
  ch->last_rx = cdtime();
  ch->heard_mono = gen_monotonic();
  ch->ping_sent = false;
  ch->reconnect_asked = false;
  ch->resubscribe_asked = false;
  ch->revoked = false;

  /* Nothing was queued while the socket was down: baseline every time. */
  status = subscribe_and_baseline(ch, false, true);
  if (status == 0)
    channel_notice(ch, false, 0);
  cdtime_t next_tick = cdtime();
  while (status == 0 && !atomic_load(&ch->stop)) {
    /* The tick on time whatever the messages: a poll returns at each. */
    cdtime_t before = cdtime();
    int wait_ms =
        next_tick > before ? (int)CDTIME_T_TO_MS(next_tick - before) + 1 : 0;
    status = notify_socket.poll(ch->ws, wait_ms < POLL_MS ? wait_ms : POLL_MS);
    if (status != 0)
      break;
    cdtime_t after = cdtime();
    /* (A clock set back does not stop the ticks.) */
    if (after >= next_tick || next_tick - after > MS_TO_CDTIME_T(TICK_MS)) {
      tick(n);
      next_tick = after + MS_TO_CDTIME_T(TICK_MS);
    }
    if (ch->revoked)
      break;
    status = retry_owed(ch);
    if (status != 0)
      break;
    if (ch->resubscribe_asked) {
      /* Topics were dropped (the message need not say which): the whole
       * set again, and a baseline, as their events were missed. */
      gen_org_log(org_of(ch), &ch->complain, LOG_NOTICE,
                  "channel %zu: the service "
                  "dropped subscriptions; subscribing again",
                  ch->index);
      ch->resubscribe_asked = false;
      lose(ch);
      status = subscribe_and_baseline(ch, true, true);
      if (status != 0)
        break;
    }
    if (ch->reconnect_asked) {
      gen_org_log(org_of(ch), &ch->complain, LOG_NOTICE,
                  "channel %zu: the service is "
                  "closing the socket; reconnecting",
                  ch->index);
      break;
    }
    cdtime_t now = cdtime();
    /* Monotonic: a wall-clock step of a day is no day of silence. */
    cdtime_t silence = gen_monotonic() - ch->heard_mono;
    if (silence >= n->opt.dead_after) {
      gen_org_log(org_of(ch), &ch->complain, LOG_WARNING,
                  "channel %zu silent for %.0f s "
                  "(no heartbeat, no pong); reconnecting",
                  ch->index, CDTIME_T_TO_DOUBLE(silence));
      status = -ETIMEDOUT;
      break;
    }
    if (silence >= n->opt.ping_after && !ch->ping_sent) {
      static const char ping[] = "{\"message\":\"ping\"}";
      if (notify_socket.send_text(ch->ws, ping, sizeof(ping) - 1) == 0)
        ch->ping_sent = true;
    }
    bool renew =
        gen_hub_renew_due(now, ch->expires, ch->lifetime, n->opt.renew_ahead);
    if (renew || current_generation(ch) != ch->subscribed_generation)
      status = subscribe_and_baseline(ch, renew, false);
  }
  atomic_fetch_sub(&n->stats.sockets_open, 1);
  if (!atomic_load(&ch->stop))
    lose(ch);
  if (ch->revoked) {
    /* The channel dies with its token (the close may have come in the same
     * read as the message): a new token and a new channel at once, not a
     * handshake on the dead channel first. */
    gen_org_log(org_of(ch), &ch->complain, LOG_NOTICE,
                "channel %zu: its token was "
                "revoked; new token, new channel",
                ch->index);
    gen_auth_invalidate(n->client->auth, ch->token_generation);
    drop_channel(ch);
    ch->revoked = false;
    ch->reconnect_asked = true;
    status = 0;
  } else if (status == GEN_WS_ERR_CLOSED &&
             gen_ws_close_code(ch->ws) == GEN_WS_CLOSE_NORMAL) {
    /* A normal close from the service ends the channel (expired, its token
     * revoked, taken over): the next session makes a new one rather than a
     * handshake that can only be refused. */
    drop_channel(ch);
  }
  if (gen_ws_is_open(ch->ws))
    gen_ws_close(ch->ws, GEN_WS_CLOSE_GOING_AWAY, "reconnecting");
  return status;
}

static void *channel_main(void *arg) {
  channel_t *ch = arg;
  double backoff = 0;
  while (!atomic_load(&ch->stop)) {
    cdtime_t started = cdtime();
    int status = channel_session(ch);
    if (atomic_load(&ch->stop))
      break;
    /* The service's own planned reconnects (socket_closing, whose close
     * may come in the same read; a revoked token) are no loss an operator
     * acts on. */
    if (!ch->reconnect_asked)
      channel_notice(ch, true, status);
    if (cdtime() - started >= HEALTHY_AFTER)
      backoff = 0;
    if (status == 0 && ch->reconnect_asked) {
      /* socket_closing: the service closes this socket within the minute;
       * reconnect at once, whatever earlier failures made of the backoff
       * (nothing failed here, so it does not grow either). */
      ch->reconnect_asked = false;
      continue;
    }
    backoff = backoff == 0 ? BACKOFF_FIRST : backoff * BACKOFF_FACTOR;
    if (backoff > BACKOFF_MAX)
      backoff = BACKOFF_MAX;
    sleep_unless_stopped(ch, gen_http_jitter(backoff));
  }
  return NULL;
}

static const gen_config_def_t notify_defs[] = {
    GEN_KEY_SECONDS("HeartbeatTimeout", gen_notify_config_t, heartbeat_timeout,
                    2, 600, 75, "silence after which a socket is reconnected"),
    GEN_KEY_INT("TopicsPerChannel", gen_notify_config_t, topics_per_channel, 1,
                GEN_NOTIFY_TOPICS_PER_CHANNEL, GEN_NOTIFY_TOPICS_PER_CHANNEL,
                "topics per notification channel"),
};

const gen_config_table_t gen_notify_keys = GEN_CONFIG_TABLE(notify_defs);

gen_notify_options_t gen_notify_config_options(const gen_notify_config_t *c) {
  return (gen_notify_options_t){
      .dead_after = c->heartbeat_timeout,
      .ping_after = c->heartbeat_timeout * 47 / 100,
      .topics_per_channel = (size_t)c->topics_per_channel,
  };
}

/* ---- channels ------------------------------------------------------------ */

static void channel_free(channel_t *ch) {
  if (ch == NULL)
    return;
  atomic_store(&ch->stop, true);
  if (ch->started)
    pthread_join(ch->thread, NULL);
  gen_ws_free(ch->ws);
  gen_http_free(ch->http);
  drop_channel(ch);
  free(ch->subscribed);
  for (int c = 0; c < GEN_HUB_MAX_CONSUMERS; c++)
    owed_clear(ch, c);
  free(ch);
}

static channel_t *channel_new(hub_t *hub, size_t index) {
  channel_t *ch = calloc(1, sizeof(*ch));
  if (ch == NULL)
    return NULL;
  ch->owner = hub;
  ch->index = index;
  atomic_init(&ch->stop, false);
  ch->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  gen_http_tokens_t tokens = gen_auth_tokens(hub->client->auth);
  ch->http = gen_http_create(hub->client->org, &hub->client->stats, &tokens);
  ch->ws = gen_ws_create(hub->client->org,
                         &(gen_ws_callbacks_t){.on_message = on_ws_message}, ch,
                         hub->opt.max_message);
  if (ch->http == NULL || ch->ws == NULL) {
    channel_free(ch);
    return NULL;
  }
  return ch;
}

static int channel_start(channel_t *ch) {
  char name[16];
  snprintf(name, sizeof(name), "genesys ch%zu", ch->index);
  int status = plugin_thread_create(&ch->thread, channel_main, ch, name);
  if (status != 0) {
    GEN_ERROR("%s plugin: cannot start channel thread: %s", org_of(ch)->plugin,
              gen_strerror(status));
    return -status;
  }
  ch->started = true;
  return 0;
}

/* Gives every channel with topics a slot (and a thread once running) and
 * takes the slots of channels left empty into retired (joined by the
 * caller outside the lock: their threads take it). Under the write lock. */
static int sync_slots(hub_t *hub, channel_t **retired, size_t *n_retired) {
  int result = 0;
  for (size_t i = 0; i < GEN_NOTIFY_MAX_CHANNELS; i++) {
    bool wanted = gen_hub_channel_size(hub->plan, i, NULL) > 0;
    channel_t *ch = hub->slots[i];
    if (wanted && ch == NULL) {
      if ((ch = channel_new(hub, i)) == NULL) {
        result = -ENOMEM;
        continue;
      }
      hub->slots[i] = ch;
      if (hub->running && channel_start(ch) != 0)
        result = -EAGAIN;
    } else if (!wanted && ch != NULL) {
      atomic_store(&ch->stop, true);
      retired[(*n_retired)++] = ch;
      hub->slots[i] = NULL;
    }
  }
  return result;
}

static void free_retired(channel_t **retired, size_t n) {
  for (size_t i = 0; i < n; i++)
    channel_free(retired[i]);
}

/* ---- hubs ---------------------------------------------------------------- */

static char *hub_key(const gen_org_t *org) {
  const char *login = org->login_base_url ? org->login_base_url : "";
  const char *id = org->client_id ? org->client_id : "";
  char *key;
  return asprintf(&key, "%s %s", login, id) < 0 ? NULL : key;
}

static void hub_free(hub_t *hub) {
  if (hub == NULL)
    return;
  gen_hub_free(hub->plan);
  gen_client_free(hub->client);
  pthread_rwlock_destroy(&hub->lock);
  free(hub->key);
  free(hub);
}

/* Blocks that name one client with different secrets are different
 * credentials (one of them wrong): each gets its own hub and token. */
static bool same_secret(const char *a, const char *b) {
  return a != NULL && b != NULL && strlen(a) == strlen(b) &&
         CRYPTO_memcmp(a, b, strlen(a)) == 0;
}

/* The hub of the client's login host and client id, made on first use
 * with that client's options. Under registry_lock. */
static hub_t *hub_get(gen_client_t *client, const gen_notify_options_t *opt) {
  char *key = hub_key(client->org);
  if (key == NULL)
    return NULL;
  for (hub_t *hub = registry; hub != NULL; hub = hub->next)
    if (strcmp(hub->key, key) == 0 &&
        same_secret(hub->client->org->client_secret,
                    client->org->client_secret)) {
      free(key);
      if (opt->topics_per_channel != hub->opt.topics_per_channel ||
          opt->dead_after != hub->opt.dead_after)
        gen_org_log(client->org, NULL, LOG_NOTICE,
                    "client %s already streams for "
                    "Org \"%s\" (%s plugin), whose HeartbeatTimeout and "
                    "TopicsPerChannel apply to its channels",
                    client->org->client_id, hub->client->org->name,
                    hub->client->org->plugin);
      return hub;
    }
  hub_t *hub = calloc(1, sizeof(*hub));
  gen_org_t *org = gen_org_copy(client->org);
  if (hub == NULL || org == NULL) {
    free(hub);
    gen_org_free(org);
    free(key);
    return NULL;
  }
  hub->key = key;
  hub->opt = *opt;
  hub->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  /* Writers first: a stream of messages on several channels must not keep
   * a consumer from joining or leaving. */
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr,
                                PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&hub->lock, &attr);
  pthread_rwlockattr_destroy(&attr);
  hub->client = gen_client_create(org);
  hub->plan = gen_hub_new(GEN_NOTIFY_MAX_CHANNELS, opt->topics_per_channel);
  if (hub->client == NULL || hub->plan == NULL) {
    hub_free(hub);
    return NULL;
  }
  hub->next = registry;
  registry = hub;
  return hub;
}

static void hub_unlink(hub_t *hub) {
  for (hub_t **p = &registry; *p != NULL; p = &(*p)->next)
    if (*p == hub) {
      *p = hub->next;
      return;
    }
}

/* ---- consumers ----------------------------------------------------------- */

gen_notify_t *gen_notify_create(gen_client_t *client,
                                const gen_notify_callbacks_t *cb, void *ud,
                                const gen_notify_options_t *options) {
  /* What options leaves 0 (or all of it, NULL) is the default. */
  const gen_notify_options_t *o =
      options != NULL ? options : &(gen_notify_options_t){0};
  size_t per = o->topics_per_channel;
  gen_notify_options_t opt = {
      .ping_after = o->ping_after ? o->ping_after : TIME_T_TO_CDTIME_T(35),
      .dead_after = o->dead_after ? o->dead_after : TIME_T_TO_CDTIME_T(75),
      .renew_ahead = o->renew_ahead ? o->renew_ahead : TIME_T_TO_CDTIME_T(3600),
      .topics_per_channel = per && per <= GEN_NOTIFY_TOPICS_PER_CHANNEL
                                ? per
                                : GEN_NOTIFY_TOPICS_PER_CHANNEL,
      .max_message = o->max_message ? o->max_message : 1024 * 1024,
  };
  gen_notify_t *n = calloc(1, sizeof(*n));
  if (n == NULL)
    return NULL;
  n->cb = *cb;
  n->ud = ud;
  pthread_mutex_lock(&registry_lock);
  hub_t *hub = hub_get(client, &opt);
  if (hub != NULL) {
    pthread_rwlock_wrlock(&hub->lock);
    n->id = gen_hub_join(hub->plan);
    if (n->id >= 0) {
      hub->consumers[n->id] = n;
      hub->refs++;
      n->hub = hub;
      n->client = client;
      /* One token for the client in the process, and the hub's requests
       * counted in the instance's figures. */
      client->stats.also = &hub->client->stats;
      if (gen_client_borrow_auth(client, hub->client->auth) != 0)
        gen_org_log(client->org, NULL, LOG_WARNING,
                    "out of memory: the instance "
                    "keeps a token of its own");
    } else {
      gen_org_log(client->org, NULL, LOG_ERR,
                  "client %s already streams for %d "
                  "<Org> blocks, the most one client may serve",
                  client->org->client_id, GEN_HUB_MAX_CONSUMERS);
    }
    pthread_rwlock_unlock(&hub->lock);
  }
  pthread_mutex_unlock(&registry_lock);
  if (n->hub == NULL) {
    free(n);
    return NULL;
  }
  return n;
}

int gen_notify_set_topics(gen_notify_t *n, char *const *topics, size_t count) {
  hub_t *hub = n->hub;
  channel_t *retired[GEN_NOTIFY_MAX_CHANNELS];
  size_t n_retired = 0;
  pthread_rwlock_wrlock(&hub->lock);
  ssize_t pending = gen_hub_want(hub->plan, n->id, topics, count);
  int result = sync_slots(hub, retired, &n_retired);
  size_t carried = gen_hub_topics(hub->plan);
  pthread_rwlock_unlock(&hub->lock);
  free_retired(retired, n_retired);
  if (pending < 0)
    return (int)pending;
  atomic_store(&n->pending, (size_t)pending);
  if (pending > 0) {
    gen_org_log(n->client->org, &hub->complain, LOG_ERR,
                "client %s: %zd of %zu topics do "
                "not fit in the %d channels of %zu topics one client may "
                "hold (%zu topics carried for every plugin and <Org> "
                "using it); they wait for room. Select fewer queues or "
                "agents, or split the org with Shard and more clients",
                n->client->org->client_id, pending, count,
                GEN_NOTIFY_MAX_CHANNELS, hub->opt.topics_per_channel, carried);
    result = -E2BIG;
  }
  return result;
}

int gen_notify_start(gen_notify_t *n) {
  hub_t *hub = n->hub;
  int result = 0;
  pthread_rwlock_wrlock(&hub->lock);
  n->ctx = plugin_get_ctx();
  n->has_ctx = true;
  hub->running = true;
  for (size_t i = 0; i < GEN_NOTIFY_MAX_CHANNELS; i++)
    if (hub->slots[i] != NULL && !hub->slots[i]->started &&
        channel_start(hub->slots[i]) != 0)
      result = -EAGAIN;
  pthread_rwlock_unlock(&hub->lock);
  return result;
}

void gen_notify_free(gen_notify_t *n) {
  if (n == NULL)
    return;
  hub_t *hub = n->hub;
  channel_t *retired[GEN_NOTIFY_MAX_CHANNELS];
  size_t n_retired = 0;
  pthread_mutex_lock(&registry_lock);
  pthread_rwlock_wrlock(&hub->lock);
  /* From here no callback of n runs: delivery holds the read lock. */
  hub->consumers[n->id] = NULL;
  gen_hub_leave(hub->plan, n->id);
  bool last = --hub->refs == 0;
  if (last) {
    hub->running = false;
    hub_unlink(hub);
  }
  sync_slots(hub, retired, &n_retired);
  pthread_rwlock_unlock(&hub->lock);
  pthread_mutex_unlock(&registry_lock);
  free_retired(retired, n_retired);
  n->client->stats.also = NULL;
  gen_client_borrow_auth(n->client, NULL);
  if (last)
    hub_free(hub);
  for (size_t i = 0; i < GEN_NOTIFY_MAX_CHANNELS; i++)
    gen_http_free(n->http[i]);
  free(n);
}

/* ---- figures ------------------------------------------------------------- */

gen_notify_stats_t *gen_notify_stats(gen_notify_t *n) { return &n->stats; }

size_t gen_notify_channels(gen_notify_t *n) {
  pthread_rwlock_rdlock(&n->hub->lock);
  size_t count = gen_hub_channels(n->hub->plan);
  pthread_rwlock_unlock(&n->hub->lock);
  return count;
}

size_t gen_notify_topics(gen_notify_t *n) {
  pthread_rwlock_rdlock(&n->hub->lock);
  size_t count = gen_hub_topics(n->hub->plan);
  pthread_rwlock_unlock(&n->hub->lock);
  return count;
}

void gen_notify_dispatch_stats(gen_notify_t *n, const char *host,
                               const char *plugin) {
  hub_t *hub = n->hub;
  gen_notify_stats_t *st = &hub->stats, *own = &n->stats;
  pthread_rwlock_rdlock(&hub->lock);
  size_t channels = gen_hub_channels(hub->plan);
  size_t topics = gen_hub_topics(hub->plan);
  size_t mine = gen_hub_consumer_count(hub->plan, n->id);
  pthread_rwlock_unlock(&hub->lock);
  /* Channel figures are the client's (every plugin and <Org> using it);
   * malformed, baselines and the topics are this instance's own. */
  gen_self_row_t self[] = {
      {"notify_messages", NULL, true, (double)atomic_load(&st->messages)},
      {"notify_heartbeats", NULL, true, (double)atomic_load(&st->heartbeats)},
      {"notify_reconnects", NULL, true, (double)atomic_load(&st->reconnects)},
      {"notify_malformed", NULL, true,
       (double)(atomic_load(&own->malformed) + atomic_load(&st->malformed))},
      {"notify_baselines", NULL, true, (double)atomic_load(&own->baselines)},
      {"notify_baselines", "failed", true,
       (double)atomic_load(&own->baseline_failures)},
      {"notify_baselines", "retried", true,
       (double)atomic_load(&own->baseline_retries)},
      {"notify_resubscribes", NULL, true,
       (double)atomic_load(&st->resubscribes)},
      {"notify_revocations", NULL, true, (double)atomic_load(&st->revocations)},
      {"notify_channels", NULL, false, (double)channels},
      {"notify_channel_budget", NULL, false,
       (double)(GEN_NOTIFY_MAX_CHANNELS - channels)},
      {"notify_topics", NULL, false, (double)topics},
      {"notify_topics", "own", false, (double)mine},
      {"notify_topics", "pending", false, (double)atomic_load(&n->pending)},
      {"notify_sockets", NULL, false, (double)atomic_load(&st->sockets_open)},
  };
  gen_dispatch_self_rows(host, plugin, self, sizeof(self) / sizeof(self[0]));
  for (int f = 0; f < GEN_NOTIFY_FAMILIES; f++)
    gen_dispatch_self(host, plugin, "notify_family_messages", families[f].name,
                      true, (double)atomic_load(&hub->family[f]));
  int64_t last = atomic_load(&st->last_message);
  if (last > 0)
    gen_dispatch_self(host, plugin, "notify_silence", NULL, false,
                      CDTIME_T_TO_DOUBLE(cdtime() - (cdtime_t)last));
}
