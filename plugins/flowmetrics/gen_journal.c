/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: append-only journals in generations (see gen_journal.h).
 */
#include "gen_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gen_journal_init(gen_journal_t *j, const char *base,
                     const gen_log_org_t *who, atomic_uint_fast64_t *errors) {
  memset(j, 0, sizeof(*j));
  j->file.fd = -1;
  j->who = who;
  j->errors = errors;
  j->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  if (base != NULL && (j->base = strdup(base)) == NULL)
    return -ENOMEM;
  return 0;
}

void gen_journal_fini(gen_journal_t *j) {
  gen_state_append_close(&j->file);
  free(j->base);
  j->base = NULL;
}

bool gen_journal_wanted(const gen_journal_t *j) { return j->base != NULL; }

static void journal_path(const gen_journal_t *j, uint64_t generation, char *buf,
                         size_t size) {
  snprintf(buf, size, "%s.%" PRIu64, j->base, generation);
}

static void count_error(gen_journal_t *j) {
  if (j->errors != NULL)
    atomic_fetch_add(j->errors, 1);
}

/* Opens the file of the current generation: 0 or a negative errno. */
static int journal_open(gen_journal_t *j) {
  if (j->base == NULL)
    return 0;
  gen_state_append_close(&j->file);
  char path[PATH_MAX];
  journal_path(j, j->generation, path, sizeof(path));
  int status = gen_state_append_open(&j->file, path, false);
  if (status == 0)
    return 0;
  count_error(j);
  /* The directory is what an operator fixes (read-only, wrong owner). */
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash != NULL)
    *slash = '\0';
  gen_log_org(j->who, &j->complain, LOG_ERR,
              "cannot open journal %s in state directory %s: %s; "
              "what needs it is refused or kept only in memory until it "
              "can be written",
              path, slash != NULL ? dir : ".", gen_strerror(status));
  return status;
}

int gen_journal_append(gen_journal_t *j, const char *data, size_t len) {
  if (j->base == NULL || len == 0)
    return 0;
  if (j->file.fd < 0) {
    /* It failed before (a full disk may have room now). */
    int err = journal_open(j);
    if (err != 0)
      return err;
  }
  int status = gen_state_append(&j->file, data, len);
  if (status != 0) {
    count_error(j);
    gen_log_org(j->who, &j->complain, LOG_ERR, "journal write failed: %s",
                gen_strerror(status));
    if (j->file.torn) {
      /* Cannot cut it: a new file, so that the fragment ends no line. */
      j->generation++;
      journal_open(j);
    }
  }
  return status;
}

uint64_t gen_journal_rotate(gen_journal_t *j) {
  /* A generation whose file could not be made holds nothing: it is tried
   * again rather than left as a gap, where replay would stop. */
  if (j->file.fd >= 0 || j->base == NULL)
    j->generation++;
  journal_open(j);
  return j->generation;
}

void gen_journal_stored(gen_journal_t *j, uint64_t g) {
  for (; j->base != NULL && j->oldest_kept < g; j->oldest_kept++) {
    char path[PATH_MAX];
    journal_path(j, j->oldest_kept, path, sizeof(path));
    unlink(path);
  }
}

int gen_journal_recover(gen_journal_t *j, uint64_t g,
                        int (*line)(void *ud, char *text, size_t len),
                        void *ud) {
  j->generation = g;
  j->oldest_kept = g;
  if (j->base == NULL)
    return 0;
  char path[PATH_MAX];
  /* Journals older than the snapshot are in it already: leftovers of a
   * crash between the snapshot and their removal. */
  for (uint64_t k = g; k > 0; k--) {
    journal_path(j, k - 1, path, sizeof(path));
    if (unlink(path) != 0)
      break;
  }
  for (;; j->generation++) {
    journal_path(j, j->generation, path, sizeof(path));
    FILE *f = fopen(path, "re");
    if (f == NULL)
      break;
    gen_state_lines(f, line, ud, NULL, NULL);
    fclose(f);
  }
  /* Continue in a file of its own: the replayed ones go when the next
   * snapshot (which holds them) is stored. */
  return journal_open(j);
}
