/* SPDX-License-Identifier: MIT */
/* A sliding minute of requests (gen_minute.h). */
#include "gen_minute.h"

#include <errno.h>
#include <stdlib.h>

#define MINUTE TIME_T_TO_CDTIME_T(60)

int gen_minute_init(gen_minute_t *m, size_t n) {
  m->n = n > 0 ? n : 1;
  m->head = 0;
  m->sent = calloc(m->n, sizeof(*m->sent));
  return m->sent == NULL ? -ENOMEM : 0;
}

void gen_minute_free(gen_minute_t *m) {
  free(m->sent);
  m->sent = NULL;
}

size_t gen_minute_left(const gen_minute_t *m, cdtime_t now) {
  size_t n = 0;
  /* From the oldest: the slots used more than a minute ago are free. */
  while (n < m->n) {
    cdtime_t t = m->sent[(m->head + n) % m->n];
    if (t != 0 && now - t < MINUTE && t <= now)
      break;
    n++;
  }
  return n;
}

void gen_minute_spend(gen_minute_t *m, uint64_t n, cdtime_t now) {
  for (uint64_t k = 0; k < n; k++) {
    m->sent[m->head] = now;
    m->head = (m->head + 1) % m->n;
  }
}

bool gen_minute_room(const gen_minute_t *m, size_t cost, cdtime_t now) {
  size_t left = gen_minute_left(m, now);
  return cost <= left || left == m->n;
}

bool gen_minute_outcome(gen_client_t *client, const char *family, int status,
                        const char *err, const char *what, uint64_t *failures,
                        gen_ratelimit_t *rl) {
  if (gen_client_family(client, family, status, err, "queue observations"))
    return true;
  if (status != 0) {
    (*failures)++;
    gen_org_log(client->org, rl, LOG_WARNING, "%s: %s: %s", family, what, err);
  }
  return false;
}
