# SPDX-License-Identifier: MIT
"""End to end: collectd-genesys-check --replay (a window of genesys_analytics'
queue aggregates handed to a running collectd again, after a backend
downstream lost it).

The simulator runs at wall-clock speed with two hours of history behind it.
collectd (unixsock, csv) starts with no initial backfill: it dispatches the
newest settled bucket only, so the hour before it is a window it missed,
and csv holds none of it (checked). The replay, FROM given in ISO-8601 and
TO in epoch seconds, puts the window's bucket gauges into that collectd
through its unixsock plugin; csv then holds, for every queue, media type
and bucket of the window, the simulator's truth: offered, answered,
abandoned and the handle count, no more and no less (both ways), and no
counter (total_*) at any time of the window. --stdout prints the same
values as PUTVAL lines, and the plugin's state file is byte-identical
after both replays. An <Org> without Host is replayed under the host name
collectd itself gives it; an unreadable window, and one that has not
settled yet, are refused; a malformed answer fails the replay (exit 1)."""
import datetime
import glob
import hashlib
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import BUILD, Collectd, iso_ms, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402

CHECK = os.path.join(BUILD, "collectd-genesys-check")
PLUGIN = "genesys_analytics"
G_MS = 300000
WINDOW = 12  # buckets replayed: the hour before collectd's first bucket
COUNTS = ("offered", "answered", "abandoned")
PUTVAL = re.compile(r'PUTVAL "([^"]+)" interval=([0-9.]+) ([0-9.]+):(\S+)$')


def expected(truth, start, end):
    """{(queue, type, type_instance, end_s): value} of the truth's buckets
    inside [start, end) ms: what the plugin dispatches per bucket, for every
    queue and media type the truth lists in the bucket."""
    want = {}
    for iv, queues in truth["buckets"].items():
        s, e = (round(iso_ms(x)) for x in iv.split("/"))
        if s < start or e > end:
            continue
        for q, media in queues.items():
            for m, tr in media.items():
                for c in COUNTS:
                    want[(q, c, m, e // 1000)] = float(tr[c])
                want[(q, "duration_count", "handle-" + m, e // 1000)] = \
                    float(tr["handle"]["count"])
    return want



def wanted_type(ty, ti):
    return ty in COUNTS or (ty == "duration_count" and ti.startswith("handle-"))


def state_digest(directory):
    """{path: (sha256, mtime_ns)} of the state files in directory (the
    plugin's default StateDirectory: collectd's BaseDir/genesys)."""
    out = {}
    for path in glob.glob(os.path.join(directory, "*.json")):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out[path] = (hashlib.sha256(f.read()).hexdigest(),
                             os.stat(path).st_mtime_ns)
    return out


class ReplayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "3", "--agents", "12", "--flows", "1",
                            "--speed", "1", "--start", "now", "--warmup", "7200")
        block = cls.sim.org_block(
            "acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
            '    Granularity "PT5M"\n    SettleDelay 30\n')
        cls.cd = Collectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 5\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n"
            "LoadPlugin unixsock\n<Plugin unixsock>\n"
            "  SocketFile \"{sock}\"\n</Plugin>\n",
            stock=("logfile", "csv", "unixsock"), write_threads=1)
        cls.sock = os.path.join(cls.cd.dir, "collectd.sock")
        with open(cls.cd.conf) as f:
            text = f.read().replace("{sock}", cls.sock)
        with open(cls.cd.conf, "w") as f:
            f.write(text)

    @classmethod
    def tearDownClass(cls):
        cls.cd.cleanup()
        cls.sim.stop()

    def csv_window(self, start, end):
        """{(queue, type, type_instance, t_s): value} of csv rows of the
        plugin's queue series with times in (start, end] ms, and the total_*
        rows there separately."""
        got, totals = {}, []
        for d in glob.glob(os.path.join(self.cd.csv, "acme", PLUGIN + "-*")):
            q = os.path.basename(d)[len(PLUGIN) + 1:]
            for path in glob.glob(os.path.join(d, "*")):
                ty, _, ti = os.path.basename(path)[:-len("-YYYY-MM-DD")].partition("-")
                with open(path) as f:
                    for line in f:
                        if line.startswith("epoch"):
                            continue
                        t, v = line.strip().split(",")[:2]
                        t = float(t)
                        if not start < t * 1000 <= end:
                            continue
                        if ty.startswith("total_"):
                            totals.append((q, ty, ti, t))
                        elif wanted_type(ty, ti):
                            got[(q, ty, ti, round(t))] = float(v)
        return got, totals

    def same(self, want, got, where):
        """Both ways: every value the truth has that is not 0 is there and
        equal, and every value there is the truth's for a queue and media
        type the truth has in that bucket (the truth lists a pair with
        zeros where the API answers nothing: 0 either way)."""
        nonzero = {k: v for k, v in want.items() if v}
        self.assertEqual(nonzero, {k: v for k, v in got.items() if v},
                         f"{where}: the values that are not 0")
        for k, v in got.items():
            self.assertIn(k, want, f"{where}: {k} = {v}, not in the truth")

    def first_bucket_end(self, timeout=90):
        """The time (ms) of the first bucket collectd dispatched itself."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ends = []
            for path in glob.glob(os.path.join(self.cd.csv, "acme", PLUGIN + "-*",
                                               "total_offered-*")):
                with open(path) as f:
                    ends += [float(line.split(",")[0]) for line in f
                             if not line.startswith("epoch")]
            if ends:
                return round(min(ends) * 1000)
            time.sleep(0.5)
        self.fail("collectd dispatched no bucket: " + self.cd.log_text()[-2000:])

    def replay(self, start, end, *how):
        frm = datetime.datetime.fromtimestamp(start / 1000, datetime.timezone.utc)
        r = subprocess.run([CHECK, "--replay", frm.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            str(end // 1000), *how, self.cd.conf],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def test_replay_into_running_collectd_and_to_stdout(self):
        self.cd.start()
        try:
            first = self.first_bucket_end()
            end = first - G_MS  # the window ends where collectd began
            start = end - WINDOW * G_MS
            got, totals = self.csv_window(start, end)
            self.assertEqual({}, got, "collectd has the window already")
            state_dir = os.path.join(self.cd.dir, "genesys")  # BaseDir/genesys
            r = self.replay(start, end)
            m = re.search(r"replay of \S+ \((\d+) requests, (\d+) values\): OK", r.stdout)
            self.assertIsNotNone(m, r.stdout + r.stderr)
            sent = int(m.group(2))
            self.assertGreater(sent, 0)
            truth = self.sim._open("/sim/truth?granularity=PT5M&buckets=40")
            want = expected(truth, start, end)
            # collectd's write thread writes what the socket took: wait for
            # every value of the window to reach csv
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                got, totals = self.csv_window(start, end)
                # and for the plugin's state file (written a read late)
                if all(k in got for k, v in want.items() if v) and \
                        glob.glob(os.path.join(state_dir, "analytics-*.json")):
                    break
                time.sleep(0.5)
        finally:
            self.cd.stop()
        self.assertGreater(sum(1 for v in want.values() if v), 3 * WINDOW,
                           "the truth has too few values")
        # both ways: every truth value in csv, and nothing csv has that the
        # truth lacks
        self.same(want, got, "csv")
        self.assertEqual([], totals, "a counter was replayed")
        self.assertEqual([], self.cd.bad_log_lines())

        # --stdout: the same values as PUTVAL lines, the state untouched
        before = state_digest(state_dir)
        self.assertTrue(any(p.endswith(".json") and "analytics" in p for p in before),
                        f"no state file in {state_dir}")
        r = self.replay(start, end, "--stdout")
        self.assertEqual(before, state_digest(state_dir), "a state file changed")
        printed, n_totals = {}, 0
        for line in r.stdout.splitlines():
            mm = PUTVAL.match(line)
            self.assertIsNotNone(mm, line)
            host, pi, tti = mm.group(1).split("/")
            self.assertEqual(("acme", "300.000"), (host, mm.group(2)))
            q = pi[len(PLUGIN) + 1:]
            ty, _, ti = tti.partition("-")
            n_totals += ty.startswith("total_")
            if wanted_type(ty, ti):
                printed[(q, ty, ti, round(float(mm.group(3))))] = float(mm.group(4))
        self.assertEqual(0, n_totals)
        self.same(want, printed, "stdout")
        self.assertEqual(sent, len(r.stdout.splitlines()))

    def test_without_host_the_daemons_hostname(self):
        """An <Org> without Host: the replay names the host as collectd
        does (no Hostname in the configuration: the host's canonical
        name)."""
        block = self.sim.org_block("acme", extra='    InstanceFrom "id"\n'
                                   '    Granularity "PT5M"\n    SettleDelay 30\n')
        cd = Collectd(f"<LoadPlugin {PLUGIN}>\n  Interval 5\n</LoadPlugin>\n"
                      f"<Plugin {PLUGIN}>\n{block}</Plugin>\n")
        try:
            hosts = []
            cd.run_until(lambda: hosts.extend(
                os.path.basename(os.path.dirname(d)) for d in glob.glob(
                    os.path.join(cd.csv, "*", PLUGIN + "-*"))) or hosts, timeout=90)
            self.assertTrue(hosts, "collectd dispatched nothing")
            end = int(time.time()) // 300 * 300 - 600
            r = subprocess.run([CHECK, "--replay", str(end - 1800), str(end),
                                "--stdout", cd.conf],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            names = {PUTVAL.match(line).group(1).split("/")[0]
                     for line in r.stdout.splitlines()}
            self.assertEqual({hosts[0]}, names)
        finally:
            cd.cleanup()

    def test_a_malformed_answer_fails_the_replay(self):
        """An answer that is not JSON: nothing of its range printed, exit 1,
        and the report says the replay stopped."""
        self.sim.fault({"fault": "malformed_json", "count": 1,
                        "path": "/api/v2/analytics/conversations/aggregates/query"})
        end = int(time.time()) // 300 * 300 - 600
        r = subprocess.run([CHECK, "--replay", str(end - 1800), str(end),
                            "--stdout", self.cd.conf],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        self.assertEqual("", r.stdout)
        self.assertRegex(r.stderr, r"replay of \S+ \(1 requests, 0 values\): "
                         r".*the replay stops.*malformed JSON")

    def test_replay_refuses_a_bad_window(self):
        r = subprocess.run([CHECK, "--replay", "yesterday", "1700000000", "--stdout",
                            self.cd.conf], capture_output=True, text=True, timeout=60)
        self.assertEqual(2, r.returncode)
        self.assertIn("ISO-8601", r.stderr)
        now = int(time.time())
        r = subprocess.run([CHECK, "--replay", str(now + 3600), str(now + 7200),
                            "--stdout", self.cd.conf],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        self.assertIn("no bucket of the window has closed", r.stderr)
        self.assertEqual("", r.stdout)


if __name__ == "__main__":
    run_tests(__name__)
