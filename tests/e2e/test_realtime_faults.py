# SPDX-License-Identifier: MIT
"""End to end, faults: genesys_realtime in the real collectd against the
simulator over TLS (60 queues, 2 channels of 30 topics, heartbeat 1 s,
HeartbeatTimeout 4 s). Each test injects one kind of fault through the
simulator's fault API and checks that the plugin recovers by itself (the
simulator's counters and the plugin's self-metrics say how), that collectd is
still running, and that every value equals the simulator's truth again.

The tests share one simulator and one collectd and run in order: the channel
manager's reconnect backoff (1 s x 1.6, up to 120 s) is reset only by a
session that lasted 60 s, so the order keeps the waits short and one test
waits for a healthy minute before the faults that need two reconnects (the
tests that keep the sockets, 07 to 07c, fill most of that minute)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, compare_with_truth, requests, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 60
PER_CHANNEL = 30
CHANNELS = 2
OBS_QUERY = "POST /api/v2/analytics/queues/observations/query"
WS_UPGRADE = "GET /channels/{channelId}"
CH_CREATE = "POST /api/v2/notifications/channels"
SUB_PUT = "PUT /api/v2/notifications/channels/{channelId}/subscriptions"
# Longest wait for a reconnect: the backoff tops out at 120 s + 20 %.
RECONNECT_TIMEOUT = 150
# The channel manager's HEALTHY_AFTER (gen_notify.c), with a margin.
HEALTHY_AFTER = 62
# "At once": the socket_closing message is seen within one 250 ms poll, the
# old socket is closed, and a new TLS connection is made.
AT_ONCE = 2.0
MESSAGE_CAP = 1024 * 1024  # the plugin's WebSocket message cap
# ERROR lines the faults provoke on purpose: test_06's truncated and
# malformed observation answers.
FAULT_ERRORS = (
    r'genesys_realtime plugin: Org "acme": queue observations query failed: '
    r"malformed JSON in HTTP 200 answer: .*",
)


def closes_sent(stats, code):
    return stats["ws_closes_sent"].get(str(code), 0)


class RealtimeFaultTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(
            "--queues", str(QUEUES), "--agents", str(QUEUES * 5), "--flows", "2",
            "--speed", "1", "--start", "now", "--heartbeat", "1",
        )
        cls.start_collectd(
            f"    HeartbeatTimeout 4\n    TopicsPerChannel {PER_CHANNEL}\n", step=0.2,
            ready=lambda: cls.has_baselined(CHANNELS, QUEUES)
            and cls.sim.stats()["sockets_open"] == CHANNELS)
        # Pauses of the model since the plugin last re-read every queue (a
        # baseline): see compare_with_truth.
        cls.pauses = []
        cls.connected_at = time.monotonic()
        cls.last_reconnect_delay = 0.0

    def setUp(self):
        self.assert_alive()
        # Whatever the previous test left, start from two open sockets.
        if not wait_for(lambda: self.sim.stats()["sockets_open"] == CHANNELS,
                        RECONNECT_TIMEOUT, step=0.5):
            self.fail("sockets not back before the test:\n" + self.cd.log_text()[-2000:])

    def tearDown(self):
        self.sim.fault([{"fault": "clear"}, {"fault": "resume"}])

    # ---- helpers ---------------------------------------------------------

    def assert_alive(self):
        self.assertIsNotNone(self.cd.proc)
        self.assertIsNone(self.cd.proc.poll(), "collectd died:\n" + self.cd.log_text()[-3000:])

    def selfm(self, name, type_instance=""):
        return self.rx.get(PLUGIN, "self", name, type_instance, host="acme")

    def wait_self(self, name, at_least, timeout=15, type_instance=""):
        """Waits until a self-metric (dispatched each 2 s interval) reaches
        at_least; returns its value."""
        wait_for(lambda: (self.selfm(name, type_instance) or 0) >= at_least, timeout)
        return self.selfm(name, type_instance) or 0

    def dispatched_since(self, names, since, timeout=10):
        """Waits until each self-metric of names was dispatched at `since`
        or later (by a read that began after it: one each 2 s interval)
        and has reached this receiver."""
        def fresh():
            got = [self.rx.get_timed(PLUGIN, "self", n, host="acme") for n in names]
            return all(g is not None and g[0] >= since for g in got)
        self.assertTrue(wait_for(fresh, timeout), f"{names} not dispatched since")

    def counters(self):
        """The plugin's self-metrics, once a dispatch after now is in."""
        names = ("notify_reconnects", "notify_baselines", "notify_malformed",
                 "notify_heartbeats", "notify_messages")
        self.dispatched_since(names, time.time())
        return {name: self.selfm(name) or 0 for name in names}

    def assert_counters(self, expected, timeout=15):
        """Waits until each self-metric reaches its expected value, then one
        more dispatch, and checks that none went past it."""
        wait_for(lambda: all((self.selfm(n) or 0) >= v for n, v in expected.items()),
                 timeout)
        self.dispatched_since(list(expected), time.time())
        got = {n: self.selfm(n) or 0 for n in expected}
        self.assertEqual(got, expected)

    def rss_kib(self):
        with open(f"/proc/{self.cd.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def wait_reconnected(self, before, sockets=CHANNELS, baselines=CHANNELS,
                         since=None, timeout=RECONNECT_TIMEOUT):
        """Waits until `sockets` new sockets were opened after the stats
        `before`, both are open and `baselines` more observation queries were
        answered; returns the seconds since `since` (default: now)."""
        start = since if since is not None else time.monotonic()
        ok = wait_for(
            lambda: (lambda s: s["sockets_total"] >= before["sockets_total"] + sockets
                     and s["sockets_open"] == CHANNELS
                     and requests(s, OBS_QUERY) >= requests(before, OBS_QUERY) + baselines
                     )(self.sim.stats()),
            timeout, step=0.05)
        elapsed = time.monotonic() - start
        self.assertTrue(ok, "no reconnect within %d s:\n%s"
                        % (timeout, self.cd.log_text()[-3000:]))
        self.baselined()
        return elapsed

    def wait_new_sockets(self, before, since, sockets=CHANNELS, timeout=RECONNECT_TIMEOUT):
        """Seconds from `since` until `sockets` new sockets were opened."""
        ok = wait_for(lambda: self.sim.stats()["sockets_total"]
                      >= before["sockets_total"] + sockets, timeout, step=0.02)
        self.assertTrue(ok, "no new socket within %d s" % timeout)
        return time.monotonic() - since

    def baselined(self):
        """Every queue was just re-read from the simulator."""
        cls = type(self)
        cls.pauses = []
        cls.connected_at = time.monotonic()

    def cooldown(self):
        """Waits until the current sessions have lasted a healthy minute, so
        that the next failure starts the backoff at 1 s again."""
        left = type(self).connected_at + HEALTHY_AFTER - time.monotonic()
        if left > 0:
            print(f"# waiting {left:.0f} s for a healthy session (backoff reset)")
            time.sleep(left)

    def drop_and_wait(self):
        before = self.sim.stats()
        t0 = time.monotonic()
        self.sim.fault({"fault": "drop_sockets"})
        delay = self.wait_reconnected(before, since=t0)
        type(self).last_reconnect_delay = delay
        return delay

    def compare_with_truth(self):
        """Every value equals the truth; see realtime_truth. A value last
        observed before one of the earlier pauses (since the last baseline)
        is ahead by the pauses that followed its observation: a suffix sum
        of `pauses`. Right after a reconnect there is none."""
        cls = type(self)
        offsets = sorted({sum(cls.pauses[i:]) for i in range(len(cls.pauses) + 1)})
        try:
            compare_with_truth(self, self.sim, self.rx, QUEUES, offsets)
        finally:
            cls.pauses.append(self.last_pause)

    def converges(self):
        self.assert_alive()
        self.compare_with_truth()
        self.assert_alive()
        print(f"# collectd VmRSS {self.rss_kib()} KiB")

    # ---- tests -----------------------------------------------------------

    def test_01_socket_closing_reconnects_at_once(self):
        """v2.system.socket_closing (the server closes 30 s later): both
        channels reconnect at once on their existing channel (no new channel,
        no new subscription), close the old socket themselves (1001, echoed
        by the simulator), and re-read their queues."""
        c0 = self.counters()
        before = self.sim.stats()
        t0 = time.monotonic()
        self.sim.fault({"fault": "socket_closing", "after": 30})
        took = self.wait_new_sockets(before, t0)
        self.wait_reconnected(before, since=t0)
        after = self.sim.stats()
        print(f"# socket_closing: new sockets after {took:.2f} s")
        self.assertLess(took, AT_ONCE)
        self.assertEqual(after["sockets_total"], before["sockets_total"] + CHANNELS)
        self.assertEqual(closes_sent(after, 1001), closes_sent(before, 1001) + CHANNELS)
        self.assertEqual(requests(after, CH_CREATE), requests(before, CH_CREATE))
        self.assertEqual(requests(after, SUB_PUT), requests(before, SUB_PUT))
        self.assertEqual(after["channels_alive"], CHANNELS)
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
            "notify_baselines": c0["notify_baselines"] + CHANNELS})
        self.converges()

    def test_02_fifty_reconnect_cycles_memory(self):
        """50 reconnect cycles (socket_closing: with the backoff at rest the
        channel manager reconnects at once; after 50 abrupt drops a few
        seconds apart it would wait up to 120 s each time). Each cycle costs exactly one WebSocket
        upgrade and one observation query per channel; collectd's RSS does
        not grow between cycle 10 and cycle 50."""
        c0 = self.counters()
        start = self.sim.stats()
        rss = {}
        t0 = time.monotonic()
        for cycle in range(1, 51):
            before = self.sim.stats()
            self.sim.fault({"fault": "socket_closing", "after": 30})
            self.wait_reconnected(before, timeout=30)
            if cycle in (1, 10, 30, 50):
                time.sleep(1)
                rss[cycle] = self.rss_kib()
        took = time.monotonic() - t0
        end = self.sim.stats()
        print(f"# 50 cycles in {took:.1f} s; VmRSS KiB at cycles 1/10/30/50: "
              f"{rss[1]} / {rss[10]} / {rss[30]} / {rss[50]}; "
              f"growth 10 -> 50: {rss[50] - rss[10]} KiB")
        self.assertEqual(end["sockets_total"] - start["sockets_total"], 50 * CHANNELS)
        self.assertEqual(requests(end, WS_UPGRADE) - requests(start, WS_UPGRADE),
                         50 * CHANNELS)
        self.assertEqual(requests(end, OBS_QUERY) - requests(start, OBS_QUERY),
                         50 * CHANNELS)
        self.assertEqual(requests(end, CH_CREATE), requests(start, CH_CREATE))
        self.assertEqual(requests(end, SUB_PUT), requests(start, SUB_PUT))
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + 50 * CHANNELS,
            "notify_baselines": c0["notify_baselines"] + 50 * CHANNELS})
        self.assertLess(rss[50] - rss[10], 2048, rss)
        self.converges()

    def test_03_abrupt_drop(self):
        """TCP drop without a close frame: both channels reconnect by
        themselves on their channel and re-read their queues."""
        c0 = self.counters()
        before = self.sim.stats()
        delay = self.drop_and_wait()
        after = self.sim.stats()
        print(f"# drop_sockets: reconnected and re-read after {delay:.2f} s")
        self.assertEqual(after["sockets_open"], CHANNELS)
        self.assertEqual(requests(after, CH_CREATE), requests(before, CH_CREATE))
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
            "notify_baselines": c0["notify_baselines"] + CHANNELS})
        self.converges()

    def test_04_close_codes(self):
        """Close frames 1001 (going away) and 1011 (server error), and 1006
        (an abrupt drop): a reconnect each time, values right after each."""
        for code in (1001, 1011, 1006):
            c0 = self.counters()
            before = self.sim.stats()
            t0 = time.monotonic()
            self.sim.fault({"fault": "close_sockets", "code": code})
            delay = self.wait_reconnected(before, since=t0)
            type(self).last_reconnect_delay = delay
            after = self.sim.stats()
            print(f"# close {code}: reconnected after {delay:.2f} s")
            if code != 1006:
                self.assertEqual(closes_sent(after, code),
                                 closes_sent(before, code) + CHANNELS)
            self.assert_counters({
                "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
                "notify_baselines": c0["notify_baselines"] + CHANNELS})
            self.converges()

    def test_05_socket_closing_during_backoff(self):
        """socket_closing while the reconnect backoff is above its start
        (after recent drops): the documented behaviour is still to reconnect
        at once (genesys_realtime(5): "v2.system.socket_closing reconnects at
        once"; Genesys closes the old socket within about a minute). The old
        socket works until then, so waiting is never better."""
        # Make sure the backoff is well above 1 s: the last reconnect after a
        # failure waited at least 3 s (the previous test's 1006 usually did).
        drops = 0
        while type(self).last_reconnect_delay < 3.0 and drops < 6:
            self.drop_and_wait()
            drops += 1
        print(f"# {drops} extra drops; last reconnect after a failure took "
              f"{type(self).last_reconnect_delay:.2f} s")
        self.assertGreaterEqual(type(self).last_reconnect_delay, 3.0)
        c0 = self.counters()
        before = self.sim.stats()
        t0 = time.monotonic()
        self.sim.fault({"fault": "socket_closing", "after": 30})
        took = self.wait_new_sockets(before, t0)
        self.wait_reconnected(before, since=t0)
        print(f"# socket_closing during backoff: new sockets after {took:.2f} s")
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
            "notify_baselines": c0["notify_baselines"] + CHANNELS})
        self.converges()
        self.assertLess(took, AT_ONCE,
                        "socket_closing was answered after the backoff, not at once")

    def test_06_oversized_frame_and_malformed_documents(self):
        """A message of exactly the 1 MiB cap is taken (no reconnect); one of
        2 MiB closes the socket with 1009 (the simulator echoes the code) and
        the channel reconnects. The simulator cannot put malformed JSON on
        the socket, so malformed and truncated JSON come in the observation
        query answers of the following baselines: each is counted as a
        malformed document and fails that baseline, whose topics are asked
        again 5 s later on the same socket (issue 52: a family's failed
        baseline never reopens the channel). notify_malformed stays 0: no
        notification was malformed."""
        c0 = self.counters()
        self.assertEqual(c0["notify_malformed"], 0)
        before = self.sim.stats()
        self.sim.fault({"fault": "oversized_frame", "bytes": MESSAGE_CAP})
        time.sleep(3)
        after = self.sim.stats()
        self.assertEqual(after["sockets_total"], before["sockets_total"],
                         "a message of exactly 1 MiB was refused")
        self.assertEqual(after["sockets_open"], CHANNELS)
        self.assertEqual(closes_sent(after, 1009), closes_sent(before, 1009))
        self.assertEqual(after["ws_messages_by_topic"].get("oversized", 0)
                         - before["ws_messages_by_topic"].get("oversized", 0), CHANNELS)

        bad_before = self.wait_self("malformed_documents", 0)
        self.sim.fault([
            {"fault": "malformed_json", "path": "/api/v2/analytics/queues/observations"},
            {"fault": "truncated_json", "path": "/api/v2/analytics/queues/observations"},
        ])
        before = self.sim.stats()
        t0 = time.monotonic()
        self.sim.fault({"fault": "oversized_frame", "bytes": 2 * MESSAGE_CAP})
        # One reconnect per channel; the first baseline of each fails and is
        # asked again on the same socket.
        failed0 = self.selfm("notify_baselines", "failed") or 0
        retried0 = self.selfm("notify_baselines", "retried") or 0
        delay = self.wait_reconnected(before, sockets=CHANNELS,
                                      baselines=2 * CHANNELS, since=t0)
        type(self).last_reconnect_delay = delay
        after = self.sim.stats()
        print(f"# 2 MiB frame then a bad baseline each: re-read after {delay:.1f} s "
              "(the failed baselines asked again on the same sockets)")
        self.assertEqual(closes_sent(after, 1009), closes_sent(before, 1009) + CHANNELS,
                         "the plugin did not close with 1009")
        self.assertEqual(after["faults"]["applied"].get("malformed_json"), 1)
        self.assertEqual(after["faults"]["applied"].get("truncated_json"), 1)
        self.assertEqual(after["sockets_total"], before["sockets_total"] + CHANNELS)
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
            "notify_baselines": c0["notify_baselines"] + 2 * CHANNELS,
            "notify_malformed": 0,
            "malformed_documents": bad_before + 2})
        self.assertEqual(self.selfm("notify_baselines", "failed"), failed0 + CHANNELS)
        self.assertEqual(self.selfm("notify_baselines", "retried"), retried0 + CHANNELS)
        self.converges()

    def test_07_missing_heartbeats(self):
        """No heartbeat for 20 s, and no event either (the model is paused):
        after HeartbeatTimeout x 0.47 of silence the watchdog sends the JSON
        ping; the simulator answers every ping with a pong
        (channel.metadata), which counts as life: no reconnect, and the
        values stay right."""
        c0 = self.counters()
        before = self.sim.stats()
        t_pause = time.monotonic()
        self.sim.fault({"fault": "pause"})
        try:
            self.sim.fault({"fault": "stop_heartbeats", "seconds": 20})
            hb0 = self.sim.stats()["heartbeats_sent"]
            time.sleep(19.5)
            mid = self.sim.stats()
        finally:
            self.sim.fault({"fault": "resume"})
            type(self).pauses.append(time.monotonic() - t_pause)
        pings = mid["ws_json_pings"] - before["ws_json_pings"]
        print(f"# 20 s without heartbeats: {pings} JSON pings, "
              f"{mid['pongs_sent'] - before['pongs_sent']} pongs")
        self.assertEqual(mid["heartbeats_sent"], hb0)
        # One ping per 1.88 s of silence (plus up to one 250 ms poll) on each
        # channel: 9 or 10 in 19.5 s, each answered by a pong.
        self.assertGreaterEqual(pings, 8 * CHANNELS)
        self.assertLessEqual(pings, 11 * CHANNELS)
        self.assertEqual(mid["pongs_sent"] - before["pongs_sent"], pings)
        self.assertEqual(mid["sockets_total"], before["sockets_total"])
        self.assertTrue(wait_for(lambda: self.sim.stats()["heartbeats_sent"] > hb0, 5))
        after = self.sim.stats()
        self.assertEqual(after["sockets_total"], before["sockets_total"])
        self.assertEqual(requests(after, OBS_QUERY), requests(before, OBS_QUERY))
        c1 = self.counters()
        self.assertEqual(c1["notify_reconnects"], c0["notify_reconnects"])
        self.assertGreaterEqual(c1["notify_heartbeats"] - c0["notify_heartbeats"], pings)
        self.converges()

    def resubscribed(self, kind, before_fault=None):
        """Injects fault kind (no_longer_subscribed or subscription_changed:
        the service drops some topics of each channel and says so), after
        before_fault if given: the plugin subscribes its whole set again and
        re-reads the queues, on the same socket. The simulator's counters
        before and after."""
        c0 = self.counters()
        resub0 = self.wait_self("notify_resubscribes", 0)
        before = self.sim.stats()
        if before_fault:
            self.sim.fault(before_fault)
        self.sim.fault({"fault": kind, "count": 7})
        ok = wait_for(lambda: (lambda s: requests(s, SUB_PUT) >= requests(before, SUB_PUT)
                               + CHANNELS and sorted(s["subscriptions"].values())
                               == [PER_CHANNEL] * CHANNELS)(self.sim.stats()), 30)
        self.assertTrue(ok, self.cd.log_text()[-2000:])
        after = self.sim.stats()
        self.assertEqual(after["system_messages"].get(kind, 0),
                         before["system_messages"].get(kind, 0) + CHANNELS)
        self.assertEqual(after["sockets_total"], before["sockets_total"])
        self.assertEqual(after["channels_created"], before["channels_created"])
        self.assertEqual(self.wait_self("notify_resubscribes", resub0 + CHANNELS),
                         resub0 + CHANNELS)
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"],
            "notify_baselines": c0["notify_baselines"] + CHANNELS})
        return before, after

    def test_07b_no_longer_subscribed(self):
        """v2.system.no_longer_subscribed.{channel}: the whole set again."""
        self.resubscribed("no_longer_subscribed")
        self.converges()

    def test_07c_subscription_changed(self):
        """A subscription changed, said on v2.system.{org}.{channel}
        (systemTopicType subscription_changed): the whole set again, as for
        no_longer_subscribed; a system message of a type the plugin does not
        know changes nothing; each is said once in the log."""
        before, after = self.resubscribed("subscription_changed", {"fault": "system_message"})
        self.assertEqual(after["system_messages"].get("maintenance_notice", 0),
                         before["system_messages"].get("maintenance_notice", 0) + CHANNELS)
        log = self.cd.log_text()
        self.assertEqual(log.count('(systemTopicType "subscription_changed"): subscribing'), 1)
        self.assertEqual(log.count('(systemTopicType "maintenance_notice"): ignored'), 1)
        self.converges()

    def test_08_rate_limited_channel_creation(self):
        """429 on the Notifications API (channel creation and subscription)
        while channels must be made again (after expiry; a plain drop
        reconnects to the same channel without calling that API): the
        requests are retried after Retry-After (3 s) and the channels come
        back."""
        self.cooldown()
        c0 = self.counters()
        limited0 = self.wait_self("api_rate_limited", 0)
        before = self.sim.stats()
        self.sim.fault({"fault": "rate_limit_storm", "path": "/api/v2/notifications/channels",
                        "count": 3, "retry_after": 3})
        t0 = time.monotonic()
        self.sim.fault({"fault": "expire_channels"})
        seen = {}

        def storm_progress():
            n = self.sim.stats()["faults"]["applied"].get("rate_limit_storm", 0)
            for k in range(1, n + 1):
                seen.setdefault(k, time.monotonic())
            return n >= 3

        self.assertTrue(wait_for(storm_progress, RECONNECT_TIMEOUT, step=0.05))
        delay = self.wait_reconnected(before, since=t0)
        after = self.sim.stats()
        spread = seen[3] - seen[1]
        print(f"# 3 x 429 over {spread:.2f} s; channels back after {delay:.1f} s")
        # Each channel asks one request at a time, so two of the three 429s
        # went to one channel, the later one after its Retry-After.
        self.assertGreaterEqual(spread, 2.8)
        self.assertEqual(after["rate_limited"], before["rate_limited"] + 3)
        self.assertEqual(after["channels_created"], before["channels_created"] + CHANNELS)
        self.assertEqual(requests(after, CH_CREATE, 200), requests(before, CH_CREATE, 200)
                         + CHANNELS)
        self.assertEqual(requests(after, SUB_PUT, 200), requests(before, SUB_PUT, 200)
                         + CHANNELS)
        self.assertEqual(after["channels_alive"], CHANNELS)
        self.assertEqual(self.wait_self("api_rate_limited", limited0 + 3), limited0 + 3)
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
            "notify_baselines": c0["notify_baselines"] + CHANNELS})
        self.converges()

    def test_09_channel_expiry(self):
        """The channels expire (closed, then 404): new channels are created
        and subscribed, and the queues re-read."""
        c0 = self.counters()
        before = self.sim.stats()
        t0 = time.monotonic()
        self.sim.fault({"fault": "expire_channels"})
        delay = self.wait_reconnected(before, since=t0)
        after = self.sim.stats()
        print(f"# expire_channels: new channels after {delay:.1f} s")
        # The service closed them normally: no handshake on a dead channel.
        self.assertEqual(requests(after, WS_UPGRADE, 404), requests(before, WS_UPGRADE, 404))
        self.assertEqual(after["channels_expired"], before["channels_expired"] + CHANNELS)
        self.assertEqual(after["channels_created"], before["channels_created"] + CHANNELS)
        self.assertEqual(requests(after, SUB_PUT), requests(before, SUB_PUT) + CHANNELS)
        self.assertEqual(after["channels_alive"], CHANNELS)
        self.assertEqual(sorted(after["subscriptions"].values()), [PER_CHANNEL] * CHANNELS)
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
            "notify_baselines": c0["notify_baselines"] + CHANNELS})
        self.converges()

    def test_10_token_revocation(self):
        """Every token is revoked (its channels deleted, sockets closed): the
        plugin gets one new token for both channels, creates and subscribes
        new channels, and re-reads its queues."""
        c0 = self.counters()
        before = self.sim.stats()
        refreshes0 = self.wait_self("token_refreshes", 0)
        t0 = time.monotonic()
        self.sim.fault({"fault": "revoke_tokens"})
        delay = self.wait_reconnected(before, since=t0)
        after = self.sim.stats()
        unauthorized = requests(after, CH_CREATE, 401) - requests(before, CH_CREATE, 401)
        print(f"# revoke_tokens: back after {delay:.1f} s, {unauthorized} x 401 "
              "on channel creation")
        self.assertEqual(after["tokens_issued"], before["tokens_issued"] + 1)
        self.assertEqual(after["tokens_valid"], 1)
        self.assertIn(unauthorized, (1, 2))
        self.assertEqual(requests(after, WS_UPGRADE, 404), requests(before, WS_UPGRADE, 404))
        self.assertEqual(after["channels_created"], before["channels_created"] + CHANNELS)
        self.assertEqual(requests(after, SUB_PUT), requests(before, SUB_PUT) + CHANNELS)
        self.assertEqual(after["channels_alive"], CHANNELS)
        self.assertEqual(self.wait_self("token_refreshes", refreshes0 + 1), refreshes0 + 1)
        self.assertEqual(self.selfm("api_up"), 1)
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
            "notify_baselines": c0["notify_baselines"] + CHANNELS})
        self.converges()

    def test_12_token_revoked_message(self):
        """The service says the token is revoked (v2.system.token_revoked),
        then deletes the channels: the plugin takes a new token and new
        channels at once, without a 401 or a handshake on a dead channel."""
        c0 = self.counters()
        before = self.sim.stats()
        t0 = time.monotonic()
        self.sim.fault({"fault": "token_revoked"})
        delay = self.wait_reconnected(before, since=t0)
        after = self.sim.stats()
        print(f"# token_revoked: back after {delay:.1f} s")
        self.assertEqual(after["system_messages"].get("token_revoked", 0),
                         before["system_messages"].get("token_revoked", 0) + CHANNELS)
        self.assertEqual(after["tokens_issued"], before["tokens_issued"] + 1)
        self.assertEqual(requests(after, CH_CREATE, 401), requests(before, CH_CREATE, 401))
        self.assertEqual(requests(after, WS_UPGRADE, 404), requests(before, WS_UPGRADE, 404))
        self.assertEqual(after["channels_created"], before["channels_created"] + CHANNELS)
        self.assertEqual(self.wait_self("notify_revocations", CHANNELS), CHANNELS)
        self.assert_counters({
            "notify_reconnects": c0["notify_reconnects"] + CHANNELS,
            "notify_baselines": c0["notify_baselines"] + CHANNELS})
        self.converges()


    def test_99_no_error_in_the_log(self):
        """No ERROR line the plugin caused (the faults it was put through
        excepted, each by its exact message), no value dispatched without an
        interval, no "Value too old" for a series of ours."""
        bad = self.cd.bad_log_lines(allow=FAULT_ERRORS)
        self.assertEqual(bad, [], f"{len(bad)} ERROR lines, first: {bad[:5]}")

if __name__ == "__main__":
    run_tests(__name__)
