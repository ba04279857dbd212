/* SPDX-License-Identifier: MIT */
/* Unit-test helper: the client of an org at https://api.example.test for a
 * test that answers its requests itself (it includes gen_http.c and sets
 * http_perform, the transport seam). */
#ifndef FAKE_CLIENT_H
#define FAKE_CLIENT_H 1

#include "gen_client.h"

#include <pthread.h>
#include <string.h>

/* c for org "acme" of plugin, max_retries retries a request (0: a 429 is
 * final at once). */
static void fake_client_init(gen_client_t *c, const char *plugin,
                             int max_retries) {
  memset(c, 0, sizeof(*c));
  gen_org_t *org = gen_org_create(plugin, "acme");
  org->api_base_url = strdup("https://api.example.test");
  org->max_retries = max_retries;
  c->org = org;
  pthread_mutex_init(&c->family_lock, NULL);
  gen_stats_init(&c->stats);
  c->http = gen_http_create(org, &c->stats, NULL);
}

static void fake_client_free(gen_client_t *c) {
  gen_http_free(c->http);
  pthread_mutex_destroy(&c->family_lock);
  gen_org_free((gen_org_t *)c->org);
}

/* A fake transport's answer: status and a copy of text, no rate-limit or
 * Retry-After headers. */
static inline void fake_answer(gen_http_response_t *resp, long status,
                               const char *text) {
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->status = status;
  resp->body = strdup(text);
  resp->body_len = strlen(resp->body);
}

#endif /* FAKE_CLIENT_H */
