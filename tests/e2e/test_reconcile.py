# SPDX-License-Identifier: MIT
"""End to end: collectd-genesys-check --reconcile (the last settled buckets
of every history family asked of Genesys afresh and set beside what the
running collectd holds, both ways).

The simulator runs at wall-clock speed with two hours of history behind
it; collectd (unixsock, csv) runs genesys_analytics with the queue
aggregates and AgentStatus, and dispatches the newest settled bucket. Each
case waits first until that bucket is the one collectd holds and the next
one is at least a minute from settling, so no bucket settles during a case.

- A clean run: every value compared is equal, exit 0, and values of both
  families were compared (not everything pending).
- Genesys changes one value behind the daemon's back (the simulator's
  late_data fault: one more handled voice conversation of one queue in the
  bucket collectd holds): exit 1, and a line names that queue, media voice
  and the metric duration_count handle with both values; nothing else
  differs.
- collectd holds a series at that bucket that Genesys does not answer (a
  PUTVAL of email offered for a queue with no email): exit 1, a line names
  it with Genesys' side "none" (the other way)."""
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import BUILD, Collectd, run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

CHECK = os.path.join(BUILD, "collectd-genesys-check")
PLUGIN = "genesys_analytics"
G_S = 300
SETTLE_S = 30
SUMMARY = re.compile(r"^reconcile: (\d+) values compared, (\d+) differ, (\d+) not read",
                     re.M)


def reconcile(tc, conf):
    """The check's run on conf and its summary: (compared, differ, not read)."""
    r = subprocess.run([CHECK, "--reconcile", conf], capture_output=True, text=True,
                       timeout=120)
    m = SUMMARY.search(r.stdout)
    tc.assertIsNotNone(m, f"exit {r.returncode}: {r.stdout}{r.stderr}")
    return r, tuple(int(x) for x in m.groups())


class ReconcileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "3", "--agents", "12", "--speed", "1",
                            "--start", "now", "--warmup", "7200")
        org = cls.sim.org_block(
            "acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
            f'    Granularity "PT5M"\n    SettleDelay {SETTLE_S}\n'
            "    AgentStatus true\n")
        cls.cd = Collectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 5\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{org}</Plugin>\n",
            stock=("logfile", "csv", "unixsock"), write_threads=1)
        cls.sock = cls.cd.sock
        cls.cd.start()

    @classmethod
    def tearDownClass(cls):
        cls.cd.stop()
        cls.cd.cleanup()
        cls.sim.stop()

    def unixsock(self, line):
        return self.cd.unixsock(line)

    def held_bucket(self, type_):
        """The newest bucket end (s) collectd holds of a type."""
        _, lines = self.unixsock("LISTVAL")
        ends = [round(float(ln.split()[0])) for ln in lines if f"/{PLUGIN}-" in ln
                and f"/{type_}-" in ln]
        return max(ends) if ends else None

    def steady(self):
        """Waits until collectd holds the newest settled bucket of both
        families (the agent status' reads are apart from the queue
        aggregates', and may come later) and the next one settles no
        sooner than 60 s from now: its end (s)."""
        deadline = time.monotonic() + 2 * G_S
        while time.monotonic() < deadline:
            now = self.sim._open("/sim/truth?granularity=PT5M&buckets=1")[
                "sim_time_ms"] / 1000
            newest = (now - SETTLE_S) // G_S * G_S  # end of newest settled
            next_settles = newest + G_S + SETTLE_S
            held = (self.held_bucket("offered"), self.held_bucket("agents_average"))
            if held == (newest, newest) and next_settles - now >= 60:
                return int(newest)
            time.sleep(1)
        self.fail("collectd never held the newest settled bucket: "
                  + self.cd.log_text()[-2000:])

    def reconcile(self):
        return reconcile(self, self.cd.conf)

    def test_1_clean_run_agrees(self):
        self.steady()
        r, (compared, differ, _) = self.reconcile()
        self.assertEqual((0, 0), (r.returncode, differ), r.stdout + r.stderr)
        # both families reported, and values of each compared
        self.assertRegex(r.stdout, r"\"acme\": queue aggregates: reconcile of \S+ "
                                   r"\(\d+ requests, [1-9]\d* values\): OK")
        self.assertRegex(r.stdout, r"\"acme\": agent status: reconcile of \S+ "
                                   r"\(\d+ requests, [1-9]\d* values\): OK")
        self.assertGreater(compared, 3 * 4, r.stdout)

    def test_2_value_changed_behind_the_daemon(self):
        end = self.steady()
        f = self.sim.fault({"fault": "late_data", "mediaType": "voice",
                            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                  time.gmtime(end - G_S + 1)),
                            "value_ms": 99000})
        qid = f["results"][0]["queueId"]
        r, (_, differ, _) = self.reconcile()
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        lines = [ln for ln in r.stdout.splitlines() if ": collectd " in ln]
        # one more conversation: its count and its average handle time
        self.assertEqual(differ, len(lines), r.stdout)
        for ln in lines:
            self.assertIn(f"acme: queue {qid}, media voice, metric ", ln)
        # the queue had voice conversations in the bucket (its series
        # compared) or none (collectd holds no value of it at the bucket)
        m = re.search(rf"queue {qid}, media voice, metric duration_count handle: "
                      r"collectd (\d+|no value), Genesys (\d+) ", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        before = 0 if m.group(1) == "no value" else int(m.group(1))
        self.assertEqual(before + 1, int(m.group(2)), r.stdout)

    def test_3_series_genesys_does_not_answer(self):
        end = self.steady()
        _, lines = self.unixsock("LISTVAL")
        queue = next(ln.split()[1].split("/")[1][len(PLUGIN) + 1:] for ln in lines
                     if f"/{PLUGIN}-" in ln and "/offered-voice" in ln)
        # a media type collectd holds nothing of for that queue
        media = next(m for m in ("video", "screenshare", "cobrowse", "message")
                     if not any(f"{PLUGIN}-{queue}/" in ln and ln.endswith("-" + m)
                                for ln in lines))
        head, _ = self.unixsock(
            f'PUTVAL "acme/{PLUGIN}-{queue}/offered-{media}" interval={G_S} {end}:7')
        self.assertTrue(head.startswith("0 "), head)
        # the cache takes it when a write thread has it, a moment later
        put = f"{end}.000 acme/{PLUGIN}-{queue}/offered-{media}"
        self.assertTrue(wait_for(lambda: put in self.unixsock("LISTVAL")[1], 10, 0.1),
                        f"{put} never in collectd's cache")
        r, _ = self.reconcile()
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        self.assertRegex(r.stdout, rf"acme: queue {queue}, media {media}, metric offered: "
                                   r"collectd 7, Genesys none ")


class LiveReconcileTest(RealtimeTestCase):
    """genesys_realtime: the observations asked of Genesys before and after
    collectd's values are read, queues named by name (spaces and all, as
    collectd holds them sanitised). The simulator's model is frozen once
    collectd holds every queue (its clock runs on: counts stay, ages grow as
    they do, so a clean run agrees by the rule and not by chance); then
    Genesys answers one queue's voice waiting count 4 higher with no
    notification (the obs_offset fault), and then as it was."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", "3", "--agents", "12", "--speed", "1",
                            "--start", "now")
        # queues by name, as the plugin names them by default: "Billing EN
        # 001" is "Billing_EN_001" in collectd
        cls.start_collectd(keys='    InstanceFrom "name"\n',
                           stock=("logfile", "csv", "write_http", "unixsock"))
        cls.names = {qid: re.sub(r"[^A-Za-z0-9_.-]+", "_", q["name"])
                     for qid, q in cls.sim.truth()["queues"].items()}
        cls.queues = list(cls.names.values())

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()

    def reconcile(self):
        return reconcile(self, self.cd.conf)

    def held(self):
        return self.cd.listval()

    def test_1_clean_then_a_value_behind_the_daemon(self):
        self.assertTrue(wait_for(lambda: {i.split("/")[1][len("genesys_realtime-"):]
                                          for i in self.held() if "/waiting-" in i}
                                 >= set(self.queues), 30, 0.2), self.held())
        self.sim.fault({"fault": "freeze"})
        r, (compared, differ, _) = self.reconcile()
        self.assertEqual((0, 0), (r.returncode, differ), r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'"acme": live values: reconcile \(3 queues\): OK')
        # waiting, interacting, alerting and two ages per media; agents
        self.assertGreater(compared, 3 * 5, r.stdout)
        f = self.sim.fault({"fault": "obs_offset", "mediaType": "voice",
                            "metric": "oWaiting", "delta": 4})["results"][0]
        r, (_, differ, _) = self.reconcile()
        self.assertEqual((1, 1), (r.returncode, differ), r.stdout + r.stderr)
        m = re.search(rf"acme: queue {self.names[f['queueId']]}, media voice, metric waiting: "
                      r"collectd (\d+), Genesys (\d+)\.\.(\d+) \(now\)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual((int(m.group(1)) + 4,) * 2, (int(m.group(2)), int(m.group(3))))
        self.sim.fault({"fault": "obs_offset", "mediaType": "voice",
                        "metric": "oWaiting", "delta": 0})
        r, (_, differ, _) = self.reconcile()
        self.assertEqual((0, 0), (r.returncode, differ), r.stdout + r.stderr)


if __name__ == "__main__":
    run_tests(__name__)
