#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How long collectd 5.12's write_prometheus takes to take in N new series
of one metric family (issue 50 item 1). A measurement: it prints numbers
and asserts nothing.

write_prometheus re-sorts a family's metrics (qsort) each time a series
new to it arrives, under the lock its scrapes take too, so N new series of
one family cost about N^2 log N / 2 comparisons: a 5,000-queue org's
agents_presence (55,000 series, one family) is the case that matters.

Per N: a fresh collectd (unixsock, write_prometheus, WriteThreads 5, the
distro's), N PUTVALs of the type gauge, each its own plugin instance, sent
as fast as unixsock takes them, with an interval of an hour (nothing goes
missing meanwhile); then /metrics is scraped every --every seconds until
it serves all N. Reported: the seconds to the last PUTVAL answered, to all
N served, the series served at each scrape's time, collectd's VmRSS at the
end and its VmHWM, and collectd's CPU seconds (utime + stime).

  python3 bench/bench_wp_ingest.py --series 5000 10000 20000 40000
"""
import argparse
import os
import socket
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from collectd_harness import Collectd  # noqa: E402
from bench_daemon import free_port  # noqa: E402
from bench_startup import vm  # noqa: E402

FAMILY = "collectd_wpbench_gauge"


def served(port):
    """The series of FAMILY /metrics serves now."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=600) as r:
        return sum(1 for ln in r.read().decode().splitlines()
                   if ln.startswith(FAMILY + "{"))


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one(n, every, limit):
    port = free_port()
    cd = Collectd("LoadPlugin write_prometheus\n"
                  f'<Plugin write_prometheus>\n  Port "{port}"\n</Plugin>\n',
                  stock=("logfile", "unixsock", "write_prometheus"))
    cd.start()
    try:
        cd.unixsock("LISTVAL")  # waits until collectd listens
        t0 = time.monotonic()
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(cd.sock)
            f = s.makefile("rw")
            now = int(time.time())
            for i in range(n):
                f.write(f"PUTVAL bench/wpbench-q{i:06d}/gauge interval=3600 "
                        f"{now}:{i}\n")
                if i % 500 == 499 or i == n - 1:
                    f.flush()
                    for _ in range(i % 500 + 1):
                        if not f.readline().startswith("0 "):
                            raise SystemExit("PUTVAL refused")
        sent = time.monotonic() - t0
        seen, got = [], 0
        while got < n and time.monotonic() - t0 < limit:
            time.sleep(every)
            got = served(port)
            seen.append((round(time.monotonic() - t0), got))
        took = time.monotonic() - t0 if got >= n else None
        pid = cd.proc.pid
        return {"n": n, "sent_s": round(sent, 1), "all_s": took and round(took, 1),
                "seen": seen, "rss": round(vm(pid, "VmRSS"), 1),
                "hwm": round(vm(pid, "VmHWM"), 1), "cpu_s": round(cpu_s(pid), 1)}
    finally:
        cd.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, nargs="+", default=[5000, 10000, 20000])
    ap.add_argument("--every", type=float, default=5)
    ap.add_argument("--limit", type=float, default=3600,
                    help="give up on a size after this many seconds")
    a = ap.parse_args()
    print("series | PUTVALs answered (s) | all served (s) | collectd CPU (s) | "
          "VmRSS / VmHWM (MiB) | served at (s, series)")
    for n in a.series:
        r = one(n, a.every, a.limit)
        steps = ", ".join(f"{t}:{c}" for t, c in r["seen"][:: max(1, len(r["seen"]) // 6)])
        print(f"{r['n']} | {r['sent_s']} | {r['all_s'] or 'not within the limit'} | "
              f"{r['cpu_s']} | {r['rss']} / {r['hwm']} | {steps}", flush=True)


if __name__ == "__main__":
    main()
