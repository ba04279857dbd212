#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Requests per poll of genesys_platform against the simulator (issue #15,
item 4). A measurement: it prints a table and asserts nothing.

Per --entities N: the simulator with N edges and N trunks, the real collectd
with genesys_platform (Interval 5, its status page the simulator's), for
--polls polls. From the simulator's own request counts (/sim/stats), the
requests of each kind per poll, a poll being one status page fetch (one a
poll, shard 1). The minimum the API's batching allows, per poll: the edges
listing (100 a page) and the edge metrics (100 ids a request: the SDK
documentation's limit), the same for the trunks (the trunk limit
UNCONFIRMED, taken as the edges'), and one status page:
4 * ceil(N / 100) + 1. The edge and trunk state comes only with the
listings, so they are part of every poll.

  python3 bench/bench_platform.py --entities 10 500 5000

With --api-usage (ApiUsage true, ApiUsageRefresh --refresh seconds) and
--queues Q1 Q2 …: the same with the org's API usage per OAuth client, once
per queue count, its usage queries and their results per poll too. The
family asks once per refresh (the query, then its results until complete:
the simulator answers "Running" once first), whatever the org's size.
"""
import argparse
import math
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from collectd_harness import Collectd  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_platform"
ROUTES = (("edges listing", "GET /api/v2/telephony/providers/edges"),
          ("edge metrics", "GET /api/v2/telephony/providers/edges/metrics"),
          ("trunks listing", "GET /api/v2/telephony/providers/edges/trunks"),
          ("trunk metrics", "GET /api/v2/telephony/providers/edges/trunks/metrics"),
          ("status page", "GET /sim/status/api/v2/components.json"))


USAGE = (("usage queries", "POST /api/v2/usage/query"),
         ("usage results", "GET /api/v2/usage/query/{executionId}/results"))


def run(n, polls, interval, queues=1, refresh=None):
    # the simulator's rate limit is per real minute: room for every request
    sim = Simulator("--queues", str(queues), "--agents", str(2 * queues), "--edges", str(n),
                    "--trunks", str(n), "--start", "now", "--rate-limit", "100000", tls=False)
    usage = f"    ApiUsage true\n    ApiUsageRefresh {refresh}\n" if refresh else ""
    block = sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                          f'    StatusPageURL "{sim.base_url}/sim/status/api/v2/components.json"\n'
                          + usage)
    cd = Collectd("")
    cd.write_conf(f"<LoadPlugin {PLUGIN}>\n  Interval {interval}\n</LoadPlugin>\n"
                  f"<Plugin {PLUGIN}>\n{block}</Plugin>\n", interval=interval)
    try:
        cd.start()
        deadline = time.monotonic() + polls * interval * 3 + 60
        done = 0
        while time.monotonic() < deadline:
            req = sim.stats()["requests"]
            done = req.get(ROUTES[-1][1], {}).get("total", 0)
            if done >= polls:
                break
            time.sleep(0.5)
        cd.stop()
        stats = sim.stats()
        errors = cd.bad_log_lines()
    finally:
        cd.cleanup()
        sim.stop()
    req = stats["requests"]
    got = {name: req.get(route, {}).get("total", 0)
           for name, route in ROUTES + (USAGE if refresh else ())}
    non_200 = {k: v for k, v in stats["by_status"].items() if k != "200"}
    return got, non_200, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, nargs="+", default=[10, 500, 5000])
    ap.add_argument("--polls", type=int, default=5)
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--api-usage", action="store_true")
    ap.add_argument("--queues", type=int, nargs="+", default=[1])
    ap.add_argument("--refresh", type=float, default=15)
    o = ap.parse_args()
    if o.api_usage:
        print("| queues | edges and trunks | polls | usage queries | usage results "
              "| all requests | usage requests per poll | other than 200 | errors logged |")
        print("|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for q in o.queues:
            for n in o.entities:
                got, non_200, errors = run(n, o.polls, o.interval, q, o.refresh)
                polls = got["status page"]
                usage = got["usage queries"] + got["usage results"]
                print("| %d | %d | %d | %d | %d | %d | %.2f | %s | %d |" % (
                    q, n, polls, got["usage queries"], got["usage results"],
                    sum(got.values()), usage / polls if polls else float("nan"),
                    non_200 or "none", len(errors)), flush=True)
        return
    print("| edges and trunks | polls | " + " | ".join(n for n, _ in ROUTES)
          + " | requests per poll | minimum | other than 200 | errors logged |")
    print("|---:|---:|" + "---:|" * len(ROUTES) + "---:|---:|---|---:|")
    for n in o.entities:
        got, non_200, errors = run(n, o.polls, o.interval)
        polls = got["status page"]
        per = sum(got.values()) / polls if polls else float("nan")
        minimum = 4 * math.ceil(n / 100) + 1
        print("| %d | %d | %s | %.2f | %d | %s | %d |" % (
            n, polls, " | ".join("%.2f" % (got[k] / polls) if polls else "-"
                                 for k, _ in ROUTES),
            per, minimum, non_200 or "none", len(errors)), flush=True)


if __name__ == "__main__":
    main()
