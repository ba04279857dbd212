# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime with ConversationEvents and AgentActivity in
the real collectd against the simulator over TLS. The plugin starts while
the model is paused (with conversations in flight from the warm-up), the
model runs, the sockets are dropped and come back, the model runs again;
then the counters of every queue and media type equal the simulator's truth
of what happened in between (each moment once: no double count through the
drop, none of the moments from before the start), and the org-wide agent
counts equal the truth's."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import (PLUGIN, compare_counters, compare_org_agents,  # noqa: E402
                            requests, settled_counters, wait_for)
from sim_harness import Simulator  # noqa: E402

QUEUES = 16
AGENTS = 120
RUN_SECONDS = 12  # real seconds per running phase; × speed 30 simulated

COUNTERS = {"offered": "conv_offered", "answered": "conv_answered",
            "abandoned": "conv_abandoned", "transferred": "conv_transferred"}


class RealtimeEventsTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(
            "--queues", str(QUEUES), "--agents", str(AGENTS), "--flows", "2",
            "--speed", "30", "--heartbeat", "2", "--warmup", "600",
        )
        cls.sim.fault({"fault": "pause"})
        # The member listing answers late, so the channel is up with the
        # queue topics before the agent topics join it: the agents gained
        # then are baselined alone, the queues not read again.
        cls.sim.fault({"fault": "slow", "delay": 3, "count": 1, "method": "POST",
                       "path": "/api/v2/analytics/routing/activity/query"})
        cls.start_collectd(
            "    HeartbeatTimeout 8\n    ConversationEvents true\n"
            "    AgentActivity true\n    WaitBuckets 10 30 120\n",
            ready=lambda: cls.has_baselined()
            and cls.rx.get(PLUGIN, "org", "org_agents", "total") == AGENTS)

    def test_counts_equal_truth_through_a_drop(self):
        before = self.sim.truth()
        self.sim.fault({"fault": "resume"})
        time.sleep(RUN_SECONDS)
        # The drop happens with the model paused, so that no moment falls
        # in the gap (Genesys queues nothing for a closed socket).
        self.sim.fault({"fault": "pause"})
        reconnects = self.rx.get(PLUGIN, "self", "notify_reconnects") or 0
        baselines = self.rx.get(PLUGIN, "self", "notify_baselines")
        # Before the drop REST spelt presences for display and the activity
        # topic as enums (the defaults); after it, the other way round: the
        # re-baseline and the events that follow read the other spellings.
        self.sim.forms({"presence_spelling": "enum", "topic_presence_spelling": "display"})
        self.sim.fault({"fault": "drop_sockets"})
        self.assertTrue(wait_for(
            lambda: (self.rx.get(PLUGIN, "self", "notify_reconnects") or 0) > reconnects
            and self.rx.get(PLUGIN, "self", "notify_baselines") > baselines, timeout=30),
            "no reconnect after the drop:\n" + self.cd.log_text()[-2000:])
        self.sim.fault({"fault": "resume"})
        time.sleep(RUN_SECONDS)
        self.sim.fault({"fault": "pause"})
        got = settled_counters(self, self.rx, COUNTERS.values())
        after = self.sim.truth()

        compared, moved = compare_counters(self, before, after, got, COUNTERS)
        for qid, q in after["queues"].items():
            for media in q["media"]:
                # Every answer has a known wait: the +Inf bucket is the
                # answered count, and the buckets are cumulative.
                answered = got.get((qid, media, "conv_answered"), 0)
                inf = self.rx.get(PLUGIN, qid, "conv_wait_bucket", media + "-le_inf") or 0
                le10 = self.rx.get(PLUGIN, qid, "conv_wait_bucket", media + "-le10") or 0
                self.assertEqual(inf, answered, f"{qid} {media} le_inf")
                self.assertLessEqual(le10, inf)
        # The test means something only if much happened, including moments
        # of conversations that were in flight when the plugin started.
        self.assertGreater(moved, 20)
        totals = {n: sum(v for k, v in got.items() if k[2] == t) for n, t in COUNTERS.items()}
        self.assertGreater(totals["answered"], 50, totals)
        self.assertGreater(totals["abandoned"], 0, totals)
        self.assertGreater(totals["transferred"], 0, totals)
        print(f"# {compared} counters equal the truth; totals {totals}")

        # Agents: each once, by routing status and presence, as the truth
        # (the model is paused).
        compare_org_agents(self, self.sim, self.rx, AGENTS, pause=False)

        # The user baseline is the bulk read, once per connect: ⌈120/80⌉
        # requests each time; the members come from one routing activity
        # query per 100 queues, no queue's member list is read. The queues'
        # observations are read once per connect too, though the agent
        # topics joined the channel after it was up.
        stats = self.sim.stats()
        self.assertEqual(requests(stats, "GET /api/v2/users"), 2 * 2)
        self.assertEqual(requests(stats, "POST /api/v2/analytics/queues/observations/query"),
                         2 * -(-QUEUES // 100))
        self.assertEqual(requests(stats, "POST /api/v2/analytics/routing/activity/query"),
                         -(-QUEUES // 100))
        self.assertEqual(requests(stats, "GET /api/v2/routing/queues/{queueId}/members"), 0)


    def test_z_no_error_in_the_log(self):
        """No ERROR line the plugin caused (assert_no_error_lines)."""
        self.assert_no_error_lines()

if __name__ == "__main__":
    run_tests(__name__)
