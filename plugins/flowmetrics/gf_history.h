/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_flowmetrics's history as a table (gen_family.h),
 * for the plugin and for collectd-genesys-check --replay alike: its
 * configuration, its listings (flows, outcome and milestone names, data
 * actions, queues for metric attributes) and its rows (flow aggregates,
 * data actions, bots, flow exits).
 */
#ifndef GF_HISTORY_H
#define GF_HISTORY_H 1

#include "gen_action_agg.h"
#include "gen_attr_config.h"
#include "gen_bot_agg.h"
#include "gen_entity.h"
#include "gen_family.h"
#include "gen_flow_agg.h"
#include "gen_flow_exit_agg.h"
#include "gen_interval_config.h"
#include "gen_notify.h"
#include "gen_receiver_config.h"

#include <pthread.h>

#define GF_PLUGIN_NAME "genesys_flowmetrics"

/* The rows of gf_history, in this order. */
enum { GF_FLOWS, GF_ACTIONS, GF_BOTS, GF_EXITS, GF_ROWS };

typedef struct {
  gen_entity_filter_t flows;
  gen_entity_filter_t queues;
  bool attributes_from_queues;
  cdtime_t refresh_interval;
  gen_notify_config_t notify; /* HeartbeatTimeout, TopicsPerChannel */
  gen_attr_config_t attr;     /* AttributePattern, MaxMetricNames, … */
  char *state_file;
  cdtime_t state_save_interval;

  gen_flow_agg_config_t agg;    /* Aggregates, ActiveFlows, FlowType, … */
  gen_action_agg_config_t act;  /* DataActions and their selection */
  gen_bot_agg_config_t bots;    /* BotAggregates, MaxBots */
  gen_flow_exit_config_t exits; /* FlowExits */
  gen_interval_config_t interval;
  gen_receiver_config_t rx; /* Receiver* */
} gf_config_t;

/* Its keys: its own rows, then the modules' tables (gen_config_part_t). */
#define GF_KEYS 9
extern const gen_config_part_t gf_keys[GF_KEYS];

void gf_config_init(void *config);
void gf_config_release(void *config);
int gf_config_key(gen_org_t *org, const oconfig_item_t *ci, void *config);

/* What the families and the live counters are asked for. The channels'
 * threads read the sets under *lock (NULL: no other thread, a replay);
 * the read thread alone changes them. */
typedef struct {
  gen_entity_set_t flows, outcomes, milestones, queues, actions;
  bool listed;         /* at least once */
  uint64_t generation; /* moves whenever flows or queues change */
  pthread_mutex_t *lock;
} gf_lists_t;

/* Lists flows, outcome and milestone names, data actions (DataActions)
 * and queues (AttributesFromQueues): 0, or the failure of a listing the
 * values need (logged; the previous lists stay). */
int gf_list(const void *config, gen_client_t *client, void *lists,
            gen_ratelimit_t *complain);
void gf_lists_free(void *lists);

/* The data actions row's state. */
typedef struct {
  const gf_lists_t *lists;
  gen_action_agg_t aa;
} gf_action_state_t;

extern const gen_history_t gf_history;

#endif /* GF_HISTORY_H */
