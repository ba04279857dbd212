/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the memory of an org's notification subjects (what
 * gen_notice remembers per subject, and its limits' counts). Apart from
 * gen_notice so that gen_config, which makes an org's memory with the org,
 * needs nothing of the notifications, and gen_notice, which reads the org,
 * is the only one of the two that needs the other (no module circle).
 */
#ifndef GEN_NOTICES_H
#define GEN_NOTICES_H 1

#include "gen_map.h"

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  gen_key_t *key;          /* the subject: its three names, apart */
  int state;               /* as last seen */
  int said;                /* as last notified (0, good, before any) */
  cdtime_t at[2];          /* the last two notifications, the newer first */
  notification_t *pending; /* a change not said yet: the newest */
} notice_entry_t;

struct gen_notices_s {
  pthread_mutex_t lock;
  gen_map_t last;  /* key -> notice_entry_t */
  size_t pending;  /* entries with a change not said */
  cdtime_t minute; /* the start of the minute counted */
  int in_minute;   /* notifications in it */
  uint64_t held;   /* changes not said when they came */
  bool said_held;  /* the log has said that changes are held */
};

/* The memory of an org's subjects (gen_org_create makes it, gen_org_free
 * ends it). */
struct gen_notices_s *gen_notices_create(void);
void gen_notices_free(struct gen_notices_s *notices);

#endif /* GEN_NOTICES_H */
