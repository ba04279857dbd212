/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: OAuth client-credentials token cache.
 */
#include "gen_auth.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_notice.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#define GEN_AUTH_MIN_AHEAD TIME_T_TO_CDTIME_T(60)
#define GEN_AUTH_BACKOFF_MIN TIME_T_TO_CDTIME_T(5)
#define GEN_AUTH_BACKOFF_MAX TIME_T_TO_CDTIME_T(300)
/* Longest token lifetime believed. More would not fit cdtime_t: 2^34 s
 * wrapped to 0 and the token counted as expired at once (a login request
 * per API request). Genesys gives at most 48 hours. */
#define GEN_AUTH_MAX_LIFETIME_S (30 * 86400)

struct gen_auth_s {
  const gen_org_t *org;
  gen_stats_t *stats;
  pthread_mutex_t lock; /* held for the whole refresh: one at a time */
  gen_http_t *http;     /* used only under lock */
  char *token;          /* registered for redaction while held */
  cdtime_t obtained;
  cdtime_t expires;
  uint64_t generation;
  cdtime_t retry_at; /* no new attempt before this after a failure */
  cdtime_t backoff;
  gen_ratelimit_t complain;
};

gen_auth_t *gen_auth_create(const gen_org_t *org, gen_stats_t *stats) {
  gen_auth_t *auth = calloc(1, sizeof(*auth));
  if (auth == NULL)
    return NULL;
  auth->org = org;
  auth->stats = stats;
  pthread_mutex_init(&auth->lock, NULL);
  auth->http = gen_http_create(org, stats, NULL);
  auth->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(300);
  if (auth->http == NULL) {
    gen_auth_free(auth);
    return NULL;
  }
  return auth;
}

static void drop_token(gen_auth_t *auth) {
  if (auth->token == NULL)
    return;
  gen_redact_remove(auth->token);
  gen_free_secret(auth->token);
  auth->token = NULL;
}

void gen_auth_free(gen_auth_t *auth) {
  if (auth == NULL)
    return;
  drop_token(auth);
  gen_http_free(auth->http);
  pthread_mutex_destroy(&auth->lock);
  free(auth);
}

/* Refresh-ahead margin: 10 % of the lifetime, at least 60 s, at most half. */
static cdtime_t refresh_margin(cdtime_t lifetime) {
  cdtime_t margin = lifetime / 10;
  if (margin < GEN_AUTH_MIN_AHEAD)
    margin = GEN_AUTH_MIN_AHEAD;
  if (margin > lifetime / 2)
    margin = lifetime / 2;
  return margin;
}

static int basic_credentials(const gen_org_t *org, char *out, size_t size) {
  size_t id_len = strlen(org->client_id);
  size_t secret_len = strlen(org->client_secret);
  size_t plain_len = id_len + 1 + secret_len;
  if (4 * ((plain_len + 2) / 3) + sizeof("Basic ") > size)
    return -ENAMETOOLONG;
  unsigned char *plain = malloc(plain_len + 1);
  if (plain == NULL)
    return -ENOMEM;
  memcpy(plain, org->client_id, id_len);
  plain[id_len] = ':';
  memcpy(plain + id_len + 1, org->client_secret, secret_len);
  memcpy(out, "Basic ", 6);
  EVP_EncodeBlock((unsigned char *)out + 6, plain, (int)plain_len);
  OPENSSL_cleanse(plain, plain_len);
  free(plain);
  return 0;
}

/* Fetches a new token. Called with the lock held. */
/* The token goes into an Authorization header: printable ASCII without
 * spaces (RFC 6750's b64token is narrower still), so never CR or LF. */
static bool token_usable(const char *token) {
  if (token == NULL || token[0] == '\0' || strlen(token) >= GEN_TOKEN_MAX)
    return false;
  for (const unsigned char *c = (const unsigned char *)token; *c; c++)
    if (*c <= 0x20 || *c >= 0x7f)
      return false;
  return true;
}

static int refresh(gen_auth_t *auth) {
  const gen_org_t *org = auth->org;
  char url[1024];
  /* Cut, the URL would name another path of the login host, and the
   * client credentials would go there. */
  if (snprintf(url, sizeof(url), "%s/oauth/token", org->login_base_url) >=
      (int)sizeof(url)) {
    gen_org_log(org, &auth->complain, LOG_ERR,
                "LoginBaseURL is too long (more "
                "than %zu bytes)",
                sizeof(url) - 13);
    return GEN_HTTP_ERR_AUTH;
  }
  char authorization[2 * GEN_TOKEN_MAX];
  int status = basic_credentials(org, authorization, sizeof(authorization));
  if (status != 0)
    return status;
  gen_http_response_t resp;
  /* No retries inside: a failing login would hold collectd's read thread
   * for every retry's sleep on each read; the backoff below spaces the
   * attempts instead. */
  gen_http_options_t options = {.content_type =
                                    "application/x-www-form-urlencoded",
                                .authorization = authorization,
                                .no_retry = true,
                                /* {access_token (at most GEN_TOKEN_MAX,
                                 * 4 KiB), token_type, expires_in}, x16 */
                                .answer = GEN_HTTP_BOUND(GEN_KIB(64), "token")};
  status = gen_http_request(auth->http, "POST", url,
                            "grant_type=client_credentials", &options, &resp);
  OPENSSL_cleanse(authorization, sizeof(authorization));
  if (status != 0) {
    gen_org_log(org, &auth->complain, LOG_ERR,
                "cannot get an access token from "
                "%s: %s",
                url, resp.error);
    gen_http_response_reset(&resp);
    return GEN_HTTP_ERR_AUTH;
  }
  json_object *doc = NULL;
  char err[128] = "no body";
  const char *token = NULL;
  int64_t expires_in = 0;
  if (resp.body != NULL && gen_json_parse_net(resp.body, resp.body_len, &doc,
                                              err, sizeof(err)) == 0) {
    token = gen_json_get_string(doc, "access_token");
    if (!gen_json_get_int64(doc, "expires_in", &expires_in))
      expires_in = 0;
    snprintf(err, sizeof(err),
             "no usable access_token (printable ASCII, no spaces) or no "
             "positive expires_in");
  }
  bool usable = token_usable(token) && expires_in > 0;
  char *copy = usable ? gen_secure_strdup(token) : NULL;
  if (resp.body != NULL)
    OPENSSL_cleanse(resp.body, resp.body_len);
  /* json-c's copy: ours to wipe before the document goes. */
  if (token != NULL)
    OPENSSL_cleanse((char *)token, strlen(token));
  json_object_put(doc);
  gen_http_response_reset(&resp);
  if (!usable) {
    if (auth->stats != NULL)
      atomic_fetch_add(&auth->stats->malformed, 1);
    gen_org_log(org, &auth->complain, LOG_ERR,
                "unusable token answer from %s: %s", url, err);
    return GEN_HTTP_ERR_AUTH;
  }
  if (copy == NULL)
    return -ENOMEM;
  drop_token(auth);
  gen_redact_add(copy);
  auth->token = copy;
  auth->obtained = gen_now();
  if (expires_in > GEN_AUTH_MAX_LIFETIME_S)
    expires_in = GEN_AUTH_MAX_LIFETIME_S;
  auth->expires = auth->obtained + TIME_T_TO_CDTIME_T(expires_in);
  auth->generation++;
  if (auth->stats != NULL)
    atomic_fetch_add(&auth->stats->token_refreshes, 1);
  return 0;
}

int gen_auth_token(gen_auth_t *auth, char *buf, size_t size,
                   uint64_t *generation) {
  pthread_mutex_lock(&auth->lock);
  cdtime_t now = gen_now();
  bool valid = auth->token != NULL && now < auth->expires;
  bool due = !valid || now >= auth->expires - refresh_margin(auth->expires -
                                                             auth->obtained);
  if (due && now >= auth->retry_at) {
    int status = refresh(auth);
    if (status == 0) {
      auth->backoff = 0;
      auth->retry_at = 0;
      valid = true;
    } else {
      if (auth->stats != NULL)
        atomic_fetch_add(&auth->stats->token_failures, 1);
      auth->backoff =
          auth->backoff == 0 ? GEN_AUTH_BACKOFF_MIN : 2 * auth->backoff;
      if (auth->backoff > GEN_AUTH_BACKOFF_MAX)
        auth->backoff = GEN_AUTH_BACKOFF_MAX;
      auth->retry_at = now + auth->backoff;
      valid = auth->token != NULL && now < auth->expires;
    }
  }
  int result = GEN_HTTP_ERR_AUTH;
  if (valid && strlen(auth->token) < size) {
    memcpy(buf, auth->token, strlen(auth->token) + 1);
    if (generation != NULL)
      *generation = auth->generation;
    result = 0;
  }
  /* Having a token or none, once per change (not per refresh), under the
   * lock so that the notifications follow the token's own order. */
  gen_notice(auth->org, "self", "api_up", NULL, result != 0, NOTIF_FAILURE,
             "OAuth client %s: %s", auth->org->client_id,
             result != 0 ? "no access token (the log says why)"
                         : "access token obtained again");
  pthread_mutex_unlock(&auth->lock);
  return result;
}

void gen_auth_invalidate(gen_auth_t *auth, uint64_t generation) {
  pthread_mutex_lock(&auth->lock);
  if (auth->generation == generation && auth->token != NULL) {
    drop_token(auth);
    /* A 401 is news: try at once, whatever the failure backoff said. */
    auth->retry_at = 0;
  }
  pthread_mutex_unlock(&auth->lock);
}

double gen_auth_remaining(gen_auth_t *auth) {
  pthread_mutex_lock(&auth->lock);
  double remaining = auth->token == NULL ? -1
                                         : CDTIME_T_TO_DOUBLE(auth->expires) -
                                               CDTIME_T_TO_DOUBLE(gen_now());
  pthread_mutex_unlock(&auth->lock);
  return remaining;
}

static int tokens_token(void *ud, char *buf, size_t size,
                        uint64_t *generation) {
  return gen_auth_token(ud, buf, size, generation);
}

static void tokens_invalidate(void *ud, uint64_t generation) {
  gen_auth_invalidate(ud, generation);
}

gen_http_tokens_t gen_auth_tokens(gen_auth_t *auth) {
  return (gen_http_tokens_t){
      .token = tokens_token, .invalidate = tokens_invalidate, .ud = auth};
}
