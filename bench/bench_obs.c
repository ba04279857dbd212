/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: benchmark of the queue-observation parser (gen_obs).
 *
 * Generates N realistic v2.analytics.queues.{id}.observations messages in
 * memory first (the shapes tests/sim sends: media groups with the five
 * conversation metrics, user groups with oUserRoutingStatuses and
 * oUserPresences qualifiers; compact JSON as the simulator writes it; ~950
 * bytes on average), back to back in one buffer so that no message is
 * NUL-terminated. Then it times, on one core in CPU time
 * (CLOCK_PROCESS_CPUTIME_ID), parsing all of them and reading every item:
 *
 *   gen_obs          gen_jscan's one pass (the real path)
 *   json-c           json_tokener_parse_ex (reused tokener) + walking the
 *                    DOM to read the same fields, then json_object_put
 *
 * and counts the malloc/calloc/realloc calls made during each timed loop
 * (this program interposes them). Not a timed test: run it by hand.
 *
 *   bench_obs [-n messages] [-r repeats]     (defaults 200000 and 3; the
 *                                             best of the repeats is shown)
 */
#include "gen_notify.h"
#include "gen_obs.h"

#include <json-c/json.h>

#include "bench_util.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- malloc counting ----------------------------------------------------
 * glibc exports its allocator under __libc_*; defining malloc here
 * interposes it for the whole process, libjson-c included. */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static uint64_t n_alloc;
void *malloc(size_t n) {
  n_alloc++;
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  n_alloc++;
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  n_alloc++;
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
#else
#define COUNT_MALLOC 0
static uint64_t n_alloc;
#endif

/* ---- message generation ------------------------------------------------- */

static const char *const media[] = {"voice", "chat", "email", "message",
                                    "callback"};
static const char *const routing[] = {"OFF_QUEUE", "IDLE", "INTERACTING",
                                      "NOT_RESPONDING", "COMMUNICATING"};
static const char *const presence[] = {"AVAILABLE", "AWAY",     "BUSY",
                                       "BREAK",     "MEAL",     "MEETING",
                                       "TRAINING",  "ON_QUEUE", "OFFLINE"};
#define N_QUEUES 500

static void metric(sbuf_t *b, bool *first, const char *name, const char *qual,
                   unsigned count, long long calc) {
  sbuf_put(b, "%s{\"metric\":\"%s\"", *first ? "" : ",", name);
  if (qual != NULL)
    sbuf_put(b, ",\"qualifier\":\"%s\"", qual);
  sbuf_put(b, ",\"stats\":{\"count\":%u", count);
  if (calc >= 0)
    sbuf_put(b, ",\"calculatedMetricValue\":%lld", calc);
  sbuf_put(b, "}}");
  *first = false;
}

/* One message; 55% are user groups (they change with every agent status
 * change), which gives ~950 bytes per message, the size of a real queue's
 * observation messages with its user counts. */
static void gen_message(sbuf_t *b, char queues[][37]) {
  const char *q = queues[rnd_below(N_QUEUES)];
  char corr[37];
  uuid(corr);
  bool user = rnd_below(20) < 11;
  sbuf_put(b,
           "{\"topicName\":\"v2.analytics.queues.%s.observations\",\"version\":"
           "\"2\",\"eventBody\":{\"group\":{\"queueId\":\"%s\"",
           q, q);
  if (!user)
    sbuf_put(b, ",\"mediaType\":\"%s\"", media[rnd_below(5)]);
  sbuf_put(b, "},\"data\":[{\"interval\":\"2026-05-14T10:00:00.000Z/"
              "2026-05-14T10:30:00.000Z\",\"metrics\":[");
  bool first = true;
  if (user) {
    unsigned members = 5 + rnd_below(60), on = rnd_below(members + 1);
    metric(b, &first, "oActiveUsers", NULL, on + rnd_below(3), -1);
    metric(b, &first, "oMemberUsers", NULL, members, -1);
    metric(b, &first, "oOnQueueUsers", NULL, on, -1);
    metric(b, &first, "oOffQueueUsers", NULL, members - on, -1);
    for (int i = 0; i < 5; i++)
      if (rnd_below(4) != 0) /* only non-zero counts are sent */
        metric(b, &first, "oUserRoutingStatuses", routing[i], 1 + rnd_below(20),
               -1);
    for (int i = 0; i < 9; i++)
      if (rnd_below(3) != 0)
        metric(b, &first, "oUserPresences", presence[i], 1 + rnd_below(20), -1);
  } else {
    unsigned w = rnd_below(12), in = rnd_below(40), al = rnd_below(4);
    metric(b, &first, "oWaiting", NULL, w, -1);
    metric(b, &first, "oInteracting", NULL, in, -1);
    metric(b, &first, "oAlerting", NULL, al, -1);
    metric(b, &first, "oLongestWaiting", NULL, w,
           w ? (long long)rnd_below(900000) : -1);
    metric(b, &first, "oLongestInteracting", NULL, in,
           in ? (long long)rnd_below(3600000) : -1);
  }
  sbuf_put(b, "]}]},\"metadata\":{\"CorrelationId\":\"%s\"}}", corr);
}

/* ---- the parsers under test --------------------------------------------- */

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
  const char *text;
  const size_t *off;
  const size_t *len;
  size_t n;
} corpus_t;

/* Checksum over what an apply step would read: every item's metric id,
 * count and value, so both parsers must agree. */
static double run_gen_obs(const corpus_t *c) {
  gen_obs_parser_t *p = gen_obs_parser_new(0);
  static gen_obs_msg_t m;
  char err[GEN_OBS_ERR_SIZE];
  double sum = 0;
  if (p == NULL) {
    perror("gen_obs_parser_new");
    exit(1);
  }
  for (size_t i = 0; i < c->n; i++) {
    /* The topic as the hub reads it, then the parser (the plugin's path). */
    char topic[GEN_NOTIFY_TOPIC_SIZE];
    if (!gen_notify_topic(c->text + c->off[i], c->len[i], topic,
                          sizeof(topic)) ||
        gen_obs_parse(p, topic, c->text + c->off[i], c->len[i], &m, err,
                      sizeof(err)) != 0 ||
        m.topic != GEN_OBS_TOPIC_QUEUE_OBSERVATIONS) {
      fprintf(stderr, "gen_obs: message %zu: %s\n", i, err);
      exit(1);
    }
    sum += (double)(m.media_type[0] != '\0') + (double)m.queue_id[0];
    for (size_t j = 0; j < m.n_items; j++)
      sum += (double)m.items[j].metric * (double)m.items[j].count +
             (m.items[j].has_value ? m.items[j].calculated_value : 0) +
             (double)m.items[j].qualifier[0];
  }
  gen_obs_parser_free(p);
  return sum;
}

static json_object *member(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static int metric_id(const char *name) {
  for (int m = 1; m < GEN_OBS_M_COUNT; m++)
    if (strcmp(name, gen_obs_metric_name((gen_obs_metric_t)m)) == 0)
      return m;
  return 0;
}

static double run_json_c(const corpus_t *c) {
  json_tokener *tok = json_tokener_new_ex(32);
  double sum = 0;
  for (size_t i = 0; i < c->n; i++) {
    json_tokener_reset(tok);
    json_object *doc =
        json_tokener_parse_ex(tok, c->text + c->off[i], (int)c->len[i]);
    if (doc == NULL || json_tokener_get_error(tok) != json_tokener_success) {
      fprintf(stderr, "json-c: message %zu does not parse\n", i);
      exit(1);
    }
    json_object *topic = member(doc, "topicName");
    json_object *body = member(doc, "eventBody");
    json_object *group = member(body, "group");
    json_object *qid = member(group, "queueId");
    json_object *mt = member(group, "mediaType");
    json_object *data = member(body, "data");
    if (topic == NULL || qid == NULL || data == NULL) {
      fprintf(stderr, "json-c: message %zu lacks fields\n", i);
      exit(1);
    }
    sum += (double)(mt != NULL) + (double)json_object_get_string(qid)[0];
    size_t nd = json_object_array_length(data);
    for (size_t d = 0; d < nd; d++) {
      json_object *ms = member(json_object_array_get_idx(data, d), "metrics");
      size_t nm = json_object_array_length(ms);
      for (size_t k = 0; k < nm; k++) {
        json_object *it = json_object_array_get_idx(ms, k);
        json_object *stats = member(it, "stats");
        json_object *q = member(it, "qualifier");
        json_object *cmv = member(stats, "calculatedMetricValue");
        int id = metric_id(json_object_get_string(member(it, "metric")));
        sum +=
            (double)id * (double)json_object_get_int64(member(stats, "count")) +
            (cmv != NULL ? json_object_get_double(cmv) : 0) +
            (q != NULL ? (double)json_object_get_string(q)[0] : 0);
      }
    }
    json_object_put(doc);
  }
  json_tokener_free(tok);
  return sum;
}

typedef struct {
  const char *name;
  double best; /* CPU seconds, best repeat */
  double allocs_per_msg;
  double sum;
} result_t;

int main(int argc, char **argv) {
  size_t n = 200000;
  int repeats = 3, opt;
  while ((opt = getopt(argc, argv, "n:r:")) != -1) {
    if (opt == 'n')
      n = strtoul(optarg, NULL, 10);
    else if (opt == 'r')
      repeats = atoi(optarg);
    else {
      fprintf(stderr, "usage: %s [-n messages] [-r repeats]\n", argv[0]);
      return 2;
    }
  }
  if (n == 0 || repeats < 1)
    return 2;

  char(*queues)[37] = malloc(sizeof(*queues) * N_QUEUES);
  size_t *off = malloc(n * sizeof(*off)), *len = malloc(n * sizeof(*len));
  sbuf_t b = {.buf = malloc(1 << 20), .len = 0, .cap = 1 << 20};
  if (queues == NULL || off == NULL || len == NULL || b.buf == NULL)
    return 1;
  for (int i = 0; i < N_QUEUES; i++)
    uuid(queues[i]);
  size_t n_user = 0;
  for (size_t i = 0; i < n; i++) {
    off[i] = b.len;
    gen_message(&b, queues);
    len[i] = b.len - off[i];
    n_user += strstr(b.buf + off[i], "mediaType") == NULL; /* bounded by NUL
                                                          at b.len */
  }
  corpus_t c = {.text = b.buf, .off = off, .len = len, .n = n};
  printf("%zu messages, %zu bytes, %.0f bytes/message on average, %.0f%% "
         "user groups\n",
         n, b.len, (double)b.len / (double)n,
         100.0 * (double)n_user / (double)n);

  result_t r[] = {{"gen_obs (gen_jscan)", 1e9, 0, 0},
                  {"json-c (tokener + walk)", 1e9, 0, 0}};
  for (int rep = 0; rep < repeats; rep++) {
    for (size_t k = 0; k < 2; k++) {
      uint64_t a0 = n_alloc;
      double t0 = cpu_now();
      double sum = k == 0 ? run_gen_obs(&c) : run_json_c(&c);
      double t = cpu_now() - t0;
      if (t < r[k].best)
        r[k].best = t;
      r[k].allocs_per_msg = (double)(n_alloc - a0) / (double)n;
      r[k].sum = sum;
    }
  }
  if (r[0].sum != r[1].sum) {
    fprintf(stderr, "checksums differ: %.17g %.17g\n", r[0].sum, r[1].sum);
    return 1;
  }
  printf("%-25s %8s %12s %9s %9s %11s\n", "parser", "CPU s", "messages/s",
         "ns/msg", "MB/s", "allocs/msg");
  for (size_t k = 0; k < 2; k++) {
    char allocs[16] = "n/a";
    if (COUNT_MALLOC)
      snprintf(allocs, sizeof(allocs), "%.2f", r[k].allocs_per_msg);
    printf("%-25s %8.3f %12.0f %9.0f %9.1f %11s\n", r[k].name, r[k].best,
           (double)n / r[k].best, r[k].best * 1e9 / (double)n,
           (double)b.len / r[k].best / 1e6, allocs);
  }
  printf("best of %d runs, one core, CPU time; checksum %.17g\n", repeats,
         r[0].sum);
  free(b.buf);
  free(off);
  free(len);
  free(queues);
  return 0;
}
