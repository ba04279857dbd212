# SPDX-License-Identifier: MIT
"""End to end: genesys_flowmetrics in the real collectd against the
simulator over TLS. Two orgs read the same simulated org: "topic" takes
metric attributes from the queue conversation topics, "eb" from its
EventBridge receiver (HTTPS, shared secret), which the simulator's
EventBridge sender feeds with every attribute update (every 5th event sent
twice). Both stream the flow metrics topics.

The model starts paused; once both orgs are subscribed it runs, is paused
again for a SIGKILL restart of collectd, runs on, and is paused for the
comparison: per flow the execution, disconnect, exit, outcome and milestone
counters, and per flow and metric name the metric-attribute counters, equal
the simulator's ground truth (all attributes for the receiver, those of
conversations that reached a queue for the conversation topic). Then the
receiver is abused: wrong or missing secret, malformed JSON, wrong envelope,
oversized body, duplicates, a flood; each request gets its answer, the
counts stay exact, and collectd keeps running.

FlowAggregatesTest: a sped-up half hour at PT1M (the simulator 60 times
faster than the wall clock, collectd under libfaketime at the same speed, as
in test_analytics), collectd SIGKILLed and restarted five buckets later:
every flow aggregate of every bucket (executions, exits, disconnects,
outcomes reached and failed, milestones, duration sums) equals the
simulator's flow_buckets truth per flow, outcome and milestone, no bucket
missing, the interval counters equal the sum of the buckets, and oFlow
equals the truth's active flows. The simulator answers milestones in groups
that carry their outcome too, as Genesys does; FlowAggregatesMilestones-
AloneTest repeats a shorter run without the outcome key. In both, no group
or metric of any answer is dropped as malformed.

Every run ends with no error in collectd's log caused by our plugins
(Collectd.bad_log_lines)."""
import base64
import concurrent.futures
import http.client
import json
import os
import shutil
import socket
import ssl
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests, write_secret  # noqa: E402
from realtime_truth import wait_for  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402
from collectd_harness import FakeClockCollectd, iso_ms  # noqa: E402
from test_analytics import SPEED  # noqa: E402

PLUGIN = "genesys_flowmetrics"
SECRET = "e2e-receiver-secret-0123456789"
QUEUE_SIZE = 4
MAX_BODY = 65536


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_get(sim, path):
    """GET an API path with a token of the simulator's client."""
    ctx = ssl.create_default_context(cafile=sim.ca)
    basic = base64.b64encode(
        f'{sim.info["client_id"]}:{sim.info["client_secret"]}'.encode()).decode()
    req = urllib.request.Request(sim.base_url + "/oauth/token",
                                 data=b"grant_type=client_credentials",
                                 headers={"Authorization": "Basic " + basic})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        token = json.loads(r.read())["access_token"]
    req = urllib.request.Request(sim.base_url + path,
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return json.loads(r.read())


def delta(after, before):
    """after - before for nested dicts of counts."""
    if isinstance(after, dict):
        out = {}
        for k, v in after.items():
            d = delta(v, (before or {}).get(k) if isinstance(before, dict) else None)
            if d:
                out[k] = d
        return out
    if not isinstance(after, (int, float)) or isinstance(after, bool):
        return None
    return after - (before or 0)


class FlowmetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gen-fm-")
        scenario = os.path.join(cls.tmp, "scenario.json")
        with open(scenario, "w") as f:
            json.dump([{"at_real_seconds": 0, "fault": "pause"}], f)
        cls.sim = Simulator("--queues", "6", "--agents", "60", "--flows", "5",
                            "--speed", "10", "--warmup", "0", "--heartbeat", "2",
                            "--scenario", scenario)
        wait_for(lambda: cls.sim.truth()["paused"], timeout=10)
        cls.t0 = cls.sim.truth()
        secret_file = write_secret(os.path.join(cls.tmp, "secret"), SECRET)
        cls.port = free_port()
        state = os.path.join(cls.sim.dir, "state")
        cls.rx = Receiver()
        topic = cls.sim.org_block(
            "topic", extra='    Host "topic"\n    HeartbeatTimeout 8\n'
            '    StateSaveInterval 1\n')
        eb = cls.sim.org_block(
            "eb", extra='    Host "eb"\n    HeartbeatTimeout 8\n'
            "    StateSaveInterval 1\n    AttributesFromQueues false\n"
            '    ReceiverAddress "127.0.0.1"\n'
            f"    ReceiverPort {cls.port}\n"
            f'    ReceiverCertificate "{state}/server.pem"\n'
            f'    ReceiverKey "{state}/server.key"\n'
            f'    ReceiverSecretFile "{secret_file}"\n'
            f"    ReceiverQueueSize {QUEUE_SIZE}\n"
            f"    ReceiverMaxBody {MAX_BODY}\n")
        cls.cd = Collectd(f"LoadPlugin {PLUGIN}\n<Plugin {PLUGIN}>\n{topic}{eb}</Plugin>\n"
                          + cls.rx.config(), stock=("logfile", "csv", "write_http"))
        cls.ivr_flows = [fid for fid, f in cls.t0["flows"].items()
                         if f["type"].upper() == "INBOUNDCALL"]
        cls.queues = len(cls.t0["queues"])
        cls.started = time.monotonic()
        cls.cd.start()
        cls.wait_subscribed()
        cls.sim._open("/sim/eventbridge", {
            "url": f"https://127.0.0.1:{cls.port}/events", "secret": SECRET,
            "header": "X-Genesys-Secret", "duplicate_every": 5, "ca": cls.sim.ca})

    @classmethod
    def wait_subscribed(cls):
        """Both orgs have an open channel socket (values sent after this
        start), the simulator holds every flow and queue topic, and the
        receiver answers."""
        since = time.time()
        want = len(cls.t0["flows"]) + cls.queues

        def fresh_socket(host):
            v = cls.rx.get_timed(PLUGIN, "self", "notify_sockets", host=host)
            return v is not None and v[0] > since and v[1] == 1

        def ready():
            if not (fresh_socket("topic") and fresh_socket("eb")):
                return False
            if cls.sim.stats().get("topics_subscribed", 0) < want:
                return False
            try:
                return cls.post(b"{}")[0] == 400
            except OSError:
                return False
        if not wait_for(ready, timeout=60, step=0.3):
            raise AssertionError("not subscribed: %s\n%s" % (
                cls.sim.stats().get("topics_subscribed"), cls.cd.log_text()[-3000:]))
        time.sleep(1)  # the subscription answer follows the socket

    @classmethod
    def tearDownClass(cls):
        cls.cd.cleanup()
        cls.rx.stop()
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def post(cls, body, secret=SECRET, method="POST"):
        ctx = ssl.create_default_context(cafile=cls.sim.ca)
        conn = http.client.HTTPSConnection("127.0.0.1", cls.port, context=ctx, timeout=30)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Genesys-Secret"] = secret
        try:
            conn.request(method, "/events", body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def post_oversized(self, length):
        """Declares a body past the limit: the answer comes before the body
        is sent (a sender that keeps sending finds the connection closed)."""
        ctx = ssl.create_default_context(cafile=self.sim.ca)
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall((f"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"X-Genesys-Secret: {SECRET}\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {length}\r\n\r\n").encode())
            line = s.makefile("rb").readline()
        return int(line.split()[1])

    def eb_drained(self):
        s = self.sim._open("/sim/eventbridge")
        return s["enqueued"] + s["duplicates_sent"] <= s["delivered"] + s["failed"] \
            and s["failed"] == 0

    def pause_and_settle(self):
        self.sim.fault({"fault": "pause"})
        self.assertTrue(wait_for(lambda: self.sim.truth()["paused"], timeout=10))
        self.assertTrue(wait_for(self.eb_drained, timeout=30),
                        self.sim._open("/sim/eventbridge"))
        # Counters leave at once and again every interval; three intervals
        # let every change (and the state save) happen.
        time.sleep(3.5)

    def value(self, host, instance, type_, type_instance=""):
        v = self.rx.get(PLUGIN, instance, type_, type_instance, host=host)
        return 0 if v is None else v

    def test_1_counters_equal_truth_across_a_kill(self):
        sim, cd = self.sim, self.cd
        sim.fault({"fault": "resume"})
        time.sleep(12)
        # SIGKILL with the model paused (the simulator's EventBridge sender
        # retries for ~2 s only, unlike the real one's 4 days): what was
        # counted must come back from the state and journal, once.
        self.pause_and_settle()
        before = self.rx.snapshot()
        dups_before_kill = sim._open("/sim/eventbridge")["duplicates_sent"]
        cd.proc.kill()
        cd.proc.wait()
        cd.start()
        self.wait_subscribed()
        time.sleep(2.5)
        for key, v in before.items():
            if key[1] == PLUGIN and key[2] != "self" and "flow" in key[3]:
                self.assertGreaterEqual(self.rx.snapshot().get(key, -1), v, key)
        sim.fault({"fault": "resume"})
        time.sleep(12)
        self.pause_and_settle()
        t1 = sim.truth()
        self.assertEqual(cd.proc.poll(), None, "collectd died")

        flows = delta(t1["flows"], self.t0["flows"])
        outcomes = {o["id"]: o["name"] for o in api_get(sim, "/api/v2/flows/outcomes?pageSize=500")["entities"]}
        milestones = {m["id"]: m["name"] for m in api_get(sim, "/api/v2/flows/milestones?pageSize=500")["entities"]}
        executions = 0
        for host in ("topic", "eb"):
            for fid in self.ivr_flows:
                f = flows.get(fid, {})
                name = t1["flows"][fid]["name"]
                with self.subTest(host=host, flow=name):
                    executions += f.get("executions", 0)
                    self.assertEqual(self.value(host, name, "flow_executions"),
                                     f.get("executions", 0))
                    self.assertEqual(self.value(host, name, "flow_disconnects"),
                                     f.get("disconnects", 0))
                    self.assertEqual(self.value(host, name, "flow_exits"), f.get("exits", 0))
                    for oid, o in t1["flows"][fid]["outcomes"].items():
                        d = f.get("outcomes", {}).get(oid, {})
                        self.assertEqual(self.value(host, name, "flow_outcome_success",
                                                    outcomes[oid]), d.get("success", 0))
                        self.assertEqual(self.value(host, name, "flow_outcome_failure",
                                                    outcomes[oid]), d.get("failure", 0))
                    for mid, n in t1["flows"][fid]["milestones"].items():
                        self.assertEqual(self.value(host, name, "flow_milestones",
                                                    milestones[mid]),
                                         f.get("milestones", {}).get(mid, 0))
        self.assertGreater(executions, 20, "too little traffic to show anything")

        for host, key in (("eb", "metric_attributes"),
                          ("topic", "metric_attributes_on_queue_topics")):
            want = delta(t1[key], self.t0[key])
            got = {}
            for k, v in self.rx.snapshot().items():
                if k[0] == host and k[1] == PLUGIN and k[3] == "flow_metric_attribute" \
                        and not k[2].startswith("E2eProbe") and v:
                    got.setdefault(k[2], {})[k[4]] = v
            with self.subTest(source=host):
                self.assertEqual(got, want)
                self.assertGreater(sum(sum(m.values()) for m in want.values()), 10)
        ebstats = sim._open("/sim/eventbridge")
        self.assertGreater(ebstats["duplicates_sent"], 0)
        # Self-metrics count since the (re)start.
        self.assertEqual(self.value("eb", "self", "duplicates_dropped"),
                         ebstats["duplicates_sent"] - dups_before_kill)
        self.assertEqual(cd.bad_log_lines(), [])

    def test_2_receiver_answers(self):
        def event(eid, conv, attrs):
            return json.dumps({
                "version": "0", "id": eid,
                "detail-type": "v2.detail.events.conversation.{id}.attributes",
                "source": "aws.partner/genesys.com/cloud/x/e2e", "account": "1",
                "time": "2026-05-14T10:00:00Z", "region": "eu-west-1", "resources": [],
                "detail": {"topicName": f"v2.detail.events.conversation.{conv}.attributes",
                           "version": "2",
                           "eventBody": {"eventTime": 1, "conversationId": conv,
                                         "attributes": attrs}}}).encode()

        def rejected(reason):
            return self.value("eb", "self", "receiver_rejected", reason)

        def probe(metric):
            return self.value("eb", "E2eProbe", "flow_metric_attribute", metric)

        time.sleep(1.5)
        base = {r: rejected(r) for r in ("unauthorized", "bad_request", "too_large",
                                         "queue_full")}
        good = event("probe-1", "probe-conv-1",
                     {"E2eProbeMetric_Once(2026-05-14T10:00:00Z)": "1", "Other": "x"})
        self.assertEqual(self.post(good, secret="wrong-secret")[0], 401)
        self.assertEqual(self.post(good, secret=None)[0], 401)
        self.assertEqual(self.post(good, secret=SECRET[:-1])[0], 401)
        self.assertEqual(self.post(b'{"id": "x", "detail": ')[0], 400)
        self.assertEqual(self.post(b"not json at all")[0], 400)
        self.assertEqual(self.post(json.dumps({"version": "0", "id": "w",
                                               "detail-type": "v2.audits.entitytype.{id}",
                                               "detail": {}}).encode())[0], 400)
        self.assertEqual(self.post_oversized(MAX_BODY + 1), 413)
        # Accepted once, then the duplicate delivery and a later update that
        # repeats the attribute: counted once.
        self.assertEqual(self.post(good)[0], 200)
        self.assertEqual(self.post(good)[0], 200)
        self.assertEqual(self.post(event("probe-2", "probe-conv-1", {
            "E2eProbeMetric_Once(2026-05-14T10:00:00Z)": "1"}))[0], 200)

        # A flood: many senders at once against a queue of QUEUE_SIZE; each
        # event carries a new attribute, so the counter equals the 2xx count.
        def flood(i):
            return self.post(event(f"flood-{i}", f"flood-conv-{i}", {
                f"E2eProbeMetric_Flood(2026-05-14T10:00:{i % 60:02d}Z)": "1"}))[0]
        with concurrent.futures.ThreadPoolExecutor(48) as pool:
            answers = list(pool.map(flood, range(400)))
        self.assertEqual(set(answers) - {200, 429}, set())
        accepted = answers.count(200)
        time.sleep(2.5)
        self.assertEqual(probe("Once"), 1)
        self.assertEqual(probe("Flood"), accepted)
        self.assertEqual(rejected("unauthorized") - base["unauthorized"], 3)
        self.assertEqual(rejected("bad_request") - base["bad_request"], 3)
        self.assertEqual(rejected("too_large") - base["too_large"], 1)
        self.assertEqual(rejected("queue_full") - base["queue_full"], answers.count(429))
        print(f"flood: {accepted} accepted, {answers.count(429)} answered 429")
        self.assertIsNone(self.cd.proc.poll(), "collectd died")
        # The refusals above are warnings; nothing at error level.
        self.assertEqual(self.cd.bad_log_lines(), [])
        self.assertLess(time.monotonic() - self.started, 240)


G_MS = 60000


def plugin_values(rx, host):
    """{(flow, type, type_instance): {time_ms: [values in arrival order]}}"""
    out = {}
    with rx.lock:
        for _, t, key, value in rx.arrivals:
            if key[0] != host or key[1] != PLUGIN or key[2] == "self":
                continue
            out.setdefault((key[2], key[3], key[4]), {}).setdefault(
                round(t * 1000), []).append(value)
    return out


class FlowAggregatesTest(unittest.TestCase):
    """The simulator answers milestones in groups that carry their outcome
    too (its default, as Genesys: tests/sim/README.md, Evidence)."""
    maxDiff = None
    GROUPING = "with-outcome"
    KILL = True  # SIGKILL and restart half way

    def setUp(self):
        self.sim = Simulator("--queues", "4", "--agents", "40", "--flows", "3",
                             "--speed", str(SPEED), "--start", "now",
                             "--warmup", "300", "--heartbeat", "2",
                             # oFlow is asked for every read (10 simulated
                             # seconds): more than the default 300 a minute.
                             "--rate-limit", "3000",
                             "--milestone-grouping", self.GROUPING)
        self.rx = Receiver()
        block = self.sim.org_block(
            "agg", extra='    Host "agg"\n    AttributesFromQueues false\n'
            '    Granularity "PT1M"\n    SettleDelay 30\n    RevisitWindow 900\n'
            "    BackfillHorizon 3600\n    InitialBackfill 240\n"
            "    HeartbeatTimeout 600\n    StateSaveInterval 60\n")
        self.cd = FakeClockCollectd(
            f"<LoadPlugin {PLUGIN}>\n  Interval 10\n</LoadPlugin>\n"
            f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + self.rx.config(),
            self.sim, SPEED, stock=("logfile", "csv", "write_http"),
            write_threads=1)  # every bucket compared: in order

    def tearDown(self):
        self.cd.cleanup()
        self.rx.stop()
        self.sim.stop()

    def sim_ms(self):
        return iso_ms(self.sim._open("/sim/info")["sim_time"])

    def wait_sim(self, until_ms, timeout=120):
        deadline = time.monotonic() + timeout
        while self.sim_ms() < until_ms and time.monotonic() < deadline:
            time.sleep(0.2)

    def test_buckets_equal_truth(self):
        started = time.monotonic()
        self.cd.start()
        t0 = self.sim_ms()
        killed = None
        if self.KILL:
            # SIGKILL half way between two commits (a bucket is taken 30 to
            # 40 s after its end): what collectd dispatched has left its
            # write buffer, which a kill would lose whatever the plugin does.
            killed = (t0 // G_MS + 9) * G_MS + 5000
            self.wait_sim(killed)
            self.cd.proc.send_signal(9)
            self.cd.proc.wait()
            self.wait_sim(t0 + 14 * G_MS)  # five buckets while collectd is down
            self.cd.start()
        run_buckets = 24 if self.KILL else 12
        self.wait_sim(t0 + run_buckets * G_MS)
        self.sim.fault({"fault": "pause"})
        paused_ms = self.sim_ms()
        # Every bucket closed before the pause settles (30 s = 0.5 s real),
        # oFlow is read again (every second).
        time.sleep(3)
        truth = self.sim._open("/sim/truth?granularity=PT1M&buckets=60")
        self.assertIsNone(self.cd.proc.poll(), "collectd died")
        vals = plugin_values(self.rx, "agg")
        outcomes = {o["id"]: o["name"] for o in api_get(
            self.sim, "/api/v2/flows/outcomes?pageSize=500")["entities"]}
        milestones = {m["id"]: m["name"] for m in api_get(
            self.sim, "/api/v2/flows/milestones?pageSize=500")["entities"]}
        names = {fid: f["name"] for fid, f in truth["flows"].items()}

        def final(key, end):
            got = vals.get(key, {}).get(end)
            return got[-1] if got else 0

        ends = sorted({t for (f, ty, ti), s in vals.items()
                       if ty == "total_flow_executions" for t in s})
        self.assertTrue(ends, "no interval counters:\n" + self.cd.log_text()[-3000:])
        first = min(t for (f, ty, ti), s in vals.items()
                    if ty.startswith("flow_interval_") for t in s)
        last = max(e for e in ends if e <= paused_ms // G_MS * G_MS)
        self.assertGreaterEqual((last - first) // G_MS, run_buckets - 4,
                                f"fewer than {run_buckets - 3} buckets")
        by_end = {round(iso_ms(iv.split("/")[1])): flows
                  for iv, flows in truth["flow_buckets"].items()}
        self.assertLessEqual(min(by_end), first, "truth does not cover the run")
        sums, compared, milestones_seen = {}, 0, 0
        for end in range(first, last + G_MS, G_MS):
            for fid, name in names.items():
                tr = by_end.get(end, {}).get(fid, {})
                want = {("flow_interval_executions", ""): tr.get("executions", 0)}
                for measure in ("flow", "exit", "disconnect"):
                    d = tr.get(measure, {"count": 0, "sum_ms": 0})
                    want[("duration_count", measure)] = d["count"]
                    want[("sum_ms", measure)] = d["sum_ms"]
                for oid, o in tr.get("outcomes", {}).items():
                    want[("flow_interval_outcomes", outcomes[oid])] = o["count"]
                    want[("flow_interval_outcome_failures", outcomes[oid])] = o["failed"]
                    want[("duration_count", "outcome-" + outcomes[oid])] = \
                        o["duration"]["count"]
                for mid, n in tr.get("milestones", {}).items():
                    want[("flow_interval_milestones", milestones[mid])] = n
                    milestones_seen += n
                got = {}
                for (ty, ti) in want:
                    if ty == "sum_ms":
                        n = final((name, "duration_count", ti), end)
                        avg = final((name, "duration_avg", ti), end)
                        got[(ty, ti)] = round(avg * n * 1000)
                    else:
                        got[(ty, ti)] = final((name, ty, ti), end)
                self.assertEqual(got, want, f"{name} at {end} (buckets {first}..{last}, "
                                 f"killed {killed}, restarted {t0 + 14 * G_MS}, "
                                 f"paused {paused_ms}, got at {sorted(vals.get((name, 'flow_interval_executions', ''), {}).items())}")
                # Nothing dispatched that the truth does not have.
                for (f, ty, ti), series in vals.items():
                    if f == name and ty.startswith("flow_interval_") and \
                            series.get(end, [0])[-1]:
                        self.assertIn((ty, ti), want, f"extra {ty} {ti} at {end}")
                for k, v in want.items():
                    sums[(name,) + k] = sums.get((name,) + k, 0) + v
                compared += len(want)
        executions = sum(v for k, v in sums.items() if k[1] == "flow_interval_executions")
        self.assertGreater(executions, 20, "too little traffic to show anything")
        self.assertGreater(milestones_seen, 10, "too few milestones to show anything")
        # Counters: the last total equals the sum of the buckets, and only
        # goes up.
        totals = {"flow_interval_executions": "total_flow_executions",
                  "flow_interval_outcomes": "total_flow_outcomes",
                  "flow_interval_outcome_failures": "total_flow_outcome_failures",
                  "flow_interval_milestones": "total_flow_milestones",
                  "duration_count": "total_duration_count",
                  "sum_ms": "total_duration_ms"}
        for (name, ty, ti), want in sums.items():
            series = vals.get((name, totals[ty], ti), {})
            at_last = [v for t, v in series.items() if t <= last]
            got = series[max(t for t in series if t <= last)][-1] if at_last else 0
            self.assertEqual(got, want, f"counter {totals[ty]} {name} {ti}")
            ordered = [series[t][-1] for t in sorted(series)]
            self.assertEqual(ordered, sorted(ordered), f"{totals[ty]} {name} {ti} went down")
        if self.KILL:
            self.assertGreaterEqual(
                self.rx.get(PLUGIN, "self", "buckets_backfilled", host="agg"), 5)
        # Every group and metric of every answer was usable: none dropped.
        malformed = self.rx.get(PLUGIN, "self", "malformed_documents", host="agg")
        self.assertEqual(malformed, 0, "answers dropped as malformed")
        self.assertEqual(self.rx.get(PLUGIN, "self", "gap_buckets", host="agg"), 0)
        # oFlow: executions in each flow now (the model is paused).
        latest = self.rx.snapshot()
        for fid, name in names.items():
            got = sum(v for k, v in latest.items()
                      if k[:4] == ("agg", PLUGIN, name, "flow_active"))
            self.assertEqual(got, truth["flows"][fid]["active"], f"oFlow {name}")
        # One request per new bucket (backfills and revisits ride along in
        # the same interval; each request's commit sets the counters at its
        # newest bucket), every one answered.
        stats = self.sim.stats()["requests"]["POST /api/v2/analytics/flows/aggregates/query"]
        buckets = (last - first) // G_MS + 1
        committed = {t for (f, ty, ti), s in plugin_values(self.rx, "agg").items()
                     if ty == "total_flow_executions" for t in s}
        self.assertEqual(stats["by_status"].get("200"), stats["total"])
        self.assertLessEqual(stats["total"], len(committed))
        self.assertEqual(self.cd.bad_log_lines(), [])
        print(f"aggregates ({self.GROUPING}): {compared} bucket values of {buckets} "
              f"buckets equal the truth ({milestones_seen} milestones); "
              f"{stats['total']} aggregates requests for {len(committed)} commits; "
              f"malformed {malformed}; {time.monotonic() - started:.0f} s")


class FlowAggregatesMilestonesAloneTest(FlowAggregatesTest):
    """The same without the outcome key on milestone groups (the
    simulator's --milestone-grouping alone), on a shorter run."""
    GROUPING = "alone"
    KILL = False


if __name__ == "__main__":
    run_tests(__name__)
