# SPDX-License-Identifier: MIT
"""End to end: genesys_platform with OperationalEvents true, in the real
collectd against the simulator, across a SIGKILL and a restart. For every
event definition of the simulator and every bucket, the operational_events
dispatched equals what /sim/truth/events says of that bucket (0 included:
a definition without events in a bucket has a 0 there), and each value
the truth implies is dispatched: compared both ways, so a series
dispatched that the truth lacks fails as much as a missing or wrong one.
The counters equal the sum of their buckets (nothing lost or doubled by the
kill). Each request asks for one bucket (the query takes an interval and
nothing else: the simulator refuses more). A second run, without a kill,
takes the forms the public record leaves open (a definition without events
listed with 0, the definitions listing paged) and a selection
(EventDefinitionName): the same values, each bucket asked for once, the
listing only when a bucket was due. A third run withholds usage:events:view:
said once, no operational event value, the edges still dispatched."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from collectd_harness import FakeClockCollectd, run_tests, sim_ms, wait_sim  # noqa: E402
from buckets import across_kill, assert_both_ways, assert_counters, bucketed, quiet  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_platform"
SPEED = 60
G_MS = 300000
TYPES = ("operational_events", "total_operational_events")
AGG = "POST /api/v2/usage/events/aggregates/query"
DEFS = "GET /api/v2/usage/events/definitions"


def ours(key):
    """An operational events value (not an edge's, not a self-metric)."""
    return key[1] == PLUGIN and key[2] != "self" and key[3] in TYPES


def platform_collectd(sim, rx, extra, edges=False):
    block = sim.org_block(
        "acme",
        extra='    Host "acme"\n    InstanceFrom "id"\n'
        "    OperationalEvents true\n"
        '    OperationalEventsGranularity "PT5M"\n'
        "    OperationalEventsSettleDelay 30\n"
        "    OperationalEventsBackfillHorizon 7200\n"
        "    OperationalEventsInitialBackfill 1800\n"
        f"    Edges {'true' if edges else 'false'}\n    Trunks false\n"
        "    StatusPage false\n" + extra)
    return FakeClockCollectd(
        f"<LoadPlugin {PLUGIN}>\n  Interval 30\n</LoadPlugin>\n"
        f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + rx.config(),
        sim, SPEED, stock=("logfile", "csv", "write_http"),
        write_threads=1)  # every bucket compared: in order


def new_sim(*args):
    return Simulator("--queues", "2", "--agents", "10", "--flows", "1",
                     "--speed", str(SPEED), "--start", "now", "--warmup", "900",
                     "--event-definitions", "5", *args)


class OperationalEvents(unittest.TestCase):
    def compare(self, rx, truth, selected=None, min_buckets=6):
        got, gauges, counters, ends, truth_ends = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), min_buckets, "buckets dispatched: %s" % ends)
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)))
        defs = set(truth["definitions"]) if selected is None else set(selected)
        want, totals = {}, {}
        for end in ends:
            self.assertIn(end, truth_ends, "truth does not cover the run")
            for did, tr in truth_ends[end].items():
                if did in defs:
                    want[(did, "operational_events", "", end)] = tr["events"]
                    k = (did, "total_operational_events", "")
                    totals[k] = totals.get(k, 0) + tr["events"]
        # buckets with events and buckets without (the zeros are compared)
        self.assertGreater(sum(want.values()), 0)
        self.assertIn(0, want.values())
        print("%d buckets, %d definitions, %d bucket values, %d events"
              % (len(ends), len(defs), len(want), sum(want.values())), file=sys.stderr)
        assert_both_ways(self, gauges, want)
        assert_counters(self, got, counters, totals)
        return ends

    @staticmethod
    def asked(stats):
        return [tuple(x) for x in stats["aggregate_intervals"].get("usage_events", [])]

    def test_every_definition_equals_truth_both_ways_across_sigkill(self):
        sim = new_sim()
        rx = Receiver()
        cd = platform_collectd(sim, rx, "")
        try:
            killed, restarted = across_kill(sim, cd, rx, ours, G_MS, 12 * 60000,
                                            8 * 60000, 30 * 60000)
            truth = sim._open("/sim/truth/events?granularity=PT5M&buckets=40")
            stats = sim._open("/sim/stats")
            self.assertEqual(cd.bad_log_lines(), [])
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()
        ends = self.compare(rx, truth)
        # the initial backfill (1800 s: six buckets before the first read)
        # and what closed while collectd was down
        self.assertTrue([e for e in ends if killed < e <= restarted], (ends, killed, restarted))
        asked = self.asked(stats)
        self.assertTrue(asked)
        self.assertEqual({e - s for s, e in asked}, {G_MS}, "one bucket a request")
        # the definitions route takes no paging parameters
        self.assertGreater(stats["requests"][DEFS]["total"], 0)
        self.assertEqual(stats.get("definitions_paging_params", 0), 0)

    def test_open_forms_and_selection(self):
        sim = new_sim("--usage-events-zeros", "zeros", "--definitions-listing", "paged")
        rx = Receiver()
        # a noisy definition and a rare one (buckets without events)
        cd = platform_collectd(sim, rx, '    EventDefinitionName "Data*"\n'
                               '    EventDefinitionName "Edge Connection Lost"\n')
        try:
            cd.start()
            t0 = sim_ms(sim)
            wait_sim(sim, t0 + 17 * 60000)
            sim.fault({"fault": "pause"})
            quiet(rx, ours)
            truth = sim._open("/sim/truth/events?granularity=PT5M&buckets=40")
            stats = sim._open("/sim/stats")
            self.assertEqual(cd.bad_log_lines(), [])
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()
        sel = [d for d, v in truth["definitions"].items()
               if v["name"].startswith("Data") or v["name"] == "Edge Connection Lost"]
        self.assertEqual(len(sel), 2)
        self.compare(rx, truth, selected=sel, min_buckets=8)
        asked = self.asked(stats)
        self.assertEqual(len(asked), len(set(asked)), "a bucket asked for twice")
        self.assertEqual({e - s for s, e in asked}, {G_MS})
        # the listing only in reads where a bucket was due
        listings = stats["requests"][DEFS]["total"]
        self.assertGreaterEqual(listings, 1)
        self.assertLessEqual(listings, stats["requests"][AGG]["total"])

    def test_permission_refused(self):
        sim = new_sim("--deny-permission", "usage:events:view")
        rx = Receiver()
        cd = platform_collectd(sim, rx, "", edges=True)
        try:
            cd.start()
            t0 = sim_ms(sim)
            wait_sim(sim, t0 + 12 * 60000)
            quiet(rx, lambda k: k[1] == PLUGIN)
            log = cd.log_text()
            stats = sim._open("/sim/stats")
            self.assertEqual(cd.bad_log_lines(), [])
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()
        with rx.lock:
            keys = [k for _, _, k, _ in rx.arrivals]
        self.assertEqual([k for k in keys if ours(k)], [])
        self.assertTrue([k for k in keys if k[1] == PLUGIN and k[3] == "edge_online"])
        self.assertGreater(stats["permission_refusals"], 0)
        # said once, naming the family and the permission; nothing more
        warnings = re.findall(r"\[warning\] genesys_platform plugin: Org \"acme\": "
                              r"operational events: needs the OAuth permission "
                              r"usage:events:view .*still running: the other platform "
                              r"values", log)
        self.assertEqual(len(warnings), 1, log[-3000:])
        self.assertNotIn("cannot list the event definitions", log)


if __name__ == "__main__":
    run_tests(__name__)
