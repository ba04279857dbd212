#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Requests per new bucket of genesys_flowmetrics' data actions
(DataActions), against the simulator (issue #15, item 3). A measurement:
it prints a table and asserts nothing.

Per --actions N: the real collectd under libfaketime at the simulator's
speed, DataActions true (flow aggregates and oFlow off), Granularity PT5M,
SettleDelay 30, for --buckets new buckets after the first; once without a
selection (every action: no filter) and once with DataActionName "*" (the
same actions, selected: actionId predicates, 100 a request). From the
simulator's record of the intervals asked (/sim/stats
aggregate_intervals.actions), the requests grouped by the newest bucket
they ask for; the first (the start) and the last (possibly still being
asked for when the count is taken) left out. The minimum the API allows:
one request per bucket without a filter (the answer is not paged, the
query has no limit on groups in the record), ceil(N / 100) with actionId
predicates (100 per query: the other analytics filters' limit, UNCONFIRMED
for actions).

  python3 bench/bench_actions.py --actions 10 500 5000
"""
import argparse
import math
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
from collectd_harness import FakeClockCollectd, sim_ms, wait_sim  # noqa: E402
from sim_harness import Simulator  # noqa: E402

SPEED = 60.0
G_MS = 300000
PATH = "POST /api/v2/analytics/actions/aggregates/query"


def per_new_bucket(asked):
    """Requests per newest bucket asked for, from the simulator's record of
    the intervals ([start, end, ...] each): the first (the start) and the
    last (possibly still being asked for) left out."""
    by_end = {}
    for a in asked:
        by_end[a[1]] = by_end.get(a[1], 0) + 1
    return [by_end[e] for e in sorted(by_end)[1:-1]]


def run(n, select, buckets, speed):
    sim = Simulator("--queues", "1", "--agents", "5", "--flows", "1", "--actions", str(n),
                    "--speed", str(speed), "--start", "now", "--warmup", "60")
    extra = ('    Host "acme"\n    InstanceFrom "id"\n    Granularity "PT5M"\n'
             "    SettleDelay 30\n    Aggregates false\n    ActiveFlows false\n"
             "    DataActions true\n" + ('    DataActionName "*"\n' if select else ""))
    cd = FakeClockCollectd(
        "<LoadPlugin genesys_flowmetrics>\n  Interval 10\n</LoadPlugin>\n"
        "<Plugin genesys_flowmetrics>\n" + sim.org_block("acme", extra=extra) + "</Plugin>\n",
        sim, speed)
    try:
        cd.start()
        t0 = sim_ms(sim)
        wait_sim(sim, (t0 // G_MS + buckets + 2) * G_MS + 45000, timeout=600)
        stats = sim._open("/sim/stats")
    finally:
        cd.cleanup()
        sim.stop()
    per = per_new_bucket(stats["aggregate_intervals"].get("actions", []))
    total = stats["requests"].get(PATH, {}).get("total", 0)
    gets = stats["requests"].get("GET /api/v2/integrations/actions", {}).get("total", 0)
    return per, total, gets, stats.get("rate_limited", 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--actions", type=int, nargs="+", default=[10, 500, 5000])
    ap.add_argument("--buckets", type=int, default=3)
    ap.add_argument("--speed", type=float, default=SPEED,
                    help="simulated seconds per real second (the API's rate limit is "
                         "per real minute: 50 requests a bucket need --speed 10 or less)")
    ap.add_argument("--selected-only", action="store_true")
    o = ap.parse_args()
    print("| actions | selection | requests per new bucket | minimum | speed | listing GETs "
          "| 429 |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in o.actions:
        for select in (True,) if o.selected_only else (False, True):
            per, total, gets, limited = run(n, select, o.buckets, o.speed)
            minimum = math.ceil(n / 100) if select else 1
            print("| %d | %s | %s | %d | %g | %d | %d |" % (
                n, 'DataActionName "*"' if select else "none (every action)",
                "/".join(map(str, per)) or "-", minimum, o.speed, gets, limited), flush=True)


if __name__ == "__main__":
    main()
