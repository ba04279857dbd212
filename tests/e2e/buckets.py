# SPDX-License-Identifier: MIT
"""Per-bucket values a write_http receiver got, beside a simulator truth of
closed buckets (the interval families: analytics, data actions)."""
import signal
import time

from collectd_harness import FakeClockCollectd, iso_ms, sim_ms, wait_sim
from receiver import Receiver


def bucketed(rx, keep, truth, g_ms):
    """The values of the keys keep() accepts, cut at the last bucket that
    closed before the truth was read: (got, gauges, counters, ends,
    truth_ends). got and gauges: {(instance, type, type_instance, time ms):
    [values]}; counters: the total_* keys of got; ends: the bucket ends
    dispatched, in order; truth_ends: {end ms: truth of that bucket}."""
    got = {}
    with rx.lock:
        for _, t, key, value in rx.arrivals:
            if keep(key):
                got.setdefault((key[2], key[3], key[4], round(t * 1000)), []).append(value)
    closed = round(iso_ms(truth["sim_time"])) // g_ms * g_ms
    truth_ends = {round(iso_ms(iv.split("/")[1])): b for iv, b in truth["buckets"].items()}
    counters = {k for k in got if k[1].startswith("total_")}
    last_end = max(k[3] for k in got if k not in counters and k[3] <= closed)
    # counters up to the last bucket compared (later ones came after the
    # pause, from a bucket the paused simulator had not finished)
    counters = {k for k in counters if k[3] <= last_end}
    got = {k: v for k, v in got.items() if k[3] <= last_end}
    gauges = {k: v for k, v in got.items() if k not in counters}
    return got, gauges, counters, sorted({k[3] for k in gauges}), truth_ends


def assert_both_ways(tc, gauges, want, missing_why="", revised=False):
    """Every bucket value dispatched is in want and every one of want was
    dispatched, each time with the same value, equal to want's. revised: a
    family whose source fills a bucket late (revisions change values): the
    last value dispatched equals want's."""
    tc.assertEqual(sorted(set(gauges) - set(want))[:10], [], "dispatched, not in truth")
    missing = set(want) - set(gauges)
    tc.assertEqual(sorted(missing)[:10], [], "in truth, not dispatched; ends %s; %s"
                   % (sorted({k[3] for k in missing}), missing_why))
    wrong = []
    for k, w in want.items():
        vals = gauges[k]
        if len(set(vals)) != 1 and not revised:  # dispatched again: the same value
            wrong.append((k, "again with another value", vals))
        elif abs(vals[-1] - w) > 1e-6 * max(1, abs(w)):
            wrong.append((k, w, vals[-1]))
    tc.assertEqual(wrong[:10], [], "%d series differ from truth" % len(wrong))


def assert_counters(tc, got, counters, totals):
    """Each counter's last value equals totals' and never went down, and no
    counter is one totals lacks."""
    wrong = []
    for k, w in totals.items():
        series = sorted((t, v[-1]) for (e, ty, ti, t), v in got.items() if (e, ty, ti) == k)
        if not series or series[-1][1] != w:
            wrong.append((k, w, series[-1] if series else None))
        elif [v for _, v in series] != sorted(v for _, v in series):
            wrong.append((k, "went down"))
    tc.assertEqual(wrong[:10], [], "%d counters differ" % len(wrong))
    extra = {(e, ty, ti) for (e, ty, ti, t) in counters} - set(totals)
    tc.assertEqual(sorted(extra)[:10], [], "counters the truth lacks")


def quiet(rx, keep, still=1.0, timeout=20):
    """Waits until no value of the keys keep() accepts has arrived for still
    seconds (at most timeout)."""
    deadline = time.monotonic() + timeout
    n, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        with rx.lock:
            now_n = sum(1 for a in rx.arrivals if keep(a[2]))
        if now_n != n:
            n, since = now_n, time.monotonic()
        elif time.monotonic() - since >= still:
            return
        time.sleep(0.2)


def across_kill(sim, cd, rx, keep, g_ms, kill_after_ms, down_ms, run_ms,
                after_restart=None):
    """Starts cd; SIGKILLs it mid-bucket once kill_after_ms have passed and
    keep's values have left collectd (its write queue is lost at a SIGKILL
    whatever a plugin does); restarts it down_ms later (then calls
    after_restart(restarted), if given, which may return a simulator time
    the run must reach); pauses the simulator run_ms after the start (or at
    that time, when later) and waits for the values to settle. Returns (killed,
    restarted) simulator times in ms."""
    cd.start()
    t0 = sim_ms(sim)
    wait_sim(sim, (t0 + kill_after_ms) // g_ms * g_ms + g_ms // 2)
    quiet(rx, keep)
    cd.proc.send_signal(signal.SIGKILL)
    cd.proc.wait()
    killed = sim_ms(sim)
    wait_sim(sim, killed + down_ms)
    restarted = sim_ms(sim)
    cd.start()
    until = after_restart(restarted) if after_restart is not None else None
    wait_sim(sim, max(t0 + run_ms, until or 0))
    sim.fault({"fault": "pause"})
    quiet(rx, keep)
    return killed, restarted


def interval_collectd(sim, rx, plugin, speed, extra, revisit_s=600, interval_s=30):
    """collectd on the simulator's clock with plugin's <Org> block for the
    interval families (buckets of 5 min, settle 30 s, revisits over
    revisit_s, backfill over 2 h, a read every interval_s) plus extra,
    writing to rx."""
    block = sim.org_block(
        "acme",
        extra='    Host "acme"\n    InstanceFrom "id"\n'
        '    Granularity "PT5M"\n    SettleDelay 30\n'
        "    RevisitWindow %d\n    BackfillHorizon 7200\n" % revisit_s + extra)
    return FakeClockCollectd(
        f"<LoadPlugin {plugin}>\n  Interval {interval_s}\n</LoadPlugin>\n"
        f"<Plugin {plugin}>\n{block}</Plugin>\n" + rx.config(),
        sim, speed, stock=("logfile", "csv", "write_http"))


# The <Org> block of a genesys_flowmetrics history row read alone: buckets
# of 5 min settled 30 s after their end, an hour of backfill, no window, no
# active flows (add the row's own key).
FLOW_ROW = ('    Host "acme"\n    InstanceFrom "id"\n'
            '    Granularity "PT5M"\n    SettleDelay 30\n'
            "    RevisitWindow 0\n    BackfillHorizon 3600\n"
            "    ActiveFlows false\n")


def run_family(sim, plugin, extra, minutes, keep, truth_path, speed):
    """collectd on the simulator's clock (speed) with plugin's <Org> block
    (extra: its keys), a read every 30 s, for minutes of simulated time,
    then the simulator paused and the values keep() accepts quiet:
    (receiver, truth at truth_path, /sim/stats, bad log lines, the log).
    Stops the simulator."""
    rx = Receiver()
    block = sim.org_block("acme", extra=extra)
    cd = FakeClockCollectd(
        f"<LoadPlugin {plugin}>\n  Interval 30\n</LoadPlugin>\n"
        f"<Plugin {plugin}>\n{block}</Plugin>\n" + rx.config(),
        sim, speed, stock=("logfile", "csv", "write_http"), write_threads=1)
    try:
        cd.start()
        t0 = sim_ms(sim)
        wait_sim(sim, t0 + minutes * 60000)
        sim.fault({"fault": "pause"})
        quiet(rx, keep)
        return (rx, sim._open(truth_path), sim._open("/sim/stats"), cd.bad_log_lines(),
                cd.log_text())
    finally:
        cd.cleanup()
        sim.stop()
        rx.stop()


def assert_refused_alone(tc, run, keep, plugin, permission, family, query, other_type):
    """A run_family() run with permission withheld: no value keep()
    accepts, values of other_type still come (the plugin's other
    families), one log line of plugin naming family and permission, and
    every request of query (asked again each read, to see a grant come
    back) answered 403."""
    rx, _, stats, _, log = run
    with rx.lock:
        mine = [a for a in rx.arrivals if keep(a[2])]
        others = [a for a in rx.arrivals if a[2][1] == plugin and a[2][3] == other_type]
    tc.assertEqual(mine, [])
    tc.assertTrue(others, f"the {other_type} values stopped too")
    lines = [ln for ln in log.splitlines() if permission in ln and f"{plugin} plugin:" in ln]
    tc.assertEqual(len(lines), 1, lines)
    tc.assertIn(family, lines[0])
    req = stats["requests"].get(query, {})
    tc.assertEqual(set(req.get("by_status", {})), {"403"}, req)


def check_across_kill(tc, sim, rx, cd, keep, g_ms, truth_path, after_restart=None):
    """The interval families' run: across_kill (killed 12 min in, down 8,
    34 in all; after_restart as there), then tc.compare(rx, truth) (the
    bucket ends compared), a bucket that closed while collectd was down
    among them, no error in the log; everything stopped at the end."""
    try:
        tc.killed_ms, tc.restarted_ms = across_kill(
            sim, cd, rx, keep, g_ms, 12 * 60000, 8 * 60000, 34 * 60000, after_restart)
        ends = tc.compare(rx, sim._open(truth_path))
        # the restarted daemon took what closed while it was down
        tc.assertTrue([e for e in ends if tc.killed_ms < e <= tc.restarted_ms],
                      (ends, tc.killed_ms, tc.restarted_ms))
        tc.assertEqual(cd.bad_log_lines(), [])
    finally:
        cd.cleanup()
        sim.stop()
        rx.stop()


def self_values(rx, plugin, type_):
    """{type_instance: last value} of plugin's self-metric type_."""
    out = {}
    with rx.lock:
        for _, t, key, value in rx.arrivals:
            if key[1] == plugin and key[2] == "self" and key[3] == type_:
                out[key[4]] = value
    return out
