/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: notifications once per change of a subject's state.
 */
#include "gen_notice.h"
#include "gen_map.h"
#include "gen_names.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  gen_key_t *key; /* the subject: its three names, apart */
  int state;
} notice_entry_t;

struct gen_notices_s {
  pthread_mutex_t lock;
  gen_map_t last; /* key -> notice_entry_t */
};

struct gen_notices_s *gen_notices_create(void) {
  struct gen_notices_s *n = calloc(1, sizeof(*n));
  if (n != NULL) {
    pthread_mutex_init(&n->lock, NULL);
    n->last.kind = GEN_MAP_KEY;
  }
  return n;
}

void gen_notices_free(struct gen_notices_s *n) {
  if (n == NULL)
    return;
  size_t pos = 0;
  const void *key;
  void *value;
  while (gen_map_next(&n->last, &pos, &key, &value)) {
    notice_entry_t *e = value;
    free(e->key);
    free(e);
  }
  gen_map_free(&n->last);
  pthread_mutex_destroy(&n->lock);
  free(n);
}

/* Remembers state for key (under the lock); *was gets the state before
 * (0 when none). */
static int remember(struct gen_notices_s *n, const gen_key_t *key, int state,
                    int *was) {
  notice_entry_t *e = gen_map_get(&n->last, key);
  *was = e != NULL ? e->state : 0;
  if (e != NULL) {
    e->state = state;
    return 0;
  }
  if (state == 0)
    return 0; /* a good state first seen needs no memory: none is good */
  e = calloc(1, sizeof(*e));
  if (e != NULL && (e->key = gen_key_copy(key)) != NULL &&
      gen_map_put(&n->last, e->key, e) == 0) {
    e->state = state;
    return 0;
  }
  if (e != NULL)
    free(e->key);
  free(e);
  return -ENOMEM;
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
  notification_t notif = {.severity = state == 0 ? NOTIF_OKAY : severity};
  field(plugin_instance, notif.plugin_instance, sizeof(notif.plugin_instance));
  sstrncpy(notif.type, type, sizeof(notif.type));
  field(type_instance, notif.type_instance, sizeof(notif.type_instance));
  /* The subject as its series is named (names that sanitise alike are one
   * series, and one subject). */
  gen_key_t key = {{notif.plugin_instance, notif.type, notif.type_instance}, 0};
  /* Held until the notification has left: two threads seeing a subject
   * change send in the order they remembered. */
  pthread_mutex_lock(&org->notices->lock);
  int was;
  int status = remember(org->notices, &key, state, &was);
  if (status != 0 || was == state) {
    pthread_mutex_unlock(&org->notices->lock);
    return status;
  }
  notif.time = cdtime();
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
  status = plugin_dispatch_notification(&notif);
  pthread_mutex_unlock(&org->notices->lock);
  return status == 0 ? 1 : -abs(status);
}
