# SPDX-License-Identifier: MIT
"""End to end: genesys_analytics with CampaignAggregates true, in the real
collectd against the simulator. The outbound campaigns are listed, the
conversation aggregates asked grouped and filtered by outboundCampaignId
per bucket, and for every campaign and bucket each series dispatched
(outbound_attempted, _connected, _abandoned, type_instance "campaign")
equals what /sim/truth/campaign_aggregates says of it, and each series the
truth implies is dispatched: compared both ways. The zero and absent rules
are the queue aggregates': a count left out of a campaign's group with
attempts is 0 (a slow dialler's buckets of under 35 attempts: none
abandoned), a bucket or a campaign without attempts (one OFF, one
COMPLETE) has no series. The counters equal the sums of their buckets.
104 campaigns: two requests a bucket range (100 campaigns a request). A
replay (collectd-genesys-check --replay) of two settled buckets gives the
same values, with no code of the family's own in the replay."""
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from collectd_harness import (BUILD, FAKETIME_LIB, run_tests, sim_ms,  # noqa: E402
                              wait_sim)
from buckets import (assert_both_ways, assert_counters, bucketed,  # noqa: E402
                     interval_collectd, quiet)
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_analytics"
SPEED = 60
G_MS = 300000
SUFFIX = "campaign"
# two batches of outboundCampaignId predicates (100 a request): 52 ON, 26
# OFF, 26 COMPLETE
CAMPAIGNS = 104
COUNTS = (("outbound_attempted", "attempted"), ("outbound_connected", "connected"),
          ("outbound_abandoned", "abandoned"))


CHECK = os.path.join(BUILD, "collectd-genesys-check")
PUTVAL = re.compile(r'PUTVAL "acme/genesys_analytics-([^/"]+)/([a-z_]+)-campaign" '
                    r'interval=300.000 ([0-9.]+):(\S+)$')


def ours(key):
    """A campaign aggregates value (not a queue's, not a self-metric)."""
    return key[1] == PLUGIN and key[2] != "self" and key[4] == SUFFIX


def expected(truth, ends):
    """{(campaign, type, "campaign", end): value} of the buckets ending at
    ends, and {(campaign, total type, "campaign"): sum}."""
    want, totals = {}, {}
    by_end = {round(_ms(iv.split("/")[1])): b for iv, b in truth["buckets"].items()}
    for end in ends:
        for cid, tr in by_end.get(end, {}).items():
            for ty, f in COUNTS:
                want[(cid, ty, SUFFIX, end)] = tr[f]
                k = (cid, "total_" + ty, SUFFIX)
                totals[k] = totals.get(k, 0) + tr[f]
    return want, totals


def _ms(iso):
    from collectd_harness import iso_ms
    return iso_ms(iso)


class CampaignAggregates(unittest.TestCase):
    def test_every_campaign_bucket_equals_truth_both_ways(self):
        t_start = time.monotonic()
        sim = Simulator("--queues", "2", "--agents", "6", "--flows", "1",
                        "--campaigns", str(CAMPAIGNS), "--speed", str(SPEED), "--start", "now",
                        "--warmup", "900")
        rx = Receiver()
        try:
            listing = sim._open("/sim/truth/campaigns")["campaigns"]
            on = sorted(c for c, v in listing.items() if v["campaignStatus"] == "ON")
            idle = sorted(c for c, v in listing.items() if v["campaignStatus"] != "ON")
            self.assertEqual((len(on), len(idle)), (CAMPAIGNS // 2, CAMPAIGNS // 2))
            # a slow dialler: 15 attempts a bucket, so that some of its
            # buckets have none abandoned (a count left out: 0)
            sim._open("/sim/campaigns", {"id": on[0], "rate": 0.05})
            cd = interval_collectd(sim, rx, PLUGIN, SPEED,
                                   "    CampaignAggregates true\n")
            try:
                cd.start()
                t0 = sim_ms(sim)
                wait_sim(sim, t0 + 22 * 60000)
                sim.fault({"fault": "pause"})
                quiet(rx, ours)
                truth = sim._open("/sim/truth/campaign_aggregates?granularity=PT5M&buckets=30")
                stats = sim._open("/sim/stats")
                self.assertEqual(cd.bad_log_lines(), [])
                replayed, window = self.replay(cd.conf, truth)
            finally:
                cd.cleanup()
        finally:
            sim.stop()
            rx.stop()
        with rx.lock:
            arrived = sum(1 for a in rx.arrivals if ours(a[2]))
        self.assertGreater(arrived, 0, "no campaign value dispatched")
        got, gauges, counters, ends, _ = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), 3, "buckets dispatched: %s" % ends)
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)))
        want, totals = expected(truth, ends)
        # the idle campaigns have no attempts, so no series; the ON ones
        # have every bucket
        self.assertEqual({k[0] for k in want}, set(on))
        zero = [k for k, v in want.items() if v == 0]
        self.assertTrue(zero, "no bucket with a count left out (0): the zero rule not exercised")
        print("%d buckets, %d campaigns with values (%d idle), %d bucket values, "
              "%d of them 0, %d counter values compared; %d campaign requests; %.1f s"
              % (len(ends), len(on), len(idle), len(want), len(zero), len(counters),
                 len(stats["aggregate_intervals"].get("campaigns", [])),
                 time.monotonic() - t_start), file=sys.stderr)
        assert_both_ways(self, gauges, want)
        assert_counters(self, got, counters, totals)
        # two requests a bucket range: the campaigns in two batches
        asked = {}
        for iv in stats["aggregate_intervals"]["campaigns"]:
            asked[tuple(iv)] = asked.get(tuple(iv), 0) + 1
        self.assertEqual(set(asked.values()), {2}, asked)
        # collectd-genesys-check --replay of two settled buckets: the same
        # values, both ways (the row replayed with no code of its own)
        want_r, _ = expected(truth, [e for e in window])
        self.assertTrue(want_r, "the replayed window has no campaign value in the truth")
        self.assertEqual(replayed, want_r)
        print("replay: %d campaign values of buckets ending %s, equal to the truth"
              % (len(replayed), window), file=sys.stderr)

    def test_without_the_campaign_list_the_queues_go_on(self):
        """outbound:campaign:view refused: one warning naming it and a
        permission notification, no campaign value, no campaign aggregates request, the queue values
        dispatched."""
        sim = Simulator("--queues", "2", "--agents", "6", "--flows", "1",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "900",
                        "--deny-permission", "outbound:campaign:view")
        rx = Receiver()
        try:
            cd = interval_collectd(sim, rx, PLUGIN, SPEED, "    CampaignAggregates true\n")
            try:
                cd.start()
                t0 = sim_ms(sim)
                wait_sim(sim, t0 + 8 * 60000)
                quiet(rx, lambda k: k[1] == PLUGIN)
                log = cd.log_text()
                bad = cd.bad_log_lines()
                stats = sim._open("/sim/stats")
            finally:
                cd.cleanup()
        finally:
            sim.stop()
            rx.stop()
        with rx.lock:
            keys = [a[2] for a in rx.arrivals if a[2][1] == PLUGIN]
        self.assertEqual([k for k in keys if ours(k)], [])
        self.assertTrue([k for k in keys if k[3] == "offered"], "no queue value")
        lines = [line for line in log.splitlines() if "outbound:campaign:view" in line]
        warned = [line for line in lines if "[warning]" in line]
        self.assertEqual(len(warned), 1, lines)
        self.assertIn("campaign aggregates", warned[0])
        # and the permission notification of the family (collectd-genesys(5))
        self.assertTrue([line for line in lines if "type = permission" in line
                         and "type_instance = campaign_aggregates" in line], lines)
        self.assertEqual(bad, [])
        self.assertNotIn("campaigns", stats["aggregate_intervals"])

    def replay(self, conf, truth):
        """The two buckets before the last closed one, replayed to stdout by
        collectd-genesys-check on the simulator's (paused) clock: its
        campaign values {(campaign, type, "campaign", end ms): value}."""
        now = round(_ms(truth["sim_time"]))
        end = now // G_MS * G_MS - G_MS  # settled whatever the pause
        start = end - 2 * G_MS
        env = dict(os.environ, LD_PRELOAD=FAKETIME_LIB, TZ="UTC",
                   FAKETIME="@" + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now / 1000)),
                   FAKETIME_DONT_FAKE_MONOTONIC="1")
        r = subprocess.run([CHECK, "--replay", str(start // 1000), str(end // 1000),
                            "--stdout", conf], capture_output=True, text=True,
                           timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("campaign aggregates: replay of", r.stdout + r.stderr)
        out = {}
        for line in r.stdout.splitlines():
            mm = PUTVAL.match(line)
            if mm:
                out[(mm.group(1), mm.group(2), SUFFIX, round(float(mm.group(3)) * 1000))] = \
                    float(mm.group(4))
        return out, [start + G_MS, end]


if __name__ == "__main__":
    run_tests(__name__)
