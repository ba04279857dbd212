/* SPDX-License-Identifier: MIT */
/* The bounds of WaitBuckets' default (genesys_realtime's row, "5 10 20 30
 * 60 120 300"), as test data for the modules given bounds by their caller;
 * test_realtime checks that the row gives these. */
#ifndef WAITS_BOUNDS_H
#define WAITS_BOUNDS_H 1

#include "gen_waits.h"

#include <string.h>

static inline void waits_bounds_default(gen_waits_bounds_t *b) {
  static const double bounds[] = {5, 10, 20, 30, 60, 120, 300};
  memcpy(b->bound, bounds, sizeof(bounds));
  b->n = sizeof(bounds) / sizeof(bounds[0]);
}

#endif /* WAITS_BOUNDS_H */
