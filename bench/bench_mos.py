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
"""
import argparse
import math
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
from bench_actions import G_MS, per_new_bucket  # noqa: E402
from collectd_harness import FakeClockCollectd, sim_ms, wait_sim  # noqa: E402
from sim_harness import Simulator  # noqa: E402


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queues", type=int, nargs="+", default=[10, 500, 5000])
    ap.add_argument("--buckets", type=int, default=3)
    ap.add_argument("--speed", type=float, default=20.0)
    o = ap.parse_args()
    print("| queues | requests per new bucket | minimum the paging allows | speed | 429 |")
    print("|---:|---:|---:|---:|---:|")
    for n in o.queues:
        per, least, limited = run(n, o.buckets, o.speed)
        print("| %d | %s | %s | %g | %d |" % (n, "/".join(map(str, per)) or "-",
                                              "/".join(map(str, least)) or "-", o.speed,
                                              limited), flush=True)


if __name__ == "__main__":
    main()
