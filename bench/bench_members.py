#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Start-up requests of genesys_realtime with AgentActivity, per endpoint.

For each build and each scale, starts gensim (tests/sim) with Q queues and
10×Q agents, runs the real collectd with genesys_realtime (AgentActivity
true) from that build until the plugin has subscribed and its request count
has been still for --settle seconds, then reads /sim/stats: the requests per
endpoint, the 429s, and how long start-up took. A measurement, not a test:
it reports numbers and asserts nothing.

  python3 bench/bench_members.py --build new=build --build main=/work/main/build \\
      --queues 10 500 5000

The minimum is what the API allows for the member set: one routing activity
query per 100 queues (ceil(Q/100)); the per-queue member listing needs at
least one request per queue (sum over queues of ceil(members/100)).
"""
import argparse
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import collectd_harness  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_realtime"
MEMBERS = "GET /api/v2/routing/queues/{queueId}/members"
ACTIVITY = "POST /api/v2/analytics/routing/activity/query"
SHOWN = [("token", "POST /oauth/token"), ("queue_list", "GET /api/v2/routing/queues"),
         ("members", MEMBERS), ("activity", ACTIVITY), ("users", "GET /api/v2/users"),
         ("q_obs", "POST /api/v2/analytics/queues/observations/query")]


def run_one(build, queues, args):
    sim_args = ["--queues", str(queues), "--agents", str(10 * queues), "--flows", "2",
                "--warmup", "60", "--rate-limit", str(args.rate_limit)]
    if args.org_route_limit:
        sim_args += ["--org-route-limit", str(args.org_route_limit)]
    sim = Simulator(*sim_args, tls=False)
    collectd_harness.BUILD = build
    block = sim.org_block("acme", extra='    Host "acme"\n    AgentActivity true\n')
    cd = collectd_harness.Collectd(f"<LoadPlugin {PLUGIN}>\n  Interval 5\n</LoadPlugin>\n"
                                   f"<Plugin {PLUGIN}>\n{block}</Plugin>\n")
    try:
        t0 = time.monotonic()
        cd.start()
        last, still_since, subscribed_at = -1, None, None
        while time.monotonic() - t0 < args.timeout:
            st = sim.stats()
            now = time.monotonic()
            if subscribed_at is None and st.get("topics_subscribed", 0) > 0:
                subscribed_at = now - t0
            if st["requests_total"] != last:
                last, still_since = st["requests_total"], now
            elif subscribed_at is not None and now - still_since >= args.settle:
                break
            time.sleep(0.5)
        st = sim.stats()
        req = st["requests"]
        row = {name: req.get(key, {}).get("total", 0) for name, key in SHOWN}
        row["total"] = st["requests_total"]
        row["429"] = st["by_status"].get("429", 0)
        row["subscribed_s"] = subscribed_at
        row["settled_s"] = (still_since - t0) if still_since else None
        return row
    finally:
        cd.cleanup()
        sim.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", action="append", default=[],
                    help="label=build directory (default new=build)")
    ap.add_argument("--queues", type=int, nargs="+", default=[10, 500, 5000])
    ap.add_argument("--rate-limit", type=int, default=1000000,
                    help="gensim per-token limit (high: count requests, not waits)")
    ap.add_argument("--org-route-limit", type=int, default=0)
    ap.add_argument("--settle", type=float, default=6.0)
    ap.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args()
    builds = [b.split("=", 1) for b in (args.build or ["new=build"])]
    cols = [n for n, _ in SHOWN] + ["total", "429", "subscribed_s", "settled_s", "minimum"]
    print("| build | queues | " + " | ".join(cols) + " |")
    print("|---|---:|" + "---:|" * len(cols))
    for q in args.queues:
        for label, path in builds:
            row = run_one(os.path.abspath(os.path.join(ROOT, path)), q, args)
            row["minimum"] = -(-q // 100)
            cells = []
            for c in cols:
                v = row.get(c)
                cells.append("-" if v is None else ("%.1f" % v if isinstance(v, float) else
                                                    str(v)))
            print("| %s | %d | %s |" % (label, q, " | ".join(cells)), flush=True)


if __name__ == "__main__":
    main()
