# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime's live workitem backlog (Workitems) in the
real collectd against the simulator. Each queue's backlog, asked one queue
a request and paged by the cursor (the simulator's short pages: two results
each, so every queue with workitems takes several pages), equals the
simulator's truth both ways: per queue and status category, workitems
unassigned and assigned, workitems_due (Hours24), workitems_overdue and
workitem_oldest_unassigned; the backlog's three categories as 0 where a
queue has none, a series the truth lacks a failure. The plugin's count of
its requests is the simulator's. The oldest given as an instant (epoch ms)
gives the same ages. An answer with a status category and a metric the
record does not have: each counted in unknown_values and logged once, the
rest read and equal to the truth. A 403 for
analytics:taskManagementObservation:view stops the family, said once, the
queues go on."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, requests, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 6
INTERVAL = 2
EVERY = 10
KEYS = ("    Workitems true\n"
        f"    WorkitemsEvery {EVERY}\n"
        "    WorkitemsRequests 300\n")
ROUTE = "POST /api/v2/analytics/taskmanagement/metrics/query"
PERM = "analytics:taskManagementObservation:view"
TYPES = ("workitems", "workitems_due", "workitems_overdue", "workitem_oldest_unassigned")
# the record's statusCategory -> the plugin's name; the backlog's three
CATEGORIES = {"Open": "open", "InProgress": "in_progress", "Waiting": "waiting",
              "Closed": "closed", "Unknown": "unknown"}
BACKLOG = ("open", "in_progress", "waiting")


def want(truth):
    """{(queue id, type, type instance): value} of the truth, as the man
    page says the plugin puts it."""
    out = {}
    for qid, cats in truth["queues"].items():
        per = {CATEGORIES[c]: v for c, v in cats.items()}
        for name in BACKLOG:
            per.setdefault(name, {"unassigned": 0, "assigned": 0, "Hours24": 0,
                                  "overdue": 0, "oldest": None})
        for name, v in per.items():
            out[(qid, "workitems", "unassigned-" + name)] = float(v["unassigned"])
            out[(qid, "workitems", "assigned-" + name)] = float(v["assigned"])
            out[(qid, "workitems_due", name)] = float(v["Hours24"])
            out[(qid, "workitems_overdue", name)] = float(v["overdue"])
            if v["oldest"] is not None:
                out[(qid, "workitem_oldest_unassigned", name)] = v["oldest"] / 1000.0
    return out


class RealtimeWorkitemsTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", str(QUEUES), "--agents", "20", "--flows", "1",
                            "--speed", "5", "--workitem-page", "short")
        cls.start_collectd(KEYS, interval=INTERVAL, timeout=90)

    def truth(self):
        return self.sim._open("/sim/truth/workitems")

    def series(self):
        return {(k[2], k[3], k[4]): v for k, v in self.rx.snapshot().items()
                if k[1] == PLUGIN and k[3] in TYPES}

    def made(self):
        return self.rx.get(PLUGIN, "self", "workitems_requests") or 0

    def equal_within(self, got, exp, tolerance=1e-6):
        if set(got) != set(exp):
            return False
        return all(abs(got[k] - exp[k]) <= (tolerance if k[1] == "workitem_oldest_unassigned"
                                            else 1e-6) for k in exp)

    def settle(self, tolerance=1e-6):
        """The series once they equal the truth (a sweep after a change),
        else as they are at the deadline."""
        exp = want(self.truth())
        wait_for(lambda: self.equal_within(self.series(), exp, tolerance), 4 * EVERY, 0.5)
        return self.series(), exp

    def test_1_values_equal_the_truth_both_ways(self):
        self.assertTrue(wait_for(lambda: self.made() > 0, 60), "no workitem request")
        got, exp = self.settle()
        self.assertEqual(got, exp)   # both ways: same series, same values
        truth = self.truth()
        empty = sum(1 for c in truth["queues"].values() if not c)
        self.assertGreater(empty, 0)                      # a queue with none: zeros
        self.assertGreater(len(truth["queues"]) - empty, 0)
        self.assertTrue(any(k[1] == "workitems" and k[2].endswith("-closed") for k in got))
        print(f"workitems: {len(truth['queues'])} queues ({empty} empty), "
              f"{len(got)} series equal the truth", file=sys.stderr)

    def test_2_requests_counted_and_paged(self):
        self.assertTrue(wait_for(lambda: requests(self.sim.stats(), ROUTE) == self.made()
                                 and self.made() > 0, 30, 0.2),
                        "workitems_requests never equalled the simulator's count")
        # short pages: more requests than queues asked
        self.assertGreater(self.truth()["requests"], QUEUES)
        self.assertEqual(requests(self.sim.stats(), ROUTE, 400), 0)
        self.assertEqual(self.rx.get(PLUGIN, "self", "workitems_failures"), 0)

    def test_3_oldest_as_an_instant(self):
        self.sim.forms({"workitem_oldest": "epoch"})
        try:
            self.assertEqual(self.truth()["forms"]["workitem_oldest"], "epoch")
            got, exp = self.settle(tolerance=5.0)
            self.assertEqual(set(got), set(exp))
            for k, v in exp.items():
                self.assertAlmostEqual(got[k], v, delta=5.0 if k[1] ==
                                       "workitem_oldest_unassigned" else 1e-6, msg=str(k))
        finally:
            self.sim.forms({"workitem_oldest": "age"})

    def test_4_unknown_words_counted_rest_read(self):
        self.sim.forms({"workitem_words": "unknown"})
        try:
            self.assertTrue(wait_for(lambda: (self.rx.get(
                PLUGIN, "self", "unknown_values", "workitems-status_category") or 0) > 0
                and (self.rx.get(PLUGIN, "self", "unknown_values", "workitems-metric")
                     or 0) > 0, 4 * EVERY, 0.5), "the unknown words were not counted")
            got, exp = self.settle()
            self.assertEqual(got, exp)
            log = self.cd.log_text()
            self.assertEqual(log.count('workitems: status_category "Snoozed" is not a value '
                                       'this version knows'), 1, log[-2000:])
            self.assertEqual(log.count('workitems: metric "oWorkitemsSnoozed" is not a value '
                                       'this version knows'), 1, log[-2000:])
        finally:
            self.sim.forms({"workitem_words": "record"})

    def test_5_permission_refused_stops_the_family_only(self):
        self.sim.fault({"fault": "deny_permission", "permission": PERM})
        try:
            self.assertTrue(wait_for(lambda: requests(self.sim.stats(), ROUTE, 403) > 0,
                                     3 * EVERY, 0.5), "none refused")
            refused = requests(self.sim.stats(), ROUTE)
            time.sleep(EVERY + 2 * INTERVAL)
            self.assertEqual(requests(self.sim.stats(), ROUTE), refused)   # stopped
            self.assertEqual(requests(self.sim.stats(), ROUTE, 403), 1)
            log = self.cd.log_text()
            self.assertEqual(log.count(f"workitems: needs the OAuth permission {PERM} "
                                       "(Genesys answered 403"), 1, log[-2000:])
            since = time.time()
            time.sleep(2 * INTERVAL)
            fresh = [k for k in self.series()
                     if self.rx.get_timed(PLUGIN, k[0], k[1], k[2])[0] >= since]
            self.assertEqual(fresh, [])   # no workitem series since
            # the queues go on
            self.assertTrue(wait_for(lambda: any(
                (self.rx.get_timed(PLUGIN, k[2], k[3], k[4], host=k[0]) or (0, 0))[0] > since
                for k in self.rx.snapshot() if k[1] == PLUGIN and k[3] == "waiting"), 10))
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": PERM})

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


if __name__ == "__main__":
    run_tests(__name__)
