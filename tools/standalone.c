/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: stand-ins for the collectd daemon's functions that the
 * core links against (see standalone.h).
 */
#include "standalone.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void (*standalone_log)(int level, const char *message);
int (*standalone_dispatch)(const value_list_t *vl);

char *hostname_g = "localhost";

int plugin_dispatch_values(value_list_t const *vl) {
  return standalone_dispatch != NULL ? standalone_dispatch(vl) : 0;
}

/* The checker and the benchmarks have no notification consumers. */
int plugin_dispatch_notification(const notification_t *notif) { return 0; }

/* The tools build no standby (gen_plugin keeps a standby's <Org> block
 * with these): a block cannot be kept here. */
oconfig_item_t *oconfig_clone(const oconfig_item_t *ci) { return NULL; }

void oconfig_free(oconfig_item_t *ci) {}

void plugin_log(int level, const char *format, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  if (standalone_log != NULL)
    standalone_log(level, msg);
}

/* As collectd's: the real-time clock in 2^-30 s. */
cdtime_t cdtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

cdtime_t plugin_get_interval(void) { return TIME_T_TO_CDTIME_T(10); }
plugin_ctx_t plugin_get_ctx(void) {
  return (plugin_ctx_t){.interval = TIME_T_TO_CDTIME_T(10)};
}
plugin_ctx_t plugin_set_ctx(plugin_ctx_t ctx) { return ctx; }

char *sstrncpy(char *dest, const char *src, size_t n) {
  if (n == 0)
    return dest;
  /* strncpy() and a terminating NUL, as collectd's, said without strncpy
   * (gcc warns that the bound is the size of the destination). */
  size_t len = strnlen(src, n - 1);
  memcpy(dest, src, len);
  memset(dest + len, 0, n - len);
  return dest;
}

int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *)) {
  return 0;
}
int plugin_register_init(const char *name, plugin_init_cb callback) {
  return 0;
}
int plugin_register_complex_read(const char *group, const char *name,
                                 plugin_read_cb callback, cdtime_t interval,
                                 user_data_t const *user_data) {
  return 0;
}
int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name) {
  return pthread_create(thread, NULL, start_routine, arg);
}
const char *global_option_get(const char *option) { return NULL; }
