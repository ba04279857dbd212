/* SPDX-License-Identifier: MIT */
/* Unit tests: atomic state files. */
#include "gen_state.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

static char dir[] = "/tmp/gen-state-test-XXXXXX";

static int count_files(const char *path) {
  DIR *d = opendir(path);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  if (d)
    closedir(d);
  return n;
}

DEF_TEST(write_read_replace) {
  char path[256];
  snprintf(path, sizeof(path), "%s/sub/dir/state.json", dir);
  char sub[256];
  snprintf(sub, sizeof(sub), "%s/sub/dir", dir);
  CHECK_ZERO(gen_state_mkdir(sub));
  char *data;
  size_t len;
  OK(gen_state_read(path, 100, &data, &len) == -ENOENT);
  CHECK_ZERO(gen_state_write(path, "first", 5));
  CHECK_ZERO(gen_state_write(path, "second!", 7));
  CHECK_ZERO(gen_state_read(path, 100, &data, &len));
  EXPECT_EQ_STR("second!", data);
  EXPECT_EQ_INT(7, len);
  free(data);
  OK(gen_state_read(path, 3, &data, &len) == -EFBIG);
  /* No temporary file is left behind. */
  EXPECT_EQ_INT(1, count_files(sub));
  struct stat st;
  CHECK_ZERO(stat(path, &st));
  EXPECT_EQ_INT(0640, st.st_mode & 0777);
  return 0;
}

DEF_TEST(json_round_trip_and_corruption) {
  char path[256];
  snprintf(path, sizeof(path), "%s/doc.json", dir);
  json_object *doc;
  const char *text = "{\"last_bucket\":12345}";
  CHECK_ZERO(gen_state_write(path, text, strlen(text)));
  CHECK_ZERO(gen_state_load_json(path, &doc));
  EXPECT_EQ_INT(
      12345, json_object_get_int64(json_object_object_get(doc, "last_bucket")));
  json_object_put(doc);
  CHECK_ZERO(gen_state_write(path, "{\"last_bucket\":", 15));
  OK(gen_state_load_json(path, &doc) == -EINVAL);
  OK(doc == NULL);
  return 0;
}

/* gen_state_load_each's entry: the value of each document's "n" added to
 * the sum ud; a document without one stops the read with -EPROTO. */
static int sum_n(void *ud, json_object *doc) {
  json_object *n = json_object_object_get(doc, "n");
  if (n == NULL)
    return -EPROTO;
  *(int *)ud += json_object_get_int(n);
  return 0;
}

/* A file of lines is read a line at a time: max bounds each line, not the
 * file; a file of one document without a final newline (the form before
 * lines) comes whole, once, bounded by max. */
DEF_TEST(load_each_line_or_the_whole_document) {
  char path[256];
  snprintf(path, sizeof(path), "%s/lines.json", dir);
  const char lines[] = "{\"n\":1}\n{\"n\":20}\n{\"n\":300}\n";
  int sum = 0;
  OK(gen_state_load_each(path, 100, sum_n, &sum) == -ENOENT);
  CHECK_ZERO(gen_state_write(path, lines, strlen(lines)));
  CHECK_ZERO(gen_state_load_each(path, 10, sum_n, &sum)); /* file: 27 B */
  EXPECT_EQ_INT(321, sum);
  sum = 0;
  /* Lines of 7, 8 and 9 bytes: the third is past 8. */
  OK(gen_state_load_each(path, 8, sum_n, &sum) == -EFBIG);
  EXPECT_EQ_INT(21, sum); /* the lines before it were taken: callers start
                             afresh on an error */
  /* The entry's error ends the read. */
  const char stop[] = "{\"n\":1}\n{}\n{\"n\":20}\n";
  CHECK_ZERO(gen_state_write(path, stop, strlen(stop)));
  sum = 0;
  OK(gen_state_load_each(path, 100, sum_n, &sum) == -EPROTO);
  EXPECT_EQ_INT(1, sum);
  /* A line that is not JSON, an empty line, an empty file. */
  const char *bad[] = {"{\"n\":1}\n{\"n\":\n", "{\"n\":1}\n\n", ""};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(bad); i++) {
    CHECK_ZERO(gen_state_write(path, bad[i], strlen(bad[i])));
    OK(gen_state_load_each(path, 100, sum_n, &sum) == -EINVAL);
  }
  /* One document over several lines, no final newline: whole. */
  const char doc[] = "{\n\"n\":\n4000}";
  CHECK_ZERO(gen_state_write(path, doc, strlen(doc)));
  sum = 0;
  CHECK_ZERO(gen_state_load_each(path, 100, sum_n, &sum));
  EXPECT_EQ_INT(4000, sum);
  OK(gen_state_load_each(path, 10, sum_n, &sum) == -EFBIG);
  return 0;
}

typedef struct {
  int sum, bad;
} rows_t;

static int rows_sum(void *ud, json_object *doc) {
  return sum_n(&((rows_t *)ud)->sum, doc);
}

/* gen_state_load_rows' bad: each line not JSON or past max counted; the
 * third ends the read (-EPERM). */
static int rows_bad(void *ud, int status) {
  return ++((rows_t *)ud)->bad == 3 ? -EPERM : 0;
}

/* A line that is not JSON or too long goes to bad and the read goes on
 * past it (gen_state_load_each ends there); bad's error ends it. */
DEF_TEST(load_rows_go_on_past_a_bad_line) {
  char path[256];
  snprintf(path, sizeof(path), "%s/rows.json", dir);
  const char lines[] = "{\"n\":1}\n{\"n\":\n{\"n\":20,\"pad\":12345}\n"
                       "{\"n\":300}\n";
  CHECK_ZERO(gen_state_write(path, lines, strlen(lines)));
  rows_t r = {0};
  CHECK_ZERO(gen_state_load_rows(path, 12, rows_sum, rows_bad, &r));
  EXPECT_EQ_INT(301, r.sum);
  EXPECT_EQ_INT(2, r.bad);
  r = (rows_t){.bad = 1};
  OK(gen_state_load_rows(path, 12, rows_sum, rows_bad, &r) == -EPERM);
  EXPECT_EQ_INT(1, r.sum);
  return 0;
}

/* A stream passes its text on in chunks while it is written: the buffer
 * never holds the whole file, and the file appears whole or not at all. */
DEF_TEST(stream_in_chunks_or_not_at_all) {
  char sub[300], path[320];
  snprintf(sub, sizeof(sub), "%s/stream", dir);
  snprintf(path, sizeof(path), "%s/s.json", sub);
  CHECK_ZERO(gen_state_mkdir(sub));
  CHECK_ZERO(gen_state_write(path, "old", 3));
  gen_state_stream_t s;
  CHECK_ZERO(gen_state_stream_open(&s, path));
  size_t most = 0, total = 0;
  int failed = 0;
  for (int i = 0; i < 20000; i++) {
    failed |= gen_buf_printf(&s.buf, "%08d,", i);
    total += 9;
    if (s.buf.len > most)
      most = s.buf.len;
    failed |= gen_state_stream_flush(&s);
  }
  EXPECT_EQ_INT(0, failed);
  OK(total > 2 * GEN_STATE_CHUNK);
  OK(most <= GEN_STATE_CHUNK + 9);
  /* Nothing is at path before the close. */
  char *data;
  size_t len;
  CHECK_ZERO(gen_state_read(path, SIZE_MAX, &data, &len));
  EXPECT_EQ_STR("old", data);
  free(data);
  CHECK_ZERO(gen_state_stream_close(&s, true));
  CHECK_ZERO(gen_state_read(path, SIZE_MAX, &data, &len));
  EXPECT_EQ_INT(total, len);
  OK(strncmp(data, "00000000,00000001,", 18) == 0);
  OK(strcmp(data + len - 9, "00019999,") == 0);
  free(data);
  EXPECT_EQ_INT(1, count_files(sub));
  /* Not committed: the old file stays and the temporary one goes. */
  CHECK_ZERO(gen_state_stream_open(&s, path));
  CHECK_ZERO(gen_buf_add_str(&s.buf, "half"));
  EXPECT_EQ_INT(-ECANCELED, gen_state_stream_close(&s, false));
  CHECK_ZERO(gen_state_read(path, SIZE_MAX, &data, &len));
  EXPECT_EQ_INT(total, len);
  free(data);
  EXPECT_EQ_INT(1, count_files(sub));
  /* A stream that cannot open fails at its close too. */
  OK(gen_state_stream_open(&s, "/nonexistent-dir/x/state") < 0);
  CHECK_ZERO(gen_buf_add_str(&s.buf, "x"));
  OK(gen_state_stream_flush(&s) < 0);
  OK(gen_state_stream_close(&s, true) < 0);
  return 0;
}

DEF_TEST(write_into_missing_dir_fails_cleanly) {
  OK(gen_state_write("/nonexistent-dir/x/state", "x", 1) < 0);
  return 0;
}

DEF_TEST(default_dir_under_basedir) {
  char buf[256];
  gen_state_default_dir(buf, sizeof(buf));
  EXPECT_EQ_STR("/tmp/collectd-genesys-test/genesys", buf);
  return 0;
}

/* A directory that cannot be made: the failure in the org's line. */
DEF_TEST(path_failure_logged_as_the_orgs) {
  char file[300], sub[320], path[512];
  snprintf(file, sizeof(file), "%s/plain", dir);
  OK(gen_state_write(file, "x", 1) == 0);
  snprintf(sub, sizeof(sub), "%s/under", file); /* under a regular file */
  mock_log_reset();
  gen_log_org_t who = {"genesys_test", "acme"};
  OK(gen_state_path_logged(&who, sub, "stem", "acme", "", path, sizeof(path)) !=
     0);
  OK(mock_log_contains("genesys_test plugin: Org \"acme\": "));
  OK(gen_state_path_logged(&who, dir, "stem", "acme", "", path, sizeof(path)) ==
     0);
  return 0;
}

static int take_line(void *ud, char *text, size_t len) {
  gen_buf_t *b = ud;
  if (strcmp(text, "stop") == 0)
    return 7;
  gen_buf_add(b, text, len);
  return gen_buf_add(b, "|", 1);
}

/* The journal primitive: an append that fails part-way is cut back off, and
 * the reader takes whole lines only, up to where its caller stops it. */
DEF_TEST(journal_append_whole_or_cut_back) {
  char path[256];
  snprintf(path, sizeof(path), "%s/journal", dir);
  gen_state_append_t a;
  CHECK_ZERO(gen_state_append_open(&a, path, true));
  CHECK_ZERO(gen_state_append(&a, "one\ntwo\n", 8));
  EXPECT_EQ_INT(8, a.len);
  /* A file size limit makes the next write stop after 4 of its 12 bytes
   * (EFBIG): what it put is cut back off. */
  struct rlimit old, small = {.rlim_cur = 12, .rlim_max = RLIM_INFINITY};
  getrlimit(RLIMIT_FSIZE, &old);
  small.rlim_max = old.rlim_max;
  signal(SIGXFSZ, SIG_IGN);
  CHECK_ZERO(setrlimit(RLIMIT_FSIZE, &small));
  int status = gen_state_append(&a, "three\nfour\n", 12);
  setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_EQ_INT(-EFBIG, status);
  OK(!a.torn);
  EXPECT_EQ_INT(8, a.len);
  struct stat st;
  CHECK_ZERO(stat(path, &st));
  EXPECT_EQ_INT(8, st.st_size);
  CHECK_ZERO(gen_state_append(&a, "stop\nfive\nsix", 14));
  gen_state_append_close(&a);
  /* Reopened, it appends after what it holds. */
  CHECK_ZERO(gen_state_append_open(&a, path, false));
  EXPECT_EQ_INT(22, a.len);
  gen_state_append_close(&a);

  gen_buf_t got;
  gen_buf_init(&got, SIZE_MAX);
  int64_t good = 0;
  bool torn = true;
  FILE *f = fopen(path, "r");
  EXPECT_EQ_INT(7, gen_state_lines(f, take_line, &got, &good, &torn));
  fclose(f);
  EXPECT_EQ_STR("one|two|", got.data);
  EXPECT_EQ_INT(8, good);
  OK(!torn);
  /* Past the stop: five, then the torn last line ("six", no newline). */
  gen_buf_reset(&got);
  f = fopen(path, "r");
  fseek(f, 13, SEEK_SET);
  EXPECT_EQ_INT(0, gen_state_lines(f, take_line, &got, NULL, &torn));
  fclose(f);
  EXPECT_EQ_STR("five|", got.data);
  OK(torn);
  gen_buf_free(&got);
  /* A file that cannot be cut back (a device) says so. */
  CHECK_ZERO(gen_state_append_open(&a, "/dev/full", false));
  OK(gen_state_append(&a, "x\n", 2) < 0);
  OK(a.torn);
  gen_state_append_close(&a);
  return 0;
}

int main(void) {
  if (mock_tempdir(dir) == NULL)
    return 1;
  RUN_TEST(write_read_replace);
  RUN_TEST(json_round_trip_and_corruption);
  RUN_TEST(load_each_line_or_the_whole_document);
  RUN_TEST(load_rows_go_on_past_a_bad_line);
  RUN_TEST(stream_in_chunks_or_not_at_all);
  RUN_TEST(write_into_missing_dir_fails_cleanly);
  RUN_TEST(journal_append_whole_or_cut_back);
  RUN_TEST(default_dir_under_basedir);
  RUN_TEST(path_failure_logged_as_the_orgs);
  if (mock_rmtree(dir) != 0)
    return 1;
  END_TEST;
}
