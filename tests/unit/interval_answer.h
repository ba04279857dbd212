/* SPDX-License-Identifier: MIT */
/* Unit-test helper for plugins built on gen_interval: plans the range due
 * at `at` for one scope, and takes a JSON answer to it (commit or abort). */
#ifndef INTERVAL_ANSWER_H
#define INTERVAL_ANSWER_H 1

#include "gen_aggregates.h"

#include <string.h>

/* -1000 when nothing was due; else what gen_agg_apply() returns
 * (-EINVAL for text that is not JSON). */
static int interval_answer(const gen_agg_job_t *job, const char *scope,
                           int64_t at, const char *text) {
  const char *const scopes[] = {scope};
  gen_interval_range_t range;
  if (gen_interval_plan(job->engine, scopes, 1, at, &range) != 1)
    return -1000;
  char err[256] = "";
  return gen_agg_apply(job, scopes, 1, &range, at, text, strlen(text), err,
                       sizeof(err));
}

#endif /* INTERVAL_ANSWER_H */
