/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys tests: a text mutated in place by one to three random
 * edits (replace, delete, insert a character of alphabet), the same
 * sequence for the same seed, for the tests that judge mutated JSON.
 */
#ifndef GEN_TEST_MUTATE_H
#define GEN_TEST_MUTATE_H 1

#include <stdlib.h>
#include <string.h>

/* text holds n bytes and room for cap; returns the new length. */
static inline size_t mutate_text(char *text, size_t n, size_t cap,
                                 const char *alphabet, unsigned *seed) {
  size_t letters = strlen(alphabet);
  int edits = 1 + (int)(rand_r(seed) % 3);
  for (int e = 0; e < edits && n > 0; e++) {
    size_t at = (size_t)rand_r(seed) % n;
    char c = alphabet[(size_t)rand_r(seed) % letters];
    switch (rand_r(seed) % 3) {
    case 0: /* replace */
      text[at] = c;
      break;
    case 1: /* delete */
      memmove(text + at, text + at + 1, n - at - 1);
      n--;
      break;
    default: /* insert */
      if (n + 1 < cap) {
        memmove(text + at + 1, text + at, n - at);
        text[at] = c;
        n++;
      }
      break;
    }
  }
  return n;
}

#endif /* GEN_TEST_MUTATE_H */
