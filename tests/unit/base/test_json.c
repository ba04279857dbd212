/* SPDX-License-Identifier: MIT */
/* Unit tests: bounded JSON parsing and typed look-ups. */
#include "gen_buf.h"
#include "gen_json.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

DEF_TEST(parse_valid) {
  json_object *doc;
  char err[128];
  const char *text = "{\"a\":\"x\",\"n\":5,\"d\":2.5,\"f\":3.0,\"o\":{},"
                     "\"l\":[1,2]} \n";
  CHECK_ZERO(gen_json_parse(text, strlen(text), 8, &doc, err, sizeof(err)));
  EXPECT_EQ_STR("x", gen_json_get_string(doc, "a"));
  OK(gen_json_get_string(doc, "n") == NULL);
  int64_t n;
  OK(gen_json_get_int64(doc, "n", &n) && n == 5);
  OK(gen_json_get_int64(doc, "f", &n) && n == 3);
  OK(!gen_json_get_int64(doc, "d", &n));
  double d;
  OK(gen_json_get_double(doc, "d", &d) && d == 2.5);
  OK(gen_json_get_double(doc, "n", &d) && d == 5.0);
  OK(gen_json_get_object(doc, "o") != NULL);
  OK(gen_json_get_array(doc, "l") != NULL);
  OK(gen_json_get_array(doc, "o") == NULL);
  OK(gen_json_get_string(NULL, "a") == NULL);
  json_object_put(doc);
  return 0;
}

DEF_TEST(parse_rejects_bad_documents) {
  json_object *doc;
  char err[128];
  const char *bad[] = {"{\"a\":", "{\"a\":1} trailing",   "", "{\"a\":1,}",
                       "[1 2]",   "[[[[[[[[[[1]]]]]]]]]]"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad); i++) {
    int status =
        gen_json_parse(bad[i], strlen(bad[i]), 8, &doc, err, sizeof(err));
    printf("# %s -> %s\n", bad[i], err);
    OK(status == -EINVAL && doc == NULL);
  }
  /* Truncated input says so. */
  gen_json_parse("{\"a\":[1,2", 9, 8, &doc, err, sizeof(err));
  OK(strstr(err, "truncated") != NULL);
  /* An embedded NUL inside the length is not a silent cut. */
  OK(gen_json_parse("{}\0{}", 5, 8, &doc, err, sizeof(err)) == -EINVAL);
  return 0;
}

/* What a state file may hold as a count: nothing json-c saturated or a
 * double cannot say exactly. */
DEF_TEST(int64_of_is_strict) {
  json_object *doc;
  char err[128];
  const char *text = "[5, 5.0, 5.5, 1e300, -1e300, 99999999999999999999, "
                     "-99999999999999999999, \"5\", null, 9.1e18, -42]";
  CHECK_ZERO(gen_json_parse(text, strlen(text), 8, &doc, err, sizeof(err)));
  const bool ok[] = {true,  true,  false, false, false, false,
                     false, false, false, false, true};
  const int64_t want[] = {5, 5, 0, 0, 0, 0, 0, 0, 0, 0, -42};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    int64_t v = 0;
    EXPECT_EQ_INT(ok[i],
                  gen_json_int64_of(json_object_array_get_idx(doc, i), &v));
    if (ok[i])
      EXPECT_EQ_INT(want[i], v);
  }
  json_object_put(doc);
  return 0;
}

/* The one adder of totals stops at 2^53, says so, and goes on from there:
 * two buckets of 5e15 summed to 1.0000000000000008e16, a number no state
 * file of ours reads back. */
DEF_TEST(sums_saturate) {
  const int64_t max = GEN_JSON_EXACT_MAX;
  int64_t n = 5000000000000000LL;
  OK(gen_count_add(&n, 5000000000000000LL) == false);
  EXPECT_EQ_UINT64(max, n);
  OK(gen_count_add(&n, 1) == false);
  EXPECT_EQ_UINT64(max, n);
  n = max - 3;
  OK(gen_count_add(&n, 3));
  EXPECT_EQ_UINT64(max, n);
  n = 7;
  OK(gen_count_add(&n, 5));
  EXPECT_EQ_UINT64(12, n);
  n = INT64_MAX; /* even from past the bound: no overflow */
  OK(gen_count_add(&n, INT64_MAX) == false);
  EXPECT_EQ_UINT64(max, n);

  double t = 5e15;
  OK(gen_total_add(&t, 5e15) == false);
  OK(t == (double)max);
  OK(gen_total_add(&t, -1e15)); /* a revision lowers it again */
  OK(t == (double)max - 1e15);
  t = -5e15;
  OK(gen_total_add(&t, -5e15) == false);
  OK(t == -(double)max);
  t = 2;
  OK(gen_total_add(&t, 3.5));
  OK(t == 5.5);
  OK(gen_total_add(&t, NAN) == false);
  OK(t == 5.5);
  return 0;
}

/* "[{},{},…]" of n empty objects: n + 1 containers. */
static char *empty_objects(size_t n, size_t *len) {
  char *s = malloc(3 * n + 2);
  if (s == NULL)
    return NULL;
  size_t at = 0;
  s[at++] = '[';
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      s[at++] = ',';
    s[at++] = '{';
    s[at++] = '}';
  }
  s[at++] = ']';
  *len = at;
  return s;
}

/* The node limits refuse a document before json-c builds it (8 MB of
 * empty objects took collectd to 2.2 GB); one just within them parses;
 * brackets and commas inside strings do not count. */
DEF_TEST(parse_bounds_nodes) {
  json_object *doc = NULL;
  char err[128];
  size_t len = 0;
  char *text = empty_objects(GEN_JSON_MAX_CONTAINERS - 1, &len);
  CHECK_NOT_NULL(text);
  EXPECT_EQ_INT(0, gen_json_parse(text, len, 8, &doc, err, sizeof(err)));
  EXPECT_EQ_INT(GEN_JSON_MAX_CONTAINERS - 1,
                (int)json_object_array_length(doc));
  json_object_put(doc);
  free(text);
  text = empty_objects(GEN_JSON_MAX_CONTAINERS, &len);
  CHECK_NOT_NULL(text);
  doc = NULL;
  EXPECT_EQ_INT(-EINVAL, gen_json_parse(text, len, 8, &doc, err, sizeof(err)));
  OK(doc == NULL);
  OK(strstr(err, "objects and arrays") != NULL);
  free(text);

  /* Elements: a flat array of zeros past the element limit. */
  size_t n = GEN_JSON_MAX_ELEMENTS + 1;
  text = malloc(2 * n + 2);
  CHECK_NOT_NULL(text);
  len = 0;
  text[len++] = '[';
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      text[len++] = ',';
    text[len++] = '0';
  }
  text[len++] = ']';
  EXPECT_EQ_INT(-EINVAL, gen_json_parse(text, len, 8, &doc, err, sizeof(err)));
  OK(strstr(err, "elements") != NULL);
  free(text);

  const char *quoted = "{\"a\":\"[{,}]\\\"{[\",\"b\":[1]}";
  CHECK_ZERO(gen_json_parse(quoted, strlen(quoted), 8, &doc, err, sizeof(err)));
  EXPECT_EQ_STR("[{,}]\"{[", gen_json_get_string(doc, "a"));
  json_object_put(doc);
  return 0;
}

/* An API answer is held to what its tree costs, not only to its nodes: a
 * document of 249,000 empty objects (0.75 MB, within every other bound)
 * is refused as an answer, with why, before json-c builds its 197 MB; the
 * same text as a state file is read (our files are not held to it). A
 * small answer passes whatever its ratio ("{}"). */
DEF_TEST(answers_bounded_by_their_tree) {
  size_t len = 0;
  char *text = empty_objects(249000, &len);
  CHECK_NOT_NULL(text);
  EXPECT_EQ_INT(747001, (int)len);
  json_object *doc = NULL;
  char err[256] = "";
  EXPECT_EQ_INT(0, gen_json_bounds(text, len, err, sizeof(err)));
  EXPECT_EQ_INT(-EINVAL, gen_json_answer_bounds(text, len, err, sizeof(err)));
  OK(strstr(err, "document of 747001 bytes would take ") != NULL);
  OK(strstr(err, "MB as a tree, more than 48 times its size (249000 "
                 "objects, 1 arrays)") != NULL);
  EXPECT_EQ_INT(-EBADMSG,
                gen_json_parse_answer(text, len, &doc, err, sizeof(err)));
  OK(doc == NULL);
  OK(strncmp(err, "not JSON: document of 747001 bytes", 34) == 0);
  CHECK_ZERO(gen_json_parse(text, len, 8, &doc, err, sizeof(err)));
  json_object_put(doc);
  free(text);
  CHECK_ZERO(gen_json_parse_answer("{}", 2, &doc, err, sizeof(err)));
  json_object_put(doc);
  /* One-digit numbers: 36 times, read. */
  gen_buf_t nums = GEN_BUF_INIT(SIZE_MAX);
  gen_buf_add_str(&nums, "[0");
  for (int i = 1; i < 300000; i++)
    gen_buf_add_str(&nums, ",7");
  gen_buf_add_str(&nums, "]");
  CHECK_ZERO(
      gen_json_parse_answer(nums.data, nums.len, &doc, err, sizeof(err)));
  EXPECT_EQ_INT(300000, (int)json_object_array_length(doc));
  json_object_put(doc);
  gen_buf_free(&nums);
  return 0;
}

int main(void) {
  RUN_TEST(parse_valid);
  RUN_TEST(parse_rejects_bad_documents);
  RUN_TEST(int64_of_is_strict);
  RUN_TEST(sums_saturate);
  RUN_TEST(parse_bounds_nodes);
  RUN_TEST(answers_bounded_by_their_tree);
  END_TEST;
}
