/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_analytics's history as a table (ga_history.h).
 */
#include "ga_history.h"

#include "gen_conv_agg.h"
#include "gen_log.h"

#include <errno.h>
#include <stdlib.h>

/* ---- configuration ------------------------------------------------------ */

void ga_config_init(void *config) {
  ga_config_t *c = config;
  gen_config_parts_defaults(ga_keys, GA_KEYS, c);
}

void ga_config_release(void *config) {
  ga_config_t *c = config;
  gen_entity_filter_free(&c->filter);
  gen_interval_config_release(&c->interval);
}

static const gen_config_def_t ga_defs[] = {
    GEN_KEY_FILTER("Queue", "queues", ga_config_t, filter),
    GEN_KEY_DIVISIONS("queues", ga_config_t, filter),
    GEN_KEY_SECONDS("QueueRefreshInterval", ga_config_t, refresh_interval, 0,
                    86400, 600, "how often the queue list is read (0: once)"),
};
static const gen_config_table_t ga_table = GEN_CONFIG_TABLE(ga_defs);

const gen_config_part_t ga_keys[GA_KEYS] = {
    {&ga_table, 0},
    {&gen_queue_agg_keys, offsetof(ga_config_t, qa)},
    {&gen_interval_keys_revisiting, offsetof(ga_config_t, interval)},
    {&gen_mos_keys, offsetof(ga_config_t, mos)},
    {&gen_agent_status_keys, offsetof(ga_config_t, agents)},
    {&gen_campaign_agg_keys, offsetof(ga_config_t, campaigns)},
    {&gen_resolution_agg_keys, offsetof(ga_config_t, resolutions)},
    {&gen_speech_agg_keys, offsetof(ga_config_t, speech)},
    {&gen_workitem_agg_keys, offsetof(ga_config_t, workitems)},
};

int ga_config_key(gen_org_t *org, const oconfig_item_t *ci, void *config) {
  return gen_config_parts_key(org, ci, ga_keys, GA_KEYS, config);
}

void ga_config_done(void *config) {
  gen_queue_agg_config_done(&((ga_config_t *)config)->qa);
}

/* ---- listings ----------------------------------------------------------- */

/* The org's users (this shard's share with Shard i/n), deactivated ones
 * too: their past time is in the buckets the revisit window asks for
 * again, and without them a revisited bucket would lower the counters. A
 * user listed before and gone now (deleted) is kept for the same reason.
 * On failure the previous list stays. */
static void list_users(gen_client_t *client, ga_lists_t *l,
                       gen_ratelimit_t *complain) {
  gen_entity_set_t users = {0};
  char err[512];
  int listed = gen_agent_status_list_users(client->http, client->org, &l->users,
                                           &users, err, sizeof(err));
  if (listed != 0)
    gen_org_log(client->org, complain, LOG_ERR,
                "cannot list users (agent time in status waits for the next "
                "listing): %s",
                err);
  else if (!gen_entity_set_same(&users, &l->users))
    l->users_generation++;
  gen_entity_set_replace(&l->users, &users, listed == 0);
  l->users_listed |= listed == 0;
}

/* The outbound campaigns (CampaignAggregates); on failure the previous
 * list stays and the queues run. */
static void list_campaigns(gen_client_t *client, ga_lists_t *l,
                           gen_ratelimit_t *complain) {
  gen_entity_set_t fresh = {0};
  char err[512];
  int status =
      gen_entity_list(client->http, client->org, GEN_CAMPAIGN_LIST_PATH, NULL,
                      &fresh, err, sizeof(err));
  if (!gen_client_family(client, "campaign aggregates", status, err,
                         "the queue values") &&
      status != 0)
    gen_org_log(client->org, complain, LOG_ERR,
                "cannot list outbound campaigns (their aggregates wait for "
                "the next listing): %s",
                err);
  l->campaigns_listed |= status == 0;
  gen_entity_set_replace(&l->campaigns, &fresh, status == 0);
}

/* What is monitored, at start and after every change of it. */
static void describe(const ga_config_t *c, gen_client_t *client,
                     const ga_lists_t *l, size_t queues) {
  size_t measures = 0;
  for (size_t m = 0; m < GEN_CONV_AGG_METRICS; m++)
    measures += c->qa.metric_on[m];
  char agents[64] = "off", mos[160] = "off";
  if (c->agents.on)
    snprintf(agents, sizeof(agents), "on %zu users", l->users.count);
  if (c->mos.on)
    gen_mos_describe(&c->mos, queues, (size_t)c->qa.queues_per_query, mos,
                     sizeof(mos));
  gen_org_log(client->org, NULL, LOG_INFO,
              "%zu queues, %zu measures, buckets of %lld s, agent status "
              "%s, call quality %s",
              queues, measures, (long long)(c->interval.granularity_ms / 1000),
              agents, mos);
}

int ga_list(const void *config, gen_client_t *client, void *lists,
            gen_ratelimit_t *complain) {
  const ga_config_t *c = config;
  ga_lists_t *l = lists;
  gen_entity_set_t fresh = {0};
  char err[512];
  int status =
      gen_entity_list(client->http, client->org, "/api/v2/routing/queues",
                      &c->filter, &fresh, err, sizeof(err));
  if (status == 0 && c->qa.by_wrapup) {
    gen_entity_set_t codes = {0};
    char why[512];
    int listed = gen_entity_list(client->http, client->org,
                                 "/api/v2/routing/wrapupcodes", NULL, &codes,
                                 why, sizeof(why));
    if (listed != 0)
      gen_org_log(
          client->org, complain, LOG_WARNING,
          "cannot list wrap-up codes (ids are used instead of names): %s", why);
    gen_entity_set_replace(&l->wrapups, &codes, listed == 0);
  }
  if (status == 0 && c->agents.on)
    list_users(client, l, complain);
  if (status == 0 && c->campaigns.on)
    list_campaigns(client, l, complain);
  if (status != 0) {
    gen_org_log(client->org, complain, LOG_ERR, "cannot list queues: %s", err);
    gen_entity_set_free(&fresh);
    return status;
  }
  if (fresh.count == 0)
    gen_org_log(client->org, NULL, LOG_WARNING,
                "no queue matches the selection");
  if (!l->listed || !gen_entity_set_same(&fresh, &l->queues)) {
    l->queues_generation++;
    describe(c, client, l, fresh.count);
  }
  gen_entity_set_replace(&l->queues, &fresh, true);
  l->listed = true;
  return 0;
}

void ga_lists_free(void *lists) {
  ga_lists_t *l = lists;
  gen_entity_set_free(&l->queues);
  gen_entity_set_free(&l->wrapups);
  gen_entity_set_free(&l->users);
  gen_entity_set_free(&l->campaigns);
}

/* ---- queue aggregates --------------------------------------------------- */

static bool queues_on(const void *config) {
  const ga_config_t *c = config;
  return gen_queue_agg_on(&c->qa, false) || gen_queue_agg_on(&c->qa, true);
}

static void *queues_new(const gen_family_env_t *env) {
  const ga_config_t *c = env->config;
  ga_lists_t *l = env->lists;
  ga_queue_state_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->c = c;
  s->lists = l;
  s->qa = (gen_queue_agg_t){
      &c->qa,      env->client->org,           gen_client_host(env->client),
      env->plugin, c->interval.granularity_ms, &l->queues,
      &l->wrapups};
  return s;
}

/* Every range due per batch of QueuesPerQuery queues, then the metrics
 * attributed to no queue, per media type of the whole org, under the scope
 * GEN_QUEUE_AGG_ORG_SCOPE (with Shard i/n the first shard asks: each would
 * count the whole org). The first failure ends the run (no hammering). */
static int queues_collect(void *state, const gen_family_run_t *run) {
  ga_queue_state_t *s = state;
  if (!s->lists->listed)
    return 0;
  int status = 0;
  if (gen_queue_agg_on(&s->c->qa, false)) {
    gen_agg_query_t query = gen_queue_agg_query(&s->qa, false);
    query.still = s->c->agents.on ? "agent status" : "nothing";
    status = gen_family_agg(run, &query, &s->lists->queues,
                            (size_t)s->c->qa.queues_per_query, NULL);
  }
  if (status == 0 && run->client->org->shard_index == 0 &&
      gen_queue_agg_on(&s->c->qa, true)) {
    gen_agg_query_t query = gen_queue_agg_query(&s->qa, true);
    query.still = "queue aggregates";
    status = gen_family_agg(run, &query, NULL, 0, GEN_QUEUE_AGG_ORG_SCOPE);
  }
  return status;
}

/* ---- agent time in status ----------------------------------------------- */

/* AgentStatusGranularity: the agent engine's buckets, its own state. */
static int64_t agents_granularity(const void *config) {
  return ((const ga_config_t *)config)->agents.granularity_ms;
}

static void *agents_new(const gen_family_env_t *env) {
  const ga_config_t *c = env->config;
  const ga_lists_t *l = env->lists;
  ga_agent_state_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->lists = l;
  int64_t g = c->agents.granularity_ms > 0 ? c->agents.granularity_ms
                                           : c->interval.granularity_ms;
  s->reading = (gen_agent_reading_t){
      .users = &l->users, .granularity_ms = g, .scope = GA_AGENT_SCOPE};
  gen_agent_output_init(&s->out, env->client->org, gen_client_host(env->client),
                        env->plugin, g);
  return s;
}

static void agents_free(void *state) {
  ga_agent_state_t *s = state;
  if (s == NULL)
    return;
  gen_agent_progress_reset(&s->reading.progress);
  free(s);
}

/* Every range due for the agent scope, at the pace of
 * GEN_AGENT_STATUS_REQUESTS_PER_MINUTE: a large org's range over several
 * reads (a replay reads each whole). */
static int agents_collect(void *state, const gen_family_run_t *run) {
  ga_agent_state_t *s = state;
  if (!s->lists->users_listed && run->replay) {
    gen_log_org(run->counts->who, NULL, LOG_ERR,
                "agent status: the users could not be listed");
    return -ENOENT;
  }
  if (!s->lists->users_listed)
    return 0; /* the next listing */
  gen_interval_sink_t sink =
      gen_family_sink(run, gen_agent_status_sink(&s->out));
  return gen_agent_status_collect(&s->reading, run, &sink,
                                  s->lists->users_generation);
}

/* ---- call quality ------------------------------------------------------- */

typedef struct {
  const ga_config_t *c;
  const ga_lists_t *lists;
  gen_mos_output_t out;
  /* The range being read, over as many reads as its budget takes, and the
   * batch the next read begins with. */
  gen_mos_reading_t reading;
} ga_mos_state_t;

static gen_interval_t *mos_engine(const gen_family_env_t *env,
                                  const gen_interval_config_t *interval) {
  const ga_config_t *c = env->config;
  return gen_mos_engine(env->client->org, &c->mos, interval, "analytics",
                        env->who);
}

static void *mos_new(const gen_family_env_t *env) {
  const ga_config_t *c = env->config;
  ga_mos_state_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->c = c;
  s->lists = env->lists;
  s->reading = (gen_mos_reading_t){
      .config = &c->mos, .granularity_ms = c->interval.granularity_ms};
  s->out = (gen_mos_output_t){&c->mos,          gen_client_host(env->client),
                              env->plugin,      c->interval.granularity_ms,
                              env->client->org, &s->lists->queues};
  return s;
}

static void mos_free(void *state) {
  ga_mos_state_t *s = state;
  if (s == NULL)
    return;
  gen_mos_progress_reset(&s->reading.progress);
  free(s);
}

/* Every range due per batch of queues, at the pace of
 * GEN_MOS_REQUESTS_PER_MINUTE: a large org's range over several reads,
 * resumed where a failed request stopped (a replay reads each whole). */
static int mos_collect(void *state, const gen_family_run_t *run) {
  ga_mos_state_t *s = state;
  if (!s->lists->listed)
    return 0;
  gen_interval_sink_t sink = gen_family_sink(run, gen_mos_sink(&s->out));
  return gen_mos_collect(&s->reading, run, &sink, &s->lists->queues,
                         (size_t)s->c->qa.queues_per_query,
                         s->lists->queues_generation);
}

/* ---- campaign aggregates ----------------------------------------------- */

static void *campaigns_new(const gen_family_env_t *env) {
  const ga_config_t *c = env->config;
  const ga_lists_t *l = env->lists;
  ga_campaign_state_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->lists = l;
  s->ca = (gen_campaign_agg_t){.org = env->client->org,
                               .host = gen_client_host(env->client),
                               .plugin = env->plugin,
                               .granularity_ms = c->interval.granularity_ms,
                               .campaigns = &l->campaigns};
  return s;
}

/* Every range due per batch of GEN_CAMPAIGN_AGG_PER_QUERY campaigns. */
static int campaigns_collect(void *state, const gen_family_run_t *run) {
  ga_campaign_state_t *s = state;
  if (!s->lists->campaigns_listed && run->replay) {
    gen_log_org(run->counts->who, NULL, LOG_ERR,
                "campaign aggregates: the campaigns could not be listed");
    return -ENOENT;
  }
  if (!s->lists->campaigns_listed || s->lists->campaigns.count == 0)
    return 0; /* the next listing */
  gen_agg_query_t query = gen_campaign_agg_query(&s->ca);
  return gen_family_agg(run, &query, &s->lists->campaigns,
                        GEN_CAMPAIGN_AGG_PER_QUERY, NULL);
}

/* ---- resolution aggregates --------------------------------------------- */

static int64_t resolutions_granularity(const void *config) {
  (void)config;
  return GEN_RESOLUTION_DAY_MS;
}

static gen_interval_t *resolutions_engine(const gen_family_env_t *env,
                                          const gen_interval_config_t *ic) {
  return gen_resolution_agg_engine(env->client->org, ic, "analytics", env->who);
}

/* The queues a per-queue row names its series by, as the queue
 * aggregates do. */
static gen_queue_media_t queue_media(const gen_family_env_t *env) {
  const ga_lists_t *l = env->lists;
  return (gen_queue_media_t){.org = env->client->org,
                             .host = gen_client_host(env->client),
                             .plugin = env->plugin,
                             .queues = &l->queues};
}

/* Every bucket due of a per-queue row's query, per batch of
 * QueuesPerQuery queues, once the queues are listed. */
static int queue_rows_collect(const ga_lists_t *l, const ga_config_t *c,
                              const gen_family_run_t *run,
                              gen_agg_query_t *query) {
  if (!l->listed)
    return 0;
  return gen_family_agg(run, query, &l->queues, (size_t)c->qa.queues_per_query,
                        NULL);
}

/* A per-queue row's state: the queues as the queue aggregates name them. */
static void *queue_row_new(const gen_family_env_t *env) {
  ga_queue_row_state_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->lists = env->lists;
  s->c = env->config;
  s->row = (gen_queue_row_t){.qm = queue_media(env),
                             .granularity_ms = s->c->interval.granularity_ms};
  return s;
}

/* Every day due per batch of QueuesPerQuery queues: the new day and the
 * revisits of the 16 days before. */
static int resolutions_collect(void *state, const gen_family_run_t *run) {
  ga_queue_row_state_t *s = state;
  gen_agg_query_t query = gen_resolution_agg_query(&s->row);
  return queue_rows_collect(s->lists, s->c, run, &query);
}

/* ---- speech and text analytics ------------------------------------------ */

static gen_interval_t *speech_engine(const gen_family_env_t *env,
                                     const gen_interval_config_t *ic) {
  return gen_speech_agg_engine(env->client->org, ic, "analytics", env->who);
}

/* Every bucket due per batch of QueuesPerQuery queues: the new one and the
 * revisits of the 73 hours before. */
static int speech_collect(void *state, const gen_family_run_t *run) {
  ga_queue_row_state_t *s = state;
  gen_agg_query_t query = gen_speech_agg_query(&s->row);
  return queue_rows_collect(s->lists, s->c, run, &query);
}

/* ---- workitem aggregates ------------------------------------------------ */

/* Every range due per batch of QueuesPerQuery queues, on the plugin's
 * interval engine (SettleDelay, RevisitAt). */
static int workitems_collect(void *state, const gen_family_run_t *run) {
  ga_queue_row_state_t *s = state;
  gen_agg_query_t query = gen_workitem_agg_query(&s->row);
  return queue_rows_collect(s->lists, s->c, run, &query);
}

/* ---- the table ---------------------------------------------------------- */

/* The answer bounds (gen_http_bound_t), from the largest request:
 * - queue aggregates: 100 queues (QueuesPerQuery) x 6 media x 96 buckets
 *   (MaxBucketsPerQuery) x 25 metrics x 90 B = 130 MB were every bucket
 *   full; answers hold only buckets with data and are scanned by gen_jscan
 *   (about their text in memory): the default MaxResponseSize, 64 MiB.
 * - agent status: 100 users x 15 statuses (5 routing, up to 10 presences)
 *   x 96 buckets x 70 B = 10 MB, x3: 32 MiB.
 * - call quality: a details page (GEN_FAMILY_DETAILS_ANSWER).
 * - campaign aggregates: 100 campaigns x 96 buckets x 3 metrics x 90 B =
 *   2.6 MB, x6: 16 MiB.
 * - resolution aggregates: 100 queues x 9 media x 96 days x 1 metric x
 *   90 B = 7.8 MB, x2: 16 MiB.
 * - speech and text analytics: 100 queues x 4 media x 96 buckets x 6
 *   metrics x 100 B = 23 MB: 64 MiB.
 * - workitem aggregates: 100 queues x 96 buckets x 7 metrics x 100 B =
 *   6.7 MB, x2: 16 MiB. */
static const gen_family_t ga_rows[GA_ROWS] = {
    [GA_QUEUES] = {.name = "queue aggregates",
                   .suffix = "",
                   .answer = GEN_HTTP_BOUND(GEN_MIB(64), "queue aggregates"),
                   .on = queues_on,
                   .state_new = queues_new,
                   .state_free = free,
                   .collect = queues_collect},
    [GA_AGENTS] = {.name = "agent status",
                   .suffix = "-agents",
                   .answer = GEN_HTTP_BOUND(GEN_MIB(32), "agent status"),
                   .per_minute = GEN_AGENT_STATUS_REQUESTS_PER_MINUTE,
                   .on_at = offsetof(ga_config_t, agents.on),
                   .granularity_ms = agents_granularity,
                   .state_new = agents_new,
                   .state_free = agents_free,
                   .collect = agents_collect},
    [GA_MOS] = {.name = "call quality",
                .answer = GEN_FAMILY_DETAILS_ANSWER,
                .per_minute = GEN_MOS_REQUESTS_PER_MINUTE,
                .on_at = offsetof(ga_config_t, mos.on),
                .engine = mos_engine,
                .state_new = mos_new,
                .state_free = mos_free,
                .collect = mos_collect},
    [GA_CAMPAIGNS] = {.name = "campaign aggregates",
                      .suffix = "-campaigns",
                      .answer =
                          GEN_HTTP_BOUND(GEN_MIB(16), "campaign aggregates"),
                      .on_at = offsetof(ga_config_t, campaigns.on),
                      .state_new = campaigns_new,
                      .state_free = free,
                      .collect = campaigns_collect},
    [GA_RESOLUTIONS] = {.name = "resolution aggregates",
                        .suffix = "-resolutions",
                        .answer = GEN_HTTP_BOUND(GEN_MIB(16),
                                                 "resolution aggregates"),
                        .per_minute = GEN_RESOLUTION_REQUESTS_PER_MINUTE,
                        .on_at = offsetof(ga_config_t, resolutions.on),
                        .granularity_ms = resolutions_granularity,
                        .engine = resolutions_engine,
                        .state_new = queue_row_new,
                        .state_free = free,
                        .collect = resolutions_collect},
    [GA_SPEECH] = {.name = "speech and text analytics",
                   .suffix = "-speech",
                   .answer =
                       GEN_HTTP_BOUND(GEN_MIB(64), "speech and text analytics"),
                   .per_minute = GEN_SPEECH_REQUESTS_PER_MINUTE,
                   .on_at = offsetof(ga_config_t, speech.on),
                   .engine = speech_engine,
                   .state_new = queue_row_new,
                   .state_free = free,
                   .collect = speech_collect},
    [GA_WORKITEMS] = {.name = "workitem aggregates",
                      .suffix = "-workitems",
                      .answer =
                          GEN_HTTP_BOUND(GEN_MIB(16), "workitem aggregates"),
                      .on_at = offsetof(ga_config_t, workitems.on),
                      .state_new = queue_row_new,
                      .state_free = free,
                      .collect = workitems_collect},
};

const gen_history_t ga_history = {.plugin = GA_PLUGIN_NAME,
                                  .stem = "analytics",
                                  .org_key = ga_config_key,
                                  .config_size = sizeof(ga_config_t),
                                  .config_init = ga_config_init,
                                  .config_release = ga_config_release,
                                  .config_done = ga_config_done,
                                  .interval_at =
                                      offsetof(ga_config_t, interval),
                                  .lists_size = sizeof(ga_lists_t),
                                  .list = ga_list,
                                  .lists_free = ga_lists_free,
                                  .rows = ga_rows,
                                  .n_rows = GA_ROWS};
