/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: durable keyed counters, totals that survive restarts and
 * SIGKILL, for counts a plugin makes itself from events (genesys_flowmetrics'
 * flow records).
 *
 * A counter is a typed key (gen_key_t) and a total that only goes up, to
 * 2^53 (where it stops: gen_count_add).
 * Every increment is journalled (gen_journal: one write(2), which a killed
 * process does not lose) before the owner dispatches it. The owner's state
 * file holds the totals and the journal generation they are as of (two
 * members of its document, named by the owner); restoring takes them and
 * replays the journals from there. The text of a key there is the owner's
 * (its writer), and each one read back passes through its reader, which
 * makes the key of it or refuses it: the files outlive versions.
 *
 * An increment marks its counter changed, for the owner's next dispatch of
 * what changed (gen_counters_each).
 *
 * Not locked: the owner serialises calls.
 */
#ifndef GEN_COUNTERS_H
#define GEN_COUNTERS_H 1

#include "collectd/core/daemon/collectd.h"

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gen_map.h"

typedef struct gen_log_org gen_log_org_t; /* gen_log.h */

/* The longest text of a key, its NUL included. A text holds no newline (it
 * is one journal line). */
#define GEN_COUNTERS_KEY_SIZE 512

/* A key's text in the state file and the journals: 0, or non-zero when it
 * has none (does not fit size, GEN_COUNTERS_KEY_SIZE, bytes). */
typedef int (*gen_counters_write_fn)(const gen_key_t *key, char *out,
                                     size_t size);
/* A text read back from the state file or a journal: the key it counts
 * under, its strings in buf (size GEN_COUNTERS_KEY_SIZE), or false to drop
 * it (not a text the owner writes). */
typedef bool (*gen_counters_read_fn)(const char *text, gen_key_t *key,
                                     char *buf, size_t size);

typedef struct {
  const char *totals_name;     /* member of the state document: "flows" */
  const char *generation_name; /* "flow_generation" */
  gen_counters_write_fn write_key;
  gen_counters_read_fn read_key;
  const gen_log_org_t *who; /* whose lines (borrowed) */
  atomic_uint_fast64_t *journal_errors;
} gen_counters_options_t;

typedef struct gen_counters_s gen_counters_t;

/* options (strings too) are borrowed for the counters' life. journal_base
 * NULL: no journal. NULL when out of memory. */
gen_counters_t *gen_counters_new(const gen_counters_options_t *options,
                                 const char *journal_base);
void gen_counters_free(gen_counters_t *c);

/* Adds one to the counter key (copied when new), journalled first (a failed
 * write is logged and counted by the journal; the count stands until a
 * crash). Returns the counter's index, or -1 when it cannot be counted (out
 * of memory, or a key whose text does not fit). */
ssize_t gen_counters_increment(gen_counters_t *c, const gen_key_t *key);

/* Counters by index, in the order they were first counted. */
size_t gen_counters_count(const gen_counters_t *c);
const gen_key_t *gen_counters_key(const gen_counters_t *c, size_t i);
uint64_t gen_counters_total(const gen_counters_t *c, size_t i);

/* Calls each(ud, i) for every counter (all) or for those incremented since
 * the last call, once each, and clears the marks. */
void gen_counters_each(gen_counters_t *c, bool all,
                       void (*each)(void *ud, size_t i), void *ud);

/* Takes the totals of the state document doc (NULL: none) read from the
 * file path (for the log). A total we did not write (1e300, text, negative,
 * beyond 2^53) is refused alone, logged with its key: that counter
 * restarts at zero (with the journals' increments after it), every other
 * goes on. Returns how many were refused. */
size_t gen_counters_restore(gen_counters_t *c, json_object *doc,
                            const char *path);

/* Replays the journals from doc's generation on and opens a fresh one. 0, or
 * -EIO when no journal can be written (the counters then survive no crash). */
int gen_counters_recover(gen_counters_t *c, json_object *doc);

/* Adds the totals and their generation to doc; later increments go to the
 * next journal. Returns the generation, for gen_counters_stored() once doc
 * is stored. */
uint64_t gen_counters_snapshot(gen_counters_t *c, json_object *doc);
/* The document of that generation is stored: the journals it holds go. */
void gen_counters_stored(gen_counters_t *c, uint64_t generation);

#endif /* GEN_COUNTERS_H */
