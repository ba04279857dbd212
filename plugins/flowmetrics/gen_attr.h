/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: metric attributes, the approach of seed 004.
 *
 * An Architect flow marks a moment by setting a participant data attribute
 * whose name follows a format, by default
 *   <FlowName>Metric_<MetricName>(<ISO-8601 UTC time>)
 * e.g. "CustomerRoutingMetric_Unknown(2023-03-05T08:18:04.568Z)". The time
 * makes each name unique, so one conversation can set the same metric many
 * times. Every event about a conversation repeats all its attributes, so
 * each distinct name is counted once per conversation: the ledger keeps,
 * per conversation (known by the 64-bit hash of its id), the 64-bit hashes
 * of the names it has counted: up to four in the conversation's 64-byte
 * entry, more in a sorted array of their own. All conversations are one
 * array of such entries, found through a table of 4-byte entry numbers:
 * about 75 bytes a conversation of a few names (bench/bench_attr.c). At
 * most max_names are counted per conversation: a flow that
 * sets names without end would cost memory and time; its further names
 * are refused (stats: refused, each name once per conversation and run
 * although every event repeats it).
 *
 * Bounded memory: a conversation is forgotten when it has been quiet for
 * OpenTTL (FinishedTTL once it is known to be over); past MaxConversations
 * the least recently seen is forgotten first. Distinct (flow, metric) series
 * are limited too; names beyond the limit count under one overflow series.
 *
 * Survives a restart: every newly counted name is appended to a journal
 * (one write(2) per event, which a killed process does not lose) before the
 * caller acknowledges the event; a periodic snapshot (gen_attr_snapshot_write,
 * lines of the caller's state file, gf_state) starts a new journal
 * generation.
 * Loading replays the journals not yet folded into the snapshot; the replay
 * is idempotent, so a crash between snapshot and clean-up counts nothing
 * twice.
 */
#ifndef GEN_ATTR_H
#define GEN_ATTR_H 1

#include "collectd/core/daemon/collectd.h"

#include "gen_buf.h"

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gen_log_org gen_log_org_t; /* gen_log.h */

/* Longest flow or metric name kept (longer ones are cut). */
#define GEN_ATTR_NAME_MAX 128

/* The default attribute name format as a POSIX extended regular
 * expression: group 1 is the flow, 2 the metric, 3 the time. */
#define GEN_ATTR_DEFAULT_PATTERN                                               \
  "^(.+)Metric_([^()]+)\\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"      \
  "[0-9]{2}(\\.[0-9]+)?Z)\\)$"

typedef struct gen_attr_format_s gen_attr_format_t;

/* Compiles a format: pattern (NULL = the default) and the numbers of the
 * parenthesised groups that hold the flow name, the metric name and the
 * time (time_group 0 = the format has no time). A time group must hold an
 * ISO-8601 time for the name to count. Returns 0, or -EINVAL with the
 * reason in err. */
int gen_attr_format_create(const char *pattern, int flow_group,
                           int metric_group, int time_group,
                           gen_attr_format_t **out, char *err, size_t err_size);
void gen_attr_format_free(gen_attr_format_t *format);

/* True when name is a metric attribute; copies its flow and metric names
 * (each at most GEN_ATTR_NAME_MAX bytes with the NUL, cut on a character
 * boundary). A name that is not valid UTF-8, or holds a control character
 * (C0, DEL, C1), is none: it would become a label no backend can take. */
bool gen_attr_format_match(const gen_attr_format_t *format, const char *name,
                           char *flow, char *metric);

typedef struct {
  size_t max_series;         /* distinct (flow, metric) pairs */
  size_t max_conversations;  /* conversations remembered */
  size_t max_names;          /* names counted per conversation; 0 = any */
  cdtime_t open_ttl;         /* forget a conversation quiet this long */
  cdtime_t finished_ttl;     /* … or this long once it is over */
  const char *overflow_name; /* flow and metric of the overflow series */
  const gen_log_org_t *who;  /* whose lines (borrowed) */
} gen_attr_options_t;

typedef struct {
  atomic_uint_fast64_t events;     /* observe calls */
  atomic_uint_fast64_t attributes; /* metric attributes seen, repeats too */
  atomic_uint_fast64_t counted;    /* counted (new per conversation) */
  atomic_uint_fast64_t over_limit; /* counted under the overflow series */
  atomic_uint_fast64_t refused;    /* not counted: past max_names */
  atomic_uint_fast64_t expired;    /* conversations forgotten by age */
  atomic_uint_fast64_t evicted;    /* … by MaxConversations */
  atomic_uint_fast64_t journal_errors;
  atomic_uint_fast64_t invalid; /* names not UTF-8 text: not counted */
  /* entries of the state file refused alone (a total not in [0, 2^53]) */
  atomic_uint_fast64_t state_refused;
} gen_attr_stats_t;

typedef struct gen_attr_ledger_s gen_attr_ledger_t;

/* A series changed: its new total. Called with the ledger locked, so the
 * values of one series leave in order. */
typedef void (*gen_attr_counted_cb)(void *ud, const char *flow,
                                    const char *metric, uint64_t total);

/* format and options (strings too) are borrowed for the ledger's life.
 * journal_base NULL: no journal (tests, or no state directory). */
gen_attr_ledger_t *gen_attr_ledger_create(const gen_attr_format_t *format,
                                          const gen_attr_options_t *options,
                                          const char *journal_base);
void gen_attr_ledger_free(gen_attr_ledger_t *ledger);

/* Restoring, before anything is counted: the lines of the state file
 * (gen_attr_take_line), then gen_attr_recover() with the generation of
 * their snapshot; or gen_attr_restore() of the form before lines. An entry
 * not as we write it (a series' total not in [0, 2^53], a conversation row
 * not one) is refused alone, logged and counted (stats' state_refused):
 * that series restarts at zero (that conversation is forgotten), the others
 * go on. */
/* A line of the state file, the number-th: 1 when it is not one of ours,
 * else 0 (taken or refused). */
int gen_attr_take_line(gen_attr_ledger_t *ledger, json_object *line,
                       size_t number);
/* Replays the journals from generation on (0: every one), then opens a
 * fresh journal. 0 or a negative errno (the journal cannot be opened, with
 * a reason in err); the ledger is usable either way. */
int gen_attr_recover(gen_attr_ledger_t *ledger, uint64_t generation, char *err,
                     size_t err_size);
/* A snapshot of the form before lines (one document; NULL = none), then
 * gen_attr_recover() from its generation. */
int gen_attr_restore(gen_attr_ledger_t *ledger, json_object *snapshot,
                     char *err, size_t err_size);

/* One event about a conversation: all its attribute names (any names; only
 * metric attributes count). finished: the conversation is known to be over.
 * Returns how many names were newly counted (already journalled), or a
 * negative errno. */
int gen_attr_observe(gen_attr_ledger_t *ledger, const char *conversation_id,
                     const char *const *names, size_t n, bool finished,
                     cdtime_t now, gen_attr_counted_cb cb, void *ud);
/* The same, for an event that is acknowledged once counted: when its
 * journal lines cannot be written nothing is counted and a negative errno
 * is returned (gen_attr_observe() counts then anyway: the count stands
 * until a crash). */
int gen_attr_observe_durable(gen_attr_ledger_t *ledger,
                             const char *conversation_id,
                             const char *const *names, size_t n, bool finished,
                             cdtime_t now, gen_attr_counted_cb cb, void *ud);

/* Forgets conversations past their TTL. */
void gen_attr_expire(gen_attr_ledger_t *ledger, cdtime_t now);

/* Appends the whole state to out, a line a series and a conversation
 * (gen_attr_take_line reads them), and starts a new journal generation
 * (*generation). head, when not NULL, is called first with that generation
 * (the caller's header line before the ledger's). flush, when not NULL, is
 * called after each conversation to pass on what out holds
 * (gen_state_stream_flush: a state file written as it is made); an error
 * of either stops the snapshot. 0 or the first error, a negative errno;
 * the ledger is locked throughout. After the caller has stored the text,
 * gen_attr_snapshot_stored() removes the journals it folded in. */
int gen_attr_snapshot_write(gen_attr_ledger_t *ledger, gen_buf_t *out,
                            int (*head)(void *ud, uint64_t generation),
                            int (*flush)(void *ud), void *ud,
                            uint64_t *generation);
void gen_attr_snapshot_stored(gen_attr_ledger_t *ledger, uint64_t generation);

/* Calls cb for every series (for the periodic re-dispatch), or for those
 * counted since the last call of either (a series counted many times
 * once), and clears their marks. */
void gen_attr_foreach(gen_attr_ledger_t *ledger, gen_attr_counted_cb cb,
                      void *ud);
void gen_attr_foreach_changed(gen_attr_ledger_t *ledger, gen_attr_counted_cb cb,
                              void *ud);

size_t gen_attr_conversations(gen_attr_ledger_t *ledger);
size_t gen_attr_series(gen_attr_ledger_t *ledger);
gen_attr_stats_t *gen_attr_stats(gen_attr_ledger_t *ledger);

#endif /* GEN_ATTR_H */
