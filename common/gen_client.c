/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: one org's API client, and <Org> block parsing.
 */
#include "gen_client.h"
#include "gen_log.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <strings.h>

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
    int status = gen_org_config_key(org, child);
    if (status == GEN_CONFIG_NOT_MINE && key_cb != NULL)
      status = key_cb(org, child, plugin_config);
    if (status == GEN_CONFIG_NOT_MINE) {
      GEN_ERROR("%s plugin: Org \"%s\": unknown option \"%s\"", plugin,
                org->name, child->key);
      status = -EINVAL;
    }
    if (status != 0)
      errors++;
  }
  if (errors == 0 && gen_org_config_finish(org) != 0)
    errors++;
  if (errors > 0) {
    GEN_ERROR("%s plugin: Org \"%s\": %d error(s) in the block; it is "
              "ignored",
              plugin, org->name, errors);
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
  client->http = gen_http_create(org, &client->stats, client->auth);
  if (client->auth == NULL || client->http == NULL) {
    GEN_ERROR("%s plugin: Org \"%s\": cannot create the HTTP client",
              org->plugin, org->name);
    gen_client_free(client);
    return NULL;
  }
  return client;
}

int gen_client_borrow_auth(gen_client_t *client, gen_auth_t *auth) {
  gen_auth_t *own = client->own_auth ? client->own_auth : client->auth;
  gen_auth_t *use = auth != NULL ? auth : own;
  if (use == client->auth)
    return 0;
  gen_http_t *http = gen_http_create(client->org, &client->stats, use);
  if (http == NULL)
    return -ENOMEM;
  gen_http_free(client->http);
  client->http = http;
  client->auth = use;
  client->own_auth = auth != NULL ? own : NULL;
  return 0;
}

void gen_client_free(gen_client_t *client) {
  if (client == NULL)
    return;
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
  const char *at = strstr(err, "permission(s): ");
  size_t skip = strlen("permission(s): ");
  if (at == NULL) {
    at = strstr(err, "assigned: ");
    skip = strlen("assigned: ");
  }
  if (at == NULL) {
    sstrncpy(perm, "unnamed", size);
    return true;
  }
  at += skip;
  /* Up to the " (contextId …)" gen_http appends; a list keeps its commas. */
  const char *end = strstr(at, " (");
  size_t n = end != NULL ? (size_t)(end - at) : strcspn(at, "\n");
  while (n > 0 && (at[n - 1] == '.' || at[n - 1] == ' '))
    n--;
  if (n >= size)
    n = size - 1;
  memcpy(perm, at, n);
  perm[n] = '\0';
  return true;
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
    GEN_WARNING("%s plugin: Org \"%s\": %s: needs the OAuth permission %s "
                "(Genesys answered 403: grant it to the client's role); "
                "still running: %s",
                client->org->plugin, client->org->name, family, perm, still);
  else if (status == 0 && known)
    GEN_INFO("%s plugin: Org \"%s\": %s: permitted again", client->org->plugin,
             client->org->name, family);
  return refused;
}

const char *gen_client_host(const gen_client_t *client) {
  return client->org->host; /* NULL: collectd's own hostname */
}

/* Labels and hosts of the orgs accepted so far in one <Plugin> block: two
 * orgs with the same host would write into the same series. */
typedef struct {
  char names[64][DATA_MAX_NAME_LEN];
  char hosts[64][DATA_MAX_NAME_LEN];
  size_t count;
} seen_orgs_t;

static int check_unique(const gen_plugin_t *plugin, const gen_org_t *org,
                        seen_orgs_t *seen) {
  char host[DATA_MAX_NAME_LEN];
  gen_sanitize_name(org->host ? org->host : hostname_g, host, sizeof(host));
  for (size_t i = 0; i < seen->count; i++) {
    if (strcmp(seen->names[i], org->name) == 0) {
      GEN_ERROR("%s plugin: Org \"%s\" is configured twice; the second "
                "block is ignored",
                plugin->name, org->name);
      return -EEXIST;
    }
    if (strcmp(seen->hosts[i], host) == 0) {
      GEN_ERROR("%s plugin: Org \"%s\": Host \"%s\" is already the host of "
                "Org \"%s\"; give each org its own Host so their values do "
                "not mix; the block is ignored",
                plugin->name, org->name, host, seen->names[i]);
      return -EEXIST;
    }
  }
  if (seen->count >= STATIC_ARRAY_SIZE(seen->names)) {
    GEN_ERROR("%s plugin: more than %zu orgs in one block; Org \"%s\" is "
              "ignored",
              plugin->name, STATIC_ARRAY_SIZE(seen->names), org->name);
    return -E2BIG;
  }
  sstrncpy(seen->names[seen->count], org->name, DATA_MAX_NAME_LEN);
  sstrncpy(seen->hosts[seen->count], host, DATA_MAX_NAME_LEN);
  seen->count++;
  return 0;
}

void *gen_plugin_config_new(const gen_plugin_t *plugin) {
  void *config = calloc(1, plugin->config_size ? plugin->config_size : 1);
  if (config != NULL && plugin->config_init != NULL)
    plugin->config_init(config);
  return config;
}

void gen_plugin_config_free(const gen_plugin_t *plugin, void *config) {
  if (config == NULL)
    return;
  if (plugin->config_release != NULL)
    plugin->config_release(config);
  free(config);
}

void *gen_plugin_instance_new(const gen_plugin_t *plugin, gen_client_t *client,
                              void *config) {
  char *instance = calloc(1, plugin->instance_size);
  if (instance == NULL) {
    gen_client_free(client);
    gen_plugin_config_free(plugin, config);
    return NULL;
  }
  memcpy(instance + plugin->client_offset, &client, sizeof(client));
  /* The struct moves, what it points to stays: only the holder is freed. */
  memcpy(instance + plugin->config_offset, config, plugin->config_size);
  free(config);
  if (plugin->instance_init != NULL && plugin->instance_init(instance) != 0) {
    plugin->instance_free(instance);
    return NULL;
  }
  return instance;
}

static int plugin_config_org(const gen_plugin_t *plugin,
                             const oconfig_item_t *ci, seen_orgs_t *seen) {
  void *config = gen_plugin_config_new(plugin);
  if (config == NULL)
    return -ENOMEM;
  gen_org_t *org =
      gen_config_org_block(plugin->name, ci, plugin->org_key, config);
  if (org != NULL && check_unique(plugin, org, seen) != 0) {
    gen_org_free(org);
    org = NULL;
  }
  if (org == NULL) {
    gen_plugin_config_free(plugin, config);
    return -EINVAL;
  }
  gen_client_t *client = gen_client_create(org);
  if (client == NULL) {
    gen_plugin_config_free(plugin, config);
    return -ENOMEM;
  }
  char name[256];
  snprintf(name, sizeof(name), "%s/%s", plugin->name, client->org->name);
  void *instance = gen_plugin_instance_new(plugin, client, config);
  if (instance == NULL)
    return -EINVAL;
  return plugin_register_complex_read(
      NULL, name, plugin->read, 0,
      &(user_data_t){.data = instance, .free_func = plugin->instance_free});
}

int gen_config_filter_key(const gen_org_t *org, const oconfig_item_t *ci,
                          const char *noun, bool divisions,
                          gen_entity_filter_t *filter) {
  char key[64];
  snprintf(key, sizeof(key), "%sId", noun);
  if (strcasecmp(ci->key, key) == 0)
    return gen_config_string_list(org, ci, &filter->ids, &filter->n_ids);
  snprintf(key, sizeof(key), "%sName", noun);
  if (strcasecmp(ci->key, key) == 0)
    return gen_config_string_list(org, ci, &filter->names, &filter->n_names);
  if (divisions && strcasecmp(ci->key, "DivisionId") == 0)
    return gen_config_string_list(org, ci, &filter->divisions,
                                  &filter->n_divisions);
  return GEN_CONFIG_NOT_MINE;
}

int gen_plugin_config(const gen_plugin_t *plugin, oconfig_item_t *ci) {
  int errors = 0;
  /* The plugin's interval, for values its own threads dispatch later. */
  gen_dispatch_learn_interval(plugin->name);
  seen_orgs_t *seen = calloc(1, sizeof(*seen));
  if (seen == NULL)
    return -ENOMEM;
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *child = &ci->children[i];
    if (strcasecmp(child->key, "Org") == 0) {
      if (plugin_config_org(plugin, child, seen) != 0)
        errors++;
    } else {
      GEN_ERROR("%s plugin: unknown option \"%s\" (expected <Org \"name\"> "
                "blocks)",
                plugin->name, child->key);
      errors++;
    }
  }
  free(seen);
  /* A refused block has been logged with its key and reason. Returning an
   * error here would make collectd refuse the whole configuration and stop,
   * taking every other plugin down with it: the block is refused, collectd
   * and the other plugins keep running. */
  if (errors > 0)
    GEN_ERROR("%s plugin: %d configuration error(s); the refused blocks are "
              "not collected",
              plugin->name, errors);
  return 0;
}

int gen_plugin_init(void) {
  CURLcode rc = curl_global_init(CURL_GLOBAL_SSL);
  if (rc != CURLE_OK) {
    GEN_ERROR("genesys plugins: curl_global_init failed: %s",
              curl_easy_strerror(rc));
    return -1;
  }
  return 0;
}

void gen_client_dispatch_health(gen_client_t *client, const char *plugin) {
  char token[GEN_TOKEN_MAX];
  int status = gen_auth_token(client->auth, token, sizeof(token), NULL);
  OPENSSL_cleanse(token, sizeof(token));
  gen_ident_t up = {.host = gen_client_host(client),
                    .plugin = plugin,
                    .plugin_instance = "self",
                    .type = "api_up"};
  gen_dispatch_gauge(&up, status == 0 ? 1 : 0, 0, 0);
  gen_stats_dispatch(&client->stats, gen_client_host(client), plugin);
}
