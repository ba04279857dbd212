/* SPDX-License-Identifier: MIT */
/* Unit-test helper: an aggregates answer read from its text. */
#ifndef AGG_TEXT_H
#define AGG_TEXT_H 1

#include "gen_agg_answer.h"

#include <stdio.h>
#include <string.h>

/* text read into a new answer (the reason printed as a TAP comment); NULL
 * when it cannot be read. */
static inline gen_agg_answer_t *agg_text(const char *text) {
  gen_agg_answer_t *a = gen_agg_answer_new();
  char err[256];
  if (a != NULL &&
      gen_agg_answer_read(a, text, strlen(text), err, sizeof(err)) != 0) {
    printf("# %s\n", err);
    gen_agg_answer_free(a);
    return NULL;
  }
  return a;
}

#endif /* AGG_TEXT_H */
