# SPDX-License-Identifier: MIT
"""Data actions of the simulated org (README, "Data actions"): the
integrations' actions listed by GET /api/v2/integrations/actions, and
their executions, deterministic from the seed: per action and minute a few
executions, each with a time, a duration and an outcome (success or an
error type). The actions aggregates query and /sim/truth/actions are both
computed from them, so they agree at every granularity."""

import random
import zlib

from simmodel import det_uuid, iso

SLOT_MS = 60000
NAMES = ("Lookup Customer", "Get Order Status", "Create Ticket", "Check Balance",
         "Verify Account", "Update CRM Contact", "Send SMS", "Get Weather")
CATEGORIES = ("Web Services Data Actions", "Genesys Cloud Data Actions",
              "Salesforce Data Actions")
# errorType values: UNCONFIRMED (README, Data actions): the SDKs name the
# dimension, not its values.
ERROR_TYPES = ("timeout", "remoteEndpoint", "configuration")
ERROR_RATE = 0.15
# responseStatus of each outcome (UNCONFIRMED values): a success 200 (or 201,
# 204); an error type its status; and failures that carry only a non-2xx
# responseStatus, no errorType (README, Data actions): 10 % of executions.
SUCCESS_STATUSES = ("200", "200", "200", "201", "204")
ERROR_STATUS = {"timeout": "504", "remoteEndpoint": "502", "configuration": "400"}
STATUS_ONLY_RATE = 0.10
STATUS_ONLY = ("404", "500", "401", "429")
# what an errorType-only answer (form action_errors "type") names them
STATUS_ONLY_TYPE = "remoteEndpoint"
# dimensions of the actions aggregates query (groupBy and filter enums of
# ActionAggregationQuery / ActionAggregateQueryPredicate)
DIMS = {"actionCategory", "actionId", "actionName", "correlationId", "errorType",
        "integrationId", "integrationName", "responseStatus"}
METRICS = ("tTotalExecution",)
MAX_PREDICATES = 100   # per query: UNCONFIRMED, as the other analytics filters
CACHE_MAX = 200000


def poisson(rng, lam, k_max):
    """A small Poisson draw (at most k_max + 1)."""
    k, acc, p = 0, 0.0, rng.random()
    term = pow(2.718281828459045, -lam)
    while True:
        acc += term
        if p <= acc or k > k_max:
            return k
        k += 1
        term *= lam / k


def failed(status):
    """A responseStatus outside 2xx."""
    return not (status.isdigit() and 200 <= int(status) < 300)


class Actions:
    def __init__(self, seed, n, start_ms):
        er = random.Random("actions-%s" % seed)
        self.start_ms = start_ms
        self.integrations = [{"id": det_uuid(er), "name": c.split(" Data")[0]}
                             for c in CATEGORIES]
        self.items = []
        for i in range(n):
            k = i % len(CATEGORIES)
            nm = NAMES[i % len(NAMES)]
            if i >= len(NAMES):
                nm += " %d" % (i // len(NAMES) + 1)
            self.items.append({"id": det_uuid(er), "name": nm, "category": CATEGORIES[k],
                               "integrationId": self.integrations[k]["id"],
                               "version": 1 + i % 3, "secure": i % 5 == 4})
        self.by_id = {a["id"]: i for i, a in enumerate(self.items)}
        # executions per minute: busy, steady and rare actions
        self.rate = [(2.5, 1.0, 0.3)[i % 3] for i in range(n)]
        self.base = zlib.crc32(("action-exec-%s" % seed).encode())
        self.cache = {}

    def slot(self, i, s):
        """Executions of action i in minute s: [(t_ms, duration_ms, error,
        responseStatus)]; error None for a success and for a failure that
        carries only its non-2xx status."""
        key = (i, s)
        ex = self.cache.get(key)
        if ex is not None:
            return ex
        rng = random.Random((self.base * 1000003 + i) * 1000003 + s)
        lam = self.rate[i]
        k = poisson(rng, lam, 12)
        ex = []
        for _ in range(k):
            t = s * SLOT_MS + rng.randrange(SLOT_MS)
            d = 20 + int(rng.lognormvariate(5.3, 0.7))
            u = rng.random()
            err = rng.choice(ERROR_TYPES) if u < ERROR_RATE else None
            if err == "timeout":
                d += 10000
            if err is not None:
                st = ERROR_STATUS[err]
            elif u < ERROR_RATE + STATUS_ONLY_RATE:
                st = rng.choice(STATUS_ONLY)
            else:
                st = rng.choice(SUCCESS_STATUSES)
            ex.append((t, d, err, st))
        if len(self.cache) > CACHE_MAX:
            self.cache.clear()
        self.cache[key] = ex
        return ex

    def stats(self, start, end, gran, now, idxs=None):
        """{(bucket, i, error or None, responseStatus): [count, sum, min,
        max]} of the executions in [start, min(end, now)) since the model
        began."""
        out = {}
        lo, hi = max(start, self.start_ms), min(end, now)
        if hi <= lo:
            return out
        for i in (range(len(self.items)) if idxs is None else idxs):
            for s in range(lo // SLOT_MS, (hi - 1) // SLOT_MS + 1):
                for t, d, err, st in self.slot(i, s):
                    if lo <= t < hi:
                        k = ((t - start) // gran, i, err, st)
                        e = out.get(k)
                        if e is None:
                            out[k] = [1, d, d, d]
                        else:
                            e[0] += 1
                            e[1] += d
                            e[2] = min(e[2], d)
                            e[3] = max(e[3], d)
        return out

    def dims(self, i, err, status, status_form=True):
        """The dimensions of an execution group; with status_form False
        (form action_errors "type") a status-only failure is named by an
        errorType too."""
        a = self.items[i]
        d = {"actionId": a["id"], "actionName": a["name"], "actionCategory": a["category"],
             "integrationId": a["integrationId"],
             "integrationName": self.integrations[CATEGORIES.index(a["category"])]["name"]}
        if err is None and failed(status) and not status_form:
            err = STATUS_ONLY_TYPE
        if err is not None:
            d["errorType"] = err
        d["responseStatus"] = status
        return d

    def truth(self, gran, buckets, now):
        """Per closed bucket and action: executions, errors, and the sum,
        min and max of the execution times (ms). Empty buckets are absent."""
        end = (now // gran) * gran
        start = end - buckets * gran
        out = {}
        status_only = 0
        for (b, i, err, st), (c, sm, mn, mx) in sorted(
                self.stats(start, end, gran, now).items(),
                key=lambda x: (x[0][0], x[0][1], x[0][2] or "", x[0][3])):
            bs = start + b * gran
            e = out.setdefault(iso(bs) + "/" + iso(bs + gran), {}).setdefault(
                self.items[i]["id"], {"executions": 0, "errors": 0, "sum_ms": 0,
                                      "min_ms": mn, "max_ms": mx})
            e["executions"] += c
            e["errors"] += c if err is not None or failed(st) else 0
            status_only += c if err is None and failed(st) else 0
            e["sum_ms"] += sm
            e["min_ms"] = min(e["min_ms"], mn)
            e["max_ms"] = max(e["max_ms"], mx)
        return {"granularity_ms": gran, "sim_time_ms": now, "sim_time": iso(now),
                "status_only_errors": status_only,
                "actions": {a["id"]: {"name": a["name"], "category": a["category"]}
                            for a in self.items},
                "buckets": dict(sorted(out.items()))}
