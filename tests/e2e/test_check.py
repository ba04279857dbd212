# SPDX-License-Identifier: MIT
"""End to end: collectd-genesys-check against the simulator.

A collectd configuration that Includes a snippet with one <Org> block per
plugin: every family OK (exit 0); a wrong secret (credentials); a withheld
permission (that family names it, the others OK); an unreachable API
(region or URL); a CA that does not sign the server's certificate (TLS);
all exit 1. A syntax error and a refused <Org> block (the key named) exit
2."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import BUILD, run_tests, write_secret  # noqa: E402
from sim_harness import Simulator  # noqa: E402

CHECK = os.path.join(BUILD, "collectd-genesys-check")
PLUGINS = ("genesys_realtime", "genesys_analytics", "genesys_flowmetrics",
           "genesys_platform")
FAMILIES = {"genesys_realtime": ("token", "queue list", "live queue values",
                                 "presence names"),
            "genesys_analytics": ("token", "queue list", "queue aggregates"),
            "genesys_flowmetrics": ("token", "flow list", "flow outcome names",
                                    "flow milestone names", "flow aggregates",
                                    "active flows", "metric attributes from queues"),
            "genesys_platform": ("token", "edges", "trunks", "status page")}


class CheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "2", "--agents", "4", "--flows", "2",
                            "--warmup", "0")
        cls.tmp = tempfile.mkdtemp(prefix="gen-check-")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def config(self, name, secret=None, url=None, ca=None, org_extra=""):
        """collectd.conf Including conf.d/genesys.conf; returns its path.
        org_extra: keys of every <Org> block, or {plugin: its own keys}."""
        secret_file = write_secret(os.path.join(self.tmp, name + ".secret"),
                                   secret or self.sim.info["client_secret"])
        confd = os.path.join(self.tmp, name + ".d")
        os.makedirs(confd, exist_ok=True)
        blocks = []
        for plugin in PLUGINS:
            status = (f'    StatusPageURL "{self.sim.base_url}/sim/status/api/v2/'
                      'components.json"\n' if plugin == "genesys_platform" else "")
            extra = org_extra.get(plugin, "") if isinstance(org_extra, dict) \
                else org_extra
            org = self.sim.org_block("acme", extra='    Host "acme"  # a comment\n'
                                     + status + extra)
            org = org.replace(f'    ClientSecret "{self.sim.info["client_secret"]}"\n',
                              f'    ClientSecretFile "{secret_file}"\n')
            if url:
                org = org.replace(self.sim.base_url, url)
            if ca:
                org = org.replace(f'CACert "{self.sim.ca}"', f'CACert "{ca}"')
            blocks.append(f"LoadPlugin {plugin}\n<Plugin {plugin}>\n{org}</Plugin>\n")
        with open(os.path.join(confd, "genesys.conf"), "w") as f:
            f.write("\n".join(blocks))
        main = os.path.join(self.tmp, name + ".conf")
        with open(main, "w") as f:
            f.write('Interval 10\nLoadPlugin logfile\n<Plugin logfile>\n'
                    '  LogLevel "info"\n</Plugin>\n'
                    f'Include "{confd}/*.conf"\n')
        return main

    def run_check(self, path):
        r = subprocess.run([CHECK, path], capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout, r.stderr

    def test_all_ok(self):
        code, out, err = self.run_check(self.config("ok"))
        self.assertEqual(code, 0, out + err)
        for plugin, families in FAMILIES.items():
            for family in families:
                self.assertIn(f'{plugin} Org "acme": {family}: OK\n', out)
        self.assertEqual(out.count("\n"), sum(len(f) for f in FAMILIES.values()))

    def test_wrong_secret(self):
        code, out, err = self.run_check(self.config("secret", secret="not-the-secret"))
        self.assertEqual(code, 1, out + err)
        self.assertEqual(out.count(": token: credentials:"), len(PLUGINS), out)
        self.assertNotIn(": OK", out)

    def test_missing_permission(self):
        self.sim.fault({"fault": "deny_permission",
                        "permission": "analytics:conversationAggregate:view"})
        try:
            code, out, err = self.run_check(self.config("perm"))
        finally:
            self.sim.fault({"fault": "allow_permission",
                            "permission": "analytics:conversationAggregate:view"})
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_analytics Org "acme": queue aggregates: permission: the '
                      "client's role lacks analytics:conversationAggregate:view\n", out)
        self.assertIn('genesys_analytics Org "acme": queue list: OK\n', out)
        self.assertIn('genesys_flowmetrics Org "acme": flow aggregates: OK\n', out)

    def test_optional_families(self):
        """AgentStatus and GroupBy wrapUpCode add their families; the
        plugin keys are read from the block as the plugin would."""
        self.sim.fault({"fault": "deny_permission",
                        "permission": "analytics:userAggregate:view"})
        try:
            code, out, err = self.run_check(self.config(
                "optional", org_extra={
                    "genesys_analytics": '    AgentStatus true\n    GroupBy "wrapUpCode"\n',
                    "genesys_flowmetrics": "    ActiveFlows false\n"}))
        finally:
            self.sim.fault({"fault": "allow_permission",
                            "permission": "analytics:userAggregate:view"})
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_analytics Org "acme": agent status: permission: the '
                      "client's role lacks analytics:userAggregate:view\n", out)
        self.assertIn('genesys_analytics Org "acme": wrap-up code names: OK\n', out)
        self.assertNotIn("active flows", out)

    def test_estimated_wait_time(self):
        """EstimatedWaitTime of genesys_realtime adds its family: the first
        queue's voice estimate (routing:queue:view)."""
        code, out, err = self.run_check(self.config(
            "ewt", org_extra={"genesys_realtime": "    EstimatedWaitTime true\n"}))
        self.assertEqual(code, 0, out + err)
        self.assertIn('genesys_realtime Org "acme": estimated wait time: OK\n', out)
        self.assertEqual(out.count("estimated wait time"), 1, out)
        stats = self.sim.stats()["requests"]
        self.assertGreater(stats.get("GET /api/v2/routing/queues/{queueId}/mediatypes/"
                                     "{mediaType}/estimatedwaittime", {}).get("total", 0), 0)

    def test_agent_states_by_group(self):
        """AgentStatesByDivision, AgentStatesByTeam and
        AgentStatesByManagementUnit of genesys_realtime add their families:
        the counts (analytics:agentState:view) and, for teams, the team list
        (groups:team:view); a refused one named."""
        code, out, err = self.run_check(self.config(
            "groups", org_extra={"genesys_realtime": "    AgentStatesByDivision true\n"}))
        self.assertEqual(code, 0, out + err)
        self.assertIn('genesys_realtime Org "acme": agent states by group: OK\n', out)
        self.assertNotIn("team list", out)
        self.sim.fault({"fault": "deny_permission", "permission": "groups:team:view"})
        try:
            code, out, err = self.run_check(self.config(
                "teams", org_extra={"genesys_realtime": "    AgentStatesByTeam true\n"}))
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": "groups:team:view"})
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_realtime Org "acme": agent states by group: OK\n', out)
        self.assertIn('genesys_realtime Org "acme": team list: permission: the '
                      "client's role lacks groups:team:view\n", out)
        # AgentStatesByManagementUnit alone: the counts are probed too
        code, out, err = self.run_check(self.config(
            "units", org_extra={"genesys_realtime": "    AgentStatesByManagementUnit true\n"}))
        self.assertEqual(code, 0, out + err)
        self.assertIn('genesys_realtime Org "acme": agent states by group: OK\n', out)
        self.assertNotIn("team list", out)

    def test_campaigns(self):
        """Campaigns of genesys_realtime adds its family: the campaign list
        (outbound:campaign:view); a refusal named; off, not probed."""
        code, out, err = self.run_check(self.config("campaigns-off"))
        self.assertNotIn("outbound campaigns", out)
        self.sim.fault({"fault": "deny_permission", "permission": "outbound:campaign:view"})
        try:
            code, out, err = self.run_check(self.config(
                "campaigns", org_extra={"genesys_realtime": "    Campaigns true\n"}))
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": "outbound:campaign:view"})
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_realtime Org "acme": outbound campaigns: permission: the '
                      "client's role lacks outbound:campaign:view\n", out)
        code, out, err = self.run_check(self.config(
            "campaigns-ok", org_extra={"genesys_realtime": "    Campaigns true\n"}))
        self.assertEqual(code, 0, out + err)
        self.assertIn('genesys_realtime Org "acme": outbound campaigns: OK\n', out)

    def test_adherence(self):
        """Adherence of genesys_realtime adds its family: the first
        management unit's agents (wfm:realtimeAdherence:view); refused,
        named."""
        cfg = {"genesys_realtime": "    Adherence true\n"}
        code, out, err = self.run_check(self.config("adherence", org_extra=cfg))
        self.assertEqual(code, 0, out + err)
        self.assertIn('genesys_realtime Org "acme": real-time adherence: OK\n', out)
        perm = "wfm:realtimeAdherence:view"
        self.sim.fault({"fault": "deny_permission", "permission": perm})
        try:
            code, out, err = self.run_check(self.config("adherence2", org_extra=cfg))
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": perm})
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_realtime Org "acme": real-time adherence: permission: the '
                      f"client's role lacks {perm}\n", out)

    def test_platform_families(self):
        """genesys_platform's families as its keys turn them on; a refused
        telephony permission names it; the status page needs none."""
        self.sim.fault({"fault": "deny_permission", "permission": "telephony:plugin:all"})
        try:
            code, out, err = self.run_check(self.config("platform", org_extra={"genesys_platform": "    Trunks false\n"}))
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": "telephony:plugin:all"})
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_platform Org "acme": edges: permission: the '
                      "client's role lacks telephony:plugin:all\n", out)
        self.assertIn('genesys_platform Org "acme": status page: OK\n', out)
        self.assertNotIn('genesys_platform Org "acme": trunks', out)

    def test_history_families_of_their_own(self):
        """The aggregates families that each need their own permission are
        asked as the plugins ask them (their groupBy, no filter for the
        org-wide bots and rate limits): each OK, and a refused one names
        its permission."""
        perm = "analytics:speechAndTextAnalyticsAggregates:view"
        self.sim.fault({"fault": "deny_permission", "permission": perm})
        try:
            code, out, err = self.run_check(self.config("history", org_extra={
                "genesys_analytics": "    ResolutionAggregates true\n"
                "    SpeechAnalytics true\n    WorkitemAggregates true\n",
                "genesys_flowmetrics": "    BotAggregates true\n    FlowExits true\n",
                "genesys_platform": "    RateLimitAggregates true\n"}))
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": perm})
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_analytics Org "acme": speech and text analytics: permission: '
                      f"the client's role lacks {perm}\n", out)
        for plugin, family in (("genesys_analytics", "resolution aggregates"),
                               ("genesys_analytics", "workitem aggregates"),
                               ("genesys_flowmetrics", "bot aggregates"),
                               ("genesys_flowmetrics", "flow exits"),
                               ("genesys_platform", "rate-limit aggregates")):
            self.assertIn(f'{plugin} Org "acme": {family}: OK\n', out)
        stats = self.sim.stats()["requests"]
        for path in ("resolutions", "transcripts", "taskmanagement", "bots", "ratelimits",
                     "flows"):
            st = stats[f"POST /api/v2/analytics/{path}/aggregates/query"]["by_status"]
            self.assertNotIn("400", st, (path, st))

    def test_plugin_keys_read_by_the_plugins_parser(self):
        """A plugin's own key is read by that plugin's parser, as the daemon
        reads it: a value it refuses refuses the block (exit 2, the key
        named), where the check once took any plugin key unread."""
        code, out, err = self.run_check(self.config(
            "badkey", org_extra={"genesys_realtime": '    EstimatedWaitTime "often"\n'}))
        self.assertEqual(code, 2, out + err)
        self.assertIn('genesys_realtime plugin: Org "acme": EstimatedWaitTime', err)
        self.assertNotIn('genesys_realtime Org "acme": token', out)
        self.assertIn('genesys_analytics Org "acme": token: OK', out)

    def test_unreachable_api(self):
        code, out, err = self.run_check(self.config(
            "url", url="https://127.0.0.1:9", org_extra="    MaxRetries 0\n"))
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_realtime Org "acme": token: region or URL', out)

    def test_tls_not_verified(self):
        other = "/etc/ssl/certs/ca-certificates.crt"
        code, out, err = self.run_check(self.config("tls", ca=other))
        self.assertEqual(code, 1, out + err)
        self.assertIn('genesys_flowmetrics Org "acme": token: TLS', out)

    def test_unreadable_configs(self):
        bad = os.path.join(self.tmp, "syntax.conf")
        with open(bad, "w") as f:
            f.write('<Plugin genesys_realtime>\n  <Org "acme">\n    Region "x\n')
        code, out, err = self.run_check(bad)
        self.assertEqual(code, 2)
        self.assertIn("syntax.conf:3: a string without its closing quote", err)
        refused = os.path.join(self.tmp, "refused.conf")
        with open(refused, "w") as f:
            f.write('<Plugin genesys_analytics>\n  <Org "acme">\n'
                    '    Region "us_east_1"\n    ClientSecret "s3cr3t-value"\n'
                    "  </Org>\n</Plugin>\n")
        code, out, err = self.run_check(refused)
        self.assertEqual(code, 2, out + err)
        self.assertIn("ClientId", err)
        self.assertNotIn("s3cr3t-value", out + err)
        code, out, err = self.run_check(os.path.join(self.tmp, "missing.conf"))
        self.assertEqual(code, 2)
        self.assertIn("No such file or directory", err)

    def test_deep_nesting_refused(self):
        """20,000 nested blocks (which collectd -t accepts) are refused with
        a clear error and exit status 2; the parser once recursed until the
        stack overflowed (SIGSEGV). 64 levels still parse."""
        for levels, refused in ((20000, True), (64, False)):
            path = os.path.join(self.tmp, f"nested{levels}.conf")
            with open(path, "w") as f:
                f.write("<Plugin genesys_realtime>\n" + "<A>\n" * (levels - 1)
                        + "</A>\n" * (levels - 1) + "</Plugin>\n")
            code, out, err = self.run_check(path)
            if refused:
                self.assertEqual(code, 2, out + err[-500:])
                # <Plugin> and 63 <A> are 64 levels: the next <A>, on line 65.
                self.assertIn(f"nested{levels}.conf:65: blocks nested more than 64 deep",
                              err)
            else:
                # Parsed: what follows is the check's verdict on a plugin
                # block without an <Org>, not a syntax error.
                self.assertEqual(code, 2, err[-500:])
                self.assertIn("no <Org> block of a genesys plugin", err)
                self.assertNotIn(f"nested{levels}.conf:", err)

    def test_only_regular_files_read(self):
        """A FIFO given as the configuration (or a directory, a device):
        refused at once with exit status 2 and the kind named; fopen() of a
        FIFO waited for a writer until the check was killed. The same for
        a FIFO given as a file and through Include (Include passes over
        anything but a regular file, as it did)."""
        fifo = os.path.join(self.tmp, "config.fifo")
        os.mkfifo(fifo)
        for path, kind in ((fifo, "a FIFO"), (self.tmp, "a directory"),
                           ("/dev/null", "a character device")):
            with self.subTest(path=path):
                code, out, err = self.run_check(path)
                self.assertEqual(code, 2, out + err)
                self.assertIn(f"{path}: not a regular file ({kind})", err)
        r = subprocess.run([CHECK, "--replay", "0", "1", "--stdout", fifo],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("not a regular file (a FIFO)", r.stderr)


if __name__ == "__main__":
    run_tests(__name__)
