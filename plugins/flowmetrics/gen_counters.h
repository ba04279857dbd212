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
 * file holds the totals, a line each (gen_counters_print), and the journal
 * generation they are as of (in the owner's header); restoring takes them
 * and replays the journals from there. The text of a key there is the owner's
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

#include "gen_buf.h"
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
  const char *totals_name; /* a line's member in the state file: "flows" */
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

/* Restoring, before anything is counted: the totals of the state file
 * read from path (for the log), then gen_counters_recover(). A total we did
 * not write (1e300, text, negative, beyond 2^53, a second one of a key) is
 * refused alone, logged with its key (the first GEN_STATE_REFUSED_LOGGED)
 * and counted (gen_counters_refused): that counter restarts at zero (with
 * the journals' increments after it), every other goes on. */
/* The form before lines: the totals_name member of doc (NULL: none), an
 * object of key texts and totals. Returns how many were refused. */
size_t gen_counters_restore(gen_counters_t *c, json_object *doc,
                            const char *path);
/* A line of the state file: 1 when it is not one of ours, else 0 (taken or
 * refused). Ours is {"<totals_name>":["<key text>",<total>]}. */
int gen_counters_take_line(gen_counters_t *c, json_object *line,
                           const char *path);
size_t gen_counters_refused(const gen_counters_t *c);

/* Replays the journals from the state file's generation on (0: none) and
 * opens a fresh one; logs how many totals were refused in all. 0, or -EIO
 * when no journal can be written (the counters then survive no crash). */
int gen_counters_recover(gen_counters_t *c, uint64_t generation,
                         const char *path);

/* Appends a line a counter to out (gen_counters_take_line reads them) and
 * starts the next journal: *generation, for the state file's header and
 * gen_counters_stored() once the file is stored. 0 or -ENOMEM. */
int gen_counters_print(gen_counters_t *c, gen_buf_t *out, uint64_t *generation);
/* The file of that generation is stored: the journals it holds go. */
void gen_counters_stored(gen_counters_t *c, uint64_t generation);

#endif /* GEN_COUNTERS_H */
