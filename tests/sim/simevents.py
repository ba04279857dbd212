# SPDX-License-Identifier: MIT
"""Operational events of the simulated org (README, "Operational
events"): the event definitions listed by GET /api/v2/usage/events/
definitions, and per definition and minute a few events, deterministic
from the seed. The events aggregates query (one count per definition for
the interval asked: the request has an interval and nothing else) and
/sim/truth/events are both computed from them, so they agree for any
interval. Genesys keeps operational events 10 days: older ones are gone.
With a lateness tail (late_share > 0) a share of the events reaches the
aggregates query only late_ms/2 to late_ms after it happened (how late
Genesys counts an event is not in the record: README, Operational events);
the truth counts every event that happened, visible or not."""

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
        self.late_share = 0.0
        self.late_ms = 0

    def visible_at(self, i, t):
        """When definition i's event at t reaches the query: at once, or for
        the late share (a CRC32 of the event picks them, the same on every
        run) late_ms/2 to late_ms later."""
        if self.late_share <= 0:
            return t
        h = zlib.crc32(b"late-%d-%d-%d" % (self.base, i, t))
        if h >= self.late_share * 4294967296.0:
            return t
        half = self.late_ms // 2
        return t + half + zlib.crc32(b"delay-%d" % h) % (self.late_ms - half + 1)

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

    def counts(self, start, end, now, visible=False, hidden=None):
        """{definition index: events in [start, min(end, now))}, only those
        within the retention (10 days before now: the events of the
        simulated platform go back further than the model, so a backfill has
        history to find); definitions without events are absent. visible:
        only those the query shows by now (the lateness tail), the others
        counted in hidden[0]."""
        out = {}
        lo = max(start, now - RETENTION_MS)
        hi = min(end, now)
        if hi <= lo:
            return out
        for i in range(len(self.items)):
            c = 0
            for s in range(lo // SLOT_MS, (hi - 1) // SLOT_MS + 1):
                for t in self.slot(i, s):
                    if not lo <= t < hi:
                        continue
                    if visible and self.visible_at(i, t) > now:
                        hidden[0] += 1
                    else:
                        c += 1
            if c:
                out[i] = c
        return out

    def answer(self, start, end, now, zeros, hidden=None):
        """An EventAggregatesResponse: interval and eventDefinitionAggregates
        (eventDefinition an AddressableEntityRef, eventCount) of the events
        visible by now (hidden[0] counts the others); zeros: the definitions
        without events listed with 0 too (UNCONFIRMED)."""
        c = self.counts(start, end, now, True, hidden if hidden is not None else [0])
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
