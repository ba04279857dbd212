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
said once, no operational event value, the edges still dispatched.

A fourth run, the default schedule (OperationalEventsRevisitAt "1h 24h",
PT15M, settle 300 s) over more than a simulated day (the simulator and
collectd's clock 3,600 times faster than the wall clock), with the
simulator's lateness tail (a third of the events reach the query 20 to 40
minutes after they happened): the first count of a share of the buckets
misses events (the case is made to happen and checked), and once a bucket
is past its 1 h revisit its last value equals the truth both ways; a
changed bucket is dispatched twice (new, then at 1 h), every other once,
none three times; each bucket past 24 h was asked for three times; the
counters equal the sum of the last values; bucket_revisions-1h counts the
changes, -24h none. GEN_TEST_OPEV_REVISIT_AT replaces the schedule line
(OperationalEventsRevisitAt "none" shows the test failing without it)."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from collectd_harness import FakeClockCollectd, iso_ms, run_tests, sim_ms, wait_sim  # noqa: E402
from buckets import (across_kill, assert_both_ways, assert_counters, bucketed, quiet,  # noqa: E402
                     self_values)
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


HOUR = 3600000
LATE_G_MS = 900000


def late_values(rx):
    """{(definition, type, time ms): [values in arrival order]} of the
    operational events values."""
    out = {}
    with rx.lock:
        for _, t, key, value in rx.arrivals:
            if ours(key):
                out.setdefault((key[2], key[3], round(t * 1000)), []).append(value)
    return out


class LateEvents(unittest.TestCase):
    def test_revisit_takes_the_late_events_once(self):
        speed = 3600
        sim = Simulator("--queues", "2", "--agents", "8", "--flows", "1",
                        "--speed", str(speed), "--start", "now", "--warmup", "600",
                        "--event-definitions", "5", "--events-late-share", "0.3",
                        "--events-late-s", "2400", "--rate-window-sim")
        rx = Receiver()
        block = sim.org_block(
            "acme",
            extra='    Host "acme"\n    InstanceFrom "id"\n'
            "    OperationalEvents true\n"
            "    Edges false\n    Trunks false\n    StatusPage false\n"
            + os.environ.get("GEN_TEST_OPEV_REVISIT_AT", ""))
        cd = FakeClockCollectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 300\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + rx.config(),
            sim, speed, stock=("logfile", "csv", "write_http"), write_threads=1)
        try:
            cd.start()
            t0 = sim_ms(sim)
            first_end = (t0 // LATE_G_MS + 1) * LATE_G_MS
            # four buckets past their 24 h revisit, and a read more
            wait_sim(sim, first_end + 24 * HOUR + 5 * LATE_G_MS, timeout=600)
            # collectd stopped first (its clock would go on past a paused
            # simulator, every request in one simulated minute), what it had
            # written all at the receiver
            cd.stop()
            sim.fault({"fault": "pause"})
            stats = sim._open("/sim/stats")
            quiet(rx, ours, still=2, timeout=30)
            truth = sim._open("/sim/truth/events?granularity=PT15M&buckets=110")
            got = late_values(rx)
            with rx.lock:
                arrivals = list(rx.arrivals)
            found = self_values(rx, PLUGIN, "bucket_revisions")
            self.assertEqual(cd.bad_log_lines(allow=[r"uc_update: Value too old"]), [])
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()
        now = iso_ms(truth["sim_time"])
        tb = {round(iso_ms(iv.split("/")[1])): per for iv, per in truth["buckets"].items()}
        # past the 1 h revisit, with a margin for collectd's clock ahead
        done = sorted({t for (d, ty, t) in got if ty == "operational_events"
                       and t + HOUR + 2 * LATE_G_MS <= now})
        self.assertGreaterEqual(len(done), 80)
        want, have = {}, {}
        for end in done:
            self.assertIn(end, tb, "truth does not cover the run")
            for d, tr in tb[end].items():
                want[(d, "operational_events", "", end)] = tr["events"]
        for (d, ty, t), vs in got.items():
            if ty == "operational_events" and t in done:
                have[(d, ty, "", t)] = vs
        # the case happened: first counts short of the truth by late events
        short = {k for k, vs in have.items() if k in want and vs[0] < want[k]}
        self.assertGreaterEqual(len(short), 20, "too few late events to tell")
        self.assertGreater(stats["events_late_hidden"], 0)
        self.assertEqual({k for k, vs in have.items() if k in want and vs[0] > want[k]},
                         set())
        # after the revisit, the truth both ways
        assert_both_ways(self, have, want, revised=True)
        # each changed bucket sent once more, not more
        self.assertEqual({k for k, vs in have.items() if len(vs) > 2}, set())
        self.assertEqual({k for k, vs in have.items() if len(vs) == 2}, short)
        # counters: each definition's last counter equals the sum of the
        # last values of every bucket that arrived before it (a bucket
        # comes before its counter's move; collectd, stopped above, drops
        # what its write queue still held, which may be a revised bucket's
        # move: the counter is then the one before it)
        for d in tb[done[0]]:
            buckets, last = {}, None
            for _, t, key, value in arrivals:
                if ours(key) and key[2] == d and key[3] == "operational_events":
                    buckets[round(t * 1000)] = value
                elif ours(key) and key[2] == d and key[3] == "total_operational_events":
                    last = (round(value), round(sum(buckets.values())))
            self.assertIsNotNone(last, d)
            self.assertEqual(last[0], last[1], d)
        # asked for at the first time, at 1 h and at 24 h
        asked = {}
        for s_, e_ in stats["aggregate_intervals"]["usage_events"]:
            asked[int(s_)] = asked.get(int(s_), 0) + 1
        past_day = [e for e in done if e + 24 * HOUR + 2 * LATE_G_MS <= now]
        self.assertGreaterEqual(len(past_day), 2)
        for end in past_day:
            self.assertEqual(asked.get(end - LATE_G_MS), 3, end)
        print("buckets %d (%d past 24 h), values %d, first short %d, events hidden at "
              "an ask %d, queries %d, listings %d over %.1f simulated hours, "
              "bucket_revisions %s" % (
                  len(done), len(past_day), len(want), len(short),
                  stats["events_late_hidden"], stats["requests"][AGG]["total"],
                  stats["requests"][DEFS]["total"], (now - first_end) / HOUR, found),
              file=sys.stderr)
        self.assertGreaterEqual(found.get("1h", 0), len(short), found)
        self.assertEqual(found.get("24h"), 0, found)
        self.assertEqual(found.get("window"), 0, found)


def totals_of(arrivals):
    """{definition: [total_operational_events values in arrival order]}."""
    out = {}
    for _, _, key, value in arrivals:
        if ours(key) and key[3] == "total_operational_events":
            out.setdefault(key[2], []).append(value)
    return out


class TotalsPast2to53(unittest.TestCase):
    """Issue 63: two buckets of 5e15 events of one definition (simulator
    fault events_count) made its total 1.0000000000000008e16, dispatched
    and saved; at the restart the state file was refused ("a number in it is
    out of range") and every definition's total restarted near zero. The
    total now stops at 2^53, and after a clean stop and a start every total
    goes on from where it was."""

    def test_a_total_past_2_53_costs_no_counter_at_the_next_start(self):
        sim = new_sim()
        rx = Receiver()
        cd = platform_collectd(sim, rx, "")
        try:
            defs = list(sim._open("/sim/truth/events?granularity=PT5M&buckets=1")
                        ["definitions"])
            sim.fault({"fault": "events_count", "value": 5000000000000000,
                       "answers": 2, "definition": 0})
            cd.start()
            t0 = sim_ms(sim)
            wait_sim(sim, t0 + 12 * 60000)
            quiet(rx, ours)
            cd.stop()
            with rx.lock:
                first_run = list(rx.arrivals)
            wait_sim(sim, sim_ms(sim) + 5 * 60000)
            cd.start()
            wait_sim(sim, sim_ms(sim) + 15 * 60000)
            sim.fault({"fault": "pause"})
            quiet(rx, ours)
            with rx.lock:
                second_run = list(rx.arrivals)[len(first_run):]
            log = cd.log_text()
            bad = cd.bad_log_lines()
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()
        before, after = totals_of(first_run), totals_of(second_run)
        huge, others = defs[0], defs[1:]
        last = {d: v[-1] for d, v in before.items()}
        first = {d: v[0] for d, v in after.items()}
        print("before the restart: %s; after: first %s, last %s" % (
            last, first, {d: v[-1] for d, v in after.items()}), file=sys.stderr)
        self.assertNotIn("cannot be used", log)
        self.assertEqual(bad, [])
        self.assertIn("stopped at 2^53", log)
        self.assertEqual(max(before[huge]), 2 ** 53, before[huge])
        self.assertEqual(first[huge], 2 ** 53)
        self.assertEqual(max(after[huge]), 2 ** 53)
        grew = 0
        for d in others:
            self.assertIn(d, last)
            self.assertGreaterEqual(first[d], last[d], d)
            self.assertGreaterEqual(after[d][-1], first[d], d)
            grew += after[d][-1] > last[d]
        self.assertGreater(grew, 0)


if __name__ == "__main__":
    run_tests(__name__)
