# SPDX-License-Identifier: MIT
"""End to end: genesys_realtime's DispatchEvery (issue 66, option b). With
DispatchEvery 1 the changed series leave together at most once a second
(not at every 100 ms tick while the simulator changes them many times a
second), and once the model pauses every value still equals the truth:
the last value of a period always leaves, nothing is lost."""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import run_tests  # noqa: E402
from realtime_harness import RealtimeTestCase  # noqa: E402
from realtime_truth import PLUGIN, compare_with_truth, wait_for  # noqa: E402
from sim_harness import Simulator  # noqa: E402

QUEUES = 20
EVERY = 1.0


def change_times(arrivals, since):
    """The value times at which changes left, over every queue: a queue's
    values of one time are a re-dispatch (every series of the queue, so some
    unchanged) or changes (only the series that differ from their last
    value). Longest waits, which the plugin ages, are left out."""
    last, by_queue_time = {}, collections.defaultdict(list)
    for _, t, key, value in sorted(arrivals, key=lambda a: a[1]):
        host, plugin, queue, type_, _ = key
        if plugin != PLUGIN or queue in ("self", "org") or type_.startswith("longest_"):
            continue
        if key in last and t >= since:
            by_queue_time[(queue, t)].append(value != last[key])
        last[key] = value
    return sorted({t for (_, t), changed in by_queue_time.items() if all(changed)})


class DispatchEveryTest(RealtimeTestCase):
    @classmethod
    def setUpClass(cls):
        # Speed 30: about 24 model events a second over the 20 queues, so
        # without the period changes would leave at nearly every tick.
        cls.sim = Simulator("--queues", str(QUEUES), "--agents", str(QUEUES * 5),
                            "--flows", "2", "--speed", "30", "--start", "now",
                            "--heartbeat", "2")
        cls.start_collectd(f"    DispatchEvery {EVERY}\n", interval=10,
                           ready=lambda: cls.has_baselined(1, QUEUES))

    def test_1_changes_leave_at_most_once_a_period(self):
        since = max((a[1] for a in self.rx.arrival_list()), default=0)
        # enough changes to see: 12 change times at least (about 12 s)
        self.assertTrue(wait_for(lambda: len(change_times(self.rx.arrival_list(), since))
                                 >= 12, 60, 0.5), "changes did not keep leaving")
        times = change_times(self.rx.arrival_list(), since)
        gaps = [b - a for a, b in zip(times, times[1:])]
        # value times are the plugin's (the tick's), not arrivals: no timing
        # of this test's own is asserted
        self.assertGreaterEqual(min(gaps), EVERY - 2e-3,
                                f"changes left {min(gaps):.3f} s apart: {times[:20]}")

    def test_2_the_last_value_leaves(self):
        compare_with_truth(self, self.sim, self.rx, QUEUES, drained=True, longest=False)

    def test_99_no_error_in_the_log(self):
        self.assert_no_error_lines()


if __name__ == "__main__":
    run_tests(__name__)
