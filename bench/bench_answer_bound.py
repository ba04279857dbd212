#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""collectd's RSS while a small family (genesys_platform's trunk listing)
is answered an oversized page at every read (gensim fault oversized_json:
issue 49's 9-member objects, valid JSON, the trunks unchanged; --pad empty:
issue 63's empty objects, 249,000 in --bytes 747000), and without the fault,
for each build given: VmRSS every 2 s over --seconds, VmHWM, and
api_answers_too_large and malformed_documents at the end.

  python3 bench/bench_answer_bound.py --build before=DIR --build after=DIR
  python3 bench/bench_answer_bound.py --pad empty --bytes 747000 --build ...
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
PLUGIN = "genesys_platform"
TRUNKS = "/api/v2/telephony/providers/edges/trunks"


def run(build, faulted, size, seconds, pad="objects"):
    os.environ["GEN_BUILD_DIR"] = build
    import importlib
    import collectd_harness
    importlib.reload(collectd_harness)  # BUILD is read at import
    from sim_harness import Simulator
    sim = Simulator("--queues", "1", "--agents", "2", "--start", "now",
                    "--edges", "2", "--trunks", "2", tls=False)
    if faulted:
        sim.fault([{"fault": "oversized_json", "path": TRUNKS, "method": "GET",
                    "count": 100000, "bytes": size, "pad": pad}])
    block = sim.org_block("acme", extra='    Host "acme"\n    StatusPage false\n')
    cd = collectd_harness.Collectd(f"<LoadPlugin {PLUGIN}>\n  Interval 2\n</LoadPlugin>\n"
                                   f"<Plugin {PLUGIN}>\n{block}</Plugin>\n")
    try:
        cd.start()
        rss = []
        for _ in range(int(seconds // 2)):
            time.sleep(2)
            with open(f"/proc/{cd.proc.pid}/status") as f:
                st = dict(line.split(":", 1) for line in f)
            rss.append(int(st["VmRSS"].split()[0]) >> 10)
        hwm = int(st["VmHWM"].split()[0]) >> 10
        refused = [v for _, v in cd.csv_values(f"{PLUGIN}-self", "api_answers_too_large")]
        bad = [v for _, v in cd.csv_values(f"{PLUGIN}-self", "malformed_documents")]
        return rss, hwm, (refused[-1] if refused else None, bad[-1] if bad else None)
    finally:
        cd.cleanup()
        sim.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", action="append", required=True, help="NAME=DIR")
    ap.add_argument("--bytes", type=int, default=14000000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--pad", choices=("objects", "empty"), default="objects")
    a = ap.parse_args()
    for spec in a.build:
        name, build = spec.split("=", 1)
        for faulted in (True, False):
            rss, hwm, (refused, bad) = run(os.path.abspath(build), faulted, a.bytes,
                                           a.seconds, a.pad)
            print(f"{name} {'oversized' if faulted else 'plain'}: VmRSS MiB {rss}, "
                  f"VmHWM {hwm} MiB, api_answers_too_large {refused}, "
                  f"malformed_documents {bad}", flush=True)


if __name__ == "__main__":
    main()
