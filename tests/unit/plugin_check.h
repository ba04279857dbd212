/* SPDX-License-Identifier: MIT */
/* Unit test shared by each plugin's test file, which includes the plugin's
 * source: the plugin registers, turns <Org> blocks into read callbacks and
 * refuses bad blocks without failing collectd's configuration. */
#ifndef PLUGIN_CHECK_H
#define PLUGIN_CHECK_H 1

#include "gen_plugin.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

static oconfig_item_t *plugin_block(const char *org_name, const char *region) {
  char key[64];
  snprintf(key, sizeof(key), "Org=%s", org_name);
  return mock_ci("Plugin", 1,
                 mock_ci(key, 3, mock_ci_str("Region", region),
                         mock_ci_str("ClientId", "id"),
                         mock_ci_str("ClientSecret", "secret-for-tests")));
}

static int check_plugin(void (*reg)(void), const char *name) {
  mock_reads_reset();
  mock_config_cb = NULL;
  mock_init_cb = NULL;
  reg();
  CHECK_NOT_NULL((void *)mock_config_cb);
  CHECK_NOT_NULL((void *)mock_init_cb);
  /* module_register only registers: no read until configured. */
  EXPECT_EQ_INT(0, mock_reads_num);

  oconfig_item_t *ci = plugin_block("acme", "eu_west_1");
  EXPECT_EQ_INT(0, mock_config_cb(ci));
  mock_ci_free(ci);
  EXPECT_EQ_INT(1, mock_reads_num);
  /* The plugins register no write callback: the order of values is
   * collectd's (WriteThreads). */
  EXPECT_EQ_INT(0, mock_init_cb());
  EXPECT_EQ_INT(0, mock_writers_count());
  char want[128];
  snprintf(want, sizeof(want), "%s/acme", name);
  EXPECT_EQ_STR(want, mock_reads[0].name);
  OK(mock_reads[0].ud.free_func != NULL);

  /* A bad block is logged, refused, and does not fail the configuration. */
  mock_log_reset();
  ci = plugin_block("broken", "atlantis");
  EXPECT_EQ_INT(0, mock_config_cb(ci));
  mock_ci_free(ci);
  EXPECT_EQ_INT(1, mock_reads_num);
  snprintf(want, sizeof(want),
           "%s plugin: Org \"broken\": Region \"atlantis\": unknown region",
           name);
  OK(mock_log_contains(want));

  /* The same org twice, or two orgs on one host, would mix their series. */
  mock_log_reset();
  ci = mock_ci("Plugin", 2,
               mock_ci("Org=twin", 3, mock_ci_str("Region", "eu_west_1"),
                       mock_ci_str("ClientId", "id"),
                       mock_ci_str("ClientSecret", "secret-for-tests")),
               mock_ci("Org=twin", 3, mock_ci_str("Region", "eu_west_1"),
                       mock_ci_str("ClientId", "id"),
                       mock_ci_str("ClientSecret", "secret-for-tests")));
  EXPECT_EQ_INT(0, mock_config_cb(ci));
  mock_ci_free(ci);
  EXPECT_EQ_INT(2, mock_reads_num);
  OK(mock_log_contains("Org \"twin\" is configured twice"));

  /* Keys outside <Org> are errors too. */
  mock_log_reset();
  ci = mock_ci("Plugin", 1, mock_ci_str("Region", "eu_west_1"));
  EXPECT_EQ_INT(0, mock_config_cb(ci));
  mock_ci_free(ci);
  snprintf(want, sizeof(want), "%s plugin: unknown option \"Region\"", name);
  OK(mock_log_contains(want));
  mock_reads_reset();
  return 0;
}

typedef struct {
  const gen_config_def_t *defs[256];
  size_t n;
} key_list_t;

static void list_key(const gen_config_def_t *def, void *ud) {
  key_list_t *list = ud;
  if (list->n < STATIC_ARRAY_SIZE(list->defs))
    list->defs[list->n++] = def;
}

/* Whether the field of def in config holds def's typed default. */
static bool typed_default_given(const gen_config_def_t *def,
                                const char *config) {
  const char *field = config + def->offset;
  switch (def->type) {
  case GEN_CFG_BOOL:
    return *(const bool *)field == (def->dflt != 0);
  case GEN_CFG_SECONDS:
    return *(const cdtime_t *)field == DOUBLE_TO_CDTIME_T(def->dflt);
  case GEN_CFG_NUMBER:
    return *(const double *)field == def->dflt;
  default:
    return def->size == sizeof(long) ? *(const long *)field == (long)def->dflt
                                     : *(const int *)field == (int)def->dflt;
  }
}

/* The plugin's keys (the shared ones, then its tables): none twice, each
 * with a description, and each typed default one gen_config_defaults()
 * can give (its field's size, within its own bounds): a bad row of any
 * table of the plugin fails here. */
static int check_plugin_keys(const gen_plugin_t *plugin) {
  key_list_t list = {.n = 0};
  gen_plugin_keys(plugin, list_key, &list);
  OK(list.n > gen_org_keys.n);
  OK(list.n < STATIC_ARRAY_SIZE(list.defs));
  for (size_t i = 0; i < list.n; i++) {
    OK(list.defs[i]->doc != NULL && list.defs[i]->doc[0] != '\0');
    const char *problem = gen_config_default_problem(list.defs[i]);
    if (problem != NULL)
      printf("%s: %s %s\n", plugin->name, list.defs[i]->key, problem);
    OK(problem == NULL);
    for (size_t j = 0; j < i; j++)
      if (strcasecmp(list.defs[i]->key, list.defs[j]->key) == 0) {
        printf("%s: %s twice\n", plugin->name, list.defs[i]->key);
        OK(false);
      }
  }
  /* A new config holds every typed default: the plugin's init applies
   * each of its tables and overrides none. */
  char *config = gen_plugin_config_new(plugin);
  CHECK_NOT_NULL(config);
  for (size_t p = 0; p < plugin->n_keys; p++) {
    const gen_config_part_t *part = &plugin->keys[p];
    for (size_t i = 0; i < part->table->n; i++) {
      const gen_config_def_t *def = &part->table->defs[i];
      bool given =
          !def->dflt_set || typed_default_given(def, config + part->offset);
      if (!given)
        printf("%s: %s: not given its default %g\n", plugin->name, def->key,
               def->dflt);
      OK(given);
    }
  }
  gen_plugin_config_free(plugin, config);
  /* Every default text was read by its key's reader (a refused one is a
   * row's bug, logged and counted). */
  EXPECT_EQ_INT(0, (int)gen_config_default_failures());
  return 0;
}

#endif /* PLUGIN_CHECK_H */
