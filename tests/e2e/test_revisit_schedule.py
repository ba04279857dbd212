# SPDX-License-Identifier: MIT
"""End to end: the revisit schedule (RevisitAt "24h 72h") of
genesys_analytics in the real collectd against the simulator, over three
simulated days and more at PT1H (the simulator and collectd's clock 3,600
times faster than the wall clock).

Genesys reprocesses analytics data 48 hours old and older (tests/sim/README.md,
"Late data and reprocessing"). Here one bucket gains data (the simulator's
late_data fault, a handle time) after its 24 h revisit and before its 72 h
one, outside RevisitWindow: only the 72 h revisit can take it. The test
checks, from the simulator's record of the intervals asked, that the bucket
was asked for at 24 h before the change and at 72 h after it; then that its
revision was dispatched once, with the truth's values, that every bucket
value equals the truth both ways (nothing the truth lacks, nothing missing),
that the counters equal the sum of the buckets (moved by the difference
once), and that each bucket was asked for at each age exactly once. collectd
is SIGKILLed before the 72 h revisit and started after it was due: the state
file keeps the schedule, the revisit comes after the restart."""
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import FakeClockRun, iso_ms, run_tests, sim_ms  # noqa: E402

PLUGIN = "genesys_analytics"
SPEED = 3600
HOUR = 3600000
G_MS = HOUR
COUNTS = ("offered", "answered", "abandoned")


def wait_sim(sim, until_ms, timeout=300):
    deadline = time.monotonic() + timeout
    while sim_ms(sim) < until_ms:
        if time.monotonic() > deadline:
            raise AssertionError("the simulator did not reach %d" % until_ms)
        time.sleep(0.1)


def values(rx):
    """{(queue, type, type_instance): {time ms: [values in arrival order]}}"""
    out = {}
    with rx.lock:
        for _, t, key, value in rx.arrivals:
            if key[1] != PLUGIN or key[2] == "self":
                continue
            out.setdefault((key[2], key[3], key[4]), {}) \
               .setdefault(round(t * 1000), []).append(value)
    return out


def revisits(stats):
    """How many times each bucket start was asked for in a scheduled
    revisit, from the intervals the simulator was asked for (stats), in
    order: a request for new buckets ends past every one before it, a
    scheduled revisit does not."""
    asked = stats["aggregate_intervals"]["conversations"]
    out, newest = {}, None
    for s, e in asked:
        start, end = int(s), int(e)
        if newest is None or end > newest:
            newest = end
            continue
        for b in range(start, end, G_MS):
            out[b] = out.get(b, 0) + 1
    return out


class RevisitAt72Hours(unittest.TestCase):
    def test_a_change_at_72_hours_is_dispatched_once_and_equals_truth(self):
        with FakeClockRun(
                ("--queues", "2", "--agents", "8", "--flows", "1",
                 "--speed", str(SPEED), "--start", "now", "--warmup", "600",
                 "--retention-hours", "100"),
                '    Host "acme"\n    InstanceFrom "id"\n'
                '    Granularity "PT1H"\n    SettleDelay 900\n'
                '    RevisitWindow 7200\n    RevisitAt "24h" "72h"\n',
                600, SPEED) as (sim, rx, cd):
            cd.start()
            t0 = sim_ms(sim)
            # The bucket that changes late: the second whole hour after the
            # start. (collectd's clock may run ahead of the simulator's by
            # its start-up time times the speed: SettleDelay 900 keeps it
            # from asking for a bucket the simulator has not closed.)
            late_start = (t0 // G_MS + 2) * G_MS
            late_end = late_start + G_MS
            queues = sim.truth()["queues"]
            queue = sorted(queues)[0]
            media = "voice" if "voice" in queues[queue]["media"] else \
                sorted(queues[queue]["media"])[0]
            # After its 24 h revisit (asked for alone once), 36 h old.
            wait_sim(sim, late_end + 36 * HOUR)
            self.assertEqual(revisits(sim.stats()).get(late_start), 1,
                             "no 24 h revisit before the change")
            before = values(rx).get((queue, "duration_count", "handle-" + media), {})
            first = before.get(late_end)
            self.assertIsNotNone(first, "the bucket was not dispatched")
            late = sim.fault({"fault": "late_data", "queueId": queue,
                              "mediaType": media, "value_ms": 7777,
                              "time": time.strftime(
                                  "%Y-%m-%dT%H:%M:%S.000Z",
                                  time.gmtime((late_start + 1800000) / 1000))})
            self.assertEqual(late["results"][0]["tHandle_ms"], 7777)
            # collectd is SIGKILLed before the 72 h revisit and started
            # again after it was due: the state file must keep it.
            wait_sim(sim, late_end + 70 * HOUR)
            cd.proc.send_signal(signal.SIGKILL)
            cd.proc.wait()
            killed = sim_ms(sim)
            self.assertEqual(revisits(sim.stats()).get(late_start), 1,
                             "asked for at 72 h before it was due")
            wait_sim(sim, late_end + 74 * HOUR)
            restarted = sim_ms(sim)
            cd.start()
            # Past its 72 h revisit and a few buckets more.
            wait_sim(sim, late_end + 79 * HOUR)
            sim.fault({"fault": "pause"})
            # collectd's clock goes on: what it asks for from now on is
            # left out
            at_pause = sim.stats()
            time.sleep(2)  # the last read's values reach the receiver
            truth = sim._open("/sim/truth?granularity=PT1H&buckets=90")
            got = values(rx)

            # The revision: dispatched once, after the first value, equal
            # to the truth (one handle time more).
            series = got[(queue, "duration_count", "handle-" + media)][late_end]
            self.assertEqual(len(series), 2, series)
            self.assertEqual(series[0], first[-1], (series, first))
            self.assertEqual(series[1], series[0] + 1, series)
            asked = revisits(at_pause)
            self.assertEqual(asked.get(late_start), 2, "24 h and 72 h, once each")

            # Every bucket, both ways, against the truth.
            tb = {round(iso_ms(iv.split("/")[1])): q for iv, q in truth["buckets"].items()}
            # the buckets closed when the simulator paused (collectd's clock
            # goes on: what it asks for later the truth does not hold)
            closed = round(iso_ms(truth["sim_time"])) // G_MS * G_MS
            ends = sorted({t for (q, ty, ti), s in got.items() if ty == "offered"
                           for t in s if t <= closed})
            self.assertGreaterEqual(len(ends), 76)
            want, have = {}, {}
            totals = {}
            for end in ends:
                self.assertIn(end, tb, "truth does not cover the run")
                for q, media_ in tb[end].items():
                    for m, tr in media_.items():
                        for c in COUNTS:
                            want[(q, c, m, end)] = tr[c]
                            totals[(q, "total_" + c, m)] = \
                                totals.get((q, "total_" + c, m), 0) + tr[c]
                        want[(q, "duration_count", "handle-" + m, end)] = \
                            tr["handle"]["count"]
                        totals[(q, "total_duration_ms", "handle-" + m)] = \
                            totals.get((q, "total_duration_ms", "handle-" + m), 0) + \
                            tr["handle"]["sum_ms"]
            for (q, ty, ti), s in got.items():
                if ty in COUNTS or (ty == "duration_count" and ti.startswith("handle-")):
                    for t, vs in s.items():
                        if ends[0] <= t <= ends[-1]:
                            have[(q, ty, ti, t)] = vs
            # a zero the truth leaves out is no difference
            extra = sorted(k for k, vs in have.items() if k not in want and vs[-1] != 0)
            self.assertEqual(extra[:10], [], "dispatched, not in the truth")
            missing = sorted(k for k, w in want.items() if w and k not in have)
            self.assertEqual(missing[:10], [], "in the truth, not dispatched")
            wrong = [(k, w, have[k]) for k, w in want.items()
                     if k in have and have[k][-1] != w]
            self.assertEqual(wrong[:10], [], "values differ from the truth")
            # Dispatched again with another value: the late bucket only.
            again = [(k, vs) for k, vs in have.items() if len(set(vs)) > 1]
            self.assertEqual({(k[0], k[3]) for k, _ in again}, {(queue, late_end)}, again)
            # Counters: the sum of the buckets, the late handle time once.
            wrong = []
            for k, w in totals.items():
                s = got.get(k, {})
                last = s[max(t for t in s if t <= ends[-1])][-1] if s else 0
                if round(last) != w:
                    wrong.append((k, w, last))
            self.assertEqual(wrong[:10], [], "counters differ from the truth")

            # Each bucket asked for again at 24 h and at 72 h, once each.
            # collectd's clock may be ahead of the simulator's: buckets
            # within a few hours of an age may have had it or not; those
            # due around the SIGKILL may be asked for twice (the state file
            # is written a read late: a crash repeats the last read).
            checked = 0
            for end in ends:
                age = closed - end
                if any(abs(age - a) <= 6 * HOUR for a in (24 * HOUR, 72 * HOUR)):
                    continue
                if any(killed - 3 * HOUR <= end + a <= restarted + 3 * HOUR
                       for a in (24 * HOUR, 72 * HOUR)):
                    continue
                n = (age > 24 * HOUR) + (age > 72 * HOUR)
                self.assertEqual(asked.get(end - G_MS, 0), n, (end, age))
                checked += n
            self.assertGreater(checked, 20)  # not a vacuous loop
            revised = (r"uc_update: Value too old: name = acme/genesys_analytics-"
                       + re.escape(queue) + r"/[^;/]+-" + re.escape(media)
                       + r"; value time = " + re.escape("%.3f" % (late_end / 1000))
                       + r"; last cache update = \d+\.\d+;")
            self.assertEqual(cd.bad_log_lines(allow=[revised]), [])


if __name__ == "__main__":
    run_tests(__name__)
