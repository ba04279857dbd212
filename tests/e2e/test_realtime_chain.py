# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime behind a PostCacheChain that writes its
values to write_http only (a chain that writes to chosen plugins). The
plugins leave the order of values to collectd and hold nothing, so the
values reach the backend and equal the simulator's truth
(collectd-genesys(5), "WRITE THREADS AND THE ORDER OF VALUES")."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests  # noqa: E402
from realtime_truth import PLUGIN, compare_with_truth, wait_for  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 100


class RealtimeChainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(
            "--queues", str(QUEUES), "--agents", str(QUEUES * 5), "--flows", "2",
            "--speed", "1", "--start", "now", "--heartbeat", "2",
        )
        cls.rx = Receiver()
        block = cls.sim.org_block("acme", extra='    Host "acme"\n    InstanceFrom "id"\n')
        # Every value of ours goes to write_http by name, then stops: no
        # other write callback sees it (write_http's Node "test").
        chain = ('LoadPlugin match_regex\nPostCacheChain "Out"\n<Chain "Out">\n'
                 '  <Rule "ours">\n    <Match "regex">\n      Plugin "^genesys_"\n'
                 '    </Match>\n    <Target "write">\n      Plugin "write_http/test"\n'
                 '    </Target>\n    Target "stop"\n  </Rule>\n</Chain>\n')
        cls.cd = Collectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 5\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + cls.rx.config() + chain,
            stock=("logfile", "write_http", "match_regex"),
        )
        cls.cd.start()
        ok = wait_for(
            lambda: (cls.rx.get(PLUGIN, "self", "notify_baselines") or 0) >= 1
            and cls.rx.get(PLUGIN, "self", "queues") == QUEUES,
            timeout=120,
        )
        if not ok:
            raise AssertionError("the plugin did not baseline:\n" + cls.cd.log_text()[-3000:])

    @classmethod
    def tearDownClass(cls):
        cls.cd.cleanup()
        cls.rx.stop()
        cls.sim.stop()

    def test_1_values_equal_truth_behind_the_chain(self):
        compare_with_truth(self, self.sim, self.rx, QUEUES, drained=True)

    def test_99_no_error_in_the_log(self):
        bad = self.cd.bad_log_lines(allow=())
        self.assertEqual(bad, [], f"{len(bad)} ERROR lines, first: {bad[:5]}")


if __name__ == "__main__":
    run_tests(__name__)
