/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: a strict JSON scanner for one whole text in memory,
 * calling back for every token (as yajl does), and able to pass over a
 * value nobody reads without calling back for it.
 *
 * Why not yajl: gen_obs reads a handful of fields of each Notifications API
 * message, and conversation events are 1.6 KB of mostly attributes and
 * session fields nobody reads. yajl lexes byte by byte through a buffered
 * stream lexer, decodes every string and checks its UTF-8 per string; that
 * was 61 % of the conversation-event pass. This scanner works on the whole
 * message at once: strings are searched 8 bytes at a time, a string without
 * escapes is handed over in place, and a value whose key the caller
 * answers GEN_JSCAN_SKIP for is checked but not called back for.
 *
 * The grammar is RFC 8259's, strictly: white space is space, tab, LF and CR
 * only; the whole text must be UTF-8 (strictly: no overlong forms, no
 * surrogates, nothing past U+10FFFF); no comments, no trailing commas, one
 * value followed only by white space. \u escapes are decoded to UTF-8; a
 * surrogate that is not half of a pair becomes U+FFFD, as in json-c.
 */
#ifndef GEN_JSCAN_H
#define GEN_JSCAN_H 1

#include <stdbool.h>
#include <stddef.h>

/* What a callback returns: 0 stops the scan (GEN_JSCAN_STOPPED), 1 goes on;
 * on_key may answer GEN_JSCAN_SKIP: the key's value is checked but none of
 * its tokens is called back; so may on_start_map and on_start_array: what
 * the container holds and its end are checked but not called back. */
#define GEN_JSCAN_SKIP 2

typedef struct {
  int (*on_null)(void *ctx);
  int (*on_bool)(void *ctx, int value);
  int (*on_number)(void *ctx, const char *s, size_t n); /* the JSON text */
  /* Strings and keys come decoded; s is not NUL-terminated and may hold
   * NUL bytes (from \u0000). */
  int (*on_string)(void *ctx, const unsigned char *s, size_t n);
  int (*on_start_map)(void *ctx);
  int (*on_key)(void *ctx, const unsigned char *s, size_t n);
  int (*on_end_map)(void *ctx);
  int (*on_start_array)(void *ctx);
  int (*on_end_array)(void *ctx);
  /* When set, every scalar comes here instead: s and n a string's as
   * on_string has them, number and n a number's text, both NULL for true,
   * false and null (readers that only tell a string from a number). */
  int (*on_scalar)(void *ctx, const unsigned char *s, size_t n,
                   const char *number);
} gen_jscan_callbacks_t;

typedef enum {
  GEN_JSCAN_OK = 0,    /* one whole value, then only white space */
  GEN_JSCAN_STOPPED,   /* a callback answered 0 */
  GEN_JSCAN_SYNTAX,    /* reason and off say what and where */
  GEN_JSCAN_TRUNCATED, /* the text ends inside the value */
  GEN_JSCAN_DEPTH,     /* more than max_depth open containers */
  GEN_JSCAN_TRAILING,  /* something after the value; off is its end */
} gen_jscan_status_t;

typedef struct {
  /* Set by the caller. */
  const unsigned char *text;
  size_t len;
  size_t max_depth;   /* at most GEN_JSCAN_DEPTH_LIMIT */
  unsigned char *buf; /* room for decoded strings: at least len bytes */
  bool utf8_checked;  /* the caller has checked the text is UTF-8 */
  /* Set by the scan. */
  size_t off;         /* during a callback: just past the token; after an
                         error: where it is */
  const char *reason; /* after a failure (not STOPPED): a static phrase */
} gen_jscan_t;

#define GEN_JSCAN_DEPTH_LIMIT 256

/* Scans js->text, calling back through cb with ctx. */
gen_jscan_status_t gen_jscan_run(gen_jscan_t *js,
                                 const gen_jscan_callbacks_t *cb, void *ctx);

#endif /* GEN_JSCAN_H */
