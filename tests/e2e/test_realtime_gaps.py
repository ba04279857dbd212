# SPDX-License-Identifier: MIT
"""End to end, the conversation counters across socket gaps: genesys_realtime
with ConversationEvents in the real collectd against the simulator over TLS
(60 queues, 2 channels of 60 topics), the model running at the wall clock's
pace while the channels are put through nine faults in a row (socket_closing,
token_revoked, dropped subscriptions, a close with 1011, revoked tokens,
expired channels held off by 429s for a long gap, an oversized frame, a
malformed baseline answer that loses the channel again, an abrupt close).
Genesys queues nothing for a socket that is down, so moments of the gaps are
missed live; the plugin repairs each gap from the conversation aggregates of
its window (GapRepair). Then every offered, answered and abandoned counter of
every queue and media type equals the simulator's truth of what happened
since the first snapshot, both ways (a series the truth lacks is a failure
too), and the repair did add moments.

Every moment of the last gap is late: hidden from the aggregates until the
test releases it (agg_release) once the window's first ask has been answered
without it. The first ask adds the other gaps' moments, the second,
GapRepairRecheck later, adds the late ones: without it the counters stay
short.

Timing (the windows are whole minutes, so the test follows the simulator's
minute): the simulator's clock starts a few seconds off the host's (up to
AHEAD ahead, BEHIND behind, as a host clock may be off Genesys'; the plugin
places the gaps on the events' clock) so that its first whole minute after
the plugin started comes right after the first snapshot; the nine faults
take about 45 s of that minute, so every gap shares one window, asked
GapRepairDelay after its end (as far as the simulator is behind, and SETTLE
more: the simulator has passed the window's end then). The snapshots freeze
the model (its clock runs on: the offset stays as set)."""
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests, sim_ms  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import (PLUGIN, conv_counters, requests,  # noqa: E402
                            settled_counters, wait_for)  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 60
PER_CHANNEL = 60  # two topics a queue: 30 queues a channel
CHANNELS = 2
HEARTBEAT_TIMEOUT = 8
# How far the simulator's clock may start ahead of the host's, s: the
# restarted plugin of test_02, which learns the offset only from the moments
# it sees, ends its window 5 s after the host's clock says it is back (a
# later whole minute). And behind it: past about 20 s that end would be a
# minute later than need be.
AHEAD = 2
BEHIND = 18
SETTLE = 4
RECHECK = 10  # the release of the late moments comes between the asks
INTERVAL = 2  # collectd's, start_collectd's default
OBS_QUERY = "POST /api/v2/analytics/queues/observations/query"
AGG_QUERY = "POST /api/v2/analytics/conversations/aggregates/query"
COUNTERS = {"offered": "conv_offered", "answered": "conv_answered",
            "abandoned": "conv_abandoned"}
RECONNECT_TIMEOUT = 150
# offered, answered, abandoned in a state file's "m" (gen_conv.h)
MOMENT_INDEX = (0, 2, 4)
# The ERROR line the malformed baseline provokes on purpose.
FAULT_ERRORS = (
    r'genesys_realtime plugin: Org "acme": queue observations query failed: '
    r"malformed JSON in HTTP 200 answer: .*",
)
# The first eight faults, those of no backoff first: the plugin's backoff
# grows with each failed session (none lasts a minute here), the last
# failure waits longest. The ninth (drop_sockets, every moment of its gap
# late) comes last.
GAPS = [
    ("socket_closing", {"fault": "socket_closing", "after": 1}),
    ("token_revoked", {"fault": "token_revoked"}),
    ("dropped subscriptions", {"fault": "no_longer_subscribed", "count": 7}),
    ("close 1011", {"fault": "close_sockets", "code": 1011}),
    ("revoked tokens", {"fault": "revoke_tokens"}),
    ("expired channels, 429s for a long gap",
     [{"fault": "rate_limit_storm", "path": "/api/v2/notifications/channels",
       "count": 4, "retry_after": 2}, {"fault": "expire_channels"}]),
    ("oversized frame", {"fault": "oversized_frame", "bytes": 2 * 1024 * 1024}),
    # The first baseline after the drop fails: lost again at once.
    ("malformed baseline",
     [{"fault": "malformed_json", "path": "/api/v2/analytics/queues/observations"},
      {"fault": "drop_sockets"}]),
]


def sim_start(now):
    """The instant the simulator's clock starts from (--start), s: up to
    AHEAD s ahead of now, BEHIND s behind, at :50 to :55 of a minute if it
    can: collectd starts then, and the first whole minute after it (the
    origin) comes once it is ready and the first snapshot taken."""
    def wait(t):  # how long the first fault waits for the origin, about
        return 0 if 50 <= t % 60 <= 55 else (50 - t % 60) % 60
    return min((math.floor(now) + d for d in range(AHEAD, -BEHIND - 1, -1)), key=wait)


class RealtimeGapsTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        start = sim_start(time.time())
        cls.sim = Simulator(
            "--queues", str(QUEUES), "--agents", str(QUEUES * 4), "--flows", "2",
            "--speed", "1", "--heartbeat", "1",
            "--start", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
            "--arrival-scale", "3",
            # late moments (none until agg_late) wait for agg_release
            "--agg-late-share", "0", "--agg-late-s", "3600",
        )
        sim_now = sim_ms(cls.sim) / 1000
        cls.delay = max(0, math.ceil(time.time() - sim_now + SETTLE))
        # The first whole minute of the simulator's clock after the plugin
        # started: no window starts earlier (the aggregates cannot tell the
        # moments before the counters began).
        cls.origin = math.ceil((sim_now + 2) / 60) * 60
        cls.start_collectd(
            f"    HeartbeatTimeout {HEARTBEAT_TIMEOUT}\n"
            f"    TopicsPerChannel {PER_CHANNEL}\n"
            "    ConversationEvents true\n"
            f"    GapRepairDelay {cls.delay}\n"
            f"    GapRepairRecheck {RECHECK}\n", step=0.2, interval=INTERVAL,
            ready=lambda: cls.has_baselined(CHANNELS)
            and cls.sim.stats()["sockets_open"] == CHANNELS)

    def behind(self):
        """How far the simulator's clock is behind the host's, s."""
        return time.time() - sim_ms(self.sim) / 1000

    def snapshot(self):
        """The counters and the truth with the model frozen (briefly: the
        simulator's clock runs on, what fell due meanwhile happens at the
        thaw)."""
        self.sim.fault({"fault": "freeze"})
        try:
            got = settled_counters(self, self.rx, COUNTERS.values(), host="acme")
            truth = self.sim.truth()
        finally:
            self.sim.fault({"fault": "thaw"})
        return got, truth

    def gap(self, faults, baselines=CHANNELS, then=None):
        """Injects faults and waits until both channels are back and
        re-read (then injects then); returns the seconds that took."""
        before = self.sim.stats()
        t0 = time.monotonic()
        self.sim.fault(faults)
        ok = wait_for(lambda: (lambda s: s["sockets_open"] == CHANNELS
                               and requests(s, OBS_QUERY) >= requests(before, OBS_QUERY)
                               + baselines)(self.sim.stats()),
                      RECONNECT_TIMEOUT, step=0.1)
        if then is not None:
            self.sim.fault(then)
        st = self.sim.stats()
        self.assertTrue(ok, "no reconnect (sockets open %d, observation queries %d "
                        "after %d):\n%s" % (st["sockets_open"], requests(st, OBS_QUERY),
                                            requests(before, OBS_QUERY),
                                            self.cd.log_text()[-3000:]))
        self.assertIsNone(self.cd.proc.poll(), "collectd died")
        took = time.monotonic() - t0
        time.sleep(1)  # the model runs between the faults
        return took

    def asked(self, queries, timeout, since=0.0, base=0):
        """Waits until the simulator has had more than `queries` aggregates
        queries and the plugin has dispatched its self-metrics since (at
        `since` or later; its count of queries is the simulator's less
        `base`: a restarted plugin counts from 0); returns the queries and
        the moments repaired then, or None when none came."""
        def dispatched():
            n = requests(self.sim.stats(), AGG_QUERY)
            got = self.rx.get_timed(PLUGIN, "self", "analytics_queries", host="acme")
            return n if n > queries and got and got[0] >= since and got[1] == n - base else 0
        if not wait_for(dispatched, timeout, step=0.2):
            return None
        n = dispatched()
        at = self.rx.get_timed(PLUGIN, "self", "analytics_queries", host="acme")[0]

        def repaired():  # dispatched by the same read, right after
            got = {k: self.rx.get_timed(PLUGIN, "self", "conv_repaired", k, host="acme")
                   for k in COUNTERS}
            if all(v is not None and v[0] >= at for v in got.values()):
                return {k: v[1] for k, v in got.items()}
            return None
        self.assertTrue(wait_for(repaired, 10), "conv_repaired not dispatched")
        return n, repaired()

    def test_01_counters_equal_truth_across_gaps(self):
        before, truth0 = self.snapshot()
        # The first fault once the simulator's clock has passed the origin.
        wait_for(lambda: sim_ms(self.sim) / 1000 >= self.origin + 1, 90, step=0.2)
        print(f"# origin passed; the simulator is {self.behind():.1f} s behind, "
              f"GapRepairDelay {self.delay}")
        for name, faults in GAPS:
            # A failed baseline is one more before the channel is back.
            took = self.gap(faults, CHANNELS + (name == "malformed baseline"))
            print(f"# {name}: channels back and re-read after {took:.1f} s")
        # The last: every moment from the fault until the channels are back
        # is late, hidden from the aggregates until agg_release.
        took = self.gap([{"fault": "agg_late", "share": 1}, {"fault": "drop_sockets"}],
                        then={"fault": "agg_late", "share": 0})
        stats = self.sim.stats()
        print(f"# abrupt close, its moments late: channels back and re-read after "
              f"{took:.1f} s ({stats['sim_time']})")
        agg0, hidden0 = requests(stats, AGG_QUERY), stats.get("agg_late_hidden", 0)

        # The window (every gap's: a minute apart or less, they share it) is
        # asked once its minute has ended and GapRepairDelay has passed.
        got = self.asked(agg0, timeout=90 + self.delay)
        self.assertIsNotNone(got, "the window was not asked:\n" + self.cd.log_text()[-3000:])
        asked1, first = got
        stats = self.sim.stats()
        behind = self.behind()
        hidden = stats.get("agg_late_hidden", 0) - hidden0
        print(f"# first ask: {asked1 - agg0} queries, {hidden} moments hidden, "
              f"repaired {first}; the simulator is {behind:.1f} s behind")
        # asked after the simulator's clock had passed the window's end
        self.assertLess(behind, self.delay - 1, "GapRepairDelay no longer covers "
                        "how far the simulator is behind")
        # The first ask repaired the first eight gaps; the late moments of
        # the ninth were hidden from it.
        self.assertGreater(sum(first.values()), 0, first)
        self.assertGreater(hidden, 0, "no late moment hidden from the first ask")
        released = self.sim.fault({"fault": "agg_release"})["results"][0]["agg_released"]
        # GapRepairRecheck later the window is asked again (compared first
        # when it is not: the counters then lack the late moments).
        got = self.asked(asked1, timeout=RECHECK + 20)
        stats = self.sim.stats()
        print(f"# second ask: {got and got[0] - asked1} queries, {released} late "
              f"moments released, repaired {got and got[1]}")
        after, truth1 = self.snapshot()
        compared = self.compare(before, truth0, after, truth1)
        self.assertIsNotNone(got, "the window was not asked again")
        asked2, second = got
        self.assertEqual(stats.get("agg_late_hidden", 0), hidden0 + hidden,
                         "moments still hidden from the second ask")
        # what the late moments brought, the second ask added
        self.assertGreater(sum(second.values()), sum(first.values()), second)
        asked = requests(self.sim.stats(), AGG_QUERY)
        self.assertEqual(asked - agg0, 2 * (asked1 - agg0), "asked once more")
        self.assertEqual(self.rx.get(PLUGIN, "self", "analytics_queries", host="acme"),
                         asked)
        self.assertEqual(self.rx.get(PLUGIN, "self", "analytics_query_failures",
                                     host="acme") or 0, 0)
        self.assertGreater(compared, QUEUES * len(COUNTERS))

    def compare(self, before, truth0, after, truth1):
        """Each counter moved as much as the truth between the snapshots,
        and no series the truth lacks; returns the counters compared."""
        mismatches, extra, compared = [], [], 0
        for qid, q in truth1["queues"].items():
            for media, m in q["media"].items():
                old = truth0["queues"][qid]["media"][media]["cumulative"]
                for name, type_ in COUNTERS.items():
                    want = m["cumulative"][name] - old[name]
                    have = after.get((qid, media, type_), 0) - before.get((qid, media, type_), 0)
                    compared += 1
                    if have != want:
                        mismatches.append((qid, media, name, have, want))
        for (qid, media, type_) in after:
            if media not in truth1["queues"].get(qid, {}).get("media", {}):
                extra.append((qid, media, type_))
        print(f"# {compared} counters compared, {len(mismatches)} differ")
        self.assertEqual(extra, [], "series the truth lacks")
        self.assertEqual(mismatches, [], f"{len(mismatches)} of {compared} differ "
                         "(queue, media, moment, plugin, truth)")
        return compared

    def saved(self):
        """{(queue, media, type): value} of the state file's offered,
        answered and abandoned counts, and when it was last written."""
        path = os.path.join(self.cd.dir, "genesys", "realtime-acme.json")
        with open(path) as f:
            doc = json.load(f)
        out = {}
        for qid, media in doc["queues"].items():
            for name, counts in media.items():
                for i, type_ in enumerate(("conv_offered", "conv_answered",
                                           "conv_abandoned")):
                    out[(qid, name, type_)] = counts["m"][MOMENT_INDEX[i]]
        return out, os.stat(path).st_mtime

    def test_02_counters_whole_across_a_kill(self):
        # collectd killed (no clean shutdown) just after a read saved the
        # counters: what it sent after the save is not in the file, and the
        # events while it is down are never sent. The restarted plugin
        # resumes from the file's time (the gap repair's window), holds the
        # counters back until that window is asked (never a step back) and
        # ends equal to the truth.
        # Every moment in the aggregates at once (agg_release showed the
        # late ones, none is late since): one indexed after the first ask
        # would leave a counter short (and maybe below what was sent) until
        # the second (genesys_realtime(5), GAPS).
        self.sim.fault({"fault": "agg_late", "share": 0})
        self.sim.fault({"fault": "agg_release"})
        hidden0 = self.sim.stats().get("agg_late_hidden", 0)
        before, truth0 = self.snapshot()
        # Killed as soon as a counter was sent beyond the file (a read saves
        # every 2 s: a moment sent since the last save, not in it).
        deadline = time.monotonic() + 60
        while True:
            file_counts, _ = self.saved()
            sent = conv_counters(self.rx, COUNTERS.values(), host="acme")
            if any(v > file_counts.get(k, 0) for k, v in sent.items()):
                break
            self.assertLess(time.monotonic(), deadline, "nothing sent after a save")
            time.sleep(0.02)
        self.cd.proc.kill()
        self.cd.proc.wait()
        killed_at = time.time()
        file_counts, _ = self.saved()
        ahead = [k for k, v in sent.items() if v > file_counts.get(k, 0)]
        print(f"# killed; {len(ahead)} counters sent beyond the state file")
        self.assertGreater(len(ahead), 0, "the case did not happen: nothing "
                           "sent after the last save")
        time.sleep(5)  # down: moments nobody sees
        stats = self.sim.stats()
        obs0, agg0 = requests(stats, OBS_QUERY), requests(stats, AGG_QUERY)
        restarted = time.time()
        self.cd.start()
        ok = wait_for(lambda: (lambda s: s["sockets_open"] == CHANNELS and
                               requests(s, OBS_QUERY) >= obs0 + CHANNELS)(self.sim.stats()),
                      RECONNECT_TIMEOUT, step=0.1)
        self.assertTrue(ok, "not back after the restart")
        # The window from the file's time is asked once the minute the
        # channels came back in has ended and GapRepairDelay has passed:
        # that ask makes the counters whole (the second adds nothing).
        got = self.asked(agg0, timeout=90 + self.delay, since=restarted, base=agg0)
        self.assertIsNotNone(got, "the window was not asked:\n" + self.cd.log_text()[-3000:])
        behind = self.behind()
        print(f"# asked; the simulator is {behind:.1f} s behind")
        self.assertLess(behind, self.delay - 1, "GapRepairDelay no longer covers "
                        "how far the simulator is behind")
        self.assertEqual(self.sim.stats().get("agg_late_hidden", 0), hidden0)
        after, truth1 = self.snapshot()
        compared = self.compare(before, truth0, after, truth1)
        self.assertGreater(compared, QUEUES * len(COUNTERS))
        # Never a step back: each counter's first value after the restart is
        # at least the last one sent before the kill; the counters were held
        # meanwhile, then released.
        first_after, back = {}, []
        for arrived, _, key, value in self.rx.arrival_list():
            h, plugin, queue, type_, media = key
            k = (queue, media, type_)
            if arrived > killed_at and type_ in COUNTERS.values() and k not in first_after:
                first_after[k] = value
                if value < sent.get(k, 0):
                    back.append((k, sent[k], value))
        self.assertEqual(back, [], "stepped back (counter, before, after)")
        held = [v for _, _, key, v in self.rx.arrival_list()
                if key[3] == "conv_held" and key[1] == PLUGIN]
        self.assertGreater(max(held), 0)
        self.assertEqual(self.rx.get(PLUGIN, "self", "conv_held", host="acme"), 0)

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines(FAULT_ERRORS)


if __name__ == "__main__":
    run_tests(__name__)
