/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_analytics, per-interval queue performance from
 * the conversation aggregates query, with backfill.
 *
 * How did each queue do in each interval? Each <Org> block selects queues
 * (ids, name patterns, divisions, shard). Every cycle, for every batch of
 * queues (QueuesPerQuery queueId predicates), one
 * POST /api/v2/analytics/conversations/aggregates/query asks for every
 * bucket of the granularity that has closed and settled since the last one
 * done, together with the recent buckets of the revisit window: one interval
 * range with a granularity, not one request per bucket. The closed-interval
 * engine (gen_interval) decides the range, dispatches each bucket once at
 * its end time, re-dispatches a changed bucket, keeps the counters (DERIVE,
 * moved by differences only) and the state file that makes restarts and
 * outages lose nothing.
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_agent_status.h"
#include "gen_aggregates.h"
#include "gen_buf.h"
#include "gen_client.h"
#include "gen_conv_agg.h"
#include "gen_entity.h"
#include "gen_interval.h"
#include "gen_interval_config.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_mos.h"
#include "gen_names.h"
#include "gen_plugin.h"
#include "gen_queue_agg.h"
#include "gen_state.h"
#include "gen_time.h"

#include <strings.h>

#define PLUGIN_NAME "genesys_analytics"
/* Ranges asked for per batch and read, so that a long backfill does not
 * hold collectd's read thread; the rest follows in the next reads. */
#define GA_RANGES_PER_READ 8

/* Agent time in status (AgentStatus true): the users aggregates query
 * (gen_agent_status), one series per status, never per user: org-wide (or
 * per shard), so cardinality is the number of statuses. */
#define GA_AGENT_SCOPE "agents"

typedef struct {
  gen_entity_filter_t filter;
  gen_queue_agg_config_t qa; /* MediaType, Metric, GroupBy, QueuesPerQuery */
  gen_agent_status_config_t agents; /* AgentStatus, its granularity */
  gen_mos_config_t mos;             /* CallQuality, MosBounds, … */
  gen_interval_config_t interval;   /* Granularity, SettleDelay, … */
  cdtime_t refresh_interval;
} ga_config_t;

typedef struct {
  gen_client_t *client;
  ga_config_t config;
  gen_interval_t *engine;
  gen_interval_t *agent_engine; /* AgentStatus: its own progress and state */
  gen_interval_t *mos_engine;   /* CallQuality: the same */
  gen_mos_output_t mos_out;
  gen_mos_queues_t mos_queues; /* names the queues of mos_out */
  /* CallQuality's range being read, over as many reads as its budget
   * takes, and the batch the next read begins with. */
  gen_mos_progress_t mos_progress;
  gen_entity_set_t queues;
  /* Moves whenever queues changes: a range in progress over the old batches
   * starts afresh. */
  uint64_t queues_generation;
  gen_entity_set_t users; /* AgentStatus: the users whose time is summed */
  bool users_listed;
  /* Moves whenever users changes: a range begun over the old list starts
   * afresh. */
  uint64_t users_generation;
  /* The agent range being read, over as many reads as its budget takes. */
  gen_agent_progress_t agent_progress;
  int64_t agent_granularity_ms; /* the users query's bucket length */
  gen_agent_output_t agent_out; /* where the agent values go */
  bool agent_refusal_logged;    /* a 400 of the users query, logged once */
  gen_entity_set_t wrapups;     /* id -> name, with GroupBy wrapUpCode */
  gen_queue_agg_t qa;           /* the queue aggregates (gen_queue_agg) */
  cdtime_t listed_at;
  gen_agg_counts_t counts; /* queries, failures */
  gen_log_org_t who;       /* whose lines: the modules' and ours */
  gen_ratelimit_t complain;
} ga_instance_t;

/* ---- configuration ------------------------------------------------------ */

static void ga_config_init(void *config) {
  ga_config_t *c = config;
  gen_interval_config_init(&c->interval);
  gen_mos_config_init(&c->mos);
  c->refresh_interval = TIME_T_TO_CDTIME_T(600);
  gen_queue_agg_config_init(&c->qa);
}

static void ga_config_release(void *config) {
  ga_config_t *c = config;
  gen_entity_filter_free(&c->filter);
  gen_interval_config_release(&c->interval);
}

static const gen_config_def_t ga_defs[] = {
    GEN_KEY_FILTER("Queue", "queues", ga_config_t, filter),
    GEN_KEY_DIVISIONS("queues", ga_config_t, filter),
    GEN_KEY_SECONDS("QueueRefreshInterval", ga_config_t, refresh_interval, 0,
                    86400, "600", "how often the queue list is read (0: once)"),
};
static const gen_config_table_t ga_table = GEN_CONFIG_TABLE(ga_defs);

static const gen_config_part_t ga_keys[] = {
    {&ga_table, 0},
    {&gen_queue_agg_keys, offsetof(ga_config_t, qa)},
    {&gen_interval_keys, offsetof(ga_config_t, interval)},
    {&gen_mos_keys, offsetof(ga_config_t, mos)},
    {&gen_agent_status_keys, offsetof(ga_config_t, agents)},
};

static int ga_config_key(gen_org_t *org, const oconfig_item_t *ci,
                         void *config) {
  return gen_config_parts_key(org, ci, ga_keys, STATIC_ARRAY_SIZE(ga_keys),
                              config);
}

/* ---- collection ----------------------------------------------------------
 */

static int refresh_lists(ga_instance_t *inst) {
  gen_entity_set_t fresh = {0};
  char err[512];
  int status = gen_entity_list(inst->client->http, inst->client->org,
                               "/api/v2/routing/queues", &inst->config.filter,
                               &fresh, err, sizeof(err));
  if (status == 0 && inst->config.qa.by_wrapup) {
    gen_entity_set_t codes = {0};
    if (gen_entity_list(inst->client->http, inst->client->org,
                        "/api/v2/routing/wrapupcodes", NULL, &codes, err,
                        sizeof(err)) == 0) {
      gen_entity_set_replace(&inst->wrapups, &codes, true);
    } else {
      gen_entity_set_free(&codes);
      gen_org_log(
          inst->client->org, &inst->complain, LOG_WARNING,
          "cannot list wrap-up codes (ids are used instead of names): %s", err);
    }
  }
  if (status == 0 && inst->config.agents.on) {
    /* The org's users (this shard's share with Shard i/n), deactivated ones
     * too: their past time is in the buckets the revisit window asks for
     * again, and without them a revisited bucket would lower the counters.
     * A user listed before and gone now (deleted) is kept for the same
     * reason. On failure the previous list stays. */
    gen_entity_set_t users = {0};
    int listed = gen_agent_status_list_users(
        inst->client->http, inst->client->org, &users, err, sizeof(err));
    for (size_t i = 0; listed == 0 && i < inst->users.count; i++) {
      const gen_entity_t *u = &inst->users.items[i];
      if (gen_entity_find(&users, u->id) < 0 &&
          gen_entity_add(&users, u->id, NULL, NULL) < 0)
        listed = -ENOMEM;
    }
    if (listed == 0) {
      if (!gen_entity_set_same(&users, &inst->users))
        inst->users_generation++;
      gen_entity_set_replace(&inst->users, &users, true);
      inst->users_listed = true;
    } else {
      gen_entity_set_free(&users);
      gen_org_log(inst->client->org, &inst->complain, LOG_ERR,
                  "cannot list users (agent time in status waits for the next "
                  "listing): %s",
                  err);
    }
  }
  if (status != 0) {
    gen_org_log(inst->client->org, &inst->complain, LOG_ERR,
                "cannot list queues: %s", err);
    gen_entity_set_free(&fresh);
    return status;
  }
  if (fresh.count == 0)
    gen_org_log(inst->client->org, NULL, LOG_WARNING,
                "no queue matches the selection");
  if (inst->listed_at == 0 || !gen_entity_set_same(&fresh, &inst->queues)) {
    inst->queues_generation++;
    /* What is monitored, at start and after every change of it. */
    size_t measures = 0;
    for (size_t m = 0; m < GEN_CONV_AGG_METRICS; m++)
      measures += inst->config.qa.metric_on[m];
    char agents[64] = "off", mos[160] = "off";
    if (inst->config.agents.on)
      snprintf(agents, sizeof(agents), "on %zu users", inst->users.count);
    if (inst->config.mos.on)
      gen_mos_describe(&inst->config.mos, fresh.count,
                       (size_t)inst->config.qa.queues_per_query, mos,
                       sizeof(mos));
    gen_org_log(inst->client->org, NULL, LOG_INFO,
                "%zu queues, %zu measures, buckets of %lld s, agent status "
                "%s, call quality %s",
                fresh.count, measures,
                (long long)(inst->config.interval.granularity_ms / 1000),
                agents, mos);
  }
  gen_entity_set_replace(&inst->queues, &fresh, true);
  inst->listed_at = cdtime();
  return 0;
}

/* The conversation aggregates endpoint and how its answer is read. */
static gen_agg_query_t queue_query(ga_instance_t *inst) {
  gen_agg_query_t q = gen_queue_agg_query(&inst->qa, false);
  q.still = inst->config.agents.on ? "agent status" : "nothing";
  return q;
}

/* Asks for and takes every range due for one batch of queues. Returns 0,
 * or the failure of a request (the cycle stops: no hammering). */
static int collect_batch(ga_instance_t *inst, const char *const *ids,
                         size_t n) {
  gen_agg_output_t output = gen_queue_agg_output(&inst->qa);
  gen_interval_sink_t sink = gen_agg_sink(&output);
  gen_agg_query_t query = queue_query(inst);
  gen_agg_job_t job = {inst->engine, inst->client, &inst->counts,
                       &query,       &sink,        0};
  return gen_agg_collect(&job, ids, n, GA_RANGES_PER_READ);
}

/* The metrics attributed to no queue, per media type of the whole org, in
 * the queue engine under the scope GEN_QUEUE_AGG_ORG_SCOPE. With Shard i/n the
 * first shard asks (each would count the whole org). */
static int collect_org(ga_instance_t *inst) {
  static const char *const scope[] = {GEN_QUEUE_AGG_ORG_SCOPE};
  if (inst->client->org->shard_index != 0 || !gen_queue_agg_on(&inst->qa, true))
    return 0;
  gen_agg_output_t output = gen_queue_agg_output(&inst->qa);
  gen_interval_sink_t sink = gen_agg_sink(&output);
  gen_agg_query_t query = gen_queue_agg_query(&inst->qa, true);
  query.still = "queue aggregates";
  gen_agg_job_t job = {inst->engine, inst->client, &inst->counts,
                       &query,       &sink,        0};
  return gen_agg_collect(&job, scope, 1, GA_RANGES_PER_READ);
}

static int queue_batch(ga_instance_t *inst, const char *const *ids, size_t n,
                       void *arg) {
  (void)arg;
  return collect_batch(inst, ids, n);
}

/* fn for every batch of QueuesPerQuery queues, until one fails (no
 * hammering); its failure or 0. */
static int each_batch(ga_instance_t *inst,
                      int (*fn)(ga_instance_t *, const char *const *, size_t,
                                void *),
                      void *arg) {
  size_t per = (size_t)inst->config.qa.queues_per_query;
  const char *ids[GEN_QUEUE_AGG_MAX_QUEUES];
  int status = 0;
  for (size_t first = 0; status == 0 && first < inst->queues.count;
       first += per) {
    size_t n = 0;
    for (size_t i = first; i < inst->queues.count && n < per; i++)
      ids[n++] = inst->queues.items[i].id;
    status = fn(inst, ids, n, arg);
  }
  return status;
}

/* ---- agent time in status ------------------------------------------------
 */

/* Every range due for the agent scope (gen_agent_status), at the pace of
 * GEN_AGENT_STATUS_REQUESTS_PER_MINUTE: a large org's range over several
 * reads. */
static void collect_agents(ga_instance_t *inst) {
  gen_interval_sink_t sink = gen_agent_status_sink(&inst->agent_out);
  gen_agent_job_t job = {.engine = inst->agent_engine,
                         .client = inst->client,
                         .counts = &inst->counts,
                         .users = &inst->users,
                         .granularity_ms = inst->agent_granularity_ms,
                         .sink = &sink,
                         .scope = GA_AGENT_SCOPE,
                         .refusal_logged = &inst->agent_refusal_logged,
                         .progress = &inst->agent_progress,
                         .users_generation = inst->users_generation,
                         .budget =
                             gen_agent_status_budget(plugin_get_interval())};
  gen_agent_status_collect(&job, GA_RANGES_PER_READ);
}

/* Call quality: every range due per batch of queues (gen_mos), at the pace
 * of GEN_MOS_REQUESTS_PER_MINUTE: a large org's range over several reads,
 * resumed where a failed request stopped. */
static void collect_mos(ga_instance_t *inst) {
  gen_interval_sink_t sink = gen_mos_sink(&inst->mos_out);
  gen_mos_job_t job = {.engine = inst->mos_engine,
                       .client = inst->client,
                       .counts = &inst->counts,
                       .config = &inst->config.mos,
                       .granularity_ms = inst->config.interval.granularity_ms,
                       .sink = &sink,
                       .progress = &inst->mos_progress,
                       .queues_generation = inst->queues_generation,
                       .budget = gen_agg_budget(plugin_get_interval(),
                                                GEN_MOS_REQUESTS_PER_MINUTE)};
  gen_mos_collect_set(&job, &inst->queues,
                      (size_t)inst->config.qa.queues_per_query,
                      GA_RANGES_PER_READ);
  gen_interval_save(inst->mos_engine);
}

static void ga_dispatch_self(ga_instance_t *inst) {
  /* One set of self-metrics: the agent series count like the queues'. */
  gen_interval_stats_t st = {0};
  gen_interval_stats_add(inst->engine, &st);
  gen_interval_stats_add(inst->agent_engine, &st);
  gen_interval_stats_add(inst->mos_engine, &st);
  const char *host = gen_client_host(inst->client);
  gen_agg_dispatch_self(host, PLUGIN_NAME, &st, inst->counts.queries,
                        inst->counts.failures);
  gen_dispatch_self(host, PLUGIN_NAME, "queues", NULL, false,
                    (double)inst->queues.count);
  gen_client_dispatch_health(inst->client, PLUGIN_NAME);
}

static int ga_read(user_data_t *ud) {
  ga_instance_t *inst = ud->data;
  cdtime_t now = cdtime();
  bool due = inst->listed_at == 0 ||
             (inst->config.refresh_interval > 0 &&
              now - inst->listed_at >= inst->config.refresh_interval);
  if (due)
    refresh_lists(inst);

  int status = 0;
  if (gen_queue_agg_on(&inst->qa, false))
    status = each_batch(inst, queue_batch, NULL);
  if (status == 0 && inst->listed_at != 0)
    status = collect_org(inst);
  /* One state write per cycle, after every batch was dispatched (see
   * defer_save in gen_interval.h). */
  gen_interval_save(inst->engine);
  if (status == 0 && inst->agent_engine != NULL && inst->users_listed)
    collect_agents(inst);
  if (inst->mos_engine != NULL && inst->listed_at != 0)
    collect_mos(inst);
  ga_dispatch_self(inst);
  if (due)
    gen_heap_trim(); /* the listings' pages and trees, freed */
  /* A failed request is retried next cycle (that is the backfill); only a
   * plugin that never got its queue list reports a failed read. */
  return inst->listed_at == 0 ? -1 : 0;
}

/* ---- lifecycle -----------------------------------------------------------
 */

static void ga_instance_free(void *data) {
  ga_instance_t *inst = data;
  if (inst == NULL)
    return;
  gen_interval_free(inst->engine);
  gen_interval_free(inst->agent_engine);
  gen_interval_free(inst->mos_engine);
  gen_entity_set_free(&inst->queues);
  gen_entity_set_free(&inst->users);
  gen_agent_progress_reset(&inst->agent_progress);
  gen_mos_progress_reset(&inst->mos_progress);
  gen_entity_set_free(&inst->wrapups);
  gen_queue_agg_release(&inst->qa);
  ga_config_release(&inst->config);
  gen_client_free(inst->client);
  free(inst);
}

/* After the scaffolding put client and config in place. */
static int ga_instance_init(void *data) {
  ga_instance_t *inst = data;
  gen_client_t *client = inst->client;
  inst->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  ga_config_t *c = &inst->config;
  gen_queue_agg_config_done(&c->qa);
  inst->qa = (gen_queue_agg_t){&c->qa,
                               client->org,
                               gen_client_host(client),
                               PLUGIN_NAME,
                               c->interval.granularity_ms,
                               &inst->queues,
                               &inst->wrapups,
                               NULL};
  if (gen_queue_agg_init(&inst->qa) != 0)
    return -ENOMEM;

  inst->who = (gen_log_org_t){PLUGIN_NAME, client->org->name};
  const gen_log_org_t *who = &inst->who;
  inst->counts.who = who;
  inst->counts.complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  inst->engine = gen_interval_config_engine(&c->interval, "analytics",
                                            client->org->name, "", who);
  /* AgentStatus: its own state file, the agent scope advances on its own
   * requests. */
  /* AgentStatusGranularity: the agent engine's buckets, its own state. */
  gen_interval_config_t agent_interval = c->interval;
  if (c->agents.granularity_ms > 0)
    agent_interval.granularity_ms = c->agents.granularity_ms;
  inst->agent_granularity_ms = agent_interval.granularity_ms;
  gen_agent_output_init(&inst->agent_out, client->org, gen_client_host(client),
                        PLUGIN_NAME, inst->agent_granularity_ms);
  if (inst->engine == NULL ||
      (c->agents.on && (inst->agent_engine = gen_interval_config_engine(
                            &agent_interval, "analytics", client->org->name,
                            "-agents", who)) == NULL))
    return -1;
  if (c->mos.on) {
    inst->mos_engine =
        gen_mos_engine(client->org, &c->mos, &c->interval, "analytics", who);
    if (inst->mos_engine == NULL)
      return -1;
    gen_interval_set_defer_save(inst->mos_engine, true);
    inst->mos_queues = (gen_mos_queues_t){client->org, &inst->queues};
    inst->mos_out = (gen_mos_output_t){&c->mos,
                                       gen_client_host(client),
                                       PLUGIN_NAME,
                                       c->interval.granularity_ms,
                                       gen_mos_queue_label,
                                       &inst->mos_queues};
  }
  /* ga_read writes the state once per cycle, after its batches (the agent
   * engine commits once per cycle anyway). */
  gen_interval_set_defer_save(inst->engine, true);
  return 0;
}

static const gen_plugin_t ga_plugin = {
    .name = PLUGIN_NAME,
    .org_key = ga_config_key,
    .keys = ga_keys,
    .n_keys = STATIC_ARRAY_SIZE(ga_keys),
    .config_init = ga_config_init,
    .config_release = ga_config_release,
    GEN_PLUGIN_INSTANCE(ga_instance_t),
    .instance_init = ga_instance_init,
    .instance_free = ga_instance_free,
    .read = ga_read,
};

static int ga_config(oconfig_item_t *ci) {
  return gen_plugin_config(&ga_plugin, ci);
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, ga_config);
  plugin_register_init(PLUGIN_NAME, gen_plugin_init);
}
