# SPDX-License-Identifier: MIT
"""API usage of the simulated org (README, "API usage"): --usage-clients
OAuth clients of the org and --usage-builtin clients of Genesys's own
(the purecloud / purecloud-builtin clients of its apps), each calling a
few route templates, with counts per UTC day that are a CRC of the seed,
the client, the route and the day, so the current service (POST
/api/v2/usage/aggregates/query/jobs, then GET .../jobs/{jobId}, paged),
the legacy usage query (POST /api/v2/usage/query, then GET
/api/v2/usage/query/{executionId}/results, without Genesys's own clients)
and /sim/truth/usage agree for any day. As Genesys computes them daily, a
day has counts only once it is over (by simulated time) and
--usage-ready-after seconds more have passed: the current day has none."""

import datetime as dt
import random
import zlib

from simmodel import det_uuid

DAY_MS = 86400 * 1000
METRICS = ("requests", "status200", "status300", "status400", "status429", "status500")
# The query's vocabularies (the usage API blueprint, README, Evidence: API usage)
GRANULARITIES = ("Day", "Week", "Month")
GROUP_BY = {"OAuthClientId": "clientId", "OrganizationId": "organizationId",
            "UserId": "userId", "TemplateUri": "templateUri", "HttpMethod": "httpMethod"}
METRIC_NAMES = {"Requests": "requests", "Status200": "status200", "Status300": "status300",
                "Status400": "status400", "Status429": "status429", "Status500": "status500"}
ROUTES = ("/api/v2/analytics/conversations/aggregates/query", "/api/v2/users/{userId}",
          "/api/v2/routing/queues", "/api/v2/conversations/{conversationId}",
          "/api/v2/notifications/channels")
# made-up names: one with characters a series name cannot hold, one without
NAMES = ("CRM sync", "Wallboard (Reporting)", "WFM export", "", "Bot connector",
         "Survey tool", "Data lake loader", "QA recorder")
# Genesys's own clients: which names they carry is not in the record
# (UNCONFIRMED); made-up names of its apps
BUILTIN_NAMES = ("Genesys Cloud web app", "Genesys Cloud mobile", "Genesys Cloud for Salesforce")
# The fields of an OrganizationPublicApiUsage row (requestCount, where the
# legacy ApiUsageRow says requests)
JOB_METRICS = {"requests": "requestCount", "status200": "status200", "status300": "status300",
               "status400": "status400", "status429": "status429", "status500": "status500"}


def parse_day_or_time(s):
    """An interval end of the forms the record shows: YYYY-MM,
    YYYY-MM-DD, YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm] (no zone: UTC).
    None when it is none of them."""
    try:
        if len(s) == 7:
            x = dt.datetime.strptime(s, "%Y-%m")
        else:
            x = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    if x.tzinfo is None:
        x = x.replace(tzinfo=dt.timezone.utc)
    return int(x.timestamp() * 1000)


def period_start(day_ms, granularity):
    """The first day of the granularity period holding day_ms (a week from
    Monday: UNCONFIRMED)."""
    if granularity == "Day":
        return day_ms
    d = dt.datetime.fromtimestamp(day_ms / 1000, dt.timezone.utc)
    if granularity == "Week":
        d -= dt.timedelta(days=d.weekday())
    else:
        d = d.replace(day=1)
    return int(d.timestamp() * 1000)


def iso_day(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_date(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")


class Usage:
    def __init__(self, seed, clients, builtin=0, ready_after_ms=0):
        r = random.Random("usage-%s" % seed)
        self.seed = seed
        self.ready_after_ms = ready_after_ms
        self.clients = []
        for i in range(clients):
            routes = [x for k, x in enumerate(ROUTES) if (i + k) % 3 != 2] or list(ROUTES[:1])
            self.clients.append({"id": det_uuid(r), "name": NAMES[i % len(NAMES)]
                                 + ("" if i < len(NAMES) else " %d" % i), "routes": routes,
                                 "builtin": False})
        rb = random.Random("usage-builtin-%s" % seed)
        for i in range(builtin):
            self.clients.append({"id": det_uuid(rb), "name": BUILTIN_NAMES[i % len(BUILTIN_NAMES)]
                                 + ("" if i < len(BUILTIN_NAMES) else " %d" % i),
                                 "routes": list(ROUTES), "builtin": True})

    def ready(self, day_ms, now_ms):
        """Whether the counts of the UTC day day_ms exist at now_ms."""
        return day_ms + DAY_MS + self.ready_after_ms <= now_ms

    def h(self, *parts):
        return zlib.crc32(("%s|" % self.seed + "|".join(map(str, parts))).encode())

    def counts(self, c, route, day_ms):
        """{metric: n} of client c on route in the UTC day day_ms; None when
        it made no request there that day (one day in seven)."""
        day = day_ms // DAY_MS
        if self.h("idle", c["id"], route, day) % 7 == 0:
            return None
        s200 = self.h("200", c["id"], route, day) % 5000
        s300 = self.h("300", c["id"], route, day) % 3
        s429 = self.h("429", c["id"], route, day) % 40 if self.h("rl", c["id"], day) % 2 else 0
        s400 = s429 + self.h("400", c["id"], route, day) % 25
        s500 = self.h("500", c["id"], route, day) % 4
        return {"requests": s200 + s300 + s400 + s500, "status200": s200, "status300": s300,
                "status400": s400, "status429": s429, "status500": s500}

    def days(self, start_ms, end_ms, now_ms):
        """The UTC days in [start, end) that are over at now_ms."""
        d = start_ms - start_ms % DAY_MS
        while d < end_ms and self.ready(d, now_ms):
            if d >= start_ms:
                yield d
            d += DAY_MS

    def rows(self, start_ms, end_ms, now_ms, granularity, group_by, date=True, zeros=True):
        """ApiUsageRow list of the query: one row per group and period (the
        whole interval without granularity, then no date)."""
        keys = [GROUP_BY[g] for g in group_by]
        groups = {}
        for c in self.clients:
            if c["builtin"]:
                continue  # the legacy service leaves Genesys's own clients out
            for route in c["routes"]:
                for d in self.days(start_ms, end_ms, now_ms):
                    n = self.counts(c, route, d)
                    if n is None:
                        continue
                    dims = {"clientId": c["id"], "templateUri": route, "httpMethod": "GET",
                            "organizationId": "", "userId": ""}
                    gk = tuple(dims[k] for k in keys)
                    p = period_start(d, granularity) if granularity else None
                    g = groups.setdefault((gk, p), {"name": c["name"], "n": dict.fromkeys(
                        METRICS, 0)})
                    if "clientId" not in keys:
                        g["name"] = ""
                    for m in METRICS:
                        g["n"][m] += n[m]
        out = []
        for (gk, p), g in sorted(groups.items(), key=lambda x: (x[0][0], x[0][1] or 0)):
            dims = dict(zip(keys, gk))
            row = {"clientId": dims.get("clientId", ""), "clientName": g["name"],
                   "organizationId": dims.get("organizationId", ""),
                   "userId": dims.get("userId", ""), "templateUri": dims.get("templateUri", ""),
                   "httpMethod": dims.get("httpMethod", "")}
            for m in METRICS:
                if zeros or g["n"][m]:
                    row[m] = g["n"][m]
            if date and p is not None:
                row["date"] = iso_day(p)
            out.append(row)
        return out

    def job_rows(self, start_ms, end_ms, now_ms, zeros=True, ref="full"):
        """OrganizationPublicApiUsage rows of a jobs query without groupBy
        ("by default the data is not aggregated"): one per day, client,
        route and method, every client (Genesys's own too), days whose
        start lies in [start, end] (the record: start and end inclusive)."""
        out = []
        end_day = end_ms - end_ms % DAY_MS
        for d in self.days(start_ms, end_day + DAY_MS, now_ms):
            for c in self.clients:
                for route in c["routes"]:
                    n = self.counts(c, route, d)
                    if n is None:
                        continue
                    client = {"id": c["id"], "selfUri": "/api/v2/oauth/clients/%s" % c["id"]}
                    if ref == "full":
                        client["name"] = c["name"]
                    row = {"date": iso_date(d), "oauthClient": client, "templateUri": route,
                           "httpMethod": "GET"}
                    for m, f in JOB_METRICS.items():
                        if zeros or n[m]:
                            row[f] = n[m]
                    out.append(row)
        return out

    def truth(self, day_ms, now_ms, service="jobs"):
        """What a consumer asking for the UTC day day_ms should have: per
        client id {name, builtin, <metric>: n} and per client and route;
        the day has none until it is ready; the legacy service has no
        Genesys client."""
        clients, routes = {}, {}
        if self.ready(day_ms, now_ms):
            for c in self.clients:
                if c["builtin"] and service == "legacy":
                    continue
                for route in c["routes"]:
                    n = self.counts(c, route, day_ms)
                    if n is None:
                        continue
                    t = clients.setdefault(c["id"], dict({"name": c["name"],
                                                          "builtin": c["builtin"]},
                                                         **dict.fromkeys(METRICS, 0)))
                    for m in METRICS:
                        t[m] += n[m]
                    routes.setdefault(c["id"], {})[route] = n
        return {"day": iso_day(day_ms), "day_ms": day_ms, "complete": self.ready(day_ms, now_ms),
                "service": service, "metrics": list(METRICS), "clients": clients,
                "routes": routes}
