# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime's RepeatEvery (issue 66 item 2, idle costs
nothing). With Interval 1 and RepeatEvery 5 an unchanged queue series is
dispatched again once in 5 s, not every second, and carries 5 s as its
interval, so collectd's cache keeps it between (it forgets a value not
updated for two of its intervals: LISTVAL still lists every queue's series
after more than two read intervals); what a read dispatches each time keeps
the read's interval; every value still equals the truth."""
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import STOCK, RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, compare_with_truth, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 10
INTERVAL = 1
REPEAT = 5


def repeat_times(arrivals):
    """Per queue, the value times at which a series left with the value it
    had (a re-dispatch: changes leave only when they differ)."""
    last, times = {}, collections.defaultdict(set)
    for _, t, key, value in sorted(arrivals, key=lambda a: a[1]):
        host, plugin, queue, type_, _ = key
        if plugin != PLUGIN or queue in ("self", "org") or type_.startswith("longest_"):
            continue
        if key in last and value == last[key]:
            times[queue].add(t)
        last[key] = value
    return {q: sorted(ts) for q, ts in times.items()}


class RepeatEveryTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("--queues", str(QUEUES), "--agents", str(QUEUES * 5),
                            "--flows", "2", "--speed", "2", "--start", "now",
                            "--heartbeat", "2")
        cls.start_collectd(f"    RepeatEvery {REPEAT}\n", interval=INTERVAL,
                           stock=STOCK + ("unixsock",),
                           ready=lambda: cls.has_baselined(1, QUEUES))

    def test_1_unchanged_series_leave_once_a_repeat(self):
        # three re-dispatches of every queue at least (about 15 s)
        def enough():
            times = repeat_times(self.rx.arrival_list())
            return len(times) == QUEUES and all(len(ts) >= 3 for ts in times.values())
        self.assertTrue(wait_for(enough, 90, 0.5), "re-dispatches did not come")
        for queue, ts in repeat_times(self.rx.arrival_list()).items():
            gaps = [b - a for a, b in zip(ts, ts[1:])]
            # a cycle ends at the read nearest its end: at least REPEAT less
            # half a read interval (value times are the plugin's, not ours)
            self.assertGreaterEqual(min(gaps), REPEAT - INTERVAL / 2 - 0.2,
                                    f"{queue} repeated {ts}")

    def test_2_intervals_carried(self):
        seen = collections.Counter()
        for key, interval in self.rx.latest_interval.items():
            _, plugin, inst, type_, _ = key
            if plugin != PLUGIN:
                continue
            want = INTERVAL if inst in ("self",) else REPEAT
            if inst not in ("self", "org"):
                self.assertEqual(interval, want, f"{key}")
                seen["queue"] += 1
            elif inst == "self":
                self.assertEqual(interval, INTERVAL, f"{key}")
                seen["self"] += 1
        self.assertGreater(seen["queue"], 0)
        self.assertGreater(seen["self"], 0)

    def test_3_kept_in_collectds_cache(self):
        want = {k for k in self.cd.listval()
                if f"/{PLUGIN}-" in k and "-self/" not in k and "-org/" not in k
                and "longest_" not in k}
        self.assertTrue(want)
        time.sleep(3 * INTERVAL + 0.5)  # past collectd's 2 intervals of the read's
        have = set(self.cd.listval())
        self.assertEqual(set(), want - have, "series forgotten between repeats")

    def test_4_values_equal_the_truth(self):
        compare_with_truth(self, self.sim, self.rx, QUEUES, longest=False)

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


if __name__ == "__main__":
    run_tests(__name__)
