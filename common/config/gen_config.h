/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: configuration keys common to all plugins.
 *
 * Each plugin's <Plugin> block holds one or more <Org "name"> blocks. The
 * shared keys below are parsed here, once, for every plugin; a plugin then
 * handles its own keys and reports anything left as unknown.
 */
#ifndef GEN_CONFIG_H
#define GEN_CONFIG_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return value of gen_config_table_key() for a key not in the table. */
#define GEN_CONFIG_NOT_MINE 1

typedef enum {
  GEN_INSTANCE_FROM_NAME = 0, /* plugin_instance = sanitised entity name */
  GEN_INSTANCE_FROM_ID,       /* plugin_instance = entity id */
} gen_instance_from_t;

typedef struct {
  const char *plugin; /* "genesys_realtime", …: every log line starts so */
  char *name;         /* the <Org "name"> label */

  char *region;         /* e.g. "eu_west_1" (NULL when base URLs are given) */
  char *api_base_url;   /* "https://api.mypurecloud.ie", no trailing slash */
  char *login_base_url; /* "https://login.mypurecloud.ie" */

  char *client_id;
  char *client_secret; /* wiped before free; registered for redaction */

  cdtime_t timeout;         /* whole request */
  cdtime_t connect_timeout; /* TCP + TLS */
  size_t max_response_size; /* bytes */
  int max_retries;          /* retries of 429/502/503/504 per request */
  cdtime_t retry_after_cap; /* longest Retry-After we sleep for */

  char *proxy; /* curl proxy URL, NULL for none (curl env vars apply) */
  char *ca_file;
  char *ca_path;
  char *client_cert;
  char *client_key;

  char *host; /* collectd host field: the org; NULL = collectd's hostname */
  gen_instance_from_t instance_from;
  unsigned shard_index; /* Shard "i/n": this agent takes i (0-based) of n */
  unsigned shard_count; /* 1 = no sharding */
  size_t max_series;    /* MaxSeries of the plugin and org; 0 = no budget */
  /* A standby per shard (gen_standby): etcd's client URLs (none: off), the
   * lease's seconds, this agent's name, the keys' prefix, how often the
   * state is copied. */
  char **standby_etcd;
  size_t standby_etcd_n;
  cdtime_t standby_ttl;
  char *standby_name;
  char *standby_prefix;
  /* etcd's own TLS: its CA, this agent's client certificate and key */
  char *standby_ca, *standby_cert, *standby_key;
  cdtime_t
      standby_sync;     /* StandbySyncInterval: state copied at most so often */
  size_t standby_piece; /* StandbyPieceSize: the bytes of a state piece */
  /* The last state of each subject notified about (gen_notice.h). */
  struct gen_notices_s *notices;
  cdtime_t notice_window;  /* NotificationWindow: 2 a subject within it */
  long notices_per_minute; /* NotificationsPerMinute: the org's, in all */
} gen_org_t;

/* Creates an org with defaults for the named plugin and <Org> label. */
gen_org_t *gen_org_create(const char *plugin, const char *name);
void gen_org_free(gen_org_t *org);
/* A deep copy (the secret registered for redaction again), NULL when out
 * of memory. */
gen_org_t *gen_org_copy(const gen_org_t *org);

/* Checks the parsed org as a whole (credentials present, one secret source,
 * URL schemes, shard) and derives base URLs from the region. Logs and returns
 * a negative errno when the org cannot work. */
int gen_org_config_finish(gen_org_t *org);

/* Maps a region name (an SDK enum such as "eu_west_1", or the bare domain
 * "mypurecloud.ie") to its domain, e.g. "mypurecloud.ie". NULL if unknown. */
const char *gen_region_domain(const char *region);

/* True when this agent's shard owns the entity id (stable FNV-1a hash). */
bool gen_org_owns(const gen_org_t *org, const char *entity_id);
uint64_t gen_hash_id(const char *id);

/* Why url may not be used, or NULL when it may: https://, or http:// to a
 * loopback host (127.0.0.0/8, [::1], localhost; tests only), parsed as
 * libcurl parses it. Refused whatever the scheme: user info, percent-escapes
 * or backslashes in the authority, an IPv6 zone id; with base, also a query
 * or fragment (paths are appended to a base URL). */
const char *gen_url_problem(const char *url, bool base);
/* gen_url_problem(url, false) == NULL. */
bool gen_url_allowed(const char *url);
/* url for a log line: everything between "://" and the last '@' (perhaps a
 * password) replaced by GEN_REDACTED. */
void gen_url_shown(const char *url, char *buf, size_t size);

/* The one TLS and proxy policy of every libcurl handle (REST and
 * WebSocket): verification on, TLS 1.2 at least, http and https only, no
 * redirects (a token must not travel elsewhere), TCP keepalive, no signals,
 * and the org's Proxy, CACert, CAPath, ClientCert and ClientKey. Returns 0,
 * or -EINVAL and curl's reason in err. */
typedef struct Curl_easy gen_curl_t; /* CURL, without curl.h here */
int gen_curl_policy(gen_curl_t *curl, const gen_org_t *org, char *err,
                    size_t err_size);
/* Test seam: when set, every option the policy gives is also reported. */
extern void (*gen_curl_policy_seen)(gen_curl_t *curl, int option, long number,
                                    const char *text);

/* gen_log_org() for the org: "<plugin> plugin: Org "<name>": <message>",
 * rate-limited with rl. */
void gen_org_log(const gen_org_t *org, gen_ratelimit_t *rl, int level,
                 const char *format, ...) __attribute__((format(printf, 4, 5)));

/* Helpers for plugin-specific keys, with the same error messages. Each logs
 * "<plugin> plugin: Org "<org>": <key> <value>: <reason>" and returns a
 * negative errno on a wrong type or value. */
int gen_config_string(const gen_org_t *org, const oconfig_item_t *ci,
                      char **out);
int gen_config_bool(const gen_org_t *org, const oconfig_item_t *ci, bool *out);
int gen_config_int(const gen_org_t *org, const oconfig_item_t *ci, long min,
                   long max, long *out);
int gen_config_seconds(const gen_org_t *org, const oconfig_item_t *ci,
                       double min, double max, cdtime_t *out);
/* Appends every string argument of ci to a NULL-terminated array. */
int gen_config_string_list(const gen_org_t *org, const oconfig_item_t *ci,
                           char ***list, size_t *count);
/* Frees such a list of count strings (NULL: nothing). */
void gen_config_string_list_free(char **list, size_t count);
/* MediaType "voice" "chat" …: adds each media type named (gen_names.h,
 * case-insensitive) to *mask; an unknown name is refused with the list of
 * valid ones. */
int gen_config_media(const gen_org_t *org, const oconfig_item_t *ci,
                     unsigned *mask);
void gen_config_error(const gen_org_t *org, const oconfig_item_t *ci,
                      const char *reason);

/* ---- keys as tables ------------------------------------------------------
 * A module's keys are a table of gen_config_def_t, one row a key: its name,
 * type, where it goes (offsetof into the module's config struct), bounds,
 * the default (a typed value, given by gen_config_defaults(), or words)
 * and a one-line description. One reader,
 * gen_config_table_key(), finds a key (case-insensitive) and applies the
 * type's helper above, so every key of a type is checked and refused
 * alike; a key that needs more names its own parse function. A plugin's
 * keys are its tables (gen_config_part_t, each at the offset of its
 * module's struct in the plugin's config), which collectd-genesys-check
 * --keys lists. */

typedef enum {
  GEN_CFG_BOOL,     /* bool */
  GEN_CFG_INT,      /* long, from min to max */
  GEN_CFG_SECONDS,  /* cdtime_t, from min to max seconds */
  GEN_CFG_NUMBER,   /* a number (parse) */
  GEN_CFG_STRING,   /* char *, not empty, replaced */
  GEN_CFG_URL,      /* char *, a URL: gen_url_problem() NULL */
  GEN_CFG_BASE_URL, /* char *, the same, trailing slashes dropped */
  GEN_CFG_STRINGS,  /* char ** and its size_t count (at count): appended */
  GEN_CFG_MEDIA,    /* unsigned mask of media types */
  GEN_CFG_DURATION, /* an ISO-8601 duration (parse) */
  GEN_CFG_ENUM,     /* one of values (parse) */
  GEN_CFG_LIST,     /* several values (parse) */
  GEN_CFG_SECRET,   /* a secret: its value never logged (parse) */
  GEN_CFG_REFUSED,  /* refused, doc the reason */
  GEN_CFG_BLOCK,    /* a block (parse) */
} gen_config_type_t;

typedef struct gen_config_def_s gen_config_def_t;
/* A key's own parser: field is the table's struct plus def->offset. The
 * same contract as the helpers: 0, or a negative errno once logged. */
typedef int (*gen_config_parse_t)(const gen_org_t *org,
                                  const oconfig_item_t *ci,
                                  const gen_config_def_t *def, void *field);

struct gen_config_def_s {
  const char *key;
  gen_config_type_t type;
  size_t offset;   /* of the field in the table's struct */
  size_t count;    /* GEN_CFG_STRINGS: offset of the size_t count */
  double min, max; /* GEN_CFG_INT, GEN_CFG_SECONDS: the bounds */
  /* The default as a value (typed: dflt_set), which gen_config_defaults()
   * gives the field and the listing shows: a bool (0 or 1) of GEN_CFG_BOOL,
   * a whole number of GEN_CFG_INT (a long, or an int or size_t of a row
   * with its own parser), seconds of GEN_CFG_SECONDS (a cdtime_t), a double
   * of GEN_CFG_NUMBER. size: sizeof the field. */
  bool dflt_set;
  double dflt;
  size_t size;
  /* The default in words, NULL: none. Applied only with text_default: then
   * it is config text, which gen_config_defaults() gives the field through
   * the key's own reader, as a user's value. */
  const char *shown;
  bool text_default;
  const char *values;       /* the bounds in words where min and max are not */
  const char *doc;          /* one line */
  gen_config_parse_t parse; /* NULL: the type's helper */
};

typedef struct {
  const gen_config_def_t *defs;
  size_t n;
} gen_config_table_t;

/* A table at the offset of its struct inside a larger config (a plugin's). */
typedef struct {
  const gen_config_table_t *table;
  size_t offset;
} gen_config_part_t;

#define GEN_CONFIG_TABLE(defs)                                                 \
  { (defs), sizeof(defs) / sizeof((defs)[0]) }

/* sizeof member M of struct S */
#define GEN_FIELD_SIZE(S, M) sizeof(((S *)0)->M)
/* A row's typed default: V the value, applied and listed. */
#define GEN_DEFAULT(S, M, V)                                                   \
  .dflt_set = true, .dflt = (V), .size = GEN_FIELD_SIZE(S, M)

/* Rows: key, the struct S and its member M, then bounds, the default (a
 * value: true, 30) and the one-line doc. */
#define GEN_KEY_BOOL(k, S, M, dflt, d)                                         \
  { (k), GEN_CFG_BOOL, offsetof(S, M), GEN_DEFAULT(S, M, dflt), .doc = (d) }
#define GEN_KEY_INT(k, S, M, lo, hi, dflt, d)                                  \
  {                                                                            \
    (k), GEN_CFG_INT, offsetof(S, M), .min = (lo), .max = (hi),                \
                                      GEN_DEFAULT(S, M, dflt), .doc = (d)      \
  }
#define GEN_KEY_SECONDS(k, S, M, lo, hi, dflt, d)                              \
  {                                                                            \
    (k), GEN_CFG_SECONDS, offsetof(S, M), .min = (lo), .max = (hi),            \
                                          GEN_DEFAULT(S, M, dflt), .doc = (d)  \
  }
/* A string's default is in words (the value the code takes when unset). */
#define GEN_KEY_STRING(k, S, M, dflt, d)                                       \
  { (k), GEN_CFG_STRING, offsetof(S, M), .shown = (dflt), .doc = (d) }
#define GEN_KEY_STRINGS(k, S, M, N, d)                                         \
  { (k), GEN_CFG_STRINGS, offsetof(S, M), .count = offsetof(S, N), .doc = (d) }
/* A key with its own parser P; T is its type as listed, V its bounds in
 * words. */
#define GEN_KEY_PARSE(k, T, S, M, P, dflt, V, d)                               \
  {                                                                            \
    (k), (T), offsetof(S, M), .shown = (dflt), .values = (V), .doc = (d),      \
                              .parse = (P)                                     \
  }
/* The same, its default text (as a user writes the value: "PT15M",
 * "24h 100h", "3.0 3.5") read by P when the table's defaults are given. */
#define GEN_KEY_PARSE_TEXT(k, T, S, M, P, text, V, d)                          \
  {                                                                            \
    (k), (T), offsetof(S, M), .shown = (text), .text_default = true,           \
                              .values = (V), .doc = (d), .parse = (P)          \
  }

/* The one reader of a table's keys: 0 when ci's key is in the table and
 * valid, a negative errno (logged: key, value, reason) when invalid,
 * GEN_CONFIG_NOT_MINE when the key is not in the table. config is the
 * table's struct. */
int gen_config_table_key(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_table_t *table, void *config);
/* The same over several tables, each at its offset in config, in order. */
int gen_config_parts_key(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_part_t *parts, size_t n,
                         void *config);
/* The row of key in the table, NULL when none (case-insensitive). */
const gen_config_def_t *gen_config_table_find(const gen_config_table_t *table,
                                              const char *key);
/* A row as one line "Key<TAB>type<TAB>default<TAB>bounds<TAB>doc" ("-"
 * for a column that says nothing), no newline. */
void gen_config_def_line(const gen_config_def_t *def, char *buf, size_t size);
/* Gives every row of the table that has a typed default (dflt_set) its
 * value in config, the table's struct, and every row with a default text
 * (text_default) what its reader makes of that text, read as collectd reads
 * a value (words apart at spaces: a number, true/yes/on and false/no/off
 * booleans, else a string): a module's defaults, written once in its rows
 * (valkey's initConfigValues()). Other fields are left as they are. A text
 * its reader refuses is logged and counted (gen_config_default_failures). */
void gen_config_defaults(const gen_config_table_t *table, void *config);
/* Default texts refused by their readers since the start: a row's bug,
 * which the unit tests of every plugin's keys check is 0. */
unsigned gen_config_default_failures(void);
/* Why def's typed default cannot be applied or is out of its own bounds
 * (a field of another size, a type that takes none, a bool not 0 or 1, a
 * fraction of a whole number), NULL when it is fine or there is none. */
const char *gen_config_default_problem(const gen_config_def_t *def);
/* gen_config_defaults() of each table at its offset in config. */
void gen_config_parts_defaults(const gen_config_part_t *parts, size_t n,
                               void *config);

/* The shared <Org> keys (their struct: gen_org_t). */
extern const gen_config_table_t gen_org_keys;

#endif /* GEN_CONFIG_H */
