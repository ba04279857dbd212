/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: benchmark of the genesys_realtime event path.
 *
 * Includes plugins/genesys_realtime.c and builds one instance by hand (no
 * network: the notify manager is created, never started) with N queues.
 * It generates M queue-observation messages in memory first, shaped as
 * tests/sim sends them (Hub.flush_observations with Model.obs_user_metrics
 * and obs_conv_metrics: compact JSON, same key order, the sim's media mix
 * per queue, ~10 members per queue, only non-zero routing and presence
 * qualifiers), from a small per-queue model whose counts and longest waits
 * change from one message to the next, so that values are dispatched.
 * Then, on one thread:
 *
 *   parse only       the topic and gen_obs_parse() over the messages (the floor)
 *   gr_on_message    parse, queue lookup, apply, dispatch of what changed:
 *                    CPU (CLOCK_PROCESS_CPUTIME_ID) and wall time
 *                    (CLOCK_MONOTONIC) of the whole replay, best of R
 *   latency          every call timed with CLOCK_MONOTONIC: p50 … max
 *   gr_read          the read callback's full re-dispatch of all queues
 *                    (plus its self-metrics), best of R
 *   mixed            the replay with a gr_read() every K messages, K the
 *                    events of one read interval (-t) at -e events/s per
 *                    queue; from it, the share of one core that steady
 *                    state takes, and the event capacity of one core with
 *                    the re-dispatch charged at its rate
 *
 * Every replay starts from the same state (a copy taken after the
 * baseline), so each does the same work. plugin_dispatch_values() is a stub
 * that counts: collectd's own dispatch cost (value cache, filter chain,
 * write queue) is not included. Memory per queue: RSS (/proc/self/statm) and
 * malloc'd bytes (mallinfo2) before and after adding the N queues to the
 * entity set, allocating their states and feeding every queue one message
 * per group (its user group and each of its media).
 *
 *   bench_realtime [-n queues] [-m messages] [-r repeats] [-u user-%]
 *                  [-e events/s per queue] [-t interval] [-k messages-per-read]
 *                  [-i] [-s seed] [-v]
 *
 *   defaults: 5000 queues, 1000000 messages, 3 repeats, 41% user groups
 *   and 0.04 events/s per queue (what tests/sim sends at speed 1, measured
 *   by bench/latency_e2e.py), Interval 10 s; -k overrides N × e × t;
 *   -i names queues by id (InstanceFrom "id"); -v echoes plugin log lines.
 */
#define module_register realtime_module_register
#include "../plugins/genesys_realtime.c"
#undef module_register

#include "bench_util.h"
#include "standalone.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- collectd stand-ins (tools/standalone.c) ----------------------------
 * The dispatch hook counts values (and sums them, so nothing is optimised
 * away); the log hook keeps the first line. */

static uint64_t n_dispatched;
static double dispatched_sum;
static uint64_t n_log;
static char first_log[256];
static bool log_echo;

static int count_value(const value_list_t *vl) {
  n_dispatched++;
  dispatched_sum += vl->values[0].gauge;
  return 0;
}

static void keep_log(int level, const char *msg) {
  if (n_log++ == 0)
    snprintf(first_log, sizeof(first_log), "%.200s", msg);
  if (log_echo)
    fprintf(stderr, "log %d: %s\n", level, msg);
}

/* ---- message generation: a small model per queue ------------------------ */

/* tests/sim/simmodel.py: MEDIA, ROUTING, PRESENCES, DEPTS, LANGS. */
static const char *const sim_media[] = {"voice", "chat", "email", "message",
                                        "callback"};
#define SIM_MEDIA 5
static const char *const sim_routing[] = {"OFF_QUEUE", "IDLE", "INTERACTING",
                                          "NOT_RESPONDING", "COMMUNICATING"};
enum { R_OFF, R_IDLE, R_INTER, R_NR, R_COMM, SIM_ROUTING };
static const char *const sim_presence[] = {"AVAILABLE", "AWAY",     "BUSY",
                                           "BREAK",     "MEAL",     "MEETING",
                                           "TRAINING",  "ON_QUEUE", "OFFLINE"};
enum { P_ONQ = 7, P_OFFLINE = 8, SIM_PRESENCE = 9 };
static const char *const depts[] = {"Sales",     "Support",    "Billing",
                                    "Retention", "Tech",       "Claims",
                                    "Bookings",  "Collections"};
static const char *const langs[] = {"EN", "FR", "DE", "ES", "NL", "IT"};

#define RING 32 /* conversations remembered per media (FIFO order) */
#define MAX_MEMBERS 16

typedef struct {
  int64_t enter[RING]; /* waiting: entry times, oldest first */
  unsigned n_wait, head_wait;
  int64_t answer[RING]; /* interacting: answer times, oldest first */
  unsigned n_int, head_int;
  unsigned alerting;
} sim_media_t;

typedef struct {
  char id[37];
  char name[40];
  unsigned media_mask; /* bit i: sim_media[i] */
  unsigned n_media;
  unsigned char media_list[SIM_MEDIA];
  sim_media_t m[SIM_MEDIA];
  unsigned n_members;
  bool joined[MAX_MEMBERS];
  unsigned char routing[MAX_MEMBERS], presence[MAX_MEMBERS];
} sim_queue_t;

static void iso(char out[32], int64_t ms) {
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char head[24];
  strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 32, "%s.%03dZ", head, (int)(ms % 1000));
}

static void queue_init(sim_queue_t *q, size_t i) {
  uuid(q->id);
  snprintf(q->name, sizeof(q->name), "%s %s %03zu", depts[i % 8],
           langs[(i / 8) % 6], i / 48 + 1);
  /* simmodel._build: voice, then chat 40%, message 30%, email 20%,
   * callback 10%. */
  q->media_mask = 1u;
  if (rnd_below(100) < 40)
    q->media_mask |= 1u << 1;
  if (rnd_below(100) < 30)
    q->media_mask |= 1u << 3;
  if (rnd_below(100) < 20)
    q->media_mask |= 1u << 2;
  if (rnd_below(100) < 10)
    q->media_mask |= 1u << 4;
  for (unsigned m = 0; m < SIM_MEDIA; m++)
    if (q->media_mask & (1u << m))
      q->media_list[q->n_media++] = (unsigned char)m;
  /* 5 × queues agents, each a member of ~2 queues: ~10 members. */
  q->n_members = 5 + rnd_below(11);
  for (unsigned a = 0; a < q->n_members; a++) {
    q->joined[a] = rnd_below(100) < 92;
    q->presence[a] =
        rnd_below(100) < 58
            ? P_ONQ
            : (unsigned char)(rnd_below(100) < 30 ? P_OFFLINE : rnd_below(7));
    q->routing[a] = q->presence[a] == P_ONQ
                        ? (unsigned char)(R_IDLE + rnd_below(2))
                        : R_OFF;
  }
}

static void metric(sbuf_t *b, bool *first, const char *name, unsigned count,
                   const char *qual) {
  sbuf_put(b, "%s{\"metric\":\"%s\",\"stats\":{\"count\":%u}",
           *first ? "" : ",", name, count);
  if (qual != NULL)
    sbuf_put(b, ",\"qualifier\":\"%s\"", qual);
  sbuf_put(b, "}");
  *first = false;
}

/* One message of queue q, group media (-1: the user group), at sim time
 * now_ms, as Hub.publish() frames it. */
static void emit(sbuf_t *b, const sim_queue_t *q, int media, int64_t now_ms) {
  char from[32], to[32], corr[37];
  int64_t start = now_ms - now_ms % 1800000;
  iso(from, start);
  iso(to, start + 1800000);
  uuid(corr);
  sbuf_put(b,
           "{\"topicName\":\"v2.analytics.queues.%s.observations\",\"version\":"
           "\"2\",\"eventBody\":{\"group\":{\"queueId\":\"%s\"",
           q->id, q->id);
  if (media >= 0)
    sbuf_put(b, ",\"mediaType\":\"%s\"", sim_media[media]);
  sbuf_put(b, "},\"data\":[{\"interval\":\"%s/%s\",\"metrics\":[", from, to);
  bool first = true;
  if (media < 0) {
    unsigned active = 0, onq = 0, offq = 0;
    unsigned by_r[SIM_ROUTING] = {0}, by_p[SIM_PRESENCE] = {0};
    for (unsigned a = 0; a < q->n_members; a++) {
      if (!q->joined[a])
        continue;
      by_p[q->presence[a]]++;
      if (q->presence[a] != P_OFFLINE) {
        by_r[q->routing[a]]++;
        active++;
        if (q->routing[a] == R_OFF)
          offq++;
        else
          onq++;
      }
    }
    metric(b, &first, "oActiveUsers", active, NULL);
    metric(b, &first, "oMemberUsers", q->n_members, NULL);
    metric(b, &first, "oOnQueueUsers", onq, NULL);
    metric(b, &first, "oOffQueueUsers", offq, NULL);
    for (int r = 0; r < SIM_ROUTING; r++)
      if (by_r[r])
        metric(b, &first, "oUserRoutingStatuses", by_r[r], sim_routing[r]);
    for (int p = 0; p < SIM_PRESENCE; p++)
      if (by_p[p])
        metric(b, &first, "oUserPresences", by_p[p], sim_presence[p]);
  } else {
    const sim_media_t *s = &q->m[media];
    metric(b, &first, "oWaiting", s->n_wait, NULL);
    metric(b, &first, "oInteracting", s->n_int, NULL);
    metric(b, &first, "oAlerting", s->alerting, NULL);
    sbuf_put(b, ",{\"metric\":\"oLongestWaiting\",\"stats\":{\"count\":%u",
             s->n_wait);
    if (s->n_wait)
      sbuf_put(b, ",\"calculatedMetricValue\":%" PRId64,
               now_ms - s->enter[s->head_wait]);
    sbuf_put(b,
             "}},{\"metric\":\"oLongestInteracting\",\"stats\":{\"count\":%u",
             s->n_int);
    if (s->n_int)
      sbuf_put(b, ",\"calculatedMetricValue\":%" PRId64,
               now_ms - s->answer[s->head_int]);
    sbuf_put(b, "}}");
  }
  sbuf_put(b, "]}]},\"metadata\":{\"CorrelationId\":\"%s\"}}", corr);
}

/* One change of an agent: a routing step while on queue, or a presence
 * change (PRES_NEXT_ONQ-like), as the sim's _set_state makes them. */
static void step_agent(sim_queue_t *q) {
  unsigned a = rnd_below(q->n_members);
  if (q->presence[a] == P_ONQ && rnd_below(100) < 80) {
    static const unsigned char next[SIM_ROUTING][2] = {
        [R_OFF] = {R_IDLE, R_IDLE},
        [R_IDLE] = {R_INTER, R_COMM},
        [R_INTER] = {R_IDLE, R_NR},
        [R_NR] = {R_IDLE, R_IDLE},
        [R_COMM] = {R_IDLE, R_INTER}};
    q->routing[a] = next[q->routing[a]][rnd_below(2)];
  } else if (q->presence[a] == P_ONQ) {
    q->presence[a] =
        (unsigned char)(rnd_below(100) < 10 ? P_OFFLINE : rnd_below(7));
    q->routing[a] = R_OFF;
  } else {
    q->presence[a] = P_ONQ;
    q->routing[a] = R_IDLE;
  }
}

/* One change of a media group: an arrival, an offer to an agent, an answer
 * or an end (the waiting and interacting FIFOs keep the oldest first). */
static void step_media(sim_media_t *s, int64_t now_ms) {
  for (;;) {
    switch (rnd_below(4)) {
    case 0: /* arrival */
      if (s->n_wait == RING)
        continue;
      s->enter[(s->head_wait + s->n_wait++) % RING] = now_ms;
      return;
    case 1: /* offered: waiting → alerting */
      if (s->n_wait == 0 || s->alerting >= 3)
        continue;
      s->head_wait = (s->head_wait + 1) % RING;
      s->n_wait--;
      s->alerting++;
      return;
    case 2: /* answered: alerting → interacting */
      if (s->alerting == 0 || s->n_int == RING)
        continue;
      s->alerting--;
      s->answer[(s->head_int + s->n_int++) % RING] = now_ms;
      return;
    default: /* ended */
      if (s->n_int == 0)
        continue;
      s->head_int = (s->head_int + 1) % RING;
      s->n_int--;
      return;
    }
  }
}

typedef struct {
  sbuf_t text;
  size_t *off, *len;
  size_t n, cap, n_user;
} corpus_t;

static void corpus_free(corpus_t *c) {
  free(c->text.buf);
  free(c->off);
  free(c->len);
}

static void corpus_add(corpus_t *c, const sim_queue_t *q, int media,
                       int64_t now_ms) {
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 1024;
    c->off = realloc(c->off, c->cap * sizeof(*c->off));
    c->len = realloc(c->len, c->cap * sizeof(*c->len));
    if (c->off == NULL || c->len == NULL) {
      perror("realloc");
      exit(1);
    }
  }
  c->off[c->n] = c->text.len;
  emit(&c->text, q, media, now_ms);
  c->len[c->n] = c->text.len - c->off[c->n];
  c->n_user += media < 0;
  c->n++;
}

/* ---- measurement helpers ------------------------------------------------ */

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2)
    resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(const uint32_t *sorted, size_t n, double p) {
  size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
  return sorted[i < n ? i : n - 1] / 1000.0; /* µs */
}

static cdtime_t frozen_at;
static cdtime_t frozen_now(void) { return frozen_at; }

typedef struct {
  double cpu, wall;
  uint64_t values;
  size_t failed;
} run_t;

/* What a message changed leaves at the channel's next tick; the replay
 * packs hours of traffic into seconds, so each message gets its own (the
 * dearest case: no burst folds into one value). The tick's rolling
 * re-dispatch is the read's work, measured there. */
static gen_notify_verdict_t message(gr_instance_t *inst, const char *json,
                                    size_t len) {
  /* The topic read as the hub reads it before it delivers. */
  char topic[GEN_NOTIFY_TOPIC_SIZE];
  if (!gen_notify_topic(json, len, topic, sizeof(topic)))
    return GEN_NOTIFY_MALFORMED;
  gen_notify_verdict_t v = gr_on_message(inst, topic, json, len);
  pthread_mutex_lock(&inst->lock);
  dispatch_changed(inst, gr_now(inst));
  pthread_mutex_unlock(&inst->lock);
  return v;
}

/* Replays the corpus through gr_on_message() and the changes' dispatch;
 * lat (if not NULL) gets every call's wall time in ns; with read_every > 0,
 * a gr_read() after every read_every messages (reads counts them). */
static run_t replay(gr_instance_t *inst, const corpus_t *c, uint32_t *lat,
                    size_t read_every, size_t *reads) {
  run_t r = {0};
  user_data_t ud = {.data = inst};
  uint64_t v0 = n_dispatched;
  double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
  for (size_t i = 0; i < c->n; i++) {
    const char *json = c->text.buf + c->off[i];
    gen_notify_verdict_t v;
    if (lat != NULL) {
      uint64_t t0 = mono_ns();
      v = message(inst, json, c->len[i]);
      uint64_t dt = mono_ns() - t0;
      lat[i] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
    } else {
      v = message(inst, json, c->len[i]);
    }
    r.failed += v != GEN_NOTIFY_OK;
    if (read_every > 0 && (i + 1) % read_every == 0) {
      gr_read(&ud);
      (*reads)++;
    }
  }
  r.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  r.wall = clock_s(CLOCK_MONOTONIC) - w0;
  r.values = n_dispatched - v0;
  return r;
}

/* ---- conversation events (-c): the lifecycle tests/sim publishes ------- */

/* tests/sim/simmodel.py MEDIA_ARRAY, in the order of sim_media. */
static const char *const sim_media_array[] = {"calls", "chats", "emails",
                                              "messages", "callbacks"};

typedef struct {
  char id[37], cust[37], acd[37], agent[37], acd2[37], user[37];
  unsigned q, q2, media, stage;
  bool abandon, transfer;
  int64_t t0, t_acd, t_ans, t_end, t_acw;
} gen_conv_t;

static void conv_session(sbuf_t *b, const gen_conv_t *c, const char *state,
                         int64_t connected, int64_t end, const char *type) {
  char t[32];
  sbuf_put(b,
           "\"%s\":[{\"id\":\"s%.35s\",\"state\":\"%s\","
           "\"direction\":\"inbound\",\"held\":false",
           sim_media_array[c->media], c->id, state);
  if (connected) {
    iso(t, connected);
    sbuf_put(b, ",\"connectedTime\":\"%s\"", t);
  }
  if (end) {
    iso(t, end);
    sbuf_put(b, ",\"disconnectedTime\":\"%s\"", t);
  }
  if (type)
    sbuf_put(b, ",\"disconnectType\":\"%s\"", type);
  sbuf_put(b, "}]");
}

static void conv_part(sbuf_t *b, const gen_conv_t *c, const char *id,
                      const char *purpose, const sim_queue_t *q,
                      const char *state, int64_t connected, int64_t end,
                      const char *type) {
  char t[32];
  sbuf_put(b, "{\"id\":\"%s\",\"purpose\":\"%s\"", id, purpose);
  if (q != NULL)
    sbuf_put(b, ",\"queueId\":\"%s\",\"name\":\"%s\"", q->id, q->name);
  if (purpose[1] == 'g') /* agent */
    sbuf_put(b,
             ",\"userId\":\"%s\",\"wrapupRequired\":true,"
             "\"alertingTimeoutMs\":8000",
             c->user);
  if (connected) {
    iso(t, connected);
    sbuf_put(b, ",\"connectedTime\":\"%s\"", t);
  }
  if (end) {
    iso(t, end);
    sbuf_put(b, ",\"endTime\":\"%s\"", t);
  }
  if (purpose[0] == 'c') { /* customer: the flow's attributes */
    iso(t, c->t0);
    sbuf_put(b,
             ",\"address\":\"tel:+3222%06u\",\"attributes\":{"
             "\"SalesIvrMetric_Intent(%.19sZ)\":\"%u\","
             "\"SalesIvrMetric_Language(%.19sZ)\":\"%u\"}",
             (unsigned)(c->t0 % 1000000), t, (unsigned)(c->t0 % 10), t,
             (unsigned)(c->t0 % 7));
  }
  sbuf_put(b, ",");
  conv_session(b, c, state, connected, end, type);
  sbuf_put(b, "}");
}

/* The snapshot of conversation c at its current stage, on queue q's topic;
 * returns false when the conversation has no more events. */
static bool conv_event(sbuf_t *b, gen_conv_t *c, const sim_queue_t *queues) {
  const sim_queue_t *q = &queues[c->q];
  bool ended = c->stage >= 3 && !c->abandon;
  bool answered = c->stage >= 2 && !c->abandon;
  bool gone = (c->abandon && c->stage >= 1) || (ended && !c->transfer);
  unsigned topic_q = (c->transfer && c->stage == 4) ? c->q2 : c->q;
  char corr[37];
  uuid(corr);
  sbuf_put(b,
           "{\"topicName\":\"v2.routing.queues.%s.conversations\","
           "\"version\":\"2\",\"eventBody\":{\"id\":\"%s\","
           "\"maxParticipants\":%d,\"participants\":[",
           queues[topic_q].id, c->id, 2 + (c->stage >= 1 && !c->abandon));
  conv_part(b, c, c->cust, "customer", NULL,
            gone ? "disconnected" : "connected", c->t0,
            gone ? (c->abandon ? c->t_end : c->t_end) : 0,
            gone ? "client" : NULL);
  sbuf_put(b, ",");
  conv_part(b, c, c->acd, "acd", q,
            (answered || (c->abandon && c->stage >= 1)) ? "disconnected"
                                                        : "connected",
            c->t_acd,
            answered                   ? c->t_ans
            : (c->abandon && c->stage) ? c->t_end
                                       : 0,
            answered                   ? "transfer"
            : (c->abandon && c->stage) ? "peer"
                                       : NULL);
  if (c->stage >= 1 && !c->abandon) {
    sbuf_put(b, ",");
    conv_part(b, c, c->agent, "agent", q,
              ended      ? "disconnected"
              : answered ? "connected"
                         : "alerting",
              answered ? c->t_ans : 0, ended ? c->t_end : 0,
              ended ? (c->transfer ? "transfer" : "peer") : NULL);
  }
  if (c->transfer && c->stage == 4) {
    sbuf_put(b, ",");
    conv_part(b, c, c->acd2, "acd", &queues[c->q2], "connected", c->t_end, 0,
              NULL);
  }
  sbuf_put(b,
           "],\"recentTransfers\":[],\"recordingState\":\"none\","
           "\"divisions\":[{\"division\":{\"id\":\"%.36s\"},"
           "\"entities\":[{\"id\":\"%s\"}]}]},"
           "\"metadata\":{\"CorrelationId\":\"%s\"}}",
           q->id, c->id, corr);
  return !(c->abandon ? c->stage >= 1 : c->stage >= 4);
}

static void conv_start(gen_conv_t *c, const sim_queue_t *queues,
                       size_t n_queues, int64_t now) {
  memset(c, 0, sizeof(*c));
  uuid(c->id);
  uuid(c->cust);
  uuid(c->acd);
  uuid(c->agent);
  uuid(c->acd2);
  uuid(c->user);
  c->q = rnd_below((uint32_t)n_queues);
  c->q2 = rnd_below((uint32_t)n_queues);
  const sim_queue_t *q = &queues[c->q];
  c->media = q->media_list[rnd_below(q->n_media)];
  c->abandon = rnd_below(100) < 15;
  c->transfer = !c->abandon && rnd_below(100) < 8;
  c->t0 = now - 30000;
  c->t_acd = now;
}

/* Builds a corpus of n conversation events from `concurrent` conversations
 * in flight, each advanced one stage at a time in a random order. */
static void conv_corpus(corpus_t *out, const sim_queue_t *queues,
                        size_t n_queues, size_t n, size_t concurrent,
                        size_t *n_convs) {
  gen_conv_t *live = calloc(concurrent, sizeof(*live));
  int64_t now = 1778752800000;
  for (size_t i = 0; i < concurrent; i++)
    conv_start(&live[i], queues, n_queues, now);
  *n_convs = concurrent;
  for (size_t i = 0; i < n; i++) {
    gen_conv_t *c = &live[rnd_below((uint32_t)concurrent)];
    now += 20;
    if (c->stage == 1 && !c->abandon)
      c->t_ans = now;
    if (c->stage == 1 && c->abandon)
      c->t_end = now;
    if (c->stage == 3)
      c->t_end = now;
    size_t start = out->text.len;
    bool more = conv_event(&out->text, c, queues);
    if (out->n == out->cap) {
      out->cap = out->cap ? out->cap * 2 : 1024;
      out->off = realloc(out->off, out->cap * sizeof(*out->off));
      out->len = realloc(out->len, out->cap * sizeof(*out->len));
    }
    out->off[out->n] = start;
    out->len[out->n] = out->text.len - start;
    out->n++;
    c->stage++;
    if (!more) {
      conv_start(c, queues, n_queues, now);
      (*n_convs)++;
    }
  }
  free(live);
}

/* One reader over one message: 0, or a failure with its reason in err. */
typedef int (*reader_t)(void *ud, const char *json, size_t len, char *err,
                        size_t err_size);

/* The best CPU seconds of R passes of a reader alone over the corpus; -1
 * when a message fails. */
static double reader_floor(const corpus_t *c, int repeats, reader_t read,
                           void *ud) {
  char err[GEN_OBS_ERR_SIZE];
  double best = 1e9;
  for (int rep = 0; rep < repeats && best >= 0; rep++) {
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < c->n; i++)
      if (read(ud, c->text.buf + c->off[i], c->len[i], err, sizeof(err)) != 0) {
        fprintf(stderr, "message %zu: %s\n", i, err);
        best = -1;
        break;
      }
    double dt = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (best >= 0 && dt < best)
      best = dt;
  }
  return best;
}

typedef struct {
  gen_obs_parser_t *parser;
  gen_obs_msg_t *msg;
} obs_reader_t;

static int obs_read(void *ud, const char *json, size_t len, char *err,
                    size_t err_size) {
  obs_reader_t *r = ud;
  char topic[GEN_NOTIFY_TOPIC_SIZE]; /* the hub's read, then the parser's */
  if (!gen_notify_topic(json, len, topic, sizeof(topic)))
    topic[0] = '\0';
  return gen_obs_parse(r->parser, topic, json, len, r->msg, err, err_size);
}

/* The streaming parser alone (the floor of the observation path). */
static double parse_floor(const corpus_t *c, int repeats) {
  obs_reader_t r = {.parser = gen_obs_parser_new(GEN_JSON_MAX_DEPTH),
                    .msg = malloc(sizeof(gen_obs_msg_t))};
  double best = reader_floor(c, repeats, obs_read, &r);
  free(r.msg);
  gen_obs_parser_free(r.parser);
  return best;
}

/* Replays conversation events through gr_on_message (the json-c parse and
 * read, the tracker, counters, dispatch of what changed) from a fresh
 * tracker. */
static run_t conv_replay(gr_instance_t *inst, const corpus_t *c,
                         uint32_t *lat) {
  pthread_mutex_lock(&inst->lock);
  for (size_t i = 0; i < inst->queues.count; i++)
    gen_conv_queue_free(&inst->live.state[i].conv);
  gen_conv_tracker_free(inst->conversations);
  inst->conversations = gen_conv_tracker_new(&(gen_conv_options_t){
      .max_conversations = (size_t)inst->config.conv.max_conversations,
      .linger_ms = 900000,
      .timeout_ms = 14400000});
  pthread_mutex_unlock(&inst->lock);
  return replay(inst, c, lat, 0, NULL);
}

/* json-c's parse of a message, and with a snapshot its eventBody read by
 * gen_conv_from_json (what gr_on_message does of a conversation event). */
static int conv_read(void *ud, const char *json, size_t len, char *err,
                     size_t err_size) {
  gen_conv_snapshot_t *snap = ud;
  json_object *doc = NULL;
  int st = gen_json_parse(json, len, GEN_JSON_MAX_DEPTH, &doc, err, err_size);
  if (st == 0 && snap != NULL)
    st = gen_conv_from_json(gen_json_get_object(doc, "eventBody"), snap, err,
                            err_size);
  json_object_put(doc);
  return st;
}

static int conv_bench(gr_instance_t *inst, const sim_queue_t *model,
                      size_t n_queues, size_t n_msgs, int repeats) {
  corpus_t corpus = {0};
  corpus.text = (sbuf_t){.buf = malloc(n_msgs * 2200 + 4096),
                         .cap = n_msgs * 2200 + 4096};
  size_t n_convs = 0;
  conv_corpus(&corpus, model, n_queues, n_msgs, 2000, &n_convs);
  inst->config.conversation_events = true;
  uint32_t *lat = malloc(corpus.n * sizeof(*lat));

  /* json-c's parse alone, then with the body read into the snapshot (the
   * reading gr_on_message does, alone). */
  gen_conv_snapshot_t *snap = malloc(sizeof(*snap));
  double parse_best = reader_floor(&corpus, repeats, conv_read, NULL);
  double read_best = reader_floor(&corpus, repeats, conv_read, snap);
  free(snap);
  if (parse_best < 0 || read_best < 0)
    return 1;
  run_t best = {.cpu = 1e9};
  for (int rep = 0; rep < repeats; rep++) {
    run_t r = conv_replay(inst, &corpus, NULL);
    if (r.failed != 0) {
      fprintf(stderr, "%zu messages failed: %s\n", r.failed, first_log);
      return 1;
    }
    if (r.cpu < best.cpu)
      best = r;
  }
  (void)conv_replay(inst, &corpus, lat);
  gen_conv_stats_t st;
  gen_conv_tracker_stats(inst->conversations, &st);
  qsort(lat, corpus.n, sizeof(*lat), cmp_u32);
  double n = (double)corpus.n;
  printf("%zu queues, %zu conversation events of %zu conversations (2,000 in "
         "flight), %.0f bytes/message\n",
         n_queues, corpus.n, n_convs, (double)corpus.text.len / n);
  printf("\n%-34s %8s %12s %9s %10s\n", "mode", "CPU s", "messages/s", "ns/msg",
         "values/msg");
  printf("%-34s %8.3f %12.0f %9.0f %10s\n", "json-c parse only", parse_best,
         n / parse_best, parse_best * 1e9 / n, "");
  printf("%-34s %8.3f %12.0f %9.0f %10s\n", "json-c + gen_conv_from_json",
         read_best, n / read_best, read_best * 1e9 / n, "");
  printf("%-34s %8.3f %12.0f %9.0f %10.2f\n", "gr_on_message (conversations)",
         best.cpu, n / best.cpu, best.cpu * 1e9 / n, (double)best.values / n);
  printf("\nper-call latency: p50 %.2f µs  p90 %.2f µs  p99 %.2f µs  max "
         "%.1f µs\n",
         pct(lat, corpus.n, 50), pct(lat, corpus.n, 90), pct(lat, corpus.n, 99),
         lat[corpus.n - 1] / 1000.0);
  printf("tracker: %zu conversations tracked at the end (finished ones "
         "linger), %zu bytes held, %.0f bytes per conversation\n",
         st.tracked, st.bytes,
         st.tracked ? (double)st.bytes / (double)st.tracked : 0.0);
  free(lat);
  corpus_free(&corpus);
  return 0;
}

static void usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s [-n queues] [-m messages] [-r repeats] [-u user-%%] "
          "[-e events/s per queue] [-t interval] [-k messages-per-read] "
          "[-i] [-s seed] [-v] [-c] [-S summary-window-s]\n",
          argv0);
  exit(2);
}

int main(int argc, char **argv) {
  standalone_dispatch = count_value;
  standalone_log = keep_log;
  size_t n_queues = 5000, n_msgs = 1000000, read_every = 0;
  int repeats = 3, user_pct = 41, opt;
  double rate = 0.04, interval = 10, summary_s = 0;
  bool by_id = false, conversations = false;
  while ((opt = getopt(argc, argv, "n:m:r:u:e:t:k:is:vcS:")) != -1) {
    switch (opt) {
    case 'n':
      n_queues = strtoul(optarg, NULL, 10);
      break;
    case 'm':
      n_msgs = strtoul(optarg, NULL, 10);
      break;
    case 'r':
      repeats = atoi(optarg);
      break;
    case 'u':
      user_pct = atoi(optarg);
      break;
    case 'e':
      rate = strtod(optarg, NULL);
      break;
    case 't':
      interval = strtod(optarg, NULL);
      break;
    case 'k':
      read_every = strtoul(optarg, NULL, 10);
      break;
    case 'i':
      by_id = true;
      break;
    case 's':
      rng = strtoull(optarg, NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
      break;
    case 'v':
      log_echo = true;
      break;
    case 'c':
      conversations = true;
      break;
    case 'S':
      summary_s = strtod(optarg, NULL);
      break;
    default:
      usage(argv[0]);
    }
  }
  if (n_queues == 0 || n_msgs == 0 || repeats < 1 || user_pct < 0 ||
      user_pct > 100 || !(rate > 0) || !(interval > 0))
    usage(argv[0]);
  if (read_every == 0)
    read_every = (size_t)((double)n_queues * rate * interval + 0.5);
  if (read_every == 0)
    read_every = 1;

  /* The instance, as gen_plugin_instance_new() makes it; the login URL is
   * unreachable on purpose (gr_read asks for a token for api_up). */
  gen_plugin_init();
  gen_org_t *org = gen_org_create(PLUGIN_NAME, "bench");
  org->api_base_url = strdup("http://127.0.0.1:9");
  org->login_base_url = strdup("http://127.0.0.1:9");
  org->client_id = strdup("bench");
  org->client_secret = strdup("bench-secret");
  org->host = strdup("acme");
  org->max_retries = 0;
  org->instance_from = by_id ? GEN_INSTANCE_FROM_ID : GEN_INSTANCE_FROM_NAME;
  gen_client_t *client = gen_client_create(org);
  gr_instance_t *inst =
      client ? gen_plugin_instance_new(&gr_plugin, client,
                                       gen_plugin_config_new(&gr_plugin))
             : 0;
  if (inst == NULL) {
    fprintf(stderr, "cannot create the instance: %s\n", first_log);
    return 1;
  }
  inst->config.refresh_interval = 0; /* gr_read never lists */
  /* -S: Summaries on, windows of that many seconds (as gr_read makes it). */
  if (summary_s > 0 && (inst->summary = gen_summary_new(
                            DOUBLE_TO_CDTIME_T(summary_s), gen_qs_summary_types,
                            gen_qs_summary_types_count)) == NULL)
    return 1;

  /* The model, the baseline (one message per group and queue) and the
   * corpus, all in memory before anything is measured. */
  sim_queue_t *model = calloc(n_queues, sizeof(*model));
  corpus_t base = {0}, corpus = {0};
  base.text = (sbuf_t){.buf = malloc(1 << 20), .cap = 1 << 20};
  corpus.text = (sbuf_t){.buf = malloc(n_msgs * 1100 + 4096),
                         .cap = n_msgs * 1100 + 4096};
  if (model == NULL || base.text.buf == NULL || corpus.text.buf == NULL) {
    perror("malloc");
    return 1;
  }
  int64_t now_ms = 1778752800000; /* 2026-05-14T10:00:00Z */
  for (size_t i = 0; i < n_queues; i++) {
    queue_init(&model[i], i);
    for (int k = 0; k < 20; k++) /* some traffic before the baseline */
      step_media(&model[i].m[model[i].media_list[rnd_below(model[i].n_media)]],
                 now_ms - 600000 + k * 30000);
  }
  if (conversations) {
    for (size_t i = 0; i < n_queues; i++)
      gen_entity_add(&inst->queues, model[i].id, model[i].name, NULL);
    inst->live.state = calloc(n_queues, sizeof(*inst->live.state));
    inst->live.changed = calloc(n_queues, sizeof(*inst->live.changed));
    inst->listed_at = cdtime();
    int status = conv_bench(inst, model, n_queues, n_msgs / 5, repeats);
    gr_instance_free(inst);
    free(model);
    corpus_free(&base);
    corpus_free(&corpus);
    return status;
  }

  for (size_t i = 0; i < n_queues; i++) {
    corpus_add(&base, &model[i], -1, now_ms);
    for (unsigned k = 0; k < model[i].n_media; k++)
      corpus_add(&base, &model[i], model[i].media_list[k], now_ms);
  }
  /* Simulated time runs at -e events/s per queue. */
  double step_ms = 1000.0 / ((double)n_queues * rate), t = (double)now_ms;
  for (size_t i = 0; i < n_msgs; i++) {
    sim_queue_t *q = &model[rnd_below((uint32_t)n_queues)];
    t += step_ms;
    int media = -1;
    if (rnd_below(100) < (uint32_t)user_pct) {
      step_agent(q);
    } else {
      media = q->media_list[rnd_below(q->n_media)];
      step_media(&q->m[media], (int64_t)t);
    }
    corpus_add(&corpus, q, media, (int64_t)t);
  }

  /* Warm the channel thread's parser with a heartbeat (not per queue). */
  static const char hb[] = "{\"topicName\":\"channel.metadata\",\"eventBody\":"
                           "{\"message\":\"WebSocket Heartbeat\"}}";
  message(inst, hb, sizeof(hb) - 1);

  /* ---- memory per queue ---- */
  long rss0 = rss_bytes();
  size_t heap0 = heap_bytes();
  char division[37];
  uuid(division);
  for (size_t i = 0; i < n_queues; i++)
    if (gen_entity_add(&inst->queues, model[i].id, model[i].name, division) <
        0) {
      fprintf(stderr, "gen_entity_add failed\n");
      return 1;
    }
  inst->live.state = calloc(n_queues, sizeof(*inst->live.state));
  inst->live.changed = calloc(n_queues, sizeof(*inst->live.changed));
  if (inst->live.state == NULL || inst->live.changed == NULL) {
    perror("calloc");
    return 1;
  }
  inst->listed_at = cdtime();
  run_t rb = replay(inst, &base, NULL, 0, NULL);
  long rss1 = rss_bytes();
  size_t heap1 = heap_bytes();
  if (rb.failed != 0) {
    fprintf(stderr, "%zu baseline messages failed: %s\n", rb.failed, first_log);
    return 1;
  }
  for (size_t i = 0; i < n_queues; i++)
    if (!inst->live.state[i].agents.seen) {
      fprintf(stderr, "queue %zu was not found\n", i);
      return 1;
    }

  gen_live_queue_t *snapshot = malloc(n_queues * sizeof(*snapshot));
  uint32_t *lat = malloc(n_msgs * sizeof(*lat));
  if (snapshot == NULL || lat == NULL) {
    perror("malloc");
    return 1;
  }
  memcpy(snapshot, inst->live.state, n_queues * sizeof(*snapshot));

  printf("%zu queues (%.2f media each, ~10 members), %zu messages, %.0f "
         "bytes/message, %.0f%% user groups; plugin_instance from %s\n",
         n_queues, (double)(base.n - n_queues) / (double)n_queues, corpus.n,
         (double)corpus.text.len / (double)corpus.n,
         100.0 * (double)corpus.n_user / (double)corpus.n,
         by_id ? "id" : "name");

  /* ---- parse only ---- */
  double parse_best = parse_floor(&corpus, repeats);
  if (parse_best < 0)
    return 1;

  /* ---- gr_on_message: throughput, then every call timed ---- */
  run_t best = {.cpu = 1e9, .wall = 1e9};
  for (int rep = 0; rep < repeats; rep++) {
    memcpy(inst->live.state, snapshot, n_queues * sizeof(*snapshot));
    run_t r = replay(inst, &corpus, NULL, 0, NULL);
    if (r.failed != 0) {
      fprintf(stderr, "%zu messages failed: %s\n", r.failed, first_log);
      return 1;
    }
    if (r.cpu < best.cpu)
      best = r;
  }
  memcpy(inst->live.state, snapshot, n_queues * sizeof(*snapshot));
  run_t timed = replay(inst, &corpus, lat, 0, NULL);
  qsort(lat, corpus.n, sizeof(*lat), cmp_u32);

  /* ---- gr_read: full re-dispatch ---- */
  /* The token request of api_up fails once (nothing listens on the login
   * URL); with the core's clock seam frozen, its backoff never ends, so the
   * timed reads make no network call. */
  frozen_at = cdtime();
  gen_now = frozen_now;
  user_data_t ud = {.data = inst};
  gr_read(&ud);
  double read_best = 1e9, read_wall = 1e9;
  uint64_t read_values = 0;
  for (int rep = 0; rep < repeats; rep++) {
    /* Reads come an interval apart. */
    nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    uint64_t v0 = n_dispatched;
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID),
           w0 = clock_s(CLOCK_MONOTONIC);
    gr_read(&ud);
    double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0,
           dw = clock_s(CLOCK_MONOTONIC) - w0;
    if (dc < read_best)
      read_best = dc;
    if (dw < read_wall)
      read_wall = dw;
    read_values = n_dispatched - v0;
  }

  /* ---- mixed: the replay with a gr_read every read_every messages ---- */
  run_t mixed = {.cpu = 1e9, .wall = 1e9};
  size_t n_reads = 0;
  for (int rep = 0; rep < repeats; rep++) {
    size_t reads = 0;
    memcpy(inst->live.state, snapshot, n_queues * sizeof(*snapshot));
    run_t r = replay(inst, &corpus, NULL, read_every, &reads);
    if (r.cpu < mixed.cpu) {
      mixed = r;
      n_reads = reads;
    }
  }

  double n = (double)corpus.n;
  printf("\n%-34s %8s %8s %12s %9s %10s\n", "mode", "CPU s", "wall s",
         "messages/s", "ns/msg", "values/msg");
  printf("%-34s %8.3f %8s %12.0f %9.0f %10s\n", "parse only (gen_obs_parse)",
         parse_best, "", n / parse_best, parse_best * 1e9 / n, "");
  printf("%-34s %8.3f %8.3f %12.0f %9.0f %10.2f\n", "gr_on_message", best.cpu,
         best.wall, n / best.cpu, best.cpu * 1e9 / n, (double)best.values / n);
  printf("%-34s %8.3f %8.3f %12.0f %9.0f %10.2f\n",
         "gr_on_message, each call timed", timed.cpu, timed.wall, n / timed.cpu,
         timed.cpu * 1e9 / n, (double)timed.values / n);
  char label[64];
  snprintf(label, sizeof(label), "gr_on_message + gr_read/%zu msgs",
           read_every);
  printf("%-34s %8.3f %8.3f %12.0f %9.0f %10.2f\n", label, mixed.cpu,
         mixed.wall, n / mixed.cpu, mixed.cpu * 1e9 / n,
         (double)mixed.values / n);
  printf("  apply + dispatch of what changed: %.0f ns/message (gr_on_message "
         "minus parse only); %zu reads in the mixed replay\n",
         (best.cpu - parse_best) * 1e9 / n, n_reads);

  printf("\nper-call latency of gr_on_message (CLOCK_MONOTONIC, all %zu "
         "calls)\n",
         corpus.n);
  printf("  p50 %.2f µs  p90 %.2f µs  p99 %.2f µs  p99.9 %.2f µs  max %.1f "
         "µs\n",
         pct(lat, corpus.n, 50), pct(lat, corpus.n, 90), pct(lat, corpus.n, 99),
         pct(lat, corpus.n, 99.9), lat[corpus.n - 1] / 1000.0);

  printf("\ngr_read, full re-dispatch of %zu queues: %.2f ms CPU (%.2f ms "
         "wall), %" PRIu64 " values, %.0f ns/value\n",
         n_queues, read_best * 1e3, read_wall * 1e3, read_values,
         read_best * 1e9 / (double)read_values);
  /* The mixed replay stands for M / (N × rate) seconds of traffic. */
  double span = n / ((double)n_queues * rate);
  printf("steady state at %g events/s per queue (%.0f events/s) and a read "
         "every %g s: %.3f%% of one core (mixed replay: %.3f s CPU for %.0f s "
         "of traffic)\n",
         rate, (double)n_queues * rate, interval, 100.0 * mixed.cpu / span,
         mixed.cpu, span);
  printf("capacity of one core with that re-dispatch: %.0f events/s "
         "(%.2f%% of the core goes to gr_read)\n",
         (1.0 - read_best / interval) * n / best.cpu,
         100.0 * read_best / interval);

  printf("\nmemory per monitored queue (entity set + state + one message "
         "per group)\n");
  printf("  RSS    %+ld bytes total, %.0f bytes/queue\n", rss1 - rss0,
         (double)(rss1 - rss0) / (double)n_queues);
  printf("  malloc %+ld bytes total, %.0f bytes/queue\n",
         (long)heap1 - (long)heap0,
         ((double)heap1 - (double)heap0) / (double)n_queues);
  printf("  sizeof(gen_live_queue_t) %zu, sizeof(gen_entity_t) %zu; baseline "
         "dispatched %" PRIu64 " values\n",
         sizeof(gen_live_queue_t), sizeof(gen_entity_t), rb.values);
  if (inst->summary != NULL) {
    /* Closing one window: every series' min, max and mean dispatched. */
    gen_summary_stats_t st;
    gen_summary_stats(inst->summary, &st);
    uint64_t v0 = n_dispatched;
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    size_t closed = gen_summary_close_dispatch(
        inst->summary, cdtime() + gen_summary_window(inst->summary) * 2, "acme",
        PLUGIN_NAME);
    double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("\nsummaries, windows of %g s: %zu series (%.1f per queue); "
           "closing %zu window(s): %.2f ms CPU, %.0f ns per series and "
           "window, %" PRIu64 " values\n",
           summary_s, st.series, (double)st.series / (double)n_queues, closed,
           dc * 1e3, dc * 1e9 / (double)(st.series * (closed ? closed : 1)),
           n_dispatched - v0);
  }
  printf("\nbest of %d runs, one thread; plugin_dispatch_values is a counting "
         "stub; checksum %.17g\n",
         repeats, dispatched_sum);
  if (n_log > 0)
    printf("plugin log: %" PRIu64 " line(s), the first: %s\n", n_log,
           first_log);

  free(snapshot);
  free(lat);
  gr_instance_free(inst);
  free(model);
  corpus_free(&base);
  corpus_free(&corpus);
  return 0;
}
