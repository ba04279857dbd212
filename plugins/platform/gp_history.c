/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_platform's configuration and history table
 * (gp_history.h).
 */
#include "gp_history.h"

#include "gen_platform.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

/* ---- configuration ------------------------------------------------------ */

void gp_config_init(void *config) {
  gp_config_t *c = config;
  gen_config_parts_defaults(gp_keys, GP_KEYS, c);
}

void gp_config_release(void *config) {
  gp_config_t *c = config;
  gen_entity_filter_free(&c->edges_filter);
  gen_entity_filter_free(&c->trunks_filter);
  free(c->status_url);
  gen_config_string_list_free(c->components, c->n_components);
  gen_config_string_list_free(c->groups, c->n_groups);
  gen_opev_config_release(&c->events);
  gen_interval_config_release(&c->events_interval);
}

static int gp_trunk_type(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_def_t *def, void *field) {
  const char **trunk_type = field;
  /* The API's spellings (static), and "all": no trunkType= at all. */
  static const char *const types[] = {"EXTERNAL", "PHONE", "EDGE", "all"};
  char *value = NULL;
  int status = gen_config_string(org, ci, &value);
  if (status != 0)
    return status;
  status = -EINVAL;
  for (size_t i = 0; status != 0 && i < STATIC_ARRAY_SIZE(types); i++) {
    if (strcasecmp(value, types[i]) == 0) {
      *trunk_type = strcmp(types[i], "all") != 0 ? types[i] : NULL;
      status = 0;
    }
  }
  free(value);
  if (status != 0)
    gen_config_error(org, ci,
                     "not a trunk type (EXTERNAL, PHONE, EDGE or all)");
  return status;
}

static const gen_config_def_t gp_defs[] = {
    GEN_KEY_FILTER("Edge", "edges", gp_config_t, edges_filter),
    GEN_KEY_FILTER("Trunk", "trunks", gp_config_t, trunks_filter),
    GEN_KEY_BOOL("Edges", gp_config_t, edges, true, "edge state and metrics"),
    GEN_KEY_BOOL("Trunks", gp_config_t, trunks, true, "trunk state and calls"),
    GEN_KEY_PARSE_TEXT("TrunkType", GEN_CFG_ENUM, gp_config_t, trunk_type,
                       gp_trunk_type, "EXTERNAL",
                       "EXTERNAL, PHONE, EDGE or all", "the trunk type listed"),
    GEN_KEY_BOOL("CloudMediaEdges", gp_config_t, cloud_media, false,
                 "list the cloud-media edges as well"),
    GEN_KEY_STRINGS("StatusGroup", gp_config_t, groups, n_groups,
                    "the status page groups to take (the region's)"),
    GEN_KEY_BOOL("StatusPage", gp_config_t, status_page, true,
                 "the status page components"),
    {"StatusPageURL", GEN_CFG_URL, offsetof(gp_config_t, status_url),
     .shown = GEN_PF_STATUS_URL, .text_default = true,
     .doc = "the Statuspage document"},
    GEN_KEY_STRINGS("StatusComponent", gp_config_t, components, n_components,
                    "the components to take (every one by default)"),
    GEN_KEY_BOOL("RateLimitAggregates", gp_config_t, rate_limits, false,
                 "the rate limits recorded near their maximum, per interval"),
};
static const gen_config_table_t gp_table = GEN_CONFIG_TABLE(gp_defs);

const gen_config_part_t gp_keys[GP_KEYS] = {
    {&gp_table, 0},
    {&gen_au_keys, offsetof(gp_config_t, usage)},
    {&gen_opev_keys, offsetof(gp_config_t, events)},
};

int gp_config_key(gen_org_t *org, const oconfig_item_t *ci, void *config) {
  return gen_config_parts_key(org, ci, gp_keys, GP_KEYS, config);
}

void gp_config_done(void *config) {
  gp_config_t *c = config;
  gen_interval_config_release(&c->events_interval);
  gen_opev_interval(&c->events, &c->events_interval);
}

/* ---- operational events ------------------------------------------------- */

static void *events_new(const gen_family_env_t *env) {
  const gp_config_t *c = env->config;
  return gen_opev_new(env->client, env->plugin, &c->events, env->who);
}

/* ---- API usage ---------------------------------------------------------- */

typedef struct {
  const gp_config_t *c;
  gen_client_t *client;
  const char *plugin;
  gen_au_t au;
} gp_usage_state_t;

static int64_t usage_granularity(const void *config) { return GEN_AU_DAY_MS; }

static void *usage_new(const gen_family_env_t *env) {
  gp_usage_state_t *s = calloc(1, sizeof(*s));
  if (s != NULL)
    *s = (gp_usage_state_t){
        .c = env->config, .client = env->client, .plugin = env->plugin};
  return s;
}

static void usage_free(void *state) {
  gp_usage_state_t *s = state;
  if (s == NULL)
    return;
  gen_au_free(&s->au);
  free(s);
}

/* A read: the last complete day (gen_au_read); a replay: every day of its
 * window, each job read to its end. */
static int usage_collect(void *state, const gen_family_run_t *run) {
  gp_usage_state_t *s = state;
  if (!run->replay) {
    gen_au_read(&s->au, s->client, &s->c->usage, s->plugin);
    return 0;
  }
  int status = 0;
  for (int64_t day = run->from_ms; status == 0 && day < run->at_ms;
       day += GEN_AU_DAY_MS) {
    uint64_t before = s->au.requests;
    status = gen_au_replay_day(&s->au, s->client, &s->c->usage, day, s->plugin);
    run->counts->queries += s->au.requests - before;
  }
  return status;
}

/* ---- rate limits -------------------------------------------------------- */

static void *rate_limits_new(const gen_family_env_t *env) {
  const gp_config_t *c = env->config;
  gen_rl_agg_t *s = calloc(1, sizeof(*s));
  if (s != NULL)
    *s = (gen_rl_agg_t){.client = env->client,
                        .plugin = env->plugin,
                        .granularity_ms = c->events_interval.granularity_ms};
  return s;
}

/* Every range due, for every limit in one request (no listing). */
static int rate_limits_collect(void *state, const gen_family_run_t *run) {
  gen_agg_query_t query = gen_rl_agg_query(state);
  return gen_family_agg(run, &query, NULL, 0, GEN_RL_AGG_SCOPE);
}

/* The answer bounds (gen_http_bound_t):
 * - operational events: the definitions listing (some 500 definitions x
 *   1 KB) and one bucket's aggregates (a count per definition, 150 B
 *   each): under 1 MB, x8: 8 MiB.
 * - API usage: a results page of 1,000 rows (pageSize "Max is 1000") x
 *   300 B = 300 KB, x13: 4 MiB.
 * - rate limits: one bucket of every limit, some 200 limit names x 150 B
 *   = 30 KB: 1 MiB. */
static const gen_family_t gp_rows[GP_ROWS] = {
    [GP_EVENTS] = {.name = "operational events",
                   .suffix = "-events",
                   .answer = GEN_HTTP_BOUND(GEN_MIB(8), "operational events"),
                   .keep_ms = GEN_OPEV_RETENTION_S * 1000LL,
                   .replay_buckets = 1,
                   .on_at = offsetof(gp_config_t, events.enabled),
                   .state_new = events_new,
                   .state_free = gen_opev_free,
                   .collect = gen_opev_collect},
    [GP_USAGE] = {.name = "api usage",
                  .suffix = "-usage",
                  .answer = GEN_HTTP_BOUND(GEN_MIB(4), "api usage"),
                  .replay_buckets = 1,
                  .own_state = true,
                  .on_at = offsetof(gp_config_t, usage.enabled),
                  .granularity_ms = usage_granularity,
                  .state_new = usage_new,
                  .state_free = usage_free,
                  .collect = usage_collect},
    [GP_RATELIMITS] = {.name = "rate-limit aggregates",
                       .suffix = "-ratelimits",
                       .answer =
                           GEN_HTTP_BOUND(GEN_MIB(1), "rate-limit aggregates"),
                       .on_at = offsetof(gp_config_t, rate_limits),
                       .org_wide = true,
                       .state_new = rate_limits_new,
                       .state_free = free,
                       .collect = rate_limits_collect},
};

const gen_history_t gp_history = {.plugin = GP_PLUGIN_NAME,
                                  .stem = GP_PLUGIN_NAME,
                                  .org_key = gp_config_key,
                                  .config_size = sizeof(gp_config_t),
                                  .config_init = gp_config_init,
                                  .config_release = gp_config_release,
                                  .config_done = gp_config_done,
                                  .interval_at =
                                      offsetof(gp_config_t, events_interval),
                                  /* no listing: the events list their
                                   * definitions when a bucket is due */
                                  .rows = gp_rows,
                                  .n_rows = GP_ROWS};
