# SPDX-License-Identifier: MIT
"""End to end: a clock that was ahead and is corrected (issue 49).

genesys_analytics runs in the real collectd against the simulator (60
times faster than the wall clock) with collectd's clock one day ahead (a VM
with a bad RTC, a resume): it asks for the day ahead, and its state file
records progress a day ahead. collectd is stopped and started again on the
right time. Before the fix it then asked for nothing, with no log line,
until the clock reached the day ahead: history went silent. Now the
progress ahead of the clock is refused with a line, the queues start afresh
(InitialBackfill, an hour here, is asked for again) and every bucket from
the backfill to the end of the run equals the simulator's truth, both ways
(nothing missing, nothing the truth lacks); the counters equal the sum of
the buckets plus what the run ahead counted (a bucket counted early is
corrected when its day comes). Agent status, another family on the same
engine, asks again too.

A second run (issue 63) has every interval family in one collectd:
genesys_analytics (queue aggregates), genesys_flowmetrics (flow aggregates
and data actions) and genesys_platform (operational events), BackfillHorizon
at its default (a day). collectd runs on the right time, then a day ahead
for 20 simulated minutes (whole buckets pass meanwhile, each asked for
before it happened), then on the right time again. Every family asks again
for each bucket whose time passed while the clock was ahead, and every
bucket value from the first run's backfill to the end equals the
simulator's truth both ways, the counters the sum of the buckets (plus what
the day ahead counted). Before the fix flow aggregates and operational
events were put back to the newest settled bucket and asked for none of
those buckets."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import FakeClockCollectd, FakeClockRun, iso_ms, run_tests, sim_ms  # noqa: E402

PLUGIN = "genesys_analytics"
SPEED = 60
G_MS = 300000
DAY_MS = 86400000
COUNTS = ("offered", "answered", "abandoned")
USER_QUERY = "POST /api/v2/analytics/users/aggregates/query"


def wait_until(what, timeout=120):
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def arrivals(rx, since=0):
    """{(queue, type, type_instance): {time ms: [values]}} of the values
    received after the first since."""
    out = {}
    with rx.lock:
        got = list(rx.arrivals[since:])
    for _, t, key, value in got:
        if key[1] != PLUGIN or key[2] in ("self", "agents"):
            continue
        out.setdefault((key[2], key[3], key[4]), {}) \
           .setdefault(round(t * 1000), []).append(value)
    return out


class ClockAheadThenCorrected(unittest.TestCase):
    def test_history_resumes_and_equals_truth(self):
        with FakeClockRun(
                ("--queues", "3", "--agents", "12", "--flows", "1",
                 "--speed", str(SPEED), "--start", "now", "--warmup", "5400"),
                '    Host "acme"\n    InstanceFrom "id"\n'
                '    Granularity "PT5M"\n    SettleDelay 30\n'
                "    RevisitWindow 900\n    BackfillHorizon 7200\n"
                "    InitialBackfill 3600\n    AgentStatus true\n",
                30, SPEED, ahead_ms=DAY_MS) as (sim, rx, cd):
            # A day ahead: the queries are for the day ahead, and the state
            # file (written a read late) records them.
            cd.start()
            asked = lambda: sim.stats()["aggregate_intervals"].get("conversations", [])
            ahead = lambda: [iv for iv in asked() if int(iv[0]) > sim_ms(sim) + DAY_MS / 2]
            self.assertTrue(wait_until(lambda: len(ahead()) >= 2),
                            "collectd did not ask for the day ahead")
            time.sleep(3)  # reads after it: the state file has that progress
            cd.stop()
            n_ahead = len(asked())
            users_ahead = sim.stats()["requests"].get(USER_QUERY, {}).get("total", 0)
            with rx.lock:
                since = len(rx.arrivals)
            counted_ahead = arrivals(rx)

            # The right time.
            cd.ahead_ms = 0
            restart = sim_ms(sim)
            cd.start()
            self.assertTrue(wait_until(lambda: sim_ms(sim) >= restart + 30 * 60000),
                            "the simulator stalled")
            sim.fault({"fault": "pause"})
            time.sleep(2)  # the last read's values reach the receiver
            stats = sim.stats()
            truth = sim._open("/sim/truth?granularity=PT5M&buckets=40")
            closed = round(iso_ms(truth["sim_time"])) // G_MS * G_MS
            after = asked()[n_ahead:]
            users_after = stats["requests"].get(USER_QUERY, {}).get("total", 0) - users_ahead
            print("queries after the restart: %d conversations, %d users"
                  % (len(after), users_after), file=sys.stderr)
            self.assertGreater(len(after), 0, "no query after the clock was corrected")
            self.assertGreater(users_after, 0, "agent status asked nothing after it")
            self.assertIn("is ahead of the clock", cd.log_text(),
                            "the refused progress was not logged")

            got = arrivals(rx, since)
            # The hour before the restart was asked for again (InitialBackfill).
            self.assertLessEqual(int(after[0][0]), restart - 55 * 60000,
                                 "the backfill was not asked for")
            ends = sorted({t for (q, ty, ti), s in got.items() if ty in COUNTS
                           for t in s if t <= closed})
            self.assertTrue(ends, "nothing dispatched after the restart")
            self.assertGreaterEqual(ends[-1], restart + 20 * 60000)
            ends[0] = int(after[0][0]) + G_MS
            tb = {round(iso_ms(iv.split("/")[1])): q for iv, q in truth["buckets"].items()}
            want, have, sums = {}, {}, {}
            for end in range(ends[0], ends[-1] + G_MS, G_MS):
                self.assertIn(end, tb, "truth does not cover the run")
                for q, media in tb[end].items():
                    for m, tr in media.items():
                        for c in COUNTS:
                            want[(q, c, m, end)] = tr[c]
                            sums[(q, "total_" + c, m)] = \
                                sums.get((q, "total_" + c, m), 0) + tr[c]
            for (q, ty, ti), s in got.items():
                if ty in COUNTS:
                    for t, vs in s.items():
                        if ends[0] <= t <= ends[-1]:
                            have[(q, ty, ti, t)] = vs[-1]
            # a zero the truth leaves out is no difference
            extra = sorted(k for k, v in have.items() if k not in want and v != 0)
            self.assertEqual(extra[:10], [], "dispatched, not in the truth")
            missing = sorted(k for k, w in want.items() if w and k not in have)
            self.assertEqual(missing[:10], [], "in the truth, not dispatched")
            wrong = [(k, w, have[k]) for k, w in want.items() if k in have and have[k] != w]
            self.assertEqual(wrong[:10], [], "values differ from the truth")
            self.assertGreater(sum(want.values()), 0, "a run without conversations")
            print("%d bucket values compared with the truth, %d buckets from %d"
                  % (len(want), (ends[-1] - ends[0]) // G_MS + 1, ends[0]), file=sys.stderr)
            # Counters: the buckets since the restart plus what the run
            # ahead counted (its buckets of the day ahead, corrected when
            # that day comes).
            for (q, ty, ti), s in counted_ahead.items():
                if ty in COUNTS:
                    for vs in s.values():
                        k = (q, "total_" + ty, ti)
                        sums[k] = sums.get(k, 0) + vs[-1]
            wrong = []
            for k, w in sums.items():
                s = got.get(k, {})
                last = s[max(t for t in s if t <= ends[-1])][-1] if s else 0
                if round(last) != w:
                    wrong.append((k, w, last))
            self.assertEqual(wrong[:10], [], "counters differ from the truth")
            self.assertEqual(cd.bad_log_lines(), [])


FLOWS = "genesys_flowmetrics"
PLATFORM = "genesys_platform"
ACTION_TYPES = ("action_executions", "action_errors", "total_action_executions",
                "total_action_errors")
# the interval families: the simulator's name of what each asks for (its
# aggregate_intervals), the plugin, and which of its values are the family's
FAMILIES = {
    "queue aggregates": ("conversations", PLUGIN,
                         lambda k: k[3] in COUNTS or k[3] in ["total_" + c for c in COUNTS]),
    "flow aggregates": ("flows", FLOWS,
                        lambda k: k[3].startswith(("flow_interval_", "total_flow_"))),
    "data actions": ("actions", FLOWS, lambda k: k[3] in ACTION_TYPES),
    "operational events": ("usage_events", PLATFORM,
                           lambda k: k[3] in ("operational_events",
                                              "total_operational_events")),
}


def every_family(sim, rx):
    """collectd on the simulator's clock with the four interval families,
    buckets of 5 min, settle 30 s, the default BackfillHorizon (a day), an
    InitialBackfill of 30 min, a read every 30 s."""
    common = ('    Host "acme"\n    InstanceFrom "id"\n'
              '    Granularity "PT5M"\n    SettleDelay 30\n'
              "    RevisitWindow 900\n    InitialBackfill 1800\n")
    blocks = {
        PLUGIN: common,
        FLOWS: common + "    Aggregates true\n    ActiveFlows false\n"
                        "    DataActions true\n",
        PLATFORM: ('    Host "acme"\n    InstanceFrom "id"\n'
                   "    OperationalEvents true\n"
                   '    OperationalEventsGranularity "PT5M"\n'
                   "    OperationalEventsSettleDelay 30\n"
                   "    OperationalEventsInitialBackfill 1800\n"
                   "    Edges false\n    Trunks false\n    StatusPage false\n"),
    }
    body = "".join(f"<LoadPlugin {p}>\n  Interval 30\n</LoadPlugin>\n"
                   f"<Plugin {p}>\n{sim.org_block('acme', extra=b)}</Plugin>\n"
                   for p, b in blocks.items())
    return FakeClockCollectd(body + rx.config(), sim, SPEED,
                             stock=("logfile", "csv", "write_http"),
                             write_threads=1)  # every bucket compared: in order


def truth_want(family, tb):
    """{(instance, type, type_instance): value} that the truth tb of one
    bucket says of family (InstanceFrom "id": outcomes and milestones by
    id too)."""
    want = {}
    if family == "queue aggregates":
        for q, media in tb.items():
            for m, tr in media.items():
                for c in COUNTS:
                    want[(q, c, m)] = tr[c]
    elif family == "flow aggregates":
        for fid, tr in tb.items():
            want[(fid, "flow_interval_executions", "")] = tr.get("executions", 0)
            for oid, o in tr.get("outcomes", {}).items():
                want[(fid, "flow_interval_outcomes", oid)] = o["count"]
                want[(fid, "flow_interval_outcome_failures", oid)] = o["failed"]
            for mid, n in tr.get("milestones", {}).items():
                want[(fid, "flow_interval_milestones", mid)] = n
    elif family == "data actions":
        for aid, tr in tb.items():
            want[(aid, "action_executions", "")] = tr["executions"]
            want[(aid, "action_errors", "")] = tr["errors"]
    else:
        for did, tr in tb.items():
            want[(did, "operational_events", "")] = tr["events"]
    return want


def total_of(ty):
    return {"flow_interval_executions": "total_flow_executions",
            "flow_interval_outcomes": "total_flow_outcomes",
            "flow_interval_outcome_failures": "total_flow_outcome_failures",
            "flow_interval_milestones": "total_flow_milestones"}.get(ty, "total_" + ty)


class ClockAheadForAWhileThenPutBack(unittest.TestCase):
    maxDiff = None

    def test_every_family_asks_the_buckets_of_the_time_ahead(self):
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
        from buckets import quiet
        from receiver import Receiver
        from sim_harness import Simulator

        sim = Simulator("--queues", "2", "--agents", "10", "--flows", "2",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "1800",
                        "--event-definitions", "4", "--actions", "3",
                        "--rate-limit", "3000")
        rx = Receiver()
        cd = None
        ours = lambda k: k[1] in (PLUGIN, FLOWS, PLATFORM) and k[2] != "self"
        try:
            cd = every_family(sim, rx)
            intervals = lambda: sim.stats()["aggregate_intervals"]
            # On the right time: every family started.
            cd.start()
            t0 = sim_ms(sim)
            self.assertTrue(wait_until(lambda: all(
                intervals().get(kind) for kind, _, _ in FAMILIES.values())
                and sim_ms(sim) >= t0 + 15 * 60000), "a family asked nothing")
            time.sleep(2)  # a read after: the state files have it
            cd.stop()
            # A day ahead, for 20 simulated minutes: whole buckets pass.
            cd.ahead_ms = DAY_MS
            ahead_from = sim_ms(sim)
            cd.start()
            self.assertTrue(wait_until(lambda: all(
                [iv for iv in intervals().get(kind, []) if iv[0] > sim_ms(sim) + DAY_MS / 2]
                for kind, _, _ in FAMILIES.values())
                and sim_ms(sim) >= ahead_from + 20 * 60000),
                "a family did not ask for the day ahead")
            time.sleep(2)
            cd.stop()
            quiet(rx, ours)
            with rx.lock:
                ahead_values = [a for a in rx.arrivals if ours(a[2])]
            # The right time again.
            cd.ahead_ms = 0
            n_before = {kind: len(ivs) for kind, ivs in intervals().items()}
            back_at = sim_ms(sim)
            cd.start()
            self.assertTrue(wait_until(lambda: sim_ms(sim) >= back_at + 20 * 60000),
                            "the simulator stalled")
            sim.fault({"fault": "pause"})
            quiet(rx, ours, still=2)
            stats = sim.stats()
            truths = {"queue aggregates": sim._open("/sim/truth?granularity=PT5M&buckets=40"),
                      "operational events": sim._open(
                          "/sim/truth/events?granularity=PT5M&buckets=40"),
                      "data actions": sim._open(
                          "/sim/truth/actions?granularity=PT5M&buckets=40")}
            truths["flow aggregates"] = truths["queue aggregates"]
            log = cd.log_text()
            bad = cd.bad_log_lines()
        finally:
            if cd is not None:
                cd.cleanup()
            sim.stop()
            rx.stop()

        # The buckets whose whole time passed while the clock was ahead.
        passed = list(range(-(-int(ahead_from) // G_MS) * G_MS,
                            int(back_at) - G_MS + 1, G_MS))
        self.assertGreaterEqual(len(passed), 3, "too few buckets passed while ahead")
        figures, failures = [], []
        for family, (kind, plugin, keep) in FAMILIES.items():
            after = stats["aggregate_intervals"].get(kind, [])[n_before.get(kind, 0):]
            asked = [b for b in passed if any(s <= b < e for s, e in after)]
            figures.append("%s asked %d of %d" % (family, len(asked), len(passed)))
            if len(asked) != len(passed):
                failures.append("%s: asked %d of the %d buckets that passed while "
                                "the clock was ahead" % (family, len(asked), len(passed)))
            failures += self.compare(family, plugin, keep, truths[family], rx,
                                     ahead_values)
        print("after the clock was put back: " + ", ".join(figures), file=sys.stderr)
        self.assertEqual(failures, [])
        self.assertIn("where it was before the clock stepped ahead", log)
        self.assertEqual(bad, [])

    def compare(self, family, plugin, keep, truth, rx, ahead_values):
        """What differs between family's values and the truth, both ways,
        over every bucket it dispatched on the right time; its counters
        against the sum of the buckets plus what the day ahead counted."""
        ours = lambda k: k[1] == plugin and k[2] != "self" and keep(k)
        closed = round(iso_ms(truth["sim_time"])) // G_MS * G_MS
        got = {}
        with rx.lock:
            for _, t, key, value in rx.arrivals:
                if ours(key) and round(t * 1000) <= closed:
                    got.setdefault((key[2], key[3], key[4]), {}) \
                       .setdefault(round(t * 1000), []).append(value)
        buckets = [k for k in got if not k[1].startswith("total_")]
        ends = sorted({t for k in buckets for t in got[k]})
        if not ends:
            return ["%s: nothing dispatched" % family]
        field = "flow_buckets" if family == "flow aggregates" else "buckets"
        tb = {round(iso_ms(iv.split("/")[1])): b for iv, b in truth[field].items()}
        out = []
        want, sums = {}, {}
        # every bucket from the first dispatched to the last (one without
        # values dispatches nothing in some families: compared all the same)
        if not tb or min(tb) > ends[0]:
            out.append("%s: the truth does not cover the run" % family)
        for end in range(ends[0], ends[-1] + G_MS, G_MS):
            # (flow_buckets leaves out a bucket without executions)
            for (i, ty, ti), v in truth_want(family, tb.get(end, {})).items():
                want[(i, ty, ti, end)] = v
                k = (i, total_of(ty), ti)
                sums[k] = sums.get(k, 0) + v
        have = {(i, ty, ti, t): vs[-1] for (i, ty, ti) in buckets
                for t, vs in got[(i, ty, ti)].items()}
        extra = sorted(k for k, v in have.items() if k not in want and v != 0)
        missing = sorted(k for k, w in want.items() if w and k not in have)
        wrong = sorted((k, w, have[k]) for k, w in want.items() if k in have and have[k] != w)
        for what, items in (("dispatched, not in the truth", extra),
                            ("in the truth, not dispatched", missing),
                            ("differ from the truth", wrong)):
            if items:
                out.append("%s: %d %s: %s" % (family, len(items), what, items[:5]))
        # what the day ahead counted of its buckets (a day ahead: corrected
        # when their day comes)
        counted = {}
        for _, t, key, value in ahead_values:
            if ours(key) and not key[3].startswith("total_") and \
                    t * 1000 > closed + DAY_MS / 2:
                counted[(key[2], key[3], key[4], round(t * 1000))] = value
        for (i, ty, ti, t), v in counted.items():
            k = (i, total_of(ty), ti)
            sums[k] = sums.get(k, 0) + v
        for k, w in sums.items():
            s = got.get(k, {})
            last = s[max(s)][-1] if s else 0
            if round(last) != round(w):
                out.append("%s: counter %s is %s, the buckets sum to %s" % (family, k, last, w))
        print("%s: %d bucket values of %d buckets compared with the truth"
              % (family, len(want), (ends[-1] - ends[0]) // G_MS + 1), file=sys.stderr)
        return out


if __name__ == "__main__":
    run_tests(__name__)
