/* SPDX-License-Identifier: MIT */
/* Unit tests: the entity set (ids kept once, found by id, compared), how
 * an entity is named in values, and what a listing keeps (its paging is
 * tested in test_members and through the plugins). */
#include "fake_client.h"
#include "gen_auth.c"
#include "gen_entity.c"
#include "gen_http.c"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <stdio.h>
#include <string.h>

DEF_TEST(set_add_find_same) {
  gen_entity_set_t a = {0}, b = {0};
  EXPECT_EQ_INT(0, gen_entity_add(&a, "q-1", "Sales", "div-1"));
  EXPECT_EQ_INT(1, gen_entity_add(&a, "q-2", NULL, NULL));
  EXPECT_EQ_INT(0, gen_entity_add(&a, "q-1", "Other", NULL)); /* first kept */
  EXPECT_EQ_STR("Sales", a.items[0].name);
  EXPECT_EQ_STR("q-2", a.items[1].name); /* no name: the id */
  EXPECT_EQ_INT(1, gen_entity_find(&a, "q-2"));
  EXPECT_EQ_INT(-1, gen_entity_find(&a, "q-3"));
  gen_entity_add(&b, "q-2", NULL, NULL);
  gen_entity_add(&b, "q-1", NULL, NULL);
  OK(!gen_entity_set_same(&a, &b)); /* same ids, not in the same order */
  gen_entity_set_free(&b);
  gen_entity_add(&b, "q-1", "Renamed", NULL);
  gen_entity_add(&b, "q-2", NULL, NULL);
  OK(gen_entity_set_same(&a, &b));
  gen_entity_set_free(&a);
  gen_entity_set_free(&b);
  EXPECT_EQ_INT(0, (int)a.count);
  return 0;
}

/* 50,000 users' layout: found by id past many growths of the table, a
 * division kept once (up to a few distinct ones, then copied), items at
 * their exact size once trimmed or replaced, and adds after that. */
DEF_TEST(large_set) {
  gen_entity_set_t set = {0}, fresh = {0};
  enum { N = 20000 };
  char id[32], name[32], div[32];
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof(id), "user-%08d", i);
    snprintf(name, sizeof(name), "Agent %d", i);
    snprintf(div, sizeof(div), "div-%d", i % 100);
    EXPECT_EQ_INT(i, (int)gen_entity_add(&set, id, name, div));
  }
  EXPECT_EQ_INT(N, (int)set.count);
  EXPECT_EQ_INT(5, (int)gen_entity_add(&set, "user-00000005", "X", NULL));
  EXPECT_EQ_INT(N, (int)set.count);
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof(id), "user-%08d", i);
    if (gen_entity_find(&set, id) != i)
      return -1;
    snprintf(id, sizeof(id), "user-%08d", N + i);
    if (gen_entity_find(&set, id) != -1)
      return -1;
  }
  EXPECT_EQ_INT(-1, gen_entity_find(&set, NULL));
  EXPECT_EQ_INT(-1, gen_entity_find(&set, ""));
  EXPECT_EQ_STR("Agent 12345", set.items[12345].name);
  EXPECT_EQ_STR("div-45", set.items[12345].division_id);
  /* The first divisions are one copy each; the ones past them are
   * copied, and equal. */
  OK(set.items[12345].division_id == set.items[45].division_id);
  OK(set.items[12399].division_id != set.items[99].division_id);
  EXPECT_EQ_STR(set.items[99].division_id, set.items[12399].division_id);
  OK(set.capacity > set.count);
  gen_entity_set_trim(&set);
  EXPECT_EQ_INT(N, (int)set.capacity);
  EXPECT_EQ_INT(N, (int)gen_entity_add(&set, "late", NULL, "div-7"));
  OK(set.items[N].division_id == set.items[7].division_id);
  EXPECT_EQ_INT(N, (int)gen_entity_find(&set, "late"));
  EXPECT_EQ_INT(7, (int)gen_entity_find(&set, "user-00000007"));
  gen_entity_set_replace(&fresh, &set, true);
  EXPECT_EQ_INT(N + 1, (int)fresh.capacity);
  EXPECT_EQ_INT(0, (int)set.count);
  EXPECT_EQ_INT(N, (int)gen_entity_find(&fresh, "late"));
  EXPECT_EQ_INT(-1, gen_entity_find(&set, "late"));
  gen_entity_set_free(&fresh);
  /* An empty set trims to nothing. */
  gen_entity_add(&set, "a", NULL, NULL);
  gen_entity_set_free(&set);
  gen_entity_set_trim(&set);
  OK(set.items == NULL);
  return 0;
}

DEF_TEST(label_by_name_or_id) {
  gen_org_t *org = gen_org_create("genesys_test", "acme");
  gen_entity_set_t set = {0};
  gen_entity_add(&set, "f-1", "SalesIvr", NULL);
  org->instance_from = GEN_INSTANCE_FROM_NAME;
  EXPECT_EQ_STR("SalesIvr", gen_entity_label(org, &set, "f-1", "Given"));
  EXPECT_EQ_STR("Given", gen_entity_label(org, &set, "f-2", "Given"));
  EXPECT_EQ_STR("f-2", gen_entity_label(org, &set, "f-2", ""));
  EXPECT_EQ_STR("f-2", gen_entity_label(org, &set, "f-2", NULL));
  org->instance_from = GEN_INSTANCE_FROM_ID;
  EXPECT_EQ_STR("f-1", gen_entity_label(org, &set, "f-1", "Given"));
  EXPECT_EQ_STR("f-2", gen_entity_label(org, &set, "f-2", "Given"));
  EXPECT_EQ_STR("f-1", gen_entity_instance(org, &set.items[0]));
  org->instance_from = GEN_INSTANCE_FROM_NAME;
  EXPECT_EQ_STR("SalesIvr", gen_entity_instance(org, &set.items[0]));
  gen_entity_set_free(&set);
  gen_org_free(org);
  return 0;
}

/* A listing replaces the last one only when it succeeded. */
DEF_TEST(replace_when_listed) {
  gen_entity_set_t kept = {0}, fresh = {0};
  gen_entity_add(&kept, "o-1", "Old", NULL);
  gen_entity_add(&fresh, "o-1", "New", NULL);
  gen_entity_set_replace(&kept, &fresh, false);
  EXPECT_EQ_STR("Old", kept.items[0].name);
  EXPECT_EQ_INT(0, (int)fresh.count);
  gen_entity_add(&fresh, "o-1", "New", NULL);
  gen_entity_add(&fresh, "o-2", NULL, NULL);
  gen_entity_set_replace(&kept, &fresh, true);
  EXPECT_EQ_STR("New", kept.items[0].name);
  EXPECT_EQ_INT(1, gen_entity_find(&kept, "o-2"));
  EXPECT_EQ_INT(0, (int)fresh.count);
  OK(fresh.items == NULL);
  gen_entity_set_free(&kept);
  return 0;
}

DEF_TEST(topics_of_a_set) {
  gen_entity_set_t set = {0};
  char *topics[3] = {NULL};
  EXPECT_EQ_INT(0, gen_entity_topics(&set, "v2.flows.", ".metrics", topics));
  gen_entity_add(&set, "f-1", NULL, NULL);
  gen_entity_add(&set, "f-2", NULL, NULL);
  EXPECT_EQ_INT(2, gen_entity_topics(&set, "v2.flows.", ".metrics", topics));
  EXPECT_EQ_STR("v2.flows.f-1.metrics", topics[0]);
  EXPECT_EQ_STR("v2.flows.f-2.metrics", topics[1]);
  OK(topics[2] == NULL);
  free(topics[0]);
  free(topics[1]);
  gen_entity_set_free(&set);
  return 0;
}

/* Batches: in order, at most per each, all in one with 0, stopped when
 * the callback says so. */
typedef struct {
  size_t calls, ids, stop_after;
  char first[8][8];
} batches_seen_t;

static bool seen(void *ud, const char *const *ids, size_t n) {
  batches_seen_t *b = ud;
  snprintf(b->first[b->calls], sizeof(b->first[0]), "%s", ids[0]);
  b->calls++;
  b->ids += n;
  return b->calls != b->stop_after;
}

DEF_TEST(batches) {
  gen_entity_set_t set = {0};
  char id[8];
  for (int i = 0; i < 7; i++) {
    snprintf(id, sizeof(id), "e%d", i);
    gen_entity_add(&set, id, NULL, NULL);
  }
  batches_seen_t b = {0};
  CHECK_ZERO(gen_entity_batches(&set, 3, seen, &b));
  EXPECT_EQ_INT(3, (int)b.calls);
  EXPECT_EQ_INT(7, (int)b.ids);
  EXPECT_EQ_STR("e3", b.first[1]);
  EXPECT_EQ_STR("e6", b.first[2]);
  b = (batches_seen_t){0};
  CHECK_ZERO(gen_entity_batches(&set, 0, seen, &b));
  EXPECT_EQ_INT(1, (int)b.calls);
  EXPECT_EQ_INT(7, (int)b.ids);
  b = (batches_seen_t){.stop_after = 1};
  CHECK_ZERO(gen_entity_batches(&set, 2, seen, &b));
  EXPECT_EQ_INT(1, (int)b.calls);
  gen_entity_set_free(&set);
  b = (batches_seen_t){0};
  CHECK_ZERO(gen_entity_batches(&set, 2, seen, &b));
  EXPECT_EQ_INT(0, (int)b.calls);
  return 0;
}

/* Names that would be one series for two entities, or one of the plugins'
 * own series, become "<name>-<id>"; every entity listed counts, selected
 * or not (another agent's share, a name filter). */
DEF_TEST(names_one_series_each) {
  static const struct {
    const char *id, *name;
    bool selected;
  } listed[] = {
      {"q1", "Sales EN", true}, {"q2", "Sales/EN", true}, /* both Sales_EN */
      {"q3", "Support", true},  {"q4", "self", true},
      {"q5", "Billing", false}, {"q6", "Billing", true},
      {"q7", "Self", true}, /* not the plugins' "self" */
      {"q8", NULL, true},   /* named by its id */
      {"q9", "org", true},
  };
  gen_entity_names_t names = {0};
  gen_entity_set_t set = {0};
  for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++) {
    EXPECT_EQ_INT(0,
                  gen_entity_names_note(&names, listed[i].id, listed[i].name));
    if (listed[i].selected)
      OK(gen_entity_add(&set, listed[i].id, listed[i].name, NULL) >= 0);
  }
  EXPECT_EQ_INT(5, gen_entity_names_apply(&names, &set));
  EXPECT_EQ_STR("Sales EN-q1", set.items[0].name);
  EXPECT_EQ_STR("Sales/EN-q2", set.items[1].name);
  EXPECT_EQ_STR("Support", set.items[2].name);
  EXPECT_EQ_STR("self-q4", set.items[3].name);
  EXPECT_EQ_STR("Billing-q6", set.items[4].name);
  EXPECT_EQ_STR("Self", set.items[5].name);
  EXPECT_EQ_STR("q8", set.items[6].name);
  EXPECT_EQ_STR("org-q9", set.items[7].name);
  gen_entity_set_free(&set);
  gen_entity_names_free(&names);

  /* Names cut to collectd's 128 bytes: equal in the first 127 collide. */
  char a[200], b[200];
  memset(a, 'x', 150);
  a[150] = '\0';
  memcpy(b, a, sizeof(a));
  b[140] = 'y';
  EXPECT_EQ_INT(0, gen_entity_names_note(&names, "f1", a));
  EXPECT_EQ_INT(0, gen_entity_names_note(&names, "f2", b));
  gen_entity_add(&set, "f1", a, NULL);
  gen_entity_add(&set, "f2", b, NULL);
  EXPECT_EQ_INT(2, gen_entity_names_apply(&names, &set));
  /* the ids survive the cut: two series again */
  EXPECT_EQ_INT(127, strlen(set.items[0].name));
  OK(strcmp(set.items[0].name + 124, "-f1") == 0);
  OK(strcmp(set.items[1].name + 124, "-f2") == 0);
  /* a name cut inside a UTF-8 character loses the whole character */
  gen_entity_set_free(&set);
  gen_entity_names_free(&names);
  memset(a, 'x', 123);
  memcpy(a + 123, "\xc3\xa9\xc3\xa9", 5); /* "éé": bytes 123-126 */
  EXPECT_EQ_INT(0, gen_entity_names_note(&names, "f1", a));
  EXPECT_EQ_INT(0, gen_entity_names_note(&names, "f2", a));
  gen_entity_add(&set, "f1", a, NULL);
  EXPECT_EQ_INT(1, gen_entity_names_apply(&names, &set));
  EXPECT_EQ_INT(126, strlen(set.items[0].name));
  OK(strcmp(set.items[0].name + 123, "-f1") == 0);
  gen_entity_set_free(&set);
  gen_entity_names_free(&names);
  return 0;
}

/* One page of three entities, two of them in a division. */
static int one_page(gen_http_t *http, const char *method, const char *url,
                    const char *body, struct curl_slist *headers,
                    gen_http_response_t *resp) {
  (void)http, (void)body, (void)headers;
  OK(strcmp(method, "GET") == 0 && strstr(url, "/api/v2/users?") != NULL);
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->status = 200;
  resp->body =
      strdup("{\"entities\":[{\"id\":\"u-1\",\"name\":\"Ann\",\"division\":"
             "{\"id\":\"d-1\"}},{\"id\":\"u-2\",\"name\":\"Bob\",\"division\":"
             "{\"id\":\"d-1\"}},{\"id\":\"u-3\"}],\"pageCount\":1}");
  resp->body_len = strlen(resp->body);
  return 0;
}

/* A page one byte over the listing bound (8 MiB), fed as curl would. */
static int oversized_page(gen_http_t *http, const char *method, const char *url,
                          const char *body, struct curl_slist *headers,
                          gen_http_response_t *resp) {
  (void)method, (void)url, (void)body, (void)headers;
  size_t len = GEN_MIB(8) + 1;
  char *text = malloc(len);
  if (text == NULL)
    return GEN_HTTP_ERR_TRANSPORT;
  memset(text, ' ', len);
  memcpy(text, "{\"entities\":[]", 14);
  text[len - 1] = '}';
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->status = 200;
  http->current = resp;
  size_t took = 0;
  for (size_t off = 0; off < len && took == off;) {
    size_t n = len - off < 65536 ? len - off : 65536;
    took += on_body(text + off, 1, n, http);
    off += n;
  }
  http->current = NULL;
  free(text);
  return took == len ? 0 : GEN_HTTP_ERR_TOO_LARGE;
}

/* Every listing's page has the listing helper's bound (8 MiB): a page
 * over it is refused, named and counted, the set left empty; the same
 * answer outside a listing is taken (MaxResponseSize, 64 MiB). */
DEF_TEST(listing_page_over_its_bound_refused) {
  gen_client_t c;
  fake_client_init(&c, "genesys_test", 0);
  http_perform = oversized_page;
  gen_entity_set_t set = {0};
  char err[256] = "";
  EXPECT_EQ_INT(GEN_HTTP_ERR_TOO_LARGE,
                gen_entity_list(c.http, c.org, "/api/v2/routing/queues", NULL,
                                &set, err, sizeof(err)));
  OK(strstr(err, "listing page answer larger than 8388608 bytes") != NULL);
  EXPECT_EQ_INT(0, (int)set.count);
  EXPECT_EQ_INT(1, (int)atomic_load(&c.stats.too_large));
  gen_http_response_t resp;
  CHECK_ZERO(gen_http_request(c.http, "GET", "/api/v2/x", NULL, NULL, &resp));
  EXPECT_EQ_INT((int)(GEN_MIB(8) + 1), (int)resp.body_len);
  gen_http_response_reset(&resp);
  gen_entity_set_free(&set);
  http_perform = http_perform_curl;
  fake_client_free(&c);
  return 0;
}

/* A listing keeps names and divisions; one for ids alone keeps neither
 * (each name is its id), and the same entities in the same order. */
DEF_TEST(listing_ids_alone) {
  gen_org_t *org = gen_org_create("genesys_test", "acme");
  org->api_base_url = strdup("https://api.example.test");
  gen_stats_t stats;
  gen_stats_init(&stats);
  gen_http_t *http = gen_http_create(org, &stats, NULL);
  http_perform = one_page;
  gen_entity_set_t named = {0}, ids = {0};
  char err[256] = "";
  EXPECT_EQ_INT(0, gen_entity_list(http, org, "/api/v2/users", NULL, &named,
                                   err, sizeof(err)));
  EXPECT_EQ_INT(0, gen_entity_list_ids(http, org, "/api/v2/users", &ids, err,
                                       sizeof(err)));
  EXPECT_EQ_INT(3, (int)named.count);
  EXPECT_EQ_STR("Ann", named.items[0].name);
  EXPECT_EQ_STR("d-1", named.items[1].division_id);
  OK(gen_entity_set_same(&named, &ids));
  for (size_t i = 0; i < ids.count; i++) {
    OK(ids.items[i].name == ids.items[i].id);
    OK(ids.items[i].division_id == NULL);
  }
  EXPECT_EQ_INT(1, (int)gen_entity_find(&ids, "u-2"));
  gen_entity_set_free(&named);
  gen_entity_set_free(&ids);
  http_perform = http_perform_curl;
  gen_http_free(http);
  gen_org_free(org);
  return 0;
}

int main(void) {
  RUN_TEST(set_add_find_same);
  RUN_TEST(listing_ids_alone);
  RUN_TEST(listing_page_over_its_bound_refused);
  RUN_TEST(large_set);
  RUN_TEST(label_by_name_or_id);
  RUN_TEST(replace_when_listed);
  RUN_TEST(topics_of_a_set);
  RUN_TEST(batches);
  RUN_TEST(names_one_series_each);
  END_TEST;
}
