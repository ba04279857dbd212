#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Start-up and footprint of the plugins at scale, against the simulator
(issue #16, item 5). A measurement: it prints numbers and asserts nothing.

Start-up, per --queues Q (10 agents per queue, plain http, the API's real
rate limit of 300 requests a minute): the real collectd with
genesys_realtime (InstanceFrom id) and write_http (FlushInterval 0.1) to a
receiver in this process that notes, per queue id, when its first value
arrived and the value's own time (when the plugin dispatched it). Printed:
from collectd's start to the first value of every queue (the last queue's
first), by the value's time and by arrival, with the plugin's requests and
channels.

Footprint (--footprint Q): every plugin and family on (genesys_realtime
with ConversationEvents, AgentActivity and Summaries; genesys_analytics
with AgentStatus; genesys_flowmetrics), collectd's VmRSS once the plugins
have subscribed and --settle seconds have passed, in three runs:

  base     collectd with the same stock plugins and no genesys plugin;
  plugins  the genesys plugins, and a PreCacheChain that stops every value
           of theirs before collectd's value cache (nothing is cached or
           written; the plugins do all their work);
  cached   the same without that chain: collectd's value cache holds every
           series (write_http is not loaded in these runs: nothing writes).

plugins - base is the plugins' own memory (with the libraries they load);
cached - plugins is collectd's value cache for their series. VmRSS is
also sampled every --every seconds of the settle: the plugins' memory is
not flat, as genesys_realtime remembers each conversation for
ConversationLinger after it ends (900 s) and genesys_flowmetrics for
FinishedConversationTimeout (3600 s), each up to its MaxConversations. The
simulator's conversation rate (realistic for the agents it has) gives how
many each keeps at steady state; a settle that long (--settle 3700) shows
it whole.

--families picks genesys_realtime's optional families (a breakdown by
family), --kinds which of the three runs. --reconnect-at S closes every
socket S seconds into the settle: every channel reconnects and baselines
again at once, the peak a network blip makes.

  python3 bench/bench_startup.py --queues 2000 5000 --footprint 5000
"""
import argparse
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import collectd_harness  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_realtime"
# write_http's JSON: one object per value, "time" before "plugin_instance"
# and "type_instance" (collectd's order)
VALUE = re.compile(rb'"values":\[([^\]]*)\].*?"time":([0-9.]+),"interval":[0-9.]+,'
                   rb'"host":"[^"]*","plugin":"genesys_realtime","plugin_instance":"([^"]+)",'
                   rb'"type":"([^"]+)","type_instance":"([^"]*)"')


class FirstSeen:
    """A write_http receiver that keeps, per plugin instance, the arrival
    and value time of its first value (a regular expression over the body:
    no JSON decode, so it keeps up with a whole org's first dispatch)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.first = {}  # plugin_instance -> (arrival, value time)
        self.agents = {}  # queue -> (arrival, value time) of its first agents_routing
        self.org = {}  # (type, type_instance) -> latest org agent count
        self.org_whole = None  # (arrival, value time): every member's routing known
        self.org_routing = (0, None)  # (agents with a known routing status, since)
        first, agents, org, lock = self.first, self.agents, self.org, self.lock
        seen = self

        def whole():
            # the org's routing counts add up to its member agents: every
            # member's baseline (GET /api/v2/users) is in
            total = org.get(("org_agents", "total"))
            routing = sum(v for (t, _), v in org.items() if t == "org_agents_routing")
            return total is not None and total > 0 and routing == total

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                with lock:
                    for m in VALUE.finditer(body):
                        at = (now, float(m.group(2)))
                        inst, ty = m.group(3).decode(), m.group(4).decode()
                        first.setdefault(inst, at)
                        if ty == "agents_routing":
                            agents.setdefault(inst, at)
                        elif ty.startswith("org_agents") and inst == "org":
                            org[(ty, m.group(5).decode())] = float(m.group(1))
                            routing = sum(v for (t, _), v in org.items()
                                          if t == "org_agents_routing")
                            if routing != seen.org_routing[0]:
                                seen.org_routing = (routing, at)
                            if seen.org_whole is None and whole():
                                seen.org_whole = at
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def config(self):
        return ("<LoadPlugin write_http>\n  FlushInterval 0.1\n</LoadPlugin>\n"
                "<Plugin write_http>\n"
                f'  <Node "bench">\n    URL "http://127.0.0.1:{self.port}/"\n'
                '    Format "JSON"\n    StoreRates false\n    BufferSize 1048576\n'
                "  </Node>\n</Plugin>\n")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # MiB
    return None


def collectd(body, stock):
    """collectd with exactly these plugins (no csv: the harness's default
    config writes every value to disk)."""
    cd = collectd_harness.Collectd("", stock=stock)
    cd.write_conf(body)
    return cd


def simulator(queues, args, warmup=120, start_timeout=60):
    """warmup: seconds of history (half an hour gives genesys_analytics'
    PT15M bucket at the start; a large org's takes minutes to build)."""
    return Simulator("--queues", str(queues), "--agents", str(10 * queues), "--flows", "20",
                     "--speed", "1", "--start", "now", "--warmup", str(warmup),
                     "--org-route-limit", str(args.org_route_limit), tls=False,
                     start_timeout=start_timeout)


def startup(queues, args):
    sim = simulator(queues, args)
    rx = FirstSeen()
    block = sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                          + ("    AgentActivity true\n" if args.agent_activity else ""))
    cd = collectd(f"LoadPlugin {PLUGIN}\n<Plugin {PLUGIN}>\n{block}</Plugin>\n"
                  + rx.config(), ("logfile", "write_http"))
    try:
        qids = set(sim.truth()["queues"])
        t0 = time.time()
        cd.start()
        while time.time() - t0 < args.timeout:
            with rx.lock:
                # the org's counts may never add up: past 20 channels of
                # 1,000 topics the last agents get none (the man page)
                done = qids <= set(rx.first) and (
                    not args.agent_activity or (qids <= set(rx.agents) and (
                        rx.org_whole or time.time() - t0 > args.agent_wait)))
            if done:
                break
            if cd.proc.poll() is not None:
                raise RuntimeError("collectd exited: " + cd.log_text()[-2000:])
            time.sleep(0.05)
        with rx.lock:
            seen = {q: rx.first[q] for q in qids if q in rx.first}
            agents = {q: rx.agents[q] for q in qids if q in rx.agents}
            org_whole = rx.org_whole
            routing, routing_at = rx.org_routing
            total = rx.org.get(("org_agents", "total"))
        st = sim.stats()
        req = st["requests"]
        return {
            "agents_seen": len(agents),
            "agents_s": max(v for _, v in agents.values()) - t0 if agents else None,
            "org_s": org_whole[1] - t0 if org_whole else None,
            "routing": routing, "routing_s": routing_at[1] - t0 if routing_at else None,
            "org_total": total,
            "activity": req.get("POST /api/v2/analytics/routing/activity/query",
                                {}).get("total", 0),
            "members": sum(v.get("total", 0) for k, v in req.items()
                           if k.startswith("GET /api/v2/routing/queues/")),
            "users": req.get("GET /api/v2/users", {}).get("total", 0),
            "status_429": st["by_status"].get("429", 0),
            "queues": queues,
            "seen": len(seen),
            "value_s": max(v for _, v in seen.values()) - t0 if seen else None,
            "arrival_s": max(a for a, _ in seen.values()) - t0 if seen else None,
            "listing": req.get("GET /api/v2/routing/queues", {}).get("total", 0),
            "obs": req.get("POST /api/v2/analytics/queues/observations/query",
                           {}).get("total", 0),
            "channels": st["channels_alive"],
            "rss_mib": vm(cd.proc.pid, "VmRSS"),
        }
    finally:
        cd.cleanup()
        rx.stop()
        sim.stop()


REALTIME_FAMILIES = ("ConversationEvents", "AgentActivity", "Summaries")


def footprint(queues, args):
    sim = simulator(queues, args)
    rows = {}
    try:
        for kind in args.kinds:
            body = ""
            if kind != "base":
                rt = sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                                   + "".join(f"    {f} {'true' if f in args.families else 'false'}\n"
                                             for f in REALTIME_FAMILIES)
                                   + (f"    SummaryInterval {args.summary_interval}\n"
                                      if args.summary_interval else ""))
                an = sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                                   "    AgentStatus true\n")
                fm = sim.org_block("acme", extra='    Host "acme"\n')
                blocks = {PLUGIN: rt, "genesys_analytics": an, "genesys_flowmetrics": fm}
                body = "".join(f"LoadPlugin {p}\n<Plugin {p}>\n{b}</Plugin>\n"
                               for p, b in blocks.items()
                               if not args.only or p in args.only)
            body += "LoadPlugin match_regex\n"
            if kind == "plugins":
                body += ('PreCacheChain "NoGenesys"\n<Chain "NoGenesys">\n'
                         '  <Rule "genesys">\n    <Match "regex">\n'
                         '      Plugin "^genesys_"\n    </Match>\n'
                         '    Target "stop"\n  </Rule>\n</Chain>\n')
            cd = collectd(body, ("logfile", "match_regex"))
            try:
                t0 = time.time()
                cd.start(env=dict(os.environ, **dict(e.split("=", 1) for e in args.env)))
                if kind != "base":
                    base = sim.stats()["requests_total"]
                    while time.time() - t0 < args.timeout:
                        st = sim.stats()
                        # genesys_analytics alone subscribes to nothing
                        streams = not args.only or set(args.only) - {"genesys_analytics"}
                        if st["requests_total"] > base and (
                                st["topics_subscribed"] > 0 or not streams):
                            break
                        time.sleep(0.5)
                # VmRSS every --every seconds of the settle: the conversation
                # stores grow until their timeouts (see the module's text)
                t_sub, samples, reconnect = time.time(), [], None
                while True:
                    left = args.settle - (time.time() - t_sub)
                    due = args.reconnect_at - (time.time() - t_sub) \
                        if args.reconnect_at and reconnect is None else left
                    time.sleep(max(0.0, min(args.every, left, due)))
                    if cd.proc.poll() is not None:
                        raise RuntimeError("collectd exited: " + cd.log_text()[-2000:])
                    samples.append((time.time() - t_sub, vm(cd.proc.pid, "VmRSS")))
                    if args.reconnect_at and reconnect is None and \
                            time.time() - t_sub >= args.reconnect_at:
                        # every channel baselines again at once
                        reconnect = (vm(cd.proc.pid, "VmRSS"), vm(cd.proc.pid, "VmHWM"),
                                     sim.fault({"fault": "close_sockets"})["results"][0]["sockets"])
                    if left <= args.every and left <= due:
                        break
                rows[kind] = (samples[-1][1], vm(cd.proc.pid, "VmHWM"), samples,
                              reconnect)
            finally:
                cd.cleanup()
        rows["rate"] = sim._open("/sim/info")["arrival_rate_per_sim_s"]
        return rows
    finally:
        sim.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, nargs="*", default=[2000, 5000])
    ap.add_argument("--footprint", type=int, nargs="*", default=[5000])
    ap.add_argument("--summary-interval", type=int, metavar="S",
                    help="genesys_realtime's SummaryInterval in the footprint runs "
                         "(default: its Interval, 10 s in these runs)")
    ap.add_argument("--settle", type=float, default=60.0,
                    help="seconds after subscribing before RSS is read")
    ap.add_argument("--every", type=float, default=60.0,
                    help="seconds between VmRSS samples during the settle")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--agent-activity", action="store_true",
                    help="start-up with AgentActivity: also every queue's first "
                         "agents_routing and the org's agent counts whole")
    ap.add_argument("--agent-wait", type=float, default=120.0,
                    help="with --agent-activity, seconds to wait for the org's counts "
                         "to add up")
    ap.add_argument("--org-route-limit", type=int, default=300,
                    help="the simulator's org-wide limit on the queue and member "
                         "routes, requests a minute (0: off)")
    ap.add_argument("--env", nargs="*", default=[],
                    help="K=V for collectd's environment in the footprint runs "
                         "(e.g. GLIBC_TUNABLES=glibc.malloc.arena_max=1)")
    ap.add_argument("--only", nargs="*", default=[],
                    help="footprint of these plugins only (genesys_realtime, …)")
    ap.add_argument("--families", nargs="*", default=list(REALTIME_FAMILIES),
                    choices=REALTIME_FAMILIES,
                    help="genesys_realtime's optional families in the footprint runs "
                         "(all by default; none: queue observations only)")
    ap.add_argument("--reconnect-at", type=float, default=0.0, metavar="S",
                    help="footprint: close every socket once, S seconds into the "
                    "settle (every channel baselines again); VmRSS and VmHWM just "
                    "before are printed")
    ap.add_argument("--kinds", nargs="*", default=["base", "plugins", "cached"],
                    choices=["base", "plugins", "cached"],
                    help="which footprint runs (see the module's text)")
    args = ap.parse_args()
    if args.queues and args.agent_activity:
        print("# start-up with AgentActivity: collectd start -> first value of every "
              "queue, every queue's agents_routing, the org's agent counts whole "
              "(by value time; 10 agents per queue, 300 requests/min a token, "
              f"{args.org_route_limit} a minute org-wide on the queue routes)")
        print("| queues | agents | first value s | agents_routing s | org counts whole s "
              "| org routing known (last change s) "
              "| activity queries | member GETs | user GETs | 429s | channels |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for q in args.queues:
            r = startup(q, args)
            fmt = lambda v: "never" if v is None else f"{v:.2f}"  # noqa: E731
            print(f"| {q} | {10 * q} | {fmt(r['value_s'])} | {fmt(r['agents_s'])} | "
                  f"{fmt(r['org_s'])} | {r['routing']:.0f} of {r['org_total'] or 0:.0f} "
                  f"({fmt(r['routing_s'])}) | {r['activity']} | {r['members']} | {r['users']} | "
                  f"{r['status_429']} | {r['channels']} |", flush=True)
    elif args.queues:
        print("# start-up: collectd start -> first value of every queue "
              "(genesys_realtime, 10 agents per queue, 300 requests/min)")
        print("| queues | queues seen | by value time s | by arrival s | listing GETs "
              "| observation queries | channels | collectd RSS MiB |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for q in args.queues:
            r = startup(q, args)
            print(f"| {q} | {r['seen']} | {r['value_s']:.2f} | {r['arrival_s']:.2f} | "
                  f"{r['listing']} | {r['obs']} | {r['channels']} | {r['rss_mib']:.1f} |",
                  flush=True)
    for q in args.footprint:
        rows = footprint(q, args)
        print(f"\n# footprint at {q} queues, {10 * q} agents "
              f"({', '.join(args.only) or 'all three plugins'}; genesys_realtime families: "
              f"{', '.join(args.families) or 'none'}), "
              f"{args.settle:.0f} s after subscribing (VmRSS MiB; VmHWM in brackets)")
        for k in args.kinds:
            print(f"#   {k:<8} {rows[k][0]:8.1f} ({rows[k][1]:.1f})")
        for k in args.kinds:
            if rows[k][3] is not None:
                rss, hwm, n = rows[k][3]
                print(f"#   {k}: at {args.reconnect_at:.0f} s, before {n} sockets "
                      f"were closed: {rss:.1f} ({hwm:.1f})")
        for k in args.kinds:
            if len(rows[k][2]) > 1:
                print(f"#   {k} over the settle (s: MiB): "
                      + ", ".join(f"{t:.0f}: {r:.1f}" for t, r in rows[k][2]))
        # what the conversation stores hold once full, with the defaults
        rate = rows["rate"]
        print(f"#   conversations: {rate:.1f} a second; at steady state "
              f"genesys_realtime keeps {min(rate * 900, 100000):,.0f} "
              f"(ConversationLinger 900 s, MaxConversations 100,000), "
              f"genesys_flowmetrics {min(rate * 3600, 200000):,.0f} "
              f"(FinishedConversationTimeout 3600 s, MaxConversations 200,000)")
        if "base" in rows and "plugins" in rows:
            print(f"#   the plugins' own (plugins - base): "
                  f"{rows['plugins'][0] - rows['base'][0]:.1f} MiB")
        if "plugins" in rows and "cached" in rows:
            print(f"#   collectd's value cache of their series (cached - plugins): "
                  f"{rows['cached'][0] - rows['plugins'][0]:.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
