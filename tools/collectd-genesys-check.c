/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check: reads the <Plugin genesys_*> blocks of a collectd
 * configuration, parses each <Org> with the parser the plugins use, gets a
 * token and probes every family once, printing per org and family OK or
 * what is wrong. Exit status: 0 all OK, 1 a check failed, 2 the
 * configuration could not be read. With --replay FROM TO it asks the
 * history of genesys_analytics for a past window instead and hands the
 * bucket values to collectd's unixsock plugin, or prints them as PUTVAL
 * lines. See collectd-genesys-check(1).
 */
#include "gen_client.h"
#include "gen_http.h"
#include "gen_interval_config.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_platform.h"
#include "gen_queue_agg.h"
#include "gen_replay.h"
#include "gen_time.h"
#include "standalone.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_CONFIG 2

/* ---- a collectd configuration file into oconfig items ------------------
 * collectd's own parser (liboconfig) lives in the daemon, not in a library
 * the package can link: this reads the same syntax: "Key value…" lines,
 * <Key value…> … </Key> blocks, quoted strings with backslash escapes,
 * numbers, true/false/yes/no/on/off, bare words, '#' comments, a backslash
 * joining lines, and Include of files and globs. */

typedef struct {
  const char *path;
  const char *s;
  size_t i, n;
  int line;
  int nesting; /* blocks open at this point of the file */
  char err[256];
} cfg_t;

/* Blocks nested deeper are refused: the parser, and what walks its tree,
 * recurse once per level (20,000 levels overflowed the stack); a real
 * configuration nests 3 or 4 deep. */
#define CFG_MAX_NESTING 64

static void item_free(oconfig_item_t *it) {
  for (int i = 0; i < it->values_num; i++)
    if (it->values[i].type == OCONFIG_TYPE_STRING)
      free(it->values[i].value.string);
  free(it->values);
  for (int i = 0; i < it->children_num; i++)
    item_free(&it->children[i]);
  free(it->children);
  free(it->key);
}

static void set_parents(oconfig_item_t *it) {
  for (int i = 0; i < it->children_num; i++) {
    it->children[i].parent = it;
    set_parents(&it->children[i]);
  }
}

static bool cfg_error(cfg_t *c, const char *what) {
  if (c->err[0] == '\0')
    snprintf(c->err, sizeof(c->err), "%s:%d: %s", c->path, c->line, what);
  return false;
}

/* Skips blanks, comments and joined lines; stops at a newline. */
static void skip_blank(cfg_t *c) {
  while (c->i < c->n) {
    char ch = c->s[c->i];
    if (ch == ' ' || ch == '\t' || ch == '\r')
      c->i++;
    else if (ch == '\\' && c->i + 1 < c->n && c->s[c->i + 1] == '\n') {
      c->i += 2;
      c->line++;
    } else if (ch == '#') {
      while (c->i < c->n && c->s[c->i] != '\n')
        c->i++;
    } else
      return;
  }
}

static bool word_char(char ch) {
  return isalnum((unsigned char)ch) || strchr("_.-/:*@+", ch) != NULL;
}

static bool add_value(oconfig_item_t *it, oconfig_value_t v) {
  oconfig_value_t *more =
      realloc(it->values, (size_t)(it->values_num + 1) * sizeof(*more));
  if (more == NULL)
    return false;
  it->values = more;
  it->values[it->values_num++] = v;
  return true;
}

/* The values after a key, up to the end of the line (or '>' in a block
 * header). */
static bool cfg_values(cfg_t *c, oconfig_item_t *it, bool header) {
  for (;;) {
    skip_blank(c);
    if (c->i >= c->n || c->s[c->i] == '\n')
      return !header || cfg_error(c, "a block header without '>'");
    char ch = c->s[c->i];
    if (header && ch == '>') {
      c->i++;
      return true;
    }
    oconfig_value_t v = {0};
    if (ch == '"') {
      size_t cap = 64, len = 0;
      char *out = malloc(cap);
      c->i++;
      while (out != NULL && c->i < c->n && c->s[c->i] != '"' &&
             c->s[c->i] != '\n') {
        char x = c->s[c->i++];
        if (x == '\\' && c->i < c->n)
          x = c->s[c->i++];
        if (len + 2 > cap) {
          char *bigger = realloc(out, cap *= 2);
          if (bigger == NULL)
            free(out);
          out = bigger;
        }
        if (out != NULL)
          out[len++] = x;
      }
      if (out == NULL)
        return cfg_error(c, "out of memory");
      if (c->i >= c->n || c->s[c->i] != '"') {
        free(out);
        return cfg_error(c, "a string without its closing quote");
      }
      c->i++;
      out[len] = '\0';
      v.type = OCONFIG_TYPE_STRING;
      v.value.string = out;
    } else if (word_char(ch)) {
      size_t start = c->i;
      while (c->i < c->n && word_char(c->s[c->i]))
        c->i++;
      char word[256];
      snprintf(word, sizeof(word), "%.*s", (int)(c->i - start), c->s + start);
      char *end;
      double number = strtod(word, &end);
      if (*end == '\0' && end != word) {
        v.type = OCONFIG_TYPE_NUMBER;
        v.value.number = number;
      } else if (strcasecmp(word, "true") == 0 ||
                 strcasecmp(word, "yes") == 0 || strcasecmp(word, "on") == 0 ||
                 strcasecmp(word, "false") == 0 ||
                 strcasecmp(word, "no") == 0 || strcasecmp(word, "off") == 0) {
        v.type = OCONFIG_TYPE_BOOLEAN;
        v.value.boolean =
            strchr("tTyY", word[0]) != NULL || strcasecmp(word, "on") == 0;
      } else {
        v.type = OCONFIG_TYPE_STRING;
        v.value.string = strdup(word);
        if (v.value.string == NULL)
          return cfg_error(c, "out of memory");
      }
    } else {
      return cfg_error(c, "an unexpected character");
    }
    if (!add_value(it, v))
      return cfg_error(c, "out of memory");
  }
}

static bool cfg_file(const char *path, oconfig_item_t *into, int depth);

/* Include "pattern": every file it matches, in order. */
static bool include(cfg_t *c, const oconfig_item_t *it, oconfig_item_t *into,
                    int depth) {
  if (it->values_num != 1 || it->values[0].type != OCONFIG_TYPE_STRING)
    return cfg_error(c, "Include takes one path");
  glob_t g;
  if (glob(it->values[0].value.string, 0, NULL, &g) != 0)
    return true; /* matches nothing: as collectd, nothing to read */
  bool ok = true;
  for (size_t i = 0; ok && i < g.gl_pathc; i++) {
    struct stat st;
    if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode))
      ok = cfg_file(g.gl_pathv[i], into, depth + 1);
  }
  globfree(&g);
  return ok || cfg_error(c, "in an included file");
}

/* The statements of one block (or the file), up to "</close>". */
static bool cfg_block(cfg_t *c, oconfig_item_t *into, const char *close,
                      int depth) {
  for (;;) {
    skip_blank(c);
    if (c->i >= c->n)
      return close == NULL || cfg_error(c, "a block is not closed");
    if (c->s[c->i] == '\n') {
      c->i++;
      c->line++;
      continue;
    }
    bool opens = c->s[c->i] == '<';
    if (opens && c->i + 1 < c->n && c->s[c->i + 1] == '/') {
      c->i += 2;
      size_t start = c->i;
      while (c->i < c->n && word_char(c->s[c->i]))
        c->i++;
      if (close == NULL || c->i >= c->n || c->s[c->i] != '>' ||
          strncasecmp(c->s + start, close, c->i - start) != 0 ||
          strlen(close) != c->i - start)
        return cfg_error(c, "a closing tag that does not match");
      c->i++;
      return true;
    }
    if (opens)
      c->i++;
    size_t start = c->i;
    while (c->i < c->n && word_char(c->s[c->i]))
      c->i++;
    if (c->i == start)
      return cfg_error(c, "a statement without a key");
    if (opens && c->nesting >= CFG_MAX_NESTING) {
      char why[96];
      snprintf(why, sizeof(why), "blocks nested more than %d deep",
               CFG_MAX_NESTING);
      return cfg_error(c, why);
    }
    oconfig_item_t it = {.key = strndup(c->s + start, c->i - start)};
    if (it.key == NULL)
      return cfg_error(c, "out of memory");
    c->nesting += opens;
    bool ok = cfg_values(c, &it, opens) &&
              (!opens || cfg_block(c, &it, it.key, depth));
    c->nesting -= opens;
    if (ok && !opens && strcasecmp(it.key, "Include") == 0) {
      ok = include(c, &it, into, depth);
      item_free(&it);
      if (!ok)
        return false;
      continue;
    }
    oconfig_item_t *more =
        ok ? realloc(into->children,
                     (size_t)(into->children_num + 1) * sizeof(*more))
           : NULL;
    if (more == NULL) {
      item_free(&it);
      return ok ? cfg_error(c, "out of memory") : false;
    }
    into->children = more;
    into->children[into->children_num++] = it;
  }
}

static char config_error[512];

static bool cfg_file(const char *path, oconfig_item_t *into, int depth) {
  if (depth > 8) {
    snprintf(config_error, sizeof(config_error), "%s: Include nested too deep",
             path);
    return false;
  }
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    snprintf(config_error, sizeof(config_error), "%s: %s", path,
             strerror(errno));
    return false;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  char buf[8192];
  size_t n;
  while (mem != NULL && (n = fread(buf, 1, sizeof(buf), f)) > 0)
    fwrite(buf, 1, n, mem);
  fclose(f);
  if (mem == NULL || fclose(mem) != 0) {
    free(text);
    snprintf(config_error, sizeof(config_error), "%s: out of memory", path);
    return false;
  }
  cfg_t c = {.path = path, .s = text, .n = len, .line = 1};
  bool ok = cfg_block(&c, into, NULL, depth);
  if (!ok && config_error[0] == '\0')
    snprintf(config_error, sizeof(config_error), "%s", c.err);
  free(text);
  return ok;
}

/* ---- checks ---------------------------------------------------------- */

/* The last error a core function logged (gen_auth logs why a token
 * failed). */
static char last_log[1024];
static bool verbose;
static bool parsing; /* each error of an <Org> block goes to stderr */

static void on_log(int level, const char *message) {
  if (level <= LOG_WARNING)
    snprintf(last_log, sizeof(last_log), "%s", message);
  if (verbose || (parsing && level <= LOG_ERR))
    fprintf(stderr, "%s%s\n", verbose ? "log: " : "", message);
}

/* What kind of failure an error text is, in the operator's words. */
static const char *classify(const char *err) {
  if (strstr(err, "invalid_client") != NULL || strstr(err, "HTTP 401") ||
      strstr(err, "bad.credentials") != NULL)
    return "credentials";
  if (strstr(err, "missing.permissions") || strstr(err, "missing.any"))
    return "permission";
  if (strstr(err, "SSL") != NULL || strstr(err, "certificate") != NULL ||
      strstr(err, "TLS") != NULL)
    return "TLS";
  if (strstr(err, "proxy") != NULL || strstr(err, "Proxy") != NULL)
    return "proxy";
  if (strstr(err, "resolve") != NULL || strstr(err, "connect") != NULL ||
      strstr(err, "Connection") != NULL || strstr(err, "timed out") != NULL)
    return "region or URL (cannot reach the API)";
  return "error";
}

static int failures;

/* stdout, but stderr when stdout carries a replay's PUTVAL lines. */
static FILE *report_to;

static void report(const char *org, const char *family, int status,
                   const char *err) {
  if (status == 0) {
    fprintf(report_to, "%s: %s: OK\n", org, family);
    return;
  }
  failures++;
  char perm[256];
  if (gen_missing_permission(err, perm, sizeof(perm)))
    fprintf(report_to, "%s: %s: permission: the client's role lacks %s\n", org,
            family, perm);
  else
    fprintf(report_to, "%s: %s: %s: %s\n", org, family, classify(err), err);
}

static int probe_get(gen_client_t *client, const char *path, char *err,
                     size_t size) {
  json_object *doc = NULL;
  int status = gen_http_get_json(client->http, path, &doc, err, size);
  json_object_put(doc);
  return status;
}

/* A small aggregates or observations query: the last hour, one entity. */
static int probe_post(gen_client_t *client, const char *path,
                      const char *dimension, const char *id, bool aggregate,
                      const char *metric, char *err, size_t size) {
  json_object *body = json_object_new_object();
  json_object *filter = gen_json_or_filter(dimension, &id, 1);
  json_object_object_add(body, "filter", filter);
  json_object *metrics = json_object_new_array();
  json_object_array_add(metrics, json_object_new_string(metric));
  json_object_object_add(body, "metrics", metrics);
  if (aggregate) {
    time_t now = time(NULL);
    char interval[64], a[24], b[24];
    time_t start = now - 3600 - now % 60;
    strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%SZ", gmtime(&start));
    start += 3600;
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", gmtime(&start));
    snprintf(interval, sizeof(interval), "%s/%s", a, b);
    json_object_object_add(body, "interval", json_object_new_string(interval));
  }
  json_object *doc = NULL;
  int status = gen_http_post_json(client->http, path, body, &doc, err, size);
  json_object_put(body);
  json_object_put(doc);
  return status;
}

/* The id of the first entity a listing gives ("none" when empty). */
static int first_id(gen_client_t *client, const char *path, char *id,
                    size_t id_size, char *err, size_t size) {
  json_object *doc = NULL;
  int status = gen_http_get_json(client->http, path, &doc, err, size);
  json_object *entities = gen_json_get_array(doc, "entities");
  const char *first =
      entities && json_object_array_length(entities) > 0
          ? gen_json_get_string(json_object_array_get_idx(entities, 0), "id")
          : NULL;
  snprintf(id, id_size, "%s", first ? first : "none");
  json_object_put(doc);
  return status;
}

/* A boolean key of the <Org> block (the plugin-specific ones that turn a
 * family on or off), or dflt. */
static bool org_flag(const oconfig_item_t *ci, const char *key, bool dflt) {
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    if (strcasecmp(c->key, key) == 0 && c->values_num == 1 &&
        c->values[0].type == OCONFIG_TYPE_BOOLEAN)
      dflt = c->values[0].value.boolean != 0;
  }
  return dflt;
}

/* True when the <Org> block has key with value among its values. */
static bool org_has(const oconfig_item_t *ci, const char *key,
                    const char *value) {
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    for (int j = 0; strcasecmp(c->key, key) == 0 && j < c->values_num; j++)
      if (c->values[j].type == OCONFIG_TYPE_STRING &&
          strcasecmp(c->values[j].value.string, value) == 0)
        return true;
  }
  return false;
}

/* A string key of the <Org> block, or dflt. */
static const char *org_string(const oconfig_item_t *ci, const char *key,
                              const char *dflt) {
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    if (strcasecmp(c->key, key) == 0 && c->values_num == 1 &&
        c->values[0].type == OCONFIG_TYPE_STRING)
      dflt = c->values[0].value.string;
  }
  return dflt;
}

/* genesys_platform: the listings, one metrics request each, and the status
 * page (no token), as the plugin asks. */
static void check_platform(gen_client_t *client, const char *name,
                           const oconfig_item_t *ci) {
  char err[1024] = "", id[128], path[256];
  int status;
  if (org_flag(ci, "Edges", true)) {
    status = first_id(client, "/api/v2/telephony/providers/edges?pageSize=1",
                      id, sizeof(id), err, sizeof(err));
    if (status == 0 && strcmp(id, "none") != 0) {
      snprintf(path, sizeof(path),
               "/api/v2/telephony/providers/edges/metrics?edgeIds=%s", id);
      status = probe_get(client, path, err, sizeof(err));
    }
    report(name, "edges", status, err);
  }
  if (org_flag(ci, "Trunks", true)) {
    status =
        first_id(client, "/api/v2/telephony/providers/edges/trunks?pageSize=1",
                 id, sizeof(id), err, sizeof(err));
    if (status == 0 && strcmp(id, "none") != 0) {
      snprintf(path, sizeof(path),
               "/api/v2/telephony/providers/edges/trunks/metrics?trunkIds=%s",
               id);
      status = probe_get(client, path, err, sizeof(err));
    }
    report(name, "trunks", status, err);
  }
  if (org_flag(ci, "StatusPage", true)) {
    json_object *doc = NULL;
    status = gen_http_get_public_json(
        client->http, org_string(ci, "StatusPageURL", GEN_PF_STATUS_URL), 0,
        &doc, err, sizeof(err));
    if (status == 0 && gen_json_get_array(doc, "components") == NULL) {
      status = -EINVAL;
      snprintf(err, sizeof(err), "no \"components\" array");
    }
    json_object_put(doc);
    report(name, "status page", status, err);
  }
}

#define ORG_NAME_MAX 300

/* The client of an <Org> block, its name for the report written to name
 * (ORG_NAME_MAX); NULL, reported, when it cannot be made. */
static gen_client_t *org_client(const char *plugin, gen_org_t *org,
                                char *name) {
  snprintf(name, ORG_NAME_MAX, "%s Org \"%s\"", plugin, org->name);
  gen_client_t *client = gen_client_create(org);
  if (client == NULL)
    report(name, "client", -1, "cannot create the HTTP client");
  return client;
}

static void check_org(const char *plugin, gen_org_t *org,
                      const oconfig_item_t *ci) {
  char name[ORG_NAME_MAX];
  gen_client_t *client = org_client(plugin, org, name);
  if (client == NULL)
    return;
  char token[GEN_TOKEN_MAX];
  last_log[0] = '\0';
  int status = gen_auth_token(client->auth, token, sizeof(token), NULL);
  OPENSSL_cleanse(token, sizeof(token));
  report(name, "token", status, last_log[0] ? last_log : "no token");
  if (status != 0) {
    gen_client_free(client);
    return;
  }
  char err[1024] = "", id[128];
  if (strcmp(plugin, "genesys_platform") == 0) {
    check_platform(client, name, ci);
  } else if (strcmp(plugin, "genesys_flowmetrics") == 0) {
    status = first_id(client, "/api/v2/flows?pageSize=1", id, sizeof(id), err,
                      sizeof(err));
    report(name, "flow list", status, err);
    status = probe_get(client, "/api/v2/flows/outcomes?pageSize=1", err,
                       sizeof(err));
    report(name, "flow outcome names", status, err);
    status = probe_get(client, "/api/v2/flows/milestones?pageSize=1", err,
                       sizeof(err));
    report(name, "flow milestone names", status, err);
    if (org_flag(ci, "Aggregates", true)) {
      status = probe_post(client, "/api/v2/analytics/flows/aggregates/query",
                          "flowId", id, true, "nFlow", err, sizeof(err));
      report(name, "flow aggregates", status, err);
    }
    if (org_flag(ci, "ActiveFlows", true)) {
      status = probe_post(client, "/api/v2/analytics/flows/observations/query",
                          "flowId", id, false, "oFlow", err, sizeof(err));
      report(name, "active flows", status, err);
    }
    if (org_flag(ci, "AttributesFromQueues", true)) {
      status = probe_get(client, "/api/v2/routing/queues?pageSize=1", err,
                         sizeof(err));
      report(name, "metric attributes from queues", status, err);
    }
  } else {
    status = first_id(client, "/api/v2/routing/queues?pageSize=1", id,
                      sizeof(id), err, sizeof(err));
    report(name, "queue list", status, err);
    if (strcmp(plugin, "genesys_realtime") == 0) {
      status = probe_post(client, "/api/v2/analytics/queues/observations/query",
                          "queueId", id, false, "oWaiting", err, sizeof(err));
      report(name, "live queue values", status, err);
      status = probe_get(client, "/api/v2/presence/definitions?pageSize=1", err,
                         sizeof(err));
      report(name, "presence names", status, err);
    } else {
      status =
          probe_post(client, "/api/v2/analytics/conversations/aggregates/query",
                     "queueId", id, true, "nOffered", err, sizeof(err));
      report(name, "queue aggregates", status, err);
      if (org_flag(ci, "AgentStatus", false)) {
        char user[128];
        status = first_id(client, "/api/v2/users?pageSize=1", user,
                          sizeof(user), err, sizeof(err));
        if (status == 0)
          status = probe_post(
              client, "/api/v2/analytics/users/aggregates/query", "userId",
              user, true, "tAgentRoutingStatus", err, sizeof(err));
        report(name, "agent status", status, err);
      }
      if (org_has(ci, "GroupBy", "wrapUpCode")) {
        status = probe_get(client, "/api/v2/routing/wrapupcodes?pageSize=1",
                           err, sizeof(err));
        report(name, "wrap-up code names", status, err);
      }
    }
  }
  gen_client_free(client);
}

/* <Org> keys of one plugin only: accepted here (collectd -T checks them);
 * the shared ones go through the plugins' own parser. */
static int any_key(gen_org_t *org, const oconfig_item_t *ci, void *config) {
  (void)org;
  (void)ci;
  (void)config;
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: collectd-genesys-check [-v] FILE...\n"
          "       collectd-genesys-check [-v] --replay FROM TO "
          "[--socket PATH | --stdout] FILE...\n"
          "  Checks the <Org> blocks of the genesys plugins in FILE "
          "(a collectd\n  configuration, its Include lines "
          "followed): token and one request\n  per family. Exit "
          "status 0: all OK, 1: a check failed, 2: the\n  "
          "configuration could not be read.\n"
          "  --replay: the buckets of genesys_analytics' queue aggregates "
          "in [FROM, TO)\n  (ISO-8601 UTC or epoch seconds) as PUTVAL "
          "lines, to collectd's unixsock\n  (SocketFile of the "
          "configuration, or --socket) or to standard output.\n");
}

/* The name of a <Plugin genesys_*> block, or NULL for any other item. */
static const char *genesys_plugin(const oconfig_item_t *p) {
  if (strcasecmp(p->key, "Plugin") != 0 || p->values_num != 1 ||
      p->values[0].type != OCONFIG_TYPE_STRING ||
      strncmp(p->values[0].value.string, "genesys_", 8) != 0)
    return NULL;
  return p->values[0].value.string;
}

/* The exit status once every <Org> block of which was handled. */
static int exit_status(bool refused, size_t orgs, const char *which) {
  if (refused)
    return EXIT_CONFIG;
  if (orgs == 0) {
    fprintf(stderr,
            "collectd-genesys-check: no <Org> block of %s in the "
            "configuration\n",
            which);
    return EXIT_CONFIG;
  }
  return failures > 0 ? EXIT_FAILED : EXIT_SUCCESS;
}

/* ---- --replay -----------------------------------------------------------
 * The queue aggregates of each genesys_analytics <Org> for a past window,
 * asked for as the plugin asks (gen_queue_agg) with an engine of its own
 * (gen_replay: no state file), each bucket's gauges handed to collectd's
 * unixsock plugin or printed. */

typedef struct {
  int64_t from_ms, to_ms;
  const char *socket_path; /* --socket; NULL: the configuration's */
  bool to_stdout;
  gen_replay_sock_t *sock;
  const char *host; /* collectd's hostname, for values without a Host */
  size_t values, refused;
  char first_refusal[600];
} replay_t;

static replay_t replay;

/* standalone_dispatch during a replay: one PUTVAL line per value. */
static int replay_put(const value_list_t *vl) {
  value_list_t copy = *vl;
  if (copy.host[0] == '\0')
    sstrncpy(copy.host, replay.host, sizeof(copy.host));
  char line[2048], err[600] = "";
  int status = gen_replay_putval(&copy, line, sizeof(line));
  if (status >= 0 && replay.to_stdout)
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

/* The analytics keys a replay needs; every other key is the plugin's. */
typedef struct {
  gen_entity_filter_t filter;
  gen_queue_agg_config_t qa;
  gen_interval_config_t interval;
} replay_config_t;

static int replay_key(gen_org_t *org, const oconfig_item_t *ci, void *config) {
  replay_config_t *c = config;
  int status = gen_config_filter_key(org, ci, "Queue", true, &c->filter);
  if (status == GEN_CONFIG_NOT_MINE)
    status = gen_queue_agg_config_key(org, ci, &c->qa);
  if (status == GEN_CONFIG_NOT_MINE)
    status = gen_interval_config_key(org, ci, &c->interval);
  return status == GEN_CONFIG_NOT_MINE ? 0 : status;
}

typedef struct {
  const gen_agg_job_t *job;
  int status;
} replay_batch_t;

static bool replay_batch(void *ud, const char *const *ids, size_t n) {
  replay_batch_t *b = ud;
  b->status = gen_agg_collect(b->job, ids, n, INT_MAX);
  return b->status == 0;
}

/* Lists the org's queues (and wrap-up codes), then asks for the window:
 * one request per batch of QueuesPerQuery queues and MaxBucketsPerQuery
 * buckets, and the same for the metrics of no queue. */
static int replay_ranges(const char *name, gen_client_t *client,
                         replay_config_t *c, gen_entity_set_t *queues,
                         gen_entity_set_t *wrapups) {
  char err[1024] = "";
  int status =
      gen_entity_list(client->http, client->org, "/api/v2/routing/queues",
                      &c->filter, queues, err, sizeof(err));
  report(name, "queue list", status, err);
  if (status != 0)
    return status;
  if (c->qa.by_wrapup &&
      gen_entity_list(client->http, client->org, "/api/v2/routing/wrapupcodes",
                      NULL, wrapups, err, sizeof(err)) != 0)
    fprintf(stderr, "%s: wrap-up code names: %s (ids are used instead)\n", name,
            err);
  int64_t g = c->interval.granularity_ms;
  int64_t from = replay.from_ms, to = replay.to_ms;
  int64_t settled = gen_bucket_floor(
      gen_cdtime_to_ms(cdtime()) - (int64_t)CDTIME_T_TO_MS(c->interval.settle),
      g);
  if (gen_replay_window(g, settled, &from, &to) != 0) {
    report(name, "replay window", -EINVAL,
           "no bucket of the window has closed and settled");
    return -EINVAL;
  }
  gen_log_org_t who = {"genesys_analytics", client->org->name};
  gen_interval_t *engine =
      gen_replay_engine(g, from, to, c->interval.max_buckets, &who);
  gen_queue_agg_t qa = {&c->qa,
                        client->org,
                        gen_client_host(client),
                        "genesys_analytics",
                        g,
                        queues,
                        wrapups,
                        NULL};
  if (engine == NULL || gen_queue_agg_init(&qa) != 0) {
    gen_interval_free(engine);
    report(name, "replay", -ENOMEM, "out of memory");
    return -ENOMEM;
  }
  gen_agg_counts_t counts = {.who = &who, .complain = GEN_RATELIMIT_INIT(60)};
  gen_agg_output_t output = gen_queue_agg_output(&qa);
  gen_interval_sink_t sink = gen_replay_sink(&output);
  size_t before = replay.values;
  status = 0;
  if (gen_queue_agg_on(&qa, false)) {
    gen_agg_query_t query = gen_queue_agg_query(&qa, false);
    gen_agg_job_t job = {engine, client, &counts, &query, &sink, .at_ms = to};
    replay_batch_t b = {&job, 0};
    if (gen_entity_batches(queues, (size_t)c->qa.queues_per_query, replay_batch,
                           &b) != 0)
      b.status = -ENOMEM;
    status = b.status;
  }
  if (status == 0 && client->org->shard_index == 0 &&
      gen_queue_agg_on(&qa, true)) {
    static const char *const scope[] = {GEN_QUEUE_AGG_ORG_SCOPE};
    gen_agg_query_t query = gen_queue_agg_query(&qa, true);
    gen_agg_job_t job = {engine, client, &counts, &query, &sink, .at_ms = to};
    status = gen_agg_collect(&job, scope, 1, INT_MAX);
  }
  char window[GEN_INTERVAL_STRLEN], what[GEN_INTERVAL_STRLEN + 160];
  gen_interval_format(from, to, window, sizeof(window));
  snprintf(what, sizeof(what), "replay of %s (%llu requests, %zu values)",
           window, (unsigned long long)counts.queries, replay.values - before);
  report(name, what,
         status != 0          ? status
         : replay.refused > 0 ? -EPROTO
                              : 0,
         status != 0 ? last_log : replay.first_refusal);
  gen_queue_agg_release(&qa);
  gen_interval_free(engine);
  return status;
}

static void replay_org(const char *plugin, gen_org_t *org, replay_config_t *c) {
  char name[ORG_NAME_MAX];
  gen_client_t *client = org_client(plugin, org, name);
  if (client == NULL)
    return;
  gen_queue_agg_config_done(&c->qa);
  gen_entity_set_t queues = {0}, wrapups = {0};
  last_log[0] = '\0';
  replay_ranges(name, client, c, &queues, &wrapups);
  gen_entity_set_free(&queues);
  gen_entity_set_free(&wrapups);
  gen_client_free(client);
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

/* Replays into the configuration's collectd (or to stdout): the exit
 * status. */
static int replay_all(oconfig_item_t *root) {
  char *host = collectd_hostname(root);
  replay.host = host != NULL ? host : "localhost";
  if (replay.to_stdout)
    report_to = stderr;
  else {
    const char *path =
        replay.socket_path ? replay.socket_path : unixsock_path(root);
    char err[512];
    if (path == NULL) {
      fprintf(stderr, "collectd-genesys-check: the configuration loads no "
                      "unixsock plugin: give --socket PATH or --stdout\n");
      free(host);
      return EXIT_CONFIG;
    }
    if ((replay.sock = gen_replay_sock_open(path, err, sizeof(err))) == NULL) {
      fprintf(stderr, "collectd-genesys-check: cannot reach collectd: %s\n",
              err);
      free(host);
      return EXIT_FAILED;
    }
  }
  standalone_dispatch = replay_put;
  size_t orgs = 0;
  bool refused = false;
  for (int i = 0; i < root->children_num; i++) {
    oconfig_item_t *p = &root->children[i];
    const char *plugin = genesys_plugin(p);
    if (plugin == NULL)
      continue;
    bool analytics = strcmp(plugin, "genesys_analytics") == 0;
    for (int j = 0; j < p->children_num; j++) {
      oconfig_item_t *o = &p->children[j];
      if (strcasecmp(o->key, "Org") != 0)
        continue;
      if (!analytics) {
        fprintf(stderr,
                "%s Org: not replayed (only the queue aggregates of "
                "genesys_analytics are)\n",
                plugin);
        continue;
      }
      /* Their own queries and engines: not wired into the replay. */
      for (size_t k = 0; k < 2; k++) {
        const char *key = k == 0 ? "AgentStatus" : "CallQuality";
        if (org_flag(o, key, false))
          fprintf(stderr,
                  "%s Org: %s not replayed (the queue aggregates are)\n",
                  plugin, key);
      }
      replay_config_t c = {0};
      gen_queue_agg_config_init(&c.qa);
      gen_interval_config_init(&c.interval);
      parsing = true;
      gen_org_t *org = gen_config_org_block(plugin, o, replay_key, &c);
      parsing = false;
      if (org == NULL)
        refused = true;
      else {
        orgs++;
        replay_org(plugin, org, &c); /* its client frees org */
      }
      gen_entity_filter_free(&c.filter);
      gen_interval_config_release(&c.interval);
    }
  }
  standalone_dispatch = NULL;
  gen_replay_sock_close(replay.sock);
  free(host);
  return exit_status(refused, orgs, "genesys_analytics");
}

int main(int argc, char **argv) {
  standalone_log = on_log;
  report_to = stdout;
  int first = 1;
  bool replaying = false;
  for (; first < argc && argv[first][0] == '-'; first++) {
    if (strcmp(argv[first], "-v") == 0)
      verbose = true;
    else if (strcmp(argv[first], "--stdout") == 0)
      replay.to_stdout = true;
    else if (strcmp(argv[first], "--socket") == 0 && first + 1 < argc)
      replay.socket_path = argv[++first];
    else if (strcmp(argv[first], "--replay") == 0 && first + 2 < argc) {
      replaying = true;
      if (gen_replay_time(argv[first + 1], &replay.from_ms) != 0 ||
          gen_replay_time(argv[first + 2], &replay.to_ms) != 0 ||
          replay.to_ms <= replay.from_ms) {
        fprintf(stderr,
                "collectd-genesys-check: --replay %s %s: FROM and "
                "TO are ISO-8601 UTC times or epoch seconds, FROM "
                "before TO\n",
                argv[first + 1], argv[first + 2]);
        return EXIT_CONFIG;
      }
      first += 2;
    } else
      break;
  }
  if (first >= argc || argv[first][0] == '-' ||
      (!replaying && (replay.to_stdout || replay.socket_path != NULL)) ||
      (replay.to_stdout && replay.socket_path != NULL)) {
    usage();
    return EXIT_CONFIG;
  }
  oconfig_item_t root = {0};
  for (int i = first; i < argc; i++)
    if (!cfg_file(argv[i], &root, 0)) {
      fprintf(stderr, "collectd-genesys-check: %s\n", config_error);
      item_free(&root);
      return EXIT_CONFIG;
    }
  set_parents(&root);
  if (replaying) {
    int status = replay_all(&root);
    item_free(&root);
    return status;
  }
  size_t orgs = 0;
  bool refused = false;
  for (int i = 0; i < root.children_num; i++) {
    oconfig_item_t *p = &root.children[i];
    const char *plugin = genesys_plugin(p);
    if (plugin == NULL)
      continue;
    for (int j = 0; j < p->children_num; j++) {
      oconfig_item_t *o = &p->children[j];
      if (strcasecmp(o->key, "Org") != 0)
        continue;
      parsing = true;
      gen_org_t *org = gen_config_org_block(plugin, o, any_key, NULL);
      parsing = false;
      if (org == NULL) {
        refused = true;
        continue;
      }
      orgs++;
      check_org(plugin, org, o);
    }
  }
  item_free(&root);
  return exit_status(refused, orgs, "a genesys plugin");
}
