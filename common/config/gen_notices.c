/* SPDX-License-Identifier: MIT */
/* collectd-genesys: the memory of an org's notification subjects
 * (gen_notices.h). */
#include "gen_notices.h"

#include <stdlib.h>

struct gen_notices_s *gen_notices_create(void) {
  struct gen_notices_s *n = calloc(1, sizeof(*n));
  if (n != NULL) {
    pthread_mutex_init(&n->lock, NULL);
    n->last.kind = GEN_MAP_KEY;
  }
  return n;
}

void gen_notices_free(struct gen_notices_s *n) {
  if (n == NULL)
    return;
  size_t pos = 0;
  const void *key;
  void *value;
  while (gen_map_next(&n->last, &pos, &key, &value)) {
    notice_entry_t *e = value;
    free(e->pending);
    free(e->key);
    free(e);
  }
  gen_map_free(&n->last);
  pthread_mutex_destroy(&n->lock);
  free(n);
}

/* The subject's entry (under the lock), made for a bad state; NULL for a
 * good state never bad (none is good) or out of memory (*status). */
