/* SPDX-License-Identifier: MIT */
/* Records what gen_curl_policy gives a handle, for the tests of every module
 * that makes one (gen_http, gen_ws): each must get the whole policy. */
#ifndef CURL_POLICY_H
#define CURL_POLICY_H 1

#include "gen_config.h"

#include "collectd/core/testing.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <string.h>

#define POLICY_MAX 32
static struct {
  int option;
  long number;
  char text[128];
} policy_seen[POLICY_MAX];
static size_t policy_n;

static void policy_record(gen_curl_t *curl, int option, long number,
                          const char *text) {
  if (policy_n == POLICY_MAX)
    return;
  policy_seen[policy_n].option = option;
  policy_seen[policy_n].number = number;
  snprintf(policy_seen[policy_n].text, sizeof(policy_seen[0].text), "%s",
           text ? text : "");
  policy_n++;
}

static void policy_watch(void) {
  policy_n = 0;
  gen_curl_policy_seen = policy_record;
}

/* The value given for option, or -1 when it was not given. */
static long policy_number(CURLoption option) {
  for (size_t i = 0; i < policy_n; i++)
    if (policy_seen[i].option == (int)option)
      return policy_seen[i].number;
  return -1;
}

static const char *policy_text(CURLoption option) {
  for (size_t i = 0; i < policy_n; i++)
    if (policy_seen[i].option == (int)option)
      return policy_seen[i].text;
  return NULL;
}

static bool policy_text_is(CURLoption option, const char *want) {
  const char *got = policy_text(option);
  return got != NULL && strcmp(got, want) == 0;
}

/* The whole policy, with the org's proxy and CA file, was applied. */
static int policy_expect_all(const char *proxy, const char *ca_file) {
  gen_curl_policy_seen = NULL;
  EXPECT_EQ_INT(1, (int)policy_number(CURLOPT_SSL_VERIFYPEER));
  EXPECT_EQ_INT(2, (int)policy_number(CURLOPT_SSL_VERIFYHOST));
  EXPECT_EQ_INT((int)CURL_SSLVERSION_TLSv1_2,
                (int)policy_number(CURLOPT_SSLVERSION));
  EXPECT_EQ_INT(1, (int)policy_number(CURLOPT_TCP_KEEPALIVE));
  EXPECT_EQ_INT(0, (int)policy_number(CURLOPT_FOLLOWLOCATION));
  EXPECT_EQ_INT(1, (int)policy_number(CURLOPT_NOSIGNAL));
  OK(policy_text_is(CURLOPT_PROTOCOLS_STR, "http,https"));
  OK(policy_text_is(CURLOPT_PROXY, proxy));
  /* No proxy carries plain http to loopback (credentials in clear). */
  const char *noproxy = policy_text(CURLOPT_NOPROXY);
  OK(noproxy != NULL && strncmp(noproxy, "localhost,127.0.0.", 18) == 0 &&
     strstr(noproxy, ",::1") != NULL);
  OK(policy_text_is(CURLOPT_CAINFO, ca_file));
  return 0;
}

#endif /* CURL_POLICY_H */
