/* SPDX-License-Identifier: MIT */
/* collectd-genesys: one error space (see gen_err.h). */
#include "gen_err.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const struct {
  int code;
  const char *name;
} names[] = {
    {GEN_WS_ERR_AGAIN, "operation would block"},
    {GEN_WS_ERR_TIMEOUT, "timed out"},
    {GEN_WS_ERR_CONNECT, "connection failed"},
    {GEN_WS_ERR_IO, "transport error"},
    {GEN_WS_ERR_EOF, "connection dropped without a close frame"},
    {GEN_WS_ERR_HANDSHAKE, "handshake refused"},
    {GEN_WS_ERR_HEADER_TOO_LARGE, "handshake reply header too large"},
    {GEN_WS_ERR_CLOSED, "closed by the peer"},
    {GEN_WS_ERR_PROTO, "WebSocket protocol error"},
    {GEN_WS_ERR_TOO_BIG, "message too big"},
    {GEN_WS_ERR_INVALID, "invalid argument"},
    {GEN_WS_ERR_URL, "URL refused"},
    {GEN_WS_ERR_NOT_OPEN, "not connected"},
    {GEN_WS_ERR_QUEUE_FULL, "send queue full"},
    {GEN_WS_ERR_NOMEM, "out of memory"},
    {GEN_HTTP_ERR_TRANSPORT, "no HTTP answer"},
    {GEN_HTTP_ERR_STATUS, "HTTP error status"},
    {GEN_HTTP_ERR_TOO_LARGE, "answer too large"},
    {GEN_HTTP_ERR_AUTH, "no access token"},
    {GEN_HTTP_ERR_JSON, "answer not the JSON expected"},
    {GEN_HTTP_ERR_ARGUMENT, "request refused before sending"},
    {GEN_OBS_ERR_SYNTAX, "invalid JSON"},
    {GEN_OBS_ERR_DEPTH, "nested too deep"},
    {GEN_OBS_ERR_TYPE, "field of the wrong type"},
    {GEN_OBS_ERR_VALUE, "field with an unusable value"},
    {GEN_OBS_ERR_TOO_LARGE, "message too large"},
    {GEN_OBS_ERR_NOMEM, "out of memory"},
    {GEN_OBS_ERR_ARG, "invalid argument"},
};

/* errno's range as the kernel uses it (MAX_ERRNO). */
#define ERRNO_MAX 4095

const char *gen_strerror(int err) {
  static _Thread_local char buf[128];
  if (err == 0)
    return "success";
  if (err < -ERRNO_MAX) {
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
      if (names[i].code == err)
        return names[i].name;
    return "unknown error";
  }
  if (err < 0)
    err = -err;
  return strerror_r(err, buf, sizeof(buf));
}

bool gen_err_malformed(int err) {
  switch (err) {
  case GEN_HTTP_ERR_JSON:
  case GEN_WS_ERR_PROTO:
  case GEN_OBS_ERR_SYNTAX:
  case GEN_OBS_ERR_DEPTH:
  case GEN_OBS_ERR_TYPE:
  case GEN_OBS_ERR_VALUE:
  case -EBADMSG:
    return true;
  default:
    return false;
  }
}
