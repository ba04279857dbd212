#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""genesys_analytics: API requests and CPU per cycle against the simulator.

For each queue count, starts the simulator (10 agents per queue, plain HTTP
on loopback) and the real collectd with the built plugin under libfaketime
at the simulator's speed, Granularity PT1M and Interval 60 (simulated), so
one read is one cycle with one new bucket. After a warm-up (the listing and
the first buckets), it counts over --cycles new buckets:

- requests per endpoint (the simulator's /sim/stats), beside the minimum
  the API limits allow: ceil(queues / 100) conversation aggregates requests
  per new bucket (100 queueId predicates per request), plus ceil(users /
  100) users aggregates requests with --agent-status; the listing
  (GET /api/v2/routing/queues, 500 per page) is counted apart, once at
  start and every QueueRefreshInterval;
- with --revisit-at AGES (RevisitAt, e.g. "3m 5m": ages past the
  RevisitWindow of 120 s), the requests per new bucket once every age has
  come (the warm-up lasts past the longest): ceil(queues / 100) times one
  plus the number of ages;
- CPU per cycle (user + sys from /proc) of the whole collectd process and
  of its read threads (the plugin's request path: request, parse, engine,
  dispatch into collectd), and of the simulator for reference.

With --perf PREFIX, perf records collectd over the window and the read
thread's samples are split: those with collectd's plugin_dispatch_values on
the stack (collectd's own cost of taking the values) and the rest (ours:
request, libcurl, json-c, the engine, our dispatch wrapper, and the kernel
under them). Ours per value against collectd's per value is the ratio of
the two sample counts (issue #36, item 4).

Measurements, not a test: nothing is asserted. See bench/README.md.
"""
import argparse
import json
import math
import os
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from collectd_harness import FakeClockCollectd, iso_ms  # noqa: E402
from sim_harness import Simulator  # noqa: E402

CONV = "POST /api/v2/analytics/conversations/aggregates/query"
USERS = "POST /api/v2/analytics/users/aggregates/query"
LIST_QUEUES = "GET /api/v2/routing/queues"
LIST_USERS = "GET /api/v2/users"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid, threads_prefix=None):
    """user+sys of a process, or of its threads whose name starts with
    threads_prefix."""
    if threads_prefix is None:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            if not name.startswith(threads_prefix):
                continue
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except FileNotFoundError:
            pass
    return total


def count(stats, key):
    return stats["requests"].get(key, {}).get("total", 0)


def csv_rows(root):
    """Rows the csv plugin has written (one per value list dispatched) under
    root, for the values per cycle."""
    rows = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                rows += sum(1 for line in f if not line.startswith(b"epoch"))
    return rows


class NetworkCounter:
    """Counts the value lists collectd's network plugin sends to a UDP port
    on loopback: one "values" part (type 0x0006) each (collectd's binary
    protocol). Drops are read from the socket's counter in /proc/net/udp."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:  # bursts of thousands of packets a read: room for them
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.values = 0
        self.stopped = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stopped:
            data = self.sock.recv(65536)
            at, n = 0, 0
            while at + 4 <= len(data):
                kind, size = struct.unpack_from(">HH", data, at)
                if size < 4:
                    break
                n += kind == 6
                at += size
            self.values += n

    def drops(self):
        hexport = f"{self.port:04X}"
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(":" + hexport):
                    return int(fields[-1])
        return 0

    def close(self):
        self.stopped = True
        self.sock.close()


def max_age_ms(ages):
    """The longest of RevisitAt's ages written with s, m, h or d."""
    unit = {"s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
    return max(int(a[:-1]) * unit[a[-1]] for a in ages.replace(",", " ").split())


def run_one(queues, args):
    agents = queues * args.agents_per_queue
    sim = Simulator("--queues", str(queues), "--agents", str(agents),
                    "--flows", "2", "--speed", str(args.speed), "--start", "now",
                    "--warmup", "300", "--rate-limit", "1000000", tls=False)
    block = sim.org_block(
        "acme",
        extra='    Host "acme"\n    InstanceFrom "id"\n    Granularity "PT1M"\n'
        "    SettleDelay 5\n    RevisitWindow 120\n    QueueRefreshInterval 0\n"
        + ("    AgentStatus true\n" if args.agent_status else "")
        + (f'    RevisitAt "{args.revisit_at}"\n' if args.revisit_at else ""))
    net = NetworkCounter() if args.writer == "network" else None
    writer = (f'LoadPlugin network\n<Plugin network>\n  Server "127.0.0.1" '
              f'"{net.port}"\n</Plugin>\n' if net else "")
    threads = (f"WriteThreads {args.write_threads}\n"
               if args.write_threads else "")
    cd = FakeClockCollectd(
        threads + writer +
        "<LoadPlugin genesys_analytics>\n  Interval 60\n</LoadPlugin>\n"
        f"<Plugin genesys_analytics>\n{block}</Plugin>\n", sim, args.speed,
        stock=("logfile", args.writer))

    def values_so_far():
        return net.values if net else csv_rows(cd.csv)
    try:
        cd.start()
        # Warm-up: the listing and two cycles with a new bucket. Then half a
        # cycle, so that the window starts and ends between two reads and
        # holds exactly --cycles reads.
        min_users = math.ceil(agents / 100) if args.agent_status else 0
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            warm = sim.stats()
            if count(warm, CONV) >= 2 * math.ceil(queues / 100) and \
                    count(warm, USERS) >= 2 * min_users:
                break
            time.sleep(0.2)
        if args.revisit_at:  # every age has come: the steady state
            oldest = iso_ms(sim._open("/sim/info")["sim_time"])
            while iso_ms(sim._open("/sim/info")["sim_time"]) < \
                    oldest + max_age_ms(args.revisit_at) + 60000:
                time.sleep(0.5)
        time.sleep(30 / args.speed)
        warm = sim.stats()
        listing = {LIST_QUEUES: count(warm, LIST_QUEUES), LIST_USERS: count(warm, LIST_USERS)}
        sim._open("/sim/reset_stats", {})
        pid = cd.proc.pid
        v0, d0 = values_so_far(), net.drops() if net else 0
        c0, r0 = cpu_seconds(pid), cpu_seconds(pid, "reader")
        s0 = cpu_seconds(sim.proc.pid)
        t0 = iso_ms(sim._open("/sim/info")["sim_time"])
        perf = None
        if args.perf:
            import subprocess
            perf = subprocess.Popen(
                ["perf", "record", "-q", "--call-graph", "dwarf,16384", "-F", str(args.perf_freq), "-o", f"{args.perf}.{queues}",
                 "-p", str(pid)], stdout=subprocess.DEVNULL)
        # --cycles simulated minutes, i.e. that many new PT1M buckets
        while iso_ms(sim._open("/sim/info")["sim_time"]) < t0 + args.cycles * 60000:
            time.sleep(0.5)
        c1, r1 = cpu_seconds(pid), cpu_seconds(pid, "reader")
        if perf is not None:
            perf.send_signal(__import__("signal").SIGINT)
            perf.wait()
        s1 = cpu_seconds(sim.proc.pid)
        split = perf_split(f"{args.perf}.{queues}") if perf is not None else None
        time.sleep(1)  # the network plugin's last packets of the window
        v1, d1 = values_so_far(), net.drops() if net else 0
        st = sim.stats()
        res = {
            "queues": queues, "agents": agents, "cycles": args.cycles,
            "conv_requests": count(st, CONV), "user_requests": count(st, USERS),
            "other_requests": st["requests_total"] - count(st, CONV) - count(st, USERS),
            "min_conv_per_cycle": math.ceil(queues / 100),
            "revisit_at": args.revisit_at,
            "min_user_per_cycle": min_users,
            "listing_pages": listing,
            "collectd_cpu_per_cycle": (c1 - c0) / args.cycles,
            "reader_cpu_per_cycle": (r1 - r0) / args.cycles,
            "sim_cpu_per_cycle": (s1 - s0) / args.cycles,
            "values_per_cycle": (v1 - v0) / args.cycles,
            "writer": args.writer, "udp_drops": d1 - d0,
            "write_threads": args.write_threads or 5,
            "perf_split": split,
            "non_200": {k: v["by_status"] for k, v in st["requests"].items()
                        if set(v["by_status"]) - {"200"}},
        }
        return res
    finally:
        cd.cleanup()
        sim.stop()
        if net:
            net.close()


def perf_split(path):
    """(read-thread samples, of which with plugin_dispatch_values on the
    stack, of which with json-c, of which with libcurl) of a perf.data."""
    import subprocess
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,ip,sym,dso", "--no-inline"],
                         capture_output=True, text=True, check=True).stdout
    total = dispatch = jsonc = curl = 0
    for sample in out.split("\n\n"):
        lines = sample.strip().split("\n")
        if not lines or not lines[0].strip().startswith("reader#"):
            continue
        stack = "\n".join(lines[1:])
        total += 1
        dispatch += " plugin_dispatch_values" in stack
        jsonc += "libjson-c" in stack
        curl += "libcurl" in stack
    return total, dispatch, jsonc, curl


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, nargs="+", default=[10, 500, 5000])
    ap.add_argument("--agents-per-queue", type=int, default=10)
    ap.add_argument("--speed", type=float, default=5,
                    help="simulated seconds per real second (a PT1M cycle "
                         "takes 60/speed real seconds)")
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--agent-status", action="store_true")
    ap.add_argument("--revisit-at", metavar="AGES",
                    help='RevisitAt, e.g. "3m 5m" (ages past RevisitWindow 120)')
    ap.add_argument("--writer", choices=("network", "csv"), default="network",
                    help="the write plugin: network (to a UDP port of this "
                         "script, which counts the value lists; the default) "
                         "or csv (a file per series, counted by rows; slow "
                         "writers back collectd's write queue up)")
    ap.add_argument("--write-threads", type=int, metavar="N",
                    help="collectd's WriteThreads (its default: 5)")
    ap.add_argument("--perf-freq", type=int, default=499, metavar="HZ",
                    help="perf record's sampling frequency (default 499)")
    ap.add_argument("--perf", metavar="PREFIX",
                    help="perf record -g the collectd process over the window "
                         "into PREFIX.<queues> (perf report -i to read it)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [run_one(q, args) for q in args.queues]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"PT1M buckets, Interval 60, speed {args.speed:g}, {args.cycles} cycles"
          f"{', AgentStatus' if args.agent_status else ''}"
          f"{', RevisitAt ' + args.revisit_at if args.revisit_at else ''}, writer {args.writer}, "
          f"WriteThreads {args.write_threads or 5}; per cycle:")
    print(f"{'queues':>7} {'agents':>7} {'conv req':>9} {'minimum':>8} {'user req':>9}"
          f" {'minimum':>8} {'other':>6} {'collectd CPU ms':>16} {'read thr ms':>12}"
          f" {'sim CPU ms':>11} {'values':>8} {'us/value':>8}  listing pages (queues, users) at start")
    for r in rows:
        c = r["cycles"]
        print(f"{r['queues']:>7} {r['agents']:>7} {r['conv_requests'] / c:>9.2f}"
              f" {r['min_conv_per_cycle']:>8} {r['user_requests'] / c:>9.2f}"
              f" {r['min_user_per_cycle']:>8} {r['other_requests'] / c:>6.2f}"
              f" {r['collectd_cpu_per_cycle'] * 1000:>16.0f}"
              f" {r['reader_cpu_per_cycle'] * 1000:>12.0f}"
              f" {r['sim_cpu_per_cycle'] * 1000:>11.0f}"
              f" {r['values_per_cycle']:>8.0f}"
              f" {r['reader_cpu_per_cycle'] * 1e6 / max(r['values_per_cycle'], 1):>8.2f}  "
              f"{r['listing_pages'][LIST_QUEUES]}, {r['listing_pages'][LIST_USERS]}")
        if r["perf_split"]:
            total, disp, jsonc, curl = r["perf_split"]
            print(f"         profile, read thread: {total} samples, "
                  f"plugin_dispatch_values {100 * disp / max(total, 1):.1f} %, "
                  f"json-c {100 * jsonc / max(total, 1):.1f} %, libcurl "
                  f"{100 * curl / max(total, 1):.1f} %; ours per value "
                  f"{(total - disp) / max(disp, 1):.2f} x collectd's dispatch")
        if r["non_200"]:
            print("         not 200:", r["non_200"])
        if r["udp_drops"]:
            print(f"         {r['udp_drops']} packets dropped at the UDP port: "
                  "values per cycle are a lower bound")


if __name__ == "__main__":
    main()
