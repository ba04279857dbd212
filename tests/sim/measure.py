#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Measure gensim at scale: start it, subscribe like a large collectd
deployment would, read every WebSocket message, and report events/s, the
simulator's CPU and memory, event-loop lag and query latencies.

    python3 tests/sim/measure.py --queues 5000 --agents 50000 --seconds 60
"""
import argparse
import asyncio
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from simproto import HttpClient, ws_frame, OP_TEXT  # noqa: E402


def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


class Reader:
    """Counts WebSocket messages per topic kind; minimal frame parsing."""

    def __init__(self):
        self.count = {}
        self.bytes = 0
        self.msgs = 0

    async def run(self, uri):
        host, rest = uri[len("ws://"):].split("/", 1)
        h, p = host.split(":")
        r, w = await asyncio.open_connection(h, int(p), limit=1 << 24)
        w.write(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                 % (rest, host)).encode())
        await r.readuntil(b"\r\n\r\n")
        while True:
            hd = await r.readexactly(2)
            n = hd[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", await r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await r.readexactly(8))[0]
            data = await r.readexactly(n)
            if hd[0] & 0x0F == 8:
                return
            self.msgs += 1
            self.bytes += n
            # topic kind from the first bytes: {"topicName":"v2.x.y.<id>.z"
            i = data.find(b'"topicName":"')
            if i >= 0:
                j = data.find(b'"', i + 13)
                k = b".".join(b"{id}" if len(x) == 36 else x
                              for x in data[i + 13:j].split(b"."))
                self.count[k] = self.count.get(k, 0) + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queues", type=int, default=5000)
    ap.add_argument("--agents", type=int, default=50000)
    ap.add_argument("--flows", type=int, default=200)
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--user-topics", type=int, default=2000)
    ap.add_argument("--conv-topics", type=int, default=5000)
    ap.add_argument("--extra", nargs="*", default=[])
    o = ap.parse_args()
    d = tempfile.mkdtemp(prefix="gensim-measure-")
    ready = os.path.join(d, "ready.json")
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "gensim.py"), "--port", "0",
                             "--ready-file", ready, "--queues", str(o.queues), "--agents",
                             str(o.agents), "--flows", str(o.flows), "--speed", str(o.speed),
                             "--retention-hours", "3"] + o.extra)
    try:
        while not os.path.exists(ready):
            time.sleep(0.1)
            if proc.poll() is not None:
                sys.exit("gensim died")
        t_ready = time.time() - t0
        info = json.load(open(ready))
        c = HttpClient(info["base_url"])
        c.login()
        qids = []
        uri = "/api/v2/routing/queues?pageSize=500"
        while uri:
            js = c.request("GET", uri)[2]
            qids += [e["id"] for e in js["entities"]]
            uri = js.get("nextUri")
        users = []
        uri = "/api/v2/users?pageSize=500"
        while uri and len(users) < o.user_topics:
            js = c.request("GET", uri)[2]
            users += [e["id"] for e in js["entities"]]
            uri = js.get("nextUri")
        flows = []
        uri = "/api/v2/flows?pageSize=500&type=inboundcall"
        while uri:
            js = c.request("GET", uri)[2]
            flows += [e["id"] for e in js["entities"]]
            uri = js.get("nextUri")
        topics = (["v2.analytics.queues.%s.observations" % q for q in qids] +
                  ["v2.routing.queues.%s.conversations" % q for q in qids[:o.conv_topics]] +
                  ["v2.users.%s.activity" % u for u in users[:o.user_topics]] +
                  ["v2.analytics.flow.%s.metrics" % f for f in flows])
        chans = []
        for i in range(0, len(topics), 1000):
            st, h, ch = c.request("POST", "/api/v2/notifications/channels")
            st, h, js = c.request("PUT", "/api/v2/notifications/channels/%s/subscriptions"
                                  % ch["id"], [{"id": t} for t in topics[i:i + 1000]])
            assert st == 200, js
            chans.append(ch)
        print("gensim ready in %.1fs; %d topics on %d channels" % (t_ready, len(topics),
                                                                   len(chans)))
        readers = [Reader() for _ in chans]

        async def run():
            tasks = [asyncio.ensure_future(r.run(ch["connectUri"]))
                     for r, ch in zip(readers, chans)]
            await asyncio.sleep(5)     # baseline burst
            c.request("POST", "/sim/reset_stats", auth=False)
            m0 = sum(r.msgs for r in readers)
            cnt0 = {}
            for r in readers:
                for k, v in r.count.items():
                    cnt0[k] = cnt0.get(k, 0) + v
            cpu0, w0 = cpu_of(proc.pid), time.time()
            ev0 = c.request("GET", "/sim/stats", auth=False)[2]["model_events"]
            lat = {"qobs100": [], "convagg": []}
            loop = asyncio.get_event_loop()
            end = w0 + o.seconds
            i = 0
            while time.time() < end:
                await asyncio.sleep(2)
                # a plugin-like query load: 100-queue observation query and a
                # 5000-queue aggregate query, timed
                body = {"filter": {"type": "or", "predicates": [
                    {"dimension": "queueId", "value": q} for q in qids[(i * 100) % len(qids):][:100]]},
                    "metrics": ["oWaiting", "oInteracting", "oAlerting", "oLongestWaiting",
                                "oOnQueueUsers", "oUserRoutingStatuses", "oUserPresences"]}
                t = time.time()
                await loop.run_in_executor(None, c.request, "POST",
                                           "/api/v2/analytics/queues/observations/query", body)
                lat["qobs100"].append(time.time() - t)
                if i % 5 == 0:
                    info2 = c.request("GET", "/sim/info", auth=False)[2]
                    st = info2["sim_time"]
                    import datetime as dt
                    now = dt.datetime.fromisoformat(st.replace("Z", "+00:00")).timestamp()
                    e5 = int(now // 300 * 300)
                    iv = "%s/%s" % (
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e5 - 300)),
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e5)))
                    t = time.time()
                    await loop.run_in_executor(None, c.request, "POST",
                                               "/api/v2/analytics/conversations/aggregates/query",
                                               {"interval": iv, "granularity": "PT5M",
                                                "groupBy": ["queueId"],
                                                "metrics": ["nOffered", "tAnswered", "tAbandon",
                                                            "tHandle", "oServiceLevel"]})
                    lat["convagg"].append(time.time() - t)
                i += 1
            cpu1, w1 = cpu_of(proc.pid), time.time()
            m1 = sum(r.msgs for r in readers)
            cnt = {}
            for r in readers:
                for k, v in r.count.items():
                    cnt[k] = cnt.get(k, 0) + v
            for t in tasks:
                t.cancel()
            el = w1 - w0
            stats = c.request("GET", "/sim/stats", auth=False)[2]
            print("measured %.0fs at speed %g" % (el, o.speed))
            print("  ws messages/s: %.0f  (%.0f KB/s)" % ((m1 - m0) / el,
                                                       sum(r.bytes for r in readers) / 1024 / (w1 - t0)))
            for k in sorted(cnt):
                print("    %-45s %8.1f/s" % (k.decode(), (cnt[k] - cnt0.get(k, 0)) / el))
            print("  simulator CPU: %.1f%% of one core; RSS %.0f MB" %
                  ((cpu1 - cpu0) / el * 100, rss_mb(proc.pid)))
            print("  model events/s: %.0f (simulated-clock events processed)"
                  % ((stats["model_events"] - ev0) / el))
            print("  event-loop lag avg %.1f ms, max %.1f ms; tick work max %.1f ms" %
                  (stats.get("loop_lag_ms_avg", 0), stats.get("loop_lag_ms_max", 0),
                   stats.get("tick_work_ms_max", 0)))
            for k, v in lat.items():
                if v:
                    v = sorted(v)
                    print("  %s latency: median %.0f ms, max %.0f ms (n=%d)" %
                          (k, v[len(v) // 2] * 1000, v[-1] * 1000, len(v)))
            print("  slow-consumer drops: %d" % stats["ws_slow_consumer_drops"])
        asyncio.run(run())
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
