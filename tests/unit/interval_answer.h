/* SPDX-License-Identifier: MIT */
/* Unit-test helper for plugins built on gen_interval: plans the range due
 * at `at` for one scope, and takes a JSON answer to it (commit or abort). */
#ifndef INTERVAL_ANSWER_H
#define INTERVAL_ANSWER_H 1

#include "gen_aggregates.h"
#include "gen_family.h"

#include <string.h>

/* The answer of query into engine through its sink, planned at at: -1000 when
 * nothing was due; else what gen_family_apply() returns (-EINVAL for text that
 * is not JSON). */
static int interval_answer(gen_interval_t *engine, gen_client_t *client,
                           gen_agg_counts_t *counts,
                           const gen_agg_query_t *query, const char *scope,
                           int64_t at, const char *text) {
  const char *const scopes[] = {scope};
  gen_interval_range_t range;
  if (gen_interval_plan(engine, scopes, 1, at, &range) != 1)
    return -1000;
  gen_family_run_t run = {
      .engine = engine, .client = client, .counts = counts, .at_ms = at};
  char err[256] = "";
  return gen_family_apply(&run, query, scopes, 1, &range, text, strlen(text),
                          err, sizeof(err));
}

#endif /* INTERVAL_ANSWER_H */
