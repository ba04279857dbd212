/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the driver of a plugin's history families (gen_family.h).
 */
#include "gen_family.h"

#include "gen_http.h"
#include "gen_log.h"
#include "gen_replay.h"
#include "gen_time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool gen_family_on(const gen_family_t *f, const void *config,
                   const gen_org_t *org) {
  if (f->org_wide && org->shard_index != 0)
    return false;
  return f->on ? f->on(config)
               : *(const bool *)((const char *)config + f->on_at);
}

const gen_interval_config_t *gen_history_interval(const gen_history_t *h,
                                                  const void *config) {
  return (const void *)((const char *)config + h->interval_at);
}

int gen_families_open(gen_families_t *fs, const gen_history_t *h,
                      const gen_family_env_t *env) {
  *fs = (gen_families_t){.h = h};
  fs->counts =
      (gen_agg_counts_t){.who = env->who, .complain = GEN_RATELIMIT_INIT(60)};
  const gen_interval_config_t *ic = gen_history_interval(h, env->config);
  for (size_t i = 0; i < h->n_rows && i < GEN_FAMILIES_MAX; i++) {
    const gen_family_t *f = &h->rows[i];
    if (!gen_family_on(f, env->config, env->client->org))
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
      c.granularity_ms = gen_family_granularity(f, env->config, ic);
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

int64_t gen_family_granularity(const gen_family_t *f, const void *config,
                               const gen_interval_config_t *ic) {
  int64_t g = f->granularity_ms ? f->granularity_ms(config) : 0;
  return g > 0 ? g : ic->granularity_ms;
}

/* Row f's collection, under its answer bound. */
static int collect(const gen_family_t *f, void *state,
                   const gen_family_run_t *run) {
  gen_http_t *http = run->client->http;
  gen_http_bound_t was = gen_http_answer_limit(http, f->answer);
  int status = f->collect(state, run);
  gen_http_answer_limit(http, was);
  return status;
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
    collect(f, fs->state[i], &run);
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

/* ---- the one request loop ---------------------------------------------- */

void gen_family_commit(const gen_family_run_t *run, const char *const *ids,
                       size_t n, const gen_interval_range_t *range,
                       const gen_interval_sink_t *sink) {
  int64_t now = run->at_ms ? run->at_ms : gen_cdtime_to_ms(cdtime());
  gen_interval_commit(run->engine, ids, n, range, now, sink);
}

int gen_family_post(const gen_family_run_t *run, const char *path,
                    json_object *body, size_t *spent, gen_http_response_t *resp,
                    json_object **doc, char *err, size_t err_size) {
  int status = GEN_FAMILY_OUT_OF_BUDGET;
  if (run->budget == 0 || *spent < run->budget) {
    run->counts->queries++;
    (*spent)++;
    gen_http_t *http = run->client->http;
    status = doc != NULL ? gen_http_post_json(http, path, body, run->answer,
                                              doc, err, err_size)
                         : gen_http_post_text(http, path,
                                              json_object_to_json_string_ext(
                                                  body, JSON_C_TO_STRING_PLAIN),
                                              run->answer, resp, err, err_size);
  }
  json_object_put(body);
  return status;
}

bool gen_family_outcome(const gen_family_run_t *run, const char *family,
                        const char *still, int status, const char *err) {
  gen_client_t *client = run->client;
  if (status == 0)
    return family != NULL && gen_client_family(client, family, 0, NULL, NULL);
  bool malformed = status == -EINVAL || gen_err_malformed(status);
  if (malformed)
    atomic_fetch_add(&client->stats.malformed, 1);
  run->counts->failures++;
  return family != NULL &&
         gen_client_family(client, family, malformed ? -EBADMSG : status, err,
                           still);
}

static void failed(const gen_family_run_t *run, const gen_family_reader_t *r,
                   void *state, int status, const char *err, bool kept) {
  gen_interval_abort(run->engine);
  if (r->failed != NULL)
    r->failed(state, run, status, err);
  if (gen_family_outcome(run, r->family, r->still, status, err))
    return;
  gen_interval_range_t left = r->left(state);
  char text[GEN_INTERVAL_STRLEN];
  gen_interval_format(left.start_ms, left.end_ms, text, sizeof(text));
  /* what will be resumed is late, not lost: a warning */
  gen_log_org(run->counts->who, &run->counts->complain,
              kept ? LOG_WARNING : LOG_ERR, "%s for %s failed (%s): %s",
              r->query, text,
              run->replay ? "the replay stops"
              : kept      ? "resumed where it stopped next cycle"
                          : "asked for again next cycle",
              err);
}

/* At most run->max_ranges ranges of the batch-th batch, ids[n], the range
 * in progress first when it is this batch's. 0 when the batch is up to
 * date (or had its ranges), GEN_FAMILY_OUT_OF_BUDGET, or a failure (*kept:
 * its range stays to be resumed). */
static int read_batch(const gen_family_run_t *run, const gen_family_reader_t *r,
                      void *state, const char *const *ids, size_t n,
                      size_t batch, size_t *spent, bool *kept) {
  *kept = false;
  for (int round = 0; round < run->max_ranges; round++) {
    char err[512] = "";
    int status = 0;
    if (r->resumes(state) != (ssize_t)batch) {
      r->end(state);
      int64_t now = run->at_ms ? run->at_ms : gen_cdtime_to_ms(cdtime());
      gen_interval_range_t range;
      status = gen_interval_plan(run->engine, ids, n, now, &range);
      if (status <= 0)
        return status;
      if ((status = r->begin(state, run, ids, n, batch, &range)) != 0)
        snprintf(err, sizeof(err), "out of memory");
    }
    if (status == 0)
      status = r->read(state, run, spent, err, sizeof(err));
    if (status == GEN_FAMILY_OUT_OF_BUDGET)
      return status;
    if (status != 0) {
      /* A request to be retried (the handle rests until it is due) is
       * asked again where it stopped; anything else starts over. */
      *kept = !run->replay && status != -ENOMEM &&
              r->resumes(state) == (ssize_t)batch &&
              gen_http_resting(run->client->http, NULL);
      failed(run, r, state, status, err, *kept);
      if (!*kept)
        r->end(state);
      return status;
    }
    gen_family_outcome(run, r->family, r->still, 0, NULL);
    r->end(state);
  }
  return 0;
}

int gen_family_ranges(const gen_family_run_t *run,
                      const gen_family_reader_t *reader, void *state,
                      gen_family_cursor_t *cursor, const gen_entity_set_t *set,
                      size_t per, uint64_t generation, const char *scope) {
  gen_family_cursor_t own = {0, generation};
  gen_family_cursor_t *c = cursor != NULL ? cursor : &own;
  size_t count = set != NULL ? set->count : 1;
  if (per == 0 || per > count)
    per = count ? count : 1;
  size_t batches = (count + per - 1) / per;
  if (c->generation != generation || c->batch >= batches) {
    reader->end(state);
    *c = (gen_family_cursor_t){0, generation};
  }
  const char **ids = set != NULL ? calloc(per, sizeof(*ids)) : &scope;
  if (ids == NULL)
    return -ENOMEM;
  size_t spent = 0, first = c->batch, k;
  int status = 0;
  for (k = 0; k < batches; k++) {
    size_t b = (first + k) % batches, n = 1;
    if (set != NULL) {
      n = 0;
      for (size_t i = b * per; i < set->count && n < per; i++)
        ids[n++] = set->items[i].id;
    }
    bool kept;
    status = read_batch(run, reader, state, ids, n, b, &spent, &kept);
    if (status == GEN_FAMILY_OUT_OF_BUDGET) {
      c->batch = b; /* its range resumes first */
      status = 0;
      break;
    }
    if (status != 0) {
      /* no hammering: the next read goes on with this batch when its
       * range waits for a retry, else with the next */
      c->batch = kept ? b : (b + 1) % batches;
      break;
    }
  }
  if (k == batches)
    c->batch = 0; /* every batch up to date */
  if (cursor == NULL)
    reader->end(state);
  if (set != NULL)
    free(ids);
  return status;
}

int gen_family_apply(const gen_family_run_t *run, const gen_agg_query_t *query,
                     const char *const *scopes, size_t n,
                     const gen_interval_range_t *range, const char *text,
                     size_t len, char *err, size_t err_size) {
  /* A metric Genesys adds: counted as the family's (or, without one, the
   * query's) unknown "metric", never malformed. */
  const gen_unknown_sink_t unknown = {&run->client->stats, run->counts->who,
                                      query->family != NULL ? query->family
                                                            : query->what};
  size_t skipped = 0;
  int status = gen_agg_take(run->engine, query, range, text, len, &unknown,
                            &skipped, err, err_size);
  if (skipped > 0) {
    atomic_fetch_add(&run->client->stats.malformed, 1);
    gen_log_org(run->counts->who, &run->counts->complain, LOG_WARNING,
                "%zu groups or metrics of an answer to the %s were not "
                "usable and were skipped",
                skipped, query->reader.what);
  }
  if (status != 0) {
    gen_interval_abort(run->engine);
    return status;
  }
  gen_agg_output_t out = query->out;
  gen_interval_sink_t sink = gen_family_sink(run, gen_agg_sink(&out));
  gen_family_commit(run, scopes, n, range, &sink);
  return 0;
}

/* An aggregates query as a reader: one request a range, its answer taken
 * and committed whole (gen_family_apply). */
typedef struct {
  const gen_agg_query_t *query;
  const char *const *ids;
  size_t n;
  gen_interval_range_t range;
} agg_state_t;

static int agg_begin(void *state, const gen_family_run_t *run,
                     const char *const *ids, size_t n, size_t batch,
                     const gen_interval_range_t *range) {
  agg_state_t *a = state;
  a->ids = ids, a->n = n, a->range = *range;
  return 0;
}

static ssize_t agg_resumes(const void *state) {
  return -1; /* one request a range: nothing to resume */
}

static int agg_read(void *state, const gen_family_run_t *run, size_t *spent,
                    char *err, size_t err_size) {
  agg_state_t *a = state;
  const gen_agg_query_t *q = a->query;
  gen_http_response_t resp;
  int status =
      gen_family_post(run, q->path, q->body(q->ud, a->ids, a->n, &a->range),
                      spent, &resp, NULL, err, err_size);
  if (status == GEN_FAMILY_OUT_OF_BUDGET)
    return status;
  if (status == 0)
    status = gen_family_apply(run, q, a->ids, a->n, &a->range, resp.body,
                              resp.body_len, err, err_size);
  gen_http_response_recycle(run->client->http, &resp);
  return status;
}

static gen_interval_range_t agg_left(const void *state) {
  return ((const agg_state_t *)state)->range;
}

static void agg_end(void *state) {}

int gen_family_agg(const gen_family_run_t *run, const gen_agg_query_t *query,
                   const gen_entity_set_t *set, size_t per, const char *scope) {
  agg_state_t a = {.query = query};
  gen_family_reader_t reader = {.family = query->family,
                                .still = query->still,
                                .query = query->what,
                                .begin = agg_begin,
                                .resumes = agg_resumes,
                                .read = agg_read,
                                .left = agg_left,
                                .end = agg_end};
  return gen_family_ranges(run, &reader, &a, NULL, set, per, 0, scope);
}

int gen_family_replay(const gen_family_t *f, const gen_family_env_t *env,
                      const gen_interval_config_t *ic, int64_t *from_ms,
                      int64_t *to_ms, long max_requests, int64_t *estimate,
                      gen_agg_counts_t *counts, char *err, size_t err_size) {
  int64_t g = gen_family_granularity(f, env->config, ic);
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
  long per_request = f->replay_buckets ? f->replay_buckets : ic->max_buckets;
  int64_t buckets = (*to_ms - *from_ms) / g;
  int64_t requests = (buckets + per_request - 1) / per_request;
  if (estimate != NULL)
    *estimate = requests;
  if (max_requests > 0 && requests > max_requests) {
    snprintf(err, err_size,
             "the window is %lld buckets of %lld s, at least %lld requests a "
             "batch of entities, more than --max-requests %ld: nothing asked "
             "(a shorter window, or a larger --max-requests)",
             (long long)buckets, (long long)(g / 1000), (long long)requests,
             max_requests);
    return -E2BIG;
  }
  gen_interval_t *engine =
      gen_replay_engine(g, *from_ms, *to_ms, per_request, env->who);
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
    status = collect(f, state, &run);
    f->state_free(state);
  } else {
    snprintf(err, err_size, "out of memory");
  }
  gen_interval_free(engine);
  return status;
}
