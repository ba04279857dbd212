#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPU per message of genesys_realtime and genesys_flowmetrics together on
one OAuth client, in the real collectd, per build.

For each build, starts gensim (tests/sim) with Q queues, A agents and F
flows at --speed, and the real collectd with genesys_realtime
(ConversationEvents true) and genesys_flowmetrics (metric attributes from
the queue conversation topics, the flow metrics topics) from that build,
both with the simulator's one client. Once every topic is subscribed it
samples collectd's CPU time (utime + stime of /proc/<pid>/stat) and the
simulator's message counters over --seconds of traffic, then reports CPU
per message sent to collectd and per conversation event (a message of a
conversation topic counted once however many channels carried it), the
channels made, the topics held and the tokens issued.

The queue conversation topics are wanted by both plugins. Without the
notification hub (a build before it) each plugin has its own channels, so
the simulator sends every conversation message twice and collectd reads,
parses and handles it twice; with the hub it is subscribed once, sent once
and parsed once for both. A measurement, not a test: it asserts nothing.

  python3 bench/bench_hub.py --build hub=build --build before=/path/to/old/build
"""
import argparse
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import collectd_harness  # noqa: E402
from sim_harness import Simulator  # noqa: E402

RT = "genesys_realtime"
FM = "genesys_flowmetrics"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def run_one(build, args):
    sim = Simulator("--queues", str(args.queues), "--agents", str(args.agents),
                    "--flows", str(args.flows), "--speed", str(args.speed),
                    "--warmup", "300", "--heartbeat", "5", tls=False)
    collectd_harness.BUILD = build
    rt = sim.org_block("acme", extra='    Host "acme"\n    ConversationEvents true\n')
    fm = sim.org_block("acme", extra='    Host "fm"\n')
    cd = collectd_harness.Collectd(
        f"<LoadPlugin {RT}>\n  Interval 5\n</LoadPlugin>\n<Plugin {RT}>\n{rt}</Plugin>\n"
        f"<LoadPlugin {FM}>\n  Interval 5\n</LoadPlugin>\n<Plugin {FM}>\n{fm}</Plugin>\n")
    want = 2 * args.queues + args.flows  # distinct topics
    try:
        cd.start()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            st = sim.stats()
            if st.get("topics_subscribed", 0) >= want and st["sockets_open"] > 0:
                break
            time.sleep(0.5)
        time.sleep(3)  # baselines done
        s0, c0, t0 = sim.stats(), cpu_seconds(cd.proc.pid), time.monotonic()
        time.sleep(args.seconds)
        s1, c1, t1 = sim.stats(), cpu_seconds(cd.proc.pid), time.monotonic()
        sent = s1["ws_messages_sent"] - s0["ws_messages_sent"]
        by_topic = {}
        for topic, n in s1["ws_messages_by_topic"].items():
            d = n - s0["ws_messages_by_topic"].get(topic, 0)
            family = topic.split(".")[-1] if topic.startswith("v2.") else topic
            by_topic[family] = by_topic.get(family, 0) + d
        subscribed = sum(s1["subscriptions"].values())
        # Only the conversation topics are wanted twice: each was held
        # `copies` times (2 with a channel set per plugin, 1 with the hub).
        copies = 1 + (subscribed - want) / args.queues
        conv = by_topic.get("conversations", 0) / copies
        return {"cpu": c1 - c0, "wall": t1 - t0, "sent": sent, "conv": conv,
                "copies": copies, "channels": s1["channels_created"],
                "subscribed": subscribed, "tokens": s1["tokens_issued"]}
    finally:
        cd.cleanup()
        sim.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", required=True, metavar="NAME=DIR")
    ap.add_argument("--queues", type=int, default=50)
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--flows", type=int, default=5)
    ap.add_argument("--speed", type=float, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--timeout", type=float, default=90)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"# {args.queues} queues, {args.agents} agents, {args.flows} flows, speed "
          f"{args.speed}, {args.seconds:.0f} s of traffic, best of {args.repeat}")
    print(f"{'build':<10} {'channels':>8} {'subs':>5} {'tokens':>6} {'sent/s':>7} "
          f"{'copies':>6} {'conv ev':>7} {'cpu s':>6} {'cpu %':>6} {'us/sent':>7} "
          f"{'us/conv ev':>10}")
    for spec in args.build:
        name, build = spec.split("=", 1)
        runs = [run_one(os.path.abspath(build), args) for _ in range(args.repeat)]
        r = min(runs, key=lambda x: x["cpu"] / max(x["conv"], 1))
        print(f"{name:<10} {r['channels']:>8} {r['subscribed']:>5} {r['tokens']:>6} "
              f"{r['sent'] / r['wall']:>7.0f} {r['copies']:>6.2f} {r['conv']:>7.0f} "
              f"{r['cpu']:>6.2f} {100 * r['cpu'] / r['wall']:>6.1f} "
              f"{1e6 * r['cpu'] / max(r['sent'], 1):>7.1f} "
              f"{1e6 * r['cpu'] / max(r['conv'], 1):>10.1f}", flush=True)


if __name__ == "__main__":
    main()
