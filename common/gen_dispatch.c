/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the one place values leave the suite for collectd.
 */
#include "gen_dispatch.h"

#include "gen_hash.h"
#include "gen_log.h"
#include "gen_map.h"
#include <math.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

uint64_t gen_series_hash(const char *host, const char *plugin,
                         const char *plugin_instance, const char *type,
                         const char *type_instance) {
  uint64_t h = GEN_HASH_FNV1A64_INIT;
  const char *names[] = {host, plugin, plugin_instance, type, type_instance};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    h = gen_hash_fnv1a64_str(h, names[i] ? names[i] : "");
    h = gen_hash_fnv1a64_byte(h, 0xff); /* a separator no name holds */
  }
  /* FNV's low bits cluster for names that differ only at the end: mixed
   * before they pick a slot. */
  h = gen_hash_mix64(h);
  return h ? h : 1;
}

/* ---- ordered dispatch ------------------------------------------------------
 * Values of a series dispatched in an ordered section wait until collectd's
 * write path has handed the series' previous value to every write plugin.
 * What is in collectd's queue is counted per slot (a hash of the series
 * without host, which collectd may fill in): every value, in a section or
 * not (outside one it never waits); two series sharing a slot only
 * wait for each other, which costs a little time and never order. The count
 * goes down in a write callback registered after the write plugins (from an
 * init callback: they register theirs when loaded), so it runs last for
 * each value, on the write thread that took it.
 *
 * A long queue that moves is waited for: at 5,000 queues a slow writer
 * takes many seconds to reach a series' previous value. Otherwise a wait
 * ends early:
 *  - the write path stood still for 2 s (a writer blocked on a dead
 *    backend): the value is queued without waiting (later values wait
 *    again once the path moves), and a drain says the values have not
 *    left;
 *  - the value is known never to reach this callback: far more values
 *    counted in after it have left (the queue is first in, first out: a
 *    filter chain or WriteQueueLimitHigh dropped it), or the path stood
 *    still for 30 s (a PostCacheChain that writes to chosen plugins only
 *    never calls this one; a writer blocked that long): counting stops
 *    for an hour, with a warning, and drains return at once.
 *
 * The common case takes no lock: a value counted in while its slot is
 * empty, and a value leaving while no thread waits for it, only touch
 * atomics; order_lock guards the waits (order_still*, order_cond) and a
 * give-up. The counts:
 *  - order_entered: values counted in, ever. What it held before a value
 *    is the value's place: the queue is first in, first out, so the value
 *    has left once order_left passes its place;
 *  - order_left: values seen leaving, ever (also those a give-up took, and
 *    a place given back by a value that lost its slot to another thread);
 *  - counted in the queue: order_entered - order_left.
 * A value takes its place before its slot (count 0 -> 1) and leaves its
 * slot before order_left counts it, so order_left never passes
 * order_entered, and a give-up that empties the slots (adding what it took
 * to order_left) keeps the counts equal to the slots whatever enters or
 * leaves meanwhile. A slot's due is raised before the slot is taken: a
 * waiter that sees the slot taken sees the due of its value (or a newer).
 * Wake-ups: a waiter publishes what it waits for (its slot's bit in
 * order_watch, or order_left_wanted), then looks again, under order_lock,
 * whether it has to wait; a leaver changes the count, then reads them (all
 * sequentially consistent: one of the two sees the other), and only when a
 * waiter may need it takes order_lock (the waiter is then inside
 * pthread_cond_wait) and broadcasts. */
#define ORDER_SLOTS 65536
static int64_t order_still_ns = INT64_C(2000000000);
static int64_t order_give_up_ns = INT64_C(30000000000);
/* Values that may overtake the one waited for (five write threads, and
 * write plugins' locks are not fair) before it is known dropped. */
#define ORDER_SLACK 10000
#define ORDER_PAUSE TIME_T_TO_CDTIME_T(3600)

static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t order_cond; /* on CLOCK_MONOTONIC, set up at init */
/* ORDER_SLOTS counts, once registered; published after order_due (a thread
 * that sees it sees order_due). Both are calloc'd: all-zero bytes are a
 * valid 0 for these lock-free atomics (gcc and clang on Linux; C11 leaves
 * the representation to the implementation). */
static _Atomic(_Atomic uint32_t *) order_queued;
/* Per slot: the place of its newest value (only raised). */
static _Atomic uint64_t *order_due;
/* Per slot, a bit: a thread waits for it (a write wakes waiters only then:
 * a wake-up per value cost a read thread more than the values). */
static _Atomic uint64_t order_watch[ORDER_SLOTS / 64];
/* A cache line each: read threads write the first, write threads the
 * second, and every write reads the third. */
static _Alignas(64) _Atomic uint64_t order_entered; /* values counted in */
static _Alignas(64) _Atomic uint64_t order_left;    /* values seen leaving */
/* A drain waits for order_left to reach this (UINT64_MAX: none waits).
 * Changed under order_lock only. */
static _Alignas(64) _Atomic uint64_t order_left_wanted = UINT64_MAX;
/* Under order_lock: */
static bool order_still;        /* the path stood still at order_still_at */
static uint64_t order_still_at; /* (order_left), since order_still_since */
static int64_t order_still_since;
static _Atomic cdtime_t order_paused_until;
static atomic_uint_fast64_t order_waits;
static gen_ratelimit_t order_still_complain = GEN_RATELIMIT_INIT(300);
static _Thread_local int order_depth;
/* The slots this thread counted in since its last drain (a bit each). */
static _Thread_local uint64_t order_mine[ORDER_SLOTS / 64];
static _Thread_local bool order_mine_any;
/* order_left once every value counted in before this thread's newest one,
 * and that one, have left (the queue is first in, first out). */
static _Thread_local uint64_t order_mine_until;

/* Twice per value (read and write threads): names hashed eight bytes at a
 * time, where gen_series_hash's FNV-1a byte by byte was a twentieth of an
 * analytics read. */
static uint32_t order_slot(const value_list_t *vl) {
  uint64_t h = gen_hash_name(0, vl->plugin, sizeof(vl->plugin));
  h = gen_hash_name(h, vl->plugin_instance, sizeof(vl->plugin_instance));
  h = gen_hash_name(h, vl->type, sizeof(vl->type));
  h = gen_hash_name(h, vl->type_instance, sizeof(vl->type_instance));
  return (uint32_t)(h % ORDER_SLOTS);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Values counted in the queue. order_left is read first: both only grow,
 * so a value counted in that has not left keeps this above 0. */
static uint64_t order_counted(void) {
  uint64_t left = atomic_load(&order_left);
  return atomic_load(&order_entered) - left;
}

/* n values left (or never entered): counted, and a drain waiting for as
 * many woken. */
static void order_left_add(uint64_t n, bool locked) {
  uint64_t left = atomic_fetch_add(&order_left, n) + n;
  if (left < atomic_load(&order_left_wanted))
    return;
  if (!locked)
    pthread_mutex_lock(&order_lock);
  if (atomic_load(&order_left) >= atomic_load(&order_left_wanted))
    atomic_store(&order_left_wanted, UINT64_MAX);
  pthread_cond_broadcast(&order_cond);
  if (!locked)
    pthread_mutex_unlock(&order_lock);
}

/* One value of slot left the queue (or never entered it). Not locked. A
 * slot at 0 was emptied by a give-up, which counted its values as left. */
static void order_leave(_Atomic uint32_t *queued, uint32_t slot) {
  uint32_t n = atomic_load(&queued[slot]);
  do {
    if (n == 0)
      return;
  } while (!atomic_compare_exchange_weak(&queued[slot], &n, n - 1));
  uint64_t left = atomic_fetch_add(&order_left, 1) + 1;
  uint64_t bit = UINT64_C(1) << (slot % 64);
  bool drain = left >= atomic_load(&order_left_wanted);
  bool waiter = n == 1 && (atomic_load(&order_watch[slot / 64]) & bit) != 0;
  if (!drain && !waiter)
    return;
  pthread_mutex_lock(&order_lock);
  if (waiter)
    atomic_fetch_and(&order_watch[slot / 64], ~bit);
  if (atomic_load(&order_left) >= atomic_load(&order_left_wanted))
    atomic_store(&order_left_wanted, UINT64_MAX);
  pthread_cond_broadcast(&order_cond);
  pthread_mutex_unlock(&order_lock);
}

static int order_write(const data_set_t *ds, const value_list_t *vl,
                       user_data_t *ud) {
  (void)ds;
  (void)ud;
  if (order_counted() == 0 ||
      strncmp(vl->plugin, "genesys_", strlen("genesys_")) != 0)
    return 0;
  _Atomic uint32_t *queued = atomic_load(&order_queued);
  if (queued != NULL)
    order_leave(queued, order_slot(vl));
  return 0;
}

int gen_dispatch_order_init(void) {
  pthread_mutex_lock(&order_lock);
  int status = 0;
  if (atomic_load(&order_queued) == NULL) {
    /* The wait's clock is the monotonic one: libfaketime (the tests' sped-up
     * clock) and clock steps change the real-time clock. */
    static bool cond_ready;
    if (!cond_ready) {
      pthread_condattr_t attr;
      pthread_condattr_init(&attr);
      pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
      pthread_cond_init(&order_cond, &attr);
      pthread_condattr_destroy(&attr);
      cond_ready = true;
    }
    _Atomic uint32_t *queued = calloc(ORDER_SLOTS, sizeof(*queued));
    order_due = calloc(ORDER_SLOTS, sizeof(*order_due));
    if (queued == NULL || order_due == NULL)
      status = -ENOMEM;
    else if (plugin_register_write("genesys_order", order_write, NULL) != 0)
      status = -EINVAL;
    if (status != 0) {
      free((void *)queued);
      free((void *)order_due);
      order_due = NULL;
    } else {
      atomic_store(&order_queued, queued);
    }
  }
  pthread_mutex_unlock(&order_lock);
  return status;
}

void gen_dispatch_order_begin(void) { order_depth++; }

void gen_dispatch_order_end(void) {
  if (order_depth > 0)
    order_depth--;
}

uint64_t gen_dispatch_order_waits(void) { return atomic_load(&order_waits); }

void gen_dispatch_order_patience(int64_t still_ms, int64_t give_up_ms) {
  pthread_mutex_lock(&order_lock);
  order_still_ns = still_ms * 1000000;
  order_give_up_ns = give_up_ms * 1000000;
  pthread_mutex_unlock(&order_lock);
}

/* A wait on order_cond of at most 100 ms, locked. Through
 * pthread_cond_clockwait() where glibc has it (2.30): libfaketime, which
 * runs the tests' sped-up clock, wraps pthread_cond_timedwait() and made
 * these waits return at once, a busy loop. */
static void order_cond_wait(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += 100 * 1000 * 1000; /* at most 100 ms */
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 30)
  pthread_cond_clockwait(&order_cond, &order_lock, CLOCK_MONOTONIC, &ts);
#else
  pthread_cond_timedwait(&order_cond, &order_lock, &ts);
#endif
}

typedef enum { SLOT_EMPTY, SLOT_STILL, SLOT_DROPPED } order_wait_t;

/* Waits (locked) until slot holds nothing, the write path stands still, or
 * the slot's value is known dropped (see above). */
static order_wait_t order_wait_slot(_Atomic uint32_t *queued, uint32_t slot) {
  int64_t still_since = mono_ns();
  uint64_t last_left = atomic_load(&order_left);
  uint64_t bit = UINT64_C(1) << (slot % 64);
  while (atomic_load(&queued[slot]) > 0) {
    uint64_t left = atomic_load(&order_left);
    if (left > atomic_load(&order_due[slot]) + ORDER_SLACK)
      return SLOT_DROPPED;
    if (order_still && left == order_still_at) /* not waited again */
      return mono_ns() - order_still_since >= order_give_up_ns ? SLOT_DROPPED
                                                               : SLOT_STILL;
    /* The bit, then a last look: a leaver that empties the slot after
     * that look sees the bit and wakes this thread. */
    atomic_fetch_or(&order_watch[slot / 64], bit);
    if (atomic_load(&queued[slot]) == 0)
      break;
    order_cond_wait(); /* slices, to see the path stand */
    int64_t now = mono_ns();
    left = atomic_load(&order_left);
    if (left != last_left) {
      last_left = left;
      still_since = now;
      order_still = false;
    } else if (now - still_since >= order_still_ns) {
      order_still = true;
      order_still_at = left;
      order_still_since = still_since;
      return SLOT_STILL;
    }
  }
  return SLOT_EMPTY;
}

/* A value was dropped: stop counting (every slot emptied, its values
 * counted as left) and pause. Locked. Values entering or leaving
 * meanwhile keep the counts right (see above). */
static void order_give_up(_Atomic uint32_t *queued) {
  atomic_store(&order_paused_until, cdtime() + ORDER_PAUSE);
  uint64_t taken = 0;
  for (uint32_t s = 0; s < ORDER_SLOTS; s++)
    if (atomic_load_explicit(&queued[s], memory_order_relaxed) != 0)
      taken += atomic_exchange(&queued[s], 0);
  if (taken > 0)
    order_left_add(taken, true);
  pthread_cond_broadcast(&order_cond);
}

static void order_warn_dropped(const value_list_t *vl) {
  /* At most once per pause: no rate limit needed. */
  GEN_WARNING("%s plugin: a value of %s-%s/%s-%s never reached the write "
              "plugins (dropped by a filter chain or WriteQueueLimitHigh, a "
              "PostCacheChain writing to chosen plugins only, or a write "
              "plugin blocked for 30 s?); for the next hour, values of one "
              "series may be written out of order and state files do not wait "
              "for the write queue",
              vl->plugin, vl->plugin, vl->plugin_instance, vl->type,
              vl->type_instance);
}

static void order_warn_still(const char *plugin) {
  gen_log_limited(&order_still_complain, LOG_WARNING,
                  "%s plugin: collectd's write queue has not moved for 2 s (a "
                  "write plugin blocked, or a PostCacheChain that writes to "
                  "chosen plugins only?); values are queued without waiting "
                  "for their series' previous one, and state files are not "
                  "written until the queue moves",
                  plugin);
}

/* The clock is read only while paused: a read per value was a tenth of an
 * analytics cycle (more under libfaketime). */
static bool order_paused(void) {
  cdtime_t until =
      atomic_load_explicit(&order_paused_until, memory_order_relaxed);
  return until != 0 && cdtime() < until;
}

/* Counts a value of slot in: takes its place, raises the slot's due, then
 * takes the slot when empty (join: adds to it, the path stands still).
 * False when another thread took the slot first: the place is given back
 * as a value that left. */
static bool order_count_in(_Atomic uint32_t *queued, uint32_t slot, bool join,
                           bool locked) {
  uint64_t place = atomic_fetch_add(&order_entered, 1);
  uint64_t due = atomic_load(&order_due[slot]);
  while (due < place &&
         !atomic_compare_exchange_weak(&order_due[slot], &due, place))
    ;
  uint32_t empty = 0;
  if (join) {
    atomic_fetch_add(&queued[slot], 1);
  } else if (!atomic_compare_exchange_strong(&queued[slot], &empty, 1)) {
    order_left_add(1, locked);
    return false;
  }
  order_mine_until = place + 1;
  return true;
}

/* Waits until vl's series has nothing in collectd's queue, then counts vl
 * in. False when vl is not tracked (outside an ordered section, ordering
 * not registered or paused). */
static bool order_enter(const value_list_t *vl, uint32_t *slot) {
  if (order_depth == 0)
    return false;
  _Atomic uint32_t *queued = atomic_load(&order_queued);
  if (queued == NULL || order_paused())
    return false;
  *slot = order_slot(vl);
  /* The slot empty (the common case): no lock. */
  if (atomic_load(&queued[*slot]) != 0 ||
      !order_count_in(queued, *slot, false, false)) {
    pthread_mutex_lock(&order_lock);
    if (order_paused()) { /* a give-up since the look above */
      pthread_mutex_unlock(&order_lock);
      return false;
    }
    order_wait_t w = SLOT_EMPTY;
    bool waited = false;
    do {
      if (atomic_load(&queued[*slot]) > 0) {
        if (!waited)
          atomic_fetch_add(&order_waits, 1);
        waited = true;
        w = order_wait_slot(queued, *slot);
        if (w == SLOT_DROPPED) {
          order_give_up(queued);
          pthread_mutex_unlock(&order_lock);
          order_warn_dropped(vl);
          return false;
        }
      }
      /* Another thread's value may take the slot first: waited for. */
    } while (!order_count_in(queued, *slot, w == SLOT_STILL, true));
    pthread_mutex_unlock(&order_lock);
    if (w == SLOT_STILL)
      order_warn_still(vl->plugin);
  }
  order_mine[*slot / 64] |= UINT64_C(1) << (*slot % 64);
  order_mine_any = true;
  return true;
}

int gen_dispatch_order_drain(void) {
  if (!order_mine_any)
    return 0;
  _Atomic uint32_t *queued = atomic_load(&order_queued);
  int status = 0;
  bool dropped = false;
  pthread_mutex_lock(&order_lock);
  /* First until as many values have left as were queued up to this
   * thread's newest one: one wake-up, where waiting slot by slot woke the
   * thread once per slot (a second of CPU a cycle at 5,000 queues). Then
   * the few slots overtaken on the way are waited for one by one. */
  int64_t still_since = mono_ns();
  uint64_t last_left = atomic_load(&order_left);
  while (queued != NULL) {
    uint64_t left = atomic_load(&order_left);
    if (left >= order_mine_until)
      break;
    if (order_counted() == 0 || (order_still && left == order_still_at))
      break; /* nothing counted; or the slots below tell still from lost */
    /* Published, then a last look: a leaver that reaches it after that
     * look sees it and wakes this thread. */
    if (atomic_load(&order_left_wanted) > order_mine_until)
      atomic_store(&order_left_wanted, order_mine_until);
    if (atomic_load(&order_left) >= order_mine_until)
      break;
    order_cond_wait();
    int64_t now = mono_ns();
    left = atomic_load(&order_left);
    if (left != last_left) {
      last_left = left;
      still_since = now;
    } else if (now - still_since >= order_still_ns) {
      order_still = true; /* the slots below see it at once */
      order_still_at = left;
      order_still_since = still_since;
      break;
    }
  }
  for (size_t w = 0; w < ORDER_SLOTS / 64 && status == 0 && !dropped; w++) {
    while (order_mine[w] != 0) {
      uint64_t low = order_mine[w] & (0 - order_mine[w]);
      uint32_t slot = (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(low);
      order_wait_t r =
          queued != NULL ? order_wait_slot(queued, slot) : SLOT_EMPTY;
      if (r == SLOT_STILL) {
        status = -ETIMEDOUT; /* the bits stay: waited for next time */
        break;
      }
      if (r == SLOT_DROPPED) {
        order_give_up(queued);
        dropped = true;
        break;
      }
      order_mine[w] &= ~low;
    }
  }
  if (dropped)
    memset(order_mine, 0, sizeof(order_mine));
  if (status == 0)
    order_mine_any = false;
  pthread_mutex_unlock(&order_lock);
  if (dropped)
    GEN_WARNING("genesys plugins: values never reached the write plugins "
                "(dropped by a filter chain or WriteQueueLimitHigh, a "
                "PostCacheChain writing to chosen plugins only, or a write "
                "plugin blocked for 30 s?); for the next hour, values of one "
                "series may be written out of order and state files do not "
                "wait for the write queue");
  return status;
}

/* A dispatch that failed: the value never enters the queue. */
static void order_forget(uint32_t slot) {
  order_leave(atomic_load(&order_queued), slot);
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

/* plugin_dispatch_values(), and a tracked value that never entered the
 * queue given back. */
static int dispatch_tracked(value_list_t *vl, bool tracked, uint32_t slot) {
  int status = plugin_dispatch_values(vl);
  if (tracked && status != 0)
    order_forget(slot);
  return status == 0 ? 0 : (status > 0 ? -status : status);
}

/* Counts vl in without waiting (joins its slot): false when ordering is
 * not registered or paused. */
static bool order_join(const value_list_t *vl, uint32_t *slot) {
  _Atomic uint32_t *queued = atomic_load(&order_queued);
  if (queued == NULL || order_paused())
    return false;
  *slot = order_slot(vl);
  return order_count_in(queued, *slot, true, false);
}

/* Every value is counted, outside ordered sections too (without waiting):
 * the write callback cannot tell a counted value from another, and an
 * uncounted one leaving would empty the slot of a counted one it shares. */
static int dispatch(const gen_ident_t *id, value_t value, cdtime_t time,
                    cdtime_t interval) {
  value_list_t vl;
  value_list_of(&vl, id, &value, time, interval);
  uint32_t slot = 0;
  bool tracked = order_enter(&vl, &slot) || order_join(&vl, &slot);
  return dispatch_tracked(&vl, tracked, slot);
}

/* For gen_dispatch_try_number (locked): order_left was order_try_left
 * when a look found a slot taken at order_try_since (0: no look yet). */
static uint64_t order_try_left;
static int64_t order_try_since;

/* Whether a value counted into slot earlier is still in collectd's queue,
 * for a dispatch that does not wait. The rules of a wait apply to what
 * the looks saw: a write path that stood still for 2 s frees the slot (a
 * warning says so), and a value known never to leave (far more values
 * counted in after it have left, or nothing left for 30 s) gives up as a
 * wait does. */
static bool order_slot_taken(_Atomic uint32_t *queued, uint32_t slot,
                             const value_list_t *vl) {
  if (atomic_load(&queued[slot]) == 0)
    return false;
  pthread_mutex_lock(&order_lock);
  bool taken = !order_paused() && atomic_load(&queued[slot]) > 0;
  bool lost = false, still = false;
  if (taken) {
    uint64_t left = atomic_load(&order_left);
    int64_t now = mono_ns();
    lost = left > atomic_load(&order_due[slot]) + ORDER_SLACK;
    if (!lost && (left != order_try_left || order_try_since == 0)) {
      order_try_left = left;
      order_try_since = now;
    } else if (!lost) {
      lost = now - order_try_since >= order_give_up_ns;
      still = now - order_try_since >= order_still_ns;
    }
    if (lost) {
      order_give_up(queued);
      order_try_since = 0;
    }
    taken = !lost && !still;
  }
  pthread_mutex_unlock(&order_lock);
  if (lost)
    order_warn_dropped(vl);
  else if (still)
    order_warn_still(vl->plugin);
  return taken;
}

int gen_dispatch_try_number(const gen_ident_t *id, bool derive, double value,
                            cdtime_t time, cdtime_t interval, bool force) {
  value_t v = derive ? (value_t){.derive = (derive_t)llround(value)}
                     : (value_t){.gauge = value};
  if (order_depth > 0 && !force) /* the caller may wait */
    return dispatch(id, v, time, interval);
  value_list_t vl;
  value_list_of(&vl, id, &v, time, interval);
  _Atomic uint32_t *queued = atomic_load(&order_queued);
  uint32_t slot = 0;
  if (!force && queued != NULL && !order_paused() &&
      order_slot_taken(queued, order_slot(&vl), &vl))
    return -EBUSY;
  /* Joins the slot: never waits (a value of another series sharing it
   * may have come in since the look). */
  bool tracked = order_join(&vl, &slot);
  return dispatch_tracked(&vl, tracked, slot);
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

bool gen_dispatch_due(cdtime_t *sent_at, cdtime_t now, cdtime_t gap) {
  /* A clock that went back does not hold a series. */
  if (*sent_at != 0 && now >= *sent_at && now - *sent_at < gap)
    return false;
  *sent_at = now;
  return true;
}

typedef struct {
  cdtime_t sent_at;
  char key[]; /* the map's key */
} pace_entry_t;

struct gen_pace_s {
  pthread_mutex_t lock;
  gen_map_t by_key; /* key -> pace_entry_t */
};

gen_pace_t *gen_pace_new(void) {
  gen_pace_t *p = calloc(1, sizeof(*p));
  if (p != NULL)
    pthread_mutex_init(&p->lock, NULL);
  return p;
}

void gen_pace_free(gen_pace_t *p) {
  if (p == NULL)
    return;
  size_t pos = 0;
  void *entry;
  while (gen_map_next(&p->by_key, &pos, NULL, &entry))
    free(entry);
  gen_map_free(&p->by_key);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

bool gen_pace_due(gen_pace_t *p, const char *key, cdtime_t now, cdtime_t gap) {
  pthread_mutex_lock(&p->lock);
  pace_entry_t *e = gen_map_get(&p->by_key, key);
  if (e == NULL) {
    size_t len = strlen(key);
    if ((e = calloc(1, sizeof(*e) + len + 1)) != NULL) {
      memcpy(e->key, key, len + 1);
      if (gen_map_put(&p->by_key, e->key, e) != 0) {
        free(e);
        e = NULL;
      }
    }
  }
  bool due = e == NULL || gen_dispatch_due(&e->sent_at, now, gap);
  pthread_mutex_unlock(&p->lock);
  return due;
}
