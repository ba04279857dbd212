/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the one FNV-1a 64 of the core, the finaliser that
 * spreads its bits before a table takes the low ones, the order of hashes
 * in a sorted array, and a hash's text in the state files and journals.
 *
 * FNV-1a 64 is part of formats that outlive a process (the shard of an
 * entity id, the values hash in gen_interval's state file): it must stay
 * bit-identical across versions and architectures.
 */
#ifndef GEN_HASH_H
#define GEN_HASH_H 1

#include <stdbool.h>
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

/* A hash as text: exactly 16 hex digits, the most significant first and
 * zeros kept, written lower-case ("%016" PRIx64 without printf's cost). */
#define GEN_HEX64_LEN 16
/* Writes h's 16 digits to out, without a NUL (gen_buf_add_hex64 appends
 * them to a buffer). */
void gen_hex64_format(char out[GEN_HEX64_LEN], uint64_t h);
/* Reads 16 hex digits at p into *out. Upper-case digits are read too: the
 * files are written lower-case, and a hand-edited one keeps its hashes.
 * With end NULL the string must end after the 16th digit; otherwise it may
 * go on and *end is set past the digits, for the caller to check what
 * follows (a space in a row). False, with *out and *end untouched, for p
 * NULL, a string ending before 16 digits, a character that is not a hex
 * digit (a sign, a space, "0x"), or (end NULL) anything after them. */
bool gen_hex64_parse(const char *p, uint64_t *out, const char **end);

#endif /* GEN_HASH_H */
