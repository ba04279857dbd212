/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_platform, telephony and platform health.
 *
 * Is the platform under my contact centre healthy? Every read, per <Org>
 * block: the edges (GET /api/v2/telephony/providers/edges, paged, without
 * the cloud-media edges Genesys runs unless asked: online and in service),
 * their metrics (GET …/edges/metrics?edgeIds=, 100 ids a
 * request: CPU, memory, disks, uptime), the trunks (GET
 * …/edges/trunks?trunkType=…, paged: connected, in service), their metrics
 * (GET …/edges/trunks/metrics?trunkIds=: current inbound and outbound
 * calls), and the components of the Genesys Cloud status page (a
 * Statuspage document, fetched without a token through the same proxy and
 * TLS settings: a level per component of the org's region group and of no
 * group). The listings are the state, so they are read every poll; a
 * failed one keeps no stale state, and metrics older than two polls (at
 * least 5 minutes) by their eventTime are not sent as current. The documents
 * are read in gen_platform. With OperationalEvents, the operational events
 * per definition and closed interval (gen_opevents). With ApiUsage, the
 * org's API usage per OAuth client of the last complete UTC day
 * (gen_apiusage).
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_buf.h"
#include "gen_client.h"
#include "gen_entity.h"
#include "gen_log.h"
#include "gen_notice.h"
#include "gen_opevents.h"
#include "gen_platform.h"
#include "gen_plugin.h"
#include "gp_history.h"

#include <fnmatch.h>
#include <strings.h>

#define PLUGIN_NAME GP_PLUGIN_NAME
#define GP_EDGES_PATH "/api/v2/telephony/providers/edges"
#define GP_TRUNKS_PATH "/api/v2/telephony/providers/edges/trunks"

/* What one kind of request feeds (self-metric type instances). */
typedef enum {
  GP_EDGES,
  GP_EDGE_METRICS,
  GP_TRUNKS,
  GP_TRUNK_METRICS,
  GP_STATUS_PAGE,
  GP_FAMILY_COUNT
} gp_family_t;
static const char *const gp_family_names[GP_FAMILY_COUNT] = {
    "edges", "edge_metrics", "trunks", "trunk_metrics", "status_page"};
/* Each one's answer bound (gen_http_bound_t), for answers read into a
 * json-c document (about 20 times their text in memory, kept by the heap):
 * a listing page is 100 (GEN_PF_PAGE_SIZE) Edges x 10 KB (make, model,
 * versions, site, edge group, statuses) or Trunks x 3 KB = 1 MB, x4; the
 * metrics of 100 edges x 10 KB (processors, memory, disks, subsystems,
 * networks) = 1 MB, x4; a Statuspage document of 2,000 components is under
 * 1 MB, x2. */
static const gen_http_bound_t gp_family_answers[GP_FAMILY_COUNT] = {
    GEN_HTTP_BOUND(GEN_MIB(4), "edges page"),
    GEN_HTTP_BOUND(GEN_MIB(4), "edge metrics"),
    GEN_HTTP_BOUND(GEN_MIB(4), "trunks page"),
    GEN_HTTP_BOUND(GEN_MIB(4), "trunk metrics"),
    GEN_HTTP_BOUND(GEN_MIB(2), "status page")};

/* The state of a listed entity, beside its place in the entity set: 1, 0,
 * or -1 when the listing did not say. An edge: online, active (in
 * service), -; a trunk: connected, in service, its edge in service. */
typedef struct {
  int v[3]; /* online_or_connected, in_service, edge_in_service */
} gp_state_t;

/* Edges per edgeDeployment type, for the start-up line. */
#define GP_KINDS 8
typedef struct {
  char name[24];
  size_t count;
} gp_kind_t;

typedef struct {
  gen_entity_set_t set;
  gp_state_t *state;
  size_t cap;
} gp_list_t;

typedef struct {
  gen_client_t *client;
  gp_config_t config;
  gp_list_t edges, trunks;
  uint64_t polls[GP_FAMILY_COUNT], failures[GP_FAMILY_COUNT];
  uint64_t unknown_status;
  size_t components; /* dispatched at the last status page read */
  /* Metrics entries older than two polls at the last read, per family. */
  size_t stale[GP_FAMILY_COUNT];
  const char *region_group; /* the org's status page group, or NULL */
  gp_kind_t kinds[GP_KINDS];
  size_t n_kinds;
  char said[512];  /* the last start-up line */
  bool said_types; /* trunks of another type were dropped (said once) */
  /* One limiter per family: one failing does not hide another's first. */
  gen_ratelimit_t complain[GP_FAMILY_COUNT];
  /* The rows of gp_history on: operational events per definition. */
  gen_families_t families;
  gen_log_org_t who;
  gen_unknown_sink_t unknown; /* the status page's words we do not know */
} gp_instance_t;

/* ---- values -------------------------------------------------------------- */

static void gp_gauge(gp_instance_t *inst, const char *instance,
                     const char *type, const char *type_instance,
                     double value) {
  gen_ident_t id = {.host = gen_client_host(inst->client),
                    .plugin = PLUGIN_NAME,
                    .plugin_instance = instance,
                    .type = type,
                    .type_instance = type_instance};
  gen_dispatch_gauge(&id, value, 0, 0);
}

/* A request failed: counted, logged (rate-limited) unless it is a missing
 * permission, which gen_client_family says once. */
static void gp_failed(gp_instance_t *inst, gp_family_t f, int status,
                      const char *err) {
  inst->failures[f]++;
  if (status == -EINVAL || gen_err_malformed(status))
    atomic_fetch_add(&inst->client->stats.malformed, 1);
  if (gen_client_family(inst->client, gp_family_names[f], status, err,
                        "the other platform values"))
    return;
  gen_org_log(inst->client->org, &inst->complain[f], LOG_ERR,
              "%s request failed (asked for again next read): %s",
              gp_family_names[f], err);
}

static void gp_skipped(gp_instance_t *inst, gp_family_t f, size_t n) {
  if (n == 0)
    return;
  atomic_fetch_add(&inst->client->stats.malformed, 1);
  gen_org_log(inst->client->org, &inst->complain[f], LOG_WARNING,
              "%zu entries of a %s answer were not usable and were skipped", n,
              gp_family_names[f]);
}

/* ---- listings ------------------------------------------------------------ */

typedef struct {
  gp_instance_t *inst;
  const gen_entity_filter_t *filter;
  gp_list_t fresh;
  gen_entity_names_t names; /* of every entity listed (gen_entity.h) */
  bool edges;
  size_t skipped, other_type;
  gp_kind_t kinds[GP_KINDS];
  size_t n_kinds;
} gp_listing_t;

/* Counts an edge of deployment type name (GP_KINDS - 1 types by name; the
 * rest as "other"). */
static void gp_kind_count(gp_listing_t *l, const char *name) {
  if (name == NULL || name[0] == '\0')
    name = "unknown";
  size_t i = 0;
  while (i < l->n_kinds && strcasecmp(l->kinds[i].name, name) != 0)
    i++;
  if (i == l->n_kinds) {
    if (l->n_kinds == GP_KINDS)
      i = GP_KINDS - 1, name = "other";
    else
      l->n_kinds++;
    sstrncpy(l->kinds[i].name, name, sizeof(l->kinds[i].name));
  }
  l->kinds[i].count++;
}

static int gp_take(json_object *entity, void *ud) {
  gp_listing_t *l = ud;
  gp_state_t st;
  const char *id, *name, *kind = NULL;
  gen_pf_edge_t e;
  gen_pf_trunk_t t;
  if ((l->edges ? gen_pf_edge_read(entity, &e)
                : gen_pf_trunk_read(entity, &t)) != 0) {
    l->skipped++;
    return 0;
  }
  if (l->edges) {
    /* a word Genesys added: counted, the edge's other values still read */
    if (e.unknown_online != NULL)
      gen_client_unknown(l->inst->client, "edges", "onlineStatus",
                         e.unknown_online);
    if (e.unknown_code != NULL)
      gen_client_unknown(l->inst->client, "edges", "statusCode",
                         e.unknown_code);
    id = e.id, name = e.name, kind = e.deployment;
    st = (gp_state_t){{e.online, e.active, -1}};
  } else {
    const char *want = l->inst->config.trunk_type;
    /* The page links need not keep trunkType=: a trunk of another type is
     * not ours, whatever page it came on. */
    if (want != NULL && t.type != NULL && strcasecmp(t.type, want) != 0) {
      l->other_type++;
      return 0;
    }
    id = t.id, name = t.name;
    st = (gp_state_t){{t.connected, t.in_service, t.enabled}};
  }
  if (gen_entity_names_note(&l->names, id, name) != 0)
    return -ENOMEM;
  if (!gen_entity_selected(l->filter, l->inst->client->org, id, name, NULL))
    return 0;
  ssize_t i = gen_entity_add(&l->fresh.set, id, name, NULL);
  if (i < 0)
    return -ENOMEM;
  if (l->edges)
    gp_kind_count(l, kind);
  if ((size_t)i >= l->fresh.cap &&
      gen_grow((void **)&l->fresh.state, &l->fresh.cap, (size_t)i + 1,
               sizeof(gp_state_t), 16) != 0)
    return -ENOMEM;
  l->fresh.state[i] = st;
  return 0;
}

static void gp_list_free(gp_list_t *l) {
  gen_entity_set_free(&l->set);
  free(l->state);
  memset(l, 0, sizeof(*l));
}

/* Lists edges or trunks into list (replaced only on success). */
static int gp_list(gp_instance_t *inst, bool edges, gp_list_t *list) {
  gp_family_t f = edges ? GP_EDGES : GP_TRUNKS;
  char path[256];
  if (edges)
    /* showCloudMedia defaults to true: the cloud-media edges Genesys runs
     * are left out unless asked for. */
    snprintf(path, sizeof(path), "%s%s", GP_EDGES_PATH,
             inst->config.cloud_media ? "" : "?showCloudMedia=false");
  else
    snprintf(path, sizeof(path), "%s%s%s", GP_TRUNKS_PATH,
             inst->config.trunk_type != NULL ? "?trunkType=" : "",
             inst->config.trunk_type != NULL ? inst->config.trunk_type : "");
  gp_listing_t l = {.inst = inst,
                    .edges = edges,
                    .filter = edges ? &inst->config.edges_filter
                                    : &inst->config.trunks_filter};
  char err[512] = "";
  inst->polls[f]++;
  /* The trunk listing's nextUri need not keep trunkType= (it would walk
   * every PHONE trunk): its pages asked by number instead. */
  gen_http_pager_t p = {.path = path,
                        .page_size = GEN_PF_PAGE_SIZE,
                        .numbered = !edges && inst->config.trunk_type != NULL,
                        .answer = gp_family_answers[f],
                        .each = gp_take,
                        .ud = &l};
  int status = gen_http_page_all(inst->client->http, &p, err, sizeof(err));
  if (status == 0 && gen_entity_names_apply(&l.names, &l.fresh.set) < 0)
    status = -ENOMEM;
  gen_entity_names_free(&l.names);
  if (status == -ENOMEM)
    snprintf(err, sizeof(err), "out of memory");
  gp_list_free(list); /* replaced below, or no stale state */
  if (status != 0) {
    gp_list_free(&l.fresh);
    gp_failed(inst, f, status, err);
    return status;
  }
  gen_client_family(inst->client, gp_family_names[f], 0, NULL, NULL);
  gp_skipped(inst, f, l.skipped);
  if (l.other_type > 0 && !inst->said_types) {
    inst->said_types = true;
    gen_org_log(inst->client->org, NULL, LOG_NOTICE,
                "the trunk listing's pages brought %zu trunks of another type "
                "than %s; left out (said once)",
                l.other_type, inst->config.trunk_type);
  }
  if (edges) {
    memcpy(inst->kinds, l.kinds, sizeof(l.kinds));
    inst->n_kinds = l.n_kinds;
  }
  *list = l.fresh;
  return 0;
}

/* ---- metrics ------------------------------------------------------------- */

typedef struct {
  gp_instance_t *inst;
  gp_family_t family;
  const gen_entity_set_t *set;
  gen_pf_age_t age;
  int status;
} gp_batch_t;

static void gp_put(void *ud, const char *id, const char *type,
                   const char *type_instance, double value) {
  gp_batch_t *b = ud;
  /* Only what was asked for: an entity the listing did not keep is not
   * ours (another shard's, filtered out). */
  if (gen_entity_find(b->set, id) < 0)
    return;
  gp_gauge(b->inst, gen_entity_label(b->inst->client->org, b->set, id, NULL),
           type, type_instance, value);
}

static bool gp_batch(void *ud, const char *const *ids, size_t n) {
  gp_batch_t *b = ud;
  gp_instance_t *inst = b->inst;
  bool edges = b->family == GP_EDGE_METRICS;
  gen_buf_t q;
  gen_buf_init(&q, 65536); /* 100 ids of 36 bytes and the path */
  int status = gen_buf_printf(
      &q, "%s/metrics?%s=", edges ? GP_EDGES_PATH : GP_TRUNKS_PATH,
      edges ? "edgeIds" : "trunkIds");
  for (size_t i = 0; status == 0 && i < n; i++)
    status = gen_buf_printf(&q, "%s%s", i ? "," : "", ids[i]);
  char err[512] = "";
  json_object *doc = NULL;
  inst->polls[b->family]++;
  if (status != 0)
    snprintf(err, sizeof(err), "out of memory");
  else
    status =
        gen_http_get_json(inst->client->http, gen_buf_str(&q),
                          gp_family_answers[b->family], &doc, err, sizeof(err));
  gen_buf_free(&q);
  size_t skipped = 0;
  if (status == 0) {
    status = edges
                 ? gen_pf_edge_metrics_read(doc, &b->age, gp_put, b, &skipped)
                 : gen_pf_trunk_metrics_read(doc, &b->age, gp_put, b, &skipped);
    if (status != 0) {
      status = -EBADMSG; /* a malformed answer (gen_client_family) */
      snprintf(err, sizeof(err), "not a list of %s metrics",
               edges ? "edge" : "trunk");
    }
  }
  json_object_put(doc);
  if (status != 0) {
    gp_failed(inst, b->family, status, err);
    b->status = status;
  } else
    gp_skipped(inst, b->family, skipped);
  return true; /* the other batches still, after a failure too */
}

/* The least age by eventTime at which metrics count as stale. */
#define GP_STALE_FLOOR_MS (5 * 60 * 1000)

static void gp_metrics(gp_instance_t *inst, gp_family_t family,
                       const gen_entity_set_t *set) {
  /* Older than two polls by eventTime, and than GP_STALE_FLOOR_MS: not
   * current (an offline edge answers its last metrics, hours old). The
   * record does not say how often a live edge's eventTime advances, so a
   * short Interval must not drop a live edge's metrics. */
  int64_t max_age_ms = 2 * (int64_t)CDTIME_T_TO_MS(plugin_get_interval());
  if (max_age_ms < GP_STALE_FLOOR_MS)
    max_age_ms = GP_STALE_FLOOR_MS;
  gp_batch_t b = {.inst = inst,
                  .family = family,
                  .set = set,
                  .age = {.now_ms = (int64_t)CDTIME_T_TO_MS(cdtime()),
                          .max_age_ms = max_age_ms}};
  int status = gen_entity_batches(set, GEN_PF_MAX_IDS, gp_batch, &b);
  inst->stale[family] = b.age.stale;
  if (status != 0)
    gp_failed(inst, family, -ENOMEM, "out of memory");
  else if (b.status == 0)
    gen_client_family(inst->client, gp_family_names[family], 0, NULL, NULL);
}

/* ---- status page --------------------------------------------------------- */

static void gp_component(void *ud, const char *group, const char *name,
                         int level) {
  gp_instance_t *inst = ud;
  char label[512];
  /* The org's region group (or the StatusGroup patterns) and the
   * components outside any group. */
  bool mine = group == NULL || group[0] == '\0';
  if (!mine && inst->config.n_groups > 0)
    for (size_t i = 0; !mine && i < inst->config.n_groups; i++)
      mine = fnmatch(inst->config.groups[i], group, FNM_CASEFOLD) == 0;
  else if (!mine)
    mine = inst->region_group == NULL ||
           fnmatch(inst->region_group, group, FNM_CASEFOLD) == 0;
  if (!mine)
    return;
  gen_pf_component_label(group, name, label, sizeof(label));
  bool take = inst->config.n_components == 0;
  for (size_t i = 0; !take && i < inst->config.n_components; i++)
    take = fnmatch(inst->config.components[i], label, FNM_CASEFOLD) == 0;
  if (!take)
    return;
  inst->components++;
  gp_gauge(inst, "status", "status_component", label, level);
  static const char *const says[] = {
      "operational", "under maintenance", "degraded (performance)",
      "in a partial outage", "in a major outage"};
  gen_notice(inst->client->org, "status", "status_component", label, level,
             level >= 3 ? NOTIF_FAILURE : NOTIF_WARNING,
             "status page component \"%s\" is %s", label, says[level]);
}

static void gp_status_page(gp_instance_t *inst) {
  char err[512] = "";
  json_object *doc = NULL;
  inst->polls[GP_STATUS_PAGE]++;
  /* A stalled page may hold the read up for half an interval at most, one
   * attempt, so that the next read's edges and trunks come on time. */
  cdtime_t limit = plugin_get_interval() / 2;
  int status = gen_http_get_public_json(
      inst->client->http, inst->config.status_url, limit,
      gp_family_answers[GP_STATUS_PAGE], &doc, err, sizeof(err));
  size_t unknown = 0, skipped = 0;
  inst->components = 0;
  if (status == 0 && gen_pf_status_read(doc, gp_component, inst, &inst->unknown,
                                        &unknown, &skipped) != 0) {
    status = -EBADMSG; /* a malformed answer (gen_client_family) */
    snprintf(err, sizeof(err), "no \"components\" array");
  }
  json_object_put(doc);
  if (status != 0) {
    gp_failed(inst, GP_STATUS_PAGE, status, err);
    return;
  }
  gen_client_family(inst->client, gp_family_names[GP_STATUS_PAGE], 0, NULL,
                    NULL);
  gp_skipped(inst, GP_STATUS_PAGE, skipped);
  /* Each new word is logged once (unknown_values); platform_unknown_status,
   * the same count, stays for the dashboards that read it (deprecated). */
  inst->unknown_status += unknown;
}

/* ---- read ---------------------------------------------------------------- */

static void gp_dispatch_self(gp_instance_t *inst) {
  const char *host = gen_client_host(inst->client);
  for (int f = 0; f < GP_FAMILY_COUNT; f++) {
    gen_dispatch_self(host, PLUGIN_NAME, "platform_requests",
                      gp_family_names[f], true, (double)inst->polls[f]);
    gen_dispatch_self(host, PLUGIN_NAME, "platform_failures",
                      gp_family_names[f], true, (double)inst->failures[f]);
  }
  const gen_self_row_t rows[] = {
      {"platform_unknown_status", NULL, true, (double)inst->unknown_status},
      {"platform_stale", gp_family_names[GP_EDGE_METRICS], false,
       (double)inst->stale[GP_EDGE_METRICS]},
      {"platform_stale", gp_family_names[GP_TRUNK_METRICS], false,
       (double)inst->stale[GP_TRUNK_METRICS]},
      {"edges", NULL, false, (double)inst->edges.set.count},
      {"trunks", NULL, false, (double)inst->trunks.set.count},
      {"status_components", NULL, false, (double)inst->components},
  };
  gen_dispatch_self_rows(host, PLUGIN_NAME, rows, STATIC_ARRAY_SIZE(rows));
  gen_opev_dispatch_self(gen_families_state(&inst->families, GP_EVENTS),
                         &inst->families.counts);
  gen_interval_stats_t st = {0};
  gen_families_stats(&inst->families, &st);
  gen_dispatch_self(host, PLUGIN_NAME, "progress_refused", NULL, true,
                    (double)st.progress_refused);
  /* The operational events' revisions, by the age they were found at (the
   * one engine of the table: API usage keeps its own state). */
  if (gen_families_state(&inst->families, GP_EVENTS) != NULL)
    gen_agg_dispatch_revisions(host, PLUGIN_NAME, &st);
  gen_client_dispatch_health(inst->client, PLUGIN_NAME);
}

/* What is monitored, at start and after every change of it: the edges per
 * deployment type, the trunks and the status page's scope. */
static void gp_say(gp_instance_t *inst) {
  const gp_config_t *c = &inst->config;
  char line[512], kinds[200] = "";
  size_t off = 0;
  for (size_t i = 0; i < inst->n_kinds && off < sizeof(kinds); i++)
    off += (size_t)snprintf(kinds + off, sizeof(kinds) - off, "%s%s %zu",
                            i ? ", " : "", inst->kinds[i].name,
                            inst->kinds[i].count);
  const char *scope = !c->status_page   ? "off"
                      : c->n_groups > 0 ? "the StatusGroup groups"
                      : inst->region_group != NULL
                          ? inst->region_group
                          : "every group (region not known)";
  snprintf(line, sizeof(line),
           "%zu edges (%s; cloud media %s), %zu trunks of type %s, status "
           "page: %s and components outside any group",
           inst->edges.set.count, c->edges ? kinds : "off",
           c->cloud_media ? "listed" : "left out", inst->trunks.set.count,
           !c->trunks      ? "(off)"
           : c->trunk_type ? c->trunk_type
                           : "any",
           scope);
  if (strcmp(line, inst->said) == 0)
    return;
  sstrncpy(inst->said, line, sizeof(inst->said));
  gen_org_log(inst->client->org, NULL, LOG_INFO, "%s", line);
}

/* What a listed entity's state says (gp_state_t's order; NULL: nothing),
 * and the notification of the first: an edge offline or a trunk
 * disconnected (value 0) and back (1). */
typedef struct {
  const char *what, *bad, *good, *type[3];
} gp_shown_t;
static const gp_shown_t gp_shown[2] = {
    {"edge", "offline", "online", {"edge_online", "edge_active"}},
    {"trunk",
     "disconnected",
     "connected",
     {"trunk_connected", "trunk_in_service", "trunk_edge_in_service"}}};

/* Lists the edges or trunks, dispatches their state and reads their
 * metrics. */
static void gp_entities(gp_instance_t *inst, bool edges) {
  const gen_org_t *org = inst->client->org;
  const gp_shown_t *show = &gp_shown[edges ? 0 : 1];
  gp_list_t *list = edges ? &inst->edges : &inst->trunks;
  if (gp_list(inst, edges, list) != 0)
    return;
  for (size_t i = 0; i < list->set.count; i++) {
    const gen_entity_t *e = &list->set.items[i];
    const char *label = gen_entity_label(org, &list->set, e->id, NULL);
    const int *v = list->state[i].v;
    /* -1 (not said) is neither a value nor news; the notification comes
     * once per change. */
    for (int k = 0; k < 3; k++) {
      if (show->type[k] != NULL && v[k] >= 0)
        gp_gauge(inst, label, show->type[k], NULL, v[k]);
      if (k == 0 && v[0] >= 0)
        gen_notice(org, label, show->type[0], NULL, v[0] == 0, NOTIF_FAILURE,
                   "%s \"%s\" (%s) is %s", show->what, e->name, e->id,
                   v[0] == 0 ? show->bad : show->good);
    }
  }
  gp_metrics(inst, edges ? GP_EDGE_METRICS : GP_TRUNK_METRICS, &list->set);
}

static int gp_read(user_data_t *ud) {
  gp_instance_t *inst = ud->data;
  if (inst->config.edges)
    gp_entities(inst, true);
  if (inst->config.trunks)
    gp_entities(inst, false);
  /* The status page is the region's, not an entity's: the first shard
   * alone reads it, so that sharded agents do not repeat its values. */
  if (inst->config.status_page && inst->client->org->shard_index == 0)
    gp_status_page(inst);
  gen_families_read(&inst->families, inst->client, plugin_get_interval(),
                    GEN_OPEV_QUERIES_PER_READ);
  gp_say(inst);
  gp_dispatch_self(inst);
  return 0;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void gp_instance_free(void *data) {
  gp_instance_t *inst = data;
  if (inst == NULL)
    return;
  gp_list_free(&inst->edges);
  gp_list_free(&inst->trunks);
  gen_families_free(&inst->families);
  gp_config_release(&inst->config);
  gen_client_free(inst->client);
  free(inst);
}

static int gp_instance_init(void *data) {
  gp_instance_t *inst = data;
  for (int f = 0; f < GP_FAMILY_COUNT; f++)
    inst->complain[f] = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  if (inst->config.status_url == NULL)
    return -ENOMEM;
  const gen_org_t *org = inst->client->org;
  inst->region_group = gen_pf_region_group(
      org->region != NULL ? gen_region_domain(org->region) : org->api_base_url);
  gp_config_done(&inst->config);
  inst->who = (gen_log_org_t){PLUGIN_NAME, org->name};
  inst->unknown = (gen_unknown_sink_t){&inst->client->stats, &inst->who,
                                       gp_family_names[GP_STATUS_PAGE]};
  gen_family_env_t env = {.config = &inst->config,
                          .client = inst->client,
                          .plugin = PLUGIN_NAME,
                          .who = &inst->who};
  return gen_families_open(&inst->families, &gp_history, &env) == 0 ? 0 : -EIO;
}

static const gen_plugin_t gp_plugin = {
    .name = PLUGIN_NAME,
    .org_key = gp_config_key,
    .keys = gp_keys,
    .n_keys = GP_KEYS,
    .config_init = gp_config_init,
    .config_release = gp_config_release,
    GEN_PLUGIN_INSTANCE(gp_instance_t),
    .instance_init = gp_instance_init,
    .instance_free = gp_instance_free,
    .read = gp_read,
};

GEN_PLUGIN_REGISTER(gp_plugin)
