# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime's agent states by division, team and
management unit (AgentStatesByDivision, AgentStatesByTeam,
AgentStatesByManagementUnit) in the real collectd against the simulator.
The model runs, then is frozen: once every group was asked after the
freeze, collectd's last division_, team_ and unit_agents_routing/presence
of each group equal the simulator's truth of it, both ways (every routing
status, unknown included, and presence, 0 where nobody is in it; a series
the truth lacks fails), the simulator's answers holding UNKNOWN routing
statuses (its default); teams are asked by their teamId predicate (no member
listing, said once) and units by managementUnitId; the requests a cycle
are one a group, whatever the number of queues, and the plugin's count of
them is the simulator's; a 403 for analytics:agentState:view stops the
family, said once, the rest goes on. Against an API that refuses the teamId
predicate (--agent-predicates older) a team of 130 members is counted from
its members: the 400 said once, then two requests a sweep (100 userId
predicates at most), their counts summed, equal to the truth."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, requests, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 30
AGENTS = 130
INTERVAL = 2
EVERY = 10
COUNTS_ROUTE = "POST /api/v2/analytics/agents/status/counts"
MEMBERS_ROUTE = "GET /api/v2/teams/{teamId}/members"
KEYS = ("    AgentStatesByDivision true\n"
        "    AgentStatesByTeam true\n"
        "    AgentStatesByManagementUnit true\n"
        f"    AgentStatesEvery {EVERY}\n"
        "    AgentStatesRequests 300\n")
ROUTING = ("idle", "interacting", "communicating", "not_responding", "off_queue",
           "unknown")
PRESENCE = ("available", "away", "busy", "break", "meal", "meeting", "training",
            "on_queue", "idle", "offline", "other")
TYPES = {"divisions": ("division_agents_routing", "division_agents_presence"),
         "teams": ("team_agents_routing", "team_agents_presence"),
         "units": ("unit_agents_routing", "unit_agents_presence")}


class RealtimeAgentGroupsTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", str(QUEUES), "--agents", str(AGENTS),
                            "--flows", "2", "--speed", "5")
        cls.start_collectd(KEYS, interval=INTERVAL, timeout=90)

    def truth(self):
        return self.sim._open("/sim/truth/agentgroups")

    def want(self, truth):
        """{(group id, type, type instance): count} of every group, every
        routing status and presence (0 where the truth has none)."""
        out = {}
        for kind, (rtype, ptype) in TYPES.items():
            for gid, g in truth[kind].items():
                for r in ROUTING:
                    out[(gid, rtype, r)] = g["routing"].get(r.upper(), 0)
                for p in PRESENCE:
                    out[(gid, ptype, p)] = g["presence"].get(p.upper(), 0)
        return out

    def series(self, since):
        """{(plugin instance, type, type instance): value} of the group
        series dispatched at or after since (wall clock)."""
        types = {t for pair in TYPES.values() for t in pair}
        out = {}
        for k in self.rx.snapshot():
            if k[1] == PLUGIN and k[3] in types:
                t, value = self.rx.get_timed(PLUGIN, k[2], k[3], k[4], host=k[0])
                if t >= since:
                    out[(k[2], k[3], k[4])] = value
        return out

    def test_1_values_equal_the_truth_both_ways(self):
        self.assertTrue(wait_for(lambda: (self.rx.get(PLUGIN, "self", "agent_group_requests")
                                          or 0) > 0, 60), "no agent status counts request")
        self.sim.fault({"fault": "freeze"})
        try:
            truth = self.truth()
            groups = sum(len(truth[k]) for k in TYPES)
            # Two cycles' requests after the freeze: at least one whole
            # cycle asked every group of the frozen model.
            self.assertTrue(wait_for(lambda: self.truth()["requests"]
                                     >= truth["requests"] + 2 * groups, 4 * EVERY, 0.5),
                            "the groups were not asked twice after the freeze")
            last = time.time()
            # A read after that dispatched what it read; the one after it
            # is what collectd holds now.
            self.assertTrue(wait_for(lambda: (self.rx.get_timed(
                PLUGIN, "self", "agent_group_requests") or (0, 0))[0] > last + INTERVAL, 30),
                "no read after the answers")
            got = self.series(last)
            want = self.want(self.truth())
            self.assertEqual(got, want)   # both ways: same series, same values
            for t in ("division_agents_routing", "unit_agents_routing"):
                self.assertEqual(sum(v for (gid, tt, _), v in want.items() if tt == t),
                                 AGENTS, t)
            # The answers held UNKNOWN routing statuses: counted as unknown.
            unknown = sum(v for (_, t, r), v in got.items()
                          if t == "division_agents_routing" and r == "unknown")
            self.assertGreater(unknown, 0)
            moving = sum(1 for v in want.values() if v > 0)
            print(f"agent groups: {len(truth['divisions'])} divisions, "
                  f"{len(truth['teams'])} teams and {len(truth['units'])} units, "
                  f"{len(got)} series equal the truth ({moving} not 0; {unknown} "
                  f"agents UNKNOWN)", file=sys.stderr)
        finally:
            self.sim.fault({"fault": "thaw"})

    def test_2_requests_a_cycle_and_counted(self):
        truth = self.truth()
        groups = sum(len(truth[k]) for k in TYPES)
        # The plugin's count of its requests is the simulator's (between
        # two reads neither moves), none refused, and a multiple of one a
        # group (every team here is under 100 members): Every decides, not
        # the queues.
        self.assertTrue(wait_for(lambda: requests(self.sim.stats(), COUNTS_ROUTE)
                                 == self.rx.get(PLUGIN, "self", "agent_group_requests"),
                                 30, 0.2), "agent_group_requests never equalled the count")
        stats = self.sim.stats()
        made = requests(stats, COUNTS_ROUTE)
        self.assertEqual(requests(stats, COUNTS_ROUTE, 403), 0)
        self.assertEqual(made % groups, 0, made)
        self.assertEqual(self.rx.get(PLUGIN, "self", "agent_group_failures"), 0)
        # Teams by their teamId predicate: no member listed, the path said once.
        self.assertEqual(requests(stats, MEMBERS_ROUTE), 0)
        self.assertEqual(requests(stats, COUNTS_ROUTE, 400), 0)
        log = self.cd.log_text()
        self.assertEqual(log.count("agent states by team: counted by the teamId predicate"),
                         1, log[-2000:])
        self.assertEqual(log.count("agent states by management unit: counted by the "
                                   "managementUnitId predicate"), 1)
        print(f"agent groups: {groups} requests a cycle of {EVERY} s at {QUEUES} queues "
              f"({made} in all)", file=sys.stderr)

    def test_3_permission_refused_stops_the_family_only(self):
        perm = "analytics:agentState:view"
        self.sim.fault({"fault": "deny_permission", "permission": perm})
        try:
            self.assertTrue(wait_for(lambda: requests(self.sim.stats(), COUNTS_ROUTE, 403)
                                     > 0, 4 * EVERY, 0.5), "no request refused")
            refused = requests(self.sim.stats(), COUNTS_ROUTE)
            baselines = self.rx.get(PLUGIN, "self", "notify_messages")
            time.sleep(EVERY + 2 * INTERVAL)
            stats = self.sim.stats()
            self.assertEqual(requests(stats, COUNTS_ROUTE), refused)   # the family stopped
            self.assertEqual(requests(stats, COUNTS_ROUTE, 403), 1)
            self.assertGreater(self.rx.get(PLUGIN, "self", "notify_messages"), baselines)
            log = self.cd.log_text()
            self.assertEqual(log.count("agent states by group: needs the OAuth permission "
                                       f"{perm} (Genesys answered 403"), 1, log[-2000:])
            # No group series is dispatched any more.
            since = time.time()
            time.sleep(2 * INTERVAL)
            self.assertEqual(self.series(since), {})
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": perm})

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


class RealtimeLargeTeamTest(RealtimeTestCase):
    """An API that refuses the teamId predicate (400): the team is counted
    from its members. One team of 130 members: more userId predicates than
    one request takes (100), so two requests a sweep, their counts summed,
    each member once; the simulator refuses a request of more than 100."""
    AGENTS = 260

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "10", "--agents", str(cls.AGENTS), "--teams", "1",
                            "--agent-predicates", "older",
                            "--flows", "2", "--speed", "5")
        cls.start_collectd("    AgentStatesByTeam true\n"
                           f"    AgentStatesEvery {EVERY}\n"
                           "    AgentStatesRequests 300\n", interval=INTERVAL, timeout=90)

    def test_1_batches_summed(self):
        self.sim.fault({"fault": "freeze"})
        try:
            truth = self.sim._open("/sim/truth/agentgroups")
            (tid, team), = truth["teams"].items()
            self.assertEqual(team["agents"], self.AGENTS // 2)   # over 100
            self.assertTrue(wait_for(lambda: self.sim._open("/sim/truth/agentgroups")
                                     ["requests"] >= truth["requests"] + 4, 4 * EVERY, 0.5),
                            "the team was not asked twice after the freeze")
            last = time.time()
            self.assertTrue(wait_for(lambda: (self.rx.get_timed(
                PLUGIN, "self", "agent_group_requests") or (0, 0))[0] > last + INTERVAL, 30),
                "no read after the answers")
            got = {(k[2], k[3], k[4]): v for k, v in self.rx.snapshot().items()
                   if k[1] == PLUGIN and k[3] in TYPES["teams"]}
            want = {}
            for r in ROUTING:
                want[(tid, "team_agents_routing", r)] = team["routing"].get(r.upper(), 0)
            for p in PRESENCE:
                want[(tid, "team_agents_presence", p)] = team["presence"].get(p.upper(), 0)
            self.assertEqual(got, want)
            self.assertEqual(sum(v for (_, t, _), v in got.items()
                                 if t == "team_agents_routing"), self.AGENTS // 2)
            stats = self.sim.stats()
            made = requests(stats, COUNTS_ROUTE)
            # the first, by teamId, refused; then two a sweep
            self.assertEqual(requests(stats, COUNTS_ROUTE, 400), 1)
            self.assertEqual((made - 1) % 2, 0, made)
            self.assertGreater(requests(stats, MEMBERS_ROUTE), 0)
            log = self.cd.log_text()
            self.assertEqual(log.count("agent states by team: the counts route refused "
                                       "the teamId predicate"), 1, log[-2000:])
            print(f"agent groups: by the member fallback, a team of {team['agents']} in "
                  f"2 requests a sweep, {len(got)} series equal the truth", file=sys.stderr)
        finally:
            self.sim.fault({"fault": "thaw"})

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


if __name__ == "__main__":
    run_tests(__name__)
