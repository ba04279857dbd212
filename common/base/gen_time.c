/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: ISO-8601 times, intervals and durations.
 */
#include "gen_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil algorithm), so no timegm()/TZ dependency. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int read_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return -EINVAL;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int parse_time_span(const char *text, size_t len, int64_t *epoch_ms) {
  char buf[64];
  if (len == 0 || len >= sizeof(buf))
    return -EINVAL;
  memcpy(buf, text, len);
  buf[len] = '\0';
  const char *p = buf;
  int year, month, day, hour, minute, second, ms = 0;
  if (read_digits(&p, 4, &year) || *p++ != '-' || read_digits(&p, 2, &month) ||
      *p++ != '-' || read_digits(&p, 2, &day) || (*p != 'T' && *p != 't'))
    return -EINVAL;
  p++;
  if (read_digits(&p, 2, &hour) || *p++ != ':' || read_digits(&p, 2, &minute))
    return -EINVAL;
  second = 0;
  if (*p == ':') {
    p++;
    if (read_digits(&p, 2, &second))
      return -EINVAL;
    if (*p == '.' || *p == ',') {
      p++;
      int digits = 0;
      while (isdigit((unsigned char)*p)) {
        if (digits < 3)
          ms = ms * 10 + (*p - '0');
        digits++;
        p++;
      }
      if (digits == 0)
        return -EINVAL;
      for (; digits < 3; digits++)
        ms *= 10;
    }
  }
  int64_t offset_min = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1;
    int oh, om = 0;
    p++;
    if (read_digits(&p, 2, &oh))
      return -EINVAL;
    if (*p == ':')
      p++;
    if (*p != '\0' && read_digits(&p, 2, &om))
      return -EINVAL;
    if (oh > 23 || om > 59)
      return -EINVAL;
    offset_min = sign * (oh * 60 + om);
  }
  if (*p != '\0')
    return -EINVAL;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1] ||
      hour > 23 || minute > 59 || second > 60)
    return -EINVAL;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap)
    return -EINVAL;
  int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day);
  int64_t secs =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  *epoch_ms = secs * 1000 + ms;
  return 0;
}

int gen_time_parse(const char *text, int64_t *epoch_ms) {
  if (text == NULL)
    return -EINVAL;
  return parse_time_span(text, strlen(text), epoch_ms);
}

void gen_time_format(int64_t epoch_ms, char *buf, size_t size) {
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  int ms = (int)(epoch_ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  snprintf(buf, size, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
           (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60), ms);
}

void gen_clock_offset_note(gen_clock_offset_t *o, int64_t date_ms,
                           int64_t sent_ms, int64_t received_ms) {
  int64_t lo = date_ms - received_ms, hi = date_ms + 1000 - sent_ms;
  if (lo > hi)
    return; /* received before sent: our clock stepped back meanwhile */
  if (o->have && lo <= o->hi && hi >= o->lo) {
    o->lo = lo > o->lo ? lo : o->lo;
    o->hi = hi < o->hi ? hi : o->hi;
  } else {
    *o = (gen_clock_offset_t){.lo = lo, .hi = hi, .have = true};
  }
}

int64_t gen_clock_offset(const gen_clock_offset_t *o) {
  if (!o->have || (o->lo <= 0 && o->hi >= 0))
    return 0;
  return o->lo + (o->hi - o->lo) / 2;
}

int gen_interval_parse(const char *text, int64_t *start_ms, int64_t *end_ms) {
  if (text == NULL)
    return -EINVAL;
  const char *slash = strchr(text, '/');
  if (slash == NULL)
    return -EINVAL;
  if (parse_time_span(text, (size_t)(slash - text), start_ms) != 0 ||
      parse_time_span(slash + 1, strlen(slash + 1), end_ms) != 0)
    return -EINVAL;
  return *end_ms >= *start_ms ? 0 : -EINVAL;
}

void gen_interval_format(int64_t start_ms, int64_t end_ms, char *buf,
                         size_t size) {
  char a[GEN_TIME_STRLEN], b[GEN_TIME_STRLEN];
  gen_time_format(start_ms, a, sizeof(a));
  gen_time_format(end_ms, b, sizeof(b));
  snprintf(buf, size, "%s/%s", a, b);
}

int gen_duration_parse(const char *text, int64_t *ms) {
  if (text == NULL || (text[0] != 'P' && text[0] != 'p'))
    return -EINVAL;
  const char *p = text + 1;
  bool in_time = false, any = false;
  int64_t total = 0;
  while (*p != '\0') {
    if (*p == 'T' || *p == 't') {
      if (in_time)
        return -EINVAL;
      in_time = true;
      p++;
      continue;
    }
    if (!isdigit((unsigned char)*p))
      return -EINVAL;
    int64_t n = 0;
    while (isdigit((unsigned char)*p)) {
      n = n * 10 + (*p - '0');
      if (n > 100000000)
        return -EINVAL;
      p++;
    }
    int64_t unit;
    switch (*p) {
    case 'W':
    case 'w':
      unit = in_time ? -1 : 7 * 86400000LL;
      break;
    case 'D':
    case 'd':
      unit = in_time ? -1 : 86400000LL;
      break;
    case 'H':
    case 'h':
      unit = in_time ? 3600000LL : -1;
      break;
    case 'M':
    case 'm':
      unit = in_time ? 60000LL : -1; /* months have no fixed length */
      break;
    case 'S':
    case 's':
      unit = in_time ? 1000LL : -1;
      break;
    default:
      unit = -1;
    }
    if (unit < 0)
      return -EINVAL;
    total += n * unit;
    any = true;
    p++;
  }
  if (!any || total <= 0)
    return -EINVAL;
  *ms = total;
  return 0;
}

void gen_duration_format(int64_t ms, char *buf, size_t size) {
  int64_t s = ms / 1000;
  if (s > 0 && s % 86400 == 0)
    snprintf(buf, size, "P%" PRId64 "D", s / 86400);
  else if (s % 3600 == 0 && s > 0)
    snprintf(buf, size, "PT%" PRId64 "H", s / 3600);
  else if (s % 60 == 0 && s > 0)
    snprintf(buf, size, "PT%" PRId64 "M", s / 60);
  else
    snprintf(buf, size, "PT%" PRId64 "S", s);
}

int64_t gen_bucket_floor(int64_t t_ms, int64_t size_ms) {
  if (size_ms <= 0)
    return t_ms;
  int64_t q = t_ms / size_ms;
  if (t_ms < 0 && q * size_ms != t_ms)
    q--;
  return q * size_ms;
}

cdtime_t gen_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

cdtime_t gen_boottime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

cdtime_t (*gen_lease_clock)(void) = gen_boottime;
