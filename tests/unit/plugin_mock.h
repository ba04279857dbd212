/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a mock of the collectd plugin API for unit tests.
 *
 * It records every dispatched value list and every log line so that a test
 * can assert on them, and lets a test set the clock.
 */
#ifndef PLUGIN_MOCK_H
#define PLUGIN_MOCK_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "gen_config.h"

#include <stdbool.h>

typedef struct {
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  value_t value; /* first value */
  size_t values_len;
  cdtime_t time;     /* as collectd keeps it (0 sent: now) */
  cdtime_t interval; /* as collectd keeps it (0 sent: plugin_get_interval) */
  cdtime_t sent_time, sent_interval; /* as dispatched */
} mock_value_t;

extern mock_value_t *mock_values;
extern size_t mock_values_num;

/* Finds the last dispatched value with these identity fields (NULL = any). */
mock_value_t *mock_find(const char *plugin_instance, const char *type,
                        const char *type_instance);
void mock_values_reset(void);

/* A collector of the values a module puts (gen_put_t): the first 128 as
 * "type/type_instance", with value and derive; n counts every one. */
#define MOCK_PUTS_MAX 128
typedef struct {
  char key[MOCK_PUTS_MAX][64];
  double value[MOCK_PUTS_MAX];
  bool derive[MOCK_PUTS_MAX];
  int n;
} mock_puts_t;
void mock_put(void *ud, const char *type, const char *type_instance,
              double value, bool derive);
/* mock_put() of a gauge of a group (a division, team, management unit),
 * keyed "instance/type/type_instance". */
void mock_put_group(void *ud, const char *instance, const char *type,
                    const char *type_instance, double value);
/* The value put under key ("type/type_instance"), or -1. */
double mock_puts_value(const mock_puts_t *p, const char *key);

/* Notifications dispatched (plugin_dispatch_notification), in order. */
typedef struct {
  int severity;
  cdtime_t time;
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  char message[NOTIF_MAX_MSG_LEN];
} mock_notif_t;
extern mock_notif_t *mock_notifs;
extern size_t mock_notifs_num;
void mock_notifs_reset(void);
/* How many notifications have this severity and these fields (NULL: any;
 * "" for a field left empty). */
size_t mock_notifs_count(int severity, const char *plugin_instance,
                         const char *type, const char *type_instance);

/* Write callbacks registered (plugin_register_write). */
size_t mock_writers_count(void);

/* Log lines, each formatted as "<level> <message>". */
extern char **mock_log_lines;
extern size_t mock_log_num;
void mock_log_reset(void);
/* True when any log line contains needle. */
bool mock_log_contains(const char *needle);
/* How many log lines contain needle. */
size_t mock_log_count(const char *needle);
/* How many log lines say that word of field is one this version does not
 * know (gen_stats_unknown). */
size_t mock_unknown_lines(const char *field, const char *word);
/* The self-metric unknown_values of "<family>-<field>" dispatched, -1 when
 * none was. */
int64_t mock_unknown_values(const char *family_field);
/* status, when some log line contains needle (NULL: whatever was logged);
 * else 1, saying which line is missing. */
int mock_logged(int status, const char *needle);
/* Prints log lines as they come when true (default: true). */
extern bool mock_log_echo;

/* Mock clock: cdtime() returns this when non-zero. */
extern _Atomic cdtime_t mock_time; /* threads read it through cdtime() */

/* Registered callbacks, for plugin tests. */
typedef struct {
  char *name;
  int (*callback)(user_data_t *);
  cdtime_t interval;
  user_data_t ud;
} mock_read_t;
extern mock_read_t *mock_reads;
extern size_t mock_reads_num;
extern int (*mock_config_cb)(oconfig_item_t *);
extern int (*mock_init_cb)(void);
extern int (*mock_shutdown_cb)(void);
/* Frees the user data of every registered read and forgets them. */
void mock_reads_reset(void);

/* Builds oconfig trees for tests. */
oconfig_item_t *mock_ci(const char *key, int children_num, ...);
oconfig_item_t *mock_ci_str(const char *key, const char *value);
/* An item with n string values (n >= 1). */
oconfig_item_t *mock_ci_strs(const char *key, int n, const char *const *values);
oconfig_item_t *mock_ci_num(const char *key, double value);
/* A key with n number arguments ("WaitBuckets 5 10 20"). */
oconfig_item_t *mock_ci_nums(const char *key, int n, const double *values);
oconfig_item_t *mock_ci_bool(const char *key, bool value);
void mock_ci_free(oconfig_item_t *ci);

/* Makes a fresh directory from a mkdtemp() template such as
 * "/tmp/gen-name-XXXXXX" (filled in place); the template, NULL on failure. */
char *mock_tempdir(char *path_template);
/* Removes a directory tree, links not followed; 0, or -1 with errno. */
int mock_rmtree(const char *path);

/* The org "acme" of the plugin tests: host "acme", loopback URLs nothing
 * listens on and test credentials, nothing plugin-specific. */
static inline gen_org_t *mock_org(const char *plugin) {
  gen_org_t *org = gen_org_create(plugin, "acme");
  org->host = strdup("acme");
  org->api_base_url = strdup("https://127.0.0.1:9"); /* refused at once */
  org->login_base_url = strdup("https://127.0.0.1:9");
  org->client_id = strdup("id");
  org->client_secret = strdup("secret-for-tests");
  /* No API answers here: a request that reaches the network (the token
   * behind api_up in a read) fails at once instead of sleeping through
   * the retries (seconds each; test_realtime took two minutes). */
  org->max_retries = 0;
  return org;
}

/* True when the mapping holding p is left out of core dumps ("dd" in its
 * VmFlags in /proc/self/smaps). */
bool mock_excluded_from_dumps(const void *p);

#endif /* PLUGIN_MOCK_H */
