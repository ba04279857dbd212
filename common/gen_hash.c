/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: FNV-1a 64 and MurmurHash3's finaliser.
 */
#include "gen_hash.h"

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

uint64_t gen_hash_mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

/* A word step: h folded with w, spread (the finaliser's multiply). */
static uint64_t word_step(uint64_t h, uint64_t w) {
  h = (h ^ w) * 0xff51afd7ed558ccdULL;
  return h ^ (h >> 29);
}

uint64_t gen_hash_name(uint64_t h, const char *s, size_t cap) {
  size_t i = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  for (; i + 8 <= cap; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, sizeof(w));
    /* Zero bytes flagged; the lowest flag (the first byte) is a real one. */
    uint64_t zero = (w - ones) & ~w & highs;
    if (zero == 0) {
      h = word_step(h, w);
      continue;
    }
    unsigned k = (unsigned)__builtin_ctzll(zero) >> 3;
    w = k == 0 ? 0 : w & (~0ULL >> (64 - 8 * k));
    return gen_hash_mix64(word_step(h, w) ^ (i + k));
  }
#endif
  for (; i < cap && s[i] != '\0'; i++)
    h = word_step(h, (unsigned char)s[i]);
  return gen_hash_mix64(h ^ i);
}
