# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime in the real collectd against the simulator
over TLS, with enough queues for several channels. Per queue and media type
the gauges equal the simulator's ground truth once the model is paused and
the last changes have settled; the API calls are the minimum; faults are
recovered from."""
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, compare_with_truth, requests  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = int(os.environ.get("GEN_E2E_QUEUES", "1200"))


class RealtimeTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(
            "--queues", str(QUEUES), "--agents", str(QUEUES * 5), "--flows", "2",
            # Speed 1 from now: simulated time is wall time, so the
            # plugin's growing longest-wait can be checked against truth.
            "--speed", "1", "--start", "now", "--heartbeat", "2",
        )
        channels = math.ceil(QUEUES / 1000)
        # Every gauge is dispatched again each interval; 5 s keeps that
        # load (24,000 values at 1,200 queues) off the changes being timed.
        cls.start_collectd(
            "    HeartbeatTimeout 8\n", interval=5, timeout=180,
            ready=lambda: cls.has_baselined(channels, QUEUES))

    def test_1_gauges_equal_truth_and_api_economy(self):
        compare_with_truth(self, self.sim, self.rx, QUEUES, drained=True)
        stats = self.sim.stats()
        channels = math.ceil(QUEUES / 1000)
        self.assertEqual(stats["channels_alive"], channels)
        self.assertEqual(stats["sockets_open"], channels)
        self.assertEqual(requests(stats, "POST /api/v2/analytics/queues/observations/query"),
                         math.ceil(QUEUES / 100))
        # The listing at 500 per page, the largest page the API gives.
        self.assertEqual(requests(stats, "GET /api/v2/routing/queues"),
                         math.ceil(QUEUES / 500))
        self.assertEqual(requests(stats, "POST /api/v2/notifications/channels"), channels)
        self.assertEqual(
            requests(stats, "PUT /api/v2/notifications/channels/{channelId}/subscriptions"),
            channels)
        self.assertEqual(stats["tokens_issued"], 1)
        # Steady state: no REST call at all while events flow.
        before = stats["requests_total"]
        messages = self.rx.get(PLUGIN, "self", "notify_messages")
        time.sleep(6)
        self.assertEqual(self.sim.stats()["requests_total"], before)
        self.assertGreater(self.rx.get(PLUGIN, "self", "notify_messages"), messages)

    def _in_forms(self, **forms):
        """Switches the simulator to other answer forms, has it send every
        group again in them, and compares every value with the truth."""
        answer = self.sim.forms(dict(forms, republish=True))
        self.assertGreater(answer.get("republished_groups", 0), QUEUES)
        for name, value in forms.items():
            self.assertEqual(self.sim.forms()["forms"][name], value)
        compare_with_truth(self, self.sim, self.rx, QUEUES, drained=True)

    def test_2_older_forms(self):
        # Longest as a duration, presences by system name, one unqualified
        # on-queue total alongside the per-status entries, no aggregate-only
        # messages: the values are the same.
        self._in_forms(longest_form="duration", presence_qualifier="system",
                       onqueue_form="both", obs_aggregates="off")

    def test_3_on_queue_total_only(self):
        self._in_forms(longest_form="epoch", presence_qualifier="id",
                       onqueue_form="total", obs_aggregates="on")


    def test_99_no_error_in_the_log(self):
        """No ERROR line the plugin caused (assert_no_error_lines)."""
        self.assert_no_error_lines()

if __name__ == "__main__":
    run_tests(__name__)
