# SPDX-License-Identifier: MIT
"""End to end: a family refused an OAuth permission while the others run.

The simulator answers 403 missing.permissions, as Genesys does, where the
client's role lacks a permission. genesys_analytics with AgentStatus, its
role without analytics:userAggregate:view: the queue aggregates are
dispatched, one warning names the agent status family and the permission,
and no error repeats. genesys_flowmetrics without
architect:flowOutcome:view: its flow list, topics and aggregates run, the
outcome names are missing (ids stand in), one warning names the
permission."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402


class PermissionsTest(unittest.TestCase):
    def run_plugin(self, plugin, denied, extra, done_type):
        sim = Simulator("--queues", "2", "--agents", "6", "--flows", "2",
                        "--start", "now", "--warmup", "900",
                        "--deny-permission", denied)
        cd = None
        try:
            block = sim.org_block("acme", extra='    Host "acme"\n'
                                  '    Granularity "PT1M"\n    SettleDelay 5\n'
                                  "    InitialBackfill 600\n" + extra)
            cd = Collectd(f"<LoadPlugin {plugin}>\n  Interval 1\n</LoadPlugin>\n"
                          f"<Plugin {plugin}>\n{block}</Plugin>\n")

            def done():
                return cd.csv_values(f"{plugin}-*", done_type) and \
                    "needs the OAuth permission" in cd.log_text()
            status = cd.run_until(done, timeout=60)
            self.assertEqual(status, 0)
            self.assertTrue(done(), cd.log_text()[-3000:])
            return cd.log_text(), sim.stats()
        finally:
            if cd is not None:
                cd.cleanup()
            sim.stop()

    def test_analytics_without_user_aggregates(self):
        log, stats = self.run_plugin(
            "genesys_analytics", "analytics:userAggregate:view",
            "    AgentStatus true\n", "total_offered")
        warnings = re.findall(r"\[warning\] genesys_analytics plugin: Org \"acme\": "
                              r"agent status: needs the OAuth permission "
                              r"analytics:userAggregate:view .*still running: "
                              r"queue aggregates", log)
        self.assertEqual(len(warnings), 1, log[-3000:])
        self.assertNotIn("users aggregates query for", log)
        self.assertGreater(stats["permission_refusals"], 0)

    def test_flowmetrics_without_outcome_names(self):
        log, stats = self.run_plugin(
            "genesys_flowmetrics", "architect:flowOutcome:view", "",
            "total_duration_count")
        warnings = re.findall(r"\[warning\] genesys_flowmetrics plugin: Org \"acme\": "
                              r"flow outcome names: needs the OAuth permission "
                              r"architect:flowOutcome:view .*still running: every value",
                              log)
        self.assertEqual(len(warnings), 1, log[-3000:])
        self.assertNotIn("cannot list flow outcomes", log)
        self.assertRegex(log, r'\[info\] genesys_flowmetrics plugin: Org "acme": 2 flows '
                         r"\(0 outcomes, \d+ milestones named\)")


if __name__ == "__main__":
    run_tests(__name__)
