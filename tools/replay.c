/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check --replay: the history of each <Org> of
 * genesys_analytics (queue aggregates, agent status, call quality) and
 * genesys_flowmetrics (flow and data action aggregates) for a past window,
 * asked for as the plugins ask, with the plugins' modules, each family with
 * an engine of its own (gen_replay: no state file), each bucket's gauges
 * handed to collectd's unixsock plugin or printed. See
 * collectd-genesys-check(1), REPLAY.
 */
#include "check.h"

#include "gen_action_agg.h"
#include "gen_agent_status.h"
#include "gen_flow_agg.h"
#include "gen_interval_config.h"
#include "gen_log.h"
#include "gen_mos.h"
#include "gen_queue_agg.h"
#include "gen_replay.h"
#include "gen_time.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ANALYTICS "genesys_analytics"
#define FLOWMETRICS "genesys_flowmetrics"

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
  int status = gen_replay_putval(&copy, line, sizeof(line));
  if (status >= 0 && replay.o.to_stdout)
    status = fputs(line, stdout) == EOF ? -EIO : 0;
  else if (status >= 0)
    status = gen_replay_sock_put(replay.sock, line, err, sizeof(err));
  if (status < 0) {
    if (replay.refused++ == 0)
      snprintf(replay.first_refusal, sizeof(replay.first_refusal), "%s",
               err[0] ? err : gen_strerror(status));
    return status;
  }
  replay.values++;
  return 0;
}

/* ---- the keys a replay needs; every other key is the plugin's ----------- */

typedef struct {
  bool analytics;                 /* else genesys_flowmetrics */
  gen_interval_config_t interval; /* Granularity, SettleDelay, … */
  /* genesys_analytics */
  gen_entity_filter_t queues;
  gen_queue_agg_config_t qa;
  gen_agent_status_config_t agents;
  gen_mos_config_t mos;
  /* genesys_flowmetrics */
  gen_entity_filter_t flows;
  gen_flow_agg_config_t agg;
  gen_action_agg_config_t act;
} replay_config_t;

static void config_init(replay_config_t *c, bool analytics) {
  *c = (replay_config_t){.analytics = analytics};
  gen_flow_agg_config_init(&c->agg);
  gen_interval_config_init(&c->interval);
  gen_queue_agg_config_init(&c->qa);
  gen_mos_config_init(&c->mos);
}

static void config_release(replay_config_t *c) {
  gen_interval_config_release(&c->interval);
  gen_entity_filter_free(&c->queues);
  gen_entity_filter_free(&c->flows);
  gen_flow_agg_config_release(&c->agg);
  gen_action_agg_config_release(&c->act);
}

/* Parsed with the plugins' parsers; the keys of what a replay does not ask
 * for are accepted unread. */
static int replay_key(gen_org_t *org, const oconfig_item_t *ci, void *config) {
  replay_config_t *c = config;
  int status = gen_interval_config_key(org, ci, &c->interval);
  if (status == GEN_CONFIG_NOT_MINE && !c->analytics)
    status = gen_config_filter_key(org, ci, "Flow", true, &c->flows);
  if (status == GEN_CONFIG_NOT_MINE && !c->analytics)
    status = gen_flow_agg_config_key(org, ci, &c->agg);
  if (status == GEN_CONFIG_NOT_MINE && !c->analytics)
    status = gen_action_agg_config_key(org, ci, &c->act);
  if (status == GEN_CONFIG_NOT_MINE && c->analytics)
    status = gen_config_filter_key(org, ci, "Queue", true, &c->queues);
  if (status == GEN_CONFIG_NOT_MINE && c->analytics)
    status = gen_queue_agg_config_key(org, ci, &c->qa);
  if (status == GEN_CONFIG_NOT_MINE && c->analytics)
    status = gen_mos_config_key(org, ci, &c->mos);
  if (status == GEN_CONFIG_NOT_MINE && c->analytics)
    status = gen_agent_status_config_key(org, ci, &c->agents);
  return status == GEN_CONFIG_NOT_MINE ? 0 : status;
}

/* ---- one family of one org ---------------------------------------------- */

/* An org being replayed: its report name, client, keys and listings. */
typedef struct {
  const char *plugin;
  char name[ORG_NAME_MAX];
  gen_client_t *client;
  replay_config_t *c;
  gen_entity_set_t queues, wrapups, users;
  gen_entity_set_t flows, outcomes, milestones, actions;
} org_t;

/* One family's replay: its window, its own engine and request counts. */
typedef struct {
  const org_t *org;
  const char *family;
  int64_t from_ms, to_ms;
  gen_interval_t *engine;
  gen_agg_counts_t counts;
  gen_log_org_t who;
  size_t values_before, refused_before;
} family_t;

/* The family's window in buckets of granularity_ms that have settled, and
 * its engine; false, reported, when there is none. */
static bool family_open(family_t *f, const org_t *o, const char *family,
                        int64_t granularity_ms) {
  *f = (family_t){.org = o,
                  .family = family,
                  .from_ms = replay.o.from_ms,
                  .to_ms = replay.o.to_ms,
                  .who = {o->plugin, o->client->org->name},
                  .values_before = replay.values,
                  .refused_before = replay.refused};
  last_log[0] = '\0'; /* what this family's failure logs */
  f->counts =
      (gen_agg_counts_t){.who = &f->who, .complain = GEN_RATELIMIT_INIT(60)};
  char what[160];
  snprintf(what, sizeof(what), "%s: replay window", family);
  int64_t settled =
      gen_bucket_floor(gen_cdtime_to_ms(cdtime()) -
                           (int64_t)CDTIME_T_TO_MS(o->c->interval.settle),
                       granularity_ms);
  if (gen_replay_window(granularity_ms, settled, &f->from_ms, &f->to_ms) != 0) {
    report(o->name, what, -EINVAL,
           "no bucket of the window has closed and settled");
    return false;
  }
  f->engine = gen_replay_engine(granularity_ms, f->from_ms, f->to_ms,
                                o->c->interval.max_buckets, &f->who);
  if (f->engine == NULL)
    report(o->name, what, -ENOMEM, "out of memory");
  return f->engine != NULL;
}

/* "<family>: replay of <window> (N requests, M values)", and the engine
 * freed. */
static int family_close(family_t *f, int status) {
  char window[GEN_INTERVAL_STRLEN], what[GEN_INTERVAL_STRLEN + 200];
  gen_interval_format(f->from_ms, f->to_ms, window, sizeof(window));
  snprintf(what, sizeof(what), "%s: replay of %s (%llu requests, %zu values)",
           f->family, window, (unsigned long long)f->counts.queries,
           replay.values - f->values_before);
  report(f->org->name, what,
         status != 0                          ? status
         : replay.refused > f->refused_before ? -EPROTO
                                              : 0,
         status != 0 ? last_log : replay.first_refusal);
  gen_interval_free(f->engine);
  return status;
}

/* A job of the aggregates request loop, planned at the window's end. */
static gen_agg_job_t family_job(family_t *f, const gen_agg_query_t *query,
                                const gen_interval_sink_t *sink) {
  return (gen_agg_job_t){f->engine, f->org->client, &f->counts,
                         query,     sink,           .at_ms = f->to_ms};
}

/* An aggregates family over every batch of per ids of set. */
static int replay_set(family_t *f, const gen_agg_query_t *query,
                      gen_agg_output_t *output, const gen_entity_set_t *set,
                      size_t per) {
  gen_interval_sink_t sink = gen_replay_sink(output);
  gen_agg_job_t job = family_job(f, query, &sink);
  return gen_agg_collect_set(&job, set, per, INT_MAX);
}

/* A listing as the plugin asks for it, reported; 0 or its failure. */
static int list(org_t *o, const char *what, const char *path,
                const gen_entity_filter_t *filter, gen_entity_set_t *set) {
  char err[1024] = "";
  int status = gen_entity_list(o->client->http, o->client->org, path, filter,
                               set, err, sizeof(err));
  report(o->name, what, status, err);
  return status;
}

/* A listing that only names values: without it ids stand in. */
static void list_names(org_t *o, const char *what, const char *path,
                       const gen_entity_filter_t *filter,
                       gen_entity_set_t *set) {
  char err[1024] = "";
  if (gen_entity_list(o->client->http, o->client->org, path, filter, set, err,
                      sizeof(err)) != 0)
    fprintf(stderr, "%s: %s: %s (ids are used instead)\n", o->name, what, err);
}

/* ---- genesys_analytics -------------------------------------------------- */

/* The queue aggregates: one request per batch of QueuesPerQuery queues and
 * MaxBucketsPerQuery buckets, and the same for the metrics of no queue. */
static void replay_queues(org_t *o) {
  replay_config_t *c = o->c;
  family_t f;
  gen_queue_agg_t qa = {&c->qa,
                        o->client->org,
                        gen_client_host(o->client),
                        ANALYTICS,
                        c->interval.granularity_ms,
                        &o->queues,
                        &o->wrapups,
                        NULL};
  if (!gen_queue_agg_on(&qa, false) && !gen_queue_agg_on(&qa, true))
    return;
  if (!family_open(&f, o, "queue aggregates", c->interval.granularity_ms))
    return;
  if (gen_queue_agg_init(&qa) != 0) {
    family_close(&f, -ENOMEM);
    return;
  }
  gen_agg_output_t output = gen_queue_agg_output(&qa);
  int status = 0;
  if (gen_queue_agg_on(&qa, false)) {
    gen_agg_query_t query = gen_queue_agg_query(&qa, false);
    status = replay_set(&f, &query, &output, &o->queues,
                        (size_t)c->qa.queues_per_query);
  }
  if (status == 0 && o->client->org->shard_index == 0 &&
      gen_queue_agg_on(&qa, true)) {
    static const char *const scope[] = {GEN_QUEUE_AGG_ORG_SCOPE};
    gen_agg_query_t query = gen_queue_agg_query(&qa, true);
    gen_interval_sink_t sink = gen_replay_sink(&output);
    gen_agg_job_t job = family_job(&f, &query, &sink);
    status = gen_agg_collect(&job, scope, 1, INT_MAX);
  }
  family_close(&f, status);
  gen_queue_agg_release(&qa);
}

/* Agent time in status: the users listed, ceil(users / 100) requests per
 * range of MaxBucketsPerQuery buckets of AgentStatusGranularity. */
static void replay_agents(org_t *o) {
  replay_config_t *c = o->c;
  int64_t g = c->agents.granularity_ms > 0 ? c->agents.granularity_ms
                                           : c->interval.granularity_ms;
  family_t f;
  char err[1024] = "";
  int listed = gen_agent_status_list_users(o->client->http, o->client->org,
                                           &o->users, err, sizeof(err));
  report(o->name, "user list", listed, err);
  if (listed != 0 || !family_open(&f, o, "agent status", g))
    return;
  gen_agent_output_t out;
  gen_agent_output_init(&out, o->client->org, gen_client_host(o->client),
                        ANALYTICS, g);
  gen_interval_sink_t sink = gen_replay_gauges(gen_agent_status_sink(&out));
  bool refusal_logged = false;
  gen_agent_job_t job = {.engine = f.engine,
                         .client = o->client,
                         .counts = &f.counts,
                         .users = &o->users,
                         .granularity_ms = g,
                         .sink = &sink,
                         .at_ms = f.to_ms,
                         .scope = "agents",
                         .refusal_logged = &refusal_logged};
  family_close(&f, gen_agent_status_collect(&job, INT_MAX));
}

/* Call quality: the details query per batch of QueuesPerQuery queues,
 * page by page. */
static void replay_mos(org_t *o) {
  replay_config_t *c = o->c;
  int64_t g = c->interval.granularity_ms;
  family_t f;
  if (!family_open(&f, o, "call quality", g))
    return;
  gen_mos_queues_t names = {o->client->org, &o->queues};
  gen_mos_output_t out = {&c->mos, gen_client_host(o->client), ANALYTICS,
                          g,       gen_mos_queue_label,        &names};
  gen_interval_sink_t sink = gen_replay_gauges(gen_mos_sink(&out));
  /* No progress and no budget: each range read whole. */
  gen_mos_job_t job = {.engine = f.engine,
                       .client = o->client,
                       .counts = &f.counts,
                       .config = &c->mos,
                       .granularity_ms = g,
                       .sink = &sink,
                       .at_ms = f.to_ms};
  family_close(&f,
               gen_mos_collect_set(&job, &o->queues,
                                   (size_t)c->qa.queues_per_query, INT_MAX));
}

static void replay_analytics(org_t *o) {
  replay_config_t *c = o->c;
  gen_queue_agg_config_done(&c->qa);
  if (list(o, "queue list", "/api/v2/routing/queues", &c->queues, &o->queues) !=
      0)
    return;
  if (c->qa.by_wrapup)
    list_names(o, "wrap-up code names", "/api/v2/routing/wrapupcodes", NULL,
               &o->wrapups);
  replay_queues(o);
  if (c->agents.on)
    replay_agents(o);
  if (c->mos.on)
    replay_mos(o);
}

/* ---- genesys_flowmetrics ------------------------------------------------ */

/* The flow aggregates: one request per batch of FlowsPerQuery flows and
 * MaxBucketsPerQuery buckets (no active flows: they are now, not past). */
static void replay_flows(org_t *o) {
  replay_config_t *c = o->c;
  char path[1024];
  gen_flow_agg_list_path(c->agg.flow_types, c->agg.n_flow_types, path,
                         sizeof(path));
  family_t f;
  if (list(o, "flow list", path, &c->flows, &o->flows) != 0)
    return;
  list_names(o, "flow outcome names", GEN_FLOW_OUTCOMES_PATH, NULL,
             &o->outcomes);
  list_names(o, "flow milestone names", GEN_FLOW_MILESTONES_PATH, NULL,
             &o->milestones);
  if (!family_open(&f, o, "flow aggregates", c->interval.granularity_ms))
    return;
  gen_flow_agg_t fa = {.client = o->client,
                       .plugin = FLOWMETRICS,
                       .flows = &o->flows,
                       .outcomes = &o->outcomes,
                       .milestones = &o->milestones,
                       .granularity_ms = c->interval.granularity_ms,
                       .complain = &f.counts.complain,
                       .answer = gen_flow_agg_values_new()};
  int status = -ENOMEM;
  if (fa.answer != NULL) {
    gen_agg_query_t query = gen_flow_agg_query(&fa);
    gen_agg_output_t output = gen_flow_agg_output(&fa);
    status = replay_set(&f, &query, &output, &o->flows,
                        (size_t)c->agg.flows_per_query);
  }
  family_close(&f, status);
  gen_agg_values_free(fa.answer);
}

/* The data action aggregates: one request per range for every action, or
 * per batch of 100 selected ones. */
static void replay_actions(org_t *o) {
  replay_config_t *c = o->c;
  family_t f;
  if (list(o, "data action list", GEN_ACTION_LIST_PATH, &c->act.filter,
           &o->actions) != 0 ||
      !family_open(&f, o, "data actions", c->interval.granularity_ms))
    return;
  gen_action_agg_t aa = {
      .client = o->client,
      .plugin = FLOWMETRICS,
      .actions = &o->actions,
      .every = gen_entity_selects_all(&c->act.filter, o->client->org),
      .granularity_ms = c->interval.granularity_ms,
      .answer = gen_action_agg_values_new()};
  int status = -ENOMEM;
  if (aa.answer != NULL) {
    gen_agg_query_t query = gen_action_agg_query(&aa);
    gen_agg_output_t output = gen_action_agg_output(&aa);
    status = replay_set(&f, &query, &output, &o->actions,
                        gen_action_agg_per_query(&aa, 0));
  }
  family_close(&f, status);
  gen_agg_values_free(aa.answer);
}

static void replay_flowmetrics(org_t *o) {
  if (o->c->agg.aggregates)
    replay_flows(o);
  if (o->c->act.on)
    replay_actions(o);
}

/* ---- every <Org> -------------------------------------------------------- */

static void replay_org(const char *plugin, gen_org_t *org, replay_config_t *c) {
  org_t o = {.plugin = plugin, .c = c};
  o.client = org_client(plugin, org, o.name);
  if (o.client == NULL)
    return;
  last_log[0] = '\0';
  if (c->analytics)
    replay_analytics(&o);
  else
    replay_flowmetrics(&o);
  gen_entity_set_t *sets[] = {&o.queues,   &o.wrapups,    &o.users,  &o.flows,
                              &o.outcomes, &o.milestones, &o.actions};
  for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
    gen_entity_set_free(sets[i]);
  gen_client_free(o.client);
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

/* One <Org> block: parsed with the plugin's parsers, then replayed. false
 * when it was refused. */
static bool replay_block(const char *plugin, oconfig_item_t *o) {
  replay_config_t c;
  config_init(&c, strcmp(plugin, ANALYTICS) == 0);
  parsing = true;
  gen_org_t *org = gen_config_org_block(plugin, o, replay_key, &c);
  parsing = false;
  if (org != NULL)
    replay_org(plugin, org, &c); /* its client frees org */
  config_release(&c);
  return org != NULL;
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
    bool history =
        strcmp(plugin, ANALYTICS) == 0 || strcmp(plugin, FLOWMETRICS) == 0;
    for (int j = 0; j < p->children_num; j++) {
      oconfig_item_t *o = &p->children[j];
      if (strcasecmp(o->key, "Org") != 0)
        continue;
      if (!history)
        fprintf(stderr,
                "%s Org: not replayed (live values: Genesys keeps no history "
                "of them)\n",
                plugin);
      else if (replay_block(plugin, o))
        orgs++;
      else
        refused = true;
    }
  }
  standalone_dispatch = NULL;
  gen_replay_sock_close(replay.sock);
  free(host);
  return exit_status(refused, orgs, ANALYTICS " or " FLOWMETRICS);
}
