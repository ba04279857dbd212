# SPDX-License-Identifier: MIT
"""End to end: genesys_platform with RateLimitAggregates true, in the real
collectd against the simulator. For every limit and every bucket, the times
Genesys recorded it near its maximum (rate_limit_recorded) equal what
/sim/truth/ratelimits says of that bucket, and each value the truth implies
is dispatched: compared both ways, a limit name no reader knows included.
The counters equal the sum of their buckets, and every limit is asked in one
request a bucket. With the permission withheld the family says so in one
line and stops; the operational events go on."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from buckets import (assert_both_ways, assert_counters, assert_refused_alone,  # noqa: E402
                     bucketed, run_family)
from collectd_harness import iso_ms, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_platform"
SPEED = 60
G_MS = 300000
QUERY = "POST /api/v2/analytics/ratelimits/aggregates/query"
PERMISSION = "analytics:rateLimitAggregate:view"
UNKNOWN = "sim.unknown.limit.per.hour"  # the simulator's own limit name


def ours(key):
    """A rate-limit value (not an event's, not a self-metric)."""
    return key[1] == PLUGIN and key[2].startswith("ratelimit-")


class RateLimitsAgainstTruth(unittest.TestCase):
    def run_sim(self, sim_args, extra, minutes):
        sim = Simulator("--queues", "2", "--agents", "10", "--flows", "1",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "900",
                        *sim_args)
        # the rate limits follow the operational events' bucket keys
        return run_family(sim, PLUGIN, '    Host "acme"\n    RateLimitAggregates true\n'
                          '    OperationalEventsGranularity "PT5M"\n'
                          "    OperationalEventsSettleDelay 30\n"
                          "    OperationalEventsBackfillHorizon 7200\n"
                          "    OperationalEventsInitialBackfill 1800\n"
                          "    Edges false\n    Trunks false\n    StatusPage false\n" + extra,
                          minutes, ours, "/sim/truth/ratelimits?granularity=PT5M&buckets=40",
                          SPEED)

    def test_every_limit_equals_truth_both_ways(self):
        rx, truth, stats, bad, _ = self.run_sim((), "", 22)
        self.assertEqual(bad, [])
        got, gauges, counters, ends, _ = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), 4, "buckets dispatched: %s" % ends)
        want, totals = {}, {}
        for iv, limits in truth["buckets"].items():
            end = round(iso_ms(iv.split("/")[1]))
            if end > ends[-1]:
                continue
            for name, n in limits.items():
                inst = "ratelimit-" + name
                want[(inst, "rate_limit_recorded", "", end)] = n
                k = (inst, "total_rate_limit_recorded", "")
                totals[k] = totals.get(k, 0) + n
        self.assertIn("ratelimit-" + UNKNOWN, {k[0] for k in want})
        print("%d buckets, %d limits, %d bucket values, %d counter values compared"
              % (len(ends), len(totals), len(want), len(counters)), file=sys.stderr)
        assert_both_ways(self, gauges, want)
        assert_counters(self, got, counters, totals)
        # every limit in one request, one bucket a request (the events' engine)
        asked = stats["aggregate_intervals"]["ratelimits"]
        self.assertEqual({e - s for s, e in asked}, {G_MS})
        self.assertEqual(stats["requests"][QUERY]["total"], len(asked))

    def test_permission_withheld_one_line_events_go_on(self):
        run = self.run_sim(("--deny-permission", PERMISSION, "--event-definitions", "3"),
                           "    OperationalEvents true\n", 12)
        assert_refused_alone(self, run, ours, PLUGIN, PERMISSION, "rate-limit aggregates",
                             QUERY, "operational_events")


if __name__ == "__main__":
    run_tests(__name__)
