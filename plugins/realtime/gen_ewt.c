/* SPDX-License-Identifier: MIT */
/* The estimated wait time of genesys_realtime (gen_ewt.h). */
#include "collectd/core/daemon/collectd.h"

#include "gen_ewt.h"
#include "gen_feature.h"

#include "gen_buf.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct gen_ewt {
  cdtime_t every;
  gen_minute_t minute; /* the budget */
  uint64_t requests, unasked, failures;
  bool refused; /* a 403 for the permission: the family stops */
  gen_ratelimit_t complain;
};

#define EC gen_ewt_config_t
static const gen_config_def_t ewt_defs[] = {
    GEN_KEY_BOOL("EstimatedWaitTime", EC, on, false,
                 "the estimated wait time of queues with conversations "
                 "waiting"),
    GEN_KEY_SECONDS("EstimatedWaitTimeEvery", EC, every, 1, 3600, 30,
                    "the most often one queue and media type is asked"),
    GEN_KEY_INT("EstimatedWaitTimeRequests", EC, per_minute, 1,
                GEN_EWT_MAX_PER_MINUTE, 60,
                "estimated wait time requests a minute at most"),
};
#undef EC
const gen_config_table_t gen_ewt_keys = GEN_CONFIG_TABLE(ewt_defs);

/* The API's path values (SDK getRoutingQueueMediatypeEstimatedwaittime):
 * all, call, chat, callback, email, videoComm, message. */
const char *gen_ewt_path_media(int m) {
  static const char *const path_media[GEN_MEDIA_COUNT] = {
      [GEN_MEDIA_VOICE] = "call",      [GEN_MEDIA_CALLBACK] = "callback",
      [GEN_MEDIA_CHAT] = "chat",       [GEN_MEDIA_EMAIL] = "email",
      [GEN_MEDIA_MESSAGE] = "message", [GEN_MEDIA_VIDEO] = "videoComm"};
  /* cobrowse, screenshare: no estimate (NULL) */
  return m >= 0 && m < GEN_MEDIA_COUNT ? path_media[m] : NULL;
}

/* A result's estimate: an integer estimatedWaitTimeSeconds, not negative
 * (beyond 2^53 refused as every reader of ours does). */
static bool result_seconds(json_object *r, int64_t *seconds) {
  json_object *v;
  return json_object_is_type(r, json_type_object) &&
         json_object_object_get_ex(r, "estimatedWaitTimeSeconds", &v) &&
         gen_json_count_of(v, seconds);
}

static bool labelled(json_object *r) {
  json_object *label;
  return json_object_object_get_ex(r, "label", &label) && label != NULL;
}

/* The formula values of PredictionResults (python SDK 233.0.0 on; the
 * first four since 2.0.0). */
static const char *const formulas[] = {"BEST",
                                       "SIMPLE",
                                       "ABANDON",
                                       "PATIENCE_ABANDON",
                                       "AI-ADJUSTED-AHT",
                                       "POSITION-IN-QUEUE"};

/* Whether a result's formula is BEST; a formula word this version does not
 * know is counted in unknown_values (client NULL: not counted), the result
 * taken as any other. */
static bool best(gen_client_t *client, json_object *r) {
  const char *f = gen_json_get_string(r, "formula");
  if (f == NULL || f[0] == '\0')
    return false;
  for (size_t k = 0; k < sizeof(formulas) / sizeof(formulas[0]); k++)
    if (strcasecmp(f, formulas[k]) == 0)
      return k == 0;
  if (client != NULL)
    gen_client_unknown(client, "ewt", "formula", f);
  return false;
}

int gen_ewt_read(gen_client_t *client, const char *text, size_t len,
                 int64_t *seconds, size_t *malformed, char *err,
                 size_t err_size) {
  json_object *doc;
  *malformed = 0;
  if (gen_json_parse_answer(text, len, &doc, err, err_size) != 0)
    return -EBADMSG;
  json_object *results = gen_json_get_array(doc, "results");
  if (results == NULL) {
    json_object_put(doc);
    snprintf(err, err_size, "no results array");
    return -EBADMSG;
  }
  /* The queue's own estimate first (no label), then BEST of those: the
   * first result of the highest rank. */
  int taken = -1;
  size_t n = json_object_array_length(results);
  for (size_t k = 0; k < n; k++) {
    json_object *r = json_object_array_get_idx(results, k);
    int64_t s;
    if (!result_seconds(r, &s)) {
      (*malformed)++; /* every one counted, whichever is taken */
      continue;
    }
    int rank = (labelled(r) ? 0 : 2) + (best(client, r) ? 1 : 0);
    if (rank > taken) {
      *seconds = s;
      taken = rank;
    }
  }
  bool found = taken >= 0;
  json_object_put(doc);
  if (!found) {
    snprintf(err, err_size, "no usable result of %zu", n);
    return -ENODATA;
  }
  return 0;
}

static int due_order(const void *a, const void *b) {
  const gen_ewt_due_t *x = a, *y = b;
  if (x->asked != y->asked)
    return x->asked < y->asked ? -1 : 1;
  if (x->queue != y->queue)
    return x->queue < y->queue ? -1 : 1;
  return (x->media > y->media) - (x->media < y->media);
}

size_t gen_ewt_choose(gen_ewt_due_t *due, size_t n, size_t budget) {
  if (n > 1)
    qsort(due, n, sizeof(*due), due_order);
  return n < budget ? n : budget;
}

ssize_t gen_ewt_collect(gen_live_t *l, size_t n, cdtime_t now, cdtime_t every,
                        gen_ewt_due_t **due) {
  size_t count = 0, cap = 0;
  *due = NULL;
  for (size_t i = 0; i < n; i++)
    for (int m = 0; m < GEN_MEDIA_COUNT; m++) {
      gen_live_media_t *lm = l->state[i].media[m];
      if (lm == NULL || !gen_live_wanted(l, (size_t)m) ||
          gen_ewt_path_media(m) == NULL)
        continue;
      if (lm->now.waiting <= 0) {
        lm->ewt.have = false; /* nobody waits: no estimate holds */
        continue;
      }
      if (lm->ewt.asked != 0 && now - lm->ewt.asked < every)
        continue;
      if (gen_grow((void **)due, &cap, count + 1, sizeof(**due), 64) != 0) {
        free(*due);
        *due = NULL;
        return -ENOMEM;
      }
      (*due)[count++] =
          (gen_ewt_due_t){.queue = i, .media = m, .asked = lm->ewt.asked};
    }
  return (ssize_t)count;
}

gen_ewt_t *gen_ewt_new(const gen_ewt_config_t *c) {
  if (!c->on)
    return NULL;
  gen_ewt_t *e = calloc(1, sizeof(*e));
  if (e == NULL)
    return NULL;
  if (gen_minute_init(&e->minute,
                      c->per_minute > 0 ? (size_t)c->per_minute : 1) != 0) {
    free(e);
    return NULL;
  }
  e->every = c->every;
  e->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  return e;
}

void gen_ewt_free(gen_ewt_t *e) {
  if (e == NULL)
    return;
  gen_minute_free(&e->minute);
  free(e);
}

size_t gen_ewt_budget(const gen_ewt_t *e, cdtime_t now) {
  return gen_minute_left(&e->minute, now);
}

void gen_ewt_spent(gen_ewt_t *e, cdtime_t now) {
  gen_minute_spend(&e->minute, 1, now);
  e->requests++;
}

/* An estimate: {"results": [{"intent", "formula",
 * "estimatedWaitTimeSeconds"}]}, a few of 200 B: under 1 KB, x64. */
#define EWT_ANSWER GEN_HTTP_BOUND(GEN_KIB(64), "estimated wait time")

/* One pair asked: 0 with *seconds, -ENODATA (no estimate), or a failure
 * with err. */
static int ask(gen_client_t *client, const char *queue_id, int media,
               int64_t *seconds, size_t *malformed, char *err,
               size_t err_size) {
  char path[256];
  gen_http_response_t resp;
  *malformed = 0;
  snprintf(path, sizeof(path),
           "/api/v2/routing/queues/%s/mediatypes/%s/estimatedwaittime",
           queue_id, gen_ewt_path_media(media));
  int status =
      gen_http_request(client->http, "GET", path, NULL,
                       &(gen_http_options_t){.answer = EWT_ANSWER}, &resp);
  if (status != 0)
    snprintf(err, err_size, "%s", resp.error);
  else
    status = gen_ewt_read(client, resp.body, resp.body_len, seconds, malformed,
                          err, err_size);
  gen_http_response_recycle(client->http, &resp);
  return status;
}

size_t gen_ewt_run(gen_ewt_t *e, gen_client_t *client, pthread_mutex_t *lock,
                   const gen_entity_set_t *queues, gen_live_t *live,
                   cdtime_t now) {
  if (e == NULL || e->refused)
    return 0;
  gen_ewt_due_t *due;
  pthread_mutex_lock(lock);
  ssize_t n = gen_ewt_collect(live, queues->count, now, e->every, &due);
  pthread_mutex_unlock(lock);
  if (n < 0)
    return 0;
  size_t ask_n = gen_ewt_choose(due, (size_t)n, gen_ewt_budget(e, now));
  e->unasked += (size_t)n - ask_n;
  size_t made = 0;
  for (size_t k = 0; k < ask_n && !gen_http_resting(client->http, NULL); k++) {
    const gen_ewt_due_t *d = &due[k];
    const char *id = queues->items[d->queue].id;
    char err[512] = "";
    int64_t seconds = 0;
    size_t malformed;
    if (!gen_id_plain(id, 100)) { /* not a UUID: never asked */
      gen_org_log(client->org, &e->complain, LOG_WARNING,
                  GEN_EWT_FAMILY ": queue id \"%s\" not usable in a path", id);
      continue;
    }
    gen_ewt_spent(e, now);
    made++;
    int status =
        ask(client, id, d->media, &seconds, &malformed, err, sizeof(err));
    for (size_t b = 0; b < malformed + (status == -EBADMSG); b++)
      gen_http_count_malformed(client->http);
    /* No estimate in a readable answer is no failure of the family; a
     * malformed result is a malformed answer (notified). */
    int family = status == -ENODATA ? 0 : status;
    if (family == 0 && malformed > 0) {
      family = -EBADMSG;
      snprintf(err, sizeof(err),
               "%zu result(s) without an estimatedWaitTimeSeconds of 0 or "
               "more",
               malformed);
    }
    if (gen_client_family(client, GEN_EWT_FAMILY, family, err,
                          "queue observations")) {
      e->refused = true;
      e->failures++;
      break;
    }
    if (family != 0) {
      if (status != 0 && status != -ENODATA)
        e->failures++;
      gen_org_log(client->org, &e->complain, LOG_WARNING,
                  GEN_EWT_FAMILY " of queue %s, %s: %s", id,
                  gen_media_names[d->media], err);
    }
    /* What the answer gives the pair: its estimate, or none. */
    pthread_mutex_lock(lock);
    gen_live_media_t *lm = live->state[d->queue].media[d->media];
    if (lm != NULL) {
      lm->ewt.asked = now;
      lm->ewt.have = status == 0;
      if (status == 0)
        lm->ewt.seconds = seconds;
    }
    pthread_mutex_unlock(lock);
  }
  free(due);
  return made;
}

void gen_ewt_put_queue(const gen_live_t *l, size_t i, gen_put_t put, void *ud) {
  for (int m = 0; m < GEN_MEDIA_COUNT; m++) {
    const gen_live_media_t *lm = l->state[i].media[m];
    if (lm != NULL && lm->ewt.have && lm->now.waiting > 0 &&
        gen_live_wanted(l, (size_t)m))
      put(ud, "estimated_wait", gen_media_names[m], (double)lm->ewt.seconds,
          false);
  }
}

void gen_ewt_dispatch_stats(const gen_ewt_t *e, const char *host,
                            const char *plugin) {
  if (e == NULL)
    return;
  gen_dispatch_self(host, plugin, "ewt_requests", NULL, true,
                    (double)e->requests);
  gen_dispatch_self(host, plugin, "ewt_unasked", NULL, true,
                    (double)e->unasked);
  gen_dispatch_self(host, plugin, "ewt_failures", NULL, true,
                    (double)e->failures);
}

/* ---- its row (gen_feature.h) ----------------------------------------------
 */

static bool ewt_on(const gen_feature_ctx_t *c) { return c->config->ewt.on; }

static void *ewt_new(const gen_feature_ctx_t *c) {
  return gen_ewt_new(&c->config->ewt);
}

static bool ewt_run(void *f, const gen_feature_ctx_t *ctx) {
  /* its minute and Every: the monotonic clock, no clock step */
  gen_ewt_run(f, ctx->client, ctx->lock, ctx->queues, ctx->live, ctx->mono);
  return false;
}

static void ewt_put(void *f, const gen_feature_ctx_t *ctx,
                    gen_feature_put_t put, void *ud) {
  (void)f;
  for (size_t i = 0; i < ctx->queues->count; i++) {
    gen_feature_sink_t s = {
        put, ud, gen_entity_instance(ctx->client->org, &ctx->queues->items[i])};
    gen_ewt_put_queue(ctx->live, i, gen_feature_put_under, &s);
  }
}

static void ewt_free(void *f) { gen_ewt_free(f); }

static void ewt_stats(void *f, const char *host, const char *plugin) {
  gen_ewt_dispatch_stats(f, host, plugin);
}

const gen_feature_t gen_ewt_feature = {.name = "ewt",
                                       .on = ewt_on,
                                       .create = ewt_new,
                                       .free = ewt_free,
                                       .run = ewt_run,
                                       .put = ewt_put,
                                       .stats = ewt_stats};
