/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check --keys: the table of genesys_flowmetrics's keys, from
 * the plugin's own file (its module_register renamed: each plugin has one).
 */
#define module_register genesys_flowmetrics_module_register
#include "../plugins/genesys_flowmetrics.c"

#include "check.h"

const gen_plugin_t *check_genesys_flowmetrics(void) { return &gf_plugin; }
