/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the strict JSON scanner (see gen_jscan.h).
 *
 * One loop over the text with an explicit stack of open containers (one
 * byte each). "quiet" is the depth at which a skipped value started: while
 * set, tokens are checked but not called back, and strings not decoded.
 */
#include "gen_jscan.h"
#include "gen_utf8.h"

#include <stdint.h>
#include <string.h>

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Bytes of w equal to zero, or below 0x20, flagged in their high bit. The
 * lowest flagged byte is always a real one (a borrow only runs upwards). */
static inline uint64_t zero_bytes(uint64_t w) {
  return (w - ONES) & ~w & HIGHS;
}
static inline uint64_t low_bytes(uint64_t w) {
  return (w - ONES * 0x20) & ~w & HIGHS;
}

/* Offset of the first '"', '\\' or control byte at or after p, or end. */
static const unsigned char *string_stop(const unsigned char *p,
                                        const unsigned char *end) {
  while (end - p >= 8) {
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    uint64_t m = zero_bytes(w ^ (ONES * '"')) | zero_bytes(w ^ (ONES * '\\')) |
                 low_bytes(w);
    if (m != 0) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return p + (__builtin_ctzll(m) >> 3);
#else
      return p + (__builtin_clzll(m) >> 3);
#endif
    }
    p += 8;
  }
  while (p < end && *p != '"' && *p != '\\' && *p >= 0x20)
    p++;
  return p;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* The four hex digits at p (checked by the caller). */
static unsigned hex4(const unsigned char *p) {
  return (unsigned)(hex_value(p[0]) << 12 | hex_value(p[1]) << 8 |
                    hex_value(p[2]) << 4 | hex_value(p[3]));
}

static unsigned char *put_utf8(unsigned char *o, unsigned cp) {
  if (cp < 0x80) {
    *o++ = (unsigned char)cp;
  } else if (cp < 0x800) {
    *o++ = (unsigned char)(0xC0 | cp >> 6);
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (unsigned char)(0xE0 | cp >> 12);
    *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (unsigned char)(0xF0 | cp >> 18);
    *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* Decodes the checked string body [s, e) into o; returns its end. Never
 * longer than the source: an escape of k bytes gives at most k bytes
 * (\uXXXX: 6 -> 3, a pair: 12 -> 4). */
static unsigned char *decode(const unsigned char *s, const unsigned char *e,
                             unsigned char *o) {
  while (s < e) {
    const unsigned char *b = memchr(s, '\\', (size_t)(e - s));
    if (b == NULL)
      b = e;
    memcpy(o, s, (size_t)(b - s));
    o += b - s;
    s = b;
    if (s == e)
      break;
    unsigned char c = s[1];
    s += 2;
    switch (c) {
    case 'b':
      *o++ = '\b';
      break;
    case 'f':
      *o++ = '\f';
      break;
    case 'n':
      *o++ = '\n';
      break;
    case 'r':
      *o++ = '\r';
      break;
    case 't':
      *o++ = '\t';
      break;
    case 'u': {
      unsigned cp = hex4(s);
      s += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF && e - s >= 6 && s[0] == '\\' &&
          s[1] == 'u') {
        unsigned lo = hex4(s + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          s += 6;
        }
      }
      if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD; /* half a pair */
      o = put_utf8(o, cp);
      break;
    }
    default: /* '"', '\\', '/' */
      *o++ = c;
      break;
    }
  }
  return o;
}

typedef struct {
  const unsigned char *start;
  const unsigned char *end;
  const char *reason;
  const unsigned char *at; /* where the error is */
  gen_jscan_status_t status;
} scan_t;

static bool fail(scan_t *sc, const unsigned char *at, gen_jscan_status_t st,
                 const char *reason) {
  sc->at = at;
  sc->status = st;
  sc->reason = reason;
  return false;
}

/* A string whose opening quote is at *pp: checks it, leaves *pp past the
 * closing quote and sets [*b, *e) to its body and *esc when it has
 * escapes. */
static bool string_token(scan_t *sc, const unsigned char **pp,
                         const unsigned char **b, const unsigned char **e,
                         bool *esc) {
  const unsigned char *p = *pp + 1, *end = sc->end;
  *b = p;
  *esc = false;
  for (;;) {
    p = string_stop(p, end);
    if (p == end)
      return fail(sc, p, GEN_JSCAN_TRUNCATED, "message is truncated");
    if (*p == '"')
      break;
    if (*p < 0x20)
      return fail(sc, p, GEN_JSCAN_SYNTAX, "control character in a string");
    /* A backslash. */
    *esc = true;
    if (end - p < 2)
      return fail(sc, end, GEN_JSCAN_TRUNCATED, "message is truncated");
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
      p += 2;
      continue;
    case 'u':
      for (int i = 2; i < 6; i++) {
        if (end - p <= i)
          return fail(sc, end, GEN_JSCAN_TRUNCATED, "message is truncated");
        if (hex_value(p[i]) < 0)
          return fail(sc, p + i, GEN_JSCAN_SYNTAX,
                      "\\u not followed by four hex digits");
      }
      p += 6;
      continue;
    default:
      return fail(sc, p + 1, GEN_JSCAN_SYNTAX, "invalid escape in a string");
    }
  }
  *e = p;
  *pp = p + 1;
  return true;
}

/* string_token(), then, unless quiet, its text decoded into buf when it
 * has escapes. */
static bool string_text(scan_t *sc, const unsigned char **pp, bool quiet,
                        unsigned char *buf, const unsigned char **b,
                        const unsigned char **e) {
  bool esc;
  if (!string_token(sc, pp, b, e, &esc))
    return false;
  if (esc && !quiet) {
    *e = decode(*b, *e, buf);
    *b = buf;
  }
  return true;
}

static bool digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* The digits that must follow a number's '.' or exponent, at *pp. */
static bool digit_run(scan_t *sc, const unsigned char **pp,
                      const char *reason) {
  const unsigned char *p = *pp, *end = sc->end;
  if (p == end)
    return fail(sc, p, GEN_JSCAN_TRUNCATED, "message is truncated");
  if (!digit(*p))
    return fail(sc, p, GEN_JSCAN_SYNTAX, reason);
  while (p < end && digit(*p))
    p++;
  *pp = p;
  return true;
}

/* A number starting at *pp; leaves *pp past it. */
static bool number_token(scan_t *sc, const unsigned char **pp) {
  const unsigned char *p = *pp, *end = sc->end;
  if (*p == '-')
    p++;
  if (p == end)
    return fail(sc, p, GEN_JSCAN_TRUNCATED, "message is truncated");
  if (*p == '0') {
    p++;
  } else if (digit(*p)) {
    while (p < end && digit(*p))
      p++;
  } else {
    return fail(sc, p, GEN_JSCAN_SYNTAX, "a number without digits");
  }
  if (p < end && *p == '.') {
    p++;
    if (!digit_run(sc, &p, "a number without digits after its decimal point"))
      return false;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (!digit_run(sc, &p, "a number without digits in its exponent"))
      return false;
  }
  *pp = p;
  return true;
}

/* true, false or null at *pp (its first letter checked by the caller). */
static bool literal_token(scan_t *sc, const unsigned char **pp,
                          const char *word, size_t n) {
  const unsigned char *p = *pp;
  size_t have = (size_t)(sc->end - p);
  size_t k = have < n ? have : n;
  if (memcmp(p, word, k) != 0)
    return fail(sc, p, GEN_JSCAN_SYNTAX, "invalid literal");
  if (k < n)
    return fail(sc, sc->end, GEN_JSCAN_TRUNCATED, "message is truncated");
  *pp = p + n;
  return true;
}

static const unsigned char *white(const unsigned char *p,
                                  const unsigned char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

/* Whether the n bytes at s (not valid UTF-8) are the start of a character
 * cut by the end of the text. */
static bool cut_character(const unsigned char *s, size_t n) {
  size_t need = s[0] >= 0xF0 && s[0] <= 0xF4   ? 4
                : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                                               : 0;
  if (n >= need)
    return false;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80)
      return false;
  return true;
}

enum { IN_MAP = 1, IN_ARRAY = 2 };

/* Calls back unless quiet, the answer in `answer` (1 when quiet); a 0
 * answer stops the scan. */
#define CALL(...)                                                              \
  do {                                                                         \
    answer = 1;                                                                \
    if (!quiet) {                                                              \
      js->off = (size_t)(p - sc.start);                                        \
      if (!(answer = (__VA_ARGS__))) {                                         \
        sc.status = GEN_JSCAN_STOPPED;                                         \
        sc.at = p;                                                             \
        goto out;                                                              \
      }                                                                        \
    }                                                                          \
  } while (0)

#define NEED(p)                                                                \
  do {                                                                         \
    if ((p) == end) {                                                          \
      fail(&sc, end, GEN_JSCAN_TRUNCATED, "message is truncated");             \
      goto out;                                                                \
    }                                                                          \
  } while (0)

gen_jscan_status_t gen_jscan_run(gen_jscan_t *js,
                                 const gen_jscan_callbacks_t *cb, void *ctx) {
  scan_t sc = {
      .start = js->text, .end = js->text + js->len, .status = GEN_JSCAN_OK};
  const unsigned char *p = sc.start, *end = sc.end;
  unsigned char stack[GEN_JSCAN_DEPTH_LIMIT];
  size_t max = js->max_depth < GEN_JSCAN_DEPTH_LIMIT ? js->max_depth
                                                     : GEN_JSCAN_DEPTH_LIMIT;
  size_t depth = 0, quiet = 0; /* quiet: skipping while depth >= it (1-based) */
  int answer;                  /* of the last callback */
  js->reason = NULL;

  if (!js->utf8_checked) {
    size_t bad = gen_utf8_check(js->text, js->len);
    if (bad != js->len) {
      if (cut_character(js->text + bad, js->len - bad))
        fail(&sc, end, GEN_JSCAN_TRUNCATED, "message is truncated");
      else
        fail(&sc, sc.start + bad, GEN_JSCAN_SYNTAX, "invalid UTF-8");
      goto out;
    }
  }

value:
  p = white(p, end);
  NEED(p);
  switch (*p) {
  case '{':
  case '[': {
    bool map = *p == '{';
    if (depth >= max) {
      fail(&sc, p, GEN_JSCAN_DEPTH, "nesting too deep");
      goto out;
    }
    stack[depth++] = map ? IN_MAP : IN_ARRAY;
    p++;
    CALL(map ? cb->on_start_map(ctx) : cb->on_start_array(ctx));
    if (answer == GEN_JSCAN_SKIP)
      quiet = depth; /* its insides and its end are not called back */
    p = white(p, end);
    NEED(p);
    if (*p == (map ? '}' : ']')) {
      p++;
      depth--;
      CALL(map ? cb->on_end_map(ctx) : cb->on_end_array(ctx));
      goto after;
    }
    if (map)
      goto key;
    goto value;
  }
  case '"': {
    const unsigned char *b, *e;
    if (!string_text(&sc, &p, quiet != 0, js->buf, &b, &e))
      goto out;
    CALL(cb->on_scalar ? cb->on_scalar(ctx, b, (size_t)(e - b), NULL)
                       : cb->on_string(ctx, b, (size_t)(e - b)));
    goto after;
  }
  case 't':
    if (!literal_token(&sc, &p, "true", 4))
      goto out;
    CALL(cb->on_scalar ? cb->on_scalar(ctx, NULL, 0, NULL)
                       : cb->on_bool(ctx, 1));
    goto after;
  case 'f':
    if (!literal_token(&sc, &p, "false", 5))
      goto out;
    CALL(cb->on_scalar ? cb->on_scalar(ctx, NULL, 0, NULL)
                       : cb->on_bool(ctx, 0));
    goto after;
  case 'n':
    if (!literal_token(&sc, &p, "null", 4))
      goto out;
    CALL(cb->on_scalar ? cb->on_scalar(ctx, NULL, 0, NULL) : cb->on_null(ctx));
    goto after;
  default: {
    const unsigned char *b = p;
    if (*p != '-' && !digit(*p)) {
      fail(&sc, p, GEN_JSCAN_SYNTAX, "invalid character");
      goto out;
    }
    if (!number_token(&sc, &p))
      goto out;
    CALL(cb->on_scalar
             ? cb->on_scalar(ctx, NULL, (size_t)(p - b), (const char *)b)
             : cb->on_number(ctx, (const char *)b, (size_t)(p - b)));
    goto after;
  }
  }

key: /* p at the first byte after '{' or ',' and white space */
  if (*p != '"') {
    fail(&sc, p, GEN_JSCAN_SYNTAX, "an object key that is not a string");
    goto out;
  }
  {
    const unsigned char *b, *e;
    if (!string_text(&sc, &p, quiet != 0, js->buf, &b, &e))
      goto out;
    CALL(cb->on_key(ctx, b, (size_t)(e - b)));
    p = white(p, end);
    NEED(p);
    if (*p != ':') {
      fail(&sc, p, GEN_JSCAN_SYNTAX, "an object key without a colon");
      goto out;
    }
    p++;
    if (answer == GEN_JSCAN_SKIP)
      quiet = depth + 1; /* the value is skipped: depth is back here after */
    goto value;
  }

after: /* a value has ended */
  if (quiet != 0 && depth + 1 == quiet)
    quiet = 0;
  if (depth == 0) {
    const unsigned char *root_end = p;
    p = white(p, end);
    if (p != end) {
      sc.status = GEN_JSCAN_TRAILING;
      sc.reason = "trailing data after the message";
      sc.at = root_end;
    }
    goto out;
  }
  p = white(p, end);
  NEED(p);
  bool map = stack[depth - 1] == IN_MAP;
  if (*p == ',') {
    p = white(p + 1, end);
    if (!map)
      goto value;
    NEED(p);
    goto key;
  }
  if (*p == (map ? '}' : ']')) {
    p++;
    depth--;
    CALL(map ? cb->on_end_map(ctx) : cb->on_end_array(ctx));
    goto after;
  }
  fail(&sc, p, GEN_JSCAN_SYNTAX,
       map ? "expected ',' or '}' in an object"
           : "expected ',' or ']' in an array");

out:
  js->off = sc.status == GEN_JSCAN_OK ? js->len : (size_t)(sc.at - sc.start);
  if (sc.reason != NULL)
    js->reason = sc.reason;
  return sc.status;
}
