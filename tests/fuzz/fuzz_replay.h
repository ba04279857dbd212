/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: what every fuzz harness shares: FUZZ_CHECK, and under
 * -DGEN_FUZZ_REPLAY a main() that runs LLVMFuzzerTestOneInput over files
 * and directories, so the corpora replay without libFuzzer (make check,
 * under the sanitizer and valgrind builds too).
 *
 * A harness defines GEN_FUZZ_NAME ("obs") before including this, defines
 * LLVMFuzzerTestOneInput and fuzz_cleanup() (frees what the harness keeps
 * between inputs, so that a leak check at exit sees only real leaks).
 *
 *   ./fuzz_<name>_replay [file-or-directory...]
 *     With no argument it replays GEN_FUZZ_CORPUS_DIR when that is defined.
 */
#ifndef GEN_FUZZ_REPLAY_H
#define GEN_FUZZ_REPLAY_H 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GEN_FUZZ_NAME
#error "define GEN_FUZZ_NAME before including fuzz_replay.h"
#endif

#define FUZZ_CHECK(cond, what)                                                 \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr,                                                          \
              "fuzz_" GEN_FUZZ_NAME ": check failed: %s (%s) at "              \
              "line %d\n",                                                     \
              what, #cond, __LINE__);                                          \
      abort();                                                                 \
    }                                                                          \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fuzz_cleanup(void);

#ifdef GEN_FUZZ_REPLAY
#include <dirent.h>
#include <sys/stat.h>

static int fuzz_replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (bigger == NULL)
        free(buf);
      buf = bigger;
    }
  }
  fclose(f);
  if (buf == NULL)
    return -1;
  /* An exact-size copy: reading past it is caught by ASan and valgrind. */
  uint8_t *exact = malloc(len ? len : 1);
  if (exact == NULL) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int fuzz_replay(const char *path, size_t *count) {
  struct stat sb;
  if (stat(path, &sb) != 0) {
    perror(path);
    return -1;
  }
  if (!S_ISDIR(sb.st_mode)) {
    (*count)++;
    return fuzz_replay_file(path);
  }
  DIR *dir = opendir(path);
  if (dir == NULL) {
    perror(path);
    return -1;
  }
  int status = 0;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char sub[4096];
    snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
    if (fuzz_replay(sub, count) != 0)
      status = -1;
  }
  closedir(dir);
  return status;
}

int main(int argc, char **argv) {
  size_t count = 0;
  int status = 0;
  if (argc < 2) {
#ifdef GEN_FUZZ_CORPUS_DIR
    status = fuzz_replay(GEN_FUZZ_CORPUS_DIR, &count);
#else
    fprintf(stderr, "usage: %s file-or-directory...\n", argv[0]);
    return 2;
#endif
  }
  for (int i = 1; i < argc; i++)
    if (fuzz_replay(argv[i], &count) != 0)
      status = -1;
  fuzz_cleanup();
  printf("fuzz_" GEN_FUZZ_NAME ": replayed %zu inputs%s\n", count,
         status == 0 ? "" : " (some could not be read)");
  if (count == 0)
    return 1;
  return status == 0 ? 0 : 1;
}
#endif /* GEN_FUZZ_REPLAY */

#endif /* GEN_FUZZ_REPLAY_H */
