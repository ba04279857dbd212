/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: operational events of genesys_platform (see
 * gen_opevents.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_interval_config.h"
#include "gen_json.h"
#include "gen_opevents.h"
#include "gen_time.h"

#include <errno.h>
#include <stdlib.h>

#define API_METRIC "eventCount"
#define DIM "eventDefinitionId"
/* The engine's one scope: the org (the answer is org-wide). */
#define SCOPE "org"

/* The catalogue (gen_aggregates): our name is the engine value name in the
 * state file. */
static const gen_agg_metric_t metrics[] = {
    {.name = "operational_events",
     .api = API_METRIC,
     .kind = GEN_AGG_COUNT,
     .bucket_type = "operational_events",
     .total_type = "total_operational_events"},
};
static const gen_agg_catalogue_t catalogue = {
    .metrics = metrics, .n = STATIC_ARRAY_SIZE(metrics), .zero_absent = true};

/* ---- configuration ------------------------------------------------------- */

void gen_opev_config_init(gen_opev_config_t *c) {
  memset(c, 0, sizeof(*c));
  gen_config_defaults(&gen_opev_keys, c);
}

void gen_opev_config_release(gen_opev_config_t *c) {
  gen_entity_filter_free(&c->filter);
}

/* A backfill key: seconds, capped at what Genesys keeps. */
static int backfill_key(const gen_org_t *org, const oconfig_item_t *ci,
                        const gen_config_def_t *def, void *field) {
  cdtime_t *out = field;
  int status = gen_config_seconds(org, ci, def->min, def->max, out);
  if (status == 0 && *out > TIME_T_TO_CDTIME_T(GEN_OPEV_RETENTION_S)) {
    gen_org_log(org, NULL, LOG_WARNING,
                "%s %.0f is beyond the 10 days Genesys keeps operational "
                "events; %d is used",
                ci->key, CDTIME_T_TO_DOUBLE(*out), GEN_OPEV_RETENTION_S);
    *out = TIME_T_TO_CDTIME_T(GEN_OPEV_RETENTION_S);
  }
  return status;
}

#define OC gen_opev_config_t
static const gen_config_def_t opev_defs[] = {
    GEN_KEY_FILTER("EventDefinition", "event definitions", OC, filter),
    GEN_KEY_BOOL("OperationalEvents", OC, enabled, false,
                 "the operational events per definition and bucket"),
    /* How late Genesys counts an event is not in the record
     * (tests/sim/README.md, Operational events): a longer settle delay than
     * the analytics' 120 s, and a revisit an hour and a day after a
     * bucket's end (a guess: one request a bucket and age, org-wide). */
    GEN_KEY_PARSE_TEXT("OperationalEventsGranularity", GEN_CFG_DURATION, OC,
                       granularity_ms, gen_interval_granularity_key, "PT15M",
                       "PT1M..PT1H, dividing an hour",
                       "the bucket (ISO-8601), one request each"),
    GEN_KEY_SECONDS("OperationalEventsSettleDelay", OC, settle, 0, 3600, 300,
                    "how long after its end a bucket is asked for"),
    GEN_KEY_PARSE_TEXT("OperationalEventsRevisitAt", GEN_CFG_LIST, OC,
                       revisit_at, gen_interval_revisit_key, "1h 24h",
                       "ages such as \"1h 24h\", up to 31 days; none",
                       "a bucket is asked once more at each of these ages"),
    {"OperationalEventsBackfillHorizon", GEN_CFG_SECONDS, offsetof(OC, horizon),
     .min = 60, .max = 366 * 86400.0, GEN_DEFAULT(OC, horizon, 86400),
     .doc = "how far back missed buckets are asked for (cut to 10 days)",
     .parse = backfill_key},
    {"OperationalEventsInitialBackfill", GEN_CFG_SECONDS, offsetof(OC, initial),
     .min = 0, .max = 366 * 86400.0, GEN_DEFAULT(OC, initial, 0),
     .doc = "how far back the first run starts (cut to 10 days)",
     .parse = backfill_key},
};
#undef OC

const gen_config_table_t gen_opev_keys = GEN_CONFIG_TABLE(opev_defs);

/* ---- the answer ---------------------------------------------------------- */

/* {"group": {DIM: id}, "data": [{"interval": iv, "metrics": [{"metric":
 * API_METRIC, "stats": {"count": count}}]}]} written into a. */
static int result_add(gen_agg_answer_t *a, const char *id, const char *iv,
                      int64_t count) {
  gen_agg_entry_t e = {
      .metric = API_METRIC, .stats = true, .have = 1u << GEN_AGG_STAT_COUNT};
  e.stat[GEN_AGG_STAT_COUNT] = (double)count;
  const char *kept = gen_agg_answer_strdup(a, id, strlen(id));
  if (kept == NULL || gen_agg_answer_add_result(a, true) != 0 ||
      gen_agg_answer_add_dim(a, &(gen_agg_dim_t){.name = DIM, .value = kept}) !=
          0 ||
      gen_agg_answer_add_bucket(a, iv) != 0 ||
      gen_agg_answer_add_entry(a, &e) != 0)
    return -ENOMEM;
  return 0;
}

int gen_opev_normalize(const gen_entity_set_t *defs,
                       const gen_interval_range_t *range, json_object *doc,
                       gen_agg_answer_t *a, size_t *skipped) {
  *skipped = 0;
  gen_agg_answer_clear(a);
  if (!json_object_is_type(doc, json_type_object))
    return -EINVAL;
  json_object *in = NULL;
  if (json_object_object_get_ex(doc, "eventDefinitionAggregates", &in) &&
      in != NULL && !json_object_is_type(in, json_type_array))
    return -EINVAL;
  size_t n = in != NULL ? json_object_array_length(in) : 0;
  char text[GEN_INTERVAL_STRLEN];
  gen_interval_format(range->start_ms, range->end_ms, text, sizeof(text));
  const char *iv = gen_agg_answer_strdup(a, text, strlen(text));
  /* Each definition's count, in the order of defs. */
  int64_t *counts = calloc(defs->count + 1, sizeof(*counts));
  if (iv == NULL || counts == NULL) {
    free(counts);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(in, i);
    const char *id =
        gen_json_get_string(gen_json_get_object(e, "eventDefinition"), "id");
    const int64_t exact = (int64_t)GEN_JSON_EXACT_MAX;
    int64_t count;
    ssize_t k = id != NULL ? gen_entity_find(defs, id) : -1;
    /* A count (or a definition's sum) beyond 2^53 is refused here, as the
     * state file's reader would refuse it: saved, it would cost the family
     * every counter at the next start. */
    if (id == NULL || id[0] == '\0' ||
        !gen_json_get_int64(e, API_METRIC, &count) || count < 0 ||
        count > exact || (k >= 0 && counts[k] > exact - count)) {
      (*skipped)++;
      continue;
    }
    if (k >= 0) /* else not ours: listed since, or filtered out */
      counts[k] += count;
  }
  int status = 0;
  gen_agg_answer_begin(a);
  for (size_t k = 0; status == 0 && k < defs->count; k++)
    status = result_add(a, defs->items[k].id, iv, counts[k]);
  free(counts);
  if (status == 0)
    gen_agg_answer_end(a);
  return status;
}

/* ---- the query ----------------------------------------------------------- */

/* {"interval": range}: the request's one property. */
static json_object *query_body(void *ud, const char *const *ids, size_t n,
                               const gen_interval_range_t *range) {
  gen_opev_t *ev = ud;
  ev->asked = *range;
  char iv[GEN_INTERVAL_STRLEN];
  gen_interval_format(range->start_ms, range->end_ms, iv, sizeof(iv));
  json_object *body = json_object_new_object();
  json_object_object_add(body, "interval", json_object_new_string(iv));
  return body;
}

/* The events answer, its own format, read by json-c (gen_json_parse). */
static int parse(void *ud, const char *text, size_t len, gen_agg_answer_t *a,
                 char *err, size_t err_size) {
  gen_opev_t *ev = ud;
  size_t skipped = 0;
  json_object *doc = NULL;
  char why[128];
  if (gen_json_parse_net(text, len, &doc, why, sizeof(why)) != 0) {
    snprintf(err, err_size, "malformed JSON: %s", why);
    return -EINVAL;
  }
  int status = gen_opev_normalize(&ev->defs, &ev->asked, doc, a, &skipped);
  json_object_put(doc);
  if (status == -EINVAL)
    snprintf(err, err_size, "not an events aggregates answer");
  else if (status != 0)
    snprintf(err, err_size, "%s", gen_strerror(status));
  if (skipped > 0) {
    atomic_fetch_add(&ev->client->stats.malformed, 1);
    gen_log_org(ev->who, &ev->complain, LOG_WARNING,
                "%zu entries of an events aggregates answer had no event "
                "definition id, no eventCount or one beyond 2^53 and were "
                "skipped",
                skipped);
  }
  return status;
}

static bool answer_group(void *ud, const gen_agg_group_t *group,
                         const char **scope, gen_key_t *key) {
  const gen_opev_t *ev = ud;
  const char *id = gen_agg_group_get(group, DIM);
  if (id == NULL || gen_entity_find(&ev->defs, id) < 0)
    return false;
  *scope = SCOPE;
  *key = (gen_key_t){{"E", id}, 0};
  return true;
}

/* The series of a key: the definition's name in plugin_instance. */
static void label(void *ud, const gen_key_t *key, gen_agg_label_t *out) {
  const gen_opev_t *ev = ud;
  out->plugin_instance = gen_entity_label(ev->client->org, &ev->defs,
                                          key->str[1] ? key->str[1] : "", NULL);
}

gen_agg_query_t gen_opev_query(gen_opev_t *ev) {
  gen_agg_query_t q = gen_agg_query_make(
      GEN_OPEV_AGG_PATH, "events aggregates query", &catalogue,
      ev->config->granularity_ms, query_body, answer_group, ev);
  q.out.host = gen_client_host(ev->client);
  q.out.plugin = ev->plugin;
  q.out.label = label;
  q.parse = parse;
  q.family = "operational events";
  q.still = "the other platform values";
  return q;
}

/* ---- the definitions ----------------------------------------------------- */

typedef struct {
  gen_opev_t *ev;
  gen_entity_set_t fresh;
  gen_entity_names_t names;
  size_t skipped;
} listing_t;

static int take(json_object *e, void *ud) {
  listing_t *l = ud;
  const char *id = gen_json_get_string(e, "id");
  const char *name = gen_json_get_string(e, "name");
  if (id == NULL || id[0] == '\0') {
    l->skipped++;
    return 0;
  }
  if (gen_entity_names_note(&l->names, id, name) != 0)
    return -ENOMEM;
  /* A sharded org: each agent its own definitions (the answer is the
   * org's, asked by each). */
  if (!gen_entity_selected(&l->ev->config->filter, l->ev->client->org, id, name,
                           NULL))
    return 0;
  return gen_entity_add(&l->fresh, id, name, NULL) < 0 ? -ENOMEM : 0;
}

/* Lists the definitions into ev->defs (replaced only on success). */
static int list_definitions(gen_opev_t *ev) {
  listing_t l = {.ev = ev};
  char err[512] = "";
  ev->listings++;
  /* The route takes no paging parameters (the SDKs' getUsageEventsDefinitions
   * has none, its listing no paging properties): asked as it is, a paged
   * answer still followed. */
  int status =
      gen_http_get_pages(ev->client->http, GEN_OPEV_DEFS_PATH, 0,
                         GEN_HTTP_NO_BOUND, take, &l, err, sizeof(err));
  if (status == 0 && gen_entity_names_apply(&l.names, &l.fresh) < 0)
    status = -ENOMEM;
  gen_entity_names_free(&l.names);
  if (status == -ENOMEM)
    snprintf(err, sizeof(err), "out of memory");
  if (status != 0) {
    ev->listing_failures++;
    if (!gen_client_family(ev->client, "operational events", status, err,
                           "the other platform values"))
      gen_log_org(ev->who, &ev->complain, LOG_ERR,
                  "cannot list the event definitions (asked again next "
                  "read): %s",
                  err);
  } else if (l.skipped > 0) {
    atomic_fetch_add(&ev->client->stats.malformed, 1);
    gen_log_org(ev->who, &ev->complain, LOG_WARNING,
                "%zu event definitions had no id and were skipped", l.skipped);
  }
  gen_entity_set_replace(&ev->defs, &l.fresh, status == 0);
  return status;
}

/* ---- the instance -------------------------------------------------------- */

void gen_opev_interval(const gen_opev_config_t *c, gen_interval_config_t *ic) {
  gen_interval_config_init(ic);
  ic->granularity_ms = c->granularity_ms;
  ic->settle = c->settle;
  /* No window: it would ask for every recent bucket again with each new
   * one, a request each; the schedule costs one a bucket and age. */
  ic->revisit = 0;
  ic->revisit_at = c->revisit_at;
  ic->max_buckets = 1; /* the answer has no buckets: one a request */
  ic->horizon = c->horizon;
  ic->initial = c->initial;
  ic->state_dir = c->state_dir != NULL ? strdup(c->state_dir) : NULL;
}

gen_opev_t *gen_opev_new(gen_client_t *client, const char *plugin,
                         const gen_opev_config_t *config,
                         const gen_log_org_t *who) {
  gen_opev_t *ev = calloc(1, sizeof(*ev));
  if (ev != NULL)
    *ev = (gen_opev_t){.client = client,
                       .plugin = plugin,
                       .config = config,
                       .who = who,
                       .complain = GEN_RATELIMIT_INIT(60)};
  return ev;
}

void gen_opev_free(void *state) {
  gen_opev_t *ev = state;
  if (ev == NULL)
    return;
  gen_entity_set_free(&ev->defs);
  free(ev);
}

int gen_opev_collect(void *state, const gen_family_run_t *run) {
  gen_opev_t *ev = state;
  static const char *const scopes[] = {SCOPE};
  gen_interval_range_t range;
  int64_t now = run->at_ms ? run->at_ms : gen_cdtime_to_ms(cdtime());
  /* The definitions are listed only when a bucket is due. */
  int status = gen_interval_plan(run->engine, scopes, 1, now, &range);
  if (status != 1)
    return status;
  if ((status = list_definitions(ev)) != 0)
    return status;
  gen_agg_query_t query = gen_opev_query(ev);
  return gen_family_agg(run, &query, NULL, 0, SCOPE);
}

void gen_opev_dispatch_self(const gen_opev_t *ev,
                            const gen_agg_counts_t *counts) {
  if (ev == NULL)
    return;
  const char *host = gen_client_host(ev->client);
  gen_dispatch_self(host, ev->plugin, "platform_requests", "operational_events",
                    true, (double)counts->queries);
  gen_dispatch_self(host, ev->plugin, "platform_failures", "operational_events",
                    true, (double)counts->failures);
  gen_dispatch_self(host, ev->plugin, "platform_requests", "event_definitions",
                    true, (double)ev->listings);
  gen_dispatch_self(host, ev->plugin, "platform_failures", "event_definitions",
                    true, (double)ev->listing_failures);
}
