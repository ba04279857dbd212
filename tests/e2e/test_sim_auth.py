# SPDX-License-Identifier: MIT
"""End to end: the real collectd with the four plugins authenticates to the
simulator over TLS (its generated CA), keeps one cached token per org and
plugin, refreshes it ahead of expiry without a gap, reports bad credentials
with the platform's error, and never logs a secret or a token."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import PLUGINS, Collectd, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402


def plugin_blocks(sim, extra_orgs=""):
    return "".join(
        f"LoadPlugin {p}\n<Plugin {p}>\n"
        + sim.org_block("acme", extra='    Host "acme"\n' + (
            f'    StatusPageURL "{sim.base_url}/sim/status/api/v2/components.json"\n'
            if p == "genesys_platform" else ""))
        + extra_orgs
        + "</Plugin>\n"
        for p in PLUGINS
    )


class SimAuthTest(unittest.TestCase):
    def setUp(self):
        self.sim = None
        self.cd = None

    def tearDown(self):
        if self.cd:
            self.cd.cleanup()
        if self.sim:
            self.sim.stop()

    def test_token_cached_over_tls(self):
        self.sim = Simulator("--queues", "3", "--agents", "10", "--flows", "2")
        self.cd = Collectd(plugin_blocks(self.sim))

        def five_reads_each():
            return all(
                len(self.cd.csv_values(f"{p}-self", "api_up")) >= 5 for p in PLUGINS
            )

        self.assertEqual(self.cd.run_until(five_reads_each), 0)
        log = self.cd.log_text()
        for p in PLUGINS:
            up = [v for _, v in self.cd.csv_values(f"{p}-self", "api_up")]
            self.assertGreaterEqual(len(up), 5, log)
            self.assertTrue(all(v == 1.0 for v in up), (p, up, log))
            refreshes = self.cd.csv_values(f"{p}-self", "token_refreshes")
            self.assertEqual(refreshes[-1][1], 1.0, p)
        # One token per client in the process whatever the number of reads
        # (the simulator's own count is the ground truth): genesys_analytics',
        # genesys_platform's and the notification hub's that realtime and
        # flowmetrics share.
        self.assertEqual(self.sim.stats()["tokens_issued"], 3)
        self.assertNotIn(self.sim.info["client_secret"], log)

    def test_refresh_ahead_without_gap(self):
        # A 6 s token: refreshed 3 s before it ends (half its life, as the
        # 60 s minimum margin is longer than that).
        self.sim = Simulator("--queues", "2", "--agents", "4", "--token-ttl", "6")
        self.cd = Collectd(
            "LoadPlugin genesys_analytics\n<Plugin genesys_analytics>\n"
            + self.sim.org_block("acme")
            + "</Plugin>\n"
        )

        def three_tokens():
            rows = self.cd.csv_values("genesys_analytics-self", "token_refreshes")
            return rows and rows[-1][1] >= 3

        self.assertEqual(self.cd.run_until(three_tokens, timeout=90), 0)
        up = [v for _, v in self.cd.csv_values("genesys_analytics-self", "api_up")]
        self.assertTrue(three_tokens(), self.cd.log_text())
        self.assertTrue(all(v == 1.0 for v in up), up)
        self.assertGreaterEqual(self.sim.stats()["tokens_issued"], 3)

    def test_bad_credentials_reported(self):
        self.sim = Simulator("--queues", "2", "--agents", "4")
        wrong = "not-the-secret-9876"
        self.cd = Collectd(
            "LoadPlugin genesys_flowmetrics\n<Plugin genesys_flowmetrics>\n"
            + self.sim.org_block("acme", extra='    Host "acme"\n')
            + self.sim.org_block("wrong", secret=wrong, extra='    Host "wrong"\n')
            + "</Plugin>\n"
        )

        def both_reported():
            # Each org is its own host: csv/<host>/<plugin>-self/.
            return (
                self.cd.csv_values("genesys_flowmetrics-self", "api_up", host="acme")
                and self.cd.csv_values("genesys_flowmetrics-self", "api_up", host="wrong")
                and "invalid_client" in self.cd.log_text()
            )

        self.assertEqual(self.cd.run_until(both_reported), 0)
        log = self.cd.log_text()
        self.assertIn(
            'genesys_flowmetrics plugin: Org "wrong": cannot get an access token',
            log,
        )
        self.assertIn("HTTP 401 invalid_client: client authentication failed", log)
        up = self.cd.csv_values("genesys_flowmetrics-self", "api_up", host="acme")
        self.assertTrue(all(v == 1.0 for _, v in up), up)
        down = self.cd.csv_values("genesys_flowmetrics-self", "api_up", host="wrong")
        self.assertTrue(all(v == 0.0 for _, v in down), down)
        self.assertNotIn(wrong, log)
        self.assertNotIn(self.sim.info["client_secret"], log)
        self.assertGreaterEqual(self.sim.stats()["token_failures"], 1)


if __name__ == "__main__":
    run_tests(__name__)
