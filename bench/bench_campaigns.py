#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Outbound campaigns of genesys_realtime (Campaigns): requests a sweep and
a minute, at a scale.

For each scale, starts gensim (tests/sim) with Q queues, 5×Q agents and
Q / --queues-per-campaign campaigns (default 25: 20 campaigns at 500
queues, 200 at 5,000; an assumption, the record says nothing of how many
campaigns an org of that size runs), every one set ON (all dialling: the
dearest case), runs the real collectd with genesys_realtime (Campaigns on,
CampaignsEvery, CampaignsRequests and CampaignsMax as given, the other
keys at their defaults) from the build until the plugin has subscribed and --warm
seconds more, then counts for --window seconds the requests the simulator
answered on the campaign routes. A measurement, not a test: it reports
numbers and asserts nothing.

  python3 bench/bench_campaigns.py --queues 500 5000

"sweep" is what one sweep costs: ceil(L / 100) listing pages +
ceil(C / 100) bulk progress requests (C = "chosen", at most CampaignsMax)
+ one stats request a dialling campaign chosen; "expected" is min(budget, sweep × 60 / Every) a minute;
"per_minute" what the window saw, "stats"/"listing"/"progress" its parts.
The queues do not enter: a campaign has no queue in any request.
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

LIST = "GET /api/v2/outbound/campaigns"
PROGRESS = "POST /api/v2/outbound/campaigns/progress"
STATS = "GET /api/v2/outbound/campaigns/{campaignId}/stats"


def run_one(build, queues, args):
    campaigns = max(1, queues // args.queues_per_campaign)
    sim = Simulator("--queues", str(queues), "--agents", str(5 * queues), "--flows", "2",
                    "--campaigns", str(campaigns), "--warmup", "300", "--speed", "1",
                    tls=False)
    cd = None
    try:
        for cid in sim._open("/sim/truth/campaigns")["campaigns"]:
            sim._open("/sim/campaigns", {"id": cid, "campaignStatus": "ON"})
        cd = start_collectd(build, sim, "    Campaigns true\n"
                            f"    CampaignsEvery {args.every}\n"
                            f"    CampaignsRequests {args.budget}\n"
                            f"    CampaignsMax {args.max}\n",
                            queues, args.timeout, args.warm)
        chosen = min(campaigns, args.max)
        sweep = -(-campaigns // 100) + -(-chosen // 100) + chosen
        stats = sim.stats()
        r0 = {r: total(stats, r) for r in (LIST, PROGRESS, STATS)}
        s0 = time.monotonic()
        time.sleep(args.window)
        stats = sim.stats()
        minutes = (time.monotonic() - s0) / 60
        got = {r: (total(stats, r) - r0[r]) / minutes for r in r0}
        return {"campaigns": campaigns, "chosen": chosen, "sweep": sweep,
                "per_minute": sum(got.values()), "listing": got[LIST],
                "progress": got[PROGRESS], "stats": got[STATS],
                "expected": min(args.budget, sweep * 60 / args.every),
                "refused_429": stats.get("rate_limited", 0)}
    finally:
        if cd is not None:
            cd.cleanup()
        sim.stop()


def add_args(ap):
    ap.add_argument("--queues-per-campaign", type=int, default=25)
    ap.add_argument("--max", type=int, default=100, help="CampaignsMax (default 100)")


if __name__ == "__main__":
    main(__doc__, ["campaigns", "chosen", "sweep", "per_minute", "listing", "progress", "stats",
                   "expected", "refused_429"], run_one, add_args, every=30, warm=10.0)
