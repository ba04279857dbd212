/*
 * collectd-genesys benchmarks: a growing string buffer for generating
 * recorded messages in memory before timing.
 */
#ifndef BENCH_SBUF_H
#define BENCH_SBUF_H 1

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  char *buf;
  size_t len, cap;
} sbuf_t;

static void sbuf_put(sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sbuf_put(sbuf_t *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < b->cap - b->len) {
      b->len += (size_t)n;
      return;
    }
    b->cap = b->cap * 2 + (size_t)n + 1;
    b->buf = realloc(b->buf, b->cap);
    if (b->buf == NULL) {
      perror("realloc");
      exit(1);
    }
  }
}

#endif /* BENCH_SBUF_H */
