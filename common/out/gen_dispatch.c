/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the one place values leave the suite for collectd.
 */
#include "gen_dispatch.h"

#include "gen_hash.h"
#include "gen_time.h"
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

/* The interval a value of plugin dispatched now with interval 0 gets
 * (gen_dispatch.h says which). */
static cdtime_t interval_of(const char *plugin) {
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
                          value_t *value, size_t n, cdtime_t time,
                          cdtime_t interval) {
  *vl = (value_list_t)VALUE_LIST_INIT;
  vl->values = value;
  vl->values_len = n;
  vl->time = time != 0 ? time : cdtime();
  vl->interval = interval != 0 ? interval : interval_of(id->plugin);
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

/* ---- series budgets ------------------------------------------------------
 * A set of the series of one host and plugin (a hash each, FNV-1a of
 * plugin instance, type and type instance), open addressing, with the time
 * each is forgotten as collectd's cache forgets it: two intervals after its
 * last value. */
typedef struct {
  /* written once, before the slot is published; a slot keeps its names */
  char host[DATA_MAX_NAME_LEN], plugin[DATA_MAX_NAME_LEN];
  atomic_size_t max; /* 0: no budget (none set, or dropped) */
  unsigned refs;     /* under budgets_lock */
  pthread_mutex_t lock;
  uint64_t *hash; /* 0: a free slot */
  cdtime_t *forget;
  size_t n_slots, count;
  uint64_t refused;
  cdtime_t swept; /* the last time the forgotten were dropped when full */
  bool said;      /* the log's one line */
} budget_t;

/* Never freed: a dispatch of another plugin may be reading a slot while
 * one plugin drops its budget. */
static budget_t *_Atomic budgets[KNOWN_MAX];
static atomic_size_t n_budgets;
static pthread_mutex_t budgets_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *or_empty(const char *s) { return s != NULL ? s : ""; }

static budget_t *budget_find(const char *host, const char *plugin) {
  size_t n = atomic_load(&n_budgets);
  for (size_t i = 0; i < n; i++) {
    budget_t *b = atomic_load(&budgets[i]);
    if (b != NULL && strcmp(b->plugin, plugin) == 0 &&
        strcmp(b->host, or_empty(host)) == 0)
      return b;
  }
  return NULL;
}

int gen_dispatch_budget(const char *host, const char *plugin, size_t max) {
  if (max == 0 || plugin == NULL)
    return 0;
  pthread_mutex_lock(&budgets_lock);
  budget_t *b = budget_find(host, plugin);
  size_t n = atomic_load(&n_budgets);
  if (b == NULL && n < KNOWN_MAX && (b = calloc(1, sizeof(*b))) != NULL) {
    sstrncpy(b->host, or_empty(host), sizeof(b->host));
    sstrncpy(b->plugin, plugin, sizeof(b->plugin));
    pthread_mutex_init(&b->lock, NULL);
    atomic_store(&budgets[n], b);
    atomic_store(&n_budgets, n + 1);
  }
  if (b != NULL) {
    b->refs++;
    atomic_store(&b->max, max); /* the later block's */
  }
  pthread_mutex_unlock(&budgets_lock);
  return b != NULL ? 0 : -ENOMEM;
}

void gen_dispatch_budget_drop(const char *host, const char *plugin) {
  if (plugin == NULL)
    return;
  pthread_mutex_lock(&budgets_lock);
  budget_t *b = budget_find(host, plugin);
  if (b != NULL && b->refs > 0 && --b->refs == 0) {
    atomic_store(&b->max, 0);
    pthread_mutex_lock(&b->lock);
    free(b->hash);
    free(b->forget);
    b->hash = NULL, b->forget = NULL;
    b->n_slots = b->count = 0;
    b->refused = 0;
    b->said = false;
    pthread_mutex_unlock(&b->lock);
  }
  pthread_mutex_unlock(&budgets_lock);
}

static uint64_t series_hash(const value_list_t *vl) {
  uint64_t h = GEN_HASH_FNV1A64_INIT;
  const char *parts[] = {vl->plugin_instance, vl->type, vl->type_instance};
  for (size_t i = 0; i < 3; i++) /* each with its NUL */
    h = gen_hash_fnv1a64_bytes(h, parts[i], strlen(parts[i]) + 1);
  return h != 0 ? h : 1;
}

/* The slot of h (or the free one it would take). */
static size_t slot_of(const budget_t *b, uint64_t h) {
  size_t i = (size_t)(h & (b->n_slots - 1));
  while (b->hash[i] != 0 && b->hash[i] != h)
    i = (i + 1) & (b->n_slots - 1);
  return i;
}

/* The set again at n_slots, without the series forgotten by now. */
static int rebuild(budget_t *b, size_t n_slots, cdtime_t now) {
  uint64_t *hash = calloc(n_slots, sizeof(*hash));
  cdtime_t *forget = calloc(n_slots, sizeof(*forget));
  if (hash == NULL || forget == NULL) {
    free(hash);
    free(forget);
    return -ENOMEM;
  }
  budget_t old = *b;
  b->hash = hash, b->forget = forget, b->n_slots = n_slots, b->count = 0;
  for (size_t i = 0; i < old.n_slots; i++)
    if (old.hash[i] != 0 && old.forget[i] > now) {
      size_t j = slot_of(b, old.hash[i]);
      b->hash[j] = old.hash[i], b->forget[j] = old.forget[i];
      b->count++;
    }
  free(old.hash);
  free(old.forget);
  return 0;
}

/* Whether vl may go: a series known (its time to forget moved on), or a new
 * one within the budget. */
static bool budget_takes(budget_t *b, const value_list_t *vl) {
  uint64_t h = series_hash(vl);
  cdtime_t now = cdtime(), forget = now + 2 * vl->interval;
  pthread_mutex_lock(&b->lock);
  size_t max = atomic_load(&b->max);
  bool ok = true;
  if (b->n_slots == 0 && rebuild(b, 1024, now) != 0)
    ok = false;
  size_t i = ok ? slot_of(b, h) : 0;
  if (ok && b->hash[i] == 0) { /* new */
    /* the forgotten ones no longer count; looked for once a second at
     * most, not at each value refused */
    if (b->count >= max && now - b->swept >= TIME_T_TO_CDTIME_T(1)) {
      b->swept = now;
      if (rebuild(b, b->n_slots, now) == 0)
        i = slot_of(b, h);
    }
    if (b->count >= max)
      ok = false;
    else if (2 * (b->count + 1) > b->n_slots &&
             rebuild(b, 2 * b->n_slots, now) != 0)
      ok = false;
    else {
      i = slot_of(b, h);
      b->hash[i] = h;
      b->count++;
    }
  }
  if (ok)
    b->forget[i] = forget;
  bool say = !ok && !b->said;
  if (!ok) {
    b->refused++;
    b->said = true;
  }
  pthread_mutex_unlock(&b->lock);
  if (say)
    ERROR("%s plugin: host %s: MaxSeries %zu reached: values of new series "
          "are refused (the first: %s/%s-%s), counted in series_refused; "
          "said once",
          vl->plugin, vl->host[0] ? vl->host : "(collectd's)", max,
          vl->plugin_instance, vl->type, vl->type_instance);
  return ok;
}

void gen_dispatch_budget_stats(const char *host, const char *plugin) {
  if (atomic_load(&n_budgets) == 0)
    return;
  pthread_mutex_lock(&budgets_lock);
  budget_t *b = budget_find(host, plugin);
  size_t count = 0;
  uint64_t refused = 0;
  if (b != NULL && atomic_load(&b->max) == 0)
    b = NULL;
  if (b != NULL) {
    pthread_mutex_lock(&b->lock);
    count = b->count, refused = b->refused;
    pthread_mutex_unlock(&b->lock);
  }
  pthread_mutex_unlock(&budgets_lock);
  if (b == NULL)
    return;
  gen_dispatch_self(host, plugin, "series", NULL, false, (double)count);
  gen_dispatch_self(host, plugin, "series_refused", NULL, true,
                    (double)refused);
}

/* ---- fences ------------------------------------------------------------ */
typedef struct {
  char host[DATA_MAX_NAME_LEN], plugin[DATA_MAX_NAME_LEN]; /* written once */
  _Atomic cdtime_t until;
  atomic_uint_fast64_t refused;
} fence_t;

/* Never freed, as budgets: a dispatch may be reading one. */
static fence_t *_Atomic fences[KNOWN_MAX];
static atomic_size_t n_fences;
static pthread_mutex_t fences_lock = PTHREAD_MUTEX_INITIALIZER;

static fence_t *fence_find(const char *host, const char *plugin) {
  size_t n = atomic_load(&n_fences);
  for (size_t i = 0; i < n; i++) {
    fence_t *f = atomic_load(&fences[i]);
    if (strcmp(f->plugin, plugin) == 0 && strcmp(f->host, or_empty(host)) == 0)
      return f;
  }
  return NULL;
}

int gen_dispatch_fence(const char *host, const char *plugin, cdtime_t until) {
  pthread_mutex_lock(&fences_lock);
  fence_t *f = fence_find(host, plugin);
  size_t n = atomic_load(&n_fences);
  if (f == NULL && n < KNOWN_MAX && (f = calloc(1, sizeof(*f))) != NULL) {
    sstrncpy(f->host, or_empty(host), sizeof(f->host));
    sstrncpy(f->plugin, plugin, sizeof(f->plugin));
    atomic_store(&f->until, until);
    atomic_store(&fences[n], f);
    atomic_store(&n_fences, n + 1);
  } else if (f != NULL)
    atomic_store(&f->until, until);
  pthread_mutex_unlock(&fences_lock);
  return f != NULL ? 0 : -ENOMEM;
}

uint64_t gen_dispatch_fenced(const char *host, const char *plugin) {
  fence_t *f = atomic_load(&n_fences) > 0 ? fence_find(host, plugin) : NULL;
  return f != NULL ? atomic_load(&f->refused) : 0;
}

bool gen_dispatch_fence_closed(const char *host, const char *plugin) {
  fence_t *f = atomic_load(&n_fences) > 0 ? fence_find(host, plugin) : NULL;
  return f != NULL && gen_lease_clock() >= atomic_load(&f->until);
}

static int dispatch_n(const gen_ident_t *id, value_t *values, size_t n,
                      cdtime_t time, cdtime_t interval) {
  value_list_t vl;
  if (gen_dispatch_fence_closed(id->host, id->plugin)) {
    atomic_fetch_add(&fence_find(id->host, id->plugin)->refused, 1);
    return -EPERM;
  }
  value_list_of(&vl, id, values, n, time, interval);
  /* self-metrics are never refused: they say what was */
  budget_t *b =
      atomic_load(&n_budgets) > 0 && strcmp(vl.plugin_instance, "self") != 0
          ? budget_find(id->host, id->plugin)
          : NULL;
  if (b != NULL && atomic_load(&b->max) > 0 && !budget_takes(b, &vl))
    return -ENOSPC;
  int status = plugin_dispatch_values(&vl);
  return status == 0 ? 0 : (status > 0 ? -status : status);
}

static int dispatch(const gen_ident_t *id, value_t value, cdtime_t time,
                    cdtime_t interval) {
  return dispatch_n(id, &value, 1, time, interval);
}

int gen_dispatch_gauges(const gen_ident_t *id, const double *values, size_t n,
                        cdtime_t time, cdtime_t interval) {
  value_t v[GEN_DISPATCH_GAUGES_MAX];
  if (n == 0 || n > GEN_DISPATCH_GAUGES_MAX)
    return -EINVAL;
  for (size_t k = 0; k < n; k++)
    v[k].gauge = values[k];
  return dispatch_n(id, v, n, time, interval);
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

void gen_dispatch_self_rows(const char *host, const char *plugin,
                            const gen_self_row_t *rows, size_t n) {
  for (size_t i = 0; i < n; i++)
    gen_dispatch_self(host, plugin, rows[i].type, rows[i].type_instance,
                      rows[i].derive, rows[i].value);
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
