/* SPDX-License-Identifier: MIT */
/* Unit tests: the framework's process-wide choices (gen_plugin.c). */
#include "gen_plugin.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

/* The arena cap is left to the operator who set one, by either of glibc's
 * two ways, and taken by the plugins otherwise. */
DEF_TEST(arenas_chosen_by_the_environment) {
  OK(!gen_plugin_arenas_chosen(NULL, NULL));
  OK(gen_plugin_arenas_chosen("0", NULL)); /* glibc's default, chosen */
  OK(gen_plugin_arenas_chosen("8", NULL));
  OK(gen_plugin_arenas_chosen("", NULL));
  OK(gen_plugin_arenas_chosen(NULL, "glibc.malloc.arena_max=4"));
  OK(gen_plugin_arenas_chosen(
      NULL, "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1"));
  /* other tunables, arena_test among them, choose no cap */
  OK(!gen_plugin_arenas_chosen(NULL, "glibc.malloc.arena_test=2"));
  OK(!gen_plugin_arenas_chosen(NULL, "glibc.malloc.tcache_count=0"));
  OK(!gen_plugin_arenas_chosen(NULL, ""));
  return 0;
}

int main(void) {
  RUN_TEST(arenas_chosen_by_the_environment);
  END_TEST;
}
