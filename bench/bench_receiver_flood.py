#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The EventBridge receiver under an idle-connection flood (issue 63): how
many POSTs of legitimate TLS senders are answered, and how fast, while
--sources addresses each hold an idle TCP connection (no byte, no TLS) and
open a new one the moment the server closes one, as fast as one thread can
(tests/e2e/idle_flood.py).

Each legitimate sender (--senders of them, one address: 127.0.0.1, or ::1,
which sent the secret before the flood: a known sender) connects, waits
--gap seconds (a round trip before the ClientHello, as over the internet),
does TLS and POSTs an event; the time is from connect to answer. With
--fresh every POST comes from an address never seen before (127.0.1.0/24
and on, or 2001:db8:64::/64), so the receiver does not trust it.
Reported: POSTs answered 200 of those sent, latency p50 / p99 / max, the
flood's connections opened and closed by the server a second, collectd's
CPU a flood connection.

With --first-byte each flood connection sends one byte (a TLS record's
first) once connected, and nothing more: not silent, accepted at once.

Address plans (--plan):
  four24   1,000 addresses in four /24s: 127.0.2.1 to 127.0.5.250
  spread   1,000 addresses, each in a /24 of its own: 127.1.k.1 and on
  slash64  1,000 addresses of one IPv6 /64 (2001:db8:63::/64), the
           receiver on ::1: run as root; the script moves into a network
           namespace of its own (unshare -n), where the /64 is routed to
           lo and may be bound (net.ipv6.ip_nonlocal_bind)

A measurement, not a test: it reports numbers and asserts nothing.

  python3 bench/bench_receiver_flood.py --plan four24 --seconds 30
  python3 bench/bench_receiver_flood.py --plan slash64 --seconds 30
"""
import argparse
import multiprocessing
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from collectd_harness import Collectd, write_secret  # noqa: E402
from idle_flood import IdleFlood, LegitSender  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from test_receiver_abuse import event  # noqa: E402

SECRET = "bench-receiver-flood-secret-0123456789"
PLUGIN = "genesys_flowmetrics"


def sources_of(plan, n):
    if plan == "four24":
        return [f"127.0.{2 + k // 250}.{1 + k % 250}" for k in range(n)]
    if plan == "spread":
        return [f"127.{1 + k // 250}.{k % 250}.1" for k in range(n)]
    return [f"2001:db8:63::{k // 65536:x}:{k % 65536:x}" for k in range(n)]


def into_namespace():
    """Re-runs this script in a network namespace of its own (slash64)."""
    if os.environ.get("GEN_BENCH_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        for net in ("2001:db8:63::/64", "2001:db8:64::/64"):
            subprocess.run(["ip", "-6", "route", "add", "local", net, "dev", "lo"],
                           check=True)
        subprocess.run(["sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1"], check=True)
        return
    env = dict(os.environ, GEN_BENCH_NETNS="1")
    sys.exit(subprocess.run(["unshare", "-n", sys.executable] + sys.argv,
                            env=env).returncode)


def fresh_source(v6, n):
    """The n-th address never used before, outside the flood's prefixes."""
    if v6:
        return f"2001:db8:64::{n // 65536:x}:{n % 65536:x}"
    return f"127.0.{1 + 5 * (n // 250)}.{1 + n % 250}" if n < 250 else \
        f"127.{200 + n // 62500}.{n // 250 % 250}.{1 + n % 250}"


def flood_process(port, sources, family, host, seconds, out, first_byte):
    """One flooding process: its IdleFlood for settle + seconds, then
    (opened, closed, failed) in the measured seconds."""
    flood = IdleFlood(port, sources, family=family, host=host,
                      first_byte=first_byte)
    flood.start()
    time.sleep(3)  # the flood settles
    opened0, closed0 = flood.opened, flood.base + len(flood.closed)
    time.sleep(seconds)
    out.put((flood.opened - opened0, flood.base + len(flood.closed) - closed0,
             flood.failed))
    flood.stop.set()
    flood.join(timeout=30)


def free_port(family, host):
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plan", choices=("four24", "spread", "slash64"), default="four24")
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--senders", type=int, default=3)
    ap.add_argument("--flooders", type=int, default=2,
                    help="processes sharing the flood's addresses")
    ap.add_argument("--gap", type=float, default=0.05)
    ap.add_argument("--fresh", action="store_true",
                    help="each POST from an address never seen before")
    ap.add_argument("--first-byte", action="store_true",
                    help="each flood connection sends one byte (0x16), then nothing")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--queue", type=int, default=16, help="ReceiverQueueSize "
                    "(slots: it + 512, at most half the open-file limit)")
    o = ap.parse_args()
    v6 = o.plan == "slash64"
    if v6:
        into_namespace()
    family = socket.AF_INET6 if v6 else socket.AF_INET
    host = "::1" if v6 else "127.0.0.1"
    sim = Simulator("--queues", "2", "--agents", "4", "--flows", "2", "--warmup", "0")
    cd = None
    try:
        secret_file = write_secret(os.path.join(sim.dir, "bench-secret"), SECRET)
        port = free_port(family, host)
        state = os.path.join(sim.dir, "state")
        eb = sim.org_block(
            "eb", extra='    Host "eb"\n    AttributesFromQueues false\n'
            f'    ReceiverAddress "{host}"\n    ReceiverPort {port}\n'
            f'    ReceiverCertificate "{state}/server.pem"\n'
            f'    ReceiverKey "{state}/server.key"\n'
            f'    ReceiverSecretFile "{secret_file}"\n'
            f"    ReceiverQueueSize {o.queue}\n")
        cd = Collectd(f"LoadPlugin {PLUGIN}\n<Plugin {PLUGIN}>\n{eb}</Plugin>\n")
        cd.start()
        ctx = ssl.create_default_context(cafile=sim.ca)
        ctx.check_hostname = False  # the certificate names 127.0.0.1, not ::1
        sender = LegitSender(port, ctx, SECRET, host=host, family=family)
        end = time.monotonic() + 60
        while time.monotonic() < end and sender.post(b"{}")[0] != 400:
            time.sleep(0.3)
        sources = sources_of(o.plan, o.sources)
        out = multiprocessing.Queue()
        procs = [multiprocessing.Process(
            target=flood_process, daemon=True,
            args=(port, sources[k::o.flooders], family, host, o.seconds, out,
                  o.first_byte))
            for k in range(o.flooders)]
        for p in procs:
            p.start()
        time.sleep(3)  # the flood settles
        results, lock = [], threading.Lock()
        stop_at = time.monotonic() + o.seconds
        t0, cpu0 = time.monotonic(), cpu_seconds(cd.proc.pid)

        fresh = iter(range(1 << 30))

        def send(k):
            i = 0
            while time.monotonic() < stop_at:
                who = sender
                if o.fresh:
                    with lock:
                        n = next(fresh)
                    who = LegitSender(port, ctx, SECRET, host=host, family=family,
                                      source=fresh_source(v6, n))
                r = who.post(event(100000 * (k + 1) + i, "bench"), gap=o.gap)
                with lock:
                    results.append(r)
                i += 1

        threads = [threading.Thread(target=send, args=(k,)) for k in range(o.senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt, cpu = time.monotonic() - t0, cpu_seconds(cd.proc.pid) - cpu0
        counts = [out.get(timeout=60) for _ in procs]
        opened, closed, failed = (sum(c[i] for c in counts) for i in range(3))
        for p in procs:
            p.join(timeout=30)
        answered = [d for s, d, _ in results if s == 200]
        other = sorted({str(s) for s, _, _ in results if s != 200})
        print(f"plan {o.plan}: {o.sources} flood addresses"
              f"{' (one byte each)' if o.first_byte else ''}, {o.senders} "
              f"{'fresh ' if o.fresh else 'known '}senders, "
              f"gap {o.gap * 1000:.0f} ms, {dt:.1f} s")
        print(f"legitimate POSTs answered: {len(answered)} of {len(results)}"
              + (f" (others: {other})" if other else ""))
        print(f"latency connect to answer: p50 {pct(answered, 0.5) * 1000:.0f} ms, "
              f"p99 {pct(answered, 0.99) * 1000:.0f} ms, max "
              f"{max(answered, default=float('nan')) * 1000:.0f} ms; within 2 s: "
              f"{sum(1 for d in answered if d <= 2.0)}")
        print(f"flood: {opened / dt:.0f} connections opened a second, "
              f"{closed / dt:.0f} closed by the server a second "
              f"({opened} and {closed}, {o.flooders} processes); connects failed "
              f"{failed}")
        print(f"collectd CPU: {cpu / dt * 100:.1f} % of a core, "
              f"{cpu / max(opened, 1) * 1e6:.0f} µs a flood connection")
    finally:
        if cd:
            cd.cleanup()
        sim.stop()


if __name__ == "__main__":
    main()
