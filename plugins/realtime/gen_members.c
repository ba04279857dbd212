/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the member set of a set of queues (see gen_members.h).
 */
#include "gen_members.h"
#include "gen_buf.h"
#include "gen_entity.h"
#include "gen_json.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* pageSize and pageNumber in the query (the SDKs' postAnalyticsRouting
 * ActivityQuery(body, pageSize, pageNumber)), over the groups; the answer
 * has no paging fields, so a next page is asked while queues asked for
 * have no group yet. */
#define ACTIVITY_PATH "/api/v2/analytics/routing/activity/query"
#define ACTIVITY_PAGE_SIZE 100
/* expand puts presence under "user" (QueueMember has none of its own);
 * routingStatus comes on the member and on its user. */
#define MEMBERS_PATH                                                           \
  "/api/v2/routing/queues/%s/members?expand=routingStatus&expand=presence"
#define MEMBERS_PAGE_SIZE 100 /* the documented maximum */
/* A routing activity page: 100 groups x 1,000 members (the entities of
 * details are truncated beyond; undocumented, the simulator's
 * --activity-max-entities) x 600 B (an entity, 400 B, and its id under
 * each of the 3 metrics; the simulator's answers 580 B a member) = 60 MB:
 * the default MaxResponseSize, 64 MiB (a page refused lists its queues
 * through their members instead). */
#define ACTIVITY_ANSWER GEN_HTTP_BOUND(GEN_MIB(64), "routing activity page")
/* A members page: 100 QueueMembers x 3 KB (its user expanded with
 * routingStatus and presence) = 300 KB, x6: 2 MiB. */
#define MEMBERS_ANSWER GEN_HTTP_BOUND(GEN_MIB(2), "queue members page")

typedef struct {
  gen_http_t *http;
  const gen_members_options_t *options;
  gen_members_stats_t *stats;
  char *err;
  size_t err_size;

  gen_entity_set_t users;           /* the member set */
  const char **routing, **presence; /* parallel to users.items; NULL unknown */
  size_t capacity;
  gen_pool_t states; /* the texts of routing and presence */

  gen_entity_set_t queues;  /* distinct queue ids, in the caller's order */
  bool *pending;            /* per queue: not yet listed */
  bool *grouped;            /* per queue: the activity query gave its group */
  const char *const *batch; /* the queues of the activity query asked now */
  size_t batch_n;
  int batch_status;                 /* the first failure of a group (ENOMEM) */
  size_t page_groups, first_groups; /* groups on this page, on the first */
  size_t page_new;                  /* of them, queues not grouped before */
  int pages;                        /* pages of the batch read */
  bool activity_off; /* the activity route refused us: stop asking */
  bool rate_limited; /* a 429 was refused: no more fallback listings */
} ctx_t;

/* Keeps the first problem: it is the one that explains the rest. */
static void note(ctx_t *c, const char *format, ...) {
  if (c->err == NULL || c->err_size == 0 || c->err[0] != '\0')
    return;
  va_list ap;
  va_start(ap, format);
  vsnprintf(c->err, c->err_size, format, ap);
  va_end(ap);
}

/* Index of user id in the member set (added when new), or a negative
 * errno. */
static ssize_t add_user(ctx_t *c, const char *id) {
  ssize_t index = gen_entity_find(&c->users, id);
  if (index >= 0)
    return index;
  index = gen_entity_add(&c->users, id, id, NULL);
  if (index < 0)
    return index;
  if ((size_t)index >= c->capacity) {
    /* Two arrays of one capacity: each grows on its own copy of it, which
     * becomes the capacity once both have grown. */
    size_t routing_cap = c->capacity, presence_cap = c->capacity;
    if (gen_grow((void **)&c->routing, &routing_cap, (size_t)index + 1,
                 sizeof(*c->routing), 256) != 0 ||
        gen_grow((void **)&c->presence, &presence_cap, (size_t)index + 1,
                 sizeof(*c->presence), 256) != 0)
      return -ENOMEM;
    memset(c->routing + c->capacity, 0,
           (routing_cap - c->capacity) * sizeof(*c->routing));
    memset(c->presence + c->capacity, 0,
           (presence_cap - c->capacity) * sizeof(*c->presence));
    c->capacity = routing_cap;
  }
  return index;
}

/* The first known value wins: every source is a snapshot of one moment. */
static int set_state(ctx_t *c, const char **slot, const char *value) {
  if (value == NULL || value[0] == '\0' || *slot != NULL)
    return 0;
  *slot = gen_pool_strdup(&c->states, value);
  return *slot == NULL ? -ENOMEM : 0;
}

static int add_member(ctx_t *c, const char *id, const char *routing,
                      const char *presence) {
  ssize_t index = add_user(c, id);
  if (index < 0)
    return (int)index;
  int status = set_state(c, &c->routing[index], routing);
  if (status == 0)
    status = set_state(c, &c->presence[index], presence);
  return status;
}

/* ---- the activity query ---------------------------------------------- */

static json_object *activity_body(const char *const *ids, size_t n) {
  static const char *const metrics[] = {"oMemberUsers", "oUserRoutingStatuses",
                                        "oUserPresences"};
  json_object *body = json_object_new_object();
  json_object *list = json_object_new_array();
  for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
    json_object *m = json_object_new_object();
    json_object_object_add(m, "metric", json_object_new_string(metrics[i]));
    json_object_object_add(m, "details", json_object_new_boolean(1));
    json_object_array_add(list, m);
  }
  json_object_object_add(body, "metrics", list);
  json_object *group_by = json_object_new_array();
  json_object_array_add(group_by, json_object_new_string("queueId"));
  json_object_object_add(body, "groupBy", group_by);
  json_object_object_add(body, "filter", gen_json_or_filter("queueId", ids, n));
  return body;
}

/* The oMemberUsers item of a group's data, or NULL. */
static json_object *member_item(json_object *data) {
  size_t n = json_object_array_length(data);
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(data, i);
    const char *metric = gen_json_get_string(item, "metric");
    if (metric != NULL && strcmp(metric, "oMemberUsers") == 0)
      return item;
  }
  return NULL;
}

/* Takes a group's members. Returns 1 when they can be trusted whole (not
 * truncated, and as many distinct ids as the count says), 0 when the queue
 * must be listed again (the ids it did name are kept: they are members
 * too), or a negative errno. */
static int take_group(ctx_t *c, json_object *group_doc) {
  json_object *data = gen_json_get_array(group_doc, "data");
  json_object *item = data ? member_item(data) : NULL;
  json_object *ids = gen_json_get_array(item, "entityIds");
  size_t n = ids ? json_object_array_length(ids) : 0;
  gen_entity_set_t seen = {0};
  int64_t distinct = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *value = json_object_array_get_idx(ids, i);
    const char *id = json_object_is_type(value, json_type_string)
                         ? json_object_get_string(value)
                         : NULL;
    if (id == NULL || id[0] == '\0' || gen_entity_find(&seen, id) >= 0)
      continue;
    if (gen_entity_add(&seen, id, id, NULL) < 0 || add_user(c, id) < 0) {
      gen_entity_set_free(&seen);
      return -ENOMEM;
    }
    distinct++;
  }
  gen_entity_set_free(&seen);

  json_object *truncated = NULL;
  int64_t count;
  if (item == NULL || !gen_json_get_int64(item, "count", &count) ||
      count != distinct)
    return 0;
  if (json_object_object_get_ex(group_doc, "truncated", &truncated) &&
      json_object_get_boolean(truncated))
    return 0;
  return 1;
}

/* Routing statuses and presences named by entityIds, for known members. */
static int take_states(ctx_t *c, json_object *group_doc) {
  json_object *data = gen_json_get_array(group_doc, "data");
  size_t n = data ? json_object_array_length(data) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(data, i);
    const char *metric = gen_json_get_string(item, "metric");
    const char *qualifier = gen_json_get_string(item, "qualifier");
    json_object *ids = gen_json_get_array(item, "entityIds");
    if (metric == NULL || qualifier == NULL || ids == NULL)
      continue;
    bool routing = strcmp(metric, "oUserRoutingStatuses") == 0;
    if (!routing && strcmp(metric, "oUserPresences") != 0)
      continue;
    size_t k = json_object_array_length(ids);
    for (size_t j = 0; j < k; j++) {
      json_object *id = json_object_array_get_idx(ids, j);
      ssize_t index =
          json_object_is_type(id, json_type_string)
              ? gen_entity_find(&c->users, json_object_get_string(id))
              : -1;
      if (index < 0)
        continue;
      int status = set_state(
          c, routing ? &c->routing[index] : &c->presence[index], qualifier);
      if (status != 0)
        return status;
    }
  }
  return 0;
}

/* One activity group: its members, then their states; its queue is no
 * longer pending when the group can be trusted whole. */
static int take_activity_group(json_object *group_doc, void *ud) {
  ctx_t *c = ud;
  const char *queue_id =
      gen_json_get_string(gen_json_get_object(group_doc, "group"), "queueId");
  ssize_t q = gen_entity_find(&c->queues, queue_id);
  if (q < 0) {
    c->stats->malformed++;
    return 0;
  }
  c->page_groups++;
  if (c->grouped[q])
    return 0; /* a second group for the same queue */
  c->grouped[q] = true;
  c->page_new++;
  int status = take_group(c, group_doc);
  if (status == 1)
    c->pending[q] = false;
  else if (status == 0)
    c->stats->truncated++;
  if (status >= 0)
    status = take_states(c, group_doc);
  if (status < 0)
    c->batch_status = status;
  return status < 0 ? status : 0;
}

/* Whether to ask the next page: a queue of the batch still has no group,
 * and this page was as full as the first (a shorter one is the last) and
 * brought groups not seen before (a server that answers every page alike
 * costs one request more, not pages without end). */
static bool activity_more(void *ud) {
  ctx_t *c = ud;
  bool full = ++c->pages == 1 || c->page_groups >= c->first_groups;
  if (c->pages == 1)
    c->first_groups = c->page_groups;
  bool news = c->page_new > 0;
  c->page_groups = c->page_new = 0;
  if (!full || !news)
    return false;
  for (size_t i = 0; i < c->batch_n; i++) {
    ssize_t q = gen_entity_find(&c->queues, c->batch[i]);
    if (q >= 0 && !c->grouped[q])
      return true;
  }
  return false;
}

/* One query for ids[0..n-1] (n ≤ 100), followed to its last page; the
 * queues it answers for in full are no longer pending. */
static int activity_batch(ctx_t *c, const char *const *ids, size_t n) {
  json_object *body = activity_body(ids, n);
  c->batch = ids;
  c->batch_n = n;
  c->batch_status = 0;
  c->page_groups = c->first_groups = c->page_new = 0;
  c->pages = 0;
  gen_http_pager_t p = {
      .path = ACTIVITY_PATH,
      .body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
      .array = "results",
      .page_size = ACTIVITY_PAGE_SIZE,
      .more = activity_more,
      .answer = ACTIVITY_ANSWER,
      .each = take_activity_group,
      .ud = c};
  char why[400];
  int status = gen_http_page_all(c->http, &p, why, sizeof(why));
  json_object_put(body);
  c->stats->activity_queries++;
  c->stats->activity_pages += (size_t)p.page;
  if (c->batch_status < 0)
    return c->batch_status;
  if (status != 0) {
    /* An org or region without the route, or a client without
     * analytics permission: one refusal is enough. The groups of the
     * pages before stand; the queues without one stay pending. */
    if (p.page == 1 && (p.status == 400 || p.status == 403 || p.status == 404 ||
                        p.status == 405 || p.status == 501))
      c->activity_off = true;
    if (status == GEN_HTTP_ERR_JSON)
      c->stats->malformed++;
    note(c, "routing activity query failed: %s", why);
  }
  return 0;
}

/* ---- the fallback: one queue's member listing ---------------------------
 */

static int each_member(json_object *member, void *ud) {
  ctx_t *c = ud;
  json_object *user = gen_json_get_object(member, "user");
  const char *id = gen_json_get_string(user ? user : member, "id");
  if (id == NULL || id[0] == '\0') {
    c->stats->malformed++;
    return 0;
  }
  const char *routing = gen_json_get_string(
      gen_json_get_object(member, "routingStatus"), "status");
  if (routing == NULL)
    routing = gen_json_get_string(gen_json_get_object(user, "routingStatus"),
                                  "status");
  json_object *presence = gen_json_get_object(user, "presence");
  if (presence == NULL) /* tolerated: not in the QueueMember model */
    presence = gen_json_get_object(member, "presence");
  json_object *definition = gen_json_get_object(presence, "presenceDefinition");
  const char *name = gen_json_get_string(definition, "systemPresence");
  if (name == NULL)
    name = gen_json_get_string(definition, "id");
  return add_member(c, id, routing, name);
}

/* Returns 1 when listed whole, 0 when not (noted), negative errno. */
static int list_queue(ctx_t *c, const char *queue_id, cdtime_t deadline) {
  char path[512];
  int len = snprintf(path, sizeof(path), MEMBERS_PATH, queue_id);
  if (len < 0 || (size_t)len >= sizeof(path) - 48)
    return 0;
  gen_http_pager_t p = {.path = path,
                        .page_size = MEMBERS_PAGE_SIZE,
                        .deadline = deadline,
                        .answer = MEMBERS_ANSWER,
                        .each = each_member,
                        .ud = c};
  char why[400];
  int status = gen_http_page_all(c->http, &p, why, sizeof(why));
  c->stats->fallback_requests += (size_t)p.page;
  if (status == -ENOMEM)
    return status;
  if (status != 0) {
    if (p.status == 429)
      c->rate_limited = true;
    if (status == GEN_HTTP_ERR_JSON)
      c->stats->malformed++;
    note(c, "members of queue %s: %s", queue_id, why);
    return 0;
  }
  return 1;
}

/* ---- the whole ----------------------------------------------------------
 */

static void ctx_free(ctx_t *c) {
  gen_pool_free(&c->states);
  free(c->routing);
  free(c->presence);
  gen_entity_set_free(&c->users);
  gen_entity_set_free(&c->queues);
  free(c->pending);
  free(c->grouped);
}

int gen_members_list(gen_http_t *http, const char *const *queue_ids, size_t n,
                     const gen_members_options_t *options,
                     gen_members_each_t each, void *ud,
                     gen_members_stats_t *stats, char *err, size_t err_size) {
  static const gen_members_options_t defaults = {0};
  gen_members_stats_t scratch; /* stats may be NULL */
  if (stats == NULL)
    stats = &scratch;
  ctx_t c = {.http = http,
             .options = options ? options : &defaults,
             .stats = stats,
             .err = err,
             .err_size = err_size};
  if (err != NULL && err_size > 0)
    err[0] = '\0';
  memset(stats, 0, sizeof(*stats));
  if (http == NULL || each == NULL || (n > 0 && queue_ids == NULL))
    return -EINVAL;

  int status = 0;
  for (size_t i = 0; status == 0 && i < n; i++)
    if (queue_ids[i] != NULL && queue_ids[i][0] != '\0' &&
        gen_entity_add(&c.queues, queue_ids[i], queue_ids[i], NULL) < 0)
      status = -ENOMEM;
  c.pending = calloc(c.queues.count ? c.queues.count : 1, sizeof(*c.pending));
  c.grouped = calloc(c.queues.count ? c.queues.count : 1, sizeof(*c.grouped));
  if (status != 0 || c.pending == NULL || c.grouped == NULL) {
    ctx_free(&c);
    return -ENOMEM;
  }
  for (size_t i = 0; i < c.queues.count; i++)
    c.pending[i] = true;
  stats->queues = c.queues.count;

  const char *batch[GEN_MEMBERS_QUEUES_PER_QUERY];
  for (size_t i = 0; status == 0 && !c.options->no_activity &&
                     !c.activity_off && i < c.queues.count;
       i += GEN_MEMBERS_QUEUES_PER_QUERY) {
    size_t k = c.queues.count - i;
    if (k > GEN_MEMBERS_QUEUES_PER_QUERY)
      k = GEN_MEMBERS_QUEUES_PER_QUERY;
    for (size_t j = 0; j < k; j++)
      batch[j] = c.queues.items[i + j].id;
    status = activity_batch(&c, batch, k);
  }

  cdtime_t deadline = c.options->budget > 0 ? cdtime() + c.options->budget : 0;
  size_t skipped = 0;
  for (size_t i = 0; status >= 0 && i < c.queues.count; i++) {
    if (!c.pending[i])
      continue;
    if (c.rate_limited || (deadline != 0 && cdtime() >= deadline)) {
      if (!c.rate_limited)
        note(&c, "member listings stopped: time budget spent");
      skipped++;
      continue;
    }
    stats->fallback_queues++;
    status = list_queue(&c, c.queues.items[i].id, deadline);
    if (status == 0)
      skipped++;
    else if (status == 1)
      status = 0;
  }
  if (status < 0) {
    ctx_free(&c);
    return status;
  }
  for (size_t i = 0; i < c.users.count; i++)
    each(ud, c.users.items[i].id, c.routing[i], c.presence[i]);
  stats->skipped = skipped;
  stats->members = c.users.count;
  ctx_free(&c);
  return skipped > 0 ? GEN_MEMBERS_PARTIAL : 0;
}
