/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_realtime's configuration: its struct, defaults
 * and key table (gen_config.h), beside the plugin (plugins/realtime/).
 */
#ifndef GR_CONFIG_H
#define GR_CONFIG_H 1

#include "gen_adherence.h"
#include "gen_agent_groups.h"
#include "gen_campaigns.h"
#include "gen_config.h"
#include "gen_conv.h"
#include "gen_conv_repair.h"
#include "gen_entity.h"
#include "gen_ewt.h"
#include "gen_notify.h"
#include "gen_summary.h"
#include "gen_waits.h"
#include "gen_workitems.h"

typedef struct {
  gen_entity_filter_t filter;
  unsigned media_mask; /* MediaType: dispatch only these (0 = all) */
  cdtime_t refresh_interval;
  cdtime_t dispatch_every; /* DispatchEvery: changes leave at most this often */
  cdtime_t repeat_every;   /* RepeatEvery: unchanged series leave again */
  bool observation_lists;  /* ObservationLists: a media group, one list */
  gen_notify_config_t notify; /* HeartbeatTimeout, TopicsPerChannel */
  bool conversation_events;
  gen_waits_bounds_t wait_bounds; /* WaitBuckets */
  gen_conv_config_t conv; /* MaxConversations, ConversationLinger/Timeout */
  gen_conv_repair_config_t repair; /* GapRepair, GapRepairDelay */
  bool agent_activity;
  char *state_dir;              /* StateDirectory (NULL: <BaseDir>/genesys) */
  gen_summary_config_t summary; /* Summaries, SummaryInterval */
  gen_ewt_config_t ewt;         /* EstimatedWaitTime* */
  gen_agent_groups_config_t groups; /* AgentStatesBy* */
  gen_campaigns_config_t campaigns; /* Campaign* */
  gen_adherence_config_t adherence; /* Adherence* */
  gen_workitems_config_t workitems; /* Workitems* */
} gr_config_t;

/* Its keys: its own rows, then the modules' tables (gen_config_part_t). */
#define GR_KEYS 10
extern const gen_config_part_t gr_keys[GR_KEYS];

void gr_config_init(void *config);
void gr_config_release(void *config);
int gr_config_key(gen_org_t *org, const oconfig_item_t *ci, void *config);

#endif /* GR_CONFIG_H */
