# SPDX-License-Identifier: MIT
"""The rate limits the simulated org comes near (README, "Rate-limit
aggregates"): deterministic from the seed, per limit and minute a few
records (Genesys records a limit when a client or user reaches 90% of it),
each with an instant, the entity (an OAuth client or a user) and the
limit's maximum. The rate-limit aggregates query and /sim/truth/ratelimits
are both computed from them, so they agree at every granularity."""

import random
import zlib

from simactions import poisson
from simmodel import det_uuid, iso

SLOT_MS = 60000
# (limitName, namespace, max, timeUnit): the first three names are those the
# public record shows (README); the last is the simulator's own, a word no
# reader knows (Genesys adds limits).
LIMITS = (("client.credentials.token.rate.per.minute", "platform.api", 300, "minute"),
          ("token.rate.per.minute", "platform.api", 300, "minute"),
          ("org.app.user.rate.per.minute", "platform.api", 3000, "minute"),
          ("sim.unknown.limit.per.hour", "sim.namespace", 1000, "hour"))
# records a minute: a busy limit, two occasional, one rare
RATES = (0.8, 0.3, 0.1, 0.05)
# and at least one record of every limit in each FLOOR_SLOTS minutes (limit
# i in minute i of them), so any half hour holds every limit: a test of the
# groups never depends on the draw
FLOOR_SLOTS = 15
# the predicate dimensions of the query (RateLimitAggregateQueryPredicate)
DIMS = {"correlationId", "entityId", "limitName", "max", "namespace", "timeUnit",
        "userId"}
METRICS = ("oRateLimitRecorded",)
CACHE_MAX = 200000


class RateLimits:
    def __init__(self, seed, start_ms):
        r = random.Random("ratelimits-%s" % seed)
        self.start_ms = start_ms
        self.entities = [det_uuid(r) for _ in range(5)]
        self.base = zlib.crc32(("ratelimit-%s" % seed).encode())
        self.cache = {}

    def slot(self, i, s):
        """Records of limit i in minute s: [(t_ms, entityId)]."""
        key = (i, s)
        ex = self.cache.get(key)
        if ex is not None:
            return ex
        rng = random.Random((self.base * 1000003 + i) * 1000003 + s)
        n = poisson(rng, RATES[i], 8)
        if n == 0 and s % FLOOR_SLOTS == i:
            n = 1
        ex = [(s * SLOT_MS + rng.randrange(SLOT_MS), rng.choice(self.entities))
              for _ in range(n)]
        if len(self.cache) > CACHE_MAX:
            self.cache.clear()
        self.cache[key] = ex
        return ex

    def records(self, start, end, now):
        """(limit index, t_ms, entityId) of every record in [start, min(end,
        now)) since the model began."""
        lo, hi = max(start, self.start_ms), min(end, now)
        if hi <= lo:
            return
        for i in range(len(LIMITS)):
            for s in range(lo // SLOT_MS, (hi - 1) // SLOT_MS + 1):
                for t, ent in self.slot(i, s):
                    if lo <= t < hi:
                        yield i, t, ent

    @staticmethod
    def dims(i, ent):
        name, ns, mx, unit = LIMITS[i]
        return {"limitName": name, "namespace": ns, "max": str(mx), "timeUnit": unit,
                "entityId": ent}

    def stats(self, start, end, gran, now, gb, pred=lambda d: True):
        """{(group items, bucket): count} of the records in [start, min(end,
        now)), grouped by the dimensions gb, those pred keeps."""
        out = {}
        for i, t, ent in self.records(start, end, now):
            d = self.dims(i, ent)
            if not pred(d):
                continue
            k = (tuple(sorted((x, d[x]) for x in gb if x in d)), (t - start) // gran)
            out[k] = out.get(k, 0) + 1
        return out

    def truth(self, gran, buckets, now):
        """Per closed bucket, the records per limitName; buckets and limits
        without any are absent."""
        end = (now // gran) * gran
        start = end - buckets * gran
        out = {}
        for (g, b), n in sorted(self.stats(start, end, gran, now, ("limitName",)).items()):
            bs = start + b * gran
            out.setdefault(iso(bs) + "/" + iso(bs + gran), {})[dict(g)["limitName"]] = n
        return {"granularity_ms": gran, "sim_time_ms": now, "sim_time": iso(now),
                "limits": [x[0] for x in LIMITS], "buckets": dict(sorted(out.items()))}
