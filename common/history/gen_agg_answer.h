/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: an aggregates answer ({"results": [{"group": {…},
 * "data": [{"interval": "…", "metrics": [{"metric": "…", "stats": {…}}]}]}]})
 * read from its text with gen_jscan straight into flat arrays, reused from
 * one answer to the next, its strings in an arena of the answer.
 *
 * One reader, gen_jscan's: json-c's document of every answer, copied into
 * these arrays, was 30 % of analytics' read thread at 1,000 queues; read
 * so, ours a value fell from 2.07 to 0.98 x collectd's dispatch
 * (bench/README.md, bench_analytics.py). The text is held to
 * gen_json_parse's bounds (depth GEN_JSON_MAX_DEPTH, gen_json_bounds) and
 * to RFC 8259, strictly.
 *
 * Members are read as json-c read them: where a member repeats, the last
 * one counts; a group member that is not a string, an interval or metric
 * name that is not a string, a stat that is not a finite number, read as
 * absent; members we do not read are passed over.
 */
#ifndef GEN_AGG_ANSWER_H
#define GEN_AGG_ANSWER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The stats an entry may carry, in this order in gen_agg_entry_t.stat. */
enum {
  GEN_AGG_STAT_COUNT,
  GEN_AGG_STAT_SUM,
  GEN_AGG_STAT_MAX,
  GEN_AGG_STAT_MIN,
  GEN_AGG_STAT_NUMERATOR,
  GEN_AGG_STAT_DENOMINATOR,
  GEN_AGG_STAT_TARGET, /* oServiceTarget, oServiceLevel: the goal, 0..1 */
  GEN_AGG_STATS
};
extern const char *const gen_agg_stat_names[GEN_AGG_STATS];

/* One entry of a bucket's metrics[]. */
typedef struct {
  const char *metric;    /* NULL: absent or not a string */
  const char *qualifier; /* the users query's status, or NULL */
  bool stats;            /* "stats" is an object */
  uint8_t have;          /* bit s: stat s is there, a finite number */
  double stat[GEN_AGG_STATS];
} gen_agg_entry_t;

typedef struct {
  const gen_agg_entry_t *e;
  size_t n; /* 0 when metrics[] is absent or not an array */
} gen_agg_metrics_t;

typedef struct {
  const char *name;
  const char *value;  /* NULL: not a string */
  const char *number; /* a number's JSON text ("404"), else NULL */
} gen_agg_dim_t;

/* A result's group; n is 0 when it is absent or not an object. */
typedef struct {
  const gen_agg_dim_t *d;
  size_t n;
  bool object; /* "group" is an object (which may be empty) */
} gen_agg_group_t;

typedef struct {
  const char *interval; /* NULL: absent, not a string, or not an object */
  gen_agg_metrics_t metrics;
} gen_agg_bucket_t;

typedef struct {
  gen_agg_group_t group;
  const gen_agg_bucket_t *b;
  size_t n; /* 0 when data[] is absent or not an array */
} gen_agg_result_t;

typedef struct gen_agg_answer_s gen_agg_answer_t;

gen_agg_answer_t *gen_agg_answer_new(void);
void gen_agg_answer_free(gen_agg_answer_t *a);

/* Reads text (len bytes) into a, replacing what it held. Returns 0,
 * -EINVAL with the reason in err ("malformed JSON: <why> at byte N", or
 * "the answer is not an aggregates response": not an object, or "results"
 * that is not an array; no "results" is an empty answer) or -ENOMEM. */
int gen_agg_answer_read(gen_agg_answer_t *a, const char *text, size_t len,
                        char *err, size_t err_size);

/* Writing an answer, for a query's rewrite of the one read (folding groups)
 * or an answer of another format read into this one: begin, then each
 * result followed by its dims and buckets, each bucket followed by its
 * entries, then end. Until end, the answer read stays as it was (its
 * pointers valid); end makes the written one the answer. The adds return 0
 * or -ENOMEM (then end still leaves a whole, shorter answer). Strings are
 * borrowed: from the answer read, static, or gen_agg_answer_strdup. */
void gen_agg_answer_begin(gen_agg_answer_t *a);
int gen_agg_answer_add_result(gen_agg_answer_t *a, bool group_object);
int gen_agg_answer_add_dim(gen_agg_answer_t *a, const gen_agg_dim_t *d);
int gen_agg_answer_add_bucket(gen_agg_answer_t *a, const char *interval);
int gen_agg_answer_add_entry(gen_agg_answer_t *a, const gen_agg_entry_t *e);
void gen_agg_answer_end(gen_agg_answer_t *a);
/* The entries written into the last bucket written (*n of them), to fold
 * into. */
gen_agg_entry_t *gen_agg_answer_written(gen_agg_answer_t *a, size_t *n);
/* Empties a, its strings too (before an answer of another format). */
void gen_agg_answer_clear(gen_agg_answer_t *a);
/* n bytes of s, NUL-terminated, living until a is read or cleared again
 * (NULL: out of memory). */
const char *gen_agg_answer_strdup(gen_agg_answer_t *a, const char *s, size_t n);

/* The results read (valid until a is read into again or freed). */
size_t gen_agg_answer_results(const gen_agg_answer_t *a,
                              const gen_agg_result_t **results);

/* The string value of group member name (the last one, if repeated), or
 * NULL. g may be NULL. */
const char *gen_agg_group_get(const gen_agg_group_t *g, const char *name);

#endif /* GEN_AGG_ANSWER_H */
