# SPDX-License-Identifier: MIT
"""Shared by the genesys_realtime end-to-end tests: waiting for conditions,
the simulator's request counters, and the comparison of every value the
plugin dispatched with the simulator's ground truth."""
import collections
import time

PLUGIN = "genesys_realtime"


def wait_for(cond, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


# gauges that grow with the clock while nothing changes (Adherence)
CLOCK_GAUGES = ("adherence_out_duration",)


def settle(rx, quiet=3.0, timeout=40):
    """Waits until no queue value of genesys_realtime has changed for
    `quiet` seconds (values keep arriving: every gauge is dispatched again
    each interval); those that grow with the clock (the longest waits,
    adherence's durations) are left out, and so are the other plugins'
    (a receiver shared with the history families gets new buckets and
    backfill on the wall clock, which a paused model does not stop)."""
    def queue_values():
        return {k: v for k, v in rx.snapshot().items()
                if k[1] == PLUGIN and k[2] != "self" and not k[3].startswith("longest_")
                and k[3] not in CLOCK_GAUGES}

    deadline = time.monotonic() + timeout
    last = queue_values()
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = queue_values()
        if now != last:
            last = now
            stable_since = time.monotonic()
        elif time.monotonic() - stable_since >= quiet:
            return True
    return False


def conv_counters(rx, types, host=None):
    """{(queue, media, type): value} of the conversation counters of types
    the plugin dispatched (of host, when given)."""
    out = {}
    for (h, plugin, queue, type_, ti), value in rx.snapshot().items():
        if plugin == PLUGIN and type_ in types and host in (None, h):
            out[(queue, ti, type_)] = value
    return out


def settled_counters(tc, rx, types, quiet=3.0, timeout=30, host=None):
    """conv_counters once they have not changed for `quiet` seconds (fails
    tc when they never stop)."""
    last, since = conv_counters(rx, types, host), time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = conv_counters(rx, types, host)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    tc.fail("counters did not settle")


def requests(stats, key, status=None):
    entry = stats["requests"].get(key, {})
    if status is None:
        return entry.get("total", 0)
    return entry.get("by_status", {}).get(str(status), 0)


def compare_with_truth(tc, sim, rx, queues, offsets=(0.0,), drained=False, longest=True):
    """Pauses the simulator's model, lets the last changes arrive, and
    asserts (on the TestCase tc) that every value equals the truth. Returns
    (values compared, seconds the model stayed paused).

    Longest waits: the plugin grows them with the wall clock from when they
    were observed, the simulator at speed 1 too, so past the pause the
    plugin is ahead of the truth by the time since the pause. It trails by
    the delivery latency plus how far the simulator's model runs behind the
    wall clock under load (seen up to 1.4 s at 1,200 queues on 2 cores), and
    is never ahead, but by one of `offsets`. drained: first wait until the
    plugin has taken every message sent (runs without a lost socket): a value observed before an
    earlier pause is ahead by the pauses that came after it (the
    simulator's clock stopped, the plugin's did not). longest=False leaves
    the longest waits out (still checked the other way): with the simulator
    faster than the wall clock they cannot be compared, the plugin grows
    them with the wall clock from moments on the simulator's clock."""
    # The simulator paused between sending and answering the request:
    # taking the earliest moment keeps "never ahead" strict and widens the
    # lag allowance by the request's own duration.
    before = time.time()
    t_pause = time.monotonic()
    sim.fault({"fault": "pause"})
    paused_at = before
    pause_took = time.time() - before
    try:
        # Every message the simulator sent before the pause has been handled
        # (under load the plugin can be seconds behind a burst, and a burst
        # that changes nothing looks settled), then nothing changes.
        sent = sim.stats()["ws_messages_sent"]
        # (only where no socket was lost: messages in flight then are gone)
        tc.assertTrue(not drained or wait_for(lambda: (rx.get(PLUGIN, "self", "notify_messages",
                                               host="acme") or 0) >= sent, 90, 0.5),
                      f"the plugin did not take the {sent} messages sent")
        tc.assertTrue(settle(rx), "values never stopped changing")
        truth = sim.truth()
        mismatches, lags = [], []
        compared = 0

        def check(qid, type_, ti, want):
            nonlocal compared
            got = rx.get(PLUGIN, qid, type_, ti, host="acme")
            compared += 1
            if got is None or abs(got - want) > 1e-6:
                mismatches.append((qid, type_, ti, got, want))

        def check_longest(qid, type_, ti, want, count):
            nonlocal compared
            if not longest:
                return
            got = rx.get_timed(PLUGIN, qid, type_, ti, host="acme")
            compared += 1
            if got is None:
                mismatches.append((qid, type_, ti, None, want))
                return
            at, value = got
            # The count, not the truth's value, says whether a conversation
            # is in the state: one that entered it in the very millisecond
            # the model stopped has a longest of 0 in the truth, and the
            # plugin's grows from then with the wall clock like any other.
            if count > 0:
                value -= at - paused_at
            lags.append(want - value)
            if not any(off - 2.0 - pause_took <= value - want <= off + 0.05
                       for off in offsets):
                mismatches.append((qid, type_, ti, value, want))

        # The other way: every queue series the plugin dispatched is one the
        # truth has (a zero status or presence the truth leaves out is a
        # true zero; anything else it lacks is a failure).
        qualified = {"agents_routing": "routing", "agents_presence": "presence"}
        media_types = {"waiting", "interacting", "alerting", "longest_waiting",
                       "longest_interacting"}
        agents_instances = {"member", "active", "on_queue", "off_queue"}
        extra = []
        for key, value in rx.snapshot().items():
            host, plugin, qid, type_, ti = key
            if plugin != PLUGIN or host != "acme" or qid in ("self", "org"):
                continue
            q = truth["queues"].get(qid)
            if q is None:
                extra.append((key, value, "no such queue in truth"))
            elif type_ in media_types:
                if ti not in q["media"]:
                    extra.append((key, value, "media not in truth"))
            elif type_ == "agents":
                if ti not in agents_instances:
                    extra.append((key, value, "unknown agents instance"))
            elif type_ in qualified:
                names = {n.lower(): v for n, v in q["agents"][qualified[type_]].items()}
                if ti not in names and value != 0:
                    extra.append((key, value, "non-zero, truth has none"))
            elif not type_.startswith("conv_"):
                extra.append((key, value, "a type the truth does not know"))

        for qid, q in truth["queues"].items():
            for media, m in q["media"].items():
                check(qid, "waiting", media, m["waiting"])
                check(qid, "interacting", media, m["interacting"])
                check(qid, "alerting", media, m["alerting"])
                check_longest(qid, "longest_waiting", media,
                              m["longest_waiting_ms"] / 1000, m["waiting"])
                check_longest(qid, "longest_interacting", media,
                              m["longest_interacting_ms"] / 1000, m["interacting"])
            a = q["agents"]
            check(qid, "agents", "member", a["members"])
            check(qid, "agents", "active", a["active"])
            check(qid, "agents", "on_queue", a["on_queue"])
            check(qid, "agents", "off_queue", a["off_queue"])
            for status, n in a["routing"].items():
                check(qid, "agents_routing", status.lower(), n)
            for presence, n in a["presence"].items():
                check(qid, "agents_presence", presence.lower(), n)
        if lags:
            print(f"# longest-wait lag behind truth: max {max(lags):.3f} s, "
                  f"median {sorted(lags)[len(lags) // 2]:.3f} s")
        if extra or mismatches:
            st = sim.stats()
            by_type = dict(collections.Counter(m[1] for m in mismatches))
            print(f"# diagnostics: sockets_total {st['sockets_total']}, slow consumer "
                  f"drops {st['ws_slow_consumer_drops']}, simulator tick work max "
                  f"{st.get('tick_work_ms_max')} ms, loop lag max {st.get('loop_lag_ms_max')} ms, "
                  f"mismatches by type {by_type}, first {mismatches[:5]}")
            arrivals = rx.arrival_list()
            for qid, type_, ti, _, _ in mismatches[:3]:
                key = ("acme", PLUGIN, qid, type_, ti)
                last = [(round(a, 3), round(t, 3), v) for a, t, k, v in arrivals if k == key]
                print(f"# {qid} {type_} {ti}: last arrivals (arrived, time, value) "
                      f"{last[-4:]}, paused at {paused_at:.3f}")
        tc.assertEqual(extra, [], f"{len(extra)} series the truth lacks, "
                       f"first: {extra[:10]}")
        tc.assertEqual(len(truth["queues"]), queues)
        tc.assertGreater(compared, queues * 10)
        tc.assertEqual(mismatches, [], f"{len(mismatches)} of {compared} differ "
                       f"(offsets {offsets}), first: {mismatches[:10]}")
        newest, late = {}, 0
        for _, t, key, _ in rx.arrival_list():
            late += t < newest.get(key, t)
            newest[key] = max(t, newest.get(key, t))
        print(f"# {compared} values equal the truth ({late} values arrived after "
              f"a newer one of their series, left out)")
        return compared
    finally:
        sim.fault({"fault": "resume"})
        tc.last_pause = time.monotonic() - t_pause


def summaries_truth(sim, window_ms, from_ms, to_ms, tolerance_ms=0, offset_ms=0):
    """The simulator's min, max and time-weighted mean of every live gauge
    over each closed window [k*window_ms, (k+1)*window_ms) within [from_ms,
    to_ms), simulated ms, from the stream it served (tests/sim/README.md,
    "Summaries truth"), with bounds for points within tolerance_ms of a
    boundary; offset_ms: the client's clock reads simulated time plus this:
    {(queue id or "org", type, type_instance, end_ms): row}."""
    js = sim._open(f"/sim/truth/summaries?window_ms={int(window_ms)}&from_ms={int(from_ms)}"
                   f"&to_ms={int(to_ms)}&tolerance_ms={int(tolerance_ms)}"
                   f"&offset_ms={int(offset_ms)}")
    return {(r["queue"], r["type"], r["type_instance"], r["end_ms"]): r
            for r in js["summaries"]}


ROUTING = ("IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING", "OFF_QUEUE")
PRESENCES = ("AVAILABLE", "AWAY", "BUSY", "BREAK", "MEAL", "MEETING", "TRAINING",
             "ON_QUEUE", "IDLE", "OFFLINE")


def compare_org_agents(tc, sim, rx, agents_total, pause=True):
    """Asserts that the org-wide agent counts (AgentActivity) equal the
    truth, both ways, and that the truth has agents_total agents. pause:
    pauses the model and lets the last events arrive first, and resumes it
    after (else the caller has paused it). Returns the values compared."""
    if pause:
        sim.fault({"fault": "pause"})
    try:
        if pause:
            time.sleep(3)  # the last events arrive
        agents = sim.truth()["agents"]
        tc.assertEqual(agents["total"], agents_total)
        compared = 1
        tc.assertEqual(rx.get(PLUGIN, "org", "org_agents", "total"), agents["total"])
        for status in ROUTING:
            tc.assertEqual(rx.get(PLUGIN, "org", "org_agents_routing", status.lower()),
                           agents["routing"].get(status, 0), status)
            compared += 1
        for presence in PRESENCES:
            tc.assertEqual(rx.get(PLUGIN, "org", "org_agents_presence", presence.lower()),
                           agents["presence"].get(presence, 0), presence)
            compared += 1
        # The other way: no org series the truth lacks.
        known = ({("org_agents", "total")}
                 | {("org_agents_routing", s.lower()) for s in ROUTING}
                 | {("org_agents_presence", p.lower()) for p in PRESENCES}
                 | {("org_agents_presence", "other")})
        extra = [k for k in rx.snapshot()
                 if k[1] == PLUGIN and k[2] == "org" and (k[3], k[4]) not in known]
        tc.assertEqual(extra, [])
        # every presence, in every spelling and as org ids, mapped
        tc.assertEqual(rx.get(PLUGIN, "org", "org_agents_presence", "other"), 0)
        return compared
    finally:
        if pause:
            sim.fault({"fault": "resume"})


def compare_counters(tc, before, after, got, counters):
    """Asserts that each conversation counter got ({(queue, media, type):
    value}, conv_counters) is what the truth counted from before to after
    (counters: {truth name: type}), both ways. Returns (counters compared,
    those that moved)."""
    compared = moved = 0
    for qid, q in after["queues"].items():
        for media, m in q["media"].items():
            old = before["queues"][qid]["media"][media]["cumulative"]
            for name, type_ in counters.items():
                want = m["cumulative"][name] - old[name]
                tc.assertEqual(got.get((qid, media, type_), 0), want, f"{qid} {media} {name}")
                compared += 1
                moved += want > 0
    # The other way: no counter of a queue or media the truth lacks.
    extra = [k for k in got if k[0] not in after["queues"]
             or k[1] not in after["queues"][k[0]]["media"]]
    tc.assertEqual(extra, [])
    return compared, moved
