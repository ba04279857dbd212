/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: append-only journals in generations (see gen_journal.h).
 */
#include "gen_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gen_journal_init(gen_journal_t *j, const char *base,
                     const gen_log_org_t *who, atomic_uint_fast64_t *errors) {
  memset(j, 0, sizeof(*j));
  j->fd = -1;
  j->who = who;
  j->errors = errors;
  j->complain = (gen_ratelimit_t)GEN_RATELIMIT_INIT(60);
  if (base != NULL && (j->base = strdup(base)) == NULL)
    return -ENOMEM;
  return 0;
}

void gen_journal_fini(gen_journal_t *j) {
  if (j->fd >= 0)
    close(j->fd);
  j->fd = -1;
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
  if (j->fd >= 0)
    close(j->fd);
  char path[PATH_MAX];
  journal_path(j, j->generation, path, sizeof(path));
  j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (j->fd >= 0)
    return 0;
  int err = errno;
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
              path, slash != NULL ? dir : ".", gen_strerror(err));
  return -err;
}

int gen_journal_append(gen_journal_t *j, const char *data, size_t len) {
  if (j->base == NULL || len == 0)
    return 0;
  if (j->fd < 0) {
    /* It failed before (a full disk may have room now). */
    int err = journal_open(j);
    if (err != 0)
      return err;
  }
  /* A failed append is cut back off: a fragment left in the file would
   * join the next line and spoil it at replay. */
  struct stat st;
  off_t before = fstat(j->fd, &st) == 0 ? st.st_size : -1;
  while (len > 0) {
    ssize_t n = write(j->fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      count_error(j);
      gen_log_org(j->who, &j->complain, LOG_ERR, "journal write failed: %s",
                  gen_strerror(err));
      if (before >= 0 && ftruncate(j->fd, before) != 0) {
        /* Cannot cut it: a new file, so that the fragment ends no line. */
        j->generation++;
        journal_open(j);
      }
      return -err;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

uint64_t gen_journal_rotate(gen_journal_t *j) {
  /* A generation whose file could not be made holds nothing: it is tried
   * again rather than left as a gap, where replay would stop. */
  if (j->fd >= 0 || j->base == NULL)
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

/* Replays one file; -ENOENT when it does not exist. */
static int replay(const char *path,
                  void (*line)(void *ud, const char *text, size_t len),
                  void *ud) {
  FILE *fh = fopen(path, "re");
  if (fh == NULL)
    return -errno;
  char *buf = malloc(GEN_JOURNAL_LINE_MAX);
  while (buf != NULL && fgets(buf, GEN_JOURNAL_LINE_MAX, fh) != NULL) {
    size_t len = strlen(buf);
    if (len == 0 || buf[len - 1] != '\n')
      continue; /* cut by a crash mid-write, or too long */
    buf[len - 1] = '\0';
    line(ud, buf, len - 1);
  }
  free(buf);
  fclose(fh);
  return 0;
}

int gen_journal_recover(gen_journal_t *j, uint64_t g,
                        void (*line)(void *ud, const char *text, size_t len),
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
    if (replay(path, line, ud) != 0)
      break;
  }
  /* Continue in a file of its own: the replayed ones go when the next
   * snapshot (which holds them) is stored. */
  return journal_open(j);
}
