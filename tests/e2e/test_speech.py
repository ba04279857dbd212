# SPDX-License-Identifier: MIT
"""End to end: genesys_analytics with SpeechAnalytics true, in the real
collectd against the simulator. For every queue, media type and bucket, the
conversations analysed, the sentiment score's count, average, max and min,
and the agent, customer, silence and overtalk times equal what
/sim/truth/speech says of that bucket as the plugin asked it (voice and
chat are there 30 minutes after the conversation, message and email 72
hours: none of these yet), both ways; the counters equal the sum of their
buckets. With the permission (or the licence) withheld the family says so
in one line and stops; the queue aggregates go on."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from buckets import (assert_both_ways, assert_counters, assert_refused_alone,  # noqa: E402
                     bucketed, run_family)
from collectd_harness import iso_ms, run_tests  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_analytics"
SPEED = 60
G_MS = 300000
QUERY = "POST /api/v2/analytics/transcripts/aggregates/query"
PERMISSION = "analytics:speechAndTextAnalyticsAggregates:view"
TIMES = (("agent_speech", "tAgentSpeech"), ("customer_speech", "tCustomerSpeech"),
         ("silence", "tSilence"), ("overtalk", "tOverTalkSpeech"))
TYPES = {"speech_analyzed_conversations", "total_speech_analyzed_conversations",
         "score_count", "score_avg", "score_max", "score_min", "total_score_count"}
MEASURES = {m for m, _ in TIMES}


def ours(key):
    """A speech value: its own types, or a duration of its measures."""
    if key[1] != PLUGIN or key[2] == "self":
        return False
    return key[3] in TYPES or (key[3].startswith(("duration_", "total_duration_"))
                               and key[4].split("-")[0] in MEASURES)


def expected(queue, media, end, st):
    e = {(queue, "speech_analyzed_conversations", media, end):
         st["nSpeechTextAnalyzedConversations"]["count"]}
    s = st["oSentimentScore"]
    ti = "sentiment-" + media
    e[(queue, "score_count", ti, end)] = s["count"]
    e[(queue, "score_avg", ti, end)] = s["sum"] / s["count"]
    e[(queue, "score_max", ti, end)] = s["max"]
    e[(queue, "score_min", ti, end)] = s["min"]
    for name, m in TIMES:
        d, ti = st[m], f"{name}-{media}"
        e[(queue, "duration_count", ti, end)] = d["count"]
        e[(queue, "duration_avg", ti, end)] = d["sum"] / d["count"] / 1000
        e[(queue, "duration_max", ti, end)] = d["max"] / 1000
        e[(queue, "duration_min", ti, end)] = d["min"] / 1000
    return e


def totals(per):
    t = {}
    for (queue, media), sts in per.items():
        def add(k, v):
            t[k] = t.get(k, 0) + v
        for st in sts:
            add((queue, "total_speech_analyzed_conversations", media),
                st["nSpeechTextAnalyzedConversations"]["count"])
            add((queue, "total_score_count", "sentiment-" + media),
                st["oSentimentScore"]["count"])
            for name, m in TIMES:
                add((queue, "total_duration_count", f"{name}-{media}"), st[m]["count"])
                add((queue, "total_duration_ms", f"{name}-{media}"), st[m]["sum"])
    return t


class SpeechAgainstTruth(unittest.TestCase):
    def run_sim(self, sim_args, minutes):
        sim = Simulator("--queues", "3", "--agents", "12", "--flows", "1",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "900",
                        *sim_args)
        return run_family(sim, PLUGIN, '    Host "acme"\n    InstanceFrom "id"\n'
                          '    SpeechAnalytics true\n    Granularity "PT5M"\n'
                          "    InitialBackfill 3600\n", minutes, ours,
                          "/sim/truth/speech?granularity=PT5M&buckets=30", SPEED)

    def test_every_queue_and_media_equals_truth_both_ways(self):
        rx, truth, stats, bad, _ = self.run_sim((), 20)
        self.assertEqual(bad, [])
        got, gauges, counters, ends, _ = bucketed(rx, ours, truth, G_MS)
        self.assertGreaterEqual(len(ends), 8, "buckets dispatched: %s" % ends)
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)))
        # a bucket is asked 30 minutes after its end, so the truth as of the
        # pause holds what the plugin saw for each bucket it asked (from the
        # InitialBackfill's first to the last asked before the pause)
        want, per = {}, {}
        for iv, b in truth["buckets"].items():
            end = round(iso_ms(iv.split("/")[1]))
            if not ends[0] <= end <= ends[-1]:
                continue
            for queue, media_stats in b.items():
                for media, st in media_stats.items():
                    want.update(expected(queue, media, end, st))
                    per.setdefault((queue, media), []).append(st)
        media_seen = {k[1] for k in per}
        self.assertEqual(media_seen, {"voice", "chat"}, "message and email are 72 h late")
        print("%d buckets, %d queue-media, %d bucket values, %d counter values compared"
              % (len(ends), len(per), len(want), len(counters)), file=sys.stderr)
        assert_both_ways(self, gauges, want)
        assert_counters(self, got, counters, totals(per))
        self.assertTrue(any(v < 0 for k, v in want.items() if k[1] == "score_avg"),
                        "no negative sentiment compared")

    def test_permission_withheld_one_line_queues_go_on(self):
        run = self.run_sim(("--deny-permission", PERMISSION), 10)
        assert_refused_alone(self, run, ours, PLUGIN, PERMISSION, "speech and text analytics",
                             QUERY, "offered")


if __name__ == "__main__":
    run_tests(__name__)
