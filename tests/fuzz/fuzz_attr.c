/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: fuzz target for metric-attribute names (gen_attr).
 *
 * Input: byte 0 chooses the format (bit 0 set: the default pattern; else
 * the first line is the pattern, bits 1-6 its flow, metric and time groups).
 * The remaining lines are attribute names; an empty line ends an event,
 * which goes to gen_attr_observe on a ledger with small limits (3 series,
 * 2 conversations, 3 names each), events rotating over 3 conversations.
 *
 * Patterns come from the configuration, so the harness skips the ones
 * glibc takes exponential time or memory on whatever the names (back
 * references, many or nested repeats, counts of 3 digits) and long ones.
 *
 * Checked (a failure aborts):
 * - gen_attr_format_create returns 0 with a format, or -EINVAL/-ENOMEM with
 *   none and a terminated reason;
 * - a match gives a non-empty, terminated flow and metric, each a part of
 *   the name; with the default format the name has the documented shape;
 * - gen_attr_observe returns 0..n; the same event again counts nothing;
 *   totals reported only grow by one per call; the ledger keeps at most
 *   its conversations and series (plus the overflow one), and the counted
 *   statistic is the sum of what observe returned;
 * - a known name on a fresh ledger afterwards is counted as known.
 */
#define GEN_FUZZ_NAME "attr"
#include "fuzz_replay.h"
#include "gen_attr.h"
#include "plugin_mock.h"

#include <ctype.h>
#include <errno.h>

#define MAX_NAMES 32
#define MAX_NAME_LEN 256
#define MAX_PATTERN_LEN 64

static const gen_attr_options_t options = {
    .max_series = 3,
    .max_conversations = 2,
    .max_names = 3,
    .open_ttl = TIME_T_TO_CDTIME_T(30),
    .finished_ttl = TIME_T_TO_CDTIME_T(5),
    .overflow_name = "overflow",
    .who = NULL,
};

typedef struct {
  size_t calls;
} counted_t;

static bool terminated(const char *s, size_t size) {
  return memchr(s, '\0', size) != NULL;
}

static void on_counted(void *ud, const char *flow, const char *metric,
                       uint64_t total) {
  counted_t *c = ud;
  FUZZ_CHECK(terminated(flow, GEN_ATTR_NAME_MAX) && flow[0] != '\0', "flow");
  FUZZ_CHECK(terminated(metric, GEN_ATTR_NAME_MAX) && metric[0] != '\0',
             "metric");
  FUZZ_CHECK(total >= 1, "total");
  c->calls++;
}

/* Patterns glibc's regex takes exponential time or huge memory on: back
 * references; and repeats, as regcomp copies the repeated tree for each
 * '+' and each count of {n,m}, so stacked or nested ones multiply
 * ("a+++…" of 43 '+' asked for 2^43 nodes). */
static bool pattern_too_costly(const char *p, size_t len) {
  if (len > MAX_PATTERN_LEN)
    return true;
  size_t plus = 0, brace = 0;
  for (size_t i = 0; i < len; i++) {
    plus += p[i] == '+';
    brace += p[i] == '{';
  }
  if (brace > 2 || plus + brace > 6)
    return true;
  for (size_t i = 0; i + 1 < len; i++) {
    if (p[i] == '\\' && isdigit((unsigned char)p[i + 1]))
      return true;
    if (i + 2 < len && isdigit((unsigned char)p[i]) &&
        isdigit((unsigned char)p[i + 1]) && isdigit((unsigned char)p[i + 2]))
      return true;
  }
  return false;
}

static void check_match(const gen_attr_format_t *f, bool is_default,
                        const char *name) {
  char flow[GEN_ATTR_NAME_MAX], metric[GEN_ATTR_NAME_MAX];
  if (!gen_attr_format_match(f, name, flow, metric))
    return;
  FUZZ_CHECK(terminated(flow, sizeof(flow)) && flow[0] != '\0', "match flow");
  FUZZ_CHECK(terminated(metric, sizeof(metric)) && metric[0] != '\0',
             "match metric");
  FUZZ_CHECK(strstr(name, flow) != NULL, "flow is part of the name");
  FUZZ_CHECK(strstr(name, metric) != NULL, "metric is part of the name");
  if (is_default) {
    size_t n = strlen(name);
    FUZZ_CHECK(n > 0 && name[n - 1] == ')' && strstr(name, "Metric_") != NULL,
               "default shape");
  }
}

/* The default format, compiled once: regcomp is most of an input's time. */
static gen_attr_format_t *default_format;

static gen_attr_ledger_t *new_ledger(const gen_attr_format_t *f) {
  gen_attr_ledger_t *l = gen_attr_ledger_create(f, &options, NULL);
  FUZZ_CHECK(l != NULL, "ledger");
  return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  mock_log_echo = false;
  uint8_t mode = data[0];
  size_t off = 1;
  bool is_default = (mode & 1) != 0;
  char *pattern = NULL;
  if (!is_default) {
    const uint8_t *nl = memchr(data + off, '\n', size - off);
    size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
    if (pattern_too_costly((const char *)data + off, len))
      return 0;
    pattern = strndup((const char *)data + off, len);
    FUZZ_CHECK(pattern != NULL, "strndup");
    off += len + (nl != NULL);
  }
  char err[256];
  if (default_format == NULL)
    FUZZ_CHECK(gen_attr_format_create(NULL, 0, 0, 0, &default_format, err,
                                      sizeof(err)) == 0,
               "default format");
  gen_attr_format_t *f = default_format;
  int status = 0;
  if (!is_default) {
    f = (gen_attr_format_t *)1;
    memset(err, 'x', sizeof(err));
    status = gen_attr_format_create(pattern, (mode >> 1) & 3, (mode >> 3) & 3,
                                    (mode >> 5) & 3, &f, err, sizeof(err));
    free(pattern);
  }
  FUZZ_CHECK(status == 0 || status == -EINVAL || status == -ENOMEM, "status");
  FUZZ_CHECK((status == 0) == (f != NULL), "format iff success");
  if (status != 0) {
    FUZZ_CHECK(terminated(err, sizeof(err)) && err[0] != '\0', "err");
    mock_log_reset();
    return 0;
  }

  gen_attr_ledger_t *l = new_ledger(f);
  char *names[MAX_NAMES];
  size_t n = 0, event = 0;
  uint64_t counted = 0;
  while (off <= size) {
    const uint8_t *nl = memchr(data + off, '\n', size - off);
    size_t full = nl ? (size_t)(nl - (data + off)) : size - off;
    size_t len = full < MAX_NAME_LEN ? full : MAX_NAME_LEN;
    bool end = len == 0 || nl == NULL || n == MAX_NAMES;
    if (len > 0 && n < MAX_NAMES) {
      /* An exact-size, terminated copy. */
      names[n] = malloc(len + 1);
      FUZZ_CHECK(names[n] != NULL, "malloc");
      memcpy(names[n], data + off, len);
      names[n][len] = '\0';
      check_match(f, is_default, names[n]);
      n++;
    }
    if (end) {
      char id[8];
      snprintf(id, sizeof(id), "c%zu", event % 3);
      cdtime_t now = TIME_T_TO_CDTIME_T(1000 + 2 * event);
      counted_t c = {0};
      int k = gen_attr_observe(l, id, (const char *const *)names, n,
                               event % 5 == 4, now, on_counted, &c);
      FUZZ_CHECK(k >= 0 && (size_t)k <= n, "observe result");
      FUZZ_CHECK((size_t)k == c.calls, "one callback per name counted");
      counted += (uint64_t)k;
      c.calls = 0;
      k = gen_attr_observe(l, id, (const char *const *)names, n, false, now,
                           on_counted, &c);
      FUZZ_CHECK(k == 0 && c.calls == 0, "a repeated event counts nothing");
      FUZZ_CHECK(gen_attr_conversations(l) <= options.max_conversations,
                 "conversations bounded");
      FUZZ_CHECK(gen_attr_series(l) <= options.max_series + 1,
                 "series bounded");
      if (event % 7 == 6)
        gen_attr_expire(l, now + TIME_T_TO_CDTIME_T(10));
      for (size_t i = 0; i < n; i++)
        free(names[i]);
      n = 0;
      event++;
    }
    if (nl == NULL)
      break;
    off += full + 1;
  }
  FUZZ_CHECK(atomic_load(&gen_attr_stats(l)->counted) == counted,
             "counted statistic");
  gen_attr_ledger_free(l);
  if (f != default_format)
    gen_attr_format_free(f);

  /* Nothing carries over: a known name on a fresh default ledger. */
  l = new_ledger(default_format);
  const char *known[] = {"AccountID",
                         "CustomerRoutingMetric_Unknown(2023-03-05T08:18:04."
                         "568Z)"};
  counted_t c = {0};
  FUZZ_CHECK(gen_attr_observe(l, "k", known, 2, false, TIME_T_TO_CDTIME_T(1),
                              on_counted, &c) == 1 &&
                 c.calls == 1 && gen_attr_series(l) == 1,
             "known name counted");
  gen_attr_ledger_free(l);
  mock_log_reset();
  return 0;
}

static void fuzz_cleanup(void) {
  gen_attr_format_free(default_format);
  default_format = NULL;
  mock_log_reset();
}
