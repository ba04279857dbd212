# SPDX-License-Identifier: MIT
"""Bots of the simulated org (README, "Bots"): their sessions, deterministic
from the seed: per bot and minute a few sessions, each with an instant, a
duration, how it ended (it exited the bot, or the customer disconnected in
it), recognition failures, and the questions asked and self-served. The bots
aggregates query and /sim/truth/bots are both computed from them, so they
agree at every granularity."""

import random
import zlib

from simactions import poisson
from simmodel import det_uuid, iso

SLOT_MS = 60000
NAMES = ("Billing Bot", "Order Status Bot", "Password Reset", "Store Hours",
         "Claims Intake", "Appointment Bot")
FLOW_TYPES = ("DIGITALBOT", "VOICEBOT", "BOT")
MEDIA = {"DIGITALBOT": "message", "VOICEBOT": "voice", "BOT": "voice"}
# botResult values: those the SDK model names nowhere (the dimension is a
# free string): UNCONFIRMED; the simulator's own words.
RESULTS_EXIT = ("botExit", "agentRequestedByUser", "recognitionFailure")
RESULT_DISCONNECT = "userDisconnect"
EXIT_RATE = 0.45
RECOGNITION_FAILURE_RATE = 0.2
# dimensions of the bots aggregates query (BotAggregateQueryPredicate's enum,
# SDK 257)
DIMS = {"askActionId", "askActionResult", "askActionType", "botFinalIntent",
        "botFlowSubType", "botFlowType", "botId", "botIntent", "botName", "botProduct",
        "botProvider", "botRecognitionFailureReason", "botResult", "botSessionId",
        "botSlot", "botSlotMechanism", "botVersion", "conversationId",
        "externalContactId", "intermediateIntentName", "knowledgeBaseId", "languageCode",
        "lastActionId", "lastInputActionId", "mediaType", "messageType", "previewMode",
        "selfServed"}
# metrics (BotAggregationView / BotAggregationSort enums, SDK 257)
METRICS = ("nBotSessionTurns", "nBotSessions", "oBotIntent", "oBotSessionCollection",
           "oBotSessionCollectionSelfServed", "oBotSessionQuery",
           "oBotSessionQuerySelfServed", "oBotSessionTurn", "oBotSlot", "tBotDisconnect",
           "tBotExit", "tBotRecognitionFailure", "tBotSession")
CACHE_MAX = 200000


class Bots:
    def __init__(self, seed, n, start_ms):
        r = random.Random("bots-%s" % seed)
        self.start_ms = start_ms
        self.items = []
        for i in range(n):
            nm = NAMES[i % len(NAMES)]
            if i >= len(NAMES):
                nm += " %d" % (i // len(NAMES) + 1)
            ft = FLOW_TYPES[i % len(FLOW_TYPES)]
            self.items.append({"id": det_uuid(r), "name": nm, "flowType": ft,
                               "mediaType": MEDIA[ft]})
        # sessions per minute: busy, steady and rare bots, so MaxBots has an
        # order to keep
        self.rate = [(3.0, 1.2, 0.4, 0.15)[i % 4] for i in range(n)]
        self.base = zlib.crc32(("bot-session-%s" % seed).encode())
        self.cache = {}

    def slot(self, i, s):
        """Sessions of bot i in minute s: [(t_ms, duration_ms, exited,
        result, recognition_failures, questions, self_served)]."""
        key = (i, s)
        ex = self.cache.get(key)
        if ex is not None:
            return ex
        rng = random.Random((self.base * 1000003 + i) * 1000003 + s)
        ex = []
        for _ in range(poisson(rng, self.rate[i], 12)):
            t = s * SLOT_MS + rng.randrange(SLOT_MS)
            d = 5000 + int(rng.lognormvariate(10.5, 0.6))
            exited = rng.random() < EXIT_RATE
            result = rng.choice(RESULTS_EXIT) if exited else RESULT_DISCONNECT
            fails = 1 + rng.randrange(3) if rng.random() < RECOGNITION_FAILURE_RATE else 0
            q = rng.randrange(4)
            ss = rng.randrange(q + 1) if q else 0
            ex.append((t, d, exited, result, fails, q, ss))
        if len(self.cache) > CACHE_MAX:
            self.cache.clear()
        self.cache[key] = ex
        return ex

    def sessions(self, start, end, now, idxs=None):
        """(i, session) of every session in [start, min(end, now)) since the
        model began."""
        lo, hi = max(start, self.start_ms), min(end, now)
        if hi <= lo:
            return
        for i in (range(len(self.items)) if idxs is None else idxs):
            for s in range(lo // SLOT_MS, (hi - 1) // SLOT_MS + 1):
                for se in self.slot(i, s):
                    if lo <= se[0] < hi:
                        yield i, se

    def dims(self, i, se):
        b = self.items[i]
        return {"botId": b["id"], "botName": b["name"], "botFlowType": b["flowType"],
                "mediaType": b["mediaType"], "botResult": se[3],
                "selfServed": "true" if not se[2] else "false"}

    @staticmethod
    def metrics_of(se):
        """{metric: (count, sum_ms or questions)} of one session."""
        t, d, exited, _, fails, q, ss = se
        m = {"nBotSessions": (1, None), "tBotSession": (1, d)}
        m["tBotExit" if exited else "tBotDisconnect"] = (1, d)
        if fails:
            m["tBotRecognitionFailure"] = (1, d)
        if q:
            m["oBotSessionQuery"] = (1, q)
            m["oBotSessionQuerySelfServed"] = (1, ss)
        return m

    def stats(self, start, end, gran, now, gb, pred=lambda d: True):
        """{(group items, bucket): {metric: [count, sum, min, max]}} of the
        sessions in [start, min(end, now)), grouped by the dimensions gb,
        those pred keeps."""
        out = {}
        for i, se in self.sessions(start, end, now):
            d = self.dims(i, se)
            if not pred(d):
                continue
            g = tuple(sorted((x, d[x]) for x in gb if x in d))
            ms = out.setdefault((g, (se[0] - start) // gran), {})
            for m, (c, v) in self.metrics_of(se).items():
                e = ms.get(m)
                if e is None:
                    ms[m] = [c, v, v, v]
                else:
                    e[0] += c
                    if v is not None:
                        e[1] += v
                        e[2] = min(e[2], v)
                        e[3] = max(e[3], v)
        return out

    def truth(self, gran, buckets, now):
        """Per closed bucket and bot, per metric: count, and for the t
        metrics sum, min and max (ms); for oBotSessionQuery[SelfServed] the
        questions (sum) of the sessions with any (count). Empty buckets and
        metrics are absent."""
        end = (now // gran) * gran
        start = end - buckets * gran
        out = {}
        for (g, b), ms in sorted(self.stats(start, end, gran, now, ("botId",)).items()):
            bs = start + b * gran
            out.setdefault(iso(bs) + "/" + iso(bs + gran), {})[dict(g)["botId"]] = {
                m: dict(zip(("count", "sum", "min", "max"), v)) for m, v in ms.items()}
        return {"granularity_ms": gran, "sim_time_ms": now, "sim_time": iso(now),
                "bots": {b["id"]: {"name": b["name"], "flowType": b["flowType"]}
                         for b in self.items},
                "buckets": dict(sorted(out.items()))}
