/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: notifications once per change of a subject's state.
 */
#include "gen_notice.h"
#include "gen_dispatch.h"
#include "gen_map.h"
#include "gen_names.h"
#include "gen_notices.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static notice_entry_t *entry(struct gen_notices_s *n, const gen_key_t *key,
                             int state, int *status) {
  *status = 0;
  notice_entry_t *e = gen_map_get(&n->last, key);
  if (e != NULL || state == 0)
    return e;
  e = calloc(1, sizeof(*e));
  if (e != NULL && (e->key = gen_key_copy(key)) != NULL &&
      gen_map_put(&n->last, e->key, e) == 0)
    return e;
  if (e != NULL)
    free(e->key);
  free(e);
  *status = -ENOMEM;
  return NULL;
}

/* Whether e may be said now (under the lock): a subject twice within the
 * org's NotificationWindow at most (a change and its return pass, a flap
 * does not), the org NotificationsPerMinute in all. A flap of 200 edges a
 * listing was 2,202 notifications a minute, each a fork with
 * NotificationExec. */
static bool may_say(struct gen_notices_s *n, const gen_org_t *org,
                    const notice_entry_t *e, cdtime_t now) {
  if (org->notice_window > 0 && e->at[1] != 0 &&
      now - e->at[1] < org->notice_window)
    return false;
  if (org->notices_per_minute <= 0)
    return true;
  if (now - n->minute >= TIME_T_TO_CDTIME_T(60) || now < n->minute) {
    n->minute = now;
    n->in_minute = 0;
  }
  return n->in_minute < org->notices_per_minute;
}

/* Sends notif for e (under the lock: two threads seeing a subject change
 * send in the order they remembered). */
static int say(struct gen_notices_s *n, notice_entry_t *e,
               notification_t *notif, cdtime_t now) {
  notif->time = now;
  e->said = e->state;
  e->at[1] = e->at[0];
  e->at[0] = now;
  n->in_minute++;
  int status = plugin_dispatch_notification(notif);
  return status == 0 ? 1 : -abs(status);
}

static void drop_pending(struct gen_notices_s *n, notice_entry_t *e) {
  if (e->pending == NULL)
    return;
  free(e->pending);
  e->pending = NULL;
  n->pending--;
}

static void field(const char *name, char *out, size_t size) {
  if (name != NULL && name[0] != '\0')
    gen_sanitize_name(name, out, size);
}

int gen_notice(const gen_org_t *org, const char *plugin_instance,
               const char *type, const char *type_instance, int state,
               int severity, const char *format, ...) {
  if (org == NULL || org->notices == NULL || type == NULL)
    return -EINVAL;
  /* an agent whose standby lease may have expired says nothing of the org
   * (gen_standby): the new holder does */
  if (gen_dispatch_fence_closed(org->host, org->plugin))
    return -EPERM;
  struct gen_notices_s *n = org->notices;
  notification_t notif = {.severity = state == 0 ? NOTIF_OKAY : severity};
  field(plugin_instance, notif.plugin_instance, sizeof(notif.plugin_instance));
  sstrncpy(notif.type, type, sizeof(notif.type));
  field(type_instance, notif.type_instance, sizeof(notif.type_instance));
  /* The subject as its series is named (names that sanitise alike are one
   * series, and one subject). */
  gen_key_t key = {{notif.plugin_instance, notif.type, notif.type_instance}, 0};
  pthread_mutex_lock(&n->lock);
  int status;
  notice_entry_t *e = entry(n, &key, state, &status);
  if (e == NULL) {
    pthread_mutex_unlock(&n->lock);
    return status;
  }
  e->state = state;
  if (state == e->said) {          /* back to what was said: nothing to say */
    n->held += e->pending != NULL; /* a change unsaid: the return */
    drop_pending(n, e);
    pthread_mutex_unlock(&n->lock);
    return 0;
  }
  const char *host =
      org->host != NULL && org->host[0] != '\0' ? org->host : hostname_g;
  field(host, notif.host, sizeof(notif.host));
  sstrncpy(notif.plugin, org->plugin, sizeof(notif.plugin));
  int off =
      snprintf(notif.message, sizeof(notif.message), "Org \"%s\": ", org->name);
  if (off > 0 && (size_t)off < sizeof(notif.message)) {
    va_list ap;
    va_start(ap, format);
    vsnprintf(notif.message + off, sizeof(notif.message) - (size_t)off, format,
              ap);
    va_end(ap);
  }
  cdtime_t now = cdtime();
  if (may_say(n, org, e, now)) {
    drop_pending(n, e);
    status = say(n, e, &notif, now);
    pthread_mutex_unlock(&n->lock);
    return status;
  }
  /* Held: said by gen_notices_flush once the limits allow, if the
   * subject has not come back by then. */
  bool first = e->pending == NULL;
  if (first && (e->pending = malloc(sizeof(*e->pending))) == NULL) {
    pthread_mutex_unlock(&n->lock);
    return -ENOMEM;
  }
  *e->pending = notif;
  n->pending += first;
  n->held++;
  bool tell = !n->said_held;
  n->said_held = true;
  pthread_mutex_unlock(&n->lock);
  if (tell) /* once: the self-metric counts them */
    gen_org_log(org, NULL, LOG_NOTICE,
                "notifications held back: a subject is said at most twice "
                "within NotificationWindow (%.0f s), the org at most "
                "NotificationsPerMinute (%ld) a minute; the held ones leave "
                "later with the state then (self-metric "
                "notifications_held_back)",
                CDTIME_T_TO_DOUBLE(org->notice_window),
                org->notices_per_minute);
  return 0;
}

int gen_notice_assume(const gen_org_t *org, const char *plugin_instance,
                      const char *type, const char *type_instance, int state) {
  if (org == NULL || org->notices == NULL || type == NULL)
    return -EINVAL;
  char pi[DATA_MAX_NAME_LEN] = "", t[DATA_MAX_NAME_LEN],
       ti[DATA_MAX_NAME_LEN] = "";
  field(plugin_instance, pi, sizeof(pi));
  sstrncpy(t, type, sizeof(t));
  field(type_instance, ti, sizeof(ti));
  gen_key_t key = {{pi, t, ti}, 0};
  struct gen_notices_s *n = org->notices;
  pthread_mutex_lock(&n->lock);
  int status;
  notice_entry_t *e = entry(n, &key, state, &status);
  if (e != NULL) {
    e->state = e->said = state;
    drop_pending(n, e);
  }
  pthread_mutex_unlock(&n->lock);
  return status;
}

int gen_notices_flush(const gen_org_t *org) {
  if (org == NULL || org->notices == NULL)
    return 0;
  struct gen_notices_s *n = org->notices;
  int sent = 0;
  pthread_mutex_lock(&n->lock);
  cdtime_t now = cdtime();
  size_t pos = 0;
  const void *key;
  void *value;
  while (n->pending > 0 && gen_map_next(&n->last, &pos, &key, &value)) {
    notice_entry_t *e = value;
    if (e->pending == NULL || !may_say(n, org, e, now))
      continue;
    sent += say(n, e, e->pending, now) > 0;
    drop_pending(n, e);
  }
  pthread_mutex_unlock(&n->lock);
  return sent;
}

uint64_t gen_notices_held(const gen_org_t *org) {
  if (org == NULL || org->notices == NULL)
    return 0;
  pthread_mutex_lock(&org->notices->lock);
  uint64_t held = org->notices->held;
  pthread_mutex_unlock(&org->notices->lock);
  return held;
}
