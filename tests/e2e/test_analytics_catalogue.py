# SPDX-License-Identifier: MIT
"""End to end: genesys_analytics with Metric all, the whole conversation
aggregates catalogue, in the real collectd against the simulator, across a
SIGKILL and a restart. For every queue and media type of the simulator and
every bucket, each series dispatched equals what the simulator's truth says
of that bucket, and each series the truth implies is dispatched: compared
both ways, so a series we dispatch that the truth lacks fails as much as a
missing or wrong one. The counters equal the sum of their buckets (nothing
lost or doubled by the kill), and a bucket dispatched again carries the same
values.

What the truth implies is derived here from the API metric names alone,
independently of the plugin's catalogue: t-metrics are durations
(duration_count, _avg, _max, _min in seconds, type_instance
"<name>-<media>"), n-metrics and the o-metrics counts (type <name>, 0 when
the answer leaves them out), oServiceLevel and oCallbackServiceLevel ratios,
oServiceTarget and oServiceLevel's target gauges of stats.target (no counter,
absent when the answer has none). The metrics Genesys attributes to no queue
(simmodel.ORG_METRICS) are compared per media type under plugin_instance
"org" with the truth's org_buckets, and must not appear under a queue.
Our name is the API's in lower_snake without its prefix letter, but for the
names released before the catalogue (below)."""
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from collectd_harness import iso_ms, run_tests, sim_ms, wait_sim  # noqa: E402
from buckets import assert_both_ways, assert_counters, bucketed, check_across_kill  # noqa: E402
from buckets import interval_collectd, quiet  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from simmodel import CATALOGUE_METRICS  # noqa: E402  (the API's list, a fact)
from simmodel import ORG_METRICS  # noqa: E402  (attributed to no queue, README)

PLUGIN = "genesys_analytics"
SPEED = 60
G_MS = 300000
RATIOS = ("oServiceLevel", "oCallbackServiceLevel")
TARGETS = {"oServiceTarget": "service_target"}  # stats.target only
ORG = "org"  # plugin_instance of the metrics of no queue
# API metric -> our name where the rule does not give it (released names)
DURATION_NAMES = {"tHeld": "hold", "tAnswered": "answer", "tAbandon": "abandon",
                  "tConnected": "connected_time"}
# t-metrics that are also counted (stats.count), under these names
ALSO_COUNTED = {"tAnswered": "answered", "tAbandon": "abandoned",
                "tShortAbandon": "short_abandoned"}
BUCKET_TYPES = ("duration_count", "duration_avg", "duration_max", "duration_min")


def snake(api):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", api[1:]).lower()


def measures():
    """[(api, our name, kind)] of the whole catalogue, as specified."""
    out = []
    for api in CATALOGUE_METRICS:
        if api[0] == "t":
            out.append((api, DURATION_NAMES.get(api, snake(api)), "duration"))
            if api in ALSO_COUNTED:
                out.append((api, ALSO_COUNTED[api], "count"))
        elif api in RATIOS:
            out.append((api, snake(api), "ratio"))
            if api == "oServiceLevel":
                out.append((api, "service_level_target", "target"))
        elif api in TARGETS:
            out.append((api, TARGETS[api], "target"))
        elif api in ORG_METRICS:
            out.append((api, snake(api), "org"))
        else:
            out.append((api, snake(api), "count"))
    return out


def expected_bucket(q, media, end, stats):
    """{(queue, type, type_instance, end): value} of one answered bucket."""
    e = {}
    for api, name, kind in measures():
        st = stats.get(api)
        if kind == "org":
            continue  # never per queue
        if kind == "target":
            if st and "target" in st:
                e[(q, name, media, end)] = st["target"]
        elif kind == "count":
            e[(q, name, media, end)] = st["count"] if st else 0
        elif kind == "ratio":
            num, den = (st["numerator"], st["denominator"]) if st else (0, 0)
            e[(q, name + "_numerator", media, end)] = num
            e[(q, name + "_denominator", media, end)] = den
            if den:
                e[(q, name, media, end)] = num / den
        elif st:
            ti = name + "-" + media
            e[(q, "duration_count", ti, end)] = st["count"]
            e[(q, "duration_avg", ti, end)] = st["sum"] / st["count"] / 1000
            e[(q, "duration_max", ti, end)] = st["max"] / 1000
            e[(q, "duration_min", ti, end)] = st["min"] / 1000
    return e


def expected_totals(per_bucket):
    """{(queue, counter type, type_instance): sum} over the buckets."""
    t = {}

    def add(k, v):
        t[k] = t.get(k, 0) + v
    for (q, media), buckets in per_bucket.items():
        for stats in buckets:
            for api, name, kind in measures():
                st = stats.get(api)
                if kind in ("org", "target"):
                    continue
                if kind == "count":
                    add((q, "total_" + name, media), st["count"] if st else 0)
                elif kind == "ratio":
                    add((q, "total_%s_numerator" % name, media), st["numerator"] if st else 0)
                    add((q, "total_%s_denominator" % name, media),
                        st["denominator"] if st else 0)
                elif st:
                    add((q, "total_duration_count", name + "-" + media), st["count"])
                    add((q, "total_duration_ms", name + "-" + media), st["sum"])
    return t


def expected_org(truth, ends):
    """({(ORG, type, media, end): value}, {(ORG, counter, media): sum}) of
    the metrics of no queue in the buckets ending at ends: a media type's
    group answered in a bucket has every one of them, 0 when left out."""
    org = [(api, name) for api, name, kind in measures() if kind == "org"]
    by_end = {round(iso_ms(iv.split("/")[1])): b for iv, b in truth["org_buckets"].items()}
    e, t = {}, {}
    for end in ends:
        for media, tr in by_end.get(end, {}).items():
            for api, name in org:
                st = tr["metrics"].get(api)
                e[(ORG, name, media, end)] = st["count"] if st else 0
                k = (ORG, "total_" + name, media)
                t[k] = t.get(k, 0) + (st["count"] if st else 0)
    return e, t


def queries(sim):
    """Conversation aggregates queries the simulator has answered."""
    return sim.stats()["requests"].get(
        "POST /api/v2/analytics/conversations/aggregates/query", {}).get("total", 0)


def bucket_value(key):
    """A value of the catalogue (not a self-metric)."""
    return key[1] == PLUGIN and key[2] != "self"


class CatalogueAcrossKill(unittest.TestCase):
    def setup_run(self, queues):
        """The simulator, a write_http receiver and collectd with Metric all
        on PT5M buckets (not started)."""
        sim = Simulator("--queues", str(queues), "--agents", str(10 * queues),
                        "--flows", "1", "--speed", str(SPEED), "--start", "now",
                        "--warmup", "900")
        rx = Receiver()
        cd = interval_collectd(sim, rx, PLUGIN, SPEED, '    Metric "all"\n')
        return sim, rx, cd

    def test_metric_all_equals_truth_both_ways_across_sigkill(self):
        sim, rx, cd = self.setup_run(3)
        check_across_kill(self, sim, rx, cd, bucket_value, G_MS,
                          "/sim/truth?granularity=PT5M&buckets=40")

    def test_values_queued_at_a_sigkill_are_dispatched_again(self):
        """The write path stands still (the receiver holds every POST) when a
        read dispatches new buckets: they wait in collectd's queue, and
        collectd is SIGKILLed before the next read. The state file records
        a read's buckets as done one read late, so the restarted daemon
        dispatches them again: no bucket is missing. Reads every 10 minutes
        of the simulator's clock (10 s here), so that the kill falls
        between two reads by construction, not by chance."""
        sim = Simulator("--queues", "2", "--agents", "20", "--flows", "1",
                        "--speed", str(SPEED), "--start", "now", "--warmup", "900")
        rx = Receiver()
        cd = interval_collectd(sim, rx, PLUGIN, SPEED, '    Metric "all"\n',
                               interval_s=600)
        try:
            cd.start()
            t0 = sim_ms(sim)
            wait_sim(sim, t0 + 12 * 60000)
            quiet(rx, bucket_value)  # write_http's buffer sent: nothing in flight
            rx.hold()
            asked = queries(sim)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and queries(sim) == asked:
                time.sleep(0.1)
            self.assertGreater(queries(sim), asked, "no read asked for a bucket")
            time.sleep(1.5)  # the read's dispatch and save, well before the next
            with rx.lock:
                before = len(rx.arrivals)
            cd.proc.send_signal(signal.SIGKILL)
            cd.proc.wait()
            self.killed_ms = sim_ms(sim)
            rx.release()
            wait_sim(sim, t0 + 20 * 60000)
            cd.start()
            wait_sim(sim, t0 + 40 * 60000)
            sim.fault({"fault": "pause"})
            quiet(rx, bucket_value)
            truth = sim._open("/sim/truth?granularity=PT5M&buckets=40")
            ends = self.compare(rx, truth)
            # a bucket that ended before the kill (the held read's) reached
            # the receiver only from the restarted daemon: nothing missing
            with rx.lock:
                sent = {round(a[1] * 1000) for a in rx.arrivals[:before]
                        if bucket_value(a[2])}
            held = [e for e in ends if e <= self.killed_ms and e > max(sent)]
            self.assertTrue(held, (sorted(sent)[-3:], ends))
            self.assertEqual(cd.bad_log_lines(), [])
        finally:
            rx.release()
            cd.cleanup()
            sim.stop()
            rx.stop()

    def compare(self, rx, truth):
        got, gauges, counters, ends, truth_ends = bucketed(rx, bucket_value, truth, G_MS)
        self.assertGreaterEqual(len(ends), 6, "fewer than 6 buckets dispatched: %s" % ends)
        # no bucket missing in between, each one the truth knows
        self.assertEqual(ends, list(range(ends[0], ends[-1] + G_MS, G_MS)))
        for end in ends:
            self.assertIn(end, truth_ends, "truth does not cover the run")
        want = {}
        per_key = {}
        for end in ends:
            for q, media in truth_ends[end].items():
                for m, tr in media.items():
                    if tr["metrics"]:  # an answered group
                        want.update(expected_bucket(q, m, end, tr["metrics"]))
                        per_key.setdefault((q, m), []).append(tr["metrics"])
        org_want, org_totals = expected_org(truth, ends)
        self.assertTrue(org_want, "no bucket of the metrics of no queue")
        want.update(org_want)
        # every queue and media type of the simulator, every measure
        self.assertEqual({q for q, _ in per_key}, set(truth["queues"]))
        for q, info in truth["queues"].items():
            for m in info["media"]:
                self.assertIn((q, m), per_key)
        seen = {k[2].rsplit("-", 1)[0] if k[1] in BUCKET_TYPES else k[1] for k in want
                if k[1] in BUCKET_TYPES or k[2] in {m for _, m in per_key}}
        for api, name, kind in measures():
            self.assertIn(name + ("_numerator" if kind == "ratio" else ""), seen, api)
        print("%d buckets, %d queue-media keys, %d bucket values, %d counters compared"
              % (len(ends), len(per_key), len(want), len(counters)), file=sys.stderr)
        names = {n: kind for _, n, kind in measures()}
        for fam, pick in (("org-level", lambda k: k[0] == ORG),
                          ("targets", lambda k: names.get(k[1]) == "target")):
            keys = [k for k in want if pick(k)]
            equal = sum(1 for k in keys if k in gauges and gauges[k][-1] == want[k])
            print("%s: %d compared, %d equal" % (fam, len(keys), equal), file=sys.stderr)
        # both ways: the same series, the same values
        assert_both_ways(self, gauges, want, "killed at %s, buckets %s" % (self.killed_ms, ends))
        # counters: the last equals the sum of the buckets, never going down
        totals = expected_totals(per_key)
        totals.update(org_totals)
        assert_counters(self, got, counters, totals)
        return ends


if __name__ == "__main__":
    run_tests(__name__)
