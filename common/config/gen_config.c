/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: configuration keys common to all plugins.
 */
#include "gen_config.h"
#include "gen_hash.h"
#include "gen_log.h"
#include "gen_names.h"
#include "gen_notices.h"
#include "gen_secret.h"
#include "gen_utf8.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

/* Regions of Genesys Cloud (the SDKs' region enum → domain); api.<domain>
 * and login.<domain> are the hosts. */
static const struct {
  const char *name;
  const char *domain;
} regions[] = {
    {"us_east_1", "mypurecloud.com"},
    {"us_east_2", "use2.us-gov-pure.cloud"},
    {"us_west_2", "usw2.pure.cloud"},
    {"ca_central_1", "cac1.pure.cloud"},
    {"sa_east_1", "sae1.pure.cloud"},
    {"mx_central_1", "mxc1.pure.cloud"},
    {"eu_west_1", "mypurecloud.ie"},
    {"eu_west_2", "euw2.pure.cloud"},
    {"eu_central_1", "mypurecloud.de"},
    {"eu_central_2", "euc2.pure.cloud"},
    {"eusc_de_east_1", "edee1.eusc-pure.cloud"},
    {"me_central_1", "mec1.pure.cloud"},
    {"ap_south_1", "aps1.pure.cloud"},
    {"ap_southeast_1", "apse1.pure.cloud"},
    {"ap_southeast_2", "mypurecloud.com.au"},
    {"ap_northeast_1", "mypurecloud.jp"},
    {"ap_northeast_2", "apne2.pure.cloud"},
    {"ap_northeast_3", "apne3.pure.cloud"},
};

const char *gen_region_domain(const char *region) {
  if (region == NULL)
    return NULL;
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(regions); i++) {
    const char *a = regions[i].name;
    const char *b = region;
    /* "eu_west_1", "eu-west-1" and "EU_WEST_1" all name the same region. */
    while (*a && *b &&
           (tolower((unsigned char)*a) == tolower((unsigned char)*b) ||
            (*a == '_' && *b == '-')))
      a++, b++;
    if (*a == '\0' && *b == '\0')
      return regions[i].domain;
    if (strcasecmp(region, regions[i].domain) == 0)
      return regions[i].domain;
  }
  return NULL;
}

gen_org_t *gen_org_create(const char *plugin, const char *name) {
  gen_org_t *org = calloc(1, sizeof(*org));
  if (org == NULL)
    return NULL;
  org->plugin = plugin;
  org->name = strdup(name ? name : "default");
  gen_config_defaults(&gen_org_keys, org);
  org->shard_index = 0;
  org->shard_count = 1; /* Shard's "1/1" */
  org->notices = gen_notices_create();
  if (org->name == NULL || org->notices == NULL) {
    free(org->name);
    gen_notices_free(org->notices);
    free(org);
    return NULL;
  }
  return org;
}

/* The strings of an org a copy has its own copies of (the client secret
 * apart: wiped, registered for redaction). */
static const size_t org_strings[] = {
    offsetof(gen_org_t, name),         offsetof(gen_org_t, region),
    offsetof(gen_org_t, api_base_url), offsetof(gen_org_t, login_base_url),
    offsetof(gen_org_t, client_id),    offsetof(gen_org_t, proxy),
    offsetof(gen_org_t, ca_file),      offsetof(gen_org_t, ca_path),
    offsetof(gen_org_t, client_cert),  offsetof(gen_org_t, client_key),
    offsetof(gen_org_t, host),
};

static char **org_string(const gen_org_t *org, size_t i) {
  return (char **)((char *)org + org_strings[i]);
}

void gen_org_free(gen_org_t *org) {
  if (org == NULL)
    return;
  if (org->client_secret != NULL) {
    gen_redact_remove(org->client_secret);
    gen_free_secret(org->client_secret);
  }
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(org_strings); i++)
    free(*org_string(org, i));
  gen_config_string_list_free(org->standby_etcd, org->standby_etcd_n);
  free(org->standby_name);
  free(org->standby_prefix);
  free(org->standby_ca);
  free(org->standby_cert);
  free(org->standby_key);
  gen_notices_free(org->notices);
  free(org);
}

gen_org_t *gen_org_copy(const gen_org_t *from) {
  gen_org_t *org = calloc(1, sizeof(*org));
  if (org == NULL)
    return NULL;
  *org = *from;
  org->client_secret = NULL;
  /* A copy (the hub's) never stands by: the election is the instance's. */
  org->standby_etcd = NULL, org->standby_etcd_n = 0;
  org->standby_name = org->standby_prefix = NULL;
  org->standby_ca = org->standby_cert = org->standby_key = NULL;
  /* A copy notifies on its own (the hub's client: the channels'). */
  org->notices = gen_notices_create();
  int status = org->notices == NULL ? -ENOMEM : 0;
  /* Every one set, a copy or NULL, before any can fail. */
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(org_strings); i++) {
    const char *s = *org_string(from, i);
    *org_string(org, i) = s != NULL ? strdup(s) : NULL;
    if (s != NULL && *org_string(org, i) == NULL)
      status = -ENOMEM;
  }
  if (status == 0 && from->client_secret != NULL) {
    /* Registered once more: gen_org_free() takes one registration off. */
    org->client_secret = gen_secure_strdup(from->client_secret);
    status = org->client_secret == NULL ? -ENOMEM : 0;
    if (status == 0)
      status = gen_redact_add(org->client_secret);
  }
  if (status != 0) {
    gen_org_free(org);
    return NULL;
  }
  return org;
}

void gen_config_error(const gen_org_t *org, const oconfig_item_t *ci,
                      const char *reason) {
  char value[256] = "";
  if (ci->values_num >= 1) {
    const oconfig_value_t *v = &ci->values[0];
    /* Secret-bearing keys never show their value. */
    const gen_config_def_t *def = gen_config_table_find(&gen_org_keys, ci->key);
    if (def != NULL && def->type == GEN_CFG_SECRET)
      snprintf(value, sizeof(value), " " GEN_REDACTED);
    else if (v->type == OCONFIG_TYPE_STRING) {
      snprintf(value, sizeof(value), " \"%s\"", v->value.string);
      /* The value is quoted as given, but a control character (C1 too) or
       * broken UTF-8 must not reach the log: each such byte shows as '?'. */
      size_t n = strlen(value);
      bool utf8 = gen_utf8_valid((const unsigned char *)value, n);
      for (size_t i = 0; i < n;) {
        unsigned char *c = (unsigned char *)value + i;
        size_t k = utf8 ? gen_utf8_char_len(c, n - i) : 1;
        if ((!utf8 && *c >= 0x80) || gen_utf8_is_control(c, k))
          memset(c, '?', k);
        i += k;
      }
    } else if (v->type == OCONFIG_TYPE_NUMBER)
      snprintf(value, sizeof(value), " %g", v->value.number);
    else
      snprintf(value, sizeof(value), " %s",
               v->value.boolean ? "true" : "false");
  }
  gen_org_log(org, NULL, LOG_ERR, "%s%s: %s", ci->key, value, reason);
}

int gen_config_string(const gen_org_t *org, const oconfig_item_t *ci,
                      char **out) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
    gen_config_error(org, ci, "takes exactly one string argument");
    return -EINVAL;
  }
  if (ci->values[0].value.string[0] == '\0') {
    gen_config_error(org, ci, "must not be empty");
    return -EINVAL;
  }
  char *copy = strdup(ci->values[0].value.string);
  if (copy == NULL)
    return -ENOMEM;
  free(*out);
  *out = copy;
  return 0;
}

int gen_config_bool(const gen_org_t *org, const oconfig_item_t *ci, bool *out) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_BOOLEAN) {
    gen_config_error(org, ci, "takes exactly one boolean (true or false)");
    return -EINVAL;
  }
  *out = ci->values[0].value.boolean != 0;
  return 0;
}

int gen_config_int(const gen_org_t *org, const oconfig_item_t *ci, long min,
                   long max, long *out) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER) {
    gen_config_error(org, ci, "takes exactly one number");
    return -EINVAL;
  }
  double v = ci->values[0].value.number;
  if (!isfinite(v) || v != floor(v) || v < (double)min || v > (double)max) {
    char reason[128];
    snprintf(reason, sizeof(reason), "must be a whole number from %ld to %ld",
             min, max);
    gen_config_error(org, ci, reason);
    return -ERANGE;
  }
  *out = (long)v;
  return 0;
}

int gen_config_seconds(const gen_org_t *org, const oconfig_item_t *ci,
                       double min, double max, cdtime_t *out) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER) {
    gen_config_error(org, ci, "takes exactly one number of seconds");
    return -EINVAL;
  }
  double v = ci->values[0].value.number;
  if (!isfinite(v) || v < min || v > max) {
    char reason[128];
    snprintf(reason, sizeof(reason), "must be from %g to %g seconds", min, max);
    gen_config_error(org, ci, reason);
    return -ERANGE;
  }
  *out = DOUBLE_TO_CDTIME_T(v);
  return 0;
}

int gen_config_string_list(const gen_org_t *org, const oconfig_item_t *ci,
                           char ***list, size_t *count) {
  if (ci->values_num < 1) {
    gen_config_error(org, ci, "takes one or more string arguments");
    return -EINVAL;
  }
  for (int i = 0; i < ci->values_num; i++) {
    if (ci->values[i].type != OCONFIG_TYPE_STRING ||
        ci->values[i].value.string[0] == '\0') {
      gen_config_error(org, ci, "takes only non-empty string arguments");
      return -EINVAL;
    }
  }
  char **grown =
      realloc(*list, (*count + (size_t)ci->values_num + 1) * sizeof(*grown));
  if (grown == NULL)
    return -ENOMEM;
  *list = grown;
  for (int i = 0; i < ci->values_num; i++) {
    grown[*count] = strdup(ci->values[i].value.string);
    if (grown[*count] == NULL)
      return -ENOMEM;
    (*count)++;
    grown[*count] = NULL;
  }
  return 0;
}

void gen_config_string_list_free(char **list, size_t count) {
  for (size_t i = 0; i < count; i++)
    free(list[i]);
  free(list);
}

int gen_config_media(const gen_org_t *org, const oconfig_item_t *ci,
                     unsigned *mask) {
  if (ci->values_num < 1) {
    gen_config_error(org, ci, "takes one or more strings");
    return -EINVAL;
  }
  unsigned given = 0;
  for (int i = 0; i < ci->values_num; i++) {
    int m = ci->values[i].type == OCONFIG_TYPE_STRING
                ? gen_media_from_name(ci->values[i].value.string)
                : -1;
    if (m < 0) {
      char why[160] = "unknown media type; use";
      size_t n = strlen(why);
      for (int k = 0; k < GEN_MEDIA_COUNT && n < sizeof(why); k++)
        n += (size_t)snprintf(why + n, sizeof(why) - n,
                              k == 0                     ? " %s"
                              : k == GEN_MEDIA_COUNT - 1 ? " or %s"
                                                         : ", %s",
                              gen_media_names[k]);
      /* The offending value, shown (and made safe) as for any key. */
      oconfig_item_t one = *ci;
      one.values = &ci->values[i];
      one.values_num = 1;
      gen_config_error(org, &one, why);
      return -EINVAL;
    }
    given |= 1u << m;
  }
  *mask |= given;
  return 0;
}

/* A URL key: gen_url_problem(url, base) must be NULL; with base, trailing
 * slashes are dropped (paths are appended). The error never shows user
 * info, which may hold a password. *out is replaced. */
static int config_url(const gen_org_t *org, const oconfig_item_t *ci, bool base,
                      char **out) {
  char shown[256] = "";
  const char *why = "takes exactly one string argument";
  if (ci->values_num >= 1 && ci->values[0].type == OCONFIG_TYPE_STRING)
    gen_url_shown(ci->values[0].value.string, shown, sizeof(shown));
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_STRING)
    why = gen_url_problem(ci->values[0].value.string, base);
  if (why != NULL) {
    gen_org_log(org, NULL, LOG_ERR, "%s \"%s\": %s", ci->key, shown, why);
    return -EINVAL;
  }
  int status = gen_config_string(org, ci, out);
  if (status != 0 || !base)
    return status;
  size_t n = strlen(*out);
  while (n > 0 && (*out)[n - 1] == '/')
    (*out)[--n] = '\0';
  return 0;
}

/* ---- keys as tables ------------------------------------------------------ */

static const char *const type_names[] = {
    [GEN_CFG_BOOL] = "bool",       [GEN_CFG_INT] = "int",
    [GEN_CFG_SECONDS] = "seconds", [GEN_CFG_NUMBER] = "number",
    [GEN_CFG_STRING] = "string",   [GEN_CFG_URL] = "url",
    [GEN_CFG_BASE_URL] = "url",    [GEN_CFG_STRINGS] = "strings",
    [GEN_CFG_MEDIA] = "media",     [GEN_CFG_DURATION] = "duration",
    [GEN_CFG_ENUM] = "enum",       [GEN_CFG_LIST] = "list",
    [GEN_CFG_SECRET] = "secret",   [GEN_CFG_REFUSED] = "refused",
    [GEN_CFG_BLOCK] = "block",
};

/* The type as listed: "bool", "int", "seconds", … */
static const char *type_name(gen_config_type_t type) {
  return (size_t)type < STATIC_ARRAY_SIZE(type_names) && type_names[type]
             ? type_names[type]
             : "?";
}

const gen_config_def_t *gen_config_table_find(const gen_config_table_t *table,
                                              const char *key) {
  for (size_t i = 0; i < table->n; i++)
    if (strcasecmp(table->defs[i].key, key) == 0)
      return &table->defs[i];
  return NULL;
}

int gen_config_table_key(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_table_t *table, void *config) {
  const gen_config_def_t *def = gen_config_table_find(table, ci->key);
  if (def == NULL)
    return GEN_CONFIG_NOT_MINE;
  void *field = (char *)config + def->offset;
  if (def->parse != NULL)
    return def->parse(org, ci, def, field);
  switch (def->type) {
  case GEN_CFG_BOOL:
    return gen_config_bool(org, ci, field);
  case GEN_CFG_INT:
    return gen_config_int(org, ci, (long)def->min, (long)def->max, field);
  case GEN_CFG_SECONDS:
    return gen_config_seconds(org, ci, def->min, def->max, field);
  case GEN_CFG_STRING:
    return gen_config_string(org, ci, field);
  case GEN_CFG_URL:
  case GEN_CFG_BASE_URL:
    return config_url(org, ci, def->type == GEN_CFG_BASE_URL, field);
  case GEN_CFG_STRINGS:
    return gen_config_string_list(org, ci, field,
                                  (size_t *)((char *)config + def->count));
  case GEN_CFG_MEDIA:
    return gen_config_media(org, ci, field);
  case GEN_CFG_REFUSED:
    gen_config_error(org, ci, def->doc);
    return -EINVAL;
  default:
    gen_config_error(org, ci, "has no parser");
    return -EINVAL;
  }
}

int gen_config_parts_key(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_part_t *parts, size_t n,
                         void *config) {
  int status = GEN_CONFIG_NOT_MINE;
  for (size_t i = 0; status == GEN_CONFIG_NOT_MINE && i < n; i++)
    status = gen_config_table_key(org, ci, parts[i].table,
                                  (char *)config + parts[i].offset);
  return status;
}

void gen_config_def_line(const gen_config_def_t *def, char *buf, size_t size) {
  char bounds[64] = "-";
  if (def->values != NULL)
    snprintf(bounds, sizeof(bounds), "%s", def->values);
  else if (def->min < def->max)
    snprintf(bounds, sizeof(bounds), "%.15g..%.15g", def->min, def->max);
  /* A typed default is listed from its value: one source. */
  char dflt[32];
  if (def->dflt_set && def->type == GEN_CFG_BOOL)
    snprintf(dflt, sizeof(dflt), "%s", def->dflt != 0 ? "true" : "false");
  else if (def->dflt_set)
    snprintf(dflt, sizeof(dflt), "%.15g", def->dflt);
  else
    snprintf(dflt, sizeof(dflt), "%s", def->shown ? def->shown : "-");
  snprintf(buf, size, "%s\t%s\t%s\t%s\t%s", def->key, type_name(def->type),
           def->dflt_set || def->shown == NULL ? dflt : def->shown, bounds,
           def->doc ? def->doc : "-");
}

const char *gen_config_default_problem(const gen_config_def_t *def) {
  if (!def->dflt_set)
    return NULL;
  double v = def->dflt;
  if (def->shown != NULL)
    return "has a default both typed and in words";
  switch (def->type) {
  case GEN_CFG_BOOL:
    if (def->size != sizeof(bool))
      return "is not a bool field";
    return v == 0 || v == 1 ? NULL : "has a bool default not 0 or 1";
  case GEN_CFG_INT:
    /* The type's helper writes a long; a parser may write an int or a
     * size_t (gen_config_defaults() writes the field's width). */
    if (def->size != sizeof(long) &&
        (def->parse == NULL ||
         (def->size != sizeof(int) && def->size != sizeof(size_t))))
      return "is not a long field";
    if (!isfinite(v) || v != floor(v))
      return "has a default that is not a whole number";
    break;
  case GEN_CFG_SECONDS:
    if (def->size != sizeof(cdtime_t))
      return "is not a cdtime_t field";
    break;
  case GEN_CFG_NUMBER:
    if (def->size != sizeof(double))
      return "is not a double field";
    break;
  default:
    return "takes no typed default";
  }
  if (!isfinite(v) || (def->min < def->max && (v < def->min || v > def->max)))
    return "has a default outside its own bounds";
  return NULL;
}

static atomic_uint default_failures;

unsigned gen_config_default_failures(void) {
  return atomic_load(&default_failures);
}

/* A word of a default text as collectd's config reader takes an unquoted
 * one. */
static oconfig_value_t text_value(char *word) {
  static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {
                                                              "false", "no",
                                                              "off"};
  for (size_t i = 0; i < 3; i++)
    if (strcmp(word, yes[i]) == 0 || strcmp(word, no[i]) == 0)
      return (oconfig_value_t){.type = OCONFIG_TYPE_BOOLEAN,
                               .value.boolean = strcmp(word, yes[i]) == 0};
  char *end;
  double d = strtod(word, &end);
  bool number = (isdigit((unsigned char)word[0]) || word[0] == '-' ||
                 word[0] == '+' || word[0] == '.') &&
                *end == '\0' && isfinite(d);
  if (number)
    return (oconfig_value_t){.type = OCONFIG_TYPE_NUMBER, .value.number = d};
  return (oconfig_value_t){.type = OCONFIG_TYPE_STRING, .value.string = word};
}

/* def's default text read by the table's reader of def's key into config,
 * as a user's value: 0, or what the reader returned (logged, counted). */
static int apply_text_default(const gen_config_table_t *table,
                              const gen_config_def_t *def, void *config) {
  /* The reader logs a refusal under an org: the built-in defaults'. */
  static const gen_org_t defaults = {.plugin = "collectd-genesys",
                                     .name = "built-in default"};
  char text[256];
  oconfig_value_t values[16];
  int n = 0;
  snprintf(text, sizeof(text), "%s", def->shown);
  char *save = NULL;
  for (char *w = strtok_r(text, " ", &save); w != NULL && n < 16;
       w = strtok_r(NULL, " ", &save))
    values[n++] = text_value(w);
  oconfig_item_t ci = {
      .key = (char *)def->key, .values = values, .values_num = n};
  int status = gen_config_table_key(&defaults, &ci, table, config);
  if (status != 0) {
    atomic_fetch_add(&default_failures, 1);
    ERROR("collectd-genesys: the default \"%s\" of %s refused: a bug",
          def->shown, def->key);
  }
  return status;
}

void gen_config_defaults(const gen_config_table_t *table, void *config) {
  for (size_t i = 0; i < table->n; i++) {
    const gen_config_def_t *def = &table->defs[i];
    char *field = (char *)config + def->offset;
    if (def->text_default && def->shown != NULL) {
      apply_text_default(table, def, config);
      continue;
    }
    /* A row the unit tests would refuse is not applied: no write past a
     * field. */
    if (!def->dflt_set || gen_config_default_problem(def) != NULL)
      continue;
    if (def->type == GEN_CFG_BOOL)
      *(bool *)field = def->dflt != 0;
    else if (def->type == GEN_CFG_SECONDS)
      *(cdtime_t *)field = DOUBLE_TO_CDTIME_T(def->dflt);
    else if (def->type == GEN_CFG_NUMBER)
      *(double *)field = def->dflt;
    else if (def->size == sizeof(long))
      *(long *)field = (long)def->dflt;
    else if (def->size == sizeof(int))
      *(int *)field = (int)def->dflt;
  }
}

void gen_config_parts_defaults(const gen_config_part_t *parts, size_t n,
                               void *config) {
  for (size_t i = 0; i < n; i++)
    gen_config_defaults(parts[i].table, (char *)config + parts[i].offset);
}

/* ---- the shared <Org> keys ----------------------------------------------- */

/* ClientSecret, ClientSecretFile, ClientSecretEnv: the value itself, or
 * the secret of the file or variable the value names (from). */
static int config_secret(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_def_t *def, void *field) {
  char **out = field;
  int (*from)(const char *, char **, char *, size_t) =
      strcasecmp(def->key, "ClientSecretFile") == 0  ? gen_secret_from_file
      : strcasecmp(def->key, "ClientSecretEnv") == 0 ? gen_secret_from_env
                                                     : NULL;
  char *secret = NULL;
  char err[256];
  int status;
  if (*out != NULL) {
    gen_config_error(org, ci,
                     "a client secret is already set; give exactly one of "
                     "ClientSecret, ClientSecretFile and ClientSecretEnv");
    return -EINVAL;
  }
  if (from == NULL) {
    if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
        ci->values[0].value.string[0] == '\0') {
      gen_config_error(org, ci, "takes exactly one non-empty string argument");
      return -EINVAL;
    }
    /* collectd's configuration tree keeps its own copy (documented). */
    secret = gen_secure_strdup(ci->values[0].value.string);
    if (secret == NULL)
      return -ENOMEM;
  } else {
    char *source = NULL;
    status = gen_config_string(org, ci, &source);
    if (status != 0)
      return status;
    status = from(source, &secret, err, sizeof(err));
    free(source);
    if (status != 0) {
      gen_config_error(org, ci, err);
      return status;
    }
  }
  *out = secret;
  return gen_redact_add(secret);
}

/* Decimal digits only (no sign, space or exponent), at most 1024: sscanf's
 * %u took "4294967297" as 1. Returns the end, or NULL. */
static const char *shard_part(const char *s, unsigned *out) {
  unsigned value = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    value = value * 10 + (unsigned)(*p - '0');
    if (value > 1024)
      return NULL;
  }
  *out = value;
  return p == s ? NULL : p;
}

/* field: the org. */
static int config_shard(const gen_org_t *org, const oconfig_item_t *ci,
                        const gen_config_def_t *def, void *field) {
  gen_org_t *to = field;
  unsigned index = 0, count = 0;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
    gen_config_error(org, ci, "takes one string \"i/n\", e.g. \"1/4\"");
    return -EINVAL;
  }
  const char *p = shard_part(ci->values[0].value.string, &index);
  if (p != NULL && *p == '/')
    p = shard_part(p + 1, &count);
  else
    p = NULL;
  if (p == NULL || *p != '\0' || count < 1 || index < 1 || index > count) {
    gen_config_error(org, ci,
                     "needs \"i/n\" with whole numbers 1 <= i <= n <= 1024");
    return -ERANGE;
  }
  to->shard_index = index - 1;
  to->shard_count = count;
  return 0;
}

/* Host becomes the host of every value: valid UTF-8 without control
 * characters, or backends get names they cannot store or show. */
static int config_host(const gen_org_t *org, const oconfig_item_t *ci,
                       const gen_config_def_t *def, void *field) {
  char **out = field;
  char *host = NULL;
  int status = gen_config_string(org, ci, &host);
  if (status != 0)
    return status;
  size_t n = strlen(host);
  if (!gen_utf8_text((const unsigned char *)host, n)) {
    gen_config_error(org, ci,
                     gen_utf8_valid((const unsigned char *)host, n)
                         ? "must not contain control characters (C0, DEL "
                           "or C1 such as U+0085)"
                         : "is not valid UTF-8");
    free(host);
    return -EINVAL;
  }
  free(*out);
  *out = host;
  return 0;
}

static int config_region(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_def_t *def, void *field) {
  char **region = field;
  int status = gen_config_string(org, ci, region);
  if (status == 0 && gen_region_domain(*region) == NULL) {
    gen_config_error(org, ci,
                     "unknown region; use an SDK region name such as "
                     "\"us_east_1\" or \"eu_west_1\", or its domain such "
                     "as \"mypurecloud.ie\"");
    return -EINVAL;
  }
  return status;
}

/* MaxResponseSize and MaxRetries: whole numbers the org holds as a size_t
 * and an int. */
static int config_number(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_def_t *def, void *field) {
  long number;
  int status = gen_config_int(org, ci, (long)def->min, (long)def->max, &number);
  if (status == 0 && def->offset == offsetof(gen_org_t, max_retries))
    *(int *)field = (int)number;
  else if (status == 0)
    *(size_t *)field = (size_t)number;
  return status;
}

static int config_instance_from(const gen_org_t *org, const oconfig_item_t *ci,
                                const gen_config_def_t *def, void *field) {
  char *v = NULL;
  int status = gen_config_string(org, ci, &v);
  if (status != 0)
    return status;
  if (strcasecmp(v, "name") == 0)
    *(gen_instance_from_t *)field = GEN_INSTANCE_FROM_NAME;
  else if (strcasecmp(v, "id") == 0)
    *(gen_instance_from_t *)field = GEN_INSTANCE_FROM_ID;
  else
    status = -EINVAL;
  free(v);
  if (status != 0)
    gen_config_error(org, ci, "must be \"name\" or \"id\"");
  return status;
}

/* etcd is often reached over a private network without TLS: http is
 * allowed here (the state it carries holds no secret), not only on
 * loopback as for Genesys. */
static int config_standby_etcd(const gen_org_t *org, const oconfig_item_t *ci,
                               const gen_config_def_t *def, void *field) {
  gen_org_t *to =
      (gen_org_t *)((char *)field - offsetof(gen_org_t, standby_etcd));
  for (int i = 0; i < ci->values_num; i++) {
    const char *url = ci->values[i].type == OCONFIG_TYPE_STRING
                          ? ci->values[i].value.string
                          : NULL;
    if (url == NULL ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
      gen_config_error(org, ci, "takes http:// or https:// URLs of etcd");
      return -EINVAL;
    }
  }
  return gen_config_string_list(org, ci, &to->standby_etcd,
                                &to->standby_etcd_n);
}

#define TLS_ALWAYS                                                             \
  "TLS verification is always on; give CACert or CAPath for a private CA"

static const gen_config_def_t org_defs[] = {
    GEN_KEY_PARSE("Region", GEN_CFG_ENUM, gen_org_t, region, config_region,
                  NULL, "an SDK region name or its domain",
                  "the Genesys Cloud region (sets both base URLs)"),
    {"ApiBaseURL", GEN_CFG_BASE_URL, offsetof(gen_org_t, api_base_url),
     .shown = "from Region", .doc = "the API's base URL, instead of Region"},
    {"LoginBaseURL", GEN_CFG_BASE_URL, offsetof(gen_org_t, login_base_url),
     .shown = "from ApiBaseURL",
     .doc = "the login (token) base URL, instead of Region"},
    GEN_KEY_STRING("ClientId", gen_org_t, client_id, NULL,
                   "the OAuth client id (client credentials); required"),
    GEN_KEY_PARSE("ClientSecret", GEN_CFG_SECRET, gen_org_t, client_secret,
                  config_secret, NULL, NULL,
                  "the client secret itself (one secret source only)"),
    GEN_KEY_PARSE("ClientSecretFile", GEN_CFG_STRING, gen_org_t, client_secret,
                  config_secret, NULL, "a file of mode 0600 or 0400",
                  "the file holding the client secret (recommended)"),
    GEN_KEY_PARSE("ClientSecretEnv", GEN_CFG_STRING, gen_org_t, client_secret,
                  config_secret, NULL, NULL,
                  "the environment variable holding the client secret"),
    GEN_KEY_SECONDS("Timeout", gen_org_t, timeout, 0.1, 600, 30,
                    "longest time for one HTTP request"),
    GEN_KEY_SECONDS("ConnectTimeout", gen_org_t, connect_timeout, 0.1, 120, 10,
                    "longest time for TCP and TLS set-up"),
    {"MaxResponseSize", GEN_CFG_INT, offsetof(gen_org_t, max_response_size),
     .min = 4096, .max = 1024.0 * 1024 * 1024,
     GEN_DEFAULT(gen_org_t, max_response_size, 67108864),
     .doc = "answers larger than this many bytes are refused",
     .parse = config_number},
    {"MaxRetries", GEN_CFG_INT, offsetof(gen_org_t, max_retries), .min = 0,
     .max = 10, GEN_DEFAULT(gen_org_t, max_retries, 3),
     .doc = "retries of 429, 502, 503, 504 and transport errors a request",
     .parse = config_number},
    GEN_KEY_SECONDS("RetryAfterMax", gen_org_t, retry_after_cap, 1, 600, 60,
                    "a longer Retry-After fails the request at once"),
    GEN_KEY_SECONDS("NotificationWindow", gen_org_t, notice_window, 0, 86400,
                    600,
                    "at most 2 notifications a subject within this (0: no "
                    "limit)"),
    GEN_KEY_INT("NotificationsPerMinute", gen_org_t, notices_per_minute, 0,
                100000, 60,
                "at most this many notifications of the org a minute (0: no "
                "limit)"),
    GEN_KEY_STRING("Proxy", gen_org_t, proxy, "libcurl's environment",
                   "the HTTP(S) proxy, as libcurl takes it"),
    GEN_KEY_STRING("CACert", gen_org_t, ca_file, "the system's",
                   "a CA certificate file for a private CA"),
    GEN_KEY_STRING("CAPath", gen_org_t, ca_path, "the system's",
                   "a directory of CA certificates for a private CA"),
    GEN_KEY_STRING("ClientCert", gen_org_t, client_cert, NULL,
                   "a TLS client certificate (with ClientKey)"),
    GEN_KEY_STRING("ClientKey", gen_org_t, client_key, NULL,
                   "the TLS client certificate's key (with ClientCert)"),
    GEN_KEY_PARSE("Host", GEN_CFG_STRING, gen_org_t, host, config_host,
                  "collectd's host name", "UTF-8 without control characters",
                  "the collectd host of every value of this org"),
    GEN_KEY_PARSE_TEXT(
        "InstanceFrom", GEN_CFG_ENUM, gen_org_t, instance_from,
        config_instance_from, "name", "name or id",
        "entities in plugin_instance by sanitised name or by id"),
    {"Shard", GEN_CFG_STRING, 0, .shown = "1/1",
     .values = "i/n, 1 <= i <= n <= 1024",
     .doc = "this agent collects the i-th of n shares of the entities",
     .parse = config_shard},
    {"MaxSeries", GEN_CFG_INT, offsetof(gen_org_t, max_series), .min = 0,
     .max = 100000000, GEN_DEFAULT(gen_org_t, max_series, 0),
     .doc = "series of this plugin and org past which new ones are refused; "
            "0: no limit",
     .parse = config_number},
    GEN_KEY_PARSE("StandbyEtcd", GEN_CFG_STRINGS, gen_org_t, standby_etcd,
                  config_standby_etcd, "none: no standby",
                  "http:// or https:// URLs of etcd's client port",
                  "etcd's client URLs: an agent holds the org's shard, another "
                  "waits"),
    GEN_KEY_SECONDS("StandbyTTL", gen_org_t, standby_ttl, 3, 60, 10,
                    "the lease: a dead holder's shard is taken after this"),
    GEN_KEY_STRING("StandbyName", gen_org_t, standby_name,
                   "collectd's host name", "this agent's name in etcd"),
    GEN_KEY_STRING("StandbyPrefix", gen_org_t, standby_prefix,
                   "/collectd-genesys", "the prefix of every key in etcd"),
    GEN_KEY_SECONDS("StandbySyncInterval", gen_org_t, standby_sync, 0, 3600, 30,
                    "the state is copied to etcd at most this often (0: at "
                    "every read that changed it)"),
    {"StandbyPieceSize", GEN_CFG_INT, offsetof(gen_org_t, standby_piece),
     .min = 1024, .max = 1024 * 1024,
     GEN_DEFAULT(gen_org_t, standby_piece, 524288),
     .doc = "the bytes of one piece of a state file in etcd (4/3 of it, in "
            "base64, within etcd's --max-request-bytes)",
     .parse = config_number},
    GEN_KEY_STRING("StandbyCACert", gen_org_t, standby_ca, "the system's",
                   "a CA certificate file for etcd's https:// URLs"),
    GEN_KEY_STRING("StandbyClientCert", gen_org_t, standby_cert, NULL,
                   "a TLS client certificate for etcd (with StandbyClientKey)"),
    GEN_KEY_STRING("StandbyClientKey", gen_org_t, standby_key, NULL,
                   "the key of StandbyClientCert"),
    {"VerifyPeer", GEN_CFG_REFUSED, 0, .doc = TLS_ALWAYS},
    {"VerifyHost", GEN_CFG_REFUSED, 0, .doc = TLS_ALWAYS},
};

const gen_config_table_t gen_org_keys = GEN_CONFIG_TABLE(org_defs);

int gen_org_config_finish(gen_org_t *org) {
  const char *domain = gen_region_domain(org->region);
  if (org->region != NULL && org->api_base_url == NULL &&
      asprintf(&org->api_base_url, "https://api.%s", domain) < 0)
    org->api_base_url = NULL;
  if (org->region != NULL && org->login_base_url == NULL &&
      asprintf(&org->login_base_url, "https://login.%s", domain) < 0)
    org->login_base_url = NULL;
  /* As the SDKs do: the login host is the API host with api. → login. */
  const char *api =
      org->api_base_url != NULL ? strstr(org->api_base_url, "//api.") : NULL;
  if (api != NULL && org->login_base_url == NULL &&
      asprintf(&org->login_base_url, "%.*s//login.%s",
               (int)(api - org->api_base_url), org->api_base_url, api + 6) < 0)
    org->login_base_url = NULL;
  const char *why = org->api_base_url == NULL || org->login_base_url == NULL
                        ? "give Region, or ApiBaseURL and LoginBaseURL"
                    : org->client_id == NULL ? "ClientId is required"
                    : org->client_secret == NULL
                        ? "a client secret is required: give ClientSecretFile "
                          "(recommended), ClientSecretEnv or ClientSecret"
                    : (org->client_cert == NULL) != (org->client_key == NULL)
                        ? "ClientCert and ClientKey go together"
                    : (org->standby_cert == NULL) != (org->standby_key == NULL)
                        ? "StandbyClientCert and StandbyClientKey go together"
                        : NULL;
  if (why != NULL) {
    gen_org_log(org, NULL, LOG_ERR, "%s", why);
    return -EINVAL;
  }
  return 0;
}

uint64_t gen_hash_id(const char *id) {
  /* FNV-1a 64: stable across agents, versions and architectures. */
  return gen_hash_fnv1a64(id);
}

bool gen_org_owns(const gen_org_t *org, const char *entity_id) {
  if (org->shard_count <= 1)
    return true;
  return gen_hash_id(entity_id) % org->shard_count == org->shard_index;
}

/* Only these hosts may be reached over plain http: all of 127.0.0.0/8, ::1
 * and "localhost" (host as libcurl parsed it, IPv6 in brackets). */
static bool host_is_loopback(const char *host) {
  unsigned char addr[16];
  if (strcasecmp(host, "localhost") == 0)
    return true;
  if (inet_pton(AF_INET, host, addr) == 1)
    return addr[0] == 127;
  size_t len = strlen(host);
  if (len < 3 || host[0] != '[' || host[len - 1] != ']' || len > 64)
    return false;
  char inner[64];
  memcpy(inner, host + 1, len - 2);
  inner[len - 2] = '\0';
  return inet_pton(AF_INET6, inner, addr) == 1 &&
         memcmp(addr, &in6addr_loopback, sizeof(addr)) == 0;
}

const char *gen_url_problem(const char *url, bool base) {
  if (url == NULL)
    return "no URL";
  /* The authority as written: what a reader of the configuration sees as the
   * host must be what libcurl connects to, so nothing in it may change how
   * it splits (user info, escapes, backslashes). */
  const char *sep = strstr(url, "://");
  if (sep == NULL)
    return "must be an https:// URL (http:// is accepted only for a loopback "
           "host, for tests)";
  const char *authority = sep + 3;
  size_t alen = strcspn(authority, "/?#");
  if (alen == 0)
    return "has no host"; /* libcurl would take one from the path */
  if (memchr(authority, '@', alen) != NULL)
    return "user info (\"user:password@\") is not accepted in the URL; the "
           "host would not be the one it seems";
  if (memchr(authority, '%', alen) != NULL ||
      memchr(authority, '\\', alen) != NULL)
    return "the host must be written plainly (no percent-escapes or "
           "backslashes)";

  const char *why = NULL;
  char *scheme = NULL, *host = NULL, *part = NULL;
  CURLU *h = curl_url();
  if (h == NULL)
    return "out of memory";
  if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK)
    why = "is not a well-formed URL";
  else if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
           (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0))
    why = "must be an https:// URL (http:// is accepted only for a loopback "
          "host, for tests)";
  else if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
           host[0] == '\0')
    why = "has no host";
  else if (curl_url_get(h, CURLUPART_USER, &part, 0) == CURLUE_OK ||
           curl_url_get(h, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK ||
           curl_url_get(h, CURLUPART_OPTIONS, &part, 0) == CURLUE_OK)
    why = "user info (\"user:password@\") is not accepted in the URL; the "
          "host would not be the one it seems";
  else if (curl_url_get(h, CURLUPART_ZONEID, &part, 0) == CURLUE_OK)
    why = "an IPv6 zone id is not accepted";
  else if (base && (curl_url_get(h, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
                    curl_url_get(h, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK))
    why = "a base URL takes no query or fragment (paths are appended to it)";
  else if (strcmp(scheme, "http") == 0 && !host_is_loopback(host))
    why = "must be an https:// URL (plain http:// is accepted only for a "
          "loopback host: 127.0.0.0/8, [::1], localhost; for tests)";
  curl_free(scheme);
  curl_free(host);
  curl_free(part);
  curl_url_cleanup(h);
  return why;
}

bool gen_url_allowed(const char *url) {
  return gen_url_problem(url, false) == NULL;
}

void gen_url_shown(const char *url, char *buf, size_t size) {
  const char *at = url ? strrchr(url, '@') : NULL;
  if (at == NULL) {
    snprintf(buf, size, "%s", url ? url : "");
    return;
  }
  /* Whatever precedes the last '@' may be a password: keep only the
   * scheme. */
  const char *sep = strstr(url, "://");
  int keep = (sep != NULL && sep < at) ? (int)(sep + 3 - url) : 0;
  snprintf(buf, size, "%.*s" GEN_REDACTED "%s", keep, url, at);
}

/* ---- libcurl policy ------------------------------------------------------ */

void (*gen_curl_policy_seen)(gen_curl_t *, int, long, const char *) = NULL;

static CURLcode policy_long(CURL *h, CURLoption option, long value) {
  if (gen_curl_policy_seen != NULL)
    gen_curl_policy_seen(h, (int)option, value, NULL);
  return curl_easy_setopt(h, option, value);
}

/* An empty or absent string leaves libcurl's default. */
static CURLcode policy_text(CURL *h, CURLoption option, const char *value) {
  if (value == NULL || value[0] == '\0')
    return CURLE_OK;
  if (gen_curl_policy_seen != NULL)
    gen_curl_policy_seen(h, (int)option, 0, value);
  return curl_easy_setopt(h, option, value);
}

/* Loopback hosts, as libcurl's no-proxy list spells them (CIDR since
 * 7.86.0). */
#if LIBCURL_VERSION_NUM >= 0x075600
#define GEN_NOPROXY_LOOPBACK "localhost,127.0.0.0/8,::1"
#else
#define GEN_NOPROXY_LOOPBACK "localhost,127.0.0.1,::1"
#endif

/* Plain http reaches only loopback hosts (gen_url_problem), and no proxy may
 * carry it: the Basic client credentials and the Bearer tokens would cross
 * the network in clear. So loopback never goes through a proxy, neither
 * Proxy nor the environment's (http_proxy, ALL_PROXY); for other hosts the
 * environment's no_proxy still applies (CURLOPT_NOPROXY replaces it, so it
 * is kept in the list). A malloc'd list, NULL when out of memory. */
static char *noproxy_list(void) {
  const char *env = getenv("no_proxy");
  if (env == NULL || env[0] == '\0')
    env = getenv("NO_PROXY");
  if (env != NULL && strcmp(env, "*") == 0)
    return strdup("*"); /* no proxy for any host: only alone */
  if (env == NULL || env[0] == '\0')
    return strdup(GEN_NOPROXY_LOOPBACK);
  size_t size = sizeof(GEN_NOPROXY_LOOPBACK) + 1 + strlen(env);
  char *list = malloc(size);
  if (list != NULL)
    snprintf(list, size, "%s,%s", GEN_NOPROXY_LOOPBACK, env);
  return list;
}

int gen_curl_policy(gen_curl_t *curl, const gen_org_t *org, char *err,
                    size_t err_size) {
  CURL *h = curl;
  CURLcode rc = policy_long(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  if (rc == CURLE_OK)
    rc = policy_text(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  if (rc == CURLE_OK)
    rc = policy_long(h, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  if (rc == CURLE_OK)
    rc = policy_long(h, CURLOPT_FOLLOWLOCATION, 0L);
  if (rc == CURLE_OK)
    rc = policy_long(h, CURLOPT_SSL_VERIFYPEER, 1L);
  if (rc == CURLE_OK)
    rc = policy_long(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (rc == CURLE_OK)
    rc = policy_long(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  /* A half-open connection (a NAT that forgot it) is found in minutes, not
   * at the next request's timeout. */
  if (rc == CURLE_OK)
    rc = policy_long(h, CURLOPT_TCP_KEEPALIVE, 1L);
  if (rc == CURLE_OK) {
    char *noproxy = noproxy_list();
    rc = noproxy != NULL ? policy_text(h, CURLOPT_NOPROXY, noproxy)
                         : CURLE_OUT_OF_MEMORY;
    free(noproxy); /* libcurl keeps its own copy */
  }
  if (rc == CURLE_OK && org != NULL) {
    rc = policy_text(h, CURLOPT_PROXY, org->proxy);
    if (rc == CURLE_OK)
      rc = policy_text(h, CURLOPT_CAINFO, org->ca_file);
    if (rc == CURLE_OK)
      rc = policy_text(h, CURLOPT_CAPATH, org->ca_path);
    if (rc == CURLE_OK)
      rc = policy_text(h, CURLOPT_SSLCERT, org->client_cert);
    if (rc == CURLE_OK)
      rc = policy_text(h, CURLOPT_SSLKEY, org->client_key);
  }
  if (rc == CURLE_OK)
    return 0;
  snprintf(err, err_size, "%s", curl_easy_strerror(rc));
  return -EINVAL;
}

void gen_org_log(const gen_org_t *org, gen_ratelimit_t *rl, int level,
                 const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  gen_vlog_org(&(gen_log_org_t){org->plugin, org->name}, rl, level, format, ap);
  va_end(ap);
}
