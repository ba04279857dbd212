# SPDX-License-Identifier: MIT
"""First-contact resolution (README, Resolution aggregates): the answers of
POST /api/v2/analytics/resolutions/aggregates/query and their ground truth.

A pure function of the simulated clock (no draw, so every request and the
truth agree whatever their order): each queue and media type (voice,
message) has, per UTC day, a final number of conversations whose next
contact was avoided; each of them was last wrapped up at its own instant of
that day and is counted once Genesys has processed it, 7 days (the lookup
period) plus its own delay of up to 8 days later (the help article: "the
results are accurate after eight more processing days"). So a day's count
on the wrap-up date (alternateTimeDimension wrapUpDate) is 0 for 7 days and
grows until 15 days after the day's end; on eventTime (the default) a
conversation counts in the bucket of its processing instant, which never
changes once closed.

The count is in stats.count (the one public example). The form
resolution_metric_extra "unknown" adds an unrecorded metric word to every
bucket (a word Genesys may add, counted unknown by a client)."""
import hashlib

import simmodel as M

DAY_MS = 86400000
LOOKUP_MS = 7 * DAY_MS
MAX_DELAY_MS = 8 * DAY_MS
MEDIA = ("voice", "message")
DIMS = ("conversationId", "externalContactId", "mediaType", "queueId",
        "requestedRouting", "usedRouting", "userId", "wrapUpDate")
METRIC = "nNextContactAvoided"
EXTRA = "nNextContactMade"  # not in the record: the unknown word


def _h(*parts):
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8],
                          "big")


def final(qid, media, day_ms):
    """Conversations of queue qid and media wrapped up on the day starting
    day_ms whose next contact was avoided (0..12)."""
    return _h("n", qid, media, day_ms) % 13


def events(qid, media, day_ms):
    """[(wrap-up instant, processed instant)] of that day's conversations."""
    out = []
    n = final(qid, media, day_ms)
    for i in range(n):
        wrap = day_ms + (_h("w", qid, media, day_ms, i) % DAY_MS)
        done = wrap + LOOKUP_MS + (_h("d", qid, media, day_ms, i) % MAX_DELAY_MS)
        out.append((wrap, done))
    return out


def count(qid, media, start, end, now, dim):
    """Conversations counted by now in [start, end) on dim ("wrapUpDate":
    by wrap-up instant; else by processed instant)."""
    total = 0
    first = (start - (LOOKUP_MS + MAX_DELAY_MS if dim != "wrapUpDate" else 0)) // DAY_MS
    for d in range(first, end // DAY_MS + 1):
        for wrap, done in events(qid, media, d * DAY_MS):
            at = wrap if dim == "wrapUpDate" else done
            if done <= now and start <= at < end:
                total += 1
    return total


def answer(qids, start, end, gran, now, dim, metrics, extra):
    """The results of a query grouped by queueId and mediaType: a group per
    queue and media with a count in a bucket, the count in stats.count;
    buckets up to now (a bucket not over has what is counted so far)."""
    out = []
    for q in qids:
        for m in MEDIA:
            data = []
            for bs in range(start, min(end, max(now, start)), gran):
                n = count(q, m, bs, bs + gran, now, dim)
                if n == 0:
                    continue
                ms = [{"metric": METRIC, "stats": {"count": n}}] if METRIC in metrics else []
                if extra == "unknown":
                    ms.append({"metric": EXTRA, "stats": {"count": 1}})
                if ms:
                    data.append({"interval": M.iso(bs) + "/" + M.iso(bs + gran),
                                 "metrics": ms})
            if data:
                out.append({"group": {"queueId": q, "mediaType": m}, "data": data})
    return out


def truth(qids, days, now, dim="wrapUpDate"):
    """{day ISO interval: {queueId: {media: count as of now}}} of the last
    `days` whole UTC days before now, and each day's final count."""
    out, fin = {}, {}
    last = now // DAY_MS * DAY_MS
    for d in range(last - days * DAY_MS, last, DAY_MS):
        iv = M.iso(d) + "/" + M.iso(d + DAY_MS)
        out[iv] = {q: {m: count(q, m, d, d + DAY_MS, now, dim) for m in MEDIA} for q in qids}
        fin[iv] = {q: {m: final(q, m, d) for m in MEDIA} for q in qids}
    return {"now": now, "dimension": dim, "days": out, "final": fin}
