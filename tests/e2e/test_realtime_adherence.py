# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime's real-time adherence (Adherence) in the
real collectd against the simulator. Each management unit's agents are read
whole once (AdherenceEvery far beyond the test), then followed by the unit's
topic only: collectd's last adherence_agents (every state, 0 included),
adherence_out_agents (every impact), adherence_out_duration (longest,
sum) of each unit equal the simulator's truth both ways (a
series the truth lacks fails; the durations computed at the instant of the
value collectd holds); after agents change (published on the units'
topics) the values follow; an agent falling out of adherence on the topic
gives one WARNING notification within seconds and coming back one OKAY,
and the agents already out at the first read none; a malformed topic body
is counted
(adherence_malformed) and logged, and the values stay equal; the requests
are one listing and one a unit, and the plugin's count is the
simulator's; the units are listed with feature=RealTimeAdherence and no
paging parameters. A unit's answer that is only a downloadUrl is fetched:
pre-signed, without the token (the values equal the truth); on the API's
origin wanting the token, asked again with it (equal again); on another
origin wanting it, never sent there (no values, a failure counted and
logged). Without wfm:realtimeAdherence:view the listing has no unit: said
once, and the rest of the plugin goes on."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import FakeClockCollectd, run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, requests, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 10
AGENTS = 90
UNITS = 3
INTERVAL = 2
KEYS = ("    Adherence true\n"
        "    AdherenceEvery 86400\n"
        "    AdherenceNotifications true\n")
UNITS_ROUTE = "GET /api/v2/workforcemanagement/managementunits"
UNIT_ROUTE = ("GET /api/v2/workforcemanagement/managementunits/{managementUnitId}/"
              "adherence")
STATES = {"InAdherence": "in_adherence", "OutOfAdherence": "out_of_adherence",
          "Unscheduled": "unscheduled", "Unknown": "unknown", "Ignored": "ignored",
          "Explained": "explained"}
IMPACTS = ("Positive", "Negative", "Neutral", "Unknown")
TYPES = ("adherence_agents", "adherence_out_agents", "adherence_out_duration")


class AdherenceValues(RealtimeTestCase):
    """The comparison of collectd's adherence series with the truth."""

    def truth(self):
        return self.sim._open("/sim/truth/adherence")

    def series(self):
        """{(unit id, type, type instance): (time, value)} held now."""
        out = {}
        for k in self.rx.snapshot():
            if k[1] == PLUGIN and k[3] in TYPES:
                out[(k[2], k[3], k[4])] = self.rx.get_timed(PLUGIN, k[2], k[3], k[4],
                                                            host=k[0])
        return out

    @staticmethod
    def want(truth, at):
        """The truth's series, the durations at each unit's instant at
        (seconds, wall clock)."""
        out = {}
        for uid, u in truth["units"].items():
            for s, inst in STATES.items():
                out[(uid, "adherence_agents", inst)] = u["states"][s]
            out[(uid, "adherence_agents", "other")] = 0
            for i in IMPACTS:
                out[(uid, "adherence_out_agents", i.lower())] = u["out_impacts"][i]
            t_ms = round(at[uid] * 1000)
            ages = [max(0, t_ms - s) / 1000.0 for s in u["out_since_ms"]]
            out[(uid, "adherence_out_duration", "longest")] = max(ages, default=0.0)
            out[(uid, "adherence_out_duration", "sum")] = sum(ages)
        return out

    def differences(self):
        """What differs between collectd's last values and the truth now
        (empty when equal both ways)."""
        truth = self.truth()
        got = self.series()
        at = {}
        for (uid, t, i), (when, _) in got.items():
            if (t, i) == ("adherence_out_duration", "longest"):
                at[uid] = when
        if set(at) != set(truth["units"]):
            return {"units": (sorted(at), sorted(truth["units"]))}
        want = self.want(truth, at)
        diff = {}
        for k in set(got) | set(want):
            g = got[k][1] if k in got else None
            w = want.get(k)
            if g is None or w is None or abs(g - w) > 0.005:
                diff[k] = (g, w)
        return diff

    def equal_soon(self, what, seconds=15):
        # one read after the last change dispatches it; the values are
        # compared with the truth as it is at each try
        ok = wait_for(lambda: not self.differences(), seconds, 0.5)
        self.assertTrue(ok, f"{what}: {sorted(self.differences().items())[:8]}")

    def self_soon(self, name, cond, seconds=15):
        """The self-metric name once cond holds of it: it is dispatched at a
        read, so a count that just grew reaches collectd up to an interval
        after the values it counts."""
        wait_for(lambda: cond(self.rx.get(PLUGIN, "self", name) or 0), seconds, 0.5)
        return self.rx.get(PLUGIN, "self", name)

    def read_once(self):
        """Waits for the listing and each unit's read (the self-metric of
        the requests at least 1 + UNITS)."""
        self.assertTrue(wait_for(lambda: (self.rx.get(PLUGIN, "self", "adherence_requests")
                                          or 0) >= 1 + UNITS, 60), "no adherence read")


class RealtimeAdherenceTest(AdherenceValues):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", str(QUEUES), "--agents", str(AGENTS),
                            "--mgmt-units", str(UNITS), "--flows", "2")
        cls.start_collectd(KEYS, interval=INTERVAL, timeout=90, notes=True)

    def test_1_values_equal_the_truth_both_ways(self):
        self.read_once()
        self.equal_soon("the values after the first read")
        got = self.series()
        out = sum(v for (_, t, i), (_, v) in got.items()
                  if t == "adherence_agents" and i == "out_of_adherence")
        self.assertEqual(len(got), UNITS * 13)
        self.assertEqual(sum(v for (_, t, _), (_, v) in got.items()
                             if t == "adherence_agents"), AGENTS)
        self.assertGreater(out, 0)   # the longest and summed seconds not all 0
        print(f"adherence: {UNITS} units, {len(got)} series equal the truth "
              f"({int(out)} agents out of adherence)", file=sys.stderr)

    def exceptions_said(self, severity=None):
        return [n for n in self.notes.read() if n["Type"] == "adherence_exception"
                and severity in (None, n["Severity"])]

    def test_2_an_exception_opened_and_closed_is_notified_once(self):
        truth = self.truth()
        out = [a for a, s in truth["agents"].items() if s["state"] == "OutOfAdherence"]
        self.assertGreater(len(out), 0)
        aid = sorted(a for a, s in truth["agents"].items() if s["state"] == "InAdherence")[0]
        uid = truth["agents"][aid]["unit"]
        name = truth["units"][uid]["name"]

        def said(severity):
            return [n for n in self.exceptions_said(severity) if n["TypeInstance"] == aid]
        self.sim._open("/sim/adherence", {"set": [
            {"user": aid, "state": "OutOfAdherence", "impact": "Negative"}]})
        self.notes.wait(lambda _: said("WARNING"), 10)
        warned = said("WARNING")
        self.assertEqual(len(warned), 1, self.exceptions_said())
        self.assertEqual(warned[0]["PluginInstance"], uid)   # the unit's series' instance
        self.assertIn(f'management unit "{name}": agent {aid} out of adherence: '
                      "OutOfAdherence, impact Negative, since 20", warned[0]["message"])
        self.sim._open("/sim/adherence", {"set": [{"user": aid, "state": "InAdherence"}]})
        self.notes.wait(lambda _: said("OKAY"), 10)
        self.assertEqual(len(said("OKAY")), 1)
        self.assertIn(f"agent {aid} no longer out of adherence: InAdherence, impact Neutral",
                      said("OKAY")[0]["message"])
        self.assertEqual(len(said("WARNING")), 1)
        # The first read (long before) said nothing of the agents out at the
        # start: these two are all.
        self.assertEqual(len(self.exceptions_said()), 2, self.exceptions_said())
        self.equal_soon("the values after the exception closed")
        print(f"adherence: 1 WARNING and 1 OKAY for one agent's exception, none for the "
              f"{len(out)} out at the start", file=sys.stderr)

    def test_3_changes_follow_from_the_topics(self):
        before = self.sim._open("/sim/truth/adherence")["published"]
        made = requests(self.sim.stats(), UNIT_ROUTE)
        changed = self.sim._open("/sim/adherence", {"random": 20, "seed": 3})
        self.assertEqual(changed["changed"], 20)
        self.assertEqual(self.truth()["published"], before + 20)
        self.equal_soon("the values after 20 changes")
        # No unit was read again: the topics carried the changes.
        self.assertEqual(requests(self.sim.stats(), UNIT_ROUTE), made)
        self.assertGreaterEqual(self.self_soon("adherence_updates", lambda v: v >= 20), 20)
        # An exception opened now and one closed: the counts follow.
        truth = self.truth()
        self.sim._open("/sim/adherence", {"random": 5, "seed": 11})
        self.assertNotEqual(self.truth()["units"], truth["units"])
        self.equal_soon("the values after 5 more changes")

    def test_4_a_malformed_body_is_counted_and_logged(self):
        uid = sorted(self.truth()["units"])[0]
        before = self.rx.get(PLUGIN, "self", "adherence_malformed") or 0
        sent = self.sim._open("/sim/adherence", {"malformed": uid})
        self.assertEqual(sent["malformed_sent"], 1)
        self.assertTrue(wait_for(lambda: (self.rx.get(PLUGIN, "self", "adherence_malformed")
                                          or 0) == before + 1, 15, 0.5),
                        "the malformed body was not counted")
        self.assertIn("malformed adherence event skipped: no usable user.id",
                      self.cd.log_text())
        self.sim._open("/sim/adherence", {"random": 4, "seed": 5})
        self.equal_soon("the values after a malformed body")

    def test_5_requests_one_listing_and_one_a_unit(self):
        stats = self.sim.stats()
        self.assertEqual(requests(stats, UNITS_ROUTE), 1)
        # the units the client may use for real-time adherence, no paging
        # parameters ("Deprecated, paging is not supported")
        self.assertEqual(self.truth()["listings"],
                         ["/api/v2/workforcemanagement/managementunits"
                          "?feature=RealTimeAdherence"])
        self.assertEqual(requests(stats, UNIT_ROUTE), UNITS)
        self.assertTrue(wait_for(lambda: self.rx.get(PLUGIN, "self", "adherence_requests")
                                 == 1 + UNITS, 10, 0.5))
        self.assertEqual(self.rx.get(PLUGIN, "self", "adherence_failures"), 0)
        print(f"adherence: {1 + UNITS} requests for {UNITS} units, the rest from "
              "their topics", file=sys.stderr)

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


class RealtimeAdherenceDownloadTest(AdherenceValues):
    """Every unit answers only a downloadUrl, pre-signed (the simulator
    refuses a request there that carries a token): each fetched without the
    token, read as the same listing, the values equal to the truth both
    ways."""
    FORM = "presigned"

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "4", "--agents", "30", "--mgmt-units", str(UNITS),
                            "--flows", "2", "--adherence-answer", "download",
                            "--adherence-download", cls.FORM)
        cls.start_collectd("    Adherence true\n    AdherenceEvery 86400\n",
                           interval=INTERVAL, timeout=90)

    def downloads(self):
        return self.truth()["downloads"]

    def test_1_values_equal_the_truth_both_ways(self):
        self.read_once()
        self.equal_soon("the values of the downloaded listings")
        got = self.series()
        self.assertEqual(len(got), UNITS * 13)
        self.assertEqual(sum(v for (_, t, _), (_, v) in got.items()
                             if t == "adherence_agents"), 30)
        d = self.downloads()
        self.assertEqual((d["asked"], d["served"], d["with_token"]), (UNITS, UNITS, 0), d)
        self.assertEqual(self.self_soon("adherence_requests", lambda v: v >= 1 + 2 * UNITS),
                         1 + 2 * UNITS)
        self.assertEqual(self.rx.get(PLUGIN, "self", "adherence_failures"), 0)
        print(f"adherence by downloadUrl ({self.FORM}): {UNITS} units, {len(got)} series "
              f"equal the truth, downloads {d}", file=sys.stderr)

    def test_2_changes_follow_from_the_topics(self):
        self.sim._open("/sim/adherence", {"random": 10, "seed": 7})
        self.equal_soon("the values after 10 changes")

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


class RealtimeAdherenceDownloadTokenTest(RealtimeAdherenceDownloadTest):
    """The downloadUrl is on the API's origin and wants the token: asked
    without it (401), then with it; the values equal the truth."""
    FORM = "token"

    def test_1_values_equal_the_truth_both_ways(self):
        self.read_once()
        self.equal_soon("the values of the downloaded listings")
        d = self.downloads()
        self.assertEqual((d["asked"], d["served"], d["with_token"], d["refused"]),
                         (2 * UNITS, UNITS, UNITS, {"401": UNITS}), d)
        self.assertEqual(self.self_soon("adherence_requests", lambda v: v >= 1 + 3 * UNITS),
                         1 + 3 * UNITS)
        self.assertEqual(self.rx.get(PLUGIN, "self", "adherence_failures"), 0)
        print(f"adherence by downloadUrl ({self.FORM}): downloads {d}", file=sys.stderr)


class RealtimeAdherenceDownloadElsewhereTest(RealtimeAdherenceDownloadTest):
    """The downloadUrl is on another origin and wants the token: the token
    is never sent there; the units have no values, each read a failure
    counted and logged, and the rest of the plugin goes on."""
    FORM = "token_elsewhere"

    def test_1_values_equal_the_truth_both_ways(self):
        self.assertTrue(wait_for(lambda: (self.rx.get(PLUGIN, "self", "adherence_failures")
                                          or 0) >= UNITS, 60), "no failure counted")
        d = self.downloads()
        self.assertEqual((d["asked"], d["served"], d["with_token"], d["refused"]),
                         (UNITS, 0, 0, {"401": UNITS}), d)
        self.assertEqual({k for k in self.rx.snapshot() if k[3] in TYPES}, set())
        self.assertIn("downloadUrl answered HTTP 401 without the token, and is not on "
                      "the API's origin: the token is not sent there", self.cd.log_text())
        self.assertEqual(self.rx.get(PLUGIN, "self", "queues"), 4)   # the rest goes on

    def test_2_changes_follow_from_the_topics(self):
        # no unit was read whole: a topic's message alone puts no value
        self.sim._open("/sim/adherence", {"random": 10, "seed": 7})
        time.sleep(2 * INTERVAL)
        self.assertEqual({k for k in self.rx.snapshot() if k[3] in TYPES}, set())


class RealtimeAdherenceClockTest(AdherenceValues):
    """collectd's clock 5 s ahead of Genesys' (libfaketime; the simulator's
    change times are its wall clock, as Genesys' are Genesys'): each
    duration is the time since the change on Genesys' clock at the value's
    instant, which the plugin places by the answers' Date headers (whole
    seconds: within half a second from one read), not 5 s more."""
    AHEAD = 5.0

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "4", "--agents", "30", "--mgmt-units", str(UNITS),
                            "--flows", "2", "--start", "now")
        make = lambda body, stock: FakeClockCollectd(  # noqa: E731
            body, cls.sim, 1, ahead_ms=int(cls.AHEAD * 1000), stock=stock)
        cls.start_collectd("    Adherence true\n    AdherenceEvery 86400\n",
                           interval=INTERVAL, timeout=90, make=make)

    def test_1_durations_on_genesys_clock(self):
        self.read_once()
        self.assertTrue(wait_for(lambda: len(self.series()) == UNITS * 13, 30, 0.5))
        truth, got = self.truth(), self.series()
        worst = 0.0
        for uid, u in truth["units"].items():
            when, longest = got[(uid, "adherence_out_duration", "longest")]
            genesys_ms = (when - self.AHEAD) * 1000   # the value's instant, Genesys' clock
            want = max((genesys_ms - t for t in u["out_since_ms"]), default=0) / 1000
            self.assertLessEqual(abs(longest - want), 0.6, (uid, longest, want))
            worst = max(worst, abs(longest - want))
            for s, inst in STATES.items():   # the counts exactly
                self.assertEqual(got[(uid, "adherence_agents", inst)][1], u["states"][s])
        print(f"adherence with the host {self.AHEAD} s ahead: {UNITS} units' longest "
              f"exceptions within {worst:.3f} s of Genesys' clock", file=sys.stderr)

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


class RealtimeAdherenceRefusedTest(RealtimeTestCase):
    """The role lacks wfm:realtimeAdherence:view: the listing with
    feature=RealTimeAdherence has no unit, said once (a warning); no unit
    asked, no adherence series, the queues go on."""
    PERM = "wfm:realtimeAdherence:view"

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "4", "--agents", "20", "--mgmt-units", "2",
                            "--flows", "2", "--deny-permission", cls.PERM)
        cls.start_collectd("    Adherence true\n    AdherenceEvery 30\n",
                           interval=INTERVAL, timeout=90)

    def test_1_no_unit_listed_said_once(self):
        self.assertTrue(wait_for(lambda: requests(self.sim.stats(), UNITS_ROUTE) > 0,
                                 30, 0.5), "no listing")
        time.sleep(3 * INTERVAL)
        stats = self.sim.stats()
        self.assertEqual(requests(stats, UNITS_ROUTE), 1)
        self.assertEqual(requests(stats, UNIT_ROUTE), 0)
        log = self.cd.log_text()
        self.assertEqual(log.count("real-time adherence: no management unit listed for "
                                   "real-time adherence"), 1, log[-2000:])
        self.assertIn(self.PERM, log)
        self.assertEqual({k for k in self.rx.snapshot() if k[3] in TYPES}, set())
        self.assertEqual(self.rx.get(PLUGIN, "self", "queues"), 4)   # the rest goes on

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


if __name__ == "__main__":
    run_tests(__name__)
