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
#include "gen_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DAY_MS (86400 * (int64_t)1000)
#define FAMILY "api_usage"      /* self-metric type instance */
#define FAMILY_NAME "API usage" /* in the log (gen_client_family) */

const char *const gen_au_metric_names[GEN_AU_METRICS] = {
    "requests",  "status200", "status300",
    "status400", "status429", "status500"};

void gen_au_config_init(gen_au_config_t *c) {
  c->enabled = c->per_route = false;
  c->refresh = TIME_T_TO_CDTIME_T(3600);
}

int gen_au_config_key(const gen_org_t *org, const oconfig_item_t *ci,
                      gen_au_config_t *c) {
  if (strcasecmp(ci->key, "ApiUsage") == 0)
    return gen_config_bool(org, ci, &c->enabled);
  if (strcasecmp(ci->key, "ApiUsageByRoute") == 0)
    return gen_config_bool(org, ci, &c->per_route);
  if (strcasecmp(ci->key, "ApiUsageRefresh") == 0)
    return gen_config_seconds(org, ci, 1, 86400, &c->refresh);
  return GEN_CONFIG_NOT_MINE;
}

int64_t gen_au_day(int64_t now_ms) {
  int64_t today = now_ms - ((now_ms % DAY_MS) + DAY_MS) % DAY_MS;
  return today - DAY_MS;
}

json_object *gen_au_query_body(int64_t day_ms, bool per_route) {
  char from[GEN_TIME_STRLEN], to[GEN_TIME_STRLEN], interval[64];
  /* The form the SDK documents, "YYYY-MM-DDThh:mm:ss/YYYY-MM-DDThh:mm:ss":
   * seconds, no zone (the days are UTC). */
  gen_time_format(day_ms, from, sizeof(from));
  gen_time_format(day_ms + DAY_MS, to, sizeof(to));
  snprintf(interval, sizeof(interval), "%.19s/%.19s", from, to);
  json_object *body = json_object_new_object();
  json_object *group = json_object_new_array();
  json_object_array_add(group, json_object_new_string("OAuthClientId"));
  if (per_route)
    json_object_array_add(group, json_object_new_string("TemplateUri"));
  json_object_object_add(body, "interval", json_object_new_string(interval));
  json_object_object_add(body, "granularity", json_object_new_string("Day"));
  json_object_object_add(body, "groupBy", group);
  return body;
}

/* ---- rows ---------------------------------------------------------------- */

static void rows_clear(gen_au_row_t *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(rows[i].label);
    free(rows[i].route);
  }
}

/* Where the rows of one answer are found: (label, route) -> the row's
 * index; the keys borrow the answer's strings, in keys[] (two a row of the
 * answer at most: its client's total and its route). */
typedef struct {
  gen_map_t index;
  gen_key_t *keys;
  size_t used;
} row_index_t;

/* The index of the row of (label, route) in rows[0..*n), added when new;
 * -1: ENOMEM. */
static ssize_t row_of(gen_au_row_t **rows, size_t *n, size_t *cap,
                      row_index_t *ix, const char *label, const char *route) {
  gen_key_t *k = &ix->keys[ix->used];
  *k = (gen_key_t){.str = {label, route}}; /* a total: route NULL */
  void *found;
  if (gen_map_find(&ix->index, k, &found))
    return (ssize_t)gen_map_to_index(found);
  if (*n == *cap &&
      gen_grow((void **)rows, cap, *n + 1, sizeof(gen_au_row_t), 16) != 0)
    return -1;
  gen_au_row_t *r = &(*rows)[*n];
  memset(r, 0, sizeof(*r));
  r->label = strdup(label);
  r->route = route != NULL ? strdup(route) : NULL;
  if (r->label == NULL || (route != NULL && r->route == NULL) ||
      gen_map_put(&ix->index, k, gen_map_index(*n)) != 0) {
    rows_clear(r, 1);
    return -1;
  }
  ix->used++;
  return (ssize_t)(*n)++;
}

/* A row's counts: false when one is there but not a whole number. */
static bool counts_of(json_object *row, int64_t v[GEN_AU_METRICS]) {
  for (int m = 0; m < GEN_AU_METRICS; m++) {
    json_object *x;
    v[m] = 0; /* every metric is asked for: absent is none */
    if (json_object_object_get_ex(row, gen_au_metric_names[m], &x) &&
        x != NULL && (!gen_json_int64_of(x, &v[m]) || v[m] < 0))
      return false;
  }
  return true;
}

int gen_au_answer_read(json_object *doc, int64_t day_ms, bool per_route,
                       bool by_id, gen_au_t *au, gen_au_state_t *state,
                       size_t *skipped) {
  *skipped = 0;
  const char *status = gen_json_get_string(doc, "queryStatus");
  json_object *results = gen_json_get_array(doc, "results");
  if (status != NULL && strcasecmp(status, "Failed") == 0) {
    *state = GEN_AU_FAILED;
    return 0;
  }
  /* "Running" (or any state but Complete) while it is computed; an answer
   * with results and no status is complete (UNCONFIRMED). */
  if (status != NULL && strcasecmp(status, "Complete") != 0) {
    *state = GEN_AU_RUNNING;
    return 0;
  }
  if (results == NULL && status == NULL)
    return -EINVAL;
  *state = GEN_AU_COMPLETE;
  gen_au_row_t *rows = NULL;
  size_t n = 0, cap = 0, len = results ? json_object_array_length(results) : 0;
  row_index_t ix = {.index = {.kind = GEN_MAP_KEY},
                    .keys = calloc(2 * len + 1, sizeof(gen_key_t))};
  int failed = ix.keys == NULL ? -ENOMEM : 0;
  for (size_t i = 0; failed == 0 && i < len; i++) {
    json_object *row = json_object_array_get_idx(results, i);
    const char *id = gen_json_get_string(row, "clientId");
    const char *name = gen_json_get_string(row, "clientName");
    const char *route = gen_json_get_string(row, "templateUri");
    const char *date = gen_json_get_string(row, "date");
    int64_t v[GEN_AU_METRICS], at;
    if (date != NULL && date[0] != '\0') {
      if (gen_time_parse(date, &at) != 0) {
        (*skipped)++;
        continue;
      }
      if (at < day_ms || at >= day_ms + DAY_MS)
        continue; /* another day's: not the one asked */
    }
    if (id == NULL || id[0] == '\0' || !counts_of(row, v)) {
      (*skipped)++;
      continue;
    }
    const char *label = !by_id && name != NULL && name[0] != '\0' ? name : id;
    ssize_t total = row_of(&rows, &n, &cap, &ix, label, NULL), per = -2;
    if (total >= 0 && per_route && route != NULL && route[0] != '\0')
      per = row_of(&rows, &n, &cap, &ix, label, route);
    if (total < 0 || per == -1) {
      failed = -ENOMEM;
      break;
    }
    for (int m = 0; m < GEN_AU_METRICS; m++) {
      rows[total].v[m] += v[m];
      if (per >= 0)
        rows[per].v[m] += v[m];
    }
  }
  gen_map_free(&ix.index);
  free(ix.keys);
  if (failed != 0) {
    rows_clear(rows, n);
    free(rows);
    return failed;
  }
  rows_clear(au->rows, au->n);
  free(au->rows);
  au->rows = rows, au->n = n, au->cap = cap;
  au->day_ms = day_ms;
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

/* An execution id that goes into the path as it is. */
static bool execution_ok(const char *id) {
  size_t n = 0;
  for (; id != NULL && id[n] != '\0'; n++)
    if (!(isalnum((unsigned char)id[n]) || id[n] == '-' || id[n] == '_'))
      return false;
  return n > 0 && n < sizeof(((gen_au_t *)0)->execution);
}

/* POSTs the query of day_ms: 0 with au->execution set, or a failure. */
static int au_post(gen_au_t *au, gen_client_t *client, int64_t day_ms,
                   const gen_au_config_t *c) {
  char err[512] = "";
  json_object *body = gen_au_query_body(day_ms, c->per_route), *doc = NULL;
  au->requests++;
  int status = body == NULL
                   ? -ENOMEM
                   : gen_http_post_json(client->http, GEN_AU_QUERY_PATH, body,
                                        &doc, err, sizeof(err));
  json_object_put(body);
  const char *id = status == 0 ? gen_json_get_string(doc, "executionId") : NULL;
  if (status == 0 && !execution_ok(id)) {
    status = -EBADMSG;
    snprintf(err, sizeof(err), "no usable executionId in the query's answer");
  }
  if (status == 0) {
    sstrncpy(au->execution, id, sizeof(au->execution));
    au->asked_ms = day_ms;
    au->polls = 0;
  }
  json_object_put(doc);
  if (status != 0)
    au_failed(au, client, c->refresh, status, err);
  return status;
}

/* GETs the results of the query running: true when it is done (complete or
 * failed), false while it runs. */
static void au_results(gen_au_t *au, gen_client_t *client,
                       const gen_au_config_t *c) {
  char path[160], err[512] = "";
  json_object *doc = NULL;
  snprintf(path, sizeof(path), "%s/%s/results", GEN_AU_QUERY_PATH,
           au->execution);
  au->requests++;
  au->polls++;
  int status = gen_http_get_json(client->http, path, &doc, err, sizeof(err));
  gen_au_state_t state = GEN_AU_FAILED;
  size_t skipped = 0;
  if (status == 0) {
    status =
        gen_au_answer_read(doc, au->asked_ms, c->per_route,
                           client->org->instance_from == GEN_INSTANCE_FROM_ID,
                           au, &state, &skipped);
    if (status == -EINVAL) {
      status = -EBADMSG;
      snprintf(err, sizeof(err), "not a usage query result");
    } else if (status == -ENOMEM)
      snprintf(err, sizeof(err), "out of memory");
  }
  json_object_put(doc);
  if (status == 0 && state == GEN_AU_RUNNING && au->polls >= GEN_AU_MAX_POLLS) {
    status = -ETIMEDOUT;
    snprintf(err, sizeof(err), "the query still runs after %d reads",
             au->polls);
  } else if (status == 0 && state == GEN_AU_FAILED) {
    status = -EREMOTEIO; /* Genesys' own failure, not a malformed answer */
    snprintf(err, sizeof(err), "the query's status is Failed");
  }
  if (status != 0) {
    au_failed(au, client, c->refresh, status, err);
    return;
  }
  if (state == GEN_AU_RUNNING)
    return; /* asked again next read */
  au->execution[0] = '\0';
  au->done = cdtime();
  gen_client_family(client, FAMILY_NAME, 0, NULL, NULL);
  if (skipped > 0) {
    atomic_fetch_add(&client->stats.malformed, 1);
    gen_org_log(client->org, &au->complain, LOG_WARNING,
                "%zu rows of an API usage answer were not usable and were "
                "skipped",
                skipped);
  }
}

/* ---- read ---------------------------------------------------------------- */

void gen_au_read(gen_au_t *au, gen_client_t *client, const gen_au_config_t *c,
                 const char *plugin) {
  if (!c->enabled || client->org->shard_index != 0)
    return;
  if (au->complain.interval == 0)
    au->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  cdtime_t now = cdtime();
  int64_t day = gen_au_day((int64_t)CDTIME_T_TO_MS(now));
  bool due =
      (au->done == 0 || au->day_ms != day || now - au->done >= c->refresh) &&
      now >= au->retry;
  if (au->execution[0] != '\0' && au->asked_ms != day)
    au->execution[0] = '\0'; /* a query of a day gone by */
  /* A new query, and its results at once: a short one may be done. */
  if (au->execution[0] == '\0' && due)
    au_post(au, client, day, c);
  if (au->execution[0] != '\0')
    au_results(au, client, c);

  const char *host = gen_client_host(client);
  /* Only the last complete day's counts: none once it is gone by. */
  for (size_t i = 0; au->day_ms == day && i < au->n; i++) {
    const gen_au_row_t *r = &au->rows[i];
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
      gen_dispatch_gauge(&id, (double)r->v[m], 0, 0);
    }
  }
  size_t clients = 0;
  for (size_t i = 0; au->day_ms == day && i < au->n; i++)
    clients += au->rows[i].route == NULL;
  gen_dispatch_self(host, plugin, "platform_requests", FAMILY, true,
                    (double)au->requests);
  gen_dispatch_self(host, plugin, "platform_failures", FAMILY, true,
                    (double)au->failures);
  gen_dispatch_self(host, plugin, "api_usage_clients", NULL, false,
                    (double)clients);
}

void gen_au_free(gen_au_t *au) {
  rows_clear(au->rows, au->n);
  free(au->rows);
  memset(au, 0, sizeof(*au));
}
