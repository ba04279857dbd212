# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime's estimated wait time (EstimatedWaitTime)
in the real collectd against the simulator. The model runs loaded (queues
wait and stop waiting), then is frozen: once the plugin's waiting gauges
equal the truth and every queue and media type with conversations waiting
was asked after that, collectd's last estimated_wait of each equals the
simulator's last answer for it, both ways (a series the simulator did not
answer, or one for a pair with nobody waiting, fails), in the default
answer form (formula BEST), with a labelled result first and with results
of other formulas first, an unknown formula word among them, counted
(--ewt-results); no request is made
for a pair with nobody waiting once the plugin knows it; a 403 for the
permission stops the family, said once, while the rest goes on. Issue 51's
case: of 5,000 queues only 3 wait (held by the simulator, no arrivals):
over three cycles the requests are for those 3 queues' waiting media types
only, none for an idle queue."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, requests, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 30
INTERVAL = 2
EWT_ROUTE = "GET /api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime"
KEYS = ("    EstimatedWaitTime true\n"
        "    EstimatedWaitTimeEvery 2\n"
        "    EstimatedWaitTimeRequests 300\n")


class RealtimeEwtTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        # Overloaded (occupancy 1.4): some queues wait, others do not, and
        # it changes while the plugin runs.
        cls.sim = Simulator("--queues", str(QUEUES), "--agents", str(QUEUES * 4),
                            "--flows", "2", "--speed", "5", "--load", "1.4",
                            "--warmup", "1800")
        cls.start_collectd(KEYS, interval=INTERVAL, timeout=90)

    def ewt_truth(self):
        return self.sim._open("/sim/truth/ewt")

    def waiting_truth(self):
        """{(queue, media): waiting} of the model, every pair it has."""
        return {(qid, m): v["waiting"] for qid, q in self.sim.truth()["queues"].items()
                for m, v in q["media"].items()}

    def plugin_waiting(self):
        return {(k[2], k[4]): v for k, v in self.rx.snapshot().items()
                if k[1] == PLUGIN and k[3] == "waiting"}

    def series(self, since):
        """{(queue, media): value} of the estimated_wait series dispatched
        at or after since (wall clock)."""
        out = {}
        for k, v in self.rx.snapshot().items():
            if k[1] == PLUGIN and k[3] == "estimated_wait":
                t, value = self.rx.get_timed(PLUGIN, k[2], k[3], k[4], host=k[0])
                if t >= since:
                    out[(k[2], k[4])] = value
        return out

    def test_1_values_equal_the_answers_both_ways(self):
        # The plugin asks while the model moves.
        self.assertTrue(wait_for(lambda: (self.rx.get(PLUGIN, "self", "ewt_requests")
                                          or 0) > 0, 60), "no estimated wait time request")
        self.compare_frozen("one result")

    def test_1b_labelled_result_first(self):
        """A labelled result (another value) before the unlabelled one: the
        plugin dispatches the unlabelled one, which the truth records."""
        self.sim.forms({"ewt_results": "labelled"})
        try:
            self.assertEqual(self.sim.forms()["forms"]["ewt_results"], "labelled")
            time.sleep(2 * INTERVAL)   # the model moves on after the thaw
            self.compare_frozen("labelled first")
        finally:
            self.sim.forms({"ewt_results": "one"})

    def test_1c_other_formulas_first(self):
        """Results of other formulas (SIMPLE, POSITION-IN-QUEUE, a word the
        record does not have; other values) before the BEST one: the plugin
        dispatches the BEST one, which the truth records, and counts the
        unknown word."""
        self.sim.forms({"ewt_results": "formulas"})
        try:
            time.sleep(2 * INTERVAL)
            self.compare_frozen("other formulas first")
            self.assertTrue(wait_for(lambda: (self.rx.get(
                PLUGIN, "self", "unknown_values", "ewt-formula") or 0) > 0, 10),
                "the unknown formula word was not counted")
            self.assertEqual(self.cd.log_text().count('formula "CRYSTAL-BALL"'), 1)
        finally:
            self.sim.forms({"ewt_results": "one"})

    def compare_frozen(self, what):
        """Freezes the model and compares, once the plugin knows the frozen
        state and asked every pair waiting after that, collectd's last
        estimated_wait of each pair with the simulator's last answer, both
        ways; then no request for a pair with nobody waiting."""
        self.sim.fault({"fault": "freeze"})
        try:
            truth = self.waiting_truth()
            # The plugin knows the frozen state: its waiting gauges are the
            # truth's (a pair it never saw a group of has none: 0).
            self.assertTrue(wait_for(lambda: all(
                self.plugin_waiting().get(k, 0) == v for k, v in truth.items()), 60),
                "the waiting gauges never equalled the truth")
            known = time.time()
            idle_known = self.ewt_truth()["idle_requests"]
            waiting = {k for k, v in truth.items() if v > 0}
            self.assertGreater(len(waiting), 0, "nobody waits: nothing to compare")
            self.assertLess(len(waiting), len(truth), "every pair waits: no idle pair")

            # Every pair waiting asked after the plugin knew.
            def answered_since():
                answers = self.ewt_truth()["answers"]
                return all(answers.get(q, {}).get(m, {}).get("real_time", 0) > known
                           for q, m in waiting)
            self.assertTrue(wait_for(answered_since, 60, 0.5),
                            "not every waiting pair was asked after the freeze")
            answers = self.ewt_truth()["answers"]
            last = max(answers[q][m]["real_time"] for q, m in waiting)
            # A read after the last answer dispatched its values; the one
            # after that is what collectd holds now.
            self.assertTrue(wait_for(lambda: (self.rx.get_timed(
                PLUGIN, "self", "ewt_requests") or (0, 0))[0] > last + INTERVAL, 30),
                "no read after the answers")
            since = last + 0.001
            got = self.series(since)
            answers = self.ewt_truth()["answers"]
            want = {(q, m): answers[q][m]["seconds"] for q, m in waiting}
            self.assertEqual(got, want)   # both ways: same pairs, same values
            # The answers are the simulator's formula on the frozen model.
            self.assertTrue(all(answers[q][m]["waiting"] == truth[(q, m)] for q, m in waiting))

            # No request for a pair with nobody waiting once the plugin
            # knew: two more cycles of Every.
            time.sleep(3 * INTERVAL)
            after = self.ewt_truth()
            self.assertEqual(after["idle_requests"], idle_known, after["idle"][-5:])
            print(f"ewt ({what}): {len(waiting)} of {len(truth)} queue/media pairs waiting, "
                  f"{len(got)} series equal the answers; requests {after['requests']}, "
                  f"idle before the freeze settled {idle_known}",
                  file=sys.stderr)
        finally:
            self.sim.fault({"fault": "thaw"})

    def test_2_requests_counted(self):
        # The plugin's count of its requests is the simulator's (between two
        # reads neither moves), none refused.
        self.assertTrue(wait_for(lambda: requests(self.sim.stats(), EWT_ROUTE)
                                 == self.rx.get(PLUGIN, "self", "ewt_requests"), 30, 0.2),
                        "ewt_requests never equalled the simulator's count")
        stats = self.sim.stats()
        self.assertGreater(requests(stats, EWT_ROUTE), 0)
        self.assertEqual(requests(stats, EWT_ROUTE, 403), 0)
        self.assertIsNotNone(self.rx.get(PLUGIN, "self", "ewt_unasked"))

    def test_3_permission_refused_stops_the_family_only(self):
        self.sim.fault({"fault": "deny_permission", "permission": "routing:queue:view"})
        try:
            self.assertTrue(wait_for(lambda: requests(self.sim.stats(), EWT_ROUTE, 403) > 0,
                                     60, 0.5), "no request refused")
            time.sleep(3 * INTERVAL)
            refused = requests(self.sim.stats(), EWT_ROUTE)
            messages = self.rx.get(PLUGIN, "self", "notify_messages")
            time.sleep(3 * INTERVAL)
            stats = self.sim.stats()
            self.assertEqual(requests(stats, EWT_ROUTE), refused)   # the family stopped
            self.assertEqual(requests(stats, EWT_ROUTE, 403), 1)
            self.assertGreater(self.rx.get(PLUGIN, "self", "notify_messages"), messages)
            log = self.cd.log_text()
            self.assertEqual(log.count("estimated wait time: needs the OAuth permission "
                                       "routing:queue:view (Genesys answered 403"), 1,
                             log[-2000:])
            self.assertEqual(log.count("type_instance = estimated_wait_time, message = "
                                       "Org \"acme\": estimated wait time: needs"), 1)
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": "routing:queue:view"})

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


class RealtimeEwtThreeOf5000Test(RealtimeTestCase):
    """5,000 queues, nobody arriving (--arrival-scale 0); 3 queues held
    waiting (POST /sim/hold), the first on two media types: every estimated
    wait time request is for one of those 4 pairs, each asked every cycle
    (three at least), none for the 4,997 idle queues."""
    QUEUES = 5000
    EVERY = 6

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", str(cls.QUEUES), "--agents", str(cls.QUEUES),
                            "--flows", "1", "--arrival-scale", "0", "--warmup", "0")
        # Only the plugin's self-metrics reach the receiver (and no csv):
        # 5,000 queues' values every read would swamp both.
        chain = ('LoadPlugin match_regex\nPostCacheChain "Out"\n<Chain "Out">\n'
                 '  <Rule "self">\n    <Match "regex">\n      PluginInstance "^self$"\n'
                 '    </Match>\n    <Target "write">\n      Plugin "write_http/test"\n'
                 '    </Target>\n  </Rule>\n  Target "stop"\n</Chain>\n')
        cls.start_collectd("    EstimatedWaitTime true\n"
                           f"    EstimatedWaitTimeEvery {cls.EVERY}\n",
                           interval=INTERVAL, timeout=120, extra=chain,
                           stock=("logfile", "write_http", "match_regex"),
                           ready=lambda: cls.has_baselined(queues=cls.QUEUES))

    def test_1_only_the_three_waiting_queues_are_asked(self):
        queues = self.sim.truth()["queues"]
        self.assertEqual(len(queues), self.QUEUES)
        self.assertEqual([(q, m) for q, t in queues.items() for m, v in t["media"].items()
                          if v["waiting"] > 0], [])   # nobody waits yet
        ids = sorted(queues)
        asked_media = ("voice", "chat", "callback", "email", "message")

        def media_of(q):
            return [m for m in asked_media if m in queues[q]["media"]]
        first = next(q for q in ids[17:] if len(media_of(q)) >= 2)
        hold = [(first, media_of(first)[0], 2), (first, media_of(first)[1], 1),
                (ids[2500], media_of(ids[2500])[0], 3), (ids[-1], media_of(ids[-1])[0], 1)]
        for q, m, n in hold:
            self.assertEqual(self.sim._open("/sim/hold", {"queue": q, "media": m,
                                                          "count": n})["held"], n)
        want = {(q, m) for q, m, _ in hold}
        waits = {(q, m): v["waiting"] for q, t in self.sim.truth()["queues"].items()
                 for m, v in t["media"].items() if v["waiting"] > 0}
        self.assertEqual(waits, {(q, m): n for q, m, n in hold})   # 3 of 5,000 queues

        def asked():
            return self.sim._open("/sim/truth/ewt")["log"]

        def cycles_of_each():
            log = asked()
            return min(sum(1 for r in log if (r["queueId"], r["mediaType"]) == p)
                       for p in want)
        self.assertTrue(wait_for(lambda: cycles_of_each() >= 3, 20 + 4 * self.EVERY, 0.5),
                        f"not every waiting pair asked three times: {asked()[-8:]}")
        truth = self.sim._open("/sim/truth/ewt")
        log = truth["log"]
        self.assertEqual({(r["queueId"], r["mediaType"]) for r in log}, want)
        self.assertEqual(truth["idle_requests"], 0, truth["idle"][:5])
        self.assertEqual(truth["requests"], len(log))
        self.assertTrue(wait_for(lambda: requests(self.sim.stats(), EWT_ROUTE)
                                 == self.rx.get(PLUGIN, "self", "ewt_requests"), 30, 0.2),
                        "ewt_requests never equalled the simulator's count: "
                        f"{requests(self.sim.stats(), EWT_ROUTE)} "
                        f"{self.rx.get_timed(PLUGIN, 'self', 'ewt_requests')} {time.time()}")
        self.assertEqual(self.rx.get(PLUGIN, "self", "ewt_unasked"), 0)
        # The requests by cycle (those of one read together) for the report.
        cycles, last = [], None
        for r in sorted(log, key=lambda r: r["real_time"]):
            if last is None or r["real_time"] - last > 1.0:
                cycles.append(0)
            cycles[-1] += 1
            last = r["real_time"]
        print(f"ewt at {self.QUEUES} queues, 3 waiting on {len(want)} pairs: "
              f"{len(log)} requests, by cycle {cycles}, all for those pairs, "
              "none for an idle queue", file=sys.stderr)

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


if __name__ == "__main__":
    run_tests(__name__)
