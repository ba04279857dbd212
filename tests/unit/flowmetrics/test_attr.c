/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_attr: attribute-name formats, counting each name once
 * per conversation, expiry and eviction, the name limit, and surviving a
 * restart through snapshot and journal. */
#include "plugin_mock.h"

#include "gen_attr.h"
#include "gen_json.h"
#include "gen_state.h"
#include "gf_state.h"

#include "collectd/core/testing.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

/* Whose lines the module under test writes. */
static const gen_log_org_t test_who = {"test", "acme"};

static gen_attr_options_t options = {
    .max_series = 100,
    .max_conversations = 1000,
    .open_ttl = TIME_T_TO_CDTIME_T(3600),
    .finished_ttl = TIME_T_TO_CDTIME_T(60),
    .overflow_name = "overflow",
    .who = &test_who,
};

DEF_TEST(default_format) {
  gen_attr_format_t *f;
  char err[256], flow[GEN_ATTR_NAME_MAX], metric[GEN_ATTR_NAME_MAX];
  EXPECT_EQ_INT(0, gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err)));
  OK(gen_attr_format_match(
      f, "CustomerRoutingMetric_Unknown(2023-03-05T08:18:04.568Z)", flow,
      metric));
  EXPECT_EQ_STR("CustomerRouting", flow);
  EXPECT_EQ_STR("Unknown", metric);
  OK(gen_attr_format_match(f, "SalesENIvr01Metric_Menu(2026-05-14T10:00:00Z)",
                           flow, metric));
  EXPECT_EQ_STR("SalesENIvr01", flow);
  EXPECT_EQ_STR("Menu", metric);
  /* Not metric attributes: no time, a time that is no time, other names. */
  OK(!gen_attr_format_match(f, "AccountID", flow, metric));
  OK(!gen_attr_format_match(f, "FlowMetric_X", flow, metric));
  OK(!gen_attr_format_match(f, "FlowMetric_X(yesterday)", flow, metric));
  OK(!gen_attr_format_match(f, "FlowMetric_X(2026-13-45T99:00:00Z)", flow,
                            metric));
  OK(!gen_attr_format_match(f, "Metric_X(2026-05-14T10:00:00Z)", flow, metric));
  gen_attr_format_free(f);
  return 0;
}

DEF_TEST(custom_format_and_refusals) {
  gen_attr_format_t *f;
  char err[256], flow[GEN_ATTR_NAME_MAX], metric[GEN_ATTR_NAME_MAX];
  /* metric:<metric>:<flow>, no time */
  EXPECT_EQ_INT(0, gen_attr_format_create("^metric:([a-z]+):([A-Za-z]+)$", 2, 1,
                                          0, &f, err, sizeof(err)));
  OK(gen_attr_format_match(f, "metric:menu:Billing", flow, metric));
  EXPECT_EQ_STR("Billing", flow);
  EXPECT_EQ_STR("menu", metric);
  OK(!gen_attr_format_match(f, "metric:Menu:Billing", flow, metric));
  gen_attr_format_free(f);
  EXPECT_EQ_INT(-EINVAL, gen_attr_format_create("^(unclosed", 1, 1, 0, &f, err,
                                                sizeof(err)));
  OK(strstr(err, "regular expression") != NULL);
  EXPECT_EQ_INT(-EINVAL, gen_attr_format_create("^(a)(b)$", 1, 3, 0, &f, err,
                                                sizeof(err)));
  EXPECT_EQ_INT(-EINVAL, gen_attr_format_create("^(a)(b)$", 1, 1, 0, &f, err,
                                                sizeof(err)));
  return 0;
}

typedef struct {
  char flow[64], metric[64];
  uint64_t total;
  int calls;
} last_t;

static void remember(void *ud, const char *flow, const char *metric,
                     uint64_t total) {
  last_t *l = ud;
  snprintf(l->flow, sizeof(l->flow), "%s", flow);
  snprintf(l->metric, sizeof(l->metric), "%s", metric);
  l->total = total;
  l->calls++;
}

typedef struct {
  const char *flow, *metric;
  uint64_t total;
} find_t;

static void find_total(void *ud, const char *flow, const char *metric,
                       uint64_t total) {
  find_t *f = ud;
  if (strcmp(flow, f->flow) == 0 && strcmp(metric, f->metric) == 0)
    f->total = total;
}

static uint64_t total_of(gen_attr_ledger_t *l, const char *flow,
                         const char *metric) {
  find_t f = {flow, metric, 0};
  gen_attr_foreach(l, find_total, &f);
  return f.total;
}

#define A1 "IvrMetric_Menu(2026-05-14T10:00:00Z)"
#define A2 "IvrMetric_Menu(2026-05-14T10:00:05Z)"
#define A3 "IvrMetric_Agent(2026-05-14T10:00:07Z)"

DEF_TEST(each_name_once_per_conversation) {
  gen_attr_format_t *f;
  char err[128];
  gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err));
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, NULL);
  last_t last = {0};
  cdtime_t now = TIME_T_TO_CDTIME_T(1000000);
  const char *ev1[] = {"AccountID", A1};
  const char *ev2[] = {"AccountID", A1, A2};
  const char *ev3[] = {A1, A2, A3};
  EXPECT_EQ_INT(1,
                gen_attr_observe(l, "c1", ev1, 2, false, now, remember, &last));
  EXPECT_EQ_STR("Ivr", last.flow);
  EXPECT_EQ_STR("Menu", last.metric);
  EXPECT_EQ_INT(1, last.total);
  /* Later events repeat every attribute: only the new ones count. */
  EXPECT_EQ_INT(1,
                gen_attr_observe(l, "c1", ev2, 3, false, now, remember, &last));
  EXPECT_EQ_INT(2, last.total);
  EXPECT_EQ_INT(1,
                gen_attr_observe(l, "c1", ev3, 3, false, now, remember, &last));
  EXPECT_EQ_INT(0,
                gen_attr_observe(l, "c1", ev3, 3, false, now, remember, &last));
  /* The same names in another conversation count again. */
  EXPECT_EQ_INT(3, gen_attr_observe(l, "c2", ev3, 3, false, now, NULL, NULL));
  EXPECT_EQ_INT(4, total_of(l, "Ivr", "Menu"));
  EXPECT_EQ_INT(2, total_of(l, "Ivr", "Agent"));
  EXPECT_EQ_INT(2, gen_attr_conversations(l));
  gen_attr_stats_t *st = gen_attr_stats(l);
  EXPECT_EQ_INT(6, atomic_load(&st->counted));
  /* Metric attributes seen, repeats included: 1 + 2 + 3 + 3 + 3. */
  EXPECT_EQ_INT(12, atomic_load(&st->attributes));
  /* No metric attribute: no conversation kept. */
  const char *plain[] = {"AccountID"};
  EXPECT_EQ_INT(0, gen_attr_observe(l, "c3", plain, 1, false, now, NULL, NULL));
  EXPECT_EQ_INT(2, gen_attr_conversations(l));
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

DEF_TEST(expiry_and_eviction) {
  gen_attr_format_t *f;
  char err[128];
  gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err));
  gen_attr_options_t small = options;
  small.max_conversations = 3;
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &small, NULL);
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1000000);
  const char *ev[] = {A1};
  gen_attr_observe(l, "open", ev, 1, false, t0, NULL, NULL);
  gen_attr_observe(l, "done", ev, 1, true, t0, NULL, NULL);
  /* A finished conversation goes after finished_ttl, an open one lives on. */
  gen_attr_expire(l, t0 + TIME_T_TO_CDTIME_T(61));
  EXPECT_EQ_INT(1, gen_attr_conversations(l));
  EXPECT_EQ_INT(1, atomic_load(&gen_attr_stats(l)->expired));
  /* While remembered, repeats do not count. */
  EXPECT_EQ_INT(0, gen_attr_observe(l, "open", ev, 1, false,
                                    t0 + TIME_T_TO_CDTIME_T(100), NULL, NULL));
  gen_attr_expire(l, t0 + TIME_T_TO_CDTIME_T(100 + 3599));
  EXPECT_EQ_INT(1, gen_attr_conversations(l));
  gen_attr_expire(l, t0 + TIME_T_TO_CDTIME_T(100 + 3600));
  EXPECT_EQ_INT(0, gen_attr_conversations(l));
  /* Past max_conversations the least recently seen is forgotten. */
  gen_attr_observe(l, "a", ev, 1, false, t0, NULL, NULL);
  gen_attr_observe(l, "b", ev, 1, false, t0, NULL, NULL);
  gen_attr_observe(l, "c", ev, 1, false, t0, NULL, NULL);
  gen_attr_observe(l, "a", ev, 1, false, t0, NULL, NULL); /* a is fresh */
  gen_attr_observe(l, "d", ev, 1, false, t0, NULL, NULL); /* evicts b */
  EXPECT_EQ_INT(3, gen_attr_conversations(l));
  EXPECT_EQ_INT(1, atomic_load(&gen_attr_stats(l)->evicted));
  EXPECT_EQ_INT(0, gen_attr_observe(l, "a", ev, 1, false, t0, NULL, NULL));
  EXPECT_EQ_INT(1, gen_attr_observe(l, "b", ev, 1, false, t0, NULL, NULL));
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

DEF_TEST(name_limit_overflows) {
  gen_attr_format_t *f;
  char err[128];
  gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err));
  gen_attr_options_t two = options;
  two.max_series = 2;
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &two, NULL);
  cdtime_t now = TIME_T_TO_CDTIME_T(1000000);
  const char *ev[] = {
      "AMetric_x(2026-05-14T10:00:00Z)", "BMetric_x(2026-05-14T10:00:00Z)",
      "CMetric_x(2026-05-14T10:00:00Z)", "DMetric_y(2026-05-14T10:00:00Z)",
      "AMetric_x(2026-05-14T10:00:01Z)"};
  mock_log_reset();
  EXPECT_EQ_INT(5, gen_attr_observe(l, "c1", ev, 5, false, now, NULL, NULL));
  EXPECT_EQ_INT(2, total_of(l, "A", "x"));
  EXPECT_EQ_INT(1, total_of(l, "B", "x"));
  EXPECT_EQ_INT(2, total_of(l, "overflow", "overflow"));
  EXPECT_EQ_INT(0, total_of(l, "C", "x"));
  EXPECT_EQ_INT(3, gen_attr_series(l));
  EXPECT_EQ_INT(2, atomic_load(&gen_attr_stats(l)->over_limit));
  OK(mock_log_contains("MaxMetricNames"));
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

/* The lines gen_attr_snapshot_write() printed, as a document a test can
 * edit: {"lines":true,"series":[...],"conversation_rows":[...],
 * "generation":g}; restore_from() gives them back as lines. */
static json_object *lines_doc(char *text, uint64_t g) {
  json_object *doc = json_object_new_object();
  json_object *series = json_object_new_array(),
              *rows = json_object_new_array();
  for (char *line = text, *nl; line != NULL && *line != '\0'; line = nl + 1) {
    nl = strchr(line, '\n');
    if (nl == NULL)
      break;
    *nl = '\0';
    json_object *o = json_tokener_parse(line), *v = NULL;
    if (json_object_object_get_ex(o, "series", &v))
      json_object_array_add(series, json_object_get(v));
    else if (json_object_object_get_ex(o, "conv", &v))
      json_object_array_add(rows, json_object_get(v));
    json_object_put(o);
  }
  json_object_object_add(doc, "lines", json_object_new_boolean(true));
  json_object_object_add(doc, "series", series);
  json_object_object_add(doc, "conversation_rows", rows);
  json_object_object_add(doc, "generation", json_object_new_int64((int64_t)g));
  return doc;
}

/* The ledger's snapshot as gen_attr_snapshot_write() prints it (lines_doc);
 * *generation (when not NULL) its journal generation. */
static json_object *snapshot_of(gen_attr_ledger_t *l, uint64_t *generation) {
  gen_buf_t text = GEN_BUF_INIT(SIZE_MAX);
  uint64_t g = 0;
  json_object *doc = NULL;
  if (gen_attr_snapshot_write(l, &text, NULL, NULL, NULL, &g) == 0)
    doc = lines_doc(text.data != NULL ? text.data : (char[]){""}, g);
  gen_buf_free(&text);
  if (generation != NULL)
    *generation = g;
  return doc;
}

/* One line {"<kind>":value} to the ledger, as the state file's reader
 * gives it. */
static void take_line(gen_attr_ledger_t *l, const char *kind,
                      json_object *value, size_t number) {
  json_object *line = json_object_new_object();
  json_object_object_add(line, kind, json_object_get(value));
  gen_attr_take_line(l, line, number);
  json_object_put(line);
}

/* A restart from snap: a lines_doc() as a restart reads lines
 * (gen_attr_take_line, gen_attr_recover), else a document of the form
 * before lines (gen_attr_restore; NULL: none). */
static int restore_from(gen_attr_ledger_t *l, json_object *snap, char *err,
                        size_t err_size) {
  json_object *lines = NULL;
  if (snap == NULL || !json_object_object_get_ex(snap, "lines", &lines))
    return gen_attr_restore(l, snap, err, err_size);
  json_object *series = json_object_object_get(snap, "series");
  json_object *rows = json_object_object_get(snap, "conversation_rows");
  for (size_t i = 0; i < json_object_array_length(series); i++)
    take_line(l, "series", json_object_array_get_idx(series, i), i);
  for (size_t i = 0; i < json_object_array_length(rows); i++)
    take_line(l, "conv", json_object_array_get_idx(rows, i), i);
  int64_t g = 0;
  gen_json_get_int64(snap, "generation", &g);
  return gen_attr_recover(l, (uint64_t)g, err, err_size);
}

/* A total after a restart from snapshot (NULL: none) and journals; -1
 * when the restore fails. */
static int64_t total_after_restart(gen_attr_format_t *f, const char *base,
                                   json_object *snapshot, const char *flow,
                                   const char *metric) {
  char err[128];
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, base);
  int64_t total = restore_from(l, snapshot, err, sizeof(err)) == 0
                      ? (int64_t)total_of(l, flow, metric)
                      : -1;
  gen_attr_ledger_free(l);
  return total;
}

/* Snapshot + journal: a restart (even a kill between snapshot and the
 * journal clean-up) counts nothing twice and loses nothing journalled. */
DEF_TEST(restart_from_snapshot_and_journal) {
  char dir[] = "/tmp/gen-attr-XXXXXX";
  CHECK_NOT_NULL(mock_tempdir(dir));
  char base[256];
  snprintf(base, sizeof(base), "%s/state.journal", dir);
  gen_attr_format_t *f;
  char err[128];
  gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err));
  cdtime_t now = cdtime();
  const char *ev1[] = {A1};
  const char *ev2[] = {A1, A2};
  const char *ev3[] = {A1, A2, A3};

  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  gen_attr_observe(l, "c1", ev1, 1, false, now, NULL, NULL);
  json_object *snap = snapshot_of(l, NULL);
  gen_attr_observe(l, "c1", ev2, 2, false, now, NULL, NULL); /* journal only */
  /* "Crash": the snapshot was written but the old journal not removed. */
  gen_attr_ledger_free(l);

  l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  EXPECT_EQ_INT(2, total_of(l, "Ivr", "Menu"));
  /* What was counted before the crash does not count again. */
  EXPECT_EQ_INT(1, gen_attr_observe(l, "c1", ev3, 3, false, now, NULL, NULL));
  EXPECT_EQ_INT(2, total_of(l, "Ivr", "Menu"));
  EXPECT_EQ_INT(1, total_of(l, "Ivr", "Agent"));
  uint64_t g2;
  json_object *snap2 = snapshot_of(l, &g2);
  gen_attr_snapshot_stored(l, g2);
  gen_attr_ledger_free(l);

  /* Restore from the second snapshot with every journal before it gone. */
  l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(0, restore_from(l, snap2, err, sizeof(err)));
  EXPECT_EQ_INT(2, total_of(l, "Ivr", "Menu"));
  EXPECT_EQ_INT(1, total_of(l, "Ivr", "Agent"));
  EXPECT_EQ_INT(0, gen_attr_observe(l, "c1", ev3, 3, false, now, NULL, NULL));
  /* A journal line cut by a crash mid-write is ignored. */
  uint64_t g;
  json_object *snap3 = snapshot_of(l, &g);
  char path[300];
  snprintf(path, sizeof(path), "%s.%llu", base, (unsigned long long)g);
  FILE *fh = fopen(path, "a");
  fputs("{\"c\":\"c9\",\"h\":\"00000000000000", fh);
  fclose(fh);
  gen_attr_ledger_free(l);
  EXPECT_EQ_INT(2, total_after_restart(f, base, snap3, "Ivr", "Menu"));

  json_object_put(snap);
  json_object_put(snap2);
  json_object_put(snap3);
  gen_attr_format_free(f);
  OK(mock_rmtree(dir) == 0);
  return 0;
}

/* The descriptor this process holds open on path, -1 when none. */
static int fd_of(const char *path) {
  DIR *d = opendir("/proc/self/fd");
  int found = -1;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL && found < 0) {
    char link[300], target[512];
    snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n > 0) {
      target[n] = '\0';
      if (strcmp(target, path) == 0)
        found = atoi(e->d_name);
    }
  }
  if (d != NULL)
    closedir(d);
  return found;
}

/* A full disk under the journal file: its descriptor writes to /dev/full
 * (every write: ENOSPC). True when done. */
static bool journal_disk_full(const char *file) {
  int fd = fd_of(file);
  int full = open("/dev/full", O_WRONLY);
  bool done = fd >= 0 && full >= 0 && dup2(full, fd) == fd;
  if (full >= 0)
    close(full);
  return done;
}

/* A full disk: an event whose journal line cannot be written is not
 * counted (the receiver does not acknowledge it), the journal keeps no
 * fragment, and once there is room the resent event counts, once, also
 * after a restart. /dev/full in place of the journal's file stands for the
 * full disk (every write: ENOSPC). */
DEF_TEST(full_disk_counts_nothing_unjournalled) {
  char dir[] = "/tmp/gen-attr-XXXXXX";
  CHECK_NOT_NULL(mock_tempdir(dir));
  char base[256], file0[300];
  snprintf(base, sizeof(base), "%s/state.journal", dir);
  snprintf(file0, sizeof(file0), "%s.0", base);
  gen_attr_format_t *f;
  char err[128];
  gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err));
  cdtime_t now = cdtime();
  const char *ev1[] = {A1};
  const char *ev2[] = {A1, A2};

  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  EXPECT_EQ_INT(
      1, gen_attr_observe_durable(l, "c1", ev1, 1, false, now, NULL, NULL));
  OK(journal_disk_full(file0));

  int status =
      gen_attr_observe_durable(l, "c2", ev2, 2, false, now, NULL, NULL);
  EXPECT_EQ_INT(-ENOSPC, status);
  EXPECT_EQ_INT(1, total_of(l, "Ivr", "Menu"));
  EXPECT_EQ_INT(1, (int)atomic_load(&gen_attr_stats(l)->journal_errors));
  EXPECT_EQ_INT(1, (int)atomic_load(&gen_attr_stats(l)->counted));
  /* Room again (a new journal file: /dev/full could not be cut back): the
   * resent event counts. */
  EXPECT_EQ_INT(
      2, gen_attr_observe_durable(l, "c2", ev2, 2, false, now, NULL, NULL));
  EXPECT_EQ_INT(3, total_of(l, "Ivr", "Menu"));
  /* The failed append moved the journal on to a new file. */
  int fd = fd_of(file0);
  int next = -1;
  for (int g = 1; g < 4 && next < 0; g++) {
    char path[300];
    snprintf(path, sizeof(path), "%s.%d", base, g);
    next = fd_of(path);
  }
  OK(fd < 0 && next >= 0);
  gen_attr_ledger_free(l);

  /* A restart replays exactly what was counted. */
  EXPECT_EQ_INT(3, total_after_restart(f, base, NULL, "Ivr", "Menu"));
  gen_attr_format_free(f);
  OK(mock_rmtree(dir) == 0);
  return 0;
}

/* n distinct metric attribute names "IvrMetric_M<i>(<time>)", i from first
 * (the caller frees names[0] and the array). */
static const char **attr_names(size_t first, size_t n) {
  const char **names = calloc(n, sizeof(*names));
  char *text = calloc(n, 64);
  for (size_t i = 0; i < n; i++) {
    snprintf(text + 64 * i, 64, "IvrMetric_M%zu(2026-05-14T10:00:00Z)",
             first + i);
    names[i] = text + 64 * i;
  }
  return names;
}

static gen_attr_format_t *default_format(void) {
  gen_attr_format_t *f = NULL;
  char err[128];
  gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err));
  return f;
}

/* The test options with another max_names. */
static gen_attr_options_t max_names(size_t n) {
  gen_attr_options_t o = options;
  o.max_names = n;
  return o;
}

static void attr_names_free(const char **names) {
  free((void *)names[0]);
  free(names);
}

/* The names a conversation counts are bounded: past max_names its new
 * names are refused (neither counted nor remembered), each refused name
 * counted once in the stats although every later event repeats it. */
DEF_TEST(names_per_conversation_bounded) {
  gen_attr_format_t *f = default_format();
  gen_attr_options_t three = max_names(3);
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &three, NULL);
  gen_attr_stats_t *st = gen_attr_stats(l);
  cdtime_t now = TIME_T_TO_CDTIME_T(1000000);
  const char **names = attr_names(0, 5);
  mock_log_reset();
  EXPECT_EQ_INT(2, gen_attr_observe(l, "c1", names, 2, false, now, NULL, NULL));
  /* Five names, two known: one more counts, two are refused. */
  EXPECT_EQ_INT(1, gen_attr_observe(l, "c1", names, 5, false, now, NULL, NULL));
  EXPECT_EQ_INT(3, total_of(l, "Ivr", "M0") + total_of(l, "Ivr", "M1") +
                       total_of(l, "Ivr", "M2") + total_of(l, "Ivr", "M3") +
                       total_of(l, "Ivr", "M4"));
  EXPECT_EQ_INT(0, total_of(l, "Ivr", "M3") + total_of(l, "Ivr", "M4"));
  EXPECT_EQ_INT(3, gen_attr_series(l)); /* a refused name makes no series */
  EXPECT_EQ_INT(2, atomic_load(&st->refused));
  OK(mock_log_contains("MaxAttributesPerConversation"));
  OK(mock_log_contains(
      "test plugin: Org \"acme\": a conversation has more than 3"));
  /* The next event repeats them: nothing new is refused. */
  EXPECT_EQ_INT(0, gen_attr_observe(l, "c1", names, 5, false, now, NULL, NULL));
  EXPECT_EQ_INT(2, atomic_load(&st->refused));
  EXPECT_EQ_INT(3, atomic_load(&st->counted));
  /* Other conversations have their own bound. */
  EXPECT_EQ_INT(
      3, gen_attr_observe(l, "c2", names + 2, 3, false, now, NULL, NULL));
  EXPECT_EQ_INT(1, total_of(l, "Ivr", "M4"));
  attr_names_free(names);
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

/* After a restart from the journal the conversation is still full: its
 * journalled names stay known and new ones are refused. */
DEF_TEST(names_bound_survives_restart) {
  char dir[] = "/tmp/gen-attr-XXXXXX";
  CHECK_NOT_NULL(mock_tempdir(dir));
  char base[256];
  snprintf(base, sizeof(base), "%s/state.journal", dir);
  gen_attr_format_t *f = default_format();
  char err[128];
  gen_attr_options_t three = max_names(3);
  cdtime_t now = cdtime();
  const char **names = attr_names(0, 5);

  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &three, base);
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  EXPECT_EQ_INT(
      3, gen_attr_observe_durable(l, "c1", names, 4, false, now, NULL, NULL));
  EXPECT_EQ_INT(1, atomic_load(&gen_attr_stats(l)->refused));
  gen_attr_ledger_free(l);

  l = gen_attr_ledger_create(f, &three, base);
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  EXPECT_EQ_INT(3, gen_attr_series(l));
  EXPECT_EQ_INT(
      0, gen_attr_observe_durable(l, "c1", names, 5, false, now, NULL, NULL));
  EXPECT_EQ_INT(0, total_of(l, "Ivr", "M3") + total_of(l, "Ivr", "M4"));
  EXPECT_EQ_INT(2, atomic_load(&gen_attr_stats(l)->refused));
  EXPECT_EQ_INT(0, atomic_load(&gen_attr_stats(l)->counted));
  /* And from a snapshot of that state. */
  uint64_t g;
  json_object *snap = snapshot_of(l, &g);
  gen_attr_snapshot_stored(l, g);
  gen_attr_ledger_free(l);
  l = gen_attr_ledger_create(f, &three, base);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  EXPECT_EQ_INT(
      0, gen_attr_observe_durable(l, "c1", names, 5, false, now, NULL, NULL));
  EXPECT_EQ_INT(1, total_of(l, "Ivr", "M2"));
  EXPECT_EQ_INT(0, total_of(l, "Ivr", "M3"));
  gen_attr_ledger_free(l);

  json_object_put(snap);
  attr_names_free(names);
  gen_attr_format_free(f);
  OK(mock_rmtree(dir) == 0);
  return 0;
}

/* An event that cannot be journalled takes its names back out of the
 * conversation, leaving the known ones: known names counted, then an event
 * of all of them that fails, then the same event again. */
static int names_taken_back(size_t known, size_t all) {
  char dir[] = "/tmp/gen-attr-XXXXXX";
  CHECK_NOT_NULL(mock_tempdir(dir));
  char base[256], file0[300];
  snprintf(base, sizeof(base), "%s/state.journal", dir);
  snprintf(file0, sizeof(file0), "%s.0", base);
  gen_attr_format_t *f = default_format();
  char err[128];
  gen_attr_options_t many = max_names(4000);
  cdtime_t now = cdtime();
  const char **names = attr_names(0, all);

  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &many, base);
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  EXPECT_EQ_INT(known, gen_attr_observe_durable(l, "c1", names, known, false,
                                                now, NULL, NULL));
  OK(journal_disk_full(file0));
  EXPECT_EQ_INT(-ENOSPC, gen_attr_observe_durable(l, "c1", names, all, false,
                                                  now, NULL, NULL));
  EXPECT_EQ_INT(known, atomic_load(&gen_attr_stats(l)->counted));
  /* Room again (a new journal file): the new names count, the old are
   * known. */
  EXPECT_EQ_INT(all - known, gen_attr_observe_durable(l, "c1", names, all,
                                                      false, now, NULL, NULL));
  EXPECT_EQ_INT(
      0, gen_attr_observe_durable(l, "c1", names, all, false, now, NULL, NULL));
  EXPECT_EQ_INT(all, atomic_load(&gen_attr_stats(l)->counted));
  gen_attr_ledger_free(l);
  /* The journal holds each name once. */
  EXPECT_EQ_INT(1, total_after_restart(f, base, NULL, "Ivr", "M0"));

  attr_names_free(names);
  gen_attr_format_free(f);
  OK(mock_rmtree(dir) == 0);
  return 0;
}

DEF_TEST(unjournalled_names_taken_back) {
  /* Far past the names a conversation holds inline: the sorted array
   * closes over the holes. */
  CHECK_ZERO(names_taken_back(1000, 3000));
  /* Past them and back: the conversation holds its few inline again. */
  CHECK_ZERO(names_taken_back(3, 7));
  return 0;
}

/* An event whose later names add series (the series array grows) still
 * counts its earlier names in the series they belong to. */
DEF_TEST(new_series_in_an_event_keep_earlier_counts) {
  gen_attr_format_t *f = default_format();
  gen_attr_options_t o = options;
  o.max_series = 10000;
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &o, NULL);
  cdtime_t now = TIME_T_TO_CDTIME_T(1000000);
  const char *first[] = {A1};
  EXPECT_EQ_INT(1, gen_attr_observe(l, "c1", first, 1, false, now, NULL, NULL));
  /* A2 (series Ivr/Menu, known) first, then 2,000 new series. */
  const char **names = attr_names(0, 2001);
  names[0] = A2;
  EXPECT_EQ_INT(2001,
                gen_attr_observe(l, "c1", names, 2001, false, now, NULL, NULL));
  EXPECT_EQ_INT(2, total_of(l, "Ivr", "Menu"));
  EXPECT_EQ_INT(1, total_of(l, "Ivr", "M1"));
  EXPECT_EQ_INT(1, total_of(l, "Ivr", "M2000"));
  names[0] = names[1] - 64; /* attr_names' own text, for the free */
  attr_names_free(names);
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

/* Names counted per conversation: a few in its entry, more in a sorted
 * array of their own. Past the few, every name is still counted once, in
 * any order, and a snapshot gives them all back. */
DEF_TEST(many_names_per_conversation) {
  gen_attr_format_t *f = default_format();
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, NULL);
  cdtime_t now = TIME_T_TO_CDTIME_T(1000000);
  const char **names = attr_names(0, 40);
  /* One name an event, then all of them backwards: each counts once. */
  for (size_t i = 0; i < 40; i++)
    EXPECT_EQ_INT(
        1, gen_attr_observe(l, "c1", names + i, 1, false, now, NULL, NULL));
  const char *backwards[40];
  for (size_t i = 0; i < 40; i++)
    backwards[i] = names[39 - i];
  EXPECT_EQ_INT(
      0, gen_attr_observe(l, "c1", backwards, 40, false, now, NULL, NULL));
  for (size_t i = 0; i < 40; i++)
    EXPECT_EQ_INT(
        0, gen_attr_observe(l, "c1", names + i, 1, false, now, NULL, NULL));
  EXPECT_EQ_INT(40, atomic_load(&gen_attr_stats(l)->counted));
  /* Another conversation counts the same names again, its first four in
   * the other order (one of the two orders is not ascending). */
  EXPECT_EQ_INT(
      4, gen_attr_observe(l, "c2", backwards + 36, 4, false, now, NULL, NULL));
  EXPECT_EQ_INT(
      36, gen_attr_observe(l, "c2", backwards, 40, false, now, NULL, NULL));
  EXPECT_EQ_INT(0,
                gen_attr_observe(l, "c2", names, 40, false, now, NULL, NULL));
  for (size_t i = 0; i < 40; i++)
    EXPECT_EQ_INT(
        0, gen_attr_observe(l, "c2", names + i, 1, false, now, NULL, NULL));
  json_object *snap = snapshot_of(l, NULL);
  json_object *convs = json_object_object_get(snap, "conversation_rows");
  CHECK_NOT_NULL(convs);
  EXPECT_EQ_INT(2, json_object_array_length(convs));
  /* "<key> <ms> <0|1>" and 40 names, a space before each */
  const char *row = json_object_get_string(json_object_array_get_idx(convs, 0));
  size_t spaces = 0;
  for (const char *p = row; *p != '\0'; p++)
    spaces += *p == ' ';
  EXPECT_EQ_INT(2 + 40, spaces);
  /* The ids are not kept: only their hashes are written. */
  OK(json_object_object_get(snap, "conversations") == NULL);
  OK(strstr(json_object_to_json_string(snap), "\"c1\"") == NULL);
  gen_attr_ledger_free(l);

  l = gen_attr_ledger_create(f, &options, NULL);
  char err[128];
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  EXPECT_EQ_INT(2, gen_attr_conversations(l));
  EXPECT_EQ_INT(0,
                gen_attr_observe(l, "c1", names, 40, false, now, NULL, NULL));
  EXPECT_EQ_INT(0,
                gen_attr_observe(l, "c2", names, 40, false, now, NULL, NULL));
  const char **more = attr_names(40, 1);
  EXPECT_EQ_INT(1, gen_attr_observe(l, "c1", more, 1, false, now, NULL, NULL));
  attr_names_free(more);
  json_object_put(snap);
  attr_names_free(names);
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

/* A name limit that is no power of two bounds a conversation whose names
 * left its entry; what passed the limit is refused once. */
DEF_TEST(name_limit_past_the_inline_names) {
  gen_attr_format_t *f = default_format();
  gen_attr_options_t six = max_names(6);
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &six, NULL);
  cdtime_t now = TIME_T_TO_CDTIME_T(1000000);
  const char **names = attr_names(0, 9);
  EXPECT_EQ_INT(5, gen_attr_observe(l, "c1", names, 5, false, now, NULL, NULL));
  EXPECT_EQ_INT(1, gen_attr_observe(l, "c1", names, 9, false, now, NULL, NULL));
  EXPECT_EQ_INT(0, gen_attr_observe(l, "c1", names, 9, false, now, NULL, NULL));
  EXPECT_EQ_INT(3, atomic_load(&gen_attr_stats(l)->refused));
  EXPECT_EQ_INT(6, atomic_load(&gen_attr_stats(l)->counted));
  attr_names_free(names);
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

/* Observes each of ids[0..n) once with A1; how many counted it. */
static int observe_each(gen_attr_ledger_t *l, const char *const *ids, size_t n,
                        bool finished, cdtime_t now) {
  const char *ev[] = {A1};
  int counted = 0;
  for (size_t i = 0; i < n; i++)
    counted += gen_attr_observe(l, ids[i], ev, 1, finished, now, NULL, NULL);
  return counted;
}

/* True when the ledger holds exactly ids[0..n), least recently seen first
 * (the order of its snapshot). */
static bool in_order(gen_attr_ledger_t *l, const char *const *ids, size_t n) {
  json_object *snap = snapshot_of(l, NULL);
  json_object *convs = json_object_object_get(snap, "conversation_rows");
  bool ok = convs != NULL && json_object_array_length(convs) == n;
  for (size_t i = 0; ok && i < n; i++) {
    char hex[18];
    snprintf(hex, sizeof(hex), "%016" PRIx64 " ", gen_hash_id(ids[i]));
    ok = strncmp(hex,
                 json_object_get_string(json_object_array_get_idx(convs, i)),
                 17) == 0;
  }
  json_object_put(snap);
  return ok;
}

/* Conversations forgotten from the middle of the recency list (expired
 * while older and newer ones stay) leave it whole: eviction then goes in
 * order of last sight, and forgotten conversations' room is taken again. */
DEF_TEST(forgetting_from_the_middle) {
  gen_attr_format_t *f = default_format();
  gen_attr_options_t five = options;
  five.max_conversations = 5;
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &five, NULL);
  gen_attr_stats_t *st = gen_attr_stats(l);
  cdtime_t t0 = TIME_T_TO_CDTIME_T(1000000);
  const char *const open1[] = {"a"}, *const open2[] = {"c"},
                    *const open3[] = {"e"};
  const char *const done1[] = {"b"}, *const done2[] = {"d"};
  EXPECT_EQ_INT(1, observe_each(l, open1, 1, false, t0));
  EXPECT_EQ_INT(1, observe_each(l, done1, 1, true, t0));
  EXPECT_EQ_INT(1, observe_each(l, open2, 1, false, t0));
  EXPECT_EQ_INT(1, observe_each(l, done2, 1, true, t0));
  EXPECT_EQ_INT(1, observe_each(l, open3, 1, false, t0));
  /* b and d (finished) go; a, c and e stay. */
  gen_attr_expire(l, t0 + TIME_T_TO_CDTIME_T(61));
  EXPECT_EQ_INT(3, gen_attr_conversations(l));
  EXPECT_EQ_INT(2, atomic_load(&st->expired));
  const char *const ace[] = {"a", "c", "e"};
  OK(in_order(l, ace, 3));
  /* c, now between a and e, is seen again: it goes last. */
  EXPECT_EQ_INT(0, observe_each(l, open2, 1, false, t0));
  const char *const aec[] = {"a", "e", "c"};
  OK(in_order(l, aec, 3));
  /* The room of b and d is taken without eviction. */
  const char *const fg[] = {"f", "g"};
  EXPECT_EQ_INT(2, observe_each(l, fg, 2, false, t0));
  const char *const aecfg[] = {"a", "e", "c", "f", "g"};
  OK(in_order(l, aecfg, 5));
  EXPECT_EQ_INT(0, atomic_load(&st->evicted));
  /* A sixth evicts the least recently seen: a. */
  const char *const h[] = {"h"};
  EXPECT_EQ_INT(1, observe_each(l, h, 1, false, t0));
  EXPECT_EQ_INT(1, atomic_load(&st->evicted));
  const char *const kept[] = {"c", "e", "f", "g", "h"};
  EXPECT_EQ_INT(0, observe_each(l, kept, 5, false, t0));
  EXPECT_EQ_INT(1, atomic_load(&st->evicted));
  OK(in_order(l, kept, 5));
  /* a comes back as new, evicting c (now the least recently seen). */
  EXPECT_EQ_INT(1, observe_each(l, open1, 1, false, t0));
  EXPECT_EQ_INT(2, atomic_load(&st->evicted));
  const char *const kept2[] = {"e", "f", "g", "h", "a"};
  OK(in_order(l, kept2, 5));
  EXPECT_EQ_INT(0, observe_each(l, kept2, 5, false, t0));
  EXPECT_EQ_INT(1, observe_each(l, open2, 1, false, t0));
  /* Ids never seen, or forgotten, are not found. */
  const char *const absent[] = {"b", "zz"};
  EXPECT_EQ_INT(2, observe_each(l, absent, 2, false, t0));
  EXPECT_EQ_INT(5, gen_attr_conversations(l));
  EXPECT_EQ_INT(5, atomic_load(&st->evicted));
  /* All expire; the ledger is empty and takes new ones. */
  gen_attr_expire(l, t0 + TIME_T_TO_CDTIME_T(3600));
  EXPECT_EQ_INT(0, gen_attr_conversations(l));
  EXPECT_EQ_INT(1, observe_each(l, open1, 1, false, t0));
  EXPECT_EQ_INT(1, gen_attr_conversations(l));
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

/* n ids "conv-<i>" from first (the caller frees ids[0] and the array). */
static const char **conv_ids(size_t first, size_t n) {
  const char **ids = calloc(n, sizeof(*ids));
  char *text = calloc(n, 24);
  for (size_t i = 0; i < n; i++) {
    snprintf(text + 24 * i, 24, "conv-%zu", first + i);
    ids[i] = text + 24 * i;
  }
  return ids;
}

/* The conversations' array grows past its first size (and, with no
 * MaxConversations, without a cap), each conversation still found; at the
 * cap, what is evicted leaves its room to the next. */
DEF_TEST(conversations_grow_and_reuse_room) {
  gen_attr_format_t *f = default_format();
  cdtime_t now = TIME_T_TO_CDTIME_T(1000000);
  const char **ids = conv_ids(0, 5000);
  gen_attr_options_t any = options;
  any.max_conversations = 0;
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &any, NULL);
  EXPECT_EQ_INT(5000, observe_each(l, ids, 5000, false, now));
  EXPECT_EQ_INT(5000, gen_attr_conversations(l));
  EXPECT_EQ_INT(0, observe_each(l, ids, 5000, true, now));
  EXPECT_EQ_INT(0, atomic_load(&gen_attr_stats(l)->evicted));
  gen_attr_ledger_free(l);

  /* 300: past the first 256 entries, and no power of two. */
  gen_attr_options_t cap = options;
  cap.max_conversations = 300;
  l = gen_attr_ledger_create(f, &cap, NULL);
  EXPECT_EQ_INT(1000, observe_each(l, ids, 1000, false, now));
  EXPECT_EQ_INT(300, gen_attr_conversations(l));
  EXPECT_EQ_INT(700, atomic_load(&gen_attr_stats(l)->evicted));
  /* The last 300 are known, the first 700 not. */
  EXPECT_EQ_INT(0, observe_each(l, ids + 700, 300, false, now));
  EXPECT_EQ_INT(700, atomic_load(&gen_attr_stats(l)->evicted));
  EXPECT_EQ_INT(300, observe_each(l, ids, 300, false, now));
  EXPECT_EQ_INT(300, gen_attr_conversations(l));
  EXPECT_EQ_INT(0, observe_each(l, ids, 300, false, now));
  gen_attr_ledger_free(l);
  attr_names_free(ids);
  gen_attr_format_free(f);
  return 0;
}

/* A snapshot of an earlier version, its conversations by id, is restored:
 * the names it lists stay counted. */
DEF_TEST(snapshot_with_conversation_ids_restored) {
  gen_attr_format_t *f = default_format();
  char err[128], text[512];
  snprintf(text, sizeof(text),
           "{\"generation\":0,\"series\":[[\"Ivr\",\"Menu\",5]],"
           "\"conversations\":[[\"c1\",1000,false,[\"%016" PRIx64 "\"]],"
           "[\"\",1000,false,[]],[\"c2\",1000,true,[]]]}",
           gen_hash_id(A1));
  json_object *snap = json_tokener_parse(text);
  CHECK_NOT_NULL(snap);
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, NULL);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  EXPECT_EQ_INT(2, gen_attr_conversations(l));
  cdtime_t now = cdtime();
  const char *ev[] = {A1, A2};
  EXPECT_EQ_INT(1, gen_attr_observe(l, "c1", ev, 2, false, now, NULL, NULL));
  EXPECT_EQ_INT(6, total_of(l, "Ivr", "Menu"));
  EXPECT_EQ_INT(2, gen_attr_conversations(l));
  json_object_put(snap);
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

/* A count we never wrote (1e300, saturated integer text, negative, beyond
 * 2^53, text) is refused alone, logged and counted: that series restarts at
 * zero, the other series and the conversations are restored (before, one
 * bad number refused the snapshot and its journal whole). A conversation
 * row not ours is forgotten alone. */
DEF_TEST(absurd_count_is_refused_alone) {
  char dir[] = "/tmp/gen-attr-XXXXXX";
  CHECK_NOT_NULL(mock_tempdir(dir));
  char base[256];
  snprintf(base, sizeof(base), "%s/state.journal", dir);
  gen_attr_format_t *f;
  char err[256];
  gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err));
  cdtime_t now = cdtime();
  const char *ev[] = {A1, A3};
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  gen_attr_observe(l, "c1", ev, 2, false, now, NULL, NULL);
  json_object *snap = snapshot_of(l, NULL);
  gen_attr_ledger_free(l);
  json_object *series = json_object_object_get(snap, "series");
  CHECK_NOT_NULL(series);
  EXPECT_EQ_STR("Menu", json_object_get_string(json_object_array_get_idx(
                            json_object_array_get_idx(series, 0), 1)));
  json_object *bad[] = {
      json_object_new_double(1e300), json_object_new_int64(INT64_MAX),
      json_object_new_int64(-1), json_object_new_int64(GEN_JSON_EXACT_MAX + 1),
      json_object_new_string("7")};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_object_array_put_idx(json_object_array_get_idx(series, 0), 2, bad[i]);
    mock_log_reset();
    l = gen_attr_ledger_create(f, &options, base);
    EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
    OK(mock_log_contains("metric attributes' series 0"));
    OK(mock_log_contains("that series restarts at zero"));
    EXPECT_EQ_INT(1, atomic_load(&gen_attr_stats(l)->state_refused));
    EXPECT_EQ_INT(1, gen_attr_series(l));
    EXPECT_EQ_INT(0, total_of(l, "Ivr", "Menu"));
    EXPECT_EQ_INT(1, total_of(l, "Ivr", "Agent"));
    EXPECT_EQ_INT(1, gen_attr_conversations(l));
    /* c1's names are known still: nothing counted twice. */
    EXPECT_EQ_INT(
        0, gen_attr_observe_durable(l, "c1", ev, 2, false, now, NULL, NULL));
    gen_attr_ledger_free(l);
  }
  /* The journal is open: an acknowledged event counts. */
  l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  EXPECT_EQ_INT(
      2, gen_attr_observe_durable(l, "c2", ev, 2, false, now, NULL, NULL));
  gen_attr_ledger_free(l);
  /* A conversation row not ours: forgotten alone, the series kept. */
  json_object_array_put_idx(json_object_array_get_idx(series, 0), 2,
                            json_object_new_int64(1));
  json_object *rows = json_object_object_get(snap, "conversation_rows");
  CHECK_NOT_NULL(rows);
  json_object_array_put_idx(rows, 0, json_object_new_string("zz 1 0"));
  mock_log_reset();
  l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  OK(mock_log_contains("metric attributes' conversation 0"));
  EXPECT_EQ_INT(1, atomic_load(&gen_attr_stats(l)->state_refused));
  EXPECT_EQ_INT(2, total_of(l, "Ivr", "Menu")); /* with c2's journal */
  EXPECT_EQ_INT(2, total_of(l, "Ivr", "Agent"));
  EXPECT_EQ_INT(1, gen_attr_conversations(l)); /* c2's, journalled */
  gen_attr_ledger_free(l);
  json_object_put(snap);
  gen_attr_format_free(f);
  OK(mock_rmtree(dir) == 0);
  return 0;
}

/* A series' total stops at 2^53, logged: saved beyond it, the next start
 * would have refused it. */
DEF_TEST(series_total_stops_at_2_53) {
  gen_attr_format_t *f;
  char err[256];
  gen_attr_format_create(NULL, 0, 0, 0, &f, err, sizeof(err));
  json_object *snap =
      json_tokener_parse("{\"series\":[[\"Ivr\",\"Menu\",9007199254740991]],"
                         "\"conversation_rows\":[],\"generation\":0}");
  CHECK_NOT_NULL(snap);
  mock_log_reset();
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, NULL);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  cdtime_t now = cdtime();
  const char *ev[] = {A1};
  const char *conv[] = {"c1", "c2", "c3"};
  for (size_t i = 0; i < 3; i++)
    gen_attr_observe(l, conv[i], ev, 1, false, now, NULL, NULL);
  OK(total_of(l, "Ivr", "Menu") == (uint64_t)GEN_JSON_EXACT_MAX);
  OK(mock_log_contains("Menu of flow Ivr: total stopped at 2^53"));
  gen_attr_ledger_free(l);
  json_object_put(snap);
  gen_attr_format_free(f);
  return 0;
}

/* A state directory that cannot be opened at start (here a path under a
 * regular file: ENOTDIR, which no privilege overrides): no event counts
 * (the receiver answers 503), each refusal is counted, and once the
 * directory is there the resent events count, once, also after a restart.
 * Before, the ledger wrote no line while its journal was closed and
 * acknowledged every event, which a restart then lost. */
DEF_TEST(unopenable_state_directory_counts_nothing) {
  char dir[] = "/tmp/gen-attr-XXXXXX";
  CHECK_NOT_NULL(mock_tempdir(dir));
  char blocker[256], base[300];
  snprintf(blocker, sizeof(blocker), "%s/state", dir);
  snprintf(base, sizeof(base), "%s/state.journal", blocker);
  FILE *fh = fopen(blocker, "w");
  CHECK_NOT_NULL(fh);
  fclose(fh);
  gen_attr_format_t *f = default_format();
  char err[256];
  cdtime_t now = cdtime();
  const char *ev1[] = {A1};
  const char *ev2[] = {A1, A2};

  mock_log_reset();
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(-ENOTDIR, gen_attr_restore(l, NULL, err, sizeof(err)));
  OK(strstr(err, "503") != NULL);
  /* The log names the directory to fix. */
  char named[300];
  snprintf(named, sizeof(named), "state directory %s:", blocker);
  OK(mock_log_contains(named));
  EXPECT_EQ_INT(-ENOTDIR, gen_attr_observe_durable(l, "c1", ev1, 1, false, now,
                                                   NULL, NULL));
  EXPECT_EQ_INT(-ENOTDIR, gen_attr_observe_durable(l, "c2", ev2, 2, false, now,
                                                   NULL, NULL));
  EXPECT_EQ_INT(0, (int)atomic_load(&gen_attr_stats(l)->counted));
  EXPECT_EQ_INT(0, total_of(l, "Ivr", "Menu"));
  /* The failed open at restore and both refused events. */
  EXPECT_EQ_INT(3, (int)atomic_load(&gen_attr_stats(l)->journal_errors));

  /* The operator makes the directory: the resent events count. */
  OK(unlink(blocker) == 0 && mkdir(blocker, 0750) == 0);
  EXPECT_EQ_INT(
      1, gen_attr_observe_durable(l, "c1", ev1, 1, false, now, NULL, NULL));
  EXPECT_EQ_INT(
      2, gen_attr_observe_durable(l, "c2", ev2, 2, false, now, NULL, NULL));
  EXPECT_EQ_INT(3, total_of(l, "Ivr", "Menu"));
  gen_attr_ledger_free(l);
  EXPECT_EQ_INT(3, total_after_restart(f, base, NULL, "Ivr", "Menu"));
  gen_attr_format_free(f);
  OK(mock_rmtree(dir) == 0);
  return 0;
}

/* Hostile names: a raw 0xff byte or a control character (C1 too) in an
 * attribute name counts nothing (it would be a label value Prometheus
 * refuses, taking the whole target down), and such flow or metric names in
 * a state file or a journal are not restored. */
DEF_TEST(hostile_names_refused_and_never_restored) {
  char dir[] = "/tmp/gen-attr-XXXXXX";
  CHECK_NOT_NULL(mock_tempdir(dir));
  char base[256], file0[300];
  snprintf(base, sizeof(base), "%s/state.journal", dir);
  snprintf(file0, sizeof(file0), "%s.0", base);
  gen_attr_format_t *f = default_format();
  CHECK_NOT_NULL(f);
  char err[256];
  cdtime_t now = cdtime();
  const char *hostile[] = {"Ivr\xffMetric_Menu(2026-05-14T10:00:00Z)",
                           "IvrMetric_Me\xc2\x85nu(2026-05-14T10:00:00Z)",
                           "IvrMetric_Me\x1bnu(2026-05-14T10:00:00Z)",
                           "Ivr\xc2\x9bMetric_Menu(2026-05-14T10:00:00Z)", A1};

  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, NULL);
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  mock_log_reset();
  EXPECT_EQ_INT(1,
                gen_attr_observe(l, "c1", hostile, 5, false, now, NULL, NULL));
  EXPECT_EQ_INT(1, (int)gen_attr_series(l));
  EXPECT_EQ_INT(1, total_of(l, "Ivr", "Menu"));
  EXPECT_EQ_INT(4, (int)atomic_load(&gen_attr_stats(l)->invalid));
  OK(mock_log_contains("4 attribute name(s) of an event refused"));
  gen_attr_ledger_free(l);

  /* A state file and a journal that hold such names (an older version's,
   * or edited): only the text names come back. */
  json_object *snap = json_object_new_object();
  json_object *series = json_object_new_array();
  const char *rows[][2] = {
      {"Ivr\xff", "Menu"}, {"Ivr", "Me\xc2\x85nu"}, {"Ivr", "Menu"}};
  for (size_t i = 0; i < 3; i++) {
    json_object *row = json_object_new_array();
    json_object_array_add(row, json_object_new_string(rows[i][0]));
    json_object_array_add(row, json_object_new_string(rows[i][1]));
    json_object_array_add(row, json_object_new_int64(5));
    json_object_array_add(series, row);
  }
  json_object_object_add(snap, "series", series);
  FILE *fh = fopen(file0, "w");
  CHECK_NOT_NULL(fh);
  fputs("{\"c\":\"c2\",\"h\":\"0000000000000001\",\"f\":\"Ivr\\u0085\","
        "\"m\":\"Menu\"}\n"
        "{\"c\":\"c2\",\"h\":\"0000000000000002\",\"f\":\"Ivr\xff\","
        "\"m\":\"Menu\"}\n"
        "{\"c\":\"c2\",\"h\":\"0000000000000003\",\"f\":\"Ivr\","
        "\"m\":\"Menu\"}\n",
        fh);
  fclose(fh);
  l = gen_attr_ledger_create(f, &options, base);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  EXPECT_EQ_INT(1, (int)gen_attr_series(l));
  EXPECT_EQ_INT(6, total_of(l, "Ivr", "Menu"));
  gen_attr_ledger_free(l);
  json_object_put(snap);
  gen_attr_format_free(f);
  OK(mock_rmtree(dir) == 0);
  return 0;
}

/* The snapshot is printed a conversation at a time: flush sees each, what
 * it is handed stays small, and the pieces make a snapshot a restart
 * takes back whole (names that need escaping too). */
typedef struct {
  gen_buf_t *out, whole;
  size_t calls, most;
} pieces_t;

static int take_piece(void *ud) {
  pieces_t *p = ud;
  p->calls++;
  if (p->out->len > p->most)
    p->most = p->out->len;
  int err = gen_buf_add(&p->whole, p->out->data, p->out->len);
  gen_buf_reset(p->out);
  return err;
}

DEF_TEST(snapshot_printed_in_pieces) {
  gen_attr_format_t *f;
  char err[256];
  EXPECT_EQ_INT(0, gen_attr_format_create("^m:([a-z]+):(.+)$", 2, 1, 0, &f, err,
                                          sizeof(err)));
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, NULL);
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  cdtime_t now = cdtime();
  const char *names[] = {"m:menu:Say \"hi\"\\now", "m:exit:Ivr", "m:menu:Ivr"};
  char id[32];
  for (int i = 0; i < 300; i++) {
    snprintf(id, sizeof(id), "conv-%d", i);
    EXPECT_EQ_INT(1 + i % 3, gen_attr_observe(l, id, names, 1 + i % 3, i % 2,
                                              now, NULL, NULL));
  }
  gen_buf_t out = GEN_BUF_INIT(SIZE_MAX);
  pieces_t p = {.out = &out, .whole = GEN_BUF_INIT(SIZE_MAX)};
  uint64_t g;
  CHECK_ZERO(gen_attr_snapshot_write(l, &out, NULL, take_piece, &p, &g));
  CHECK_ZERO(gen_buf_add(&p.whole, out.data, out.len));
  EXPECT_EQ_INT(300, p.calls);
  /* The series and one conversation, not the whole ledger. */
  OK(p.most < 300);
  json_object *snap = lines_doc(p.whole.data, g);
  gen_attr_ledger_free(l);
  l = gen_attr_ledger_create(f, &options, NULL);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  EXPECT_EQ_INT(300, gen_attr_conversations(l));
  EXPECT_EQ_INT(300, total_of(l, "Say \"hi\"\\now", "menu"));
  EXPECT_EQ_INT(200, total_of(l, "Ivr", "exit"));
  EXPECT_EQ_INT(100, total_of(l, "Ivr", "menu"));
  /* Each conversation's names came back: seeing them again counts none,
   * and a name it had not seen counts. */
  for (int i = 0; i < 300; i++) {
    snprintf(id, sizeof(id), "conv-%d", i);
    EXPECT_EQ_INT(
        0, gen_attr_observe(l, id, names, 1 + i % 3, false, now, NULL, NULL));
  }
  EXPECT_EQ_INT(
      2, gen_attr_observe(l, "conv-0", names, 3, false, now, NULL, NULL));
  json_object_put(snap);
  gen_buf_free(&p.whole);
  gen_buf_free(&out);
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  return 0;
}

/* What the last version wrote ([key, last seen, finished, [names]] under
 * conversation_keys) is still read; a row we did not write is refused
 * alone, logged and counted. */
DEF_TEST(snapshot_forms_and_bad_rows) {
  gen_attr_format_t *f = default_format();
  char err[256], text[512];
  snprintf(text, sizeof(text),
           "{\"generation\":0,\"series\":[[\"Ivr\",\"Menu\",5]],"
           "\"conversation_keys\":[[\"%016" PRIx64 "\",1000,false,"
           "[\"%016" PRIx64 "\"]]]}",
           gen_hash_id("c1"), gen_hash_id(A1));
  json_object *snap = json_tokener_parse(text);
  CHECK_NOT_NULL(snap);
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, NULL);
  EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
  EXPECT_EQ_INT(1, gen_attr_conversations(l));
  cdtime_t now = cdtime();
  const char *ev[] = {A1, A2};
  EXPECT_EQ_INT(1, gen_attr_observe(l, "c1", ev, 2, false, now, NULL, NULL));
  json_object_put(snap);
  gen_attr_ledger_free(l);

  static const char *const bad[] = {
      "0123456789abcdef 1000",                     /* no finished */
      "0123456789abcdef 1000 2",                   /* not 0 or 1 */
      "0123456789abcdef x 1",                      /* no time */
      "0123456789abcdef  1000 1",                  /* two spaces */
      "0123456789abcdeg 1000 1",                   /* not hex */
      "0123456789abcdef0 1000 1",                  /* a 17-digit key */
      "0123456789abcde 1000 1",                    /* a 15-digit key */
      "0123456789abcdef 1000 1 0123456789abcdef0", /* a 17-digit name */
      "0123456789abcdef 1000 1 ",                  /* a trailing space */
      "0123456789abcdef 1000 1 0123",              /* a short name */
      "0123456789abcdef 1000 1 0123456789abcdef ", /* a trailing space */
      "0123456789abcdef 99999999999999999999 1",   /* out of range */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(text, sizeof(text),
             "{\"generation\":0,\"series\":[],\"conversation_rows\":"
             "[\"0123456789abcdef 1000 1\",\"%s\"]}",
             bad[i]);
    snap = json_tokener_parse(text);
    CHECK_NOT_NULL(snap);
    l = gen_attr_ledger_create(f, &options, NULL);
    mock_log_reset();
    EXPECT_EQ_INT(0, restore_from(l, snap, err, sizeof(err)));
    OK(mock_log_contains("conversation 1"));
    EXPECT_EQ_INT(1, gen_attr_conversations(l)); /* the good row stands */
    EXPECT_EQ_INT(1, atomic_load(&gen_attr_stats(l)->state_refused));
    json_object_put(snap);
    gen_attr_ledger_free(l);
  }
  gen_attr_format_free(f);
  return 0;
}

/* A ledger past 125,000 conversations goes through its state file and
 * back: as arrays it was more containers than gen_json reads, and the
 * restart lost every count. */
DEF_TEST(a_large_ledger_survives_its_state_file) {
  char dir[] = "/tmp/gen-attr-XXXXXX";
  CHECK_NOT_NULL(mock_tempdir(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/state.json", dir);
  gen_attr_format_t *f = default_format();
  gen_attr_options_t big = options;
  big.max_conversations = 130000;
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &big, NULL);
  char err[256];
  EXPECT_EQ_INT(0, gen_attr_restore(l, NULL, err, sizeof(err)));
  cdtime_t now = cdtime();
  const char *ev[] = {A1};
  char id[32];
  int failed = 0;
  for (int i = 0; i < 130000; i++) {
    snprintf(id, sizeof(id), "conv-%d", i);
    failed |= gen_attr_observe(l, id, ev, 1, true, now, NULL, NULL) < 0;
  }
  EXPECT_EQ_INT(0, failed);
  gf_state_t st = {.path = path, .ledger = l, .who = &test_who};
  CHECK_ZERO(gf_state_save(&st));
  gen_attr_ledger_free(l);
  l = gen_attr_ledger_create(f, &big, NULL);
  st = (gf_state_t){.path = path, .ledger = l, .who = &test_who};
  gf_state_restore(&st);
  EXPECT_EQ_INT(0, (int)st.refused_lines);
  EXPECT_EQ_INT(130000, gen_attr_conversations(l));
  EXPECT_EQ_INT(130000, total_of(l, "Ivr", "Menu"));
  EXPECT_EQ_INT(
      0, gen_attr_observe(l, "conv-129999", ev, 1, true, now, NULL, NULL));
  gen_attr_ledger_free(l);
  gen_attr_format_free(f);
  OK(mock_rmtree(dir) == 0);
  return 0;
}

int main(void) {
  RUN_TEST(default_format);
  RUN_TEST(custom_format_and_refusals);
  RUN_TEST(each_name_once_per_conversation);
  RUN_TEST(expiry_and_eviction);
  RUN_TEST(name_limit_overflows);
  RUN_TEST(restart_from_snapshot_and_journal);
  RUN_TEST(full_disk_counts_nothing_unjournalled);
  RUN_TEST(unopenable_state_directory_counts_nothing);
  RUN_TEST(hostile_names_refused_and_never_restored);
  RUN_TEST(names_per_conversation_bounded);
  RUN_TEST(names_bound_survives_restart);
  RUN_TEST(unjournalled_names_taken_back);
  RUN_TEST(new_series_in_an_event_keep_earlier_counts);
  RUN_TEST(absurd_count_is_refused_alone);
  RUN_TEST(series_total_stops_at_2_53);
  RUN_TEST(many_names_per_conversation);
  RUN_TEST(name_limit_past_the_inline_names);
  RUN_TEST(forgetting_from_the_middle);
  RUN_TEST(conversations_grow_and_reuse_room);
  RUN_TEST(snapshot_with_conversation_ids_restored);
  RUN_TEST(snapshot_printed_in_pieces);
  RUN_TEST(snapshot_forms_and_bad_rows);
  RUN_TEST(a_large_ledger_survives_its_state_file);
  END_TEST;
}
