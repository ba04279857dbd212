#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real-time adherence of genesys_realtime (Adherence): requests at the
start and a minute, at a scale.

For each scale, starts gensim (tests/sim) with Q queues, 10×Q agents and
one management unit per --unit-size agents (50), runs the real collectd
with genesys_realtime (Adherence on, AdherenceEvery and AdherenceRequests
as given) from the build until the plugin has subscribed to every queue
and --warm seconds more, then counts for --window seconds the requests of
the units' adherence route and of their listing the simulator answered,
and those since the start. A measurement, not a test: it reports numbers
and asserts nothing.

  python3 bench/bench_adherence.py --queues 500 5000

"units" is the simulator's; "start" the unit reads and listings from the
start to the window's end; "per_minute" the unit reads in the window;
"first_read_min" the minutes the first read of every unit takes at the
budget (units / budget); "steady" min(budget, units × 60 / Every) a minute
once every unit was read. The queues do not enter but through the agents:
a unit's request and topic name the unit.
"""
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from realtime_bench import main, start_collectd  # noqa: E402
from sim_harness import Simulator  # noqa: E402

UNIT = "GET /api/v2/workforcemanagement/managementunits/{managementUnitId}/adherence"
LIST = "GET /api/v2/workforcemanagement/managementunits"


def total(stats, route):
    return stats["requests"].get(route, {}).get("total", 0)


def run_one(build, queues, args):
    agents = 10 * queues
    units = max(1, agents // args.unit_size)
    sim = Simulator("--queues", str(queues), "--agents", str(agents), "--flows", "2",
                    "--mgmt-units", str(units), "--warmup", "60", "--speed", "1", tls=False)
    cd = None
    try:
        cd = start_collectd(build, sim, "    Adherence true\n"
                            f"    AdherenceEvery {args.every}\n"
                            f"    AdherenceRequests {args.budget}\n",
                            queues, args.timeout, args.warm)
        stats = sim.stats()
        r0, s0 = total(stats, UNIT), time.monotonic()
        time.sleep(args.window)
        stats = sim.stats()
        r1, s1 = total(stats, UNIT), time.monotonic()
        return {"units": units, "start": r1 + total(stats, LIST),
                "per_minute": (r1 - r0) / ((s1 - s0) / 60),
                "first_read_min": units / args.budget,
                "steady": min(args.budget, units * 60 / args.every),
                "refused_429": stats.get("rate_limited", 0)}
    finally:
        if cd is not None:
            cd.cleanup()
        sim.stop()


def add_args(ap):
    ap.add_argument("--unit-size", type=int, default=50)


if __name__ == "__main__":
    main(__doc__, ["units", "start", "per_minute", "first_read_min", "steady",
                   "refused_429"], run_one, add_args, every=600, warm=10.0)
