# SPDX-License-Identifier: MIT
"""End to end: a standby per shard through a real etcd (StandbyEtcd).

Two collectd agents, each with its own OAuth client, are configured for
the same org and shard: genesys_analytics (queue aggregates, PT1M buckets)
and genesys_realtime (live queue values). etcd 3.4 (Debian's etcd-server)
is started by the test on loopback ports; agent B reaches it through a TCP
relay the test can cut.

- SIGKILL: A holds, B stands by and dispatches nothing of the org. A is
  killed; B takes the shard, restores A's state from etcd (the history's
  progress and totals) and goes on: every history series continues from
  the next bucket A had not dispatched (no gap), a bucket both wrote has the
  same values in both (nothing counted twice), live values resume, and the
  reconcile check finds B's values equal to Genesys'.
- Cut from etcd: A is started again and stands by; B's relay to etcd is
  cut (B keeps running). B stops its values before its lease can expire
  (the fence); A takes over; no live series has a value from B after A's
  first one.
The take-over time is reported by bench/bench_standby.py, not asserted."""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import BUILD, Collectd, run_tests  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from sim_harness import Simulator, stop_process  # noqa: E402

CHECK = os.path.join(BUILD, "collectd-genesys-check")
TTL_S = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Etcd:
    """A one-member etcd on loopback ports, its data in a temporary
    directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gen-e2e-etcd-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        peer = f"http://127.0.0.1:{free_port()}"
        self.proc = subprocess.Popen(
            ["etcd", "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"default={peer}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        ok = wait_for(lambda: self.get("/health") is not None, 30, 0.2)
        assert ok, "etcd did not start"

    def get(self, path):
        import urllib.request
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as r:
                return r.read()
        except OSError:
            return None

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class Relay:
    """A TCP relay to etcd that the test can cut: connections open then are
    closed, new ones refused (the listening socket closed)."""

    def __init__(self, port):
        self.target = port
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.srv.listen(16)
        self.conns = []
        self.cut_ = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.cut_:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.cut_ = True
        self.srv.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass


def agent_conf(sim, name, etcd_url):
    keys = (f'    Host "acme"\n    StandbyEtcd "{etcd_url}"\n'
            f'    StandbyTTL {TTL_S}\n    StandbyName "{name}"\n')
    history = ('    Granularity "PT1M"\n    SettleDelay 5\n'
               '    BackfillHorizon 1800\n')
    return ("<LoadPlugin genesys_analytics>\n  Interval 2\n</LoadPlugin>\n"
            "<Plugin genesys_analytics>\n"
            + sim.org_block("acme", extra=keys + history) + "</Plugin>\n"
            "<LoadPlugin genesys_realtime>\n  Interval 1\n</LoadPlugin>\n"
            "<Plugin genesys_realtime>\n"
            + sim.org_block("acme", extra=keys) + "</Plugin>\n")


def rows(cd, plugin_glob, type_glob):
    """{(series file, time): value} of csv files under host acme, the
    self-metrics left out."""
    out = {}
    for path in glob.glob(os.path.join(cd.csv, "acme", plugin_glob, type_glob)):
        if "-self/" in path:
            continue  # the plugins' self-metrics: not the org's values
        series = re.sub(r"-\d{4}-\d\d-\d\d$", "", path[len(cd.csv):])
        with open(path) as f:
            for line in f:
                if line[:1].isdigit():
                    t, v = line.strip().split(",")[:2]
                    out[(series, float(t))] = float(v)
    return out


def holding(cd, plugin):
    """Whether cd's log says it holds plugin's shard since it last started
    (the last line of the two kinds wins)."""
    since = cd.log_text().split("Initialization complete")[-1]  # this run's
    lines = re.findall(rf'{plugin} plugin: Org "acme": agent "\w+" '
                       r"(holds|no longer holds)", since)
    return bool(lines) and lines[-1] == "holds"


class StandbyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "3", "--agents", "12", "--speed", "1",
                            "--start", "now", "--warmup", "1800")
        cls.etcd = Etcd()
        cls.relay = Relay(cls.etcd.port)
        cls.a = Collectd(agent_conf(cls.sim, "a", cls.etcd.url),
                         stock=("logfile", "csv", "unixsock"), write_threads=1)
        cls.b = Collectd(agent_conf(cls.sim, "b", f"http://127.0.0.1:{cls.relay.port}"),
                         stock=("logfile", "csv", "unixsock"), write_threads=1)

    @classmethod
    def tearDownClass(cls):
        for cd in (cls.a, cls.b):
            cd.cleanup()
        cls.relay.cut()
        cls.etcd.stop()
        cls.sim.stop()

    def test_takeover(self):
        a, b = self.a, self.b
        a.start()
        self.assertTrue(wait_for(lambda: holding(a, "genesys_analytics")
                                 and holding(a, "genesys_realtime"), 30, 0.2),
                        a.log_text())
        b.start()
        self.assertTrue(wait_for(lambda: "standing by" in b.log_text(), 30, 0.2),
                        b.log_text())
        # A's history up to a bucket, its state copied to etcd
        hist = "genesys_analytics-*"
        self.assertTrue(wait_for(lambda: len(rows(a, hist, "*")) > 0, 60, 0.5))
        time.sleep(3)
        self.assertEqual({}, rows(b, hist, "*"), "the standby dispatched the org")
        self.assertEqual({}, rows(b, "genesys_realtime-*", "*"))
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.proc = None
        killed = max(t for _, t in rows(a, hist, "*"))
        # B takes over and dispatches a bucket after the last one A wrote
        self.assertTrue(wait_for(lambda: any(t > killed for _, t in rows(b, hist, "*")),
                                 150, 0.5), b.log_text())
        self.assertRegex(b.log_text(), r"state .*analytics-acme\.json .*restored")
        ra, rb = rows(a, hist, "*"), rows(b, hist, "*")
        both = set(ra) & set(rb)
        # a bucket both wrote: the same value (nothing counted twice)
        self.assertEqual({k: ra[k] for k in both}, {k: rb[k] for k in both})
        # no gap: each series B continues has every minute after A's last
        series = {s for s, _ in ra}
        for s in series:
            ta = sorted(t for x, t in ra if x == s)
            tb = sorted(t for x, t in rb if x == s)
            if not tb:
                continue
            joined = sorted(set(ta) | set(tb))
            gaps = [(x, y) for x, y in zip(joined, joined[1:]) if y - x > 60]
            self.assertEqual([], gaps, s)
        self.assertTrue(wait_for(lambda: rows(b, "genesys_realtime-*", "*"), 30, 0.5))
        # B's values equal Genesys' (the reconcile check on B's collectd)
        # (the last bucket: one B has just dispatched, the next a minute away;
        # a metric the newest bucket lacks is then absent on both sides)
        r = subprocess.run([CHECK, "--reconcile", "--buckets", "1", b.conf],
                           capture_output=True,
                           text=True, timeout=120)
        self.assertIn(r.returncode, (0,), r.stdout + r.stderr)

        # A comes back and stands by; B is cut from etcd and fences itself
        live = "genesys_realtime-*"
        before = max(t for _, t in rows(a, live, "*"))
        a.start()
        self.assertTrue(wait_for(lambda: "standing by" in a.log_text()
                                 .split("Initialization complete")[-1], 30, 0.2))
        self.relay.cut()
        self.assertTrue(wait_for(lambda: holding(a, "genesys_realtime"),
                                 4 * TTL_S + 10, 0.2), a.log_text())
        self.assertRegex(b.log_text(), r"genesys_realtime plugin: Org \"acme\": "
                         r"agent \"b\" no longer holds")
        self.assertTrue(wait_for(lambda: any(t > before for _, t in rows(a, live, "*")),
                                 30, 0.2))
        time.sleep(3)
        first_a = min(t for _, t in rows(a, live, "*") if t > before)
        late_b = [k for k, _ in rows(b, live, "*").items() if k[1] >= first_a]
        self.assertEqual([], late_b, "B wrote a live value after A's first")
        self.assertEqual([], a.bad_log_lines(allow=(r".*etcd.*",)))


if __name__ == "__main__":
    run_tests(__name__)
