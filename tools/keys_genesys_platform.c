/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check --keys: the table of genesys_platform's keys, from
 * the plugin's own file (its module_register renamed: each plugin has one).
 */
#define module_register genesys_platform_module_register
#include "../plugins/genesys_platform.c"

#include "check.h"

const gen_plugin_t *check_genesys_platform(void) { return &gp_plugin; }
