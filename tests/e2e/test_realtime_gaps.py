# SPDX-License-Identifier: MIT
"""End to end, the conversation counters across socket gaps: genesys_realtime
with ConversationEvents in the real collectd against the simulator over TLS
(60 queues, 2 channels of 60 topics), the model running at the wall clock's
pace while the channels are put through nine faults in a row (an abrupt
close, a close with 1011, socket_closing, expired channels held off by 429s
for a long gap, revoked tokens, an oversized frame, token_revoked, dropped
subscriptions, a malformed baseline answer that loses the channel again). Genesys queues nothing for a socket that is down, so moments
of the gaps are missed live; the plugin repairs each gap from the
conversation aggregates of its window (GapRepair). Then every offered,
answered and abandoned counter of every queue and media type equals the
simulator's truth of what happened since the first snapshot, both ways (a
series the truth lacks is a failure too), and the repair did add moments.

The simulator's clock stops while the model is paused, so it trails the
wall clock by the pauses (a few seconds), as a host clock may be off
Genesys': the plugin places the gaps on the events' clock, and
GapRepairDelay waits for the simulator to have passed a window's end.
The simulator shows half of the moments to the aggregates 90 s late:
each window is asked again GapRepairRecheck later, and the counters are
whole only with what that second ask adds."""
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import (PLUGIN, conv_counters, requests,  # noqa: E402
                            settled_counters, wait_for)  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 60
PER_CHANNEL = 60  # two topics a queue: 30 queues a channel
CHANNELS = 2
HEARTBEAT_TIMEOUT = 8
REPAIR_DELAY = 20
# The simulator shows half of the moments to the aggregates LATE_S after
# they happened: a first ask REPAIR_DELAY after a window misses those of
# its last LATE_S - REPAIR_DELAY seconds, which hold every gap (a window
# ends at most 65 s after its gap: the baseline plus 5 s, rounded up to a
# minute); the second, RECHECK later, has them: REPAIR_DELAY + RECHECK
# is LATE_S and 20 s more, for the simulator's clock, which trails the
# wall clock by the pauses of the snapshots (3 s or more each; with 5 s
# the resumed window's last live moments were still hidden at the second
# ask and hid as many missed ones). Asked once, dozens of counters stay
# short.
LATE_S = 90
RECHECK = 90
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


class RealtimeGapsTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(
            "--queues", str(QUEUES), "--agents", str(QUEUES * 4), "--flows", "2",
            "--speed", "1", "--start", "now", "--heartbeat", "1",
            "--arrival-scale", "3",
            "--agg-late-share", "0.5", "--agg-late-s", str(LATE_S),
        )
        cls.started = time.time()
        cls.start_collectd(
            f"    HeartbeatTimeout {HEARTBEAT_TIMEOUT}\n"
            f"    TopicsPerChannel {PER_CHANNEL}\n"
            "    ConversationEvents true\n"
            f"    GapRepairDelay {REPAIR_DELAY}\n"
            f"    GapRepairRecheck {RECHECK}\n", step=0.2,
            ready=lambda: cls.has_baselined(CHANNELS)
            and cls.sim.stats()["sockets_open"] == CHANNELS)

    def snapshot(self):
        """The counters and the truth with the model paused (briefly: the
        simulator's clock stops with it)."""
        self.sim.fault({"fault": "pause"})
        try:
            got = settled_counters(self, self.rx, COUNTERS.values(), host="acme")
            truth = self.sim.truth()
        finally:
            self.sim.fault({"fault": "resume"})
        return got, truth

    def repaired(self):
        return {k: self.rx.get(PLUGIN, "self", "conv_repaired", k, host="acme") or 0
                for k in COUNTERS}

    def gap(self, faults, baselines=CHANNELS):
        """Injects faults and waits until both channels are back and
        re-read; returns the seconds that took."""
        before = self.sim.stats()
        t0 = time.monotonic()
        self.sim.fault(faults)
        ok = wait_for(lambda: (lambda s: s["sockets_open"] == CHANNELS
                               and requests(s, OBS_QUERY) >= requests(before, OBS_QUERY)
                               + baselines)(self.sim.stats()),
                      RECONNECT_TIMEOUT, step=0.1)
        st = self.sim.stats()
        self.assertTrue(ok, "no reconnect (sockets open %d, observation queries %d "
                        "after %d):\n%s" % (st["sockets_open"], requests(st, OBS_QUERY),
                                            requests(before, OBS_QUERY),
                                            self.cd.log_text()[-3000:]))
        self.assertIsNone(self.cd.proc.poll(), "collectd died")
        time.sleep(3)  # the model runs between the faults
        return time.monotonic() - t0

    def test_01_counters_equal_truth_across_gaps(self):
        # No window starts before the first whole minute the plugin counted
        # (the aggregates cannot tell the moments before its start): the
        # first fault comes after it, and after a heartbeat timeout more.
        origin = math.ceil((self.started + 5) / 60) * 60
        while time.time() < origin + HEARTBEAT_TIMEOUT + 10:
            time.sleep(0.5)
        before, truth0 = self.snapshot()
        gaps = [
            ("abrupt close", {"fault": "drop_sockets"}),
            ("close 1011", {"fault": "close_sockets", "code": 1011}),
            ("socket_closing", {"fault": "socket_closing", "after": 1}),
            ("expired channels, 429s for a long gap",
             [{"fault": "rate_limit_storm", "path": "/api/v2/notifications/channels",
               "count": 4, "retry_after": 5}, {"fault": "expire_channels"}]),
            ("revoked tokens", {"fault": "revoke_tokens"}),
            ("oversized frame", {"fault": "oversized_frame", "bytes": 2 * 1024 * 1024}),
            ("token_revoked", {"fault": "token_revoked"}),
            ("dropped subscriptions", {"fault": "no_longer_subscribed", "count": 7}),
            # The first baseline after the drop fails: lost again at once.
            ("malformed baseline",
             [{"fault": "malformed_json", "path": "/api/v2/analytics/queues/observations"},
              {"fault": "drop_sockets"}]),
        ]
        for name, faults in gaps:
            # A failed baseline is one more before the channel is back.
            took = self.gap(faults, CHANNELS + (name == "malformed baseline"))
            print(f"# {name}: channels back and re-read after {took:.1f} s")
        # Every window is due once its minute has ended and the delay has
        # passed, and again RECHECK later: then its repair is asked at the
        # next read.
        last_end = math.ceil((time.time() + 5) / 60) * 60
        agg0 = requests(self.sim.stats(), AGG_QUERY)
        while time.time() < last_end + REPAIR_DELAY + RECHECK + 6:
            time.sleep(1)
        after, truth1 = self.snapshot()
        stats = self.sim.stats()
        asked = requests(stats, AGG_QUERY)
        repaired = self.repaired()
        print(f"# {asked} aggregates queries ({asked - agg0} in the last wait); "
              f"moments repaired {repaired}; moments still hidden from the "
              f"aggregates when asked {stats.get('agg_late_hidden', 0)}")

        compared = self.compare(before, truth0, after, truth1)
        # The gaps missed moments, and the repair brought them back; some
        # were indexed after a first ask (the second one counted them).
        self.assertGreater(sum(repaired.values()), 0, repaired)
        self.assertGreater(stats.get("agg_late_hidden", 0), 0)
        # Gaps a minute apart or less share a window: one request per 100
        # queues of each, all of them the plugin's.
        self.assertGreaterEqual(asked, 1)
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
        # Every moment in the aggregates at once: one indexed after the
        # first ask would leave a counter short (and maybe below what was
        # sent) until the second (genesys_realtime(5), GAPS).
        self.sim.fault({"fault": "agg_late", "share": 0})
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
        obs0 = requests(self.sim.stats(), OBS_QUERY)
        self.cd.start()
        ok = wait_for(lambda: (lambda s: s["sockets_open"] == CHANNELS and
                               requests(s, OBS_QUERY) >= obs0 + CHANNELS)(self.sim.stats()),
                      RECONNECT_TIMEOUT, step=0.1)
        self.assertTrue(ok, "not back after the restart")
        last_end = math.ceil((time.time() + 5) / 60) * 60
        while time.time() < last_end + REPAIR_DELAY + RECHECK + 6:
            time.sleep(1)
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
