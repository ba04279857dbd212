# SPDX-License-Identifier: MIT
"""End to end: Debian's collectd loads each built plugin, runs it, and
refuses a bad configuration with a message that names the key, while the
rest of collectd keeps running."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import PLUGINS, Collectd, run_tests  # noqa: E402

SECRET = "e2e-secret-value-0451"


def org_block(name, extra=""):
    # Port 9 (discard) on loopback: nothing listens, the token request fails
    # fast, so api_up must be 0 and the plugin must keep running.
    return (
        f'  <Org "{name}">\n'
        '    ApiBaseURL "http://127.0.0.1:9"\n'
        '    LoginBaseURL "http://127.0.0.1:9"\n'
        '    ClientId "e2e-client"\n'
        f'    ClientSecret "{SECRET}"\n'
        "    MaxRetries 0\n"
        "    Timeout 2\n"
        f"{extra}"
        "  </Org>\n"
    )


class LoadTest(unittest.TestCase):
    def setUp(self):
        self.cd = None

    def tearDown(self):
        if self.cd is not None:
            self.cd.cleanup()

    def test_each_plugin_loads_and_reads(self):
        for plugin in PLUGINS:
            with self.subTest(plugin=plugin):
                # genesys_platform's status page: on loopback too, never
                # the real one from a test
                extra = '    Host "acme"\n' + (
                    '    StatusPageURL "http://127.0.0.1:9/api/v2/components.json"\n'
                    if plugin == "genesys_platform" else "")
                cd = Collectd(
                    f"LoadPlugin {plugin}\n<Plugin {plugin}>\n"
                    + org_block("acme", extra)
                    + "</Plugin>\n"
                )
                try:
                    status = cd.run_until(
                        lambda: cd.csv_values(f"{plugin}-self", "token_failures")
                    )
                    log = cd.log_text()
                    self.assertEqual(status, 0, log)
                    self.assertIn(f'plugin "{plugin}" successfully loaded', log)
                    up = cd.csv_values(f"{plugin}-self", "api_up")
                    self.assertTrue(up, "no api_up value was written:\n" + log)
                    self.assertEqual(up[-1][1], 0.0)
                    failures = cd.csv_values(f"{plugin}-self", "token_failures")
                    self.assertEqual(failures[-1][1], 1.0)
                    self.assertIn(
                        f'{plugin} plugin: Org "acme": cannot get an access token',
                        log,
                    )
                    self.assertNotIn(SECRET, log)
                    # Host "acme" is the org's identity in every value.
                    self.assertTrue(os.path.isdir(os.path.join(cd.csv, "acme")))
                finally:
                    cd.cleanup()

    def test_bad_config_names_key_and_others_keep_running(self):
        self.cd = Collectd(
            "LoadPlugin genesys_realtime\n<Plugin genesys_realtime>\n"
            + org_block("good")
            + org_block("bad", '    Timeot 5\n    Region "mars_north_1"\n')
            + org_block("good", '    Host "other"\n')
            + org_block("same-host")
            + "</Plugin>\n"
        )
        status = self.cd.run_until(
            lambda: self.cd.csv_values("genesys_realtime-self", "api_up")
        )
        log = self.cd.log_text()
        self.assertEqual(status, 0, log)
        self.assertIn('genesys_realtime plugin: Org "bad": unknown option "Timeot"', log)
        self.assertIn(
            'genesys_realtime plugin: Org "bad": Region "mars_north_1": unknown region',
            log,
        )
        self.assertIn('Org "bad": 2 error(s) in the block; it is ignored', log)
        self.assertIn('Org "good" is configured twice', log)
        self.assertIn(
            'Org "same-host": Host "', log
        )
        self.assertIn('is already the host of Org "good"', log)
        # The good org still runs in the same daemon.
        self.assertTrue(self.cd.csv_values("genesys_realtime-self", "api_up"), log)
        self.assertNotIn(SECRET, log)

    def test_secret_file_permissions_checked(self):
        import tempfile

        fd, path = tempfile.mkstemp()
        os.write(fd, SECRET.encode() + b"\n")
        os.close(fd)
        try:
            os.chmod(path, 0o644)
            block = org_block("acme").replace(
                f'    ClientSecret "{SECRET}"\n', f'    ClientSecretFile "{path}"\n'
            )
            self.cd = Collectd(
                "LoadPlugin genesys_analytics\n<Plugin genesys_analytics>\n"
                + block
                + "</Plugin>\n"
            )
            # Nothing will ever be dispatched: give the daemon two intervals.
            self.cd.run_until(lambda: False, timeout=2.5)
            log = self.cd.log_text()
            self.assertIn(f'ClientSecretFile "{path}": permissions 0644', log)
            self.assertFalse(self.cd.csv_values("genesys_analytics-self", "api_up"))
        finally:
            os.unlink(path)

    def test_only_module_register_is_exported(self):
        from collectd_harness import BUILD

        for plugin in PLUGINS:
            so = os.path.join(BUILD, ".libs", plugin + ".so")
            out = subprocess.run(
                ["nm", "-D", "--defined-only", so], capture_output=True, text=True
            ).stdout
            exported = sorted(
                line.split()[-1] for line in out.splitlines() if " T " in line
            )
            self.assertEqual(exported, ["module_register"], plugin)


if __name__ == "__main__":
    run_tests(__name__)
