/* SPDX-License-Identifier: MIT */
/* Agent states by division and by team of genesys_realtime
 * (gen_agent_groups.h). */
#include "collectd/core/daemon/collectd.h"

#include "gen_agent_groups.h"
#include "gen_feature.h"

#include "gen_dispatch.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_minute.h"
#include "gen_names.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COUNTS_PATH                                                            \
  "/api/v2/analytics/agents/status/counts?groupBy=routingStatus&groupBy="      \
  "presence"
/* The counts of a group: a count per routing status and presence pair, 5
 * x some 100 presences (custom ones) x 150 B = 75 KB, x13. */
#define COUNTS_ANSWER GEN_HTTP_BOUND(GEN_MIB(1), "agent status counts")

/* The kinds of group, in the order a sweep asks them. */
enum { K_DIVISION, K_TEAM, K_UNIT, K_COUNT };

typedef struct {
  const char *noun;      /* in the log */
  const char *dimension; /* the predicate of one request a group */
  const char *path;      /* the listing */
  const char *family;    /* of the listing's refusal (gen_client_family) */
  const char *routing_type, *presence_type;
} kind_def_t;

static const kind_def_t kind_defs[K_COUNT] = {
    [K_DIVISION] = {"division", "divisionId", "/api/v2/authorization/divisions",
                    GEN_AG_FAMILY, "division_agents_routing",
                    "division_agents_presence"},
    [K_TEAM] = {"team", "teamId", "/api/v2/teams", GEN_AG_TEAMS_FAMILY,
                "team_agents_routing", "team_agents_presence"},
    [K_UNIT] = {"management unit", "managementUnitId",
                "/api/v2/workforcemanagement/managementunits",
                GEN_AG_UNITS_FAMILY, "unit_agents_routing",
                "unit_agents_presence"},
};

/* Whether the route takes a kind's predicate (teamId, managementUnitId:
 * since 257.0.0 of the SDK), known from its first answer: a 400 then is an
 * API before it (a region not updated). Teams then are counted from their
 * members' userId predicates; units are not counted. */
typedef enum { PRED_UNDECIDED, PRED_TAKEN, PRED_REFUSED } pred_t;

/* One kind of group: its listing, each group's members (teams, on the
 * member path), counts. */
typedef struct {
  gen_entity_set_t set;
  gen_entity_set_t *members; /* per group (teams), NULL for the others */
  cdtime_t *members_at;      /* when each was listed (0: never) */
  gen_ag_counts_t *counts;
  bool *have;   /* the group's last answers were read whole */
  bool on;      /* configured */
  bool refused; /* a 403 for its listing, or units' predicate refused */
  pred_t pred;  /* the route and its predicate */
} group_kind_t;

struct gen_agent_groups {
  gen_agent_groups_config_t c;
  group_kind_t kinds[K_COUNT];
  cdtime_t listed_at; /* 0: never */
  /* A sweep asks every group once; the next starts AgentStatesEvery after
   * the last began, once it is done. */
  bool sweeping;
  cdtime_t swept_at;
  size_t cursor;       /* the next group: divisions, teams, then units */
  gen_minute_t minute; /* the budget: AgentStatesRequests in any 60 s */
  uint64_t requests, failures;
  bool refused; /* a 403 for the counts: the family stops */
  gen_ratelimit_t complain;
};

#define AC gen_agent_groups_config_t
static const gen_config_def_t ag_defs[] = {
    GEN_KEY_BOOL("AgentStatesByDivision", AC, by_division, false,
                 "agents of each division by routing status and presence"),
    GEN_KEY_BOOL("AgentStatesByTeam", AC, by_team, false,
                 "agents of each work team by routing status and presence"),
    GEN_KEY_BOOL("AgentStatesByManagementUnit", AC, by_unit, false,
                 "agents of each workforce management unit by routing "
                 "status and presence"),
    GEN_KEY_SECONDS("AgentStatesEvery", AC, every, 10, 3600, 60,
                    "how often each division, team and unit is asked"),
    GEN_KEY_SECONDS("AgentStatesListEvery", AC, relist, 60, 86400, 600,
                    "how often divisions, teams, units and members are "
                    "listed"),
    GEN_KEY_INT("AgentStatesRequests", AC, per_minute, 1, GEN_AG_MAX_PER_MINUTE,
                60, "agent status counts requests a minute at most"),
};
#undef AC
const gen_config_table_t gen_agent_groups_keys = GEN_CONFIG_TABLE(ag_defs);

/* An entry's count (gen_json_count_of). */
static bool entry_count(json_object *e, int64_t *n) {
  json_object *v;
  return json_object_is_type(e, json_type_object) &&
         json_object_object_get_ex(e, "count", &v) && gen_json_count_of(v, n);
}

/* A word of an enum field that this version does not know: counted in
 * unknown_values (client NULL: not counted, the tests of the reader). */
static void unknown_word(gen_client_t *client, const char *field,
                         const char *word) {
  if (client != NULL && word != NULL && word[0] != '\0')
    gen_client_unknown(client, "agent_groups", field, word);
}

/* The routing status of a name: one we know, else GEN_AG_ROUTING_UNKNOWN:
 * the enum's UNKNOWN, none (the field is optional in the record), or a word
 * we do not know (that one counted). */
static int routing_of(gen_client_t *client, const char *name) {
  if (name == NULL || name[0] == '\0')
    return GEN_AG_ROUTING_UNKNOWN;
  int r = gen_routing_from_name(name);
  if (r >= 0)
    return r;
  if (strcasecmp(name, "UNKNOWN") != 0)
    unknown_word(client, "routingStatus", name);
  return GEN_AG_ROUTING_UNKNOWN;
}

/* The system presence of a name: one we know, else "other" (an org
 * presence of none, the enum's UNKNOWN, or a word we do not know, that one
 * counted). */
static int presence_of(gen_client_t *client, const char *name) {
  int p = gen_presence_from_name(name);
  if (p >= 0)
    return p;
  if (name != NULL && strcasecmp(name, "UNKNOWN") != 0)
    unknown_word(client, "systemPresence", name);
  return GEN_PRESENCE_OTHER;
}

int gen_ag_read(gen_client_t *client, const char *text, size_t len,
                gen_ag_counts_t *c, size_t *malformed, char *err,
                size_t err_size) {
  json_object *doc;
  *malformed = 0;
  if (gen_json_parse_answer(text, len, &doc, err, err_size) != 0)
    return -EBADMSG;
  if (!json_object_is_type(doc, json_type_object)) {
    json_object_put(doc);
    snprintf(err, err_size, "not an object");
    return -EBADMSG;
  }
  json_object *routing = gen_json_get_array(doc, "routingStatusCounts");
  size_t n = routing != NULL ? json_object_array_length(routing) : 0;
  for (size_t k = 0; k < n; k++) {
    json_object *e = json_object_array_get_idx(routing, k);
    int64_t count;
    if (!entry_count(e, &count)) {
      (*malformed)++;
      continue;
    }
    c->routing[routing_of(client, gen_json_get_string(e, "routingStatus"))] +=
        count;
  }
  json_object *presence = gen_json_get_array(doc, "presenceCounts");
  n = presence != NULL ? json_object_array_length(presence) : 0;
  for (size_t k = 0; k < n; k++) {
    json_object *e = json_object_array_get_idx(presence, k);
    int64_t count;
    if (!entry_count(e, &count)) {
      (*malformed)++;
      continue;
    }
    c->presence[presence_of(client,
                            gen_json_get_string(e, "systemPresence"))] += count;
  }
  json_object_put(doc);
  return 0;
}

char *gen_ag_body(const char *dimension, const char *const *values, size_t n) {
  json_object *body = json_object_new_object(), *filter, *preds;
  if (body == NULL)
    return NULL;
  filter = json_object_new_object();
  preds = json_object_new_array();
  json_object_object_add(body, "userFilter", filter);
  if (filter == NULL || preds == NULL) {
    json_object_put(preds);
    json_object_put(body);
    return NULL;
  }
  json_object_object_add(filter, "type",
                         json_object_new_string(n > 1 ? "or" : "and"));
  json_object_object_add(filter, "predicates", preds);
  for (size_t k = 0; k < n; k++) {
    json_object *p = json_object_new_object();
    if (p == NULL)
      break;
    json_object_object_add(p, "dimension", json_object_new_string(dimension));
    json_object_object_add(p, "value", json_object_new_string(values[k]));
    json_object_array_add(preds, p);
  }
  char *text =
      strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
  json_object_put(body);
  return text;
}

static void kind_clear(group_kind_t *k) {
  if (k->members != NULL)
    for (size_t i = 0; i < k->set.count; i++)
      gen_entity_set_free(&k->members[i]);
  gen_entity_set_free(&k->set);
  free(k->members);
  free(k->members_at);
  free(k->counts);
  free(k->have);
  k->members = NULL, k->members_at = NULL, k->counts = NULL, k->have = NULL;
}

gen_agent_groups_t *gen_agent_groups_new(const gen_agent_groups_config_t *c) {
  if (!c->by_division && !c->by_team && !c->by_unit)
    return NULL;
  gen_agent_groups_t *g = calloc(1, sizeof(*g));
  if (g == NULL)
    return NULL;
  g->c = *c;
  g->kinds[K_DIVISION].on = c->by_division;
  g->kinds[K_TEAM].on = c->by_team;
  g->kinds[K_UNIT].on = c->by_unit;
  g->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  if (gen_minute_init(&g->minute,
                      c->per_minute > 0 ? (size_t)c->per_minute : 1) != 0) {
    free(g);
    return NULL;
  }
  return g;
}

void gen_agent_groups_free(gen_agent_groups_t *g) {
  if (g == NULL)
    return;
  for (int k = 0; k < K_COUNT; k++)
    kind_clear(&g->kinds[k]);
  gen_minute_free(&g->minute);
  free(g);
}

/* A refusal of a family's permission: said once, true. Another failure:
 * counted and logged (rate-limited). */
static bool outcome(gen_agent_groups_t *g, gen_client_t *client,
                    const char *family, int status, const char *err,
                    const char *what) {
  return gen_minute_outcome(client, family, status, err, what, &g->failures,
                            &g->complain);
}

/* Whether group kind k is counted from its members: teams once the teamId
 * predicate was refused. */
static bool by_members(const gen_agent_groups_t *g, int k) {
  return k == K_TEAM && g->kinds[K_TEAM].pred == PRED_REFUSED;
}

/* Lists kind k (its old listing kept when this one fails). */
static int list_kind(gen_agent_groups_t *g, gen_client_t *client, int kk) {
  group_kind_t *k = &g->kinds[kk];
  const kind_def_t *d = &kind_defs[kk];
  char err[512] = "", perm[128];
  gen_entity_set_t fresh = {0};
  int status = gen_entity_list(client->http, client->org, d->path, NULL, &fresh,
                               err, sizeof(err));
  if (outcome(g, client, d->family, status, err, d->path) || status != 0) {
    gen_entity_set_free(&fresh);
    return gen_missing_permission(err, perm, sizeof(perm)) ? -EACCES : status;
  }
  /* A team's members are listed in the sweep, within the budget: a
   * listing of 1,000 teams at once was past the API's minute. Teams keep
   * room for them whatever the path, the fallback may come at any answer. */
  bool with_members = kk == K_TEAM;
  size_t n = fresh.count > 0 ? fresh.count : 1;
  gen_entity_set_t *members = with_members ? calloc(n, sizeof(*members)) : NULL;
  cdtime_t *members_at = with_members ? calloc(n, sizeof(*members_at)) : NULL;
  gen_ag_counts_t *counts = calloc(n, sizeof(*counts));
  bool *have = calloc(n, sizeof(*have));
  if ((with_members && (members == NULL || members_at == NULL)) ||
      counts == NULL || have == NULL) {
    free(members), free(members_at), free(counts), free(have);
    gen_entity_set_free(&fresh);
    return -ENOMEM;
  }
  kind_clear(k);
  k->set = fresh;
  k->members = members;
  k->members_at = members_at;
  k->counts = counts;
  k->have = have;
  return 0;
}

/* Lists team i's members again (due every AgentStatesListEvery); its last
 * members are kept when this fails, and it is due again at the next sweep.
 * Returns the requests it made; *ok when listed, *refused on a 403. */
static size_t list_members(gen_agent_groups_t *g, gen_client_t *client,
                           group_kind_t *k, size_t i, cdtime_t now, bool *ok,
                           bool *refused) {
  char err[512] = "", path[256];
  const char *id = k->set.items[i].id;
  uint64_t before = gen_client_requests(client);
  int status;
  gen_entity_set_t fresh = {0};
  snprintf(path, sizeof(path), "/api/v2/teams/%s/members", id);
  if (!gen_id_plain(id, 100)) {
    status = -EINVAL; /* never put into a path */
    snprintf(err, sizeof(err), "team id \"%s\" not usable in a path", id);
  } else {
    status = gen_entity_list_ids(client->http, client->org, path, &fresh, err,
                                 sizeof(err));
  }
  *ok = status == 0;
  if (*ok)
    k->members_at[i] = now;
  *refused = outcome(g, client, GEN_AG_TEAMS_FAMILY, status, err, path);
  gen_entity_set_replace(&k->members[i], &fresh, status == 0);
  return (size_t)(gen_client_requests(client) - before);
}

/* One counts request of body, added to *c. 0, or a failure with err;
 * *http the answer's HTTP status (0 without one). */
static int ask(gen_agent_groups_t *g, gen_client_t *client, char *body,
               gen_ag_counts_t *c, long *http, char *err, size_t err_size) {
  gen_http_response_t resp;
  size_t malformed = 0;
  *http = 0;
  if (body == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  g->requests++;
  int status =
      gen_http_request(client->http, "POST", COUNTS_PATH, body,
                       &(gen_http_options_t){.answer = COUNTS_ANSWER}, &resp);
  free(body);
  *http = resp.status;
  if (status != 0)
    snprintf(err, err_size, "%s", resp.error);
  else
    status = gen_ag_read(client, resp.body, resp.body_len, c, &malformed, err,
                         err_size);
  gen_http_response_recycle(client->http, &resp);
  for (size_t b = 0; b < malformed + (status == -EBADMSG); b++)
    gen_http_count_malformed(client->http);
  if (status == 0 && malformed > 0) {
    snprintf(err, err_size, "%zu entr(ies) without a count of 0 or more",
             malformed);
    return -EBADMSG;
  }
  return status;
}

typedef struct {
  gen_agent_groups_t *g;
  gen_client_t *client;
  gen_ag_counts_t *c;
  int status;
  long http;
  char err[512];
} batch_ctx_t;

static bool ask_batch(void *ud, const char *const *ids, size_t n) {
  batch_ctx_t *b = ud;
  b->status = ask(b->g, b->client, gen_ag_body("userId", ids, n), b->c,
                  &b->http, b->err, sizeof(b->err));
  return b->status == 0 && !gen_http_resting(b->client->http, NULL);
}

/* Requests group i of kind kk costs: 1, or one a batch of members a team
 * on the member path (none for a team without members). */
static size_t cost_of(const gen_agent_groups_t *g, int kk, size_t i) {
  if (!by_members(g, kk))
    return 1;
  size_t n = g->kinds[kk].members[i].count;
  return (n + GEN_AG_USERS_PER_REQUEST - 1) / GEN_AG_USERS_PER_REQUEST;
}

/* The first answer to a teamId or managementUnitId predicate decides
 * whether the route takes it; which path is used is said once. Returns
 * true when group i must be asked again (the teams' member path). */
static bool predicate_answered(gen_agent_groups_t *g, gen_client_t *client,
                               int kk, const batch_ctx_t *b) {
  group_kind_t *k = &g->kinds[kk];
  if (k->pred != PRED_UNDECIDED || (b->status != 0 && b->http != 400))
    return false; /* decided, or no answer to tell */
  const char *family = kind_defs[kk].family;
  if (b->status == 0) {
    k->pred = PRED_TAKEN;
    gen_org_log(client->org, NULL, LOG_INFO,
                "%s: counted by the %s predicate, one request a %s", family,
                kind_defs[kk].dimension, kind_defs[kk].noun);
    return false;
  }
  k->pred = PRED_REFUSED;
  if (kk == K_TEAM) {
    gen_org_log(client->org, NULL, LOG_NOTICE,
                "%s: the counts route refused the teamId predicate (%s): "
                "teams counted from their members' listings",
                family, b->err);
    return true;
  }
  k->refused = true;
  gen_org_log(client->org, NULL, LOG_WARNING,
              "%s: the counts route refused the managementUnitId predicate "
              "(%s): management units are not counted until collectd "
              "restarts",
              family, b->err);
  return false;
}

/* Group i of kind kk asked; *again when it must be asked again (the team
 * path changed); false once the family is refused. */
static bool ask_group(gen_agent_groups_t *g, gen_client_t *client, int kk,
                      size_t i, bool *again) {
  group_kind_t *k = &g->kinds[kk];
  batch_ctx_t b = {.g = g, .client = client, .c = &k->counts[i]};
  memset(b.c, 0, sizeof(*b.c));
  *again = false;
  if (!by_members(g, kk)) {
    const char *id = k->set.items[i].id;
    b.status = ask(g, client, gen_ag_body(kind_defs[kk].dimension, &id, 1), b.c,
                   &b.http, b.err, sizeof(b.err));
    if (kk != K_DIVISION && predicate_answered(g, client, kk, &b)) {
      k->have[i] = false;
      *again = true;
      return true;
    }
    if (k->refused) { /* the unit predicate refused: not a failure */
      k->have[i] = false;
      return true;
    }
  } else if (gen_entity_batches(&k->members[i], GEN_AG_USERS_PER_REQUEST,
                                ask_batch, &b) != 0) {
    b.status = -ENOMEM, snprintf(b.err, sizeof(b.err), "out of memory");
  }
  k->have[i] = b.status == 0;
  char what[300];
  snprintf(what, sizeof(what), "%s \"%s\"", kind_defs[kk].noun,
           k->set.items[i].name);
  if (outcome(g, client, GEN_AG_FAMILY, b.status, b.err, what)) {
    g->refused = true;
    return false;
  }
  return true;
}

/* The kinds asked in a sweep, and the kind and index of sweep position
 * cursor: false past the last. */
static bool group_at(const gen_agent_groups_t *g, size_t cursor, int *kk,
                     size_t *i) {
  for (int k = 0; k < K_COUNT; k++) {
    const group_kind_t *kind = &g->kinds[k];
    size_t n = kind->on && !kind->refused ? kind->set.count : 0;
    if (cursor < n) {
      *kk = k, *i = cursor;
      return true;
    }
    cursor -= n;
  }
  return false;
}

size_t gen_agent_groups_run(gen_agent_groups_t *g, gen_client_t *client,
                            cdtime_t now) {
  if (g == NULL || g->refused || gen_http_resting(client->http, NULL))
    return 0;
  uint64_t before = g->requests;
  if (g->listed_at == 0 || now - g->listed_at >= g->c.relist) {
    uint64_t listing = gen_client_requests(client);
    g->listed_at = now;
    for (int k = 0; k < K_COUNT; k++)
      if (g->kinds[k].on && !g->kinds[k].refused &&
          list_kind(g, client, k) == -EACCES && k != K_DIVISION)
        g->kinds[k].refused = true; /* teams or units stop, the rest goes on */
    g->sweeping = false, g->swept_at = 0; /* new groups: a sweep now */
    gen_minute_spend(&g->minute, gen_client_requests(client) - listing,
                     now); /* its pages */
  }
  if (!g->sweeping) {
    if (g->swept_at != 0 && now - g->swept_at < g->c.every)
      return 0;
    g->sweeping = true, g->swept_at = now, g->cursor = 0;
  }
  /* A sweep asks every group in turn, as far as the budget goes; the next
   * read goes on where it stopped. */
  int kk;
  size_t i;
  while (group_at(g, g->cursor, &kk, &i) &&
         !gen_http_resting(client->http, NULL)) {
    group_kind_t *k = &g->kinds[kk];
    bool list = by_members(g, kk) && (k->members_at[i] == 0 ||
                                      now - k->members_at[i] >= g->c.relist);
    /* A budget short of what the next step costs waits for the next read
     * (a step beyond a whole minute's budget for an empty minute). */
    if (list) {
      size_t pages = cost_of(g, kk, i); /* as many as last time */
      if (!gen_minute_room(&g->minute, pages < 1 ? 1 : pages, now))
        break;
      bool ok = false, refused = false;
      bool never = k->members_at[i] == 0;
      gen_minute_spend(&g->minute,
                       list_members(g, client, k, i, now, &ok, &refused), now);
      if (refused) { /* the teams stop; the cursor to the units after */
        k->refused = true;
        g->cursor -= i;
        break;
      }
      if (!ok && never) { /* no members known: no count to tell */
        k->have[i] = false;
        g->cursor++;
        continue;
      }
    }
    if (!gen_minute_room(&g->minute, cost_of(g, kk, i), now))
      break;
    uint64_t made = g->requests;
    bool again = false;
    bool go_on = ask_group(g, client, kk, i, &again);
    gen_minute_spend(&g->minute, g->requests - made, now);
    if (!go_on)
      return (size_t)(g->requests - before);
    if (!again)
      g->cursor++;
  }
  if (!group_at(g, g->cursor, &kk, &i))
    g->sweeping = false;
  return (size_t)(g->requests - before);
}

static void put_kind(const group_kind_t *k, const kind_def_t *d,
                     const gen_org_t *org, gen_ag_put_t put, void *ud) {
  if (!k->on || k->refused)
    return;
  for (size_t i = 0; i < k->set.count; i++) {
    if (!k->have[i])
      continue;
    const char *name = gen_entity_instance(org, &k->set.items[i]);
    for (int r = 0; r < GEN_AG_ROUTING_COUNT; r++)
      put(ud, name, d->routing_type,
          r == GEN_AG_ROUTING_UNKNOWN ? "unknown" : gen_routing_instance(r),
          (double)k->counts[i].routing[r]);
    for (int p = 0; p < GEN_PRESENCE_COUNT; p++)
      put(ud, name, d->presence_type, gen_presence_instance(p),
          (double)k->counts[i].presence[p]);
  }
}

void gen_agent_groups_put(const gen_agent_groups_t *g, const gen_org_t *org,
                          gen_ag_put_t put, void *ud) {
  if (g == NULL || g->refused)
    return;
  for (int k = 0; k < K_COUNT; k++)
    put_kind(&g->kinds[k], &kind_defs[k], org, put, ud);
}

void gen_agent_groups_dispatch_stats(const gen_agent_groups_t *g,
                                     const char *host, const char *plugin) {
  if (g == NULL)
    return;
  gen_dispatch_self(host, plugin, "agent_group_requests", NULL, true,
                    (double)g->requests);
  gen_dispatch_self(host, plugin, "agent_group_failures", NULL, true,
                    (double)g->failures);
}

/* ---- its row (gen_feature.h) ----------------------------------------------
 */

static bool ag_on(const gen_feature_ctx_t *c) {
  return c->config->groups.by_division || c->config->groups.by_team ||
         c->config->groups.by_unit;
}

static void *ag_new(const gen_feature_ctx_t *c) {
  return gen_agent_groups_new(&c->config->groups);
}

static void ag_free(void *f) { gen_agent_groups_free(f); }

static bool ag_run(void *f, const gen_feature_ctx_t *ctx) {
  gen_agent_groups_run(f, ctx->client, ctx->mono);
  return false;
}

static void ag_put(void *f, const gen_feature_ctx_t *ctx, gen_feature_put_t put,
                   void *ud) {
  gen_agent_groups_put(f, ctx->client->org, put, ud);
}

static void ag_stats(void *f, const char *host, const char *plugin) {
  gen_agent_groups_dispatch_stats(f, host, plugin);
}

const gen_feature_t gen_agent_groups_feature = {.name = "agent_groups",
                                                .on = ag_on,
                                                .create = ag_new,
                                                .free = ag_free,
                                                .run = ag_run,
                                                .put = ag_put,
                                                .stats = ag_stats};
