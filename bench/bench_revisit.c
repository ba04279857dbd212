/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the memory and state file the interval engine
 * (gen_interval) holds a bucket of a key, kept for the revisit schedule.
 *
 * With RevisitAt, every bucket of a key is kept (its counters, a hash of
 * every value) until its last age: at PT15M and a last age of 100 h, 400
 * buckets a key. The bench feeds K keys (four a scope) B buckets each in
 * one first fetch, all younger than the last age so every one is kept,
 * with genesys_analytics' default catalogue's values (6 counts, one ratio,
 * 8 durations: 24 counters and 16 gauges a bucket; counts 0 to 30, sums of
 * milliseconds to match), and prints the heap bytes (mallinfo2) a record
 * takes, from the difference between B buckets and one; then the state
 * file's and the records journal's sizes (the records are in the journal,
 * "<state>.records", not in the state file), and the steady state: R
 * reads of one new bucket a key (the window's and the schedule's revisits
 * planned, none changed), the bytes a read writes (the state file whole,
 * the journal's lines) and the time of its save; reads go on until the
 * journal is compacted (its dead entries past its live ones; at most C
 * reads), whose time and size are printed; then the state read back (the
 * journal replayed): its time, the heap and VmHWM.
 *
 *   bench_revisit [-k keys] [-b buckets] [-r reads] [-c reads] [-s seed]
 *
 *   defaults: 4000 keys, 400 buckets, 20 reads, compaction within 600.
 */
#include "bench_util.h"
#include "gen_interval.h"

#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define G_MS (15 * 60000LL)
#define NOW_MS 1794999600000LL /* 2026-11-18, on the PT15M grid */

static void on_bucket(void *ud, const gen_key_t *key, int64_t start,
                      int64_t end, gen_interval_kind_t kind,
                      const gen_interval_value_t *v, size_t n) {
  (void)ud, (void)key, (void)start, (void)end, (void)kind, (void)v, (void)n;
}

static const char *const counts[] = {"offered",     "answered",
                                     "abandoned",   "short_abandoned",
                                     "transferred", "over_sla"};
static const char *const durations[] = {"handle", "talk",   "hold",  "acw",
                                        "wait",   "answer", "alert", "abandon"};

/* One key's values of a bucket, as genesys_analytics puts them. */
static size_t bucket_values(gen_interval_value_t *v, char (*names)[40]) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
    v[n++] = (gen_interval_value_t){counts[i], rnd_below(31), true};
  uint32_t den = rnd_below(31);
  v[n++] = (gen_interval_value_t){"service_level_numerator",
                                  den ? rnd_below(den + 1) : 0, true};
  v[n++] = (gen_interval_value_t){"service_level_denominator", den, true};
  for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
    uint32_t c = rnd_below(31);
    double lo = 0, hi = 0, sum = 0;
    for (uint32_t j = 0; j < c; j++) {
      double d = 500 + rnd_below(300000);
      sum += d;
      lo = j == 0 || d < lo ? d : lo;
      hi = d > hi ? d : hi;
    }
    const char *suffix[] = {"_count", "_sum_ms", "_max_ms", "_min_ms"};
    double val[] = {c, sum, hi, lo};
    for (int s = 0; s < 4; s++) {
      snprintf(names[n], sizeof(names[n]), "%s%s", durations[i], suffix[s]);
      v[n] = (gen_interval_value_t){names[n], val[s], s < 2};
      n++;
    }
  }
  return n;
}

static gen_interval_t *engine(const char *path, size_t buckets) {
  gen_interval_options_t o = {.granularity_ms = G_MS,
                              .revisit_ms = 3600000,
                              .horizon_ms = 31 * 86400000LL,
                              .initial_ms = (int64_t)buckets * G_MS,
                              .max_buckets = 10000,
                              .state_path = path,
                              .defer_save = true};
  char why[160];
  if (gen_revisit_parse(&o.revisit_at, "24h 100h", why, sizeof(why)) != 0) {
    fprintf(stderr, "%s\n", why);
    exit(1);
  }
  gen_interval_t *gi = gen_interval_create(&o);
  if (gi == NULL) {
    fprintf(stderr, "gen_interval_create failed\n");
    exit(1);
  }
  return gi;
}

/* Feeds keys keys the buckets buckets before NOW_MS, one scope of four keys
 * a request (a batch of 25 scopes). */
static void feed_at(gen_interval_t *gi, size_t keys, int64_t now) {
  static const char *const media[] = {"voice", "chat", "email", "message"};
  gen_interval_sink_t sink = {.bucket = on_bucket};
  size_t scopes = (keys + 3) / 4;
  char(*ids)[32] = calloc(scopes, sizeof(*ids));
  const char **batch = calloc(25, sizeof(*batch));
  gen_interval_value_t v[64];
  char names[64][40];
  for (size_t s0 = 0; s0 < scopes; s0 += 25) {
    size_t n = scopes - s0 < 25 ? scopes - s0 : 25;
    for (size_t i = 0; i < n; i++) {
      snprintf(ids[s0 + i], sizeof(ids[0]), "q%06zu", s0 + i);
      batch[i] = ids[s0 + i];
    }
    gen_interval_range_t r;
    while (gen_interval_plan(gi, batch, n, now, &r) == 1) {
      /* the steady state: the new bucket alone (the revisits find the
       * others unchanged: the API's answer for them is left out) */
      int64_t from = r.revisit > 0  ? r.end_ms
                     : now > NOW_MS ? r.end_ms - G_MS
                                    : r.start_ms;
      for (int64_t t = from; t < r.end_ms; t += G_MS)
        for (size_t i = 0; i < n; i++)
          for (size_t m = 0; m < 4 && (s0 + i) * 4 + m < keys; m++) {
            gen_key_t key = {.str = {batch[i], media[m]}};
            size_t nv = bucket_values(v, names);
            if (gen_interval_put(gi, batch[i], &key, t, v, nv) != 0) {
              fprintf(stderr, "put failed\n");
              exit(1);
            }
          }
      gen_interval_commit(gi, batch, n, &r, now, &sink);
    }
  }
  free(ids);
  free(batch);
}

static void feed(gen_interval_t *gi, size_t keys, size_t buckets) {
  (void)buckets; /* InitialBackfill: the engine's */
  feed_at(gi, keys, NOW_MS);
}

static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The state at path read back (its journal replayed): time, heap, VmHWM. */
static int load_only(const char *path, size_t buckets) {
  size_t heap3 = heap_bytes();
  double hwm0 = vm_mib("VmHWM:");
  double t0 = now_s();
  gen_interval_t *gi = engine(path, buckets);
  double t1 = now_s();
  gen_interval_stats_t is;
  gen_interval_get_stats(gi, &is);
  printf(
      "read back in %.0f ms: %zu keys, heap %.1f MiB; VmHWM %.1f MiB before, "
      "%.1f after\n",
      (t1 - t0) * 1000, is.keys, (double)(heap_bytes() - heap3) / 1048576.0,
      hwm0, vm_mib("VmHWM:"));
  gen_interval_free(gi);
  return 0;
}

int main(int argc, char **argv) {
  size_t keys = 4000, buckets = 400, reads = 20, most = 600;
  const char *load = NULL;
  int opt;
  while ((opt = getopt(argc, argv, "k:b:r:c:s:L:")) != -1) {
    switch (opt) {
    case 'k':
      keys = strtoul(optarg, NULL, 10);
      break;
    case 'b':
      buckets = strtoul(optarg, NULL, 10);
      break;
    case 'r':
      reads = strtoul(optarg, NULL, 10);
      break;
    case 'L': /* the read back alone, in a process of its own */
      load = optarg;
      break;
    case 'c':
      most = strtoul(optarg, NULL, 10);
      break;
    case 's':
      rng = strtoull(optarg, NULL, 10) | 1;
      break;
    default:
      fprintf(stderr,
              "usage: %s [-k keys] [-b buckets (≤ 400)] [-r reads] "
              "[-c reads] [-s seed]\n",
              argv[0]);
      return 2;
    }
  }
  if (keys < 1 || buckets < 2 || buckets > 400)
    return 2;
  if (load != NULL)
    return load_only(load, buckets);
  /* A bucket is kept while younger than 100 h: 400 at PT15M. The first
   * fetch starts buckets back (InitialBackfill), so every one is kept. */
  size_t heap0 = heap_bytes();
  gen_interval_t *one = engine(NULL, 1);
  feed(one, keys, 1);
  size_t heap1 = heap_bytes();
  gen_interval_free(one);

  char path[64];
  snprintf(path, sizeof(path), "/tmp/gen-bench-revisit-%d.json", (int)getpid());
  size_t heap2 = heap_bytes();
  gen_interval_t *gi = engine(path, buckets);
  feed(gi, keys, buckets);
  size_t heapb = heap_bytes();
  double per = (double)((heapb - heap2) - (heap1 - heap0)) /
               (double)(keys * (buckets - 1));
  printf("keys %zu, buckets %zu: heap %.1f MiB with one bucket a key, %.1f MiB "
         "with %zu\n",
         keys, buckets, (double)(heap1 - heap0) / 1048576.0,
         (double)(heapb - heap2) / 1048576.0, buckets);
  printf("bytes a record (a key's bucket): %.1f\n", per);
  printf("so 5,000 queues x 4 keys x 400 buckets: %.1f MiB\n",
         per * 5000 * 4 * 400 / 1048576.0);

  double t0 = now_s();
  gen_interval_save(gi); /* the snapshot, "<path>.next" */
  gen_interval_save(gi); /* made the state file */
  double t1 = now_s();
  char rec[80], next[80];
  snprintf(rec, sizeof(rec), "%s.records", path);
  snprintf(next, sizeof(next), "%s.next", path);
  off_t state = file_size(path), journal = file_size(rec);
  printf("state file %.2f MiB, records journal %.1f MiB (%.1f bytes a "
         "record); both written in %.0f ms\n",
         (double)state / 1048576.0, (double)journal / 1048576.0,
         (double)journal / (double)(keys * buckets), (t1 - t0) * 1000);

  /* The steady state: a read a new bucket a key. */
  int64_t now = NOW_MS;
  double save_ms = 0, state_bytes = 0, journal_bytes = 0;
  size_t n = 0;
  for (size_t i = 0; i < most; i++) {
    now += G_MS;
    off_t before = file_size(rec);
    feed_at(gi, keys, now);
    t0 = now_s();
    gen_interval_save(gi);
    t1 = now_s();
    off_t after = file_size(rec);
    if (after < before) {
      printf("compacted after %zu reads: %.1f MiB to %.1f MiB in %.0f ms "
             "(the save with it)\n",
             i + 1, (double)before / 1048576.0, (double)after / 1048576.0,
             (t1 - t0) * 1000);
      break;
    }
    if (i < reads) {
      n++;
      save_ms += (t1 - t0) * 1000;
      state_bytes += (double)file_size(next);
      journal_bytes += (double)(after - before);
    }
  }
  if (n > 0)
    printf("a read (one new bucket a key, %zu reads): state file %.2f MiB "
           "written whole, journal %.2f MiB appended (%.1f bytes a key); "
           "save %.0f ms\n",
           n, state_bytes / n / 1048576.0, journal_bytes / n / 1048576.0,
           journal_bytes / n / (double)keys, save_ms / n);
  gen_interval_save(gi);
  gen_interval_free(gi);
  /* in a process of its own: VmHWM is the load's */
  char cmd[4200];
  snprintf(cmd, sizeof(cmd), "'%s' -L '%s'", argv[0], path);
  fflush(stdout);
  if (system(cmd) != 0)
    return 1;
  unlink(path);
  unlink(rec);
  unlink(next);
  return 0;
}
