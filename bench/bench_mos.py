#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Requests per new bucket of genesys_analytics' call quality (CallQuality),
against the simulator (issue #15, item 2). A measurement: it prints a table
and asserts nothing.

Per --queues N: the real collectd under libfaketime at the simulator's
speed, CallQuality true (the aggregates still run beside it, counted apart),
Granularity PT5M, SettleDelay 30, RevisitWindow 600, for --buckets new
buckets after the first. From the simulator's record of the details queries
(/sim/stats aggregate_intervals.details: interval, pageNumber, totalHits),
the requests grouped by the newest bucket they ask for (bench_actions'
per_new_bucket), and the minimum the API's paging allows for the same
queries: per batch of 100 queues, ceil(totalHits / 100) pages, at least one.

  python3 bench/bench_mos.py --queues 10 500 5000

--catch-up S: instead, how long a start takes to catch up (issue #47, item
0): InitialBackfill S of buckets of PT5M at the default Interval (60 s),
under the API's limit of 300 requests a minute for the token, counted on
the simulated clock (gensim --rate-window-sim), the queue aggregates beside
it. Per --queues N: the simulated minutes from the start until the
newest bucket settled at the start (every queue the truth has in that
bucket dispatched), the details requests made by then (the simulator's
count, read every 2 real seconds), the 429s, and the details requests a
minute over the 10 (--after) simulated minutes after, and the lag then (the newest
settled bucket's end to the run's end, minus the newest dispatched one's).
--granularity G (minutes) and --order FORM... (the simulator's
--details-order-by: sorted, the plugin reading pages by conversationEnd up
to each piece's end; ignored, every page of every piece, as before issue
66) side by side in one run; --results-max N makes a small org's ranges
split down to single buckets as a large org's are past 100,000 results.

  python3 bench/bench_mos.py --catch-up 1800 --queues 500 5000 --speed 5
  python3 bench/bench_mos.py --catch-up 1800 --queues 500 --granularity 1 \
      --order ignored sorted --speed 5 [--results-max 400]
"""
import argparse
import math
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
from bench_actions import G_MS, per_new_bucket  # noqa: E402
from collectd_harness import FakeClockCollectd, iso_ms, sim_ms, wait_sim  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

DETAILS = "POST /api/v2/analytics/conversations/details/query"


def minimum(asked):
    """The fewest pages the same queries need, per newest bucket (same cut
    as per_new_bucket): each first page starts a batch."""
    by_end = {}
    for start, end, page, hits in asked:
        if page == 1:
            by_end[end] = by_end.get(end, 0) + max(1, math.ceil(hits / 100))
    return [by_end[e] for e in sorted(by_end)[1:-1]]


def run(n, buckets, speed):
    sim = Simulator("--queues", str(n), "--agents", str(max(5, n)), "--flows", "1",
                    "--speed", str(speed), "--start", "now", "--warmup", "60",
                    "--rate-limit", "100000")
    extra = ('    Host "acme"\n    InstanceFrom "id"\n    Granularity "PT5M"\n'
             "    SettleDelay 30\n    RevisitWindow 600\n    CallQuality true\n"
             "    CallQualityMaxLength 1800\n")
    cd = FakeClockCollectd(
        "<LoadPlugin genesys_analytics>\n  Interval 10\n</LoadPlugin>\n"
        "<Plugin genesys_analytics>\n" + sim.org_block("acme", extra=extra) + "</Plugin>\n",
        sim, speed)
    try:
        cd.start()
        t0 = sim_ms(sim)
        wait_sim(sim, (t0 // G_MS + buckets + 2) * G_MS + 45000, timeout=1200)
        stats = sim._open("/sim/stats")
    finally:
        cd.cleanup()
        sim.stop()
    asked = stats["aggregate_intervals"].get("details", [])
    return per_new_bucket(asked), minimum(asked), stats.get("rate_limited", 0)


def catch_up(n, backfill_s, speed, limit_s, gran_min=5, form="sorted", results_max=100000,
             after_min=10):
    """(simulated minutes to catch up or None, details requests by then,
    429s by then, details requests a minute over the 10 minutes after, the
    lag then in minutes)."""
    g_ms = gran_min * 60000
    sim = Simulator("--queues", str(n), "--agents", str(max(5, n)), "--flows", "1",
                    "--speed", str(speed), "--start", "now",
                    "--warmup", str(max(backfill_s + 600, 2 * g_ms // 1000)),
                    "--rate-limit", "300", "--rate-window-sim",
                    "--details-order-by", form, "--details-results-max", str(results_max))
    rx = Receiver()
    extra = ('    Host "acme"\n    InstanceFrom "id"\n    Granularity "PT%dM"\n'
             "    SettleDelay 30\n    CallQuality true\n"
             "    InitialBackfill %d\n" % (gran_min, backfill_s))
    cd = FakeClockCollectd(
        "<LoadPlugin genesys_analytics>\n  Interval 60\n</LoadPlugin>\n"
        "<Plugin genesys_analytics>\n" + sim.org_block("acme", extra=extra) + "</Plugin>\n"
        + rx.config(), sim, speed, stock=("logfile", "write_http"))
    samples = []  # (sim ms, details requests, 429s)
    try:
        cd.start()
        t0 = sim_ms(sim)
        settled0 = (t0 - 30000) // g_ms * g_ms
        # the queues the truth has in the newest bucket settled at the start
        truth = sim._open("/sim/truth/mos?granularity=PT%dM&buckets=2" % gran_min)
        want = set()
        for iv, queues in truth["buckets"].items():
            if round(iso_ms(iv.split("/")[1])) == settled0:
                want |= set(queues)
        done_at = None
        deadline = t0 + limit_s * 1000
        while True:
            now = sim_ms(sim)
            stats = sim._open("/sim/stats")
            by = stats["requests"].get(DETAILS, {}).get("by_status", {})
            samples.append((now, sum(by.values()), stats.get("rate_limited", 0)))
            with rx.lock:
                have = {key[2] for _, t, key, _ in rx.arrivals
                        if key[3] == "mos_conversations" and round(t * 1000) == settled0}
            if done_at is None and want and want <= have:
                done_at = now
            if now >= deadline or (done_at is not None and now >= done_at + after_min * 60000):
                with rx.lock:
                    newest = max([t for _, t, key, _ in rx.arrivals
                                  if key[3] == "mos_conversations"] or [0])
                lag = ((now - 30000) // g_ms * g_ms - round(newest * 1000)) / 60000
                break
            time.sleep(2)
    finally:
        cd.cleanup()
        sim.stop()
        rx.stop()
    if done_at is None:
        return None, samples[-1][1], samples[-1][2], None, lag
    at_done = next(sm for sm in samples if sm[0] >= done_at)
    after = samples[-1]
    rate = (after[1] - at_done[1]) / max(1e-9, (after[0] - at_done[0]) / 60000)
    return (done_at - t0) / 60000, at_done[1], at_done[2], rate, lag


def main_catch_up(o):
    print("| queues | granularity | pages | minutes to catch up | details requests by then "
          "| 429s by then | details requests a minute after | lag after, minutes | speed |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
    for n in o.queues:
        for form in o.order:
            minutes, asked, limited, rate, lag = catch_up(n, o.catch_up, o.speed, o.limit,
                                                          o.granularity, form, o.results_max,
                                                          o.after)
            print("| %d | PT%dM | %s | %s | %d | %d | %s | %.1f | %g |"
                  % (n, o.granularity, form,
                     "%.1f" % minutes if minutes is not None else "not in %d s" % o.limit,
                     asked, limited, "%.0f" % rate if rate is not None else "-", lag,
                     o.speed), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queues", type=int, nargs="+", default=[10, 500, 5000])
    ap.add_argument("--buckets", type=int, default=3)
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--catch-up", type=int, default=None, metavar="S",
                    help="measure the catch-up of an InitialBackfill of S seconds "
                         "(0: the default, the newest settled bucket alone)")
    ap.add_argument("--limit", type=int, default=3600,
                    help="with --catch-up: simulated seconds to wait at most")
    ap.add_argument("--granularity", type=int, default=5, metavar="MIN",
                    help="with --catch-up: bucket length in minutes")
    ap.add_argument("--after", type=int, default=10, metavar="MIN",
                    help="with --catch-up: simulated minutes measured after catching up")
    ap.add_argument("--results-max", type=int, default=100000,
                    help="with --catch-up: the simulator's --details-results-max (smaller: "
                         "a smaller org's ranges are split as a large one's)")
    ap.add_argument("--order", nargs="+", default=["sorted"],
                    choices=("sorted", "ignored", "refused"),
                    help="with --catch-up: the simulator's --details-order-by forms")
    o = ap.parse_args()
    if o.catch_up is not None:
        return main_catch_up(o)
    print("| queues | requests per new bucket | minimum the paging allows | speed | 429 |")
    print("|---:|---:|---:|---:|---:|")
    for n in o.queues:
        per, least, limited = run(n, o.buckets, o.speed)
        print("| %d | %s | %s | %g | %d |" % (n, "/".join(map(str, per)) or "-",
                                              "/".join(map(str, least)) or "-", o.speed,
                                              limited), flush=True)


if __name__ == "__main__":
    main()
