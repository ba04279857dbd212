/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the plugin framework the plugins share. A plugin
 * describes itself in a gen_plugin_t (its <Org> keys, its config and
 * instance structs, their set-up and release, its read callback);
 * gen_plugin_config() turns every <Org> block of its <Plugin> block into
 * an instance with its own client (gen_client) and its own read callback
 * "<plugin>/<org>", refusing a bad block with the key, the value and why
 * while collectd and the other blocks go on.
 */
#ifndef GEN_PLUGIN_H
#define GEN_PLUGIN_H 1

#include "gen_client.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  const char *name; /* "genesys_realtime", … */
  /* Plugin-specific <Org> keys (NULL = none), filling a config struct of
   * config_size bytes: zeroed, given its defaults by config_init(), parsed,
   * then moved into the instance. config_release() frees what it holds (not
   * the struct itself). */
  gen_org_key_cb org_key;
  /* Those keys as tables, each at its module's offset in the config struct
   * (org_key reads them with gen_config_parts_key), for gen_plugin_keys. */
  const gen_config_part_t *keys;
  size_t n_keys;
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

/* Calls each(def, ud) for every key of the plugin's <Org> blocks: the
 * shared keys (gen_org_keys), then the plugin's tables in their order. */
void gen_plugin_keys(const gen_plugin_t *plugin,
                     void (*each)(const gen_config_def_t *def, void *ud),
                     void *ud);

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

/* collectd's entry into the plugin the gen_plugin_t p describes: its
 * complex-config callback (gen_plugin_config) and init (gen_plugin_init),
 * both under p's name. */
#define GEN_PLUGIN_REGISTER(p)                                                 \
  static int gen_plugin_config_cb(oconfig_item_t *ci) {                        \
    return gen_plugin_config(&(p), ci);                                        \
  }                                                                            \
  void module_register(void) {                                                 \
    plugin_register_complex_config((p).name, gen_plugin_config_cb);            \
    plugin_register_init((p).name, gen_plugin_init);                           \
  }

/* Whether collectd's environment chooses glibc's malloc arena cap itself
 * (MALLOC_ARENA_MAX set, or arena_max among GLIBC_TUNABLES): then the
 * plugins leave the cap alone (MEMORY in collectd-genesys(5)). */
bool gen_plugin_arenas_chosen(const char *malloc_arena_max,
                              const char *glibc_tunables);

#endif /* GEN_PLUGIN_H */
