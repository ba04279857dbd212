/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: state files, written atomically.
 *
 * A state file is replaced whole: the new content goes to a temporary file
 * in the same directory, which is fsync'ed and renamed over the old one,
 * and the directory is fsync'ed, so a crash leaves the old or the new file,
 * never a mix.
 */
#ifndef GEN_STATE_H
#define GEN_STATE_H 1

#include "gen_buf.h"
#include "gen_log.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A reader of a state file refuses a value not as we write it alone (a
 * count beyond 2^53, below zero, text), keeping the others: it logs the
 * first this many each with its key, then how many in all. */
#define GEN_STATE_REFUSED_LOGGED 10

/* Largest state file we read back. */
#define GEN_STATE_MAX_SIZE (64 * 1024 * 1024)

/* Creates dir (and missing parents) with mode 0750. 0 or negative errno. */
int gen_state_mkdir(const char *dir);

/* Writes len bytes atomically to path (mode 0640). 0 or negative errno. */
int gen_state_write(const char *path, const void *data, size_t len);

/* A state file written as it is made, for a state too large to hold whole
 * in memory beside its own text (a ledger of 200,000 conversations): the
 * writer appends to buf and calls gen_state_stream_flush(), which passes
 * what buf holds to a temporary file once it is GEN_STATE_CHUNK bytes or
 * more. gen_state_stream_close() makes that file the one at path as
 * gen_state_write() does, or removes it (commit false, or after an error).
 * Each returns 0 or the first error, a negative errno; close is always
 * called, also after a failed open. */
#define GEN_STATE_CHUNK (64 * 1024)
typedef struct {
  gen_buf_t buf;
  int fd;
  int status;
  char path[PATH_MAX], tmp[PATH_MAX];
} gen_state_stream_t;

int gen_state_stream_open(gen_state_stream_t *s, const char *path);
int gen_state_stream_flush(gen_state_stream_t *s);
int gen_state_stream_close(gen_state_stream_t *s, bool commit);

/* Renames a state file written whole (by the two above) to another name,
 * durably (the directory fsync'ed): a state written now, to stand later.
 * 0 or a negative errno. */
int gen_state_rename(const char *from, const char *to);

/* A journal beside a state file: an append-only file of lines, each
 * append written whole or cut back off (a fragment left in the file would
 * join the next line and spoil it at replay). One writer of journals, of
 * every form (genesys_flowmetrics' generations, the interval engine's
 * records). */
typedef struct {
  int fd;      /* -1: not open */
  int64_t len; /* its bytes written whole */
  bool torn;   /* an append failed and could not be cut back off */
} gen_state_append_t;

/* Opens path to append (made with mode 0640; trunc: emptied). a->len is
 * what it holds. 0 or a negative errno (a->fd -1). */
int gen_state_append_open(gen_state_append_t *a, const char *path, bool trunc);
/* Writes len bytes: 0 once they are in the file (a SIGKILL does not lose
 * them; a power cut may: gen_state_append_sync), or a negative errno with
 * the file cut back to a->len (a->torn when that failed too). */
int gen_state_append(gen_state_append_t *a, const void *data, size_t len);
/* fdatasync: 0 or a negative errno (0 when not open). */
int gen_state_append_sync(gen_state_append_t *a);
void gen_state_append_close(gen_state_append_t *a);

/* The one reader of journals: calls line() with each whole line of f from
 * its position (NUL-terminated, without its newline) until it returns
 * non-zero, which is returned; 0 at the end. A last line without its
 * newline (a write a crash cut) ends the read: *torn (may be NULL). *good
 * (may be NULL) is added the bytes of the lines line() took (returned 0
 * for). */
int gen_state_lines(FILE *f, int (*line)(void *ud, char *text, size_t len),
                    void *ud, int64_t *good, bool *torn);

/* Reads a whole file of at most max bytes into a NUL-terminated heap buffer.
 * Returns 0, -ENOENT when there is no file, -EFBIG when it is too large, or
 * another negative errno. */
int gen_state_read(const char *path, size_t max, char **data, size_t *len);

/* gen_state_read() of a JSON document of at most GEN_STATE_MAX_SIZE
 * bytes: -EINVAL for a file that is not valid JSON (the caller logs it and
 * starts afresh). */
int gen_state_load_json(const char *path, json_object **doc);

/* The reader of a state file of any size. A file of lines (a JSON text on
 * each, every line ending with '\n': a header, then one entry a line, as
 * gen_state_stream writes a state too large to hold whole) gives each
 * line's document to entry() in turn: never more than a line's text and
 * tree in memory. A file of one document without a final '\n' (every
 * state file before lines, and the small ones still) gives its document
 * whole, once, if at most max bytes. entry() borrows the document. 0,
 * -ENOENT (no file), -EFBIG (a line or the document past max), -EINVAL
 * (one that is not JSON), entry()'s non-zero return or another negative
 * errno. */
int gen_state_load_each(const char *path, size_t max,
                        int (*entry)(void *ud, json_object *doc), void *ud);
/* gen_state_load_each, where a line of the file of lines that is not JSON
 * or is past max does not end the read: bad(ud, -EINVAL or -EFBIG) is
 * called in its place and the read ends only when it returns non-zero (a
 * reader that refuses a bad row alone). */
int gen_state_load_rows(const char *path, size_t max,
                        int (*entry)(void *ud, json_object *doc),
                        int (*bad)(void *ud, int status), void *ud);

/* The default state directory: "<collectd BaseDir>/genesys". */
void gen_state_default_dir(char *buf, size_t size);

/* The state file "<dir>/<stem>-<org><suffix>.json" of one org (dir NULL:
 * the default directory; org made safe as a file name), its directory
 * created. 0, or a negative errno with the reason in err ("StateDirectory
 * <dir>: <why>"). */
int gen_state_path(const char *dir, const char *stem, const char *org,
                   const char *suffix, char *path, size_t size, char *err,
                   size_t err_size);
/* gen_state_path, its failure logged as who's line (LOG_ERR). */
int gen_state_path_logged(const gen_log_org_t *who, const char *dir,
                          const char *stem, const char *org, const char *suffix,
                          char *path, size_t size);

/* A watch of the state paths gen_state_path() makes on the calling thread
 * (gen_standby: the files to copy and restore): each path, its directory
 * made, is given to path() before the caller reads it. NULL: none. */
typedef struct {
  void (*path)(void *ud, const char *path);
  void *ud;
} gen_state_watch_t;
void gen_state_watch(const gen_state_watch_t *watch);

#endif /* GEN_STATE_H */
