#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Whole-process CPU per message and peak RSS of the real collectd with
genesys_realtime, next to a Node peer (`ws` + JSON.parse into a Map) and a
Python peer (python3-websockets + json into a dict), all fed the same file
of queue observation messages over a loopback WebSocket (issue #16, item 1);
and, exporter beside exporter (issue #36 item 1), collectd with
write_prometheus next to a Node exporter (peers/exporter.js, prom-client)
and a Python exporter (peers/exporter.py, python3-prometheus-client), each
serving /metrics with one gauge per queue, media, metric and qualifier.

One invocation:

 1. starts the simulator (tests/sim/gensim.py, plain http) with --queues Q
    and writes a file of N observation messages (Q queues x 5 media, each
    shaped as the simulator sends them: topicName
    v2.analytics.queues.{id}.observations, eventBody {group:{queueId,
    mediaType}, data:[{interval, metrics:[oWaiting, oInteracting,
    oAlerting, oLongestWaiting, oLongestInteracting]}]}) with random counts;
 2. serves collectd's REST calls through a small proxy in front of the
    simulator that changes only the connectUri of a created channel, so the
    plugin's WebSocket reaches this script's replay server;
 3. runs, interleaved, --repeat times: collectd without a write plugin,
    collectd with write_prometheus, the Node and Python exporters, the
    Node peer, the Python peer (--consumers picks and orders them). Each
    consumer connects (collectd also subscribes and reads its observation
    baseline); once it is quiet, the server sends the whole file (prebuilt
    frames, as fast as the client reads) and the bench takes utime+stime of
    /proc/<pid>/stat (and the sum of /proc/<pid>/task/*/schedstat, in ns)
    before and after: after = the client's socket receive queue is empty
    and its CPU time has stopped moving. Peak RSS is VmHWM at that moment.

A run counts only if verified. collectd: its self-metric notify_messages
(plugin instance "self") equals N, and waiting/interacting/alerting of
every group in the file (read from collectd's value cache with unixsock
GETVAL one plugin tick, 0.1 s, after the replay closes the socket at the
stream's end) equal the file's last message for that group; with
write_prometheus the values are those of one scrape of its /metrics at that
moment instead. Peers: the message count and the sha256 of their final map,
which they print, equal N and the file's. Exporters: the message count they
print at the socket's close equals N, and one scrape of their /metrics then
equals the file's last count per (queue, media, metric, qualifier), both
ways. A run that does not count says why, with its mismatch count. The no-write-plugin config reads notify_messages through a
PostCacheChain that passes only plugin instance "self" to csv (one regex
per dispatched value; nothing else is written).

  python3 bench/bench_daemon.py --frames 20000 --repeat 2
  (make bench-daemon BENCH_ARGS="--frames 20000 --repeat 2")

Needs node with `npm ci --prefix bench/peers` (ws, prom-client, at the
versions of bench/peers/package-lock.json), and /usr/bin/python3 with
python3-websockets and python3-prometheus-client (scripts/setup.sh installs
both); the script stops and says which is missing.

Before the measured N, --warmup messages of the same file (observations:
one a group, the file's first pass) are sent to every consumer and let
settle, so that every series exists, as in a daemon that has run a while
(write_prometheus sorts a type's series at each new one); --warmup 0 makes
the replay create them. --steps makes each observation message one
conversation's step (one count of its group moves by one, the longest wait
with it when the first arrives or the oldest leaves) instead of five counts
drawn afresh. --perf DIR records collectd with perf over each replay alone.

--conversations replays conversation events instead (issue #16 item 3; the
lifecycle bench_realtime -c and tests/sim publish, 1.6 KB each, 2,000
conversations in flight), to collectd with ConversationEvents true. Before
the measured N, --warmup events (default N) of the same file are sent and
let settle, so that the series the measured part moves already exist, as
in a daemon that has run a while. collectd counts only if notify_messages
equals all the events sent and the moments its state file holds at
shutdown (offered, alerted, answered, abandoned, ended, transferred per
queue and media type) equal what the generator says each event must count,
both ways; peers key conversations by id.

--rates R1,R2,... (issue 50 item 4) paces the replay at each rate (frames
a second, 0: as fast as the client reads), every consumer at every rate in
each round, each rate with its own file (--paced-seconds S: min(--frames,
R x S) frames) and summary. The CPU of a run is taken from the first frame
until the process is back at its idle rate, measured before (collectd is
never idle: genesys_realtime re-dispatches every series once an Interval);
a run whose idle rate is not steady fails. --build NAME=DIR and consumer
collectd-prom@NAME run another build's plugins in the same rounds.

--latency adds issue #16 item 2's measure, after the rounds: collectd with
write_http (FlushInterval --flush-interval, default 0.1) to a receiver in
this process; --latency-messages messages paced at --latency-rate a second,
each giving its group a waiting count of its own; the latency of a message
is from its send to the first arrival of that value at the receiver
(p50/p99/max).
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import collectd_harness  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PEERS = os.path.join(ROOT, "bench", "peers")
MEDIA = ["voice", "chat", "email", "message", "callback"]
PLUGIN = "genesys_realtime"
J = dict(separators=(",", ":"))
TICK = os.sysconf("SC_CLK_TCK")
# The plugin's channel tick (gen_notify.c): live changes leave at the next.
PLUGIN_TICK_S = 0.1


# ---- the file ---------------------------------------------------------------

def next_counts(rng, prev, now_ms, steps):
    """A group's next (w, i, a, longest waiting ms, longest interacting
    ms): all five drawn afresh (steps False), or after one conversation's
    step (steps True, or the group's first message): one count moves by
    one, the longest of its family moves when its first arrives or the
    oldest leaves (every other series as before)."""
    if not steps or prev is None:
        w, it, al = rng.randint(0, 20), rng.randint(0, 40), rng.randint(0, 5)
        return (w, it, al, now_ms - rng.randint(1000, 900000) if w else None,
                now_ms - rng.randint(1000, 1800000) if it else None)
    w, it, al, lw, li = prev
    k = rng.randrange(3)
    d = 1 if (w, it, al)[k] == 0 else rng.choice((-1, 1))
    if k == 0:
        w += d
        lw = None if w == 0 else (lw if d > 0 and lw else now_ms - rng.randint(1000, 900000))
    elif k == 1:
        it += d
        li = None if it == 0 else (li if d > 0 and li else now_ms - rng.randint(1000, 1800000))
    else:
        al += d
    return w, it, al, lw, li


def make_file(path, queue_ids, frames, seed, steps=False):
    """Writes frames observation messages, one JSON a line; returns
    (expected collectd values {(qid, media): (w, i, a)}, peer checksum,
    mean bytes, the exporters' expected gauges {(qid, media, metric,
    qualifier): count}). steps: see next_counts."""
    rng = random.Random(seed)
    groups = [(q, m) for q in queue_ids for m in MEDIA]
    now_ms = int(time.time() * 1000)
    s = now_ms - now_ms % 1800000
    iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".000Z"
    interval = iso(s) + "/" + iso(s + 1800000)
    last = {}
    counts = {}
    total = 0
    order = []
    with open(path, "w") as f:
        for i in range(frames):
            if not order:
                order = groups[:]
                rng.shuffle(order)
            qid, media = order.pop()
            counts[(qid, media)] = c = next_counts(rng, counts.get((qid, media)), now_ms, steps)
            w, it, al = c[:3]
            lw = {"count": w}
            if w:
                lw["calculatedMetricValue"] = c[3]
            li = {"count": it}
            if it:
                li["calculatedMetricValue"] = c[4]
            metrics = [{"metric": "oWaiting", "stats": {"count": w}},
                       {"metric": "oInteracting", "stats": {"count": it}},
                       {"metric": "oAlerting", "stats": {"count": al}},
                       {"metric": "oLongestWaiting", "stats": lw},
                       {"metric": "oLongestInteracting", "stats": li}]
            topic = f"v2.analytics.queues.{qid}.observations"
            msg = {"topicName": topic, "version": "2",
                   "eventBody": {"group": {"queueId": qid, "mediaType": media},
                                 "data": [{"interval": interval, "metrics": metrics}]},
                   "metadata": {"CorrelationId": str(uuid.UUID(int=rng.getrandbits(128)))}}
            line = json.dumps(msg, **J)
            total += len(line)
            f.write(line + "\n")
            last[(qid, media)] = (topic + "/" + media, metrics, (w, it, al))
    lines = sorted(key + "|" + ",".join(f"{m['metric']}:{m.get('qualifier') or ''}:"
                                        f"{m['stats']['count']}" for m in metrics)
                   for key, metrics, _ in last.values())
    checksum = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    series = {(qid, media, m["metric"], m.get("qualifier") or ""): float(m["stats"]["count"])
              for (qid, media), (_, metrics, _) in last.items() for m in metrics}
    return {k: v[2] for k, v in last.items()}, checksum, total / frames, series


MEDIA_ARRAY = {"voice": "calls", "chat": "chats", "email": "emails",
               "message": "messages", "callback": "callbacks"}
# gen_conv_moment_t order, as the state file keeps them
MOMENTS = ["offered", "alerted", "answered", "unanswered", "abandoned", "ended",
           "transferred"]


def make_conv_file(path, queue_ids, frames, seed):
    """Writes frames conversation events, one JSON a line: the lifecycle
    bench_realtime -c and tests/sim publish (offered, alerting, answered,
    ended, and for 8% a transfer to another queue; 15% abandoned in the
    queue), every event the whole conversation, 2,000 conversations in
    flight advanced one stage at a time in a random order, 20 ms of event
    time apart. Returns (the moments each queue and media type must have
    counted {(qid, media): [7 counts]}, peer checksum, mean bytes)."""
    rng = random.Random(seed)
    ids = lambda: str(uuid.UUID(int=rng.getrandbits(128)))
    iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)
    now = int(time.time() * 1000) - 20 * frames
    truth = {}

    def count(qid, media, moment):
        truth.setdefault((qid, media), [0] * len(MOMENTS))[MOMENTS.index(moment)] += 1

    def start():
        c = {k: ids() for k in ("id", "cust", "acd", "agent", "acd2", "user")}
        c.update(q=rng.choice(queue_ids), q2=rng.choice(queue_ids), media=rng.choice(MEDIA),
                 stage=0, t0=now - 30000, t_acd=now, t_ans=0, t_end=0)
        c["abandon"] = rng.randrange(100) < 15
        c["transfer"] = not c["abandon"] and rng.randrange(100) < 8
        return c

    def part(c, pid, purpose, qid, state, connected, end, dtype):
        p = {"id": pid, "purpose": purpose}
        if qid:
            p.update(queueId=qid, name="Queue " + qid[:8])
        if purpose == "agent":
            p.update(userId=c["user"], wrapupRequired=True, alertingTimeoutMs=8000)
        if connected:
            p["connectedTime"] = iso(connected)
        if end:
            p["endTime"] = iso(end)
        if purpose == "customer":
            t = iso(c["t0"])[:19]
            p["address"] = "tel:+3222%06d" % (c["t0"] % 1000000)
            p["attributes"] = {f"SalesIvrMetric_Intent({t}Z)": str(c["t0"] % 10),
                               f"SalesIvrMetric_Language({t}Z)": str(c["t0"] % 7)}
        sess = {"id": "s" + c["id"][:35], "state": state, "direction": "inbound",
                "held": False}
        if connected:
            sess["connectedTime"] = iso(connected)
        if end:
            sess["disconnectedTime"] = iso(end)
        if dtype:
            sess["disconnectType"] = dtype
        p[MEDIA_ARRAY[c["media"]]] = [sess]
        return p

    def event(c):
        st, ab, tr = c["stage"], c["abandon"], c["transfer"]
        ended, answered = st >= 3 and not ab, st >= 2 and not ab
        gone = (ab and st >= 1) or (ended and not tr)
        topic_q = c["q2"] if tr and st == 4 else c["q"]
        parts = [part(c, c["cust"], "customer", None,
                      "disconnected" if gone else "connected", c["t0"],
                      c["t_end"] if gone else 0, "client" if gone else None),
                 part(c, c["acd"], "acd", c["q"],
                      "disconnected" if answered or (ab and st >= 1) else "connected",
                      c["t_acd"], c["t_ans"] if answered else (c["t_end"] if ab and st else 0),
                      "transfer" if answered else ("peer" if ab and st else None))]
        if st >= 1 and not ab:
            parts.append(part(c, c["agent"], "agent", c["q"],
                              "disconnected" if ended else
                              ("connected" if answered else "alerting"),
                              c["t_ans"] if answered else 0, c["t_end"] if ended else 0,
                              ("transfer" if tr else "peer") if ended else None))
        if tr and st == 4:
            parts.append(part(c, c["acd2"], "acd", c["q2"], "connected", c["t_end"], 0, None))
        # what the plugin must count for this event (gen_conv.h)
        q, m = c["q"], c["media"]
        if st == 0:
            count(q, m, "offered")
        elif st == 1:
            count(q, m, "abandoned" if ab else "alerted")
        elif st == 2:
            count(q, m, "answered")
        elif st == 3:
            count(q, m, "ended")
            if tr:
                count(q, m, "transferred")
        elif tr:
            count(c["q2"], m, "offered")  # stage 4 otherwise: wrap-up, nothing new
        msg = {"topicName": f"v2.routing.queues.{topic_q}.conversations", "version": "2",
               "eventBody": {"id": c["id"], "maxParticipants": len(parts),
                             "participants": parts, "recentTransfers": [],
                             "recordingState": "none",
                             "divisions": [{"division": {"id": c["q"]},
                                            "entities": [{"id": c["id"]}]}]},
               "metadata": {"CorrelationId": ids()}}
        more = not (st >= 1 if ab else st >= 4)
        return msg, parts, more

    live = [start() for _ in range(2000)]
    last = {}
    total = 0
    with open(path, "w") as f:
        for _ in range(frames):
            i = rng.randrange(len(live))
            c = live[i]
            now += 20
            if c["stage"] == 1:
                if c["abandon"]:
                    c["t_end"] = now
                else:
                    c["t_ans"] = now
            if c["stage"] == 3:
                c["t_end"] = now
            msg, parts, more = event(c)
            line = json.dumps(msg, **J)
            total += len(line)
            f.write(line + "\n")
            last["conv/" + c["id"]] = parts
            c["stage"] += 1
            if not more:
                live[i] = start()
    state = lambda p: next((p[k][0]["state"] for k in MEDIA_ARRAY.values() if p.get(k)), "")
    lines = sorted(k + "|" + ",".join(f"{p['purpose']}:{state(p)}" for p in v)
                   for k, v in last.items())
    checksum = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return truth, checksum, total / frames, None


def conv_counted(state_file):
    """The moments in genesys_realtime's state file: {(qid, media): [7]}."""
    with open(state_file) as f:
        doc = json.load(f)
    return {(q, m): v["m"] for q, per in doc["queues"].items() for m, v in per.items()}


def ws_frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
    return head + payload


def load_blob(path, warmup=0):
    """The file as WebSocket frames: (its first warmup messages joined, the
    rest one by one)."""
    with open(path, "rb") as f:
        frames = [ws_frame(1, line.rstrip(b"\n")) for line in f]
    return b"".join(frames[:warmup]), frames[warmup:]


# ---- the replay server -------------------------------------------------------

class Replay:
    """A minimal WebSocket server: one consumer at a time; sends the
    frames when go is set (all at once, or rate a second), answers pings,
    closes when told."""

    def __init__(self, frames, warm=b""):
        self.frames = frames
        self.rate = 0  # frames a second; 0: as fast as the client reads
        self.warm = warm  # sent first on go; warmed is set once it is sent
        self.paced = None  # (frames [(key, frame)], per second) for --latency
        self.send_times = {}
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reset()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        self.conns = []
        self.connected = threading.Event()
        self.first_frame = threading.Event()
        self.go = threading.Event()
        self.warmed = threading.Event()
        self.sent = threading.Event()
        self.send_lock = threading.Lock()

    def _accept(self):
        while True:
            try:
                c, addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c, addr), daemon=True).start()

    def _serve(self, c, addr):
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                c.close()
                return
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        hdrs = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        accept = base64.b64encode(hashlib.sha1(
            (hdrs.get("sec-websocket-key", "") +
             "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n").encode())
        self.conns.append((c, addr))
        self.connected.set()
        threading.Thread(target=self._read, args=(c, rest), daemon=True).start()
        if self.warm and self.paced is None:
            self.go.wait()
            self.go.clear()
            if len(self.conns) != 1:
                return
            with self.send_lock:
                c.sendall(self.warm)
            self.warmed.set()
        self.go.wait()
        if len(self.conns) != 1:
            return  # a second socket gets nothing (the run then fails)
        if self.paced is None and not self.rate:
            with self.send_lock:
                c.sendall(b"".join(self.frames))
        elif self.paced is None:  # --rates: frame i leaves at t0 + i / rate
            t0, i, n = time.monotonic(), 0, len(self.frames)
            while i < n:
                due = min(n, int((time.monotonic() - t0) * self.rate) + 1)
                if due > i:
                    with self.send_lock:
                        c.sendall(b"".join(self.frames[i:due]))
                    i = due
                else:
                    time.sleep(max(0.0, t0 + i / self.rate - time.monotonic()))
        else:  # latency: one frame at a time, at its moment; send times kept
            frames, rate = self.paced
            t0 = time.monotonic()
            for i, (key, frame) in enumerate(frames):
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                with self.send_lock:
                    c.sendall(frame)
                self.send_times[key] = time.time()
        self.sent.set()

    def _read(self, c, buf):
        try:
            while True:
                while len(buf) < 2:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                op, n = buf[0] & 15, buf[1] & 127
                off = 2
                if n == 126:
                    need = 4
                elif n == 127:
                    need = 10
                else:
                    need = 2
                while len(buf) < need + 4:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                if n == 126:
                    n, off = int.from_bytes(buf[2:4], "big"), 4
                elif n == 127:
                    n, off = int.from_bytes(buf[2:10], "big"), 10
                masked = buf[1] & 128
                while len(buf) < off + (4 if masked else 0) + n:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                mask = buf[off:off + 4] if masked else b"\0\0\0\0"
                off += 4 if masked else 0
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buf[off:off + n]))
                buf = buf[off + n:]
                self.first_frame.set()
                if op == 9:
                    with self.send_lock:
                        c.sendall(ws_frame(10, payload))
                elif op == 8:
                    return
        except OSError:
            return

    def client_port(self):
        return self.conns[0][1][1]

    def close(self, linger=0.2):
        for c, _ in self.conns:
            try:
                with self.send_lock:
                    c.sendall(ws_frame(8, (1000).to_bytes(2, "big")))
            except OSError:
                pass
        time.sleep(linger)
        for c, _ in self.conns:
            try:
                c.close()
            except OSError:
                pass


def queues_on(a_port, b_port):
    """tx and rx queue bytes of the loopback TCP socket a_port -> b_port."""
    want = f":{a_port:04X}", f":{b_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[1].endswith(want[0]) and p[2].endswith(want[1]):
                tx, rx = p[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None


# ---- the REST proxy ----------------------------------------------------------

class Proxy:
    """Forwards every request to the simulator; rewrites connectUri of a
    created channel to the replay server; counts subscriptions and
    observation queries."""

    def __init__(self, sim_base, ws_port):
        u = urllib.parse.urlparse(sim_base)
        self.target = (u.hostname, u.port)
        self.ws_port = ws_port
        self.lock = threading.Lock()
        self.events = []  # (monotonic time, "subs" | "obs" | "channel")
        proxy = self

        class H(BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(n) if n else None
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "content-length")}
                conn = http.client.HTTPConnection(*proxy.target, timeout=60)
                conn.request(self.command, self.path, body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                path = self.path.split("?")[0]
                kind = None
                if self.command == "POST" and path == "/api/v2/notifications/channels" \
                        and r.status < 300:
                    js = json.loads(data)
                    js["connectUri"] = f"ws://127.0.0.1:{proxy.ws_port}/channels/{js['id']}"
                    data = json.dumps(js).encode()
                    kind = "channel"
                elif self.command in ("PUT", "POST") and path.endswith("/subscriptions"):
                    kind = "subs"
                elif path == "/api/v2/analytics/queues/observations/query":
                    kind = "obs"
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()
                if kind:
                    with proxy.lock:
                        proxy.events.append((time.monotonic(), kind))

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, kind):
        with self.lock:
            return sum(1 for _, k in self.events if k == kind)

    def last(self):
        with self.lock:
            return self.events[-1][0] if self.events else 0


# ---- measuring ---------------------------------------------------------------

def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        p = f.read().rsplit(")", 1)[1].split()
    return int(p[11]) + int(p[12])


def sched_ns(pid):
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def wait_quiet(pid, window=0.3, limit_ns=2_000_000, timeout=60, idle=0.0):
    """Until the process used less than limit_ns of CPU over window s
    beyond its idle rate (idle: ns a second, see idle_rate)."""
    deadline = time.monotonic() + timeout
    prev = sched_ns(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = sched_ns(pid)
        if now - prev < limit_ns + 1.25 * idle * window:
            return True
        prev = now
    return False


def idle_rate(pid, window=1.0, timeout=60):
    """The process's CPU without messages, ns a second, once it is steady:
    three windows in a row within a quarter (and 2 ms) of each other, the
    least of them. collectd is never quite quiet (genesys_realtime
    re-dispatches every series once an Interval, a slice each tick), and
    its start takes seconds of CPU, which a busy machine spreads out: a
    start that has not decayed is no idle rate (the run fails)."""
    deadline = time.monotonic() + timeout
    rates, last = [], sched_ns(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = sched_ns(pid)
        rates = (rates + [(now - last) / window])[-3:]
        last = now
        if len(rates) == 3 and max(rates) - min(rates) <= 0.25 * max(rates) + 2e6 \
                and max(rates) < 0.25e9:  # (here every consumer idles under 5 %)
            return min(rates)
    raise RuntimeError(f"no steady idle CPU within {timeout:.0f} s (last windows, "
                       f"% of a core: {[round(r / 1e7, 1) for r in rates]})")

def after_interval_burst(pid, interval):
    """Waits for collectd's periodic re-dispatch of every value (a burst
    of CPU once an Interval) to end, so the replay falls between two;
    returns the burst's CPU in ms, or None if none was seen."""
    deadline = time.monotonic() + interval + 3
    prev, start = sched_ns(pid), None
    while time.monotonic() < deadline:
        time.sleep(0.05)
        cur = sched_ns(pid)
        busy = cur - prev > 2_000_000
        if busy and start is None:
            start = prev
        elif not busy and start is not None:
            return (cur - start) / 1e6
        prev = cur
    return None


def wait_taken(replay, sent, timeout, what):
    """Until sent is set and the consumer's socket is empty both ways (it
    has read everything, and answered)."""
    client = replay.client_port()
    deadline = time.monotonic() + timeout
    sent.wait(timeout)  # a paced replay: no polling while it sends
    while time.monotonic() < deadline:
        if sent.is_set():
            a = queues_on(client, replay.port)
            b = queues_on(replay.port, client)
            if a and b and a[1] == 0 and b[0] == 0:
                return
        time.sleep(0.005)
    raise RuntimeError(f"the consumer did not take {what} in time")


def warm_up(pid, replay, timeout, idle=0.0):
    """Sends the warm-up messages (conversation events: every series the
    replay will move exists after them, as in a daemon that has run a
    while) and waits until pid is back to its idle rate."""
    if not replay.warm:
        return
    replay.go.set()
    wait_taken(replay, replay.warmed, timeout, "the warm-up")
    wait_quiet(pid, idle=idle)


def measure(pid, replay, frames, timeout, perf=None, events=None, idle=0.0):
    """Sends the file; returns the CPU and memory figures of pid, from the
    first frame until pid is back to its idle rate (idle, ns a second)
    once the last was read. perf: a file for `perf record -g` of pid over
    the replay alone (events: its -e)."""
    rec = None
    if perf:
        cmd = ["perf", "record", "-q", "-g", "-p", str(pid), "-o", perf]
        rec = subprocess.Popen(cmd + (["-e", events] if events else ["-F", "999"]),
                               stdout=subprocess.DEVNULL)
        time.sleep(0.5)  # perf attached
    t0, c0, s0 = time.monotonic(), cpu_ticks(pid), sched_ns(pid)
    replay.go.set()
    wait_taken(replay, replay.sent, timeout, "the file")
    t_drained = time.monotonic()
    if not wait_quiet(pid, window=0.2, limit_ns=1_000_000, idle=idle):
        raise RuntimeError("the consumer did not come back to its idle CPU within 60 s")
    c1, s1 = cpu_ticks(pid), sched_ns(pid)
    if rec is not None:
        rec.send_signal(signal.SIGINT)
        rec.wait(timeout=60)
    return {"us_msg": (c1 - c0) / TICK * 1e6 / frames,
            "sched_us_msg": (s1 - s0) / 1e3 / frames,
            "cpu_s": (c1 - c0) / TICK, "wall_s": t_drained - t0,
            "hwm_mib": vm_hwm_kib(pid) / 1024, "idle_pct": idle / 1e7}


# ---- consumers ---------------------------------------------------------------

def getvals(sock_path, idents):
    """GETVAL of each identifier over unixsock: {ident: first value}."""
    out = {}
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    f = s.makefile("rwb")
    for i in range(0, len(idents), 200):
        chunk = idents[i:i + 200]
        for ident in chunk:
            f.write(f'GETVAL "{ident}"\n'.encode())
        f.flush()
        for ident in chunk:
            head = f.readline().decode()
            n = int(head.split(" ", 1)[0])
            vals = [f.readline().decode().strip() for _ in range(max(n, 0))]
            out[ident] = float(vals[0].split("=", 1)[1]) if n > 0 else None
    s.close()
    return out


def scrape(port, timeout=30):
    """One GET of /metrics: {(name, ((label, value), ...)): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        # name{labels} value [timestamp] (write_prometheus adds the time)
        if "{" in line:
            name, rest = line.split("{", 1)
            labels, tail = rest.rsplit("}", 1)
        else:
            name, _, tail = line.partition(" ")
            labels = ""
        value = tail.split()[0]
        pairs = []
        for item in labels.split('",'):
            if item:
                k, _, v = item.partition('="')
                pairs.append((k, v.rstrip('"')))
        out[(name, tuple(sorted(pairs)))] = float(value)
    return out


def compare(have, want):
    """Mismatches both ways between two {key: value}: [(key, have, want)]."""
    return [(k, have.get(k), want.get(k)) for k in sorted(set(have) | set(want), key=str)
            if have.get(k) != want.get(k)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def bench_org(sim, proxy, extra=""):
    """The <Org> block of the collectd runs: REST calls through the proxy."""
    return (f'  <Org "acme">\n    ApiBaseURL "http://127.0.0.1:{proxy.port}"\n'
            f'    LoginBaseURL "http://127.0.0.1:{proxy.port}"\n'
            f'    ClientId "{sim.info["client_id"]}"\n'
            f'    ClientSecret "{sim.info["client_secret"]}"\n'
            f'    Host "acme"\n    InstanceFrom "id"\n{extra}  </Org>\n')


def start_subscribed(cd, args, proxy, replay):
    """Starts collectd and returns once its socket is up and its
    observation baselines were asked (one query per 100 queues) and the
    REST calls have been still for 0.5 s."""
    want_obs = (args.queues + 99) // 100
    base_obs = proxy.count("obs")
    cd.start()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if cd.proc.poll() is not None:
            raise RuntimeError("collectd exited: " + cd.log_text()[-2000:])
        if replay.connected.is_set() and proxy.count("obs") - base_obs >= want_obs \
                and time.monotonic() - proxy.last() > 0.5:
            return
        time.sleep(0.1)
    raise RuntimeError("collectd did not subscribe: " + cd.log_text()[-2000:])


def run_collectd(kind, args, sim, proxy, replay, expected, write_threads=None):
    replay.reset()
    prom_port = free_port() if kind == "prometheus" else None
    stock = ("logfile", "csv", "unixsock", "match_regex") + (
        ("write_prometheus",) if prom_port else ())
    cd = collectd_harness.Collectd("", stock=stock)
    sock_path = os.path.join(cd.dir, "unixsock")
    state_dir = os.path.join(cd.dir, "state")
    org = bench_org(sim, proxy, (f'    ConversationEvents true\n    StateDirectory "{state_dir}"\n'
                                 if args.conversations else "") + getattr(args, "org_keys_now", ""))
    conf = (f'LoadPlugin unixsock\n<Plugin unixsock>\n  SocketFile "{sock_path}"\n</Plugin>\n'
            f"LoadPlugin {PLUGIN}\n<Plugin {PLUGIN}>\n{org}</Plugin>\n")
    if write_threads is not None:
        conf = f"WriteThreads {write_threads}\n" + conf
    if prom_port:
        conf += ("LoadPlugin write_prometheus\n<Plugin write_prometheus>\n"
                 f'  Port "{prom_port}"\n</Plugin>\n')
    else:
        # notify_messages only, to csv: nothing else is written
        conf += ("LoadPlugin csv\n"
                 f'<Plugin csv>\n  DataDir "{cd.csv}"\n  StoreRates false\n</Plugin>\n'
                 "LoadPlugin match_regex\nPostCacheChain \"SelfOnly\"\n"
                 "<Chain \"SelfOnly\">\n  <Rule \"self\">\n    <Match \"regex\">\n"
                 '      PluginInstance "^self$"\n    </Match>\n'
                 '    <Target "write">\n      Plugin "csv"\n    </Target>\n'
                 '    Target "stop"\n  </Rule>\n  Target "stop"\n</Chain>\n')
    cd.write_conf(conf, args.interval)
    res = {"consumer": f"collectd ({'write_prometheus' if prom_port else 'no write'}"
                       + (f", {write_threads} wthr" if write_threads is not None else "") + ")",
           "exporter": bool(prom_port)}
    try:
        start_subscribed(cd, args, proxy, replay)
        idle = idle_rate(cd.proc.pid)
        warm_up(cd.proc.pid, replay, args.timeout, idle)
        idle = idle_rate(cd.proc.pid)  # every series exists now
        res["interval_ms"] = after_interval_burst(cd.proc.pid, args.interval)
        perf = None
        if args.perf:
            os.makedirs(args.perf, exist_ok=True)
            perf = os.path.join(args.perf, f"{kind}-{write_threads or 'd'}-{time.time():.0f}.data")
        res.update(measure(cd.proc.pid, replay, args.frames, args.timeout, perf,
                           args.perf_events, idle))
        t_done = time.time()
        channels = len(replay.conns)
        at_close = None
        if not args.conversations:
            # The stream's end: the socket closes, and what the last frames
            # changed leaves at once; one tick later collectd's cache holds
            # every series' last value (read before the channel's reconnect,
            # whose baseline comes from the simulator).
            idents, want = [], {}
            for (qid, media), (w, it, al) in expected.items():
                for t, v in (("waiting", w), ("interacting", it), ("alerting", al)):
                    ident = f"acme/{PLUGIN}-{qid}/{t}-{media}"
                    idents.append(ident)
                    want[ident] = v
            replay.close(linger=0)
            t_closed = time.monotonic()
            time.sleep(PLUGIN_TICK_S)
            if prom_port:
                # one scrape of write_prometheus: the counts it serves per
                # queue and media type (oLongest* it serves as ages, which
                # the file does not fix)
                got_prom = scrape(prom_port)
                have = {}
                for (name, labels), v in got_prom.items():
                    lab = dict(labels)
                    t = name[len(f"collectd_{PLUGIN}_"):]
                    # ObservationLists: the data source's name after the type's
                    t = t[len("queue_observations_"):] \
                        if t.startswith("queue_observations_") else t
                    if name.startswith(f"collectd_{PLUGIN}_") and \
                            t in ("waiting", "interacting", "alerting") and \
                            lab.get("instance") == "acme" and lab.get(PLUGIN) != "self":
                        have[f"acme/{PLUGIN}-{lab.get(PLUGIN)}/{t}-{lab.get('type')}"] = v
                at_close = compare(have, want)
            else:
                have = getvals(sock_path, idents)
                at_close = [(i, have[i], want[i]) for i in idents if have[i] != want[i]]
            res["getval_s"] = round(time.monotonic() - t_closed, 3)
            res["mismatches"] = len(at_close)
        # verification: notify_messages == frames
        got = None
        deadline = time.monotonic() + args.interval + 15
        while time.monotonic() < deadline and got != args.frames + args.warmup:
            time.sleep(0.5)
            if prom_port:
                try:
                    with urllib.request.urlopen(
                            f"http://127.0.0.1:{prom_port}/metrics", timeout=10) as r:
                        text = r.read().decode()
                except OSError:
                    continue
                for line in text.splitlines():
                    if "notify_messages" in line and '"self"' in line and \
                            not line.startswith("#"):
                        got = int(float(line.split("}")[1].split()[0]))
            else:
                rows = collectd_harness.csv_values(cd.csv, PLUGIN + "-self",
                                                   "notify_messages")
                rows = [r for r in rows if r[0] >= t_done - 1]
                if rows:
                    got = int(rows[-1][1])
        res["messages"] = got
        if args.conversations:
            # the counters' totals, as the plugin saves them at shutdown
            cd.stop()
            have = conv_counted(os.path.join(state_dir, "realtime-acme.json"))
            keys = sorted(set(have) | set(expected))
            zero = [0] * len(MOMENTS)
            bad = [(k, have.get(k, zero), expected.get(k, zero)) for k in keys
                   if have.get(k, zero) != expected.get(k, zero)]
            res["verified"] = (got == args.frames + args.warmup and not bad
                               and len(replay.conns) == 1)
            res["why"] = "" if res["verified"] else (
                f"notify_messages {got} != {args.frames + args.warmup}; {len(bad)} of {len(keys)} "
                f"queue/media counters differ, first {bad[:2]}; {len(replay.conns)} sockets")
            return res
        bad = at_close
        res["verified"] = got == args.frames + args.warmup and not bad
        res["why"] = "; ".join(
            ([f"notify_messages {got} != {args.frames + args.warmup}"]
             if got != args.frames + args.warmup else [])
            + ([f"{len(bad)} mismatches among {len(idents)} values "
                f"{PLUGIN_TICK_S} s after the socket closed "
                f"({'one /metrics scrape' if prom_port else 'GETVAL'}, read in "
                f"{res['getval_s']} s), first {bad[:3]}"]
               if bad else []))
        if channels != 1:
            res["verified"] = False
            res["why"] += f"; {channels} sockets (expected 1)"
        return res
    finally:
        replay.close()
        cd.cleanup()


def latency_frames(queue_ids, n):
    """n messages round-robin over the groups, each with a waiting count
    of its own (the k-th message of a group waits k + 1): the value that
    reaches the writer names the message. [((qid, media, k + 1), frame)]"""
    groups = [(q, m) for q in queue_ids for m in MEDIA]
    out = []
    for i in range(n):
        qid, media = groups[i % len(groups)]
        k = i // len(groups) + 1
        metrics = [{"metric": "oWaiting", "stats": {"count": k}},
                   {"metric": "oInteracting", "stats": {"count": 0}},
                   {"metric": "oAlerting", "stats": {"count": 0}}]
        msg = {"topicName": f"v2.analytics.queues.{qid}.observations", "version": "2",
               "eventBody": {"group": {"queueId": qid, "mediaType": media},
                             "data": [{"interval": "2026-01-01T00:00:00.000Z/"
                                       "2026-01-01T00:30:00.000Z", "metrics": metrics}]},
               "metadata": {"CorrelationId": str(uuid.uuid4())}}
        out.append(((qid, media, float(k)), ws_frame(1, json.dumps(msg, **J).encode())))
    return out


def run_latency(args, sim, proxy, replay, queue_ids):
    """Send-to-write_http latency of waiting values, FlushInterval
    --flush-interval, at --latency-rate messages a second."""
    from receiver import Receiver
    replay.reset()
    replay.paced = (latency_frames(queue_ids, args.latency_messages), args.latency_rate)
    replay.send_times = {}
    rx = Receiver()
    cd = collectd_harness.Collectd("", stock=("logfile", "write_http"))
    org = bench_org(sim, proxy)
    conf = (f"LoadPlugin {PLUGIN}\n<Plugin {PLUGIN}>\n{org}</Plugin>\n"
            f"<LoadPlugin write_http>\n  FlushInterval {args.flush_interval}\n</LoadPlugin>\n"
            "<Plugin write_http>\n"
            f'  <Node "bench">\n    URL "http://127.0.0.1:{rx.port}/"\n'
            '    Format "JSON"\n    StoreRates false\n    BufferSize 65536\n'
            "  </Node>\n</Plugin>\n")
    cd.write_conf(conf, args.interval)
    try:
        start_subscribed(cd, args, proxy, replay)
        idle_rate(cd.proc.pid)
        replay.go.set()
        replay.sent.wait(args.timeout)
        time.sleep(2 + 2 * args.flush_interval)
        with rx.lock:
            arrivals = list(rx.arrivals)
        first = {}
        for now, vtime, key, value in arrivals:
            if key[1] == PLUGIN and key[3] == "waiting":
                first.setdefault((key[2], key[4], value), (now, vtime))
        seen = [(first[k], t) for k, t in replay.send_times.items() if k in first]
        # the whole way, and its two parts: to the value's own time (the
        # plugin's, when it dispatched or held it) and from there on
        # (collectd's queue, write_http's buffer and flush, the POST)
        lat = {"total": sorted(a - t for (a, _), t in seen),
               "plugin": sorted(v - t for (_, v), t in seen),
               "after": sorted(a - v for (a, v), _ in seen)}
        missing = len(replay.send_times) - len(seen)
        return lat, missing
    finally:
        replay.paced = None
        replay.close()
        cd.cleanup()
        rx.stop()


def run_peer(name, cmd, args, replay, checksum):
    replay.reset()
    url = f"ws://127.0.0.1:{replay.port}/channels/peer"
    proc = subprocess.Popen(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    res = {"consumer": name}
    try:
        if not replay.first_frame.wait(args.timeout):
            raise RuntimeError(f"{name} did not connect: {proc.stderr.read()[:2000]}")
        idle = idle_rate(proc.pid)
        warm_up(proc.pid, replay, args.timeout, idle)
        idle = idle_rate(proc.pid)
        res.update(measure(proc.pid, replay, args.frames, args.timeout, idle=idle))
        replay.close()
        out, err = proc.communicate(timeout=args.timeout)
        js = json.loads(out.decode().strip().splitlines()[-1])
        res["messages"] = js["messages"]
        res["verified"] = (js["messages"] == args.frames + args.warmup
                           and js["checksum"] == checksum)
        res["why"] = "" if res["verified"] else f"peer said {js}, want {checksum}"
        return res
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_exporter(name, cmd, args, replay, series):
    """A peer that serves the last values as Prometheus gauges: counts only
    if one scrape of its /metrics after the stream's end equals the file's
    last message per (queue, media, metric, qualifier), both ways."""
    replay.reset()
    port = free_port()
    url = f"ws://127.0.0.1:{replay.port}/channels/peer"
    proc = subprocess.Popen(cmd + [url, str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    res = {"consumer": name, "exporter": True}
    try:
        if not replay.first_frame.wait(args.timeout):
            raise RuntimeError(f"{name} did not connect: {proc.stderr.read()[:2000]}")
        idle = idle_rate(proc.pid)
        warm_up(proc.pid, replay, args.timeout, idle)
        idle = idle_rate(proc.pid)
        res.update(measure(proc.pid, replay, args.frames, args.timeout, idle=idle))
        replay.close()
        ready, _, _ = select.select([proc.stdout], [], [], args.timeout)
        if not ready:
            raise RuntimeError(f"{name} said nothing after the socket closed")
        js = json.loads(proc.stdout.readline().decode())
        want = {("genesys_observation", (("media", m), ("metric", k), ("qualifier", ql),
                                         ("queue", q))): v
                for (q, m, k, ql), v in series.items()}
        have = {k: v for k, v in scrape(port).items() if k[0] == "genesys_observation"}
        bad = compare(have, want)
        res["messages"] = js["messages"]
        res["mismatches"] = len(bad)
        res["verified"] = js["messages"] == args.frames + args.warmup and not bad
        res["why"] = "" if res["verified"] else (
            f"messages {js['messages']} (want {args.frames}); {len(bad)} mismatches among "
            f"{len(want)} gauges in one /metrics scrape, first {bad[:3]}")
        return res
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def fmt_ms(v):
    return f"{v:.0f}" if isinstance(v, float) else ("none seen" if v is None else v)


def summary(runs, ref, title, repeat):
    """Medians of the verified runs; ratios to the consumer named ref*."""
    print(f"\n# {title}: median of verified runs; x {ref.rstrip(' (')} = "
          f"cpu us/msg / its")
    names = []
    for res in runs:
        if res["consumer"] not in names and "us_msg" in res:
            names.append(res["consumer"])
    med = {}
    for n in names:
        ok = [x for x in runs if x["consumer"] == n and x["verified"]]
        if ok:
            med[n] = (statistics.median(x["us_msg"] for x in ok),
                      statistics.median(x["sched_us_msg"] for x in ok),
                      max(x["hwm_mib"] for x in ok), len(ok),
                      statistics.median(x["idle_pct"] for x in ok))
    node = next((v for k, v in med.items() if k.startswith(ref)), None)
    # the ratio within each round (consumers run back to back), then its
    # median: steadier than a ratio of medians on a machine that is busy
    # at times
    per_round = {}
    for r in range(1, repeat + 1):
        nd = [x for x in runs if x["run"] == r and x["verified"]
              and x["consumer"].startswith(ref)]
        for x in runs:
            if x["run"] == r and x["verified"] and nd:
                per_round.setdefault(x["consumer"], []).append(
                    x["sched_us_msg"] / nd[0]["sched_us_msg"])
    print(f"{'consumer':<32} {'runs':>4} {'cpu us/msg':>10} {'sched us/msg':>12} "
          f"{'peak RSS MiB':>12} {'x ref cpu':>10} {'x ref RSS':>10} "
          f"{'x ref/round':>12} {'idle %cpu':>9}")
    for n, (us, sus, hwm, k, idle) in med.items():
        rc = f"{us / node[0]:.2f}" if node else "-"
        rr = f"{hwm / node[2]:.2f}" if node else "-"
        pr = f"{statistics.median(per_round[n]):.2f}" if n in per_round else "-"
        print(f"{n:<32} {k:>4} {us:>10.2f} {sus:>12.2f} {hwm:>12.1f} {rc:>10} {rr:>10} "
              f"{pr:>12} {idle:>9.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100000)
    ap.add_argument("--queues", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--interval", type=int, default=10,
                    help="collectd Interval (the plugin re-dispatches every value each)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--consumers",
                    default="collectd-prom,node-prom,python-prom,collectd,node,python",
                    help="comma list of collectd, collectd-prom, node, python, node-prom "
                    "(prom-client exporter), python-prom (prometheus_client exporter); "
                    "collectd-wtN and collectd-prom-wtN: the same with WriteThreads N "
                    "(collectd's default is 5)")
    ap.add_argument("--file", default=None, help="keep the message file here")
    ap.add_argument("--build", action="append", default=[], metavar="NAME=DIR",
                    help="another build's plugins (DIR/.libs): consumer collectd@NAME "
                    "or collectd-prom@NAME runs collectd with them (before and after "
                    "a change in one interleaved run)")
    ap.add_argument("--org-keys", action="append", default=[], metavar="NAME=KEYS",
                    help="more lines of the <Org> block, \\n between keys: consumer "
                    "collectd@NAME or collectd-prom@NAME runs the default build with "
                    "them (e.g. before and after DispatchEvery in one run)")
    ap.add_argument("--rates", default="0",
                    help="comma list of frames a second the replay is paced at, 0: as "
                    "fast as the client reads (default); every consumer at every "
                    "rate in each round, interleaved")
    ap.add_argument("--paced-seconds", type=float, default=None,
                    help="at a paced rate R, min(--frames, R x this) frames, so that "
                    "a paced replay takes at most this long (default: --frames)")
    ap.add_argument("--perf", default=None, metavar="DIR",
                    help="perf record -g collectd over each replay alone, a file "
                    "a run in DIR (perf report -i FILE --no-children)")
    ap.add_argument("--perf-events", default=None,
                    help="perf record's -e with --perf instead of -F 999, e.g. "
                    "probe_collectd:plugin_dispatch_values after `perf probe -x "
                    "/usr/sbin/collectd --add plugin_dispatch_values`: every value "
                    "list is a sample (the probe costs CPU: not beside a CPU figure)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="messages sent before the measured ones, so that their "
                    "series exist (default: observations one a group, conversation "
                    "events --frames; 0: the replay creates every series)")
    ap.add_argument("--steps", action="store_true",
                    help="observations: each message is one conversation's step (one "
                    "count of its group moves by one, the longest wait with it when "
                    "the first arrives or the oldest leaves), not five counts drawn "
                    "afresh")
    ap.add_argument("--conversations", action="store_true",
                    help="conversation events (ConversationEvents true) instead of "
                    "queue observations; collectd is verified by the moments its "
                    "state file counted")
    ap.add_argument("--latency", action="store_true",
                    help="also measure send-to-write_http latency (issue #16 item 2)")
    ap.add_argument("--latency-messages", type=int, default=5000)
    ap.add_argument("--latency-rate", type=float, default=500, help="messages a second")
    ap.add_argument("--flush-interval", type=float, default=0.1,
                    help="write_http's FlushInterval for --latency")
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--python", default="/usr/bin/python3")
    args = ap.parse_args()
    wanted = args.consumers.split(",")
    builds = dict(b.split("=", 1) for b in args.build)
    org_keys = {k: v.replace("\\n", "\n") for k, v in
                (b.split("=", 1) for b in args.org_keys)}
    default_build = collectd_harness.BUILD
    for c in wanted:
        if "@" in c and (not c.startswith("collectd") or
                         c.split("@")[1] not in builds.keys() | org_keys.keys()):
            sys.exit(f"{c}: no --build or --org-keys {c.split('@')[1]} "
                     "(collectd consumers only)")
    rates = [float(x) for x in args.rates.split(",")]
    if any(r < 0 for r in rates) or (args.latency and rates != [0]) or \
            (args.conversations and rates != [0]):
        sys.exit("--rates: frames a second, 0 or more, with queue observations only and "
                 "not with --latency")
    if args.conversations and {"node-prom", "python-prom"} & set(wanted):
        sys.exit("the exporters read queue observations only: leave node-prom and "
                 "python-prom out with --conversations")
    for c, mod in (("node", "ws"), ("node-prom", "ws"), ("node-prom", "prom-client")):
        if c in wanted and not os.path.isdir(os.path.join(PEERS, "node_modules", mod)):
            sys.exit(f"bench/peers/node_modules/{mod} missing: run `npm ci --prefix "
                     "bench/peers` (the versions of bench/peers/package-lock.json)")
    for c, mod, pkg in (("python", "websockets", "python3-websockets"),
                        ("python-prom", "websockets", "python3-websockets"),
                        ("python-prom", "prometheus_client", "python3-prometheus-client")):
        if c in wanted and subprocess.run([args.python, "-c", f"import {mod}"],
                                          capture_output=True).returncode:
            sys.exit(f"{args.python} cannot import {mod}: apt-get install {pkg} "
                     "(scripts/setup.sh installs it)")

    tmp = tempfile.mkdtemp(prefix="bench-daemon-")
    sim = Simulator("--queues", str(args.queues), "--agents", str(2 * args.queues),
                    "--max-channels", "1000", "--heartbeat", "600", "--speed", "1",
                    "--warmup", "60", tls=False)
    try:
        qids = sorted(sim.truth()["queues"])
        sim.fault({"fault": "pause"})  # the model stops: the simulator only answers REST
        path = args.file or os.path.join(tmp, "frames.jsonl")
        if args.warmup is None:
            # observations: each group once (the file's first pass), so that
            # every series exists before the measure, as in a daemon that has
            # run a while (--warmup 0: the replay creates them)
            args.warmup = args.frames if args.conversations else len(qids) * len(MEDIA)
        # per rate: its own args (frames, timeout), file, truth and frames
        per_rate = {}
        for rate in rates:
            a = argparse.Namespace(**vars(args))
            if rate and args.paced_seconds:
                a.frames = max(1, min(args.frames, int(rate * args.paced_seconds)))
            a.rate = rate
            a.timeout = args.timeout + (a.frames / rate if rate else 0)
            p = path if len(rates) == 1 else f"{path}.{rate:g}"
            truth = (make_conv_file(p, qids, a.frames + a.warmup, args.seed)
                     if args.conversations else
                     make_file(p, qids, a.frames + a.warmup, args.seed, args.steps))
            warm, frames = load_blob(p, a.warmup)
            per_rate[rate] = (a, truth, warm, frames)
        asked = args.frames
        args, (expected, checksum, mean, series), warm, blob = per_rate[rates[0]]
        replay = Replay(blob, warm)
        proxy = Proxy(sim.base_url, replay.port)
        ncpu = os.cpu_count()
        load = os.getloadavg()[0]
        what = "conversation events" if args.conversations else "frames"
        paced = "; rates (frames/s, 0 = as fast as read): " + ", ".join(
            f"{r:g}: {per_rate[r][0].frames} {what}" for r in rates)
        print(f"# {asked} {what}, {len(qids)} queues x {len(MEDIA)} media, mean "
              f"{mean:.0f} B/message ({sum(map(len, blob)) / 1e6:.1f} MB framed); repeat "
              f"{args.repeat}, interleaved{paced if rates != [0] else ''}; collectd "
              f"Interval {args.interval}; {ncpu} CPUs, load {load:.2f}", flush=True)
        node_ver = subprocess.run([args.node, "--version"], capture_output=True,
                                  text=True).stdout.strip()
        help_text = subprocess.run([collectd_harness.COLLECTD, "-h"], capture_output=True,
                                   text=True).stdout.splitlines()
        cd_ver = next((x.split(",")[0] for x in help_text if x.startswith("collectd ")),
                      "collectd")
        py_ver = subprocess.run(
            [args.python, "-c", "import sys, websockets; "
             "print(sys.version.split()[0], 'websockets', websockets.__version__)"],
            capture_output=True, text=True).stdout.strip()
        if "python-prom" in wanted:
            py_ver += " prometheus_client " + subprocess.run(
                ["dpkg-query", "-W", "-f", "${Version}", "python3-prometheus-client"],
                capture_output=True, text=True).stdout.strip()

        def npm_ver(mod):
            try:
                with open(os.path.join(PEERS, "node_modules", mod, "package.json")) as f:
                    return json.load(f).get("version")
            except OSError:
                return "-"
        print(f"# {cd_ver}, build {collectd_harness.BUILD}; node {node_ver} ws "
              f"{npm_ver('ws')} prom-client {npm_ver('prom-client')}; "
              f"{args.python} {py_ver}", flush=True)
        print(f"{'run':>3} {'rate':>5} {'consumer':<32} {'cpu us/msg':>10} "
              f"{'sched us/msg':>12} {'peak RSS MiB':>12} {'wall s':>7} {'msg/s':>9} "
              f"{'verified':>8} {'interval ms':>11} {'idle %cpu':>9}", flush=True)
        runs = []
        for r, rate in ((r, rate) for r in range(args.repeat) for rate in rates):
            args, (expected, checksum, mean, series), replay.warm, replay.frames = \
                per_rate[rate]
            replay.rate = rate
            for c in wanted:
                c, _, build = c.partition("@")
                collectd_harness.BUILD = builds.get(build, default_build)
                keys = org_keys.get(build, "")
                args.org_keys_now = "".join(f"    {k.strip()}\n" for k in keys.split("\n")
                                            if k.strip())
                try:
                    if c == "collectd":
                        res = run_collectd("none", args, sim, proxy, replay, expected)
                    elif c == "collectd-prom":
                        res = run_collectd("prometheus", args, sim, proxy, replay, expected)
                    elif c.startswith("collectd-wt"):  # collectd-wt1: WriteThreads 1
                        res = run_collectd("none", args, sim, proxy, replay, expected,
                                           int(c[len("collectd-wt"):]))
                    elif c.startswith("collectd-prom-wt"):
                        res = run_collectd("prometheus", args, sim, proxy, replay, expected,
                                           int(c[len("collectd-prom-wt"):]))
                    elif c == "node":
                        res = run_peer("node (ws + JSON.parse)",
                                       [args.node, os.path.join(PEERS, "consumer.js")],
                                       args, replay, checksum)
                    elif c == "python":
                        res = run_peer("python (websockets + json)",
                                       [args.python, os.path.join(PEERS, "consumer.py")],
                                       args, replay, checksum)
                    elif c == "node-prom":
                        res = run_exporter("node exporter (prom-client)",
                                           [args.node, os.path.join(PEERS, "exporter.js")],
                                           args, replay, series)
                    elif c == "python-prom":
                        res = run_exporter("python exporter (prom_client)",
                                           [args.python, os.path.join(PEERS, "exporter.py")],
                                           args, replay, series)
                    else:
                        sys.exit(f"unknown consumer {c}")
                except Exception as e:  # a failed run is reported, not counted
                    res = {"consumer": c, "verified": False, "why": str(e)[:500]}
                if build and "consumer" in res:
                    res["consumer"] += " @" + build
                res["run"] = r + 1
                res["rate"] = rate
                runs.append(res)
                if "us_msg" in res:
                    print(f"{r + 1:>3} {rate:>5g} {res['consumer']:<32} {res['us_msg']:>10.2f} "
                          f"{res['sched_us_msg']:>12.2f} {res['hwm_mib']:>12.1f} "
                          f"{res['wall_s']:>7.2f} {args.frames / res['wall_s']:>9.0f} "
                          f"{'yes' if res['verified'] else 'NO':>8} "
                          f"{fmt_ms(res.get('interval_ms', '-')):>11} "
                          f"{res['idle_pct']:>9.2f}", flush=True)
                if not res["verified"]:
                    print(f"#   not verified ({res.get('mismatches', '?')} mismatches): "
                          f"{res['why']}", flush=True)
        # two tables: the exporters (ratio to the Node exporter) and the
        # consumers without one (ratio to the Node peer)
        for rate in rates:
            at = f", paced at {rate:g} frames/s" if rate else \
                (", as fast as read" if len(rates) > 1 else "")
            for exp, ref, title in ((True, "node exporter", "exporters, /metrics served"),
                                    (False, "node (", "no exporter")):
                group = [x for x in runs if bool(x.get("exporter")) == exp
                         and x["rate"] == rate]
                if any("us_msg" in x for x in group):
                    summary(group, ref, title + at, args.repeat)
        if args.latency:
            lat, missing = run_latency(args, sim, proxy, replay, qids)
            if lat["total"]:
                def q(part, p):
                    v = lat[part]
                    return v[min(len(v) - 1, int(p * len(v)))] * 1000
                print(f"\n# latency, send -> write_http (FlushInterval {args.flush_interval}), "
                      f"{args.latency_messages} messages at {args.latency_rate:.0f}/s: "
                      f"p50 {q('total', 0.5):.1f} ms, p99 {q('total', 0.99):.1f} ms, "
                      f"max {lat['total'][-1] * 1000:.1f} ms; {missing} not seen")
                for part, what in (("plugin", "send -> the value's time"),
                                   ("after", "the value's time -> write_http")):
                    print(f"#   {what}: p50 {q(part, 0.5):.1f} ms, "
                          f"p99 {q(part, 0.99):.1f} ms, max {lat[part][-1] * 1000:.1f} ms")
            else:
                print(f"# latency: no value seen ({missing} missing)")
        failed = [x for x in runs if not x["verified"]]
        if failed:
            print(f"# {len(failed)} run(s) not verified (left out)")
        return 1 if failed else 0
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
