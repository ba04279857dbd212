#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Estimated wait time requests of genesys_realtime (EstimatedWaitTime), a
minute, at a scale.

For each scale, starts gensim (tests/sim) with Q queues and 5×Q agents at an
occupancy (--load), runs the real collectd with genesys_realtime
(EstimatedWaitTime true, its Every and budget as given) from the build until
the plugin has subscribed and --warm seconds more, then counts for --window
seconds the estimated wait time requests the simulator answered, the queue
and media pairs with conversations waiting (the simulator's truth at the
window's start and end), and the requests for a pair with nobody waiting at
that moment (/sim/truth/ewt). A measurement, not a test: it reports numbers
and asserts nothing.

  python3 bench/bench_ewt.py --queues 500 5000   # 5,000: --warmup 300

"steady" is min(budget, pairs waiting × 60 / Every): what the pairs waiting
at the window's edges cost a minute; pairs that begin to wait within the
window are asked too, so below the budget the count can pass it. A pair
with nobody waiting costs nothing (its requests would be the plugin not yet
knowing, a notification in flight).
"""
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from realtime_bench import main, start_collectd  # noqa: E402
from sim_harness import Simulator  # noqa: E402

ROUTE = "GET /api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime"


def waiting_pairs(sim):
    truth = sim._open("/sim/truth?buckets=0")
    return sum(1 for q in truth["queues"].values() for m in q["media"].values()
               if m["waiting"] > 0), sum(len(q["media"]) for q in truth["queues"].values())


def run_one(build, queues, args):
    sim = Simulator("--queues", str(queues), "--agents", str(5 * queues), "--flows", "2",
                    "--warmup", str(args.warmup), "--load", str(args.load), "--speed", "1",
                    tls=False)
    cd = None
    try:
        cd = start_collectd(build, sim, "    EstimatedWaitTime true\n"
                            f"    EstimatedWaitTimeEvery {args.every}\n"
                            f"    EstimatedWaitTimeRequests {args.budget}\n",
                            queues, args.timeout, args.warm)
        w0, pairs = waiting_pairs(sim)
        e0 = sim._open("/sim/truth/ewt")
        r0, s0 = sim.stats()["requests"].get(ROUTE, {}).get("total", 0), time.monotonic()
        time.sleep(args.window)
        r1, s1 = sim.stats()["requests"].get(ROUTE, {}).get("total", 0), time.monotonic()
        e1 = sim._open("/sim/truth/ewt")
        w1, _ = waiting_pairs(sim)
        minutes = (s1 - s0) / 60
        return {"pairs": pairs, "waiting": f"{w0}-{w1}",
                "per_minute": (r1 - r0) / minutes,
                "steady": min(args.budget, max(w0, w1) * 60 / args.every),
                "idle": e1["idle_requests"] - e0["idle_requests"],
                "total_requests": sim.stats()["requests_total"]}
    finally:
        if cd is not None:
            cd.cleanup()
        sim.stop()


def add_args(ap):
    ap.add_argument("--load", type=float, default=1.0, help="gensim occupancy")
    ap.add_argument("--warmup", type=int, default=1800,
                    help="gensim's warm-up, simulated s (the queues fill; 5,000 queues "
                    "start within the harness's minute at 300)")


if __name__ == "__main__":
    main(__doc__, ["pairs", "waiting", "per_minute", "steady", "idle", "total_requests"],
         run_one, add_args, every=30, warm=20.0)
