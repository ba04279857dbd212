/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_realtime's configuration (gr_config.h).
 */
#include "gr_config.h"

#include <stddef.h>
#include <stdlib.h>

void gr_config_init(void *config) {
  gr_config_t *c = config;
  gen_config_parts_defaults(gr_keys, GR_KEYS, c);
}

void gr_config_release(void *config) {
  gr_config_t *c = config;
  free(c->state_dir);
  c->state_dir = NULL;
  gen_entity_filter_free(&c->filter);
}

static int gr_wait_buckets(const gen_org_t *org, const oconfig_item_t *ci,
                           const gen_config_def_t *def, void *field) {
  return gen_waits_config_bounds(org, ci, field);
}

static const gen_config_def_t gr_defs[] = {
    GEN_KEY_FILTER("Queue", "queues", gr_config_t, filter),
    GEN_KEY_DIVISIONS("queues", gr_config_t, filter),
    {"MediaType", GEN_CFG_MEDIA, offsetof(gr_config_t, media_mask),
     .shown = "all", .doc = "only dispatch these media types"},
    GEN_KEY_SECONDS("QueueRefreshInterval", gr_config_t, refresh_interval, 0,
                    86400, 600, "how often the queue list is read (0: once)"),
    GEN_KEY_SECONDS("DispatchEvery", gr_config_t, dispatch_every, 0, 60, 0,
                    "changed values leave at most this often, the last one "
                    "always (0: at every 100 ms tick)"),
    GEN_KEY_SECONDS("RepeatEvery", gr_config_t, repeat_every, 0, 240, 0,
                    "an unchanged queue series is dispatched again this "
                    "often, with it as its interval (0: every Interval)"),
    GEN_KEY_BOOL("ObservationLists", gr_config_t, observation_lists, false,
                 "a queue and media type's five gauges in one value list of "
                 "type queue_observations"),
    GEN_KEY_BOOL("ConversationEvents", gr_config_t, conversation_events, false,
                 "count what happens to conversations, per queue"),
    GEN_KEY_PARSE_TEXT("WaitBuckets", GEN_CFG_LIST, gr_config_t, wait_bounds,
                       gr_wait_buckets, "5 10 20 30 60 120 300",
                       "1 to 16 increasing seconds",
                       "upper bounds of the cumulative wait-to-answer buckets"),
    GEN_KEY_BOOL("AgentActivity", gr_config_t, agent_activity, false,
                 "org-wide agent counts from the queues' members"),
    GEN_KEY_STRING("StateDirectory", gr_config_t, state_dir,
                   "<BaseDir>/genesys",
                   "where the conversation counters' totals live"),
};
static const gen_config_table_t gr_table = GEN_CONFIG_TABLE(gr_defs);

const gen_config_part_t gr_keys[GR_KEYS] = {
    {&gr_table, 0},
    {&gen_notify_keys, offsetof(gr_config_t, notify)},
    {&gen_conv_keys, offsetof(gr_config_t, conv)},
    {&gen_conv_repair_keys, offsetof(gr_config_t, repair)},
    {&gen_summary_keys, offsetof(gr_config_t, summary)},
    {&gen_ewt_keys, offsetof(gr_config_t, ewt)},
    {&gen_agent_groups_keys, offsetof(gr_config_t, groups)},
    {&gen_campaigns_keys, offsetof(gr_config_t, campaigns)},
    {&gen_adherence_keys, offsetof(gr_config_t, adherence)},
    {&gen_workitems_keys, offsetof(gr_config_t, workitems)},
};

int gr_config_key(gen_org_t *org, const oconfig_item_t *ci, void *config) {
  return gen_config_parts_key(org, ci, gr_keys, GR_KEYS, config);
}
