# SPDX-License-Identifier: MIT
"""End to end: the recommended revisit schedule (RevisitAt "24h 100h") of
genesys_analytics against the simulator's nightly pipeline
(tests/sim/README.md, "Late data and reprocessing"), over more than four
simulated days at PT1H (the simulator and collectd's clock 3,600 times
faster than the wall clock).

The simulator (--reprocessing) changes a share of the handle times, up or
down, from a point of the run of the first nightly job (02:00 UTC, 3 h) at
which the moment is 48 h old, or 72 h for the correction class: from about
50 to 99 hours after its bucket ended. The test checks that every change
landed before the schedule's last age, and that for every bucket past that
age the last dispatched values equal the truth both ways; that each changed
bucket was dispatched twice (new, then its revision at 100 h) and every
other once; that the counters equal the sum of the buckets dispatched (each
change counted once); that each bucket was asked for at 24 h and at 100 h
once; and that the self-metric bucket_revisions-100h counts the changed
buckets, none found at 24 h or within the window. With RevisitAt
"24h 72h" (the example before) the changes after 72 h are never read: the
values differ from the truth."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import FakeClockCollectd, iso_ms, run_tests, sim_ms  # noqa: E402
from buckets import assert_both_ways, quiet, self_values  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from test_revisit_schedule import revisits, values, wait_sim  # noqa: E402

PLUGIN = "genesys_analytics"
SPEED = 3600
HOUR = 3600000
G_MS = HOUR
LAST_AGE = 100 * HOUR  # the recommended RevisitAt's last age
COUNTS = ("offered", "answered", "abandoned")


class RevisitAfterThePipeline(unittest.TestCase):
    def test_every_change_before_the_last_age_counted_once(self):
        # GEN_TEST_REVISIT_AT: another RevisitAt line, to see the test fail
        # with one that does not reach past the pipeline
        sim = Simulator("--queues", "2", "--agents", "8", "--flows", "1",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "600",
                        "--retention-hours", "140", "--reprocessing",
                        "--reprocess-share", "0.1")
        rx = Receiver()
        block = sim.org_block(
            "acme",
            extra='    Host "acme"\n    InstanceFrom "id"\n'
            '    Granularity "PT1H"\n    SettleDelay 900\n'
            '    RevisitWindow 7200\n' + os.environ.get("GEN_TEST_REVISIT_AT",
                                                    '    RevisitAt "24h 100h"\n'))
        cd = FakeClockCollectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 600\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + rx.config(),
            sim, SPEED, stock=("logfile", "csv", "write_http"), write_threads=1)
        try:
            cd.start()
            t0 = sim_ms(sim)
            first_end = (t0 // G_MS + 1) * G_MS
            # Ten buckets past their last age, and one read more.
            wait_sim(sim, first_end + LAST_AGE + 11 * HOUR, timeout=600)
            sim.fault({"fault": "pause"})
            at_pause = sim.stats()
            # the last reads' values at the receiver, mostly: read once
            # nothing of the plugin has arrived for 3 s. Not all of them:
            # the pause stops the simulator's clock, not collectd's, which
            # reads on (the 100 h revisits of the buckets the pipeline
            # changed, up to two days of its time, ~50 s) and may still
            # send when the values are read below (see the counters)
            quiet(rx, lambda key: key[1] == PLUGIN and key[2] != "self", still=3,
                  timeout=60)
            truth = sim._open("/sim/truth?granularity=PT1H&buckets=130")
            got = values(rx)
            with rx.lock:
                arrivals = list(rx.arrivals)
            closed = round(iso_ms(truth["sim_time"])) // G_MS * G_MS

            # Every change lands before the last age of the default.
            changes = truth["pipeline"]
            late = [c for c in changes
                    if iso_ms(c["visible"]) >= iso_ms(c["time"]) // G_MS * G_MS + G_MS + LAST_AGE]
            self.assertEqual(late, [], "changes after the last age")
            # The buckets whose last revisit is done, with a margin for
            # collectd's clock ahead of the simulator's.
            done = sorted({t for (q, ty, ti), s in got.items() if ty == "offered"
                           for t in s if t + LAST_AGE + 2 * HOUR <= closed})
            self.assertGreaterEqual(len(done), 8)
            changed = {(c["queueId"], c["mediaType"],
                        iso_ms(c["time"]) // G_MS * G_MS + G_MS) for c in changes
                       if iso_ms(c["time"]) // G_MS * G_MS + G_MS in done}
            self.assertGreaterEqual(len(changed), 5, "too few changes to tell")
            self.assertEqual({c["sign"] for c in changes}, {1, -1})

            # Past the last age, every bucket equals the truth, both ways.
            tb = {round(iso_ms(iv.split("/")[1])): q for iv, q in truth["buckets"].items()}
            want, have = {}, {}
            for end in done:
                self.assertIn(end, tb, "truth does not cover the run")
                for q, media_ in tb[end].items():
                    for m, tr in media_.items():
                        for c in COUNTS:
                            want[(q, c, m, end)] = tr[c]
                        want[(q, "duration_count", "handle-" + m, end)] = \
                            tr["handle"]["count"]
                        if tr["handle"]["count"]:
                            want[(q, "duration_avg", "handle-" + m, end)] = \
                                tr["handle"]["sum_ms"] / tr["handle"]["count"] / 1000.0
            for (q, ty, ti), s in got.items():
                if ty in COUNTS or (ty in ("duration_count", "duration_avg")
                                    and ti.startswith("handle-")):
                    for t, vs in s.items():
                        if t in done:
                            have[(q, ty, ti, t)] = vs
            # A zero the truth leaves out is no difference, nor the mean
            # of a handle time taken out down to none (its count goes to 0).
            assert_both_ways(
                self, {k: vs for k, vs in have.items() if k in want or (
                    vs[-1] != 0 and not (k[1] == "duration_avg" and want.get(
                        (k[0], "duration_count", k[2], k[3])) == 0))},
                {k: w for k, w in want.items() if w or k in have}, revised=True)
            # Dispatched twice (new, at 100 h) if changed, else once.
            handle = {(q, ti[len("handle-"):], t): vs for (q, ty, ti, t), vs in have.items()
                      if ty == "duration_count"}
            twice = {k for k, vs in handle.items() if len(vs) == 2}
            self.assertEqual({k for k, vs in handle.items() if len(vs) > 2}, set())
            self.assertEqual(twice, changed & set(handle), (twice, changed))

            # Counters: each counter's last value equals the sum of the last
            # values of every bucket that arrived before it (each change
            # counted once, none twice). Before it, not all of them: a
            # revised bucket's value and its counter's move come in separate
            # posts, and collectd may still send when the values are read
            # (quiet() above): the revised value may be here and the move
            # not (CI saw 479 against 478 after a change down). A bucket
            # comes before its counter's move (one write thread: first in,
            # first out), so the counter equals the buckets arrived before
            # it wherever the arrivals are cut.
            checked = 0
            for (q, ty, ti), s in got.items():
                if ty != "duration_count" or not ti.startswith("handle-"):
                    continue
                for total_type in ("total_duration_count", "total_duration_ms"):
                    count, avg, last = {}, {}, None
                    for _, t, key, value in arrivals:
                        if key[1] != PLUGIN or key[2] != q or key[4] != ti:
                            continue
                        t = round(t * 1000)
                        if key[3] == "duration_count":
                            count[t] = value
                        elif key[3] == "duration_avg":
                            avg[t] = value
                        elif key[3] == total_type:
                            of = (lambda b: count[b]) if total_type == "total_duration_count" \
                                else (lambda b: round(count[b] * avg[b] * 1000) if b in avg else 0)
                            last = (round(value), sum(of(b) for b in count if b <= t))
                    self.assertIsNotNone(last, (q, total_type, ti))
                    self.assertEqual(last[0], last[1], (q, total_type, ti))
                    checked += 1
            self.assertGreaterEqual(checked, 4)

            # Each bucket asked for again at 24 h and 100 h, once each.
            asked = revisits(at_pause)
            for end in done:
                self.assertEqual(asked.get(end - G_MS, 0), 2, end)

            # Where the changes were found: at 100 h, each changed bucket
            # once; none at 24 h nor within the window.
            found = self_values(rx, PLUGIN, "bucket_revisions")
            print("changes %d (%d past the last age, in %d series buckets), buckets "
                  "compared %d, values %d, bucket_revisions %s" %
                  (len(changes), sum(1 for c in changes if iso_ms(c["time"]) // G_MS * G_MS
                                     + G_MS in done), len(changed), len(done), len(want),
                   found), file=sys.stderr)
            self.assertEqual(found.get("24h"), 0, found)
            self.assertEqual(found.get("window"), 0, found)
            self.assertGreaterEqual(found.get("100h", 0), len(changed), found)
            self.assertEqual(cd.bad_log_lines(allow=[r"uc_update: Value too old"]), [])
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()


if __name__ == "__main__":
    run_tests(__name__)
