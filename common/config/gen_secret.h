/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: reading secrets from files and the environment.
 */
#ifndef GEN_SECRET_H
#define GEN_SECRET_H 1

#include <stddef.h>

/* Largest secret file we read. */
#define GEN_SECRET_MAX 4096

/* Reads a secret from a file, refusing files that are not regular or that
 * the group or others may read or write. Trailing white space is dropped.
 * On success *out is a heap string (free with gen_free_secret) and 0 is
 * returned; on failure a negative errno and a reason in err. */
int gen_secret_from_file(const char *path, char **out, char *err,
                         size_t err_size);

/* Copies the value of an environment variable. Same contract. */
int gen_secret_from_env(const char *variable, char **out, char *err,
                        size_t err_size);

#endif /* GEN_SECRET_H */
