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

#include "gen_log.h"

#include <json-c/json.h>
#include <stddef.h>

/* Largest state file we read back. */
#define GEN_STATE_MAX_SIZE (64 * 1024 * 1024)

/* Creates dir (and missing parents) with mode 0750. 0 or negative errno. */
int gen_state_mkdir(const char *dir);

/* Writes len bytes atomically to path (mode 0640). 0 or negative errno. */
int gen_state_write(const char *path, const void *data, size_t len);

/* Reads a whole file of at most max bytes into a NUL-terminated heap buffer.
 * Returns 0, -ENOENT when there is no file, -EFBIG when it is too large, or
 * another negative errno. */
int gen_state_read(const char *path, size_t max, char **data, size_t *len);

/* JSON wrappers of the two above. gen_state_load_json() returns -EINVAL for
 * a file that is not valid JSON (the caller logs it and starts afresh). */
int gen_state_save_json(const char *path, json_object *doc);
int gen_state_load_json(const char *path, json_object **doc);

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

#endif /* GEN_STATE_H */
