#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Take-over time of a standby per shard (StandbyEtcd), in the real daemon
under a real etcd (Debian's etcd-server).

Each round starts gensim, etcd and two collectd agents running
genesys_realtime (Interval 1) on one org and shard: A reaches etcd
directly, B through a TCP relay. Then:

- kill: A holds; A is killed (SIGKILL); the time from the kill to B's
  first live value (the value's own time in B's csv) and to B's log line
  "holds";
- cut: A is started again and stands by; B's relay is cut (B runs on); the
  time from the cut to B's last value, and to A's first.

- --outage S: A and B both reach etcd directly; A holds; etcd is killed
  (SIGKILL) for S seconds and started again, its data kept: the time
  without a value of the org from either agent (from the last value
  before to the first after), from etcd's kill to the last value, and
  from its start to the first value.

- --large MIB: genesys_analytics alone, StandbySyncInterval 0; a file of
  MIB beside its state file (as a large org's revisit records' journal):
  the time until etcd's manifest names it whole, then --appends appends of
  --append-kib each (a read's new records): the bytes a copy put
  (standby_copied_bytes, the state file's own copy included) and the time
  to each manifest; then A killed and B started: the time from B's "holds"
  to its log's "restored" for the file.

A measurement, not a test: it reports numbers and asserts nothing.

  python3 bench/bench_standby.py --ttl 10 3 --rounds 3
  python3 bench/bench_standby.py --large 512 --appends 5 --append-kib 450
  python3 bench/bench_standby.py --outage 60 --ttl 10 --rounds 1
  python3 bench/bench_standby.py --hour 3600 --queues 5000 --shard 1/4

- --hour S: one holder of one shard of a large org (the simulator with
  --queues Q, 10 agents a queue; Shard --shard; genesys_realtime,
  genesys_analytics and genesys_flowmetrics with their default families,
  each with StandbyEtcd and the default StandbySyncInterval) against etcd
  run as collectd-genesys(5) tells (--auto-compaction-mode=periodic
  --auto-compaction-retention=1h): every --every seconds and after S, each
  plugin's standby_copied_bytes (csv, its self-metrics alone), its state files'
  bytes on disk, and etcd's database (dbSize, dbSizeInUse, revision).

The bound written in collectd-genesys(5): StandbyTTL + 1 s, then the
plugin's next read.
"""
import argparse
import glob
import os
import random
import signal
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import collectd_harness  # noqa: E402
from etcd_harness import Etcd, Relay  # noqa: E402
from sim_harness import Simulator  # noqa: E402


def conf(sim, name, url, ttl):
    keys = (f'    Host "acme"\n    StandbyEtcd "{url}"\n    StandbyTTL {ttl}\n'
            f'    StandbyName "{name}"\n')
    return ("<LoadPlugin genesys_realtime>\n  Interval 1\n</LoadPlugin>\n"
            "<Plugin genesys_realtime>\n" + sim.org_block("acme", extra=keys)
            + "</Plugin>\n")


def times(cd):
    """Times of every live value cd wrote of the org."""
    out = []
    for path in glob.glob(os.path.join(cd.csv, "acme", "genesys_realtime-*", "*")):
        if "-self/" in path:
            continue
        with open(path) as f:
            out += [float(ln.split(",")[0]) for ln in f if ln[:1].isdigit()]
    return out


def wait(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    return None


def holds_since(cd, t0):
    """Wall time of cd's first "holds" line after t0 (the log's seconds)."""
    import re
    for line in cd.log_text().splitlines():
        m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\].*agent \"\w\" holds", line)
        if m:
            t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
            if t >= int(t0):
                return t
    return None


def holding_and_standing_by(a, b, ttl):
    """A started and holding, B started and standing by; then a random
    moment of A's keep-alive cycle (a third of the TTL)."""
    a.start()
    wait(lambda: times(a), 60)
    b.start()
    wait(lambda: "standing by" in b.log_text(), 30)
    time.sleep(2 + random.uniform(0, ttl / 3))


def one_round(ttl):
    sim = Simulator("--queues", "10", "--agents", "50", "--speed", "1", "--start", "now",
                    tls=False)
    etcd = Etcd()
    relay = Relay(etcd.port)
    a = collectd_harness.Collectd(conf(sim, "a", etcd.url, ttl))
    b = collectd_harness.Collectd(conf(sim, "b", f"http://127.0.0.1:{relay.port}", ttl))
    r = {}
    try:
        # at a random moment of the holder's keep-alive cycle (a third of
        # the TTL): the take-over lies between TTL - TTL/3 and TTL after it
        holding_and_standing_by(a, b, ttl)
        t0 = time.time()
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.proc = None
        first = wait(lambda: min([t for t in times(b) if t > t0], default=None), 4 * ttl + 30)
        r["kill: first value"] = first - t0 if first else None
        h = holds_since(b, t0)
        r["kill: holds (log, 1 s steps)"] = h - int(t0) if h else None
        before = max(times(a), default=0)
        a.start()
        wait(lambda: "standing by" in a.log_text().split("Initialization complete")[-1], 30)
        time.sleep(2 + random.uniform(0, ttl / 3))
        t1 = time.time()
        relay.cut()
        first = wait(lambda: min([t for t in times(a) if t > max(t1, before)], default=None),
                     4 * ttl + 30)
        time.sleep(2)
        last_b = max(times(b), default=0)
        r["cut: A's first value"] = first - t1 if first else None
        r["cut: B's last value"] = last_b - t1
        r["cut: B's last before A's first"] = bool(first) and last_b < first
    finally:
        for cd in (a, b):
            cd.cleanup()
        relay.cut()
        etcd.stop()
        sim.stop()
    return r


def outage_round(ttl, secs):
    sim = Simulator("--queues", "10", "--agents", "50", "--speed", "1", "--start", "now",
                    tls=False)
    etcd = Etcd()
    a = collectd_harness.Collectd(conf(sim, "a", etcd.url, ttl))
    b = collectd_harness.Collectd(conf(sim, "b", etcd.url, ttl))
    r = {}
    try:
        holding_and_standing_by(a, b, ttl)
        t0 = time.time()
        etcd.kill()
        time.sleep(secs)
        t1 = time.time()
        etcd.start()
        first = wait(lambda: min([t for t in times(a) + times(b) if t > t1], default=None),
                     4 * ttl + 30)
        last = max([t for t in times(a) + times(b) if t < t1], default=0)
        r["etcd down"] = t1 - t0
        r["kill: last value"] = last - t0
        r["start: first value"] = first - t1 if first else None
        r["no value"] = first - last if first else None
    finally:
        for cd in (a, b):
            cd.cleanup()
        etcd.stop()
        sim.stop()
    return r


def copied_bytes(cd, plugin="genesys_analytics"):
    """The newest standby_copied_bytes (raw counter) of plugin cd's csv holds."""
    newest = 0.0
    for path in glob.glob(os.path.join(cd.csv, "*", f"{plugin}-standby",
                                       "standby_copied_bytes-*")):
        with open(path) as f:
            for ln in f:
                if ln[:1].isdigit():
                    newest = max(newest, float(ln.split(",")[1]))
    return newest


def large(mib, appends, append_kib):
    sim = Simulator("--queues", "2", "--agents", "4", "--speed", "1", "--start", "now",
                    tls=False)
    etcd = Etcd()
    keys = (f'    Host "acme"\n    InstanceFrom "id"\n    StandbyEtcd "{etcd.url}"\n'
            '    StandbyTTL 5\n    StandbySyncInterval 0\n    Granularity "PT1M"\n')
    agents = []
    for name in "ab":
        agents.append(collectd_harness.Collectd(
            "<LoadPlugin genesys_analytics>\n  Interval 1\n</LoadPlugin>\n"
            "<Plugin genesys_analytics>\n"
            + sim.org_block("acme", extra=keys + f'    StandbyName "{name}"\n')
            + "</Plugin>\n", stock=("logfile", "csv"), write_threads=1))
    a, b = agents
    root = "/collectd-genesys/acme/1-1/genesys_analytics/state/"

    def manifest_bytes(name):
        got = etcd.range(root + name)
        return int(next(iter(got.values()))[0].split()[2]) if got else None
    try:
        a.start()
        state = wait(lambda: glob.glob(os.path.join(a.dir, "genesys", "*analytics-acme.json")),
                     60)[0]
        name = os.path.basename(state) + ".big"
        tmp = os.path.join(a.dir, "big")
        with open(tmp, "w") as f:
            line = "x" * 114 + "\n"  # a journal's line, about 115 bytes
            chunk = line * 9000
            while f.tell() < mib << 20:
                f.write(chunk)
        size = os.path.getsize(tmp)
        t0 = time.monotonic()
        os.replace(tmp, state + ".big")
        wait(lambda: manifest_bytes(name) == size, 3600)
        print(f"{size / 2**20:.0f} MiB: first copy {time.monotonic() - t0:.1f} s")
        for i in range(appends):
            time.sleep(2)  # the counter of the last copy dispatched
            before = copied_bytes(a)
            with open(state + ".big", "a") as f:
                f.write(line * (append_kib * 1024 // len(line)))
            size = os.path.getsize(state + ".big")
            t0 = time.monotonic()
            wait(lambda: manifest_bytes(name) == size, 600)
            took = time.monotonic() - t0
            time.sleep(2)
            print(f"  append {i + 1}: {append_kib} KiB, copied "
                  f"{(copied_bytes(a) - before) / 1024:.0f} KiB (state file's copies "
                  f"included), manifest after {took:.2f} s")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.proc = None
        b.start()
        wait(lambda: "holds shard" in b.log_text(), 60)
        t0 = time.monotonic()
        wait(lambda: f"{name} ({size} bytes) from the last holder: restored" in b.log_text(),
             3600)
        with open(f"/proc/{b.proc.pid}/status") as f:
            hwm = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
        print(f"  take-over: restored {time.monotonic() - t0:.1f} s after B holds "
              f"(B's read: Interval 1); B's peak RSS {hwm / 1024:.1f} MiB")
    finally:
        for cd in agents:
            cd.cleanup()
        etcd.stop()
        sim.stop()


def hour(secs, every, queues, shard):
    """The standby's bytes to etcd and etcd's database, a large org's shard."""
    sim = Simulator("--queues", str(queues), "--agents", str(10 * queues), "--flows", "20",
                    "--speed", "1", "--start", "now", "--warmup", "120", tls=False)
    etcd = Etcd(extra=["--auto-compaction-mode=periodic",
                       "--auto-compaction-retention=1h",
                       "--quota-backend-bytes=8589934592"])
    keys = (f'    Host "acme"\n    InstanceFrom "id"\n    Shard "{shard}"\n'
            f'    StandbyEtcd "{etcd.url}"\n    StandbyName "a"\n')
    plugins = ("genesys_realtime", "genesys_analytics", "genesys_flowmetrics")
    body = "".join(f"LoadPlugin {p}\n<Plugin {p}>\n"
                   + sim.org_block("acme", extra=keys) + "</Plugin>\n" for p in plugins)
    # csv writes the standby's self-metrics only (a counter's raw value;
    # unixsock's GETVAL would answer its rate)
    cd = collectd_harness.Collectd(
        body + "LoadPlugin match_regex\nPostCacheChain \"OnlyStandby\"\n"
        '<Chain "OnlyStandby">\n  <Rule "standby">\n    <Match "regex">\n'
        '      PluginInstance "^standby$"\n    </Match>\n    Target "write"\n'
        '  </Rule>\n  Target "stop"\n</Chain>\n',
        stock=("logfile", "csv", "match_regex"))

    def figures():
        out = {p: copied_bytes(cd, p) for p in plugins}
        files = {}
        for path in glob.glob(os.path.join(cd.dir, "genesys", "*")):
            files[os.path.basename(path)] = os.path.getsize(path)
        st = etcd.post("/v3/maintenance/status", {})
        return out, files, st
    try:
        t0 = time.monotonic()
        cd.start()
        wait(lambda: "holds" in cd.log_text(), 120)
        first = None
        while True:
            time.sleep(max(0.0, min(every, secs - (time.monotonic() - t0))))
            age = time.monotonic() - t0
            copied, files, st = figures()
            first = first or (age, sum(copied.values()))
            print(f"{age:7.0f} s: copied " + ", ".join(
                f"{p} {b / 1024:.0f} KiB" for p, b in sorted(copied.items()))
                + f"; state files {sum(files.values()) / 1024:.0f} KiB in {len(files)}"
                f"; etcd dbSize {int(st['dbSize']) / 2**20:.1f} MiB, in use "
                f"{int(st.get('dbSizeInUse', 0)) / 2**20:.1f} MiB, revision "
                f"{st['header']['revision']}; collectd VmRSS "
                f"{vm_mib(cd.proc.pid, 'VmRSS'):.0f} MiB", flush=True)
            if age >= secs:
                break
        total = sum(copied.values())
        print(f"in {age:.0f} s: {total / 2**20:.2f} MiB copied "
              f"({(total - first[1]) / (age - first[0]) * 3600 / 2**20:.2f} MiB an hour "
              f"after the first {first[0]:.0f} s); state files " + ", ".join(
                  f"{n} {b / 1024:.0f} KiB" for n, b in sorted(files.items())))
    finally:
        cd.cleanup()
        etcd.stop()
        sim.stop()


def vm_mib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith(field + ":")) / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ttl", type=int, nargs="+", default=[10])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--large", type=int, metavar="MIB")
    p.add_argument("--outage", type=float, metavar="S")
    p.add_argument("--appends", type=int, default=5)
    p.add_argument("--append-kib", type=int, default=450)
    p.add_argument("--hour", type=float, metavar="S")
    p.add_argument("--every", type=float, default=300)
    p.add_argument("--queues", type=int, default=5000)
    p.add_argument("--shard", default="1/4")
    p.add_argument("--build", default=os.environ.get("GEN_BUILD_DIR", os.path.join(ROOT, "build")))
    args = p.parse_args()
    collectd_harness.BUILD = args.build
    if args.hour:
        hour(args.hour, args.every, args.queues, args.shard)
        return
    if args.large:
        large(args.large, args.appends, args.append_kib)
        return
    for ttl in args.ttl:
        rounds = [outage_round(ttl, args.outage) if args.outage else one_round(ttl)
                  for _ in range(args.rounds)]
        print(f"StandbyTTL {ttl}, {args.rounds} rounds")
        for key in rounds[0]:
            vals = [r[key] for r in rounds]
            if all(isinstance(v, float) for v in vals):
                print(f"  {key}: median {statistics.median(vals):.2f} s, "
                      f"max {max(vals):.2f} s ({', '.join(f'{v:.2f}' for v in vals)})")
            else:
                print(f"  {key}: {vals}")


if __name__ == "__main__":
    main()
