# SPDX-License-Identifier: MIT
"""End to end: genesys_analytics' resolution aggregates (ResolutionAggregates
true) as collectd-genesys-check --replay runs the row (the family's own code,
its request and reading, the series names) against the simulator. The
simulator's first-contact resolution is a function of its clock (README,
Resolution aggregates): a day's nNextContactAvoided on the wrap-up date is 0
for 7 days and grows until 15 days after the day. On the fast clock (a
simulated day in about a second) the last 20 days are replayed twice, 4 to 6
simulated days apart, each on the paused clock, and every (queue, media,
day) value equals /sim/truth/resolutions of that instant, both ways; days
changed between the two, as the revisits will see them. The unknown metric
word of the form resolution_metric_extra "unknown" is counted and the rest
read; a refused analytics:resolutionAggregate:view gives one clear line and
the other rows go on."""
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from collectd_harness import BUILD, FAKETIME_LIB, iso_ms, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from buckets import interval_collectd, quiet  # noqa: E402
from receiver import Receiver  # noqa: E402

DAY = 86400000
SPEED = 86400  # a simulated day a second
CHECK = os.path.join(BUILD, "collectd-genesys-check")
PUTVAL = re.compile(r'PUTVAL "acme/genesys_analytics-([^/"]+)/next_contact_avoided-([a-z]+)" '
                    r'interval=86400.000 ([0-9.]+):(\S+)$')


def next_noon():
    """The next 12:00 UTC, ISO-8601: a start whose time of day is known
    (ahead of the real clock, as the simulator's certificate wants)."""
    now = time.time()
    noon = now - now % 86400 + 43200
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(noon if noon > now else noon + 86400))


def config(sim, extra=""):
    block = sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                          '    ResolutionAggregates true\n' + extra)
    return "<LoadPlugin genesys_analytics>\n</LoadPlugin>\n" \
        "<Plugin genesys_analytics>\n" + block + "</Plugin>\n"


class Resolutions(unittest.TestCase):
    def replay(self, sim, conf, days, ok=True, verbose=False):
        """The paused simulator's last `days` whole days replayed: {(queue,
        media, day end ms): value}, the output, and the truth then. The
        simulator's clock is a second or more (simulated) past its start
        first: the faked clock is cut to the second, and the simulator's TLS
        certificate is valid from its start."""
        time.sleep(1.5)
        truth = sim._open("/sim/truth/resolutions?days=%d" % days)
        now = truth["now"]
        end = now // DAY * DAY
        start = end - days * DAY
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(conf)
        env = dict(os.environ, LD_PRELOAD=FAKETIME_LIB, TZ="UTC",
                   FAKETIME="@" + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now / 1000)),
                   FAKETIME_DONT_FAKE_MONOTONIC="1")
        r = subprocess.run([CHECK] + (["-v"] if verbose else []) + ["--replay", str(start // 1000), str(end // 1000),
                            "--stdout", f.name], capture_output=True, text=True,
                           timeout=120, env=env)
        os.unlink(f.name)
        self.assertEqual(r.returncode == 0, ok, r.stdout + r.stderr)
        got = {}
        for line in r.stdout.splitlines():
            m = PUTVAL.match(line)
            if m:
                got[(m.group(1), m.group(2), round(float(m.group(3)) * 1000))] = float(m.group(4))
        want = {}
        for iv, qs in truth["days"].items():
            e = iso_ms(iv.split("/")[1])
            for q, media in qs.items():
                for md, n in media.items():
                    if n > 0:  # a day with nothing counted has no group
                        want[(q, md, e)] = float(n)
        return got, want, r.stdout + r.stderr, truth

    def test_values_equal_truth_both_ways_as_days_settle(self):
        sim = Simulator("--queues", "3", "--agents", "3", "--flows", "1", "--speed",
                        str(SPEED), "--start", "now", "--warmup", "0")
        try:
            sim.fault({"fault": "pause"})
            conf = config(sim)
            got1, want1, out1, t1 = self.replay(sim, conf, 20)
            sim.fault({"fault": "resume"})
            time.sleep(5)
            sim.fault({"fault": "pause"})
            got2, want2, out2, t2 = self.replay(sim, conf, 20)
            stats = sim.stats()
        finally:
            sim.stop()
        for got, want, out in ((got1, want1, out1), (got2, want2, out2)):
            self.assertTrue(want, "the truth has no value")
            missing = {k: v for k, v in want.items() if k not in got}
            extra = {k: v for k, v in got.items() if k not in want}
            self.assertEqual(missing, {}, out[-2000:])
            self.assertEqual(extra, {}, "dispatched, not in the truth")
            self.assertEqual(got, want)
        advanced = (t2["now"] - t1["now"]) / DAY
        self.assertGreaterEqual(advanced, 2, advanced)
        # a day of both replays whose count grew in between: the value moves
        grew = [k for k in got1 if k in got2 and got2[k] > got1[k]]
        self.assertTrue(grew, "no day grew between the replays")
        # the newest 7 days have nothing yet; a day older than 15 days is final
        fin = t2["final"]
        for iv, qs in t2["days"].items():
            since = (t2["now"] - iso_ms(iv.split("/")[0])) / DAY
            age = (t2["now"] - iso_ms(iv.split("/")[1])) / DAY
            for q, media in qs.items():
                for md, n in media.items():
                    if since < 7:
                        self.assertEqual(n, 0, (iv, q, md))
                    if age >= 15:
                        self.assertEqual(n, fin[iv][q][md], (iv, q, md))
        self.assertIn("resolutions", stats["aggregate_intervals"])
        print("%d and %d values compared, %d days grew over %.1f simulated days"
              % (len(want1), len(want2), len(grew), advanced), file=sys.stderr)

    def test_collectd_backfills_the_days_still_moving(self):
        """In collectd, on the simulator's paused clock: the first read asks
        for the 16 days before (their values still move) and dispatches each
        (queue, media, day) the truth counts, at the day's end, as the truth
        says, and nothing else; the counter is their sum."""
        # At noon UTC, whenever the test runs: the day before is closed
        # (an hour after midnight), so the 16 days asked are the truth's.
        # Started at "now" between midnight and 01:00 UTC, the first read
        # asked from the 17th day back, and the truth's newest was not
        # closed yet.
        sim = Simulator("--queues", "3", "--agents", "3", "--flows", "1", "--speed", "60",
                        "--start", next_noon(), "--warmup", "0")
        rx = Receiver()
        try:
            time.sleep(1.5)  # past the certificate's start on the faked clock
            sim.fault({"fault": "pause"})
            truth = sim._open("/sim/truth/resolutions?days=16")
            cd = interval_collectd(sim, rx, "genesys_analytics", 60,
                                   "    ResolutionAggregates true\n")
            try:
                cd.start()
                deadline = time.monotonic() + 60
                while not [a for a in list(rx.arrivals) if a[2][3] == "next_contact_avoided"]:
                    self.assertLess(time.monotonic(), deadline, "nothing dispatched")
                    time.sleep(0.5)
                quiet(rx, lambda k: k[1] == "genesys_analytics", still=3)
                bad = cd.bad_log_lines()
            finally:
                cd.cleanup()
        finally:
            sim.stop()
            rx.stop()
        self.assertEqual(bad, [])
        got, totals = {}, {}
        with rx.lock:
            for _, t, key, value in rx.arrivals:
                if key[1] == "genesys_analytics" and key[3] == "next_contact_avoided":
                    got.setdefault((key[2], key[4], round(t * 1000)), []).append(value)
                if key[1] == "genesys_analytics" and key[3] == "total_next_contact_avoided":
                    # the newest (by its time) is the sum so far
                    k = (key[2], key[4])
                    if k not in totals or t >= totals[k][0]:
                        totals[k] = (t, value)
        want = {}
        for iv, qs in truth["days"].items():
            end = round(iso_ms(iv.split("/")[1]))
            for q, media in qs.items():
                for md, n in media.items():
                    if n > 0:
                        want[(q, md, end)] = [float(n)]
        self.assertTrue(want)
        self.assertEqual(sorted(set(got) - set(want))[:10], [], "dispatched, not in truth")
        self.assertEqual(sorted(set(want) - set(got))[:10], [], "in truth, not dispatched")
        self.assertEqual(got, want)
        sums = {}
        for (q, md, _), (n,) in want.items():
            sums[(q, md)] = sums.get((q, md), 0) + n
        self.assertEqual({k: v for k, (_, v) in totals.items()}, sums)
        print("%d day values of %d days equal the truth" % (len(want), len(truth["days"])),
              file=sys.stderr)

    def test_unknown_metric_counted_rest_read(self):
        sim = Simulator("--queues", "2", "--agents", "2", "--flows", "1", "--speed", "60",
                        "--start", "now", "--warmup", "0",
                        "--resolution-metric-extra", "unknown")
        try:
            got, want, out, _ = self.replay(sim, config(sim), 20, verbose=True)
        finally:
            sim.stop()
        self.assertTrue(want)
        self.assertEqual(got, want)
        # logged once as new, counted in unknown_values
        said = [ln for ln in out.splitlines() if '"nNextContactMade" is not a value' in ln]
        self.assertEqual(len(said), 1, out[-3000:])
        self.assertIn("resolution aggregates: metric", said[0])

    def test_refused_permission_one_line_others_go_on(self):
        sim = Simulator("--queues", "2", "--agents", "2", "--flows", "1", "--speed", "60",
                        "--start", "now", "--warmup", "0",
                        "--deny-permission", "analytics:resolutionAggregate:view")
        try:
            got, want, out, _ = self.replay(sim, config(sim, '    AgentStatus true\n'), 2,
                                            ok=False)
            with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
                f.write(config(sim))
            probe = subprocess.run([CHECK, f.name], capture_output=True, text=True, timeout=60)
            os.unlink(f.name)
        finally:
            sim.stop()
        self.assertEqual(got, {})
        lines = [ln for ln in out.splitlines() if "analytics:resolutionAggregate:view" in ln]
        self.assertEqual(len(lines), 1, out[-3000:])
        self.assertIn("resolution aggregates", lines[0])
        # collectd-genesys-check's probe names the family and the permission
        said = [ln for ln in probe.stdout.splitlines() if "resolution aggregates" in ln]
        self.assertEqual(len(said), 1, probe.stdout + probe.stderr)
        self.assertIn("analytics:resolutionAggregate:view", said[0])
        self.assertRegex(probe.stdout, r"queue aggregates: OK")
        # the other rows ran and answered
        self.assertRegex(out, r"queue aggregates: replay of \S+ \(\d+ requests, \d+ values\): OK")
        self.assertRegex(out, r"agent status: replay of \S+ \(\d+ requests, \d+ values\): OK")


if __name__ == "__main__":
    run_tests(__name__)
