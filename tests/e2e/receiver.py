# SPDX-License-Identifier: MIT
"""A write_http receiver for end-to-end tests: collectd's write_http plugin
POSTs its values here as JSON; the test reads the latest value of every
identifier (by the values' own times) and when each value arrived."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        # (host, plugin, plugin_instance, type, type_instance) -> value
        self.latest = {}
        self.latest_time = {}  # same key -> the value's own time, the newest
        self.latest_interval = {}  # same key -> the value's interval, seconds
        self.arrivals = []  # (arrival wall time, value time, key, value)
        self.posts = 0
        self.gate = threading.Event()  # cleared: every POST waits (hold())
        self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                held = not receiver.gate.is_set()
                receiver.gate.wait()
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                now = time.time()
                if held:  # never accepted: its values are not received
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:
                    values = json.loads(body)
                except ValueError:
                    values = []
                with receiver.lock:
                    receiver.posts += 1
                    for v in values:
                        key = (v["host"], v["plugin"], v["plugin_instance"],
                               v["type"], v["type_instance"])
                        # The newest by the value's own time, as a time
                        # series database shows it: collectd's write
                        # threads may hand two queued values of a series
                        # to write_http in either order.
                        if v["time"] >= receiver.latest_time.get(key, v["time"]):
                            receiver.latest[key] = v["values"][0]
                            receiver.latest_time[key] = v["time"]
                            receiver.latest_interval[key] = v.get("interval")
                        receiver.arrivals.append((now, v["time"], key, v["values"][0]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def config(self):
        """collectd.conf lines that send every value here at once."""
        return (
            "<LoadPlugin write_http>\n  FlushInterval 1\n</LoadPlugin>\n"
            "<Plugin write_http>\n"
            f'  <Node "test">\n    URL "http://127.0.0.1:{self.port}/"\n'
            '    Format "JSON"\n    StoreRates false\n    BufferSize 65536\n'
            "  </Node>\n</Plugin>\n"
        )

    def get(self, plugin, plugin_instance, type_, type_instance="", host=None):
        with self.lock:
            if host is not None:  # the whole key: one lookup
                return self.latest.get((host, plugin, plugin_instance, type_, type_instance))
            for key, value in self.latest.items():
                if key[1:] == (plugin, plugin_instance, type_, type_instance) and (
                    host is None or key[0] == host
                ):
                    return value
        return None

    def get_timed(self, plugin, plugin_instance, type_, type_instance="", host=None):
        """(time, value) of the latest value, or None."""
        with self.lock:
            if host is not None:
                key = (host, plugin, plugin_instance, type_, type_instance)
                return (self.latest_time[key], self.latest[key]) if key in self.latest else None
            for key, value in self.latest.items():
                if key[1:] == (plugin, plugin_instance, type_, type_instance) and (
                    host is None or key[0] == host
                ):
                    return self.latest_time[key], value
        return None

    def hold(self):
        """From now on every POST waits, unanswered, until release(): the
        sender's write path stands still (a stalled backend). A held POST
        is then refused (503) and none of its values counts as received."""
        self.gate.clear()

    def release(self):
        self.gate.set()

    def snapshot(self):
        with self.lock:
            return dict(self.latest)

    def arrival_list(self):
        """A copy of arrivals: (arrival wall time, value time, key, value)."""
        with self.lock:
            return list(self.arrivals)

    def stop(self):
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
