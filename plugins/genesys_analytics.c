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
#include "ga_history.h"
#include "gen_buf.h"
#include "gen_client.h"
#include "gen_dispatch.h"
#include "gen_log.h"
#include "gen_plugin.h"

#define PLUGIN_NAME GA_PLUGIN_NAME
/* Ranges asked for per batch and read, so that a long backfill does not
 * hold collectd's read thread; the rest follows in the next reads. */
#define GA_RANGES_PER_READ 8

typedef struct {
  gen_client_t *client;
  ga_config_t config;
  ga_lists_t lists;
  gen_families_t families; /* the rows of ga_history on */
  cdtime_t listed_at;
  gen_log_org_t who; /* whose lines: the modules' and ours */
  gen_ratelimit_t complain;
} ga_instance_t;

/* ---- collection --------------------------------------------------------- */

static void ga_dispatch_self(ga_instance_t *inst) {
  /* One set of self-metrics: the agent series count like the queues'. */
  gen_interval_stats_t st = {0};
  gen_families_stats(&inst->families, &st);
  const char *host = gen_client_host(inst->client);
  gen_agg_dispatch_self(host, PLUGIN_NAME, &st, inst->families.counts.queries,
                        inst->families.counts.failures);
  gen_dispatch_self(host, PLUGIN_NAME, "queues", NULL, false,
                    (double)inst->lists.queues.count);
  gen_client_dispatch_health(inst->client, PLUGIN_NAME);
}

static int ga_read(user_data_t *ud) {
  ga_instance_t *inst = ud->data;
  cdtime_t now = cdtime();
  bool due = inst->listed_at == 0 ||
             (inst->config.refresh_interval > 0 &&
              now - inst->listed_at >= inst->config.refresh_interval);
  if (due &&
      ga_list(&inst->config, inst->client, &inst->lists, &inst->complain) == 0)
    inst->listed_at = cdtime();
  gen_families_read(&inst->families, inst->client, plugin_get_interval(),
                    GA_RANGES_PER_READ);
  ga_dispatch_self(inst);
  if (due)
    gen_heap_trim(); /* the listings' pages and trees, freed */
  /* A failed request is retried next cycle (that is the backfill); only a
   * plugin that never got its queue list reports a failed read. */
  return inst->listed_at == 0 ? -1 : 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void ga_instance_free(void *data) {
  ga_instance_t *inst = data;
  if (inst == NULL)
    return;
  gen_families_free(&inst->families);
  ga_lists_free(&inst->lists);
  ga_config_release(&inst->config);
  gen_client_free(inst->client);
  free(inst);
}

/* After the scaffolding put client and config in place. */
static int ga_instance_init(void *data) {
  ga_instance_t *inst = data;
  gen_client_t *client = inst->client;
  inst->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  ga_config_done(&inst->config);
  inst->who = (gen_log_org_t){PLUGIN_NAME, client->org->name};
  gen_family_env_t env = {.config = &inst->config,
                          .lists = &inst->lists,
                          .client = client,
                          .plugin = PLUGIN_NAME,
                          .who = &inst->who};
  return gen_families_open(&inst->families, &ga_history, &env);
}

static const gen_plugin_t ga_plugin = {
    .name = PLUGIN_NAME,
    .org_key = ga_config_key,
    .keys = ga_keys,
    .n_keys = GA_KEYS,
    .config_init = ga_config_init,
    .config_release = ga_config_release,
    GEN_PLUGIN_INSTANCE(ga_instance_t),
    .instance_init = ga_instance_init,
    .instance_free = ga_instance_free,
    .read = ga_read,
};

GEN_PLUGIN_REGISTER(ga_plugin)
