/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: replaying a window of history (collectd-genesys-check
 * --replay), after a backend downstream of collectd lost it.
 *
 * A replay asks a history family's queries for whole buckets of a past window
 * with an engine of its own that has no state file (the running plugin's
 * state files are never read or written), and hands on each bucket's
 * values, at the bucket's end as the plugin dispatched them, as collectd
 * PUTVAL lines: to collectd's unixsock plugin, or to a stream.
 *
 * Counters are not replayed: a total (DERIVE) is the plugin's running sum
 * kept in its state file since it started; a replay cannot know it at a
 * past instant without that file, and a total with another value at an old
 * time would make a rate of garbage. Only the per-bucket gauges, which
 * depend on nothing but the bucket, are replayed.
 */
#ifndef GEN_REPLAY_H
#define GEN_REPLAY_H 1

#include "gen_aggregates.h"

#include <stdio.h>

/* A replay time: ISO-8601 ("2026-11-25T01:00:00Z"; without a zone, UTC) or
 * epoch seconds ("1795568400"). 0 or -EINVAL. */
int gen_replay_time(const char *text, int64_t *ms);

/* The window [from_ms, to_ms) as whole buckets of granularity_ms, from
 * rounded down and to rounded up, and no later than settled_ms (the end of
 * the newest bucket that has settled). 0, or -EINVAL when nothing is left
 * (to not after from, or from not before settled_ms). */
int gen_replay_window(int64_t granularity_ms, int64_t settled_ms,
                      int64_t *from_ms, int64_t *to_ms);

/* An engine without a state file that plans exactly the buckets of
 * [from_ms, to_ms) (whole buckets), max_buckets a request, when planned at
 * to_ms (gen_family_run_t.at_ms). NULL on bad arguments or out of memory. */
gen_interval_t *gen_replay_engine(int64_t granularity_ms, int64_t from_ms,
                                  int64_t to_ms, long max_buckets,
                                  const gen_log_org_t *who);

/* The same rule for a family with a sink of its own (call quality, agent
 * status): its buckets as it dispatches them, its totals never. */
gen_interval_sink_t gen_replay_gauges(gen_interval_sink_t family);

/* A series' identifier as collectd's plain-text protocol names it,
 * "host/plugin-instance/type-instance" (an empty instance without its
 * dash), into id (GEN_REPLAY_ID_MAX is always enough). */
#define GEN_REPLAY_ID_MAX (6 * DATA_MAX_NAME_LEN)
void gen_replay_identifier(const value_list_t *vl, char *id, size_t size);

/* One value list as a PUTVAL line of collectd's plain-text protocol,
 * newline included, its values GAUGE (a replay has nothing else):
 *   PUTVAL "host/plugin-instance/type-instance" interval=900 1795568400.000:12
 * Returns the length, or -ENOSPC when size is too small. */
int gen_replay_putval(const value_list_t *vl, char *buf, size_t size);

/* A connection to collectd's unixsock plugin. */
typedef struct gen_replay_sock gen_replay_sock_t;
/* Seconds a line or an answer of collectd may take: collectd answers a
 * PUTVAL in microseconds; no answer is a stuck daemon or another
 * program's socket. */
#define GEN_REPLAY_SOCK_TIMEOUT_S 10

/* Connects to the socket at path: NULL with the reason in err. */
gen_replay_sock_t *gen_replay_sock_open(const char *path, char *err,
                                        size_t err_size);
/* Sends one PUTVAL line and reads collectd's answer: 0 when it took the
 * value ("0 Success: …"), -EPROTO with its answer in err when it refused
 * it, -ETIMEDOUT when no answer came within GEN_REPLAY_SOCK_TIMEOUT_S
 * (every later line refused at once), or a negative errno when the
 * connection failed. */
int gen_replay_sock_put(gen_replay_sock_t *s, const char *line, char *err,
                        size_t err_size);
/* Sends one command (newline included) and reads collectd's answer: the
 * number its status line starts with, which for LISTVAL and GETVAL counts
 * the lines that follow, each handed to each (NULL: read and dropped).
 * Returns that number, -EPROTO with the answer in err when collectd
 * refused the command, or a negative errno. */
int gen_replay_sock_ask(gen_replay_sock_t *s, const char *line,
                        void (*each)(void *ud, char *line), void *ud, char *err,
                        size_t err_size);
void gen_replay_sock_close(gen_replay_sock_t *s);

#endif /* GEN_REPLAY_H */
