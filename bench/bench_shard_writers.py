#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One shard of the largest org, the whole daemon with each writer (issue 66
item 3). A measurement: it prints numbers and asserts nothing.

One simulator (bench_startup.simulator: --queues Q, 10 agents a queue,
speed 1, plain http, the org's real rate; --warmup, half an hour of history
by default); per --writers W, one collectd agent with Shard --shard,
genesys_realtime, genesys_analytics and genesys_flowmetrics (--plugins) at
their default families (Host "acme", InstanceFrom "id", --realtime-keys
more in genesys_realtime's), global Interval 10 and WriteThreads 1 as the
examples, unixsock, and the writer block of the example of that backend
(examples/collectd-*.conf, addresses replaced) in front of the real server
of tests/e2e/backends_harness.py:

  none        no writer: collectd's value cache alone; its count of value
              lists --settle seconds after the start is the target of the
              others;
  prometheus  write_prometheus, scraped;
  graphite    write_graphite to carbon-cache (whisper files of
              --retentions, 10s:1h: collectd's Interval);
  influxdb    network to InfluxDB 1.x's collectd listener (SHOW SERIES;
              the example's read-buffer, or --read-buffer bytes).

Every --poll seconds: LISTVAL (the cache's value lists) and the backend's
series, each value list named as the backend names it (the rules of
collectd-genesys(5) BACKENDS). Served: the first poll at which the cache
holds the target's count and the backend every series of the cache's value
lists; also printed, what the backend holds that the cache does not. Then
over --window seconds: collectd's CPU (utime + stime, % of a core), the
messages a second (genesys_realtime's notify_messages, its rate by GETVAL
every 10 s, the mean) and so CPU a message, VmRSS and VmHWM, and the
server's RSS. Last, the Node exporter
(bench/peers/hold.js, prom-client) holding the prometheus run's series:
its RSS (bench_footprint.py's rule).

  python3 bench/bench_shard_writers.py --queues 5000 --shard 1/4
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import collectd_harness  # noqa: E402
from backends_harness import Carbon, InfluxDB, example_plugin_block, free_port  # noqa: E402
from bench_footprint import prom_series, types_ds, scrape_text, run_node, write_series  # noqa: E402
from bench_idle import cpu_seconds  # noqa: E402
from bench_startup import simulator, vm  # noqa: E402

PLUGINS = ("genesys_realtime", "genesys_analytics", "genesys_flowmetrics")
STOCK = {"none": (), "prometheus": ("write_prometheus",), "graphite": ("write_graphite",),
         "influxdb": ("network",)}


def graphite_paths(idents, ds):
    """write_graphite's paths of the examples' settings (Prefix "genesys.",
    SeparateInstances, EscapeCharacter "_"; a data source's name after a
    type of several)."""
    esc = lambda s: s.replace(".", "_")  # noqa: E731
    out = set()
    for ident in idents:
        host, pl, ti = ident.split("/")
        plugin, _, pinst = pl.partition("-")
        typ, _, tinst = ti.partition("-")
        base = ["genesys", esc(host), esc(plugin)] + ([esc(pinst)] if pinst else []) + \
            [esc(typ)] + ([esc(tinst)] if tinst else [])
        names = ds.get(typ, [("value", "GAUGE")])
        for name, _ in names:
            out.add(".".join(base + ([name] if len(names) > 1 else [])))
    return out


def influx_series(idents, ds):
    """InfluxDB's collectd listener's series keys: <plugin>_<ds> with the
    tags host, instance, type, type_instance (the empty ones left out)."""
    out = set()
    for ident in idents:
        host, pl, ti = ident.split("/")
        plugin, _, pinst = pl.partition("-")
        typ, _, tinst = ti.partition("-")
        tags = [("host", host), ("instance", pinst), ("type", typ), ("type_instance", tinst)]
        tags = ",".join(f"{k}={v}" for k, v in sorted(tags) if v)
        for name, _ in ds.get(typ, [("value", "GAUGE")]):
            out.add(f"{plugin}_{name},{tags}")
    return out


class Backend:
    def __init__(self, kind, tmp, args):
        self.kind, self.server, self.tmp = kind, None, tmp
        if kind == "prometheus":
            self.port = free_port()
            self.block = example_plugin_block("collectd-prometheus.conf", "write_prometheus",
                                              Host='"127.0.0.1"', Port=f'"{self.port}"')
        elif kind == "graphite":
            self.server = Carbon(retentions=args.retentions)
            self.block = example_plugin_block("collectd-graphite.conf", "write_graphite",
                                              Host='"127.0.0.1"', Port=f'"{self.server.port}"')
        elif kind == "influxdb":
            self.server = InfluxDB([collectd_harness.TYPES_DB, collectd_harness.OUR_TYPES_DB],
                                   read_buffer=args.read_buffer)
            self.block = example_plugin_block(
                "collectd-influxdb.conf", "network",
                Server=f'"127.0.0.1" "{self.server.collectd_port}"')
        else:
            self.block = ""

    def want(self, idents, ds):
        if self.kind == "prometheus":
            return set(prom_series(idents, ds))
        if self.kind == "graphite":
            return graphite_paths(idents, ds)
        if self.kind == "influxdb":
            return influx_series(idents, ds)
        return set(idents)

    def have(self, idents):
        if self.kind == "prometheus":
            series, _ = scrape_text(self.port, os.path.join(self.tmp, "metrics.txt"))
            return {k for k in series if k[0].startswith("collectd_genesys_")}
        if self.kind == "graphite":
            return {p for p in self.server.paths() if p.startswith("genesys.")}
        if self.kind == "influxdb":
            got = set()
            for s in self.server.query("SHOW SERIES FROM /^genesys_/"):
                got.update(k for (k,) in s["values"])
            return got
        return set(idents)

    def stop(self):
        if self.server is not None:
            self.server.stop()


def run(sim, kind, args, target, ds, tmp):
    backend = Backend(kind, tmp, args)
    keys = f'    Host "acme"\n    InstanceFrom "id"\n    Shard "{args.shard}"\n'
    more = "".join(f"    {k.strip()}\n" for k in args.realtime_keys.split("\\n") if k.strip())
    body = "".join(f"LoadPlugin {p}\n<Plugin {p}>\n"
                   + sim.org_block("acme", extra=keys + (more if p == "genesys_realtime" else ""))
                   + "</Plugin>\n" for p in args.plugins.split(",")) + backend.block
    cd = collectd_harness.Collectd(body, stock=("logfile", "unixsock") + STOCK[kind],
                                   write_threads=1, interval=10)
    res = {"writer": kind}
    try:
        t0 = time.monotonic()
        cd.start()
        served = None
        while time.monotonic() - t0 < args.timeout:
            time.sleep(args.poll)
            if cd.proc.poll() is not None:
                raise RuntimeError("collectd exited: " + cd.log_text()[-2000:])
            idents = [i for i in cd.listval() if i.split("/")[1].startswith("genesys_")]
            want = backend.want(idents, ds)
            have = backend.have(idents)
            age = time.monotonic() - t0
            res.update(cache=len(idents), want=len(want), served=len(want & have),
                       extra=len(have - want))
            if kind == "none":
                if age >= args.settle:
                    served = age
                    break
                continue
            if len(idents) >= target and want <= have:
                served = age
                break
        res["served_s"] = served
        res["age_s"] = time.monotonic() - t0
        pid = cd.proc.pid
        # GETVAL answers a counter's rate over its last interval: the mean
        # of one a read (Interval 10) over the window
        rate = lambda: sum(float(cd.unixsock(f"GETVAL {i}")[1][0].split("=")[1])  # noqa: E731
                           for i in cd.listval()
                           if i.startswith("acme/genesys_realtime-self/") and
                           "/notify_messages" in i)
        rates = []
        c0, w0 = cpu_seconds(pid), time.monotonic()
        while time.monotonic() - w0 < args.window:
            time.sleep(min(10.0, max(0.0, args.window - (time.monotonic() - w0))))
            rates.append(rate())
        c1, w1 = cpu_seconds(pid), time.monotonic()
        res["cpu_pct"] = 100 * (c1 - c0) / (w1 - w0)
        res["msg_s"] = sum(rates) / len(rates)
        res["us_msg"] = 1e6 * (c1 - c0) / (w1 - w0) / res["msg_s"] if res["msg_s"] > 0 else None
        res["rss"], res["hwm"] = vm(pid, "VmRSS"), vm(pid, "VmHWM")
        if backend.server is not None:
            res["server_rss"] = vm(backend.server.proc.pid, "VmRSS")
        if kind == "prometheus":
            res["series"] = {k: 1.0 for k in backend.have([])}
        idents = [i for i in cd.listval() if i.split("/")[1].startswith("genesys_")]
        res["cache_end"] = len(idents)
        return res
    finally:
        cd.cleanup()
        backend.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, default=5000)
    ap.add_argument("--shard", default="1/4")
    ap.add_argument("--writers", default="none,prometheus,graphite,influxdb")
    ap.add_argument("--plugins", default=",".join(PLUGINS),
                    help="the genesys plugins loaded, comma-separated")
    ap.add_argument("--realtime-keys", default="",
                    help=r"more <Org> keys of genesys_realtime, \n between")
    ap.add_argument("--settle", type=float, default=300.0,
                    help="seconds of the run without a writer before its count is the target")
    ap.add_argument("--warmup", type=int, default=1800,
                    help="the simulator's seconds of history (genesys_analytics' first bucket)")
    ap.add_argument("--poll", type=float, default=5.0)
    ap.add_argument("--window", type=float, default=120.0)
    ap.add_argument("--timeout", type=float, default=1200.0)
    ap.add_argument("--org-route-limit", type=int, default=300)
    ap.add_argument("--read-buffer", type=int, default=None,
                    help="the InfluxDB listener's read-buffer, bytes (0: the kernel's "
                    "default; by default the example's)")
    ap.add_argument("--retentions", default="10s:1h",
                    help="carbon's whisper files (storage-schemas.conf)")
    ap.add_argument("--node", default="node")
    ap.add_argument("--node-heap", type=int, default=16384)
    args = ap.parse_args()
    writers = args.writers.split(",")
    if writers[0] != "none":
        writers.insert(0, "none")
    tmp = tempfile.mkdtemp(prefix="bench-shard-writers-")
    t_sim = time.monotonic()
    # half an hour of history: genesys_analytics' newest settled bucket
    # (PT15M) is there at the start, as in an org that has run a while
    sim = simulator(args.queues, args, warmup=args.warmup, start_timeout=1800)
    print(f"# the simulator ready after {time.monotonic() - t_sim:.0f} s", flush=True)
    ds = types_ds()
    print(f"# {args.queues} queues, {10 * args.queues} agents, speed 1, Shard {args.shard}; "
          f"load {os.getloadavg()[0]:.2f}; genesys_realtime's keys {args.realtime_keys!r}", flush=True)
    print("| writer | value lists | backend series (of them / more) | every series served "
          "| collectd CPU % of a core | messages/s | µs a message | VmRSS / VmHWM MiB "
          "| server RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    target, prom = 0, None
    try:
        for kind in writers:
            r = run(sim, kind, args, target, ds, tmp)
            if kind == "none":
                target = r["cache"]
            if kind == "prometheus":
                prom = r
            served = f"{r['served_s']:.0f} s" if r["served_s"] is not None else \
                f"not within {args.timeout:.0f} s"
            us = f"{r['us_msg']:.1f}" if r["us_msg"] else "-"
            print(f"| {kind} | {r['cache']:,} (at the end {r['cache_end']:,}) | "
                  f"{r['want']:,} ({r['served']:,} / {r['extra']:,}) | {served} | "
                  f"{r['cpu_pct']:.2f} | {r['msg_s']:.0f} | {us} | "
                  f"{r['rss']:.0f} / {r['hwm']:.0f} | {r.get('server_rss', 0):.0f} |",
                  flush=True)
        if prom is not None:
            path = os.path.join(tmp, "series.txt")
            write_series(prom["series"], path)
            node_base = run_node(None, None, args)
            node = run_node(path, prom["series"], args)
            n = len(prom["series"])
            print(f"Node exporter (prom-client) holding the prometheus run's {n:,} series: "
                  f"{node['rss']:.1f} MiB (verified: {node['verified']}; base "
                  f"{node_base['rss']:.1f}, {(node['rss'] - node_base['rss']) * 2**20 / n:.0f} "
                  f"bytes a series); collectd with write_prometheus / Node: "
                  f"{prom['rss'] / node['rss']:.2f}", flush=True)
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
