/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the standby's insides, shared by its election
 * (gen_standby.c), its state copy (gen_standby_copy.c) and test_standby,
 * which reaches them directly: a standby without a thread, one step of the
 * election, the piece size and a copy's slice; etcd itself is the test's
 * through gen_etcd_post. Not installed.
 */
#ifndef GEN_STANDBY_PRIVATE_H
#define GEN_STANDBY_PRIVATE_H 1

#include "gen_etcd.h"
#include "gen_log.h"
#include "gen_standby.h"
#include "gen_state.h"

#include <linux/stat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

/* The most operations a transaction holds: etcd's default --max-txn-ops
 * (a transaction past it is refused, HTTP 400). A copy's manifests move in
 * one transaction up to it; the pieces they no longer name are deleted
 * after, DELETE_BATCH at a time. */
#define TXN_OPS_MAX 128
#define DELETE_BATCH 64

typedef struct {
  char *name;    /* a file name, no directory */
  char *path;    /* while copying: where it is */
  uint64_t hash; /* of its length and its pieces' hashes: the copy */
  uint64_t gen;  /* its pieces' directory */
  /* each piece's content hash; NULL: a manifest of the first form, its
   * pieces named by their index under the hash of the whole content */
  uint64_t *pieces;
  size_t n_pieces;
  size_t n_first; /* the pieces of a manifest of the first form */
  size_t len;
  struct timespec mtime; /* as copied: an unchanged file is not read again */
  off_t size;
  /* the file itself: an inode is reused, its birth time is not (0: not
   * known, a file restored or a file system without it: read whole) */
  uint64_t dev, ino;
  struct statx_timestamp born;
} file_t;

struct gen_standby_s {
  char plugin[DATA_MAX_NAME_LEN], org[DATA_MAX_NAME_LEN];
  char host[DATA_MAX_NAME_LEN]; /* the org's Host: its values' fence */
  gen_log_org_t who;
  /* etcd: the election thread's client and the read thread's (the copy):
   * a keep-alive never waits behind a piece */
  gen_etcd_t *etcd, *copy_etcd;
  int ttl_s;
  size_t piece;                /* StandbyPieceSize */
  cdtime_t sync_every, synced; /* StandbySyncInterval; the last copy */
  char name[256];
  char key[1024], state_prefix[1024], data_prefix[1024];

  pthread_t thread;
  bool started, stop;
  pthread_mutex_t lock; /* stop, create_rev, lease, holder; cond */
  pthread_cond_t cond;
  int64_t lease, create_rev;
  char holder[256]; /* who holds the key, as last seen */
  atomic_bool holding;
  /* gen_lease_clock(), which counts suspend: this agent's values stop
   * then */
  _Atomic cdtime_t fence;
  atomic_uint_fast64_t takeovers, sync_failed, copied_bytes;
  gen_ratelimit_t complain;
  /* this agent stopped the org's values because etcd was out of reach
   * past its fence, until etcd answers again and a holder is known */
  atomic_bool stopped;
  /* for gen_notice: the org's name, limits and memory of subjects, and no
   * Host: the standby's notices are the agent's, as its self-metrics */
  gen_org_t *notices;

  /* the read thread's: the instance's state files */
  gen_state_watch_t watch;
  bool restoring;
  int fetch_tries; /* take-overs whose state etcd did not give whole */
  long retry_ms;   /* between two asks of a piece: 1000 */
  char **paths;
  size_t n_paths;
  file_t *sent; /* what etcd holds, as far as this agent knows */
  size_t n_sent;
  /* a copy in progress: per file, the pieces put (by index, 0: not yet)
   * under a directory no manifest names yet, or the last copy's */
  file_t *moving;
  size_t n_moving;
  /* a read's share of a copy (10 s; 0: one piece a read); this read's copy
   * stops at slice_end */
  cdtime_t slice, slice_end;
  bool slice_put; /* this read has put a piece */
  /* pieces no manifest names are left in etcd (their delete failed):
   * swept at the next copy */
  bool sweep_due;
};

/* The election's state between two steps: its lease (0: none) and whether
 * the last renewal succeeded. */
typedef struct {
  int64_t lease;
  bool renewed;
} gen_standby_elect_t;

/* A standby of org and plugin without its thread. NULL when out of
 * memory or etcd's client cannot be made (logged). */
gen_standby_t *gen_standby_new(const gen_org_t *org, const char *plugin);
/* One step of the election (the thread pauses between two): a grant or a
 * keep-alive, the fence moved, the key taken when absent, a loss said. */
void gen_standby_elect(gen_standby_t *s, gen_standby_elect_t *st);
/* Sleeps ms unless stopped; true when stopped. */
bool gen_standby_pause(gen_standby_t *s, long ms);
/* The copy's memory (gen_standby_copy.c). */
void gen_standby_copy_free(gen_standby_t *s);

#endif /* GEN_STANDBY_PRIVATE_H */
