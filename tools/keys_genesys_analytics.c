/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check --keys: the table of genesys_analytics's keys, from
 * the plugin's own file (its module_register renamed: each plugin has one).
 */
#define module_register genesys_analytics_module_register
#include "../plugins/genesys_analytics.c"

#include "check.h"

const gen_plugin_t *check_genesys_analytics(void) { return &ga_plugin; }
