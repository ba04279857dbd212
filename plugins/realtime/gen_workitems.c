/* SPDX-License-Identifier: MIT */
/* The live workitem backlog of genesys_realtime (gen_workitems.h). */
#include "collectd/core/daemon/collectd.h"

#include "gen_workitems.h"

#include "gen_buf.h"
#include "gen_feature.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_minute.h"
#include "gen_names.h"
#include "gen_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WC gen_workitems_config_t
static const gen_config_def_t wi_defs[] = {
    GEN_KEY_BOOL("Workitems", WC, on, false,
                 "the live workitem backlog of each selected queue"),
    GEN_KEY_SECONDS("WorkitemsEvery", WC, every, 10, 3600, 60,
                    "the most often one queue's workitems are asked"),
    GEN_KEY_INT("WorkitemsRequests", WC, per_minute, 1, GEN_WI_MAX_PER_MINUTE,
                60, "workitem requests (pages) a minute at most"),
    GEN_KEY_INT("WorkitemsDueHours", WC, due_hours, 24, 72, 24,
                "workitems due within 24 or 72 hours (between: 72)"),
};
#undef WC
const gen_config_table_t gen_workitems_keys = GEN_CONFIG_TABLE(wi_defs);

/* The qualifier of oWorkitemsDue: the record's Hours24 or Hours72. */
static const char *due_qualifier(long hours) {
  return hours <= 24 ? "Hours24" : "Hours72";
}

/* TaskManagementObservationGroupResult.statusCategory (python SDK 257). */
static const char *const cat_words[GEN_WI_CATS] = {
    "Open", "InProgress", "Waiting", "Closed", "Unknown"};
static const char *const cat_names[GEN_WI_CATS] = {
    "open", "in_progress", "waiting", "closed", "unknown"};

/* TaskManagementObservationDataContainer.metric (python SDK 257): those
 * asked first, in the order of the GEN_WI_* metrics. */
static const char *const metric_words[] = {"oWorkitemsUnassigned",
                                           "oWorkitemsAssigned",
                                           "oWorkitemsDue",
                                           "oWorkitemsOverDue",
                                           "oWorkitemOldestUnassigned",
                                           "oWorkitemsConnected",
                                           "oWorkitemsParked",
                                           "oWorkitemsHeld",
                                           "oWorkitemsAcdStarted",
                                           "oWorkitemsDeclined",
                                           "oWorkitemsIdle",
                                           "oWorkitemsDisconnected",
                                           "oWorkitemsAcdExpired",
                                           "oWorkitemOldestAssigned"};
#define METRIC_WORDS (sizeof(metric_words) / sizeof(metric_words[0]))

char *gen_wi_request(const char *queue_id, long due_hours) {
  gen_buf_t b;
  gen_buf_init(&b, GEN_KIB(4));
  int status = gen_buf_add_str(&b, "{\"filter\":{\"predicates\":[{"
                                   "\"dimension\":\"queueId\",\"value\":");
  if (status == 0)
    status = gen_buf_add_json_string(&b, queue_id);
  if (status == 0)
    status = gen_buf_printf(
        &b,
        "}]},\"groupBy\":[\"queueId\",\"statusCategory\"],\"metrics\":["
        "{\"name\":\"oWorkitemsUnassigned\"},"
        "{\"name\":\"oWorkitemsAssigned\"},"
        "{\"name\":\"oWorkitemsDue\",\"qualifier\":\"%s\"},"
        "{\"name\":\"oWorkitemsOverDue\"},"
        "{\"name\":\"oWorkitemOldestUnassigned\"}]}",
        due_qualifier(due_hours));
  if (status != 0) {
    gen_buf_free(&b);
    return NULL;
  }
  return gen_buf_steal(&b);
}

/* The word's index in words, -1 when none. */
static int word_of(const char *const *words, size_t n, const char *w) {
  for (size_t k = 0; k < n; k++)
    if (strcasecmp(w, words[k]) == 0)
      return (int)k;
  return -1;
}

/* One datum of a result of category cat into v: 0 read, 1 skipped on
 * purpose (not asked, another qualifier, a word counted unknown), -1
 * malformed. */
static int read_datum(gen_client_t *client, json_object *d, int cat,
                      const char *qualifier, int64_t now_ms,
                      gen_wi_values_t *v) {
  const char *name = gen_json_get_string(d, "metric");
  if (name == NULL)
    return -1;
  int m = word_of(metric_words, METRIC_WORDS, name);
  if (m < 0) {
    if (client != NULL)
      gen_client_unknown(client, GEN_WI_FAMILY, "metric", name);
    return 1;
  }
  if (m >= GEN_WI_METRICS)
    return 1; /* a metric of the record we did not ask */
  if (m == GEN_WI_DUE) {
    const char *q = gen_json_get_string(d, "qualifier");
    if (q != NULL && strcasecmp(q, "Hours24") != 0 &&
        strcasecmp(q, "Hours72") != 0) {
      if (client != NULL)
        gen_client_unknown(client, GEN_WI_FAMILY, "qualifier", q);
      return 1;
    }
    if (q != NULL && strcasecmp(q, qualifier) != 0)
      return 1;
  }
  json_object *stats = gen_json_get_object(d, "stats"), *x;
  int64_t n;
  if (stats == NULL ||
      !json_object_object_get_ex(stats, m == GEN_WI_OLDEST ? "max" : "count",
                                 &x) ||
      !gen_json_count_of(x, &n))
    return -1;
  if (m == GEN_WI_OLDEST) {
    if (n >= INT64_C(1000000000000)) /* an instant, epoch ms */
      n = now_ms > n ? now_ms - n : 0;
    /* the oldest of several pages: the greatest age */
    if (!(v->have[cat] & (1u << m)) || n > v->v[cat][m])
      v->v[cat][m] = n;
  } else {
    /* pages of one category add up, the sum held at 2^53 */
    gen_count_add(&v->v[cat][m], n);
  }
  v->have[cat] |= 1u << m;
  return 0;
}

int gen_wi_read(gen_client_t *client, const char *text, size_t len,
                const char *queue_id, long due_hours, int64_t now_ms,
                gen_wi_values_t *v, size_t *malformed, char *after,
                size_t after_size, char *err, size_t err_size) {
  json_object *doc;
  *malformed = 0;
  after[0] = '\0';
  if (gen_json_parse_answer(text, len, &doc, err, err_size) != 0)
    return -EBADMSG;
  if (!json_object_is_type(doc, json_type_object)) {
    json_object_put(doc);
    snprintf(err, err_size, "not a JSON object");
    return -EBADMSG;
  }
  json_object *results = NULL;
  if (json_object_object_get_ex(doc, "results", &results) && results != NULL &&
      !json_object_is_type(results, json_type_array)) {
    json_object_put(doc);
    snprintf(err, err_size, "results is not an array");
    return -EBADMSG;
  }
  const char *qualifier = due_qualifier(due_hours);
  size_t n = results != NULL ? json_object_array_length(results) : 0;
  for (size_t k = 0; k < n; k++) {
    json_object *r = json_object_array_get_idx(results, k);
    json_object *group = gen_json_get_object(r, "group");
    json_object *data = gen_json_get_array(r, "data");
    const char *qid = gen_json_get_string(group, "queueId");
    const char *word = gen_json_get_string(group, "statusCategory");
    if (group == NULL || data == NULL || word == NULL ||
        (qid != NULL && strcmp(qid, queue_id) != 0)) {
      (*malformed)++;
      continue;
    }
    int cat = word_of(cat_words, GEN_WI_CATS, word);
    if (cat < 0) {
      if (client != NULL)
        gen_client_unknown(client, GEN_WI_FAMILY, "status_category", word);
      continue;
    }
    size_t nd = json_object_array_length(data);
    for (size_t j = 0; j < nd; j++)
      if (read_datum(client, json_object_array_get_idx(data, j), cat, qualifier,
                     now_ms, v) < 0)
        (*malformed)++;
  }
  const char *cursor =
      gen_json_get_string(gen_json_get_object(doc, "cursors"), "after");
  bool fits = cursor == NULL ||
              (size_t)snprintf(after, after_size, "%s", cursor) < after_size;
  json_object_put(doc);
  if (!fits) {
    after[0] = '\0';
    snprintf(err, err_size, "a cursor longer than %zu", after_size - 1);
    return -EBADMSG;
  }
  return 0;
}

/* What it keeps of a queue. */
typedef struct {
  char *id;
  cdtime_t asked; /* 0: never */
  bool have;      /* its last answer read: v holds */
  uint64_t seen;  /* the sweep that last found it listed */
  gen_wi_values_t v;
} wi_queue_t;

struct gen_workitems {
  cdtime_t every;
  long due_hours;
  gen_minute_t minute; /* the budget */
  gen_map_t queues;    /* id -> wi_queue_t */
  uint64_t sweep;
  uint64_t requests, unasked, failures;
  bool refused; /* a 403 for the permission: the family stops */
  gen_ratelimit_t complain;
};

gen_workitems_t *gen_workitems_new(const gen_workitems_config_t *c) {
  if (!c->on)
    return NULL;
  gen_workitems_t *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return NULL;
  if (gen_minute_init(&w->minute,
                      c->per_minute > 0 ? (size_t)c->per_minute : 1) != 0) {
    free(w);
    return NULL;
  }
  w->every = c->every;
  w->due_hours = c->due_hours;
  w->queues.kind = GEN_MAP_STR;
  w->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  return w;
}

static void queue_free(void *p) {
  wi_queue_t *q = p;
  free(q->id);
  free(q);
}

void gen_workitems_free(gen_workitems_t *w) {
  if (w == NULL)
    return;
  gen_map_free_values(&w->queues, queue_free);
  gen_minute_free(&w->minute);
  free(w);
}

/* Every listed queue known (new ones added), those no longer listed
 * forgotten. -ENOMEM leaves the map as far as it went. */
static int sync_queues(gen_workitems_t *w, const gen_entity_set_t *queues) {
  w->sweep++;
  for (size_t i = 0; i < queues->count; i++) {
    const char *id = queues->items[i].id;
    wi_queue_t *q = gen_map_get(&w->queues, id);
    if (q == NULL) {
      if ((q = calloc(1, sizeof(*q))) == NULL || (q->id = strdup(id)) == NULL ||
          gen_map_put(&w->queues, q->id, q) != 0) {
        if (q != NULL)
          free(q->id);
        free(q);
        return -ENOMEM;
      }
    }
    q->seen = w->sweep;
  }
  /* the ones no longer listed, gathered first: the map must not change
   * while it is walked */
  if (gen_map_count(&w->queues) <= queues->count)
    return 0;
  size_t n = gen_map_count(&w->queues) - queues->count, k = 0;
  wi_queue_t **gone = malloc(n * sizeof(*gone));
  if (gone == NULL)
    return -ENOMEM;
  size_t pos = 0;
  const void *key;
  void *value;
  while (gen_map_next(&w->queues, &pos, &key, &value) && k < n)
    if (((wi_queue_t *)value)->seen != w->sweep)
      gone[k++] = value;
  for (size_t i = 0; i < k; i++) {
    gen_map_del(&w->queues, gone[i]->id, NULL);
    queue_free(gone[i]);
  }
  free(gone);
  return 0;
}

static int due_order(const void *a, const void *b) {
  const wi_queue_t *x = *(wi_queue_t *const *)a, *y = *(wi_queue_t *const *)b;
  if (x->asked != y->asked)
    return x->asked < y->asked ? -1 : 1;
  return strcmp(x->id, y->id);
}

/* An answer page: {"results": [...], "cursors": {...}}, a few hundred
 * bytes a result; 200 results under 200 KB, x4. */
#define WI_ANSWER GEN_HTTP_BOUND(GEN_KIB(1024), "workitem metrics")
/* Pages of one queue at most: 200 results a page hold 40 types in each of
 * the 5 categories; past this, a server that never ends. */
#define WI_PAGES_MAX 50

/* One queue asked, page after page within the budget: 0 with *v, or a
 * failure with err (-EAGAIN: the budget ran out between pages). */
static int ask(gen_workitems_t *w, gen_client_t *client, const char *id,
               cdtime_t now, gen_wi_values_t *v, char *err, size_t err_size) {
  char *body = gen_wi_request(id, w->due_hours);
  if (body == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  char target[1024], after[512] = "", last[512] = "";
  int status = 0;
  memset(v, 0, sizeof(*v));
  for (int page = 0;; page++) {
    if (page >= WI_PAGES_MAX) {
      snprintf(err, err_size, "more than %d pages", WI_PAGES_MAX);
      status = -EBADMSG;
      break;
    }
    if (page > 0 && gen_minute_left(&w->minute, now) == 0) {
      snprintf(err, err_size, "the budget ran out after %d page(s)", page);
      status = -EAGAIN;
      break;
    }
    snprintf(target, sizeof(target),
             "/api/v2/analytics/taskmanagement/metrics/query?pageSize=%d",
             GEN_WI_PAGE_SIZE);
    if (after[0] != '\0') {
      strcat(target, "&after=");
      if (!gen_append_escaped(target, sizeof(target), after)) {
        snprintf(err, err_size, "a cursor too long for the query");
        status = -EBADMSG;
        break;
      }
    }
    gen_minute_spend(&w->minute, 1, now);
    w->requests++;
    gen_http_response_t resp;
    status =
        gen_http_request(client->http, "POST", target, body,
                         &(gen_http_options_t){.answer = WI_ANSWER}, &resp);
    size_t malformed = 0;
    if (status != 0)
      snprintf(err, err_size, "%s", resp.error);
    else
      status = gen_wi_read(client, resp.body, resp.body_len, id, w->due_hours,
                           gen_cdtime_to_ms(cdtime()), v, &malformed, after,
                           sizeof(after), err, err_size);
    gen_http_response_recycle(client->http, &resp);
    for (size_t b = 0; b < malformed + (status == -EBADMSG); b++)
      gen_http_count_malformed(client->http);
    if (status == 0 && malformed > 0) /* the rest read, the answer told */
      gen_org_log(client->org, &w->complain, LOG_WARNING,
                  GEN_WI_FAMILY " of queue %s: %zu malformed result(s) or "
                                "value(s) skipped",
                  id, malformed);
    if (status != 0 || after[0] == '\0')
      break;
    if (strcmp(after, last) == 0) { /* the same cursor again */
      snprintf(err, err_size, "cursor \"%s\" repeated", after);
      status = -EBADMSG;
      break;
    }
    snprintf(last, sizeof(last), "%s", after);
  }
  free(body);
  return status;
}

size_t gen_workitems_run(gen_workitems_t *w, gen_client_t *client,
                         const gen_entity_set_t *queues, cdtime_t now) {
  if (w == NULL || w->refused)
    return 0;
  if (sync_queues(w, queues) != 0)
    return 0;
  size_t n = 0, cap = gen_map_count(&w->queues);
  wi_queue_t **due = cap > 0 ? malloc(cap * sizeof(*due)) : NULL;
  if (cap > 0 && due == NULL)
    return 0;
  size_t pos = 0;
  const void *key;
  void *value;
  while (gen_map_next(&w->queues, &pos, &key, &value)) {
    wi_queue_t *q = value;
    if (q->asked == 0 || now - q->asked >= w->every)
      due[n++] = q;
  }
  if (n > 1)
    qsort(due, n, sizeof(*due), due_order);
  uint64_t before = w->requests;
  size_t k = 0;
  for (; k < n && gen_minute_left(&w->minute, now) > 0 &&
         !gen_http_resting(client->http, NULL);
       k++) {
    wi_queue_t *q = due[k];
    char err[512] = "";
    if (!gen_id_plain(q->id, 100)) { /* not a UUID: never asked */
      q->asked = now;
      gen_org_log(client->org, &w->complain, LOG_WARNING,
                  GEN_WI_FAMILY ": queue id \"%s\" not usable in a query",
                  q->id);
      continue;
    }
    gen_wi_values_t v;
    int status = ask(w, client, q->id, now, &v, err, sizeof(err));
    if (gen_client_family(client, GEN_WI_FAMILY, status, err,
                          "queue observations")) {
      w->refused = true; /* said once; nothing more is asked */
      w->failures++;
      q->have = false;
      k++;
      break;
    }
    q->asked = now;
    q->have = status == 0;
    if (status == 0) {
      q->v = v;
    } else if (status == -EAGAIN) {
      w->unasked++; /* its pages cut by the budget: its next turn */
    } else {
      w->failures++;
      gen_org_log(client->org, &w->complain, LOG_WARNING,
                  GEN_WI_FAMILY " of queue %s: %s", q->id, err);
    }
  }
  w->unasked += n - k;
  free(due);
  return (size_t)(w->requests - before);
}

void gen_workitems_put_queue(const gen_workitems_t *w, const char *queue_id,
                             gen_put_t put, void *ud) {
  if (w == NULL || w->refused)
    return;
  const wi_queue_t *q = gen_map_get(&w->queues, queue_id);
  if (q == NULL || !q->have)
    return;
  for (int c = 0; c < GEN_WI_CATS; c++) {
    unsigned have = q->v.have[c];
    /* the backlog's categories always; the others as answered */
    if (have == 0 && c > GEN_WI_WAITING)
      continue;
    const int64_t *x = q->v.v[c];
    char ti[64];
    snprintf(ti, sizeof(ti), "unassigned-%s", cat_names[c]);
    put(ud, "workitems", ti, (double)x[GEN_WI_UNASSIGNED], false);
    snprintf(ti, sizeof(ti), "assigned-%s", cat_names[c]);
    put(ud, "workitems", ti, (double)x[GEN_WI_ASSIGNED], false);
    put(ud, "workitems_due", cat_names[c], (double)x[GEN_WI_DUE], false);
    put(ud, "workitems_overdue", cat_names[c], (double)x[GEN_WI_OVERDUE],
        false);
    if (have & (1u << GEN_WI_OLDEST))
      put(ud, "workitem_oldest_unassigned", cat_names[c],
          (double)x[GEN_WI_OLDEST] / 1000.0, false);
  }
}

void gen_workitems_dispatch_stats(const gen_workitems_t *w, const char *host,
                                  const char *plugin) {
  if (w == NULL)
    return;
  gen_dispatch_self(host, plugin, "workitems_requests", NULL, true,
                    (double)w->requests);
  gen_dispatch_self(host, plugin, "workitems_unasked", NULL, true,
                    (double)w->unasked);
  gen_dispatch_self(host, plugin, "workitems_failures", NULL, true,
                    (double)w->failures);
}

/* Its row (gen_feature.h): the queues' backlog, each under its queue. */

static bool wi_on(const gen_feature_ctx_t *c) {
  return c->config->workitems.on;
}

static void *wi_new(const gen_feature_ctx_t *c) {
  return gen_workitems_new(&c->config->workitems);
}

static bool wi_run(void *f, const gen_feature_ctx_t *ctx) {
  gen_workitems_run(f, ctx->client, ctx->queues, ctx->mono);
  return false;
}

static void wi_put(void *f, const gen_feature_ctx_t *ctx, gen_feature_put_t put,
                   void *ud) {
  for (size_t i = 0; i < ctx->queues->count; i++) {
    const gen_entity_t *q = &ctx->queues->items[i];
    gen_feature_sink_t s = {put, ud, gen_entity_instance(ctx->client->org, q)};
    gen_workitems_put_queue(f, q->id, gen_feature_put_under, &s);
  }
}

static void wi_free(void *f) { gen_workitems_free(f); }

static void wi_stats(void *f, const char *host, const char *plugin) {
  gen_workitems_dispatch_stats(f, host, plugin);
}

const gen_feature_t gen_workitems_feature = {.name = "workitems",
                                             .on = wi_on,
                                             .create = wi_new,
                                             .free = wi_free,
                                             .run = wi_run,
                                             .put = wi_put,
                                             .stats = wi_stats};
