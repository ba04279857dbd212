/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a mock of the collectd plugin API for unit tests.
 */
#include "plugin_mock.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

char *hostname_g = "example.com";

mock_value_t *mock_values;
size_t mock_values_num;
char **mock_log_lines;
size_t mock_log_num;
bool mock_log_echo = true;
_Atomic cdtime_t mock_time;
mock_read_t *mock_reads;
size_t mock_reads_num;
int (*mock_config_cb)(oconfig_item_t *);
int (*mock_init_cb)(void);
int (*mock_shutdown_cb)(void);

static pthread_mutex_t mock_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t mock_log_cap, mock_values_cap;

/* Room for one more element, doubling: tests dispatch 100,000s of values,
 * and growing by one is quadratic (hours under ASan, whose realloc always
 * copies). Answers the array, the old one if realloc failed; there is room
 * when num < *cap afterwards. */
static void *mock_grow(void *array, size_t *cap, size_t num, size_t size) {
  if (num < *cap)
    return array;
  size_t want = *cap ? 2 * *cap : 64;
  void *grown = realloc(array, want * size);
  if (grown == NULL)
    return array;
  *cap = want;
  return grown;
}
#define mock_room(array, cap, num)                                             \
  ((array) = mock_grow((array), (cap), (num), sizeof(*(array))), (num) < *(cap))

cdtime_t cdtime(void) {
  cdtime_t t = mock_time;
  if (t != 0)
    return t;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

/* Each thread starts in a context with a 10 s interval; a test sets a zero
 * one to play a thread without a context (libmicrohttpd's, a bare
 * pthread_create), where collectd's plugin_get_interval() complains. */
static __thread plugin_ctx_t mock_ctx = {.interval = TIME_T_TO_CDTIME_T(10)};

plugin_ctx_t plugin_get_ctx(void) { return mock_ctx; }

plugin_ctx_t plugin_set_ctx(plugin_ctx_t ctx) {
  plugin_ctx_t old = mock_ctx;
  mock_ctx = ctx;
  return old;
}

cdtime_t plugin_get_interval(void) {
  if (mock_ctx.interval > 0)
    return mock_ctx.interval;
  plugin_log(LOG_ERR, "plugin_get_interval: Unable to determine Interval from "
                      "context.");
  return TIME_T_TO_CDTIME_T(10);
}

void plugin_log(int level, const char *format, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  char *line = NULL;
  if (asprintf(&line, "%d %s", level, msg) < 0)
    return;
  pthread_mutex_lock(&mock_lock);
  if (mock_room(mock_log_lines, &mock_log_cap, mock_log_num)) {
    mock_log_lines[mock_log_num++] = line;
    line = NULL;
  }
  pthread_mutex_unlock(&mock_lock);
  if (mock_log_echo)
    printf("# log: %d %s\n", level, msg);
  free(line);
}

void daemon_log(int level, const char *format, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  plugin_log(level, "%s", msg);
}

void mock_log_reset(void) {
  pthread_mutex_lock(&mock_lock);
  for (size_t i = 0; i < mock_log_num; i++)
    free(mock_log_lines[i]);
  free(mock_log_lines);
  mock_log_lines = NULL;
  mock_log_num = 0;
  mock_log_cap = 0;
  pthread_mutex_unlock(&mock_lock);
}

void mock_put(void *ud, const char *type, const char *type_instance,
              double value, bool derive) {
  mock_puts_t *p = ud;
  if (p->n < MOCK_PUTS_MAX) {
    snprintf(p->key[p->n], sizeof(p->key[0]), "%s/%s", type, type_instance);
    p->value[p->n] = value;
    p->derive[p->n] = derive;
  }
  p->n++;
}

void mock_put_group(void *ud, const char *instance, const char *type,
                    const char *type_instance, double value) {
  char name[256];
  snprintf(name, sizeof(name), "%s/%s", instance, type);
  mock_put(ud, name, type_instance, value, false);
}

double mock_puts_value(const mock_puts_t *p, const char *key) {
  for (int i = 0; i < p->n && i < MOCK_PUTS_MAX; i++)
    if (strcmp(p->key[i], key) == 0)
      return p->value[i];
  return -1;
}

bool mock_log_contains(const char *needle) {
  return mock_log_count(needle) > 0;
}

size_t mock_log_count(const char *needle) {
  size_t n = 0;
  pthread_mutex_lock(&mock_lock);
  for (size_t i = 0; i < mock_log_num; i++)
    n += strstr(mock_log_lines[i], needle) != NULL;
  pthread_mutex_unlock(&mock_lock);
  return n;
}

int64_t mock_unknown_values(const char *family_field) {
  mock_value_t *v = mock_find("self", "unknown_values", family_field);
  return v != NULL ? (int64_t)v->value.derive : -1;
}

size_t mock_unknown_lines(const char *field, const char *word) {
  char want[256];
  snprintf(want, sizeof(want), "%s \"%s\" is not a value this version knows",
           field, word);
  return mock_log_count(want);
}

int mock_logged(int status, const char *needle) {
  if (needle == NULL || mock_log_contains(needle))
    return status;
  printf("not ok - no log line contains \"%s\"\n", needle);
  return 1;
}

/* Write callbacks run on the dispatching thread after the value was
 * recorded, as collectd's write threads run them after its cache. */
#define MOCK_WRITERS 4
static plugin_write_cb mock_writers[MOCK_WRITERS];
static size_t mock_writers_num;

size_t mock_writers_count(void) { return mock_writers_num; }

int plugin_dispatch_values(value_list_t const *vl) {
  if (vl == NULL || vl->values_len == 0 || vl->values == NULL)
    return EINVAL;
  /* What collectd's plugin_value_list_clone() fills in (and logs). */
  cdtime_t time = vl->time != 0 ? vl->time : cdtime();
  cdtime_t interval = vl->interval != 0 ? vl->interval : plugin_get_interval();
  pthread_mutex_lock(&mock_lock);
  if (!mock_room(mock_values, &mock_values_cap, mock_values_num)) {
    pthread_mutex_unlock(&mock_lock);
    return ENOMEM;
  }
  mock_value_t *v = &mock_values[mock_values_num++];
  memset(v, 0, sizeof(*v));
  sstrncpy(v->host, vl->host[0] ? vl->host : hostname_g, sizeof(v->host));
  sstrncpy(v->plugin, vl->plugin, sizeof(v->plugin));
  sstrncpy(v->plugin_instance, vl->plugin_instance, sizeof(v->plugin_instance));
  sstrncpy(v->type, vl->type, sizeof(v->type));
  sstrncpy(v->type_instance, vl->type_instance, sizeof(v->type_instance));
  v->value = vl->values[0];
  v->values_len = vl->values_len;
  v->sent_time = vl->time;
  v->sent_interval = vl->interval;
  v->time = time;
  v->interval = interval;
  size_t writers = mock_writers_num;
  value_list_t written = *vl;
  if (written.host[0] == '\0')
    sstrncpy(written.host, hostname_g, sizeof(written.host));
  written.time = time;
  written.interval = interval;
  pthread_mutex_unlock(&mock_lock);
  for (size_t i = 0; i < writers; i++)
    mock_writers[i](NULL, &written, NULL);
  return 0;
}

mock_notif_t *mock_notifs;
size_t mock_notifs_num;
static size_t mock_notifs_cap;

int plugin_dispatch_notification(const notification_t *notif) {
  if (notif == NULL)
    return EINVAL;
  pthread_mutex_lock(&mock_lock);
  if (!mock_room(mock_notifs, &mock_notifs_cap, mock_notifs_num)) {
    pthread_mutex_unlock(&mock_lock);
    return ENOMEM;
  }
  mock_notif_t *n = &mock_notifs[mock_notifs_num++];
  *n = (mock_notif_t){.severity = notif->severity, .time = notif->time};
  sstrncpy(n->host, notif->host, sizeof(n->host));
  sstrncpy(n->plugin, notif->plugin, sizeof(n->plugin));
  sstrncpy(n->plugin_instance, notif->plugin_instance,
           sizeof(n->plugin_instance));
  sstrncpy(n->type, notif->type, sizeof(n->type));
  sstrncpy(n->type_instance, notif->type_instance, sizeof(n->type_instance));
  sstrncpy(n->message, notif->message, sizeof(n->message));
  pthread_mutex_unlock(&mock_lock);
  if (mock_log_echo)
    printf("# notification: %d %s/%s/%s-%s: %s\n", notif->severity,
           notif->plugin, notif->plugin_instance, notif->type,
           notif->type_instance, notif->message);
  return 0;
}

void mock_notifs_reset(void) {
  pthread_mutex_lock(&mock_lock);
  free(mock_notifs);
  mock_notifs = NULL;
  mock_notifs_num = 0;
  mock_notifs_cap = 0;
  pthread_mutex_unlock(&mock_lock);
}

static bool field_is(const char *want, const char *have) {
  return want == NULL || strcmp(want, have) == 0;
}

size_t mock_notifs_count(int severity, const char *plugin_instance,
                         const char *type, const char *type_instance) {
  size_t n = 0;
  pthread_mutex_lock(&mock_lock);
  for (size_t i = 0; i < mock_notifs_num; i++) {
    const mock_notif_t *m = &mock_notifs[i];
    n += m->severity == severity &&
         field_is(plugin_instance, m->plugin_instance) &&
         field_is(type, m->type) && field_is(type_instance, m->type_instance);
  }
  pthread_mutex_unlock(&mock_lock);
  return n;
}

mock_value_t *mock_find(const char *plugin_instance, const char *type,
                        const char *type_instance) {
  for (size_t i = mock_values_num; i > 0; i--) {
    mock_value_t *v = &mock_values[i - 1];
    if (plugin_instance && strcmp(v->plugin_instance, plugin_instance) != 0)
      continue;
    if (type && strcmp(v->type, type) != 0)
      continue;
    if (type_instance && strcmp(v->type_instance, type_instance) != 0)
      continue;
    return v;
  }
  return NULL;
}

void mock_values_reset(void) {
  free(mock_values);
  mock_values = NULL;
  mock_values_num = 0;
  mock_values_cap = 0;
}

char *sstrncpy(char *dest, const char *src, size_t n) {
  if (n == 0)
    return dest;
  strncpy(dest, src, n);
  dest[n - 1] = '\0';
  return dest;
}

int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *)) {
  mock_config_cb = callback;
  return 0;
}

int plugin_register_init(const char *name, plugin_init_cb callback) {
  mock_init_cb = callback;
  return 0;
}

int plugin_register_write(const char *name, plugin_write_cb callback,
                          user_data_t const *user_data) {
  (void)user_data;
  if (mock_writers_num == MOCK_WRITERS)
    return ENOMEM;
  mock_writers[mock_writers_num++] = callback;
  return 0;
}

int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback) {
  mock_shutdown_cb = callback;
  return 0;
}

int plugin_register_complex_read(const char *group, const char *name,
                                 plugin_read_cb callback, cdtime_t interval,
                                 user_data_t const *user_data) {
  mock_read_t *grown =
      realloc(mock_reads, (mock_reads_num + 1) * sizeof(*grown));
  if (grown == NULL)
    return ENOMEM;
  mock_reads = grown;
  mock_reads[mock_reads_num++] = (mock_read_t){
      .name = strdup(name),
      .callback = callback,
      .interval = interval,
      .ud = user_data ? *user_data : (user_data_t){0},
  };
  return 0;
}

void mock_reads_reset(void) {
  for (size_t i = 0; i < mock_reads_num; i++) {
    if (mock_reads[i].ud.free_func)
      mock_reads[i].ud.free_func(mock_reads[i].ud.data);
    free(mock_reads[i].name);
  }
  free(mock_reads);
  mock_reads = NULL;
  mock_reads_num = 0;
}

int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name) {
  return pthread_create(thread, NULL, start_routine, arg);
}

/* ---- oconfig builders ---------------------------------------------------- */

/* An item with one value of the given type. */
static oconfig_item_t *ci_new(const char *key, int type, oconfig_value_t v) {
  oconfig_item_t *ci = calloc(1, sizeof(*ci));
  ci->key = strdup(key);
  if (type < 0)
    return ci;
  ci->values = calloc(1, sizeof(*ci->values));
  ci->values_num = 1;
  ci->values[0] = v;
  ci->values[0].type = type;
  return ci;
}

oconfig_item_t *mock_ci_str(const char *key, const char *value) {
  return ci_new(key, OCONFIG_TYPE_STRING,
                (oconfig_value_t){.value.string = strdup(value)});
}

oconfig_item_t *mock_ci_strs(const char *key, int n,
                             const char *const *values) {
  oconfig_item_t *ci = mock_ci_str(key, values[0]);
  ci->values = realloc(ci->values, (size_t)n * sizeof(*ci->values));
  for (int i = 1; i < n; i++)
    ci->values[i] = (oconfig_value_t){.type = OCONFIG_TYPE_STRING,
                                      .value.string = strdup(values[i])};
  ci->values_num = n;
  return ci;
}

oconfig_item_t *mock_ci_num(const char *key, double value) {
  return ci_new(key, OCONFIG_TYPE_NUMBER,
                (oconfig_value_t){.value.number = value});
}

oconfig_item_t *mock_ci_nums(const char *key, int n, const double *values) {
  oconfig_item_t *ci = mock_ci(key, 0);
  ci->values = calloc((size_t)n, sizeof(oconfig_value_t));
  ci->values_num = n;
  for (int i = 0; i < n; i++)
    ci->values[i] = (oconfig_value_t){.type = OCONFIG_TYPE_NUMBER,
                                      .value.number = values[i]};
  return ci;
}

oconfig_item_t *mock_ci_bool(const char *key, bool value) {
  return ci_new(key, OCONFIG_TYPE_BOOLEAN,
                (oconfig_value_t){.value.boolean = value});
}

/* mock_ci("Org", 2, mock_ci_str("ClientId", "x"), …): a block whose first
 * argument (if key has the form "Key=arg") is a string. The children are
 * copied by value and their shells freed. */
oconfig_item_t *mock_ci(const char *key, int children_num, ...) {
  const char *eq = strchr(key, '=');
  oconfig_item_t *ci;
  if (eq != NULL) {
    char *name = strndup(key, (size_t)(eq - key));
    ci = mock_ci_str(name, eq + 1);
    free(name);
  } else {
    ci = ci_new(key, -1, (oconfig_value_t){0});
  }
  ci->children = calloc((size_t)children_num + 1, sizeof(*ci->children));
  ci->children_num = children_num;
  va_list ap;
  va_start(ap, children_num);
  for (int i = 0; i < children_num; i++) {
    oconfig_item_t *child = va_arg(ap, oconfig_item_t *);
    ci->children[i] = *child;
    ci->children[i].parent = ci;
    for (int j = 0; j < child->children_num; j++)
      child->children[j].parent = &ci->children[i];
    free(child);
  }
  va_end(ap);
  return ci;
}

static void ci_free_contents(oconfig_item_t *ci) {
  free(ci->key);
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type == OCONFIG_TYPE_STRING)
      free(ci->values[i].value.string);
  free(ci->values);
  for (int i = 0; i < ci->children_num; i++)
    ci_free_contents(&ci->children[i]);
  free(ci->children);
}

void mock_ci_free(oconfig_item_t *ci) {
  if (ci == NULL)
    return;
  ci_free_contents(ci);
  free(ci);
}

/* collectd's liboconfig, as the daemon exports it (gen_plugin keeps a
 * standby's <Org> block). */
void oconfig_free(oconfig_item_t *ci) { mock_ci_free(ci); }

static void ci_copy(oconfig_item_t *to, const oconfig_item_t *from) {
  *to = (oconfig_item_t){.key = strdup(from->key),
                         .values_num = from->values_num,
                         .children_num = from->children_num};
  to->values = calloc((size_t)from->values_num + 1, sizeof(*to->values));
  for (int i = 0; i < from->values_num; i++) {
    to->values[i] = from->values[i];
    if (from->values[i].type == OCONFIG_TYPE_STRING)
      to->values[i].value.string = strdup(from->values[i].value.string);
  }
  to->children = calloc((size_t)from->children_num + 1, sizeof(*to->children));
  for (int i = 0; i < from->children_num; i++) {
    ci_copy(&to->children[i], &from->children[i]);
    to->children[i].parent = to;
  }
}

oconfig_item_t *oconfig_clone(const oconfig_item_t *ci) {
  oconfig_item_t *copy = calloc(1, sizeof(*copy));
  ci_copy(copy, ci);
  return copy;
}

const char *global_option_get(const char *option) {
  if (strcasecmp(option, "BaseDir") == 0)
    return "/tmp/collectd-genesys-test";
  return NULL;
}

char *mock_tempdir(char *path_template) {
  char *dir = mkdtemp(path_template);
  if (dir == NULL)
    fprintf(stderr, "mkdtemp %s: %s\n", path_template, strerror(errno));
  return dir;
}

static int rmtree_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int mock_rmtree(const char *path) {
  /* Depth first so that a directory is empty when its turn comes. */
  int status = nftw(path, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (status != 0)
    fprintf(stderr, "removing %s: %s\n", path, strerror(errno));
  return status;
}

bool mock_excluded_from_dumps(const void *p) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (f == NULL)
    return false;
  char line[512];
  bool inside = false, dd = false;
  uintptr_t a = (uintptr_t)p;
  while (fgets(line, sizeof(line), f) != NULL) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ':') != NULL &&
        strchr(line, '-') < strchr(line, ' ')) {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      dd = strstr(line, " dd") != NULL;
      break;
    }
  }
  fclose(f);
  return dd;
}
