/* SPDX-License-Identifier: MIT */
/* Agent states by division and by team of genesys_realtime
 * (gen_agent_groups.h). */
#include "collectd/core/daemon/collectd.h"

#include "gen_agent_groups.h"

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

#define COUNTS_PATH                                                            \
  "/api/v2/analytics/agents/status/counts?groupBy=routingStatus&groupBy="      \
  "presence"
/* The counts of a group: a count per routing status and presence pair, 5
 * x some 100 presences (custom ones) x 150 B = 75 KB, x13. */
#define COUNTS_ANSWER GEN_HTTP_BOUND(GEN_MIB(1), "agent status counts")

/* One kind of group: its listing, each group's members (teams), counts. */
typedef struct {
  gen_entity_set_t set;
  gen_entity_set_t *members; /* per group (teams), NULL for divisions */
  cdtime_t *members_at;      /* when each was listed (0: never) */
  gen_ag_counts_t *counts;
  bool *have; /* the group's last answers were read whole */
} group_kind_t;

struct gen_agent_groups {
  gen_agent_groups_config_t c;
  group_kind_t divisions, teams;
  cdtime_t listed_at; /* 0: never */
  /* A sweep asks every group once; the next starts AgentStatesEvery after
   * the last began, once it is done. */
  bool sweeping;
  cdtime_t swept_at;
  size_t cursor;       /* the next group: divisions, then teams */
  gen_minute_t minute; /* the budget: AgentStatesRequests in any 60 s */
  uint64_t requests, failures;
  bool refused;       /* a 403 for the counts: the family stops */
  bool teams_refused; /* a 403 for the teams: teams stop */
  gen_ratelimit_t complain;
};

void gen_agent_groups_config_init(gen_agent_groups_config_t *c) {
  c->by_division = false;
  c->by_team = false;
  c->every = TIME_T_TO_CDTIME_T(60);
  c->relist = TIME_T_TO_CDTIME_T(600);
  c->per_minute = 60;
}

#define AC gen_agent_groups_config_t
static const gen_config_def_t ag_defs[] = {
    GEN_KEY_BOOL("AgentStatesByDivision", AC, by_division, "false",
                 "agents of each division by routing status and presence"),
    GEN_KEY_BOOL("AgentStatesByTeam", AC, by_team, "false",
                 "agents of each work team by routing status and presence"),
    GEN_KEY_SECONDS("AgentStatesEvery", AC, every, 10, 3600, "60",
                    "how often each division and team is asked"),
    GEN_KEY_SECONDS("AgentStatesListEvery", AC, relist, 60, 86400, "600",
                    "how often divisions, teams and members are listed"),
    GEN_KEY_INT("AgentStatesRequests", AC, per_minute, 1, GEN_AG_MAX_PER_MINUTE,
                "60", "agent status counts requests a minute at most"),
};
#undef AC
const gen_config_table_t gen_agent_groups_keys = GEN_CONFIG_TABLE(ag_defs);

/* An entry's count (gen_json_count_of). */
static bool entry_count(json_object *e, int64_t *n) {
  json_object *v;
  return json_object_is_type(e, json_type_object) &&
         json_object_object_get_ex(e, "count", &v) && gen_json_count_of(v, n);
}

int gen_ag_read(const char *text, size_t len, gen_ag_counts_t *c,
                size_t *malformed, char *err, size_t err_size) {
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
    int r = gen_routing_from_name(gen_json_get_string(e, "routingStatus"));
    if (r < 0 || !entry_count(e, &count))
      (*malformed)++;
    else
      c->routing[r] += count;
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
    /* an org presence of no system presence we know: "other" */
    int p = gen_presence_from_name(gen_json_get_string(e, "systemPresence"));
    c->presence[p >= 0 ? p : GEN_PRESENCE_OTHER] += count;
  }
  json_object_put(doc);
  return 0;
}

char *gen_ag_body(const char *division, const char *const *ids, size_t n) {
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
                         json_object_new_string(division ? "and" : "or"));
  json_object_object_add(filter, "predicates", preds);
  for (size_t k = 0; k < (division ? 1 : n); k++) {
    json_object *p = json_object_new_object();
    if (p == NULL)
      break;
    json_object_object_add(
        p, "dimension",
        json_object_new_string(division ? "divisionId" : "userId"));
    json_object_object_add(
        p, "value", json_object_new_string(division ? division : ids[k]));
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
  memset(k, 0, sizeof(*k));
}

gen_agent_groups_t *gen_agent_groups_new(const gen_agent_groups_config_t *c) {
  if (!c->by_division && !c->by_team)
    return NULL;
  gen_agent_groups_t *g = calloc(1, sizeof(*g));
  if (g == NULL)
    return NULL;
  g->c = *c;
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
  kind_clear(&g->divisions);
  kind_clear(&g->teams);
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

/* Lists a kind into k (its old listing kept when this one fails). */
static int list_kind(gen_agent_groups_t *g, gen_client_t *client,
                     const char *path, bool with_members, group_kind_t *k,
                     const char *family) {
  char err[512] = "", perm[128];
  gen_entity_set_t fresh = {0};
  int status = gen_entity_list(client->http, client->org, path, NULL, &fresh,
                               err, sizeof(err));
  if (outcome(g, client, family, status, err, path) || status != 0) {
    gen_entity_set_free(&fresh);
    return gen_missing_permission(err, perm, sizeof(perm)) ? -EACCES : status;
  }
  /* A team's members are listed in the sweep, within the budget: a
   * listing of 1,000 teams at once was past the API's minute. */
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

/* One counts request of body, added to *c. 0, or a failure with err. */
static int ask(gen_agent_groups_t *g, gen_client_t *client, char *body,
               gen_ag_counts_t *c, char *err, size_t err_size) {
  gen_http_response_t resp;
  size_t malformed = 0;
  if (body == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  g->requests++;
  int status =
      gen_http_request(client->http, "POST", COUNTS_PATH, body,
                       &(gen_http_options_t){.answer = COUNTS_ANSWER}, &resp);
  free(body);
  if (status != 0)
    snprintf(err, err_size, "%s", resp.error);
  else
    status =
        gen_ag_read(resp.body, resp.body_len, c, &malformed, err, err_size);
  gen_http_response_recycle(client->http, &resp);
  for (size_t b = 0; b < malformed + (status == -EBADMSG); b++)
    gen_http_count_malformed(client->http);
  if (status == 0 && malformed > 0) {
    snprintf(err, err_size,
             "%zu count(s) without a known status or a count of 0 or more",
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
  char err[512];
} batch_ctx_t;

static bool ask_batch(void *ud, const char *const *ids, size_t n) {
  batch_ctx_t *b = ud;
  b->status = ask(b->g, b->client, gen_ag_body(NULL, ids, n), b->c, b->err,
                  sizeof(b->err));
  return b->status == 0 && !gen_http_resting(b->client->http, NULL);
}

/* Requests group i of k costs: 1 a division, one a batch of members a team
 * (none for a team without members). */
static size_t cost_of(const group_kind_t *k, size_t i) {
  if (k->members == NULL)
    return 1;
  size_t n = k->members[i].count;
  return (n + GEN_AG_USERS_PER_REQUEST - 1) / GEN_AG_USERS_PER_REQUEST;
}

/* Group i of k asked; false once the family is refused. */
static bool ask_group(gen_agent_groups_t *g, gen_client_t *client,
                      group_kind_t *k, size_t i) {
  batch_ctx_t b = {.g = g, .client = client, .c = &k->counts[i]};
  memset(b.c, 0, sizeof(*b.c));
  if (k->members == NULL)
    b.status = ask(g, client, gen_ag_body(k->set.items[i].id, NULL, 0), b.c,
                   b.err, sizeof(b.err));
  else if (gen_entity_batches(&k->members[i], GEN_AG_USERS_PER_REQUEST,
                              ask_batch, &b) != 0)
    b.status = -ENOMEM, snprintf(b.err, sizeof(b.err), "out of memory");
  k->have[i] = b.status == 0;
  char what[300];
  snprintf(what, sizeof(what), "%s \"%s\"",
           k->members == NULL ? "division" : "team", k->set.items[i].name);
  if (outcome(g, client, GEN_AG_FAMILY, b.status, b.err, what)) {
    g->refused = true;
    return false;
  }
  return true;
}

size_t gen_agent_groups_run(gen_agent_groups_t *g, gen_client_t *client,
                            cdtime_t now) {
  if (g == NULL || g->refused || gen_http_resting(client->http, NULL))
    return 0;
  uint64_t before = g->requests;
  if (g->listed_at == 0 || now - g->listed_at >= g->c.relist) {
    uint64_t listing = gen_client_requests(client);
    g->listed_at = now;
    if (g->c.by_division)
      list_kind(g, client, "/api/v2/authorization/divisions", false,
                &g->divisions, GEN_AG_FAMILY);
    if (g->c.by_team && !g->teams_refused &&
        list_kind(g, client, "/api/v2/teams", true, &g->teams,
                  GEN_AG_TEAMS_FAMILY) == -EACCES)
      g->teams_refused = true;
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
  size_t n_div = g->divisions.set.count;
  size_t total = n_div + (g->teams_refused ? 0 : g->teams.set.count);
  while (g->cursor < total && !gen_http_resting(client->http, NULL)) {
    group_kind_t *k = g->cursor < n_div ? &g->divisions : &g->teams;
    size_t i = g->cursor < n_div ? g->cursor : g->cursor - n_div;
    bool list = k->members != NULL && (k->members_at[i] == 0 ||
                                       now - k->members_at[i] >= g->c.relist);
    /* A budget short of what the next step costs waits for the next read
     * (a step beyond a whole minute's budget for an empty minute). */
    if (list) {
      size_t pages = cost_of(k, i); /* as many as last time */
      if (!gen_minute_room(&g->minute, pages < 1 ? 1 : pages, now))
        break;
      bool ok = false, refused = false;
      bool never = k->members_at[i] == 0;
      gen_minute_spend(&g->minute,
                       list_members(g, client, k, i, now, &ok, &refused), now);
      if (refused) {
        g->teams_refused = true;
        break;
      }
      if (!ok && never) { /* no members known: no count to tell */
        k->have[i] = false;
        g->cursor++;
        continue;
      }
    }
    if (!gen_minute_room(&g->minute, cost_of(k, i), now))
      break;
    uint64_t made = g->requests;
    bool go_on = ask_group(g, client, k, i);
    gen_minute_spend(&g->minute, g->requests - made, now);
    if (!go_on)
      return (size_t)(g->requests - before);
    g->cursor++;
  }
  if (g->cursor >= total)
    g->sweeping = false;
  return (size_t)(g->requests - before);
}

static void put_kind(const group_kind_t *k, const gen_org_t *org,
                     const char *routing_type, const char *presence_type,
                     gen_ag_put_t put, void *ud) {
  for (size_t i = 0; i < k->set.count; i++) {
    if (!k->have[i])
      continue;
    const char *name = gen_entity_instance(org, &k->set.items[i]);
    for (int r = 0; r < GEN_ROUTING_COUNT; r++)
      put(ud, name, routing_type, gen_routing_instance(r),
          (double)k->counts[i].routing[r]);
    for (int p = 0; p < GEN_PRESENCE_COUNT; p++)
      put(ud, name, presence_type, gen_presence_instance(p),
          (double)k->counts[i].presence[p]);
  }
}

void gen_agent_groups_put(const gen_agent_groups_t *g, const gen_org_t *org,
                          gen_ag_put_t put, void *ud) {
  if (g == NULL || g->refused)
    return;
  put_kind(&g->divisions, org, "division_agents_routing",
           "division_agents_presence", put, ud);
  if (!g->teams_refused)
    put_kind(&g->teams, org, "team_agents_routing", "team_agents_presence", put,
             ud);
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
