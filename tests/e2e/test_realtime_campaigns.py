# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime's outbound campaigns (Campaigns) in the real
collectd against the simulator. The model runs, then is frozen: once every
campaign was asked twice after the freeze, collectd's last campaign_status,
campaign_contacts, campaign_percent and the dialer statistics of each
campaign equal the simulator's truth, both ways (a series the truth lacks
fails: an OFF or COMPLETE campaign has no dialer statistics); the plugin's
count of its requests is the simulator's. Thawed, a dialling campaign's
progress moves in collectd within seconds; a campaign stopped and started
again gives a collectd notification each time (a warning, then okay); a
statistics answer that is not JSON is counted and logged, and the plugin
goes on; a 403 for outbound:campaign:view stops the family, said once, the
queues go on. With CampaignsEvery an hour (RealtimeCampaignTopicsTest), the
campaign topics alone move a campaign's progress and change a status in
collectd, in the SDK topic models' form and the routes': status and
progress equal the truth both ways with no REST request after the first
sweep; malformed topic bodies are counted. RealtimeCampaignFormsTest: the
forms the record allows that an older plugin refused, and a status Genesys
may add (forced_off, forced_stopping, a word outside the record,
connectRatio above 1, progress entries without an optional count), the
model frozen: the values equal the truth both ways, the unknown word
counted."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, requests, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

CAMPAIGNS = 6
INTERVAL = 2
EVERY = 10
KEYS = ("    Campaigns true\n"
        "    CampaignStatuses on off stopping complete invalid forced_off forced_stopping "
        "unknown\n"
        f"    CampaignsEvery {EVERY}\n"
        "    CampaignsRequests 300\n")
# the record's campaignStatus values, then the plugin's series of any other
RECORD = ("on", "off", "complete", "stopping", "invalid", "forced_off", "forced_stopping")
STATUSES = RECORD + ("unknown",)
# the statuses whose statistics are asked (an unknown one may dial)
DIALLING = ("on", "stopping", "forced_stopping", "unknown")
TYPES = ("campaign_status", "campaign_contacts", "campaign_percent", "campaign_agents",
         "campaign_calls", "campaign_calls_per_agent", "campaign_attempts",
         "campaign_connect_ratio")
# CampaignStats field -> (type, type instance) (genesys_realtime(5), VALUES)
STATS = {"idleAgents": ("campaign_agents", "idle"),
         "effectiveIdleAgents": ("campaign_agents", "effective_idle"),
         "outstandingCalls": ("campaign_calls", "outstanding"),
         "scheduledCalls": ("campaign_calls", "scheduled"),
         "timeZoneRescheduledCalls": ("campaign_calls", "timezone_rescheduled"),
         "adjustedCallsPerAgent": ("campaign_calls_per_agent", "adjusted"),
         "attempts": ("campaign_attempts", "attempts"),
         "connects": ("campaign_attempts", "connects"),
         "connectRatio": ("campaign_connect_ratio", "connects")}
STATS_ROUTE = "GET /api/v2/outbound/campaigns/{campaignId}/stats"


class RealtimeCampaignsTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "6", "--agents", "30", "--flows", "1",
                            "--speed", "5", "--campaigns", str(CAMPAIGNS))
        cls.start_collectd(KEYS, interval=INTERVAL, timeout=90, notes=True)

    def truth(self):
        return self.sim._open("/sim/truth/campaigns")

    @staticmethod
    def want(truth):
        """{(campaign id, type, type instance): value} of every campaign."""
        out = {}
        for cid, c in truth["campaigns"].items():
            status = c["campaignStatus"].lower()
            status = status if status in RECORD else "unknown"
            for s in STATUSES:
                out[(cid, "campaign_status", s)] = 1.0 if s == status else 0.0
            p = c["progress"]
            for field, ti in (("numberOfContactsCalled", ("campaign_contacts", "called")),
                              ("totalNumberOfContacts", ("campaign_contacts", "total")),
                              ("percentage", ("campaign_percent", "processed"))):
                if field in p:   # each optional: one left out has no series
                    out[(cid,) + ti] = p[field]
            if status not in DIALLING:
                continue   # no dialer: no statistics
            stats = dict(c["stats"], **c["stats"]["contactRate"])
            for field, (t, ti) in STATS.items():
                out[(cid, t, ti)] = stats[field]
        return {k: round(float(v), 6) for k, v in out.items()}

    def series(self, since):
        out = {}
        for k in self.rx.snapshot():
            if k[1] == PLUGIN and k[3] in TYPES:
                t, value = self.rx.get_timed(PLUGIN, k[2], k[3], k[4], host=k[0])
                if t >= since:
                    out[(k[2], k[3], k[4])] = round(value, 6)
        return out

    def requests_made(self):
        return self.rx.get(PLUGIN, "self", "campaign_requests") or 0

    def test_1_values_equal_the_truth_both_ways(self):
        self.assertTrue(wait_for(lambda: self.requests_made() > 0, 60), "no campaign request")
        self.sim.fault({"fault": "freeze"})
        try:
            truth = self.truth()
            dialling = sum(1 for c in truth["campaigns"].values()
                           if c["campaignStatus"].lower() in DIALLING)
            self.assertGreater(dialling, 0)
            # Two sweeps after the freeze: one whole sweep read the frozen model.
            self.assertTrue(wait_for(lambda: self.truth()["requests"]["stats"]
                                     >= truth["requests"]["stats"] + 2 * dialling,
                                     4 * EVERY, 0.5), "not asked twice after the freeze")
            last = time.time()
            self.assertTrue(wait_for(lambda: (self.rx.get_timed(
                PLUGIN, "self", "campaign_requests") or (0, 0))[0] > last + INTERVAL, 30),
                "no read after the answers")
            got = self.series(last)
            want = self.want(self.truth())
            self.assertEqual(got, want)   # both ways: same series, same values
            print(f"campaigns: {len(truth['campaigns'])} campaigns ({dialling} dialling), "
                  f"{len(got)} series equal the truth", file=sys.stderr)
        finally:
            self.sim.fault({"fault": "thaw"})

    def test_2_requests_counted(self):
        # The plugin's count is the simulator's (the listing pages, the bulk
        # progress and the stats), none refused.
        def sim_count():
            s = self.sim.stats()
            return sum(requests(s, r) for r in (
                "GET /api/v2/outbound/campaigns", "POST /api/v2/outbound/campaigns/progress",
                STATS_ROUTE))
        self.assertTrue(wait_for(lambda: sim_count() == self.requests_made(), 30, 0.2),
                        "campaign_requests never equalled the simulator's count")
        self.assertEqual(requests(self.sim.stats(), STATS_ROUTE, 403), 0)
        self.assertEqual(self.rx.get(PLUGIN, "self", "campaign_failures"), 0)

    def test_3_progress_moves_and_a_status_change_is_notified(self):
        truth = self.truth()["campaigns"]
        cid = next(k for k, c in truth.items() if c["campaignStatus"] == "ON"
                   and c["progress"]["numberOfContactsCalled"]
                   < c["progress"]["totalNumberOfContacts"] - 500)

        def called():
            return self.rx.get(PLUGIN, cid, "campaign_contacts", "called")
        self.assertTrue(wait_for(lambda: called() is not None, 30))
        before = called()
        self.assertTrue(wait_for(lambda: called() > before, 3 * EVERY, 0.5),
                        "the progress did not move")

        def said(severity, text):
            return [n for n in self.notes.read() if n["PluginInstance"] == cid
                    and n["Type"] == "campaign_status" and n["Severity"] == severity
                    and text in n["message"]]
        self.assertEqual(said("WARNING", "is now off"), [])   # the first listing: nothing
        name = truth[cid]["name"]
        self.sim._open("/sim/campaigns", {"id": cid, "campaignStatus": "OFF"})
        self.notes.wait(lambda _: said("WARNING", f'"{name}" is now off (was on)'), 3 * EVERY)
        self.assertEqual(len(said("WARNING", f'"{name}" is now off (was on)')), 1)
        self.assertTrue(wait_for(lambda: self.rx.get(PLUGIN, cid, "campaign_status", "off")
                                 == 1, 3 * EVERY))
        self.sim._open("/sim/campaigns", {"id": cid, "campaignStatus": "ON"})
        self.notes.wait(lambda _: said("OKAY", "is now on (was off)"), 3 * EVERY)
        # the topic said it first; the next listing, the same, says nothing
        lists = self.truth()["requests"]["list"]
        self.assertTrue(wait_for(lambda: self.truth()["requests"]["list"] > lists,
                                 3 * EVERY, 0.5))
        time.sleep(2 * INTERVAL)   # the listing read
        self.assertEqual(len(said("OKAY", "is now on (was off)")), 1)
        self.assertEqual(len(said("WARNING", "is now off (was on)")), 1)   # once

    def test_4_malformed_stats_counted_and_logged(self):
        truth = self.truth()["campaigns"]
        cid = next(k for k, c in truth.items() if c["campaignStatus"] == "ON")
        malformed = self.rx.get(PLUGIN, "self", "campaign_malformed") or 0
        made = self.requests_made()
        self.sim.fault({"fault": "malformed_json",
                        "path": f"/api/v2/outbound/campaigns/{cid}/stats", "count": 1})
        self.assertTrue(wait_for(lambda: (self.rx.get(PLUGIN, "self", "campaign_malformed")
                                          or 0) > malformed, 3 * EVERY, 0.5),
                        "the malformed answer was not counted")
        log = self.cd.log_text()
        self.assertIn(f'outbound campaigns: statistics of "{truth[cid]["name"]}": not JSON',
                      log)
        # The plugin goes on: more sweeps, the campaign's statistics back.
        self.assertTrue(wait_for(lambda: self.requests_made() > made + 10, 3 * EVERY, 0.5))
        since = time.time()
        self.assertTrue(wait_for(lambda: (self.rx.get_timed(
            PLUGIN, cid, "campaign_agents", "idle") or (0, 0))[0] > since, 3 * EVERY, 0.5),
            "no statistics after the malformed answer")

    def test_5_permission_refused_stops_the_family_only(self):
        perm = "outbound:campaign:view"
        routes = ("GET /api/v2/outbound/campaigns", "POST /api/v2/outbound/campaigns/progress",
                  STATS_ROUTE)

        def made():
            s = self.sim.stats()
            return sum(requests(s, r) for r in routes), sum(requests(s, r, 403) for r in routes)
        self.sim.fault({"fault": "deny_permission", "permission": perm})
        try:
            self.assertTrue(wait_for(lambda: made()[1] > 0, 3 * EVERY, 0.5), "none refused")
            refused = made()
            baselines = self.rx.get(PLUGIN, "self", "notify_messages")
            time.sleep(EVERY + 2 * INTERVAL)
            self.assertEqual(made(), refused)   # the family stopped
            self.assertEqual(refused[1], 1)
            self.assertGreater(self.rx.get(PLUGIN, "self", "notify_messages"), baselines)
            log = self.cd.log_text()
            self.assertEqual(log.count(f"outbound campaigns: needs the OAuth permission {perm} "
                                       "(Genesys answered 403"), 1, log[-2000:])
            since = time.time()
            time.sleep(2 * INTERVAL)
            self.assertEqual(self.series(since), {})
        finally:
            self.sim.fault({"fault": "allow_permission", "permission": perm})

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


LIVE = ("campaign_status", "campaign_contacts", "campaign_percent")   # what topics carry
REST = ("list", "bulk_progress", "progress", "stats")


class RealtimeCampaignTopicsTest(RealtimeTestCase):
    """CampaignsEvery 3600: after the first sweep only the topics can move
    a value within the test (a status forced_off and one outside the
    record, PAUSED, among them)."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "2", "--agents", "10", "--flows", "1",
                            "--speed", "5", "--campaigns", "4")
        cls.start_collectd(KEYS.replace(f"CampaignsEvery {EVERY}", "CampaignsEvery 3600"),
                           interval=1, timeout=60)

    def truth(self):
        return self.sim._open("/sim/truth/campaigns")

    def live(self):
        """{(campaign, type, type instance): value} collectd has last of LIVE."""
        return {(k[2], k[3], k[4]): round(self.rx.get(PLUGIN, k[2], k[3], k[4], host=k[0]), 6)
                for k in self.rx.snapshot() if k[1] == PLUGIN and k[3] in LIVE}

    def want(self):
        return {k: v for k, v in RealtimeCampaignsTest.want(self.truth()).items()
                if k[1] in LIVE}

    def test_1_topics_move_status_and_progress(self):
        truth = self.truth()
        self.assertTrue(wait_for(lambda: len(self.live()) == (len(STATUSES) + 3)
                                 * len(truth["campaigns"]), 30),
                        "the first sweep's values did not come")
        swept = {r: truth["requests"][r] for r in REST}
        made = self.rx.get(PLUGIN, "self", "campaign_requests")
        on = [k for k, c in truth["campaigns"].items() if c["campaignStatus"] == "ON"]
        moving, stopped = on[0], on[1]

        def called():
            return self.rx.get(PLUGIN, moving, "campaign_contacts", "called")
        before = called()
        self.assertTrue(wait_for(lambda: called() > before, 30), "the progress did not move")
        # the routes' form from here (integer counts, upper case)
        self.sim.forms({"campaign_topic": "rest"})
        self.sim._open("/sim/campaigns", {"id": stopped, "campaignStatus": "OFF"})
        self.assertTrue(wait_for(lambda: self.rx.get(PLUGIN, stopped, "campaign_status", "off")
                                 == 1, 30), "the status did not change")
        # a forced status and a word outside the record, by the topic alone
        first = {c["campaignStatus"]: k for k, c in truth["campaigns"].items()}
        self.sim._open("/sim/campaigns", {"id": first["OFF"], "campaignStatus": "FORCED_OFF"})
        self.sim._open("/sim/campaigns", {"id": first["COMPLETE"], "campaignStatus": "PAUSED",
                                          "unrecorded": True})
        self.assertTrue(wait_for(lambda: self.rx.get(
            PLUGIN, first["OFF"], "campaign_status", "forced_off") == 1 and self.rx.get(
            PLUGIN, first["COMPLETE"], "campaign_status", "unknown") == 1, 30),
            "the forced and unknown statuses did not come")
        before = called()
        self.assertTrue(wait_for(lambda: called() > before, 30), "the progress did not move")
        self.sim.fault({"fault": "freeze"})
        try:
            wait_for(lambda: self.live() == self.want(), 30, 0.2)
            got, want = self.live(), self.want()
            self.assertEqual(got, want)   # both ways
            after = self.truth()
            self.assertEqual({r: after["requests"][r] for r in REST}, swept)   # no REST
            self.assertEqual(self.rx.get(PLUGIN, "self", "campaign_requests"), made)
            self.assertGreater(after["published"]["progress"], 0)
            print(f"campaign topics: {len(got)} series equal the truth, "
                  f"{after['published']['progress']} progress and "
                  f"{after['published']['status']} status messages, requests {made} "
                  "(the first sweep's only)", file=sys.stderr)
        finally:
            self.sim.fault({"fault": "thaw"})
            self.sim.forms({"campaign_topic": "sdk"})

    def test_2_malformed_bodies_counted(self):
        malformed = self.rx.get(PLUGIN, "self", "campaign_malformed") or 0
        cid = next(iter(self.truth()["campaigns"]))
        sent = self.sim._open("/sim/campaigns", {"id": cid, "malformed": True})
        self.assertEqual(sent["malformed_sent"], 2)
        self.assertTrue(wait_for(lambda: (self.rx.get(PLUGIN, "self", "campaign_malformed")
                                          or 0) == malformed + 2, 30),
                        "the malformed bodies were not counted")
        self.assertIn("outbound campaigns: malformed message of v2.outbound.campaigns."
                      f"{cid}", self.cd.log_text())

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


FORCED = ("forced_off", "forced_stopping", "paused", "on", "stopping", "off", "complete",
          "invalid")


class RealtimeCampaignFormsTest(RealtimeTestCase):
    """The model frozen from the start (nothing moves: a stopping campaign
    set under the freeze stays so): a campaign of each of the record's statuses and one of a word
    outside it ("paused"), stats with more connects than attempts
    (connectRatio above 1), progress entries of every other campaign
    without totalNumberOfContacts and of one in four without percentage."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "2", "--agents", "10", "--flows", "1",
                            "--speed", "5", "--campaigns", str(len(FORCED)),
                            "--campaign-statuses", ",".join(FORCED),
                            "--campaign-connect-ratio", "above_one",
                            "--campaign-progress-counts", "sparse")
        cls.sim.fault({"fault": "freeze"})
        # a stopping campaign turns off at the model's first step: set again
        for cid, c in cls.sim._open("/sim/truth/campaigns")["campaigns"].items():
            want = FORCED[int(c["name"].split()[-1]) - 1]
            if c["campaignStatus"].lower() != want:
                cls.sim._open("/sim/campaigns", {"id": cid, "campaignStatus": want})
        cls.start_collectd(KEYS, interval=INTERVAL, timeout=60)

    def truth(self):
        return self.sim._open("/sim/truth/campaigns")

    def test_1_values_equal_the_truth_both_ways(self):
        truth = self.truth()
        by_status = {c["campaignStatus"].lower(): k for k, c in truth["campaigns"].items()}
        self.assertEqual(sorted(by_status), sorted(FORCED))
        self.assertTrue(wait_for(lambda: self.truth()["requests"]["list"] >= 2, 4 * EVERY, 0.5),
                        "not listed twice")
        last = time.time()
        self.assertTrue(wait_for(lambda: (self.rx.get_timed(
            PLUGIN, "self", "campaign_requests") or (0, 0))[0] > last + INTERVAL, 30),
            "no read after the answers")
        want = RealtimeCampaignsTest.want(self.truth())
        wait_for(lambda: RealtimeCampaignsTest.series(self, last) == want, 30, 0.5)
        got = RealtimeCampaignsTest.series(self, last)
        self.assertEqual(got, want)   # both ways
        fo, fs, un = by_status["forced_off"], by_status["forced_stopping"], by_status["paused"]
        self.assertEqual(got[(fo, "campaign_status", "forced_off")], 1)
        self.assertEqual(got[(un, "campaign_status", "unknown")], 1)
        self.assertGreater(got[(fs, "campaign_connect_ratio", "connects")], 1)
        self.assertIn((fs, "campaign_agents", "idle"), got)
        self.assertNotIn((fo, "campaign_agents", "idle"), got)   # not dialling
        self.assertNotIn((fs, "campaign_contacts", "total"), got)   # left out
        self.assertIn((fs, "campaign_contacts", "called"), got)
        self.assertEqual(self.rx.get(PLUGIN, "self", "campaign_malformed"), 0)
        self.assertGreaterEqual(self.rx.get(PLUGIN, "self", "unknown_values",
                                            "campaigns-campaignStatus"), 2)
        self.assertEqual(self.cd.log_text().count(
            'campaigns: campaignStatus "PAUSED" is not a value this version knows'), 1)
        forced = [by_status[s] for s in ("forced_off", "forced_stopping")]
        print(f"campaign forms: {len(got)} series equal the truth; "
              f"{sum(1 for c in forced if (c, 'campaign_status', 'on') in got)} of 2 forced "
              f"campaigns dispatched, the forced_stopping one with "
              f"{sum(1 for k in got if k[0] == fs and k[1] not in LIVE)} statistics",
              file=sys.stderr)

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


if __name__ == "__main__":
    run_tests(__name__)
