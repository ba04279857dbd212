# SPDX-License-Identifier: MIT
"""End to end: genesys_platform in the real collectd against the
simulator, whose edges, trunks and status page components change state
every few seconds (--platform-slot). Every value dispatched (edge online
and in service, CPU, memory, disks, uptime; trunk connected, in service,
its edge in service, inbound and outbound calls; each status page
component's level) equals /sim/truth/platform of the slot it was read in,
and every value the truth implies for a polled slot was dispatched:
compared both ways. Values read within GRACE_MS after a slot boundary are
left out of the comparison (the requests of one poll may straddle it;
the polls take well under that here).
The status page is fetched without a token (the simulator refuses one),
a component with an unknown status gives no value and counts in
platform_unknown_status, and the requests per poll are the minimum the
batching allows. The simulator answers as the public record shows a real org does:
cloud-media edges listed unless showCloudMedia=false (the plugin asks it
not to; the truth leaves them out), an offline edge's metrics and its
trunks' hours old by eventTime (not sent as current, counted in
platform_stale), trunk page links that drop trunkType (the plugin asks
its pages by number: no PHONE trunk; pages of 2 here, the smaller
pageSize said once per listing), and a status page of region groups and components outside any
(the org's group, EMEA (Frankfurt) by its Region, and those outside any
are sent). A second run with 400 trunks, TrunkName, Shard 2/2 and
the metrics answered in the {"entities": [...]} form checks the batches (two trunk metrics requests of at most 100 ids) and
that the second shard leaves the status page alone; a third lists the
cloud-media edges (CloudMediaEdges true), every status group
(StatusGroup "*") and takes the forms where the offline metrics are
absent and the groups only list their components. A third run answers
edge metrics 500 and trunk metrics with invalid JSON three times each:
counted, logged, the rest going on, values named by the entities' names."""
import bisect
import fnmatch
import math
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402

PLUGIN = "genesys_platform"
SLOT_S = 4
GRACE_MS = 800
RUN_S = 15


def sanitize(name):
    out, last = [], ""
    for ch in name:
        c = ch if (ch.isalnum() or ch in "_-." or ord(ch) > 127) else "_"
        if c == "_" and last == "_":
            continue
        out.append(c)
        last = c
    while len(out) > 1 and out[-1] == "_":
        out.pop()
    return "".join(out) or "unknown"


def owns(entity_id, index, count):
    """gen_org_owns: FNV-1a 64 of the id, modulo the shards."""
    h = 0xcbf29ce484222325
    for b in entity_id.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h % count == index


OWN_GROUP = "EMEA (Frankfurt)"   # Region eu_central_1


def expected(truth, trunk_names=None, status=True, cloud_media=False, groups=(OWN_GROUP,)):
    """{(plugin_instance, type, type_instance): value} of one slot: the
    org's own edges (and the cloud-media ones with cloud_media), the
    EXTERNAL trunks, metrics only while current, the status components of
    groups (None: every one) and those outside any group."""
    want = {}
    for eid, e in truth["edges"].items():
        if e["cloud_media"] and not cloud_media:
            continue
        want[(eid, "edge_online", "")] = 1.0 if e["online"] else 0.0
        want[(eid, "edge_active", "")] = 1.0 if e["active"] else 0.0
        m = e["metrics"]
        if m is not None:
            want[(eid, "edge_cpu_active", "")] = m["cpu_active"]
            want[(eid, "edge_uptime", "")] = m["uptime_s"]
            for kind, parts in (("memory", m["memory"]), ("disk", m["disks"])):
                for part, v in parts.items():
                    want[(eid, "edge_%s_used" % kind, sanitize(part))] = v["used"]
                    want[(eid, "edge_%s_available" % kind, sanitize(part))] = v["available"]
    for tid, t in truth["trunks"].items():
        if t["type"] != "EXTERNAL" or (trunk_names is not None
                                        and t["name"] not in trunk_names):
            continue
        want[(tid, "trunk_connected", "")] = 1.0 if t["connected"] else 0.0
        want[(tid, "trunk_in_service", "")] = 1.0 if t["in_service"] else 0.0
        want[(tid, "trunk_edge_in_service", "")] = 1.0 if t["edge_in_service"] else 0.0
        if t["metrics_current"]:
            want[(tid, "trunk_calls", "inbound")] = float(t["inbound"])
            want[(tid, "trunk_calls", "outbound")] = float(t["outbound"])
    for c in truth["components"] if status else ():
        mine = c["group"] == "" or groups is None or c["group"] in groups
        if c["level"] is not None and mine:
            label = c["group"] + "-" + c["name"] if c["group"] else c["name"]
            want[("status", "status_component", sanitize(label))] = float(c["level"])
    return want


def by_name(truth):
    """expected() with each edge and trunk named by its name (InstanceFrom
    "name"), every status group (no Region, and the simulator's URL names
    none)."""
    names = {i: sanitize(e["name"]) for kind in ("edges", "trunks")
             for i, e in truth[kind].items()}
    return {(names.get(k[0], k[0]),) + k[1:]: v
            for k, v in expected(truth, groups=None).items()}


class Platform(unittest.TestCase):
    def run_platform(self, sim_args, extra, faults=None, allow=(), instance_from="id",
                     log=False):
        sim = Simulator("--queues", "1", "--agents", "2", "--start", "now",
                        "--platform-slot", str(SLOT_S), *sim_args, tls=False)
        rx = Receiver()
        block = sim.org_block(
            "acme", extra=f'    Host "acme"\n    InstanceFrom "{instance_from}"\n'
            f'    StatusPageURL "{sim.base_url}/sim/status/api/v2/components.json"\n' + extra)
        if faults:
            sim.fault(faults)
        cd = Collectd(f"<LoadPlugin {PLUGIN}>\n  Interval 1\n</LoadPlugin>\n"
                      f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + rx.config(),
                      stock=("logfile", "csv", "write_http"))
        try:
            cd.start()
            time.sleep(RUN_S)
            self.assertIsNone(cd.proc.poll(), "collectd exited")
            cd.stop()
            time.sleep(1.5)
            stats = sim.stats()
            self.log = cd.log_text() if log else ""
            # the truth of every slot a value was read in
            slots = {}
            with rx.lock:
                arrivals = list(rx.arrivals)
            for _, t, key, v in arrivals:
                ms = int(t * 1000)
                s = ms // (SLOT_S * 1000)
                if key[1] == PLUGIN and key[2] != "self" and s not in slots:
                    slots[s] = sim._open("/sim/truth/platform?at=%d" % (s * SLOT_S * 1000 + 1))
            self.assertEqual(cd.bad_log_lines(allow=allow + (
                "status page components have a status.*",)), [])
            return arrivals, slots, stats
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()

    def compare(self, arrivals, slots, want_of, complete_from=0, families=None):
        """Every value equals its slot's truth; every poll (from
        complete_from on, a time) that read one slot dispatched that slot's
        truth whole. A poll's values are those before its self-metrics, which
        each read dispatches last."""
        ends = sorted({t for _, t, k, _ in arrivals
                       if k[1:4] == (PLUGIN, "self", "edges")})
        polls = {}   # poll index -> (slots, skipped, keys)
        compared = skipped = 0
        for _, t, key, v in arrivals:
            if key[1] != PLUGIN or key[2] == "self":
                continue
            ms = int(t * 1000)
            s = ms // (SLOT_S * 1000)
            p = polls.setdefault(bisect.bisect_left(ends, t), [set(), 0, set()])
            p[0].add(s)
            if ms - s * SLOT_S * 1000 < GRACE_MS:
                skipped += 1
                p[1] += 1
                continue
            want = want_of(slots[s])
            k = key[2:]
            self.assertTrue(k in want, "dispatched, not in the truth of slot %d: %s" % (s, key))
            self.assertAlmostEqual(v, want[k], places=3, msg="%s at slot %d" % (key, s))
            p[2].add(k)
            compared += 1
            if families is not None:
                fam = ("status page" if k[0] == "status" else
                       "edges" if k[1].startswith("edge_") else "trunks")
                families[fam] = families.get(fam, 0) + 1
        self.assertGreater(compared, 0)
        self.assertGreater(compared, skipped, (compared, skipped))
        whole = 0
        for n, (in_slots, n_skipped, keys) in sorted(polls.items()):
            # a finished poll within one slot, clear of its boundary
            if n >= len(ends) or ends[n] < complete_from or len(in_slots) != 1 or n_skipped:
                continue
            s = next(iter(in_slots))
            self.assertEqual(sorted(set(want_of(slots[s])) - keys), [],
                             "missing from poll %d, slot %d" % (n, s))
            whole += 1
        self.assertGreaterEqual(whole, 3)
        return compared

    def test_every_value_equals_truth_both_ways(self):
        arrivals, slots, stats = self.run_platform(
            ("--edges", "5", "--trunks", "4", "--platform-page-max", "2"),
            '    Region "eu_central_1"\n', log=True)
        families = {}
        compared = self.compare(arrivals, slots, expected, families=families)
        some = next(iter(slots.values()))
        # what the defaults left out was there to leave out
        self.assertEqual(sum(e["cloud_media"] for e in some["edges"].values()), 2)
        self.assertEqual(sum(t["type"] == "PHONE" for t in some["trunks"].values()), 3)
        self.assertTrue({c["group"] for c in some["components"]} > {OWN_GROUP, ""})
        self.assertFalse([k for _, _, k, _ in arrivals
                          if k[2] == "status" and k[4].startswith("Americas")])
        # stale metrics were seen every poll (one edge in five offline) and
        # counted, not sent
        stale = [v for _, _, k, v in arrivals
                 if k[1:5] == (PLUGIN, "self", "platform_stale", "edge_metrics")]
        self.assertTrue(stale and min(stale[1:]) >= 1, stale)
        stale = [v for _, _, k, v in arrivals
                 if k[1:5] == (PLUGIN, "self", "platform_stale", "trunk_metrics")]
        self.assertTrue(stale and max(stale) >= 1, stale)
        # the start-up line, and the capped pages said once per listing
        log = self.log
        self.assertEqual(log.count("5 edges (HARDWARE 5; cloud media left out), 4 trunks of "
                                   "type EXTERNAL, status page: EMEA (Frankfurt)"), 1, log)
        for path in ("/api/v2/telephony/providers/edges ",
                     "/api/v2/telephony/providers/edges/trunks "):
            self.assertEqual(log.count(path + "answers pages of 2 where 100 were asked"), 1,
                             log)
        self.assertNotIn("trunks of another type", log)
        # states change over the run: each edge seen both online and offline
        # somewhere, and several component levels
        values = {}
        for _, _, key, v in arrivals:
            if key[1] == PLUGIN and key[3] in ("edge_online", "trunk_connected",
                                               "status_component"):
                values.setdefault(key[3], set()).add(v)
        self.assertEqual(values["edge_online"], {0.0, 1.0})
        self.assertEqual(values["trunk_connected"], {0.0, 1.0})
        self.assertGreater(len(values["status_component"]), 1)
        # the unknown status was seen and counted, no value for it
        unknown = [v for _, _, key, v in arrivals
                   if key[1:4] == (PLUGIN, "self", "platform_unknown_status")]
        self.assertTrue(unknown and max(unknown) > 0, unknown)
        # and as unknown_values, the same count (platform_unknown_status is
        # kept, deprecated)
        words = [v for _, _, key, v in arrivals
                 if key[1:5] == (PLUGIN, "self", "unknown_values",
                                 "status_page-status")]
        self.assertTrue(words and max(words) == max(unknown), (words, unknown))
        # the minimum per poll: the pages of 2 (edges three, trunks two: the
        # links without trunkType not followed) and one metrics request per
        # kind
        req = stats["requests"]
        polls = req["GET /sim/status/api/v2/components.json"]["total"]
        self.assertGreater(polls, 5)
        for path, n in (("/api/v2/telephony/providers/edges", 3),
                        ("/api/v2/telephony/providers/edges/metrics", 1),
                        ("/api/v2/telephony/providers/edges/trunks", 2),
                        ("/api/v2/telephony/providers/edges/trunks/metrics", 1)):
            self.assertLessEqual(abs(req["GET " + path]["total"] - n * polls), n, (path, req))
        self.assertEqual(stats["by_status"].get("400", 0), 0, stats["by_status"])
        self.assertEqual(req["GET /sim/status/api/v2/components.json"]["by_status"], {},
                         "the status page was sent a token")
        print("%d values compared over %d slots, all equal: %s"
              % (compared, len(slots), families), file=sys.stderr)

    def test_cloud_media_every_group_and_other_forms(self):
        """CloudMediaEdges true lists the cloud-media edges; StatusGroup
        "*" takes every group; the offline metrics left out of the answer
        and the groups named only by their components lists give the same
        values."""
        arrivals, slots, stats = self.run_platform(
            ("--edges", "3", "--trunks", "3", "--offline-metrics", "absent",
             "--status-group-link", "components", "--trunk-next-uri", "keep"),
            '    CloudMediaEdges true\n    StatusGroup "*"\n')
        families = {}
        compared = self.compare(arrivals, slots, lambda t: expected(
            t, cloud_media=True, groups=None), families=families)
        names = {k[4] for _, _, k, _ in arrivals if k[2] == "status"}
        self.assertTrue([n for n in names if n.startswith("Americas")], names)
        self.assertTrue([n for n in names if n.startswith("EMEA")], names)
        cloud = {i for i, e in next(iter(slots.values()))["edges"].items() if e["cloud_media"]}
        self.assertEqual(len(cloud), 2)
        self.assertTrue(cloud <= {k[2] for _, _, k, _ in arrivals})
        print("%d values compared over %d slots, all equal: %s"
              % (compared, len(slots), families), file=sys.stderr)

    def test_batches_names_and_second_shard(self):
        patterns = ("Carrier trunk [1-3]*", "Carrier trunk 7")
        arrivals, slots, stats = self.run_platform(
            ("--edges", "2", "--trunks", "400", "--platform-metrics", "entities"),
            "    TrunkName " + " ".join('"%s"' % p for p in patterns) + "\n"
            '    Shard "2/2"\n')
        some = next(iter(slots.values()))
        names = {t["name"] for t in some["trunks"].values()
                 if any(fnmatch.fnmatch(t["name"].lower(), p.lower()) for p in patterns)}
        mine = {x for x in list(some["edges"]) + list(some["trunks"]) if owns(x, 1, 2)}

        def want_of(truth):
            w = expected(truth, names, status=False)
            return {k: v for k, v in w.items() if k[0] in mine}
        self.compare(arrivals, slots, want_of)
        trunks = {t for t in some["trunks"] if t in mine and some["trunks"][t]["name"] in names}
        self.assertGreater(len(trunks), 100)
        req = stats["requests"]
        # four listing pages of 100 a poll (by number, trunkType kept: not
        # the links' 403 of every type); trunk metrics ceil(kept / 100) = 2,
        # never more than 100 ids (no 400)
        polls = req["GET /api/v2/telephony/providers/edges"]["total"]
        self.assertGreater(polls, 5)
        self.assertLessEqual(abs(req["GET /api/v2/telephony/providers/edges/trunks"]["total"]
                                 - 4 * polls), 4)
        self.assertLessEqual(
            abs(req["GET /api/v2/telephony/providers/edges/trunks/metrics"]["total"]
                - math.ceil(len(trunks) / 100) * polls), 2)
        self.assertEqual(stats["by_status"].get("400", 0), 0, stats["by_status"])
        # the second shard leaves the status page to the first
        self.assertNotIn("GET /sim/status/api/v2/components.json", req)
        self.assertFalse([k for _, _, k, _ in arrivals if k[2] == "status"])
    def test_failed_and_malformed_answers(self):
        """An edge metrics request answered 500 and trunk metrics answered
        with invalid JSON, three times each: logged, counted per family and
        as malformed documents; the listings' values go on every poll, and
        the metrics come back once the faults are spent."""
        path = "/api/v2/telephony/providers/edges"
        arrivals, slots, stats = self.run_platform(
            ("--edges", "2", "--trunks", "2"), "",
            faults=[{"fault": "http_5xx", "status": 500, "path": path + "/metrics",
                     "count": 3},
                    {"fault": "malformed_json", "path": path + "/trunks/metrics",
                     "count": 3}],
            allow=(r'genesys_platform plugin: Org "acme": (edge|trunk)_metrics request '
                   r'failed \(asked for again next read\): .*',),
            instance_from="name")

        def last(type_, instance=""):
            vs = [v for _, _, k, v in arrivals if k[1:] == (PLUGIN, "self", type_, instance)]
            self.assertTrue(vs, type_)
            return vs[-1]
        self.assertEqual(last("platform_failures", "edge_metrics"), 3)
        self.assertEqual(last("platform_failures", "trunk_metrics"), 3)
        self.assertEqual(last("platform_failures", "edges"), 0)
        self.assertEqual(last("platform_failures", "status_page"), 0)
        self.assertGreaterEqual(last("malformed_documents"), 3)
        polls = stats["requests"]["GET " + path]["total"]
        # the state went on every poll, the metrics all but three times
        online = [t for _, t, k, _ in arrivals if k[3] == "edge_online"]
        calls = [t for _, t, k, _ in arrivals if k[3:] == ("trunk_calls", "inbound")]
        self.assertGreaterEqual(len(online), 2 * (polls - 1))
        # (a trunk of an offline edge has old counts: counted stale instead)
        stale = sum(v for _, _, k, v in arrivals
                    if k[1:5] == (PLUGIN, "self", "platform_stale", "trunk_metrics"))
        self.assertGreaterEqual(len(calls) + stale, 2 * (polls - 4))
        self.assertLessEqual(len(calls) + stale, 2 * (polls - 3))
        # and what came equals the truth, each edge and trunk named by its
        # name (InstanceFrom "name", the default)
        # whole polls once both families had failed three times (the
        # self-metrics of the poll that spent the faults)
        spent = min(t for _, t, k, v in arrivals
                    if k[1:4] == (PLUGIN, "self", "platform_failures") and v == 3
                    and k[4] == "trunk_metrics")
        spent = max(spent, min(t for _, t, k, v in arrivals
                               if k[1:4] == (PLUGIN, "self", "platform_failures")
                               and v == 3 and k[4] == "edge_metrics"))
        # the end of that poll (its self-metric "edges", dispatched after its
        # failures, maybe a few ms later under load): the polls after it
        spent = min(t for _, t, k, _ in arrivals
                    if k[1:4] == (PLUGIN, "self", "edges") and t >= spent)
        self.compare(arrivals, slots, by_name, complete_from=spent + 0.001)
        self.assertIn("Edge_1", {k[2] for _, _, k, _ in arrivals})

    def test_an_oversized_trunks_page_is_refused_the_rest_equal_truth(self):
        """Issue 49: the trunk listing answered 14 MB twice (the issue's
        249,000 objects of 9 members, valid JSON, the trunks unchanged;
        gensim fault oversized_json): refused as each arrives by the
        trunks' own bound (4 MiB, far below MaxResponseSize), logged,
        counted in api_answers_too_large and as the family's failures, and
        asked again at the next read; the edges and the status page go on
        every poll, and every value equals the truth both ways once the
        trunks are back."""
        path = "/api/v2/telephony/providers/edges/trunks"
        arrivals, slots, stats = self.run_platform(
            ("--edges", "2", "--trunks", "2"), "",
            faults=[{"fault": "oversized_json", "path": path, "method": "GET",
                     "count": 2}],
            allow=(r'genesys_platform plugin: Org "acme": trunks request failed '
                   r'\(asked for again next read\): \S+ page 1: trunks page answer '
                   r'larger than 4194304 bytes, the most one may have \(refused as it '
                   r'arrived\)',),
            instance_from="name", log=True)

        def last(type_, instance=""):
            vs = [v for _, _, k, v in arrivals if k[1:] == (PLUGIN, "self", type_, instance)]
            self.assertTrue(vs, type_)
            return vs[-1]
        self.assertEqual(last("platform_failures", "trunks"), 2)
        self.assertEqual(last("api_answers_too_large"), 2)
        self.assertEqual(last("platform_failures", "edges"), 0)
        self.assertIn("trunks page answer larger than 4194304 bytes", self.log)
        # the edges every poll, the trunks all but the two refused
        polls = stats["requests"]["GET /api/v2/telephony/providers/edges"]["total"]
        online = [t for _, t, k, _ in arrivals if k[3] == "edge_online"]
        connected = [t for _, t, k, _ in arrivals if k[3] == "trunk_connected"]
        self.assertGreaterEqual(len(online), 2 * (polls - 1))
        self.assertGreaterEqual(len(connected), 2 * (polls - 3))
        self.assertLessEqual(len(connected), 2 * (polls - 2))
        # whole polls after the one that spent the fault (its self-metric
        # "edges" comes last)
        spent = min(t for _, t, k, v in arrivals
                    if k[1:5] == (PLUGIN, "self", "platform_failures", "trunks") and v == 2)
        spent = min(t for _, t, k, _ in arrivals
                    if k[1:4] == (PLUGIN, "self", "edges") and t >= spent)
        self.compare(arrivals, slots, by_name, complete_from=spent + 0.001)

    def test_stalled_status_page_delays_nothing(self):
        """The status page stalls (four requests held 30 s each): each
        gives up after half an interval, once, and the edges and trunks go
        on every poll; the page's values come back after the four."""
        arrivals, _, stats = self.run_platform(
            ("--edges", "2", "--trunks", "2"), "",
            faults=[{"fault": "stall", "path": "/sim/status/", "count": 4}],
            allow=(r'genesys_platform plugin: Org "acme": status_page request failed '
                   r'\(asked for again next read\): .*',))
        ends = sorted(t for _, t, k, _ in arrivals
                      if k[1:4] == (PLUGIN, "self", "edges"))
        online = sorted(t for _, t, k, _ in arrivals if k[3] == "edge_online")
        self.assertGreaterEqual(len(ends), RUN_S // 2)
        # Interval 1: a read held by the page until the org's Timeout would
        # leave gaps of 30 s; half an interval leaves about 1.5 s at most
        # (10 s: far from the 30 s, and from a loaded machine's late reads).
        gaps = [b - a for a, b in zip(ends, ends[1:])]
        self.assertLess(max(gaps), 10.0, gaps)
        self.assertLess(max(b - a for a, b in zip(online, online[1:])), 10.0)
        failures = [v for _, _, k, v in arrivals
                    if k[1:5] == (PLUGIN, "self", "platform_failures", "status_page")]
        self.assertEqual(failures[-1], 4)
        # one attempt per read: no more requests than reads, and values again
        page = stats["requests"]["GET /sim/status/api/v2/components.json"]["total"]
        self.assertLessEqual(page, len(ends) + 1)
        spent = min(t for _, t, k, v in arrivals
                    if k[1:5] == (PLUGIN, "self", "platform_failures", "status_page")
                    and v == 4)
        self.assertTrue([t for _, t, k, _ in arrivals if k[2] == "status" and t > spent])


class HugeStatusPage(unittest.TestCase):
    def test_an_answer_near_the_json_bounds_is_refused_as_it_arrives(self):
        """A status page of 249,000 components of 9 members each (14 MB,
        just under the JSON bounds) from a server of our own: read whole
        into a json-c document it took collectd from 140 to 422 MB RSS and
        kept it. The status page's bound (2 MiB) refuses it as it arrives:
        the log names it, api_answers_too_large counts it, the other
        platform values go on."""
        import http.server
        import json
        import threading
        comp = {k: 1 for k in "abcdefghi"}  # the shape: 9 members
        doc = json.dumps({"components": [comp] * 249000}, separators=(",", ":"))
        body = doc.encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # refused mid-way: the client closed

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        sim = Simulator("--queues", "1", "--agents", "2", "--start", "now", tls=False)
        url = f"http://127.0.0.1:{srv.server_address[1]}/api/v2/components.json"
        block = sim.org_block("acme", extra=f'    Host "acme"\n    StatusPageURL "{url}"\n')
        cd = Collectd(f"<LoadPlugin {PLUGIN}>\n  Interval 2\n</LoadPlugin>\n"
                      f"<Plugin {PLUGIN}>\n{block}</Plugin>\n")
        try:
            cd.start()
            ok = wait_until(lambda: "status page answer larger than 2097152 bytes"
                            in cd.log_text(), 60)
            self.assertTrue(ok, cd.log_text()[-2000:])
            self.assertTrue(wait_until(lambda: any(
                v > 0 for _, v in cd.csv_values(f"{PLUGIN}-self", "api_answers_too_large")),
                30), cd.log_text()[-2000:])
            self.assertTrue(cd.csv_values(f"{PLUGIN}-self", "edges"), "no other values")
            with open(f"/proc/{cd.proc.pid}/status") as f:
                rss = [line.split()[1] for line in f if line.startswith("VmRSS:")][0]
            print(f"# a status page of {len(body) >> 20} MiB refused; collectd "
                  f"VmRSS {int(rss) >> 10} MiB")
            self.assertIsNone(cd.proc.poll(), "collectd exited")
        finally:
            cd.cleanup()
            sim.stop()
            srv.shutdown()


def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.5)
    return cond()


if __name__ == "__main__":
    run_tests(__name__)
