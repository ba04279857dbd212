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
  struct stat st;
  char buf[GEN_SECRET_MAX + 1];
  size_t used = 0;
  int status = 0;
  if (fd < 0 || fstat(fd, &st) != 0) {
    status = -errno;
    snprintf(err, err_size, "cannot %s: %s", fd < 0 ? "open" : "stat",
             gen_strerror(status));
  } else if (!S_ISREG(st.st_mode)) {
    status = -EINVAL;
    snprintf(err, err_size, "not a regular file");
  } else if (st.st_uid != geteuid() && st.st_uid != 0) {
    /* Another local user could have written it: refused as sshd refuses a
     * key file. */
    status = -EPERM;
    snprintf(err, err_size,
             "owned by uid %u, neither collectd's user (uid %u) nor root",
             (unsigned)st.st_uid, (unsigned)geteuid());
  } else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    status = -EPERM;
    snprintf(err, err_size,
             "permissions %04o let the group or others read it; "
             "chmod 0600 (or 0400) it",
             (unsigned)(st.st_mode & 07777));
  }
  while (status == 0) {
    ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      break;
    if (n < 0) {
      status = -errno;
      snprintf(err, err_size, "cannot read: %s", gen_strerror(status));
    } else if ((used += (size_t)n) == sizeof(buf) - 1) {
      status = -EFBIG;
      snprintf(err, err_size, "longer than %d bytes", GEN_SECRET_MAX);
    }
  }
  if (fd >= 0)
    close(fd);
  buf[used] = '\0';
  trim_trailing_space(buf);
  if (status == 0 && buf[0] == '\0') {
    status = -EINVAL;
    snprintf(err, err_size, "file is empty");
  } else if (status == 0 && (*out = gen_secure_strdup(buf)) == NULL) {
    status = -ENOMEM;
    snprintf(err, err_size, "out of memory");
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return status;
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
