#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end latency of genesys_realtime: from the simulator's event to the
value's arrival at collectd's write plugin.

Starts the simulator (tests/e2e/sim_harness.py, TLS) with --queues queues at
speed 1, an independent WebSocket client of our own (tests/sim/simproto.py)
subscribed to every queue's observation topic on its own channel, and the
real collectd with genesys_realtime and write_http POSTing to
tests/e2e/receiver.py. The simulator writes each event to both channels in
the same step (Hub.publish), so the independent client's arrival time stands
for the event's time. For every value an event changed (counts of a media
group, agent counts of a user group; the longest waits are left out, the
plugin grows them), the latency is the time from the independent client's
arrival of the event to the arrival at the receiver of the first POST that
carries the new value, stamped by the plugin after the event (so an earlier
periodic re-dispatch cannot match).

The figure includes: TLS WebSocket delivery to collectd and the plugin's
parse/apply/dispatch, collectd's write queue and write thread, write_http's
buffer until it fills or its flush callback runs (LoadPlugin FlushInterval),
the HTTP POST to the receiver on loopback and the receiver reading it. Both
ends are stamped with time.time() on the same host by Python processes
sharing 2 cores with the simulator and collectd, so a few ms of scheduling
noise is in the figures too.

    python3 bench/latency_e2e.py [--queues 1000] [--duration 60]
        [--flush-interval 1] [--buffer-size 65536] [--interval 10]
        [--with-csv]

Needs a build (GEN_BUILD_DIR, default build/, as tests/e2e) and collectd.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))

PLUGIN = "genesys_realtime"
# As genesys_realtime.c names them (type_instance is the lowercased name).
ROUTING = ["IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING", "OFF_QUEUE"]
PRESENCE = ["AVAILABLE", "AWAY", "BUSY", "BREAK", "MEAL", "MEETING",
            "TRAINING", "ON_QUEUE", "IDLE", "OFFLINE"]


# ---- the independent client (a child process) ------------------------------

def ws_client_main(args):
    """Subscribes to every queue's observations on its own channel(s) and
    records (arrival time, message) until SIGTERM, then writes them out."""
    from simproto import HttpClient, WsClient

    c = HttpClient(args.base, cafile=args.ca or None)
    st, js = c.login(args.client_id, args.client_secret)
    if st != 200:
        sys.exit("login failed: %s %s" % (st, js))
    ids, page = [], 1
    while True:
        st, _, js = c.request("GET", "/api/v2/routing/queues?pageSize=500&pageNumber=%d" % page)
        ids += [e["id"] for e in js["entities"]]
        if page >= js["pageCount"]:
            break
        page += 1
    topics = ["v2.analytics.queues.%s.observations" % q for q in ids]
    sockets = []
    for i in range(0, len(topics), 1000):
        st, _, ch = c.request("POST", "/api/v2/notifications/channels")
        st, _, js = c.request("PUT", "/api/v2/notifications/channels/%s/subscriptions" % ch["id"],
                              [{"id": t} for t in topics[i:i + 1000]])
        if st != 200:
            sys.exit("subscribe failed: %s %s" % (st, js))
        sockets.append(WsClient(ch["connectUri"], cafile=args.ca or None))
    records = []
    stop = threading.Event()

    def reader(ws):
        while not stop.is_set():
            try:
                kind, text = ws.recv()
            except (OSError, ConnectionError):
                return
            t = time.time()
            if kind == "text" and ".observations" in text[:120]:
                records.append((t, text))
            elif kind == "close":
                return

    threads = [threading.Thread(target=reader, args=(ws,), daemon=True) for ws in sockets]
    for th in threads:
        th.start()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    print("ready %d" % len(ids), flush=True)
    while not stop.is_set():
        stop.wait(0.5)
    with open(args.out, "w") as f:
        for t, text in list(records):
            f.write("%.6f\t%s\n" % (t, text))
    for ws in sockets:
        ws.close()


# ---- analysis ----------------------------------------------------------------

def plugin_values(body):
    """The values the plugin keeps from one observation group, keyed by
    (plugin_instance, type, type_instance) with InstanceFrom "id"."""
    group = body["group"]
    qid, media = group["queueId"], group.get("mediaType")
    metrics = body["data"][0]["metrics"] if body.get("data") else []
    out = {}
    if media is not None:
        counts = {m["metric"]: m["stats"].get("count", 0) for m in metrics}
        for name, typ in (("oWaiting", "waiting"), ("oInteracting", "interacting"),
                          ("oAlerting", "alerting")):
            out[(qid, typ, media)] = counts.get(name, 0)
        return (qid, media), out
    counts = {}
    routing = dict.fromkeys(ROUTING, 0)
    presence = dict.fromkeys(PRESENCE + ["other"], 0)
    for m in metrics:
        n = m["stats"].get("count", 0)
        if m["metric"] == "oUserRoutingStatuses":
            q = m.get("qualifier", "").upper()
            if q in routing:
                routing[q] += n
        elif m["metric"] == "oUserPresences":
            q = m.get("qualifier", "").upper()
            presence[q if q in presence else "other"] += n
        else:
            counts[m["metric"]] = n
    for name, ti in (("oMemberUsers", "member"), ("oActiveUsers", "active"),
                     ("oOnQueueUsers", "on_queue"), ("oOffQueueUsers", "off_queue")):
        out[(qid, "agents", ti)] = counts.get(name, 0)
    for k, n in routing.items():
        out[(qid, "agents_routing", k.lower())] = n
    for k, n in presence.items():
        out[(qid, "agents_presence", k.lower())] = n
    return (qid, None), out


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100 * (len(sorted_values) - 1)))))
    return sorted_values[i]


def analyse(records, arrivals, t_from, t_to, skew):
    """records: [(t, text)] of the independent client; arrivals: the
    receiver's [(arrival, value time, key, value)]."""
    last = {}  # group -> {key: value}
    changes = []  # (t, key, value)
    n_user = n_bytes = 0
    for t, text in records:
        n_bytes += len(text.encode())
        msg = json.loads(text)
        group, values = plugin_values(msg["eventBody"])
        n_user += group[1] is None
        prev = last.get(group)
        last[group] = values
        if prev is None or not t_from <= t <= t_to:
            continue
        for key, v in values.items():
            if prev.get(key) != v:
                changes.append((t, key, v))
    by_key = {}
    for arrival, vtime, key, value in arrivals:
        if key[1] != PLUGIN or key[2] == "self":
            continue
        by_key.setdefault(key[2:], []).append((arrival, vtime, value))
    for lst in by_key.values():
        lst.sort()
    lat, to_plugin, unmatched = [], [], 0
    for t, key, v in changes:
        got = None
        for arrival, vtime, value in by_key.get(key, ()):
            if vtime >= t - skew and abs(value - v) < 1e-9:
                got = arrival, vtime
                break
        if got is None:
            unmatched += 1
        else:
            lat.append(got[0] - t)
            to_plugin.append(got[1] - t)
    lat.sort()
    to_plugin.sort()
    return {"messages": len(records), "user_share": n_user / max(1, len(records)),
            "bytes_per_message": n_bytes / max(1, len(records)),
            "changes": len(changes), "matched": len(lat), "unmatched": unmatched,
            "latency": lat, "to_plugin": to_plugin}


def proc_stats(pid):
    """(CPU seconds, RSS bytes) of a process."""
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return ((int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK"),
            int(parts[21]) * os.sysconf("SC_PAGE_SIZE"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, default=1000)
    ap.add_argument("--agents-per-queue", type=int, default=5)
    ap.add_argument("--duration", type=float, default=60.0,
                    help="seconds measured after the plugin's baseline")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds after the baseline left out")
    ap.add_argument("--flush-interval", default="1",
                    help="write_http's LoadPlugin FlushInterval, seconds")
    ap.add_argument("--buffer-size", type=int, default=65536,
                    help="write_http BufferSize, bytes (collectd's minimum is 1024)")
    ap.add_argument("--interval", type=float, default=10.0,
                    help="genesys_realtime's Interval (full re-dispatch)")
    ap.add_argument("--with-csv", action="store_true",
                    help="keep the harness's csv writer (as tests/e2e do)")
    ap.add_argument("--skew", type=float, default=0.5,
                    help="how far a value's own time may precede the client's arrival")
    ap.add_argument("--json", help="also write the figures here")
    # The independent client's own mode (run as a child process).
    ap.add_argument("--ws-client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--base", help=argparse.SUPPRESS)
    ap.add_argument("--ca", help=argparse.SUPPRESS)
    ap.add_argument("--client-id", help=argparse.SUPPRESS)
    ap.add_argument("--client-secret", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ws_client:
        return ws_client_main(args)

    from collectd_harness import Collectd
    from receiver import Receiver
    from sim_harness import Simulator

    sim = Simulator("--queues", str(args.queues),
                    "--agents", str(args.queues * args.agents_per_queue),
                    "--flows", "2", "--speed", "1", "--start", "now",
                    "--heartbeat", "5")
    rx = client = cd = None
    try:
        out = os.path.join(sim.dir, "client.tsv")
        client = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--ws-client",
             "--base", sim.base_url, "--ca", sim.ca or "", "--out", out,
             "--client-id", sim.info["client_id"],
             "--client-secret", sim.info["client_secret"]],
            stdout=subprocess.PIPE, text=True)
        line = client.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError("the independent client did not start")

        rx = Receiver()
        block = sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n')
        write_http = (
            f"<LoadPlugin write_http>\n  FlushInterval {args.flush_interval}\n"
            "</LoadPlugin>\n<Plugin write_http>\n"
            f'  <Node "bench">\n    URL "http://127.0.0.1:{rx.port}/"\n'
            '    Format "JSON"\n    StoreRates false\n'
            f"    BufferSize {args.buffer_size}\n  </Node>\n</Plugin>\n")
        cd = Collectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval {args.interval}\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + write_http,
            stock=("logfile", "csv", "write_http"))
        if not args.with_csv:
            with open(cd.conf) as f:
                conf = f.read()
            conf = conf.replace("LoadPlugin csv\n", "").replace(
                f'<Plugin csv>\n  DataDir "{cd.csv}"\n</Plugin>\n', "")
            with open(cd.conf, "w") as f:
                f.write(conf)
        cd.start()
        # Ready once the baseline has dispatched values of every queue
        # (whatever the Interval).
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            seen = {k[2] for k in rx.snapshot() if k[1] == PLUGIN and k[3] == "agents"}
            if len(seen) >= args.queues:
                break
            if cd.proc.poll() is not None:
                raise RuntimeError("collectd exited:\n" + cd.log_text()[-3000:])
            time.sleep(0.2)
        else:
            raise RuntimeError("the plugin did not baseline:\n" + cd.log_text()[-3000:])
        t_ready = time.time()
        cpu0, _ = proc_stats(cd.proc.pid)
        sim0 = sim.stats()
        time.sleep(args.duration + args.settle)
        t_end = time.time()
        cpu1, rss = proc_stats(cd.proc.pid)
        sim1 = sim.stats()
        time.sleep(max(3.0, 2 * float(args.flush_interval)))  # the last POSTs
        cd.stop()
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=60)
        records = []
        with open(out) as f:
            for line in f:
                t, text = line.rstrip("\n").split("\t", 1)
                records.append((float(t), text))
        with rx.lock:
            arrivals = list(rx.arrivals)
            posts = rx.posts
        res = analyse(records, arrivals, t_ready + args.settle, t_end, args.skew)
    finally:
        if cd is not None:
            cd.cleanup()
        if client is not None and client.poll() is None:
            client.kill()
        if rx is not None:
            rx.stop()
        sim.stop()

    lat = res.pop("latency")
    to_plugin = res.pop("to_plugin")
    span = args.duration
    window = [r for r in records if t_ready + args.settle <= r[0] <= t_end]
    sim_lag = None
    try:
        import calendar
        st = time.strptime(sim1["sim_time"][:19], "%Y-%m-%dT%H:%M:%S")
        sim_lag = t_end - calendar.timegm(st) - int(sim1["sim_time"][20:23]) / 1000
    except (KeyError, ValueError):
        pass
    fig = {
        "queues": args.queues, "duration_s": span, "flush_interval": args.flush_interval,
        "buffer_size": args.buffer_size, "interval": args.interval, "csv": args.with_csv,
        "events_per_s": len(window) / span,
        "events_per_queue_per_s": len(window) / span / args.queues,
        "user_group_share": res["user_share"], "bytes_per_message": res["bytes_per_message"],
        "changes": res["changes"], "matched": res["matched"], "unmatched": res["unmatched"],
        "posts": posts, "collectd_cpu_pct": 100 * (cpu1 - cpu0) / (t_end - t_ready),
        "collectd_rss_mib": rss / 1048576, "collectd_rss_per_queue_kib": rss / 1024 / args.queues,
        "sim_cpu_pct": 100 * (sim1.get("cpu_seconds", 0) - sim0.get("cpu_seconds", 0))
        / (t_end - t_ready),
        "sim_model_behind_s": sim_lag,
        "latency_ms": {p: 1000 * percentile(lat, p) for p in (50, 90, 99)},
    }
    fig["latency_ms"]["max"] = 1000 * lat[-1] if lat else float("nan")
    fig["latency_ms"]["mean"] = 1000 * sum(lat) / len(lat) if lat else float("nan")
    fig["to_plugin_ms"] = {p: 1000 * percentile(to_plugin, p) for p in (50, 90, 99)}
    print(f"{args.queues} queues, {span:.0f} s at speed 1; write_http FlushInterval "
          f"{args.flush_interval} s, BufferSize {args.buffer_size}; plugin Interval "
          f"{args.interval} s; csv writer {'on' if args.with_csv else 'off'}")
    print(f"events: {fig['events_per_s']:.0f}/s ({fig['events_per_queue_per_s']:.3f} per queue), "
          f"{100 * fig['user_group_share']:.0f}% user groups, "
          f"{fig['bytes_per_message']:.0f} bytes/message")
    print(f"value changes: {res['changes']}, matched at the receiver: {res['matched']} "
          f"({100 * res['matched'] / max(1, res['changes']):.1f}%), POSTs: {posts}")
    lm = fig["latency_ms"]
    print(f"event → write_http receiver, ms: p50 {lm[50]:.1f}  p90 {lm[90]:.1f}  "
          f"p99 {lm[99]:.1f}  max {lm['max']:.1f}  (mean {lm['mean']:.1f})")
    tp = fig["to_plugin_ms"]
    print(f"event → the value's own time (the plugin's cdtime() at apply), ms: "
          f"p50 {tp[50]:.1f}  p90 {tp[90]:.1f}  p99 {tp[99]:.1f}")
    print(f"collectd: {fig['collectd_cpu_pct']:.1f}% CPU, RSS {fig['collectd_rss_mib']:.1f} MiB "
          f"({fig['collectd_rss_per_queue_kib']:.1f} KiB/queue, whole daemon); simulator "
          f"{fig['sim_cpu_pct']:.0f}% CPU"
          + (f", model {sim_lag:.2f} s behind the wall clock" if sim_lag is not None else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=1)


if __name__ == "__main__":
    main()
