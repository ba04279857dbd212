/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: reading secrets from files and the environment.
 */
#include "gen_secret.h"
#include "gen_log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void trim_trailing_space(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
                   s[n - 1] == '\t'))
    s[--n] = '\0';
}

int gen_secret_from_file(const char *path, char **out, char *err,
                         size_t err_size) {
  *out = NULL;
  /* Symbolic links are followed (Kubernetes mounts a secret as a link to
   * a link); what is checked below is the file actually opened, so a link
   * swapped after the check cannot pass. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    snprintf(err, err_size, "cannot open: %s", gen_strerror(e));
    return -e;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    snprintf(err, err_size, "cannot stat: %s", gen_strerror(e));
    close(fd);
    return -e;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, err_size, "not a regular file");
    close(fd);
    return -EINVAL;
  }
  /* Another local user could have written it: refused as sshd refuses a
   * key file. */
  if (st.st_uid != geteuid() && st.st_uid != 0) {
    snprintf(err, err_size,
             "owned by uid %u, neither collectd's user (uid %u) nor root",
             (unsigned)st.st_uid, (unsigned)geteuid());
    close(fd);
    return -EPERM;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    snprintf(err, err_size,
             "permissions %04o let the group or others read it; "
             "chmod 0600 (or 0400) it",
             (unsigned)(st.st_mode & 07777));
    close(fd);
    return -EPERM;
  }
  char buf[GEN_SECRET_MAX + 1];
  size_t used = 0;
  for (;;) {
    ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      snprintf(err, err_size, "cannot read: %s", gen_strerror(e));
      close(fd);
      OPENSSL_cleanse(buf, sizeof(buf));
      return -e;
    }
    if (n == 0)
      break;
    used += (size_t)n;
    if (used == sizeof(buf) - 1) {
      snprintf(err, err_size, "longer than %d bytes", GEN_SECRET_MAX);
      close(fd);
      OPENSSL_cleanse(buf, sizeof(buf));
      return -EFBIG;
    }
  }
  close(fd);
  buf[used] = '\0';
  trim_trailing_space(buf);
  if (buf[0] == '\0') {
    snprintf(err, err_size, "file is empty");
    return -EINVAL;
  }
  *out = gen_secure_strdup(buf);
  OPENSSL_cleanse(buf, sizeof(buf));
  if (*out == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  return 0;
}

int gen_secret_from_env(const char *variable, char **out, char *err,
                        size_t err_size) {
  *out = NULL;
  const char *value = getenv(variable);
  if (value == NULL || value[0] == '\0') {
    snprintf(err, err_size, "environment variable is not set or empty");
    return -ENOENT;
  }
  *out = gen_secure_strdup(value);
  if (*out == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  trim_trailing_space(*out);
  return 0;
}
