/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the one FNV-1a 64 of the core, the finaliser that
 * spreads its bits before a table takes the low ones, and the order of
 * hashes in a sorted array.
 *
 * FNV-1a 64 is part of formats that outlive a process (the shard of an
 * entity id, the values hash in gen_interval's state file): it must stay
 * bit-identical across versions and architectures.
 */
#ifndef GEN_HASH_H
#define GEN_HASH_H 1

#include <stddef.h>
#include <stdint.h>

#define GEN_HASH_FNV1A64_INIT 14695981039346656037ULL
#define GEN_HASH_FNV1A64_PRIME 1099511628211ULL

/* One step: h folded with the byte c. */
static inline uint64_t gen_hash_fnv1a64_byte(uint64_t h, unsigned char c) {
  return (h ^ c) * GEN_HASH_FNV1A64_PRIME;
}

/* h (GEN_HASH_FNV1A64_INIT, or a hash so far) continued over len bytes. */
uint64_t gen_hash_fnv1a64_bytes(uint64_t h, const void *data, size_t len);
/* h continued over the string s, its NUL left out. */
uint64_t gen_hash_fnv1a64_str(uint64_t h, const char *s);
/* FNV-1a 64 of the string s. */
uint64_t gen_hash_fnv1a64(const char *s);
/* FNV-1a 64 of s with ASCII letters lowered: keys that compare without
 * case (strcasecmp) hash alike. */
uint64_t gen_hash_fnv1a64_caseless(const char *s);
/* h continued over s without case, its NUL left out (a key hashed in
 * parts). */
uint64_t gen_hash_fnv1a64_caseless_str(uint64_t h, const char *s);

/* MurmurHash3's 64-bit finaliser: every input bit reaches the low bits,
 * where FNV-1a clusters for texts that differ only at their end. A
 * bijection: distinct hashes stay distinct. */
uint64_t gen_hash_mix64(uint64_t h);

/* The order of two uint64_t (hashes) for qsort and bsearch. */
int gen_hash_cmp(const void *a, const void *b);

#endif /* GEN_HASH_H */
