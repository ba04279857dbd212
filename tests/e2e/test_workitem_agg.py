# SPDX-License-Identifier: MIT
"""End to end: genesys_analytics with WorkitemAggregates true, in the real
collectd against the simulator. For every queue and bucket, the workitems
created, offered, over SLA, expired in ACD and timed out, the handled
time's count, average, max and min and the service level with its
numerator and denominator equal what /sim/truth/workitem_aggregates says,
both ways (a queue without workitems has no series); the counters equal
the sum of their buckets. With the permission withheld the family says so
in one line and stops; the queue aggregates go on."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from buckets import (assert_both_ways, assert_counters, assert_refused_alone,  # noqa: E402
                     bucketed, run_family)
from collectd_harness import iso_ms, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_analytics"
SPEED = 60
G_MS = 300000
QUERY = "POST /api/v2/analytics/taskmanagement/aggregates/query"
PERMISSION = "analytics:taskManagementAggregate:view"
COUNTS = (("created", "nWorkitemsCreated"), ("offered", "nWorkitemsOffered"),
          ("over_sla", "nWorkitemsOverSla"), ("acd_expired", "nWorkitemsAcdExpired"),
          ("timedout", "nWorkitemsTimedout"))
SL = "workitem_service_level"
HANDLED = "workitem_handled"


def ours(key):
    """A workitem value: its own types, or the handled time's durations."""
    if key[1] != PLUGIN or key[2] == "self":
        return False
    return (key[3].startswith(("workitem", "total_workitem"))
            or (key[3].startswith(("duration_", "total_duration_")) and key[4] == HANDLED))


def expected(queue, end, st):
    """The bucket values of one queue's stats (zero_absent: a count the
    answer leaves out is 0)."""
    e = {(queue, "workitems_" + n, "", end): st.get(m, {}).get("count", 0) for n, m in COUNTS}
    s = st.get("oWorkitemsServiceLevel")
    if s:
        e[(queue, SL, "", end)] = s["numerator"] / s["denominator"]
        e[(queue, SL + "_numerator", "", end)] = s["numerator"]
        e[(queue, SL + "_denominator", "", end)] = s["denominator"]
    else:
        e[(queue, SL + "_numerator", "", end)] = 0
        e[(queue, SL + "_denominator", "", end)] = 0
    d = st.get("tWorkitemsHandled")
    if d:
        e[(queue, "duration_count", HANDLED, end)] = d["count"]
        e[(queue, "duration_avg", HANDLED, end)] = d["sum"] / d["count"] / 1000
        e[(queue, "duration_max", HANDLED, end)] = d["max"] / 1000
        e[(queue, "duration_min", HANDLED, end)] = d["min"] / 1000
    return e


def totals(per):
    t = {}
    for queue, sts in per.items():
        def add(k, v):
            t[k] = t.get(k, 0) + v
        for st in sts:
            for n, m in COUNTS:
                add((queue, "total_workitems_" + n, ""), st.get(m, {}).get("count", 0))
            s = st.get("oWorkitemsServiceLevel", {})
            add((queue, "total_" + SL + "_numerator", ""), s.get("numerator", 0))
            add((queue, "total_" + SL + "_denominator", ""), s.get("denominator", 0))
            d = st.get("tWorkitemsHandled")
            if d:
                add((queue, "total_duration_count", HANDLED), d["count"])
                add((queue, "total_duration_ms", HANDLED), d["sum"])
    return t


class WorkitemAggregatesAgainstTruth(unittest.TestCase):
    def run_sim(self, sim_args, minutes):
        sim = Simulator("--queues", "6", "--agents", "12", "--flows", "1",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "900",
                        *sim_args)
        return run_family(sim, PLUGIN, '    Host "acme"\n    InstanceFrom "id"\n'
                          '    WorkitemAggregates true\n    Granularity "PT5M"\n'
                          "    InitialBackfill 1800\n", minutes, ours,
                          "/sim/truth/workitem_aggregates?granularity=PT5M&buckets=30",
                          SPEED)

    def test_every_queue_equals_truth_both_ways(self):
        rx, truth, stats, bad, _ = self.run_sim((), 15)
        self.assertEqual(bad, [])
        got, gauges, counters, ends, _ = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), 6, "buckets dispatched: %s" % ends)
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)))
        want, per = {}, {}
        for iv, b in truth["buckets"].items():
            end = round(iso_ms(iv.split("/")[1]))
            if not ends[0] <= end <= ends[-1]:
                continue
            for queue, st in b.items():
                want.update(expected(queue, end, st))
                per.setdefault(queue, []).append(st)
        # two queues in three have workitems: the others none, and no series
        self.assertEqual(len(per), 4, sorted(per))
        self.assertEqual({k[0] for k in gauges}, set(per))
        print("%d buckets, %d queues, %d bucket values, %d counter values compared"
              % (len(ends), len(per), len(want), len(counters)), file=sys.stderr)
        assert_both_ways(self, gauges, want)
        assert_counters(self, got, counters, totals(per))
        for n, _ in COUNTS:
            self.assertTrue(any(v > 0 for k, v in want.items() if k[1] == "workitems_" + n),
                            "no %s compared" % n)

    def test_permission_withheld_one_line_queues_go_on(self):
        run = self.run_sim(("--deny-permission", PERMISSION), 8)
        assert_refused_alone(self, run, ours, PLUGIN, PERMISSION, "workitem aggregates",
                             QUERY, "offered")


if __name__ == "__main__":
    run_tests(__name__)
