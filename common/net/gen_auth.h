/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: OAuth client-credentials token cache.
 *
 * POST <login>/oauth/token with "Authorization: Basic base64(id:secret)" and
 * grant_type=client_credentials (the OAuth client-credentials grant as the
 * Genesys SDKs send it). The token
 * is refreshed ahead of expiry (10 % of its lifetime, at least 60 s, at most
 * half of it), by one thread at a time: the others wait for that refresh and
 * use its result. After a failed refresh, new attempts back off (5 s doubling
 * to 5 min) while any still-valid token keeps being used.
 */
#ifndef GEN_AUTH_H
#define GEN_AUTH_H 1

#include "gen_config.h"
#include "gen_http.h"
#include "gen_stats.h"

#include <stdint.h>

typedef struct gen_auth_s gen_auth_t;

gen_auth_t *gen_auth_create(const gen_org_t *org, gen_stats_t *stats);
void gen_auth_free(gen_auth_t *auth);

/* Copies a valid token into buf, refreshing first when it is due. *generation
 * (may be NULL) identifies the token for gen_auth_invalidate(). Returns 0,
 * or a negative code (GEN_HTTP_ERR_AUTH) after logging why. */
int gen_auth_token(gen_auth_t *auth, char *buf, size_t size,
                   uint64_t *generation);

/* Drops the token of this generation (a 401 said it is no longer valid), so
 * the next gen_auth_token() refreshes. A newer token is left alone, so that
 * several threads seeing the same 401 cause one refresh only. */
void gen_auth_invalidate(gen_auth_t *auth, uint64_t generation);

/* A token source for gen_http_create() that takes its tokens from auth. */
gen_http_tokens_t gen_auth_tokens(gen_auth_t *auth);

/* Seconds until the current token expires (negative when none). */
double gen_auth_remaining(gen_auth_t *auth);

#endif /* GEN_AUTH_H */
