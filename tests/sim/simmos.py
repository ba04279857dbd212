# SPDX-License-Identifier: MIT
"""Call quality of the simulated org (README, "Call quality (MOS)"): ended
conversations with their mediaStatsMinConversationMos, deterministic from
the seed, served by the conversation details query and summed by
/sim/truth/mos from the same list, so both agree.

Per queue and minute a few conversations start; each has a length (some
outlast several buckets, so a bucket gets conversations that began long
before it), a media type (voice ones carry a MOS, messages none: MOS is a
measure of audio streams), and an indexing delay: the details query shows
its conversationEnd only that long after it ended, so a bucket first asked
for can still gain conversations, which a revisit picks up. One in ten is
transferred to the next queue: it has a segment in both. One voice call in
ten also has an internalmessage session (the agent chats with a colleague
during the call) on the queue's segment: the call still counts, as voice.
Each MOS has its R-factor (mediaStatsMinConversationRFactor)."""

import random
import zlib

from simactions import poisson
from simmodel import iso

SLOT_MS = 60000
DAY_MS = 86400000
RATE = 0.8                  # conversations per queue and minute
VOICE_SHARE = 0.8
LEN_MAX_MS = 20 * 60000     # the longest conversation
INDEX_DELAY_MAX_MS = 90000  # conversationEnd shown at most this after the end
PAGE_SIZE_MAX = 100         # PagingSpec: documented maximum (README)
PAGE_SIZE_DEFAULT = 25
RESULTS_MAX = 100000        # "Pagination may not exceed 100000 results" (README)
INTERNAL_SHARE = 0.1        # voice calls with an internalmessage session
MAX_PREDICATES = 100        # UNCONFIRMED, as the other analytics filters
CONV_DIMS = {"conversationEnd", "conversationStart", "mediaStatsMinConversationMos",
             "conversationId", "originatingDirection"}
SEG_DIMS = {"queueId", "mediaType", "purpose"}
CACHE_MAX = 400000


class Mos:
    def __init__(self, seed, queue_ids, start_ms):
        self.qids = list(queue_ids)
        self.qidx = {q: i for i, q in enumerate(self.qids)}
        self.start_ms = start_ms
        self.base = zlib.crc32(("mos-%s" % seed).encode())
        self.cache = {}
        self.injected = []  # late conversations a test asked for (inject_late)

    def slot(self, qi, s):
        """Conversations starting at queue qi in minute s: [dict]."""
        key = (qi, s)
        out = self.cache.get(key)
        if out is not None:
            return out
        rng = random.Random((self.base * 1000003 + qi) * 1000003 + s)
        k = poisson(rng, RATE, 8)
        out = []
        for j in range(k):
            t = s * SLOT_MS + rng.randrange(SLOT_MS)
            length = min(LEN_MAX_MS, 20000 + int(rng.lognormvariate(11.8, 0.9)))
            voice = rng.random() < VOICE_SHARE
            # MOS of real calls: mostly 4.2 to 4.5, a tail of poor ones
            mos = round(min(4.9, max(1.0, rng.gauss(4.25, 0.35))), 2) if voice else None
            queues = [qi]
            if len(self.qids) > 1 and rng.random() < 0.1:
                queues.append((qi + 1) % len(self.qids))
            internal = voice and rng.random() < INTERNAL_SHARE
            h = "%032x" % ((self.base << 64) ^ (qi << 40) ^ (s << 8) ^ j)
            cid = "%s-%s-4%s-a%s-%s" % (h[-32:-24], h[-24:-20], h[-19:-16], h[-15:-12], h[-12:])
            out.append({"id": cid, "start": t, "end": t + length,
                        "indexed": t + length + rng.randrange(INDEX_DELAY_MAX_MS + 1),
                        "media": "voice" if voice else "message", "mos": mos,
                        "rfactor": rfactor(mos), "queues": queues, "internal": internal})
        if len(self.cache) > CACHE_MAX:
            self.cache.clear()
        self.cache[key] = out
        return out

    def conversations(self, lo, hi, qis):
        """Conversations of queues qis (their first queue) starting in [lo, hi)."""
        lo = max(lo, self.start_ms)
        for qi in qis:
            for s in range(lo // SLOT_MS, (hi - 1) // SLOT_MS + 1 if hi > lo else 0):
                for c in self.slot(qi, s):
                    if lo <= c["start"] < hi:
                        yield c
            for c in self.injected:
                if c["queues"][0] == qi and lo <= c["start"] < hi:
                    yield c

    def inject_late(self, qi, end_ms, mos, now, transfer=False):
        """A voice conversation of queue qi that ended at end_ms (a bucket
        already read) and is indexed only now: the next revisit of that
        bucket must take it (a test makes a revision happen); with transfer,
        transferred on to the next queue."""
        n = len(self.injected)
        queues = [qi]
        if transfer and len(self.qids) > 1:
            queues.append((qi + 1) % len(self.qids))
        c = {"id": "1a7e0000-0000-4000-a000-%012x" % n, "start": end_ms - 60000,
             "end": end_ms, "indexed": now, "media": "voice", "mos": mos,
             "rfactor": rfactor(mos), "queues": queues, "internal": False}
        self.injected.append(c)
        return c

    def matching(self, start, end, qids, now):
        """What the details query finds for interval [start, end): the
        conversations that started on a UTC day the interval touches and
        started, ended or were active in it (README), sorted by
        conversationStart, with their end shown once indexed."""
        qis = set(range(len(self.qids))) if qids is None else \
            {self.qidx[q] for q in qids if q in self.qidx}
        # a conversation of a queue may have started at the previous queue
        src = qis | {(q - 1) % len(self.qids) for q in qis} if self.qids else set()
        day_lo = start // DAY_MS * DAY_MS
        lo = max(day_lo, start - LEN_MAX_MS)
        out = []
        for c in self.conversations(lo, min(end, now), sorted(src)):
            if not (qis & set(c["queues"])):
                continue
            ended = c["indexed"] <= now
            if c["start"] < end and (not ended or c["end"] >= start):
                out.append(c)
        out.sort(key=lambda c: (c["start"], c["id"]))
        return out

    def details(self, c, now, internal=True):
        """The AnalyticsConversation of c as the details query answers;
        internal: with its internalmessage session (the record's form)."""
        d = {"conversationId": c["id"], "conversationStart": iso(c["start"]),
             "originatingDirection": "inbound", "participants": []}
        if c["indexed"] <= now:
            d["conversationEnd"] = iso(c["end"])
        if c["mos"] is not None:
            d["mediaStatsMinConversationMos"] = c["mos"]
            d["mediaStatsMinConversationRFactor"] = c["rfactor"]
        d["participants"].append({"purpose": "customer", "participantId": c["id"][:8] + "-c",
                                  "sessions": [{"mediaType": c["media"], "segments": [
                                      {"segmentType": "interact",
                                       "segmentStart": iso(c["start"])}]}]})
        for qi in c["queues"]:
            d["participants"].append({
                "purpose": "acd", "participantName": "queue %d" % qi,
                "sessions": [{"mediaType": c["media"], "segments": [
                    {"segmentType": "interact", "queueId": self.qids[qi],
                     "segmentStart": iso(c["start"])}]}]})
        if internal and c["internal"]:
            qid = self.qids[c["queues"][0]]
            d["participants"].append({
                "purpose": "agent", "participantId": c["id"][:8] + "-a",
                "sessions": [{"mediaType": "voice", "segments": [
                    {"segmentType": "interact", "queueId": qid,
                     "segmentStart": iso(c["start"])}]},
                    {"mediaType": "internalmessage", "segments": [
                        {"segmentType": "interact", "queueId": qid,
                         "segmentStart": iso(c["start"])}]}]})
        return d

    def truth(self, gran, buckets, now):
        """Per closed bucket (by conversationEnd), queue and media type: the
        MOS values of the ended, indexed conversations, sorted (and their
        R-factors under rfactor_buckets). Conversations without a MOS are
        absent; so are empty buckets."""
        end = (now // gran) * gran
        start = end - buckets * gran
        out, rf = {}, {}
        for c in self.conversations(start - LEN_MAX_MS, end, range(len(self.qids))):
            if c["mos"] is None or not (start <= c["end"] < end) or c["indexed"] > now:
                continue
            bs = start + (c["end"] - start) // gran * gran
            b = out.setdefault(iso(bs) + "/" + iso(bs + gran), {})
            r = rf.setdefault(iso(bs) + "/" + iso(bs + gran), {})
            for qi in c["queues"]:
                b.setdefault(self.qids[qi], {}).setdefault(c["media"], []).append(c["mos"])
                r.setdefault(self.qids[qi], {}).setdefault(c["media"], []).append(c["rfactor"])
        for d in (out, rf):
            for b in d.values():
                for m in b.values():
                    for v in m.values():
                        v.sort()
        return {"granularity_ms": gran, "sim_time_ms": now, "sim_time": iso(now),
                "index_delay_max_ms": INDEX_DELAY_MAX_MS, "length_max_ms": LEN_MAX_MS,
                "buckets": dict(sorted(out.items())),
                "rfactor_buckets": dict(sorted(rf.items()))}


def rfactor(mos):
    """The R-factor of a MOS (ITU-T G.107's mapping, inverted by bisection),
    two decimals; None without a MOS."""
    if mos is None:
        return None
    lo, hi = 0.0, 100.0
    for _ in range(40):
        r = (lo + hi) / 2
        m = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
        lo, hi = (r, hi) if m < mos else (lo, r)
    return round(min(93.2, (lo + hi) / 2), 2)
