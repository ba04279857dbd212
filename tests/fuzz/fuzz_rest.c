/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: fuzz target for the REST answers: the token answer
 * (gen_auth), paged entity listings (gen_entity_list), queue members
 * (gen_members_list: activity query, then member listings) and aggregates
 * answers (read_answer of gen_aggregates.c: gen_agg_answer_read, gen_jscan
 * into the flat answer; take_results into an interval engine, then a
 * commit).
 *
 * The harness includes gen_http.c, gen_auth.c and gen_aggregates.c to
 * use the transport seam (http_perform) and the static answer reader, as
 * tests/unit/net/test_http.c does. Input: byte 0 chooses the parser (bits 0-1)
 * and whether the first answer is an HTTP 400 (bit 2); the rest are the
 * answer bodies, separated by NUL bytes, served in order to the requests
 * the parser makes (then the transport fails).
 *
 * Checked (a failure aborts):
 * - every status is 0 or a documented code, err is terminated;
 * - token: accepted exactly when the answer has an access_token shorter
 *   than GEN_TOKEN_MAX of printable ASCII without spaces (it goes into a
 *   header) and a positive expires_in, read with json-c; the token is that
 *   one and expires in (0, expires_in] seconds;
 * - listings: ids non-empty, distinct, found by gen_entity_find; members:
 *   one each() per member, non-empty user ids;
 * - aggregates: every dispatched bucket is a whole bucket of the range,
 *   every value finite;
 * - no log line shows the client secret;
 * - a known answer right after gives the known result.
 */
#define GEN_FUZZ_NAME "rest"
#include "fuzz_replay.h"

#include "gen_agg_answer.c"
#include "gen_aggregates.c"
#include "gen_auth.c"
#include "gen_client.c"
#include "gen_entity.c"
#include "gen_http.c"
#include "gen_members.c"
#include "plugin_mock.h"

#include <math.h>

#define SECRET "fuzz-client-secret-0123456789"
#define G 300000LL
#define NOW 1778752800000LL /* 2026-05-14T10:00:00Z */

enum { P_TOKEN, P_ENTITIES, P_MEMBERS, P_AGGREGATES };

/* ---- the scripted transport ---------------------------------------------
 */

static const uint8_t *bodies;
static size_t bodies_len, bodies_off;
static bool first_is_400;
static int served;

static int fuzz_perform(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  (void)http, (void)method, (void)url, (void)body, (void)headers;
  if (bodies_off > bodies_len || served >= 64) {
    snprintf(resp->error, sizeof(resp->error), "no more answers");
    return GEN_HTTP_ERR_TRANSPORT;
  }
  const uint8_t *p = bodies + bodies_off;
  size_t left = bodies_len - bodies_off;
  const uint8_t *nul = memchr(p, '\0', left);
  size_t n = nul ? (size_t)(nul - p) : left;
  bodies_off += n + 1;
  resp->status = served == 0 && first_is_400 ? 400 : 200;
  served++;
  if (n > 0) {
    /* As on_body() keeps it: n bytes and a NUL. */
    resp->body = malloc(n + 1);
    FUZZ_CHECK(resp->body != NULL, "malloc");
    memcpy(resp->body, p, n);
    resp->body[n] = '\0';
    resp->body_len = n;
    resp->body_cap = n + 1;
  }
  return 0;
}

static void no_sleep(double s) { (void)s; }

static gen_org_t *org;
static gen_stats_t stats;
static gen_http_t *http;
static gen_auth_t *auth;

static void setup(void) {
  if (org != NULL)
    return;
  mock_log_echo = false;
  http_perform = fuzz_perform;
  http_sleep = no_sleep;
  org = gen_org_create("genesys_fuzz", "acme");
  org->api_base_url = strdup("https://api.example.test");
  org->login_base_url = strdup("https://login.example.test");
  org->client_id = strdup("fuzz-client");
  org->client_secret = strdup(SECRET);
  org->max_retries = 0;
  gen_redact_add(org->client_secret);
  http = gen_http_create(org, &stats, NULL);
  auth = gen_auth_create(org, &stats);
  FUZZ_CHECK(http != NULL && auth != NULL, "setup");
}

static void serve(const uint8_t *data, size_t size, bool bad_first) {
  bodies = data;
  bodies_len = size;
  bodies_off = 0;
  served = 0;
  first_is_400 = bad_first;
}

static bool terminated(const char *s, size_t size) {
  return memchr(s, '\0', size) != NULL;
}

static bool http_status_ok(int s) {
  return s == 0 || s == GEN_HTTP_ERR_TRANSPORT || s == GEN_HTTP_ERR_STATUS ||
         s == GEN_HTTP_ERR_TOO_LARGE || s == GEN_HTTP_ERR_AUTH ||
         s == GEN_HTTP_ERR_JSON || s == GEN_HTTP_ERR_ARGUMENT || s == -ENOMEM;
}

/* ---- token ---------------------------------------------------------------
 */

/* A fresh cache (no token, no backoff) without a new curl handle. */
static void auth_reset(void) {
  pthread_mutex_lock(&auth->lock);
  drop_token(auth);
  auth->retry_at = auth->backoff = 0;
  pthread_mutex_unlock(&auth->lock);
}

/* What the first answer says, read with json-c: the token (NULL if none
 * usable) and expires_in. */
static const char *oracle_token(json_object **doc, int64_t *expires_in) {
  *doc = NULL;
  if (bodies_len == 0 || first_is_400)
    return NULL;
  const uint8_t *nul = memchr(bodies, '\0', bodies_len);
  size_t n = nul ? (size_t)(nul - bodies) : bodies_len;
  char err[128];
  if (n == 0 || gen_json_parse((const char *)bodies, n, GEN_JSON_MAX_DEPTH, doc,
                               err, sizeof(err)) != 0)
    return NULL;
  json_object *t = NULL, *e = NULL;
  if (!json_object_is_type(*doc, json_type_object) ||
      !json_object_object_get_ex(*doc, "access_token", &t) ||
      !json_object_is_type(t, json_type_string) ||
      !json_object_object_get_ex(*doc, "expires_in", &e))
    return NULL;
  if (json_object_is_type(e, json_type_int)) {
    /* json-c saturates integer text beyond int64; such a lifetime is refused
     * as malformed, not taken as "forever". */
    *expires_in = json_object_get_int64(e);
    if (*expires_in == INT64_MAX || *expires_in == INT64_MIN)
      return NULL;
  } else if (json_object_is_type(e, json_type_double) &&
             json_object_get_double(e) == floor(json_object_get_double(e)) &&
             fabs(json_object_get_double(e)) <= 9.0e18)
    *expires_in = (int64_t)json_object_get_double(e);
  else
    return NULL;
  const char *s = json_object_get_string(t);
  if (s[0] == '\0' || strlen(s) >= GEN_TOKEN_MAX || *expires_in <= 0)
    return NULL;
  for (const char *c = s; *c; c++)
    if (*c <= 0x20 || *c >= 0x7f)
      return NULL; /* refused: it would break the header line */
  return s;
}

static void run_token(void) {
  auth_reset();
  char token[GEN_TOKEN_MAX];
  memset(token, 'x', sizeof(token));
  uint64_t generation = 0;
  json_object *doc;
  int64_t expires_in = 0;
  const char *want = oracle_token(&doc, &expires_in);
  int status = gen_auth_token(auth, token, sizeof(token), &generation);
  FUZZ_CHECK(status == 0 || status == GEN_HTTP_ERR_AUTH, "token status");
  FUZZ_CHECK((status == 0) == (want != NULL), "token accepted iff usable");
  if (status == 0) {
    FUZZ_CHECK(terminated(token, sizeof(token)) && strcmp(token, want) == 0,
               "the token of the answer");
    for (const char *c = token; *c; c++)
      FUZZ_CHECK(*c > 0x20 && *c < 0x7f, "token printable, no spaces");
    double left = gen_auth_remaining(auth);
    FUZZ_CHECK(left > 0 && left <= (double)expires_in + 1, "token lifetime");
  }
  json_object_put(doc);
}

/* ---- listings ------------------------------------------------------------
 */

static void run_entities(void) {
  gen_entity_set_t set = {0};
  char err[256];
  memset(err, 'x', sizeof(err));
  int status = gen_entity_list(http, org, "/api/v2/routing/queues", NULL, &set,
                               err, sizeof(err));
  FUZZ_CHECK(http_status_ok(status), "listing status");
  FUZZ_CHECK(status == 0 || terminated(err, sizeof(err)), "listing err");
  for (size_t i = 0; i < set.count; i++) {
    const gen_entity_t *e = &set.items[i];
    FUZZ_CHECK(e->id != NULL && e->id[0] != '\0', "entity id");
    FUZZ_CHECK(gen_entity_find(&set, e->id) == (ssize_t)i,
               "ids distinct and found");
  }
  gen_entity_set_free(&set);
}

typedef struct {
  size_t n;
} members_t;

static void on_member(void *ud, const char *user_id, const char *routing,
                      const char *presence) {
  members_t *m = ud;
  FUZZ_CHECK(user_id != NULL && user_id[0] != '\0', "member id");
  FUZZ_CHECK(routing == NULL || terminated(routing, strlen(routing) + 1),
             "routing");
  (void)presence;
  m->n++;
}

static void run_members(void) {
  const char *queues[] = {"q1", "q2", "q1"};
  members_t m = {0};
  gen_members_stats_t st;
  char err[256];
  memset(err, 'x', sizeof(err));
  int status = gen_members_list(http, queues, 3, NULL, on_member, &m, &st, err,
                                sizeof(err));
  FUZZ_CHECK(status == 0 || status == GEN_MEMBERS_PARTIAL || status < 0,
             "members status");
  FUZZ_CHECK(terminated(err, sizeof(err)), "members err");
  FUZZ_CHECK(st.queues == 2, "queues counted once");
  if (status >= 0)
    FUZZ_CHECK(m.n == st.members, "one each() per member");
  FUZZ_CHECK(status != 0 || st.skipped == 0, "partial when skipped");
}

/* ---- aggregates ----------------------------------------------------------
 */

static bool agg_group(void *ud, const gen_agg_group_t *group,
                      const char **scope, gen_key_t *key) {
  (void)ud;
  const char *q = gen_agg_group_get(group, "queueId");
  if (q == NULL || q[0] == '\0')
    return false;
  *scope = strcmp(q, "q2") == 0 ? "q2" : "q1";
  key->str[0] = q;
  return true;
}

/* The corpus's metrics: counts, and a duration (count and sum). */
static const gen_agg_metric_t agg_metrics[] = {
    {.name = "offered", .api = "nOffered", .kind = GEN_AGG_COUNT},
    {.name = "a", .api = "nA", .kind = GEN_AGG_COUNT},
    {.name = "b", .api = "nB", .kind = GEN_AGG_COUNT},
    {.name = "handle", .api = "tHandle", .kind = GEN_AGG_DURATION},
};
static const gen_agg_catalogue_t agg_catalogue = {
    .metrics = agg_metrics, .n = 4, .zero_absent = true};

static gen_interval_range_t planned;

static void on_bucket(void *ud, const gen_key_t *key, int64_t start_ms,
                      int64_t end_ms, gen_interval_kind_t kind,
                      const gen_interval_value_t *v, size_t n) {
  (void)ud;
  FUZZ_CHECK(key != NULL && gen_interval_key_ok(key), "bucket key");
  FUZZ_CHECK(start_ms >= planned.start_ms && end_ms <= planned.end_ms &&
                 end_ms - start_ms == G && start_ms % G == 0,
             "a whole bucket of the range");
  FUZZ_CHECK(kind >= GEN_INTERVAL_NEW && kind <= GEN_INTERVAL_REVISION, "kind");
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(isfinite(v[i].value), "finite value");
}

static void on_totals(void *ud, const gen_key_t *key, int64_t at_ms,
                      const gen_interval_value_t *v, size_t n) {
  (void)ud, (void)at_ms;
  FUZZ_CHECK(key != NULL && gen_interval_key_ok(key), "totals key");
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(isfinite(v[i].value), "finite total");
}

/* Returns take_results' status (1 when the answer was no JSON or not an
 * aggregates answer). */
static int run_aggregates(size_t *dispatched) {
  gen_interval_options_t o = {.granularity_ms = G,
                              .settle_ms = 0,
                              .revisit_ms = 0,
                              .horizon_ms = 3600000,
                              .initial_ms = 3600000,
                              .max_buckets = 12,
                              .who = NULL};
  gen_interval_t *engine = gen_interval_create(&o);
  FUZZ_CHECK(engine != NULL, "engine");
  const char *scopes[] = {"q1", "q2"};
  FUZZ_CHECK(gen_interval_plan(engine, scopes, 2, NOW, &planned) == 1,
             "a range is due");
  char err[256];
  int status = 1;
  gen_http_response_t resp;
  gen_agg_answer_t *answer = gen_agg_answer_new();
  FUZZ_CHECK(answer != NULL, "answer");
  serve(bodies, bodies_len, first_is_400);
  if (gen_http_request(http, "POST", "/api/v2/analytics/x", "{}", NULL,
                       &resp) == 0 &&
      resp.body != NULL) {
    /* As gen_family_apply reads it (read_answer, no prepare). */
    const gen_agg_query_t query = {.what = "fuzz"};
    int got =
        read_answer(&query, resp.body, resp.body_len, answer, err, sizeof(err));
    FUZZ_CHECK(got == 0 || got == -EINVAL || got == -ENOMEM, "read status");
    FUZZ_CHECK(got == 0 || terminated(err, sizeof(err)), "read err");
    if (got == 0) {
      const gen_agg_reader_t reader = {
          .group = agg_group, .cat = &agg_catalogue, .what = "fuzz"};
      size_t skipped = 0;
      memset(err, 'x', sizeof(err));
      status = take_results(engine, answer, &planned, G, &reader, NULL,
                            &skipped, err, sizeof(err));
      FUZZ_CHECK(status == 0 || status == -EINVAL || status == -ENOMEM,
                 "take status");
      FUZZ_CHECK(status == 0 || terminated(err, sizeof(err)), "take err");
      if (status == 0) {
        gen_interval_sink_t sink = {.bucket = on_bucket, .totals = on_totals};
        FUZZ_CHECK(
            gen_interval_commit(engine, scopes, 2, &planned, NOW, &sink) == 0,
            "commit");
      } else {
        gen_interval_abort(engine);
      }
    }
  }
  gen_http_response_reset(&resp);
  gen_agg_answer_free(answer);
  gen_interval_stats_t st;
  gen_interval_get_stats(engine, &st);
  *dispatched = st.buckets_dispatched;
  gen_interval_free(engine);
  return status;
}

/* ---- the target ----------------------------------------------------------
 */

static void check_logs(void) {
  for (size_t i = 0; i < mock_log_num; i++)
    FUZZ_CHECK(strstr(mock_log_lines[i], SECRET) == NULL,
               "no secret in the log");
  mock_log_reset();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  setup();
  /* An exact-size copy: a read past it is an ASan error. */
  uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
  FUZZ_CHECK(copy != NULL, "malloc");
  memcpy(copy, data + 1, size - 1);
  serve(copy, size - 1, (data[0] & 4) != 0);
  size_t dispatched;
  switch (data[0] & 3) {
  case P_TOKEN:
    run_token();
    break;
  case P_ENTITIES:
    run_entities();
    break;
  case P_MEMBERS:
    run_members();
    break;
  default:
    run_aggregates(&dispatched);
  }
  free(copy);
  check_logs();

  /* Nothing carries over: known answers give known results. */
  static const char token[] =
      "{\"access_token\":\"tok-123\",\"token_type\":\"bearer\","
      "\"expires_in\":86400}";
  serve((const uint8_t *)token, sizeof(token) - 1, false);
  auth_reset();
  char buf[GEN_TOKEN_MAX];
  FUZZ_CHECK(gen_auth_token(auth, buf, sizeof(buf), NULL) == 0 &&
                 strcmp(buf, "tok-123") == 0,
             "known token");
  static const char listing[] =
      "{\"entities\":[{\"id\":\"a\",\"name\":\"A\",\"division\":{\"id\":"
      "\"d\"}},{\"id\":\"b\",\"name\":\"B\"}],\"pageCount\":1}";
  serve((const uint8_t *)listing, sizeof(listing) - 1, false);
  gen_entity_set_t set = {0};
  char err[256];
  FUZZ_CHECK(gen_entity_list(http, org, "/api/v2/routing/queues", NULL, &set,
                             err, sizeof(err)) == 0 &&
                 set.count == 2 && strcmp(set.items[1].name, "B") == 0 &&
                 strcmp(set.items[0].division_id, "d") == 0,
             "known listing");
  gen_entity_set_free(&set);
  static const char agg[] =
      "{\"results\":[{\"group\":{\"queueId\":\"q1\"},\"data\":[{\"interval\":"
      "\"2026-05-14T09:50:00.000Z/2026-05-14T09:55:00.000Z\",\"metrics\":[{"
      "\"metric\":\"nOffered\",\"stats\":{\"sum\":3}}]}]}]}";
  serve((const uint8_t *)agg, sizeof(agg) - 1, false);
  FUZZ_CHECK(run_aggregates(&dispatched) == 0 && dispatched == 1,
             "known aggregates");
  check_logs();
  return 0;
}

static void fuzz_cleanup(void) {
  if (org == NULL)
    return;
  gen_auth_free(auth);
  gen_http_free(http);
  gen_org_free(org);
  org = NULL;
  mock_log_reset();
}
