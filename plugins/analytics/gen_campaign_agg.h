/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the outbound campaign aggregates of genesys_analytics
 * (CampaignAggregates true), per closed interval: the conversation
 * aggregates query grouped and filtered by outboundCampaignId, per batch of
 * the campaigns listed (GET /api/v2/outbound/campaigns), the dialer's
 * counts (attempted, connected, abandoned) per campaign and bucket
 * (tests/sim/README.md, "Campaign aggregates"). A row of ga_history.
 */
#ifndef GEN_CAMPAIGN_AGG_H
#define GEN_CAMPAIGN_AGG_H 1

#include "gen_aggregates.h"
#include "gen_entity.h"

#define GEN_CAMPAIGN_AGG_PATH "/api/v2/analytics/conversations/aggregates/query"
#define GEN_CAMPAIGN_LIST_PATH "/api/v2/outbound/campaigns"
/* outboundCampaignId predicates per request: the 100 of the queue filter
 * (aggregate predicate limits are UNCONFIRMED). */
#define GEN_CAMPAIGN_AGG_PER_QUERY 100
/* type_instance of every campaign value: apart from a queue's series of
 * the same type (whose type_instance is its media type) in the plugin. */
#define GEN_CAMPAIGN_AGG_SUFFIX "campaign"

typedef struct {
  bool on; /* CampaignAggregates (default off) */
} gen_campaign_agg_config_t;

extern const gen_config_table_t gen_campaign_agg_keys;

/* One org's campaign aggregates, borrowed from the plugin. */
typedef struct {
  const gen_org_t *org;
  const char *host; /* NULL: collectd's hostname */
  const char *plugin;
  int64_t granularity_ms;
  const gen_entity_set_t *campaigns;
} gen_campaign_agg_t;

/* The aggregates query per batch of campaigns (scopes: campaign ids) and
 * where its values go (out). It borrows ca. */
gen_agg_query_t gen_campaign_agg_query(gen_campaign_agg_t *ca);

#endif /* GEN_CAMPAIGN_AGG_H */
