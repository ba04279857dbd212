# SPDX-License-Identifier: MIT
"""End to end: genesys_flowmetrics with BotAggregates true, in the real
collectd against the simulator. For every bot and every bucket, each series
dispatched equals what /sim/truth/bots says of that bucket (sessions, the
questions asked and self-served, and the count, average, max and min of the
session, exit, disconnect and recognition-failure times), and each series
the truth implies is dispatched: compared both ways. The counters equal the
sum of their buckets. With MaxBots 2 the two bots with the most sessions in
each answer keep their series and the rest are summed into bot-other, as
computed here from the truth and the intervals the plugin asked. With the
permission withheld the family says so in one line and stops; the flow
aggregates go on."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from collectd_harness import iso_ms, run_tests  # noqa: E402
from buckets import (FLOW_ROW, assert_both_ways, assert_counters, assert_refused_alone,  # noqa: E402
                     bucketed, run_family)
from sim_harness import Simulator  # noqa: E402


PLUGIN = "genesys_flowmetrics"
SPEED = 60
G_MS = 300000
COUNTS = (("bot_sessions", "nBotSessions", "count"),
          ("bot_queries", "oBotSessionQuery", "sum"),
          ("bot_queries_self_served", "oBotSessionQuerySelfServed", "sum"))
TIMES = (("bot_session", "tBotSession"), ("bot_exit", "tBotExit"),
         ("bot_disconnect", "tBotDisconnect"),
         ("bot_recognition_failure", "tBotRecognitionFailure"))
MEASURES = {m for m, _ in TIMES}


def ours(key):
    """A bot value (not a flow's, not a self-metric)."""
    return key[1] == PLUGIN and key[2].startswith("bot-")


def merge(into, tr):
    """tr (a bot's truth of a bucket) added to into."""
    for m, s in tr.items():
        e = into.setdefault(m, {})
        for k, v in s.items():
            if v is None:
                e.setdefault(k, None)
            elif k == "min":
                e[k] = v if e.get(k) is None else min(e[k], v)
            elif k == "max":
                e[k] = v if e.get(k) is None else max(e[k], v)
            else:
                e[k] = (e.get(k) or 0) + v


def expected_bucket(inst, end, tr):
    sessions = tr["nBotSessions"]["count"]
    e = {}
    for ty, m, stat in COUNTS:
        # a bot with sessions and no question has 0 (zero-filled)
        e[(inst, ty, "", end)] = (tr[m][stat] or 0) if m in tr else 0
    for name, m in TIMES:
        if m in tr:
            s = tr[m]
            e[(inst, "duration_count", name, end)] = s["count"]
            e[(inst, "duration_avg", name, end)] = s["sum"] / s["count"] / 1000
            e[(inst, "duration_max", name, end)] = s["max"] / 1000
            e[(inst, "duration_min", name, end)] = s["min"] / 1000
    assert sessions > 0
    return e


def expected_totals(per_inst):
    t = {}
    for inst, buckets in per_inst.items():
        for ty, m, stat in COUNTS:
            t[(inst, "total_" + ty, "")] = sum((tr[m][stat] or 0) if m in tr else 0
                                               for tr in buckets)
        for name, m in TIMES:
            if any(m in tr for tr in buckets):
                t[(inst, "total_duration_count", name)] = sum(
                    tr[m]["count"] for tr in buckets if m in tr)
                t[(inst, "total_duration_ms", name)] = sum(
                    tr[m]["sum"] for tr in buckets if m in tr)
    return t


def capped(truth, asked, max_bots):
    """{end: {instance: truth}}: per interval asked, the max_bots bots with
    the most sessions over it keep their own, the rest summed into other."""
    out = {}
    for start, end in asked:
        ivs = [(iv, b) for iv, b in truth["buckets"].items()
               if start <= round(iso_ms(iv.split("/")[0])) < end]
        tot = {}
        for _, b in ivs:
            for bid, tr in b.items():
                tot[bid] = tot.get(bid, 0) + tr["nBotSessions"]["count"]
        kept = set(sorted(tot, key=lambda x: (-tot[x], x))[:max_bots])
        for iv, b in ivs:
            per = {}
            for bid, tr in b.items():
                merge(per.setdefault("bot-" + (bid if bid in kept else "other"), {}), tr)
            out[round(iso_ms(iv.split("/")[1]))] = per
    return out


class BotsAgainstTruth(unittest.TestCase):
    def run_sim(self, sim_args, extra, minutes):
        sim = Simulator("--queues", "2", "--agents", "10", "--flows", "1",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "900",
                        *sim_args)
        return run_family(sim, PLUGIN, FLOW_ROW + "    BotAggregates true\n" + extra,
                          minutes, ours, "/sim/truth/bots?granularity=PT5M&buckets=40", SPEED)

    def compare(self, rx, truth, per_end):
        got, gauges, counters, ends, truth_ends = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), 4, "buckets dispatched: %s" % ends)
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)))
        want, per_inst = {}, {}
        for end in ends:
            self.assertIn(end, per_end, "truth does not cover the run")
            for inst, tr in per_end[end].items():
                want.update(expected_bucket(inst, end, tr))
                per_inst.setdefault(inst, []).append(tr)
        print("%d buckets, %d bots, %d bucket values, %d counter values compared"
              % (len(ends), len(per_inst), len(want), len(counters)), file=sys.stderr)
        assert_both_ways(self, gauges, want)
        assert_counters(self, got, counters, expected_totals(per_inst))
        return per_inst

    def test_every_bot_equals_truth_both_ways(self):
        rx, truth, stats, bad, _ = self.run_sim(("--bots", "5"), "", 22)
        self.assertEqual(bad, [])
        per_end = {round(iso_ms(iv.split("/")[1])): {"bot-" + b: tr for b, tr in v.items()}
                   for iv, v in truth["buckets"].items()}
        per_inst = self.compare(rx, truth, per_end)
        self.assertEqual(set(per_inst), {"bot-" + b for b in truth["bots"]})
        # every bot in one request per range: one request per new bucket
        asked = stats["aggregate_intervals"]["bots"]
        self.assertTrue(asked)
        self.assertEqual(stats["requests"].get("POST /api/v2/analytics/bots/aggregates/query", {}).get("total"),
                         len(asked))

    def test_max_bots_sums_the_rest_into_other(self):
        """MaxBots 2 of 6 bots, the questions answered as a count."""
        rx, truth, stats, bad, _ = self.run_sim(("--bots", "6", "--bot-query", "count"),
                                                "    MaxBots 2\n", 22)
        self.assertEqual(bad, [])
        asked = stats["aggregate_intervals"]["bots"]
        starts = [s for s, e in asked for s in range(s, e, G_MS)]
        self.assertEqual(len(starts), len(set(starts)), "a bucket asked twice")
        per_end = capped(truth, asked, 2)
        per_inst = self.compare(rx, truth, per_end)
        self.assertIn("bot-other", per_inst)
        self.assertLessEqual(len(per_inst), 2 + 1 + 4)  # kept bots may change per answer

    def test_permission_withheld_one_line_flows_go_on(self):
        perm = "analytics:botAggregate:view"
        run = self.run_sim(("--bots", "3", "--deny-permission", perm), "", 12)
        assert_refused_alone(self, run, ours, PLUGIN, perm, "bot aggregates",
                             "POST /api/v2/analytics/bots/aggregates/query",
                             "flow_interval_executions")


if __name__ == "__main__":
    run_tests(__name__)
