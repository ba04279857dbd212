/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check --keys: the table of genesys_realtime's keys, from
 * the plugin's own file (its module_register renamed: each plugin has one).
 */
#define module_register genesys_realtime_module_register
#include "../plugins/genesys_realtime.c"

#include "check.h"

const gen_plugin_t *check_genesys_realtime(void) { return &gr_plugin; }
