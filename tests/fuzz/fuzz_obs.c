/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: fuzz target for the queue-observation parser (gen_obs).
 *
 * Built and run with the others by "make fuzz" (tests/fuzz/README.md);
 * fuzz_obs_replay (tests/fuzz/fuzz_replay.h) replays the corpus in
 * "make check".
 *
 * Each input is parsed from an exact-size heap copy (so a read past the end
 * is an ASan or valgrind error), and these properties are checked (a
 * failure aborts):
 * - the status is 0 or one of the gen_obs_status_t codes, err is a
 *   terminated line shorter than its buffer, empty exactly on success;
 * - every string in the output is terminated inside its field, n_items is
 *   at most GEN_OBS_MAX_ITEMS, counts are >= 0, values finite;
 * - a known message parsed right after gives exactly the known result (no
 *   state carried over);
 * - syntax oracle: when gen_obs read and accepted a message the text is
 *   valid JSON, and when it says GEN_OBS_ERR_SYNTAX it is not, by a small
 *   strict validator below;
 * - field oracle against json-c: for an accepted message json-c finds the
 *   same group and the same items in the same order.
 * The topic is the hub's reading of the input (gen_notify_topic), as the
 * plugin is handed it; an input without one is read as a queue
 * observation all the same.
 */
#define GEN_FUZZ_NAME "obs"
#include "fuzz_replay.h"
#include "gen_notify.h"
#include "gen_obs.h"

#include <json-c/json.h>

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char known[] =
    "{\"topicName\":\"v2.analytics.queues.k.observations\",\"eventBody\":{"
    "\"group\":{\"queueId\":\"k\"},\"data\":[{\"metrics\":[{\"metric\":"
    "\"oWaiting\",\"stats\":{\"count\":7}}]}]}}";

static bool terminated(const char *s, size_t size) {
  return memchr(s, '\0', size) != NULL;
}

/* ---- json-c oracle -------------------------------------------------------
 */

static json_object *get(json_object *o, const char *key) {
  json_object *v = NULL;
  if (o == NULL || !json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, key, &v) ||
      json_object_is_type(v, json_type_null))
    return NULL;
  return v;
}

/* Escapes json-c may read otherwise than gen_jscan, so fields are not
 * compared at all when the input has one: any \uD800-\uDFFF (both give
 * U+FFFD for half a pair, but where a broken pair resumes is each one's
 * choice), and \u0000 (json-c cuts object keys at it). */
static bool has_lossy_escape(const uint8_t *data, size_t size) {
  for (size_t i = 0; i + 5 < size; i++) {
    if (data[i] != '\\' || data[i + 1] != 'u')
      continue;
    if ((data[i + 2] == 'd' || data[i + 2] == 'D') && data[i + 3] != '\0' &&
        strchr("89abcdefABCDEF", data[i + 3]) != NULL)
      return true;
    if (memcmp(data + i + 2, "0000", 4) == 0)
      return true;
  }
  return false;
}

static void check_string(json_object *v, const char *ours, size_t size,
                         const char *what) {
  if (v == NULL) {
    FUZZ_CHECK(ours[0] == '\0', what);
    return;
  }
  /* gen_obs refuses what does not fit its field: never cut. */
  FUZZ_CHECK(json_object_is_type(v, json_type_string) &&
                 (size_t)json_object_get_string_len(v) < size &&
                 strcmp(json_object_get_string(v), ours) == 0,
             what);
}

static void check_item(json_object *it, const gen_obs_item_t *ours) {
  check_string(get(it, "qualifier"), ours->qualifier, sizeof(ours->qualifier),
               "qualifier");
  json_object *stats = get(it, "stats");
  json_object *count = get(stats, "count");
  json_object *cmv = get(stats, "calculatedMetricValue");
  FUZZ_CHECK((count != NULL) == ours->has_count, "has_count");
  if (count != NULL) {
    if (json_object_is_type(count, json_type_int))
      FUZZ_CHECK(json_object_get_int64(count) == ours->count, "count");
    else
      FUZZ_CHECK(json_object_is_type(count, json_type_double) &&
                     json_object_get_double(count) == (double)ours->count,
                 "count (double)");
  }
  FUZZ_CHECK((cmv != NULL) == ours->has_value, "has_value");
  if (cmv != NULL) {
    FUZZ_CHECK(json_object_is_type(cmv, json_type_int) ||
                   json_object_is_type(cmv, json_type_double),
               "calculatedMetricValue type");
    double want = json_object_get_double(cmv);
    /* json-c saturates integer text beyond int64 (gen_obs converts it to
     * the nearest double); nothing to compare then. */
    bool saturated = json_object_is_type(cmv, json_type_int) &&
                     (json_object_get_int64(cmv) == INT64_MAX ||
                      json_object_get_int64(cmv) == INT64_MIN);
    FUZZ_CHECK(saturated || want == ours->calculated_value,
               "calculatedMetricValue");
  }
}

static gen_obs_metric_t metric_of(json_object *it) {
  json_object *m = get(it, "metric");
  if (m == NULL)
    return GEN_OBS_M_UNKNOWN;
  FUZZ_CHECK(json_object_is_type(m, json_type_string), "metric type");
  for (int k = 1; k < GEN_OBS_M_COUNT; k++)
    if (strcmp(json_object_get_string(m),
               gen_obs_metric_name((gen_obs_metric_t)k)) == 0 &&
        (size_t)json_object_get_string_len(m) ==
            strlen(gen_obs_metric_name((gen_obs_metric_t)k)))
      return (gen_obs_metric_t)k;
  return GEN_OBS_M_UNKNOWN;
}

static void oracle_accepts(const gen_obs_msg_t *m, json_object *doc) {
  FUZZ_CHECK(json_object_is_type(doc, json_type_object), "root type");
  json_object *body = get(doc, "eventBody");
  json_object *group = get(body, "group");
  check_string(get(group, "queueId"), m->queue_id, sizeof(m->queue_id),
               "queueId");
  check_string(get(group, "mediaType"), m->media_type, sizeof(m->media_type),
               "mediaType");
  size_t k = 0, unknown = 0, known_total = 0;
  json_object *data = get(body, "data");
  FUZZ_CHECK(data == NULL || json_object_is_type(data, json_type_array),
             "data type");
  size_t nd = data ? json_object_array_length(data) : 0;
  for (size_t d = 0; d < nd; d++) {
    json_object *metrics = get(json_object_array_get_idx(data, d), "metrics");
    FUZZ_CHECK(metrics == NULL || json_object_is_type(metrics, json_type_array),
               "metrics type");
    size_t nm = metrics ? json_object_array_length(metrics) : 0;
    for (size_t j = 0; j < nm; j++) {
      json_object *it = json_object_array_get_idx(metrics, j);
      if (it == NULL)
        continue; /* null elements are skipped */
      gen_obs_metric_t id = metric_of(it);
      if (id == GEN_OBS_M_UNKNOWN) {
        unknown++;
        continue;
      }
      known_total++;
      if (k < GEN_OBS_MAX_ITEMS) {
        FUZZ_CHECK(m->items[k].metric == id, "metric order");
        check_item(it, &m->items[k]);
        k++;
      }
    }
  }
  FUZZ_CHECK(k == m->n_items, "n_items");
  FUZZ_CHECK(unknown == m->n_unknown, "n_unknown");
  FUZZ_CHECK((known_total > GEN_OBS_MAX_ITEMS) == m->truncated, "truncated");
}

/* json-c's reading of a text gen_obs accepted, or NULL (read from an
 * exact-size copy). */
static json_object *json_c_parse(const uint8_t *data, size_t size) {
  if (size > INT32_MAX)
    return NULL;
  uint8_t *copy = malloc(size ? size : 1);
  if (copy == NULL)
    abort();
  memcpy(copy, data, size);
  data = copy;
  json_tokener *tok = json_tokener_new_ex(64);
  if (tok == NULL)
    abort();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object *doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
  bool ok = doc != NULL && json_tokener_get_error(tok) == json_tokener_success;
  if (ok) {
    /* Only white space may follow. */
    for (size_t i = json_tokener_get_parse_end(tok); i < size; i++)
      if (strchr(" \t\n\r", data[i]) == NULL || data[i] == '\0')
        ok = false;
  }
  json_tokener_free(tok);
  free(copy);
  if (!ok) {
    json_object_put(doc);
    return NULL;
  }
  return doc;
}

/* ---- syntax oracle -------------------------------------------------------
 * A small RFC 8259 validator, independent of gen_jscan and of json-c (which
 * lets raw control characters in strings and numbers such as -.5 pass even
 * in strict mode): white space is space, tab, LF and CR; UTF-8 is strict
 * (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF).
 * Returns 1 valid, 0 invalid, -1 too deep to tell. */
typedef struct {
  const uint8_t *s;
  size_t n, i;
  int depth;
} vj_t;

static void vj_ws(vj_t *v) {
  while (v->i < v->n && strchr(" \t\n\r", v->s[v->i]) != NULL &&
         v->s[v->i] != '\0')
    v->i++;
}

static bool vj_lit(vj_t *v, const char *lit) {
  size_t k = strlen(lit);
  if (v->n - v->i < k || memcmp(v->s + v->i, lit, k) != 0)
    return false;
  v->i += k;
  return true;
}

static bool vj_digits(vj_t *v) {
  size_t start = v->i;
  while (v->i < v->n && v->s[v->i] >= '0' && v->s[v->i] <= '9')
    v->i++;
  return v->i > start;
}

static bool vj_number(vj_t *v) {
  if (v->i < v->n && v->s[v->i] == '-')
    v->i++;
  if (v->i < v->n && v->s[v->i] == '0')
    v->i++;
  else if (v->i >= v->n || v->s[v->i] < '1' || v->s[v->i] > '9' ||
           !vj_digits(v))
    return false;
  if (v->i < v->n && v->s[v->i] == '.') {
    v->i++;
    if (!vj_digits(v))
      return false;
  }
  if (v->i < v->n && (v->s[v->i] == 'e' || v->s[v->i] == 'E')) {
    v->i++;
    if (v->i < v->n && (v->s[v->i] == '+' || v->s[v->i] == '-'))
      v->i++;
    if (!vj_digits(v))
      return false;
  }
  return true;
}

static bool vj_string(vj_t *v) {
  if (v->i >= v->n || v->s[v->i] != '"')
    return false;
  v->i++;
  while (v->i < v->n) {
    uint8_t c = v->s[v->i++];
    if (c == '"')
      return true;
    if (c < 0x20)
      return false;
    if (c == '\\') {
      if (v->i >= v->n)
        return false;
      c = v->s[v->i++];
      if (c == 'u') {
        for (int k = 0; k < 4; k++, v->i++)
          if (v->i >= v->n || !isxdigit(v->s[v->i]))
            return false;
      } else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
        return false;
      }
      continue;
    }
    /* The code point, built up, then checked for its range. */
    size_t more = c < 0x80           ? 0
                  : (c >> 5) == 0x6  ? 1
                  : (c >> 4) == 0xE  ? 2
                  : (c >> 3) == 0x1E ? 3
                                     : 4;
    if (more == 4)
      return false;
    uint32_t cp = more == 0 ? c : c & (0x3F >> more);
    for (size_t k = 0; k < more; k++, v->i++) {
      if (v->i >= v->n || (v->s[v->i] >> 6) != 0x2)
        return false;
      cp = cp << 6 | (v->s[v->i] & 0x3F);
    }
    static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
    if (cp < least[more] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
  }
  return false;
}

static int vj_value(vj_t *v);

static int vj_container(vj_t *v, uint8_t close, bool object) {
  if (++v->depth > 2000)
    return -1;
  v->i++;
  vj_ws(v);
  if (v->i < v->n && v->s[v->i] == close) {
    v->i++;
    v->depth--;
    return 1;
  }
  for (;;) {
    if (object) {
      if (!vj_string(v))
        return 0;
      vj_ws(v);
      if (v->i >= v->n || v->s[v->i] != ':')
        return 0;
      v->i++;
      vj_ws(v);
    }
    int r = vj_value(v);
    if (r != 1)
      return r;
    vj_ws(v);
    if (v->i >= v->n)
      return 0;
    if (v->s[v->i] == close) {
      v->i++;
      v->depth--;
      return 1;
    }
    if (v->s[v->i] != ',')
      return 0;
    v->i++;
    vj_ws(v);
  }
}

static int vj_value(vj_t *v) {
  if (v->i >= v->n)
    return 0;
  switch (v->s[v->i]) {
  case '{':
    return vj_container(v, '}', true);
  case '[':
    return vj_container(v, ']', false);
  case '"':
    return vj_string(v);
  case 't':
    return vj_lit(v, "true");
  case 'f':
    return vj_lit(v, "false");
  case 'n':
    return vj_lit(v, "null");
  default:
    return vj_number(v);
  }
}

static int valid_json(const uint8_t *data, size_t size) {
  vj_t v = {.s = data, .n = size, .i = 0, .depth = 0};
  vj_ws(&v);
  int r = vj_value(&v);
  if (r != 1)
    return r;
  vj_ws(&v);
  return v.i == v.n;
}

static bool ascii_only(const uint8_t *data, size_t size) {
  for (size_t i = 0; i < size; i++)
    if (data[i] >= 0x80)
      return false;
  return true;
}

/* ---- the target ----------------------------------------------------------
 */

static gen_obs_parser_t *parser;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static gen_obs_msg_t m;
  char err[GEN_OBS_ERR_SIZE];
  if (parser == NULL) {
    parser = gen_obs_parser_new(0);
    FUZZ_CHECK(parser != NULL, "parser");
  }
  char topic[GEN_NOTIFY_TOPIC_SIZE];
  if (!gen_notify_topic((const char *)data, size, topic, sizeof(topic)))
    snprintf(topic, sizeof(topic), "v2.analytics.queues.q.observations");
  int status = gen_obs_parse(parser, topic, (const char *)data, size, &m, err,
                             sizeof(err));

  FUZZ_CHECK(status == 0 ||
                 (status <= GEN_OBS_ERR_SYNTAX && status >= GEN_OBS_ERR_ARG),
             "status range");
  FUZZ_CHECK(terminated(err, sizeof(err)), "err terminated");
  FUZZ_CHECK((status == 0) == (err[0] == '\0'), "err set iff failure");
  FUZZ_CHECK(terminated(m.queue_id, sizeof(m.queue_id)), "queue_id");
  FUZZ_CHECK(terminated(m.media_type, sizeof(m.media_type)), "media_type");
  FUZZ_CHECK(m.n_items <= GEN_OBS_MAX_ITEMS, "n_items");
  FUZZ_CHECK(status == 0 || m.n_items == 0, "no items on failure");
  for (size_t i = 0; i < m.n_items; i++) {
    FUZZ_CHECK(m.items[i].metric > GEN_OBS_M_UNKNOWN &&
                   m.items[i].metric < GEN_OBS_M_COUNT,
               "metric");
    FUZZ_CHECK(terminated(m.items[i].qualifier, sizeof(m.items[i].qualifier)),
               "qualifier");
    FUZZ_CHECK(!m.items[i].has_count || m.items[i].count >= 0, "count");
    FUZZ_CHECK(!m.items[i].has_value || isfinite(m.items[i].calculated_value),
               "value");
  }

  FUZZ_CHECK(status != 0 || m.topic == GEN_OBS_TOPIC_OTHER ||
                 m.topic == GEN_OBS_TOPIC_QUEUE_OBSERVATIONS,
             "topic");
  if (status == 0 && m.topic == GEN_OBS_TOPIC_QUEUE_OBSERVATIONS) {
    FUZZ_CHECK(valid_json(data, size) != 0, "accepted text is valid JSON");
    /* Both check UTF-8 strictly; json-c must read what gen_obs accepted
     * when it is ASCII, and fields are compared whenever it can. */
    json_object *doc = json_c_parse(data, size);
    FUZZ_CHECK(doc != NULL || !ascii_only(data, size),
               "json-c reads what gen_obs accepted");
    if (doc != NULL && !has_lossy_escape(data, size))
      oracle_accepts(&m, doc);
    json_object_put(doc);
  } else if (status == GEN_OBS_ERR_SYNTAX) {
    FUZZ_CHECK(valid_json(data, size) != 1, "rejected text is not JSON");
  }

  /* Nothing carries over to the next message. */
  status = gen_obs_parse(parser, "v2.analytics.queues.k.observations", known,
                         sizeof(known) - 1, &m, err, sizeof(err));
  FUZZ_CHECK(status == 0 && m.topic == GEN_OBS_TOPIC_QUEUE_OBSERVATIONS &&
                 m.n_items == 1 && m.items[0].count == 7 &&
                 m.items[0].qualifier[0] == '\0' && !m.items[0].has_value &&
                 strcmp(m.queue_id, "k") == 0 && m.media_type[0] == '\0' &&
                 m.n_unknown == 0 && !m.truncated,
             "known message after the input");
  return 0;
}

static void fuzz_cleanup(void) {
  gen_obs_parser_free(parser);
  parser = NULL;
}
