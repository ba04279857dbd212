/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: stand-ins for the collectd daemon's functions, for the
 * programs that run the shared core outside collectd (the check command,
 * bench_realtime). Log lines and dispatched values go to hooks.
 */
#ifndef GEN_STANDALONE_H
#define GEN_STANDALONE_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"

/* Every log line (NULL: dropped). */
extern void (*standalone_log)(int level, const char *message);
/* Every dispatched value (NULL: dropped, 0 returned). */
extern int (*standalone_dispatch)(const value_list_t *vl);

#endif /* GEN_STANDALONE_H */
