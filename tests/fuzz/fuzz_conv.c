/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: fuzz target for conversation events (gen_conv).
 *
 * The input is one or more eventBody documents, one per line. Each line is
 * read as genesys_realtime reads a conversation event: parsed by json-c
 * (gen_json_parse, what gen_notify_parse does once for every consumer of
 * the message), then gen_conv_from_json; and applied to one tracker (a
 * small cap, so that eviction and expiry run), the wall clock stepping
 * forward per line.
 *
 * Checked (a failure aborts):
 * - the parse returns 0 or -EINVAL, the reader 0 or -EBADMSG (malformed,
 *   counted by the plugin), with a terminated reason in err on failure; an
 *   accepted snapshot has a terminated, non-empty id of at most 63 bytes of
 *   UTF-8 without NUL, at most GEN_CONV_MAX_PARTS participants whose fields
 *   are in range and whose queue ids are UTF-8;
 * - every moment reported has a terminated queue id, a media index in
 *   range, a moment in range and a wait of -1 or >= 0; gen_conv_apply
 *   returns exactly the number of moments reported;
 * - applying the same snapshot again at the same time reports nothing
 *   (each moment once), and the tracker never holds more than its cap;
 * - a known event applied to a fresh tracker afterwards gives exactly the
 *   known moments.
 */
#define GEN_FUZZ_NAME "conv"
#include "fuzz_replay.h"
#include "gen_conv.h"
#include "gen_err.h"
#include "gen_json.h"
#include "gen_utf8.h"

#include <errno.h>

#define ERR_SIZE 160

#define MAX_CONVERSATIONS 16

static const char known[] =
    "{\"id\":\"c-known\",\"participants\":["
    "{\"id\":\"p1\",\"purpose\":\"customer\",\"calls\":[{\"state\":"
    "\"connected\",\"connectedTime\":\"2026-05-14T10:00:00Z\"}]},"
    "{\"id\":\"p2\",\"purpose\":\"acd\",\"queueId\":\"q1\",\"connectedTime\":"
    "\"2026-05-14T10:00:01Z\",\"endTime\":\"2026-05-14T10:00:05Z\","
    "\"calls\":[{\"state\":\"disconnected\",\"disconnectType\":\"transfer\","
    "\"connectedTime\":\"2026-05-14T10:00:01Z\",\"disconnectedTime\":"
    "\"2026-05-14T10:00:05Z\"}]},"
    "{\"id\":\"p3\",\"purpose\":\"agent\",\"queueId\":\"q1\","
    "\"connectedTime\":\"2026-05-14T10:00:05Z\",\"calls\":[{\"state\":"
    "\"connected\",\"connectedTime\":\"2026-05-14T10:00:05Z\"}]}]}";

typedef struct {
  int n;
  int answered;
  int64_t wait_ms;
} seen_t;

static bool terminated(const char *s, size_t size) {
  return memchr(s, '\0', size) != NULL;
}

static void on_moment(void *ud, const char *queue_id, int media,
                      gen_conv_moment_t moment, int64_t wait_ms,
                      int64_t at_ms) {
  seen_t *seen = ud;
  FUZZ_CHECK(queue_id != NULL && terminated(queue_id, GEN_CONV_ID_SIZE),
             "queue id");
  FUZZ_CHECK(media >= -1 && media < GEN_MEDIA_COUNT, "media");
  FUZZ_CHECK(moment >= GEN_CONV_OFFERED && moment < GEN_CONV_MOMENT_COUNT,
             "moment");
  FUZZ_CHECK(wait_ms == -1 || wait_ms >= 0, "wait");
  FUZZ_CHECK(moment != GEN_CONV_ALERTED || at_ms == 0, "an alert has no time");
  if (moment == GEN_CONV_ANSWERED) {
    seen->answered++;
    seen->wait_ms = wait_ms;
  }
  seen->n++;
}

/* A terminated id of UTF-8 (the reader refuses others). */
static bool utf8_id(const char *s, size_t size) {
  return terminated(s, size) &&
         gen_utf8_valid((const unsigned char *)s, strlen(s));
}

static void check_snapshot(const gen_conv_snapshot_t *s) {
  FUZZ_CHECK(utf8_id(s->id, sizeof(s->id)) && s->id[0] != '\0', "id");
  FUZZ_CHECK(s->n_parts <= GEN_CONV_MAX_PARTS, "n_parts");
  FUZZ_CHECK(s->newest_ms >= 0, "newest_ms");
  for (size_t i = 0; i < s->n_parts; i++) {
    const gen_conv_part_t *p = &s->parts[i];
    FUZZ_CHECK(utf8_id(p->queue_id, sizeof(p->queue_id)), "part queue id");
    FUZZ_CHECK(p->media >= -1 && p->media < GEN_MEDIA_COUNT, "part media");
    FUZZ_CHECK(p->purpose >= GEN_CONV_P_OTHER && p->purpose <= GEN_CONV_P_AGENT,
               "purpose");
    FUZZ_CHECK(p->state >= GEN_CONV_S_NONE && p->state <= GEN_CONV_S_ENDED,
               "state");
    FUZZ_CHECK(p->connected_ms <= s->newest_ms && p->end_ms <= s->newest_ms,
               "newest_ms is the newest time");
  }
}

static gen_conv_tracker_t *new_tracker(void) {
  gen_conv_options_t o = {.max_conversations = MAX_CONVERSATIONS,
                          .linger_ms = 60000,
                          .timeout_ms = 600000};
  gen_conv_tracker_t *t = gen_conv_tracker_new(&o);
  FUZZ_CHECK(t != NULL, "tracker");
  return t;
}

/* Parses and reads one eventBody: 0, -EINVAL (not JSON) or -EBADMSG. */
static int read_event(const char *text, size_t len, gen_conv_snapshot_t *snap,
                      char *err, size_t err_size) {
  json_object *doc = NULL;
  memset(err, 'x', err_size);
  int status =
      gen_json_parse(text, len, GEN_JSON_MAX_DEPTH, &doc, err, err_size);
  FUZZ_CHECK(status == 0 || status == -EINVAL, "parse status");
  if (status == 0) {
    memset(err, 'x', err_size);
    status = gen_conv_from_json(doc, snap, err, err_size);
    FUZZ_CHECK(status == 0 || (status == -EBADMSG && gen_err_malformed(status)),
               "read status");
  }
  json_object_put(doc);
  FUZZ_CHECK(status == 0 || (terminated(err, err_size) && err[0] != '\0'),
             "err set on failure");
  return status;
}

/* One line: parse, read, apply twice. */
static void one_event(gen_conv_tracker_t *t, gen_conv_snapshot_t *snap,
                      const char *text, size_t len, int64_t *now_ms) {
  char err[ERR_SIZE];
  if (read_event(text, len, snap, err, sizeof(err)) != 0)
    return;
  check_snapshot(snap);
  /* The clock follows the event times when they move forward, as the
   * plugin's wall clock does, and steps a little otherwise. */
  *now_ms = snap->newest_ms > *now_ms ? snap->newest_ms + 500 : *now_ms + 1000;
  seen_t seen = {0};
  int n = gen_conv_apply(t, snap, *now_ms, on_moment, &seen);
  FUZZ_CHECK(n == seen.n, "apply counts its moments");
  seen = (seen_t){0};
  n = gen_conv_apply(t, snap, *now_ms, on_moment, &seen);
  FUZZ_CHECK(n == 0 && seen.n == 0, "a repeated event reports nothing");
  gen_conv_stats_t st;
  gen_conv_tracker_stats(t, &st);
  FUZZ_CHECK(st.tracked <= MAX_CONVERSATIONS && st.tracked >= 1, "tracked");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gen_conv_tracker_t *t = new_tracker();
  gen_conv_snapshot_t *snap = malloc(sizeof(*snap));
  FUZZ_CHECK(snap != NULL, "malloc");
  int64_t now_ms = 0;
  size_t start = 0;
  for (size_t i = 0; i <= size; i++) {
    if (i < size && data[i] != '\n')
      continue;
    /* An exact-size copy of the line: a read past it is an ASan error. */
    size_t len = i - start;
    char *line = malloc(len ? len : 1);
    FUZZ_CHECK(line != NULL, "malloc");
    memcpy(line, data + start, len);
    one_event(t, snap, line, len, &now_ms);
    free(line);
    start = i + 1;
  }
  gen_conv_tracker_free(t);

  /* Nothing carries over: the known event on a fresh tracker. */
  t = new_tracker();
  char err[ERR_SIZE];
  FUZZ_CHECK(read_event(known, sizeof(known) - 1, snap, err, sizeof(err)) ==
                     0 &&
                 snap->n_parts == 3 && strcmp(snap->id, "c-known") == 0,
             "known snapshot");
  seen_t seen = {0};
  /* First seen: only the newest change (the agent answering) counts. */
  int n = gen_conv_apply(t, snap, snap->newest_ms, on_moment, &seen);
  FUZZ_CHECK(n == 1 && seen.answered == 1 && seen.wait_ms == 4000,
             "known moments");
  gen_conv_tracker_free(t);
  free(snap);
  return 0;
}

static void fuzz_cleanup(void) {}
