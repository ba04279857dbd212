/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: fuzz target for the shared <Org> configuration
 * (gen_config_org_block: gen_org_keys, gen_org_config_finish), with
 * a plugin key callback taking the entity filter keys (QueueId, QueueName,
 * DivisionId) and the interval keys (Granularity, SettleDelay, …).
 *
 * The input is a tiny line format turned into an oconfig tree:
 *   line 1: the values of the <Org> block itself (its label);
 *   other lines: one child each, "Key|value|value…", every value typed by
 *   its first byte: 's' string, 'n' number (strtod), 'b' boolean ("bt"
 *   true), anything else a string of the whole token.
 *
 * Checked (a failure aborts):
 * - a refused block leaves nothing allocated (ASan's leak check) and no
 *   secret registered for redaction;
 * - an accepted org has a label, both base URLs allowed by
 *   gen_url_problem, a client id and secret, timeouts, sizes, retries and
 *   shard within the documented bounds, a Host that is valid UTF-8 without
 *   control characters, and its copy (gen_org_copy) is equal; a login URL
 *   derived from the API URL is that URL with "//api." made "//login.";
 * - the interval options taken are within their bounds;
 * - a known block parsed afterwards gives the known org.
 */
#define GEN_FUZZ_NAME "config"
#include "fuzz_replay.h"
#include "gen_client.h"
#include "gen_config.h"
#include "gen_entity.h"
#include "gen_interval_config.h"
#include "gen_log.h"
#include "gen_utf8.h"
#include "plugin_mock.h"

#include <errno.h>
#include <math.h>

#define MAX_CHILDREN 64
#define MAX_VALUES 8

typedef struct {
  gen_entity_filter_t filter;
  gen_interval_config_t interval;
} fuzz_plugin_config_t;

static const gen_config_def_t filter_defs[] = {
    GEN_KEY_FILTER("Queue", "queues", fuzz_plugin_config_t, filter),
    GEN_KEY_DIVISIONS("queues", fuzz_plugin_config_t, filter)};
static const gen_config_table_t filter_keys = GEN_CONFIG_TABLE(filter_defs);

static int key_cb(gen_org_t *org, const oconfig_item_t *ci, void *ud) {
  fuzz_plugin_config_t *c = ud;
  int status = gen_config_table_key(org, ci, &filter_keys, c);
  if (status == GEN_CONFIG_NOT_MINE)
    status = gen_config_table_key(org, ci, &gen_interval_keys, &c->interval);
  return status;
}

/* Splits s[0..n) at sep into at most max tokens (each a new string). */
static int split(const char *s, size_t n, char sep, char **out, int max) {
  int k = 0;
  size_t start = 0;
  for (size_t i = 0; i <= n && k < max; i++) {
    if (i < n && s[i] != sep)
      continue;
    out[k] = strndup(s + start, i - start);
    FUZZ_CHECK(out[k] != NULL, "strndup");
    k++;
    start = i + 1;
  }
  return k;
}

static void set_value(oconfig_value_t *v, char *token) {
  switch (token[0]) {
  case 's':
    v->type = OCONFIG_TYPE_STRING;
    v->value.string = strdup(token + 1);
    FUZZ_CHECK(v->value.string != NULL, "strdup");
    break;
  case 'n':
    v->type = OCONFIG_TYPE_NUMBER;
    v->value.number = strtod(token + 1, NULL);
    break;
  case 'b':
    v->type = OCONFIG_TYPE_BOOLEAN;
    v->value.boolean = strcmp(token + 1, "t") == 0;
    break;
  default:
    v->type = OCONFIG_TYPE_STRING;
    v->value.string = strdup(token);
    FUZZ_CHECK(v->value.string != NULL, "strdup");
  }
  free(token);
}

/* One item from a line: the key (NULL for the block's own line) and its
 * values. */
static void fill_item(oconfig_item_t *ci, const char *key, const char *line,
                      size_t n) {
  char *tokens[MAX_VALUES + 1];
  int k = split(line, n, '|', tokens, MAX_VALUES + 1);
  int first = 0;
  if (key == NULL) {
    ci->key = tokens[0];
    first = 1;
  } else {
    ci->key = strdup(key);
    FUZZ_CHECK(ci->key != NULL, "strdup");
  }
  ci->values_num = k - first;
  ci->values = calloc((size_t)(ci->values_num ? ci->values_num : 1),
                      sizeof(*ci->values));
  FUZZ_CHECK(ci->values != NULL, "calloc");
  for (int i = first; i < k; i++)
    set_value(&ci->values[i - first], tokens[i]);
}

static void free_item(oconfig_item_t *ci) {
  free(ci->key);
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type == OCONFIG_TYPE_STRING)
      free(ci->values[i].value.string);
  free(ci->values);
  for (int i = 0; i < ci->children_num; i++)
    free_item(&ci->children[i]);
  free(ci->children);
}

static oconfig_item_t *build(const uint8_t *data, size_t size) {
  oconfig_item_t *org = calloc(1, sizeof(*org));
  FUZZ_CHECK(org != NULL, "calloc");
  org->children = calloc(MAX_CHILDREN, sizeof(*org->children));
  FUZZ_CHECK(org->children != NULL, "calloc");
  const char *s = (const char *)data;
  size_t start = 0;
  bool first = true;
  for (size_t i = 0; i <= size; i++) {
    if (i < size && s[i] != '\n')
      continue;
    if (first) {
      /* "Org|sacme": the block's key is its first token. */
      fill_item(org, NULL, s + start, i - start);
      first = false;
    } else if (org->children_num < MAX_CHILDREN && i > start) {
      oconfig_item_t *child = &org->children[org->children_num++];
      child->parent = org;
      fill_item(child, NULL, s + start, i - start);
    }
    start = i + 1;
  }
  return org;
}

static bool redacted(const char *secret) {
  char buf[512];
  snprintf(buf, sizeof(buf), "%s", secret);
  gen_redact(buf, sizeof(buf));
  return strncmp(buf, secret, sizeof(buf) - 1) != 0;
}

static bool same(const char *a, const char *b) {
  return (a == NULL && b == NULL) ||
         (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_org(const gen_org_t *org) {
  FUZZ_CHECK(org->name != NULL && org->name[0] != '\0', "label");
  FUZZ_CHECK(org->api_base_url != NULL &&
                 gen_url_problem(org->api_base_url, true) == NULL,
             "ApiBaseURL allowed");
  FUZZ_CHECK(org->login_base_url != NULL &&
                 gen_url_problem(org->login_base_url, true) == NULL,
             "LoginBaseURL allowed");
  FUZZ_CHECK(org->client_id != NULL && org->client_id[0] != '\0', "ClientId");
  FUZZ_CHECK(org->client_secret != NULL && org->client_secret[0] != '\0',
             "client secret");
  FUZZ_CHECK(org->timeout >= DOUBLE_TO_CDTIME_T(0.1) &&
                 org->timeout <= TIME_T_TO_CDTIME_T(600),
             "Timeout");
  FUZZ_CHECK(org->connect_timeout >= DOUBLE_TO_CDTIME_T(0.1) &&
                 org->connect_timeout <= TIME_T_TO_CDTIME_T(120),
             "ConnectTimeout");
  FUZZ_CHECK(org->max_response_size >= 4096 &&
                 org->max_response_size <= 1024L * 1024 * 1024,
             "MaxResponseSize");
  FUZZ_CHECK(org->max_retries >= 0 && org->max_retries <= 10, "MaxRetries");
  FUZZ_CHECK(org->retry_after_cap >= TIME_T_TO_CDTIME_T(1) &&
                 org->retry_after_cap <= TIME_T_TO_CDTIME_T(600),
             "RetryAfterMax");
  FUZZ_CHECK(org->shard_count >= 1 && org->shard_count <= 1024 &&
                 org->shard_index < org->shard_count,
             "Shard");
  FUZZ_CHECK(org->instance_from == GEN_INSTANCE_FROM_NAME ||
                 org->instance_from == GEN_INSTANCE_FROM_ID,
             "InstanceFrom");
  FUZZ_CHECK((org->client_cert == NULL) == (org->client_key == NULL),
             "ClientCert with ClientKey");
  if (org->host != NULL) {
    size_t n = strlen(org->host);
    FUZZ_CHECK(n > 0 && gen_utf8_valid((const unsigned char *)org->host, n),
               "Host UTF-8");
    for (size_t i = 0; i < n; i++)
      FUZZ_CHECK((unsigned char)org->host[i] >= 0x20 && org->host[i] != 0x7f,
                 "Host without control characters");
  }
  gen_org_t *copy = gen_org_copy(org);
  FUZZ_CHECK(copy != NULL, "copy");
  FUZZ_CHECK(same(copy->name, org->name) && same(copy->region, org->region) &&
                 same(copy->api_base_url, org->api_base_url) &&
                 same(copy->login_base_url, org->login_base_url) &&
                 same(copy->client_id, org->client_id) &&
                 same(copy->client_secret, org->client_secret) &&
                 same(copy->proxy, org->proxy) && same(copy->host, org->host) &&
                 copy->timeout == org->timeout &&
                 copy->shard_count == org->shard_count,
             "copy equal");
  gen_org_free(copy);
}

/* Without LoginBaseURL (or Region) the login URL is the API URL with
 * "//api." turned into "//login.", as the SDKs do. */
static void check_derived_login(const oconfig_item_t *ci,
                                const gen_org_t *org) {
  for (int i = 0; i < ci->children_num; i++)
    if (strcasecmp(ci->children[i].key, "LoginBaseURL") == 0 ||
        strcasecmp(ci->children[i].key, "Region") == 0)
      return;
  const char *api = strstr(org->api_base_url, "//api.");
  FUZZ_CHECK(api != NULL, "login derived from an api. host");
  size_t head = (size_t)(api - org->api_base_url);
  FUZZ_CHECK(strncmp(org->login_base_url, org->api_base_url, head) == 0 &&
                 strncmp(org->login_base_url + head, "//login.", 8) == 0 &&
                 strcmp(org->login_base_url + head + 8, api + 6) == 0,
             "derived login URL");
}

static void check_interval(const gen_interval_config_t *c) {
  FUZZ_CHECK(c->granularity_ms >= 60000 && c->granularity_ms <= 3600000 &&
                 3600000 % c->granularity_ms == 0,
             "Granularity");
  FUZZ_CHECK(c->settle <= TIME_T_TO_CDTIME_T(3600), "SettleDelay");
  FUZZ_CHECK(c->horizon >= TIME_T_TO_CDTIME_T(60) &&
                 c->horizon <= TIME_T_TO_CDTIME_T(31 * 86400),
             "BackfillHorizon");
  FUZZ_CHECK(c->max_buckets >= 1 && c->max_buckets <= 10000,
             "MaxBucketsPerQuery");
}

/* Parses a tree; the org (or NULL) and the plugin config in *c. */
static gen_org_t *parse(const oconfig_item_t *ci, fuzz_plugin_config_t *c) {
  memset(c, 0, sizeof(*c));
  gen_interval_config_init(&c->interval);
  return gen_config_org_block("genesys_fuzz", ci, key_cb, c);
}

static void release(fuzz_plugin_config_t *c) {
  gen_entity_filter_free(&c->filter);
  gen_interval_config_release(&c->interval);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mock_log_echo = false;
  oconfig_item_t *ci = build(data, size);
  fuzz_plugin_config_t c;
  gen_org_t *org = parse(ci, &c);
  if (org != NULL) {
    check_org(org);
    check_derived_login(ci, org);
    check_interval(&c.interval);
    for (size_t i = 0; i < c.filter.n_ids; i++)
      FUZZ_CHECK(c.filter.ids[i] != NULL && c.filter.ids[i][0] != '\0',
                 "QueueId");
    FUZZ_CHECK(c.filter.ids == NULL || c.filter.ids[c.filter.n_ids] == NULL,
               "QueueId list terminated");
    gen_org_free(org);
  }
  release(&c);
  /* Nothing stays registered for redaction once the org is gone. */
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *child = &ci->children[i];
    if (strcasecmp(child->key, "ClientSecret") == 0 && child->values_num >= 1 &&
        child->values[0].type == OCONFIG_TYPE_STRING &&
        child->values[0].value.string[0] != '\0')
      FUZZ_CHECK(!redacted(child->values[0].value.string),
                 "secret unregistered");
  }
  free_item(ci);
  free(ci);

  /* Nothing carries over: a known block. */
  static const char known[] = "Org|sacme\nRegion|seu_west_1\nClientId|sid-1\n"
                              "ClientSecret|sTopSecret-4242-abcdef\n"
                              "Shard|s2/4\nQueueName|sSales*\n"
                              "Granularity|sPT5M";
  ci = build((const uint8_t *)known, sizeof(known) - 1);
  org = parse(ci, &c);
  FUZZ_CHECK(org != NULL, "known block accepted");
  FUZZ_CHECK(strcmp(org->name, "acme") == 0 &&
                 strcmp(org->api_base_url, "https://api.mypurecloud.ie") == 0 &&
                 strcmp(org->login_base_url, "https://login.mypurecloud.ie") ==
                     0 &&
                 org->shard_index == 1 && org->shard_count == 4 &&
                 org->timeout == TIME_T_TO_CDTIME_T(30) &&
                 c.filter.n_names == 1 && c.interval.granularity_ms == 300000,
             "known org");
  FUZZ_CHECK(redacted("TopSecret-4242-abcdef"), "known secret registered");
  gen_org_free(org);
  release(&c);
  free_item(ci);
  free(ci);
  mock_log_reset();
  return 0;
}

static void fuzz_cleanup(void) { mock_log_reset(); }
