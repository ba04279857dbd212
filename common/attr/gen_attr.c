/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: metric attributes (see gen_attr.h).
 */
#include "gen_attr.h"
#include "gen_buf.h"
#include "gen_config.h"
#include "gen_journal.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_time.h"
#include "gen_utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
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

typedef struct conv_s {
  struct conv_s *older, *newer; /* recency list */
  /* The hashes of the names counted (no values): a conversation with many
   * names costs no more per lookup than one with few. */
  gen_map64_t names;
  uint32_t refused; /* most new names one event had past max_names */
  cdtime_t last_seen;
  bool finished;
  char id[];
} conv_t;

typedef struct {
  /* The flow (str[0]) and the metric (str[1]), one allocation with their
   * text: the index's key, where the array's moves do not reach it. */
  gen_key_t *key;
  uint64_t total;
  bool changed; /* counted since the last gen_attr_foreach*() */
} series_t;

struct gen_attr_ledger_s {
  pthread_mutex_t lock;
  const gen_attr_format_t *format;
  gen_attr_options_t opt;
  gen_attr_stats_t stats;
  gen_ratelimit_t complain;
  gen_ratelimit_t complain_names; /* its own: not hidden by the others */

  gen_map_t convs; /* id -> conv_t */
  size_t n_convs;
  conv_t *oldest, *newest;

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
  if (gen_journal_init(&l->journal, journal_base, l->opt.who,
                       &l->stats.journal_errors) != 0) {
    gen_attr_ledger_free(l);
    return NULL;
  }
  return l;
}

static void conv_free(conv_t *c) {
  gen_map64_free(&c->names);
  free(c);
}

void gen_attr_ledger_free(gen_attr_ledger_t *l) {
  if (l == NULL)
    return;
  for (conv_t *c = l->oldest; c != NULL;) {
    conv_t *next = c->newer;
    conv_free(c);
    c = next;
  }
  for (size_t i = 0; i < l->n_series; i++)
    free(l->series[i].key);
  free(l->series);
  gen_map_free(&l->series_index);
  gen_map_free(&l->convs);
  gen_journal_fini(&l->journal);
  pthread_mutex_destroy(&l->lock);
  free(l);
}

/* ---- conversations ------------------------------------------------------- */

static conv_t *conv_find(gen_attr_ledger_t *l, const char *id) {
  return gen_map_get(&l->convs, id);
}

static void unlink_recency(gen_attr_ledger_t *l, conv_t *c) {
  if (c->older)
    c->older->newer = c->newer;
  else
    l->oldest = c->newer;
  if (c->newer)
    c->newer->older = c->older;
  else
    l->newest = c->older;
  c->older = c->newer = NULL;
}

static void append_recency(gen_attr_ledger_t *l, conv_t *c) {
  c->older = l->newest;
  c->newer = NULL;
  if (l->newest)
    l->newest->newer = c;
  else
    l->oldest = c;
  l->newest = c;
}

static void conv_remove(gen_attr_ledger_t *l, conv_t *c) {
  gen_map_del(&l->convs, c->id, NULL);
  unlink_recency(l, c);
  l->n_convs--;
  conv_free(c);
}

static conv_t *conv_add(gen_attr_ledger_t *l, const char *id, cdtime_t now) {
  if (l->opt.max_conversations > 0 && l->n_convs >= l->opt.max_conversations &&
      l->oldest != NULL) {
    conv_remove(l, l->oldest);
    atomic_fetch_add(&l->stats.evicted, 1);
    gen_log_org(l->opt.who, &l->complain, LOG_WARNING,
                "more than %zu conversations with metric attributes "
                "at once; the least recently seen are forgotten (raise "
                "MaxConversations)",
                l->opt.max_conversations);
  }
  size_t len = strlen(id);
  conv_t *c = calloc(1, sizeof(*c) + len + 1);
  if (c == NULL)
    return NULL;
  memcpy(c->id, id, len + 1);
  c->last_seen = now;
  if (gen_map_put(&l->convs, c->id, c) != 0) {
    free(c);
    return NULL;
  }
  append_recency(l, c);
  l->n_convs++;
  return c;
}

static size_t names_count(const conv_t *c) {
  return gen_map64_count(&c->names);
}

static bool conv_has(const conv_t *c, uint64_t h) {
  return gen_map64_find(&c->names, h, NULL);
}

/* Adds h (not yet there). 0 or -ENOMEM. */
static int conv_note(conv_t *c, uint64_t h) {
  return gen_map64_put(&c->names, h, NULL);
}

/* Takes back h, noted by an event that then could not be journalled. */
static void conv_unnote(conv_t *c, uint64_t h) {
  gen_map64_del(&c->names, h, NULL);
}

static void conv_touch(gen_attr_ledger_t *l, conv_t *c, cdtime_t now,
                       bool finished) {
  if (now > c->last_seen)
    c->last_seen = now;
  c->finished = c->finished || finished;
  unlink_recency(l, c);
  append_recency(l, c);
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

/* Appends one journal line to buf. */
static int journal_line(gen_buf_t *buf, const char *conv, uint64_t h,
                        const series_t *s) {
  json_object *o = json_object_new_object();
  char hex[17];
  snprintf(hex, sizeof(hex), "%016" PRIx64, h);
  json_object_object_add(o, "c", json_object_new_string(conv));
  json_object_object_add(o, "h", json_object_new_string(hex));
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
  pthread_mutex_lock(&l->lock);
  conv_t *c = conv_find(l, conversation_id);
  for (size_t i = 0; i < n; i++) {
    if (!gen_utf8_text_str(names[i])) {
      invalid++;
      continue;
    }
    if (!gen_attr_format_match(l->format, names[i], flow, metric))
      continue;
    atomic_fetch_add(&l->stats.attributes, 1);
    if (c == NULL && (c = conv_add(l, conversation_id, now)) == NULL)
      break;
    uint64_t h = gen_hash_id(names[i]);
    if (conv_has(c, h))
      continue;
    if (l->opt.max_names > 0 && names_count(c) >= l->opt.max_names) {
      refused++;
      continue;
    }
    bool over;
    series_t *s = series_resolve(l, flow, metric, &over);
    /* Noted now so that a repeat within this event is known too; taken
     * back below if the event is not journalled. */
    if (s == NULL || conv_note(c, h) != 0)
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
    s->total++;
    s->changed = true;
    l->n_changed++;
    atomic_fetch_add(&l->stats.counted, 1);
    if (todo[j].over)
      atomic_fetch_add(&l->stats.over_limit, 1);
    if (cb)
      cb(ud, flow_of(s), metric_of(s), s->total);
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
    conv_touch(l, c, now, finished);
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
  for (conv_t *c = l->oldest; c != NULL;) {
    conv_t *next = c->newer;
    cdtime_t ttl = c->finished ? l->opt.finished_ttl : l->opt.open_ttl;
    if (now > c->last_seen && now - c->last_seen >= ttl) {
      conv_remove(l, c);
      atomic_fetch_add(&l->stats.expired, 1);
    }
    c = next;
  }
  pthread_mutex_unlock(&l->lock);
}

/* ---- snapshot and restore ------------------------------------------------ */

json_object *gen_attr_snapshot(gen_attr_ledger_t *l) {
  json_object *doc = json_object_new_object();
  json_object *series = json_object_new_array();
  json_object *convs = json_object_new_array();
  pthread_mutex_lock(&l->lock);
  for (size_t i = 0; i < l->n_series; i++) {
    json_object *s = json_object_new_array();
    json_object_array_add(s, json_object_new_string(flow_of(&l->series[i])));
    json_object_array_add(s, json_object_new_string(metric_of(&l->series[i])));
    json_object_array_add(s,
                          json_object_new_int64((int64_t)l->series[i].total));
    json_object_array_add(series, s);
  }
  for (conv_t *c = l->oldest; c != NULL; c = c->newer) {
    json_object *o = json_object_new_array();
    json_object *names = json_object_new_array();
    json_object_array_add(o, json_object_new_string(c->id));
    json_object_array_add(
        o, json_object_new_int64(gen_cdtime_to_ms(c->last_seen)));
    json_object_array_add(o, json_object_new_boolean(c->finished));
    size_t pos = 0;
    uint64_t h;
    while (gen_map64_next(&c->names, &pos, &h, NULL)) {
      char hex[17];
      snprintf(hex, sizeof(hex), "%016" PRIx64, h);
      json_object_array_add(names, json_object_new_string(hex));
    }
    json_object_array_add(o, names);
    json_object_array_add(convs, o);
  }
  /* Everything up to here is in the snapshot; later counts go to the next
   * journal, which a restore replays on top of it. */
  uint64_t generation = gen_journal_rotate(&l->journal);
  json_object_object_add(doc, "generation",
                         json_object_new_int64((int64_t)generation));
  pthread_mutex_unlock(&l->lock);
  json_object_object_add(doc, "series", series);
  json_object_object_add(doc, "conversations", convs);
  return doc;
}

static uint64_t snapshot_generation(json_object *snapshot) {
  int64_t g = 0;
  if (snapshot == NULL || !gen_json_get_int64(snapshot, "generation", &g) ||
      g < 0)
    return 0;
  return (uint64_t)g;
}

void gen_attr_snapshot_stored(gen_attr_ledger_t *l, json_object *snapshot) {
  uint64_t g = snapshot_generation(snapshot);
  pthread_mutex_lock(&l->lock);
  gen_journal_stored(&l->journal, g);
  pthread_mutex_unlock(&l->lock);
}

static bool parse_hex(const char *s, uint64_t *out) {
  if (s == NULL || strlen(s) != 16)
    return false;
  char *end;
  errno = 0;
  *out = strtoull(s, &end, 16);
  return errno == 0 && *end == '\0';
}

/* A snapshot with a count or time that is not one we wrote (1e300, text,
 * a negative count) is refused whole: restoring the rest would count
 * wrongly from then on. */
static int snapshot_check(json_object *snapshot, char *err, size_t err_size) {
  json_object *series = gen_json_get_array(snapshot, "series");
  size_t n = series ? json_object_array_length(series) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *s = json_object_array_get_idx(series, i);
    int64_t total;
    if (json_object_is_type(s, json_type_array) &&
        json_object_array_length(s) == 3 &&
        (!gen_json_int64_of(json_object_array_get_idx(s, 2), &total) ||
         total < 0)) {
      snprintf(err, err_size, "series %zu: total %.40s is not a count", i,
               json_object_to_json_string(json_object_array_get_idx(s, 2)));
      return -ERANGE;
    }
  }
  json_object *convs = gen_json_get_array(snapshot, "conversations");
  n = convs ? json_object_array_length(convs) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(convs, i);
    int64_t seen_ms;
    if (json_object_is_type(o, json_type_array) &&
        json_object_array_length(o) == 4 &&
        !gen_json_int64_of(json_object_array_get_idx(o, 1), &seen_ms)) {
      snprintf(err, err_size, "conversation %zu: time %.40s is not one", i,
               json_object_to_json_string(json_object_array_get_idx(o, 1)));
      return -ERANGE;
    }
  }
  return 0;
}

static void restore_snapshot(gen_attr_ledger_t *l, json_object *snapshot,
                             cdtime_t now) {
  json_object *series = gen_json_get_array(snapshot, "series");
  size_t n = series ? json_object_array_length(series) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *s = json_object_array_get_idx(series, i);
    if (!json_object_is_type(s, json_type_array) ||
        json_object_array_length(s) != 3)
      continue;
    const char *flow = json_object_get_string(json_object_array_get_idx(s, 0));
    const char *metric =
        json_object_get_string(json_object_array_get_idx(s, 1));
    int64_t total = json_object_get_int64(json_object_array_get_idx(s, 2));
    /* Names are text: a state file written by an older version, or by
     * hand, gives back no name a backend cannot take. */
    if (!gen_utf8_text_str(flow) || !gen_utf8_text_str(metric) || total < 0 ||
        series_find(l, flow, metric) >= 0)
      continue;
    ssize_t k = series_add(l, flow, metric);
    if (k < 0)
      continue;
    l->series[k].total = (uint64_t)total;
    if (!is_overflow(l, flow, metric))
      l->n_named++;
  }
  json_object *convs = gen_json_get_array(snapshot, "conversations");
  n = convs ? json_object_array_length(convs) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(convs, i);
    if (!json_object_is_type(o, json_type_array) ||
        json_object_array_length(o) != 4)
      continue;
    const char *id = json_object_get_string(json_object_array_get_idx(o, 0));
    int64_t seen_ms = json_object_get_int64(json_object_array_get_idx(o, 1));
    bool finished = json_object_get_boolean(json_object_array_get_idx(o, 2));
    json_object *names = json_object_array_get_idx(o, 3);
    if (id == NULL || id[0] == '\0' || conv_find(l, id) != NULL ||
        !json_object_is_type(names, json_type_array))
      continue;
    conv_t *c = conv_add(l, id, now);
    if (c == NULL)
      continue;
    cdtime_t seen = gen_ms_to_cdtime(seen_ms);
    c->last_seen = seen < now ? seen : now;
    c->finished = finished;
    for (size_t k = 0; k < json_object_array_length(names); k++) {
      uint64_t h;
      if (parse_hex(json_object_get_string(json_object_array_get_idx(names, k)),
                    &h) &&
          !conv_has(c, h))
        conv_note(c, h); /* counted before: no max_names */
    }
  }
}

typedef struct {
  gen_attr_ledger_t *ledger;
  cdtime_t now;
  bool discard;
} replay_ctx_t;

/* Replays one journal line: a name counted for a conversation. */
static void replay_line(void *ud, const char *text, size_t len) {
  replay_ctx_t *ctx = ud;
  gen_attr_ledger_t *l = ctx->ledger;
  if (ctx->discard)
    return;
  json_object *o = NULL;
  char why[64];
  if (gen_json_parse(text, len, 4, &o, why, sizeof(why)) != 0)
    return;
  const char *conv = gen_json_get_string(o, "c");
  const char *flow = gen_json_get_string(o, "f");
  const char *metric = gen_json_get_string(o, "m");
  uint64_t h;
  if (conv != NULL && conv[0] != '\0' && gen_utf8_text_str(flow) &&
      gen_utf8_text_str(metric) && parse_hex(gen_json_get_string(o, "h"), &h)) {
    conv_t *c = conv_find(l, conv);
    if (c == NULL)
      c = conv_add(l, conv, ctx->now);
    /* Journalled names were counted: max_names does not apply. */
    if (c != NULL && !conv_has(c, h) && conv_note(c, h) == 0) {
      bool over;
      series_t *s = series_resolve(l, flow, metric, &over);
      if (s != NULL)
        s->total++;
    }
  }
  json_object_put(o);
}

int gen_attr_restore(gen_attr_ledger_t *l, json_object *snapshot, char *err,
                     size_t err_size) {
  cdtime_t now = cdtime();
  uint64_t g = snapshot_generation(snapshot);
  char why[128];
  int refused =
      snapshot != NULL ? snapshot_check(snapshot, why, sizeof(why)) : 0;
  pthread_mutex_lock(&l->lock);
  if (snapshot != NULL && refused == 0)
    restore_snapshot(l, snapshot, now);
  /* A refused snapshot takes the journal after it along (its lines alone
   * would count part of the history); a fresh journal opens either way. */
  replay_ctx_t ctx = {.ledger = l, .now = now, .discard = refused != 0};
  int status = gen_journal_recover(&l->journal, g, replay_line, &ctx);
  if (refused != 0)
    snprintf(err, err_size,
             "state refused (%s): metric attribute counters restart at zero",
             why);
  else if (status != 0)
    snprintf(err, err_size,
             "cannot open the journal (%s): the receiver refuses events "
             "(503) and attributes from the topics survive no crash until "
             "it can",
             gen_strerror(status));
  if (status == 0)
    status = refused;
  pthread_mutex_unlock(&l->lock);
  return status;
}

static void each_series(gen_attr_ledger_t *l, bool all, gen_attr_counted_cb cb,
                        void *ud) {
  pthread_mutex_lock(&l->lock);
  for (size_t i = 0; i < l->n_series && (all || l->n_changed > 0); i++)
    if (all || l->series[i].changed) {
      l->series[i].changed = false;
      cb(ud, flow_of(&l->series[i]), metric_of(&l->series[i]),
         l->series[i].total);
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
