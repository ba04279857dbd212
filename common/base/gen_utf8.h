/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: strict UTF-8 validation, shared by the observation
 * parser, the configuration, names that become collectd names and what a
 * state file gives back (text without control characters), and
 * the ASCII case folding of the streaming parsers' protocol words.
 */
#ifndef GEN_UTF8_H
#define GEN_UTF8_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Whether the n bytes at s are lower (lower case) ignoring ASCII case:
 * topic names and enum words, the same in every locale. */
static inline bool gen_ascii_ieq(const unsigned char *s, const char *lower,
                                 size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = (unsigned char)(c - 'A' + 'a');
    if (c != (unsigned char)lower[i])
      return false;
  }
  return true;
}

/* The length (1 to 4) of the strict UTF-8 (RFC 3629: no overlong forms,
 * surrogates or code points past U+10FFFF) character at s, of the n bytes
 * left (n > 0); 0 when s starts no valid character. */
static inline size_t gen_utf8_char_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t k;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    k = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    k = 2;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    k = 3;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
  } else {
    return 0;
  }
  if (n <= k || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t j = 2; j <= k; j++)
    if ((s[j] & 0xC0) != 0x80)
      return 0;
  return k + 1;
}

/* Strict UTF-8, as gen_utf8_char_len(). Returns the offset of the first
 * byte that does not start a valid character, n when all are valid. */
static inline size_t gen_utf8_check(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    /* ASCII, eight bytes at a time: the usual case. */
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      memcpy(&w, s + i, sizeof(w));
      if (w & UINT64_C(0x8080808080808080))
        break;
    }
    if (i == n)
      break;
    size_t k = gen_utf8_char_len(s + i, n - i);
    if (k == 0)
      return i;
    i += k;
  }
  return n;
}

/* Strict UTF-8, as gen_utf8_check(). */
static inline bool gen_utf8_valid(const unsigned char *s, size_t n) {
  return gen_utf8_check(s, n) == n;
}

/* Whether the valid character of len bytes at s is a control character:
 * C0, DEL, or C1 (U+0080 to U+009F, U+0085 among them), which no name may
 * hold (a label or a log line broken in two, a target a backend drops). */
static inline bool gen_utf8_is_control(const unsigned char *s, size_t len) {
  return (len == 1 && (s[0] < 0x20 || s[0] == 0x7f)) ||
         (len == 2 && s[0] == 0xC2 && s[1] <= 0x9F);
}

/* Text fit for a name: strict UTF-8 without control characters. */
static inline bool gen_utf8_text(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t k = gen_utf8_char_len(s + i, n - i);
    if (k == 0 || gen_utf8_is_control(s + i, k))
      return false;
    i += k;
  }
  return true;
}

/* gen_utf8_text() of a NUL-terminated string (NULL: false). */
static inline bool gen_utf8_text_str(const char *s) {
  return s != NULL && gen_utf8_text((const unsigned char *)s, strlen(s));
}

#endif /* GEN_UTF8_H */
