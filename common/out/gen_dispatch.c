/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the one place values leave the suite for collectd.
 */
#include "gen_dispatch.h"

#include "gen_log.h"
#include <math.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* collectd's default Interval, for a plugin never seen in a context. */
#define DEFAULT_INTERVAL TIME_T_TO_CDTIME_T(10)
/* Plugins whose interval is remembered (the suite has three). */
#define KNOWN_MAX 16

/* name is written once, before count makes the slot visible; interval may
 * change (a reconfigured LoadPlugin Interval). */
static struct {
  char name[DATA_MAX_NAME_LEN];
  atomic_uint_fast64_t interval;
} known[KNOWN_MAX];
static atomic_size_t known_count;
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;

static ssize_t known_find(const char *plugin) {
  size_t n = atomic_load(&known_count);
  for (size_t i = 0; i < n; i++)
    if (strcmp(known[i].name, plugin) == 0)
      return (ssize_t)i;
  return -1;
}

static void known_set(const char *plugin, cdtime_t interval) {
  ssize_t i = known_find(plugin);
  if (i < 0) {
    pthread_mutex_lock(&known_lock);
    i = known_find(plugin);
    size_t n = atomic_load(&known_count);
    if (i < 0 && n < KNOWN_MAX) {
      sstrncpy(known[n].name, plugin, sizeof(known[n].name));
      atomic_store(&known[n].interval, interval);
      atomic_store(&known_count, n + 1);
    }
    pthread_mutex_unlock(&known_lock);
    if (i < 0)
      return;
  }
  if (atomic_load(&known[i].interval) != interval)
    atomic_store(&known[i].interval, interval);
}

void gen_dispatch_learn_interval(const char *plugin) {
  cdtime_t interval = plugin_get_ctx().interval;
  if (plugin != NULL && interval > 0)
    known_set(plugin, interval);
}

cdtime_t gen_dispatch_interval(const char *plugin) {
  cdtime_t interval = plugin_get_ctx().interval;
  if (interval > 0) {
    if (plugin != NULL)
      known_set(plugin, interval);
    return interval;
  }
  ssize_t i = plugin != NULL ? known_find(plugin) : -1;
  if (i >= 0 && (interval = atomic_load(&known[i].interval)) > 0)
    return interval;
  return DEFAULT_INTERVAL;
}

/* The value list of a value (names sanitised, time and interval filled
 * in: see gen_dispatch.h); value must outlive it. */
static void value_list_of(value_list_t *vl, const gen_ident_t *id,
                          value_t *value, cdtime_t time, cdtime_t interval) {
  *vl = (value_list_t)VALUE_LIST_INIT;
  vl->values = value;
  vl->values_len = 1;
  vl->time = time != 0 ? time : cdtime();
  vl->interval = interval != 0 ? interval : gen_dispatch_interval(id->plugin);
  if (id->host != NULL && id->host[0] != '\0')
    gen_sanitize_name(id->host, vl->host, sizeof(vl->host));
  sstrncpy(vl->plugin, id->plugin, sizeof(vl->plugin));
  if (id->plugin_instance != NULL && id->plugin_instance[0] != '\0')
    gen_sanitize_name(id->plugin_instance, vl->plugin_instance,
                      sizeof(vl->plugin_instance));
  sstrncpy(vl->type, id->type, sizeof(vl->type));
  if (id->type_instance != NULL && id->type_instance[0] != '\0')
    gen_sanitize_name(id->type_instance, vl->type_instance,
                      sizeof(vl->type_instance));
}

static int dispatch(const gen_ident_t *id, value_t value, cdtime_t time,
                    cdtime_t interval) {
  value_list_t vl;
  value_list_of(&vl, id, &value, time, interval);
  int status = plugin_dispatch_values(&vl);
  return status == 0 ? 0 : (status > 0 ? -status : status);
}

int gen_dispatch_gauge(const gen_ident_t *id, double value, cdtime_t time,
                       cdtime_t interval) {
  return dispatch(id, (value_t){.gauge = value}, time, interval);
}

int gen_dispatch_derive(const gen_ident_t *id, int64_t value, cdtime_t time,
                        cdtime_t interval) {
  return dispatch(id, (value_t){.derive = value}, time, interval);
}

int gen_dispatch_self(const char *host, const char *plugin, const char *type,
                      const char *type_instance, bool derive, double value) {
  gen_ident_t id = {.host = host,
                    .plugin = plugin,
                    .plugin_instance = "self",
                    .type = type,
                    .type_instance = type_instance};
  return gen_dispatch_number(&id, derive, value, 0, 0);
}

int gen_dispatch_number(const gen_ident_t *id, bool derive, double value,
                        cdtime_t time, cdtime_t interval) {
  if (derive)
    return gen_dispatch_derive(id, (int64_t)llround(value), time, interval);
  return gen_dispatch_gauge(id, value, time, interval);
}

cdtime_t gen_dispatch_next_time(cdtime_t *last) {
  cdtime_t now = cdtime();
  if (now <= *last)
    now = *last + 1;
  *last = now;
  return now;
}
