/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the standby's state copy (see gen_standby.h, "What
 * moves with the lease"): the instance's state files copied to etcd in
 * pieces after a read, a manifest of each file's pieces moved once every
 * piece is in, the pieces no manifest names swept; restored a piece at a
 * time before a take-over. Every write is a transaction that holds only
 * while the key is this agent's (its create revision: the copy's fence).
 */
#include "gen_dispatch.h"
#include "gen_hash.h"
#include "gen_standby_private.h"
#include "gen_time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* A file whose copy changes more pieces than this (rewritten, not appended
 * to) goes under a new directory, the old one deleted by one operation. */
#define REPLACED_MAX 8
/* The largest file a take-over restores (piece by piece, never held
 * whole). */
#define FILE_MAX ((uint64_t)4 << 30)

/* ---- transactions while the key is ours ---------------------------------- */

/* Runs the operations ops while the key is still the one this agent
 * created. 0, -EPERM when it is not, or another negative errno (why). */
static int fenced_txn(gen_standby_t *s, const gen_buf_t *ops, char *why,
                      size_t why_size) {
  pthread_mutex_lock(&s->lock);
  int64_t rev = s->create_rev;
  pthread_mutex_unlock(&s->lock);
  gen_buf_t txn = GEN_BUF_INIT(ops->len + 4096);
  gen_buf_add_str(&txn, "{\"compare\":[{\"key\":\"");
  gen_etcd_add_b64(&txn, s->key);
  gen_buf_add_str(&txn, "\",\"target\":\"CREATE\",\"create_revision\":\"");
  gen_buf_add_int64(&txn, rev);
  gen_buf_add_str(&txn, "\"}],\"success\":[");
  gen_buf_add(&txn, ops->data ? ops->data : "", ops->len);
  int status = gen_buf_add_str(&txn, "]}");
  json_object *answer = NULL;
  if (status == 0)
    status = gen_etcd_post(s->copy_etcd, "/v3/kv/txn", txn.data, &answer, why,
                           why_size);
  free(txn.data);
  if (status == 0 && !gen_etcd_succeeded(answer)) {
    snprintf(why, why_size, "the key is no longer this agent's");
    status = -EPERM;
  }
  json_object_put(answer);
  return status;
}

/* Operations for fenced transactions of up to most each. */
typedef struct {
  gen_buf_t ops;
  size_t n, most;
} txn_t;

#define TXN_INIT(most, size) ((txn_t){GEN_BUF_INIT(size), 0, (most)})

/* Runs what t holds, if anything. */
static int txn_run(gen_standby_t *s, txn_t *t, char *why, size_t why_size) {
  int status = t->n > 0 ? fenced_txn(s, &t->ops, why, why_size) : 0;
  t->ops.len = 0, t->n = 0;
  return status;
}

/* Adds one operation to t (as add_op), run once t holds its most. */
static int txn_add(gen_standby_t *s, txn_t *t, const char *key,
                   const char *data, size_t len, bool prefix, char *why,
                   size_t why_size) {
  int status = gen_etcd_add_op(&t->ops, key, data, len, prefix);
  if (status == 0 && ++t->n >= t->most)
    status = txn_run(s, t, why, why_size);
  return status;
}

/* ---- the files ---------------------------------------------------------- */

static file_t *file_find(file_t *files, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(files[i].name, name) == 0)
      return &files[i];
  return NULL;
}

static void files_free(file_t *files, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(files[i].name);
    free(files[i].path);
    free(files[i].pieces);
  }
  free(files);
}

/* The files of one state path: itself and its siblings (".next",
 * ".records", ".journal"), not gen_state's temporary files: scanned
 * together after the read that wrote them, so that a take-over restores a
 * state file and its records journal of one moment. */
static bool sibling_of(const char *base, const char *name) {
  return strncmp(name, base, strlen(base)) == 0 &&
         strstr(name + strlen(base), ".tmp.") == NULL;
}

static const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

/* The directory of a file's pieces: "<data>/<file>/<gen>/" (in the first
 * form of the manifest, gen is the hash of the whole content). */
static void gen_dir(const gen_standby_t *s, const char *name, uint64_t gen,
                    char *out, size_t size) {
  snprintf(out, size, "%s%s/%016" PRIx64 "/", s->data_prefix, name, gen);
}

/* Piece i of content hash ph: "<dir><i>.<ph>", a name that changes with
 * the content, so that the pieces the manifest names stand until it moves. */
static void piece_key(const gen_standby_t *s, const char *name, uint64_t gen,
                      size_t i, uint64_t ph, char *out, size_t size) {
  gen_dir(s, name, gen, out, size);
  size_t at = strlen(out);
  snprintf(out + at, size - at, "%zu.%016" PRIx64, i, ph);
}

/* A copy's hash: of its length and its pieces' hashes, as written in its
 * manifest. */
static uint64_t pieces_hash(const uint64_t *ph, size_t n, uint64_t len) {
  char hex[32];
  int at = snprintf(hex, sizeof(hex), "%llu", (unsigned long long)len);
  uint64_t h = gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, hex, (size_t)at);
  for (size_t i = 0; i < n; i++) {
    gen_hex64_format(hex, ph[i]);
    h = gen_hash_fnv1a64_bytes(h, hex, GEN_HEX64_LEN);
  }
  return h;
}

static uint64_t new_gen(const char *name) {
  static atomic_uint_fast64_t made;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t seed[4] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec,
                      (uint64_t)getpid(), atomic_fetch_add(&made, 1)};
  return gen_hash_fnv1a64_bytes(
      gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, seed, sizeof(seed)), name,
      strlen(name));
}

/* One file as etcd's manifest names it ("<hash> <pieces> <bytes> <gen>
 * <piece hash>...", or of the first form "<hash> <pieces> <bytes>", the
 * hash of the whole content), checked; its pieces are read as it is
 * restored. */
static int manifest_read(file_t *f, const char *manifest, char *why,
                         size_t why_size) {
  uint64_t hash = 0, gen = 0;
  const char *p = manifest;
  unsigned long long n = 0, len = 0;
  int at = 0;
  bool ours = gen_hex64_parse(p, &hash, &p) &&
              sscanf(p, " %llu %llu%n", &n, &len, &at) == 2 &&
              len <= FILE_MAX && n <= len + 1 && n <= strlen(manifest);
  p += at;
  bool first_form = ours && p[strspn(p, " ")] == '\0';
  uint64_t *ph = ours && !first_form ? calloc(n ? n : 1, sizeof(*ph)) : NULL;
  ours =
      ours && (first_form || (ph != NULL && gen_hex64_parse(p + 1, &gen, &p)));
  for (unsigned long long i = 0; ours && !first_form && i < n; i++)
    ours = *p == ' ' && gen_hex64_parse(p + 1, &ph[i], &p);
  if (!ours ||
      (!first_form && (*p != '\0' || pieces_hash(ph, n, len) != hash))) {
    snprintf(why, why_size, "a manifest not ours: \"%.64s\"", manifest);
    free(ph);
    return -EINVAL;
  }
  /* a copy of the first form is replaced whole at the next (gen: its
   * directory, deleted then) */
  f->hash = hash, f->gen = first_form ? hash : gen, f->pieces = ph;
  f->n_pieces = first_form ? 0 : n;
  f->n_first = first_form ? n : 0;
  f->len = len;
  return 0;
}

/* Piece i of f as etcd holds it, asked again on a failure (a timeout
 * under load) up to GEN_STANDBY_FETCH_TRIES times. */
static char *piece_read(gen_standby_t *s, const file_t *f, size_t i,
                        size_t *got, char *why, size_t why_size) {
  char key[2048];
  if (f->pieces == NULL) {
    gen_dir(s, f->name, f->hash, key, sizeof(key));
    snprintf(key + strlen(key), sizeof(key) - strlen(key), "%zu", i);
  } else
    piece_key(s, f->name, f->gen, i, f->pieces[i], key, sizeof(key));
  for (int try = 1;; try++) {
    json_object *answer = NULL;
    int status =
        gen_etcd_range(s->copy_etcd, key, false, false, &answer, why, why_size);
    char *piece = status == 0 ? gen_etcd_first_value(answer, got) : NULL;
    json_object_put(answer);
    if (piece == NULL && status == 0)
      snprintf(why, why_size, "piece %zu missing", i);
    if (piece != NULL || status == 0 || try == GEN_STANDBY_FETCH_TRIES ||
        gen_standby_pause(s, s->retry_ms))
      return piece;
  }
}

/* Writes f as etcd holds it to the file at path, piece by piece, each
 * checked against its manifest: the file is replaced only when every piece
 * is in (gen_state_stream). 0 or a negative errno, why said. */
static int restore_file(gen_standby_t *s, const file_t *f, const char *path,
                        char *why, size_t why_size) {
  gen_state_stream_t st;
  int status = gen_state_stream_open(&st, path);
  size_t n = f->pieces != NULL ? f->n_pieces : f->n_first, len = 0;
  uint64_t whole = GEN_HASH_FNV1A64_INIT;
  for (size_t i = 0; status == 0 && i < n; i++) {
    size_t got = 0;
    char *piece = piece_read(s, f, i, &got, why, why_size);
    if (piece == NULL)
      status = -ENOENT;
    else if (f->pieces != NULL &&
             gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, piece, got) !=
                 f->pieces[i]) {
      snprintf(why, why_size, "piece %zu not as its manifest says", i);
      status = -EINVAL;
    } else if ((status = gen_buf_add(&st.buf, piece, got)) == 0)
      status = gen_state_stream_flush(&st);
    whole = piece != NULL ? gen_hash_fnv1a64_bytes(whole, piece, got) : whole;
    len += got;
    free(piece);
  }
  if (status == 0 &&
      (len != f->len || (f->pieces == NULL && whole != f->hash))) {
    snprintf(why, why_size, "its pieces do not add up to its manifest");
    status = -EINVAL;
  }
  int closed = gen_state_stream_close(&st, status == 0);
  if (status == 0 && closed != 0)
    snprintf(why, why_size, "%s", gen_strerror(closed));
  return status != 0 ? status : closed;
}

/* Whether piece, "<i>.<hash>" under f's directory, is one f's manifest
 * names. */
static bool piece_named(const file_t *f, const char *piece) {
  char *end = NULL;
  unsigned long long i = strtoull(piece, &end, 10);
  uint64_t ph = 0;
  const char *rest = NULL;
  return end != piece && *end == '.' && gen_hex64_parse(end + 1, &ph, &rest) &&
         *rest == '\0' && i < f->n_pieces && f->pieces[i] == ph;
}

/* Deletes the pieces that no manifest of s->sent names: the directories
 * of a copy in progress when its holder lost the lease, or of a sweep that
 * failed; the pieces a copy replaced under a directory it kept, when their
 * delete failed. Not while a copy is in progress (s->moving: its pieces
 * are named by no manifest yet). 0 or a negative errno. */
static int sweep_unnamed(gen_standby_t *s) {
  json_object *answer = NULL;
  char why[512] = "", key[2048], last[2048] = "";
  int status = gen_etcd_range(s->copy_etcd, s->data_prefix, true, true, &answer,
                              why, sizeof(why));
  if (status != 0)
    return status; /* swept later */
  json_object *kvs = gen_json_get_array(answer, "kvs");
  txn_t t = TXN_INIT(DELETE_BATCH, SIZE_MAX);
  size_t swept = 0, pieces = 0, plen = strlen(s->data_prefix);
  const file_t *last_f = NULL; /* the file of the directory last: NULL, none */
  for (size_t i = 0;
       status == 0 && kvs != NULL && i < json_object_array_length(kvs); i++) {
    char *name = gen_etcd_unb64(
        gen_json_get_string(json_object_array_get_idx(kvs, i), "key"), NULL);
    char *slash = name != NULL && strncmp(name, s->data_prefix, plen) == 0
                      ? strchr(name + plen, '/')
                      : NULL;
    if (slash != NULL && (slash = strchr(slash + 1, '/')) != NULL) {
      char piece[256];
      sstrncpy(piece, slash + 1, sizeof(piece));
      slash[1] = '\0'; /* "<data><file>/<gen>/" */
      if (strcmp(name, last) != 0) {
        last_f = NULL;
        for (size_t j = 0; last_f == NULL && j < s->n_sent; j++) {
          gen_dir(s, s->sent[j].name, s->sent[j].gen, key, sizeof(key));
          last_f = strcmp(name, key) == 0 ? &s->sent[j] : NULL;
        }
        sstrncpy(last, name, sizeof(last));
        if (last_f == NULL) {
          status = txn_add(s, &t, name, NULL, 0, true, why, sizeof(why));
          swept++;
        }
      }
      /* a manifest of the first form names its directory whole */
      if (last_f != NULL && last_f->pieces != NULL &&
          !piece_named(last_f, piece)) {
        snprintf(key, sizeof(key), "%s%s", name, piece);
        status = txn_add(s, &t, key, NULL, 0, false, why, sizeof(why));
        pieces++;
      }
    }
    free(name);
  }
  if (status == 0)
    status = txn_run(s, &t, why, sizeof(why));
  if (swept > 0)
    gen_log_org(&s->who, NULL, status == 0 ? LOG_INFO : LOG_WARNING,
                "etcd: %zu directories of pieces no manifest names %s", swept,
                status == 0 ? "deleted" : "left (tried again later)");
  if (pieces > 0)
    gen_log_org(&s->who, NULL, status == 0 ? LOG_INFO : LOG_WARNING,
                "etcd: %zu pieces no manifest names %s", pieces,
                status == 0 ? "deleted" : "left (tried again later)");
  free(t.ops.data);
  json_object_put(answer);
  return status;
}

/* What etcd holds of the state, into s->sent (data kept). A file that
 * cannot be read back whole is left out (logged): this agent's own file
 * stands for it. 0, 1 when a file was left out, or a negative errno when
 * etcd could not be read (logged). */
static int fetch_state(gen_standby_t *s) {
  char why[512] = "";
  json_object *answer = NULL;
  int status = gen_etcd_range(s->copy_etcd, s->state_prefix, true, false,
                              &answer, why, sizeof(why));
  if (status != 0) {
    gen_log_org(&s->who, NULL, LOG_ERR,
                "etcd: the state of the last holder cannot be read (%s)",
                why[0] ? why : gen_strerror(status));
    return status;
  }
  json_object *kvs = gen_json_get_array(answer, "kvs");
  size_t n = kvs != NULL ? json_object_array_length(kvs) : 0;
  int left_out = 0;
  files_free(s->sent, s->n_sent);
  /* a copy this agent had in progress when it lost the lease: its pieces
   * stay in etcd, under a directory no manifest names */
  files_free(s->moving, s->n_moving);
  s->moving = NULL, s->n_moving = 0;
  s->sent = calloc(n ? n : 1, sizeof(*s->sent));
  s->n_sent = 0;
  for (size_t i = 0; s->sent != NULL && i < n; i++) {
    json_object *kv = json_object_array_get_idx(kvs, i);
    char *name = gen_etcd_unb64(gen_json_get_string(kv, "key"), NULL);
    char *manifest = gen_etcd_unb64(gen_json_get_string(kv, "value"), NULL);
    size_t plen = strlen(s->state_prefix);
    if (name != NULL && manifest != NULL &&
        strncmp(name, s->state_prefix, plen) == 0) {
      file_t *f = &s->sent[s->n_sent];
      *f = (file_t){.name = strdup(name + plen)};
      if (f->name != NULL && manifest_read(f, manifest, why, sizeof(why)) == 0)
        s->n_sent++;
      else {
        gen_log_org(&s->who, NULL, LOG_ERR,
                    "etcd: state %s of the last holder left out: %s",
                    name + plen, why);
        free(f->name);
        left_out = 1;
      }
    }
    free(name);
    free(manifest);
  }
  json_object_put(answer);
  if (s->sent != NULL && left_out == 0)
    s->sweep_due = sweep_unnamed(s) != 0; /* or at the next copy */
  return s->sent == NULL ? -ENOMEM : left_out;
}

/* The path's files as etcd holds them: written, and the local siblings
 * etcd lacks removed (a stale ".next" must not stand later). */
static void restore_path(gen_standby_t *s, const char *path) {
  char dir[PATH_MAX];
  sstrncpy(dir, path, sizeof(dir));
  char *slash = strrchr(dir, '/');
  if (slash == NULL || s->n_sent == 0)
    return; /* etcd holds nothing: the agent's own files stand */
  *slash = '\0';
  const char *base = base_of(path);
  DIR *d = opendir(dir);
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
    if (sibling_of(base, e->d_name) &&
        file_find(s->sent, s->n_sent, e->d_name) == NULL) {
      char stale[PATH_MAX + 256];
      snprintf(stale, sizeof(stale), "%s/%s", dir, e->d_name);
      unlink(stale);
    }
  }
  if (d != NULL)
    closedir(d);
  for (size_t i = 0; i < s->n_sent; i++) {
    file_t *f = &s->sent[i];
    if (!sibling_of(base, f->name))
      continue;
    char to[PATH_MAX + 256], why[512] = "";
    snprintf(to, sizeof(to), "%s/%s", dir, f->name);
    int status = restore_file(s, f, to, why, sizeof(why));
    if (status == 0)
      gen_log_org(&s->who, NULL, LOG_INFO,
                  "state %s (%zu bytes) from the last holder: restored", to,
                  f->len);
    else
      gen_log_org(&s->who, NULL, LOG_ERR,
                  "state %s from the last holder: not restored (%s); this "
                  "agent's own file stands",
                  to, why[0] ? why : gen_strerror(status));
  }
}

static void on_path(void *ud, const char *path) {
  gen_standby_t *s = ud;
  for (size_t i = 0; i < s->n_paths; i++)
    if (strcmp(s->paths[i], path) == 0)
      return;
  char **paths = realloc(s->paths, (s->n_paths + 1) * sizeof(*paths));
  if (paths != NULL)
    s->paths = paths;
  if (paths == NULL || (paths[s->n_paths] = strdup(path)) == NULL)
    return;
  s->n_paths++;
  if (s->restoring)
    restore_path(s, path);
}

bool gen_standby_watch_begin(gen_standby_t *s, bool restore) {
  if (restore) {
    int status = fetch_state(s);
    /* A take-over starts from the last holder's state, whole: an etcd that
     * did not give it (a timeout under load) is asked again at the next
     * reads, the org uncollected meanwhile (the backfill closes it), and
     * only then does the agent start from what it has. */
    bool again = status != 0 && ++s->fetch_tries < GEN_STANDBY_FETCH_TRIES;
    if (again || status < 0) { /* nothing read, or read again: none stands */
      files_free(s->sent, s->n_sent);
      s->sent = NULL, s->n_sent = 0;
    }
    if (again) {
      gen_log_org(&s->who, NULL, LOG_WARNING,
                  "the last holder's state is asked for again at the next "
                  "read (%d of %d)",
                  s->fetch_tries + 1, GEN_STANDBY_FETCH_TRIES);
      return false;
    }
    if (status != 0)
      gen_log_org(&s->who, NULL, LOG_ERR,
                  "the last holder's state was not given whole %d times; "
                  "what is missing starts from this agent's own files",
                  GEN_STANDBY_FETCH_TRIES);
    s->fetch_tries = 0;
    s->restoring = true;
  }
  s->watch = (gen_state_watch_t){.path = on_path, .ud = s};
  gen_state_watch(&s->watch);
  return true;
}

void gen_standby_watch_end(gen_standby_t *s) {
  gen_state_watch(NULL);
  s->restoring = false;
}

typedef struct {
  file_t *now; /* the files now; a changed one with its path */
  size_t n_now;
} sync_t;

/* Piece i of the open file of size bytes, into buf (s->piece bytes). */
static int read_piece(const gen_standby_t *s, int fd, off_t size, size_t i,
                      char *buf, size_t *n) {
  off_t off = (off_t)i * (off_t)s->piece;
  size_t want = size - off < (off_t)s->piece ? (size_t)(size - off) : s->piece;
  for (size_t got = 0; got < want;) {
    ssize_t r = pread(fd, buf + got, want - got, off + (off_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return r < 0 ? -errno : -EAGAIN; /* cut meanwhile: the next copy */
    got += (size_t)r;
  }
  *n = want;
  return 0;
}

/* Whether a and b are the same file (with born: known to be). */
static bool same_file(const file_t *a, const file_t *b, bool born) {
  return a->ino != 0 && a->dev == b->dev && a->ino == b->ino &&
         (!born || ((a->born.tv_sec != 0 || a->born.tv_nsec != 0) &&
                    a->born.tv_sec == b->born.tv_sec &&
                    a->born.tv_nsec == b->born.tv_nsec));
}

/* f's pieces' hashes. Of an append to the file copied last (the same file,
 * no shorter, its last whole piece unchanged) the whole pieces copied are
 * not read again: a journal costs what was appended. */
static int hash_pieces(const gen_standby_t *s, int fd, const file_t *had,
                       file_t *f, char *buf) {
  size_t n = (size_t)((f->size + (off_t)s->piece - 1) / (off_t)s->piece);
  if ((f->pieces = calloc(n ? n : 1, sizeof(*f->pieces))) == NULL)
    return -ENOMEM;
  f->n_pieces = n;
  size_t from = 0, got = 0;
  if (had != NULL && had->pieces != NULL && same_file(had, f, true) &&
      f->size >= had->size)
    from = (size_t)(had->size / (off_t)s->piece);
  int status = 0;
  if (from > 0 &&
      ((status = read_piece(s, fd, f->size, from - 1, buf, &got)) != 0 ||
       gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, buf, got) !=
           had->pieces[from - 1]))
    from = 0; /* rewritten in place: read whole */
  if (from > 0)
    memcpy(f->pieces, had->pieces, from * sizeof(*f->pieces));
  for (size_t i = from; status == 0 && i < n; i++)
    if ((status = read_piece(s, fd, f->size, i, buf, &got)) == 0)
      f->pieces[i] = gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, buf, got);
  f->hash = pieces_hash(f->pieces, n, (uint64_t)f->size);
  return status;
}

/* One file of y now: unchanged since the last copy by its size, time and
 * inode, or hashed piece by piece (buf: a piece). */
static int scan_file(gen_standby_t *s, const char *file, const char *name,
                     sync_t *y, char *buf) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  struct statx st;
  if (fd < 0 ||
      statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &st) != 0) {
    int status = -errno;
    if (fd >= 0)
      close(fd);
    return status == -ENOENT ? 0 : status; /* renamed: the next copy */
  }
  if (st.stx_size > FILE_MAX) {
    close(fd);
    gen_log_org(&s->who, &s->complain, LOG_ERR,
                "etcd: %s not copied: %lld bytes, past the %llu a take-over "
                "restores",
                file, (long long)st.stx_size, (unsigned long long)FILE_MAX);
    return 0;
  }
  file_t *more = realloc(y->now, (y->n_now + 1) * sizeof(*more));
  if (more == NULL) {
    close(fd);
    return -ENOMEM;
  }
  y->now = more;
  const file_t *had = file_find(s->sent, s->n_sent, name);
  file_t *f = &y->now[y->n_now++];
  *f = (file_t){.name = strdup(name),
                .mtime = {st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec},
                .size = (off_t)st.stx_size,
                .dev = makedev(st.stx_dev_major, st.stx_dev_minor),
                .ino = st.stx_ino,
                .born = (st.stx_mask & STATX_BTIME)
                            ? st.stx_btime
                            : (struct statx_timestamp){0}};
  int status = f->name != NULL ? 0 : -ENOMEM;
  if (had != NULL && had->pieces != NULL && same_file(had, f, false) &&
      had->size == f->size && had->mtime.tv_sec == f->mtime.tv_sec &&
      had->mtime.tv_nsec == f->mtime.tv_nsec) {
    f->pieces = malloc((had->n_pieces ? had->n_pieces : 1) * sizeof(uint64_t));
    if (status == 0 && f->pieces == NULL)
      status = -ENOMEM;
    if (f->pieces != NULL)
      memcpy(f->pieces, had->pieces, had->n_pieces * sizeof(uint64_t));
    f->n_pieces = had->n_pieces, f->hash = had->hash, f->gen = had->gen;
  } else if (status == 0 && (status = hash_pieces(s, fd, had, f, buf)) == 0 &&
             (f->path = strdup(file)) == NULL)
    status = -ENOMEM;
  close(fd);
  return status;
}

/* The files of path now, added to y. */
static int scan_path(gen_standby_t *s, const char *path, sync_t *y, char *buf) {
  char dir[PATH_MAX];
  sstrncpy(dir, path, sizeof(dir));
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    return 0;
  *slash = '\0';
  const char *base = base_of(path);
  DIR *d = opendir(dir);
  int status = d != NULL ? 0 : -errno;
  for (struct dirent *e; status == 0 && (e = readdir(d)) != NULL;) {
    if (!sibling_of(base, e->d_name) ||
        file_find(y->now, y->n_now, e->d_name) != NULL)
      continue;
    char file[PATH_MAX + 256];
    snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
    status = scan_file(s, file, e->d_name, y, buf);
  }
  if (d != NULL)
    closedir(d);
  return status;
}

/* Whether piece i of f is in etcd as had's. */
static bool piece_kept(const file_t *had, const file_t *f, size_t i) {
  return had != NULL && had->pieces != NULL && had->gen == f->gen &&
         i < had->n_pieces && had->pieces[i] == f->pieces[i];
}

/* *m: the copy in progress of f (made, or moved to f's directory and
 * grown to its pieces; the pieces of a directory it leaves deleted). */
static int moving_for(gen_standby_t *s, const file_t *had, const file_t *f,
                      file_t **m, char *why, size_t why_size) {
  *m = file_find(s->moving, s->n_moving, f->name);
  if (*m == NULL) {
    file_t *more = realloc(s->moving, (s->n_moving + 1) * sizeof(*more));
    if (more == NULL)
      return -ENOMEM;
    s->moving = more;
    *m = &s->moving[s->n_moving];
    **m = (file_t){.name = strdup(f->name), .gen = f->gen};
    if ((*m)->name == NULL)
      return -ENOMEM;
    s->n_moving++;
  }
  if ((*m)->gen != f->gen) { /* rewritten, then appended to after all */
    if (had == NULL || had->gen != (*m)->gen) {
      /* the pieces under the directory it leaves: no manifest names them */
      char key[2048];
      gen_dir(s, f->name, (*m)->gen, key, sizeof(key));
      txn_t t = TXN_INIT(1, 8192);
      int status = txn_add(s, &t, key, NULL, 0, true, why, why_size);
      free(t.ops.data);
      if (status != 0)
        return status;
    }
    memset((*m)->pieces, 0, (*m)->n_pieces * sizeof(uint64_t));
    (*m)->gen = f->gen;
  }
  if ((*m)->n_pieces < f->n_pieces) {
    uint64_t *p = realloc((*m)->pieces, f->n_pieces * sizeof(*p));
    if (p == NULL)
      return -ENOMEM;
    memset(p + (*m)->n_pieces, 0, (f->n_pieces - (*m)->n_pieces) * sizeof(*p));
    (*m)->pieces = p, (*m)->n_pieces = f->n_pieces;
  }
  return 0;
}

/* A changed file's pieces that etcd lacks, each in a request of its own
 * (the manifest still names the last copy's pieces, which stand until it
 * moves); the directory kept unless more than REPLACED_MAX of the last
 * copy's pieces change. A piece put by a copy that then failed stays until
 * the directory changes. */
static int put_pieces(gen_standby_t *s, const file_t *had, file_t *f, char *buf,
                      char *why, size_t why_size) {
  size_t replaced = 0;
  for (size_t i = 0; had != NULL && had->pieces != NULL && i < had->n_pieces;
       i++)
    replaced += i >= f->n_pieces || had->pieces[i] != f->pieces[i];
  file_t *m = file_find(s->moving, s->n_moving, f->name);
  f->gen = had != NULL && had->pieces != NULL && replaced <= REPLACED_MAX
               ? had->gen
           : m != NULL ? m->gen
                       : new_gen(f->name);
  int status = moving_for(s, had, f, &m, why, why_size);
  int fd = status == 0 ? open(f->path, O_RDONLY | O_CLOEXEC) : -1;
  if (status == 0 && fd < 0)
    status = -errno;
  for (size_t i = 0; status == 0 && i < f->n_pieces; i++) {
    if (piece_kept(had, f, i) || m->pieces[i] == f->pieces[i])
      continue;
    if (s->slice_put && gen_monotonic() >= s->slice_end) {
      status = -EINPROGRESS; /* the next read goes on */
      break;
    }
    size_t n = 0;
    status = read_piece(s, fd, f->size, i, buf, &n);
    if (status == 0 &&
        gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, buf, n) != f->pieces[i])
      status = -EAGAIN; /* changed since it was hashed: the next copy */
    char key[2048], old[2048] = "";
    piece_key(s, f->name, f->gen, i, f->pieces[i], key, sizeof(key));
    /* the piece this copy put before under the same index, changed since:
     * no manifest names it, it goes with the put */
    if (m->pieces[i] != 0 &&
        !(had != NULL && had->pieces != NULL && had->gen == f->gen &&
          i < had->n_pieces && had->pieces[i] == m->pieces[i]))
      piece_key(s, f->name, f->gen, i, m->pieces[i], old, sizeof(old));
    txn_t t = TXN_INIT(2, 2 * s->piece + 4096);
    if (status == 0)
      status = txn_add(s, &t, key, buf, n, false, why, why_size);
    if (status == 0 && old[0] != '\0')
      status = txn_add(s, &t, old, NULL, 0, false, why, why_size);
    if (status == 0)
      status = txn_run(s, &t, why, why_size);
    if (status == 0) {
      atomic_fetch_add(&s->copied_bytes, n);
      m->pieces[i] = f->pieces[i];
      s->slice_put = true;
    }
    free(t.ops.data);
  }
  if (fd >= 0)
    close(fd);
  return status;
}

/* A copy's operations: the manifests it moves, each with the state path
 * its file is of (a group), then the deletes of the pieces they no longer
 * name. */
typedef struct {
  size_t group;
  char *key, *data; /* data NULL: a delete */
  size_t len;
  bool prefix;
} op_t;

typedef struct {
  op_t *moves, *deletes;
  size_t n_moves, n_deletes;
} plan_t;

static int plan_add(op_t **ops, size_t *n, size_t group, const char *key,
                    gen_buf_t *data, bool prefix) {
  op_t *more = realloc(*ops, (*n + 1) * sizeof(*more));
  if (more == NULL)
    return -ENOMEM;
  *ops = more;
  op_t *op = &more[*n];
  *op = (op_t){.group = group, .key = strdup(key), .prefix = prefix};
  if (data != NULL) /* taken */
    op->data = data->data, op->len = data->len, *data = (gen_buf_t){0};
  if (op->key == NULL || (data != NULL && op->data == NULL)) {
    free(op->key);
    free(op->data);
    return -ENOMEM;
  }
  (*n)++;
  return 0;
}

static void plan_free(plan_t *p) {
  for (size_t i = 0; i < p->n_moves; i++)
    free(p->moves[i].key), free(p->moves[i].data);
  for (size_t i = 0; i < p->n_deletes; i++)
    free(p->deletes[i].key);
  free(p->moves);
  free(p->deletes);
}

/* The state path (its index in s->paths) whose file name is; n_paths
 * when none. */
static size_t group_of(const gen_standby_t *s, const char *name) {
  for (size_t j = 0; j < s->n_paths; j++)
    if (sibling_of(base_of(s->paths[j]), name))
      return j;
  return s->n_paths;
}

/* The operations that move f's manifest (f NULL: delete had's, a file
 * that no longer is) and delete the pieces of had (the last copy) it no
 * longer names, added to p. */
static int manifest_ops(gen_standby_t *s, const file_t *had, const file_t *f,
                        plan_t *p) {
  char key[2048];
  gen_buf_t m = GEN_BUF_INIT(SIZE_MAX);
  int status = 0;
  if (f != NULL) {
    gen_buf_add_hex64(&m, f->hash);
    gen_buf_printf(&m, " %zu %lld ", f->n_pieces, (long long)f->size);
    status = gen_buf_add_hex64(&m, f->gen);
  }
  for (size_t i = 0; status == 0 && f != NULL && i < f->n_pieces; i++) {
    gen_buf_add_str(&m, " ");
    status = gen_buf_add_hex64(&m, f->pieces[i]);
  }
  const char *name = f != NULL ? f->name : had->name;
  snprintf(key, sizeof(key), "%s%s", s->state_prefix, name);
  if (status == 0)
    status = plan_add(&p->moves, &p->n_moves, group_of(s, name), key,
                      f != NULL ? &m : NULL, false);
  free(m.data);
  if (had != NULL && (f == NULL || had->gen != f->gen)) {
    gen_dir(s, had->name, had->gen, key, sizeof(key));
    return status == 0
               ? plan_add(&p->deletes, &p->n_deletes, 0, key, NULL, true)
               : status;
  }
  for (size_t i = 0; status == 0 && had != NULL && i < had->n_pieces; i++)
    if (!piece_kept(had, f, i)) {
      piece_key(s, had->name, had->gen, i, had->pieces[i], key, sizeof(key));
      status = plan_add(&p->deletes, &p->n_deletes, 0, key, NULL, false);
    }
  return status;
}

/* Moves p's manifests: in one transaction when they are TXN_OPS_MAX or
 * fewer (every state file of the instance, as any plugin has: a few a
 * history family), so that a take-over sees the last copy whole or this
 * one. Past it (more files changed at once than etcd lets one transaction
 * hold) the files of one state path (a state file and its journal, of one
 * moment) stay in one transaction, the state paths, each of its own
 * family, being apart; a take-over between two of them finds some paths of
 * this copy, the others of the last. A state path with more siblings than
 * a transaction holds (files put beside it, not the plugin's) is split.
 * 0, or a negative errno (why): the manifests moved before stand, named
 * again at the next copy. */
static int plan_move(gen_standby_t *s, const plan_t *p, char *why,
                     size_t why_size) {
  txn_t t = TXN_INIT(TXN_OPS_MAX, 1024 * 1024);
  int status = 0;
  for (size_t g = 0; status == 0 && g <= s->n_paths; g++) {
    size_t in_group = 0;
    for (size_t i = 0; i < p->n_moves; i++)
      in_group += p->moves[i].group == g;
    if (t.n + in_group > TXN_OPS_MAX) /* the group whole in the next */
      status = txn_run(s, &t, why, why_size);
    for (size_t i = 0; status == 0 && i < p->n_moves; i++) {
      const op_t *op = &p->moves[i];
      if (op->group == g)
        status =
            txn_add(s, &t, op->key, op->data, op->len, false, why, why_size);
    }
  }
  if (status == 0)
    status = txn_run(s, &t, why, why_size);
  free(t.ops.data);
  return status;
}

/* After the manifests moved: the pieces they no longer name deleted,
 * DELETE_BATCH a transaction. A failure leaves them to a sweep at the next
 * copy (logged, rate-limited). */
static void plan_delete(gen_standby_t *s, const plan_t *p) {
  char why[512] = "";
  txn_t t = TXN_INIT(DELETE_BATCH, SIZE_MAX);
  int status = 0;
  for (size_t i = 0; status == 0 && i < p->n_deletes; i++)
    status = txn_add(s, &t, p->deletes[i].key, NULL, 0, p->deletes[i].prefix,
                     why, sizeof(why));
  if (status == 0)
    status = txn_run(s, &t, why, sizeof(why));
  free(t.ops.data);
  if (status != 0) {
    s->sweep_due = true;
    gen_log_org(&s->who, &s->complain, LOG_WARNING,
                "etcd: the pieces the copy replaced are not deleted (%s); "
                "swept at the next copy",
                why[0] ? why : gen_strerror(status));
  }
}

/* Whether a state file is here that etcd lacks (a first one: a state is
 * first written as ".next" and renamed a read later, when the interval
 * would hold its copy back; a take-over meanwhile found only the ".next",
 * which it does not restore, and started afresh). */
static bool state_new_here(const gen_standby_t *s) {
  for (size_t i = 0; i < s->n_paths; i++)
    if (access(s->paths[i], F_OK) == 0 &&
        file_find(s->sent, s->n_sent, base_of(s->paths[i])) == NULL)
      return true;
  return false;
}

/* After a copy moved: the pieces its rounds put that no manifest names (a
 * piece put, then changed before the copy was whole; a directory left),
 * deleted a transaction of up to 64 at a time. A failure leaves them. */
static void sweep_moving(gen_standby_t *s, const sync_t *y) {
  char key[2048], why[512];
  txn_t t = TXN_INIT(DELETE_BATCH, SIZE_MAX);
  int status = 0;
  for (size_t k = 0; status == 0 && k < s->n_moving; k++) {
    const file_t *m = &s->moving[k];
    const file_t *f = file_find(y->now, y->n_now, m->name);
    for (size_t i = 0;
         status == 0 && f != NULL && f->gen == m->gen && i < m->n_pieces; i++)
      if (m->pieces[i] != 0 &&
          (i >= f->n_pieces || m->pieces[i] != f->pieces[i])) {
        piece_key(s, m->name, m->gen, i, m->pieces[i], key, sizeof(key));
        status = txn_add(s, &t, key, NULL, 0, false, why, sizeof(why));
      }
    if (status == 0 && (f == NULL || f->gen != m->gen)) {
      gen_dir(s, m->name, m->gen, key, sizeof(key));
      status = txn_add(s, &t, key, NULL, 0, true, why, sizeof(why));
    }
  }
  if (status == 0)
    txn_run(s, &t, why, sizeof(why));
  free(t.ops.data);
  files_free(s->moving, s->n_moving);
  s->moving = NULL, s->n_moving = 0;
}

int gen_standby_sync(gen_standby_t *s, bool now) {
  /* each copy is a new revision of the files in etcd: not at every read;
   * a copy in progress goes on at the next */
  if (!now && s->synced != 0 && gen_monotonic() - s->synced < s->sync_every &&
      !state_new_here(s))
    return 0;
  s->synced = gen_monotonic();
  if (s->sweep_due && s->n_moving == 0) /* no copy in progress */
    s->sweep_due = sweep_unnamed(s) != 0;
  sync_t y = {0};
  plan_t plan = {0};
  char why[512] = "";
  bool changed = false;
  char *buf = malloc(s->piece);
  int status = buf != NULL ? 0 : -ENOMEM;
  for (size_t i = 0; status == 0 && i < s->n_paths; i++)
    status = scan_path(s, s->paths[i], &y, buf);
  s->slice_end = gen_monotonic() + s->slice, s->slice_put = false;
  for (size_t i = 0; status == 0 && i < y.n_now; i++) {
    file_t *f = &y.now[i];
    const file_t *had = file_find(s->sent, s->n_sent, f->name);
    if (had != NULL && had->hash == f->hash) {
      f->gen = had->gen; /* the same content (a file written again) */
      continue;
    }
    changed = true;
    status = put_pieces(s, had, f, buf, why, sizeof(why));
    if (status == 0)
      status = manifest_ops(s, had, f, &plan);
  }
  /* what etcd holds that no longer is (a ".next" renamed) */
  for (size_t i = 0; status == 0 && i < s->n_sent; i++) {
    const file_t *gone = &s->sent[i];
    if (file_find(y.now, y.n_now, gone->name) != NULL)
      continue;
    changed = true;
    status = manifest_ops(s, gone, NULL, &plan);
  }
  /* the manifests move at once (plan_move), then the pieces they no longer
   * name go */
  if (status == 0 && changed)
    status = plan_move(s, &plan, why, sizeof(why));
  if (status == 0)
    plan_delete(s, &plan);
  plan_free(&plan);
  free(buf);
  if (status == 0) {
    sweep_moving(s, &y);
    files_free(s->sent, s->n_sent);
    for (size_t i = 0; i < y.n_now; i++) { /* kept: hashes only */
      free(y.now[i].path);
      y.now[i].path = NULL;
    }
    s->sent = y.now, s->n_sent = y.n_now;
    return 0;
  }
  files_free(y.now, y.n_now);
  if (status == -EINPROGRESS) {
    s->synced = 0;
    return 0;
  }
  gen_log_org(&s->who, &s->complain, LOG_ERR,
              "etcd: state not copied (%s); a take-over now would start "
              "from the state copied last",
              why[0] ? why : gen_strerror(status));
  atomic_fetch_add(&s->sync_failed, 1);
  return status;
}

void gen_standby_copy_free(gen_standby_t *s) {
  gen_config_string_list_free(s->paths, s->n_paths);
  files_free(s->sent, s->n_sent);
  files_free(s->moving, s->n_moving);
  s->paths = NULL, s->sent = s->moving = NULL;
  s->n_paths = s->n_sent = s->n_moving = 0;
}
