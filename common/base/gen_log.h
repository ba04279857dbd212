/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: logging for the shared core and the plugins.
 *
 * Every log line of the suite goes through gen_log(), which scrubs every
 * registered secret (client secrets, access tokens, receiver secrets) from
 * the formatted text before it reaches collectd's plugin_log(). Messages
 * start with "<plugin> plugin: " by convention; the caller writes that prefix.
 */
#ifndef GEN_LOG_H
#define GEN_LOG_H 1

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"
#include "gen_err.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

/* The longest line handed to plugin_log(); longer lines are cut. */
#define GEN_LOG_LINE_MAX 1024
/* Text that replaces a secret in a log line. */
#define GEN_REDACTED "<redacted>"
/* Secrets shorter than this are not registered: they would redact ordinary
 * words and a 1-3 byte secret is no secret anyway. */
#define GEN_REDACT_MIN_LEN 4

void gen_log(int level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void gen_vlog(int level, const char *format, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define GEN_ERROR(...) gen_log(LOG_ERR, __VA_ARGS__)
#define GEN_WARNING(...) gen_log(LOG_WARNING, __VA_ARGS__)
#define GEN_NOTICE(...) gen_log(LOG_NOTICE, __VA_ARGS__)
#define GEN_INFO(...) gen_log(LOG_INFO, __VA_ARGS__)

/* Registers a secret so that it never appears in a log line. The registry
 * keeps its own copy (wiped on removal). Returns 0 or a negative errno. */
int gen_redact_add(const char *secret);
/* Removes one registration of a secret (matched by value). */
void gen_redact_remove(const char *secret);
/* Replaces, in place, every registered secret found in buf. */
void gen_redact(char *buf, size_t size);

/* Rate limiter for repeated errors: the first message is logged, later ones
 * at most once per `interval`, each saying how many were suppressed. Safe
 * from several threads at once (a channel thread and the read thread share
 * one): one of them wins the moment and logs. */
typedef struct {
  cdtime_t interval;
  _Atomic cdtime_t last;
  atomic_uint_fast64_t suppressed;
} gen_ratelimit_t;

#define GEN_RATELIMIT_INIT(seconds)                                            \
  { .interval = TIME_T_TO_CDTIME_T(seconds), .last = 0, .suppressed = 0 }

void gen_log_limited(gen_ratelimit_t *rl, int level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Who a line is about: one org of one plugin. Every line about an org goes
 * through gen_log_org() (gen_org_log() in gen_config.h for a gen_org_t), so
 * that it starts "<plugin> plugin: Org "<org>": " whatever the module.
 * A module handed no gen_org_t is handed one by pointer; the strings must
 * outlive the module that holds it. */
typedef struct gen_log_org {
  const char *plugin; /* "genesys_realtime", … */
  const char *org;    /* the <Org "name"> label */
} gen_log_org_t;

/* Logs "<plugin> plugin: Org "<org>": <message>"; a message starting
 * with a space continues the name instead (Org "x" is configured
 * twice). With rl, repeated lines are rate-limited (gen_log_limited). With
 * who or its plugin NULL (unit tests, fuzzers), the message alone. */
void gen_log_org(const gen_log_org_t *who, gen_ratelimit_t *rl, int level,
                 const char *format, ...) __attribute__((format(printf, 4, 5)));
void gen_vlog_org(const gen_log_org_t *who, gen_ratelimit_t *rl, int level,
                  const char *format, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Clock seam: tests replace it to drive rate limiting and expiry. */
extern cdtime_t (*gen_now)(void);

/* Memory for secrets we own (client secrets, tokens, the receiver's secret
 * and key): pages apart from the heap, left out of core dumps
 * (MADV_DONTDUMP), locked in memory where RLIMIT_MEMLOCK allows. NULL when
 * out of memory. Free with gen_free_secret(). */
void *gen_secure_alloc(size_t size);
char *gen_secure_strdup(const char *s);
/* True when p came from gen_secure_alloc() and is not freed (tests). */
bool gen_secure_owns(const void *p);

/* Wipes and frees a string holding a secret: from gen_secure_alloc() (the
 * pages are wiped and unmapped) or, for a caller's own copy, the heap.
 * NULL is fine. */
void gen_free_secret(char *secret);

#endif /* GEN_LOG_H */
