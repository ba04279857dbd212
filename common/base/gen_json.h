/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: bounded JSON parsing and typed look-ups over json-c.
 */
#ifndef GEN_JSON_H
#define GEN_JSON_H 1

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting we accept from the network (API documents are ~8 deep). */
#define GEN_JSON_MAX_DEPTH 32

/* A json-c document costs memory per node (an empty object about 700
 * bytes), so a byte limit alone does not bound it: 8 MB of "{}," would
 * take 2 GB. The largest answers we parse into a document (a details page,
 * a flow aggregates answer of 100 flows) hold a few tens of thousands. */
#define GEN_JSON_MAX_CONTAINERS 250000 /* objects and arrays */
#define GEN_JSON_MAX_ELEMENTS 2500000  /* members, elements and containers */

/* 2^53: every integer up to it is exact in a double, the form a value
 * leaves in; a count beyond it is no count an API gives. The state files
 * keep numbers up to it (their reader refuses anything beyond), so a number
 * from an answer beyond it is refused where the answer is read. */
#define GEN_JSON_EXACT_MAX 9007199254740992LL

/* The one adder of totals (a counter summed over buckets, events, restarts,
 * rows): the sum stops at 2^53 rather than pass it, where a state file
 * could no longer keep it (its reader refuses beyond) and a double no longer
 * counts by one. false when it stopped there (the caller counts or logs
 * it). gen_count_add: counts, add >= 0, the sum in [0, 2^53];
 * gen_total_add: a total a revision may lower, the sum in [-2^53, 2^53]
 * (add NaN leaves it). */
bool gen_count_add(int64_t *sum, int64_t add);
bool gen_total_add(double *sum, double add);

/* Whether text (len bytes) is within INT32_MAX bytes and the limits above:
 * 0, or -EINVAL with the reason in err. For a reader of its own
 * (gen_agg_answer_read) held to gen_json_parse's bounds. */
int gen_json_bounds(const char *text, size_t len, char *err, size_t err_size);

/* What an API answer's json-c tree may cost, as a multiple of its text.
 * The tree costs per node, whatever the text spends on it: an empty
 * object is 3 bytes of text and 792 of tree (264 times), an empty array 152
 * (51 times), a member about 100 and an element of an array 72 beside
 * their text; a page of the record's entities about 11 times its text
 * (bench/README.md, bench_json). An answer whose tree would cost more than
 * this many times its text is refused before json-c builds any of it (a
 * document of 249,000 empty objects, 0.75 MB, took collectd from 22 to 140
 * MB and kept it): a family's answers then cost at most this many times
 * its answer bound (gen_http_bound_t), whatever their shape. Our own files
 * (state, journals) are not held to it: their arrays of small counts are
 * about 40 times. */
#define GEN_JSON_ANSWER_COST 48
/* Answers whose tree costs less than this pass whatever their ratio ("{}"
 * is 400 times). */
#define GEN_JSON_ANSWER_COST_FLOOR (1 << 20)
/* gen_json_bounds, and the cost above for an API answer: 0, or -EINVAL
 * with the reason in err ("... would take N MB as a tree ..."). */
int gen_json_answer_bounds(const char *text, size_t len, char *err,
                           size_t err_size);

/* Parses exactly len bytes as one JSON document, refusing nesting deeper
 * than max_depth, more containers or elements than the limits above (told
 * before json-c allocates anything) and trailing garbage. Returns 0 and a new
 * reference in *out, or -EINVAL with a reason in err. */
int gen_json_parse(const char *text, size_t len, int max_depth,
                   json_object **out, char *err, size_t err_size);
/* A document from the network (an API answer, a notification, an event
 * sent to us): gen_json_answer_bounds, then gen_json_parse at
 * GEN_JSON_MAX_DEPTH. 0 and *out, or -EINVAL with the reason in err. */
int gen_json_parse_net(const char *text, size_t len, json_object **out,
                       char *err, size_t err_size);
/* An API answer's text (NULL or empty: none) as one document of
 * GEN_JSON_MAX_DEPTH held to gen_json_answer_bounds: 0 and *out, or
 * -EBADMSG (malformed, gen_err) with "empty answer" or "not JSON: <why>"
 * in err. */
int gen_json_parse_answer(const char *text, size_t len, json_object **out,
                          char *err, size_t err_size);

/* Typed member look-ups: NULL/false when absent or of another type. */
const char *gen_json_get_string(json_object *obj, const char *key);
json_object *gen_json_get_object(json_object *obj, const char *key);
json_object *gen_json_get_array(json_object *obj, const char *key);
/* Integers: JSON ints, or doubles with no fractional part. */
bool gen_json_get_int64(json_object *obj, const char *key, int64_t *out);
/* v as an int64: an integer, or a whole double within ±9e18; false for
 * anything else, NaN, 1e300, and integer text json-c saturated. */
bool gen_json_int64_of(json_object *v, int64_t *out);
/* v as a count: gen_json_int64_of, 0 or more, at most 2^53 (an integer
 * beyond it refused, as every reader of ours does). */
bool gen_json_count_of(json_object *v, int64_t *out);
/* Numbers of either JSON kind, finite (*out is written either way). */
bool gen_json_number(json_object *v, double *out);
bool gen_json_get_double(json_object *obj, const char *key, double *out);

/* An analytics query filter (or clause) matching any of values on one
 * dimension: {"type":"or","predicates":[{"dimension":…,"value":…},…]}. */
json_object *gen_json_or_filter(const char *dimension,
                                const char *const *values, size_t n);

#endif /* GEN_JSON_H */
