/*
 * collectd-genesys: Notifications API channel manager.
 */
#include "gen_notify.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_time.h"
#include "gen_ws.h"

#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BACKOFF_FIRST 1.0
#define BACKOFF_FACTOR 1.6
#define BACKOFF_MAX 120.0
#define HEALTHY_AFTER TIME_T_TO_CDTIME_T(60)
#define POLL_MS 250

typedef struct channel_s channel_t;

struct gen_notify_s {
  gen_client_t *client;
  gen_notify_callbacks_t cb;
  void *ud;
  gen_notify_options_t opt;
  gen_notify_stats_t stats;
  pthread_mutex_t lock; /* slots, their topics, running */
  channel_t *slots[GEN_NOTIFY_MAX_CHANNELS];
  size_t n_slots;
  size_t n_topics;
  bool running;
};

struct channel_s {
  gen_notify_t *owner;
  size_t index;
  pthread_t thread;
  bool started;
  atomic_bool stop;
  /* Under owner->lock: the topics this channel should carry. */
  char **topics;
  size_t n_topics;
  uint64_t generation;
  /* The channel thread's own state. */
  gen_http_t *http;
  gen_ws_t *ws;
  char *id;
  char *connect_uri;
  cdtime_t expires;
  cdtime_t lifetime;
  uint64_t subscribed_generation; /* 0: nothing subscribed on this channel */
  cdtime_t last_rx;
  bool ping_sent;
  bool reconnect_asked;
  bool resubscribe_asked;
  bool revoked;
  uint64_t token_generation; /* of the token the channel was made with */
  bool ever_connected;
  gen_ratelimit_t complain;
};

/* ---- partition ------------------------------------------------------------
 */

size_t gen_notify_channels_needed(size_t count, size_t per_channel) {
  if (per_channel == 0)
    return 0;
  return (count + per_channel - 1) / per_channel;
}

static void free_topics(char **topics, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(topics[i]);
  free(topics);
}

static char **copy_topics(char *const *topics, size_t n) {
  char **copy = calloc(n ? n : 1, sizeof(*copy));
  if (copy == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    copy[i] = strdup(topics[i]);
    if (copy[i] == NULL) {
      free_topics(copy, i);
      return NULL;
    }
  }
  return copy;
}

static bool same_topics(char *const *a, size_t na, char *const *b, size_t nb) {
  if (na != nb)
    return false;
  for (size_t i = 0; i < na; i++)
    if (strcmp(a[i], b[i]) != 0)
      return false;
  return true;
}

/* ---- helpers ----------------------------------------------------------------
 */

static const char *plugin_of(const channel_t *ch) {
  return ch->owner->client->org->plugin;
}

static double jittered(double seconds) {
  unsigned char r[2] = {0x80, 0};
  RAND_bytes(r, sizeof(r));
  return seconds * (0.8 + 0.4 * (((r[0] << 8) | r[1]) / 65535.0));
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
  return false;
}

/* POST /api/v2/notifications/channels. */
static int create_channel(channel_t *ch) {
  json_object *body = json_object_new_object();
  json_object *doc = NULL;
  char err[512];
  int status = gen_http_post_json(ch->http, "/api/v2/notifications/channels",
                                  body, &doc, err, sizeof(err));
  json_object_put(body);
  if (status != 0) {
    gen_log_limited(&ch->complain, LOG_ERR,
                    "%s plugin: Org \"%s\": cannot create a notification "
                    "channel: %s",
                    plugin_of(ch), ch->owner->client->org->name, err);
    return status;
  }
  const char *id = gen_json_get_string(doc, "id");
  const char *uri = gen_json_get_string(doc, "connectUri");
  const char *expires = gen_json_get_string(doc, "expires");
  int64_t expires_ms = 0;
  if (id == NULL || uri == NULL ||
      (expires != NULL && gen_time_parse(expires, &expires_ms) != 0)) {
    gen_log_limited(&ch->complain, LOG_ERR,
                    "%s plugin: Org \"%s\": channel answer without id, "
                    "connectUri or a valid expires",
                    plugin_of(ch), ch->owner->client->org->name);
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
  int status = gen_http_request(ch->http, "PUT", path, text, NULL, &resp);
  json_object_put(body);
  if (status != 0) {
    gen_log_limited(&ch->complain, LOG_ERR,
                    "%s plugin: Org \"%s\": cannot subscribe channel %zu to "
                    "%zu topics: %s",
                    plugin_of(ch), ch->owner->client->org->name, ch->index, n,
                    resp.error);
    if (resp.status == 404)
      drop_channel(ch); /* gone (expired, evicted): make a new one */
    gen_http_response_reset(&resp);
    return status;
  }
  json_object *doc = NULL;
  char err[128];
  size_t rejected = 0;
  const char *example = NULL;
  if (resp.body != NULL &&
      gen_json_parse(resp.body, resp.body_len, GEN_JSON_MAX_DEPTH, &doc, err,
                     sizeof(err)) == 0) {
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
    gen_log_limited(&ch->complain, LOG_WARNING,
                    "%s plugin: Org \"%s\": %zu of %zu topics were rejected "
                    "(for example %s): check the client's permissions",
                    plugin_of(ch), ch->owner->client->org->name, rejected, n,
                    example ? example : "?");
  json_object_put(doc);
  gen_http_response_reset(&resp);
  cdtime_t now = cdtime();
  ch->expires = now + (ch->lifetime ? ch->lifetime : TIME_T_TO_CDTIME_T(86400));
  return 0;
}

static void on_ws_message(void *ud, const char *data, size_t len) {
  channel_t *ch = ud;
  gen_notify_t *n = ch->owner;
  ch->last_rx = cdtime();
  ch->ping_sent = false;
  atomic_fetch_add(&n->stats.messages, 1);
  atomic_store(&n->stats.last_message, (int_fast64_t)ch->last_rx);
  switch (n->cb.on_message(n->ud, data, len)) {
  case GEN_NOTIFY_HEARTBEAT:
    atomic_fetch_add(&n->stats.heartbeats, 1);
    break;
  case GEN_NOTIFY_RECONNECT:
    ch->reconnect_asked = true;
    break;
  case GEN_NOTIFY_RESUBSCRIBE:
    ch->resubscribe_asked = true;
    atomic_fetch_add(&n->stats.resubscribes, 1);
    break;
  case GEN_NOTIFY_REVOKED:
    ch->revoked = true;
    atomic_fetch_add(&n->stats.revocations, 1);
    break;
  case GEN_NOTIFY_MALFORMED:
    atomic_fetch_add(&n->stats.malformed, 1);
    break;
  case GEN_NOTIFY_OK:
    break;
  }
}

/* Takes a copy of the channel's topics and their generation. */
static char **snapshot_topics(channel_t *ch, size_t *count,
                              uint64_t *generation) {
  pthread_mutex_lock(&ch->owner->lock);
  char **copy = copy_topics(ch->topics, ch->n_topics);
  *count = copy ? ch->n_topics : 0;
  *generation = ch->generation;
  pthread_mutex_unlock(&ch->owner->lock);
  return copy;
}

static uint64_t current_generation(channel_t *ch) {
  pthread_mutex_lock(&ch->owner->lock);
  uint64_t generation = ch->generation;
  pthread_mutex_unlock(&ch->owner->lock);
  return generation;
}

/* Subscribes when the topic set changed, the channel is new or renew is
 * set (a PUT extends the channel's life), and baselines after a change of
 * topics or when baseline is set. */
static int subscribe_and_baseline(channel_t *ch, bool renew, bool baseline) {
  size_t count;
  uint64_t generation;
  char **topics = snapshot_topics(ch, &count, &generation);
  if (topics == NULL)
    return -ENOMEM;
  int status = 0;
  if (renew || ch->subscribed_generation != generation) {
    bool changed = ch->subscribed_generation != generation;
    status = subscribe(ch, topics, count);
    if (status == 0) {
      ch->subscribed_generation = generation;
      baseline = baseline || changed;
    }
  }
  if (status == 0 && baseline && ch->owner->cb.on_connected != NULL) {
    status = ch->owner->cb.on_connected(ch->owner->ud, ch->http, topics, count);
    if (status == 0)
      atomic_fetch_add(&ch->owner->stats.baselines, 1);
  }
  free_topics(topics, count);
  return status;
}

/* One connected session: returns when the socket is over or on stop. */
static int channel_session(channel_t *ch) {
  gen_notify_t *n = ch->owner;
  int status;
  bool fresh = false;
  if (ch->id == NULL || cdtime() >= ch->expires) {
    status = create_channel(ch);
    if (status != 0)
      return status;
    fresh = true;
  }
  status = gen_ws_connect(ch->ws, ch->connect_uri);
  if (status == GEN_WS_ERR_HANDSHAKE && !fresh) {
    /* The upgrade was refused: the channel is gone (expired, evicted, its
     * token revoked). A new one now, not after another backoff step. */
    drop_channel(ch);
    status = create_channel(ch);
    if (status != 0)
      return status;
    status = gen_ws_connect(ch->ws, ch->connect_uri);
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
  ch->ping_sent = false;
  ch->reconnect_asked = false;
  ch->resubscribe_asked = false;
  ch->revoked = false;

  /* Nothing was queued while the socket was down: baseline every time. */
  status = subscribe_and_baseline(ch, false, true);
  while (status == 0 && !atomic_load(&ch->stop)) {
    status = gen_ws_poll(ch->ws, POLL_MS);
    if (status != 0)
      break;
    if (n->cb.on_tick != NULL)
      n->cb.on_tick(n->ud);
    if (ch->revoked)
      break;
    if (ch->resubscribe_asked) {
      /* Topics were dropped (the message need not say which): the whole
       * set again, and a baseline, as their events were missed. */
      gen_log_limited(&ch->complain, LOG_NOTICE,
                      "%s plugin: Org \"%s\": channel %zu: the service "
                      "dropped subscriptions; subscribing again",
                      plugin_of(ch), n->client->org->name, ch->index);
      ch->resubscribe_asked = false;
      status = subscribe_and_baseline(ch, true, true);
      if (status != 0)
        break;
    }
    if (ch->reconnect_asked) {
      gen_log_limited(&ch->complain, LOG_NOTICE,
                      "%s plugin: Org \"%s\": channel %zu: the service is "
                      "closing the socket; reconnecting",
                      plugin_of(ch), n->client->org->name, ch->index);
      break;
    }
    cdtime_t now = cdtime();
    cdtime_t silence = now - ch->last_rx;
    if (silence >= n->opt.dead_after) {
      gen_log_limited(&ch->complain, LOG_WARNING,
                      "%s plugin: Org \"%s\": channel %zu silent for %.0f s "
                      "(no heartbeat, no pong); reconnecting",
                      plugin_of(ch), n->client->org->name, ch->index,
                      CDTIME_T_TO_DOUBLE(silence));
      status = -ETIMEDOUT;
      break;
    }
    if (silence >= n->opt.ping_after && !ch->ping_sent) {
      static const char ping[] = "{\"message\":\"ping\"}";
      if (gen_ws_send_text(ch->ws, ping, sizeof(ping) - 1) == 0)
        ch->ping_sent = true;
    }
    cdtime_t margin = n->opt.renew_ahead;
    if (margin > ch->lifetime / 2)
      margin = ch->lifetime / 2;
    bool renew = ch->expires != 0 && now + margin >= ch->expires;
    if (renew || current_generation(ch) != ch->subscribed_generation)
      status = subscribe_and_baseline(ch, renew, false);
  }
  atomic_fetch_sub(&n->stats.sockets_open, 1);
  if (ch->revoked) {
    /* The channel dies with its token (the close may have come in the same
     * read as the message): a new token and a new channel at once, not a
     * handshake on the dead channel first. */
    gen_log_limited(&ch->complain, LOG_NOTICE,
                    "%s plugin: Org \"%s\": channel %zu: its token was "
                    "revoked; new token, new channel",
                    plugin_of(ch), n->client->org->name, ch->index);
    gen_auth_invalidate(n->client->auth, ch->token_generation);
    drop_channel(ch);
    ch->revoked = false;
    ch->reconnect_asked = true;
    if (gen_ws_is_open(ch->ws))
      gen_ws_close(ch->ws, GEN_WS_CLOSE_GOING_AWAY, "reconnecting");
    return 0;
  }
  /* A normal close from the service ends the channel (expired, its token
   * revoked, taken over): the next session makes a new one rather than a
   * handshake that can only be refused. */
  if (status == GEN_WS_ERR_CLOSED &&
      gen_ws_close_code(ch->ws) == GEN_WS_CLOSE_NORMAL)
    drop_channel(ch);
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
    sleep_unless_stopped(ch, jittered(backoff));
  }
  return NULL;
}

/* ---- slots ------------------------------------------------------------------
 */

static channel_t *channel_new(gen_notify_t *n, size_t index) {
  channel_t *ch = calloc(1, sizeof(*ch));
  if (ch == NULL)
    return NULL;
  ch->owner = n;
  ch->index = index;
  atomic_init(&ch->stop, false);
  ch->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  ch->http =
      gen_http_create(n->client->org, &n->client->stats, n->client->auth);
  ch->ws = gen_ws_create(n->client->org,
                         &(gen_ws_callbacks_t){.on_message = on_ws_message}, ch,
                         n->opt.max_message);
  if (ch->http == NULL || ch->ws == NULL) {
    gen_http_free(ch->http);
    gen_ws_free(ch->ws);
    free(ch);
    return NULL;
  }
  return ch;
}

static int channel_start(channel_t *ch) {
  char name[16];
  snprintf(name, sizeof(name), "genesys ch%zu", ch->index);
  int status = plugin_thread_create(&ch->thread, channel_main, ch, name);
  if (status != 0) {
    GEN_ERROR("%s plugin: cannot start channel thread: %s", plugin_of(ch),
              gen_strerror(status));
    return -status;
  }
  ch->started = true;
  return 0;
}

static void channel_free(channel_t *ch) {
  if (ch == NULL)
    return;
  atomic_store(&ch->stop, true);
  if (ch->started)
    pthread_join(ch->thread, NULL);
  gen_ws_free(ch->ws);
  gen_http_free(ch->http);
  drop_channel(ch);
  free_topics(ch->topics, ch->n_topics);
  free(ch);
}

void gen_notify_config_init(gen_notify_config_t *c) {
  c->heartbeat_timeout = TIME_T_TO_CDTIME_T(75);
  c->topics_per_channel = GEN_NOTIFY_TOPICS_PER_CHANNEL;
}

int gen_notify_config_key(const gen_org_t *org, const oconfig_item_t *ci,
                          gen_notify_config_t *c) {
  if (strcasecmp(ci->key, "HeartbeatTimeout") == 0)
    return gen_config_seconds(org, ci, 2, 600, &c->heartbeat_timeout);
  if (strcasecmp(ci->key, "TopicsPerChannel") == 0)
    return gen_config_int(org, ci, 1, GEN_NOTIFY_TOPICS_PER_CHANNEL,
                          &c->topics_per_channel);
  return GEN_CONFIG_NOT_MINE;
}

gen_notify_options_t gen_notify_config_options(const gen_notify_config_t *c) {
  return (gen_notify_options_t){
      .dead_after = c->heartbeat_timeout,
      .ping_after = c->heartbeat_timeout * 47 / 100,
      .topics_per_channel = (size_t)c->topics_per_channel,
  };
}

gen_notify_t *gen_notify_create(gen_client_t *client,
                                const gen_notify_callbacks_t *cb, void *ud,
                                const gen_notify_options_t *options) {
  gen_notify_t *n = calloc(1, sizeof(*n));
  if (n == NULL)
    return NULL;
  n->client = client;
  n->cb = *cb;
  n->ud = ud;
  n->opt = (gen_notify_options_t){
      .ping_after = TIME_T_TO_CDTIME_T(35),
      .dead_after = TIME_T_TO_CDTIME_T(75),
      .renew_ahead = TIME_T_TO_CDTIME_T(3600),
      .topics_per_channel = GEN_NOTIFY_TOPICS_PER_CHANNEL,
      .max_message = 1024 * 1024,
  };
  if (options != NULL) {
    if (options->ping_after)
      n->opt.ping_after = options->ping_after;
    if (options->dead_after)
      n->opt.dead_after = options->dead_after;
    if (options->renew_ahead)
      n->opt.renew_ahead = options->renew_ahead;
    if (options->topics_per_channel &&
        options->topics_per_channel <= GEN_NOTIFY_TOPICS_PER_CHANNEL)
      n->opt.topics_per_channel = options->topics_per_channel;
    if (options->max_message)
      n->opt.max_message = options->max_message;
  }
  pthread_mutex_init(&n->lock, NULL);
  return n;
}

int gen_notify_set_topics(gen_notify_t *n, char *const *topics, size_t count) {
  size_t per = n->opt.topics_per_channel;
  size_t needed = gen_notify_channels_needed(count, per);
  int result = 0;
  if (needed > GEN_NOTIFY_MAX_CHANNELS) {
    GEN_ERROR("%s plugin: Org \"%s\": %zu topics need %zu channels, more "
              "than the %d one client may hold; only the first %zu topics "
              "are streamed (split the org with Shard and more clients)",
              n->client->org->plugin, n->client->org->name, count, needed,
              GEN_NOTIFY_MAX_CHANNELS, GEN_NOTIFY_MAX_CHANNELS * per);
    needed = GEN_NOTIFY_MAX_CHANNELS;
    count = needed * per;
    result = -E2BIG;
  }
  channel_t *retired[GEN_NOTIFY_MAX_CHANNELS];
  size_t n_retired = 0;
  pthread_mutex_lock(&n->lock);
  for (size_t i = 0; i < needed; i++) {
    size_t first = i * per;
    size_t len = count - first < per ? count - first : per;
    channel_t *ch = n->slots[i];
    if (ch == NULL) {
      ch = channel_new(n, i);
      if (ch == NULL) {
        result = -ENOMEM;
        needed = i;
        break;
      }
      n->slots[i] = ch;
      if (n->running && channel_start(ch) != 0)
        result = -EAGAIN;
    }
    if (!same_topics(ch->topics, ch->n_topics, topics + first, len)) {
      char **copy = copy_topics(topics + first, len);
      if (copy == NULL) {
        result = -ENOMEM;
        continue;
      }
      free_topics(ch->topics, ch->n_topics);
      ch->topics = copy;
      ch->n_topics = len;
      ch->generation++;
    }
  }
  for (size_t i = needed; i < n->n_slots; i++) {
    retired[n_retired++] = n->slots[i];
    n->slots[i] = NULL;
  }
  n->n_slots = needed;
  n->n_topics = count;
  pthread_mutex_unlock(&n->lock);
  /* Joined outside the lock: the threads take it for their topics. */
  for (size_t i = 0; i < n_retired; i++)
    channel_free(retired[i]);
  return result;
}

int gen_notify_start(gen_notify_t *n) {
  int result = 0;
  pthread_mutex_lock(&n->lock);
  n->running = true;
  for (size_t i = 0; i < n->n_slots; i++)
    if (!n->slots[i]->started && channel_start(n->slots[i]) != 0)
      result = -EAGAIN;
  pthread_mutex_unlock(&n->lock);
  return result;
}

void gen_notify_free(gen_notify_t *n) {
  if (n == NULL)
    return;
  pthread_mutex_lock(&n->lock);
  n->running = false;
  for (size_t i = 0; i < n->n_slots; i++)
    atomic_store(&n->slots[i]->stop, true);
  size_t count = n->n_slots;
  pthread_mutex_unlock(&n->lock);
  for (size_t i = 0; i < count; i++)
    channel_free(n->slots[i]);
  pthread_mutex_destroy(&n->lock);
  free(n);
}

gen_notify_stats_t *gen_notify_stats(gen_notify_t *n) { return &n->stats; }

size_t gen_notify_channels(gen_notify_t *n) {
  pthread_mutex_lock(&n->lock);
  size_t count = n->n_slots;
  pthread_mutex_unlock(&n->lock);
  return count;
}

size_t gen_notify_topics(gen_notify_t *n) {
  pthread_mutex_lock(&n->lock);
  size_t count = n->n_topics;
  pthread_mutex_unlock(&n->lock);
  return count;
}

void gen_notify_dispatch_stats(gen_notify_t *n, const char *host,
                               const char *plugin) {
  gen_notify_stats_t *st = &n->stats;
  struct {
    const char *type;
    bool derive;
    double value;
  } self[] = {
      {"notify_messages", true, (double)atomic_load(&st->messages)},
      {"notify_heartbeats", true, (double)atomic_load(&st->heartbeats)},
      {"notify_reconnects", true, (double)atomic_load(&st->reconnects)},
      {"notify_malformed", true, (double)atomic_load(&st->malformed)},
      {"notify_baselines", true, (double)atomic_load(&st->baselines)},
      {"notify_resubscribes", true, (double)atomic_load(&st->resubscribes)},
      {"notify_revocations", true, (double)atomic_load(&st->revocations)},
      {"notify_channels", false, (double)gen_notify_channels(n)},
      {"notify_topics", false, (double)gen_notify_topics(n)},
      {"notify_sockets", false, (double)atomic_load(&st->sockets_open)},
  };
  for (size_t i = 0; i < sizeof(self) / sizeof(self[0]); i++) {
    gen_dispatch_self(host, plugin, self[i].type, NULL, self[i].derive,
                      self[i].value);
  }
  int64_t last = atomic_load(&st->last_message);
  if (last > 0) {
    gen_ident_t id = {.host = host,
                      .plugin = plugin,
                      .plugin_instance = "self",
                      .type = "notify_silence"};
    gen_dispatch_gauge(&id, CDTIME_T_TO_DOUBLE(cdtime() - (cdtime_t)last), 0,
                       0);
  }
}
