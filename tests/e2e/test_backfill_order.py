# SPDX-License-Identifier: MIT
"""End to end: a 60-bucket backfill through collectd's write path.

genesys_analytics starts with InitialBackfill of one hour at PT1M (60
buckets per queue and media, each series dispatched 60 times in one start);
the plugins leave the order of values to collectd (collectd-genesys(5),
"WRITE THREADS AND THE ORDER OF VALUES"). With WriteThreads 1 (what csv and
rrdtool want) every bucket must reach the csv files once, in time order,
and no "Value too old" may be logged for a series of ours. With collectd's
default five write threads, two queued values of one series may be written
in either order, but every (series, time, value) must arrive, once
(write_http to a receiver that keeps them all). The same for
genesys_flowmetrics' flow aggregates, which use the same interval engine."""
import datetime
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, csv_values, run_tests  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

G_S = 60
BUCKETS = 60


def _iso_s(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def csv_series(csv_dir, plugin):
    """{(instance dir, file stem): [epochs in file order]} of one plugin."""
    out = {}
    for host in os.listdir(csv_dir) if os.path.isdir(csv_dir) else []:
        for d in os.listdir(os.path.join(csv_dir, host)):
            if not d.startswith(plugin + "-") or d == plugin + "-self":
                continue
            for name in sorted(os.listdir(os.path.join(csv_dir, host, d))):
                stem = re.sub(r"-\d{4}-\d{2}-\d{2}$", "", name)
                rows = out.setdefault((d, stem), [])
                with open(os.path.join(csv_dir, host, d, name)) as f:
                    for line in f:
                        # A line being written has no newline yet.
                        if line.endswith("\n") and not line.startswith("epoch"):
                            try:
                                rows.append(float(line.split(",")[0]))
                            except ValueError:
                                # Two writers in one file at once.
                                rows.append(f"torn line {line!r}")
    return out


def received_series(rx, plugin):
    """The same shape from the receiver: {(instance dir, stem): [(epoch,
    value) in arrival order]}."""
    out = {}
    with rx.lock:
        for _, t, (host, p, pi, ty, ti), v in rx.arrivals:
            if p != plugin or pi == "self":
                continue
            stem = f"{ty}-{ti}" if ti else ty
            out.setdefault((f"{p}-{pi}", stem), []).append((float(t), v))
    return out


class BackfillOrder(unittest.TestCase):
    def run_backfill(self, plugin, block_extra, want_type, total_type, truth,
                     one_thread):
        """one_thread: WriteThreads 1 and the csv writer (every bucket once
        and in order); else collectd's default and write_http (every bucket
        once, in any order)."""
        rx = None if one_thread else Receiver()
        sim = Simulator("--queues", "3", "--agents", "30", "--flows", "2",
                        "--start", "now", "--warmup", str((BUCKETS + 10) * G_S))
        cd = None
        try:
            block = sim.org_block(
                "acme", extra='    Host "acme"\n    InstanceFrom "id"\n'
                '    Granularity "PT1M"\n    SettleDelay 5\n'
                f"    InitialBackfill {BUCKETS * G_S}\n"
                "    BackfillHorizon 7200\n" + block_extra)
            body = f"<LoadPlugin {plugin}>\n  Interval 1\n</LoadPlugin>\n" \
                f"<Plugin {plugin}>\n{block}</Plugin>\n"
            if one_thread:
                cd = Collectd(body, write_threads=1)
            else:  # no WriteThreads line: collectd's default (5)
                cd = Collectd(body + rx.config(), stock=("logfile", "write_http"))
                self.assertNotIn("WriteThreads", open(cd.conf).read())

            def series_now():
                """{(dir, stem): [(epoch or a torn line, value)]}."""
                if not one_thread:
                    return received_series(rx, plugin)
                return {key: [(t, None) for t in times] for key, times
                        in csv_series(cd.csv, plugin).items()}

            # The newest bucket settled at start: backfilled in the same
            # start as the 59 before it.
            newest = (int(time.time()) - 5) // G_S * G_S

            def backfilled():
                tot = [[t for t, _ in r] for (d, stem), r in series_now().items()
                       if stem.split("-")[0] == total_type]
                return tot and all(r and max(r) >= newest for r in tot)

            status = cd.run_until(backfilled, timeout=90)
            self.assertEqual(status, 0, cd.log_text()[-3000:])
            self.assertTrue(backfilled(), cd.log_text()[-3000:])
            if not one_thread:
                time.sleep(2)  # write_http's FlushInterval 1
            got_series = series_now()
            series = {key: [t for t, _ in rows] for key, rows in got_series.items()}

            def values(d, stem):
                if one_thread:
                    return csv_values(cd.csv, d, stem)
                return sorted(got_series.get((d, stem), []))

            for key, rows in series.items():
                # Once each (whole lines: two csv writers in one file tear
                # them), and with one write thread in the order of time (the
                # csv plugin appends in the order values are handed over).
                self.assertEqual([r for r in rows if isinstance(r, str)], [], key)
                self.assertEqual(len(rows), len(set(rows)), (key, rows))
                if one_thread:
                    self.assertEqual(rows, sorted(rows), key)
            # Every bucket arrived: the buckets of each series add up to its
            # total counter's last value (the csv rows are value-less here,
            # so read them again with values).
            n_series = 0
            for (d, stem), rows in series.items():
                if stem.split("-")[0] != want_type:
                    continue
                n_series += 1
                inst = stem[len(want_type):]
                buckets = values(d, want_type + inst)
                totals = values(d, total_type + inst)
                self.assertTrue(totals, (d, stem))
                self.assertGreaterEqual(len(buckets), 1, (d, stem))
                self.assertEqual(sum(v for t, v in buckets if t <= max(t for t, _ in totals)),
                                 max(totals)[1], (d, stem))
            self.assertGreater(n_series, 0, sorted(series)[:10])
            # The whole hour was backfilled in this start.
            ends = {t for (d, stem), rows in series.items()
                    if stem.split("-")[0] == want_type for t in rows}
            hour = {float(newest - i * G_S) for i in range(BUCKETS)}
            if truth:
                # Every queue, media and minute of the hour equals the
                # simulator's truth, both ways.
                t = sim._open(f"/sim/truth?granularity=PT1M&buckets={BUCKETS + 5}")
                want, got = {}, {}
                for iv, queues in t["buckets"].items():
                    end = _iso_s(iv.split("/")[1])
                    for q, media in queues.items():
                        for m, tr in media.items():
                            if end in hour and tr["offered"]:
                                want[(q, m, end)] = tr["offered"]
                for (d, stem), rows in series.items():
                    if stem.split("-")[0] != want_type:
                        continue
                    q, m = d[len(plugin) + 1:], stem[len(want_type) + 1:]
                    for at, v in values(d, stem):
                        if at in hour and v:
                            got[(q, m, at)] = v
                self.assertEqual(got, want)
                # (a quiet minute has none: most have some)
                self.assertGreaterEqual(len({k[2] for k in want}), BUCKETS * 3 // 4)
            else:
                # Two flows leave some minutes without an execution.
                self.assertGreaterEqual(len(ends & hour), BUCKETS // 2)
            too_old = [line for line in cd.log_text().splitlines()
                       if "Value too old" in line and "/genesys_" in line]
            if one_thread:
                self.assertEqual(too_old, [], f"{len(too_old)} lines")
            print(f"# {plugin}, WriteThreads {1 if one_thread else 'default'}: "
                  f"{sum(len(r) for r in series.values())} values, "
                  f"{len(too_old)} 'Value too old'", flush=True)
            self.assertEqual(cd.bad_log_lines(), [])
            if plugin == "genesys_analytics":
                # It says at start what it monitors.
                self.assertRegex(cd.log_text(), r'\[info\] genesys_analytics plugin: '
                                 r'Org "acme": 3 queues, \d+ measures, buckets of 60 s, '
                                 r"agent status off")
        finally:
            if cd is not None:
                cd.cleanup()
            if rx is not None:
                rx.stop()
            sim.stop()

    def test_analytics_backfill_once_and_in_order(self):
        self.run_backfill("genesys_analytics", "", "offered", "total_offered",
                          True, one_thread=True)

    def test_analytics_backfill_every_value_default_threads(self):
        self.run_backfill("genesys_analytics", "", "offered", "total_offered",
                          True, one_thread=False)

    def test_flowmetrics_backfill_once_and_in_order(self):
        self.run_backfill("genesys_flowmetrics",
                          "    Aggregates true\n",
                          "flow_interval_executions", "total_flow_executions",
                          False, one_thread=True)

    def test_flowmetrics_backfill_every_value_default_threads(self):
        self.run_backfill("genesys_flowmetrics",
                          "    Aggregates true\n",
                          "flow_interval_executions", "total_flow_executions",
                          False, one_thread=False)


if __name__ == "__main__":
    run_tests(__name__)
