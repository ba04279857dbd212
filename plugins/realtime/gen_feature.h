/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a live feature of genesys_realtime is a row. The plugin
 * loops over the rows (gen_features.c, the only list that names them) and
 * names none of them; a new feature is a module exporting its row and one
 * line in that list. A field a feature has no use for is NULL.
 */
#ifndef GEN_FEATURE_H
#define GEN_FEATURE_H 1

#include "gen_client.h"
#include "gen_conv.h"
#include "gen_entity.h"
#include "gen_live.h"
#include "gen_notify.h"
#include "gr_config.h"

#include <pthread.h>

/* A value of a row's own plugin instance (a queue, division, campaign...). */
typedef void (*gen_feature_put_t)(void *ud, const char *instance,
                                  const char *type, const char *type_instance,
                                  double value);

/* What every row sees: the plugin's one shared context. The read thread
 * alone changes queues (read it without the lock there); live is under
 * lock. mono (gen_monotonic) paces budgets and sweeps, immune to a step
 * of the wall clock; wall_ms stamps values. Both set before each run and
 * put (the read thread's; the hooks under the lock get their time). */
typedef struct {
  gen_client_t *client;
  const gr_config_t *config;
  const char *plugin;
  const gen_log_org_t *who;
  pthread_mutex_t *lock;
  const gen_entity_set_t *queues;
  gen_live_t *live;
  gen_conv_store_t *store; /* the counters' state file */
  cdtime_t interval;       /* the read's (0 until the first read) */
  cdtime_t mono;
  int64_t wall_ms;
} gen_feature_ctx_t;

typedef struct {
  const char *name;
  const char *event; /* its messages, in "malformed <event> skipped" */
  bool (*on)(const gen_feature_ctx_t *ctx);      /* configured on */
  void *(*create)(const gen_feature_ctx_t *ctx); /* NULL: out of memory */
  void (*free)(void *f);
  /* The read thread's turn; true when its topics changed. */
  bool (*run)(void *f, const gen_feature_ctx_t *ctx);
  /* Its values, the lock held, each under its own instance. */
  void (*put)(void *f, const gen_feature_ctx_t *ctx, gen_feature_put_t put,
              void *ud);
  void (*stats)(void *f, const char *host, const char *plugin);
  /* Appends its topics (reallocated; NULL: out of memory). */
  char **(*topics)(void *f, char **topics, size_t *n);
  /* One of its topics' messages, the WebSocket thread's; on MALFORMED a
   * reason in err (empty: the row logged it itself). */
  gen_notify_verdict_t (*message)(void *f, const char *topic, const char *json,
                                  size_t len, char *err, size_t err_size);
  bool (*topic)(const void *f, const char *topic); /* message's filter */
  /* A channel (re)connected with these topics, before their baselines. */
  void (*connected)(void *f, char *const *topics, size_t n);
  /* The lock held, from any thread: */
  /* now is the time of the next dispatch (before anything leaves at it):
   * true when the row dispatched values of its own (heap trimmed after). */
  bool (*at)(void *f, const gen_feature_ctx_t *ctx, cdtime_t now);
  /* Each gauge of the live state that changed or went out, at t. */
  void (*observe)(void *f, const char *instance, const char *type,
                  const char *type_instance, double value, cdtime_t t);
  /* A moment the tracker found: false when it must not be counted. */
  bool (*live)(void *f, const char *queue_id, int media,
               gen_conv_moment_t moment, int64_t at_ms, int64_t now_ms);
  void (*forget)(void *f, const char *instance); /* a queue left */
  /* Topics lost (a gap opens) or connected (it closes) at now_ms; then,
   * once their values are re-read (failed: not those), mark. */
  void (*gap)(void *f, char *const *topics, size_t n, bool lost,
              int64_t now_ms);
  int (*mark)(void *f, const gen_feature_ctx_t *ctx, char *const *topics,
              size_t n, const uint8_t *failed, bool lost);
  void (*locked_stats)(void *f, const char *host, const char *plugin);
} gen_feature_t;

/* A gen_put_t of a module's per-entity values (gauges) passed on to a
 * row's put under one instance (ud: a gen_feature_sink_t). */
typedef struct {
  gen_feature_put_t put;
  void *ud;
  const char *instance;
} gen_feature_sink_t;
void gen_feature_put_under(void *ud, const char *type,
                           const char *type_instance, double value,
                           bool derive);

/* The rows, in the order of their work (topics: the last row's last). */
extern const gen_feature_t *const gen_features[];
#define GEN_FEATURES 7

/* Each row i on (its state in f[i]) with a hook. */
#define GEN_EACH_FEATURE(f, hook, i)                                           \
  for (size_t i = 0; i < GEN_FEATURES; i++)                                    \
    if ((f)[i] != NULL && gen_features[i]->hook != NULL)

/* The rows' hooks over f, the states (the lock held): at (true: one
 * dispatched), observe (ud: f), live (false: one vetoed) and gap. */
bool gen_features_at(void *const *f, const gen_feature_ctx_t *ctx,
                     cdtime_t now);
void gen_features_observe(void *f, const char *instance, const char *type,
                          const char *type_instance, double value, cdtime_t t);
bool gen_features_live(void *const *f, const char *queue_id, int media,
                       gen_conv_moment_t moment, int64_t at_ms, int64_t now_ms);
void gen_features_gap(void *const *f, char *const *topics, size_t n, bool lost,
                      int64_t now_ms);

extern const gen_feature_t gen_summary_feature;
extern const gen_feature_t gen_conv_repair_feature;
extern const gen_feature_t gen_ewt_feature;
extern const gen_feature_t gen_agent_groups_feature;
extern const gen_feature_t gen_campaigns_feature;
extern const gen_feature_t gen_adherence_feature;
extern const gen_feature_t gen_workitems_feature;

#endif /* GEN_FEATURE_H */
