/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: fuzz target for genesys_platform's documents
 * (gen_platform): the input, parsed as JSON with the bounds the HTTP client
 * uses (gen_json_parse), goes through every reader: the edge and trunk
 * listing entries (the document, and each entry of its "entities"), the
 * edge and trunk metrics readers and the status page reader.
 *
 * Checked (a failure aborts):
 * - every status is 0 or -EINVAL; an accepted edge or trunk has a non-empty
 *   id of at most 64 bytes of [A-Za-z0-9._-], each flag -1, 0 or 1;
 * - every value put is finite and within its type's range (CPU 0-100,
 *   bytes, seconds and calls >= 0), its type one of the readers' and its
 *   id non-empty; every component level 0-4 with a non-empty name;
 * - a known document right after gives the known result.
 */
#define GEN_FUZZ_NAME "platform"
#include "fuzz_replay.h"

#include "gen_json.h"
#include "gen_platform.h"

#include <errno.h>
#include <math.h>

static size_t puts_seen;

static void put(void *ud, const char *id, const char *type,
                const char *type_instance, double value) {
  (void)ud;
  (void)type_instance;
  static const char *const types[] = {
      "edge_cpu_active", "edge_memory_used",    "edge_memory_available",
      "edge_disk_used",  "edge_disk_available", "edge_uptime",
      "trunk_calls"};
  bool known = false;
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    known = known || strcmp(type, types[i]) == 0;
  FUZZ_CHECK(known, "a type of the readers");
  FUZZ_CHECK(id != NULL && id[0] != '\0', "an id");
  FUZZ_CHECK(isfinite(value) && value >= 0, "a finite value >= 0");
  if (strcmp(type, "edge_cpu_active") == 0)
    FUZZ_CHECK(value <= 100, "CPU within 0-100");
  puts_seen++;
}

static size_t components_seen;

static void component(void *ud, const char *group, const char *name,
                      int level) {
  (void)ud;
  FUZZ_CHECK(group != NULL, "a group (maybe empty)");
  FUZZ_CHECK(name != NULL && name[0] != '\0', "a name");
  FUZZ_CHECK(level >= 0 && level <= 4, "a level 0-4");
  char label[128];
  gen_pf_component_label(group, name, label, sizeof(label));
  FUZZ_CHECK(strlen(label) < sizeof(label), "label terminated");
  components_seen++;
}

static bool id_ok(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
          (id[i] >= '0' && id[i] <= '9') || strchr("-_.", id[i]) != NULL))
      return false;
  return true;
}

static bool flag_ok(int v) { return v >= -1 && v <= 1; }

static void entities(json_object *doc) {
  gen_pf_edge_t e;
  gen_pf_trunk_t t;
  int status = gen_pf_edge_read(doc, &e);
  FUZZ_CHECK(status == 0 || status == -EINVAL, "edge status");
  if (status == 0)
    FUZZ_CHECK(id_ok(e.id) && flag_ok(e.online) && flag_ok(e.active), "edge");
  status = gen_pf_trunk_read(doc, &t);
  FUZZ_CHECK(status == 0 || status == -EINVAL, "trunk status");
  if (status == 0)
    FUZZ_CHECK(id_ok(t.id) && flag_ok(t.connected) && flag_ok(t.in_service) &&
                   flag_ok(t.enabled),
               "trunk");
}

static void run(json_object *doc) {
  entities(doc);
  json_object *list = gen_json_get_array(doc, "entities");
  for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++)
    entities(json_object_array_get_idx(list, i));
  size_t skipped = 0, unknown = 0;
  /* eventTime read too (and without an age: every entry) */
  gen_pf_age_t age = {.now_ms = INT64_C(1764064800000), .max_age_ms = 120000};
  int status = gen_pf_edge_metrics_read(doc, &age, put, NULL, &skipped);
  FUZZ_CHECK(status == 0 || status == -EINVAL, "edge metrics status");
  status = gen_pf_trunk_metrics_read(doc, NULL, put, NULL, &skipped);
  FUZZ_CHECK(status == 0 || status == -EINVAL, "trunk metrics status");
  status = gen_pf_status_read(doc, component, NULL, NULL, &unknown, &skipped);
  FUZZ_CHECK(status == 0 || status == -EINVAL, "status page status");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy: a read past it is an ASan error. */
  char *copy = malloc(size ? size : 1);
  FUZZ_CHECK(copy != NULL, "malloc");
  memcpy(copy, data, size);
  json_object *doc = NULL;
  char err[256];
  if (gen_json_parse(copy, size, GEN_JSON_MAX_DEPTH, &doc, err, sizeof(err)) ==
      0) {
    run(doc);
    json_object_put(doc);
  } else {
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "err terminated");
  }
  free(copy);

  /* Nothing carries over: a known document gives the known result. */
  static const char known[] =
      "[{\"trunk\":{\"id\":\"t1\"},\"calls\":{\"inboundCallCount\":2,"
      "\"outboundCallCount\":1}}]";
  FUZZ_CHECK(gen_json_parse(known, sizeof(known) - 1, GEN_JSON_MAX_DEPTH, &doc,
                            err, sizeof(err)) == 0,
             "known parses");
  size_t skipped = 9;
  puts_seen = 0;
  FUZZ_CHECK(gen_pf_trunk_metrics_read(doc, NULL, put, NULL, &skipped) == 0 &&
                 puts_seen == 2 && skipped == 0,
             "known trunk metrics");
  json_object_put(doc);
  static const char page[] =
      "{\"components\":[{\"id\":\"g\",\"name\":\"G\",\"group\":true},"
      "{\"name\":\"C\",\"status\":\"major_outage\",\"group_id\":\"g\"}]}";
  FUZZ_CHECK(gen_json_parse(page, sizeof(page) - 1, GEN_JSON_MAX_DEPTH, &doc,
                            err, sizeof(err)) == 0,
             "known page parses");
  size_t unknown = 9;
  components_seen = 0;
  FUZZ_CHECK(
      gen_pf_status_read(doc, component, NULL, NULL, &unknown, &skipped) == 0 &&
          components_seen == 1 && unknown == 0 && skipped == 0,
      "known status page");
  json_object_put(doc);
  return 0;
}

static void fuzz_cleanup(void) {}
