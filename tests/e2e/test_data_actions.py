# SPDX-License-Identifier: MIT
"""End to end: genesys_flowmetrics with DataActions true, in the real
collectd against the simulator, across a SIGKILL and a restart. For every
data action of the simulator and every bucket, each series dispatched
equals what /sim/truth/actions says of that bucket (executions, errors, and
the execution times' count, average, max and min), and each series the truth
implies is dispatched: compared both ways, so a series dispatched that the
truth lacks fails as much as a missing or wrong one. The counters equal the
sum of their buckets (nothing lost or doubled by the kill), and a bucket
dispatched again carries the same values. One more run with a selection
(DataActionName) asks with actionId predicates, and the forms the public
record leaves open (stats with a count only, groups naming the action only,
every failure named by an errorType) give the same values but the times.
By default some failures carry only a non-2xx responseStatus (no
errorType): they are errors too."""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from collectd_harness import FakeClockCollectd, run_tests, sim_ms, wait_sim  # noqa: E402
from buckets import assert_both_ways, assert_counters, bucketed, quiet  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_flowmetrics"
SPEED = 60
G_MS = 300000
MEASURE = "action_execution"
TYPES = ("action_executions", "action_errors", "total_action_executions",
         "total_action_errors")


def expected_bucket(aid, end, tr, times):
    e = {(aid, "action_executions", "", end): tr["executions"],
         (aid, "action_errors", "", end): tr["errors"]}
    if times:
        e[(aid, "duration_count", MEASURE, end)] = tr["executions"]
        e[(aid, "duration_avg", MEASURE, end)] = tr["sum_ms"] / tr["executions"] / 1000
        e[(aid, "duration_max", MEASURE, end)] = tr["max_ms"] / 1000
        e[(aid, "duration_min", MEASURE, end)] = tr["min_ms"] / 1000
    return e


def expected_totals(per_action, times):
    t = {}
    for aid, buckets in per_action.items():
        rows = [("total_action_executions", "", "executions"),
                ("total_action_errors", "", "errors")]
        if times:
            rows += [("total_duration_count", MEASURE, "executions"),
                     ("total_duration_ms", MEASURE, "sum_ms")]
        for ty, ti, f in rows:
            t[(aid, ty, ti)] = sum(tr[f] for tr in buckets)
    return t


def ours(key):
    """A data action value (not a flow's, not a self-metric)."""
    return key[1] == PLUGIN and key[2] != "self" and (key[3] in TYPES or key[4] == MEASURE)


class DataActionsAcrossKill(unittest.TestCase):
    def run_sim(self, sim_args, extra, minutes_before, minutes_down, minutes_after,
                kill=True):
        sim = Simulator("--queues", "2", "--agents", "10", "--flows", "1",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "900",
                        *sim_args)
        rx = Receiver()
        block = sim.org_block(
            "acme",
            extra='    Host "acme"\n    InstanceFrom "id"\n'
            '    Granularity "PT5M"\n    SettleDelay 30\n'
            "    RevisitWindow 600\n    BackfillHorizon 7200\n"
            "    Aggregates false\n    ActiveFlows false\n    DataActions true\n" + extra)
        cd = FakeClockCollectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 30\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + rx.config(),
            sim, SPEED, stock=("logfile", "csv", "write_http"),
            write_threads=1)  # every bucket compared: in order
        self.killed_ms = self.restarted_ms = None
        try:
            cd.start()
            t0 = sim_ms(sim)
            if kill:
                # SIGKILL mid-bucket, once the last bucket's values left
                # collectd (its write queue is lost at a SIGKILL whatever a
                # plugin does)
                wait_sim(sim, (t0 + minutes_before * 60000) // G_MS * G_MS + G_MS // 2)
                quiet(rx, ours)
                cd.proc.send_signal(signal.SIGKILL)
                cd.proc.wait()
                self.killed_ms = sim_ms(sim)
                wait_sim(sim, self.killed_ms + minutes_down * 60000)
                self.restarted_ms = sim_ms(sim)
                cd.start()
            wait_sim(sim, t0 + (minutes_before + minutes_down + minutes_after) * 60000)
            sim.fault({"fault": "pause"})
            quiet(rx, ours)
            truth = sim._open("/sim/truth/actions?granularity=PT5M&buckets=40")
            stats = sim._open("/sim/stats")
            self.assertEqual(cd.bad_log_lines(), [])
            return rx, truth, stats
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()

    def compare(self, rx, truth, selected=None, times=True, min_buckets=6):
        got, gauges, counters, ends, truth_ends = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), min_buckets, "buckets dispatched: %s" % ends)
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)))
        actions = set(truth["actions"]) if selected is None else set(selected)
        want, per_action = {}, {}
        for end in ends:
            self.assertIn(end, truth_ends, "truth does not cover the run")
            for aid, tr in truth_ends[end].items():
                if aid in actions:
                    want.update(expected_bucket(aid, end, tr, times))
                    per_action.setdefault(aid, []).append(tr)
        self.assertEqual(set(per_action), actions, "an action never executed")
        self.assertGreater(sum(tr["errors"] for b in per_action.values() for tr in b), 0)
        # failures that carry only a non-2xx responseStatus were in the run
        # (the truth counts them as errors, so must the plugin)
        self.assertGreater(truth["status_only_errors"], 0)
        print("%d buckets, %d actions, %d bucket values, %d counter values compared"
              % (len(ends), len(per_action), len(want), len(counters)), file=sys.stderr)
        assert_both_ways(self, gauges, want, "killed at %s, restarted at %s"
                         % (self.killed_ms, self.restarted_ms))
        assert_counters(self, got, counters, expected_totals(per_action, times))
        return ends

    def test_every_action_equals_truth_both_ways_across_sigkill(self):
        rx, truth, stats = self.run_sim(("--actions", "5"), "", 12, 8, 14)
        ends = self.compare(rx, truth)
        # the restarted daemon took what closed while it was down
        self.assertTrue([e for e in ends if self.killed_ms < e <= self.restarted_ms],
                        (ends, self.killed_ms, self.restarted_ms))
        # every action at once: one request per new bucket, none more
        by_end = {}
        for _, end in stats["aggregate_intervals"]["actions"]:
            by_end[end] = by_end.get(end, 0) + 1
        self.assertEqual(set(by_end.values()), {1}, by_end)

    def test_selection_and_open_forms(self):
        """DataActionName selects by name (actionId predicates asked); the
        simulator answers with a count only and the action's name only."""
        rx, truth, _ = self.run_sim(
            ("--actions", "6", "--action-stats", "count", "--action-group", "name",
             "--action-errors", "type"),
            '    DataActionName "Lookup*"\n    DataActionName "Create Ticket"\n',
            0, 0, 17, kill=False)
        sel = [a for a, v in truth["actions"].items()
               if v["name"].startswith("Lookup") or v["name"] == "Create Ticket"]
        self.assertEqual(len(sel), 2)
        self.compare(rx, truth, selected=sel, times=False, min_buckets=2)


if __name__ == "__main__":
    run_tests(__name__)
