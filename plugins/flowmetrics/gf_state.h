/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_flowmetrics' state file, its one writer and its
 * one reader.
 *
 * The file is lines (gen_state_stream as it is printed, gen_state_load_rows
 * a line at a time, never a tree of the whole): a header
 *   {"version":1,"flow_generation":G,"attribute_generation":A}
 * then a line a flow counter (gen_counters_print), a line an attribute
 * series and a line a remembered conversation (gen_attr_snapshot_write).
 * G and A are the journal generations the rows are as of; the journals
 * from there are replayed on top of them. The form before lines (one
 * document: {"flows":{...},"flow_generation":G,"attributes":{...}}) is
 * still read; the next save writes lines.
 */
#ifndef GF_STATE_H
#define GF_STATE_H 1

#include "gen_attr.h"
#include "gen_counters.h"

#include <pthread.h>
#include <stddef.h>

#define GF_STATE_VERSION 1

typedef struct {
  const char *path;
  gen_counters_t *counters;  /* the flow counters (NULL: none) */
  pthread_mutex_t *lock;     /* the counters' (NULL: none) */
  gen_attr_ledger_t *ledger; /* the metric attributes */
  const gen_log_org_t *who;
  /* Lines refused alone that neither reader takes: not JSON, too long, of
   * no kind we write (the readers count their own: gen_counters_refused,
   * gen_attr_stats' state_refused). */
  size_t refused_lines;
} gf_state_t;

/* Restores the counters and the ledger (both as new: nothing counted yet)
 * from the file and replays their journals. A bad row is refused alone,
 * logged (the first GEN_STATE_REFUSED_LOGGED of each reader, then how many
 * in all) and counted: its counter restarts at zero, every other goes on. A
 * file that is not ours as a whole (no header, a version we do not know,
 * not JSON in the form before lines) is refused whole, logged: the counters
 * start afresh. */
void gf_state_restore(gf_state_t *st);

/* Writes the file atomically as it is printed; once stored, the journals it
 * holds go. 0 or a negative errno (the journals stay: nothing is lost). */
int gf_state_save(gf_state_t *st);

#endif /* GF_STATE_H */
