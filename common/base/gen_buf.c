/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a growable byte buffer with a size limit, and the
 * doubling growth of arrays.
 */
#include "gen_buf.h"
#include "gen_hash.h"

#include <ctype.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* The capacity for need items (need <= max): doubled from cap (from min_cap
 * when nothing is held yet), never beyond max. */
static size_t grown_cap(size_t cap, size_t need, size_t min_cap, size_t max) {
  size_t n = cap ? cap : (min_cap ? min_cap : 1);
  while (n < need && n <= max / 2)
    n *= 2;
  return n < need || n > max ? max : n;
}

int gen_grow_max(void **items, size_t *cap, size_t need, size_t size,
                 size_t min_cap, size_t max_cap) {
  if (need <= *cap)
    return 0;
  size_t max = size ? SIZE_MAX / size : SIZE_MAX;
  if (max_cap < max)
    max = max_cap;
  if (need > max)
    return -E2BIG;
  size_t n = grown_cap(*cap, need, min_cap, max);
  void *p = realloc(*items, n * size);
  if (p == NULL)
    return -ENOMEM;
  *items = p;
  *cap = n;
  return 0;
}

int gen_grow(void **items, size_t *cap, size_t need, size_t size,
             size_t min_cap) {
  return gen_grow_max(items, cap, need, size, min_cap, SIZE_MAX);
}

void gen_buf_init(gen_buf_t *b, size_t max) {
  *b = (gen_buf_t)GEN_BUF_INIT(max);
}

/* Room for len more bytes and the NUL. The allocation stops at the limit
 * and its NUL, so a large limit costs only what is used. */
static int reserve(gen_buf_t *b, size_t len) {
  size_t max = b->max < SIZE_MAX ? b->max : SIZE_MAX - 1;
  if (b->len > max || len > max - b->len)
    return -E2BIG;
  size_t need = b->len + len + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = grown_cap(b->cap, need, 256, max + 1);
  char *data = realloc(b->data, cap);
  if (data == NULL)
    return -ENOMEM;
  b->data = data;
  b->cap = cap;
  return 0;
}

int gen_buf_add(gen_buf_t *b, const void *data, size_t len) {
  int err = reserve(b, len);
  if (err != 0)
    return err;
  if (len > 0)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int gen_buf_add_str(gen_buf_t *b, const char *s) {
  return gen_buf_add(b, s, strlen(s));
}

int gen_buf_add_json_string(gen_buf_t *b, const char *s) {
  size_t before = b->len;
  int err = gen_buf_add(b, "\"", 1);
  const char *run = s;
  for (const char *p = s; err == 0 && *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    err = gen_buf_add(b, run, (size_t)(p - run));
    char esc[7];
    if (err == 0) {
      /* The short forms json-c writes, so the text is the same. */
      char two = c == '"'    ? '"'
                 : c == '\\' ? '\\'
                 : c == '\b' ? 'b'
                 : c == '\f' ? 'f'
                 : c == '\n' ? 'n'
                 : c == '\r' ? 'r'
                 : c == '\t' ? 't'
                             : '\0';
      if (two != '\0')
        err = gen_buf_add(b, (char[]){'\\', two}, 2);
      else {
        snprintf(esc, sizeof(esc), "\\u%04x", c);
        err = gen_buf_add(b, esc, 6);
      }
    }
    run = p + 1;
  }
  if (err == 0)
    err = gen_buf_add_str(b, run);
  if (err == 0)
    err = gen_buf_add(b, "\"", 1);
  if (err != 0 && b->data != NULL) {
    b->len = before; /* holds what it held */
    b->data[b->len] = '\0';
  }
  return err;
}

int gen_buf_add_int64(gen_buf_t *b, int64_t v) {
  char text[24], *end = text + sizeof(text), *p = end;
  /* In unsigned arithmetic, so that INT64_MIN has a magnitude. */
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0)
    *--p = '-';
  return gen_buf_add(b, p, (size_t)(end - p));
}

int gen_buf_add_hex64(gen_buf_t *b, uint64_t h) {
  char hex[GEN_HEX64_LEN];
  gen_hex64_format(hex, h);
  return gen_buf_add(b, hex, sizeof(hex));
}

int gen_buf_vprintf(gen_buf_t *b, const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  int err = n < 0 ? -EINVAL : reserve(b, (size_t)n);
  if (err == 0) {
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    b->len += (size_t)n;
  }
  va_end(again);
  return err;
}

int gen_buf_printf(gen_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int err = gen_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return err;
}

const char *gen_buf_str(const gen_buf_t *b) {
  return b->data != NULL ? b->data : "";
}

void gen_buf_reset(gen_buf_t *b) {
  b->len = 0;
  if (b->data != NULL)
    b->data[0] = '\0';
}

char *gen_buf_steal(gen_buf_t *b) {
  char *data = b->data;
  gen_buf_init(b, b->max);
  return data;
}

void gen_buf_free(gen_buf_t *b) { free(gen_buf_steal(b)); }

/* A block's data: small enough that a set of a few queues stays small,
 * large enough that 50,000 ids take a few hundred. */
#define GEN_POOL_BLOCK 8192

struct gen_pool_block_s {
  gen_pool_block_t *next;
  size_t size; /* of data */
  char data[];
};

char *gen_pool_alloc(gen_pool_t *p, size_t n) {
  if (p->head == NULL || p->head->size - p->used < n) {
    if (n > SIZE_MAX - sizeof(gen_pool_block_t))
      return NULL;
    size_t size = n > GEN_POOL_BLOCK ? n : GEN_POOL_BLOCK;
    gen_pool_block_t *b = malloc(sizeof(*b) + size);
    if (b == NULL)
      return NULL;
    b->size = size;
    b->next = p->head;
    p->head = b;
    p->used = 0;
  }
  char *room = p->head->data + p->used;
  p->used += n;
  return room;
}

const char *gen_pool_strdup(gen_pool_t *p, const char *s) {
  size_t n = strlen(s) + 1;
  char *copy = gen_pool_alloc(p, n);
  if (copy != NULL)
    memcpy(copy, s, n);
  return copy;
}

void gen_pool_free(gen_pool_t *p) {
  for (gen_pool_block_t *b = p->head, *next; b != NULL; b = next) {
    next = b->next;
    free(b);
  }
  *p = (gen_pool_t){0};
}

void gen_heap_trim(void) {
#ifdef __GLIBC__
  /* glibc keeps what a burst freed in the arena of the thread that ran it
   * (one arena a thread, up to eight a core), and past its first large
   * free it trims an arena's top only beyond twice that size: at 5,000
   * queues most of the plugins' RSS was such free memory (issue 36). */
  malloc_trim(0);
#endif
}

/* base64, RFC 4648, padded (gen_buf.h). */
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int gen_buf_add_base64(gen_buf_t *buf, const void *data, size_t n) {
  const uint8_t *in = data;
  char out[4 * 64];
  size_t t = 0;
  int status = 0;
  for (size_t i = 0; status == 0 && i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 |
                 (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    out[t++] = b64[v >> 18 & 63];
    out[t++] = b64[v >> 12 & 63];
    out[t++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
    out[t++] = i + 2 < n ? b64[v & 63] : '=';
    if (t == sizeof(out)) {
      status = gen_buf_add(buf, out, t);
      t = 0;
    }
  }
  return status == 0 && t > 0 ? gen_buf_add(buf, out, t) : status;
}

static int b64_value(char c) {
  return c >= 'A' && c <= 'Z'   ? c - 'A'
         : c >= 'a' && c <= 'z' ? c - 'a' + 26
         : c >= '0' && c <= '9' ? c - '0' + 52
         : c == '+'             ? 62
         : c == '/'             ? 63
                                : -1;
}

ssize_t gen_base64_decode(const char *text, size_t len, void *to) {
  uint8_t *out = to;
  if (len % 4 != 0)
    return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (int j = 0; j < 4; j++) {
      char c = text[i + j];
      int d = b64_value(c);
      if (c == '=' && i + 4 == len &&
          (j == 3 || (j == 2 && text[i + 3] == '=')))
        pad++, d = 0;
      else if (d < 0 || pad > 0)
        return -1;
      v = v << 6 | (uint32_t)d;
    }
    out[n++] = (uint8_t)(v >> 16);
    if (pad < 2)
      out[n++] = (uint8_t)(v >> 8);
    if (pad < 1)
      out[n++] = (uint8_t)v;
  }
  return (ssize_t)n;
}

bool gen_append_escaped(char *out, size_t size, const char *text) {
  size_t n = strlen(out);
  for (; *text != '\0'; text++) {
    unsigned char c = (unsigned char)*text;
    int w = isalnum(c) || strchr("-._~", c) != NULL
                ? snprintf(out + n, size - n, "%c", c)
                : snprintf(out + n, size - n, "%%%02X", c);
    if (w < 0 || (size_t)w >= size - n)
      return false;
    n += (size_t)w;
  }
  return true;
}
