# SPDX-License-Identifier: MIT
"""End to end: no proxy carries plain http. A loopback http:// base URL (the
simulator without TLS) is reached directly, never through a proxy, whether
the proxy is the org's Proxy or comes from collectd's environment
(http_proxy, https_proxy, ALL_PROXY): the Basic client credentials and the
Bearer tokens would otherwise cross the network in clear. A real fake proxy
listens and must receive nothing, while the plugins read the simulator.

Run alone: GEN_BUILD_DIR=$PWD/build python3 tests/e2e/test_proxy.py
"""
import os
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collectd_harness import Collectd, run_tests  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

TESTED = ("genesys_analytics", "genesys_realtime")


class FakeProxy:
    """Accepts connections on loopback, keeps what each sends (a request, a
    CONNECT) and answers 502."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.received = []  # bytes of each connection
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(2)
            data = b""
            try:
                data = conn.recv(65536)
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
            except OSError:
                pass
            conn.close()
            with self.lock:
                self.received.append(data)

    def close(self):
        self.sock.close()


class ProxyTest(unittest.TestCase):
    def setUp(self):
        self.sim = Simulator("--queues", "2", "--agents", "4", "--flows", "1",
                             tls=False)
        self.assertTrue(self.sim.base_url.startswith("http://127.0.0.1:"),
                        self.sim.base_url)
        self.proxy = FakeProxy()
        self.cd = None

    def tearDown(self):
        if self.cd:
            self.cd.cleanup()
        self.proxy.close()
        self.sim.stop()

    def run_collectd(self, extra="", env=None):
        self.cd = Collectd("".join(
            f"LoadPlugin {p}\n<Plugin {p}>\n"
            + self.sim.org_block("acme", extra='    Host "acme"\n' + extra)
            + "</Plugin>\n" for p in TESTED))

        def three_reads_up():
            return all(sum(v for _, v in self.cd.csv_values(f"{p}-self", "api_up")) >= 3
                       for p in TESTED)
        self.cd.start(env=env)
        try:
            read = wait_for(three_reads_up, timeout=60, step=0.3)
        finally:
            self.cd.stop()
        with self.proxy.lock:
            got = list(self.proxy.received)
        print(f"# proxy connections: {len(got)}; api_up reads: "
              + ", ".join(f"{p} {len(self.cd.csv_values(f'{p}-self', 'api_up'))}"
                          for p in TESTED))
        # Nothing went to the proxy (before: the token request with the
        # Basic credentials, and the API requests with the Bearer token)...
        self.assertEqual(got, [], [g[:200] for g in got])
        # ...and the plugins did read the simulator, directly.
        self.assertTrue(read, self.cd.log_text()[-3000:])
        self.assertGreaterEqual(self.sim.stats()["tokens_issued"], 1)

    def test_configured_proxy_not_used_for_loopback_http(self):
        self.run_collectd(extra=f'    Proxy "{self.proxy.url}"\n')

    def test_environment_proxy_not_used_for_loopback_http(self):
        env = dict(os.environ)
        for name in ("no_proxy", "NO_PROXY"):
            env.pop(name, None)
        for name in ("http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY",
                     "all_proxy"):
            env[name] = self.proxy.url
        self.run_collectd(env=env)


if __name__ == "__main__":
    run_tests(__name__)
