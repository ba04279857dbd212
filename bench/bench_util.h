/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys benchmarks: what the message generators share, a growing
 * string buffer and a seeded random source, so recorded messages are made in
 * memory, the same on every run, before anything is timed; and the heap in
 * use, for the memory a structure costs.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H 1

#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  char *buf;
  size_t len, cap;
} sbuf_t;

static void sbuf_put(sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), unused));
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

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}
__attribute__((unused)) static uint32_t rnd_below(uint32_t n) {
  return rnd() % n;
}

__attribute__((unused)) static void uuid(char out[37]) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 36; i++)
    out[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hex[rnd() & 15];
  out[36] = '\0';
}

__attribute__((unused)) static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A field of /proc/self/status ("VmHWM:", "VmRSS:") in MiB. */
__attribute__((unused)) static double vm_mib(const char *field) {
  char line[256];
  double kib = 0;
  FILE *f = fopen("/proc/self/status", "r");
  while (f != NULL && fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, field, strlen(field)) == 0)
      kib = strtod(line + strlen(field) + 1, NULL);
  if (f != NULL)
    fclose(f);
  return kib / 1024.0;
}

/* Bytes malloc has handed out and not taken back (arena and mmap'd). */
__attribute__((unused)) static size_t heap_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

#endif /* BENCH_UTIL_H */
