#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The whole daemon's memory at a large org, beside a Node exporter holding
the same live series (issue 50 items 1 and 3). A measurement: it prints
numbers and asserts nothing.

One simulator (--queues Q, 10 agents a queue, speed 1, plain http); per
family set (--sets: `default`, each plugin with no family key; `all`,
bench_startup.py's footprint: genesys_realtime ConversationEvents,
AgentActivity and Summaries, genesys_analytics AgentStatus,
genesys_flowmetrics) three collectd runs, each VmRSS --settle seconds after
the plugins subscribed (unixsock loaded in each):

  plugins  values stopped by a PreCacheChain before collectd's value cache;
  cached   collectd's value cache holds them (nothing writes);
  prom     and write_prometheus serves them.

cached - plugins is collectd's value cache, prom - cached write_prometheus's
share, prom the whole daemon (base: collectd with no genesys plugin, once).
In the prom run, at the settle: LISTVAL over unixsock (the value lists in
the cache), then one scrape of /metrics (its series: per plugin and metric
name, and in all). The run counts only if the scrape's series per plugin
equal LISTVAL's identifiers times their type's data sources (what
write_prometheus makes of each), and the scrape parses whole.

Node (bench/peers/hold.js: prom-client, node --expose-gc) is then given
that scrape's series (same names, labels, values) as gauges and serves
them; its VmRSS after a full GC, before and after one scrape of its own
/metrics, which must equal the series it was given, both ways. An empty
Node (no series) gives its base. Per series: (RSS - base) / series.

  python3 bench/bench_footprint.py --queues 5000 --settle 300
  python3 bench/bench_footprint.py --queues 500 --settle 60 --sets all
"""
import argparse
import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import collectd_harness  # noqa: E402
from bench_startup import vm, collectd, simulator  # noqa: E402
from bench_daemon import free_port, compare  # noqa: E402

PEERS = os.path.join(ROOT, "bench", "peers")
PLUGINS = ("genesys_realtime", "genesys_analytics", "genesys_flowmetrics")
ALL = {"genesys_realtime": "    ConversationEvents true\n    AgentActivity true\n"
                           "    Summaries true\n",
       "genesys_analytics": "    AgentStatus true\n",
       "genesys_flowmetrics": ""}


def types_ds():
    """Data sources per type, (name, kind), from collectd's types.db and ours."""
    out = {}
    for path in (collectd_harness.TYPES_DB, collectd_harness.OUR_TYPES_DB):
        with open(path) as f:
            for line in f:
                p = line.split(None, 1)
                if len(p) == 2 and not p[0].startswith("#"):
                    out[p[0]] = [tuple(d.strip().split(":")[:2]) for d in p[1].split(",")]
    return out


def prom_series(idents, ds):
    """The series write_prometheus makes of the cache's value lists (its
    naming: collectd_<plugin>_<type>[_<ds>][_total], labels instance = the
    host, <plugin> = the plugin instance, type = the type instance):
    {(name, labels): None}."""
    out = {}
    for ident in idents:
        host, pl, ti = ident.split("/")
        plugin, _, pinst = pl.partition("-")
        typ, _, tinst = ti.partition("-")
        labels = [("instance", host)] + ([(plugin, pinst)] if pinst else []) + \
            ([("type", tinst)] if tinst else [])
        for name, kind in ds.get(typ, [("value", "GAUGE")]):
            metric = f"collectd_{plugin}_{typ}" + ("" if name == "value" else "_" + name) + \
                ("_total" if kind in ("COUNTER", "DERIVE") else "")
            out[(metric, tuple(sorted(labels)))] = None
    return out


def write_series(series, path):
    """series as Prometheus text (value 1 each: Node is given the names and
    labels; a double is a double)."""
    esc = lambda v: v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")  # noqa: E731
    with open(path, "w") as f:
        for name, labels in series:
            f.write(name + "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels) + "} 1\n")


def listval(sock_path):
    """The identifiers in collectd's value cache (LISTVAL)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    f = s.makefile("rwb")
    f.write(b"LISTVAL\n")
    f.flush()
    n = int(f.readline().split(b" ", 1)[0])
    out = [f.readline().decode().rstrip("\n").split(" ", 1)[1] for _ in range(n)]
    s.close()
    return out


def scrape_text(port, path):
    """One GET of /metrics into path; returns (series {(name, labels): value},
    lines that did not parse)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=600) as r, \
            open(path, "wb") as out:
        shutil.copyfileobj(r, out, 1 << 20)
    series, bad = {}, 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            try:
                if "{" in line:
                    name, rest = line.split("{", 1)
                    labels, tail = rest.rsplit("}", 1)
                    pairs = tuple(sorted(
                        (k, v.rstrip('"')) for k, _, v in
                        (item.partition('="') for item in labels.split('",') if item)))
                else:
                    name, _, tail = line.partition(" ")
                    pairs = ()
                series[(name, pairs)] = float(tail.split()[0])
            except ValueError:
                bad += 1
    return series, bad


def plugin_of(name):
    for p in PLUGINS:
        if name.startswith(f"collectd_{p}_"):
            return p
    return "other"


def org_blocks(sim, fam):
    out = ""
    for p in PLUGINS:
        extra = '    Host "acme"\n' + ('    InstanceFrom "id"\n' if p != "genesys_flowmetrics"
                                      else "") + (ALL[p] if fam == "all" else "")
        out += f"LoadPlugin {p}\n<Plugin {p}>\n{sim.org_block('acme', extra=extra)}</Plugin>\n"
    return out


def run_collectd(sim, fam, kind, args, tmp):
    """One collectd run; returns its figures (and for prom, the series)."""
    body = org_blocks(sim, fam) if kind != "base" else ""
    prom_port = free_port()
    stock = ("logfile", "match_regex", "unixsock") + (
        ("write_prometheus",) if kind == "prom" else ())
    cd = collectd("", stock)
    sock_path = os.path.join(cd.dir, "unixsock")
    body += f'LoadPlugin unixsock\n<Plugin unixsock>\n  SocketFile "{sock_path}"\n</Plugin>\n'
    body += "LoadPlugin match_regex\n"
    if kind == "plugins":
        body += ('PreCacheChain "NoGenesys"\n<Chain "NoGenesys">\n'
                 '  <Rule "genesys">\n    <Match "regex">\n'
                 '      Plugin "^genesys_"\n    </Match>\n'
                 '    Target "stop"\n  </Rule>\n</Chain>\n')
    if kind == "prom":
        body += f'LoadPlugin write_prometheus\n<Plugin write_prometheus>\n  Port "{prom_port}"\n</Plugin>\n'
    cd.write_conf(body)
    res = {"set": fam, "kind": kind}
    try:
        t0 = time.time()
        cd.start()
        if kind != "base":
            base = sim.stats()["requests_total"]
            while time.time() - t0 < args.timeout:
                st = sim.stats()
                if st["requests_total"] > base and st["topics_subscribed"] > 0:
                    break
                if cd.proc.poll() is not None:
                    raise RuntimeError("collectd exited: " + cd.log_text()[-2000:])
                time.sleep(0.5)
        t_sub = time.time()
        time.sleep(args.settle if kind != "base" else min(args.settle, 10))
        if cd.proc.poll() is not None:
            raise RuntimeError("collectd exited: " + cd.log_text()[-2000:])
        res["age_s"] = time.time() - t_sub
        res["rss"], res["hwm"] = vm(cd.proc.pid, "VmRSS"), vm(cd.proc.pid, "VmHWM")
        if kind in ("cached", "prom"):
            res["listval"] = listval(sock_path)
        if kind == "prom":
            ds = types_ds()
            path = os.path.join(tmp, f"metrics-{fam}.txt")
            for attempt in range(3):  # series may come or go between the reads
                if attempt:
                    res["listval"] = listval(sock_path)
                t = time.time()
                series, bad = scrape_text(prom_port, path)
                res["scrape_s"] = time.time() - t
                res.setdefault("rss_after_scrape", vm(cd.proc.pid, "VmRSS"))
                # what write_prometheus makes of the cache, both ways
                want = set(prom_series(res["listval"], ds))
                have = set(series)
                res["served"] = len(have & want)
                res["series"] = series
                res["verified"] = bad == 0 and have == want
                res["why"] = "" if res["verified"] else (
                    f"{bad} lines unparsed; /metrics serves {len(have & want):,} of the "
                    f"{len(want):,} series of the cache's value lists, {len(have - want):,} "
                    f"not among them ({attempt + 1} reads)")
                if res["verified"]:
                    break
        return res
    finally:
        cd.cleanup()


def run_node(path, series, args):
    """hold.js with the series of path (None: none); its figures."""
    port = free_port()
    empty = path is None
    if empty:
        path = os.path.join(tempfile.mkdtemp(prefix="bench-fp-"), "empty.txt")
        open(path, "w").close()
    proc = subprocess.Popen([args.node, "--expose-gc", f"--max-old-space-size={args.node_heap}",
                             os.path.join(PEERS, "hold.js"), path, str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("hold.js: " + proc.stderr.read().decode()[-2000:])
        js = json.loads(line)
        time.sleep(2)
        res = {"rss": vm(proc.pid, "VmRSS"), "hwm": vm(proc.pid, "VmHWM"),
               "held": js["series"]}
        if not empty:
            have, bad = scrape_text(port, path + ".node")
            os.unlink(path + ".node")
            proc.send_signal(__import__("signal").SIGUSR2)  # a full GC after it
            time.sleep(2)
            res["rss_after_scrape"] = vm(proc.pid, "VmRSS")
            res["mismatches"] = len(compare(have, series)) + bad
            res["verified"] = res["mismatches"] == 0 and js["series"] == len(series)
        return res
    finally:
        proc.kill()
        proc.wait()
        if empty:
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, default=5000)
    ap.add_argument("--settle", type=float, default=300.0,
                    help="seconds after the plugins subscribed before VmRSS is read")
    ap.add_argument("--sets", nargs="*", default=["default", "all"],
                    choices=["default", "all"])
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--warmup", type=int, default=120,
                    help="the simulator's seconds of history; at 120 genesys_analytics "
                    "dispatches no bucket within a short settle (its series are left out), "
                    "1800 gives its PT15M bucket at the start")
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--node-heap", type=int, default=16384, help="MiB (--max-old-space-size)")
    ap.add_argument("--org-route-limit", type=int, default=300)
    ap.add_argument("--top", type=int, default=12, help="metric names listed by series")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(PEERS, "node_modules", "prom-client")):
        sys.exit("bench/peers/node_modules/prom-client missing: run `npm ci --prefix bench/peers`")
    tmp = tempfile.mkdtemp(prefix="bench-footprint-")
    sim = simulator(args.queues, args, warmup=args.warmup, start_timeout=1800)
    print(f"# {args.queues} queues, {10 * args.queues} agents, speed 1; settle {args.settle:.0f} s; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; build {collectd_harness.BUILD}",
          flush=True)
    failed = 0
    try:
        base = run_collectd(sim, None, "base", args, tmp)
        node_base = run_node(None, None, args)
        print(f"# base: collectd {base['rss']:.1f} MiB, node (prom-client, no series) "
              f"{node_base['rss']:.1f} MiB", flush=True)
        for fam in args.sets:
            runs = {k: run_collectd(sim, fam, k, args, tmp) for k in ("plugins", "cached", "prom")}
            prom = runs["prom"]
            # Node is given the series of the cached run's value lists (what
            # collectd holds), as write_prometheus names them
            series = {k: 1.0 for k in prom_series(runs["cached"]["listval"], types_ds())}
            n = len(series)
            path = os.path.join(tmp, f"series-{fam}.txt")
            write_series(series, path)
            node = run_node(path, series, args)
            failed += not (prom["verified"] and node["verified"])
            by_plugin = collections.Counter(plugin_of(name) for name, _ in series)
            by_name = collections.Counter(name for name, _ in series)
            pl, ca, pr = runs["plugins"]["rss"], runs["cached"]["rss"], prom["rss"]
            ages = ", ".join(f"{k} {r['age_s']:.0f} s" for k, r in runs.items())
            print(f"\n## families: {fam}; ages {ages}; write_prometheus caught up "
                  f"(/metrics = the cache): {'yes' if prom['verified'] else 'NO'}; Node "
                  f"verified: {'yes' if node['verified'] else 'NO'}", flush=True)
            if not prom["verified"]:
                print(f"#   write_prometheus: {prom['why']}")
            if not node["verified"]:
                print(f"#   node not verified: {node['mismatches']} mismatches, held "
                      f"{node['held']} of {n}")
            print(f"series (the cached run's value lists as write_prometheus names them): "
                  f"{n:,} in all ({len(runs['cached']['listval']):,} value lists; the prom "
                  f"run's cache {len(prom['listval']):,}, its /metrics "
                  f"{len(prom['series']):,}); by plugin: "
                  + ", ".join(f"{p} {c:,}" for p, c in by_plugin.most_common()))
            print("by metric name: " + ", ".join(f"{k[len('collectd_'):]} {c:,}"
                                                  for k, c in by_name.most_common(args.top))
                  + f" (and {max(0, len(by_name) - args.top)} names more)")
            print(f"series per queue: {n / args.queues:.1f}")
            print("| part | MiB | bytes/series |\n|---|---:|---:|")
            rows = [("collectd alone (base)", base["rss"], None),
                    ("the plugins (plugins - base)", pl - base["rss"], None),
                    ("collectd's value cache (cached - plugins)", ca - pl, ca - pl),
                    ("write_prometheus (prom - cached)", pr - ca, pr - ca),
                    ("**whole daemon** (prom; after one scrape "
                     f"{prom['rss_after_scrape']:.1f}, VmHWM {prom['hwm']:.1f}; "
                     "per series: less base)", pr, pr - base["rss"]),
                    ("**Node exporter** (prom-client, after GC; after one scrape "
                     f"{node['rss_after_scrape']:.1f}, VmHWM {node['hwm']:.1f}; per series: "
                     "less its base)", node["rss"], node["rss"] - node_base["rss"])]
            for what, mib, per in rows:
                b = f"{per * 1048576 / n:,.0f}" if per is not None and n else "-"
                print(f"| {what} | {mib:.1f} | {b} |")
            print(f"whole daemon / Node: {pr / node['rss']:.2f}; cached run (no writer) / Node: "
                  f"{ca / node['rss']:.2f}; scrape of write_prometheus {prom['scrape_s']:.1f} s",
                  flush=True)
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
