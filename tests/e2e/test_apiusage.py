# SPDX-License-Identifier: MIT
"""End to end: genesys_platform's API usage per OAuth client (ApiUsage) in
the real collectd against the simulator. The simulator's usage job
answers "Queued" then "Running" (--usage-pending 2) before its pages,
counts a client's requests per UTC day, Genesys's own two clients too,
and has none for the current day. Every value dispatched (api_usage per
client: requests, status200, status300, status400, status429, status500;
api_route_usage per client and route template) equals /sim/truth/usage of
the day the plugin asked for, the last complete UTC day, and every value
of that truth was dispatched: compared both ways, every read. The job is
asked again every ApiUsageRefresh (3 s here), each one POSTed once, its
status asked until it succeeds and its pages (5 rows each here,
--usage-page-max) read to the end. A second run takes the other answer
forms (a cursor field for the next page, oauthClient without a name,
zero counts left out) with InstanceFrom id and the clients alone; a third
has the jobs route answer 404: the legacy usage query is read instead
(without Genesys's clients), said once in the log; a fourth withholds both
permissions the routes accept: one warning, no values, failures
counted."""
import bisect
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from collectd_harness import Collectd, run_tests  # noqa: E402
from receiver import Receiver  # noqa: E402
from sim_harness import Simulator  # noqa: E402
import test_platform  # noqa: E402  (sanitize(): the plugins' series names)

PLUGIN = "genesys_platform"
RUN_S = 14
REFRESH_S = 3
PENDING = 2
POST = "POST /api/v2/usage/query"
GET = "GET /api/v2/usage/query/{executionId}/results"
JOB_POST = "POST /api/v2/usage/aggregates/query/jobs"
JOB_GET = "GET /api/v2/usage/aggregates/query/jobs/{jobId}"
PAGE_ROWS = 5


sanitize = test_platform.sanitize


def expected(truth, by_id=False, per_route=True):
    """{(plugin_instance, type, type_instance): value} of the truth's day."""
    want = {}
    for cid, t in truth["clients"].items():
        label = cid if by_id or not t["name"] else sanitize(t["name"])
        for m in truth["metrics"]:
            want[(label, "api_usage", m)] = float(t[m])
        for route, n in truth["routes"].get(cid, {}).items() if per_route else ():
            for m in truth["metrics"]:
                want[(label, "api_route_usage", sanitize("%s-%s" % (m, route)))] = float(n[m])
    return want


class ApiUsage(unittest.TestCase):
    def run_usage(self, sim_args, extra, forms=None, service="jobs"):
        sim = Simulator("--queues", "1", "--agents", "2", "--start", "now",
                        "--usage-clients", "6", "--usage-pending", str(PENDING),
                        "--usage-builtin", "2", "--usage-page-max", str(PAGE_ROWS), *sim_args,
                        tls=False)
        rx = Receiver()
        block = sim.org_block(
            "acme", extra='    Host "acme"\n    Edges false\n    Trunks false\n'
            '    StatusPage false\n    ApiUsage true\n'
            f'    ApiUsageRefresh {REFRESH_S}\n' + extra)
        if forms:
            sim.forms(forms)
        cd = Collectd(f"<LoadPlugin {PLUGIN}>\n  Interval 1\n</LoadPlugin>\n"
                      f"<Plugin {PLUGIN}>\n{block}</Plugin>\n" + rx.config(),
                      stock=("logfile", "csv", "write_http"))
        try:
            cd.start()
            time.sleep(RUN_S)
            self.assertIsNone(cd.proc.poll(), "collectd exited")
            cd.stop()
            time.sleep(1.5)
            truth = sim._open("/sim/truth/usage?service=" + service)
            stats = sim.stats()
            self.log = cd.log_text()
            with rx.lock:
                arrivals = list(rx.arrivals)
            return arrivals, truth, stats, cd.bad_log_lines(
                allow=("genesys_platform plugin: Org \"acme\": API usage request failed.*",
                       "genesys_platform plugin: Org \"acme\": API usage: the usage jobs route.*"))
        finally:
            cd.cleanup()
            sim.stop()
            rx.stop()

    def compare(self, arrivals, truth, want):
        """Every read after the first complete query dispatched the truth
        whole, and nothing else. A read's values are those stamped before
        its api_usage_clients, which each read dispatches last (collectd's
        write threads need not deliver them in order)."""
        self.assertTrue(truth["complete"], truth)
        self.assertGreater(sum(v for k, v in want.items()
                               if k[1] == "api_usage" and k[2] == "status429"), 0)
        marks = sorted((t, v) for _, t, k, v in arrivals
                       if k[1:4] == (PLUGIN, "self", "api_usage_clients"))
        ends = [t for t, _ in marks]
        reads = [({}, n) for _, n in marks]
        for _, t, key, v in arrivals:
            if key[1] != PLUGIN or key[2] == "self":
                continue
            self.assertIn(key[3], ("api_usage", "api_route_usage"), key)
            i = bisect.bisect_left(ends, t)
            if i == len(reads):
                continue  # a read the stop cut short
            k = key[2:]
            self.assertNotIn(k, reads[i][0], "dispatched twice in one read: %s" % (key,))
            reads[i][0][k] = v
        full = [(r, n) for r, n in reads if r]
        # the first read asks and sees "Running"; the values follow
        self.assertEqual(reads[0], ({}, 0.0))
        self.assertGreaterEqual(len(full), RUN_S // 2, len(reads))
        for got, clients in full:
            self.assertEqual(sorted(set(got) - set(want)), [], "dispatched, not in the truth")
            self.assertEqual(sorted(set(want) - set(got)), [], "in the truth, not dispatched")
            for k, v in got.items():
                self.assertEqual(v, want[k], k)
            self.assertEqual(clients, float(len(truth["clients"])))
        # once there, there every read to the end
        first = next(i for i, (r, _) in enumerate(reads) if r)
        self.assertTrue(all(r for r, _ in reads[first:]), [len(r) for r, _ in reads])
        return len(full)

    def requests(self, stats, post=JOB_POST, get=JOB_GET, per_job=None):
        """A query every REFRESH_S, its status asked until it succeeds, its
        pages read (per_job GETs a query in all)."""
        req = stats["requests"]
        posts, gets = req[post]["total"], req[get]["total"]
        self.assertGreaterEqual(posts, 2)
        self.assertLessEqual(posts, RUN_S // REFRESH_S + 1)
        self.assertLessEqual(abs(gets - per_job * posts), per_job, (posts, gets))
        return posts, gets

    def test_per_client_and_route_equal_truth_both_ways(self):
        arrivals, truth, stats, bad = self.run_usage((), '    ApiUsageByRoute true\n')
        self.assertEqual(bad, [])
        want = expected(truth)
        self.assertTrue(any(k[1] == "api_route_usage" for k in want))
        # Genesys's own clients, in the truth and so compared
        builtin = [t["name"] for t in truth["clients"].values() if t["builtin"]]
        self.assertEqual(len(builtin), 2)
        self.assertTrue(all((sanitize(n), "api_usage", "requests") in want for n in builtin))
        self.compare(arrivals, truth, want)
        rows = sum(len(r) for r in truth["routes"].values())
        pages = -(-rows // PAGE_ROWS)
        self.assertGreater(pages, 3)
        posts, gets = self.requests(stats, per_job=PENDING + pages)
        self.assertNotIn(POST, stats["requests"])  # the legacy route never
        # the job asked: the last complete UTC day, a day's granularity,
        # no groupBy
        q = truth["last_query"]
        day = time.strftime("%Y-%m-%dT00:00:00", time.gmtime(time.time() - 86400))
        self.assertTrue(q["interval"].startswith(day + "/"), q)
        self.assertEqual(q["granularity"], "Day")
        self.assertNotIn("groupBy", q)
        self.assertEqual(stats["by_status"].get("400", 0), 0, stats["by_status"])
        self.assertNotIn("legacy", self.log)
        # counted in the self-metrics as the simulator saw them
        counted = max(v for _, _, k, v in arrivals
                      if k[1:5] == (PLUGIN, "self", "platform_requests", "api_usage"))
        self.assertLessEqual(abs(counted - (posts + gets)), PENDING + pages + 1,
                             (counted, posts, gets))

    def test_other_forms_by_id_clients_alone(self):
        arrivals, truth, stats, bad = self.run_usage(
            (), '    InstanceFrom "id"\n',
            forms={"usage_next": "cursor", "usage_client_ref": "id", "usage_zeros": "omitted"})
        self.assertEqual(bad, [])
        self.compare(arrivals, truth, expected(truth, by_id=True, per_route=False))
        rows = sum(len(r) for r in truth["routes"].values())
        self.requests(stats, per_job=PENDING + -(-rows // PAGE_ROWS))
        self.assertNotIn("not usable", self.log)

    def test_jobs_refused_falls_back_to_legacy(self):
        arrivals, truth, stats, bad = self.run_usage(
            (), '    ApiUsageByRoute true\n', forms={"usage_jobs": "absent"}, service="legacy")
        self.assertEqual(bad, [])
        self.assertFalse(any(t["builtin"] for t in truth["clients"].values()))
        self.compare(arrivals, truth, expected(truth))
        self.requests(stats, post=POST, get=GET, per_job=PENDING + 1)
        # the jobs route asked once that day (404), said once
        self.assertEqual(stats["requests"][JOB_POST]["total"], 1)
        self.assertEqual(stats["by_status"].get("404", 0), 1, stats["by_status"])
        said = re.findall(r"\[warning\] genesys_platform plugin: Org \"acme\": API usage: "
                          r"the usage jobs route .* answered 404; reading the legacy", self.log)
        self.assertEqual(len(said), 1, self.log[-3000:])
        self.assertEqual(truth["last_query"]["groupBy"], ["OAuthClientId", "TemplateUri"])

    def test_without_permission(self):
        arrivals, truth, stats, bad = self.run_usage(
            ("--deny-permission", "oauth:client:view", "--deny-permission",
             "usage:organization:view"), "")
        self.assertEqual(bad, [])
        self.assertFalse([k for _, _, k, _ in arrivals
                          if k[1] == PLUGIN and k[3] in ("api_usage", "api_route_usage")])
        warnings = re.findall(r"\[warning\] genesys_platform plugin: Org \"acme\": "
                              r"API usage: needs the OAuth permission", self.log)
        self.assertEqual(len(warnings), 1, self.log[-3000:])
        failures = [v for _, _, k, v in arrivals
                    if k[1:5] == (PLUGIN, "self", "platform_failures", "api_usage")]
        self.assertGreater(max(failures), 2)
        for get in (GET, JOB_GET):
            self.assertEqual(stats["requests"].get(get, {"total": 0})["total"], 0)


if __name__ == "__main__":
    run_tests(__name__)
