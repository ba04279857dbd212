/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the driver of a plugin's history families (gen_family.h).
 */
#include "gen_family.h"

#include "gen_replay.h"
#include "gen_time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gen_families_open(gen_families_t *fs, const gen_history_t *h,
                      const gen_family_env_t *env) {
  *fs = (gen_families_t){.h = h};
  fs->counts =
      (gen_agg_counts_t){.who = env->who, .complain = GEN_RATELIMIT_INIT(60)};
  const gen_interval_config_t *ic = h->interval(env->config);
  for (size_t i = 0; i < h->n_rows && i < GEN_FAMILIES_MAX; i++) {
    const gen_family_t *f = &h->rows[i];
    if (!f->on(env->config))
      continue;
    if (f->own_state) {
      if ((fs->state[i] = f->state_new(env)) == NULL)
        return -1;
      continue;
    }
    if (f->engine != NULL) {
      fs->engine[i] = f->engine(env, ic);
    } else {
      gen_interval_config_t c = *ic;
      int64_t g = f->granularity_ms ? f->granularity_ms(env->config) : 0;
      if (g > 0)
        c.granularity_ms = g;
      fs->engine[i] = gen_interval_config_engine(
          &c, h->stem, env->client->org->name, f->suffix, env->who);
    }
    if (fs->engine[i] == NULL)
      return -1;
    /* One state write a read, after every batch (gen_families_read). */
    gen_interval_set_defer_save(fs->engine[i], true);
    if ((fs->state[i] = f->state_new(env)) == NULL)
      return -1;
  }
  return 0;
}

void gen_families_read(gen_families_t *fs, gen_client_t *client,
                       cdtime_t interval, int max_ranges) {
  for (size_t i = 0; fs->h != NULL && i < fs->h->n_rows; i++) {
    const gen_family_t *f = &fs->h->rows[i];
    if (fs->state[i] == NULL)
      continue;
    gen_family_run_t run = {
        .engine = fs->engine[i],
        .client = client,
        .counts = &fs->counts,
        .max_ranges = max_ranges,
        .budget = f->per_minute ? gen_agg_budget(interval, f->per_minute) : 0};
    /* A failure is logged and counted by the family and asked again next
     * read; the other families still run (a resting handle refuses their
     * requests at once after a 429). */
    f->collect(fs->state[i], &run);
    if (fs->engine[i] != NULL)
      gen_interval_save(fs->engine[i]);
  }
}

void gen_families_stats(const gen_families_t *fs, gen_interval_stats_t *st) {
  for (size_t i = 0; i < GEN_FAMILIES_MAX; i++)
    if (fs->engine[i] != NULL)
      gen_interval_stats_add(fs->engine[i], st);
}

void *gen_families_state(const gen_families_t *fs, size_t i) {
  return i < GEN_FAMILIES_MAX ? fs->state[i] : NULL;
}

void gen_families_free(gen_families_t *fs) {
  for (size_t i = 0; fs->h != NULL && i < fs->h->n_rows; i++) {
    if (fs->state[i] != NULL)
      fs->h->rows[i].state_free(fs->state[i]);
    gen_interval_free(fs->engine[i]);
  }
  *fs = (gen_families_t){0};
}

gen_interval_sink_t gen_family_sink(const gen_family_run_t *run,
                                    gen_interval_sink_t sink) {
  return run->replay ? gen_replay_gauges(sink) : sink;
}

int gen_family_agg(const gen_family_run_t *run, const gen_agg_query_t *query,
                   gen_agg_output_t *output, const gen_entity_set_t *set,
                   size_t per, const char *scope) {
  gen_interval_sink_t sink = gen_family_sink(run, gen_agg_sink(output));
  gen_agg_job_t job = {run->engine, run->client, run->counts,
                       query,       &sink,       run->at_ms};
  if (set != NULL)
    return gen_agg_collect_set(&job, set, per, run->max_ranges);
  return gen_agg_collect(&job, &scope, 1, run->max_ranges);
}

static int64_t granularity_of(const gen_family_t *f, const void *config,
                              const gen_interval_config_t *ic) {
  int64_t g = f->granularity_ms ? f->granularity_ms(config) : 0;
  return g > 0 ? g : ic->granularity_ms;
}

int gen_family_replay(const gen_family_t *f, const gen_family_env_t *env,
                      const gen_interval_config_t *ic, int64_t *from_ms,
                      int64_t *to_ms, gen_agg_counts_t *counts, char *err,
                      size_t err_size) {
  int64_t g = granularity_of(f, env->config, ic);
  int64_t now = gen_cdtime_to_ms(cdtime());
  int64_t settled =
      gen_bucket_floor(now - (int64_t)CDTIME_T_TO_MS(ic->settle), g);
  if (f->keep_ms > 0 && *from_ms < now - f->keep_ms)
    *from_ms = now - f->keep_ms + g - 1; /* its oldest whole bucket kept */
  if (gen_replay_window(g, settled, from_ms, to_ms) != 0) {
    snprintf(err, err_size, "no bucket of the window has closed and settled%s",
             f->keep_ms > 0 ? " within the time Genesys keeps it" : "");
    return -EINVAL;
  }
  gen_interval_t *engine = gen_replay_engine(
      g, *from_ms, *to_ms,
      f->replay_buckets ? f->replay_buckets : ic->max_buckets, env->who);
  void *state = engine != NULL ? f->state_new(env) : NULL;
  int status = -ENOMEM;
  if (state != NULL) {
    gen_family_run_t run = {.engine = engine,
                            .client = env->client,
                            .counts = counts,
                            .at_ms = *to_ms,
                            .replay = true,
                            .from_ms = *from_ms,
                            .max_ranges = INT_MAX};
    status = f->collect(state, &run);
    f->state_free(state);
  } else {
    snprintf(err, err_size, "out of memory");
  }
  gen_interval_free(engine);
  return status;
}
