/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: metric attributes (see gen_attr.h).
 */
#include "gen_attr.h"
#include "gen_buf.h"
#include "gen_config.h"
#include "gen_hash.h"
#include "gen_journal.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_slots.h"
#include "gen_state.h"
#include "gen_time.h"
#include "gen_utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#define GEN_ATTR_MAX_GROUPS 10

struct gen_attr_format_s {
  regex_t re;
  int flow_group, metric_group, time_group;
};

int gen_attr_format_create(const char *pattern, int flow_group,
                           int metric_group, int time_group,
                           gen_attr_format_t **out, char *err,
                           size_t err_size) {
  *out = NULL;
  if (pattern == NULL) {
    pattern = GEN_ATTR_DEFAULT_PATTERN;
    flow_group = 1, metric_group = 2, time_group = 3;
  }
  gen_attr_format_t *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  int status = regcomp(&f->re, pattern, REG_EXTENDED);
  if (status != 0) {
    char why[128];
    regerror(status, &f->re, why, sizeof(why));
    snprintf(err, err_size, "not a POSIX extended regular expression: %s", why);
    free(f);
    return -EINVAL;
  }
  int groups = (int)f->re.re_nsub;
  if (groups >= GEN_ATTR_MAX_GROUPS || flow_group < 1 || metric_group < 1 ||
      time_group < 0 || flow_group > groups || metric_group > groups ||
      time_group > groups || flow_group == metric_group) {
    snprintf(err, err_size,
             "the pattern has %d groups (at most %d); the flow and metric "
             "groups must be two different ones of them, the time group one "
             "of them or 0",
             groups, GEN_ATTR_MAX_GROUPS - 1);
    regfree(&f->re);
    free(f);
    return -EINVAL;
  }
  f->flow_group = flow_group;
  f->metric_group = metric_group;
  f->time_group = time_group;
  *out = f;
  return 0;
}

void gen_attr_format_free(gen_attr_format_t *format) {
  if (format == NULL)
    return;
  regfree(&format->re);
  free(format);
}

static bool copy_group(const char *name, const regmatch_t *m, char *out,
                       size_t size) {
  if (m->rm_so < 0 || m->rm_eo <= m->rm_so)
    return false;
  size_t len = (size_t)(m->rm_eo - m->rm_so);
  if (len >= size) {
    len = size - 1;
    /* Cut on a character boundary: the state file gives back only text. */
    while (len > 0 && ((unsigned char)name[m->rm_so + len] & 0xC0) == 0x80)
      len--;
  }
  memcpy(out, name + m->rm_so, len);
  out[len] = '\0';
  return true;
}

bool gen_attr_format_match(const gen_attr_format_t *format, const char *name,
                           char *flow, char *metric) {
  regmatch_t m[GEN_ATTR_MAX_GROUPS];
  if (!gen_utf8_text_str(name) ||
      regexec(&format->re, name, GEN_ATTR_MAX_GROUPS, m, 0) != 0)
    return false;
  if (!copy_group(name, &m[format->flow_group], flow, GEN_ATTR_NAME_MAX) ||
      !copy_group(name, &m[format->metric_group], metric, GEN_ATTR_NAME_MAX))
    return false;
  if (format->time_group > 0) {
    char text[GEN_TIME_STRLEN + 16];
    int64_t ms;
    if (!copy_group(name, &m[format->time_group], text, sizeof(text)) ||
        gen_time_parse(text, &ms) != 0)
      return false;
  }
  return true;
}

/* ---- the ledger ---------------------------------------------------------- */

/* Names counted inline, in the conversation's entry: most conversations
 * pass a flow or two that set a few. More go to a sorted array of their
 * own, which a runaway flow grows only up to max_names. */
#define INLINE_NAMES 4
#define SPILL_MIN 8

/* A conversation is known by gen_hash_id (FNV-1a 64) of its id, not by the
 * id text (a uuid: 37 bytes more). A new id whose hash a remembered one
 * has would be taken for it: its names go into the other's set, and only
 * a name that one counted too (the same flow, metric and time to the
 * millisecond) would go uncounted. With 200,000 conversations remembered
 * a new one meets a hash held with a chance of 200,000 / 2^64, about
 * 1e-14: at 53 new conversations a second, once in 50,000 years. */
typedef struct {
  uint64_t key;
  cdtime_t last_seen;
  int32_t older, newer; /* recency list; the free list uses newer */
  uint32_t refused;     /* most new names one event had past max_names */
  unsigned n_names : 31;
  unsigned finished : 1;
  union {
    uint64_t inline_names[INLINE_NAMES]; /* n_names <= INLINE_NAMES */
    struct {
      uint64_t *sorted; /* n_names > INLINE_NAMES, ascending */
      uint32_t cap;
    } spill;
  } names;
} conv_t;

_Static_assert(sizeof(conv_t) <= 64, "a conversation is one cache line");

#define NAMES_MAX ((1u << 31) - 1) /* n_names' bits */

typedef struct {
  /* The flow (str[0]) and the metric (str[1]), one allocation with their
   * text: the index's key, where the array's moves do not reach it. */
  gen_key_t *key;
  int64_t total; /* at most 2^53 (gen_count_add) */
  bool changed;  /* counted since the last gen_attr_foreach*() */
} series_t;

struct gen_attr_ledger_s {
  pthread_mutex_t lock;
  const gen_attr_format_t *format;
  gen_attr_options_t opt;
  gen_attr_stats_t stats;
  gen_ratelimit_t complain;
  gen_ratelimit_t complain_names; /* its own: not hidden by the others */
  uint64_t refused_before;        /* stats.state_refused as a restore began */

  /* Conversations in one array, reused through its slots' free list;
   * found by their key through index, which holds 4-byte entry numbers
   * and has room for every slot used. */
  conv_t *convs;
  gen_slots_t slots; /* of convs; its max is MaxConversations' */
  size_t n_convs;
  int32_t oldest, newest; /* -1: none */
  gen_index_t index;

  series_t *series;
  size_t n_series, cap_series;
  gen_map_t series_index; /* (flow, metric) -> index in series */
  size_t n_named;         /* series other than the overflow one */
  size_t n_changed;       /* series marked changed (some may be cleared) */

  gen_journal_t journal;
};

static const char *flow_of(const series_t *s) { return s->key->str[0]; }
static const char *metric_of(const series_t *s) { return s->key->str[1]; }

gen_attr_ledger_t *gen_attr_ledger_create(const gen_attr_format_t *format,
                                          const gen_attr_options_t *options,
                                          const char *journal_base) {
  gen_attr_ledger_t *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return NULL;
  pthread_mutex_init(&l->lock, NULL);
  l->format = format;
  l->opt = *options;
  l->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  l->complain_names = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  l->series_index.kind = GEN_MAP_KEY;
  /* No bound (0) is the most entry numbers, int32_t. */
  gen_slots_init(&l->slots, sizeof(conv_t), offsetof(conv_t, newer),
                 l->opt.max_conversations);
  l->oldest = l->newest = -1;
  if (gen_journal_init(&l->journal, journal_base, l->opt.who,
                       &l->stats.journal_errors) != 0) {
    gen_attr_ledger_free(l);
    return NULL;
  }
  return l;
}

static void names_free(conv_t *c) {
  if (c->n_names > INLINE_NAMES)
    free(c->names.spill.sorted);
  c->n_names = 0;
}

void gen_attr_ledger_free(gen_attr_ledger_t *l) {
  if (l == NULL)
    return;
  for (int32_t i = l->oldest; i >= 0; i = l->convs[i].newer)
    names_free(&l->convs[i]);
  gen_slots_free(&l->slots, (void **)&l->convs);
  gen_index_free(&l->index);
  for (size_t i = 0; i < l->n_series; i++)
    free(l->series[i].key);
  free(l->series);
  gen_map_free(&l->series_index);
  gen_journal_fini(&l->journal);
  pthread_mutex_destroy(&l->lock);
  free(l);
}

/* ---- conversations ------------------------------------------------------- */

static uint64_t conv_hash(const void *owner, uint32_t item) {
  const gen_attr_ledger_t *l = owner;
  return l->convs[item].key;
}

static bool conv_equal(const void *owner, uint32_t item, const void *key) {
  const gen_attr_ledger_t *l = owner;
  return l->convs[item].key == *(const uint64_t *)key;
}

static const gen_index_ops_t conv_ops = {conv_hash, conv_equal};

/* Room in the index for every slot used: adding a taken entry cannot fail. */
static int conv_room(void *owner, size_t n) {
  gen_attr_ledger_t *l = owner;
  return gen_index_reserve(&l->index, &conv_ops, l, n);
}

/* The entry of the conversation of key, or -1. */
static int32_t conv_find(const gen_attr_ledger_t *l, uint64_t key) {
  return (int32_t)gen_index_find(&l->index, &conv_ops, l, &key, key);
}

static void unlink_recency(gen_attr_ledger_t *l, int32_t i) {
  conv_t *c = &l->convs[i];
  if (c->older >= 0)
    l->convs[c->older].newer = c->newer;
  else
    l->oldest = c->newer;
  if (c->newer >= 0)
    l->convs[c->newer].older = c->older;
  else
    l->newest = c->older;
  c->older = c->newer = -1;
}

static void append_recency(gen_attr_ledger_t *l, int32_t i) {
  conv_t *c = &l->convs[i];
  c->older = l->newest;
  c->newer = -1;
  if (l->newest >= 0)
    l->convs[l->newest].newer = i;
  else
    l->oldest = i;
  l->newest = i;
}

static void conv_remove(gen_attr_ledger_t *l, int32_t i) {
  conv_t *c = &l->convs[i];
  gen_index_del(&l->index, &conv_ops, l, (uint32_t)i, c->key);
  unlink_recency(l, i);
  names_free(c);
  gen_slots_put(&l->slots, l->convs, i);
  l->n_convs--;
}

/* A new conversation of key (not yet there): its entry, or a negative
 * errno. Past the slots' max the least recently seen makes room. */
static int32_t conv_add(gen_attr_ledger_t *l, uint64_t key, cdtime_t now) {
  if (l->n_convs >= l->slots.max && l->oldest >= 0) {
    conv_remove(l, l->oldest);
    atomic_fetch_add(&l->stats.evicted, 1);
    gen_log_org(l->opt.who, &l->complain, LOG_WARNING,
                "more than %zu conversations with metric attributes "
                "at once; the least recently seen are forgotten (raise "
                "MaxConversations)",
                l->slots.max);
  }
  /* The array grows (doubling, up to the max) with room in the index
   * kept, so adding to the index then cannot fail. */
  int32_t i = gen_slots_take(&l->slots, (void **)&l->convs, conv_room, l);
  if (i < 0)
    return i;
  conv_t *c = &l->convs[i];
  *c = (conv_t){.key = key, .last_seen = now};
  gen_index_add(&l->index, &conv_ops, l, (uint32_t)i, key); /* room kept */
  append_recency(l, i);
  l->n_convs++;
  return i;
}

/* Where h is among the spilled names, or where it would go. */
static size_t spill_pos(const conv_t *c, uint64_t h) {
  size_t lo = 0, hi = c->n_names;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->names.spill.sorted[mid] < h)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool conv_has(const conv_t *c, uint64_t h) {
  if (c->n_names > INLINE_NAMES) {
    size_t i = spill_pos(c, h);
    return i < c->n_names && c->names.spill.sorted[i] == h;
  }
  for (size_t i = 0; i < c->n_names; i++)
    if (c->names.inline_names[i] == h)
      return true;
  return false;
}

/* Adds h (not yet there); max_names bounds the spilled array's growth
 * (0: none). 0, -ENOMEM or -EOVERFLOW. */
static int conv_note(conv_t *c, uint64_t h, size_t max_names) {
  size_t n = c->n_names;
  if (n < INLINE_NAMES) {
    c->names.inline_names[c->n_names++] = h;
    return 0;
  }
  if (n >= NAMES_MAX)
    return -EOVERFLOW;
  uint64_t *sorted = n > INLINE_NAMES ? c->names.spill.sorted : NULL;
  size_t cap = n > INLINE_NAMES ? c->names.spill.cap : 0;
  /* Restored and replayed names were counted before a max_names that may
   * have been lowered since: past it the array just doubles. */
  size_t limit = max_names > n ? max_names : NAMES_MAX;
  int err = gen_grow_max((void **)&sorted, &cap, n + 1, sizeof(*sorted),
                         SPILL_MIN, limit);
  if (err != 0)
    return err;
  if (n == INLINE_NAMES) {
    memcpy(sorted, c->names.inline_names, sizeof(c->names.inline_names));
    qsort(sorted, n, sizeof(*sorted), gen_hash_cmp);
  }
  c->names.spill.sorted = sorted;
  c->names.spill.cap = (uint32_t)cap;
  size_t i = spill_pos(c, h);
  memmove(sorted + i + 1, sorted + i, (n - i) * sizeof(*sorted));
  sorted[i] = h;
  c->n_names++;
  return 0;
}

/* Takes back h, noted by an event that then could not be journalled. */
static void conv_unnote(conv_t *c, uint64_t h) {
  size_t n = c->n_names;
  if (n <= INLINE_NAMES) {
    for (size_t i = 0; i < n; i++)
      if (c->names.inline_names[i] == h) {
        c->names.inline_names[i] = c->names.inline_names[n - 1];
        c->n_names--;
        return;
      }
    return;
  }
  uint64_t *sorted = c->names.spill.sorted;
  size_t i = spill_pos(c, h);
  if (i == n || sorted[i] != h)
    return;
  memmove(sorted + i, sorted + i + 1, (n - i - 1) * sizeof(*sorted));
  c->n_names--;
  if (c->n_names == INLINE_NAMES) {
    memcpy(c->names.inline_names, sorted, sizeof(c->names.inline_names));
    free(sorted);
  }
}

/* The names counted, n_names of them. */
static const uint64_t *conv_names(const conv_t *c) {
  return c->n_names > INLINE_NAMES ? c->names.spill.sorted
                                   : c->names.inline_names;
}

static void conv_touch(gen_attr_ledger_t *l, int32_t i, cdtime_t now,
                       bool finished) {
  conv_t *c = &l->convs[i];
  if (now > c->last_seen)
    c->last_seen = now;
  c->finished = c->finished || finished;
  unlink_recency(l, i);
  append_recency(l, i);
}

/* ---- series -------------------------------------------------------------- */

static ssize_t series_find(const gen_attr_ledger_t *l, const char *flow,
                           const char *metric) {
  gen_key_t k = {{flow, metric}, 0};
  void *i;
  return gen_map_find(&l->series_index, &k, &i) ? (ssize_t)gen_map_to_index(i)
                                                : -1;
}

static ssize_t series_add(gen_attr_ledger_t *l, const char *flow,
                          const char *metric) {
  size_t lf = strlen(flow) + 1, lm = strlen(metric) + 1;
  if (gen_grow((void **)&l->series, &l->cap_series, l->n_series + 1,
               sizeof(*l->series), 16) != 0)
    return -ENOMEM;
  gen_key_t *k = malloc(sizeof(*k) + lf + lm);
  if (k == NULL)
    return -ENOMEM;
  char *text = (char *)(k + 1);
  memcpy(text, flow, lf);
  memcpy(text + lf, metric, lm);
  *k = (gen_key_t){{text, text + lf}, 0};
  if (gen_map_put(&l->series_index, k, gen_map_index(l->n_series)) != 0) {
    free(k);
    return -ENOMEM;
  }
  l->series[l->n_series] = (series_t){.key = k};
  return (ssize_t)l->n_series++;
}

static bool is_overflow(const gen_attr_ledger_t *l, const char *flow,
                        const char *metric) {
  return strcmp(flow, l->opt.overflow_name) == 0 &&
         strcmp(metric, l->opt.overflow_name) == 0;
}

/* The series a (flow, metric) counts under: its own, or past the limit the
 * overflow series. *over tells which. */
/* One more for s: its total stops at 2^53 (the state file keeps no more),
 * logged. */
static void series_count(gen_attr_ledger_t *l, series_t *s) {
  if (!gen_count_add(&s->total, 1))
    gen_log_org(l->opt.who, &l->complain, LOG_WARNING,
                "metric attribute %s of flow %s: total stopped at 2^53",
                metric_of(s), flow_of(s));
}

static series_t *series_resolve(gen_attr_ledger_t *l, const char *flow,
                                const char *metric, bool *over) {
  *over = false;
  ssize_t i = series_find(l, flow, metric);
  if (i >= 0)
    return &l->series[i];
  if (!is_overflow(l, flow, metric) && l->n_named >= l->opt.max_series) {
    *over = true;
    gen_log_org(l->opt.who, &l->complain, LOG_WARNING,
                "metric \"%s\" of flow \"%s\" is past MaxMetricNames "
                "(%zu distinct names); counted as \"%s\"",
                metric, flow, l->opt.max_series, l->opt.overflow_name);
    flow = metric = l->opt.overflow_name;
    i = series_find(l, flow, metric);
    if (i >= 0)
      return &l->series[i];
  }
  i = series_add(l, flow, metric);
  if (i < 0)
    return NULL;
  if (!is_overflow(l, flow, metric))
    l->n_named++;
  return &l->series[i];
}

/* ---- journal ------------------------------------------------------------- */

/* A hash as the journal and the snapshot write it: 16 hex digits. */
static json_object *hex_of(uint64_t h) {
  char hex[GEN_HEX64_LEN + 1];
  gen_hex64_format(hex, h);
  hex[GEN_HEX64_LEN] = '\0';
  return json_object_new_string(hex);
}

/* Appends one journal line to buf. */
static int journal_line(gen_buf_t *buf, const char *conv, uint64_t h,
                        const series_t *s) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "c", json_object_new_string(conv));
  json_object_object_add(o, "h", hex_of(h));
  json_object_object_add(o, "f", json_object_new_string(flow_of(s)));
  json_object_object_add(o, "m", json_object_new_string(metric_of(s)));
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  int err = gen_buf_printf(buf, "%s\n", text);
  json_object_put(o);
  return err;
}

/* ---- observing ----------------------------------------------------------- */

typedef struct {
  uint64_t h;
  size_t series; /* an index: a later name's new series may move them */
  bool over;
} todo_t;

/* durable: nothing is counted unless its journal line is written (the
 * receiver's 200 promises it); else a failed write is counted and logged
 * and the counts stand (a socket's event cannot be refused). */
static int observe(gen_attr_ledger_t *l, const char *conversation_id,
                   const char *const *names, size_t n, bool finished,
                   cdtime_t now, gen_attr_counted_cb cb, void *ud,
                   bool durable) {
  if (conversation_id == NULL || conversation_id[0] == '\0')
    return -EINVAL;
  atomic_fetch_add(&l->stats.events, 1);
  char flow[GEN_ATTR_NAME_MAX], metric[GEN_ATTR_NAME_MAX];
  gen_buf_t journal = GEN_BUF_INIT(SIZE_MAX);
  /* First what would be counted, then the journal, then the counts. */
  todo_t *todo = calloc(n ? n : 1, sizeof(*todo));
  if (todo == NULL)
    return -ENOMEM;
  size_t k = 0, refused = 0, invalid = 0;
  int status = 0;
  uint64_t key = gen_hash_id(conversation_id);
  pthread_mutex_lock(&l->lock);
  int32_t ci = conv_find(l, key);
  /* Stays put: no other conversation is added until the unlock. */
  conv_t *c = ci >= 0 ? &l->convs[ci] : NULL;
  for (size_t i = 0; i < n; i++) {
    if (!gen_utf8_text_str(names[i])) {
      invalid++;
      continue;
    }
    if (!gen_attr_format_match(l->format, names[i], flow, metric))
      continue;
    atomic_fetch_add(&l->stats.attributes, 1);
    if (c == NULL) {
      if ((ci = conv_add(l, key, now)) < 0)
        break;
      c = &l->convs[ci];
    }
    uint64_t h = gen_hash_id(names[i]);
    if (conv_has(c, h))
      continue;
    if (l->opt.max_names > 0 && c->n_names >= l->opt.max_names) {
      refused++;
      continue;
    }
    bool over;
    series_t *s = series_resolve(l, flow, metric, &over);
    /* Noted now so that a repeat within this event is known too; taken
     * back below if the event is not journalled. */
    if (s == NULL || conv_note(c, h, l->opt.max_names) != 0)
      continue;
    todo[k++] =
        (todo_t){.h = h, .series = (size_t)(s - l->series), .over = over};
    if (gen_journal_wanted(&l->journal) &&
        journal_line(&journal, conversation_id, h, s) != 0)
      status = -ENOMEM;
  }
  if (status == 0 && k > 0)
    status = gen_journal_append(&l->journal, journal.data, journal.len);
  if (status != 0 && durable) {
    for (size_t j = 0; j < k; j++)
      conv_unnote(c, todo[j].h);
    pthread_mutex_unlock(&l->lock);
    gen_buf_free(&journal);
    free(todo);
    return status;
  }
  for (size_t j = 0; j < k; j++) {
    series_t *s = &l->series[todo[j].series];
    series_count(l, s);
    s->changed = true;
    l->n_changed++;
    atomic_fetch_add(&l->stats.counted, 1);
    if (todo[j].over)
      atomic_fetch_add(&l->stats.over_limit, 1);
    if (cb)
      cb(ud, flow_of(s), metric_of(s), (uint64_t)s->total);
  }
  /* Every event repeats all the conversation's names, the refused ones
   * too: only refusals beyond the event that refused most count. */
  if (c != NULL && refused > c->refused) {
    atomic_fetch_add(&l->stats.refused, refused - c->refused);
    c->refused = refused < UINT32_MAX ? (uint32_t)refused : UINT32_MAX;
    gen_log_org(l->opt.who, &l->complain_names, LOG_WARNING,
                "a conversation has more than %zu metric attribute "
                "names; %zu of them are not counted (raise "
                "MaxAttributesPerConversation)",
                l->opt.max_names, refused);
  }
  if (c != NULL)
    conv_touch(l, ci, now, finished);
  pthread_mutex_unlock(&l->lock);
  if (invalid > 0) {
    /* A name of a byte that is no UTF-8 (0xff) or with a control character
     * would reach a backend as a label it cannot take. */
    atomic_fetch_add(&l->stats.invalid, invalid);
    gen_log_org(l->opt.who, &l->complain_names, LOG_WARNING,
                "%zu attribute name(s) of an event refused: not valid "
                "UTF-8 or with control characters",
                invalid);
  }
  gen_buf_free(&journal);
  free(todo);
  return (int)k;
}

int gen_attr_observe(gen_attr_ledger_t *l, const char *conversation_id,
                     const char *const *names, size_t n, bool finished,
                     cdtime_t now, gen_attr_counted_cb cb, void *ud) {
  return observe(l, conversation_id, names, n, finished, now, cb, ud, false);
}

int gen_attr_observe_durable(gen_attr_ledger_t *l, const char *conversation_id,
                             const char *const *names, size_t n, bool finished,
                             cdtime_t now, gen_attr_counted_cb cb, void *ud) {
  return observe(l, conversation_id, names, n, finished, now, cb, ud, true);
}

void gen_attr_expire(gen_attr_ledger_t *l, cdtime_t now) {
  pthread_mutex_lock(&l->lock);
  for (int32_t i = l->oldest; i >= 0;) {
    const conv_t *c = &l->convs[i];
    int32_t next = c->newer;
    cdtime_t ttl = c->finished ? l->opt.finished_ttl : l->opt.open_ttl;
    if (now > c->last_seen && now - c->last_seen >= ttl) {
      conv_remove(l, i);
      atomic_fetch_add(&l->stats.expired, 1);
    }
    i = next;
  }
  pthread_mutex_unlock(&l->lock);
}

/* ---- snapshot and restore ------------------------------------------------ */

/* The snapshot's conversations, one string each under CONVS_ROWS: "<key>
 * <last seen, ms> <0|1 finished>[ <name>…]", the key and the names the
 * hashes of the id and of the names in 16 hex digits. One json-c string a
 * conversation when the file is read back: 200,000 as arrays were 400,000
 * containers (more than gen_json reads) and about 180 MB. Earlier versions
 * wrote [key, last seen, finished, [names]] arrays, still read: under
 * CONVS_BY_KEY the key in hex, under CONVS_BY_ID the id itself. In the
 * state file of lines a row is a line of its own, under CONVS_LINE. */
#define CONVS_LINE "conv"
#define CONVS_ROWS "conversation_rows"
#define CONVS_BY_KEY "conversation_keys"
#define CONVS_BY_ID "conversations"

typedef struct {
  uint64_t key;
  int64_t seen_ms;
  bool finished;
  const char *names; /* "" or "<name>[ <name>…]" */
} row_t;

static bool row_parse(const char *s, row_t *r) {
  const char *after;
  if (!gen_hex64_parse(s, &r->key, &after) || after[0] != ' ' ||
      !(after[1] == '-' || (after[1] >= '0' && after[1] <= '9')))
    return false;
  char *end;
  errno = 0;
  long long ms = strtoll(after + 1, &end, 10);
  if (errno != 0 || end[0] != ' ' || (end[1] != '0' && end[1] != '1') ||
      (end[2] != '\0' && end[2] != ' ') || (end[2] == ' ' && end[3] == '\0'))
    return false;
  r->seen_ms = ms;
  r->finished = end[1] == '1';
  r->names = end[2] == '\0' ? end + 2 : end + 3;
  uint64_t h;
  for (const char *p = r->names; *p != '\0'; p = after + 1) {
    if (!gen_hex64_parse(p, &h, &after) || (*after != ' ' && *after != '\0'))
      return false;
    if (*after == '\0')
      break;
    if (after[1] == '\0')
      return false; /* a trailing space */
  }
  return true;
}

/* A conversation's row, as a JSON string. */
static int conv_print(gen_buf_t *out, const conv_t *c) {
  int err = gen_buf_add(out, "\"", 1);
  if (err == 0)
    err = gen_buf_add_hex64(out, c->key);
  if (err == 0)
    err = gen_buf_add(out, " ", 1);
  if (err == 0)
    err = gen_buf_add_int64(out, gen_cdtime_to_ms(c->last_seen));
  if (err == 0)
    err = gen_buf_add_str(out, c->finished ? " 1" : " 0");
  const uint64_t *h = conv_names(c);
  for (size_t k = 0; err == 0 && k < c->n_names; k++) {
    err = gen_buf_add(out, " ", 1);
    if (err == 0)
      err = gen_buf_add_hex64(out, h[k]);
  }
  return err != 0 ? err : gen_buf_add(out, "\"", 1);
}

/* Printed, not built as a json-c tree: at MaxConversations the tree took
 * about 900 bytes a conversation (180 MB at 200,000), every save. A line a
 * series, {"series":[flow,metric,total]}, and a conversation,
 * {"conv":"<row>"}. */
int gen_attr_snapshot_write(gen_attr_ledger_t *l, gen_buf_t *out,
                            int (*head)(void *ud, uint64_t generation),
                            int (*flush)(void *ud), void *ud,
                            uint64_t *generation) {
  pthread_mutex_lock(&l->lock);
  /* Everything counted up to here is in the snapshot (the ledger is held
   * until it is printed); later counts go to the next journal, which a
   * restore replays on top of it. */
  *generation = gen_journal_rotate(&l->journal);
  int err = head != NULL ? head(ud, *generation) : 0;
  for (size_t i = 0; err == 0 && i < l->n_series; i++) {
    err = gen_buf_add_str(out, "{\"series\":[");
    if (err == 0)
      err = gen_buf_add_json_string(out, flow_of(&l->series[i]));
    if (err == 0)
      err = gen_buf_add(out, ",", 1);
    if (err == 0)
      err = gen_buf_add_json_string(out, metric_of(&l->series[i]));
    if (err == 0)
      err = gen_buf_printf(out, ",%" PRId64 "]}\n", l->series[i].total);
  }
  for (int32_t i = l->oldest; err == 0 && i >= 0; i = l->convs[i].newer) {
    err = gen_buf_add_str(out, "{\"" CONVS_LINE "\":");
    if (err == 0)
      err = conv_print(out, &l->convs[i]);
    if (err == 0)
      err = gen_buf_add_str(out, "}\n");
    if (err == 0 && flush != NULL)
      err = flush(ud);
  }
  pthread_mutex_unlock(&l->lock);
  return err;
}

void gen_attr_snapshot_stored(gen_attr_ledger_t *l, uint64_t generation) {
  pthread_mutex_lock(&l->lock);
  gen_journal_stored(&l->journal, generation);
  pthread_mutex_unlock(&l->lock);
}

static uint64_t snapshot_generation(json_object *snapshot) {
  int64_t g = 0;
  if (snapshot == NULL || !gen_json_get_int64(snapshot, "generation", &g) ||
      g < 0)
    return 0;
  return (uint64_t)g;
}

/* An entry of the snapshot that is not one we wrote (a total of 1e300,
 * text, below zero or beyond 2^53; a conversation row or time not ours) is
 * refused alone: logged (rate-limited), counted (state_refused), that
 * series restarts at zero (a conversation refused is forgotten), the rest
 * is restored. */
static void entry_refused(gen_attr_ledger_t *l, const char *what, size_t i,
                          json_object *value) {
  if (atomic_fetch_add(&l->stats.state_refused, 1) - l->refused_before <
      GEN_STATE_REFUSED_LOGGED)
    gen_log_org(l->opt.who, NULL, LOG_WARNING,
                "state file: metric attributes' %s %zu: %.60s refused (not one "
                "we write); %s",
                what, i, json_object_to_json_string(value),
                strcmp(what, "series") == 0 ? "that series restarts at zero"
                                            : "that conversation is forgotten");
}

/* One of the snapshot's lists of conversations (NULL: none); by_key: the
 * keys in hex, else the ids. */
static void restore_convs(gen_attr_ledger_t *l, json_object *convs, bool by_key,
                          cdtime_t now) {
  size_t n = convs ? json_object_array_length(convs) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(convs, i);
    if (!json_object_is_type(o, json_type_array) ||
        json_object_array_length(o) != 4)
      continue;
    const char *id = json_object_get_string(json_object_array_get_idx(o, 0));
    int64_t seen_ms;
    if (!gen_json_int64_of(json_object_array_get_idx(o, 1), &seen_ms)) {
      entry_refused(l, "conversation", i, o);
      continue;
    }
    bool finished = json_object_get_boolean(json_object_array_get_idx(o, 2));
    json_object *names = json_object_array_get_idx(o, 3);
    uint64_t key;
    if (by_key ? !gen_hex64_parse(id, &key, NULL) : id == NULL || id[0] == '\0')
      continue;
    if (!by_key)
      key = gen_hash_id(id);
    if (conv_find(l, key) >= 0 || !json_object_is_type(names, json_type_array))
      continue;
    int32_t ci = conv_add(l, key, now);
    if (ci < 0)
      continue;
    conv_t *c = &l->convs[ci];
    cdtime_t seen = gen_ms_to_cdtime(seen_ms);
    c->last_seen = seen < now ? seen : now;
    c->finished = finished;
    for (size_t k = 0; k < json_object_array_length(names); k++) {
      uint64_t h;
      if (gen_hex64_parse(
              json_object_get_string(json_object_array_get_idx(names, k)), &h,
              NULL) &&
          !conv_has(c, h))
        conv_note(c, h, 0); /* counted before: no max_names */
    }
  }
}

/* A conversation row, the i-th (for the log): its whole text is checked
 * (row_parse) before any of it is taken, so a bad row leaves nothing
 * behind. */
static void take_row(gen_attr_ledger_t *l, json_object *o, size_t i,
                     cdtime_t now) {
  row_t r;
  if (!json_object_is_type(o, json_type_string) ||
      !row_parse(json_object_get_string(o), &r)) {
    entry_refused(l, "conversation", i, o);
    return;
  }
  if (conv_find(l, r.key) >= 0)
    return;
  int32_t ci = conv_add(l, r.key, now);
  if (ci < 0)
    return;
  conv_t *c = &l->convs[ci];
  cdtime_t seen = gen_ms_to_cdtime(r.seen_ms);
  c->last_seen = seen < now ? seen : now;
  c->finished = r.finished;
  uint64_t h;
  const char *after;
  for (const char *p = r.names; *p != '\0' && gen_hex64_parse(p, &h, &after);
       p = *after == ' ' ? after + 1 : after)
    if (!conv_has(c, h))
      conv_note(c, h, 0); /* counted before: no max_names */
}

/* A series [flow, metric, total], the i-th. */
static void take_series(gen_attr_ledger_t *l, json_object *s, size_t i) {
  int64_t total;
  if (!json_object_is_type(s, json_type_array) ||
      json_object_array_length(s) != 3 ||
      !gen_json_count_of(json_object_array_get_idx(s, 2), &total)) {
    entry_refused(l, "series", i, s);
    return;
  }
  const char *flow = json_object_get_string(json_object_array_get_idx(s, 0));
  const char *metric = json_object_get_string(json_object_array_get_idx(s, 1));
  /* Names are text: a state file written by an older version, or by
   * hand, gives back no name a backend cannot take. */
  if (!gen_utf8_text_str(flow) || !gen_utf8_text_str(metric) ||
      series_find(l, flow, metric) >= 0)
    return;
  ssize_t k = series_add(l, flow, metric);
  if (k < 0)
    return;
  l->series[k].total = total;
  if (!is_overflow(l, flow, metric))
    l->n_named++;
}

/* The snapshot of the form before lines, one document. */
static void restore_snapshot(gen_attr_ledger_t *l, json_object *snapshot,
                             cdtime_t now) {
  json_object *series = gen_json_get_array(snapshot, "series");
  size_t n = series ? json_object_array_length(series) : 0;
  for (size_t i = 0; i < n; i++)
    take_series(l, json_object_array_get_idx(series, i), i);
  restore_convs(l, gen_json_get_array(snapshot, CONVS_BY_ID), false, now);
  restore_convs(l, gen_json_get_array(snapshot, CONVS_BY_KEY), true, now);
  json_object *rows = gen_json_get_array(snapshot, CONVS_ROWS);
  n = rows ? json_object_array_length(rows) : 0;
  for (size_t i = 0; i < n; i++)
    take_row(l, json_object_array_get_idx(rows, i), i, now);
}

int gen_attr_take_line(gen_attr_ledger_t *l, json_object *line, size_t number) {
  json_object *value;
  bool series = json_object_object_get_ex(line, "series", &value);
  if (!series && !json_object_object_get_ex(line, CONVS_LINE, &value))
    return 1;
  pthread_mutex_lock(&l->lock);
  if (series)
    take_series(l, value, number);
  else
    take_row(l, value, number, cdtime());
  pthread_mutex_unlock(&l->lock);
  return 0;
}

typedef struct {
  gen_attr_ledger_t *ledger;
  cdtime_t now;
} replay_ctx_t;

/* Replays one journal line: a name counted for a conversation. */
static int replay_line(void *ud, char *text, size_t len) {
  replay_ctx_t *ctx = ud;
  gen_attr_ledger_t *l = ctx->ledger;
  json_object *o = NULL;
  char why[64];
  if (gen_json_parse(text, len, 4, &o, why, sizeof(why)) != 0)
    return 0;
  const char *conv = gen_json_get_string(o, "c");
  const char *flow = gen_json_get_string(o, "f");
  const char *metric = gen_json_get_string(o, "m");
  uint64_t h;
  if (conv != NULL && conv[0] != '\0' && gen_utf8_text_str(flow) &&
      gen_utf8_text_str(metric) &&
      gen_hex64_parse(gen_json_get_string(o, "h"), &h, NULL)) {
    uint64_t key = gen_hash_id(conv);
    int32_t ci = conv_find(l, key);
    if (ci < 0)
      ci = conv_add(l, key, ctx->now);
    conv_t *c = ci >= 0 ? &l->convs[ci] : NULL;
    /* Journalled names were counted: max_names does not apply. */
    if (c != NULL && !conv_has(c, h) && conv_note(c, h, 0) == 0) {
      bool over;
      series_t *s = series_resolve(l, flow, metric, &over);
      if (s != NULL)
        series_count(l, s);
    }
  }
  json_object_put(o);
  return 0;
}

int gen_attr_recover(gen_attr_ledger_t *l, uint64_t generation, char *err,
                     size_t err_size) {
  pthread_mutex_lock(&l->lock);
  uint64_t refused = atomic_load(&l->stats.state_refused) - l->refused_before;
  /* The journal after it goes on (a refused entry's series from zero). */
  replay_ctx_t ctx = {.ledger = l, .now = cdtime()};
  int status = gen_journal_recover(&l->journal, generation, replay_line, &ctx);
  if (status != 0)
    snprintf(err, err_size,
             "cannot open the journal (%s): the receiver refuses events "
             "(503) and attributes from the topics survive no crash until "
             "it can",
             gen_strerror(status));
  else if (refused > 0)
    gen_log_org(l->opt.who, NULL, LOG_WARNING,
                "state file: %" PRIu64 " metric attribute entries refused in "
                "all, the others restored",
                refused);
  pthread_mutex_unlock(&l->lock);
  return status;
}

int gen_attr_restore(gen_attr_ledger_t *l, json_object *snapshot, char *err,
                     size_t err_size) {
  pthread_mutex_lock(&l->lock);
  l->refused_before = atomic_load(&l->stats.state_refused);
  if (snapshot != NULL)
    restore_snapshot(l, snapshot, cdtime());
  pthread_mutex_unlock(&l->lock);
  return gen_attr_recover(l, snapshot_generation(snapshot), err, err_size);
}

static void each_series(gen_attr_ledger_t *l, bool all, gen_attr_counted_cb cb,
                        void *ud) {
  pthread_mutex_lock(&l->lock);
  for (size_t i = 0; i < l->n_series && (all || l->n_changed > 0); i++)
    if (all || l->series[i].changed) {
      l->series[i].changed = false;
      cb(ud, flow_of(&l->series[i]), metric_of(&l->series[i]),
         (uint64_t)l->series[i].total);
    }
  l->n_changed = 0;
  pthread_mutex_unlock(&l->lock);
}

void gen_attr_foreach(gen_attr_ledger_t *l, gen_attr_counted_cb cb, void *ud) {
  each_series(l, true, cb, ud);
}

void gen_attr_foreach_changed(gen_attr_ledger_t *l, gen_attr_counted_cb cb,
                              void *ud) {
  each_series(l, false, cb, ud);
}

size_t gen_attr_conversations(gen_attr_ledger_t *l) {
  pthread_mutex_lock(&l->lock);
  size_t n = l->n_convs;
  pthread_mutex_unlock(&l->lock);
  return n;
}

size_t gen_attr_series(gen_attr_ledger_t *l) {
  pthread_mutex_lock(&l->lock);
  size_t n = l->n_series;
  pthread_mutex_unlock(&l->lock);
  return n;
}

gen_attr_stats_t *gen_attr_stats(gen_attr_ledger_t *l) { return &l->stats; }
