/* SPDX-License-Identifier: MIT */
/* Unit tests of gen_jscan, the strict JSON scanner behind gen_obs: the same
 * tokens as yajl (the parser it replaced, kept here as the reference) on
 * valid texts and on thousands of mutated ones, values skipped on request
 * (still checked, nesting limit included), offsets, truncation at every
 * prefix, and where it is stricter than yajl (RFC 8259 white space, strict
 * UTF-8). */
#include "gen_jscan.h"

#include "collectd/core/testing.h"
#include "mutate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

/* ---- a token log, written by either parser ----------------------------- */

typedef struct {
  char text[8192];
  size_t n;
  bool full;
  const char *skip_key; /* gen_jscan: answer SKIP for this key */
  int skip_start;       /* gen_jscan: answer SKIP at this container's start
                           (1-based, counting those called back) */
  int starts;
  gen_jscan_t *js; /* for offsets */
  size_t offs[512];
  size_t n_offs;
} tlog_t;

static void logf_(tlog_t *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(l->text + l->n, sizeof(l->text) - l->n, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k >= sizeof(l->text) - l->n)
    l->full = true;
  else
    l->n += (size_t)k;
}

static void log_bytes(tlog_t *l, const char *tag, const unsigned char *s,
                      size_t n) {
  logf_(l, "%s(", tag);
  for (size_t i = 0; i < n; i++)
    logf_(l, s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\' ? "%c" : "\\x%02x",
          s[i]);
  logf_(l, ")");
}

static void note_off(tlog_t *l) {
  if (l->js != NULL && l->n_offs < sizeof(l->offs) / sizeof(l->offs[0]))
    l->offs[l->n_offs++] = l->js->off;
}

static int t_null(void *c) {
  logf_(c, "N");
  note_off(c);
  return 1;
}
static int t_bool(void *c, int b) {
  logf_(c, b ? "T" : "F");
  note_off(c);
  return 1;
}
static int t_number(void *c, const char *s, size_t n) {
  log_bytes(c, "#", (const unsigned char *)s, n);
  note_off(c);
  return 1;
}
static int t_string(void *c, const unsigned char *s, size_t n) {
  log_bytes(c, "S", s, n);
  note_off(c);
  return 1;
}
static int t_key(void *c, const unsigned char *s, size_t n) {
  tlog_t *l = c;
  log_bytes(l, "K", s, n);
  note_off(l);
  if (l->skip_key != NULL && strlen(l->skip_key) == n &&
      memcmp(l->skip_key, s, n) == 0)
    return GEN_JSCAN_SKIP;
  return 1;
}
/* SKIP when this start is the one the test names. */
static int start_answer(tlog_t *l) {
  return ++l->starts == l->skip_start ? GEN_JSCAN_SKIP : 1;
}
static int t_start_map(void *c) {
  logf_(c, "{");
  note_off(c);
  return start_answer(c);
}
static int t_end_map(void *c) {
  logf_(c, "}");
  note_off(c);
  return 1;
}
static int t_start_array(void *c) {
  logf_(c, "[");
  note_off(c);
  return start_answer(c);
}
static int t_end_array(void *c) {
  logf_(c, "]");
  note_off(c);
  return 1;
}

static const gen_jscan_callbacks_t jcb = {
    .on_null = t_null,
    .on_bool = t_bool,
    .on_number = t_number,
    .on_string = t_string,
    .on_start_map = t_start_map,
    .on_key = t_key,
    .on_end_map = t_end_map,
    .on_start_array = t_start_array,
    .on_end_array = t_end_array,
};

static int y_string(void *c, const unsigned char *s, size_t n) {
  return t_string(c, s, n);
}
static int y_key(void *c, const unsigned char *s, size_t n) {
  return t_key(c, s, n) != 0;
}
static int y_start_map(void *c) { return t_start_map(c) != 0; }
static int y_start_array(void *c) { return t_start_array(c) != 0; }

static const yajl_callbacks ycb = {
    .yajl_null = t_null,
    .yajl_boolean = t_bool,
    .yajl_number = t_number,
    .yajl_string = y_string,
    .yajl_start_map = y_start_map,
    .yajl_map_key = y_key,
    .yajl_end_map = t_end_map,
    .yajl_start_array = y_start_array,
    .yajl_end_array = t_end_array,
};

static unsigned char dbuf[1 << 16];

static gen_jscan_status_t jscan(const char *text, size_t len, size_t depth,
                                tlog_t *l, gen_jscan_t *js) {
  *js = (gen_jscan_t){.text = (const unsigned char *)text,
                      .len = len,
                      .max_depth = depth,
                      .buf = dbuf};
  l->js = js;
  return gen_jscan_run(js, &jcb, l);
}

/* yajl's verdict (1 accepted) and tokens. */
static int yajl_read(const char *text, size_t len, tlog_t *l) {
  yajl_handle h = yajl_alloc(&ycb, NULL, l);
  yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
  if (st == yajl_status_ok)
    st = yajl_complete_parse(h);
  yajl_free(h);
  return st == yajl_status_ok;
}

static const char *valid[] = {
    "{}",
    "[]",
    "{\"a\":1}",
    " {\"a\" : [ 1 , -2.5e+3 , 0 , 0.0 , 1E-2 , true , false , null ] } ",
    "{\"nested\":{\"x\":[[[{}]]],\"y\":\"\"},\"z\":[{\"k\":\"v\"}]}",
    "{\"esc\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"}",
    "{\"u\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"}",
    "{\"utf8\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}",
    "{\"k\\u0041y\":-0}",
    "[1,[2,[3,[4]]],{\"a\":{\"b\":{\"c\":null}}}]",
    "\"just a string\"",
    "123",
    "{\"long\":\"0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH\"}",
    "{\"a\":\"\",\"b\":\"x\",\"c\":\"xy\",\"d\":\"1234567\",\"e\":"
    "\"12345678\"}",
};

DEF_TEST(same_tokens_as_yajl) {
  for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
    tlog_t a = {0}, b = {0};
    gen_jscan_t js;
    EXPECT_EQ_INT(GEN_JSCAN_OK, jscan(valid[i], strlen(valid[i]), 32, &a, &js));
    OK(yajl_read(valid[i], strlen(valid[i]), &b));
    printf("# %s\n", a.text);
    EXPECT_EQ_STR(b.text, a.text);
  }
  return 0;
}

DEF_TEST(offsets_are_just_past_each_token) {
  const char *t = "{\"ab\" : [1, \"x\\n\", true], \"c\":{}}";
  tlog_t l = {0};
  gen_jscan_t js;
  EXPECT_EQ_INT(GEN_JSCAN_OK, jscan(t, strlen(t), 32, &l, &js));
  /* {  "ab"  [  1  "x\n"  true  ]  "c"  {  }  } */
  size_t want[] = {1, 5, 9, 10, 17, 23, 24, 29, 31, 32, 33};
  EXPECT_EQ_INT(sizeof(want) / sizeof(want[0]), l.n_offs);
  for (size_t i = 0; i < l.n_offs && i < sizeof(want) / sizeof(want[0]); i++)
    EXPECT_EQ_INT(want[i], l.offs[i]);
  return 0;
}

DEF_TEST(skipped_values_are_checked_not_called_back) {
  const char *t =
      "{\"a\":1,\"skip\":{\"x\":[1,{\"y\":\"\\u0041\"}],\"z\":null},"
      "\"b\":[true],\"skip\":\"s\",\"c\":{\"skip\":[[]]}}";
  tlog_t l = {.skip_key = "skip"};
  gen_jscan_t js;
  EXPECT_EQ_INT(GEN_JSCAN_OK, jscan(t, strlen(t), 32, &l, &js));
  EXPECT_EQ_STR("{K(a)#(1)K(skip)K(b)[T]K(skip)K(c){K(skip)}}", l.text);
  /* A syntax error inside a skipped value is still one. */
  const char *bad[] = {
      "{\"skip\":{\"x\":[1,]},\"a\":1}",
      "{\"skip\":\"\\q\",\"a\":1}",
      "{\"skip\":01}",
      "{\"skip\":{\"x\" 1}}",
      "{\"skip\":[1 2]}",
      "{\"skip\":tru}",
      "{\"skip\":\"tab\there\"}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tlog_t b = {.skip_key = "skip"};
    EXPECT_EQ_INT(GEN_JSCAN_SYNTAX, jscan(bad[i], strlen(bad[i]), 32, &b, &js));
  }
  /* So is nesting past the limit. */
  const char *deep = "{\"skip\":[[[[[[]]]]]]}";
  tlog_t d = {.skip_key = "skip"};
  EXPECT_EQ_INT(GEN_JSCAN_DEPTH, jscan(deep, strlen(deep), 6, &d, &js));
  EXPECT_EQ_INT(13, js.off); /* the seventh '[' */
  tlog_t d2 = {.skip_key = "skip"};
  EXPECT_EQ_INT(GEN_JSCAN_OK, jscan(deep, strlen(deep), 7, &d2, &js));
  return 0;
}

DEF_TEST(skipped_containers_are_checked_not_called_back) {
  const char *t = "{\"a\":[1,{\"b\":2}],\"c\":{\"d\":[3]},\"e\":[]}";
  const struct {
    int skip;
    const char *want;
  } cases[] = {
      {0, "{K(a)[#(1){K(b)#(2)}]K(c){K(d)[#(3)]}K(e)[]}"},
      {1, "{"},                             /* the whole text */
      {2, "{K(a)[K(c){K(d)[#(3)]}K(e)[]}"}, /* its insides and its end */
      {3, "{K(a)[#(1){]K(c){K(d)[#(3)]}K(e)[]}"},
      {5, "{K(a)[#(1){K(b)#(2)}]K(c){K(d)[}K(e)[]}"},
      {6, "{K(a)[#(1){K(b)#(2)}]K(c){K(d)[#(3)]}K(e)[}"}, /* an empty one */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    tlog_t l = {.skip_start = cases[i].skip};
    gen_jscan_t js;
    EXPECT_EQ_INT(GEN_JSCAN_OK, jscan(t, strlen(t), 32, &l, &js));
    EXPECT_EQ_STR(cases[i].want, l.text);
  }
  /* What a skipped container holds is still checked, its depth too. */
  const char *bad[] = {"{\"a\":[1,],\"b\":2}", "{\"a\":[{\"x\" 1}]}",
                       "{\"a\":[\"\\q\"]}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tlog_t l = {.skip_start = 2};
    gen_jscan_t js;
    EXPECT_EQ_INT(GEN_JSCAN_SYNTAX, jscan(bad[i], strlen(bad[i]), 32, &l, &js));
    EXPECT_EQ_STR("{K(a)[", l.text);
  }
  const char *deep = "{\"a\":[[[[[[]]]]]],\"b\":1}";
  tlog_t d = {.skip_start = 2};
  gen_jscan_t js;
  EXPECT_EQ_INT(GEN_JSCAN_DEPTH, jscan(deep, strlen(deep), 6, &d, &js));
  tlog_t d2 = {.skip_start = 2};
  EXPECT_EQ_INT(GEN_JSCAN_OK, jscan(deep, strlen(deep), 7, &d2, &js));
  EXPECT_EQ_STR("{K(a)[K(b)#(1)}", d2.text);
  return 0;
}

static int t_scalar(void *c, const unsigned char *s, size_t n,
                    const char *number) {
  if (s != NULL)
    log_bytes(c, "S", s, n);
  else if (number != NULL)
    log_bytes(c, "#", (const unsigned char *)number, n);
  else
    logf_(c, "-");
  return 1;
}

DEF_TEST(on_scalar_takes_every_scalar) {
  const char *t = "{\"a\":[1.5e3,\"x\\ty\",true,false,null,-0],\"s\":\"\"}";
  gen_jscan_callbacks_t cb = jcb;
  cb.on_scalar = t_scalar;
  unsigned char buf[64];
  gen_jscan_t js = {.text = (const unsigned char *)t,
                    .len = strlen(t),
                    .max_depth = 8,
                    .buf = buf};
  tlog_t l = {0};
  EXPECT_EQ_INT(GEN_JSCAN_OK, gen_jscan_run(&js, &cb, &l));
  /* Keys and containers as before; no on_null, on_bool, on_number or
   * on_string (which would log N, T, F and the same S and #). */
  EXPECT_EQ_STR("{K(a)[#(1.5e3)S(x\\x09y)---#(-0)]K(s)S()}", l.text);
  return 0;
}

static int stop_at_b(void *c, const unsigned char *s, size_t n) {
  (void)c;
  return !(n == 1 && s[0] == 'b');
}

DEF_TEST(errors) {
  struct {
    const char *text;
    gen_jscan_status_t want;
    size_t off;
  } cases[] = {
      {"{\"a\":1,}", GEN_JSCAN_SYNTAX, 7},
      {"{\"a\" 1}", GEN_JSCAN_SYNTAX, 5},
      {"[1,]", GEN_JSCAN_SYNTAX, 3},
      {"{'a':1}", GEN_JSCAN_SYNTAX, 1},
      {"{\"a\":+1}", GEN_JSCAN_SYNTAX, 5},
      {"{\"a\":1.}", GEN_JSCAN_SYNTAX, 7},
      {"{\"a\":1e}", GEN_JSCAN_SYNTAX, 7},
      {"{\"a\":\"\\u12G4\"}", GEN_JSCAN_SYNTAX, 10},
      {"{\"a\":\"\xff\"}", GEN_JSCAN_SYNTAX, 6},
      {"{\"a\":\"\xc0\xaf\"}", GEN_JSCAN_SYNTAX, 6},     /* overlong */
      {"{\"a\":\"\xed\xa0\x80\"}", GEN_JSCAN_SYNTAX, 6}, /* a surrogate */
      {"\v{}", GEN_JSCAN_SYNTAX, 0}, /* yajl took \v and \f as space */
      {"{}\f", GEN_JSCAN_TRAILING, 2},
      {"{} x", GEN_JSCAN_TRAILING, 2},
      {"{}{}", GEN_JSCAN_TRAILING, 2},
      {"{\"a\":[", GEN_JSCAN_TRUNCATED, 6},
      {"{\"a\":\"abc", GEN_JSCAN_TRUNCATED, 9},
      {"{\"a\":\"\\u00", GEN_JSCAN_TRUNCATED, 10},
      {"{\"a\":nul", GEN_JSCAN_TRUNCATED, 8},
      {"{\"a\":-", GEN_JSCAN_TRUNCATED, 6},
      {"", GEN_JSCAN_TRUNCATED, 0},
      {"[[[[]]]]", GEN_JSCAN_DEPTH, 3},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    tlog_t l = {0};
    gen_jscan_t js;
    gen_jscan_status_t st =
        jscan(cases[i].text, strlen(cases[i].text), 3, &l, &js);
    printf("# case %zu: status %d at %zu (%s)\n", i, st, js.off,
           js.reason ? js.reason : "");
    EXPECT_EQ_INT(cases[i].want, st);
    EXPECT_EQ_INT(cases[i].off, js.off);
    OK(js.reason != NULL); /* every failure says what */
  }
  /* A callback's 0 stops the scan where it is. */
  gen_jscan_callbacks_t stop = jcb;
  stop.on_key = stop_at_b;
  const char *t = "{\"a\":1,\"b\":x";
  gen_jscan_t js = {.text = (const unsigned char *)t,
                    .len = strlen(t),
                    .max_depth = 8,
                    .buf = dbuf};
  tlog_t l = {0};
  EXPECT_EQ_INT(GEN_JSCAN_STOPPED, gen_jscan_run(&js, &stop, &l));
  EXPECT_EQ_INT(10, js.off);
  /* The caller may vouch for the UTF-8 (the WebSocket layer checks it). */
  const char *u = "{\"a\":\"\xff\"}";
  js = (gen_jscan_t){.text = (const unsigned char *)u,
                     .len = strlen(u),
                     .max_depth = 8,
                     .buf = dbuf,
                     .utf8_checked = true};
  EXPECT_EQ_INT(GEN_JSCAN_OK, gen_jscan_run(&js, &jcb, &l));
  return 0;
}

/* Every proper prefix of an object is truncated, never accepted. */
DEF_TEST(every_prefix_is_truncated) {
  for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
    const char *t = valid[i];
    if (t[0] != '{' && t[0] != '[' && t[0] != ' ')
      continue;
    size_t n = strlen(t);
    while (n > 0 && t[n - 1] == ' ')
      n--;
    for (size_t k = 0; k < n; k++) {
      tlog_t l = {0};
      gen_jscan_t js;
      gen_jscan_status_t st = jscan(t, k, 32, &l, &js);
      if (st != GEN_JSCAN_TRUNCATED) {
        printf("not ok - prefix %zu of case %zu: %d\n", k, i, st);
        return -1;
      }
    }
  }
  return 0;
}

/* Mutated texts (ASCII only, no \v or \f, so both judge alike): the same
 * verdict as yajl, and when both accept, the same tokens; and the same
 * verdict when the values of the keys "a" are skipped. */
DEF_TEST(mutations_judged_as_yajl_does) {
  static const char alphabet[] = "{}[]\":,\\ 0123456789-+.eEtrufalsn\tu\nxA";
  unsigned seed = 12345;
  size_t accepted = 0, refused = 0;
  for (int round = 0; round < 20000; round++) {
    const char *base =
        valid[(size_t)round % (sizeof(valid) / sizeof(valid[0]))];
    char text[256];
    size_t n = strlen(base);
    if (n >= sizeof(text))
      continue;
    memcpy(text, base, n);
    n = mutate_text(text, n, sizeof(text), alphabet, &seed);
    bool ascii = true;
    for (size_t i = 0; i < n; i++)
      ascii = ascii && (unsigned char)text[i] < 0x80;
    tlog_t a = {0}, b = {0};
    gen_jscan_t js;
    gen_jscan_status_t plain = jscan(text, n, 64, &a, &js);
    bool ours = plain == GEN_JSCAN_OK;
    /* Skipping values changes no verdict. */
    tlog_t sk = {.skip_key = "a"};
    gen_jscan_t js2;
    if (jscan(text, n, 64, &sk, &js2) != plain) {
      printf("not ok - round %d: %d, with skips %d: %.*s\n", round, plain,
             gen_jscan_run(&js2, &jcb, &sk), (int)n, text);
      return -1;
    }
    bool theirs = yajl_read(text, n, &b);
    if (!ascii)
      continue;
    /* Half a surrogate pair: yajl writes '?', we U+FFFD. */
    bool half_pair = memmem(text, n, "\\ud", 3) != NULL;
    /* yajl 2.1 takes an unfinished string after the value ({}"x) for the
     * end of the input. */
    size_t rest = js.off;
    while (rest < n && text[rest] == ' ')
      rest++;
    if (!ours && theirs && rest < n && text[rest] == '"' &&
        jscan(text, js.off, 64, &a, &js) == GEN_JSCAN_OK)
      continue;
    if (ours != theirs || (ours && !half_pair && strcmp(a.text, b.text) != 0)) {
      printf("not ok - round %d: ours %d yajl %d: %.*s\n# %s\n# %s\n", round,
             ours, theirs, (int)n, text, a.text, b.text);
      return -1;
    }
    accepted += ours;
    refused += !ours;
  }
  printf("# %zu accepted, %zu refused by both\n", accepted, refused);
  OK(accepted > 1000 && refused > 1000);
  return 0;
}

int main(void) {
  RUN_TEST(same_tokens_as_yajl);
  RUN_TEST(offsets_are_just_past_each_token);
  RUN_TEST(skipped_values_are_checked_not_called_back);
  RUN_TEST(skipped_containers_are_checked_not_called_back);
  RUN_TEST(on_scalar_takes_every_scalar);
  RUN_TEST(errors);
  RUN_TEST(every_prefix_is_truncated);
  RUN_TEST(mutations_judged_as_yajl_does);
  END_TEST;
}
