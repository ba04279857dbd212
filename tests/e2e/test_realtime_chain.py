# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime behind a PostCacheChain that writes its
values to write_http only (a chain that writes to chosen plugins). The
plugins leave the order of values to collectd and hold nothing, so the
values reach the backend and equal the simulator's truth
(collectd-genesys(5), "WRITE THREADS AND THE ORDER OF VALUES")."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import compare_with_truth  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 100


class RealtimeChainTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(
            "--queues", str(QUEUES), "--agents", str(QUEUES * 5), "--flows", "2",
            "--speed", "1", "--start", "now", "--heartbeat", "2",
        )
        # Every value of ours goes to write_http by name, then stops: no
        # other write callback sees it (write_http's Node "test").
        chain = ('LoadPlugin match_regex\nPostCacheChain "Out"\n<Chain "Out">\n'
                 '  <Rule "ours">\n    <Match "regex">\n      Plugin "^genesys_"\n'
                 '    </Match>\n    <Target "write">\n      Plugin "write_http/test"\n'
                 '    </Target>\n    Target "stop"\n  </Rule>\n</Chain>\n')
        cls.start_collectd(
            interval=5, extra=chain, stock=("logfile", "write_http", "match_regex"),
            timeout=120, ready=lambda: cls.has_baselined(1, QUEUES))

    def test_1_values_equal_truth_behind_the_chain(self):
        compare_with_truth(self, self.sim, self.rx, QUEUES, drained=True)

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


if __name__ == "__main__":
    run_tests(__name__)
