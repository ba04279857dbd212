#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end latency of genesys_flowmetrics metric attributes: from the
simulator setting an attribute to the counter's arrival at collectd's write
plugin.

The simulator (speed 1, --start now, TLS) sends every attribute update to
its EventBridge sender, which POSTs to a small forwarding proxy here; the
proxy notes each new (conversation, attribute name) with the event's
eventTime (the simulated moment the flow set it) and forwards the request
unchanged to the plugin's HTTPS receiver. collectd's write_http POSTs the
counters to tests/e2e/receiver.py. The n-th new attribute of a (flow,
metric) series is reached when that series' counter first arrives at n or
more; latency = that arrival - the eventTime (mapped to wall time with the
offset measured from /sim/info). It includes the proxy hop, the receiver,
the journal write, collectd's write queue, write_http's flush (FlushInterval
1) and the POST.

    python3 bench/latency_flowmetrics.py [--duration 60] [--flows 40]
        [--flush-interval 1]
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from collectd_harness import Collectd  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

NAME = re.compile(r"^(.+)Metric_([^()]+)\((.+)\)$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--flows", type=int, default=40)
    ap.add_argument("--flush-interval", default="1")
    a = ap.parse_args()
    sim = Simulator("--queues", str(a.flows), "--agents", str(a.flows * 10), "--flows",
                    str(a.flows), "--speed", "1", "--start", "now", "--warmup", "0")
    t = time.time()
    info = sim._open("/sim/truth")
    offset_ms = info["sim_time_ms"] - (t + time.time()) / 2 * 1000
    tmp = tempfile.mkdtemp(prefix="gen-fm-bench-")
    secret = "bench-secret-0123456789"
    path = os.path.join(tmp, "secret")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, secret.encode())
    os.close(fd)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = os.path.join(sim.dir, "state")
    rx = Receiver()
    block = sim.org_block("acme", extra=(
        '    Host "acme"\n    AttributesFromQueues false\n'
        f'    ReceiverAddress "127.0.0.1"\n    ReceiverPort {port}\n'
        f'    ReceiverCertificate "{state}/server.pem"\n'
        f'    ReceiverKey "{state}/server.key"\n    ReceiverSecretFile "{path}"\n'))
    cd = Collectd(f"LoadPlugin genesys_flowmetrics\n<Plugin genesys_flowmetrics>\n{block}"
                  "</Plugin>\n" + rx.config().replace(
                      "FlushInterval 1", "FlushInterval " + a.flush_interval), stock=("logfile", "csv", "write_http"))
    cd.start()
    ctx = ssl.create_default_context(cafile=sim.ca)
    lock = threading.Lock()
    seen = set()
    set_times = {}  # (flow, metric) -> [eventTime ms of each new attribute]

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ev = json.loads(body)["detail"]["eventBody"]
            with lock:
                for name in sorted(ev["attributes"]):
                    m = NAME.match(name)
                    if m and (ev["conversationId"], name) not in seen:
                        seen.add((ev["conversationId"], name))
                        set_times.setdefault((m.group(1), m.group(2)), []).append(
                            ev["eventTime"])
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
            c.request("POST", "/events", body=body, headers={
                "Content-Type": "application/json",
                "X-Genesys-Secret": self.headers["X-Genesys-Secret"]})
            r = c.getresponse()
            r.read()
            c.close()
            self.send_response(r.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    sim._open("/sim/eventbridge", {"url": f"http://127.0.0.1:{proxy.server_address[1]}/e",
                                   "secret": secret, "header": "X-Genesys-Secret"})
    time.sleep(a.duration)
    time.sleep(3)
    lat = []
    with rx.lock:
        arrivals = list(rx.arrivals)
    with lock:
        for (flow, metric), times in set_times.items():
            series = [(arr, v) for arr, _, k, v in arrivals
                      if k[1] == "genesys_flowmetrics" and k[2] == flow
                      and k[3] == "flow_metric_attribute" and k[4] == metric]
            for n, ev_ms in enumerate(times, 1):
                reached = [arr for arr, v in series if v >= n]
                if reached:
                    lat.append(min(reached) - (ev_ms - offset_ms) / 1000)
    proxy.shutdown()
    proxy.server_close()
    cd.cleanup()
    rx.stop()
    sim.stop()
    shutil.rmtree(tmp, ignore_errors=True)  # the receiver's secret among it
    lat.sort()
    if not lat:
        print("no attributes measured")
        return 1
    n = len(lat)
    print(f"attributes: {n} (of {sum(len(t) for t in set_times.values())} set)")
    for p in (50, 90, 99):
        print(f"p{p}: {lat[min(n - 1, n * p // 100)] * 1000:.0f} ms")
    print(f"max: {lat[-1] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
