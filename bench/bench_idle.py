#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Idle cost of genesys_realtime at an org's size (issue 66 item 2). A
measurement: it prints numbers and asserts nothing.

Per --repeat-every R (comma-separated): the real collectd with
genesys_realtime (Interval 10, InstanceFrom id, RepeatEvery R; collectd's
global Interval --global-interval, how often it walks its whole value cache
for series past their timeout) against the
simulator with --queues Q (as many agents), no writer (collectd's value
cache still takes every value list), or write_prometheus with --prom (it
takes minutes to take a 5,000-queue org's first values: --settle longer).
After --settle seconds the simulator's model is paused (no message comes
any more) and collectd's utime+stime is read over --seconds: the
re-dispatch that keeps unchanged series in collectd's cache, and what else
the plugin and collectd do while nothing changes. Printed: % of one core
and VmRSS at the end.

  GEN_BUILD_DIR=$PWD/build python3 bench/bench_idle.py --queues 5000 \\
      --repeat-every 0,120
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from collectd_harness import Collectd  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_realtime"


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def one(args, repeat):
    sim = Simulator("--queues", str(args.queues), "--agents", str(args.queues),
                    "--flows", "2", "--speed", "1", "--start", "now")
    cd = None
    try:
        block = sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                              f"    RepeatEvery {repeat}\n")
        body = (f"<LoadPlugin {PLUGIN}>\n  Interval 10\n</LoadPlugin>\n"
                f"<Plugin {PLUGIN}>\n{block}</Plugin>\n")
        stock = ("logfile",)
        if args.prom:
            body += ("LoadPlugin write_prometheus\n<Plugin write_prometheus>\n"
                     f'  Port "{args.prom}"\n</Plugin>\n')
            stock += ("write_prometheus",)
        cd = Collectd(body, stock=stock, interval=args.global_interval)
        cd.start()
        time.sleep(args.settle)
        sim.fault({"fault": "pause"})
        time.sleep(30)  # what the last messages left in the write queue
        pid = cd.proc.pid
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(args.seconds)
        c1, t1 = cpu_seconds(pid), time.monotonic()
        print(f"queues {args.queues:5d}  RepeatEvery {repeat:>4}  "
              f"{'write_prometheus' if args.prom else 'no writer':16s}  "
              f"global Interval {args.global_interval:>3}  "
              f"idle {100 * (c1 - c0) / (t1 - t0):6.2f} % of a core over {t1 - t0:.0f} s  "
              f"RSS {vm_rss_mib(pid):.0f} MiB", flush=True)
    finally:
        if cd is not None:
            cd.stop()
            cd.cleanup()
        sim.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queues", type=int, default=5000)
    ap.add_argument("--repeat-every", default="0,120",
                    help="RepeatEvery values to run, comma-separated")
    ap.add_argument("--settle", type=float, default=60,
                    help="seconds from collectd's start to the pause")
    ap.add_argument("--seconds", type=float, default=240,
                    help="seconds measured (two RepeatEvery periods at least)")
    ap.add_argument("--global-interval", type=int, default=10,
                    help="collectd's global Interval (its default 10; the "
                    "tests' 1): how often it walks its value cache")
    ap.add_argument("--prom", type=int, default=0,
                    help="write_prometheus on this port (0: no writer)")
    args = ap.parse_args()
    print(f"# {args.queues} queues, load {os.getloadavg()[0]:.2f}", flush=True)
    for r in args.repeat_every.split(","):
        one(args, r.strip())


if __name__ == "__main__":
    main()
