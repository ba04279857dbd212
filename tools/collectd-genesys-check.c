/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys-check: reads the <Plugin genesys_*> blocks of a collectd
 * configuration, parses each <Org> with the parser the plugins use, gets a
 * token and probes every family once, printing per org and family OK or
 * what is wrong. Exit status: 0 all OK, 1 a check failed, 2 the
 * configuration could not be read. With --replay FROM TO it asks the
 * history of genesys_analytics and genesys_flowmetrics for a past window
 * instead (replay.c) and hands the bucket values to collectd's unixsock
 * plugin, or prints them as PUTVAL lines. With --keys PLUGIN it lists
 * the keys a plugin's <Org> block takes, from the plugin's tables. See
 * collectd-genesys-check(1).
 */
#include "check.h"

#include "ga_history.h"
#include "gen_buf.h"
#include "gen_http.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_replay.h"
#include "gen_standby.h"
#include "gf_history.h"
#include "gp_history.h"
#include "gr_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
      gen_buf_t out = GEN_BUF_INIT(SIZE_MAX);
      int rc = gen_buf_add(&out, "", 0); /* "" is a string too */
      c->i++;
      while (rc == 0 && c->i < c->n && c->s[c->i] != '"' &&
             c->s[c->i] != '\n') {
        char x = c->s[c->i++];
        if (x == '\\' && c->i < c->n)
          x = c->s[c->i++];
        rc = gen_buf_add(&out, &x, 1);
      }
      v.type = OCONFIG_TYPE_STRING;
      v.value.string = gen_buf_steal(&out);
      if (rc != 0 || v.value.string == NULL)
        return cfg_error(c, "out of memory");
      if (c->i >= c->n || c->s[c->i] != '"') {
        free(v.value.string);
        return cfg_error(c, "a string without its closing quote");
      }
      c->i++;
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

/* What a file that is not a regular one is, in the operator's words. */
static const char *file_kind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  return "not a file";
}

static bool cfg_file(const char *path, oconfig_item_t *into, int depth) {
  if (depth > 8) {
    snprintf(config_error, sizeof(config_error), "%s: Include nested too deep",
             path);
    return false;
  }
  /* Opened without waiting (a FIFO's open waits for a writer, its read
   * for ever) and read only when it is a regular file (which O_NONBLOCK
   * does not concern). */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  int e = fd < 0 || fstat(fd, &st) != 0 ? errno : 0;
  gen_buf_t text = GEN_BUF_INIT(SIZE_MAX);
  if (e == 0 && S_ISREG(st.st_mode)) {
    char buf[8192];
    ssize_t n;
    while (e == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
      e = -gen_buf_add(&text, buf, (size_t)n);
  }
  if (fd >= 0)
    close(fd);
  if (e != 0 || !S_ISREG(st.st_mode)) {
    if (e != 0)
      snprintf(config_error, sizeof(config_error), "%s: %s", path, strerror(e));
    else
      snprintf(config_error, sizeof(config_error),
               "%s: not a regular file (%s): a configuration is read from a "
               "file",
               path, file_kind(st.st_mode));
    gen_buf_free(&text);
    return false;
  }
  cfg_t c = {.path = path, .s = gen_buf_str(&text), .n = text.len, .line = 1};
  bool ok = cfg_block(&c, into, NULL, depth);
  if (!ok && config_error[0] == '\0')
    snprintf(config_error, sizeof(config_error), "%s", c.err);
  gen_buf_free(&text);
  return ok;
}

/* ---- checks ---------------------------------------------------------- */

/* The last error a core function logged (gen_auth logs why a token
 * failed). */
char last_log[1024];
static bool verbose;
/* While an <Org> block is parsed: each error of it goes to stderr. */
static bool parsing;

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

FILE *report_to;

void report(const char *org, const char *family, int status, const char *err) {
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

/* POSTs body (taken: freed) to path, the answer dropped. */
static int post_body(gen_client_t *client, const char *path, json_object *body,
                     char *err, size_t size) {
  json_object *doc = NULL;
  int status = gen_http_post_json(client->http, path, body, GEN_HTTP_NO_BOUND,
                                  &doc, err, size);
  json_object_put(body);
  json_object_put(doc);
  return status;
}

/* Dimensions of a probe's groupBy, at most (the flow exits': three). */
#define PROBE_GROUP_BY 3

/* A small aggregates or observations query of one entity by dimension, or
 * with none of every entity (the org's bots, rate limits), for metric,
 * grouped by group_by (aggregate: over the last hour); neither dimension
 * nor metric: an empty body. */
static int probe_post(gen_client_t *client, const char *path,
                      const char *dimension, const char *id, bool aggregate,
                      const char *metric, const char *const *group_by,
                      char *err, size_t size) {
  json_object *body = json_object_new_object();
  if (dimension != NULL) {
    json_object *filter = gen_json_or_filter(dimension, &id, 1);
    json_object_object_add(body, "filter", filter);
  }
  if (metric != NULL) {
    json_object *metrics = json_object_new_array();
    json_object_array_add(metrics, json_object_new_string(metric));
    json_object_object_add(body, "metrics", metrics);
  }
  if (group_by != NULL && group_by[0] != NULL) {
    json_object *by = json_object_new_array();
    for (size_t i = 0; i < PROBE_GROUP_BY && group_by[i] != NULL; i++)
      json_object_array_add(by, json_object_new_string(group_by[i]));
    json_object_object_add(body, "groupBy", by);
  }
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
  return post_body(client, path, body, err, size);
}

/* The id of the first entity a listing gives ("none" when empty). */
static int first_id(gen_client_t *client, const char *path, char *id,
                    size_t id_size, char *err, size_t size) {
  json_object *doc = NULL;
  int status =
      gen_http_get_json(client->http, path, GEN_HTTP_NO_BOUND, &doc, err, size);
  json_object *entities = gen_json_get_array(doc, "entities");
  const char *first =
      entities && json_object_array_length(entities) > 0
          ? gen_json_get_string(json_object_array_get_idx(entities, 0), "id")
          : NULL;
  snprintf(id, id_size, "%s", first ? first : "none");
  json_object_put(doc);
  return status;
}

/* A bool of a plugin's configuration, as a probe names it (0: none). */
#define ON(type, member) (offsetof(type, member) + 1)

/* One request of a plugin's families, asked as the plugin asks it, when
 * the bool of its configuration at on (or at or_on, or_on2) is true (on 0:
 * always). */
typedef struct {
  const char *plugin, *family;
  size_t on, or_on, or_on2;
  /* A listing: its first entity's id is the one the requests after it
   * name. With no path it is reported as family; else as list_family
   * when given (the request then made only when it answered), or as the
   * request is; with if_any, the request is made only when it is not
   * empty. */
  const char *list, *list_family;
  bool if_any;
  /* A GET of path (the id and tail after it when there is a tail), or a
   * query (POST) of path: of the id by dimension for metric (aggregate:
   * over the last hour), or with post an empty body. */
  const char *path, *tail, *dimension, *metric;
  bool aggregate, post;
  /* the groupBy the query needs, as the plugin groups it */
  const char *group_by[PROBE_GROUP_BY];
  /* a query of its own form (POST): its body for the id (malloc'd) */
  char *(*body)(const char *id);
} probe_t;

/* The workitem backlog's query of one queue, as the plugin sends it. */
static char *workitems_body(const char *id) { return gen_wi_request(id, 24); }

/* A POST of text (NULL: out of memory) to path, freed. */
static int probe_text(gen_client_t *client, const char *path, char *text,
                      char *err, size_t size) {
  json_object *body = text != NULL ? json_tokener_parse(text) : NULL;
  free(text);
  if (body == NULL) {
    snprintf(err, size, "cannot build the query");
    return -ENOMEM;
  }
  return post_body(client, path, body, err, size);
}

#define GR "genesys_realtime"
static const probe_t probes[] = {
    {GP_PLUGIN_NAME, "edges", ON(gp_config_t, edges),
     .list = "/api/v2/telephony/providers/edges?pageSize=1", .if_any = true,
     .path = "/api/v2/telephony/providers/edges/metrics?edgeIds=", .tail = ""},
    {GP_PLUGIN_NAME, "trunks", ON(gp_config_t, trunks),
     .list = "/api/v2/telephony/providers/edges/trunks?pageSize=1",
     .if_any = true,
     .path = "/api/v2/telephony/providers/edges/trunks/metrics?trunkIds=",
     .tail = ""},
    {GF_PLUGIN_NAME, "flow list", .list = "/api/v2/flows?pageSize=1"},
    {GF_PLUGIN_NAME, "flow outcome names",
     .path = "/api/v2/flows/outcomes?pageSize=1"},
    {GF_PLUGIN_NAME, "flow milestone names",
     .path = "/api/v2/flows/milestones?pageSize=1"},
    {GF_PLUGIN_NAME, "flow aggregates", ON(gf_config_t, agg.aggregates),
     .path = "/api/v2/analytics/flows/aggregates/query", .dimension = "flowId",
     .metric = "nFlow", .aggregate = true},
    /* analytics:flowAggregate:view, as the flow aggregates; grouped as the
     * plugin asks, so a groupBy Genesys refuses says so */
    {GF_PLUGIN_NAME, "flow exits", ON(gf_config_t, exits.on),
     .path = GEN_FLOW_AGG_PATH, .dimension = "flowId", .metric = "tFlow",
     .aggregate = true, .group_by = {"flowId", "exitReason", "selfServed"}},
    {GF_PLUGIN_NAME, "active flows", ON(gf_config_t, agg.active_flows),
     .path = "/api/v2/analytics/flows/observations/query",
     .dimension = "flowId", .metric = "oFlow"},
    {GF_PLUGIN_NAME, "metric attributes from queues",
     ON(gf_config_t, attributes_from_queues),
     .path = "/api/v2/routing/queues?pageSize=1"},
    {GR, "queue list", .list = "/api/v2/routing/queues?pageSize=1"},
    {GR, "live queue values",
     .path = "/api/v2/analytics/queues/observations/query",
     .dimension = "queueId", .metric = "oWaiting"},
    {GR, "presence names", .path = "/api/v2/presence/definitions?pageSize=1"},
    /* routing:queue:view; the first queue's voice estimate */
    {GR, "estimated wait time", ON(gr_config_t, ewt.on),
     .path = "/api/v2/routing/queues/",
     .tail = "/mediatypes/call/estimatedwaittime"},
    /* analytics:agentState:view; the org's agents, one request */
    {GR, "agent states by group", ON(gr_config_t, groups.by_team),
     ON(gr_config_t, groups.by_division), ON(gr_config_t, groups.by_unit),
     .path = "/api/v2/analytics/agents/status/counts?groupBy=routingStatus",
     .post = true},
    {GR, "team list", ON(gr_config_t, groups.by_team), /* groups:team:view */
     .path = "/api/v2/teams?pageSize=1"},
    /* analytics:taskManagementObservation:view; the first queue's backlog */
    {GR, "workitems", ON(gr_config_t, workitems.on),
     .list = "/api/v2/routing/queues?pageSize=1",
     .list_family = "workitem queue list",
     .path = "/api/v2/analytics/taskmanagement/metrics/query?pageSize=1",
     .body = workitems_body},
    {GR, "outbound campaigns", ON(gr_config_t, campaigns.on),
     .path = "/api/v2/outbound/campaigns?pageSize=1"},
    /* wfm:realtimeAdherence:view: the first unit's agents */
    {GR, "real-time adherence", ON(gr_config_t, adherence.on),
     .list = "/api/v2/workforcemanagement/managementunits",
     .path = "/api/v2/workforcemanagement/managementunits/",
     .tail = "/adherence"},
    {GA_PLUGIN_NAME, "queue list", .list = "/api/v2/routing/queues?pageSize=1"},
    {GA_PLUGIN_NAME, "queue aggregates",
     .path = "/api/v2/analytics/conversations/aggregates/query",
     .dimension = "queueId", .metric = "nOffered", .aggregate = true},
    {GA_PLUGIN_NAME, "agent status", ON(ga_config_t, agents.on),
     .list = "/api/v2/users?pageSize=1",
     .path = "/api/v2/analytics/users/aggregates/query", .dimension = "userId",
     .metric = "tAgentRoutingStatus", .aggregate = true},
    {GA_PLUGIN_NAME, "wrap-up code names", ON(ga_config_t, qa.by_wrapup),
     .path = "/api/v2/routing/wrapupcodes?pageSize=1"},
    /* outbound:campaign:view, then the query */
    {GA_PLUGIN_NAME, "campaign aggregates", ON(ga_config_t, campaigns.on),
     .list = "/api/v2/outbound/campaigns?pageSize=1",
     .list_family = "outbound campaign list", .path = GEN_CAMPAIGN_AGG_PATH,
     .dimension = "outboundCampaignId", .metric = "nOutboundAttempted",
     .aggregate = true},
    /* analytics:resolutionAggregate:view; the first queue's last hour */
    {GA_PLUGIN_NAME, "resolution aggregates", ON(ga_config_t, resolutions.on),
     .list = "/api/v2/routing/queues?pageSize=1",
     .path = GEN_RESOLUTION_AGG_PATH, .dimension = "queueId",
     .metric = "nNextContactAvoided", .aggregate = true,
     .group_by = {"queueId", "mediaType"}},
    /* analytics:speechAndTextAnalyticsAggregates:view (and the licence) */
    {GA_PLUGIN_NAME, "speech and text analytics", ON(ga_config_t, speech.on),
     .list = "/api/v2/routing/queues?pageSize=1", .path = GEN_SPEECH_AGG_PATH,
     .dimension = "queueId", .metric = "nSpeechTextAnalyzedConversations",
     .aggregate = true, .group_by = {"queueId", "mediaType"}},
    /* analytics:taskManagementAggregate:view */
    {GA_PLUGIN_NAME, "workitem aggregates", ON(ga_config_t, workitems.on),
     .list = "/api/v2/routing/queues?pageSize=1", .path = GEN_WORKITEM_AGG_PATH,
     .dimension = "queueId", .metric = "nWorkitemsOffered", .aggregate = true,
     .group_by = {"queueId"}},
    /* analytics:botAggregate:view; every bot's last hour */
    {GF_PLUGIN_NAME, "bot aggregates", ON(gf_config_t, bots.on),
     .path = GEN_BOT_AGG_PATH, .metric = "nBotSessions", .aggregate = true,
     .group_by = {"botId"}},
    /* analytics:rateLimitAggregate:view; every limit's last hour */
    {GP_PLUGIN_NAME, "rate-limit aggregates", ON(gp_config_t, rate_limits),
     .path = GEN_RL_AGG_PATH, .metric = "oRateLimitRecorded", .aggregate = true,
     .group_by = {"limitName"}},
};

static bool on_at(const void *c, size_t on) {
  return on != 0 && *(const bool *)((const char *)c + on - 1);
}

/* The probes of plugin on under its configuration c, asked and reported. */
static void check_probes(gen_client_t *client, const char *name,
                         const char *plugin, const void *c) {
  char err[1024] = "", id[128] = "none", url[512];
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(probes); i++) {
    const probe_t *p = &probes[i];
    if (strcmp(p->plugin, plugin) != 0 ||
        (p->on != 0 && !on_at(c, p->on) && !on_at(c, p->or_on) &&
         !on_at(c, p->or_on2)))
      continue;
    int status = 0;
    err[0] = '\0';
    if (p->list != NULL) {
      status = first_id(client, p->list, id, sizeof(id), err, sizeof(err));
      if (p->path == NULL || p->list_family != NULL)
        report(name, p->path == NULL ? p->family : p->list_family, status, err);
      if (p->path == NULL || (status != 0 && p->list_family != NULL))
        continue;
    }
    snprintf(url, sizeof(url), "%s%s%s", p->path, p->tail ? id : "",
             p->tail ? p->tail : "");
    /* else the listing's answer is the probe's */
    bool ask = status == 0 && !(p->if_any && strcmp(id, "none") == 0);
    json_object *doc = NULL;
    if (ask && p->body != NULL)
      status = probe_text(client, url, p->body(id), err, sizeof(err));
    else if (ask && (p->metric != NULL || p->post))
      status = probe_post(client, url, p->dimension, id, p->aggregate,
                          p->metric, p->group_by, err, sizeof(err));
    else if (ask)
      status = gen_http_get_json(client->http, url, GEN_HTTP_NO_BOUND, &doc,
                                 err, sizeof(err));
    json_object_put(doc);
    report(name, p->family, status, err);
  }
}

gen_client_t *org_client(const char *plugin, gen_org_t *org, char *name) {
  snprintf(name, ORG_NAME_MAX, "%s Org \"%s\"", plugin, org->name);
  /* MaxSeries is the daemon's budget: the tool's own would keep another
   * first N series and drop the rest from a replay or a reconcile. */
  org->max_series = 0;
  gen_client_t *client = gen_client_create(org);
  if (client == NULL)
    report(name, "client", -1, "cannot create the HTTP client");
  return client;
}

/* The families the plugin would ask for under its configuration c. */
static void check_org(const char *plugin, gen_org_t *org, const void *c) {
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
  char err[1024] = "";
  if (org->standby_etcd_n > 0) {
    /* who holds the shard now: which agent's values are the org's */
    status = gen_standby_probe(org, plugin, err, sizeof(err));
    if (status == 0)
      fprintf(report_to, "%s: standby: OK, %s\n", name, err);
    else
      report(name, "standby", status, err);
  }
  check_probes(client, name, plugin, c);
  const gp_config_t *gp = c;
  if (strcmp(plugin, GP_PLUGIN_NAME) == 0 && gp->status_page) {
    /* genesys_platform's status page (no token), as the plugin asks it */
    json_object *doc = NULL;
    err[0] = '\0';
    status =
        gen_http_get_public_json(client->http, gp->status_url, 0,
                                 GEN_HTTP_NO_BOUND, &doc, err, sizeof(err));
    if (status == 0 && gen_json_get_array(doc, "components") == NULL) {
      status = -EINVAL;
      snprintf(err, sizeof(err), "no \"components\" array");
    }
    json_object_put(doc);
    report(name, "status page", status, err);
  }
  gen_client_free(client);
}

static const gen_history_t gr_parser = {.plugin = "genesys_realtime",
                                        .org_key = gr_config_key,
                                        .config_size = sizeof(gr_config_t),
                                        .config_init = gr_config_init,
                                        .config_release = gr_config_release};
static const gen_history_t *const parsers[] = {&ga_history, &gf_history,
                                               &gp_history, &gr_parser};

const gen_history_t *org_parser(const char *plugin) {
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(parsers); i++)
    if (strcmp(parsers[i]->plugin, plugin) == 0)
      return parsers[i];
  return NULL;
}

gen_org_t *org_parse(const gen_history_t *h, oconfig_item_t *o, void **config) {
  if ((*config = calloc(1, h->config_size)) == NULL) {
    fprintf(stderr, "%s: out of memory\n", h->plugin);
    return NULL;
  }
  h->config_init(*config);
  parsing = true;
  gen_org_t *org = gen_config_org_block(h->plugin, o, h->org_key, *config);
  parsing = false;
  if (org != NULL && h->config_done != NULL)
    h->config_done(*config);
  return org;
}

void org_config_free(const gen_history_t *h, void *config) {
  if (config != NULL)
    h->config_release(config);
  free(config);
}

/* ---- --keys: the keys of an <Org> block, from the tables ---------------- */

static void print_key(const gen_config_def_t *def, void *ud) {
  char line[1024];
  gen_config_def_line(def, line, sizeof(line));
  printf("%s\n", line);
}

static int list_keys(const char *which) {
  /* Each plugin's tables, exported by its folder (plugins/<name>/), after
   * the shared keys; "shared": those alone. */
  static const gen_plugin_t plugins[] = {
      {.name = "genesys_realtime", .keys = gr_keys, .n_keys = GR_KEYS},
      {.name = GA_PLUGIN_NAME, .keys = ga_keys, .n_keys = GA_KEYS},
      {.name = GF_PLUGIN_NAME, .keys = gf_keys, .n_keys = GF_KEYS},
      {.name = GP_PLUGIN_NAME, .keys = gp_keys, .n_keys = GP_KEYS},
      {.name = "shared"},
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(plugins); i++)
    if (strcmp(which, plugins[i].name) == 0) {
      gen_plugin_keys(&plugins[i], print_key, NULL);
      return EXIT_SUCCESS;
    }
  fprintf(stderr,
          "collectd-genesys-check: --keys %s: not one of genesys_realtime, "
          "genesys_analytics, genesys_flowmetrics, genesys_platform and "
          "shared\n",
          which);
  return EXIT_CONFIG;
}

static void usage(void) {
  fprintf(
      stderr,
      "usage: collectd-genesys-check [-v] FILE...\n"
      "       collectd-genesys-check [-v] --replay FROM TO "
      "[--socket PATH | --stdout] [--max-requests N] FILE...\n"
      "       collectd-genesys-check [-v] --reconcile [--buckets N] "
      "[--socket PATH] FILE...\n"
      "       collectd-genesys-check --keys PLUGIN|shared\n"
      "  Checks the <Org> blocks of the genesys plugins in FILE "
      "(a collectd\n  configuration, its Include lines "
      "followed): token and one request\n  per family. Exit "
      "status 0: all OK, 1: a check failed, 2: the\n  "
      "configuration could not be read.\n"
      "  --replay: the buckets in [FROM, TO) (ISO-8601 UTC or epoch "
      "seconds) of\n  genesys_analytics (queue aggregates, agent status, "
      "call quality) and\n  genesys_flowmetrics (flow and data action "
      "aggregates), the families each\n  <Org> has on, gauges only, as "
      "PUTVAL lines to collectd's unixsock\n  (SocketFile of the "
      "configuration, or --socket) or to standard output;\n  a family "
      "whose window costs more than --max-requests (300) requests a\n  "
      "batch of entities is refused before it asks.\n"
      "  --reconcile: the live queue values (genesys_realtime) and the last N "
      "(2)\n  settled buckets of the same families asked afresh and "
      "compared with the\n  values collectd holds (unixsock LISTVAL, "
      "GETVAL), both ways; exit status 1\n  when one differs.\n"
      "  --keys: the keys of a plugin's <Org> block (the shared ones "
      "first), one a\n  line: key, type, default, bounds, "
      "description, separated by tabs.\n");
}

const char *genesys_plugin(const oconfig_item_t *p) {
  if (strcasecmp(p->key, "Plugin") != 0 || p->values_num != 1 ||
      p->values[0].type != OCONFIG_TYPE_STRING ||
      strncmp(p->values[0].value.string, "genesys_", 8) != 0)
    return NULL;
  return p->values[0].value.string;
}

int exit_status(bool refused, size_t orgs, const char *which) {
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

int main(int argc, char **argv) {
  standalone_log = on_log;
  report_to = stdout;
  int first = 1;
  bool replaying = false, limited = false;
  replay_options_t replay = {.max_requests = REPLAY_MAX_REQUESTS};
  int buckets = 2; /* --buckets */
  if (argc == 3 && strcmp(argv[1], "--keys") == 0)
    return list_keys(argv[2]);
  for (; first < argc && argv[first][0] == '-'; first++) {
    if (strcmp(argv[first], "-v") == 0)
      verbose = true;
    else if (strcmp(argv[first], "--stdout") == 0)
      replay.to_stdout = true;
    else if (strcmp(argv[first], "--socket") == 0 && first + 1 < argc)
      replay.socket_path = argv[++first];
    else if (strcmp(argv[first], "--max-requests") == 0 && first + 1 < argc) {
      char *end;
      errno = 0;
      replay.max_requests = strtol(argv[++first], &end, 10);
      if (errno != 0 || end == argv[first] || *end != '\0' ||
          replay.max_requests < 1) {
        fprintf(stderr,
                "collectd-genesys-check: --max-requests %s: a whole number "
                "of requests, 1 or more\n",
                argv[first]);
        return EXIT_CONFIG;
      }
      limited = true;
    } else if (strcmp(argv[first], "--replay") == 0 && first + 2 < argc) {
      replaying = true;
      if (gen_replay_time(argv[first + 1], &replay.from_ms) != 0 ||
          gen_replay_time(argv[first + 2], &replay.to_ms) != 0 ||
          replay.to_ms <= replay.from_ms) {
        fprintf(stderr,
                "collectd-genesys-check: --replay %s %s: FROM and "
                "TO are ISO-8601 UTC times or epoch seconds, FROM before TO\n",
                argv[first + 1], argv[first + 2]);
        return EXIT_CONFIG;
      }
      first += 2;
    } else if (strcmp(argv[first], "--reconcile") == 0) {
      replaying = true;
      replay.reconcile = 2;
    } else if (strcmp(argv[first], "--buckets") == 0 && first + 1 < argc) {
      char *end;
      long n = strtol(argv[++first], &end, 10);
      if (*end != '\0' || n < 1 || n > 96) {
        fprintf(stderr,
                "collectd-genesys-check: --buckets %s: a whole number of "
                "buckets from 1 to 96\n",
                argv[first]);
        return EXIT_CONFIG;
      }
      buckets = (int)n;
    } else
      break;
  }
  if (replay.reconcile)
    replay.reconcile = buckets;
  if (first >= argc || argv[first][0] == '-' ||
      (buckets != 2 && !replay.reconcile) ||
      (replay.reconcile && (replay.to_stdout || replay.from_ms != 0)) ||
      (!replaying &&
       (replay.to_stdout || replay.socket_path != NULL || limited)) ||
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
    int status = replay_run(&root, &replay);
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
      const gen_history_t *h = org_parser(plugin);
      void *config = NULL;
      gen_org_t *org = h != NULL ? org_parse(h, o, &config) : NULL;
      if (h == NULL)
        continue; /* no plugin of ours */
      if (config == NULL)
        return EXIT_FAILED;
      if (org == NULL) {
        refused = true;
      } else {
        orgs++;
        check_org(plugin, org, config);
      }
      org_config_free(h, config);
    }
  }
  item_free(&root);
  return exit_status(refused, orgs, "a genesys plugin");
}
