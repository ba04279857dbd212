/* SPDX-License-Identifier: MIT */
/* Unit tests: the entity set (ids kept once, found by id, compared) and
 * how an entity is named in values. Listings are tested in test_members
 * and through the plugins. */
#include "gen_entity.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

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

int main(void) {
  RUN_TEST(set_add_find_same);
  RUN_TEST(label_by_name_or_id);
  RUN_TEST(replace_when_listed);
  RUN_TEST(topics_of_a_set);
  RUN_TEST(batches);
  END_TEST;
}
