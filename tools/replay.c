/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check --replay: the history of each <Org> of the plugins
 * with a history table (gen_family.h) for a past window: the block parsed
 * by the plugin's own parser, listed as the plugin lists, then every family
 * on asked for by the driver, each with an engine of its own (gen_replay:
 * no state file), each bucket's gauges handed to collectd's unixsock plugin
 * or printed. No family has code of its own here. See
 * collectd-genesys-check(1), REPLAY.
 */
#include "check.h"

#include "ga_history.h"
#include "gen_family.h"
#include "gen_log.h"
#include "gen_replay.h"
#include "gen_time.h"
#include "gf_history.h"
#include "gp_history.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct {
  replay_options_t o;
  gen_replay_sock_t *sock;
  const char *host; /* collectd's hostname, for values without a Host */
  size_t values, refused;
  char first_refusal[600];
} replay;

/* standalone_dispatch during a replay: one PUTVAL line per value. */
static int replay_put(const value_list_t *vl) {
  value_list_t copy = *vl;
  if (copy.host[0] == '\0')
    sstrncpy(copy.host, replay.host, sizeof(copy.host));
  char line[2048], err[600] = "";
  int status = 0;
  if (replay.o.reconcile) /* kept to compare */
    status = reconcile_keep(&copy);
  else if ((status = gen_replay_putval(&copy, line, sizeof(line))) >= 0)
    status = replay.o.to_stdout
                 ? (fputs(line, stdout) == EOF ? -EIO : 0)
                 : gen_replay_sock_put(replay.sock, line, err, sizeof(err));
  if (status < 0) {
    if (replay.refused++ == 0)
      snprintf(replay.first_refusal, sizeof(replay.first_refusal), "%s",
               err[0] ? err : gen_strerror(status));
    return status;
  }
  replay.values++;
  return 0;
}

/* ---- a plugin's history table ------------------------------------------- */

/* One family of one org: its window, its requests and values reported. */
static void replay_row(const gen_history_t *h, const gen_family_t *f,
                       const gen_family_env_t *env, const char *name) {
  int64_t from_ms = replay.o.from_ms, to_ms = replay.o.to_ms;
  const gen_interval_config_t *ic = gen_history_interval(h, env->config);
  if (replay.o.reconcile) { /* the last buckets settled */
    to_ms = gen_cdtime_to_ms(cdtime());
    from_ms = to_ms - (int64_t)CDTIME_T_TO_MS(ic->settle) -
              replay.o.reconcile * gen_family_granularity(f, env->config, ic);
  }
  gen_agg_counts_t counts = {.who = env->who,
                             .complain = GEN_RATELIMIT_INIT(60)};
  size_t values_before = replay.values, refused_before = replay.refused;
  char err[600] = "";
  last_log[0] = '\0'; /* what this family's failure logs */
  int64_t estimate = 0;
  int status =
      gen_family_replay(f, env, ic, &from_ms, &to_ms, replay.o.max_requests,
                        &estimate, &counts, err, sizeof(err));
  char window[GEN_INTERVAL_STRLEN], what[GEN_INTERVAL_STRLEN + 200];
  if ((status == -EINVAL || status == -E2BIG) && err[0] != '\0' &&
      counts.queries == 0) {
    snprintf(what, sizeof(what), "%s: replay window", f->name);
    report(name, what, status, err);
    return;
  }
  gen_interval_format(from_ms, to_ms, window, sizeof(window));
  snprintf(what, sizeof(what), "%s: %s of %s (%llu requests, %zu values)",
           f->name, replay.o.reconcile ? "reconcile" : "replay", window,
           (unsigned long long)counts.queries, replay.values - values_before);
  report(name, what,
         status != 0                       ? status
         : replay.refused > refused_before ? -EPROTO
                                           : 0,
         status != 0 ? (last_log[0] ? last_log : err) : replay.first_refusal);
}

/* One <Org> block of a plugin with history: parsed with the plugin's own
 * parser, listed as the plugin lists, then every family on replayed. false
 * when the block was refused. */
static bool replay_history(const gen_history_t *h, oconfig_item_t *o) {
  void *config = NULL, *lists = calloc(1, h->lists_size ? h->lists_size : 1);
  gen_org_t *org = lists != NULL ? org_parse(h, o, &config) : NULL;
  if (lists == NULL)
    fprintf(stderr, "%s: out of memory\n", h->plugin);
  char name[ORG_NAME_MAX];
  gen_client_t *client = org != NULL ? org_client(h->plugin, org, name) : NULL;
  if (client != NULL) { /* its client frees org */
    gen_log_org_t who = {h->plugin, client->org->name};
    gen_ratelimit_t complain = GEN_RATELIMIT_INIT(0);
    last_log[0] = '\0';
    int status =
        h->list != NULL ? h->list(config, client, lists, &complain) : 0;
    if (h->list != NULL)
      report(name, "listings", status, last_log);
    gen_family_env_t env = {.config = config,
                            .lists = lists,
                            .client = client,
                            .plugin = h->plugin,
                            .who = &who};
    for (size_t i = 0; status == 0 && i < h->n_rows; i++)
      if (gen_family_on(&h->rows[i], config, client->org))
        replay_row(h, &h->rows[i], &env, name);
    if (h->lists_free != NULL)
      h->lists_free(lists);
    gen_client_free(client);
  }
  free(lists);
  org_config_free(h, config);
  return org != NULL;
}

/* collectd's hostname as the daemon finds it: Hostname, or the host's name
 * (its canonical name with FQDNLookup, collectd's default). */
static char *collectd_hostname(const oconfig_item_t *root) {
  bool fqdn = true;
  const char *given = NULL;
  for (int i = 0; i < root->children_num; i++) {
    const oconfig_item_t *c = &root->children[i];
    if (c->values_num != 1)
      continue;
    if (strcasecmp(c->key, "Hostname") == 0 &&
        c->values[0].type == OCONFIG_TYPE_STRING)
      given = c->values[0].value.string;
    if (strcasecmp(c->key, "FQDNLookup") == 0 &&
        c->values[0].type == OCONFIG_TYPE_BOOLEAN)
      fqdn = c->values[0].value.boolean != 0;
  }
  if (given != NULL)
    return strdup(given);
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  struct addrinfo hints = {.ai_flags = AI_CANONNAME}, *ai = NULL;
  if (fqdn && getaddrinfo(host, NULL, &hints, &ai) == 0 && ai != NULL &&
      ai->ai_canonname != NULL)
    snprintf(host, sizeof(host), "%s", ai->ai_canonname);
  if (ai != NULL)
    freeaddrinfo(ai);
  return strdup(host);
}

/* The unixsock plugin's SocketFile, collectd's default path when the plugin
 * is loaded without one, or NULL when it is not loaded. */
static const char *unixsock_path(const oconfig_item_t *root) {
  const char *path = NULL;
  for (int i = 0; i < root->children_num; i++) {
    const oconfig_item_t *p = &root->children[i];
    bool named = p->values_num == 1 &&
                 p->values[0].type == OCONFIG_TYPE_STRING &&
                 strcasecmp(p->values[0].value.string, "unixsock") == 0;
    if (named && strcasecmp(p->key, "LoadPlugin") == 0 && path == NULL)
      path = "/var/run/collectd-unixsock";
    for (int j = 0;
         named && strcasecmp(p->key, "Plugin") == 0 && j < p->children_num;
         j++) {
      const oconfig_item_t *c = &p->children[j];
      if (strcasecmp(c->key, "SocketFile") == 0 && c->values_num == 1 &&
          c->values[0].type == OCONFIG_TYPE_STRING)
        path = c->values[0].value.string;
    }
  }
  return path;
}

/* Where the values go: 0, or the exit status when collectd is out of
 * reach. */
static int open_output(const oconfig_item_t *root) {
  if (replay.o.to_stdout) {
    report_to = stderr;
    return 0;
  }
  const char *path =
      replay.o.socket_path ? replay.o.socket_path : unixsock_path(root);
  char err[512];
  if (path == NULL) {
    fprintf(stderr, "collectd-genesys-check: the configuration loads no "
                    "unixsock plugin: give --socket PATH or --stdout\n");
    return EXIT_CONFIG;
  }
  if ((replay.sock = gen_replay_sock_open(path, err, sizeof(err))) == NULL) {
    fprintf(stderr, "collectd-genesys-check: cannot reach collectd: %s\n", err);
    return EXIT_FAILED;
  }
  return 0;
}

int replay_run(oconfig_item_t *root, const replay_options_t *options) {
  replay.o = *options;
  char *host = collectd_hostname(root);
  replay.host = host != NULL ? host : "localhost";
  int status = open_output(root);
  if (status != 0) {
    free(host);
    return status;
  }
  standalone_dispatch = replay_put;
  size_t orgs = 0;
  bool refused = false;
  for (int i = 0; i < root->children_num; i++) {
    oconfig_item_t *p = &root->children[i];
    const char *plugin = genesys_plugin(p);
    if (plugin == NULL)
      continue;
    /* the plugins whose families a replay iterates */
    const gen_history_t *h = org_parser(plugin);
    if (h != NULL && h->n_rows == 0)
      h = NULL; /* genesys_realtime: live values only */
    for (int j = 0; j < p->children_num; j++) {
      oconfig_item_t *o = &p->children[j];
      if (strcasecmp(o->key, "Org") != 0)
        continue;
      if (h == NULL && replay.o.reconcile &&
          strcmp(plugin, "genesys_realtime") == 0) {
        if (reconcile_live(o, replay.host, replay.sock) == 0)
          orgs++;
        else
          refused = true;
      } else if (h == NULL)
        fprintf(stderr,
                "%s Org: not replayed (live values: Genesys keeps no history "
                "of them)\n",
                plugin);
      else if (replay_history(h, o))
        orgs++;
      else
        refused = true;
    }
  }
  standalone_dispatch = NULL;
  int compared = replay.o.reconcile && !refused && orgs > 0
                     ? reconcile_compare(replay.sock)
                     : 0;
  gen_replay_sock_close(replay.sock);
  free(host);
  status = exit_status(
      refused, orgs, GA_PLUGIN_NAME ", " GF_PLUGIN_NAME " or " GP_PLUGIN_NAME);
  return status != 0 ? status : compared;
}
