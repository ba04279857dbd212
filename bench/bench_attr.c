/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the memory genesys_flowmetrics' attribute ledger
 * (gen_attr) holds a conversation.
 *
 * Observes N conversations (uuid ids, K metric attribute names each, every
 * other one finished) into one ledger with no journal, and prints the heap
 * bytes (mallinfo2) the ledger took per conversation; the names are made
 * on the stack, so the bench itself allocates nothing in between. Then N
 * more, past MaxConversations (-m, default N): the least recently seen are
 * evicted and their room reused, so the heap should not grow. Last, the
 * full ledger's snapshot written to a state file (as genesys_flowmetrics
 * does every StateSaveInterval): how long the ledger is held, the file's
 * size, and the most heap it took beyond the ledger's; and that file read
 * back into a new ledger, as a restart does (its time and the process'
 * VmHWM after it: the file is read a line at a time, gf_state_restore).
 *
 *   bench_attr [-n conversations] [-k names] [-m max-conversations]
 *              [-s seed]
 *
 *   defaults: 200000 conversations, 3 names each, -m = -n.
 */
#include "bench_util.h"
#include "gen_attr.h"
#include "gen_state.h"
#include "gf_state.h"

#include "collectd/core/daemon/utils_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The snapshot's flush; when sampling, it notes the heap every 1,000
 * conversations. */
typedef struct {
  gen_state_stream_t stream;
  bool sampling;
  size_t calls, most_heap;
} snap_sink_t;

static int snap_flush(void *ud) {
  snap_sink_t *s = ud;
  if (s->sampling && ++s->calls % 1000 == 0) {
    size_t h = heap_bytes();
    if (h > s->most_heap)
      s->most_heap = h;
  }
  return gen_state_stream_flush(&s->stream);
}

/* The state file's header, as gf_state_save() prints it (no flow
 * counters here). */
static int snap_head(void *ud, uint64_t generation) {
  snap_sink_t *s = ud;
  return gen_buf_printf(&s->stream.buf,
                        "{\"version\":%d,\"flow_generation\":0,"
                        "\"attribute_generation\":%" PRIu64 "}\n",
                        GF_STATE_VERSION, generation);
}

/* The state file at path read back into a new ledger, as at a restart
 * (gf_state_restore: a line at a time). */
static int restore(const char *path, const gen_attr_format_t *format,
                   const gen_attr_options_t *options) {
  double hwm0 = vm_mib("VmHWM:"), t0 = now_s();
  static const gen_log_org_t who = {"bench", "bench"};
  gen_attr_ledger_t *l = gen_attr_ledger_create(format, options, NULL);
  if (l == NULL)
    return -ENOMEM;
  gf_state_t st = {.path = path, .ledger = l, .who = &who};
  gf_state_restore(&st);
  double secs = now_s() - t0;
  int status = gen_attr_conversations(l) > 0 ? 0 : -EINVAL;
  if (status == 0)
    printf("restored from it: %zu conversations in %.0f ms; VmHWM %.1f MiB "
           "(%.1f before)\n",
           gen_attr_conversations(l), secs * 1e3, vm_mib("VmHWM:"), hwm0);
  else
    fprintf(stderr, "restore: nothing restored\n");
  gen_attr_ledger_free(l);
  return status;
}

/* Writes the ledger's snapshot to a state file in a temporary directory,
 * twice: timed alone, then with the heap sampled; then restores it. */
static int snapshot(gen_attr_ledger_t *l, const gen_attr_format_t *format,
                    const gen_attr_options_t *options) {
  char dir[] = "/tmp/bench-attr-XXXXXX", path[64];
  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(path, sizeof(path), "%s/state.json", dir);
  double secs = 0;
  size_t heap0 = heap_bytes();
  snap_sink_t sink = {0};
  for (int pass = 0; pass < 2; pass++) {
    uint64_t g;
    sink.sampling = pass == 1;
    int err = gen_state_stream_open(&sink.stream, path);
    double t0 = now_s();
    if (err == 0)
      err = gen_attr_snapshot_write(l, &sink.stream.buf, snap_head, snap_flush,
                                    &sink, &g);
    if (pass == 0)
      secs = now_s() - t0;
    err = gen_state_stream_close(&sink.stream, err == 0);
    if (err != 0) {
      fprintf(stderr, "snapshot: %s\n", strerror(-err));
      return -1;
    }
  }
  struct stat st;
  if (stat(path, &st) != 0)
    return -1;
  printf("snapshot to a state file: the ledger held %.0f ms; %.1f MiB of "
         "text; heap beyond the ledger's at most %.1f KiB\n",
         secs * 1e3, (double)st.st_size / 1048576.0,
         sink.most_heap > heap0 ? (double)(sink.most_heap - heap0) / 1024.0
                                : 0.0);
  int status = restore(path, format, options);
  unlink(path);
  rmdir(dir);
  return status;
}

/* Observes n new conversations of k names each; the seconds it took. */
static double observe(gen_attr_ledger_t *l, size_t n, size_t k, cdtime_t t) {
  char names[16][96];
  const char *ptrs[16];
  double t0 = now_s();
  for (size_t i = 0; i < n; i++) {
    char id[37];
    uuid(id);
    for (size_t j = 0; j < k; j++) {
      /* 20 flows x 5 metrics: the series are few, the names unique. */
      uint32_t r = rnd();
      snprintf(names[j], sizeof(names[j]),
               "Flow%02" PRIu32 "Metric_M%" PRIu32
               "(2026-05-14T%02zu:%02zu:%02zu.%03" PRIu32 "Z)",
               r % 20, (r >> 8) % 5, (i / 3600) % 24, (i / 60) % 60, i % 60,
               (r >> 16) % 1000);
      ptrs[j] = names[j];
    }
    if (gen_attr_observe(l, id, ptrs, k, i % 2 == 1, t, NULL, NULL) < 0) {
      fprintf(stderr, "gen_attr_observe failed\n");
      exit(1);
    }
  }
  return now_s() - t0;
}

static void usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s [-n conversations] [-k names 1-16] "
          "[-m max-conversations] [-s seed]\n",
          argv0);
  exit(2);
}

int main(int argc, char **argv) {
  size_t n = 200000, k = 3, max = 0;
  int opt;
  while ((opt = getopt(argc, argv, "n:k:m:s:")) != -1) {
    switch (opt) {
    case 'n':
      n = strtoul(optarg, NULL, 10);
      break;
    case 'k':
      k = strtoul(optarg, NULL, 10);
      break;
    case 'm':
      max = strtoul(optarg, NULL, 10);
      break;
    case 's':
      rng = strtoull(optarg, NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
      break;
    default:
      usage(argv[0]);
    }
  }
  if (n == 0 || k == 0 || k > 16)
    usage(argv[0]);
  if (max == 0)
    max = n;

  gen_attr_format_t *format;
  char err[256];
  if (gen_attr_format_create(NULL, 0, 0, 0, &format, err, sizeof(err)) != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  /* genesys_flowmetrics' defaults (gen_attr_config.c). */
  gen_attr_options_t options = {
      .max_series = 1000,
      .max_conversations = max,
      .max_names = 256,
      .open_ttl = TIME_T_TO_CDTIME_T(43200),
      .finished_ttl = TIME_T_TO_CDTIME_T(3600),
      .overflow_name = "overflow",
  };
  cdtime_t t = TIME_T_TO_CDTIME_T(1778750000);
  size_t heap0 = heap_bytes();
  gen_attr_ledger_t *l = gen_attr_ledger_create(format, &options, NULL);
  if (l == NULL) {
    fprintf(stderr, "gen_attr_ledger_create failed\n");
    return 1;
  }
  double s1 = observe(l, n, k, t);
  size_t heap1 = heap_bytes();
  size_t held = gen_attr_conversations(l);
  printf("%zu conversations of %zu names (half finished), MaxConversations "
         "%zu\n",
         n, k, max);
  printf("  held %zu, %zu series; heap %.1f MiB: %.1f bytes a conversation; "
         "%.2f us an event\n",
         held, gen_attr_series(l), (double)(heap1 - heap0) / 1048576.0,
         (double)(heap1 - heap0) / (double)held, s1 / (double)n * 1e6);
  double s2 = observe(l, n, k, t + TIME_T_TO_CDTIME_T(1));
  size_t heap2 = heap_bytes();
  held = gen_attr_conversations(l);
  printf("%zu more (evicting): held %zu, evicted %" PRIu64
         "; heap %.1f MiB: %.1f bytes a conversation; %.2f us an event\n",
         n, held, (uint64_t)atomic_load(&gen_attr_stats(l)->evicted),
         (double)(heap2 - heap0) / 1048576.0,
         (double)(heap2 - heap0) / (double)held, s2 / (double)n * 1e6);
  if (snapshot(l, format, &options) != 0)
    return 1;
  gen_attr_ledger_free(l);
  gen_attr_format_free(format);
  return 0;
}
