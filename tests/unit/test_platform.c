/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for gen_platform: edges and trunks of the listings, the
 * metrics documents in each form, the status page levels; malformed
 * documents, missing fields and unknown status strings. And
 * genesys_platform's configuration: its keys, their refusals with the key,
 * value and reason, registration.
 */
#include "gen_platform.h"
#include "plugin_mock.h"

#include "../../plugins/genesys_platform.c"

#include "collectd/core/testing.h"
#include "plugin_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *parse(const char *text) {
  json_object *doc = json_tokener_parse(text);
  if (doc == NULL) { /* a test's own document: a bug in the test */
    fprintf(stderr, "bad test document: %s\n", text);
    abort();
  }
  return doc;
}

/* What the readers put, as "id type instance value" lines. */
static char got[8192];
static void put(void *ud, const char *id, const char *type,
                const char *type_instance, double value) {
  (void)ud;
  size_t n = strlen(got);
  snprintf(got + n, sizeof(got) - n, "%s %s %s %.1f\n", id, type,
           type_instance ? type_instance : "-", value);
}

DEF_TEST(edge_listing) {
  json_object *e =
      parse("{\"id\":\"e1\",\"name\":\"Edge 1\","
            "\"onlineStatus\":\"ONLINE\",\"statusCode\":\"ACTIVE\"}");
  gen_pf_edge_t edge;
  OK(gen_pf_edge_read(e, &edge) == 0);
  OK(strcmp(edge.id, "e1") == 0 && strcmp(edge.name, "Edge 1") == 0);
  OK(edge.online == 1 && edge.active == 1);
  OK(edge.deployment == NULL);
  json_object_put(e);

  e = parse("{\"id\":\"e2\",\"onlineStatus\":\"OFFLINE\","
            "\"statusCode\":\"RMA\",\"edgeDeploymentType\":\"CDM\"}");
  OK(gen_pf_edge_read(e, &edge) == 0);
  OK(edge.online == 0 && edge.active == 0 && edge.name == NULL);
  EXPECT_EQ_STR("CDM", edge.deployment);
  json_object_put(e);

  /* unknown online status, missing code, wrong types */
  e = parse("{\"id\":\"e3\",\"onlineStatus\":\"SLEEPING\"}");
  OK(gen_pf_edge_read(e, &edge) == 0);
  OK(edge.online == -1 && edge.active == -1);
  json_object_put(e);
  e = parse("{\"id\":\"e4\",\"onlineStatus\":1,\"statusCode\":[]}");
  OK(gen_pf_edge_read(e, &edge) == 0);
  OK(edge.online == -1 && edge.active == -1);
  json_object_put(e);

  /* no id: refused */
  e = parse("{\"name\":\"x\",\"onlineStatus\":\"ONLINE\"}");
  OK(gen_pf_edge_read(e, &edge) == -EINVAL);
  json_object_put(e);
  e = parse("{\"id\":\"\"}");
  OK(gen_pf_edge_read(e, &edge) == -EINVAL);
  json_object_put(e);
  e = parse("[1,2]");
  OK(gen_pf_edge_read(e, &edge) == -EINVAL);
  json_object_put(e);
  /* ids that would break the metrics query string */
  static const char *const bad_ids[] = {
      "{\"id\":\"a,b\"}", "{\"id\":\"a&edgeIds=b\"}", "{\"id\":\"a b\"}",
      "{\"id\":\"a#\"}",
      "{\"id\":\"0123456789012345678901234567890123456789012345678901234567890"
      "12345\"}"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad_ids); i++) {
    e = parse(bad_ids[i]);
    OK(gen_pf_edge_read(e, &edge) == -EINVAL);
    gen_pf_trunk_t t;
    OK(gen_pf_trunk_read(e, &t) == -EINVAL);
    json_object_put(e);
  }
  e = parse("{\"id\":\"9f4f00ce-8564-4a47-881c-818675df2cbb\"}");
  OK(gen_pf_edge_read(e, &edge) == 0);
  json_object_put(e);
  return 0;
}

DEF_TEST(trunk_listing) {
  json_object *e =
      parse("{\"id\":\"t1\",\"name\":\"Carrier\",\"inService\":true,"
            "\"enabled\":false,\"connectedStatus\":{\"connected\":true}}");
  gen_pf_trunk_t t;
  OK(gen_pf_trunk_read(e, &t) == 0);
  OK(t.connected == 1 && t.in_service == 1 && t.enabled == 0);
  OK(t.type == NULL);
  json_object_put(e);
  e = parse("{\"id\":\"t3\",\"trunkType\":\"PHONE\"}");
  OK(gen_pf_trunk_read(e, &t) == 0);
  EXPECT_EQ_STR("PHONE", t.type);
  json_object_put(e);
  e = parse("{\"id\":\"t2\",\"inService\":\"yes\","
            "\"connectedStatus\":{\"connected\":null}}");
  OK(gen_pf_trunk_read(e, &t) == 0);
  OK(t.connected == -1 && t.in_service == -1 && t.enabled == -1);
  json_object_put(e);
  e = parse("{\"connectedStatus\":{\"connected\":true}}");
  OK(gen_pf_trunk_read(e, &t) == -EINVAL);
  json_object_put(e);
  return 0;
}

static const char *const edge_metrics =
    "{\"edge\":{\"id\":\"e1\"},\"upTimeMsec\":90000,"
    "\"processors\":[{\"cpuId\":\"0\",\"activeTimePct\":99},"
    "{\"cpuId\":\"total\",\"activeTimePct\":12.5,\"idleTimePct\":87.5}],"
    "\"memory\":[{\"type\":\"physical\",\"totalBytes\":100,"
    "\"availableBytes\":40}],"
    "\"disks\":[{\"partitionName\":\"C:\\\\\",\"totalBytes\":1000,"
    "\"availableBytes\":250}]}";

DEF_TEST(edge_metrics_forms) {
  const char *want = "e1 edge_cpu_active - 12.5\n"
                     "e1 edge_memory_used physical 60.0\n"
                     "e1 edge_memory_available physical 40.0\n"
                     "e1 edge_disk_used C:\\ 750.0\n"
                     "e1 edge_disk_available C:\\ 250.0\n"
                     "e1 edge_uptime - 90.0\n";
  char text[2048];
  size_t skipped = 99;
  /* an array (the documented answer), {"entities": [...]}, one alone */
  /* an array (the documented answer), {"entities": [...]}, one alone */
  for (size_t i = 0; i < 3; i++) {
    if (i == 0)
      snprintf(text, sizeof(text), "[%s]", edge_metrics);
    else if (i == 1)
      snprintf(text, sizeof(text), "{\"entities\":[%s]}", edge_metrics);
    else
      snprintf(text, sizeof(text), "%s", edge_metrics);
    json_object *doc = parse(text);
    got[0] = '\0';
    OK(gen_pf_edge_metrics_read(doc, NULL, put, NULL, &skipped) == 0);
    OK(skipped == 0);
    OK(strcmp(got, want) == 0);
    json_object_put(doc);
  }
  /* idle only: 100 - idle */
  json_object *doc =
      parse("[{\"edge\":{\"id\":\"e2\"},\"processors\":[{\"cpuId\":\"TOTAL\","
            "\"idleTimePct\":70}]}]");
  got[0] = '\0';
  OK(gen_pf_edge_metrics_read(doc, NULL, put, NULL, &skipped) == 0);
  OK(strcmp(got, "e2 edge_cpu_active - 30.0\n") == 0 && skipped == 0);
  json_object_put(doc);
  return 0;
}

DEF_TEST(edge_metrics_malformed) {
  size_t skipped = 0;
  /* not a metrics document at all */
  const char *bad[] = {"{}", "\"x\"", "42", "{\"entities\":{}}"};
  for (size_t i = 0; i < 4; i++) {
    json_object *doc = parse(bad[i]);
    OK(gen_pf_edge_metrics_read(doc, NULL, put, NULL, &skipped) == -EINVAL);
    json_object_put(doc);
  }
  /* entries without an edge id, impossible values, missing bytes: skipped
   * and counted, the rest kept */
  json_object *doc =
      parse("[{\"upTimeMsec\":5},{\"edge\":{}},{\"edge\":{\"id\":7}},"
            "{\"edge\":{\"id\":\"e1\"},\"upTimeMsec\":-1,"
            "\"processors\":[{\"cpuId\":\"total\",\"activeTimePct\":140}],"
            "\"memory\":[{\"type\":\"physical\",\"totalBytes\":10,"
            "\"availableBytes\":20},{\"totalBytes\":8,\"availableBytes\":2},"
            "{\"type\":\"virtual\"}],"
            "\"disks\":[{\"partitionName\":\"/\",\"totalBytes\":\"big\","
            "\"availableBytes\":1}]}]");
  got[0] = '\0';
  OK(gen_pf_edge_metrics_read(doc, NULL, put, NULL, &skipped) == 0);
  OK(skipped == 3 + 1 + 2 + 1);
  OK(strcmp(got, "e1 edge_memory_used memory 6.0\n"
                 "e1 edge_memory_available memory 2.0\n") == 0);
  json_object_put(doc);
  /* an empty list: nothing, no error */
  doc = parse("[]");
  got[0] = '\0';
  OK(gen_pf_edge_metrics_read(doc, NULL, put, NULL, &skipped) == 0);
  OK(got[0] == '\0' && skipped == 0);
  json_object_put(doc);
  return 0;
}

DEF_TEST(trunk_metrics) {
  size_t skipped = 9;
  json_object *doc =
      parse("[{\"trunk\":{\"id\":\"t1\"},\"calls\":{\"inboundCallCount\":3,"
            "\"outboundCallCount\":0},\"qos\":{\"mismatchCount\":0}},"
            "{\"trunk\":{\"id\":\"t2\"}},"
            "{\"trunk\":{\"id\":\"t3\"},\"calls\":{\"inboundCallCount\":-1,"
            "\"outboundCallCount\":2.5}},"
            "{\"calls\":{\"inboundCallCount\":1}}]");
  got[0] = '\0';
  OK(gen_pf_trunk_metrics_read(doc, NULL, put, NULL, &skipped) == 0);
  OK(strcmp(got, "t1 trunk_calls inbound 3.0\n"
                 "t1 trunk_calls outbound 0.0\n") == 0);
  OK(skipped == 1 + 2 + 1);
  json_object_put(doc);
  doc = parse("{\"trunk\":{\"id\":\"t9\"},\"calls\":{\"inboundCallCount\":1,"
              "\"outboundCallCount\":4}}");
  got[0] = '\0';
  OK(gen_pf_trunk_metrics_read(doc, NULL, put, NULL, &skipped) == 0);
  OK(strcmp(got, "t9 trunk_calls inbound 1.0\n"
                 "t9 trunk_calls outbound 4.0\n") == 0);
  json_object_put(doc);
  return 0;
}

/* Entries older than max_age_ms by eventTime are not current: counted
 * stale, not put; without eventTime an entry is current; an unreadable one
 * is skipped. */
DEF_TEST(metrics_by_event_time) {
  int64_t now = 1764064800000; /* 2025-11-25T10:00:00Z */
  gen_pf_age_t age = {.now_ms = now, .max_age_ms = 120000};
  size_t skipped = 9;
  json_object *doc = parse("[{\"edge\":{\"id\":\"e1\"},\"eventTime\":"
                           "\"2025-11-25T09:59:00.000Z\",\"upTimeMsec\":1000},"
                           "{\"edge\":{\"id\":\"e2\"},\"eventTime\":"
                           "\"2025-11-25T07:00:00.000Z\",\"upTimeMsec\":2000},"
                           "{\"edge\":{\"id\":\"e3\"},\"upTimeMsec\":3000},"
                           "{\"edge\":{\"id\":\"e4\"},\"eventTime\":\"soon\","
                           "\"upTimeMsec\":4000}]");
  got[0] = '\0';
  OK(gen_pf_edge_metrics_read(doc, &age, put, NULL, &skipped) == 0);
  EXPECT_EQ_STR("e1 edge_uptime - 1.0\ne3 edge_uptime - 3.0\n", got);
  EXPECT_EQ_INT(1, (int)age.stale);
  EXPECT_EQ_INT(1, (int)skipped);
  json_object_put(doc);
  /* Trunks the same; exactly max_age_ms old is still current. */
  age.stale = 0;
  doc = parse("[{\"trunk\":{\"id\":\"t1\"},\"eventTime\":"
              "\"2025-11-25T09:58:00Z\",\"calls\":{\"inboundCallCount\":2,"
              "\"outboundCallCount\":1}},{\"trunk\":{\"id\":\"t2\"},"
              "\"eventTime\":\"2025-11-25T09:57:59.999Z\",\"calls\":{"
              "\"inboundCallCount\":5,\"outboundCallCount\":5}}]");
  got[0] = '\0';
  OK(gen_pf_trunk_metrics_read(doc, &age, put, NULL, &skipped) == 0);
  EXPECT_EQ_STR("t1 trunk_calls inbound 2.0\nt1 trunk_calls outbound 1.0\n",
                got);
  EXPECT_EQ_INT(1, (int)age.stale);
  json_object_put(doc);
  return 0;
}

/* The status page group of the org's region, from its domain or API URL. */
DEF_TEST(region_group) {
  EXPECT_EQ_STR("EMEA (Frankfurt)", gen_pf_region_group("mypurecloud.de"));
  EXPECT_EQ_STR("EMEA (Frankfurt)",
                gen_pf_region_group("https://api.mypurecloud.de"));
  EXPECT_EQ_STR("Americas (US East)",
                gen_pf_region_group("https://api.mypurecloud.com/"));
  EXPECT_EQ_STR("Asia Pacific (Sydney)",
                gen_pf_region_group("https://api.mypurecloud.com.au:443"));
  /* every region of the SDKs has its group (issue 47) */
  EXPECT_EQ_STR("EMEA (Zurich)", gen_pf_region_group("euc2.pure.cloud"));
  EXPECT_EQ_STR("* (UAE)", gen_pf_region_group("https://api.mec1.pure.cloud"));
  EXPECT_EQ_STR("Americas (Mexico*)", gen_pf_region_group("mxc1.pure.cloud"));
  EXPECT_EQ_STR("Asia Pacific (Osaka)",
                gen_pf_region_group("apne3.pure.cloud"));
  OK(gen_pf_region_group("apse1.pure.cloud") != NULL);
  OK(gen_pf_region_group("https://api.edee1.eusc-pure.cloud") != NULL);
  OK(gen_pf_region_group("https://api.mypurecloud.co") == NULL);
  OK(gen_pf_region_group("http://127.0.0.1:8080") == NULL);
  OK(gen_pf_region_group(NULL) == NULL);
  return 0;
}

/* A listed trunk of another type than TrunkType is not taken, whatever
 * page it came on; one without trunkType is; with TrunkType all, every
 * one. */
DEF_TEST(trunk_of_another_type_dropped) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  gen_client_t client = {.org = org};
  gp_instance_t inst = {.client = &client};
  inst.config.trunk_type = "EXTERNAL";
  static const char *const trunks[] = {
      "{\"id\":\"t1\",\"name\":\"A\",\"trunkType\":\"EXTERNAL\"}",
      "{\"id\":\"t2\",\"name\":\"B\",\"trunkType\":\"PHONE\"}",
      "{\"id\":\"t3\",\"name\":\"C\"}",
      "{\"id\":\"t4\",\"name\":\"D\",\"trunkType\":\"external\"}",
  };
  for (int all = 0; all < 2; all++) {
    if (all)
      inst.config.trunk_type = NULL;
    gp_listing_t l = {.inst = &inst, .filter = &inst.config.trunks_filter};
    for (size_t i = 0; i < STATIC_ARRAY_SIZE(trunks); i++) {
      json_object *e = parse(trunks[i]);
      CHECK_ZERO(gp_take(e, &l));
      json_object_put(e);
    }
    EXPECT_EQ_INT(all ? 4 : 3, (int)l.fresh.set.count);
    EXPECT_EQ_INT(all ? 0 : 1, (int)l.other_type);
    OK(all || gen_entity_find(&l.fresh.set, "t2") < 0);
    gen_entity_names_free(&l.names);
    gp_list_free(&l.fresh);
  }
  gen_org_free(org);
  return 0;
}

static char components[2048];
static void component(void *ud, const char *group, const char *name, int level);

/* A word Genesys adds in each enum field the family reads: an edge's
 * onlineStatus and statusCode, a status page component's status. Each is
 * counted in unknown_values and logged once; the rest of the answer is
 * taken (the edge with what it did say, the other components). */
DEF_TEST(unknown_words_take_the_rest) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  gen_client_t client = {.org = org};
  gp_instance_t inst = {.client = &client};
  inst.who = (gen_log_org_t){PLUGIN_NAME, org->name};
  inst.unknown = (gen_unknown_sink_t){&client.stats, &inst.who, "status_page"};
  static const char *const edges[] = {
      "{\"id\":\"e1\",\"name\":\"A\",\"onlineStatus\":\"HIBERNATING\","
      "\"statusCode\":\"ACTIVE\"}",
      "{\"id\":\"e2\",\"name\":\"B\",\"onlineStatus\":\"ONLINE\","
      "\"statusCode\":\"MIGRATING\"}",
      "{\"id\":\"e3\",\"name\":\"C\",\"onlineStatus\":\"OFFLINE\","
      "\"statusCode\":\"RMA\"}",
  };
  mock_log_reset();
  gp_listing_t l = {
      .inst = &inst, .edges = true, .filter = &inst.config.edges_filter};
  for (int round = 0; round < 2; round++)
    for (size_t i = 0; i < STATIC_ARRAY_SIZE(edges); i++) {
      json_object *e = parse(edges[i]);
      CHECK_ZERO(gp_take(e, &l));
      json_object_put(e);
    }
  EXPECT_EQ_INT(3, (int)l.fresh.set.count);
  EXPECT_EQ_INT(0, (int)l.skipped);
  gp_state_t *st = l.fresh.state;
  ssize_t e1 = gen_entity_find(&l.fresh.set, "e1");
  ssize_t e2 = gen_entity_find(&l.fresh.set, "e2");
  ssize_t e3 = gen_entity_find(&l.fresh.set, "e3");
  OK(e1 >= 0 && e2 >= 0 && e3 >= 0);
  OK(st[e1].v[0] == -1 && st[e1].v[1] == 1); /* not said online; active */
  OK(st[e2].v[0] == 1 && st[e2].v[1] == 0);  /* online; not ACTIVE */
  OK(st[e3].v[0] == 0 && st[e3].v[1] == 0);
  gen_entity_names_free(&l.names);
  gp_list_free(&l.fresh);

  json_object *doc =
      parse("{\"components\":["
            "{\"id\":\"c1\",\"name\":\"Voice\",\"status\":\"on_fire\"},"
            "{\"id\":\"c2\",\"name\":\"Web\",\"status\":\"operational\"},"
            "{\"id\":\"c3\",\"name\":\"Chat\",\"status\":\"on_fire\"},"
            "{\"id\":\"c4\",\"name\":\"SMS\",\"status\":\"major_outage\"}"
            "]}");
  size_t unknown, skipped;
  components[0] = '\0';
  OK(gen_pf_status_read(doc, component, NULL, &inst.unknown, &unknown,
                        &skipped) == 0);
  EXPECT_EQ_STR("Web=0\nSMS=4\n", components);
  EXPECT_EQ_INT(2, (int)unknown);
  json_object_put(doc);

  EXPECT_EQ_INT(1, (int)mock_unknown_lines("onlineStatus", "HIBERNATING"));
  EXPECT_EQ_INT(1, (int)mock_unknown_lines("statusCode", "MIGRATING"));
  EXPECT_EQ_INT(1, (int)mock_unknown_lines("status", "on_fire"));
  EXPECT_EQ_INT(0, (int)mock_unknown_lines("statusCode", "RMA"));
  mock_values_reset();
  gen_stats_dispatch(&client.stats, "acme", PLUGIN_NAME);
  EXPECT_EQ_INT(2, (int)mock_unknown_values("edges-onlineStatus"));
  EXPECT_EQ_INT(2, (int)mock_unknown_values("edges-statusCode"));
  EXPECT_EQ_INT(2, (int)mock_unknown_values("status_page-status"));
  gen_org_free(org);
  return 0;
}

static void component(void *ud, const char *group, const char *name,
                      int level) {
  (void)ud;
  char label[256];
  gen_pf_component_label(group, name, label, sizeof(label));
  size_t n = strlen(components);
  snprintf(components + n, sizeof(components) - n, "%s=%d\n", label, level);
}

DEF_TEST(status_page) {
  OK(gen_pf_status_level("operational") == 0);
  OK(gen_pf_status_level("under_maintenance") == 1);
  OK(gen_pf_status_level("degraded_performance") == 2);
  OK(gen_pf_status_level("partial_outage") == 3);
  OK(gen_pf_status_level("major_outage") == 4);
  OK(gen_pf_status_level("Operational") == -1);
  OK(gen_pf_status_level("") == -1);
  OK(gen_pf_status_level(NULL) == -1);

  json_object *doc = parse(
      "{\"page\":{\"id\":\"p\"},\"components\":["
      "{\"id\":\"g1\",\"name\":\"EMEA (Dublin)\",\"status\":\"major_outage\","
      "\"group\":true},"
      "{\"id\":\"c1\",\"name\":\"Voice\",\"status\":\"partial_outage\","
      "\"group\":false,\"group_id\":\"g1\"},"
      "{\"id\":\"c2\",\"name\":\"Web\",\"status\":\"operational\","
      "\"group_id\":null},"
      "{\"id\":\"c3\",\"name\":\"Chat\",\"status\":\"on_fire\","
      "\"group_id\":\"g1\"},"
      "{\"id\":\"c4\",\"status\":\"operational\"},"
      "{\"id\":\"c5\",\"name\":\"API\",\"status\":3},"
      "{\"id\":\"c6\",\"name\":\"SMS\",\"status\":\"under_maintenance\","
      "\"group_id\":\"gone\"}]}");
  size_t unknown = 9, skipped = 9;
  components[0] = '\0';
  OK(gen_pf_status_read(doc, component, NULL, NULL, &unknown, &skipped) == 0);
  OK(strcmp(components, "EMEA (Dublin)-Voice=3\nWeb=0\nSMS=1\n") == 0);
  OK(unknown == 1 && skipped == 2);
  json_object_put(doc);

  /* A component without group_id is in the group that lists it. */
  doc = parse("{\"components\":["
              "{\"id\":\"g1\",\"name\":\"EMEA (Frankfurt)\",\"status\":"
              "\"operational\",\"group\":true,\"components\":[\"c1\"]},"
              "{\"id\":\"c1\",\"name\":\"Voice\",\"status\":\"major_outage\","
              "\"group\":false},"
              "{\"id\":\"c2\",\"name\":\"Login\",\"status\":\"operational\","
              "\"group\":false,\"group_id\":null}]}");
  components[0] = '\0';
  OK(gen_pf_status_read(doc, component, NULL, NULL, &unknown, &skipped) == 0);
  EXPECT_EQ_STR("EMEA (Frankfurt)-Voice=4\nLogin=0\n", components);
  json_object_put(doc);

  const char *bad[] = {"{}", "[]", "{\"components\":{}}", "\"x\""};
  for (size_t i = 0; i < 4; i++) {
    doc = parse(bad[i]);
    OK(gen_pf_status_read(doc, component, NULL, NULL, &unknown, &skipped) ==
       -EINVAL);
    json_object_put(doc);
  }
  return 0;
}

DEF_TEST(configuration_refuses_with_reasons) {
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "acme");
  gp_config_t *c = gen_plugin_config_new(&gp_plugin);
  OK(c->edges && c->trunks && c->status_page);
  OK(!c->cloud_media && c->n_groups == 0);
  EXPECT_EQ_STR("EXTERNAL", c->trunk_type);
  EXPECT_EQ_STR(GEN_PF_STATUS_URL, c->status_url);
  struct {
    oconfig_item_t *ci;
    int ok; /* 1 taken, 0 refused */
    const char *logged;
  } cases[] = {
      {mock_ci_str("TrunkType", "phone"), 1, NULL},
      {mock_ci_str("TrunkType", "all"), 1, NULL},
      {mock_ci_str("TrunkType", "SIP"), 0,
       "TrunkType \"SIP\": not a trunk type (EXTERNAL, PHONE, EDGE or all)"},
      {mock_ci_str("StatusPageURL", "ftp://status.example.test/x"), 0,
       "StatusPageURL \"ftp://status.example.test/x\""},
      {mock_ci_str("StatusPageURL", "http://status.example.test/x"), 0,
       "StatusPageURL \"http://status.example.test/x\""},
      {mock_ci_str("StatusPageURL", "http://127.0.0.1:8080/c.json"), 1, NULL},
      {mock_ci_str("StatusPage", "maybe"), 0, "StatusPage"},
      {mock_ci_bool("Edges", false), 1, NULL},
      {mock_ci_str("StatusComponent", "EMEA*"), 1, NULL},
      {mock_ci_str("EdgeName", "Dublin*"), 1, NULL},
      {mock_ci_str("TrunkId", "t-1"), 1, NULL},
      {mock_ci_bool("CloudMediaEdges", true), 1, NULL},
      {mock_ci_str("CloudMediaEdges", "sometimes"), 0, "CloudMediaEdges"},
      {mock_ci_str("StatusGroup", "EMEA*"), 1, NULL},
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(cases); i++) {
    mock_log_reset();
    int status = gp_config_key(org, cases[i].ci, c);
    OK(cases[i].ok ? status == 0 : status < 0);
    if (cases[i].logged != NULL)
      OK(mock_log_contains(cases[i].logged));
    mock_ci_free(cases[i].ci);
  }
  /* a password in the URL is never shown */
  mock_log_reset();
  oconfig_item_t *ci =
      mock_ci_str("StatusPageURL", "https://u:s3cr3t@status.example.test/x");
  OK(gp_config_key(org, ci, c) < 0);
  OK(mock_log_contains("StatusPageURL"));
  OK(!mock_log_contains("s3cr3t"));
  mock_ci_free(ci);
  ci = mock_ci_str("Shard", "1/2");
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE, gp_config_key(org, ci, c));
  mock_ci_free(ci);
  OK(c->trunk_type == NULL); /* all: no trunkType= */
  EXPECT_EQ_STR("http://127.0.0.1:8080/c.json", c->status_url);
  OK(!c->edges);
  EXPECT_EQ_INT(1, c->n_components);
  OK(c->cloud_media);
  EXPECT_EQ_INT(1, c->n_groups);
  EXPECT_EQ_INT(1, c->edges_filter.n_names);
  EXPECT_EQ_INT(1, c->trunks_filter.n_ids);
  gen_plugin_config_free(&gp_plugin, c);
  gen_org_free(org);
  return 0;
}

DEF_TEST(registers_and_configures) {
  return check_plugin(module_register, PLUGIN_NAME);
}

DEF_TEST(keys_listed_with_their_defaults) {
  return check_plugin_keys(&gp_plugin);
}

int main(void) {
  RUN_TEST(edge_listing);
  RUN_TEST(trunk_listing);
  RUN_TEST(edge_metrics_forms);
  RUN_TEST(edge_metrics_malformed);
  RUN_TEST(trunk_metrics);
  RUN_TEST(trunk_of_another_type_dropped);
  RUN_TEST(metrics_by_event_time);
  RUN_TEST(region_group);
  RUN_TEST(status_page);
  RUN_TEST(unknown_words_take_the_rest);
  RUN_TEST(configuration_refuses_with_reasons);
  RUN_TEST(registers_and_configures);
  RUN_TEST(keys_listed_with_their_defaults);
  END_TEST;
}
