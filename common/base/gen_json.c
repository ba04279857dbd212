/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: bounded JSON parsing and typed look-ups over json-c.
 */
#include "gen_json.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

/* Each thread's tokener at GEN_JSON_MAX_DEPTH, reset between documents: a
 * new one is a 1 KiB stack, a large request to malloc that made glibc
 * consolidate its free lists once per answer (bench/README.md,
 * bench_analytics.py). Freed when the thread ends. */
static pthread_key_t tokener_key;
static pthread_once_t tokener_once = PTHREAD_ONCE_INIT;

static void tokener_free(void *tok) { json_tokener_free(tok); }
static void tokener_key_make(void) {
  (void)pthread_key_create(&tokener_key, tokener_free);
}

static json_tokener *tokener_get(int max_depth) {
  if (max_depth != GEN_JSON_MAX_DEPTH)
    return json_tokener_new_ex(max_depth);
  pthread_once(&tokener_once, tokener_key_make);
  json_tokener *tok = pthread_getspecific(tokener_key);
  if (tok != NULL)
    return tok;
  if ((tok = json_tokener_new_ex(max_depth)) != NULL &&
      pthread_setspecific(tokener_key, tok) != 0) {
    json_tokener_free(tok);
    tok = NULL;
  }
  return tok;
}

/* A failed parse's partial objects are freed now, not at the next one. */
static void tokener_put(json_tokener *tok, int max_depth) {
  if (max_depth != GEN_JSON_MAX_DEPTH)
    json_tokener_free(tok);
  else
    json_tokener_reset(tok);
}

/* The nodes of a text, outside strings. */
typedef struct {
  size_t objects, arrays, members, commas;
} nodes_t;

/* Counts the nodes, stopping at the first limit passed (-EINVAL, the
 * reason in err). Malformed text is left to the parser. */
static int count_nodes(const char *text, size_t len, nodes_t *n, char *err,
                       size_t err_size) {
  if (len > (size_t)INT32_MAX) {
    snprintf(err, err_size, "document of %zu bytes is too large", len);
    return -EINVAL;
  }
  *n = (nodes_t){0};
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (c == '{')
        n->objects++;
      else
        n->arrays++;
      if (n->objects + n->arrays > GEN_JSON_MAX_CONTAINERS) {
        snprintf(err, err_size, "document has more than %d objects and arrays",
                 GEN_JSON_MAX_CONTAINERS);
        return -EINVAL;
      }
    } else if (c == ',') {
      n->commas++;
    } else {
      if (c == ':')
        n->members++;
      continue;
    }
    if (n->objects + n->arrays + n->commas > GEN_JSON_MAX_ELEMENTS) {
      snprintf(err, err_size, "document has more than %d elements",
               GEN_JSON_MAX_ELEMENTS);
      return -EINVAL;
    }
  }
  return 0;
}

int gen_json_bounds(const char *text, size_t len, char *err, size_t err_size) {
  nodes_t n;
  return count_nodes(text, len, &n, err, err_size);
}

int gen_json_answer_bounds(const char *text, size_t len, char *err,
                           size_t err_size) {
  nodes_t n;
  int status = count_nodes(text, len, &n, err, err_size);
  if (status != 0)
    return status;
  /* json-c's bytes a node (bench_json, x86-64 glibc), a little under. */
  double cost = 780.0 * (double)n.objects + 150.0 * (double)n.arrays +
                100.0 * (double)n.members + 64.0 * (double)n.commas +
                (double)len;
  if (cost > GEN_JSON_ANSWER_COST_FLOOR &&
      cost > (double)GEN_JSON_ANSWER_COST * (double)len) {
    snprintf(err, err_size,
             "document of %zu bytes would take %.0f MB as a tree, more than "
             "%d times its size (%zu objects, %zu arrays)",
             len, cost / 1e6, GEN_JSON_ANSWER_COST, n.objects, n.arrays);
    return -EINVAL;
  }
  return 0;
}

/* json-c's parse of a text already held to its bounds. */
static int parse_bounded(const char *text, size_t len, int max_depth,
                         json_object **out, char *err, size_t err_size) {
  json_tokener *tok = tokener_get(max_depth);
  if (tok == NULL) {
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
  }
  /* Strict RFC 8259: no single quotes, no trailing commas. */
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t used = json_tokener_get_parse_end(tok);
  if (obj == NULL || jerr != json_tokener_success) {
    snprintf(err, err_size, "%s at byte %zu",
             jerr == json_tokener_continue ? "document is truncated"
                                           : json_tokener_error_desc(jerr),
             used);
    json_object_put(obj);
    tokener_put(tok, max_depth);
    return -EINVAL;
  }
  /* Only white space may follow the document. */
  for (size_t i = used; i < len; i++) {
    char c = text[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      snprintf(err, err_size, "unexpected data after the document at byte %zu",
               i);
      json_object_put(obj);
      tokener_put(tok, max_depth);
      return -EINVAL;
    }
  }
  tokener_put(tok, max_depth);
  *out = obj;
  return 0;
}

int gen_json_parse(const char *text, size_t len, int max_depth,
                   json_object **out, char *err, size_t err_size) {
  *out = NULL;
  if (gen_json_bounds(text, len, err, err_size) != 0)
    return -EINVAL;
  return parse_bounded(text, len, max_depth, out, err, err_size);
}

static json_object *member(json_object *obj, const char *key,
                           enum json_type type) {
  json_object *v = NULL;
  if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
      !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
    return NULL;
  return v;
}

const char *gen_json_get_string(json_object *obj, const char *key) {
  json_object *v = member(obj, key, json_type_string);
  return v ? json_object_get_string(v) : NULL;
}

json_object *gen_json_get_object(json_object *obj, const char *key) {
  return member(obj, key, json_type_object);
}

json_object *gen_json_get_array(json_object *obj, const char *key) {
  return member(obj, key, json_type_array);
}

bool gen_json_int64_of(json_object *v, int64_t *out) {
  if (json_object_is_type(v, json_type_int)) {
    /* json-c saturates integer text beyond int64: not a value we wrote. */
    int64_t i = json_object_get_int64(v);
    if (i == INT64_MAX || i == INT64_MIN)
      return false;
    *out = i;
    return true;
  }
  if (!json_object_is_type(v, json_type_double))
    return false;
  double d = json_object_get_double(v);
  if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e18)
    return false;
  *out = (int64_t)d;
  return true;
}

bool gen_json_count_of(json_object *v, int64_t *out) {
  int64_t n;
  if (v == NULL || !gen_json_int64_of(v, &n) || n < 0 ||
      n > (int64_t)GEN_JSON_EXACT_MAX)
    return false;
  *out = n;
  return true;
}

bool gen_count_add(int64_t *sum, int64_t add) {
  const int64_t max = GEN_JSON_EXACT_MAX;
  int64_t s = *sum < 0 ? 0 : *sum > max ? max : *sum;
  if (add < 0)
    add = 0;
  bool whole = add <= max - s;
  *sum = whole ? s + add : max;
  return whole;
}

bool gen_total_add(double *sum, double add) {
  const double max = (double)GEN_JSON_EXACT_MAX;
  double s = *sum + add;
  if (isnan(s))
    return false;
  *sum = s > max ? max : s < -max ? -max : s;
  return *sum == s;
}

bool gen_json_get_int64(json_object *obj, const char *key, int64_t *out) {
  json_object *v = member(obj, key, json_type_int);
  if (v == NULL)
    v = member(obj, key, json_type_double);
  return v != NULL && gen_json_int64_of(v, out);
}

bool gen_json_number(json_object *v, double *out) {
  if (!json_object_is_type(v, json_type_double) &&
      !json_object_is_type(v, json_type_int))
    return false;
  *out = json_object_get_double(v);
  return isfinite(*out);
}

bool gen_json_get_double(json_object *obj, const char *key, double *out) {
  json_object *v = NULL;
  return obj != NULL && json_object_is_type(obj, json_type_object) &&
         json_object_object_get_ex(obj, key, &v) && gen_json_number(v, out);
}

json_object *gen_json_or_filter(const char *dimension,
                                const char *const *values, size_t n) {
  json_object *clause = json_object_new_object();
  json_object *list = json_object_new_array();
  json_object_object_add(clause, "type", json_object_new_string("or"));
  for (size_t i = 0; i < n; i++) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "dimension", json_object_new_string(dimension));
    json_object_object_add(p, "value", json_object_new_string(values[i]));
    json_object_array_add(list, p);
  }
  json_object_object_add(clause, "predicates", list);
  return clause;
}

int gen_json_parse_net(const char *text, size_t len, json_object **out,
                       char *err, size_t err_size) {
  *out = NULL;
  if (gen_json_answer_bounds(text, len, err, err_size) != 0)
    return -EINVAL;
  return parse_bounded(text, len, GEN_JSON_MAX_DEPTH, out, err, err_size);
}

int gen_json_parse_answer(const char *text, size_t len, json_object **out,
                          char *err, size_t err_size) {
  char why[128];
  *out = NULL;
  if (text == NULL || len == 0) {
    snprintf(err, err_size, "empty answer");
    return -EBADMSG;
  }
  if (gen_json_parse_net(text, len, out, why, sizeof(why)) != 0) {
    snprintf(err, err_size, "not JSON: %s", why);
    return -EBADMSG;
  }
  return 0;
}
