# SPDX-License-Identifier: MIT
"""What the benchmarks of genesys_realtime's read-driven families share
(bench_ewt.py, bench_agent_groups.py, bench_campaigns.py): the real
collectd with the plugin against a simulator, started and waited for until
every queue's topics are subscribed; and their table's printing."""
import argparse
import json
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import collectd_harness  # noqa: E402

PLUGIN = "genesys_realtime"


def start_collectd(build, sim, keys, queues, timeout, warm):
    """collectd with genesys_realtime (Interval 5; keys in its <Org>),
    started, subscribed to every queue, and warm seconds more. The caller
    stops it (cleanup())."""
    collectd_harness.BUILD = build
    block = sim.org_block("acme", extra='    Host "acme"\n' + keys)
    cd = collectd_harness.Collectd(f"<LoadPlugin {PLUGIN}>\n  Interval 5\n</LoadPlugin>\n"
                                   f"<Plugin {PLUGIN}>\n{block}</Plugin>\n")
    t0 = time.monotonic()
    cd.start()
    try:
        while sim.stats().get("topics_subscribed", 0) < queues:
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("never subscribed")
            time.sleep(0.5)
        time.sleep(warm)
    except BaseException:
        cd.cleanup()
        raise
    return cd


def main(doc, cols, run_one, add_args, every, warm):
    """The command line the benchmarks share (--build, --queues, --every,
    --budget, --warm, --window, --timeout; add_args(ap) adds a benchmark's
    own), then a row per number of queues: run_one(build, queues, args)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--queues", type=int, nargs="+", default=[500, 5000])
    add_args(ap)
    ap.add_argument("--every", type=int, default=every)
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--warm", type=float, default=warm)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build))
    print_rows(cols, args.queues, lambda q: run_one(build, q, args))


def print_rows(cols, queues, run_one):
    """A Markdown table, a row per number of queues (run_one(q) -> dict),
    each row's JSON on stderr."""
    print("| queues | " + " | ".join(cols) + " |")
    print("|---:|" + "---:|" * len(cols))
    for q in queues:
        row = run_one(q)
        print("| %d | %s |" % (q, " | ".join("%.1f" % row[c] if isinstance(row[c], float)
                                             else str(row[c]) for c in cols)), flush=True)
        print(json.dumps(row), file=sys.stderr)
