# SPDX-License-Identifier: MIT
"""End to end through the real backends: one real collectd with the three
plugins reads the simulator over TLS and writes, with the write-plugin
settings of examples/collectd-{prometheus,graphite,influxdb}.conf, to a real
Prometheus (scraping write_prometheus, read through its HTTP API), a real
carbon-cache (read back from its whisper files) and a real InfluxDB (its
collectd listener, read through InfluxQL). With the simulator paused, every
queue's values in each backend equal the simulator's ground truth, under the
names, labels, path segments and tags collectd-genesys(5) documents
(BACKENDS). Every value of genesys_analytics' whole catalogue (Metric "all")
and call quality (CallQuality), of genesys_flowmetrics' data actions and of
genesys_platform's edges, trunks, status page and operational events is in
each backend under
the name its man page gives, both ways. Then every panel query of every
dashboard in examples/grafana/ runs against that Prometheus and must return
data (a panel whose values are all NaN must be a ratio whose divisor is 0
in the window, every operand with series), the alerting rules of
examples/prometheus/ load into it healthy, and those over analytics, the
flows (the bots, BotAggregates) and the platform return series without their
thresholds."""
import glob
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from backends_harness import (  # noqa: E402
    EXAMPLES, Carbon, InfluxDB, Prometheus, dashboard_queries, example_plugin_block, free_port,
    wait_until)
from collectd_harness import OUR_TYPES_DB, ROOT, TYPES_DB, Collectd, run_tests  # noqa: E402
from realtime_truth import CLOCK_GAUGES, settle, wait_for  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402


def _catalogue_module():
    """man/make_catalogue.py, whose naming rules the man page is written with."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "make_catalogue", os.path.join(ROOT, "man", "make_catalogue.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOGUE = _catalogue_module()

PLUGIN = "genesys_realtime"
ANALYTICS = "genesys_analytics"
ORG = "acme"
QUEUES = 6
MAN_PAGE = os.path.join(ROOT, "man", "collectd-genesys.5.pod")

# How a value of genesys_realtime is named in each backend, as the man page
# (BACKENDS) gives it; the test builds every name it looks for from these.
DOCUMENTED = {
    "prometheus": "collectd_<plugin>_<type>[_<ds>]{instance=\"<host>\","
                  "<plugin>=\"<plugin_instance>\",type=\"<type_instance>\"}",
    "graphite": "genesys.<host>.<plugin>.<plugin_instance>.<type>[.<type_instance>]",
    "influxdb": "<plugin>_<ds>,host=<host>,instance=<plugin_instance>,"
                "type=<type>,type_instance=<type_instance>",
}


def sanitized(name):
    """A name as the plugins dispatch it (gen_sanitize_name)."""
    out = re.sub(r"[^A-Za-z0-9_.\-\x80-\U0010ffff]", "_", name)
    out = re.sub(r"_+", "_", out)
    return out.rstrip("_") or "unknown"


def graphite_segment(name):
    """write_graphite with EscapeCharacter "_": a dot in a name is escaped."""
    return name.replace(".", "_")


def without_thresholds(query):
    """An alert's expression without its comparisons to numbers: what it
    compares, to be seen returning series whatever the values."""
    expr = re.sub(r"\s*(==|!=|[<>]=?)\s*[0-9][0-9.]*(?=\s|\)|$)", "", query)
    assert not re.search(r"(==|!=|[<>]=?)\s*[0-9]", expr), expr
    return expr


def split_top_level(expr, op):
    """expr split at op where op is outside (), [], {} and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, c in enumerate(expr):
        if quote:
            quote = None if c == quote and expr[i - 1] != "\\" else quote
        elif c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == op and depth == 0:
            parts.append(expr[start:i].strip())
            start = i + 1
    return parts + [expr[start:].strip()]


def expected_values(truth):
    """{(queue name as dispatched, type, type_instance): value} of every
    gauge genesys_realtime dispatches per queue, from the ground truth;
    longest waits apart, as {(…): seconds at the pause}."""
    exact, longest = {}, {}
    for q in truth["queues"].values():
        name = sanitized(q["name"])
        for media, m in q["media"].items():
            for t in ("waiting", "interacting", "alerting"):
                exact[(name, t, media)] = m[t]
            longest[(name, "longest_waiting", media)] = m["longest_waiting_ms"] / 1000
            longest[(name, "longest_interacting", media)] = m["longest_interacting_ms"] / 1000
        a = q["agents"]
        for ti, key in (("member", "members"), ("active", "active"),
                        ("on_queue", "on_queue"), ("off_queue", "off_queue")):
            exact[(name, "agents", ti)] = a[key]
        # The plugin dispatches every routing status and system presence,
        # zero included; the truth lists the non-zero ones.
        for status in ("idle", "interacting", "communicating", "not_responding", "off_queue"):
            exact[(name, "agents_routing", status)] = a["routing"].get(status.upper(), 0)
        for presence in ("available", "away", "busy", "break", "meal", "meeting",
                         "training", "on_queue", "idle", "offline"):
            exact[(name, "agents_presence", presence)] = a["presence"].get(presence.upper(), 0)
    return exact, longest


class BackendsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.servers = []
        try:
            cls._start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        cls.sim = Simulator(
            "--queues", str(QUEUES), "--agents", str(QUEUES * 8), "--flows", "2",
            # Speed 1 from now: the plugin grows longest waits with the wall
            # clock, so they can be checked against the truth.
            "--speed", "1", "--start", "now", "--heartbeat", "5",
            # 15 min of history for genesys_analytics' InitialBackfill.
            "--warmup", "900")
        cls.servers.append(cls.sim)
        # genesys_flowmetrics reads a simulator of its own that runs on, 20
        # times faster: flow counters begin at the plugin's start and the
        # queue simulator is paused soon after, so the flow dashboard would
        # otherwise have seconds of flows to show. Its 15 min of history
        # give DataActions (the data actions dashboard) buckets to backfill.
        # A third of the IVR executions end in the flow, self-served: the
        # flows dashboard's containment and its alert have some in a few
        # minutes (12 % by default: at about one IVR end a minute, often no
        # self-served end in two buckets of the minutes the test has).
        cls.flow_sim = Simulator("--queues", "4", "--agents", "32", "--flows", "2",
                                 "--speed", "20", "--start", "now", "--heartbeat", "5",
                                 "--warmup", "900", "--flow-disconnect-share", "0.35")
        cls.servers.append(cls.flow_sim)
        cls.prom_target_port = free_port()
        cls.prom = Prometheus(f"127.0.0.1:{cls.prom_target_port}",
                              rule_files=[os.path.join(EXAMPLES, "prometheus",
                                                       "genesys-alerts.yml")])
        cls.servers.append(cls.prom)
        cls.carbon = Carbon()
        cls.servers.append(cls.carbon)
        cls.influx = InfluxDB([TYPES_DB, OUR_TYPES_DB])
        cls.servers.append(cls.influx)
        # write_http to the test's receiver only tells when values settled.
        cls.rx = Receiver()
        # Summaries of 2 s windows (a multiple of collectd's Interval 1):
        # the first whole window of a queue closes at most 4 s after the
        # queue's values first arrive, so its waiting_max/_mean reach
        # Prometheus (scraping every second) before the dashboard test. The
        # wallboard's "Peak and mean waiting per window" queries them over
        # $__rate_interval (1m). After the pause the summaries change at most
        # twice, at the next two window ends, then hold, so settle() can see
        # 3 s with no change.
        # The agents of each team, division and unit (genesys-agent-groups.json
        # and the not-responding alert), asked at the first read; the
        # outbound campaigns (genesys-campaigns.json: the simulator's two
        # dialling, one off, one complete); each management unit's
        # adherence (genesys-adherence.json).
        block = cls.sim.org_block(ORG, extra=f'    Host "{ORG}"\n'
                                  "    Summaries true\n    SummaryInterval 2\n"
                                  "    AgentStatesByDivision true\n"
                                  "    AgentStatesByTeam true\n"
                                  "    AgentStatesByManagementUnit true\n"
                                  "    Campaigns true\n"
                                  "    Adherence true\n"
                                  "    EstimatedWaitTime true\n"
                                  "    Workitems true\n    WorkitemsEvery 10\n")
        # genesys_analytics: PT1M buckets, the last 10 min of the warm-up's
        # history at the first read, and a settle delay that closes the next
        # bucket about 15 s after the start: every counter then has the two
        # samples increase() needs while the test runs. The whole catalogue
        # (Metric "all"): the media dashboards' outbound, digital, callback
        # and error panels and the alerts over them. genesys_flowmetrics'
        # data actions and bots the same way (the data actions and bots
        # dashboards, the bots' alert).
        settle_s = int(time.time() % 60) + 15
        intervals = (f'    Granularity "PT1M"\n    SettleDelay {settle_s}\n'
                     "    InitialBackfill 600\n")
        flow_block = cls.flow_sim.org_block(
            ORG, extra=f'    Host "{ORG}"\n    DataActions true\n    BotAggregates true\n'
            "    FlowExits true\n" + intervals)
        # Call quality (the call quality dashboard and the MOS alert), the
        # campaigns' calls per interval (genesys-campaigns.json), the
        # first-contact resolution of the last 16 days, asked at the first
        # reads (genesys-resolutions.json), speech and text analytics from an
        # hour back (genesys-speech.json, the sentiment alert), the workitems
        # per interval (genesys-workitems.json).
        analytics = cls.sim.org_block(
            ORG, extra=f'    Host "{ORG}"\n    Metric "all"\n    CallQuality true\n'
            "    CampaignAggregates true\n    ResolutionAggregates true\n"
            "    SpeechAnalytics true\n    WorkitemAggregates true\n" + intervals)
        # genesys_platform: the simulator's edges, trunks and status page
        # (the telephony dashboard and the platform alerts), every 5 s, and
        # its operational events in buckets as the analytics', and the API
        # usage per client and route and the rate limits recorded, in the
        # events' buckets (the API usage dashboard, the rate-limit alert).
        platform = cls.sim.org_block(
            ORG, extra=f'    Host "{ORG}"\n    StatusPageURL '
            f'"{cls.sim.base_url}/sim/status/api/v2/components.json"\n'
            '    OperationalEvents true\n    OperationalEventsGranularity "PT1M"\n'
            f"    OperationalEventsSettleDelay {settle_s}\n"
            "    OperationalEventsInitialBackfill 600\n"
            "    ApiUsage true\n    ApiUsageByRoute true\n    RateLimitAggregates true\n")
        body = "".join(f"LoadPlugin {p}\n<Plugin {p}>\n{b}</Plugin>\n"
                       for p, b in (("genesys_realtime", block),
                                    ("genesys_analytics", analytics),
                                    ("genesys_flowmetrics", flow_block)))
        body += ("<LoadPlugin genesys_platform>\n  Interval 5\n</LoadPlugin>\n"
                 f"<Plugin genesys_platform>\n{platform}</Plugin>\n")
        body += example_plugin_block("collectd-prometheus.conf", "write_prometheus",
                                     Host='"127.0.0.1"', Port=f'"{cls.prom_target_port}"')
        body += example_plugin_block("collectd-graphite.conf", "write_graphite",
                                     Host='"127.0.0.1"', Port=f'"{cls.carbon.port}"')
        body += example_plugin_block("collectd-influxdb.conf", "network",
                                     Server=f'"127.0.0.1" "{cls.influx.collectd_port}"')
        body += cls.rx.config()
        cls.cd = Collectd(body, stock=("logfile", "csv", "write_http", "write_prometheus",
                                       "write_graphite", "network"))
        cls.servers.append(cls.cd)
        cls.cd.start()
        if not wait_for(lambda: cls.rx.get(PLUGIN, "self", "queues", host=ORG) == QUEUES
                        and (cls.rx.get(PLUGIN, "self", "notify_baselines", host=ORG) or 0) >= 1,
                        timeout=90):
            raise AssertionError("the plugin did not baseline:\n" + cls.cd.log_text()[-3000:])
        # Two conversations held waiting in the first queue (voice): its
        # estimated wait time (the wallboard's panel) is asked at the next
        # read and exists from then on, whatever the model draws.
        qid, first = sorted(cls.sim.truth()["queues"].items(), key=lambda q: q[1]["name"])[0]
        cls.sim._open("/sim/hold", {"queue": qid, "media": "voice", "count": 2})
        if not wait_for(lambda: cls.rx.get(PLUGIN, sanitized(first["name"]), "estimated_wait",
                                           "voice", host=ORG) is not None, timeout=60):
            raise AssertionError("no estimated wait time:\n" + cls.cd.log_text()[-3000:])
        # Pause the model; once no value changes any more, every value
        # dispatched after that moment is the paused state.
        cls.paused_at = time.time()
        cls.sim.fault({"fault": "pause"})
        cls.pause_took = time.time() - cls.paused_at
        if not settle(cls.rx):
            raise AssertionError("values never stopped changing")
        cls.settled_at = time.time()
        cls.truth = cls.sim.truth()
        cls.exact, cls.longest = expected_values(cls.truth)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "rx", None):
            cls.rx.stop()
        for server in reversed(cls.servers):
            try:
                server.cleanup() if isinstance(server, Collectd) else server.stop()
            except Exception as e:  # noqa: BLE001 - stop the others anyway
                print(f"# stopping {type(server).__name__}: {e}")

    def check_longest(self, key, at, value, ahead=0.05):
        """A longest wait observed at time `at` (the value's own time): the
        plugin grows it with the clock past the pause, trails the truth by
        the delivery latency (2 s allowed) and is never ahead but by the
        backend's time resolution (`ahead`). Whether a conversation is in
        the state is its count's to say: one that entered it in the very
        millisecond the model stopped has a longest of 0 in the truth and
        grows in the plugin like any other."""
        want = self.longest[key]
        name, type_, media = key
        if self.exact[(name, type_.removeprefix("longest_"), media)] == 0:
            return value == 0
        value -= max(0.0, at - self.paused_at)
        return want - 2.0 - self.pause_took <= value <= want + ahead

    def compare(self, backend, got_exact, got_longest):
        """got_*: {(queue, type, type_instance): value} and
        {(…): (time, value)} read from one backend."""
        self.assertEqual(len(self.truth["queues"]), QUEUES)
        mismatches = []
        for key, want in self.exact.items():
            got = got_exact.get(key)
            if got is None or abs(got - want) > 1e-9:
                mismatches.append((key, got, want))
        ahead = 1.05 if backend == "graphite" else 0.05
        for key in self.longest:
            got = got_longest.get(key)
            if got is None or not self.check_longest(key, got[0], got[1], ahead):
                mismatches.append((key, got, self.longest[key]))
        compared = len(self.exact) + len(self.longest)
        self.assertGreater(compared, QUEUES * 20)
        self.assertEqual(mismatches, [], f"{backend}: {len(mismatches)} of {compared} "
                         f"differ from the truth, first: {mismatches[:8]}")
        print(f"# {backend}: {compared} values of {QUEUES} queues equal the truth")

    def test_documented_mapping(self):
        with open(MAN_PAGE) as f:
            page = f.read()
        section = re.search(r"^=head1 BACKENDS$(.*?)(?=^=head1 )", page, re.M | re.S)
        self.assertIsNotNone(section, "collectd-genesys(5) has no BACKENDS section")
        text = re.sub(r"\s+", "", section.group(1))
        for backend, form in DOCUMENTED.items():
            with self.subTest(backend=backend):
                self.assertIn(re.sub(r"\s+", "", form), text)

    def test_prometheus(self):
        # Labels: instance = org, <plugin> = queue, type = qualifier; the
        # name carries the DS when it is not "value".
        names = {"waiting": "waiting", "interacting": "interacting",
                 "alerting": "alerting", "agents": "agents",
                 "agents_routing": "agents_routing", "agents_presence": "agents_presence",
                 "longest_waiting": "longest_waiting_seconds",
                 "longest_interacting": "longest_interacting_seconds"}

        def read():
            exact, longest = {}, {}
            for type_, suffix in names.items():
                # A range selector gives the samples with their own times.
                result = self.prom.query(
                    f'collectd_{PLUGIN}_{suffix}{{instance="{ORG}"}}[30s]')
                for series in result:
                    labels = series["metric"]
                    # "job" is the scrape job's own label.
                    self.assertEqual(set(labels), {"__name__", "instance", PLUGIN, "type", "job"})
                    t, v = series["values"][-1]
                    key = (labels[PLUGIN], type_, labels["type"])
                    if t < self.settled_at:
                        return None
                    if type_.startswith("longest_"):
                        longest[key] = (float(t), float(v))
                    else:
                        exact[key] = float(v)
            return exact, longest

        got = self._fresh(read)
        self.compare("prometheus", *got)
        # A self-metric counter: DERIVE reads as a _total counter.
        r = self.prom.query(f'collectd_{PLUGIN}_notify_messages_total{{instance="{ORG}",'
                            f'{PLUGIN}="self"}}')
        self.assertEqual(len(r), 1)
        self.assertGreater(float(r[0]["value"][1]), 0)

    def test_graphite(self):
        prefix = f"genesys.{graphite_segment(ORG)}.{PLUGIN}."

        def read():
            exact, longest = {}, {}
            paths = {}
            for key in list(self.exact) + list(self.longest):
                queue, type_, ti = key
                paths[prefix + f"{graphite_segment(queue)}.{type_}.{graphite_segment(ti)}"] = key
            points = self.carbon.last(paths, self.settled_at)
            if set(points) != set(paths):
                return None
            for path, (t, v) in points.items():
                key = paths[path]
                if key[1].startswith("longest_"):
                    longest[key] = (float(t), v)
                else:
                    exact[key] = v
            return exact, longest

        got = self._fresh(read)
        self.compare("graphite", *got)
        # No other segment layout slipped in (every realtime path has the
        # documented depth: prefix, org, plugin, queue|self, type[, qualifier]).
        for path in self.carbon.paths():
            self.assertTrue(path.startswith(f"genesys.{ORG}.genesys_"), path)
            if path.startswith(prefix) and ".self." not in path:
                self.assertEqual(len(path.split(".")), 6, path)

    def test_influxdb(self):
        since_ms = int(self.settled_at * 1000)

        def read():
            exact, longest = {}, {}
            for measurement in (f"{PLUGIN}_value", f"{PLUGIN}_seconds"):
                series = self.influx.query(
                    f"SELECT last(value) FROM \"{measurement}\" WHERE host = '{ORG}' "
                    f"AND time >= {since_ms}ms GROUP BY instance, type, type_instance")
                for s in series:
                    tags = s["tags"]
                    t, v = s["values"][0]
                    key = (tags["instance"], tags["type"], tags["type_instance"])
                    if key[1] in ("estimated_wait", "workitem_oldest_unassigned"):
                        # seconds gauges test_realtime_ewt and
                        # test_realtime_workitems compare
                        continue
                    if key[1].startswith("longest_"):
                        self.assertEqual(measurement, f"{PLUGIN}_seconds")
                        longest[key] = (t / 1000.0, v)
                    elif tags["instance"] != "self" and key[1] not in CLOCK_GAUGES:
                        self.assertEqual(measurement, f"{PLUGIN}_value")
                        exact[key] = v
            if not set(self.exact) <= set(exact) or not set(self.longest) <= set(longest):
                return None
            return exact, longest

        got = self._fresh(read)
        self.compare("influxdb", *got)

    def _fresh(self, read, timeout=60):
        """Polls a backend until it has a value dispatched after the values
        settled for every series compared."""
        result = [None]

        def poll():
            result[0] = read()
            return result[0] is not None
        if not wait_until(poll, timeout, step=0.5):
            self.fail("the backend never got every value after the pause:\n"
                      + self.cd.log_text()[-2000:])
        return result[0]

    def test_dashboards_panels_return_data(self):
        dashboards = sorted(glob.glob(os.path.join(EXAMPLES, "grafana", "*.json")))
        # the six hand-made ones, five per media type, data actions, call
        # quality, telephony and API usage
        self.assertGreaterEqual(len(dashboards), 15)
        # rate() and increase() need a few scrapes of every plugin (the
        # first scrape comes a few seconds after Prometheus started).
        scrapes = 'count_over_time({__name__=~"collectd_genesys_.+_api_up"}[1m]) >= 5'
        self.assertTrue(wait_until(lambda: len(self.prom.query(scrapes)) == 4, 60),
                        "Prometheus never scraped the four plugins five times: "
                        f"{self.prom.query(scrapes)}\n" + self.cd.log_text()[-3000:])
        # The flow dashboard's counters exist once a flow has ended with a
        # failed outcome, a milestone and a metric attribute.
        flows = "collectd_genesys_flowmetrics_"
        self.assertTrue(wait_until(lambda: all(self.prom.query(
            f'count_over_time({flows}{m}_total{{instance="{ORG}"}}[1m]) >= 2')
            for m in ("flow_executions", "flow_outcome_success", "flow_outcome_failure",
                      "flow_milestones", "flow_metric_attribute", "flow_exits",
                      "flow_disconnects")), 90),
            "Prometheus never got every flow counter twice")
        self._wait_analytics_buckets()
        self._wait_mos_buckets()
        self._wait_action_buckets()
        self._wait_event_buckets()
        self._wait_speech_buckets()
        self._wait_workitem_buckets()
        self._wait_flow_exit_buckets()
        executed = 0
        nan = []
        # A counter needs two samples in Prometheus before increase() has
        # one; a series that closed its second bucket a read after the
        # others (the org-wide query comes after the queues') gets until
        # then, two minutes for all the panels at most.
        deadline = time.monotonic() + 120
        for path in dashboards:
            with open(path) as f:
                board = json.load(f)
            name = os.path.basename(path)
            for title, ref, expr in dashboard_queries(self.prom, board, name):
                with self.subTest(dashboard=name, panel=title, ref=ref):
                    self.assertNotIn("$", re.sub(r'"\$\d+"', "", expr),
                                     f"unresolved variable in {expr}")
                    result = []

                    def has_data():
                        result[:] = self.prom.query(expr)
                        return bool(result)
                    wait_until(has_data, max(0.5, deadline - time.monotonic()), step=1)
                    self.assertTrue(result, f"no data: {expr}")
                    executed += 1
                    # 0/0 over a short range is NaN: a series, but nothing
                    # to see; counted to tell (a ratio's parts have data).
                    values = [s["value"][1] for s in result if "value" in s]
                    if values and all(v == "NaN" for v in values):
                        self.check_zero_over_zero(expr)
                        nan.append(f"{name}: {title}")
        print(f"# {executed} panel queries of {len(dashboards)} dashboards returned data, "
              f"{len(nan)} only NaN (0/0 in the test's 5 min): {nan}")

    def check_zero_over_zero(self, expr):
        """A panel whose only values are NaN is a ratio over a window with
        nothing in it (rare media right after the start), not a broken
        query: each operand of its top-level divisions returns series, and
        a divisor is 0 in all of them."""
        parts = split_top_level(expr, "/")
        self.assertGreater(len(parts), 1, f"NaN without a division: {expr}")
        divisor_zero = False
        for k, part in enumerate(parts):
            if re.fullmatch(r"[0-9][0-9.]*", part):
                continue  # a unit (/ 1000): a number, never 0
            result = self.prom.query(part)
            self.assertTrue(result, f"an operand of {expr} has no series: {part}")
            values = [float(r["value"][1]) for r in result if "value" in r]
            divisor_zero |= k > 0 and bool(values) and all(v == 0 for v in values)
        self.assertTrue(divisor_zero, f"NaN but no divisor is 0: {expr}")

    def _wait_mos_buckets(self):
        """Two closed buckets of call quality in Prometheus (the counters'
        samples carry the buckets' ends)."""
        two = ('count_over_time(collectd_genesys_analytics_total_mos_conversations_total'
               f'{{instance="{ORG}"}}[10m]) >= 2')
        self.assertTrue(wait_until(lambda: self.prom.query(two), 120),
                        "genesys_analytics never dispatched two call quality buckets:\n"
                        + self.cd.log_text()[-3000:])

    def _wait_speech_buckets(self):
        """Two closed buckets of speech and text analytics in Prometheus.
        They settle 30 minutes whatever the test's SettleDelay, so the
        second comes at the first minute's end after the start, up to a
        minute after the others; their samples carry the buckets' ends, 30
        minutes back (hence the hour)."""
        two = ('count_over_time(collectd_genesys_analytics_total_score_count_total'
               f'{{instance="{ORG}",type=~"sentiment-.+"}}[1h]) >= 2')
        self.assertTrue(wait_until(lambda: self.prom.query(two), 150),
                        "genesys_analytics never dispatched two speech buckets:\n"
                        + self.cd.log_text()[-3000:])

    def _wait_workitem_buckets(self):
        """Two closed buckets of the workitem aggregates in Prometheus (the
        queues' engine's timing, their own requests)."""
        two = ('count_over_time(collectd_genesys_analytics_total_workitems_offered_total'
               f'{{instance="{ORG}"}}[10m]) >= 2')
        self.assertTrue(wait_until(lambda: self.prom.query(two), 120),
                        "genesys_analytics never dispatched two workitem buckets:\n"
                        + self.cd.log_text()[-3000:])

    def _wait_analytics_buckets(self):
        """Two closed buckets of genesys_analytics in Prometheus: the
        counters' samples carry the bucket ends as timestamps, so increase()
        needs the second bucket."""
        two = 'count_over_time(collectd_genesys_analytics_total_offered_total[10m]) >= 2'
        self.assertTrue(wait_until(lambda: self.prom.query(two), 120),
                        "genesys_analytics never dispatched two buckets:\n"
                        + self.cd.log_text()[-3000:])

    def test_catalogue_reads_as_documented(self):
        """Every value genesys_analytics makes of its catalogue (Metric
        "all") is, in each backend, named as genesys_analytics(5) says
        (CATALOGUE IN THE BACKENDS, written by man/make_catalogue.py from
        the code, whose naming functions this uses), both ways: each
        documented name exists (a duration when the simulator's truth has
        it: no value in a bucket without it), and no other name of a
        queue's value does."""
        self._wait_analytics_buckets()
        self._wait_mos_buckets()
        db = CATALOGUE.types_db()
        types = CATALOGUE.conv_types(db)
        durations = {t for t, m in types if m is not None}
        # The API metrics of the truth's buckets well inside those the
        # plugin dispatched (InitialBackfill 600 back from the newest
        # settled one, SettleDelay at most 75 s).
        truth = self.sim._open("/sim/truth?granularity=PT1M&buckets=10")
        ends = sorted(truth["buckets"], key=lambda iv: iv.split("/")[1])[-9:-2]
        apis = {api for iv in ends for queue in truth["buckets"][iv].values()
                for entry in queue.values() for api in entry["metrics"]}
        happened = {name for name, api, kind, _ in CATALOGUE.conv_catalogue()
                    if kind == "duration" and api in apis}
        self.assertGreater(len(happened), 40)
        self.assertEqual(self._names(ANALYTICS, types, db)["prometheus"],
                         CATALOGUE.prometheus_names(db))
        # with CallQuality: every call quality type (the truth's calls
        # have a MOS in each of these buckets)
        # and with ResolutionAggregates its two types (the simulator's last
        # 16 days have contacts avoided in every queue), with
        # SpeechAnalytics its types (voice and chat analysed in the hour),
        # with WorkitemAggregates its types (the queues with workitems)
        mos = (CATALOGUE.mos_types(db) | {(t, None) for t, _ in CATALOGUE.RESOLUTION_TYPES}
               | CATALOGUE.speech_types(db) | CATALOGUE.workitem_types(db))
        documented = self._names(ANALYTICS, types | mos, db)
        want = self._names(ANALYTICS, {(t, m) for t, m in types
                                       if m is None or m in happened} | mos, db)

        def measure(type_, ti):
            return ti.split("-")[0] if type_ in durations else None
        self._compare_names(ANALYTICS, lambda entity: entity != "self", measure,
                            want, documented, 200)

    def test_data_actions_read_as_documented(self):
        """The same for genesys_flowmetrics' data actions
        (genesys_flowmetrics(5), the table written by man/make_catalogue.py):
        every type of every action of the simulator, named as documented in
        each backend, and no other name of an action's value."""
        self._wait_action_buckets()
        db = CATALOGUE.types_db()
        types = CATALOGUE.action_types(db)
        truth = self.flow_sim._open("/sim/truth/actions?granularity=PT1M&buckets=10")
        actions = {sanitized(a["name"]) for a in truth["actions"].values()}
        self.assertGreaterEqual(len(actions), 2)
        documented = self._names("genesys_flowmetrics", types, db)
        self._compare_names("genesys_flowmetrics", lambda entity: entity in actions,
                            lambda type_, ti: ti, documented, documented, len(types) - 1)

    def test_platform_reads_as_documented(self):
        """genesys_platform's values of edges, trunks and the status page,
        named as genesys_platform(5) says (IN THE BACKENDS, written by
        man/make_catalogue.py), both ways: every documented type is there
        (the simulator's edges give every one; its operational events
        both of theirs) and no other."""
        self._wait_event_buckets()
        db = CATALOGUE.types_db()
        types = CATALOGUE.platform_types(db)
        documented = self._names("genesys_platform", types, db)
        self._compare_names("genesys_platform", lambda entity: entity != "self",
                            lambda type_, ti: None, documented, documented, len(types) - 1)

    @staticmethod
    def _names(plugin, types, db):
        """{backend: {(name, qualifier)}} of {(collectd type, qualifier)} by
        the documented rules."""
        return {
            "prometheus": {(CATALOGUE.prometheus_name(plugin, t, db), q) for t, q in types},
            "graphite": set(types),
            "influxdb": {((CATALOGUE.influx_measurement(plugin, t, db), t), q)
                         for t, q in types},
        }

    def _compare_names(self, plugin, entity_ok, qualifier, want, documented, at_least):
        """Reads the names of plugin's values whose plugin_instance
        entity_ok() accepts from each backend (qualifier(type,
        type_instance) the part of type_instance a name is documented with)
        and compares: every wanted one there, none there undocumented."""
        def prometheus():
            got = set()
            for labels in self.prom.series(f'{{__name__=~"collectd_{plugin}_.+",'
                                           f'instance="{ORG}"}}'):
                if entity_ok(labels[plugin]):
                    # the type back from the name: _total (DERIVE), then the
                    # data source when it is not "value"
                    name = labels["__name__"]
                    type_ = re.sub(r"(_seconds)?(_total)?$", "", name[len(f"collectd_{plugin}_"):])
                    got.add((name, qualifier(type_, labels.get("type"))))
            return got

        def graphite():
            prefix = f"genesys.{ORG}.{plugin}."
            got = set()
            for path in self.carbon.paths():
                parts = path.split(".")
                if path.startswith(prefix) and entity_ok(parts[3]):
                    self.assertIn(len(parts), (5, 6), path)
                    ti = parts[5] if len(parts) == 6 else None
                    got.add((parts[4], qualifier(parts[4], ti)))
            return got

        def influxdb():
            got = set()
            for series in self.influx.query(f"SHOW SERIES FROM /^{plugin}_/"):
                for (key,) in series["values"]:
                    m, *tags = key.split(",")
                    tags = dict(t.split("=", 1) for t in tags)
                    if entity_ok(tags["instance"]):
                        got.add(((m, tags["type"]),
                                 qualifier(tags["type"], tags.get("type_instance"))))
            return got

        for backend, read in (("prometheus", prometheus), ("graphite", graphite),
                              ("influxdb", influxdb)):
            with self.subTest(plugin=plugin, backend=backend):
                got = [set()]

                def same(read=read, backend=backend):
                    got[0] = read()
                    return want[backend] <= got[0] <= documented[backend]
                # carbon creates a whisper file per new name: on a loaded
                # machine hundreds take tens of seconds
                wait_until(same, 120, step=1)
                self.assertGreater(len(want[backend]), at_least)
                self.assertEqual((sorted(want[backend] - got[0]),
                                  sorted(got[0] - documented[backend])),
                                 ([], []), f"{backend}: (documented and missing, there and "
                                 "not documented)")
                print(f"# {plugin} in {backend}: the {len(got[0])} names as documented")

    def _wait_action_buckets(self):
        """Two closed buckets of data actions in Prometheus, as for the
        analytics counters."""
        two = ('count_over_time(collectd_genesys_flowmetrics_total_action_executions_total'
               f'{{instance="{ORG}"}}[10m]) >= 2')
        self.assertTrue(wait_until(lambda: self.prom.query(two), 120),
                        "genesys_flowmetrics never dispatched two data action buckets:\n"
                        + self.cd.log_text()[-3000:])

    def _wait_flow_exit_buckets(self):
        """Two closed buckets of the flow exits in Prometheus, a self-served
        end among them (the containment panel and alert)."""
        for sel in ("", ',type="true"'):
            two = ('count_over_time(collectd_genesys_flowmetrics_total_flow_ends'
                   f'{"_self_served" if sel else ""}_total{{instance="{ORG}"{sel}}}[10m]) >= 2')
            self.assertTrue(wait_until(lambda: self.prom.query(two), 120),
                            "genesys_flowmetrics never dispatched two flow exit buckets:\n"
                            + self.cd.log_text()[-3000:])

    def _wait_event_buckets(self):
        """Two closed buckets of operational events in Prometheus, as for
        the analytics counters."""
        two = ('count_over_time(collectd_genesys_platform_total_operational_events_total'
               f'{{instance="{ORG}"}}[10m]) >= 2')
        self.assertTrue(wait_until(lambda: self.prom.query(two), 120),
                        "genesys_platform never dispatched two operational event buckets:\n"
                        + self.cd.log_text()[-3000:])

    def test_alert_rules_over_analytics_return_series(self):
        """The alerts over analytics queue series: their expressions,
        thresholds aside, return series with the labels their annotations
        use; each series name they use exists. (GenesysPluginStale's
        subquery needs more history than the test has.)"""
        self._wait_analytics_buckets()
        self._wait_mos_buckets()
        self._wait_speech_buckets()
        self._wait_workitem_buckets()
        rules = [r for g in self.prom.rules() for r in g["rules"]
                 if "collectd_genesys_analytics_total_" in r["query"]]
        self.assertGreaterEqual(len(rules), 2)
        queue_rules = 0
        for rule in rules:
            with self.subTest(alert=rule["name"]):
                # over hours: speech values carry their bucket's time, 30
                # minutes and more before they arrive
                for name in set(re.findall(r"collectd_genesys_analytics_\w+", rule["query"])):
                    self.assertTrue(self.prom.query(
                        f'count_over_time({name}{{instance="{ORG}"}}[3h])'),
                        f"no series {name}")
                expr = without_thresholds(rule["query"])
                result = self.prom.query(expr)
                self.assertTrue(result, f"no series: {expr}")
                per_queue = "by (instance, genesys_analytics, type)" in rule["query"]
                queue_rules += per_queue
                for series in result:
                    self.assertEqual(series["metric"].get("instance"), ORG)
                    if per_queue:
                        self.assertIn("genesys_analytics", series["metric"])
                        self.assertIn("type", series["metric"])
        self.assertGreaterEqual(queue_rules, 2, "the queue alerts were not checked")

    def _group_rules_return_series(self, group, plugin, count):
        """The alerts of group over plugin's series: count of them; each
        name they use has series of the org, and each expression without
        its threshold returns series of the org with the labels its
        annotations use. Returns the series of each rule."""
        rules = [r for g in self.prom.rules() if g["name"] == group for r in g["rules"]]
        self.assertEqual(len(rules), count)
        out = {}
        for rule in rules:
            with self.subTest(alert=rule["name"]):
                for name in set(re.findall(rf"collectd_{plugin}_\w+", rule["query"])):
                    self.assertTrue(self.prom.query(f'{name}{{instance="{ORG}"}}'),
                                    f"no series {name}")
                expr = without_thresholds(rule["query"])
                result = self.prom.query(expr)
                self.assertTrue(result, f"no series: {expr}")
                used = set(re.findall(r"\$labels\.(\w+)",
                                      json.dumps(rule.get("annotations", {}))))
                self.assertTrue(used)
                for series in result:
                    self.assertEqual(series["metric"].get("instance"), ORG)
                    self.assertLessEqual(used, set(series["metric"]), expr)
                out[rule["name"]] = result
        return out

    def test_alert_rules_over_flows_return_series(self):
        """The same for the alerts over genesys_flowmetrics (group
        genesys-flows: the bots' self-service, the flows' containment)."""
        two = ('count_over_time(collectd_genesys_flowmetrics_total_bot_queries_total'
               f'{{instance="{ORG}"}}[10m]) >= 2')
        self.assertTrue(wait_until(lambda: self.prom.query(two), 120),
                        "genesys_flowmetrics never dispatched two bot buckets:\n"
                        + self.cd.log_text()[-3000:])
        self._wait_flow_exit_buckets()
        got = self._group_rules_return_series("genesys-flows", "genesys_flowmetrics", 2)
        for series in got.get("GenesysBotSelfServiceFalling", []):
            self.assertTrue(series["metric"]["genesys_flowmetrics"].startswith("bot-"))

    def test_alert_rules_over_platform_return_series(self):
        """The same for the alerts over genesys_platform's edges, trunks,
        status page, API usage and rate limits (group genesys-platform)."""
        def platform_values():
            names = ("edge_online", "trunk_connected", "trunk_in_service",
                     "status_component", "total_operational_events_total",
                     "api_usage")
            return all(self.prom.query(f'collectd_genesys_platform_{n}{{instance="{ORG}"}}')
                       for n in names)
        self.assertTrue(wait_until(platform_values, 60), "no platform values in Prometheus:\n"
                        + self.cd.log_text()[-3000:])
        two = ('count_over_time(collectd_genesys_platform_total_rate_limit_recorded_total'
               f'{{instance="{ORG}"}}[10m]) >= 2')
        self.assertTrue(wait_until(lambda: self.prom.query(two), 120),
                        "genesys_platform never dispatched two rate-limit buckets:\n"
                        + self.cd.log_text()[-3000:])
        self._group_rules_return_series("genesys-platform", "genesys_platform", 6)

    def test_complete_examples_pass_collectd_t(self):
        """Each complete agent configuration, with the plugins and types
        where the test has them, passes `collectd -t` (syntax, every plugin
        loads). Its Genesys blocks are the same keys as the snippets that
        test_docs checks; the write-plugin blocks are the ones the other
        tests run."""
        import shutil
        import subprocess
        import tempfile

        shutil.copy("/usr/lib/collectd/syslog.so", self.cd.plugin_dir)
        with tempfile.TemporaryDirectory() as d:
            secret = os.path.join(d, "secret")
            with open(secret, "w") as f:
                f.write("demo-secret\n")
            os.chmod(secret, 0o600)
            for path in sorted(glob.glob(os.path.join(EXAMPLES, "collectd-*.conf"))):
                with open(path) as f:
                    text = f.read()
                for old, new in (("/usr/share/collectd/genesys.db", OUR_TYPES_DB),
                                 ("/etc/collectd/genesys-acme.secret", secret)):
                    self.assertIn(old, text, path)
                    text = text.replace(old, new)
                conf = os.path.join(d, "collectd.conf")
                with open(conf, "w") as f:
                    f.write(f'PluginDir "{self.cd.plugin_dir}"\nBaseDir "{d}"\n'
                            f'PIDFile "{d}/pid"\n' + text)
                with self.subTest(example=os.path.basename(path)):
                    r = subprocess.run(["/usr/sbin/collectd", "-t", "-C", conf],
                                       capture_output=True, text=True, timeout=60)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_alert_rules_load_healthy(self):
        def loaded():
            groups = self.prom.rules()
            rules = [r for g in groups for r in g["rules"]]
            return rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules)
        self.assertTrue(wait_until(loaded, 30))
        rules = [r for g in self.prom.rules() for r in g["rules"]]
        bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
        self.assertEqual(bad, [])
        self.assertGreaterEqual(len(rules), 5)


if __name__ == "__main__":
    run_tests(__name__)
