/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the estimated wait time (gen_ewt): the answer reader in
 * every form the record allows and malformed ones, the pairs due and their
 * choice under a budget, the sliding minute, one read against a fake API
 * (answers, a 404, a 403 that stops the family), and the case of 3
 * of 5,000 queues waiting read after read (only their pairs asked).
 */
#include "collectd/core/daemon/collectd.h"

#include "fake_client.h"
#include "gen_ewt.h"
#include "gen_http.c" /* its transport seam: a fake API */
#include "gen_names.h"
#include "plugin_mock.h"
#include "waits_bounds.h"

#include "collectd/core/testing.h"

static int read_text(const char *text, int64_t *seconds, size_t *malformed) {
  char err[128];
  *seconds = -1;
  return gen_ewt_read(NULL, text, text ? strlen(text) : 0, seconds, malformed,
                      err, sizeof(err));
}

DEF_TEST(answer_forms) {
  int64_t s;
  size_t bad;
  /* One result with every field of PredictionResults. */
  EXPECT_EQ_INT(0, read_text("{\"results\":[{\"intent\":\"call\",\"formula\":"
                             "\"Best\",\"estimatedWaitTimeSeconds\":42}]}",
                             &s, &bad));
  EXPECT_EQ_INT(42, (int)s);
  EXPECT_EQ_INT(0, (int)bad);
  /* Only the estimate. */
  EXPECT_EQ_INT(0, read_text("{\"results\":[{\"estimatedWaitTimeSeconds\":0}]}",
                             &s, &bad));
  EXPECT_EQ_INT(0, (int)s);
  /* A labelled result first: the first without a label is taken. */
  EXPECT_EQ_INT(
      0, read_text("{\"results\":[{\"estimatedWaitTimeSeconds\":10,\"label\":"
                   "{\"id\":\"l1\"}},{\"estimatedWaitTimeSeconds\":20,"
                   "\"formula\":\"x\"},{\"estimatedWaitTimeSeconds\":30}]}",
                   &s, &bad));
  EXPECT_EQ_INT(20, (int)s);
  /* Every one labelled: the first. */
  EXPECT_EQ_INT(
      0, read_text("{\"results\":[{\"estimatedWaitTimeSeconds\":11,\"label\":"
                   "{\"id\":\"a\"}},{\"estimatedWaitTimeSeconds\":12,"
                   "\"label\":{\"id\":\"b\"}}]}",
                   &s, &bad));
  EXPECT_EQ_INT(11, (int)s);
  /* A null label is no label. */
  EXPECT_EQ_INT(
      0, read_text("{\"results\":[{\"estimatedWaitTimeSeconds\":5,\"label\":"
                   "{\"id\":\"a\"}},{\"estimatedWaitTimeSeconds\":6,\"label\":"
                   "null}]}",
                   &s, &bad));
  EXPECT_EQ_INT(6, (int)s);
  /* A whole double is an integer; extra members are ignored. */
  EXPECT_EQ_INT(0, read_text("{\"results\":[{\"estimatedWaitTimeSeconds\":7.0}"
                             "],\"selfUri\":\"x\"}",
                             &s, &bad));
  EXPECT_EQ_INT(7, (int)s);
  /* No result at all: no estimate, nothing malformed. */
  EXPECT_EQ_INT(-ENODATA, read_text("{\"results\":[]}", &s, &bad));
  EXPECT_EQ_INT(0, (int)bad);
  /* Of the unlabelled results, the formula BEST (any case) first; a
   * labelled BEST does not go before the queue's own estimate. */
  EXPECT_EQ_INT(
      0, read_text("{\"results\":[{\"formula\":\"BEST\",\"label\":{\"id\":"
                   "\"l\"},\"estimatedWaitTimeSeconds\":1},{\"formula\":"
                   "\"SIMPLE\",\"estimatedWaitTimeSeconds\":2},{\"formula\":"
                   "\"best\",\"estimatedWaitTimeSeconds\":3},{\"formula\":"
                   "\"BEST\",\"estimatedWaitTimeSeconds\":4}]}",
                   &s, &bad));
  EXPECT_EQ_INT(3, (int)s);
  /* Every labelled: the BEST of them. */
  EXPECT_EQ_INT(
      0,
      read_text("{\"results\":[{\"formula\":\"ABANDON\",\"label\":{\"id\":"
                "\"a\"},\"estimatedWaitTimeSeconds\":8},{\"formula\":\"BEST\","
                "\"label\":{\"id\":\"b\"},\"estimatedWaitTimeSeconds\":9}]}",
                &s, &bad));
  EXPECT_EQ_INT(9, (int)s);
  return 0;
}

/* A formula word Genesys may add (the enum grew in 233.0.0) is counted in
 * unknown_values and its result taken as any other, never refused. */
DEF_TEST(unknown_formula) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  int64_t s = -1;
  size_t bad;
  char err[128];
  const char *text = "{\"results\":[{\"intent\":\"CALL\",\"formula\":"
                     "\"CRYSTAL-BALL\",\"estimatedWaitTimeSeconds\":17}]}";
  mock_log_reset();
  EXPECT_EQ_INT(
      0, gen_ewt_read(&client, text, strlen(text), &s, &bad, err, sizeof(err)));
  EXPECT_EQ_INT(17, (int)s);
  EXPECT_EQ_INT(0, (int)bad);
  EXPECT_EQ_INT(1,
                (int)gen_stats_unknown_count(&client.stats, "ewt", "formula"));
  OK(mock_log_contains("CRYSTAL-BALL"));
  /* The known words are not counted. */
  const char *known = "{\"results\":[{\"formula\":\"AI-ADJUSTED-AHT\","
                      "\"estimatedWaitTimeSeconds\":5},{\"formula\":"
                      "\"POSITION-IN-QUEUE\",\"estimatedWaitTimeSeconds\":6},"
                      "{\"formula\":\"PATIENCE_ABANDON\","
                      "\"estimatedWaitTimeSeconds\":7}]}";
  EXPECT_EQ_INT(0, gen_ewt_read(&client, known, strlen(known), &s, &bad, err,
                                sizeof(err)));
  EXPECT_EQ_INT(5, (int)s);
  EXPECT_EQ_INT(1,
                (int)gen_stats_unknown_count(&client.stats, "ewt", "formula"));
  fake_client_free(&client);
  return 0;
}

DEF_TEST(malformed_answers) {
  int64_t s;
  size_t bad;
  static const char *const results[] = {
      "{}",
      "{\"estimatedWaitTimeSeconds\":null}",
      "{\"estimatedWaitTimeSeconds\":\"42\"}",
      "{\"estimatedWaitTimeSeconds\":-1}",
      "{\"estimatedWaitTimeSeconds\":1.5}",
      "{\"estimatedWaitTimeSeconds\":1e300}",
      "{\"estimatedWaitTimeSeconds\":99999999999999999999}",
      "{\"estimatedWaitTimeSeconds\":9007199254740993}",
      "42",
      "null",
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(results); i++) {
    char text[256];
    snprintf(text, sizeof(text), "{\"results\":[%s]}", results[i]);
    EXPECT_EQ_INT(-ENODATA, read_text(text, &s, &bad));
    EXPECT_EQ_INT(1, (int)bad);
    /* Skipped: the good one after it is taken, the bad one counted. */
    snprintf(text, sizeof(text),
             "{\"results\":[%s,{\"estimatedWaitTimeSeconds\":9}]}", results[i]);
    EXPECT_EQ_INT(0, read_text(text, &s, &bad));
    EXPECT_EQ_INT(9, (int)s);
    EXPECT_EQ_INT(1, (int)bad);
    /* Counted also when it comes after the one taken. */
    snprintf(text, sizeof(text),
             "{\"results\":[{\"estimatedWaitTimeSeconds\":8},%s]}", results[i]);
    EXPECT_EQ_INT(0, read_text(text, &s, &bad));
    EXPECT_EQ_INT(8, (int)s);
    EXPECT_EQ_INT(1, (int)bad);
  }
  static const char *const documents[] = {
      NULL,
      "",
      "not json",
      "{\"results\":",
      "[]",
      "{}",
      "{\"results\":{}}",
      "{\"results\":null}",
      "{\"entities\":[]}",
      "\"x\"",
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(documents); i++)
    EXPECT_EQ_INT(-EBADMSG, read_text(documents[i], &s, &bad));
  return 0;
}

DEF_TEST(path_media) {
  EXPECT_EQ_STR("call", gen_ewt_path_media(GEN_MEDIA_VOICE));
  EXPECT_EQ_STR("callback", gen_ewt_path_media(GEN_MEDIA_CALLBACK));
  EXPECT_EQ_STR("chat", gen_ewt_path_media(GEN_MEDIA_CHAT));
  EXPECT_EQ_STR("email", gen_ewt_path_media(GEN_MEDIA_EMAIL));
  EXPECT_EQ_STR("message", gen_ewt_path_media(GEN_MEDIA_MESSAGE));
  EXPECT_EQ_STR("videoComm", gen_ewt_path_media(GEN_MEDIA_VIDEO));
  OK(gen_ewt_path_media(GEN_MEDIA_COBROWSE) == NULL);
  OK(gen_ewt_path_media(GEN_MEDIA_SCREENSHARE) == NULL);
  OK(gen_ewt_path_media(-1) == NULL);
  OK(gen_ewt_path_media(GEN_MEDIA_COUNT) == NULL);
  return 0;
}

DEF_TEST(longest_unasked_first_within_budget) {
  gen_ewt_due_t due[] = {
      {.queue = 3, .media = 0, .asked = 500}, {.queue = 1, .media = 2},
      {.queue = 0, .media = 0, .asked = 100}, {.queue = 1, .media = 0},
      {.queue = 2, .media = 1, .asked = 100},
  };
  EXPECT_EQ_INT(3, (int)gen_ewt_choose(due, 5, 3));
  /* Never asked first (by queue, then media), then the oldest asked. */
  EXPECT_EQ_INT(1, (int)due[0].queue);
  EXPECT_EQ_INT(0, due[0].media);
  EXPECT_EQ_INT(1, (int)due[1].queue);
  EXPECT_EQ_INT(2, due[1].media);
  EXPECT_EQ_INT(0, (int)due[2].queue);
  EXPECT_EQ_INT(2, (int)due[3].queue);
  EXPECT_EQ_INT(3, (int)due[4].queue);
  EXPECT_EQ_INT(5, (int)gen_ewt_choose(due, 5, 100));
  EXPECT_EQ_INT(0, (int)gen_ewt_choose(due, 5, 0));
  EXPECT_EQ_INT(0, (int)gen_ewt_choose(NULL, 0, 10));
  return 0;
}

#define S(x) TIME_T_TO_CDTIME_T(x)

/* Queue i's media m with w waiting. */
static gen_live_media_t *waiting(gen_live_t *l, size_t i, int m, int64_t w) {
  gen_qs_media_t *qm = gen_live_media(l, i, (size_t)m);
  qm->seen = true;
  qm->waiting = w;
  return l->state[i].media[m];
}

/* The table for the queues of set, as at a first listing. */
static void live_of(gen_live_t *l, const gen_entity_set_t *set) {
  static gen_waits_bounds_t bounds;
  static gen_conv_store_t store;
  waits_bounds_default(&bounds);
  *l = (gen_live_t){.bounds = &bounds, .store = &store};
  gen_entity_set_t none = {0};
  gen_live_replace(l, &none, set, NULL, NULL);
}

/* n queues q0, q1, … and their table. */
static void table_of(gen_live_t *l, gen_entity_set_t *set, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char id[16];
    snprintf(id, sizeof(id), "q%zu", i);
    gen_entity_add(set, id, id, NULL);
  }
  live_of(l, set);
}

/* 3 of the queues wait: q17 on voice and chat, q2500 on email, q4999 on
 * voice and cobrowse (no estimate in the API): 4 pairs to ask. */
static void three_waiting(gen_live_t *l) {
  waiting(l, 17, GEN_MEDIA_VOICE, 2);
  waiting(l, 17, GEN_MEDIA_CHAT, 1);
  waiting(l, 2500, GEN_MEDIA_EMAIL, 4);
  waiting(l, 4999, GEN_MEDIA_VOICE, 1);
  waiting(l, 4999, GEN_MEDIA_COBROWSE, 3);
}

/* The family on, at its defaults (Every 30 s, 60 requests a minute). */
static gen_ewt_t *ewt_on(void) {
  gen_ewt_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_ewt_keys, &c);
  c.on = true;
  return gen_ewt_new(&c);
}

DEF_TEST(only_pairs_with_conversations_waiting) {
  gen_entity_set_t set = {0};
  gen_live_t l;
  table_of(&l, &set, 5000);
  /* 3 of 5,000 queues wait; others have state with nobody waiting. */
  three_waiting(&l);
  for (size_t i = 0; i < 5000; i += 7)
    if (i != 17 && i != 2500 && i != 4999)
      waiting(&l, i, GEN_MEDIA_VOICE, 0);
  gen_ewt_due_t *due;
  cdtime_t now = S(1000);
  EXPECT_EQ_INT(4, (int)gen_ewt_collect(&l, set.count, now, S(30), &due));
  size_t asked[3] = {0};
  for (int k = 0; k < 4; k++)
    asked[0] += due[k].queue == 17, asked[1] += due[k].queue == 2500,
        asked[2] += due[k].queue == 4999;
  EXPECT_EQ_INT(2, (int)asked[0]);
  EXPECT_EQ_INT(1, (int)asked[1]);
  EXPECT_EQ_INT(1, (int)asked[2]);
  free(due);

  /* Asked within Every: not due; past it: due again. Nobody waiting: its
   * estimate is forgotten. */
  gen_live_media_t *lm = l.state[17].media[GEN_MEDIA_VOICE];
  lm->ewt = (gen_live_ewt_t){.asked = now - S(10), .seconds = 60, .have = true};
  EXPECT_EQ_INT(3, (int)gen_ewt_collect(&l, set.count, now, S(30), &due));
  free(due);
  EXPECT_EQ_INT(4,
                (int)gen_ewt_collect(&l, set.count, now + S(20), S(30), &due));
  free(due);
  mock_puts_t puts = {0};
  gen_ewt_put_queue(&l, 17, mock_put, &puts);
  EXPECT_EQ_INT(1, puts.n);
  EXPECT_EQ_INT(60, (int)mock_puts_value(&puts, "estimated_wait/voice"));
  lm->now.waiting = 0;
  puts = (mock_puts_t){0};
  gen_ewt_put_queue(&l, 17, mock_put, &puts); /* absent at once */
  EXPECT_EQ_INT(0, puts.n);
  EXPECT_EQ_INT(3, (int)gen_ewt_collect(&l, set.count, now, S(30), &due));
  free(due);
  OK(!lm->ewt.have);
  lm->now.waiting = 1; /* waits again: no estimate until asked */
  gen_ewt_put_queue(&l, 17, mock_put, &puts);
  EXPECT_EQ_INT(0, puts.n);

  /* MediaType leaves chat out: neither asked nor put. */
  l.media_mask = 1u << GEN_MEDIA_VOICE | 1u << GEN_MEDIA_EMAIL;
  EXPECT_EQ_INT(3,
                (int)gen_ewt_collect(&l, set.count, now + S(60), S(30), &due));
  for (int k = 0; k < 3; k++)
    OK(due[k].media != GEN_MEDIA_CHAT);
  free(due);
  gen_live_free(&l, set.count);
  gen_entity_set_free(&set);
  return 0;
}

DEF_TEST(sliding_minute) {
  gen_ewt_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_ewt_keys, &c);
  EXPECT_EQ_PTR(NULL, gen_ewt_new(&c)); /* off by default */
  c.on = true;
  c.per_minute = 3;
  gen_ewt_t *e = gen_ewt_new(&c);
  OK(e != NULL);
  EXPECT_EQ_INT(3, (int)gen_ewt_budget(e, S(100)));
  gen_ewt_spent(e, S(100));
  gen_ewt_spent(e, S(110));
  EXPECT_EQ_INT(1, (int)gen_ewt_budget(e, S(110)));
  gen_ewt_spent(e, S(120));
  EXPECT_EQ_INT(0, (int)gen_ewt_budget(e, S(159)));
  EXPECT_EQ_INT(1, (int)gen_ewt_budget(e, S(160))); /* 100 is a minute ago */
  EXPECT_EQ_INT(2, (int)gen_ewt_budget(e, S(170)));
  EXPECT_EQ_INT(3, (int)gen_ewt_budget(e, S(180)));
  gen_ewt_spent(e, S(180));
  EXPECT_EQ_INT(2, (int)gen_ewt_budget(e, S(180)));
  gen_ewt_free(e);
  return 0;
}

/* ---- one read against a fake API ---------------------------------------- */

static int n_calls, n_403_after;
static char last_url[512];

static int fake_api(gen_http_t *http, const char *method, const char *url,
                    const char *body, struct curl_slist *headers,
                    gen_http_response_t *resp) {
  (void)http, (void)body, (void)headers;
  OK(strcmp(method, "GET") == 0);
  sstrncpy(last_url, url, sizeof(last_url));
  n_calls++;
  if (n_403_after > 0 && n_calls > n_403_after)
    fake_answer(resp, 403,
                "{\"message\":\"Unable to perform the requested action. You "
                "are missing the following permission(s): "
                "routing:queue:view\",\"code\":\"missing.permissions\","
                "\"status\":403}");
  else if (strstr(url, "/queues/q1/") != NULL)
    fake_answer(resp, 404,
                "{\"message\":\"Queue not found\",\"code\":\"not.found\","
                "\"status\":404}");
  else if (strstr(url, "/mediatypes/chat/") != NULL)
    fake_answer(resp, 200,
                "{\"results\":[{\"estimatedWaitTimeSeconds\":-4},"
                "{\"estimatedWaitTimeSeconds\":33}]}");
  else
    fake_answer(resp, 200,
                "{\"results\":[{\"intent\":\"call\",\"formula\":\"x\","
                "\"estimatedWaitTimeSeconds\":120}]}");
  return 0;
}

/* The end of a read test: the real transport back, everything freed. */
static void read_done(gen_ewt_t *e, gen_live_t *l, gen_entity_set_t *set,
                      gen_client_t *client) {
  gen_ewt_free(e);
  http_perform = http_perform_curl;
  gen_live_free(l, set->count);
  gen_entity_set_free(set);
  fake_client_free(client);
}

DEF_TEST(a_read_against_the_api) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  mock_log_reset();
  mock_notifs_reset();
  gen_entity_set_t set = {0};
  gen_live_t l;
  table_of(&l, &set, 4);
  waiting(&l, 0, GEN_MEDIA_VOICE, 2);
  waiting(&l, 0, GEN_MEDIA_CHAT, 1);
  waiting(&l, 1, GEN_MEDIA_VOICE, 1); /* deleted since: 404 */
  waiting(&l, 2, GEN_MEDIA_EMAIL, 0); /* nobody waits */
  waiting(&l, 3, GEN_MEDIA_VOICE, 5);
  gen_ewt_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_ewt_keys, &c);
  c.on = true;
  c.per_minute = 3;
  gen_ewt_t *e = gen_ewt_new(&c);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  cdtime_t now = S(1000);
  uint64_t malformed = atomic_load(&client.stats.malformed);

  /* Four due, three within the budget; the one left is asked next. */
  EXPECT_EQ_INT(3, (int)gen_ewt_run(e, &client, &lock, &set, &l, now));
  EXPECT_EQ_INT(3, n_calls);
  OK(l.state[0].media[GEN_MEDIA_VOICE]->ewt.have);
  EXPECT_EQ_INT(120, (int)l.state[0].media[GEN_MEDIA_VOICE]->ewt.seconds);
  EXPECT_EQ_INT(33, (int)l.state[0].media[GEN_MEDIA_CHAT]->ewt.seconds);
  EXPECT_EQ_INT((int)malformed + 1, (int)atomic_load(&client.stats.malformed));
  OK(!l.state[1].media[GEN_MEDIA_VOICE]->ewt.have);
  /* The 404 and the malformed result: one line (rate-limited), each
   * counted. */
  OK(mock_log_contains("result(s) without an estimatedWaitTimeSeconds"));
  mock_values_reset();
  gen_ewt_dispatch_stats(e, "acme", "genesys_realtime");
  EXPECT_EQ_INT(3, (int)mock_find("self", "ewt_requests", NULL)->value.derive);
  EXPECT_EQ_INT(1, (int)mock_find("self", "ewt_unasked", NULL)->value.derive);
  EXPECT_EQ_INT(1, (int)mock_find("self", "ewt_failures", NULL)->value.derive);
  OK(l.state[3].media[GEN_MEDIA_VOICE]->ewt.asked == 0);
  /* A minute later all four are due again, three within the budget: the
   * one never asked first. */
  EXPECT_EQ_INT(3, (int)gen_ewt_run(e, &client, &lock, &set, &l, now + S(60)));
  EXPECT_EQ_INT(6, n_calls);
  OK(l.state[3].media[GEN_MEDIA_VOICE]->ewt.asked == now + S(60));
  EXPECT_EQ_INT(120, (int)l.state[3].media[GEN_MEDIA_VOICE]->ewt.seconds);
  mock_puts_t puts = {0};
  gen_ewt_put_queue(&l, 0, mock_put, &puts);
  EXPECT_EQ_INT(2, puts.n);
  EXPECT_EQ_INT(120, (int)mock_puts_value(&puts, "estimated_wait/voice"));
  EXPECT_EQ_INT(33, (int)mock_puts_value(&puts, "estimated_wait/chat"));

  /* A 403 for the permission: said once, the family stops. */
  n_403_after = n_calls;
  mock_log_reset();
  EXPECT_EQ_INT(1, (int)gen_ewt_run(e, &client, &lock, &set, &l, now + S(120)));
  OK(mock_log_contains("routing:queue:view"));
  int calls = n_calls;
  EXPECT_EQ_INT(0, (int)gen_ewt_run(e, &client, &lock, &set, &l, now + S(300)));
  EXPECT_EQ_INT(calls, n_calls);

  read_done(e, &l, &set, &client);
  return 0;
}

DEF_TEST(an_id_unusable_in_a_path_is_never_asked) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = fake_api;
  gen_entity_set_t set = {0};
  gen_entity_add(&set, "q/../../users", "odd", NULL);
  gen_entity_add(&set, "q?x=1", "odder", NULL);
  gen_live_t l;
  live_of(&l, &set);
  waiting(&l, 0, GEN_MEDIA_VOICE, 1);
  waiting(&l, 1, GEN_MEDIA_VOICE, 1);
  gen_ewt_t *e = ewt_on();
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  int calls = n_calls;
  EXPECT_EQ_INT(0, (int)gen_ewt_run(e, &client, &lock, &set, &l, S(1000)));
  EXPECT_EQ_INT(calls, n_calls);
  EXPECT_EQ_INT(60, (int)gen_ewt_budget(e, S(1000)));
  read_done(e, &l, &set, &client);
  return 0;
}

/* ---- 3 of 5,000 queues waiting, read after read ------------------------ */

static char asked_paths[64][96]; /* the pairs asked since the last reset */
static size_t n_asked;

/* Records the queue and media type of each request ("q17/call"). */
static int recording_api(gen_http_t *http, const char *method, const char *url,
                         const char *body, struct curl_slist *headers,
                         gen_http_response_t *resp) {
  (void)http, (void)method, (void)body, (void)headers;
  const char *q = strstr(url, "/routing/queues/");
  if (n_asked < 64 && q != NULL) {
    char *to = asked_paths[n_asked++];
    sstrncpy(to, q + strlen("/routing/queues/"), 96);
    char *end = strstr(to, "/estimatedwaittime");
    if (end != NULL)
      *end = '\0';
    char *mt = strstr(to, "/mediatypes/");
    if (mt != NULL)
      memmove(mt + 1, mt + strlen("/mediatypes/"), strlen(mt) - 11);
  }
  fake_answer(resp, 200, "{\"results\":[{\"estimatedWaitTimeSeconds\":45}]}");
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

/* The pairs asked since the last call, sorted and joined by spaces. */
static const char *asked_since(void) {
  static char text[sizeof(asked_paths) + 64];
  qsort(asked_paths, n_asked, sizeof(asked_paths[0]), by_name);
  text[0] = '\0';
  for (size_t k = 0; k < n_asked; k++)
    snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s",
             k ? " " : "", asked_paths[k]);
  n_asked = 0;
  return text;
}

/* The case: 5,000 queues known, every one with state (voice,
 * chat and email seen, nobody waiting), and 3 with conversations waiting:
 * q17 on voice and chat, q2500 on email, q4999 on voice and cobrowse (no
 * estimate in the API). The plugin's read every 2 s for 95 s at the
 * defaults (EstimatedWaitTimeEvery 30, 60 requests a minute): each cycle
 * asks exactly those 3 queues' 4 pairs, once, and the reads in between
 * nothing; when q2500 stops waiting it is asked no more. */
DEF_TEST(three_of_5000_queues_waiting_over_cycles) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = recording_api;
  n_asked = 0;
  gen_entity_set_t set = {0};
  gen_live_t l;
  table_of(&l, &set, 5000);
  for (size_t i = 0; i < 5000; i++) {
    waiting(&l, i, GEN_MEDIA_VOICE, 0);
    waiting(&l, i, GEN_MEDIA_CHAT, 0);
    waiting(&l, i, GEN_MEDIA_EMAIL, 0);
  }
  three_waiting(&l);
  gen_ewt_t *e = ewt_on();
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  const char *want = "q17/call q17/chat q2500/email q4999/call";
  cdtime_t t0 = S(1000);
  size_t per_cycle[4] = {0}, total = 0;
  for (int s = 0; s < 95; s += 2) {
    if (s == 64)
      waiting(&l, 2500, GEN_MEDIA_EMAIL, 0);
    size_t made = gen_ewt_run(e, &client, &lock, &set, &l, t0 + S(s));
    total += made;
    const char *got = asked_since();
    if (s % 30 != 0) { /* between cycles: nothing */
      EXPECT_EQ_INT(0, (int)made);
      continue;
    }
    per_cycle[s / 30] = made;
    printf("# ewt cycle at %2d s: %zu requests of 5,000 queues: %s\n", s, made,
           got);
    EXPECT_EQ_STR(s < 64 ? want : "q17/call q17/chat q4999/call", got);
  }
  EXPECT_EQ_INT(4, (int)per_cycle[0]);
  EXPECT_EQ_INT(4, (int)per_cycle[1]);
  EXPECT_EQ_INT(4, (int)per_cycle[2]);
  EXPECT_EQ_INT(3, (int)per_cycle[3]);
  EXPECT_EQ_INT(15, (int)total);
  mock_values_reset();
  gen_ewt_dispatch_stats(e, "acme", "genesys_realtime");
  EXPECT_EQ_INT(15, (int)mock_find("self", "ewt_requests", NULL)->value.derive);
  EXPECT_EQ_INT(0, (int)mock_find("self", "ewt_unasked", NULL)->value.derive);
  mock_puts_t puts = {0};
  gen_ewt_put_queue(&l, 17, mock_put, &puts);
  EXPECT_EQ_INT(2, puts.n);
  EXPECT_EQ_INT(45, (int)mock_puts_value(&puts, "estimated_wait/voice"));
  read_done(e, &l, &set, &client);
  return 0;
}

/* An estimate padded to one byte over the family's bound (64 KiB): valid
 * JSON, fed to the handle as curl would (on_body). */
static int padded_estimate(gen_http_t *http, const char *method,
                           const char *url, const char *body,
                           struct curl_slist *headers,
                           gen_http_response_t *resp) {
  (void)method, (void)url, (void)body, (void)headers;
  static char text[GEN_KIB(64) + 2];
  size_t len = GEN_KIB(64) + 1;
  const char *head = "{\"results\":[{\"estimatedWaitTimeSeconds\":120}]";
  memset(text, ' ', len);
  memcpy(text, head, strlen(head));
  text[len - 1] = '}';
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->status = 200;
  http->current = resp;
  size_t took = on_body(text, 1, len, http);
  http->current = NULL;
  return took == len ? 0 : GEN_HTTP_ERR_TOO_LARGE;
}

/* An answer over the family's bound is refused as it arrives: no
 * estimate, a failure of the family (logged, counted), counted in
 * api_answers_too_large; the same answer outside the family is taken
 * (MaxResponseSize). */
DEF_TEST(an_answer_over_the_bound_is_refused) {
  gen_client_t client;
  fake_client_init(&client, "genesys_realtime", 0);
  http_perform = padded_estimate;
  mock_log_reset();
  gen_entity_set_t set = {0};
  gen_live_t l;
  table_of(&l, &set, 1);
  waiting(&l, 0, GEN_MEDIA_VOICE, 2);
  gen_ewt_t *e = ewt_on();
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  EXPECT_EQ_INT(1, (int)gen_ewt_run(e, &client, &lock, &set, &l, S(1000)));
  OK(!l.state[0].media[GEN_MEDIA_VOICE]->ewt.have);
  OK(mock_log_contains("estimated wait time answer larger than 65536 bytes"));
  EXPECT_EQ_INT(1, (int)atomic_load(&client.stats.too_large));
  mock_values_reset();
  gen_ewt_dispatch_stats(e, "acme", "genesys_realtime");
  EXPECT_EQ_INT(1, (int)mock_find("self", "ewt_failures", NULL)->value.derive);
  gen_http_response_t resp;
  CHECK_ZERO(gen_http_request(client.http, "GET", "/x", NULL, NULL, &resp));
  EXPECT_EQ_INT((int)GEN_KIB(64) + 1, (int)resp.body_len);
  gen_http_response_reset(&resp);
  read_done(e, &l, &set, &client);
  return 0;
}

DEF_TEST(configuration_keys) {
  gen_org_t *org = mock_org("genesys_test");
  gen_ewt_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_ewt_keys, &c);
  OK(!c.on);
  EXPECT_EQ_INT(30, (int)CDTIME_T_TO_TIME_T(c.every));
  EXPECT_EQ_INT(60, (int)c.per_minute);
  oconfig_item_t *ci = mock_ci_num("EstimatedWaitTimeRequests", 301);
  EXPECT_EQ_INT(-ERANGE, gen_config_table_key(org, ci, &gen_ewt_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_num("EstimatedWaitTimeRequests", 300);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_ewt_keys, &c));
  EXPECT_EQ_INT(300, (int)c.per_minute);
  mock_ci_free(ci);
  ci = mock_ci_num("EstimatedWaitTimeEvery", 0);
  EXPECT_EQ_INT(-ERANGE, gen_config_table_key(org, ci, &gen_ewt_keys, &c));
  mock_ci_free(ci);
  ci = mock_ci_bool("EstimatedWaitTime", true);
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &gen_ewt_keys, &c));
  OK(c.on);
  mock_ci_free(ci);
  gen_org_free(org);
  return 0;
}

int main(void) {
  RUN_TEST(answer_forms);
  RUN_TEST(unknown_formula);
  RUN_TEST(malformed_answers);
  RUN_TEST(path_media);
  RUN_TEST(longest_unasked_first_within_budget);
  RUN_TEST(only_pairs_with_conversations_waiting);
  RUN_TEST(sliding_minute);
  RUN_TEST(a_read_against_the_api);
  RUN_TEST(an_id_unusable_in_a_path_is_never_asked);
  RUN_TEST(three_of_5000_queues_waiting_over_cycles);
  RUN_TEST(an_answer_over_the_bound_is_refused);
  RUN_TEST(configuration_keys);
  END_TEST;
}
