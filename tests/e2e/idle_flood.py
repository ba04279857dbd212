# SPDX-License-Identifier: MIT
"""An idle-connection flood on the EventBridge receiver, and a legitimate
TLS sender beside it (tests/e2e/test_receiver_abuse.py and
bench/bench_receiver_flood.py).

IdleFlood holds one TCP connection from each source address that never
sends a byte (no TLS ClientHello) and opens a new one the moment the
server closes one, as fast as one thread can (epoll, non-blocking
connects): the rate is whatever the machine and the receiver allow. Every
connection has a sequence number, and the flood counts those the server
closed, so a sender can tell how many the server closed while it was silent
(`closed_after`): once that is at least the slots for connections waiting
for a head, closing the oldest first would have closed the sender's own
(at most that many less one were older). With `spare` addresses, each
connection is reopened from the address used longest ago among sources and
spare, not from the one just closed.

LegitSender.post connects, stays silent for `gap` seconds (at least; as
an internet sender waits a round trip before its ClientHello arrives), or
until the flood has seen `closed` of its connections closed by the server
since its connect, then does TLS and POSTs."""
import http.client
import select
import socket
import ssl
import threading
import time


class IdleFlood(threading.Thread):
    def __init__(self, port, sources, family=socket.AF_INET, host="127.0.0.1",
                 spare=(), first_byte=False):
        super().__init__(daemon=True)
        self.port, self.sources, self.family, self.host = port, sources, family, host
        self.pool = list(sources) + list(spare) if spare else None
        self.turn = len(sources)
        # With first_byte, each connection sends one byte once connected
        # (a TLS record's first, 0x16) and nothing more: not silent.
        self.first_byte = first_byte
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.opened = 0  # sequence number of the last connection opened
        self.closed = []  # sequence numbers the server closed, in order
        self.base = 0  # closes dropped from the front of self.closed
        self.failed = 0  # connects refused or failed at once

    def mark(self):
        """(the last sequence number opened, closes so far): what a sender
        connected now compares with."""
        with self.cond:
            return self.opened, self.base + len(self.closed)

    def closed_after(self, mark):
        """How many connections opened after mark the server has closed
        since."""
        seq, at = mark
        with self.cond:
            return sum(1 for s in self.closed[max(at - self.base, 0):] if s > seq)

    def wait_closed_after(self, mark, n, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                got = self.closed_after(mark)
                left = end - time.monotonic()
                if got >= n or left <= 0:
                    return got
                self.cond.wait(left)

    def _next(self, src):
        """The address to reopen src's connection from."""
        if not self.pool:
            return src
        self.turn += 1
        return self.pool[(self.turn - 1) % len(self.pool)]

    def _open(self, ep, conns, src):
        s = socket.socket(self.family, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((src, 0))
            s.connect_ex((self.host, self.port))
        except OSError:
            s.close()
            self.failed += 1
            return
        with self.cond:
            self.opened += 1
            seq = self.opened
        conns[s.fileno()] = (s, src, seq)
        ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP |
                    (select.EPOLLOUT if self.first_byte else 0))

    def run(self):
        ep = select.epoll()
        conns = {}
        for src in self.sources:
            if self.stop.is_set():
                break
            self._open(ep, conns, src)
        while not self.stop.is_set():
            events = ep.poll(0.05)
            again = []
            gone = []
            for fd, ev in events:
                if ev == select.EPOLLOUT:  # connected: its one byte
                    try:
                        conns[fd][0].send(b"\x16")
                    except OSError:
                        pass
                    ep.modify(fd, select.EPOLLIN | select.EPOLLRDHUP)
                    continue
                s, src, seq = conns.pop(fd)
                ep.unregister(fd)
                s.close()
                gone.append(seq)
                again.append(src)
            if gone:
                with self.cond:
                    self.closed.extend(gone)
                    if len(self.closed) > 200000:  # the last ones suffice
                        del self.closed[:100000]
                        self.base += 100000
                    self.cond.notify_all()
            for src in again:
                self._open(ep, conns, self._next(src))
            if len(conns) < len(self.sources) // 2:
                time.sleep(0.01)  # refused at once: no busy loop
                have = {src for _, src, _ in conns.values()}
                missing = [None] * (len(self.sources) - len(conns)) if self.pool \
                    else [src for src in self.sources if src not in have]
                for src in missing:
                    self._open(ep, conns, self._next(src))
        for s, _, _ in conns.values():
            s.close()
        ep.close()


class LegitSender:
    def __init__(self, port, ctx, secret, host="127.0.0.1", source=None,
                 family=socket.AF_INET):
        self.port, self.ctx, self.secret = port, ctx, secret
        self.host, self.source, self.family = host, source, family

    def post(self, body, flood=None, gap=0.05, closed=0, timeout=10):
        """(status or exception name, seconds from connect to answer,
        flood connections closed by the server before the ClientHello)."""
        raw = socket.socket(self.family, socket.SOCK_STREAM)
        raw.settimeout(timeout)
        t0 = time.monotonic()
        seen = 0
        try:
            if self.source:
                raw.bind((self.source, 0))
            raw.connect((self.host, self.port))
            mark = (0, flood.mark()[1]) if flood else None  # any closed since
            if flood and closed:
                seen = flood.wait_closed_after(mark, closed, timeout=2.5)
            left = gap - (time.monotonic() - t0)
            if left > 0:
                time.sleep(left)
            if flood and not closed:
                seen = flood.closed_after(mark)
            tls = self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            conn = http.client.HTTPSConnection(self.host, self.port,
                                               context=self.ctx, timeout=timeout)
            conn.sock = tls
            try:
                conn.request("POST", "/events", body=body,
                             headers={"Content-Type": "application/json",
                                      "X-Genesys-Secret": self.secret})
                r = conn.getresponse()
                r.read()
                status = r.status
            finally:
                conn.close()
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            status = type(e).__name__
        finally:
            raw.close()
        return status, time.monotonic() - t0, seen
