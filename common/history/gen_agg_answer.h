/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: an aggregates answer ({"results": [{"group": {…},
 * "data": [{"interval": "…", "metrics": [{"metric": "…", "stats": {…}}]}]}]})
 * read from its json-c document (gen_json_parse, bounded) into flat arrays
 * reused from one answer to the next.
 *
 * One reader, the library's: analytics asks once a minute, a load at which
 * json-c's cost is small (bench/README.md, "Aggregates answers").
 *
 * Members are read as json-c reads them: where a member repeats, the last
 * one counts; a group member that is not a string, an interval or metric
 * name that is not a string, a stat that is not a finite number, read as
 * absent.
 */
#ifndef GEN_AGG_ANSWER_H
#define GEN_AGG_ANSWER_H 1

#include <json-c/json.h>
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
  const char *metric; /* NULL: absent or not a string */
  bool stats;         /* "stats" is an object */
  uint8_t have;       /* bit s: stat s is there, a finite number */
  double stat[GEN_AGG_STATS];
} gen_agg_entry_t;

typedef struct {
  const gen_agg_entry_t *e;
  size_t n; /* 0 when metrics[] is absent or not an array */
} gen_agg_metrics_t;

typedef struct {
  const char *name;
  const char *value; /* NULL: not a string */
} gen_agg_dim_t;

/* A result's group; n is 0 when it is absent or not an object. */
typedef struct {
  const gen_agg_dim_t *d;
  size_t n;
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

/* Reads the document doc into a, replacing what it held; the strings point
 * into doc, which must outlive the reading of a. Returns 0, -EINVAL with the
 * reason in err (not an object, or "results" that is not an array) or
 * -ENOMEM. */
int gen_agg_answer_from_json(gen_agg_answer_t *a, json_object *doc, char *err,
                             size_t err_size);

/* The results read (valid until a is read into again or freed). */
size_t gen_agg_answer_results(const gen_agg_answer_t *a,
                              const gen_agg_result_t **results);

/* The string value of group member name (the last one, if repeated), or
 * NULL. g may be NULL. */
const char *gen_agg_group_get(const gen_agg_group_t *g, const char *name);

#endif /* GEN_AGG_ANSWER_H */
