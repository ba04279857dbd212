# SPDX-License-Identifier: MIT
"""The Prometheus alerting rules of examples/prometheus/ are valid
(promtool check rules) and do what their unit tests say (promtool test
rules, in both files of tests: each alert fires on the series the plugins
produce and stays quiet just below its threshold)."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import ROOT, run_tests  # noqa: E402

RULES = os.path.join(ROOT, "examples", "prometheus")
# the rules' unit tests: evaluated every minute, and those over days every hour
TESTS = ("genesys-alerts.test.yml", "genesys-alerts-daily.test.yml")


class AlertRulesTest(unittest.TestCase):
    def promtool(self, *args):
        r = subprocess.run(["promtool", *args], cwd=RULES, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_check_rules(self):
        out = self.promtool("check", "rules", "genesys-alerts.yml")
        self.assertIn("SUCCESS: 30 rules found", out)

    def test_unit_tests_of_the_rules(self):
        for tests in TESTS:
            with self.subTest(tests=tests):
                out = self.promtool("test", "rules", tests)
                self.assertIn("SUCCESS", out)

    def test_every_alert_has_a_unit_test(self):
        import re

        with open(os.path.join(RULES, "genesys-alerts.yml")) as f:
            alerts = set(re.findall(r"^\s*- alert: (\w+)", f.read(), re.M))
        tested = set()
        for tests in TESTS:
            with open(os.path.join(RULES, tests)) as f:
                tested |= set(re.findall(r"^\s*alertname: (\w+)", f.read(), re.M))
        self.assertEqual(len(alerts), 30)
        self.assertEqual(sorted(alerts - tested), [])

    def test_example_scrape_config(self):
        self.promtool("check", "config", "--syntax-only", "prometheus.yml")


if __name__ == "__main__":
    run_tests(__name__)
