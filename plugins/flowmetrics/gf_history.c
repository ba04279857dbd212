/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_flowmetrics's history as a table (gf_history.h).
 */
#include "gf_history.h"

#include "gen_log.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

/* ---- configuration ------------------------------------------------------ */

void gf_config_init(void *config) {
  gf_config_t *c = config;
  gen_config_parts_defaults(gf_keys, GF_KEYS, c);
}

/* Frees what the configuration holds, not the struct itself. */
void gf_config_release(void *config) {
  gf_config_t *c = config;
  gen_entity_filter_free(&c->flows);
  gen_entity_filter_free(&c->queues);
  gen_action_agg_config_release(&c->act);
  gen_flow_agg_config_release(&c->agg);
  gen_attr_config_release(&c->attr);
  free(c->state_file);
  gen_receiver_config_release(&c->rx);
  gen_interval_config_release(&c->interval);
}

/* StateFile: one state location per plugin, the old key still works. */
static int gf_state_file(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_def_t *def, void *field) {
  gen_org_log(org, NULL, LOG_WARNING,
              "StateFile is deprecated: use StateDirectory (the counters "
              "then live in <dir>/" GF_PLUGIN_NAME "-<org>.json beside the "
              "aggregates' state)");
  return gen_config_string(org, ci, field);
}

static const gen_config_def_t gf_defs[] = {
    /* DivisionId selects flows; queues are picked by id and name only. */
    GEN_KEY_FILTER("Flow", "flows", gf_config_t, flows),
    GEN_KEY_DIVISIONS("flows", gf_config_t, flows),
    GEN_KEY_FILTER("Queue", "queues", gf_config_t, queues),
    GEN_KEY_BOOL("AttributesFromQueues", gf_config_t, attributes_from_queues,
                 true, "read metric attributes from the queue topics"),
    GEN_KEY_SECONDS("RefreshInterval", gf_config_t, refresh_interval, 0, 86400,
                    600, "how often the lists are read again (0: once)"),
    GEN_KEY_PARSE("StateFile", GEN_CFG_STRING, gf_config_t, state_file,
                  gf_state_file, NULL, NULL,
                  "deprecated: the counters' state file (StateDirectory)"),
    GEN_KEY_SECONDS("StateSaveInterval", gf_config_t, state_save_interval, 1,
                    3600, 10, "how often the state file is written"),
};
static const gen_config_table_t gf_table = GEN_CONFIG_TABLE(gf_defs);

const gen_config_part_t gf_keys[GF_KEYS] = {
    {&gf_table, 0},
    {&gen_action_agg_keys, offsetof(gf_config_t, act)},
    {&gen_bot_agg_keys, offsetof(gf_config_t, bots)},
    {&gen_flow_exit_keys, offsetof(gf_config_t, exits)},
    {&gen_flow_agg_keys, offsetof(gf_config_t, agg)},
    {&gen_notify_keys, offsetof(gf_config_t, notify)},
    {&gen_receiver_keys, offsetof(gf_config_t, rx)},
    {&gen_attr_keys, offsetof(gf_config_t, attr)},
    {&gen_interval_keys, offsetof(gf_config_t, interval)},
};

int gf_config_key(gen_org_t *org, const oconfig_item_t *ci, void *config) {
  return gen_config_parts_key(org, ci, gf_keys, GF_KEYS, config);
}

/* ---- listings ----------------------------------------------------------- */

/* family/still: see gen_client_family(). */
static int list_one(gen_client_t *client, const char *path,
                    const gen_entity_filter_t *filter, gen_entity_set_t *set,
                    const char *what, const char *family, const char *still,
                    gen_ratelimit_t *complain) {
  char err[512];
  int status = gen_entity_list(client->http, client->org, path, filter, set,
                               err, sizeof(err));
  if (!gen_client_family(client, family, status, err, still) && status != 0)
    gen_org_log(client->org, complain, LOG_ERR, "cannot list %s: %s", what,
                err);
  return status;
}

int gf_list(const void *config, gen_client_t *client, void *lists,
            gen_ratelimit_t *complain) {
  const gf_config_t *c = config;
  gf_lists_t *l = lists;
  gen_entity_set_t flows = {0}, outcomes = {0}, milestones = {0}, queues = {0};
  char path[1024];
  gen_flow_agg_list_path(c->agg.flow_types, c->agg.n_flow_types, path,
                         sizeof(path));
  int status =
      list_one(client, path, &c->flows, &flows, "flows", "the flow list",
               "nothing (every value needs it)", complain);
  /* Outcome and milestone names only name values: without them (their
   * permissions refused, say) the last names or the ids stand in, and
   * everything runs. */
  bool named_outcomes =
      status == 0 &&
      list_one(client, GEN_FLOW_OUTCOMES_PATH, NULL, &outcomes, "flow outcomes",
               "flow outcome names", "every value (outcomes keep their ids)",
               complain) == 0;
  bool named_milestones =
      status == 0 &&
      list_one(client, GEN_FLOW_MILESTONES_PATH, NULL, &milestones,
               "flow milestones", "flow milestone names",
               "every value (milestones keep their ids)", complain) == 0;
  /* Data actions: their own family; without their listing the last one
   * stays and the flows run. */
  gen_entity_set_t actions = {0};
  bool listed_actions =
      status == 0 && c->act.on &&
      list_one(client, GEN_ACTION_LIST_PATH, &c->act.filter, &actions,
               "data actions", "data action aggregates", "the flow values",
               complain) == 0;
  if (status == 0 && c->attributes_from_queues)
    status = list_one(client, "/api/v2/routing/queues", &c->queues, &queues,
                      "queues", "metric attributes from queues",
                      "nothing (the topics need the flow and queue lists)",
                      complain);
  if (status != 0) {
    gen_entity_set_free(&flows);
    gen_entity_set_free(&outcomes);
    gen_entity_set_free(&milestones);
    gen_entity_set_free(&queues);
    gen_entity_set_free(&actions);
    return status;
  }
  if (l->lock != NULL)
    pthread_mutex_lock(l->lock);
  if (!gen_entity_set_same(&flows, &l->flows) ||
      !gen_entity_set_same(&queues, &l->queues))
    l->generation++;
  gen_entity_set_replace(&l->flows, &flows, true);
  gen_entity_set_replace(&l->queues, &queues, true);
  gen_entity_set_replace(&l->outcomes, &outcomes, named_outcomes);
  gen_entity_set_replace(&l->milestones, &milestones, named_milestones);
  gen_entity_set_replace(&l->actions, &actions, listed_actions);
  l->listed = true;
  if (l->lock != NULL)
    pthread_mutex_unlock(l->lock);
  return 0;
}

void gf_lists_free(void *lists) {
  gf_lists_t *l = lists;
  gen_entity_set_free(&l->flows);
  gen_entity_set_free(&l->outcomes);
  gen_entity_set_free(&l->milestones);
  gen_entity_set_free(&l->queues);
  gen_entity_set_free(&l->actions);
}

/* ---- flow aggregates ---------------------------------------------------- */

typedef struct {
  const gf_config_t *c;
  const gf_lists_t *lists;
  gen_flow_agg_t fa;  /* the family's own, not the active flows' */
  gen_flow_exit_t fx; /* the flow exits' */
} gf_flow_state_t;

/* The state of the rows asked per batch of flows: the flow aggregates and
 * the flow exits. */
static void *flows_new(const gen_family_env_t *env) {
  const gf_config_t *c = env->config;
  const gf_lists_t *l = env->lists;
  gf_flow_state_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->c = c;
  s->lists = l;
  s->fa = (gen_flow_agg_t){.client = env->client,
                           .plugin = env->plugin,
                           .flows = &l->flows,
                           .outcomes = &l->outcomes,
                           .milestones = &l->milestones,
                           .granularity_ms = c->interval.granularity_ms};
  s->fx = (gen_flow_exit_t){.client = env->client,
                            .plugin = env->plugin,
                            .flows = &l->flows,
                            .granularity_ms = c->interval.granularity_ms};
  return s;
}

/* Every range due of query per batch of FlowsPerQuery flows. */
static int flow_batches(const gf_flow_state_t *s, const gen_family_run_t *run,
                        gen_agg_query_t query) {
  if (!s->lists->listed)
    return 0;
  return gen_family_agg(
      run, &query, &s->lists->flows,
      gen_flow_agg_per_query((size_t)s->c->agg.flows_per_query), NULL);
}

/* The flow aggregates (the active flows are now, not history: the plugin
 * asks for them on its own). */
static int flows_collect(void *state, const gen_family_run_t *run) {
  gf_flow_state_t *s = state;
  return flow_batches(s, run, gen_flow_agg_query(&s->fa));
}

/* The flow exits: one more request a batch and range. */
static int exits_collect(void *state, const gen_family_run_t *run) {
  gf_flow_state_t *s = state;
  return flow_batches(s, run, gen_flow_exit_query(&s->fx));
}

/* ---- data actions ------------------------------------------------------- */

static void *actions_new(const gen_family_env_t *env) {
  const gf_config_t *c = env->config;
  const gf_lists_t *l = env->lists;
  gf_action_state_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->lists = l;
  s->aa = (gen_action_agg_t){
      .client = env->client,
      .plugin = env->plugin,
      .actions = &l->actions,
      .every = gen_entity_selects_all(&c->act.filter, env->client->org),
      .granularity_ms = c->interval.granularity_ms};
  return s;
}

/* Every range due, for every action in one request, or per batch of 100
 * selected ones. */
static int actions_collect(void *state, const gen_family_run_t *run) {
  gf_action_state_t *s = state;
  if (!s->lists->listed)
    return 0;
  gen_agg_query_t query = gen_action_agg_query(&s->aa);
  return gen_family_agg(run, &query, &s->lists->actions,
                        gen_action_agg_per_query(&s->aa), NULL);
}

/* ---- bots --------------------------------------------------------------- */

static void *bots_new(const gen_family_env_t *env) {
  const gf_config_t *c = env->config;
  gen_bot_agg_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  *s = (gen_bot_agg_t){.client = env->client,
                       .plugin = env->plugin,
                       .max_bots = (size_t)c->bots.max_bots,
                       .granularity_ms = c->interval.granularity_ms};
  return s;
}

/* Every range due, for every bot in one request (the query has no queue
 * and needs no listing). */
static int bots_collect(void *state, const gen_family_run_t *run) {
  gen_agg_query_t query = gen_bot_agg_query(state);
  return gen_family_agg(run, &query, NULL, 0, GEN_BOT_AGG_SCOPE);
}

/* ---- the table ---------------------------------------------------------- */

/* The answer bounds (gen_http_bound_t), from the largest request:
 * - flow aggregates: 100 flows (FlowsPerQuery) x 96 buckets
 *   (MaxBucketsPerQuery) x 12 metrics and outcomes x 90 B = 10 MB, a
 *   flow's outcomes and milestones beside; scanned by gen_jscan (about
 *   its text in memory): the default MaxResponseSize, 64 MiB.
 * - data actions: 100 actions x 96 buckets x 3 metrics x 90 B = 2.6 MB,
 *   x6: 16 MiB.
 * - bots: every bot in one answer, say 500 bots x 96 buckets x 6 metrics
 *   x 90 B = 26 MB: 64 MiB.
 * - flow exits: 100 flows x 96 buckets x 8 reasons and selfServed
 *   pairs x 90 B = 6.9 MB: 16 MiB. */
static const gen_family_t gf_rows[GF_ROWS] = {
    [GF_FLOWS] = {.name = "flow aggregates",
                  .suffix = "",
                  .answer = GEN_HTTP_BOUND(GEN_MIB(64), "flow aggregates"),
                  .on_at = offsetof(gf_config_t, agg.aggregates),
                  .state_new = flows_new,
                  .state_free = free,
                  .collect = flows_collect},
    [GF_ACTIONS] = {.name = "data actions",
                    .suffix = "-actions",
                    .answer = GEN_HTTP_BOUND(GEN_MIB(16), "data actions"),
                    .on_at = offsetof(gf_config_t, act.on),
                    .state_new = actions_new,
                    .state_free = free,
                    .collect = actions_collect},
    [GF_BOTS] = {.name = "bot aggregates",
                 .suffix = "-bots",
                 .answer = GEN_HTTP_BOUND(GEN_MIB(64), "bot aggregates"),
                 .on_at = offsetof(gf_config_t, bots.on),
                 .org_wide = true,
                 .state_new = bots_new,
                 .state_free = free,
                 .collect = bots_collect},
    [GF_EXITS] = {.name = "flow exits",
                  .suffix = "-exits",
                  .answer = GEN_HTTP_BOUND(GEN_MIB(16), "flow exits"),
                  .on_at = offsetof(gf_config_t, exits.on),
                  .state_new = flows_new,
                  .state_free = free,
                  .collect = exits_collect},
};

const gen_history_t gf_history = {.plugin = GF_PLUGIN_NAME,
                                  .stem = "flowmetrics",
                                  .org_key = gf_config_key,
                                  .config_size = sizeof(gf_config_t),
                                  .config_init = gf_config_init,
                                  .config_release = gf_config_release,
                                  .interval_at =
                                      offsetof(gf_config_t, interval),
                                  .lists_size = sizeof(gf_lists_t),
                                  .list = gf_list,
                                  .lists_free = gf_lists_free,
                                  .rows = gf_rows,
                                  .n_rows = GF_ROWS};
