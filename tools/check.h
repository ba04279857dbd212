/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check: what its parts share, the checks
 * (collectd-genesys-check.c), --replay (replay.c) and --reconcile
 * (reconcile.c, and reconcile_live.c on its LISTVAL and GETVAL).
 */
#ifndef GEN_CHECK_H
#define GEN_CHECK_H 1

#include "gen_client.h"
#include "gen_family.h"
#include "gen_plugin.h"
#include "gen_replay.h"
#include "standalone.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_FAILED 1
#define EXIT_CONFIG 2
#define ORG_NAME_MAX 300

/* The last warning or error a core function logged. */
extern char last_log[1024];
/* stdout, but stderr when stdout carries a replay's PUTVAL lines. */
extern FILE *report_to;

/* One line "<org>: <family>: OK", or what failed (counted). */
void report(const char *org, const char *family, int status, const char *err);
/* The client of an <Org> block, its name for the report written to name
 * (ORG_NAME_MAX); NULL, reported, when it cannot be made. */
gen_client_t *org_client(const char *plugin, gen_org_t *org, char *name);
/* Each plugin's own parser of its <Org> keys, its defaults included: the
 * history tables' (replay.c replays those with rows), and
 * genesys_realtime's as a table without rows. NULL: no plugin of ours. */
const gen_history_t *org_parser(const char *plugin);
/* The <Org> block o parsed by h's parser into *config (made here, its
 * defaults first; NULL, said, when out of memory), each error of the block
 * to stderr, config_done after the last key: the org, or NULL when
 * refused. org_config_free frees *config. */
gen_org_t *org_parse(const gen_history_t *h, oconfig_item_t *o, void **config);
void org_config_free(const gen_history_t *h, void *config);
/* The name of a <Plugin genesys_*> block, or NULL for any other item. */
const char *genesys_plugin(const oconfig_item_t *p);
/* The exit status once every <Org> block of which was handled. */
int exit_status(bool refused, size_t orgs, const char *which);

/* --replay FROM TO [--socket PATH | --stdout] [--max-requests N], or
 * --reconcile [--buckets N]. */
typedef struct {
  int64_t from_ms, to_ms;
  const char *socket_path; /* --socket; NULL: the configuration's */
  bool to_stdout;
  long max_requests; /* a family's requests a batch of entities, at most */
  /* --reconcile: the last buckets of each family compared with collectd's
   * (reconcile.c), not handed to it; 0: a replay. */
  int reconcile;
} replay_options_t;

/* --max-requests's default: 100 days of PT5M buckets at the default
 * MaxBucketsPerQuery (96), a day of them where a request asks one. */
#define REPLAY_MAX_REQUESTS 300

/* Replays the window into the configuration's collectd (or to stdout), or
 * reconciles: the exit status. */
int replay_run(oconfig_item_t *root, const replay_options_t *options);

/* reconcile.c: keeps one value list a replay made; compares every value
 * kept with what the collectd behind s holds, printing each difference:
 * the exit status. */
int reconcile_keep(const value_list_t *vl);
int reconcile_compare(gen_replay_sock_t *s);
/* One difference printed (t_ms NULL: a live value, now) and counted; n
 * values compared, counted. */
void reconcile_say(const char *id, const int64_t *t_ms, const char *collectd,
                   const char *genesys);
void reconcile_compared(size_t n);
/* LISTVAL of the collectd behind s: each series' time and identifier
 * handed to each. GETVAL of id: its values (at most
 * RECONCILE_VALUES_MAX) into g. gen_replay_sock_ask's result. */
#define RECONCILE_VALUES_MAX 4
typedef struct {
  size_t n;
  double v[RECONCILE_VALUES_MAX];
} reconcile_got_t;
int reconcile_listval(gen_replay_sock_t *s,
                      void (*each)(void *ud, double t, const char *id),
                      void *ud, char *err, size_t err_size);
int reconcile_getval(gen_replay_sock_t *s, const char *id, reconcile_got_t *g,
                     char *err, size_t err_size);
/* reconcile_live.c: the live values of one genesys_realtime <Org> block
 * (host when it names none) against collectd's; 0, or -EINVAL when the
 * block was refused. */
int reconcile_live(oconfig_item_t *o, const char *host, gen_replay_sock_t *s);

#endif /* GEN_CHECK_H */
