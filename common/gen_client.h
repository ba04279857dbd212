/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: one org's API client as the plugins use it: its
 * configuration, self-metrics, token cache and HTTP handle, plus the
 * parsing of an <Org> block that every plugin shares.
 */
#ifndef GEN_CLIENT_H
#define GEN_CLIENT_H 1

#include "gen_auth.h"
#include "gen_config.h"
#include "gen_entity.h"
#include "gen_http.h"
#include "gen_stats.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Families (what one kind of request feeds) known to be refused a
 * permission: see gen_client_family(). */
#define GEN_CLIENT_FAMILIES 16

typedef struct {
  gen_org_t *org;
  gen_stats_t stats;
  gen_auth_t *auth;     /* shared by every thread of the instance */
  gen_http_t *http;     /* for the read callback's thread only */
  gen_auth_t *own_auth; /* its own while auth is borrowed, else NULL */
  pthread_mutex_t family_lock;
  const char *refused[GEN_CLIENT_FAMILIES]; /* family names (static) */
  size_t n_refused;
} gen_client_t;

/* Handles one plugin-specific key of an <Org> block: returns 0 when valid,
 * GEN_CONFIG_NOT_MINE when unknown, a negative errno (after logging with
 * gen_config_error) when invalid. */
typedef int (*gen_org_key_cb)(gen_org_t *org, const oconfig_item_t *ci,
                              void *plugin_config);

/* Parses an <Org "name"> block: shared keys first, then key_cb for the rest;
 * an unknown key is an error. Every error is logged; the block is refused
 * (NULL) if any key was wrong or the org is incomplete. */
gen_org_t *gen_config_org_block(const char *plugin, const oconfig_item_t *ci,
                                gen_org_key_cb key_cb, void *plugin_config);

/* The entity filter keys of an <Org> block: "<noun>Id", "<noun>Name" and,
 * with divisions, "DivisionId"; GEN_CONFIG_NOT_MINE for any other key. */
int gen_config_filter_key(const gen_org_t *org, const oconfig_item_t *ci,
                          const char *noun, bool divisions,
                          gen_entity_filter_t *filter);

/* Takes ownership of org. NULL on failure (org freed). */
gen_client_t *gen_client_create(gen_org_t *org);
void gen_client_free(gen_client_t *client);

/* Makes the client take its tokens from auth (borrowed: one token cache for
 * every instance of one OAuth client), or from its own again with NULL.
 * Only while no other thread uses the client. 0 or -ENOMEM (unchanged). */
int gen_client_borrow_auth(gen_client_t *client, gen_auth_t *auth);
/* The outcome of a request that feeds one family of values (family: a
 * static name such as "agent status"). When err is Genesys' answer to a
 * missing OAuth permission (HTTP 403 missing.permissions or
 * missing.any.permissions), logs one warning naming the family, the
 * permission and what still runs (still: "queue aggregates"), the first
 * time only, and returns true: the caller logs nothing more. When status
 * is 0 after such a refusal, logs that the family works again. Returns
 * false for every other outcome. */
bool gen_client_family(gen_client_t *client, const char *family, int status,
                       const char *err, const char *still);

/* The permission a Genesys 403 error text names ("HTTP 403
 * missing.permissions: … permission(s): a:b:view"): true and the names in
 * perm ("unnamed" when the text has none), false for any other error. */
bool gen_missing_permission(const char *err, char *perm, size_t size);

/* The collectd host field for this org's values. */
const char *gen_client_host(const gen_client_t *client);

/* ---- plugin scaffolding shared by the three plugins ------------------- */

typedef struct {
  const char *name; /* "genesys_realtime", … */
  /* Plugin-specific <Org> keys (NULL = none), filling a config struct of
   * config_size bytes: zeroed, given its defaults by config_init(), parsed,
   * then moved into the instance. config_release() frees what it holds (not
   * the struct itself). */
  gen_org_key_cb org_key;
  size_t config_size;
  void (*config_init)(void *config);
  void (*config_release)(void *config);
  /* The per-org instance: instance_size zeroed bytes holding the client
   * (a gen_client_t * at client_offset) and the config (at config_offset),
   * both put there by the scaffolding before instance_init() does the rest.
   * On a negative return (logged), instance_free() is called: it must free
   * a partly built instance, its config, client and itself. */
  size_t instance_size, client_offset, config_offset;
  int (*instance_init)(void *instance);
  void (*instance_free)(void *instance);
  int (*read)(user_data_t *ud);
} gen_plugin_t;

/* The instance fields of gen_plugin_t for a struct type with members client
 * and config. */
#define GEN_PLUGIN_INSTANCE(type)                                              \
  .config_size = sizeof(((type *)0)->config), .instance_size = sizeof(type),   \
  .client_offset = offsetof(type, client),                                     \
  .config_offset = offsetof(type, config)

/* A plugin's config with its defaults, NULL when out of memory. */
void *gen_plugin_config_new(const gen_plugin_t *plugin);
void gen_plugin_config_free(const gen_plugin_t *plugin, void *config);

/* Builds the instance of one org; takes ownership of client and config
 * (both freed on failure). NULL on failure. */
void *gen_plugin_instance_new(const gen_plugin_t *plugin, gen_client_t *client,
                              void *config);

/* The complex-config callback body: every <Org> block becomes an instance
 * with its own read callback "<plugin>/<org>". A refused block is logged
 * (key, value, reason) and skipped; 0 is returned so that collectd and its
 * other plugins keep running. */
int gen_plugin_config(const gen_plugin_t *plugin, oconfig_item_t *ci);

/* The init callback body: global libcurl set-up, while collectd is still
 * single-threaded. */
int gen_plugin_init(void);

/* Token health ("api_up" 1/0) and the self-metrics of a client. */
void gen_client_dispatch_health(gen_client_t *client, const char *plugin);

#endif /* GEN_CLIENT_H */
