/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: strict UTF-8 validation, shared by the observation
 * parser and the configuration (values that become collectd names), and
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

/* Strict UTF-8 (RFC 3629): no overlong forms, surrogates or code points
 * past U+10FFFF. Returns the offset of the first byte that does not start
 * a valid character, n when all are valid. */
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
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
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
      return i;
    }
    if (n - i <= k || s[i + 1] < lo || s[i + 1] > hi)
      return i;
    for (size_t j = 2; j <= k; j++)
      if ((s[i + j] & 0xC0) != 0x80)
        return i;
    i += k + 1;
  }
  return n;
}

/* Strict UTF-8, as gen_utf8_check(). */
static inline bool gen_utf8_valid(const unsigned char *s, size_t n) {
  return gen_utf8_check(s, n) == n;
}

#endif /* GEN_UTF8_H */
