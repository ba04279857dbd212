# SPDX-License-Identifier: MIT
"""End to end: genesys_flowmetrics with FlowExits true, in the real
collectd against the simulator. For every flow and bucket, the executions
that ended per exit reason (flow_interval_ends, type_instance the reason)
and per selfServed (flow_interval_ends_self_served, type_instance true or
false) equal
what /sim/truth/flow_exits says, both ways: a series we dispatch that the
truth lacks (a reason read as unknown, because the request left a
dimension out of its groupBy, say) fails, as does one the truth implies
and we did not dispatch. The counters equal the sum of their buckets. The
requests: one more flow aggregates request per batch of flows and range
than the flow aggregates alone. With the permission withheld the flow
exits and the flow aggregates (the same permission) say so and stop."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from buckets import (FLOW_ROW, assert_both_ways, assert_counters, bucketed,  # noqa: E402
                     run_family)
from collectd_harness import iso_ms, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_flowmetrics"
SPEED = 60
G_MS = 300000
QUERY = "POST /api/v2/analytics/flows/aggregates/query"
TYPES = ("flow_interval_ends", "flow_interval_ends_self_served")


def ours(key):
    """A flow exits value: its types and their counters."""
    return key[1] == PLUGIN and key[3] in TYPES + ("total_flow_ends",
                                                   "total_flow_ends_self_served")


def expected(truth, ends):
    """(bucket values, counter totals) of the buckets ending at ends."""
    want, totals = {}, {}
    for iv, b in truth["buckets"].items():
        end = round(iso_ms(iv.split("/")[1]))
        if end not in ends:
            continue
        for fid, e in b.items():
            for ty, total, part in (
                    ("flow_interval_ends", "total_flow_ends", "exit_reasons"),
                    ("flow_interval_ends_self_served", "total_flow_ends_self_served",
                     "self_served")):
                for ti, n in e[part].items():
                    want[(fid, ty, ti, end)] = n
                    k = (fid, total, ti)
                    totals[k] = totals.get(k, 0) + n
    return want, totals


class FlowExitsAgainstTruth(unittest.TestCase):
    def run_sim(self, sim_args, minutes, extra=""):
        sim = Simulator("--queues", "4", "--agents", "80", "--flows", "2",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "900",
                        *sim_args)
        return run_family(sim, PLUGIN, FLOW_ROW + "    FlowExits true\n" + extra,
                          minutes, ours, "/sim/truth/flow_exits?granularity=PT5M&buckets=40",
                          SPEED)

    def test_every_flow_equals_truth_both_ways(self):
        rx, truth, stats, bad, _ = self.run_sim((), 22)
        self.assertEqual(bad, [])
        got, gauges, counters, ends, _ = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), 4, "buckets dispatched: %s" % ends)
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)))
        self.assertLessEqual(min(round(iso_ms(iv.split("/")[1])) for iv in truth["buckets"]),
                             ends[0], "truth does not cover the run")
        want, totals = expected(truth, set(ends))
        print("%d buckets, %d bucket values, %d counter values compared"
              % (len(ends), len(want), len(totals)), file=sys.stderr)
        assert_both_ways(self, gauges, want)
        assert_counters(self, got, counters, totals)
        reasons = {k[2] for k in want if k[1] == "flow_interval_ends"}
        self.assertIn("TRANSFER", reasons)
        self.assertTrue([r for r in reasons if r.endswith("DISCONNECT")], reasons)
        self.assertNotIn("unknown", {k[2] for k in gauges})
        self.assertEqual({k[2] for k in want if k[1] == "flow_interval_ends_self_served"},
                         {"true", "false"})
        self.assertEqual(len({k[0] for k in want}), 2)
        # two families of the same query, each a request per range due
        # (two flows: one batch): as many requests as intervals asked
        asked = stats["aggregate_intervals"]["flows"]
        self.assertEqual(stats["requests"][QUERY]["total"], len(asked))
        print("flow aggregates requests: %d" % len(asked), file=sys.stderr)

    def test_flows_per_query_one_a_request_per_flow(self):
        """FlowsPerQuery 1: a request per flow and range; the same values."""
        rx, truth, stats, bad, _ = self.run_sim((), 12, "    FlowsPerQuery 1\n")
        self.assertEqual(bad, [])
        got, gauges, counters, ends, _ = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), 2, "buckets dispatched: %s" % ends)
        want, totals = expected(truth, set(ends))
        assert_both_ways(self, gauges, want)
        assert_counters(self, got, counters, totals)

    def test_permission_withheld_one_line(self):
        """analytics:flowAggregate:view withheld: no flow exit value, one
        line naming the family and the permission, every request refused."""
        perm = "analytics:flowAggregate:view"
        rx, _, stats, _, log = self.run_sim(("--deny-permission", perm), 8)
        with rx.lock:
            self.assertEqual([a for a in rx.arrivals if ours(a[2])], [])
        lines = [ln for ln in log.splitlines()
                 if perm in ln and f"{PLUGIN} plugin:" in ln and "flow exits" in ln]
        self.assertEqual(len(lines), 1, log[-3000:])
        req = stats["requests"].get(QUERY, {})
        self.assertEqual(set(req.get("by_status", {})), {"403"}, req)


if __name__ == "__main__":
    run_tests(__name__)
