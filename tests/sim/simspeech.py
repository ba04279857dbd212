# SPDX-License-Identifier: MIT
"""Speech and text analytics (README, Speech and text analytics): the
answers of POST /api/v2/analytics/transcripts/aggregates/query and their
ground truth.

A pure function of the simulated clock (no draw, so every request and the
truth agree whatever their order): each queue and media type (voice, chat,
message, email) has, per minute, 0 to 3 analysed conversations, each with
an instant, a sentiment score (-100..+100) and its agent, customer, silence
and overtalk times. Genesys documents when they are there: voice and chat
30 minutes after the interaction ends, message and email 72 hours after the
last message; a conversation is in an answer once now is past its instant
plus that delay."""
import hashlib

import simmodel as M

MINUTE_MS = 60000
MEDIA = ("voice", "chat", "message", "email")
DELAY_MS = {"voice": 1800000, "chat": 1800000, "message": 72 * 3600000,
            "email": 72 * 3600000}
# TranscriptAggregateQueryPredicate's dimensions (python SDK 257.1.0)
DIMS = ("addressFrom", "addressTo", "ani", "categoryId", "channel", "conversationDuration",
        "conversationId", "direction", "divisionId", "dnis", "flowId", "flowVersion",
        "handleTime", "mediaType", "messageType", "queueId", "resultsBy", "teamId", "topicId",
        "userId", "wrapUpCode")
# TranscriptAggregationView's metrics (python SDK 257.1.0)
METRICS = ("nSpeechTextAnalyzedConversations", "nTopicCommunications", "oCustomerSentiment",
           "oOverTalkSpeechInstances", "oSentimentScore", "tAgentSpeech", "tCustomerSpeech",
           "tOtherAudio", "tOverTalkSpeech", "tSilence", "tTotalSpeechAndSilence")
TIMES = ("tAgentSpeech", "tCustomerSpeech", "tSilence", "tOverTalkSpeech")


def _h(*parts):
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8],
                          "big")


def conversations(qid, media, minute_ms):
    """[(instant, sentiment, {t metric: ms})] analysed in that minute."""
    n = max(0, _h("n", qid, media, minute_ms) % 7 - 3)
    out = []
    for i in range(n):
        k = (qid, media, minute_ms, i)
        t = {"tAgentSpeech": 20000 + _h("a", *k) % 280000,
             "tCustomerSpeech": 15000 + _h("c", *k) % 240000,
             "tSilence": 1000 + _h("s", *k) % 60000,
             "tOverTalkSpeech": _h("o", *k) % 8000}
        out.append((minute_ms + _h("t", *k) % MINUTE_MS, _h("e", *k) % 201 - 100, t))
    return out


def stats(qid, media, start, end, now):
    """{metric: stats} of the conversations of [start, end) there by now;
    {} when none."""
    convs = [c for m in range(start // MINUTE_MS * MINUTE_MS, end, MINUTE_MS)
             for c in conversations(qid, media, m)
             if start <= c[0] < end and c[0] + DELAY_MS[media] <= now]
    if not convs:
        return {}
    scores = [c[1] for c in convs]
    out = {"nSpeechTextAnalyzedConversations": {"count": len(convs)},
           "oSentimentScore": {"count": len(scores), "sum": sum(scores), "min": min(scores),
                               "max": max(scores)}}
    for m in TIMES:
        v = [c[2][m] for c in convs]
        out[m] = {"count": len(v), "sum": sum(v), "min": min(v), "max": max(v)}
    return out


def answer(qids, start, end, gran, now, metrics):
    """The results of a query grouped by queueId and mediaType: a group per
    queue and media with an analysed conversation in a bucket."""
    out = []
    for q in qids:
        for m in MEDIA:
            data = []
            for bs in range(start, min(end, max(now, start)), gran):
                st = stats(q, m, bs, min(bs + gran, end), now)
                ms = [{"metric": x, "stats": st[x]} for x in metrics if x in st]
                if ms:
                    data.append({"interval": M.iso(bs) + "/" + M.iso(min(bs + gran, end)),
                                 "metrics": ms})
            if data:
                out.append({"group": {"queueId": q, "mediaType": m}, "data": data})
    return out


def truth(qids, gran, buckets, now):
    """{bucket ISO interval: {queueId: {media: {metric: stats}}}} of the
    last closed buckets, as there by now (media without any absent)."""
    end = now // gran * gran
    out = {}
    for bs in range(end - buckets * gran, end, gran):
        b = {}
        for q in qids:
            for m in MEDIA:
                st = stats(q, m, bs, bs + gran, now)
                if st:
                    b.setdefault(q, {})[m] = st
        out[M.iso(bs) + "/" + M.iso(bs + gran)] = b
    return {"now": now, "sim_time": M.iso(now), "granularity_ms": gran, "buckets": out}
