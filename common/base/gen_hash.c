/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: FNV-1a 64, MurmurHash3's finaliser, the order of
 * hashes, their text.
 */
#include "gen_hash.h"

#include <ctype.h>
#include <string.h>

uint64_t gen_hash_fnv1a64_bytes(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    h = gen_hash_fnv1a64_byte(h, p[i]);
  return h;
}

uint64_t gen_hash_fnv1a64_str(uint64_t h, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    h = gen_hash_fnv1a64_byte(h, *p);
  return h;
}

uint64_t gen_hash_fnv1a64(const char *s) {
  return gen_hash_fnv1a64_str(GEN_HASH_FNV1A64_INIT, s);
}

uint64_t gen_hash_fnv1a64_caseless_str(uint64_t h, const char *s) {
  for (; *s != '\0'; s++)
    h = gen_hash_fnv1a64_byte(h, (unsigned char)tolower((unsigned char)*s));
  return h;
}

uint64_t gen_hash_fnv1a64_caseless(const char *s) {
  return gen_hash_fnv1a64_caseless_str(GEN_HASH_FNV1A64_INIT, s);
}

int gen_hash_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

uint64_t gen_hash_mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

void gen_hex64_format(char out[GEN_HEX64_LEN], uint64_t h) {
  for (int d = 0; d < GEN_HEX64_LEN; d++)
    out[d] = "0123456789abcdef"[(h >> (60 - 4 * d)) & 0xf];
}

bool gen_hex64_parse(const char *p, uint64_t *out, const char **end) {
  if (p == NULL)
    return false;
  uint64_t v = 0;
  for (int i = 0; i < GEN_HEX64_LEN; i++) {
    char c = p[i]; /* a NUL fails here: nothing past it is read */
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0)
      return false;
    v = v << 4 | (uint64_t)d;
  }
  if (end == NULL && p[GEN_HEX64_LEN] != '\0')
    return false;
  if (end != NULL)
    *end = p + GEN_HEX64_LEN;
  *out = v;
  return true;
}
