# SPDX-License-Identifier: MIT
"""Operational events of the simulated org (README, "Operational
events"): the event definitions listed by GET /api/v2/usage/events/
definitions, and per definition and minute a few events, deterministic
from the seed. The events aggregates query (one count per definition for
the interval asked: the request has an interval and nothing else) and
/sim/truth/events are both computed from them, so they agree for any
interval. Genesys keeps operational events 10 days: older ones are gone."""

import random
import zlib

from simmodel import det_uuid, iso

SLOT_MS = 60000
RETENTION_MS = 10 * 86400 * 1000
# Names and descriptions: made up, in the spirit of the Operational Console
# (a data action failed, a flow error, ...); the record lists none.
NAMES = (("Data Action Failure", "A data action call failed"),
         ("Architect Flow Error", "A flow took its error path"),
         ("Edge Connection Lost", "An edge lost its connection to the cloud"),
         ("Trunk Registration Failure", "A SIP trunk failed to register"),
         ("Web Messaging Delivery Failure", "A message could not be delivered"),
         ("Integration Credentials Invalid", "An integration's credentials were refused"))
CACHE_MAX = 200000


class Events:
    def __init__(self, seed, n):
        r = random.Random("usage-events-%s" % seed)
        self.items = []
        for i in range(n):
            nm, desc = NAMES[i % len(NAMES)]
            if i >= len(NAMES):
                nm += " %d" % (i // len(NAMES) + 1)
            self.items.append({"id": det_uuid(r), "name": nm, "description": desc})
        self.by_id = {d["id"]: i for i, d in enumerate(self.items)}
        # events per minute: a noisy definition, a steady one, a rare one
        self.rate = [(1.5, 0.4, 0.05)[i % 3] for i in range(n)]
        self.base = zlib.crc32(("usage-events-%s" % seed).encode())
        self.cache = {}

    def slot(self, i, s):
        """The times (ms) of definition i's events in minute s."""
        key = (i, s)
        ts = self.cache.get(key)
        if ts is not None:
            return ts
        rng = random.Random((self.base * 1000003 + i) * 1000003 + s)
        k = 0
        lam = self.rate[i]
        # a small Poisson draw (at most 12)
        p, acc, term = rng.random(), 0.0, pow(2.718281828459045, -lam)
        while k <= 12:
            acc += term
            if p <= acc:
                break
            k += 1
            term *= lam / k
        ts = sorted(s * SLOT_MS + rng.randrange(SLOT_MS) for _ in range(k))
        if len(self.cache) > CACHE_MAX:
            self.cache.clear()
        self.cache[key] = ts
        return ts

    def counts(self, start, end, now):
        """{definition index: events in [start, min(end, now))}, only those
        within the retention (10 days before now: the events of the
        simulated platform go back further than the model, so a backfill has
        history to find); definitions without events are absent."""
        out = {}
        lo = max(start, now - RETENTION_MS)
        hi = min(end, now)
        if hi <= lo:
            return out
        for i in range(len(self.items)):
            c = 0
            for s in range(lo // SLOT_MS, (hi - 1) // SLOT_MS + 1):
                c += sum(1 for t in self.slot(i, s) if lo <= t < hi)
            if c:
                out[i] = c
        return out

    def answer(self, start, end, now, zeros):
        """An EventAggregatesResponse: interval and eventDefinitionAggregates
        (eventDefinition an AddressableEntityRef, eventCount); zeros: the
        definitions without events listed with 0 too (UNCONFIRMED)."""
        c = self.counts(start, end, now)
        rows = []
        for i, d in enumerate(self.items):
            if i in c or zeros:
                rows.append({"eventDefinition": {
                    "id": d["id"], "selfUri": "/api/v2/usage/events/definitions/" + d["id"]},
                    "eventCount": c.get(i, 0)})
        return {"interval": iso(start) + "/" + iso(end), "eventDefinitionAggregates": rows}

    def truth(self, gran, buckets, now):
        """Per closed bucket every definition's events (0 included)."""
        end = (now // gran) * gran
        start = end - buckets * gran
        out = {}
        for b in range(buckets):
            bs = start + b * gran
            c = self.counts(bs, bs + gran, now)
            out[iso(bs) + "/" + iso(bs + gran)] = {
                d["id"]: {"events": c.get(i, 0)} for i, d in enumerate(self.items)}
        return {"granularity_ms": gran, "sim_time_ms": now, "sim_time": iso(now),
                "retention_ms": RETENTION_MS,
                "definitions": {d["id"]: {"name": d["name"]} for d in self.items},
                "buckets": out}
