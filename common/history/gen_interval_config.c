/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the configuration keys of closed-interval collection
 * and the engine made from them (see gen_interval_config.h).
 */
#include "gen_interval_config.h"

#include "gen_json.h"
#include "gen_state.h"
#include "gen_time.h"

#include <limits.h>
#include <strings.h>

void gen_interval_config_init(gen_interval_config_t *c) {
  memset(c, 0, sizeof(*c));
  gen_config_defaults(&gen_interval_keys, c);
}

void gen_interval_config_release(gen_interval_config_t *c) {
  free(c->state_dir);
  c->state_dir = NULL;
}

/* RevisitAt "24h 100h", RevisitAt "24h" "100h", RevisitAt 86400 360000 or
 * RevisitAt "none": the line replaces any earlier one (and the default).
 * OperationalEventsRevisitAt too. */
int gen_interval_revisit_key(const gen_org_t *org, const oconfig_item_t *ci,
                             const gen_config_def_t *def, void *field) {
  gen_revisit_t *out = field;
  gen_revisit_t r = {.n = 0};
  char why[160] = "takes one or more ages, such as \"24h 100h\", or \"none\"";
  int status = ci->values_num < 1 ? -EINVAL : 0;
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_STRING &&
      strcasecmp(ci->values[0].value.string, "none") == 0) {
    *out = r; /* no schedule: RevisitWindow alone */
    return 0;
  }
  for (int i = 0; status == 0 && i < ci->values_num; i++) {
    const oconfig_value_t *v = &ci->values[i];
    if (v->type == OCONFIG_TYPE_STRING) {
      status = gen_revisit_parse(&r, v->value.string, why, sizeof(why));
    } else if (v->type == OCONFIG_TYPE_NUMBER && v->value.number >= 1 &&
               v->value.number == (double)(int64_t)v->value.number &&
               v->value.number <= GEN_REVISIT_MAX_AGE_MS / 1000) {
      char label[32];
      snprintf(label, sizeof(label), "%.0f", v->value.number);
      status = gen_revisit_add(&r, (int64_t)v->value.number * 1000, label, why,
                               sizeof(why));
    } else {
      snprintf(why, sizeof(why),
               "value %d is not an age (a string such as \"24h\", or a "
               "whole number of seconds from 1 to 31 days)",
               i + 1);
      status = -EINVAL;
    }
  }
  if (status != 0) {
    gen_config_error(org, ci, why);
    return -EINVAL;
  }
  *out = r;
  return 0;
}

int gen_interval_granularity_key(const gen_org_t *org, const oconfig_item_t *ci,
                                 const gen_config_def_t *def, void *field) {
  char *text = NULL;
  int64_t ms = 0;
  int status = gen_config_string(org, ci, &text);
  if (status != 0)
    return status;
  if (gen_duration_parse(text, &ms) != 0 || ms < 60000 || ms > 3600000 ||
      3600000 % ms != 0) {
    gen_config_error(org, ci,
                     "want an ISO-8601 duration from PT1M to PT1H that "
                     "divides an hour (PT1M, PT5M, PT15M, PT30M, PT1H, …)");
    status = -EINVAL;
  } else {
    *(int64_t *)field = ms;
  }
  free(text);
  return status;
}

/* The keys, RevisitAt's default given: one table a default. */
#define IC gen_interval_config_t
#define INTERVAL_DEFS(revisit_at_default)                                      \
  {                                                                            \
    GEN_KEY_PARSE_TEXT("Granularity", GEN_CFG_DURATION, IC, granularity_ms,    \
                       gen_interval_granularity_key, "PT15M",                  \
                       "PT1M..PT1H, dividing an hour",                         \
                       "the bucket length (ISO-8601)"),                        \
        GEN_KEY_SECONDS(                                                       \
            "SettleDelay", IC, settle, 0, 3600, 120,                           \
            "the wait after a bucket's end before it is asked for"),           \
        GEN_KEY_SECONDS(                                                       \
            "RevisitWindow", IC, revisit, 0, 7 * 86400, 3600,                  \
            "buckets this recent are asked again with each new one"),          \
        GEN_KEY_PARSE_TEXT(                                                    \
            "RevisitAt", GEN_CFG_LIST, IC, revisit_at,                         \
            gen_interval_revisit_key, revisit_at_default,                      \
            "ages such as \"24h 100h\", up to 31 days; none",                  \
            "a bucket is asked once more at each of these ages"),              \
        GEN_KEY_SECONDS("BackfillHorizon", IC, horizon, 60, 31 * 86400, 86400, \
                        "the oldest missed bucket fetched"),                   \
        GEN_KEY_SECONDS("InitialBackfill", IC, initial, 0, 31 * 86400, 0,      \
                        "how far back an entity seen first starts"),           \
        GEN_KEY_STRING("StateDirectory", IC, state_dir, "<BaseDir>/genesys",   \
                       "where the state files live"),                          \
        GEN_KEY_INT("MaxBucketsPerQuery", IC, max_buckets, 1, 10000, 96,       \
                    "the most buckets one request covers"),                    \
        GEN_KEY_BOOL(                                                          \
            "KeepIdleSeries", IC, keep_idle, false,                            \
            "counters without a bucket within BackfillHorizon still go"),      \
  }
static const gen_config_def_t interval_defs[] = INTERVAL_DEFS("none");
/* "24h 100h": past Genesys' nightly reprocessing and its three-day
 * corrections (genesys_analytics(5), LATE DATA AND THE REVISIT SCHEDULE).
 * Its records cost memory (64 bytes a key's bucket at worst) and a journal
 * appended as they change, not a state file rewritten whole
 * (bench/README.md, bench_revisit). */
static const gen_config_def_t revisiting_defs[] = INTERVAL_DEFS("24h 100h");
#undef INTERVAL_DEFS
#undef IC

const gen_config_table_t gen_interval_keys = GEN_CONFIG_TABLE(interval_defs);
const gen_config_table_t gen_interval_keys_revisiting =
    GEN_CONFIG_TABLE(revisiting_defs);

void gen_interval_config_init_revisiting(gen_interval_config_t *c) {
  memset(c, 0, sizeof(*c));
  gen_config_defaults(&gen_interval_keys_revisiting, c);
}

gen_interval_t *gen_interval_config_engine(const gen_interval_config_t *c,
                                           const char *stem, const char *org,
                                           const char *suffix,
                                           const gen_log_org_t *who) {
  char path[PATH_MAX];
  if (gen_state_path_logged(who, c->state_dir, stem, org, suffix, path,
                            sizeof(path)) != 0)
    return NULL;
  gen_interval_options_t options = {
      .granularity_ms = c->granularity_ms,
      .settle_ms = (int64_t)CDTIME_T_TO_MS(c->settle),
      .revisit_ms = (int64_t)CDTIME_T_TO_MS(c->revisit),
      .horizon_ms = (int64_t)CDTIME_T_TO_MS(c->horizon),
      .initial_ms = (int64_t)CDTIME_T_TO_MS(c->initial),
      .max_buckets = (size_t)c->max_buckets,
      .revisit_at = c->revisit_at,
      .keep_idle = c->keep_idle,
      .state_path = path,
      .who = who,
  };
  if (options.horizon_ms < c->granularity_ms)
    options.horizon_ms = c->granularity_ms;
  gen_interval_t *engine = gen_interval_create(&options);
  if (engine == NULL)
    gen_log_org(who, NULL, LOG_ERR,
                "cannot set up the interval engine (state file %s)", path);
  return engine;
}
