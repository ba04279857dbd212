/* SPDX-License-Identifier: MIT */
/* Unit tests: the HTTP client and the token cache, over a scripted
 * transport (no network): retry policy, 401 refresh, paging, error bodies,
 * rate-limit headers, size cap, redaction of secrets and tokens. */
#include "curl_policy.h"
#include "gen_auth.c"
#include "gen_http.c"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#define SECRET "client-secret-0123456789"

typedef struct {
  long status; /* 0 = transport error */
  const char *body;
  double retry_after;
  int64_t rl_count, rl_allowed, rl_reset;
  bool too_large;
} scripted_t;

typedef struct {
  char method[8];
  char url[512];
  char authorization[512];
  char content_type[128];
  char body[512];
} seen_t;

static scripted_t script[64];
static size_t script_len, script_pos;
/* Bodies arrive through on_body() in pieces, as curl hands them over. */
static bool through_on_body;
static seen_t seen[64];
static size_t seen_len;
static double slept[64];
static size_t slept_len;
static cdtime_t fake_now;

static cdtime_t fake_clock(void) { return fake_now; }
static void fake_sleep(double s) { slept[slept_len++] = s; }

static void reset(void) {
  script_len = script_pos = seen_len = slept_len = 0;
  mock_log_reset();
}

static void push(scripted_t s) {
  if (s.retry_after == 0 && s.status != 429)
    s.retry_after = -1;
  script[script_len++] = s;
}

static int fake_perform(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  seen_t *s = &seen[seen_len++];
  memset(s, 0, sizeof(*s));
  sstrncpy(s->method, method, sizeof(s->method));
  sstrncpy(s->url, url, sizeof(s->url));
  if (body)
    sstrncpy(s->body, body, sizeof(s->body));
  for (struct curl_slist *h = headers; h; h = h->next) {
    if (strncmp(h->data, "Authorization: ", 15) == 0)
      sstrncpy(s->authorization, h->data + 15, sizeof(s->authorization));
    if (strncmp(h->data, "Content-Type: ", 14) == 0)
      sstrncpy(s->content_type, h->data + 14, sizeof(s->content_type));
  }
  if (script_pos >= script_len) {
    snprintf(resp->error, sizeof(resp->error), "script exhausted");
    return GEN_HTTP_ERR_TRANSPORT;
  }
  scripted_t *r = &script[script_pos++];
  if (r->too_large) {
    resp->too_large = true;
    return GEN_HTTP_ERR_TOO_LARGE;
  }
  if (r->status == 0) {
    snprintf(resp->error, sizeof(resp->error), "Connection refused");
    return GEN_HTTP_ERR_TRANSPORT;
  }
  resp->status = r->status;
  if (r->body && through_on_body) {
    http->current = resp;
    for (size_t off = 0, len = strlen(r->body); off < len; off += 100) {
      size_t n = len - off < 100 ? len - off : 100;
      if (on_body((char *)r->body + off, 1, n, http) != n)
        return GEN_HTTP_ERR_TOO_LARGE;
    }
    http->current = NULL;
  } else if (r->body) {
    resp->body = strdup(r->body);
    resp->body_len = strlen(r->body);
  }
  resp->retry_after = r->retry_after;
  resp->rl_count = r->rl_count ? r->rl_count : -1;
  resp->rl_allowed = r->rl_allowed ? r->rl_allowed : -1;
  resp->rl_reset = r->rl_reset ? r->rl_reset : -1;
  snprintf(resp->correlation_id, sizeof(resp->correlation_id), "corr-%zu",
           script_pos);
  return 0;
}

static gen_org_t *make_org(void) {
  gen_org_t *org = gen_org_create("genesys_test", "acme");
  org->api_base_url = strdup("https://api.example.test");
  org->login_base_url = strdup("https://login.example.test");
  org->client_id = strdup("my-client");
  org->client_secret = strdup(SECRET);
  gen_redact_add(org->client_secret);
  return org;
}

static char token_bodies[64][256];
static size_t token_bodies_len;

static const char *token_body(const char *token, int expires_in) {
  char *buf = token_bodies[token_bodies_len++ % 64];
  snprintf(buf, sizeof(token_bodies[0]),
           "{\"access_token\":\"%s\",\"token_type\":\"bearer\","
           "\"expires_in\":%d}",
           token, expires_in);
  return buf;
}

typedef struct {
  gen_org_t *org;
  gen_stats_t stats;
  gen_auth_t *auth;
  gen_http_t *http;
} fixture_t;

static void setup(fixture_t *f) {
  reset();
  f->org = make_org();
  gen_stats_init(&f->stats);
  f->auth = gen_auth_create(f->org, &f->stats);
  gen_http_tokens_t tokens = gen_auth_tokens(f->auth);
  f->http = gen_http_create(f->org, &f->stats, &tokens);
}

static void teardown(fixture_t *f) {
  gen_http_free(f->http);
  gen_auth_free(f->auth);
  gen_org_free(f->org);
}

DEF_TEST(token_request_shape) {
  fixture_t f;
  setup(&f);
  push((scripted_t){.status = 200, .body = token_body("tok-AAAA-1", 86400)});
  push((scripted_t){.status = 200, .body = "{\"ok\":true}"});
  json_object *doc;
  char err[256];
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/routing/queues",
                               GEN_HTTP_NO_BOUND, &doc, err, sizeof(err)));
  json_object_put(doc);
  EXPECT_EQ_INT(2, seen_len);
  EXPECT_EQ_STR("POST", seen[0].method);
  EXPECT_EQ_STR("https://login.example.test/oauth/token", seen[0].url);
  /* base64("my-client:" SECRET) */
  EXPECT_EQ_STR("Basic bXktY2xpZW50OmNsaWVudC1zZWNyZXQtMDEyMzQ1Njc4OQ==",
                seen[0].authorization);
  EXPECT_EQ_STR("application/x-www-form-urlencoded", seen[0].content_type);
  EXPECT_EQ_STR("grant_type=client_credentials", seen[0].body);
  EXPECT_EQ_STR("GET", seen[1].method);
  EXPECT_EQ_STR("https://api.example.test/api/v2/routing/queues", seen[1].url);
  EXPECT_EQ_STR("Bearer tok-AAAA-1", seen[1].authorization);
  EXPECT_EQ_INT(1, atomic_load(&f.stats.token_refreshes));
  EXPECT_EQ_INT(1, atomic_load(&f.stats.requests[200]) - 1);
  teardown(&f);
  return 0;
}

DEF_TEST(token_refreshed_ahead_of_expiry) {
  fixture_t f;
  setup(&f);
  fake_now = TIME_T_TO_CDTIME_T(100000);
  /* 3600 s lifetime: refreshed 360 s (10 %) before it ends. */
  push((scripted_t){.status = 200, .body = token_body("tok-one-1", 3600)});
  push((scripted_t){.status = 200, .body = token_body("tok-two-2", 3600)});
  char token[GEN_TOKEN_MAX];
  uint64_t generation;
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), &generation));
  EXPECT_EQ_STR("tok-one-1", token);
  fake_now += TIME_T_TO_CDTIME_T(3600 - 361);
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), &generation));
  EXPECT_EQ_STR("tok-one-1", token);
  EXPECT_EQ_INT(1, seen_len);
  fake_now += TIME_T_TO_CDTIME_T(2);
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), &generation));
  EXPECT_EQ_STR("tok-two-2", token);
  EXPECT_EQ_INT(2, seen_len);
  /* A short-lived token (300 s): the margin is at least 60 s. */
  push((scripted_t){.status = 200, .body = token_body("tok-three-3", 300)});
  gen_auth_invalidate(f.auth, generation);
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), &generation));
  EXPECT_EQ_STR("tok-three-3", token);
  fake_now += TIME_T_TO_CDTIME_T(239);
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  EXPECT_EQ_INT(3, seen_len);
  OK(gen_auth_remaining(f.auth) > 60.0 && gen_auth_remaining(f.auth) < 62.0);
  teardown(&f);
  return 0;
}

/* Found by tests/fuzz/fuzz_rest.c: a token that would break its header
 * line is refused, and a lifetime too long for cdtime_t is capped instead
 * of wrapping (2^34 s made the token expire at once). */
DEF_TEST(token_answer_checked) {
  fixture_t f;
  setup(&f);
  fake_now = TIME_T_TO_CDTIME_T(300000);
  f.org->max_retries = 0;
  push((scripted_t){.status = 200,
                    .body = "{\"access_token\":\"abc\\r\\nX-Injected: 1\","
                            "\"expires_in\":3600}"});
  char token[GEN_TOKEN_MAX];
  OK(gen_auth_token(f.auth, token, sizeof(token), NULL) == GEN_HTTP_ERR_AUTH);
  OK(mock_log_contains("no usable access_token"));
  fake_now += TIME_T_TO_CDTIME_T(10); /* past the backoff */
  push((scripted_t){.status = 200,
                    .body = "{\"access_token\":\"tok-long-1\","
                            "\"expires_in\":17179869184}"});
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  EXPECT_EQ_STR("tok-long-1", token);
  OK(f.auth->expires == fake_now + TIME_T_TO_CDTIME_T(30 * 86400));
  /* Still valid a day later: no second request. */
  fake_now += TIME_T_TO_CDTIME_T(86400);
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  EXPECT_EQ_INT(2, seen_len);
  teardown(&f);
  return 0;
}

/* The token handle's own bound (64 KiB): a token answer beyond it is
 * refused as it arrives, named and counted; the next one is taken. */
DEF_TEST(token_answer_bounded) {
  fixture_t f;
  setup(&f);
  through_on_body = true;
  fake_now = TIME_T_TO_CDTIME_T(400000);
  f.org->max_retries = 0;
  static char big[(64 << 10) + 2];
  const char *head = "{\"access_token\":\"tok-big-1\",\"expires_in\":3600";
  memset(big, ' ', (64 << 10) + 1);
  memcpy(big, head, strlen(head));
  big[64 << 10] = '}';
  push((scripted_t){.status = 200, .body = big});
  char token[GEN_TOKEN_MAX];
  OK(gen_auth_token(f.auth, token, sizeof(token), NULL) != 0);
  OK(mock_log_contains("token answer larger than 65536 bytes"));
  EXPECT_EQ_INT(1, (int)atomic_load(&f.stats.too_large));
  fake_now += TIME_T_TO_CDTIME_T(10); /* past the backoff */
  push((scripted_t){.status = 200, .body = token_body("tok-small-1", 3600)});
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  EXPECT_EQ_STR("tok-small-1", token);
  through_on_body = false;
  teardown(&f);
  return 0;
}

/* A LoginBaseURL too long for the token URL: no request to a URL cut
 * short (the credentials would go to another path). */
DEF_TEST(token_url_too_long) {
  fixture_t f;
  setup(&f);
  char url[1100];
  snprintf(url, sizeof(url), "https://login.example.test/%01050d", 0);
  free(f.org->login_base_url);
  f.org->login_base_url = strdup(url);
  push((scripted_t){.status = 200, .body = token_body("tok-never-1", 3600)});
  char token[GEN_TOKEN_MAX];
  OK(gen_auth_token(f.auth, token, sizeof(token), NULL) == GEN_HTTP_ERR_AUTH);
  EXPECT_EQ_INT(0, seen_len);
  OK(mock_log_contains("LoginBaseURL is too long"));
  teardown(&f);
  return 0;
}

DEF_TEST(token_failure_backs_off_and_keeps_valid_token) {
  fixture_t f;
  setup(&f);
  mock_notifs_reset();
  fake_now = TIME_T_TO_CDTIME_T(200000);
  f.org->max_retries = 0;
  push((scripted_t){.status = 200, .body = token_body("tok-keep-1", 3600)});
  char token[GEN_TOKEN_MAX];
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  /* Due for refresh, but the login host fails: the old token is kept. */
  fake_now += TIME_T_TO_CDTIME_T(3300);
  push((scripted_t){.status = 500, .body = "{\"error\":\"server_error\"}"});
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  EXPECT_EQ_STR("tok-keep-1", token);
  EXPECT_EQ_INT(1, atomic_load(&f.stats.token_failures));
  /* Within the 5 s backoff, no new attempt. */
  fake_now += TIME_T_TO_CDTIME_T(4);
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  EXPECT_EQ_INT(2, seen_len);
  /* Expired and still failing: an error, and the backoff doubles. */
  fake_now += TIME_T_TO_CDTIME_T(400);
  push((scripted_t){.status = 401,
                    .body = "{\"error\":\"invalid_client\",\"description\":"
                            "\"bad secret\"}"});
  EXPECT_EQ_INT(0, (int)mock_notifs_num); /* a token was had throughout */
  OK(gen_auth_token(f.auth, token, sizeof(token), NULL) == GEN_HTTP_ERR_AUTH);
  OK(mock_log_contains("cannot get an access token"));
  OK(f.auth->backoff == TIME_T_TO_CDTIME_T(10));
  /* None now: one notification, however often asked; OKAY once one is had
   * again (collectd-genesys(5), NOTIFICATIONS). */
  OK(gen_auth_token(f.auth, token, sizeof(token), NULL) == GEN_HTTP_ERR_AUTH);
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_FAILURE, "self", "api_up", ""));
  fake_now += TIME_T_TO_CDTIME_T(11);
  push((scripted_t){.status = 200, .body = token_body("tok-keep-2", 3600)});
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_OKAY, "self", "api_up", ""));
  EXPECT_EQ_INT(2, (int)mock_notifs_num);
  mock_notifs_reset();
  teardown(&f);
  return 0;
}

/* A failing login is tried once per attempt (no retry sleeps in the
 * caller's thread); the token backoff spaces the attempts. */
DEF_TEST(token_request_not_retried) {
  fixture_t f;
  setup(&f);
  fake_now = TIME_T_TO_CDTIME_T(300000);
  f.org->max_retries = 3;
  push((scripted_t){.status = 0}); /* transport error */
  push((scripted_t){.status = 503});
  char token[GEN_TOKEN_MAX];
  OK(gen_auth_token(f.auth, token, sizeof(token), NULL) == GEN_HTTP_ERR_AUTH);
  EXPECT_EQ_INT(1, seen_len);
  EXPECT_EQ_INT(0, slept_len);
  fake_now += TIME_T_TO_CDTIME_T(6);
  OK(gen_auth_token(f.auth, token, sizeof(token), NULL) == GEN_HTTP_ERR_AUTH);
  EXPECT_EQ_INT(2, seen_len);
  EXPECT_EQ_INT(0, slept_len);
  teardown(&f);
  return 0;
}

DEF_TEST(single_refresh_and_retry_on_401) {
  fixture_t f;
  setup(&f);
  push((scripted_t){.status = 200, .body = token_body("tok-old-1", 86400)});
  push((scripted_t){.status = 401,
                    .body = "{\"message\":\"Invalid login credentials.\","
                            "\"code\":\"bad.credentials\",\"status\":401}"});
  push((scripted_t){.status = 200, .body = token_body("tok-new-2", 86400)});
  push((scripted_t){.status = 200, .body = "{}"});
  json_object *doc;
  char err[256];
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  json_object_put(doc);
  EXPECT_EQ_INT(4, seen_len);
  EXPECT_EQ_STR("Bearer tok-old-1", seen[1].authorization);
  EXPECT_EQ_STR("Bearer tok-new-2", seen[3].authorization);
  EXPECT_EQ_INT(0, slept_len);

  /* A second 401 after the refresh is final: one refresh, one retry. */
  push((scripted_t){.status = 401, .body = "{\"code\":\"bad.credentials\"}"});
  push((scripted_t){.status = 200, .body = token_body("tok-new-3", 86400)});
  push((scripted_t){.status = 401, .body = "{\"code\":\"bad.credentials\"}"});
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_STATUS);
  EXPECT_EQ_INT(7, seen_len);
  OK(strstr(err, "HTTP 401 bad.credentials") != NULL);
  teardown(&f);
  return 0;
}

DEF_TEST(retry_after_on_429) {
  fixture_t f;
  setup(&f);
  push((scripted_t){.status = 200, .body = token_body("tok-429-1", 86400)});
  push((scripted_t){.status = 429,
                    .retry_after = 7,
                    .rl_count = 300,
                    .rl_allowed = 300,
                    .body = "{\"message\":\"Rate limit exceeded the maximum. "
                            "Retry the request in [7] seconds\","
                            "\"code\":\"too.many.requests\",\"status\":429}"});
  push((scripted_t){
      .status = 200, .rl_count = 1, .rl_allowed = 300, .body = "{}"});
  json_object *doc;
  char err[256];
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  json_object_put(doc);
  EXPECT_EQ_INT(1, slept_len);
  EXPECT_EQ_DOUBLE(7.0, slept[0]);
  EXPECT_EQ_INT(1, atomic_load(&f.stats.rate_limited));
  EXPECT_EQ_INT(1, atomic_load(&f.stats.retries));
  EXPECT_EQ_INT(300, atomic_load(&f.stats.ratelimit_allowed));
  EXPECT_EQ_INT(1, atomic_load(&f.stats.ratelimit_count));

  /* No Retry-After: inin-ratelimit-reset, else 3 s. */
  push((scripted_t){.status = 429, .retry_after = -1, .rl_reset = 11});
  push((scripted_t){.status = 429, .retry_after = -1});
  push((scripted_t){.status = 200, .body = "{}"});
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  json_object_put(doc);
  EXPECT_EQ_DOUBLE(11.0, slept[1]);
  EXPECT_EQ_DOUBLE(3.0, slept[2]);

  /* Longer than RetryAfterMax (60 s): give up at once, say why. */
  push((scripted_t){.status = 429,
                    .retry_after = 3600,
                    .body = "{\"code\":\"too.many.requests\","
                            "\"message\":\"daily limit\"}"});
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_STATUS);
  EXPECT_EQ_INT(3, slept_len);
  OK(strstr(err, "Retry-After 3600 s is longer than RetryAfterMax 60 s"));
  teardown(&f);
  return 0;
}

DEF_TEST(backoff_on_503_and_give_up) {
  fixture_t f;
  setup(&f);
  push((scripted_t){.status = 200, .body = token_body("tok-503-1", 86400)});
  push((scripted_t){.status = 503});
  push((scripted_t){.status = 502});
  push((scripted_t){.status = 0});
  push((scripted_t){.status = 200, .body = "{}"});
  json_object *doc;
  char err[256];
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  json_object_put(doc);
  EXPECT_EQ_INT(3, slept_len);
  /* 1 s, 2 s, 4 s, each within ±20 % jitter. */
  OK(slept[0] >= 0.8 && slept[0] <= 1.2);
  OK(slept[1] >= 1.6 && slept[1] <= 2.4);
  OK(slept[2] >= 3.2 && slept[2] <= 4.8);
  EXPECT_EQ_INT(1, atomic_load(&f.stats.requests[GEN_STATS_TRANSPORT_ERROR]));

  /* MaxRetries 3: four attempts, then the last answer is the error. */
  for (int i = 0; i < 4; i++)
    push((scripted_t){.status = 504,
                      .body = "{\"message\":\"The request timed out.\","
                              "\"code\":\"request.timeout\",\"status\":504,"
                              "\"contextId\":\"ctx-9\"}"});
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_STATUS);
  printf("# %s\n", err);
  OK(strstr(err, "HTTP 504 request.timeout: The request timed out. "
                 "(contextId ctx-9, corr-") != NULL);
  OK(strstr(err, "[after 4 attempts]") != NULL);

  /* 500 is not retried (not transient, per Genesys' guidance). */
  size_t before = seen_len;
  push((scripted_t){.status = 500, .body = "oops\nnot json"});
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_STATUS);
  EXPECT_EQ_INT(before + 1, seen_len);
  OK(strstr(err, "HTTP 500: oops not json") != NULL);
  teardown(&f);
  return 0;
}

/* A handle of a read callback retries without sleeping: the failure
 * returns at once, the handle rests until the retry is due (not sending
 * what is asked meanwhile), the rest doubles with failures in a row and
 * starts over after a success; a 429's Retry-After sets it. */
DEF_TEST(deferred_retries_do_not_sleep) {
  fixture_t f;
  setup(&f);
  gen_http_defer_retries(f.http, true);
  push((scripted_t){.status = 200, .body = token_body("tok-defer", 86400)});
  push((scripted_t){.status = 503});
  json_object *doc;
  char err[512];
  double left;
  OK(!gen_http_resting(f.http, &left));
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_STATUS);
  printf("# %s\n", err);
  EXPECT_EQ_INT(0, slept_len);
  OK(strstr(err, "HTTP 503") != NULL && strstr(err, "(next try in ") != NULL);
  OK(gen_http_resting(f.http, &left) && left > 0 && left <= 1.2);
  /* Resting: not sent, the same error. */
  size_t sent = seen_len;
  OK(gen_http_get_json(f.http, "/api/v2/y", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_STATUS);
  printf("# %s\n", err);
  EXPECT_EQ_INT(sent, seen_len);
  OK(strstr(err, "HTTP 503") != NULL && strstr(err, "(not sent: next try in "));
  /* The retry once due fails again: twice as long (2 s ± 20 %). */
  nanosleep(&(struct timespec){.tv_sec = 1, .tv_nsec = 250000000}, NULL);
  push((scripted_t){.status = 0}); /* no answer */
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_TRANSPORT);
  EXPECT_EQ_INT(sent + 1, seen_len);
  OK(gen_http_resting(f.http, &left) && left > 1.5 && left <= 2.4);
  nanosleep(&(struct timespec){.tv_sec = 2, .tv_nsec = 450000000}, NULL);
  push((scripted_t){.status = 200, .body = "{}"});
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  json_object_put(doc);
  /* A success starts over; a 429 rests for its Retry-After. */
  push((scripted_t){.status = 429, .retry_after = 3});
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_STATUS);
  OK(gen_http_resting(f.http, &left) && left > 2.5 && left <= 3);
  EXPECT_EQ_INT(0, slept_len);
  teardown(&f);
  return 0;
}

static int collect_ids(json_object *entity, void *ud) {
  char *ids = ud;
  const char *id = gen_json_get_string(entity, "id");
  strcat(ids, id ? id : "?");
  strcat(ids, ",");
  return 0;
}

DEF_TEST(paging) {
  fixture_t f;
  setup(&f);
  push((scripted_t){.status = 200, .body = token_body("tok-page-1", 86400)});
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"a\"},{\"id\":\"b\"}],"
                            "\"pageSize\":2,\"pageNumber\":1,\"pageCount\":3,"
                            "\"nextUri\":\"/api/v2/routing/queues?pageSize=2&"
                            "pageNumber=2\"}"});
  push((scripted_t){.status = 200,
                    .body =
                        "{\"entities\":[{\"id\":\"c\"},{\"id\":\"d\"}],"
                        "\"pageSize\":2,\"pageNumber\":2,\"pageCount\":3}"});
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"e\"}],\"pageSize\":2,"
                            "\"pageNumber\":3,\"pageCount\":3}"});
  char ids[64] = "";
  char err[256];
  CHECK_ZERO(gen_http_get_pages(f.http, "/api/v2/routing/queues", 2,
                                GEN_HTTP_NO_BOUND, collect_ids, ids, err,
                                sizeof(err)));
  EXPECT_EQ_STR("a,b,c,d,e,", ids);
  EXPECT_EQ_STR("https://api.example.test/api/v2/routing/queues?pageSize=2&"
                "pageNumber=1",
                seen[1].url);
  EXPECT_EQ_STR("https://api.example.test/api/v2/routing/queues?pageSize=2&"
                "pageNumber=2",
                seen[2].url);
  /* pageCount drove the third page (no nextUri on page 2). */
  EXPECT_EQ_STR("https://api.example.test/api/v2/routing/queues?pageSize=2&"
                "pageNumber=3",
                seen[3].url);

  /* A page without "entities" is an error, counted as malformed. */
  push((scripted_t){.status = 200, .body = "{\"items\":[]}"});
  ids[0] = '\0';
  OK(gen_http_get_pages(f.http, "/api/v2/flows?type=inboundcall", 25,
                        GEN_HTTP_NO_BOUND, collect_ids, ids, err,
                        sizeof(err)) == GEN_HTTP_ERR_JSON);
  EXPECT_EQ_INT(1, atomic_load(&f.stats.malformed));
  EXPECT_EQ_STR("https://api.example.test/api/v2/flows?type=inboundcall&"
                "pageSize=25&pageNumber=1",
                seen[4].url);

  /* A server that never stops: a link back to a page already asked ends
   * the walk, said as such, naming the listing and the page. */
  for (int i = 0; i < 2; i++)
    push((scripted_t){.status = 200,
                      .body = "{\"entities\":[{\"id\":\"x\"}],"
                              "\"nextUri\":\"/api/v2/loop?pageSize=1&"
                              "pageNumber=2\"}"});
  OK(gen_http_get_pages(f.http, "/api/v2/loop", 1, GEN_HTTP_NO_BOUND,
                        collect_ids, ids, err,
                        sizeof(err)) == GEN_HTTP_ERR_JSON);
  printf("# %s\n", err);
  EXPECT_EQ_STR("/api/v2/loop page 3: its link repeats an earlier page; "
                "stopped",
                err);

  /* By number: path's own pages up to pageCount, nextUri (which dropped
   * the filter) not followed. */
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"n1\"}],\"pageSize\":1,"
                            "\"pageNumber\":1,\"pageCount\":2,\"nextUri\":"
                            "\"/api/v2/trunks?pageSize=1&pageNumber=2\"}"});
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"n2\"}],\"pageSize\":1,"
                            "\"pageNumber\":2,\"pageCount\":2,\"nextUri\":"
                            "\"/api/v2/trunks?pageSize=1&pageNumber=3\"}"});
  ids[0] = '\0';
  gen_http_pager_t by_number = {.path = "/api/v2/trunks?type=E",
                                .page_size = 1,
                                .numbered = true,
                                .each = collect_ids,
                                .ud = ids};
  CHECK_ZERO(gen_http_page_all(f.http, &by_number, err, sizeof(err)));
  EXPECT_EQ_STR("n1,n2,", ids);
  EXPECT_EQ_STR("https://api.example.test/api/v2/trunks?type=E&pageSize=1&"
                "pageNumber=2",
                seen[8].url);

  /* A server that caps the page (25 where 100 were asked): followed, and
   * said once per listing, whatever its query and however often. */
  static const char capped[] =
      "{\"entities\":[{\"id\":\"p\"}],\"pageSize\":25,\"pageNumber\":1,"
      "\"pageCount\":1}";
  mock_log_reset();
  for (int i = 0; i < 3; i++) {
    push((scripted_t){.status = 200, .body = capped});
    CHECK_ZERO(gen_http_get_pages(
        f.http, i ? "/api/v2/users?state=any" : "/api/v2/users", 100,
        GEN_HTTP_NO_BOUND, collect_ids, ids, err, sizeof(err)));
  }
  EXPECT_EQ_INT(1, mock_log_num);
  OK(mock_log_contains("/api/v2/users answers pages of 25 where 100 were "
                       "asked"));
  /* Another listing is said too; one that answers what was asked is not. */
  push((scripted_t){.status = 200, .body = capped});
  CHECK_ZERO(gen_http_get_pages(f.http, "/api/v2/flows", 100, GEN_HTTP_NO_BOUND,
                                collect_ids, ids, err, sizeof(err)));
  push((scripted_t){.status = 200, .body = capped});
  CHECK_ZERO(gen_http_get_pages(f.http, "/api/v2/groups", 25, GEN_HTTP_NO_BOUND,
                                collect_ids, ids, err, sizeof(err)));
  EXPECT_EQ_INT(2, mock_log_num);
  teardown(&f);
  return 0;
}

/* more() of a query: true while *ud (counted down by each item) > 0. */
/* A document of 249,000 empty objects (0.75 MB, under every bound) took
 * collectd from 22 to 140 MB and kept it: its tree would cost 264 times its
 * text. Refused before json-c builds it, named, counted as malformed; a page
 * of entities as large passes. */
DEF_TEST(an_answer_is_bounded_by_what_its_tree_costs) {
  fixture_t f;
  setup(&f);
  gen_buf_t empty = GEN_BUF_INIT(SIZE_MAX);
  gen_buf_add_str(&empty, "[{}");
  for (int i = 1; i < 249000; i++)
    gen_buf_add_str(&empty, ",{}");
  gen_buf_add_str(&empty, "]");
  push((scripted_t){.status = 200, .body = token_body("tok", 86400)});
  push((scripted_t){.status = 200, .body = gen_buf_str(&empty)});
  json_object *doc = NULL;
  char err[256] = "";
  EXPECT_EQ_INT(GEN_HTTP_ERR_JSON,
                gen_http_get_json(f.http, "/api/v2/users", GEN_HTTP_NO_BOUND,
                                  &doc, err, sizeof(err)));
  OK(doc == NULL);
  printf("# %s\n", err);
  OK(strstr(err, "malformed JSON in HTTP 200 answer: document of 747001 "
                 "bytes would take ") != NULL);
  OK(strstr(err, "MB as a tree, more than 48 times its size (249000 objects, "
                 "1 arrays)") != NULL);
  EXPECT_EQ_INT(1, (int)atomic_load(&f.stats.malformed));
  /* A page of 3,000 users as large (0.75 MB): read. */
  gen_buf_t page = GEN_BUF_INIT(SIZE_MAX);
  gen_buf_add_str(&page, "{\"entities\":[");
  for (int i = 0; i < 3000; i++)
    gen_buf_printf(&page,
                   "%s{\"id\":\"%08x-1111-2222-3333-444455556666\",\"name\":"
                   "\"User %d\",\"state\":\"active\",\"version\":3,"
                   "\"division\":{\"id\":\"d1\",\"name\":\"Home\"},"
                   "\"addresses\":[],\"acdAutoAnswer\":false,"
                   "\"routingStatus\":{\"status\":\"IDLE\",\"startTime\":"
                   "\"2026-11-23T10:00:00.000Z\"}}",
                   i ? "," : "", i, i);
  gen_buf_add_str(&page, "],\"pageSize\":3000,\"pageNumber\":1}");
  OK(page.len > 700000);
  push((scripted_t){.status = 200, .body = gen_buf_str(&page)});
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/users", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  EXPECT_EQ_INT(
      3000, (int)json_object_array_length(gen_json_get_array(doc, "entities")));
  json_object_put(doc);
  gen_buf_free(&page);
  gen_buf_free(&empty);
  teardown(&f);
  return 0;
}

static bool more_twice(void *ud) { return *(int *)ud > 0; }
static int count_item(json_object *item, void *ud) {
  (*(int *)ud)--;
  return 0;
}

/* Pages of 25 where 80 were asked: the walk goes to the last page, asking
 * the next pages by number at the size the answer gives, however many. */
DEF_TEST(paging_follows_the_answered_size_to_the_end) {
  fixture_t f;
  setup(&f);
  push((scripted_t){.status = 200, .body = token_body("tok-25", 86400)});
  static char bodies[5][256];
  for (int i = 0; i < 5; i++) {
    snprintf(bodies[i], sizeof(bodies[i]),
             "{\"entities\":[{\"id\":\"u%d\"}],\"pageSize\":25,"
             "\"pageNumber\":%d,\"pageCount\":5,\"total\":101}",
             i + 1, i + 1);
    push((scripted_t){.status = 200, .body = bodies[i]});
  }
  char ids[64] = "";
  char err[256];
  CHECK_ZERO(gen_http_get_pages(f.http, "/api/v2/users?id=a&id=b", 80,
                                GEN_HTTP_NO_BOUND, collect_ids, ids, err,
                                sizeof(err)));
  EXPECT_EQ_STR("u1,u2,u3,u4,u5,", ids);
  EXPECT_EQ_STR("https://api.example.test/api/v2/users?id=a&id=b&pageSize=80&"
                "pageNumber=1",
                seen[1].url);
  EXPECT_EQ_STR("https://api.example.test/api/v2/users?id=a&id=b&pageSize=25&"
                "pageNumber=5",
                seen[5].url);

  /* nextUri wins over pageNumber. */
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"n1\"}],\"pageSize\":25,"
                            "\"pageNumber\":1,\"pageCount\":9,\"nextUri\":"
                            "\"/api/v2/users?cursor=abc\"}"});
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"n2\"}],\"pageSize\":25,"
                            "\"pageNumber\":2,\"pageCount\":2}"});
  ids[0] = '\0';
  CHECK_ZERO(gen_http_get_pages(f.http, "/api/v2/users", 25, GEN_HTTP_NO_BOUND,
                                collect_ids, ids, err, sizeof(err)));
  EXPECT_EQ_STR("n1,n2,", ids);
  EXPECT_EQ_STR("https://api.example.test/api/v2/users?cursor=abc",
                seen[7].url);

  /* A listing cut short (page 3 refused) is the listing's failure, naming
   * the listing (its path, cut: 80 ids are 3 KiB) and the page, then the
   * reason, whole. */
  char path[4096];
  size_t off = (size_t)snprintf(path, sizeof(path), "/api/v2/users?expand=x");
  for (int i = 0; i < 80; i++)
    off += (size_t)snprintf(path + off, sizeof(path) - off,
                            "&id=00000000-0000-0000-0000-%012d", i);
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"c1\"}],\"pageSize\":25,"
                            "\"pageNumber\":1,\"pageCount\":4}"});
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"c2\"}],\"pageSize\":25,"
                            "\"pageNumber\":2,\"pageCount\":4}"});
  push((scripted_t){.status = 404,
                    .body = "{\"message\":\"no such page\",\"code\":"
                            "\"not.found\",\"status\":404}"});
  ids[0] = '\0';
  char line[512];
  gen_http_pager_t p = {
      .path = path, .page_size = 80, .each = collect_ids, .ud = ids};
  OK(gen_http_page_all(f.http, &p, line, sizeof(line)) == GEN_HTTP_ERR_STATUS);
  printf("# %s\n", line);
  EXPECT_EQ_STR("c1,c2,", ids);
  EXPECT_EQ_INT(3, p.page);
  EXPECT_EQ_INT(404, (int)p.status);
  static const char head[] = "/api/v2/users?… page 3: ";
  OK(strncmp(line, head, sizeof(head) - 1) == 0);
  OK(strstr(line, "no such page") != NULL);
  OK(strstr(line, "not.found") != NULL);

  /* A POSTed query without paging fields: the next page while more() says
   * so, by number; an empty page or more() false ends it. */
  static const char results[] = "{\"results\":[{\"g\":1}]}";
  push((scripted_t){.status = 200, .body = results});
  push((scripted_t){.status = 200, .body = results});
  int left = 2;
  p = (gen_http_pager_t){.path = "/api/v2/q",
                         .body = "{}",
                         .array = "results",
                         .page_size = 100,
                         .more = more_twice,
                         .each = count_item,
                         .ud = &left};
  CHECK_ZERO(gen_http_page_all(f.http, &p, line, sizeof(line)));
  EXPECT_EQ_INT(2, p.page);
  EXPECT_EQ_INT(2, (int)p.items);
  EXPECT_EQ_STR("https://api.example.test/api/v2/q?pageSize=100&pageNumber=2",
                seen[12].url);

  /* A route that takes no paging parameters (page size 0): asked as it is;
   * an answer alone ends it, a paged one is followed by number. */
  push((scripted_t){.status = 200, .body = "{\"entities\":[{\"id\":\"d1\"}]}"});
  ids[0] = '\0';
  CHECK_ZERO(gen_http_get_pages(f.http, "/api/v2/usage/events/definitions", 0,
                                GEN_HTTP_NO_BOUND, collect_ids, ids, err,
                                sizeof(err)));
  EXPECT_EQ_STR("d1,", ids);
  EXPECT_EQ_STR("https://api.example.test/api/v2/usage/events/definitions",
                seen[13].url);
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"e1\"}],\"pageNumber\":1,"
                            "\"pageCount\":2}"});
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"e2\"}],\"pageNumber\":2,"
                            "\"pageCount\":2}"});
  ids[0] = '\0';
  CHECK_ZERO(gen_http_get_pages(f.http, "/api/v2/usage/events/definitions", 0,
                                GEN_HTTP_NO_BOUND, collect_ids, ids, err,
                                sizeof(err)));
  EXPECT_EQ_STR("e1,e2,", ids);
  EXPECT_EQ_STR("https://api.example.test/api/v2/usage/events/definitions?"
                "pageNumber=2",
                seen[15].url);
  teardown(&f);
  return 0;
}

DEF_TEST(refuses_foreign_urls_and_large_bodies) {
  fixture_t f;
  setup(&f);
  gen_http_response_t resp;
  OK(gen_http_request(f.http, "GET", "https://evil.example.test/api/v2/x", NULL,
                      NULL, &resp) == GEN_HTTP_ERR_ARGUMENT);
  OK(gen_http_request(f.http, "GET",
                      "https://api.example.test.evil.test/api/v2/x", NULL, NULL,
                      &resp) == GEN_HTTP_ERR_ARGUMENT);
  EXPECT_EQ_INT(0, seen_len);
  push((scripted_t){.status = 200, .body = token_body("tok-big-1", 86400)});
  push((scripted_t){.too_large = true});
  OK(gen_http_request(f.http, "GET", "https://api.example.test/api/v2/x", NULL,
                      NULL, &resp) == GEN_HTTP_ERR_TOO_LARGE);
  OK(strstr(resp.error, "larger than MaxResponseSize") != NULL);
  gen_http_response_reset(&resp);
  /* Malformed JSON in a 200 answer. */
  push((scripted_t){.status = 200, .body = "{\"entities\":[1,2"});
  json_object *doc;
  char err[256];
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_JSON);
  OK(strstr(err, "truncated") != NULL);
  teardown(&f);
  return 0;
}

/* A public document (the status page) on another origin: fetched with no
 * Authorization at all, not even after a 401; a URL gen_url_allowed
 * refuses is refused before any request. */
DEF_TEST(public_url_without_token) {
  fixture_t f;
  setup(&f);
  push((scripted_t){.status = 200, .body = "{\"components\":[]}"});
  json_object *doc = NULL;
  char err[256];
  CHECK_ZERO(gen_http_get_public_json(
      f.http, "https://status.example.test/api/v2/components.json", 0,
      GEN_HTTP_NO_BOUND, &doc, err, sizeof(err)));
  OK(gen_json_get_array(doc, "components") != NULL);
  json_object_put(doc);
  EXPECT_EQ_INT(1, seen_len); /* no token request either */
  EXPECT_EQ_STR("https://status.example.test/api/v2/components.json",
                seen[0].url);
  EXPECT_EQ_STR("", seen[0].authorization);
  push((scripted_t){.status = 401, .body = "{}"});
  OK(gen_http_get_public_json(f.http, "https://status.example.test/x", 0,
                              GEN_HTTP_NO_BOUND, &doc, err,
                              sizeof(err)) == GEN_HTTP_ERR_STATUS);
  EXPECT_EQ_INT(2, seen_len);
  EXPECT_EQ_STR("", seen[1].authorization);
  const char *refused[] = {"http://status.example.test/x", "ftp://a.test/x",
                           "https://user:pw@status.example.test/x",
                           "/api/v2/x"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(refused); i++) {
    OK(gen_http_get_public_json(f.http, refused[i], 0, GEN_HTTP_NO_BOUND, &doc,
                                err, sizeof(err)) == GEN_HTTP_ERR_ARGUMENT);
    OK(strstr(err, "not an allowed http(s) URL") != NULL);
  }
  EXPECT_EQ_INT(2, seen_len);
  /* the API's own requests still carry the token */
  push((scripted_t){.status = 200, .body = token_body("tok-pub-1", 86400)});
  push((scripted_t){.status = 200, .body = "{}"});
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  json_object_put(doc);
  EXPECT_EQ_STR("Bearer tok-pub-1", seen[3].authorization);
  /* A public page that fails is tried once and never makes the org's
   * handle rest: the API's requests of the same read still go out. */
  gen_http_defer_retries(f.http, true);
  push((scripted_t){.status = 503, .body = "{}"});
  OK(gen_http_get_public_json(f.http, "https://status.example.test/x",
                              MS_TO_CDTIME_T(500), GEN_HTTP_NO_BOUND, &doc, err,
                              sizeof(err)) == GEN_HTTP_ERR_STATUS);
  EXPECT_EQ_INT(5, seen_len);
  OK(!gen_http_resting(f.http, NULL));
  push((scripted_t){.status = 200, .body = "{}"});
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  json_object_put(doc);
  EXPECT_EQ_INT(6, seen_len);
  teardown(&f);
  return 0;
}

/* curl's write callback: chunks are kept NUL-terminated up to
 * MaxResponseSize; one byte more refuses the answer. */
DEF_TEST(body_kept_up_to_max_response_size) {
  fixture_t f;
  setup(&f);
  f.org->max_response_size = 40000;
  gen_http_response_t resp;
  response_init(&resp);
  f.http->current = &resp;
  char chunk[1000];
  memset(chunk, 'x', sizeof(chunk));
  for (int i = 0; i < 40; i++) {
    chunk[0] = (char)('a' + i % 26);
    EXPECT_EQ_INT(1000, (int)on_body(chunk, 1, sizeof(chunk), f.http));
  }
  EXPECT_EQ_INT(40000, (int)resp.body_len);
  EXPECT_EQ_INT(40000, (int)strlen(resp.body));
  OK(resp.body[39000] == 'n' && !resp.too_large);
  OK(resp.body_cap <= 40001);
  EXPECT_EQ_INT(0, (int)on_body(chunk, 1, 1, f.http));
  OK(resp.too_large);
  EXPECT_EQ_INT(40000, (int)resp.body_len);
  gen_http_response_reset(&resp);
  OK(resp.body == NULL && resp.body_len == 0 && resp.body_cap == 0);
  f.http->current = NULL;
  teardown(&f);
  return 0;
}

/* One JSON answer's buffer serves the next (no large malloc per answer):
 * a long answer, then a short one read whole and alone; released, and
 * kept again by the next answer; a buffer over SPARE_MAX is not kept. */
DEF_TEST(answer_buffer_kept_for_the_next) {
  fixture_t f;
  setup(&f);
  through_on_body = true;
  static char big[20000], huge[(4 << 20) + 200];
  size_t n = (size_t)snprintf(big, sizeof(big), "{\"entities\":[");
  for (int i = 0; i < 1000; i++)
    n += (size_t)snprintf(big + n, sizeof(big) - n, "%s{\"id\":\"q%d\"}",
                          i ? "," : "", i);
  snprintf(big + n, sizeof(big) - n, "]}");
  push((scripted_t){.status = 200, .body = token_body("tok-spare", 86400)});
  push((scripted_t){.status = 200, .body = big});
  push((scripted_t){.status = 200, .body = "{\"id\":\"short\"}"});
  json_object *doc = NULL;
  char err[256];
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/a", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  EXPECT_EQ_INT(
      1000, (int)json_object_array_length(gen_json_get_array(doc, "entities")));
  json_object_put(doc);
  char *kept = f.http->spare;
  CHECK_NOT_NULL(kept);
  OK(f.http->spare_cap > strlen(big));
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/b", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  EXPECT_EQ_STR("short", gen_json_get_string(doc, "id"));
  EXPECT_EQ_INT(1, json_object_object_length(doc));
  json_object_put(doc);
  OK(f.http->spare == kept); /* the same buffer, back again */
  gen_http_release(f.http);  /* the burst is over: nothing kept */
  OK(f.http->spare == NULL);
  push((scripted_t){.status = 200, .body = "{\"id\":\"after\"}"});
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/d", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  EXPECT_EQ_STR("after", gen_json_get_string(doc, "id"));
  json_object_put(doc);
  CHECK_NOT_NULL(f.http->spare); /* kept again for the next */

  memset(huge, ' ', sizeof(huge) - 1);
  memcpy(huge, "{\"id\":\"huge\"}", 13);
  f.org->max_response_size = sizeof(huge);
  push((scripted_t){.status = 200, .body = huge});
  CHECK_ZERO(gen_http_get_json(f.http, "/api/v2/c", GEN_HTTP_NO_BOUND, &doc,
                               err, sizeof(err)));
  EXPECT_EQ_STR("huge", gen_json_get_string(doc, "id"));
  json_object_put(doc);
  OK(f.http->spare == NULL); /* over SPARE_MAX: freed, not kept */
  through_on_body = false;
  teardown(&f);
  return 0;
}

/* Neither the client secret nor an access token appears in any log line,
 * even when the server echoes them back in an error. */
DEF_TEST(secrets_and_tokens_never_logged) {
  fixture_t f;
  setup(&f);
  f.org->max_retries = 0;
  push((scripted_t){.status = 400,
                    .body = "{\"error\":\"invalid_request\",\"description\":"
                            "\"bad client my-client:" SECRET "\"}"});
  char token[GEN_TOKEN_MAX];
  OK(gen_auth_token(f.auth, token, sizeof(token), NULL) == GEN_HTTP_ERR_AUTH);
  OK(mock_log_num > 0);
  OK(!mock_log_contains(SECRET));
  f.auth->retry_at = 0;
  push((scripted_t){.status = 200,
                    .body = token_body("tok-SENSITIVE-123", 86400)});
  push((scripted_t){.status = 403,
                    .body = "{\"message\":\"token tok-SENSITIVE-123 lacks "
                            "permission\",\"code\":\"missing.permissions\"}"});
  json_object *doc;
  char err[256];
  OK(gen_http_get_json(f.http, "/api/v2/x", GEN_HTTP_NO_BOUND, &doc, err,
                       sizeof(err)) == GEN_HTTP_ERR_STATUS);
  GEN_ERROR("genesys_test plugin: listing failed: %s", err);
  OK(mock_log_contains("listing failed: HTTP 403 missing.permissions"));
  OK(!mock_log_contains("tok-SENSITIVE-123"));
  teardown(&f);
  /* Once the token is gone (auth freed), it is no longer registered. */
  mock_log_reset();
  GEN_ERROR("genesys_test plugin: tok-SENSITIVE-123");
  OK(mock_log_contains("tok-SENSITIVE-123"));
  return 0;
}

/* Several threads asking for a token at once cause one refresh. */
static gen_auth_t *shared_auth;
static void *ask_token(void *arg) {
  char token[GEN_TOKEN_MAX];
  int *result = arg;
  *result = gen_auth_token(shared_auth, token, sizeof(token), NULL);
  return NULL;
}

DEF_TEST(one_refresh_across_threads) {
  fixture_t f;
  setup(&f);
  gen_now = cdtime; /* real clock; the mock clock is not thread-driven */
  push((scripted_t){.status = 200, .body = token_body("tok-threads-1", 86400)});
  push((scripted_t){.status = 200, .body = token_body("tok-threads-2", 86400)});
  shared_auth = f.auth;
  pthread_t threads[8];
  int results[8];
  for (int i = 0; i < 8; i++)
    pthread_create(&threads[i], NULL, ask_token, &results[i]);
  for (int i = 0; i < 8; i++) {
    pthread_join(threads[i], NULL);
    EXPECT_EQ_INT(0, results[i]);
  }
  EXPECT_EQ_INT(1, seen_len);
  EXPECT_EQ_INT(1, atomic_load(&f.stats.token_refreshes));
  /* Two threads that saw the same 401 invalidate once. */
  uint64_t generation = f.auth->generation;
  gen_auth_invalidate(f.auth, generation);
  char token[GEN_TOKEN_MAX];
  uint64_t newer;
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), &newer));
  gen_auth_invalidate(f.auth, generation); /* stale: ignored */
  CHECK_ZERO(gen_auth_token(f.auth, token, sizeof(token), NULL));
  EXPECT_EQ_STR("tok-threads-2", token);
  EXPECT_EQ_INT(2, seen_len);
  gen_now = fake_clock;
  teardown(&f);
  return 0;
}

/* The REST handle gets the whole TLS and proxy policy, as the WebSocket's
 * does (test_ws): it once lacked the TLS 1.2 floor and keepalive. */
DEF_TEST(curl_policy) {
  gen_org_t *org = make_org();
  org->proxy = strdup("http://127.0.0.1:3128");
  org->ca_file = strdup("/etc/ssl/certs/ca-certificates.crt");
  gen_stats_t stats = {0};
  policy_watch();
  gen_http_t *http = gen_http_create(org, &stats, NULL);
  OK(http != NULL);
  EXPECT_EQ_INT(0, policy_expect_all(org->proxy, org->ca_file));
  gen_http_free(http);
  /* The environment's no_proxy still holds for the other hosts ("*": no
   * proxy at all, which libcurl takes only alone). */
  const char *env[][2] = {{".corp.example,10.0.0.0/8", ".corp.example"},
                          {"*", NULL}};
  for (size_t i = 0; i < 2; i++) {
    setenv("no_proxy", env[i][0], 1);
    policy_watch();
    http = gen_http_create(org, &stats, NULL);
    OK(http != NULL);
    gen_curl_policy_seen = NULL;
    const char *noproxy = policy_text(CURLOPT_NOPROXY);
    OK(noproxy != NULL);
    if (noproxy != NULL && env[i][1] != NULL)
      OK(strstr(noproxy, "::1,.corp.example,10.0.0.0/8") != NULL);
    else if (noproxy != NULL)
      EXPECT_EQ_STR("*", noproxy);
    gen_http_free(http);
  }
  unsetenv("no_proxy");
  gen_org_free(org);
  return 0;
}

/* The handle's bound is the one set before, what and bytes. */
static bool handle_bound_is(gen_http_t *http, gen_http_bound_t want) {
  gen_http_bound_t now = gen_http_answer_limit(http, want);
  return now.bytes == want.bytes && now.what != NULL && want.what != NULL &&
         strcmp(now.what, want.what) == 0;
}

/* A request's own bound (the status page's, below MaxResponseSize) applies
 * to it alone: an answer beyond it is refused as it arrives, named and
 * counted, and the handle's bound is back for the next request, after the
 * refusal and after a failure of another kind; the shortcuts' and a
 * pager's the same; above MaxResponseSize, MaxResponseSize applies. */
DEF_TEST(a_requests_own_bound_applies_to_it_alone) {
  fixture_t f;
  setup(&f);
  through_on_body = true;
  static char page[4096];
  size_t n = (size_t)snprintf(page, sizeof(page), "{\"entities\":[");
  for (int i = 0; i < 40; i++)
    n += (size_t)snprintf(page + n, sizeof(page) - n,
                          "%s{\"id\":\"component %02d\",\"status\":"
                          "\"operational\"}",
                          i ? "," : "", i);
  snprintf(page + n, sizeof(page) - n, "]}");
  OK(strlen(page) > 1000);
  gen_http_bound_t outer = GEN_HTTP_BOUND(GEN_MIB(64), "aggregates");
  gen_http_answer_limit(f.http, outer);
  gen_http_options_t own = {.answer = GEN_HTTP_BOUND(1000, "status page")};
  push((scripted_t){.status = 200, .body = token_body("tok-own", 86400)});
  push((scripted_t){.status = 200, .body = page});
  gen_http_response_t resp;
  EXPECT_EQ_INT(GEN_HTTP_ERR_TOO_LARGE,
                gen_http_request(f.http, "GET", "/s", NULL, &own, &resp));
  OK(strstr(resp.error, "status page answer larger than 1000 bytes") != NULL);
  EXPECT_EQ_INT(1, (int)atomic_load(&f.stats.too_large));
  gen_http_response_reset(&resp);
  OK(handle_bound_is(f.http, outer));
  push((scripted_t){.status = 200, .body = page}); /* the handle's: whole */
  CHECK_ZERO(gen_http_request(f.http, "GET", "/s", NULL, NULL, &resp));
  EXPECT_EQ_INT((int)strlen(page), (int)resp.body_len);
  gen_http_response_reset(&resp);
  /* Failures of other kinds: a final status, no answer at all. */
  push((scripted_t){.status = 404, .body = "{\"code\":\"not.found\"}"});
  EXPECT_EQ_INT(GEN_HTTP_ERR_STATUS,
                gen_http_request(f.http, "GET", "/s", NULL, &own, &resp));
  gen_http_response_reset(&resp);
  OK(handle_bound_is(f.http, outer));
  own.no_retry = true;
  push((scripted_t){.status = 0});
  EXPECT_EQ_INT(GEN_HTTP_ERR_TRANSPORT,
                gen_http_request(f.http, "GET", "/s", NULL, &own, &resp));
  gen_http_response_reset(&resp);
  OK(handle_bound_is(f.http, outer));
  /* A shortcut's and a pager's, each page under it. */
  json_object *doc = NULL;
  char err[512];
  push((scripted_t){.status = 200, .body = page});
  EXPECT_EQ_INT(
      GEN_HTTP_ERR_TOO_LARGE,
      gen_http_get_json(f.http, "/s", own.answer, &doc, err, sizeof(err)));
  OK(strstr(err, "status page answer larger than 1000 bytes") != NULL);
  OK(handle_bound_is(f.http, outer));
  char ids[2048] = "";
  push((scripted_t){.status = 200,
                    .body = "{\"entities\":[{\"id\":\"a\"}],\"pageSize\":1,"
                            "\"pageNumber\":1,\"pageCount\":2}"});
  push((scripted_t){.status = 200, .body = page});
  gen_http_pager_t p = {.path = "/l",
                        .page_size = 1,
                        .answer = GEN_HTTP_BOUND(1000, "listing page"),
                        .each = collect_ids,
                        .ud = ids};
  EXPECT_EQ_INT(GEN_HTTP_ERR_TOO_LARGE,
                gen_http_page_all(f.http, &p, err, sizeof(err)));
  EXPECT_EQ_INT(2, p.page);
  OK(strstr(err, "listing page answer larger than 1000 bytes") != NULL);
  OK(handle_bound_is(f.http, outer));
  EXPECT_EQ_INT(3, (int)atomic_load(&f.stats.too_large));
  /* The lower of the two: MaxResponseSize under the request's own. */
  f.org->max_response_size = 1200;
  own.answer = GEN_HTTP_BOUND(GEN_MIB(64), "status page");
  push((scripted_t){.status = 200, .body = page});
  EXPECT_EQ_INT(GEN_HTTP_ERR_TOO_LARGE,
                gen_http_request(f.http, "GET", "/s", NULL, &own, &resp));
  OK(strstr(resp.error, "larger than MaxResponseSize (1200 bytes)") != NULL);
  gen_http_response_reset(&resp);
  EXPECT_EQ_INT(4, (int)atomic_load(&f.stats.too_large));
  through_on_body = false;
  teardown(&f);
  return 0;
}

/* Bounds nest: setting one returns the one it replaces, put back after; a
 * family's bound above MaxResponseSize leaves MaxResponseSize in force
 * (the lower of the two). */
DEF_TEST(answer_bounds_nest_and_the_lower_applies) {
  fixture_t f;
  setup(&f);
  through_on_body = true;
  static char text[1501];
  memset(text, ' ', 1500);
  text[0] = '{', text[1499] = '}';
  push((scripted_t){.status = 200, .body = token_body("tok-nest", 86400)});
  gen_http_bound_t outer = GEN_HTTP_BOUND(GEN_MIB(64), "aggregates");
  OK(gen_http_answer_limit(f.http, outer).bytes == 0);
  gen_http_bound_t was =
      gen_http_answer_limit(f.http, GEN_HTTP_BOUND(1000, "listing page"));
  OK(was.bytes == outer.bytes && strcmp(was.what, "aggregates") == 0);
  gen_http_response_t resp;
  push((scripted_t){.status = 200, .body = text});
  EXPECT_EQ_INT(GEN_HTTP_ERR_TOO_LARGE,
                gen_http_request(f.http, "GET", "/l", NULL, NULL, &resp));
  OK(strstr(resp.error, "listing page answer larger than 1000") != NULL);
  gen_http_response_reset(&resp);
  gen_http_answer_limit(f.http, was); /* the aggregates' again */
  push((scripted_t){.status = 200, .body = text});
  CHECK_ZERO(gen_http_request(f.http, "GET", "/a", NULL, NULL, &resp));
  EXPECT_EQ_INT(1500, (int)resp.body_len);
  gen_http_response_reset(&resp);
  f.org->max_response_size = 1200; /* the operator's cap, lower */
  push((scripted_t){.status = 200, .body = text});
  EXPECT_EQ_INT(GEN_HTTP_ERR_TOO_LARGE,
                gen_http_request(f.http, "GET", "/a", NULL, NULL, &resp));
  OK(strstr(resp.error, "larger than MaxResponseSize (1200 bytes)") != NULL);
  gen_http_response_reset(&resp);
  EXPECT_EQ_INT(2, (int)atomic_load(&f.stats.too_large));
  through_on_body = false;
  teardown(&f);
  return 0;
}

int main(void) {
  http_perform = fake_perform;
  http_sleep = fake_sleep;
  gen_now = fake_clock;
  fake_now = TIME_T_TO_CDTIME_T(1000);
  RUN_TEST(token_request_shape);
  RUN_TEST(token_refreshed_ahead_of_expiry);
  RUN_TEST(token_failure_backs_off_and_keeps_valid_token);
  RUN_TEST(token_request_not_retried);
  RUN_TEST(token_answer_checked);
  RUN_TEST(token_url_too_long);
  RUN_TEST(single_refresh_and_retry_on_401);
  RUN_TEST(retry_after_on_429);
  RUN_TEST(backoff_on_503_and_give_up);
  RUN_TEST(deferred_retries_do_not_sleep);
  RUN_TEST(paging);
  RUN_TEST(an_answer_is_bounded_by_what_its_tree_costs);
  RUN_TEST(paging_follows_the_answered_size_to_the_end);
  RUN_TEST(refuses_foreign_urls_and_large_bodies);
  RUN_TEST(body_kept_up_to_max_response_size);
  RUN_TEST(token_answer_bounded);
  RUN_TEST(a_requests_own_bound_applies_to_it_alone);
  RUN_TEST(answer_bounds_nest_and_the_lower_applies);
  RUN_TEST(answer_buffer_kept_for_the_next);
  RUN_TEST(secrets_and_tokens_never_logged);
  RUN_TEST(one_refresh_across_threads);
  RUN_TEST(curl_policy);
  RUN_TEST(public_url_without_token);
  mock_log_reset();
  END_TEST;
}
