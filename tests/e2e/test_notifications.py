# SPDX-License-Identifier: MIT
"""End to end: the collectd notifications of the changes an operator acts
on (collectd-genesys(5), NOTIFICATIONS), received by the stock exec
plugin's NotificationExec from Debian's collectd, compared with the truth
both ways: every change the simulator makes gives exactly one notification
of the right severity and fields, and nothing else arrives.

genesys_platform: the simulator's clock is paused and stepped one platform
slot at a time; in each slot at least two whole polls read it (the status
page, fetched last in a read, is counted by /sim/stats), so every slot is
seen and its truth (/sim/truth/platform) is known exactly. Expected per
subject: an edge offline (FAILURE) and online again (OKAY), a trunk
disconnected and connected, a status page component's level (0 OKAY, 1-2
WARNING, 3-4 FAILURE) at each change, the first slot's bad states as
changes (a good state first seen is none). Then, the states held: two
malformed edge metrics answers (WARNING, then OKAY), the telephony
permission denied and granted again (FAILURE and OKAY for the edges and
the trunks listings), and the tokens revoked while the login fails (api_up
FAILURE, then OKAY once a token is had again).

genesys_realtime: the channel's socket dropped without a close frame and
closed with 1011 (each: the channel lost, FAILURE, and resumed, OKAY),
and the service's planned close (socket_closing), which is no loss.

genesys_analytics: the first queue aggregates answer is not JSON (a
WARNING for the family's malformed answers), the next ones are read
(OKAY, once)."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests, sim_ms  # noqa: E402
from notif_receiver import NotificationFile  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from test_platform import OWN_GROUP, sanitize  # noqa: E402

SLOT_S = 2
STEPS = 6
# Every change is compared here, so the limits of NotificationWindow and
# NotificationsPerMinute are off (a component changes several times a
# minute); test_notice's flapping_bounded tests the limits.
UNLIMITED = "    NotificationWindow 0\n    NotificationsPerMinute 0\n"
STATUS_PAGE = "GET /sim/status/api/v2/components.json"


def states(truth):
    """{(plugin_instance, type, type_instance): (state, severity when bad)}
    of one slot: 0 good, else the bad state."""
    out = {}
    for eid, e in truth["edges"].items():
        if not e["cloud_media"]:
            out[(eid, "edge_online", "")] = (0 if e["online"] else 1, "FAILURE")
    for tid, t in truth["trunks"].items():
        if t["type"] == "EXTERNAL":
            out[(tid, "trunk_connected", "")] = (0 if t["connected"] else 1, "FAILURE")
    for c in truth["components"]:
        if c["level"] is None or c["group"] not in ("", OWN_GROUP):
            continue
        label = c["group"] + "-" + c["name"] if c["group"] else c["name"]
        out[("status", "status_component", sanitize(label))] = (
            c["level"], "FAILURE" if c["level"] >= 3 else "WARNING")
    return out


def expected_changes(slots):
    """{subject: [severity, …]} over consecutive slots' truths."""
    last, out = {}, {}
    for truth in slots:
        for subject, (state, severity) in states(truth).items():
            if state != last.get(subject, 0):
                out.setdefault(subject, []).append("OKAY" if state == 0 else severity)
            last[subject] = state
    return out


def received(notifs, plugin):
    out = {}
    for n in notifs:
        if n["Plugin"] == plugin:
            key = (n["PluginInstance"], n["Type"], n["TypeInstance"])
            out.setdefault(key, []).append(n["Severity"])
    return out


class Notifications(unittest.TestCase):
    def setUp(self):
        self.rx = NotificationFile()
        self.sim = self.cd = None

    def tearDown(self):
        if self.cd is not None:
            self.cd.cleanup()
        if self.sim is not None:
            self.sim.stop()
        self.rx.cleanup()

    def polls(self):
        return self.sim.stats()["requests"].get(STATUS_PAGE, {}).get("total", 0)

    def two_polls(self):
        """Waits until two more reads ended: one began and ended after now."""
        start = self.polls()
        self.assertTrue(wait_for(lambda: self.polls() >= start + 2, 30),
                        "no two polls in 30 s")

    def test_platform(self):
        plugin = "genesys_platform"
        self.sim = sim = Simulator(
            "--queues", "1", "--agents", "2", "--start", "now", "--platform-slot",
            str(SLOT_S), "--edges", "5", "--trunks", "4", tls=False)
        sim.fault({"fault": "pause"})
        block = sim.org_block(
            "acme", extra=UNLIMITED + '    Host "acme"\n    InstanceFrom "id"\n'
            '    Region "eu_central_1"\n'
            f'    StatusPageURL "{sim.base_url}/sim/status/api/v2/components.json"\n')
        self.cd = Collectd(f"<LoadPlugin {plugin}>\n  Interval 1\n</LoadPlugin>\n"
                           f"<Plugin {plugin}>\n{block}</Plugin>\n" + self.rx.config(),
                           stock=("logfile", "exec"))
        self.cd.start()
        slots = []
        for step in range(STEPS):
            self.two_polls()
            slots.append(sim._open("/sim/truth/platform"))
            if step == STEPS - 1:
                break
            # on to the next slot, paused again inside it
            nxt = (slots[-1]["slot_start_ms"] + slots[-1]["slot_ms"])
            sim.fault({"fault": "resume"})
            wait_for(lambda: sim_ms(sim) >= nxt + 50, 10, 0.02)
            sim.fault({"fault": "pause"})
            s = sim._open("/sim/truth/platform")["slot_start_ms"]
            self.assertEqual(s, nxt, "stepped past a slot")
        want = expected_changes(slots)
        self.assertTrue(any("OKAY" in v for v in want.values()), want)
        self.assertTrue(any(k[1] == "status_component" for k in want), want)
        got = self.rx.wait(lambda g: received(g, plugin) == want, 10)
        self.assertEqual(received(got, plugin), want)

        # Faults, the platform's states held (the clock paused).
        metrics = "/api/v2/telephony/providers/edges/metrics"
        sim.fault({"fault": "malformed_json", "path": metrics, "count": 2})
        for _ in range(2):
            self.two_polls()
        want[("self", "malformed", "edge_metrics")] = ["WARNING", "OKAY"]
        sim.fault({"fault": "deny_permission", "permission": "telephony:plugin:all"})
        self.two_polls()
        sim.fault({"fault": "allow_permission", "permission": "telephony:plugin:all"})
        self.two_polls()
        for family in ("edges", "trunks"):
            want[("self", "permission", family)] = ["FAILURE", "OKAY"]
        # the next login fails for 3 s; the token's backoff is 5 s
        sim.fault([{"fault": "token_fail", "status": 401, "seconds": 3},
                   {"fault": "revoke_tokens"}])
        want[("self", "api_up", "")] = ["FAILURE", "OKAY"]
        got = self.rx.wait(lambda g: received(g, plugin) == want, 30)
        self.two_polls()
        self.cd.stop()
        got = self.rx.read()
        self.assertEqual(received(got, plugin), want)
        # every notification the org's, naming its subject
        for n in got:
            self.assertEqual((n["Host"], n["Plugin"]), ("acme", plugin), n)
            self.assertTrue(n["message"].startswith('Org "acme": '), n)
        names = {e["name"] for e in slots[0]["edges"].values()}
        edge_notes = [n for n in got if n["Type"] == "edge_online"]
        self.assertTrue(edge_notes and all(any(name in n["message"] for name in names)
                                           for n in edge_notes), edge_notes)
        print("# platform: %d notifications over %d slots and 4 faults"
              % (len(got), STEPS))
        self.assertEqual(self.cd.bad_log_lines(allow=(
            ".*edge_metrics request failed .*malformed JSON.*",
            ".*cannot get an access token from .*HTTP 401 invalid_client.*",
            ".*(edges|trunks|edge_metrics|trunk_metrics) request failed .*no access token.*",
        )), [])

    def test_realtime_channel(self):
        plugin = "genesys_realtime"
        self.sim = sim = Simulator("--queues", "2", "--agents", "4", "--start", "now",
                                   "--heartbeat", "1", tls=False)
        block = sim.org_block("acme", extra=UNLIMITED + '    Host "acme"\n    InstanceFrom "id"\n')
        self.cd = Collectd(f"<LoadPlugin {plugin}>\n  Interval 2\n</LoadPlugin>\n"
                           f"<Plugin {plugin}>\n{block}</Plugin>\n" + self.rx.config(),
                           stock=("logfile", "exec"))
        self.cd.start()

        def sockets(n):
            self.assertTrue(wait_for(lambda: sim.stats()["sockets_total"] >= n
                                     and sim.stats()["sockets_open"] == 1, 30),
                            "no socket %d" % n)
            time.sleep(1)   # subscribed and baselined: resumed said

        sockets(1)
        self.assertEqual(received(self.rx.read(), plugin), {})
        sim.fault({"fault": "drop_sockets"})
        sockets(2)
        sim.fault({"fault": "close_sockets", "code": 1011})
        sockets(3)
        sim.fault({"fault": "socket_closing", "after": 0})
        sockets(4)
        want = {("self", "notification_channel", "0"): ["FAILURE", "OKAY"] * 2}
        got = self.rx.wait(lambda g: received(g, plugin) == want, 10)
        self.cd.stop()
        got = self.rx.read()
        self.assertEqual(received(got, plugin), want)
        for n in got:
            self.assertEqual((n["Host"], n["Plugin"]), ("acme", plugin), n)
            self.assertIn("notification channel 0", n["message"])
        self.assertEqual(self.cd.bad_log_lines(), [])

    def test_analytics_malformed_answers(self):
        plugin = "genesys_analytics"
        self.sim = sim = Simulator("--queues", "2", "--agents", "6", "--start", "now",
                                   "--warmup", "900", tls=False)
        # the first queue aggregates answer (of the backfill) is not JSON
        sim.fault({"fault": "malformed_json", "count": 1,
                   "path": "/api/v2/analytics/conversations/aggregates/query"})
        block = sim.org_block("acme", extra=UNLIMITED + '    Host "acme"\n    Granularity "PT1M"\n'
                              "    SettleDelay 5\n    InitialBackfill 600\n")
        self.cd = Collectd(f"<LoadPlugin {plugin}>\n  Interval 1\n</LoadPlugin>\n"
                           f"<Plugin {plugin}>\n{block}</Plugin>\n" + self.rx.config(),
                           stock=("logfile", "exec"))
        self.cd.start()
        want = {("self", "malformed", "queue_aggregates"): ["WARNING", "OKAY"]}
        self.rx.wait(lambda g: received(g, plugin) == want, 40)
        requests = "POST /api/v2/analytics/conversations/aggregates/query"
        start = sim.stats()["requests"][requests]["total"]
        # one more answer read after the OKAY: no notification of its own
        self.assertTrue(wait_for(lambda: sim.stats()["requests"][requests]["total"]
                                 > start, 90), "no more aggregates queries")
        time.sleep(1)
        self.cd.stop()
        got = self.rx.read()
        self.assertEqual(received(got, plugin), want)
        self.assertIn("queue aggregates: malformed answers: ", got[0]["message"])


if __name__ == "__main__":
    run_tests(__name__)
