# SPDX-License-Identifier: MIT
"""End to end: collectd-genesys-check --replay (a window of every history
family handed to a running collectd again, after a backend downstream lost
it).

The simulator runs at wall-clock speed with two hours of history behind it.
collectd (unixsock, csv) runs genesys_analytics with AgentStatus and
CallQuality and genesys_flowmetrics with DataActions, and starts with no
initial backfill: it dispatches the newest settled bucket only, so the
hour before it is a window it missed, and csv holds none of it (checked).
The replay, FROM given in ISO-8601 and TO in epoch seconds, puts the
window's bucket gauges into that collectd through its unixsock plugin, one
report line per family; csv then holds, for every bucket of the window,
the simulator's truth, no more and no less (both ways): per queue and media
type offered, answered, abandoned and the handle count; agent time and
agents on average per routing status and presence; every MOS and R-factor
value per queue and media type; per flow its executions, durations,
outcomes and milestones; per data action its executions, errors and
execution times; and no counter (total_*) and no active-flow gauge at any
time of the window. --stdout prints the same values as PUTVAL lines, and
the plugins' state files are byte-identical after both replays. An <Org>
without Host is replayed under the host name collectd itself gives it; an
unreadable window, and one that has not settled yet, are refused; a
malformed answer fails its family's replay (exit 1), not the others'.

genesys_platform's operational events replay too, from the same table the
plugin reads (no code of theirs in the replay): every definition and
bucket of an hour equal to /sim/truth/events both ways (0 included), one
request a bucket, no counter; a window older than the 10 days Genesys keeps
them is refused. So does API usage, by UTC day: each day of a two-day
window one job read to its end, its rows equal to /sim/truth/usage of
that day both ways, stamped at the day's end."""
import datetime
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import BUILD, Collectd, iso_ms, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from test_analytics_mos import CONFIG as MOS_CONFIG, MOS_TYPES  # noqa: E402
from test_analytics_mos import expected_bucket as mos_bucket  # noqa: E402
from test_data_actions import MEASURE, expected_bucket as action_bucket  # noqa: E402
from test_apiusage import expected as usage_expected  # noqa: E402

CHECK = os.path.join(BUILD, "collectd-genesys-check")
PLUGIN = "genesys_analytics"
FLOWS = "genesys_flowmetrics"
FAMILIES = {"queue aggregates", "agent status", "call quality", "flow aggregates",
            "data actions"}
ACTION_TYPES = ("action_executions", "action_errors")
REPORT = re.compile(r": ([a-z ]+): replay of \S+ \((\d+) requests, (\d+) values\): OK$", re.M)
G_MS = 300000
WINDOW = 12  # buckets replayed: the hour before collectd's first bucket
COUNTS = ("offered", "answered", "abandoned")
PUTVAL = re.compile(r'PUTVAL "([^"]+)" interval=([0-9.]+) ([0-9.]+):(\S+)$')


def putvals(tc, text, interval="300.000"):
    """{(plugin, instance, type, type_instance, t s): value} of PUTVAL lines,
    each of host acme and the interval given."""
    out = {}
    for line in text.splitlines():
        mm = PUTVAL.match(line)
        tc.assertIsNotNone(mm, line)
        host, pi, tti = mm.group(1).split("/")
        tc.assertEqual(("acme", interval), (host, mm.group(2)))
        plugin, _, inst = pi.partition("-")
        ty, _, ti = tti.partition("-")
        out[(plugin, inst, ty, ti, round(float(mm.group(3))))] = float(mm.group(4))
    return out


def inside(truth_buckets, start, end):
    """(end s, bucket) of the truth's buckets inside [start, end) ms."""
    for iv, b in truth_buckets.items():
        s, e = (round(iso_ms(x)) for x in iv.split("/"))
        if s >= start and e <= end:
            yield e // 1000, b


def expected(truths, start, end):
    """{family: {(plugin, instance, type, type_instance, end_s): value}} of
    the truth's buckets inside [start, end) ms: what the plugins dispatch
    per bucket."""
    truth, mos, actions = truths
    want = {f: {} for f in FAMILIES}
    for e, queues in inside(truth["buckets"], start, end):
        for q, media in queues.items():
            for m, tr in media.items():
                for c in COUNTS:
                    want["queue aggregates"][(PLUGIN, q, c, m, e)] = float(tr[c])
                want["queue aggregates"][(PLUGIN, q, "duration_count", "handle-" + m, e)] = \
                    float(tr["handle"]["count"])
    for e, kinds in inside(truth["user_buckets"], start, end):
        for kind, statuses in kinds.items():
            for st, ms in statuses.items():
                want["agent status"][(PLUGIN, "agents", "agent_time", f"{kind}-{st}", e)] = ms / 1000
                want["agent status"][(PLUGIN, "agents", "agents_average", f"{kind}-{st}", e)] = \
                    ms / 1000 / (G_MS / 1000)
    rfs = dict(inside(mos["rfactor_buckets"], start, end))
    for e, queues in inside(mos["buckets"], start, end):
        for q, media in queues.items():
            for m, values in media.items():
                for (q_, ty, ti, _), v in mos_bucket(q, m, e, values, rfs[e][q][m]).items():
                    want["call quality"][(PLUGIN, q_, ty, ti, e)] = v
    for e, flows in inside(truth["flow_buckets"], start, end):
        for fid, tr in flows.items():
            want["flow aggregates"].update(flow_bucket(fid, e, tr))
    for e, acts in inside(actions["buckets"], start, end):
        for aid, tr in acts.items():
            for (a, ty, ti, _), v in action_bucket(aid, e, tr, True).items():
                want["data actions"][(FLOWS, a, ty, ti, e)] = v
    return want


def flow_bucket(fid, e, tr):
    """One flow's values of one bucket (ids name outcomes and milestones:
    InstanceFrom "id"); durations as count and average."""
    w = {(FLOWS, fid, "flow_interval_executions", "", e): tr.get("executions", 0)}

    def duration(ti, d):
        w[(FLOWS, fid, "duration_count", ti, e)] = d["count"]
        if d["count"]:
            w[(FLOWS, fid, "duration_avg", ti, e)] = d["sum_ms"] / d["count"] / 1000
    for measure in ("flow", "exit", "disconnect"):
        duration(measure, tr.get(measure, {"count": 0, "sum_ms": 0}))
    for oid, o in tr.get("outcomes", {}).items():
        w[(FLOWS, fid, "flow_interval_outcomes", oid, e)] = o["count"]
        w[(FLOWS, fid, "flow_interval_outcome_failures", oid, e)] = o["failed"]
        duration("outcome-" + oid, o["duration"])
    for mid, n in tr.get("milestones", {}).items():
        w[(FLOWS, fid, "flow_interval_milestones", mid, e)] = n
    return w


def family(key):
    """The family of a value (plugin, instance, type, type_instance, t), or
    None for a queue aggregates type the truth does not give."""
    plugin, inst, ty, ti, _ = key
    if plugin == FLOWS:
        return "data actions" if ty in ACTION_TYPES or ti == MEASURE else "flow aggregates"
    if inst == "agents":
        return "agent status"
    if ty in MOS_TYPES:
        return "call quality"
    if ty in COUNTS or (ty == "duration_count" and ti.startswith("handle-")):
        return "queue aggregates"
    return None


def by_family(values):
    out = {f: {} for f in FAMILIES}
    for k, v in values.items():
        f = family(k)
        if f is not None:
            out[f][k] = v
    return out


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
        cls.sim = Simulator("--queues", "3", "--agents", "12", "--flows", "2",
                            "--speed", "1", "--start", "now", "--warmup", "7200")
        common = ('    Host "acme"\n    InstanceFrom "id"\n'
                  '    Granularity "PT5M"\n    SettleDelay 30\n')
        analytics = cls.sim.org_block(
            "acme", extra=common + "    AgentStatus true\n" + MOS_CONFIG)
        flows = cls.sim.org_block(
            "acme", extra=common + "    DataActions true\n    AttributesFromQueues false\n")
        cls.cd = Collectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 5\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{analytics}</Plugin>\n"
            f"<LoadPlugin {FLOWS}>\n  Interval 5\n</LoadPlugin>\n"
            f"<Plugin {FLOWS}>\n{flows}</Plugin>\n",
            stock=("logfile", "csv", "unixsock"), write_threads=1)
        cls.sock = cls.cd.sock

    @classmethod
    def tearDownClass(cls):
        cls.cd.cleanup()
        cls.sim.stop()

    def csv_window(self, start, end):
        """{(plugin, instance, type, type_instance, t_s): value} of the csv
        rows of both plugins with times in (start, end] ms, and the total_*
        and flow_active rows there separately."""
        got, others = {}, []
        for d in glob.glob(os.path.join(self.cd.csv, "acme", "genesys_*")):
            plugin, _, inst = os.path.basename(d).partition("-")
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
                        if ty.startswith("total_") or ty == "flow_active":
                            others.append((inst, ty, ti, t))
                        else:
                            got[(plugin, inst, ty, ti, round(t))] = float(v)
        return got, others

    def same(self, want, got, where):
        """Per family both ways: every value the truth has that is not 0 is
        there and equal, and every value there is the truth's (the truth
        lists some series with zeros where the API answers nothing: 0 either
        way). A flow's duration max and min, which the truth does not give,
        must stand beside a count of its bucket and bound its average."""
        got = by_family(got)
        for f in FAMILIES:
            w, g = want[f], dict(got[f])
            for k in [k for k in g if k[2] in ("duration_max", "duration_min") and
                      f == "flow aggregates"]:
                v = g.pop(k)
                avg = w.get(k[:2] + ("duration_avg",) + k[3:])
                self.assertIsNotNone(avg, f"{where}: {k} without a count in the truth")
                self.assertTrue(v >= avg - 1e-6 if k[2] == "duration_max" else v <= avg + 1e-6,
                                f"{where}: {k} = {v}, average {avg}")
            nonzero = {k for k, v in w.items() if abs(v) > 1e-9}
            there = {k for k, v in g.items() if abs(v) > 1e-9}
            self.assertEqual(([], []), (sorted((k, w[k]) for k in nonzero - there)[:5],
                                        sorted((k, g[k]) for k in there - nonzero)[:5]),
                             f"{where}, {f}: values not 0 missing, and extra "
                             f"({len(nonzero - there)}, {len(there - nonzero)})")
            for k, v in g.items():
                self.assertIn(k, w, f"{where}, {f}: {k} = {v}, not in the truth")
                self.assertAlmostEqual(w[k], v, delta=2e-6 + abs(w[k]) * 1e-12,
                                       msg=f"{where}, {f}: {k}")

    def truths(self):
        q = "granularity=PT5M&buckets=40"
        return (self.sim._open(f"/sim/truth?{q}&users=1"),
                self.sim._open(f"/sim/truth/mos?{q}"),
                self.sim._open(f"/sim/truth/actions?{q}"))

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
            got, others = self.csv_window(start, end)
            self.assertEqual(({}, []), (got, others), "collectd has the window already")
            state_dir = os.path.join(self.cd.dir, "genesys")  # BaseDir/genesys
            r = self.replay(start, end)
            lines = {m.group(1): (int(m.group(2)), int(m.group(3)))
                     for m in REPORT.finditer(r.stdout)}
            self.assertEqual(FAMILIES, set(lines), r.stdout + r.stderr)
            for f, (requests, values) in lines.items():
                self.assertGreater(requests, 0, f)
                self.assertGreater(values, 0, f)
            sent = sum(v for _, v in lines.values())
            truths = self.truths()
            # conversations are indexed late: the window's are all in by now
            self.assertLessEqual(end + truths[1]["index_delay_max_ms"],
                                 truths[1]["sim_time_ms"] - 60000)
            want = expected(truths, start, end)
            # collectd's write thread writes what the socket took: wait for
            # every value of the window to reach csv
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                got, others = self.csv_window(start, end)
                # and for the plugins' state files (written a read late)
                if all(k in got for w in want.values() for k, v in w.items() if v) and \
                        glob.glob(os.path.join(state_dir, "analytics-*.json")):
                    break
                time.sleep(0.5)
        finally:
            self.cd.stop()
        for f in FAMILIES:
            self.assertGreater(sum(1 for v in want[f].values() if v), WINDOW,
                               f"the truth has too few values of {f}")
        # both ways: every truth value in csv, and nothing csv has that the
        # truth lacks
        self.same(want, got, "csv")
        for f in sorted(FAMILIES):
            print("replay: %s: %d requests, %d values, %d of the truth not 0" % (
                f, *lines[f], sum(1 for v in want[f].values() if v)), file=sys.stderr)
        self.assertEqual([], others, "a counter or an active-flow gauge was replayed")
        self.assertEqual([], self.cd.bad_log_lines())

        # --stdout: the same values as PUTVAL lines, the state untouched
        before = state_digest(state_dir)
        self.assertTrue(any("analytics" in p for p in before) and
                        any(FLOWS in p for p in before), f"no state files in {state_dir}")
        r = self.replay(start, end, "--stdout")
        self.assertEqual(before, state_digest(state_dir), "a state file changed")
        printed = putvals(self, r.stdout)
        self.assertEqual(0, sum(k[2].startswith("total_") or k[2] == "flow_active"
                                for k in printed))
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

    def test_the_daemons_max_series_is_not_the_replays(self):
        """MaxSeries is the daemon's budget of series, not the tool's: with
        MaxSeries 5 in the <Org> blocks the replay prints every series it
        prints without (the budget kept the first 5 it met, another 5 than
        the daemon's, and dropped the rest)."""
        end = int(time.time()) // 300 * 300 - 600
        with open(self.cd.conf) as f:
            conf = f.read()
        self.assertEqual(2, conf.count('    Host "acme"\n'))
        with tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="gen-e2e-",
                                         dir="/tmp") as budgeted:
            budgeted.write(conf.replace('    Host "acme"\n',
                                        '    Host "acme"\n    MaxSeries 5\n'))
            budgeted.flush()
            series = []
            for path in (self.cd.conf, budgeted.name):
                r = subprocess.run([CHECK, "--replay", str(end - 1800), str(end),
                                    "--stdout", path],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(0, r.returncode, r.stdout + r.stderr)
                series.append({PUTVAL.match(line).group(1)
                               for line in r.stdout.splitlines()})
        self.assertGreater(len(series[0]), 2 * 5, series[0])
        self.assertEqual(series[0], series[1])

    def test_a_malformed_answer_fails_the_replay(self):
        """An answer that is not JSON: nothing of its family printed, exit 1,
        the report says its replay stopped, and the other families still
        replay."""
        self.sim.fault({"fault": "malformed_json", "count": 1,
                        "path": "/api/v2/analytics/conversations/aggregates/query"})
        end = int(time.time()) // 300 * 300 - 600
        r = subprocess.run([CHECK, "--replay", str(end - 1800), str(end),
                            "--stdout", self.cd.conf],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"queue aggregates: replay of \S+ \(1 requests, 0 values\): "
                         r".*the replay stops.*malformed JSON")
        types = {PUTVAL.match(line).group(1).split("/")[2].partition("-")[0]
                 for line in r.stdout.splitlines()}
        self.assertEqual(set(), types & set(COUNTS), "a queue aggregate was printed")
        self.assertLessEqual({"agent_time", "mos_conversations", "flow_interval_executions",
                              "action_executions"}, types)
        self.assertEqual(len(FAMILIES) - 1, len(REPORT.findall(r.stderr)), r.stderr)

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

    def test_replay_refuses_a_window_of_decades(self):
        """--replay 0 <now>: each family's window is hundreds of thousands
        of requests a batch of entities. Refused before any request, with
        the estimate; --max-requests lets a long window through."""
        before = self.sim.stats()["requests"]
        now = int(time.time())
        r = subprocess.run([CHECK, "--replay", "0", str(now), "--stdout", self.cd.conf],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        self.assertEqual("", r.stdout)
        refused = re.findall(r": ([a-z ]+): replay window: .*at least (\d+) requests a "
                             r"batch of entities, more than --max-requests 300", r.stderr)
        self.assertEqual(FAMILIES, {f for f, _ in refused}, r.stderr)
        print("# --replay 0 now, requests a batch estimated: "
              + ", ".join(f"{f} {n}" for f, n in refused))
        after = self.sim.stats()["requests"]
        asked = {k: v["total"] - before.get(k, {}).get("total", 0)
                 for k, v in after.items() if "/api/v2/analytics/" in k}
        self.assertEqual({}, {k: v for k, v in asked.items() if v}, "asked all the same")
        r = subprocess.run([CHECK, "--replay", "0", str(now), "--max-requests", "0",
                            "--stdout", self.cd.conf], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(2, r.returncode)
        self.assertIn("--max-requests 0: a whole number", r.stderr)

    def test_replay_gives_up_on_a_socket_that_never_answers(self):
        """A unix socket that accepts and never answers (a stuck daemon,
        another program's socket): the first value waits
        GEN_REPLAY_SOCK_TIMEOUT_S, then the replay ends with exit 1 and says
        why, instead of hanging for ever."""
        import socket
        import threading
        path = os.path.join(tempfile.mkdtemp(prefix="gen-mute-"), "mute.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        held = []
        stop = threading.Event()

        def accept():
            srv.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(srv.accept()[0])  # kept open, never read
                except OSError:
                    pass
        t = threading.Thread(target=accept, daemon=True)
        t.start()
        try:
            end = int(time.time()) // 300 * 300 - 600
            started = time.monotonic()
            r = subprocess.run([CHECK, "--replay", str(end - 1800), str(end),
                                "--socket", path, self.cd.conf],
                               capture_output=True, text=True, timeout=300)
            print(f"# a mute socket: the replay ended after "
                  f"{time.monotonic() - started:.1f} s")
            self.assertEqual(1, r.returncode, r.stdout + r.stderr)
            self.assertIn("collectd did not answer within 10 s", r.stdout + r.stderr)
            self.assertEqual(1, len(held))
        finally:
            stop.set()
            t.join()
            for c in held:
                c.close()
            srv.close()
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)


class OperationalEventsReplayTest(unittest.TestCase):
    def test_events_window_equals_truth_both_ways(self):
        sim = Simulator("--queues", "2", "--agents", "10", "--flows", "1",
                        "--speed", "1", "--start", "now", "--warmup", "7200",
                        "--event-definitions", "5")
        conf = None
        try:
            block = sim.org_block(
                "acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                "    OperationalEvents true\n"
                '    OperationalEventsGranularity "PT5M"\n'
                "    OperationalEventsSettleDelay 30\n"
                "    Edges false\n    Trunks false\n    StatusPage false\n")
            fd, conf = tempfile.mkstemp(suffix=".conf")
            with os.fdopen(fd, "w") as f:
                f.write(f"<Plugin genesys_platform>\n{block}</Plugin>\n")
            end = int(time.time()) // 300 * 300 - 600
            start = end - 3600
            r = subprocess.run([CHECK, "--replay", str(start), str(end), "--stdout", conf],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(0, r.returncode, r.stdout + r.stderr)
            m = re.search(r"operational events: replay of \S+ \((\d+) requests, "
                          r"(\d+) values\): OK", r.stderr)
            self.assertIsNotNone(m, r.stderr)
            self.assertEqual(12, int(m.group(1)), "one request a bucket")
            truth = sim._open("/sim/truth/events?granularity=PT5M&buckets=40")
            want = {}
            for iv, b in truth["buckets"].items():
                e = round(iso_ms(iv.split("/")[1])) // 1000
                if start < e <= end:
                    for did, tr in b.items():
                        want[(did, e)] = float(tr["events"])
            printed = putvals(self, r.stdout)
            got = {(k[1], k[4]): v for k, v in printed.items()
                   if k[0] == "genesys_platform" and k[2] == "operational_events"}
            self.assertEqual(len(printed), len(got), "a counter or another value was replayed")
            self.assertEqual(12 * len(truth["definitions"]), len(want))
            self.assertGreater(sum(1 for v in want.values() if v), 0, "no event in the hour")
            self.assertEqual(sorted(set(got) - set(want))[:5], [], "replayed, not in truth")
            self.assertEqual(sorted(set(want) - set(got))[:5], [], "in truth, not replayed")
            self.assertEqual([], [(k, want[k], got[k]) for k in want if want[k] != got[k]])
            self.assertEqual(int(m.group(2)), len(got))
            # older than Genesys keeps them: refused, nothing asked
            old = int(time.time()) - 11 * 86400
            r = subprocess.run([CHECK, "--replay", str(old - 3600), str(old), "--stdout",
                                conf], capture_output=True, text=True, timeout=60)
            self.assertEqual(1, r.returncode, r.stdout + r.stderr)
            self.assertIn("operational events: replay window", r.stderr)
            self.assertIn("within the time Genesys keeps it", r.stderr)
            self.assertEqual("", r.stdout)
        finally:
            if conf:
                os.unlink(conf)
            sim.stop()


class SpeechReplayTest(unittest.TestCase):
    def test_speech_window_equals_truth_both_ways(self):
        """SpeechAnalytics: an hour that ended an hour ago replayed (voice
        and chat are there 30 minutes after the conversation), each bucket's
        analysed conversations and sentiment per queue and media equal to
        the truth, both ways; no counter."""
        sim = Simulator("--queues", "2", "--agents", "8", "--flows", "1",
                        "--speed", "1", "--start", "now", "--warmup", "60")
        conf = None
        try:
            block = sim.org_block(
                "acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                '    SpeechAnalytics true\n    Granularity "PT5M"\n'
                '    Metric "offered"\n')
            fd, conf = tempfile.mkstemp(suffix=".conf")
            with os.fdopen(fd, "w") as f:
                f.write(f"<Plugin genesys_analytics>\n{block}</Plugin>\n")
            end = int(time.time()) // 300 * 300 - 3600
            start = end - 3600
            r = subprocess.run([CHECK, "--replay", str(start), str(end), "--stdout", conf],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(0, r.returncode, r.stdout + r.stderr)
            self.assertRegex(r.stderr, r"speech and text analytics: replay of \S+ "
                             r"\(\d+ requests, \d+ values\): OK")
            truth = sim._open("/sim/truth/speech?granularity=PT5M&buckets=40")
            want = {}
            for e, b in inside(truth["buckets"], start * 1000, end * 1000):
                for q, media in b.items():
                    for m, st in media.items():
                        want[(q, "speech_analyzed_conversations", m, e)] = float(
                            st["nSpeechTextAnalyzedConversations"]["count"])
                        sc = st["oSentimentScore"]
                        want[(q, "score_avg", "sentiment-" + m, e)] = sc["sum"] / sc["count"]
                        want[(q, "score_min", "sentiment-" + m, e)] = float(sc["min"])
            printed = putvals(self, r.stdout)
            got = {(k[1], k[2], k[3], k[4]): v for k, v in printed.items()
                   if k[2] in ("speech_analyzed_conversations", "score_avg", "score_min")}
            self.assertFalse([k for k in printed if k[2].startswith("total_")],
                             "a counter was replayed")
            self.assertGreater(len(want), 20)
            self.assertEqual(sorted(set(got) - set(want))[:5], [], "replayed, not in truth")
            self.assertEqual(sorted(set(want) - set(got))[:5], [], "in truth, not replayed")
            self.assertEqual([], [(k, want[k], got[k]) for k in want
                                  if abs(want[k] - got[k]) > 1e-6])
        finally:
            if conf:
                os.unlink(conf)
            sim.stop()


class RateLimitsReplayTest(unittest.TestCase):
    def test_limits_window_equals_truth_both_ways_first_shard_only(self):
        """RateLimitAggregates in the operational events' buckets: an hour
        replayed, one request a bucket for every limit, each bucket's value
        of each limit equal to the truth, both ways; a second shard asks
        nothing (the org's values are the first shard's)."""
        sim = Simulator("--queues", "2", "--agents", "10", "--flows", "1",
                        "--speed", "1", "--start", "now", "--warmup", "7200")
        conf = None
        try:
            def write(extra):
                block = sim.org_block(
                    "acme", extra='    Host "acme"\n    RateLimitAggregates true\n'
                    '    OperationalEventsGranularity "PT5M"\n'
                    "    Edges false\n    Trunks false\n    StatusPage false\n" + extra)
                with open(conf, "w") as f:
                    f.write(f"<Plugin genesys_platform>\n{block}</Plugin>\n")
            fd, conf = tempfile.mkstemp(suffix=".conf")
            os.close(fd)
            write("")
            end = int(time.time()) // 300 * 300 - 600
            start = end - 3600
            r = subprocess.run([CHECK, "--replay", str(start), str(end), "--stdout", conf],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(0, r.returncode, r.stdout + r.stderr)
            m = re.search(r"rate-limit aggregates: replay of \S+ \((\d+) requests, "
                          r"(\d+) values\): OK", r.stderr)
            self.assertIsNotNone(m, r.stderr)
            self.assertEqual(12, int(m.group(1)), "one request a bucket")
            truth = sim._open("/sim/truth/ratelimits?granularity=PT5M&buckets=40")
            want = {}
            for iv, b in truth["buckets"].items():
                e = round(iso_ms(iv.split("/")[1])) // 1000
                if start < e <= end:
                    for name, n in b.items():
                        want[("ratelimit-" + name, e)] = float(n)
            printed = putvals(self, r.stdout)
            got = {(k[1], k[4]): v for k, v in printed.items()
                   if k[0] == "genesys_platform" and k[2] == "rate_limit_recorded"}
            self.assertEqual(len(printed), len(got), "a counter or another value was replayed")
            self.assertGreaterEqual(len({k[0] for k in want}), 3, want)
            self.assertEqual(sorted(set(got) - set(want))[:5], [], "replayed, not in truth")
            self.assertEqual(sorted(set(want) - set(got))[:5], [], "in truth, not replayed")
            self.assertEqual([], [(k, want[k], got[k]) for k in want if want[k] != got[k]])
            self.assertEqual(int(m.group(2)), len(got))
            # a second shard: the row is not its own, nothing asked
            before = sim.stats()["requests"].get(
                "POST /api/v2/analytics/ratelimits/aggregates/query", {}).get("total", 0)
            write('    Shard "2/2"\n')
            r = subprocess.run([CHECK, "--replay", str(start), str(end), "--stdout", conf],
                               capture_output=True, text=True, timeout=120)
            self.assertNotIn("rate-limit aggregates", r.stderr)
            self.assertEqual("", r.stdout)
            self.assertEqual(before, sim.stats()["requests"].get(
                "POST /api/v2/analytics/ratelimits/aggregates/query", {}).get("total", 0))
        finally:
            if conf:
                os.unlink(conf)
            sim.stop()


class ApiUsageReplayTest(unittest.TestCase):
    def test_days_equal_truth_both_ways(self):
        sim = Simulator("--queues", "1", "--agents", "2", "--speed", "1", "--start", "now",
                        "--usage-clients", "4", "--usage-pending", "2")
        conf = None
        try:
            block = sim.org_block(
                "acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                "    ApiUsage true\n    ApiUsageByRoute true\n"
                "    Edges false\n    Trunks false\n    StatusPage false\n")
            fd, conf = tempfile.mkstemp(suffix=".conf")
            with os.fdopen(fd, "w") as f:
                f.write(f"<Plugin genesys_platform>\n{block}</Plugin>\n")
            day = 86400
            today = int(time.time()) // day * day
            r = subprocess.run([CHECK, "--replay", str(today - 2 * day), str(today),
                                "--stdout", conf], capture_output=True, text=True, timeout=120)
            self.assertEqual(0, r.returncode, r.stdout + r.stderr)
            m = re.search(r"api usage: replay of \S+ \((\d+) requests, (\d+) values\): OK",
                          r.stderr)
            self.assertIsNotNone(m, r.stderr)
            # a day: its job POSTed, its status asked 2 times, its page read
            self.assertEqual(2 * 4, int(m.group(1)))
            lines = r.stdout.splitlines()
            printed = putvals(self, r.stdout, "86400.000")
            self.assertEqual({"genesys_platform"}, {k[0] for k in printed})
            got = {k[1:]: v for k, v in printed.items()}
            want = {}
            for d in (today - 2 * day, today - day):
                iso = datetime.datetime.fromtimestamp(d, datetime.timezone.utc)
                truth = sim._open("/sim/truth/usage?day=" + iso.strftime("%Y-%m-%d"))
                self.assertTrue(truth["clients"], "the truth has no client that day")
                for k, v in usage_expected(truth, by_id=True).items():
                    want[k + (d + day,)] = v
            self.assertEqual(sorted(set(got) - set(want))[:5], [], "replayed, not in truth")
            self.assertEqual(sorted(set(want) - set(got))[:5], [], "in truth, not replayed")
            self.assertEqual([], [(k, want[k], got[k]) for k in want if want[k] != got[k]])
            self.assertEqual(int(m.group(2)), len(lines))
        finally:
            if conf:
                os.unlink(conf)
            sim.stop()


if __name__ == "__main__":
    run_tests(__name__)
