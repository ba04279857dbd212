/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a growable byte buffer with a size limit, and the
 * doubling growth of arrays it rests on.
 *
 * The text is always NUL-terminated (an empty buffer reads as ""), so an
 * answer body or a line goes to a parser as it is. The limit counts the
 * bytes, not the NUL: a buffer of limit 10 holds 10 bytes.
 */
#ifndef GEN_BUF_H
#define GEN_BUF_H 1

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
  char *data; /* NULL until the first append; gen_buf_str() reads "" */
  size_t len;
  size_t cap; /* bytes allocated, the NUL included */
  size_t max; /* the most bytes it may hold */
} gen_buf_t;

#define GEN_BUF_INIT(max_bytes)                                                \
  { .data = NULL, .len = 0, .cap = 0, .max = (max_bytes) }

void gen_buf_init(gen_buf_t *b, size_t max);

/* Appends: 0, -ENOMEM, or -E2BIG past the limit (printf: -EINVAL when
 * the C library refuses the format). On an error the buffer holds what it
 * held. */
int gen_buf_add(gen_buf_t *b, const void *data, size_t len);
int gen_buf_add_str(gen_buf_t *b, const char *s);
/* s as a JSON string, quotes included: '"', '\\' and control characters
 * escaped, every other byte as it is (as json-c writes strings). */
int gen_buf_add_json_string(gen_buf_t *b, const char *s);
/* A whole number in decimal, without printf's cost. */
int gen_buf_add_int64(gen_buf_t *b, int64_t v);
/* A hash as 16 lower-case hex digits (gen_hex64_format in gen_hash.h,
 * which gen_hex64_parse reads back). */
int gen_buf_add_hex64(gen_buf_t *b, uint64_t h);
/* n bytes of data as base64 (RFC 4648, padded): a state file's records,
 * etcd's keys and values. */
int gen_buf_add_base64(gen_buf_t *b, const void *data, size_t n);
/* text (len characters) decoded into to (len / 4 * 3 bytes; to may be
 * text itself): the bytes, or -1 when it is not padded base64. */
ssize_t gen_base64_decode(const char *text, size_t len, void *to);
int gen_buf_printf(gen_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int gen_buf_vprintf(gen_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The text, never NULL. */
const char *gen_buf_str(const gen_buf_t *b);

/* Empties the buffer and keeps its memory for the next text. */
void gen_buf_reset(gen_buf_t *b);
/* Hands the text to the caller (who frees it; NULL when nothing was ever
 * added) and leaves the buffer empty, its limit kept. */
char *gen_buf_steal(gen_buf_t *b);
/* Frees the memory; the buffer is empty and can be used again. */
void gen_buf_free(gen_buf_t *b);

/* Appends text to the string out (of size bytes) percent-encoded but for
 * RFC 3986's unreserved characters: a cursor read from an answer goes into
 * a query. False when it does not fit (out then cut). */
bool gen_append_escaped(char *out, size_t size, const char *text);

/* Grows the array *items of *cap items of size bytes to hold at least need
 * items, doubling from min_cap: a long run of appends costs a few
 * reallocs, not one each. 0, or -ENOMEM (or -E2BIG when the size overflows)
 * with *items and *cap as they were. */
int gen_grow(void **items, size_t *cap, size_t need, size_t size,
             size_t min_cap);
/* The same, never beyond max_cap items (need <= max_cap, else -E2BIG): the
 * last step takes exactly max_cap. */
int gen_grow_max(void **items, size_t *cap, size_t need, size_t size,
                 size_t min_cap, size_t max_cap);

/* Strings kept until the pool is freed, packed into blocks: the ids and
 * names of 50,000 users without an allocation (and its header) each, and
 * freed as a few blocks rather than holes between what stays. */
typedef struct gen_pool_block_s gen_pool_block_t;
typedef struct {
  gen_pool_block_t *head; /* the block being filled; NULL when empty */
  size_t used;            /* bytes of head's data taken */
} gen_pool_t;

/* A copy of s in the pool, valid until gen_pool_free(); NULL when out of
 * memory. */
const char *gen_pool_strdup(gen_pool_t *p, const char *s);
/* n bytes in the pool (not aligned: for text the caller writes), valid
 * until gen_pool_free(); NULL when out of memory. */
char *gen_pool_alloc(gen_pool_t *p, size_t n);
void gen_pool_free(gen_pool_t *p);

/* Gives the free memory of every malloc arena back to the system; for the
 * end of a large one-off burst (a listing, a channel's baselines), not for
 * a steady path. */
void gen_heap_trim(void);

#endif /* GEN_BUF_H */
