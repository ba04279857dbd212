/* SPDX-License-Identifier: MIT */
/* Unit tests: gen_members over a fake API (no network): the activity query
 * per 100 queues, the per-queue fallback for truncated, short, missing or
 * refused answers, paging, 429 (honoured, refused, budget) and malformed
 * answers. */
#include "gen_auth.c"
#include "gen_entity.c"
#include "gen_http.c"
#include "gen_members.c"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

/* ---- the fake org -------------------------------------------------------
 */

#define MAX_QUEUES 300
#define MAX_MEMBERS 160

typedef struct {
  char id[16];
  int n_members;
  char members[MAX_MEMBERS][16];
  bool truncated;    /* activity group says truncated (and lists half) */
  bool drop;         /* no activity group at all */
  bool short_ids;    /* entityIds one short of the count, no flag */
  bool dup_ids;      /* entityIds repeat one id to reach the count */
  int answer_429;    /* member requests answered 429 before a 200 */
  bool bad_page;     /* member page without "entities" */
  bool member_no_id; /* the first member has no id */
} fake_queue_t;

static fake_queue_t fq[MAX_QUEUES];
static size_t n_fq;

static long activity_status;          /* 0 = 200 */
static int activity_page_max;         /* groups a page at most (0: 100) */
static int fail_activity_page;        /* this page answers 503 (0: none) */
static const char *activity_verbatim; /* verbatim answer instead of the model */
static double retry_after;            /* of a 429 to a member request */

static int n_activity, n_member_requests;
static int predicates[16]; /* queueId predicates per activity query */
static char member_urls[64][512];
static double slept;

static void reset(void) {
  memset(fq, 0, sizeof(fq));
  n_fq = 0;
  activity_status = 0;
  activity_page_max = 0;
  fail_activity_page = 0;
  activity_verbatim = NULL;
  retry_after = 2;
  n_activity = n_member_requests = 0;
  memset(predicates, 0, sizeof(predicates));
  slept = 0;
  mock_time = TIME_T_TO_CDTIME_T(1000);
  mock_log_reset();
}

static fake_queue_t *add_queue(const char *id, int n_members,
                               const char *prefix) {
  fake_queue_t *q = &fq[n_fq++];
  snprintf(q->id, sizeof(q->id), "%s", id);
  q->n_members = n_members;
  for (int i = 0; i < n_members; i++) /* prefixes are short: no cut */
    if (snprintf(q->members[i], sizeof(q->members[i]), "%.8s%d", prefix, i) < 0)
      q->members[i][0] = '\0';
  return q;
}

static fake_queue_t *find_queue(const char *id) {
  for (size_t i = 0; i < n_fq; i++)
    if (strcmp(fq[i].id, id) == 0)
      return &fq[i];
  return NULL;
}

static json_object *ids_array(const fake_queue_t *q, int n) {
  json_object *a = json_object_new_array();
  for (int i = 0; i < n; i++)
    json_object_array_add(a, json_object_new_string(q->members[i]));
  return a;
}

static json_object *metric(const char *name, const char *qualifier, int count,
                           json_object *ids) {
  json_object *m = json_object_new_object();
  json_object_object_add(m, "metric", json_object_new_string(name));
  if (qualifier)
    json_object_object_add(m, "qualifier", json_object_new_string(qualifier));
  json_object_object_add(m, "count", json_object_new_int(count));
  json_object_object_add(m, "entityIds", ids);
  return m;
}

/* The model's RoutingActivityResponse for the queues a query names: every
 * member IDLE and AVAILABLE. */
static char *activity_answer(const char *request, const char *url) {
  json_object *req = json_tokener_parse(request);
  /* The page asked (pageSize and pageNumber in the query), cut to the
   * server's page size. */
  const char *p = strstr(url, "pageNumber=");
  int page = p ? atoi(p + 11) : 1;
  p = strstr(url, "pageSize=");
  int size = p ? atoi(p + 9) : 25;
  if (activity_page_max > 0 && size > activity_page_max)
    size = activity_page_max;
  int group_no = 0;
  json_object *filter = gen_json_get_object(req, "filter");
  json_object *list = gen_json_get_array(filter, "predicates");
  size_t n = list ? json_object_array_length(list) : 0;
  if (n_activity <= 16)
    predicates[n_activity - 1] = (int)n;
  json_object *results = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    fake_queue_t *q = find_queue(
        gen_json_get_string(json_object_array_get_idx(list, i), "value"));
    if (q == NULL || q->drop)
      continue;
    group_no++;
    if (group_no <= (page - 1) * size || group_no > page * size)
      continue;
    int listed = q->truncated   ? q->n_members / 2
                 : q->short_ids ? q->n_members - 1
                                : q->n_members;
    json_object *ids = ids_array(q, listed);
    if (q->dup_ids) /* a repeat in place of the last one */
      json_object_array_put_idx(ids, (size_t)listed - 1,
                                json_object_new_string(q->members[0]));
    json_object *data = json_object_new_array();
    json_object_array_add(data,
                          metric("oMemberUsers", NULL, q->n_members, ids));
    if (listed > 0) {
      json_object_array_add(data, metric("oUserRoutingStatuses", "IDLE", listed,
                                         ids_array(q, listed)));
      json_object_array_add(data, metric("oUserPresences", "AVAILABLE", listed,
                                         ids_array(q, listed)));
    }
    json_object *g = json_object_new_object();
    json_object *group = json_object_new_object();
    json_object_object_add(group, "queueId", json_object_new_string(q->id));
    json_object_object_add(g, "group", group);
    json_object_object_add(g, "data", data);
    json_object_object_add(g, "truncated",
                           json_object_new_boolean(q->truncated));
    json_object_array_add(results, g);
  }
  json_object *doc = json_object_new_object();
  json_object_object_add(doc, "results", results);
  json_object_object_add(doc, "entityIdDimension",
                         json_object_new_string("userId"));
  char *text = strdup(json_object_to_json_string(doc));
  json_object_put(doc);
  json_object_put(req);
  return text;
}

/* One page of .../members, 100 per page, every member INTERACTING and BUSY
 * (so a test can tell which route named a state). */
static char *members_answer(fake_queue_t *q, int page) {
  if (q->bad_page)
    return strdup("{\"pageSize\":100}");
  json_object *entities = json_object_new_array();
  for (int i = (page - 1) * 100; i < q->n_members && i < page * 100; i++) {
    json_object *user = json_object_new_object();
    if (!(q->member_no_id && i == 0))
      json_object_object_add(user, "id", json_object_new_string(q->members[i]));
    json_object *pd = json_object_new_object();
    json_object_object_add(pd, "id", json_object_new_string("pres-busy"));
    if (i % 2 == 0) /* the odd ones have an org presence id only */
      json_object_object_add(pd, "systemPresence",
                             json_object_new_string("BUSY"));
    json_object *presence = json_object_new_object();
    json_object_object_add(presence, "presenceDefinition", pd);
    json_object_object_add(user, "presence", presence);
    json_object *rs = json_object_new_object();
    json_object_object_add(rs, "status", json_object_new_string("INTERACTING"));
    json_object *m = json_object_new_object();
    json_object_object_add(m, "user", user);
    json_object_object_add(m, "routingStatus", rs);
    json_object_object_add(m, "joined", json_object_new_boolean(1));
    json_object_array_add(entities, m);
  }
  json_object *doc = json_object_new_object();
  json_object_object_add(doc, "entities", entities);
  json_object_object_add(doc, "pageNumber", json_object_new_int(page));
  json_object_object_add(doc, "pageCount",
                         json_object_new_int((q->n_members + 99) / 100));
  char *text = strdup(json_object_to_json_string(doc));
  json_object_put(doc);
  return text;
}

static int fake_perform(gen_http_t *http, const char *method, const char *url,
                        const char *body, struct curl_slist *headers,
                        gen_http_response_t *resp) {
  const char *path = strstr(url, "/api/v2/");
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  if (path &&
      strncmp(path, "/api/v2/analytics/routing/activity/query", 40) == 0 &&
      strcmp(method, "POST") == 0) {
    OK(strstr(path, "pageSize=") != NULL);
    n_activity++;
    const char *pn = strstr(path, "pageNumber=");
    resp->status = activity_status                             ? activity_status
                   : pn && atoi(pn + 11) == fail_activity_page ? 503
                                                               : 200;
    resp->body = resp->status == 200
                     ? (activity_verbatim ? strdup(activity_verbatim)
                                          : activity_answer(body, path))
                     : strdup("{\"message\":\"refused\",\"code\":\"x\","
                              "\"status\":403}");
  } else if (path && strncmp(path, "/api/v2/routing/queues/", 23) == 0 &&
             strcmp(method, "GET") == 0) {
    char id[64] = "";
    int page = 1;
    sscanf(path + 23, "%63[^/]", id);
    const char *p = strstr(path, "pageNumber=");
    if (p)
      page = atoi(p + 11);
    if (n_member_requests < 64)
      sstrncpy(member_urls[n_member_requests], path, sizeof(member_urls[0]));
    n_member_requests++;
    fake_queue_t *q = find_queue(id);
    if (q == NULL) {
      resp->status = 404;
      resp->body = strdup("{\"message\":\"not found\",\"status\":404}");
    } else if (q->answer_429 > 0) {
      q->answer_429--;
      resp->status = 429;
      resp->retry_after = retry_after;
      resp->body = strdup("{\"message\":\"Rate limit exceeded\","
                          "\"code\":\"too.many.requests\",\"status\":429}");
    } else {
      resp->status = 200;
      resp->body = members_answer(q, page);
    }
  } else {
    snprintf(resp->error, sizeof(resp->error), "unexpected %s %s", method, url);
    return GEN_HTTP_ERR_TRANSPORT;
  }
  resp->body_len = strlen(resp->body);
  return 0;
}

static void fake_sleep(double s) {
  slept += s;
  mock_time += DOUBLE_TO_CDTIME_T(s);
}

/* ---- what the callback got ------------------------------------------------
 */

typedef struct {
  char id[16], routing[16], presence[16];
} got_t;

static got_t got[1024];
static size_t n_got;

static void collect(void *ud, const char *id, const char *routing,
                    const char *presence) {
  got_t *g = &got[n_got++];
  snprintf(g->id, sizeof(g->id), "%s", id);
  snprintf(g->routing, sizeof(g->routing), "%s", routing ? routing : "-");
  snprintf(g->presence, sizeof(g->presence), "%s", presence ? presence : "-");
}

static got_t *got_of(const char *id) {
  got_t *found = NULL;
  int times = 0;
  for (size_t i = 0; i < n_got; i++)
    if (strcmp(got[i].id, id) == 0) {
      found = &got[i];
      times++;
    }
  return times == 1 ? found : NULL; /* once, or it does not count */
}

typedef struct {
  gen_org_t *org;
  gen_stats_t stats;
  gen_http_t *http;
  gen_members_stats_t ms;
  char err[512];
} fixture_t;

static void setup(fixture_t *f) {
  reset();
  n_got = 0;
  f->org = gen_org_create("genesys_test", "acme");
  f->org->api_base_url = strdup("https://api.example.test");
  f->org->login_base_url = strdup("https://login.example.test");
  gen_stats_init(&f->stats);
  f->http = gen_http_create(f->org, &f->stats, NULL);
}

static void teardown(fixture_t *f) {
  gen_http_free(f->http);
  gen_org_free(f->org);
}

static int list(fixture_t *f, const char *const *ids, size_t n,
                const gen_members_options_t *options) {
  return gen_members_list(f->http, ids, n, options, collect, NULL, &f->ms,
                          f->err, sizeof(f->err));
}

/* ---- tests --------------------------------------------------------------
 */

DEF_TEST(one_query_names_members_and_states) {
  fixture_t f;
  setup(&f);
  add_queue("qa", 3, "a");
  fake_queue_t *b = add_queue("qb", 2, "a"); /* a0, a1 are in both */
  (void)b;
  add_queue("qc", 0, "c");
  const char *ids[] = {"qa", "qb", "qc", "qa"};
  EXPECT_EQ_INT(0, list(&f, ids, 4, NULL));
  EXPECT_EQ_INT(1, n_activity);
  EXPECT_EQ_INT(3, predicates[0]); /* the repeated qa once */
  EXPECT_EQ_INT(0, n_member_requests);
  EXPECT_EQ_INT(3, (int)n_got);
  CHECK_NOT_NULL(got_of("a0"));
  EXPECT_EQ_STR("IDLE", got_of("a2")->routing);
  EXPECT_EQ_STR("AVAILABLE", got_of("a2")->presence);
  EXPECT_EQ_INT(3, (int)f.ms.queues);
  EXPECT_EQ_INT(3, (int)f.ms.members);
  EXPECT_EQ_INT(0, (int)f.ms.fallback_queues);
  teardown(&f);
  return 0;
}

DEF_TEST(requests_grow_with_queues_over_100) {
  fixture_t f;
  setup(&f);
  const char *ids[250];
  for (int i = 0; i < 250; i++) {
    char id[16];
    snprintf(id, sizeof(id), "q%03d", i);
    ids[i] = add_queue(id, 1, id)->id; /* member "q0070" of q007 … */
  }
  EXPECT_EQ_INT(0, list(&f, ids, 250, NULL));
  EXPECT_EQ_INT(3, n_activity);
  EXPECT_EQ_INT(100, predicates[0]);
  EXPECT_EQ_INT(100, predicates[1]);
  EXPECT_EQ_INT(50, predicates[2]);
  EXPECT_EQ_INT(0, n_member_requests);
  EXPECT_EQ_INT(250, (int)n_got);
  teardown(&f);
  return 0;
}

/* A server that answers 25 groups a page where 100 were asked: the query
 * is followed to its last page, no queue falls back to its member listing,
 * and a page shorter than the first ends it. */
DEF_TEST(activity_query_pages_of_25) {
  fixture_t f;
  setup(&f);
  const char *ids[140];
  for (int i = 0; i < 140; i++) {
    char id[16];
    snprintf(id, sizeof(id), "p%03d", i);
    ids[i] = add_queue(id, 2, id)->id;
  }
  activity_page_max = 25;
  EXPECT_EQ_INT(0, list(&f, ids, 140, NULL));
  /* 100 queues: pages of 25, 25, 25, 25 (then all grouped); 40: 25, 15. */
  EXPECT_EQ_INT(6, n_activity);
  EXPECT_EQ_INT(2, (int)f.ms.activity_queries);
  EXPECT_EQ_INT(6, (int)f.ms.activity_pages);
  EXPECT_EQ_INT(0, n_member_requests);
  EXPECT_EQ_INT(0, (int)f.ms.fallback_queues);
  EXPECT_EQ_INT(280, (int)n_got);
  EXPECT_EQ_STR("IDLE", got_of("p1391")->routing);

  /* A page that fails half-way: the groups of the pages before stand,
   * only the queues without one fall back; the error names the page. */
  n_activity = n_member_requests = 0;
  n_got = 0;
  fail_activity_page = 2;
  EXPECT_EQ_INT(0, list(&f, ids, 40, NULL));
  EXPECT_EQ_INT(15, (int)f.ms.fallback_queues);
  EXPECT_EQ_INT(15, n_member_requests);
  EXPECT_EQ_INT(80, (int)n_got);
  printf("# %s\n", f.err);
  OK(strstr(f.err, "/api/v2/analytics/routing/activity/query page 2: HTTP "
                   "503") != NULL);
  teardown(&f);
  return 0;
}

DEF_TEST(untrusted_groups_are_listed_again) {
  fixture_t f;
  setup(&f);
  add_queue("ok", 2, "k");
  add_queue("trunc", 150, "t")->truncated = true; /* 2 pages of members */
  add_queue("short", 3, "s")->short_ids = true;
  add_queue("dup", 3, "d")->dup_ids = true;
  add_queue("gone", 2, "g")->drop = true;
  const char *ids[] = {"ok", "trunc", "short", "dup", "gone"};
  EXPECT_EQ_INT(0, list(&f, ids, 5, NULL));
  /* "gone" has no group on page 1 (the answer has no paging fields): page
   * 2 is asked, and is empty. */
  EXPECT_EQ_INT(2, n_activity);
  EXPECT_EQ_INT(1, (int)f.ms.activity_queries);
  EXPECT_EQ_INT(2, (int)f.ms.activity_pages);
  EXPECT_EQ_INT(4, (int)f.ms.fallback_queues);
  EXPECT_EQ_INT(3, (int)f.ms.truncated); /* the dropped one was not there */
  EXPECT_EQ_INT(5, n_member_requests);   /* trunc has two pages */
  EXPECT_EQ_INT(2 + 150 + 3 + 3 + 2, (int)n_got);
  for (int i = 0; i < 5; i++) {
    OK(strstr(member_urls[i], "expand=presence") != NULL);
    OK(strstr(member_urls[i], "expand=routingStatus") != NULL);
    OK(strstr(member_urls[i], "pageSize=100") != NULL);
  }
  OK(strstr(member_urls[1], "pageNumber=2") != NULL);
  /* Each member once; a state the activity answer named stays (t0 was
   * listed there), the rest come from the member listing, presence as the
   * system name or, without one, the org presence id. */
  EXPECT_EQ_STR("IDLE", got_of("t0")->routing);
  EXPECT_EQ_STR("INTERACTING", got_of("t149")->routing);
  EXPECT_EQ_STR("pres-busy", got_of("t149")->presence);
  EXPECT_EQ_STR("BUSY", got_of("t148")->presence);
  CHECK_NOT_NULL(got_of("s2"));
  CHECK_NOT_NULL(got_of("d2"));
  CHECK_NOT_NULL(got_of("g1"));
  CHECK_NOT_NULL(got_of("k1"));
  teardown(&f);
  return 0;
}

DEF_TEST(refused_activity_route_is_asked_once) {
  fixture_t f;
  setup(&f);
  const char *ids[150];
  for (int i = 0; i < 150; i++) {
    char id[16];
    snprintf(id, sizeof(id), "r%03d", i);
    ids[i] = add_queue(id, i == 7 ? 1 : 0, "m")->id;
  }
  activity_status = 403;
  EXPECT_EQ_INT(0, list(&f, ids, 150, NULL));
  EXPECT_EQ_INT(1, n_activity); /* not again for the second 100 */
  EXPECT_EQ_INT(150, n_member_requests);
  EXPECT_EQ_INT(1, (int)n_got);
  OK(strstr(f.err, "routing activity query failed") != NULL);
  /* no_activity: straight to the member listings. */
  n_activity = n_member_requests = 0;
  n_got = 0;
  activity_status = 0;
  gen_members_options_t options = {.no_activity = true};
  EXPECT_EQ_INT(0, list(&f, ids, 3, &options));
  EXPECT_EQ_INT(0, n_activity);
  EXPECT_EQ_INT(3, n_member_requests);
  teardown(&f);
  return 0;
}

DEF_TEST(malformed_answers) {
  fixture_t f;
  setup(&f);
  add_queue("m1", 2, "x");
  add_queue("m2", 2, "y")->member_no_id = true;
  add_queue("m3", 2, "z")->bad_page = true;
  const char *ids[] = {"m1", "m2", "m3"};
  static const char *const bodies[] = {
      "{\"results\":[{\"group\":{\"queueId\":\"m1\"",  /* cut */
      "{\"results\":{}}",                              /* not an array */
      "[1,2]",                                         /* not an object */
      "{\"results\":[{\"group\":{\"queueId\":\"zz\"}," /* a queue not asked */
      "\"data\":[]},{\"group\":5},{\"data\":7},null,"
      "{\"group\":{\"queueId\":\"m1\"},\"data\":[{\"metric\":\"oMemberUsers\","
      "\"count\":\"2\",\"entityIds\":[\"x0\",\"x1\"]}]}]}", /* count a string */
  };
  for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
    n_activity = n_member_requests = 0;
    n_got = 0;
    fq[2].bad_page = true;
    activity_verbatim = bodies[b];
    EXPECT_EQ_INT(GEN_MEMBERS_PARTIAL, list(&f, ids, 3, NULL));
    /* The last answer names m1 and not m2, m3: its page 2, the same answer
     * again (nothing new), ends the query. */
    EXPECT_EQ_INT(b == 3 ? 2 : 1, n_activity);
    EXPECT_EQ_INT(3, n_member_requests); /* every queue listed again */
    EXPECT_EQ_INT(1, (int)f.ms.skipped); /* m3's page had no entities */
    CHECK_NOT_NULL(got_of("x0"));
    CHECK_NOT_NULL(got_of("x1"));
    CHECK_NOT_NULL(got_of("y1"));
    EXPECT_EQ_INT(3, (int)n_got); /* y0 had no id */
    OK(f.ms.malformed >= 2);
  }
  /* Non-string ids in entityIds do not count towards the count. */
  activity_verbatim = "{\"results\":[{\"group\":{\"queueId\":\"m1\"},\"data\":["
                      "{\"metric\":\"oMemberUsers\",\"count\":2,\"entityIds\":["
                      "\"x0\",5,null,\"\",\"x1\"]}]}]}";
  n_activity = n_member_requests = 0;
  n_got = 0;
  const char *one[] = {"m1"};
  EXPECT_EQ_INT(0, list(&f, one, 1, NULL));
  EXPECT_EQ_INT(0, n_member_requests);
  EXPECT_EQ_INT(2, (int)n_got);
  EXPECT_EQ_STR("-", got_of("x0")->routing); /* named by nobody */
  teardown(&f);
  return 0;
}

DEF_TEST(rate_limits) {
  fixture_t f;
  setup(&f);
  add_queue("ok", 1, "k");
  add_queue("p1", 1, "a")->truncated = true;
  add_queue("p2", 1, "b")->truncated = true;
  add_queue("p3", 1, "c")->truncated = true;
  const char *ids[] = {"ok", "p1", "p2", "p3"};
  /* A 429 with a short Retry-After is waited for and retried. */
  fq[1].answer_429 = 1;
  EXPECT_EQ_INT(0, list(&f, ids, 4, NULL));
  EXPECT_EQ_DOUBLE(2, slept);
  EXPECT_EQ_INT(4, (int)n_got);
  EXPECT_EQ_INT(4, n_member_requests);

  /* Retry-After beyond RetryAfterMax: refused, and no more listings. */
  n_member_requests = 0;
  n_got = 0;
  slept = 0;
  retry_after = 600;
  fq[1].answer_429 = 1;
  EXPECT_EQ_INT(GEN_MEMBERS_PARTIAL, list(&f, ids, 4, NULL));
  EXPECT_EQ_INT(1, n_member_requests);
  EXPECT_EQ_DOUBLE(0, slept);
  EXPECT_EQ_INT(3, (int)f.ms.skipped);
  EXPECT_EQ_INT(1, (int)n_got); /* the trusted queue's member */
  CHECK_NOT_NULL(got_of("k0"));
  OK(strstr(f.err, "429") != NULL || strstr(f.err, "Rate limit") != NULL);

  /* The budget: each listing waits 6 s once; at 10 s no new one starts. */
  n_member_requests = 0;
  n_got = 0;
  slept = 0;
  retry_after = 6;
  for (int i = 1; i <= 3; i++)
    fq[i].answer_429 = 1;
  gen_members_options_t options = {.budget = TIME_T_TO_CDTIME_T(10)};
  EXPECT_EQ_INT(GEN_MEMBERS_PARTIAL, list(&f, ids, 4, &options));
  EXPECT_EQ_INT(2, (int)f.ms.fallback_queues);
  EXPECT_EQ_INT(1, (int)f.ms.skipped);
  EXPECT_EQ_INT(4, n_member_requests);
  EXPECT_EQ_DOUBLE(12, slept);
  EXPECT_EQ_INT(3, (int)n_got);
  OK(strstr(f.err, "budget") != NULL);
  teardown(&f);
  return 0;
}

DEF_TEST(arguments) {
  fixture_t f;
  setup(&f);
  EXPECT_EQ_INT(-EINVAL, list(&f, NULL, 2, NULL));
  EXPECT_EQ_INT(-EINVAL, gen_members_list(NULL, NULL, 0, NULL, collect, NULL,
                                          NULL, NULL, 0));
  EXPECT_EQ_INT(0, list(&f, NULL, 0, NULL)); /* nothing to list */
  EXPECT_EQ_INT(0, n_activity + n_member_requests);
  teardown(&f);
  return 0;
}

int main(void) {
  http_perform = fake_perform;
  http_sleep = fake_sleep;
  RUN_TEST(one_query_names_members_and_states);
  RUN_TEST(requests_grow_with_queues_over_100);
  RUN_TEST(activity_query_pages_of_25);
  RUN_TEST(untrusted_groups_are_listed_again);
  RUN_TEST(refused_activity_route_is_asked_once);
  RUN_TEST(malformed_answers);
  RUN_TEST(rate_limits);
  RUN_TEST(arguments);
  mock_time = 0;
  mock_log_reset();
  END_TEST;
}
