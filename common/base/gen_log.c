/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: logging with secret redaction and rate limiting.
 */
#include "gen_log.h"
#include "gen_buf.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_mutex_t redact_lock = PTHREAD_MUTEX_INITIALIZER;
static char **redact_list;
static size_t redact_count;

static cdtime_t gen_now_impl(void) { return cdtime(); }
cdtime_t (*gen_now)(void) = gen_now_impl;

/* ---- memory for secrets ----------------------------------------------
 * Each secret gets pages of its own, mapped apart from the heap, marked
 * MADV_DONTDUMP (left out of core dumps) and, where RLIMIT_MEMLOCK allows,
 * locked (never swapped); they are wiped before they are unmapped. Secrets
 * are few (a client secret per org, a token per client, the receiver's
 * secret and key), so a page each and a list are enough. */
typedef struct {
  void *map;
  size_t len;
} secure_block_t;

static pthread_mutex_t secure_lock = PTHREAD_MUTEX_INITIALIZER;
static secure_block_t *secure_blocks;
static size_t secure_count, secure_cap;

void *gen_secure_alloc(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t len = (size + page) / page * page; /* at least one byte more */
  void *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    return NULL;
  if (madvise(map, len, MADV_DONTDUMP) != 0) {
    munmap(map, len);
    return NULL;
  }
  (void)mlock(map, len); /* best effort: RLIMIT_MEMLOCK may be small */
  pthread_mutex_lock(&secure_lock);
  if (gen_grow((void **)&secure_blocks, &secure_cap, secure_count + 1,
               sizeof(*secure_blocks), 16) != 0) {
    pthread_mutex_unlock(&secure_lock);
    munlock(map, len);
    munmap(map, len);
    return NULL;
  }
  secure_blocks[secure_count++] = (secure_block_t){.map = map, .len = len};
  pthread_mutex_unlock(&secure_lock);
  return map;
}

char *gen_secure_strdup(const char *s) {
  size_t n = strlen(s);
  char *copy = gen_secure_alloc(n + 1);
  if (copy != NULL)
    memcpy(copy, s, n + 1);
  return copy;
}

bool gen_secure_owns(const void *p) {
  bool found = false;
  pthread_mutex_lock(&secure_lock);
  for (size_t i = 0; i < secure_count && !found; i++)
    found = secure_blocks[i].map == p;
  pthread_mutex_unlock(&secure_lock);
  return found;
}

void gen_free_secret(char *secret) {
  if (secret == NULL)
    return;
  secure_block_t block = {0};
  pthread_mutex_lock(&secure_lock);
  for (size_t i = 0; i < secure_count; i++)
    if (secure_blocks[i].map == secret) {
      block = secure_blocks[i];
      secure_blocks[i] = secure_blocks[--secure_count];
      break;
    }
  pthread_mutex_unlock(&secure_lock);
  if (block.map != NULL) {
    explicit_bzero(block.map, block.len);
    munlock(block.map, block.len);
    munmap(block.map, block.len);
    return;
  }
  /* A secret on the ordinary heap (a caller's own copy). */
  OPENSSL_cleanse(secret, strlen(secret));
  free(secret);
}

int gen_redact_add(const char *secret) {
  if (secret == NULL || strlen(secret) < GEN_REDACT_MIN_LEN)
    return 0;
  char *copy = gen_secure_strdup(secret);
  if (copy == NULL)
    return -ENOMEM;
  pthread_mutex_lock(&redact_lock);
  char **grown = realloc(redact_list, (redact_count + 1) * sizeof(*grown));
  if (grown == NULL) {
    pthread_mutex_unlock(&redact_lock);
    gen_free_secret(copy);
    return -ENOMEM;
  }
  redact_list = grown;
  redact_list[redact_count++] = copy;
  pthread_mutex_unlock(&redact_lock);
  return 0;
}

void gen_redact_remove(const char *secret) {
  if (secret == NULL)
    return;
  pthread_mutex_lock(&redact_lock);
  for (size_t i = 0; i < redact_count; i++) {
    if (strcmp(redact_list[i], secret) != 0)
      continue;
    gen_free_secret(redact_list[i]);
    redact_list[i] = redact_list[--redact_count];
    if (redact_count == 0) {
      free(redact_list);
      redact_list = NULL;
    }
    break;
  }
  pthread_mutex_unlock(&redact_lock);
}

/* Replaces every occurrence of needle in buf (NUL-terminated, capacity size),
 * cutting the line if the marker makes it longer than the buffer. */
static void redact_one(char *buf, size_t size, const char *needle) {
  if (strstr(buf, needle) == NULL)
    return;
  char out[GEN_LOG_LINE_MAX];
  size_t cap = size < sizeof(out) ? size : sizeof(out);
  size_t needle_len = strlen(needle);
  size_t n = 0;
  for (const char *p = buf; *p != '\0' && n + 1 < cap;) {
    if (strncmp(p, needle, needle_len) == 0) {
      for (const char *m = GEN_REDACTED; *m != '\0' && n + 1 < cap; m++)
        out[n++] = *m;
      p += needle_len;
    } else {
      out[n++] = *p++;
    }
  }
  out[n] = '\0';
  memcpy(buf, out, n + 1);
  OPENSSL_cleanse(out, sizeof(out));
}

void gen_redact(char *buf, size_t size) {
  if (buf == NULL || size == 0)
    return;
  pthread_mutex_lock(&redact_lock);
  for (size_t i = 0; i < redact_count; i++)
    redact_one(buf, size, redact_list[i]);
  pthread_mutex_unlock(&redact_lock);
}

void gen_vlog(int level, const char *format, va_list ap) {
  char line[GEN_LOG_LINE_MAX];
  vsnprintf(line, sizeof(line), format, ap);
  gen_redact(line, sizeof(line));
  plugin_log(level, "%s", line);
}

void gen_log(int level, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  gen_vlog(level, format, ap);
  va_end(ap);
}

#define ORG_LINE "%s plugin: Org \"%s\"%s%s"

void gen_vlog_org(const gen_log_org_t *who, gen_ratelimit_t *rl, int level,
                  const char *format, va_list ap) {
  char message[GEN_LOG_LINE_MAX];
  vsnprintf(message, sizeof(message), format, ap);
  const char *plugin = who != NULL ? who->plugin : NULL;
  const char *org = who != NULL ? who->org : NULL;
  const char *sep = message[0] == ' ' ? "" : ": ";
  if (plugin == NULL && rl != NULL)
    gen_log_limited(rl, level, "%s", message);
  else if (plugin == NULL)
    gen_log(level, "%s", message);
  else if (rl != NULL) /* the one place the prefix is written */
    gen_log_limited(rl, level, ORG_LINE, plugin, org, sep, message);
  else
    gen_log(level, ORG_LINE, plugin, org, sep, message);
  OPENSSL_cleanse(message, sizeof(message));
}

void gen_log_org(const gen_log_org_t *who, gen_ratelimit_t *rl, int level,
                 const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  gen_vlog_org(who, rl, level, format, ap);
  va_end(ap);
}

void gen_log_limited(gen_ratelimit_t *rl, int level, const char *format, ...) {
  cdtime_t now = gen_now();
  cdtime_t last = atomic_load(&rl->last);
  if ((last != 0 && now - last < rl->interval) ||
      !atomic_compare_exchange_strong(&rl->last, &last, now)) {
    atomic_fetch_add(&rl->suppressed, 1);
    return;
  }
  uint64_t suppressed = atomic_exchange(&rl->suppressed, 0);
  char line[GEN_LOG_LINE_MAX];
  va_list ap;
  va_start(ap, format);
  vsnprintf(line, sizeof(line), format, ap);
  va_end(ap);
  if (suppressed > 0)
    gen_log(level, "%s (%" PRIu64 " similar messages suppressed)", line,
            suppressed);
  else
    gen_log(level, "%s", line);
}
