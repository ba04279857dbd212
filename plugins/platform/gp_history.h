/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_platform's configuration and history as a
 * table (gen_family.h), for the plugin and for collectd-genesys-check
 * --replay alike: the operational events (gen_opevents), the API usage
 * by day (gen_apiusage) and the rate limits recorded (gen_ratelimit_agg).
 */
#ifndef GP_HISTORY_H
#define GP_HISTORY_H 1

#include "gen_apiusage.h"
#include "gen_entity.h"
#include "gen_family.h"
#include "gen_opevents.h"
#include "gen_ratelimit_agg.h"

#define GP_PLUGIN_NAME "genesys_platform"

/* The rows of gp_history. */
enum { GP_EVENTS, GP_USAGE, GP_RATELIMITS, GP_ROWS };

typedef struct {
  gen_entity_filter_t edges_filter, trunks_filter;
  bool edges, trunks, status_page;
  bool cloud_media;       /* CloudMediaEdges: list them (showCloudMedia) */
  const char *trunk_type; /* EXTERNAL (default), PHONE, EDGE; NULL for all */
  char *status_url;
  char **components; /* StatusComponent patterns (NULL: every one) */
  size_t n_components;
  char **groups; /* StatusGroup patterns (NULL: the region's group) */
  size_t n_groups;
  gen_opev_config_t events; /* OperationalEvents and its keys */
  /* Its engine's, made from them (gp_config_done). */
  gen_interval_config_t events_interval;
  gen_au_config_t usage; /* ApiUsage* keys (gen_apiusage) */
  bool rate_limits;      /* RateLimitAggregates */
} gp_config_t;

/* Its keys: its own rows, then the modules' tables (gen_config_part_t). */
#define GP_KEYS 3
extern const gen_config_part_t gp_keys[GP_KEYS];

void gp_config_init(void *config);
void gp_config_release(void *config);
int gp_config_key(gen_org_t *org, const oconfig_item_t *ci, void *config);
/* After the last key: the events' engine configuration. */
void gp_config_done(void *config);

extern const gen_history_t gp_history;

#endif /* GP_HISTORY_H */
