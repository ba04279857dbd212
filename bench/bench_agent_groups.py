#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Agent states by division and team of genesys_realtime
(AgentStatesByDivision, AgentStatesByTeam): requests a sweep and a minute,
at a scale.

For each scale, starts gensim (tests/sim) with Q queues, 5×Q agents and one
work team per --team-size agents, runs the real collectd with
genesys_realtime (both families on, AgentStatesEvery and
AgentStatesRequests as given) from the build until the plugin has
subscribed and --warm seconds more, then counts for --window seconds the
agent status counts requests the simulator answered; and, from the start,
the listing requests (divisions, teams, team members). A measurement, not
a test: it reports numbers and asserts nothing.

  python3 bench/bench_agent_groups.py --queues 500 5000

"sweep" is what one sweep of every group costs: one request a division and
one a team per 100 of its members (the simulator's truth of the groups;
teams by their members: the simulator is started with --agent-predicates
older, so the plugin takes its fallback, the member path, which costs the
most; --predicates measures the teamId path, one request a team and no
member listing);
"expected" is min(budget, sweep × 60 / Every) a minute; "per_minute" and
"listing_per_minute" the counts and the listings (divisions, teams,
members: the same budget) in the window, "listing" those since the start.
The queues do not enter: a group has no topic, and its request does not
name a queue.
"""
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from realtime_bench import main, start_collectd  # noqa: E402
from realtime_truth import requests as total  # noqa: E402
from sim_harness import Simulator  # noqa: E402

COUNTS = "POST /api/v2/analytics/agents/status/counts"
LISTS = ("GET /api/v2/authorization/divisions", "GET /api/v2/teams",
         "GET /api/v2/teams/{teamId}/members")


def run_one(build, queues, args):
    agents = 5 * queues
    teams = max(1, agents // args.team_size)
    sim = Simulator("--queues", str(queues), "--agents", str(agents), "--flows", "2",
                    "--teams", str(teams), "--warmup", "300", "--speed", "1",
                    "--agent-predicates", "current" if args.predicates else "older",
                    tls=False)
    cd = None
    try:
        cd = start_collectd(build, sim, "    AgentStatesByDivision true\n"
                            "    AgentStatesByTeam true\n"
                            f"    AgentStatesEvery {args.every}\n"
                            f"    AgentStatesRequests {args.budget}\n",
                            queues, args.timeout, args.warm)
        truth = sim._open("/sim/truth/agentgroups")
        sweep = len(truth["divisions"]) + sum(
            1 if args.predicates else max(0, -(-t["agents"] // 100))
            for t in truth["teams"].values())
        stats = sim.stats()
        r0, s0 = total(stats, COUNTS), time.monotonic()
        l0 = sum(total(stats, r) for r in LISTS)
        time.sleep(args.window)
        stats = sim.stats()
        r1, s1 = total(stats, COUNTS), time.monotonic()
        l1 = sum(total(stats, r) for r in LISTS)
        minutes = (s1 - s0) / 60
        return {"divisions": len(truth["divisions"]), "teams": len(truth["teams"]),
                "sweep": sweep, "per_minute": (r1 - r0) / minutes,
                "listing_per_minute": (l1 - l0) / minutes,
                "expected": min(args.budget, sweep * 60 / args.every),
                "listing": l1,
                "refused_429": stats.get("rate_limited", 0)}
    finally:
        if cd is not None:
            cd.cleanup()
        sim.stop()


def add_args(ap):
    ap.add_argument("--team-size", type=int, default=25)
    ap.add_argument("--predicates", action="store_true",
                    help="teams by their teamId predicate (the simulator's default form)")


if __name__ == "__main__":
    main(__doc__, ["divisions", "teams", "sweep", "per_minute", "listing_per_minute",
                   "expected", "listing", "refused_429"], run_one, add_args, every=60, warm=10.0)
