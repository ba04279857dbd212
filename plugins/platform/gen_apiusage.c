/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: API usage per OAuth client (see gen_apiusage.h).
 */
#include "gen_apiusage.h"
#include "gen_buf.h"
#include "gen_dispatch.h"
#include "gen_err.h"
#include "gen_http.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_names.h"
#include "gen_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DAY_MS GEN_AU_DAY_MS
#define FAMILY "api_usage"      /* self-metric type instance */
#define FAMILY_NAME "API usage" /* in the log (gen_client_family) */

const char *const gen_au_metric_names[GEN_AU_METRICS] = {
    "requests",  "status200", "status300",
    "status400", "status429", "status500"};

static const gen_config_def_t au_defs[] = {
    GEN_KEY_BOOL("ApiUsage", gen_au_config_t, enabled, false,
                 "the API usage per OAuth client of the last whole UTC day"),
    GEN_KEY_BOOL("ApiUsageByRoute", gen_au_config_t, per_route, false,
                 "with ApiUsage, also per route template of each client"),
    GEN_KEY_SECONDS("ApiUsageRefresh", gen_au_config_t, refresh, 1, 86400, 3600,
                    "how often the last whole day is asked again"),
    GEN_KEY_INT("ApiUsageMaxClients", gen_au_config_t, max_clients, 1, 10000,
                100,
                "clients dispatched, those with the most requests; the "
                "others summed into \"" GEN_AU_OTHER "\""),
};

const gen_config_table_t gen_au_keys = GEN_CONFIG_TABLE(au_defs);

int64_t gen_au_day(int64_t now_ms) {
  return gen_bucket_floor(now_ms, DAY_MS) - DAY_MS;
}

/* {"interval": day to end, "granularity": "Day"}: the form the SDK
 * documents, "YYYY-MM-DDThh:mm:ss/YYYY-MM-DDThh:mm:ss", seconds, no zone
 * (the days are UTC). */
static json_object *au_day_body(int64_t day_ms, int64_t end_ms) {
  char from[GEN_TIME_STRLEN], to[GEN_TIME_STRLEN], interval[64];
  gen_time_format(day_ms, from, sizeof(from));
  gen_time_format(end_ms, to, sizeof(to));
  snprintf(interval, sizeof(interval), "%.19s/%.19s", from, to);
  json_object *body = json_object_new_object();
  json_object_object_add(body, "interval", json_object_new_string(interval));
  json_object_object_add(body, "granularity", json_object_new_string("Day"));
  return body;
}

/* The jobs query's interval is inclusive at both ends
 * (OrganizationPublicApiUsageQueryRequest: "Start and end are
 * inclusive"): it ends at the day's last second, or the next day's rows
 * (today's, partial) would come too and cost pages. */
json_object *gen_au_job_body(int64_t day_ms) {
  return au_day_body(day_ms, day_ms + DAY_MS - 1000);
}

/* The job's body, grouped. */
/* The legacy query's record does not say whether its end is inclusive:
 * it ends at the next midnight, and rows of another date are passed over
 * when read. */
json_object *gen_au_query_body(int64_t day_ms, bool per_route) {
  json_object *body = au_day_body(day_ms, day_ms + DAY_MS);
  json_object *group = json_object_new_array();
  json_object_array_add(group, json_object_new_string("OAuthClientId"));
  if (per_route)
    json_object_array_add(group, json_object_new_string("TemplateUri"));
  json_object_object_add(body, "groupBy", group);
  return body;
}

/* ---- rows ---------------------------------------------------------------- */

static void rows_free(gen_au_rows_t *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->rows[i].key);
  free(s->rows);
  gen_map_free(&s->index);
  memset(s, 0, sizeof(*s));
}

/* dst becomes src (which is left empty). */
static void rows_take(gen_au_rows_t *dst, gen_au_rows_t *src) {
  rows_free(dst);
  *dst = *src;
  memset(src, 0, sizeof(*src));
}

/* Adds v to the row of (label, route), made when new. 0 or -ENOMEM. */
static int rows_add(gen_au_rows_t *s, const char *label, const char *route,
                    const int64_t v[GEN_AU_METRICS]) {
  gen_key_t k = {.str = {label, route}}; /* a total: route NULL */
  void *found;
  gen_au_row_t *r;
  s->index.kind = GEN_MAP_KEY;
  if (gen_map_find(&s->index, &k, &found))
    r = &s->rows[gen_map_to_index(found)];
  else {
    if (s->n == s->cap &&
        gen_grow((void **)&s->rows, &s->cap, s->n + 1, sizeof(*r), 16) != 0)
      return -ENOMEM;
    r = &s->rows[s->n];
    *r = (gen_au_row_t){.key = gen_key_copy(&k)};
    if (r->key == NULL ||
        gen_map_put(&s->index, r->key, gen_map_index(s->n)) != 0) {
      free(r->key);
      return -ENOMEM;
    }
    r->label = r->key->str[0];
    r->route = r->key->str[1];
    s->n++;
  }
  /* Each count is within 2^53 (counts_of): the sum stops there rather
   * than wrap, and says so. */
  bool stopped = false;
  for (int m = 0; m < GEN_AU_METRICS; m++)
    stopped |= !gen_count_add(&r->v[m], v[m]);
  s->saturated += stopped;
  return 0;
}

/* A row's counts, requests under name (requests or requestCount): false
 * when one is there but not a whole number in [0, 2^53]. */
static bool counts_of(json_object *row, const char *requests,
                      int64_t v[GEN_AU_METRICS]) {
  for (int m = 0; m < GEN_AU_METRICS; m++) {
    json_object *x;
    v[m] = 0; /* every metric is asked for: absent is none */
    if (json_object_object_get_ex(
            row, m == 0 ? requests : gen_au_metric_names[m], &x) &&
        x != NULL &&
        (!gen_json_int64_of(x, &v[m]) || v[m] < 0 || v[m] > GEN_JSON_EXACT_MAX))
      return false;
  }
  return true;
}

/* A row's day: 1 when it is day_ms's (or says none), 0 when another's, -1
 * when its date is unreadable. Both services' forms: a date-time, a date. */
static int day_of(const char *date, int64_t day_ms) {
  char text[GEN_TIME_STRLEN + 16];
  int64_t at;
  if (date == NULL || date[0] == '\0')
    return 1;
  snprintf(text, sizeof(text), "%s%s", date,
           strlen(date) == 10 ? "T00:00:00Z" : "");
  if (gen_time_parse(text, &at) != 0)
    return -1;
  return at >= day_ms && at < day_ms + DAY_MS;
}

/* An answer's state by its queryStatus, and its rows (*list). The legacy
 * query: "Running" (or any state but Complete) while it is computed, Failed.
 * A job: Succeeded (the model's) or Complete (the legacy spelling); Failed
 * or Cancelled; Queued, Running, any other: not yet. Rows without a status
 * are complete (UNCONFIRMED both). -EINVAL with neither a status nor rows. */
static const char *const known_statuses[] = {
    "Complete", "Running", "Failed", "Queued", "Succeeded", "Cancelled"};

static int answer_state(json_object *doc, bool jobs, json_object **list,
                        gen_au_state_t *state, const char **unknown) {
  const char *status = gen_json_get_string(doc, "queryStatus");
  *unknown = status;
  for (size_t i = 0; status != NULL && i < STATIC_ARRAY_SIZE(known_statuses);
       i++)
    if (strcasecmp(status, known_statuses[i]) == 0)
      *unknown = NULL;
  *list = gen_json_get_array(doc, jobs ? "entities" : "results");
  if (status == NULL && *list == NULL)
    return -EINVAL;
  if (status != NULL && (strcasecmp(status, "Failed") == 0 ||
                         (jobs && strcasecmp(status, "Cancelled") == 0)))
    *state = GEN_AU_FAILED;
  else if (status != NULL && strcasecmp(status, "Complete") != 0 &&
           !(jobs && strcasecmp(status, "Succeeded") == 0))
    *state = GEN_AU_RUNNING;
  else
    *state = GEN_AU_COMPLETE;
  return 0;
}

/* The rows of list into rows: a legacy answer's clientId and clientName,
 * a job's oauthClient (an object, or an id alone: UNCONFIRMED). 0 or
 * -ENOMEM. */
static int rows_read(json_object *list, bool jobs, int64_t day_ms,
                     bool per_route, bool by_id, gen_au_rows_t *rows,
                     size_t *skipped) {
  size_t len = list ? json_object_array_length(list) : 0;
  for (size_t i = 0; i < len; i++) {
    json_object *row = json_object_array_get_idx(list, i);
    json_object *client = jobs ? gen_json_get_object(row, "oauthClient") : row;
    const char *id = gen_json_get_string(client, jobs ? "id" : "clientId");
    const char *name =
        gen_json_get_string(client, jobs ? "name" : "clientName");
    int64_t v[GEN_AU_METRICS];
    int day = day_of(gen_json_get_string(row, "date"), day_ms);
    if (jobs && client == NULL &&
        json_object_object_get_ex(row, "oauthClient", &client) &&
        json_object_is_type(client, json_type_string))
      id = json_object_get_string(client);
    if (day == 0)
      continue; /* another day's: not the one asked */
    if (day < 0 || id == NULL || id[0] == '\0' ||
        !counts_of(row, jobs ? "requestCount" : "requests", v)) {
      (*skipped)++;
      continue;
    }
    /* Its client's total and, with per_route, its route's. */
    const char *label = !by_id && name != NULL && name[0] != '\0' ? name : id;
    const char *route = gen_json_get_string(row, "templateUri");
    if (rows_add(rows, label, NULL, v) != 0 ||
        (per_route && route != NULL && route[0] != '\0' &&
         rows_add(rows, label, route, v) != 0))
      return -ENOMEM;
  }
  return 0;
}

int gen_au_answer_read(json_object *doc, int64_t day_ms, bool per_route,
                       bool by_id, gen_au_t *au, gen_au_state_t *state,
                       size_t *skipped) {
  json_object *results;
  *skipped = 0;
  int status = answer_state(doc, false, &results, state, &au->unknown_status);
  if (status != 0 || *state != GEN_AU_COMPLETE)
    return status;
  gen_au_rows_t rows = {0};
  if (rows_read(results, false, day_ms, per_route, by_id, &rows, skipped) !=
      0) {
    rows_free(&rows);
    return -ENOMEM;
  }
  rows_take(&au->done, &rows);
  au->day_ms = day_ms;
  return 0;
}

/* The next page's target: nextUri's after= on page_path (our pageSize
 * kept), else nextUri itself; else a cursor field. "" when none. */
static bool next_target(json_object *doc, const char *page_path, char *next,
                        size_t size) {
  const char *uri = gen_json_get_string(doc, "nextUri");
  const char *cursor = gen_json_get_string(doc, "cursor");
  if (cursor == NULL)
    cursor = gen_json_get_string(gen_json_get_object(doc, "cursors"), "after");
  next[0] = '\0';
  if (uri != NULL && uri[0] != '\0') {
    const char *q = strchr(uri, '?');
    const char *after = q != NULL ? strstr(q, "after=") : NULL;
    while (after != NULL && after[-1] != '?' && after[-1] != '&')
      after = strstr(after + 1, "after=");
    if (after == NULL) /* followed as it is: the link is the API's */
      return (size_t)snprintf(next, size, "%s", uri) < size;
    after += strlen("after=");
    return (size_t)snprintf(next, size, "%s&after=%.*s", page_path,
                            (int)strcspn(after, "&#"), after) < size;
  }
  if (cursor == NULL || cursor[0] == '\0')
    return true;
  if ((size_t)snprintf(next, size, "%s&after=", page_path) >= size)
    return false;
  return gen_append_escaped(next, size, cursor);
}

int gen_au_job_page_read(json_object *doc, int64_t day_ms, bool per_route,
                         bool by_id, const char *page_path, const char *target,
                         gen_au_t *au, gen_au_state_t *state, char *next,
                         size_t next_size, size_t *skipped) {
  json_object *entities;
  *skipped = 0;
  next[0] = '\0';
  int status = answer_state(doc, true, &entities, state, &au->unknown_status);
  if (status != 0 || *state != GEN_AU_COMPLETE)
    return status;
  if (!next_target(doc, page_path, next, next_size) ||
      (next[0] != '\0' && strcmp(next, target) == 0)) {
    next[0] = '\0';
    return -EBADMSG;
  }
  if (rows_read(entities, true, day_ms, per_route, by_id, &au->paging,
                skipped) != 0) {
    next[0] = '\0';
    return -ENOMEM;
  }
  if (next[0] == '\0') { /* the last page: the day's rows */
    rows_take(&au->done, &au->paging);
    au->day_ms = day_ms;
  }
  return 0;
}

/* Most requests first, then by label: the same clients kept each time. */
static int by_requests(const void *a, const void *b) {
  const gen_au_row_t *x = *(const gen_au_row_t *const *)a;
  const gen_au_row_t *y = *(const gen_au_row_t *const *)b;
  if (x->v[0] != y->v[0])
    return x->v[0] > y->v[0] ? -1 : 1;
  return strcmp(x->label, y->label);
}

int gen_au_cap_clients(gen_au_t *au, int max, const gen_org_t *org) {
  gen_au_rows_t *s = &au->done;
  size_t clients = 0;
  for (size_t i = 0; i < s->n; i++)
    clients += s->rows[i].route == NULL;
  au->clients = clients;
  au->folded = 0;
  if (max <= 0 || clients <= (size_t)max)
    return 0;
  const gen_au_row_t **ranked = malloc(clients * sizeof(*ranked));
  bool *kept = calloc(s->n, sizeof(*kept));
  gen_au_rows_t out = {0};
  int status = ranked != NULL && kept != NULL ? 0 : -ENOMEM;
  for (size_t i = 0, k = 0; status == 0 && i < s->n; i++)
    if (s->rows[i].route == NULL)
      ranked[k++] = &s->rows[i];
  if (status == 0) {
    qsort(ranked, clients, sizeof(*ranked), by_requests);
    for (size_t k = 0; k < (size_t)max; k++)
      kept[ranked[k] - s->rows] = true;
  }
  for (size_t i = 0; status == 0 && i < s->n; i++) {
    const gen_au_row_t *r = &s->rows[i];
    size_t total = i; /* a route row goes where its client's total goes */
    void *found;
    gen_key_t k = {.str = {r->label, NULL}};
    if (r->route != NULL && gen_map_find(&s->index, &k, &found))
      total = gen_map_to_index(found);
    status =
        rows_add(&out, kept[total] ? r->label : GEN_AU_OTHER, r->route, r->v);
  }
  free(ranked);
  free(kept);
  if (status != 0) {
    rows_free(&out);
    return status;
  }
  out.saturated += s->saturated;
  rows_take(s, &out);
  au->folded = clients - (size_t)max;
  if (!au->said_cap) {
    au->said_cap = true;
    gen_org_log(org, NULL, LOG_WARNING,
                "API usage: %zu of %zu OAuth clients, those with the fewest "
                "requests, are summed into one client \"%s\" "
                "(ApiUsageMaxClients %d; self-metric api_usage_held_back)",
                au->folded, clients, GEN_AU_OTHER, max);
  }
  return 0;
}

/* ---- requests ------------------------------------------------------------ */

/* A failed query is asked for again after ApiUsageRefresh, 5 minutes at
 * most: a refused permission is not asked for every read. */
#define RETRY_MAX TIME_T_TO_CDTIME_T(300)

static void au_failed(gen_au_t *au, gen_client_t *client, cdtime_t refresh,
                      int status, const char *err) {
  cdtime_t wait = refresh < RETRY_MAX ? refresh : RETRY_MAX;
  au->failures++;
  au->execution[0] = '\0';
  rows_free(&au->paging);
  au->retry = cdtime() + wait;
  if (status == -EINVAL || gen_err_malformed(status))
    atomic_fetch_add(&client->stats.malformed, 1);
  if (gen_client_family(client, FAMILY_NAME, status, err,
                        "the other platform values"))
    return;
  gen_org_log(client->org, &au->complain, LOG_ERR,
              "API usage request failed (asked for again in %.0f s): %s",
              CDTIME_T_TO_DOUBLE(wait), err);
}

/* One request (body, taken, NULL for none) whose answer is a JSON
 * document: 0 with *doc, or a failure with err; *http the HTTP status (0
 * without an answer). */
static int au_request(gen_au_t *au, gen_client_t *client, const char *method,
                      const char *target, json_object *body, json_object **doc,
                      long *http, char *err, size_t size) {
  gen_http_response_t resp;
  *doc = NULL;
  au->requests++;
  int status = gen_http_request(client->http, method, target,
                                body != NULL ? json_object_to_json_string_ext(
                                                   body, JSON_C_TO_STRING_PLAIN)
                                             : NULL,
                                NULL, &resp);
  json_object_put(body);
  *http = resp.status;
  if (status != 0)
    snprintf(err, size, "%s", resp.error);
  else if (gen_http_answer_json(client->http, &resp, doc, err, size) != 0)
    status = -EBADMSG;
  gen_http_response_recycle(client->http, &resp);
  return status == 0 && *doc == NULL ? -ENOMEM : status;
}

/* POSTs the query or job of day_ms: 0 with au->execution set, or a
 * failure. */
static int au_post(gen_au_t *au, gen_client_t *client, int64_t day_ms,
                   const gen_au_config_t *c) {
  char err[512] = "";
  json_object *doc = NULL;
  long http = 0;
  int status = 0; /* one of the two requests below sets it */
  if (au->legacy_ms != day_ms) {
    status = au_request(au, client, "POST", GEN_AU_JOBS_PATH,
                        gen_au_job_body(day_ms), &doc, &http, err, sizeof(err));
    /* Once the jobs route answered 404: the legacy query for this day. */
    if (status != 0 && http == 404) {
      au->legacy_ms = day_ms;
      if (!au->said_legacy)
        gen_org_log(client->org, NULL, LOG_WARNING,
                    "API usage: the usage jobs route (%s) answered 404; "
                    "reading the legacy usage query (%s), which leaves out "
                    "Genesys's own clients and has no pages: its counts may "
                    "be cut",
                    GEN_AU_JOBS_PATH, GEN_AU_QUERY_PATH);
      au->said_legacy = true;
    }
  }
  bool legacy = au->legacy_ms == day_ms;
  if (legacy) {
    json_object_put(doc);
    status = au_request(au, client, "POST", GEN_AU_QUERY_PATH,
                        gen_au_query_body(day_ms, c->per_route), &doc, &http,
                        err, sizeof(err));
  }
  /* (doc is NULL after a failure) */
  const char *id = gen_json_get_string(doc, legacy ? "executionId" : "id");
  /* An id that goes into the path as it is. */
  if (status == 0 && !gen_id_plain(id, sizeof(au->execution))) {
    status = -EBADMSG;
    snprintf(err, sizeof(err), "no usable %s in the %s's answer",
             legacy ? "executionId" : "id", legacy ? "query" : "job");
  }
  if (status == 0) {
    sstrncpy(au->execution, id, sizeof(au->execution));
    au->legacy_query = legacy;
    au->next[0] = '\0';
    rows_free(&au->paging);
    au->asked_ms = day_ms;
    au->polls = 0;
  }
  json_object_put(doc);
  if (status != 0)
    au_failed(au, client, c->refresh, status, err);
  return status;
}

/* One GET of the query's or job's results: 1 when another page is due at
 * once, else 0 (done, failed, or not ready yet). */
static int au_results(gen_au_t *au, gen_client_t *client,
                      const gen_au_config_t *c) {
  char page[160], target[sizeof(au->next)], err[512] = "";
  json_object *doc = NULL;
  long http = 0;
  bool by_id = client->org->instance_from == GEN_INSTANCE_FROM_ID;
  if (au->legacy_query)
    snprintf(page, sizeof(page), "%s/%s/results", GEN_AU_QUERY_PATH,
             au->execution);
  else
    snprintf(page, sizeof(page), "%s/%s?pageSize=%d", GEN_AU_JOBS_PATH,
             au->execution, GEN_AU_PAGE_SIZE);
  sstrncpy(target, au->next[0] != '\0' ? au->next : page, sizeof(target));
  int status = au_request(au, client, "GET", target, NULL, &doc, &http, err,
                          sizeof(err));
  gen_au_state_t state = GEN_AU_FAILED;
  size_t skipped = 0;
  if (status == 0) {
    status = au->legacy_query
                 ? gen_au_answer_read(doc, au->asked_ms, c->per_route, by_id,
                                      au, &state, &skipped)
                 : gen_au_job_page_read(doc, au->asked_ms, c->per_route, by_id,
                                        page, target, au, &state, au->next,
                                        sizeof(au->next), &skipped);
    if (status == -EINVAL) {
      status = -EBADMSG;
      snprintf(err, sizeof(err), "not a usage %s result",
               au->legacy_query ? "query" : "job");
    } else if (status == -EBADMSG)
      snprintf(err, sizeof(err),
               "a usage job page whose next page is itself "
               "or does not fit");
    else if (status == -ENOMEM)
      snprintf(err, sizeof(err), "out of memory");
    if (au->unknown_status != NULL) /* asked again, as a "Running" */
      gen_client_unknown(client, "api_usage", "queryStatus",
                         au->unknown_status);
  }
  au->unknown_status = NULL;
  json_object_put(doc);
  if (status == 0 && state == GEN_AU_RUNNING &&
      ++au->polls >= GEN_AU_MAX_POLLS) {
    status = -ETIMEDOUT;
    snprintf(err, sizeof(err), "the query still runs after %d reads",
             au->polls);
  } else if (status == 0 && state == GEN_AU_FAILED) {
    status = -EREMOTEIO; /* Genesys' own failure, not a malformed answer */
    snprintf(err, sizeof(err), "the query's status is %s",
             au->legacy_query ? "Failed" : "Failed or Cancelled");
  }
  if (skipped > 0) {
    atomic_fetch_add(&client->stats.malformed, 1);
    gen_org_log(client->org, &au->complain, LOG_WARNING,
                "%zu rows of an API usage answer were not usable and were "
                "skipped",
                skipped);
  }
  if (status != 0) {
    au_failed(au, client, c->refresh, status, err);
    return 0;
  }
  if (state == GEN_AU_RUNNING)
    return 0; /* asked again next read */
  if (au->next[0] != '\0')
    return 1;
  if (gen_au_cap_clients(au, (int)c->max_clients, client->org) != 0)
    gen_org_log(client->org, &au->complain, LOG_ERR,
                "API usage: out of memory summing the clients beyond "
                "ApiUsageMaxClients; every client is dispatched");
  if (au->done.saturated > 0)
    gen_org_log(client->org, &au->complain, LOG_WARNING,
                "API usage: %zu sums of the day's counts saturated at 2^53 "
                "(%lld); the answer's counts cannot be right",
                au->done.saturated, GEN_JSON_EXACT_MAX);
  au->execution[0] = '\0';
  au->done_at = cdtime();
  gen_client_family(client, FAMILY_NAME, 0, NULL, NULL);
  return 0;
}

/* ---- read ---------------------------------------------------------------- */

/* The rows of day (none unless they are au's) at time at and interval (0:
 * now and the read interval). */
static void dispatch_rows(const gen_au_t *au, gen_client_t *client,
                          const char *plugin, int64_t day, cdtime_t at,
                          cdtime_t interval) {
  const char *host = gen_client_host(client);
  for (size_t i = 0; au->day_ms == day && i < au->done.n; i++) {
    const gen_au_row_t *r = &au->done.rows[i];
    for (int m = 0; m < GEN_AU_METRICS; m++) {
      char ti[512];
      if (r->route != NULL)
        snprintf(ti, sizeof(ti), "%s-%s", gen_au_metric_names[m], r->route);
      gen_ident_t id = {.host = host,
                        .plugin = plugin,
                        .plugin_instance = r->label,
                        .type = r->route ? "api_route_usage" : "api_usage",
                        .type_instance =
                            r->route ? ti : gen_au_metric_names[m]};
      gen_dispatch_gauge(&id, (double)r->v[m], at, interval);
    }
  }
}

int gen_au_replay_day(gen_au_t *au, gen_client_t *client,
                      const gen_au_config_t *c, int64_t day_ms,
                      const char *plugin) {
  if (client->org->shard_index != 0)
    return 0;
  if (au->complain.interval == 0)
    au->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  uint64_t failures = au->failures;
  au->execution[0] = '\0';
  if (au_post(au, client, day_ms, c) != 0)
    return -EIO;
  /* Until its last page or a failure; "Running" asked again a second
   * later, GEN_AU_MAX_POLLS times at most. */
  while (au->execution[0] != '\0' && au->failures == failures)
    if (au_results(au, client, c) == 0 && au->execution[0] != '\0')
      sleep(1);
  if (au->failures != failures)
    return -EIO;
  dispatch_rows(au, client, plugin, day_ms, gen_ms_to_cdtime(day_ms + DAY_MS),
                MS_TO_CDTIME_T(DAY_MS));
  return 0;
}

void gen_au_read(gen_au_t *au, gen_client_t *client, const gen_au_config_t *c,
                 const char *plugin) {
  if (!c->enabled || client->org->shard_index != 0)
    return;
  if (au->complain.interval == 0)
    au->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  cdtime_t now = cdtime();
  int64_t day = gen_au_day((int64_t)CDTIME_T_TO_MS(now));
  /* A retry further off than any wait was set while the clock was ahead:
   * kept, it would hold every query back until the clock caught up. (A
   * done_at ahead makes now - done_at wrap: due at once, as wanted.) */
  bool resting = now < au->retry && au->retry - now <= RETRY_MAX;
  bool due = (au->done_at == 0 || au->day_ms != day ||
              now - au->done_at >= c->refresh) &&
             !resting;
  /* A query of a day gone by is dropped; a new day asks the jobs route
   * again (legacy_ms). */
  if (au->asked_ms != day)
    au->execution[0] = '\0';
  /* A new query, and its results at once: a short one may be done. */
  if (au->execution[0] == '\0' && due)
    au_post(au, client, day, c);
  int pages = 0;
  while (au->execution[0] != '\0' && pages++ < GEN_AU_PAGES_PER_READ &&
         au_results(au, client, c) == 1)
    ;

  /* Only the last complete day's counts: none once it is gone by. */
  dispatch_rows(au, client, plugin, day, 0, 0);
  bool today = au->day_ms == day;
  const gen_self_row_t rows[] = {
      {"platform_requests", FAMILY, true, (double)au->requests},
      {"platform_failures", FAMILY, true, (double)au->failures},
      {"api_usage_clients", NULL, false, today ? (double)au->clients : 0},
      /* What the day's values hold back: clients summed into "other", sums
       * stopped at 2^53. */
      {"api_usage_held_back", "clients", false, today ? (double)au->folded : 0},
      {"api_usage_held_back", "saturated", false,
       today ? (double)au->done.saturated : 0},
  };
  gen_dispatch_self_rows(gen_client_host(client), plugin, rows,
                         STATIC_ARRAY_SIZE(rows));
}

void gen_au_free(gen_au_t *au) {
  rows_free(&au->done);
  rows_free(&au->paging);
  memset(au, 0, sizeof(*au));
}
