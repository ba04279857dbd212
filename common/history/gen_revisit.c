/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the revisit schedule (see gen_revisit.h).
 */
#include "gen_revisit.h"

#include "gen_time.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int gen_revisit_add(gen_revisit_t *r, int64_t age_ms, const char *label,
                    char *why, size_t why_size) {
  if (age_ms <= 0 || age_ms > GEN_REVISIT_MAX_AGE_MS) {
    snprintf(why, why_size, "age \"%s\" must be more than 0 and at most 31 d",
             label);
    return -EINVAL;
  }
  size_t at = 0;
  while (at < r->n && r->age_ms[at] < age_ms)
    at++;
  if (at < r->n && r->age_ms[at] == age_ms) {
    snprintf(why, why_size, "age \"%s\" is given twice", label);
    return -EINVAL;
  }
  if (r->n == GEN_REVISIT_MAX) {
    snprintf(why, why_size, "more than %d ages (at \"%s\")", GEN_REVISIT_MAX,
             label);
    return -EINVAL;
  }
  memmove(&r->age_ms[at + 1], &r->age_ms[at],
          (r->n - at) * sizeof(r->age_ms[0]));
  r->age_ms[at] = age_ms;
  r->n++;
  return 0;
}

void gen_revisit_age_format(int64_t age_ms, char *out, size_t size) {
  if (age_ms % 3600000 == 0)
    snprintf(out, size, "%" PRId64 "h", age_ms / 3600000);
  else if (age_ms % 60000 == 0)
    snprintf(out, size, "%" PRId64 "m", age_ms / 60000);
  else
    snprintf(out, size, "%" PRId64 "s", age_ms / 1000);
}

/* One age: "90m", "24h", "3d", "45s", "3600" (seconds) or ISO-8601
 * ("PT72H", "P3D"). */
static int age_parse(const char *word, int64_t *ms) {
  if (word[0] == 'P' || word[0] == 'p')
    return gen_duration_parse(word, ms);
  int64_t n = 0;
  const char *p = word;
  if (!isdigit((unsigned char)*p))
    return -EINVAL;
  for (; isdigit((unsigned char)*p); p++) {
    n = n * 10 + (*p - '0');
    if (n > 100000000)
      return -EINVAL;
  }
  /* The unit, one letter (none: seconds). */
  static const char units[] = "smhd";
  static const int64_t unit_ms[] = {1000, 60000, 3600000, 86400000};
  const char *u = strchr(units, *p == '\0' ? 's' : tolower((unsigned char)*p));
  if (u == NULL || (*p != '\0' && p[1] != '\0'))
    return -EINVAL;
  *ms = n * unit_ms[u - units];
  return 0;
}

int gen_revisit_parse(gen_revisit_t *r, const char *text, char *why,
                      size_t why_size) {
  gen_revisit_t out = *r;
  const char *p = text;
  bool any = false;
  while (*p != '\0') {
    size_t skip = strspn(p, " \t,");
    p += skip;
    size_t len = strcspn(p, " \t,");
    if (len == 0)
      break;
    char word[32];
    if (len >= sizeof(word)) {
      snprintf(why, why_size, "\"%.*s…\" is not an age", 16, p);
      return -EINVAL;
    }
    memcpy(word, p, len);
    word[len] = '\0';
    p += len;
    int64_t ms;
    if (age_parse(word, &ms) != 0) {
      snprintf(why, why_size,
               "\"%s\" is not an age (a whole number with s, m, h or d, such "
               "as 24h or 3d; without a unit, seconds)",
               word);
      return -EINVAL;
    }
    if (gen_revisit_add(&out, ms, word, why, why_size) != 0)
      return -EINVAL;
    any = true;
  }
  if (!any) {
    snprintf(why, why_size, "no age given (such as \"24h 72h\")");
    return -EINVAL;
  }
  *r = out;
  return 0;
}

bool gen_revisit_due(int64_t age_ms, int64_t w, int64_t origin,
                     int64_t done_until, int64_t now_ms, int64_t g,
                     int64_t *start, int64_t *end) {
  /* A bucket [b, b + g) is due once b + g + age ≤ now. */
  int64_t limit = gen_bucket_floor(now_ms - age_ms, g);
  *start = w > origin ? w : origin;
  *end = limit < done_until ? limit : done_until;
  return *start < *end;
}

int64_t gen_revisit_after_fetch(int64_t age_ms, int64_t w, int64_t from,
                                int64_t to, int64_t now_ms, int64_t g) {
  int64_t limit = gen_bucket_floor(now_ms - age_ms, g);
  if (w < (from < limit ? from : limit))
    return w; /* earlier buckets still wait: keep their turn */
  int64_t past = to < limit ? to : limit;
  return past > w ? past : w;
}

int64_t gen_revisit_start(int64_t age_ms, int64_t origin, int64_t now_ms,
                          int64_t g) {
  int64_t limit = gen_bucket_floor(now_ms - age_ms, g);
  return limit > origin ? limit : origin;
}
