/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: self-metrics of the shared core, per plugin instance.
 *
 * Counters are atomics so that the streaming thread and the read callback
 * can both update them. gen_stats_dispatch() sends them as DERIVE values
 * (and the rate-limit headroom as a gauge) under plugin_instance "self".
 */
#ifndef GEN_STATS_H
#define GEN_STATS_H 1

#include "gen_dispatch.h"

#include "gen_log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Slot for requests that got no HTTP status (connect, TLS, timeout). */
#define GEN_STATS_TRANSPORT_ERROR 0

/* Values a reader met and does not know (a status, state, presence or enum
 * value Genesys added after this version), per family and field: counted,
 * never a reason to refuse the rest of an answer. Fields past
 * GEN_UNKNOWN_FIELDS are counted under "other"; new words are logged once
 * each, up to GEN_UNKNOWN_WORDS, then once more to say the rest are not. */
#define GEN_UNKNOWN_FIELDS 24
#define GEN_UNKNOWN_WORDS 64
typedef struct {
  atomic_flag lock;
  size_t n_fields, n_words;
  bool words_full_said;
  char field[GEN_UNKNOWN_FIELDS][48];     /* "<family>-<field>" */
  uint64_t count[GEN_UNKNOWN_FIELDS + 1]; /* the last: "other" */
  uint64_t word[GEN_UNKNOWN_WORDS];       /* hashes of family, field, word */
} gen_unknown_t;

typedef struct gen_stats_s {
  /* Requests by HTTP status 100-599; slot 0 = transport errors. */
  atomic_uint_fast64_t requests[600];
  atomic_uint_fast64_t retries;
  atomic_uint_fast64_t rate_limited; /* 429 answers */
  atomic_uint_fast64_t token_refreshes;
  atomic_uint_fast64_t token_failures;
  atomic_uint_fast64_t bytes_received;
  atomic_uint_fast64_t bytes_sent;
  atomic_uint_fast64_t malformed; /* documents we could not use */
  atomic_uint_fast64_t too_large; /* answers refused beyond their bound */
  /* Last inin-ratelimit-* headers seen; allowed 0 = none seen yet. */
  atomic_int_fast64_t ratelimit_count;
  atomic_int_fast64_t ratelimit_allowed;
  /* Counts added to these when dispatched: the requests of the
   * notification hub this client's instance streams through (set while it
   * is a consumer; NULL otherwise). */
  const struct gen_stats_s *also;
  gen_unknown_t unknown; /* dispatched as unknown_values, its own only */
} gen_stats_t;

void gen_stats_init(gen_stats_t *stats);
void gen_stats_count_request(gen_stats_t *stats, long http_status);

/* Counts one value of family's field (the answer's name of it:
 * "campaignStatus") that the reader does not know, and logs the first
 * time each word is met: '<family>: <field> "<word>" is not a value this
 * version knows; counted in unknown_values' (through who: NULL logs the
 * message alone). Returns true when the word was new. Safe from any thread.
 * The caller then counts the entry under its family's documented "unknown"
 * instance where it has one, or skips that entry alone. A space in family
 * ("call quality") is '_' in the self-metric. */
bool gen_stats_unknown(gen_stats_t *stats, const gen_log_org_t *who,
                       const char *family, const char *field, const char *word);
/* Where a reader without a client (a pure parser) reports a word it does
 * not know: the stats and org its owner counts and logs through, and the
 * family. A NULL sink or stats takes nothing (tests, tools). */
typedef struct {
  gen_stats_t *stats;
  const gen_log_org_t *who;
  const char *family;
} gen_unknown_sink_t;
/* gen_stats_unknown() through sink; false when it took nothing. A NULL or
 * empty word is no value at all, not an unknown one: not counted. */
bool gen_unknown_note(const gen_unknown_sink_t *sink, const char *field,
                      const char *word);
/* The count of unknown values of family's field (tests; 0 when none). */
uint64_t gen_stats_unknown_count(gen_stats_t *stats, const char *family,
                                 const char *field);

/* Dispatches every self-metric with the given host and plugin name. */
void gen_stats_dispatch(gen_stats_t *stats, const char *host,
                        const char *plugin);

#endif /* GEN_STATS_H */
