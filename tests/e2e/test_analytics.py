# SPDX-License-Identifier: MIT
"""End to end: genesys_analytics in the real collectd against the simulator
over TLS, for a sped-up hour at PT5M. For every queue, media type and bucket,
the dispatched offered/answered/abandoned counts and handle-time sums equal
the simulator's ground truth, and the counters equal the sum of the buckets:
in a clean run with late data (picked up by the revisit, counters moving by
exactly that difference), and in a run with a 429 storm, a run of 503s and
collectd SIGKILLed and restarted several buckets later. Both runs also
collect agent time in status (AgentStatus): per routing status and presence
and bucket, the sum over all agents equals the truth's user_buckets, and the
counters equal the sum of the buckets.

The simulator runs 60 times faster than the wall clock; collectd runs under
libfaketime at the same speed from the simulator's current time, so the
plugin's own clock decides which buckets are closed, as in production."""
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import FakeClockCollectd, iso_ms, run_tests  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_analytics"
SPEED = 60
G_MS = 300000
QUERY = "POST /api/v2/analytics/conversations/aggregates/query"
USER_QUERY = "POST /api/v2/analytics/users/aggregates/query"
AGENTS = 40
COUNTS = ("offered", "answered", "abandoned")


def analytics_values(rx):
    """{(queue, type, type_instance): {time_ms: [values in arrival order]}}"""
    out = {}
    with rx.lock:
        for _, t, key, value in rx.arrivals:
            if key[1] != PLUGIN or key[2] == "self":
                continue
            series = out.setdefault((key[2], key[3], key[4]), {})
            series.setdefault(round(t * 1000), []).append(value)
    return out


def last_self(rx, type_):
    return rx.get(PLUGIN, "self", type_)


class AnalyticsRun:
    """One sped-up hour: simulator, receiver, collectd."""

    def __init__(self, extra="", sim_args=()):
        self.sim = Simulator("--queues", "4", "--agents", str(AGENTS), "--flows", "2",
                             "--speed", str(SPEED), "--start", "now",
                             "--warmup", "600", *sim_args)
        self.rx = Receiver()
        self.state = None
        block = self.sim.org_block(
            "acme",
            extra='    Host "acme"\n    InstanceFrom "id"\n'
            '    Granularity "PT5M"\n    SettleDelay 30\n'
            "    RevisitWindow 900\n    BackfillHorizon 7200\n"
            "    AgentStatus true\n" + extra)
        self.cd = FakeClockCollectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 30\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + self.rx.config(),
            self.sim, SPEED, stock=("logfile", "csv", "write_http"),
            write_threads=1)  # every bucket compared: in order

    def sim_time_ms(self):
        return iso_ms(self.sim._open("/sim/info")["sim_time"])

    def wait_sim(self, until_ms, timeout=200):
        deadline = time.monotonic() + timeout
        while self.sim_time_ms() < until_ms and time.monotonic() < deadline:
            time.sleep(0.2)

    def wait_buckets(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (last_self(self.rx, "buckets_dispatched") or 0) > 0 and \
                    self.done_until() is not None and self.done_until() >= n:
                return True
            time.sleep(0.2)
        return False

    def done_until(self):
        vals = analytics_values(self.rx)
        ends = [t for (q, ty, ti), s in vals.items() if ty == "total_offered" for t in s]
        return max(ends) if ends else None

    def close(self):
        self.cd.cleanup()
        self.sim.stop()


class AnalyticsTestBase(unittest.TestCase):
    def check_against_truth(self, run, late=None):
        """Compares every bucket and counter with /sim/truth."""
        run.sim.fault({"fault": "pause"})
        truth = run.sim._open("/sim/truth?granularity=PT5M&buckets=40&users=1")
        vals = analytics_values(run.rx)
        self.check_agents(vals, truth)
        vals = {k: v for k, v in vals.items() if k[0] != "agents"}
        ends = sorted({t for (q, ty, ti), s in vals.items() if ty == "total_offered"
                       for t in s})
        self.assertTrue(ends, "no counters dispatched")
        first = min(t for (q, ty, ti), s in vals.items() for t in s) - G_MS
        last = ends[-1]
        self.assertGreaterEqual((last - first) // G_MS, 10, "fewer than 10 buckets done")
        buckets = {}
        for iv, queues in truth["buckets"].items():
            s, e = iv.split("/")
            start = round(iso_ms(s))
            if first <= start and start + G_MS <= last:
                buckets[start + G_MS] = queues
        self.assertEqual(len(buckets), (last - first) // G_MS,
                         "truth does not cover the run")

        def final(series, t):
            got = vals.get(series, {}).get(t)
            return got[-1] if got else None

        checked = 0
        totals = {}
        for end, queues in sorted(buckets.items()):
            for q, media in queues.items():
                for m, tr in media.items():
                    for c in COUNTS:
                        want = tr[c]
                        got = final((q, c, m), end)
                        self.assertEqual(want, got or 0, f"{c} {q} {m} at {end}")
                        totals[(q, c, m)] = totals.get((q, c, m), 0) + want
                    n = tr["handle"]["count"]
                    got_n = final((q, "duration_count", "handle-" + m), end)
                    self.assertEqual(n, got_n or 0, f"handle count {q} {m} at {end}")
                    if n:
                        avg = final((q, "duration_avg", "handle-" + m), end)
                        self.assertEqual(tr["handle"]["sum_ms"], round(avg * n * 1000),
                                         f"handle sum {q} {m} at {end}")
                    key = (q, "handle_ms", m)
                    totals[key] = totals.get(key, 0) + tr["handle"]["sum_ms"]
                    checked += 1
        self.assertGreater(checked, 20)
        # No bucket value the truth does not have.
        for (q, ty, ti), series in vals.items():
            if ty in COUNTS:
                for t, got in series.items():
                    if t in buckets and got[-1]:
                        self.assertIn(ti, buckets[t].get(q, {}), f"extra {ty} {q} {ti}")
        # Counters: the last total equals the sum of the buckets.
        for (q, c, m), want in totals.items():
            if c == "handle_ms":
                series = vals.get((q, "total_duration_ms", "handle-" + m), {})
            else:
                series = vals.get((q, "total_" + c, m), {})
            got = series[max(series)][-1] if series else 0
            self.assertEqual(want, got, f"counter {c} {q} {m}")
            # Counters only go up.
            ordered = [series[t][-1] for t in sorted(series)]
            self.assertEqual(ordered, sorted(ordered), f"counter {c} {q} {m} went down")
        # Every (series, time) dispatched more than once carries the same
        # value, except the bucket that received late data.
        for (q, ty, ti), series in vals.items():
            for t, got in series.items():
                if len(set(got)) > 1:
                    self.assertIsNotNone(late, f"{q} {ty} {ti} at {t}: {got}")
                    self.assertEqual((q, t), (late["queueId"], late["end"]),
                                     f"{q} {ty} {ti} at {t} revised: {got}")
        return vals, last


    def check_agents(self, vals, truth):
        """Agent time per status and bucket equals the truth's sum over all
        agents; no bucket missing in between; counters equal the sum."""
        by_end = {round(iso_ms(iv.split("/")[1])): kinds
                  for iv, kinds in truth["user_buckets"].items()}
        series = {ti: s for (q, ty, ti), s in vals.items()
                  if q == "agents" and ty == "agent_time"}
        ends = sorted({t for s in series.values() for t in s})
        self.assertGreaterEqual(len(ends), 10, "fewer than 10 agent buckets")
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)),
                         "an agent bucket is missing")
        model_start = iso_ms(truth["model_start"])
        totals = {}
        for end in ends:
            self.assertIn(end, by_end, "truth does not cover the agent buckets")
            want = {f"{kind}-{st}": ms for kind, d in by_end[end].items()
                    for st, ms in d.items()}
            got = {ti: round(s[end][-1] * 1000) for ti, s in series.items() if end in s}
            self.assertEqual(want, got, f"agent time at {end}")
            if end - G_MS >= model_start:  # the simulator's own sum, whole buckets
                # and the users deactivated since, up to their deactivation
                former = sum(max(0, min(end, iso_ms(u)) - (end - G_MS))
                             for u in truth["deactivated"].values())
                self.assertEqual(sum(v for k, v in want.items() if k.startswith("routing-")),
                                 AGENTS * G_MS + former)
            for k, v in want.items():
                totals[k] = totals.get(k, 0) + v
            for ti, s in series.items():  # dispatched again: same value
                if end in s:
                    self.assertEqual(len(set(s[end])), 1, f"agent {ti} at {end}: {s[end]}")
        print("agent status: %d values compared (each equal, asserted above), %d counters"
              % (sum(len(by_end[e]["routing"]) + len(by_end[e]["presence"]) for e in ends),
                 len(totals)), file=sys.stderr)
        for k, want in totals.items():
            counter = vals.get(("agents", "total_agent_time_ms", k), {})
            self.assertTrue(counter, f"no counter for {k}")
            self.assertEqual(counter[max(counter)][-1], want, f"agent counter {k}")
            ordered = [counter[t][-1] for t in sorted(counter)]
            self.assertEqual(ordered, sorted(ordered), f"agent counter {k} went down")
        return ends


class CleanHourWithLateData(AnalyticsTestBase):
    def test_hour_equals_truth_and_late_data_moves_counters(self):
        run = AnalyticsRun()
        try:
            run.cd.start()
            t0 = run.sim_time_ms()
            run.wait_sim(t0 + 40 * 60000)
            # Late handle time in a bucket already dispatched (two ago).
            # The busiest queue and media type, so the bucket had handle
            # times before the late one.
            queues = run.sim._open("/sim/truth")["queues"]
            queue, media = max(((q, m) for q in queues for m in queues[q]["media"]),
                               key=lambda qm: queues[qm[0]]["media"][qm[1]]
                               ["cumulative"]["offered"])
            late = run.sim.fault({"fault": "late_data", "queueId": queue,
                                  "mediaType": media, "buckets_ago": 2,
                                  "value_ms": 7777})["results"][0]
            start = round(iso_ms(late["time"])) // G_MS * G_MS
            late["end"] = start + G_MS
            before = analytics_values(run.rx).get((queue, "total_duration_ms",
                                                   "handle-" + media), {})
            run.wait_sim(t0 + 62 * 60000)
            vals, last = self.check_against_truth(run, late)
            revised = vals[(queue, "duration_count", "handle-" + media)][late["end"]]
            first_count = revised[0] if len(revised) > 1 else 0
            self.assertEqual(revised[-1], first_count + 1, revised)
            self.assertGreaterEqual(last_self(run.rx, "bucket_revisions"), 1)
            # Every request asked for a new bucket: the minimum.
            stats = run.sim.stats()["requests"][QUERY]
            buckets = len({t for (q, ty, ti), s in vals.items()
                           if ty == "total_offered" for t in s})
            self.assertEqual(stats["by_status"].get("200"), stats["total"])
            # Each interval asked ends past every one asked before: no
            # request was for buckets already had. (Read from the order
            # asked, not from a count against the values received, which
            # raced collectd's clock: it does not pause with the simulator.)
            asked = run.sim.stats()["aggregate_intervals"]["conversations"]
            self.assertGreaterEqual(len(asked), stats["total"])
            ends_asked = [e for s, e in asked]
            self.assertEqual(ends_asked, sorted(set(ends_asked)), asked)
            self.assertGreaterEqual(stats["total"], buckets)
            self.assertTrue(before)
            # 40 agents: one users aggregates request per range, each with
            # at least one new bucket.
            users = run.sim.stats()["requests"][USER_QUERY]
            self.assertEqual(users["by_status"].get("200"), users["total"])
            # the users deleted before the run (listed only with state=any)
            # are never asked for: a range costs the active and deactivated
            self.assertTrue(run.sim._open("/sim/truth?users=1")["deleted"])
            self.assertEqual(run.sim.stats().get("users_query_deleted", 0), 0)
            agent_ends = {t for (q, ty, ti), s in analytics_values(run.rx).items()
                          if q == "agents" and ty == "agent_time" for t in s}
            self.assertLessEqual(users["total"], len(agent_ends))
            # The revision of the late bucket goes out with its own (older)
            # timestamp, which collectd's cache refuses with an error for
            # each of that queue and media's series: allowed, nothing else.
            revised = (r"uc_update: Value too old: name = acme/genesys_analytics-"
                       + re.escape(queue) + r"/[^;/]+-" + re.escape(media)
                       + r"; value time = " + re.escape("%.3f" % (late["end"] / 1000))
                       + r"; last cache update = \d+\.\d+;")
            self.assertEqual(run.cd.bad_log_lines(allow=[revised]), [])
        finally:
            run.close()


class FaultsKillAndRestart(AnalyticsTestBase):
    def test_429_503_and_sigkill_lose_and_double_nothing(self):
        run = AnalyticsRun(extra="    MaxRetries 1\n")
        try:
            run.cd.start()
            t0 = run.sim_time_ms()
            run.wait_sim(t0 + 12 * 60000)
            run.sim.fault({"fault": "rate_limit_storm", "count": 6, "retry_after": 1,
                           "path": "/api/v2/analytics"})
            run.wait_sim(t0 + 22 * 60000)
            run.sim.fault({"fault": "http_5xx", "status": 503, "count": 6,
                           "path": "/api/v2/analytics"})
            run.wait_sim(t0 + 32 * 60000)
            run.cd.proc.send_signal(signal.SIGKILL)
            run.cd.proc.wait()
            run.wait_sim(t0 + 50 * 60000)  # several buckets later
            run.cd.start()
            run.wait_sim(t0 + 66 * 60000)
            self.check_against_truth(run)
            stats = run.sim.stats()["requests"][QUERY]["by_status"]
            self.assertGreaterEqual(stats.get("429", 0), 1)
            self.assertGreaterEqual(stats.get("503", 0), 1)
            self.assertGreaterEqual(last_self(run.rx, "buckets_backfilled"), 3)
            self.assertEqual(last_self(run.rx, "gap_buckets"), 0)
            # The injected 429s and 503s fail their query (logged, asked for
            # again); no other error.
            failed = (r'genesys_analytics plugin: Org "acme": [a-z ]+ query for \S+ '
                      r"failed \(asked for again next cycle\): HTTP "
                      r"(429 too\.many\.requests|503 service\.unavailable): .*")
            self.assertEqual(run.cd.bad_log_lines(allow=[failed]), [])
        finally:
            run.close()



class AgentGranularityRefused(unittest.TestCase):
    def test_a_400_of_the_users_query_is_logged_once_whole(self):
        """AgentStatusGranularity PT1M against an org whose users query takes
        PT15M and longer only: Genesys' answer is logged once, whole, while
        the ranges are asked for again (rate-limited complaints), and the
        queue aggregates go on."""
        run = AnalyticsRun(extra='    AgentStatusGranularity "PT1M"\n',
                           sim_args=("--user-granularities", "PT15M,PT30M,PT1H"))
        try:
            run.cd.start()
            t0 = run.sim_time_ms()
            run.wait_sim(t0 + 20 * 60000)
            users = run.sim.stats()["requests"][USER_QUERY]["by_status"]
            self.assertGreaterEqual(users.get("400", 0), 2, users)
            once = re.findall(r"users aggregates query refused buckets of 60 s "
                              r"\(AgentStatusGranularity\): HTTP 400 bad.request: "
                              r"granularity PT1M is not supported", run.cd.log_text())
            self.assertEqual(len(once), 1, run.cd.log_text()[-3000:])
            self.assertIsNotNone(run.done_until(), "queue aggregates stopped")
            self.assertEqual(run.cd.bad_log_lines(allow=[
                r".*users aggregates query refused buckets of 60 s.*",
                r".*users aggregates query for .* failed \(asked for again next cycle\).*"]),
                [])
        finally:
            run.close()


if __name__ == "__main__":
    run_tests(__name__)
