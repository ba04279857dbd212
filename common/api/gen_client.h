/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: one org's API client as the plugins use it: its
 * configuration, self-metrics, token cache and HTTP handle, plus the
 * parsing of an <Org> block that every plugin shares. The plugin framework
 * on top of it (<Org> blocks to instances and read callbacks) is
 * gen_plugin.
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
  bool defer;  /* http retries without sleeping (gen_http_defer_retries) */
  bool budget; /* holds a reference of its org's MaxSeries */
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

/* The entity filter keys of an <Org> block, in a table: "<noun>Id",
 * "<noun>Name" (GEN_KEY_FILTER) and "DivisionId" (GEN_KEY_DIVISIONS) for
 * the gen_entity_filter_t M of the struct S, what naming the entities. */
#define GEN_KEY_FILTER(noun, what, S, M)                                       \
  GEN_KEY_STRINGS(noun "Id", S, M.ids, M.n_ids, "only these " what " (ids)"),  \
      GEN_KEY_STRINGS(noun "Name", S, M.names, M.n_names,                      \
                      "only " what " whose name matches a pattern (fnmatch)")
#define GEN_KEY_DIVISIONS(what, S, M)                                          \
  GEN_KEY_STRINGS("DivisionId", S, M.divisions, M.n_divisions,                 \
                  "only " what " of these divisions")

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
/* gen_stats_unknown() on the client's stats, logged as its org: a value of
 * family's field that this version does not know. True when word is new. */
bool gen_client_unknown(gen_client_t *client, const char *family,
                        const char *field, const char *word);

/* The permission a Genesys 403 error text names ("HTTP 403
 * missing.permissions: … permission(s): a:b:view"): true and the names in
 * perm ("unnamed" when the text has none), false for any other error. */
bool gen_missing_permission(const char *err, char *perm, size_t size);

/* Every HTTP request the client made so far (each page of a listing one):
 * the difference across a call is what it cost. */
uint64_t gen_client_requests(const gen_client_t *client);

/* The collectd host field for this org's values. */
const char *gen_client_host(const gen_client_t *client);

/* Token health ("api_up" 1/0) and the self-metrics of a client. */
void gen_client_dispatch_health(gen_client_t *client, const char *plugin);

#endif /* GEN_CLIENT_H */
