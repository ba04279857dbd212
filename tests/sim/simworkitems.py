# SPDX-License-Identifier: MIT
"""The live workitem backlog of the simulator (README, Workitems): POST
/api/v2/analytics/taskmanagement/metrics/query in the form of the python
SDK's TaskManagementObservationQuery and ...QueryResponse. Each queue holds
a fixed backlog of workitems of a few types in the record's status
categories (every third queue none); the query groups them by the groupBy
dimensions asked (queueId, typeId, statusCategory, assigneeId: an
assignee is not modelled, its groups left out) for the one queue its
required queueId predicate names, pages the results by the cursor `after`
(pageSize at most 200) and answers the metrics asked. The forms:
workitem_oldest ("age": oWorkitemOldestUnassigned's stats.max the age in
milliseconds, or "epoch": the instant of the oldest, epoch milliseconds;
the record gives no unit), workitem_page ("full": pageSize results a page,
or "short": two, as the record allows: "It is not guaranteed that the
requested number of entities will be filled") and workitem_words
("record", or "unknown": a status category and a metric the record does
not have, in extra results and data). /sim/truth/workitems is what an
answer says, per queue and lower-case category. The interval aggregates
(README, Workitem aggregates) are below, agg_*."""
import hashlib
import random
import time

import simmodel as M

CATEGORIES = ("Open", "InProgress", "Waiting", "Closed", "Unknown")
# TaskManagementQueryMetric.name and .qualifier of the record (python 257)
METRICS = ("oWorkitemsUnassigned", "oWorkitemsAssigned", "oWorkitemsConnected",
           "oWorkitemsParked", "oWorkitemsHeld", "oWorkitemsAcdStarted",
           "oWorkitemsDeclined", "oWorkitemsIdle", "oWorkitemsDisconnected",
           "oWorkitemsAcdExpired", "oWorkitemsDue", "oWorkitemsOverDue",
           "oWorkitemOldestUnassigned", "oWorkitemOldestAssigned")
QUALIFIERS = ("Hours24", "Hours72")
GROUP_BY = ("queueId", "typeId", "statusCategory", "assigneeId")
PAGE_MAX = 200
TYPES = 3


class BadQuery(Exception):
    pass


def _uuid(rng):
    return "%08x-%04x-4%03x-8%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                            rng.getrandbits(12), rng.getrandbits(12),
                                            rng.getrandbits(48))


class Workitems:
    def __init__(self, seed, queue_ids):
        rng = random.Random("workitems-%s" % seed)
        self.types = [_uuid(rng) for _ in range(TYPES)]
        self.requests = 0
        # queue id -> {(type id, category): cell}
        self.cells = {}
        for k, qid in enumerate(queue_ids):
            cells = {}
            if k % 3 != 2:
                for t, tid in enumerate(self.types):
                    for c, cat in enumerate(CATEGORIES):
                        if (k + t + c) % 4 == 3:
                            continue   # not every type in every category
                        un = rng.randrange(0, 12)
                        cells[(tid, cat)] = {
                            "unassigned": un, "assigned": rng.randrange(0, 9),
                            "Hours24": rng.randrange(0, 5), "Hours72": rng.randrange(0, 9),
                            "overdue": rng.randrange(0, 4),
                            # the age of the oldest unassigned, ms
                            "oldest": rng.randrange(60000, 86400000) if un else None}
            self.cells[qid] = cells

    def _rows(self, qid, group_by):
        """{group key: merged cell} of the queue by the dimensions asked."""
        out = {}
        for (tid, cat), cell in sorted(self.cells.get(qid, {}).items()):
            key = []
            for d in group_by:
                key.append((d, {"queueId": qid, "typeId": tid,
                                "statusCategory": cat}.get(d)))
            key = tuple(key)
            m = out.setdefault(key, {"unassigned": 0, "assigned": 0, "Hours24": 0,
                                     "Hours72": 0, "overdue": 0, "oldest": None})
            for f in ("unassigned", "assigned", "Hours24", "Hours72", "overdue"):
                m[f] += cell[f]
            if cell["oldest"] is not None:
                m["oldest"] = max(m["oldest"] or 0, cell["oldest"])
        return out

    def query(self, body, page_size, after, forms):
        """The answer to a query (BadQuery: a 400's message)."""
        if not isinstance(body, dict):
            raise BadQuery("a TaskManagementObservationQuery is required")
        preds = ((body.get("filter") or {}).get("predicates")) or []
        qids = [p.get("value") for p in preds
                if isinstance(p, dict) and p.get("dimension") == "queueId"]
        if len(qids) != 1:
            raise BadQuery("A single queueId predicate is required")
        if any(not isinstance(p, dict) or p.get("dimension") not in ("queueId", "typeId")
               for p in preds):
            raise BadQuery("predicate dimension must be queueId or typeId")
        types = [p.get("value") for p in preds if p.get("dimension") == "typeId"]
        group_by = body.get("groupBy")
        if not isinstance(group_by, list) or any(g not in GROUP_BY for g in group_by):
            raise BadQuery("groupBy must be of %s" % ", ".join(GROUP_BY))
        metrics = body.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            raise BadQuery("metrics are required")
        for m in metrics:
            if not isinstance(m, dict) or m.get("name") not in METRICS:
                raise BadQuery("unknown metric %r" % (m,))
            q = m.get("qualifier")
            if m["name"] == "oWorkitemsDue" and q not in QUALIFIERS:
                raise BadQuery("oWorkitemsDue requires a qualifier of Hours24, Hours72")
            if q is not None and q not in QUALIFIERS:
                raise BadQuery("unknown qualifier %r" % q)
        if page_size > PAGE_MAX or page_size < 1:
            raise BadQuery("pageSize must be from 1 to %d" % PAGE_MAX)
        self.requests += 1
        qid = qids[0]
        if "assigneeId" in group_by:
            rows = {}
        else:
            rows = self._rows(qid, group_by)
            if types:   # a typeId filter: only those types' cells
                keep = {k: v for k, v in self.cells.get(qid, {}).items() if k[0] in types}
                saved, self.cells[qid] = self.cells.get(qid, {}), keep
                rows = self._rows(qid, group_by)
                self.cells[qid] = saved
        now_ms = int(time.time() * 1000)
        results = []
        for key, m in rows.items():
            data = []
            for asked in metrics:
                name, q = asked["name"], asked.get("qualifier")
                d = {"metric": name}
                if name == "oWorkitemsUnassigned":
                    d["stats"] = {"count": m["unassigned"]}
                elif name == "oWorkitemsAssigned":
                    d["stats"] = {"count": m["assigned"]}
                elif name == "oWorkitemsDue":
                    d["qualifier"], d["stats"] = q, {"count": m[q]}
                elif name == "oWorkitemsOverDue":
                    d["stats"] = {"count": m["overdue"]}
                elif name == "oWorkitemOldestUnassigned":
                    if m["oldest"] is None:
                        continue   # none unassigned: no oldest
                    d["stats"] = {"max": m["oldest"] if forms["workitem_oldest"] == "age"
                                  else now_ms - m["oldest"]}
                else:
                    d["stats"] = {"count": 0}   # not modelled
                data.append(d)
            if forms["workitem_words"] == "unknown":
                data.append({"metric": "oWorkitemsSnoozed", "stats": {"count": 5}})
            results.append({"group": {d: v for d, v in key}, "data": data})
        if forms["workitem_words"] == "unknown" and "statusCategory" in group_by:
            results.append({"group": {"queueId": qid, "statusCategory": "Snoozed"},
                            "data": [{"metric": "oWorkitemsUnassigned",
                                      "stats": {"count": 3}}]})
        # the cursor: the index of the next result, with characters a query
        # must escape
        start = 0
        if after is not None:
            try:
                start = int(after.split(":")[1].rstrip("="))
            except (IndexError, ValueError):
                raise BadQuery("invalid cursor")
        per = page_size if forms["workitem_page"] == "full" else min(page_size, 2)
        out = {"results": results[start:start + per]}
        if start + per < len(results):
            out["cursors"] = {"after": "wi/c:%d==" % (start + per)}
        return out

    def truth(self):
        """{queue id: {category (lower case): values}} as the plugin puts
        them: a queue with no cell has an empty backlog."""
        out = {}
        for qid in self.cells:
            per = {}
            for (key, m) in self._rows(qid, ["statusCategory"]).items():
                per[dict(key)["statusCategory"]] = dict(m)
            out[qid] = per
        return {"queues": out, "types": list(self.types), "requests": self.requests}


# ---- interval aggregates (README, Workitem aggregates) ---------------------
# POST /api/v2/analytics/taskmanagement/aggregates/query: a pure function of
# the simulated clock (no draw, so every request and the truth agree
# whatever their order). Each queue with a backlog (two queues in three)
# has per minute 0 to 3 workitems offered, each offered one answered within
# its service level or not (over SLA), handled (its time) or expired in ACD
# or timed out, and 0 to 2 created. When Genesys has a bucket's workitems
# is not in the record: here at once.
MINUTE_MS = 60000
# TaskManagementAggregateQueryPredicate's dimensions (python SDK 257.1.0)
AGG_DIMS = ("assigneeId", "caseId", "divisionId", "externalTag", "queueId", "reporterId",
            "requestedLanguageId", "requestedRouting", "requestedRoutingSkillId",
            "statusCategory", "statusId", "typeId", "usedRouting", "userId", "workbinId",
            "workitemId", "wrapUpCode")
# TaskManagementAggregationView's metrics (python SDK 257.1.0)
AGG_METRICS = (
    "nWorkitemsAcdCancelled", "nWorkitemsAcdExpired", "nWorkitemsAcdStarted",
    "nWorkitemsAgentTransferred", "nWorkitemsCreated", "nWorkitemsDeclined",
    "nWorkitemsDeleted", "nWorkitemsDisconnected", "nWorkitemsOffered", "nWorkitemsOverSla",
    "nWorkitemsPurged", "nWorkitemsQueueTransferred", "nWorkitemsStatusChanged",
    "nWorkitemsTerminated", "nWorkitemsTimedout", "nWorkitemsTransferred",
    "nWorkitemsWrapupAdded", "nWorkitemsWrapupRemoved", "oWorkitemsServiceLevel",
    "tWorkitemsAgentFocusComplete", "tWorkitemsAlert", "tWorkitemsAnswered",
    "tWorkitemsDirectAnswered", "tWorkitemsFocus", "tWorkitemsFocusComplete",
    "tWorkitemsHandled", "tWorkitemsHeld", "tWorkitemsHeldComplete",
    "tWorkitemsNotResponding", "tWorkitemsParked", "tWorkitemsQueueAnswered",
    "tWorkitemsStatus")
SL_TARGET = 0.8


def _h(*parts):
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8],
                          "big")


def agg_minute(qid, minute_ms):
    """The events of one queue's minute: {"created": n, "offered": [(within
    SLA, outcome, handled ms or None)]}; outcome handled, expired or
    timedout."""
    n = max(0, _h("o", qid, minute_ms) % 6 - 2)
    offered = []
    for i in range(n):
        k = (qid, minute_ms, i)
        r = _h("r", *k) % 10
        outcome = "expired" if r == 0 else "timedout" if r == 1 else "handled"
        offered.append((_h("s", *k) % 4 != 0, outcome,
                        60000 + _h("t", *k) % 1800000 if outcome == "handled" else None))
    return {"created": max(0, _h("c", qid, minute_ms) % 5 - 2), "offered": offered}


def agg_stats(qid, start, end):
    """{metric: stats} of [start, end); {} when nothing happened."""
    created, offered = 0, []
    for m in range(start // MINUTE_MS * MINUTE_MS, end, MINUTE_MS):
        if start <= m < end:
            e = agg_minute(qid, m)
            created += e["created"]
            offered += e["offered"]
    if not created and not offered:
        return {}
    out = {"nWorkitemsCreated": {"count": created}} if created else {}
    if offered:
        within = sum(1 for o in offered if o[0])
        out["nWorkitemsOffered"] = {"count": len(offered)}
        over = len(offered) - within
        if over:
            out["nWorkitemsOverSla"] = {"count": over}
        out["oWorkitemsServiceLevel"] = {"ratio": round(within / len(offered), 4),
                                         "numerator": within, "denominator": len(offered),
                                         "target": SL_TARGET}
        for outcome, metric in (("expired", "nWorkitemsAcdExpired"),
                                ("timedout", "nWorkitemsTimedout")):
            c = sum(1 for o in offered if o[1] == outcome)
            if c:
                out[metric] = {"count": c}
        h = [o[2] for o in offered if o[2] is not None]
        if h:
            out["tWorkitemsHandled"] = {"count": len(h), "sum": sum(h), "min": min(h),
                                        "max": max(h)}
    return out


def agg_answer(qids, start, end, gran, now, metrics):
    """The results of a query grouped by queueId: a group per queue with
    something in a bucket (buckets up to now)."""
    out = []
    for q in qids:
        data = []
        for bs in range(start, min(end, max(now, start)), gran):
            be = min(bs + gran, end, now)
            st = agg_stats(q, bs, be)
            ms = [{"metric": x, "stats": st[x]} for x in metrics if x in st]
            if ms:
                data.append({"interval": M.iso(bs) + "/" + M.iso(min(bs + gran, end)),
                             "metrics": ms})
        if data:
            out.append({"group": {"queueId": q}, "data": data})
    return out


def agg_truth(qids, gran, buckets, now):
    """{bucket ISO interval: {queueId: {metric: stats}}} of the last closed
    buckets (queues without anything absent)."""
    end = now // gran * gran
    out = {}
    for bs in range(end - buckets * gran, end, gran):
        b = {q: st for q in qids for st in (agg_stats(q, bs, bs + gran),) if st}
        out[M.iso(bs) + "/" + M.iso(bs + gran)] = b
    return {"now": now, "sim_time": M.iso(now), "granularity_ms": gran, "buckets": out}
