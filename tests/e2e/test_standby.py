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
- A state file past 64 MiB (a large org's revisit records' journal) goes
  to etcd whole, read a piece at a time (the manifests move once every
  piece is in; a copy over several reads is test_standby's); an
  append to it puts only the pieces it changed (every other piece keeps
  its key and its revision in etcd), and a take-over restores it byte for
  byte, and a file an earlier version copied; pieces no manifest names
  are deleted by the new holder.
- A copy of many changed files (20 files of 8 replaced pieces each, then
  140 new files at once) under etcd's default --max-txn-ops (128): every
  manifest moves, every replaced piece is deleted.
- etcd killed under the holder for three leases: the holder stops at its
  fence and says so (notification and self-metric standby_stopped), and
  says when etcd answers again and it collects the org again.
- etcd over TLS with client certificates (StandbyCACert, StandbyClientCert,
  StandbyClientKey): an agent without a certificate is refused and never
  holds; one with it holds, and the check command says so.
The take-over time is reported by bench/bench_standby.py, not asserted."""
import glob
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import BUILD, Collectd, iso_ms, run_tests  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from etcd_harness import Etcd, Relay  # noqa: E402
from sim_harness import Simulator  # noqa: E402

CHECK = os.path.join(BUILD, "collectd-genesys-check")
TTL_S = 5
COUNTS = ("offered", "answered")


def agent_conf(sim, name, etcd_url):
    # StandbySyncInterval past the test: etcd holds the state as first
    # copied (a take-over resumes from it), which the first read writes
    # as ".next", renamed a read later
    keys = (f'    Host "acme"\n    InstanceFrom "id"\n    StandbyEtcd "{etcd_url}"\n'
            f'    StandbyTTL {TTL_S}\n    StandbyName "{name}"\n'
            '    StandbySyncInterval 3600\n')
    history = ('    Granularity "PT1M"\n    SettleDelay 5\n'
               '    BackfillHorizon 1800\n')
    return ("<LoadPlugin genesys_analytics>\n  Interval 2\n</LoadPlugin>\n"
            "<Plugin genesys_analytics>\n"
            + sim.org_block("acme", extra=keys + history) + "</Plugin>\n"
            "<LoadPlugin genesys_realtime>\n  Interval 1\n</LoadPlugin>\n"
            "<Plugin genesys_realtime>\n"
            + sim.org_block("acme", extra=keys) + "</Plugin>\n")


def rows(cd, plugin_glob, type_glob="*"):
    """{(plugin instance, type, type instance, time s): value} of the csv
    files under host acme, the self-metrics left out."""
    out = {}
    for path in glob.glob(os.path.join(cd.csv, "acme", plugin_glob, type_glob)):
        plugin_dir, name = path.split("/")[-2:]
        if plugin_dir.endswith("-self"):
            continue  # the plugins' self-metrics: not the org's values
        inst = plugin_dir.split("-", 1)[1]
        type_, ti = re.sub(r"-\d{4}-\d\d-\d\d$", "", name).split("-", 1)
        with open(path) as f:
            for line in f:
                if line[:1].isdigit():
                    t, v = line.strip().split(",")[:2]
                    out[(inst, type_, ti, float(t))] = float(v)
    return out


def settled(cd, plugin_glob, still=1.5):
    """Waits until cd's csv rows of plugin_glob stop changing (a bucket's
    values all written)."""
    n, since = -1, time.monotonic()
    while time.monotonic() - since < still:
        now = len(rows(cd, plugin_glob))
        if now != n:
            n, since = now, time.monotonic()
        time.sleep(0.2)


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

    def check_truth(self, got, last):
        """A's and B's buckets together equal the simulator's, both ways,
        from A's first bucket to B's last (no gap), and each counter at B's
        last bucket is the sum of the truth's buckets since A's first (A's
        totals carried over, nothing counted twice)."""
        first = min(k[3] for k in got)
        truth = self.sim._open(f"/sim/truth?granularity=PT1M&buckets={int(last - first) // 60 + 5}")
        want, totals = {}, {}
        for iv, queues in truth["buckets"].items():
            end = iso_ms(iv.split("/")[1]) / 1000
            if not first <= end <= last:
                continue
            for q, media in queues.items():
                for m, tr in media.items():
                    for c in COUNTS:
                        if tr[c]:
                            want[(q, c, m, end)] = tr[c]
                        totals[(q, "total_" + c, m)] = totals.get((q, "total_" + c, m), 0) + tr[c]
        self.assertGreater(len(want), 0)
        counts = {k: v for k, v in got.items() if k[1] in COUNTS and first <= k[3] <= last and v}
        self.assertEqual(want, counts)
        at_last = {}  # each counter's value at its newest time
        for (q, ty, m, t), v in sorted(got.items(), key=lambda kv: kv[0][3]):
            if ty.startswith("total_") and ty[len("total_"):] in COUNTS:
                at_last[(q, ty, m)] = v
        want_totals = {k: v for k, v in totals.items() if v}
        got_totals = {k: v for k, v in at_last.items() if v}
        differ = set(want_totals.items()) ^ set(got_totals.items())
        # the rows read again for the message: on a failure only
        self.assertEqual(want_totals, got_totals, self.explain(
            truth, {(k[0], k[2]) for k, _ in differ}) if differ else None)

    def explain(self, truth, pairs):
        """The rows of A and B and the truth's buckets of each (queue,
        media) in pairs, for a failure's message."""
        ra, rb = rows(self.a, "genesys_analytics-*"), rows(self.b, "genesys_analytics-*")
        out = []
        for q, m in sorted(pairs):
            for who, r in (("A", ra), ("B", rb)):
                out += [f"{who} {k[1]} {k[3]:.0f} {v}" for k, v in sorted(
                    r.items(), key=lambda kv: (kv[0][3], kv[0][1]))
                    if k[0] == q and k[2] == m and k[1].split("_")[-1] in COUNTS]
            for iv, queues in sorted(truth["buckets"].items()):
                tr = queues.get(q, {}).get(m)
                if tr and any(tr[c] for c in COUNTS):
                    out.append(f"truth {iv} " + " ".join(f"{c}={tr[c]}" for c in COUNTS))
        for who, cd in (("A", self.a), ("B", self.b)):
            out += [f"{who} log: {line}" for line in cd.log_text().splitlines()
                    if "analytics" in line and ("state" in line or "hold" in line)]
        return "\n".join(out)

    def test_takeover(self):
        a, b = self.a, self.b
        # (a file restored from several pieces: StandbyLargeStateTest, and
        # test_standby's copy_fenced_and_restored)
        env = dict(os.environ)
        a.start(env)
        self.assertTrue(wait_for(lambda: holding(a, "genesys_analytics")
                                 and holding(a, "genesys_realtime"), 30, 0.2),
                        a.log_text())
        # (a take-over whose fetch of A's state fails, asked again at the
        # next reads: test_standby's fetch_failed_is_asked_again)
        b.start(env)
        self.assertTrue(wait_for(lambda: "standing by" in b.log_text(), 30, 0.2),
                        b.log_text())
        # A's history up to a bucket, its state copied to etcd
        hist = "genesys_analytics-*"
        # A has counted conversations of a queue and media in a bucket before
        # its newest: a bucket a fresh start at the take-over (which begins
        # with the newest settled bucket) would not count
        def counted_before_last():
            ra = rows(a, hist)
            last = max((k[3] for k in ra), default=0)
            return {(k[0], k[2]) for k, v in ra.items()
                    if k[1] == "offered" and v > 0 and k[3] < last}
        self.assertTrue(wait_for(counted_before_last, 240, 0.5))

        # A is killed between buckets: the newest bucket (the one that ended
        # at this minute's start) wholly written, the next a settle delay
        # after the next minute. (A kill while a bucket's values are still
        # in collectd's write queue loses them with the process: the
        # manual's STANDBY says so; that is not the case checked here.)
        def between_buckets():
            settled(a, hist)
            now = time.time()
            newest = max(k[3] for k in rows(a, hist))
            return newest >= now - now % 60 and now % 60 < 55
        self.assertTrue(wait_for(between_buckets, 120, 0.2))
        self.assertEqual({}, rows(b, hist), "the standby dispatched the org")
        self.assertEqual({}, rows(b, "genesys_realtime-*"))
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.proc = None
        killed = max(k[3] for k in rows(a, hist))
        # B takes over and counts a bucket after the last one A wrote, for a
        # queue and media of those (without A's state, B's counter would
        # lack A's bucket)
        counted = counted_before_last()

        def carried():
            return any(k[1] == "total_offered" and k[3] > killed and (k[0], k[2]) in counted
                       for k in rows(b, hist))
        self.assertTrue(wait_for(carried, 300, 0.5), b.log_text())
        settled(b, hist)
        ra, rb = rows(a, hist), rows(b, hist)
        both = set(ra) & set(rb)
        # a bucket both wrote: the same value (nothing counted twice)
        self.assertEqual({k: ra[k] for k in both}, {k: rb[k] for k in both})
        self.check_truth({**ra, **rb}, max(k[3] for k in rb))
        self.assertRegex(b.log_text(), r"state .*analytics-acme\.json \(\d+ bytes\) "
                         r"from the last holder: restored")
        # the revisit records' journal moves with it, and B reads it as that
        # state file's (its id, its epoch): no revisit counts a bucket whole
        self.assertRegex(b.log_text(), r"state .*analytics-acme\.json\.records "
                         r"\(\d+ bytes\) from the last holder: restored")
        self.assertNotIn("is not the journal of", b.log_text())
        self.assertNotIn("count whole", b.log_text())
        # every live count A wrote, B writes (live values resumed; counts go
        # out at every read, zeros too)
        def series(cd, after=0):
            return {k[:3] for k in rows(cd, "genesys_realtime-*")
                    if k[3] > after and k[1] in ("waiting", "interacting", "alerting")}
        a_live = series(a)
        self.assertTrue(a_live)
        self.assertTrue(wait_for(lambda: series(b) >= a_live, 30, 0.5),
                        sorted(a_live - series(b))[:5])
        # B's values equal Genesys' (the reconcile check on B's collectd)
        # (the last bucket: one B has just dispatched, the next a minute away;
        # a metric the newest bucket lacks is then absent on both sides)
        r = subprocess.run([CHECK, "--reconcile", "--buckets", "1", b.conf],
                           capture_output=True,
                           text=True, timeout=120)
        self.assertIn(r.returncode, (0,), r.stdout + r.stderr)

        # the check command says which agent holds each plugin's shard
        r = subprocess.run([CHECK, b.conf], capture_output=True, text=True, timeout=120)
        for plugin in ("genesys_analytics", "genesys_realtime"):
            self.assertIn(f'standby: OK, b holds /collectd-genesys/acme/1-1/{plugin}/holder',
                          r.stdout)

        # A comes back and stands by; B is cut from etcd and fences itself
        live = "genesys_realtime-*"
        before = max(k[3] for k in rows(a, live))
        a.start(env)
        self.assertTrue(wait_for(lambda: "standing by" in a.log_text()
                                 .split("Initialization complete")[-1], 30, 0.2))
        self.relay.cut()
        self.assertTrue(wait_for(lambda: holding(a, "genesys_realtime"),
                                 4 * TTL_S + 10, 0.2), a.log_text())
        self.assertRegex(b.log_text(), r"genesys_realtime plugin: Org \"acme\": "
                         r"agent \"b\" no longer holds")
        self.assertTrue(wait_for(lambda: any(k[3] > before for k in rows(a, live)),
                                 30, 0.2))
        b_live = series(b)
        self.assertTrue(wait_for(lambda: series(a, before) >= b_live, 30, 0.5),
                        sorted(b_live - series(a, before))[:5])
        time.sleep(3)
        first_a = min(k[3] for k in rows(a, live) if k[3] > before)
        late_b = [k for k in rows(b, live) if k[3] >= first_a]
        self.assertEqual([], late_b, "B wrote a live value after A's first")
        self.assertEqual([], a.bad_log_lines(allow=(r".*etcd.*",)))


def fnv(data):
    """FNV-1a, 64 bits: the standby's content hash."""
    h = 14695981039346656037
    for byte in data:
        h = ((h ^ byte) * 1099511628211) % 2**64
    return h


class StandbyLargeStateTest(unittest.TestCase):
    """The file is one the test puts beside the state file (the standby
    copies a state file's every sibling), of text lines as a journal's:
    making the plugin's own journal that large takes thousands of queues."""
    PAD_BYTES = 66 << 20  # past the 64 MiB the copy took before (read whole)
    PIECE = 512 << 10

    TLS = False

    def setUp(self):
        self.sim = Simulator("--queues", "2", "--agents", "4", "--speed", "1",
                             "--start", "now", "--warmup", "600")
        self.etcd = Etcd(tls=self.TLS)
        self.agents = []

    def tearDown(self):
        for cd in self.agents:
            cd.cleanup()
        self.etcd.stop()
        self.sim.stop()

    def agent(self, name):
        keys = (f'    Host "acme"\n    InstanceFrom "id"\n    StandbyEtcd "{self.etcd.url}"\n'
                f'    StandbyTTL {TTL_S}\n    StandbyName "{name}"\n'
                f'    StandbyPieceSize {self.PIECE}\n'
                '    StandbySyncInterval 0\n    Granularity "PT1M"\n    SettleDelay 5\n')
        cd = Collectd("<LoadPlugin genesys_analytics>\n  Interval 1\n</LoadPlugin>\n"
                      "<Plugin genesys_analytics>\n"
                      + self.sim.org_block("acme", extra=keys) + "</Plugin>\n",
                      stock=("logfile", "csv"), write_threads=1)
        self.agents.append(cd)
        return cd

    def manifest(self, name):
        """The pad's manifest as etcd holds it: (bytes, gen, piece hashes)."""
        root = "/collectd-genesys/acme/1-1/genesys_analytics/"
        got = self.etcd.range(root + "state/" + name)
        if not got:
            return None
        f = next(iter(got.values()))[0].decode().split()
        return int(f[2]), f[3], f[4:]

    def pieces(self, name, gen):
        root = f"/collectd-genesys/acme/1-1/genesys_analytics/data/{name}/{gen}/"
        return {k[len(root):]: rev for k, (_, rev) in
                self.etcd.range(root, prefix=True).items()}

    def copied(self, cd):
        """Every standby_copied_bytes cd wrote (csv, raw counter): the
        newest is the largest."""
        files = glob.glob(os.path.join(cd.csv, "*", "genesys_analytics-standby",
                                       "standby_copied_bytes-acme-*"))
        values = [0.0]
        for path in files:
            with open(path) as f:
                values += [float(ln.split(",")[1]) for ln in f if ln[:1].isdigit()]
        return values

    def test_large_file_copied_by_what_changed(self):
        a = self.agent("a")
        # (a copy past a read's 10 s going on over several reads:
        # test_standby's copy_goes_on_over_reads)
        a.start()
        self.assertTrue(wait_for(lambda: holding(a, "genesys_analytics"), 30, 0.2),
                        a.log_text())
        states = []
        self.assertTrue(wait_for(lambda: states.extend(glob.glob(os.path.join(
            a.dir, "genesys", "*analytics-acme.json"))) or states, 60, 0.2))
        name = os.path.basename(states[0]) + ".pad"
        pad = states[0] + ".pad"
        tmp = os.path.join(a.dir, "pad-being-written")
        with open(tmp, "w") as f:
            line = 0
            while f.tell() < self.PAD_BYTES:
                f.write("".join(f"R {i:012d} {i * 2654435761 % 2**32:010d} "
                                f"{'x' * 70}\n" for i in range(line, line + 10000)))
                line += 10000
        os.replace(tmp, pad)
        size = os.path.getsize(pad)
        # pieces in etcd, no manifest yet: a take-over now restores the last
        # whole copy (without the file), not a part of it
        data = f"/collectd-genesys/acme/1-1/genesys_analytics/data/{name}/"
        self.assertTrue(wait_for(lambda: self.etcd.range(data, prefix=True), 60, 0.05))
        self.assertIsNone(self.manifest(name))
        self.assertTrue(wait_for(lambda: (self.manifest(name) or (0,))[0] == size,
                                 300, 0.5), a.log_text()[-3000:])
        self.assertTrue(wait_for(lambda: max(self.copied(a)) >= size, 30, 0.5),
                        self.copied(a))
        _, gen, hashes = self.manifest(name)
        self.assertEqual(-(-size // self.PIECE), len(hashes))
        before = self.pieces(name, gen)
        self.assertEqual(len(hashes), len(before))

        # an append: the pieces before the last stand, the last is replaced
        with open(pad, "a") as f:
            f.write("".join(f"A {i:012d}\n" for i in range(1000)))
        grown = os.path.getsize(pad)
        self.assertTrue(wait_for(lambda: (self.manifest(name) or (0,))[0] == grown,
                                 60, 0.5), a.log_text()[-3000:])
        _, gen2, hashes2 = self.manifest(name)
        self.assertEqual(gen, gen2, "rewritten under a new directory")
        after = self.pieces(name, gen)
        whole = size // self.PIECE
        kept = {k: v for k, v in before.items() if int(k.split(".")[0]) < whole}
        self.assertEqual(kept, {k: after[k] for k in kept if k in after})
        self.assertEqual(len(hashes2), len(after), "a replaced piece left behind")
        self.assertLessEqual(len(set(after) - set(before)), 2)

        # a take-over restores it byte for byte
        with open(pad, "rb") as f:
            want = hashlib.sha256(f.read()).hexdigest()
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.proc = None
        # and a file as an agent before this version copied it (a manifest
        # "<hash of the content> <pieces> <bytes>", pieces by index)
        old_name, old_data = os.path.basename(states[0]) + ".old", b"line 1\nline 2\n"
        h = fnv(old_data)
        root = "/collectd-genesys/acme/1-1/genesys_analytics/"
        self.etcd.put(f"{root}data/{old_name}/{h:016x}/0", old_data)
        self.etcd.put(f"{root}state/{old_name}", f"{h:016x} 1 {len(old_data)}".encode())
        # and a file one of whose pieces etcd lost: not restored (asked
        # again first), said, the new holder's own file (none) stands
        lost_name, lost_piece = os.path.basename(states[0]) + ".lost", b"gone\n"
        ph = fnv(lost_piece)
        lost_hash = fnv(str(len(lost_piece)).encode() + f"{ph:016x}".encode())
        self.etcd.put(f"{root}state/{lost_name}",
                      f"{lost_hash:016x} 1 {len(lost_piece)} 00000000000000aa "
                      f"{ph:016x}".encode())
        # and pieces no manifest names (a copy in progress when its holder
        # lost the lease): the new holder deletes them
        self.etcd.put(f"{data}00000000deadbeef/0.0123456789abcdef", b"left")
        # and a piece under the directory the manifest names that it does
        # not name (a replaced piece whose delete failed): deleted too
        self.etcd.put(f"{data}{gen}/{len(hashes2) + 5}.0123456789abcdef", b"stray")
        b = self.agent("b")
        b.start()
        self.assertTrue(wait_for(lambda: holding(b, "genesys_analytics"),
                                 4 * TTL_S + 30, 0.2), b.log_text())
        said = re.compile(rf"state \S+{re.escape(name)} \({grown} bytes\) "
                          r"from the last holder: restored")
        self.assertTrue(wait_for(lambda: said.search(b.log_text()), 60, 0.2),
                        b.log_text())
        restored = os.path.join(b.dir, "genesys", name)
        with open(restored, "rb") as f:
            self.assertEqual(want, hashlib.sha256(f.read()).hexdigest())
        with open(os.path.join(b.dir, "genesys", old_name), "rb") as f:
            self.assertEqual(old_data, f.read())
        self.assertEqual({}, self.etcd.range(f"{data}00000000deadbeef/", prefix=True))
        self.assertEqual(len(hashes2), len(self.pieces(name, gen)))
        self.assertIn("etcd: 1 directories of pieces no manifest names deleted",
                      b.log_text())
        self.assertIn("etcd: 1 pieces no manifest names deleted", b.log_text())
        self.assertRegex(b.log_text(), rf"state \S+{re.escape(lost_name)} from the "
                         r"last holder: not restored \(piece 0 missing\)")
        self.assertFalse(os.path.exists(os.path.join(b.dir, "genesys", lost_name)))
        # a piece at a time: the take-over never held the file whole (it
        # held all 66 MiB of it, and more, before)
        with open(f"/proc/{b.proc.pid}/status") as f:
            hwm = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
        self.assertLess(hwm * 1024, self.PAD_BYTES, f"peak RSS {hwm} KiB")


class StandbyManyFilesTest(unittest.TestCase):
    """A copy of many changed files under etcd's default --max-txn-ops
    (128 operations a transaction): 20 files each with 8 of its 10 pieces
    replaced (9 operations a file in the one transaction of before: 180),
    then 140 new files at once (140 manifests). The agent is stopped
    (SIGSTOP, well within its lease) while the files change, so that one
    copy meets them all."""
    setUp, tearDown = StandbyLargeStateTest.setUp, StandbyLargeStateTest.tearDown
    agent = StandbyLargeStateTest.agent
    manifest, pieces = StandbyLargeStateTest.manifest, StandbyLargeStateTest.pieces
    TLS = False
    PIECE = 1024  # StandbyPieceSize's least

    def from_etcd(self, name):
        """(content, keys no manifest names) of name as etcd holds it under
        its manifest's directory; None without a manifest or a piece."""
        m = self.manifest(name)
        if m is None:
            return None
        _, gen, hashes = m
        got = self.pieces(name, gen)
        named = [f"{i}.{h}" for i, h in enumerate(hashes)]
        if any(k not in got for k in named):
            return None
        root = f"/collectd-genesys/acme/1-1/genesys_analytics/data/{name}/{gen}/"
        data = b"".join(self.etcd.range(root + k)[root + k][0] for k in named)
        return data, set(got) - set(named)

    def write_all(self, a, files):
        """files {path: bytes} written while a is stopped: one copy meets
        them all."""
        a.proc.send_signal(signal.SIGSTOP)
        try:
            for path, data in files.items():
                with open(path + ".tmp", "wb") as f:
                    f.write(data)
                os.replace(path + ".tmp", path)
        finally:
            a.proc.send_signal(signal.SIGCONT)

    def in_etcd(self, files):
        """Whether etcd holds every one of files as it is, and no piece its
        manifest does not name (the replaced ones deleted)."""
        for path, data in files.items():
            got = self.from_etcd(os.path.basename(path))
            if got is None or got != (data, set()):
                return False
        return True

    def test_many_changed_files(self):
        a = self.agent("a")
        a.start()
        self.assertTrue(wait_for(lambda: holding(a, "genesys_analytics"), 30, 0.2),
                        a.log_text())
        states = []
        self.assertTrue(wait_for(lambda: states.extend(glob.glob(os.path.join(
            a.dir, "genesys", "*analytics-acme.json"))) or states, 60, 0.2))

        def piece(f, i, version):  # one piece of file f, PIECE bytes
            return f"{f:02d} {i} {version} ".ljust(self.PIECE, "x").encode()
        first = {f"{states[0]}.many{f:02d}": b"".join(piece(f, i, 1) for i in range(10))
                 for f in range(20)}
        self.write_all(a, first)
        self.assertTrue(wait_for(lambda: self.in_etcd(first), 60, 0.5),
                        a.log_text()[-3000:])
        # 8 of each file's 10 pieces replaced (a file keeps its directory
        # up to 8): 20 manifests moved, 160 pieces deleted
        second = {path: b"".join(piece(f, i, 2 if i < 8 else 1) for i in range(10))
                  for f, path in enumerate(first)}
        self.write_all(a, second)
        self.assertTrue(wait_for(lambda: self.in_etcd(second), 60, 0.5),
                        a.log_text()[-3000:])
        # 140 new files at once: their manifests alone are past 128
        third = {f"{states[0]}.new{f:03d}": piece(f, 0, 3) for f in range(140)}
        self.write_all(a, third)
        self.assertTrue(wait_for(lambda: self.in_etcd({**second, **third}), 60, 0.5),
                        a.log_text()[-3000:])
        self.assertNotIn("state not copied", a.log_text())
        self.assertEqual([], a.bad_log_lines())


class StandbyEtcdOutageTest(unittest.TestCase):
    """etcd killed under the holder for three leases, then started again
    (its data kept): the holder stops the org's values at its fence and
    says so (a FAILURE notification, standby_stopped 1), nothing of the
    org goes out meanwhile, and once etcd answers the holder holds again
    (on its lease, which the restarted etcd kept) and says so (OKAY,
    standby_stopped 0); live values resume."""
    setUp, tearDown = StandbyLargeStateTest.setUp, StandbyLargeStateTest.tearDown
    TLS = False
    OUTAGE_S = 3 * TTL_S

    def agent(self, name):
        keys = (f'    Host "acme"\n    InstanceFrom "id"\n    StandbyEtcd "{self.etcd.url}"\n'
                f'    StandbyTTL {TTL_S}\n    StandbyName "{name}"\n')
        cd = Collectd("<LoadPlugin genesys_realtime>\n  Interval 1\n</LoadPlugin>\n"
                      "<Plugin genesys_realtime>\n"
                      + self.sim.org_block("acme", extra=keys) + "</Plugin>\n")
        self.agents.append(cd)
        return cd

    @staticmethod
    def stopped(cd):
        """[(time, value)] of cd's standby_stopped self-metric, oldest
        first (under the agent's own host name)."""
        out = []
        for path in glob.glob(os.path.join(cd.csv, "*", "genesys_realtime-standby",
                                           "standby_stopped-acme-*")):
            with open(path) as f:
                out += [tuple(map(float, ln.strip().split(",")[:2]))
                        for ln in f if ln[:1].isdigit()]
        return sorted(out)

    @staticmethod
    def notified(cd, severity, message):
        """The time of cd's standby_stopped notification of severity whose
        message begins so, as logfile logged it; None when there is none."""
        for line in cd.log_text().splitlines():
            if (f"Notification: severity = {severity}, host = " in line
                    and "plugin = genesys_realtime, plugin_instance = standby, "
                    "type = standby_stopped, type_instance = acme, "
                    f'message = Org "acme": {message}' in line):
                return line
        return None

    def test_etcd_outage(self):
        a = self.agent("a")
        a.start()
        self.assertTrue(wait_for(lambda: holding(a, "genesys_realtime"), 30, 0.2),
                        a.log_text())
        live = "genesys_realtime-*"
        self.assertTrue(wait_for(lambda: rows(a, live), 30, 0.2))
        self.assertTrue(wait_for(lambda: self.stopped(a), 30, 0.2))
        self.assertEqual({0.0}, {v for _, v in self.stopped(a)})
        down = time.time()
        self.etcd.kill()
        stop = 'agent "a" stopped collecting the org: etcd out of reach past its lease'
        self.assertTrue(wait_for(lambda: self.notified(a, "FAILURE", stop),
                                 2 * TTL_S + 10, 0.2), a.log_text()[-3000:])
        stopped_at = time.time()
        self.assertTrue(wait_for(lambda: any(v == 1 for _, v in self.stopped(a)), 10, 0.2),
                        self.stopped(a))
        time.sleep(max(0.0, down + self.OUTAGE_S - time.time()))
        self.etcd.start()
        up = time.time()
        back = 'etcd answers again: agent "a" collects the org'
        self.assertTrue(wait_for(lambda: self.notified(a, "OKAY", back),
                                 2 * TTL_S + 20, 0.2), a.log_text()[-3000:])
        # the restarted etcd kept A's lease and its key: A holds again on
        # them, not a TTL later on a new lease
        self.assertIn('genesys_realtime plugin: Org "acme": the key is still this '
                      "agent's: its lease outlived etcd's outage", a.log_text())
        self.assertTrue(wait_for(lambda: any(t > up for (_, _, _, t) in rows(a, live)),
                                 30, 0.2))
        self.assertTrue(wait_for(lambda: self.stopped(a)[-1][0] > up
                                 and self.stopped(a)[-1][1] == 0, 30, 0.2),
                        self.stopped(a)[-5:])
        times = sorted({k[3] for k in rows(a, live)})
        # nothing of the org went out while its collection was stopped
        self.assertEqual([], [t for t in times if stopped_at < t < up])
        gap = min(t for t in times if t > up) - max(t for t in times if t < down + 1)
        print(f"etcd down {up - down:.1f} s: no live value for {gap:.1f} s",
              file=sys.stderr)


class StandbyTlsTest(unittest.TestCase):
    setUp, tearDown = StandbyLargeStateTest.setUp, StandbyLargeStateTest.tearDown
    TLS = True

    def agent(self, name, tls_keys):
        keys = (f'    Host "acme"\n    InstanceFrom "id"\n    StandbyEtcd "{self.etcd.url}"\n'
                f'    StandbyTTL {TTL_S}\n    StandbyName "{name}"\n' + tls_keys)
        cd = Collectd("<LoadPlugin genesys_realtime>\n  Interval 1\n</LoadPlugin>\n"
                      "<Plugin genesys_realtime>\n"
                      + self.sim.org_block("acme", extra=keys) + "</Plugin>\n")
        self.agents.append(cd)
        return cd

    def test_client_certificates(self):
        c = self.etcd.certs
        ca = f'    StandbyCACert "{c["ca.pem"]}"\n'
        cert = (f'    StandbyClientCert "{c["client.pem"]}"\n'
                f'    StandbyClientKey "{c["client.key"]}"\n')
        # Without a client certificate etcd refuses the connection: this
        # agent never holds, and says why.
        bare = self.agent("bare", ca)
        bare.start()
        self.assertTrue(wait_for(lambda: 'genesys_realtime plugin: Org "acme": etcd: '
                                 in bare.log_text(), 30, 0.2), bare.log_text()[-2000:])
        with_cert = self.agent("certified", ca + cert)
        with_cert.start()
        self.assertTrue(wait_for(lambda: holding(with_cert, "genesys_realtime"), 30, 0.2),
                        with_cert.log_text()[-2000:])
        self.assertFalse(holding(bare, "genesys_realtime"))
        r = subprocess.run([CHECK, with_cert.conf], capture_output=True, text=True,
                           timeout=120)
        self.assertIn("standby: OK, certified holds /collectd-genesys/acme/1-1/"
                      "genesys_realtime/holder", r.stdout + r.stderr)
        # A certificate without its key: refused, naming both keys.
        half = self.agent("half", ca + f'    StandbyClientCert "{c["client.pem"]}"\n')
        r = subprocess.run([CHECK, half.conf], capture_output=True, text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("StandbyClientCert and StandbyClientKey go together",
                      r.stdout + r.stderr)


if __name__ == "__main__":
    run_tests(__name__)
