/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_analytics's history as a table (gen_family.h),
 * for the plugin and for collectd-genesys-check --replay alike: its
 * configuration, its listings (queues, wrap-up codes, users, campaigns) and
 * its rows (queue aggregates with the metrics of no queue, agent status,
 * call quality, campaign aggregates, resolution aggregates).
 */
#ifndef GA_HISTORY_H
#define GA_HISTORY_H 1

#include "gen_agent_status.h"
#include "gen_campaign_agg.h"
#include "gen_entity.h"
#include "gen_family.h"
#include "gen_interval_config.h"
#include "gen_mos.h"
#include "gen_queue_agg.h"
#include "gen_resolution_agg.h"
#include "gen_speech_agg.h"
#include "gen_workitem_agg.h"

#define GA_PLUGIN_NAME "genesys_analytics"

/* Agent time in status (AgentStatus true): the users aggregates query
 * (gen_agent_status), one series per status, never per user: org-wide (or
 * per shard), so cardinality is the number of statuses. */
#define GA_AGENT_SCOPE "agents"

/* The rows of ga_history, in this order. */
enum {
  GA_QUEUES,
  GA_AGENTS,
  GA_MOS,
  GA_CAMPAIGNS,
  GA_RESOLUTIONS,
  GA_SPEECH,
  GA_WORKITEMS,
  GA_ROWS
};

typedef struct {
  gen_entity_filter_t filter;
  gen_queue_agg_config_t qa; /* MediaType, Metric, GroupBy, QueuesPerQuery */
  gen_agent_status_config_t agents;        /* AgentStatus, its granularity */
  gen_mos_config_t mos;                    /* CallQuality, MosBounds, … */
  gen_campaign_agg_config_t campaigns;     /* CampaignAggregates */
  gen_resolution_agg_config_t resolutions; /* ResolutionAggregates */
  gen_speech_agg_config_t speech;          /* SpeechAnalytics */
  gen_workitem_agg_config_t workitems;     /* WorkitemAggregates */
  gen_interval_config_t interval;          /* Granularity, SettleDelay, … */
  cdtime_t refresh_interval;
} ga_config_t;

/* Its keys: its own rows, then the modules' tables (gen_config_part_t). */
#define GA_KEYS 9
extern const gen_config_part_t ga_keys[GA_KEYS];

void ga_config_init(void *config);
void ga_config_release(void *config);
int ga_config_key(gen_org_t *org, const oconfig_item_t *ci, void *config);
/* After the last key: the queue aggregates' default set. */
void ga_config_done(void *config);

/* What the families are asked for. */
typedef struct {
  gen_entity_set_t queues;
  /* Moves whenever queues changes: a range in progress over the old
   * batches starts afresh. */
  uint64_t queues_generation;
  bool listed;              /* queues listed at least once */
  gen_entity_set_t wrapups; /* id -> name, with GroupBy wrapUpCode */
  gen_entity_set_t users;   /* AgentStatus: the users whose time is summed */
  bool users_listed;
  /* Moves whenever users changes: a range begun over the old list starts
   * afresh. */
  uint64_t users_generation;
  /* CampaignAggregates: the outbound campaigns (kept on a failed
   * listing). */
  gen_entity_set_t campaigns;
  bool campaigns_listed;
} ga_lists_t;

/* Lists the queues (and wrap-up codes with GroupBy wrapUpCode, users with
 * AgentStatus, campaigns with CampaignAggregates): 0, or the queue listing's
 * failure (logged with complain; the previous lists stay). */
int ga_list(const void *config, gen_client_t *client, void *lists,
            gen_ratelimit_t *complain);
void ga_lists_free(void *lists);

/* The queue aggregates row's state: the plugin's names of a key's series. */
typedef struct {
  gen_queue_agg_t qa;
  const ga_config_t *c;
  const ga_lists_t *lists;
} ga_queue_state_t;

/* The agent status row's state. */
typedef struct {
  const ga_lists_t *lists;
  gen_agent_output_t out; /* where the agent values go */
  gen_agent_reading_t reading;
} ga_agent_state_t;

/* The campaign aggregates row's state. */
typedef struct {
  const ga_lists_t *lists;
  gen_campaign_agg_t ca;
} ga_campaign_state_t;

/* The state of a row per queue (and media type) of another aggregates
 * query: the resolutions, speech and text analytics, workitems. */
typedef struct {
  const ga_lists_t *lists;
  const ga_config_t *c;
  gen_queue_row_t row;
} ga_queue_row_state_t;

extern const gen_history_t ga_history;

#endif /* GA_HISTORY_H */
