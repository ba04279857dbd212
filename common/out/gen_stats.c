/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: self-metrics of the shared core.
 */
#include "gen_stats.h"

#include "gen_hash.h"
#include "gen_names.h"

#include <stdio.h>
#include <string.h>

void gen_stats_init(gen_stats_t *stats) {
  *stats = (gen_stats_t){0}; /* every counter 0, no hub's share */
}

/* A counter with the hub's share added. */
#define SUM(stats, field)                                                      \
  (atomic_load(&(stats)->field) +                                              \
   ((stats)->also != NULL ? atomic_load(&(stats)->also->field) : 0))

void gen_stats_count_request(gen_stats_t *stats, long http_status) {
  size_t slot = (http_status >= 100 && http_status < 600)
                    ? (size_t)http_status
                    : GEN_STATS_TRANSPORT_ERROR;
  atomic_fetch_add(&stats->requests[slot], 1);
  if (http_status == 429)
    atomic_fetch_add(&stats->rate_limited, 1);
}

static void unknown_lock(gen_unknown_t *u) {
  while (atomic_flag_test_and_set_explicit(&u->lock, memory_order_acquire))
    ;
}

static void unknown_unlock(gen_unknown_t *u) {
  atomic_flag_clear_explicit(&u->lock, memory_order_release);
}

/* The slot of "<family>-<field>": found, added, or GEN_UNKNOWN_FIELDS
 * ("other") when the table is full. Under the lock. */
static size_t unknown_slot(gen_unknown_t *u, const char *name, bool add) {
  for (size_t i = 0; i < u->n_fields; i++)
    if (strcmp(u->field[i], name) == 0)
      return i;
  if (!add || u->n_fields == GEN_UNKNOWN_FIELDS)
    return GEN_UNKNOWN_FIELDS;
  snprintf(u->field[u->n_fields], sizeof(u->field[0]), "%s", name);
  return u->n_fields++;
}

/* "<family>-<field>", a space of a family's name ("call quality") made '_'
 * so that the type instance is one word. */
static void unknown_name(char *buf, size_t size, const char *family,
                         const char *field) {
  snprintf(buf, size, "%s-%s", family, field);
  for (char *c = buf; *c != '\0'; c++)
    if (*c == ' ')
      *c = '_';
}

bool gen_stats_unknown(gen_stats_t *stats, const gen_log_org_t *who,
                       const char *family, const char *field,
                       const char *word) {
  gen_unknown_t *u = &stats->unknown;
  char name[sizeof(u->field[0])];
  unknown_name(name, sizeof(name), family, field);
  if (word == NULL)
    word = "";
  uint64_t h =
      gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, name, strlen(name) + 1);
  h = gen_hash_fnv1a64_bytes(h, word, strlen(word));
  bool is_new = true, say_full = false;
  unknown_lock(u);
  u->count[unknown_slot(u, name, true)]++;
  for (size_t i = 0; i < u->n_words && is_new; i++)
    is_new = u->word[i] != h;
  if (is_new && u->n_words < GEN_UNKNOWN_WORDS)
    u->word[u->n_words++] = h;
  else if (is_new) {
    say_full = !u->words_full_said;
    u->words_full_said = true;
    is_new = false;
  }
  unknown_unlock(u);
  /* The word is Genesys's text: shown as a name (no control characters, no
   * line breaks, valid UTF-8), cut at 64 bytes. */
  char shown[65];
  gen_sanitize_name(word, shown, sizeof(shown));
  if (is_new)
    gen_log_org(who, NULL, LOG_WARNING,
                "%s: %s \"%s\" is not a value this version knows; "
                "counted in unknown_values",
                family, field, shown);
  else if (say_full)
    gen_log_org(who, NULL, LOG_WARNING,
                "%d unknown words logged; further new ones are only counted "
                "in unknown_values",
                GEN_UNKNOWN_WORDS);
  return is_new;
}

bool gen_unknown_note(const gen_unknown_sink_t *sink, const char *field,
                      const char *word) {
  if (sink == NULL || sink->stats == NULL || word == NULL || word[0] == '\0')
    return false;
  return gen_stats_unknown(sink->stats, sink->who, sink->family, field, word);
}

uint64_t gen_stats_unknown_count(gen_stats_t *stats, const char *family,
                                 const char *field) {
  gen_unknown_t *u = &stats->unknown;
  char name[sizeof(u->field[0])];
  unknown_name(name, sizeof(name), family, field);
  unknown_lock(u);
  size_t i = unknown_slot(u, name, false);
  uint64_t n = i < GEN_UNKNOWN_FIELDS ? u->count[i] : 0;
  unknown_unlock(u);
  return n;
}

/* unknown_values per "<family>-<field>", once one was met. */
static void unknown_dispatch(gen_unknown_t *u, const char *host,
                             const char *plugin) {
  char field[GEN_UNKNOWN_FIELDS + 1][sizeof(u->field[0])];
  uint64_t count[GEN_UNKNOWN_FIELDS + 1];
  unknown_lock(u);
  size_t n = u->n_fields;
  memcpy(field, u->field, sizeof(u->field));
  memcpy(count, u->count, sizeof(count));
  unknown_unlock(u);
  snprintf(field[n], sizeof(field[n]), "other");
  count[n] = count[GEN_UNKNOWN_FIELDS];
  for (size_t i = 0; i <= n; i++)
    if (count[i] > 0)
      gen_dispatch_self(host, plugin, "unknown_values", field[i], true,
                        (double)count[i]);
}

void gen_stats_dispatch(gen_stats_t *stats, const char *host,
                        const char *plugin) {
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(stats->requests); i++) {
    uint64_t n = SUM(stats, requests[i]);
    if (n == 0)
      continue;
    char status[24] = "transport_error";
    if (i != GEN_STATS_TRANSPORT_ERROR)
      snprintf(status, sizeof(status), "%zu", i);
    gen_dispatch_self(host, plugin, "api_requests", status, true, (double)n);
  }
  const gen_self_row_t rows[] = {
      {"api_retries", NULL, true, (double)SUM(stats, retries)},
      {"api_rate_limited", NULL, true, (double)SUM(stats, rate_limited)},
      {"token_refreshes", NULL, true, (double)SUM(stats, token_refreshes)},
      {"token_failures", NULL, true, (double)SUM(stats, token_failures)},
      {"api_bytes", "received", true, (double)SUM(stats, bytes_received)},
      {"api_bytes", "sent", true, (double)SUM(stats, bytes_sent)},
      {"malformed_documents", NULL, true, (double)SUM(stats, malformed)},
      {"api_answers_too_large", NULL, true, (double)SUM(stats, too_large)},
  };
  gen_dispatch_self_rows(host, plugin, rows, STATIC_ARRAY_SIZE(rows));
  int64_t allowed = atomic_load(&stats->ratelimit_allowed);
  if (allowed > 0) {
    int64_t used = atomic_load(&stats->ratelimit_count);
    double headroom = (double)(allowed - used) / (double)allowed;
    gen_dispatch_self(host, plugin, "api_ratelimit_headroom", NULL, false,
                      headroom < 0 ? 0 : headroom);
  }
  unknown_dispatch(&stats->unknown, host, plugin);
}
