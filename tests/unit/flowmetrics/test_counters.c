/* SPDX-License-Identifier: MIT */
/* Unit tests: durable keyed counters (increments, order, the state
 * document, journals across a kill, refused totals, the owner's key
 * reader, pacing). */
#include "gen_counters.h"
#include "gen_json.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>

/* Whose lines the module under test writes. */
static const gen_log_org_t test_who = {"test", "acme"};

static char dir[] = "/tmp/gen-counters-XXXXXX";

/* The owner's keys: a name (str[0]) and a number from 0 to 9 (num),
 * written "<name>/<n>"; read back in that spelling ("a/07" counts as
 * "a/7"). */
static int write_key(const gen_key_t *key, char *out, size_t size) {
  int n = snprintf(out, size, "%s/%d", key->str[0], (int)key->num);
  return n >= 0 && (size_t)n < size ? 0 : -1;
}

static bool read_key(const char *text, gen_key_t *key, char *buf, size_t size) {
  const char *slash = strchr(text, '/');
  if (slash == NULL || slash[1] == '\0' || (size_t)(slash - text) >= size)
    return false;
  char *end;
  long n = strtol(slash + 1, &end, 10);
  if (*end != '\0' || n < 0 || n > 9)
    return false;
  snprintf(buf, size, "%.*s", (int)(slash - text), text);
  *key = (gen_key_t){{buf}, n};
  return true;
}

/* Adds one to the key text spells. */
static ssize_t inc(gen_counters_t *c, const char *text) {
  char buf[GEN_COUNTERS_KEY_SIZE];
  gen_key_t key;
  return read_key(text, &key, buf, sizeof(buf))
             ? gen_counters_increment(c, &key)
             : -2;
}

/* Counter i's key as text. */
static const char *text_of(const gen_counters_t *c, size_t i) {
  static char text[GEN_COUNTERS_KEY_SIZE];
  return write_key(gen_counters_key(c, i), text, sizeof(text)) == 0 ? text : "";
}

static atomic_uint_fast64_t journal_errors;

/* Counters journalled in <dir>/<name> (NULL: no journal). */
static gen_counters_t *make(const char *name) {
  gen_counters_options_t o = {.totals_name = "totals",
                              .write_key = write_key,
                              .read_key = read_key,
                              .who = &test_who,
                              .journal_errors = &journal_errors};
  char base[64];
  snprintf(base, sizeof(base), "%s/%s", dir, name ? name : "");
  return gen_counters_new(&o, name ? base : NULL);
}

/* The total of key, or -1 when there is no such counter. */
static int64_t total_of(const gen_counters_t *c, const char *key) {
  for (size_t i = 0; i < gen_counters_count(c); i++)
    if (strcmp(text_of(c, i), key) == 0)
      return (int64_t)gen_counters_total(c, i);
  return -1;
}

/* The generation of a state document (NULL: none, 0). */
static uint64_t generation_of(json_object *doc) {
  int64_t g = 0;
  return gen_json_get_int64(doc, "generation", &g) && g > 0 ? (uint64_t)g : 0;
}

/* The counters' lines (gen_counters_print), taken back as
 * gen_counters_take_line reads them, into doc: {"totals":{key: total,
 * ...},"generation":g} (the form the restart below reads both ways). Returns
 * the generation. */
static uint64_t snapshot(gen_counters_t *c, json_object *doc) {
  gen_buf_t text = GEN_BUF_INIT(SIZE_MAX);
  uint64_t g = 0;
  json_object *totals = json_object_new_object();
  if (gen_counters_print(c, &text, &g) == 0)
    for (char *line = text.data, *nl; line != NULL && *line != '\0';
         line = nl + 1) {
      nl = strchr(line, '\n');
      *nl = '\0';
      json_object *o = json_tokener_parse(line), *row = NULL;
      if (json_object_object_get_ex(o, "totals", &row))
        json_object_object_add(
            totals, json_object_get_string(json_object_array_get_idx(row, 0)),
            json_object_get(json_object_array_get_idx(row, 1)));
      json_object_put(o);
    }
  gen_buf_free(&text);
  json_object_object_add(doc, "totals", totals);
  json_object_object_add(doc, "generation", json_object_new_int64((int64_t)g));
  return g;
}

/* A restart: new counters from the state document (NULL: none) and the
 * journals of name. */
static gen_counters_t *restart(const char *name, json_object *doc) {
  gen_counters_t *c = make(name);
  if (c == NULL || gen_counters_restore(c, doc, "state.json") != 0 ||
      gen_counters_recover(c, generation_of(doc), "state.json") != 0) {
    gen_counters_free(c);
    return NULL;
  }
  return c;
}

/* A run killed some time after a state save: a/1 counted before the save,
 * a/1 and b/2 after it (journalled only). Returns the saved document. */
static json_object *killed_run(const char *name) {
  gen_counters_t *c = restart(name, NULL);
  if (c == NULL)
    return NULL;
  inc(c, "a/1");
  json_object *doc = json_object_new_object();
  gen_counters_stored(c, snapshot(c, doc));
  inc(c, "a/1");
  inc(c, "b/2");
  gen_counters_free(c); /* killed: no snapshot */
  return doc;
}

DEF_TEST(increments_in_order) {
  gen_counters_t *c = make(NULL);
  CHECK_NOT_NULL(c);
  EXPECT_EQ_INT(0, gen_counters_count(c));
  EXPECT_EQ_INT(0, inc(c, "b/1"));
  EXPECT_EQ_INT(1, inc(c, "a/1"));
  EXPECT_EQ_INT(0, inc(c, "b/1"));
  EXPECT_EQ_INT(2, gen_counters_count(c));
  EXPECT_EQ_STR("b/1", text_of(c, 0));
  EXPECT_EQ_STR("a/1", text_of(c, 1));
  EXPECT_EQ_UINT64(2, gen_counters_total(c, 0));
  EXPECT_EQ_UINT64(1, gen_counters_total(c, 1));
  /* Many keys: the index finds each (the array grows under it). */
  char key[32];
  int wrong = 0;
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof(key), "k%d/1", i);
    wrong += inc(c, key) != i + 2;
  }
  for (int i = 999; i >= 0; i--) {
    snprintf(key, sizeof(key), "k%d/1", i);
    wrong += inc(c, key) != i + 2;
  }
  EXPECT_EQ_INT(0, wrong);
  EXPECT_EQ_INT(2, total_of(c, "k500/1"));
  /* A key whose text is too long is not counted. */
  char longer[GEN_COUNTERS_KEY_SIZE];
  memset(longer, 'x', sizeof(longer) - 1);
  longer[GEN_COUNTERS_KEY_SIZE - 2] = '\0'; /* "x…x/1": one byte too many */
  gen_key_t key_long = {{longer}, 1};
  EXPECT_EQ_INT(-1, gen_counters_increment(c, &key_long));
  longer[GEN_COUNTERS_KEY_SIZE - 3] = '\0'; /* the longest that is */
  EXPECT_EQ_INT(1002, gen_counters_increment(c, &key_long));
  gen_counters_free(c);
  return 0;
}

/* Increments since the last snapshot are in the journal: a kill loses
 * none, and two restarts (killed again before a save) or one after a save
 * count nothing twice. */
DEF_TEST(journal_survives_kill) {
  json_object *doc = killed_run("kill");
  CHECK_NOT_NULL(doc);
  /* The document holds the totals as of the save, and their generation. */
  EXPECT_EQ_INT(1, json_object_get_int(json_object_object_get(
                       json_object_object_get(doc, "totals"), "a/1")));
  OK(json_object_get_int64(json_object_object_get(doc, "generation")) > 0);
  gen_counters_t *c;
  for (int round = 0; round < 3; round++) {
    c = restart("kill", doc);
    CHECK_NOT_NULL(c);
    EXPECT_EQ_INT(2, total_of(c, "a/1"));
    EXPECT_EQ_INT(1, total_of(c, "b/2"));
    if (round == 1) {
      /* The replayed journals fold into the new snapshot. */
      json_object_put(doc);
      doc = json_object_new_object();
      gen_counters_stored(c, snapshot(c, doc));
    }
    gen_counters_free(c);
  }
  /* The journals a stored snapshot holds are gone: without its document
   * nothing is left to count. */
  c = restart("kill", NULL);
  CHECK_NOT_NULL(c);
  EXPECT_EQ_INT(0, gen_counters_count(c));
  gen_counters_free(c);
  json_object_put(doc);
  EXPECT_EQ_UINT64(0, atomic_load(&journal_errors));
  return 0;
}

/* A total we did not write is refused alone, logged with the file, the
 * member, the key and the value: that counter restarts at zero, the good
 * ones and the journal after them go on (before, one bad number cost every
 * counter). */
DEF_TEST(absurd_total_refused_alone) {
  static const char *const bad[] = {"1e300", "\"7\"", "-1", "1.5",
                                    "9007199254740993"};
  for (size_t b = 0; b < STATIC_ARRAY_SIZE(bad); b++) {
    char name[32];
    snprintf(name, sizeof(name), "absurd%zu", b);
    json_object *doc = killed_run(name);
    CHECK_NOT_NULL(doc);
    json_object *totals = json_object_object_get(doc, "totals");
    json_object_object_add(totals, "z/1", json_tokener_parse(bad[b]));
    mock_log_reset();
    gen_counters_t *c = make(name);
    EXPECT_EQ_INT(1, (int)gen_counters_restore(c, doc, "state.json"));
    OK(mock_log_contains("state file state.json: totals \"z/1\""));
    OK(mock_log_contains("that counter restarts at zero"));
    CHECK_ZERO(gen_counters_recover(c, generation_of(doc), "state.json"));
    EXPECT_EQ_INT(2, total_of(c, "a/1")); /* 1 saved + 1 journalled */
    EXPECT_EQ_INT(1, total_of(c, "b/2"));
    EXPECT_EQ_INT(-1, total_of(c, "z/1"));
    gen_counters_free(c);
    json_object_put(doc);
  }
  return 0;
}

/* A total stops at 2^53, logged, and is saved so: the next start takes it
 * (a total past it would have been refused there). */
DEF_TEST(totals_stop_at_2_53) {
  json_object *doc = json_tokener_parse(
      "{\"totals\":{\"a/1\":9007199254740991,\"b/1\":4},\"generation\":0}");
  CHECK_NOT_NULL(doc);
  mock_log_reset();
  gen_counters_t *c = restart(NULL, doc);
  CHECK_NOT_NULL(c);
  inc(c, "a/1");
  inc(c, "a/1");
  inc(c, "a/1");
  inc(c, "b/1");
  EXPECT_EQ_UINT64(GEN_JSON_EXACT_MAX, total_of(c, "a/1"));
  EXPECT_EQ_INT(5, total_of(c, "b/1"));
  OK(mock_log_contains("totals \"a/1\": total stopped at 2^53"));
  json_object *saved = json_object_new_object();
  snapshot(c, saved);
  gen_counters_free(c);
  json_object_put(doc);
  c = restart(NULL, saved);
  CHECK_NOT_NULL(c);
  EXPECT_EQ_UINT64(GEN_JSON_EXACT_MAX, total_of(c, "a/1"));
  EXPECT_EQ_INT(5, total_of(c, "b/1"));
  gen_counters_free(c);
  json_object_put(saved);
  return 0;
}

/* Keys read back go through the owner's reader: another spelling of a key
 * counts under the key, a key it does not take is dropped. */
DEF_TEST(keys_read_back_by_the_owner) {
  json_object *doc = json_tokener_parse(
      "{\"totals\":{\"a/1\":3,\"a/01\":2,\"a/12\":5,\"junk\":9,\"b/2\":0},"
      "\"generation\":0}");
  CHECK_NOT_NULL(doc);
  gen_counters_t *c = restart("read", doc);
  CHECK_NOT_NULL(c);
  EXPECT_EQ_INT(1, gen_counters_count(c));
  EXPECT_EQ_INT(5, total_of(c, "a/1"));
  gen_counters_free(c);
  json_object_put(doc);
  return 0;
}

/* Lines of the state file: a counter's line taken, a second one of its key
 * and a line not [key, total] refused alone (logged, counted), a line of
 * another kind left to the caller (1). */
DEF_TEST(lines_taken_and_refused) {
  static const char *const lines[] = {
      "{\"totals\":[\"a/1\",3]}", "{\"totals\":[\"a/1\",4]}", "{\"totals\":5}",
      "{\"totals\":[\"b/2\",1]}", "{\"series\":[]}"};
  static const int want[] = {0, 0, 0, 0, 1};
  gen_counters_t *c = make(NULL);
  mock_log_reset();
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(lines); i++) {
    json_object *o = json_tokener_parse(lines[i]);
    EXPECT_EQ_INT(want[i], gen_counters_take_line(c, o, "state.json"));
    json_object_put(o);
  }
  EXPECT_EQ_INT(2, gen_counters_refused(c));
  OK(mock_log_contains("a second total of one key"));
  OK(mock_log_contains("refused (not [key, total])"));
  EXPECT_EQ_INT(3, total_of(c, "a/1"));
  EXPECT_EQ_INT(1, total_of(c, "b/2"));
  gen_counters_free(c);
  return 0;
}

static void note(void *ud, size_t i) {
  char *seen = ud;
  size_t n = strlen(seen);
  seen[n] = (char)('0' + i);
  seen[n + 1] = '\0';
}

/* The counters incremented since the last call, each once, in the order
 * first marked; all: every counter, and the marks cleared. */
DEF_TEST(changed_once_each) {
  gen_counters_t *c = make(NULL);
  char seen[16] = "";
  inc(c, "a/1");
  inc(c, "b/1");
  inc(c, "a/1"); /* a burst: still once */
  inc(c, "c/1");
  gen_counters_each(c, false, note, seen);
  EXPECT_EQ_STR("012", seen);
  seen[0] = '\0';
  gen_counters_each(c, false, note, seen); /* nothing since */
  EXPECT_EQ_STR("", seen);
  inc(c, "b/1");
  gen_counters_each(c, true, note, seen);
  EXPECT_EQ_STR("012", seen);
  seen[0] = '\0';
  gen_counters_each(c, false, note, seen); /* b/1 went with all */
  EXPECT_EQ_STR("", seen);
  EXPECT_EQ_INT(2, total_of(c, "b/1"));
  gen_counters_free(c);
  return 0;
}

int main(void) {
  if (mock_tempdir(dir) == NULL)
    return 1;
  RUN_TEST(increments_in_order);
  RUN_TEST(journal_survives_kill);
  RUN_TEST(absurd_total_refused_alone);
  RUN_TEST(totals_stop_at_2_53);
  RUN_TEST(keys_read_back_by_the_owner);
  RUN_TEST(lines_taken_and_refused);
  RUN_TEST(changed_once_each);
  if (mock_rmtree(dir) != 0)
    return 1;
  END_TEST;
}
