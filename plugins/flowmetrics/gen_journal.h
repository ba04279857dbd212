/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: append-only journals in generations, for counts that
 * must survive a SIGKILL between two state saves.
 *
 * The owner appends one line per change with a single write(2) (which a
 * killed process does not lose) before it reports the change. A state save
 * rotates: gen_journal_rotate() starts generation g+1 and returns it, the
 * snapshot records g+1, and once the snapshot is stored gen_journal_stored()
 * removes the journals before g+1. Recovery from a snapshot of generation g
 * removes leftovers older than g and replays g, g+1, … in order, so a crash
 * between a save and the clean-up replays nothing the snapshot holds.
 *
 * Not locked: the owner serialises calls.
 */
#ifndef GEN_JOURNAL_H
#define GEN_JOURNAL_H 1

#include "gen_log.h"
#include "gen_state.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *base; /* files are <base>.<generation>; NULL = no journal */
  gen_state_append_t file;
  uint64_t generation;          /* of the file being written */
  uint64_t oldest_kept;         /* lowest generation not yet removed */
  const gen_log_org_t *who;     /* whose lines (borrowed) */
  atomic_uint_fast64_t *errors; /* counts open and write failures */
  gen_ratelimit_t complain;
} gen_journal_t;

/* base NULL: a journal that keeps nothing. Returns 0 or -ENOMEM. */
int gen_journal_init(gen_journal_t *j, const char *base,
                     const gen_log_org_t *who, atomic_uint_fast64_t *errors);
void gen_journal_fini(gen_journal_t *j);

/* True when the journal keeps lines (base not NULL), whether or not its file
 * is open now: an owner writes its lines then, so that an append to a file
 * that cannot be opened fails instead of passing for kept. */
bool gen_journal_wanted(const gen_journal_t *j);

/* Recovers from a snapshot of generation g (0 = no snapshot): calls line()
 * for every complete line of generations g, g+1, … (without the newline;
 * the torn last line of a crash is not; a file's read stops where line()
 * returns non-zero), then opens a fresh generation. Returns
 * 0, or the negative errno of the new journal's open (logged; appends try it
 * again). */
int gen_journal_recover(gen_journal_t *j, uint64_t g,
                        int (*line)(void *ud, char *text, size_t len),
                        void *ud);

/* Appends data (whole lines) in one write. Returns 0 once the lines are in
 * the file (a SIGKILL does not lose them; not synced to the device: a power
 * cut may), or a negative errno when they are not (logged, counted, the
 * file as before; a file that could not be opened is tried again, and its
 * open's errno returned: -EACCES, -EROFS, …): a journal without a file
 * (base NULL) takes nothing and returns 0. */
int gen_journal_append(gen_journal_t *j, const char *data, size_t len);

/* Starts the next generation and returns its number, which the snapshot
 * taken at the same moment records. */
uint64_t gen_journal_rotate(gen_journal_t *j);

/* The snapshot that recorded generation g is stored: earlier journals go. */
void gen_journal_stored(gen_journal_t *j, uint64_t g);

#endif /* GEN_JOURNAL_H */
