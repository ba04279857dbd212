/* SPDX-License-Identifier: MIT */
/* Unit tests: the one error space (gen_err.h): module codes never meet
 * errno, every code has its own name within its module (the WebSocket
 * client's too, whose test this was), malformed input is one class. */
#include "gen_err.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>

static const int codes[] = {
    GEN_WS_ERR_AGAIN,
    GEN_WS_ERR_TIMEOUT,
    GEN_WS_ERR_CONNECT,
    GEN_WS_ERR_IO,
    GEN_WS_ERR_EOF,
    GEN_WS_ERR_HANDSHAKE,
    GEN_WS_ERR_HEADER_TOO_LARGE,
    GEN_WS_ERR_CLOSED,
    GEN_WS_ERR_PROTO,
    GEN_WS_ERR_TOO_BIG,
    GEN_WS_ERR_INVALID,
    GEN_WS_ERR_URL,
    GEN_WS_ERR_NOT_OPEN,
    GEN_WS_ERR_QUEUE_FULL,
    GEN_WS_ERR_NOMEM,
    GEN_HTTP_ERR_TRANSPORT,
    GEN_HTTP_ERR_STATUS,
    GEN_HTTP_ERR_TOO_LARGE,
    GEN_HTTP_ERR_AUTH,
    GEN_HTTP_ERR_JSON,
    GEN_HTTP_ERR_ARGUMENT,
    GEN_OBS_ERR_SYNTAX,
    GEN_OBS_ERR_DEPTH,
    GEN_OBS_ERR_TYPE,
    GEN_OBS_ERR_VALUE,
    GEN_OBS_ERR_TOO_LARGE,
    GEN_OBS_ERR_NOMEM,
    GEN_OBS_ERR_ARG,
};

/* The band a code is in (its thousands), 0 for errno. */
static int band(int code) { return code < -4095 ? code / 1000 : 0; }

DEF_TEST(bands_never_meet_errno) {
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(codes); i++) {
    OK(codes[i] < -4095);
    OK(strcmp(gen_strerror(codes[i]), "unknown error") != 0);
    for (size_t j = 0; j < i; j++) {
      OK(codes[i] != codes[j]);
      if (band(codes[i]) == band(codes[j]))
        OK(strcmp(gen_strerror(codes[i]), gen_strerror(codes[j])) != 0);
    }
  }
  /* errno keeps its own names, either sign; -100 is errno's, not ours. */
  EXPECT_EQ_STR(strerror(ENOENT), gen_strerror(-ENOENT));
  EXPECT_EQ_STR(strerror(ENOENT), gen_strerror(ENOENT));
  EXPECT_EQ_STR(strerror(100), gen_strerror(-100));
  EXPECT_EQ_STR("success", gen_strerror(0));
  EXPECT_EQ_STR("unknown error", gen_strerror(GEN_ERR_HTTP - 999));
  return 0;
}

DEF_TEST(malformed_input_is_one_class) {
  OK(gen_err_malformed(GEN_HTTP_ERR_JSON));
  OK(gen_err_malformed(GEN_WS_ERR_PROTO));
  OK(gen_err_malformed(GEN_OBS_ERR_SYNTAX));
  OK(gen_err_malformed(GEN_OBS_ERR_VALUE));
  OK(gen_err_malformed(-EBADMSG));
  OK(!gen_err_malformed(0));
  OK(!gen_err_malformed(GEN_HTTP_ERR_TRANSPORT));
  OK(!gen_err_malformed(GEN_HTTP_ERR_STATUS));
  OK(!gen_err_malformed(GEN_OBS_ERR_NOMEM));
  OK(!gen_err_malformed(-ENOMEM));
  return 0;
}

int main(void) {
  RUN_TEST(bands_never_meet_errno);
  RUN_TEST(malformed_input_is_one_class);
  END_TEST;
}
