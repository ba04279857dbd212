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
answer says, per queue and lower-case category."""
import random
import time

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
