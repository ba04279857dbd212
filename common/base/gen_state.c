/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: state files, written atomically.
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/configfile.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_names.h"
#include "gen_state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gen_state_mkdir(const char *dir) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
    return -ENAMETOOLONG;
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
      return -errno;
    *p = saved;
    if (saved == '\0')
      break;
  }
  struct stat st;
  if (stat(path, &st) != 0)
    return -errno;
  return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : -ENOSPC;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int gen_state_rename(const char *from, const char *to) {
  if (rename(from, to) != 0)
    return -errno;
  /* Make the rename itself durable. */
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", to);
  int status = 0, dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    if (fsync(dfd) != 0)
      status = -errno;
    close(dfd);
  }
  return status;
}

int gen_state_stream_open(gen_state_stream_t *s, const char *path) {
  gen_buf_init(&s->buf, SIZE_MAX);
  s->fd = -1;
  s->status = 0;
  if (snprintf(s->path, sizeof(s->path), "%s", path) >= (int)sizeof(s->path) ||
      snprintf(s->tmp, sizeof(s->tmp), "%s.tmp.XXXXXX", path) >=
          (int)sizeof(s->tmp))
    return s->status = -ENAMETOOLONG;
  s->fd = mkstemp(s->tmp);
  if (s->fd < 0)
    return s->status = -errno;
  if (fchmod(s->fd, 0640) != 0)
    s->status = -errno;
  return s->status;
}

static int stream_write(gen_state_stream_t *s, const char *data, size_t len) {
  if (s->status == 0 && s->fd < 0)
    s->status = -EBADF;
  if (s->status == 0)
    s->status = write_all(s->fd, data, len);
  return s->status;
}

int gen_state_stream_flush(gen_state_stream_t *s) {
  if (s->buf.len < GEN_STATE_CHUNK)
    return s->status;
  stream_write(s, s->buf.data, s->buf.len);
  gen_buf_reset(&s->buf);
  return s->status;
}

int gen_state_stream_close(gen_state_stream_t *s, bool commit) {
  if (s->buf.len > 0)
    stream_write(s, s->buf.data, s->buf.len);
  gen_buf_free(&s->buf);
  if (!commit && s->status == 0)
    s->status = -ECANCELED;
  if (s->status == 0 && fsync(s->fd) != 0)
    s->status = -errno;
  if (s->fd >= 0 && close(s->fd) != 0 && s->status == 0)
    s->status = -errno;
  if (s->fd >= 0 && s->status == 0)
    s->status = gen_state_rename(s->tmp, s->path);
  if (s->status != 0 && s->fd >= 0)
    unlink(s->tmp);
  s->fd = -1;
  return s->status;
}

int gen_state_write(const char *path, const void *data, size_t len) {
  gen_state_stream_t s;
  if (gen_state_stream_open(&s, path) == 0)
    stream_write(&s, data, len);
  return gen_state_stream_close(&s, true);
}

int gen_state_append_open(gen_state_append_t *a, const char *path, bool trunc) {
  a->torn = false;
  a->len = 0;
  a->fd = open(path,
               O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : 0),
               0640);
  if (a->fd < 0)
    return -errno;
  struct stat st;
  if (fstat(a->fd, &st) != 0) {
    int status = -errno;
    gen_state_append_close(a);
    return status;
  }
  a->len = st.st_size;
  return 0;
}

int gen_state_append(gen_state_append_t *a, const void *data, size_t len) {
  int status = a->fd < 0 ? -EBADF : write_all(a->fd, data, len);
  if (status == 0)
    a->len += (int64_t)len;
  else if (a->fd >= 0 && ftruncate(a->fd, a->len) != 0)
    a->torn = true;
  return status;
}

int gen_state_append_sync(gen_state_append_t *a) {
  return a->fd >= 0 && fdatasync(a->fd) != 0 ? -errno : 0;
}

void gen_state_append_close(gen_state_append_t *a) {
  if (a->fd >= 0)
    close(a->fd);
  a->fd = -1;
}

int gen_state_lines(FILE *f, int (*line)(void *ud, char *text, size_t len),
                    void *ud, int64_t *good, bool *torn) {
  char *text = NULL;
  size_t cap = 0;
  ssize_t n;
  int status = 0;
  bool cut = false;
  while (status == 0 && (n = getline(&text, &cap, f)) > 0) {
    if ((cut = text[n - 1] != '\n'))
      break;
    text[n - 1] = '\0';
    if ((status = line(ud, text, (size_t)n - 1)) == 0 && good != NULL)
      *good += n;
  }
  free(text);
  if (torn != NULL)
    *torn = cut;
  return status;
}

int gen_state_read(const char *path, size_t max, char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  if ((size_t)st.st_size > max) {
    close(fd);
    return -EFBIG;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    close(fd);
    return -ENOMEM;
  }
  size_t used = 0;
  while (used < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    used += (size_t)n;
  }
  close(fd);
  buf[used] = '\0';
  *data = buf;
  *len = used;
  return 0;
}

static int load_json(const char *path, size_t max, json_object **doc) {
  char *data;
  size_t len;
  *doc = NULL;
  int status = gen_state_read(path, max, &data, &len);
  if (status != 0)
    return status;
  char err[128];
  status = gen_json_parse(data, len, GEN_JSON_MAX_DEPTH, doc, err, sizeof(err));
  free(data);
  return status;
}

int gen_state_load_json(const char *path, json_object **doc) {
  return load_json(path, GEN_STATE_MAX_SIZE, doc);
}

typedef struct {
  int (*entry)(void *ud, json_object *doc);
  int (*bad)(void *ud, int status);
  void *ud;
  size_t max;
} each_t;

static int each_line(void *ud, char *text, size_t len) {
  each_t *e = ud;
  json_object *doc = NULL;
  char err[128];
  int status = len > e->max ? -EFBIG
                            : gen_json_parse(text, len, GEN_JSON_MAX_DEPTH,
                                             &doc, err, sizeof(err));
  if (status == 0)
    status = e->entry(e->ud, doc);
  else if (e->bad != NULL)
    status = e->bad(e->ud, status);
  json_object_put(doc);
  return status;
}

int gen_state_load_each(const char *path, size_t max,
                        int (*entry)(void *ud, json_object *doc), void *ud) {
  return gen_state_load_rows(path, max, entry, NULL, ud);
}

int gen_state_load_rows(const char *path, size_t max,
                        int (*entry)(void *ud, json_object *doc),
                        int (*bad)(void *ud, int status), void *ud) {
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return -errno;
  int status = 0;
  if (fseeko(f, -1, SEEK_END) != 0 || fgetc(f) != '\n') {
    fclose(f); /* one document (or none: an empty file is not JSON) */
    json_object *doc = NULL;
    status = load_json(path, max, &doc);
    if (status == 0)
      status = entry(ud, doc);
    json_object_put(doc);
    return status;
  }
  rewind(f);
  each_t e = {.entry = entry, .bad = bad, .ud = ud, .max = max};
  status = gen_state_lines(f, each_line, &e, NULL, NULL);
  if (status == 0 && ferror(f))
    status = -EIO;
  fclose(f);
  return status;
}

void gen_state_default_dir(char *buf, size_t size) {
  const char *base = global_option_get("BaseDir");
  snprintf(buf, size, "%s/genesys",
           (base != NULL && base[0] != '\0') ? base : "/var/lib/collectd");
}

static __thread const gen_state_watch_t *watching;

void gen_state_watch(const gen_state_watch_t *watch) { watching = watch; }

int gen_state_path(const char *dir, const char *stem, const char *org,
                   const char *suffix, char *path, size_t size, char *err,
                   size_t err_size) {
  char d[PATH_MAX], safe[DATA_MAX_NAME_LEN];
  if (dir != NULL)
    snprintf(d, sizeof(d), "%s", dir);
  else
    gen_state_default_dir(d, sizeof(d));
  gen_sanitize_name(org, safe, sizeof(safe));
  if (snprintf(path, size, "%s/%s-%s%s.json", d, stem, safe, suffix) >=
      (int)size) {
    snprintf(err, err_size, "StateDirectory %s: too long", d);
    return -ENAMETOOLONG;
  }
  int status = gen_state_mkdir(d);
  if (status != 0)
    snprintf(err, err_size, "StateDirectory %s: %s", d, gen_strerror(status));
  else if (watching != NULL)
    watching->path(watching->ud, path);
  return status;
}

int gen_state_path_logged(const gen_log_org_t *who, const char *dir,
                          const char *stem, const char *org, const char *suffix,
                          char *path, size_t size) {
  char err[PATH_MAX + 64];
  int status =
      gen_state_path(dir, stem, org, suffix, path, size, err, sizeof(err));
  if (status != 0)
    gen_log_org(who, NULL, LOG_ERR, "%s", err);
  return status;
}
