/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the configuration keys of closed-interval collection,
 * shared by every plugin that uses the gen_interval engine (Granularity,
 * SettleDelay, RevisitWindow, RevisitAt, BackfillHorizon, InitialBackfill,
 * StateDirectory, MaxBucketsPerQuery), and the engine made from them with
 * its state file.
 */
#ifndef GEN_INTERVAL_CONFIG_H
#define GEN_INTERVAL_CONFIG_H 1

#include "gen_client.h"
#include "gen_config.h"
#include "gen_interval.h"

#include <json-c/json.h>

typedef struct {
  int64_t granularity_ms;
  cdtime_t settle, revisit, horizon, initial;
  char *state_dir; /* NULL = collectd's BaseDir (gen_state_default_dir) */
  long max_buckets;
  gen_revisit_t revisit_at; /* RevisitAt */
  bool keep_idle;           /* KeepIdleSeries */
} gen_interval_config_t;

/* The defaults of gen_interval_keys' rows: PT15M, settle 120 s, revisit
 * 1 h, no RevisitAt, horizon 24 h, no initial backfill, 96 buckets per
 * query. */
void gen_interval_config_init(gen_interval_config_t *c);
/* The same with RevisitAt "24h 100h" (gen_interval_keys_revisiting). */
void gen_interval_config_init_revisiting(gen_interval_config_t *c);
void gen_interval_config_release(gen_interval_config_t *c);

/* The keys above (gen_config_table_key). */
extern const gen_config_table_t gen_interval_keys;
extern const gen_config_table_t gen_interval_keys_revisiting;

/* A granularity key's value (PT1M to PT1H, dividing an hour) into the
 * int64_t milliseconds at field, a table's parser: 0 or -EINVAL (logged,
 * naming the key and the value). */
int gen_interval_granularity_key(const gen_org_t *org, const oconfig_item_t *ci,
                                 const gen_config_def_t *def, void *field);
/* A revisit schedule key's value ("24h 100h", "24h" "100h", 86400 360000,
 * or "none") into the gen_revisit_t at field, replacing what was there: 0 or
 * -EINVAL (logged, naming the key, the value and why). */
int gen_interval_revisit_key(const gen_org_t *org, const oconfig_item_t *ci,
                             const gen_config_def_t *def, void *field);

/* Creates the engine whose state lives in
 * <StateDirectory>/<stem>-<sanitised org><suffix>.json (the directory is
 * created). Logs with who and returns NULL on failure. */
gen_interval_t *gen_interval_config_engine(const gen_interval_config_t *c,
                                           const char *stem, const char *org,
                                           const char *suffix,
                                           const gen_log_org_t *who);

#endif /* GEN_INTERVAL_CONFIG_H */
