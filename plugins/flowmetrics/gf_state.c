/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_flowmetrics' state file (see gf_state.h).
 *
 * How a bad row is refused without restarting the good ones: each row is
 * checked whole before any of it is taken (validate, then apply, a row at a
 * time), and the read goes on past it. Rows stand alone (no row's meaning
 * depends on another) and the header is the first line, so whether the
 * file is ours, its version and its generations are known before any row is
 * taken: a file refused whole has given nothing. Neither a second pass over
 * the file (200,000 lines parsed twice at every start) nor an undo log
 * (memory for what was taken) would refuse anything more.
 */
#include "collectd/core/daemon/collectd.h"

#include "gf_state.h"

#include "gen_buf.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_state.h"

#include <errno.h>
#include <inttypes.h>

/* ---- reading ------------------------------------------------------------- */

typedef struct {
  gf_state_t *st;
  size_t line;
  bool header;
  json_object *old; /* the form before lines: its one document */
  uint64_t flow_generation, attribute_generation;
} load_t;

static void line_refused(load_t *ld, const char *what, const char *why) {
  if (ld->st->refused_lines++ < GEN_STATE_REFUSED_LOGGED)
    gen_log_org(ld->st->who, NULL, LOG_WARNING,
                "state file %s line %zu: %.60s refused (%s); the other lines "
                "are restored",
                ld->st->path, ld->line, what, why);
}

/* A line that is not JSON or is too long: refused alone, unless it is the
 * header's place (then the file is not ours). */
static int bad_line(void *ud, int status) {
  load_t *ld = ud;
  if (++ld->line == 1)
    return status;
  line_refused(ld, "the line", status == -EFBIG ? "too long" : "not JSON");
  return 0;
}

/* A generation of the header: a count, else the header is not ours. */
static bool generation_of(json_object *doc, const char *name, uint64_t *g) {
  int64_t v;
  json_object *o;
  if (!json_object_object_get_ex(doc, name, &o) || !gen_json_count_of(o, &v))
    return false;
  *g = (uint64_t)v;
  return true;
}

static int header(load_t *ld, json_object *doc) {
  int64_t version;
  if (!gen_json_get_int64(doc, "version", &version)) {
    /* The form before lines, taken once the file is read to its end (a
     * file of lines without our header gives nothing). */
    ld->old = json_object_get(doc);
    return 0;
  }
  if (version != GF_STATE_VERSION)
    return -EPROTO; /* a later version's: not a form we know */
  if (!generation_of(doc, "flow_generation", &ld->flow_generation) ||
      !generation_of(doc, "attribute_generation", &ld->attribute_generation))
    return -EINVAL;
  ld->header = true;
  return 0;
}

static int entry(void *ud, json_object *doc) {
  load_t *ld = ud;
  if (++ld->line == 1)
    return header(ld, doc);
  if (!ld->header)
    return -EINVAL; /* lines after a document that is not our header */
  gf_state_t *st = ld->st;
  if (json_object_is_type(doc, json_type_object) &&
      ((st->counters != NULL &&
        gen_counters_take_line(st->counters, doc, st->path) == 0) ||
       gen_attr_take_line(st->ledger, doc, ld->line) == 0))
    return 0;
  line_refused(ld, json_object_to_json_string(doc), "of no kind we write");
  return 0;
}

void gf_state_restore(gf_state_t *st) {
  load_t ld = {.st = st};
  int status =
      gen_state_load_rows(st->path, GEN_STATE_MAX_SIZE, entry, bad_line, &ld);
  bool old = status == 0 && ld.old != NULL;
  if (status != 0 && status != -ENOENT && ld.header)
    gen_log_org(st->who, NULL, LOG_ERR,
                "state file %s: read stopped at line %zu (%s); the counters "
                "of the lines after it restart at zero",
                st->path, ld.line, gen_strerror(status));
  else if (status != 0 && status != -ENOENT)
    gen_log_org(st->who, NULL, LOG_ERR,
                "state file %s unusable (%s); counting starts afresh", st->path,
                status == -EPROTO ? "a version we do not know"
                                  : gen_strerror(status));
  if (!ld.header && !old)
    ld.flow_generation = ld.attribute_generation = 0;
  char err[256];
  int journal;
  if (old) {
    int64_t g = 0;
    if (st->counters != NULL)
      gen_counters_restore(st->counters, ld.old, st->path);
    if (gen_json_get_int64(ld.old, "flow_generation", &g) && g > 0)
      ld.flow_generation = (uint64_t)g;
    journal =
        gen_attr_restore(st->ledger, gen_json_get_object(ld.old, "attributes"),
                         err, sizeof(err));
  } else
    journal =
        gen_attr_recover(st->ledger, ld.attribute_generation, err, sizeof(err));
  json_object_put(ld.old);
  if (journal != 0)
    gen_log_org(st->who, NULL, LOG_ERR, "state file %s: %s", st->path, err);
  if (st->counters != NULL) {
    if (st->lock != NULL)
      pthread_mutex_lock(st->lock);
    if (gen_counters_recover(st->counters, ld.flow_generation, st->path) != 0)
      gen_log_org(st->who, NULL, LOG_WARNING,
                  "flow counters survive no crash (no journal)");
    if (st->lock != NULL)
      pthread_mutex_unlock(st->lock);
  }
  if (st->refused_lines > 1)
    gen_log_org(st->who, NULL, LOG_WARNING,
                "state file %s: %zu lines refused in all", st->path,
                st->refused_lines);
  /* The form before lines was one json-c tree: many times the ledger. */
  if (old)
    gen_heap_trim();
}

/* ---- writing ------------------------------------------------------------- */

typedef struct {
  gen_state_stream_t s;
  const gen_buf_t *counters; /* their lines */
  uint64_t flow_generation;
} save_t;

/* The header, then the counters' lines, before the ledger's (called with
 * the ledger held, its generation started). */
static int head(void *ud, uint64_t attribute_generation) {
  save_t *sv = ud;
  int err = gen_buf_printf(&sv->s.buf,
                           "{\"version\":%d,\"flow_generation\":%" PRIu64
                           ",\"attribute_generation\":%" PRIu64 "}\n",
                           GF_STATE_VERSION, sv->flow_generation,
                           attribute_generation);
  if (err == 0 && sv->counters->len > 0)
    err = gen_buf_add(&sv->s.buf, sv->counters->data, sv->counters->len);
  return err;
}

static int flush(void *ud) {
  return gen_state_stream_flush(&((save_t *)ud)->s);
}

int gf_state_save(gf_state_t *st) {
  gen_buf_t counters = GEN_BUF_INIT(SIZE_MAX);
  save_t sv = {.counters = &counters};
  int status = 0;
  /* The counters' lines apart, so that they are held only while printed. */
  if (st->counters != NULL) {
    if (st->lock != NULL)
      pthread_mutex_lock(st->lock);
    status = gen_counters_print(st->counters, &counters, &sv.flow_generation);
    if (st->lock != NULL)
      pthread_mutex_unlock(st->lock);
  }
  int opened = gen_state_stream_open(&sv.s, st->path);
  if (status == 0)
    status = opened;
  uint64_t attribute_generation = 0;
  if (status == 0)
    status = gen_attr_snapshot_write(st->ledger, &sv.s.buf, head, flush, &sv,
                                     &attribute_generation);
  int closed = gen_state_stream_close(&sv.s, status == 0);
  if (status == 0)
    status = closed;
  gen_buf_free(&counters);
  if (status != 0)
    return status;
  gen_attr_snapshot_stored(st->ledger, attribute_generation);
  if (st->counters != NULL) {
    if (st->lock != NULL)
      pthread_mutex_lock(st->lock);
    gen_counters_stored(st->counters, sv.flow_generation);
    if (st->lock != NULL)
      pthread_mutex_unlock(st->lock);
  }
  return 0;
}
