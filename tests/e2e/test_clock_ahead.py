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
engine, asks again too."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import FakeClockRun, iso_ms, run_tests, sim_ms  # noqa: E402

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


if __name__ == "__main__":
    run_tests(__name__)
