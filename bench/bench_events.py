#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Requests per cycle of genesys_platform's OperationalEvents against the
simulator (issue 35, item 1). A measurement: it prints a table and asserts
nothing.

Per --queues N: the simulator with N queues (the family asks for no queue:
N should change nothing) and --definitions event definitions, the real
collectd with genesys_platform (Interval 5, only OperationalEvents:
PT1M buckets, settle 5 s, InitialBackfill 600) until --buckets new buckets
after the backfill were asked for. From the simulator's own counts
(/sim/stats): the aggregates queries and the definitions listings, the
intervals asked (each one bucket: the query takes an interval and nothing
else), and per new bucket the requests. The minimum: one query a bucket
(no granularity in the request), and the listing that names the
definitions.

  python3 bench/bench_events.py --queues 500 5000
"""
import argparse
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from collectd_harness import Collectd  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_platform"
AGG = "POST /api/v2/usage/events/aggregates/query"
DEFS = "GET /api/v2/usage/events/definitions"
G_MS = 60000


def run(queues, definitions, buckets):
    sim = Simulator("--queues", str(queues), "--agents", str(queues), "--flows", "1",
                    "--event-definitions", str(definitions), "--start", "now",
                    "--rate-limit", "100000", tls=False)
    block = sim.org_block(
        "acme", extra='    Host "acme"\n    InstanceFrom "id"\n    Edges false\n'
        "    Trunks false\n    StatusPage false\n    OperationalEvents true\n"
        '    OperationalEventsGranularity "PT1M"\n    OperationalEventsSettleDelay 5\n'
        "    OperationalEventsInitialBackfill 600\n")
    cd = Collectd("")
    cd.write_conf(f"<LoadPlugin {PLUGIN}>\n  Interval 5\n</LoadPlugin>\n"
                  f"<Plugin {PLUGIN}>\n{block}</Plugin>\n", interval=5)
    try:
        cd.start()
        deadline = time.monotonic() + (buckets + 2) * 60 + 60
        while time.monotonic() < deadline:
            asked = sim.stats()["aggregate_intervals"].get("usage_events", [])
            if len(asked) >= 10 + buckets:
                break
            time.sleep(1)
        cd.stop()
        stats = sim.stats()
        errors = cd.bad_log_lines()
    finally:
        cd.cleanup()
        sim.stop()
    return stats, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queues", type=int, nargs="+", default=[500, 5000])
    ap.add_argument("--definitions", type=int, default=20)
    ap.add_argument("--buckets", type=int, default=2)
    o = ap.parse_args()
    print("| queues | definitions | buckets asked (backfill + new) | one bucket each | "
          "queries | listings | requests per new bucket | other than 200 | errors logged |")
    print("|---:|---:|---:|---|---:|---:|---:|---|---:|")
    for n in o.queues:
        stats, errors = run(n, o.definitions, o.buckets)
        asked = stats["aggregate_intervals"].get("usage_events", [])
        req = stats["requests"]
        queries = req.get(AGG, {}).get("total", 0)
        listings = req.get(DEFS, {}).get("total", 0)
        # the first read: the backfill's buckets and one listing; each
        # later bucket: its query and its listing
        new = len(asked) - 10
        per = (queries + listings - 10 - 1) / new if new > 0 else float("nan")
        non_200 = {k: v for k, v in stats["by_status"].items() if k != "200"}
        print("| %d | %d | %d (10 + %d) | %s | %d | %d | %.2f | %s | %d |" % (
            n, o.definitions, len(asked), new,
            "yes" if all(e - s == G_MS for s, e in asked) else "no",
            queries, listings, per, non_200 or "none", len(errors)), flush=True)


if __name__ == "__main__":
    main()
