/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: durable keyed counters (see gen_counters.h).
 */
#include "collectd/core/daemon/collectd.h"

#include "gen_counters.h"

#include "gen_buf.h"
#include "gen_journal.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_map.h"
#include "gen_state.h"

#include <errno.h>
#include <inttypes.h>

typedef struct {
  gen_key_t *key; /* one allocation with its strings and its text */
  const char *text;
  int64_t total; /* at most 2^53 (gen_count_add) */
  bool changed;  /* incremented since the last gen_counters_each() */
} entry_t;

struct gen_counters_s {
  gen_counters_options_t options;
  entry_t *items; /* in the order first counted */
  size_t n, cap;
  gen_map_t by_key; /* key (typed) -> index in items */
  size_t *changed;  /* indexes of the counters marked changed */
  size_t n_changed, cap_changed;
  gen_journal_t journal;
  gen_ratelimit_t complain;
  size_t refused; /* totals of the state file refused */
};

gen_counters_t *gen_counters_new(const gen_counters_options_t *options,
                                 const char *journal_base) {
  gen_counters_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->options = *options;
  c->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  c->by_key.kind = GEN_MAP_KEY;
  if (gen_journal_init(&c->journal, journal_base, options->who,
                       options->journal_errors) != 0) {
    gen_counters_free(c);
    return NULL;
  }
  return c;
}

void gen_counters_free(gen_counters_t *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n; i++)
    free(c->items[i].key);
  free(c->items);
  free(c->changed);
  gen_map_free(&c->by_key);
  gen_journal_fini(&c->journal);
  free(c);
}

/* Adds delta to key (a new counter when unknown); its index, or -1. A
 * total stops at 2^53 (the state file keeps no more), logged. */
static ssize_t add(gen_counters_t *c, const gen_key_t *key, int64_t delta) {
  void *found;
  if (gen_map_find(&c->by_key, key, &found)) {
    size_t i = gen_map_to_index(found);
    if (!gen_count_add(&c->items[i].total, delta))
      gen_log_org(c->options.who, &c->complain, LOG_WARNING,
                  "%s \"%.60s\": total stopped at 2^53", c->options.totals_name,
                  c->items[i].text);
    return (ssize_t)i;
  }
  char text[GEN_COUNTERS_KEY_SIZE];
  if (c->options.write_key(key, text, sizeof(text)) != 0 ||
      strchr(text, '\n') != NULL ||
      gen_grow((void **)&c->items, &c->cap, c->n + 1, sizeof(*c->items), 64) !=
          0)
    return -1;
  gen_key_t *k = gen_key_copy_with(key, text);
  if (k == NULL || gen_map_put(&c->by_key, k, gen_map_index(c->n)) != 0) {
    free(k);
    return -1;
  }
  c->items[c->n] = (entry_t){.key = k, .text = gen_key_copy_text(k)};
  gen_count_add(&c->items[c->n].total, delta);
  return (ssize_t)c->n++;
}

ssize_t gen_counters_increment(gen_counters_t *c, const gen_key_t *key) {
  ssize_t i = add(c, key, 1);
  /* Out of memory for the mark: the total leaves with the next re-dispatch. */
  if (i >= 0 && !c->items[i].changed &&
      gen_grow((void **)&c->changed, &c->cap_changed, c->n_changed + 1,
               sizeof(*c->changed), 64) == 0) {
    c->items[i].changed = true;
    c->changed[c->n_changed++] = (size_t)i;
  }
  if (i >= 0 && gen_journal_wanted(&c->journal)) {
    char line[GEN_COUNTERS_KEY_SIZE + 1];
    int n = snprintf(line, sizeof(line), "%s\n", c->items[i].text);
    gen_journal_append(&c->journal, line, (size_t)n);
  }
  return i;
}

size_t gen_counters_count(const gen_counters_t *c) { return c->n; }

const gen_key_t *gen_counters_key(const gen_counters_t *c, size_t i) {
  return c->items[i].key;
}

uint64_t gen_counters_total(const gen_counters_t *c, size_t i) {
  return (uint64_t)c->items[i].total;
}

void gen_counters_each(gen_counters_t *c, bool all,
                       void (*each)(void *ud, size_t i), void *ud) {
  if (all)
    for (size_t i = 0; i < c->n; i++) {
      c->items[i].changed = false;
      each(ud, i);
    }
  for (size_t j = 0; j < c->n_changed; j++)
    if (c->items[c->changed[j]].changed) {
      c->items[c->changed[j]].changed = false;
      each(ud, c->changed[j]);
    }
  c->n_changed = 0;
}

/* A total of the state file for the key text: added when the owner reads
 * the key back (else dropped, as a key we no longer write). A total we did
 * not write (1e300, text, below zero, beyond 2^53), or in lines a second
 * one of a key (the form before lines summed older spellings of one key),
 * is refused alone: logged with its key, counted; that counter starts from
 * zero (with the journals' increments after it), the others go on. */
static void take(gen_counters_t *c, const char *text, json_object *value,
                 bool line, const char *path) {
  char buf[GEN_COUNTERS_KEY_SIZE];
  gen_key_t key;
  int64_t total;
  const char *why = NULL;
  void *found;
  if (!gen_json_count_of(value, &total))
    why = "not a count in [0, 2^53]";
  else if (!c->options.read_key(text, &key, buf, sizeof(buf)))
    return;
  else if (line && gen_map_find(&c->by_key, &key, &found))
    why = "a second total of one key";
  else if (total > 0)
    add(c, &key, total);
  if (why == NULL)
    return;
  if (c->refused++ < GEN_STATE_REFUSED_LOGGED)
    gen_log_org(c->options.who, NULL, LOG_WARNING,
                "state file %s: %s \"%.60s\": %.40s refused (%s); that "
                "counter restarts at zero",
                path, c->options.totals_name, text,
                json_object_to_json_string(value), why);
}

size_t gen_counters_restore(gen_counters_t *c, json_object *doc,
                            const char *path) {
  json_object *totals = gen_json_get_object(doc, c->options.totals_name);
  size_t before = c->refused;
  if (totals != NULL) {
    json_object_object_foreach(totals, key, value)
        take(c, key, value, false, path);
  }
  return c->refused - before;
}

int gen_counters_take_line(gen_counters_t *c, json_object *line,
                           const char *path) {
  json_object *row = NULL;
  if (!json_object_object_get_ex(line, c->options.totals_name, &row))
    return 1;
  bool pair = json_object_is_type(row, json_type_array) &&
              json_object_array_length(row) == 2;
  json_object *key = pair ? json_object_array_get_idx(row, 0) : NULL;
  if (!json_object_is_type(key, json_type_string)) {
    if (c->refused++ < GEN_STATE_REFUSED_LOGGED)
      gen_log_org(c->options.who, NULL, LOG_WARNING,
                  "state file %s: %s %.60s refused (not [key, total])", path,
                  c->options.totals_name, json_object_to_json_string(row));
    return 0;
  }
  take(c, json_object_get_string(key), json_object_array_get_idx(row, 1), true,
       path);
  return 0;
}

size_t gen_counters_refused(const gen_counters_t *c) { return c->refused; }

/* One journalled increment (none when the restore refused the totals). */
static int replay_line(void *ud, char *text, size_t len) {
  gen_counters_t *c = ud;
  char buf[GEN_COUNTERS_KEY_SIZE];
  gen_key_t key;
  if (len > 0 && c->options.read_key(text, &key, buf, sizeof(buf)))
    add(c, &key, 1);
  return 0;
}

int gen_counters_recover(gen_counters_t *c, uint64_t generation,
                         const char *path) {
  if (c->refused > 1)
    gen_log_org(c->options.who, NULL, LOG_WARNING,
                "state file %s: %zu %s totals refused in all", path, c->refused,
                c->options.totals_name);
  return gen_journal_recover(&c->journal, generation, replay_line, c);
}

int gen_counters_print(gen_counters_t *c, gen_buf_t *out,
                       uint64_t *generation) {
  int err = 0;
  for (size_t i = 0; err == 0 && i < c->n; i++) {
    err = gen_buf_printf(out, "{\"%s\":[", c->options.totals_name);
    if (err == 0)
      err = gen_buf_add_json_string(out, c->items[i].text);
    if (err == 0)
      err = gen_buf_printf(out, ",%" PRId64 "]}\n", c->items[i].total);
  }
  /* Increments after this moment go to the next journal. */
  *generation = gen_journal_rotate(&c->journal);
  return err;
}

void gen_counters_stored(gen_counters_t *c, uint64_t generation) {
  gen_journal_stored(&c->journal, generation);
}
