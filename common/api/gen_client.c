/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: one org's API client, and <Org> block parsing.
 */
#include "gen_client.h"
#include "gen_err.h"
#include "gen_log.h"
#include "gen_notice.h"

#include <openssl/crypto.h>

gen_org_t *gen_config_org_block(const char *plugin, const oconfig_item_t *ci,
                                gen_org_key_cb key_cb, void *plugin_config) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[0].value.string[0] == '\0') {
    GEN_ERROR("%s plugin: <%s> needs one string argument, the org's label, "
              "e.g. <%s \"acme\">",
              plugin, ci->key, ci->key);
    return NULL;
  }
  gen_org_t *org = gen_org_create(plugin, ci->values[0].value.string);
  if (org == NULL)
    return NULL;
  int errors = 0;
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *child = &ci->children[i];
    int status = gen_config_table_key(org, child, &gen_org_keys, org);
    if (status == GEN_CONFIG_NOT_MINE && key_cb != NULL)
      status = key_cb(org, child, plugin_config);
    if (status == GEN_CONFIG_NOT_MINE) {
      gen_org_log(org, NULL, LOG_ERR, "unknown option \"%s\"", child->key);
      status = -EINVAL;
    }
    if (status != 0)
      errors++;
  }
  if (errors == 0 && gen_org_config_finish(org) != 0)
    errors++;
  if (errors > 0) {
    gen_org_log(org, NULL, LOG_ERR, "%d error(s) in the block; it is ignored",
                errors);
    gen_org_free(org);
    return NULL;
  }
  return org;
}

gen_client_t *gen_client_create(gen_org_t *org) {
  gen_client_t *client = calloc(1, sizeof(*client));
  if (client == NULL) {
    gen_org_free(org);
    return NULL;
  }
  client->org = org;
  pthread_mutex_init(&client->family_lock, NULL);
  gen_stats_init(&client->stats);
  client->auth = gen_auth_create(org, &client->stats);
  gen_http_tokens_t tokens = gen_auth_tokens(client->auth);
  client->http = gen_http_create(org, &client->stats, &tokens);
  const char *why =
      client->auth == NULL || client->http == NULL
          ? "cannot create the HTTP client"
      : gen_dispatch_budget(org->host, org->plugin, org->max_series) != 0
          ? "cannot keep MaxSeries: out of memory"
          : NULL;
  if (why != NULL) {
    gen_org_log(org, NULL, LOG_ERR, "%s", why);
    gen_client_free(client);
    return NULL;
  }
  client->budget = org->max_series > 0;
  return client;
}

int gen_client_borrow_auth(gen_client_t *client, gen_auth_t *auth) {
  gen_auth_t *own = client->own_auth ? client->own_auth : client->auth;
  gen_auth_t *use = auth != NULL ? auth : own;
  if (use == client->auth)
    return 0;
  gen_http_tokens_t tokens = gen_auth_tokens(use);
  gen_http_t *http = gen_http_create(client->org, &client->stats, &tokens);
  if (http == NULL)
    return -ENOMEM;
  gen_http_defer_retries(http, client->defer);
  gen_http_free(client->http);
  client->http = http;
  client->auth = use;
  client->own_auth = auth != NULL ? own : NULL;
  return 0;
}

void gen_client_free(gen_client_t *client) {
  if (client == NULL)
    return;
  if (client->budget)
    gen_dispatch_budget_drop(client->org->host, client->org->plugin);
  gen_http_free(client->http);
  gen_auth_free(client->own_auth ? client->own_auth : client->auth);
  gen_org_free(client->org);
  pthread_mutex_destroy(&client->family_lock);
  free(client);
}

bool gen_missing_permission(const char *err, char *perm, size_t size) {
  if (err == NULL || (strstr(err, "HTTP 403 missing.permissions") == NULL &&
                      strstr(err, "HTTP 403 missing.any.permissions") == NULL))
    return false;
  /* The messages of both codes end with the list (public record: the
   * gcloudcx client's errors.go): "…permission(s): %s" and "…assigned:
   * %s". */
  static const char *const before[] = {"permission(s): ", "assigned: "};
  const char *at = NULL;
  for (size_t i = 0; at == NULL && i < STATIC_ARRAY_SIZE(before); i++)
    if ((at = strstr(err, before[i])) != NULL)
      at += strlen(before[i]);
  if (at == NULL)
    at = "unnamed"; /* a message of neither form */
  /* Up to the " (contextId …)" gen_http appends; a list keeps its commas. */
  const char *end = strstr(at, " (");
  size_t n = end != NULL ? (size_t)(end - at) : strcspn(at, "\n");
  while (n > 0 && (at[n - 1] == '.' || at[n - 1] == ' '))
    n--;
  snprintf(perm, size, "%.*s", (int)n, at);
  return true;
}

/* A family refused a permission and permitted again, its answers malformed
 * and readable again: notifications once per change (gen_notice). Any
 * other failure says nothing either way. */
static void family_notices(gen_client_t *client, const char *family, int status,
                           const char *err, const char *perm) {
  if (perm != NULL || status == 0)
    gen_notice(client->org, "self", "permission", family, perm != NULL,
               NOTIF_FAILURE, "%s: %s%s", family,
               perm != NULL ? "needs the OAuth permission " : "permitted again",
               perm != NULL ? perm : "");
  bool malformed = status != 0 && gen_err_malformed(status);
  if (malformed || status == 0)
    gen_notice(client->org, "self", "malformed", family, malformed,
               NOTIF_WARNING, "%s: %s%s", family,
               malformed ? "malformed answers: " : "answers readable again",
               malformed && err != NULL ? err : "");
}

bool gen_client_family(gen_client_t *client, const char *family, int status,
                       const char *err, const char *still) {
  char perm[256];
  bool refused = status != 0 && gen_missing_permission(err, perm, sizeof(perm));
  pthread_mutex_lock(&client->family_lock);
  size_t i = 0;
  while (i < client->n_refused && strcmp(client->refused[i], family) != 0)
    i++;
  bool known = i < client->n_refused;
  if (refused && !known && client->n_refused < GEN_CLIENT_FAMILIES)
    client->refused[client->n_refused++] = family;
  else if (status == 0 && known)
    client->refused[i] = client->refused[--client->n_refused];
  pthread_mutex_unlock(&client->family_lock);
  if (refused && !known)
    gen_org_log(client->org, NULL, LOG_WARNING,
                "%s: needs the OAuth permission %s "
                "(Genesys answered 403: grant it to the client's role); "
                "still running: %s",
                family, perm, still);
  else if (status == 0 && known)
    gen_org_log(client->org, NULL, LOG_INFO, "%s: permitted again", family);
  family_notices(client, family, status, err, refused ? perm : NULL);
  return refused;
}

uint64_t gen_client_requests(const gen_client_t *client) {
  uint64_t n = 0;
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(client->stats.requests); i++)
    n += atomic_load(&client->stats.requests[i]);
  return n;
}

const char *gen_client_host(const gen_client_t *client) {
  return client->org->host; /* NULL: collectd's own hostname */
}

void gen_client_dispatch_health(gen_client_t *client, const char *plugin) {
  char token[GEN_TOKEN_MAX];
  int status = gen_auth_token(client->auth, token, sizeof(token), NULL);
  OPENSSL_cleanse(token, sizeof(token));
  gen_dispatch_self(gen_client_host(client), plugin, "api_up", NULL, false,
                    status == 0 ? 1 : 0);
  gen_stats_dispatch(&client->stats, gen_client_host(client), plugin);
  gen_dispatch_budget_stats(gen_client_host(client), plugin);
  /* Held notifications leave at a read once the limits allow. */
  gen_notices_flush(client->org);
  gen_dispatch_self(gen_client_host(client), plugin, "notifications_held_back",
                    NULL, true, (double)gen_notices_held(client->org));
}

bool gen_client_unknown(gen_client_t *client, const char *family,
                        const char *field, const char *word) {
  const gen_log_org_t who = {client->org->plugin, client->org->name};
  return gen_stats_unknown(&client->stats, &who, family, field, word);
}
