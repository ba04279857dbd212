# SPDX-License-Identifier: MIT
"""The README's first command, scripts/demo.sh, bounded by DEMO_SECONDS:
it starts the simulator, collectd with the four plugins and
write_prometheus, and Prometheus, says where to look, and its live summary
(read from Prometheus) shows the simulator's queues and every plugin up.
It stops everything it started."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import ROOT, run_tests  # noqa: E402


class DemoTest(unittest.TestCase):
    def test_demo_runs_and_summarises(self):
        r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "demo.sh")],
                           env={**os.environ, "DEMO_SECONDS": "20"}, capture_output=True,
                           text=True, timeout=300)
        out = r.stdout
        self.assertEqual(r.returncode, 0, out[-2000:] + r.stderr[-2000:])
        port = re.search(r"Prometheus at http://127\.0\.0\.1:(\d+)/graph", out)
        self.assertIsNotNone(port, out[-2000:])
        self.assertIn("write_prometheus serves http://127.0.0.1:", out)
        # The demo's simulator has 8 queues (demo.sh: --queues 8).
        lines = re.findall(r"^\d\d:\d\d:\d\d waiting=(\d+) in (\d+)/(\d+) queues  "
                           r"longest_wait=(\d+)s  agents_idle=(\d+)  "
                           r"edges_online=(\d+)/(\d+)  trunks_connected=(\d+)/(\d+)  "
                           r"api_up: analytics=1 flowmetrics=1 platform=1 realtime=1$",
                           out, re.M)
        self.assertTrue(lines, out[-2000:])
        for waiting, busy, queues, longest, idle, edges_on, edges, trunks_on, trunks in lines:
            self.assertEqual(queues, "8")
            # the simulator's default org: 3 edges, 4 trunks
            self.assertEqual((edges, trunks), ("3", "4"))
            self.assertLessEqual(int(edges_on), 3)
            self.assertLessEqual(int(trunks_on), 4)
            self.assertLessEqual(int(busy), 8)
            self.assertEqual(int(waiting) == 0, int(busy) == 0)
        # Everything it started has stopped: nothing listens there any more.
        import socket
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", int(port.group(1))), timeout=2).close()


if __name__ == "__main__":
    run_tests(__name__)
