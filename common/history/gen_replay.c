/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: replaying a window of history (see gen_replay.h).
 */
#include "gen_replay.h"

#include "gen_time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int gen_replay_time(const char *text, int64_t *ms) {
  size_t digits = strspn(text, "0123456789");
  if (digits > 0 && text[digits] == '\0') {
    if (digits > 12) /* beyond the year 33658: a typing error */
      return -EINVAL;
    *ms = strtoll(text, NULL, 10) * 1000;
    return 0;
  }
  return gen_time_parse(text, ms);
}

int gen_replay_window(int64_t granularity_ms, int64_t settled_ms,
                      int64_t *from_ms, int64_t *to_ms) {
  int64_t from = gen_bucket_floor(*from_ms, granularity_ms);
  int64_t to = gen_bucket_floor(*to_ms + granularity_ms - 1, granularity_ms);
  if (to > settled_ms)
    to = settled_ms;
  if (to <= from)
    return -EINVAL;
  *from_ms = from;
  *to_ms = to;
  return 0;
}

gen_interval_t *gen_replay_engine(int64_t granularity_ms, int64_t from_ms,
                                  int64_t to_ms, long max_buckets,
                                  const gen_log_org_t *who) {
  if (granularity_ms <= 0 || to_ms <= from_ms || max_buckets < 1)
    return NULL;
  /* Planned at to_ms with no settle delay, the newest settled bucket ends
   * at to_ms; a scope seen for the first time starts initial_ms before it
   * (at from_ms), and nothing done is revisited. */
  gen_interval_options_t o = {.granularity_ms = granularity_ms,
                              .settle_ms = 0,
                              .revisit_ms = 0,
                              .horizon_ms = to_ms - from_ms,
                              .initial_ms = to_ms - from_ms,
                              .max_buckets = (size_t)max_buckets,
                              .state_path = NULL,
                              .who = who};
  return gen_interval_create(&o);
}

static void no_totals(void *ud, const gen_key_t *key, int64_t at_ms,
                      const gen_interval_value_t *totals, size_t n) {}

gen_interval_sink_t gen_replay_gauges(gen_interval_sink_t family) {
  family.totals = no_totals;
  return family;
}

/* ---- the plain-text protocol --------------------------------------------
 */

/* Appends part, with '"' and '\' escaped as collectd's parser reads them. */
static size_t quoted(char *buf, size_t size, size_t at, const char *part) {
  for (; *part != '\0'; part++) {
    if ((*part == '"' || *part == '\\') && at < size)
      buf[at++] = '\\';
    if (at < size)
      buf[at++] = *part;
  }
  return at;
}

void gen_replay_identifier(const value_list_t *vl, char *id, size_t size) {
  snprintf(id, size, "%s/%s%s%s/%s%s%s", vl->host, vl->plugin,
           vl->plugin_instance[0] ? "-" : "", vl->plugin_instance, vl->type,
           vl->type_instance[0] ? "-" : "", vl->type_instance);
}

int gen_replay_putval(const value_list_t *vl, char *buf, size_t size) {
  char id[GEN_REPLAY_ID_MAX];
  gen_replay_identifier(vl, id, sizeof(id));
  size_t at = (size_t)snprintf(buf, size, "PUTVAL \"");
  at = quoted(buf, size, at, id);
  int w = snprintf(buf + (at < size ? at : size), at < size ? size - at : 0,
                   "\" interval=%.3f %.3f", CDTIME_T_TO_DOUBLE(vl->interval),
                   CDTIME_T_TO_DOUBLE(vl->time));
  at += (size_t)w;
  for (size_t i = 0; i < vl->values_len; i++) {
    double v = vl->values[i].gauge;
    w = snprintf(buf + (at < size ? at : size), at < size ? size - at : 0,
                 isnan(v) ? ":U" : ":%.17g", v);
    at += (size_t)w;
  }
  w = snprintf(buf + (at < size ? at : size), at < size ? size - at : 0, "\n");
  at += (size_t)w;
  return at < size ? (int)at : -ENOSPC;
}

/* ---- collectd's unixsock plugin -----------------------------------------
 */

struct gen_replay_sock {
  int fd;
  FILE *in;    /* collectd's answers, one line each */
  bool broken; /* an answer never came: the conversation is out of step */
};

gen_replay_sock_t *gen_replay_sock_open(const char *path, char *err,
                                        size_t err_size) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) {
    snprintf(err, err_size, "%s: the path is too long for a socket", path);
    return NULL;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  gen_replay_sock_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  /* A socket that accepts and never answers (a stuck daemon, another
   * program's socket) must not hold the replay for ever. */
  struct timeval tv = {.tv_sec = GEN_REPLAY_SOCK_TIMEOUT_S};
  s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->fd < 0 ||
      setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
      connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      (s->in = fdopen(dup(s->fd), "r")) == NULL) {
    snprintf(err, err_size, "%s: %s", path, strerror(errno));
    if (s->fd >= 0)
      close(s->fd);
    free(s);
    return NULL;
  }
  return s;
}

int gen_replay_sock_ask(gen_replay_sock_t *s, const char *line,
                        void (*each)(void *ud, char *line), void *ud, char *err,
                        size_t err_size) {
  size_t len = strlen(line), done = 0;
  if (s->broken) {
    snprintf(err, err_size,
             "collectd's socket stopped answering; nothing "
             "more sent");
    return -ETIMEDOUT;
  }
  while (done < len) {
    ssize_t w = send(s->fd, line + done, len - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      s->broken = true;
      snprintf(err, err_size,
               "collectd took no line for %d s (is its unixsock plugin "
               "stuck, or the socket another program's?)",
               GEN_REPLAY_SOCK_TIMEOUT_S);
      return -ETIMEDOUT;
    }
    if (w <= 0) {
      int e = w < 0 ? errno : EPIPE;
      snprintf(err, err_size, "cannot write to collectd: %s", strerror(e));
      return -e;
    }
    done += (size_t)w;
  }
  char answer[2048];
  errno = 0;
  if (fgets(answer, sizeof(answer), s->in) == NULL) {
    bool late = errno == EAGAIN || errno == EWOULDBLOCK;
    s->broken = late;
    if (late)
      snprintf(err, err_size,
               "collectd did not answer within %d s (is its unixsock plugin "
               "stuck, or the socket another program's?)",
               GEN_REPLAY_SOCK_TIMEOUT_S);
    else
      snprintf(err, err_size, "collectd closed the socket without answering");
    return late ? -ETIMEDOUT : -EPIPE;
  }
  answer[strcspn(answer, "\r\n")] = '\0';
  /* "0 Success: …", "3 Values found"; a negative status is a refusal. */
  int status = atoi(answer);
  if (status < 0 || !isdigit((unsigned char)answer[0])) {
    snprintf(err, err_size, "collectd refused %.*s: %s",
             (int)strcspn(line, "\n"), line, answer);
    return -EPROTO;
  }
  for (int i = 0; i < status; i++) {
    if (fgets(answer, sizeof(answer), s->in) == NULL) {
      snprintf(err, err_size, "collectd closed the socket mid-answer");
      return -EPIPE;
    }
    answer[strcspn(answer, "\r\n")] = '\0';
    if (each != NULL)
      each(ud, answer);
  }
  return status;
}

int gen_replay_sock_put(gen_replay_sock_t *s, const char *line, char *err,
                        size_t err_size) {
  int status = gen_replay_sock_ask(s, line, NULL, NULL, err, err_size);
  return status < 0 ? status : 0;
}

void gen_replay_sock_close(gen_replay_sock_t *s) {
  if (s == NULL)
    return;
  fclose(s->in);
  close(s->fd);
  free(s);
}
