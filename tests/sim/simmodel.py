# SPDX-License-Identifier: MIT
"""Seeded, deterministic contact-centre model for the Genesys Cloud simulator.

The model is a discrete-event simulation on a simulated clock (milliseconds
since the epoch).  Every random draw happens while processing a scheduled
event, and events are processed strictly in (time, sequence) order, so the
evolution depends only on the seed and the options, never on wall-clock
timing or on when the server happens to advance it.

The model publishes through a `hub` object (see simapi.Hub) with methods
  has(topic) -> bool, publish(topic, body_or_callable) -> sockets reached,
  queue_dirty(q, media), attribute_update(conv, changed).
"""
import bisect
import collections
import heapq
import math
import random
import time
import zlib
from array import array

ROUTING = ["OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"]
R_OFF, R_IDLE, R_INTER, R_NR, R_COMM = range(5)
PRESENCES = ["AVAILABLE", "AWAY", "BUSY", "BREAK", "MEAL", "MEETING",
             "TRAINING", "ON_QUEUE", "OFFLINE"]
P_ONQ = PRESENCES.index("ON_QUEUE")
P_OFFLINE = PRESENCES.index("OFFLINE")
# Display spellings: the legacy /presencedefinitions and users' presence
# (README, Evidence); /presence/definitions spells its enum without spaces.
PRESENCE_DISPLAY = {p: p.replace("_", " ").title() for p in PRESENCES}
PRESENCE_DEFN_DISPLAY = {p: p.replace("_", " ").title().replace(" ", "") for p in PRESENCES}
# Org presence definitions beyond the primary one of each system presence:
# (name, system presence, deactivated).  Agents in MEAL, BREAK or BUSY are in
# a custom one part of the time; the deactivated one is used by nobody.
ORG_PRESENCE_EXTRA = [("Lunch", "MEAL", False), ("Coffee", "BREAK", False),
                      ("Project work", "BUSY", False), ("Old training", "TRAINING", True)]
# the routing statuses oOnQueueUsers is qualified by (all but OFF_QUEUE)
ONQ_ROUTING = [R_IDLE, R_INTER, R_COMM, R_NR]
MEDIA = ["voice", "chat", "email", "message", "callback"]
MEDIA_ARRAY = {"voice": "calls", "chat": "chats", "email": "emails",
               "message": "messages", "callback": "callbacks"}

# per media: mean talk s, mean acw s, hold prob, mean hold s, mean alert s,
#            mean patience s, SLA threshold s
MEDIA_PARAMS = {
    "voice": (240, 45, 0.25, 40, 5, 150, 20),
    "chat": (400, 30, 0.0, 0, 7, 300, 60),
    "message": (450, 30, 0.0, 0, 7, 900, 300),
    "email": (500, 60, 0.0, 0, 9, 86400, 3600),
    "callback": (200, 40, 0.1, 30, 6, 86400, 600),
}
SHORT_ABANDON_MS = 10000
ALERT_TIMEOUT_MS = 8000
SL_TARGET = 0.8

# presence dwell means (s) and transitions
PRES_DWELL = {"ON_QUEUE": 3600, "BREAK": 900, "MEAL": 1800, "AWAY": 600,
              "MEETING": 1800, "TRAINING": 3600, "BUSY": 1200,
              "AVAILABLE": 600, "OFFLINE": 5400}
PRES_NEXT_ONQ = [("BREAK", .35), ("MEAL", .15), ("AWAY", .15), ("MEETING", .1),
                 ("TRAINING", .05), ("BUSY", .1), ("AVAILABLE", .05), ("OFFLINE", .05)]
PRES_INITIAL = [("ON_QUEUE", .58), ("OFFLINE", .14), ("BREAK", .06), ("MEAL", .05),
                ("AWAY", .04), ("MEETING", .04), ("TRAINING", .03), ("BUSY", .03),
                ("AVAILABLE", .03)]
ONQ_FRACTION = 0.55

DEPTS = ["Sales", "Support", "Billing", "Retention", "Tech", "Claims", "Bookings", "Collections"]
LANGS = ["EN", "FR", "DE", "ES", "NL", "IT"]
DIVS = ["Home", "Sales", "Support", "Billing"]
# work teams (GET /api/v2/teams): agent i in team i % (TEAMS + 1), the last in none
TEAMS = 5
DEPT_DIV = {"Sales": 1, "Retention": 1, "Support": 2, "Tech": 2, "Billing": 3,
            "Collections": 3, "Claims": 0, "Bookings": 0}
FIRST = ["Alex", "Sam", "Robin", "Kim", "Jo", "Chris", "Pat", "Lee", "Max", "Noa",
         "Eli", "Ari", "Dana", "Jules", "Remy", "Sasha"]
LAST = ["Martin", "Smith", "Dubois", "Muller", "Garcia", "Jansen", "Rossi", "Nowak",
        "Silva", "Berg", "Costa", "Meyer", "Laurent", "Novak", "Moreau", "Fischer"]
FLOW_TYPES_OTHER = ["INBOUNDCHAT", "INQUEUECALL", "INBOUNDSHORTMESSAGE", "INBOUNDEMAIL",
                    "BOT", "WORKFLOW"]
OUTCOME_NAMES = ["Authenticated", "SelfServiceCompleted", "PaymentTaken", "AddressChanged",
                 "CallbackBooked", "BalanceHeard", "OrderTracked", "PasswordReset"]
MILESTONE_NAMES = ["MenuReached", "LanguageSelected", "IdentityCaptured", "IntentCaptured",
                   "QueueSelected", "SurveyOffered"]
METRIC_NAMES = ["MenuSelection", "AuthAttempts", "IntentConfidence", "SelfServiceResult",
                "DTMFRetries", "LanguageChoice"]
WRAPUP_NAMES = ["Sale", "No Sale", "Issue Resolved", "Escalated", "Follow-up Required",
                "Wrong Number", "Information Given", "Complaint", "Cancellation",
                "Payment Arranged", "Technical Fault", "Other"]

CONV_METRICS = ["nOffered", "nTransferred", "nOverSla", "tAnswered", "tAbandon",
                "tShortAbandon", "tTalk", "tHeld", "tAcw", "tHandle", "tWait", "tAlert",
                "oServiceLevel", "nConnected", "tTalkComplete", "tHeldComplete"]
# the interval aggregates v2.analytics.queues.{id}.observations carries
WINDOW_METRICS = ["nOffered", "nTransferred", "nOverSla", "nConnected", "tAnswered", "tAbandon",
                  "tShortAbandon", "tTalk", "tHeld", "tAcw", "tHandle", "tWait", "tAlert",
                  "tTalkComplete", "tHeldComplete"]
# Every metric the conversation aggregates query takes (README.md, "The
# conversation aggregates catalogue"): CONV_METRICS from the modelled
# conversations, the rest from SynthStore.
CATALOGUE_METRICS = [
    "nBlindTransferred", "nBotInteractions", "nCallbackAttempts", "nCallbackOverSla",
    "nCallbackScheduled", "nCfcOffered", "nCobrowseSessions", "nConnected", "nConsult",
    "nConsultTransferred", "nConversations", "nError", "nOffered", "nOutbound",
    "nOutboundAbandoned", "nOutboundAttempted", "nOutboundConnected", "nOverSla",
    "nStateTransitionError", "nTakeover", "nTransferred",
    "oAudioMessageCount", "oCallbackServiceLevel", "oExternalAudioMessageCount",
    "oExternalMediaCount", "oMediaCount", "oMessageCount", "oMessageSegmentCount",
    "oMessageTurn", "oServiceLevel", "oServiceTarget", "oSkillExpressionApplications",
    "tAbandon", "tAcd", "tActiveCallback", "tActiveCallbackComplete", "tAcw",
    "tAgentResponseTime", "tAgentVideoConnected", "tAlert", "tAnswered",
    "tAverageAgentResponseTime", "tAverageCustomerResponseTime", "tBarging",
    "tCallbackAbandon", "tCallbackConnect", "tCallbackNotReached", "tCallbackVirtualWait",
    "tCfcAbandon", "tCfcAcd", "tCfcAnswered", "tCfcFlowOut", "tCoaching",
    "tCoachingComplete", "tConnected", "tContacting", "tDialing", "tFirstConnect",
    "tFirstDial", "tFirstEngagement", "tFirstResponse", "tFlowOut", "tHandle", "tHeld",
    "tHeldComplete", "tIvr", "tMonitoring", "tMonitoringComplete", "tNotResponding",
    "tPark", "tParkComplete", "tScreenMonitoring", "tShortAbandon", "tSnippetRecord",
    "tTalk", "tTalkComplete", "tTransmitting", "tUserResponseTime", "tVoicemail", "tWait"]
SYNTH_METRICS = [m for m in CATALOGUE_METRICS if m not in CONV_METRICS]
# served as numerator/denominator (count = denominator, sum = numerator)
RATIO_METRICS = ("oServiceLevel", "oCallbackServiceLevel")
# Metrics of the conversation as a whole, which Genesys attributes to no
# queue (README, Evidence: metrics without a queue): in groups without a
# queueId, absent under a queueId filter (form unattributed=org, default).
ORG_METRICS = ("nConversations", "nBotInteractions", "nError", "nStateTransitionError")
# served as {"target": ...} only (README, Evidence: oServiceTarget)
TARGET_METRICS = ("oServiceTarget",)
FLOW_METRICS = ["nFlow", "nFlowOutcome", "nFlowOutcomeFailed", "nFlowMilestone", "tFlow",
                "tFlowDisconnect", "tFlowExit", "tFlowOutcome"]
# The exit reasons of a flow's end, with their shares (README, Flow exits):
# the names are the FlowEnd detail event's enum, the shares ours. A
# disconnect (the caller or the flow ended the call in the flow) is
# self-served, an exit (every exit of the model enters the queue) is not.
FLOW_DISCONNECT_REASONS = (("DISCONNECT", 0.5), ("FLOW_DISCONNECT", 0.3),
                           ("FLOW_ERROR_DISCONNECT", 0.1),
                           ("RECOGNITION_FAILURE_DISCONNECT", 0.1))
FLOW_EXIT_REASONS = (("TRANSFER", 0.85), ("RECOGNITION_FAILURE_EXIT", 0.1),
                     ("FLOW_ERROR_EXIT", 0.05))


def iso(ms, frac=True):
    t = time.gmtime(ms // 1000)
    s = time.strftime("%Y-%m-%dT%H:%M:%S", t)
    if frac:
        return "%s.%03dZ" % (s, ms % 1000)
    return s + "Z"


def det_uuid(rng):
    b = rng.getrandbits(128).to_bytes(16, "big")
    h = b.hex()
    return "%s-%s-4%s-%x%s-%s" % (h[0:8], h[8:12], h[13:16], 8 | (b[8] & 3), h[17:20], h[20:32])


def pick_weighted(rng, pairs):
    x = rng.random()
    acc = 0.0
    for v, w in pairs:
        acc += w
        if x < acc:
            return v
    return pairs[-1][0]


# ---------------------------------------------------------------------------
# Aggregate store: minute-resolution buckets of (count,sum,min,max) per metric


def accumulate(arr, i, value):
    """One more metric in a stats array at i: count, sum, min, max."""
    arr[i] += 1
    if value is not None:
        arr[i + 1] += value
        if value < arr[i + 2]:
            arr[i + 2] = value
        if value > arr[i + 3]:
            arr[i + 3] = value

class Store:
    def __init__(self, metrics):
        self.metrics = metrics
        self.midx = {m: i for i, m in enumerate(metrics)}
        self.nm = len(metrics)
        self.minutes = {}  # minute -> {key: array('d')}
        self.template = array("d", [0.0, 0.0, math.inf, -math.inf] * self.nm)

    def add(self, t_ms, key, metric, value=None):
        m = t_ms // 60000
        d = self.minutes.get(m)
        if d is None:
            d = self.minutes[m] = {}
        arr = d.get(key)
        if arr is None:
            arr = d[key] = array("d", self.template)
        accumulate(arr, self.midx[metric] * 4, value)

    def prune(self, before_ms):
        cut = before_ms // 60000
        for m in [m for m in self.minutes if m < cut]:
            del self.minutes[m]

    def query(self, start_ms, end_ms, gran_ms, keyfn, metrics):
        """keyfn(key) -> group tuple or None (filtered out).  Returns
        {(bucket_index, group): {metric: [count,sum,min,max]}}."""
        out = {}
        for _ in self.query_iter(out, start_ms, end_ms, gran_ms, keyfn, metrics):
            pass
        return out

    def query_iter(self, out, start_ms, end_ms, gran_ms, keyfn, metrics):
        """Generator form of query(): fills `out`, yields after each minute so
        an event loop can interleave other work."""
        idx = [(m, self.midx[m] * 4) for m in metrics if m in self.midx]
        cache = {}
        m0 = -(-start_ms // 60000)
        m1 = -(-end_ms // 60000)
        if m1 - m0 > len(self.minutes):
            minutes = sorted(m for m in self.minutes if m0 <= m < m1)
        else:
            minutes = range(m0, m1)
        for minute in minutes:
            d = self.minutes.get(minute)
            if not d:
                continue
            b = (minute * 60000 - start_ms) // gran_ms
            for key, arr in d.items():
                g = cache.get(key, cache)
                if g is cache:
                    g = cache[key] = keyfn(key)
                if g is None:
                    continue
                slot = out.get((b, g))
                if slot is None:
                    slot = out[(b, g)] = {}
                for m, i in idx:
                    c = arr[i]
                    if not c:
                        continue
                    s = slot.get(m)
                    if s is None:
                        slot[m] = [c, arr[i + 1], arr[i + 2], arr[i + 3]]
                    else:
                        s[0] += c
                        s[1] += arr[i + 1]
                        if arr[i + 2] < s[2]:
                            s[2] = arr[i + 2]
                        if arr[i + 3] > s[3]:
                            s[3] = arr[i + 3]
            yield


def fmt_stats(metric, s):
    """The stats object of one metric of an aggregates answer, from its
    [count, sum, min, max]; None when there is nothing to say."""
    c, sm, mn, mx = s

    def num(x):
        return int(x) if x == int(x) else x
    if metric in RATIO_METRICS:
        if not c:
            return None
        return {"ratio": round(sm / c, 4), "numerator": int(sm), "denominator": int(c),
                "target": SL_TARGET}
    if metric in TARGET_METRICS:
        return {"target": SL_TARGET} if c else None
    if metric[0] == "t":
        return {"max": num(mx), "min": num(mn), "count": int(c), "sum": num(sm)}
    return {"count": int(c)}


class SynthStore:
    """The catalogue's metrics the model has no notion of: per minute, queue
    and media type, a deterministic number of events (none in most minutes)
    and, for durations, their lengths, all from a CRC of the names, so every
    query and the truth see the same values whatever range they ask for.
    Minutes from the model's start to now only. Same query_iter() as Store."""

    def __init__(self, model):
        self.model = model
        # ORG_METRICS in groups of their own (qi None): form unattributed=org
        self.unattributed = True

    @staticmethod
    def events(qid, media, minute, metric):
        h = zlib.crc32(("%s|%s|%d|%s" % (qid, media, minute, metric)).encode())
        if h % 10 < 6:
            return []
        n = 1 + (h >> 4) % 3
        if metric in RATIO_METRICS:
            return [float((h >> (8 + i)) & 1) for i in range(n)]
        if metric[0] == "t":
            return [float(500 + zlib.crc32(b"%d|%d" % (h, i)) % 180000) for i in range(n)]
        return [None] * n

    def query_iter(self, out, start_ms, end_ms, gran_ms, keyfn, metrics):
        wanted = [m for m in metrics if m in SYNTH_METRICS]
        model = self.model
        m0 = max(-(-start_ms // 60000), -(-model.start_ms // 60000))
        m1 = min(-(-end_ms // 60000), model.now // 60000)
        if not wanted:
            return
        keys = [((q.idx, m, None), q.id, m) for q in model.queues for m in q.media]
        # an org metric of every queue's events lands in its media's group
        org = {m: keyfn((None, m, None)) for _, _, m in keys} if self.unattributed else {}
        groups = [(keyfn(k), org.get(m), qid, m) for k, qid, m in keys]
        for minute in range(m0, m1):
            b = (minute * 60000 - start_ms) // gran_ms
            for gq, go, qid, media in groups:
                if gq is None and go is None:
                    continue
                for metric in wanted:
                    g = go if self.unattributed and metric in ORG_METRICS else gq
                    if g is None:
                        continue
                    ev = self.events(qid, media, minute, metric)
                    if not ev:
                        continue
                    arr = [0.0, 0.0, math.inf, -math.inf]
                    for v in ev:
                        accumulate(arr, 0, v)
                    slot = out.setdefault((b, g), {})
                    s = slot.get(metric)
                    if s is None:
                        slot[metric] = arr
                    else:
                        s[0] += arr[0]
                        s[1] += arr[1]
                        s[2] = min(s[2], arr[2])
                        s[3] = max(s[3], arr[3])
            yield

    def query(self, start_ms, end_ms, gran_ms, keyfn, metrics):
        out = {}
        for _ in self.query_iter(out, start_ms, end_ms, gran_ms, keyfn, metrics):
            pass
        return out


class Pipeline:
    """Genesys' nightly reprocessing of analytics data (README, "Late data
    and reprocessing"): a job kicks off every day at kickoff_ms after
    midnight UTC and runs run_ms; it reprocesses data at least 48 h old when
    it kicks off, and a later class of corrections (real-time issues) once
    a conversation is at least 72 h old. A share of the handle times
    (tHandle) is changed by it, the same ones on every run: up (one more of
    the same length) or down (taken out), by the nightly class or, one in
    three, the correction class, each visible from a point of the run of
    the first job that may take it (the job works through the data while
    it runs). applied: what it changed so far, the ground truth of when."""
    METRIC = "tHandle"
    DAY_MS = 86400000

    def __init__(self, kickoff_ms, run_ms, share):
        self.kickoff_ms, self.run_ms, self.share = kickoff_ms, run_ms, share
        self.heap = []   # (visible at, seq, t, key, value, sign, class, kick-off)
        self.seq = 0
        self.applied = []

    def plan(self, t_ms, key, metric, value):
        if metric != self.METRIC or value is None or key[0] is None:
            return
        h = zlib.crc32(("%d/%s/%s/pipeline" % (t_ms, key, metric)).encode())
        if h >= self.share * 4294967296.0:
            return
        h2 = zlib.crc32(("%d/%s/%s/change" % (t_ms, key, metric)).encode())
        sign = 1 if h2 & 1 else -1
        cls = "correction" if (h2 >> 1) % 3 == 0 else "nightly"
        min_age = (72 if cls == "correction" else 48) * 3600000
        # the first kick-off at which the moment is min_age old
        base = t_ms + min_age
        kick = base - base % self.DAY_MS + self.kickoff_ms
        if kick < base:
            kick += self.DAY_MS
        at = kick + (h2 >> 8) % 65536 * self.run_ms // 65536
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, t_ms, key, value, sign, cls, kick))

    def flush(self, store, now_ms):
        while self.heap and self.heap[0][0] <= now_ms:
            at, _, t, key, value, sign, cls, kick = heapq.heappop(self.heap)
            if sign > 0:
                Store.add(store, t, key, self.METRIC, value)
            elif not store.remove(t, key, self.METRIC, value):
                continue  # pruned (past the retention) already
            self.applied.append({"qi": key[0], "mediaType": key[1], "time": t,
                                 "visible": at, "kickoff": kick, "sign": sign,
                                 "class": cls, "tHandle_ms": value})


class WindowStore(Store):
    """A Store that also sums, per (queue, media), the metrics emitted in the
    current 30-minute window: the interval aggregates that
    v2.analytics.queues.{id}.observations carries.  `touched` collects the
    (queue, media) pairs changed since the hub last looked."""
    WINDOW_MS = 1800000

    def __init__(self, metrics):
        super().__init__(metrics)
        self.win = {}            # (qi, media) -> [window start, array]
        self.touched = set()
        # --agg-late-share / --agg-late-s: that share of the moments reaches
        # the aggregates query that long after it happened (the live window
        # has it at once); pending: (visible at, t, key, metric, value), in
        # the order of t, so of visible at
        self.late_share = 0.0
        self.late_ms = 0
        self.pending = collections.deque()
        # --reprocessing: Genesys' nightly pipeline (README, "Late data and
        # reprocessing"), a Pipeline, or None
        self.pipeline = None

    def late(self, t_ms, key, metric):
        """Whether this moment reaches the aggregates late: a share of them,
        the same one on every run of the seed."""
        h = zlib.crc32(("%d/%s/%s" % (t_ms, key, metric)).encode())
        return h < self.late_share * 4294967296.0

    def flush(self, now_ms):
        """The late moments and the pipeline's changes visible at now_ms,
        into the store."""
        while self.pending and self.pending[0][0] <= now_ms:
            _, t, key, metric, value = self.pending.popleft()
            Store.add(self, t, key, metric, value)
        if self.pipeline is not None:
            self.pipeline.flush(self, now_ms)

    def remove(self, t_ms, key, metric, value):
        """One moment taken out again (a change down): its count and sum;
        min and max stay as they were (what the store serves and the truth
        reports alike)."""
        arr = self.minutes.get(t_ms // 60000, {}).get(key)
        if arr is None:
            return False
        i = self.midx[metric] * 4
        if arr[i] < 1:
            return False
        arr[i] -= 1
        arr[i + 1] -= value
        return True

    def release(self):
        """Every late moment still hidden from the aggregates shown now
        (agg_release); returns how many."""
        n = len(self.pending)
        while self.pending:
            _, t, key, metric, value = self.pending.popleft()
            Store.add(self, t, key, metric, value)
        return n

    def hidden(self, start_ms, end_ms, keyfn):
        """Late moments in [start, end) of the keys keyfn takes, not yet
        visible (after flush)."""
        return sum(1 for _, t, key, _, _ in self.pending
                   if start_ms <= t < end_ms and keyfn(key) is not None)

    def add(self, t_ms, key, metric, value=None):
        if self.late_share > 0 and self.late(t_ms, key, metric):
            self.pending.append((t_ms + self.late_ms, t_ms, key, metric, value))
        else:
            Store.add(self, t_ms, key, metric, value)
        if self.pipeline is not None:
            self.pipeline.plan(t_ms, key, metric, value)
        k = (key[0], key[1])
        ws = t_ms - t_ms % self.WINDOW_MS
        w = self.win.get(k)
        if w is None or w[0] != ws:
            w = self.win[k] = [ws, array("d", self.template)]
        arr = w[1]
        accumulate(arr, self.midx[metric] * 4, value)
        self.touched.add(k)

    def window(self, k, now_ms):
        """{metric: [count, sum, min, max]} of the window holding now_ms."""
        w = self.win.get(k)
        if w is None or w[0] != now_ms - now_ms % self.WINDOW_MS:
            return {}
        arr = w[1]
        return {m: list(arr[i * 4:i * 4 + 4]) for i, m in enumerate(self.metrics)
                if arr[i * 4]}


# ---------------------------------------------------------------------------
# Live gauges as served: summaries per window (README, "Summaries truth")
#
# A client knows a queue's gauges only from what the simulator served it:
# the observation messages (at most one per queue per real second) and the
# observations query.  Each series is a timeline of change points (time,
# value), interleaved in one array("q"): t0, v0, t1, v1, ...  For the
# longest_* series the value is `since`, the instant the oldest
# conversation entered the state (0: nothing), and the gauge at t is
# (t - since) / 1000 seconds.

SUMMARY_ROUTING = [r.lower() for r in ROUTING]
# the plugin's presence names: the model's, and two it never uses (always 0)
SUMMARY_PRESENCES = [p.lower() for p in PRESENCES] + ["idle", "other"]
MEDIA_GAUGES = ("waiting", "interacting", "alerting", "longest_waiting", "longest_interacting")
AGENT_GAUGES = ([("agents", n) for n in ("member", "active", "on_queue", "off_queue")] +
                [("agents_routing", r) for r in SUMMARY_ROUTING] +
                [("agents_presence", p) for p in SUMMARY_PRESENCES])
ORG_GAUGES = ([("org_agents", "total")] + [("org_agents_routing", r) for r in SUMMARY_ROUTING] +
              [("org_agents_presence", p) for p in SUMMARY_PRESENCES])
# which gauges of a group an observations query metric carries
MEDIA_METRIC_GAUGES = {"oWaiting": (0,), "oInteracting": (1,), "oAlerting": (2,),
                       "oLongestWaiting": (3,), "oLongestInteracting": (4,)}
_NR, _NP = len(ROUTING), len(SUMMARY_PRESENCES)
AGENT_METRIC_GAUGES = {"oMemberUsers": (0,), "oActiveUsers": (1,), "oOnQueueUsers": (2,),
                       "oOffQueueUsers": (3,),
                       "oUserRoutingStatuses": tuple(range(4, 4 + _NR)),
                       "oUserPresences": tuple(range(4 + _NR, 4 + _NR + _NP))}
_INF = 1 << 62


def _last_le(tv, n, x):
    """Index of the last point at or before x, -1 if none."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if tv[2 * mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def _last_lt(tv, n, x):
    """Index of the last point before x, -1 if none."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if tv[2 * mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def _ramp(x, y, c):
    """Integral over [x, y) of max(0, t - c) / 1000 (t in ms, value in s)."""
    a, b = max(0, x - c), max(0, y - c)
    return (b * b - a * a) / 2000.0


def _flat_stats(v, s, e, tol, longest):
    """_window_stats() of one value in effect all through [s - tol, e + tol):
    the common case."""
    if not longest:
        return v, v, v, v, v * (e - s), v * (e - s)
    if v <= 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    return (max(0, s - v - tol) / 1000.0, max(0, s - v + tol) / 1000.0,
            max(0, e - v - tol) / 1000.0, max(0, e - v + tol) / 1000.0,
            _ramp(s, e, v + tol), _ramp(s, e, v - tol))


def _window_stats(tv, n, s, e, tol, longest):
    """(min_lo, min_hi, max_lo, max_hi, integral_lo, integral_hi) over
    [s, e) of the timeline tv when every change point may arrive up to tol
    ms early or late (tol 0: each pair is the exact value).  For min and
    max every value in effect counts, however briefly (a client applies
    every change); the integrals bound the value at each instant by the
    lowest and highest segment that may be in effect then.  For longest_*
    the `since` of a segment may be off by tol as well."""
    a_min = max(0, _last_le(tv, n, s - tol))   # surely in effect at s or before
    a_max = _last_le(tv, n, s + tol)           # the latest that may be in effect at s
    b_min = _last_lt(tv, n, e - tol)           # surely in effect before e
    b_max = _last_lt(tv, n, e + tol)           # the latest that may be in effect before e

    if a_min == b_max:
        return _flat_stats(tv[2 * a_min + 1], s, e, tol, longest)

    def nxt(j):
        return tv[2 * j + 2] if j + 1 < n else _INF

    if longest:
        def lo(j, t):
            v = tv[2 * j + 1]
            return max(0, t - v - tol) / 1000.0 if v > 0 else 0.0

        def hi(j, t):
            v = tv[2 * j + 1]
            return max(0, t - v + tol) / 1000.0 if v > 0 else 0.0
    else:
        def lo(j, t):
            return tv[2 * j + 1]
        hi = lo
    possible = range(a_min, b_max + 1)
    certain = range(a_max, b_min + 1)
    min_lo = min(lo(j, max(s, tv[2 * j] - tol)) for j in possible)
    max_hi = max(hi(j, min(e, nxt(j) + tol)) for j in possible)
    if certain:
        min_hi = min(hi(j, max(s, tv[2 * j] + tol)) for j in certain)
        max_lo = max(lo(j, max(s, tv[2 * j] - tol, min(e, nxt(j) - tol))) for j in certain)
    else:
        min_hi, max_lo = max_hi, min_lo
    # integrals: the segments that may be in effect change only at t_j +- tol
    cuts = {s, e}
    for j in range(a_min + 1, min(n, b_max + 2)):
        for x in (tv[2 * j] - tol, tv[2 * j] + tol):
            if s < x < e:
                cuts.add(x)
    cuts = sorted(cuts)
    int_lo = int_hi = 0.0
    for x, y in zip(cuts, cuts[1:]):
        mid = (x + y) / 2.0
        vals = [tv[2 * j + 1] for j in possible if tv[2 * j] - tol <= mid < nxt(j) + tol]
        if not vals:
            continue
        if longest:
            nz = [v for v in vals if v > 0]
            if len(nz) == len(vals):
                int_lo += _ramp(x, y, max(nz) + tol)
            if nz:
                int_hi += _ramp(x, y, min(nz) - tol)
        else:
            int_lo += min(vals) * (y - x)
            int_hi += max(vals) * (y - x)
    return min_lo, min_hi, max_lo, max_hi, int_lo, int_hi


def summarize(tv, start, end, tol=0, longest=False):
    """The summary of one window [start, end) of a timeline tv (interleaved
    array of (ms, value), sorted; for longest_* the value is `since`, 0 for
    none): {start_ms, end_ms, min, max, mean, min_lo, min_hi, max_lo,
    max_hi, mean_lo, mean_hi, partial}, or None when the series has no value
    in the window.  The value in effect at start comes from the last point
    at or before it.  A series whose first point falls inside the window is
    `partial`: the figures cover [covered_from_ms, end) only.  The _lo/_hi
    bounds are what the window gives when every point may move by up to tol
    ms (so a point within tol of a boundary may fall on either side of it);
    without such points min_lo == min == min_hi and max_lo == max == max_hi
    for a level gauge."""
    n = len(tv) // 2
    if n == 0 or tv[0] >= end:
        return None
    partial = tv[0] > start
    s = tv[0] if partial else start
    x = _window_stats(tv, n, s, end, 0, longest)
    b = _window_stats(tv, n, s, end, tol, longest) if tol > 0 else x
    return _row(start, end, s, x, b, partial)


def _row(start, end, s, x, b, partial):
    span = float(end - s)
    row = {"start_ms": start, "end_ms": end, "min": x[0], "max": x[2],
           "mean": x[4] / span,
           # the exact figures are always within their bounds
           "min_lo": min(b[0], x[0]), "min_hi": max(b[1], x[0]),
           "max_lo": min(b[2], x[2]), "max_hi": max(b[3], x[2]),
           "mean_lo": min(b[4], x[4]) / span, "mean_hi": max(b[5], x[4]) / span,
           "partial": partial}
    if partial:
        row["covered_from_ms"] = s
    return row


class Summaries:
    """Records, per live gauge a client of the simulator can know, the
    timeline of the values served: observation messages that reached a
    socket, observations query answers and, for the org-wide agents,
    v2.users.{id}.activity messages and the users' states in listings and
    user documents.  Only changes are recorded; pruned with the model."""

    def __init__(self, model):
        self.m = model
        self.groups = {}     # (queue idx | "org", media | None) -> (gauges, last, arrays)
        na = len(model.agents)
        self.user_r = array("b", [-1]) * na     # served routing status, -1 unknown
        self.user_p = array("b", [-1]) * na     # served presence, -1 unknown
        self.counted = bytearray(na)            # activity topic subscribed (ever)
        self.org = [0] * len(ORG_GAUGES)
        self.media_gauges = {}

    def _put(self, key, gauges, values, now):
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = (gauges, [None] * len(gauges), [None] * len(gauges))
        last, arrs = g[1], g[2]
        for i, v in enumerate(values):
            if v is None or v == last[i]:
                continue
            last[i] = v
            arr = arrs[i]
            if arr is None:
                arrs[i] = array("q", (now, v))
            elif arr[-2] == now:            # two changes in one ms: the last stands
                if len(arr) >= 4 and arr[-3] == v:
                    del arr[-2:]
                else:
                    arr[-1] = v
            else:
                arr.append(now)
                arr.append(v)

    def media(self, qi, m, now, metrics=None):
        """Queue qi's media group m as served now (metrics: the query's
        metrics when not all of them)."""
        q = self.m.queues[qi]
        w, it = q.waiting[m], q.interacting[m]
        vals = [len(w), len(it), len(q.alerting[m]),
                min(c.t_enter for c in w) if w else 0,
                min(c.t_answer for c in it) if it else 0]
        if metrics is not None:
            carried = {i for x in metrics for i in MEDIA_METRIC_GAUGES.get(x, ())}
            vals = [v if i in carried else None for i, v in enumerate(vals)]
        gauges = self.media_gauges.get(m)
        if gauges is None:
            gauges = self.media_gauges[m] = [(x, m) for x in MEDIA_GAUGES]
        self._put((qi, m), gauges, vals, now)

    def agents(self, qi, now, metrics=None):
        """Queue qi's agents group as served now."""
        q = self.m.queues[qi]
        vals = [len(q.members), q.active, q.onq, q.offq] + q.by_routing + q.by_presence + [0, 0]
        if metrics is not None:
            carried = {i for x in metrics for i in AGENT_METRIC_GAUGES.get(x, ())}
            vals = [v if i in carried else None for i, v in enumerate(vals)]
        self._put((qi, None), AGENT_GAUGES, vals, now)

    def _org_add(self, i, sign):
        r, p = self.user_r[i], self.user_p[i]
        if r >= 0:
            self.org[1 + r] += sign
        if p >= 0:
            self.org[1 + _NR + p] += sign

    def user(self, a, now, routing=True, presence=True, listing=False):
        """Agent a's routing status and/or presence served now.  A listing
        (routing activity query, queue members) only tells what a client
        does not know yet: the plugin keeps the states it has over those of
        a new listing (plugins/realtime/gen_roster.c)."""
        i = a.idx
        r_old, p_old = self.user_r[i], self.user_p[i]
        if listing and (r_old >= 0 or p_old >= 0):
            return
        r = a.routing if routing else r_old
        p = a.presence if presence else p_old
        if r == r_old and p == p_old:
            return
        if self.counted[i]:
            self._org_add(i, -1)
        self.user_r[i], self.user_p[i] = r, p
        if self.counted[i]:
            self._org_add(i, 1)
            self._put(("org", None), ORG_GAUGES, self.org, now)

    def subscribed(self, a, now):
        """Agent a's activity topic is subscribed: a client counts the agent
        in the org-wide figures from now on (with the states served so far)."""
        i = a.idx
        if self.counted[i]:
            return
        self.counted[i] = 1
        self.org[0] += 1
        self._org_add(i, 1)
        self._put(("org", None), ORG_GAUGES, self.org, now)

    def prune(self, cut):
        """Drops the points before cut, keeping the one in effect at cut."""
        for _, _, arrs in self.groups.values():
            for arr in arrs:
                if arr is not None:
                    i = _last_le(arr, len(arr) // 2, cut)
                    if i > 0:
                        del arr[:2 * i]

    def _series(self, queue_ids=None):
        """(queue id | "org", media, type, type_instance, timeline), sorted."""
        want = set(queue_ids) if queue_ids else None
        out = []
        for (qi, m), (gauges, _, arrs) in self.groups.items():
            qid = "org" if qi == "org" else self.m.queues[qi].id
            if want is not None and qid not in want:
                continue
            for (typ, ti), arr in zip(gauges, arrs):
                if arr is not None:
                    out.append((qid, m, typ, ti, arr))
        out.sort(key=lambda x: (x[0], x[1] or "", x[2], x[3]))
        return out

    def timelines(self, queue_ids=None):
        """[{queue, media, type, type_instance, points: [[ms, value], ...]}]
        (longest_*: value = since, 0 for none)."""
        return [{"queue": qid, "media": m, "type": typ, "type_instance": ti,
                 "points": [[arr[k], arr[k + 1]] for k in range(0, len(arr), 2)]}
                for qid, m, typ, ti, arr in self._series(queue_ids)]

    def first_ms(self):
        """The earliest point recorded (None: nothing recorded)."""
        firsts = [arr[0] for _, _, arrs in self.groups.values() for arr in arrs
                  if arr is not None]
        return min(firsts) if firsts else None

    def rows(self, window_ms, from_ms, to_ms, tol=0, queue_ids=None, offset=0):
        """Yields the summary (summarize()) of every window [k*W, (k+1)*W)
        within [from_ms, to_ms) of every series with a value in it, with
        queue, media, type and type_instance. offset: the client's clock
        reads simulated time + offset (every point, and every longest_*
        since, is moved by it; the windows are the client's)."""
        k0 = -(-from_ms // window_ms)
        k1 = to_ms // window_ms
        for qid, m, typ, ti, arr in self._series(queue_ids):
            longest = typ.startswith("longest_")
            if offset:
                arr = [x + offset if (i % 2 == 0 or (longest and x)) else x
                       for i, x in enumerate(arr)]
            n = len(arr) // 2
            j = 0           # the last point at or before start - tol, once there is one
            for k in range(max(k0, arr[0] // window_ms), k1):
                start, end = k * window_ms, (k + 1) * window_ms
                while j + 1 < n and arr[2 * j + 2] <= start - tol:
                    j += 1
                if arr[2 * j] <= start - tol and (j + 1 == n or arr[2 * j + 2] >= end + tol):
                    # nothing changes near this window
                    v = arr[2 * j + 1]
                    x = _flat_stats(v, start, end, 0, longest)
                    b = _flat_stats(v, start, end, tol, longest) if tol > 0 else x
                    r = _row(start, end, start, x, b, False)
                else:
                    r = summarize(arr, start, end, tol, longest)
                    if r is None:
                        continue
                r.update(queue=qid, media=m, type=typ, type_instance=ti)
                yield r


# ---------------------------------------------------------------------------

class Queue:
    __slots__ = ("idx", "id", "name", "div", "media", "members", "flow", "waiting",
                 "alerting", "interacting", "idle", "by_routing", "by_presence", "by_opres",
                 "active", "onq", "offq", "cum", "obs_waiting_detail")

    def __init__(self, idx, qid, name, div, media):
        self.idx, self.id, self.name, self.div, self.media = idx, qid, name, div, media
        self.members = []
        self.flow = None
        self.waiting = {m: {} for m in media}      # conv -> conv (ordered)
        self.alerting = {m: {} for m in media}
        self.interacting = {m: {} for m in media}
        self.idle = {}                              # agent -> True (ordered by idle since)
        self.by_routing = [0] * len(ROUTING)
        self.by_presence = [0] * len(PRESENCES)
        self.by_opres = [0] * (len(PRESENCES) + len(ORG_PRESENCE_EXTRA))
        self.active = self.onq = self.offq = 0
        self.cum = {m: [0, 0, 0, 0] for m in media}  # offered answered abandoned transferred


class Agent:
    __slots__ = ("idx", "id", "name", "members", "joined", "routing", "presence", "rs_start",
                 "pr_start", "seg", "pending_pres", "ver", "aq_changed", "rs_t", "rs_v",
                 "pr_t", "pr_v", "div", "opres", "until")

    def __init__(self, idx, aid, name):
        self.idx, self.id, self.name = idx, aid, name
        self.members = []
        self.joined = []
        self.routing = R_OFF
        self.presence = P_OFFLINE
        self.opres = P_OFFLINE       # org presence definition index
        self.seg = None
        self.pending_pres = None
        self.ver = 0
        self.rs_t = array("q")
        self.rs_v = array("b")
        self.pr_t = array("q")
        self.pr_v = array("b")
        self.until = None            # a former agent: deactivated at this time


class Flow:
    __slots__ = ("idx", "id", "name", "type", "div", "outcomes", "milestones", "metrics",
                 "active", "version")


class Conv:
    __slots__ = ("id", "media", "q", "state", "t_arrive", "t_enter", "seg", "parts", "cust",
                 "acd", "attrs", "flow", "n_transfers", "ani", "alert_start", "agent",
                 "agentp", "talk_ms", "hold_ms", "t_answer", "first_q", "ivr", "queued_once",
                 "num", "held")


class Seg:
    """An agent's handling of one conversation segment."""
    __slots__ = ("conv", "q", "media", "part", "talk_ms", "hold_ms", "acw_ms", "transferred",
                 "t_conn")


class Model:
    # the share of IVR executions that end in the flow (--flow-disconnect-share)
    flow_disconnect_share = 0.12

    def __init__(self, seed=1, n_queues=10, n_agents=100, n_flows=5, start_ms=0,
                 load=0.85, arrival_scale=1.0, hub=None, retention_h=26.0,
                 presence_ids=None, deactivated=None, deactivated_after_ms=300000,
                 deleted=None, teams=None):
        self.seed = seed
        self.n_teams = TEAMS if teams is None else teams
        self.hub = hub
        self.now = start_ms
        self.start_ms = start_ms
        self.rng = random.Random("model-%s" % seed)
        self.retention_ms = int(retention_h * 3600000)
        self.heap = []
        self.seq = 0
        self.events_processed = 0
        self.conv_count = 0
        self.conv_store = WindowStore(CONV_METRICS)
        self.flow_store = Store(FLOW_METRICS)
        self.synth_store = SynthStore(self)
        self.org_routing = [0] * len(ROUTING)
        self.org_presence = [0] * len(PRESENCES)
        self.flow_truth = {}
        self.attr_truth = {}          # (flow name, metric) -> count
        self.attr_truth_queued = {}
        self.late_injected = []
        self.paused = False
        self.frozen = False
        self._build(seed, n_queues, n_agents, n_flows)
        self._build_former(seed, max(1, n_agents // 20) if deactivated is None else deactivated,
                           start_ms + deactivated_after_ms)
        self._build_deleted(seed, max(1, n_agents // 10) if deleted is None else deleted)
        self.summaries = Summaries(self)   # the live gauges as served
        self._init_state(load, arrival_scale)

    # ------------------------------------------------------------ entities
    def _build_former(self, seed, n, until_ms):
        """Users deactivated at until_ms (README, Evidence: deactivated
        users): agents of no queue with time in status from the start until
        then, listed by GET /api/v2/users only with state=any or inactive
        once deactivated, their past time still in the users aggregates.
        Kept apart from self.agents (the live model and its truths) and
        drawn from their own generator, so every other id stays as it was."""
        rng = random.Random("former-%s" % seed)
        self.former = []
        for i in range(n):
            a = Agent(len(self.agents) + i, det_uuid(rng), "Former Agent %05d" % (i + 1))
            a.div = self.divisions[0]
            a.until = until_ms
            a.rs_start = a.pr_start = until_ms  # off queue and offline since
            t = self.start_ms
            while t < until_ms:
                a.rs_t.append(t)
                a.rs_v.append(rng.choice((R_OFF, R_IDLE, R_INTER)))
                a.pr_t.append(t)
                a.pr_v.append(rng.choice((P_ONQ, PRESENCES.index("AVAILABLE"),
                                          PRESENCES.index("BREAK"))))
                t += rng.randint(30, 300) * 1000
            self.former.append(a)
        self.former_by_id = {a.id: a for a in self.former}

    def _build_deleted(self, seed, n):
        """Users deleted before the model's start (README, Evidence:
        deactivated users): listed by GET /api/v2/users only with state=any
        or deleted, with no time in any bucket the model has; an org's whole
        history of them, which a client listing state=any pays for in every
        range of its users aggregates."""
        rng = random.Random("deleted-%s" % seed)
        self.deleted = []
        base = len(self.agents) + len(self.former)
        for i in range(n):
            a = Agent(base + i, det_uuid(rng), "Deleted Agent %05d" % (i + 1))
            a.div = self.divisions[0]
            a.until = self.start_ms
            self.deleted.append(a)
        self.deleted_ids = {a.id for a in self.deleted}

    def _build_teams(self, seed):
        """Work teams (README, Agent states by team or division): --teams
        of them (TEAMS by default), agent i in team i % (teams + 1) (the last share in none), and
        each agent in the division of its first queue (in Home without
        one). Drawn from their own generator, so every other id stays as
        it was."""
        rng = random.Random("teams-%s" % seed)
        nt = self.n_teams
        self.teams = [{"id": det_uuid(rng), "name": "Team %02d" % (k + 1),
                       "division": self.divisions[k % len(self.divisions)], "members": []}
                      for k in range(nt)]
        for a in self.agents:
            if a.members:
                a.div = self.queues[a.members[0]].div
            k = a.idx % (nt + 1)
            if k < nt:
                self.teams[k]["members"].append(a.idx)
        for t in self.teams:
            t["member_set"] = set(t["members"])
        self.team_by_id = {t["id"]: t for t in self.teams}

    @staticmethod
    def counted_routing(a):
        """The routing status the agent counts answer an agent by: its own,
        but UNKNOWN for an offline agent of every fourth index (the enum's
        first value, AgentStateRoutingStatusCount; which agents Genesys
        answers so is UNCONFIRMED: README, Agent states by team or
        division)."""
        if a.presence == P_OFFLINE and a.idx % 4 == 0:
            return "UNKNOWN"
        return ROUTING[a.routing]

    def agent_state_counts(self, agents):
        """What POST /api/v2/analytics/agents/status/counts counts of agents:
        {routing status: n}, {(system presence, org presence id): n}, each
        only when not 0 (README, Agent states by team or division)."""
        routing, presence = {}, {}
        for a in agents:
            r = self.counted_routing(a)
            routing[r] = routing.get(r, 0) + 1
            k = (PRESENCES[a.presence], self.org_presences[a.opres]["id"])
            presence[k] = presence.get(k, 0) + 1
        return routing, presence

    def group_counts(self, agents):
        """{agents, routing, presence (by system presence)} of agents, as
        the agent counts answer them."""
        routing, pres = self.agent_state_counts(agents)
        sysp = {}
        for (sp, _), n in pres.items():
            sysp[sp] = sysp.get(sp, 0) + n
        return {"agents": len(agents), "routing": routing, "presence": sysp}

    def group_truth(self):
        """The agents of each division and team by routing status and system
        presence now (GET /sim/truth/agentgroups)."""
        counts = self.group_counts
        out = {"divisions": {}, "teams": {}}
        for d in self.divisions:
            out["divisions"][d["id"]] = dict(counts([a for a in self.agents
                                                     if a.div["id"] == d["id"]]),
                                             name=d["name"])
        for t in self.teams:
            out["teams"][t["id"]] = dict(counts([self.agents[i] for i in t["members"]]),
                                         name=t["name"])
        return out

    def users(self, state):
        """The users GET /api/v2/users lists with state (active, the default;
        inactive, or deactivated as some clients spell it; deleted; any)."""
        if state == "any":
            return self.agents + self.former + self.deleted
        if state == "deleted":
            return self.deleted
        gone = [a for a in self.former if a.until <= self.now]
        if state in ("inactive", "deactivated"):
            return gone
        if state == "active":
            return self.agents + [a for a in self.former if a.until > self.now]
        return []

    def _build(self, seed, nq, na, nf):
        er = random.Random("entities-%s" % seed)
        self.org_id = det_uuid(er)
        self.divisions = [{"id": det_uuid(er), "name": n} for n in DIVS]
        self.presence_defs = [{"id": det_uuid(er), "systemPresence": p} for p in PRESENCES]
        # Org presence definitions: the primary one of each system presence
        # first (index = system presence index), then the custom ones, drawn
        # from their own generator so that every other id stays as it was.
        pr = random.Random("presences-%s" % seed)
        self.org_presences = [dict(d, name=PRESENCE_DISPLAY[d["systemPresence"]], primary=True,
                                   deactivated=False, sys=i)
                              for i, d in enumerate(self.presence_defs)]
        for name, sp, off in ORG_PRESENCE_EXTRA:
            self.org_presences.append({"id": det_uuid(pr), "systemPresence": sp, "name": name,
                                       "primary": False, "deactivated": off,
                                       "sys": PRESENCES.index(sp)})
        self.opres_sys = [d["sys"] for d in self.org_presences]
        self.opres_ids = [d["id"] for d in self.org_presences]
        self.opres_sysname = {d["id"]: d["systemPresence"] for d in self.org_presences}
        self.opres_alt = {}      # system index -> custom, active org definitions
        for j, d in enumerate(self.org_presences):
            if not d["primary"] and not d["deactivated"]:
                self.opres_alt.setdefault(d["sys"], []).append(j)
        self.queues = []
        for i in range(nq):
            dept = DEPTS[i % len(DEPTS)]
            lang = LANGS[(i // len(DEPTS)) % len(LANGS)]
            num = i // (len(DEPTS) * len(LANGS)) + 1
            media = ["voice"]
            r = er.random()
            if r < 0.4:
                media.append("chat")
            if er.random() < 0.3:
                media.append("message")
            if er.random() < 0.2:
                media.append("email")
            if er.random() < 0.1:
                media.append("callback")
            q = Queue(i, det_uuid(er), "%s %s %03d" % (dept, lang, num),
                      self.divisions[DEPT_DIV[dept]], media)
            self.queues.append(q)
        self.queue_by_id = {q.id: q for q in self.queues}
        self.agents = []
        for i in range(na):
            a = Agent(i, det_uuid(er), "%s %s %05d" % (FIRST[i % 16], LAST[(i // 16) % 16], i + 1))
            a.div = self.divisions[0]
            if nq:
                mem = {i % nq}
                extra = er.choice((0, 1, 1, 2))
                for _ in range(extra):
                    mem.add(er.randrange(nq))
                a.members = sorted(mem)
                a.joined = [q for q in a.members if er.random() < 0.92] or [a.members[0]]
                for q in a.members:
                    self.queues[q].members.append(i)
            self.agents.append(a)
        self._build_teams(seed)
        self.agent_by_id = {a.id: a for a in self.agents}
        # outcomes, milestones, flows
        n_out = max(len(OUTCOME_NAMES), nf)
        self.outcomes = []
        for i in range(n_out):
            nm = OUTCOME_NAMES[i % len(OUTCOME_NAMES)]
            if i >= len(OUTCOME_NAMES):
                nm += str(i // len(OUTCOME_NAMES) + 1)
            self.outcomes.append({"id": det_uuid(er), "name": nm, "division": self.divisions[0],
                                  "description": "Simulated outcome " + nm})
        n_mil = max(len(MILESTONE_NAMES), nf)
        self.milestones = []
        for i in range(n_mil):
            nm = MILESTONE_NAMES[i % len(MILESTONE_NAMES)]
            if i >= len(MILESTONE_NAMES):
                nm += str(i // len(MILESTONE_NAMES) + 1)
            self.milestones.append({"id": det_uuid(er), "name": nm, "division": self.divisions[0],
                                    "description": "Simulated milestone " + nm})
        self.outcome_by_id = {o["id"]: i for i, o in enumerate(self.outcomes)}
        self.milestone_by_id = {o["id"]: i for i, o in enumerate(self.milestones)}
        self.flows = []
        n_ivr = max(1, (nf * 7 + 9) // 10) if nf else 0
        for i in range(nf):
            f = Flow()
            f.idx = i
            f.id = det_uuid(er)
            if i < n_ivr:
                f.type = "INBOUNDCALL"
                f.name = "%s%sIvr%02d" % (DEPTS[i % 8], LANGS[(i // 8) % 6], i // 48 + 1)
            else:
                f.type = FLOW_TYPES_OTHER[(i - n_ivr) % len(FLOW_TYPES_OTHER)]
                f.name = "%s%s%02d" % (DEPTS[i % 8], f.type.title().replace("call", "Call"), i + 1)
            f.div = self.divisions[0]
            f.outcomes = sorted(er.sample(range(n_out), er.randint(1, 3)))
            f.milestones = sorted(er.sample(range(n_mil), er.randint(2, 4)))
            f.metrics = er.sample(METRIC_NAMES, er.randint(2, 3))
            f.active = 0
            f.version = "%d.0" % er.randint(1, 9)
            self.flows.append(f)
        self.flow_by_id = {f.id: f for f in self.flows}
        self.ivr_flows = [f for f in self.flows if f.type == "INBOUNDCALL"]
        for q in self.queues:
            if self.ivr_flows:
                q.flow = self.ivr_flows[q.idx % len(self.ivr_flows)]
        self.wrapups = [{"id": det_uuid(er), "name": n, "division": self.divisions[0]}
                        for n in WRAPUP_NAMES]
        for f in self.flows:
            self.flow_truth[f.id] = {"executions": 0, "disconnects": 0, "exits": 0,
                                     "outcomes": {}, "milestones": {}}

    def _init_state(self, load, arrival_scale):
        rng = self.rng
        t = self.now
        for a in self.agents:
            p = PRESENCES.index(pick_weighted(rng, PRES_INITIAL))
            a.presence = p
            a.opres = self._org_presence(a, p, t)
            a.routing = R_IDLE if p == P_ONQ else R_OFF
            a.rs_start = a.pr_start = a.aq_changed = t
            a.rs_t.append(t)
            a.rs_v.append(a.routing)
            a.pr_t.append(t)
            a.pr_v.append(a.opres)
            self._contrib(a, 1)
            self._push(t + int(rng.expovariate(1.0 / PRES_DWELL[PRESENCES[p]]) * 1000),
                       self._ev_presence, a)
            if a.members:
                self._push(t + int(rng.expovariate(1 / 28800.0) * 1000), self._ev_join_toggle, a)
        # arrivals
        mean_handle = 0.0
        wsum = 0.0
        self.streams = []
        for q in self.queues:
            if not q.members:
                w = 0.2
            else:
                w = float(len(q.members))
            for m in q.media:
                mw = 1.0 if m == "voice" else 0.5
                self.streams.append((q.idx, m, w * mw / len(q.media)))
                wsum += w * mw / len(q.media)
                p = MEDIA_PARAMS[m]
                mean_handle += (w * mw / len(q.media)) * (p[0] + p[1] + p[2] * p[3] + p[4])
        if not self.streams:
            return
        mean_handle /= wsum
        avg_mem = max(1.0, sum(len(q.members) for q in self.queues) / max(1, len(self.agents)))
        capacity = len(self.agents) * ONQ_FRACTION / mean_handle  # conversations per second
        total = max(0.002, load * capacity) * arrival_scale
        self.arrival_rate = total
        self.stream_rates = []
        for i, (qi, m, w) in enumerate(self.streams):
            lam = total * w / wsum
            self.stream_rates.append(lam)
            if lam > 0:   # --arrival-scale 0: no arrivals
                self._push(t + int(rng.expovariate(lam) * 1000), self._ev_arrival, i)
        # randomise idle order for agents
        for a in self.agents:
            if a.routing == R_IDLE:
                for qi in a.joined:
                    self.queues[qi].idle[a] = True

    # ------------------------------------------------------------ engine
    def _push(self, t, fn, *args):
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, fn, args))

    def advance_to(self, t_ms, budget=None):
        """Process all events up to t_ms.  budget: max events (returns False if cut)."""
        if t_ms < self.now:
            return True
        if self.frozen:  # the clock runs on, nothing changes (freeze fault)
            self.now = t_ms
            return True
        heap = self.heap
        n = 0
        while heap and heap[0][0] <= t_ms:
            t, _, fn, args = heapq.heappop(heap)
            # An event scheduled behind the clock runs "now": simulated
            # time never goes back (durations would turn negative).
            self.now = max(self.now, t)
            fn(*args)
            n += 1
            if budget is not None and n >= budget:
                self.events_processed += n
                return False
        self.events_processed += n
        self.now = t_ms
        return True

    def prune(self):
        cut = self.now - self.retention_ms
        self.conv_store.prune(cut)
        self.flow_store.prune(cut)
        self.summaries.prune(cut)
        for a in self.agents:
            for tl, vl in ((a.rs_t, a.rs_v), (a.pr_t, a.pr_v)):
                i = bisect.bisect_right(tl, cut) - 1
                if i > 0:
                    del tl[:i]
                    del vl[:i]

    # ------------------------------------------------------------ agent state
    def _org_presence(self, a, p, t):
        """The org presence definition an agent entering system presence p at
        t is in: a custom one a third of the time where there is one.  A hash,
        not the model's generator, so the evolution is the same as before."""
        alt = self.opres_alt.get(p)
        if not alt:
            return p
        h = (a.idx * 2654435761 + (t // 1000) * 40503 + self.seed * 97) % 3000017
        return alt[h % len(alt)] if h % 3 == 0 else p

    def _contrib(self, a, sign):
        r, p = a.routing, a.presence
        self.org_presence[p] += sign
        self.org_routing[r] += sign
        op = a.opres
        for qi in a.joined:
            q = self.queues[qi]
            q.by_presence[p] += sign
            q.by_opres[op] += sign
            if p != P_OFFLINE:
                q.by_routing[r] += sign
                q.active += sign
                if r == R_OFF:
                    q.offq += sign
                else:
                    q.onq += sign

    def _set_state(self, a, routing=None, presence=None):
        t = self.now
        old_r = a.routing
        self._contrib(a, -1)
        if presence is not None and presence != a.presence:
            a.presence = presence
            a.opres = self._org_presence(a, presence, t)
            a.pr_start = t
            a.pr_t.append(t)
            a.pr_v.append(a.opres)
        if routing is not None and routing != a.routing:
            a.routing = routing
            a.rs_start = t
            a.rs_t.append(t)
            a.rs_v.append(routing)
        self._contrib(a, 1)
        if old_r == R_IDLE and a.routing != R_IDLE:
            for qi in a.joined:
                self.queues[qi].idle.pop(a, None)
        elif old_r != R_IDLE and a.routing == R_IDLE:
            for qi in a.joined:
                self.queues[qi].idle[a] = True
        a.ver += 1
        hub = self.hub
        if hub is not None:
            for qi in a.joined:
                hub.queue_dirty(qi, None)
            topic = "v2.users.%s.activity" % a.id
            if hub.has(topic) and hub.publish(
                    topic, lambda: self.user_activity(a, hub.topic_spelling())):
                self.summaries.user(a, t)

    def user_activity(self, a, spelling="enum"):
        sp = PRESENCES[a.presence]
        return {
            "id": a.id,
            "routingStatus": {"status": ROUTING[a.routing], "startTime": iso(a.rs_start)},
            "presence": {"presenceDefinition": {"id": self.org_presences[a.opres]["id"],
                                                "systemPresence": sp if spelling == "enum"
                                                else PRESENCE_DISPLAY[sp]},
                         "presenceMessage": "", "modifiedDate": iso(a.pr_start)},
            "outOfOffice": {"active": False},
            "activeQueueIds": [self.queues[q].id for q in a.joined],
            "dateActiveQueuesChanged": iso(a.aq_changed),
        }

    def _ev_presence(self, a):
        rng = self.rng
        cur = PRESENCES[a.presence]
        if cur == "ON_QUEUE":
            nxt = pick_weighted(rng, PRES_NEXT_ONQ)
        elif cur == "OFFLINE":
            nxt = "ON_QUEUE" if rng.random() < 0.8 else "AVAILABLE"
        else:
            r = rng.random()
            nxt = "ON_QUEUE" if r < 0.85 else ("OFFLINE" if r < 0.93 else "AVAILABLE")
        self._push(self.now + int(rng.expovariate(1.0 / PRES_DWELL[nxt]) * 1000),
                   self._ev_presence, a)
        p = PRESENCES.index(nxt)
        if a.seg is not None or a.routing == R_NR:
            a.pending_pres = p
            return
        self._apply_presence(a, p)

    def _apply_presence(self, a, p):
        a.pending_pres = None
        if p == P_ONQ:
            if a.presence != P_ONQ:
                self._set_state(a, routing=R_IDLE, presence=p)
                self._route_agent(a)
        else:
            self._set_state(a, routing=R_OFF, presence=p)

    def _ev_join_toggle(self, a):
        rng = self.rng
        self._push(self.now + int(rng.expovariate(1 / 28800.0) * 1000), self._ev_join_toggle, a)
        if a.seg is not None:
            return
        qi = rng.choice(a.members)
        self._contrib(a, -1)
        if a.routing == R_IDLE:
            for x in a.joined:
                self.queues[x].idle.pop(a, None)
        if qi in a.joined:
            if len(a.joined) > 1:
                a.joined = [x for x in a.joined if x != qi]
        else:
            a.joined = sorted(a.joined + [qi])
        a.aq_changed = self.now
        self._contrib(a, 1)
        if a.routing == R_IDLE:
            for x in a.joined:
                self.queues[x].idle[a] = True
        for x in a.members:
            if self.hub is not None:
                self.hub.queue_dirty(x, None)
        if self.hub is not None:
            topic = "v2.users.%s.activity" % a.id
            if self.hub.has(topic) and self.hub.publish(
                    topic, lambda: self.user_activity(a, self.hub.topic_spelling())):
                self.summaries.user(a, self.now)
        if a.routing == R_IDLE:
            self._route_agent(a)

    def _ev_nr_end(self, a, ver):
        if a.ver != ver or a.routing != R_NR:
            return
        if a.pending_pres is not None and a.pending_pres != P_ONQ:
            self._apply_presence(a, a.pending_pres)
            return
        a.pending_pres = None
        self._set_state(a, routing=R_IDLE)
        self._route_agent(a)

    def _ev_comm_end(self, a, ver):
        if a.ver != ver or a.routing != R_COMM:
            return
        if a.pending_pres is not None and a.pending_pres != P_ONQ:
            self._apply_presence(a, a.pending_pres)
            return
        a.pending_pres = None
        self._set_state(a, routing=R_IDLE)
        self._route_agent(a)

    # ------------------------------------------------------------ conversations
    def _ev_arrival(self, si):
        rng = self.rng
        qi, m, _ = self.streams[si]
        self._push(self.now + max(1, int(rng.expovariate(self.stream_rates[si]) * 1000)),
                   self._ev_arrival, si)
        if self.paused:
            return
        c = self._new_conv(qi, m)
        if m == "voice" and self.queues[qi].flow is not None:
            self._start_flow(c, self.queues[qi].flow)
        else:
            c.flow = None
            self._enter_queue(c, qi)

    def _new_conv(self, qi, m):
        """A conversation of media m arriving now for queue qi (its customer
        connected; not yet in a flow or the queue)."""
        rng = self.rng
        c = Conv()
        self.conv_count += 1
        c.num = self.conv_count
        c.id = det_uuid(rng)
        c.media = m
        c.q = qi
        c.first_q = qi
        c.t_arrive = self.now
        c.seg = 0
        c.n_transfers = 0
        c.attrs = {}
        c.agent = None
        c.agentp = None
        c.acd = None
        c.ivr = None
        c.queued_once = False
        c.ani = "tel:+3222%06d" % rng.randrange(1000000) if m in ("voice", "callback") else \
            "customer%d@example.com" % rng.randrange(100000)
        cust = {"id": det_uuid(rng), "purpose": "customer", "address": c.ani,
                "connectedTime": iso(self.now), "attributes": c.attrs,
                MEDIA_ARRAY[m]: [{"id": det_uuid(rng), "state": "connected",
                                  "direction": "inbound", "held": False,
                                  "connectedTime": iso(self.now)}]}
        c.cust = cust
        c.parts = [cust]
        c.held = False
        return c

    def hold(self, qi, m, count):
        """Holds count conversations of media m waiting in queue qi (POST
        /sim/hold): made or abandoned now to that number; no agent takes
        them and none abandons on its own. Returns how many wait held."""
        q = self.queues[qi]
        if m not in q.waiting:
            raise ValueError("queue %s has no media %s" % (q.id, m))
        held = [c for c in q.waiting[m] if c.held]
        for c in held[count:]:
            self._ev_abandon(c, c.seg)
        for _ in range(count - len(held)):
            c = self._new_conv(qi, m)
            c.held = True
            c.flow = None
            self._enter_queue(c, qi)
        return sum(1 for c in q.waiting[m] if c.held)

    # ---- IVR flow
    def _start_flow(self, c, f):
        rng = self.rng
        t = self.now
        c.flow = f
        c.state = "ivr"
        f.active += 1
        ivr = {"id": det_uuid(rng), "purpose": "ivr", "name": f.name,
               "connectedTime": iso(t), "calls": [{"id": det_uuid(rng), "state": "connected",
                                                   "direction": "inbound", "held": False}]}
        c.ivr = ivr
        c.parts.append(ivr)
        self.flow_store.add(t, (f.idx, -1, -1), "nFlow")
        self.flow_truth[f.id]["executions"] += 1
        self._flow_record(c, f, "nFlow", 1)
        dur = int((15 + rng.expovariate(1 / 40.0)) * 1000)
        # milestones
        for mi in f.milestones:
            if rng.random() < 0.65:
                self._push(t + int(rng.random() * dur), self._ev_milestone, c, f, mi)
        # metric attributes
        for _ in range(rng.randint(1, 3)):
            self._push(t + int(rng.random() * dur), self._ev_attribute, c, f,
                       rng.choice(f.metrics), str(rng.randint(0, 9)))
        self._push(t + dur, self._ev_flow_end, c, f, dur)

    def _flow_record(self, c, f, metric, value, outcome=None, milestone=None, extra=None):
        topic = "v2.analytics.flow.%s.metrics" % f.id
        hub = self.hub
        if hub is None or not hub.has(topic):
            return
        hub.publish(topic, lambda: hub.flow_metric_body(self, c, f, metric, value,
                                                         outcome, milestone, extra))

    def _ev_milestone(self, c, f, mi):
        self.flow_store.add(self.now, (f.idx, -1, mi), "nFlowMilestone")
        mt = self.flow_truth[f.id]["milestones"]
        mid = self.milestones[mi]["id"]
        mt[mid] = mt.get(mid, 0) + 1
        self._flow_record(c, f, "nFlowMilestone", 1, milestone=mi)

    def _ev_attribute(self, c, f, metric, value):
        name = "%sMetric_%s(%s)" % (f.name, metric, iso(self.now, frac=False))
        if name in c.attrs:
            return
        c.attrs[name] = value
        k = (f.name, metric)
        self.attr_truth[k] = self.attr_truth.get(k, 0) + 1
        if self.hub is not None:
            self.hub.attribute_update(self, c, {name: value})

    def _ev_flow_end(self, c, f, dur):
        rng = self.rng
        t = self.now
        f.active -= 1
        ft = self.flow_truth[f.id]
        self._flow_record(c, f, "tFlow", dur)
        for oi in f.outcomes:
            if rng.random() < 0.7:
                ok = rng.random() < 0.8
                o = self.outcomes[oi]
                self.flow_store.add(t, (f.idx, oi, -1), "nFlowOutcome")
                self.flow_store.add(t, (f.idx, oi, -1), "tFlowOutcome", dur)
                if not ok:
                    self.flow_store.add(t, (f.idx, oi, -1), "nFlowOutcomeFailed")
                ot = ft["outcomes"].setdefault(o["id"], {"success": 0, "failure": 0})
                ot["success" if ok else "failure"] += 1
                self._flow_record(c, f, "nFlowOutcome", 1, outcome=(oi, ok))
                if not ok:
                    self._flow_record(c, f, "nFlowOutcomeFailed", 1, outcome=(oi, ok))
                self._flow_record(c, f, "tFlowOutcome", dur, outcome=(oi, ok))
        ivr = c.ivr
        ivr["endTime"] = iso(t)
        call = ivr["calls"][0]
        call["state"] = "disconnected"
        call["disconnectedTime"] = iso(t)
        if rng.random() < self.flow_disconnect_share:
            # caller hangs up in the IVR
            key = (f.idx, -1, -1, self.exit_reason(FLOW_DISCONNECT_REASONS), True)
            self.flow_store.add(t, key, "tFlow", dur)
            self.flow_store.add(t, key, "tFlowDisconnect", dur)
            ft["disconnects"] += 1
            self._flow_record(c, f, "tFlowDisconnect", dur,
                              extra={"exitReason": key[3], "selfServed": True})
            call["disconnectType"] = "peer"
            c.cust["endTime"] = iso(t)
            cc = c.cust[MEDIA_ARRAY[c.media]][0]
            cc["state"] = "disconnected"
            cc["disconnectType"] = "client"
            cc["disconnectedTime"] = iso(t)
            c.state = "done"
        else:
            key = (f.idx, -1, -1, self.exit_reason(FLOW_EXIT_REASONS), False)
            self.flow_store.add(t, key, "tFlow", dur)
            self.flow_store.add(t, key, "tFlowExit", dur)
            ft["exits"] += 1
            self._flow_record(c, f, "tFlowExit", dur,
                              extra={"exitReason": key[3], "selfServed": False,
                                     "transferType": "ACD"})
            call["disconnectType"] = "transfer"
            self._enter_queue(c, c.q)

    # ---- ACD
    def _publish_conv(self, qi, c, kind):
        q = self.queues[qi]
        m = c.media
        cum = q.cum[m]
        if kind == "offered":
            cum[0] += 1
        elif kind == "answered":
            cum[1] += 1
        elif kind == "abandoned":
            cum[2] += 1
        elif kind == "transferred":
            cum[3] += 1
        hub = self.hub
        if hub is None:
            return
        topic = "v2.routing.queues.%s.conversations" % q.id
        if hub.has(topic):
            hub.publish(topic, self.conv_body(c))

    def conv_body(self, c):
        return {"id": c.id, "maxParticipants": len(c.parts), "participants": c.parts,
                "recentTransfers": [], "recordingState": "none", "address": c.ani,
                "divisions": [{"division": {"id": self.queues[c.q].div["id"]},
                               "entities": [{"id": c.id}]}]}

    def _enter_queue(self, c, qi):
        rng = self.rng
        t = self.now
        q = self.queues[qi]
        m = c.media
        if m not in q.waiting:   # transfer target without the media: fall back
            qi = c.q
            q = self.queues[qi]
        c.q = qi
        c.seg += 1
        c.t_enter = t
        c.state = "waiting"
        if c.queued_once is False:
            c.queued_once = True
            for name in c.attrs:
                mk = self._attr_key(name)
                if mk:
                    self.attr_truth_queued[mk] = self.attr_truth_queued.get(mk, 0) + 1
        acd = {"id": det_uuid(rng), "purpose": "acd", "queueId": q.id, "name": q.name,
               "connectedTime": iso(t),
               MEDIA_ARRAY[m]: [{"id": det_uuid(rng), "state": "connected",
                                 "direction": "inbound", "held": False,
                                 "connectedTime": iso(t)}]}
        c.acd = acd
        c.parts.append(acd)
        self.conv_store.add(t, (qi, m, None), "nOffered")
        q.waiting[m][c] = c
        self._publish_conv(qi, c, "offered")
        if self.hub is not None:
            self.hub.queue_dirty(qi, m)
        if c.held:   # POST /sim/hold: waits until released
            return
        pat = MEDIA_PARAMS[m][5]
        self._push(t + int(rng.expovariate(1.0 / pat) * 1000) + 500, self._ev_abandon, c, c.seg)
        if q.idle:
            a = next(iter(q.idle))
            self._alert(c, a)

    @staticmethod
    def _attr_key(name):
        i = name.find("Metric_")
        j = name.find("(", i)
        if i <= 0 or j < 0:
            return None
        return (name[:i], name[i + 7:j])

    def _route_agent(self, a):
        """Agent became idle: take the oldest waiting conversation of its queues."""
        if a.routing != R_IDLE:
            return
        best = None
        for qi in a.joined:
            for d in self.queues[qi].waiting.values():
                c = next((c for c in d if not c.held), None)
                if c is not None and (best is None or c.t_enter < best.t_enter):
                    best = c
        if best is not None:
            self._alert(best, a)

    def _alert(self, c, a):
        rng = self.rng
        t = self.now
        q = self.queues[c.q]
        m = c.media
        del q.waiting[m][c]
        c.state = "alerting"
        c.alert_start = t
        c.agent = a
        ap = {"id": det_uuid(rng), "purpose": "agent", "userId": a.id, "queueId": q.id,
              "name": a.name, "wrapupRequired": True, "alertingTimeoutMs": ALERT_TIMEOUT_MS,
              MEDIA_ARRAY[m]: [{"id": det_uuid(rng), "state": "alerting", "direction": "inbound",
                                "held": False}]}
        c.agentp = ap
        c.parts.append(ap)
        s = Seg()
        s.conv, s.q, s.media, s.part = c, c.q, m, ap
        s.talk_ms = s.hold_ms = s.acw_ms = 0
        s.transferred = False
        a.seg = s
        self._set_state(a, routing=R_INTER)
        q.alerting[m][c] = c
        self._publish_conv(c.q, c, "alerting")
        if self.hub is not None:
            self.hub.queue_dirty(c.q, m)
        if rng.random() < 0.03:
            self._push(t + ALERT_TIMEOUT_MS, self._ev_no_answer, c, a, c.seg)
        else:
            alert = int(min(ALERT_TIMEOUT_MS - 500,
                            500 + rng.expovariate(1000.0 / MEDIA_PARAMS[m][4] / 1000) * 1000))
            self._push(t + alert, self._ev_answer, c, a, c.seg)

    def _ev_no_answer(self, c, a, seg):
        rng = self.rng
        t = self.now
        q = self.queues[c.q]
        m = c.media
        q.alerting[m].pop(c, None)
        ap = c.agentp
        ap["endTime"] = iso(t)
        item = ap[MEDIA_ARRAY[m]][0]
        item["state"] = "disconnected"
        item["disconnectType"] = "noAnswerTransfer"
        item["disconnectedTime"] = iso(t)
        self.conv_store.add(t, (c.q, m, None), "tAlert", t - c.alert_start)
        a.seg = None
        c.agent = None
        c.agentp = None
        self._set_state(a, routing=R_NR)
        self._push(t + int((20 + rng.random() * 40) * 1000), self._ev_nr_end, a, a.ver)
        # back at the head of the queue
        c.state = "waiting"
        w = q.waiting[m]
        nw = {c: c}
        nw.update(w)
        q.waiting[m] = nw
        self._publish_conv(c.q, c, "not_responding")
        if self.hub is not None:
            self.hub.queue_dirty(c.q, m)
        if q.idle:
            self._alert(c, next(iter(q.idle)))

    def _ev_answer(self, c, a, seg):
        rng = self.rng
        t = self.now
        qi = c.q
        q = self.queues[qi]
        m = c.media
        q.alerting[m].pop(c, None)
        c.state = "connected"
        c.t_answer = t
        wait = t - c.t_enter
        key = (qi, m, None)
        st = self.conv_store
        st.add(t, key, "tAnswered", wait)
        st.add(t, key, "tWait", wait)
        st.add(t, key, "tAlert", t - c.alert_start)
        st.add(t, key, "nConnected")
        sla = MEDIA_PARAMS[m][6] * 1000
        st.add(t, key, "oServiceLevel", 1 if wait <= sla else 0)
        if wait > sla:
            st.add(t, key, "nOverSla")
        acd = c.acd
        acd["endTime"] = iso(t)
        ai = acd[MEDIA_ARRAY[m]][0]
        ai["state"] = "disconnected"
        ai["disconnectType"] = "transfer"
        ai["disconnectedTime"] = iso(t)
        ap = c.agentp
        ap["connectedTime"] = iso(t)
        item = ap[MEDIA_ARRAY[m]][0]
        item["state"] = "connected"
        item["connectedTime"] = iso(t)
        q.interacting[m][c] = c
        self._publish_conv(qi, c, "answered")
        if self.hub is not None:
            self.hub.queue_dirty(qi, m)
        p = MEDIA_PARAMS[m]
        talk = int((10 + rng.expovariate(1.0 / p[0])) * 1000)
        hold = int(rng.expovariate(1.0 / p[3]) * 1000) if (p[2] and rng.random() < p[2]) else 0
        s = a.seg
        s.talk_ms, s.hold_ms, s.t_conn = talk, hold, t
        self._push(t + talk + hold, self._ev_talk_end, c, a)

    def _ev_talk_end(self, c, a):
        rng = self.rng
        t = self.now
        qi = c.q
        q = self.queues[qi]
        m = c.media
        q.interacting[m].pop(c, None)
        s = a.seg
        ap = c.agentp
        item = ap[MEDIA_ARRAY[m]][0]
        item["state"] = "disconnected"
        item["disconnectedTime"] = iso(t)
        ap["endTime"] = iso(t)
        ap["startAcwTime"] = iso(t)
        st = self.conv_store
        st.add(t, (qi, m, None), "tTalkComplete", s.talk_ms)
        if s.hold_ms:
            st.add(t, (qi, m, None), "tHeldComplete", s.hold_ms)
        others = [x for x in self.queues if x.idx != qi and m in x.waiting]
        if c.n_transfers < 2 and others and rng.random() < 0.08:
            s.transferred = True
            c.n_transfers += 1
            item["disconnectType"] = "transfer"
            st.add(t, (qi, m, None), "nTransferred")
            self._publish_conv(qi, c, "transferred")
            if self.hub is not None:
                self.hub.queue_dirty(qi, m)
            target = others[rng.randrange(len(others))]
            c.agent = None
            c.agentp = None
            self._enter_queue(c, target.idx)
        else:
            item["disconnectType"] = "peer" if rng.random() < 0.7 else "client"
            c.state = "done"
            c.cust["endTime"] = iso(t)
            ci = c.cust[MEDIA_ARRAY[m]][0]
            ci["state"] = "disconnected"
            ci["disconnectType"] = "client" if item["disconnectType"] == "peer" else "peer"
            ci["disconnectedTime"] = iso(t)
            self._publish_conv(qi, c, "ended")
            if self.hub is not None:
                self.hub.queue_dirty(qi, m)
        acw = int((5 + rng.expovariate(1.0 / MEDIA_PARAMS[m][1])) * 1000)
        if s.transferred:
            acw = acw // 2 + 1000
        s.acw_ms = acw
        self._push(t + acw, self._ev_acw_end, a)

    def _ev_acw_end(self, a):
        rng = self.rng
        t = self.now
        s = a.seg
        c = s.conv
        wr = self.wrapups[rng.randrange(len(self.wrapups))]
        ap = s.part
        ap["endAcwTime"] = iso(t)
        ap["wrapup"] = {"code": wr["id"], "name": wr["name"], "notes": "", "tags": [],
                        "durationSeconds": s.acw_ms // 1000, "endTime": iso(t)}
        key = (s.q, s.media, wr["id"])
        st = self.conv_store
        st.add(t, key, "tTalk", s.talk_ms)
        if s.hold_ms:
            st.add(t, key, "tHeld", s.hold_ms)
        st.add(t, key, "tAcw", s.acw_ms)
        st.add(t, key, "tHandle", s.talk_ms + s.hold_ms + s.acw_ms)
        self._publish_conv(s.q, c, "wrapup")
        a.seg = None
        if a.pending_pres is not None and a.pending_pres != P_ONQ:
            self._apply_presence(a, a.pending_pres)
            return
        a.pending_pres = None
        if rng.random() < 0.03:
            self._set_state(a, routing=R_COMM)
            self._push(t + int((30 + rng.expovariate(1 / 120.0)) * 1000), self._ev_comm_end, a,
                       a.ver)
            return
        self._set_state(a, routing=R_IDLE)
        self._route_agent(a)

    def _ev_abandon(self, c, seg):
        if c.state != "waiting" or c.seg != seg:
            return
        t = self.now
        qi = c.q
        q = self.queues[qi]
        m = c.media
        q.waiting[m].pop(c, None)
        wait = t - c.t_enter
        key = (qi, m, None)
        st = self.conv_store
        st.add(t, key, "tAbandon", wait)
        st.add(t, key, "tWait", wait)
        if wait < SHORT_ABANDON_MS:
            st.add(t, key, "tShortAbandon", wait)
        else:
            st.add(t, key, "oServiceLevel", 0)
            if wait > MEDIA_PARAMS[m][6] * 1000:
                st.add(t, key, "nOverSla")
        c.state = "abandoned"
        acd = c.acd
        acd["endTime"] = iso(t)
        ai = acd[MEDIA_ARRAY[m]][0]
        ai["state"] = "disconnected"
        ai["disconnectType"] = "peer"
        ai["disconnectedTime"] = iso(t)
        c.cust["endTime"] = iso(t)
        ci = c.cust[MEDIA_ARRAY[m]][0]
        ci["state"] = "disconnected"
        ci["disconnectType"] = "client"
        ci["disconnectedTime"] = iso(t)
        self._publish_conv(qi, c, "abandoned")
        if self.hub is not None:
            self.hub.queue_dirty(qi, m)

    # ------------------------------------------------------------ late data
    def inject_late(self, qi, media, t_ms, value_ms, wrapup=None):
        wr = wrapup or self.wrapups[0]["id"]
        key = (qi, media, wr)
        self.conv_store.add(t_ms, key, "tHandle", value_ms)
        self.late_injected.append({"queueId": self.queues[qi].id, "mediaType": media,
                                   "time": iso(t_ms), "tHandle_ms": value_ms})

    # ------------------------------------------------------------ observations
    def obs_user_metrics(self, q, wanted=None, forms=None):
        """forms: presence_qualifier id|system, onqueue_form qualified|total|both."""
        forms = forms or {}
        pq = forms.get("presence_qualifier", "id")
        oq = forms.get("onqueue_form", "qualified")
        out = []

        def add(name, stats, qual=None):
            if wanted is None or name in wanted:
                d = {"metric": name, "stats": stats}
                if qual is not None:
                    d["qualifier"] = qual
                out.append(d)
        add("oActiveUsers", {"count": q.active})
        add("oMemberUsers", {"count": len(q.members)})
        if oq != "total" and (wanted is None or "oOnQueueUsers" in wanted):
            for i in ONQ_ROUTING:
                if q.by_routing[i]:
                    add("oOnQueueUsers", {"count": q.by_routing[i]}, ROUTING[i])
        if oq != "qualified":
            add("oOnQueueUsers", {"count": q.onq})
        add("oOffQueueUsers", {"count": q.offq})
        if wanted is None or "oUserRoutingStatuses" in wanted:
            for i, n in enumerate(q.by_routing):
                if n:
                    add("oUserRoutingStatuses", {"count": n}, ROUTING[i])
        if wanted is None or "oUserPresences" in wanted:
            if pq == "system":
                for i, n in enumerate(q.by_presence):
                    if n:
                        add("oUserPresences", {"count": n}, PRESENCES[i])
            else:
                for i, n in enumerate(q.by_opres):
                    if n:
                        add("oUserPresences", {"count": n}, self.org_presences[i]["id"])
        return out

    def obs_conv_metrics(self, q, m, wanted=None, detail=(), epoch_offset=None):
        """epoch_offset (real epoch ms - simulated now): oLongest* give the
        wall-clock instant the oldest conversation entered the state instead
        of its duration (README, Evidence)."""
        t = self.now
        w, al, it = q.waiting[m], q.alerting[m], q.interacting[m]
        out = []

        def add(name, d, stats):
            if wanted is None or name in wanted:
                md = {"metric": name, "stats": stats}
                if name in detail and d:
                    md["observations"] = [
                        {"observationDate": iso(c.t_enter), "conversationId": c.id,
                         "sessionId": c.acd["id"], "direction": "inbound",
                         "routingPriority": 0, "requestedRoutings": ["Standard"],
                         "addressFrom": c.ani}
                        for c in d]
                    md["truncated"] = False
                out.append(md)
        add("oWaiting", w, {"count": len(w)})
        add("oInteracting", it, {"count": len(it)})
        add("oAlerting", al, {"count": len(al)})
        if wanted is None or "oLongestWaiting" in wanted:
            st = {"count": len(w)}
            if w:
                t0 = min(c.t_enter for c in w)
                st["calculatedMetricValue"] = t - t0 if epoch_offset is None \
                    else epoch_offset + t0
            out.append({"metric": "oLongestWaiting", "stats": st})
        if wanted is None or "oLongestInteracting" in wanted:
            st = {"count": len(it)}
            if it:
                t0 = min(c.t_answer for c in it)
                st["calculatedMetricValue"] = t - t0 if epoch_offset is None \
                    else epoch_offset + t0
            out.append({"metric": "oLongestInteracting", "stats": st})
        return out

    # ------------------------------------------------------------ estimated wait time
    def ewt_seconds(self, q, media):
        """The simulator's estimated wait time of queue q for media (one of
        MEDIA, or "all"), and the conversations waiting it counts. Not
        Genesys' formula (unpublished): conversations waiting x the media
        type's mean handle time (talk + ACW + hold share + alert, from
        MEDIA_PARAMS) / max(1, the queue's agents IDLE or INTERACTING),
        rounded to whole seconds; 0 with nobody waiting."""
        agents = max(1, q.by_routing[R_IDLE] + q.by_routing[R_INTER])
        total, waiting = 0.0, 0
        for m in (q.media if media == "all" else [media]):
            if m not in q.media:
                continue
            p = MEDIA_PARAMS[m]
            n = len(q.waiting[m])
            waiting += n
            total += n * (p[0] + p[1] + p[2] * p[3] + p[4])
        return int(round(total / agents)), waiting

    # ------------------------------------------------------------ users aggregates
    def user_durations(self, a, start, end):
        """{'routing': {status: ms}, 'presence': {presence: ms},
        'org_presence': {org presence id: ms}} over [start,end)."""
        end = min(end, self.now, a.until or end)
        res = {}
        for kind, tl, vl, names in (("routing", a.rs_t, a.rs_v, ROUTING),
                                    ("org_presence", a.pr_t, a.pr_v, self.opres_ids)):
            d = {}
            n = len(tl)
            if end > start and n:
                i = max(0, bisect.bisect_right(tl, start) - 1)
                while i < n and tl[i] < end:
                    s = max(start, tl[i])
                    e = min(end, tl[i + 1]) if i + 1 < n else end
                    if e > s:
                        nm = names[vl[i]]
                        d[nm] = d.get(nm, 0) + (e - s)
                    i += 1
            res[kind] = d
        sysd = {}
        byid = self.opres_sysname
        for oid, v in res["org_presence"].items():
            sysd[byid[oid]] = sysd.get(byid[oid], 0) + v
        res["presence"] = sysd
        return res

    # ------------------------------------------------------------ truth
    def user_buckets(self, start, end, gran_ms):
        """Time in status summed over every agent (each once), per closed
        bucket: {"<start>/<end>": {"routing": {STATUS: ms}, "presence": {PRESENCE: ms}}}.
        The same user_durations() answers the users aggregates query."""
        out = {}
        for bs in range(start, end, gran_ms):
            tot = {"routing": {}, "presence": {}}
            for a in self.agents + self.former:
                d = self.user_durations(a, bs, bs + gran_ms)
                for kind in ("routing", "presence"):
                    for nm, v in d[kind].items():
                        tot[kind][nm] = tot[kind].get(nm, 0) + v
            if tot["routing"] or tot["presence"]:
                out[iso(bs) + "/" + iso(bs + gran_ms)] = tot
        return out

    def milestone_outcome(self, f, mi):
        """The outcome (index) that milestone mi is associated with in flow f.
        Architect requires every Add Flow Milestone action to name an
        outcome (README, Evidence: flow aggregates); here each milestone of a
        flow has one of that flow's outcomes, drawn from its own generator so
        the model's random stream stays as it was."""
        cache = self.__dict__.setdefault("_milestone_outcomes", {})
        key = (f.idx, mi)
        if key not in cache:
            rng = random.Random("milestone-outcome-%s-%s-%d" % (self.seed, f.id, mi))
            cache[key] = rng.choice(f.outcomes)
        return cache[key]

    def exit_reason(self, shares):
        """One exit reason of shares ((name, share), ...), drawn from a
        generator of its own so the model's random stream stays as it was
        (README, Flow exits)."""
        rng = self.__dict__.get("_exit_rng")
        if rng is None:
            rng = self._exit_rng = random.Random("flow-exit-%s" % self.seed)
        x = rng.random()
        for name, share in shares:
            x -= share
            if x < 0:
                return name
        return shares[0][0]

    def flow_exits(self, start, end, gran_ms):
        """Per closed bucket and flow, the executions that ended in it
        (their tFlow) per exit reason and per selfServed ("true", "false"),
        and all of them (ended). Empty buckets are absent."""
        res = self.flow_store.query(start, end, gran_ms,
                                    lambda k: (k[0], k[3], k[4]) if len(k) > 3 else None,
                                    ["tFlow"])
        out = {}
        for (b, (fi, reason, ss)), md in res.items():
            n = int(md["tFlow"][0]) if "tFlow" in md else 0
            if not n:
                continue
            bstart = start + b * gran_ms
            key = iso(bstart) + "/" + iso(bstart + gran_ms)
            e = out.setdefault(key, {}).setdefault(self.flows[fi].id, {
                "ended": 0, "exit_reasons": {}, "self_served": {}})
            e["ended"] += n
            e["exit_reasons"][reason] = e["exit_reasons"].get(reason, 0) + n
            s_ = "true" if ss else "false"
            e["self_served"][s_] = e["self_served"].get(s_, 0) + n
        return dict(sorted(out.items()))

    def flow_buckets(self, start, end, gran_ms):
        """Per closed bucket and flow, what the flow aggregates query gives
        grouped by flowId, flowOutcomeId and flowMilestoneId: executions,
        disconnects, exits with their duration sums, per outcome the
        outcomes reached and failed with tFlowOutcome, per milestone
        nFlowMilestone. Empty buckets are absent."""
        res = self.flow_store.query(start, end, gran_ms, lambda k: k[:3], FLOW_METRICS)
        out = {}
        for (b, (fi, oi, mi)), md in res.items():
            bstart = start + b * gran_ms
            key = iso(bstart) + "/" + iso(bstart + gran_ms)
            e = out.setdefault(key, {}).setdefault(self.flows[fi].id, {
                "executions": 0, "flow": {"sum_ms": 0, "count": 0},
                "disconnect": {"sum_ms": 0, "count": 0}, "exit": {"sum_ms": 0, "count": 0},
                "outcomes": {}, "milestones": {}})

            def s_(n):
                return {"sum_ms": int(md[n][1]), "count": int(md[n][0])} if n in md \
                    else {"sum_ms": 0, "count": 0}
            if oi >= 0:
                e["outcomes"][self.outcomes[oi]["id"]] = {
                    "count": int(md["nFlowOutcome"][0]) if "nFlowOutcome" in md else 0,
                    "failed": int(md["nFlowOutcomeFailed"][0])
                    if "nFlowOutcomeFailed" in md else 0,
                    "duration": s_("tFlowOutcome")}
            elif mi >= 0:
                e["milestones"][self.milestones[mi]["id"]] = int(md["nFlowMilestone"][0])
            else:
                e["executions"] = int(md["nFlow"][0]) if "nFlow" in md else 0
                e["flow"] = s_("tFlow")
                e["disconnect"] = s_("tFlowDisconnect")
                e["exit"] = s_("tFlowExit")
        return dict(sorted(out.items()))

    def truth(self, gran_ms=300000, buckets=12, queue_ids=None, include_agents=False,
              include_users=False):
        now = self.now
        qs = self.queues if not queue_ids else [self.queue_by_id[x] for x in queue_ids
                                                 if x in self.queue_by_id]
        qset = {q.idx for q in qs}
        queues = {}
        for q in qs:
            media = {}
            for m in q.media:
                w, al, it = q.waiting[m], q.alerting[m], q.interacting[m]
                media[m] = {
                    "waiting": len(w), "alerting": len(al), "interacting": len(it),
                    "longest_waiting_ms": (now - min(c.t_enter for c in w)) if w else 0,
                    "longest_interacting_ms": (now - min(c.t_answer for c in it)) if it else 0,
                    "cumulative": dict(zip(("offered", "answered", "abandoned", "transferred"),
                                           q.cum[m])),
                }
            queues[q.id] = {
                "name": q.name, "media": media,
                "agents": {
                    "members": len(q.members), "active": q.active, "on_queue": q.onq,
                    "off_queue": q.offq,
                    "routing": {ROUTING[i]: n for i, n in enumerate(q.by_routing) if n},
                    "presence": {PRESENCES[i]: n for i, n in enumerate(q.by_presence) if n},
                },
            }
        # closed buckets
        end = (now // gran_ms) * gran_ms
        start = end - buckets * gran_ms
        def keyfn(k):
            return (k[0], k[1]) if k[0] is not None and k[0] in qset else None
        self.conv_store.flush(self.now)
        res = self.conv_store.query(start, end, gran_ms, keyfn, CONV_METRICS)
        for _ in self.synth_store.query_iter(res, start, end, gran_ms, keyfn,
                                             SYNTH_METRICS):
            pass
        bl = {}
        for (b, (qi, m)), md in res.items():
            bstart = start + b * gran_ms
            key = iso(bstart) + "/" + iso(bstart + gran_ms)
            e = bl.setdefault(key, {}).setdefault(self.queues[qi].id, {})

            def c_(n):
                return int(md[n][0]) if n in md else 0

            def s_(n):
                return {"sum_ms": int(md[n][1]), "count": int(md[n][0])} if n in md \
                    else {"sum_ms": 0, "count": 0}
            e[m] = {"offered": c_("nOffered"), "answered": c_("tAnswered"),
                    "abandoned": c_("tAbandon"), "short_abandoned": c_("tShortAbandon"),
                    "transferred": c_("nTransferred"), "over_sla": c_("nOverSla"),
                    "handle": s_("tHandle"), "talk": s_("tTalk"), "hold": s_("tHeld"),
                    "acw": s_("tAcw"), "wait": s_("tWait"), "answered_wait": s_("tAnswered"),
                    "abandon_wait": s_("tAbandon"),
                    "service_level": {"numerator": int(md["oServiceLevel"][1]),
                                      "denominator": int(md["oServiceLevel"][0])}
                    if "oServiceLevel" in md else {"numerator": 0, "denominator": 0}}
            # every metric of the catalogue that happened, as the
            # aggregates query serves it
            e[m]["metrics"] = {n: st for n, st in ((n, fmt_stats(n, md[n]))
                                                   for n in CATALOGUE_METRICS if n in md)
                               if st is not None}
        # the metrics attributed to no queue, per media type of the org
        org = {}
        res = self.synth_store.query(start, end, gran_ms,
                                     lambda k: k[1] if k[0] is None else None, ORG_METRICS)
        for (b, m), md in res.items():
            bstart = start + b * gran_ms
            key = iso(bstart) + "/" + iso(bstart + gran_ms)
            org.setdefault(key, {})[m] = {"metrics": {n: fmt_stats(n, md[n])
                                                      for n in ORG_METRICS if n in md}}
        flows = {}
        fb = self.flow_buckets(start, end, gran_ms)
        for f in self.flows:
            ft = self.flow_truth[f.id]
            flows[f.id] = dict(ft, name=f.name, type=f.type, active=f.active)
        attrs = {}
        for (fn, mn), n in sorted(self.attr_truth.items()):
            attrs.setdefault(fn, {})[mn] = n
        attrs_q = {}
        for (fn, mn), n in sorted(self.attr_truth_queued.items()):
            attrs_q.setdefault(fn, {})[mn] = n
        out = {
            "sim_time": iso(now), "sim_time_ms": now,
            "events_processed": self.events_processed,
            "conversations_started": self.conv_count,
            "paused": self.paused,
            "queues": queues,
            "agents": {"total": len(self.agents),
                       "routing": {ROUTING[i]: n for i, n in enumerate(self.org_routing) if n},
                       "presence": {PRESENCES[i]: n for i, n in enumerate(self.org_presence)
                                    if n}},
            "granularity_ms": gran_ms,
            "buckets": dict(sorted(bl.items())),
            "org_buckets": dict(sorted(org.items())),
            "flows": flows,
            "flow_buckets": fb,
            "metric_attributes": attrs,
            "metric_attributes_on_queue_topics": attrs_q,
            "late_data": self.late_injected,
        }
        pipe = self.conv_store.pipeline
        if pipe is not None:
            # what the nightly pipeline changed so far, and when (the
            # buckets above hold it)
            out["pipeline"] = [dict(a, queueId=self.queues[a["qi"]].id, time=iso(a["time"]),
                                    visible=iso(a["visible"]), kickoff=iso(a["kickoff"]))
                               for a in pipe.applied]
        if include_users:
            out["user_buckets"] = self.user_buckets(start, end, gran_ms)
            # agents exist from here on: a bucket that began earlier holds
            # less than agents x bucket length
            out["model_start"] = iso(self.start_ms)
            # users deactivated since (their time ends there)
            out["deactivated"] = {a.id: iso(a.until) for a in self.former}
            out["deleted"] = sorted(self.deleted_ids)  # no time: in no bucket
        if include_agents:
            out["agent_states"] = {a.id: {"routing": ROUTING[a.routing],
                                          "presence": PRESENCES[a.presence],
                                          "joined": [self.queues[q].id for q in a.joined]}
                                   for a in self.agents}
        return out
