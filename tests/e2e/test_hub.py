# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime (ConversationEvents, AgentActivity) and
genesys_flowmetrics (flow metrics topics, metric attributes from the queue
conversation topics) loaded together in the real collectd with one OAuth
client, against the simulator over TLS.

SharedHubTest: the two plugins share one notification hub: the channels
created are the fewest the distinct topics need (TopicsPerChannel 20 makes
it several), each topic is subscribed once (the conversation topics both
plugins read too), and after socket drops, socket_closing and channel
expiry (each with the model paused, as Genesys queues nothing for a closed
socket) every value of both plugins equals the simulator's truth: the
realtime queue gauges (but the longest waits, which test_realtime compares
with the simulator at the wall clock's speed) and conversation counters, the flow counters and the
metric-attribute counters. One token serves both.

HubBudgetTest: the two plugins want more topics than 20 channels hold
(TopicsPerChannel 2: 40 topics): the hub logs the limit once, keeps the 20
channels full, evicts nothing (the simulator enforces Genesys's 20 channels
per client by evicting the oldest-used one and counts it) and says what
waits in its self-metrics."""
import math
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests  # noqa: E402
from realtime_truth import compare_with_truth, requests, wait_for  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from test_flowmetrics import api_get, delta  # noqa: E402

RT = "genesys_realtime"
FM = "genesys_flowmetrics"
QUEUES = 8
AGENTS = 40
FLOWS = 3
PER_CHANNEL = 20
RUN_SECONDS = 6  # real seconds per running phase; x speed 20 simulated
COUNTERS = {"offered": "conv_offered", "answered": "conv_answered",
            "abandoned": "conv_abandoned", "transferred": "conv_transferred"}
CH_CREATE = "POST /api/v2/notifications/channels"


def config(sim, rx, per_channel):
    rt = sim.org_block(
        "acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
        "    HeartbeatTimeout 8\n    ConversationEvents true\n"
        f"    AgentActivity true\n    TopicsPerChannel {per_channel}\n")
    fm = sim.org_block(
        "acme", extra='    Host "fm"\n    HeartbeatTimeout 8\n'
        f"    StateSaveInterval 1\n    TopicsPerChannel {per_channel}\n")
    return (f"<LoadPlugin {RT}>\n  Interval 2\n</LoadPlugin>\n"
            f"<Plugin {RT}>\n{rt}</Plugin>\n"
            f"<LoadPlugin {FM}>\n  Interval 1\n</LoadPlugin>\n"
            f"<Plugin {FM}>\n{fm}</Plugin>\n" + rx.config())


class HubCase(unittest.TestCase):
    """A simulator, a receiver and collectd, stopped after the class."""
    @classmethod
    def tearDownClass(cls):
        cls.cd.cleanup()
        cls.rx.stop()
        cls.sim.stop()


class SharedHubTest(HubCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", str(QUEUES), "--agents", str(AGENTS),
                            "--flows", str(FLOWS), "--speed", "20", "--warmup", "0",
                            "--heartbeat", "2")
        cls.sim.fault({"fault": "pause"})
        cls.rx = Receiver()
        cls.cd = Collectd(config(cls.sim, cls.rx, PER_CHANNEL),
                          stock=("logfile", "csv", "write_http"))
        cls.t0 = cls.sim.truth()
        # realtime: observations and conversations per queue, activity per
        # agent; flowmetrics: metrics per flow and the same conversations.
        cls.distinct = 2 * QUEUES + AGENTS + len(cls.t0["flows"])
        cls.channels = math.ceil(cls.distinct / PER_CHANNEL)
        cls.cd.start()
        if not cls.wait_ready(baselines=1):
            raise AssertionError("not streaming: %s\n%s" % (
                cls.sim.stats().get("topics_subscribed"), cls.cd.log_text()[-3000:]))

    @classmethod
    def subscribed_once(cls, st):
        return (st.get("topics_subscribed") == cls.distinct
                and sum(st["subscriptions"].values()) == cls.distinct)

    @classmethod
    def wait_ready(cls, baselines, sockets_total=0, timeout=60):
        """Every channel open and subscribed, each topic once, the realtime
        baselines taken and the agents read."""
        def ready():
            st = cls.sim.stats()
            return (cls.subscribed_once(st) and st["sockets_open"] == cls.channels
                    and st["sockets_total"] >= sockets_total
                    and (cls.rx.get(RT, "self", "notify_baselines", host="acme") or 0)
                    >= baselines
                    and cls.rx.get(RT, "org", "org_agents", "total", host="acme") == AGENTS)
        ok = wait_for(ready, timeout, 0.3)
        time.sleep(1)  # the subscription answer follows the socket
        return ok

    def run_model(self):
        self.sim.fault({"fault": "resume"})
        time.sleep(RUN_SECONDS)
        self.sim.fault({"fault": "pause"})
        self.assertTrue(wait_for(lambda: self.sim.truth()["paused"], 10))

    def fault_and_back(self, fault, created=0):
        """A fault with the model paused; back when every channel is open
        again with every topic once and the realtime plugin re-read."""
        before = self.sim.stats()
        baselines = self.rx.get(RT, "self", "notify_baselines", host="acme")
        self.sim.fault({"fault": fault})
        self.assertTrue(self.wait_ready(baselines + self.channels,
                                        before["sockets_total"] + self.channels),
                        f"{fault}: not back\n" + self.cd.log_text()[-2000:])
        after = self.sim.stats()
        self.assertEqual(after["channels_created"] - before["channels_created"], created,
                         fault)

    def test_1_one_hub_fewest_channels(self):
        st = self.sim.stats()
        self.assertEqual(st["channels_created"], self.channels)
        self.assertEqual(st["channels_alive"], self.channels)
        self.assertTrue(self.subscribed_once(st), st["subscriptions"])
        self.assertEqual(st["channels_evicted"], 0)
        # One token for both plugins.
        self.assertEqual(st["tokens_issued"], 1)
        # Both plugins report the client's channels.
        for plugin, host in ((RT, "acme"), (FM, "fm")):
            self.assertTrue(wait_for(lambda: self.rx.get(
                plugin, "self", "notify_channels", host=host) == self.channels, 10), plugin)
            self.assertEqual(self.rx.get(plugin, "self", "notify_topics", "pending",
                                         host=host), 0)
            self.assertEqual(self.rx.get(plugin, "self", "notify_channel_budget",
                                         host=host), 20 - self.channels)
        self.assertEqual(self.rx.get(RT, "self", "notify_topics", "own", host="acme"),
                         2 * QUEUES + AGENTS)
        self.assertEqual(self.rx.get(FM, "self", "notify_topics", "own", host="fm"),
                         QUEUES + len(self.t0["flows"]))
        # Each plugin says at start what it monitors.
        log = self.cd.log_text()
        self.assertRegex(log, re.escape(f'[info] {RT} plugin: Org "acme": {QUEUES} queues on ')
                         + r"\d+ channels? \(" + str(2 * QUEUES + AGENTS)
                         + r" topics\), conversation events on, agent activity on "
                         + str(AGENTS) + " agents")
        self.assertRegex(log, re.escape(f'[info] {FM} plugin: Org "acme": '
                                        f'{len(self.t0["flows"])} flows (')
                         + r"\d+ outcomes, \d+ milestones named\), " + str(QUEUES)
                         + r" queues for attributes, " + str(QUEUES + len(self.t0["flows"]))
                         + r" topics; aggregates on, active flows on, receiver off")

    def test_2_values_equal_truth_through_faults(self):
        self.run_model()
        self.fault_and_back("drop_sockets")
        self.run_model()
        self.fault_and_back("socket_closing")
        self.run_model()
        self.fault_and_back("expire_channels", created=self.channels)
        self.run_model()
        time.sleep(3.5)  # counters leave at once and again each interval
        t1 = self.sim.truth()
        st = self.sim.stats()
        self.assertEqual(st["channels_evicted"], 0)
        self.assertTrue(self.subscribed_once(st), st["subscriptions"])
        # Still one token for both (api_get below takes one of its own).
        self.assertEqual(st["tokens_issued"], 1)

        # flowmetrics: flow counters from the flow topics, attribute
        # counters from the conversation topics it shares with realtime.
        flows = delta(t1["flows"], self.t0["flows"])
        outcomes = {o["id"]: o["name"] for o in
                    api_get(self.sim, "/api/v2/flows/outcomes?pageSize=500")["entities"]}
        executions = 0
        for fid, f in t1["flows"].items():
            d = flows.get(fid, {})
            executions += d.get("executions", 0)
            got = self.rx.get(FM, f["name"], "flow_executions", host="fm") or 0
            self.assertEqual(got, d.get("executions", 0), f["name"])
            for oid in f["outcomes"]:
                o = d.get("outcomes", {}).get(oid, {})
                self.assertEqual(self.rx.get(FM, f["name"], "flow_outcome_success",
                                             outcomes[oid], host="fm") or 0,
                                 o.get("success", 0), (f["name"], oid))
        want = delta(t1["metric_attributes_on_queue_topics"],
                     self.t0["metric_attributes_on_queue_topics"])
        got = {}
        for k, v in self.rx.snapshot().items():
            if k[0] == "fm" and k[1] == FM and k[3] == "flow_metric_attribute" and v:
                got.setdefault(k[2], {})[k[4]] = v
        self.assertEqual(got, want)
        self.assertGreater(executions, 10, "too little traffic to show anything")
        self.assertGreater(sum(sum(m.values()) for m in want.values()), 5)

        # realtime: conversation counters since the start, per queue/media.
        compared = moved = 0
        for qid, q in t1["queues"].items():
            for media, m in q["media"].items():
                old = self.t0["queues"][qid]["media"].get(media, {}).get("cumulative", {})
                for name, type_ in COUNTERS.items():
                    want_n = m["cumulative"][name] - old.get(name, 0)
                    have = self.rx.get(RT, qid, type_, media, host="acme") or 0
                    self.assertEqual(have, want_n, f"{qid} {media} {name}")
                    compared += 1
                    moved += want_n > 0
        self.assertGreater(moved, 5)
        # and every queue gauge (this resumes the model at its end); the
        # longest waits need the simulator at the wall clock's speed
        # (test_realtime compares them)
        compare_with_truth(self, self.sim, self.rx, QUEUES, longest=False)
        print(f"# {compared} conversation counters, {executions} flow executions "
              "equal the truth")

    def test_z_no_error_in_the_log(self):
        self.assertEqual(self.cd.bad_log_lines(), [])


class HubBudgetTest(HubCase):
    PER = 2

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", str(QUEUES), "--agents", str(AGENTS),
                            "--flows", str(FLOWS), "--speed", "10", "--warmup", "300",
                            "--heartbeat", "2")
        cls.rx = Receiver()
        cls.cd = Collectd(config(cls.sim, cls.rx, cls.PER),
                          stock=("logfile", "csv", "write_http"))
        cls.distinct = 2 * QUEUES + AGENTS + len(cls.sim.truth()["flows"])
        cls.cd.start()

    def test_over_budget_keeps_what_fits_evicts_nothing(self):
        capacity = 20 * self.PER
        self.assertGreater(self.distinct, capacity)
        ok = wait_for(lambda: self.sim.stats()["sockets_open"] == 20
                      and self.sim.stats()["topics_subscribed"] == capacity, 60, 0.3)
        self.assertTrue(ok, self.cd.log_text()[-3000:])
        time.sleep(6)  # a few more reads: topics asked again, nothing moves
        st = self.sim.stats()
        self.assertEqual(st["channels_created"], 20)
        self.assertEqual(st["channels_alive"], 20)
        self.assertEqual(st["channels_evicted"], 0)
        self.assertEqual(sum(st["subscriptions"].values()), capacity)
        self.assertEqual(requests(st, CH_CREATE, 200), 20)
        pending = [self.rx.get(p, "self", "notify_topics", "pending", host=h)
                   for p, h in ((RT, "acme"), (FM, "fm"))]
        self.assertEqual(sum(pending), self.distinct - capacity, pending)
        self.assertEqual(self.rx.get(RT, "self", "notify_channel_budget", host="acme"), 0)
        # The topics that fit stream: the queues' values arrive.
        self.assertTrue(wait_for(lambda: self.rx.get(
            RT, "org", "org_agents", "total", host="acme") is not None, 20))
        limit = [m for m in self.cd.log_text().splitlines()
                 if "do not fit in the 20 channels of 2 topics" in m]
        self.assertEqual(len(limit), 1, limit)
        self.assertIn("client " + self.sim.info["client_id"], limit[0])
        allowed = [r".*do not fit in the 20 channels of 2 topics.*",
                   r".*exceed 20 channels of 2 topics.*"]
        self.assertEqual(self.cd.bad_log_lines(allow=allowed), [])


if __name__ == "__main__":
    run_tests(__name__)
