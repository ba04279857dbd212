# SPDX-License-Identifier: MIT
"""End to end: MaxSeries, a series budget per plugin and org, in the real
daemon. genesys_realtime with MaxSeries 20 on an org of 3 queues (which
makes far more: five gauges per media type, the agents by state, routing
status and presence, the conversation counters): collectd's cache holds
exactly 20 series of the plugin besides its self-metrics, the self-metrics
say 20 held and a growing count of values refused, and the log says so in
one ERROR line naming the first series refused, however many reads
pass."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

BUDGET = 20


class SeriesBudgetTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "3", "--agents", "12", "--speed", "1",
                            "--start", "now")
        cls.start_collectd(keys=f"    MaxSeries {BUDGET}\n",
                           stock=("logfile", "csv", "write_http", "unixsock"))

    def held(self):
        """The plugin's series in collectd's cache, self-metrics apart."""
        return [i for i in self.cd.listval()
                if f"/{PLUGIN}-" in i and f"/{PLUGIN}-self/" not in i]

    def test_budget_holds_and_says_so_once(self):
        refused = lambda: self.rx.get(PLUGIN, "self", "series_refused") or 0  # noqa: E731
        # two reads' self-metrics that count refusals, the second higher
        self.assertTrue(wait_for(lambda: refused() > 0, 30, 0.2), self.cd.log_text()[-2000:])
        first = refused()
        self.assertTrue(wait_for(lambda: refused() > first, 30, 0.2))
        self.assertEqual(BUDGET, len(self.held()), self.held())
        self.assertEqual(BUDGET, self.rx.get(PLUGIN, "self", "series"))
        lines = [ln for ln in self.cd.log_text().splitlines() if "MaxSeries" in ln]
        self.assertEqual(1, len(lines), lines)
        self.assertIn(f"MaxSeries {BUDGET} reached", lines[0])
        self.assertIn("[error]", lines[0].lower())


if __name__ == "__main__":
    run_tests(__name__)
