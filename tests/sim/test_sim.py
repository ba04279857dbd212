#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of the Genesys Cloud simulator (gensim).  unittest, standard library.

Every endpoint, limit and fault of tests/sim/README.md is exercised against a
real gensim process on a free loopback port.  Run: tests/sim/run_tests.sh
"""
import atexit
import base64
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from simproto import HttpClient, WsClient, OP_PING  # noqa: E402
import simmodel  # noqa: E402
import simplatform  # noqa: E402
import simactions  # noqa: E402
import simevents  # noqa: E402
import simapi  # noqa: E402
import simspeech  # noqa: E402
import simusage  # noqa: E402

GENSIM = os.path.join(HERE, "gensim.py")
STATE = tempfile.mkdtemp(prefix="gensim-test-")
atexit.register(shutil.rmtree, STATE, True)
ATTR_RE = re.compile(r"^([A-Za-z0-9_]+)Metric_([A-Za-z0-9_]+)\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)$")
ERROR_KEYS = {"message", "code", "status", "messageWithParams", "messageParams", "contextId",
              "details", "errors"}


def last_buckets(now_ms, n, g_ms=300000):
    """The interval of the n buckets of g_ms that closed last by now_ms."""
    end = now_ms - now_ms % g_ms
    return simmodel.iso(end - n * g_ms, False) + "/" + simmodel.iso(end, False)


class Sim:
    def __init__(self, *args, env=None):
        self.dir = tempfile.mkdtemp(dir=STATE)
        self.ready = os.path.join(self.dir, "ready.json")
        self.log = open(os.path.join(self.dir, "gensim.log"), "w")
        cmd = [sys.executable, GENSIM, "--port", "0", "--ready-file", self.ready,
               "--state-dir", os.path.join(STATE, "certs")] + [str(a) for a in args]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        t0 = time.time()
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None:
                raise RuntimeError("gensim exited: " + open(self.log.name).read())
            if time.time() - t0 > 30:
                raise RuntimeError("gensim did not become ready")
            time.sleep(0.05)
        with open(self.ready) as f:
            self.info = json.load(f)
        self.base = self.info["base_url"]
        self.ca = self.info["ca"]
        self.ctl = HttpClient(self.base, self.ca)

    def client(self, login=True):
        c = HttpClient(self.base, self.ca)
        if login:
            st, _ = c.login()
            assert st == 200, st
        return c

    def sim(self, method, path, body=None):
        st, h, js = self.ctl.request(method, path, body, auth=False)
        return st, js

    def fault(self, **spec):
        st, js = self.sim("POST", "/sim/faults", spec)
        assert st == 200, (st, js)
        return js["results"][0]

    def truth(self, q=""):
        return self.sim("GET", "/sim/truth" + q)[1]

    def stats(self):
        return self.sim("GET", "/sim/stats")[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class PausedTruth(unittest.TestCase):
    """A family's simulator (SIM: its arguments, at speed 120 after an
    hour's warm-up), paused, with its truth at TRUTH of the last BUCKETS
    5-minute buckets (truth) and their interval (iv)."""
    SIM = ()
    TRUTH = ""
    BUCKETS = 6

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 120, *cls.SIM, "--quiet", "--warmup", 3600)
        cls.c = cls.sim.client()
        cls.sim.fault(fault="pause")
        cls.truth = cls.sim.sim(
            "GET", "%s?granularity=PT5M&buckets=%d" % (cls.TRUTH, cls.BUCKETS))[1]
        now = cls.truth["sim_time_ms" if "sim_time_ms" in cls.truth else "now"]
        cls.iv = last_buckets(now, cls.BUCKETS)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()


def queue_ids(c, n=None):
    st, _, js = c.request("GET", "/api/v2/routing/queues?pageSize=500")
    ids = [e["id"] for e in js["entities"]]
    return ids[:n] if n else ids


def or_filter(dim, values):
    return {"type": "or", "predicates": [{"dimension": dim, "value": v} for v in values]}


def open_channel(c, topics):
    st, _, ch = c.request("POST", "/api/v2/notifications/channels")
    assert st == 200
    st, _, js = c.request("PUT", "/api/v2/notifications/channels/%s/subscriptions" % ch["id"],
                          [{"id": t} for t in topics])
    assert st == 200, js
    return ch


def wait_for(fn, timeout=10, step=0.1):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return None


def recv_until(ws, pred, timeout=10):
    """Receive messages until pred(msg) is true; returns (msg, all seen)."""
    ws.settimeout(timeout)
    seen = []
    t0 = time.time()
    while time.time() - t0 < timeout:
        kind, m = ws.recv_json()
        if kind != "json":
            seen.append((kind, m))
            if pred((kind, m)):
                return (kind, m), seen
            if kind == "close":
                break
            continue
        seen.append(m)
        if pred(m):
            return m, seen
    return None, seen


def simmodel_ms(s):
    import datetime as dt
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


O_METRICS = {"oWaiting", "oInteracting", "oAlerting", "oLongestWaiting", "oLongestInteracting",
             "oActiveUsers", "oMemberUsers", "oOnQueueUsers", "oOffQueueUsers",
             "oUserRoutingStatuses", "oUserPresences"}
DISPLAY_TO_ENUM = {v: k for k, v in simmodel.PRESENCE_DISPLAY.items()}


def decode_user_group(tc, d, mappings, forms):
    """Decodes the user metrics of one observation group ({metric: {qualifier:
    stats}}) into the truth's terms, checking the form; returns (on_queue,
    {presence: n}, {routing: n})."""
    oq = d.get("oOnQueueUsers", {})
    qual = {k: v["count"] for k, v in oq.items() if k is not None}
    if forms["onqueue_form"] == "total":
        tc.assertEqual(set(oq), {None})
        on = oq[None]["count"]
    else:
        tc.assertTrue(set(qual) <= {"IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING"})
        tc.assertNotIn(0, qual.values())
        on = sum(qual.values())
        if forms["onqueue_form"] == "both":
            tc.assertEqual(oq[None]["count"], on)
        else:
            tc.assertNotIn(None, oq)
    pres = {}
    by_id = {i: sp for sp, ids in mappings.items() for i in ids}
    for k, v in d.get("oUserPresences", {}).items():
        if forms["presence_qualifier"] == "id":
            tc.assertIn(k, by_id)
            k = by_id[k]
        else:
            tc.assertIn(k, simmodel.PRESENCES)
        pres[k] = pres.get(k, 0) + v["count"]
    rs = {k: v["count"] for k, v in d.get("oUserRoutingStatuses", {}).items()}
    for k, n in qual.items():
        tc.assertEqual(rs.get(k), n, k)
    return on, pres, rs


def decode_longest(tc, st, form, now_ms):
    """calculatedMetricValue as a duration in ms (0 when absent)."""
    v = st.get("calculatedMetricValue")
    if v is None:
        return 0
    if form == "epoch":
        tc.assertGreater(v, 1e12)
        return now_ms - v
    tc.assertLess(v, 1e12)
    return v


def check_error_body(tc, js, status, code=None):
    tc.assertIsInstance(js, dict)
    tc.assertTrue(ERROR_KEYS <= set(js), js)
    tc.assertEqual(js["status"], status)
    if code:
        tc.assertEqual(js["code"], code)


# ===========================================================================

class T01Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 60, "--queues", 6, "--agents", 40, "--seed", 3, "--quiet")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_token_ok(self):
        c = self.sim.client(login=False)
        st, js = c.login()
        self.assertEqual(st, 200)
        self.assertEqual(js["token_type"], "bearer")
        self.assertEqual(js["expires_in"], 86400)
        self.assertTrue(js["access_token"])

    def test_token_form_credentials(self):
        c = self.sim.client(login=False)
        st, h, js = c.request("POST", "/oauth/token",
                              "grant_type=client_credentials&client_id=demo-client"
                              "&client_secret=demo-secret",
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              auth=False)
        self.assertEqual(st, 200)

    def test_bad_credentials(self):
        c = self.sim.client(login=False)
        st, js = c.login("demo-client", "wrong")
        self.assertEqual(st, 401)
        self.assertEqual(js["error"], "invalid_client")
        self.assertIn("description", js)
        self.assertIn("error_description", js)

    def test_bad_grant(self):
        c = self.sim.client(login=False)
        cred = base64.b64encode(b"demo-client:demo-secret").decode()
        st, h, js = c.request("POST", "/oauth/token", "grant_type=password",
                              headers={"Authorization": "Basic " + cred}, auth=False)
        self.assertEqual(st, 400)
        self.assertEqual(js["error"], "unsupported_grant_type")

    def test_missing_and_bad_bearer(self):
        c = self.sim.client(login=False)
        st, h, js = c.request("GET", "/api/v2/routing/queues")
        self.assertEqual(st, 401)
        check_error_body(self, js, 401, "authentication.required")
        c.token = "nonsense"
        st, h, js = c.request("GET", "/api/v2/routing/queues")
        self.assertEqual(st, 401)
        check_error_body(self, js, 401, "bad.credentials")
        self.assertIn("inin-correlation-id", h)

    def test_keepalive_and_headers(self):
        c = self.sim.client()
        for _ in range(5):
            st, h, js = c.request("GET", "/api/v2/routing/queues?pageSize=2")
            self.assertEqual(st, 200)
            for k in ("inin-ratelimit-count", "inin-ratelimit-allowed", "inin-ratelimit-reset",
                      "inin-correlation-id"):
                self.assertIn(k, h)
        self.assertEqual(c.connects, 1)
        self.assertEqual(h["inin-ratelimit-allowed"], "300")
        self.assertEqual(int(h["inin-ratelimit-count"]), 5)

    def test_unknown_path_404(self):
        c = self.sim.client()
        st, h, js = c.request("GET", "/api/v2/nope")
        self.assertEqual(st, 404)
        check_error_body(self, js, 404, "not.found")

    def test_expect_100_continue_and_chunked(self):
        c = self.sim.client()
        s = socket.create_connection(("127.0.0.1", self.sim.info["port"]), timeout=5)
        body = json.dumps({"filter": or_filter("queueId", queue_ids(c)),
                           "metrics": ["oWaiting"]}).encode()
        s.sendall(("POST /api/v2/analytics/queues/observations/query HTTP/1.1\r\n"
                   "Host: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                   % (c.token, len(body))).encode())
        first = s.recv(100)
        self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first)
        s.sendall(body)
        data = first
        while b'"results"' not in data:
            data += s.recv(65536)
        self.assertIn(b"HTTP/1.1 200 OK", data)
        s.close()
        # chunked request body
        s = socket.create_connection(("127.0.0.1", self.sim.info["port"]), timeout=5)
        half = len(body) // 2
        s.sendall(("POST /api/v2/analytics/queues/observations/query HTTP/1.1\r\n"
                   "Host: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                   % c.token).encode() +
                  b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half,
                                                            body[half:]))
        data = b""
        while b'"results"' not in data:
            data += s.recv(65536)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK"))
        s.close()

    def test_http10_and_connection_close(self):
        s = socket.create_connection(("127.0.0.1", self.sim.info["port"]))
        s.sendall(b"GET /sim/info HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        self.assertTrue(data.startswith(b"HTTP/1.1 200"))
        self.assertIn(b"Connection: close", data)


class T01cClients(unittest.TestCase):
    """--extra-clients: more OAuth clients, each counted apart (sharded
    agents, one client each)."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 60, "--queues", 6, "--agents", 40, "--seed", 3, "--quiet",
                      "--extra-clients", 2)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_each_client_logs_in_and_is_counted(self):
        self.assertEqual(self.sim.info["clients"],
                         [["demo-client", "demo-secret"], ["demo-client-1", "demo-secret-1"],
                          ["demo-client-2", "demo-secret-2"]])
        c = self.sim.client(login=False)
        self.assertEqual(c.login("demo-client-2", "demo-secret-1")[0], 401)
        self.assertEqual(c.login("demo-client-3", "demo-secret-3")[0], 401)
        self.assertEqual(c.login("demo-client-2", "demo-secret-2")[0], 200)
        self.assertEqual(c.request("GET", "/api/v2/routing/queues")[0], 200)
        st, h, ch = c.request("POST", "/api/v2/notifications/channels")
        self.assertEqual(st, 200)
        queue = c.request("GET", "/api/v2/routing/queues")[2]["entities"][0]["id"]
        topic = "v2.analytics.queues.%s.observations" % queue
        c.request("PUT", "/api/v2/notifications/channels/%s/subscriptions" % ch["id"],
                  [{"id": topic}])
        st = self.sim.stats()
        mine = st["by_client"]["demo-client-2"]
        # by the client a request names, refused or not
        self.assertEqual(mine["requests"]["POST /oauth/token"], 2)
        self.assertEqual(mine["requests"]["GET /api/v2/routing/queues"], 2)
        self.assertEqual(mine["requests_total"], 6)
        self.assertEqual(st["by_client"]["demo-client-3"]["requests_total"], 1)
        self.assertEqual(st["channels_by_client"]["demo-client-2"], {"channels": 1, "topics": 1})
        self.assertNotIn("demo-client-1", st["channels_by_client"])


class T01bPermissions(unittest.TestCase):
    """A withheld permission: 403 missing.permissions naming it, as Genesys
    answers, on every route that needs it and no other."""
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 2, "--agents", 4, "--quiet",
                      "--deny-permission", "architect:flowOutcome:view")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_denied_at_start_and_at_run_time(self):
        c = self.sim.client()
        st, h, js = c.request("GET", "/api/v2/flows/outcomes")
        self.assertEqual(st, 403)
        check_error_body(self, js, 403, "missing.permissions")
        self.assertEqual(js["message"], "Unable to perform the requested action. You are "
                         "missing the following permission(s): architect:flowOutcome:view")
        st, h, js = c.request("GET", "/api/v2/flows/milestones")
        self.assertEqual(st, 200)
        self.sim.fault(fault="deny_permission", permission="analytics:userAggregate:view")
        st, h, js = c.request("POST", "/api/v2/analytics/users/aggregates/query",
                              {"interval": "2026-01-01T00:00:00Z/2026-01-01T01:00:00Z",
                               "metrics": ["tAgentRoutingStatus"]})
        self.assertEqual(st, 403)
        self.assertIn("analytics:userAggregate:view", js["message"])
        self.assertEqual(c.request("GET", "/api/v2/routing/queues")[0], 200)
        self.sim.fault(fault="allow_permission", permission="architect:flowOutcome:view")
        self.assertEqual(c.request("GET", "/api/v2/flows/outcomes")[0], 200)
        self.assertEqual(self.sim.stats()["permission_refusals"], 2)


class T02cEstimatedWaitTime(unittest.TestCase):
    """GET /api/v2/routing/queues/{id}/mediatypes/{mediaType}/estimatedwaittime:
    EstimatedWaitTimePredictions from the model (the simulator's formula),
    404 for a queue that does not exist, 400 for a bad mediaType, every answer
    in /sim/truth/ewt, the permission, the labelled form."""
    PATH = "/api/v2/routing/queues/%s/mediatypes/%s/estimatedwaittime"

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 12, "--agents", 60, "--quiet", "--speed", 60,
                      "--load", 1.3, "--warmup", 1800)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_answers_equal_the_formula_and_the_truth(self):
        c = self.sim.client()
        self.sim.fault(fault="freeze")
        try:
            truth = self.sim.truth()["queues"]
            before = self.sim.sim("GET", "/sim/truth/ewt")[1]
            asked = 0
            for qid, q in truth.items():
                for media in q["media"]:
                    path_media = "call" if media == "voice" else media
                    st, _, js = c.request("GET", self.PATH % (qid, path_media))
                    self.assertEqual(st, 200)
                    self.assertEqual(len(js["results"]), 1)
                    r = js["results"][0]
                    self.assertEqual(r["intent"], path_media)
                    self.assertIsInstance(r["formula"], str)
                    self.assertNotIn("label", r)
                    p = simmodel.MEDIA_PARAMS[media]
                    handle = p[0] + p[1] + p[2] * p[3] + p[4]
                    agents = max(1, q["agents"]["routing"].get("IDLE", 0)
                                 + q["agents"]["routing"].get("INTERACTING", 0))
                    want = int(round(q["media"][media]["waiting"] * handle / agents))
                    self.assertEqual(r["estimatedWaitTimeSeconds"], want)
                    asked += 1
            ewt = self.sim.sim("GET", "/sim/truth/ewt")[1]
            self.assertEqual(ewt["requests"] - before["requests"], asked)
            idle = sum(1 for q in truth.values() for m in q["media"].values()
                       if m["waiting"] == 0)
            self.assertGreater(idle, 0)
            self.assertLess(idle, asked)   # some wait, some do not: both counted
            self.assertEqual(ewt["idle_requests"] - before["idle_requests"], idle)
            for qid, q in truth.items():
                for media, m in q["media"].items():
                    got = ewt["answers"][qid][media]
                    self.assertEqual(got["waiting"], m["waiting"])
                    self.assertEqual(got["seconds"] > 0, m["waiting"] > 0)
        finally:
            self.sim.fault(fault="thaw")

    def test_refused(self):
        c = self.sim.client()
        qid = queue_ids(c, 1)[0]
        st, _, js = c.request("GET", self.PATH % ("no-such-queue", "call"))
        self.assertEqual(st, 404)
        check_error_body(self, js, 404, "not.found")
        for bad in ("voice", "cobrowse", "CALL", "screenshare"):
            st, _, js = c.request("GET", self.PATH % (qid, bad))
            self.assertEqual(st, 400, bad)
            check_error_body(self, js, 400, "bad.request")
        # videoComm is the API's: nobody waits on it here
        st, _, js = c.request("GET", self.PATH % (qid, "videoComm"))
        self.assertEqual(st, 200)
        self.assertEqual(js["results"][0]["estimatedWaitTimeSeconds"], 0)
        self.sim.fault(fault="deny_permission", permission="routing:queue:view")
        try:
            st, _, js = c.request("GET", self.PATH % (qid, "call"))
            self.assertEqual(st, 403)
            self.assertIn("routing:queue:view", js["message"])
        finally:
            self.sim.fault(fault="allow_permission", permission="routing:queue:view")

    def test_labelled_form(self):
        c = self.sim.client()
        qid = queue_ids(c, 1)[0]
        self.sim.sim("POST", "/sim/forms", {"ewt_results": "labelled"})
        try:
            st, _, js = c.request("GET", self.PATH % (qid, "all"))
            self.assertEqual(st, 200)
            self.assertEqual(len(js["results"]), 2)
            self.assertIn("label", js["results"][0])
            self.assertNotIn("label", js["results"][1])
            truth = self.sim.sim("GET", "/sim/truth/ewt")[1]["answers"][qid]["all"]
            self.assertEqual(truth["seconds"], js["results"][1]["estimatedWaitTimeSeconds"])
        finally:
            self.sim.sim("POST", "/sim/forms", {"ewt_results": "one"})

    def test_formulas_form(self):
        """Results of other formulas before the BEST one, which the truth
        records."""
        c = self.sim.client()
        qid = queue_ids(c, 1)[0]
        st, _, js = c.request("GET", self.PATH % (qid, "all"))
        self.assertEqual([r["formula"] for r in js["results"]], ["BEST"])
        self.sim.sim("POST", "/sim/forms", {"ewt_results": "formulas"})
        try:
            st, _, js = c.request("GET", self.PATH % (qid, "all"))
            self.assertEqual(st, 200)
            self.assertEqual([r["formula"] for r in js["results"]],
                             ["SIMPLE", "POSITION-IN-QUEUE", "CRYSTAL-BALL", "BEST"])
            truth = self.sim.sim("GET", "/sim/truth/ewt")[1]["answers"][qid]["all"]
            self.assertEqual(truth["seconds"], js["results"][3]["estimatedWaitTimeSeconds"])
            self.assertEqual(len({r["estimatedWaitTimeSeconds"] for r in js["results"]}), 4)
        finally:
            self.sim.sim("POST", "/sim/forms", {"ewt_results": "one"})


class T02cWorkitems(unittest.TestCase):
    """POST /api/v2/analytics/taskmanagement/metrics/query: one queue's
    backlog by status category, paged by the cursor after, equal to
    /sim/truth/workitems; the record's refusals (no single queueId
    predicate, oWorkitemsDue without a qualifier, pageSize over 200); the
    forms workitem_oldest, workitem_page, workitem_words; the permission."""
    PATH = "/api/v2/analytics/taskmanagement/metrics/query"

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 6, "--agents", 12, "--quiet")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    @staticmethod
    def body(qid, qualifier="Hours24"):
        due = {"name": "oWorkitemsDue"}
        if qualifier:
            due["qualifier"] = qualifier
        return {"filter": {"predicates": [{"dimension": "queueId", "value": qid}]},
                "groupBy": ["queueId", "statusCategory"],
                "metrics": [{"name": "oWorkitemsUnassigned"}, due,
                            {"name": "oWorkitemOldestUnassigned"}]}

    def pages(self, c, qid, size):
        out, after, n = [], None, 0
        while True:
            q = "?pageSize=%d" % size + ("&after=" + urllib.parse.quote(after, safe="")
                                         if after else "")
            st, _, js = c.request("POST", self.PATH + q, self.body(qid))
            self.assertEqual(st, 200, js)
            out += js["results"]
            n += 1
            after = (js.get("cursors") or {}).get("after")
            if not after:
                return out, n

    def test_answers_equal_the_truth_paged(self):
        c = self.sim.client()
        truth = self.sim.sim("GET", "/sim/truth/workitems")[1]["queues"]
        self.assertTrue(any(not v for v in truth.values()))   # an empty queue
        for qid, cats in truth.items():
            whole, n = self.pages(c, qid, 200)
            self.assertEqual(n, 1)
            paged, n = self.pages(c, qid, 2)
            self.assertEqual(paged, whole)
            self.assertEqual(n, max(1, (len(cats) + 1) // 2))
            got = {r["group"]["statusCategory"]: {d["metric"] + d.get("qualifier", ""):
                                                  d["stats"] for d in r["data"]}
                   for r in whole}
            self.assertEqual(set(got), set(cats))
            for cat, v in cats.items():
                self.assertEqual(got[cat]["oWorkitemsUnassigned"]["count"], v["unassigned"])
                self.assertEqual(got[cat]["oWorkitemsDueHours24"]["count"], v["Hours24"])
                if v["oldest"] is None:
                    self.assertNotIn("oWorkitemOldestUnassigned", got[cat])
                else:
                    self.assertEqual(got[cat]["oWorkitemOldestUnassigned"]["max"], v["oldest"])

    def test_refusals_forms_permission(self):
        c = self.sim.client()
        qid = queue_ids(c, 1)[0]
        two = self.body(qid)
        two["filter"]["predicates"].append({"dimension": "queueId", "value": qid})
        for body, q in ((self.body(qid, None), ""), (two, ""),
                        ({"groupBy": [], "metrics": []}, ""), (self.body(qid), "?pageSize=201")):
            st, _, js = c.request("POST", self.PATH + q, body)
            self.assertEqual(st, 400, body)
            check_error_body(self, js, 400, "bad.request")
        truth = self.sim.sim("GET", "/sim/truth/workitems")[1]["queues"]
        qid = next(q for q, v in truth.items() if len(v) > 2)
        self.sim.sim("POST", "/sim/forms", {"workitem_page": "short", "workitem_oldest": "epoch",
                                            "workitem_words": "unknown"})
        try:
            st, _, js = c.request("POST", self.PATH + "?pageSize=200", self.body(qid))
            self.assertEqual(len(js["results"]), 2)
            self.assertIn("after", js["cursors"])
            olds = [d["stats"]["max"] for r in js["results"] for d in r["data"]
                    if d["metric"] == "oWorkitemOldestUnassigned"]
            self.assertTrue(all(m > 10 ** 12 for m in olds))
            self.assertIn("oWorkitemsSnoozed", [d["metric"] for d in js["results"][0]["data"]])
            whole, _ = self.pages(c, qid, 200)
            self.assertIn("Snoozed", [r["group"]["statusCategory"] for r in whole])
        finally:
            self.sim.sim("POST", "/sim/forms", {"workitem_page": "full", "workitem_oldest": "age",
                                                "workitem_words": "record"})
        perm = "analytics:taskManagementObservation:view"
        self.sim.fault(fault="deny_permission", permission=perm)
        try:
            st, _, js = c.request("POST", self.PATH, self.body(qid))
            self.assertEqual(st, 403)
            self.assertIn(perm, js["message"])
        finally:
            self.sim.fault(fault="allow_permission", permission=perm)


class T02cHeldWaiting(unittest.TestCase):
    """--arrival-scale 0: nobody arrives, nobody waits; POST /sim/hold holds
    conversations waiting in a queue (no agent takes them, none abandons),
    in the truth and the estimate; 0 releases them; the request log of
    /sim/truth/ewt; an unknown queue or media type refused."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 6, "--agents", 30, "--quiet", "--speed", 60,
                      "--arrival-scale", 0, "--warmup", 600)
        cls.addClassCleanup(cls.sim.stop)

    def waiting(self):
        return {(qid, m): v["waiting"] for qid, q in self.sim.truth()["queues"].items()
                for m, v in q["media"].items() if v["waiting"] > 0}

    def test_hold_and_release(self):
        self.assertEqual(self.waiting(), {})
        qid, q = sorted(self.sim.truth()["queues"].items())[2]
        media = sorted(q["media"])[0]
        st, js = self.sim.sim("POST", "/sim/hold", {"queue": qid, "media": media, "count": 3})
        self.assertEqual((st, js["held"]), (200, 3))
        time.sleep(1)   # 60 simulated seconds: idle agents would have taken them
        self.assertEqual(self.waiting(), {(qid, media): 3})
        path_media = "call" if media == "voice" else media
        c = self.sim.client()
        st, _, js = c.request("GET", T02cEstimatedWaitTime.PATH % (qid, path_media))
        self.assertGreater(js["results"][0]["estimatedWaitTimeSeconds"], 0)
        log = self.sim.sim("GET", "/sim/truth/ewt")[1]["log"]
        self.assertEqual([(r["queueId"], r["mediaType"]) for r in log], [(qid, media)])
        self.assertEqual(self.sim.sim("POST", "/sim/hold", {"queue": qid, "media": media,
                                                            "count": 1})[1]["held"], 1)
        self.assertEqual(self.waiting(), {(qid, media): 1})
        self.sim.sim("POST", "/sim/hold", {"queue": qid, "media": media, "count": 0})
        self.assertEqual(self.waiting(), {})
        self.assertEqual(self.sim.sim("POST", "/sim/hold", {"queue": "nope", "media": media,
                                                            "count": 1})[0], 404)
        self.assertEqual(self.sim.sim("POST", "/sim/hold", {"queue": qid, "media": "fax",
                                                            "count": 1})[0], 400)


class T02dAgentGroups(unittest.TestCase):
    """POST /api/v2/analytics/agents/status/counts by division, by team (its
    teamId predicate, and its members' userId predicates) and by management
    unit, UNKNOWN routing statuses answered, GET /api/v2/teams and
    /api/v2/teams/{id}/members paged by cursor, /sim/truth/agentgroups, the
    form agent_predicates older (400 to teamId), the refusals and the
    permissions."""
    PATH = "/api/v2/analytics/agents/status/counts?groupBy=routingStatus&groupBy=presence"

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 12, "--agents", 130, "--quiet", "--speed", 60)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def cursor_all(self, c, path, cursor=True):
        out, nxt = [], path + "?pageSize=7"
        while nxt:
            st, _, js = c.request("GET", nxt)
            self.assertEqual(st, 200)
            self.assertLessEqual(len(js["entities"]), 7)
            self.assertEqual("pageCount" in js, not cursor)
            out += js["entities"]
            nxt = js.get("nextUri")
        return out

    @staticmethod
    def read(js):
        routing = {e["routingStatus"]: e["count"] for e in js["routingStatusCounts"]}
        presence = {}
        for e in js["presenceCounts"]:
            presence[e["systemPresence"]] = presence.get(e["systemPresence"], 0) + e["count"]
        return routing, presence

    def test_counts_equal_the_truth(self):
        c = self.sim.client()
        self.sim.fault(fault="freeze")
        try:
            truth = self.sim.sim("GET", "/sim/truth/agentgroups")[1]
            divs = self.cursor_all(c, "/api/v2/authorization/divisions", cursor=False)
            self.assertEqual({d["id"] for d in divs}, set(truth["divisions"]))
            total = 0
            for d in divs:
                st, _, js = c.request("POST", self.PATH, {"userFilter": {
                    "type": "and", "predicates": [{"dimension": "divisionId",
                                                   "value": d["id"]}]}})
                self.assertEqual(st, 200)
                routing, presence = self.read(js)
                want = truth["divisions"][d["id"]]
                self.assertEqual(routing, want["routing"])
                self.assertEqual(presence, want["presence"])
                self.assertEqual(sum(routing.values()), want["agents"])
                total += want["agents"]
            self.assertEqual(total, 130)   # each agent in one division
            teams = self.cursor_all(c, "/api/v2/teams")
            self.assertEqual(len(teams), simmodel.TEAMS)
            in_teams = 0
            for t in teams:
                members = self.cursor_all(c, "/api/v2/teams/%s/members" % t["id"])
                self.assertEqual(len(members), t["memberCount"])
                st, _, js = c.request("POST", self.PATH, {"userFilter": {
                    "type": "or", "predicates": [{"dimension": "userId", "value": m["id"]}
                                                 for m in members]}})
                self.assertEqual(st, 200)
                routing, presence = self.read(js)
                want = truth["teams"][t["id"]]
                self.assertEqual((routing, presence), (want["routing"], want["presence"]))
                self.assertEqual(sum(presence.values()), len(members))
                in_teams += len(members)
                # the teamId predicate: the same counts in one request
                st, _, js = c.request("POST", self.PATH, {"userFilter": {
                    "type": "and", "predicates": [{"dimension": "teamId",
                                                   "value": t["id"]}]}})
                self.assertEqual(st, 200)
                self.assertEqual(self.read(js), (want["routing"], want["presence"]))
            self.assertEqual(in_teams, 130 - 130 // (simmodel.TEAMS + 1))
            st, _, units = c.request("GET", "/api/v2/workforcemanagement/managementunits")
            self.assertEqual({u["id"] for u in units["entities"]}, set(truth["units"]))
            in_units = 0
            for u in units["entities"]:
                st, _, js = c.request("POST", self.PATH, {"userFilter": {
                    "type": "and", "predicates": [{"dimension": "managementUnitId",
                                                   "value": u["id"]}]}})
                self.assertEqual(st, 200)
                want = truth["units"][u["id"]]
                self.assertEqual(self.read(js), (want["routing"], want["presence"]))
                in_units += want["agents"]
            self.assertEqual(in_units, 130)   # each agent in one unit
            # UNKNOWN is answered (offline agents of every fourth index)
            unknown = sum(d["routing"].get("UNKNOWN", 0) for d in truth["divisions"].values())
            self.assertGreater(unknown, 0)
            after = self.sim.sim("GET", "/sim/truth/agentgroups")[1]
            self.assertEqual(after["requests"] - truth["requests"],
                             len(divs) + 2 * len(teams) + len(units["entities"]))
        finally:
            self.sim.fault(fault="thaw")

    def test_forms_and_refusals(self):
        c = self.sim.client()
        st, _, js = c.request("POST", "/api/v2/analytics/agents/status/counts", {})
        self.assertEqual(st, 200)   # no groupBy: segment counts only
        self.assertEqual(set(js), {"segmentCounts"})
        st, _, js = c.request("POST", self.PATH + "&groupBy=isOutOfOffice", {})
        self.assertEqual(js["isOutOfOfficeCounts"], [{"isOutOfOffice": False, "count": 130}])
        st, _, js = c.request("POST", self.PATH, {"userFilter": {"type": "and", "predicates": [
            {"dimension": "teamId", "value": "x"}]}})
        self.assertEqual(st, 200)   # a team of nobody
        self.assertEqual(js["routingStatusCounts"], [])
        # An API before 257.0.0's dimensions: teamId and managementUnitId
        # refused, divisionId taken.
        self.sim.sim("POST", "/sim/forms", {"agent_predicates": "older"})
        try:
            for dim, want in (("teamId", 400), ("managementUnitId", 400),
                              ("divisionId", 200)):
                st, _, js = c.request("POST", self.PATH, {"userFilter": {
                    "type": "and", "predicates": [{"dimension": dim, "value": "x"}]}})
                self.assertEqual(st, want, dim)
                if want == 400:
                    check_error_body(self, js, 400, "bad.request")
        finally:
            self.sim.sim("POST", "/sim/forms", {"agent_predicates": "current"})
        for bad, body in ((self.PATH + "&groupBy=team", {}),
                          (self.PATH, {"userFilter": {"type": "and", "predicates": [
                              {"dimension": "bestFriendId", "value": "x"}]}}),
                          (self.PATH, {"userFilter": {"type": "or", "predicates": [
                              {"dimension": "userId", "value": str(k)} for k in range(101)]}}),
                          (self.PATH, [])):
            st, _, js = c.request("POST", bad, body)
            self.assertEqual(st, 400, bad)
            check_error_body(self, js, 400, "bad.request")
        st, _, js = c.request("GET", "/api/v2/teams/no-such-team/members")
        self.assertEqual(st, 404)
        for perm, method, path in (("analytics:agentState:view", "POST", self.PATH),
                                   ("groups:team:view", "GET", "/api/v2/teams")):
            self.sim.fault(fault="deny_permission", permission=perm)
            try:
                st, _, js = c.request(method, path, {} if method == "POST" else None)
                self.assertEqual(st, 403)
                self.assertIn(perm, js["message"])
            finally:
                self.sim.fault(fault="allow_permission", permission=perm)


class T02eCampaigns(unittest.TestCase):
    """Outbound campaigns: the listing, stats, progress (one and bulk) equal
    /sim/truth/campaigns under freeze; a campaign dials while ON and turns
    COMPLETE when every contact was called; POST /sim/campaigns; the
    refusals and the permission."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 4, "--agents", 20, "--quiet", "--speed", 60,
                      "--campaigns", 6)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_answers_equal_the_truth(self):
        c = self.sim.client()
        self.sim.fault(fault="freeze")
        try:
            truth = self.sim.sim("GET", "/sim/truth/campaigns")[1]["campaigns"]
            st, _, js = c.request("GET", "/api/v2/outbound/campaigns?pageSize=4&pageNumber=2")
            self.assertEqual((st, js["total"], js["pageCount"], len(js["entities"])), (200, 6, 2, 2))
            st, _, js = c.request("GET", "/api/v2/outbound/campaigns?pageSize=500")
            self.assertEqual(js["pageSize"], 100)
            self.assertEqual({e["id"]: e["campaignStatus"] for e in js["entities"]},
                             {k: v["campaignStatus"] for k, v in truth.items()})
            self.assertEqual(sorted(v["campaignStatus"] for v in truth.values()),
                             ["COMPLETE", "OFF", "ON", "ON", "ON", "ON"])
            for cid, want in truth.items():
                st, _, js = c.request("GET", "/api/v2/outbound/campaigns/%s/stats" % cid)
                self.assertEqual((st, js), (200, want["stats"]))
                st, _, js = c.request("GET", "/api/v2/outbound/campaigns/%s/progress" % cid)
                self.assertEqual((st, js), (200, want["progress"]))
            st, _, js = c.request("POST", "/api/v2/outbound/campaigns/progress",
                                  list(truth) + ["no-such-campaign"])
            self.assertEqual(st, 200)
            self.assertEqual(js, [truth[k]["progress"] for k in truth])
        finally:
            self.sim.fault(fault="thaw")

    def test_aggregates_by_campaign_equal_the_truth(self):
        """The conversation aggregates grouped and filtered by
        outboundCampaignId: a group per campaign with attempts in a closed
        bucket, its non-zero counts, equal to /sim/truth/campaign_aggregates;
        a filter keeps its campaign only."""
        c = self.sim.client()
        time.sleep(2.5)   # 150 simulated seconds of dialling
        self.sim.fault(fault="freeze")
        try:
            truth = self.sim.sim("GET", "/sim/truth/campaign_aggregates?granularity=PT1M"
                                 "&buckets=5")[1]
            ivs = list(truth["buckets"])
            self.assertTrue(ivs, truth)
            interval = ivs[0].split("/")[0] + "/" + ivs[-1].split("/")[1]
            metrics = ["nOutboundAttempted", "nOutboundConnected", "nOutboundAbandoned"]
            body = {"interval": interval, "granularity": "PT1M",
                    "groupBy": ["outboundCampaignId"], "metrics": metrics}
            st, _, js = c.request("POST", "/api/v2/analytics/conversations/aggregates/query",
                                  body)
            self.assertEqual(st, 200, js)
            got = {}
            for r in js["results"]:
                self.assertEqual(r["group"]["mediaType"], "voice")
                for d in r["data"]:
                    m = {e["metric"]: e["stats"]["count"] for e in d["metrics"]}
                    self.assertNotIn(0, m.values())
                    got.setdefault(d["interval"], {})[r["group"]["outboundCampaignId"]] = {
                        "attempted": m.get("nOutboundAttempted", 0),
                        "connected": m.get("nOutboundConnected", 0),
                        "abandoned": m.get("nOutboundAbandoned", 0)}
            self.assertEqual(got, truth["buckets"])
            one = next(iter(truth["buckets"][ivs[-1]]))
            body["filter"] = {"type": "or", "predicates": [
                {"dimension": "outboundCampaignId", "value": one}]}
            st, _, js = c.request("POST", "/api/v2/analytics/conversations/aggregates/query",
                                  body)
            self.assertEqual([r["group"]["outboundCampaignId"] for r in js["results"]], [one])
        finally:
            self.sim.fault(fault="thaw")

    def test_dialling_and_status(self):
        c = self.sim.client()
        t0 = self.sim.sim("GET", "/sim/truth/campaigns")[1]["campaigns"]
        on = [k for k, v in t0.items() if v["campaignStatus"] == "ON"][0]
        time.sleep(1.5)   # 90 simulated seconds
        t1 = self.sim.sim("GET", "/sim/truth/campaigns")[1]["campaigns"]
        self.assertGreater(t1[on]["progress"]["numberOfContactsCalled"],
                           t0[on]["progress"]["numberOfContactsCalled"])
        st, js = self.sim.sim("POST", "/sim/campaigns", {"id": on, "campaignStatus": "OFF"})
        self.assertEqual((st, js["campaignStatus"]), (200, "OFF"))
        truth = self.sim.sim("GET", "/sim/truth/campaigns")[1]
        self.assertEqual(truth["changes"][-1][1:], [on, "on", "off"])
        self.assertEqual(truth["campaigns"][on]["stats"]["idleAgents"], 0)
        st, _ = self.sim.sim("POST", "/sim/campaigns", {"id": on, "campaignStatus": "BAD"})
        self.assertEqual(st, 400)
        for body in ([1], {"id": on}, ["x"] * 101):
            st, _, js = c.request("POST", "/api/v2/outbound/campaigns/progress", body)
            self.assertEqual(st, 400, body)
            check_error_body(self, js, 400, "bad.request")
        st, _, _ = c.request("GET", "/api/v2/outbound/campaigns/no-such/stats")
        self.assertEqual(st, 404)
        self.sim.fault(fault="deny_permission", permission="outbound:campaign:view")
        try:
            st, _, js = c.request("GET", "/api/v2/outbound/campaigns/%s/stats" % on)
            self.assertEqual(st, 403)
            self.assertIn("outbound:campaign:view", js["message"])
        finally:
            self.sim.fault(fault="allow_permission", permission="outbound:campaign:view")


    def test_statuses_and_forms(self):
        """forced_off and forced_stopping (the record's), a word outside the
        record with "unrecorded"; the forms campaign_connect_ratio above_one
        and campaign_progress_counts sparse: every answer equals the truth,
        a forced_stopping campaign dials and turns forced_off."""
        c = self.sim.client()
        ids = list(self.sim.sim("GET", "/sim/truth/campaigns")[1]["campaigns"])
        self.sim.fault(fault="freeze")
        try:
            st, _ = self.sim.sim("POST", "/sim/campaigns", {"id": ids[0],
                                                           "campaignStatus": "PAUSED"})
            self.assertEqual(st, 400)   # not the record's
            for k, status in ((0, "PAUSED"), (4, "FORCED_STOPPING"), (5, "forced_off")):
                st, js = self.sim.sim("POST", "/sim/campaigns", {
                    "id": ids[k], "campaignStatus": status, "unrecorded": k == 0})
                self.assertEqual((st, js["campaignStatus"]), (200, status.upper()))
            self.sim.sim("POST", "/sim/forms", {"campaign_connect_ratio": "above_one",
                                                "campaign_progress_counts": "sparse"})
            truth = self.sim.sim("GET", "/sim/truth/campaigns")[1]["campaigns"]
            st, _, js = c.request("GET", "/api/v2/outbound/campaigns")
            self.assertEqual({e["id"]: e["campaignStatus"] for e in js["entities"]},
                             {k: v["campaignStatus"] for k, v in truth.items()})
            self.assertEqual([truth[i]["campaignStatus"] for i in ids],
                             ["PAUSED", "ON", "OFF", "COMPLETE", "FORCED_STOPPING", "FORCED_OFF"])
            for cid, want in truth.items():
                st, _, js = c.request("GET", "/api/v2/outbound/campaigns/%s/stats" % cid)
                self.assertEqual((st, js), (200, want["stats"]))
            st, _, js = c.request("POST", "/api/v2/outbound/campaigns/progress", ids)
            self.assertEqual(js, [truth[k]["progress"] for k in ids])
            self.assertNotIn("totalNumberOfContacts", js[1])
            self.assertNotIn("percentage", js[2])
            self.assertIn("totalNumberOfContacts", js[2])
            rate = truth[ids[4]]["stats"]["contactRate"]
            self.assertGreater(rate["connectRatio"], 1, rate)
            self.assertEqual(rate["connects"], rate["attempts"] * 5 // 4)
        finally:
            self.sim.sim("POST", "/sim/forms", {"campaign_connect_ratio": "fraction",
                                                "campaign_progress_counts": "all"})
            self.sim.fault(fault="thaw")
        time.sleep(0.5)   # 30 simulated seconds: forced_stopping dials, then stops
        truth = self.sim.sim("GET", "/sim/truth/campaigns")[1]
        self.assertEqual(truth["campaigns"][ids[4]]["campaignStatus"], "FORCED_OFF")
        self.assertIn([ids[4], "forced_stopping", "forced_off"], [x[1:] for x in truth["changes"]])
        for k in (0, 4, 5):
            self.sim.sim("POST", "/sim/campaigns", {"id": ids[k], "campaignStatus": "ON"})

    def test_topics(self):
        """The campaign topics: the progress as it moves and a status set,
        in the SDK topic models' form by default (counts with a fraction,
        status lower case), the routes' with the form campaign_topic rest;
        a malformed body on request; an unknown campaign's topic refused."""
        c = self.sim.client()
        t0 = self.sim.sim("GET", "/sim/truth/campaigns")[1]["campaigns"]
        on = [k for k, v in t0.items() if v["campaignStatus"] == "ON"][-1]
        topic = "v2.outbound.campaigns.%s" % on
        ch = open_channel(c, [topic, topic + ".progress"])
        ws = WsClient(ch["connectUri"])
        m, _ = recv_until(ws, lambda m: isinstance(m, dict)
                          and m.get("topicName") == topic + ".progress")
        body = m["eventBody"]
        self.assertEqual(body["campaign"]["id"], on)
        self.assertIsInstance(body["numberOfContactsCalled"], float)
        self.assertIsInstance(body["percentage"], int)
        self.assertEqual(body["percentage"], int(body["numberOfContactsCalled"]) * 100
                         // int(body["totalNumberOfContacts"]))
        self.sim.sim("POST", "/sim/forms", {"campaign_topic": "rest"})
        try:
            m, _ = recv_until(ws, lambda m: isinstance(m, dict)
                              and m.get("topicName") == topic + ".progress"
                              and isinstance(m["eventBody"]["numberOfContactsCalled"], int))
            self.sim.sim("POST", "/sim/campaigns", {"id": on, "campaignStatus": "OFF"})
            m, _ = recv_until(ws, lambda m: isinstance(m, dict) and m.get("topicName") == topic)
            self.assertEqual((m["eventBody"]["id"], m["eventBody"]["campaignStatus"]),
                             (on, "OFF"))
        finally:
            self.sim.sim("POST", "/sim/forms", {"campaign_topic": "sdk"})
        self.sim.sim("POST", "/sim/campaigns", {"id": on, "campaignStatus": "ON"})
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and m.get("topicName") == topic)
        self.assertEqual(m["eventBody"]["campaignStatus"], "on")
        st, js = self.sim.sim("POST", "/sim/campaigns", {"id": on, "malformed": True})
        self.assertEqual((st, js["malformed_sent"]), (200, 2))
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and m.get("topicName") == topic
                          and m["eventBody"].get("campaignStatus") == 7)
        published = self.sim.sim("GET", "/sim/truth/campaigns")[1]["published"]
        self.assertGreaterEqual(published["progress"], 2)
        self.assertEqual((published["status"], published["malformed"]), (2, 2))
        ws.close()
        st, _, ch = c.request("POST", "/api/v2/notifications/channels")
        st, _, js = c.request("PUT", "/api/v2/notifications/channels/%s/subscriptions"
                              % ch["id"], [{"id": "v2.outbound.campaigns.nope.progress"}])
        self.assertEqual(st, 400)

class T02fResolutions(unittest.TestCase):
    """First-contact resolution (README, Resolution aggregates): answers
    grouped by queueId and mediaType equal the truth of the paused clock on
    wrapUpDate, a day's count 0 in its first 7 days and final after 15, a
    groupBy the model lacks refused, the form resolution_metric_extra and
    the permission."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 3, "--agents", 6, "--quiet", "--speed", 60)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def query(self, start, end, group_by=("queueId", "mediaType")):
        return self.sim.client().request(
            "POST", "/api/v2/analytics/resolutions/aggregates/query",
            {"interval": "%s/%s" % (simmodel.iso(start), simmodel.iso(end)),
             "granularity": "P1D", "groupBy": list(group_by),
             "alternateTimeDimension": "wrapUpDate",
             "metrics": ["nNextContactAvoided"]})

    def test_answers_equal_the_truth(self):
        self.sim.fault(fault="pause")
        try:
            truth = self.sim.sim("GET", "/sim/truth/resolutions?days=20")[1]
            day = 86400000
            end = truth["now"] // day * day
            st, _, js = self.query(end - 20 * day, end)
            self.assertEqual(st, 200, js)
            got = {}
            for r in js["results"]:
                for d in r["data"]:
                    (m,) = d["metrics"]
                    self.assertEqual(m["metric"], "nNextContactAvoided")
                    got[(d["interval"], r["group"]["queueId"], r["group"]["mediaType"])] = \
                        m["stats"]["count"]
            want = {(iv, q, md): n for iv, qs in truth["days"].items()
                    for q, media in qs.items() for md, n in media.items() if n > 0}
            self.assertTrue(want)
            self.assertEqual(got, want)
            for iv, qs in truth["days"].items():
                start_ms = simmodel_ms(iv.split("/")[0])
                for q, media in qs.items():
                    for md, n in media.items():
                        if truth["now"] - start_ms < 7 * day:
                            self.assertEqual(n, 0)
                        if truth["now"] - start_ms >= 16 * day:
                            self.assertEqual(n, truth["final"][iv][q][md])
            st, _, js = self.query(end - day, end, ("userId",))
            self.assertEqual(st, 400)
            self.sim.sim("POST", "/sim/forms", {"resolution_metric_extra": "unknown"})
            st, _, js = self.query(end - 20 * day, end)
            self.assertTrue(all(len(d["metrics"]) == 2 for r in js["results"]
                                for d in r["data"]))
            self.sim.sim("POST", "/sim/forms", {"resolution_metric_extra": "none"})
            self.sim.fault(fault="deny_permission",
                           permission="analytics:resolutionAggregate:view")
            try:
                st, _, js = self.query(end - day, end)
                self.assertEqual(st, 403)
                self.assertIn("analytics:resolutionAggregate:view", js["message"])
            finally:
                self.sim.fault(fault="allow_permission",
                               permission="analytics:resolutionAggregate:view")
        finally:
            self.sim.fault(fault="resume")


class T02Listings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 60, "--queues", 60, "--agents", 700, "--flows", 12,
                      "--seed", 5, "--quiet")
        cls.c = cls.sim.client()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def get(self, path):
        st, h, js = self.c.request("GET", path)
        self.assertEqual(st, 200, js)
        return js

    def test_queue_paging(self):
        js = self.get("/api/v2/routing/queues")
        self.assertEqual(js["pageSize"], 25)
        self.assertEqual(js["pageNumber"], 1)
        self.assertEqual(js["total"], 60)
        self.assertEqual(js["pageCount"], 3)
        self.assertIn("nextUri", js)
        self.assertNotIn("previousUri", js)
        for k in ("firstUri", "selfUri", "lastUri"):
            self.assertIn(k, js)
        names = []
        uri = "/api/v2/routing/queues?pageSize=25&pageNumber=1"
        pages = 0
        while uri:
            js = self.get(uri)
            names += [e["name"] for e in js["entities"]]
            uri = js.get("nextUri")
            pages += 1
        self.assertEqual(pages, 3)
        self.assertEqual(len(names), 60)
        self.assertEqual(len(set(names)), 60)
        self.assertEqual(names, sorted(names, key=str.lower))
        self.assertIn("previousUri", js)
        e = js["entities"][0]
        self.assertTrue(re.match(r"^[0-9a-f-]{36}$", e["id"]))
        self.assertIn("id", e["division"])
        self.assertIn("name", e["division"])

    def test_page_size_cap(self):
        js = self.get("/api/v2/users?pageSize=5000")
        self.assertEqual(js["pageSize"], 500)
        self.assertEqual(len(js["entities"]), 500)
        js = self.get("/api/v2/users?pageSize=500&pageNumber=2")
        self.assertEqual(len(js["entities"]), 200)
        self.assertNotIn("nextUri", js)

    def test_queue_filters(self):
        js = self.get("/api/v2/routing/queues?name=Sales*&pageSize=100")
        self.assertTrue(js["entities"])
        self.assertTrue(all(e["name"].startswith("Sales") for e in js["entities"]))
        js = self.get("/api/v2/routing/queues?name=*EN*&pageSize=100")
        self.assertTrue(js["entities"])
        self.assertTrue(all("en" in e["name"].lower() for e in js["entities"]))
        js = self.get("/api/v2/routing/queues?name=Support%20FR%20001")
        self.assertEqual([e["name"] for e in js["entities"]], ["Support FR 001"])
        one = js["entities"][0]
        div = one["division"]["id"]
        js = self.get("/api/v2/routing/queues?divisionId=%s&pageSize=100" % div)
        self.assertTrue(js["entities"])
        self.assertTrue(all(e["division"]["id"] == div for e in js["entities"]))
        js = self.get("/api/v2/routing/queues?sortOrder=desc&pageSize=100")
        names = [e["name"] for e in js["entities"]]
        self.assertEqual(names, sorted(names, key=str.lower, reverse=True))
        q = self.get("/api/v2/routing/queues/" + one["id"])
        self.assertEqual(q["name"], "Support FR 001")
        st, h, err = self.c.request("GET", "/api/v2/routing/queues/nope")
        self.assertEqual(st, 404)
        check_error_body(self, err, 404)

    def test_members(self):
        q = self.get("/api/v2/routing/queues?pageSize=1")["entities"][0]
        js = self.get("/api/v2/routing/queues/%s/members?pageSize=1000" % q["id"])
        self.assertEqual(js["pageSize"], 100)
        self.assertTrue(js["entities"])
        self.assertIn("joined", js["entities"][0])
        # QueueMember has no presence; expand puts it under user.
        m = js["entities"][0]
        self.assertNotIn("presence", m)
        self.assertNotIn("presence", m["user"])
        self.assertEqual(m["memberBy"], "user")
        js = self.get("/api/v2/routing/queues/%s/members?expand=presence&expand=routingStatus"
                      % q["id"])
        m = js["entities"][0]
        self.assertNotIn("presence", m)
        # display spelling by default (--presence-spelling)
        self.assertIn(m["user"]["presence"]["presenceDefinition"]["systemPresence"],
                      set(simmodel.PRESENCE_DISPLAY.values()))
        self.assertIn(m["routingStatus"]["status"], simmodel.ROUTING)
        self.assertEqual(m["user"]["routingStatus"]["userId"], m["user"]["id"])
        self.assertEqual(self.get("/api/v2/routing/queues/%s/members?memberBy=group"
                                  % q["id"])["total"], 0)
        self.assertEqual(self.c.request("GET", "/api/v2/routing/queues/%s/members?memberBy=x"
                                        % q["id"])[0], 400)

    def members_of(self, qid):
        out, n = [], 1
        while True:
            js = self.get("/api/v2/routing/queues/%s/members?pageSize=100&pageNumber=%d"
                          "&expand=presence,routingStatus" % (qid, n))
            out += js["entities"]
            if n >= js["pageCount"]:
                return out
            n += 1

    def activity(self, qids, metrics, query="?pageSize=100"):
        body = {"metrics": [{"metric": m, "details": True} for m in metrics],
                "groupBy": ["queueId"],
                "filter": {"type": "or", "predicates": [
                    {"type": "dimension", "dimension": "queueId", "operator": "matches",
                     "value": q} for q in qids]}}
        return self.c.request("POST", "/api/v2/analytics/routing/activity/query" + query, body)

    def test_routing_activity_members(self):
        self.sim.fault(fault="pause")      # states must not move between the two reads
        try:
            self.check_routing_activity()
        finally:
            self.sim.fault(fault="resume")

    def check_routing_activity(self):
        qs = [q["id"] for q in self.get("/api/v2/routing/queues?pageSize=100")["entities"]]
        st, h, js = self.activity(qs[:10], ["oMemberUsers", "oUserRoutingStatuses",
                                             "oUserPresences"])
        self.assertEqual(st, 200, js)
        self.assertEqual(js["entityIdDimension"], "userId")
        self.assertEqual([r["group"]["queueId"] for r in js["results"]], qs[:10])
        for r in js["results"]:
            members = {m["user"]["id"]: m for m in self.members_of(r["group"]["queueId"])}
            data = r["data"]
            mu = [d for d in data if d["metric"] == "oMemberUsers"]
            self.assertEqual(len(mu), 1)
            self.assertEqual(mu[0]["count"], len(members))
            self.assertEqual(set(mu[0]["entityIds"]), set(members))
            self.assertFalse(r["truncated"])
            self.assertEqual(len(r["entities"]), len(members))
            for d in data:
                if d["metric"] == "oUserRoutingStatuses":
                    for uid in d["entityIds"]:
                        self.assertEqual(members[uid]["routingStatus"]["status"],
                                         d["qualifier"])
                elif d["metric"] == "oUserPresences":
                    self.assertGreater(d["count"], 0)      # zero qualifiers are left out
                    for uid in d["entityIds"]:   # org presence ids by default
                        self.assertEqual(members[uid]["user"]["presence"]["presenceDefinition"]
                                         ["id"], d["qualifier"])
        # Without details: counts only. Groups page; more than 100 predicates is refused.
        st, h, js = self.activity(qs[:3], ["oMemberUsers"])
        body = js
        st, h, js = self.c.request("POST", "/api/v2/analytics/routing/activity/query?pageSize=2",
                                   {"metrics": [{"metric": "oMemberUsers"}],
                                    "groupBy": ["queueId"],
                                    "filter": {"type": "or", "predicates": [
                                        {"dimension": "queueId", "value": q}
                                        for q in qs[:3]]}})
        self.assertEqual(st, 200)
        self.assertEqual(len(js["results"]), 2)
        self.assertNotIn("entityIds", js["results"][0]["data"][0])
        self.assertNotIn("entities", js["results"][0])
        self.assertEqual(body["results"][0]["data"][0]["count"],
                         js["results"][0]["data"][0]["count"])
        st, h, err = self.activity(qs[:60] + qs[:41], ["oMemberUsers"])
        self.assertEqual(st, 400)
        check_error_body(self, err, 400)
        st, h, err = self.activity(qs[:1], ["oWaiting"])
        self.assertEqual(st, 400)
        st, h, err = self.c.request("POST", "/api/v2/analytics/routing/activity/query",
                                    {"metrics": [{"metric": "oMemberUsers"}]})
        self.assertEqual(st, 400)          # groupBy is required
        st, h, err = self.activity(qs[:1], ["oMemberUsers"], "?pageSize=101")
        self.assertEqual(st, 400)

    def test_users(self):
        js = self.get("/api/v2/users?pageSize=3&expand=routingStatus,presence")
        u = js["entities"][0]
        for k in ("id", "name", "state", "division"):
            self.assertIn(k, u)
        self.assertEqual(u["state"], "active")
        self.assertIn(u["routingStatus"]["status"], simmodel.ROUTING)
        # the display spelling by default (README, Evidence)
        self.assertIn(u["presence"]["presenceDefinition"]["systemPresence"], DISPLAY_TO_ENUM)
        js2 = self.get("/api/v2/users?id=%s" % u["id"])
        self.assertEqual(js2["total"], 1)
        self.assertEqual(self.get("/api/v2/users/" + u["id"])["id"], u["id"])

    def test_flows_outcomes_milestones_wrapups(self):
        js = self.get("/api/v2/flows?pageSize=100")
        self.assertEqual(js["total"], 12)
        types = {f["type"] for f in js["entities"]}
        self.assertIn("INBOUNDCALL", types)
        for f in js["entities"]:
            self.assertTrue(re.match(r"^[A-Za-z0-9_]+$", f["name"]))
            self.assertIn("division", f)
        js = self.get("/api/v2/flows?type=inboundcall&pageSize=100")
        self.assertTrue(all(f["type"] == "INBOUNDCALL" for f in js["entities"]))
        for path in ("/api/v2/flows/outcomes", "/api/v2/flows/milestones",
                     "/api/v2/routing/wrapupcodes", "/api/v2/presence/definitions",
                     "/api/v2/authorization/divisions"):
            js = self.get(path + "?pageSize=100")
            self.assertTrue(js["entities"], path)
            self.assertIn("id", js["entities"][0])
        o = self.get("/api/v2/flows/outcomes?pageSize=1")["entities"][0]
        for k in ("id", "name", "division", "description", "selfUri"):
            self.assertIn(k, o)
        js = self.get("/api/v2/routing/wrapupcodes?name=Sale")
        self.assertEqual([e["name"] for e in js["entities"]], ["Sale"])

    def test_determinism_of_ids(self):
        s2 = Sim("--speed", 60, "--queues", 60, "--agents", 700, "--flows", 12, "--seed", 5,
                 "--quiet")
        try:
            c2 = s2.client()
            self.assertEqual(queue_ids(c2), queue_ids(self.c))
        finally:
            s2.stop()


class T02bPageMax(unittest.TestCase):
    """--page-max caps the page of every listing and of the routing activity
    query, silently, as a server with a smaller maximum."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 40, "--agents", 120, "--edges", 3, "--actions", 4,
                      "--seed", 5, "--quiet", "--page-max", 25)
        cls.c = cls.sim.client()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_every_listing_capped(self):
        for path in ("/api/v2/routing/queues", "/api/v2/users",
                     "/api/v2/users?id=%s" % ",".join("x%d" % i for i in range(3)),
                     "/api/v2/integrations/actions", "/api/v2/flows",
                     "/api/v2/telephony/providers/edges"):
            st, _, js = self.c.request("GET", path + ("&" if "?" in path else "?")
                                       + "pageSize=80")
            self.assertEqual(st, 200, (path, js))
            self.assertLessEqual(js["pageSize"], 25, path)
        js = self.c.request("GET", "/api/v2/users?pageSize=80&pageNumber=5")[2]
        self.assertEqual((js["pageSize"], js["pageCount"], len(js["entities"])), (25, 5, 20))
        qs = [q["id"] for q in self.c.request(
            "GET", "/api/v2/routing/queues?pageSize=100&pageNumber=2")[2]["entities"]]
        self.assertEqual(len(qs), 15)
        qs = [q["id"] for n in (1, 2) for q in self.c.request(
            "GET", "/api/v2/routing/queues?pageSize=100&pageNumber=%d" % n)[2]["entities"]]
        body = {"metrics": [{"metric": "oMemberUsers"}], "groupBy": ["queueId"],
                "filter": {"type": "or", "predicates": [
                    {"dimension": "queueId", "value": q} for q in qs]}}
        got = []
        for n in (1, 2, 3):
            st, _, js = self.c.request(
                "POST", "/api/v2/analytics/routing/activity/query?pageSize=100&pageNumber=%d"
                % n, body)
            self.assertEqual(st, 200, js)
            got.append([r["group"]["queueId"] for r in js["results"]])
        self.assertEqual([len(g) for g in got], [25, 15, 0])
        self.assertEqual(got[0] + got[1], qs)


class T02eAdherence(unittest.TestCase):
    """GET /api/v2/workforcemanagement/managementunits and a unit's
    adherence (the REST model's names), the unit's topic carrying each change
    set by POST /sim/adherence (the topic model's names), the truth, an
    unknown unit and the permission."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 6, "--agents", 40, "--mgmt-units", 4, "--quiet")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_listing_topic_and_truth(self):
        c = self.sim.client()
        st, _, js = c.request("GET", "/api/v2/workforcemanagement/managementunits")
        self.assertEqual(st, 200)
        units = js["entities"]
        self.assertEqual(len(units), 4)
        self.assertNotIn("nextUri", js)   # "paging is not supported"
        truth = self.sim.sim("GET", "/sim/truth/adherence")[1]["units"]
        agents = 0
        for u in units:
            st, _, js = c.request("GET", "/api/v2/workforcemanagement/managementunits/%s/"
                                  "adherence" % u["id"])
            self.assertEqual(st, 200)
            states = {}
            for e in js["entities"]:
                self.assertEqual(e["managementUnit"]["id"], u["id"])
                self.assertIn("timeOfAdherenceChange", e)
                states[e["adherenceState"]] = states.get(e["adherenceState"], 0) + 1
            self.assertEqual(states, {k: v for k, v in truth[u["id"]]["states"].items() if v})
            agents += len(js["entities"])
        self.assertEqual(agents, 40)
        uid = units[0]["id"]
        ch = open_channel(c, ["v2.workforcemanagement.managementunits.%s.adherence" % uid])
        ws = WsClient(ch["connectUri"])
        st, _, js = c.request("GET", "/api/v2/workforcemanagement/managementunits/%s/"
                              "adherence" % uid)
        aid = js["entities"][0]["user"]["id"]
        done = self.sim.sim("POST", "/sim/adherence", {"set": [
            {"user": aid, "state": "OutOfAdherence", "impact": "Positive"}]})[1]
        self.assertEqual(done["changed"], 1)
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and m.get("topicName", "")
                          .endswith(".adherence"))
        body = m["eventBody"]
        self.assertEqual((body["user"]["id"], body["managementUnitId"], body["adherenceState"],
                          body["impact"]), (aid, uid, "OutOfAdherence", "Positive"))
        self.assertIn("adherenceChangeTime", body)
        after = self.sim.sim("GET", "/sim/truth/adherence")[1]
        self.assertEqual(after["published"], 1)
        self.assertGreaterEqual(after["units"][uid]["out_impacts"]["Positive"], 1)
        ws.close()

    def test_refusals(self):
        c = self.sim.client()
        st, _, _ = c.request("GET", "/api/v2/workforcemanagement/managementunits/nope/adherence")
        self.assertEqual(st, 404)
        perm = "wfm:realtimeAdherence:view"
        self.sim.fault(fault="deny_permission", permission=perm)
        try:
            uid = self.sim.sim("GET", "/sim/truth/adherence")[1]["units"]
            st, _, js = c.request("GET", "/api/v2/workforcemanagement/managementunits/%s/"
                                  "adherence" % sorted(uid)[0])
            self.assertEqual(st, 403)
            self.assertIn(perm, js["message"])
            st, _, _ = c.request("GET", "/api/v2/workforcemanagement/managementunits")
            self.assertEqual(st, 200)   # the listing names no permission
            # feature=RealTimeAdherence: the units the client may use it in
            st, _, js = c.request("GET", "/api/v2/workforcemanagement/managementunits"
                                  "?feature=RealTimeAdherence")
            self.assertEqual((st, js["entities"]), (200, []))
        finally:
            self.sim.fault(fault="allow_permission", permission=perm)
        st, _, js = c.request("GET", "/api/v2/workforcemanagement/managementunits"
                              "?feature=RealTimeAdherence&pageSize=1&pageNumber=2")
        self.assertEqual((st, len(js["entities"])), (200, 4))   # paging not supported
        st, _, _ = c.request("GET", "/api/v2/workforcemanagement/managementunits?feature=Nope")
        self.assertEqual(st, 400)

    def test_download_forms(self):
        """A unit's answer as only a downloadUrl: pre-signed (a token sent
        there refused), on the API's origin wanting the token, on another
        origin; forceDownloadService=true asks it in the default form."""
        c = self.sim.client()
        uid = sorted(self.sim.sim("GET", "/sim/truth/adherence")[1]["units"])[0]
        path = "/api/v2/workforcemanagement/managementunits/%s/adherence" % uid
        st, _, direct = c.request("GET", path)
        self.assertEqual(st, 200)
        st, _, js = c.request("GET", path + "?forceDownloadService=true")
        self.assertEqual((st, list(js)), (200, ["downloadUrl"]))
        raw = urllib.parse.urlsplit(js["downloadUrl"])
        target = raw.path + "?" + raw.query
        st, _, doc = c.request("GET", target, auth=False)
        self.assertEqual((st, doc), (200, direct))
        st, _, _ = c.request("GET", target)   # with the token: refused
        self.assertEqual(st, 400)
        try:
            for form, host_same in (("token", True), ("token_elsewhere", False)):
                self.sim.sim("POST", "/sim/forms", {"adherence_answer": "download",
                                                    "adherence_download": form})
                st, _, js = c.request("GET", path)
                url = urllib.parse.urlsplit(js["downloadUrl"])
                self.assertEqual(url.netloc == raw.netloc, host_same, js)
                st, _, _ = c.request("GET", url.path, auth=False)
                self.assertEqual(st, 401)
                st, _, doc = c.request("GET", url.path)
                self.assertEqual((st, doc), (200, direct))
        finally:
            self.sim.sim("POST", "/sim/forms", {"adherence_answer": "entities",
                                                "adherence_download": "presigned"})
        d = self.sim.sim("GET", "/sim/truth/adherence")[1]["downloads"]
        self.assertEqual((d["served"], d["with_token"], d["refused"]),
                         (3, 3, {"400": 1, "401": 2}))


class T03Observations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 30, "--queues", 150, "--agents", 900, "--seed", 11, "--quiet",
                      "--warmup", 1800)
        cls.c = cls.sim.client()
        cls.ids = queue_ids(cls.c)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def q(self, body):
        return self.c.request("POST", "/api/v2/analytics/queues/observations/query", body)

    ALL = ["oWaiting", "oInteracting", "oAlerting", "oLongestWaiting", "oLongestInteracting",
           "oActiveUsers", "oMemberUsers", "oOnQueueUsers", "oOffQueueUsers",
           "oUserRoutingStatuses", "oUserPresences"]

    def test_matches_truth(self):
        """Every answer form decodes to the same truth."""
        self.sim.fault(fault="pause")
        try:
            for forms in ({"longest_form": "epoch", "presence_qualifier": "id",
                           "onqueue_form": "qualified"},
                          {"longest_form": "duration", "presence_qualifier": "system",
                           "onqueue_form": "total"},
                          {"longest_form": "epoch", "presence_qualifier": "system",
                           "onqueue_form": "both"}):
                with self.subTest(**forms):
                    st, js = self.sim.sim("POST", "/sim/forms", forms)
                    self.assertEqual(st, 200, js)
                    self._matches_truth(forms)
        finally:
            self.sim.sim("POST", "/sim/forms", {"longest_form": "epoch",
                                                "presence_qualifier": "id",
                                                "onqueue_form": "qualified"})
            self.sim.fault(fault="resume")

    def _matches_truth(self, forms):
        if True:        # keeps the indentation of the single-form version
            ids = self.ids[:100]
            st, h, js = self.q({"filter": or_filter("queueId", ids), "metrics": self.ALL})
            now_ms = time.time() * 1000
            self.assertEqual(st, 200, js)
            truth = self.sim.truth("?buckets=0")
            mappings = js["systemToOrganizationMappings"]
            self.assertEqual(sum(len(v) for v in mappings.values()),
                             len(simmodel.PRESENCES) + len(simmodel.ORG_PRESENCE_EXTRA))
            self.assertIn("systemToOrganizationMappings", js)
            seen_user, seen_media = set(), set()
            total_wait = 0
            for r in js["results"]:
                g = r["group"]
                tq = truth["queues"][g["queueId"]]
                d = {}
                for m in r["data"]:
                    d.setdefault(m["metric"], {})[m.get("qualifier")] = m["stats"]
                if "mediaType" in g:
                    tm = tq["media"][g["mediaType"]]
                    seen_media.add((g["queueId"], g["mediaType"]))
                    self.assertEqual(d["oWaiting"][None]["count"], tm["waiting"])
                    self.assertEqual(d["oInteracting"][None]["count"], tm["interacting"])
                    self.assertEqual(d["oAlerting"][None]["count"], tm["alerting"])
                    # epoch: decoded on receipt, so up to the request's latency late
                    slack = 1500 if forms["longest_form"] == "epoch" else 0
                    for mt, key in (("oLongestWaiting", "longest_waiting_ms"),
                                    ("oLongestInteracting", "longest_interacting_ms")):
                        v = decode_longest(self, d[mt][None], forms["longest_form"], now_ms)
                        if not tm[key]:
                            self.assertEqual(v, 0)
                        else:
                            self.assertGreaterEqual(v, tm[key] - 1)
                            self.assertLessEqual(v, tm[key] + slack)
                    total_wait += tm["waiting"]
                else:
                    seen_user.add(g["queueId"])
                    self.assertEqual(set(g), {"queueId"})
                    ta = tq["agents"]
                    self.assertEqual(d["oMemberUsers"][None]["count"], ta["members"])
                    self.assertEqual(d["oActiveUsers"][None]["count"], ta["active"])
                    on, ps, rs = decode_user_group(self, d, mappings, forms)
                    self.assertEqual(on, ta["on_queue"])
                    self.assertEqual(d["oOffQueueUsers"][None]["count"], ta["off_queue"])
                    self.assertEqual(rs, ta["routing"])
                    self.assertEqual(ps, ta["presence"])
            self.assertEqual(seen_user, set(ids))
            exp = {(q, m) for q in ids for m in truth["queues"][q]["media"]}
            self.assertEqual(seen_media, exp)
            # org-wide truth: each agent once
            self.assertEqual(sum(truth["agents"]["presence"].values()), 900)

    def test_obs_offset_changes_the_answer_alone(self):
        """obs_offset: the query's count is delta higher, the truth is not;
        delta 0 takes it back."""
        self.sim.fault(fault="pause")
        try:
            qid = self.ids[0]
            body = {"filter": or_filter("queueId", [qid]), "metrics": ["oWaiting"]}

            def waiting():
                st, h, js = self.q(body)
                self.assertEqual(st, 200, js)
                return {r["group"]["mediaType"]: r["data"][0]["stats"]["count"]
                        for r in js["results"] if "mediaType" in r["group"]}
            before = waiting()
            media = sorted(before)[0]
            r = self.sim.fault(fault="obs_offset", queueId=qid, mediaType=media, delta=4)
            self.assertEqual(r["delta"], 4)
            after = waiting()
            self.assertEqual(after, dict(before, **{media: before[media] + 4}))
            truth = self.sim.truth("?buckets=0")["queues"][qid]["media"][media]
            self.assertEqual(truth["waiting"], before[media])
            self.sim.fault(fault="obs_offset", queueId=qid, mediaType=media, delta=0)
            self.assertEqual(waiting(), before)
        finally:
            self.sim.fault(fault="resume")

    def test_freeze_holds_the_model_not_the_clock(self):
        """freeze: the counts stay while the clock runs on; thaw goes on."""
        self.sim.fault(fault="freeze")
        try:
            a = self.sim.truth("?buckets=0")
            time.sleep(1.0)
            b = self.sim.truth("?buckets=0")
            self.assertGreater(b["sim_time_ms"], a["sim_time_ms"] + 20000)  # --speed 30
            for q in a["queues"]:
                for m, tm in a["queues"][q]["media"].items():
                    for k in ("waiting", "interacting", "alerting"):
                        self.assertEqual(tm[k], b["queues"][q]["media"][m][k], (q, m, k))
        finally:
            self.sim.fault(fault="thaw")

    def test_media_filter_and_clauses(self):
        body = {"filter": {"type": "and", "clauses": [
            or_filter("queueId", self.ids[:20]), or_filter("mediaType", ["voice"])]},
            "metrics": ["oWaiting", "oOnQueueUsers"]}
        st, h, js = self.q(body)
        self.assertEqual(st, 200, js)
        medias = {r["group"].get("mediaType") for r in js["results"]}
        self.assertEqual(medias, {None, "voice"})
        self.assertEqual(sum(1 for r in js["results"] if "mediaType" not in r["group"]), 20)

    def test_limit_100(self):
        st, h, js = self.q({"filter": or_filter("queueId", self.ids[:101]),
                            "metrics": ["oWaiting"]})
        self.assertEqual(st, 400)
        check_error_body(self, js, 400, "bad.request")

    def test_bad_metric_and_body(self):
        st, h, js = self.q({"filter": or_filter("queueId", self.ids[:1]), "metrics": ["nOffered"]})
        self.assertEqual(st, 400)
        st, h, js = self.c.request("POST", "/api/v2/analytics/queues/observations/query",
                                   "{not json")
        self.assertEqual(st, 400)
        check_error_body(self, js, 400)
        st, h, js = self.q({"filter": or_filter("userId", ["x"]), "metrics": ["oWaiting"]})
        self.assertEqual(st, 400)

    def test_detail_metrics(self):
        def find():
            t = self.sim.truth("?buckets=0")
            for qid, tq in t["queues"].items():
                for m, tm in tq["media"].items():
                    if tm["waiting"]:
                        return qid
            return None
        qid = wait_for(find, 15)
        if qid is None:
            self.skipTest("no waiting conversation appeared")
        st, h, js = self.q({"filter": or_filter("queueId", [qid]), "metrics": ["oWaiting"],
                            "detailMetrics": ["oWaiting"]})
        obs = [m for r in js["results"] for m in r["data"] if m.get("observations")]
        if obs:
            o = obs[0]["observations"][0]
            self.assertIn("observationDate", o)
            self.assertIn("conversationId", o)


def flow_groups(tc, agg, iv):
    """The flow aggregates over iv (PT5M) grouped by flow, outcome and
    milestone, as flow_buckets has them, and per (flow, milestone) the set
    of outcome ids that rode with it (None: no outcome key). A group with a
    milestone holds nFlowMilestone only, an outcome group the outcome
    metrics only."""
    st, h, js = agg({"interval": iv, "granularity": "PT5M",
                     "groupBy": ["flowId", "flowOutcomeId", "flowMilestoneId"],
                     "metrics": list(simmodel.FLOW_METRICS)},
                    "/api/v2/analytics/flows/aggregates/query")
    tc.assertEqual(st, 200, js)
    got, outcome_of = {}, {}
    for r in js["results"]:
        g = r["group"]
        for d in r["data"]:
            e = got.setdefault(d["interval"].replace(".000", ""), {}).setdefault(
                g["flowId"], {"executions": 0, "outcomes": {}, "milestones": {}})
            e.setdefault("exit", 0)
            ms = {m["metric"]: m["stats"] for m in d["metrics"]}
            if "flowMilestoneId" in g:
                tc.assertEqual(set(ms), {"nFlowMilestone"}, g)
                mid = g["flowMilestoneId"]
                e["milestones"][mid] = e["milestones"].get(mid, 0) + \
                    ms["nFlowMilestone"]["count"]
                outcome_of.setdefault((g["flowId"], mid), set()).add(g.get("flowOutcomeId"))
            elif "flowOutcomeId" in g:
                tc.assertEqual(set(ms) - {"nFlowOutcome", "nFlowOutcomeFailed",
                                          "tFlowOutcome"}, set(), g)
                e["outcomes"][g["flowOutcomeId"]] = (
                    ms["nFlowOutcome"]["count"],
                    ms.get("nFlowOutcomeFailed", {}).get("count", 0),
                    ms["tFlowOutcome"]["sum"])
            else:
                e["executions"] = ms.get("nFlow", {}).get("count", 0)
                e["exit"] = ms.get("tFlowExit", {}).get("sum", 0)
    return got, outcome_of


def flow_truth_buckets(truth):
    """The truth's flow_buckets in flow_groups' form."""
    want = {}
    for b, flows in truth["flow_buckets"].items():
        for fid, f in flows.items():
            want.setdefault(b.replace(".000", ""), {})[fid] = {
                "executions": f["executions"], "exit": f["exit"]["sum_ms"],
                "outcomes": {o: (v["count"], v["failed"], v["duration"]["sum_ms"])
                             for o, v in f["outcomes"].items()},
                "milestones": f["milestones"]}
    return want


class T04Aggregates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 120, "--queues", 10, "--agents", 150, "--flows", 4,
                      "--seed", 21, "--quiet", "--warmup", 7200)
        cls.c = cls.sim.client()
        cls.ids = queue_ids(cls.c)
        cls.sim.fault(fault="pause")
        cls.truth = cls.sim.truth("?granularity=PT5M&buckets=12")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def agg(self, body, path="/api/v2/analytics/conversations/aggregates/query"):
        return self.c.request("POST", path, body)

    def interval(self, n=12, g=300000):
        now = self.truth["sim_time_ms"]
        end = now - now % g
        start = end - n * g
        return simmodel.iso(start, False) + "/" + simmodel.iso(end, False), start, end

    METRICS = ["nOffered", "nTransferred", "nOverSla", "tAnswered", "tAbandon", "tShortAbandon",
               "tTalk", "tHeld", "tAcw", "tHandle", "tWait", "tAlert", "oServiceLevel",
               "nConnected", "tTalkComplete", "tHeldComplete"]

    def queue_buckets(self, iv, metrics, gran="PT5M", group_by=("queueId",)):
        """{(interval, queue, media): {metric: stats}} of the selected queues
        (grouped by media type too, whether asked or not)."""
        st, h, js = self.agg({"interval": iv, "granularity": gran,
                              "groupBy": list(group_by), "metrics": metrics,
                              "filter": {"type": "and", "clauses": [
                                  or_filter("queueId", self.ids)]}})
        self.assertEqual(st, 200, js)
        got = {}
        for r in js["results"]:
            g = r["group"]
            self.assertEqual(set(g), {"queueId", "mediaType"})
            for d in r["data"]:
                self.assertTrue(d["metrics"], "empty metrics must be omitted")
                k = (d["interval"], g["queueId"], g["mediaType"])
                self.assertNotIn(k, got)
                got[k] = {m["metric"]: m["stats"] for m in d["metrics"]}
        return got

    def test_conversation_aggregates_match_truth(self):
        iv, start, end = self.interval()
        got = self.queue_buckets(iv, self.METRICS)
        n = 0
        for biv, qs in self.truth["buckets"].items():
            for qid, ms in qs.items():
                for media, t in ms.items():
                    k = (biv, qid, media)
                    g = got.get(k, {})
                    self.assertEqual(g.get("nOffered", {}).get("count", 0), t["offered"], k)
                    self.assertEqual(g.get("tAnswered", {}).get("count", 0), t["answered"], k)
                    self.assertEqual(g.get("tAbandon", {}).get("count", 0), t["abandoned"], k)
                    self.assertEqual(g.get("nTransferred", {}).get("count", 0),
                                     t["transferred"], k)
                    self.assertEqual(g.get("tHandle", {}).get("sum", 0), t["handle"]["sum_ms"], k)
                    self.assertEqual(g.get("tHandle", {}).get("count", 0),
                                     t["handle"]["count"], k)
                    self.assertEqual(g.get("tTalk", {}).get("sum", 0), t["talk"]["sum_ms"], k)
                    self.assertEqual(g.get("tAcw", {}).get("sum", 0), t["acw"]["sum_ms"], k)
                    self.assertEqual(g.get("nOverSla", {}).get("count", 0), t["over_sla"], k)
                    n += t["offered"]
                    if "oServiceLevel" in g:
                        sl = g["oServiceLevel"]
                        self.assertEqual(set(sl), {"ratio", "numerator", "denominator", "target"})
                        self.assertEqual(sl["numerator"], t["service_level"]["numerator"])
                        self.assertAlmostEqual(sl["ratio"], sl["numerator"] / sl["denominator"],
                                               places=3)
                    if "tHandle" in g:
                        s = g["tHandle"]
                        self.assertEqual(set(s), {"max", "min", "count", "sum"})
                        self.assertLessEqual(s["min"], s["max"])
        self.assertGreater(n, 20, "the model should have offered conversations")
        # every (bucket, queue, media) with a modelled metric is answered
        self.assertEqual(len(got), sum(1 for qs in self.truth["buckets"].values()
                                       for ms in qs.values() for t in ms.values()
                                       if set(t["metrics"]) & set(self.METRICS)))

    def all_metrics(self, iv, gran="PT5M"):
        """{(interval, queue, media): {metric: stats}} of every catalogue metric."""
        return self.queue_buckets(iv, simmodel.CATALOGUE_METRICS, gran,
                                  ("queueId", "mediaType"))

    def test_every_catalogue_metric_as_the_truth_says(self):
        iv, start, end = self.interval()
        got = self.all_metrics(iv)
        want = {(biv, q, m): t["metrics"] for biv, qs in self.truth["buckets"].items()
                for q, ms in qs.items() for m, t in ms.items() if t["metrics"]}
        self.assertEqual(set(got), set(want))  # both ways
        seen = set()
        for k, ms in got.items():
            self.assertEqual(ms, want[k], k)
            for name, s in ms.items():
                seen.add(name)
                if name in simmodel.RATIO_METRICS:
                    self.assertLessEqual(s["numerator"], s["denominator"], (k, name))
                    self.assertGreater(s["denominator"], 0, (k, name))
                elif name in simmodel.TARGET_METRICS:
                    self.assertEqual(s, {"target": simmodel.SL_TARGET}, (k, name))
                elif name[0] == "t":
                    self.assertEqual(set(s), {"count", "sum", "min", "max"}, (k, name))
                    self.assertGreater(s["count"], 0, (k, name))
                    self.assertLessEqual(s["min"], s["max"], (k, name))
                    self.assertLessEqual(s["count"] * s["min"], s["sum"], (k, name))
                    self.assertLessEqual(s["sum"], s["count"] * s["max"], (k, name))
                else:
                    self.assertEqual(set(s), {"count"}, (k, name))
                    self.assertGreater(s["count"], 0, (k, name))  # zero is left out
        # every metric answered somewhere but those of no queue, and each
        # left out somewhere (the API omits what did not happen)
        self.assertEqual(seen, set(simmodel.CATALOGUE_METRICS) - set(simmodel.ORG_METRICS))
        for name in set(simmodel.SYNTH_METRICS) - set(simmodel.ORG_METRICS):
            self.assertTrue(any(name not in ms for ms in got.values()), name)
        # the modelled metrics are the model's: nOffered is the truth's offered
        for (biv, q, m), ms in got.items():
            self.assertEqual(ms.get("nOffered", {}).get("count", 0),
                             self.truth["buckets"][biv][q][m]["offered"])

    def test_metrics_of_no_queue_in_groups_without_a_queue(self):
        """nConversations and the like (ORG_METRICS) are attributed to no
        queue: under a queueId filter they are absent, without one they come
        in groups of the media type alone, equal to the truth's org_buckets;
        the form unattributed=queue puts them under each queue instead."""
        iv, start, end = self.interval()
        org = list(simmodel.ORG_METRICS)
        self.assertEqual(self.queue_buckets(iv, org, group_by=("queueId", "mediaType")), {})
        st, h, js = self.agg({"interval": iv, "granularity": "PT5M",
                              "groupBy": ["queueId", "mediaType"], "metrics": org})
        self.assertEqual(st, 200, js)
        got = {}
        for r in js["results"]:
            self.assertEqual(set(r["group"]), {"mediaType"}, r["group"])
            for d in r["data"]:
                got[(d["interval"], r["group"]["mediaType"])] = {
                    m["metric"]: m["stats"] for m in d["metrics"]}
        want = {(biv, m): t["metrics"] for biv, ms in self.truth["org_buckets"].items()
                for m, t in ms.items() if t["metrics"]}
        self.assertTrue(want)
        self.assertEqual(got, want)  # both ways
        self.sim.sim("POST", "/sim/forms", {"unattributed": "queue"})
        try:
            per_queue = self.queue_buckets(iv, org, group_by=("queueId", "mediaType"))
        finally:
            self.sim.sim("POST", "/sim/forms", {"unattributed": "org"})
        self.assertEqual({n for ms in per_queue.values() for n in ms}, set(org))
        # the same events, per queue: they add up to the org's
        sums = {}
        for (biv, q, m), ms in per_queue.items():
            for n, st_ in ms.items():
                sums[(biv, m, n)] = sums.get((biv, m, n), 0) + st_["count"]
        self.assertEqual(sums, {(biv, m, n): st_["count"] for (biv, m), ms in want.items()
                                for n, st_ in ms.items()})

    def test_catalogue_metrics_add_up_over_granularities(self):
        """The synthesised metrics are per minute: a PT10M bucket is two PT5M
        ones, and asking one bucket alone answers the same."""
        iv, start, end = self.interval(4)
        fine = self.all_metrics(iv)
        coarse = self.all_metrics(iv, "PT10M")
        one_iv = simmodel.iso(start, False) + "/" + simmodel.iso(start + 300000, False)
        alone = self.all_metrics(one_iv)
        for k, ms in alone.items():
            self.assertEqual(ms, fine[k], k)
        for (biv, q, m), ms in coarse.items():
            a = simmodel_ms(biv.split("/")[0])
            halves = [fine.get((simmodel.iso(a + i * 300000) + "/" +
                                simmodel.iso(a + (i + 1) * 300000), q, m), {})
                      for i in range(2)]
            for name in simmodel.SYNTH_METRICS:
                parts = [h[name] for h in halves if name in h]
                if not parts:
                    self.assertNotIn(name, ms)
                    continue
                if name in simmodel.TARGET_METRICS:
                    self.assertEqual(ms[name], parts[0])
                    continue
                if name in simmodel.RATIO_METRICS:
                    self.assertEqual(ms[name]["numerator"],
                                     sum(x["numerator"] for x in parts))
                    self.assertEqual(ms[name]["denominator"],
                                     sum(x["denominator"] for x in parts))
                    continue
                self.assertEqual(ms[name]["count"], sum(x["count"] for x in parts),
                                 (biv, q, m, name))
                if name[0] == "t":
                    self.assertEqual(ms[name]["sum"], sum(x["sum"] for x in parts))
                    self.assertEqual(ms[name]["max"], max(x["max"] for x in parts))
                    self.assertEqual(ms[name]["min"], min(x["min"] for x in parts))

    def test_interval_and_granularity(self):
        iv, start, end = self.interval(12)
        st, h, js = self.agg({"interval": iv, "granularity": "PT30M", "metrics": ["nOffered"]})
        self.assertEqual(st, 200, js)
        starts = {simmodel.iso(start + i * 1800000) for i in range(2)}
        for r in js["results"]:
            self.assertLessEqual(len(r["data"]), 2)
            for d in r["data"]:
                a, b = d["interval"].split("/")
                self.assertIn(a, starts)
                self.assertEqual(simmodel.iso(simmodel_ms(a) + 1800000), b)
        # whole interval (no granularity) sums the 12 buckets
        st, h, js1 = self.agg({"interval": iv, "metrics": ["nOffered"],
                               "groupBy": ["queueId"]})
        total1 = sum(d["metrics"][0]["stats"]["count"] for r in js1["results"]
                     for d in r["data"])
        total_t = sum(t["offered"] for qs in self.truth["buckets"].values()
                      for ms in qs.values() for t in ms.values())
        self.assertEqual(total1, total_t)
        self.assertTrue(all(len(r["data"]) == 1 for r in js1["results"]))
        # future interval: nothing
        fut = simmodel.iso(end + 86400000, False) + "/" + simmodel.iso(end + 90000000, False)
        st, h, js = self.agg({"interval": fut, "granularity": "PT5M", "metrics": ["nOffered"]})
        self.assertEqual((st, js["results"]), (200, []))
        # duration form of the interval
        st, h, js2 = self.agg({"interval": "PT1H/" + iv.split("/")[1], "metrics": ["nOffered"],
                               "groupBy": ["queueId"]})
        self.assertEqual(st, 200)
        self.assertEqual(js2["results"], js1["results"])

    def test_bad_requests(self):
        iv, _, _ = self.interval()
        for body in ({"metrics": ["nOffered"]},
                     {"interval": iv},
                     {"interval": "garbage", "metrics": ["nOffered"]},
                     {"interval": iv, "metrics": ["nOffered"], "granularity": "PT30S"},
                     {"interval": iv, "metrics": ["nOffered"], "granularity": "bogus"},
                     {"interval": iv, "metrics": ["nOffered"], "groupBy": ["ani"]},
                     {"interval": iv, "metrics": ["nOffered"],
                      "filter": {"type": "xor", "predicates": []}}):
            st, h, js = self.agg(body)
            self.assertEqual(st, 400, body)
            check_error_body(self, js, 400)

    def test_group_by_wrapup_and_direction(self):
        iv, _, _ = self.interval()
        st, h, js = self.agg({"interval": iv, "groupBy": ["queueId", "wrapUpCode", "direction"],
                              "metrics": ["tHandle", "nOffered"],
                              "filter": or_filter("mediaType", ["voice"])})
        self.assertEqual(st, 200)
        wr = [r for r in js["results"] if "wrapUpCode" in r["group"]]
        self.assertTrue(wr)
        for r in wr:
            self.assertEqual(r["group"]["direction"], "inbound")
            self.assertEqual(r["group"]["mediaType"], "voice")
            self.assertEqual({m["metric"] for d in r["data"] for m in d["metrics"]}, {"tHandle"})

    def test_late_data(self):
        iv, start, end = self.interval(3)
        qid = self.ids[0]
        body = {"interval": iv, "granularity": "PT5M", "groupBy": ["queueId"],
                "metrics": ["tHandle"], "filter": {"type": "and", "predicates": [
                    {"dimension": "queueId", "value": qid},
                    {"dimension": "mediaType", "value": "voice"}]}}

        def count():
            st, h, js = self.agg(body)
            return {d["interval"]: d["metrics"][0]["stats"]["count"]
                    for r in js["results"] for d in r["data"]}
        before = count()
        r = self.sim.fault(fault="late_data", queueId=qid, mediaType="voice",
                           granularity="PT5M", buckets_ago=1, value_ms=99000)
        after = count()
        late_iv = [k for k in after if after[k] != before.get(k, 0)]
        self.assertEqual(len(late_iv), 1)
        self.assertEqual(after[late_iv[0]], before.get(late_iv[0], 0) + 1)
        self.assertTrue(late_iv[0].endswith(simmodel.iso(end)))
        t = self.sim.truth("?granularity=PT5M&buckets=3")
        self.assertEqual(t["late_data"][-1]["tHandle_ms"], 99000)
        self.assertEqual(t["buckets"][late_iv[0]][qid]["voice"]["handle"]["count"],
                         after[late_iv[0]])

    def test_user_aggregates(self):
        c = self.c
        users = c.request("GET", "/api/v2/users?pageSize=20")[2]["entities"]
        iv, start, end = self.interval(2)
        st, h, js = self.agg({"interval": iv, "granularity": "PT5M", "groupBy": ["userId"],
                              "metrics": ["tAgentRoutingStatus", "tSystemPresence",
                                          "tOrganizationPresence"],
                              "filter": or_filter("userId", [u["id"] for u in users])},
                             "/api/v2/analytics/users/aggregates/query")
        self.assertEqual(st, 200, js)
        self.assertEqual(len(js["results"]), 20)
        for r in js["results"]:
            self.assertEqual(len(r["data"]), 2)
            for d in r["data"]:
                rs = sum(m["stats"]["sum"] for m in d["metrics"]
                         if m["metric"] == "tAgentRoutingStatus")
                ps = sum(m["stats"]["sum"] for m in d["metrics"]
                         if m["metric"] == "tSystemPresence")
                self.assertEqual(rs, 300000)
                self.assertEqual(ps, 300000)
                by_id = {i: sp for sp, ids in js["systemToOrganizationMappings"].items()
                         for i in ids}
                sysp, orgp = {}, {}
                for m in d["metrics"]:
                    if m["metric"] == "tAgentRoutingStatus":
                        self.assertIn(m["qualifier"], simmodel.ROUTING)
                    elif m["metric"] == "tSystemPresence":
                        sysp[m["qualifier"]] = m["stats"]["sum"]
                    else:
                        sp = by_id[m["qualifier"]]
                        orgp[sp] = orgp.get(sp, 0) + m["stats"]["sum"]
                self.assertEqual(orgp, sysp)
        ids = [u["id"] for u in c.request("GET", "/api/v2/users?pageSize=101")[2]["entities"]]
        st, h, js = self.agg({"interval": iv, "metrics": ["tAgentRoutingStatus"],
                              "filter": or_filter("userId", ids)},
                             "/api/v2/analytics/users/aggregates/query")
        self.assertEqual(st, 400)
        check_error_body(self, js, 400)

    def user_sums(self, ids, truth_buckets, gran):
        """The users aggregates of ids over the buckets of truth_buckets,
        summed per bucket, kind and status as the truth gives them."""
        first = min(truth_buckets).split("/")[0]
        last = max(truth_buckets).split("/")[1]
        got = {}
        for i in range(0, len(ids), 100):
            st, h, js = self.agg({"interval": first + "/" + last, "granularity": gran,
                                  "metrics": ["tAgentRoutingStatus", "tSystemPresence"],
                                  "filter": or_filter("userId", ids[i:i + 100])},
                                 "/api/v2/analytics/users/aggregates/query")
            self.assertEqual(st, 200, js)
            for r in js["results"]:
                for d in r["data"]:
                    b = got.setdefault(d["interval"], {"routing": {}, "presence": {}})
                    for m in d["metrics"]:
                        kind = "routing" if m["metric"] == "tAgentRoutingStatus" \
                            else "presence"
                        b[kind][m["qualifier"]] = b[kind].get(m["qualifier"], 0) + \
                            m["stats"]["sum"]
        return got

    def test_user_aggregates_sum_to_user_truth(self):
        """The users aggregates over every agent, summed per status and bucket,
        equal the truth's user_buckets (the class keeps the model paused)."""
        c = self.c
        ids = [u["id"] for u in c.request("GET", "/api/v2/users?pageSize=500")[2]["entities"]]
        t = self.sim.truth("?granularity=PT5M&buckets=3&users=1")
        self.assertEqual(len(t["user_buckets"]), 3)
        got = self.user_sums(ids, t["user_buckets"], "PT5M")
        self.assertEqual(got, t["user_buckets"])
        for b in got.values():
            self.assertEqual(sum(b["routing"].values()), len(ids) * 300000)

    def test_deactivated_users_listed_with_state_any_and_their_time_kept(self):
        """Users deactivated during the run (README, Evidence: deactivated
        users) are listed only with state=any or inactive, and their time
        before that stays in the users aggregates and the truth; users
        deleted before the model's start only with state=any or deleted."""
        c = self.c
        t = self.sim.truth("?granularity=PT1M&buckets=125&users=1")
        gone = set(t["deactivated"])
        self.assertTrue(gone)

        def listed(q=""):
            return c.request("GET", "/api/v2/users?pageSize=500" + q)[2]["entities"]
        active = {u["id"] for u in listed()}
        inactive = listed("&state=inactive")
        self.assertFalse(active & gone)
        self.assertEqual({u["id"] for u in inactive}, gone)
        self.assertTrue(all(u["state"] == "inactive" for u in inactive))
        deleted = listed("&state=deleted")
        self.assertTrue(deleted)
        self.assertTrue(all(u["state"] == "deleted" for u in deleted))
        deleted = {u["id"] for u in deleted}
        ids = [u["id"] for u in listed("&state=any")]
        self.assertEqual(set(ids), active | gone | deleted)
        # the deleted ones have no time: asking for them counts, adds nothing
        before = self.sim.stats().get("users_query_deleted", 0)
        got = self.user_sums(ids, t["user_buckets"], "PT1M")
        self.assertGreater(self.sim.stats().get("users_query_deleted", 0), before)
        self.assertEqual(got, t["user_buckets"])
        # a whole minute before the deactivation holds the former users' time
        self.assertTrue(any(sum(b["routing"].values()) == len(active | gone) * 60000
                            for b in got.values()))
        self.assertTrue(any(sum(b["routing"].values()) == len(active) * 60000
                            for b in got.values()))

    def test_user_observations(self):
        users = self.c.request("GET", "/api/v2/users?pageSize=5")[2]["entities"]
        st, h, js = self.agg({"filter": or_filter("userId", [u["id"] for u in users]),
                              "metrics": ["oActiveQueues", "oMemberQueues"]},
                             "/api/v2/analytics/users/observations/query")
        self.assertEqual(st, 200)
        self.assertEqual(len(js["results"]), 5)
        for r in js["results"]:
            d = {m["metric"]: m["stats"]["count"] for m in r["data"]}
            self.assertGreaterEqual(d["oMemberQueues"], d["oActiveQueues"])
            self.assertGreaterEqual(d["oActiveQueues"], 1)

    def test_flow_aggregates_and_observations(self):
        t = self.truth
        flows = self.c.request("GET", "/api/v2/flows?pageSize=100")[2]["entities"]
        ids = [f["id"] for f in flows]
        now = t["sim_time_ms"]
        iv = simmodel.iso(now - 86400000, False) + "/" + simmodel.iso(now + 60000, False)
        st, h, js = self.agg({"interval": iv, "groupBy": ["flowId"],
                              "metrics": ["nFlow", "tFlow", "tFlowDisconnect", "tFlowExit"],
                              "filter": or_filter("flowId", ids)},
                             "/api/v2/analytics/flows/aggregates/query")
        self.assertEqual(st, 200, js)
        got = {r["group"]["flowId"]: {m["metric"]: m["stats"] for d in r["data"]
                                      for m in d["metrics"]} for r in js["results"]}
        tf = self.sim.truth("?buckets=0")["flows"]
        nexec = 0
        for fid, ft in tf.items():
            g = got.get(fid, {})
            self.assertEqual(g.get("nFlow", {}).get("count", 0), ft["executions"], fid)
            self.assertEqual(g.get("tFlowDisconnect", {}).get("count", 0), ft["disconnects"])
            self.assertEqual(g.get("tFlowExit", {}).get("count", 0), ft["exits"])
            nexec += ft["executions"]
        self.assertGreater(nexec, 0)
        st, h, js = self.agg({"interval": iv, "groupBy": ["flowId", "flowOutcomeId"],
                              "metrics": ["nFlowOutcome", "nFlowOutcomeFailed", "tFlowOutcome"]},
                             "/api/v2/analytics/flows/aggregates/query")
        self.assertEqual(st, 200)
        for r in js["results"]:
            g = r["group"]
            if "flowOutcomeId" not in g:
                continue
            ms = {m["metric"]: m["stats"]["count"] for d in r["data"] for m in d["metrics"]}
            ot = tf[g["flowId"]]["outcomes"][g["flowOutcomeId"]]
            self.assertEqual(ms.get("nFlowOutcome", 0), ot["success"] + ot["failure"])
            self.assertEqual(ms.get("nFlowOutcomeFailed", 0), ot["failure"])
        st, h, js = self.agg({"interval": iv, "groupBy": ["flowId", "flowMilestoneId"],
                              "metrics": ["nFlowMilestone"]},
                             "/api/v2/analytics/flows/aggregates/query")
        n = 0
        for r in js["results"]:
            g = r["group"]
            if "flowMilestoneId" in g:
                c = sum(m["stats"]["count"] for d in r["data"] for m in d["metrics"])
                self.assertEqual(c, tf[g["flowId"]]["milestones"][g["flowMilestoneId"]])
                n += 1
        self.assertGreater(n, 0)
        st, h, js = self.agg({"filter": or_filter("flowId", ids), "metrics": ["oFlow"]},
                             "/api/v2/analytics/flows/observations/query")
        self.assertEqual(st, 200)
        for r in js["results"]:
            self.assertEqual(r["data"][0]["stats"]["count"], tf[r["group"]["flowId"]]["active"])

    def test_flow_buckets_truth(self):
        """The truth's flow_buckets equal the flow aggregates query grouped
        by flow, outcome and milestone, bucket by bucket, and add up to no
        more than the cumulative flow counts. Milestones come in groups that
        also carry their flow's outcome (--milestone-grouping with-outcome,
        the default): one outcome per milestone, always the same."""
        iv, start, end = self.interval()
        got, outcome_of = flow_groups(self, self.agg, iv)
        want = flow_truth_buckets(self.truth)
        self.assertEqual(got, want)
        self.assertEqual(len(want), 12)
        flows = self.truth["flows"]
        self.assertTrue(outcome_of, "no milestone group")
        for (fid, mid), oids in outcome_of.items():
            self.assertEqual(len(oids), 1, (fid, mid, oids))
            self.assertIsNotNone(next(iter(oids)), "a milestone group without its outcome")
            self.assertIn(next(iter(oids)), flows[fid]["outcomes"])
        total = {}
        for flows in want.values():
            for fid, f in flows.items():
                total[fid] = total.get(fid, 0) + f["executions"]
        self.assertGreater(sum(total.values()), 0)
        for fid, n in total.items():
            self.assertLessEqual(n, self.truth["flows"][fid]["executions"])

    def test_metric_attributes_truth(self):
        t = self.sim.truth("?buckets=0")
        self.assertTrue(t["metric_attributes"])
        flows = {f["name"] for f in t["flows"].values()}
        for fn, ms in t["metric_attributes"].items():
            self.assertIn(fn, flows)
            for mn, n in ms.items():
                self.assertIn(mn, simmodel.METRIC_NAMES)
                self.assertGreater(n, 0)
                self.assertLessEqual(t["metric_attributes_on_queue_topics"].get(fn, {})
                                     .get(mn, 0), n)


class T04bMilestonesAlone(unittest.TestCase):
    """--milestone-grouping alone: milestone groups carry no outcome; the
    truth is the same as with the default."""
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 120, "--queues", 3, "--agents", 30, "--flows", 2,
                      "--seed", 21, "--quiet", "--warmup", 3600,
                      "--milestone-grouping", "alone")
        cls.c = cls.sim.client()
        cls.sim.fault(fault="pause")
        cls.truth = cls.sim.truth("?granularity=PT5M&buckets=6")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_flow_buckets_truth(self):
        now = self.truth["sim_time_ms"]
        iv = last_buckets(now, 6)
        agg = lambda body, path: self.c.request("POST", path, body)  # noqa: E731
        got, outcome_of = flow_groups(self, agg, iv)
        self.assertEqual(got, flow_truth_buckets(self.truth))
        self.assertTrue(outcome_of, "no milestone group")
        self.assertEqual(set().union(*outcome_of.values()), {None})


def action_groups(tc, c, iv, by_name=False, filt=None, full=True):
    """The actions aggregates query over iv, grouped by action, error type
    and response status, read back into the truth's form (per bucket and
    action): a failure has an errorType or a status outside 2xx."""
    body = {"interval": iv, "granularity": "PT5M",
            "groupBy": ["actionId", "errorType", "responseStatus"],
            "metrics": ["tTotalExecution"]}
    if filt:
        body["filter"] = filt
    st, _, js = c.request("POST", "/api/v2/analytics/actions/aggregates/query", body)
    tc.assertEqual(st, 200, js)
    names = {}
    if by_name:
        ents = c.request("GET", "/api/v2/integrations/actions?pageSize=100")[2]["entities"]
        names = {a["name"]: a["id"] for a in ents}
    out = {}
    for r in js["results"]:
        g = r["group"]
        aid = g["actionId"] if not by_name else names[g["actionName"]]
        tc.assertEqual("actionId" in g, not by_name)
        for d in r["data"]:
            tc.assertEqual([m["metric"] for m in d["metrics"]], ["tTotalExecution"])
            s_ = d["metrics"][0]["stats"]
            tc.assertEqual(set(s_), {"count", "sum", "min", "max"} if full else {"count"})
            e = out.setdefault(d["interval"], {}).setdefault(
                aid, {"executions": 0, "errors": 0, "sum_ms": 0, "min_ms": None, "max_ms": None})
            e["executions"] += s_["count"]
            e["errors"] += s_["count"] if ("errorType" in g
                                           or simactions.failed(g["responseStatus"])) else 0
            if full:
                e["sum_ms"] += s_["sum"]
                e["min_ms"] = s_["min"] if e["min_ms"] is None else min(e["min_ms"], s_["min"])
                e["max_ms"] = s_["max"] if e["max_ms"] is None else max(e["max_ms"], s_["max"])
    return dict(sorted(out.items()))


class T04cDataActions(PausedTruth):
    """GET /api/v2/integrations/actions (paged), the actions aggregates
    query (groupBy, filter and its limit, metrics, both answer forms), and
    /sim/truth/actions equal to it per bucket."""
    SIM = ("--queues", 2, "--agents", 10, "--flows", 1, "--actions", 7, "--seed", 23)
    TRUTH = "/sim/truth/actions"

    def test_listing_paged(self):
        st, _, js = self.c.request("GET", "/api/v2/integrations/actions?pageSize=3")
        self.assertEqual(st, 200)
        self.assertEqual((js["total"], js["pageCount"], len(js["entities"])), (7, 3, 3))
        self.assertIn("nextUri", js)
        seen = [a["id"] for a in js["entities"]]
        while "nextUri" in js:
            st, _, js = self.c.request("GET", js["nextUri"])
            seen += [a["id"] for a in js["entities"]]
        self.assertEqual(sorted(seen), sorted(self.truth["actions"]))
        a = js["entities"][0]
        for k in ("id", "name", "category", "integrationId", "version", "secure", "selfUri"):
            self.assertIn(k, a)

    def test_truth_equals_query(self):
        got = action_groups(self, self.c, self.iv)
        self.assertEqual(got, self.truth["buckets"])
        self.assertGreater(sum(e["errors"] for b in got.values() for e in b.values()), 0)

    def test_filter_and_limit(self):
        ids = sorted(self.truth["actions"])[:2]
        got = action_groups(self, self.c, self.iv, filt=or_filter("actionId", ids))
        want = {b: {a: v for a, v in e.items() if a in ids}
                for b, e in self.truth["buckets"].items()}
        self.assertEqual(got, {b: e for b, e in want.items() if e})
        body = {"interval": self.iv, "groupBy": ["actionId"], "metrics": ["tTotalExecution"],
                "filter": or_filter("actionId", ["x%d" % i for i in range(101)])}
        st, _, js = self.c.request("POST", "/api/v2/analytics/actions/aggregates/query", body)
        self.assertEqual(st, 400, js)
        body.update(filter=None, metrics=["nError"])
        st, _, js = self.c.request("POST", "/api/v2/analytics/actions/aggregates/query", body)
        self.assertEqual(st, 400, js)
        body.update(metrics=["tTotalExecution"], groupBy=["flowId"])
        st, _, js = self.c.request("POST", "/api/v2/analytics/actions/aggregates/query", body)
        self.assertEqual(st, 400, js)

    def test_status_only_failures(self):
        """By default some failures carry only a non-2xx responseStatus;
        form action_errors "type" names every failure by an errorType, the
        same truth."""
        body = {"interval": self.iv, "granularity": "PT5M",
                "groupBy": ["actionId", "errorType", "responseStatus"],
                "metrics": ["tTotalExecution"]}
        url = "/api/v2/analytics/actions/aggregates/query"

        def kinds():
            st, _, js = self.c.request("POST", url, body)
            self.assertEqual(st, 200, js)
            out = {}
            for r in js["results"]:
                g = r["group"]
                k = ("type" if "errorType" in g else
                     "status" if simactions.failed(g["responseStatus"]) else "ok")
                out[k] = out.get(k, 0) + sum(d["metrics"][0]["stats"]["count"]
                                             for d in r["data"])
            return out
        default = kinds()
        self.assertGreater(default.get("status", 0), 0, default)
        self.assertGreater(default.get("type", 0), 0, default)
        try:
            self.assertEqual(self.sim.sim("POST", "/sim/forms", {"action_errors": "type"})[0],
                             200)
            typed = kinds()
            self.assertEqual(typed.get("status", 0), 0, typed)
            self.assertEqual(typed["type"], default["type"] + default["status"])
            self.assertEqual(action_groups(self, self.c, self.iv), self.truth["buckets"])
        finally:
            self.sim.sim("POST", "/sim/forms", {"action_errors": "status"})

    def test_permissions_any(self):
        """Either integrations:action:view or bridge:actions:view will do
        (the SDK's "Requires ANY permissions")."""
        url = "/api/v2/integrations/actions"
        try:
            self.sim.fault(fault="deny_permission", permission="integrations:action:view")
            self.assertEqual(self.c.request("GET", url)[0], 200)
            self.sim.fault(fault="deny_permission", permission="bridge:actions:view")
            st, _, js = self.c.request("GET", url)
            check_error_body(self, js, 403, "missing.any.permissions")
            self.assertIn("bridge:actions:view", js["message"])
        finally:
            for p in ("integrations:action:view", "bridge:actions:view"):
                self.sim.fault(fault="allow_permission", permission=p)

    def test_forms(self):
        try:
            self.assertEqual(self.sim.sim("POST", "/sim/forms", {"action_stats": "count",
                                                                 "action_group": "name"})[0], 200)
            got = action_groups(self, self.c, self.iv, by_name=True, full=False)
            want = {b: {a: dict(v, sum_ms=0, min_ms=None, max_ms=None) for a, v in e.items()}
                    for b, e in self.truth["buckets"].items()}
            self.assertEqual(got, want)
        finally:
            self.sim.sim("POST", "/sim/forms", {"action_stats": "full", "action_group": "id"})

class T04cRateLimits(PausedTruth):
    """The rate-limit aggregates query (groupBy limitName, the count of
    oRateLimitRecorded per bucket, a filter, its permission) equal to
    /sim/truth/ratelimits per bucket, with a limit name no reader knows."""
    URL = "/api/v2/analytics/ratelimits/aggregates/query"

    SIM = ("--queues", 2, "--agents", 10, "--flows", 1, "--seed", 29)
    TRUTH = "/sim/truth/ratelimits"

    def query(self, **more):
        body = dict({"interval": self.iv, "granularity": "PT5M", "groupBy": ["limitName"],
                     "metrics": ["oRateLimitRecorded"]}, **more)
        st, _, js = self.c.request("POST", self.URL, body)
        self.assertEqual(st, 200, js)
        out = {}
        for r in js["results"]:
            for d in r["data"]:
                (m,) = d["metrics"]
                self.assertEqual(m["metric"], "oRateLimitRecorded")
                out.setdefault(d["interval"], {})[r["group"]["limitName"]] = \
                    m["stats"]["count"]
        return out

    def test_truth_equals_query(self):
        got = self.query()
        self.assertEqual(got, self.truth["buckets"])
        names = {n for b in got.values() for n in b}
        self.assertIn("sim.unknown.limit.per.hour", self.truth["limits"])
        self.assertGreaterEqual(len(names), 3, names)

    def test_filter_and_bad_metric(self):
        name = "token.rate.per.minute"
        got = self.query(filter={"type": "or", "predicates": [
            {"dimension": "limitName", "value": name}]})
        want = {b: {n: v for n, v in e.items() if n == name}
                for b, e in self.truth["buckets"].items()}
        self.assertEqual(got, {b: e for b, e in want.items() if e})
        st, _, js = self.c.request("POST", self.URL, {"interval": self.iv,
                                                      "metrics": ["nOffered"]})
        self.assertEqual(st, 400, js)

    def test_permission(self):
        try:
            self.sim.fault(fault="deny_permission",
                           permission="analytics:rateLimitAggregate:view")
            st, _, js = self.c.request("POST", self.URL, {
                "interval": self.iv, "metrics": ["oRateLimitRecorded"]})
            self.assertEqual(st, 403, js)
            self.assertIn("analytics:rateLimitAggregate:view", js["message"])
        finally:
            self.sim.fault(fault="allow_permission",
                           permission="analytics:rateLimitAggregate:view")


class T04cSpeech(PausedTruth):
    """The transcripts aggregates query (groupBy queueId and mediaType, the
    metrics' stats, a queue filter, its permission) equal to
    /sim/truth/speech per bucket; message and email only 72 hours late."""
    URL = "/api/v2/analytics/transcripts/aggregates/query"

    SIM = ("--queues", 3, "--agents", 12, "--flows", 1, "--seed", 31)
    # 18 buckets: the newest 6 have nothing yet (voice and chat come 30
    # minutes after the conversation)
    TRUTH = "/sim/truth/speech"
    BUCKETS = 18

    def query(self, **more):
        body = dict({"interval": self.iv, "granularity": "PT5M",
                     "groupBy": ["queueId", "mediaType"],
                     "metrics": list(simspeech.METRICS[:1]) + ["oSentimentScore"] +
                     list(simspeech.TIMES)}, **more)
        st, _, js = self.c.request("POST", self.URL, body)
        self.assertEqual(st, 200, js)
        out = {}
        for r in js["results"]:
            g = r["group"]
            for d in r["data"]:
                out.setdefault(d["interval"], {}).setdefault(g["queueId"], {})[
                    g["mediaType"]] = {m["metric"]: m["stats"] for m in d["metrics"]}
        return out

    def test_truth_equals_query(self):
        got = self.query()
        want = {iv: b for iv, b in self.truth["buckets"].items() if b}
        self.assertEqual(got, want)
        media = {m for b in got.values() for q in b.values() for m in q}
        self.assertEqual(media, {"voice", "chat"})  # message, email: 72 h late
        scores = [q[m]["oSentimentScore"] for b in got.values() for q in b.values() for m in q]
        self.assertTrue(any(x["min"] < 0 for x in scores) and any(x["max"] > 0 for x in scores))

    def test_filter_bad_metric_and_permission(self):
        qid = sorted(q for b in self.truth["buckets"].values() for q in b)[0]
        got = self.query(filter={"type": "or", "predicates": [
            {"dimension": "queueId", "value": qid}]})
        self.assertEqual({q for b in got.values() for q in b}, {qid})
        st, _, js = self.c.request("POST", self.URL, {"interval": self.iv,
                                                      "groupBy": ["queueId", "mediaType"],
                                                      "metrics": ["nOffered"]})
        self.assertEqual(st, 400, js)
        perm = "analytics:speechAndTextAnalyticsAggregates:view"
        try:
            self.sim.fault(fault="deny_permission", permission=perm)
            st, _, js = self.c.request("POST", self.URL, {
                "interval": self.iv, "groupBy": ["queueId", "mediaType"],
                "metrics": ["oSentimentScore"]})
            self.assertEqual(st, 403, js)
            self.assertIn(perm, js["message"])
        finally:
            self.sim.fault(fault="allow_permission", permission=perm)


class T04cFlowExits(PausedTruth):
    """The flow aggregates query grouped by exitReason and selfServed
    (README, Flow exits): an end's tFlow in the group of its exit reason and
    selfServed ("true", "false"), nFlow (at the start) in a group without
    either; equal to /sim/truth/flow_exits per bucket, grouped by either or
    both; the flows' own answer as it was."""
    URL = "/api/v2/analytics/flows/aggregates/query"
    ENUM = {"UNKNOWN", "DISCONNECT", "FLOW_DISCONNECT", "FLOW_ERROR_DISCONNECT", "TRANSFER",
            "SESSION_EXPIRE_DISCONNECT", "RECOGNITION_FAILURE_DISCONNECT",
            "RECOGNITION_FAILURE_EXIT", "USER_EXIT", "FLOW_EXIT", "FLOW_ERROR_EXIT"}

    SIM = ("--queues", 3, "--agents", 30, "--flows", 2, "--seed", 23)
    TRUTH = "/sim/truth/flow_exits"
    BUCKETS = 12

    def query(self, group_by, metrics=("tFlow",)):
        st, _, js = self.c.request("POST", self.URL, {
            "interval": self.iv, "granularity": "PT5M", "groupBy": group_by,
            "metrics": list(metrics)})
        self.assertEqual(st, 200, js)
        return js["results"]

    def read(self, results):
        """The truth's form of an answer of tFlow counts."""
        out = {}
        for r in results:
            g = r["group"]
            for d in r["data"]:
                n = sum(m["stats"]["count"] for m in d["metrics"] if m["metric"] == "tFlow")
                e = out.setdefault(d["interval"], {}).setdefault(
                    g["flowId"], {"ended": 0, "exit_reasons": {}, "self_served": {}})
                e["ended"] += n
                for dim, part in (("exitReason", "exit_reasons"), ("selfServed", "self_served")):
                    if dim in g:
                        e[part][g[dim]] = e[part].get(g[dim], 0) + n
        return out

    def test_truth_equals_query_grouped_by_both(self):
        res = self.query(["flowId", "exitReason", "selfServed"])
        for r in res:
            self.assertEqual(set(r["group"]), {"flowId", "exitReason", "selfServed"})
            self.assertIn(r["group"]["exitReason"], self.ENUM)
            self.assertIn(r["group"]["selfServed"], ("true", "false"))
            # our model: self-served = ended in the flow, not sent to a queue
            self.assertEqual(r["group"]["selfServed"] == "true",
                             r["group"]["exitReason"].endswith("DISCONNECT"), r["group"])
        want = self.truth["buckets"]
        self.assertEqual(self.read(res), want)
        self.assertEqual(len(want), 12)
        reasons = {x for b in want.values() for f in b.values() for x in f["exit_reasons"]}
        self.assertGreaterEqual(reasons, {"TRANSFER", "DISCONNECT", "FLOW_DISCONNECT"})
        self.assertEqual(reasons - self.ENUM, set())

    def test_grouped_by_one_alone(self):
        want = self.truth["buckets"]
        by_reason = self.read(self.query(["flowId", "exitReason"]))
        by_self = self.read(self.query(["flowId", "selfServed"]))
        for got, part, other in ((by_reason, "exit_reasons", "self_served"),
                                 (by_self, "self_served", "exit_reasons")):
            self.assertEqual({iv: {f: {"ended": e["ended"], part: e[part]} for f, e in b.items()}
                              for iv, b in got.items()},
                             {iv: {f: {"ended": e["ended"], part: e[part]} for f, e in b.items()}
                              for iv, b in want.items()})
            self.assertTrue(all(not e[other] for b in got.values() for e in b.values()))
        for b in want.values():
            for e in b.values():
                self.assertEqual(sum(e["exit_reasons"].values()), e["ended"])
                self.assertEqual(sum(e["self_served"].values()), e["ended"])

    def test_start_has_no_exit_reason(self):
        """nFlow is counted at the start: grouped by exitReason it comes in
        a group without it; the ends (tFlow, tFlowExit, tFlowDisconnect) in
        groups with it, and add up to what grouping by flow alone says."""
        res = self.query(["flowId", "exitReason"], ("nFlow", "tFlow", "tFlowExit",
                                                     "tFlowDisconnect"))
        by_flow = self.query(["flowId"], ("tFlow", "tFlowExit", "tFlowDisconnect"))
        seen, total = set(), {}
        for r in res:
            for d in r["data"]:
                for m in d["metrics"]:
                    seen.add((m["metric"], "exitReason" in r["group"]))
                    k = (r["group"]["flowId"], m["metric"])
                    total[k] = total.get(k, 0) + m["stats"]["count"]
        self.assertEqual(seen, {("nFlow", False), ("tFlow", True), ("tFlowExit", True),
                                ("tFlowDisconnect", True)})
        flat = {}
        for r in by_flow:
            for d in r["data"]:
                for m in d["metrics"]:
                    k = (r["group"]["flowId"], m["metric"])
                    flat[k] = flat.get(k, 0) + m["stats"]["count"]
        self.assertEqual({k: v for k, v in total.items() if k[1] != "nFlow"}, flat)

    def test_filter_on_exit_reason(self):
        st, _, js = self.c.request("POST", self.URL, {
            "interval": self.iv, "granularity": "PT5M", "groupBy": ["flowId", "exitReason"],
            "metrics": ["tFlow"], "filter": {"type": "and", "predicates": [
                {"type": "dimension", "dimension": "selfServed", "value": "true"}]}})
        self.assertEqual(st, 200, js)
        self.assertTrue(js["results"])
        for r in js["results"]:
            self.assertTrue(r["group"]["exitReason"].endswith("DISCONNECT"), r["group"])


class T04cWorkitemAggregates(PausedTruth):
    """The task management aggregates query (groupBy queueId, the metrics'
    stats, a queue filter, its permission) equal to
    /sim/truth/workitem_aggregates per bucket; a queue without workitems
    has no group."""
    URL = "/api/v2/analytics/taskmanagement/aggregates/query"
    METRICS = ["nWorkitemsCreated", "nWorkitemsOffered", "nWorkitemsOverSla",
               "nWorkitemsAcdExpired", "nWorkitemsTimedout", "tWorkitemsHandled",
               "oWorkitemsServiceLevel"]

    SIM = ("--queues", 6, "--agents", 12, "--flows", 1, "--seed", 31)
    TRUTH = "/sim/truth/workitem_aggregates"
    BUCKETS = 12

    def query(self, **more):
        body = dict({"interval": self.iv, "granularity": "PT5M", "groupBy": ["queueId"],
                     "metrics": self.METRICS}, **more)
        st, _, js = self.c.request("POST", self.URL, body)
        self.assertEqual(st, 200, js)
        out = {}
        for r in js["results"]:
            self.assertEqual(set(r["group"]), {"queueId"})
            for d in r["data"]:
                out.setdefault(d["interval"], {})[r["group"]["queueId"]] = {
                    m["metric"]: m["stats"] for m in d["metrics"]}
        return out

    def test_truth_equals_query(self):
        got = self.query()
        want = {iv: b for iv, b in self.truth["buckets"].items() if b}
        self.assertEqual(got, want)
        self.assertEqual(len({q for b in got.values() for q in b}), 4)  # two in three
        seen = {m for b in got.values() for q in b.values() for m in q}
        self.assertEqual(seen, set(self.METRICS))
        sl = [q["oWorkitemsServiceLevel"] for b in got.values() for q in b.values()
              if "oWorkitemsServiceLevel" in q]
        self.assertTrue(all(x["numerator"] <= x["denominator"] for x in sl))

    def test_filter_bad_group_metric_and_permission(self):
        qid = sorted(q for b in self.truth["buckets"].values() for q in b)[0]
        got = self.query(filter={"type": "or", "predicates": [
            {"dimension": "queueId", "value": qid}]})
        self.assertEqual({q for b in got.values() for q in b}, {qid})
        for bad in ({"metrics": ["nOffered"]}, {"groupBy": ["queueId", "mediaType"]}):
            st, _, js = self.c.request("POST", self.URL, dict(
                {"interval": self.iv, "groupBy": ["queueId"], "metrics": self.METRICS}, **bad))
            self.assertEqual(st, 400, (bad, js))
        perm = "analytics:taskManagementAggregate:view"
        try:
            self.sim.fault(fault="deny_permission", permission=perm)
            st, _, js = self.c.request("POST", self.URL, {
                "interval": self.iv, "groupBy": ["queueId"], "metrics": self.METRICS})
            self.assertEqual(st, 403, js)
            self.assertIn(perm, js["message"])
        finally:
            self.sim.fault(fault="allow_permission", permission=perm)


class T04dOperationalEvents(unittest.TestCase):
    """GET /api/v2/usage/events/definitions (both listing forms), the events
    aggregates query (interval only, one count per definition, both forms of
    a definition without events), the permission, the 10 days Genesys keeps
    them, and /sim/truth/events equal to the query bucket by bucket."""
    URL = "/api/v2/usage/events/aggregates/query"

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 120, "--queues", 2, "--agents", 10, "--flows", 1,
                      "--event-definitions", 7, "--seed", 31, "--quiet", "--warmup", 3600)
        cls.c = cls.sim.client()
        cls.sim.fault(fault="pause")
        cls.truth = cls.sim.sim("GET", "/sim/truth/events?granularity=PT5M&buckets=6")[1]

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def counts(self, iv):
        st, _, js = self.c.request("POST", self.URL, {"interval": iv})
        self.assertEqual(st, 200, js)
        self.assertEqual(js["interval"], iv)
        out = {}
        for e in js["eventDefinitionAggregates"]:
            self.assertEqual(set(e), {"eventDefinition", "eventCount"})
            self.assertEqual(set(e["eventDefinition"]), {"id", "selfUri"})
            out[e["eventDefinition"]["id"]] = e["eventCount"]
        return out

    def test_listing_forms(self):
        st, _, js = self.c.request("GET", "/api/v2/usage/events/definitions")
        self.assertEqual(st, 200)
        self.assertEqual(set(js), {"entities"})
        self.assertEqual(sorted(d["id"] for d in js["entities"]),
                         sorted(self.truth["definitions"]))
        for d in js["entities"]:
            self.assertEqual(set(d), {"id", "name", "description"})
        try:
            self.assertEqual(self.sim.sim("POST", "/sim/forms",
                                          {"definitions_listing": "paged"})[0], 200)
            st, _, js = self.c.request("GET", "/api/v2/usage/events/definitions?pageSize=3")
            self.assertEqual((js["total"], js["pageCount"], len(js["entities"])), (7, 3, 3))
            seen = [d["id"] for d in js["entities"]]
            while "nextUri" in js:
                st, _, js = self.c.request("GET", js["nextUri"])
                seen += [d["id"] for d in js["entities"]]
            self.assertEqual(sorted(seen), sorted(self.truth["definitions"]))
        finally:
            self.sim.sim("POST", "/sim/forms", {"definitions_listing": "entities"})

    def test_truth_equals_query_per_bucket_in_both_forms(self):
        buckets = self.truth["buckets"]
        self.assertEqual(len(buckets), 6)
        total = 0
        for iv, per in buckets.items():
            got = self.counts(iv)
            # omit (the default): only the definitions with events
            self.assertEqual(got, {d: v["events"] for d, v in per.items() if v["events"]})
            total += sum(got.values())
        self.assertGreater(total, 0)
        # a definition without events in some bucket: the two forms differ there
        self.assertTrue(any(v["events"] == 0 for per in buckets.values() for v in per.values()))
        try:
            self.assertEqual(self.sim.sim("POST", "/sim/forms",
                                          {"usage_events_zeros": "zeros"})[0], 200)
            for iv, per in buckets.items():
                self.assertEqual(self.counts(iv), {d: v["events"] for d, v in per.items()})
        finally:
            self.sim.sim("POST", "/sim/forms", {"usage_events_zeros": "omit"})
        # one interval over all the buckets: their sum
        ivs = sorted(buckets)
        whole = ivs[0].split("/")[0] + "/" + ivs[-1].split("/")[1]
        sums = {}
        for per in buckets.values():
            for d, v in per.items():
                if v["events"]:
                    sums[d] = sums.get(d, 0) + v["events"]
        self.assertEqual(self.counts(whole), sums)

    def test_request_is_interval_only(self):
        iv = sorted(self.truth["buckets"])[0]
        for body in ({"interval": iv, "granularity": "PT5M"}, {}, {"interval": "x"}):
            st, _, js = self.c.request("POST", self.URL, body)
            self.assertEqual(st, 400, (body, js))

    def test_ten_days_kept(self):
        now = self.truth["sim_time_ms"]
        old = now - simevents.RETENTION_MS
        iv = simmodel.iso(old - 3600000) + "/" + simmodel.iso(old)
        self.assertEqual(self.counts(iv), {})
        # inside the retention: what happened
        iv = simmodel.iso(old) + "/" + simmodel.iso(old + 86400000)
        ev = simevents.Events(31, 7)
        want = {ev.items[i]["id"]: c for i, c in ev.counts(old, old + 86400000, now).items()}
        self.assertGreater(sum(want.values()), 0)
        self.assertEqual(self.counts(iv), want)

    def test_events_count_fault(self):
        """events_count: the next answers give one definition the count
        asked for (the others and the truth as they were), then the truth
        again."""
        iv = sorted(self.truth["buckets"])[1]
        want = {d: v["events"] for d, v in self.truth["buckets"][iv].items()
                if v["events"]}
        first = list(self.truth["definitions"])[2]
        self.sim.fault(fault="events_count", value=5000000000000000, answers=2,
                       definition=2)
        for _ in range(2):
            got = self.counts(iv)
            self.assertEqual(got[first], 5000000000000000)
            self.assertEqual({d: c for d, c in got.items() if d != first},
                             {d: c for d, c in want.items() if d != first})
        self.assertEqual(self.counts(iv), want)

    def test_permission(self):
        try:
            self.sim.fault(fault="deny_permission", permission="usage:events:view")
            for method, url, body in (("GET", "/api/v2/usage/events/definitions", None),
                                      ("POST", self.URL,
                                       {"interval": sorted(self.truth["buckets"])[0]})):
                st, _, js = self.c.request(method, url, body)
                self.assertEqual(st, 403, js)
                self.assertIn("usage:events:view", js["message"])
        finally:
            self.sim.fault(fault="allow_permission", permission="usage:events:view")


class T04eOperationalEventsLate(unittest.TestCase):
    """--events-late-share: a share of the events reaches the events
    aggregates query late (half --events-late-s to all of it after it
    happened), the truth unchanged: a bucket just closed is short of its
    truth by the events still hidden (counted in /sim/stats
    events_late_hidden), one older than the lateness equals it."""

    def test_recent_bucket_short_old_bucket_whole(self):
        sim = Sim("--speed", 120, "--queues", 2, "--agents", 10, "--flows", 1,
                  "--event-definitions", 4, "--seed", 31, "--quiet", "--warmup", 3600,
                  "--events-late-share", 0.5, "--events-late-s", 1200)
        try:
            c = sim.client()
            sim.fault(fault="pause")
            truth = sim.sim("GET", "/sim/truth/events?granularity=PT5M&buckets=12")[1]
            now = truth["sim_time_ms"]
            ivs = sorted(truth["buckets"])
            ev = simevents.Events(31, 4)  # without the tail: every event
            short = whole = 0
            for k, iv in enumerate(ivs):
                end = now // 300000 * 300000 - (len(ivs) - 1 - k) * 300000
                per = truth["buckets"][iv]
                want = {d: v["events"] for d, v in per.items()}
                # the truth is every event that happened, late or not
                self.assertEqual({d: w for d, w in want.items() if w},
                                 {ev.items[i]["id"]: n for i, n in
                                  ev.counts(end - 300000, end, now).items()}, iv)
                st, _, js = c.request("POST", "/api/v2/usage/events/aggregates/query",
                                      {"interval": iv})
                self.assertEqual(st, 200, js)
                got = {e["eventDefinition"]["id"]: e["eventCount"]
                       for e in js["eventDefinitionAggregates"]}
                for d, w in want.items():
                    self.assertLessEqual(got.get(d, 0), w, (iv, d))
                if end + 1200000 <= now:
                    self.assertEqual(got, {d: w for d, w in want.items() if w}, iv)
                    whole += 1
                elif sum(got.values()) < sum(want.values()):
                    short += 1
            self.assertGreaterEqual(whole, 6)
            self.assertGreaterEqual(short, 2)
            self.assertGreater(sim.sim("GET", "/sim/stats")[1]["events_late_hidden"], 0)
        finally:
            sim.stop()


def mos_pages(tc, c, iv, qids, size=100, ended=True):
    """Every page of the details query over iv for queues qids, until an
    empty page or a short one reaching totalHits (approximate: it counts a
    transferred conversation once per queue): (the conversations, the
    requests made)."""
    body = {"interval": iv, "order": "asc", "orderBy": "conversationStart",
            "segmentFilters": [or_filter("queueId", qids)],
            "paging": {"pageSize": size, "pageNumber": 1}}
    if ended:
        body["conversationFilters"] = [{"type": "and", "predicates": [
            {"dimension": "conversationEnd", "operator": "exists"},
            {"dimension": "mediaStatsMinConversationMos", "operator": "exists"}]}]
    out, n = [], 0
    while True:
        st, _, js = c.request("POST", "/api/v2/analytics/conversations/details/query", body)
        tc.assertEqual(st, 200, js)
        n += 1
        got = js.get("conversations", [])
        out += got
        if not got or (len(got) < size and
                       body["paging"]["pageNumber"] * size >= js["totalHits"]):
            tc.assertLessEqual(len(out), js["totalHits"])
            return out, n
        body["paging"]["pageNumber"] += 1


class T04eLateMos(unittest.TestCase):
    """The late_mos fault: a conversation of a closed bucket indexed only
    now, in the details query and in /sim/truth/mos (what makes an e2e
    revision happen)."""
    def test_late_mos_reaches_query_and_truth(self):
        sim = Sim("--speed", 120, "--queues", 2, "--agents", 4, "--flows", 1,
                  "--seed", 31, "--quiet", "--warmup", 3600)
        try:
            c = sim.client()
            sim.fault(fault="pause")
            qids = [q["id"] for q in c.request(
                "GET", "/api/v2/routing/queues?pageSize=100")[2]["entities"]]
            before = sim.sim("GET", "/sim/truth/mos?granularity=PT5M&buckets=3")[1]
            r = sim.fault(fault="late_mos", queueId=qids[1], buckets_ago=2, mos=3.3)
            after = sim.sim("GET", "/sim/truth/mos?granularity=PT5M&buckets=3")[1]
            end = simapi.parse_time_ms(r["conversationEnd"])
            bs = end - end % 300000
            iv = simmodel.iso(bs) + "/" + simmodel.iso(bs + 300000)
            was = before["buckets"].get(iv, {}).get(qids[1], {}).get("voice", [])
            self.assertEqual(after["buckets"][iv][qids[1]]["voice"], sorted(was + [3.3]))
            now = after["sim_time_ms"]
            convs, _ = mos_pages(self, c, simmodel.iso(bs, False) + "/"
                                 + simmodel.iso(now - now % 300000, False), qids[1:])
            late = [x for x in convs if x["conversationId"] == r["conversationId"]]
            self.assertEqual(len(late), 1)
            self.assertEqual(late[0]["mediaStatsMinConversationMos"], 3.3)
            self.assertEqual(late[0]["conversationEnd"], r["conversationEnd"])
            # not in the past: refused
            st, _ = sim.sim("POST", "/sim/faults", {"fault": "late_mos", "buckets_ago": -1})
            self.assertEqual(st, 400)
        finally:
            sim.stop()


class T04dCallQuality(unittest.TestCase):
    """The conversation details query (interval, filters, paging and its
    limits) and /sim/truth/mos equal to it per bucket of conversationEnd."""
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 120, "--queues", 4, "--agents", 10, "--flows", 1,
                      "--seed", 29, "--quiet", "--warmup", 3600)
        cls.c = cls.sim.client()
        cls.sim.fault(fault="pause")
        cls.truth = cls.sim.sim("GET", "/sim/truth/mos?granularity=PT5M&buckets=6")[1]
        cls.qids = [q["id"] for q in cls.c.request(
            "GET", "/api/v2/routing/queues?pageSize=100")[2]["entities"]]
        now = cls.truth["sim_time_ms"]
        cls.end = now - now % 300000
        cls.start = cls.end - 6 * 300000

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def iv(self, a, b):
        return simmodel.iso(a, False) + "/" + simmodel.iso(b, False)

    def test_truth_equals_query(self):
        # conversations ending in the range began up to length_max before it;
        # pages of 25 (about 130 conversations match): with pages of 100 a
        # quiet draw fitted in one page and left paging unexercised
        convs, n = mos_pages(self, self.c, self.iv(self.start - self.truth["length_max_ms"],
                                                   self.end), self.qids, size=25)
        self.assertGreater(n, 1, "one page: paging not exercised")
        self.assertEqual(len({c["conversationId"] for c in convs}), len(convs))
        got, rf = {}, {}
        for c in convs:
            e = simapi.parse_time_ms(c["conversationEnd"])
            if not self.start <= e < self.end:
                continue
            bs = self.start + (e - self.start) // 300000 * 300000
            qs = {sg["queueId"] for p in c["participants"] for s in p["sessions"]
                  for sg in s["segments"] if "queueId" in sg}
            media = {s["mediaType"] for p in c["participants"] for s in p["sessions"]}
            # the record's form: some calls also have an internalmessage session
            media.discard("internalmessage")
            self.assertEqual(len(media), 1)
            iv = simmodel.iso(bs) + "/" + simmodel.iso(bs + 300000)
            b = got.setdefault(iv, {})
            r = rf.setdefault(iv, {})
            for q in qs:
                b.setdefault(q, {}).setdefault(min(media), []).append(
                    c["mediaStatsMinConversationMos"])
                r.setdefault(q, {}).setdefault(min(media), []).append(
                    c["mediaStatsMinConversationRFactor"])
        for d in (got, rf):
            for b in d.values():
                for m in b.values():
                    for v in m.values():
                        v.sort()
        self.assertEqual(got, self.truth["buckets"])
        self.assertEqual(rf, self.truth["rfactor_buckets"])
        self.assertTrue([c for c in convs if "internalmessage" in {
            s["mediaType"] for p in c["participants"] for s in p["sessions"]}])
        self.assertEqual({m for b in got.values() for q in b.values() for m in q}, {"voice"})
        self.assertGreater(len({q for b in got.values() for q in b}), 1)

    def test_order_by_end_forms(self):
        # one bucket's query finds every conversation active in it, also
        # those ending later; by conversationEnd they come last (sorted),
        # or the order is refused with a 400 (refused) or not kept (ignored)
        url = "/api/v2/analytics/conversations/details/query"
        body = {"interval": self.iv(self.end - 600000, self.end - 300000),
                "order": "asc", "orderBy": "conversationEnd",
                "conversationFilters": [{"type": "and", "predicates": [
                    {"dimension": "conversationEnd", "operator": "exists"}]}],
                "paging": {"pageSize": 100, "pageNumber": 1}}

        def ends(js):
            return [simapi.parse_time_ms(c["conversationEnd"])
                    for c in js.get("conversations", [])]
        st, _, js = self.c.request("POST", url, body)
        self.assertEqual(st, 200, js)
        e = ends(js)
        self.assertEqual(e, sorted(e))
        self.assertLess(e[0], self.end - 300000)
        self.assertGreaterEqual(e[-1], self.end - 300000, "none ends after the bucket")
        try:
            self.sim.sim("POST", "/sim/forms", {"details_order_by": "ignored"})
            st, _, js = self.c.request("POST", url, body)
            self.assertEqual(st, 200, js)
            self.assertNotEqual(ends(js), sorted(ends(js)))
            starts = [c["conversationStart"] for c in js["conversations"]]
            self.assertEqual(starts, sorted(starts))
            self.sim.sim("POST", "/sim/forms", {"details_order_by": "refused"})
            st, _, js = self.c.request("POST", url, body)
            self.assertEqual(st, 400, js)
            self.assertIn("orderBy", js["message"])
            body["orderBy"] = "conversationStart"
            self.assertEqual(self.c.request("POST", url, body)[0], 200)
        finally:
            self.sim.sim("POST", "/sim/forms", {"details_order_by": "sorted"})

    def test_unended_and_no_mos_shown_without_filter(self):
        # the whole 30 minutes: in the last 5 alone every conversation was
        # a voice one (with a MOS) in about 1 % of draws
        convs, _ = mos_pages(self, self.c, self.iv(self.start, self.end), self.qids,
                             ended=False)
        self.assertTrue([c for c in convs if "mediaStatsMinConversationMos" not in c])
        self.assertTrue([c for c in convs if "conversationEnd" not in c])

    def test_paging_limits(self):
        url = "/api/v2/analytics/conversations/details/query"
        body = {"interval": self.iv(self.start, self.end), "paging": {"pageSize": 101}}
        self.assertEqual(self.c.request("POST", url, body)[0], 400)
        body["paging"] = {"pageSize": 100, "pageNumber": 1001}
        self.assertEqual(self.c.request("POST", url, body)[0], 400)
        body["paging"] = {"pageSize": 100, "pageNumber": 0}
        self.assertEqual(self.c.request("POST", url, body)[0], 400)
        body["paging"] = {"pageSize": 10, "pageNumber": 1}
        body["segmentFilters"] = [or_filter("queueId", ["x%d" % i for i in range(101)])]
        self.assertEqual(self.c.request("POST", url, body)[0], 400)
        body["segmentFilters"] = [or_filter("queueId", self.qids[:1])]
        st, _, js = self.c.request("POST", url, body)
        self.assertEqual(st, 200)
        self.assertLessEqual(len(js["conversations"]), 10)
        for c in js["conversations"]:
            self.assertIn(self.qids[0], {sg.get("queueId") for p in c["participants"]
                                         for s in p["sessions"] for sg in s["segments"]})
        # nothing found: totalHits 0 and no conversations
        body["interval"] = self.iv(self.start - 30 * 86400000, self.start - 29 * 86400000)
        st, _, js = self.c.request("POST", url, body)
        self.assertEqual((st, js), (200, {"totalHits": 0}))


class T04dCallQualityForms(unittest.TestCase):
    """The details query's other forms: totalHits exact or approximate, no
    internalmessage sessions, and --details-results-max refusing a range
    that holds more with the real API's 400."""
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 120, "--queues", 4, "--agents", 10, "--flows", 1,
                      "--seed", 29, "--quiet", "--warmup", 3600,
                      "--details-results-max", 60)
        cls.c = cls.sim.client()
        cls.sim.fault(fault="pause")
        cls.qids = [q["id"] for q in cls.c.request(
            "GET", "/api/v2/routing/queues?pageSize=100")[2]["entities"]]
        now = cls.sim.sim("GET", "/sim/truth/mos?buckets=1")[1]["sim_time_ms"]
        cls.end = now - now % 300000

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def query(self, start, qids, page, size=25):
        body = {"interval": simmodel.iso(start, False) + "/" + simmodel.iso(self.end, False),
                "segmentFilters": [or_filter("queueId", qids)],
                "paging": {"pageSize": size, "pageNumber": page}}
        st, _, js = self.c.request("POST", "/api/v2/analytics/conversations/details/query",
                                   body)
        return st, js

    def test_results_max_refused_past_it(self):
        # an hour of 4 queues holds more than 60: pages up to 60 answer,
        # the next is refused as the real query is past 100,000
        st, js = self.query(self.end - 3600000, self.qids, 2)
        self.assertEqual(st, 200, js)
        self.assertGreater(js["totalHits"], 60)
        st, js = self.query(self.end - 3600000, self.qids, 3)
        self.assertEqual(st, 400, js)
        self.assertTrue(js["message"].startswith("Pagination may not exceed 60 results."), js)
        refused = self.sim.sim("GET", "/sim/stats")[1]["aggregate_intervals"]["details_refused"]
        self.assertEqual(refused[-1][2], 3)
        # a range holding fewer is served past it (here: empty)
        st, js = self.query(self.end - 300000, self.qids[:1], 7, size=10)
        self.assertEqual(st, 200, js)
        self.assertLessEqual(js["totalHits"], 60)

    def test_hits_and_sessions_forms(self):
        # 15 minutes of two queues (about 40 conversations, where the 20 of
        # an earlier form held 45 to 53 as the pause fell), read page by
        # page, under the 60 refused; a conversation transferred from one
        # queue to the other made to be there (the model's own transfers
        # are left to chance)
        start = self.end - 900000
        made = self.sim.fault(fault="late_mos", queueId=self.qids[0], transfer=True,
                                  time=simmodel.iso(start + 300000, False))
        self.assertEqual(len(made["queueIds"]), 2, made)
        qids = made["queueIds"]

        def pages():
            got, page = [], 1
            while True:
                st, js = self.query(start, qids, page)
                self.assertEqual(st, 200, js)
                got += js.get("conversations", [])
                if len(js.get("conversations", [])) < 25:
                    return js["totalHits"], got
                page += 1
        try:
            approx, _ = pages()
            self.sim.sim("POST", "/sim/forms", {"details_hits": "exact",
                                                "details_sessions": "plain"})
            exact, convs = pages()
            # transfers are counted once per queue in the approximate form
            self.assertEqual(exact, len(convs))
            self.assertEqual(len({c["conversationId"] for c in convs}), len(convs))
            self.assertGreater(approx, exact)
            self.assertFalse([c for c in convs if "internalmessage" in {
                s["mediaType"] for p in c["participants"] for s in p["sessions"]}])
        finally:
            self.sim.sim("POST", "/sim/forms", {"details_hits": "approximate",
                                                "details_sessions": "internal"})


class T04dPlatform(unittest.TestCase):
    """Telephony and platform health: the edges and trunks listings (paged,
    100 a page at most; cloud-media edges unless showCloudMedia=false; page
    links without trunkType), their metrics (100 ids a request at most,
    offline edges' hours old by eventTime), the status page document (no
    token; groups, and components outside any), all equal to
    /sim/truth/platform, and states that change from slot to slot."""
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 1, "--agents", 2, "--edges", 130, "--trunks", 250,
                      "--platform-slot", 30, "--seed", 29, "--quiet")
        cls.c = cls.sim.client()
        cls.sim.fault(fault="pause")
        cls.truth = cls.sim.sim("GET", "/sim/truth/platform")[1]

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def listing(self, path, page_max=simplatform.PAGE_MAX):
        st, _, js = self.c.request("GET", path + ("&" if "?" in path else "?") + "pageSize=500")
        self.assertEqual(st, 200, js)
        self.assertEqual(js["pageSize"], page_max)
        out = list(js["entities"])
        while "nextUri" in js:
            st, _, js = self.c.request("GET", js["nextUri"])
            out += js["entities"]
        return out

    def test_edges_listing_equals_truth(self):
        # showCloudMedia defaults to true: the two cloud-media edges too
        edges = self.listing("/api/v2/telephony/providers/edges")
        self.assertEqual(len(edges), 132)
        self.assertEqual(sorted(e["id"] for e in edges), sorted(self.truth["edges"]))
        for e in edges:
            t = self.truth["edges"][e["id"]]
            self.assertEqual(e["name"], t["name"])
            self.assertEqual(e["onlineStatus"] == "ONLINE", t["online"])
            self.assertEqual(e["statusCode"] == "ACTIVE", t["active"])
            self.assertEqual(e["edgeDeploymentType"], t["deployment"])
            self.assertEqual(e["edgeDeploymentType"] == "CDM", t["cloud_media"])
        self.assertEqual({e["onlineStatus"] for e in edges}, {"ONLINE", "OFFLINE"})
        own = self.listing("/api/v2/telephony/providers/edges?showCloudMedia=false")
        self.assertEqual(sorted(e["id"] for e in own),
                         sorted(i for i, t in self.truth["edges"].items() if not t["cloud_media"]))
        self.assertEqual(len(own), 130)

    def test_edge_metrics_batched_and_equal_truth(self):
        ids = sorted(self.truth["edges"])
        got = {}
        for i in range(0, len(ids), 100):
            st, _, js = self.c.request("GET", "/api/v2/telephony/providers/edges/metrics?edgeIds="
                                       + ",".join(ids[i:i + 100]))
            self.assertEqual(st, 200, js)
            for m in js:
                got[m["edge"]["id"]] = m
        now = self.truth["sim_time_ms"]
        stale = 0
        for eid, t in self.truth["edges"].items():
            m = got[eid]
            age = now - simapi.parse_time_ms(m["eventTime"])
            if t["metrics"] is None:
                # offline: its last metrics, hours old
                self.assertGreaterEqual(age, simplatform.STALE_MS)
                stale += 1
                continue
            self.assertLess(age, 1000)
            total = [p for p in m["processors"] if p["cpuId"] == "total"][0]
            self.assertEqual(total["activeTimePct"], t["metrics"]["cpu_active"])
            self.assertEqual(m["upTimeMsec"] / 1000.0, t["metrics"]["uptime_s"])
            for x in m["disks"]:
                self.assertEqual(x["availableBytes"],
                                 t["metrics"]["disks"][x["partitionName"]]["available"])
        self.assertGreater(stale, 0)
        try:
            self.assertEqual(self.sim.sim("POST", "/sim/forms",
                                          {"offline_metrics": "absent"})[0], 200)
            st, _, js = self.c.request("GET", "/api/v2/telephony/providers/edges/metrics"
                                       "?edgeIds=" + ",".join(ids[:100]))
            self.assertEqual({m["edge"]["id"] for m in js},
                             {i for i in ids[:100] if self.truth["edges"][i]["metrics"]})
        finally:
            self.sim.sim("POST", "/sim/forms", {"offline_metrics": "stale"})
        st, _, js = self.c.request("GET", "/api/v2/telephony/providers/edges/metrics?edgeIds="
                                   + ",".join(ids[:101]))
        check_error_body(self, js, 400, "bad.request")
        st, _, js = self.c.request("GET", "/api/v2/telephony/providers/edges/metrics")
        self.assertEqual(st, 400)

    def test_trunks_and_metrics_equal_truth(self):
        # the page links leave trunkType out: past the first page every
        # type comes (the three PHONE trunks are last)
        path = "/api/v2/telephony/providers/edges/trunks?trunkType=EXTERNAL"
        walked = self.listing(path)
        self.assertEqual(len(walked), 253)
        self.assertEqual(sum(1 for t in walked if t["trunkType"] == "PHONE"), 3)
        try:
            self.assertEqual(self.sim.sim("POST", "/sim/forms", {"trunk_next_uri": "keep"})[0],
                             200)
            trunks = self.listing(path)
        finally:
            self.sim.sim("POST", "/sim/forms", {"trunk_next_uri": "drop"})
        self.assertEqual(len(trunks), 250)
        self.assertEqual([t for t in walked if t["trunkType"] == "EXTERNAL"], trunks)
        for t in trunks:
            w = self.truth["trunks"][t["id"]]
            self.assertEqual(t["trunkType"], w["type"])
            self.assertEqual((t["connectedStatus"]["connected"], t["inService"], t["enabled"]),
                             (w["connected"], w["in_service"], w["edge_in_service"]))
        phone = self.listing("/api/v2/telephony/providers/edges/trunks?trunkType=PHONE")
        self.assertEqual(sorted(t["id"] for t in phone),
                         sorted(i for i, w in self.truth["trunks"].items() if w["type"] == "PHONE"))
        ids = [t["id"] for t in trunks]
        st, _, js = self.c.request("GET", "/api/v2/telephony/providers/edges/trunks/metrics"
                                   "?trunkIds=" + ",".join(ids[:100]))
        self.assertEqual(st, 200)
        self.assertEqual(len(js), 100)
        first = js
        now = self.truth["sim_time_ms"]
        for m in js:
            w = self.truth["trunks"][m["trunk"]["id"]]
            self.assertEqual((m["calls"]["inboundCallCount"], m["calls"]["outboundCallCount"]),
                             (w["inbound"], w["outbound"]))
            # on an offline edge: hours old
            age = now - simapi.parse_time_ms(m["eventTime"])
            self.assertEqual(age >= simplatform.STALE_MS, not w["metrics_current"])
        self.assertTrue([m for m in js if not self.truth["trunks"][m["trunk"]["id"]]
                         ["metrics_current"]])
        st, _, js = self.c.request("GET", "/api/v2/telephony/providers/edges/trunks/metrics"
                                   "?trunkIds=" + ",".join(ids[:101]))
        check_error_body(self, js, 400, "bad.request")
        # the entities form: the same metrics wrapped
        try:
            self.assertEqual(self.sim.sim("POST", "/sim/forms",
                                          {"platform_metrics": "entities"})[0], 200)
            st, _, js2 = self.c.request("GET", "/api/v2/telephony/providers/edges/trunks/metrics"
                                        "?trunkIds=" + ",".join(ids[:100]))
            self.assertEqual(js2, {"entities": first})
        finally:
            self.sim.sim("POST", "/sim/forms", {"platform_metrics": "list"})

    def test_status_page_equals_truth_without_token(self):
        st, js = self.sim.sim("GET", "/sim/status/api/v2/components.json")
        self.assertEqual(st, 200)
        want = [(c["group"], c["name"], c["status"]) for c in self.truth["components"]]
        self.assertIn("", {c["group"] for c in self.truth["components"]})
        for link in ("both", "group_id", "components"):
            try:
                self.assertEqual(self.sim.sim("POST", "/sim/forms",
                                              {"status_group_link": link})[0], 200)
                st, js = self.sim.sim("GET", "/sim/status/api/v2/components.json")
            finally:
                self.sim.sim("POST", "/sim/forms", {"status_group_link": "both"})
            self.assertEqual(st, 200)
            groups = {c["id"]: c["name"] for c in js["components"] if c["group"]}
            member = {x: c["name"] for c in js["components"] if c["group"]
                      for x in c.get("components", ())}
            self.assertEqual(bool(member), link != "group_id")
            got = [(groups.get(c["group_id"]) or member.get(c["id"], ""), c["name"],
                    c["status"]) for c in js["components"] if not c["group"]]
            self.assertEqual(got, want, link)
        st, _, js = self.c.request("GET", "/sim/status/api/v2/summary.json")
        self.assertEqual(st, 400, "a token reached the status page")

    def test_states_change_between_slots(self):
        now = self.truth["sim_time_ms"]
        later = [self.sim.sim("GET", "/sim/truth/platform?at=%d" % (now + k * 30000))[1]
                 for k in range(1, 6)]
        for kind, field in (("edges", "online"), ("trunks", "connected"),
                            ("trunks", "inbound")):
            changed = sum(1 for t in later for i, v in t[kind].items()
                          if v[field] != self.truth[kind][i][field])
            self.assertGreater(changed, 0, (kind, field))
        levels = {c["level"] for t in later + [self.truth] for c in t["components"]}
        self.assertIn(None, levels)  # an unknown status appears
        self.assertGreater(len(levels), 3)
        # the same time, the same answer
        again = self.sim.sim("GET", "/sim/truth/platform?at=%d" % now)[1]
        self.assertEqual(again["edges"], self.truth["edges"])


class UsageSimCase(unittest.TestCase):
    """A simulator with six OAuth clients of the org (and Genesys's two of
    the default --usage-builtin), usage queries "Running" twice."""
    SIM_ARGS = ()
    JOBS = "/api/v2/usage/aggregates/query/jobs"

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--queues", 1, "--agents", 2, "--usage-clients", 6, "--usage-pending", 2,
                      "--seed", 31, "--quiet", *cls.SIM_ARGS)
        cls.c = cls.sim.client()
        # before any query: yesterday (by simulated time)
        cls.day = cls.sim.sim("GET", "/sim/truth/usage")[1]["day_ms"]

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def iv(self, day):
        f = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000))
        return f(day) + "/" + f(day + 86400000)


class T04fApiUsage(UsageSimCase):
    """API usage (README, API usage): the usage query is checked against the
    record's vocabularies, answers an executionId and resultsUri, its
    results "Running" --usage-pending times then complete; the rows per
    client (and per route) of a complete UTC day equal
    /sim/truth/usage, the current day has none, and every answer form
    (no date, zero counts left out, no queryStatus) carries the same
    counts. The two routes need oauth:client:view or
    usage:organization:view."""
    def query(self, body, pending=2):
        st, _, js = self.c.request("POST", "/api/v2/usage/query", body)
        self.assertEqual(st, 200, js)
        self.assertEqual(js["resultsUri"], "/api/v2/usage/query/%s/results" % js["executionId"])
        for _ in range(pending):
            st, _, run = self.c.request("GET", js["resultsUri"])
            self.assertEqual((st, run), (200, {"queryStatus": "Running"}))
        st, _, res = self.c.request("GET", js["resultsUri"])
        self.assertEqual(st, 200, res)
        return res

    def test_refused_queries(self):
        for body in ({"granularity": "Day"}, {"interval": "yesterday"},
                     {"interval": self.iv(self.day), "granularity": "Hour"},
                     {"interval": self.iv(self.day), "groupBy": ["ClientId"]},
                     {"interval": self.iv(self.day), "metrics": ["Status401"]}):
            st, _, js = self.c.request("POST", "/api/v2/usage/query", body)
            self.assertEqual(st, 400, body)
        st, _, js = self.c.request("GET", "/api/v2/usage/query/nope/results")
        self.assertEqual(st, 404)

    def test_per_client_and_route_equal_truth(self):
        truth = self.sim.sim("GET", "/sim/truth/usage?service=legacy&day=%d" % self.day)[1]
        self.assertTrue(truth["complete"])
        self.assertFalse(any(t["builtin"] for t in truth["clients"].values()))
        self.assertGreater(len(truth["clients"]), 3)
        self.assertGreater(sum(t["status429"] for t in truth["clients"].values()), 0)
        res = self.query({"interval": self.iv(self.day), "granularity": "Day",
                          "groupBy": ["OAuthClientId"]})
        self.assertEqual(res["queryStatus"], "Complete")
        got = {r["clientId"]: r for r in res["results"]}
        self.assertEqual(set(got), set(truth["clients"]))
        for cid, t in truth["clients"].items():
            r = got[cid]
            self.assertEqual(r["clientName"], t["name"])
            self.assertEqual(r["templateUri"], "")
            self.assertEqual(r["date"], truth["day"])
            for m in truth["metrics"]:
                self.assertEqual(r[m], t[m], (cid, m))
            self.assertLessEqual(r["status429"], r["status400"])
            self.assertEqual(r["requests"], r["status200"] + r["status300"] + r["status400"]
                             + r["status500"])
        # the last query is the truth's default day
        self.assertEqual(self.sim.sim("GET", "/sim/truth/usage")[1]["day_ms"], self.day)
        res = self.query({"interval": self.iv(self.day), "granularity": "Day",
                          "groupBy": ["OAuthClientId", "TemplateUri"]})
        got = {(r["clientId"], r["templateUri"]): r for r in res["results"]}
        want = {(c, u): n for c, routes in truth["routes"].items() for u, n in routes.items()}
        self.assertEqual(set(got), set(want))
        for k, n in want.items():
            self.assertEqual({m: got[k][m] for m in truth["metrics"]}, n)

    def test_current_day_has_none(self):
        today = self.day + 86400000
        res = self.query({"interval": self.iv(today), "granularity": "Day",
                          "groupBy": ["OAuthClientId"]})
        self.assertEqual(res["results"], [])
        self.assertFalse(self.sim.sim("GET", "/sim/truth/usage?day=%d" % today)[1]["complete"])
        # two days at once: one row per client and day, each dated
        res = self.query({"interval": self.iv(self.day - 86400000).split("/")[0] + "/"
                          + self.iv(self.day).split("/")[1], "granularity": "Day",
                          "groupBy": ["OAuthClientId"]})
        dates = {r["date"] for r in res["results"]}
        self.assertEqual(len(dates), 2)

    def test_forms_carry_the_same_counts(self):
        truth = self.sim.sim("GET", "/sim/truth/usage?service=legacy&day=%d" % self.day)[1]
        try:
            st, _ = self.sim.sim("POST", "/sim/forms", {"usage_date": "absent",
                                                         "usage_zeros": "omitted",
                                                         "usage_status": "absent"})
            self.assertEqual(st, 200)
            res = self.query({"interval": self.iv(self.day), "granularity": "Day",
                              "groupBy": ["OAuthClientId"]})
        finally:
            self.sim.sim("POST", "/sim/forms", {"usage_date": "present", "usage_zeros": "present",
                                                "usage_status": "present"})
        self.assertNotIn("queryStatus", res)
        self.assertFalse(any("date" in r for r in res["results"]))
        omitted = 0
        for r in res["results"]:
            t = truth["clients"][r["clientId"]]
            for m in truth["metrics"]:
                self.assertEqual(r.get(m, 0), t[m])
                omitted += m not in r
        self.assertGreater(omitted, 0)

    def test_permission(self):
        sim = Sim("--queues", 1, "--agents", 1, "--quiet", "--deny-permission",
                  "oauth:client:view", "--deny-permission", "usage:organization:view")
        try:
            for url in ("/api/v2/usage/query", "/api/v2/usage/aggregates/query/jobs"):
                st, _, js = sim.client().request("POST", url, {"interval": self.iv(self.day)})
                self.assertEqual(st, 403, url)
                self.assertIn(js["code"], ("missing.any.permissions", "missing.permissions"))
        finally:
            sim.stop()
        # the jobs routes need usage:organization:view, oauth:client:view is not enough
        sim = Sim("--queues", 1, "--agents", 1, "--quiet", "--deny-permission",
                  "usage:organization:view")
        try:
            st, _, _ = sim.client().request("POST", "/api/v2/usage/aggregates/query/jobs",
                                            {"interval": self.iv(self.day)})
            self.assertEqual(st, 403)
            st, _, _ = sim.client().request("POST", "/api/v2/usage/query",
                                            {"interval": self.iv(self.day)})
            self.assertEqual(st, 200)
        finally:
            sim.stop()


class T04gApiUsageJobs(UsageSimCase):
    """The current usage service (README, API usage): a job's status
    Queued, Running, then Succeeded with its rows paged (nextUri with
    after=, or a cursor field), the rows of every client, Genesys's own
    too, equal /sim/truth/usage; the legacy answer leaves those out and is
    cut at --usage-legacy-limit rows; each service can be withdrawn
    (404); a day is ready --usage-ready-after seconds after midnight."""
    SIM_ARGS = ("--usage-page-max", 7, "--usage-legacy-limit", 5)

    def job(self, body=None, page=1000):
        st, _, js = self.c.request("POST", self.JOBS, body or {"interval": self.iv(self.day),
                                                              "granularity": "Day"})
        self.assertEqual(st, 200, js)
        self.assertEqual(js["resultsUri"], "%s/%s" % (self.JOBS, js["id"]))
        states = []
        for _ in range(2):
            st, _, run = self.c.request("GET", js["resultsUri"])
            self.assertEqual(st, 200)
            self.assertNotIn("entities", run)
            states.append(run["queryStatus"])
        self.assertEqual(states, ["Queued", "Running"])
        rows, pages, url = [], 0, "%s?pageSize=%d" % (js["resultsUri"], page)
        while url:
            st, _, res = self.c.request("GET", url)
            self.assertEqual(st, 200, res)
            self.assertEqual(res["queryStatus"], "Succeeded")
            rows += res["entities"]
            pages += 1
            if "nextUri" in res:
                self.assertIn("after=", res["nextUri"])
                url = res["nextUri"]
            elif "cursor" in res:
                url = "%s?pageSize=%d&after=%s" % (js["resultsUri"], page, res["cursor"])
            else:
                url = None
        return rows, pages

    def test_paged_rows_equal_truth_builtin_included(self):
        truth = self.sim.sim("GET", "/sim/truth/usage?day=%d" % self.day)[1]
        builtin = [c for c, t in truth["clients"].items() if t["builtin"]]
        self.assertEqual(len(builtin), 2)
        rows, pages = self.job()
        self.assertEqual(pages, (len(rows) + 6) // 7)  # cut to --usage-page-max
        self.assertGreater(pages, 3)
        got = {}
        for r in rows:
            self.assertEqual(r["date"], truth["day"][:10])
            self.assertEqual(set(r["oauthClient"]), {"id", "name", "selfUri"})
            cid = r["oauthClient"]["id"]
            self.assertEqual(r["oauthClient"]["name"], truth["clients"][cid]["name"])
            n = {m: r[simusage.JOB_METRICS[m]] for m in truth["metrics"]}
            self.assertNotIn((cid, r["templateUri"]), got)
            got[(cid, r["templateUri"])] = n
        want = {(c, u): n for c, routes in truth["routes"].items() for u, n in routes.items()}
        self.assertEqual(got, want)
        self.assertTrue(any(c in builtin for c, _ in got))
        # the legacy answer: no Genesys client, cut at 5 rows without notice
        st, _, js = self.c.request("POST", "/api/v2/usage/query",
                                   {"interval": self.iv(self.day), "granularity": "Day",
                                    "groupBy": ["OAuthClientId", "TemplateUri"]})
        for _ in range(3):
            st, _, res = self.c.request("GET", js["resultsUri"])
        self.assertEqual(res["queryStatus"], "Complete")
        self.assertEqual(len(res["results"]), 5)
        self.assertNotIn("cursors", res)
        self.assertFalse(any(r["clientId"] in builtin for r in res["results"]))

    def test_forms_cursor_and_bare_client(self):
        truth = self.sim.sim("GET", "/sim/truth/usage?day=%d" % self.day)[1]
        try:
            self.sim.sim("POST", "/sim/forms", {"usage_next": "cursor",
                                                "usage_client_ref": "id"})
            rows, pages = self.job(page=3)
        finally:
            self.sim.sim("POST", "/sim/forms", {"usage_next": "uri", "usage_client_ref": "full"})
        self.assertEqual(pages, (len(rows) + 2) // 3)
        self.assertEqual(sum(r["requestCount"] for r in rows),
                         sum(t["requests"] for t in truth["clients"].values()))
        self.assertTrue(all(set(r["oauthClient"]) == {"id", "selfUri"} for r in rows))

    def test_refused_and_withdrawn(self):
        for body in ({"granularity": "Day"}, {"interval": self.iv(self.day), "groupBy": ["x"]},
                     {"interval": self.iv(self.day), "pageSize": 3},
                     {"interval": self.iv(self.day - 400 * 86400000)},
                     {"interval": self.iv(self.day - 100 * 86400000).split("/")[0] + "/"
                      + self.iv(self.day).split("/")[1]}):
            st, _, _ = self.c.request("POST", self.JOBS, body)
            self.assertEqual(st, 400, body)
        st, _, js = self.c.request("POST", self.JOBS, {"interval": self.iv(self.day)})
        for q in ("pageSize=1001", "pageSize=0", "after=bm9wZQ"):
            st, _, _ = self.c.request("GET", "%s/%s?%s" % (self.JOBS, js["id"], q))
            self.assertEqual(st, 400, q)
        self.assertEqual(self.c.request("GET", self.JOBS + "/nope")[0], 404)
        try:
            self.sim.sim("POST", "/sim/forms", {"usage_jobs": "absent", "usage_legacy": "gone"})
            self.assertEqual(self.c.request("POST", self.JOBS,
                                            {"interval": self.iv(self.day)})[0], 404)
            self.assertEqual(self.c.request("POST", "/api/v2/usage/query",
                                            {"interval": self.iv(self.day)})[0], 404)
        finally:
            self.sim.sim("POST", "/sim/forms", {"usage_jobs": "served", "usage_legacy": "served"})

    def test_day_ready_after_midnight(self):
        # --start 00:05 UTC: yesterday is ready at 01:00 (--usage-ready-after
        # 3600), 11 real seconds later at --speed 300
        start = time.strftime("%Y-%m-%dT00:05:00Z", time.gmtime())
        sim = Sim("--queues", 1, "--agents", 1, "--quiet", "--start", start, "--speed", 300,
                  "--usage-ready-after", 3600, "--warmup", 0)
        try:
            t = sim.sim("GET", "/sim/truth/usage")[1]
            self.assertFalse(t["complete"], t)
            self.assertEqual(t["clients"], {})
            c = sim.client()
            st, _, js = c.request("POST", self.JOBS, {"interval": self.iv(t["day_ms"])})
            st, _, res = c.request("GET", js["resultsUri"])
            while res["queryStatus"] != "Succeeded":
                st, _, res = c.request("GET", js["resultsUri"])
            self.assertEqual(res["entities"], [])
            time.sleep(13)
            t = sim.sim("GET", "/sim/truth/usage?day=%d" % t["day_ms"])[1]
            self.assertTrue(t["complete"], t)
            self.assertTrue(t["clients"])
        finally:
            sim.stop()


class T05Notifications(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 60, "--queues", 30, "--agents", 300, "--flows", 4,
                      "--seed", 9, "--quiet", "--heartbeat", 1, "--max-topics", 50)
        cls.c = cls.sim.client()
        cls.ids = queue_ids(cls.c)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_channel_crud(self):
        c = self.c
        st, h, ch = c.request("POST", "/api/v2/notifications/channels")
        self.assertEqual(st, 200)
        self.assertEqual(set(ch), {"connectUri", "id", "expires"})
        port = self.sim.info["port"]
        self.assertTrue(ch["connectUri"].startswith("ws://127.0.0.1:%d/channels/" % port))
        self.assertTrue(ch["connectUri"].endswith(ch["id"]))
        st, h, js = c.request("GET", "/api/v2/notifications/channels")
        self.assertIn(ch["id"], [e["id"] for e in js["entities"]])
        st, h, _ = c.request("HEAD", "/api/v2/notifications/channels/" + ch["id"])
        self.assertEqual(st, 200)
        st, h, _ = c.request("HEAD", "/api/v2/notifications/channels/streaming-0-nope")
        self.assertEqual(st, 404)
        base = "/api/v2/notifications/channels/%s/subscriptions" % ch["id"]
        t1 = "v2.analytics.queues.%s.observations" % self.ids[0]
        t2 = "v2.routing.queues.%s.conversations" % self.ids[1]
        st, h, js = c.request("PUT", base, [{"id": t1}])
        self.assertEqual(st, 200)
        self.assertEqual([(e["id"], e["state"]) for e in js["entities"]], [(t1, "Permitted")])
        st, h, js = c.request("POST", base, [{"id": t2}])
        self.assertEqual({e["id"] for e in js["entities"]}, {t1, t2})
        st, h, js = c.request("GET", base)
        self.assertEqual({e["id"] for e in js["entities"]}, {t1, t2})
        st, h, js = c.request("PUT", base, [{"id": t2}])
        self.assertEqual({e["id"] for e in js["entities"]}, {t2})
        # bad topic: 400, or Rejected with ignoreErrors
        bad = "v2.analytics.queues.00000000-0000-4000-8000-000000000000.observations"
        st, h, js = c.request("POST", base, [{"id": bad}])
        self.assertEqual(st, 400)
        check_error_body(self, js, 400)
        st, h, js = c.request("POST", base + "?ignoreErrors=true", [{"id": bad}, {"id": "x.y"}])
        self.assertEqual(st, 200)
        rej = [e for e in js["entities"] if e["state"] == "Rejected"]
        self.assertEqual(len(rej), 2)
        st, h, js = c.request("DELETE", base)
        self.assertEqual(st, 200)
        self.assertEqual(c.request("GET", base)[2]["entities"], [])

    def test_topic_limit(self):
        c = self.c
        users = c.request("GET", "/api/v2/users?pageSize=60")[2]["entities"]
        topics = [{"id": "v2.users.%s.activity" % u["id"]} for u in users]
        st, h, ch = c.request("POST", "/api/v2/notifications/channels")
        base = "/api/v2/notifications/channels/%s/subscriptions" % ch["id"]
        st, h, js = c.request("PUT", base, topics[:50])
        self.assertEqual(st, 200)
        st, h, js = c.request("POST", base, topics[50:51])
        self.assertEqual(st, 400)
        check_error_body(self, js, 400)
        st, h, js = c.request("PUT", base, topics)
        self.assertEqual(st, 400)

    def test_expiry_extended_by_subscription(self):
        c = self.c
        st, h, ch = c.request("POST", "/api/v2/notifications/channels")
        exp1 = ch["expires"]
        time.sleep(1.1)
        c.request("PUT", "/api/v2/notifications/channels/%s/subscriptions" % ch["id"], [])
        js = c.request("GET", "/api/v2/notifications/channels")[2]
        exp2 = [e for e in js["entities"] if e["id"] == ch["id"]][0]["expires"]
        self.assertGreater(exp2, exp1)

    def test_channel_limit_eviction(self):
        c = self.sim.client()   # new token; limit is per client, so start clean
        for ch in c.request("GET", "/api/v2/notifications/channels?includechannels=oauthclient")[2]["entities"]:
            pass
        st0 = self.sim.stats()["channels_evicted"]
        made = []
        for i in range(21):
            st, h, ch = c.request("POST", "/api/v2/notifications/channels")
            made.append(ch["id"])
            if i == 0:
                ws = WsClient(ch["connectUri"])     # the oldest has a connection
        allc = c.request("GET", "/api/v2/notifications/channels?includechannels=oauthclient")[2]
        self.assertLessEqual(len(allc["entities"]), 20)
        self.assertGreater(self.sim.stats()["channels_evicted"], st0)
        alive = {e["id"] for e in allc["entities"]}
        self.assertIn(made[0], alive, "connected channel is evicted last")
        self.assertIn(made[20], alive)
        ws.close()

    def test_channel_limit_across_tokens(self):
        """The budget is the client's: a second token's channel counts with
        the first token's, and the 21st evicts the oldest-used one."""
        # A simulator of its own: the class's holds earlier tests' channels,
        # and one whose socket was closed counts as connected (evicted last)
        # until the simulator has seen the close, later under load.
        s = Sim("--quiet", "--queues", 3, "--agents", 10)
        try:
            c1 = s.client()
            made = [c1.request("POST", "/api/v2/notifications/channels")[2]["id"]
                    for _ in range(20)]
            alive = {e["id"] for e in c1.request(
                "GET", "/api/v2/notifications/channels?includechannels=oauthclient")[2]["entities"]}
            self.assertEqual(alive, set(made))
            st0 = s.stats()["channels_evicted"]
            self.assertEqual(st0, 0)
            time.sleep(0.05)
            c2 = s.client()  # another token of the same client
            self.assertNotEqual(c1.token, c2.token)
            newest = c2.request("POST", "/api/v2/notifications/channels")[2]["id"]
            self.assertEqual(s.stats()["channels_evicted"], st0 + 1)
            alive = {e["id"] for e in c2.request(
                "GET", "/api/v2/notifications/channels?includechannels=oauthclient")[2]["entities"]}
            self.assertEqual(len(alive), 20)
            self.assertNotIn(made[0], alive)  # the oldest-used
            self.assertIn(newest, alive)
        finally:
            s.stop()

    def test_websocket_stream(self):
        c = self.c
        qid = self.ids[0]
        users = c.request("GET", "/api/v2/users?pageSize=300&expand=routingStatus")[2]["entities"]
        flows = c.request("GET", "/api/v2/flows?type=inboundcall")[2]["entities"]
        topics = (["v2.analytics.queues.%s.observations" % q for q in self.ids[:10]] +
                  ["v2.routing.queues.%s.conversations" % q for q in self.ids[:10]] +
                  ["v2.users.%s.activity" % u["id"] for u in users[:20]] +
                  ["v2.analytics.flow.%s.metrics" % f["id"] for f in flows])
        ch = open_channel(c, topics)
        ws = WsClient(ch["connectUri"])
        seen = {}
        conv_with_attrs = None
        t0 = time.time()
        ws.settimeout(10)
        while time.time() - t0 < 8 and (len(seen) < 5 or conv_with_attrs is None):
            k, m = ws.recv_json()
            self.assertEqual(k, "json")
            tn = m["topicName"]
            kind = tn.split(".")[1] + "." + tn.split(".")[-1]
            seen.setdefault(kind, m)
            if kind == "routing.conversations":
                cust = [p for p in m["eventBody"]["participants"] if p["purpose"] == "customer"]
                if cust and cust[0]["attributes"]:
                    conv_with_attrs = m
        self.assertIn("analytics.observations", seen)
        self.assertIn("routing.conversations", seen)
        self.assertIn("users.activity", seen)
        self.assertIn("analytics.metrics", seen)
        self.assertIn("channel.metadata", {m["topicName"] for m in seen.values()} |
                      {"channel.metadata"})
        ob = seen["analytics.observations"]
        self.assertEqual(ob["version"], "2")
        self.assertIn("CorrelationId", ob["metadata"])
        body = ob["eventBody"]
        self.assertIn("queueId", body["group"])
        self.assertIn("interval", body["data"][0])
        self.assertTrue(body["data"][0]["metrics"])
        cv = seen["routing.conversations"]["eventBody"]
        self.assertIn("id", cv)
        purposes = {p["purpose"] for p in cv["participants"]}
        self.assertIn("customer", purposes)
        self.assertIn("acd", purposes)
        ua = seen["users.activity"]["eventBody"]
        for k in ("id", "routingStatus", "presence", "outOfOffice", "activeQueueIds",
                  "dateActiveQueuesChanged"):
            self.assertIn(k, ua)
        self.assertIn("systemPresence", ua["presence"]["presenceDefinition"])
        fm = seen["analytics.metrics"]["eventBody"]
        for k in ("metric", "value", "metricDate", "conversationId", "flowId", "flowName"):
            self.assertIn(k, fm)
        self.assertIsNotNone(conv_with_attrs, "conversation with flow metric attributes")
        attrs = [p for p in conv_with_attrs["eventBody"]["participants"]
                 if p["purpose"] == "customer"][0]["attributes"]
        for name in attrs:
            self.assertRegex(name, ATTR_RE)
        ws.close()

    def test_attributes_repeat_on_later_events(self):
        c = self.c
        ch = open_channel(c, ["v2.routing.queues.%s.conversations" % q for q in self.ids[:30]])
        ws = WsClient(ch["connectUri"])
        ws.settimeout(10)
        last = {}
        ok = 0
        t0 = time.time()
        while time.time() - t0 < 8 and ok < 3:
            k, m = ws.recv_json(skip_heartbeat=True)
            b = m["eventBody"]
            cust = [p for p in b["participants"] if p["purpose"] == "customer"][0]
            prev = last.get(b["id"])
            if prev:
                self.assertTrue(set(prev) <= set(cust["attributes"]))
                if prev:
                    ok += 1
            if cust["attributes"]:
                last[b["id"]] = dict(cust["attributes"])
        ws.close()
        self.assertGreater(ok, 0)

    def test_ping_pong_heartbeat_fragmentation(self):
        ch = open_channel(self.c, [])
        ws = WsClient(ch["connectUri"])
        ws.send_text('{"message":"ping"}')
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("eventBody", {}).get("message") == "pong", 5)
        self.assertEqual(m, {"topicName": "channel.metadata", "eventBody": {"message": "pong"}})
        ws.send_text('{"message":"ping"}', fragments=3)
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("eventBody", {}).get("message") == "pong", 5)
        self.assertIsNotNone(m)
        ws.send_frame(OP_PING, b"abc")
        m, _ = recv_until(ws, lambda m: isinstance(m, tuple) and m[0] == "pong", 5)
        self.assertEqual(m, ("pong", b"abc"))
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("eventBody", {}).get("message") == "WebSocket Heartbeat", 3)
        self.assertEqual(m["topicName"], "channel.metadata")
        ws.close()

    def test_close_handshake_and_unmasked(self):
        ch = open_channel(self.c, [])
        ws = WsClient(ch["connectUri"])
        ws.close(1000)
        ws2 = WsClient(ch["connectUri"])
        ws2.sock.sendall(b"\x81\x02hi")     # unmasked client frame: protocol error
        m, _ = recv_until(ws2, lambda m: isinstance(m, tuple) and m[0] == "close", 5)
        self.assertEqual(m, ("close", 1002))

    def test_one_socket_per_channel(self):
        ch = open_channel(self.c, [])
        ws1 = WsClient(ch["connectUri"])
        ws2 = WsClient(ch["connectUri"])
        m, _ = recv_until(ws1, lambda m: isinstance(m, tuple) and m[0] == "close", 5)
        self.assertIsNotNone(m)
        ws2.send_text('{"message":"ping"}')
        m, _ = recv_until(ws2, lambda m: isinstance(m, dict) and
                          m.get("eventBody", {}).get("message") == "pong", 5)
        self.assertIsNotNone(m)
        ws2.close()

    def test_unknown_channel_socket(self):
        with self.assertRaises(ConnectionError):
            WsClient("ws://127.0.0.1:%d/channels/streaming-0-nope" % self.sim.info["port"])

    def test_availabletopics(self):
        st, h, js = self.c.request("GET", "/api/v2/notifications/availabletopics")
        self.assertEqual(st, 200)
        self.assertIn("v2.analytics.queues.{id}.observations", [e["id"] for e in js["entities"]])

    def test_observation_coalescing(self):
        """At most one observation event per second per queue (and group)."""
        ch = open_channel(self.c, ["v2.analytics.queues.%s.observations" % q
                                   for q in self.ids[:10]])
        ws = WsClient(ch["connectUri"])
        ws.settimeout(5)
        times = {}
        t0 = time.time()
        while time.time() - t0 < 4:
            k, m = ws.recv_json(skip_heartbeat=True)
            g = m["eventBody"]["group"]
            names = {x["metric"] for x in m["eventBody"]["data"][0]["metrics"]}
            # an aggregate-only message carries no observation metric, and
            # an observation message no interval aggregate
            kind = "obs" if names & O_METRICS else "agg"
            self.assertTrue(names <= O_METRICS if kind == "obs" else not names & O_METRICS)
            times.setdefault((g["queueId"], g.get("mediaType"), kind), []).append(time.time())
        ws.close()
        self.assertTrue(times)
        self.assertIn("agg", {k[2] for k in times})
        for k, ts in times.items():
            for a, b in zip(ts, ts[1:]):
                self.assertGreater(b - a, 0.8, k)


class T06Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 60, "--queues", 8, "--agents", 60, "--seed", 4, "--quiet",
                      "--heartbeat", 1)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.fault(fault="clear")
        self.c = self.sim.client()

    def test_token_fail(self):
        self.sim.fault(fault="token_fail", status=500, count=2)
        c = self.sim.client(login=False)
        self.assertEqual(c.login()[0], 500)
        self.assertEqual(c.login()[0], 500)
        self.assertEqual(c.login()[0], 200)
        self.sim.fault(fault="token_fail", status=401, count=1)
        st, js = c.login()
        self.assertEqual(st, 401)
        self.assertEqual(js["error"], "invalid_client")

    def test_revoke_tokens(self):
        c = self.c
        ch = open_channel(c, [])
        ws = WsClient(ch["connectUri"])
        self.sim.fault(fault="revoke_tokens")
        st, h, js = c.request("GET", "/api/v2/routing/queues")
        self.assertEqual(st, 401)
        check_error_body(self, js, 401, "bad.credentials")
        m, _ = recv_until(ws, lambda m: isinstance(m, tuple) and m[0] == "close", 5)
        self.assertIsNotNone(m)
        c.login()
        st, h, _ = c.request("HEAD", "/api/v2/notifications/channels/" + ch["id"])
        self.assertEqual(st, 404)

    def test_rate_limit_storm(self):
        self.sim.fault(fault="rate_limit_storm", count=2, retry_after=7)
        for _ in range(2):
            st, h, js = self.c.request("GET", "/api/v2/routing/queues")
            self.assertEqual(st, 429)
            self.assertEqual(h["retry-after"], "7")
            check_error_body(self, js, 429, "too.many.requests")
        st, h, js = self.c.request("GET", "/api/v2/routing/queues")
        self.assertEqual(st, 200)
        self.sim.fault(fault="rate_limit_storm", seconds=0.5, retry_after=1)
        self.assertEqual(self.c.request("GET", "/api/v2/users")[0], 429)
        time.sleep(0.7)
        self.assertEqual(self.c.request("GET", "/api/v2/users")[0], 200)

    def test_http_5xx_path(self):
        self.sim.fault(fault="http_5xx", status=503, count=2, path="/api/v2/users")
        self.assertEqual(self.c.request("GET", "/api/v2/routing/queues")[0], 200)
        st, h, js = self.c.request("GET", "/api/v2/users")
        self.assertEqual(st, 503)
        check_error_body(self, js, 503, "service.unavailable")
        self.assertEqual(self.c.request("GET", "/api/v2/users")[0], 503)
        self.assertEqual(self.c.request("GET", "/api/v2/users")[0], 200)
        for code in (502, 504):
            self.sim.fault(fault="http_5xx", status=code)
            self.assertEqual(self.c.request("GET", "/api/v2/users")[0], code)

    def test_slow(self):
        self.sim.fault(fault="slow", delay=1.0, count=1)
        t0 = time.time()
        self.assertEqual(self.c.request("GET", "/api/v2/users")[0], 200)
        self.assertGreater(time.time() - t0, 0.9)

    def test_stall(self):
        self.sim.fault(fault="stall", seconds=1.5, count=1)
        c = HttpClient(self.sim.base, timeout=0.7)
        c.token = self.c.token
        t0 = time.time()
        with self.assertRaises(OSError):
            c.request("GET", "/api/v2/users")
        self.assertGreater(time.time() - t0, 0.6)
        time.sleep(1.2)
        self.assertEqual(self.c.request("GET", "/api/v2/users")[0], 200)

    def test_truncated_and_malformed(self):
        self.sim.fault(fault="truncated_json", count=1, path="/api/v2/routing/queues")
        st, h, raw = self.c.request("GET", "/api/v2/routing/queues", raw=True)
        self.assertEqual(st, 200)
        self.assertEqual(int(h["content-length"]), len(raw))
        with self.assertRaises(ValueError):
            json.loads(raw)
        self.sim.fault(fault="malformed_json", count=1)
        st, h, raw = self.c.request("GET", "/api/v2/users", raw=True)
        with self.assertRaises(ValueError):
            json.loads(raw)
        st, h, raw = self.c.request("GET", "/api/v2/users", raw=True)
        json.loads(raw)

    def test_oversized(self):
        plain = json.loads(self.c.request("GET", "/api/v2/routing/queues", raw=True)[2])
        self.sim.fault(fault="oversized_json", count=1, path="/api/v2/routing/queues",
                       bytes=300000)
        st, h, raw = self.c.request("GET", "/api/v2/routing/queues", raw=True)
        self.assertEqual(st, 200)
        self.assertEqual(len(raw), 300000)
        doc = json.loads(raw)
        self.assertGreater(len(doc.pop("pad")), 5000)
        self.assertEqual(doc["entities"], plain["entities"])
        self.assertLess(len(self.c.request("GET", "/api/v2/routing/queues", raw=True)[2]),
                        300000)
        # pad "empty": empty objects (issue 63)
        self.sim.fault(fault="oversized_json", count=1, path="/api/v2/routing/queues",
                       bytes=300000, pad="empty")
        raw = self.c.request("GET", "/api/v2/routing/queues", raw=True)[2]
        self.assertEqual(len(raw), 300000)
        doc = json.loads(raw)
        pad = doc.pop("pad")
        self.assertGreater(len(pad), 95000)
        self.assertEqual(set(map(len, pad)), {0})
        self.assertEqual(doc["entities"], plain["entities"])

    def _ws(self):
        ch = open_channel(self.c, [])
        return ch, WsClient(ch["connectUri"])

    def test_drop_sockets(self):
        ch, ws = self._ws()
        self.sim.fault(fault="drop_sockets")
        ws.settimeout(5)
        with self.assertRaises((ConnectionError, OSError)):
            while True:
                ws.recv()

    def test_close_codes(self):
        for code in (1001, 1011):
            ch, ws = self._ws()
            self.sim.fault(fault="close_sockets", code=code, channel=ch["id"])
            m, _ = recv_until(ws, lambda m: isinstance(m, tuple) and m[0] == "close", 5)
            self.assertEqual(m, ("close", code))
        ch, ws = self._ws()
        self.sim.fault(fault="close_sockets", code=1006, channel=ch["id"])
        ws.settimeout(5)
        with self.assertRaises((ConnectionError, OSError)):
            while True:
                ws.recv()

    def test_socket_closing(self):
        ch, ws = self._ws()
        self.sim.fault(fault="socket_closing", after=1.0, channel=ch["id"])
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("topicName") == "v2.system.socket_closing", 5)
        self.assertIsNotNone(m)
        t0 = time.time()
        m, _ = recv_until(ws, lambda m: isinstance(m, tuple) and m[0] == "close", 5)
        self.assertEqual(m, ("close", 1001))
        self.assertGreater(time.time() - t0, 0.7)

    def test_stop_heartbeats(self):
        ch, ws = self._ws()
        recv_until(ws, lambda m: isinstance(m, dict) and m.get("topicName") ==
                   "channel.metadata", 3)
        self.sim.fault(fault="stop_heartbeats", seconds=2.5)
        ws.settimeout(2.2)
        hb = []
        try:
            while True:
                k, m = ws.recv_json()
                hb.append(m)
        except (socket.timeout, OSError):
            pass
        self.assertFalse([m for m in hb if isinstance(m, dict) and
                          m.get("eventBody", {}).get("message") == "WebSocket Heartbeat"])
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("eventBody", {}).get("message") == "WebSocket Heartbeat", 4)
        self.assertIsNotNone(m)
        ws.close()

    def test_expire_channels(self):
        ch, ws = self._ws()
        self.sim.fault(fault="expire_channels", channel=ch["id"])
        m, _ = recv_until(ws, lambda m: isinstance(m, tuple) and m[0] == "close", 5)
        self.assertIsNotNone(m)
        st, h, _ = self.c.request("HEAD", "/api/v2/notifications/channels/" + ch["id"])
        self.assertEqual(st, 404)

    def test_oversized_frame(self):
        ch, ws = self._ws()
        self.sim.fault(fault="oversized_frame", bytes=3 * 1024 * 1024, channel=ch["id"])
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("eventBody", {}).get("message") == "oversized", 10)
        self.assertIsNotNone(m)
        self.assertGreater(len(json.dumps(m)), 3 * 1024 * 1024 - 100)
        ws.close()

    def test_pause_resume(self):
        self.sim.fault(fault="pause")
        t1 = self.sim.truth("?buckets=0")["sim_time_ms"]
        time.sleep(0.5)
        t2 = self.sim.truth("?buckets=0")["sim_time_ms"]
        self.assertEqual(t1, t2)
        self.sim.fault(fault="resume")
        time.sleep(0.3)
        t3 = self.sim.truth("?buckets=0")["sim_time_ms"]
        self.assertGreater(t3, t2)

    def test_stats_and_reset(self):
        self.sim.sim("POST", "/sim/reset_stats")
        c = self.sim.client()
        for _ in range(3):
            c.request("POST", "/api/v2/analytics/queues/observations/query",
                      {"filter": or_filter("queueId", queue_ids(c, 2)), "metrics": ["oWaiting"]})
        c.request("GET", "/api/v2/nope")
        ch = open_channel(c, [])
        ws = WsClient(ch["connectUri"])
        st = self.sim.stats()
        r = st["requests"]
        self.assertEqual(r["POST /api/v2/analytics/queues/observations/query"]["by_status"]["200"], 3)
        self.assertEqual(r["GET /api/v2/routing/queues"]["total"], 3)
        self.assertEqual(r["POST /oauth/token"]["total"], 1)
        self.assertEqual(r["GET (unknown)"]["by_status"]["404"], 1)
        self.assertEqual(r["PUT /api/v2/notifications/channels/{channelId}/subscriptions"]
                         ["total"], 1)
        self.assertEqual(st["tokens_issued"], 1)
        self.assertEqual(st["channels_created"], 1)
        self.assertGreaterEqual(st["channels_alive"], 1)
        self.assertGreaterEqual(st["sockets_open"], 1)
        self.assertEqual(st["sockets_total"], 1)
        self.assertIn(ch["id"], st["subscriptions"])
        for k in ("ws_messages_sent", "heartbeats_sent", "tcp_connections", "cpu_seconds"):
            self.assertIn(k, st)
        ws.close()

    def test_bad_fault(self):
        st, js = self.sim.sim("POST", "/sim/faults", {"fault": "nope"})
        self.assertEqual(st, 400)


class T06bSocketBookkeeping(unittest.TestCase):
    """A socket whose peer went away before the simulator's reader saw it:
    the first frame sent to it finds the transport closing. The socket
    must leave the open ones (sockets_open, the channel's socket) and the
    frame must not count as served: a stale socket kept sockets_open above
    the channels for good, and a frame counted as sent that never left
    made the summaries' truth hold a value the plugin never got."""

    class Transport:
        def __init__(self):
            self.closing = False
            self.aborted = False

        def is_closing(self):
            return self.closing

        def get_write_buffer_size(self):
            return 0

        def abort(self):
            self.aborted = self.closing = True

    class Writer:
        def __init__(self, transport):
            self.transport = transport
            self.written = []

        def write(self, data):
            self.written.append(data)

    class App:
        def __init__(self):
            self.sockets = set()
            self.stats = {"ws_messages_sent": 0, "ws_bytes_sent": 0,
                          "ws_messages_by_topic": {}, "ws_slow_consumer_drops": 0}
            self.opts = type("Opts", (), {"ws_max_buffer": 1 << 20})()

    def connect(self, app, hub):
        ch = simapi.Channel("c1", "tok", "client", 3600)
        tr = self.Transport()
        ws = simapi.WsConn(app, None, self.Writer(tr), ch)
        ch.ws = ws
        app.sockets.add(ws)
        ch.topics["v2.test"] = True
        hub.subs["v2.test"] = {ch}
        return ch, ws, tr

    def test_a_socket_found_closing_leaves_the_open_ones(self):
        app = self.App()
        hub = simapi.Hub(app)
        ch, ws, tr = self.connect(app, hub)
        self.assertEqual(hub.publish("v2.test", {"n": 1}), 1)
        self.assertEqual(len(ws.writer.written), 1)
        tr.closing = True  # the peer closed; our reader has not seen it yet
        self.assertEqual(hub.publish("v2.test", {"n": 2}), 0, "counted as served")
        self.assertEqual(len(ws.writer.written), 1)
        self.assertTrue(ws.closed)
        self.assertNotIn(ws, app.sockets)
        self.assertIsNone(ch.ws)
        self.assertEqual(app.stats["ws_messages_sent"], 1)

    def test_a_slow_consumer_dropped_is_not_served(self):
        app = self.App()
        hub = simapi.Hub(app)
        ch, ws, tr = self.connect(app, hub)
        app.opts.ws_max_buffer = -1  # any buffered byte is too many
        self.assertEqual(hub.publish("v2.test", {"n": 1}), 0)
        self.assertTrue(tr.aborted)
        self.assertNotIn(ws, app.sockets)
        self.assertEqual(app.stats["ws_slow_consumer_drops"], 1)


class T07RealLimits(unittest.TestCase):
    def test_rate_limit(self):
        s = Sim("--quiet", "--queues", 3, "--agents", 10, "--rate-limit", 5)
        try:
            c = s.client()
            sts = []
            for _ in range(7):
                st, h, js = c.request("GET", "/api/v2/routing/queues")
                sts.append(st)
            self.assertEqual(sts, [200] * 5 + [429] * 2)
            self.assertEqual(h["inin-ratelimit-allowed"], "5")
            self.assertTrue(1 <= int(h["retry-after"]) <= 60)
            check_error_body(self, js, 429, "too.many.requests")
            c2 = s.client()      # per token
            self.assertEqual(c2.request("GET", "/api/v2/routing/queues")[0], 200)
        finally:
            s.stop()

    def test_rate_window_sim(self):
        # 60 simulated seconds are 0.5 real ones at speed 120: the window
        # opens again that soon, and Retry-After says it in real seconds
        s = Sim("--quiet", "--queues", 3, "--agents", 10, "--rate-limit", 3,
                "--rate-window-sim", "--speed", 120)
        try:
            c = s.client()
            # the clock stands still: all five fall in the first window
            s.sim("POST", "/sim/faults", {"fault": "pause"})
            sts = [c.request("GET", "/api/v2/routing/queues")[0] for _ in range(4)]
            st, h, _ = c.request("GET", "/api/v2/routing/queues")
            self.assertEqual(sts + [st], [200] * 3 + [429] * 2)
            self.assertEqual(h["retry-after"], "1")
            s.sim("POST", "/sim/faults", {"fault": "resume"})
            time.sleep(0.6)
            self.assertEqual(c.request("GET", "/api/v2/routing/queues")[0], 200)
        finally:
            s.stop()

    def test_org_route_limit(self):
        s = Sim("--quiet", "--queues", 3, "--agents", 30, "--org-route-limit", 4,
                "--activity-max-entities", 4)
        try:
            c1, c2 = s.client(), s.client()
            qs = [q["id"] for q in c1.request("GET", "/api/v2/routing/queues")[2]["entities"]]
            sts = [c.request("GET", "/api/v2/routing/queues/%s/members" % qs[0])[0]
                   for c in (c1, c2, c1)]
            self.assertEqual(sts, [200, 200, 200])          # 4 of 4 across both tokens
            st, h, js = c2.request("GET", "/api/v2/routing/queues/%s" % qs[1])
            self.assertEqual(st, 429)
            self.assertTrue(1 <= int(h["retry-after"]) <= 60)
            check_error_body(self, js, 429, "too.many.requests")
            self.assertIn("organization", js["message"])
            # Other routes are not under that limit.
            self.assertEqual(c2.request("GET", "/api/v2/users")[0], 200)
            st, h, js = c2.request("POST", "/api/v2/analytics/routing/activity/query",
                                   {"metrics": [{"metric": "oMemberUsers", "details": True}],
                                    "groupBy": ["queueId"],
                                    "filter": {"type": "or", "predicates": [
                                        {"dimension": "queueId", "value": qs[0]}]}})
            self.assertEqual(st, 200)
            g = js["results"][0]
            mu = g["data"][0]
            self.assertGreater(mu["count"], 4)               # 30 agents on 3 queues
            self.assertTrue(g["truncated"])
            self.assertEqual(len(mu["entityIds"]), 4)
            self.assertEqual(len(g["entities"]), 4)
            dates = [e["activityDate"] for e in g["entities"]]
            self.assertEqual(dates, sorted(dates))           # oldest half, then newest
            stats = s.stats()
            self.assertEqual(stats["org_rate_limited"], 1)
            self.assertEqual(stats["requests"]["GET /api/v2/routing/queues/{queueId}"]
                             ["by_status"], {"429": 1})
        finally:
            s.stop()

    def test_token_and_channel_expiry(self):
        s = Sim("--quiet", "--queues", 3, "--agents", 10, "--token-ttl", 2.5,
                "--channel-ttl", 1.5)
        try:
            c = s.client()
            st, js = c.login()
            self.assertEqual(js["expires_in"], 2)
            ch = open_channel(c, [])
            ws = WsClient(ch["connectUri"])
            m, _ = recv_until(ws, lambda m: isinstance(m, tuple) and m[0] == "close", 5)
            self.assertIsNotNone(m, "channel expiry closes the socket")
            self.assertEqual(c.request("HEAD", "/api/v2/notifications/channels/" +
                                       ch["id"])[0], 404)
            time.sleep(1.2)
            st, h, js = c.request("GET", "/api/v2/routing/queues")
            self.assertEqual(st, 401)
            check_error_body(self, js, 401, "bad.credentials")
        finally:
            s.stop()

    def test_scenario_file_and_truth_file(self):
        d = tempfile.mkdtemp(dir=STATE)
        sc = os.path.join(d, "scenario.json")
        with open(sc, "w") as f:
            json.dump([{"at_real_seconds": 0.0, "fault": "http_5xx", "status": 502,
                        "count": 1, "path": "/api/v2/users"},
                       {"at_real_seconds": 0.5, "fault": "rate_limit_storm", "count": 1,
                        "retry_after": 2},
                       {"at_real_seconds": 0.0, "fault": "set_forms",
                        "longest_form": "duration", "onqueue_form": "both"}], f)
        tf = os.path.join(d, "truth.json")
        s = Sim("--quiet", "--queues", 3, "--agents", 20, "--speed", 60, "--scenario", sc,
                "--truth-file", tf, "--truth-interval", 0.5)
        try:
            c = s.client()
            time.sleep(0.8)
            self.assertEqual(c.request("GET", "/api/v2/users")[0], 502)
            self.assertEqual(c.request("GET", "/api/v2/users")[0], 429)
            self.assertEqual(c.request("GET", "/api/v2/users")[0], 200)
            self.assertTrue(wait_for(lambda: os.path.exists(tf), 5))
            forms = s.sim("GET", "/sim/forms")[1]["forms"]
            self.assertEqual((forms["longest_form"], forms["onqueue_form"],
                              forms["presence_qualifier"]), ("duration", "both", "id"))
        finally:
            s.stop()
        with open(tf) as f:
            t = json.load(f)
        for k in ("sim_time", "queues", "agents", "buckets", "flows", "metric_attributes",
                  "stats"):
            self.assertIn(k, t)


class T07bReprocessed(unittest.TestCase):
    def test_late_data_three_days_back(self):
        """Genesys reprocesses data 48 hours old and older (README, "Late
        data and reprocessing"): with --retention-hours past three days, a
        late_data fault 72 hours back changes that bucket's answer, in the
        same form, and its truth."""
        H = 3600000
        s = Sim("--quiet", "--queues", 1, "--agents", 4, "--flows", 1,
                "--warmup", 76 * 3600, "--retention-hours", 80)
        try:
            c = s.client()
            now = simapi.parse_time_ms(s.sim("GET", "/sim/info")[1]["sim_time"])
            qid = c.request("GET", "/api/v2/routing/queues")[2]["entities"][0]["id"]
            start = (now // H - 73) * H
            body = {"interval": simmodel.iso(start, False) + "/" +
                    simmodel.iso(start + H, False), "granularity": "PT1H",
                    "groupBy": ["queueId"], "metrics": ["tHandle"],
                    "filter": {"type": "and", "predicates": [
                        {"dimension": "queueId", "value": qid},
                        {"dimension": "mediaType", "value": "voice"}]}}

            def count():
                st, h, js = c.request(
                    "POST", "/api/v2/analytics/conversations/aggregates/query", body)
                self.assertEqual(st, 200)
                return sum(d["metrics"][0]["stats"]["count"]
                           for r in js.get("results", []) for d in r["data"])
            before = count()
            s.fault(fault="late_data", queueId=qid, mediaType="voice",
                    time=simmodel.iso(start + 1000), value_ms=5000)
            t = s.sim("GET", "/sim/truth?granularity=PT1H&buckets=80")[1]
            iv = simmodel.iso(start) + "/" + simmodel.iso(start + H)
            self.assertGreater(before, 0, "no data three days back")
            self.assertEqual(count(), before + 1)
            self.assertEqual(t["buckets"][iv][qid]["voice"]["handle"]["count"],
                             before + 1)
        finally:
            s.stop()


class T07cNightlyPipeline(unittest.TestCase):
    def test_changes_come_with_the_nightly_job(self):
        """--reprocessing (README, "Late data and reprocessing"): handle
        times change up and down, each at the run of the first job (kick-off
        02:00 UTC, 3 h) at which it was 48 h old, or 72 h for the correction
        class, and never before; the query's answer and the truth hold the
        change."""
        H = 3600000
        s = Sim("--quiet", "--queues", 2, "--agents", 8, "--flows", 1,
                "--warmup", 130 * 3600, "--retention-hours", 140, "--reprocessing",
                "--reprocess-share", 0.2)
        try:
            c = s.client()
            t = s.sim("GET", "/sim/truth?granularity=PT1H&buckets=130")[1]
            now = simapi.parse_time_ms(t["sim_time"])
            changes = t["pipeline"]
            self.assertGreater(len(changes), 10)
            self.assertEqual({ch["sign"] for ch in changes}, {1, -1})
            self.assertEqual({ch["class"] for ch in changes}, {"nightly", "correction"})
            for ch in changes:
                at = simapi.parse_time_ms(ch["time"])
                kick = simapi.parse_time_ms(ch["kickoff"])
                seen = simapi.parse_time_ms(ch["visible"])
                age = (72 if ch["class"] == "correction" else 48) * H
                self.assertEqual(kick % (24 * H), 2 * H, ch)
                self.assertGreaterEqual(kick - at, age, ch)
                self.assertLess(kick - 24 * H - at, age, ch)  # the first such job
                self.assertTrue(kick <= seen < kick + 3 * H <= now + 3 * H, ch)
            # a changed bucket: the query answers what the truth holds
            ch = changes[-1]
            qid, start = ch["queueId"], simapi.parse_time_ms(ch["time"]) // H * H
            body = {"interval": simmodel.iso(start, False) + "/" +
                    simmodel.iso(start + H, False), "granularity": "PT1H",
                    "groupBy": ["queueId"], "metrics": ["tHandle"],
                    "filter": {"type": "and", "predicates": [
                        {"dimension": "queueId", "value": qid},
                        {"dimension": "mediaType", "value": ch["mediaType"]}]}}
            st, _, js = c.request(
                "POST", "/api/v2/analytics/conversations/aggregates/query", body)
            self.assertEqual(st, 200)
            got = [d["metrics"][0]["stats"] for r in js.get("results", [])
                   for d in r["data"]]
            iv = simmodel.iso(start) + "/" + simmodel.iso(start + H)
            want = t["buckets"][iv][qid][ch["mediaType"]]["handle"]
            self.assertEqual((got[0]["count"], got[0]["sum"]),
                             (want["count"], want["sum_ms"]))
        finally:
            s.stop()


class T08Tls(unittest.TestCase):
    def test_tls(self):
        s = Sim("--quiet", "--tls", "--queues", 4, "--agents", 30, "--speed", 60)
        try:
            self.assertTrue(s.base.startswith("https://localhost:"))
            self.assertTrue(os.path.exists(s.ca))
            c = s.client()
            st, h, js = c.request("POST", "/api/v2/analytics/queues/observations/query",
                                  {"filter": or_filter("queueId", queue_ids(c)),
                                   "metrics": ["oWaiting"]})
            self.assertEqual(st, 200)
            ch = open_channel(c, ["v2.analytics.queues.%s.observations" % q
                                  for q in queue_ids(c)])
            self.assertTrue(ch["connectUri"].startswith("wss://localhost:"))
            ws = WsClient(ch["connectUri"], cafile=s.ca)
            m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                              m.get("topicName", "").endswith(".observations"), 5)
            self.assertIsNotNone(m)
            ws.close()
            # verification is real: no CA, no connection
            c2 = HttpClient(s.base, cafile=None)
            with self.assertRaises(ssl.SSLError):
                c2.login()
        finally:
            s.stop()

    def test_tls_names(self):
        """--tls-name: the certificate covers the names given, made again
        in a state directory whose certificate lacked them."""
        import simtls
        d = tempfile.mkdtemp(prefix="gensim-tls-")
        try:
            def names():
                out = subprocess.run(["openssl", "x509", "-in", os.path.join(d, "server.pem"),
                                      "-noout", "-ext", "subjectAltName"],
                                     capture_output=True, text=True, check=True).stdout
                return set(re.findall(r"DNS:([\w.-]+)", out))
            simtls.ensure_certs(d)
            self.assertEqual(names(), {"localhost"})
            with open(os.path.join(d, "ca.pem")) as f:
                ca = f.read()
            simtls.ensure_certs(d, ("localhost", "127.0.0.1", "api.mypurecloud.ie"))
            self.assertEqual(names(), {"localhost", "api.mypurecloud.ie"})
            with open(os.path.join(d, "ca.pem")) as f:
                self.assertEqual(f.read(), ca, "the CA is kept")
            s = Sim("--quiet", "--tls", "--state-dir", d, "--tls-name", "login.example.test",
                    "--queues", 2, "--agents", 4)
            try:
                self.assertEqual(names(), {"localhost", "login.example.test"})
            finally:
                s.stop()
        finally:
            shutil.rmtree(d, ignore_errors=True)


class Receiver(http.server.BaseHTTPRequestHandler):
    got = []
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        Receiver.got.append((dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


class T09EventBridge(unittest.TestCase):
    def test_eventbridge(self):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        th = threading.Thread(target=srv.serve_forever, daemon=True)
        th.start()
        s = Sim("--quiet", "--queues", 6, "--agents", 60, "--flows", 3, "--speed", 120)
        try:
            url = "http://127.0.0.1:%d/events" % srv.server_address[1]
            st, js = s.sim("POST", "/sim/eventbridge", {"url": url, "secret": "s3cret",
                                                        "header": "X-Gen-Secret",
                                                        "duplicate_every": 3})
            self.assertEqual(st, 200)
            self.assertTrue(wait_for(lambda: len(Receiver.got) >= 12, 15))
            s.fault(fault="pause")
            time.sleep(0.5)
            eb = s.sim("GET", "/sim/eventbridge")[1]
        finally:
            s.stop()
            srv.shutdown()
        ids = [ev["id"] for h, ev in Receiver.got]
        dups = len(ids) - len(set(ids))
        self.assertGreater(dups, 0)
        self.assertEqual(dups, eb["duplicates_sent"])
        self.assertEqual(sorted(eb["duplicate_ids"]),
                         sorted(i for i in set(ids) if ids.count(i) > 1))
        for h, ev in Receiver.got:
            self.assertEqual(h.get("X-Gen-Secret"), "s3cret")
            self.assertEqual(ev["detail-type"], "v2.detail.events.conversation.{id}.attributes")
            self.assertTrue(ev["source"].startswith("aws.partner/genesys.com/cloud/"))
            for k in ("version", "id", "account", "time", "region", "resources"):
                self.assertIn(k, ev)
            d = ev["detail"]
            b = d["eventBody"]
            self.assertEqual(d["topicName"],
                             "v2.detail.events.conversation.%s.attributes" % b["conversationId"])
            self.assertIn("CorrelationId", d["metadata"])
            self.assertIsInstance(b["eventTime"], int)
            for name, v in b["attributes"].items():
                self.assertRegex(name, ATTR_RE)
                self.assertIsInstance(v, str)


class T10Model(unittest.TestCase):
    """In-process checks of the model: determinism and consistency."""

    def run_model(self, steps, seed=42, **kw):
        m = simmodel.Model(seed=seed, n_queues=kw.get("nq", 20), n_agents=kw.get("na", 200),
                           n_flows=4, start_ms=1_700_000_000_000)
        t = m.now
        for s in steps:
            t += s
            m.advance_to(t)
        return m

    def test_determinism_independent_of_step_pattern(self):
        a = self.run_model([1000] * 3600)
        b = self.run_model([3600 * 1000])
        c = self.run_model([7, 13, 1000000, 2599980])
        ta, tb, tc = a.truth(), b.truth(), c.truth()
        self.assertEqual(json.dumps(ta, sort_keys=True), json.dumps(tb, sort_keys=True))
        self.assertEqual(json.dumps(ta, sort_keys=True), json.dumps(tc, sort_keys=True))
        self.assertGreater(a.conv_count, 50)
        d = self.run_model([3600 * 1000], seed=43)
        self.assertNotEqual(json.dumps(d.truth(), sort_keys=True),
                            json.dumps(ta, sort_keys=True))

    def test_conservation(self):
        m = self.run_model([2 * 3600 * 1000])
        # every agent counted once org-wide; queue counters equal a recount
        self.assertEqual(sum(m.org_presence), len(m.agents))
        for q in m.queues:
            pres = [0] * len(simmodel.PRESENCES)
            for ai in q.members:
                a = m.agents[ai]
                if q.idx in a.joined:
                    pres[a.presence] += 1
            self.assertEqual(pres, q.by_presence)
            busy = sum(1 for ai in q.members if m.agents[ai].seg is not None
                       and m.agents[ai].seg.q == q.idx and m.agents[ai].seg.conv.state
                       == "connected" and m.agents[ai].seg.conv.agent is m.agents[ai])
            self.assertEqual(sum(len(d) for d in q.interacting.values()), busy)
            for med, cum in q.cum.items():
                off, ans, ab, tr = cum
                inq = len(q.waiting[med]) + len(q.alerting[med])
                self.assertLessEqual(ans + ab + inq, off + 0)

    def test_agg_late_until_released(self):
        # agg_late with a lateness longer than the test: the moments stay
        # hidden from the aggregates until agg_release shows them
        s = simmodel.WindowStore(["nOffered"])
        s.late_share, s.late_ms = 1.0, 3600000
        s.add(60000, (0, "voice", None), "nOffered")
        s.flush(120000)
        keyfn = lambda k: k  # noqa: E731
        self.assertEqual(s.hidden(0, 120000, keyfn), 1)
        self.assertEqual(s.query(0, 120000, 120000, keyfn, ["nOffered"]), {})
        self.assertEqual(s.release(), 1)
        self.assertEqual(s.hidden(0, 120000, keyfn), 0)
        got = s.query(0, 120000, 120000, keyfn, ["nOffered"])
        self.assertEqual([v["nOffered"][0] for v in got.values()], [1])

    def test_scale_build(self):
        t0 = time.time()
        m = simmodel.Model(seed=1, n_queues=1000, n_agents=10000, n_flows=50,
                           start_ms=1_700_000_000_000)
        m.advance_to(m.now + 60000)
        self.assertLess(time.time() - t0, 30)
        self.assertEqual(len({q.name for q in m.queues}), 1000)


if __name__ == "__main__":
    unittest.main()


class T11Forms(unittest.TestCase):
    """Each answer form (README, "Answer forms") decodes to the same truth;
    the forms change at run time; the system-message faults."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--speed", 60, "--queues", 8, "--agents", 80, "--seed", 5, "--quiet",
                      "--heartbeat", 1)
        cls.c = cls.sim.client()
        cls.ids = queue_ids(cls.c)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def forms(self, **kw):
        st, js = self.sim.sim("POST", "/sim/forms", kw)
        self.assertEqual(st, 200, js)
        return js

    def test_defaults_and_validation(self):
        st, js = self.sim.sim("GET", "/sim/forms")
        self.assertEqual(js["forms"], {"longest_form": "epoch", "presence_qualifier": "id",
                                       "onqueue_form": "qualified", "presence_spelling": "display",
                                       "topic_presence_spelling": "enum",
                                       "obs_aggregates": "on", "action_stats": "full",
                                       "action_group": "id", "action_errors": "status",
                                       "platform_metrics": "list", "offline_metrics": "stale",
                                       "trunk_next_uri": "drop", "status_group_link": "both",
                                       "unattributed": "org",
                                       "details_sessions": "internal",
                                       "details_hits": "approximate",
                                       "details_order_by": "sorted",
                                       "usage_events_zeros": "omit",
                                       "definitions_listing": "entities",
                                       "usage_date": "present", "usage_zeros": "present",
                                       "usage_status": "present", "usage_jobs": "served",
                                       "usage_legacy": "served", "usage_next": "uri",
                                       "usage_client_ref": "full", "ewt_results": "one",
                                       "campaign_topic": "sdk",
                                       "campaign_connect_ratio": "fraction",
                                       "campaign_progress_counts": "all",
                                       "adherence_answer": "entities",
                                       "adherence_download": "presigned",
                                       "agent_predicates": "current",
                                       "workitem_oldest": "age", "workitem_page": "full",
                                       "workitem_words": "record",
                                       "resolution_metric_extra": "none",
                                       "bot_query": "sum"})
        self.assertEqual(self.sim.sim("GET", "/sim/info")[1]["forms"], js["forms"])
        for bad in ({"longest_form": "minutes"}, {"nope": "x"}):
            st, js2 = self.sim.sim("POST", "/sim/forms", bad)
            self.assertEqual(st, 400, js2)
        self.assertEqual(self.sim.sim("GET", "/sim/forms")[1]["forms"], js["forms"])

    @staticmethod
    def drain(ws, quiet=0.3):
        """Reads until nothing came for `quiet` seconds."""
        ws.settimeout(quiet)
        try:
            while True:
                ws.recv_json()
        except (socket.timeout, OSError):
            pass
        ws.settimeout(5)

    def collect(self, ws, want, timeout=5):
        """Observation-topic messages until `want` groups of each kind arrived."""
        obs, agg = {}, {}
        t0 = time.time()
        while time.time() - t0 < timeout and (len(obs) < want[0] or len(agg) < want[1]):
            k, m = ws.recv_json(skip_heartbeat=True)
            self.assertEqual(k, "json")
            b = m["eventBody"]
            g = (b["group"]["queueId"], b["group"].get("mediaType"))
            ms = b["data"][0]["metrics"]
            if {x["metric"] for x in ms} & O_METRICS:
                obs[g] = (b["data"][0]["interval"], ms)
            else:
                agg[g] = (b["data"][0]["interval"], ms)
        return obs, agg

    def test_pushes_decode_to_truth_in_every_form(self):
        c, sim = self.c, self.sim
        ch = open_channel(c, ["v2.analytics.queues.%s.observations" % q for q in self.ids])
        ws = WsClient(ch["connectUri"])
        mappings = c.request("POST", "/api/v2/analytics/queues/observations/query", {
            "filter": or_filter("queueId", self.ids[:1]),
            "metrics": ["oUserPresences"]})[2]["systemToOrganizationMappings"]
        time.sleep(1.5)           # let the window aggregates fill
        sim.fault(fault="pause")
        try:
            time.sleep(1.1)       # groups held back by the rate limit go out
            self.drain(ws)
            truth = sim.truth("?buckets=0")
            now = truth["sim_time_ms"]
            ws0 = now - now % 1800000
            window = simmodel.iso(ws0) + "/" + simmodel.iso(ws0 + 1800000)
            agg_q = c.request("POST", "/api/v2/analytics/conversations/aggregates/query", {
                "interval": simmodel.iso(ws0) + "/" + simmodel.iso(ws0 + 1800000),
                "groupBy": ["queueId"], "metrics": list(simmodel.WINDOW_METRICS)})[2]
            agg_truth = {(r["group"]["queueId"], r["group"]["mediaType"]):
                         {m["metric"]: m["stats"] for m in r["data"][0]["metrics"]}
                         for r in agg_q["results"]}
            n_groups = sum(1 + len(t["media"]) for t in truth["queues"].values())
            for forms in ({"longest_form": "epoch", "presence_qualifier": "id",
                           "onqueue_form": "qualified", "obs_aggregates": "on"},
                          {"longest_form": "duration", "presence_qualifier": "system",
                           "onqueue_form": "total", "obs_aggregates": "off"},
                          {"longest_form": "epoch", "presence_qualifier": "id",
                           "onqueue_form": "both", "obs_aggregates": "on"}):
                with self.subTest(**forms):
                    js = self.forms(republish=True, **forms)
                    self.assertEqual(js["republished_groups"], n_groups)
                    want_agg = len(agg_truth) if forms["obs_aggregates"] == "on" else 0
                    obs, agg = self.collect(ws, (n_groups, want_agg))
                    now_ms = time.time() * 1000
                    self.drain(ws, 0.2)
                    self.assertEqual(len(obs), n_groups)
                    self.assertEqual(len(agg), want_agg)
                    for (qid, media), (iv, ms) in obs.items():
                        d = {}
                        for m in ms:
                            d.setdefault(m["metric"], {})[m.get("qualifier")] = m["stats"]
                        tq = truth["queues"][qid]
                        if media is None:
                            on, ps, rs = decode_user_group(self, d, mappings, forms)
                            self.assertEqual(on, tq["agents"]["on_queue"])
                            self.assertEqual(ps, tq["agents"]["presence"])
                            self.assertEqual(rs, tq["agents"]["routing"])
                            continue
                        tm = tq["media"][media]
                        self.assertEqual(d["oWaiting"][None]["count"], tm["waiting"])
                        slack = 1500 if forms["longest_form"] == "epoch" else 0
                        for mt, key in (("oLongestWaiting", "longest_waiting_ms"),
                                        ("oLongestInteracting", "longest_interacting_ms")):
                            v = decode_longest(self, d[mt][None], forms["longest_form"],
                                               now_ms)
                            self.assertGreaterEqual(v, tm[key] - 1, (mt, forms))
                            self.assertLessEqual(v, tm[key] + slack, (mt, forms))
                    for g, (iv, ms) in agg.items():
                        self.assertEqual(iv, window)
                        got = {m["metric"]: m["stats"] for m in ms}
                        self.assertFalse(set(got) & O_METRICS)
                        self.assertEqual(got, agg_truth[g], g)
            # flipping forms leaves the truth alone
            t2 = sim.truth("?buckets=0")
            self.assertEqual(t2["queues"], truth["queues"])
            self.assertEqual(t2["agents"], truth["agents"])
        finally:
            self.forms(longest_form="epoch", presence_qualifier="id", onqueue_form="qualified",
                       obs_aggregates="on")
            sim.fault(fault="resume")
            ws.close()

    def test_epoch_is_wall_clock_when_sim_runs_behind(self):
        """--start in the past (the default start is the hour): epoch values
        are wall-clock instants, so now - value stays a sane duration."""
        st, h, js = self.c.request("POST", "/api/v2/analytics/queues/observations/query", {
            "filter": or_filter("queueId", self.ids), "metrics": ["oLongestInteracting"]})
        now_ms = time.time() * 1000
        vals = [m["stats"]["calculatedMetricValue"] for r in js["results"] for m in r["data"]
                if "calculatedMetricValue" in m["stats"]]
        self.assertTrue(vals)
        for v in vals:
            self.assertGreater(v, now_ms - 6 * 3600000)   # speed 60: hours of sim time
            self.assertLessEqual(v, now_ms + 1)

    def test_rest_presence_spellings(self):
        c = self.c
        try:
            for spelling in ("display", "enum"):
                self.forms(presence_spelling=spelling)
                names = set(DISPLAY_TO_ENUM) if spelling == "display" else set(simmodel.PRESENCES)
                legacy = c.request("GET", "/api/v2/presencedefinitions?pageSize=5")[2]
                self.assertEqual(legacy["total"], len(simmodel.PRESENCES) + 3)
                self.assertIn("nextUri", legacy)
                allp = c.request("GET", "/api/v2/presencedefinitions?pageSize=100&deleted=ALL")[2]
                self.assertEqual(allp["total"], len(simmodel.PRESENCES) + 4)
                for e in allp["entities"]:
                    self.assertTrue({"id", "name", "languageLabels", "systemPresence",
                                     "deactivated", "primary"} <= set(e))
                    self.assertIn(e["systemPresence"], names)
                self.assertEqual(sum(1 for e in allp["entities"] if e["deactivated"]), 1)
                new = c.request("GET", "/api/v2/presence/definitions")[2]
                self.assertEqual(len(new["entities"]), len(simmodel.PRESENCES) + 3)
                dnames = set(simmodel.PRESENCE_DEFN_DISPLAY.values()) if spelling == "display" \
                    else set(simmodel.PRESENCES)
                for e in new["entities"]:
                    self.assertIn(e["systemPresence"], dnames)
                u = c.request("GET", "/api/v2/users?pageSize=5&expand=presence")[2]["entities"]
                for x in u:
                    self.assertIn(x["presence"]["presenceDefinition"]["systemPresence"], names)
                mem = c.request("GET", "/api/v2/routing/queues/%s/members?expand=presence"
                                % self.ids[0])[2]["entities"]
                for x in mem:
                    self.assertNotIn("presence", x)     # QueueMember has none; its user has
                    self.assertIn(x["user"]["presence"]["presenceDefinition"]["systemPresence"],
                                  names)
            # custom definitions are in use: some user is in a non-primary one
            # (a third of MEAL, BREAK and BUSY entries; at one instant there
            # may be none of those, so the users are read until one is, an
            # hour of the model at most)
            primary = {e["id"] for e in allp["entities"] if e["primary"]}

            def custom():
                allu = c.request("GET", "/api/v2/users?pageSize=500&expand=presence")[2]
                return [x for x in allu["entities"]
                        if x["presence"]["presenceDefinition"]["id"] not in primary]
            self.assertTrue(wait_for(custom, timeout=60, step=0.5),
                            "no user entered a custom presence in an hour of the model")
        finally:
            self.forms(presence_spelling="display")

    def test_topic_presence_spelling(self):
        c = self.c
        users = c.request("GET", "/api/v2/users?pageSize=80")[2]["entities"]
        ch = open_channel(c, ["v2.users.%s.activity" % u["id"] for u in users])
        ws = WsClient(ch["connectUri"])
        try:
            for spelling, names in (("display", set(DISPLAY_TO_ENUM)),
                                    ("enum", set(simmodel.PRESENCES))):
                self.forms(topic_presence_spelling=spelling)
                seen = 0
                t0 = time.time()
                ws.settimeout(5)
                while seen < 3 and time.time() - t0 < 6:
                    k, m = ws.recv_json(skip_heartbeat=True)
                    if time.time() - t0 < 0.2:
                        continue            # sent before the flip
                    sp = m["eventBody"]["presence"]["presenceDefinition"]["systemPresence"]
                    self.assertIn(sp, names)
                    seen += 1
                self.assertEqual(seen, 3)
        finally:
            self.forms(topic_presence_spelling="enum")
            ws.close()

    def test_no_longer_subscribed(self):
        c, sim = self.c, self.sim
        topics = ["v2.analytics.queues.%s.observations" % q for q in self.ids[:4]]
        ch = open_channel(c, topics)
        ws = WsClient(ch["connectUri"])
        n0 = sim.stats()["system_messages"].get("no_longer_subscribed", 0)
        r = sim.fault(fault="no_longer_subscribed", channel=ch["id"], topics=topics[:2])
        self.assertEqual((r["channels"], r["topics"], r["messages"]), (1, 2, 1))
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("topicName", "").startswith("v2.system."), 5)
        self.assertEqual(m["topicName"], "v2.system.no_longer_subscribed." + ch["id"])
        b = m["eventBody"]
        self.assertEqual((b["systemTopicType"], b["channelId"], b["reason"]),
                         ("no_longer_subscribed", ch["id"], "another_channel_subscribed"))
        self.assertEqual(b["data"]["topics"], topics[:2])
        base = "/api/v2/notifications/channels/%s/subscriptions" % ch["id"]
        self.assertEqual({e["id"] for e in c.request("GET", base)[2]["entities"]},
                         set(topics[2:]))
        # the dropped topics are no longer published
        ws.settimeout(0.3)
        t0 = time.time()
        while time.time() - t0 < 1.5:
            try:
                k, m = ws.recv_json(skip_heartbeat=True)
            except (socket.timeout, OSError):
                continue
            self.assertIn(m["topicName"], topics[2:])
        r = sim.fault(fault="no_longer_subscribed", channel=ch["id"], count=1)
        self.assertEqual(r["topics"], 1)
        self.assertEqual(sim.stats()["system_messages"]["no_longer_subscribed"], n0 + 2)
        ws.close()

    def test_subscription_changed_and_other_system_messages(self):
        """subscription_changed drops topics as no_longer_subscribed does
        and says so on v2.system.{orgId}.{channelId}; system_message sends
        a type no client knows there, changing nothing."""
        c, sim = self.c, self.sim
        topics = ["v2.analytics.queues.%s.observations" % q for q in self.ids[:3]]
        ch = open_channel(c, topics)
        ws = WsClient(ch["connectUri"])
        r = sim.fault(fault="subscription_changed", channel=ch["id"], topics=topics[:1])
        self.assertEqual((r["channels"], r["topics"], r["messages"]), (1, 1, 1))
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("topicName", "").startswith("v2.system."), 5)
        parts = m["topicName"].split(".")
        self.assertEqual((len(parts), parts[2], parts[3]),
                         (4, m["eventBody"]["organizationId"], ch["id"]))
        self.assertEqual(m["eventBody"]["systemTopicType"], "subscription_changed")
        base = "/api/v2/notifications/channels/%s/subscriptions" % ch["id"]
        self.assertEqual({e["id"] for e in c.request("GET", base)[2]["entities"]},
                         set(topics[1:]))
        r = sim.fault(fault="system_message", channel=ch["id"])
        self.assertEqual(r["messages"], 1)
        m, _ = recv_until(ws, lambda m: isinstance(m, dict) and
                          m.get("topicName", "").startswith("v2.system."), 5)
        self.assertEqual(m["topicName"], "v2.system.%s.%s" % (parts[2], ch["id"]))
        self.assertEqual(m["eventBody"]["systemTopicType"], "maintenance_notice")
        self.assertEqual({e["id"] for e in c.request("GET", base)[2]["entities"]},
                         set(topics[1:]))
        ws.close()

    def test_token_revoked(self):
        sim = self.sim
        c = sim.client()
        ch = open_channel(c, ["v2.analytics.queues.%s.observations" % self.ids[0]])
        ws = WsClient(ch["connectUri"])
        st0 = sim.stats()
        r = sim.fault(fault="token_revoked", channel=ch["id"])
        self.assertEqual((r["revoked"], r["channels"], r["messages"]), (1, 1, 1))
        m, seen = recv_until(ws, lambda m: isinstance(m, tuple) and m[0] == "close", 5)
        self.assertEqual(m, ("close", 1000))
        sysm = [x for x in seen if isinstance(x, dict) and
                x.get("topicName", "").startswith("v2.system.")]
        self.assertEqual([x["topicName"] for x in sysm], ["v2.system.token_revoked." + ch["id"]])
        self.assertEqual(sysm[0]["eventBody"]["systemTopicType"], "token_revoked")
        self.assertEqual(c.request("GET", "/api/v2/routing/queues")[0], 401)
        self.assertEqual(self.c.request("GET", "/api/v2/routing/queues")[0], 200)  # other token
        # a client that retries the dead channel gets 404 handshakes, counted
        with self.assertRaisesRegex(ConnectionError, "handshake status 404"):
            WsClient(ch["connectUri"])
        st1 = sim.stats()
        self.assertEqual(st1["ws_upgrades_unknown_channel"],
                         st0["ws_upgrades_unknown_channel"] + 1)
        self.assertEqual(st1["system_messages"]["token_revoked"],
                         st0["system_messages"].get("token_revoked", 0) + 1)


def decode_gauges(body, now_ms, sysname):
    """The live gauges an observation message gives, named as the plugin
    names them: {(media, type, type_instance): value}; longest_* as `since`
    (sim ms, 0 for none) from the duration form; None for an aggregate-only
    message.  sysname maps org presence ids (None: system presence names)."""
    media = body["group"].get("mediaType")
    d = {}
    for x in body["data"][0]["metrics"]:
        d.setdefault(x["metric"], {})[x.get("qualifier")] = x["stats"]
    if not set(d) & O_METRICS:
        return None
    out = {}
    if media is not None:
        for metric, ty in (("oWaiting", "waiting"), ("oInteracting", "interacting"),
                           ("oAlerting", "alerting")):
            out[(media, ty, media)] = d[metric][None]["count"]
        for metric, ty in (("oLongestWaiting", "longest_waiting"),
                           ("oLongestInteracting", "longest_interacting")):
            v = d[metric][None].get("calculatedMetricValue")
            out[(media, ty, media)] = 0 if v is None else now_ms - v
        return out
    for metric, ti in (("oMemberUsers", "member"), ("oActiveUsers", "active"),
                       ("oOffQueueUsers", "off_queue")):
        out[(None, "agents", ti)] = d[metric][None]["count"]
    out[(None, "agents", "on_queue")] = sum(v["count"] for v in
                                             d.get("oOnQueueUsers", {}).values())
    for r in simmodel.SUMMARY_ROUTING:
        out[(None, "agents_routing", r)] = 0
    for p in simmodel.SUMMARY_PRESENCES:
        out[(None, "agents_presence", p)] = 0
    for k, v in d.get("oUserRoutingStatuses", {}).items():
        out[(None, "agents_routing", k.lower())] = v["count"]
    for k, v in d.get("oUserPresences", {}).items():
        sp = sysname[k] if sysname is not None else k
        out[(None, "agents_presence", sp.lower())] += v["count"]
    return out


class FrameSink:
    """Stands for a connected socket in an in-process App: decodes the
    frames the hub sends, with the model's time."""

    def __init__(self, model):
        self.model = model
        self.closed = False
        self.messages = []

    def send_frame(self, frame, kind=None):
        n = frame[1] & 0x7f
        off = 2
        if n == 126:
            off = 4
        elif n == 127:
            off = 10
        self.messages.append((self.model.now, json.loads(frame[off:].decode())))
        return True  # sent, as WsConn.send_frame says


class T12Summaries(unittest.TestCase):
    """The live-gauge summaries truth (README, "Summaries truth"): the
    window computation on hand-built timelines, the recorder against what
    the hub publishes, and /sim/truth/summaries."""

    @staticmethod
    def tv(*points):
        from array import array
        return array("q", [x for p in points for x in p])

    def test_summary_levels(self):
        tv = self.tv((5000, 4), (12000, 6), (15000, 2), (25000, 9))
        r = simmodel.summarize(tv, 10000, 20000)
        self.assertEqual((r["min"], r["max"]), (2, 6))
        # 4 for 2 s, 6 for 3 s, 2 for 5 s
        self.assertAlmostEqual(r["mean"], (4 * 2 + 6 * 3 + 2 * 5) / 10)
        self.assertFalse(r["partial"])
        for k in ("min", "max", "mean"):
            self.assertEqual(r[k + "_lo"], r[k])
            self.assertEqual(r[k + "_hi"], r[k])
        # no point within 500 ms of a boundary: min and max stay exact; the
        # two inner changes (+2, -4) may move 500 ms either way
        r = simmodel.summarize(tv, 10000, 20000, 500)
        self.assertEqual((r["min_lo"], r["min"], r["min_hi"]), (2, 2, 2))
        self.assertEqual((r["max_lo"], r["max"], r["max_hi"]), (6, 6, 6))
        self.assertAlmostEqual(r["mean_lo"], 3.6 - (2 + 4) * 0.5 / 10)
        self.assertAlmostEqual(r["mean_hi"], 3.6 + (2 + 4) * 0.5 / 10)
        # the value carried in from before the window
        r = simmodel.summarize(tv, 20000, 30000)
        self.assertEqual((r["min"], r["max"]), (2, 9))
        self.assertAlmostEqual(r["mean"], (2 * 5 + 9 * 5) / 10)
        # no value yet in the window, or after the last change
        self.assertIsNone(simmodel.summarize(tv, 0, 5000))
        r = simmodel.summarize(tv, 30000, 40000)
        self.assertEqual((r["min"], r["max"], r["mean"]), (9, 9, 9))
        # first seen within the window: partial, over what it covers
        r = simmodel.summarize(tv, 0, 10000)
        self.assertTrue(r["partial"])
        self.assertEqual(r["covered_from_ms"], 5000)
        self.assertEqual((r["min"], r["max"], r["mean"]), (4, 4, 4))

    def test_summary_change_within_tolerance_of_a_boundary(self):
        # 8 from 10.2 s, 1 from 19.9 s: within 500 ms of both boundaries
        tv = self.tv((5000, 4), (10200, 8), (19900, 1))
        r = simmodel.summarize(tv, 10000, 20000, 500)
        self.assertEqual((r["min"], r["max"]), (1, 8))
        self.assertAlmostEqual(r["mean"], (4 * 200 + 8 * 9700 + 1 * 100) / 10000)
        # the 4 may end before the window, the 1 begin after it: only the 8
        # is sure to be in the window
        self.assertEqual((r["min_lo"], r["min_hi"]), (1, 8))
        self.assertEqual((r["max_lo"], r["max_hi"]), (8, 8))
        self.assertAlmostEqual(r["mean_lo"], (4 * 700 + 8 * 8700 + 1 * 600) / 10000)
        self.assertAlmostEqual(r["mean_hi"], 8.0)
        # the window before sees the 8 only within the tolerance
        r = simmodel.summarize(tv, 0, 10000, 500)
        self.assertEqual((r["max"], r["max_hi"]), (4, 8))

    def test_summary_longest(self):
        # the oldest waits since 2 s; nobody from 14 s; one since 15 s from 16 s
        tv = self.tv((5000, 2000), (14000, 0), (16000, 15000))
        r = simmodel.summarize(tv, 10000, 20000, longest=True)
        self.assertEqual((r["min"], r["max"]), (0, 12.0))
        # (8 s -> 12 s over 4 s) + 0 + (1 s -> 5 s over 4 s), per 10 s
        self.assertAlmostEqual(r["mean"], (4 * 10 + 4 * 3) / 10)
        r = simmodel.summarize(tv, 10000, 20000, 500, longest=True)
        self.assertEqual((r["min_lo"], r["min_hi"]), (0, 0))
        self.assertEqual((r["max_lo"], r["max_hi"]), (11.0, 13.0))
        self.assertAlmostEqual(r["mean_lo"], 4.2)
        self.assertAlmostEqual(r["mean_hi"], 6.3)
        # growing 1 s per s in a window without changes
        r = simmodel.summarize(self.tv((0, 1000)), 10000, 20000, longest=True)
        self.assertEqual((r["min"], r["max"], r["mean"]), (9.0, 19.0, 14.0))

    def test_summary_bounds_hold_for_any_arrival(self):
        """Random timelines, each point moved by up to the tolerance (order
        kept, `since` moved too): the figures stay within the bounds."""
        import random
        rng = random.Random(5)
        checked = 0
        for _ in range(600):
            longest = rng.random() < 0.5
            tol = rng.choice([0, 50, 300, 1500])
            ts = sorted(rng.sample(range(10, 30000, 10), rng.randint(0, 10)))
            ts = [0] + ts
            vs = [(0 if rng.random() < 0.3 else max(1, t - rng.randint(0, 8000)))
                  if longest else rng.randint(0, 9) for t in ts]
            start = rng.randrange(2000, 25000, 10)
            end = start + rng.choice([500, 2000, 10000])
            r = simmodel.summarize(self.tv(*zip(ts, vs)), start, end, tol, longest)
            for _ in range(10):
                prev, pts = -1, []
                for t, v in zip(ts, vs):
                    prev = max(prev, t + rng.randint(-tol, tol))
                    if longest and v > 0:
                        v = max(1, v + rng.randint(-tol, tol))
                    pts.append((prev, v))
                x = simmodel.summarize(self.tv(*pts), start, end, 0, longest)
                for k in ("min", "max", "mean"):
                    self.assertLessEqual(r[k + "_lo"] - 1e-9, x[k], (k, ts, vs, pts))
                    self.assertLessEqual(x[k], r[k + "_hi"] + 1e-9, (k, ts, vs, pts))
                checked += 1
        self.assertGreater(checked, 5000)

    def test_summary_recorder_follows_publishes(self):
        """A real App and Hub in-process: every gauge's recorded timeline is
        the sequence of values the socket received (changes only), nothing
        while no socket listens, and the org-wide agents follow activity
        messages and user documents."""
        import gensim
        import simapi
        opts = gensim.parse_args(["--quiet", "--longest-form", "duration",
                                  "--obs-aggregates", "off"])
        start = 1_700_000_000_000
        model = simmodel.Model(seed=7, n_queues=6, n_agents=90, n_flows=2,
                               start_ms=start - 300000, arrival_scale=3)
        model.advance_to(start)
        app = simapi.App(opts, model, simapi.Clock(start, 1))
        ch = simapi.Channel("c1", "t", opts.client_id, 3600)
        sink = ch.ws = FrameSink(model)
        app.channels[ch.id] = ch
        queues = model.queues[:3]
        users = sorted({ai for q in queues for ai in q.members})
        app._set_topics(ch, ["v2.analytics.queues.%s.observations" % q.id for q in queues] +
                        ["v2.users.%s.activity" % model.agents[ai].id for ai in users])
        rec = model.summaries
        # counted from the subscription, states not known yet
        org = {(s["type"], s["type_instance"]): s["points"] for s in rec.timelines(["org"])}
        self.assertEqual(org[("org_agents", "total")], [[start, len(users)]])
        self.assertEqual(sum(p[-1][1] for k, p in org.items() if k[0] == "org_agents_routing"),
                         0)

        def run(seconds):
            for _ in range(seconds):
                model.advance_to(model.now + 1000)
                app.hub.flush_observations(force=True)
        run(200)
        # no socket: nothing is served, nothing recorded
        ch.ws = None
        before = json.dumps(rec.timelines())
        run(30)
        self.assertEqual(json.dumps(rec.timelines()), before)
        ch.ws = sink
        run(30)

        want = {}
        for now, m in sink.messages:
            b = m["eventBody"]
            if not m["topicName"].endswith(".observations"):
                continue
            g = decode_gauges(b, now, model.opres_sysname)
            for (media, ty, ti), v in g.items():
                pts = want.setdefault((b["group"]["queueId"], media, ty, ti), [])
                if not pts or pts[-1][1] != v:
                    pts.append([now, v])
        got = {(s["queue"], s["media"], s["type"], s["type_instance"]): s["points"]
               for s in rec.timelines()}
        org = {k: v for k, v in got.items() if k[0] == "org"}
        got = {k: v for k, v in got.items() if k[0] != "org"}
        self.assertEqual(set(got), set(want))
        self.assertEqual({k[0] for k in got}, {q.id for q in queues})
        self.assertEqual(got, want)
        changes = sum(len(p) - 1 for p in got.values())
        self.assertGreater(changes, 100)
        for ty in ("waiting", "longest_waiting", "agents_routing"):
            self.assertTrue(any(len(p) > 2 for k, p in got.items() if k[2] == ty), ty)
        # org agents: what activity messages said, then a user baseline
        routing_changes = sum(len(p) - 1 for k, p in org.items()
                              if k[2] == "org_agents_routing")
        self.assertGreater(routing_changes, 5)
        app._listed([(model.agents[ai], True, True) for ai in users], False)
        last = {(s["type"], s["type_instance"]): s["points"][-1][1]
                for s in rec.timelines(["org"])}
        self.assertEqual(last[("org_agents", "total")], len(users))
        for i, r in enumerate(simmodel.SUMMARY_ROUTING):
            self.assertEqual(last[("org_agents_routing", r)],
                             sum(1 for ai in users if model.agents[ai].routing == i), r)
        for i, p in enumerate(simmodel.SUMMARY_PRESENCES):
            self.assertEqual(last[("org_agents_presence", p)],
                             sum(1 for ai in users if model.agents[ai].presence == i), p)
        # pruned with the model: the point in effect at the cut stays
        model.retention_ms = 60000
        model.prune()
        for s in rec.timelines():
            self.assertTrue(len(s["points"]) == 1 or s["points"][1][0] > model.now - 60000)

    def test_summary_endpoint(self):
        """gensim end to end: the figures of /sim/truth/summaries come from
        values the socket received; a query answer is recorded too."""
        sim = Sim("--speed", 30, "--queues", 6, "--agents", 120, "--seed", 4, "--quiet",
                  "--longest-form", "duration", "--presence-qualifier", "system",
                  "--heartbeat", 1, "--arrival-scale", 3)
        try:
            c = sim.client()
            ids = queue_ids(c)
            users = [u["id"] for u in c.request("GET", "/api/v2/users?pageSize=40")[2]
                     ["entities"]]
            ch = open_channel(c, ["v2.analytics.queues.%s.observations" % q for q in ids[:3]] +
                              ["v2.users.%s.activity" % u for u in users])
            ws = WsClient(ch["connectUri"])
            ws.settimeout(5)
            seen = {}
            t0 = time.time()
            while time.time() - t0 < 5:
                k, m = ws.recv_json(skip_heartbeat=True)
                if m["topicName"].endswith(".observations"):
                    g = decode_gauges(m["eventBody"], 0, None)
                    for (media, ty, ti), v in (g or {}).items():
                        if not ty.startswith("longest_"):
                            seen.setdefault((m["eventBody"]["group"]["queueId"], ty, ti),
                                            set()).add(v)
            sim.fault(fault="pause")
            ws.close()
            st, js = sim.sim("GET", "/sim/truth/summaries?window_ms=10000&tolerance_ms=2000")
            self.assertEqual(st, 200, js)
            now = js["sim_time_ms"]
            rows = js["summaries"]
            self.assertGreater(js["windows"], 5)
            self.assertEqual({r["queue"] for r in rows}, set(ids[:3]) | {"org"})
            full = 0
            for r in rows:
                self.assertEqual(r["end_ms"] - r["start_ms"], 10000)
                self.assertEqual(r["start_ms"] % 10000, 0)
                self.assertLessEqual(r["end_ms"], now)
                for k in ("min", "max", "mean"):
                    self.assertLessEqual(r[k + "_lo"], r[k], r)
                    self.assertLessEqual(r[k], r[k + "_hi"], r)
                self.assertLessEqual(r["min"], r["mean"] + 1e-9)
                self.assertLessEqual(r["mean"], r["max"] + 1e-9)
                if r["queue"] != "org" and not r["type"].startswith("longest_"):
                    vals = seen[(r["queue"], r["type"], r["type_instance"])]
                    self.assertIn(r["min"], vals, r)
                    self.assertIn(r["max"], vals, r)
                full += not r["partial"]
            self.assertGreater(full, 100)
            # a query answer is served state too (a queue nobody subscribed)
            q5 = ids[5]
            st, _, ans = c.request("POST", "/api/v2/analytics/queues/observations/query", {
                "filter": or_filter("queueId", [q5]), "metrics": sorted(O_METRICS)})
            self.assertEqual(st, 200)
            st, tl = sim.sim("GET", "/sim/truth/timelines?queues=" + q5)
            got = {(s["media"], s["type"], s["type_instance"]): s["points"]
                   for s in tl["series"]}
            want = {}
            for res in ans["results"]:
                want.update(decode_gauges({"group": res["group"], "data": [
                    {"metrics": res["data"]}]}, now, None))
            self.assertEqual(got, {k: [[now, v]] for k, v in want.items()})
            # org agents: the users subscribed, as the user documents give them
            c.request("GET", "/api/v2/users?pageSize=500&expand=routingStatus,presence")
            states = sim.truth("?agents=1&buckets=0")["agent_states"]
            st, js = sim.sim("GET", "/sim/truth/timelines?queues=org")
            last = {(s["type"], s["type_instance"]): s["points"][-1][1] for s in js["series"]}
            self.assertEqual(last[("org_agents", "total")], len(users))
            for r in simmodel.SUMMARY_ROUTING:
                self.assertEqual(last[("org_agents_routing", r)], sum(
                    1 for u in users if states[u]["routing"].lower() == r), r)
            for p in simmodel.SUMMARY_PRESENCES:
                self.assertEqual(last[("org_agents_presence", p)], sum(
                    1 for u in users if states[u]["presence"].lower() == p), p)
            # parameters
            self.assertEqual(sim.sim("GET", "/sim/truth/summaries")[0], 400)
            self.assertEqual(sim.sim("GET", "/sim/truth/summaries?window_ms=10&from_ms=0")[0],
                             400)
            st, js = sim.sim("GET", "/sim/truth/summaries?window_ms=10000&queues=" + ids[0])
            self.assertEqual({r["queue"] for r in js["summaries"]}, {ids[0]})
        finally:
            sim.stop()
